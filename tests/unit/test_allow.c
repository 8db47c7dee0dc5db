/* Worker allowlist: specs parse, format and round-trip; bad specs are refused whole;
 * IPv4/IPv6 membership (with prefixes and IPv4-mapped addresses); the default admits
 * loopback only; URLs are judged by the host libcurl would reach (userinfo, ports,
 * IPv6 literals, names, template hosts); scenarios are checked through their target and
 * every http step's URL, including templated ones, inside loops and groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "worker/allow.h"

/* ---- helpers ----------------------------------------------------------------------- */

static allow_list parse_ok(const char *spec)
{
    allow_list a;
    char err[512] = "";
    if (allow_parse(&a, spec, err, sizeof err) != 0)
        fail_msg("allow_parse(\"%s\") failed: %s", spec, err);
    return a;
}

static bool addr_in(const allow_list *a, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        fail_msg("bad test address %s", ip);
    return allow_addr(a, (struct sockaddr *)&ss);
}

/* ---- parse and format -------------------------------------------------------------- */

static void test_parse_and_format(void **state)
{
    (void)state;
    char buf[512];
    allow_list a = parse_ok("10.0.0.0/8,192.168.1.7,::1/128");
    assert_int_equal(a.n, 3);
    assert_int_equal(a.nets[0].family, AF_INET);
    assert_int_equal(a.nets[0].prefix, 8);
    assert_int_equal(a.nets[1].prefix, 32);             /* bare IPv4: /32 */
    assert_int_equal(a.nets[2].family, AF_INET6);
    allow_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "10.0.0.0/8,192.168.1.7/32,::1/128");

    /* Blanks trimmed, host bits cleared, bare IPv6 is /128, brackets accepted. */
    a = parse_ok(" 10.1.2.3/8 , fd12:3456::1/16,\t2001:db8::5 ,[::1]");
    allow_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "10.0.0.0/8,fd12::/16,2001:db8::5/128,::1/128");

    a = parse_ok("0.0.0.0/0,::/0");
    allow_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "0.0.0.0/0,::/0");

    allow_default(&a);
    allow_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "127.0.0.0/8,::1/128");

    /* A small buffer is cut but stays a string. */
    char small[12];
    allow_format(&a, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    assert_int_equal(strncmp(small, "127.0.0.0/8", strlen(small)), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "127.0.0.0/8,::1/128",
        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
        "1.2.3.4/32,1.2.3.0/25,1.2.0.0/23,2001:db8:abcd:12::/63",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        allow_list a = parse_ok(specs[i]), b;
        char buf[512], buf2[512];
        allow_format(&a, buf, sizeof buf);
        assert_string_equal(buf, specs[i]);
        b = parse_ok(buf);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.nets, b.nets, sizeof a.nets[0] * (size_t)a.n);
        allow_format(&b, buf2, sizeof buf2);
        assert_string_equal(buf, buf2);
    }
}

static void test_bad_specs(void **state)
{
    (void)state;
    static const struct { const char *spec, *msg; } bad[] = {
        { "", "empty entry" },
        { ",", "empty entry" },
        { "10.0.0.0/8,", "empty entry" },
        { "10.0.0.0/8,,::1", "empty entry" },
        { "10.0.0.0/33", "0 to 32" },
        { "::1/129", "0 to 128" },
        { "10.0.0.0/", "prefix" },
        { "10.0.0.0/-1", "prefix" },
        { "10.0.0.0/+8", "prefix" },
        { "10.0.0.0/8x", "prefix" },
        { "300.1.1.1", "not an IPv4 or IPv6" },
        { "db.example.com", "not an IPv4 or IPv6" },
        { "10.0.0", "not an IPv4 or IPv6" },
        { "::1::2", "not an IPv4 or IPv6" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        allow_list a;
        allow_default(&a);
        char err[512] = "";
        if (allow_parse(&a, bad[i].spec, err, sizeof err) != -1)
            fail_msg("allow_parse(\"%s\") should fail", bad[i].spec);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("allow_parse(\"%s\"): message \"%s\" lacks \"%s\"", bad[i].spec, err,
                     bad[i].msg);
        /* The list is untouched by a failed parse. */
        char buf[128];
        allow_format(&a, buf, sizeof buf);
        assert_string_equal(buf, "127.0.0.0/8,::1/128");
    }

    /* ALLOW_MAX entries fit; one more does not. */
    char spec[ALLOW_MAX * 20 + 32] = "";
    for (int i = 0; i < ALLOW_MAX; i++)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s10.0.%d.0/24", i ? "," : "", i);
    allow_list a = parse_ok(spec);
    assert_int_equal(a.n, ALLOW_MAX);
    strcat(spec, ",10.1.0.0/16");
    char err[512] = "";
    assert_int_equal(allow_parse(&a, spec, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 64"));
}

/* ---- membership -------------------------------------------------------------------- */

static void test_membership(void **state)
{
    (void)state;
    allow_list a = parse_ok("10.0.0.0/8,192.168.1.7,172.16.0.0/12,fd00::/8,2001:db8::1");
    assert_true(addr_in(&a, "10.0.0.0"));
    assert_true(addr_in(&a, "10.255.255.255"));
    assert_false(addr_in(&a, "11.0.0.0"));
    assert_false(addr_in(&a, "9.255.255.255"));
    assert_true(addr_in(&a, "192.168.1.7"));
    assert_false(addr_in(&a, "192.168.1.8"));
    assert_true(addr_in(&a, "172.31.255.255"));         /* /12: 172.16 - 172.31 */
    assert_false(addr_in(&a, "172.32.0.0"));
    assert_false(addr_in(&a, "172.15.255.255"));
    assert_true(addr_in(&a, "fd12:3456::1"));
    assert_false(addr_in(&a, "fe80::1"));
    assert_true(addr_in(&a, "2001:db8::1"));
    assert_false(addr_in(&a, "2001:db8::2"));
    assert_true(addr_in(&a, "::ffff:10.1.2.3"));        /* IPv4-mapped reaches 10.1.2.3 */
    assert_false(addr_in(&a, "::ffff:11.1.2.3"));
    assert_false(addr_in(&a, "127.0.0.1"));             /* loopback is not implied */
    assert_false(addr_in(&a, "::1"));

    /* Families do not mix: 0.0.0.0/0 says nothing about IPv6. */
    allow_list v4 = parse_ok("0.0.0.0/0");
    assert_true(addr_in(&v4, "8.8.8.8"));
    assert_false(addr_in(&v4, "2001:db8::1"));
    allow_list v6 = parse_ok("::/0");
    assert_true(addr_in(&v6, "2001:db8::1"));
    assert_false(addr_in(&v6, "8.8.8.8"));

    /* Odd prefixes. */
    allow_list odd = parse_ok("10.128.0.0/9,2001:db8:8000::/33");
    assert_true(addr_in(&odd, "10.200.0.1"));
    assert_false(addr_in(&odd, "10.127.255.255"));
    assert_true(addr_in(&odd, "2001:db8:8000::1"));
    assert_false(addr_in(&odd, "2001:db8:7fff::1"));

    struct sockaddr unknown = { .sa_family = AF_UNIX };
    assert_false(allow_addr(&a, &unknown));
    assert_false(allow_addr(&a, NULL));
}

static void test_default_loopback(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    assert_true(addr_in(&a, "127.0.0.1"));
    assert_true(addr_in(&a, "127.0.0.2"));
    assert_true(addr_in(&a, "127.255.255.254"));
    assert_true(addr_in(&a, "::1"));
    assert_true(addr_in(&a, "::ffff:127.0.0.1"));
    assert_false(addr_in(&a, "10.0.0.1"));
    assert_false(addr_in(&a, "128.0.0.1"));
    assert_false(addr_in(&a, "0.0.0.0"));
    assert_false(addr_in(&a, "::"));
    assert_false(addr_in(&a, "::2"));
    assert_false(addr_in(&a, "192.168.1.1"));
}

/* ---- URLs -------------------------------------------------------------------------- */

static void expect_url(const allow_list *a, const char *url, int want, const char *msg)
{
    char why[1024] = "";
    int got = allow_check_url(a, url, why, sizeof why);
    if (got != want)
        fail_msg("allow_check_url(\"%s\") = %d, want %d (%s)", url, got, want, why);
    if (msg != NULL && strstr(why, msg) == NULL)
        fail_msg("allow_check_url(\"%s\"): \"%s\" lacks \"%s\"", url, why, msg);
}

static void test_url_default(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    expect_url(&a, "http://127.0.0.1:8000/api/orders", 0, NULL);
    expect_url(&a, "https://127.0.0.2/", 0, NULL);
    expect_url(&a, "http://127.0.0.1", 0, NULL);
    expect_url(&a, "http://127.0.0.1?x=1", 0, NULL);
    expect_url(&a, "http://[::1]:8080/x", 0, NULL);
    expect_url(&a, "http://[::1]/x", 0, NULL);
    expect_url(&a, "http://[::ffff:127.0.0.1]/x", 0, NULL);
    expect_url(&a, "http://localhost:8000/", 0, NULL);
    expect_url(&a, "ws://localhost/feed", 0, NULL);
    expect_url(&a, "http://user:pw@127.0.0.1:8000/", 0, NULL);
    expect_url(&a, "http://127.0.0.1:/x", 0, NULL);                 /* empty port */
    expect_url(&a, "http://127.0.0.1:65535/x", 0, NULL);

    expect_url(&a, "http://10.0.0.1/", -1, "target 10.0.0.1 is outside --allow 127.0.0.0/8,::1/128");
    expect_url(&a, "HTTP://10.0.0.1:8000/x", -1, "10.0.0.1");
    expect_url(&a, "http://0.0.0.0:8000/", -1, "0.0.0.0");
    expect_url(&a, "http://[::ffff:10.0.0.1]/", -1, "::ffff:10.0.0.1");
    expect_url(&a, "http://[2001:db8::1]:80/", -1, "2001:db8::1");
    /* The host is what follows the last '@' of the authority. */
    expect_url(&a, "http://127.0.0.1@10.0.0.1/", -1, "10.0.0.1");
    expect_url(&a, "http://127.0.0.1:80@10.0.0.1/", -1, "10.0.0.1");
    /* ... and the authority ends at '/', '?' or '#'. */
    expect_url(&a, "http://10.0.0.1#@127.0.0.1/", -1, "10.0.0.1");
    expect_url(&a, "http://10.0.0.1/@127.0.0.1", -1, "10.0.0.1");
    expect_url(&a, "http://127.0.0.1/?u=http://10.0.0.1/", 0, NULL);

    /* Ports and malformed URLs. */
    expect_url(&a, "http://127.0.0.1:65536/", -1, "port");
    expect_url(&a, "http://127.0.0.1:8x/", -1, "port");
    expect_url(&a, "http://127.0.0.1:-1/", -1, "port");
    expect_url(&a, "http://127.0.0.1:000008000/", -1, "port");
    expect_url(&a, "http://[::1/", -1, "unclosed");
    expect_url(&a, "http://[::1]x/", -1, "after ']'");
    expect_url(&a, "http:///x", -1, "no host");
    expect_url(&a, "http://:8000/x", -1, "no host");
    expect_url(&a, "127.0.0.1:8000", -1, "not an absolute URL");
    expect_url(&a, "/api/orders", -1, "not an absolute URL");
    expect_url(&a, "://127.0.0.1/", -1, "not an absolute URL");
    expect_url(&a, "http://name.invalid/", -1, "cannot resolve");
}

static void test_url_wider_lists(void **state)
{
    (void)state;
    allow_list a = parse_ok("10.0.0.0/8,::1");
    expect_url(&a, "http://10.1.2.3:8000/", 0, NULL);
    expect_url(&a, "http://[::1]/", 0, NULL);
    expect_url(&a, "http://127.0.0.1/", -1, "target 127.0.0.1 is outside --allow 10.0.0.0/8,::1/128");
    /* localhost resolves to loopback, which this list does not hold (IPv4 side). */
    expect_url(&a, "http://localhost/", -1, "localhost");

    /* Any address at all (both families): names are not even resolved. */
    allow_list open = parse_ok("0.0.0.0/0,::/0");
    expect_url(&open, "http://8.8.8.8/", 0, NULL);
    expect_url(&open, "http://[2001:db8::1]/", 0, NULL);
    expect_url(&open, "http://name.invalid/", 0, NULL);
    expect_url(&open, "http://127.0.0.1:99999/", -1, "port");      /* still parsed */
}

static void test_url_templates(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    expect_url(&a, "http://{{ host }}/x", -1, "template");
    expect_url(&a, "http://{{ host }}/x", -1, "0.0.0.0/0,::/0");
    expect_url(&a, "http://10.0.0.{{ n }}/x", -1, "template");
    expect_url(&a, "http://127.0.0.1:{{ port }}/x", -1, "template");   /* port may hide "@host" */
    expect_url(&a, "http://{{ user }}@127.0.0.1/x", -1, "template");
    expect_url(&a, "http://127.0.0.1:8000/orders/{{ id }}", 0, NULL);  /* only the path */
    expect_url(&a, "http://127.0.0.1/?q={{ q }}", 0, NULL);

    allow_list v4 = parse_ok("0.0.0.0/0");
    expect_url(&v4, "http://{{ host }}/x", -1, "template");           /* IPv6 not open */
    allow_list open = parse_ok("::/0,0.0.0.0/0");
    expect_url(&open, "http://{{ host }}/x", 0, NULL);
    expect_url(&open, "http://127.0.0.1:{{ port }}/x", 0, NULL);
}

/* ---- scenarios --------------------------------------------------------------------- */

static int mem_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    (void)ud;
    static const char csv[] = "username,host\nop1,10.0.0.1\nop2,10.0.0.2\n";
    if (strcmp(path, "operators.csv") != 0) {
        snprintf(err, errcap, "no such file");
        return -1;
    }
    *len = strlen(csv);
    *data = malloc(*len + 1);
    memcpy(*data, csv, *len + 1);
    return 0;
}

/* A scenario with the given target line (may be empty) and this URL inside a group
 * inside a loop, after a login step that captures `token`. */
static scenario *scenario_with(const char *target_line, const char *url)
{
    char text[4096];
    snprintf(text, sizeof text,
             "name: allow-test\n"
             "%s"
             "load: { stages: [ { duration: 1m, users: 2 } ] }\n"
             "data:\n"
             "  operators: { csv: operators.csv, mode: sequential }\n"
             "users:\n"
             "  - name: u\n"
             "    flow:\n"
             "      - http: { url: \"http://127.0.0.1:8000/auth/login\", method: POST,\n"
             "                capture: { token: { json: $.access_token } } }\n"
             "      - loop:\n"
             "          count: 3\n"
             "          steps:\n"
             "            - think: 1s\n"
             "            - group:\n"
             "                name: g\n"
             "                steps:\n"
             "                  - http: { url: \"%s\" }\n",
             target_line, url);
    sc_error err;
    /* env() from this process, as the CLI resolves it (daemons get the CLI's values) */
    sc_env env = { tmpl_env_process, NULL };
    scenario *sc = scenario_parse_env(text, strlen(text), "allow.yaml", NULL, 0, mem_read, NULL,
                                      &env, &err);
    if (sc == NULL) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

static void expect_scenario(const allow_list *a, const char *target_line, const char *url,
                            int want, const char *msg)
{
    scenario *sc = scenario_with(target_line, url);
    char why[1024] = "";
    int got = allow_check_scenario(a, sc, why, sizeof why);
    scenario_free(sc);
    if (got != want)
        fail_msg("scenario with url \"%s\": %d, want %d (%s)", url, got, want, why);
    if (msg != NULL && strstr(why, msg) == NULL)
        fail_msg("scenario with url \"%s\": \"%s\" lacks \"%s\"", url, why, msg);
}

static const char local_target[] = "target: http://127.0.0.1:8000\n";

static void test_scenario_target(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    expect_scenario(&a, local_target, "/orders", 0, NULL);
    expect_scenario(&a, "target: http://localhost:8000\n", "/orders", 0, NULL);
    expect_scenario(&a, "target: http://10.0.0.1:8000\n", "/orders", -1,
                    "target 10.0.0.1 is outside --allow 127.0.0.0/8,::1/128");
    expect_scenario(&a, "", "http://127.0.0.1:8000/orders", 0, NULL);   /* no target */

    allow_list ten = parse_ok("10.0.0.0/8");
    expect_scenario(&ten, "target: http://10.0.0.1:8000\n", "/orders", -1,
                    "127.0.0.1");           /* the login step is local: refused here */
}

static void test_scenario_literal_urls(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    /* An absolute URL nested in loop > group, named by its place in the file. */
    expect_scenario(&a, local_target, "http://10.0.0.5:9000/x", -1,
                    "url of the http step at allow.yaml:18:");
    expect_scenario(&a, local_target, "http://10.0.0.5:9000/x", -1, "10.0.0.5");
    expect_scenario(&a, local_target, "https://[::1]:8443/x", 0, NULL);
    expect_scenario(&a, local_target, "/redirect?to=http://10.0.0.1/", 0, NULL);
    allow_list wide = parse_ok("127.0.0.0/8,10.0.0.0/24");
    expect_scenario(&wide, local_target, "http://10.0.0.5:9000/x", 0, NULL);
    expect_scenario(&wide, local_target, "http://10.0.1.5:9000/x", -1, "10.0.1.5");
}

static void test_scenario_template_urls(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    /* Holes only in the path or query: the host is literal and checked. */
    expect_scenario(&a, local_target, "/orders/{{ token }}?u={{ user_id }}", 0, NULL);
    expect_scenario(&a, local_target, "/o/{{ operators.host }}", 0, NULL);
    expect_scenario(&a, local_target, "http://127.0.0.1:8000/o/{{ token }}", 0, NULL);
    expect_scenario(&a, local_target, "http://127.0.0.1:8000/o?{{ operators.host }}", 0, NULL);
    expect_scenario(&a, local_target, "http://10.0.0.9:8000/o/{{ token }}", -1, "10.0.0.9");
    expect_scenario(&a, local_target, "http://10.0.0.9/{{ rand_int(1, 2) }}/{{ uuid() }}", -1,
                    "10.0.0.9");
    /* Built-ins never spell a scheme: these are paths under the target. */
    expect_scenario(&a, local_target, "{{ user_id }}/profile", 0, NULL);
    expect_scenario(&a, local_target, "{{ counter }}-{{ uuid }}", 0, NULL);

    /* Holes that can change the host: refused unless every address is allowed. */
    static const char *const risky[] = {
        "{{ token }}/x",                                /* may render http://... */
        "{{ operators.host }}/x",
        "http://{{ operators.host }}:8000/x",
        "http://10.0.0.{{ rand_int(1, 9) }}/x",
        "http://127.0.0.{{ user_id }}/x",
        "http://127.0.0.1:80{{ token }}/x",             /* "@evil" would move the host */
        "http://{{ token }}@127.0.0.1/x",
        "https://{{ uuid }}.example/x",
    };
    allow_list open = parse_ok("0.0.0.0/0,::/0");
    for (size_t i = 0; i < sizeof risky / sizeof risky[0]; i++) {
        expect_scenario(&a, local_target, risky[i], -1, "template");
        expect_scenario(&open, local_target, risky[i], 0, NULL);
    }
    expect_scenario(&a, local_target, "{{ token }}/x", -1, "may be an absolute URL");
}

static void test_scenario_env_host(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    /* env() is read when the scenario is compiled (by the CLI, from its environment):
     * its value is the host to check. */
    setenv("STAMPEDE_ALLOW_TEST_HOST", "10.9.8.7", 1);
    /* refused, and the reason names the step, never the env() value it holds */
    expect_scenario(&a, local_target, "http://{{ env(\\\"STAMPEDE_ALLOW_TEST_HOST\\\") }}/x", -1,
                    "env() value, not shown");
    scenario *sc = scenario_with(local_target, "http://{{ env(\\\"STAMPEDE_ALLOW_TEST_HOST\\\") }}/x");
    char why[1024] = "";
    assert_int_equal(allow_check_scenario(&a, sc, why, sizeof why), -1);
    assert_null(strstr(why, "10.9.8.7"));
    scenario_free(sc);
    setenv("STAMPEDE_ALLOW_TEST_HOST", "127.0.0.9", 1);
    expect_scenario(&a, local_target, "http://{{ env(\\\"STAMPEDE_ALLOW_TEST_HOST\\\") }}/x", 0, NULL);
    unsetenv("STAMPEDE_ALLOW_TEST_HOST");
}

/* A scenario whose one flow connects a WebSocket to this URL. */
static int ws_check(const allow_list *a, const char *url, char *why, size_t cap)
{
    char text[2048];
    snprintf(text, sizeof text,
             "name: allow-ws\n"
             "target: http://127.0.0.1:8000\n"
             "load: { stages: [ { duration: 1m, users: 1 } ] }\n"
             "users:\n"
             "  - name: u\n"
             "    flow:\n"
             "      - ws: { connect: \"%s\", name: feed }\n", url);
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "allow.yaml", NULL, 0, mem_read, NULL, &err);
    if (sc == NULL) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    why[0] = '\0';
    int rv = allow_check_scenario(a, sc, why, cap);
    scenario_free(sc);
    return rv;
}

/* A ws connect URL written without holes is checked as the flow dials it (common/url.h
 * joins both; the parser takes only ws://, wss:// or a path here). "WS://h" is absolute
 * for both sides: before the one rule the flow joined it under the target (scheme
 * compared case-sensitively) while this check read h. */
static void test_scenario_ws_urls_as_dialed(void **state)
{
    (void)state;
    allow_list a;
    allow_default(&a);
    char why[1024];
    assert_int_equal(ws_check(&a, "ws://10.0.0.5:9000/ws", why, sizeof why), -1);
    assert_non_null(strstr(why, "10.0.0.5"));
    assert_non_null(strstr(why, "url of the ws step at allow.yaml:7:"));
    assert_int_equal(ws_check(&a, "wss://10.0.0.6/ws", why, sizeof why), -1);
    assert_non_null(strstr(why, "10.0.0.6"));
    assert_int_equal(ws_check(&a, "ws://user@10.0.0.8/ws", why, sizeof why), -1);
    assert_non_null(strstr(why, "10.0.0.8"));
    assert_int_equal(ws_check(&a, "ws://127.0.0.1:9000/ws", why, sizeof why), 0);
    assert_int_equal(ws_check(&a, "wss://[::1]:9443/ws", why, sizeof why), 0);
    assert_int_equal(ws_check(&a, "/ws/feed", why, sizeof why), 0);
}

/* Issue 12: the check walks into every pick branch (weight 0 too: --set may switch it
 * on), into an if's then and else, and into a profile's setup. */
static void flow_check(const char *where, int want, const char *msg)
{
    char text[4096];
    const char *spots[] = { "setup", "branch", "zero", "then", "else" };
    char urls[5][64];
    for (int i = 0; i < 5; i++)
        snprintf(urls[i], sizeof urls[i], "%s",
                 !strcmp(where, spots[i]) ? "http://10.0.0.9:8000/x" : "/x");
    snprintf(text, sizeof text,
             "name: allow-flow\n"
             "target: http://127.0.0.1:8000\n"
             "load: { stages: [ { duration: 1m, users: 2 } ] }\n"
             "users:\n"
             "  - name: u\n"
             "    setup: [ { http: { url: \"%s\", capture: { token: { json: $.t } } } } ]\n"
             "    flow:\n"
             "      - pick:\n"
             "          - { weight: 2, steps: [ { http: { url: \"%s\" } } ] }\n"
             "          - { weight: 0, steps: [ { http: { url: \"%s\" } } ] }\n"
             "      - if: { var: token, is: set }\n"
             "        then: [ { http: { url: \"%s\" } } ]\n"
             "        else: [ { http: { url: \"%s\" } } ]\n",
             urls[0], urls[1], urls[2], urls[3], urls[4]);
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "flow.yaml", NULL, 0, NULL, NULL, &err);
    if (sc == NULL) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    allow_list a;
    allow_default(&a);
    char why[1024] = "";
    int got = allow_check_scenario(&a, sc, why, sizeof why);
    scenario_free(sc);
    if (got != want)
        fail_msg("url in %s: %d, want %d (%s)", where, got, want, why);
    if (msg != NULL && strstr(why, msg) == NULL)
        fail_msg("url in %s: \"%s\" lacks \"%s\"", where, why, msg);
}

static void test_scenario_flow_control(void **state)
{
    (void)state;
    flow_check("nowhere", 0, NULL);
    flow_check("setup", -1, "url of the http step at flow.yaml:6:");
    flow_check("branch", -1, "url of the http step at flow.yaml:9:");
    flow_check("zero", -1, "url of the http step at flow.yaml:10:");
    flow_check("then", -1, "url of the http step at flow.yaml:12:");
    flow_check("else", -1, "url of the http step at flow.yaml:13:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_default_loopback),
        cmocka_unit_test(test_url_default),
        cmocka_unit_test(test_url_wider_lists),
        cmocka_unit_test(test_url_templates),
        cmocka_unit_test(test_scenario_target),
        cmocka_unit_test(test_scenario_literal_urls),
        cmocka_unit_test(test_scenario_template_urls),
        cmocka_unit_test(test_scenario_env_host),
        cmocka_unit_test(test_scenario_ws_urls_as_dialed),
        cmocka_unit_test(test_scenario_flow_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
