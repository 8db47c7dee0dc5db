/* The load shape (common/loadshape.h) on a scenario built in memory, without the YAML
 * parser: users over stages (ramps, a zero-length step, after the end), the override's
 * cut ramp, the profile table's weighted round-robin and the unique-feeder check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "common/loadshape.h"
#include "common/scenario.h"

static void test_users_over_stages(void **state)
{
    (void)state;
    sc_stage st[] = { { 10000, 100 }, { 0, 40 }, { 5000, 40 }, { 10000, 0 } };
    scenario sc = { .stages = st, .nstages = 4 };
    assert_int_equal(scenario_duration_ms(&sc), 25000);
    assert_int_equal(scenario_peak_users(&sc), 100);
    assert_int_equal(scenario_users_at(&sc, 0), 0);
    assert_int_equal(scenario_users_at(&sc, 5000), 50);
    assert_int_equal(scenario_users_at(&sc, 9999), 99);
    assert_int_equal(scenario_users_at(&sc, 10000), 40);     /* the zero-length stage steps */
    assert_int_equal(scenario_users_at(&sc, 14999), 40);
    assert_int_equal(scenario_users_at(&sc, 20000), 20);     /* ramp down 40 -> 0 */
    assert_int_equal(scenario_users_at(&sc, 25000), 0);      /* after the last stage */
}

static void test_override_cut(void **state)
{
    (void)state;
    sc_stage *st = malloc(sizeof *st);
    assert_non_null(st);
    st[0] = (sc_stage){ 60000, 10 };
    scenario sc = { .stages = st, .nstages = 1 };
    /* 100 users at 5/s need 20 s; the run lasts 10 s: the ramp is cut at 50 users */
    scenario_override_load(&sc, 100, 5.0, 10000);
    assert_int_equal(sc.nstages, 1);
    assert_int_equal(scenario_duration_ms(&sc), 10000);
    assert_int_equal(scenario_peak_users(&sc), 50);
    assert_int_equal(scenario_users_at(&sc, 5000), 25);
    free(sc.stages);
}

static void test_profile_table(void **state)
{
    (void)state;
    sc_profile pr[] = { { .name = "a", .weight = 3 }, { .name = "b", .weight = 1 } };
    scenario sc = { .profiles = pr, .nprofiles = 2, .total_weight = 4 };
    assert_int_equal(scenario_profile_of(&sc, 5), 0);        /* no table yet: profile 0 */
    assert_int_equal(loadshape_profile_seq(&sc), 0);
    int count[2] = { 0, 0 };
    for (uint64_t k = 0; k < 4; k++)
        count[scenario_profile_of(&sc, k)]++;
    assert_int_equal(count[0], 3);
    assert_int_equal(count[1], 1);
    /* every prefix follows 3:1 as closely as integers allow: b no later than user 2 */
    assert_int_equal(scenario_profile_of(&sc, 0), 0);
    assert_true(scenario_profile_of(&sc, 1) == 1 || scenario_profile_of(&sc, 2) == 1);
    for (uint64_t k = 0; k < 4; k++)
        assert_int_equal(scenario_profile_of(&sc, k + 4 * 1000), scenario_profile_of(&sc, k));
    free(sc.profile_seq);
}

static void test_check_run_unique(void **state)
{
    (void)state;
    sc_stage st[] = { { 1000, 3 } };
    data_feeder f = { .name = "ops", .file = "ops.csv", .mode = DATA_UNIQUE, .nrows = 2 };
    scenario sc = { .file = "t.yaml", .stages = st, .nstages = 1, .data = { &f, 1 } };
    sc_error err;
    assert_int_equal(scenario_check_run(&sc, &err), -1);
    assert_string_equal(err.file, "t.yaml");
    assert_non_null(strstr(err.msg, "2 rows for a peak of 3 users"));
    st[0].users = 2;
    assert_int_equal(scenario_check_run(&sc, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_over_stages),
        cmocka_unit_test(test_override_cut),
        cmocka_unit_test(test_profile_table),
        cmocka_unit_test(test_check_run_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
