/* A virtual user's WebSocket session: see worker/wsflow.h for the contract.
 *
 * Decisions written down here:
 * - Every step end that the engine must hear about goes through f->timer made active
 *   (f->finished set), so `done` always runs from the event loop and never inside a
 *   worker/ws.h callback, where ws_connect and ws_fini are not allowed.
 * - A close the peer starts is an error of kind ws_close (detail: its code) whatever the
 *   code: the VU did not ask for it. Its code is counted under WS:c:CODE; when we close,
 *   our code is counted.
 * - A send while not connected is not counted as a message; it is an error (ws_close,
 *   "send while not connected") on the connection's entry.
 * - Message latency starts at the latest send since the last match (or at the step's
 *   start), and ends at the matching message's arrival (also for queued messages).
 * - The open model (f->open_model, issue 11): every figure is recorded with both
 *   histograms (stats_record_svc). svc is the figure the closed model records (connect
 *   time, message latency from the last unanswered send or the step's start, reconnect,
 *   fan-out, ping). lat is, for the VU's own connect (not a reconnect) and for messages,
 *   from the step's base (f->base_us, set by the engine: the arrival's intended start
 *   for the iteration's first step, else the end of the step before), so a `send` then
 *   `expect` measures the reply from the send step's base, and a queue wait before the
 *   iteration shows in its first step; it is never below svc. Other figures: lat = svc.
 * - f->failed: set by every failure or error recorded, for the engine's iteration row
 *   (it clears it when an iteration starts).
 * - Host names are resolved once per engine (blocking getaddrinfo at the first connect
 *   to that host:port) so the allow list can be checked on the address, as for HTTP. */
#include "worker/wsflow.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include "common/capture.h"
#include "common/jscan.h"
#include "common/log.h"
#include "common/time.h"
#include "common/url.h"
#include "common/util.h"
#include "worker/allow.h"
#include "worker/check.h"

#define WSF_REC_HDR (4 + 1 + 8)     /* inbox record: u32 len, u8 op, u64 arrival_us */

static void wsf_on_open(ws_conn *c, uint64_t connect_us);
static void wsf_on_message(ws_conn *c, ws_opcode op, const uint8_t *data, size_t len);
static void wsf_on_pong(ws_conn *c, uint64_t rtt_us);
static void wsf_on_close(ws_conn *c, uint16_t code, const char *reason);
static void wsf_on_error(ws_conn *c, ws_err_kind kind, const char *detail);
static uint32_t wsf_id(stats_shard *sh, const char *method, const char *name);

static const ws_callbacks wsf_callbacks = {
    .on_open = wsf_on_open, .on_message = wsf_on_message, .on_pong = wsf_on_pong,
    .on_close = wsf_on_close, .on_error = wsf_on_error,
};

/* --- small helpers ------------------------------------------------------------------ */

/* Decodes base64 (standard alphabet, padding optional, whitespace skipped) in place.
 * Returns the decoded length, or -1 on a character outside the alphabet. The caller's
 * error detail is fixed text: the payload may hold an env() value, so neither the
 * character nor its position is reported. */
static long wsf_base64_decode(char *s, size_t len)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        int v;
        if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
        else if (ch == '+' || ch == '-') v = 62;
        else if (ch == '/' || ch == '_') v = 63;
        else if (ch == '=' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
        else return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s[out++] = (char)((acc >> bits) & 0xFF);
        }
    }
    return (long)out;
}

static stats_err_kind wsf_kind(ws_err_kind k)
{
    switch (k) {
    case WS_ERR_CONNECT:  return ERR_CONNECT;
    case WS_ERR_TLS:      return ERR_TLS;
    case WS_ERR_UPGRADE:  return ERR_WS_UPGRADE;
    case WS_ERR_PROTOCOL: return ERR_WS_PROTOCOL;
    case WS_ERR_TIMEOUT:  return ERR_TIMEOUT;
    case WS_ERR_CLOSED:   return ERR_WS_CLOSE;
    }
    return ERR_OTHER;
}

/* Records a figure: svc as the closed model would (see the decisions above); in the open
 * model also lat, from f->base_us to now when from_base. */
static void wsf_rec(wsflow *f, uint32_t id, bool from_base, uint64_t now, uint64_t svc,
                    uint64_t bytes, bool failed)
{
    if (failed) f->failed = true;
    if (!f->open_model) {
        stats_record(f->env->shard, id, svc, bytes, failed);
        return;
    }
    uint64_t lat = svc;
    if (from_base && now > f->base_us && now - f->base_us > lat) lat = now - f->base_us;
    stats_record_svc(f->env->shard, id, lat, svc, bytes, failed);
}

static void wsf_error(wsflow *f, stats_shard *sh, uint32_t id, stats_err_kind kind,
                      const char *detail)
{
    f->failed = true;
    stats_error(sh, id, kind, detail);
}

static void wsf_count_close(wsflow *f, unsigned code)
{
    if (!f->cstep) return;
    char m[STATS_METHOD_MAX];
    snprintf(m, sizeof m, STATS_WS_CLOSE_PREFIX "%u", code > 9999 ? 9999 : code);
    stats_count(f->env->shard, wsf_id(f->env->shard, m, f->cstep->name), 0, false);
}

/* Ends the waiting step: `done` runs from the loop (see the decisions above). */
static void wsf_finish(wsflow *f)
{
    f->wait = WSF_W_NONE;
    f->wstep = NULL;
    f->finished = true;
    event_del(&f->timer);
    event_active(&f->timer, EV_TIMEOUT, 1);
}

static void wsf_sample(wsflow *f, uint64_t lat)
{
    if (f->env->sample_log && f->cstep)
        fprintf(f->env->sample_log, "WS\t%s\t%llu\n", f->cstep->name, (unsigned long long)lat);
}

/* Records the failure of the waiting expect/receive and clears the wait. */
static void wsf_fail_record(wsflow *f, stats_err_kind kind, const char *detail)
{
    uint64_t now = time_mono_us();
    wsf_rec(f, f->id_msg, true, now, now > f->ref_us ? now - f->ref_us : 0, 0, true);
    wsf_error(f, f->env->shard, f->id_msg, kind, detail);
    f->last_send_us = 0;
    f->wait = WSF_W_NONE;
    f->wstep = NULL;
}

/* The waiting expect/receive failed now (connection gone): recorded, then ended. */
static void wsf_fail_wait(wsflow *f, stats_err_kind kind, const char *detail)
{
    wsf_fail_record(f, kind, detail);
    wsf_finish(f);
}

/* --- matching ------------------------------------------------------------------------ */

/* The message as a NUL-terminated string in scratch (a regex wants one). */
static const char *wsf_cstr(wsflow *f, const uint8_t *data, size_t len)
{
    if (util_reserve(&f->scratch, &f->scratch_cap, len + 1) != 0) return NULL;
    memcpy(f->scratch, data, len);
    f->scratch[len] = 0;
    return f->scratch;
}

static bool wsf_has(const char *hay, size_t hl, const char *needle, size_t nl)
{
    if (nl == 0) return true;
    return hl >= nl && memmem(hay, hl, needle, nl) != NULL;
}

enum { WSF_EQ, WSF_CO, WSF_JE };

/* Renders m's texts into x, once per expect or listen step (not per message). 0 or -1
 * (ENOMEM). */
static int wsf_render_match(wsflow *f, const sc_ws_match *m, wsf_texts *x)
{
    size_t off = 0;
    const tmpl *t[3] = { [WSF_EQ] = m->equals, [WSF_CO] = m->contains, [WSF_JE] = m->json_equals };
    for (int i = 0; i < 3; i++) {
        x->off[i] = (size_t)-1;
        x->len[i] = 0;
        if (!t[i]) continue;
        long n = tmpl_render_at(t[i], &f->ctx, &x->buf, &x->cap, off);
        if (n < 0) return -1;
        x->off[i] = off;
        x->len[i] = (size_t)n;
        off += (size_t)n + 1;
    }
    return 0;
}

/* Does the message match m, whose texts x holds? */
static bool wsf_match(wsflow *f, const sc_ws_match *m, const wsf_texts *x, const uint8_t *data, size_t len)
{
    const char *d = (const char *)data;
    if (x->off[WSF_EQ] != (size_t)-1 &&
        (len != x->len[WSF_EQ] || memcmp(d, x->buf + x->off[WSF_EQ], len) != 0))
        return false;
    if (x->off[WSF_CO] != (size_t)-1 && !wsf_has(d, len, x->buf + x->off[WSF_CO], x->len[WSF_CO]))
        return false;
    if (m->json) {
        jscan_val v;
        if (jscan_find(m->json, d, len, &v) != 1) return false;
        if (x->off[WSF_JE] != (size_t)-1 &&
            !jscan_text_equals(&v, x->buf + x->off[WSF_JE], x->len[WSF_JE]))
            return false;
    }
    if (m->regex) {
        const char *s = wsf_cstr(f, data, len);
        if (!s || capre_match(m->regex, s, &f->rx) != 0) return false;
    }
    return true;
}

/* Runs the captures of w over the message (worker/check.h, as for an HTTP response).
 * NULL, or the variable that failed. */
static const char *wsf_capture(wsflow *f, const sc_ws *w, const uint8_t *data, size_t len)
{
    if (w->ncaptures == 0) return NULL;
    bool regex = false;
    for (int i = 0; i < w->ncaptures; i++) regex = regex || w->captures[i].kind == CAP_REGEX;
    /* a regex reads a NUL-terminated copy; JSON reads the message where it is */
    const char *body = regex ? wsf_cstr(f, data, len) : (const char *)data;
    if (!body) return w->captures[0].var;
    check_input in = { .body = body, .len = len };
    return check_captures(w->captures, w->ncaptures, &in, f->vars);
}

/* Offers a message to the waiting expect/receive. true when the step is over. */
static bool wsf_offer(wsflow *f, const uint8_t *data, size_t len, uint64_t arrival_us)
{
    stats_shard *sh = f->env->shard;
    if (f->wait == WSF_W_RECEIVE) {
        if (f->left > 0) f->left--;
        if (f->left > 0) return false;
    } else if (f->wait == WSF_W_EXPECT) {
        if (!wsf_match(f, &f->wstep->match, &f->em, data, len)) return false;     /* dropped */
        const char *bad = wsf_capture(f, f->wstep, data, len);
        if (bad) {
            char detail[STATS_DETAIL_MAX];
            snprintf(detail, sizeof detail, "capture %.40s", bad);
            wsf_rec(f, f->id_msg, true, arrival_us,
                    arrival_us > f->ref_us ? arrival_us - f->ref_us : 0, len, true);
            wsf_error(f, sh, f->id_msg, ERR_EXPECT, detail);
            f->last_send_us = 0;
            return true;
        }
    } else {
        return false;
    }
    uint64_t lat = arrival_us > f->ref_us ? arrival_us - f->ref_us : 0;
    wsf_rec(f, f->id_msg, true, arrival_us, lat, len, false);
    wsf_sample(f, lat);
    f->last_send_us = 0;
    return true;
}

/* A message nobody waits for, while listening. */
static void wsf_listen_take(wsflow *f, const uint8_t *data, size_t len)
{
    const sc_ws *l = f->lstep;
    if (!l) return;
    if (wsf_match(f, &l->match, &f->lm, data, len)) (void)wsf_capture(f, l, data, len);
}

/* --- inbox ---------------------------------------------------------------------------- */

static void wsf_inbox_clear(wsflow *f)
{
    f->inbox_head = f->inbox_tail = 0;
    f->inbox_n = 0;
}

/* Removes the oldest record. */
static void wsf_inbox_pop(wsflow *f, const uint8_t **data, uint32_t *len, uint64_t *arrival)
{
    uint8_t *r = f->inbox + f->inbox_head;
    uint32_t l;
    uint64_t a;
    memcpy(&l, r, 4);
    memcpy(&a, r + 5, 8);
    *data = r + WSF_REC_HDR;
    *len = l;
    *arrival = a;
    f->inbox_head += WSF_REC_HDR + l;
    f->inbox_n--;
}

static void wsf_inbox_push(wsflow *f, ws_opcode op, const uint8_t *data, size_t len, uint64_t now)
{
    while (f->inbox_n > 0 && (f->inbox_n >= WSF_INBOX_MAX ||
                              f->inbox_tail - f->inbox_head + len > WSF_INBOX_BYTES)) {
        const uint8_t *d;
        uint32_t l;
        uint64_t a;
        wsf_inbox_pop(f, &d, &l, &a);
        wsf_error(f, f->env->shard, f->id_conn, ERR_OTHER, "inbox full: message dropped");
    }
    if (f->inbox_n == 0) f->inbox_head = f->inbox_tail = 0;
    if (len > WSF_INBOX_BYTES) {
        wsf_error(f, f->env->shard, f->id_conn, ERR_OTHER, "inbox full: message dropped");
        return;
    }
    if (f->inbox_head > 0 && f->inbox_tail + WSF_REC_HDR + len > f->inbox_cap) {
        memmove(f->inbox, f->inbox + f->inbox_head, f->inbox_tail - f->inbox_head);
        f->inbox_tail -= f->inbox_head;
        f->inbox_head = 0;
    }
    char *buf = (char *)f->inbox;
    if (util_reserve(&buf, &f->inbox_cap, f->inbox_tail + WSF_REC_HDR + len) != 0) {
        wsf_error(f, f->env->shard, f->id_conn, ERR_OTHER, "out of memory: message dropped");
        return;
    }
    f->inbox = (uint8_t *)buf;
    uint8_t *r = f->inbox + f->inbox_tail;
    uint32_t l = (uint32_t)len;
    uint8_t o = (uint8_t)op;
    memcpy(r, &l, 4);
    memcpy(r + 4, &o, 1);
    memcpy(r + 5, &now, 8);
    if (len) memcpy(r + WSF_REC_HDR, data, len);
    f->inbox_tail += WSF_REC_HDR + len;
    f->inbox_n++;
}

/* --- connecting ------------------------------------------------------------------------ */

static struct ssl_ctx_st *wsf_ssl(wsf_env *env)
{
    if (env->ssl) return env->ssl;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    if (env->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_default_verify_paths(ctx);
    }
    env->ssl = ctx;
    return ctx;
}

/* The address for url's host:port (cached per engine); -1 with a message. */
static int wsf_resolve(wsf_env *env, const char *url, const struct sockaddr **sa, int *salen,
                       bool *tls, char *err, size_t cap)
{
    /* host and port read by the rule the allowlist read the plan's URLs by */
    url_parts u;
    url_err ue = url_authority(url, &u);
    if (ue == URL_ERR_SCHEME) {
        snprintf(err, cap, "bad URL");
        return -1;
    }
    *tls = u.scheme_len == 3 && !strncasecmp(u.scheme, "wss", 3);
    int port = u.port_num >= 0 && u.port_len > 0 ? u.port_num : *tls ? 443 : 80;
    bool v6 = ue == URL_OK && !u.templated && memchr(u.host, ':', u.host_len) != NULL;
    char key[sizeof env->hosts[0].key];
    if (ue != URL_OK || u.templated || u.host_len + (v6 ? 2 : 0) > WS_MAX_HOST ||
        snprintf(key, sizeof key, "%s%.*s%s:%d", v6 ? "[" : "", (int)u.host_len, u.host,
                 v6 ? "]" : "", port) >= (int)sizeof key) {
        snprintf(err, cap, "bad host");
        return -1;
    }
    for (int i = 0; i < env->nhosts; i++) {
        if (!strcmp(env->hosts[i].key, key)) {
            *sa = (const struct sockaddr *)&env->hosts[i].addr;
            *salen = env->hosts[i].addrlen;
            return 0;
        }
    }
    char h[WS_MAX_HOST + 1], ps[16];
    snprintf(h, sizeof h, "%.*s", (int)u.host_len, u.host);
    snprintf(ps, sizeof ps, "%d", port);
    struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                     .ai_flags = EVUTIL_AI_ADDRCONFIG }, *res = NULL;
    int rv = evutil_getaddrinfo(h, ps, &hints, &res);
    if (rv != 0 || !res) {
        snprintf(err, cap, "cannot resolve %.100s", h);
        return -1;
    }
    wsf_host *slot = &env->hosts[env->nhosts < WSF_HOST_CACHE ? env->nhosts++ : WSF_HOST_CACHE - 1];
    snprintf(slot->key, sizeof slot->key, "%s", key);
    memcpy(&slot->addr, res->ai_addr, res->ai_addrlen);
    slot->addrlen = (int)res->ai_addrlen;
    evutil_freeaddrinfo(res);
    *sa = (const struct sockaddr *)&slot->addr;
    *salen = slot->addrlen;
    return 0;
}

/* Dials the rendered url/headers. 0 when a connection attempt is under way; -1 when it
 * failed at once (recorded). */
static int wsf_dial(wsflow *f)
{
    stats_shard *sh = f->env->shard;
    const sc_ws *w = f->cstep;
    char err[160];
    const struct sockaddr *sa = NULL;
    int salen = 0;
    bool tls = false;
    f->opened = false;
    f->open_started_us = time_mono_us();
    if (wsf_resolve(f->env, f->url, &sa, &salen, &tls, err, sizeof err) != 0) {
        wsf_rec(f, f->id_conn, !f->reconnecting, time_mono_us(), 0, 0, true);
        wsf_error(f, sh, f->id_conn, ERR_CONNECT, err);
        return -1;
    }
    if (f->env->allow && !allow_addr(f->env->allow, sa)) {
        wsf_rec(f, f->id_conn, !f->reconnecting, time_mono_us(), 0, 0, true);
        wsf_error(f, sh, f->id_conn, ERR_CONNECT, "target outside the worker's --allow");
        return -1;
    }
    ws_opts o = { .headers = f->hptr, .nheaders = f->nh, .subprotocol = w->subprotocol,
                  .ssl_ctx = tls ? wsf_ssl(f->env) : NULL, .addr = sa, .addrlen = salen,
                  .timeout_ms = w->timeout_ms, .cb = &wsf_callbacks, .ud = f,
                  .live = &f->env->conns };
    if (ws_connect(&f->conn, f->env->base, f->url, &o, err, sizeof err) != 0) {
        wsf_rec(f, f->id_conn, !f->reconnecting, time_mono_us(), 0, 0, true);
        wsf_error(f, sh, f->id_conn, ERR_OTHER, err);
        return -1;
    }
    return 0;
}

/* Renders the connect step's URL and headers into f's buffers. 0 or -1 (ENOMEM). */
static int wsf_render_connect(wsflow *f, const sc_ws *w)
{
    /* joined to the target by the rule the allowlist checked the plan by */
    size_t room = url_join_room(f->env->target);
    long n = tmpl_render_at(w->url, &f->ctx, &f->url, &f->url_cap, room);
    if (n < 0) return -1;
    url_join_at(URL_WS, f->env->target, f->url, room, (size_t)n);
    int nh = sc_render_headers(w->headers, w->nheaders, NULL, &f->ctx, &f->hbuf, &f->hbuf_cap,
                               f->hptr, (int)(sizeof f->hptr / sizeof f->hptr[0]));
    if (nh < 0) return -1;
    f->nh = nh;
    return 0;
}

static void wsf_schedule_retry(wsflow *f)
{
    uint64_t ms = f->backoff_ms;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    event_add(&f->retry, &tv);
}

/* The connection ended without the VU asking (peer close, drop, failed reconnect). */
static void wsf_lost(wsflow *f)
{
    event_del(&f->ping);
    const sc_ws *w = f->cstep;
    if (w && w->reconnect_max > 0 && f->attempts < w->reconnect_max) {
        if (!f->reconnecting) {
            f->reconnecting = true;
            f->lost_us = time_mono_us();
            f->backoff_ms = w->reconnect_backoff_ms;
        } else {
            f->backoff_ms = f->backoff_ms * 2 > WSF_BACKOFF_CAP_MS ? WSF_BACKOFF_CAP_MS : f->backoff_ms * 2;
        }
        wsf_schedule_retry(f);
        return;
    }
    f->reconnecting = false;
    if (f->wait == WSF_W_EXPECT || f->wait == WSF_W_RECEIVE)
        wsf_fail_wait(f, ERR_WS_CLOSE, "connection closed while waiting");
}

static void wsf_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    wsflow *f = arg;
    if (!f->reconnecting || f->conn.state != WS_IDLE) return;
    f->attempts++;
    if (wsf_dial(f) != 0) wsf_lost(f);
}

static void wsf_ping_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    wsflow *f = arg;
    if (f->conn.state == WS_OPEN) ws_ping(&f->conn);
}

/* Step deadline, or the kick that ends a step. */
static void wsf_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    wsflow *f = arg;
    if (!f->finished) {
        /* the deadline: end the step here and now (no kick: the next step may re-arm
         * this very event from inside `done`) */
        if (f->wait != WSF_W_EXPECT && f->wait != WSF_W_RECEIVE) return;
        wsf_fail_record(f, ERR_TIMEOUT, f->wait == WSF_W_EXPECT ? "expect" : "receive");
    }
    f->finished = false;
    f->env->done(f->vu);
}

/* --- connection callbacks --------------------------------------------------------------- */

static void wsf_on_open(ws_conn *c, uint64_t connect_us)
{
    wsflow *f = c->opts.ud;
    f->opened = true;
    wsf_rec(f, f->id_conn, !f->reconnecting, time_mono_us(), connect_us, 0, false);
    if (f->reconnecting) {
        wsf_rec(f, f->id_reconn, false, 0, time_mono_us() - f->lost_us, 0, false);
        f->reconnecting = false;
    }
    f->attempts = 0;
    if (f->cstep && f->cstep->ping_ms) {
        uint64_t ms = f->cstep->ping_ms;
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
        event_add(&f->ping, &tv);
    }
    if (f->wait == WSF_W_CONNECT) wsf_finish(f);
}

static void wsf_on_message(ws_conn *c, ws_opcode op, const uint8_t *data, size_t len)
{
    wsflow *f = c->opts.ud;
    stats_shard *sh = f->env->shard;
    const sc_ws *w = f->cstep;
    uint64_t now = time_mono_us();
    stats_count(sh, f->id_recv, len, false);
    if (w && w->stamp) {
        jscan_val v;
        int64_t st;
        if (jscan_find(w->stamp, (const char *)data, len, &v) == 1 && jscan_int(&v, &st) == 0) {
            uint64_t wall = time_wall_us();
            wsf_rec(f, f->id_fanout, false, 0, st > 0 && (uint64_t)st < wall ? wall - (uint64_t)st : 0,
                    0, false);
        }
    }
    if (w && w->sequence) {
        jscan_val v;
        int64_t seq;
        if (jscan_find(w->sequence, (const char *)data, len, &v) == 1 && jscan_int(&v, &seq) == 0) {
            bool ooo = f->seq_seen && seq < f->seq_max;
            if (!f->seq_seen || seq > f->seq_max) f->seq_max = seq;
            f->seq_seen = true;
            stats_count(sh, f->id_order, 0, ooo);
        }
    }
    if (f->wait == WSF_W_EXPECT || f->wait == WSF_W_RECEIVE) {
        if (wsf_offer(f, data, len, now)) wsf_finish(f);
    } else if (f->listening) {
        wsf_listen_take(f, data, len);
    } else {
        wsf_inbox_push(f, op, data, len, now);
    }
}

static void wsf_on_pong(ws_conn *c, uint64_t rtt_us)
{
    wsflow *f = c->opts.ud;
    wsf_rec(f, f->id_ping, false, 0, rtt_us, 0, false);
}

/* The connection is gone (terminal callback): what the VU asked for, or a loss. */
static void wsf_gone(wsflow *f)
{
    event_del(&f->ping);
    if (f->user_close) {
        f->user_close = false;
        if (f->wait == WSF_W_CLOSE) wsf_finish(f);
        if (f->releasing) {
            f->releasing = false;
            f->env->released(f->vu);
        }
        return;
    }
    wsf_lost(f);
}

static void wsf_on_close(ws_conn *c, uint16_t code, const char *reason)
{
    (void)reason;
    wsflow *f = c->opts.ud;
    if (f->user_close) {
        wsf_count_close(f, c->close_code_sent ? c->close_code_sent : code);
    } else {
        char d[16];
        snprintf(d, sizeof d, "%u", (unsigned)code);
        wsf_count_close(f, code);
        wsf_error(f, f->env->shard, f->id_conn, ERR_WS_CLOSE, d);
    }
    wsf_gone(f);
}

static void wsf_on_error(ws_conn *c, ws_err_kind kind, const char *detail)
{
    wsflow *f = c->opts.ud;
    stats_shard *sh = f->env->shard;
    if (!f->opened) {
        /* the attempt failed: connect, TLS, upgrade refused, timeout */
        uint64_t now = time_mono_us();
        wsf_rec(f, f->id_conn, !f->reconnecting, now, now - f->open_started_us, 0, true);
        wsf_error(f, sh, f->id_conn, wsf_kind(kind), kind == WS_ERR_UPGRADE ? detail : ws_err_name(kind));
        if (f->wait == WSF_W_CONNECT) {
            wsf_finish(f);
            return;
        }
        if (f->releasing || f->user_close) {
            wsf_gone(f);
            return;
        }
        if (f->reconnecting) wsf_lost(f);
        return;
    }
    if (kind == WS_ERR_CLOSED) {
        wsf_count_close(f, 1006);
        wsf_error(f, sh, f->id_conn, ERR_WS_CLOSE, "1006");
    } else {
        if (c->close_code_sent) wsf_count_close(f, c->close_code_sent);
        wsf_error(f, sh, f->id_conn, wsf_kind(kind), kind == WS_ERR_TIMEOUT ? "close handshake" : detail);
    }
    wsf_gone(f);
}

/* --- steps ---------------------------------------------------------------------------- */

/* Entry id of (method, name); past the name cap WebSocket figures are not recorded
 * (an id the shard ignores) rather than folded into the overflow entry, which counts
 * as HTTP. The shard still counts the folded name (names_folded). */
static uint32_t wsf_id(stats_shard *sh, const char *method, const char *name)
{
    uint32_t id = stats_id(sh, method, name);
    return sh->overflow_id >= 0 && id == (uint32_t)sh->overflow_id ? UINT32_MAX : id;
}

static void wsf_resolve_ids(wsflow *f, const char *name)
{
    stats_shard *sh = f->env->shard;
    f->id_msg = wsf_id(sh, STATS_WS_MESSAGE, name);
    f->id_conn = wsf_id(sh, STATS_WS_CONNECT, name);
    f->id_reconn = wsf_id(sh, STATS_WS_RECONNECT, name);
    f->id_fanout = wsf_id(sh, STATS_WS_FANOUT, name);
    f->id_ping = wsf_id(sh, STATS_WS_PING, name);
    f->id_sent = wsf_id(sh, STATS_WS_SENT, name);
    f->id_recv = wsf_id(sh, STATS_WS_RECV, name);
    f->id_order = wsf_id(sh, STATS_WS_ORDER, name);
}

static void wsf_arm_timer(wsflow *f, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    event_add(&f->timer, &tv);
}

static wsf_rc wsf_connect(wsflow *f, const sc_ws *w)
{
    /* a new connection replaces the old one (see common/scenario.h); one still closing
     * after wsflow_release (the open model's stop_user ends a session, then the user
     * takes its next arrival) is dropped, and the engine told it is gone */
    event_del(&f->retry);
    event_del(&f->ping);
    if (f->releasing) {
        f->releasing = false;
        f->env->released(f->vu);
    }
    if (f->conn.state != WS_IDLE) ws_fini(&f->conn);
    f->cstep = w;
    f->reconnecting = false;
    f->attempts = 0;
    f->seq_seen = false;
    f->listening = false;
    f->lstep = NULL;
    f->user_close = false;
    f->last_send_us = 0;
    wsf_inbox_clear(f);
    wsf_resolve_ids(f, w->name);
    if (wsf_render_connect(f, w) != 0) {
        wsf_rec(f, f->id_conn, true, time_mono_us(), 0, 0, true);
        wsf_error(f, f->env->shard, f->id_conn, ERR_OTHER, "out of memory");
        return WSF_NEXT;
    }
    if (wsf_dial(f) != 0) return WSF_NEXT;
    f->wait = WSF_W_CONNECT;
    return WSF_WAIT;
}

static wsf_rc wsf_send(wsflow *f, const sc_ws *w)
{
    stats_shard *sh = f->env->shard;
    if (f->conn.state != WS_OPEN) {
        wsf_error(f, sh, f->id_conn, ERR_WS_CLOSE, "send while not connected");
        return WSF_NEXT;
    }
    long n = tmpl_render_at(w->message, &f->ctx, &f->scratch, &f->scratch_cap, 0);
    if (n < 0) {
        wsf_error(f, sh, f->id_conn, ERR_OTHER, "out of memory");
        return WSF_NEXT;
    }
    ws_opcode op = WS_OP_TEXT;
    if (w->payload == SC_WS_BINARY) {
        n = wsf_base64_decode(f->scratch, (size_t)n);
        if (n < 0) {
            wsf_error(f, sh, f->id_conn, ERR_OTHER, "send: binary is not base64");
            return WSF_NEXT;
        }
        op = WS_OP_BINARY;
    }
    if (ws_send(&f->conn, op, f->scratch, (size_t)n) != 0) {
        wsf_error(f, sh, f->id_conn, ERR_OTHER, "send refused");
        return WSF_NEXT;
    }
    stats_count(sh, f->id_sent, (uint64_t)n, false);
    f->last_send_us = time_mono_us();
    return WSF_NEXT;
}

static wsf_rc wsf_wait_messages(wsflow *f, const sc_ws *w)
{
    uint64_t now = time_mono_us();
    f->wstep = w;
    f->wait = w->kind == SC_WS_EXPECT ? WSF_W_EXPECT : WSF_W_RECEIVE;
    f->left = w->count;
    f->ref_us = f->last_send_us ? f->last_send_us : now;
    if (f->wait == WSF_W_EXPECT && wsf_render_match(f, &w->match, &f->em) != 0) {
        wsf_rec(f, f->id_msg, true, time_mono_us(), 0, 0, true);
        wsf_error(f, f->env->shard, f->id_msg, ERR_OTHER, "out of memory");
        f->wait = WSF_W_NONE;
        return WSF_NEXT;
    }
    while (f->inbox_n > 0) {
        const uint8_t *d;
        uint32_t l;
        uint64_t a;
        wsf_inbox_pop(f, &d, &l, &a);
        if (wsf_offer(f, d, l, a)) {
            f->wait = WSF_W_NONE;
            f->wstep = NULL;
            return WSF_NEXT;
        }
    }
    if (f->conn.state == WS_IDLE && !f->reconnecting) {
        wsf_rec(f, f->id_msg, true, time_mono_us(), 0, 0, true);
        wsf_error(f, f->env->shard, f->id_msg, ERR_WS_CLOSE, "not connected");
        f->wait = WSF_W_NONE;
        f->wstep = NULL;
        f->last_send_us = 0;
        return WSF_NEXT;
    }
    wsf_arm_timer(f, w->timeout_ms);
    return WSF_WAIT;
}

static wsf_rc wsf_close(wsflow *f, const sc_ws *w)
{
    event_del(&f->ping);
    event_del(&f->retry);
    f->reconnecting = false;
    if (f->conn.state == WS_OPEN) {
        f->user_close = true;
        if (ws_close(&f->conn, w->code ? w->code : 1000, NULL) == 0) {
            f->wait = WSF_W_CLOSE;
            return WSF_WAIT;
        }
        f->user_close = false;
    }
    if (f->conn.state != WS_IDLE) ws_fini(&f->conn);
    return WSF_NEXT;
}

static wsf_rc wsf_listen(wsflow *f, const sc_ws *w)
{
    f->listening = w->listen;
    bool mapping = w->match.equals || w->match.contains || w->match.json || w->match.regex ||
                   w->ncaptures > 0;
    f->lstep = w->listen && mapping ? w : NULL;
    if (f->lstep && wsf_render_match(f, &w->match, &f->lm) != 0) {
        wsf_error(f, f->env->shard, f->id_conn, ERR_OTHER, "out of memory");
        f->lstep = NULL;
    }
    while (f->listening && f->inbox_n > 0) {
        const uint8_t *d;
        uint32_t l;
        uint64_t a;
        wsf_inbox_pop(f, &d, &l, &a);
        wsf_listen_take(f, d, l);
    }
    return WSF_NEXT;
}

/* --- public ---------------------------------------------------------------------------- */

void wsf_env_fini(wsf_env *env)
{
    if (env->ssl) SSL_CTX_free(env->ssl);
    env->ssl = NULL;
}

void wsflow_init(wsflow *f, wsf_env *env, void *vu)
{
    memset(f, 0, sizeof *f);
    ws_init(&f->conn);
    f->env = env;
    f->vu = vu;
    event_assign(&f->timer, env->base, -1, 0, wsf_timer_cb, f);
    event_assign(&f->retry, env->base, -1, 0, wsf_retry_cb, f);
    event_assign(&f->ping, env->base, -1, EV_PERSIST, wsf_ping_cb, f);
}

wsf_rc wsflow_step(wsflow *f, const sc_step *s, const tmpl_ctx *ctx, tmpl_val *vars)
{
    const sc_ws *w = &s->u.ws;
    f->ctx = *ctx;
    f->vars = vars;
    if (w->kind != SC_WS_CONNECT && !f->cstep) return WSF_NEXT;     /* the parser prevents it */
    switch (w->kind) {
    case SC_WS_CONNECT: return wsf_connect(f, w);
    case SC_WS_SEND:    return wsf_send(f, w);
    case SC_WS_EXPECT:
    case SC_WS_RECEIVE: return wsf_wait_messages(f, w);
    case SC_WS_CLOSE:   return wsf_close(f, w);
    case SC_WS_LISTEN:  return wsf_listen(f, w);
    }
    return WSF_NEXT;
}

bool wsflow_release(wsflow *f)
{
    if (f->releasing) return false;     /* a release under way is told (and counted) once */
    event_del(&f->retry);
    event_del(&f->ping);
    f->reconnecting = false;
    if (f->conn.state == WS_OPEN && !f->user_close) {
        f->user_close = f->releasing = true;
        if (ws_close(&f->conn, 1001, NULL) == 0) return true;
        f->user_close = f->releasing = false;
    }
    if (f->conn.state == WS_CLOSING && f->user_close) {
        f->releasing = true;        /* a close step's handshake under way: wait for it */
        return true;
    }
    if (f->conn.state != WS_IDLE) ws_fini(&f->conn);
    return false;
}

bool wsflow_cancel(wsflow *f)
{
    bool had = f->wait != WSF_W_NONE;
    event_del(&f->timer);
    event_del(&f->retry);
    event_del(&f->ping);
    f->finished = false;
    f->wait = WSF_W_NONE;
    f->wstep = NULL;
    f->reconnecting = false;
    f->user_close = f->releasing = false;
    if (f->conn.state != WS_IDLE) ws_fini(&f->conn);
    return had;
}

void wsflow_fini(wsflow *f)
{
    wsflow_cancel(f);
    free(f->url);
    free(f->hbuf);
    free(f->em.buf);
    free(f->lm.buf);
    free(f->scratch);
    free(f->inbox);
    tmpl_val_fini(&f->rx);
    memset(f, 0, sizeof *f);
}

size_t wsflow_bytes(const wsflow *f)
{
    return sizeof *f + f->url_cap + f->hbuf_cap + f->em.cap + f->lm.cap + f->scratch_cap +
           f->inbox_cap + f->rx.cap;
}
