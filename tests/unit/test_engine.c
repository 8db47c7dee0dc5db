/* Unit tests for worker/engine.c: user state is allocated as the schedule starts users,
 * not for the plan's peak (issue 9, item 6). The engines here run think-only flows: they
 * start users and send nothing anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "common/scenario.h"
#include "common/time.h"
#include "proto/msg.h"
#include "worker/engine.h"

static int no_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    (void)ud; (void)path; (void)data; (void)len;
    snprintf(err, errcap, "no files here");
    return -1;
}

static scenario *think_scenario(const char *stages)
{
    char text[1024];
    snprintf(text, sizeof text,
             "name: engine-mem\n"
             "target: http://127.0.0.1:1\n"
             "load:\n"
             "  stages:\n%s"
             "  graceful_stop: 1s\n"
             "users:\n"
             "  - name: thinker\n"
             "    flow:\n"
             "      - think: 200ms\n", stages);
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "engine.yaml", NULL, 0, no_read, NULL, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

/* The most users any delta reported, and how many deltas came. */
typedef struct seen { atomic_uint max_users; atomic_uint deltas; } seen;

static void emit(void *ud, char *buf, size_t len)
{
    seen *s = ud;
    proto_msg m;
    if (proto_decode(buf, len, &m) == PROTO_OK && m.type == MSG_STATS) {
        unsigned u = m.u.stats.users, cur = atomic_load(&s->max_users);
        while (u > cur && !atomic_compare_exchange_weak(&s->max_users, &cur, u)) {}
        atomic_fetch_add(&s->deltas, 1);
        proto_msg_free(&m);
    }
    free(buf);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Runs sc on one engine owning both slots of a 2-slot run; stops it after stop_ms (0:
 * let the stages end) and returns engine_users_bytes once it has finished. */
static size_t run_engine(const scenario *sc, unsigned stop_ms, seen *s)
{
    static const uint32_t slots[2] = { 0, 1 };
    engine_cfg c = { .sc = sc, .target = sc->target, .run_id = 7, .worker_id = "unit",
                     .slots = slots, .nslots = 2, .threads_total = 2,
                     .start_mono_us = time_mono_us(), .interval_ms = 200, .name_cap = 0,
                     .emit = emit, .emit_ud = s };
    char err[256];
    engine *e = engine_start(&c, err, sizeof err);
    if (!e) fail_msg("engine_start: %s", err);
    if (stop_ms) {
        sleep_ms(stop_ms);
        engine_stop(e);
    }
    for (int i = 0; i < 1000 && !engine_finished(e); i++) sleep_ms(10);    /* <= 10 s */
    assert_true(engine_finished(e));
    size_t bytes = engine_users_bytes(e);
    engine_join_free(e);
    return bytes;
}

/* A peak of 1,000,000 users reached over 3 hours, stopped after a second (~90 users):
 * the engine holds kilobytes per running user, not ~2 KiB per user of the peak. */
static void test_peak_not_allocated_up_front(void **state)
{
    (void)state;
    scenario *big = think_scenario("    - { duration: 3h, users: 1000000 }\n");
    assert_int_equal(scenario_peak_users(big), 1000000);
    seen sb = { 0 };
    size_t bytes_big = run_engine(big, 1000, &sb);
    unsigned users_big = atomic_load(&sb.max_users);
    scenario_free(big);
    print_message("peak 1,000,000, %u users ran: %zu KiB\n", users_big, bytes_big >> 10);
    assert_true(users_big > 0 && users_big < 1000);
    assert_true(bytes_big < 4u << 20);          /* before: ~2 GiB */

    /* 1,000 users at once for half a second: the bytes follow the users that ran */
    scenario *mid = think_scenario("    - { duration: 100ms, users: 1000 }\n"
                                   "    - { duration: 400ms, users: 1000 }\n");
    seen sm = { 0 };
    size_t bytes_mid = run_engine(mid, 0, &sm);
    unsigned users_mid = atomic_load(&sm.max_users);
    scenario_free(mid);
    print_message("peak 1,000, %u users ran: %zu KiB\n", users_mid, bytes_mid >> 10);
    assert_int_equal(users_mid, 1000);
    assert_true(bytes_mid > (size_t)1000 * 1024);   /* a user's state is over 1 KiB */
    assert_true(bytes_mid > bytes_big);
}

/* Users that ramp down and up again reuse their state (nothing grows on the way up a
 * second time), and a slot whose share is 0 holds no users. */
static void test_ramp_down_and_up_reuses(void **state)
{
    (void)state;
    scenario *a = think_scenario("    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 300ms, users: 300 }\n");
    scenario *b = think_scenario("    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 200ms, users: 300 }\n"
                                 "    - { duration: 100ms, users: 10 }\n"
                                 "    - { duration: 100ms, users: 10 }\n"
                                 "    - { duration: 100ms, users: 300 }\n"
                                 "    - { duration: 400ms, users: 300 }\n");
    seen sa = { 0 }, sb = { 0 };
    size_t bytes_a = run_engine(a, 0, &sa);
    size_t bytes_b = run_engine(b, 0, &sb);
    assert_int_equal(atomic_load(&sa.max_users), 300);
    assert_int_equal(atomic_load(&sb.max_users), 300);
    /* the same 300 users' state either way (buffers aside: think-only users have none) */
    assert_int_equal(bytes_a, bytes_b);
    scenario_free(a);
    scenario_free(b);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_not_allocated_up_front),
        cmocka_unit_test(test_ramp_down_and_up_reuses),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
