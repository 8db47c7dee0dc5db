/* The load shape (common/loadshape.h) on plain stage arrays, without a scenario or the
 * YAML parser: users over stages (ramps, a zero-length step, after the end), the
 * override's cut ramp and clamp, and the profile table's weighted round-robin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include "common/loadshape.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_over_stages),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_profile_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
