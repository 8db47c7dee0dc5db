/* Unit tests for worker/check.c and the strict reader under it (common/jscan_doc.c):
 * a table of documents x paths where every answer (found or not, and the captured text)
 * is compared with what jansson gives (json_loadb(body, len, 0), then common/capture.h's
 * jpath_get and jpath_text, the path the checks took before): malformed tails, duplicate
 * names (the last wins, also inside a captured object), reals, integers, unicode escapes
 * and invalid UTF-8, \u0000, root scalars, the depth limit, long numbers. Each document
 * is copied to a buffer of exactly its length, so ASan sees any read past it. Then the
 * product path (check_captures, check_http's expect json) over the same table, and a
 * count of allocations showing a steady-state check allocates nothing (the jansson
 * tree it replaced allocated per response). jansson is the oracle here, never in the
 * product. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/capture.h"
#include "common/jscan_doc.h"
#include "common/jscan_text.h"
#include "worker/check.h"

/* ---- counting allocations (not under ASan, which owns malloc) --------------------- */

#include "tests/unit/alloc_count.h"

/* ---- the table ----------------------------------------------------------------------- */

typedef struct doc { const char *s; size_t n; } doc;
#define D(lit) { lit, sizeof(lit) - 1 }

static const doc docs[] = {
    D("{\"a\":1}"), D("{\"a\":\"x\",\"b\":{\"c\":[1,2]}}"), D("[1,[2,3],{\"x\":4}]"),
    D("  {\"a\" : { \"b\" : 2 } , \"k\":[ ] }  \n"), D("{}"), D("[]"), D("[ ]"),
    /* (a) malformed somewhere after the value */
    D("{\"a\":1,\"b\":}"), D("{\"a\":1} x"), D("{\"a\":1}{\"b\":2}"), D("{\"a\":1,"),
    D("[1,2,]"), D("{\"a\":1,\"b\":tru}"), D("{\"a\":\"x\",\"b\":\"\\q\"}"), D("[1 2]"),
    D("{\"a\":1,\"b\":[1,{\"c\":}]}"), D("{\"a\":1"), D("{\"a\":1}]"), D("{\"a\":01}"),
    D("[1.]"), D("[.5]"), D("[-]"), D("[+1]"), D("[1e]"), D("[0x10]"), D("[NaN]"),
    D("{\"a\":1,}"), D("{,\"a\":1}"), D("{\"a\" 1}"), D("{'a':1}"), D("[\"a\nb\"]"),
    D("{\"a\":[1,2],\"o\":{\"k\":\"v\"},\"e\":\"\\ud800\"}"),
    /* (b) duplicate names */
    D("{\"a\":1,\"a\":2}"), D("{\"a\":{\"b\":1},\"a\":{\"c\":2}}"),
    D("{\"a\":{\"b\":1},\"a\":5}"), D("{\"o\":{\"k\":1,\"j\":2,\"k\":3}}"),
    D("{\"o\":{\"k\":1,\"\\u006b\":2}}"), D("{\"o\":{\"a\":[1,{\"x\":1,\"x\":2}],\"a\":0,\"b\":1}}"),
    D("{\"o\":{\"k\":{\"z\":1},\"m\":2,\"k\":{\"z\":2,\"z\":[3]}},\"o\":{\"k\":7}}"),
    D("[{\"a\":1,\"a\":{\"b\":[1,2]}},{\"a\":2}]"), D("{\"o\":{\"\":1,\"\":2}}"),
    /* (c) numbers */
    D("{\"a\":19.99}"), D("{\"a\":100.0}"), D("{\"a\":1e2}"), D("{\"a\":1E+2}"),
    D("{\"a\":1.5e300}"), D("{\"a\":1e-400}"), D("{\"a\":-0.0}"), D("{\"a\":-0}"),
    D("{\"a\":0.1}"), D("{\"a\":123456789.123456789}"), D("{\"a\":5e-324}"),
    D("{\"a\":1.7976931348623157e308}"), D("{\"a\":1e309}"), D("{\"a\":-1e309}"),
    D("{\"a\":1e21}"), D("{\"a\":1e-7}"), D("{\"a\":0.000001}"), D("{\"a\":1e0000000000000000000001}"),
    D("{\"a\":9223372036854775807}"), D("{\"a\":9223372036854775808}"),
    D("{\"a\":-9223372036854775808}"), D("{\"a\":-9223372036854775809}"),
    D("{\"o\":{\"p\":19.99,\"q\":[1.5,-0.0,1e2,3,-0]}}"), D("[0.30000000000000004, 2.5e-5]"),
    D("{\"a\":1,\"z\":1e400}"), D("{\"a\":1,\"z\":99999999999999999999}"),
    /* (d) unicode */
    D("{\"a\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"), D("{\"a\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"),
    D("{\"a\":\"\xff\"}"), D("{\"a\":\"\xc3\x28\"}"), D("{\"a\":\"\xc0\xaf\"}"),
    D("{\"a\":\"\xed\xa0\x80\"}"), D("{\"a\":\"\xf4\x90\x80\x80\"}"), D("{\"a\":\"\xe2\x82\"}"),
    D("{\"a\":1,\"z\":\"\xff\"}"), D("{\"a\":\"x\\u0000y\"}"), D("{\"a\":1,\"b\":\"\\u0000\"}"),
    D("{\"a\\u0000b\":1,\"a\":2}"), D("{\"a\":\"\\ud800\"}"), D("{\"a\":\"\\udc00\"}"),
    D("{\"a\":\"\\ud800\\u0041\"}"), D("{\"a\":\"\\u00G0\"}"), D("{\"o\":{\"k\":\"\\u001f\\u007f\\u0001 \\\"q\\\" a/b\"}}"),
    D("{\"o\":[\"\\u00e9\",\"\xe2\x82\xac\",\"\\n\"]}"), D("{\"\\u0061\":1}"), D("{\"a b\":{\"c\":1}}"),
    D("\xef\xbb\xbf{\"a\":1}"),
    /* roots and emptiness */
    D("5"), D("\"x\""), D("true"), D("null"), D(""), D("   "), D("{\"a\":1}\0"),
    D("{\"a\":\"x\0y\"}"), D("[1]\0 "),
    /* a NUL right after a number or a literal vanishes in jansson's lexer (fuzzing) */
    D("[2\0]"), D("[2\0\0]"), D("[true\0]"), D("[\"a\"\0]"), D("{\"a\":1\0}"),
    D("[1\0,2]"), D("[2 \0]"), D("[1.5\0]"), D("{\"a\":1\0,\"b\":false\0}"), D("[\0]"),
    D("{\"o\":{\"k\":1\0,\"k\":null\0},\"a\":[1e5\0]}"), D("[0\0\n]"),
};

static const char *const paths[] = {
    "$", "$.a", "$.a.b", "$.a.c", "$.o", "$.o.k", "$.o.a", "$.k", "$.e", "$.z", "$.x",
    "$[0]", "$[1]", "$[2]", "$[0][0]", "$[1][1]", "$[0].a", "$.a[0]", "$.a[1]",
    "$.b.c[1]", "$.o.a[1].x", "$['a b'].c", "$['']", "$.o['']", "$.a\\u0000b",
};

/* jansson's answer: 0 and the text, or -1. */
static int oracle(const char *path, const char *text, size_t len, tmpl_val *out)
{
    char err[128];
    jpath *p = jpath_compile(path, err, sizeof err, NULL);
    assert_non_null(p);
    json_t *d = json_loadb(text, len, 0, NULL);
    json_t *v = d != NULL ? jpath_get(p, d) : NULL;
    int rc = v != NULL ? jpath_text(v, out) : -1;
    json_decref(d);
    jpath_free(p);
    return rc;
}

static void print_doc(const char *path, const char *s, size_t n)
{
    print_message("path %s, document (%zu bytes): ", path, n);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            print_message("%c", c);
        else
            print_message("\\x%02x", c);
    }
    print_message("\n");
}

/* Compares the strict reader with jansson for one path over one document. */
static void compare_one(const char *path, const char *s, size_t n)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    tmpl_val want = { 0 };
    int orc = oracle(path, copy, n, &want);
    jpath *p = jpath_compile(path, NULL, 0, NULL);
    assert_non_null(p);
    jscan_val v;
    int found = jscan_doc_find(jpath_scan(p), copy, n, &v);
    if ((orc == 0) != (found == 1)) {
        print_doc(path, s, n);
        print_message("jansson %s, strict reader %s\n", orc == 0 ? "finds it" : "does not",
                      found == 1 ? "finds it" : "does not");
        fail();
    }
    if (found == 1) {
        size_t tl = 0;
        assert_int_equal(jscan_text(&v, NULL, 0, &tl), 0);
        char *got = malloc(tl + 1);
        assert_non_null(got);
        size_t tl2 = 0;
        assert_int_equal(jscan_text(&v, got, tl + 1, &tl2), 0);
        assert_int_equal(tl2, tl);
        got[tl] = '\0';
        if (tl != want.len || memcmp(got, want.p, tl) != 0) {
            print_doc(path, s, n);
            print_message("jansson text [%s], strict reader text [%s]\n", want.p, got);
            fail();
        }
        /* a short buffer holds the start and tells the whole length */
        if (tl > 1) {
            char half[4096];
            size_t cap = tl / 2 < sizeof half ? tl / 2 : sizeof half, tl3 = 0;
            assert_int_equal(jscan_text(&v, half, cap, &tl3), 0);
            assert_int_equal(tl3, tl);
            assert_memory_equal(half, want.p, cap);
        }
        assert_true(jscan_text_is(&v, want.p, want.len));
        if (want.len > 0)
            assert_false(jscan_text_is(&v, want.p, want.len - 1));
        assert_false(jscan_text_is(&v, "\x01never", 7));
        free(got);
    }
    jpath_free(p);
    tmpl_val_fini(&want);
    free(copy);
}

static void test_table_vs_jansson(void **state)
{
    (void)state;
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++)
        for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++)
            compare_one(paths[k], docs[d].s, docs[d].n);
}

/* (e) depth: jansson counts every value (the root is 1) and stops past 2048. */
static char *nest(size_t k, const char *inner, size_t *len)
{
    size_t il = strlen(inner), n = 2 * k + il;
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, '[', k);
    memcpy(s + k, inner, il);
    memset(s + k + il, ']', k);
    s[n] = '\0';
    *len = n;
    return s;
}

static void test_depth_vs_jansson(void **state)
{
    (void)state;
    static const struct { size_t k; const char *inner; } cases[] = {
        { 64, "1" }, { 65, "1" }, { 2046, "1" }, { 2047, "1" }, { 2047, "" }, { 2048, "" },
        { 2048, "1" }, { 2049, "" }, { 3000, "" }, { 2047, "{\"a\":1}" }, { 2046, "{\"a\":1}" },
        { 2047, "{}" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n;
        char *s = nest(cases[c].k, cases[c].inner, &n);
        compare_one("$", s, n);
        compare_one("$[0]", s, n);
        compare_one("$[0][0][0]", s, n);
        free(s);
    }
    /* a deep value somewhere else in the document fails the whole document */
    size_t n;
    char *deep = nest(2048, "1", &n);
    size_t m = n + 16;
    char *s = malloc(m + 1);
    assert_non_null(s);
    int w = snprintf(s, m + 1, "{\"a\":1,\"z\":%s}", deep);
    assert_true(w > 0);
    compare_one("$.a", s, (size_t)w);
    free(s);
    free(deep);
}

/* Numbers too long for the copy the reader converts in place of them. */
static void test_long_numbers_vs_jansson(void **state)
{
    (void)state;
    static const struct { const char *pre; char fill; size_t k; const char *post; } cases[] = {
        { "[", '1', 1500, ".5]" }, { "[0.", '0', 1200, "1e1205]" }, { "[", '9', 400, "]" },
        { "[1", '0', 400, ".0]" }, { "[1", '0', 307, ".0]" }, { "[1", '1', 1300, "e-1000]" },
        { "[-0.", '0', 1500, "e99999]" }, { "[0.", '0', 1150, "1e-10]" },
        { "[1.", '0', 1200, "1]" }, { "[4.", '9', 1200, "e-324]" },
        { "[17976931348623158", '0', 292, ".0]" }, { "[17976931348623157", '0', 292, ".0]" },
        { "[2.", '4', 1100, "7032822920623272e-308]" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t pl = strlen(cases[c].pre), ql = strlen(cases[c].post);
        size_t n = pl + cases[c].k + ql;
        char *s = malloc(n + 1);
        assert_non_null(s);
        memcpy(s, cases[c].pre, pl);
        memset(s + pl, cases[c].fill, cases[c].k);
        memcpy(s + pl + cases[c].k, cases[c].post, ql);
        s[n] = '\0';
        compare_one("$[0]", s, n);
        compare_one("$", s, n);
        free(s);
    }
}

/* ---- the product path ---------------------------------------------------------------- */

static void test_check_captures_vs_jansson(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        sc_capture c = { .var = "v", .slot = 0, .kind = CAP_JSON, .expr = (char *)paths[k] };
        c.path = jpath_compile(paths[k], NULL, 0, NULL);
        assert_non_null(c.path);
        tmpl_val vars[1] = { { 0 } };
        for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
            char *copy = malloc(docs[d].n + 1);
            assert_non_null(copy);
            memcpy(copy, docs[d].s, docs[d].n);
            copy[docs[d].n] = '\0';
            check_input in = { .body = copy, .len = docs[d].n };
            tmpl_val want = { 0 };
            int orc = oracle(paths[k], copy, docs[d].n, &want);
            const char *bad = check_captures(&c, 1, &in, vars);
            if ((orc == 0) != (bad == NULL)) {
                print_doc(paths[k], docs[d].s, docs[d].n);
                fail();
            }
            assert_int_equal(vars[0].set, orc == 0);
            if (orc == 0) {
                assert_int_equal(vars[0].len, want.len);
                assert_memory_equal(vars[0].p, want.p, want.len);
                assert_int_equal(vars[0].p[vars[0].len], '\0');
            }
            /* expect json with and without equals, as check_http judges it */
            sc_http h = { .expect = { .json_path = c.path, .json_path_text = (char *)paths[k] } };
            stats_err_kind kind = 0;
            char detail[96];
            in.status = 200;
            assert_int_equal(check_http(&h, &in, vars, &kind, detail, sizeof detail), orc == 0);
            if (orc != 0) {
                assert_int_equal(kind, ERR_EXPECT);
                assert_string_equal(detail, paths[k]);
            } else {
                h.expect.json_equals = want.p;
                assert_true(check_http(&h, &in, vars, &kind, detail, sizeof detail));
                char other[64];
                snprintf(other, sizeof other, "%.20s!", want.p);
                h.expect.json_equals = other;
                assert_false(check_http(&h, &in, vars, &kind, detail, sizeof detail));
            }
            tmpl_val_fini(&want);
            free(copy);
        }
        tmpl_val_fini(&vars[0]);
        jpath_free(c.path);
    }
}

/* Steady state: once the variables' buffers reached their high-water mark, expect json
 * and captures over a response allocate nothing (before: one jansson tree per response). */
static void test_steady_state_allocates_nothing(void **state)
{
    (void)state;
    if (!COUNTING)
        skip();
    static const char body[] =
        "{\"token\":\"abc.def\",\"data\":{\"items\":[{\"id\":101,\"price\":19.99},"
        "{\"id\":102,\"tags\":[\"a\",\"b\"]}],\"total\":2}}";
    const char *cp[] = { "$.token", "$.data.items[0].price", "$.data.items[1]", "$.data.total" };
    sc_capture c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (sc_capture){ .var = "v", .slot = i, .kind = CAP_JSON, .expr = (char *)cp[i] };
        c[i].path = jpath_compile(cp[i], NULL, 0, NULL);
        assert_non_null(c[i].path);
    }
    jpath *ep = jpath_compile("$.data.items[0].id", NULL, 0, NULL);
    assert_non_null(ep);
    sc_http h = { .expect = { .json_path = ep, .json_path_text = "$.data.items[0].id",
                              .json_equals = "101" },
                  .captures = c, .ncaptures = 4 };
    tmpl_val vars[4] = { { 0 } };
    check_input in = { .status = 200, .body = body, .len = sizeof body - 1 };
    stats_err_kind kind;
    char detail[96];
    assert_true(check_http(&h, &in, vars, &kind, detail, sizeof detail)); /* buffers grow */
    assert_string_equal(vars[1].p, "19.99");
    assert_string_equal(vars[2].p, "{\"id\":102,\"tags\":[\"a\",\"b\"]}");
    char *before[4];
    for (int i = 0; i < 4; i++)
        before[i] = vars[i].p;
#if COUNTING
    size_t n0 = nallocs;
    for (int r = 0; r < 100; r++)
        assert_true(check_http(&h, &in, vars, &kind, detail, sizeof detail));
    assert_int_equal(nallocs - n0, 0);
#endif
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(vars[i].p, before[i]);
    assert_string_equal(vars[0].p, "abc.def");
    assert_string_equal(vars[3].p, "2");
    for (int i = 0; i < 4; i++) {
        tmpl_val_fini(&vars[i]);
        jpath_free(c[i].path);
    }
    jpath_free(ep);
}

/* What the lenient finder (ws matches) answers differently, and why checks do not use it:
 * jscan_find takes the first duplicate and stops reading after the value. */
static void test_lenient_finder_differs(void **state)
{
    (void)state;
    jpath *p = jpath_compile("$.a", NULL, 0, NULL);
    assert_non_null(p);
    jscan_val v;
    static const char dup[] = "{\"a\":1,\"a\":2}", tail[] = "{\"a\":1,\"b\":}";
    assert_int_equal(jscan_find(jpath_scan(p), dup, sizeof dup - 1, &v), 1);
    assert_true(jscan_text_is(&v, "1", 1));
    assert_int_equal(jscan_doc_find(jpath_scan(p), dup, sizeof dup - 1, &v), 1);
    assert_true(jscan_text_is(&v, "2", 1));
    assert_int_equal(jscan_find(jpath_scan(p), tail, sizeof tail - 1, &v), 1);
    assert_int_equal(jscan_doc_find(jpath_scan(p), tail, sizeof tail - 1, &v), 0);
    jpath_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_vs_jansson),
        cmocka_unit_test(test_depth_vs_jansson),
        cmocka_unit_test(test_long_numbers_vs_jansson),
        cmocka_unit_test(test_check_captures_vs_jansson),
        cmocka_unit_test(test_steady_state_allocates_nothing),
        cmocka_unit_test(test_lenient_finder_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
