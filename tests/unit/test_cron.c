/* Unit tests for common/cron.c: the crontab(5) forms, errors that name the field, and
 * next times in UTC and in a zone with daylight saving. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include "common/cron.h"

static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
    return (int64_t)timegm(&tm);
}

static cron_expr P(const char *s)
{
    cron_expr c;
    char err[256];
    if (cron_parse(s, &c, err, sizeof err) != 0) fail_msg("%s: %s", s, err);
    return c;
}

static void test_next_utc(void **state)
{
    (void)state;
    cron_expr c = P("* * * * *");
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 3, 10, 0) + 10), at(2026, 12, 3, 10, 1));
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 3, 10, 1)), at(2026, 12, 3, 10, 2));
    c = P("0 22 * * *");
    assert_int_equal(cron_next(&c, "", at(2026, 12, 3, 22, 0)), at(2026, 12, 4, 22, 0));
    c = P("*/15 9-17 * * mon-fri");
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 4, 17, 50)), at(2026, 12, 7, 9, 0));   /* Fri -> Mon */
    c = P("0 0 13 * 5");                                   /* the 13th OR a Friday */
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 5, 0, 0)), at(2026, 12, 11, 0, 0));
    c = P("@monthly");
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 3, 0, 0)), at(2027, 1, 1, 0, 0));
    c = P("0 0 * * 7");                                    /* 7 is Sunday */
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 3, 0, 0)), at(2026, 12, 6, 0, 0));
    c = P("0 0 30 feb *");
    assert_int_equal(cron_next(&c, NULL, at(2026, 12, 3, 0, 0)), -1);
}

static void test_next_zone(void **state)
{
    (void)state;
    if (!cron_tz_valid("Europe/Berlin")) skip();
    cron_expr c = P("0 22 * * *");
    /* 22:00 in Berlin is 21:00 UTC in winter, 20:00 UTC in summer */
    assert_int_equal(cron_next(&c, "Europe/Berlin", at(2026, 12, 3, 12, 0)), at(2026, 12, 3, 21, 0));
    assert_int_equal(cron_next(&c, "Europe/Berlin", at(2026, 7, 1, 12, 0)), at(2026, 7, 1, 20, 0));
    c = P("30 2 * * *");                                   /* 2026-03-29 02:30 does not exist */
    int64_t n = cron_next(&c, "Europe/Berlin", at(2026, 3, 28, 12, 0));
    assert_int_equal(n, at(2026, 3, 29, 1, 30));           /* 03:30 CEST, shifted by the gap */
    assert_false(cron_tz_valid("Mars/Olympus"));
    assert_false(cron_tz_valid("../etc/passwd"));
}

static void test_errors(void **state)
{
    (void)state;
    cron_expr c;
    char err[256];
    const struct { const char *expr, *want; } bad[] = {
        { "* * * *", "has 4 fields" }, { "* * * * * *", "has 6 fields" }, { "60 * * * *", "minute" },
        { "* 24 * * *", "hour" }, { "* * 0 * *", "day-of-month" }, { "* * * 13 *", "month" },
        { "* * * * 8", "day-of-week" }, { "5-1 * * * *", "low-high" }, { "*/0 * * * *", "minute" },
        { "L * * * *", "not supported" }, { "1,,2 * * * *", "minute" }, { "", "has 0 fields" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(cron_parse(bad[i].expr, &c, err, sizeof err), -1);
        if (!strstr(err, bad[i].want)) fail_msg("%s: %s", bad[i].expr, err);
    }
    c = P("0,30 8-18/2 1-15 JAN-jun Sun,sat");
    assert_true(c.minute == ((1ull << 0) | (1ull << 30)));
    assert_true(c.hour == ((1u << 8) | (1u << 10) | (1u << 12) | (1u << 14) | (1u << 16) | (1u << 18)));
    assert_true(c.dow == ((1u << 0) | (1u << 6)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_utc),
        cmocka_unit_test(test_next_zone),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
