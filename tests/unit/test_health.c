/* Unit tests for master/health.c: engines' deltas combined per worker and interval
 * (busiest thread's CPU, the largest RSS, the latest loop timer, the mean of every
 * sample, connections added), workers.csv rows as written, the summary's max and mean,
 * the flags (CPU above 90 %, loop lag above 10 ms), the loader (the same summary back,
 * a missing file empty, bad files refused naming the line, a row cut by a crash
 * ignored) and the JSON of summary.json's workers[].health and verdict notes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "master/health.h"

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/test_health-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static char *slurp(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *dir, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, HEALTH_CSV);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rmdir_all(char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, HEALTH_CSV);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* One engine's delta: cpu_us of wall_us, loop lag max/sum/n, conns, rss. */
static proto_stats delta(uint64_t iv, uint64_t cpu_us, uint64_t lag_max, uint64_t lag_sum,
                         uint32_t lag_n, uint32_t conns, uint64_t rss)
{
    proto_stats s;
    memset(&s, 0, sizeof s);
    s.interval = iv;
    s.sched.cpu_us = cpu_us;
    s.sched.wall_us = 1000000;
    s.health = (stats_health){ .lag_max_us = lag_max, .lag_sum_us = lag_sum, .lag_n = lag_n,
                               .conns = conns, .rss_bytes = rss, .proc_cpu_us = cpu_us + 100000 };
    return s;
}

#define MIB (1024ull * 1024ull)

/* Two workers, three intervals: "a" with two engines (CPU-flagged in interval 1), "b"
 * with one (lag-flagged in interval 2). Retries (issue 15): a's engines iv and 5 in
 * interval iv (5, 6, 7: 18 in all), b's 7 in interval 2 only. */
static void feed(health *h)
{
    proto_stats s;
    for (uint64_t iv = 0; iv < 3; iv++) {
        s = delta(iv, iv == 1 ? 950000 : 200000, 2000, 5000, 10, 4, 40 * MIB);
        s.health.retries = iv;
        health_add(h, "a", "host-a", &s);
        s = delta(iv, 300000, 3000, 15000, 10, 6, 41 * MIB);
        s.health.retries = 5;
        health_add(h, "a", "host-a", &s);
        s = delta(iv, 100000, iv == 2 ? 35000 : 500, 1000, 10, 2, 20 * MIB);
        s.health.retries = iv == 2 ? 7 : 0;
        health_add(h, "b", "host,b", &s);
    }
    for (uint64_t iv = 0; iv < 3; iv++)
        health_close(h, iv, 1764000000000ull + (iv + 1) * 1000);
}

static void test_rows_and_summary(void **state)
{
    (void)state;
    char *dir = tmpdir();
    health h;
    memset(&h, 0, sizeof h);
    char err[1300];
    assert_int_equal(health_start(&h, dir, err, sizeof err), 0);
    feed(&h);
    assert_int_equal(health_finish(&h, 0, err, sizeof err), 0);
    const char *text = slurp(dir, HEALTH_CSV);
    const char *want =
        HEALTH_CSV_HEADER "\r\n"
        "1764000001,0,a,host-a,30.00,40.00,41.00,3.000,1.000,10,0,,5\r\n"
        "1764000001,0,b,\"host,b\",10.00,20.00,20.00,0.500,0.100,2,0,,0\r\n"
        "1764000002,1,a,host-a,95.00,105.00,41.00,3.000,1.000,10,1,cpu,6\r\n"
        "1764000002,1,b,\"host,b\",10.00,20.00,20.00,0.500,0.100,2,0,,0\r\n"
        "1764000003,2,a,host-a,30.00,40.00,41.00,3.000,1.000,10,0,,7\r\n"
        "1764000003,2,b,\"host,b\",10.00,20.00,20.00,35.000,0.100,2,1,lag,7\r\n";
    assert_string_equal(text, want);

    const struct health_summary *hs = health_summary_of(&h);
    assert_int_equal(hs->n, 2);
    const health_worker *a = health_summary_find(hs, "a"), *b = health_summary_find(hs, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(health_summary_find(hs, "c"));
    assert_int_equal(a->intervals, 3);
    assert_int_equal(a->flagged, 1);
    assert_int_equal(a->flagged_cpu, 1);
    assert_int_equal(a->flagged_lag, 0);
    assert_true(fabs(a->cpu.max - 95.0) < 1e-9);
    assert_true(fabs(a->cpu.sum / 3 - (30 + 95 + 30) / 3.0) < 1e-9);
    assert_true(fabs(a->conns.max - 10) < 1e-9);
    assert_true(fabs(a->rss.max - 41) < 1e-9);
    assert_int_equal(b->flagged, 1);
    assert_int_equal(b->flagged_lag, 1);
    assert_true(fabs(b->lag_max.max - 35.0) < 1e-9);
    assert_true(fabs(b->lag_max.sum - 36.0) < 1e-9);
    assert_string_equal(b->host, "host,b");
    assert_int_equal(b->last_idx, 2);
    assert_true(b->last.flag_lag);
    /* retries: summed over a worker's engines per interval, over its intervals in the
     * summary, over the workers for the totals */
    assert_int_equal(a->last.retries, 7);
    assert_int_equal(a->retries, 18);
    assert_int_equal(b->retries, 7);
    assert_int_equal(health_summary_retries(hs), 25);
    assert_int_equal(health_summary_retries(NULL), 0);
    health_fini(&h);
    rmdir_all(dir);
}

/* The loader gives back the summary the run kept (to the file's precision). */
static void test_load_roundtrip(void **state)
{
    (void)state;
    char *dir = tmpdir();
    health h;
    memset(&h, 0, sizeof h);
    char err[1300];
    assert_int_equal(health_start(&h, dir, err, sizeof err), 0);
    feed(&h);
    assert_int_equal(health_finish(&h, 0, err, sizeof err), 0);
    struct health_summary got;
    assert_int_equal(health_summary_load(dir, &got, err, sizeof err), 0);
    const struct health_summary *hs = health_summary_of(&h);
    assert_int_equal(got.n, hs->n);
    for (int i = 0; i < hs->n; i++) {
        const health_worker *x = &hs->w[i], *y = health_summary_find(&got, x->id);
        assert_non_null(y);
        assert_string_equal(y->host, x->host);
        assert_int_equal(y->intervals, x->intervals);
        assert_int_equal(y->flagged, x->flagged);
        assert_int_equal(y->flagged_cpu, x->flagged_cpu);
        assert_int_equal(y->flagged_lag, x->flagged_lag);
        assert_true(fabs(y->cpu.max - x->cpu.max) < 0.01);
        assert_true(fabs(y->cpu.sum - x->cpu.sum) < 0.03);
        assert_true(fabs(y->lag_mean.sum - x->lag_mean.sum) < 0.003);
        assert_true(fabs(y->conns.max - x->conns.max) < 1e-9);
        assert_int_equal(y->retries, x->retries);
    }
    assert_int_equal(health_summary_retries(&got), 25);
    /* the same from memory; a JSON rendering of both is identical */
    char *text = strdup(slurp(dir, HEALTH_CSV));
    struct health_summary mem;
    assert_int_equal(health_summary_parse(text, strlen(text), &mem, err, sizeof err), 0);
    json_t *j1 = health_json_worker(&got, "a"), *j2 = health_json_worker(&mem, "a");
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    free(text);
    health_summary_free(&mem);
    health_summary_free(&got);
    health_fini(&h);
    rmdir_all(dir);
}

static void test_load_missing_and_bad(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char err[1300] = "";
    struct health_summary hs;
    assert_int_equal(health_summary_load(dir, &hs, err, sizeof err), 0);   /* no file */
    assert_int_equal(hs.n, 0);
    assert_null(hs.w);

    const char *row = "1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n";
    static const struct { const char *text; int rv; int n; } cases[] = {
        { HEALTH_CSV_HEADER_13 "\r\n", 0, 0 },
        { HEALTH_CSV_HEADER_13 "\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,\n", 0, 1 },
        /* a last row cut by a crash: ignored */
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n2,1,w,h,1.0", 0, 1 },
        { "Timestamp,Worker\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,-1.00,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,nan,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1e999,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,1,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,cpu\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,1,gpu\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,\"w,1,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,99999999999,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,extra\r\n", -1, 0 },
        { HEALTH_CSV_HEADER_13 "\r\n1,0,\"w \"\"x\"\", y\",h,1.00,2.00,3.00,0.500,0.100,2,1,cpu+lag\r\n", 0, 1 },
        /* issue 15's header: a 13th field, Retries, a whole number */
        { HEALTH_CSV_HEADER "\r\n", 0, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,12\r\n", 0, 1 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,1,lag,0\r\n", 0, 1 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,\r\n", -1, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,-1\r\n", -1, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,1.5\r\n", -1, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,99999999999999999999\r\n", -1, 0 },
        { HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,1,extra\r\n", -1, 0 },
        /* issue 13's header with 13 fields, and the reverse, are refused */
        { HEALTH_CSV_HEADER_13 "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,12\r\n", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spit(dir, cases[i].text);
        err[0] = '\0';
        int rv = health_summary_load(dir, &hs, err, sizeof err);
        if (rv != cases[i].rv)
            fail_msg("case %zu: %d (%s)", i, rv, err);
        assert_int_equal(hs.n, cases[i].n);
        if (rv != 0)
            assert_non_null(strstr(err, "workers.csv"));
        struct health_summary mem;
        assert_int_equal(health_summary_parse(cases[i].text, strlen(cases[i].text), &mem, err, sizeof err),
                         cases[i].rv);
        assert_int_equal(mem.n, cases[i].n);
        health_summary_free(&mem);
        health_summary_free(&hs);
    }
    spit(dir, HEALTH_CSV_HEADER_13 "\r\n1,0,\"w \"\"x\"\", y\",h,1.00,2.00,3.00,0.500,0.100,2,1,cpu+lag\r\n");
    assert_int_equal(health_summary_load(dir, &hs, err, sizeof err), 0);
    assert_string_equal(hs.w[0].id, "w \"x\", y");
    assert_int_equal(hs.w[0].flagged_cpu, 1);
    assert_int_equal(hs.w[0].flagged_lag, 1);
    assert_int_equal(hs.w[0].retries, 0);          /* a file of issue 13: none */
    health_summary_free(&hs);
    spit(dir, HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,1,cpu,12\r\n"
              "2,1,w,h,1.00,2.00,3.00,0.500,0.100,2,0,,18446744073709551615\r\n"
              "3,2,v,h,1.00,2.00,3.00,0.500,0.100,2,0,,3\r\n");
    assert_int_equal(health_summary_load(dir, &hs, err, sizeof err), 0);
    assert_int_equal(hs.n, 2);
    assert_int_equal(health_summary_find(&hs, "w")->retries, UINT64_MAX);  /* saturates */
    assert_int_equal(health_summary_find(&hs, "v")->retries, 3);
    assert_int_equal(health_summary_retries(&hs), UINT64_MAX);
    health_summary_free(&hs);
    /* the reason names the row's shape */
    spit(dir, HEALTH_CSV_HEADER "\r\n1,0,w,h,1.00,2.00,3.00,0.500,0.100,2,0,\r\n");
    assert_int_equal(health_summary_load(dir, &hs, err, sizeof err), -1);
    if (!strstr(err, "line 2 is not a row of 13 fields") || !strstr(err, "Retries"))
        fail_msg("%s", err);
    /* a line longer than HEALTH_LINE_MAX is refused, not cut */
    char *big = malloc(2 * HEALTH_LINE_MAX + 400);
    assert_non_null(big);
    snprintf(big, 400, "%s\r\n1,0,", HEALTH_CSV_HEADER);
    size_t n = strlen(big);
    memset(big + n, 'w', HEALTH_LINE_MAX + 10);
    strcpy(big + n + HEALTH_LINE_MAX + 10, row + 5);
    spit(dir, big);
    assert_int_equal(health_summary_load(dir, &hs, err, sizeof err), -1);
    if (!strstr(err, "longer than")) fail_msg("%s", err);
    free(big);
    rmdir_all(dir);
}

static void test_json_and_verdict(void **state)
{
    (void)state;
    health h;
    memset(&h, 0, sizeof h);
    char err[64];
    assert_int_equal(health_start(&h, NULL, err, sizeof err), 0);     /* no file */
    feed(&h);
    const struct health_summary *hs = health_summary_of(&h);
    json_t *o = health_json_worker(hs, "a");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "intervals")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "flagged_intervals")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "flagged_cpu_intervals")), 1);
    assert_true(fabs(json_real_value(json_object_get(json_object_get(o, "cpu_pct"), "max")) - 95) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(json_object_get(o, "connections"), "mean")) - 10) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(json_object_get(o, "rss_mib"), "max")) - 41) < 1e-9);
    assert_non_null(json_object_get(o, "loop_lag_max_ms"));
    assert_non_null(json_object_get(o, "loop_lag_mean_ms"));
    assert_non_null(json_object_get(o, "process_cpu_pct"));
    assert_int_equal(json_integer_value(json_object_get(o, "retries")), 18);
    json_decref(o);
    o = health_json_worker(hs, "b");
    assert_int_equal(json_integer_value(json_object_get(o, "retries")), 7);
    json_decref(o);
    assert_null(health_json_worker(hs, "nobody"));
    assert_null(health_json_worker(NULL, "a"));

    json_t *notes = json_array();
    assert_int_equal(health_json_verdict(hs, notes), 2);
    assert_int_equal(json_array_size(notes), 2);
    const char *n0 = json_string_value(json_array_get(notes, 0));
    const char *n1 = json_string_value(json_array_get(notes, 1));
    assert_non_null(strstr(n0, "worker a was flagged in 1 of 3 intervals"));
    assert_non_null(strstr(n0, "above 90% CPU"));
    assert_non_null(strstr(n1, "worker b"));
    assert_non_null(strstr(n1, "event loop more than 10 ms late in 1 (max 35.0 ms)"));
    assert_non_null(strstr(n1, "the generator may have been the bottleneck"));
    json_decref(notes);
    notes = json_array();
    assert_int_equal(health_json_verdict(NULL, notes), 0);
    assert_int_equal(json_array_size(notes), 0);
    json_decref(notes);

    /* more flagged workers than HEALTH_NOTES: the rest in one note */
    struct health_summary many = { 0 };
    health_fig f = { .cpu_pct = 99, .flag_cpu = true };
    for (int i = 0; i < HEALTH_NOTES + 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", i);
        assert_int_equal(health_summary_fold(&many, id, "h", 0, &f), 0);
    }
    notes = json_array();
    assert_int_equal(health_json_verdict(&many, notes), HEALTH_NOTES + 3);
    assert_int_equal(json_array_size(notes), HEALTH_NOTES + 1);
    assert_non_null(strstr(json_string_value(json_array_get(notes, HEALTH_NOTES)), "3 more workers"));
    json_decref(notes);
    health_summary_free(&many);
    health_fini(&h);
}

/* Bounded: past HEALTH_MAX_WORKERS workers are counted, not kept; a hostile interval
 * index reusing an open slot closes the older interval first. */
static void test_bounds(void **state)
{
    (void)state;
    health h;
    memset(&h, 0, sizeof h);
    char err[64];
    assert_int_equal(health_start(&h, NULL, err, sizeof err), 0);
    for (int i = 0; i < HEALTH_MAX_WORKERS + 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", i);
        proto_stats s = delta(0, 1000, 0, 0, 0, 1, MIB);
        health_add(&h, id, "h", &s);
    }
    assert_int_equal(health_summary_of(&h)->n, HEALTH_MAX_WORKERS);
    assert_int_equal(health_summary_of(&h)->untracked, 5);
    proto_stats s = delta(HEALTH_OPEN, 1000, 0, 0, 0, 1, MIB);     /* w0's slot 0 again */
    health_add(&h, "w0", "h", &s);
    const health_worker *w0 = health_summary_find(health_summary_of(&h), "w0");
    assert_int_equal(w0->intervals, 1);                 /* interval 0 closed first */
    assert_int_equal(w0->last_idx, 0);
    health_close(&h, HEALTH_OPEN, 0);
    assert_int_equal(w0->intervals, 2);
    assert_int_equal(w0->last_idx, HEALTH_OPEN);
    /* an id that is not valid UTF-8 keeps one entry, found by the same raw id */
    health_fini(&h);
    memset(&h, 0, sizeof h);
    assert_int_equal(health_start(&h, NULL, err, sizeof err), 0);
    for (uint64_t iv = 0; iv < 3; iv++) {
        proto_stats b = delta(iv, 1000, 0, 0, 0, 1, MIB);
        health_add(&h, "w\xff\xfe", "h\xc0", &b);
        health_close(&h, iv, 0);
    }
    assert_int_equal(health_summary_of(&h)->n, 1);
    const health_worker *bad = health_summary_find(health_summary_of(&h), "w\xff\xfe");
    assert_non_null(bad);
    assert_int_equal(bad->intervals, 3);
    assert_string_equal(bad->id, "w??");
    /* a delta without wall time or lag samples: zeros, no division by zero */
    proto_stats z;
    memset(&z, 0, sizeof z);
    health_add(&h, "w1", "h", &z);
    assert_int_equal(health_finish(&h, 0, err, sizeof err), 0);
    const health_worker *w1 = health_summary_find(health_summary_of(&h), "w1");
    assert_true(w1->lag_mean.max == 0 && w1->cpu.max >= 0 && isfinite(w1->cpu.sum));
    health_fini(&h);
}

/* A folder that refuses workers.csv: the reason, and the summary still kept. */
static void test_unwritable(void **state)
{
    (void)state;
    health h;
    memset(&h, 0, sizeof h);
    char err[1300];
    assert_int_equal(health_start(&h, "/nonexistent/dir", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create /nonexistent/dir/workers.csv"));
    feed(&h);
    assert_int_equal(health_summary_of(&h)->n, 2);
    assert_int_equal(health_finish(&h, 0, err, sizeof err), -1);
    health_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_summary),
        cmocka_unit_test(test_load_roundtrip),
        cmocka_unit_test(test_load_missing_and_bad),
        cmocka_unit_test(test_json_and_verdict),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
