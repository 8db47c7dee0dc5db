/* Unit tests for master/thresholds.c: every HTTP threshold metric passing and failing
 * (named, missing names and runs without data fail with NaN); WebSocket thresholds read
 * their own entry of the connection name (message, connect, fanout, reconnect, ping,
 * out_of_order), stay out of HTTP thresholds, and fail with NaN without data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "master/merge.h"
#include "master/thresholds.h"
#include "tests/unit/support.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* Rows are merged with add_range and thresholds made with th_mk (tests/unit/support.h). */

/* A threshold about one WebSocket figure of a connection name. */
static sc_threshold th_ws(const char *expr, const char *name, sc_ws_metric ws,
                          sc_metric metric, sc_op op, double value)
{
    sc_threshold t = th_mk(expr, name, metric, op, value);
    t.ws = ws;
    return t;
}

/* Evaluates th[0..n) over m; checks each ok against want_ok and the failed count. */
static void eval_expect(const merge_set *m, double duration_s, sc_threshold *th, int n,
                        const bool *want_ok, th_result *out)
{
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.thresholds = th;
    sc.nthresholds = n;
    int failed = thresholds_eval(&sc, m, duration_s, out), want_failed = 0;
    for (int i = 0; i < n; i++) {
        assert_ptr_equal(out[i].th, &th[i]);
        if (out[i].ok != want_ok[i])
            fail_msg("threshold %d \"%s\": ok=%d value=%g", i, th[i].expr, out[i].ok, out[i].value);
        want_failed += !want_ok[i];
    }
    assert_int_equal(failed, want_failed);
}

/* ---- HTTP ------------------------------------------------------------------------- */

/* Totals: GET /a 1..100 ms (5 failures), POST login 10 x 200 ms, GET login 10 x 400 ms;
 * 120 requests over 10 s. */
static void th_totals(merge_set *m)
{
    merge_init(m);
    add_range(m, "GET", "/a", 100, 1000, 1000, 5);
    add_range(m, "POST", "login", 10, 200000, 0, 0);
    add_range(m, "GET", "login", 10, 400000, 0, 0);
}

static void test_thresholds_metrics(void **state)
{
    (void)state;
    merge_set m;
    th_totals(&m);
    sc_threshold th[] = {
        th_mk("p50 < 61ms", NULL, TH_P50, OP_LT, 61),                 /* 0 ok */
        th_mk("p50 < 59ms", NULL, TH_P50, OP_LT, 59),                 /* 1 fail */
        th_mk("p90 <= 200.1ms", NULL, TH_P90, OP_LE, 200.1),          /* 2 ok */
        th_mk("p90 < 200ms", NULL, TH_P90, OP_LT, 200),               /* 3 fail */
        th_mk("p95 > 399ms", NULL, TH_P95, OP_GT, 399),               /* 4 ok */
        th_mk("p95 < 300ms", NULL, TH_P95, OP_LT, 300),               /* 5 fail */
        th_mk("p99 >= 400ms", NULL, TH_P99, OP_GE, 400),              /* 6 ok */
        th_mk("p999 < 400ms", NULL, TH_P999, OP_LT, 400),             /* 7 fail */
        th_mk("min >= 1ms", NULL, TH_MIN, OP_GE, 1),                  /* 8 ok */
        th_mk("min > 1ms", NULL, TH_MIN, OP_GT, 1),                   /* 9 fail */
        th_mk("max <= 400ms", NULL, TH_MAX, OP_LE, 400),              /* 10 ok */
        th_mk("max < 400ms", NULL, TH_MAX, OP_LT, 400),               /* 11 fail */
        th_mk("mean < 93ms", NULL, TH_MEAN, OP_LT, 93),               /* 12 ok */
        th_mk("mean < 92ms", NULL, TH_MEAN, OP_LT, 92),               /* 13 fail */
        th_mk("error_rate < 5%", NULL, TH_ERROR_RATE, OP_LT, 0.05),   /* 14 ok */
        th_mk("error_rate < 4%", NULL, TH_ERROR_RATE, OP_LT, 0.04),   /* 15 fail */
        th_mk("rps >= 12", NULL, TH_RPS, OP_GE, 12),                  /* 16 ok */
        th_mk("rps > 12", NULL, TH_RPS, OP_GT, 12),                   /* 17 fail */
        th_mk("requests >= 120", NULL, TH_REQUESTS, OP_GE, 120),      /* 18 ok */
        th_mk("requests > 120", NULL, TH_REQUESTS, OP_GT, 120),       /* 19 fail */
        th_mk("failures <= 5", NULL, TH_FAILURES, OP_LE, 5),          /* 20 ok */
        th_mk("failures < 5", NULL, TH_FAILURES, OP_LT, 5),           /* 21 fail */
        th_mk("login: p50 < 201ms", "login", TH_P50, OP_LT, 201),     /* 22 ok */
        th_mk("login: requests >= 20", "login", TH_REQUESTS, OP_GE, 20), /* 23 ok */
        th_mk("login: error_rate < 0.1%", "login", TH_ERROR_RATE, OP_LT, 0.001), /* 24 ok */
        th_mk("login: max < 300ms", "login", TH_MAX, OP_LT, 300),     /* 25 fail */
        th_mk("lgoin: failures < 1", "lgoin", TH_FAILURES, OP_LT, 1), /* 26 fail: NaN */
        th_mk("lgoin: p95 > 0ms", "lgoin", TH_P95, OP_GT, 0),         /* 27 fail: NaN */
    };
    const int n = (int)(sizeof th / sizeof th[0]);
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.thresholds = th;
    sc.nthresholds = n;
    th_result out[sizeof th / sizeof th[0]];
    int failed = thresholds_eval(&sc, &m, 10.0, out);

    static const bool want_ok[] = { 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
                                    1, 0, 1, 1, 1, 0, 0, 0 };
    int want_failed = 0;
    for (int i = 0; i < n; i++) {
        assert_ptr_equal(out[i].th, &th[i]);
        if (out[i].ok != want_ok[i])
            fail_msg("threshold %d \"%s\": ok=%d value=%g", i, th[i].expr, out[i].ok, out[i].value);
        want_failed += !want_ok[i];
    }
    assert_int_equal(failed, want_failed);

    /* values in the threshold's unit */
    assert_true(fabs(out[0].value - (double)hist_percentile(&m.all.lat, 50) / 1000.0) < 1e-12);
    assert_true(fabs(out[0].value - 60.0) < 0.06);            /* within the 0.1% precision */
    assert_true(fabs(out[2].value - 200.0) < 0.2);
    assert_true(out[6].value == 400.0);                        /* clamped to the exact max */
    assert_true(out[8].value == 1.0);
    assert_true(out[10].value == 400.0);
    assert_true(fabs(out[12].value - 11050.0 / 120.0) < 1e-9);
    assert_true(fabs(out[14].value - 5.0 / 120.0) < 1e-12);
    assert_true(out[16].value == 12.0);
    assert_true(out[18].value == 120.0);
    assert_true(out[20].value == 5.0);
    assert_true(fabs(out[22].value - 200.0) < 0.2);            /* both methods of "login" */
    assert_true(out[23].value == 20.0);
    assert_true(out[24].value == 0.0);
    assert_true(isnan(out[26].value));
    assert_true(isnan(out[27].value));
    merge_fini(&m);
}

/* No requests: latency and error_rate have no data (NaN, fail); counts are real zeros;
 * rps needs a positive duration; a name whose counts were reset has no data. */
static void test_thresholds_no_data(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    sc_threshold th[] = {
        th_mk("failures < 1", NULL, TH_FAILURES, OP_LT, 1),
        th_mk("requests < 1", NULL, TH_REQUESTS, OP_LT, 1),
        th_mk("p95 < 500ms", NULL, TH_P95, OP_LT, 500),
        th_mk("mean < 500ms", NULL, TH_MEAN, OP_LT, 500),
        th_mk("error_rate < 1%", NULL, TH_ERROR_RATE, OP_LT, 0.01),
        th_mk("rps >= 0", NULL, TH_RPS, OP_GE, 0),
    };
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.thresholds = th;
    sc.nthresholds = 6;
    th_result out[6];
    assert_int_equal(thresholds_eval(&sc, &m, 10.0, out), 3);
    assert_true(out[0].ok && out[0].value == 0.0);
    assert_true(out[1].ok && out[1].value == 0.0);
    assert_true(!out[2].ok && isnan(out[2].value));
    assert_true(!out[3].ok && isnan(out[3].value));
    assert_true(!out[4].ok && isnan(out[4].value));
    assert_true(out[5].ok && out[5].value == 0.0);
    assert_int_equal(thresholds_eval(&sc, &m, 0.0, out), 4);  /* rps over no time */
    assert_true(isnan(out[5].value));

    add_range(&m, "GET", "login", 3, 1000, 0, 0);
    merge_reset(&m);                                          /* name kept, no requests */
    sc_threshold named = th_mk("login: failures < 1", "login", TH_FAILURES, OP_LT, 1);
    sc.thresholds = &named;
    sc.nthresholds = 1;
    assert_int_equal(thresholds_eval(&sc, &m, 10.0, out), 1);
    assert_true(isnan(out[0].value));
    merge_fini(&m);
}

/* ---- the open model (issue 11) ------------------------------------------------------ */

/* The entry (method, name) of m, writable: the tests record service times straight into
 * the merged rows (as merge_add would from deltas that carry them). */
static merge_entry *ent_of(merge_set *m, const char *method, const char *name)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (!strcmp(m->entries[i].method, method) && !strcmp(m->entries[i].name, name))
            return &m->entries[i];
    fail_msg("no entry %s %s", method, name);
    return NULL;
}

/* Open-model totals over 10 s of stages: POST create-order 100 requests, latency
 * 1..100 ms, service 0.1..10 ms; GET stock 10 x 400 ms latency, 4 ms service. ITER
 * rows: planner 50 iterations at 10..500 ms (2 failed), clerk 20 x 3 s. Schedule: 200 intended, 190 started, 10 dropped, lag 1..190 ms. */
static void open_totals(merge_set *m)
{
    merge_init(m);
    add_range(m, "POST", "create-order", 100, 1000, 1000, 0);
    add_range(m, "GET", "stock", 10, 400000, 0, 0);
    add_range(m, STATS_ITERATION, "planner", 50, 10000, 10000, 2);
    add_range(m, STATS_ITERATION, "clerk", 20, 3000000, 0, 0);
    merge_entry *co = ent_of(m, "POST", "create-order"), *st = ent_of(m, "GET", "stock");
    for (int i = 1; i <= 100; i++) {
        hist_record(&co->svc, (uint64_t)i * 100);
        hist_record(&m->all.svc, (uint64_t)i * 100);
    }
    for (int i = 0; i < 10; i++) {
        hist_record(&st->svc, 4000);
        hist_record(&m->all.svc, 4000);
    }
    m->sched.intended = 200;
    m->sched.started = 190;
    m->sched.dropped = 10;
    for (int i = 1; i <= 190; i++)
        hist_record(&m->sched.lag, (uint64_t)i * 1000);
}

static sc_threshold th_of(const char *expr, const char *name, sc_th_of of, sc_metric metric,
                          sc_op op, double value)
{
    sc_threshold t = th_mk(expr, name, metric, op, value);
    t.of = of;
    return t;
}

static void test_thresholds_open(void **state)
{
    (void)state;
    merge_set m;
    open_totals(&m);
    sc_threshold th[] = {
        /* latency p95 over HTTP: 110 requests, rank 105 -> 400 ms */
        th_mk("p95 < 300ms", NULL, TH_P95, OP_LT, 300),
        /* service p95: rank 105 of 0.1..10 ms + 10 x 4 ms -> 9.6 ms (the 96th value) */
        th_of("service p95 < 300ms", NULL, TH_OF_SERVICE, TH_P95, OP_LT, 300),
        th_of("service p95 > 9ms", NULL, TH_OF_SERVICE, TH_P95, OP_GT, 9),
        th_of("create-order: service p99 < 10.1ms", "create-order", TH_OF_SERVICE, TH_P99, OP_LT, 10.1),
        th_of("create-order: service max < 9ms", "create-order", TH_OF_SERVICE, TH_MAX, OP_LT, 9),
        /* iterations: 70 in all, the 3 s clerks above p80 */
        th_of("iteration p95 < 2s", NULL, TH_OF_ITERATION, TH_P95, OP_LT, 2000),
        th_of("planner: iteration p99 < 3s", "planner", TH_OF_ITERATION, TH_P99, OP_LT, 3000),
        th_of("planner: iteration max <= 500ms", "planner", TH_OF_ITERATION, TH_MAX, OP_LE, 500),
        th_of("clerk: iteration p50 < 2s", "clerk", TH_OF_ITERATION, TH_P50, OP_LT, 2000),
        th_of("lag p99 < 10ms", NULL, TH_OF_LAG, TH_P99, OP_LT, 10),
        th_of("lag p50 < 100ms", NULL, TH_OF_LAG, TH_P50, OP_LT, 100),
        th_mk("dropped < 1", NULL, TH_DROPPED, OP_LT, 1),
        th_mk("dropped <= 10", NULL, TH_DROPPED, OP_LE, 10),
        th_mk("rate >= 18", NULL, TH_RATE, OP_GE, 18),
        th_mk("rate >= 20", NULL, TH_RATE, OP_GE, 20),
    };
    const bool want[] = { false, true, true, true, false, false, true, true, false,
                          false, true, false, true, true, false };
    enum { N = sizeof th / sizeof th[0] };
    th_result out[N];
    eval_expect(&m, 10.0, th, N, want, out);
    assert_true(out[1].value > 9.0 && out[1].value < 9.7);
    assert_true(out[6].value >= 499.0 && out[6].value <= 501.0);   /* the histogram's precision */
    assert_true(out[9].value >= 188.0 && out[9].value <= 189.5);
    assert_true(out[11].value == 10.0);
    assert_true(out[13].value == 19.0);                             /* 190 started / 10 s */
    for (int i = 0; i < N; i++)
        assert_string_equal(out[i].note, "");
    merge_fini(&m);
}

/* "rate" divides by the stages' duration when the run lasted longer (the graceful stop
 * plans nothing), by the run's own when it was cut short. */
static void test_thresholds_rate_covered(void **state)
{
    (void)state;
    merge_set m;
    open_totals(&m);
    sc_stage stage = { 0 };
    stage.duration_ms = 5000;
    stage.rate = 40;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.model = SC_MODEL_OPEN;
    sc.stages = &stage;
    sc.nstages = 1;
    assert_true(thresholds_covered_s(&sc, 8.0) == 5.0);
    assert_true(thresholds_covered_s(&sc, 4.0) == 4.0);
    assert_true(thresholds_covered_s(NULL, 4.0) == 4.0);
    sc_threshold th = th_mk("rate >= 38", NULL, TH_RATE, OP_GE, 38);
    sc.thresholds = &th;
    sc.nthresholds = 1;
    th_result out;
    assert_int_equal(thresholds_eval(&sc, &m, 8.0, &out), 0);       /* 190 / 5 s */
    assert_true(out.value == 38.0);
    assert_int_equal(thresholds_eval(&sc, &m, 4.0, &out), 0);       /* cut short: 190 / 4 s */
    assert_true(out.value == 47.5);
    th.value = 39;
    assert_int_equal(thresholds_eval(&sc, &m, 8.0, &out), 1);
    assert_int_equal(thresholds_eval(&sc, &m, 0.0, &out), 1);
    assert_true(isnan(out.value));
    assert_string_equal(out.note, "the run covered no time");
    merge_fini(&m);
}

/* Names that do not exist, and runs without iterations or arrivals, fail with NaN and a
 * note saying what is missing. */
static void test_thresholds_open_no_data(void **state)
{
    (void)state;
    merge_set m;
    open_totals(&m);
    sc_threshold th[] = {
        th_of("packer: iteration p99 < 3s", "packer", TH_OF_ITERATION, TH_P99, OP_LT, 3000),
        th_of("login: service p95 < 1s", "login", TH_OF_SERVICE, TH_P95, OP_LT, 1000),
        th_mk("login: p95 < 1s", "login", TH_P95, OP_LT, 1000),
        /* a profile's name is no request name, nor the other way round */
        th_of("create-order: iteration p99 < 3s", "create-order", TH_OF_ITERATION, TH_P99, OP_LT, 3000),
        th_mk("planner: p95 < 1s", "planner", TH_P95, OP_LT, 1000),
    };
    const bool want[] = { false, false, false, false, false };
    th_result out[5];
    eval_expect(&m, 10.0, th, 5, want, out);
    for (int i = 0; i < 5; i++)
        assert_true(isnan(out[i].value));
    assert_string_equal(out[0].note, "no iterations of profile packer");
    assert_string_equal(out[1].note, "no requests named login");
    assert_string_equal(out[2].note, "no requests named login");
    assert_string_equal(out[3].note, "no iterations of profile create-order");
    assert_string_equal(out[4].note, "no requests named planner");
    merge_fini(&m);

    merge_init(&m);                             /* a closed run: no ITER, no arrivals */
    add_range(&m, "GET", "/a", 10, 1000, 0, 0);
    sc_threshold th2[] = {
        th_of("iteration p95 < 2s", NULL, TH_OF_ITERATION, TH_P95, OP_LT, 2000),
        th_of("lag p99 < 10ms", NULL, TH_OF_LAG, TH_P99, OP_LT, 10),
        th_mk("dropped < 1", NULL, TH_DROPPED, OP_LT, 1),
        /* closed model: service reads latency (stats_row_svc) */
        th_of("service max <= 1ms", NULL, TH_OF_SERVICE, TH_MAX, OP_LE, 1),
    };
    const bool want2[] = { false, false, true, true };
    th_result out2[4];
    eval_expect(&m, 10.0, th2, 4, want2, out2);
    assert_string_equal(out2[0].note, "no iterations");
    assert_string_equal(out2[1].note, "no arrival started");
    assert_true(out2[2].value == 0.0);
    assert_true(out2[3].value == 1.0);
    merge_fini(&m);
}

/* ---- WebSocket -------------------------------------------------------------------- */

/* HTTP: GET /a 1..100 ms (5 failures). WebSocket "feed": message 1..100 ms (3 failed),
 * connect 10 x 5 ms (1 failed), fanout 50 x 20 ms, reconnect 3 s and 4 s, ping 4 x
 * 0.5 ms, order 40 sequenced (2 out of order); "calm": order 10 sequenced, none out of
 * order. The ws latencies are far above the HTTP ones, so any leak into the HTTP
 * figures shows. */
static void ws_totals(merge_set *m)
{
    merge_init(m);
    add_range(m, "GET", "/a", 100, 1000, 1000, 5);
    add_range(m, STATS_WS_MESSAGE, "feed", 100, 1000, 1000, 3);
    add_range(m, STATS_WS_CONNECT, "feed", 10, 5000, 0, 1);
    add_range(m, STATS_WS_FANOUT, "feed", 50, 20000, 0, 0);
    add_range(m, STATS_WS_RECONNECT, "feed", 2, 3000000, 1000000, 0);
    add_range(m, STATS_WS_PING, "feed", 4, 500, 0, 0);
    add_range(m, STATS_WS_ORDER, "feed", 40, 0, 0, 2);
    add_range(m, STATS_WS_ORDER, "calm", 10, 0, 0, 0);
    add_range(m, STATS_WS_SENT, "feed", 30, 0, 0, 0);
}

static void test_thresholds_ws(void **state)
{
    (void)state;
    merge_set m;
    ws_totals(&m);
    sc_threshold th[] = {
        th_ws("feed: message p95 < 100ms", "feed", TH_WS_MESSAGE, TH_P95, OP_LT, 100), /* 0 ok */
        th_ws("feed: message p95 < 90ms", "feed", TH_WS_MESSAGE, TH_P95, OP_LT, 90),   /* 1 fail */
        th_ws("feed: message error_rate <= 3%", "feed", TH_WS_MESSAGE, TH_ERROR_RATE,
              OP_LE, 0.03),                                                             /* 2 ok */
        th_ws("feed: message rps >= 10", "feed", TH_WS_MESSAGE, TH_RPS, OP_GE, 10),    /* 3 ok */
        th_ws("feed: message rps > 10", "feed", TH_WS_MESSAGE, TH_RPS, OP_GT, 10),     /* 4 fail */
        th_ws("feed: connect p99 < 10ms", "feed", TH_WS_CONNECT, TH_P99, OP_LT, 10),   /* 5 ok */
        th_ws("feed: connect error_rate < 5%", "feed", TH_WS_CONNECT, TH_ERROR_RATE,
              OP_LT, 0.05),                                                             /* 6 fail */
        th_ws("feed: fanout p95 < 25ms", "feed", TH_WS_FANOUT, TH_P95, OP_LT, 25),     /* 7 ok */
        th_ws("feed: reconnect max < 5s", "feed", TH_WS_RECONNECT, TH_MAX, OP_LT, 5000), /* 8 ok */
        th_ws("feed: reconnect max < 3.5s", "feed", TH_WS_RECONNECT, TH_MAX, OP_LT, 3500), /* 9 fail */
        th_ws("feed: ping p95 < 1ms", "feed", TH_WS_PING, TH_P95, OP_LT, 1),           /* 10 ok */
        th_mk("feed: out_of_order < 1", "feed", TH_OUT_OF_ORDER, OP_LT, 1),            /* 11 fail */
        th_mk("feed: out_of_order <= 2", "feed", TH_OUT_OF_ORDER, OP_LE, 2),           /* 12 ok */
        th_mk("calm: out_of_order < 1", "calm", TH_OUT_OF_ORDER, OP_LT, 1),            /* 13 ok */
        th_ws("ghost: message p95 < 1s", "ghost", TH_WS_MESSAGE, TH_P95, OP_LT, 1000), /* 14 NaN */
        th_mk("ghost: out_of_order < 1", "ghost", TH_OUT_OF_ORDER, OP_LT, 1),          /* 15 NaN */
        th_ws("calm: message p95 < 1s", "calm", TH_WS_MESSAGE, TH_P95, OP_LT, 1000),   /* 16 NaN */
        th_ws("message p95 < 1s", NULL, TH_WS_MESSAGE, TH_P95, OP_LT, 1000),           /* 17 NaN */
        /* HTTP thresholds see HTTP only */
        th_mk("max <= 100ms", NULL, TH_MAX, OP_LE, 100),                               /* 18 ok */
        th_mk("requests <= 100", NULL, TH_REQUESTS, OP_LE, 100),                       /* 19 ok */
        th_mk("error_rate <= 5%", NULL, TH_ERROR_RATE, OP_LE, 0.05),                   /* 20 ok */
        th_mk("feed: p95 < 1s", "feed", TH_P95, OP_LT, 1000),                          /* 21 NaN */
        th_mk("/a: p50 < 51ms", "/a", TH_P50, OP_LT, 51),                              /* 22 ok */
    };
    enum { N = sizeof th / sizeof th[0] };
    static const bool want_ok[N] = { 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0,
                                     1, 1, 1, 0, 1 };
    th_result out[N];
    eval_expect(&m, 10.0, th, N, want_ok, out);

    const merge_entry *msg = merge_find(&m, STATS_WS_MESSAGE, "feed");
    assert_true(out[0].value == (double)hist_percentile(&msg->lat, 95) / 1000.0);
    assert_true(fabs(out[0].value - 95.0) < 0.1);
    assert_true(out[2].value == 0.03);
    assert_true(out[3].value == 10.0);                         /* 100 expects / 10 s */
    assert_true(fabs(out[5].value - 5.0) < 0.01);
    assert_true(fabs(out[6].value - 0.1) < 1e-12);
    assert_true(fabs(out[7].value - 20.0) < 0.02);
    assert_true(out[8].value == 4000.0);
    assert_true(out[10].value == 0.5);
    assert_true(out[11].value == 2.0);
    assert_true(out[13].value == 0.0);
    for (int i = 14; i <= 17; i++)
        assert_true(isnan(out[i].value));
    assert_true(out[18].value == 100.0);
    assert_true(out[19].value == 100.0);
    assert_true(out[20].value == 0.05);
    assert_true(isnan(out[21].value));
    assert_true(fabs(out[22].value - 50.0) < 0.05);
    merge_fini(&m);
}

/* A ws entry whose counts were reset (an interval set, or no message ever checked)
 * has no data: NaN and failed, as a named HTTP threshold; rps needs a duration. */
static void test_thresholds_ws_no_data(void **state)
{
    (void)state;
    merge_set m;
    ws_totals(&m);
    merge_reset(&m);
    sc_threshold th[] = {
        th_ws("feed: message p95 < 1s", "feed", TH_WS_MESSAGE, TH_P95, OP_LT, 1000),
        th_mk("feed: out_of_order < 1", "feed", TH_OUT_OF_ORDER, OP_LT, 1),
        th_ws("feed: connect failures < 1", "feed", TH_WS_CONNECT, TH_FAILURES, OP_LT, 1),
    };
    static const bool want_ok[3] = { 0, 0, 0 };
    th_result out[3];
    eval_expect(&m, 10.0, th, 3, want_ok, out);
    for (int i = 0; i < 3; i++)
        assert_true(isnan(out[i].value));
    merge_fini(&m);

    ws_totals(&m);
    sc_threshold rps = th_ws("feed: message rps > 0", "feed", TH_WS_MESSAGE, TH_RPS, OP_GT, 0);
    static const bool no[1] = { 0 };
    eval_expect(&m, 0.0, &rps, 1, no, out);
    assert_true(isnan(out[0].value));
    merge_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thresholds_metrics),
        cmocka_unit_test(test_thresholds_no_data),
        cmocka_unit_test(test_thresholds_ws),
        cmocka_unit_test(test_thresholds_ws_no_data),
        cmocka_unit_test(test_thresholds_open),
        cmocka_unit_test(test_thresholds_rate_covered),
        cmocka_unit_test(test_thresholds_open_no_data),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    hist_pool_drain();                  /* chunks parked by merge_reset */
    return rv;
}
