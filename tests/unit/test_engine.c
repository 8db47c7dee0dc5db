/* Unit tests for worker/engine.c: user state is allocated as the schedule starts users,
 * not for the plan's peak (issue 9, item 6), and flows with http steps run against a fake
 * transport (issue 10): this file implements worker/http.h itself (a test double, below),
 * so the linker takes it instead of worker/http.c and no request leaves the process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include <pthread.h>
#include <math.h>
#include "common/hist.h"
#include "common/loadshape.h"
#include "common/scenario.h"
#include "common/time.h"
#include "common/util.h"
#include "proto/msg.h"
#include "worker/engine.h"
#include "worker/engine_flow.h"
#include "worker/engine_int.h"     /* ENGINE_SPIN_US */
#include "worker/http.h"

/* ---- the fake transport ------------------------------------------------------------
 * worker/http.h implemented over the engine's event_base: a request is answered by
 * fake_respond 1 ms (or its delay_ms) after it starts, from the loop, as libcurl's
 * completions come, with that delay as its total time. The
 * xfer's `easy` handle (void * in curl.h) carries the fake's per-transfer record. */
typedef struct fake_reply {
    long           status;
    const char    *body;        /* NULL: none */
    const char    *hdrs;        /* NULL: none */
    bool           fail;        /* a transport failure: kind and detail */
    stats_err_kind kind;
    const char    *detail;
    unsigned       delay_ms;    /* 0: 1 ms */
} fake_reply;

struct http_loop { struct event_base *base; int active; };
typedef struct fake_xfer { struct event ev; http_result r; } fake_xfer;

static fake_reply (*fake_respond)(const http_req *r);
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static char fake_seen[256][160];    /* "METHOD url [Content-Type]" of each request */
static unsigned fake_nseen;
static atomic_uint fake_started;    /* requests started, all of them */

http_loop *http_loop_new(struct event_base *base)
{
    http_loop *l = calloc(1, sizeof *l);
    if (l) l->base = base;
    return l;
}
void http_loop_free(http_loop *l) { free(l); }
int  http_loop_active(const http_loop *l) { return l->active; }
uint32_t http_loop_conns(const http_loop *l) { (void)l; return 0; }

static void fake_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    http_xfer *x = arg;
    fake_xfer *f = x->impl;
    x->active = false;
    x->loop->active--;
    x->done(x, &f->r);
}

int http_xfer_init(http_xfer *x, http_loop *l, const http_opts *o, http_done_fn done, void *ud)
{
    memset(x, 0, sizeof *x);
    fake_xfer *f = calloc(1, sizeof *f);
    if (!f) return -1;
    event_assign(&f->ev, l->base, -1, 0, fake_fire, x);
    x->impl = f;
    x->loop = l;
    x->done = done;
    x->ud = ud;
    x->opts = *o;
    return 0;
}

void http_xfer_cancel(http_xfer *x)
{
    if (!x->active) return;
    event_del(&((fake_xfer *)x->impl)->ev);
    x->active = false;
    x->loop->active--;
}

void http_xfer_fini(http_xfer *x)
{
    if (!x->impl) return;
    http_xfer_cancel(x);
    free(x->impl);
    free(x->body);
    free(x->hdrs);
    memset(x, 0, sizeof *x);
}

static atomic_uint fake_cookie_drops;  /* http_xfer_drop_cookies calls (stop_user, open) */
void http_xfer_drop_cookies(http_xfer *x)
{
    (void)x;
    atomic_fetch_add(&fake_cookie_drops, 1);
}

static int fake_keep(char **buf, size_t *len, size_t *cap, const char *text)
{
    *len = strlen(text);
    if (util_reserve(buf, cap, *len + 1) != 0) return -1;
    memcpy(*buf, text, *len + 1);
    return 0;
}

int http_xfer_start(http_xfer *x, const http_req *r)
{
    if (x->active) return -1;
    fake_reply rep = fake_respond(r);
    const char *ct = "";
    for (int i = 0; i < r->nheaders; i++)
        if (!strncasecmp(r->headers[i], "Content-Type:", 13)) ct = r->headers[i];
    pthread_mutex_lock(&fake_mu);
    if (fake_nseen < 256)
        snprintf(fake_seen[fake_nseen++], sizeof fake_seen[0], "%s %s [%s]", r->method, r->url, ct);
    pthread_mutex_unlock(&fake_mu);
    fake_xfer *f = x->impl;
    x->body_len = x->hdrs_len = 0;
    if (x->keep_body && rep.body && fake_keep(&x->body, &x->body_len, &x->body_cap, rep.body) != 0) return -1;
    if (x->keep_hdrs && rep.hdrs && fake_keep(&x->hdrs, &x->hdrs_len, &x->hdrs_cap, rep.hdrs) != 0) return -1;
    unsigned ms = rep.delay_ms ? rep.delay_ms : 1;
    f->r = (http_result){ .failed = rep.fail, .kind = rep.kind, .detail = rep.detail,
                          .status = rep.fail ? 0 : rep.status, .total_us = ms * 1000u,
                          .bytes = rep.body ? strlen(rep.body) : 0 };
    struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
    atomic_fetch_add(&fake_started, 1);
    /* the delay from now, not from libevent's cached time (the pass's start): the
     * answer comes no sooner than its total time after the engine took the send time
     * (a spinning engine wakes on time, so the difference showed) */
    event_base_update_cache_time(x->loop->base);
    event_add(&f->ev, &tv);
    x->active = true;
    x->loop->active++;
    return 0;
}

static int no_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    (void)ud; (void)path; (void)data; (void)len;
    snprintf(err, errcap, "no files here");
    return -1;
}

static scenario *think_scenario(const char *stages)
{
    char text[1024];
    snprintf(text, sizeof text,
             "name: engine-mem\n"
             "target: http://127.0.0.1:1\n"
             "load:\n"
             "  stages:\n%s"
             "  graceful_stop: 1s\n"
             "users:\n"
             "  - name: thinker\n"
             "    flow:\n"
             "      - think: 200ms\n", stages);
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "engine.yaml", NULL, 0, no_read, NULL, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

/* The most users any delta reported, and how many deltas came. */
typedef struct seen { atomic_uint max_users; atomic_uint deltas; } seen;

static void emit(void *ud, char *buf, size_t len)
{
    seen *s = ud;
    proto_msg m;
    if (proto_decode(buf, len, &m) == PROTO_OK && m.type == MSG_STATS) {
        unsigned u = m.u.stats.users, cur = atomic_load(&s->max_users);
        while (u > cur && !atomic_compare_exchange_weak(&s->max_users, &cur, u)) {}
        atomic_fetch_add(&s->deltas, 1);
        proto_msg_free(&m);
    }
    free(buf);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Runs sc on one engine owning both slots of a 2-slot run; stops it after stop_ms (0:
 * let the stages end) and returns engine_users_bytes once it has finished. */
static size_t run_engine(const scenario *sc, unsigned stop_ms, seen *s)
{
    static const uint32_t slots[2] = { 0, 1 };
    engine_cfg c = { .sc = sc, .target = sc->target, .run_id = 7, .worker_id = "unit",
                     .slots = slots, .nslots = 2, .threads_total = 2,
                     .start_mono_us = time_mono_us(), .interval_ms = 200, .name_cap = 0,
                     .emit = emit, .emit_ud = s };
    char err[256];
    engine *e = engine_start(&c, err, sizeof err);
    if (!e) fail_msg("engine_start: %s", err);
    if (stop_ms) {
        sleep_ms(stop_ms);
        engine_stop(e);
    }
    for (int i = 0; i < 1000 && !engine_finished(e); i++) sleep_ms(10);    /* <= 10 s */
    assert_true(engine_finished(e));
    size_t bytes = engine_users_bytes(e);
    engine_join_free(e);
    return bytes;
}

/* A peak of 1,000,000 users reached over 3 hours, stopped after a second (~90 users):
 * the engine holds kilobytes per running user, not ~2 KiB per user of the peak. */
static void test_peak_not_allocated_up_front(void **state)
{
    (void)state;
    scenario *big = think_scenario("    - { duration: 3h, users: 1000000 }\n");
    assert_int_equal(scenario_peak_users(big), 1000000);
    seen sb = { 0 };
    size_t bytes_big = run_engine(big, 1000, &sb);
    unsigned users_big = atomic_load(&sb.max_users);
    scenario_free(big);
    print_message("peak 1,000,000, %u users ran: %zu KiB\n", users_big, bytes_big >> 10);
    assert_true(users_big > 0 && users_big < 1000);
    assert_true(bytes_big < 4u << 20);          /* before: ~2 GiB */

    /* 1,000 users at once for half a second: the bytes follow the users that ran */
    scenario *mid = think_scenario("    - { duration: 100ms, users: 1000 }\n"
                                   "    - { duration: 400ms, users: 1000 }\n");
    seen sm = { 0 };
    size_t bytes_mid = run_engine(mid, 0, &sm);
    unsigned users_mid = atomic_load(&sm.max_users);
    scenario_free(mid);
    print_message("peak 1,000, %u users ran: %zu KiB\n", users_mid, bytes_mid >> 10);
    assert_int_equal(users_mid, 1000);
    assert_true(bytes_mid > (size_t)1000 * 1024);   /* a user's state is over 1 KiB */
    assert_true(bytes_mid > bytes_big);
}

/* Users that ramp down and up again reuse their state (nothing grows on the way up a
 * second time), and a slot whose share is 0 holds no users. */
static void test_ramp_down_and_up_reuses(void **state)
{
    (void)state;
    scenario *a = think_scenario("    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 300ms, users: 300 }\n");
    scenario *b = think_scenario("    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 200ms, users: 300 }\n"
                                 "    - { duration: 100ms, users: 10 }\n"
                                 "    - { duration: 100ms, users: 10 }\n"
                                 "    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 400ms, users: 300 }\n");
    seen sa = { 0 }, sb = { 0 };
    size_t bytes_a = run_engine(a, 0, &sa);
    size_t bytes_b = run_engine(b, 0, &sb);
    assert_int_equal(atomic_load(&sa.max_users), 300);
    assert_int_equal(atomic_load(&sb.max_users), 300);
    /* the same 300 users' state either way (buffers aside: think-only users have none) */
    assert_int_equal(bytes_a, bytes_b);
    scenario_free(a);
    scenario_free(b);
}

/* ---- flows with http steps over the fake transport ---------------------------------- */

/* What the deltas said, summed: rows by name, errors by (name, kind, detail). */
typedef struct tally {
    pthread_mutex_t mu;
    struct { char name[STATS_NAME_MAX]; uint64_t requests, failures; } rows[16];
    int nrows;
    struct { char name[STATS_NAME_MAX]; uint32_t kind; char detail[STATS_DETAIL_MAX]; uint64_t count; } errs[16];
    int nerrs;
} tally;

static void tally_emit(void *ud, char *buf, size_t len)
{
    tally *t = ud;
    proto_msg m;
    if (proto_decode(buf, len, &m) == PROTO_OK && m.type == MSG_STATS) {
        pthread_mutex_lock(&t->mu);
        for (uint32_t i = 0; i < m.u.stats.nentries; i++) {
            const proto_stats_entry *e = &m.u.stats.entries[i];
            int j = 0;
            while (j < t->nrows && strcmp(t->rows[j].name, e->name)) j++;
            if (j == t->nrows && t->nrows < 16) snprintf(t->rows[t->nrows++].name, STATS_NAME_MAX, "%s", e->name);
            if (j < 16) {
                t->rows[j].requests += e->requests;
                t->rows[j].failures += e->failures;
            }
        }
        for (uint32_t i = 0; i < m.u.stats.nerrs; i++) {
            const proto_stats_err *e = &m.u.stats.errs[i];
            const char *name = m.u.stats.entries[e->entry].name;
            int j = 0;
            while (j < t->nerrs && (strcmp(t->errs[j].name, name) || t->errs[j].kind != e->kind ||
                                    strcmp(t->errs[j].detail, e->detail))) j++;
            if (j == t->nerrs && t->nerrs < 16) {
                snprintf(t->errs[j].name, STATS_NAME_MAX, "%s", name);
                t->errs[j].kind = e->kind;
                snprintf(t->errs[j].detail, STATS_DETAIL_MAX, "%s", e->detail);
                t->nerrs++;
            }
            if (j < 16) t->errs[j].count += e->count;
        }
        pthread_mutex_unlock(&t->mu);
        proto_msg_free(&m);
    }
    free(buf);
}

static const struct { uint64_t requests, failures; } *tally_row(const tally *t, const char *name)
{
    for (int j = 0; j < t->nrows; j++)
        if (!strcmp(t->rows[j].name, name)) return (const void *)&t->rows[j].requests;
    return NULL;
}

static uint64_t tally_err(const tally *t, const char *name, stats_err_kind kind, const char *detail)
{
    for (int j = 0; j < t->nerrs; j++)
        if (!strcmp(t->errs[j].name, name) && t->errs[j].kind == (uint32_t)kind &&
            !strcmp(t->errs[j].detail, detail))
            return t->errs[j].count;
    return 0;
}

static scenario *parse_text(const char *text)
{
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "engine.yaml", NULL, 0, no_read, NULL, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

/* Runs sc on one engine owning the only slot for run_ms, then stops it. */
static void run_fake(const scenario *sc, unsigned run_ms, tally *t)
{
    static const uint32_t slots[1] = { 0 };
    fake_nseen = 0;
    engine_cfg c = { .sc = sc, .target = sc->target, .run_id = 9, .worker_id = "unit",
                     .slots = slots, .nslots = 1, .threads_total = 1,
                     .start_mono_us = time_mono_us(), .interval_ms = 100, .name_cap = 0,
                     .emit = tally_emit, .emit_ud = t };
    char err[256];
    engine *e = engine_start(&c, err, sizeof err);
    if (!e) fail_msg("engine_start: %s", err);
    sleep_ms(run_ms);
    engine_stop(e);
    for (int i = 0; i < 1000 && !engine_finished(e); i++) sleep_ms(10);    /* <= 10 s */
    assert_true(engine_finished(e));
    engine_join_free(e);
}

static fake_reply erp_respond(const http_req *r)
{
    const char *path = strstr(r->url, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    if (!path) return (fake_reply){ .status = 400 };
    if (!strcmp(r->method, "POST") && !strcmp(path, "/auth/login"))
        return (fake_reply){ .status = 200, .body = "{\"access_token\": \"tok-42\", \"n\": 19.99}",
                             .hdrs = "HTTP/1.1 200 OK\r\nX-Session: s-7\r\n\r\n" };
    if (!strcmp(path, "/orders/tok-42/s-7")) return (fake_reply){ .status = 200, .body = "[]" };
    if (!strcmp(path, "/down"))
        return (fake_reply){ .fail = true, .kind = ERR_CONNECT, .detail = "Couldn't connect to server" };
    if (!strcmp(path, "/busy")) return (fake_reply){ .status = 503, .body = "busy" };
    if (!strcmp(path, "/state")) return (fake_reply){ .status = 200, .body = "{\"state\": \"idle\"}" };
    return (fake_reply){ .status = 404 };
}

/* A login captures a JSON token and a header; the next request's URL, joined to the
 * target, carries both; the JSON body gets its content type. Nothing fails. */
static void test_http_flow_captures(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: engine-http\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 1 }, { duration: 1h, users: 1 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    flow:\n"
        "      - http: { name: login, method: POST, url: /auth/login, json: { u: x },\n"
        "                capture: { token: { json: $.access_token }, sid: { header: X-Session } } }\n"
        "      - http: { name: orders, url: \"/orders/{{ token }}/{{ sid }}\", expect: { status: 200 } }\n"
        "      - think: 50ms\n");
    fake_respond = erp_respond;
    tally t = { .mu = PTHREAD_MUTEX_INITIALIZER };
    run_fake(sc, 300, &t);
    assert_non_null(tally_row(&t, "login"));
    assert_non_null(tally_row(&t, "orders"));
    assert_true(tally_row(&t, "login")->requests >= 2);
    assert_int_equal(tally_row(&t, "login")->failures, 0);
    assert_true(tally_row(&t, "orders")->requests >= 2);
    assert_int_equal(tally_row(&t, "orders")->failures, 0);
    assert_int_equal(t.nerrs, 0);
    assert_string_equal(fake_seen[0], "POST http://127.0.0.1:1/auth/login [Content-Type: application/json]");
    assert_string_equal(fake_seen[1], "GET http://127.0.0.1:1/orders/tok-42/s-7 []");
    scenario_free(sc);
}

/* Failures reach the results by kind and static detail: a transport failure (no
 * CURLcode in sight), a status outside expect, a JSON expect that does not hold, a
 * capture that does not happen. */
static void test_http_flow_failures(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: engine-fail\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 1 }, { duration: 1h, users: 1 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    flow:\n"
        "      - http: { name: down, url: /down }\n"
        "      - http: { name: busy, url: /busy }\n"
        "      - http: { name: state, url: /state, expect: { json: $.state, equals: running } }\n"
        "      - http: { name: cap, url: /state, capture: { v: { json: $.missing } } }\n"
        "      - think: 50ms\n");
    fake_respond = erp_respond;
    tally t = { .mu = PTHREAD_MUTEX_INITIALIZER };
    run_fake(sc, 300, &t);
    static const char *const names[] = { "down", "busy", "state", "cap" };
    for (int i = 0; i < 4; i++) {
        assert_non_null(tally_row(&t, names[i]));
        assert_true(tally_row(&t, names[i])->requests >= 1);
        assert_int_equal(tally_row(&t, names[i])->failures, tally_row(&t, names[i])->requests);
    }
    assert_int_equal(tally_err(&t, "down", ERR_CONNECT, "Couldn't connect to server"),
                     tally_row(&t, "down")->requests);
    assert_int_equal(tally_err(&t, "busy", ERR_HTTP_STATUS, "503"), tally_row(&t, "busy")->requests);
    assert_int_equal(tally_err(&t, "state", ERR_EXPECT, "$.state"), tally_row(&t, "state")->requests);
    assert_int_equal(tally_err(&t, "cap", ERR_EXPECT, "capture v"), tally_row(&t, "cap")->requests);
    scenario_free(sc);
}


/* ---- the open model (issue 11) ---------------------------------------------------------
 * Every delta summed as the master would: rows by (method, name) with both histograms,
 * the schedule block, the engine's cpu and wall time. */
typedef struct agg_row {
    char     method[STATS_METHOD_MAX], name[STATS_NAME_MAX];
    uint64_t requests, failures;
    hist     lat, svc;
} agg_row;

typedef struct agg {
    pthread_mutex_t mu;
    agg_row  rows[16];
    int      nrows;
    uint64_t intended, started, dropped, cpu_us, wall_us, deltas, users_max;
    uint64_t lag_n, lag_max_us, rss_max, proc_cpu_us;    /* issue 13: stats_health */
    uint32_t backlog_max;
    hist     lag;
} agg;

static void agg_init(agg *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    hist_init(&a->lag);
    for (int i = 0; i < 16; i++) {
        hist_init(&a->rows[i].lat);
        hist_init(&a->rows[i].svc);
    }
}

static void agg_fini(agg *a)
{
    hist_fini(&a->lag);
    for (int i = 0; i < 16; i++) {
        hist_fini(&a->rows[i].lat);
        hist_fini(&a->rows[i].svc);
    }
    pthread_mutex_destroy(&a->mu);
}

static void agg_emit(void *ud, char *buf, size_t len)
{
    agg *a = ud;
    proto_msg m;
    if (proto_decode(buf, len, &m) == PROTO_OK && m.type == MSG_STATS) {
        const proto_stats *st = &m.u.stats;
        pthread_mutex_lock(&a->mu);
        for (uint32_t i = 0; i < st->nentries; i++) {
            const proto_stats_entry *e = &st->entries[i];
            int j = 0;
            while (j < a->nrows && (strcmp(a->rows[j].name, e->name) || strcmp(a->rows[j].method, e->method))) j++;
            if (j == a->nrows && a->nrows < 16) {
                snprintf(a->rows[j].name, STATS_NAME_MAX, "%s", e->name);
                snprintf(a->rows[j].method, STATS_METHOD_MAX, "%s", e->method);
                a->nrows++;
            }
            if (j < 16) {
                a->rows[j].requests += e->requests;
                a->rows[j].failures += e->failures;
                if (e->lat.total) hist_add(&a->rows[j].lat, &e->lat);
                if (e->svc.total) hist_add(&a->rows[j].svc, &e->svc);
            }
        }
        a->intended += st->sched.intended;
        a->started += st->sched.started;
        a->dropped += st->sched.dropped;
        a->cpu_us += st->sched.cpu_us;
        a->wall_us += st->sched.wall_us;
        a->lag_n += st->health.lag_n;
        if (st->health.lag_max_us > a->lag_max_us) a->lag_max_us = st->health.lag_max_us;
        if (st->health.rss_bytes > a->rss_max) a->rss_max = st->health.rss_bytes;
        a->proc_cpu_us += st->health.proc_cpu_us;
        if (st->sched.backlog_max > a->backlog_max) a->backlog_max = st->sched.backlog_max;
        if (st->users > a->users_max) a->users_max = st->users;
        hist_add(&a->lag, &st->sched.lag);
        a->deltas++;
        pthread_mutex_unlock(&a->mu);
        proto_msg_free(&m);
    }
    free(buf);
}

static const agg_row *agg_row_of(const agg *a, const char *method, const char *name)
{
    for (int j = 0; j < a->nrows; j++)
        if (!strcmp(a->rows[j].name, name) && !strcmp(a->rows[j].method, method)) return &a->rows[j];
    return NULL;
}

/* Runs sc on one engine owning every slot of a run of `threads` slots until its stages
 * end and it finishes (bounded: 10 s). */
static void run_open(const scenario *sc, uint32_t threads, agg *a)
{
    uint32_t slots[8];
    for (uint32_t i = 0; i < threads && i < 8; i++) slots[i] = i;
    atomic_store(&fake_started, 0);
    fake_nseen = 0;
    engine_cfg c = { .sc = sc, .target = sc->target, .run_id = 11, .worker_id = "unit",
                     .slots = slots, .nslots = threads, .threads_total = threads,
                     .start_mono_us = time_mono_us() + 20000, .interval_ms = 100,
                     .name_cap = 0, .emit = agg_emit, .emit_ud = a };
    char err[256];
    engine *e = engine_start(&c, err, sizeof err);
    if (!e) fail_msg("engine_start: %s", err);
    for (int i = 0; i < 1000 && !engine_finished(e); i++) sleep_ms(10);    /* <= 10 s */
    assert_true(engine_finished(e));
    engine_join_free(e);
}

static fake_reply ok_respond(const http_req *r)
{
    (void)r;
    return (fake_reply){ .status = 200, .body = "ok" };
}

static fake_reply slow_respond(const http_req *r)
{
    (void)r;
    return (fake_reply){ .status = 200, .body = "ok", .delay_ms = 300 };
}

/* Every row's latency (from the intended start) is never below its service time (from
 * the send): per row, the count, the minimum, the maximum and the sum. */
static void assert_lat_covers_svc(const agg *a)
{
    for (int j = 0; j < a->nrows; j++) {
        const agg_row *r = &a->rows[j];
        if (r->requests == 0) continue;
        assert_int_equal(r->lat.total, r->requests);
        assert_int_equal(r->svc.total, r->requests);
        assert_true(r->lat.min_us >= r->svc.min_us);
        assert_true(r->lat.max_us >= r->svc.max_us);
        assert_true(r->lat.sum_us >= r->svc.sum_us);
    }
}

/* 200 arrivals per second for one second over two slots: exactly 200 intended (the
 * area under the curve), each started (the pool of 20 and its backlog hold them) or
 * dropped, one request and one iteration per started arrival; cpu and wall measured. */
static void test_open_rate_counted(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: open-rate\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  model: open\n"
        "  max_users: 20\n"
        "  stages: [ { duration: 0s, rate: 200/s }, { duration: 1s, rate: 200/s } ]\n"
        "  graceful_stop: 2s\n"
        "users:\n"
        "  - name: orders\n"
        "    flow:\n"
        "      - http: { name: create, method: POST, url: /orders }\n");
    fake_respond = ok_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 2, &a);
    double area = loadshape_area(sc->stages, sc->nstages, 1e12);
    assert_int_equal(a.intended, (uint64_t)ceil(area));
    assert_int_equal(a.intended, 200);
    assert_int_equal(a.intended, a.started + a.dropped);
    assert_int_equal(a.started, atomic_load(&fake_started));
    assert_int_equal(a.lag.total, a.started);
    const agg_row *req = agg_row_of(&a, "POST", "create");
    const agg_row *it = agg_row_of(&a, STATS_ITERATION, "orders");
    assert_non_null(req);
    assert_non_null(it);
    assert_int_equal(req->requests, a.started);
    assert_int_equal(it->requests, a.started);
    assert_int_equal(it->failures, 0);
    assert_lat_covers_svc(&a);
    assert_true(a.users_max >= 1 && a.users_max <= 20);
    assert_true(a.cpu_us > 0);
    assert_true(a.wall_us > 0);
    assert_true(a.cpu_us <= a.wall_us + 100000);
    agg_fini(&a);
    scenario_free(sc);
}

/* Poisson arrivals: the same bookkeeping (their number is random around the area). */
static void test_open_poisson_counted(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: open-poisson\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  model: open\n"
        "  max_users: 20\n"
        "  arrivals: poisson\n"
        "  stages: [ { duration: 0s, rate: 300/s }, { duration: 1s, rate: 300/s } ]\n"
        "users:\n"
        "  - name: orders\n"
        "    flow:\n"
        "      - http: { name: create, method: POST, url: /orders }\n");
    fake_respond = ok_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 3, &a);
    print_message("poisson at 300/s for 1 s: %llu arrivals\n", (unsigned long long)a.intended);
    assert_true(a.intended > 150 && a.intended < 450);      /* mean 300, sd ~17 */
    assert_int_equal(a.intended, a.started + a.dropped);
    assert_int_equal(a.started, atomic_load(&fake_started));
    assert_int_equal(agg_row_of(&a, STATS_ITERATION, "orders")->requests, a.started);
    agg_fini(&a);
    scenario_free(sc);
}

/* A pool of one user, a backlog of two and a server that takes 300 ms: ten arrivals in
 * half a second cannot all run. The backlog fills (high-water 2), the rest is dropped
 * and counted (also what still waits when the stages end), and an arrival that waited
 * carries its wait in its request's latency: lat >= lag + service. */
static void test_open_backlog_drops(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: open-backlog\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  model: open\n"
        "  max_users: 1\n"
        "  max_backlog: 2\n"
        "  stages: [ { duration: 0s, rate: 20 }, { duration: 500ms, rate: 20 } ]\n"
        "  graceful_stop: 3s\n"
        "users:\n"
        "  - name: slow\n"
        "    flow:\n"
        "      - http: { name: slow, url: /slow }\n");
    fake_respond = slow_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    print_message("intended %llu started %llu dropped %llu backlog_max %u\n",
                  (unsigned long long)a.intended, (unsigned long long)a.started,
                  (unsigned long long)a.dropped, a.backlog_max);
    assert_int_equal(a.intended, 10);
    assert_int_equal(a.intended, a.started + a.dropped);
    assert_int_equal(a.backlog_max, 2);
    assert_true(a.dropped >= 1);
    assert_true(a.started >= 2);                /* the first, and one from the backlog */
    assert_int_equal(a.started, atomic_load(&fake_started));
    assert_int_equal(a.users_max, 1);
    const agg_row *r = agg_row_of(&a, "GET", "slow");
    assert_non_null(r);
    assert_int_equal(r->requests, a.started);
    assert_lat_covers_svc(&a);
    /* the arrival that waited longest: its wait (lag) and a whole service time */
    assert_true(a.lag.max_us > 0);
    assert_true(r->lat.max_us >= a.lag.max_us + r->svc.min_us);
    assert_true(r->svc.min_us >= 300000);
    assert_int_equal(agg_row_of(&a, STATS_ITERATION, "slow")->requests, a.started);
    agg_fini(&a);
    scenario_free(sc);
}

/* Two profiles with a login as setup: each user of the pool logs in once per profile it
 * runs (so at most max_users x profiles logins, at least one per profile that ran); one
 * iteration row per profile, their sum the arrivals started; the iteration includes the
 * setup (its latency is at least the request's). */
static void test_open_setup_and_iterations(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: open-setup\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  model: open\n"
        "  max_users: 4\n"
        "  stages: [ { duration: 0s, rate: 100 }, { duration: 500ms, rate: 100 } ]\n"
        "users:\n"
        "  - name: planner\n"
        "    weight: 3\n"
        "    setup:\n"
        "      - http: { name: login, method: POST, url: /auth/login, json: { u: p } }\n"
        "    flow:\n"
        "      - http: { name: plan, url: /state }\n"
        "  - name: viewer\n"
        "    flow:\n"
        "      - http: { name: view, url: /state }\n"
        "      - think: 5ms\n");
    fake_respond = erp_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 2, &a);
    const agg_row *login = agg_row_of(&a, "POST", "login");
    const agg_row *ip = agg_row_of(&a, STATS_ITERATION, "planner");
    const agg_row *iv = agg_row_of(&a, STATS_ITERATION, "viewer");
    assert_non_null(login);
    assert_non_null(ip);
    assert_non_null(iv);
    print_message("logins %llu, planner %llu, viewer %llu iterations\n",
                  (unsigned long long)login->requests, (unsigned long long)ip->requests,
                  (unsigned long long)iv->requests);
    assert_true(login->requests >= 1 && login->requests <= 4);
    assert_int_equal(a.intended, 50);
    assert_int_equal(a.intended, a.started + a.dropped);
    assert_int_equal(ip->requests + iv->requests, a.started);
    assert_true(ip->requests > iv->requests);   /* weights 3:1 */
    assert_int_equal(agg_row_of(&a, "GET", "plan")->requests, ip->requests);
    assert_int_equal(agg_row_of(&a, "GET", "view")->requests, iv->requests);
    assert_int_equal(a.started, atomic_load(&fake_started) - login->requests);
    assert_true(ip->lat.max_us >= agg_row_of(&a, "GET", "plan")->lat.max_us);
    assert_lat_covers_svc(&a);
    agg_fini(&a);
    scenario_free(sc);
}

/* Arrivals ENGINE_SPIN_US / 2 apart, so the engine polls instead of sleeping between
 * them (engine_open_loop): every arrival is still intended, started or dropped exactly once
 * (the area under the curve), each started one has its lag, and the polls that found
 * nothing to do are not reported as CPU: the engine's reported cpu_us stays below the
 * process's CPU time over the run (which counts them). */
static void test_open_spin_counted(void **state)
{
    (void)state;
    unsigned rate = (unsigned)(2 * 1000000 / ENGINE_SPIN_US);
    char text[640];
    snprintf(text, sizeof text,
             "name: open-spin\n"
             "target: http://127.0.0.1:1\n"
             "load:\n"
             "  model: open\n"
             "  max_users: 200\n"
             "  stages: [ { duration: 0s, rate: %u }, { duration: 300ms, rate: %u } ]\n"
             "  graceful_stop: 2s\n"
             "users:\n"
             "  - name: ping\n"
             "    flow:\n"
             "      - http: { name: ping, url: /ping }\n", rate, rate);
    scenario *sc = parse_text(text);
    fake_respond = ok_respond;
    agg a;
    agg_init(&a);
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    run_open(sc, 1, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    uint64_t proc_us = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000u
                       + (uint64_t)(c1.tv_nsec / 1000) - (uint64_t)(c0.tv_nsec / 1000);
    double area = loadshape_area(sc->stages, sc->nstages, 1e12);
    print_message("%u/s: intended %llu started %llu dropped %llu, engine cpu %llu us of "
                  "wall %llu us, process cpu %llu us\n", rate,
                  (unsigned long long)a.intended, (unsigned long long)a.started,
                  (unsigned long long)a.dropped, (unsigned long long)a.cpu_us,
                  (unsigned long long)a.wall_us, (unsigned long long)proc_us);
    assert_int_equal(a.intended, (uint64_t)ceil(area));
    assert_int_equal(a.intended, a.started + a.dropped);
    assert_true(a.started > 0);
    assert_int_equal(a.started, atomic_load(&fake_started));
    assert_int_equal(a.lag.total, a.started);
    assert_int_equal(agg_row_of(&a, STATS_ITERATION, "ping")->requests, a.started);
    assert_lat_covers_svc(&a);
    assert_true(a.cpu_us > 0);
    assert_true(a.cpu_us < proc_us);
    agg_fini(&a);
    scenario_free(sc);
}

/* The closed model: an iteration row per pass of the flow (from its actual start), the
 * setup once per user before its first pass, service equal to latency (svc empty). */
static void test_closed_setup_and_iterations(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: closed-setup\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 3 }, { duration: 400ms, users: 3 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    setup:\n"
        "      - http: { name: login, method: POST, url: /auth/login, json: { u: x } }\n"
        "    flow:\n"
        "      - http: { name: state, url: /state }\n"
        "      - http: { name: busy, url: /busy }\n"
        "      - think: 20ms\n");
    fake_respond = erp_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    const agg_row *login = agg_row_of(&a, "POST", "login");
    const agg_row *it = agg_row_of(&a, STATS_ITERATION, "u");
    const agg_row *st = agg_row_of(&a, "GET", "state");
    assert_non_null(login);
    assert_non_null(it);
    assert_non_null(st);
    assert_int_equal(login->requests, 3);
    assert_true(it->requests >= 3);
    assert_true(st->requests >= it->requests);
    assert_int_equal(it->failures, it->requests);   /* /busy answers 503 every pass */
    assert_int_equal(st->svc.total, 0);
    assert_true(it->lat.min_us >= 20000);           /* a pass includes its think */
    assert_int_equal(a.intended, 0);
    assert_true(a.cpu_us > 0 && a.wall_us > 0);
    /* issue 13: the engine's health rode along: its 100 ms loop timer fired about once
     * per 100 ms of the 410 ms run, the process's RSS and CPU were read */
    assert_true(a.lag_n >= 2 && a.lag_n <= 40);
    assert_true(a.rss_max > 1024 * 1024);
    assert_true(a.proc_cpu_us >= a.cpu_us / 2);
    agg_fini(&a);
    scenario_free(sc);
}


/* ---- flow control (issue 12): worker/engine_flow.h and vu_run ------------------------ */

/* pick: one draw per run, by weight; a weight-0 branch never runs. */
static void test_flow_pick_weights(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: pick\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 1s, users: 1 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    flow:\n"
        "      - pick:\n"
        "          - { weight: 5, steps: [ { http: { name: a, url: /a } } ] }\n"
        "          - { weight: 0, steps: [ { http: { name: off, url: /off } } ] }\n"
        "          - { steps: [ { http: { name: b, url: /b } } ] }\n");
    const sc_step *pk = &sc->profiles[0].flow[0];
    assert_int_equal(pk->kind, STEP_PICK);
    assert_int_equal(pk->u.pick.total_weight, 6);
    unsigned n[3] = { 0, 0, 0 };
    uint64_t rng = 12345;
    const unsigned draws = 60000;
    for (unsigned i = 0; i < draws; i++) {
        int b = flow_pick(pk, &rng);
        assert_true(b >= 0 && b < 3);
        n[b]++;
    }
    assert_int_equal(n[1], 0);
    double share = (double)n[0] / draws;            /* 5/6, within 1 % of it */
    assert_true(fabs(share - 5.0 / 6.0) < 0.01 * 5.0 / 6.0);
    scenario_free(sc);
}

/* if: each condition kind over variables, the last status and a chance. */
static void test_flow_cond_kinds(void **state)
{
    (void)state;
    char a[8] = "admin", e[1] = "";
    tmpl_val vars[3] = { { .p = a, .len = 5, .cap = 8, .set = true },
                         { .p = e, .len = 0, .cap = 1, .set = true },
                         { .p = NULL, .len = 0, .cap = 0, .set = false } };
    uint64_t rng = 7;
    sc_cond c = { .kind = SC_COND_EMPTY, .slot = 0 };
    assert_false(flow_cond(&c, vars, 0, &rng));
    c.slot = 1; assert_true(flow_cond(&c, vars, 0, &rng));     /* captured as "" */
    c.slot = 2; assert_true(flow_cond(&c, vars, 0, &rng));     /* never captured */
    c.kind = SC_COND_SET;
    c.slot = 0; assert_true(flow_cond(&c, vars, 0, &rng));
    c.slot = 1; assert_false(flow_cond(&c, vars, 0, &rng));
    c.slot = 2; assert_false(flow_cond(&c, vars, 0, &rng));
    c.kind = SC_COND_EQUALS; c.value = "admin";
    c.slot = 0; assert_true(flow_cond(&c, vars, 0, &rng));
    c.value = "admi"; assert_false(flow_cond(&c, vars, 0, &rng));
    c.value = ""; c.slot = 1; assert_true(flow_cond(&c, vars, 0, &rng));
    c.slot = 2; assert_false(flow_cond(&c, vars, 0, &rng));    /* unset equals nothing */
    c.kind = SC_COND_NOT_EQUALS; assert_true(flow_cond(&c, vars, 0, &rng));
    c.slot = 0; c.value = "admin"; assert_false(flow_cond(&c, vars, 0, &rng));
    c = (sc_cond){ .kind = SC_COND_STATUS, .status = { 200, 201 }, .nstatus = 2 };
    assert_true(flow_cond(&c, vars, 201, &rng));
    assert_false(flow_cond(&c, vars, 0, &rng));
    assert_false(flow_cond(&c, vars, 404, &rng));
    c = (sc_cond){ .kind = SC_COND_CHANCE, .chance = 0 };
    unsigned yes = 0;
    for (int i = 0; i < 1000; i++) yes += flow_cond(&c, vars, 0, &rng);
    assert_int_equal(yes, 0);
    c.chance = 1;
    for (int i = 0; i < 1000; i++) yes += flow_cond(&c, vars, 0, &rng);
    assert_int_equal(yes, 1000);
    c.chance = 0.3;
    yes = 0;
    for (int i = 0; i < 20000; i++) yes += flow_cond(&c, vars, 0, &rng);
    assert_true(yes > 5700 && yes < 6300);
    flow_vars_clear(vars, 3);
    c = (sc_cond){ .kind = SC_COND_SET, .slot = 0 };
    assert_false(flow_cond(&c, vars, 0, &rng));
    assert_ptr_equal(vars[0].p, a);                 /* the buffer is kept */
}

static void test_flow_on_failure_and_pacing(void **state)
{
    (void)state;
    assert_int_equal(flow_on_failure(SC_ON_FAILURE_CONTINUE, false), FLOW_GO_ON);
    assert_int_equal(flow_on_failure(SC_ON_FAILURE_CONTINUE, true), FLOW_GO_ON);
    assert_int_equal(flow_on_failure(SC_ON_FAILURE_STOP_ITERATION, false), FLOW_END_ITERATION);
    assert_int_equal(flow_on_failure(SC_ON_FAILURE_STOP_ITERATION, true), FLOW_END_USER);
    assert_int_equal(flow_on_failure(SC_ON_FAILURE_STOP_USER, false), FLOW_END_USER);
    assert_int_equal(flow_pacing_wait(0, 100, 150), 0);
    assert_int_equal(flow_pacing_wait(1000, 100, 400), 700);
    assert_int_equal(flow_pacing_wait(1000, 100, 1100), 0);
    assert_int_equal(flow_pacing_wait(1000, 100, 5000), 0);     /* no catch-up */
}

/* The walker: pick and if run in the flow, if on the last status; stop_iteration skips
 * the rest of the pass (the request after the failed one never goes out), the pass
 * counts as failed. */
static void test_flow_closed_pick_if_stop_iteration(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: flow-closed\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 2 }, { duration: 400ms, users: 2 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    flow:\n"
        "      - pick:\n"
        "          - { weight: 3, steps: [ { http: { name: busy, url: /busy } } ] }\n"
        "          - { weight: 1, steps: [ { http: { name: state, url: /state } } ] }\n"
        "          - { weight: 0, steps: [ { http: { name: never, url: /state } } ] }\n"
        "      - if: { status: 503 }\n"
        "        then: [ { http: { name: after-busy, url: /state } } ]\n"
        "        else: [ { http: { name: after-state, url: /state } } ]\n"
        "      - http: { name: down, url: /down }\n"
        "        on_failure: stop_iteration\n"
        "      - http: { name: unreached, url: /state }\n"
        "      - think: 5ms\n");
    fake_respond = erp_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    const agg_row *busy = agg_row_of(&a, "GET", "busy"), *st = agg_row_of(&a, "GET", "state");
    const agg_row *ab = agg_row_of(&a, "GET", "after-busy"), *as = agg_row_of(&a, "GET", "after-state");
    const agg_row *down = agg_row_of(&a, "GET", "down"), *it = agg_row_of(&a, STATS_ITERATION, "u");
    assert_non_null(busy); assert_non_null(st); assert_non_null(ab); assert_non_null(as);
    assert_non_null(down); assert_non_null(it);
    assert_null(agg_row_of(&a, "GET", "never"));
    assert_null(agg_row_of(&a, "GET", "unreached"));
    /* the stop ends each of the 2 users at its next step: one pass each may be cut */
    assert_true(ab->requests <= busy->requests && busy->requests - ab->requests <= 2);
    assert_true(as->requests <= st->requests && st->requests - as->requests <= 2);
    assert_true(as->requests + ab->requests + 2 >= busy->requests + st->requests);
    assert_true(busy->requests > st->requests);
    assert_true(down->requests >= it->requests);
    assert_int_equal(it->failures, it->requests);
    agg_fini(&a);
    scenario_free(sc);
}

/* stop_user, closed model: a setup that fails stops the user for the run (one login per
 * user, no flow request); in the flow, the user stops after its first failed pass. */
static void test_flow_closed_stop_user(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: flow-stop-user\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 4 }, { duration: 300ms, users: 4 } ] }\n"
        "users:\n"
        "  - name: bad\n"
        "    setup:\n"
        "      - http: { name: login, url: /busy }\n"
        "        on_failure: stop_iteration\n"
        "    flow:\n"
        "      - http: { name: flow-bad, url: /state }\n"
        "  - name: quitter\n"
        "    flow:\n"
        "      - http: { name: q-state, url: /state }\n"
        "      - http: { name: q-busy, url: /busy }\n"
        "        on_failure: stop_user\n"
        "      - http: { name: q-after, url: /state }\n"
        "      - think: 5ms\n");
    fake_respond = erp_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    const agg_row *login = agg_row_of(&a, "GET", "login"), *qb = agg_row_of(&a, "GET", "q-busy");
    assert_non_null(login);
    assert_non_null(qb);
    assert_int_equal(login->requests, 2);
    assert_null(agg_row_of(&a, "GET", "flow-bad"));
    assert_int_equal(qb->requests, 2);
    assert_null(agg_row_of(&a, "GET", "q-after"));
    assert_int_equal(agg_row_of(&a, STATS_ITERATION, "bad")->failures, 2);
    assert_int_equal(agg_row_of(&a, STATS_ITERATION, "quitter")->failures, 2);
    agg_fini(&a);
    scenario_free(sc);
}

/* stop_user, open model: the session ends (cookies dropped, variables cleared) and the
 * user runs its setup again at its next arrival; the arrival counts as failed. */
static void test_flow_open_stop_user(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: flow-open-stop\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  model: open\n"
        "  max_users: 2\n"
        "  stages: [ { duration: 0s, rate: 50 }, { duration: 400ms, rate: 50 } ]\n"
        "users:\n"
        "  - name: u\n"
        "    setup:\n"
        "      - http: { name: login, method: POST, url: /auth/login, json: { u: x },\n"
        "                capture: { token: { json: $.access_token } } }\n"
        "    flow:\n"
        "      - if: { var: token, equals: tok-42 }\n"
        "        then: [ { http: { name: with-token, url: /state } } ]\n"
        "      - http: { name: busy, url: /busy }\n"
        "        on_failure: stop_user\n");
    fake_respond = erp_respond;
    atomic_store(&fake_cookie_drops, 0);
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    const agg_row *login = agg_row_of(&a, "POST", "login"), *wt = agg_row_of(&a, "GET", "with-token");
    const agg_row *it = agg_row_of(&a, STATS_ITERATION, "u");
    assert_non_null(login); assert_non_null(wt); assert_non_null(it);
    assert_true(a.started >= 10);
    assert_int_equal(login->requests, a.started);   /* setup again before every arrival */
    assert_int_equal(wt->requests, a.started);      /* the token captured again each time */
    assert_int_equal(atomic_load(&fake_cookie_drops), a.started);
    assert_int_equal(it->failures, a.started);
    agg_fini(&a);
    scenario_free(sc);
}

/* pacing: each pass of a paced loop lasts at least the pacing (a 1 ms request, pacing
 * 30 ms, 4 passes: an iteration is at least 120 ms); an unpaced loop is not held. */
static void test_flow_pacing(void **state)
{
    (void)state;
    scenario *sc = parse_text(
        "name: flow-pacing\n"
        "target: http://127.0.0.1:1\n"
        "load: { stages: [ { duration: 10ms, users: 2 }, { duration: 600ms, users: 2 } ] }\n"
        "users:\n"
        "  - name: paced\n"
        "    flow:\n"
        "      - loop: { count: 4, pacing: 30ms, steps: [ { http: { name: p, url: /state } } ] }\n"
        "  - name: free\n"
        "    flow:\n"
        "      - loop: { count: 4, steps: [ { http: { name: f, url: /state } } ] }\n"
        "      - think: 20ms\n");
    fake_respond = erp_respond;
    agg a;
    agg_init(&a);
    run_open(sc, 1, &a);
    const agg_row *ip = agg_row_of(&a, STATS_ITERATION, "paced");
    const agg_row *p = agg_row_of(&a, "GET", "p"), *f = agg_row_of(&a, "GET", "f");
    assert_non_null(ip); assert_non_null(p); assert_non_null(f);
    assert_true(ip->requests >= 2);
    assert_true(ip->lat.min_us >= 120000);
    assert_true(p->requests <= 4 * (ip->requests + 1));
    assert_true(f->requests > p->requests);
    agg_fini(&a);
    scenario_free(sc);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_not_allocated_up_front),
        cmocka_unit_test(test_ramp_down_and_up_reuses),
        cmocka_unit_test(test_http_flow_captures),
        cmocka_unit_test(test_http_flow_failures),
        cmocka_unit_test(test_open_rate_counted),
        cmocka_unit_test(test_open_poisson_counted),
        cmocka_unit_test(test_open_backlog_drops),
        cmocka_unit_test(test_open_setup_and_iterations),
        cmocka_unit_test(test_closed_setup_and_iterations),
        cmocka_unit_test(test_flow_pick_weights),
        cmocka_unit_test(test_flow_cond_kinds),
        cmocka_unit_test(test_flow_on_failure_and_pacing),
        cmocka_unit_test(test_flow_closed_pick_if_stop_iteration),
        cmocka_unit_test(test_flow_closed_stop_user),
        cmocka_unit_test(test_flow_open_stop_user),
        cmocka_unit_test(test_flow_pacing),
        cmocka_unit_test(test_open_spin_counted),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
