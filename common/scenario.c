/* Scenario parsing and validation (contract: common/scenario.h).
 *
 * The file is loaded whole with libyaml's document API, so every section can be read
 * in the order the checks need (data before the templates that use it, every capture
 * name before any template) whatever the order of keys in the file. --set overrides are
 * applied to that tree first and validated like written values.
 *
 * Each mapping is checked against a table of known keys: an unknown key is an error with
 * the nearest known key as hint; duplicate keys are errors too (libyaml keeps both).
 * The first error wins and carries the 1-based line and column of the node at fault.
 *
 * libyaml shares aliased nodes and lets an alias refer to an enclosing anchor (a cycle),
 * so every walk here is bounded both in depth and in total nodes visited.
 *
 * Decisions the design leaves open, written down here:
 * - A relative url ("/x") needs a top-level target (--host can supply one as --set target=).
 * - json: bodies keep plain YAML scalars that read as JSON literals (1, -2.5e3, true,
 *   null, ~) unquoted; everything else, and any quoted scalar, becomes a JSON string.
 * - form: literal text is percent-encoded here; what a {{ hole }} renders is sent as is
 *   (templates have no URL-escaping mode). A form body brings its Content-Type unless
 *   the step sets one; a json body's Content-Type is left to the engine (json_body).
 * - Method names are accepted in any case and stored upper case.
 * - loop count is a whole number >= 1 or "forever"; group needs a name; think takes a
 *   duration or a range "a..b" with a <= b.
 * - A stage set where every stage has 0 users is refused (the run would do nothing).
 * - Capture variable and feeder names are words (letters, digits, _ and -); a capture
 *   may not take a feeder's name.
 * - Thresholds: a latency with no unit is in milliseconds (k6's habit); k6's p(95) and
 *   p(99.9) spell p95 and p999; error_rate takes "0.1%" or a fraction; rps may end in
 *   "/s". A threshold naming requests ("login: ...") must match an http step's or a
 *   group's name unless the name holds a space or a slash (a default "GET /path" name).
 * - Data files read through a caller's sc_read_fn get the resolved path (relative to
 *   the scenario's directory), as on disk.
 * - --set errors and errors about values set by --set have no line (line 0): the message
 *   starts with the override instead.
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
 * - close: 1000, 3000-4999, or true/yes/on (1000); false and other codes are refused.
 * - ws thresholds: "NAME: FIGURE METRIC op value" with FIGURE one of message, connect,
 *   fanout, reconnect, ping; "NAME: out_of_order op N" (plain number). Both need a name,
 *   checked (when it has no space or slash) against the ws connections' names; an http
 *   threshold's name is checked against http steps and groups only, since a ws name
 *   there would read no entry. */
#include "common/scenario.h"
#include "common/util.h"
#include "common/nearest.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "common/units.h"

#define SC_MAX_STEP_DEPTH  16           /* loop/group nesting */
#define SC_MAX_JSON_DEPTH  64           /* nesting inside a json: body */
/* YAML collections nested in all, checked before libyaml loads the text: above what
 * 16 step levels (3 collections each) and a 64-level json: body can need. */
#define SC_MAX_YAML_DEPTH  128
#define SC_MAX_WORK        2000000u     /* nodes visited in all, against alias bombs */
#define SC_MAX_BODY        (1u << 20)   /* bytes of a json/form body as compiled */
#define SC_MAX_WEIGHT      100000u      /* total_weight: size of profile_seq */
#define SC_MAX_PROFILES    1000
#define SC_MAX_FILE        (256u << 20) /* scenario or CSV read from disk */
/* Regexes: POSIX extended style run by PCRE2 (common/capture.h lists the differences). */
#define SC_REGEX_HINT "POSIX extended syntax, run by PCRE2 (no quantifier on a quantifier, " \
                      "at most 4096 characters)"
#define SC_DEFAULT_TIMEOUT_MS  10000u
#define SC_DEFAULT_GRACEFUL_MS 30000u

/* ---- parse context and errors ------------------------------------------------------ */

typedef struct sc_setnode { int node, set; } sc_setnode;

typedef struct sc_ctx {
    yaml_document_t  doc;
    scenario        *sc;
    sc_error        *err;
    const char      *text;      /* the scenario text, for libyaml error context */
    size_t           len;
    const sc_set    *sets;
    sc_setnode      *setnodes;  /* nodes created by --set: errors name the override */
    int              nsetnodes, capsetnodes;
    sc_read_fn       read;
    void            *read_ud;
    uint64_t         work;
    yaml_node_t     *defhdrs;   /* defaults.headers mapping, merged into each http and ws
                                 * connect step */
    bool             ws_open;   /* a ws connect was seen earlier in the current flow */
} sc_ctx;

static int sc_set_of(const sc_ctx *c, const yaml_node_t *n)
{
    int idx = (int)(n - c->doc.nodes.start) + 1;
    for (int i = 0; i < c->nsetnodes; i++)
        if (c->setnodes[i].node == idx)
            return c->setnodes[i].set;
    return -1;
}

/* Records the first error only. n gives the place (NULL: none); coladd moves the column
 * right, to point inside a scalar. A node made by --set has no place in the file: the
 * message names the override instead. Always returns -1 so callers can `return sc_fail`. */
static int sc_vfail(sc_ctx *c, const yaml_node_t *n, size_t coladd, const char *hint,
                    const char *fmt, va_list ap)
{
    sc_error *e = c->err;
    if (e->msg[0])
        return -1;
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int si = n ? sc_set_of(c, n) : -1;
    if (si >= 0) {
        e->line = e->col = 0;
        snprintf(e->msg, sizeof e->msg, "--set %.50s=%.40s: %s", c->sets[si].key,
                 c->sets[si].value ? c->sets[si].value : "", msg);
    } else {
        if (n) {
            e->line = (int)n->start_mark.line + 1;
            e->col = (int)(n->start_mark.column + coladd) + 1;
        }
        snprintf(e->msg, sizeof e->msg, "%s", msg);
    }
    snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "");
    return -1;
}

__attribute__((format(printf, 4, 5)))
static int sc_fail(sc_ctx *c, const yaml_node_t *n, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_vfail(c, n, 0, hint, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 5, 6)))
static int sc_fail_at(sc_ctx *c, const yaml_node_t *n, size_t coladd, const char *hint,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_vfail(c, n, coladd, hint, fmt, ap);
    va_end(ap);
    return -1;
}

/* Counts visited nodes; -1 once the budget is spent (aliases can multiply a small
 * file into an enormous walk). */
static int sc_tick(sc_ctx *c, const yaml_node_t *n)
{
    if (++c->work <= SC_MAX_WORK)
        return 0;
    return sc_fail(c, n, "anchors and aliases (&a, *a) can multiply a small file; use fewer",
                   "the scenario is too large to process (more than %u nodes visited)",
                   SC_MAX_WORK);
}

void sc_error_format(const sc_error *e, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    int n;
    if (e->line > 0)
        n = snprintf(buf, cap, "%s:%d:%d: error: %s\n", e->file, e->line, e->col, e->msg);
    else if (e->file[0])
        n = snprintf(buf, cap, "%s: error: %s\n", e->file, e->msg);
    else
        n = snprintf(buf, cap, "error: %s\n", e->msg);
    if (e->hint[0] && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  hint: %s\n", e->hint);
}

/* ---- small node helpers ------------------------------------------------------------ */

static yaml_node_t *sc_node(sc_ctx *c, int idx)
{
    return yaml_document_get_node(&c->doc, idx);
}

static const char *sc_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool sc_is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

/* A plain empty, "~" or "null" scalar: YAML's null ("name:" with nothing after). */
static bool sc_is_null(const yaml_node_t *n)
{
    if (!sc_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sc_sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* Describes what was found, for "expected X, found Y". */
static const char *sc_found(const yaml_node_t *n, char *buf, size_t cap)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case YAML_MAPPING_NODE:  return "a mapping (key: value pairs)";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_SCALAR_NODE:
        if (sc_is_null(n))
            return "nothing";
        if (strlen(sc_sval(n)) > 60)
            snprintf(buf, cap, "'%.57s...'", sc_sval(n));
        else
            snprintf(buf, cap, "'%s'", sc_sval(n));
        return buf;
    default:                 return "nothing";
    }
}

#define SC_FOREACH_PAIR(p, map) \
    for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start; p < (map)->data.mapping.pairs.top; p++)
#define SC_NPAIRS(map) ((int)((map)->data.mapping.pairs.top - (map)->data.mapping.pairs.start))
#define SC_NITEMS(seq) ((int)((seq)->data.sequence.items.top - (seq)->data.sequence.items.start))

/* Value of key in map (NULL when absent); *keyn gets the key node when asked. */
static yaml_node_t *sc_get(sc_ctx *c, const yaml_node_t *map, const char *key, yaml_node_t **keyn)
{
    SC_FOREACH_PAIR(p, map) {
        yaml_node_t *k = sc_node(c, p->key);
        if (sc_is_scalar(k) && !strcmp(sc_sval(k), key)) {
            if (keyn)
                *keyn = k;
            return sc_node(c, p->value);
        }
    }
    return NULL;
}

static void sc_join(char *buf, size_t cap, const char *const *words, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", words[i]);
}

/* Checks a mapping's keys: each must be text, known (else the nearest known key is the
 * hint) and appear once. `where` names the mapping in messages ("the http step"). */
static int sc_keys(sc_ctx *c, const yaml_node_t *map, const char *where,
                   const char *const *known, size_t nknown)
{
    char list[256], hint[128], fb[80];
    SC_FOREACH_PAIR(p, map) {
        yaml_node_t *k = sc_node(c, p->key);
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k))
            return sc_fail(c, k, NULL, "keys in %s must be plain words, found %s", where,
                           sc_found(k, fb, sizeof fb));
        const char *name = sc_sval(k);
        size_t i;
        for (i = 0; i < nknown; i++)
            if (!strcmp(name, known[i]))
                break;
        if (i == nknown) {
            const char *near = nearest_name(name, known, nknown);
            sc_join(list, sizeof list, known, nknown);
            if (near)
                snprintf(hint, sizeof hint, "did you mean '%s'?", near);
            return sc_fail(c, k, near ? hint : NULL,
                           "unknown key '%s' in %s (known keys: %s)", name, where, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = sc_node(c, q->key);
            if (sc_tick(c, k2))
                return -1;
            if (sc_is_scalar(k2) && !strcmp(sc_sval(k2), name))
                return sc_fail(c, k, "remove one of them", "key '%s' appears twice in %s "
                               "(first at line %d)", name, where, (int)k2->start_mark.line + 1);
        }
    }
    return 0;
}

static int sc_want_map(sc_ctx *c, const yaml_node_t *n, const char *what)
{
    char fb[80];
    if (n && n->type == YAML_MAPPING_NODE)
        return 0;
    return sc_fail(c, n, NULL, "expected a mapping (key: value pairs) for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

/* A non-empty list. */
static int sc_want_list(sc_ctx *c, const yaml_node_t *n, const char *what, const char *eg)
{
    char fb[80];
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return sc_fail(c, n, eg, "expected a list for %s, found %s", what,
                       sc_found(n, fb, sizeof fb));
    if (SC_NITEMS(n) == 0)
        return sc_fail(c, n, eg, "%s is empty; it needs at least one entry", what);
    return 0;
}

/* Required key: its value, or an error pointing at the mapping that lacks it. */
static yaml_node_t *sc_need(sc_ctx *c, const yaml_node_t *map, const char *key,
                            const char *where, const char *hint)
{
    yaml_node_t *v = sc_get(c, map, key, NULL);
    if (!v)
        sc_fail(c, map, hint, "%s is missing '%s'", where, key);
    return v;
}

/* Non-empty text; *out is a copy the caller owns. */
static int sc_text(sc_ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    char fb[80];
    if (!sc_is_scalar(n) || sc_is_null(n) || !sc_sval(n)[0])
        return sc_fail(c, n, NULL, "expected text for %s, found %s", what,
                       sc_found(n, fb, sizeof fb));
    if (!(*out = strdup(sc_sval(n))))
        return sc_fail(c, n, NULL, "out of memory");
    return 0;
}

static int sc_duration(sc_ctx *c, const yaml_node_t *n, const char *what, bool positive,
                       uint64_t *out)
{
    char fb[80];
    if (!sc_is_scalar(n) || units_duration_ms(sc_sval(n), out) != 0)
        return sc_fail(c, n, "units: us, ms, s, m, h; a bare number is seconds",
                       "expected a duration such as 500ms, 10s, 5m or 1h30m for %s, found %s",
                       what, sc_found(n, fb, sizeof fb));
    if (positive && *out == 0)
        return sc_fail(c, n, NULL, "%s must be longer than 0, found %s", what,
                       sc_found(n, fb, sizeof fb));
    return 0;
}

/* Whole number within [lo, hi]; says which bound was crossed. */
static int sc_int(sc_ctx *c, const yaml_node_t *n, const char *what, long long lo,
                  long long hi, long long *out)
{
    char fb[80];
    if (sc_is_scalar(n)) {
        const char *s = sc_sval(n);
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && !isspace((unsigned char)*s) && errno == 0) {
            if (v < lo && lo == 0)
                return sc_fail(c, n, NULL, "%s cannot be negative, found %lld", what, v);
            if (v < lo)
                return sc_fail(c, n, NULL, "%s must be at least %lld, found %lld", what, lo, v);
            if (v > hi)
                return sc_fail(c, n, NULL, "%s must be at most %lld, found %lld", what, hi, v);
            *out = v;
            return 0;
        }
    }
    return sc_fail(c, n, NULL, "expected a whole number for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

static int sc_bool(sc_ctx *c, const yaml_node_t *n, const char *what, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
    char fb[80];
    if (sc_is_scalar(n)) {
        for (int i = 0; i < 3; i++) {
            if (!strcasecmp(sc_sval(n), yes[i]))
                return *out = true, 0;
            if (!strcasecmp(sc_sval(n), no[i]))
                return *out = false, 0;
        }
    }
    return sc_fail(c, n, NULL, "expected true or false for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

static bool sc_is_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* ---- templates --------------------------------------------------------------------- */

/* Column offset inside scalar n of byte off of its value, when the value is written on
 * one line as is (plain) or between quotes; 0 (the scalar's start) otherwise. Escapes
 * inside double quotes can shift it a little: still on the right scalar. */
static size_t sc_scalar_col(const yaml_node_t *n, size_t off)
{
    if (!sc_is_scalar(n) || n->start_mark.line != n->end_mark.line)
        return 0;
    switch (n->data.scalar.style) {
    case YAML_PLAIN_SCALAR_STYLE:         return off;
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return off + 1;
    default:                              return 0;
    }
}

/* Where a regex error points: at the character PCRE2 names, or at the pattern's start
 * when the problem is its end (something left open). */
static size_t sc_regex_col(const yaml_node_t *n, const char *re, size_t off)
{
    return off < strlen(re) ? sc_scalar_col(n, off) : 0;
}

/* Compiles text[len] (from node n) against the scenario's names; an error points into
 * the scalar where tmpl_compile found it. */
static tmpl *sc_tmpl(sc_ctx *c, const yaml_node_t *n, const char *text, size_t len,
                     tmpl_escape esc, const char *what)
{
    char msg[400], hint[200];
    size_t off = 0;
    msg[0] = hint[0] = '\0';
    tmpl *t = tmpl_compile(text, len, esc, &c->sc->syms, msg, sizeof msg, hint, sizeof hint, &off);
    if (!t)
        sc_fail_at(c, n, sc_scalar_col(n, off), hint[0] ? hint : NULL, "in %s: %s", what,
                   msg[0] ? msg : "invalid template");
    return t;
}

/* A growable text buffer for bodies assembled from YAML. */
typedef struct sc_buf { char *p; size_t len, cap; bool oom; } sc_buf;

static void sb_put(sc_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sc_buf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Literal text as the inside of a JSON string. */
static void sb_json_lit(sc_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        switch (ch) {
        case '"':  sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        default:
            if (ch < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", ch);
                sb_puts(b, esc);
            } else {
                sb_put(b, (const char *)&s[i], 1);
            }
        }
    }
}

/* Literal text percent-encoded for application/x-www-form-urlencoded. */
static void sb_form_lit(sc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            sb_put(b, (const char *)&s[i], 1);
        } else if (ch == ' ') {
            sb_puts(b, "+");
        } else {
            char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            sb_put(b, e, 3);
        }
    }
}

/* Appends s[n], passing literal text through lit() and copying {{ ... }} holes as they
 * are (they stay template expressions; an unclosed one runs to the end, and the
 * template compiler reports it). */
static void sb_put_holes(sc_buf *b, const char *s, size_t n,
                         void (*lit)(sc_buf *, const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        const char *open = memmem(s + i, n - i, "{{", 2);
        if (!open) {
            lit(b, s + i, n - i);
            return;
        }
        size_t o = (size_t)(open - s);
        lit(b, s + i, o - i);
        /* the hole ends at the first "}}" outside a quoted string ({{ '}}' }} is one hole) */
        size_t e = o + 2;
        char quote = 0;
        while (e < n && (quote || !(s[e] == '}' && e + 1 < n && s[e + 1] == '}'))) {
            if (quote && s[e] == quote)
                quote = 0;
            else if (!quote && (s[e] == '\'' || s[e] == '"'))
                quote = s[e];
            e++;
        }
        e = e < n ? e + 2 : n;
        sb_put(b, s + o, e - o);
        i = e;
    }
}

/* A plain scalar JSON reads as a literal: null, a boolean or a JSON number. Writes the
 * literal's JSON text, or returns false. */
static bool sc_json_literal(const yaml_node_t *n, const char **lit)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sc_sval(n);
    if (sc_is_null(n))
        return *lit = "null", true;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return *lit = "true", true;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return *lit = "false", true;
    /* JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p)) p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p)
        return false;
    return *lit = s, true;
}

/* Checks one string of a body on its own, so an error points at that scalar. */
static int sc_check_tmpl(sc_ctx *c, const yaml_node_t *n, tmpl_escape esc, const char *what)
{
    tmpl *t = sc_tmpl(c, n, sc_sval(n), strlen(sc_sval(n)), esc, what);
    if (!t)
        return -1;
    tmpl_free(t);
    return 0;
}

/* Serializes a YAML value as JSON text into b; strings keep their holes for a TMPL_JSON
 * compile. */
static int sc_json_value(sc_ctx *c, const yaml_node_t *n, sc_buf *b, int depth)
{
    char fb[80];
    if (sc_tick(c, n))
        return -1;
    if (depth > SC_MAX_JSON_DEPTH)
        return sc_fail(c, n, NULL, "json body nested more than %d levels deep", SC_MAX_JSON_DEPTH);
    if (b->len > SC_MAX_BODY)
        return sc_fail(c, n, NULL, "json body larger than %u bytes", SC_MAX_BODY);
    const char *lit;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (sc_json_literal(n, &lit)) {
            sb_puts(b, lit);
            return 0;
        }
        if (sc_check_tmpl(c, n, TMPL_JSON, "the json body"))
            return -1;
        sb_puts(b, "\"");
        sb_put_holes(b, sc_sval(n), strlen(sc_sval(n)), sb_json_lit);
        sb_puts(b, "\"");
        return 0;
    case YAML_SEQUENCE_NODE:
        sb_puts(b, "[");
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                sb_puts(b, ",");
            if (sc_json_value(c, sc_node(c, *it), b, depth + 1))
                return -1;
        }
        sb_puts(b, "]");
        return 0;
    case YAML_MAPPING_NODE:
        sb_puts(b, "{");
        SC_FOREACH_PAIR(p, n) {
            yaml_node_t *k = sc_node(c, p->key);
            if (!sc_is_scalar(k))
                return sc_fail(c, k, NULL, "keys in a json body must be text, found %s",
                               sc_found(k, fb, sizeof fb));
            if (p != n->data.mapping.pairs.start)
                sb_puts(b, ",");
            if (sc_check_tmpl(c, k, TMPL_JSON, "the json body"))
                return -1;
            sb_puts(b, "\"");
            sb_put_holes(b, sc_sval(k), strlen(sc_sval(k)), sb_json_lit);
            sb_puts(b, "\":");
            if (sc_json_value(c, sc_node(c, p->value), b, depth + 1))
                return -1;
        }
        sb_puts(b, "}");
        return 0;
    default:
        return sc_fail(c, n, NULL, "unexpected value in a json body");
    }
}

/* ---- --set overrides --------------------------------------------------------------- */

static int sc_note_setnode(sc_ctx *c, int node, int set)
{
    if (c->nsetnodes == c->capsetnodes) {
        int cap = c->capsetnodes ? c->capsetnodes * 2 : 8;
        sc_setnode *p = realloc(c->setnodes, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        c->setnodes = p;
        c->capsetnodes = cap;
    }
    c->setnodes[c->nsetnodes++] = (sc_setnode){ node, set };
    return 0;
}

/* Applies sets[si] to the tree: walks the dotted path through mappings (by key) and
 * lists (by 0-based index), then replaces the scalar found there, or adds the last key
 * to the mapping reached. New nodes are appended to the document (libyaml has no way to
 * change a node's text in place), so node pointers are fetched again after each add. */
static int sc_apply_set(sc_ctx *c, int si)
{
    const sc_set *s = &c->sets[si];
    char path[512];
    sc_error *e = c->err;
    if (!s->key || !s->key[0] || strlen(s->key) >= sizeof path) {
        snprintf(e->msg, sizeof e->msg, "--set needs KEY=VALUE with a key such as load.graceful_stop");
        return -1;
    }
    snprintf(path, sizeof path, "%s", s->key);
    const char *value = s->value ? s->value : "";
    int cur = 0;                           /* node index; the root is 1 */
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root)
        return -1;
    cur = (int)(root - c->doc.nodes.start) + 1;
    char *save = NULL, *comp = strtok_r(path, ".", &save);
    char where[160] = "the top level";
    while (comp) {
        char *next = strtok_r(NULL, ".", &save);
        yaml_node_t *n = sc_node(c, cur);
        if (n->type == YAML_MAPPING_NODE) {
            yaml_node_pair_t *hit = NULL;
            const char *keys[64];
            size_t nkeys = 0;
            SC_FOREACH_PAIR(p, n) {
                yaml_node_t *k = sc_node(c, p->key);
                if (!sc_is_scalar(k))
                    continue;
                if (!strcmp(sc_sval(k), comp))
                    hit = p;
                if (nkeys < 64)
                    keys[nkeys++] = sc_sval(k);
            }
            if (!hit && next) {
                const char *near = nearest_name(comp, keys, nkeys);
                snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: no key '%.100s' under %s",
                         s->key, value, comp, where);
                if (near)
                    snprintf(e->hint, sizeof e->hint, "did you mean '%s'?", near);
                return -1;
            }
            if (!hit) {                    /* new key in an existing mapping */
                int k = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)comp, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                int v = k ? yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                     YAML_PLAIN_SCALAR_STYLE) : 0;
                if (!k || !v || !yaml_document_append_mapping_pair(&c->doc, cur, k, v) ||
                    sc_note_setnode(c, k, si) || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                return 0;
            }
            if (!next) {                   /* replace an existing scalar */
                yaml_node_t *old = sc_node(c, hit->value);
                if (old->type != YAML_SCALAR_NODE) {
                    snprintf(e->msg, sizeof e->msg, "--set %s=%s: '%s' is %s; --set replaces "
                             "single values only", s->key, value, s->key,
                             old->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
                    snprintf(e->hint, sizeof e->hint, "name a value inside it, e.g. %s.<key>", s->key);
                    return -1;
                }
                ptrdiff_t at = hit - n->data.mapping.pairs.start;
                int v = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                if (!v || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                sc_node(c, cur)->data.mapping.pairs.start[at].value = v;
                return 0;
            }
            cur = hit->value;
        } else if (n->type == YAML_SEQUENCE_NODE) {
            char *end;
            errno = 0;
            long idx = strtol(comp, &end, 10);
            int nitems = SC_NITEMS(n);
            if (end == comp || *end || idx < 0 || errno || idx >= nitems) {
                snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: %s is a list of %d; '%.50s' is not "
                         "an index in it", s->key, value, where, nitems, comp);
                snprintf(e->hint, sizeof e->hint, "list entries are numbered from 0");
                return -1;
            }
            if (!next) {
                yaml_node_t *old = sc_node(c, n->data.sequence.items.start[idx]);
                if (old->type != YAML_SCALAR_NODE) {
                    snprintf(e->msg, sizeof e->msg, "--set %s=%s: entry %ld is not a single "
                             "value; name a key inside it", s->key, value, idx);
                    return -1;
                }
                int v = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                if (!v || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                sc_node(c, cur)->data.sequence.items.start[idx] = v;
                return 0;
            }
            cur = n->data.sequence.items.start[idx];
        } else {
            snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: %s is a single value; there is no "
                     "'%.50s' inside it", s->key, value, where, comp);
            return -1;
        }
        /* "where" names the path walked so far, for the next message. */
        snprintf(where, sizeof where, "'%.*s'", (int)(comp + strlen(comp) - path) > 150 ? 150
                 : (int)(comp + strlen(comp) - path), s->key);
        comp = next;
    }
    return 0;
}

/* ---- reading data files ------------------------------------------------------------ */

static int sc_read_disk(const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    return util_read_file(path, SC_MAX_FILE, data, len, err, errcap);
}

/* A data path relative to the scenario's directory. Caller frees. */
static char *sc_resolve(const char *scenario_file, const char *path)
{
    const char *slash = scenario_file ? strrchr(scenario_file, '/') : NULL;
    if (path[0] == '/' || !slash)
        return strdup(path);
    size_t dl = (size_t)(slash - scenario_file) + 1;
    char *out = malloc(dl + strlen(path) + 1);
    if (out) {
        memcpy(out, scenario_file, dl);
        strcpy(out + dl, path);
    }
    return out;
}

/* ---- sections ---------------------------------------------------------------------- */

static int sc_target(sc_ctx *c, const yaml_node_t *n)
{
    char fb[80];
    if (sc_text(c, n, "'target'", &c->sc->target))
        return -1;
    char *t = c->sc->target;
    const char *host = NULL;
    if (!strncasecmp(t, "http://", 7))
        host = t + 7;
    else if (!strncasecmp(t, "https://", 8))
        host = t + 8;
    if (!host || !*host || *host == '/')
        return sc_fail(c, n, strstr(t, "://") ? NULL : "for example http://127.0.0.1:8000",
                       "target must be an absolute URL starting with http:// or https://, "
                       "found %s", sc_found(n, fb, sizeof fb));
    size_t len = strlen(t);
    while (len > 0 && t[len - 1] == '/')
        t[--len] = '\0';
    return 0;
}

static bool sc_header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

/* Appends header name: value (compiled from node v) to *arr. */
static int sc_header_add(sc_ctx *c, sc_header **arr, int *n, const yaml_node_t *kn,
                         const yaml_node_t *v, const char *literal)
{
    char fb[80];
    sc_header *p = realloc(*arr, (size_t)(*n + 1) * sizeof **arr);
    if (!p)
        return sc_fail(c, kn, NULL, "out of memory");
    *arr = p;
    sc_header *h = &p[*n];
    memset(h, 0, sizeof *h);
    (*n)++;
    const char *name = sc_sval(kn);
    if (!sc_header_name_ok(name))
        return sc_fail(c, kn, NULL, "'%s' is not a valid HTTP header name (letters, digits "
                       "and - only, no spaces or colons)", name);
    if (!(h->name = strdup(name)))
        return sc_fail(c, kn, NULL, "out of memory");
    const char *text = literal;
    if (!text) {
        if (!sc_is_scalar(v))
            return sc_fail(c, v, NULL, "expected text for header '%s', found %s", name,
                           sc_found(v, fb, sizeof fb));
        text = sc_sval(v);
        if (strpbrk(text, "\r\n"))
            return sc_fail(c, v, NULL, "header '%s' contains a line break; header values "
                           "are one line", name);
    }
    char what[160];
    snprintf(what, sizeof what, "header '%s'", name);
    if (!(h->value = sc_tmpl(c, v ? v : kn, text, strlen(text), TMPL_RAW, what)))
        return -1;
    return 0;
}

/* Header mapping -> headers; with defaults, default headers the step does not set
 * (names compared case-insensitively) come first. */
static int sc_headers(sc_ctx *c, const yaml_node_t *map, const yaml_node_t *defaults,
                      sc_header **out, int *nout)
{
    if (map && map->type != YAML_MAPPING_NODE && !sc_is_null(map))
        return sc_want_map(c, map, "'headers'");
    if (map && map->type != YAML_MAPPING_NODE)
        map = NULL;
    if (defaults) {
        SC_FOREACH_PAIR(d, defaults) {
            yaml_node_t *dk = sc_node(c, d->key);
            bool overridden = false;
            if (map) {
                SC_FOREACH_PAIR(p, map) {
                    yaml_node_t *k = sc_node(c, p->key);
                    if (sc_is_scalar(k) && sc_is_scalar(dk) && !strcasecmp(sc_sval(k), sc_sval(dk)))
                        overridden = true;
                }
            }
            if (!overridden && sc_header_add(c, out, nout, dk, sc_node(c, d->value), NULL))
                return -1;
        }
    }
    if (map) {
        char fb[80];
        SC_FOREACH_PAIR(p, map) {
            yaml_node_t *k = sc_node(c, p->key);
            if (sc_tick(c, k))
                return -1;
            if (!sc_is_scalar(k))
                return sc_fail(c, k, NULL, "header names must be text, found %s",
                               sc_found(k, fb, sizeof fb));
            for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
                yaml_node_t *k2 = sc_node(c, q->key);
                if (sc_is_scalar(k2) && !strcasecmp(sc_sval(k2), sc_sval(k)))
                    return sc_fail(c, k, NULL, "header '%s' is set twice (names ignore case)",
                                   sc_sval(k));
            }
            if (sc_header_add(c, out, nout, k, sc_node(c, p->value), NULL))
                return -1;
        }
    }
    return 0;
}

static int sc_defaults(sc_ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = { "headers", "timeout", "http2", "insecure",
                                        "follow_redirects" };
    scenario *sc = c->sc;
    if (sc_want_map(c, n, "'defaults'") || sc_keys(c, n, "defaults", keys, 5))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "timeout", NULL)) && sc_duration(c, v, "defaults.timeout", true, &sc->default_timeout_ms))
        return -1;
    if ((v = sc_get(c, n, "http2", NULL)) && sc_bool(c, v, "defaults.http2", &sc->http2))
        return -1;
    if ((v = sc_get(c, n, "insecure", NULL)) && sc_bool(c, v, "defaults.insecure", &sc->insecure))
        return -1;
    if ((v = sc_get(c, n, "follow_redirects", NULL)) &&
        sc_bool(c, v, "defaults.follow_redirects", &sc->follow_redirects))
        return -1;
    if ((v = sc_get(c, n, "headers", NULL)) && !sc_is_null(v)) {
        if (sc_headers(c, v, NULL, &sc->default_headers, &sc->ndefault_headers))
            return -1;
        c->defhdrs = v;
    }
    return 0;
}

static int sc_load(sc_ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = { "model", "stages", "graceful_stop" };
    static const char *const models[] = { "closed", "open" };
    static const char *const stage_keys[] = { "duration", "users" };
    scenario *sc = c->sc;
    char fb[80], hint[128];
    if (sc_want_map(c, n, "'load'") || sc_keys(c, n, "load", keys, 3))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "model", NULL))) {
        if (!sc_is_scalar(v) || (strcmp(sc_sval(v), "closed") && strcmp(sc_sval(v), "open"))) {
            const char *near = sc_is_scalar(v) ? nearest_name(sc_sval(v), models, 2) : NULL;
            if (near)
                snprintf(hint, sizeof hint, "did you mean '%s'?", near);
            return sc_fail(c, v, near ? hint : NULL, "load.model must be closed or open, found %s",
                           sc_found(v, fb, sizeof fb));
        }
        if (!strcmp(sc_sval(v), "open"))
            return sc_fail(c, v, "use model: closed, where stages give the number of users",
                           "open model not yet supported");
    }
    if ((v = sc_get(c, n, "graceful_stop", NULL)) &&
        sc_duration(c, v, "load.graceful_stop", false, &sc->graceful_stop_ms))
        return -1;
    yaml_node_t *st = sc_need(c, n, "stages", "load", "add stages: [ { duration: 1m, users: 10 } ]");
    if (!st || sc_want_list(c, st, "load.stages", "for example: stages: [ { duration: 1m, users: 10 } ]"))
        return -1;
    int ns = SC_NITEMS(st);
    if (!(sc->stages = calloc((size_t)ns, sizeof *sc->stages)))
        return sc_fail(c, st, NULL, "out of memory");
    sc->nstages = ns;
    uint32_t peak = 0;
    for (int i = 0; i < ns; i++) {
        yaml_node_t *s = sc_node(c, st->data.sequence.items.start[i]);
        char where[64];
        snprintf(where, sizeof where, "stage %d", i + 1);
        if (sc_tick(c, s) || sc_want_map(c, s, where) || sc_keys(c, s, where, stage_keys, 2))
            return -1;
        yaml_node_t *d = sc_need(c, s, "duration", where, "a stage is { duration: 5m, users: 200 }");
        if (!d || sc_duration(c, d, "a stage's duration", true, &sc->stages[i].duration_ms))
            return -1;
        yaml_node_t *u = sc_need(c, s, "users", where, "a stage is { duration: 5m, users: 200 }");
        long long users;
        if (!u || sc_int(c, u, "users", 0, SC_MAX_USERS, &users))
            return -1;
        sc->stages[i].users = (uint32_t)users;
        if (sc->stages[i].users > peak)
            peak = sc->stages[i].users;
    }
    if (peak == 0)
        return sc_fail(c, st, NULL, "every stage has users: 0; the run would start no one");
    return 0;
}

static int sc_data(sc_ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = { "csv", "mode" };
    static const char *const modes[] = { "sequential", "random", "unique" };
    scenario *sc = c->sc;
    char fb[80], hint[128], msg[256];
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'data'"))
        return -1;
    int nf = SC_NPAIRS(n);
    if (nf == 0)
        return 0;
    if (!(sc->data.f = calloc((size_t)nf, sizeof *sc->data.f)))
        return sc_fail(c, n, NULL, "out of memory");
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key), *spec = sc_node(c, p->value), *csvk = NULL;
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k) || !sc_is_ident(sc_sval(k)))
            return sc_fail(c, k, "templates read it as {{ name.column }}", "a data feeder's "
                           "name must be a word (letters, digits, _ and -), found %s",
                           sc_found(k, fb, sizeof fb));
        if (data_find(&sc->data, sc_sval(k)) >= 0)
            return sc_fail(c, k, NULL, "data feeder '%s' is defined twice", sc_sval(k));
        char where[96];
        snprintf(where, sizeof where, "data feeder '%s'", sc_sval(k));
        if (sc_want_map(c, spec, where) || sc_keys(c, spec, where, keys, 2))
            return -1;
        data_feeder *f = &sc->data.f[sc->data.n++];
        if (!(f->name = strdup(sc_sval(k))))
            return sc_fail(c, k, NULL, "out of memory");
        yaml_node_t *mode = sc_get(c, spec, "mode", NULL);
        if (mode) {
            int m = -1;
            for (int i = 0; sc_is_scalar(mode) && i < 3; i++)
                if (!strcmp(sc_sval(mode), modes[i]))
                    m = i;
            if (m < 0) {
                const char *near = sc_is_scalar(mode) ? nearest_name(sc_sval(mode), modes, 3) : NULL;
                if (near)
                    snprintf(hint, sizeof hint, "did you mean '%s'?", near);
                return sc_fail(c, mode, near ? hint : NULL, "mode of %s must be sequential, "
                               "random or unique, found %s", where, sc_found(mode, fb, sizeof fb));
            }
            f->mode = m == 0 ? DATA_SEQUENTIAL : m == 1 ? DATA_RANDOM : DATA_UNIQUE;
        }
        yaml_node_t *csv = sc_need(c, spec, "csv", where, "for example: { csv: users.csv, mode: unique }");
        if (!csv)
            return -1;
        sc_get(c, spec, "csv", &csvk);
        if (sc_text(c, csv, "'csv' (a file name)", &f->file))
            return -1;
        char *path = sc_resolve(c->err->file, f->file), *buf = NULL;
        size_t blen = 0;
        msg[0] = '\0';
        int rc = !path ? -1 : c->read ? c->read(c->read_ud, path, &buf, &blen, msg, sizeof msg)
                                      : sc_read_disk(path, &buf, &blen, msg, sizeof msg);
        if (rc != 0) {
            sc_fail(c, csv, "paths are relative to the scenario's directory",
                    "%s: cannot read %s: %s", where, path ? path : f->file,
                    msg[0] ? msg : "unknown error");
            free(path);
            free(buf);
            return -1;
        }
        int line = 0;
        msg[0] = '\0';
        rc = data_feeder_parse(f, buf, blen, msg, sizeof msg, &line);
        free(buf);
        if (rc != 0) {
            sc_fail(c, csvk, "the first line names the columns; each further line is one row",
                    "%s: %s line %d: %s", where, path, line, msg[0] ? msg : "invalid CSV");
            free(path);
            return -1;
        }
        free(path);
    }
    return 0;
}

/* ---- steps ------------------------------------------------------------------------- */

/* Pass one: every capture variable in every flow, so a template may use a name captured
 * later in the file (or by another profile). Tolerant: malformed parts are left for the
 * checks of pass two to report. */
static int sc_collect_caps(sc_ctx *c, const yaml_node_t *cap)
{
    if (!cap || cap->type != YAML_MAPPING_NODE)
        return 0;
    SC_FOREACH_PAIR(q, cap) {
        yaml_node_t *var = sc_node(c, q->key);
        if (sc_tick(c, var))
            return -1;
        if (sc_is_scalar(var) && sc_is_ident(sc_sval(var)) &&
            tmpl_syms_add(&c->sc->syms, sc_sval(var)) < 0)
            return sc_fail(c, var, NULL, "out of memory");
    }
    return 0;
}

static int sc_collect(sc_ctx *c, const yaml_node_t *steps, int depth)
{
    if (!steps || steps->type != YAML_SEQUENCE_NODE || depth > SC_MAX_STEP_DEPTH)
        return 0;
    for (yaml_node_item_t *it = steps->data.sequence.items.start; it < steps->data.sequence.items.top; it++) {
        yaml_node_t *st = sc_node(c, *it);
        if (sc_tick(c, st))
            return -1;
        if (st->type != YAML_MAPPING_NODE)
            continue;
        SC_FOREACH_PAIR(p, st) {
            yaml_node_t *k = sc_node(c, p->key), *v = sc_node(c, p->value);
            if (!sc_is_scalar(k) || v->type != YAML_MAPPING_NODE)
                continue;
            if (!strcmp(sc_sval(k), "loop") || !strcmp(sc_sval(k), "group")) {
                if (sc_collect(c, sc_get(c, v, "steps", NULL), depth + 1))
                    return -1;
            } else if (!strcmp(sc_sval(k), "http")) {
                if (sc_collect_caps(c, sc_get(c, v, "capture", NULL)))
                    return -1;
            } else if (!strcmp(sc_sval(k), "ws")) {
                /* ws: { expect: ..., capture: {...} } and ws: { listen: { ..., capture } } */
                yaml_node_t *l = sc_get(c, v, "listen", NULL);
                if (sc_collect_caps(c, sc_get(c, v, "capture", NULL)) ||
                    (l && l->type == YAML_MAPPING_NODE &&
                     sc_collect_caps(c, sc_get(c, l, "capture", NULL))))
                    return -1;
            }
        }
    }
    return 0;
}

static int sc_steps(sc_ctx *c, const yaml_node_t *seq, const char *what, sc_step **out,
                    int *nout, int depth);

static int sc_parse_expect(sc_ctx *c, const yaml_node_t *n, sc_expect *ex)
{
    static const char *const keys[] = { "status", "json", "equals", "contains" };
    char fb[80], msg[256];
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'expect'") || sc_keys(c, n, "expect", keys, 4))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "status", NULL))) {
        long long code;
        if (v->type == YAML_SEQUENCE_NODE) {
            if (SC_NITEMS(v) == 0 || SC_NITEMS(v) > SC_MAX_STATUS)
                return sc_fail(c, v, NULL, "expect.status lists 1 to %d codes, found %d",
                               SC_MAX_STATUS, SC_NITEMS(v));
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                if (sc_int(c, sc_node(c, *it), "an HTTP status", 100, 599, &code))
                    return -1;
                ex->status[ex->nstatus++] = (int)code;
            }
        } else {
            if (sc_int(c, v, "expect.status (an HTTP status, or a list of them)", 100, 599, &code))
                return -1;
            ex->status[ex->nstatus++] = (int)code;
        }
    }
    yaml_node_t *jn = sc_get(c, n, "json", NULL);
    if (jn) {
        size_t off = 0;
        if (sc_text(c, jn, "expect.json (a JSON path such as $.status)", &ex->json_path_text))
            return -1;
        msg[0] = '\0';
        if (!(ex->json_path = jpath_compile(ex->json_path_text, msg, sizeof msg, &off)))
            return sc_fail_at(c, jn, sc_scalar_col(jn, off), "paths look like $.data.items[0].id",
                              "invalid JSON path: %s", msg[0] ? msg : "malformed");
    }
    if ((v = sc_get(c, n, "equals", NULL))) {
        if (!jn)
            return sc_fail(c, v, "add json: $.path next to it", "expect.equals compares the "
                           "value at a JSON path, but expect has no 'json'");
        if (!sc_is_scalar(v))
            return sc_fail(c, v, NULL, "expected a single value for expect.equals, found %s",
                           sc_found(v, fb, sizeof fb));
        if (!(ex->json_equals = strdup(sc_is_null(v) ? "null" : sc_sval(v))))
            return sc_fail(c, v, NULL, "out of memory");
    }
    if ((v = sc_get(c, n, "contains", NULL)) && sc_text(c, v, "expect.contains", &ex->contains))
        return -1;
    return 0;
}

/* capture: { var: { json | header | regex: ... } } into *out. A ws step's captures read
 * a message, which has no headers (ws true): json or regex only. */
static int sc_captures(sc_ctx *c, const yaml_node_t *n, sc_capture **out, int *nout, bool ws)
{
    static const char *const kinds[] = { "json", "header", "regex" };
    static const char *const ws_kinds[] = { "json", "regex" };
    char fb[80], hint[160], msg[256];
    scenario *sc = c->sc;
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'capture'"))
        return -1;
    int np = SC_NPAIRS(n);
    if (np == 0)
        return 0;
    if (!(*out = calloc((size_t)np, sizeof **out)))
        return sc_fail(c, n, NULL, "out of memory");
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key), *spec = sc_node(c, p->value);
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k) || !sc_is_ident(sc_sval(k)))
            return sc_fail(c, k, "templates read it as {{ name }}", "a capture variable's name "
                           "must be a word (letters, digits, _ and -), found %s", sc_found(k, fb, sizeof fb));
        const char *var = sc_sval(k);
        if (data_find(&sc->data, var) >= 0)
            return sc_fail(c, k, "choose another name", "capture variable '%s' has the name of a "
                           "data feeder", var);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = sc_node(c, q->key);
            if (sc_is_scalar(k2) && !strcmp(sc_sval(k2), var))
                return sc_fail(c, k, NULL, "capture '%s' appears twice in this step", var);
        }
        sc_capture *cp = &(*out)[(*nout)++];
        if (!(cp->var = strdup(var)))
            return sc_fail(c, k, NULL, "out of memory");
        cp->slot = tmpl_syms_find(&sc->syms, var);
        if (ws)
            snprintf(hint, sizeof hint, "write %s: { json: $.path } or { regex: \"id=(\\\\d+)\" }",
                     var);
        else
            snprintf(hint, sizeof hint, "write %s: { json: $.path }, { header: Name } or "
                     "{ regex: \"id=(\\\\d+)\" }", var);
        if (!spec || spec->type != YAML_MAPPING_NODE || SC_NPAIRS(spec) != 1)
            return sc_fail(c, spec ? spec : k, hint, "capture '%s' needs exactly one of %s, "
                           "found %s", var, ws ? "json or regex" : "json, header or regex",
                           sc_found(spec, fb, sizeof fb));
        yaml_node_t *kk = sc_node(c, spec->data.mapping.pairs.start[0].key);
        yaml_node_t *kv = sc_node(c, spec->data.mapping.pairs.start[0].value);
        int kind = -1;
        for (int i = 0; sc_is_scalar(kk) && i < 3; i++)
            if (!strcmp(sc_sval(kk), kinds[i]))
                kind = i;
        if (kind < 0) {
            const char *near = !sc_is_scalar(kk) ? NULL : ws ? nearest_name(sc_sval(kk), ws_kinds, 2)
                                                             : nearest_name(sc_sval(kk), kinds, 3);
            if (near)
                snprintf(hint, sizeof hint, "did you mean '%s'?", near);
            return sc_fail(c, kk, hint, "unknown capture kind %s for '%s' (known: %s)",
                           sc_found(kk, fb, sizeof fb), var, ws ? "json, regex" : "json, header, regex");
        }
        if (kind == 1 && ws)
            return sc_fail(c, kk, "capture from the message with { json: $.path } or { regex: R }",
                           "capture '%s': ws messages have no headers", var);
        cp->kind = kind == 0 ? CAP_JSON : kind == 1 ? CAP_HEADER : CAP_REGEX;
        if (sc_text(c, kv, kind == 0 ? "a JSON path" : kind == 1 ? "a header name" : "a regex",
                    &cp->expr))
            return -1;
        msg[0] = '\0';
        if (cp->kind == CAP_JSON) {
            size_t off = 0;
            if (!(cp->path = jpath_compile(cp->expr, msg, sizeof msg, &off)))
                return sc_fail_at(c, kv, sc_scalar_col(kv, off), "paths look like $.data.items[0].id",
                                  "invalid JSON path: %s", msg[0] ? msg : "malformed");
        } else if (cp->kind == CAP_REGEX) {
            size_t off = 0;
            if (!(cp->re = capre_compile(cp->expr, msg, sizeof msg, &off)))
                return sc_fail_at(c, kv, sc_regex_col(kv, cp->expr, off), SC_REGEX_HINT "; the first "
                                  "group is captured", "%s", msg[0] ? msg : "invalid regex");
        } else if (!sc_header_name_ok(cp->expr)) {
            return sc_fail(c, kv, NULL, "'%s' is not a valid HTTP header name", cp->expr);
        }
    }
    return 0;
}

static const char *const sc_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" };

static int sc_http_step(sc_ctx *c, const yaml_node_t *n, sc_http *h)
{
    static const char *const keys[] = { "name", "method", "url", "headers", "json", "body",
                                        "form", "timeout", "expect", "capture" };
    scenario *sc = c->sc;
    char fb[80], hint[160];
    if (sc_want_map(c, n, "an http step") || sc_keys(c, n, "the http step", keys, 10))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "name", NULL)) && sc_text(c, v, "the step's name", &h->name))
        return -1;
    /* method */
    if ((v = sc_get(c, n, "method", NULL))) {
        if (sc_text(c, v, "'method'", &h->method))
            return -1;
        for (char *p = h->method; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        size_t i;
        for (i = 0; i < sizeof sc_methods / sizeof *sc_methods; i++)
            if (!strcmp(h->method, sc_methods[i]))
                break;
        if (i == sizeof sc_methods / sizeof *sc_methods) {
            const char *near = nearest_name(h->method, sc_methods, sizeof sc_methods / sizeof *sc_methods);
            if (near)
                snprintf(hint, sizeof hint, "did you mean %s?", near);
            return sc_fail(c, v, near ? hint : NULL, "unknown HTTP method %s (expected GET, POST, "
                           "PUT, PATCH, DELETE, HEAD or OPTIONS)", sc_found(v, fb, sizeof fb));
        }
    } else if (!(h->method = strdup("GET"))) {
        return sc_fail(c, n, NULL, "out of memory");
    }
    /* url */
    yaml_node_t *u = sc_need(c, n, "url", "the http step", "for example: url: /api/orders");
    if (!u || !sc_is_scalar(u) || sc_is_null(u) || !sc_sval(u)[0])
        return u ? sc_fail(c, u, NULL, "expected a URL or path for 'url', found %s",
                           sc_found(u, fb, sizeof fb)) : -1;
    const char *url = sc_sval(u);
    bool abs = !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
    if (!abs && url[0] != '/' && strncmp(url, "{{", 2))
        return sc_fail(c, u, "for example /api/orders or http://host:8000/api/orders",
                       "url %s is neither a path starting with / nor an absolute http:// or "
                       "https:// URL", sc_found(u, fb, sizeof fb));
    if (url[0] == '/' && !sc->target)
        return sc_fail(c, u, "add target: http://host:port at the top (or pass --host)",
                       "url %s is a path, but the scenario has no target to join it to",
                       sc_found(u, fb, sizeof fb));
    if (!(h->url = sc_tmpl(c, u, url, strlen(url), TMPL_RAW, "the url")))
        return -1;
    /* body: at most one of json, body, form */
    yaml_node_t *jn = sc_get(c, n, "json", NULL), *bn = sc_get(c, n, "body", NULL),
                *fn = sc_get(c, n, "form", NULL);
    if (!!jn + !!bn + !!fn > 1)
        return sc_fail(c, fn ? fn : bn, "keep one of them", "an http step takes one body: "
                       "json, body or form, not several");
    bool form = false;
    if (jn || fn) {
        sc_buf b = { 0 };
        int rc = 0;
        if (jn) {
            rc = sc_json_value(c, jn, &b, 0);
        } else if (sc_want_map(c, fn, "'form'")) {
            rc = -1;
        } else {
            form = true;
            SC_FOREACH_PAIR(p, fn) {
                yaml_node_t *k = sc_node(c, p->key), *fv = sc_node(c, p->value);
                if (!sc_is_scalar(k) || !sc_is_scalar(fv)) {
                    rc = sc_fail(c, sc_is_scalar(k) ? fv : k, NULL, "form fields are name: "
                                 "value text, found %s", sc_found(sc_is_scalar(k) ? fv : k, fb, sizeof fb));
                    break;
                }
                if (sc_tick(c, k) || sc_check_tmpl(c, k, TMPL_RAW, "a form field") ||
                    sc_check_tmpl(c, fv, TMPL_RAW, "a form field")) {
                    rc = -1;
                    break;
                }
                if (p != fn->data.mapping.pairs.start)
                    sb_puts(&b, "&");
                sb_put_holes(&b, sc_sval(k), strlen(sc_sval(k)), sb_form_lit);
                sb_puts(&b, "=");
                sb_put_holes(&b, sc_sval(fv), strlen(sc_sval(fv)), sb_form_lit);
            }
        }
        if (rc == 0 && b.oom)
            rc = sc_fail(c, jn ? jn : fn, NULL, "out of memory");
        if (rc == 0)
            h->body = sc_tmpl(c, jn ? jn : fn, b.p ? b.p : "", b.len, jn ? TMPL_JSON : TMPL_RAW,
                              jn ? "the json body" : "the form body");
        free(b.p);
        if (rc != 0 || !h->body)
            return -1;
        h->json_body = jn != NULL;
    } else if (bn) {
        if (!sc_is_scalar(bn))
            return sc_fail(c, bn, "for a JSON body use json: instead", "expected text for 'body', "
                           "found %s", sc_found(bn, fb, sizeof fb));
        if (!(h->body = sc_tmpl(c, bn, sc_sval(bn), strlen(sc_sval(bn)), TMPL_RAW, "the body")))
            return -1;
    }
    /* headers, defaults merged in; a form body brings its content type */
    if (sc_headers(c, sc_get(c, n, "headers", NULL), c->defhdrs, &h->headers, &h->nheaders))
        return -1;
    if (form) {
        bool has = false;
        for (int i = 0; i < h->nheaders; i++)
            has |= !strcasecmp(h->headers[i].name, "Content-Type");
        if (!has) {
            yaml_node_t *fk = NULL;
            sc_get(c, n, "form", &fk);
            /* the key node only lends its place for messages; the name is set below */
            sc_header *p = realloc(h->headers, (size_t)(h->nheaders + 1) * sizeof *p);
            if (!p)
                return sc_fail(c, fk, NULL, "out of memory");
            h->headers = p;
            sc_header *hd = &p[h->nheaders++];
            const char *ct = "application/x-www-form-urlencoded";
            hd->name = strdup("Content-Type");
            hd->value = sc_tmpl(c, fk, ct, strlen(ct), TMPL_RAW, "a header");
            if (!hd->name || !hd->value)
                return sc_fail(c, fk, NULL, "out of memory");
        }
    }
    h->timeout_ms = sc->default_timeout_ms;
    if ((v = sc_get(c, n, "timeout", NULL)) && sc_duration(c, v, "the step's timeout", true, &h->timeout_ms))
        return -1;
    if ((v = sc_get(c, n, "expect", NULL)) && sc_parse_expect(c, v, &h->expect))
        return -1;
    if ((v = sc_get(c, n, "capture", NULL)) && sc_captures(c, v, &h->captures, &h->ncaptures, false))
        return -1;
    return 0;
}

/* ---- ws steps ---------------------------------------------------------------------- */

/* The kind keys of a ws step, in sc_ws_kind order, and the other keys each kind takes. */
static const char *const sc_ws_kinds[] = { "connect", "send", "expect", "receive", "close",
                                           "listen" };
#define SC_WS_NKINDS 6
static const char *const sc_ws_keys[] = { "connect", "send", "expect", "receive", "close",
                                          "listen", "name", "headers", "subprotocol", "timeout",
                                          "reconnect", "ping", "sequence", "stamp", "capture" };
#define SC_WS_NKEYS (sizeof sc_ws_keys / sizeof *sc_ws_keys)
static const char *const sc_ws_extra[SC_WS_NKINDS] = {
    "name headers subprotocol timeout reconnect ping sequence stamp",  /* connect */
    "",                                                                 /* send */
    "timeout capture",                                                  /* expect */
    "timeout",                                                          /* receive */
    "timeout",                                                          /* close */
    "",                                                                 /* listen */
};

/* word is one of the space-separated words of list. */
static bool sc_word_in(const char *word, const char *list)
{
    size_t n = strlen(word);
    for (const char *p = list; *p; ) {
        size_t w = strcspn(p, " ");
        if (w == n && !strncmp(p, word, n))
            return true;
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

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
    static const char *const keys[] = { "equals", "contains", "json", "regex", "capture" };
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
    if (sc_keys(c, n, where, keys, listen ? 5 : 4))
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
    static const char *const rc_keys[] = { "max", "backoff" };
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
        if (sc_keys(c, v, "reconnect", rc_keys, 2))
            return -1;
        yaml_node_t *x;
        long long max;
        if ((x = sc_get(c, v, "max", NULL))) {
            if (sc_int(c, x, "reconnect.max", 0, 1000000, &max))
                return -1;
            w->reconnect_max = (uint32_t)max;
        }
        w->reconnect_backoff_ms = 500;
        if ((x = sc_get(c, v, "backoff", NULL)) &&
            sc_duration(c, x, "reconnect.backoff", true, &w->reconnect_backoff_ms))
            return -1;
    }
    if ((v = sc_get(c, n, "ping", NULL)) && sc_duration(c, v, "'ping'", false, &w->ping_ms))
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
    static const char *const keys[] = { "json", "binary" };
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
    if (sc_keys(c, v, "ws send", keys, 2))
        return -1;
    if (SC_NPAIRS(v) != 1)
        return sc_fail(c, SC_NPAIRS(v) ? sc_node(c, v->data.mapping.pairs.start[1].key) : v,
                       eg, "ws send takes one of json or binary, found %s",
                       SC_NPAIRS(v) ? "both" : "neither");
    yaml_node_t *jn = sc_get(c, v, "json", NULL), *bn = sc_get(c, v, "binary", NULL);
    if (jn) {
        sc_buf b = { 0 };
        int rc = sc_json_value(c, jn, &b, 0);
        if (rc == 0 && b.oom)
            rc = sc_fail(c, jn, NULL, "out of memory");
        if (rc == 0)
            w->message = sc_tmpl(c, jn, b.p ? b.p : "", b.len, TMPL_JSON, "the json message");
        free(b.p);
        w->payload = SC_WS_JSON;
        return rc == 0 && w->message ? 0 : -1;
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

static int sc_ws_step(sc_ctx *c, const yaml_node_t *n, sc_ws *w)
{
    static const char *const articles[SC_WS_NKINDS] = { "the ws connect step", "the ws send step",
        "the ws expect step", "the ws receive step", "the ws close step", "the ws listen step" };
    char fb[80], hint[200], list[160];
    const char *eg = "for example ws: { connect: /ws/feed }, ws: { send: hello } or "
                     "ws: { expect: { contains: ok } }";
    if (!n || n->type != YAML_MAPPING_NODE)
        return sc_fail(c, n, eg, "expected a mapping (key: value pairs) for a ws step, found %s",
                       sc_found(n, fb, sizeof fb));
    if (sc_keys(c, n, "the ws step", sc_ws_keys, SC_WS_NKEYS))
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
        if (k == kk || sc_word_in(key, sc_ws_extra[kind]))
            continue;
        size_t used = (size_t)snprintf(list, sizeof list, "%s", sc_ws_kinds[kind]);
        for (const char *e = sc_ws_extra[kind]; *e && used < sizeof list; ) {
            size_t wl = strcspn(e, " ");
            used += (size_t)snprintf(list + used, sizeof list - used, ", %.*s", (int)wl, e);
            e += wl;
            e += strspn(e, " ");
        }
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
    if ((v = sc_get(c, n, "timeout", NULL)) &&
        sc_duration(c, v, "the ws step's timeout", true, &w->timeout_ms))
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

static int sc_think(sc_ctx *c, const yaml_node_t *n, sc_step *st)
{
    char fb[80], a[64], b[64];
    const char *eg = "for example think: 2s, or a random pause think: 1s..3s";
    if (!sc_is_scalar(n) || sc_is_null(n))
        return sc_fail(c, n, eg, "expected a duration or a range for think, found %s",
                       sc_found(n, fb, sizeof fb));
    const char *s = sc_sval(n), *dots = strstr(s, "..");
    if (!dots) {
        if (units_duration_ms(s, &st->u.think.min_ms) != 0)
            return sc_fail(c, n, eg, "expected a duration or a range for think, found %s",
                           sc_found(n, fb, sizeof fb));
        st->u.think.max_ms = st->u.think.min_ms;
        return 0;
    }
    snprintf(a, sizeof a, "%.*s", (int)(dots - s), s);
    snprintf(b, sizeof b, "%s", dots + 2);
    if (units_duration_ms(a, &st->u.think.min_ms) || units_duration_ms(b, &st->u.think.max_ms))
        return sc_fail(c, n, eg, "expected a think range such as 1s..3s, found %s",
                       sc_found(n, fb, sizeof fb));
    if (st->u.think.min_ms > st->u.think.max_ms)
        return sc_fail(c, n, NULL, "think range %s is reversed: the first bound must not exceed "
                       "the second (write %s..%s)", s, b, a);
    return 0;
}

static int sc_loop(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    static const char *const keys[] = { "count", "steps" };
    char fb[80];
    if (sc_want_map(c, n, "a loop") || sc_keys(c, n, "the loop", keys, 2))
        return -1;
    st->u.loop.count = -1;
    yaml_node_t *v = sc_get(c, n, "count", NULL);
    if (v) {
        if (sc_is_scalar(v) && !strcmp(sc_sval(v), "forever")) {
            st->u.loop.count = -1;
        } else {
            char *end;
            const char *s = sc_is_scalar(v) ? sc_sval(v) : "";
            errno = 0;
            long long cnt = strtoll(s, &end, 10);
            if (!*s || *end || errno || cnt < 1 || isspace((unsigned char)*s))
                return sc_fail(c, v, "write a number such as 3, or forever (the default: loop until the run ends)",
                               "loop count must be a whole number of at least 1 or 'forever', "
                               "found %s", sc_found(v, fb, sizeof fb));
            st->u.loop.count = cnt;
        }
    }
    yaml_node_t *s = sc_need(c, n, "steps", "the loop", "for example: loop: { count: 3, steps: [ ... ] }");
    return !s ? -1 : sc_steps(c, s, "the loop's steps", &st->u.loop.steps, &st->u.loop.nsteps, depth + 1);
}

static int sc_group(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    static const char *const keys[] = { "name", "steps" };
    if (sc_want_map(c, n, "a group") || sc_keys(c, n, "the group", keys, 2))
        return -1;
    yaml_node_t *v = sc_need(c, n, "name", "the group", "for example: group: { name: checkout, steps: [ ... ] }");
    if (!v || sc_text(c, v, "the group's name", &st->u.group.name))
        return -1;
    yaml_node_t *s = sc_need(c, n, "steps", "the group", NULL);
    return !s ? -1 : sc_steps(c, s, "the group's steps", &st->u.group.steps, &st->u.group.nsteps, depth + 1);
}

static int sc_parse_step(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    static const char *const kinds[] = { "http", "think", "loop", "group", "ws" };
    static const char *const http_keys[] = { "name", "method", "url", "headers", "json", "body",
                                             "form", "timeout", "expect", "capture", "count",
                                             "steps", "connect", "send", "receive", "close",
                                             "listen", "subprotocol", "reconnect", "ping",
                                             "sequence", "stamp" };
    char fb[80], hint[160];
    const char *eg = "a step is one of: - http: {...}, - ws: {...}, - think: 1s, - loop: {...}, "
                     "- group: {...}";
    if (sc_tick(c, n))
        return -1;
    if (!n || n->type != YAML_MAPPING_NODE || SC_NPAIRS(n) == 0)
        return sc_fail(c, n, eg, "expected a step, found %s", sc_found(n, fb, sizeof fb));
    yaml_node_t *k = sc_node(c, n->data.mapping.pairs.start[0].key);
    yaml_node_t *v = sc_node(c, n->data.mapping.pairs.start[0].value);
    st->line = (int)k->start_mark.line + 1;
    st->col = (int)k->start_mark.column + 1;
    int kind = -1;
    for (int i = 0; sc_is_scalar(k) && i < 5; i++)
        if (!strcmp(sc_sval(k), kinds[i]))
            kind = i;
    if (kind < 0) {
        const char *near = sc_is_scalar(k) ? nearest_name(sc_sval(k), kinds, 5) : NULL;
        if (near)
            snprintf(hint, sizeof hint, "did you mean '%s'?", near);
        return sc_fail(c, k, near ? hint : eg, "unknown step kind %s (known: http, think, loop, "
                       "group, ws)", sc_found(k, fb, sizeof fb));
    }
    if (SC_NPAIRS(n) > 1) {
        yaml_node_t *k2 = sc_node(c, n->data.mapping.pairs.start[1].key);
        bool field = false;
        for (size_t i = 0; sc_is_scalar(k2) && i < sizeof http_keys / sizeof *http_keys; i++)
            field |= !strcmp(sc_sval(k2), http_keys[i]);
        snprintf(hint, sizeof hint, field ? "indent it under '%s:' if it belongs to that step"
                                          : "start another step with '- '", sc_sval(k));
        return sc_fail(c, k2, hint, "a step has exactly one kind, but this '%s' step also has "
                       "%s", sc_sval(k), sc_found(k2, fb, sizeof fb));
    }
    switch (kind) {
    case 0:
        st->kind = STEP_HTTP;
        return sc_http_step(c, v, &st->u.http);
    case 1:
        st->kind = STEP_THINK;
        return sc_think(c, v, st);
    case 2:
        st->kind = STEP_LOOP;
        return sc_loop(c, v, st, depth);
    case 3:
        st->kind = STEP_GROUP;
        return sc_group(c, v, st, depth);
    default:
        st->kind = STEP_WS;
        if (sc_ws_step(c, v, &st->u.ws))
            return -1;
        /* Walking the flow in order (loops and groups included, depth first): a ws step
         * other than connect has no connection to use unless a connect came earlier. */
        if (st->u.ws.kind == SC_WS_CONNECT)
            c->ws_open = true;
        else if (!c->ws_open)
            return sc_fail(c, k, "open the connection first: - ws: { connect: /ws/path }",
                           "ws %s before any ws connect in this flow",
                           sc_ws_kinds[st->u.ws.kind]);
        return 0;
    }
}

static int sc_steps(sc_ctx *c, const yaml_node_t *seq, const char *what, sc_step **out,
                    int *nout, int depth)
{
    if (depth > SC_MAX_STEP_DEPTH)
        return sc_fail(c, seq, NULL, "steps are nested more than %d levels deep", SC_MAX_STEP_DEPTH);
    if (sc_want_list(c, seq, what, "for example:\n      - http: { url: /api/health }\n      - think: 1s"))
        return -1;
    int n = SC_NITEMS(seq);
    if (!(*out = calloc((size_t)n, sizeof **out)))
        return sc_fail(c, seq, NULL, "out of memory");
    *nout = n;
    for (int i = 0; i < n; i++)
        if (sc_parse_step(c, sc_node(c, seq->data.sequence.items.start[i]), &(*out)[i], depth))
            return -1;
    return 0;
}

static int sc_users(sc_ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = { "name", "weight", "flow" };
    scenario *sc = c->sc;
    if (sc_want_list(c, n, "'users' (the user profiles)",
                     "for example:\n  - name: browser\n    flow:\n      - http: { url: / }"))
        return -1;
    int np = SC_NITEMS(n);
    if (np > SC_MAX_PROFILES)
        return sc_fail(c, n, NULL, "more than %d user profiles", SC_MAX_PROFILES);
    if (!(sc->profiles = calloc((size_t)np, sizeof *sc->profiles)))
        return sc_fail(c, n, NULL, "out of memory");
    sc->nprofiles = np;
    uint64_t total = 0;
    for (int i = 0; i < np; i++) {
        yaml_node_t *u = sc_node(c, n->data.sequence.items.start[i]);
        sc_profile *pr = &sc->profiles[i];
        char where[64];
        snprintf(where, sizeof where, "user profile %d", i + 1);
        if (sc_tick(c, u) || sc_want_map(c, u, where) || sc_keys(c, u, "a user profile", keys, 3))
            return -1;
        yaml_node_t *v = sc_need(c, u, "name", where, "for example: - name: operator");
        if (!v || sc_text(c, v, "the profile's name", &pr->name))
            return -1;
        for (int j = 0; j < i; j++)
            if (!strcmp(sc->profiles[j].name, pr->name))
                return sc_fail(c, v, "give each profile its own name", "two user profiles are "
                               "named '%s'", pr->name);
        pr->weight = 1;
        if ((v = sc_get(c, u, "weight", NULL))) {
            long long w;
            if (sc_int(c, v, "weight", 1, SC_MAX_WEIGHT, &w))
                return -1;
            pr->weight = (uint32_t)w;
        }
        total += pr->weight;
        if (total > SC_MAX_WEIGHT)
            return sc_fail(c, v ? v : u, "weights are ratios: 50 and 5 work like 10 and 1",
                           "the profiles' weights add up to more than %u", SC_MAX_WEIGHT);
        char what[160];
        snprintf(what, sizeof what, "the flow of '%s'", pr->name);
        v = sc_need(c, u, "flow", where, "for example: flow: [ { http: { url: / } } ]");
        c->ws_open = false;
        if (!v || sc_steps(c, v, what, &pr->flow, &pr->nflow, 0))
            return -1;
    }
    sc->total_weight = (uint32_t)total;
    return 0;
}

/* Names of http steps and groups (names), and of ws connections (ws), for checking a
 * threshold's name. */
typedef struct sc_names { const char *names[1024], *ws[1024]; size_t n, nws; } sc_names;

static void sc_step_names(const sc_step *s, int n, sc_names *out)
{
    for (int i = 0; i < n; i++) {
        const char *name = s[i].kind == STEP_HTTP ? s[i].u.http.name
                         : s[i].kind == STEP_GROUP ? s[i].u.group.name : NULL;
        if (name && out->n < 1024)
            out->names[out->n++] = name;
        if (s[i].kind == STEP_WS && s[i].u.ws.kind == SC_WS_CONNECT && out->nws < 1024)
            out->ws[out->nws++] = s[i].u.ws.name;
        if (s[i].kind == STEP_LOOP)
            sc_step_names(s[i].u.loop.steps, s[i].u.loop.nsteps, out);
        if (s[i].kind == STEP_GROUP)
            sc_step_names(s[i].u.group.steps, s[i].u.group.nsteps, out);
    }
}

static bool sc_name_in(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

static int sc_thresholds(sc_ctx *c, yaml_node_t *n)
{
    scenario *sc = c->sc;
    char fb[80], msg[256], hint[160];
    if (sc_is_null(n))
        return 0;
    if (sc_want_list(c, n, "'thresholds'", "for example: thresholds: [ \"p95 < 500ms\" ]"))
        return -1;
    int nt = SC_NITEMS(n);
    if (!(sc->thresholds = calloc((size_t)nt, sizeof *sc->thresholds)))
        return sc_fail(c, n, NULL, "out of memory");
    sc_names *nm = calloc(1, sizeof *nm);
    if (!nm)
        return sc_fail(c, n, NULL, "out of memory");
    for (int i = 0; i < sc->nprofiles; i++)
        sc_step_names(sc->profiles[i].flow, sc->profiles[i].nflow, nm);
    int rc = 0;
    for (int i = 0; i < nt && rc == 0; i++) {
        yaml_node_t *t = sc_node(c, n->data.sequence.items.start[i]);
        if (sc_tick(c, t)) {
            rc = -1;
            break;
        }
        if (!sc_is_scalar(t) || sc_is_null(t)) {
            rc = sc_fail(c, t, "for example \"p95 < 500ms\" or \"login: p99 < 1s\"",
                         "expected a threshold expression, found %s", sc_found(t, fb, sizeof fb));
            break;
        }
        msg[0] = hint[0] = '\0';
        sc_threshold *th = &sc->thresholds[sc->nthresholds];
        if (scenario_parse_threshold(sc_sval(t), th, msg, sizeof msg, hint, sizeof hint)) {
            rc = sc_fail(c, t, hint[0] ? hint : NULL, "threshold \"%s\": %s", sc_sval(t), msg);
            break;
        }
        sc->nthresholds++;
        th->line = (int)t->start_mark.line + 1;
        th->col = (int)t->start_mark.column + 1;
        /* A typo in a name would silently never match: names without a space or a slash
         * are meant to be a step's, a group's or a ws connection's explicit name. A ws
         * threshold reads its connection's entries, an http one the requests'. */
        if (!th->name || strpbrk(th->name, " /"))
            continue;
        bool ws = th->ws != TH_WS_NONE || th->metric == TH_OUT_OF_ORDER;
        if (ws && !sc_name_in(th->name, nm->ws, nm->nws)) {
            const char *near = nearest_name(th->name, nm->ws, nm->nws);
            if (near)
                snprintf(hint, sizeof hint, "did you mean '%s'?", near);
            else if (sc_name_in(th->name, nm->names, nm->n))
                snprintf(hint, sizeof hint, "'%s' names http requests; leave out the ws word "
                         "for them", th->name);
            else
                snprintf(hint, sizeof hint, "name the connection with name: in its ws connect step");
            rc = sc_fail(c, t, hint, "threshold \"%s\" is about the ws connection named '%s', "
                         "but no ws connect step has that name", sc_sval(t), th->name);
        } else if (!ws && !sc_name_in(th->name, nm->names, nm->n)) {
            const char *near = nearest_name(th->name, nm->names, nm->n);
            if (near)
                snprintf(hint, sizeof hint, "did you mean '%s'?", near);
            else if (sc_name_in(th->name, nm->ws, nm->nws))
                snprintf(hint, sizeof hint, "'%s' is a ws connection: say which figure, e.g. "
                         "\"%s: message p95 < 100ms\"", th->name, th->name);
            else
                snprintf(hint, sizeof hint, "name the step with name: in its http step");
            rc = sc_fail(c, t, hint, "threshold \"%s\" is about requests named '%s', but no "
                         "http step or group has that name", sc_sval(t), th->name);
        }
    }
    free(nm);
    return rc;
}

/* Reports libyaml's own error with its place, and a hint for the common tab mistake. */
static void sc_yaml_error(sc_ctx *c, const yaml_parser_t *p)
{
    sc_error *e = c->err;
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* a reader error has only a byte offset: count lines up to it */
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
            if (c->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else {
                m.column++;
            }
        }
    }
    e->line = (int)m.line + 1;
    e->col = (int)m.column + 1;
    if (p->context)
        snprintf(e->msg, sizeof e->msg, "invalid YAML: %s (%s, which started at line %d)",
                 p->problem ? p->problem : "syntax error", p->context,
                 (int)p->context_mark.line + 1);
    else
        snprintf(e->msg, sizeof e->msg, "invalid YAML: %s", p->problem ? p->problem : "syntax error");
    /* a tab on the line libyaml stopped at, up to where it stopped, is the likely cause */
    size_t at = p->error == YAML_READER_ERROR ? p->problem_offset : m.index;
    bool tab = false;
    for (size_t i = at < c->len ? at + 1 : c->len; !tab && i > 0 && c->text[i - 1] != '\n'; i--)
        tab = c->text[i - 1] == '\t';
    if (tab)
        snprintf(e->hint, sizeof e->hint, "YAML indents with spaces only; replace the tab "
                 "characters with spaces");
    else if (p->problem && strstr(p->problem, "mapping values are not allowed"))
        snprintf(e->hint, sizeof e->hint, "a value containing ': ' must be quoted, or an "
                 "indentation is off");
}

/* ---- nesting pre-scan ---------------------------------------------------------------- */

/* libyaml's loader (and its scanner, for flow collections) costs time quadratic in the
 * nesting depth (40,000 levels: seconds). Before loading, the text is streamed through
 * libyaml's event parser, which stops at the first collection deeper than
 * SC_MAX_YAML_DEPTH: flow [ { and block levels both open a collection event, so both
 * count, and the cost stays linear in the text up to that point. A syntax error stops
 * the scan and is left to the loader to report. 0, or -1 with the error at the
 * collection that went too deep. */
static int sc_depth_scan(sc_ctx *c)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snprintf(c->err->msg, sizeof c->err->msg, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev))
            break;
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > SC_MAX_YAML_DEPTH) {
                c->err->line = (int)ev.start_mark.line + 1;
                c->err->col = (int)ev.start_mark.column + 1;
                snprintf(c->err->msg, sizeof c->err->msg, "the YAML is nested more than %d "
                         "levels deep", SC_MAX_YAML_DEPTH);
                snprintf(c->err->hint, sizeof c->err->hint, "a scenario needs far fewer "
                         "levels: is a bracket left open, or the indentation off?");
                rc = -1;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc != 0 || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- scenario_parse ---------------------------------------------------------------- */

static int sc_build(sc_ctx *c, int nsets)
{
    static const char *const top[] = { "name", "target", "defaults", "load", "data", "users",
                                       "thresholds" };
    scenario *sc = c->sc;
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root || sc_is_null(root)) {
        c->err->line = c->err->col = 0;
        snprintf(c->err->msg, sizeof c->err->msg, "the scenario is empty");
        snprintf(c->err->hint, sizeof c->err->hint, "a scenario needs at least name, load and users");
        return -1;
    }
    for (int i = 0; i < nsets; i++)
        if (sc_apply_set(c, i))
            return -1;
    root = yaml_document_get_root_node(&c->doc);
    if (sc_want_map(c, root, "the scenario") || sc_keys(c, root, "the scenario", top, 7))
        return -1;
    yaml_node_t *v = sc_need(c, root, "name", "the scenario", "add name: my-test at the top");
    if (!v || sc_text(c, v, "'name'", &sc->name))
        return -1;
    if ((v = sc_get(c, root, "target", NULL)) && sc_target(c, v))
        return -1;
    v = sc_need(c, root, "load", "the scenario",
                "for example:\nload:\n  stages:\n    - { duration: 1m, users: 10 }");
    if (!v || sc_load(c, v))
        return -1;
    if ((v = sc_get(c, root, "data", NULL)) && sc_data(c, v))
        return -1;
    yaml_node_t *users = sc_need(c, root, "users", "the scenario",
                                 "for example:\nusers:\n  - name: browser\n    flow:\n      - http: { url: / }");
    if (!users)
        return -1;
    if (users->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = users->data.sequence.items.start; it < users->data.sequence.items.top; it++) {
            yaml_node_t *u = sc_node(c, *it);
            if (u->type == YAML_MAPPING_NODE && sc_collect(c, sc_get(c, u, "flow", NULL), 0))
                return -1;
        }
    }
    if ((v = sc_get(c, root, "defaults", NULL)) && !sc_is_null(v) && sc_defaults(c, v))
        return -1;
    if (sc_users(c, users))
        return -1;
    if ((v = sc_get(c, root, "thresholds", NULL)) && sc_thresholds(c, v))
        return -1;
    if (loadshape_profile_seq(sc))
        return sc_fail(c, users, NULL, "out of memory");
    return 0;
}

scenario *scenario_parse(const char *text, size_t len, const char *file,
                         const sc_set *sets, int nsets,
                         sc_read_fn read, void *read_ud, sc_error *err)
{
    return scenario_parse_env(text, len, file, sets, nsets, read, read_ud, NULL, err);
}

scenario *scenario_parse_env(const char *text, size_t len, const char *file,
                             const sc_set *sets, int nsets, sc_read_fn read, void *read_ud,
                             const sc_env *env, sc_error *err)
{
    sc_error dummy;
    if (!err)
        err = &dummy;
    if (!text)
        text = "", len = 0;
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    scenario *sc = calloc(1, sizeof *sc);
    if (!sc || (file && !(sc->file = strdup(file)))) {
        free(sc);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    sc->default_timeout_ms = SC_DEFAULT_TIMEOUT_MS;
    sc->graceful_stop_ms = SC_DEFAULT_GRACEFUL_MS;
    sc->syms.data = &sc->data;
    if (env != NULL) {
        sc->syms.env = env->fn;
        sc->syms.env_ud = env->ud;
    }

    sc_ctx c = { .sc = sc, .err = err, .text = text, .len = len, .sets = sets,
                 .read = read, .read_ud = read_ud };
    if (sc_depth_scan(&c) != 0) {
        scenario_free(sc);
        return NULL;
    }
    yaml_parser_t parser;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        scenario_free(sc);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        sc_yaml_error(&c, &parser);
        yaml_parser_delete(&parser);
        scenario_free(sc);
        return NULL;
    }
    /* One document per file: a second one ("---") would be silently ignored. */
    yaml_document_t more;
    if (!yaml_parser_load(&parser, &more)) {
        sc_yaml_error(&c, &parser);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&more);
        if (r2 && yaml_document_get_root_node(&c.doc)) {
            err->line = (int)more.start_mark.line + 1;
            err->col = (int)more.start_mark.column + 1;
            snprintf(err->msg, sizeof err->msg, "more than one YAML document in the file");
            snprintf(err->hint, sizeof err->hint, "a scenario file holds one document; remove the '---' and what follows");
        }
        yaml_document_delete(&more);
    }
    yaml_parser_delete(&parser);
    if (!err->msg[0])
        rc = sc_build(&c, nsets);
    yaml_document_delete(&c.doc);
    free(c.setnodes);
    sc->syms.env = NULL;        /* the source is the caller's, for this parse only */
    sc->syms.env_ud = NULL;
    if (rc != 0 || err->msg[0]) {
        if (!err->msg[0])
            snprintf(err->msg, sizeof err->msg, "invalid scenario");
        scenario_free(sc);
        return NULL;
    }
    return sc;
}

scenario *scenario_load(const char *path, const sc_set *sets, int nsets, sc_error *err)
{
    char *buf = NULL, msg[256];
    size_t len = 0;
    if (sc_read_disk(path, &buf, &len, msg, sizeof msg) != 0) {
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->file, sizeof err->file, "%s", path);
            snprintf(err->msg, sizeof err->msg, "cannot read the scenario: %s", msg);
        }
        return NULL;
    }
    const sc_env env = { tmpl_env_process, NULL };
    scenario *sc = scenario_parse_env(buf, len, path, sets, nsets, NULL, NULL, &env, err);
    free(buf);
    return sc;
}

/* ---- freeing ----------------------------------------------------------------------- */

static void sc_steps_free(sc_step *s, int n);

static void sc_captures_free(sc_capture *cp, int n)
{
    for (int i = 0; i < n; i++) {
        free(cp[i].var);
        free(cp[i].expr);
        jpath_free(cp[i].path);
        capre_free(cp[i].re);
    }
    free(cp);
}

static void sc_http_fini(sc_http *h)
{
    free(h->name);
    free(h->method);
    tmpl_free(h->url);
    for (int i = 0; i < h->nheaders; i++) {
        free(h->headers[i].name);
        tmpl_free(h->headers[i].value);
    }
    free(h->headers);
    tmpl_free(h->body);
    jpath_free(h->expect.json_path);
    free(h->expect.json_path_text);
    free(h->expect.json_equals);
    free(h->expect.contains);
    sc_captures_free(h->captures, h->ncaptures);
}

static void sc_ws_fini(sc_ws *w)
{
    free(w->name);
    tmpl_free(w->url);
    for (int i = 0; i < w->nheaders; i++) {
        free(w->headers[i].name);
        tmpl_free(w->headers[i].value);
    }
    free(w->headers);
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

static void sc_steps_free(sc_step *s, int n)
{
    for (int i = 0; s && i < n; i++) {
        switch (s[i].kind) {
        case STEP_HTTP:  sc_http_fini(&s[i].u.http); break;
        case STEP_WS:    sc_ws_fini(&s[i].u.ws); break;
        case STEP_THINK: break;
        case STEP_LOOP:  sc_steps_free(s[i].u.loop.steps, s[i].u.loop.nsteps); break;
        case STEP_GROUP:
            free(s[i].u.group.name);
            sc_steps_free(s[i].u.group.steps, s[i].u.group.nsteps);
            break;
        }
    }
    free(s);
}

void scenario_free(scenario *sc)
{
    if (!sc)
        return;
    free(sc->file);
    free(sc->name);
    free(sc->target);
    for (int i = 0; i < sc->ndefault_headers; i++) {
        free(sc->default_headers[i].name);
        tmpl_free(sc->default_headers[i].value);
    }
    free(sc->default_headers);
    free(sc->stages);
    data_set_fini(&sc->data);
    for (int i = 0; i < sc->nprofiles; i++) {
        free(sc->profiles[i].name);
        sc_steps_free(sc->profiles[i].flow, sc->profiles[i].nflow);
    }
    free(sc->profiles);
    free(sc->profile_seq);
    for (int i = 0; i < sc->nthresholds; i++) {
        free(sc->thresholds[i].expr);
        free(sc->thresholds[i].name);
    }
    free(sc->thresholds);
    tmpl_syms_fini(&sc->syms);
    free(sc);
}

int sc_render_headers(const sc_header *h, int n, const char *extra, const tmpl_ctx *c,
                      char **buf, size_t *cap, const char **ptrs, int max)
{
    size_t off = 0, offs[max > 0 ? max : 1];
    int nl = 0, room = extra ? max - 1 : max;
    for (int i = 0; i < n && nl < room; i++) {
        size_t kl = strlen(h[i].name);
        if (util_reserve(buf, cap, off + kl + 3) != 0) return -1;
        memcpy(*buf + off, h[i].name, kl);
        memcpy(*buf + off + kl, ": ", 2);
        long vl = tmpl_render_at(h[i].value, c, buf, cap, off + kl + 2);
        if (vl < 0) return -1;
        offs[nl++] = off;
        off += kl + 2 + (size_t)vl + 1;
    }
    if (extra && nl < max) {
        size_t el = strlen(extra) + 1;
        if (util_reserve(buf, cap, off + el) != 0) return -1;
        memcpy(*buf + off, extra, el);
        offs[nl++] = off;
    }
    for (int i = 0; i < nl; i++) ptrs[i] = *buf + offs[i];   /* after the last growth */
    return nl;
}
