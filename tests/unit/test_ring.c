/* Unit tests for master/coord_ring.c, the interval ring and its close policy: an
 * interval closes when every engine thread reported it, or RING_LATE_MS after its end,
 * or when the ring is full, or when the run ends (the deltas of engines no longer
 * expected do not count: ring_forget); closing folds it into the totals once;
 * a late delta goes to the totals only; empty intervals close silently, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "master/coord_ring.h"
#include "tests/unit/support.h"

#define START_MS    1700000000000ULL
#define INTERVAL_MS 1000u

/* What the close callback saw, in order. */
typedef struct closed {
    int      n;
    uint64_t idx[64];
    uint32_t users[64], reports[64];
    uint64_t requests[64];      /* the interval's */
    uint64_t totals[64];        /* the totals' when it closed (it already folded in) */
    coord_point pt[64];         /* ring_point of it, at the ring's interval */
    coord_point pt_half[64];    /* ring_point of it, were the interval 500 ms */
    uint64_t limited_tot[64];   /* the totals' limited_intervals when it closed */
} closed;

static void on_close(void *arg, const ring_iv *iv, const merge_set *totals)
{
    closed *c = arg;
    assert_true(c->n < 64);
    c->idx[c->n] = iv->idx;
    c->users[c->n] = iv->users;
    c->reports[c->n] = iv->reports;
    c->requests[c->n] = iv->set.all.requests;
    c->totals[c->n] = totals->all.requests;
    ring_point(iv, INTERVAL_MS, &c->pt[c->n]);
    ring_point(iv, INTERVAL_MS / 2, &c->pt_half[c->n]);
    c->limited_tot[c->n] = totals->limited_intervals;
    c->n++;
}

typedef struct fixture {
    merge_set totals;
    iv_ring   ring;
    closed    seen;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    merge_init(&f.totals);
    merge_set_cap(&f.totals, 100, NULL);
    ring_init(&f.ring, &f.totals, on_close, &f.seen);
    ring_restart(&f.ring, 100, INTERVAL_MS);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ring_fini(&f->ring);
    merge_fini(&f->totals);
    hist_pool_drain();
    return 0;
}

/* Adds one delta and says whether it was late. */
static bool add(fixture *f, uint64_t iv, uint64_t n, uint32_t users)
{
    tdelta d;       /* one delta of interval iv from one engine thread: n GET /a */
    td_init(&d);
    td_entry(&d, "GET", "/a", n, 1000, 0, 0, 0, NULL);
    d.ps.interval = iv;
    d.ps.users = users;
    bool late = ring_add(&f->ring, &d.ps);
    td_fini(&d);
    return late;
}

/* One open-model delta of interval iv: n GET /a at lat_us with service svc_us, and the
 * shard's schedule (lag: nlag samples from lag_us, 1 us apart). */
typedef struct odelta {
    uint64_t n, lat_us, svc_us;
    uint64_t intended, started, dropped;
    uint32_t backlog;
    uint64_t lag_us, nlag, cpu_us, wall_us;
} odelta;

static bool add_open(fixture *f, uint64_t iv, const odelta *o)
{
    tdelta d;
    td_init(&d);
    uint32_t r = td_entry(&d, "GET", "/a", o->n, o->lat_us, 0, 0, 0, NULL);
    hist_init(&d.ents[r].svc);
    if (o->svc_us)                      /* 0: a closed-model row, svc empty */
        hist_record_n(&d.ents[r].svc, o->svc_us, o->n);
    stats_sched *c = &d.ps.sched;
    hist_init(&c->lag);
    c->intended = o->intended;
    c->started = o->started;
    c->dropped = o->dropped;
    c->backlog_max = o->backlog;
    for (uint64_t k = 0; k < o->nlag; k++)
        hist_record(&c->lag, o->lag_us + k);
    c->cpu_us = o->cpu_us;
    c->wall_us = o->wall_us;
    d.ps.interval = iv;
    d.ps.users = 2;
    bool late = ring_add(&f->ring, &d.ps);
    hist_fini(&d.ents[r].svc);
    hist_fini(&c->lag);
    td_fini(&d);
    return late;
}

/* An open-model interval's point: rates per second of the interval, backlog (the
 * shards' maxima added), dropped, lag p99, service percentiles beside latency; the
 * generator-limited rule (lag p99 > 10 ms, or a thread above 90 % CPU) counted once per
 * limited interval in the totals, in both models; a late delta's backlog does not add
 * to the totals' largest. */
static void test_open_model_points_and_limited(void **state)
{
    fixture *f = *state;
    /* interval 0: two threads on time, 0.3 and 0.5 of a core */
    odelta a = { 40, 900000, 2000, 50, 48, 2, 3, 100, 48, 300000, 1000000 };
    odelta b = { 60, 800000, 3000, 60, 60, 0, 4, 2000, 60, 500000, 1000000 };
    assert_false(add_open(f, 0, &a));
    assert_false(add_open(f, 0, &b));
    ring_close_ready(&f->ring, START_MS, START_MS + INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 1);
    const coord_point *p = &f->seen.pt[0];
    assert_true(p->t == 1.0);
    assert_true(p->rate_planned == 110);
    assert_true(p->rate_achieved == 108);
    assert_true(f->seen.pt_half[0].rate_planned == 220);
    assert_true(f->seen.pt_half[0].rps == 200);
    assert_int_equal(p->backlog, 7);
    assert_int_equal(p->dropped, 2);
    assert_true(p->lag_p99 > 1.9 && p->lag_p99 < 2.2);
    assert_true(p->cpu_max > 0.49 && p->cpu_max < 0.51);
    assert_false(p->limited);
    assert_true(p->rps == 100);
    assert_true(p->p50 > 799 && p->p50 < 802);       /* latency from the intended start */
    assert_true(p->s99 > 2.99 && p->s99 < 3.01);     /* service from the send */
    assert_true(p->s50 < p->p50);
    assert_int_equal(f->seen.limited_tot[0], 0);

    /* interval 1: one thread's arrivals started 40 ms late: limited */
    odelta late = { 10, 50000, 1000, 10, 10, 0, 9, 40000, 10, 200000, 1000000 };
    assert_false(add_open(f, 1, &a));
    assert_false(add_open(f, 1, &late));
    ring_close_ready(&f->ring, START_MS, START_MS + 2 * INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 2);
    assert_true(f->seen.pt[1].limited);
    assert_true(f->seen.pt[1].lag_p99 > 10);
    assert_int_equal(f->seen.limited_tot[1], 1);

    /* interval 2: no arrivals (the closed model), a thread at 95 %: limited, lag NaN;
     * interval 3: at exactly 90 %: not limited */
    odelta busy = { 100, 700, 0, 0, 0, 0, 0, 0, 0, 950000, 1000000 };
    odelta edge = { 100, 700, 0, 0, 0, 0, 0, 0, 0, 900000, 1000000 };
    assert_false(add_open(f, 2, &busy));
    assert_false(add_open(f, 3, &edge));
    ring_close_ready(&f->ring, START_MS, START_MS + 4 * INTERVAL_MS, 1, false);
    assert_int_equal(f->seen.n, 4);
    assert_true(f->seen.pt[2].limited);
    assert_true(isnan(f->seen.pt[2].lag_p99));
    assert_true(f->seen.pt[2].rate_planned == 0);
    assert_true(f->seen.pt[2].s95 == f->seen.pt[2].p95);    /* svc empty: svc = lat */
    assert_false(f->seen.pt[3].limited);
    assert_int_equal(f->seen.limited_tot[3], 2);
    assert_int_equal(f->totals.limited_intervals, 2);

    /* the totals: counts add, the largest interval backlog; a late delta adds its counts
     * but its backlog only raises the largest */
    assert_int_equal(f->totals.sched.intended, 110 + 60);
    assert_int_equal(f->totals.sched.backlog_max, 12);       /* interval 1: 3 + 9 */
    odelta straggler = { 1, 100, 100, 5, 5, 0, 11, 10, 5, 1000, 1000000 };
    assert_true(add_open(f, 0, &straggler));
    assert_int_equal(f->totals.sched.backlog_max, 12);
    assert_int_equal(f->totals.sched.intended, 175);
    straggler.backlog = 30;
    assert_true(add_open(f, 1, &straggler));
    assert_int_equal(f->totals.sched.backlog_max, 30);

    /* an interval no delta reached is not counted */
    assert_false(add_open(f, 6, &edge));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, true);
    assert_int_equal(f->seen.n, 5);
    assert_int_equal(f->totals.limited_intervals, 2);
}

static void test_closes_when_every_thread_reported(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 10, 3));
    /* one of two threads: not before its end + RING_LATE_MS */
    ring_close_ready(&f->ring, START_MS, START_MS + INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 0);
    assert_int_equal(f->totals.all.requests, 0);
    assert_false(add(f, 0, 5, 4));
    ring_close_ready(&f->ring, START_MS, START_MS + INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->seen.reports[0], 2);
    assert_int_equal(f->seen.users[0], 7);
    assert_int_equal(f->seen.requests[0], 15);
    assert_int_equal(f->seen.totals[0], 15);
    assert_int_equal(f->totals.all.requests, 15);
    assert_int_equal(f->ring.next_idx, 1);
}

/* Issue 12: a worker leaving mid-run. Two engines expected; the leaver's final delta of
 * interval 3 (users 0) arrives, then its DONE makes the expected count 1. Its delta must
 * no longer count (ring_forget): the interval waits for the survivor's delta and its row
 * holds both (every request of the second, the survivor's users), nothing comes late. */
static void test_leaver_does_not_close_for_the_survivor(void **state)
{
    fixture *f = *state;
    for (uint64_t iv = 0; iv < 3; iv++) {       /* both engines report 0..2 */
        assert_false(add(f, iv, 10, 5));
        assert_false(add(f, iv, 10, 5));
        ring_close_ready(&f->ring, START_MS, START_MS + (iv + 1) * INTERVAL_MS, 2, false);
    }
    assert_int_equal(f->seen.n, 3);
    assert_false(add(f, 3, 4, 0));              /* the leaver's final delta */
    ring_close_ready(&f->ring, START_MS, START_MS + 3500, 2, false);
    assert_int_equal(f->seen.n, 3);             /* the survivor has not reported */
    ring_forget(&f->ring, 3, 1);                /* its DONE: no longer expected */
    ring_close_ready(&f->ring, START_MS, START_MS + 3600, 1, false);
    assert_int_equal(f->seen.n, 3);             /* still waiting for the survivor */
    assert_false(add(f, 3, 9, 10));             /* the survivor, with the adopted users */
    ring_close_ready(&f->ring, START_MS, START_MS + 4 * INTERVAL_MS, 1, false);
    assert_int_equal(f->seen.n, 4);
    assert_int_equal(f->seen.idx[3], 3);
    assert_int_equal(f->seen.requests[3], 13);  /* both deltas in the row */
    assert_int_equal(f->seen.users[3], 10);
    assert_int_equal(f->seen.reports[3], 2);
    assert_int_equal(f->totals.all.requests, 3 * 20 + 13);
    /* forgetting more than was counted, or a closed or unknown interval, changes nothing */
    ring_forget(&f->ring, 3, 5);
    ring_forget(&f->ring, 99, 1);
    assert_false(add(f, 4, 1, 1));
    ring_forget(&f->ring, 4, 7);                /* floors at its reports */
    ring_close_ready(&f->ring, START_MS, START_MS + 4 * INTERVAL_MS + 10, 1, false);
    assert_int_equal(f->seen.n, 4);             /* 1 - 1 = 0 counted: waits */
    ring_close_ready(&f->ring, START_MS, START_MS + 4 * INTERVAL_MS + 10, 0, false);
    assert_int_equal(f->seen.n, 5);             /* nobody expected any more: it closes */
}

static void test_closes_late_after_its_end(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 4, 1));
    uint64_t end = START_MS + INTERVAL_MS;
    ring_close_ready(&f->ring, START_MS, end + RING_LATE_MS - 1, 3, false);
    assert_int_equal(f->seen.n, 0);
    ring_close_ready(&f->ring, START_MS, end + RING_LATE_MS, 3, false);
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.reports[0], 1);
    assert_int_equal(f->seen.requests[0], 4);
}

static void test_late_delta_goes_to_totals_only(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 6, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 1);
    /* interval 0 is written: its straggler counts in the totals, in no interval */
    assert_true(add(f, 0, 9, 1));
    assert_int_equal(f->totals.all.requests, 15);
    assert_false(add(f, 1, 2, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 1);
    assert_int_equal(f->seen.requests[1], 2);
    assert_int_equal(f->seen.totals[1], 17);
}

static void test_full_ring_closes_the_oldest(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 1, 1));
    assert_false(add(f, 2, 3, 1));
    assert_int_equal(f->seen.n, 0);
    /* RING_SLOTS past interval 0: 0 (and the empty 1) close; 2 stays open */
    assert_false(add(f, RING_SLOTS, 5, 1));
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->ring.next_idx, 1);
    assert_false(add(f, RING_SLOTS + 2, 7, 1));
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 2);
    assert_int_equal(f->seen.requests[1], 3);
    assert_int_equal(f->ring.next_idx, 3);
    assert_int_equal(f->totals.all.requests, 4);
}

static void test_all_closes_in_order_skipping_empty(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 3, 1, 1));
    assert_false(add(f, 0, 2, 2));
    assert_false(add(f, 5, 4, 3));
    ring_close_ready(&f->ring, START_MS, START_MS, 100, true);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->seen.idx[1], 3);
    assert_int_equal(f->seen.idx[2], 5);
    assert_int_equal(f->seen.users[2], 3);
    assert_int_equal(f->seen.totals[2], 7);
    assert_int_equal(f->ring.next_idx, 6);
    /* nothing open: another call closes nothing more */
    ring_close_ready(&f->ring, START_MS, START_MS + 3600000, 0, true);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->ring.next_idx, 6);
}

static void test_restart_starts_from_interval_zero(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 4, 1, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, true);
    assert_true(add(f, 0, 1, 1));
    assert_false(add(f, 7, 1, 1));
    ring_restart(&f->ring, 100, INTERVAL_MS);
    assert_int_equal(f->ring.next_idx, 0);
    for (int i = 0; i < RING_SLOTS; i++) {
        assert_false(f->ring.iv[i].used);
        assert_int_equal(f->ring.iv[i].set.n, 0);
    }
    assert_false(add(f, 0, 8, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 0);
    assert_int_equal(f->seen.requests[1], 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_closes_when_every_thread_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes_late_after_its_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaver_does_not_close_for_the_survivor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_delta_goes_to_totals_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_closes_the_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_closes_in_order_skipping_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_starts_from_interval_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_model_points_and_limited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
