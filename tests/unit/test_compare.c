/* Unit tests for cli/compare.c: crafted summary.json files in a scratch directory,
 * compare_main run on them with stdout and stderr captured to files; the exit code,
 * the table lines (one per name and metric), the summary line and the JUnit file are
 * checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/compare.h"
#include "master/merge.h"
#include "master/results.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char scratch[256];       /* per test, from mkdtemp */
static char out_text[65536], err_text[8192];

static int setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof scratch, "/tmp/stampede-compare-XXXXXX");
    assert_non_null(mkdtemp(scratch));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static const char *spath(const char *name)
{
    static char buf[16][512];     /* a few paths stay valid at once */
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", scratch, name);
    return buf[k];
}

/* A latency object whose every key is derived from p95 (so p95 moves them all). */
static json_t *lat(double p95)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min", p95 / 10, "mean", p95 / 2,
                     "p50", p95 / 3, "p90", p95 * 0.9, "p95", p95, "p99", p95 * 1.5,
                     "p999", p95 * 2, "max", p95 * 3);
}

static json_t *row(const char *method, const char *name, json_int_t requests, json_int_t failures,
                   double rps, double p95)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:o}", "name", name, "method", method,
                     "requests", requests, "failures", failures, "rps", rps, "error_rate",
                     requests ? (double)failures / (double)requests : 0.0, "latency_ms", lat(p95));
}

/* A summary: totals from the arguments, then the given request rows (stolen). */
static json_t *summary(json_int_t requests, json_int_t failures, double rps, double p95)
{
    json_t *tot = json_pack("{s:I,s:I,s:f,s:f,s:o}", "requests", requests, "failures", failures,
                            "rps", rps, "error_rate",
                            requests ? (double)failures / (double)requests : 0.0,
                            "latency_ms", lat(p95));
    return json_pack("{s:s,s:f,s:o,s:[],s:[],s:[]}", "scenario", "unit", "duration_s", 10.0,
                     "totals", tot, "requests", "ws", "errors");
}

static void add_row(json_t *s, json_t *r)
{
    assert_int_equal(json_array_append_new(json_object_get(s, "requests"), r), 0);
}

/* Writes s (taking it) to the scratch file name; returns its path. */
static const char *save(json_t *s, const char *name)
{
    const char *p = spath(name);
    assert_int_equal(json_dump_file(s, p, JSON_INDENT(2)), 0);
    json_decref(s);
    return p;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs compare_main("compare", args..., NULL) with stdout and stderr redirected into
 * scratch files, read back into out_text / err_text. Returns the exit code. */
static int run(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "compare";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        assert_true(argc < 31);
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;

    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    char po[512], pe[512];
    snprintf(po, sizeof po, "%s/stdout.txt", scratch);
    snprintf(pe, sizeof pe, "%s/stderr.txt", scratch);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(save_out >= 0 && save_err >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = compare_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    close(fo);
    close(fe);
    slurp(po, out_text, sizeof out_text);
    slurp(pe, err_text, sizeof err_text);
    return rc;
}

/* The table line for (label, metric) in out_text, copied to a static buffer; NULL when
 * absent. A line starts with the label padded by spaces, then the metric. */
static const char *line_of(const char *label, const char *metric)
{
    static char buf[512];
    size_t ll = strlen(label), ml = strlen(metric);
    for (const char *p = out_text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > ll && strncmp(p, label, ll) == 0 && p[ll] == ' ') {
            const char *q = p + ll;
            while (*q == ' ')
                q++;
            if (strncmp(q, metric, ml) == 0 && q[ml] == ' ') {
                snprintf(buf, sizeof buf, "%.*s", (int)len, p);
                return buf;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return NULL;
}

/* The verdict (last word) of the line for (label, metric); "" when absent. */
static const char *verdict(const char *label, const char *metric)
{
    const char *l = line_of(label, metric);
    if (l == NULL)
        return "";
    const char *sp = strrchr(l, ' ');
    return sp ? sp + 1 : l;
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_identical_is_ok(void **state)
{
    (void)state;
    json_t *s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/orders", 600, 0, 60, 40));
    add_row(s, row("POST", "login", 400, 0, 40, 60));
    const char *b = save(json_deep_copy(s), "base.json");
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 0);
    assert_non_null(strstr(out_text, "compare: 0 regressions, 0 improvements (tolerance 10%)\n"));
    /* header, then Aggregated, GET /orders, POST login x p95, rps, error_rate */
    assert_true(strncmp(out_text, "NAME", 4) == 0);
    assert_int_equal(count_str(out_text, "\n"), 1 + 9 + 1);
    assert_string_equal(verdict("Aggregated", "p95"), "ok");
    assert_string_equal(verdict("GET /orders", "rps"), "ok");
    assert_string_equal(verdict("POST login", "error_rate"), "ok");
    assert_non_null(strstr(line_of("Aggregated", "p95"), "50.000 ms"));
    assert_non_null(strstr(line_of("Aggregated", "p95"), "+0.0%"));
    assert_non_null(strstr(line_of("Aggregated", "rps"), "100.00/s"));
    assert_non_null(strstr(line_of("Aggregated", "error_rate"), "0.00%"));
    assert_null(line_of("Aggregated", "p99"));              /* not a default metric */
    assert_string_equal(err_text, "");
}

static void test_p95_regression(void **state)
{
    (void)state;
    json_t *s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/orders", 1000, 0, 100, 50));
    const char *b = save(s, "base.json");
    s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/orders", 1000, 0, 100, 80));    /* +60% */
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("GET /orders", "p95"), "REGRESSION");
    assert_non_null(strstr(line_of("GET /orders", "p95"), "+60.0%"));
    assert_non_null(strstr(line_of("GET /orders", "p95"), "80.000 ms"));
    assert_string_equal(verdict("Aggregated", "p95"), "ok");
    assert_non_null(strstr(out_text, "compare: 1 regressions, 0 improvements (tolerance 10%)"));
}

static void test_tolerance_boundary(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 200), "base.json");
    const char *n = save(summary(1000, 0, 100, 220), "new.json");    /* exactly +10% */
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("Aggregated", "p95"), "ok");
    n = save(summary(1000, 0, 100, 221), "new2.json");               /* +10.5% */
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("Aggregated", "p95"), "REGRESSION");
    n = save(summary(1000, 0, 100, 179), "new3.json");               /* -10.5% */
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("Aggregated", "p95"), "improved");
    assert_non_null(strstr(line_of("Aggregated", "p95"), "-10.5%"));
    assert_non_null(strstr(out_text, "compare: 0 regressions, 1 improvements"));
}

static void test_tolerance_option(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 100), "base.json");
    const char *n = save(summary(1000, 0, 100, 115), "new.json");    /* +15% */
    assert_int_equal(run(b, n, NULL), 1);
    assert_int_equal(run(b, n, "--tolerance", "20%", NULL), 0);
    assert_string_equal(verdict("Aggregated", "p95"), "ok");
    assert_non_null(strstr(out_text, "(tolerance 20%)"));
    assert_int_equal(run("--tolerance=20", b, n, NULL), 0);          /* bare number, = form */
    assert_int_equal(run(b, n, "--tolerance", "12.5%", NULL), 1);
    assert_non_null(strstr(out_text, "(tolerance 12.5%)"));
    assert_int_equal(run(b, n, "--tolerance", "0", NULL), 1);
}

static void test_rps_lower_is_worse(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 50), "base.json");
    const char *n = save(summary(800, 0, 80, 50), "new.json");
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("Aggregated", "rps"), "REGRESSION");
    assert_non_null(strstr(line_of("Aggregated", "rps"), "-20.0%"));
    n = save(summary(1300, 0, 130, 50), "new2.json");
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("Aggregated", "rps"), "improved");
}

static void test_error_rate_floor(void **state)
{
    (void)state;
    const char *b = save(summary(10000, 0, 100, 50), "base.json");
    const char *n = save(summary(10000, 5, 100, 50), "small.json");  /* 0 -> 0.05% */
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("Aggregated", "error_rate"), "ok");
    assert_non_null(strstr(line_of("Aggregated", "error_rate"), "0.050%"));
    n = save(summary(10000, 200, 100, 50), "big.json");              /* 0 -> 2% */
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("Aggregated", "error_rate"), "REGRESSION");
    assert_non_null(strstr(line_of("Aggregated", "error_rate"), "+2.00pp"));
    assert_non_null(strstr(line_of("Aggregated", "error_rate"), "2.00%"));
    /* a tolerance of 0 leaves no floor: any new failure counts */
    n = save(summary(10000, 5, 100, 50), "small2.json");
    assert_int_equal(run(b, n, "--tolerance", "0%", NULL), 1);
    /* above the floor the tolerance is relative: 5% -> 5.4% is +8% */
    b = save(summary(10000, 500, 100, 50), "base5.json");
    n = save(summary(10000, 540, 100, 50), "new54.json");
    assert_int_equal(run(b, n, NULL), 0);
    n = save(summary(10000, 600, 100, 50), "new6.json");
    assert_int_equal(run(b, n, NULL), 1);
    n = save(summary(10000, 0, 100, 50), "new0.json");
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("Aggregated", "error_rate"), "improved");
}

static void test_new_and_removed_names(void **state)
{
    (void)state;
    json_t *s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/orders", 500, 0, 50, 50));
    add_row(s, row("GET", "/stock", 500, 0, 50, 50));
    const char *b = save(s, "base.json");
    s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/orders", 500, 0, 50, 50));
    add_row(s, row("POST", "/orders", 500, 0, 50, 999));     /* same name, other method */
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 0);
    assert_string_equal(verdict("GET /stock", "p95"), "removed");
    assert_string_equal(verdict("GET /stock", "rps"), "removed");
    assert_string_equal(verdict("POST /orders", "p95"), "new");
    assert_string_equal(verdict("POST /orders", "error_rate"), "new");
    assert_string_equal(verdict("GET /orders", "p95"), "ok");
    /* base rows first, then the new ones */
    assert_true(strstr(out_text, "GET /stock") < strstr(out_text, "POST /orders"));
    assert_non_null(strstr(out_text, "compare: 0 regressions, 0 improvements"));
}

static void test_metric_selection(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 50), "base.json");
    const char *n = save(summary(500, 0, 50, 50), "new.json");       /* rps halves */
    assert_int_equal(run(b, n, "--metric", "p99,mean", NULL), 0);
    assert_non_null(line_of("Aggregated", "p99"));
    assert_non_null(line_of("Aggregated", "mean"));
    assert_null(line_of("Aggregated", "p95"));
    assert_null(line_of("Aggregated", "rps"));
    assert_int_equal(count_str(out_text, "\n"), 1 + 2 + 1);
    /* requests is informational: half the requests is still ok */
    assert_int_equal(run(b, n, "--metric=requests", NULL), 0);
    assert_string_equal(verdict("Aggregated", "requests"), "ok");
    assert_non_null(strstr(line_of("Aggregated", "requests"), "-50.0%"));
    /* repeated options add up; duplicates are listed once */
    assert_int_equal(run(b, n, "--metric", "p50,p90", "--metric", "p999,max,p50,rps", NULL), 1);
    const char *want[] = { "p50", "p90", "p999", "max", "rps" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(line_of("Aggregated", want[i]));
    assert_int_equal(count_str(out_text, "\n"), 1 + 5 + 1);
    assert_true(strstr(out_text, " p90 ") < strstr(out_text, " p999 "));
}

static void test_unknown_metric(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 50), "base.json");
    assert_int_equal(run(b, b, "--metric", "p95,p42", NULL), 2);
    assert_non_null(strstr(err_text, "unknown metric 'p42'"));
    assert_string_equal(out_text, "");
    assert_int_equal(run(b, b, "--metric", "", NULL), 2);
    assert_int_equal(run(b, b, "--metric", NULL), 2);
    assert_non_null(strstr(err_text, "--metric needs a value"));
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 50), "base.json");
    assert_int_equal(run(b, NULL), 2);
    assert_non_null(strstr(err_text, "usage:"));
    assert_int_equal(run(b, b, b, NULL), 2);
    assert_int_equal(run(b, b, "--tolerance", "-5%", NULL), 2);
    assert_non_null(strstr(err_text, "bad --tolerance"));
    assert_int_equal(run(b, b, "--tolerance", "ten", NULL), 2);
    assert_int_equal(run(b, b, "--tolerance", "10%%", NULL), 2);
    assert_int_equal(run(b, b, "--frobnicate", NULL), 2);
    assert_non_null(strstr(err_text, "unknown option '--frobnicate'"));
    assert_int_equal(run("--help", NULL), 0);
    assert_non_null(strstr(out_text, "usage:"));
}

static void test_unreadable_input(void **state)
{
    (void)state;
    const char *b = save(summary(1000, 0, 100, 50), "base.json");
    assert_int_equal(run(b, spath("nope.json"), NULL), 2);
    assert_non_null(strstr(err_text, "nope.json"));
    assert_string_equal(out_text, "");
    FILE *f = fopen(spath("broken.json"), "w");
    fputs("{\n  \"totals\": { \"requests\": 1,\n", f);
    fclose(f);
    assert_int_equal(run(spath("broken.json"), b, NULL), 2);
    assert_non_null(strstr(err_text, "broken.json:"));
    f = fopen(spath("other.json"), "w");
    fputs("{\"hello\": [1, 2, 3]}\n", f);
    fclose(f);
    assert_int_equal(run(b, spath("other.json"), NULL), 2);
    assert_non_null(strstr(err_text, "not a stampede summary"));
    mkdir(spath("empty"), 0700);
    assert_int_equal(run(b, spath("empty"), NULL), 2);
    assert_non_null(strstr(err_text, "empty/summary.json"));
}

static void test_results_folder(void **state)
{
    (void)state;
    assert_int_equal(mkdir(spath("run1"), 0700), 0);
    assert_int_equal(mkdir(spath("run2"), 0700), 0);
    save(summary(1000, 0, 100, 50), "run1/summary.json");
    const char *n = save(summary(1000, 0, 100, 70), "run2/summary.json");
    assert_int_equal(run(spath("run1"), spath("run2"), NULL), 1);
    assert_string_equal(verdict("Aggregated", "p95"), "REGRESSION");
    assert_int_equal(run(spath("run1/"), n, NULL), 1);                /* folder and file */
}

static void test_ws_rows(void **state)
{
    (void)state;
    json_t *s = summary(100, 0, 10, 50);
    json_array_append_new(json_object_get(s, "ws"),
                          json_pack("{s:s,s:i,s:i,s:i,s:o,s:o}", "name", "feed", "connects", 5,
                                    "expects", 200, "expect_failures", 0, "connect_ms", lat(3),
                                    "message_ms", lat(20)));
    const char *b = save(s, "base.json");
    s = summary(100, 0, 10, 50);
    json_array_append_new(json_object_get(s, "ws"),
                          json_pack("{s:s,s:i,s:i,s:i,s:o,s:o}", "name", "feed", "connects", 5,
                                    "expects", 200, "expect_failures", 10, "connect_ms", lat(3),
                                    "message_ms", lat(40)));
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("WS feed", "p95"), "REGRESSION");     /* message latency */
    assert_non_null(strstr(line_of("WS feed", "p95"), "40.000 ms"));
    assert_string_equal(verdict("WS feed", "rps"), "ok");             /* 200 / 10 s both */
    assert_non_null(strstr(line_of("WS feed", "rps"), "20.00/s"));
    assert_string_equal(verdict("WS feed", "error_rate"), "REGRESSION"); /* 0 -> 5% */
    assert_non_null(strstr(out_text, "compare: 2 regressions"));
}

static void test_derived_rates_and_idle_rows(void **state)
{
    (void)state;
    /* no "rps" / "error_rate" keys: derived from requests, failures, duration_s */
    json_t *s = summary(1000, 0, 100, 50);
    json_t *r = row("GET", "/a", 1000, 0, 0, 50);
    json_object_del(r, "rps");
    json_object_del(r, "error_rate");
    add_row(s, r);
    add_row(s, row("GET", "/idle", 0, 0, 0, 0));       /* nothing completed in BASE */
    const char *b = save(s, "base.json");
    s = summary(1000, 0, 100, 50);
    r = row("GET", "/a", 500, 50, 0, 50);
    json_object_del(r, "rps");
    json_object_del(r, "error_rate");
    add_row(s, r);
    add_row(s, row("GET", "/idle", 10, 0, 1, 30));
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 1);
    assert_non_null(strstr(line_of("GET /a", "rps"), "100.00/s"));
    assert_non_null(strstr(line_of("GET /a", "rps"), "50.00/s"));
    assert_string_equal(verdict("GET /a", "rps"), "REGRESSION");
    assert_non_null(strstr(line_of("GET /a", "error_rate"), "10.00%"));
    assert_string_equal(verdict("GET /a", "error_rate"), "REGRESSION");
    /* latency and error rate of a row that completed nothing are not measurements */
    assert_string_equal(verdict("GET /idle", "p95"), "new");
    assert_string_equal(verdict("GET /idle", "error_rate"), "new");
    assert_string_equal(verdict("GET /idle", "rps"), "improved");
}

/* An open-model summary: totals and one request row with service_ms, one iteration
 * profile, the schedule. */
static json_t *open_summary(double svc_p95, double iter_p95, double rate, json_int_t dropped,
                            double lag_p99)
{
    json_t *s = summary(1000, 0, 100, 50);
    json_t *r = row("GET", "/orders", 1000, 0, 100, 50);
    json_object_set_new(r, "service_ms", lat(svc_p95));
    add_row(s, r);
    json_object_set_new(json_object_get(s, "totals"), "service_ms", lat(svc_p95));
    json_object_set_new(s, "iterations", json_pack("[{s:s,s:i,s:i,s:o}]", "profile", "planner",
                                                   "count", 500, "failures", 0,
                                                   "latency_ms", lat(iter_p95)));
    json_object_set_new(s, "schedule",
                        json_pack("{s:s,s:i,s:i,s:I,s:{s:f,s:f,s:f},s:f,s:f}", "model", "open",
                                  "intended", 500, "started", 500, "dropped", dropped, "lag_ms",
                                  "p50", lag_p99 / 2, "p99", lag_p99, "max", lag_p99 * 2,
                                  "rate_planned", 50.0, "rate_achieved", rate));
    return s;
}

static void test_open_model(void **state)
{
    (void)state;
    const char *b = save(open_summary(30, 200, 50, 0, 2.0), "base.json");
    const char *n = save(open_summary(45, 150, 40, 3, 2.1), "new.json");
    assert_int_equal(run(b, n, NULL), 1);
    assert_string_equal(verdict("GET /orders", "service_p95"), "REGRESSION");     /* +50% */
    assert_non_null(strstr(line_of("GET /orders", "service_p95"), "45.000 ms"));
    assert_string_equal(verdict("Aggregated", "service_p95"), "REGRESSION");
    assert_string_equal(verdict("GET /orders", "p95"), "ok");                    /* latency */
    assert_string_equal(verdict("ITER planner", "p95"), "improved");             /* -25% */
    assert_string_equal(verdict("ITER planner", "rps"), "ok");                   /* 500 / 10 s */
    assert_non_null(strstr(line_of("ITER planner", "rps"), "50.00/s"));
    assert_string_equal(verdict("Schedule", "rate_achieved"), "REGRESSION");     /* -20% */
    assert_non_null(strstr(line_of("Schedule", "rate_achieved"), "40.00/s"));
    assert_string_equal(verdict("Schedule", "dropped"), "REGRESSION");           /* 0 -> 3 */
    assert_string_equal(verdict("Schedule", "lag_p99"), "ok");                   /* +5% */
    assert_null(line_of("Schedule", "p95"));            /* the row has schedule metrics alone */
    assert_null(line_of("GET /orders", "dropped"));     /* and no other row has them */
    assert_non_null(strstr(out_text, "compare: 4 regressions, 1 improvements"));
    /* Aggregated and GET /orders: p95 rps error_rate service_p95; ITER planner: the first
     * three (no service); Schedule: its three */
    assert_int_equal(count_str(out_text, "\n"), 1 + (4 + 4 + 3 + 3) + 1);

    /* --metric picks among them; the same summaries with 0 dropped on both sides are ok */
    b = save(open_summary(30, 200, 50, 0, 2.0), "base.json");
    n = save(open_summary(30, 200, 50, 0, 2.0), "new.json");
    assert_int_equal(run(b, n, "--metric", "dropped,lag_p99,service_p99", NULL), 0);
    assert_string_equal(verdict("Schedule", "dropped"), "ok");
    assert_string_equal(verdict("GET /orders", "service_p99"), "ok");
    assert_null(line_of("GET /orders", "p95"));
}

/* Closed-model summaries (schedule.model "closed", service_ms equal to latency_ms):
 * no service lines, no Schedule row; iterations still compare. */
static void test_closed_model_summary(void **state)
{
    (void)state;
    json_t *s = open_summary(30, 200, 0, 0, 0);
    json_object_set_new(json_object_get(s, "schedule"), "model", json_string("closed"));
    const char *b = save(json_deep_copy(s), "base.json");
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 0);
    assert_null(line_of("GET /orders", "service_p95"));
    assert_null(line_of("Schedule", "rate_achieved"));
    assert_string_equal(verdict("ITER planner", "p95"), "ok");
    assert_int_equal(count_str(out_text, "\n"), 1 + (3 + 3 + 3) + 1);
}

static void test_junit(void **state)
{
    (void)state;
    json_t *s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", "/a&b<c>", 500, 0, 50, 50));
    add_row(s, row("GET", "/gone", 500, 0, 50, 50));
    const char *b = save(s, "base.json");
    s = summary(1000, 0, 100, 90);                       /* Aggregated p95 regresses */
    add_row(s, row("GET", "/a&b<c>", 500, 0, 50, 90));  /* so does this one */
    add_row(s, row("GET", "/fresh", 500, 0, 50, 50));
    const char *n = save(s, "new.json");
    const char *x = spath("junit.xml");
    assert_int_equal(run(b, n, "--junit", x, NULL), 1);
    char xml[16384];
    slurp(x, xml, sizeof xml);
    assert_non_null(strstr(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    /* 2 rows on both sides x 3 metrics; "/gone" and "/fresh" are not comparisons */
    assert_non_null(strstr(xml, "<testsuite name=\"stampede.compare\" tests=\"6\" failures=\"2\""));
    assert_int_equal(count_str(xml, "<testsuite "), 1);
    assert_int_equal(count_str(xml, "<testcase "), 6);
    assert_int_equal(count_str(xml, "<failure "), 2);
    assert_non_null(strstr(xml, "name=\"Aggregated: p95\">"));
    assert_non_null(strstr(xml, "name=\"GET /a&amp;b&lt;c&gt;: p95\">"));
    assert_non_null(strstr(xml, "name=\"GET /a&amp;b&lt;c&gt;: rps\"/>"));
    assert_null(strstr(xml, "/gone"));
    assert_null(strstr(xml, "/fresh"));
    assert_null(strstr(xml, "a&b"));
    assert_non_null(strstr(xml, "</testsuite>\n"));
    /* an unwritable JUnit path is an error, after the table */
    assert_int_equal(run(b, n, "--junit", spath("no/such/dir/j.xml"), NULL), 2);
    assert_non_null(strstr(err_text, "j.xml"));
    assert_non_null(strstr(out_text, "compare: 2 regressions"));
}

static void test_long_names_keep_columns(void **state)
{
    (void)state;
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    json_t *s = summary(1000, 0, 100, 50);
    add_row(s, row("GET", longname, 500, 0, 50, 50));
    const char *b = save(json_deep_copy(s), "base.json");
    const char *n = save(s, "new.json");
    assert_int_equal(run(b, n, NULL), 0);
    /* every table line puts METRIC at the same column */
    const char *hdr = strstr(out_text, "METRIC");
    assert_non_null(hdr);
    size_t col = (size_t)(hdr - out_text);
    const char *l = line_of("Aggregated", "p95");
    assert_non_null(l);
    assert_int_equal(strstr(l, "p95") - l, col);
    char label[256];
    snprintf(label, sizeof label, "GET %s", longname);
    l = line_of(label, "rps");
    assert_non_null(l);
    assert_int_equal(strstr(l + strlen(label), "rps") - l, col);
}

/* issue 9 item 13: a run whose request names are not UTF-8 (a captured response value
 * in a URL) compares with itself: results write every name (cleaned, '?' per bad byte)
 * and compare reads them; a file holding the raw bytes reads too. */
static void test_names_not_utf8(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    proto_stats_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.method, sizeof e.method, "GET");
    snprintf(e.name, sizeof e.name, "/id=\xc3\x28x\xff");
    hist_init(&e.lat);
    hist_record(&e.lat, 5000);
    e.requests = 1;
    proto_stats d;
    memset(&d, 0, sizeof d);
    d.entries = &e;
    d.nentries = 1;
    assert_int_equal(merge_add(&m, &d), 0);
    hist_fini(&e.lat);
    results r;
    char err[512] = "";
    assert_int_equal(results_open(&r, spath("run"), err, sizeof err), 0);
    results_meta meta = { .stop_reason = "finished", .duration_s = 1.0 };
    assert_int_equal(results_finish(&r, &meta, &m, err, sizeof err), 0);
    merge_fini(&m);
    hist_pool_drain();
    assert_int_equal(run(spath("run"), spath("run"), NULL), 0);
    assert_string_equal(verdict("GET /id=?(x?", "p95"), "ok");
    assert_string_equal(err_text, "");

    /* the raw bytes in the file itself */
    FILE *f = fopen(spath("raw.json"), "w");
    assert_non_null(f);
    fputs("{\"duration_s\": 1, \"totals\": {\"requests\": 1, \"latency_ms\": {\"p95\": 5}},\n"
          " \"requests\": [{\"name\": \"/q\xfe\", \"method\": \"GET\", \"requests\": 1,"
          " \"latency_ms\": {\"p95\": 5}}]}\n", f);
    fclose(f);
    assert_int_equal(run(spath("raw.json"), spath("raw.json"), NULL), 0);
    assert_string_equal(verdict("GET /q?", "p95"), "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identical_is_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_p95_regression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tolerance_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tolerance_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rps_lower_is_worse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_rate_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_and_removed_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_metric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derived_rates_and_idle_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_model_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_names_keep_columns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
