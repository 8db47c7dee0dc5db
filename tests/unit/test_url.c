/* Unit tests for common/url.c: the one rule that joins a rendered step URL to the target
 * (http and ws steps) and reads its authority (the allowlist and the WebSocket flow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/url.h"

/* Joins through url_join_at in a buffer of exactly the room and text it promises to
 * need (so an overrun shows under ASan), and checks url_join_dup says the same. */
static void expect_join(url_kind k, const char *target, const char *rendered, const char *want)
{
    size_t room = url_join_room(target), n = strlen(rendered);
    char *buf = malloc(room + n + 1);
    assert_non_null(buf);
    memset(buf, '#', room);
    memcpy(buf + room, rendered, n + 1);
    size_t len = url_join_at(k, target, buf, room, n);
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    free(buf);
    char *d = url_join_dup(k, target, rendered);
    assert_non_null(d);
    assert_string_equal(d, want);
    free(d);
}

static void http_absolute_as_is(void **state)
{
    (void)state;
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "http://10.0.0.1/x", "http://10.0.0.1/x");
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "https://h.example/a?b=1", "https://h.example/a?b=1");
    /* schemes compare case-blind: what the allowlist reads as absolute, the engine sends so */
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "HTTP://10.0.0.1/", "HTTP://10.0.0.1/");
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "HttpS://10.0.0.1/", "HttpS://10.0.0.1/");
}

static void http_relative_joined(void **state)
{
    (void)state;
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "/orders?page=2", "http://127.0.0.1:8000/orders?page=2");
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "orders", "http://127.0.0.1:8000/orders");
    expect_join(URL_HTTP, "http://127.0.0.1:8000", "", "http://127.0.0.1:8000/");
    /* a target with a path keeps it; the rule adds one slash, never removes one */
    expect_join(URL_HTTP, "http://127.0.0.1:8000/api", "v1/x", "http://127.0.0.1:8000/api/v1/x");
    expect_join(URL_HTTP, "http://127.0.0.1:8000/", "/x", "http://127.0.0.1:8000//x");
    /* text that only looks like a scheme further in is a path */
    expect_join(URL_HTTP, "http://127.0.0.1", "/go?to=http://10.0.0.1/", "http://127.0.0.1/go?to=http://10.0.0.1/");
    expect_join(URL_HTTP, "http://127.0.0.1", "ws://10.0.0.1/", "http://127.0.0.1/ws://10.0.0.1/");
    expect_join(URL_HTTP, NULL, "/x", "/x");
}

static void ws_from_http_targets(void **state)
{
    (void)state;
    expect_join(URL_WS, "http://127.0.0.1:8000", "/ws/echo", "ws://127.0.0.1:8000/ws/echo");
    expect_join(URL_WS, "https://127.0.0.1:8443", "/ws/echo", "wss://127.0.0.1:8443/ws/echo");
    expect_join(URL_WS, "http://127.0.0.1:8000", "feed", "ws://127.0.0.1:8000/feed");
    expect_join(URL_WS, "HTTPS://127.0.0.1", "feed", "wss://127.0.0.1/feed");
    expect_join(URL_WS, "http://127.0.0.1:8000", "ws://10.0.0.1:9/a", "ws://10.0.0.1:9/a");
    expect_join(URL_WS, "http://127.0.0.1:8000", "wss://10.0.0.1/a", "wss://10.0.0.1/a");
    expect_join(URL_WS, "http://127.0.0.1:8000", "WSS://10.0.0.1/a", "WSS://10.0.0.1/a");
    expect_join(URL_WS, "http://127.0.0.1:8000", "http://10.0.0.1/a", "ws://10.0.0.1/a");
    expect_join(URL_WS, "http://127.0.0.1:8000", "https://10.0.0.1/a", "wss://10.0.0.1/a");
    expect_join(URL_WS, "http://[::1]:8000", "/ws", "ws://[::1]:8000/ws");
    /* a target without a scheme (the parser refuses it; the rule still fits its room) */
    expect_join(URL_WS, "127.0.0.1:8000", "/ws", "ws://127.0.0.1:8000/ws");
}

static void expect_host(const char *url, const char *host, int port)
{
    url_parts u;
    assert_int_equal(url_authority(url, &u), URL_OK);
    assert_false(u.templated);
    assert_int_equal(u.host_len, strlen(host));
    assert_memory_equal(u.host, host, u.host_len);
    assert_int_equal(u.port_num, port);
}

static void authority_forms(void **state)
{
    (void)state;
    expect_host("http://127.0.0.1:8000/x", "127.0.0.1", 8000);
    expect_host("http://127.0.0.1", "127.0.0.1", -1);
    expect_host("http://127.0.0.1?q=1", "127.0.0.1", -1);
    expect_host("http://127.0.0.1#frag", "127.0.0.1", -1);
    expect_host("http://[::1]:8080/", "::1", 8080);
    expect_host("ws://[fe80::1]/feed", "fe80::1", -1);
    /* the host follows the last '@' of the authority, as libcurl reads it */
    expect_host("http://127.0.0.1@10.0.0.1/", "10.0.0.1", -1);
    expect_host("http://a@b@10.0.0.2:81/p@q", "10.0.0.2", 81);
    expect_host("http://h:/", "h", 0);
    url_parts u;
    assert_int_equal(url_authority("wss://h.example/", &u), URL_OK);
    assert_int_equal(u.scheme_len, 3);
    assert_memory_equal(u.scheme, "wss", 3);
    /* a hole anywhere in the authority: the host is a template */
    assert_int_equal(url_authority("http://{{ host }}/x", &u), URL_OK);
    assert_true(u.templated);
    assert_int_equal(url_authority("http://127.0.0.1:{{ port }}/x", &u), URL_OK);
    assert_true(u.templated);
    assert_int_equal(url_authority("http://{{ u }}@127.0.0.1/x", &u), URL_OK);
    assert_true(u.templated);
    assert_int_equal(url_authority("http://127.0.0.1/{{ path }}", &u), URL_OK);
    assert_false(u.templated);
}

static void authority_refusals(void **state)
{
    (void)state;
    url_parts u;
    assert_int_equal(url_authority("/relative", &u), URL_ERR_SCHEME);
    assert_int_equal(url_authority("://h/", &u), URL_ERR_SCHEME);
    assert_int_equal(url_authority("1http://h/", &u), URL_ERR_SCHEME);
    assert_int_equal(url_authority("ht tp://h/", &u), URL_ERR_SCHEME);
    assert_int_equal(url_authority("/go?to=http://h/", &u), URL_ERR_SCHEME);
    assert_int_equal(url_authority("http://[::1/", &u), URL_ERR_BRACKET);
    assert_int_equal(url_authority("http://[::1]x/", &u), URL_ERR_AFTER_BRACKET);
    assert_int_equal(url_authority("http:///x", &u), URL_ERR_NO_HOST);
    assert_int_equal(url_authority("http://user@/x", &u), URL_ERR_NO_HOST);
    assert_int_equal(url_authority("http://h:65536/", &u), URL_ERR_PORT);
    assert_int_equal(url_authority("http://h:80a/", &u), URL_ERR_PORT);
    assert_int_equal(u.port_len, 3);
    assert_memory_equal(u.port, "80a", 3);
    assert_int_equal(url_authority("http://h:000080/", &u), URL_ERR_PORT);
}

static void http_prefix_and_absolute(void **state)
{
    (void)state;
    assert_true(url_http_prefix("", 0));
    assert_true(url_http_prefix("ht", 2));
    assert_true(url_http_prefix("HTTPS:/", 7));
    assert_true(url_http_prefix("http://", 7));
    assert_false(url_http_prefix("hx", 2));
    assert_false(url_http_prefix("http://x", 8));
    assert_true(url_is_absolute(URL_HTTP, "http://x"));
    assert_false(url_is_absolute(URL_HTTP, "ws://x"));
    assert_true(url_is_absolute(URL_WS, "ws://x"));
    assert_true(url_is_absolute(URL_WS, "https://x"));
    assert_false(url_is_absolute(URL_WS, "/ws"));
    assert_false(url_is_absolute(URL_HTTP, "http:/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_absolute_as_is),
        cmocka_unit_test(http_relative_joined),
        cmocka_unit_test(ws_from_http_targets),
        cmocka_unit_test(authority_forms),
        cmocka_unit_test(authority_refusals),
        cmocka_unit_test(http_prefix_and_absolute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
