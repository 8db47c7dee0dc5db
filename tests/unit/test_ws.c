/* worker/ws: the upgrade answer check, the UTF-8 validator, and whole connections on
 * loopback against a small server living in the same event_base (wslay's server API
 * parses our masked frames; the server writes its own frames by hand so a message can
 * be split into exactly three fragments). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <wslay/wslay.h>

#include "worker/ws.h"

#define KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="     /* RFC 6455 section 1.3 */
#define OK101  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" \
               "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT "\r\n"

static int check(const char *resp, size_t len, const char *subproto, size_t *used, char *err)
{
    return ws_handshake_check(resp, len, KEY, subproto, used, err, 128);
}

/* ---- handshake ------------------------------------------------------------------ */

static void test_accept_rfc_example(void **st)
{
    (void)st;
    char out[WS_ACCEPT_LEN + 1];
    ws_accept_for_key(KEY, out);
    assert_string_equal(out, ACCEPT);
}

static void test_handshake_valid(void **st)
{
    (void)st;
    const char *hdr = OK101 "\r\n";
    char buf[512];
    size_t hl = strlen(hdr), used = 99;
    char err[128] = "";
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, "\x81\x02hi", 4);          /* a frame right behind the headers */
    assert_int_equal(check(buf, hl + 4, NULL, &used, err), 1);
    assert_int_equal(used, hl);
    /* case-insensitive names, token lists, extra spaces */
    const char *h2 = "HTTP/1.1 101 OK\r\nupgrade:   WebSocket  \r\nconnection: keep-alive, upgrade\r\n"
                     "sec-websocket-accept: " ACCEPT "\r\nServer: x\r\n\r\n";
    assert_int_equal(check(h2, strlen(h2), "", &used, err), 1);
    assert_int_equal(used, strlen(h2));
}

static void test_handshake_partial(void **st)
{
    (void)st;
    const char *hdr = OK101 "\r\n";
    size_t hl = strlen(hdr), used;
    char err[128];
    for (size_t n = 0; n < hl; n++) {
        used = 7;
        assert_int_equal(check(hdr, n, NULL, &used, err), 0);
        assert_int_equal(used, 0);
    }
}

static void test_handshake_wrong_accept(void **st)
{
    (void)st;
    const char *h = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOX=\r\n\r\n";
    size_t used;
    char err[128] = "";
    assert_int_equal(check(h, strlen(h), NULL, &used, err), -1);
    assert_int_equal(used, strlen(h));
    assert_non_null(strstr(err, "Accept"));
    const char *none = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n\r\n";
    assert_int_equal(check(none, strlen(none), NULL, &used, err), -1);
    assert_non_null(strstr(err, "missing Sec-WebSocket-Accept"));
}

static void test_handshake_missing_upgrade(void **st)
{
    (void)st;
    const char *h = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n";
    size_t used;
    char err[128] = "";
    assert_int_equal(check(h, strlen(h), NULL, &used, err), -1);
    assert_non_null(strstr(err, "Upgrade"));
    const char *h2 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n";
    assert_int_equal(check(h2, strlen(h2), NULL, &used, err), -1);
    assert_non_null(strstr(err, "Connection"));
}

static void test_handshake_status_400(void **st)
{
    (void)st;
    const char *h = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    size_t used;
    char err[128] = "";
    assert_int_equal(check(h, strlen(h), NULL, &used, err), -1);
    assert_int_equal(used, strlen(h));
    assert_string_equal(err, "status 400");
    assert_int_equal(ws_handshake_status(h, strlen(h)), 400);
    assert_int_equal(ws_handshake_status("HTTP/1.1 1x1 A\r\n", 16), 0);
    assert_int_equal(ws_handshake_status("HTTP/1.1 10", 11), 0);
    const char *bad = "ICY 101 OK\r\n\r\n";
    assert_int_equal(check(bad, strlen(bad), NULL, &used, err), -1);
}

static void test_handshake_oversize(void **st)
{
    (void)st;
    size_t n = WS_MAX_HDR_BYTES + 100, used;
    char *b = malloc(n);
    char err[128] = "";
    assert_non_null(b);
    size_t hl = strlen(OK101);
    memcpy(b, OK101, hl);
    for (size_t i = hl; i < n; i += 20)
        memcpy(b + i, "X-Pad: aaaaaaaaaaa\r\n", n - i < 20 ? n - i : 20);
    assert_int_equal(check(b, WS_MAX_HDR_BYTES - 1, NULL, &used, err), 0);   /* may still end */
    assert_int_equal(check(b, WS_MAX_HDR_BYTES, NULL, &used, err), -1);
    assert_int_equal(used, 0);
    assert_non_null(strstr(err, "16384"));
    assert_int_equal(check(b, n, NULL, &used, err), -1);
    /* a terminator past the limit does not count */
    memcpy(b + WS_MAX_HDR_BYTES + 10, "\r\n\r\n", 4);
    assert_int_equal(check(b, n, NULL, &used, err), -1);
    free(b);
}

static void test_handshake_subprotocol(void **st)
{
    (void)st;
    const char *h = OK101 "Sec-WebSocket-Protocol: chat.v2\r\n\r\n";
    size_t used;
    char err[128] = "";
    assert_int_equal(check(h, strlen(h), "chat.v2", &used, err), 1);
    assert_int_equal(check(h, strlen(h), "chat.v1", &used, err), -1);
    assert_non_null(strstr(err, "Protocol"));
    assert_int_equal(check(h, strlen(h), NULL, &used, err), -1);     /* not asked for */
    const char *none = OK101 "\r\n";
    assert_int_equal(check(none, strlen(none), "chat.v2", &used, err), -1);
    assert_non_null(strstr(err, "subprotocol"));
    const char *ext = OK101 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    assert_int_equal(check(ext, strlen(ext), NULL, &used, err), -1);
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

static bool u8(const char *s, size_t n) { return ws_utf8_valid((const uint8_t *)s, n); }

static void test_utf8(void **st)
{
    (void)st;
    assert_true(u8("", 0));
    assert_true(u8("plain ascii", 11));
    const char *multi = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E \xF4\x8F\xBF\xBF \xED\x9F\xBF";
    assert_true(u8(multi, strlen(multi)));
    assert_true(u8("a\0b", 3));                        /* NUL is a code point */
    assert_false(u8("\x80", 1));                       /* lone continuation */
    assert_false(u8("\xC0\xAF", 2));                   /* overlong '/' */
    assert_false(u8("\xC1\xBF", 2));
    assert_false(u8("\xE0\x80\xAF", 3));               /* overlong, 3 bytes */
    assert_false(u8("\xF0\x80\x80\xAF", 4));           /* overlong, 4 bytes */
    assert_false(u8("\xED\xA0\x80", 3));               /* surrogate U+D800 */
    assert_false(u8("\xF4\x90\x80\x80", 4));           /* U+110000 */
    assert_false(u8("\xF5\x80\x80\x80", 4));
    assert_false(u8("\xE2\x82", 2));                   /* truncated */
    assert_false(u8("ok\xC3\x28", 4));                 /* bad continuation */
    assert_false(u8("\xFF", 1));
}

/* ---- loopback server -------------------------------------------------------------- */

enum { SRV_ECHO, SRV_REFUSE, SRV_BAD_UTF8, SRV_SILENT };
#define BIG (100 * 1024)

typedef struct srv {
    struct event_base *base;
    struct evconnlistener *l;
    int port, mode;
    struct bufferevent *bev;
    wslay_event_context_ptr ctx;
    bool upgraded;
    int msgs, big_ok;
    uint16_t close_code;        /* received from the client */
} srv;

static void srv_frame(srv *s, bool fin, uint8_t op, const uint8_t *d, size_t n)
{
    uint8_t h[10];
    size_t hl;
    h[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        h[1] = (uint8_t)n, hl = 2;
    } else if (n < 65536) {
        h[1] = 126, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n, hl = 4;
    } else {
        h[1] = 127, hl = 10;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    struct evbuffer *out = bufferevent_get_output(s->bev);
    evbuffer_add(out, h, hl);
    evbuffer_add(out, d, n);
}

static ssize_t srv_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int fl, void *ud)
{
    (void)fl;
    srv *s = ud;
    int n = evbuffer_remove(bufferevent_get_input(s->bev), buf, len);
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}

static ssize_t srv_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t len, int fl, void *ud)
{
    (void)ctx;
    (void)fl;
    srv *s = ud;
    evbuffer_add(bufferevent_get_output(s->bev), d, len);
    return (ssize_t)len;
}

static void srv_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *ud)
{
    (void)ctx;
    srv *s = ud;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME) {
        s->msgs++;
        if (a->msg_length == BIG) {
            bool ok = true;
            for (size_t i = 0; i < BIG; i++)
                ok = ok && a->msg[i] == (uint8_t)('a' + i % 26);
            s->big_ok = ok;
            /* echoed as three fragments: 40000 + 40000 + 22400 */
            srv_frame(s, false, a->opcode, a->msg, 40000);
            srv_frame(s, false, 0, a->msg + 40000, 40000);
            srv_frame(s, true, 0, a->msg + 80000, BIG - 80000);
        } else {
            srv_frame(s, true, a->opcode, a->msg, a->msg_length);
        }
    } else if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        s->close_code = a->status_code;
    }
}

static void srv_drop(srv *s)
{
    if (s->bev)
        bufferevent_free(s->bev);
    if (s->ctx)
        wslay_event_context_free(s->ctx);
    s->bev = NULL;
    s->ctx = NULL;
}

static void srv_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    srv *s = arg;
    if (s->ctx && wslay_event_get_close_sent(s->ctx) && wslay_event_get_close_received(s->ctx))
        srv_drop(s);                        /* the server closes TCP first (RFC 6455 7.1.1) */
}

static void srv_read_cb(struct bufferevent *bev, void *arg)
{
    srv *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!s->upgraded) {
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0 || s->mode == SRV_SILENT)
            return;
        size_t hl = (size_t)end.pos + 4;
        char *req = malloc(hl + 1);
        evbuffer_remove(in, req, hl);
        req[hl] = '\0';
        assert_non_null(strstr(req, "GET /echo?x=1 HTTP/1.1\r\n"));
        assert_non_null(strstr(req, "\r\nX-Test: yes\r\n"));
        assert_non_null(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
        char *k = strstr(req, "Sec-WebSocket-Key: ");
        assert_non_null(k);
        char key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1];
        memcpy(key, k + 19, WS_KEY_LEN);
        key[WS_KEY_LEN] = '\0';
        free(req);
        struct evbuffer *out = bufferevent_get_output(bev);
        if (s->mode == SRV_REFUSE) {
            evbuffer_add_printf(out, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        ws_accept_for_key(key, acc);
        evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
        struct wslay_event_callbacks cb = { .recv_callback = srv_recv, .send_callback = srv_send,
                                            .on_msg_recv_callback = srv_msg };
        assert_int_equal(wslay_event_context_server_init(&s->ctx, &cb, s), 0);
        s->upgraded = true;
        if (s->mode == SRV_BAD_UTF8)
            srv_frame(s, true, 1, (const uint8_t *)"\xC3\x28", 2);
    }
    wslay_event_recv(s->ctx);
    wslay_event_send(s->ctx);
}

static void srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    srv *s = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        srv_drop(s);
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                       void *arg)
{
    (void)l;
    (void)sa;
    (void)sl;
    srv *s = arg;
    srv_drop(s);
    s->upgraded = false;
    s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(s->bev, srv_read_cb, srv_write_cb, srv_event_cb, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void srv_start(srv *s, struct event_base *base, int mode)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    s->mode = mode;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    s->l = evconnlistener_new_bind(base, srv_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                   -1, (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(s->l);
    socklen_t sl = sizeof sin;
    assert_int_equal(getsockname(evconnlistener_get_fd(s->l), (struct sockaddr *)&sin, &sl), 0);
    s->port = ntohs(sin.sin_port);
}

static void srv_stop(srv *s)
{
    srv_drop(s);
    evconnlistener_free(s->l);
}

/* ---- client side ------------------------------------------------------------------ */

typedef struct tc {
    ws_conn conn;
    struct event_base *base;
    uint64_t connect_us, rtt_us;
    int opened, nmsg, pongs, closes, errors;
    bool msgs_ok;
    uint16_t close_code;
    char close_reason[128];
    ws_err_kind err_kind;
    char err_detail[256];
    uint8_t *big;
} tc;

static void c_open(ws_conn *c, uint64_t connect_us)
{
    tc *t = c->opts.ud;
    t->opened++;
    t->connect_us = connect_us;
    assert_int_equal(ws_send(c, WS_OP_TEXT, "hello", 5), 0);
    assert_int_equal(ws_send(c, WS_OP_BINARY, "\x00\x01\x02\xff", 4), 0);
    assert_int_equal(ws_send(c, WS_OP_TEXT, t->big, BIG), 0);
}

static void c_message(ws_conn *c, ws_opcode op, const uint8_t *d, size_t n)
{
    tc *t = c->opts.ud;
    switch (t->nmsg++) {
    case 0: t->msgs_ok = op == WS_OP_TEXT && n == 5 && memcmp(d, "hello", 5) == 0; break;
    case 1: t->msgs_ok &= op == WS_OP_BINARY && n == 4 && memcmp(d, "\x00\x01\x02\xff", 4) == 0; break;
    case 2:
        t->msgs_ok &= op == WS_OP_TEXT && n == BIG && memcmp(d, t->big, BIG) == 0;
        assert_int_equal(ws_ping(c), 0);
        break;
    default: t->msgs_ok = false; break;
    }
}

static void c_pong(ws_conn *c, uint64_t rtt_us)
{
    tc *t = c->opts.ud;
    t->pongs++;
    t->rtt_us = rtt_us;
    assert_int_equal(ws_close(c, 1000, "done"), 0);
}

/* Ends the loop a little later, so the server side sees the client's last bytes. */
static void stop_soon(struct event_base *base)
{
    struct timeval tv = { 0, 50000 };
    event_base_loopexit(base, &tv);
}

static void c_close(ws_conn *c, uint16_t code, const char *reason)
{
    tc *t = c->opts.ud;
    t->closes++;
    t->close_code = code;
    snprintf(t->close_reason, sizeof t->close_reason, "%s", reason);
    stop_soon(t->base);
}

static void c_error(ws_conn *c, ws_err_kind kind, const char *detail)
{
    tc *t = c->opts.ud;
    t->errors++;
    t->err_kind = kind;
    snprintf(t->err_detail, sizeof t->err_detail, "%s", detail);
    stop_soon(t->base);
}

static const ws_callbacks CB = { c_open, c_message, c_pong, c_close, c_error };

/* Connects t to port with the given timeout and runs the loop until a terminal
 * callback (or a 5 s safety stop). */
static void run_client(tc *t, struct event_base *base, int port, uint64_t timeout_ms)
{
    static const char *const hdrs[] = { "X-Test: yes" };
    char url[64], err[128] = "";
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo?x=1", port);
    ws_opts o = { .headers = hdrs, .nheaders = 1, .timeout_ms = timeout_ms, .cb = &CB, .ud = t };
    t->base = base;
    ws_init(&t->conn);
    assert_int_equal(ws_connect(&t->conn, base, url, &o, err, sizeof err), 0);
    struct timeval five = { 5, 0 };
    event_base_loopexit(base, &five);
    event_base_dispatch(base);
}

static void test_e2e_echo(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    srv s;
    srv_start(&s, base, SRV_ECHO);
    tc t = { 0 };
    t.big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        t.big[i] = (uint8_t)('a' + i % 26);
    run_client(&t, base, s.port, 0);
    assert_int_equal(t.errors, 0);
    assert_int_equal(t.opened, 1);
    assert_true(t.connect_us > 0);
    assert_int_equal(t.nmsg, 3);
    assert_true(t.msgs_ok);
    assert_int_equal(t.pongs, 1);
    assert_true(t.rtt_us > 0);
    assert_int_equal(t.conn.ping_rtt_us, t.rtt_us);
    assert_int_equal(t.closes, 1);
    assert_int_equal(t.close_code, 1000);            /* the server echoed our code */
    assert_int_equal(t.conn.close_code_sent, 1000);
    assert_int_equal(t.conn.msgs_sent, 3);
    assert_int_equal(t.conn.msgs_received, 3);
    assert_int_equal(t.conn.state, WS_IDLE);
    assert_null(t.conn.bev);
    assert_int_equal(s.msgs, 3);
    assert_true(s.big_ok);
    assert_int_equal(s.close_code, 1000);
    ws_fini(&t.conn);                                /* harmless once finished */
    free(t.big);
    srv_stop(&s);
    event_base_free(base);
}

static void test_e2e_refused_403(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    srv s;
    srv_start(&s, base, SRV_REFUSE);
    tc t = { 0 };
    run_client(&t, base, s.port, 0);
    assert_int_equal(t.opened, 0);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.err_kind, WS_ERR_UPGRADE);
    assert_string_equal(t.err_detail, "403");
    assert_int_equal(t.conn.http_status, 403);
    assert_string_equal(ws_err_name(t.err_kind), "upgrade");
    srv_stop(&s);
    event_base_free(base);
}

static void e8_open(ws_conn *c, uint64_t us) { (void)c; (void)us; ((tc *)c->opts.ud)->opened++; }

static void test_e2e_bad_utf8_closes_1007(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    srv s;
    srv_start(&s, base, SRV_BAD_UTF8);
    tc t = { 0 };
    static const ws_callbacks cb = { e8_open, c_message, NULL, c_close, c_error };
    static const char *const hdrs[] = { "X-Test: yes" };
    char url[64], err[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo?x=1", s.port);
    ws_opts o = { .headers = hdrs, .nheaders = 1, .cb = &cb, .ud = &t };
    t.base = base;
    ws_init(&t.conn);
    assert_int_equal(ws_connect(&t.conn, base, url, &o, err, sizeof err), 0);
    struct timeval five = { 5, 0 };
    event_base_loopexit(base, &five);
    event_base_dispatch(base);
    assert_int_equal(t.opened, 1);
    assert_int_equal(t.nmsg, 0);                     /* the bad message is not delivered */
    assert_int_equal(t.closes, 0);
    assert_int_equal(t.errors, 1);                   /* the server broke the protocol */
    assert_int_equal(t.err_kind, WS_ERR_PROTOCOL);
    assert_non_null(strstr(t.err_detail, "1007"));
    assert_int_equal(t.conn.close_code_sent, 1007);
    assert_int_equal(s.close_code, 1007);            /* the server saw our close frame */
    srv_stop(&s);
    event_base_free(base);
}

static void test_e2e_timeout(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    srv s;
    srv_start(&s, base, SRV_SILENT);
    tc t = { 0 };
    run_client(&t, base, s.port, 100);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.err_kind, WS_ERR_TIMEOUT);
    assert_int_equal(t.opened, 0);
    srv_stop(&s);
    event_base_free(base);
}

static void test_e2e_connect_refused(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    srv s;
    srv_start(&s, base, SRV_ECHO);
    int port = s.port;
    srv_stop(&s);                                    /* nothing listens there now */
    tc t = { 0 };
    run_client(&t, base, port, 0);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.err_kind, WS_ERR_CONNECT);
    event_base_free(base);
}

static void test_connect_bad_args(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    tc t = { 0 };
    ws_opts o = { .cb = &CB, .ud = &t };
    char err[128];
    ws_init(&t.conn);
    assert_int_equal(ws_connect(&t.conn, base, "http://127.0.0.1/", &o, err, sizeof err), -1);
    assert_int_equal(ws_connect(&t.conn, base, "wss://127.0.0.1/", &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "SSL_CTX"));
    assert_int_equal(ws_connect(&t.conn, base, "not a url", &o, err, sizeof err), -1);
    static const char *const bad[] = { "X-Evil: a\r\nHost: b" };
    ws_opts o2 = { .headers = bad, .nheaders = 1, .cb = &CB, .ud = &t };
    assert_int_equal(ws_connect(&t.conn, base, "ws://127.0.0.1:1/", &o2, err, sizeof err), -1);
    assert_int_equal(t.conn.state, WS_IDLE);
    assert_int_equal(ws_send(&t.conn, WS_OP_TEXT, "x", 1), -1);
    assert_int_equal(ws_ping(&t.conn), -1);
    ws_fini(&t.conn);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_rfc_example),
        cmocka_unit_test(test_handshake_valid),
        cmocka_unit_test(test_handshake_partial),
        cmocka_unit_test(test_handshake_wrong_accept),
        cmocka_unit_test(test_handshake_missing_upgrade),
        cmocka_unit_test(test_handshake_status_400),
        cmocka_unit_test(test_handshake_oversize),
        cmocka_unit_test(test_handshake_subprotocol),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_e2e_echo),
        cmocka_unit_test(test_e2e_refused_403),
        cmocka_unit_test(test_e2e_bad_utf8_closes_1007),
        cmocka_unit_test(test_e2e_timeout),
        cmocka_unit_test(test_e2e_connect_refused),
        cmocka_unit_test(test_connect_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
