/* Unit tests for master/history.c (a real SQLite file in a temporary folder, results
 * folders written by hand) and master/regress.c (the rank test and the verdict). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include "master/history.h"
#include "master/regress.h"

static char tmp[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A results folder: summary.json with p95 ms for the total and one name, and n
 * Aggregated history rows whose p95 is p95 + (i % 3) (a little noise). */
static void make_run(const char *dir, const char *scen, double p95, int n, double rps)
{
    char path[700], buf[4096];
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    snprintf(buf, sizeof buf,
             "{\"scenario\": \"%s\", \"start_ms\": 1000000, \"end_ms\": %d, \"duration_s\": %d,"
             " \"peak_users\": 10, \"stop_reason\": \"finished\","
             " \"totals\": {\"requests\": 1000, \"failures\": 0, \"rps\": %g,"
             "   \"latency_ms\": {\"p50\": %g, \"p90\": %g, \"p95\": %g, \"p99\": %g, \"max\": %g}},"
             " \"requests\": [{\"method\": \"GET\", \"name\": \"/a\", \"requests\": 1000, \"failures\": 0,"
             "   \"rps\": %g, \"latency_ms\": {\"p50\": %g, \"p95\": %g, \"p99\": %g, \"max\": %g}}],"
             " \"verdict\": {\"clean\": true}, \"thresholds\": []}",
             scen, 1000000 + n * 1000, n, rps, p95 / 2, p95 * 0.9, p95, p95 * 1.2, p95 * 2, rps, p95 / 2, p95,
             p95 * 1.2, p95 * 2);
    write_file(path, buf);
    snprintf(path, sizeof path, "%s/stats_history.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
          "99.99%,100%,Total Request Count\r\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%d,10,,Aggregated,%g,0,%g,N/A,N/A,N/A,N/A,%g,N/A,%g,N/A,N/A,N/A,%d\r\n", 1001 + i, rps,
                p95 / 2, p95 + (i % 3), p95 * 1.2, (i + 1) * 100);
    fclose(f);
}

static history *open_new(const char *name)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    history *h = history_open(path, false, err, sizeof err);
    if (!h) fail_msg("%s", err);
    return h;
}

static void test_record_list_get(void **state)
{
    (void)state;
    history *h = open_new("h1.db");
    char dir[512], err[512];
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/run%d", tmp, i);
        make_run(dir, "shop", 100 + i, 20, 50);
        history_label l[] = { { "commit", i == 2 ? "abc" : "def" } };
        assert_int_equal(history_record(h, dir, l, 1, NULL, &ids[i], err, sizeof err), 0);
    }
    int64_t again;
    assert_int_equal(history_record(h, dir, NULL, 0, NULL, &again, err, sizeof err), 0);
    assert_int_equal(again, ids[2]);                /* the same folder once */
    char *t = history_list_json(h, &(history_filter){ .scenario = "shop" }, err, sizeof err);
    assert_non_null(t);
    json_t *j = json_loads(t, 0, NULL);
    json_t *runs = json_object_get(j, "runs");
    assert_int_equal(json_array_size(runs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "id")), ids[2]);
    assert_true(fabs(json_number_value(json_object_get(json_array_get(runs, 0), "p95")) - 102) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "status")), "finished");
    json_decref(j);
    free(t);
    history_label want[] = { { "commit", "abc" } };
    t = history_list_json(h, &(history_filter){ .labels = want, .nlabels = 1 }, err, sizeof err);
    j = json_loads(t, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 1);
    json_decref(j);
    free(t);
    bool missing;
    t = history_get_json(h, ids[1], &missing, err, sizeof err);
    assert_non_null(t);
    j = json_loads(t, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "intervals"), "p95")), 20);
    assert_int_equal(json_array_size(json_object_get(j, "requests_by_name")), 1);
    json_decref(j);
    free(t);
    assert_null(history_get_json(h, 999, &missing, err, sizeof err));
    assert_true(missing);
    t = history_trends_json(h, "shop", "/a", "p95", 0, err, sizeof err);
    j = json_loads(t, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 3);
    assert_true(json_is_null(json_object_get(j, "baseline")));
    json_decref(j);
    free(t);
    assert_null(history_trends_json(h, "shop", NULL, "p42", 0, err, sizeof err));
    assert_non_null(strstr(err, "unknown metric"));
    assert_int_equal(history_set_baseline(h, ids[0], &missing, err, sizeof err), 0);
    int64_t b;
    assert_int_equal(history_baseline(h, "shop", &b, err, sizeof err), 0);
    assert_int_equal(b, ids[0]);
    assert_int_equal(history_set_baseline(h, ids[1], &missing, err, sizeof err), 0);
    assert_int_equal(history_baseline(h, "shop", &b, err, sizeof err), 0);
    assert_int_equal(b, ids[1]);
    assert_int_equal(history_set_baseline(h, 12345, &missing, err, sizeof err), -1);
    assert_true(missing);
    history_label bad[] = { { "bad key", "x" } };
    int64_t id;
    assert_int_equal(history_record(h, dir, bad, 1, NULL, &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "label"));
    history_close(h);
    /* reopened: the runs are still there (a master restart) */
    h = open_new("h1.db");
    t = history_list_json(h, NULL, err, sizeof err);
    j = json_loads(t, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 3);
    json_decref(j);
    free(t);
    history_close(h);
}

/* A file that is not SQLite, and a SQLite file that is not ours: refused, left as is. */
static void test_foreign_files_refused_untouched(void **state)
{
    (void)state;
    char path[512], err[512], cmd[1024];
    snprintf(path, sizeof path, "%s/junk.db", tmp);
    write_file(path, "this is not a database, it is a text file long enough to have a header......\n");
    assert_null(history_open(path, false, err, sizeof err));
    assert_non_null(strstr(err, "not a Stampede history"));
    FILE *f = fopen(path, "r");
    char buf[16] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "this is not a d");
    snprintf(path, sizeof path, "%s/foreign.db", tmp);
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'CREATE TABLE t(x); INSERT INTO t VALUES(1);'", path);
    if (system(cmd) != 0) skip();
    assert_null(history_open(path, false, err, sizeof err));
    assert_non_null(strstr(err, "not a Stampede history"));
    snprintf(cmd, sizeof cmd, "test \"$(sqlite3 %s 'SELECT count(*) FROM sqlite_master')\" = 1", path);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/missing.db", tmp);
    assert_null(history_open(path, true, err, sizeof err));
}

static void figs(history_figures *f, int64_t id, double p95, double spread, int n, unsigned seed)
{
    memset(f, 0, sizeof *f);
    f->id = id;
    snprintf(f->total.name, sizeof f->total.name, "Aggregated");
    f->total.p95 = p95;
    f->total.rps = 100;
    f->total.requests = 1000;
    f->names = calloc(1, sizeof *f->names);
    f->nnames = 1;
    snprintf(f->names[0].name, sizeof f->names[0].name, "/a");
    snprintf(f->names[0].method, sizeof f->names[0].method, "GET");
    f->names[0].p95 = p95;
    f->names[0].rps = 100;
    f->niv = n;
    f->iv_p95 = calloc((size_t)n, sizeof(double));
    f->iv_rps = calloc((size_t)n, sizeof(double));
    f->iv_err = calloc((size_t)n, sizeof(double));
    srand(seed);
    for (int i = 0; i < n; i++) {
        f->iv_p95[i] = p95 + spread * ((rand() / (double)RAND_MAX) - 0.5);
        f->iv_rps[i] = 100 + 4 * ((rand() / (double)RAND_MAX) - 0.5);
    }
}

static void test_mwu(void **state)
{
    (void)state;
    double a[] = { 1, 2, 3, 4, 5, 6, 7, 8 }, b[] = { 11, 12, 13, 14, 15, 16, 17, 18 };
    assert_true(regress_mwu_p(a, 8, b, 8, true) < 0.001);
    assert_true(regress_mwu_p(a, 8, b, 8, false) > 0.99);
    assert_true(fabs(regress_mwu_p(a, 8, a, 8, true) - 0.5) < 0.1);
    double same[] = { 3, 3, 3, 3 };
    assert_true(regress_mwu_p(same, 4, same, 4, true) == 1.0);
    assert_true(regress_mwu_p(a, 0, b, 8, true) == 1.0);
}

static void test_compare(void **state)
{
    (void)state;
    history_figures base, same, slow, shortr;
    figs(&base, 1, 100, 30, 30, 1);
    figs(&same, 2, 112, 30, 30, 2);     /* +12 % whole-run p95, intervals of the same spread */
    figs(&slow, 3, 130, 30, 30, 3);     /* 30 % slower, every interval */
    figs(&shortr, 4, 150, 30, 4, 4);    /* too short to tell */
    for (int i = 0; i < same.niv; i++) same.iv_p95[i] = base.iv_p95[(i + 7) % base.niv];
    bool reg;
    char *t = regress_compare(&base, &same, NULL, &reg);
    assert_non_null(t);
    assert_false(reg);                  /* beyond the tolerance, but noise */
    json_t *j = json_loads(t, 0, NULL);
    assert_true(json_array_size(json_object_get(j, "changes")) >= 1);
    assert_int_equal(json_array_size(json_object_get(j, "regressions")), 0);
    json_decref(j);
    free(t);
    t = regress_compare(&base, &slow, NULL, &reg);
    assert_true(reg);
    j = json_loads(t, 0, NULL);
    json_t *regs = json_object_get(j, "regressions");
    assert_int_equal(json_array_size(regs), 2);   /* Aggregated and /a, p95 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(regs, 0), "metric")), "p95");
    assert_true(fabs(json_number_value(json_object_get(json_array_get(regs, 0), "change_pct")) - 30) < 1e-6);
    json_decref(j);
    free(t);
    t = regress_compare(&base, &shortr, NULL, &reg);
    assert_false(reg);
    assert_non_null(strstr(t, "too short to tell"));
    free(t);
    history_figures *all[] = { &base, &same, &slow, &shortr };
    for (int i = 0; i < 4; i++) history_figures_free(all[i]);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/stampede-history-XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_list_get),
        cmocka_unit_test(test_foreign_files_refused_untouched),
        cmocka_unit_test(test_mwu),
        cmocka_unit_test(test_compare),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
