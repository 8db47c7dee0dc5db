/* Unit tests for cli/endrun.c: the exit-code rules (issue 12) over summary.json texts,
 * the end table's rows and the notes (failed thresholds by name, a verdict not clean
 * because of generator-limited intervals), and the --csv / --html files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/endrun.h"

/* A summary with `failures` failed of 10 requests, the thresholds JSON array given, and
 * optional ws entries. */
static char *mk_summary(int requests, int failures, const char *thresholds, const char *ws,
                        const char *model, int limited)
{
    char *s = NULL;
    int n = asprintf(&s,
        "{\"duration_s\": 2.0, \"totals\": {\"requests\": %d, \"failures\": %d, \"rps\": %g,"
        " \"latency_ms\": {\"p50\": 1.5, \"p95\": 3.25, \"p99\": 4.0},"
        " \"service_ms\": {\"p50\": 1.0, \"p95\": 2.0, \"p99\": 3.0}},"
        " \"requests\": [{\"name\": \"ping\", \"method\": \"GET\", \"requests\": %d,"
        " \"failures\": %d, \"rps\": %g, \"latency_ms\": {\"p50\": 1.5, \"p95\": 3.25, \"p99\": 4.0},"
        " \"service_ms\": {\"p50\": 1.0, \"p95\": 2.0, \"p99\": 3.0}}],"
        " \"ws\": %s, \"thresholds\": %s,"
        " \"schedule\": {\"model\": \"%s\", \"intended\": 20, \"started\": 19, \"dropped\": 1,"
        " \"backlog_max\": 2, \"lag_ms\": {\"p50\": 0.1, \"p99\": 0.5, \"max\": 1.0},"
        " \"rate_planned\": 10.0, \"rate_achieved\": 9.5, \"generator_limited_intervals\": %d},"
        " \"verdict\": {\"clean\": %s, \"generator_limited_intervals\": %d,"
        " \"notes\": [\"the generator did not keep the schedule in %d interval\"]}}",
        requests, failures, requests / 2.0, requests, failures, requests / 2.0, ws ? ws : "[]",
        thresholds, model, limited, limited ? "false" : "true", limited, limited);
    assert_true(n > 0);
    return s;
}

static void test_exit_codes(void **state)
{
    (void)state;
    char *ok = mk_summary(10, 0, "[]", NULL, "closed", 0);
    char *failed = mk_summary(10, 3, "[]", NULL, "closed", 0);
    char *held = mk_summary(10, 3, "[{\"expr\": \"error_rate < 50%\", \"ok\": true, \"value\": 0.3}]",
                            NULL, "closed", 0);
    char *none = mk_summary(0, 0, "[]", NULL, "closed", 0);
    char *ws_only = mk_summary(0, 0, "[]", "[{\"name\": \"feed\", \"connects\": 2,"
                               " \"connect_failures\": 1, \"expect_failures\": 0}]", "closed", 0);
    /* no thresholds: failures decide, with --exit-code-on-error N */
    assert_int_equal(endrun_exit_code(0, ok, 1), 0);
    assert_int_equal(endrun_exit_code(0, failed, 1), 1);
    assert_int_equal(endrun_exit_code(0, failed, 0), 0);
    assert_int_equal(endrun_exit_code(0, failed, 42), 42);
    /* thresholds present: they decide (the run's own 1 stands, a held one is 0) */
    assert_int_equal(endrun_exit_code(0, held, 1), 0);
    assert_int_equal(endrun_exit_code(1, held, 1), 1);
    /* aborted or results lost stay 3, whatever else */
    assert_int_equal(endrun_exit_code(3, failed, 0), 3);
    assert_int_equal(endrun_exit_code(3, ok, 1), 3);
    /* no request at all: never 0 */
    assert_int_equal(endrun_exit_code(0, none, 0), 3);
    /* WebSocket attempts count as activity, their failures as failures */
    assert_int_equal(endrun_exit_code(0, ws_only, 1), 1);
    assert_int_equal(endrun_exit_code(0, ws_only, 0), 0);
    /* unreadable summaries leave the code alone */
    assert_int_equal(endrun_exit_code(0, NULL, 1), 0);
    assert_int_equal(endrun_exit_code(0, "not json", 1), 0);
    assert_int_equal(endrun_exit_code(0, "{\"x\": 1}", 1), 0);
    free(ok);
    free(failed);
    free(held);
    free(none);
    free(ws_only);
}

__attribute__((noinline)) static char *capture_table(const char *summary, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = endrun_table(f, summary);
    fclose(f);
    return buf;
}

static void test_table(void **state)
{
    (void)state;
    char *s = mk_summary(10, 3, "[]", NULL, "closed", 0);
    int rc;
    char *t = capture_table(s, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(t, "# reqs"));
    assert_null(strstr(t, "svc p95"));
    /* the ping row: 10 requests, 3 failures (30.00%), p50 1.5, p95 3.2 (one decimal), p99 4.0, 5.0/s */
    char *row = strstr(t, "\nGET    ping");
    assert_non_null(row);
    char type[8], name[64], fails[32];
    double req, p50, p95, p99, rps;
    assert_int_equal(sscanf(row + 1, "%7s %63s %lf %31s %lf %lf %lf %lf", type, name, &req, fails,
                            &p50, &p95, &p99, &rps), 8);
    assert_true(req == 10 && p50 == 1.5 && p99 == 4.0 && rps == 5.0);
    assert_true(p95 > 3.1 && p95 < 3.3);
    assert_string_equal(fails, "3(30.00%)");
    assert_non_null(strstr(t, "Aggregated"));
    assert_null(strstr(t, "schedule:"));
    assert_null(strstr(t, "sent again"));          /* no totals.retries: no line */
    free(t);
    /* issue 15: totals.retries above 0 gets its line, 0 none */
    static const struct { const char *val, *line; } rt[] = {
        { "12", "\n12 requests were sent again on a new connection after their keep-alive "
                "connection closed (idempotent, counted once)\n" },
        { "1", "\n1 request was sent again on a new connection after its keep-alive "
               "connection closed (idempotent, counted once)\n" },
        { "0", NULL },
    };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        char *tot = strstr(s, "\"totals\": {");
        assert_non_null(tot);
        char *with = NULL;
        assert_true(asprintf(&with, "%.*s\"totals\": {\"retries\": %s, %s", (int)(tot - s), s,
                             rt[i].val, tot + strlen("\"totals\": {")) > 0);
        t = capture_table(with, &rc);
        assert_int_equal(rc, 0);
        if (rt[i].line)
            assert_non_null(strstr(t, rt[i].line));
        else
            assert_null(strstr(t, "sent again"));
        free(t);
        free(with);
    }
    free(s);
    /* the open model: the service p95 column and the schedule line */
    s = mk_summary(10, 0, "[]", NULL, "open", 0);
    t = capture_table(s, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(t, "svc p95"));
    assert_non_null(strstr(t, "schedule: rate 9.5/s achieved of 10.0/s planned, 19 of 20 arrivals "
                              "started, 1 dropped, backlog max 2, lag p99 0.5 ms, 0 generator-limited"));
    free(t);
    free(s);
    /* a long name is cut in the middle, both ends kept */
    s = mk_summary(1, 0, "[]", NULL, "closed", 0);
    char *p = strstr(s, "\"ping\"");
    assert_non_null(p);
    char *long_s = NULL;
    assert_true(asprintf(&long_s, "%.*s\"/api/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbb/end\"%s",
                         (int)(p - s), s, p + 6) > 0);
    t = capture_table(long_s, &rc);
    assert_non_null(strstr(t, "/api/aaaaaaaaaaaaa...bbbbbbbbbbbbbbb/end"));
    free(t);
    free(long_s);
    free(s);
    t = capture_table("[]", &rc);
    assert_int_equal(rc, -1);
    assert_true(t == NULL || t[0] == '\0');
    free(t);
}

static void test_notes(void **state)
{
    (void)state;
    char *s = mk_summary(10, 3, "[{\"expr\": \"p95 < 1ms\", \"ok\": false, \"value\": 3.25},"
                                " {\"expr\": \"error_rate < 50%\", \"ok\": true, \"value\": 0.3},"
                                " {\"expr\": \"login: p95 < 1s\", \"ok\": false, \"value\": null,"
                                "  \"note\": \"no requests named login\"}]", NULL, "open", 2);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    endrun_notes(f, s);
    fclose(f);
    assert_non_null(strstr(buf, "threshold failed: p95 < 1ms: measured 3.25\n"));
    assert_non_null(strstr(buf, "threshold failed: login: p95 < 1s: no requests named login\n"));
    assert_null(strstr(buf, "error_rate < 50%"));
    assert_non_null(strstr(buf, "the verdict is not clean"));
    assert_non_null(strstr(buf, "did not keep the schedule in 2 interval"));
    free(buf);
    free(s);
    /* all well: nothing */
    s = mk_summary(10, 0, "[{\"expr\": \"p95 < 1s\", \"ok\": true, \"value\": 3.25}]", NULL, "closed", 0);
    buf = NULL;
    f = open_memstream(&buf, &len);
    endrun_notes(f, s);
    fclose(f);
    assert_int_equal(len, 0);
    free(buf);
    free(s);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/stampede-endrun-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "stats.csv", "Type,Name\r\nGET,a\r\n");
    write_file(dir, "stats_history.csv", "Timestamp\r\n1\r\n");
    write_file(dir, "failures.csv", "Method,Name,Error,Occurrences\r\n");
    write_file(dir, "report.html", "<html>report</html>");
    char prefix[600], html[600], path[700];
    snprintf(prefix, sizeof prefix, "%s/P", dir);
    snprintf(html, sizeof html, "%s/copy.html", dir);
    endrun_opts o = { .csv_prefix = prefix, .html = html, .exit_code_on_error = 1 };
    assert_int_equal(endrun_files(dir, &o), 0);
    static const char *const pairs[][2] = {
        { "P_stats.csv", "Type,Name\r\nGET,a\r\n" },
        { "P_stats_history.csv", "Timestamp\r\n1\r\n" },
        { "P_failures.csv", "Method,Name,Error,Occurrences\r\n" },
        { "P_exceptions.csv", "Count,Message,Traceback,Nodes\r\n" },
        { "copy.html", "<html>report</html>" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, pairs[i][0]);
        char *t = read_all(path);
        assert_non_null(t);
        assert_string_equal(t, pairs[i][1]);
        free(t);
        snprintf(path, sizeof path, "%s/%s.tmp", dir, pairs[i][0]);
        assert_int_not_equal(access(path, F_OK), 0);           /* no leftover */
    }
    /* a missing source fails (the others are still written); finish turns 0 into 3 */
    snprintf(path, sizeof path, "%s/report.html", dir);
    unlink(path);
    assert_int_equal(endrun_files(dir, &o), -1);
    char *ok = mk_summary(10, 0, "[]", NULL, "closed", 0);
    assert_int_equal(endrun_finish(dir, ok, 0, &o), 3);
    endrun_opts no_html = { .csv_prefix = prefix, .exit_code_on_error = 1 };
    assert_int_equal(endrun_finish(dir, ok, 0, &no_html), 0);
    free(ok);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_notes),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
