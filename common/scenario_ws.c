/* WebSocket steps (contract: common/scenario.h, `ws:`): connect, send, expect, receive,
 * close and listen, each parsed into an sc_ws the engine's wsflow runs.
 *
 * Decisions the design leaves open, written down here:
 * - ws steps: a step names exactly one of connect, send, expect, receive, close, listen;
 *   a key another kind takes (name on an expect, timeout on a send) is an error, not
 *   ignored. timeout applies to connect, expect, receive and close; every ws step still
 *   carries defaults.timeout so the engine always has a deadline at hand.
 * - A ws step other than connect is refused when no connect comes before it in its flow,
 *   walking in written order through loops and groups (a loop runs at least once, so a
 *   connect inside an earlier loop counts). Whether the connection is still open there
 *   (a close in between) is the engine's to report at run time.
 * - connect takes ws://, wss://, a path (joined to the target) or a template starting
 *   with {{; http(s):// is refused with a hint. The default name is the path part of a
 *   static url ("/" when it has none); a url with holes needs name:. Headers the
 *   handshake sets itself (Upgrade, Connection, Sec-WebSocket-*) are refused in the
 *   step's headers (not in defaults.headers, which http steps share).
 * - reconnect is a mapping; max within 0..1000000, backoff > 0 (500 ms when left out),
 *   backoff stays 0 when reconnect is not given. ping 0 means no pings.
 * - send text is sent as written (TMPL_RAW, '' is an empty message); send json is built
 *   like an http json: body. A binary payload without holes must be standard base64
 *   (RFC 4648 alphabet, '=' padding to a multiple of 4): checked here.
 * - expect/listen: equals next to json compares the value at the path (a bare `equals:`
 *   then means null, as for http), otherwise the whole message; equals, contains and json
 *   equals are templates (TMPL_RAW: compared with message text, not JSON-escaped).
 *   expect: {} (or nothing) matches any message. receive takes 1..1000000000.
 * - close: 1000, 3000-4999, or true/yes/on (1000); false and other codes are refused. */
#include "common/scenario_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The kind keys of a ws step, in sc_ws_kind order. */
const char *const sc_ws_kinds[] = { "connect", "send", "expect", "receive", "close", "listen" };
#define SC_WS_NKINDS 6
#define SC_WS_BIT(k) (1u << (k))
/* Every key a ws step takes: the six kind keys, then the others with the kinds that take
 * them (mask: a bit per sc_ws_kind; its keys are listed in this order in messages). */
const sc_key sc_ws_keys[] = {
    { "connect", SC_K_OWN }, { "send", SC_K_OWN }, { "expect", SC_K_OWN },
    { "receive", SC_K_OWN }, { "close", SC_K_OWN }, { "listen", SC_K_OWN },
    { "name", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "headers", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "subprotocol", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "timeout", SC_K_DURATION, offsetof(sc_ws, timeout_ms), 1, 0, "the ws step's timeout",
      .mask = SC_WS_BIT(SC_WS_CONNECT) | SC_WS_BIT(SC_WS_EXPECT) | SC_WS_BIT(SC_WS_RECEIVE) |
              SC_WS_BIT(SC_WS_CLOSE) },
    { "reconnect", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "ping", SC_K_DURATION, offsetof(sc_ws, ping_ms), 0, 0, "'ping'",
      .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "sequence", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "stamp", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_CONNECT) },
    { "capture", SC_K_OWN, .mask = SC_WS_BIT(SC_WS_EXPECT) },
};
const size_t sc_ws_nkeys = SC_NKEYS(sc_ws_keys);
static const sc_key sc_reconnect_keys[] = {
    { "max", SC_K_U32, offsetof(sc_ws, reconnect_max), 0, 1000000, "reconnect.max" },
    { "backoff", SC_K_DURATION, offsetof(sc_ws, reconnect_backoff_ms), 1, 0, "reconnect.backoff" },
};
static const sc_key sc_send_keys[] = { { "json", SC_K_OWN }, { "binary", SC_K_OWN } };
/* capture (the last row) only inside a listen mapping: an expect's sits next to it */
static const sc_key sc_match_keys[] = {
    { "equals", SC_K_OWN }, { "contains", SC_K_OWN }, { "json", SC_K_OWN }, { "regex", SC_K_OWN },
    { "capture", SC_K_OWN },
};

/* A JSON path for the per-message scanner (common/jscan.h); the text is kept as written. */
static int sc_jscan_path(sc_ctx *c, const yaml_node_t *v, const char *what, jscan_path **out,
                         char **text)
{
    char msg[256];
    size_t off = 0;
    if (sc_text(c, v, what, text))
        return -1;
    msg[0] = '\0';
    if (!(*out = jscan_compile(*text, msg, sizeof msg, &off)))
        return sc_fail_at(c, v, sc_scalar_col(v, off), "paths look like $.data.items[0].id",
                          "invalid JSON path for %s: %s", what, msg[0] ? msg : "malformed");
    return 0;
}

/* Standard base64 (RFC 4648: A-Z a-z 0-9 + /, '=' padding to a multiple of 4 bytes).
 * Returns -1 when s[0..n) is valid, else the offset of the first problem (n: the length). */
static long sc_base64_bad(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/'))
        i++;
    size_t pad = 0;
    while (i + pad < n && pad < 2 && s[i + pad] == '=')
        pad++;
    if (i + pad < n)
        return (long)(i + pad);
    if (n % 4 != 0)
        return (long)n;
    return -1;
}

/* The default stats name of a connection: the path part of a static URL or path
 * ("ws://h:1/ws/feed?x=1" and "/ws/feed?x=1" both give "/ws/feed"). Caller frees. */
static char *sc_url_path(const char *url)
{
    const char *p = url, *scheme = strstr(url, "://");
    if (scheme) {
        p = scheme + 3;
        p += strcspn(p, "/?#");
    }
    size_t n = strcspn(p, "?#");
    return n ? strndup(p, n) : strdup("/");
}

/* The conditions of an expect, or of a listen mapping (with its capture: listen true).
 * `equals` next to `json` compares the value at the path, else the whole message. */
static int sc_ws_match_parse(sc_ctx *c, const yaml_node_t *n, sc_ws *w, bool listen)
{
    sc_ws_match *m = &w->match;
    const char *where = listen ? "ws listen" : "ws expect";
    char fb[80], msg[256], what[64];
    if (sc_is_null(n))
        return 0;                                   /* any message */
    if (n->type != YAML_MAPPING_NODE)
        return sc_fail(c, n, listen ? "write listen: true, or listen: { json: $.type, equals: "
                                      "tick } to match what is consumed"
                                    : "write expect: { equals: TEXT }, { contains: TEXT }, "
                                      "{ json: $.path, equals: VALUE } or { regex: R }",
                       "expected a mapping of conditions for %s, found %s", where,
                       sc_found(n, fb, sizeof fb));
    yaml_node_t *ck = NULL;
    if (!listen && sc_get(c, n, "capture", &ck))
        return sc_fail(c, ck, "write it next to expect: ws: { expect: {...}, capture: {...} }",
                       "capture does not go inside expect");
    if (sc_check_keys(c, n, where, sc_match_keys, SC_NKEYS(sc_match_keys) - !listen))
        return -1;
    yaml_node_t *jn = sc_get(c, n, "json", NULL), *v;
    if (jn) {
        snprintf(what, sizeof what, "%s.json", where + 3);
        if (sc_jscan_path(c, jn, what, &m->json, &m->json_text))
            return -1;
    }
    if ((v = sc_get(c, n, "equals", NULL))) {
        snprintf(what, sizeof what, "%s.equals", where + 3);
        if (!sc_is_scalar(v) || (sc_is_null(v) && !jn && !sc_sval(v)[0]))
            return sc_fail(c, v, "quote it for an exact text: equals: '...'",
                           "expected a single value for %s, found %s", what,
                           sc_found(v, fb, sizeof fb));
        const char *text = sc_is_null(v) && jn ? "null" : sc_sval(v);
        tmpl *t = sc_tmpl(c, v, text, strlen(text), TMPL_RAW, what);
        if (!t)
            return -1;
        if (jn)
            m->json_equals = t;
        else
            m->equals = t;
    }
    if ((v = sc_get(c, n, "contains", NULL))) {
        snprintf(what, sizeof what, "%s.contains", where + 3);
        if (!sc_is_scalar(v) || sc_is_null(v) || !sc_sval(v)[0])
            return sc_fail(c, v, NULL, "expected text for %s, found %s", what,
                           sc_found(v, fb, sizeof fb));
        if (!(m->contains = sc_tmpl(c, v, sc_sval(v), strlen(sc_sval(v)), TMPL_RAW, what)))
            return -1;
    }
    if ((v = sc_get(c, n, "regex", NULL))) {
        snprintf(what, sizeof what, "%s.regex", where + 3);
        if (sc_text(c, v, what, &m->regex_text))
            return -1;
        msg[0] = '\0';
        size_t off = 0;
        if (!(m->regex = capre_compile(m->regex_text, msg, sizeof msg, &off)))
            return sc_fail_at(c, v, sc_regex_col(v, m->regex_text, off), SC_REGEX_HINT, "%s",
                              msg[0] ? msg : "invalid regex");
    }
    if (listen && (v = sc_get(c, n, "capture", NULL)) &&
        sc_captures(c, v, &w->captures, &w->ncaptures, true))
        return -1;
    return 0;
}

/* connect: URL or path, stats name, headers (defaults merged), subprotocol, reconnect,
 * ping, sequence and stamp paths. */
static int sc_ws_connect(sc_ctx *c, const yaml_node_t *n, const yaml_node_t *u, sc_ws *w)
{
    static const char *const hs_headers[] = { "Upgrade", "Connection", "Sec-WebSocket-Key",
                                              "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
                                              "Sec-WebSocket-Protocol" };
    char fb[80];
    yaml_node_t *v;
    if (!sc_is_scalar(u) || sc_is_null(u) || !sc_sval(u)[0])
        return sc_fail(c, u, "for example connect: /ws/feed or connect: ws://host:8000/ws/feed",
                       "expected a ws:// URL or a path for 'connect', found %s",
                       sc_found(u, fb, sizeof fb));
    const char *url = sc_sval(u), *host = NULL;
    if (!strncasecmp(url, "ws://", 5))
        host = url + 5;
    else if (!strncasecmp(url, "wss://", 6))
        host = url + 6;
    if (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8))
        return sc_fail(c, u, "write ws:// (or wss:// for TLS), or a path: a path is joined to "
                       "the target with http -> ws, https -> wss",
                       "connect takes a ws:// or wss:// URL, found %s", sc_found(u, fb, sizeof fb));
    if (host && (!*host || *host == '/'))
        return sc_fail(c, u, "for example ws://127.0.0.1:8000/ws/feed", "connect URL %s has no "
                       "host", sc_found(u, fb, sizeof fb));
    if (!host && url[0] != '/' && strncmp(url, "{{", 2))
        return sc_fail(c, u, "for example /ws/feed or ws://host:8000/ws/feed",
                       "connect %s is neither a path starting with / nor an absolute ws:// or "
                       "wss:// URL", sc_found(u, fb, sizeof fb));
    if (url[0] == '/' && !c->sc->target)
        return sc_fail(c, u, "add target: http://host:port at the top (or pass --host)",
                       "connect %s is a path, but the scenario has no target to join it to",
                       sc_found(u, fb, sizeof fb));
    if (!(w->url = sc_tmpl(c, u, url, strlen(url), TMPL_RAW, "the ws url")))
        return -1;
    if ((v = sc_get(c, n, "name", NULL))) {
        if (sc_text(c, v, "the connection's name", &w->name))
            return -1;
    } else {
        const char *st = tmpl_static(w->url, NULL);
        if (!st || tmpl_uses_env(w->url))
            return sc_fail(c, u, "add name: feed (the stats name of everything on this "
                           "connection)", "this ws url has template holes, so it cannot be the "
                           "connection's stats name");
        if (!(w->name = sc_url_path(st)))
            return sc_fail(c, u, NULL, "out of memory");
    }
    yaml_node_t *hn = sc_get(c, n, "headers", NULL);
    if (hn && hn->type == YAML_MAPPING_NODE) {
        SC_FOREACH_PAIR(p, hn) {
            yaml_node_t *k = sc_node(c, p->key);
            for (size_t i = 0; sc_is_scalar(k) && i < sizeof hs_headers / sizeof *hs_headers; i++)
                if (!strcasecmp(sc_sval(k), hs_headers[i]))
                    return sc_fail(c, k, i == 5 ? "use subprotocol: NAME" : "remove it",
                                   "header '%s' belongs to the WebSocket handshake, which sets it",
                                   sc_sval(k));
        }
    }
    if (sc_headers(c, hn, c->defhdrs, &w->headers, &w->nheaders))
        return -1;
    if ((v = sc_get(c, n, "subprotocol", NULL))) {
        if (sc_text(c, v, "'subprotocol'", &w->subprotocol))
            return -1;
        for (const char *p = w->subprotocol; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~, ", *p)))
                return sc_fail(c, v, "a subprotocol is a token such as chat.v2 (several: "
                               "\"a, b\")", "subprotocol %s has a character a header token "
                               "cannot hold", sc_found(v, fb, sizeof fb));
    }
    if ((v = sc_get(c, n, "reconnect", NULL))) {
        if (v->type != YAML_MAPPING_NODE)
            return sc_fail(c, v, "for example reconnect: { max: 5, backoff: 500ms }",
                           "expected a mapping (key: value pairs) for 'reconnect', found %s",
                           sc_found(v, fb, sizeof fb));
        const sc_key *rk = sc_reconnect_keys;
        size_t nrk = SC_NKEYS(sc_reconnect_keys);
        w->reconnect_backoff_ms = 500;
        if (sc_check_keys(c, v, "reconnect", rk, nrk) || sc_read_all(c, v, "reconnect", rk, nrk, w))
            return -1;
    }
    if (sc_read(c, n, "the ws step", sc_ws_keys, sc_ws_nkeys, "ping", w))
        return -1;
    if ((v = sc_get(c, n, "sequence", NULL)) &&
        sc_jscan_path(c, v, "'sequence'", &w->sequence, &w->sequence_text))
        return -1;
    if ((v = sc_get(c, n, "stamp", NULL)) &&
        sc_jscan_path(c, v, "'stamp'", &w->stamp, &w->stamp_text))
        return -1;
    return 0;
}

/* send: TEXT | { json: VALUE } | { binary: BASE64 }. A json payload is built like an
 * http json: body; a binary one that has no holes is checked here, the rest when sent. */
static int sc_ws_send(sc_ctx *c, const yaml_node_t *v, sc_ws *w)
{
    const char *eg = "send: hello, send: { json: { op: sub } } or send: { binary: aGVsbG8= }";
    char fb[80];
    if (sc_is_scalar(v) && !sc_is_null(v)) {
        w->payload = SC_WS_TEXT;
        w->message = sc_tmpl(c, v, sc_sval(v), strlen(sc_sval(v)), TMPL_RAW, "the ws message");
        return w->message ? 0 : -1;
    }
    if (!v || v->type != YAML_MAPPING_NODE)
        return sc_fail(c, v, eg, "expected the message to send (text, or json: or binary:), "
                       "found %s", sc_found(v, fb, sizeof fb));
    if (sc_check_keys(c, v, "ws send", sc_send_keys, SC_NKEYS(sc_send_keys)))
        return -1;
    if (SC_NPAIRS(v) != 1)
        return sc_fail(c, SC_NPAIRS(v) ? sc_node(c, v->data.mapping.pairs.start[1].key) : v,
                       eg, "ws send takes one of json or binary, found %s",
                       SC_NPAIRS(v) ? "both" : "neither");
    yaml_node_t *jn = sc_get(c, v, "json", NULL), *bn = sc_get(c, v, "binary", NULL);
    if (jn) {
        w->payload = SC_WS_JSON;
        w->message = sc_json_body(c, jn, "the json message");
        return w->message ? 0 : -1;
    }
    w->payload = SC_WS_BINARY;
    if (!sc_is_scalar(bn) || (sc_is_null(bn) && !sc_sval(bn)[0]))
        return sc_fail(c, bn, "for example binary: aGVsbG8= (base64; '' sends an empty message)",
                       "expected base64 text for the binary message, found %s",
                       sc_found(bn, fb, sizeof fb));
    const char *text = sc_sval(bn);
    if (!(w->message = sc_tmpl(c, bn, text, strlen(text), TMPL_RAW, "the binary message")))
        return -1;
    size_t len;
    const char *st = tmpl_static(w->message, &len);
    long bad = st ? sc_base64_bad(st, len) : -1;
    if (bad >= 0 && tmpl_uses_env(w->message))     /* never quote an env() value */
        return sc_fail(c, bn, "standard base64 uses A-Z a-z 0-9 + / and = only at the end, "
                       "padded with = to a multiple of 4", "the binary message is not valid base64 (it holds an env() value, "
                       "not shown)");
    if (bad >= 0 && (size_t)bad == len)
        return sc_fail(c, bn, "standard base64 is padded with = to a multiple of 4 characters, "
                       "e.g. aGVsbG8=", "the binary message is not valid base64: %zu characters "
                       "do not make whole groups of 4", len);
    if (bad >= 0)
        return sc_fail_at(c, bn, sc_scalar_col(bn, (size_t)bad), "standard base64 uses A-Z a-z "
                          "0-9 + / and = only at the end, e.g. aGVsbG8=", "the binary message is "
                          "not valid base64: unexpected '%c' at character %ld", st[bad], bad + 1);
    return 0;
}

/* close: 1000 or 3000-4999, or true (1000). */
static int sc_ws_close(sc_ctx *c, const yaml_node_t *v, sc_ws *w)
{
    char fb[80];
    const char *hint = "1000 is a normal close; applications may use 3000-4999 (the other "
                       "codes are the protocol's own)";
    if (sc_is_scalar(v) && !sc_is_null(v)) {
        const char *s = sc_sval(v);
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
            w->code = 1000;
            return 0;
        }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
            return sc_fail(c, v, "write close: true (1000), or leave the step out",
                           "close: false does not say how to close");
        char *end;
        errno = 0;
        long long code = strtoll(s, &end, 10);
        if (end != s && !*end && !isspace((unsigned char)*s) && !errno) {
            if (code != 1000 && (code < 3000 || code > 4999))
                return sc_fail(c, v, hint, "close code %lld cannot be sent: use 1000 or one "
                               "from 3000 to 4999", code);
            w->code = (uint16_t)code;
            return 0;
        }
    }
    return sc_fail(c, v, hint, "expected a close code (1000, or 3000 to 4999) or true for "
                   "'close', found %s", sc_found(v, fb, sizeof fb));
}

int sc_ws_step(sc_ctx *c, const yaml_node_t *n, sc_ws *w)
{
    static const char *const articles[SC_WS_NKINDS] = { "the ws connect step", "the ws send step",
        "the ws expect step", "the ws receive step", "the ws close step", "the ws listen step" };
    char fb[80], hint[200], list[160];
    const char *eg = "for example ws: { connect: /ws/feed }, ws: { send: hello } or "
                     "ws: { expect: { contains: ok } }";
    if (!n || n->type != YAML_MAPPING_NODE)
        return sc_fail(c, n, eg, "expected a mapping (key: value pairs) for a ws step, found %s",
                       sc_found(n, fb, sizeof fb));
    if (sc_check_keys(c, n, "the ws step", sc_ws_keys, sc_ws_nkeys))
        return -1;
    /* exactly one kind key */
    int kind = -1;
    yaml_node_t *kv = NULL, *kk = NULL;
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key);
        for (int i = 0; i < SC_WS_NKINDS; i++) {
            if (strcmp(sc_sval(k), sc_ws_kinds[i]))
                continue;
            if (kind >= 0)
                return sc_fail(c, k, "split it into two ws steps", "a ws step does one thing, "
                               "but this one has both '%s' and '%s' (one of connect, send, "
                               "expect, receive, close or listen)", sc_ws_kinds[kind],
                               sc_ws_kinds[i]);
            kind = i;
            kk = k;
            kv = sc_node(c, p->value);
        }
    }
    if (kind < 0)
        return sc_fail(c, n, eg, "a ws step needs one of connect, send, expect, receive, close "
                       "or listen, found none");
    /* the other keys must belong to that kind */
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key);
        const char *key = sc_sval(k);
        int row = sc_key_index(sc_ws_keys, sc_ws_nkeys, key);
        if (k == kk || (row >= 0 && (sc_ws_keys[row].mask & SC_WS_BIT(kind))))
            continue;
        size_t used = (size_t)snprintf(list, sizeof list, "%s", sc_ws_kinds[kind]);
        for (size_t i = 0; i < sc_ws_nkeys && used < sizeof list; i++)
            if (sc_ws_keys[i].mask & SC_WS_BIT(kind))
                used += (size_t)snprintf(list + used, sizeof list - used, ", %s",
                                         sc_ws_keys[i].name);
        if (!strcmp(key, "capture") && kind == SC_WS_LISTEN)
            snprintf(hint, sizeof hint, "put it inside: listen: { json: $.type, capture: {...} }");
        else if (!strcmp(key, "capture"))
            snprintf(hint, sizeof hint, "captures come from a ws expect (or listen) step");
        else if (!strcmp(key, "timeout"))
            snprintf(hint, sizeof hint, "timeout applies to connect, expect, receive and close");
        else
            snprintf(hint, sizeof hint, "'%s' belongs to the ws connect step", key);
        return sc_fail(c, k, hint, "'%s' does not apply to %s (its keys: %s)", key,
                       articles[kind], list);
    }
    w->kind = (sc_ws_kind)kind;
    w->timeout_ms = c->sc->default_timeout_ms;
    yaml_node_t *v;
    if (sc_read(c, n, "the ws step", sc_ws_keys, sc_ws_nkeys, "timeout", w))
        return -1;
    switch (w->kind) {
    case SC_WS_CONNECT:
        return sc_ws_connect(c, n, kv, w);
    case SC_WS_SEND:
        return sc_ws_send(c, kv, w);
    case SC_WS_EXPECT:
        if (sc_ws_match_parse(c, kv, w, false))
            return -1;
        return (v = sc_get(c, n, "capture", NULL)) ? sc_captures(c, v, &w->captures,
                                                                 &w->ncaptures, true) : 0;
    case SC_WS_RECEIVE: {
        long long cnt;
        if (sc_int(c, kv, "receive (a number of messages)", 1, 1000000000, &cnt))
            return -1;
        w->count = (uint32_t)cnt;
        return 0;
    }
    case SC_WS_CLOSE:
        return sc_ws_close(c, kv, w);
    case SC_WS_LISTEN:
        if (kv && kv->type == YAML_MAPPING_NODE) {
            w->listen = true;
            return sc_ws_match_parse(c, kv, w, true);
        }
        if (sc_is_null(kv))
            return sc_fail(c, kv, "write listen: true, listen: false, or listen: { json: $.type, "
                           "equals: tick }", "expected true, false or a mapping for 'listen', "
                           "found nothing");
        return sc_bool(c, kv, "listen (or a mapping of conditions)", &w->listen);
    }
    return 0;
}

void sc_ws_fini(sc_ws *w)
{
    free(w->name);
    tmpl_free(w->url);
    sc_headers_free(w->headers, w->nheaders);
    free(w->subprotocol);
    jscan_free(w->sequence);
    free(w->sequence_text);
    jscan_free(w->stamp);
    free(w->stamp_text);
    tmpl_free(w->message);
    tmpl_free(w->match.equals);
    tmpl_free(w->match.contains);
    jscan_free(w->match.json);
    free(w->match.json_text);
    tmpl_free(w->match.json_equals);
    capre_free(w->match.regex);
    free(w->match.regex_text);
    sc_captures_free(w->captures, w->ncaptures);
}
