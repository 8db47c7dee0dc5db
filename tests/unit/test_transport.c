/* Transport: tcp:// and tls+tcp:// endpoints carry messages between pair1 sockets on
 * 127.0.0.1; with TLS both sides must hold certificates from the same CA (a worker
 * certificate from another CA, a master checked against another CA, or a wrong server
 * name never connect); configuration errors name the file or URL; the loopback test
 * follows its table. Certificates come from tests/tls/make_certs.sh (skipped, and said
 * so, when the openssl command is missing). */
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
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/supplemental/util/platform.h>
#include "proto/transport.h"

/* ---- helpers ----------------------------------------------------------------------- */

static char cert_dir[64];       /* "" when certificates could not be made */

/* A TCP port free right now on 127.0.0.1 (the kernel's pick for port 0). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static nng_socket pair_open(void)
{
    nng_socket s;
    assert_int_equal(nng_pair1_open(&s), 0);
    assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1000), 0);
    assert_int_equal(nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1000), 0);
    return s;
}

/* Sends text from a to b; returns nng's result of the receive (0: it arrived intact). */
static int exchange(nng_socket a, nng_socket b, const char *text, nng_duration wait_ms)
{
    int rv = nng_send(a, (void *)text, strlen(text) + 1, NNG_FLAG_NONBLOCK);
    if (rv != 0 && rv != NNG_EAGAIN)
        return rv;
    char buf[128];
    size_t len = sizeof buf;
    /* A dialer may not be connected yet: retry the send until the deadline. */
    nng_time end = nng_clock() + wait_ms;
    nng_socket_set_ms(b, NNG_OPT_RECVTIMEO, 50);
    for (;;) {
        len = sizeof buf;
        rv = nng_recv(b, buf, &len, 0);
        if (rv == 0)
            break;
        if (rv != NNG_ETIMEDOUT || nng_clock() >= end)
            return rv;
        if (nng_send(a, (void *)text, strlen(text) + 1, NNG_FLAG_NONBLOCK) != 0) {
            /* not connected yet, or the message already sits in a queue */
        }
    }
    assert_int_equal(len, strlen(text) + 1);
    assert_string_equal(buf, text);
    return 0;
}

static void cert_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", cert_dir, name);
}

/* The script sits in tests/tls/; tests run from the repository root, or find it
 * next to this source file. */
static const char *script_path(char *buf, size_t cap)
{
    if (access("tests/tls/make_certs.sh", R_OK) == 0)
        return "tests/tls/make_certs.sh";
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    snprintf(buf, cap, "%.*s/../tls/make_certs.sh", slash ? (int)(slash - src) : 1,
             slash ? src : ".");
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    cert_dir[0] = '\0';
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        printf("NOTICE: openssl command not found; TLS transport tests are skipped\n");
        return 0;
    }
    char dir[64] = "/tmp/test_transport.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    char sbuf[512], cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s %s", script_path(sbuf, sizeof sbuf), dir);
    if (system(cmd) != 0) {
        printf("NOTICE: %s failed; TLS transport tests are skipped\n", cmd);
        rmdir(dir);
        return 0;
    }
    snprintf(cert_dir, sizeof cert_dir, "%s", dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (cert_dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", cert_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

#define NEED_CERTS()                                                              \
    do {                                                                          \
        if (cert_dir[0] == '\0') {                                                \
            printf("NOTICE: no test certificates; skipped\n");                    \
            skip();                                                               \
        }                                                                         \
    } while (0)

/* Paths of one side's certificate set (name.pem, name.key, ca). */
typedef struct tls_files { char cert[128], key[128], ca[128]; transport_tls t; } tls_files;

static void tls_files_init(tls_files *f, const char *name, const char *ca)
{
    char b[64];
    snprintf(b, sizeof b, "%s.pem", name);
    cert_path(f->cert, sizeof f->cert, b);
    snprintf(b, sizeof b, "%s.key", name);
    cert_path(f->key, sizeof f->key, b);
    snprintf(b, sizeof b, "%s.pem", ca);
    cert_path(f->ca, sizeof f->ca, b);
    f->t = (transport_tls){ .cert_file = f->cert, .key_file = f->key, .ca_file = f->ca };
}

/* Master listens with its certificate; a worker dials with `worker` certs checked
 * against `worker_ca`; returns whether a message made it within 1 s. */
static bool tls_pair_connects(const char *worker, const char *worker_ca, const char *host,
                              const char *server_name)
{
    char url[128], err[512] = "";
    int port = free_port();
    snprintf(url, sizeof url, "tls+tcp://127.0.0.1:%d", port);
    tls_files m, w;
    tls_files_init(&m, "master", "ca");
    tls_files_init(&w, worker, worker_ca);
    w.t.server_name = server_name;

    nng_socket ms = pair_open(), ws = pair_open();
    if (transport_listen(ms, url, &m.t, err, sizeof err) != 0)
        fail_msg("listen: %s", err);
    snprintf(url, sizeof url, "tls+tcp://%s:%d", host, port);
    if (transport_dial(ws, url, &w.t, err, sizeof err) != 0)
        fail_msg("dial: %s", err);
    bool ok = exchange(ws, ms, "hello over tls", 1000) == 0;
    if (ok)
        assert_int_equal(exchange(ms, ws, "welcome back", 1000), 0);
    nng_close(ws);
    nng_close(ms);
    return ok;
}

/* ---- tcp:// and inproc:// ---------------------------------------------------------- */

static void test_tcp_exchange(void **state)
{
    (void)state;
    char url[64], err[512] = "";
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_port());
    nng_socket ms = pair_open(), ws = pair_open();
    assert_int_equal(transport_listen(ms, url, NULL, err, sizeof err), 0);
    assert_int_equal(transport_dial(ws, url, NULL, err, sizeof err), 0);
    assert_int_equal(exchange(ws, ms, "hello", 2000), 0);
    assert_int_equal(exchange(ms, ws, "welcome", 2000), 0);
    nng_close(ws);
    nng_close(ms);
}

static void test_dial_before_listen_keeps_trying(void **state)
{
    (void)state;
    char url[64], err[512] = "";
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_port());
    nng_socket ms = pair_open(), ws = pair_open();
    /* Nobody listens yet: the dial still succeeds and nng keeps redialing. */
    assert_int_equal(transport_dial(ws, url, NULL, err, sizeof err), 0);
    nng_msleep(150);
    assert_int_equal(transport_listen(ms, url, NULL, err, sizeof err), 0);
    assert_int_equal(exchange(ws, ms, "late master", 3000), 0);
    nng_close(ws);
    nng_close(ms);
}

static void test_inproc_exchange(void **state)
{
    (void)state;
    char err[512] = "";
    nng_socket ms = pair_open(), ws = pair_open();
    assert_int_equal(transport_listen(ms, "inproc://test_transport_1", NULL, err, sizeof err), 0);
    assert_int_equal(transport_dial(ws, "inproc://test_transport_1", NULL, err, sizeof err), 0);
    assert_int_equal(exchange(ws, ms, "in process", 1000), 0);
    nng_close(ws);
    nng_close(ms);
}

static void test_plain_errors(void **state)
{
    (void)state;
    char err[512] = "";
    nng_socket s = pair_open();
    assert_int_equal(transport_listen(s, "bogus://x", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "bogus://x"));
    err[0] = '\0';
    assert_int_equal(transport_dial(s, "tcp://", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "tcp://"));

    /* Certificates given for a plain URL: refused, not silently unused. */
    transport_tls t = { .cert_file = "c.pem", .key_file = "k.pem", .ca_file = "ca.pem" };
    assert_int_equal(transport_listen(s, "tcp://127.0.0.1:0", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a tls+tcp://"));
    assert_int_equal(transport_dial(s, "tcp://127.0.0.1:1", &t, err, sizeof err), -1);

    /* A listening address already in use. */
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_port());
    nng_socket s2 = pair_open();
    assert_int_equal(transport_listen(s, url, NULL, err, sizeof err), 0);
    assert_int_equal(transport_listen(s2, url, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, url));
    nng_close(s2);
    nng_close(s);
}

/* ---- tls+tcp:// -------------------------------------------------------------------- */

static void test_tls_mutual_success(void **state)
{
    (void)state;
    NEED_CERTS();
    assert_true(tls_pair_connects("worker1", "ca", "127.0.0.1", NULL));
    assert_true(tls_pair_connects("worker2", "ca", "127.0.0.1", "localhost"));
}

static void test_tls_worker_from_other_ca_refused(void **state)
{
    (void)state;
    NEED_CERTS();
    assert_false(tls_pair_connects("other", "ca", "127.0.0.1", NULL));
}

static void test_tls_master_from_other_ca_refused(void **state)
{
    (void)state;
    NEED_CERTS();
    /* The worker trusts only the other CA, so the master's certificate fails. */
    assert_false(tls_pair_connects("worker1", "other-ca", "127.0.0.1", NULL));
}

static void test_tls_wrong_server_name_refused(void **state)
{
    (void)state;
    NEED_CERTS();
    assert_false(tls_pair_connects("worker1", "ca", "127.0.0.1", "master.example.com"));
}

static void test_tls_config_errors(void **state)
{
    (void)state;
    NEED_CERTS();
    char err[512] = "";
    nng_socket s = pair_open();
    assert_int_equal(transport_listen(s, "tls+tcp://127.0.0.1:0", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--tls-cert"));

    tls_files f;
    tls_files_init(&f, "master", "ca");
    char missing[128];
    cert_path(missing, sizeof missing, "nope.pem");

    transport_tls t = f.t;
    t.cert_file = missing;
    assert_int_equal(transport_listen(s, "tls+tcp://127.0.0.1:0", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));

    t = f.t;
    t.key_file = missing;
    assert_int_equal(transport_dial(s, "tls+tcp://127.0.0.1:1", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));

    t = f.t;
    t.ca_file = missing;
    assert_int_equal(transport_dial(s, "tls+tcp://127.0.0.1:1", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));

    t = f.t;
    t.key_file = f.ca;                  /* a certificate is not a key */
    assert_int_equal(transport_listen(s, "tls+tcp://127.0.0.1:0", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, f.cert));

    t = f.t;
    t.key_file = NULL;
    assert_int_equal(transport_dial(s, "tls+tcp://127.0.0.1:1", &t, err, sizeof err), -1);
    nng_close(s);
}

/* ---- loopback ---------------------------------------------------------------------- */

static void test_is_loopback(void **state)
{
    (void)state;
    static const struct { const char *url; bool want; } cases[] = {
        { "inproc://stampede", true },
        { "tcp://127.0.0.1:5557", true },
        { "tcp://127.1.2.3:5557", true },
        { "tls+tcp://127.0.0.1:5557", true },
        { "tcp://localhost:5557", true },
        { "tcp://LOCALHOST:5557", true },
        { "tls+tcp://localhost:5557", true },
        { "tcp://[::1]:5557", true },
        { "tcp://[::ffff:127.0.0.1]:5557", true },
        { "tcp://127.0.0.1", true },
        { "tcp://0.0.0.0:5557", false },
        { "tcp://*:5557", false },
        { "tcp://:5557", false },
        { "tcp://[::]:5557", false },
        { "tcp://10.0.0.1:5557", false },
        { "tcp://192.168.1.7:5557", false },
        { "tls+tcp://8.8.8.8:5557", false },
        { "tcp://[2001:db8::1]:5557", false },
        { "tcp://name.invalid:5557", false },      /* does not resolve */
        { "ipc:///tmp/stampede.sock", false },
        { "no-scheme", false },
        { "", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = transport_is_loopback(cases[i].url);
        if (got != cases[i].want)
            fail_msg("transport_is_loopback(\"%s\") = %d, want %d", cases[i].url, got,
                     cases[i].want);
    }
    assert_false(transport_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_exchange),
        cmocka_unit_test(test_dial_before_listen_keeps_trying),
        cmocka_unit_test(test_inproc_exchange),
        cmocka_unit_test(test_plain_errors),
        cmocka_unit_test(test_tls_mutual_success),
        cmocka_unit_test(test_tls_worker_from_other_ca_refused),
        cmocka_unit_test(test_tls_master_from_other_ca_refused),
        cmocka_unit_test(test_tls_wrong_server_name_refused),
        cmocka_unit_test(test_tls_config_errors),
        cmocka_unit_test(test_is_loopback),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
