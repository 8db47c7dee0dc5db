/* Shared unit-test fixtures: see support.h for the contract. */
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

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "common/time.h"
#include "worker/ws.h"
#include "tests/unit/support.h"

/* ---- loopback WebSocket server ----------------------------------------------------- */

void srv_queue(srv *s, int op, const void *d, size_t n)
{
    struct wslay_event_msg m = { (uint8_t)op, d, n };
    assert_int_equal(wslay_event_queue_msg(s->ctx, &m), 0);
}

void srv_frame(srv *s, bool fin, uint8_t op, const uint8_t *d, size_t n)
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

static void srv_command(srv *s, const char *m, size_t n)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%.*s", (int)n, m);
    if (!strncmp(cmd, "!send ", 6)) {
        srv_queue(s, WSLAY_TEXT_FRAME, cmd + 6, strlen(cmd + 6));
    } else if (!strncmp(cmd, "!multi ", 7)) {
        for (char *p = cmd + 7, *bar; p; p = bar ? bar + 1 : NULL) {
            bar = strchr(p, '|');
            srv_queue(s, WSLAY_TEXT_FRAME, p, bar ? (size_t)(bar - p) : strlen(p));
        }
    } else if (!strncmp(cmd, "!close ", 7)) {
        assert_int_equal(wslay_event_queue_close(s->ctx, (uint16_t)atoi(cmd + 7), NULL, 0), 0);
    } else if (!strncmp(cmd, "!many ", 6)) {
        for (int i = 0, n = atoi(cmd + 6); i < n; i++) {
            char out[16];
            int l = snprintf(out, sizeof out, "m%d", i);
            srv_queue(s, WSLAY_TEXT_FRAME, out, (size_t)l);
        }
    } else if (!strncmp(cmd, "!stamp ", 7)) {
        char out[64];
        int l = snprintf(out, sizeof out, "{\"ts\":%llu}",
                         (unsigned long long)(time_wall_us() - strtoull(cmd + 7, NULL, 10)));
        srv_queue(s, WSLAY_TEXT_FRAME, out, (size_t)l);
    } else {
        srv_queue(s, WSLAY_TEXT_FRAME, m, n);
    }
}

void srv_echo(srv *s, const struct wslay_event_on_msg_recv_arg *a)
{
    if (a->opcode == WSLAY_BINARY_FRAME)
        srv_queue(s, WSLAY_BINARY_FRAME, a->msg, a->msg_length);
    else
        srv_command(s, (const char *)a->msg, a->msg_length);
}

static void srv_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                    void *ud)
{
    (void)ctx;
    srv *s = ud;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME) {
        s->msgs++;
        s->last_op = a->opcode;
        s->last_len = a->msg_length < sizeof s->last ? a->msg_length : sizeof s->last;
        memcpy(s->last, a->msg, s->last_len);
        (s->on_msg ? s->on_msg : srv_echo)(s, a);
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

/* Once close frames went both ways and our output is out, the server hangs up first
 * (RFC 6455 7.1.1). */
static void srv_maybe_hang_up(srv *s)
{
    if (s->ctx && wslay_event_get_close_sent(s->ctx) && wslay_event_get_close_received(s->ctx) &&
        evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
        srv_drop(s);
}

static void srv_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    srv_maybe_hang_up(arg);
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
        assert_non_null(req);
        evbuffer_remove(in, req, hl);
        req[hl] = '\0';
        for (int i = 0; i < SRV_WANT_MAX && s->want[i]; i++)
            assert_non_null(strstr(req, s->want[i]));
        char *k = strstr(req, "Sec-WebSocket-Key: ");
        assert_non_null(k);
        char key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1];
        memcpy(key, k + 19, WS_KEY_LEN);
        key[WS_KEY_LEN] = '\0';
        free(req);
        struct evbuffer *out = bufferevent_get_output(bev);
        if (s->mode == SRV_REFUSE || (s->mode == SRV_REFUSE_AGAIN && s->accepted > 1)) {
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
        s->upgrades++;
        if (s->greet_again && s->upgrades > 1)
            srv_queue(s, WSLAY_TEXT_FRAME, s->greet_again, strlen(s->greet_again));
        if (s->mode == SRV_BAD_UTF8)
            srv_frame(s, true, WSLAY_TEXT_FRAME, (const uint8_t *)"\xC3\x28", 2);
    }
    wslay_event_recv(s->ctx);
    wslay_event_send(s->ctx);
    srv_maybe_hang_up(s);
}

static void srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    srv *s = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (s->ctx && !wslay_event_get_close_received(s->ctx))
            s->eof_without_close++;
        srv_drop(s);
    }
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                       void *arg)
{
    (void)l;
    (void)sa;
    (void)sl;
    srv *s = arg;
    srv_drop(s);
    s->accepted++;
    s->upgraded = false;
    s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(s->bev, srv_read_cb, srv_write_cb, srv_event_cb, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void srv_start(srv *s, struct event_base *base, int mode)
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

void srv_stop(srv *s)
{
    srv_drop(s);
    evconnlistener_free(s->l);
}

/* ---- stats deltas by hand ------------------------------------------------------------ */

void td_init(tdelta *d)
{
    memset(d, 0, sizeof *d);
    d->ps.entries = d->ents;
    d->ps.errs = d->errs;
}

static proto_stats_entry *td_row(tdelta *d, const char *method, const char *name)
{
    assert_true(d->ps.nentries < TD_CAP);
    proto_stats_entry *e = &d->ents[d->ps.nentries++];
    snprintf(e->method, sizeof e->method, "%s", method);
    snprintf(e->name, sizeof e->name, "%s", name);
    hist_init(&e->lat);
    return e;
}

uint32_t td_entry(tdelta *d, const char *method, const char *name, uint64_t n,
                  uint64_t first_us, uint64_t step_us, uint64_t failures,
                  uint64_t bytes_each, hist *also)
{
    proto_stats_entry *e = td_row(d, method, name);
    for (uint64_t k = 0; k < n; k++) {
        hist_record(&e->lat, first_us + k * step_us);
        if (also != NULL)
            hist_record(also, first_us + k * step_us);
    }
    e->requests = n;
    e->failures = failures;
    e->bytes = n * bytes_each;
    return (uint32_t)(e - d->ents);
}

uint32_t td_counts(tdelta *d, const char *method, const char *name, uint64_t requests,
                   uint64_t failures, uint64_t bytes)
{
    proto_stats_entry *e = td_row(d, method, name);
    e->requests = requests;
    e->failures = failures;
    e->bytes = bytes;
    return (uint32_t)(e - d->ents);
}

void td_err(tdelta *d, uint32_t entry, uint32_t kind, const char *detail, uint64_t count)
{
    assert_true(d->ps.nerrs < TD_CAP);
    proto_stats_err *e = &d->errs[d->ps.nerrs++];
    e->entry = entry;
    e->kind = kind;
    snprintf(e->detail, sizeof e->detail, "%s", detail);
    e->count = count;
}

void td_fini(tdelta *d)
{
    for (uint32_t i = 0; i < d->ps.nentries; i++)
        hist_fini(&d->ents[i].lat);
}

void td_merge(merge_set *m, tdelta *d)
{
    assert_int_equal(merge_add(m, &d->ps), 0);
    td_fini(d);
}

/* One row (latencies lat[0..n), or requests without latencies when lat is NULL) and
 * its error rows, merged into m. */
static void merge_one(merge_set *m, const char *method, const char *name, const uint64_t *lat,
                      int n, uint64_t requests, uint64_t failures, uint64_t bytes,
                      const proto_stats_err *errs, int nerrs)
{
    proto_stats_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.method, sizeof e.method, "%s", method);
    snprintf(e.name, sizeof e.name, "%s", name);
    hist_init(&e.lat);
    for (int i = 0; lat != NULL && i < n; i++)
        hist_record(&e.lat, lat[i]);
    e.requests = requests;
    e.failures = failures;
    e.bytes = bytes;
    proto_stats d;
    memset(&d, 0, sizeof d);
    d.entries = &e;
    d.nentries = 1;
    d.errs = (proto_stats_err *)errs;
    d.nerrs = (uint32_t)nerrs;
    assert_int_equal(merge_add(m, &d), 0);
    hist_fini(&e.lat);
}

void add_entry(merge_set *m, const char *method, const char *name, const uint64_t *lat,
               int n, uint64_t failures, uint64_t bytes, const proto_stats_err *errs,
               int nerrs)
{
    merge_one(m, method, name, lat, n, (uint64_t)n, failures, bytes, errs, nerrs);
}

void add_range(merge_set *m, const char *method, const char *name, int n,
               uint64_t first, uint64_t step, uint64_t failures)
{
    uint64_t *lat = calloc((size_t)(n > 0 ? n : 1), sizeof *lat);
    assert_non_null(lat);
    for (int i = 0; i < n; i++)
        lat[i] = first + (uint64_t)i * step;
    add_entry(m, method, name, lat, n, failures, 0, NULL, 0);
    free(lat);
}

void add_counts(merge_set *m, const char *method, const char *name, uint64_t requests,
                uint64_t failures, uint64_t bytes, const proto_stats_err *errs, int nerrs)
{
    merge_one(m, method, name, NULL, 0, requests, failures, bytes, errs, nerrs);
}

sc_threshold th_mk(const char *expr, const char *name, sc_metric metric, sc_op op,
                   double value)
{
    sc_threshold t;
    memset(&t, 0, sizeof t);
    t.expr = (char *)expr;
    t.name = (char *)name;
    t.metric = metric;
    t.ws = TH_WS_NONE;
    t.op = op;
    t.value = value;
    return t;
}
