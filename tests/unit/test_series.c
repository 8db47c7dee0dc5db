/* Unit tests for master/coord_series.c, the dashboard's series at bounded memory: one
 * point per interval until COORD_SERIES are kept, then adjacent pairs merge (the step
 * doubles) so that a whole 24 h run stays covered from its first interval; merging adds
 * counts, averages rates by the intervals covered, keeps maxima and the larger
 * percentile, lets a number win over NaN and keeps a limited interval limited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "master/coord_series.h"

/* Interval i (1-based) of a run at 1 s intervals: t = i, rps = i, p95 = i % 100, one
 * dropped arrival each, users 10 but 500 at i == 777, limited only at i == 5000. */
static coord_point pt_of(uint32_t i)
{
    coord_point p;
    memset(&p, 0, sizeof p);
    p.t = i;
    p.users = i == 777 ? 500 : 10;
    p.rps = i;
    p.fps = 1;
    p.p50 = p.p95 = p.p99 = i % 100;
    p.s50 = p.s95 = p.s99 = NAN;
    p.lag_p99 = NAN;
    p.dropped = 1;
    p.backlog = i % 7;
    p.limited = i == 5000;
    return p;
}

static void test_fills_one_point_per_interval(void **state)
{
    (void)state;
    coord_series s;
    assert_int_equal(coord_series_init(&s), 0);
    for (uint32_t i = 1; i <= COORD_SERIES; i++) {
        coord_point p = pt_of(i);
        coord_series_push(&s, &p);
    }
    assert_int_equal(s.n, COORD_SERIES);
    assert_int_equal(s.step, 1);
    assert_int_equal(s.npending, 0);
    for (int i = 0; i < s.n; i++) assert_true(s.pts[i].t == i + 1);
    coord_series_free(&s);
}

/* 24 h at 1 s: bounded, covering, and every figure merged as the header says. */
static void test_a_day_stays_whole_at_bounded_size(void **state)
{
    (void)state;
    coord_series s;
    assert_int_equal(coord_series_init(&s), 0);
    const uint32_t N = 86400;
    for (uint32_t i = 1; i <= N; i++) {
        coord_point p = pt_of(i);
        coord_series_push(&s, &p);
        assert_true(s.n <= COORD_SERIES);
        if (s.npending == 0)            /* the published points cover 1..i, nothing lost */
            assert_true(s.pts[s.n - 1].t == i && (uint64_t)s.n * s.step == i);
    }
    assert_int_equal(s.step, 32);       /* 86400 / 3600 = 24 -> the next power of two */
    assert_int_equal(s.n, N / 32);      /* 2700 */
    assert_int_equal(s.npending, 0);
    uint64_t dropped = 0;
    double t_prev = 0;
    bool limited_seen = false, peak_seen = false;
    for (int k = 0; k < s.n; k++) {
        const coord_point *p = &s.pts[k];
        uint32_t first = (uint32_t)k * 32 + 1, last = first + 31;
        assert_true(p->t == last && p->t > t_prev);
        t_prev = p->t;
        dropped += p->dropped;
        assert_int_equal(p->dropped, 32);                       /* counts add */
        assert_true(fabs(p->rps - (first + last) / 2.0) < 1e-6);/* rate: the mean */
        assert_true(fabs(p->fps - 1) < 1e-9);
        double pmax = 0;                                        /* percentile: the larger */
        for (uint32_t i = first; i <= last; i++) if (i % 100 > pmax) pmax = i % 100;
        assert_true(p->p95 == pmax && p->p99 == pmax && p->p50 == pmax);
        assert_true(isnan(p->s95) && isnan(p->lag_p99));        /* none stays none */
        assert_int_equal(p->backlog, 6);                        /* maxima stay maxima */
        if (first <= 777 && 777 <= last) { assert_int_equal(p->users, 500); peak_seen = true; }
        else assert_int_equal(p->users, 10);
        if (first <= 5000 && 5000 <= last) { assert_true(p->limited); limited_seen = true; }
        else assert_false(p->limited);
    }
    assert_true(dropped == N && limited_seen && peak_seen);
    coord_series_free(&s);
}

/* Between two halvings the point being built is not published: after 3601 intervals,
 * 1800 points of 2 and one interval pending; the next one completes a point. */
static void test_pending_point_after_halving(void **state)
{
    (void)state;
    coord_series s;
    assert_int_equal(coord_series_init(&s), 0);
    for (uint32_t i = 1; i <= COORD_SERIES + 1; i++) {
        coord_point p = pt_of(i);
        coord_series_push(&s, &p);
    }
    assert_int_equal(s.step, 2);
    assert_int_equal(s.n, COORD_SERIES / 2);
    assert_int_equal(s.npending, 1);
    assert_true(s.pts[s.n - 1].t == COORD_SERIES);
    coord_point p = pt_of(COORD_SERIES + 2);
    coord_series_push(&s, &p);
    assert_int_equal(s.n, COORD_SERIES / 2 + 1);
    assert_true(s.pts[s.n - 1].t == COORD_SERIES + 2);
    assert_true(fabs(s.pts[s.n - 1].rps - (COORD_SERIES + 1.5)) < 1e-9);
    /* a new run starts over at step 1 */
    coord_series_reset(&s);
    coord_series_push(&s, &p);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.step, 1);
    coord_series_free(&s);
}

/* Unequal spans weigh by intervals; a number wins over NaN; the larger lag wins. */
static void test_merge_weights_and_nan(void **state)
{
    (void)state;
    coord_point a = pt_of(1), b = pt_of(2);
    a.rps = 10; b.rps = 40;
    a.rate_planned = 100; b.rate_planned = 200;
    a.p95 = NAN; b.p95 = 7;
    a.lag_p99 = 3; b.lag_p99 = NAN;
    a.cpu_max = 0.9; b.cpu_max = 0.2;
    coord_point_merge(&a, 3, &b, 1);
    assert_true(fabs(a.rps - 17.5) < 1e-9);
    assert_true(fabs(a.rate_planned - 125) < 1e-9);
    assert_true(a.p95 == 7 && a.lag_p99 == 3 && fabs(a.cpu_max - 0.9) < 1e-9);
    assert_true(a.t == 2 && a.dropped == 2);
}

/* A store that could not allocate ignores points instead of crashing. */
static void test_store_without_points_ignores(void **state)
{
    (void)state;
    coord_series s;
    memset(&s, 0, sizeof s);
    coord_point p = pt_of(1);
    coord_series_push(&s, &p);
    assert_int_equal(s.n, 0);
    coord_series_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_one_point_per_interval),
        cmocka_unit_test(test_a_day_stays_whole_at_bounded_size),
        cmocka_unit_test(test_pending_point_after_halving),
        cmocka_unit_test(test_merge_weights_and_nan),
        cmocka_unit_test(test_store_without_points_ignores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
