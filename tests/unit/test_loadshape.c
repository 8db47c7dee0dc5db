/* The load shape (common/loadshape.h) on plain stage arrays, without a scenario or the
 * YAML parser: users over stages (ramps, a zero-length step, after the end), the
 * override's cut ramp and clamp, the profile table's weighted round-robin, and the open
 * model's rate curve: rate, area and its inverse over a ramp, a hold, a jump, a step
 * down, a zero-rate wait, a ramp down to 0 and a day-long hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include "common/loadshape.h"

#define S(ms, r) { .duration_ms = (ms), .rate = (r) }
#define NEAR(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

/* Uniform arrivals of a shape: a = 0, 1, ... while the inverse has one. */
static uint64_t count_arrivals(const sc_stage *st, int n)
{
    uint64_t a = 0;
    while (loadshape_area_inverse(st, n, (double)a) >= 0 && a < 100000000)
        a++;
    return a;
}

static void test_users_over_stages(void **state)
{
    (void)state;
    const sc_stage st[] = { { 10000, 100 }, { 0, 40 }, { 5000, 40 }, { 10000, 0 } };
    assert_int_equal(loadshape_duration_ms(st, 4), 25000);
    assert_int_equal(loadshape_peak_users(st, 4), 100);
    assert_int_equal(loadshape_users_at(st, 4, 0), 0);
    assert_int_equal(loadshape_users_at(st, 4, 5000), 50);
    assert_int_equal(loadshape_users_at(st, 4, 9999), 99);
    assert_int_equal(loadshape_users_at(st, 4, 10000), 40);   /* the zero-length stage steps */
    assert_int_equal(loadshape_users_at(st, 4, 14999), 40);
    assert_int_equal(loadshape_users_at(st, 4, 20000), 20);   /* ramp down 40 -> 0 */
    assert_int_equal(loadshape_users_at(st, 4, 25000), 0);    /* after the last stage */
    assert_int_equal(loadshape_users_at(st, 0, 0), 0);        /* no stages: nobody */
    assert_int_equal(loadshape_duration_ms(st, 0), 0);
}

static void test_override(void **state)
{
    (void)state;
    const sc_stage st[] = { { 60000, 10 } };
    sc_stage out[2];
    /* 100 users at 5/s need 20 s; the run lasts 10 s: the ramp is cut at 50 users */
    assert_int_equal(loadshape_override(st, 1, 100, 5.0, 10000, out), 1);
    assert_int_equal(out[0].duration_ms, 10000);
    assert_int_equal(out[0].users, 50);
    assert_int_equal(loadshape_users_at(out, 1, 5000), 25);
    /* ramp 2 s, then held: the whole run keeps the scenario's 60 s */
    assert_int_equal(loadshape_override(st, 1, 10, 5.0, 0, out), 2);
    assert_int_equal(loadshape_duration_ms(out, 2), 60000);
    assert_int_equal(loadshape_users_at(out, 2, 1000), 5);
    assert_int_equal(loadshape_users_at(out, 2, 2000), 10);
    /* rate 0: everyone at once (a zero-length step); users 0 keeps the peak */
    assert_int_equal(loadshape_override(st, 1, 0, 0, 3000, out), 2);
    assert_int_equal(loadshape_users_at(out, 2, 0), 10);
    assert_int_equal(loadshape_duration_ms(out, 2), 3000);
    /* clamped to SC_MAX_USERS */
    loadshape_override(st, 1, UINT32_MAX, 0, 1000, out);
    assert_int_equal(loadshape_peak_users(out, 2), SC_MAX_USERS);
}

/* Issue 12: -t alone keeps the stages, cut at the duration (the running stage ends at
 * what it has reached) or with the last stage held up to it. */
static void test_cut(void **state)
{
    (void)state;
    const sc_stage st[] = { { 10000, 20 }, { 20000, 20 }, { 10000, 0 } };
    sc_stage out[4];
    /* cut in the ramp: 5 s of the 10 s ramp to 20 users */
    assert_int_equal(loadshape_cut(st, 3, 5000, out), 1);
    assert_int_equal(out[0].duration_ms, 5000);
    assert_int_equal(out[0].users, 10);
    assert_int_equal(loadshape_users_at(out, 1, 2500), 5);
    /* cut in the hold: the ramp kept whole */
    assert_int_equal(loadshape_cut(st, 3, 15000, out), 2);
    assert_int_equal(loadshape_duration_ms(out, 2), 15000);
    assert_int_equal(loadshape_users_at(out, 2, 5000), 10);
    assert_int_equal(loadshape_users_at(out, 2, 14999), 20);
    /* cut in the ramp-down: the users reached at the cut */
    assert_int_equal(loadshape_cut(st, 3, 35000, out), 3);
    assert_int_equal(out[2].users, 10);
    assert_int_equal(loadshape_duration_ms(out, 3), 35000);
    /* at a stage boundary: later stages go */
    assert_int_equal(loadshape_cut(st, 3, 30000, out), 2);
    assert_int_equal(out[1].users, 20);
    /* longer: the last stage's target held */
    const sc_stage hold[] = { { 10000, 20 }, { 5000, 30 } };
    assert_int_equal(loadshape_cut(hold, 2, 60000, out), 3);
    assert_int_equal(out[2].duration_ms, 45000);
    assert_int_equal(out[2].users, 30);
    assert_int_equal(loadshape_users_at(out, 3, 59999), 30);
    /* the same length, or 0: a copy */
    assert_int_equal(loadshape_cut(hold, 2, 15000, out), 2);
    assert_int_equal(loadshape_cut(hold, 2, 0, out), 2);
    assert_int_equal(out[1].users, 30);
    /* the open model's rates, the same way */
    sc_stage open[] = { { 10000, 0, 0 }, { 10000, 0, 0 } };
    open[0].rate = 100;
    open[1].rate = 100;
    assert_int_equal(loadshape_cut(open, 2, 5000, out), 1);
    assert_true(out[0].rate == 50);
    assert_int_equal(out[0].users, 0);
    assert_int_equal(loadshape_cut(open, 2, 30000, out), 3);
    assert_true(out[2].rate == 100);
}

static void test_profile_table(void **state)
{
    (void)state;
    const uint32_t w[] = { 3, 1 };
    assert_int_equal(loadshape_profile_of(NULL, 0, 5), 0);    /* no table: profile 0 */
    int *seq = loadshape_profile_seq(w, 2, 4);
    assert_non_null(seq);
    int count[2] = { 0, 0 };
    for (uint64_t k = 0; k < 4; k++)
        count[loadshape_profile_of(seq, 4, k)]++;
    assert_int_equal(count[0], 3);
    assert_int_equal(count[1], 1);
    /* every prefix follows 3:1 as closely as integers allow: b among the first 3 users */
    assert_int_equal(seq[0], 0);
    assert_true(seq[1] == 1 || seq[2] == 1);
    for (uint64_t k = 0; k < 4; k++)
        assert_int_equal(loadshape_profile_of(seq, 4, k + 4 * 1000), seq[k]);
    free(seq);
    /* 1:1:1 is plain round robin */
    const uint32_t e[] = { 1, 1, 1 };
    seq = loadshape_profile_seq(e, 3, 3);
    assert_non_null(seq);
    for (int k = 0; k < 3; k++)
        assert_int_equal(seq[k], k);
    free(seq);
}

/* The shape: a ramp 0 -> 400/s, a hold, a step down (zero-length jump), a hold. */
static void test_rate_curve(void **state)
{
    (void)state;
    const sc_stage st[] = { S(10000, 400), S(10000, 400), S(0, 100), S(10000, 100) };
    /* rate: linear within the ramp, a jump at the zero-length stage, 0 after the end */
    NEAR(loadshape_rate_at(st, 4, 0), 0, 1e-9);
    NEAR(loadshape_rate_at(st, 4, 5e6), 200, 1e-9);
    NEAR(loadshape_rate_at(st, 4, 15e6), 400, 1e-9);
    NEAR(loadshape_rate_at(st, 4, 20e6), 100, 1e-9);      /* the step down */
    NEAR(loadshape_rate_at(st, 4, 29.999e6), 100, 1e-9);
    NEAR(loadshape_rate_at(st, 4, 30e6), 0, 1e-9);
    NEAR(loadshape_peak_rate(st, 4), 400, 0);
    /* area: 400 x 10 / 2 over the ramp, then 4000, then 1000 */
    NEAR(loadshape_area(st, 4, 0), 0, 1e-9);
    NEAR(loadshape_area(st, 4, 5e6), 500, 1e-6);          /* a quarter of the ramp's area */
    NEAR(loadshape_area(st, 4, 10e6), 2000, 1e-6);
    NEAR(loadshape_area(st, 4, 12.5e6), 3000, 1e-6);
    NEAR(loadshape_area(st, 4, 20e6), 6000, 1e-6);
    NEAR(loadshape_area(st, 4, 25e6), 6500, 1e-6);
    NEAR(loadshape_area(st, 4, 30e6), 7000, 1e-6);
    NEAR(loadshape_area(st, 4, 99e6), 7000, 1e-6);        /* beyond: the total */
    /* inverse: arrival 0 at the start, arrival 500 at 5 s, 2000 when the hold begins */
    NEAR(loadshape_area_inverse(st, 4, 0), 0, 1e-6);
    NEAR(loadshape_area_inverse(st, 4, 500), 5e6, 1e-3);
    NEAR(loadshape_area_inverse(st, 4, 2000), 10e6, 1e-3);
    NEAR(loadshape_area_inverse(st, 4, 2400), 11e6, 1e-3);
    NEAR(loadshape_area_inverse(st, 4, 6000), 20e6, 1e-3); /* the first after the step */
    NEAR(loadshape_area_inverse(st, 4, 6001), 20.01e6, 1e-3);
    NEAR(loadshape_area_inverse(st, 4, -3), 0, 1e-6);      /* x < 0 is 0 */
    assert_true(loadshape_area_inverse(st, 4, 7000) < 0);  /* no arrival 7000 */
    assert_int_equal(count_arrivals(st, 4), 7000);
    /* inverse(area(t)) = t wherever the rate is above 0, the ramp's start included */
    for (double t = 1; t < 30e6; t += 123457) {
        double back = loadshape_area_inverse(st, 4, loadshape_area(st, 4, t));
        NEAR(back, t, 1e-3 + t * 1e-12);
    }
    /* gaps within the hold at 400/s are 2.5 ms, and at 100/s 10 ms */
    NEAR(loadshape_area_inverse(st, 4, 3001) - loadshape_area_inverse(st, 4, 3000), 2500, 1e-3);
    NEAR(loadshape_area_inverse(st, 4, 6501) - loadshape_area_inverse(st, 4, 6500), 10000, 1e-3);
}

static void test_rate_edges(void **state)
{
    (void)state;
    /* a zero-rate hold before a ramp: arrival 0 comes when the rate rises */
    const sc_stage wait[] = { S(5000, 0), S(10000, 100) };
    NEAR(loadshape_area(wait, 2, 5e6), 0, 1e-9);
    NEAR(loadshape_area_inverse(wait, 2, 0), 5e6, 1e-6);
    NEAR(loadshape_area_inverse(wait, 2, 125), 10e6, 1e-3);   /* a quarter at half the ramp */
    assert_true(loadshape_area_inverse(wait, 2, 499.5) > 0 && loadshape_area_inverse(wait, 2, 500) < 0);
    assert_int_equal(count_arrivals(wait, 2), 500);
    /* a zero-length jump at the start: rate from t = 0, arrival 0 at 0 */
    const sc_stage jump[] = { S(0, 50), S(2000, 50) };
    NEAR(loadshape_rate_at(jump, 2, 0), 50, 1e-9);
    NEAR(loadshape_area_inverse(jump, 2, 0), 0, 1e-9);
    NEAR(loadshape_area_inverse(jump, 2, 1), 20000, 1e-6);
    assert_int_equal(count_arrivals(jump, 2), 100);
    /* uniform arrivals number ceil(area): 7/s ramp over 3 s has 10.5 */
    const sc_stage frac[] = { S(3000, 7) };
    NEAR(loadshape_area(frac, 1, 3e6), 10.5, 1e-9);
    assert_int_equal(count_arrivals(frac, 1), (uint64_t)ceil(10.5));
    /* a ramp down to 0: the last arrival still lands inside the stage, none after */
    const sc_stage down[] = { S(0, 100), S(10000, 0) };
    NEAR(loadshape_area(down, 2, 10e6), 500, 1e-6);
    for (int a = 0; a < 500; a++) {
        double t = loadshape_area_inverse(down, 2, a);
        assert_true(t >= 0 && t <= 10e6);
        if (a > 0)
            assert_true(t > loadshape_area_inverse(down, 2, a - 1));
    }
    NEAR(loadshape_area_inverse(down, 2, 499.999999), 10e6, 2e3);
    assert_int_equal(count_arrivals(down, 2), 500);
    /* nothing planned: no arrival at all */
    const sc_stage none[] = { S(1000, 0) };
    assert_true(loadshape_area_inverse(none, 1, 0) < 0);
    assert_true(loadshape_area_inverse(none, 0, 0) < 0);
    NEAR(loadshape_rate_at(none, 0, 0), 0, 0);
    /* closed form over a day: no error builds up (within a microsecond at 24 h) */
    const sc_stage day[] = { S(0, 1000), S(86400000, 1000) };
    NEAR(loadshape_area_inverse(day, 2, 86400000.0 - 1), 86400e6 - 1000, 1.0);
    NEAR(loadshape_area_inverse(day, 2, 43200000.0), 43200e6, 1.0);
    /* --arrival-rate: a jump to R, then R for the duration (0: the stages' total) */
    sc_stage out[2];
    assert_int_equal(loadshape_override_rate(day, 2, 20, 0, out), 2);
    NEAR(loadshape_duration_ms(out, 2), 86400000, 0);
    assert_int_equal(loadshape_override_rate(day, 2, 20, 5000, out), 2);
    NEAR(loadshape_rate_at(out, 2, 0), 20, 1e-9);
    NEAR(loadshape_area(out, 2, 5e6), 100, 1e-9);
    assert_int_equal(count_arrivals(out, 2), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_over_stages),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_profile_table),
        cmocka_unit_test(test_rate_curve),
        cmocka_unit_test(test_rate_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
