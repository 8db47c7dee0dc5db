/* Unit tests for common/capture: JSON paths (parse, walk, value text), header capture
 * across several responses, and regex capture with and without groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/capture.h"
#include "common/jscan_doc.h"
#include "common/jscan_text.h"

static const char doc_text[] =
    "{\"access_token\":\"eyJ.abc\","
    " \"data\":{\"items\":[{\"id\":101,\"name\":\"bolt\"},{\"id\":102,\"tags\":[\"a\",\"b\"]}],"
    "          \"total\":2, \"price\":19.99, \"ratio\":0.1, \"whole\":1.0, \"big\":1e300,"
    "          \"ok\":true, \"off\":false, \"none\":null, \"empty\":\"\","
    "          \"nested\":{\"k\":[1,2,{\"z\":\"q\"}]}},"
    " \"a b\":{\"c.d\":\"spaced\"}, \"it's\":1, \"q\\\"k\":\"quoted\","
    " \"esc\":\"line\\nnext \\u00e9 \\\"x\\\"\", \"nul\":\"a\\u0000b\"}";

static json_t *load_doc(void)
{
    json_error_t e;
    json_t *doc = json_loads(doc_text, JSON_ALLOW_NUL, &e);
    if (doc == NULL)
        print_error("fixture JSON: %s at %d\n", e.text, e.position);
    assert_non_null(doc);
    return doc;
}

/* The text captured at path in doc; "<absent>" when the path finds nothing. */
static const char *cap(json_t *doc, const char *path, tmpl_val *v)
{
    char err[128];
    size_t off;
    jpath *p = jpath_compile(path, err, sizeof err, &off);
    if (p == NULL)
        print_error("%s: %s at %zu\n", path, err, off);
    assert_non_null(p);
    json_t *got = jpath_get(p, doc);
    jpath_free(p);
    if (got == NULL)
        return "<absent>";
    assert_int_equal(jpath_text(got, v), 0);
    assert_true(v->set);
    assert_int_equal(strlen(v->p), v->len);
    return v->p;
}

static void test_jpath_objects_arrays(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    tmpl_val v = { 0 };
    assert_string_equal(cap(doc, "$.access_token", &v), "eyJ.abc");
    assert_string_equal(cap(doc, "$.data.items[0].id", &v), "101");
    assert_string_equal(cap(doc, "$.data.items[1].tags[1]", &v), "b");
    assert_string_equal(cap(doc, "$['data']['items'][0]['name']", &v), "bolt");
    assert_string_equal(cap(doc, "$[\"data\"].items[ 1 ].id", &v), "102");
    assert_string_equal(cap(doc, "$.data.nested.k[2].z", &v), "q");
    assert_string_equal(cap(doc, "$['a b']['c.d']", &v), "spaced");
    assert_string_equal(cap(doc, "$[\"it's\"]", &v), "1");
    assert_string_equal(cap(doc, "$['q\"k']", &v), "quoted");
    assert_string_equal(cap(doc, "$[\"q\\\"k\"]", &v), "quoted");      /* backslash escape */
    /* Absent: missing key, index past the end, key on an array, index on an object,
     * stepping into a scalar. */
    assert_string_equal(cap(doc, "$.data.missing", &v), "<absent>");
    assert_string_equal(cap(doc, "$.data.items[2]", &v), "<absent>");
    assert_string_equal(cap(doc, "$.data.items.id", &v), "<absent>");
    assert_string_equal(cap(doc, "$.data[0]", &v), "<absent>");
    assert_string_equal(cap(doc, "$.access_token.x", &v), "<absent>");
    assert_string_equal(cap(doc, "$.data.none.x", &v), "<absent>");
    /* A root array. */
    json_t *arr = json_pack("[s, {s: i}]", "first", "n", 7);
    assert_string_equal(cap(arr, "$[0]", &v), "first");
    assert_string_equal(cap(arr, "$[1].n", &v), "7");
    assert_string_equal(cap(arr, "$", &v), "[\"first\",{\"n\":7}]");
    json_decref(arr);
    assert_null(jpath_get(NULL, doc));
    tmpl_val_fini(&v);
    json_decref(doc);
}

static void test_jpath_text(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    tmpl_val v = { 0 };
    assert_string_equal(cap(doc, "$.data.total", &v), "2");
    assert_string_equal(cap(doc, "$.data.price", &v), "19.99");
    assert_string_equal(cap(doc, "$.data.ratio", &v), "0.1");
    assert_string_equal(cap(doc, "$.data.whole", &v), "1.0");
    assert_string_equal(cap(doc, "$.data.big", &v), "1e300");
    assert_string_equal(cap(doc, "$.data.ok", &v), "true");
    assert_string_equal(cap(doc, "$.data.off", &v), "false");
    assert_string_equal(cap(doc, "$.data.none", &v), "null");
    assert_string_equal(cap(doc, "$.data.empty", &v), "");
    assert_string_equal(cap(doc, "$.esc", &v), "line\nnext \xc3\xa9 \"x\"");   /* raw */
    assert_string_equal(cap(doc, "$.data.items[0]", &v), "{\"id\":101,\"name\":\"bolt\"}");
    assert_string_equal(cap(doc, "$.data.items[1].tags", &v), "[\"a\",\"b\"]");
    /* A string with a NUL keeps its full length. */
    json_t *s = json_object_get(doc, "nul");
    assert_int_equal(jpath_text(s, &v), 0);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.p, "a\0b", 4);
    /* Reals read back exactly. */
    const double reals[] = { 0.3, 1.0 / 3.0, -2.5e-7, 123456789.125, 5e-324 };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *r = json_real(reals[i]);
        assert_int_equal(jpath_text(r, &v), 0);
        assert_true(strtod(v.p, NULL) == reals[i]);
        json_decref(r);
    }
    json_t *r = json_real(0.3);
    assert_int_equal(jpath_text(r, &v), 0);
    assert_string_equal(v.p, "0.3");
    json_decref(r);
    /* A large array goes past the stack buffer. */
    json_t *big = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(big, json_integer(i));
    assert_int_equal(jpath_text(big, &v), 0);
    assert_true(v.len > 1024);
    assert_memory_equal(v.p, "[0,1,2,", 7);
    assert_string_equal(v.p + v.len - 6, ",1999]");
    json_decref(big);
    /* Absent value. */
    assert_int_equal(jpath_text(NULL, &v), -1);
    tmpl_val_fini(&v);
    json_decref(doc);
}

/* jpath_scan hands the compiled path to the strict reader (worker/check.c's JSON
 * conditions): over the fixture without its \u0000 member (jansson refuses that
 * without JSON_ALLOW_NUL, and so does the reader), it captures what jpath_text does. */
static void test_jpath_scan_same_text(void **state)
{
    (void)state;
    assert_null(jpath_scan(NULL));
    static const char *const paths[] = {
        "$.access_token", "$.data.total", "$.data.price", "$.data.ratio", "$.data.whole",
        "$.data.big", "$.data.ok", "$.data.none", "$.data.empty", "$.esc",
        "$.data.items[0]", "$.data.items[1].tags", "$['a b']['c.d']", "$.data", "$",
        "$.data.items[2]", "$.nope",
    };
    char text[sizeof doc_text];
    memcpy(text, doc_text, sizeof doc_text);
    char *nul = strstr(text, ", \"nul\"");
    assert_non_null(nul);
    memcpy(nul, "}", 2);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    tmpl_val v = { 0 };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        jpath *p = jpath_compile(paths[i], NULL, 0, NULL);
        assert_non_null(p);
        assert_non_null(jpath_scan(p));
        json_t *got = jpath_get(p, doc);
        jscan_val sv;
        int found = jscan_doc_find(jpath_scan(p), text, strlen(text), &sv);
        assert_int_equal(found == 1, got != NULL);
        if (got != NULL) {
            assert_int_equal(jpath_text(got, &v), 0);
            char buf[1024];
            size_t n = 0;
            assert_int_equal(jscan_text(&sv, buf, sizeof buf, &n), 0);
            assert_true(n <= sizeof buf);
            assert_int_equal(n, v.len);
            assert_memory_equal(buf, v.p, n);
        }
        jpath_free(p);
    }
    tmpl_val_fini(&v);
    json_decref(doc);
}

static void bad_path(const char *path, size_t want_off, const char *err_has)
{
    char err[128] = "";
    size_t off = 999;
    jpath *p = jpath_compile(path, err, sizeof err, &off);
    if (p != NULL || off != want_off || strstr(err, err_has) == NULL)
        print_error("\"%s\": %s at %zu\n", path, err, off);
    assert_null(p);
    assert_int_equal(off, want_off);
    assert_non_null(strstr(err, err_has));
}

static void test_jpath_malformed(void **state)
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
    bad_path("$.a[", 4, "expected an index");
    bad_path("$.a[]", 4, "expected an index");
    bad_path("$.a[x]", 4, "expected an index");
    bad_path("$.a[-1]", 4, "negative");
    bad_path("$.a[1", 5, "expected \"]\"");
    bad_path("$.a[1x]", 5, "expected \"]\"");
    bad_path("$.a['b", 4, "unterminated");
    bad_path("$.a['b'", 7, "expected \"]\"");
    bad_path("$[99999999999999999999999]", 2, "too large");
    /* NULL buffers are allowed. */
    assert_null(jpath_compile("x", NULL, 0, NULL));
    jpath_free(NULL);
}

static void test_header(void **state)
{
    (void)state;
    tmpl_val v = { 0 };
    const char one[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "X-Request-Id:   abc-123  \r\n"
        "Set-Cookie: a=1\r\n"
        "Set-Cookie: b=2\r\n"
        "X-Empty:\r\n"
        "\r\n";
    assert_int_equal(capture_header(one, strlen(one), "x-request-id", &v), 0);
    assert_string_equal(v.p, "abc-123");
    assert_int_equal(capture_header(one, strlen(one), "CONTENT-TYPE", &v), 0);
    assert_string_equal(v.p, "application/json");
    assert_int_equal(capture_header(one, strlen(one), "Set-Cookie", &v), 0);
    assert_string_equal(v.p, "a=1");                  /* first in the response */
    assert_int_equal(capture_header(one, strlen(one), "X-Empty", &v), 0);
    assert_string_equal(v.p, "");
    assert_int_equal(capture_header(one, strlen(one), "X-Missing", &v), -1);
    assert_int_equal(capture_header(one, strlen(one), "X-Request", &v), -1); /* prefix only */
    assert_int_equal(capture_header(one, strlen(one), "HTTP/1.1 200 OK", &v), -1);

    /* Redirects followed: the last response wins. */
    const char chain[] =
        "HTTP/1.1 302 Found\r\n"
        "Location: /login\r\n"
        "X-Token: old\r\n"
        "X-Only-First: 1\r\n"
        "\r\n"
        "HTTP/1.1 100 Continue\r\n"
        "\r\n"
        "HTTP/2 200\r\n"
        "x-token: new\r\n"
        "\r\n";
    assert_int_equal(capture_header(chain, strlen(chain), "X-Token", &v), 0);
    assert_string_equal(v.p, "new");
    assert_int_equal(capture_header(chain, strlen(chain), "X-Only-First", &v), -1);
    assert_int_equal(capture_header(chain, strlen(chain), "Location", &v), -1);

    /* Bare LF lines, no status line, not NUL-terminated: len bounds the scan. */
    const char lf[] = "A: 1\nB:two\nC: 3";
    assert_int_equal(capture_header(lf, strlen(lf), "b", &v), 0);
    assert_string_equal(v.p, "two");
    assert_int_equal(capture_header(lf, strlen(lf), "C", &v), 0);
    assert_string_equal(v.p, "3");
    assert_int_equal(capture_header(lf, 9, "B", &v), 0);    /* cut after "B:tw" */
    assert_string_equal(v.p, "tw");
    assert_int_equal(capture_header(lf, 4, "B", &v), -1);
    assert_int_equal(capture_header("", 0, "A", &v), -1);
    tmpl_val_fini(&v);
}

static void match(const char *re, const char *body, const char *want)
{
    char err[128] = "";
    capre *r = capre_compile(re, err, sizeof err, NULL);
    if (r == NULL)
        print_error("regex %s: %s\n", re, err);
    assert_non_null(r);
    tmpl_val v = { 0 };
    int rv = capre_match(r, body, &v);
    if (want == NULL) {
        assert_int_equal(rv, -1);
        assert_false(v.set);
    } else {
        if (rv != 0 || strcmp(v.p, want) != 0)
            print_error("regex %s on %s: rv %d, \"%s\"\n", re, body, rv, v.p ? v.p : "");
        assert_int_equal(rv, 0);
        assert_string_equal(v.p, want);
    }
    tmpl_val_fini(&v);
    capre_free(r);
}

static void test_regex(void **state)
{
    (void)state;
    const char *body = "<input name=\"csrf\" value=\"tok-42\"> order #1234 of 99";
    match("tok-[0-9]+", body, "tok-42");                        /* whole match */
    match("value=\"([^\"]*)\"", body, "tok-42");                 /* first group */
    match("order #([0-9]+) of ([0-9]+)", body, "1234");          /* first of two groups */
    match("#(\\d+)", body, "1234");                              /* \d rewritten */
    match("of \\D*(\\d\\d)", body, "99");
    match("[\\d]", "x\\y", "\\");               /* inside brackets \ is literal (POSIX) */
    match("[[:digit:]]+", body, "42");
    match("[]x]+", "a]x]b", "]x]");             /* a leading ] inside brackets */
    match("\\w+=", body, "name=");              /* GNU \w still works */
    match("(x)?order", body, "");               /* group not taking part: empty */
    match("absent([0-9])", body, NULL);
    match("^$", "", "");

    char err[128] = "";
    assert_null(capre_compile("(unclosed", err, sizeof err, NULL));
    assert_non_null(strstr(err, "invalid regex"));
    assert_null(capre_compile("a{2,1}", err, sizeof err, NULL));
    assert_null(capre_compile(NULL, NULL, 0, NULL));
    capre_free(NULL);

    /* Repeated matches into one value reuse its buffer. */
    capre *r = capre_compile("id=([0-9]+)", err, sizeof err, NULL);
    assert_non_null(r);
    tmpl_val v = { 0 };
    assert_int_equal(capre_match(r, "id=123456", &v), 0);
    char *p = v.p;
    assert_int_equal(capre_match(r, "id=7", &v), 0);
    assert_ptr_equal(v.p, p);
    assert_string_equal(v.p, "7");
    assert_int_equal(capre_match(r, "none", &v), -1);
    assert_string_equal(v.p, "7");          /* a failed match leaves the value alone */
    tmpl_val_fini(&v);
    capre_free(r);
}

/* Issue 9, item 2: "id=" followed by N '+' made glibc's regcomp take ~2^N memory
 * (N=20: 1 GiB; N=28: out of memory). It is refused at once, with the place. */
static void test_regex_stacked_quantifiers(void **state)
{
    (void)state;
    for (int n = 3; n <= 40; n++) {
        char re[64] = "id=";
        memset(re + 3, '+', (size_t)n);
        re[3 + n] = '\0';
        char err[256] = "";
        size_t off = 999;
        capre *r = capre_compile(re, err, sizeof err, &off);
        if (r != NULL)
            print_error("\"%s\" compiled\n", re);
        assert_null(r);
        assert_non_null(strstr(err, "invalid regex"));
        assert_non_null(strstr(err, "quantifier"));
        assert_int_equal(off, 5);           /* the third '+', the first one too many */
    }
    /* "a++" (possessive) is one item and compiles. */
    char err[256] = "";
    capre *r = capre_compile("id=++", err, sizeof err, NULL);
    assert_non_null(r);
    capre_free(r);
}

/* The other ways a pattern can cost: its length, its nesting, a repeat whose compiled
 * form explodes, and catastrophic backtracking at match time (bounded, a non-match). */
static void test_regex_limits(void **state)
{
    (void)state;
    char err[256] = "";
    size_t off = 0;
    char *big = malloc(CAPRE_MAX_PATTERN + 2);
    assert_non_null(big);
    memset(big, 'a', CAPRE_MAX_PATTERN + 1);
    big[CAPRE_MAX_PATTERN + 1] = '\0';
    assert_null(capre_compile(big, err, sizeof err, &off));
    assert_non_null(strstr(err, "at most 4096"));
    big[CAPRE_MAX_PATTERN] = '\0';          /* exactly the limit: fine */
    capre *r = capre_compile(big, err, sizeof err, NULL);
    assert_non_null(r);
    capre_free(r);
    free(big);

    char nest[2 * 100 + 2];
    memset(nest, '(', 100);
    nest[100] = 'a';
    memset(nest + 101, ')', 100);
    nest[201] = '\0';
    assert_null(capre_compile(nest, err, sizeof err, &off));
    assert_non_null(strstr(err, "invalid regex"));

    assert_null(capre_compile("((((a{1,1000}){1,1000}){1,1000}){1,1000})", err, sizeof err, &off));
    assert_non_null(strstr(err, "invalid regex"));

    /* (a+)+$ over "aaaa...b": exponential backtracking, stopped by the match limit. */
    r = capre_compile("(a+)+$", err, sizeof err, NULL);
    assert_non_null(r);
    char body[64];
    memset(body, 'a', sizeof body - 2);
    body[sizeof body - 2] = 'b';
    body[sizeof body - 1] = '\0';
    tmpl_val v = { 0 };
    assert_int_equal(capre_match(r, body, &v), -1);
    assert_false(v.set);
    assert_int_equal(capre_match(r, "aaa", &v), 0);     /* still matches when it can */
    assert_string_equal(v.p, "aaa");
    tmpl_val_fini(&v);
    capre_free(r);
}

/* Semantics the POSIX patterns relied on, kept under PCRE2; and the documented
 * differences (capture.h). */
static void test_regex_posix_style(void **state)
{
    (void)state;
    match("a.c", "a\nc", "a\nc");           /* '.' matches a newline (POSIX regexec) */
    match("x$", "x\n", NULL);               /* '$' is the very end only */
    match("[\\]]", "\\]", "\\]");           /* '\' literal in brackets, then ']' closes */
    match("[a\\]+", "\\a\\", "\\a\\");
    match("\"id\":\"(.*?)\"", "{\"id\":\"a\",\"b\":\"c\"}", "a");  /* lazy works now */
    match("(a|ab)c", "abc", "ab");          /* backtracks into the other branch */
    char err[256] = "";
    size_t off = 0;
    assert_null(capre_compile("x[[.a.]]", err, sizeof err, &off));
    assert_non_null(strstr(err, "invalid regex"));
    /* Offsets point into the pattern as written, past doubled backslashes. */
    assert_null(capre_compile("[\\\\]a**", err, sizeof err, &off));
    assert_int_equal(off, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpath_objects_arrays),
        cmocka_unit_test(test_jpath_text),
        cmocka_unit_test(test_jpath_scan_same_text),
        cmocka_unit_test(test_jpath_malformed),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_stacked_quantifiers),
        cmocka_unit_test(test_regex_limits),
        cmocka_unit_test(test_regex_posix_style),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
