/* worker/http_lean.c driven through worker/http.h (http_opts.client = HTTP_CLIENT_LEAN)
 * against a small scriptable HTTP/1.1 server living in the test's own event_base on
 * 127.0.0.1 (evconnlistener, bufferevents). The server records every request it read
 * (head, body length, whether the body held the bytes sent, which connection) and
 * answers each one from the test's script: a response as written, kept alive or closed
 * (at once or after a delay), no answer and a close, no answer at all, an answer after a
 * delay, an answer one byte per write. Each case checks what the server saw as well as
 * what http_result says. Every loop run is bounded by a timer: a case never hangs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/time.h"
#include "worker/http.h"

/* ---- the scriptable server ------------------------------------------------------- */

enum { A_ANSWER, A_DROP, A_SILENT };

typedef struct tact {
    int kind;
    const char *resp;       /* A_ANSWER: the bytes written; NULL: OK200 */
    bool close;             /* close the connection after the answer */
    int close_ms;           /* ... this long after it */
    int delay_ms;           /* answer this long after the request */
    bool dribble;           /* one byte per write, 1 ms apart */
    bool early;             /* answer once the head is read, without reading the body */
} tact;

#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#define MAXC  40
#define MAXR  64
#define HEADMAX 2048

typedef struct tsrv tsrv;
typedef struct tconn {
    tsrv *s;
    int id;
    struct bufferevent *bev;
    struct event *tm;
    char head[HEADMAX];
    size_t hl;
    bool in_body;
    size_t body_left, body_got, body_bad;
    const tact *act;
    size_t off;             /* dribble: bytes written */
    int phase;              /* 0 idle, 1 delayed answer, 2 dribbling, 3 delayed close,
                             * 4 close once written */
    bool discard;           /* answered early: what else comes is drained */
} tconn;

typedef struct treq {
    char head[HEADMAX];
    size_t body_len;
    bool body_ok;
    int conn;
} treq;

struct tsrv {
    struct event_base *base;
    struct evconnlistener *l;
    int port;
    bool slow;              /* read slowly (small receive buffer, rate limited) */
    struct ev_token_bucket_cfg *rl;
    tact acts[8];
    int nacts;
    tconn *conns[MAXC];
    int accepted, closed, nreq;
    treq reqs[MAXR];
};

static uint8_t pat(size_t i) { return (uint8_t)(i % 251); }

static void tc_free(tconn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->s->closed++;
    }
    if (c->tm) evtimer_del(c->tm);
    c->phase = 0;
}

static const char *act_resp(const tact *a) { return a->resp ? a->resp : OK200; }

static void tc_after_answer(tconn *c)
{
    if (!c->act->close) { c->phase = 0; return; }
    if (c->act->close_ms) {
        c->phase = 3;
        struct timeval tv = { 0, c->act->close_ms * 1000 };
        evtimer_add(c->tm, &tv);
        return;
    }
    /* closed once the output is written (write callback) */
    c->phase = 4;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) tc_free(c);
}

static void tc_answer(tconn *c)
{
    const char *r = act_resp(c->act);
    if (c->act->dribble) {
        c->phase = 2;
        c->off = 0;
        struct timeval tv = { 0, 1000 };
        evtimer_add(c->tm, &tv);
        return;
    }
    bufferevent_write(c->bev, r, strlen(r));
    tc_after_answer(c);
}

static void tc_timer(evutil_socket_t fd, short w, void *arg)
{
    (void)fd; (void)w;
    tconn *c = arg;
    if (!c->bev) return;
    if (c->phase == 1) { tc_answer(c); return; }
    if (c->phase == 2) {
        const char *r = act_resp(c->act);
        bufferevent_write(c->bev, r + c->off, 1);
        if (++c->off < strlen(r)) {
            struct timeval tv = { 0, 1000 };
            evtimer_add(c->tm, &tv);
        } else {
            tc_after_answer(c);
        }
        return;
    }
    if (c->phase == 3) tc_free(c);
}

/* The script's action for the next request the server reads. */
static const tact *s_act(const tsrv *s)
{
    return &s->acts[s->nreq < s->nacts ? s->nreq : s->nacts - 1];
}

static void tc_request(tconn *c)
{
    tsrv *s = c->s;
    int n = s->nreq++;
    if (n < MAXR) {
        treq *q = &s->reqs[n];
        memcpy(q->head, c->head, c->hl);
        q->head[c->hl] = '\0';
        q->body_len = c->body_got;
        q->body_ok = c->body_bad == 0;
        q->conn = c->id;
    }
    c->act = &s->acts[n < s->nacts ? n : s->nacts - 1];
    if (c->act->kind == A_DROP) { tc_free(c); return; }
    if (c->act->kind == A_SILENT) return;
    if (c->act->delay_ms) {
        c->phase = 1;
        struct timeval tv = { c->act->delay_ms / 1000, (c->act->delay_ms % 1000) * 1000 };
        evtimer_add(c->tm, &tv);
        return;
    }
    tc_answer(c);
}

static void tc_read(struct bufferevent *bev, void *arg)
{
    tconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->discard) {                   /* answered early: the rest is not read as requests */
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    while (c->bev && evbuffer_get_length(in)) {
        if (!c->in_body) {
            struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (p.pos < 0) {
                assert_true(evbuffer_get_length(in) < HEADMAX);
                return;
            }
            size_t hl = (size_t)p.pos + 4;
            assert_true(hl < HEADMAX);
            evbuffer_remove(in, c->head, hl);
            c->hl = hl;
            c->head[hl] = '\0';
            c->body_left = c->body_got = c->body_bad = 0;
            const char *cl = strcasestr(c->head, "\r\nContent-Length:");
            if (cl) c->body_left = strtoul(cl + 17, NULL, 10);
            c->in_body = true;
            if (s_act(c->s)->early) {
                c->discard = true;
                c->body_left = 0;
                c->in_body = false;
                tc_request(c);
                if (c->bev) evbuffer_drain(in, evbuffer_get_length(in));
                return;
            }
        }
        char tmp[16384];
        while (c->body_left && evbuffer_get_length(in)) {
            size_t k = c->body_left < sizeof tmp ? c->body_left : sizeof tmp;
            int got = evbuffer_remove(in, tmp, k);
            if (got <= 0) break;
            for (int i = 0; i < got; i++)
                if ((uint8_t)tmp[i] != pat(c->body_got + (size_t)i)) c->body_bad++;
            c->body_got += (size_t)got;
            c->body_left -= (size_t)got;
        }
        if (c->body_left) return;
        c->in_body = false;
        tc_request(c);
    }
}

static void tc_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    tconn *c = arg;
    if (c->phase == 4) tc_free(c);
}

static void tc_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    tconn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) tc_free(c);
}

static void ts_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l; (void)sa; (void)salen;
    tsrv *s = arg;
    assert_true(s->accepted < MAXC);
    tconn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->s = s;
    c->id = s->accepted;
    s->conns[s->accepted++] = c;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(c->bev);
    c->tm = evtimer_new(s->base, tc_timer, c);
    if (s->slow) {
        struct timeval tick = { 0, 10000 };
        if (!s->rl) s->rl = ev_token_bucket_cfg_new(65536, 65536, EV_RATE_LIMIT_MAX,
                                                    EV_RATE_LIMIT_MAX, &tick);
        bufferevent_set_rate_limit(c->bev, s->rl);
    }
    bufferevent_setcb(c->bev, tc_read, tc_write, tc_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void ts_start(tsrv *s, struct event_base *base)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    s->acts[0] = (tact){ .kind = A_ANSWER };
    s->nacts = 1;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    s->l = evconnlistener_new_bind(base, ts_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                   16, (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(s->l);
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    assert_int_equal(getsockname(evconnlistener_get_fd(s->l), (struct sockaddr *)&got, &gl), 0);
    s->port = ntohs(got.sin_port);
}

static void ts_script(tsrv *s, int n, const tact *a)
{
    memcpy(s->acts, a, (size_t)n * sizeof *a);
    s->nacts = n;
}

static int ts_open(const tsrv *s)
{
    int n = 0;
    for (int i = 0; i < s->accepted; i++) n += s->conns[i]->bev != NULL;
    return n;
}

static void ts_stop(tsrv *s)
{
    for (int i = 0; i < s->accepted; i++) {
        tc_free(s->conns[i]);
        if (s->conns[i]->tm) event_free(s->conns[i]->tm);
        free(s->conns[i]);
    }
    if (s->l) evconnlistener_free(s->l);
    if (s->rl) ev_token_bucket_cfg_free(s->rl);
    s->l = NULL;
}

/* ---- the client side ------------------------------------------------------------- */

typedef struct tcli {
    struct event_base *base;
    http_loop *loop;
    http_xfer x;
    tsrv a, b;
    int ndone;
    bool in_start;
    bool done_in_start;
    http_result r;
    char url[256], url2[256];
    /* chained requests: done() starts the next one itself, as the engine's users do */
    int chain, chain_ok, chain_retries;
    http_req chain_req;
} tcli;

static void on_done(http_xfer *x, const http_result *r)
{
    tcli *t = x->ud;
    if (t->in_start) t->done_in_start = true;
    t->ndone++;
    t->r = *r;
    if (t->chain > 0) {
        t->chain_ok += !r->failed && r->status == 200;
        t->chain_retries += (int)r->retries;
        if (--t->chain > 0) {
            t->in_start = true;
            assert_int_equal(http_xfer_start(x, &t->chain_req), 0);
            t->in_start = false;
        }
    }
}

static int setup(void **st)
{
    tcli *t = calloc(1, sizeof *t);
    t->base = event_base_new();
    t->loop = http_loop_new(t->base);
    ts_start(&t->a, t->base);
    ts_start(&t->b, t->base);
    snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d/", t->a.port);
    *st = t;
    return 0;
}

static int teardown(void **st)
{
    tcli *t = *st;
    if (t->x.loop) http_xfer_fini(&t->x);
    ts_stop(&t->a);
    ts_stop(&t->b);
    http_loop_free(t->loop);
    event_base_free(t->base);
    free(t);
    return 0;
}

static void xinit(tcli *t, http_opts o)
{
    o.client = HTTP_CLIENT_LEAN;
    assert_int_equal(http_xfer_init(&t->x, t->loop, &o, on_done, t), 0);
    assert_true(t->x.lean);
}

static void xinit0(tcli *t) { xinit(t, (http_opts){ 0 }); }

/* Runs the loop for ms (the server and the client both work; done() does not stop it). */
static void spin_end(evutil_socket_t fd, short w, void *arg)
{
    (void)fd; (void)w;
    event_base_loopbreak(arg);
}

static void spin(tcli *t, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    struct event *e = evtimer_new(t->base, spin_end, t->base);
    assert_non_null(e);
    evtimer_add(e, &tv);
    event_base_dispatch(t->base);
    event_free(e);
}

/* Starts r and runs the loop in 5 ms slices until done() (at most 10 s; asserted). */
static void run(tcli *t, const http_req *r)
{
    int before = t->ndone;
    memset(&t->r, 0, sizeof t->r);
    t->in_start = true;
    assert_int_equal(http_xfer_start(&t->x, r), 0);
    t->in_start = false;
    uint64_t t0 = time_mono_us();
    while (t->ndone == before && time_mono_us() - t0 < 10000000ull) spin(t, 5);
    assert_false(t->done_in_start);
    assert_int_equal(t->ndone, before + 1);
    assert_false(t->x.active);
}

static http_req get(const char *url)
{
    return (http_req){ .method = "GET", .url = url, .timeout_ms = 5000 };
}

/* Spins until the server has read n requests (at most 5 s). */
static void wait_reqs(tcli *t, tsrv *s, int n)
{
    uint64_t t0 = time_mono_us();
    while (s->nreq < n && time_mono_us() - t0 < 5000000ull) spin(t, 20);
    assert_int_equal(s->nreq, n);
}

/* ---- 1. keep-alive ---------------------------------------------------------------- */

static void test_reuse(void **st)
{
    tcli *t = *st;
    xinit0(t);
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.bytes, 2);
    assert_true(t->r.connect_us > 0);
    assert_true(t->r.total_us > 0);
    assert_true(t->r.ttfb_us > 0);
    assert_int_equal(http_loop_conns(t->loop), 1);
    spin(t, 20);
    assert_int_equal(http_loop_conns(t->loop), 1);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.connect_us, 0);
    assert_int_equal(t->r.retries, 0);
    assert_int_equal(t->a.accepted, 1);
    assert_int_equal(t->a.nreq, 2);
    assert_int_equal(t->a.reqs[0].conn, 0);
    assert_int_equal(t->a.reqs[1].conn, 0);
    assert_non_null(strstr(t->a.reqs[1].head, "GET / HTTP/1.1\r\n"));
    assert_int_equal(http_loop_conns(t->loop), 1);
}

/* ---- 2. the server closes the idle connection -------------------------------------- */

static void test_server_closes_idle(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 1, (tact[]){ { .kind = A_ANSWER, .close = true, .close_ms = 50 } });
    http_req r = get(t->url);
    run(t, &r);
    assert_int_equal(t->r.status, 200);
    spin(t, 300);                   /* the server closes; the client sees EOF */
    assert_int_equal(t->a.closed, 1);
    assert_int_equal(http_loop_conns(t->loop), 0);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.retries, 0);
    assert_true(t->r.connect_us > 0);
    assert_int_equal(t->a.accepted, 2);
    assert_int_equal(t->a.nreq, 2);
    assert_int_equal(t->a.reqs[1].conn, 1);
}

/* ---- 3. retry ----------------------------------------------------------------------- */

static void test_retry_get(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 3, (tact[]){ { .kind = A_ANSWER }, { .kind = A_DROP }, { .kind = A_ANSWER } });
    http_req r = get(t->url);
    run(t, &r);
    assert_int_equal(t->r.retries, 0);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.retries, 1);
    assert_int_equal(t->a.accepted, 2);
    assert_int_equal(t->a.nreq, 3);
    assert_int_equal(t->a.reqs[1].conn, 0);
    assert_int_equal(t->a.reqs[2].conn, 1);
    assert_string_equal(t->a.reqs[1].head, t->a.reqs[2].head);
}

static void test_retry_not_post(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 3, (tact[]){ { .kind = A_ANSWER }, { .kind = A_DROP }, { .kind = A_ANSWER } });
    http_req r = get(t->url);
    run(t, &r);
    static const char body[] = "\x00\x01\x02";
    http_req p = { .method = "POST", .url = t->url, .body = body, .body_len = 3, .timeout_ms = 5000 };
    run(t, &p);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_non_null(t->r.detail);
    assert_true(strlen(t->r.detail) > 0);
    assert_int_equal(t->r.retries, 0);
    assert_int_equal(t->r.status, 0);
    spin(t, 50);
    assert_int_equal(t->a.nreq, 2);
    assert_int_equal(t->a.accepted, 1);
    assert_non_null(strstr(t->a.reqs[1].head, "POST / HTTP/1.1\r\n"));
    assert_int_equal(t->a.reqs[1].body_len, 3);
    assert_true(t->a.reqs[1].body_ok);
}

/* ---- 4. done() never from inside start ------------------------------------------- */

static bool refuse_all(const void *ud, const struct sockaddr *sa)
{
    (void)sa;
    int *n = (int *)ud;
    (*n)++;
    return false;
}

static void test_done_from_loop(void **st)
{
    tcli *t = *st;
    xinit0(t);
    http_req r = get("ftp://127.0.0.1/x");
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_string_equal(t->r.detail, "Unsupported protocol");

    /* a port with no listener: B's, closed */
    int port = t->b.port;
    evconnlistener_free(t->b.l);
    t->b.l = NULL;
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", port);
    r = get(u);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_CONNECT);
    assert_string_equal(t->r.detail, "Couldn't connect to server");
    assert_int_equal(http_loop_conns(t->loop), 0);
    http_xfer_fini(&t->x);

    int asked = 0;
    xinit(t, (http_opts){ .allow = refuse_all, .allow_ud = &asked });
    r = get(t->url);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_CONNECT);
    assert_string_equal(t->r.detail, "target outside the worker's --allow");
    assert_true(asked >= 1);
    assert_int_equal(t->a.accepted, 0);
    assert_int_equal(http_loop_conns(t->loop), 0);
}

/* ---- 5. timeout --------------------------------------------------------------------- */

static void test_timeout(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 1, (tact[]){ { .kind = A_SILENT } });
    http_req r = get(t->url);
    r.timeout_ms = 300;
    uint64_t t0 = time_mono_us();
    run(t, &r);
    uint64_t took = time_mono_us() - t0;
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_TIMEOUT);
    assert_string_equal(t->r.detail, "Timeout was reached");
    assert_true(took >= 290000);
    assert_true(took < 5000000);        /* slack for a loaded machine */
    assert_int_equal(http_loop_conns(t->loop), 0);
    assert_int_equal(t->a.nreq, 1);
    spin(t, 100);
    assert_int_equal(t->a.closed, 1);   /* the server saw the close */
}

/* headers that stop halfway: a timeout, the connection closed, the next request on a
 * new one; then a header block beyond HRESP_MAX_HEADER_BYTES: a bounded failure */
static void test_stalled_and_huge_headers(void **st)
{
    tcli *t = *st;
    xinit0(t);
    size_t big = 100u << 10;
    char *huge = malloc(big + 128);
    assert_non_null(huge);
    int k = snprintf(huge, 128, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(huge + k, 'h', big);
    strcpy(huge + k + big, "\r\nContent-Length: 0\r\n\r\n");
    ts_script(&t->a, 3, (tact[]){ { .kind = A_ANSWER, .resp = "HTTP/1.1 200 OK\r\nContent-Le" },
                                  { .kind = A_ANSWER }, { .kind = A_ANSWER, .resp = huge } });
    http_req r = get(t->url);
    r.timeout_ms = 300;
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_TIMEOUT);
    assert_true(t->r.ttfb_us > 0);          /* bytes came, then nothing */
    assert_int_equal(http_loop_conns(t->loop), 0);
    r.timeout_ms = 5000;
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.accepted, 2);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_non_null(t->r.detail);
    assert_non_null(strstr(t->r.detail, "too large"));
    assert_int_equal(http_loop_conns(t->loop), 0);
    spin(t, 50);
    free(huge);
}

/* ---- 6. cancel ---------------------------------------------------------------------- */

static void test_cancel(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 2, (tact[]){ { .kind = A_SILENT }, { .kind = A_ANSWER } });
    http_req r = get(t->url);
    assert_int_equal(http_xfer_start(&t->x, &r), 0);
    wait_reqs(t, &t->a, 1);
    assert_true(t->x.active);
    assert_int_equal(http_loop_active(t->loop), 1);
    http_xfer_cancel(&t->x);
    assert_false(t->x.active);
    assert_int_equal(http_loop_active(t->loop), 0);
    assert_int_equal(http_loop_conns(t->loop), 0);
    spin(t, 100);
    assert_int_equal(t->ndone, 0);
    assert_int_equal(t->a.closed, 1);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->ndone, 1);
    assert_int_equal(t->a.accepted, 2);
    assert_int_equal(t->a.reqs[1].conn, 1);
    spin(t, 5200);                      /* past the cancelled request's timeout */
    assert_int_equal(t->ndone, 1);
    /* a failure deferred from start (done() not yet called), cancelled: never delivered,
     * and the next request's result is its own */
    http_req f = get("ftp://127.0.0.1/");
    assert_int_equal(http_xfer_start(&t->x, &f), 0);
    http_xfer_cancel(&t->x);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    spin(t, 50);
    assert_int_equal(t->ndone, 2);
}

/* ---- 7. a large body to a slow reader ----------------------------------------------- */

/* POSTs n bytes to A reading at about 6 MB/s with a small receive buffer (inherited by
 * the accepted socket from the listener, its window scale chosen from it). Loopback's
 * send buffer grows to tcp_wmem's maximum (4 MB by default), so 2 MB may still go out in
 * one writev; 8 MB cannot: the client's writes are partial and it waits for EV_WRITE. */
static void big_post(tcli *t, size_t n)
{
    t->a.slow = true;
    int small = 32768;
    assert_int_equal(setsockopt(evconnlistener_get_fd(t->a.l), SOL_SOCKET, SO_RCVBUF,
                                &small, sizeof small), 0);
    xinit0(t);
    char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++) body[i] = (char)pat(i);
    http_req p = { .method = "POST", .url = t->url, .body = body, .body_len = n, .timeout_ms = 30000 };
    assert_int_equal(http_xfer_start(&t->x, &p), 0);
    uint64_t t0 = time_mono_us();
    while (t->ndone == 0 && time_mono_us() - t0 < 30000000ull) spin(t, 20);
    assert_int_equal(t->ndone, 1);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.nreq, 1);
    char cl[64];
    snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", n);
    assert_non_null(strstr(t->a.reqs[0].head, cl));
    assert_int_equal(t->a.reqs[0].body_len, n);
    assert_true(t->a.reqs[0].body_ok);
    free(body);
}

static void test_post_2m_slow_reader(void **st) { big_post(*st, 2u << 20); }
static void test_post_8m_slow_reader(void **st) { big_post(*st, 8u << 20); }

/* ---- 8. redirects ------------------------------------------------------------------- */

static void test_redirect_other_port(void **st)
{
    tcli *t = *st;
    xinit(t, (http_opts){ .follow_redirects = true });
    char loc[256];
    snprintf(loc, sizeof loc, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/final\r\n"
             "Content-Length: 0\r\n\r\n", t->b.port);
    ts_script(&t->a, 1, (tact[]){ { .kind = A_ANSWER, .resp = loc } });
    ts_script(&t->b, 1, (tact[]){ { .kind = A_ANSWER,
        .resp = "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nyes" } });
    t->x.keep_hdrs = true;
    t->x.keep_body = true;
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 201);
    assert_int_equal(t->r.bytes, 3);
    assert_string_equal(t->x.body, "yes");
    assert_non_null(strstr(t->x.hdrs, "HTTP/1.1 302 Found"));
    assert_non_null(strstr(t->x.hdrs, "HTTP/1.1 201 Created"));
    assert_true(strstr(t->x.hdrs, "302") < strstr(t->x.hdrs, "201"));
    assert_int_equal(t->a.nreq, 1);
    assert_int_equal(t->b.accepted, 1);
    assert_int_equal(t->b.nreq, 1);
    assert_non_null(strstr(t->b.reqs[0].head, "GET /final HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", t->b.port);
    assert_non_null(strstr(t->b.reqs[0].head, host));
    assert_int_equal(http_loop_conns(t->loop), 1);
    spin(t, 50);
    assert_int_equal(t->a.closed, 1);   /* A's connection was let go */
}

static void test_redirect_303_post(void **st)
{
    tcli *t = *st;
    xinit(t, (http_opts){ .follow_redirects = true });
    ts_script(&t->a, 2, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 303 See Other\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n" },
        { .kind = A_ANSWER } });
    static const char body[] = "\x00\x01\x02\x03\x04";
    http_req p = { .method = "POST", .url = t->url, .body = body, .body_len = 5, .timeout_ms = 5000 };
    run(t, &p);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.nreq, 2);
    assert_non_null(strstr(t->a.reqs[0].head, "POST / HTTP/1.1\r\n"));
    assert_int_equal(t->a.reqs[0].body_len, 5);
    assert_non_null(strstr(t->a.reqs[1].head, "GET /other HTTP/1.1\r\n"));
    assert_null(strcasestr(t->a.reqs[1].head, "Content-Length"));
    assert_null(strcasestr(t->a.reqs[1].head, "Content-Type"));
    assert_int_equal(t->a.reqs[1].body_len, 0);
    assert_int_equal(t->a.accepted, 1);
}

static void test_redirect_loop(void **st)
{
    tcli *t = *st;
    xinit(t, (http_opts){ .follow_redirects = true });
    ts_script(&t->a, 1, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n" } });
    http_req r = get(t->url);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_string_equal(t->r.detail, "Number of redirects hit maximum amount");
    assert_int_equal(t->a.nreq, 31);    /* the first and 30 redirects, like libcurl's default */
    assert_int_equal(t->a.accepted, 1);
}

/* the allowlist is asked at every connect, a redirect's included */
static bool allow_port(const void *ud, const struct sockaddr *sa)
{
    const int *port = ud;
    return sa->sa_family == AF_INET && ntohs(((const struct sockaddr_in *)sa)->sin_port) == *port;
}

static void test_redirect_outside_allow(void **st)
{
    tcli *t = *st;
    int port = t->a.port;
    xinit(t, (http_opts){ .follow_redirects = true, .allow = allow_port, .allow_ud = &port });
    char loc[256];
    snprintf(loc, sizeof loc, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/\r\n"
             "Content-Length: 0\r\n\r\n", t->b.port);
    ts_script(&t->a, 1, (tact[]){ { .kind = A_ANSWER, .resp = loc } });
    http_req r = get(t->url);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_CONNECT);
    assert_string_equal(t->r.detail, "target outside the worker's --allow");
    assert_int_equal(t->a.nreq, 1);
    assert_int_equal(t->b.accepted, 0);
    assert_int_equal(http_loop_conns(t->loop), 0);
}

/* a name with more than one address: those that refuse are passed over */
static void test_localhost_addresses(void **st)
{
    tcli *t = *st;
    xinit0(t);
    char u[128];
    snprintf(u, sizeof u, "http://localhost:%d/x", t->a.port);
    http_req r = get(u);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.nreq, 1);
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: localhost:%d\r\n", t->a.port);
    assert_non_null(strstr(t->a.reqs[0].head, host));
}

/* without follow_redirects the 302 is the answer; the loop's host table is bounded
 * (HL_MAX_HOSTS host:port pairs; every connect refused by the allowlist, so nothing
 * leaves the process) */
static void test_no_follow_and_host_table(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 1, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n" } });
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 302);
    assert_int_equal(t->a.nreq, 1);
    http_xfer_fini(&t->x);
    int asked = 0;
    xinit(t, (http_opts){ .allow = refuse_all, .allow_ud = &asked });
    int hosts = 0;
    for (int i = 0; i < 400; i++) {
        char u[64];
        snprintf(u, sizeof u, "http://127.0.0.1:%d/", 20000 + i);
        r = get(u);
        run(t, &r);
        assert_true(t->r.failed);
        assert_int_equal(t->r.kind, ERR_CONNECT);
        if (!strcmp(t->r.detail, "too many distinct hosts on one engine thread")) break;
        assert_string_equal(t->r.detail, "target outside the worker's --allow");
        hosts++;
    }
    assert_int_equal(hosts, 255);       /* A's host:port is the first entry */
    assert_int_equal(asked, 255);
    assert_int_equal(http_loop_conns(t->loop), 0);
}

/* ---- 9. responses without a body ------------------------------------------------------ */

static void test_no_body(void **st)
{
    tcli *t = *st;
    xinit0(t);
    t->x.keep_body = true;
    ts_script(&t->a, 4, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" },
        { .kind = A_ANSWER, .resp = "HTTP/1.1 204 No Content\r\n\r\n" },
        { .kind = A_ANSWER, .resp = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                                    "Link: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody" },
        { .kind = A_ANSWER } });
    http_req h = { .method = "HEAD", .url = t->url, .timeout_ms = 5000 };
    run(t, &h);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.bytes, 0);
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 204);
    assert_int_equal(t->r.bytes, 0);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.bytes, 4);
    assert_string_equal(t->x.body, "body");
    run(t, &r);
    assert_int_equal(t->r.status, 200);
    assert_string_equal(t->x.body, "ok");
    assert_int_equal(t->a.nreq, 4);
    assert_int_equal(t->a.accepted, 1);     /* all on one connection */
    assert_non_null(strstr(t->a.reqs[0].head, "HEAD / HTTP/1.1\r\n"));
}

/* ---- 10. cookies ----------------------------------------------------------------------- */

static void test_cookies(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 2, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nContent-Length: 0\r\n\r\n" },
        { .kind = A_ANSWER } });
    http_req r = get(t->url);
    run(t, &r);
    assert_null(strcasestr(t->a.reqs[0].head, "\r\nCookie:"));
    run(t, &r);
    assert_non_null(strstr(t->a.reqs[1].head, "\r\nCookie: a=1\r\n"));
    http_xfer_drop_cookies(&t->x);
    run(t, &r);
    assert_int_equal(t->a.nreq, 3);
    assert_null(strcasestr(t->a.reqs[2].head, "\r\nCookie:"));
}

/* ---- 11. a response one byte at a time -------------------------------------------------- */

static void test_dribble(void **st)
{
    tcli *t = *st;
    xinit0(t);
    t->x.keep_body = true;
    t->x.keep_hdrs = true;
    ts_script(&t->a, 2, (tact[]){
        { .kind = A_ANSWER, .dribble = true,
          .resp = "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" },
        { .kind = A_ANSWER, .dribble = true,
          .resp = "HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nabcde" } });
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.bytes, 11);
    assert_string_equal(t->x.body, "hello world");
    assert_non_null(strstr(t->x.hdrs, "X-A: 1"));
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 202);
    assert_string_equal(t->x.body, "abcde");
    assert_int_equal(t->a.accepted, 1);
    assert_int_equal(t->a.nreq, 2);
}

/* ---- beyond the list: early answers, close-delimited and cut bodies, races ---------- */

static void test_early_answer_to_big_post(void **st)
{
    tcli *t = *st;
    /* the server answers 413 and closes after the head, while the body is still coming */
    ts_script(&t->a, 1, (tact[]){ { .kind = A_ANSWER, .close = true, .early = true,
        .resp = "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" } });
    t->a.slow = true;
    int small = 32768;
    assert_int_equal(setsockopt(evconnlistener_get_fd(t->a.l), SOL_SOCKET, SO_RCVBUF,
                                &small, sizeof small), 0);
    xinit0(t);
    size_t n = 8u << 20;
    char *body = malloc(n);
    assert_non_null(body);
    memset(body, 'x', n);
    /* the answer may come back (413) or the close may reset the connection under the
     * client's writes (a send or receive error): either way one result, nothing hangs */
    http_req p = { .method = "POST", .url = t->url, .body = body, .body_len = n, .timeout_ms = 30000 };
    run(t, &p);
    if (!t->r.failed) assert_int_equal(t->r.status, 413);
    else assert_int_equal(t->r.kind, ERR_OTHER);
    spin(t, 50);
    assert_int_equal(http_loop_conns(t->loop), 0);
    free(body);
}

static void test_close_delimited_and_cut(void **st)
{
    tcli *t = *st;
    xinit0(t);
    t->x.keep_body = true;
    ts_script(&t->a, 2, (tact[]){
        { .kind = A_ANSWER, .close = true, .resp = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end" },
        { .kind = A_ANSWER, .close = true, .resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfive!" } });
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_string_equal(t->x.body, "until the end");
    assert_int_equal(http_loop_conns(t->loop), 0);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_string_equal(t->r.detail, "Transferred a partial file");
    assert_int_equal(t->r.retries, 0);      /* a fresh connection: no retry */
    assert_int_equal(t->a.nreq, 2);
    assert_int_equal(http_loop_conns(t->loop), 0);
}

static void test_next_request_races_idle_close(void **st)
{
    tcli *t = *st;
    xinit0(t);
    /* the server closes right after each answer; the next request is started before the
     * loop runs again, so the client may write on the dying connection: it must still
     * succeed (retried once) or go out on a new connection */
    ts_script(&t->a, 1, (tact[]){ { .kind = A_ANSWER, .close = true } });
    http_req r = get(t->url);
    for (int i = 0; i < 5; i++) {
        run(t, &r);
        assert_false(t->r.failed);
        assert_int_equal(t->r.status, 200);
        assert_true(t->r.retries <= 1);
    }
    assert_int_equal(t->a.nreq, 5);
    assert_int_equal(t->a.accepted, 5);
}

static void test_retry_only_once(void **st)
{
    tcli *t = *st;
    xinit0(t);
    ts_script(&t->a, 3, (tact[]){ { .kind = A_ANSWER }, { .kind = A_DROP }, { .kind = A_DROP } });
    http_req r = get(t->url);
    run(t, &r);
    run(t, &r);
    assert_true(t->r.failed);
    assert_int_equal(t->r.kind, ERR_OTHER);
    assert_string_equal(t->r.detail, "Server returned nothing (no headers, no data)");
    assert_int_equal(t->r.retries, 1);
    assert_int_equal(t->a.nreq, 3);
    assert_int_equal(t->a.accepted, 2);
    assert_int_equal(http_loop_conns(t->loop), 0);
}

static void test_more_bodiless_and_extra_bytes(void **st)
{
    tcli *t = *st;
    xinit0(t);
    t->x.keep_body = true;
    ts_script(&t->a, 5, (tact[]){
        { .kind = A_ANSWER, .resp = "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n" },
        { .kind = A_ANSWER, .resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" },
        { .kind = A_ANSWER, .resp = OK200 "UNASKED" },
        { .kind = A_ANSWER },
        { .kind = A_ANSWER } });
    http_req r = get(t->url);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 304);
    assert_int_equal(t->r.bytes, 0);
    http_req h = { .method = "HEAD", .url = t->url, .timeout_ms = 5000 };
    run(t, &h);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.accepted, 1);     /* both on the first connection */
    run(t, &r);                             /* bytes after the answer: the connection goes */
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_string_equal(t->x.body, "ok");
    spin(t, 20);
    assert_int_equal(http_loop_conns(t->loop), 0);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->r.retries, 0);
    assert_int_equal(t->a.accepted, 2);
    assert_int_equal(t->a.reqs[3].conn, 1);
    /* an answer the server sends on the idle connection unasked: the client drops it */
    bufferevent_write(t->a.conns[1]->bev, OK200, strlen(OK200));
    spin(t, 50);
    assert_int_equal(http_loop_conns(t->loop), 0);
    run(t, &r);
    assert_false(t->r.failed);
    assert_int_equal(t->r.status, 200);
    assert_int_equal(t->a.accepted, 3);
    assert_int_equal(t->a.nreq, 5);
}

static void test_chain_from_done(void **st)
{
    tcli *t = *st;
    xinit0(t);
    /* kept, closed right after the answer (the next request is written from done(),
     * before the close can be seen), dropped unanswered on a kept connection, kept */
    ts_script(&t->a, 6, (tact[]){ { .kind = A_ANSWER }, { .kind = A_ANSWER, .close = true },
                                  { .kind = A_ANSWER }, { .kind = A_DROP },
                                  { .kind = A_ANSWER, .close = true }, { .kind = A_ANSWER } });
    t->chain_req = get(t->url);
    t->chain = 10;
    assert_int_equal(http_xfer_start(&t->x, &t->chain_req), 0);
    uint64_t t0 = time_mono_us();
    while (t->chain > 0 && time_mono_us() - t0 < 10000000ull) spin(t, 5);
    assert_int_equal(t->chain, 0);
    assert_false(t->done_in_start);
    assert_int_equal(t->ndone, 10);
    assert_int_equal(t->chain_ok, 10);
    /* the server read the ten answered requests and the dropped one */
    assert_int_equal(t->a.nreq, 11);
    assert_true(t->chain_retries >= 1);
    spin(t, 20);
    assert_int_equal(http_loop_conns(t->loop), 1);
    assert_int_equal(ts_open(&t->a), 1);
}

/* ---- 12. fini leaves no descriptor -------------------------------------------------------- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_fini_fds(void **st)
{
    tcli *t = *st;
    ts_script(&t->a, 2, (tact[]){ { .kind = A_ANSWER }, { .kind = A_SILENT } });
    int before = count_fds();
    /* an idle connection */
    xinit0(t);
    http_req r = get(t->url);
    run(t, &r);
    assert_int_equal(http_loop_conns(t->loop), 1);
    assert_true(count_fds() > before);
    http_xfer_fini(&t->x);
    assert_int_equal(http_loop_conns(t->loop), 0);
    spin(t, 100);                       /* the server closes its end on EOF */
    assert_int_equal(ts_open(&t->a), 0);
    assert_int_equal(count_fds(), before);
    /* a request in flight */
    xinit0(t);
    assert_int_equal(http_xfer_start(&t->x, &r), 0);
    wait_reqs(t, &t->a, 2);
    assert_int_equal(http_loop_active(t->loop), 1);
    http_xfer_fini(&t->x);
    assert_int_equal(http_loop_active(t->loop), 0);
    assert_int_equal(http_loop_conns(t->loop), 0);
    spin(t, 100);
    assert_int_equal(ts_open(&t->a), 0);
    assert_int_equal(count_fds(), before);
    assert_int_equal(t->ndone, 1);
    /* a failure deferred from start, then fini before the loop delivers it */
    xinit0(t);
    http_req f = get("ftp://127.0.0.1/");
    assert_int_equal(http_xfer_start(&t->x, &f), 0);
    http_xfer_fini(&t->x);
    spin(t, 50);
    assert_int_equal(t->ndone, 1);
    assert_int_equal(http_loop_active(t->loop), 0);
    assert_int_equal(count_fds(), before);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);           /* as the worker does (worker/main.c) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_not_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_from_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_and_huge_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_2m_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_8m_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_other_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_303_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_outside_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_follow_and_host_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dribble, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_answer_to_big_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_delimited_and_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_request_races_idle_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_only_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_bodiless_and_extra_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_from_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fini_fds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
