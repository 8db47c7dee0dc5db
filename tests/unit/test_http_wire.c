/* worker/http_wire.c: the lean client's URLs and request heads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/http_wire.h"

static void test_parse(void **st)
{
    (void)st;
    hwire_url u;
    assert_int_equal(hwire_parse("http://127.0.0.1:8080/a/b?x=1#frag", &u), 0);
    assert_false(u.tls);
    assert_int_equal(u.port, 8080);
    assert_int_equal(u.host_len, 9);
    assert_memory_equal(u.host, "127.0.0.1", 9);
    assert_int_equal(u.authority_len, 14);
    assert_memory_equal(u.authority, "127.0.0.1:8080", 14);
    assert_int_equal(u.target_len, 8);
    assert_memory_equal(u.target, "/a/b?x=1", 8);
    assert_false(u.target_slash);

    assert_int_equal(hwire_parse("HTTPS://user:pw@Example.test", &u), 0);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_int_equal(u.authority_len, 12);
    assert_memory_equal(u.authority, "Example.test", 12);
    assert_true(u.target_slash);
    assert_int_equal(u.target_len, 0);

    assert_int_equal(hwire_parse("http://[::1]:9/x", &u), 0);
    assert_int_equal(u.host_len, 3);
    assert_memory_equal(u.host, "::1", 3);
    assert_int_equal(u.authority_len, 7);
    assert_memory_equal(u.authority, "[::1]:9", 7);

    assert_int_equal(hwire_parse("http://h?q=1", &u), 0);
    assert_true(u.target_slash);
    assert_memory_equal(u.target, "?q=1", 4);

    assert_int_equal(hwire_parse("ftp://h/", &u), -1);
    assert_int_equal(hwire_parse("http:///x", &u), -2);
    assert_int_equal(hwire_parse("http://h:99999/", &u), -2);
    assert_int_equal(hwire_parse("http://h:0/", &u), -2);
}

static void test_head(void **st)
{
    (void)st;
    hwire_url u;
    assert_int_equal(hwire_parse("http://127.0.0.1:8080?x=1", &u), 0);
    const char *hs[] = { "X-A: 1", "Cookie: mine=1", "X-Gone:", "Content-Length: 99" };
    hwire_req r = { .method = "POST", .url = &u, .headers = hs, .nheaders = 4,
                    .cookies = "a=1; b=2", .cookies_len = 8, .has_body = true, .body_len = 5 };
    char *buf = NULL;
    size_t cap = 0;
    long n = hwire_head(&r, &buf, &cap);
    /* the version in the User-Agent is the library's build's: cut it out */
    char *ua = strstr(buf, "User-Agent: stampede/");
    assert_non_null(ua);
    char *eol = strstr(ua, "\r\n");
    size_t vl = (size_t)(eol - (ua + 21));
    memmove(ua + 21, eol, strlen(eol) + 1);
    n -= (long)vl;
    const char *want =
        "POST /?x=1 HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "User-Agent: stampede/\r\n"
        "Accept: */*\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Cookie: a=1; b=2\r\n"
        "X-A: 1\r\n"
        "Cookie: mine=1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 5\r\n"
        "\r\n";
    assert_int_equal(n, (long)strlen(want));
    assert_string_equal(buf, want);
    /* the step's own Host, User-Agent, Accept and Content-Type win; no body: no length */
    const char *hs2[] = { "host: other", "User-Agent: me", "Accept: text/plain",
                          "Accept-Encoding: identity" };
    hwire_url u2;
    assert_int_equal(hwire_parse("https://h/p", &u2), 0);
    hwire_req r2 = { .method = "GET", .url = &u2, .headers = hs2, .nheaders = 4 };
    size_t cap0 = cap;
    char *buf0 = buf;
    n = hwire_head(&r2, &buf, &cap);
    assert_string_equal(buf, "GET /p HTTP/1.1\r\nhost: other\r\nUser-Agent: me\r\nAccept: text/plain\r\n"
                             "Accept-Encoding: identity\r\n\r\n");
    assert_ptr_equal(buf, buf0);        /* a shorter head reuses the buffer */
    assert_int_equal(cap, cap0);
    const char *v;
    assert_int_equal(hwire_find(hs2, 3, "HOST", &v), 5);
    assert_memory_equal(v, "other", 5);
    assert_int_equal(hwire_find(hs2, 3, "Cookie", &v), -1);
    free(buf);
}

static void test_resolve(void **st)
{
    (void)st;
    char *b = NULL;
    size_t cap = 0;
    struct { const char *base, *loc, *want; } t[] = {
        { "http://h:1/a/b?q", "https://x/y", "https://x/y" },
        { "http://h:1/a/b?q", "//x:2/y", "http://x:2/y" },
        { "http://h:1/a/b?q", "/c", "http://h:1/c" },
        { "http://h:1/a/b?q", "c?d", "http://h:1/a/c?d" },
        { "http://h:1/a/b?q", "?z", "http://h:1/a/b?z" },
        { "http://h:1", "c", "http://h:1/c" },
        { "http://h:1", "?z", "http://h:1/?z" },
        { "http://h:1/a", "/b#frag", "http://h:1/b" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        long n = hwire_resolve(t[i].base, t[i].loc, strlen(t[i].loc), &b, &cap);
        assert_int_equal(n, (long)strlen(t[i].want));
        assert_string_equal(b, t[i].want);
    }
    free(b);
    assert_true(hwire_idempotent("GET"));
    assert_true(hwire_idempotent("DELETE"));
    assert_false(hwire_idempotent("POST"));
    assert_false(hwire_idempotent("PATCH"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
