/* The Prometheus text exposition parser and selectors (common/promtext.h): what
 * node_exporter and an application serve, the format's corners (escapes, NaN/Inf,
 * timestamps, TYPE after samples, trailing commas), refusals with their line, the bounds,
 * and the sums selectors take. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/promtext.h"

static const char node_text[] =
    "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
    "# TYPE node_cpu_seconds_total counter\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1000.5\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 20.25\n"
    "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 990\n"
    "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"} 30\n"
    "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n"
    "# TYPE node_memory_MemTotal_bytes gauge\n"
    "node_memory_MemTotal_bytes 8.253e+09\n"
    "# TYPE http_request_duration_seconds histogram\n"
    "http_request_duration_seconds_bucket{le=\"0.1\"} 5\n"
    "http_request_duration_seconds_bucket{le=\"+Inf\"} 7\n"
    "http_request_duration_seconds_sum 1.5\n"
    "http_request_duration_seconds_count 7\n"
    "untyped_total 3\n"
    "plain_gauge -2.5 1700000000000\r\n"
    "\n"
    "   \n";

static void test_parse_node(void **state)
{
    (void)state;
    prom_doc d;
    char err[200];
    assert_int_equal(prom_parse(node_text, strlen(node_text), &d, err, sizeof err), 0);
    assert_int_equal(d.n, 11);
    assert_string_equal(d.s[0].name, "node_cpu_seconds_total");
    assert_int_equal(d.s[0].nlabels, 2);
    assert_string_equal(prom_label_get(&d.s[0], "mode"), "idle");
    assert_null(prom_label_get(&d.s[0], "nope"));
    assert_true(d.s[0].counter);
    assert_int_equal(d.s[0].type, PROM_COUNTER);
    assert_true(fabs(d.s[4].value - 8.253e9) < 1);
    assert_false(d.s[4].counter);
    assert_int_equal(d.s[5].type, PROM_HISTOGRAM);         /* _bucket of a histogram */
    assert_true(d.s[5].counter);
    assert_true(isinf(d.s[6].value) == 0 && d.s[6].value == 7);
    assert_true(d.s[8].counter);                            /* _count */
    assert_int_equal(d.s[9].type, PROM_UNTYPED);
    assert_true(d.s[9].counter);                            /* untyped *_total */
    assert_false(d.s[9].has_ts);
    assert_true(d.s[10].has_ts && d.s[10].value == -2.5);
    prom_doc_free(&d);
    /* the last sample has a timestamp and a \r\n line end */
    const char *t = "plain_gauge -2.5 1700000000000\r\n";
    assert_int_equal(prom_parse(t, strlen(t), &d, err, sizeof err), 0);
    assert_int_equal(d.n, 1);
    assert_true(d.s[0].has_ts);
    assert_true(d.s[0].ts_ms == 1700000000000LL);
    assert_true(d.s[0].value == -2.5);
    prom_doc_free(&d);
}

static void test_parse_corners(void **state)
{
    (void)state;
    prom_doc d;
    char err[200];
    const char *t =
        "a{l=\"x\\\\y\\\"z\\nw\",} NaN\n"          /* escapes, trailing comma */
        "b +Inf\n"
        "c -Inf\n"
        "d{ l = \"v\" , m=\"\" } 1e3\n"             /* blanks inside the braces */
        "e:sub 0\t5\n"                              /* colon in a name; tab; timestamp */
        "f_total 4\n"
        "# TYPE f_total gauge\n"                    /* TYPE after its samples */
        "# random comment\n"
        "#TYPE g counter\n"
        "g 1\n";
    assert_int_equal(prom_parse(t, strlen(t), &d, err, sizeof err), 0);
    assert_int_equal(d.n, 7);
    assert_string_equal(d.s[0].labels[0].value, "x\\y\"z\nw");
    assert_true(isnan(d.s[0].value));
    assert_true(isinf(d.s[1].value) && d.s[1].value > 0);
    assert_true(isinf(d.s[2].value) && d.s[2].value < 0);
    assert_true(d.s[3].value == 1000);
    assert_string_equal(prom_label_get(&d.s[3], "m"), "");
    assert_string_equal(d.s[4].name, "e:sub");
    assert_true(d.s[4].has_ts && d.s[4].ts_ms == 5);
    assert_false(d.s[5].counter);                   /* its TYPE says gauge */
    assert_true(d.s[6].counter);                    /* "#TYPE" without a blank is read too */
    prom_doc_free(&d);
    /* empty body: no series, no error */
    assert_int_equal(prom_parse("", 0, &d, err, sizeof err), 0);
    assert_int_equal(d.n, 0);
    prom_doc_free(&d);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } bad[] = {
        { "a\n", "line 1: expected a space" },
        { "ok 1\n1abc 2\n", "line 2: expected a name" },
        { "a{l=\"v\" 1\n", "expected ',' or '}'" },
        { "a{l=v} 1\n", "expected '\"'" },
        { "a{l=\"v} 1\n", "not closed" },
        { "a{l=\"\\t\"} 1\n", "unknown escape" },
        { "a{l=\"1\",l=\"2\"} 1\n", "given twice" },
        { "a{l} 1\n", "expected '='" },
        { "a one\n", "expected a number" },
        { "a 0x10\n", "expected a number" },
        { "a 1 2 3\n", "timestamp" },
        { "a 1 1.5\n", "timestamp" },
        { "# TYPE a countr\n", "TYPE: expected counter" },
        { "# TYPE a counter\n# TYPE a gauge\n", "line 2: second TYPE" },
        { "a 1\nb\0 2\n", "NUL" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        prom_doc d = { .n = 99 };
        char err[200] = "";
        size_t len = strlen(bad[i].text);
        if (i + 1 == sizeof bad / sizeof bad[0])
            len = 10;                               /* the NUL inside */
        if (prom_parse(bad[i].text, len, &d, err, sizeof err) != -1)
            fail_msg("accepted: %s", bad[i].text);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: error \"%s\", expected \"%s\"", bad[i].text, err, bad[i].want);
        assert_int_equal(d.n, 0);
        assert_null(d.s);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    prom_doc d;
    char err[200];
    /* a name one byte over PROM_MAX_NAME */
    char *t = malloc(PROM_MAX_NAME + 16);
    memset(t, 'a', PROM_MAX_NAME + 1);
    strcpy(t + PROM_MAX_NAME + 1, " 1\n");
    assert_int_equal(prom_parse(t, strlen(t), &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than"));
    memset(t, 'a', PROM_MAX_NAME);
    strcpy(t + PROM_MAX_NAME, " 1\n");
    assert_int_equal(prom_parse(t, strlen(t), &d, err, sizeof err), 0);
    prom_doc_free(&d);
    free(t);
    /* more than PROM_MAX_LABELS labels */
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "a{");
    for (int i = 0; i <= PROM_MAX_LABELS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "l%d=\"v\",", i);
    snprintf(buf + n, sizeof buf - n, "} 1\n");
    assert_int_equal(prom_parse(buf, strlen(buf), &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 32 labels"));
    /* a label value over PROM_MAX_LABEL_VALUE */
    char *lv = malloc(PROM_MAX_LABEL_VALUE + 32);
    n = (size_t)sprintf(lv, "a{l=\"");
    memset(lv + n, 'x', PROM_MAX_LABEL_VALUE + 1);
    strcpy(lv + n + PROM_MAX_LABEL_VALUE + 1, "\"} 1\n");
    assert_int_equal(prom_parse(lv, strlen(lv), &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 1024"));
    free(lv);
    /* the body cap, and the series cap */
    assert_int_equal(prom_parse("a 1\n", (size_t)PROM_MAX_BODY + 1, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than"));
    size_t cap = (size_t)(PROM_MAX_SERIES + 1) * 4 + 1;
    char *many = malloc(cap);
    for (int i = 0; i <= PROM_MAX_SERIES; i++)
        memcpy(many + (size_t)i * 4, "a 1\n", 4);
    assert_int_equal(prom_parse(many, (size_t)(PROM_MAX_SERIES + 1) * 4, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 50000 samples"));
    assert_int_equal(prom_parse(many, (size_t)PROM_MAX_SERIES * 4, &d, err, sizeof err), 0);
    assert_int_equal(d.n, PROM_MAX_SERIES);
    prom_doc_free(&d);
    free(many);
}

/* Many families: each sample finds its own family's TYPE (the table is searched by
 * halves), by its name or without a histogram's suffix; names that are prefixes of
 * others do not shadow them. */
static void test_many_types(void **state)
{
    (void)state;
    size_t cap = 1 << 20, n = 0;
    char *t = malloc(cap);
    static const char *const kinds[] = { "counter", "gauge", "histogram" };
    for (int i = 999; i >= 0; i--)
        n += (size_t)snprintf(t + n, cap - n, "# TYPE m%d %s\n", i, kinds[i % 3]);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(t + n, cap - n, "m%d 1\nm%d_count 2\n", i, i);
    prom_doc d;
    char err[200];
    assert_int_equal(prom_parse(t, n, &d, err, sizeof err), 0);
    assert_int_equal(d.n, 2000);
    for (int i = 0; i < 1000; i++) {
        const prom_series *a = &d.s[2 * i], *b = &d.s[2 * i + 1];
        assert_int_equal(a->type, (prom_type)(i % 3 == 0 ? PROM_COUNTER : i % 3 == 1 ? PROM_GAUGE
                                              : PROM_HISTOGRAM));
        assert_int_equal(a->counter, i % 3 == 0);
        /* m7_count: no TYPE of its own (m7 is typed): the family m7's via the suffix */
        assert_int_equal(b->type, a->type);
        assert_int_equal(b->counter, i % 3 == 2 || i % 3 == 0);
    }
    prom_doc_free(&d);
    free(t);
}

static void test_selectors(void **state)
{
    (void)state;
    prom_doc d;
    char err[200];
    assert_int_equal(prom_parse(node_text, strlen(node_text), &d, err, sizeof err), 0);
    prom_sel s;
    int n;
    bool ctr;
    assert_int_equal(prom_sel_parse("node_cpu_seconds_total", &s, err, sizeof err), 0);
    assert_true(fabs(prom_sel_sum(&s, &d, &n, &ctr) - 2040.75) < 1e-9);
    assert_int_equal(n, 4);
    assert_true(ctr);
    prom_sel_free(&s);
    assert_int_equal(prom_sel_parse(" node_cpu_seconds_total{mode=\"idle\", cpu!=\"1\"} ", &s,
                                    err, sizeof err), 0);
    assert_true(prom_sel_sum(&s, &d, &n, NULL) == 1000.5);
    assert_int_equal(n, 1);
    prom_sel_free(&s);
    /* a label the series lacks is "" */
    assert_int_equal(prom_sel_parse("node_memory_MemTotal_bytes{device=\"\"}", &s, err, sizeof err), 0);
    prom_sel_sum(&s, &d, &n, &ctr);
    assert_int_equal(n, 1);
    assert_false(ctr);
    prom_sel_free(&s);
    assert_int_equal(prom_sel_parse("absent_metric", &s, err, sizeof err), 0);
    assert_true(prom_sel_sum(&s, &d, &n, NULL) == 0);
    assert_int_equal(n, 0);
    prom_sel_free(&s);
    prom_doc_free(&d);
    static const char *const bad[] = { "", "1x", "a{", "a{l=~\"x\"}", "a{l=\"x\"} b",
                                       "a{l}", "a{l=\"x\" m=\"y\"}", "a b" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (prom_sel_parse(bad[i], &s, err, sizeof err) != -1)
            fail_msg("selector accepted: %s", bad[i]);
        assert_non_null(strstr(err, "at offset"));
        assert_null(s.name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_node),
        cmocka_unit_test(test_parse_corners),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_many_types),
        cmocka_unit_test(test_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
