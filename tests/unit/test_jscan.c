/* Unit tests for common/jscan.c: path compiling (forms, messages and offsets as
 * common/capture.c's jpath), finding in nested objects and arrays, quoted and escaped
 * names, decoded string comparison (escapes, \u, surrogate pairs), first-of-duplicates,
 * malformed and truncated texts (every prefix of a sample, each copied to a buffer of
 * exactly its length so ASan sees any read past it), the depth limit, and jscan_int. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/jscan.h"

static const char doc_text[] =
    "{\"access_token\":\"eyJ.abc\","
    " \"data\":{\"items\":[{\"id\":101,\"name\":\"bolt\"},{\"id\":102,\"tags\":[\"a\",\"b\"]}],"
    "          \"total\":2, \"price\":19.99, \"big\":1e300, \"neg\":-0.5E-3,"
    "          \"ok\":true, \"off\":false, \"none\":null, \"empty\":\"\", \"eo\":{}, \"ea\":[ ],"
    "          \"nested\":{\"k\":[1,2,{\"z\":\"q\"}]}},"
    " \"a b\":{\"c.d\":\"spaced\"}, \"it's\":1, \"q\\\"k\":\"quoted\", \"\":\"blank\","
    " \"esc\":\"line\\nnext \\u00e9 \\\"x\\\"\", \"nul\":\"a\\u0000b\"}";

static jscan_path *compile_ok(const char *path)
{
    char err[128];
    size_t off = 999;
    jscan_path *p = jscan_compile(path, err, sizeof err, &off);
    if (p == NULL)
        print_error("%s: %s at %zu\n", path, err, off);
    assert_non_null(p);
    return p;
}

/* Finds path in text[0..len) (copied to a buffer of exactly len bytes); 1 or 0. */
static int find_n(const char *path, const char *text, size_t len, jscan_val *v)
{
    jscan_path *p = compile_ok(path);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    jscan_val tmp;
    int rc = jscan_find(p, copy, len, &tmp);
    if (rc == 1) {
        assert_true(tmp.p >= copy && tmp.len <= len && (size_t)(tmp.p - copy) <= len - tmp.len);
        /* point the result at the caller's text so it outlives the copy */
        tmp.p = text + (tmp.p - copy);
        if (v != NULL)
            *v = tmp;
    }
    free(copy);
    jscan_free(p);
    return rc;
}

static int find(const char *path, const char *text, jscan_val *v)
{
    return find_n(path, text, strlen(text), v);
}

/* The value at path in text has this type and this raw text (strings: between quotes). */
static void expect_raw(const char *text, const char *path, jscan_type type, const char *raw)
{
    jscan_val v;
    if (find(path, text, &v) != 1)
        print_error("%s: not found\n", path);
    assert_int_equal(find(path, text, &v), 1);
    assert_int_equal(v.type, type);
    if (v.len != strlen(raw) || memcmp(v.p, raw, v.len) != 0)
        print_error("%s: got '%.*s', want '%s'\n", path, (int)v.len, v.p, raw);
    assert_int_equal(v.len, strlen(raw));
    assert_memory_equal(v.p, raw, v.len);
}

/* The value at path in text equals want (decoded strings: want holds no NUL here). */
static void expect_text(const char *text, const char *path, const char *want)
{
    jscan_val v;
    assert_int_equal(find(path, text, &v), 1);
    if (!jscan_text_equals(&v, want, strlen(want)))
        print_error("%s: '%.*s' is not '%s'\n", path, (int)v.len, v.p, want);
    assert_true(jscan_text_equals(&v, want, strlen(want)));
}

static void expect_absent(const char *text, const char *path)
{
    jscan_val v;
    if (find(path, text, &v) != 0)
        print_error("%s: unexpectedly found '%.*s' in %s\n", path, (int)v.len, v.p, text);
    assert_int_equal(find(path, text, &v), 0);
}

/* ---- compiling ------------------------------------------------------------------- */

static void bad_path(const char *path, size_t want_off, const char *want_msg)
{
    char err[128];
    size_t off = 999;
    assert_null(jscan_compile(path, err, sizeof err, &off));
    if (strstr(err, want_msg) == NULL || off != want_off)
        print_error("%s: got '%s' at %zu, want '%s' at %zu\n", path, err, off, want_msg,
                    want_off);
    assert_non_null(strstr(err, want_msg));
    assert_int_equal(off, want_off);
}

static void test_compile_errors(void **state)
{
    (void)state;
    bad_path("", 0, "starts with $");
    bad_path("data.id", 0, "starts with $");
    bad_path("$.", 2, "expected a name");
    bad_path("$.a.", 4, "expected a name");
    bad_path("$.a.[0]", 4, "expected a name");
    bad_path("$..a", 1, "recursive descent");
    bad_path("$.*", 2, "wildcards");
    bad_path("$[*]", 2, "wildcards");
    bad_path("$a", 1, "unexpected 'a'");
    bad_path("$[0]x", 4, "unexpected 'x'");
    bad_path("$.a[", 4, "expected an index");
    bad_path("$.a[]", 4, "expected an index");
    bad_path("$.a[x]", 4, "expected an index");
    bad_path("$.a[-1]", 4, "negative");
    bad_path("$.a[1", 5, "expected \"]\"");
    bad_path("$.a[1x]", 5, "expected \"]\"");
    bad_path("$.a['b", 4, "unterminated");
    bad_path("$.a[\"b\\\"", 4, "unterminated");
    bad_path("$.a['b'", 7, "expected \"]\"");
    bad_path("$[99999999999999999999999]", 2, "too large");
    /* the whole message, as capture.c words it */
    char err[128];
    size_t off;
    assert_null(jscan_compile("x", err, sizeof err, &off));
    assert_string_equal(err, "a JSON path starts with $ (e.g. $.data.id)");
    /* NULL path and NULL buffers are allowed; a small buffer is truncated, terminated */
    assert_null(jscan_compile(NULL, err, sizeof err, &off));
    assert_int_equal(off, 0);
    assert_null(jscan_compile("x", NULL, 0, NULL));
    char small[8];
    assert_null(jscan_compile("$..", small, sizeof small, &off));
    assert_int_equal(strlen(small), sizeof small - 1);
    jscan_free(NULL);
}

static void test_compile_forms(void **state)
{
    (void)state;
    const char *doc = "{\"a\":{\"b c\":[10,{\"d]\":\"x\",\"e'f\":7,\"g\\\"h\":8}]}}";
    expect_raw(doc, "$.a['b c'][1]['d]']", JSCAN_STRING, "x");
    expect_raw(doc, "$.a[\"b c\"][ 1 ][ 'e\\'f' ]", JSCAN_NUMBER, "7");
    expect_raw(doc, "$.a['b c'][1]['g\"h']", JSCAN_NUMBER, "8");
    expect_raw(doc, "$.a['b c'][1][\"g\\\"h\"]", JSCAN_NUMBER, "8");
    expect_raw(doc, "$['a']['b c'][0]", JSCAN_NUMBER, "10");
    expect_raw(doc, "$.a.b c[0]", JSCAN_NUMBER, "10");      /* a dotted name runs to . or [ */
    expect_raw("[[1,[2,3]]]", "$[0][1][1]", JSCAN_NUMBER, "3");
    expect_raw("[5]", "$[000]", JSCAN_NUMBER, "5");
    expect_raw(" {\"a\":1} ", "$", JSCAN_OBJECT, "{\"a\":1}");
    expect_raw("{\"\":3}", "$['']", JSCAN_NUMBER, "3");
}

/* ---- finding ----------------------------------------------------------------------- */

static void test_nested(void **state)
{
    (void)state;
    const char *d = doc_text;
    expect_raw(d, "$.access_token", JSCAN_STRING, "eyJ.abc");
    expect_raw(d, "$.data.items[0].id", JSCAN_NUMBER, "101");
    expect_raw(d, "$.data.items[1].id", JSCAN_NUMBER, "102");
    expect_raw(d, "$.data.items[0].name", JSCAN_STRING, "bolt");
    expect_raw(d, "$.data.items[1].tags[1]", JSCAN_STRING, "b");
    expect_raw(d, "$.data.items[1].tags", JSCAN_ARRAY, "[\"a\",\"b\"]");
    expect_raw(d, "$.data.items[0]", JSCAN_OBJECT, "{\"id\":101,\"name\":\"bolt\"}");
    expect_raw(d, "$.data.total", JSCAN_NUMBER, "2");
    expect_raw(d, "$.data.price", JSCAN_NUMBER, "19.99");
    expect_raw(d, "$.data.big", JSCAN_NUMBER, "1e300");
    expect_raw(d, "$.data.neg", JSCAN_NUMBER, "-0.5E-3");
    expect_raw(d, "$.data.ok", JSCAN_TRUE, "true");
    expect_raw(d, "$.data.off", JSCAN_FALSE, "false");
    expect_raw(d, "$.data.none", JSCAN_NULL, "null");
    expect_raw(d, "$.data.empty", JSCAN_STRING, "");
    expect_raw(d, "$.data.eo", JSCAN_OBJECT, "{}");
    expect_raw(d, "$.data.ea", JSCAN_ARRAY, "[ ]");
    expect_raw(d, "$.data.nested.k[2].z", JSCAN_STRING, "q");
    expect_raw(d, "$.data.nested.k[2]", JSCAN_OBJECT, "{\"z\":\"q\"}");
    expect_raw(d, "$", JSCAN_OBJECT, doc_text);
    expect_text(d, "$.data.items[0].id", "101");
    expect_text(d, "$.data.ok", "true");
    expect_text(d, "$.data.nested.k", "[1,2,{\"z\":\"q\"}]");
    /* absent: missing names, indexes past the end, steps into the wrong kind */
    expect_absent(d, "$.missing");
    expect_absent(d, "$.data.items[2]");
    expect_absent(d, "$.data.items.id");
    expect_absent(d, "$.data[0]");
    expect_absent(d, "$.data.total.x");
    expect_absent(d, "$.data.ea[0]");
    expect_absent(d, "$.data.eo.x");
    expect_absent(d, "$.data.empty[0]");
    expect_absent(d, "$.acc");              /* a prefix of a name is not the name */
    expect_absent(d, "$.access_token_x");   /* nor is a longer one */
}

static void test_whitespace_and_roots(void **state)
{
    (void)state;
    /* whitespace everywhere JSON allows it */
    const char *ws = " \r\n\t{ \"a\" \n: [ 1 ,\t{ \"b\" : \"c\" } ] , \"d\" : null } \n";
    expect_raw(ws, "$.a[1].b", JSCAN_STRING, "c");
    expect_raw(ws, "$.a[0]", JSCAN_NUMBER, "1");
    expect_raw(ws, "$.d", JSCAN_NULL, "null");
    expect_raw(ws, "$.a", JSCAN_ARRAY, "[ 1 ,\t{ \"b\" : \"c\" } ]");
    /* scalar documents */
    expect_raw("  42 ", "$", JSCAN_NUMBER, "42");
    expect_raw("\"hi\"", "$", JSCAN_STRING, "hi");
    expect_raw("true", "$", JSCAN_TRUE, "true");
    expect_raw("null\n", "$", JSCAN_NULL, "null");
    expect_raw("[]", "$", JSCAN_ARRAY, "[]");
    /* a root value is the whole text: anything but whitespace after it is refused */
    expect_absent("{\"a\":1} x", "$");
    expect_absent("1 2", "$");
    expect_absent("\"a\"\"b\"", "$");
    expect_absent("\f1", "$");                       /* form feed is not JSON whitespace */
}

static void test_quoted_names(void **state)
{
    (void)state;
    const char *d = doc_text;
    expect_raw(d, "$['a b']['c.d']", JSCAN_STRING, "spaced");
    expect_raw(d, "$[\"a b\"][\"c.d\"]", JSCAN_STRING, "spaced");
    expect_raw(d, "$['it\\'s']", JSCAN_NUMBER, "1");
    expect_raw(d, "$.it's", JSCAN_NUMBER, "1");
    expect_raw(d, "$['q\"k']", JSCAN_STRING, "quoted");     /* name escaped in the text */
    expect_raw(d, "$['']", JSCAN_STRING, "blank");
    expect_absent(d, "$['a b'].c");
    expect_absent(d, "$['q\\\\\"k']");
    /* names compare decoded: escapes in the text's names match plain path names */
    const char *esc = "{\"\\u0061\\u0062\":1,\"c\\/d\":2,\"\\u00e9t\\u00E9\":3,\"t\\tab\":4,"
                      "\"\\ud83d\\ude00\":5}";
    expect_raw(esc, "$.ab", JSCAN_NUMBER, "1");
    expect_raw(esc, "$['c/d']", JSCAN_NUMBER, "2");
    expect_raw(esc, "$.\xc3\xa9t\xc3\xa9", JSCAN_NUMBER, "3");
    expect_raw(esc, "$['t\tab']", JSCAN_NUMBER, "4");
    expect_raw(esc, "$['\xf0\x9f\x98\x80']", JSCAN_NUMBER, "5");
    expect_absent(esc, "$.a");
    expect_absent(esc, "$['c\\\\/d']");
}

static void test_escaped_strings(void **state)
{
    (void)state;
    const char *d = doc_text;
    expect_text(d, "$.esc", "line\nnext \xc3\xa9 \"x\"");
    expect_raw(d, "$.esc", JSCAN_STRING, "line\\nnext \\u00e9 \\\"x\\\"");
    const char *all = "{\"s\":\"q\\\" b\\\\ s\\/ b\\b f\\f n\\n r\\r t\\t\"}";
    expect_text(all, "$.s", "q\" b\\ s/ b\b f\f n\n r\r t\t");
    jscan_val v;
    assert_int_equal(find("$.s", all, &v), 1);
    const char *want = "q\" b\\ s/ b\b f\f n\n r\r t\t";
    size_t wl = strlen(want);
    assert_false(jscan_text_equals(&v, want, wl - 1));     /* a prefix is not equal */
    char longer[64];
    snprintf(longer, sizeof longer, "%s!", want);
    assert_false(jscan_text_equals(&v, longer, wl + 1));   /* nor a longer text */
    assert_false(jscan_text_equals(&v, "q\\\" b", 5));      /* escapes are not compared raw */
    /* the empty string */
    assert_int_equal(find("$.data.empty", doc_text, &v), 1);
    assert_true(jscan_text_equals(&v, "", 0));
    assert_true(jscan_text_equals(&v, NULL, 0));
    assert_false(jscan_text_equals(&v, "x", 1));
    /* non-strings compare as written, not as values */
    assert_int_equal(find("$.data.price", doc_text, &v), 1);
    assert_true(jscan_text_equals(&v, "19.99", 5));
    assert_false(jscan_text_equals(&v, "19.990", 6));
    assert_false(jscan_text_equals(&v, "\"19.99\"", 7));
    assert_false(jscan_text_equals(NULL, "x", 1));
    /* a hand-made value with a broken escape equals nothing */
    jscan_val bad = { JSCAN_STRING, "ab\\", 3 };
    assert_false(jscan_text_equals(&bad, "ab\\", 3));
    assert_false(jscan_text_equals(&bad, "ab", 2));
}

static void test_unicode_escapes(void **state)
{
    (void)state;
    const char *d = "{\"e\":\"\\u00e9\",\"E\":\"\\u00C9\",\"euro\":\"\\u20AC\",\"ascii\":\"\\u0041\\u0062\","
                    "\"emoji\":\"x\\uD83D\\uDE00y\",\"mix\":\"\xc3\xa9\\u00e9\",\"max\":\"\\uDBFF\\uDFFF\","
                    "\"nul\":\"a\\u0000b\",\"two\":\"\\u07ff\\u0800\"}";
    expect_text(d, "$.e", "\xc3\xa9");
    expect_text(d, "$.E", "\xc3\x89");
    expect_text(d, "$.euro", "\xe2\x82\xac");
    expect_text(d, "$.ascii", "Ab");
    expect_text(d, "$.emoji", "x\xf0\x9f\x98\x80y");
    expect_text(d, "$.mix", "\xc3\xa9\xc3\xa9");
    expect_text(d, "$.max", "\xf4\x8f\xbf\xbf");
    expect_text(d, "$.two", "\xdf\xbf\xe0\xa0\x80");
    jscan_val v;
    assert_int_equal(find("$.nul", d, &v), 1);
    assert_true(jscan_text_equals(&v, "a\0b", 3));
    assert_false(jscan_text_equals(&v, "a", 1));
    assert_int_equal(find("$.e", d, &v), 1);
    assert_false(jscan_text_equals(&v, "\xc3\xa8", 2));
    assert_false(jscan_text_equals(&v, "\xc3", 1));
    char *one = malloc(1);                      /* exact size: ASan sees any overread */
    assert_non_null(one);
    one[0] = '\xc3';
    assert_false(jscan_text_equals(&v, one, 1));
    free(one);
    /* malformed \u: lone or reversed surrogates, short or bad hex: the text is not JSON */
    expect_absent("{\"a\":\"\\uD83D\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\uD83Dx\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\uDE00\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\uDE00\\uD83D\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\uD83D\\u0041\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\u12\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\u12G4\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\x41\",\"b\":1}", "$.b");
    expect_absent("{\"a\":\"\\uD83D", "$.a");
    expect_absent("{\"a\":\"tab\there\",\"b\":1}", "$.b");        /* raw control char */
    expect_absent("{\"a\":\"nl\nhere\",\"b\":1}", "$.b");
}

static void test_duplicates_first_wins(void **state)
{
    (void)state;
    const char *d = "{\"a\":1,\"b\":{\"c\":2},\"a\":3,\"b\":{\"c\":4,\"d\":5}}";
    expect_raw(d, "$.a", JSCAN_NUMBER, "1");
    expect_raw(d, "$.b.c", JSCAN_NUMBER, "2");
    expect_absent(d, "$.b.d");                /* only the first "b" is looked into */
    expect_raw("{\"k\":\"first\",\"\\u006b\":\"second\"}", "$.k", JSCAN_STRING, "first");
    expect_raw("{\"x\":[{\"y\":1,\"y\":2}]}", "$.x[0].y", JSCAN_NUMBER, "1");
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   ", "x", "{", "{\"a\"", "{\"a\":", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "{\"a\":1,}", "{,\"b\":1}", "{\"x\":1 \"b\":1}", "{\"x\":[1,],\"b\":1}",
        "{\"x\":[1 2],\"b\":1}", "{\"x\":{\"y\"},\"b\":1}", "{\"x\":{\"y\":1]},\"b\":1}",
        "{\"x\":[1},\"b\":1}", "{\"x\":tru,\"b\":1}", "{\"x\":nul,\"b\":1}",
        "{\"x\":True,\"b\":1}", "{\"x\":01,\"b\":1}", "{\"x\":1.,\"b\":1}",
        "{\"x\":.5,\"b\":1}", "{\"x\":-,\"b\":1}", "{\"x\":+1,\"b\":1}",
        "{\"x\":1e,\"b\":1}", "{\"x\":1e+,\"b\":1}", "{\"x\":0x10,\"b\":1}",
        "{\"x\":NaN,\"b\":1}", "{\"x\":Infinity,\"b\":1}", "{\"x\":\"abc,\"b\":1}",
        "[\"b\"]", "\"{\\\"b\\\":1}\"", "{\"b\":1x}", "{\"b\":truex}", "{\"b\":1.5.2}",
        "{\"b\":--1}", "{\"b\":1", "{\"b\":\"v\"", "{\"b\":[1,2]", "{\"b\":{}",
        "{\"b\" : 1 ]", "\xef\xbb\xbf{\"b\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_absent(bad[i], "$.b");
    expect_absent("12", "$[0]");
    expect_absent("[1,2,]", "$[2]");
    expect_absent("[,1]", "$[1]");
    /* only the walk is validated: garbage after the value does not matter */
    expect_raw("{\"b\":1, garbage", "$.b", JSCAN_NUMBER, "1");
    expect_raw("[7,", "$[0]", JSCAN_NUMBER, "7");
}

/* Numbers must be JSON numbers, both where they are skipped and where they are found. */
static void test_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = { "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+",
                                       "1E-", "0x10", "1.5.2", "--1", "1e5.5", "- 1",
                                       "00", "1ee5", "NaN", "-Infinity", "0.e1" };
    char doc[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(doc, sizeof doc, "[%s]", bad[i]);
        expect_absent(doc, "$[0]");                 /* found */
        snprintf(doc, sizeof doc, "[%s,7]", bad[i]);
        expect_absent(doc, "$[1]");                 /* skipped */
        snprintf(doc, sizeof doc, "{\"n\":%s}", bad[i]);
        expect_absent(doc, "$.n");
    }
    static const char *const good[] = { "0", "-0", "7", "-7", "10", "0.5", "-0.0", "1e5",
                                        "1E5", "1e+5", "1e-5", "2.5E-3", "0e0",
                                        "123456789012345678901234567890" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(doc, sizeof doc, "[%s]", good[i]);
        expect_raw(doc, "$[0]", JSCAN_NUMBER, good[i]);
        snprintf(doc, sizeof doc, "[%s , 7]", good[i]);
        expect_raw(doc, "$[1]", JSCAN_NUMBER, "7");
        expect_raw(good[i], "$", JSCAN_NUMBER, good[i]);
    }
    /* valid numbers, for contrast */
    expect_raw("{\"b\":-0}", "$.b", JSCAN_NUMBER, "-0");
    expect_raw("{\"b\":0.0e0}", "$.b", JSCAN_NUMBER, "0.0e0");
    expect_raw("[1E+10]", "$[0]", JSCAN_NUMBER, "1E+10");
    expect_raw("[-12.5e-3 ]", "$[0]", JSCAN_NUMBER, "-12.5e-3");
}

static void test_null_arguments(void **state)
{
    (void)state;
    /* NULL arguments */
    jscan_path *p = compile_ok("$.b");
    jscan_val v;
    assert_int_equal(jscan_find(NULL, "{\"b\":1}", 7, &v), 0);
    assert_int_equal(jscan_find(p, NULL, 7, &v), 0);
    assert_int_equal(jscan_find(p, "{\"b\":1}", 7, NULL), 0);
    assert_int_equal(jscan_find(p, "{\"b\":1}", 7, &v), 1);
    assert_int_equal(jscan_find(p, "{\"b\":1}", 0, &v), 0);
    jscan_free(p);
    p = compile_ok("$");
    assert_int_equal(jscan_find(p, "", 0, &v), 0);
    assert_int_equal(jscan_find(p, NULL, 0, &v), 0);
    assert_int_equal(jscan_find(p, "1", 1, &v), 1);
    jscan_free(p);
}

/* Every prefix of a document finds either nothing or exactly what the whole finds,
 * within the prefix; and from the byte after the value's delimiter on, it finds it. */
static void test_truncated_prefixes(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "$.access_token", "$.data.items[0].id", "$.data.items[1].tags[1]", "$.data.total",
        "$.data.price", "$.data.neg", "$.data.ok", "$.data.none", "$.data.nested.k[2].z",
        "$.data.nested", "$.data.items", "$['a b']['c.d']", "$['q\"k']", "$.esc", "$.nul",
        "$.data.ea", "$.data.missing", "$.nope",
    };
    size_t full = strlen(doc_text);
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        jscan_val whole, part;
        int found = find_n(paths[k], doc_text, full, &whole);
        size_t need = 0;
        if (found) {
            /* the value, its closing quote if a string, then "," or a closing bracket */
            const char *end = whole.p + whole.len + (whole.type == JSCAN_STRING);
            while (*end == ' ')
                end++;
            need = (size_t)(end - doc_text) + 1;
        }
        for (size_t n = 0; n <= full; n++) {
            int rc = find_n(paths[k], doc_text, n, &part);
            if (!found) {
                assert_int_equal(rc, 0);
                continue;
            }
            assert_int_equal(rc, n >= need ? 1 : 0);
            if (rc == 1) {
                assert_ptr_equal(part.p, whole.p);
                assert_int_equal(part.len, whole.len);
                assert_int_equal(part.type, whole.type);
                assert_true((size_t)(part.p - doc_text) + part.len <= n);
            }
        }
    }
    /* a number cut short is not found as a shorter number */
    expect_absent("{\"n\":12", "$.n");
    expect_raw("{\"n\":12}", "$.n", JSCAN_NUMBER, "12");
    expect_raw("12", "$", JSCAN_NUMBER, "12");
}

/* n nested arrays around 1: "[[[1]]]" for n = 3. */
static char *nest(size_t n, const char *inner)
{
    size_t il = strlen(inner);
    char *s = malloc(2 * n + il + 1);
    assert_non_null(s);
    memset(s, '[', n);
    memcpy(s + n, inner, il);
    memset(s + n + il, ']', n);
    s[2 * n + il] = '\0';
    return s;
}

static char *index_path(size_t n)
{
    char *s = malloc(1 + 3 * n + 1);
    assert_non_null(s);
    s[0] = '$';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 1 + 3 * i, "[0]", 3);
    s[1 + 3 * n] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nest(JSCAN_MAX_DEPTH, "1"), *deep = nest(JSCAN_MAX_DEPTH + 1, "1");
    char *p_ok = index_path(JSCAN_MAX_DEPTH), *p_deep = index_path(JSCAN_MAX_DEPTH + 1);
    jscan_val v;
    /* skipped whole */
    assert_int_equal(find("$", ok, &v), 1);
    assert_int_equal(v.len, strlen(ok));
    assert_int_equal(find("$", deep, &v), 0);
    /* walked by the path */
    expect_raw(ok, p_ok, JSCAN_NUMBER, "1");
    assert_int_equal(find(p_deep, deep, &v), 0);
    /* a too-deep sibling before the value hides it; after the value, it is never seen */
    char *inner = nest(JSCAN_MAX_DEPTH, "0");           /* depth 65 inside the outer [ */
    size_t il = strlen(inner);
    char *before = malloc(il + 8), *after = malloc(il + 8);
    assert_non_null(before);
    assert_non_null(after);
    snprintf(before, il + 8, "[%s,5]", inner);
    snprintf(after, il + 8, "[5,%s]", inner);
    assert_int_equal(find("$[1]", before, &v), 0);
    expect_raw(after, "$[0]", JSCAN_NUMBER, "5");
    /* objects count as levels too */
    char obj[JSCAN_MAX_DEPTH * 6 + 16];
    size_t o = 0;
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        o += (size_t)snprintf(obj + o, sizeof obj - o, "{\"a\":");
    obj[o++] = '1';
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        obj[o++] = '}';
    obj[o] = '\0';
    assert_int_equal(find("$", obj, &v), 1);
    assert_int_equal(find("$.a.a", obj, &v), 1);
    assert_int_equal(v.type, JSCAN_OBJECT);
    /* a very deep text is refused quickly, without recursion */
    char *huge = nest(200000, "1");
    assert_int_equal(find("$", huge, &v), 0);
    assert_int_equal(find("$[0][0]", huge, &v), 0);
    free(huge);
    free(before);
    free(after);
    free(inner);
    free(ok);
    free(deep);
    free(p_ok);
    free(p_deep);
}

static int int_at(const char *text, const char *path, int64_t *out)
{
    jscan_val v;
    assert_int_equal(find(path, text, &v), 1);
    return jscan_int(&v, out);
}

static void test_int(void **state)
{
    (void)state;
    const char *d = "{\"a\":17,\"b\":-42,\"z\":0,\"mz\":-0,\"max\":9223372036854775807,"
                    "\"min\":-9223372036854775808,\"over\":9223372036854775808,"
                    "\"under\":-9223372036854775809,\"huge\":123456789012345678901234,"
                    "\"f\":1.0,\"e\":1e3,\"E\":2E0,\"s\":\"17\",\"sneg\":\"-5\",\"su\":\"\\u0031\\u0037\","
                    "\"sf\":\"1.5\",\"ssp\":\" 17\",\"splus\":\"+17\",\"s0\":\"017\",\"sx\":\"17x\","
                    "\"se\":\"\",\"smax\":\"9223372036854775807\",\"sover\":\"9223372036854775808\","
                    "\"slong\":\"000000000000000000000000000001\",\"t\":true,\"n\":null,\"o\":{},"
                    "\"arr\":[1]}";
    int64_t x = 99;
    assert_int_equal(int_at(d, "$.a", &x), 0);
    assert_int_equal(x, 17);
    assert_int_equal(int_at(d, "$.b", &x), 0);
    assert_int_equal(x, -42);
    assert_int_equal(int_at(d, "$.z", &x), 0);
    assert_int_equal(x, 0);
    x = 99;
    assert_int_equal(int_at(d, "$.mz", &x), 0);
    assert_int_equal(x, 0);
    assert_int_equal(int_at(d, "$.max", &x), 0);
    assert_true(x == INT64_MAX);
    assert_int_equal(int_at(d, "$.min", &x), 0);
    assert_true(x == INT64_MIN);
    assert_int_equal(int_at(d, "$.s", &x), 0);
    assert_int_equal(x, 17);
    assert_int_equal(int_at(d, "$.sneg", &x), 0);
    assert_int_equal(x, -5);
    assert_int_equal(int_at(d, "$.su", &x), 0);
    assert_int_equal(x, 17);
    assert_int_equal(int_at(d, "$.smax", &x), 0);
    assert_true(x == INT64_MAX);
    static const char *const refused[] = {
        "$.over", "$.under", "$.huge", "$.f", "$.e", "$.E", "$.sf", "$.ssp", "$.splus",
        "$.s0", "$.sx", "$.se", "$.sover", "$.slong", "$.t", "$.n", "$.o", "$.arr",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        x = 99;
        if (int_at(d, refused[i], &x) != -1)
            print_error("%s: took %lld\n", refused[i], (long long)x);
        assert_int_equal(int_at(d, refused[i], &x), -1);
        assert_int_equal(x, 99);                /* *out untouched on failure */
    }
    assert_int_equal(jscan_int(NULL, &x), -1);
    jscan_val v = { JSCAN_NUMBER, "5", 1 };
    assert_int_equal(jscan_int(&v, NULL), -1);
    assert_int_equal(jscan_int(&v, &x), 0);
    assert_int_equal(x, 5);
}

/* A long array is walked element by element: the last of 100000 is found. */
static void test_long_array(void **state)
{
    (void)state;
    enum { N = 100000 };
    char *s = malloc(N * 12 + 16);
    assert_non_null(s);
    size_t o = 0;
    s[o++] = '[';
    for (int i = 0; i < N; i++)
        o += (size_t)sprintf(s + o, i ? ",{\"v\":%d}" : "{\"v\":%d}", i);
    s[o++] = ']';
    s[o] = '\0';
    int64_t x;
    jscan_val v;
    assert_int_equal(find("$[99999].v", s, &v), 1);
    assert_int_equal(jscan_int(&v, &x), 0);
    assert_int_equal(x, N - 1);
    assert_int_equal(find("$[100000].v", s, &v), 0);
    free(s);
}

/* One compiled path serves many texts; the path is not changed by use. */
static void test_reuse(void **state)
{
    (void)state;
    jscan_path *p = compile_ok("$.type");
    const char *msgs[] = { "{\"type\":\"snapshot\",\"seq\":1}", "{\"seq\":2,\"type\":\"delta\"}",
                           "{\"seq\":3}", "not json", "{\"type\":\"snap\\u0073hot\"}" };
    const char *want[] = { "snapshot", "delta", NULL, NULL, "snapshot" };
    for (int r = 0; r < 3; r++) {
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            jscan_val v;
            int rc = jscan_find(p, msgs[i], strlen(msgs[i]), &v);
            assert_int_equal(rc, want[i] != NULL);
            if (rc)
                assert_true(jscan_text_equals(&v, want[i], strlen(want[i])));
        }
    }
    jscan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_compile_forms),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_whitespace_and_roots),
        cmocka_unit_test(test_quoted_names),
        cmocka_unit_test(test_escaped_strings),
        cmocka_unit_test(test_unicode_escapes),
        cmocka_unit_test(test_duplicates_first_wins),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_long_array),
        cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
