/* WebSocket client connection (see ws.h for the contract).
 *
 * Event order: ws_connect writes the upgrade request into the bufferevent's output
 * before the TCP connect completes (libevent sends it once connected) and arms the
 * deadline; ws_read_cb checks the answer with ws_handshake_check, then creates the
 * wslay context and hands every later byte to wslay (ws_pump); ws_write_cb resumes
 * wslay when the output drained; ws_event_cb turns EOF and errors into one terminal
 * callback. Terminal callbacks are always the last statement of a libevent callback
 * (ws_finish), so the user may free the connection inside them. */
#include "worker/ws.h"
#include "common/hdrblock.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "common/time.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_REQ_HEADER 4096            /* one extra request header, bytes */

const char *ws_err_name(ws_err_kind k)
{
    switch (k) {
    case WS_ERR_CONNECT: return "connect";
    case WS_ERR_TLS: return "tls";
    case WS_ERR_UPGRADE: return "upgrade";
    case WS_ERR_PROTOCOL: return "protocol";
    case WS_ERR_TIMEOUT: return "timeout";
    case WS_ERR_CLOSED: return "closed";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------------- */
/* Pure helpers                                                                     */

static void ws_seterr(char *err, size_t cap, const char *fmt, const char *a)
{
    if (err && cap > 0)
        snprintf(err, cap, fmt, a);
}

void ws_accept_for_key(const char *key, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (!mc || EVP_DigestInit_ex(mc, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(mc, key, strlen(key)) != 1 ||
        EVP_DigestUpdate(mc, WS_GUID, sizeof WS_GUID - 1) != 1 ||
        EVP_DigestFinal_ex(mc, md, &mdlen) != 1)
        memset(md, 0, sizeof md);           /* cannot match any server's answer */
    EVP_MD_CTX_free(mc);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH); /* NUL-terminates */
}

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (b >= 0xC2 && b <= 0xDF) {
            n = 1, cp = b & 0x1F, min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2, cp = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return false;                   /* continuation byte, C0/C1, F5..FF */
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            uint8_t cb = s[i + k];
            if ((cb & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cb & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Case-insensitive search for token tok in a comma-separated list v[0..n). */
static bool ws_has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0, k;
    const char *t;
    while (hdr_token_next(v, n, &i, &t, &k))
        if (k == tl && strncasecmp(t, tok, tl) == 0)
            return true;
    return false;
}

static bool ws_name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

int ws_handshake_status(const char *resp, size_t len)
{
    /* "HTTP/1.x SP DDD" then SP or CRLF */
    if (len < 13 || memcmp(resp, "HTTP/1.", 7) != 0 || (resp[7] != '0' && resp[7] != '1') ||
        resp[8] != ' ')
        return 0;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (resp[i] < '0' || resp[i] > '9')
            return 0;
        st = st * 10 + (resp[i] - '0');
    }
    if (resp[12] != ' ' && resp[12] != '\r')
        return 0;
    return st >= 100 ? st : 0;
}

int ws_handshake_check(const char *resp, size_t len, const char *key, const char *subproto,
                       size_t *consumed, char *err, size_t errcap)
{
    *consumed = 0;
    size_t scan = len < WS_MAX_HDR_BYTES ? len : WS_MAX_HDR_BYTES;
    const char *end = memmem(resp, scan, "\r\n\r\n", 4);
    if (!end) {
        if (len >= WS_MAX_HDR_BYTES) {
            ws_seterr(err, errcap, "upgrade answer headers exceed %s bytes", "16384");
            return -1;
        }
        return 0;
    }
    size_t hlen = (size_t)(end - resp) + 4;
    *consumed = hlen;

    int st = ws_handshake_status(resp, hlen);
    if (st == 0) {
        ws_seterr(err, errcap, "%s", "malformed status line");
        return -1;
    }
    if (st != 101) {
        char num[8];
        snprintf(num, sizeof num, "%d", st);
        ws_seterr(err, errcap, "status %s", num);
        return -1;
    }

    char want[WS_ACCEPT_LEN + 1];
    ws_accept_for_key(key, want);
    bool up = false, conn = false, acc = false, proto_seen = false;
    const char *p = memchr(resp, '\n', hlen) + 1;   /* after the status line */
    const char *lim = resp + hlen - 2;              /* the final empty line's CRLF */
    while (p < lim) {
        const char *eol = memmem(p, (size_t)(lim - p) + 2, "\r\n", 2);
        /* eol exists: the block ends with CRLFCRLF */
        size_t ll = (size_t)(eol - p);
        if (ll == 0)
            break;
        if (p[0] == ' ' || p[0] == '\t') {
            ws_seterr(err, errcap, "%s", "folded header line");
            return -1;
        }
        const char *colon = memchr(p, ':', ll);
        if (!colon || colon == p) {
            ws_seterr(err, errcap, "%s", "header line without a name");
            return -1;
        }
        size_t nl = (size_t)(colon - p);
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (memchr(v, '\n', vl) || memchr(v, '\r', vl) || memchr(v, '\0', vl)) {
            ws_seterr(err, errcap, "%s", "control character in a header value");
            return -1;
        }
        if (ws_name_is(p, nl, "Upgrade")) {
            up = up || ws_has_token(v, vl, "websocket");
        } else if (ws_name_is(p, nl, "Connection")) {
            conn = conn || ws_has_token(v, vl, "upgrade");
        } else if (ws_name_is(p, nl, "Sec-WebSocket-Accept")) {
            if (acc || vl != WS_ACCEPT_LEN || memcmp(v, want, WS_ACCEPT_LEN) != 0) {
                ws_seterr(err, errcap, "%s", "wrong Sec-WebSocket-Accept");
                return -1;
            }
            acc = true;
        } else if (ws_name_is(p, nl, "Sec-WebSocket-Protocol")) {
            if (proto_seen || !subproto || !*subproto || strlen(subproto) != vl ||
                memcmp(v, subproto, vl) != 0) {
                ws_seterr(err, errcap, "%s", "Sec-WebSocket-Protocol does not match the request");
                return -1;
            }
            proto_seen = true;
        } else if (ws_name_is(p, nl, "Sec-WebSocket-Extensions")) {
            ws_seterr(err, errcap, "%s", "extension not requested");
            return -1;
        }
        p = eol + 2;
    }
    if (!up) {
        ws_seterr(err, errcap, "%s", "missing Upgrade: websocket");
        return -1;
    }
    if (!conn) {
        ws_seterr(err, errcap, "%s", "missing Connection: upgrade");
        return -1;
    }
    if (!acc) {
        ws_seterr(err, errcap, "%s", "missing Sec-WebSocket-Accept");
        return -1;
    }
    if (subproto && *subproto && !proto_seen) {
        ws_seterr(err, errcap, "%s", "server did not accept the subprotocol");
        return -1;
    }
    return 1;
}

/* ------------------------------------------------------------------------------- */
/* Connection                                                                       */

static void ws_read_cb(struct bufferevent *bev, void *arg);
static void ws_write_cb(struct bufferevent *bev, void *arg);
static void ws_event_cb(struct bufferevent *bev, short what, void *arg);
static void ws_timer_cb(evutil_socket_t fd, short what, void *arg);

void ws_init(ws_conn *c)
{
    memset(c, 0, sizeof *c);
    c->state = WS_IDLE;
}

/* Drops everything the live connection holds; c stays readable (counters, codes). */
static void ws_release(ws_conn *c)
{
    if (c->state == WS_IDLE)
        return;
    event_del(&c->timer);
    if (c->bev) {
        bufferevent_free(c->bev);   /* closes the socket; frees the SSL (CLOSE_ON_FREE) */
        c->bev = NULL;
        if (c->opts.live && *c->opts.live > 0)
            (*c->opts.live)--;
    }
    if (c->wslay) {
        wslay_event_context_free(c->wslay);
        c->wslay = NULL;
    }
    c->state = WS_IDLE;
}

void ws_fini(ws_conn *c)
{
    ws_release(c);
}

/* Releases, then calls the terminal callback as the very last use of c. */
static void ws_finish_error(ws_conn *c, ws_err_kind kind, const char *detail)
{
    const ws_callbacks *cb = c->opts.cb;
    ws_release(c);
    if (cb && cb->on_error)
        cb->on_error(c, kind, detail);
}

static void ws_finish_close(ws_conn *c)
{
    const ws_callbacks *cb = c->opts.cb;
    uint16_t code = wslay_event_get_close_received(c->wslay)
                        ? wslay_event_get_status_code_received(c->wslay) : c->peer_close_code;
    ws_release(c);
    if (cb && cb->on_close)
        cb->on_close(c, code, c->close_reason);
}

static uint64_t ws_rand(ws_conn *c)
{
    /* xorshift64*: masks need to be unpredictable to intermediaries, not secret */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * UINT64_C(2685821657736338717);
}

static int ws_getrandom(void *buf, size_t n) { return util_random(buf, n); }

/* --- wslay callbacks ---------------------------------------------------------- */

static ssize_t ws_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *ud)
{
    (void)flags;
    ws_conn *c = ud;
    int n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    c->bytes_received += (uint64_t)n;
    return n;
}

static ssize_t ws_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *ud)
{
    (void)flags;
    ws_conn *c = ud;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) >= WS_OUT_HIGH_BYTES) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);   /* resumed by ws_write_cb */
        return -1;
    }
    if (evbuffer_add(out, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    c->bytes_sent += len;
    return (ssize_t)len;
}

static int ws_wslay_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    (void)ctx;
    ws_conn *c = ud;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = ws_rand(c);
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(buf + i, &r, n);
    }
    return 0;
}

static void ws_arm_timer(ws_conn *c)
{
    struct timeval tv = { (time_t)(c->opts.timeout_ms / 1000),
                          (suseconds_t)(c->opts.timeout_ms % 1000) * 1000 };
    event_add(&c->timer, &tv);
}

/* Starts our close (once): records the code and arms the close deadline. */
static void ws_queue_close(ws_conn *c, uint16_t code, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > WS_MAX_REASON)
        rl = WS_MAX_REASON;
    if (wslay_event_queue_close(c->wslay, code, (const uint8_t *)reason, rl) == 0)
        c->close_code_sent = code;
    if (c->state == WS_OPEN) {
        c->state = WS_CLOSING;
        ws_arm_timer(c);
    }
}

static void ws_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                         void *ud)
{
    (void)ctx;
    ws_conn *c = ud;
    const ws_callbacks *cb = c->opts.cb;
    switch (a->opcode) {
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
        if (c->drop_data || c->state != WS_OPEN)
            return;
        if (a->opcode == WSLAY_TEXT_FRAME && !ws_utf8_valid(a->msg, a->msg_length)) {
            /* wslay checks too; this keeps the promise whatever wslay build we link */
            c->drop_data = true;
            ws_queue_close(c, 1007, "invalid UTF-8 in a text message");
            wslay_event_shutdown_read(c->wslay);
            return;
        }
        c->msgs_received++;
        if (cb->on_message)
            cb->on_message(c, (ws_opcode)a->opcode, a->msg, a->msg_length);
        break;
    case WSLAY_PONG:
        if (c->ping_sent_us && a->msg_length == sizeof c->ping_seq &&
            memcmp(a->msg, &c->ping_seq, sizeof c->ping_seq) == 0) {
            c->ping_rtt_us = time_mono_us() - c->ping_sent_us;
            c->ping_sent_us = 0;
            if (cb->on_pong && c->state == WS_OPEN)
                cb->on_pong(c, c->ping_rtt_us);
        }
        break;
    case WSLAY_CONNECTION_CLOSE: {
        size_t rl = a->msg_length > 2 ? a->msg_length - 2 : 0;
        if (rl > WS_MAX_REASON)
            rl = WS_MAX_REASON;
        if (rl)
            memcpy(c->close_reason, a->msg + 2, rl);
        c->close_reason[rl] = '\0';
        /* wslay queues the echo of the peer's close itself */
        if (!c->close_code_sent)
            c->close_code_sent = a->status_code ? a->status_code : 1005;
        if (c->state == WS_OPEN) {
            c->state = WS_CLOSING;
            ws_arm_timer(c);
        }
        break;
    }
    default:
        break;                               /* pings are answered by wslay */
    }
}

/* Registered close codes (RFC 6455 7.4, IANA registry) that wslay 1.1.1 refuses. */
static bool ws_close_code_wslay_lacks(uint16_t code)
{
    return code >= 1012 && code <= 1014;
}

/* wslay calls these for every frame, close frames included, before it checks the close
 * code: keep the peer's code and reason, and for a code wslay lacks answer with that
 * code ourselves (queued first, so wslay's own 1002 answer is never queued). */
static void ws_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a, void *ud)
{
    (void)ctx;
    ws_conn *c = ud;
    c->rf_close = a->opcode == WSLAY_CONNECTION_CLOSE;
    c->rf_len = 0;
}

static void ws_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *a, void *ud)
{
    (void)ctx;
    ws_conn *c = ud;
    if (!c->rf_close)
        return;
    for (size_t i = 0; i < a->data_length && c->rf_len < 2 + WS_MAX_REASON; i++, c->rf_len++) {
        if (c->rf_len < 2)
            c->rf_code[c->rf_len] = a->data[i];
        else
            c->close_reason[c->rf_len - 2] = (char)a->data[i];
    }
    if (c->rf_len >= 2)
        c->close_reason[c->rf_len - 2] = '\0';
}

static void ws_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    ws_conn *c = ud;
    if (!c->rf_close || c->rf_len < 2)
        return;
    c->peer_close_code = (uint16_t)(c->rf_code[0] << 8 | c->rf_code[1]);
    if (ws_close_code_wslay_lacks(c->peer_close_code) && !c->close_code_sent) {
        wslay_event_queue_close(ctx, c->peer_close_code, NULL, 0);
        if (c->state == WS_OPEN) {
            c->state = WS_CLOSING;
            ws_arm_timer(c);
        }
    }
}

/* Lets wslay read what arrived and write what is queued, then decides whether the
 * connection is over. Must be the last use of c by its caller (it may finish c). */
static void ws_pump(ws_conn *c)
{
    int rv = 0;
    if (wslay_event_want_read(c->wslay))
        rv = wslay_event_recv(c->wslay);
    if (rv == 0 && c->state != WS_IDLE && wslay_event_want_write(c->wslay))
        rv = wslay_event_send(c->wslay);
    if (rv != 0) {
        ws_finish_error(c, WS_ERR_PROTOCOL, rv == WSLAY_ERR_NOMEM ? "out of memory"
                                                                   : "framing error");
        return;
    }
    if (!wslay_event_get_close_sent(c->wslay))
        return;
    if (!c->close_code_sent)        /* wslay closed by itself (1002, 1007, 1009, echo) */
        c->close_code_sent = wslay_event_get_status_code_sent(c->wslay);
    if (c->state == WS_OPEN) {
        c->state = WS_CLOSING;
        ws_arm_timer(c);
    }
    if (wslay_event_want_write(c->wslay) || evbuffer_get_length(bufferevent_get_output(c->bev)))
        return;                     /* ws_write_cb comes back once the output drained */
    if (wslay_event_get_close_received(c->wslay) || ws_close_code_wslay_lacks(c->peer_close_code)) {
        ws_finish_close(c);
    } else if (!wslay_event_want_read(c->wslay)) {
        /* We failed the connection (bad UTF-8, framing, size): RFC 6455 7.1.7 lets us
         * drop TCP without waiting for the answer. Counted as the peer's protocol error. */
        char detail[64];
        snprintf(detail, sizeof detail, "peer broke the protocol; closed with %u",
                 (unsigned)c->close_code_sent);
        ws_finish_error(c, WS_ERR_PROTOCOL, detail);
    }
}

/* --- libevent callbacks ------------------------------------------------------- */

static int ws_open(ws_conn *c)
{
    struct wslay_event_callbacks wcb = {
        .recv_callback = ws_wslay_recv,
        .send_callback = ws_wslay_send,
        .genmask_callback = ws_wslay_genmask,
        .on_frame_recv_start_callback = ws_frame_start,
        .on_frame_recv_chunk_callback = ws_frame_chunk,
        .on_frame_recv_end_callback = ws_frame_end,
        .on_msg_recv_callback = ws_wslay_msg,
    };
    wslay_event_context_ptr ctx;
    if (wslay_event_context_client_init(&ctx, &wcb, c) != 0)
        return -1;
    wslay_event_config_set_max_recv_msg_length(ctx, c->opts.max_msg_bytes);
    c->wslay = ctx;
    c->state = WS_OPEN;
    event_del(&c->timer);
    return 0;
}

static void ws_read_cb(struct bufferevent *bev, void *arg)
{
    ws_conn *c = arg;
    if (c->state == WS_CONNECTING) {
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t have = evbuffer_get_length(in);
        size_t look = have < WS_MAX_HDR_BYTES ? have : WS_MAX_HDR_BYTES;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
        size_t used = 0;
        char err[128];
        int r = ws_handshake_check(p ? p : "", p ? look : 0, c->key, c->subproto, &used, err,
                                   sizeof err);
        if (r == 0)
            return;
        if (r < 0) {
            int st = ws_handshake_status(p, look);
            c->http_status = st;
            if (st != 0 && st != 101 && used > 0) {
                char num[8];
                snprintf(num, sizeof num, "%d", st);
                ws_finish_error(c, WS_ERR_UPGRADE, num);
            } else {
                ws_finish_error(c, WS_ERR_PROTOCOL, err);
            }
            return;
        }
        c->http_status = 101;
        evbuffer_drain(in, used);
        if (ws_open(c) != 0) {
            ws_finish_error(c, WS_ERR_PROTOCOL, "out of memory");
            return;
        }
        if (c->opts.cb->on_open)
            c->opts.cb->on_open(c, time_mono_us() - c->start_us);
        if (c->state == WS_IDLE)
            return;
    }
    if (c->wslay)
        ws_pump(c);
}

static void ws_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    ws_conn *c = arg;
    if (c->wslay)
        ws_pump(c);
}

static void ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
    ws_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = true;
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* flush what arrived before the EOF through the normal path first */
        if (c->state == WS_CONNECTING) {
            ws_finish_error(c, WS_ERR_CLOSED, "closed during the upgrade");
            return;
        }
        if (c->wslay && wslay_event_get_close_received(c->wslay)) {
            ws_finish_close(c);          /* the peer closed and hung up: handshake done */
            return;
        }
        ws_finish_error(c, WS_ERR_CLOSED, "closed without a close frame");
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char detail[WS_MAX_HOST + 128];
        unsigned long ssl_err = 0, e;
        while ((e = bufferevent_get_openssl_error(bev)) != 0)
            ssl_err = e;
        int dns = bufferevent_socket_get_dns_error(bev);
        if (ssl_err) {
            ERR_error_string_n(ssl_err, detail, sizeof detail);
            ws_finish_error(c, WS_ERR_TLS, detail);
        } else if (dns) {
            snprintf(detail, sizeof detail, "resolve %s: %s", c->host, evutil_gai_strerror(dns));
            ws_finish_error(c, WS_ERR_CONNECT, detail);
        } else {
            int se = EVUTIL_SOCKET_ERROR();
            snprintf(detail, sizeof detail, "%s", evutil_socket_error_to_string(se));
            if (c->state == WS_CONNECTING && !c->connected && c->opts.ssl_ctx && se == 0)
                ws_finish_error(c, WS_ERR_TLS, "TLS handshake failed");
            else if (c->state == WS_CONNECTING)
                ws_finish_error(c, WS_ERR_CONNECT, detail);
            else
                ws_finish_error(c, WS_ERR_CLOSED, detail);
        }
    }
}

static void ws_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ws_conn *c = arg;
    ws_finish_error(c, WS_ERR_TIMEOUT,
                    c->state == WS_CONNECTING ? "connect/upgrade" : "close handshake");
}

/* --- public calls --------------------------------------------------------------- */

/* Writes the upgrade request into out. 0, or -1 with err. */
static int ws_write_request(ws_conn *c, struct evbuffer *out, const char *path, const char *query,
                            int port, bool tls, const ws_opts *o, char *err, size_t errcap)
{
    bool v6 = strchr(c->host, ':') != NULL;
    bool dflt = port == (tls ? 443 : 80);
    int r = evbuffer_add_printf(out, "GET %s%s%s HTTP/1.1\r\nHost: %s%s%s", path && *path ? path : "/",
                                query ? "?" : "", query ? query : "", v6 ? "[" : "", c->host,
                                v6 ? "]" : "");
    if (r >= 0 && !dflt)
        r = evbuffer_add_printf(out, ":%d", port);
    if (r >= 0)
        r = evbuffer_add_printf(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                                c->key);
    if (r >= 0 && c->subproto[0])
        r = evbuffer_add_printf(out, "Sec-WebSocket-Protocol: %s\r\n", c->subproto);
    for (int i = 0; r >= 0 && i < o->nheaders; i++) {
        const char *h = o->headers[i];
        size_t hl = h ? strnlen(h, WS_MAX_REQ_HEADER + 1) : 0;
        if (!h || hl > WS_MAX_REQ_HEADER || strpbrk(h, "\r\n") || !strchr(h, ':')) {
            ws_seterr(err, errcap, "bad extra header %s", h ? "(CR/LF, no colon or too long)" : "(NULL)");
            return -1;
        }
        r = evbuffer_add_printf(out, "%s\r\n", h);
    }
    if (r >= 0)
        r = evbuffer_add(out, "\r\n", 2);
    if (r < 0) {
        ws_seterr(err, errcap, "%s", "out of memory");
        return -1;
    }
    return 0;
}

int ws_connect(ws_conn *c, struct event_base *base, const char *url, const ws_opts *o,
               char *err, size_t errcap)
{
    if (c->state != WS_IDLE) {
        ws_seterr(err, errcap, "%s", "connection already in use");
        return -1;
    }
    if (!o || !o->cb || !o->cb->on_close || !o->cb->on_error) {
        ws_seterr(err, errcap, "%s", "callbacks on_close and on_error are required");
        return -1;
    }
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
    if (!u) {
        ws_seterr(err, errcap, "bad URL: %s", url);
        return -1;
    }
    const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
    bool tls;
    if (scheme && strcasecmp(scheme, "ws") == 0)
        tls = false;
    else if (scheme && strcasecmp(scheme, "wss") == 0)
        tls = true;
    else {
        ws_seterr(err, errcap, "not a ws:// or wss:// URL: %s", url);
        goto fail_uri;
    }
    if (!host || !*host || strlen(host) > WS_MAX_HOST) {
        ws_seterr(err, errcap, "bad host in URL: %s", url);
        goto fail_uri;
    }
    if (tls && !o->ssl_ctx) {
        ws_seterr(err, errcap, "%s", "wss:// needs an SSL_CTX");
        goto fail_uri;
    }
    const char *sp = o->subprotocol ? o->subprotocol : "";
    if (strlen(sp) > WS_MAX_SUBPROTO || strpbrk(sp, "\r\n,")) {
        ws_seterr(err, errcap, "%s", "bad subprotocol");
        goto fail_uri;
    }
    int port = evhttp_uri_get_port(u);
    if (port < 0)
        port = tls ? 443 : 80;

    ws_init(c);
    c->base = base;
    c->opts = *o;
    c->opts.headers = NULL;
    c->opts.nheaders = 0;
    c->opts.subprotocol = NULL;
    if (!c->opts.timeout_ms)
        c->opts.timeout_ms = WS_DEFAULT_TIMEOUT_MS;
    if (!c->opts.max_msg_bytes)
        c->opts.max_msg_bytes = WS_DEFAULT_MAX_MSG;
    if (host[0] == '[') {                           /* [v6]: kept bare here */
        size_t hl = strlen(host);
        snprintf(c->host, sizeof c->host, "%.*s", (int)(hl >= 2 ? hl - 2 : 0), host + 1);
    } else {
        snprintf(c->host, sizeof c->host, "%s", host);
    }
    snprintf(c->subproto, sizeof c->subproto, "%s", sp);

    unsigned char raw[16];
    if (ws_getrandom(raw, sizeof raw) != 0 || ws_getrandom(&c->rng, sizeof c->rng) != 0) {
        ws_seterr(err, errcap, "%s", "getrandom failed");
        goto fail_uri;
    }
    c->rng |= 1;                                    /* xorshift state must not be 0 */
    EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof raw);

    SSL *ssl = NULL;
    if (tls) {
        ssl = SSL_new(o->ssl_ctx);
        if (!ssl) {
            ws_seterr(err, errcap, "%s", "SSL_new failed");
            goto fail_uri;
        }
        SSL_set_tlsext_host_name(ssl, c->host);     /* SNI */
        SSL_set1_host(ssl, c->host);                /* checked if the ctx verifies peers */
        c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev)
            SSL_free(ssl);
    } else {
        c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        ws_seterr(err, errcap, "%s", "bufferevent allocation failed");
        goto fail_uri;
    }
    c->state = WS_CONNECTING;
    if (c->opts.live)
        (*c->opts.live)++;          /* until ws_release frees the bufferevent */
    event_assign(&c->timer, base, -1, 0, ws_timer_cb, c);
    bufferevent_setcb(c->bev, ws_read_cb, ws_write_cb, ws_event_cb, c);
    if (ws_write_request(c, bufferevent_get_output(c->bev), evhttp_uri_get_path(u),
                         evhttp_uri_get_query(u), port, tls, o, err, errcap) != 0)
        goto fail_conn;
    evhttp_uri_free(u);
    u = NULL;

    c->start_us = time_mono_us();
    int rv = o->addr ? bufferevent_socket_connect(c->bev, o->addr, o->addrlen)
                     : bufferevent_socket_connect_hostname(c->bev, o->dns, AF_UNSPEC, c->host, port);
    if (rv != 0) {
        /* immediate failure (no socket, resolve failed with a blocking resolver) */
        ws_release(c);
        ws_seterr(err, errcap, "cannot connect to %s", c->host);
        return -1;
    }
    ws_arm_timer(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return 0;

fail_conn:
    ws_release(c);
fail_uri:
    if (u)
        evhttp_uri_free(u);
    c->state = WS_IDLE;
    return -1;
}

int ws_send(ws_conn *c, ws_opcode op, const void *data, size_t len)
{
    if (c->state != WS_OPEN || (op != WS_OP_TEXT && op != WS_OP_BINARY))
        return -1;
    struct wslay_event_msg m = { (uint8_t)op, data, len };
    if (wslay_event_queue_msg(c->wslay, &m) != 0)
        return -1;
    c->msgs_sent++;
    /* written by ws_pump: at once via the write callback */
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

int ws_ping(ws_conn *c)
{
    if (c->state != WS_OPEN)
        return -1;
    uint64_t seq = ws_rand(c);
    struct wslay_event_msg m = { WSLAY_PING, (const uint8_t *)&seq, sizeof seq };
    if (wslay_event_queue_msg(c->wslay, &m) != 0)
        return -1;
    c->ping_seq = seq;
    c->ping_sent_us = time_mono_us();
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

int ws_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (c->state == WS_IDLE)
        return 0;
    if (c->state == WS_CONNECTING) {
        ws_release(c);
        return 0;
    }
    if (code < 1000 || code > 4999 || code == 1004 || code == 1005 || code == 1006 ||
        code == 1015 || (reason && strlen(reason) > WS_MAX_REASON))
        return -1;
    if (c->close_code_sent)
        return 0;                          /* already closing */
    ws_queue_close(c, code, reason);
    if (!c->close_code_sent)
        return -1;
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}
