/* worker/ws: the upgrade answer check, the UTF-8 validator, and whole connections on
 * loopback against the shared server living in the same event_base (tests/unit/
 * support.h: wslay's server API parses our masked frames; here the server writes its own
 * frames by hand so a message can be split into exactly three fragments). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <wslay/wslay.h>

#include "tests/unit/support.h"
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

/* ---- loopback server (tests/unit/support.h) ------------------------------------------ */

#define BIG (100 * 1024)

static bool big_ok;     /* the server got BIG bytes of 'a' + i % 26 */

/* Echoes every message as frames written by hand, a BIG one as three fragments
 * (40000 + 40000 + 22400), so the client's reassembly is what is tested. */
static void echo_by_hand(srv *s, const struct wslay_event_on_msg_recv_arg *a)
{
    if (a->msg_length == BIG) {
        bool ok = true;
        for (size_t i = 0; i < BIG; i++)
            ok = ok && a->msg[i] == (uint8_t)('a' + i % 26);
        big_ok = ok;
        srv_frame(s, false, a->opcode, a->msg, 40000);
        srv_frame(s, false, 0, a->msg + 40000, 40000);
        srv_frame(s, true, 0, a->msg + 80000, BIG - 80000);
    } else {
        srv_frame(s, true, a->opcode, a->msg, a->msg_length);
    }
}

/* The shared server, answering only what run_client asks for. */
static void start(srv *s, struct event_base *base, int mode)
{
    srv_start(s, base, mode);
    s->want[0] = "GET /echo?x=1 HTTP/1.1\r\n";
    s->want[1] = "\r\nX-Test: yes\r\n";
    s->want[2] = "\r\nSec-WebSocket-Version: 13\r\n";
    s->on_msg = echo_by_hand;
    big_ok = false;
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
    start(&s, base, SRV_ECHO);
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
    assert_true(big_ok);
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
    start(&s, base, SRV_REFUSE);
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
    start(&s, base, SRV_BAD_UTF8);
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
    start(&s, base, SRV_SILENT);
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
    start(&s, base, SRV_ECHO);
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
