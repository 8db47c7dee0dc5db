/* Unit tests for worker/cookie.c: a user's cookie jar (Set-Cookie in, Cookie out) with
 * the rules libcurl 7.88 applied for the same users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/cookie.h"

/* ---- counting allocations (not under ASan, which owns malloc) --------------------- */

#include "tests/unit/alloc_count.h"

#define NOW INT64_C(1700000000)

/* One response header block holding the given Set-Cookie values. */
static int take1(cookie_jar *j, const char *host, const char *path, bool https, int64_t now,
                 const char *set_cookie)
{
    char block[12000];
    int n = snprintf(block, sizeof block, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                     "Set-Cookie: %s\r\n\r\n", set_cookie);
    assert_true(n > 0 && (size_t)n < sizeof block);
    return cookie_jar_take(j, block, (size_t)n, host, path, https, now);
}

/* The Cookie value for a request, "" when none (a static buffer reused by each call,
 * as the lean client reuses its request buffer). */
static char *hbuf;
static size_t hcap;

static const char *header(cookie_jar *j, const char *host, const char *path, bool https,
                          int64_t now)
{
    long n = cookie_jar_header(j, host, path, https, now, &hbuf, &hcap, 0);
    assert_true(n >= 0);
    if (n == 0) return "";
    assert_int_equal(strlen(hbuf), (size_t)n);
    return hbuf;
}

static int teardown(void **state)
{
    (void)state;
    free(hbuf);
    hbuf = NULL;
    hcap = 0;
    return 0;
}

/* The stored cookie named name (first match), or NULL. */
static const struct cookie *find(const cookie_jar *j, const char *name)
{
    for (uint32_t i = 0; i < j->n; i++)
        if (strcmp(cookie_name(&j->c[i]), name) == 0) return &j->c[i];
    return NULL;
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = s };
    return (int64_t)timegm(&tm);
}

static void empty_jar(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(sizeof j, 16);
    assert_null(j.c);
    assert_string_equal(header(&j, "example.com", "/", false, NOW), "");
    assert_int_equal(cookie_jar_take(&j, "HTTP/1.1 200 OK\r\n\r\n", 19, "example.com", "/",
                                     false, NOW), 0);
    assert_null(j.c);                   /* nothing stored: nothing allocated */
    cookie_jar_fini(&j);
    cookie_jar_fini(&j);                /* twice is harmless */
}

static void host_only_and_domain(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "sub.example.com", "/", false, NOW, "h=1"), 1);
    assert_int_equal(take1(&j, "sub.example.com", "/", false, NOW, "d=2; Domain=example.com"), 1);
    assert_int_equal(take1(&j, "sub.example.com", "/", false, NOW, "e=3; Domain=.EXAMPLE.com"), 1);
    assert_true(find(&j, "h")->host_only);
    assert_false(find(&j, "d")->host_only);
    assert_string_equal(cookie_domain(find(&j, "e")), "example.com");

    assert_string_equal(header(&j, "sub.example.com", "/", false, NOW), "h=1; d=2; e=3");
    assert_string_equal(header(&j, "example.com", "/", false, NOW), "d=2; e=3");
    assert_string_equal(header(&j, "other.example.com", "/", false, NOW), "d=2; e=3");
    assert_string_equal(header(&j, "a.sub.example.com", "/", false, NOW), "d=2; e=3");
    assert_string_equal(header(&j, "notexample.com", "/", false, NOW), "");
    assert_string_equal(header(&j, "example.org", "/", false, NOW), "");

    /* domains the host does not belong to, or too wide without a public suffix list */
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "x=1; Domain=sub.example.com"), 0);
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "x=1; Domain=ample.com"), 0);
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "x=1; Domain=com"), 0);
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "x=1; Domain=."), 0);
    assert_int_equal(take1(&j, "a.1.2.3.4", "/", false, NOW, "x=1; Domain=1.2.3.4"), 0);
    assert_null(find(&j, "x"));
    /* an empty Domain is no attribute: host-only */
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "y=1; Domain="), 1);
    assert_true(find(&j, "y")->host_only);

    /* an address sets cookies for itself only */
    assert_int_equal(take1(&j, "10.0.0.7", "/", false, NOW, "ip=1; Domain=10.0.0.8"), 0);
    assert_int_equal(take1(&j, "10.0.0.7", "/", false, NOW, "ip=2; Domain=10.0.0.7"), 1);
    assert_true(find(&j, "ip")->host_only);
    assert_string_equal(header(&j, "10.0.0.7", "/", false, NOW), "ip=2");
    assert_string_equal(header(&j, "10.0.0.8", "/", false, NOW), "");
    assert_int_equal(take1(&j, "[::1]", "/", false, NOW, "v6=1; Domain=::1"), 1);
    assert_string_equal(header(&j, "[::1]", "/", false, NOW), "v6=1");
    cookie_jar_fini(&j);
}

static void path_matching(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "a=1; Path=/a"), 1);
    assert_string_equal(header(&j, "h.test", "/a", false, NOW), "a=1");
    assert_string_equal(header(&j, "h.test", "/a/", false, NOW), "a=1");
    assert_string_equal(header(&j, "h.test", "/a/b", false, NOW), "a=1");
    assert_string_equal(header(&j, "h.test", "/a?q=1", false, NOW), "a=1");
    assert_string_equal(header(&j, "h.test", "/ab", false, NOW), "");
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "");
    assert_string_equal(header(&j, "h.test", "/b/a", false, NOW), "");
    assert_string_equal(header(&j, "h.test", "/A", false, NOW), "");      /* case counts */
    /* a trailing '/' and quotes are dropped, as libcurl */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "b=2; Path=\"/x/\""), 1);
    assert_string_equal(cookie_path(find(&j, "b")), "/x");
    assert_string_equal(header(&j, "h.test", "/x", false, NOW), "b=2");
    assert_string_equal(header(&j, "h.test", "/xy", false, NOW), "");
    cookie_jar_fini(&j);
}

static void default_path(void **state)
{
    (void)state;
    static const struct { const char *req, *attr, *want; } cases[] = {
        { "/session/login", "", "/session" },
        { "/login", "", "/" },
        { "", "", "/" },
        { "nope", "", "/" },
        { "/a/b/", "", "/a/b" },
        { "/x/y?z=/q/r", "", "/x" },
        { "/x/y", "; Path=rel", "/x" },          /* not starting with '/': the default */
        { "/x/y", "; Path=", "/x" },
        { "/x/y", "; Path=/p; Path=q", "/x" },   /* the last Path wins */
        { "/x/y", "; Path=q; Path=/p", "/p" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cookie_jar j;
        cookie_jar_init(&j);
        char line[64];
        snprintf(line, sizeof line, "c=1%s", cases[i].attr);
        assert_int_equal(take1(&j, "h.test", cases[i].req, false, NOW, line), 1);
        assert_string_equal(cookie_path(&j.c[0]), cases[i].want);
        cookie_jar_fini(&j);
    }
}

static void max_age_zero_deletes(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "a=1"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "b=1"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "a=; Max-Age=0"), 1);
    assert_int_equal(j.n, 1);
    assert_null(find(&j, "a"));
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "b=1; Max-Age=-5"), 1);
    assert_int_equal(j.n, 0);
    /* deleting what is not there changes nothing */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "b=1; Max-Age=0"), 0);
    /* the delete must name the same path and domain */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "p=1; Path=/p"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "p=1; Max-Age=0"), 0);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "p=1; Path=/p; Max-Age=0"), 1);
    assert_int_equal(j.n, 0);
    /* a positive Max-Age lives that many seconds; text that is no number is ignored */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "m=1; Max-Age=100"), 1);
    assert_string_equal(header(&j, "h.test", "/", false, NOW + 99), "m=1");
    assert_string_equal(header(&j, "h.test", "/", false, NOW + 100), "");
    assert_int_equal(j.n, 0);                                   /* dropped when met */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "m=1; Max-Age=soon"), 1);
    assert_true(j.c[0].expires_s == INT64_MAX);
    /* quoted as libcurl reads it; a huge one saturates and never wraps into the past */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "m=1; Max-Age=\"60\""), 1);
    assert_true(j.c[0].expires_s == NOW + 60);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "m=1; Max-Age=99999999999999999999999"), 1);
    assert_true(j.c[0].expires_s > NOW + INT64_C(1000000000000));
    assert_string_equal(header(&j, "h.test", "/", false, INT64_MAX / 2), "m=1");
    cookie_jar_fini(&j);
}

static void expires_dates(void **state)
{
    (void)state;
    int64_t t = utc(2015, 10, 21, 7, 28, 0);
    static const char *forms[] = {
        "Wed, 21 Oct 2015 07:28:00 GMT",        /* RFC 1123 */
        "Wednesday, 21-Oct-15 07:28:00 GMT",    /* RFC 850 */
        "Wed Oct 21 07:28:00 2015",             /* asctime */
        "21 oct 2015 7:28:0",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cookie_jar j;
        cookie_jar_init(&j);
        char line[128];
        snprintf(line, sizeof line, "e=1; Expires=%s", forms[i]);
        assert_int_equal(take1(&j, "h.test", "/", false, t - 10, line), 1);
        assert_true(j.c[0].expires_s == t);
        assert_string_equal(header(&j, "h.test", "/", false, t - 1), "e=1");
        assert_string_equal(header(&j, "h.test", "/", false, t), "");
        /* the same date seen after it passed deletes the cookie */
        assert_int_equal(take1(&j, "h.test", "/", false, t - 10, "e=1"), 1);
        assert_int_equal(take1(&j, "h.test", "/", false, t + 10, line), 1);
        assert_int_equal(j.n, 0);
        cookie_jar_fini(&j);
    }
    /* what is no date leaves a session cookie; so does an impossible one */
    static const char *bad[] = { "tomorrow", "Wed, 32 Oct 2015 07:28:00 GMT",
                                 "Wed, 21 Oct 2015 24:00:00 GMT", "Wed, 21 Oct 1600 07:28:00 GMT",
                                 "Wed, 21 Foo 2015 07:28:00 GMT", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cookie_jar j;
        cookie_jar_init(&j);
        char line[128];
        snprintf(line, sizeof line, "s=1; Expires=%s", bad[i]);
        assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 1);
        assert_true(j.c[0].expires_s == INT64_MAX);
        cookie_jar_fini(&j);
    }
    /* two-digit years: 70-99 are 19xx, 00-69 20xx */
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, 0, "y=1; Expires=Sun, 06 Nov 94 08:49:37 GMT"), 1);
    assert_true(j.c[0].expires_s == utc(1994, 11, 6, 8, 49, 37));
    assert_int_equal(take1(&j, "h.test", "/", false, 0, "y=1; Expires=Tue, 19 Jan 38 03:14:08 GMT"), 1);
    assert_true(j.c[0].expires_s == utc(2038, 1, 19, 3, 14, 8));
    cookie_jar_fini(&j);
}

static void max_age_over_expires(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    /* a past Expires, but Max-Age keeps it: wherever Max-Age stands */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW,
                           "a=1; Expires=Thu, 01 Jan 2015 00:00:00 GMT; Max-Age=60"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW,
                           "b=1; Max-Age=60; Expires=Thu, 01 Jan 2015 00:00:00 GMT"), 1);
    assert_true(find(&j, "a")->expires_s == NOW + 60);
    assert_true(find(&j, "b")->expires_s == NOW + 60);
    /* a far Expires, but Max-Age=0 deletes */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW,
                           "a=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=0"), 1);
    assert_null(find(&j, "a"));
    assert_string_equal(header(&j, "h.test", "/", false, NOW + 59), "b=1");
    assert_string_equal(header(&j, "h.test", "/", false, NOW + 61), "");
    cookie_jar_fini(&j);
}

static void secure_cookies(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    /* refused from http, taken from https */
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "s=1; Secure"), 0);
    assert_int_equal(j.n, 0);
    assert_int_equal(take1(&j, "example.com", "/", true, NOW, "s=1; Secure; HttpOnly"), 1);
    assert_int_equal(take1(&j, "example.com", "/", true, NOW, "p=2"), 1);
    assert_true(find(&j, "s")->secure);
    assert_true(find(&j, "s")->http_only);
    /* sent over https only */
    assert_string_equal(header(&j, "example.com", "/", true, NOW), "s=1; p=2");
    assert_string_equal(header(&j, "example.com", "/", false, NOW), "p=2");
    /* from http, no cookie may overlay the Secure one */
    assert_int_equal(take1(&j, "example.com", "/", false, NOW, "s=evil"), 0);
    assert_string_equal(cookie_value(find(&j, "s")), "1");
    /* libcurl 7.88 counts localhost and the loopback addresses as secure contexts */
    assert_int_equal(take1(&j, "127.0.0.1", "/", false, NOW, "l=1; Secure"), 1);
    assert_string_equal(header(&j, "127.0.0.1", "/", false, NOW), "l=1");
    assert_int_equal(take1(&j, "localhost", "/", false, NOW, "l=2; Secure"), 1);
    assert_string_equal(header(&j, "localhost", "/", false, NOW), "l=2");
    /* name prefixes */
    assert_int_equal(take1(&j, "example.com", "/", true, NOW, "__Secure-a=1"), 0);
    assert_int_equal(take1(&j, "example.com", "/", true, NOW, "__Secure-a=1; Secure"), 1);
    assert_int_equal(take1(&j, "example.com", "/", true, NOW,
                           "__Host-b=1; Secure; Path=/; Domain=example.com"), 0);
    assert_int_equal(take1(&j, "example.com", "/x/y", true, NOW, "__Host-b=1; Secure"), 0);
    assert_int_equal(take1(&j, "example.com", "/x/y", true, NOW, "__Host-b=1; Secure; Path=/"), 1);
    cookie_jar_fini(&j);
}

static void replace_in_place(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "first=0"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=abcdef; Path=/"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "last=9"), 1);
    const struct cookie *c = find(&j, "sid");
    const char *mem = c->mem;
    struct cookie *slots = j.c;
#if COUNTING
    size_t n0 = nallocs;
#endif
    for (int i = 0; i < 100; i++)
        assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=abcdef; Path=/"), 1);
#if COUNTING
    assert_int_equal(nallocs - n0, 0);
#endif
    assert_int_equal(j.n, 3);
    assert_ptr_equal(j.c, slots);
    assert_ptr_equal(find(&j, "sid"), c);
    assert_ptr_equal(c->mem, mem);
    /* a new value of the same size, new attributes: same slot, same memory, same place */
#if COUNTING
    n0 = nallocs;
#endif
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=uvwxyz; Path=/; Max-Age=30"), 1);
#if COUNTING
    assert_int_equal(nallocs - n0, 0);
#endif
    assert_int_equal(j.n, 3);
    assert_ptr_equal(find(&j, "sid"), c);
    assert_ptr_equal(c->mem, mem);
    assert_string_equal(cookie_value(c), "uvwxyz");
    assert_true(c->expires_s == NOW + 30);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "first=0; sid=uvwxyz; last=9");
    /* the name compares without case, as libcurl */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "SID=upper"), 1);
    assert_int_equal(j.n, 3);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "first=0; SID=upper; last=9");
    /* another path or a domain cookie is another cookie */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=2; Path=/x"), 1);
    assert_int_equal(take1(&j, "a.h.test", "/", false, NOW, "sid=3; Domain=h.test"), 1);
    assert_int_equal(j.n, 5);
    /* a longer value grows the slot and keeps its place */
    char big[300];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char line[320];
    snprintf(line, sizeof line, "SID=%s", big);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 1);
    assert_int_equal(j.n, 5);
    assert_string_equal(cookie_value(&j.c[1]), big);
    assert_string_equal(cookie_name(&j.c[0]), "first");
    cookie_jar_fini(&j);
}

static void several_answers(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    static const char block[] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Other: 2\r\nset-cookie:b=2\r\n"
        "SET-COOKIE:   c=3 ; Path=/  \r\n\r\n";
    assert_int_equal(cookie_jar_take(&j, block, sizeof block - 1, "h.test", "/", false, NOW), 3);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "a=1; b=2; c=3");
    cookie_jar_fini(&j);

    /* bare LF line ends; no newline at the very end; a part from an offset */
    cookie_jar_init(&j);
    static const char lf[] = "HTTP/1.1 302 Found\nSet-Cookie: old=1\n\n"
                             "HTTP/1.1 200 OK\nSet-Cookie: x=1\nSet-Cookie: y=2";
    const char *second = strstr(lf, "HTTP/1.1 200");
    assert_int_equal(cookie_jar_take(&j, second, strlen(second), "h.test", "/", false, NOW), 2);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "x=1; y=2");
    /* the length bounds the block: a line cut short is read as cut */
    assert_int_equal(cookie_jar_take(&j, lf, strlen("HTTP/1.1 302 Found\nSet-Cookie: old"),
                                     "h.test", "/", false, NOW), 0);
    cookie_jar_fini(&j);
}

static void malformed_lines(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    static const char *bad[] = {
        "", "novalue", "=v", " = v", "a\001=b", "a=b\177", "a=b\tc", "a\tb=c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(take1(&j, "h.test", "/", false, NOW, bad[i]), 0);
    static const char others[] = "HTTP/1.1 200 OK\r\nSet-Cookie : a=1\r\nX-Set-Cookie: b=1\r\n"
                                 "Set-Cookie\r\nSet-Cookie: c=1\0x\r\n\r\n";
    assert_int_equal(cookie_jar_take(&j, others, sizeof others - 1, "h.test", "/", false, NOW), 0);
    assert_int_equal(j.n, 0);
    assert_null(j.c);
    /* an empty value, odd attributes and a quoted value are fine */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "e="), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "q=\"a b\"; ; =; Foo; SameSite=Lax"), 1);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "e=; q=\"a b\"");

    /* name + value: 4096 bytes are kept, 4097 are not */
    char *line = malloc(COOKIE_LINE_MAX + 100);
    assert_non_null(line);
    memset(line, 'n', 96);
    line[96] = '=';
    memset(line + 97, 'v', COOKIE_NAME_VALUE_MAX - 96);
    line[97 + COOKIE_NAME_VALUE_MAX - 96] = '\0';
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 1);
    assert_int_equal(j.n, 3);
    line[96] = 'n';                                 /* "nnn...n=" one byte longer */
    line[97] = '=';
    memset(line + 98, 'w', COOKIE_NAME_VALUE_MAX - 96);
    line[98 + COOKIE_NAME_VALUE_MAX - 96] = '\0';
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 0);
    /* a line beyond COOKIE_LINE_MAX is ignored whole */
    snprintf(line, COOKIE_LINE_MAX + 100, "long=1; x=");
    size_t n = strlen(line);
    memset(line + n, 'x', COOKIE_LINE_MAX + 50 - n);
    line[COOKIE_LINE_MAX + 50] = '\0';
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 0);
    assert_null(find(&j, "long"));
    free(line);
    cookie_jar_fini(&j);
}

static void limit_per_jar(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    char line[32];
    for (int i = 0; i < COOKIE_JAR_MAX + 6; i++) {
        snprintf(line, sizeof line, "c%d=%d", i, i);
        assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 1);
        assert_true(j.n <= COOKIE_JAR_MAX);
    }
    assert_int_equal(j.n, COOKIE_JAR_MAX);
    assert_int_equal(j.cap, COOKIE_JAR_MAX);
    for (int i = 0; i < COOKIE_JAR_MAX + 6; i++) {
        snprintf(line, sizeof line, "c%d", i);
        if (i < 6) assert_null(find(&j, line));        /* the oldest went */
        else assert_non_null(find(&j, line));
    }
    /* expired cookies go before the oldest live one */
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "c40=x; Max-Age=10"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW + 20, "fresh=1"), 1);
    assert_null(find(&j, "c40"));
    assert_non_null(find(&j, "c6"));
    assert_int_equal(j.n, COOKIE_JAR_MAX);
    cookie_jar_fini(&j);
}

static void header_order_and_buffer(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "a=1; Path=/"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "b=2; Path=/x/y"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "c=3; Path=/x"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "d=4; Path=/"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "e=5; Path=/x/z"), 1);
    assert_string_equal(header(&j, "h.test", "/x/y/z", false, NOW), "b=2; c=3; a=1; d=4");
    assert_string_equal(header(&j, "h.test", "/x/z", false, NOW), "e=5; c=3; a=1; d=4");

    /* appended at the offset, what is before it kept; the buffer stops growing */
    char *buf = NULL;
    size_t cap = 0;
    long n = cookie_jar_header(&j, "h.test", "/x", false, NOW, &buf, &cap, 0);
    assert_int_equal(n, strlen("c=3; a=1; d=4"));
    memcpy(buf, "Cookie: ", 8);
    n = cookie_jar_header(&j, "h.test", "/x", false, NOW, &buf, &cap, 8);
    assert_int_equal(n, strlen("c=3; a=1; d=4"));
    assert_string_equal(buf, "Cookie: c=3; a=1; d=4");
    char *was = buf;
    size_t capwas = cap;
#if COUNTING
    size_t n0 = nallocs;
#endif
    for (int i = 0; i < 50; i++)
        assert_int_equal(cookie_jar_header(&j, "h.test", "/x", false, NOW, &buf, &cap, 8), n);
#if COUNTING
    assert_int_equal(nallocs - n0, 0);
#endif
    assert_ptr_equal(buf, was);
    assert_int_equal(cap, capwas);
    /* none for the request: nothing appended, the buffer untouched */
    assert_int_equal(cookie_jar_header(&j, "other.test", "/x", false, NOW, &buf, &cap, 8), 0);
    assert_string_equal(buf, "Cookie: c=3; a=1; d=4");
    free(buf);
    cookie_jar_fini(&j);

    /* the value stays below COOKIE_HEADER_MAX: what does not fit is not sent */
    cookie_jar_init(&j);
    char *line = malloc(COOKIE_NAME_VALUE_MAX + 1);
    assert_non_null(line);
    for (int i = 0; i < 3; i++) {
        int k = snprintf(line, 8, "k%d=", i);
        memset(line + k, 'a' + i, 3000);
        line[k + 3000] = '\0';
        assert_int_equal(take1(&j, "h.test", "/", false, NOW, line), 1);
    }
    const char *h = header(&j, "h.test", "/", false, NOW);
    assert_true(strlen(h) < COOKIE_HEADER_MAX);
    assert_int_equal(strlen(h), 2 * (3 + 3000) + 2);
    assert_null(strstr(h, "k2="));
    free(line);
    cookie_jar_fini(&j);
}

static void clear_keeps_memory(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=12345678"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "csrf=abcdefgh"), 1);
    struct cookie *slots = j.c;
    const char *mem0 = j.c[0].mem;
    cookie_jar_clear(&j);
    assert_int_equal(j.n, 0);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "");
    /* the next session's cookies land in the same memory */
#if COUNTING
    size_t n0 = nallocs;
#endif
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=87654321"), 1);
#if COUNTING
    assert_int_equal(nallocs - n0, 0);
#endif
    assert_ptr_equal(j.c, slots);
    assert_ptr_equal(j.c[0].mem, mem0);
    assert_string_equal(header(&j, "h.test", "/", false, NOW), "sid=87654321");
    /* a removed cookie's memory serves the next one too */
    const char *mem1 = j.c[0].mem;
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "sid=; Max-Age=0"), 1);
    assert_int_equal(take1(&j, "h.test", "/", false, NOW, "new=1"), 1);
    assert_ptr_equal(j.c[0].mem, mem1);
    cookie_jar_fini(&j);
    assert_null(j.c);
    assert_int_equal(j.n, 0);
}

/* The target's login (tests/target/target.c): two cookies with Path=/session, one with
 * an Expires date an hour ahead; the page below it gets both, another path neither. */
static void login_session(void **state)
{
    (void)state;
    cookie_jar j;
    cookie_jar_init(&j);
    char exp[64], block[512];
    time_t t = (time_t)NOW + 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof exp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int n = snprintf(block, sizeof block, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Set-Cookie: sid=0123abcd; Path=/session; HttpOnly; SameSite=Lax\r\n"
                     "Set-Cookie: csrf=feed4567; Path=/session; Expires=%s\r\n"
                     "Content-Length: 2\r\n\r\n", exp);
    assert_int_equal(cookie_jar_take(&j, block, (size_t)n, "127.0.0.1", "/session/login",
                                     false, NOW), 2);
    assert_string_equal(header(&j, "127.0.0.1", "/session/page", false, NOW + 1),
                        "sid=0123abcd; csrf=feed4567");
    assert_string_equal(header(&j, "127.0.0.1", "/other", false, NOW + 1), "");
    /* a user's steady state: the server sets the same cookies again on every answer,
     * each request writes its Cookie value; nothing allocates */
#if COUNTING
    size_t n0 = nallocs;
#endif
    for (int i = 0; i < 20; i++) {
        assert_int_equal(cookie_jar_take(&j, block, (size_t)n, "127.0.0.1", "/session/login",
                                         false, NOW + 2), 2);
        assert_string_equal(header(&j, "127.0.0.1", "/session/page", false, NOW + 2),
                            "sid=0123abcd; csrf=feed4567");
    }
#if COUNTING
    assert_int_equal(nallocs - n0, 0);
#endif
    assert_int_equal(j.n, 2);
    assert_string_equal(header(&j, "127.0.0.1", "/session/page", false, NOW + 3600),
                        "sid=0123abcd");
    cookie_jar_fini(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(empty_jar, teardown),
        cmocka_unit_test_teardown(host_only_and_domain, teardown),
        cmocka_unit_test_teardown(path_matching, teardown),
        cmocka_unit_test_teardown(default_path, teardown),
        cmocka_unit_test_teardown(max_age_zero_deletes, teardown),
        cmocka_unit_test_teardown(expires_dates, teardown),
        cmocka_unit_test_teardown(max_age_over_expires, teardown),
        cmocka_unit_test_teardown(secure_cookies, teardown),
        cmocka_unit_test_teardown(replace_in_place, teardown),
        cmocka_unit_test_teardown(several_answers, teardown),
        cmocka_unit_test_teardown(malformed_lines, teardown),
        cmocka_unit_test_teardown(limit_per_jar, teardown),
        cmocka_unit_test_teardown(header_order_and_buffer, teardown),
        cmocka_unit_test_teardown(clear_keeps_memory, teardown),
        cmocka_unit_test_teardown(login_session, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
