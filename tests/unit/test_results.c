/* Unit tests for master/results.c: a results folder written into a scratch directory
 * and read back (summary.json via jansson, Locust's exact CSV headers and rows,
 * junit.xml, failures.csv), with and without WebSocket entries (one stats.csv row per
 * "WS" entry, the summary's "ws" section, HTTP-only totals). Threshold evaluation has
 * its own tests (test_thresholds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "master/merge.h"
#include "master/results.h"
#include "master/thresholds.h"
#include "tests/unit/support.h"

/* Locust 2.x headers, from locust/stats.py (StatsCSV.requests_csv_columns,
 * StatsCSVFileWriter.stats_history_csv_columns, failures_columns, with
 * get_readable_percentiles(PERCENTILES_TO_REPORT)) as csv.writer writes them. */
#define LOCUST_PCTS "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
static const char locust_stats_header[] =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    LOCUST_PCTS "\r\n";
static const char locust_history_header[] =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s," LOCUST_PCTS ",Total Request Count,"
    "Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n";
static const char locust_failures_header[] = "Method,Name,Error,Occurrences\r\n";

/* ---- helpers ---------------------------------------------------------------------- */

/* Rows are merged with add_entry, add_range and add_counts, thresholds made with th_mk
 * (tests/unit/support.h). */

static char *slurp(const char *dir, const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, k, mem);
    fclose(f);
    fclose(mem);
    return buf;
}

/* Line i (0-based) of a CRLF text, with its "\r\n", into out; false when absent. */
static bool line_at(const char *text, int i, char *out, size_t cap)
{
    const char *p = text;
    for (int k = 0; k < i; k++) {
        p = strstr(p, "\r\n");
        if (p == NULL)
            return false;
        p += 2;
    }
    const char *end = strstr(p, "\r\n");
    if (end == NULL)
        return false;
    size_t n = (size_t)(end - p) + 2;
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void rm_rf(const char *dir)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- results ---------------------------------------------------------------------- */

typedef struct rfix {
    char tmp[256];
    char dir[512];
    merge_set totals, interval;
} rfix;

static int rfix_setup(void **state)
{
    rfix *f = calloc(1, sizeof *f);
    snprintf(f->tmp, sizeof f->tmp, "/tmp/stampede-results-XXXXXX");
    if (mkdtemp(f->tmp) == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/deep/er/run1", f->tmp);   /* mkdir -p */
    merge_init(&f->totals);
    merge_init(&f->interval);
    *state = f;
    return 0;
}

static int rfix_teardown(void **state)
{
    rfix *f = *state;
    merge_fini(&f->totals);
    merge_fini(&f->interval);
    rm_rf(f->tmp);
    free(f);
    return 0;
}

/* GET /a: 10,12,14,16 ms (1 failure, 503), 10 bytes each; POST login: 1.5 ms;
 * GET /q,"x": 0.1 ms, failed (connect refused). */
static void fill_a(merge_set *m)
{
    static const uint64_t lat[] = { 10000, 12000, 14000, 16000 };
    proto_stats_err e = { .entry = 0, .kind = ERR_HTTP_STATUS, .detail = "503", .count = 1 };
    add_entry(m, "GET", "/a", lat, 4, 1, 40, &e, 1);
}

static void fill_rest(merge_set *m)
{
    static const uint64_t l1[] = { 1500 }, l2[] = { 100 };
    add_entry(m, "POST", "login", l1, 1, 0, 0, NULL, 0);
    proto_stats_err e = { .entry = 0, .kind = ERR_CONNECT, .detail = "refused", .count = 1 };
    add_entry(m, "GET", "/q,\"x\"", l2, 1, 1, 0, &e, 1);
}

static void test_results_folder(void **state)
{
    rfix *f = *state;
    char err[512] = "";
    results r;
    assert_int_equal(results_open(&r, f->dir, err, sizeof err), 0);
    const uint64_t t0 = UINT64_C(1704164645000);           /* 2024-01-02T03:04:05Z */

    /* interval 1: GET /a only */
    fill_a(&f->interval);
    assert_int_equal(merge_add_set(&f->totals, &f->interval), 0);
    assert_int_equal(results_history(&r, t0 + 1000, 7, 1.0, &f->interval, &f->totals), 0);
    merge_reset(&f->interval);
    /* interval 2: nothing */
    assert_int_equal(results_history(&r, t0 + 2000, 7, 1.0, &f->interval, &f->totals), 0);

    /* the history is on disk before the run ends */
    char *hist_txt = slurp(f->dir, "stats_history.csv");
    assert_non_null(hist_txt);
    char line[1024];
    assert_true(line_at(hist_txt, 0, line, sizeof line));
    assert_string_equal(line, locust_history_header);
    assert_true(line_at(hist_txt, 1, line, sizeof line));
    assert_string_equal(line, "1704164646,7,,Aggregated,4.000000,1.000000,"
                              "12,14,14,16,16,16,16,16,16,16,16,"
                              "4,1,12,13.0,10.0,16.0,10.0\r\n");
    assert_true(line_at(hist_txt, 2, line, sizeof line));
    assert_string_equal(line, "1704164647,7,,Aggregated,0.000000,0.000000,"
                              "N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,"
                              "4,1,12,13.0,10.0,16.0,10.0\r\n");
    assert_false(line_at(hist_txt, 3, line, sizeof line));
    free(hist_txt);

    /* interval 3: the rest, then the run ends */
    fill_rest(&f->interval);
    f->interval.cancelled = 2;
    f->interval.names_folded = 3;
    assert_int_equal(merge_add_set(&f->totals, &f->interval), 0);
    assert_int_equal(results_history(&r, t0 + 2500, 3, 0.5, &f->interval, &f->totals), 0);

    sc_threshold th[] = {
        th_mk("p95 < 100ms", NULL, TH_P95, OP_LT, 100),
        th_mk("error_rate < 1%", NULL, TH_ERROR_RATE, OP_LT, 0.01),
        th_mk("nope: p95 < 1s", "nope", TH_P95, OP_LT, 1000),
    };
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = "erp-peak";
    sc.file = "configs/erp-peak.yaml";
    sc.target = "http://127.0.0.1:8000";
    sc.thresholds = th;
    sc.nthresholds = 3;
    th_result thr[3];
    assert_int_equal(thresholds_eval(&sc, &f->totals, 2.0, thr), 2);
    results_worker w[2] = {
        { .id = "w1", .host = "hostA", .threads = 4, .requests = 5, .state = "finished" },
        { .id = "w2", .host = "hostB", .threads = 2, .requests = 1, .state = "lost" },
    };
    results_meta meta = {
        .sc = &sc, .target = "http://127.0.0.1:9000", .start_wall_ms = t0,
        .end_wall_ms = t0 + 2000, .duration_s = 2.0, .peak_users = 7,
        .stop_reason = "finished", .th = thr, .nth = 3, .workers = w, .nworkers = 2,
        .missing_requests_max = 11,
    };
    assert_int_equal(results_finish(&r, &meta, &f->totals, err, sizeof err), 0);
    assert_null(r.history);
    results_close(&r);                                      /* harmless after finish */

    /* history: three rows, the last with the final totals */
    hist_txt = slurp(f->dir, "stats_history.csv");
    assert_true(line_at(hist_txt, 3, line, sizeof line));
    assert_string_equal(line, "1704164647,3,,Aggregated,4.000000,2.000000,"
                              "0,2,2,2,2,2,2,2,2,2,2,"
                              "6,2,10,8.933333333333334,0.1,16.0,6.666666666666667\r\n");
    free(hist_txt);

    /* stats.csv: Locust's header, rows by (name, method), then Aggregated */
    char *stats = slurp(f->dir, "stats.csv");
    assert_non_null(stats);
    assert_true(line_at(stats, 0, line, sizeof line));
    assert_string_equal(line, locust_stats_header);
    assert_true(line_at(stats, 1, line, sizeof line));
    assert_string_equal(line, "GET,/a,4,1,12,13.0,10.0,16.0,10.0,2.0,0.5,"
                              "12,14,14,16,16,16,16,16,16,16,16\r\n");
    assert_true(line_at(stats, 2, line, sizeof line));
    assert_string_equal(line, "GET,\"/q,\"\"x\"\"\",1,1,0,0.1,0.1,0.1,0.0,0.5,0.5,"
                              "0,0,0,0,0,0,0,0,0,0,0\r\n");
    assert_true(line_at(stats, 3, line, sizeof line));
    assert_string_equal(line, "POST,login,1,0,2,1.5,1.5,1.5,0.0,0.5,0.0,"
                              "2,2,2,2,2,2,2,2,2,2,2\r\n");
    assert_true(line_at(stats, 4, line, sizeof line));
    assert_string_equal(line, ",Aggregated,6,2,10,8.933333333333334,0.1,16.0,6.666666666666667,"
                              "3.0,1.0,10,12,14,14,16,16,16,16,16,16,16\r\n");
    assert_false(line_at(stats, 5, line, sizeof line));
    free(stats);

    /* failures.csv */
    char *fails = slurp(f->dir, "failures.csv");
    assert_non_null(fails);
    assert_true(line_at(fails, 0, line, sizeof line));
    assert_string_equal(line, locust_failures_header);
    assert_true(line_at(fails, 1, line, sizeof line));
    assert_string_equal(line, "GET,/a,503 Service Unavailable,1\r\n");
    assert_true(line_at(fails, 2, line, sizeof line));
    assert_string_equal(line, "GET,\"/q,\"\"x\"\"\",connect: refused,1\r\n");
    assert_false(line_at(fails, 3, line, sizeof line));
    free(fails);

    /* junit.xml: 3 cases, 2 failures, escaped names and messages */
    char *junit = slurp(f->dir, "junit.xml");
    assert_non_null(junit);
    assert_non_null(strstr(junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_non_null(strstr(junit, "<testsuite name=\"stampede thresholds\" tests=\"3\" failures=\"2\""));
    assert_non_null(strstr(junit, "<testcase name=\"p95 &lt; 100ms\" classname=\"thresholds\" time=\"0\"/>"));
    const char *c = strstr(junit, "<testcase name=\"error_rate &lt; 1%\" classname=\"thresholds\"");
    assert_non_null(c);
    assert_non_null(strstr(c, "<failure message=\"measured 33.3333%\""));
    c = strstr(junit, "<testcase name=\"nope: p95 &lt; 1s\" classname=\"thresholds\"");
    assert_non_null(c);
    assert_non_null(strstr(c, "<failure message=\"measured NaN (no requests named nope)\""));
    assert_null(strstr(junit, " < "));                    /* nothing left unescaped */
    assert_non_null(strstr(junit, "</testsuite>"));
    free(junit);

    /* summary.json */
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    if (s == NULL)
        fail_msg("summary.json: %s at %d", jerr.text, jerr.line);
    static const char *const keys[] = {
        "scenario", "file", "target", "start", "end", "duration_s", "stop_reason",
        "peak_users", "totals", "requests", "ws", "errors", "thresholds", "workers",
        "names_folded", "missing_requests_max",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(s, keys[i]) == NULL)
            fail_msg("summary.json lacks \"%s\"", keys[i]);
    assert_string_equal(json_string_value(json_object_get(s, "scenario")), "erp-peak");
    assert_string_equal(json_string_value(json_object_get(s, "file")), "configs/erp-peak.yaml");
    assert_string_equal(json_string_value(json_object_get(s, "target")), "http://127.0.0.1:9000");
    assert_string_equal(json_string_value(json_object_get(s, "start")), "2024-01-02T03:04:05.000Z");
    assert_string_equal(json_string_value(json_object_get(s, "end")), "2024-01-02T03:04:07.000Z");
    assert_true(json_real_value(json_object_get(s, "duration_s")) == 2.0);
    assert_string_equal(json_string_value(json_object_get(s, "stop_reason")), "finished");
    assert_int_equal(json_integer_value(json_object_get(s, "peak_users")), 7);
    assert_int_equal(json_integer_value(json_object_get(s, "names_folded")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "missing_requests_max")), 11);

    json_t *tot = json_object_get(s, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "requests")), 6);
    assert_int_equal(json_integer_value(json_object_get(tot, "failures")), 2);
    assert_true(json_real_value(json_object_get(tot, "rps")) == 3.0);
    assert_true(fabs(json_real_value(json_object_get(tot, "error_rate")) - 1.0 / 3.0) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(tot, "cancelled")), 2);
    assert_int_equal(json_integer_value(json_object_get(tot, "bytes")), 40);
    json_t *lat = json_object_get(tot, "latency_ms");
    static const char *const lk[] = { "min", "mean", "p50", "p90", "p95", "p99", "p999", "max" };
    for (size_t i = 0; i < 8; i++)
        assert_true(json_is_real(json_object_get(lat, lk[i])));
    assert_true(json_real_value(json_object_get(lat, "min")) == 0.1);
    assert_true(json_real_value(json_object_get(lat, "max")) == 16.0);
    assert_true(fabs(json_real_value(json_object_get(lat, "mean")) - 53600.0 / 6 / 1000) < 1e-9);
    assert_true(json_real_value(json_object_get(lat, "p50"))
                == (double)hist_percentile(&f->totals.all.lat, 50) / 1000.0);
    assert_true(json_real_value(json_object_get(lat, "p95")) == 16.0);

    json_t *reqs = json_object_get(s, "requests");
    assert_int_equal(json_array_size(reqs), 3);
    json_t *r0 = json_array_get(reqs, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "name")), "/a");
    assert_string_equal(json_string_value(json_object_get(r0, "method")), "GET");
    assert_int_equal(json_integer_value(json_object_get(r0, "requests")), 4);
    assert_int_equal(json_integer_value(json_object_get(r0, "failures")), 1);
    assert_true(json_real_value(json_object_get(r0, "rps")) == 2.0);
    assert_true(json_real_value(json_object_get(json_object_get(r0, "latency_ms"), "p50")) == 12.007);
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 1), "name")), "/q,\"x\"");
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 2), "name")), "login");
    assert_true(json_is_array(json_object_get(s, "ws")));
    assert_int_equal(json_array_size(json_object_get(s, "ws")), 0);

    json_t *errs = json_object_get(s, "errors");
    assert_int_equal(json_array_size(errs), 2);
    json_t *e0 = json_array_get(errs, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "name")), "/a");
    assert_string_equal(json_string_value(json_object_get(e0, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(e0, "kind")), "http_status");
    assert_string_equal(json_string_value(json_object_get(e0, "detail")), "503");
    assert_int_equal(json_integer_value(json_object_get(e0, "count")), 1);

    json_t *ths = json_object_get(s, "thresholds");
    assert_int_equal(json_array_size(ths), 3);
    json_t *t0j = json_array_get(ths, 0), *t2j = json_array_get(ths, 2);
    assert_string_equal(json_string_value(json_object_get(t0j, "expr")), "p95 < 100ms");
    assert_true(json_is_true(json_object_get(t0j, "ok")));
    assert_true(json_real_value(json_object_get(t0j, "value")) == 16.0);
    assert_true(json_is_false(json_object_get(json_array_get(ths, 1), "ok")));
    assert_true(json_is_false(json_object_get(t2j, "ok")));
    assert_true(json_is_null(json_object_get(t2j, "value")));   /* NaN: no data */

    json_t *ws = json_object_get(s, "workers");
    assert_int_equal(json_array_size(ws), 2);
    json_t *w1 = json_array_get(ws, 1);
    assert_string_equal(json_string_value(json_object_get(w1, "id")), "w2");
    assert_string_equal(json_string_value(json_object_get(w1, "host")), "hostB");
    assert_int_equal(json_integer_value(json_object_get(w1, "threads")), 2);
    assert_int_equal(json_integer_value(json_object_get(w1, "requests")), 1);
    assert_string_equal(json_string_value(json_object_get(w1, "state")), "lost");
    json_decref(s);

    /* nothing half-written left behind */
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        assert_null(strstr(de->d_name, ".tmp"));
        files += de->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(files, 6);     /* the five of results.h and report.html */
}

/* ---- WebSocket -------------------------------------------------------------------- */

/* Latency fields of a summary latency object equal those of h (ms). */
static void assert_jlatency(json_t *o, const hist *h)
{
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 8);
    bool any = h->total > 0;
    assert_true(json_real_value(json_object_get(o, "min")) == (any ? h->min_us / 1000.0 : 0.0));
    assert_true(json_real_value(json_object_get(o, "max")) == (any ? h->max_us / 1000.0 : 0.0));
    assert_true(json_real_value(json_object_get(o, "mean")) == hist_mean(h) / 1000.0);
    static const char *const k[] = { "p50", "p90", "p95", "p99", "p999" };
    static const double p[] = { 50, 90, 95, 99, 99.9 };
    for (int i = 0; i < 5; i++)
        assert_true(json_real_value(json_object_get(o, k[i]))
                    == (double)hist_percentile(h, p[i]) / 1000.0);
}

static uint64_t jget_u(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return (uint64_t)json_integer_value(v);
}

/* RESULTS_FULL_HISTORY (--csv-full-history): per interval, a row per name seen so far
 * (sorted by name, then method; Type the method) before Aggregated; a name without
 * requests in the interval has zero rates and N/A percentiles, its Total columns the
 * run so far (Locust's StatsCSVFileWriter with full_history). */
static void test_results_full_history(void **state)
{
    rfix *f = *state;
    char err[512] = "";
    results r;
    assert_int_equal(results_open_ex(&r, f->dir, RESULTS_FULL_HISTORY, err, sizeof err), 0);
    const uint64_t t0 = UINT64_C(1704164645000);
    fill_a(&f->interval);
    fill_rest(&f->interval);
    assert_int_equal(merge_add_set(&f->totals, &f->interval), 0);
    assert_int_equal(results_history(&r, t0 + 1000, 7, 1.0, &f->interval, &f->totals), 0);
    merge_reset(&f->interval);
    fill_a(&f->interval);
    assert_int_equal(merge_add_set(&f->totals, &f->interval), 0);
    assert_int_equal(results_history(&r, t0 + 2000, 7, 2.0, &f->interval, &f->totals), 0);
    results_close(&r);
    char *txt = slurp(f->dir, "stats_history.csv");
    assert_non_null(txt);
    char line[1024];
    assert_true(line_at(txt, 0, line, sizeof line));
    assert_string_equal(line, locust_history_header);
    assert_true(line_at(txt, 1, line, sizeof line));
    assert_string_equal(line, "1704164646,7,GET,/a,4.000000,1.000000,"
                              "12,14,14,16,16,16,16,16,16,16,16,4,1,12,13.0,10.0,16.0,10.0\r\n");
    assert_true(line_at(txt, 2, line, sizeof line));
    assert_string_equal(line, "1704164646,7,GET,\"/q,\"\"x\"\"\",1.000000,1.000000,"
                              "0,0,0,0,0,0,0,0,0,0,0,1,1,0,0.1,0.1,0.1,0.0\r\n");
    assert_true(line_at(txt, 3, line, sizeof line));
    assert_string_equal(line, "1704164646,7,POST,login,1.000000,0.000000,"
                              "2,2,2,2,2,2,2,2,2,2,2,1,0,2,1.5,1.5,1.5,0.0\r\n");
    assert_true(line_at(txt, 4, line, sizeof line));
    assert_non_null(strstr(line, "1704164646,7,,Aggregated,6.000000,2.000000,"));
    /* interval 2 (2 s): /a again, the others idle */
    assert_true(line_at(txt, 5, line, sizeof line));
    assert_string_equal(line, "1704164647,7,GET,/a,2.000000,0.500000,"
                              "12,14,14,16,16,16,16,16,16,16,16,8,2,12,13.0,10.0,16.0,10.0\r\n");
    assert_true(line_at(txt, 6, line, sizeof line));
    assert_string_equal(line, "1704164647,7,GET,\"/q,\"\"x\"\"\",0.000000,0.000000,"
                              "N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,1,1,0,0.1,0.1,0.1,0.0\r\n");
    assert_true(line_at(txt, 7, line, sizeof line));
    assert_non_null(strstr(line, "1704164647,7,POST,login,0.000000,0.000000,N/A,"));
    assert_true(line_at(txt, 8, line, sizeof line));
    assert_non_null(strstr(line, "1704164647,7,,Aggregated,2.000000,0.500000,"));
    assert_false(line_at(txt, 9, line, sizeof line));
    free(txt);
}

/* HTTP: GET /a (fill_a), GET feed 1 x 3 ms. WebSocket "feed": 4 expects at 2,4,6,8 ms
 * (1 timed out), 4 connects at 1 ms (2 failed: timeout, upgrade 503) and a 1006 close
 * noted on the connect entry, 1 reconnect at 500 ms, 10 fanout at 1..10 ms, 2 pings at
 * 0.3 ms, 7 sent (700 B), 9 received (900 B), 6 sequenced (2 out of order), closes
 * 1000 x 3 and 1006 x 1. "alpha": 1 connect, 1 expect at 1 ms, a 1000 close with a zero
 * count. Checks: stats.csv has WS rows after HTTP and before Aggregated and no WS:* row;
 * Aggregated, history and totals are HTTP only; failures.csv shows ws errors as WS,
 * one row per (name, kind, detail); summary "ws" per master/results.h. */
static void test_results_ws(void **state)
{
    rfix *f = *state;
    char err[512] = "";
    results r;
    assert_int_equal(results_open(&r, f->dir, err, sizeof err), 0);
    merge_set *m = &f->interval;
    fill_a(m);
    static const uint64_t l3[] = { 3000 }, lmsg[] = { 2000, 4000, 6000, 8000 },
                          lcon[] = { 1000, 1000, 1000, 1000 }, lrec[] = { 500000 },
                          lping[] = { 300, 300 }, l1[] = { 1000 };
    add_entry(m, "GET", "feed", l3, 1, 0, 5, NULL, 0);
    proto_stats_err emsg = { .entry = 0, .kind = ERR_TIMEOUT, .detail = "", .count = 1 };
    add_entry(m, STATS_WS_MESSAGE, "feed", lmsg, 4, 1, 0, &emsg, 1);
    proto_stats_err econ[] = {
        { .entry = 0, .kind = ERR_TIMEOUT, .detail = "", .count = 1 },
        { .entry = 0, .kind = ERR_WS_UPGRADE, .detail = "503", .count = 1 },
        { .entry = 0, .kind = ERR_WS_CLOSE, .detail = "1006", .count = 1 },
    };
    add_entry(m, STATS_WS_CONNECT, "feed", lcon, 4, 2, 0, econ, 3);
    add_entry(m, STATS_WS_RECONNECT, "feed", lrec, 1, 0, 0, NULL, 0);
    add_range(m, STATS_WS_FANOUT, "feed", 10, 1000, 1000, 0);
    add_entry(m, STATS_WS_PING, "feed", lping, 2, 0, 0, NULL, 0);
    add_counts(m, STATS_WS_SENT, "feed", 7, 0, 700, NULL, 0);
    add_counts(m, STATS_WS_RECV, "feed", 9, 0, 900, NULL, 0);
    add_counts(m, STATS_WS_ORDER, "feed", 6, 2, 0, NULL, 0);
    add_counts(m, STATS_WS_CLOSE_PREFIX "1006", "feed", 1, 0, 0, NULL, 0);
    add_counts(m, STATS_WS_CLOSE_PREFIX "1000", "feed", 3, 0, 0, NULL, 0);
    add_entry(m, STATS_WS_CONNECT, "alpha", l1, 1, 0, 0, NULL, 0);
    add_entry(m, STATS_WS_MESSAGE, "alpha", l1, 1, 0, 0, NULL, 0);
    add_counts(m, STATS_WS_CLOSE_PREFIX "1000", "alpha", 0, 0, 0, NULL, 0);
    assert_int_equal(merge_add_set(&f->totals, m), 0);
    const uint64_t t0 = UINT64_C(1704164645000);
    assert_int_equal(results_history(&r, t0 + 1000, 2, 1.0, m, &f->totals), 0);

    sc_threshold th[] = {
        th_mk("feed: out_of_order < 1", "feed", TH_OUT_OF_ORDER, OP_LT, 1),
        th_mk("ghost: message p95 < 1s", "ghost", TH_P95, OP_LT, 1000),
    };
    th[1].ws = TH_WS_MESSAGE;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = "ws";
    sc.thresholds = th;
    sc.nthresholds = 2;
    th_result thr[2];
    assert_int_equal(thresholds_eval(&sc, &f->totals, 2.0, thr), 2);
    results_meta meta = { .sc = &sc, .start_wall_ms = t0, .end_wall_ms = t0 + 2000,
                          .duration_s = 2.0, .stop_reason = "finished", .th = thr, .nth = 2 };
    assert_int_equal(results_finish(&r, &meta, &f->totals, err, sizeof err), 0);

    /* history: Aggregated of GET /a and GET feed only */
    char line[1024];
    char *txt = slurp(f->dir, "stats_history.csv");
    assert_true(line_at(txt, 1, line, sizeof line));
    assert_string_equal(line, "1704164646,2,,Aggregated,5.000000,1.000000,"
                              "12,14,14,14,16,16,16,16,16,16,16,"
                              "5,1,12,11.0,3.0,16.0,9.0\r\n");
    free(txt);

    /* stats.csv: HTTP rows, then WS rows by name, then Aggregated (HTTP only) */
    txt = slurp(f->dir, "stats.csv");
    assert_true(line_at(txt, 0, line, sizeof line));
    assert_string_equal(line, locust_stats_header);
    assert_true(line_at(txt, 1, line, sizeof line));
    assert_string_equal(line, "GET,/a,4,1,12,13.0,10.0,16.0,10.0,2.0,0.5,"
                              "12,14,14,16,16,16,16,16,16,16,16\r\n");
    assert_true(line_at(txt, 2, line, sizeof line));
    assert_string_equal(line, "GET,feed,1,0,3,3.0,3.0,3.0,5.0,0.5,0.0,"
                              "3,3,3,3,3,3,3,3,3,3,3\r\n");
    assert_true(line_at(txt, 3, line, sizeof line));
    assert_string_equal(line, "WS,alpha,1,0,1,1.0,1.0,1.0,0.0,0.5,0.0,"
                              "1,1,1,1,1,1,1,1,1,1,1\r\n");
    assert_true(line_at(txt, 4, line, sizeof line));
    assert_string_equal(line, "WS,feed,4,1,4,5.0,2.0,8.0,0.0,2.0,0.5,"
                              "4,6,6,8,8,8,8,8,8,8,8\r\n");
    assert_true(line_at(txt, 5, line, sizeof line));
    assert_string_equal(line, ",Aggregated,5,1,12,11.0,3.0,16.0,9.0,2.5,0.5,"
                              "12,14,14,14,16,16,16,16,16,16,16\r\n");
    assert_false(line_at(txt, 6, line, sizeof line));
    assert_null(strstr(txt, "WS:"));
    free(txt);

    /* failures.csv: ws errors under Method WS; the timeout of "WS" and of
     * "WS:connect" of one name make one row */
    txt = slurp(f->dir, "failures.csv");
    assert_true(line_at(txt, 1, line, sizeof line));
    assert_string_equal(line, "GET,/a,503 Service Unavailable,1\r\n");
    assert_true(line_at(txt, 2, line, sizeof line));
    assert_string_equal(line, "WS,feed,timeout,2\r\n");
    assert_true(line_at(txt, 3, line, sizeof line));
    assert_string_equal(line, "WS,feed,ws_close: 1006,1\r\n");
    assert_true(line_at(txt, 4, line, sizeof line));
    assert_string_equal(line, "WS,feed,ws_upgrade: 503,1\r\n");
    assert_false(line_at(txt, 5, line, sizeof line));
    free(txt);

    /* junit: out_of_order is a count; a ws name without data says so */
    txt = slurp(f->dir, "junit.xml");
    assert_non_null(strstr(txt, "<failure message=\"measured 2\""));
    assert_non_null(strstr(txt, "<failure message=\"measured NaN (no WebSocket data named ghost)\""));
    free(txt);

    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    if (s == NULL)
        fail_msg("summary.json: %s at %d", jerr.text, jerr.line);
    json_t *tot = json_object_get(s, "totals");
    assert_int_equal(jget_u(tot, "requests"), 5);
    assert_int_equal(jget_u(tot, "failures"), 1);
    assert_int_equal(jget_u(tot, "bytes"), 45);
    assert_true(json_real_value(json_object_get(tot, "rps")) == 2.5);
    assert_true(json_real_value(json_object_get(json_object_get(tot, "latency_ms"), "max")) == 16.0);
    assert_jlatency(json_object_get(tot, "latency_ms"), &f->totals.all.lat);

    json_t *reqs = json_object_get(s, "requests");
    assert_int_equal(json_array_size(reqs), 2);                 /* HTTP entries only */
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, i), "method")),
                            "GET");
    json_t *errs = json_object_get(s, "errors");     /* rows as merged: own methods */
    assert_int_equal(json_array_size(errs), 5);
    json_t *e1 = json_array_get(errs, 1), *e2 = json_array_get(errs, 2);
    assert_string_equal(json_string_value(json_object_get(e1, "kind")), "timeout");
    assert_string_equal(json_string_value(json_object_get(e1, "method")), STATS_WS_MESSAGE);
    assert_string_equal(json_string_value(json_object_get(e2, "kind")), "timeout");
    assert_string_equal(json_string_value(json_object_get(e2, "method")), STATS_WS_CONNECT);

    json_t *ws = json_object_get(s, "ws");
    assert_int_equal(json_array_size(ws), 2);
    static const char *const wkeys[] = {
        "name", "connects", "connect_failures", "reconnects", "messages_sent",
        "messages_received", "bytes_sent", "bytes_received", "expects", "expect_failures",
        "sequenced", "out_of_order", "fanout_messages", "pings", "closes", "connect_ms",
        "message_ms", "fanout_ms", "reconnect_ms", "ping_ms",
    };
    const size_t nwkeys = sizeof wkeys / sizeof wkeys[0];
    for (size_t k = 0; k < 2; k++) {
        json_t *o = json_array_get(ws, k);
        assert_int_equal(json_object_size(o), nwkeys);
        for (size_t i = 0; i < nwkeys; i++)
            if (json_object_get(o, wkeys[i]) == NULL)
                fail_msg("ws object lacks \"%s\"", wkeys[i]);
    }

    json_t *a = json_array_get(ws, 0);                          /* sorted by name */
    assert_string_equal(json_string_value(json_object_get(a, "name")), "alpha");
    assert_int_equal(jget_u(a, "connects"), 1);
    assert_int_equal(jget_u(a, "connect_failures"), 0);
    assert_int_equal(jget_u(a, "expects"), 1);
    assert_int_equal(jget_u(a, "reconnects"), 0);
    assert_int_equal(jget_u(a, "messages_sent"), 0);
    assert_int_equal(jget_u(a, "pings"), 0);
    assert_int_equal(json_object_size(json_object_get(a, "closes")), 0);   /* zero count */
    json_t *rl = json_object_get(a, "reconnect_ms");                       /* absent: zeros */
    static const char *const lk[] = { "min", "mean", "p50", "p90", "p95", "p99", "p999", "max" };
    assert_int_equal(json_object_size(rl), 8);
    for (size_t i = 0; i < 8; i++)
        assert_true(json_is_real(json_object_get(rl, lk[i]))
                    && json_real_value(json_object_get(rl, lk[i])) == 0.0);
    assert_true(json_real_value(json_object_get(json_object_get(a, "message_ms"), "p50")) == 1.0);

    json_t *fd = json_array_get(ws, 1);
    assert_string_equal(json_string_value(json_object_get(fd, "name")), "feed");
    assert_int_equal(jget_u(fd, "connects"), 2);                /* 4 attempts - 2 failed */
    assert_int_equal(jget_u(fd, "connect_failures"), 2);
    assert_int_equal(jget_u(fd, "reconnects"), 1);
    assert_int_equal(jget_u(fd, "messages_sent"), 7);
    assert_int_equal(jget_u(fd, "messages_received"), 9);
    assert_int_equal(jget_u(fd, "bytes_sent"), 700);
    assert_int_equal(jget_u(fd, "bytes_received"), 900);
    assert_int_equal(jget_u(fd, "expects"), 4);
    assert_int_equal(jget_u(fd, "expect_failures"), 1);
    assert_int_equal(jget_u(fd, "sequenced"), 6);
    assert_int_equal(jget_u(fd, "out_of_order"), 2);
    assert_int_equal(jget_u(fd, "fanout_messages"), 10);
    assert_int_equal(jget_u(fd, "pings"), 2);
    json_t *closes = json_object_get(fd, "closes");
    assert_int_equal(json_object_size(closes), 2);
    assert_int_equal(jget_u(closes, "1000"), 3);
    assert_int_equal(jget_u(closes, "1006"), 1);
    const char *first_key = json_object_iter_key(json_object_iter(closes));
    assert_string_equal(first_key, "1000");                     /* ascending codes */

    const merge_set *t = &f->totals;
    assert_jlatency(json_object_get(fd, "connect_ms"), &merge_find(t, STATS_WS_CONNECT, "feed")->lat);
    assert_jlatency(json_object_get(fd, "message_ms"), &merge_find(t, STATS_WS_MESSAGE, "feed")->lat);
    assert_jlatency(json_object_get(fd, "fanout_ms"), &merge_find(t, STATS_WS_FANOUT, "feed")->lat);
    assert_jlatency(json_object_get(fd, "reconnect_ms"), &merge_find(t, STATS_WS_RECONNECT, "feed")->lat);
    assert_jlatency(json_object_get(fd, "ping_ms"), &merge_find(t, STATS_WS_PING, "feed")->lat);
    json_t *fo = json_object_get(fd, "fanout_ms");
    assert_true(fabs(json_real_value(json_object_get(fo, "p50")) - 5.0) < 0.01);
    assert_true(json_real_value(json_object_get(fo, "max")) == 10.0);
    assert_true(json_real_value(json_object_get(fo, "mean")) == 5.5);
    json_t *mm = json_object_get(fd, "message_ms");
    assert_true(json_real_value(json_object_get(mm, "min")) == 2.0);
    assert_true(json_real_value(json_object_get(mm, "mean")) == 5.0);
    assert_true(json_real_value(json_object_get(json_object_get(fd, "ping_ms"), "p95")) == 0.3);
    assert_true(json_real_value(json_object_get(json_object_get(fd, "reconnect_ms"), "max")) == 500.0);
    json_decref(s);
}

/* ---- the open model (issue 11) ------------------------------------------------------ */

static bool file_exists(const char *dir, const char *file);

/* The writable entry (method, name) of m (service times go straight into merged rows,
 * as merge_add would put them from deltas that carry them). */
static merge_entry *ent_of(merge_set *m, const char *method, const char *name)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (!strcmp(m->entries[i].method, method) && !strcmp(m->entries[i].name, name))
            return &m->entries[i];
    fail_msg("no entry %s %s", method, name);
    return NULL;
}

/* POST create-order n requests, latency first, first + step, ... (us), service a tenth
 * of each (into the row and the set's aggregate); one ITER row "planner" with n - 1
 * iterations of 2 x latency, 1 failed. */
static void open_rows(merge_set *m, int n, uint64_t first, uint64_t step)
{
    add_range(m, "POST", "create-order", n, first, step, 0);
    add_range(m, STATS_ITERATION, "planner", n - 1, 2 * first, 2 * step, 1);
    merge_entry *e = ent_of(m, "POST", "create-order");
    for (int i = 0; i < n; i++) {
        hist_record(&e->svc, (first + (uint64_t)i * step) / 10);
        hist_record(&m->all.svc, (first + (uint64_t)i * step) / 10);
    }
}

static json_t *jget2(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return b ? json_object_get(v, b) : v;
}

/* An open-model run: schedule.csv per interval (planned and achieved rate, counts, lag,
 * service percentiles, CPU, the limited flag), summary.json's service_ms, iterations,
 * schedule and verdict; ITER rows stay out of stats.csv, failures.csv, the history's
 * Aggregated, requests[] and totals. */
static void test_results_open_model(void **state)
{
    rfix *f = *state;
    char err[512] = "";
    results r;
    assert_int_equal(results_open_ex(&r, f->dir, RESULTS_SCHEDULE, err, sizeof err), 0);
    const uint64_t t0 = UINT64_C(1704164645000);

    /* interval 1: 10 requests at 10..100 ms (service 1..10 ms), 10 intended, 9 started,
     * 1 dropped, backlog 3, lag 1..9 ms, CPU 50 %: kept the schedule */
    open_rows(&f->interval, 10, 10000, 10000);
    f->interval.sched.intended = 10;
    f->interval.sched.started = 9;
    f->interval.sched.dropped = 1;
    f->interval.sched.backlog_max = 3;
    for (int i = 1; i <= 9; i++)
        hist_record(&f->interval.sched.lag, (uint64_t)i * 1000);
    f->interval.cpu_max = 0.5;
    assert_false(results_limited(&f->interval));
    assert_int_equal(results_history(&r, t0 + 1000, 4, 1.0, &f->interval, &f->totals), 0);
    /* interval 2 (a set of its own: this test does not lean on merge_reset): no
     * request, 5 arrivals started 20 ms late, CPU 95 %: limited */
    merge_set iv2;
    merge_init(&iv2);
    iv2.sched.intended = 5;
    iv2.sched.started = 5;
    hist_record_n(&iv2.sched.lag, 20000, 5);
    iv2.cpu_max = 0.95;
    assert_true(results_limited(&iv2));
    iv2.cpu_max = 0.0;
    assert_true(results_limited(&iv2));                     /* lag alone */
    hist_reset(&iv2.sched.lag);
    hist_record_n(&iv2.sched.lag, RESULTS_LAG_LIMIT_US, 5);
    assert_false(results_limited(&iv2));                    /* at the limit: kept */
    hist_reset(&iv2.sched.lag);
    hist_record_n(&iv2.sched.lag, 20000, 5);
    iv2.cpu_max = 0.95;
    assert_int_equal(results_history(&r, t0 + 2000, 4, 1.0, &iv2, &f->totals), 0);
    merge_fini(&iv2);

    char *sched = slurp(f->dir, "schedule.csv");
    assert_non_null(sched);
    char line[1024];
    assert_true(line_at(sched, 0, line, sizeof line));
    assert_string_equal(line, "Timestamp,Planned Rate,Achieved Rate,Intended,Started,Dropped,"
                              "Backlog Max,Lag p50,Lag p99,Lag Max,Service p50,Service p95,"
                              "Service p99,CPU Max,Limited\r\n");
    assert_true(line_at(sched, 1, line, sizeof line));
    assert_string_equal(line, "1704164646,10.0,9.0,10,9,1,3,5,9,9,5,10,10,0.5,0\r\n");
    assert_true(line_at(sched, 2, line, sizeof line));
    assert_string_equal(line, "1704164647,5.0,5.0,5,5,0,0,20,20,20,N/A,N/A,N/A,0.95,1\r\n");
    assert_false(line_at(sched, 3, line, sizeof line));
    free(sched);

    /* the totals, built as the coordinator folds its intervals */
    open_rows(&f->totals, 10, 10000, 10000);
    f->totals.sched.intended = 15;
    f->totals.sched.started = 14;
    f->totals.sched.dropped = 1;
    f->totals.sched.backlog_max = 3;
    for (int i = 1; i <= 9; i++)
        hist_record(&f->totals.sched.lag, (uint64_t)i * 1000);
    hist_record_n(&f->totals.sched.lag, 20000, 5);
    f->totals.cpu_max = 0.95;
    f->totals.limited_intervals = 1;

    sc_stage stage = { .duration_ms = 2000, .rate = 7.5 };
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = "orders";
    sc.model = SC_MODEL_OPEN;
    sc.stages = &stage;
    sc.nstages = 1;
    sc_threshold th[] = {
        th_mk("packer: iteration p95 < 2s", "packer", TH_P95, OP_LT, 2000),
        th_mk("rate >= 7", NULL, TH_RATE, OP_GE, 7),
    };
    th[0].of = TH_OF_ITERATION;
    sc.thresholds = th;
    sc.nthresholds = 2;
    th_result thr[2];
    assert_int_equal(thresholds_eval(&sc, &f->totals, 3.0, thr), 1);
    results_meta meta = { .sc = &sc, .start_wall_ms = t0, .end_wall_ms = t0 + 3000,
                          .duration_s = 3.0, .stop_reason = "finished", .th = thr, .nth = 2 };
    assert_int_equal(results_finish(&r, &meta, &f->totals, err, sizeof err), 0);
    assert_true(file_exists(f->dir, "schedule.csv"));

    char *stats = slurp(f->dir, "stats.csv");
    assert_null(strstr(stats, "planner"));
    assert_null(strstr(stats, STATS_ITERATION));
    assert_true(line_at(stats, 2, line, sizeof line));       /* create-order, Aggregated */
    assert_non_null(strstr(line, ",Aggregated,10,0,"));
    free(stats);
    char *fails = slurp(f->dir, "failures.csv");
    assert_string_equal(fails, locust_failures_header);
    free(fails);
    char *junit = slurp(f->dir, "junit.xml");
    assert_non_null(strstr(junit, "measured NaN (no iterations of profile packer)"));
    free(junit);

    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_t *s = json_load_file(path, 0, NULL);
    assert_non_null(s);
    const merge_entry *co = merge_find(&f->totals, "POST", "create-order");
    assert_jlatency(jget2(s, "totals", "service_ms"), &f->totals.all.svc);
    assert_jlatency(jget2(s, "totals", "latency_ms"), &f->totals.all.lat);
    assert_int_equal(jget_u(jget2(s, "totals", NULL), "requests"), 10);
    json_t *reqs = json_object_get(s, "requests");
    assert_int_equal(json_array_size(reqs), 1);
    assert_jlatency(json_object_get(json_array_get(reqs, 0), "service_ms"), &co->svc);
    assert_jlatency(json_object_get(json_array_get(reqs, 0), "latency_ms"), &co->lat);
    assert_int_equal(json_array_size(json_object_get(s, "ws")), 0);   /* ITER is no ws row */

    json_t *its = json_object_get(s, "iterations");
    assert_int_equal(json_array_size(its), 1);
    json_t *it = json_array_get(its, 0);
    assert_string_equal(json_string_value(json_object_get(it, "profile")), "planner");
    assert_int_equal(jget_u(it, "count"), 9);
    assert_int_equal(jget_u(it, "failures"), 1);
    assert_jlatency(json_object_get(it, "latency_ms"),
                    &merge_find(&f->totals, STATS_ITERATION, "planner")->lat);

    json_t *sch = json_object_get(s, "schedule");
    assert_string_equal(json_string_value(json_object_get(sch, "model")), "open");
    assert_int_equal(jget_u(sch, "intended"), 15);
    assert_int_equal(jget_u(sch, "started"), 14);
    assert_int_equal(jget_u(sch, "dropped"), 1);
    assert_int_equal(jget_u(sch, "backlog_max"), 3);
    assert_int_equal(jget_u(sch, "generator_limited_intervals"), 1);
    assert_true(json_real_value(jget2(sch, "lag_ms", "p50"))
                == hist_percentile(&f->totals.sched.lag, 50) / 1000.0);
    assert_true(fabs(json_real_value(jget2(sch, "lag_ms", "p50")) - 7.0) < 0.01);
    assert_true(json_real_value(jget2(sch, "lag_ms", "max")) == 20.0);
    assert_true(json_real_value(jget2(sch, "lag_ms", "p99"))
                == hist_percentile(&f->totals.sched.lag, 99) / 1000.0);
    /* the stages cover 2 s of the 3 s run: 15 and 14 arrivals over 2 s */
    assert_true(json_real_value(json_object_get(sch, "covered_s")) == 2.0);
    assert_true(json_real_value(json_object_get(sch, "rate_planned")) == 7.5);
    assert_true(json_real_value(json_object_get(sch, "rate_achieved")) == 7.0);

    json_t *ths = json_object_get(s, "thresholds");
    assert_true(json_is_null(json_object_get(json_array_get(ths, 0), "value")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(ths, 0), "note")),
                        "no iterations of profile packer");
    assert_null(json_object_get(json_array_get(ths, 1), "note"));

    json_t *v = json_object_get(s, "verdict");
    assert_false(json_is_true(json_object_get(v, "clean")));
    assert_int_equal(jget_u(v, "thresholds_failed"), 1);
    assert_int_equal(jget_u(v, "generator_limited_intervals"), 1);
    json_t *notes = json_object_get(v, "notes");
    assert_int_equal(json_array_size(notes), 3);
    assert_string_equal(json_string_value(json_array_get(notes, 0)), "1 threshold failed");
    assert_non_null(strstr(json_string_value(json_array_get(notes, 1)),
                           "the generator did not keep the schedule in 1 interval "));
    assert_non_null(strstr(json_string_value(json_array_get(notes, 2)), "1 arrival was dropped"));
    json_decref(s);
}

/* The verdict of a closed run: clean when every threshold held and no interval was
 * limited; an engine thread above 90 % CPU makes it unclean whatever the thresholds. */
static void test_results_verdict_closed(void **state)
{
    rfix *f = *state;
    add_range(&f->totals, "GET", "/a", 4, 1000, 1000, 0);
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc_threshold th = th_mk("p95 < 1s", NULL, TH_P95, OP_LT, 1000);
    sc.thresholds = &th;
    sc.nthresholds = 1;
    th_result thr;
    assert_int_equal(thresholds_eval(&sc, &f->totals, 1.0, &thr), 0);
    results_meta meta = { .sc = &sc, .duration_s = 1.0, .stop_reason = "finished",
                          .th = &thr, .nth = 1 };
    char *text = results_summary_text(&meta, &f->totals);
    json_t *s = json_loads(text, 0, NULL);
    free(text);
    assert_true(json_is_true(jget2(s, "verdict", "clean")));
    assert_int_equal(json_array_size(jget2(s, "verdict", "notes")), 0);
    json_t *sch = json_object_get(s, "schedule");
    assert_string_equal(json_string_value(json_object_get(sch, "model")), "closed");
    assert_int_equal(jget_u(sch, "intended"), 0);
    assert_true(json_is_null(jget2(sch, "lag_ms", "p99")));
    /* closed model: service equals latency */
    assert_true(json_equal(jget2(s, "totals", "service_ms"), jget2(s, "totals", "latency_ms")));
    json_t *r0 = json_array_get(json_object_get(s, "requests"), 0);
    assert_true(json_equal(json_object_get(r0, "service_ms"), json_object_get(r0, "latency_ms")));
    assert_int_equal(json_array_size(json_object_get(s, "iterations")), 0);
    json_decref(s);

    f->totals.limited_intervals = 2;
    meta.stop_reason = "aborted: every worker was lost";
    text = results_summary_text(&meta, &f->totals);
    s = json_loads(text, 0, NULL);
    free(text);
    assert_false(json_is_true(jget2(s, "verdict", "clean")));
    json_t *notes = jget2(s, "verdict", "notes");
    assert_int_equal(json_array_size(notes), 2);
    assert_string_equal(json_string_value(json_array_get(notes, 0)),
                        "the run did not finish: aborted: every worker was lost");
    assert_non_null(strstr(json_string_value(json_array_get(notes, 1)),
                           "the generator may have been the bottleneck in 2 intervals"));
    json_decref(s);
}

/* A run without a single request: Locust's zeros and N/A, no failures rows, and a
 * summary that is still valid JSON with numbers (no NaN). */
static void test_results_empty_run(void **state)
{
    rfix *f = *state;
    char err[512];
    results r;
    assert_int_equal(results_open(&r, f->dir, err, sizeof err), 0);
    results_meta meta = { .stop_reason = "interrupted" };
    assert_int_equal(results_finish(&r, &meta, &f->totals, err, sizeof err), 0);

    char *stats = slurp(f->dir, "stats.csv");
    char line[1024];
    assert_true(line_at(stats, 1, line, sizeof line));
    assert_string_equal(line, ",Aggregated,0,0,0,0.0,0,0,0,0.0,0.0,"
                              "N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\r\n");
    free(stats);
    char *fails = slurp(f->dir, "failures.csv");
    assert_string_equal(fails, locust_failures_header);
    free(fails);
    char *junit = slurp(f->dir, "junit.xml");
    assert_non_null(strstr(junit, "tests=\"0\" failures=\"0\""));
    free(junit);

    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_t *s = json_load_file(path, 0, NULL);
    assert_non_null(s);
    assert_true(json_is_null(json_object_get(s, "scenario")));
    json_t *tot = json_object_get(s, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "requests")), 0);
    assert_true(json_real_value(json_object_get(tot, "error_rate")) == 0.0);
    assert_true(json_real_value(json_object_get(json_object_get(tot, "latency_ms"), "p99")) == 0.0);
    assert_int_equal(json_array_size(json_object_get(s, "requests")), 0);
    json_decref(s);
}

/* results_open refuses a folder it cannot create and says why. */
static void test_results_open_error(void **state)
{
    rfix *f = *state;
    char file[600], dir[700], err[512] = "";
    snprintf(file, sizeof file, "%s/plainfile", f->tmp);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(dir, sizeof dir, "%s/sub", file);
    results r;
    assert_int_equal(results_open(&r, dir, err, sizeof err), -1);
    assert_null(r.history);
    assert_non_null(strstr(err, "plainfile"));
    err[0] = '\0';
    assert_int_equal(results_open(&r, file, err, sizeof err), -1);   /* a file, not a folder */
    assert_true(err[0] != '\0');
    assert_int_equal(results_open(&r, "", err, sizeof err), -1);
    results_close(&r);
}

static void test_results_default_dir(void **state)
{
    (void)state;
    char buf[256];
    results_default_dir("erp-peak", UINT64_C(1704164645999), buf, sizeof buf);
    assert_string_equal(buf, "results/erp-peak-20240102-030405");
    results_default_dir("a/b c", UINT64_C(1704164645000), buf, sizeof buf);
    assert_string_equal(buf, "results/a_b_c-20240102-030405");
    results_default_dir("..", 0, buf, sizeof buf);
    assert_string_equal(buf, "results/run-19700101-000000");
    results_default_dir(NULL, 0, buf, sizeof buf);
    assert_string_equal(buf, "results/run-19700101-000000");
}

/* ---- issue 9: a full disk, two runs on one folder, names that are not UTF-8 --------- */

/* Mounts a 64 KiB tmpfs on DIR/full (root only) and fills it with a file until the
 * kernel says ENOSPC. false (the caller skips) when mounting is not permitted here. */
static bool full_tmpfs(const rfix *f, char *mnt, size_t cap)
{
    snprintf(mnt, cap, "%s/full", f->tmp);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        print_message("skipped: cannot mount a tmpfs here (%s): needs root\n", strerror(errno));
        return false;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/filler", mnt);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    char block[4096];
    memset(block, 'x', sizeof block);
    setvbuf(fp, NULL, _IONBF, 0);
    int guard = 0;
    while (fwrite(block, 1, sizeof block, fp) == sizeof block && ++guard < 1000)
        ;
    assert_true(guard < 1000);                          /* it did fill up */
    while (fwrite(block, 1, 1, fp) == 1 && ++guard < 10000)   /* the last partial page */
        ;
    fclose(fp);
    return true;
}

static void unmount_tmpfs(const char *mnt)
{
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

static bool file_exists(const char *dir, const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

/* Every file that names no file ending in ".tmp" is left behind. */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t k = strlen(de->d_name);
        n += k > 4 && strcmp(de->d_name + k - 4, ".tmp") == 0;
    }
    closedir(d);
    return n;
}

/* A folder on a full disk: results_open fails with the system's reason. */
static void test_results_full_disk_open(void **state)
{
    rfix *f = *state;
    char mnt[600], dir[700], err[512] = "";
    if (!full_tmpfs(f, mnt, sizeof mnt))
        skip();
    snprintf(dir, sizeof dir, "%s/run", mnt);
    results r;
    int rc = results_open(&r, dir, err, sizeof err);
    results_close(&r);
    unmount_tmpfs(mnt);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, strerror(ENOSPC)));
    assert_non_null(strstr(err, "stats_history.csv"));
}

/* The disk fills during the run: the history row fails with its reason (and no later
 * row is written), results_finish fails saying why, no file is half there (no
 * summary.json, no .tmp left), and the summary text stays available in memory. */
static void test_results_full_disk_finish(void **state)
{
    rfix *f = *state;
    char mnt[600], dir[700], err[512] = "";
    snprintf(mnt, sizeof mnt, "%s/full", f->tmp);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        print_message("skipped: cannot mount a tmpfs here (%s): needs root\n", strerror(errno));
        skip();
    }
    snprintf(dir, sizeof dir, "%s/run", mnt);
    results r;
    assert_int_equal(results_open(&r, dir, err, sizeof err), 0);
    fill_a(&f->totals);
    fill_rest(&f->totals);
    fill_a(&f->interval);
    assert_int_equal(results_history(&r, 1000, 1, 1.0, &f->interval, &f->totals), 0);
    /* now the disk fills up */
    char path[800];
    snprintf(path, sizeof path, "%s/filler", mnt);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    setvbuf(fp, NULL, _IONBF, 0);
    char block[4096];
    memset(block, 'x', sizeof block);
    int guard = 0;
    while (fwrite(block, 1, sizeof block, fp) == sizeof block && ++guard < 1000)
        ;
    while (fwrite(block, 1, 1, fp) == 1 && ++guard < 10000)
        ;
    fclose(fp);
    /* rows until the stdio buffer spills to the full disk */
    int rc = 0;
    for (int i = 0; i < 400 && rc == 0; i++)
        rc = results_history(&r, 2000 + (uint64_t)i * 1000, 1, 1.0, &f->interval, &f->totals);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(r.history_err, strerror(ENOSPC)));
    assert_int_equal(results_history(&r, 999000, 1, 1.0, &f->interval, &f->totals), -1);

    results_meta meta = { .stop_reason = "finished", .duration_s = 2.0 };
    rc = results_finish(&r, &meta, &f->totals, err, sizeof err);
    bool summary = file_exists(dir, "summary.json");
    int tmps = count_tmp(dir);
    unmount_tmpfs(mnt);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, strerror(ENOSPC)));
    assert_non_null(strstr(err, dir));
    assert_false(summary);
    assert_int_equal(tmps, 0);

    char *text = results_summary_text(&meta, &f->totals);   /* what the master keeps */
    assert_non_null(text);
    json_t *s = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(s);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "totals"), "requests")), 6);
    json_decref(s);
}

/* Two runs given the same default name in the same second get two folders; an explicit
 * folder that holds something is refused, an empty one is used. */
static void test_results_exclusive_folder(void **state)
{
    rfix *f = *state;
    char err[512] = "", want[600];
    results a, b, c;
    assert_int_equal(results_open_ex(&a, f->dir, RESULTS_UNIQUE, err, sizeof err), 0);
    assert_int_equal(results_open_ex(&b, f->dir, RESULTS_UNIQUE, err, sizeof err), 0);
    assert_int_equal(results_open_ex(&c, f->dir, RESULTS_UNIQUE, err, sizeof err), 0);
    assert_string_equal(a.dir, f->dir);
    snprintf(want, sizeof want, "%s-2", f->dir);
    assert_string_equal(b.dir, want);
    snprintf(want, sizeof want, "%s-3", f->dir);
    assert_string_equal(c.dir, want);
    fill_a(&f->totals);
    results_meta meta = { .stop_reason = "finished", .duration_s = 1.0 };
    assert_int_equal(results_finish(&a, &meta, &f->totals, err, sizeof err), 0);
    fill_rest(&f->totals);
    assert_int_equal(results_finish(&b, &meta, &f->totals, err, sizeof err), 0);
    results_close(&c);
    /* each folder has its own whole summary */
    char *sa = slurp(a.dir, "summary.json"), *sb = slurp(b.dir, "summary.json");
    json_t *ja = json_loads(sa, 0, NULL), *jb = json_loads(sb, 0, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_int_equal(json_array_size(json_object_get(ja, "requests")), 1);
    assert_int_equal(json_array_size(json_object_get(jb, "requests")), 3);
    json_decref(ja);
    json_decref(jb);
    free(sa);
    free(sb);

    /* explicit: the folder of a run is not taken again */
    err[0] = '\0';
    assert_int_equal(results_open(&c, f->dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "not empty"));
    assert_null(c.history);
    /* a trailing slash names the same folder */
    snprintf(want, sizeof want, "%s/", f->dir);
    assert_int_equal(results_open(&c, want, err, sizeof err), -1);
    /* explicit, existing and empty (mktemp -d): used */
    snprintf(want, sizeof want, "%s/empty", f->tmp);
    assert_int_equal(mkdir(want, 0755), 0);
    assert_int_equal(results_open(&c, want, err, sizeof err), 0);
    assert_string_equal(c.dir, want);
    assert_true(file_exists(want, "stats_history.csv"));
    results_close(&c);
}

/* Names, details and close codes that are not UTF-8 keep every key of summary.json:
 * each bad byte becomes '?'; the file is valid JSON that jansson reads back. */
static void test_results_not_utf8(void **state)
{
    rfix *f = *state;
    char err[512] = "";
    results r;
    assert_int_equal(results_open(&r, f->dir, err, sizeof err), 0);
    static const uint64_t lat[] = { 1000 };
    proto_stats_err e = { .entry = 0, .kind = ERR_HTTP_STATUS, .detail = "5\xff" "3", .count = 1 };
    add_entry(&f->totals, "GET", "/id=\xc3\x28x", lat, 1, 1, 0, &e, 1);
    add_entry(&f->totals, "GET", "/caf\xc3\xa9", lat, 1, 0, 0, NULL, 0);        /* valid */
    add_counts(&f->totals, STATS_WS_CONNECT, "feed\xfe", 1, 0, 0, NULL, 0);
    add_counts(&f->totals, STATS_WS_CLOSE_PREFIX "1\xff", "feed\xfe", 2, 0, 0, NULL, 0);
    results_meta meta = { .stop_reason = "finished", .duration_s = 1.0 };
    assert_int_equal(results_finish(&r, &meta, &f->totals, err, sizeof err), 0);

    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    assert_non_null(s);
    json_t *reqs = json_object_get(s, "requests");
    assert_int_equal(json_array_size(reqs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "name")), "/caf\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 1), "name")), "/id=?(x");
    json_t *er = json_array_get(json_object_get(s, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(er, "name")), "/id=?(x");
    assert_string_equal(json_string_value(json_object_get(er, "detail")), "5?3");
    json_t *ws = json_array_get(json_object_get(s, "ws"), 0);
    assert_string_equal(json_string_value(json_object_get(ws, "name")), "feed?");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ws, "closes"), "1?")), 2);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_results_folder, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_full_history, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_ws, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_open_model, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_verdict_closed, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_empty_run, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_open_error, rfix_setup, rfix_teardown),
        cmocka_unit_test(test_results_default_dir),
        cmocka_unit_test_setup_teardown(test_results_full_disk_open, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_full_disk_finish, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_exclusive_folder, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_results_not_utf8, rfix_setup, rfix_teardown),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    hist_pool_drain();                  /* chunks parked by merge_reset */
    return rv;
}
