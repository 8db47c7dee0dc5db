/* Units: durations as written in scenarios and on the command line, and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "common/units.h"

static void test_duration_ok(void **state)
{
    (void)state;
    static const struct { const char *text; uint64_t ms; } cases[] = {
        { "250ms", 250 }, { "10s", 10000 }, { "5m", 300000 }, { "1h", 3600000 },
        { "1h30m", 5400000 }, { "2m30s", 150000 }, { "1h0m5s", 3605000 },
        { "1.5s", 1500 }, { "0.25m", 15000 }, { ".5s", 500 }, { "10", 10000 },
        { "2.5", 2500 }, { "0", 0 }, { "0s", 0 }, { "1500us", 2 }, { "400us", 0 },
        { "1s500ms", 1500 }, { " 3s ", 3000 }, { "1ms", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ms = 12345;
        if (units_duration_ms(cases[i].text, &ms) != 0)
            fail_msg("\"%s\" refused", cases[i].text);
        if (ms != cases[i].ms)
            fail_msg("\"%s\": %llu ms, expected %llu", cases[i].text, (unsigned long long)ms,
                     (unsigned long long)cases[i].ms);
    }
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "s", "ms", "-1s", "+1s", "1x", "1 s", "1h30", "1s2", "1.2.3s", "abc",
        "1e3s", "10sec", "5 m", "1..3s", "99999999999999h", ".s", "1s 2s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 777;
        if (units_duration_ms(bad[i], &ms) != -1)
            fail_msg("\"%s\" accepted as %llu ms", bad[i], (unsigned long long)ms);
        assert_int_equal(ms, 777);                 /* nothing written */
    }
    uint64_t ms;
    assert_int_equal(units_duration_ms(NULL, &ms), -1);
}

/* A well-formed duration above the 10-year limit is told apart from a malformed one,
 * so -t 9999999h names the limit (issue 12); the limit itself is accepted. */
static void test_duration_limit(void **state)
{
    (void)state;
    uint64_t ms = 777;
    assert_true(units_duration_too_long("9999999h"));
    assert_true(units_duration_too_long("99999999999999h"));
    assert_int_equal(units_duration_ms("9999999h", &ms), -1);
    assert_int_equal(ms, 777);
    assert_false(units_duration_too_long("90s"));
    assert_false(units_duration_too_long("ninety"));
    assert_false(units_duration_too_long(NULL));
    assert_int_equal(units_duration_ms("87840h", &ms), 0);
    assert_int_equal(ms, UNITS_MAX_DURATION_MS);
    assert_true(units_duration_too_long("87840h1ms"));
    char buf[256];
    units_duration_problem("-t", "9999999h", buf, sizeof buf);
    assert_string_equal(buf, "-t \"9999999h\" is longer than the limit of 87840 hours (10 years)");
    units_duration_problem("-t", "ninety", buf, sizeof buf);
    assert_string_equal(buf, "-t wants a duration like 90s, 5m or 1h30m, got \"ninety\"");
    units_duration_problem("-t", "9999999h", buf, 8);
    assert_int_equal(strlen(buf), 7);
}

static void test_format(void **state)
{
    (void)state;
    static const struct { uint64_t ms; const char *text; } cases[] = {
        { 0, "0ms" }, { 250, "250ms" }, { 999, "999ms" }, { 1000, "1s" }, { 1500, "1.5s" },
        { 1250, "1.25s" }, { 1001, "1.001s" }, { 60000, "1m" }, { 90000, "1m30s" },
        { 300000, "5m" }, { 3600000, "1h" }, { 5400000, "1h30m" }, { 3605000, "1h5s" },
        { 150500, "2m30.5s" }, { 86400000, "24h" },
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_ptr_equal(units_format_ms(cases[i].ms, buf, sizeof buf), buf);
        assert_string_equal(buf, cases[i].text);
        /* what is printed reads back as the same duration */
        uint64_t back;
        assert_int_equal(units_duration_ms(buf, &back), 0);
        assert_int_equal(back, cases[i].ms);
    }
    /* a small buffer is cut, never overrun */
    char tiny[4];
    memset(tiny, 'x', sizeof tiny);
    units_format_ms(5400000, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 3);
    char one[1];
    units_format_ms(1500, one, sizeof one);
    assert_int_equal(one[0], '\0');
}

static void test_rate(void **state)
{
    (void)state;
    static const struct { const char *text; double per_s; } ok[] = {
        { "50", 50 }, { "50/s", 50 }, { "3000/m", 50 }, { "100/h", 100.0 / 3600 },
        { "2.5/s", 2.5 }, { " 50 / s ", 50 }, { "0", 0 }, { "0/m", 0 }, { ".5", 0.5 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double r = -1;
        assert_int_equal(units_rate(ok[i].text, &r), 0);
        assert_true(r > ok[i].per_s - 1e-9 && r < ok[i].per_s + 1e-9);
    }
    static const char *const bad[] = {
        "", "/s", "-5", "+5", "50/", "50/ms", "50/d", "50s", "fifty", "50/s/s", "1e3", "50 m",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double r = 7;
        assert_int_equal(units_rate(bad[i], &r), -1);
        assert_true(r == 7);    /* nothing written */
    }
    assert_int_equal(units_rate(NULL, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_ok),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_duration_limit),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
