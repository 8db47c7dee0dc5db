/* The CLI's status line (cli/status.h): the closed model's line as before, the open
 * model's schedule before it (achieved/planned rate, dropped, lag p99, "-" when nothing
 * started), and a small buffer cut, never overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "cli/status.h"

static void test_closed_line(void **state)
{
    (void)state;
    char buf[256];
    status_format(buf, sizeof buf, 12.0, NULL, 120, 200, 1534.0, 12.34, 3, 300);
    assert_string_equal(buf, "[  12.0s] users 120/200  req/s 1534.0  p95 12.3 ms  errors 3 (1.00%)  "
                             "requests 300");
    status_format(buf, sizeof buf, 0, NULL, 0, 5, 0, 0, 0, 0);   /* no requests: 0 % */
    assert_non_null(strstr(buf, "errors 0 (0.00%)"));
}

static void test_open_line(void **state)
{
    (void)state;
    char buf[256];
    status_open o = { .rate_planned = 50, .rate_achieved = 49.8, .dropped = 7, .lag_p99_ms = 0.42 };
    status_format(buf, sizeof buf, 3.5, &o, 12, 400, 99.6, 8.0, 0, 180);
    assert_string_equal(buf, "[   3.5s] rate 49.8/50.0/s  dropped 7  lag p99 0.4 ms  users 12/400  "
                             "req/s 99.6  p95 8.0 ms  errors 0 (0.00%)  requests 180");
    o.lag_p99_ms = NAN;
    status_format(buf, sizeof buf, 3.5, &o, 0, 400, 0, 0, 0, 0);
    assert_non_null(strstr(buf, "lag p99 -  users 0/400"));
    /* cut to the buffer, terminated */
    char small[16];
    memset(small, 'x', sizeof small);
    status_format(small, sizeof small, 3.5, &o, 12, 400, 99.6, 8.0, 0, 180);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_ptr_equal(status_format(NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0), NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_line),
        cmocka_unit_test(test_open_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
