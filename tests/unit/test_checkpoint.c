/* master/checkpoint.c and master/rebuild.c: a whole-run merge_set saved and loaded gives
 * equal figures (entries, histograms, errors, schedule, the run's facts); truncated,
 * corrupt, foreign and hostile files are refused with a reason; a folder holding only a
 * checkpoint is rebuilt into summary.json (interrupted, covered_s), the CSVs, junit.xml
 * and report.html. Also prints the size and the write time of a 200-name checkpoint
 * (the README's disk figure; no timed assertion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/loadshape.h"
#include "common/scenario.h"
#include "master/checkpoint.h"
#include "master/rebuild.h"
#include "tests/unit/support.h"

typedef struct cfix {
    char dir[256];
    merge_set totals;
    sc_stage stage;
    sc_threshold th[2];
    scenario sc;
    results_worker workers[2];
    checkpoint_run run;
} cfix;

/* A run's totals: HTTP rows (one with an error), a WebSocket row, an ITER row with a
 * service histogram, the schedule, and the counters only the totals hold. */
static void fill(merge_set *m)
{
    tdelta d;
    td_init(&d);
    uint32_t a = td_entry(&d, "GET", "/orders/{id}", 500, 900, 37, 3, 120, NULL);
    td_entry(&d, "POST", "login", 40, 15000, 1100, 0, 60, NULL);
    td_entry(&d, "WS", "feed", 30, 200, 10, 1, 0, NULL);
    td_counts(&d, "WS:c:1000", "feed", 2, 0, 0);
    uint32_t it = td_entry(&d, STATS_ITERATION, "buyer", 20, 50000, 5000, 0, 0, NULL);
    hist_init(&d.ents[it].svc);                 /* td_row prepares lat only */
    hist_init(&d.ps.sched.lag);
    for (uint64_t v = 1000; v < 60000; v += 3000)
        hist_record(&d.ents[it].svc, v);
    td_err(&d, a, ERR_HTTP_STATUS, "503", 2);
    td_err(&d, a, ERR_TIMEOUT, "", 1);
    d.ps.cancelled = 4;
    d.ps.names_folded = 7;
    d.ps.sched.intended = 100;
    d.ps.sched.started = 97;
    d.ps.sched.dropped = 3;
    d.ps.sched.backlog_max = 12;
    d.ps.sched.cpu_us = 400000;
    d.ps.sched.wall_us = 1000000;
    hist_record_n(&d.ps.sched.lag, 2500, 97);
    td_merge(m, &d);                            /* frees the rows' lat histograms */
    hist_fini(&d.ents[it].svc);
    hist_fini(&d.ps.sched.lag);
    m->limited_intervals = 2;
    m->cpu_max = 0.93;
}

static int cfix_setup(void **state)
{
    cfix *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/stampede-ckpt-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    merge_init(&f->totals);
    merge_set_cap(&f->totals, 500, NULL);
    fill(&f->totals);
    f->stage.duration_ms = 60000;
    f->stage.users = 20;
    f->th[0] = th_mk("p95 < 500ms", NULL, TH_P95, OP_LT, 500);
    f->th[1] = th_mk("login: p99 < 1ms", "login", TH_P99, OP_LT, 1);
    f->sc.name = "erp-peak";
    f->sc.file = "configs/erp.yaml";
    f->sc.target = "http://127.0.0.1:8000";
    f->sc.stages = &f->stage;
    f->sc.nstages = 1;
    f->sc.thresholds = f->th;
    f->sc.nthresholds = 2;
    snprintf(f->workers[0].id, sizeof f->workers[0].id, "w1");
    snprintf(f->workers[0].host, sizeof f->workers[0].host, "host-a");
    f->workers[0].threads = 2;
    f->workers[0].requests = 400;
    f->workers[0].state = "running";
    snprintf(f->workers[1].id, sizeof f->workers[1].id, "w2");
    f->workers[1].state = "lost";
    f->workers[1].lost_at_ms = 1700000003000;
    f->workers[1].missing_requests_max = 90;
    f->run = (checkpoint_run){ .run_id = 42, .sc = &f->sc, .start_wall_ms = 1700000000000,
                               .covered_wall_ms = 1700000005000, .intervals = 5,
                               .interval_ms = 1000, .name_cap = 500, .workers = f->workers,
                               .nworkers = 2, .missing_requests_max = 90 };
    *state = f;
    return 0;
}

static int cfix_teardown(void **state)
{
    cfix *f = *state;
    merge_fini(&f->totals);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void assert_hist_same(const hist *a, const hist *b)
{
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->clamped, b->clamped);
    assert_int_equal(a->lost, b->lost);
    assert_int_equal(a->sum_us, b->sum_us);
    if (a->total) {
        assert_int_equal(a->min_us, b->min_us);
        assert_int_equal(a->max_us, b->max_us);
    }
    hist_iter ia, ib;
    hist_iter_init(&ia, a);
    hist_iter_init(&ib, b);
    for (;;) {
        bool na = hist_iter_next(&ia), nb = hist_iter_next(&ib);
        assert_int_equal(na, nb);
        if (!na)
            break;
        assert_int_equal(ia.idx, ib.idx);
        assert_int_equal(ia.count, ib.count);
    }
}

static void assert_entry_same(const merge_entry *a, const merge_entry *b)
{
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->fig, b->fig);
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->failures, b->failures);
    assert_int_equal(a->bytes, b->bytes);
    assert_hist_same(&a->lat, &b->lat);
    assert_hist_same(&a->svc, &b->svc);
}

static void test_checkpoint_round_trip(void **state)
{
    cfix *f = *state;
    char err[600];
    assert_int_equal(checkpoint_save(f->dir, &f->run, &f->totals, err, sizeof err), 0);
    checkpoint_data d;
    int lrv = checkpoint_load(f->dir, &d, err, sizeof err);
    if (lrv != 0) printf("load: %s\n", err);
    assert_int_equal(lrv, 0);
    assert_int_equal(d.run_id, 42);
    assert_string_equal(d.name, "erp-peak");
    assert_string_equal(d.file, "configs/erp.yaml");
    assert_string_equal(d.target, "http://127.0.0.1:8000");
    assert_int_equal(d.model, SC_MODEL_CLOSED);
    assert_int_equal(d.start_wall_ms, 1700000000000);
    assert_int_equal(d.covered_wall_ms, 1700000005000);
    assert_int_equal(d.intervals, 5);
    assert_int_equal(d.interval_ms, 1000);
    assert_int_equal(d.peak_users, 20);
    assert_int_equal(d.stages_ms, 60000);
    assert_int_equal(d.name_cap, 500);
    assert_int_equal(d.missing_requests_max, 90);
    assert_int_equal(d.nthresholds, 2);
    assert_string_equal(d.thresholds[1], "login: p99 < 1ms");
    assert_int_equal(d.nworkers, 2);
    assert_string_equal(d.workers[0].id, "w1");
    assert_string_equal(d.workers[0].host, "host-a");
    assert_int_equal(d.workers[0].threads, 2);
    assert_int_equal(d.workers[0].requests, 400);
    assert_string_equal(d.workers[0].state, "running");
    assert_string_equal(d.workers[1].state, "lost");
    assert_int_equal(d.workers[1].lost_at_ms, 1700000003000);
    assert_true(d.workers[1].lost_at_s > 2.99 && d.workers[1].lost_at_s < 3.01);
    assert_int_equal(d.workers[1].missing_requests_max, 90);

    const merge_set *a = &f->totals, *b = &d.totals;
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++)
        assert_entry_same(&a->entries[i], &b->entries[i]);
    assert_entry_same(&a->all, &b->all);
    assert_int_equal(a->nerrs, b->nerrs);
    for (uint32_t i = 0; i < a->nerrs; i++) {
        const merge_err *x = &a->errs[i];
        const merge_err *y = &b->errs[i];
        assert_string_equal(x->method, y->method);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->detail, y->detail);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->count, y->count);
    }
    assert_int_equal(a->sched.intended, b->sched.intended);
    assert_int_equal(a->sched.started, b->sched.started);
    assert_int_equal(a->sched.dropped, b->sched.dropped);
    assert_int_equal(a->sched.backlog_max, b->sched.backlog_max);
    assert_int_equal(a->sched.cpu_us, b->sched.cpu_us);
    assert_int_equal(a->sched.wall_us, b->sched.wall_us);
    assert_hist_same(&a->sched.lag, &b->sched.lag);
    assert_int_equal(a->cancelled, b->cancelled);
    assert_int_equal(a->names_folded, b->names_folded);
    assert_int_equal(a->limited_intervals, b->limited_intervals);
    assert_true(b->cpu_max > 0.929 && b->cpu_max < 0.931);
    assert_int_equal(b->name_cap, 500);
    checkpoint_data_fini(&d);

    /* rewritten, not appended: a second save replaces the first */
    struct stat st1, st2;
    char path[400];
    snprintf(path, sizeof path, "%s/%s", f->dir, CHECKPOINT_FILE);
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(checkpoint_save(f->dir, &f->run, &f->totals, err, sizeof err), 0);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st1.st_size, st2.st_size);
    snprintf(path, sizeof path, "%s/%s.tmp", f->dir, CHECKPOINT_FILE);
    assert_int_not_equal(access(path, F_OK), 0);
}

/* Every prefix of a good file is refused with a reason, and so is every file with one
 * byte changed that does not decode; none crashes (the sanitizer build checks memory). */
static void test_checkpoint_truncated_corrupt(void **state)
{
    cfix *f = *state;
    char *buf, err[600];
    size_t len;
    assert_int_equal(checkpoint_encode(&f->run, &f->totals, &buf, &len), 0);
    checkpoint_data d;
    for (size_t n = 0; n < len; n += (n < 200 ? 1 : 7)) {
        err[0] = '\0';
        assert_int_equal(checkpoint_decode(buf, n, &d, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
    int refused = 0;
    for (size_t i = 0; i < len; i += 3) {
        char keep = buf[i];
        buf[i] = (char)(buf[i] ^ 0x5a);
        err[0] = '\0';
        if (checkpoint_decode(buf, len, &d, err, sizeof err) == 0)
            checkpoint_data_fini(&d);
        else {
            assert_true(err[0] != '\0');
            refused++;
        }
        buf[i] = keep;
    }
    assert_true(refused > 0);
    assert_int_equal(checkpoint_decode(buf, len, &d, err, sizeof err), 0);
    checkpoint_data_fini(&d);
    free(buf);
}

static void test_checkpoint_foreign(void **state)
{
    cfix *f = *state;
    char err[600];
    checkpoint_data d;
    /* no file */
    assert_int_equal(checkpoint_load(f->dir, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
    /* text */
    const char *txt = "name: not a checkpoint\n";
    assert_int_equal(checkpoint_decode(txt, strlen(txt), &d, err, sizeof err), -1);
    assert_non_null(strstr(err, CHECKPOINT_FILE));
    /* a msgpack array with another magic: ["other", 1] */
    const char other[] = "\x92\xa5other\x01";
    assert_int_equal(checkpoint_decode(other, sizeof other - 1, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a Stampede checkpoint"));
    /* a later version */
    char v2[64];
    size_t n = 0;
    v2[n++] = (char)0x92;
    v2[n++] = (char)(0xa0 | strlen(CHECKPOINT_MAGIC));
    memcpy(v2 + n, CHECKPOINT_MAGIC, strlen(CHECKPOINT_MAGIC));
    n += strlen(CHECKPOINT_MAGIC);
    v2[n++] = 0x02;
    assert_int_equal(checkpoint_decode(v2, n, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 2"));
    /* version 1 with too few fields */
    v2[0] = (char)0x92;
    v2[n - 1] = 0x01;
    assert_int_equal(checkpoint_decode(v2, n, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    /* hostile: an array32 claiming 100 million elements in 5 bytes */
    const char big[] = "\xdd\x05\xf5\xe1\x00";
    assert_int_equal(checkpoint_decode(big, 5, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    /* empty */
    assert_int_equal(checkpoint_decode("", 0, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
}

/* A folder with only a checkpoint (and the history) is rebuilt: summary.json marked
 * interrupted with covered_s, thresholds judged on what was covered. */
static void test_checkpoint_rebuild(void **state)
{
    cfix *f = *state;
    char err[1400], path[400];
    assert_int_equal(checkpoint_save(f->dir, &f->run, &f->totals, err, sizeof err), 0);
    rebuild_info ri;
    assert_int_equal(rebuild_from_checkpoint(f->dir, &ri, err, sizeof err), 0);
    assert_int_equal(ri.intervals, 5);
    assert_true(ri.covered_s > 4.99 && ri.covered_s < 5.01);
    assert_int_equal(ri.requests, f->totals.all.requests);
    assert_int_equal(ri.thresholds, 2);
    assert_int_equal(ri.thresholds_failed, 1);          /* login p99 < 1ms fails */
    static const char *files[] = { "summary.json", "stats.csv", "failures.csv", "junit.xml",
                                   "report.html" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        assert_int_equal(access(path, F_OK), 0);
    }
    snprintf(path, sizeof path, "%s/summary.json", f->dir);
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    assert_non_null(s);
    assert_true(json_is_true(json_object_get(s, "interrupted")));
    assert_true(json_real_value(json_object_get(s, "covered_s")) > 4.99);
    assert_true(json_real_value(json_object_get(s, "duration_s")) > 4.99);
    assert_string_equal(json_string_value(json_object_get(s, "stop_reason")), "interrupted");
    assert_string_equal(json_string_value(json_object_get(s, "scenario")), "erp-peak");
    json_t *tot = json_object_get(s, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "requests")), 540);
    json_t *th = json_object_get(s, "thresholds");
    assert_true(json_is_true(json_object_get(json_array_get(th, 0), "ok")));
    assert_true(json_is_false(json_object_get(json_array_get(th, 1), "ok")));
    json_t *w = json_array_get(json_object_get(s, "workers"), 0);
    assert_string_equal(json_string_value(json_object_get(w, "state")), "interrupted");
    assert_int_equal(json_array_size(json_object_get(s, "errors")), 2);
    json_decref(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 200 names and 5 error kinds on 40 of them, with two latency spreads: 400 distinct
 * buckets per name and ~3000 (1 ms .. 4 s, a wide spread a long run fills).
 * Prints the file's size and the time of one save; no timed assertion. */
static void ckpt_200_names(cfix *f, uint64_t samples, uint64_t step_us)
{
    merge_set m;
    merge_init(&m);
    merge_set_cap(&m, 500, NULL);
    for (int k = 0; k < 200; k++) {
        tdelta d;
        td_init(&d);
        char name[64];
        snprintf(name, sizeof name, "/api/resource-%03d/{id}", k);
        uint32_t e = td_entry(&d, "GET", name, samples, 1000, step_us, 10, 512, NULL);
        for (int j = 0; j < 5 && k < 40; j++) {
            char det[16];
            snprintf(det, sizeof det, "%d", 500 + j);
            td_err(&d, e, ERR_HTTP_STATUS, det, 2);
        }
        td_merge(&m, &d);
    }
    char err[600];
    double t0 = now_s();
    int rounds = 20;
    for (int i = 0; i < rounds; i++)
        assert_int_equal(checkpoint_save(f->dir, &f->run, &m, err, sizeof err), 0);
    double per = (now_s() - t0) / rounds;
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->dir, CHECKPOINT_FILE);
    assert_int_equal(stat(path, &st), 0);
    printf("checkpoint with 200 names (%zu buckets each): %lld bytes, %.2f ms per save "
           "(encode, write, fsync, rename)\n", hist_nonzero(&m.entries[0].lat),
           (long long)st.st_size, per * 1000);
    checkpoint_data d;
    assert_int_equal(checkpoint_load(f->dir, &d, err, sizeof err), 0);
    assert_int_equal(d.totals.n, 200);
    assert_int_equal(d.totals.nerrs, 200);
    assert_int_equal(d.totals.all.requests, m.all.requests);
    checkpoint_data_fini(&d);
    merge_fini(&m);
}

static void test_checkpoint_200_names(void **state)
{
    ckpt_200_names(*state, 400, 100);   /* 1 .. 41 ms, 400 samples: 400 buckets */
    ckpt_200_names(*state, 4000, 997);  /* 1 ms .. 4 s, 4000 samples: ~3000 buckets */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, cfix_setup, cfix_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_truncated_corrupt, cfix_setup, cfix_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_foreign, cfix_setup, cfix_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_rebuild, cfix_setup, cfix_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_200_names, cfix_setup, cfix_teardown),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    hist_pool_drain();
    return rv;
}
