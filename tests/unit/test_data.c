/* Unit tests for common/data: RFC 4180 parsing, its errors with line numbers, row choice
 * per mode, lookups and ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/data.h"

/* Parses text (length from strlen unless len is given) and expects success. */
static void parse_ok(data_feeder *f, const char *text, size_t len)
{
    char err[256] = "";
    int line = -1;
    memset(f, 0, sizeof *f);
    int rv = data_feeder_parse(f, text, len ? len : strlen(text), err, sizeof err, &line);
    if (rv != 0)
        print_error("parse failed: line %d: %s\n", line, err);
    assert_int_equal(rv, 0);
}

static void parse_err(const char *text, int want_line, const char *err_has)
{
    data_feeder f = { 0 };
    char err[256] = "";
    int line = -1;
    int rv = data_feeder_parse(&f, text, strlen(text), err, sizeof err, &line);
    if (rv == 0 || line != want_line || strstr(err, err_has) == NULL)
        print_error("\"%s\": rv %d, line %d: %s\n", text, rv, line, err);
    assert_int_equal(rv, -1);
    assert_int_equal(line, want_line);
    assert_non_null(strstr(err, err_has));
    assert_null(f.cols);
    assert_null(f.cells);
    assert_int_equal(f.nrows, 0);
    data_feeder_fini(&f);
}

static const char *cell(const data_feeder *f, uint32_t row, uint32_t col)
{
    assert_true(row < f->nrows && col < f->ncols);
    return f->cells[(size_t)row * f->ncols + col];
}

static void test_basic(void **state)
{
    (void)state;
    data_feeder f;
    parse_ok(&f, "username,password\nalice,a1\nbob,b2\n", 0);
    assert_int_equal(f.ncols, 2);
    assert_int_equal(f.nrows, 2);
    assert_string_equal(f.cols[0], "username");
    assert_string_equal(f.cols[1], "password");
    assert_string_equal(cell(&f, 0, 0), "alice");
    assert_string_equal(cell(&f, 1, 1), "b2");
    assert_int_equal(data_col(&f, "password"), 1);
    assert_int_equal(data_col(&f, "Password"), -1);
    assert_int_equal(data_col(NULL, "x"), -1);
    data_feeder_fini(&f);
    assert_null(f.cols);
    data_feeder_fini(&f);       /* twice is harmless */
    data_feeder_fini(NULL);
}

static void test_line_ends_bom(void **state)
{
    (void)state;
    data_feeder f;
    /* CRLF, BOM, no trailing newline. */
    parse_ok(&f, "\xEF\xBB\xBFid,name\r\n1,one\r\n2,two", 0);
    assert_string_equal(f.cols[0], "id");
    assert_int_equal(f.nrows, 2);
    assert_string_equal(cell(&f, 0, 1), "one");
    assert_string_equal(cell(&f, 1, 1), "two");
    data_feeder_fini(&f);
    /* Mixed LF/CRLF, a final CR alone, blank lines skipped. */
    parse_ok(&f, "\nid,name\n\n1,one\r\n\r\n2,two\r", 0);
    assert_int_equal(f.nrows, 2);
    assert_string_equal(cell(&f, 1, 1), "two");
    data_feeder_fini(&f);
    /* A CR inside a field that is not a line end is data. */
    parse_ok(&f, "a\nx\ry\n", 0);
    assert_string_equal(cell(&f, 0, 0), "x\ry");
    data_feeder_fini(&f);
}

static void test_quoting(void **state)
{
    (void)state;
    data_feeder f;
    const char *csv =
        "name,note,empty\n"
        "\"Smith, J\",\"say \"\"hi\"\"\",\n"
        "\"multi\nline\r\nfield\",\"\",\"\"\"\"\n"
        "plain,5\" pipe,\n"
        ",,\n";
    parse_ok(&f, csv, 0);
    assert_int_equal(f.ncols, 3);
    assert_int_equal(f.nrows, 4);
    assert_string_equal(cell(&f, 0, 0), "Smith, J");
    assert_string_equal(cell(&f, 0, 1), "say \"hi\"");
    assert_string_equal(cell(&f, 0, 2), "");
    assert_string_equal(cell(&f, 1, 0), "multi\nline\r\nfield");
    assert_string_equal(cell(&f, 1, 1), "");
    assert_string_equal(cell(&f, 1, 2), "\"");
    assert_string_equal(cell(&f, 2, 1), "5\" pipe");  /* a quote inside an unquoted field */
    assert_string_equal(cell(&f, 3, 0), "");
    assert_string_equal(cell(&f, 3, 2), "");
    data_feeder_fini(&f);

    /* Quoted header names, trimmed header names, values kept with their spaces. */
    parse_ok(&f, "\"user name\", pass \n a , b \n", 0);
    assert_string_equal(f.cols[0], "user name");
    assert_string_equal(f.cols[1], "pass");
    assert_string_equal(cell(&f, 0, 0), " a ");
    assert_string_equal(cell(&f, 0, 1), " b ");
    data_feeder_fini(&f);

    /* One column; an empty value must be quoted (blank lines are skipped). */
    parse_ok(&f, "token\nabc\n\"\"\n\ndef\n", 0);
    assert_int_equal(f.nrows, 3);
    assert_string_equal(cell(&f, 1, 0), "");
    assert_string_equal(cell(&f, 2, 0), "def");
    data_feeder_fini(&f);

    /* Quoted field at the very end of the text, no newline. */
    parse_ok(&f, "a,b\n1,\"x\"", 0);
    assert_string_equal(cell(&f, 0, 1), "x");
    data_feeder_fini(&f);
}

static void test_many_rows(void **state)
{
    (void)state;
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "id,user\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%d,user%d\n", i, i);
    data_feeder f;
    parse_ok(&f, text, n);
    assert_int_equal(f.nrows, 5000);
    assert_string_equal(cell(&f, 4999, 1), "user4999");
    assert_string_equal(cell(&f, 1234, 0), "1234");
    data_feeder_fini(&f);
    free(text);
}

static void test_errors(void **state)
{
    (void)state;
    parse_err("", 1, "empty file");
    parse_err("\xEF\xBB\xBF", 1, "empty file");
    parse_err("\n\r\n\n", 1, "empty file");
    parse_err("username,password\n", 1, "no data rows");
    parse_err("username,password", 1, "no data rows");
    parse_err("username,password\n\n\n", 1, "no data rows");
    parse_err("a,b\n1,2\n3\n", 3, "expected 2 fields (as in the header), found 1");
    parse_err("a,b\n1,2\n3,4,5\n", 3, "found 3");
    /* Lines count physically: the quoted newline moves the bad row to line 5. */
    parse_err("a,b\n\"x\ny\",2\n\n1,2,3\n", 5, "found 3");
    parse_err("a\n1,2\n", 2, "expected 1 field (as in the header), found 2");
    parse_err("a,b\n1,\"open\n\nstill open\n", 2, "unterminated quoted field");
    parse_err("a,b\n\"x\"y,2\n", 2, "after a closing quote");
    parse_err("a,b\n\"x\ny\"z,2\n", 3, "after a closing quote");
    parse_err("a,a\n1,2\n", 1, "duplicate column \"a\"");
    parse_err("a,,c\n1,2,3\n", 1, "column 2 of the header has no name");
    parse_err("a, \n1,2\n", 1, "column 2");

    /* NULL err and line are allowed. */
    data_feeder f = { 0 };
    assert_int_equal(data_feeder_parse(&f, "", 0, NULL, 0, NULL), -1);
}

static void test_parse_keeps_caller_fields(void **state)
{
    (void)state;
    data_feeder f = { 0 };
    f.name = strdup("ops");
    f.file = strdup("ops.csv");
    f.mode = DATA_RANDOM;
    char err[128];
    int line;
    assert_int_equal(data_feeder_parse(&f, "x\n", 2, err, sizeof err, &line), -1);
    assert_string_equal(f.name, "ops");                /* untouched on failure */
    assert_int_equal(data_feeder_parse(&f, "x\n1\n", 4, err, sizeof err, &line), 0);
    assert_string_equal(f.name, "ops");
    assert_string_equal(f.file, "ops.csv");
    assert_int_equal(f.mode, DATA_RANDOM);
    data_feeder_fini(&f);                              /* frees name and file too */
    assert_null(f.name);
}

static data_feeder make_rows(uint32_t n, data_mode mode)
{
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "id\n");
    for (uint32_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%u\n", i);
    data_feeder f;
    parse_ok(&f, text, len);
    f.mode = mode;
    return f;
}

static void test_pick_unique(void **state)
{
    (void)state;
    data_feeder f = make_rows(10, DATA_UNIQUE);
    uint64_t rng = 42;
    for (uint64_t k = 1; k <= 10; k++)
        for (uint64_t it = 0; it < 5; it++)
            assert_int_equal(data_pick(&f, k, it, &rng), k - 1);   /* same row all run */
    assert_int_equal(rng, 42);                                     /* no draws */
    /* Beyond the rows (refused before a run): folded, never out of range. */
    assert_int_equal(data_pick(&f, 11, 0, &rng), 0);
    assert_int_equal(data_pick(&f, 0, 0, &rng), 0);
    data_feeder_fini(&f);
}

static void test_pick_sequential(void **state)
{
    (void)state;
    data_feeder f = make_rows(4, DATA_SEQUENTIAL);
    /* User k starts at row k-1 and moves one row per iteration, wrapping. */
    assert_int_equal(data_pick(&f, 1, 0, NULL), 0);
    assert_int_equal(data_pick(&f, 1, 1, NULL), 1);
    assert_int_equal(data_pick(&f, 1, 3, NULL), 3);
    assert_int_equal(data_pick(&f, 1, 4, NULL), 0);
    assert_int_equal(data_pick(&f, 3, 0, NULL), 2);
    assert_int_equal(data_pick(&f, 3, 1, NULL), 3);
    assert_int_equal(data_pick(&f, 3, 2, NULL), 0);
    assert_int_equal(data_pick(&f, 6, 0, NULL), 1);
    assert_int_equal(data_pick(&f, UINT64_MAX, UINT64_MAX, NULL),
                     (uint32_t)(((UINT64_MAX - 1) % 4 + UINT64_MAX % 4) % 4));
    data_feeder_fini(&f);
}

static void test_pick_random(void **state)
{
    (void)state;
    data_feeder f = make_rows(7, DATA_RANDOM);
    uint64_t rng = 0xdeadbeef;
    int hits[7] = { 0 };
    for (int i = 0; i < 7000; i++) {
        uint32_t r = data_pick(&f, 3, (uint64_t)i, &rng);
        assert_true(r < 7);
        hits[r]++;
    }
    for (int i = 0; i < 7; i++)
        assert_in_range(hits[i], 800, 1200);    /* ~1000 each */
    assert_int_not_equal(rng, 0xdeadbeef);
    /* Same seed, same rows. */
    uint64_t a = 5, b = 5;
    for (int i = 0; i < 100; i++)
        assert_int_equal(data_pick(&f, 1, 0, &a), data_pick(&f, 1, 0, &b));
    data_feeder_fini(&f);

    data_feeder one = make_rows(1, DATA_RANDOM);
    for (int i = 0; i < 100; i++)
        assert_int_equal(data_pick(&one, 9, 0, &rng), 0);
    data_feeder_fini(&one);
    data_feeder empty = { 0 };
    assert_int_equal(data_pick(&empty, 1, 1, &rng), 0);
    assert_int_equal(data_pick(NULL, 1, 1, &rng), 0);
}

static void test_set_find(void **state)
{
    (void)state;
    data_set d = { 0 };
    d.n = 2;
    d.f = calloc(2, sizeof *d.f);
    assert_non_null(d.f);
    parse_ok(&d.f[0], "u,p\n1,2\n", 0);
    d.f[0].name = strdup("operators");
    parse_ok(&d.f[1], "sku\nA\nB\n", 0);
    d.f[1].name = strdup("items");
    d.f[1].file = strdup("items.csv");
    assert_int_equal(data_find(&d, "operators"), 0);
    assert_int_equal(data_find(&d, "items"), 1);
    assert_int_equal(data_find(&d, "item"), -1);
    assert_int_equal(data_find(NULL, "items"), -1);
    assert_int_equal(data_col(&d.f[1], "sku"), 0);
    data_set_fini(&d);
    assert_null(d.f);
    assert_int_equal(d.n, 0);
    data_set_fini(&d);
    data_set_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_line_ends_bom),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parse_keeps_caller_fields),
        cmocka_unit_test(test_pick_unique),
        cmocka_unit_test(test_pick_sequential),
        cmocka_unit_test(test_pick_random),
        cmocka_unit_test(test_set_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
