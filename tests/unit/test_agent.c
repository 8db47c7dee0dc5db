/* Unit tests for the agent's slot assignment (worker/agent.h agent_book): adopted slots
 * spread evenly over a worker's engine threads (issue 10: one ADOPT of 4 slots over 2
 * engines once left them with 5 and 1, because the agent dealt by engine_slots(), which
 * lags the adopts still in an engine's mailbox). The engine test runs real engines whose
 * schedule starts an hour from now: they apply their mailboxes and start no user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/scenario.h"
#include "common/time.h"
#include "worker/agent.h"
#include "worker/engine.h"

static int no_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    (void)ud; (void)path; (void)data; (void)len;
    snprintf(err, errcap, "no files here");
    return -1;
}

static scenario *idle_scenario(void)
{
    static const char text[] =
        "name: agent-slots\n"
        "target: http://127.0.0.1:1\n"
        "load:\n"
        "  stages:\n"
        "    - { duration: 2h, users: 8 }\n"
        "  graceful_stop: 1s\n"
        "users:\n"
        "  - name: thinker\n"
        "    flow:\n"
        "      - think: 1s\n";
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "agent.yaml", NULL, 0, no_read, NULL, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

static void drop_emit(void *ud, char *buf, size_t len)
{
    (void)ud; (void)len;
    free(buf);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The case on real engines: one ADOPT of 4 slots over 2 engines that own none
 * yet; each engine ends with 2 (dealt by engine_slots, all 4 went to the first). */
static void adopt_four_over_two_engines(void **state)
{
    (void)state;
    scenario *sc = idle_scenario();
    engine *eng[2];
    for (int i = 0; i < 2; i++) {
        engine_cfg c = { .sc = sc, .target = sc->target, .run_id = 1, .worker_id = "unit",
                         .slots = NULL, .nslots = 0, .threads_total = 8,
                         .start_mono_us = time_mono_us() + 3600ull * 1000000ull,
                         .interval_ms = 1000, .name_cap = 100, .emit = drop_emit };
        char err[256];
        eng[i] = engine_start(&c, err, sizeof err);
        assert_non_null(eng[i]);
    }
    agent_book b;
    assert_int_equal(agent_book_init(&b, 2), 0);
    static const uint32_t adopt[4] = { 4, 5, 6, 7 };
    for (int i = 0; i < 4; i++) {
        int j = agent_book_adopt(&b, adopt[i]);
        assert_true(j == 0 || j == 1);
        assert_int_equal(engine_adopt(eng[j], adopt[i]), 0);
    }
    /* The engines apply their mailboxes at their next tick (50 ms): wait for all 4. */
    for (int waited = 0; engine_slots(eng[0]) + engine_slots(eng[1]) < 4 && waited < 5000; waited += 10)
        sleep_ms(10);
    assert_int_equal(engine_slots(eng[0]), 2);
    assert_int_equal(engine_slots(eng[1]), 2);
    assert_int_equal(agent_book_count(&b, 0), 2);
    assert_int_equal(agent_book_count(&b, 1), 2);
    /* Releasing goes to the owner only; engine_slots no longer counts released slots. */
    int j = agent_book_release(&b, 4);
    assert_true(j == 0 || j == 1);
    assert_int_equal(engine_release(eng[j], 4), 0);
    for (int waited = 0; engine_slots(eng[j]) != 1 && waited < 5000; waited += 10)
        sleep_ms(10);
    assert_int_equal(engine_slots(eng[j]), 1);
    assert_int_equal(engine_slots(eng[1 - j]), 2);
    for (int i = 0; i < 2; i++) engine_stop(eng[i]);
    for (int i = 0; i < 2; i++) {
        for (int waited = 0; !engine_finished(eng[i]) && waited < 5000; waited += 10) sleep_ms(10);
        assert_true(engine_finished(eng[i]));
        engine_join_free(eng[i]);
    }
    agent_book_fini(&b);
    scenario_free(sc);
}

/* On top of a plan's deal (3 slots over 2 engines: 2 and 1), one ADOPT of 3 evens out
 * first: the engine with fewer slots gets the next, ties go to the lowest index. */
static void adopt_evens_out_the_plan(void **state)
{
    (void)state;
    agent_book b;
    assert_int_equal(agent_book_init(&b, 2), 0);
    static const uint32_t plan[3] = { 0, 3, 6 };
    for (uint32_t i = 0; i < 3; i++) assert_int_equal(agent_book_give(&b, i % 2, plan[i]), 0);
    assert_int_equal(agent_book_count(&b, 0), 2);
    assert_int_equal(agent_book_count(&b, 1), 1);
    assert_int_equal(agent_book_adopt(&b, 1), 1);
    assert_int_equal(agent_book_adopt(&b, 2), 0);
    assert_int_equal(agent_book_adopt(&b, 4), 1);
    assert_int_equal(agent_book_count(&b, 0), 3);
    assert_int_equal(agent_book_count(&b, 1), 3);
    agent_book_fini(&b);
}

/* A slot adopted twice stays with its engine (never two threads for one slot); a
 * release forgets it and the slot's engine has one fewer; an unknown slot is -1. */
static void adopt_twice_and_release(void **state)
{
    (void)state;
    agent_book b;
    assert_int_equal(agent_book_init(&b, 3), 0);
    int first = agent_book_adopt(&b, 9);
    assert_int_equal(first, 0);
    assert_int_equal(agent_book_adopt(&b, 9), first);
    assert_int_equal(agent_book_count(&b, 0), 1);
    assert_int_equal(agent_book_adopt(&b, 10), 1);
    assert_int_equal(agent_book_adopt(&b, 11), 2);
    assert_int_equal(agent_book_release(&b, 10), 1);
    assert_int_equal(agent_book_count(&b, 1), 0);
    assert_int_equal(agent_book_release(&b, 10), -1);
    assert_int_equal(agent_book_release(&b, 99), -1);
    assert_int_equal(agent_book_adopt(&b, 12), 1);   /* the emptied engine first */
    agent_book_fini(&b);
    agent_book_fini(&b);                            /* harmless twice */
}

/* Many slots over 4 engines, a third released, more adopted: the adopts fill the
 * gaps the releases left, and the counts end within one of each other. */
static void adopt_many_stays_even(void **state)
{
    (void)state;
    agent_book b;
    assert_int_equal(agent_book_init(&b, 4), 0);
    for (uint32_t s = 0; s < 101; s++) assert_true(agent_book_adopt(&b, s) >= 0);
    for (uint32_t s = 0; s < 101; s += 3) assert_true(agent_book_release(&b, s) >= 0);
    for (uint32_t s = 200; s < 230; s++) assert_true(agent_book_adopt(&b, s) >= 0);
    uint32_t lo = UINT32_MAX, hi = 0, sum = 0;
    for (uint32_t e = 0; e < 4; e++) {
        uint32_t c = agent_book_count(&b, e);
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
        sum += c;
    }
    assert_int_equal(sum, 101 - 34 + 30);
    assert_true(hi - lo <= 1);
    agent_book_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adopt_four_over_two_engines),
        cmocka_unit_test(adopt_evens_out_the_plan),
        cmocka_unit_test(adopt_twice_and_release),
        cmocka_unit_test(adopt_many_stays_even),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
