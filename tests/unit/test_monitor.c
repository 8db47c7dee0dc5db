/* The monitor around its scraper (master/monitor.h): the scenario's monitor section and
 * its refusals (common/scenario_monitor.c), monitor thresholds parsed
 * (common/threshold.c) and judged (master/thresholds.c thresholds_eval_monitor), the
 * summary's figures (mean, growth), the rebuild from monitor.csv (a torn last line, a
 * missing file), summary.json's arrays, and --allow-monitor's check. The scraping
 * itself, against node_exporter and the bundled target, is tests/integration/
 * test_monitor.py. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/scenario.h"
#include "master/monitor.h"
#include "master/thresholds.h"

static const char head[] =
    "name: m\ntarget: http://127.0.0.1:1\nload:\n  stages:\n    - { duration: 1s, users: 1 }\n"
    "users:\n  - name: u\n    flow:\n      - http: { url: / }\n";

static scenario *parse(const char *tail, sc_error *err)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", head, tail);
    return scenario_parse(text, strlen(text), "t.yaml", NULL, 0, NULL, NULL, err);
}

static void test_section(void **state)
{
    (void)state;
    sc_error err;
    scenario *sc = parse("monitor:\n  interval: 2s\n  targets:\n"
                         "    - name: app-host\n      url: http://127.0.0.1:9100/metrics\n"
                         "    - name: app\n      url: https://localhost:8000/metrics\n"
                         "      metrics:\n        pool: 'db_pool{state=\"in_use\"}'\n"
                         "        requests: http_requests_total\n"
                         "thresholds:\n  - \"monitor app-host.cpu < 80%\"\n"
                         "  - \"monitor app-host.memory growth < 50%\"\n"
                         "  - \"monitor app.pool max < 95\"\n"
                         "  - \"monitor app.requests avg >= 1\"\n"
                         "  - \"p95 < 1s\"\n", &err);
    if (!sc)
        fail_msg("%s (line %d) hint %s", err.msg, err.line, err.hint);
    assert_int_equal(sc->monitor.interval_ms, 2000);
    assert_int_equal(sc->monitor.ntargets, 2);
    assert_string_equal(sc->monitor.targets[1].metrics[0].alias, "pool");
    assert_string_equal(sc->monitor.targets[1].metrics[0].selector, "db_pool{state=\"in_use\"}");
    assert_int_equal(sc->nthresholds, 5);
    const sc_threshold *t = &sc->thresholds[0];
    assert_int_equal(t->metric, TH_MONITOR);
    assert_string_equal(t->mon_target, "app-host");
    assert_string_equal(t->mon_metric, "cpu");
    assert_int_equal(t->agg, TH_AGG_AUTO);
    assert_int_equal(scenario_mon_agg(t), TH_AGG_MAX);
    assert_true(t->value == 80);
    assert_int_equal(sc->thresholds[1].agg, TH_AGG_GROWTH);
    assert_int_equal(sc->thresholds[2].agg, TH_AGG_MAX);
    assert_int_equal(sc->thresholds[3].agg, TH_AGG_MEAN);
    assert_int_equal(sc->thresholds[3].op, OP_GE);
    assert_int_equal(sc->thresholds[4].metric, TH_P95);
    scenario_free(sc);
    /* no section: interval default, no targets */
    sc = parse("", &err);
    assert_non_null(sc);
    assert_int_equal(sc->monitor.ntargets, 0);
    scenario_free(sc);
}

static void test_section_refusals(void **state)
{
    (void)state;
    static const struct { const char *tail, *want; } bad[] = {
        { "monitor:\n  targets: []\n", "empty" },
        { "monitor:\n  interval: 100ms\n  targets:\n    - { name: a, url: http://x/ }\n",
          "from 1s to 1h" },
        { "monitor:\n  targts: []\n", "unknown key 'targts'" },
        { "monitor:\n  targets:\n    - { name: a, url: ftp://x/ }\n", "http:// or https://" },
        { "monitor:\n  targets:\n    - { name: a, url: 'http://{{ env(\"H\") }}/' }\n", "template" },
        { "monitor:\n  targets:\n    - { name: 'a b', url: http://x/ }\n", "a word" },
        { "monitor:\n  targets:\n    - { name: a, url: http://x/ }\n    - { name: a, url: http://y/ }\n",
          "appears twice" },
        { "monitor:\n  targets:\n    - { url: http://x/ }\n", "missing 'name'" },
        { "monitor:\n  targets:\n    - { name: a, url: http://x/, metrics: { up: x } }\n",
          "'up' is the scrape's own" },
        { "monitor:\n  targets:\n    - { name: a, url: http://x/, metrics: { p: 'x{l=~\"a\"}' } }\n",
          "bad selector for 'p'" },
        { "monitor:\n  targets:\n    - { name: a, url: http://x/, metrics: { 'b.c': x } }\n",
          "alias is a word" },
        { "thresholds: [ \"monitor a.cpu < 80%\" ]\n", "no monitor section" },
        { "monitor:\n  targets:\n    - { name: host, url: http://x/ }\n"
          "thresholds: [ \"monitor hots.cpu < 80%\" ]\n", "no target of that name" },
        { "monitor:\n  targets:\n    - { name: host, url: http://x/ }\n"
          "thresholds: [ \"monitor host.cpux < 80%\" ]\n", "has no metric 'cpux'" },
        { "monitor:\n  targets:\n    - { name: host, url: http://x/ }\n"
          "thresholds: [ \"monitor host.cpu maxx < 80%\" ]\n", "unknown aggregation" },
        { "thresholds: [ \"monitor host < 80%\" ]\n", "expected TARGET.METRIC" },
        { "thresholds: [ \"monitor host.cpu = 80\" ]\n", "expected a comparison" },
        { "thresholds: [ \"monitor host.cpu < 80ms\" ]\n", "unexpected 'ms'" },
        { "thresholds: [ \"monitor < 80\" ]\n", "expected TARGET.METRIC" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sc_error err;
        scenario *sc = parse(bad[i].tail, &err);
        if (sc) {
            scenario_free(sc);
            fail_msg("accepted: %s", bad[i].tail);
        }
        if (!strstr(err.msg, bad[i].want))
            fail_msg("%s: \"%s\", expected \"%s\"", bad[i].tail, err.msg, bad[i].want);
        assert_true(err.line > 0);
    }
    /* a typo's hint names the nearest target and metric */
    sc_error err;
    assert_null(parse("monitor:\n  targets:\n    - { name: host, url: http://x/ }\n"
                      "thresholds: [ \"monitor host.memroy growth < 50%\" ]\n", &err));
    assert_non_null(strstr(err.hint, "memory"));
    /* a request named "monitor" keeps its meaning with a ':' */
    sc_threshold th;
    char msg[256], hint[256];
    assert_int_equal(scenario_parse_threshold("monitor: p95 < 1s", &th, msg, sizeof msg, hint,
                                              sizeof hint), 0);
    assert_int_equal(th.metric, TH_P95);
    assert_string_equal(th.name, "monitor");
    free(th.expr);
    free(th.name);
}

static monitor_stat mk_stat(const char *t, const char *m, const double *v, int n)
{
    monitor_stat s = { .n = 0 };
    snprintf(s.target, sizeof s.target, "%s", t);
    snprintf(s.metric, sizeof s.metric, "%s", m);
    for (int i = 0; i < n; i++) {
        if (s.n == 0) s.first = s.min = s.max = v[i];
        if (v[i] < s.min) s.min = v[i];
        if (v[i] > s.max) s.max = v[i];
        s.last = v[i];
        s.sum += v[i];
        s.n++;
    }
    return s;
}

static void test_judge(void **state)
{
    (void)state;
    sc_error err;
    scenario *sc = parse("monitor:\n  targets:\n    - { name: host, url: http://x/ }\n"
                         "    - { name: app, url: http://y/, metrics: { pool: p, z: z } }\n"
                         "    - { name: down, url: http://z/ }\n"
                         "thresholds:\n"
                         "  - \"monitor host.cpu < 80%\"\n"            /* max 85: fails */
                         "  - \"monitor host.cpu mean < 80%\"\n"       /* mean 60: holds */
                         "  - \"monitor host.memory growth < 50%\"\n"  /* 20 -> 40: 100 %: fails */
                         "  - \"monitor app.pool > 1\"\n"              /* min 2: holds */
                         "  - \"monitor app.pool last <= 3\"\n"        /* 5: fails */
                         "  - \"monitor app.z growth < 1000\"\n"       /* 0 -> 1: +Inf fails */
                         "  - \"monitor down.cpu < 80\"\n"             /* no samples: fails */
                         "  - \"monitor host.load < 80\"\n", &err);    /* no samples: fails */
    if (!sc)
        fail_msg("%s", err.msg);
    const double cpu[] = { 40, 85, 55 }, mem[] = { 20, 30, 40 }, pool[] = { 2, 4, 5 },
                 z[] = { 0, 1 };
    monitor_stat st[] = { mk_stat("host", "cpu", cpu, 3), mk_stat("host", "memory", mem, 3),
                          mk_stat("app", "pool", pool, 3), mk_stat("app", "z", z, 2) };
    monitor_tstat tg[] = { { .name = "host", .scrapes = 3 }, { .name = "app", .scrapes = 3 },
                           { .name = "down", .scrapes = 3, .failures = 3,
                             .last_error = "Couldn't connect to server" } };
    monitor_summary ms = { .targets = tg, .ntargets = 3, .stats = st, .nstats = 4 };
    assert_true(fabs(monitor_stat_mean(&st[0]) - 60) < 1e-9);
    assert_true(fabs(monitor_stat_growth(&st[1]) - 100) < 1e-9);
    assert_true(isnan(monitor_stat_growth(&st[3])));
    th_result res[8];
    merge_set empty;
    merge_init(&empty);
    int failed = thresholds_eval(sc, &empty, 1.0, res);
    assert_int_equal(failed, 8);                    /* before the monitor: all NaN */
    assert_string_equal(res[0].note, "no monitor figures");
    failed = thresholds_eval_monitor(sc, &ms, res);
    assert_int_equal(failed, 6);
    bool want[] = { false, true, false, true, false, false, false, false };
    for (int i = 0; i < 8; i++)
        if (res[i].ok != want[i])
            fail_msg("%s: ok %d value %g", sc->thresholds[i].expr, res[i].ok, res[i].value);
    assert_true(res[0].value == 85);
    assert_true(isinf(res[5].value));
    assert_true(isnan(res[6].value));
    assert_non_null(strstr(res[6].note, "3 of 3 scrapes failed (Couldn't connect"));
    assert_string_equal(res[7].note, "no samples of host.load");
    /* no summary at all: every monitor threshold fails */
    assert_int_equal(thresholds_eval_monitor(sc, NULL, res), 8);
    merge_fini(&empty);
    scenario_free(sc);
}

static void test_load_and_json(void **state)
{
    (void)state;
    char dir[] = "/tmp/stampede-test-monitor-XXXXXX", path[128], err[256];
    assert_non_null(mkdtemp(dir));
    monitor_summary ms;
    assert_int_equal(monitor_summary_load(dir, &ms, err, sizeof err), 0);    /* no file */
    assert_int_equal(ms.nstats, 0);
    snprintf(path, sizeof path, "%s/monitor.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Timestamp,Target,Metric,Value\r\n"
          "100,host,up,1\r\n100,host,memory,20\r\n100,\"a,b\",up,0\r\n"
          "101,host,up,1\r\n101,host,memory,30\r\n101,\"a,b\",up,0\r\n"
          "102,host,up,0\r\n102,host,memory,4", f);               /* torn last line */
    fclose(f);
    assert_int_equal(monitor_summary_load(dir, &ms, err, sizeof err), 0);
    assert_int_equal(ms.ntargets, 2);
    assert_string_equal(ms.targets[1].name, "a,b");
    assert_int_equal(ms.targets[0].scrapes, 3);
    assert_int_equal(ms.targets[0].failures, 1);
    assert_int_equal(ms.targets[1].failures, 2);
    const monitor_stat *s = monitor_summary_find(&ms, "host", "memory");
    assert_non_null(s);
    assert_int_equal(s->n, 2);
    assert_true(s->first == 20 && s->last == 30 && fabs(monitor_stat_growth(s) - 50) < 1e-9);
    json_t *root = json_object();
    monitor_summary_json(root, &ms);
    json_t *m = json_object_get(root, "monitor");
    assert_int_equal(json_array_size(m), 3);
    json_t *mem = json_array_get(m, 1);
    assert_string_equal(json_string_value(json_object_get(mem, "metric")), "memory");
    assert_true(json_real_value(json_object_get(mem, "growth_pct")) == 50.0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(
        json_object_get(root, "monitor_targets"), 1), "failures")), 2);
    json_decref(root);
    root = json_object();
    monitor_summary_json(root, NULL);
    assert_int_equal(json_array_size(json_object_get(root, "monitor")), 0);
    json_decref(root);
    monitor_summary_fini(&ms);
    unlink(path);
    rmdir(dir);
}

/* report.html's series: downsampled to maxpoints with each bucket's peak; t on the
 * history's clock; names that are not words left out; no monitor.csv: null. */
static void test_report_data(void **state)
{
    (void)state;
    char dir[] = "/tmp/stampede-test-monrep-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(monitor_report_data(dir, NAN, 100, m), 0);
    fclose(m);
    assert_string_equal(buf, "null");
    free(buf);
    snprintf(path, sizeof path, "%s/monitor.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("Timestamp,Target,Metric,Value\r\n", f);
    for (int i = 0; i < 5000; i++)
        fprintf(f, "%d,host,cpu,%d\r\n%d,\"x<y\",up,1\r\n", 1000 + i, i == 4321 ? 99 : 10, 1000 + i);
    fputs("9999,host,cpu,5", f);                                /* torn */
    fclose(f);
    m = open_memstream(&buf, &len);
    assert_int_equal(monitor_report_data(dir, 990, 100, m), 0);
    fclose(m);
    assert_null(strchr(buf, '<'));
    json_error_t je;
    json_t *a = json_loads(buf, 0, &je);
    if (!a)
        fail_msg("%s: %s", je.text, buf);
    assert_int_equal(json_array_size(a), 1);
    json_t *s = json_array_get(a, 0), *t = json_object_get(s, "t"), *v = json_object_get(s, "v");
    assert_int_equal(json_array_size(t), 100);
    assert_int_equal(json_array_size(v), 100);
    assert_true(json_number_value(json_array_get(t, 0)) == 10);         /* 1000 - 990 */
    double peak = 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (json_number_value(json_array_get(v, i)) > peak)
            peak = json_number_value(json_array_get(v, i));
    assert_true(peak == 99);                                           /* kept */
    json_decref(a);
    free(buf);
    unlink(path);
    rmdir(dir);
}

static void test_allow(void **state)
{
    (void)state;
    sc_error se;
    scenario *sc = parse("monitor:\n  targets:\n    - { name: lo, url: http://127.0.0.1:9/m }\n"
                         "    - { name: far, url: 'http://10.1.2.3:9100/metrics' }\n", &se);
    assert_non_null(sc);
    allow_list al;
    char err[512];
    assert_int_equal(monitor_allow_parse(&al, NULL, err, sizeof err), 0);
    assert_int_equal(monitor_check_allow(&sc->monitor, &al, err, sizeof err), -1);
    assert_non_null(strstr(err, "monitor target 'far': host 10.1.2.3 is outside --allow-monitor "
                                "127.0.0.0/8"));
    assert_int_equal(monitor_allow_parse(&al, "127.0.0.0/8,10.0.0.0/8", err, sizeof err), 0);
    assert_int_equal(monitor_check_allow(&sc->monitor, &al, err, sizeof err), 0);
    assert_int_equal(monitor_allow_parse(&al, "10.0.0.0/8", err, sizeof err), 0);
    assert_int_equal(monitor_check_allow(&sc->monitor, &al, err, sizeof err), -1);
    assert_non_null(strstr(err, "'lo'"));
    assert_int_equal(monitor_allow_parse(&al, "nonsense", err, sizeof err), -1);
    scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section),
        cmocka_unit_test(test_section_refusals),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_load_and_json),
        cmocka_unit_test(test_report_data),
        cmocka_unit_test(test_allow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
