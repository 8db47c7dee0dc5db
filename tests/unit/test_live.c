/* Unit tests for master/live.c: a merge_set built from stats deltas (HTTP entries,
 * WebSocket entries, error rows), rendered as the dashboard's JSON (read back with
 * jansson: totals, per-name rows and percentiles, WS rows, errors, thresholds, workers,
 * the caps, the idle state) and as Prometheus text (checked line by line against the
 * exposition format's rules: names, HELP/TYPE once before a family's contiguous
 * samples, counters ending in _total, escaping, no duplicate series, summaries with
 * quantiles, _sum and _count; values equal to the merged totals). When promtool is
 * installed, `promtool check metrics` must accept the text too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "master/live.h"
#include "master/merge.h"
#include "tests/unit/support.h"

/* ---- building a merge_set from deltas (tdelta, td_*: tests/unit/support.h) ------------ */

#define ODD_NAME "/q\"x\\y\nz"             /* a quote, a backslash and a newline */

/* The run used by most tests, merged from two deltas (two workers):
 *   GET /orders   150 requests, 1..100 ms and 1..50 ms, 4 failures, 1000 bytes each
 *   POST login    10 requests, 200..290 ms, 2 failures
 *   GET ODD_NAME  1 request, 5 ms
 *   ws "feed"     WS 20 messages 10..29 ms (1 failure); WS:connect 6 attempts, 1 failed,
 *                 2..7 ms; WS:sent 40 (400 bytes); WS:recv 55 (900 bytes); WS:c:1000 3
 *   ws "ticker"   WS:sent 7 only (no message latency)
 *   errors        http_status 503 x3 and 500 x1 on /orders, timeout x2 on login,
 *                 connect x1 on feed's WS:connect, expect x1 on feed's WS */
static void build_run(merge_set *m)
{
    merge_init(m);
    tdelta d;
    td_init(&d);
    uint32_t orders = td_entry(&d, "GET", "/orders", 100, 1000, 1000, 3, 1000, NULL);
    uint32_t login = td_entry(&d, "POST", "login", 10, 200000, 10000, 2, 50, NULL);
    td_entry(&d, "GET", ODD_NAME, 1, 5000, 0, 0, 10, NULL);
    uint32_t wsm = td_entry(&d, STATS_WS_MESSAGE, "feed", 20, 10000, 1000, 1, 0, NULL);
    uint32_t wsc = td_entry(&d, STATS_WS_CONNECT, "feed", 6, 2000, 1000, 1, 0, NULL);
    td_counts(&d, STATS_WS_SENT, "feed", 40, 0, 400);
    td_counts(&d, STATS_WS_RECV, "feed", 50, 0, 800);
    td_counts(&d, STATS_WS_CLOSE_PREFIX "1000", "feed", 3, 0, 0);
    td_err(&d, orders, ERR_HTTP_STATUS, "503", 3);
    td_err(&d, login, ERR_TIMEOUT, "", 2);
    td_err(&d, wsc, ERR_CONNECT, "", 1);
    td_err(&d, wsm, ERR_EXPECT, "$.type", 1);
    td_merge(m, &d);

    td_init(&d);
    orders = td_entry(&d, "GET", "/orders", 50, 1000, 1000, 1, 1000, NULL);
    td_counts(&d, STATS_WS_RECV, "feed", 5, 0, 100);
    td_counts(&d, STATS_WS_SENT, "ticker", 7, 0, 70);
    td_err(&d, orders, ERR_HTTP_STATUS, "500", 1);
    td_merge(m, &d);
}

/* The same latencies as GET /orders, recorded into one histogram. */
static void orders_hist(hist *h)
{
    hist_init(h);
    for (uint64_t k = 0; k < 100; k++)
        hist_record(h, 1000 + k * 1000);
    for (uint64_t k = 0; k < 50; k++)
        hist_record(h, 1000 + k * 1000);
}

typedef struct fixture {
    merge_set    m;
    coord_status st;
    coord_worker_info w[3];
    sc_threshold th[3];
    scenario     sc;
    live_input   in;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    build_run(&f->m);
    f->st.run_id = UINT64_C(0x1234abcd);
    f->st.state = RUN_RUNNING;
    f->st.elapsed_s = 10.0;
    f->st.users = 42;
    f->st.rps = 16.5;
    f->st.requests = f->m.all.requests;
    f->st.failures = f->m.all.failures;
    f->st.workers = 2;
    snprintf(f->st.out_dir, sizeof f->st.out_dir, "results/erp-peak-20240501-120000");

    snprintf(f->w[0].id, sizeof f->w[0].id, "w-a");
    snprintf(f->w[0].host, sizeof f->w[0].host, "host-a");
    f->w[0].threads = 4;
    f->w[0].users = 30;
    f->w[0].rps = 10.25;
    f->w[0].cpu_pct = 87.5;
    snprintf(f->w[0].state, sizeof f->w[0].state, "running");
    f->w[0].last_seen_s = 0.25;
    f->w[0].has_health = true;                  /* issue 13: its last interval's health */
    f->w[0].engine_cpu_pct = 96.5;
    f->w[0].rss_mib = 42.25;
    f->w[0].loop_lag_ms = 35.5;
    f->w[0].conns = 30;
    f->w[0].flagged = true;
    f->w[0].flagged_intervals = 3;
    f->w[0].retries = 7;                        /* issue 15 */
    snprintf(f->w[1].id, sizeof f->w[1].id, "w-b");
    snprintf(f->w[1].host, sizeof f->w[1].host, "host-b");
    f->w[1].threads = 2;
    f->w[1].users = 12;
    f->w[1].rps = 6.25;
    f->w[1].cpu_pct = NAN;                      /* no heartbeat yet */
    snprintf(f->w[1].state, sizeof f->w[1].state, "running");
    f->w[1].last_seen_s = 0.5;
    snprintf(f->w[2].id, sizeof f->w[2].id, "w-c");
    snprintf(f->w[2].host, sizeof f->w[2].host, "host-c");
    snprintf(f->w[2].state, sizeof f->w[2].state, "lost");
    f->w[2].last_seen_s = 4.0;

    f->th[0] = th_mk("p95 < 500ms", NULL, TH_P95, OP_LT, 500);
    f->th[1] = th_mk("login: p99 < 100ms", "login", TH_P99, OP_LT, 100);
    f->th[2] = th_mk("typo: p95 < 1s", "typo", TH_P95, OP_LT, 1000);
    f->sc.name = (char *)"erp-peak";
    f->sc.thresholds = f->th;
    f->sc.nthresholds = 3;

    f->in.st = &f->st;
    f->in.scenario = "erp-peak";
    f->in.sc = &f->sc;
    f->in.totals = &f->m;
    f->in.workers = f->w;
    f->in.nworkers = 3;
}

static void fixture_fini(fixture *f)
{
    merge_fini(&f->m);
}

static json_t *parse_live(const live_input *in)
{
    char *text = live_json(in);
    assert_non_null(text);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("live_json is not JSON: %s: %s", e.text, text);
    free(text);
    assert_true(json_is_object(j));
    return j;
}

static double jnum(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

static const char *jstr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* Whole ms as live.c reports them: hist_percentile (us) / 1000. */
static double ms_of(const hist *h, double p)
{
    return (double)hist_percentile(h, p) / 1000.0;
}

/* ---- live_json ------------------------------------------------------------------- */

static void test_json_top(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    json_t *j = parse_live(&f.in);
    assert_string_equal(jstr(j, "run_id"), "305441741");
    assert_string_equal(jstr(j, "state"), "running");
    assert_string_equal(jstr(j, "scenario"), "erp-peak");
    assert_true(jnum(j, "elapsed_s") == 10.0);
    assert_int_equal((int)jnum(j, "users"), 42);
    assert_true(jnum(j, "rps") == 16.5);
    assert_int_equal((int)jnum(j, "requests"), 161);      /* HTTP only: 150 + 10 + 1 */
    assert_int_equal((int)jnum(j, "failures"), 6);
    assert_true(fabs(jnum(j, "error_rate") - 6.0 / 161.0) < 1e-12);
    assert_string_equal(jstr(j, "out_dir"), "results/erp-peak-20240501-120000");
    assert_true(json_is_integer(json_object_get(j, "requests")));
    json_decref(j);
    fixture_fini(&f);
}

static void test_json_names(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    json_t *j = parse_live(&f.in);
    json_t *names = json_object_get(j, "names");
    assert_true(json_is_array(names));
    /* HTTP rows by (name, method), then the one "WS" row; no WS:* rows, no Aggregated */
    assert_int_equal(json_array_size(names), 4);
    const char *want_name[] = { "/orders", ODD_NAME, "login", "feed" };
    const char *want_method[] = { "GET", "GET", "POST", "WS" };
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_array_get(names, i);
        assert_string_equal(jstr(r, "name"), want_name[i]);
        assert_string_equal(jstr(r, "method"), want_method[i]);
    }

    json_t *o = json_array_get(names, 0);
    hist h;
    orders_hist(&h);
    assert_int_equal((int)jnum(o, "requests"), 150);
    assert_int_equal((int)jnum(o, "failures"), 4);
    assert_true(jnum(o, "median_ms") == ms_of(&h, 50));
    assert_true(jnum(o, "p95_ms") == ms_of(&h, 95));
    assert_true(jnum(o, "p99_ms") == ms_of(&h, 99));
    assert_true(jnum(o, "max_ms") == 100.0);
    assert_true(fabs(jnum(o, "avg_ms") - hist_mean(&h) / 1000.0) < 1e-9);
    assert_true(jnum(o, "rps") == 15.0);                   /* 150 / 10 s */
    /* sanity: nearest rank 143 of 1..50 ms twice and 51..100 ms once is 93 ms */
    assert_true(fabs(jnum(o, "p95_ms") - 93.0) <= 0.1);
    hist_fini(&h);

    json_t *login = json_array_get(names, 2);
    assert_int_equal((int)jnum(login, "requests"), 10);
    assert_true(fabs(jnum(login, "p99_ms") - 290.0) <= 0.3);
    assert_true(jnum(login, "rps") == 1.0);

    json_t *ws = json_array_get(names, 3);                  /* message latency */
    assert_int_equal((int)jnum(ws, "requests"), 20);
    assert_int_equal((int)jnum(ws, "failures"), 1);
    assert_true(fabs(jnum(ws, "median_ms") - 19.0) <= 0.02);
    assert_true(jnum(ws, "max_ms") == 29.0);
    assert_true(jnum(ws, "rps") == 2.0);
    json_decref(j);
    fixture_fini(&f);
}

static void test_json_errors_thresholds_workers(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    json_t *j = parse_live(&f.in);

    json_t *errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), 5);
    json_t *e0 = json_array_get(errs, 0);                  /* most frequent first */
    assert_string_equal(jstr(e0, "method"), "GET");
    assert_string_equal(jstr(e0, "name"), "/orders");
    assert_string_equal(jstr(e0, "kind"), "http_status");
    assert_string_equal(jstr(e0, "detail"), "503");
    assert_int_equal((int)jnum(e0, "count"), 3);
    json_t *e1 = json_array_get(errs, 1);
    assert_string_equal(jstr(e1, "kind"), "timeout");
    assert_string_equal(jstr(e1, "name"), "login");
    assert_int_equal((int)jnum(e1, "count"), 2);
    /* the count-1 rows in (name, method, kind, detail) order */
    assert_string_equal(jstr(json_array_get(errs, 2), "detail"), "500");
    json_t *e3 = json_array_get(errs, 3), *e4 = json_array_get(errs, 4);
    assert_string_equal(jstr(e3, "method"), "WS");
    assert_string_equal(jstr(e3, "kind"), "expect");
    assert_string_equal(jstr(e3, "detail"), "$.type");
    assert_string_equal(jstr(e4, "method"), "WS:connect");
    assert_string_equal(jstr(e4, "kind"), "connect");

    json_t *ths = json_object_get(j, "thresholds");
    assert_int_equal(json_array_size(ths), 3);
    hist h;
    orders_hist(&h);
    json_t *t0 = json_array_get(ths, 0);
    assert_string_equal(jstr(t0, "expr"), "p95 < 500ms");
    assert_true(json_is_true(json_object_get(t0, "ok")));
    /* all HTTP: 161 samples; p95 lies among the /orders and login latencies */
    assert_true(jnum(t0, "value") > 90.0 && jnum(t0, "value") < 300.0);
    json_t *t1 = json_array_get(ths, 1);
    assert_true(json_is_false(json_object_get(t1, "ok")));
    assert_true(fabs(jnum(t1, "value") - 290.0) <= 0.3);
    json_t *t2 = json_array_get(ths, 2);                   /* no such name: null, failed */
    assert_true(json_is_false(json_object_get(t2, "ok")));
    assert_true(json_is_null(json_object_get(t2, "value")));
    hist_fini(&h);

    json_t *ws = json_object_get(j, "workers");
    assert_int_equal(json_array_size(ws), 3);
    json_t *w0 = json_array_get(ws, 0), *w1 = json_array_get(ws, 1);
    assert_string_equal(jstr(w0, "id"), "w-a");
    assert_string_equal(jstr(w0, "host"), "host-a");
    assert_int_equal((int)jnum(w0, "threads"), 4);
    assert_int_equal((int)jnum(w0, "users"), 30);
    assert_true(jnum(w0, "rps") == 10.25);
    assert_true(jnum(w0, "cpu_pct") == 87.5);
    assert_string_equal(jstr(w0, "state"), "running");
    assert_true(jnum(w0, "last_seen_s") == 0.25);
    assert_true(json_is_null(json_object_get(w1, "cpu_pct")));   /* NaN is not JSON */
    assert_true(jnum(w0, "engine_cpu_pct") == 96.5);                /* issue 13 */
    assert_true(jnum(w0, "rss_mib") == 42.25);
    assert_true(jnum(w0, "loop_lag_ms") == 35.5);
    assert_int_equal((int)jnum(w0, "connections"), 30);
    assert_true(json_is_true(json_object_get(w0, "flagged")));
    assert_int_equal((int)jnum(w0, "flagged_intervals"), 3);
    assert_int_equal((int)jnum(w0, "retries"), 7);
    const char *hkeys[] = { "engine_cpu_pct", "rss_mib", "loop_lag_ms", "connections" };
    for (size_t k = 0; k < sizeof hkeys / sizeof hkeys[0]; k++)      /* none yet: null */
        assert_true(json_is_null(json_object_get(w1, hkeys[k])));
    assert_true(json_is_false(json_object_get(w1, "flagged")));
    assert_int_equal((int)jnum(w1, "flagged_intervals"), 0);
    assert_string_equal(jstr(json_array_get(ws, 2), "state"), "lost");
    json_decref(j);

    f.in.sc = NULL;                                         /* no scenario: [] */
    j = parse_live(&f.in);
    assert_int_equal(json_array_size(json_object_get(j, "thresholds")), 0);
    json_decref(j);
    fixture_fini(&f);
}

static void test_json_idle(void **state)
{
    (void)state;
    coord_status st;
    memset(&st, 0, sizeof st);
    st.state = RUN_IDLE;
    live_input in = { .st = &st };
    json_t *j = parse_live(&in);
    assert_true(json_is_null(json_object_get(j, "run_id")));
    assert_string_equal(jstr(j, "state"), "idle");
    assert_true(json_is_null(json_object_get(j, "scenario")));
    assert_int_equal((int)jnum(j, "requests"), 0);
    assert_true(jnum(j, "error_rate") == 0.0);
    assert_true(jnum(j, "elapsed_s") == 0.0);
    const char *arrays[] = { "names", "errors", "thresholds", "workers" };
    for (size_t i = 0; i < 4; i++) {
        json_t *a = json_object_get(j, arrays[i]);
        assert_true(json_is_array(a));
        assert_int_equal(json_array_size(a), 0);
    }
    json_decref(j);

    /* elapsed 0 with totals: rps of a name is 0, not a division by zero */
    fixture f;
    fixture_init(&f);
    f.st.elapsed_s = 0;
    j = parse_live(&f.in);
    json_t *names = json_object_get(j, "names");
    for (size_t i = 0; i < json_array_size(names); i++)
        assert_true(jnum(json_array_get(names, i), "rps") == 0.0);
    json_decref(j);
    fixture_fini(&f);
}

/* "total": the Aggregated row, with the same keys as a names[] row (live.h), from the
 * whole run's `all` entry (HTTP only); null before a run. */
static void test_json_total(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    json_t *j = parse_live(&f.in);
    json_t *t = json_object_get(j, "total");
    assert_true(json_is_object(t));
    json_t *row = json_array_get(json_object_get(j, "names"), 0);
    assert_int_equal(json_object_size(t), json_object_size(row));
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v)
        if (json_object_get(t, key) == NULL || json_typeof(json_object_get(t, key)) != json_typeof(v))
            fail_msg("total lacks \"%s\" as a names row has it", key);
    assert_string_equal(jstr(t, "name"), "Aggregated");
    assert_string_equal(jstr(t, "method"), f.m.all.method);
    assert_int_equal((int)jnum(t, "requests"), (int)f.m.all.requests);  /* 161: HTTP only */
    assert_int_equal((int)jnum(t, "requests"), (int)jnum(j, "requests"));
    assert_int_equal((int)jnum(t, "failures"), (int)jnum(j, "failures"));
    assert_true(jnum(t, "median_ms") == ms_of(&f.m.all.lat, 50));
    assert_true(jnum(t, "p95_ms") == ms_of(&f.m.all.lat, 95));
    assert_true(jnum(t, "p99_ms") == ms_of(&f.m.all.lat, 99));
    assert_true(jnum(t, "max_ms") == (double)f.m.all.lat.max_us / 1000.0);
    assert_true(fabs(jnum(t, "max_ms") - 290.0) <= 0.3);   /* login's slowest */
    assert_true(fabs(jnum(t, "rps") - 16.1) < 1e-9);        /* 161 / 10 s */
    json_decref(j);
    fixture_fini(&f);

    coord_status st;
    memset(&st, 0, sizeof st);
    st.state = RUN_IDLE;
    live_input in = { .st = &st };
    j = parse_live(&in);
    assert_true(json_is_null(json_object_get(j, "total")));
    json_decref(j);
}

/* live_mark_local: "local" first, the rest unchanged; an empty object stays valid; a
 * text that is not an object is returned as it was. */
static void test_mark_local(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    char *plain = live_json(&f.in);
    assert_non_null(plain);
    json_t *want = json_loads(plain, 0, NULL);
    assert_non_null(want);
    for (int local = 0; local <= 1; local++) {
        char *text = live_mark_local(strdup(plain), local);
        assert_non_null(text);
        assert_true(!strncmp(text, local ? "{\"local\":true," : "{\"local\":false,", local ? 14 : 15));
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        assert_true(json_is_boolean(json_object_get(j, "local")));
        assert_int_equal(json_is_true(json_object_get(j, "local")), local);
        json_object_del(j, "local");
        assert_true(json_equal(j, want));
        json_decref(j);
        free(text);
    }
    json_decref(want);
    free(plain);
    fixture_fini(&f);

    char *e = live_mark_local(strdup("{}"), true);
    assert_string_equal(e, "{\"local\":true}");
    free(e);
    e = live_mark_local(strdup("[1]"), true);
    assert_string_equal(e, "[1]");
    free(e);
    assert_null(live_mark_local(NULL, true));
}

/* More rows and error rows than the caps: the busiest names, the most frequent errors. */
static void test_json_caps(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    const int n = LIVE_MAX_NAMES + 20;
    for (int i = 0; i < n; i++) {
        tdelta d;
        td_init(&d);
        char name[32];
        snprintf(name, sizeof name, "/n%04d", i);
        uint32_t e = td_entry(&d, "GET", name, (uint64_t)i + 1, 1000, 10, 0, 0, NULL);
        td_err(&d, e, ERR_HTTP_STATUS, "500", (uint64_t)i + 1);
        td_merge(&m, &d);
    }
    coord_status st;
    memset(&st, 0, sizeof st);
    st.run_id = 1;
    st.state = RUN_FINISHED;
    st.elapsed_s = 1;
    live_input in = { .st = &st, .totals = &m };
    json_t *j = parse_live(&in);
    json_t *names = json_object_get(j, "names");
    assert_int_equal(json_array_size(names), LIVE_MAX_NAMES);
    /* the 20 least busy (/n0000../n0019) are left out; the rest in name order */
    for (size_t i = 0; i < LIVE_MAX_NAMES; i++) {
        char want[32];
        snprintf(want, sizeof want, "/n%04d", (int)i + 20);
        assert_string_equal(jstr(json_array_get(names, i), "name"), want);
        assert_int_equal((int)jnum(json_array_get(names, i), "requests"), (int)i + 21);
    }
    json_t *errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), LIVE_MAX_ERRORS);
    for (size_t i = 0; i < LIVE_MAX_ERRORS; i++)
        assert_int_equal((int)jnum(json_array_get(errs, i), "count"), n - (int)i);
    json_decref(j);
    merge_fini(&m);
}

#define FFFD "\xEF\xBF\xBD"

/* Names are bytes from URLs: invalid UTF-8 must not cost the row (jansson refuses it);
 * each bad byte shows as U+FFFD and its hex digits. */
static void test_json_bad_utf8(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/caf\xC3\xA9/\xFF", 3, 1000, 10, 0, 0, NULL);
    td_merge(&m, &d);
    coord_status st;
    memset(&st, 0, sizeof st);
    st.run_id = 2;
    st.state = RUN_RUNNING;
    live_input in = { .st = &st, .totals = &m, .scenario = "bad\xC0" };
    json_t *j = parse_live(&in);
    json_t *names = json_object_get(j, "names");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(jstr(json_array_get(names, 0), "name"), "/caf\xC3\xA9/" FFFD "ff");
    assert_string_equal(jstr(j, "scenario"), "bad" FFFD "c0");
    json_decref(j);
    merge_fini(&m);
}

/* ---- live_metrics: a checker for the text exposition format --------------------------- */

#define MAX_SAMPLES 4096
#define MAX_FAMILIES 64

typedef struct family {
    char name[96], type[16];
    int  nhelp, ntype, nsamples;
} family;

typedef struct exposition {
    family fam[MAX_FAMILIES];
    int    nfam;
    char  *series[MAX_SAMPLES];         /* "name{labels}" as written, for duplicates */
    int    nseries;
} exposition;

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'
           || (!first && c >= '0' && c <= '9');
}

/* Length of a metric or label name at s ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 if none. */
static size_t name_len(const char *s)
{
    size_t n = 0;
    while (name_char(s[n], n == 0))
        n++;
    return n;
}

static family *find_family(exposition *x, const char *name, size_t len)
{
    for (int i = 0; i < x->nfam; i++)
        if (strlen(x->fam[i].name) == len && strncmp(x->fam[i].name, name, len) == 0)
            return &x->fam[i];
    return NULL;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t k = strlen(suffix);
    return len >= k && strncmp(s + len - k, suffix, k) == 0;
}

/* Checks text line by line against the format's rules; fails the test on a breach.
 * The caller frees x->series. */
static void check_exposition(const char *text, exposition *x)
{
    memset(x, 0, sizeof *x);
    family *cur = NULL;
    int lineno = 0;
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (const char *p = text; *p; lineno++) {
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        size_t len = (size_t)(eol - p);
        char line[2048];
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol + 1;
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            const char *nm = line + 7;
            size_t nl = name_len(nm);
            if (nl == 0 || nm[nl] != ' ')
                fail_msg("line %d: bad metadata: %s", lineno, line);
            family *f = find_family(x, nm, nl);
            if (f == NULL) {
                assert_true(x->nfam < MAX_FAMILIES);
                f = &x->fam[x->nfam++];
                memcpy(f->name, nm, nl);
            } else if (f != cur || f->nsamples > 0) {
                fail_msg("line %d: metadata of %s after its samples or another family",
                         lineno, f->name);
            }
            if (line[2] == 'H') {
                f->nhelp++;
                assert_true(strlen(nm + nl + 1) > 0);
            } else {
                f->ntype++;
                snprintf(f->type, sizeof f->type, "%s", nm + nl + 1);
                const char *types[] = { "counter", "gauge", "summary", "histogram", "untyped" };
                bool ok = false;
                for (size_t i = 0; i < 5; i++)
                    ok |= strcmp(f->type, types[i]) == 0;
                if (!ok)
                    fail_msg("line %d: bad type %s", lineno, f->type);
                if (strcmp(f->type, "counter") == 0 && !ends_with(f->name, strlen(f->name), "_total"))
                    fail_msg("counter %s does not end in _total", f->name);
            }
            if (f->nhelp > 1 || f->ntype > 1)
                fail_msg("line %d: %s has HELP or TYPE twice", lineno, f->name);
            cur = f;
            continue;
        }
        if (line[0] == '#')
            fail_msg("line %d: unexpected comment: %s", lineno, line);
        /* a sample: name{labels} value */
        size_t nl = name_len(line);
        if (nl == 0)
            fail_msg("line %d: bad metric name: %s", lineno, line);
        if (cur == NULL)
            fail_msg("line %d: sample before any HELP/TYPE", lineno);
        bool mine = strlen(cur->name) == nl && strncmp(cur->name, line, nl) == 0;
        if (!mine && strcmp(cur->type, "summary") == 0) {
            size_t fl = strlen(cur->name);
            mine = strncmp(line, cur->name, fl) == 0
                   && (strncmp(line + fl, "_sum", nl - fl) == 0 || strncmp(line + fl, "_count", nl - fl) == 0)
                   && (nl - fl == 4 || nl - fl == 6);
        }
        if (!mine)
            fail_msg("line %d: sample of another family than %s (not contiguous, or no "
                     "HELP/TYPE): %s", lineno, cur->name, line);
        if (cur->nhelp != 1 || cur->ntype != 1)
            fail_msg("line %d: %s lacks HELP or TYPE", lineno, cur->name);
        cur->nsamples++;
        const char *q = line + nl;
        bool has_quantile = false;
        if (*q == '{') {
            q++;
            while (*q != '}') {
                size_t ln = name_len(q);
                if (ln == 0 || q[ln] != '=' || q[ln + 1] != '"')
                    fail_msg("line %d: bad label: %s", lineno, line);
                if (ln == 8 && strncmp(q, "quantile", 8) == 0)
                    has_quantile = true;
                q += ln + 2;
                while (*q != '"') {
                    if (*q == '\0')
                        fail_msg("line %d: unterminated label value", lineno);
                    if (*q == '\\') {
                        q++;
                        if (*q != '\\' && *q != '"' && *q != 'n')
                            fail_msg("line %d: bad escape \\%c", lineno, *q);
                    }
                    q++;
                }
                q++;
                if (*q == ',')
                    q++;
                else if (*q != '}')
                    fail_msg("line %d: bad label list: %s", lineno, line);
            }
            q++;
        }
        if (strcmp(cur->type, "summary") == 0 && nl == strlen(cur->name) && !has_quantile)
            fail_msg("line %d: summary sample without quantile", lineno);
        if (*q != ' ')
            fail_msg("line %d: no value: %s", lineno, line);
        const char *v = q + 1;
        if (strcmp(v, "NaN") != 0 && strcmp(v, "+Inf") != 0 && strcmp(v, "-Inf") != 0) {
            char *end;
            strtod(v, &end);
            if (end == v || *end != '\0')
                fail_msg("line %d: bad value \"%s\"", lineno, v);
        }
        char *series = strndup(line, (size_t)(q - line));
        assert_non_null(series);
        for (int i = 0; i < x->nseries; i++)
            if (strcmp(x->series[i], series) == 0)
                fail_msg("line %d: duplicate series %s", lineno, series);
        assert_true(x->nseries < MAX_SAMPLES);
        x->series[x->nseries++] = series;
    }
    for (int i = 0; i < x->nfam; i++)
        if (x->fam[i].nhelp != 1 || x->fam[i].ntype != 1)
            fail_msg("%s lacks HELP or TYPE", x->fam[i].name);
}

static void exposition_fini(exposition *x)
{
    for (int i = 0; i < x->nseries; i++)
        free(x->series[i]);
}

/* The value of the sample written exactly as series ("name{labels}"); fails if absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            const char *v = p + n + 1;
            if (strncmp(v, "NaN", 3) == 0)
                return NAN;
            return strtod(v, NULL);
        }
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    fail_msg("no sample %s", series);
    return 0;
}

static bool has_sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return true;
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return false;
}

static const char *const families[][2] = {
    { "stampede_users", "gauge" },
    { "stampede_workers", "gauge" },
    { "stampede_worker_engine_cpu_ratio", "gauge" },        /* issue 13 */
    { "stampede_worker_rss_bytes", "gauge" },
    { "stampede_worker_loop_lag_seconds", "gauge" },
    { "stampede_worker_connections", "gauge" },
    { "stampede_worker_flagged_intervals_total", "counter" },
    { "stampede_worker_http_retries_total", "counter" },     /* issue 15 */
    { "stampede_run_info", "gauge" },
    { "stampede_elapsed_seconds", "gauge" },
    { "stampede_requests_total", "counter" },
    { "stampede_request_failures_total", "counter" },
    { "stampede_response_bytes_total", "counter" },
    { "stampede_request_duration_seconds", "summary" },
    { "stampede_errors_total", "counter" },
    { "stampede_ws_messages_sent_total", "counter" },
    { "stampede_ws_messages_received_total", "counter" },
    { "stampede_ws_connects_total", "counter" },
    { "stampede_ws_message_duration_seconds", "summary" },
    { "stampede_request_service_seconds", "summary" },
    { "stampede_iterations_intended_total", "counter" },
    { "stampede_iterations_started_total", "counter" },
    { "stampede_iterations_dropped_total", "counter" },
    { "stampede_generator_limited_intervals_total", "counter" },
    { "stampede_schedule_backlog_max", "gauge" },
    { "stampede_schedule_planned_rate", "gauge" },
    { "stampede_schedule_achieved_rate", "gauge" },
    { "stampede_schedule_lag_p99_seconds", "gauge" },
    { "stampede_schedule_lag_seconds", "summary" },
    { "stampede_protocol_dropped_total", "counter" },
    { "stampede_protocol_auth_failures_total", "counter" },
    { "stampede_protocol_seal_failures_total", "counter" },
    { "stampede_protocol_hello_timeouts_total", "counter" },
};
#define NFAMILIES (sizeof families / sizeof families[0])
/* Per-profile families: declared always, samples only with ITER rows (the open-model
 * fixture below has them). */
static const char *const profile_families[][2] = {
    { "stampede_iterations_total", "counter" },
    { "stampede_iteration_failures_total", "counter" },
    { "stampede_iteration_duration_seconds", "summary" },
};
#define NPROFILE_FAMILIES (sizeof profile_families / sizeof profile_families[0])

static void test_metrics_format(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    char *text = live_metrics(&f.in);
    assert_non_null(text);
    exposition x;
    check_exposition(text, &x);
    assert_int_equal(x.nfam, (int)(NFAMILIES + NPROFILE_FAMILIES));
    for (size_t i = 0; i < NFAMILIES; i++) {
        family *fam = find_family(&x, families[i][0], strlen(families[i][0]));
        if (fam == NULL)
            fail_msg("family %s missing", families[i][0]);
        assert_string_equal(fam->type, families[i][1]);
        assert_true(fam->nsamples > 0);
    }
    for (size_t i = 0; i < NPROFILE_FAMILIES; i++) {
        family *fam = find_family(&x, profile_families[i][0], strlen(profile_families[i][0]));
        if (fam == NULL)
            fail_msg("family %s missing", profile_families[i][0]);
        assert_string_equal(fam->type, profile_families[i][1]);
    }
    exposition_fini(&x);
    free(text);

    /* before any run: every family still declared, the format still holds */
    coord_status st;
    memset(&st, 0, sizeof st);
    live_input idle = { .st = &st };
    text = live_metrics(&idle);
    assert_non_null(text);
    check_exposition(text, &x);
    assert_int_equal(x.nfam, (int)(NFAMILIES + NPROFILE_FAMILIES));
    assert_true(sample(text, "stampede_users") == 0);
    assert_true(sample(text, "stampede_run_info{run_id=\"\",scenario=\"\",state=\"idle\"}") == 1);
    assert_true(sample(text, "stampede_errors_total{kind=\"connect\"}") == 0);
    exposition_fini(&x);
    free(text);
    fixture_fini(&f);
}

static void test_metrics_values(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    char *text = live_metrics(&f.in);
    assert_non_null(text);

    assert_true(sample(text, "stampede_users") == 42);
    assert_true(sample(text, "stampede_workers{state=\"running\"}") == 2);
    /* issue 13: the workers' health, for those with one (w-a) */
    assert_true(sample(text, "stampede_worker_engine_cpu_ratio{worker=\"w-a\"}") == 0.965);
    assert_true(sample(text, "stampede_worker_rss_bytes{worker=\"w-a\"}") == 42.25 * 1048576);
    assert_true(sample(text, "stampede_worker_loop_lag_seconds{worker=\"w-a\"}") == 0.0355);
    assert_true(sample(text, "stampede_worker_connections{worker=\"w-a\"}") == 30);
    assert_true(sample(text, "stampede_worker_flagged_intervals_total{worker=\"w-a\"}") == 3);
    assert_true(sample(text, "stampede_worker_http_retries_total{worker=\"w-a\"}") == 7);
    assert_null(strstr(text, "stampede_worker_rss_bytes{worker=\"w-b\"}"));
    assert_true(sample(text, "stampede_workers{state=\"lost\"}") == 1);
    assert_true(sample(text, "stampede_run_info{run_id=\"305441741\","
                             "scenario=\"erp-peak\",state=\"running\"}") == 1);
    assert_true(sample(text, "stampede_elapsed_seconds") == 10.0);

    /* the counters equal the merged entries, and sum to the HTTP totals */
    double sum = 0, fails = 0;
    for (uint32_t i = 0; i < f.m.n; i++) {
        const merge_entry *e = &f.m.entries[i];
        if (stats_is_ws_method(e->method) || strchr(e->name, '"') != NULL)
            continue;
        char s[512];
        snprintf(s, sizeof s, "stampede_requests_total{method=\"%s\",name=\"%s\"}", e->method, e->name);
        assert_true(sample(text, s) == (double)e->requests);
        sum += sample(text, s);
        snprintf(s, sizeof s, "stampede_request_failures_total{method=\"%s\",name=\"%s\"}", e->method, e->name);
        assert_true(sample(text, s) == (double)e->failures);
        fails += sample(text, s);
        snprintf(s, sizeof s, "stampede_response_bytes_total{method=\"%s\",name=\"%s\"}", e->method, e->name);
        assert_true(sample(text, s) == (double)e->bytes);
    }
    sum += sample(text, "stampede_requests_total{method=\"GET\",name=\"/q\\\"x\\\\y\\nz\"}");
    assert_true(sum == (double)f.m.all.requests);
    assert_true(fails == (double)f.m.all.failures);
    assert_true(sample(text, "stampede_requests_total{method=\"GET\",name=\"/orders\"}") == 150);
    assert_true(sample(text, "stampede_response_bytes_total{method=\"GET\",name=\"/orders\"}") == 150000);
    assert_false(has_sample(text, "stampede_requests_total{method=\"WS\",name=\"feed\"}"));

    /* the summary: quantiles in seconds from the merged histogram, _sum and _count */
    hist h;
    orders_hist(&h);
    const char *qs[] = { "0.5", "0.9", "0.95", "0.99" };
    const double ps[] = { 50, 90, 95, 99 };
    for (int i = 0; i < 4; i++) {
        char s[256];
        snprintf(s, sizeof s, "stampede_request_duration_seconds{method=\"GET\",name=\"/orders\","
                              "quantile=\"%s\"}", qs[i]);
        assert_true(sample(text, s) == (double)hist_percentile(&h, ps[i]) / 1e6);
    }
    assert_true(fabs(sample(text, "stampede_request_duration_seconds_sum{method=\"GET\","
                                  "name=\"/orders\"}") - (double)h.sum_us / 1e6) < 1e-12);
    assert_true(sample(text, "stampede_request_duration_seconds_count{method=\"GET\","
                             "name=\"/orders\"}") == 150);
    hist_fini(&h);

    /* errors by kind over all names; every kind listed */
    assert_true(sample(text, "stampede_errors_total{kind=\"http_status\"}") == 4);
    assert_true(sample(text, "stampede_errors_total{kind=\"timeout\"}") == 2);
    assert_true(sample(text, "stampede_errors_total{kind=\"connect\"}") == 1);
    assert_true(sample(text, "stampede_errors_total{kind=\"expect\"}") == 1);
    assert_true(sample(text, "stampede_errors_total{kind=\"tls\"}") == 0);
    assert_true(sample(text, "stampede_errors_total{kind=\"ws_protocol\"}") == 0);

    /* WebSocket: one row per connection name, zeros where the name lacks the figure */
    assert_true(sample(text, "stampede_ws_messages_sent_total{name=\"feed\"}") == 40);
    assert_true(sample(text, "stampede_ws_messages_received_total{name=\"feed\"}") == 55);
    assert_true(sample(text, "stampede_ws_connects_total{name=\"feed\"}") == 5);   /* 6 - 1 */
    assert_true(sample(text, "stampede_ws_messages_sent_total{name=\"ticker\"}") == 7);
    assert_true(sample(text, "stampede_ws_messages_received_total{name=\"ticker\"}") == 0);
    assert_true(sample(text, "stampede_ws_connects_total{name=\"ticker\"}") == 0);
    assert_true(fabs(sample(text, "stampede_ws_message_duration_seconds{name=\"feed\","
                                  "quantile=\"0.5\"}") - 0.019) < 0.00002);
    assert_true(sample(text, "stampede_ws_message_duration_seconds_count{name=\"feed\"}") == 20);
    assert_true(isnan(sample(text, "stampede_ws_message_duration_seconds{name=\"ticker\","
                                   "quantile=\"0.99\"}")));
    assert_true(sample(text, "stampede_ws_message_duration_seconds_count{name=\"ticker\"}") == 0);
    assert_true(strstr(text, "WS:c:1000") == NULL);         /* close codes are not series */
    free(text);
    fixture_fini(&f);
}

static void test_metrics_escaping(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    f.in.scenario = "erp \"peak\"\\\n2";
    char *text = live_metrics(&f.in);
    assert_non_null(text);
    /* quote, backslash and newline escaped; no raw newline inside a label */
    assert_non_null(strstr(text, "stampede_requests_total{method=\"GET\",name=\"/q\\\"x\\\\y\\nz\"} 1\n"));
    assert_non_null(strstr(text, "scenario=\"erp \\\"peak\\\"\\\\\\n2\""));
    exposition x;
    check_exposition(text, &x);
    exposition_fini(&x);
    free(text);
    fixture_fini(&f);

    /* invalid UTF-8 is replaced, so Prometheus can read the label */
    merge_set m;
    merge_init(&m);
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/x\xFF\xE2\x82", 1, 1000, 0, 0, 0, NULL);
    td_merge(&m, &d);
    coord_status st;
    memset(&st, 0, sizeof st);
    live_input in = { .st = &st, .totals = &m };
    text = live_metrics(&in);
    assert_non_null(text);
    assert_true(sample(text, "stampede_requests_total{method=\"GET\",name=\"/x" FFFD "ff"
                             FFFD "e2" FFFD "82\"}") == 1);
    free(text);
    merge_fini(&m);
}

/* Float text: shortest round-trip, NaN and integral values as Prometheus reads them. */
static void test_metrics_floats(void **state)
{
    (void)state;
    coord_status st;
    memset(&st, 0, sizeof st);
    st.elapsed_s = 0.1;
    live_input in = { .st = &st };
    char *text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 0.1\n"));
    free(text);
    st.elapsed_s = 1.0 / 3.0;
    text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 0.3333333333333333\n"));
    assert_true(sample(text, "stampede_elapsed_seconds") == 1.0 / 3.0);
    free(text);
    st.elapsed_s = 86400;
    text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 86400\n"));
    free(text);
    st.elapsed_s = 1e-7;
    text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 1e-07\n"));
    free(text);
    st.elapsed_s = 0.000123;
    text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 0.000123\n"));
    free(text);
    st.elapsed_s = 0;
    text = live_metrics(&in);
    assert_non_null(strstr(text, "\nstampede_elapsed_seconds 0\n"));
    free(text);
}

/* Cleaning is one-to-one: names that differ only in bytes that are not UTF-8 (a Latin-1
 * data file feeding URLs), or in a genuine U+FFFD, stay distinct rows and series. */
static void promtool_check(const char *text);

static void test_clean_distinct(void **state)
{
    (void)state;
    const char *raw[] = { "/m\xFC", "/m\xF6", "/m" FFFD "fc", "/m" FFFD };
    const char *shown[] = { "/m" FFFD "fc", "/m" FFFD "f6", "/m" FFFD "ufc", "/m" FFFD "u" };
    merge_set m;
    merge_init(&m);
    tdelta d;
    td_init(&d);
    for (int i = 0; i < 4; i++)
        td_entry(&d, "GET", raw[i], (uint64_t)i + 1, 1000, 10, 0, 0, NULL);
    td_merge(&m, &d);
    coord_status st;
    memset(&st, 0, sizeof st);
    live_input in = { .st = &st, .totals = &m };
    json_t *j = parse_live(&in);
    json_t *names = json_object_get(j, "names");
    assert_int_equal(json_array_size(names), 4);
    for (int i = 0; i < 4; i++) {
        bool found = false;
        for (size_t k = 0; k < 4; k++) {
            json_t *r = json_array_get(names, k);
            if (strcmp(jstr(r, "name"), shown[i]) == 0) {
                assert_int_equal((int)jnum(r, "requests"), i + 1);
                found = true;
            }
        }
        if (!found)
            fail_msg("row %d not shown as expected", i);
    }
    json_decref(j);
    char *text = live_metrics(&in);
    assert_non_null(text);
    exposition x;
    check_exposition(text, &x);                  /* would fail on a duplicate series */
    exposition_fini(&x);
    for (int i = 0; i < 4; i++) {
        char s[128];
        snprintf(s, sizeof s, "stampede_requests_total{method=\"GET\",name=\"%s\"}", shown[i]);
        assert_true(sample(text, s) == i + 1);
    }
    if (access("/usr/bin/promtool", X_OK) == 0)
        promtool_check(text);
    free(text);
    merge_fini(&m);
}

/* `promtool check metrics` (Prometheus' own linter) must accept the text. */
static void promtool_check(const char *text)
{
    char path[] = "/tmp/stampede_live_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        fail_msg("promtool check metrics failed (status %d) on:\n%s", rc, text);
}

static void test_metrics_promtool(void **state)
{
    (void)state;
    if (access("/usr/bin/promtool", X_OK) != 0) {
        print_message("promtool not installed: `promtool check metrics` skipped\n");
        skip();
    }
    fixture f;
    fixture_init(&f);
    f.in.scenario = "erp \"peak\"\\\n2";
    char *text = live_metrics(&f.in);
    assert_non_null(text);
    promtool_check(text);
    free(text);
    fixture_fini(&f);

    coord_status st;
    memset(&st, 0, sizeof st);
    live_input idle = { .st = &st };
    text = live_metrics(&idle);
    assert_non_null(text);
    promtool_check(text);
    free(text);
}

/* ---- the open model (issue 11) ------------------------------------------------------ */

/* The fixture as an open run: ITER rows for two profiles, service times on POST login
 * (a tenth of its latency, into the row and the aggregate), the schedule in the totals
 * and the last interval's figures in the status. */
static void fixture_open(fixture *f)
{
    fixture_init(f);
    add_range(&f->m, STATS_ITERATION, "planner", 30, 100000, 10000, 2);
    add_range(&f->m, STATS_ITERATION, "clerk", 5, 2000000, 0, 0);
    merge_entry *login = NULL;
    for (uint32_t i = 0; i < f->m.n; i++)
        if (!strcmp(f->m.entries[i].name, "login"))
            login = &f->m.entries[i];
    assert_non_null(login);
    for (int i = 0; i < 10; i++) {
        hist_record(&login->svc, (200000 + (uint64_t)i * 10000) / 10);
        hist_record(&f->m.all.svc, (200000 + (uint64_t)i * 10000) / 10);
    }
    f->m.sched.intended = 40;
    f->m.sched.started = 35;
    f->m.sched.dropped = 5;
    f->m.sched.backlog_max = 7;
    for (int i = 1; i <= 35; i++)
        hist_record(&f->m.sched.lag, (uint64_t)i * 100);
    f->m.limited_intervals = 2;
    f->st.open_model = 1;
    f->st.rate_planned = 4.0;
    f->st.rate_achieved = 3.5;
    f->st.lag_p99_ms = 3.4;
    f->st.limited_intervals = 1;                /* the totals' 2 win */
    f->th[2] = th_mk("packer: iteration p95 < 1s", "packer", TH_P95, OP_LT, 1000);
    f->th[2].of = TH_OF_ITERATION;
}

static void test_json_open(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    json_t *j = parse_live(&f.in);
    assert_true(json_is_true(json_object_get(j, "open_model")));
    json_t *s = json_object_get(j, "schedule");
    assert_string_equal(jstr(s, "model"), "open");
    assert_true(jnum(s, "intended") == 40 && jnum(s, "started") == 35);
    assert_true(jnum(s, "dropped") == 5 && jnum(s, "backlog_max") == 7);
    assert_true(jnum(s, "rate_planned") == 4.0 && jnum(s, "rate_achieved") == 3.5);
    assert_true(jnum(s, "lag_p99_ms") == 3.4);
    assert_true(jnum(s, "generator_limited_intervals") == 2);
    assert_int_equal((int)jnum(j, "requests"), 161);          /* ITER rows are no requests */

    json_t *names = json_object_get(j, "names");
    assert_int_equal(json_array_size(names), 4);              /* no ITER row among them */
    const merge_entry *login = merge_find(&f.m, "POST", "login"),
                      *orders = merge_find(&f.m, "GET", "/orders");
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *r = json_array_get(names, i);
        if (!strcmp(jstr(r, "name"), "login"))
            assert_true(jnum(r, "service_p95_ms") == ms_of(&login->svc, 95));
        if (!strcmp(jstr(r, "name"), "/orders"))              /* no svc: the latency */
            assert_true(jnum(r, "service_p95_ms") == ms_of(&orders->lat, 95));
    }
    json_t *its = json_object_get(j, "iterations");
    assert_int_equal(json_array_size(its), 2);
    json_t *clerk = json_array_get(its, 0), *planner = json_array_get(its, 1);
    assert_string_equal(jstr(clerk, "profile"), "clerk");
    assert_string_equal(jstr(planner, "profile"), "planner");
    assert_true(jnum(planner, "count") == 30 && jnum(planner, "failures") == 2);
    assert_true(jnum(planner, "p99_ms")
                == ms_of(&merge_find(&f.m, STATS_ITERATION, "planner")->lat, 99));
    json_t *th = json_array_get(json_object_get(j, "thresholds"), 2);
    assert_true(json_is_null(json_object_get(th, "value")));
    assert_string_equal(jstr(th, "note"), "no iterations of profile packer");
    assert_null(json_object_get(json_array_get(json_object_get(j, "thresholds"), 0), "note"));
    json_decref(j);

    /* without totals the status's figures stand in */
    f.in.totals = NULL;
    j = parse_live(&f.in);
    s = json_object_get(j, "schedule");
    assert_true(jnum(s, "intended") == 0 && jnum(s, "generator_limited_intervals") == 1);
    assert_int_equal(json_array_size(json_object_get(j, "iterations")), 0);
    json_decref(j);
    fixture_fini(&f);

    fixture_init(&f);                           /* closed: model "closed", zeros */
    j = parse_live(&f.in);
    assert_false(json_is_true(json_object_get(j, "open_model")));
    assert_string_equal(jstr(json_object_get(j, "schedule"), "model"), "closed");
    json_decref(j);
    fixture_fini(&f);
}

static void test_metrics_open(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *text = live_metrics(&f.in);
    assert_non_null(text);
    exposition x;
    check_exposition(text, &x);
    for (size_t i = 0; i < NPROFILE_FAMILIES; i++) {
        family *fam = find_family(&x, profile_families[i][0], strlen(profile_families[i][0]));
        assert_non_null(fam);
        assert_true(fam->nsamples > 0);
    }
    exposition_fini(&x);
    assert_true(sample(text, "stampede_iterations_intended_total") == 40);
    assert_true(sample(text, "stampede_iterations_started_total") == 35);
    assert_true(sample(text, "stampede_iterations_dropped_total") == 5);
    assert_true(sample(text, "stampede_generator_limited_intervals_total") == 2);
    assert_true(sample(text, "stampede_schedule_backlog_max") == 7);
    assert_true(sample(text, "stampede_schedule_planned_rate") == 4.0);
    assert_true(sample(text, "stampede_schedule_achieved_rate") == 3.5);
    assert_true(fabs(sample(text, "stampede_schedule_lag_p99_seconds") - 0.0034) < 1e-12);
    assert_true(sample(text, "stampede_schedule_lag_seconds{quantile=\"0.99\"}")
                == (double)hist_percentile(&f.m.sched.lag, 99) / 1e6);
    assert_true(sample(text, "stampede_schedule_lag_seconds_count") == 35);
    const merge_entry *login = merge_find(&f.m, "POST", "login");
    assert_true(sample(text, "stampede_request_service_seconds{method=\"POST\",name=\"login\","
                             "quantile=\"0.95\"}") == (double)hist_percentile(&login->svc, 95) / 1e6);
    assert_true(sample(text, "stampede_request_duration_seconds{method=\"POST\",name=\"login\","
                             "quantile=\"0.95\"}") == (double)hist_percentile(&login->lat, 95) / 1e6);
    assert_true(sample(text, "stampede_request_service_seconds_count{method=\"POST\",name=\"login\"}")
                == 10);
    assert_true(sample(text, "stampede_iterations_total{profile=\"planner\"}") == 30);
    assert_true(sample(text, "stampede_iteration_failures_total{profile=\"planner\"}") == 2);
    assert_true(sample(text, "stampede_iterations_total{profile=\"clerk\"}") == 5);
    assert_true(sample(text, "stampede_iteration_duration_seconds{profile=\"clerk\","
                             "quantile=\"0.5\"}") == (double)hist_percentile(
                                 &merge_find(&f.m, STATS_ITERATION, "clerk")->lat, 50) / 1e6);
    assert_false(has_sample(text, "stampede_requests_total{method=\"ITER\",name=\"planner\"}"));
    if (access("/usr/bin/promtool", X_OK) == 0)
        promtool_check(text);
    free(text);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_top),
        cmocka_unit_test(test_json_names),
        cmocka_unit_test(test_json_errors_thresholds_workers),
        cmocka_unit_test(test_json_idle),
        cmocka_unit_test(test_json_total),
        cmocka_unit_test(test_mark_local),
        cmocka_unit_test(test_json_caps),
        cmocka_unit_test(test_json_bad_utf8),
        cmocka_unit_test(test_metrics_format),
        cmocka_unit_test(test_metrics_values),
        cmocka_unit_test(test_metrics_escaping),
        cmocka_unit_test(test_metrics_floats),
        cmocka_unit_test(test_clean_distinct),
        cmocka_unit_test(test_metrics_promtool),
        cmocka_unit_test(test_json_open),
        cmocka_unit_test(test_metrics_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
