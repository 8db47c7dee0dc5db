/* Unit tests for common/util.c: util_utf8_clean (valid text kept byte for byte, every
 * ill-formed byte replaced by '?' without changing the length). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* Cleans a copy of in (n bytes, NUL added) and checks the result and the count. */
static void check_clean(const char *in, size_t n, const char *want, size_t want_bad)
{
    char buf[64];
    assert_true(n < sizeof buf);
    memcpy(buf, in, n);
    buf[n] = '\0';
    size_t bad = util_utf8_clean(buf);
    assert_int_equal(bad, want_bad);
    assert_int_equal(strlen(buf), n);           /* never grows, never shrinks */
    assert_memory_equal(buf, want, n + 1);
}
#define CLEAN(in, want, nbad) check_clean(in, sizeof(in) - 1, want, nbad)

static void test_valid_kept(void **state)
{
    (void)state;
    CLEAN("", "", 0);
    CLEAN("GET /orders?page=1", "GET /orders?page=1", 0);
    CLEAN("\x01\x7f tab\t", "\x01\x7f tab\t", 0);                   /* ASCII controls are UTF-8 */
    CLEAN("caf\xc3\xa9", "caf\xc3\xa9", 0);                         /* U+00E9 */
    CLEAN("\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf", 0);               /* U+0080, U+07FF */
    CLEAN("\xe0\xa0\x80\xe2\x82\xac", "\xe0\xa0\x80\xe2\x82\xac", 0); /* U+0800, euro */
    CLEAN("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80", 0); /* U+D7FF, U+E000 */
    CLEAN("\xef\xbf\xbd", "\xef\xbf\xbd", 0);                       /* U+FFFD */
    CLEAN("\xf0\x90\x80\x80\xf0\x9f\x98\x80", "\xf0\x90\x80\x80\xf0\x9f\x98\x80", 0);
    CLEAN("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 0);               /* U+10FFFF */
    assert_int_equal(util_utf8_clean(NULL), 0);
}

static void test_lone_continuation_and_bad_leads(void **state)
{
    (void)state;
    CLEAN("a\x80z", "a?z", 1);
    CLEAN("\xbf\xbf", "??", 2);
    CLEAN("x\xc3\xa9\xa9y", "x\xc3\xa9?y", 1);                      /* one too many */
    CLEAN("\xfe\xff", "??", 2);
    CLEAN("\xf5\x80\x80\x80", "????", 4);                           /* F5: beyond U+10FFFF */
    CLEAN("id=\xff\xfe.", "id=??.", 2);
    char cut[] = "\xff\0\xff";                  /* stops at the NUL */
    assert_int_equal(util_utf8_clean(cut), 1);
    assert_memory_equal(cut, "?\0\xff", 4);
}

static void test_truncated(void **state)
{
    (void)state;
    CLEAN("abc\xc3", "abc?", 1);                                    /* cut at the end */
    CLEAN("abc\xe2\x82", "abc??", 2);
    CLEAN("abc\xf0\x9f\x98", "abc???", 3);
    CLEAN("\xe2\x82z", "??z", 2);                                   /* cut by ASCII */
    /* cut by a new lead: the broken one goes, the following valid sequence stays */
    CLEAN("\xe2\xc3\xa9", "?\xc3\xa9", 1);
    CLEAN("\xf0\x9f\xe2\x82\xac", "??\xe2\x82\xac", 2);
}

static void test_overlong(void **state)
{
    (void)state;
    CLEAN("\xc0\xaf", "??", 2);                                     /* '/' in two bytes */
    CLEAN("\xc1\xbf", "??", 2);
    CLEAN("\xc0\x80", "??", 2);                                     /* NUL in two bytes */
    CLEAN("\xe0\x80\xaf", "???", 3);
    CLEAN("\xe0\x9f\xbf", "???", 3);                                /* U+07FF in three */
    CLEAN("\xf0\x80\x80\xaf", "????", 4);
    CLEAN("\xf0\x8f\xbf\xbf", "????", 4);                           /* U+FFFF in four */
}

static void test_surrogates(void **state)
{
    (void)state;
    CLEAN("\xed\xa0\x80", "???", 3);                                /* U+D800 */
    CLEAN("\xed\xbf\xbf", "???", 3);                                /* U+DFFF */
    CLEAN("\xed\xa0\xbd\xed\xb8\x80", "??????", 6);                 /* CESU-8 pair */
}

static void test_above_max(void **state)
{
    (void)state;
    CLEAN("\xf4\x90\x80\x80", "????", 4);                           /* U+110000 */
    CLEAN("\xf7\xbf\xbf\xbf", "????", 4);
    CLEAN("\xf8\x88\x80\x80\x80", "?????", 5);                      /* old 5-byte form */
}

static void test_result_is_valid_for_every_byte_pair(void **state)
{
    (void)state;
    /* every two-byte string plus a trailing valid char: the result must be clean on a
     * second pass (idempotent) and the length unchanged */
    for (int a = 1; a < 256; a++)
        for (int b = 1; b < 256; b++) {
            char buf[8] = { (char)a, (char)b, '\xc3', '\xa9', 0 };
            size_t bad = util_utf8_clean(buf);
            assert_int_equal(strlen(buf), 4);
            assert_int_equal(util_utf8_clean(buf), 0);
            assert_memory_equal(buf + 2, "\xc3\xa9", 2);
            if (a < 0x80 && b < 0x80) assert_int_equal(bad, 0);
            if (a >= 0x80 && a < 0xc2) assert_int_equal(buf[0], '?');
        }
}

/* util_cpu_list: taskset's forms, order kept, duplicates dropped, each misuse refused. */
static void test_cpu_list(void **state)
{
    (void)state;
    int cpu[8];
    char err[160];
    assert_int_equal(util_cpu_list("1", cpu, 8, err, sizeof err), 1);
    assert_int_equal(cpu[0], 1);
    assert_int_equal(util_cpu_list("3,0-2,1", cpu, 8, err, sizeof err), 4);
    assert_int_equal(cpu[0], 3);
    assert_int_equal(cpu[1], 0);
    assert_int_equal(cpu[3], 2);
    const char *bad[] = { "", "a", "1,", ",1", "1-", "-1", "1 2", "1--2", "2x" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(util_cpu_list(bad[i], cpu, 8, err, sizeof err), -1);
        assert_non_null(strstr(err, "CPU"));
    }
    assert_int_equal(util_cpu_list("5-3", cpu, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "low-high"));
    assert_int_equal(util_cpu_list("0-8", cpu, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 8"));
    assert_int_equal(util_cpu_list("99999", cpu, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "below"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_kept),
        cmocka_unit_test(test_lone_continuation_and_bad_leads),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_above_max),
        cmocka_unit_test(test_result_is_valid_for_every_byte_pair),
        cmocka_unit_test(test_cpu_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
