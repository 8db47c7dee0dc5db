/* Shared-key authentication: proofs equal an independently computed HMAC-SHA256 over
 * the documented byte layout, change with every input, compare in constant time; key
 * files are trimmed, bounded and refused when too short, too long, missing or readable
 * by others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proto/auth.h"

/* ---- helpers ----------------------------------------------------------------------- */

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void fixed_key(auth_key *k, const char *text)
{
    memset(k, 0, sizeof *k);
    k->len = strlen(text);
    memcpy(k->bytes, text, k->len);
}

static void fixed_nonces(uint8_t nm[PROTO_NONCE_LEN], uint8_t nw[PROTO_NONCE_LEN])
{
    for (int i = 0; i < PROTO_NONCE_LEN; i++) {
        nm[i] = (uint8_t)i;
        nw[i] = (uint8_t)(32 + i);
    }
}

/* A scratch directory per test; files written into it with a given mode. */
typedef struct scratch { char dir[64]; char path[128]; } scratch;

static int scratch_setup(void **state)
{
    scratch *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/test_auth.XXXXXX");
    if (!mkdtemp(s->dir)) {
        free(s);
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s/key", s->dir);
    *state = s;
    return 0;
}

static int scratch_teardown(void **state)
{
    scratch *s = *state;
    unlink(s->path);
    rmdir(s->dir);
    free(s);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* ---- proofs ------------------------------------------------------------------------ */

/* Expected values computed once with Python's hmac module:
 *   hmac.new(b"0123456789abcdef0123456789abcdef",
 *            b"stampede hello" + bytes(range(32)) + bytes(range(32, 64)) + b"worker-1",
 *            hashlib.sha256).hexdigest()
 * and likewise b"stampede welcome" + bytes(range(32, 64)) + bytes(range(32)). */
static void test_hello_proof_known_vector(void **state)
{
    (void)state;
    auth_key k;
    fixed_key(&k, "0123456789abcdef0123456789abcdef");
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN], got[PROTO_PROOF_LEN], want[PROTO_PROOF_LEN];
    fixed_nonces(nm, nw);
    auth_hello_proof(&k, nm, nw, "worker-1", got);
    from_hex("aef7ea19ab8b88923a40a97adafca9b17f0e5173220d26ed4f2a471948265d6a", want, sizeof want);
    assert_memory_equal(got, want, PROTO_PROOF_LEN);
    assert_true(auth_equal(got, want));
}

static void test_welcome_proof_known_vector(void **state)
{
    (void)state;
    auth_key k;
    fixed_key(&k, "0123456789abcdef0123456789abcdef");
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN], got[PROTO_PROOF_LEN], want[PROTO_PROOF_LEN];
    fixed_nonces(nm, nw);
    auth_welcome_proof(&k, nw, nm, got);
    from_hex("389ea5f55d2bb41e572774598325e52f108ae200492cf3592b399d506737c29a", want, sizeof want);
    assert_memory_equal(got, want, PROTO_PROOF_LEN);
}

static void test_proofs_depend_on_every_input(void **state)
{
    (void)state;
    auth_key k1, k2;
    fixed_key(&k1, "0123456789abcdef0123456789abcdef");
    fixed_key(&k2, "0123456789abcdef0123456789abcdeF");
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN];
    fixed_nonces(nm, nw);
    uint8_t base[PROTO_PROOF_LEN], p[PROTO_PROOF_LEN];
    auth_hello_proof(&k1, nm, nw, "worker-1", base);

    auth_hello_proof(&k1, nm, nw, "worker-1", p);          /* deterministic */
    assert_true(auth_equal(base, p));
    auth_hello_proof(&k2, nm, nw, "worker-1", p);          /* key */
    assert_false(auth_equal(base, p));
    auth_hello_proof(&k1, nm, nw, "worker-2", p);          /* id */
    assert_false(auth_equal(base, p));
    auth_hello_proof(&k1, nm, nw, "worker-1x", p);         /* id length */
    assert_false(auth_equal(base, p));
    auth_hello_proof(&k1, nw, nm, "worker-1", p);          /* nonce order */
    assert_false(auth_equal(base, p));
    uint8_t nm2[PROTO_NONCE_LEN];
    memcpy(nm2, nm, sizeof nm2);
    nm2[31] ^= 1;
    auth_hello_proof(&k1, nm2, nw, "worker-1", p);         /* master nonce */
    assert_false(auth_equal(base, p));

    /* The welcome proof over the same nonces never equals a hello proof (labels). */
    uint8_t w[PROTO_PROOF_LEN], w2[PROTO_PROOF_LEN];
    auth_welcome_proof(&k1, nw, nm, w);
    assert_false(auth_equal(base, w));
    auth_hello_proof(&k1, nm, nw, "", p);
    assert_false(auth_equal(p, w));
    auth_welcome_proof(&k2, nw, nm, w2);
    assert_false(auth_equal(w, w2));
    auth_welcome_proof(&k1, nw, nm2, w2);
    assert_false(auth_equal(w, w2));
}

static void test_equal_compares_every_byte(void **state)
{
    (void)state;
    uint8_t a[PROTO_PROOF_LEN], b[PROTO_PROOF_LEN];
    memset(a, 0x5a, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(auth_equal(a, b));
    for (int i = 0; i < PROTO_PROOF_LEN; i++) {
        b[i] ^= 0x80;
        assert_false(auth_equal(a, b));
        b[i] ^= 0x80;
    }
}

static void test_nonce_is_fresh(void **state)
{
    (void)state;
    uint8_t a[PROTO_NONCE_LEN], b[PROTO_NONCE_LEN], zero[PROTO_NONCE_LEN] = { 0 };
    assert_int_equal(auth_nonce(a), 0);
    assert_int_equal(auth_nonce(b), 0);
    assert_memory_not_equal(a, b, PROTO_NONCE_LEN);
    assert_memory_not_equal(a, zero, PROTO_NONCE_LEN);
}

/* ---- key files --------------------------------------------------------------------- */

static void test_key_load_trims_whitespace(void **state)
{
    scratch *s = *state;
    const char text[] = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA==\r\n \t\n";
    write_file(s->path, text, strlen(text), 0600);
    auth_key k;
    char err[512] = "";
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), 0);
    assert_int_equal(k.len, strlen("c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA=="));
    assert_memory_equal(k.bytes, "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA==", k.len);

    /* The loaded key and the same bytes given directly make the same proof. */
    auth_key direct;
    fixed_key(&direct, "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA==");
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN], p1[PROTO_PROOF_LEN], p2[PROTO_PROOF_LEN];
    fixed_nonces(nm, nw);
    auth_hello_proof(&k, nm, nw, "w", p1);
    auth_hello_proof(&direct, nm, nw, "w", p2);
    assert_true(auth_equal(p1, p2));

    /* Owner-only read (0400) is fine too; inner whitespace is part of the key. */
    write_file(s->path, "sixteen bytes ok\n", 17, 0400);
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), 0);
    assert_int_equal(k.len, 16);
    assert_memory_equal(k.bytes, "sixteen bytes ok", 16);
}

static void test_key_load_too_short(void **state)
{
    scratch *s = *state;
    write_file(s->path, "fifteen bytes..\n\n   ", 20, 0600);   /* 15 after trimming */
    auth_key k;
    k.len = 99;
    char err[512] = "";
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), -1);
    assert_int_equal(k.len, 0);
    assert_non_null(strstr(err, s->path));
    assert_non_null(strstr(err, "head -c 32 /dev/urandom | base64"));
    assert_non_null(strstr(err, "chmod 600"));

    write_file(s->path, "", 0, 0600);
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "fewer than 16"));
}

static void test_key_load_size_limit(void **state)
{
    scratch *s = *state;
    static uint8_t big[AUTH_KEY_MAX + 1];
    memset(big, 'k', sizeof big);
    auth_key k;
    char err[512] = "";

    write_file(s->path, big, AUTH_KEY_MAX, 0600);           /* exactly the limit */
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), 0);
    assert_int_equal(k.len, AUTH_KEY_MAX);

    write_file(s->path, big, AUTH_KEY_MAX + 1, 0600);       /* one byte more */
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), -1);
    assert_int_equal(k.len, 0);
    assert_non_null(strstr(err, "longer than 1024"));
}

static void test_key_load_permissions(void **state)
{
    scratch *s = *state;
    const char text[] = "a-perfectly-long-enough-key-text\n";
    auth_key k;
    char err[512] = "";
    static const mode_t bad[] = { 0640, 0604, 0644, 0660, 0666, 0610, 0601 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(s->path, text, strlen(text), bad[i]);
        err[0] = '\0';
        assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), -1);
        assert_non_null(strstr(err, "chmod 600"));
        assert_non_null(strstr(err, s->path));
    }
    write_file(s->path, text, strlen(text), 0600);
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), 0);
}

static void test_key_load_missing(void **state)
{
    scratch *s = *state;
    auth_key k;
    char err[512] = "";
    unlink(s->path);
    assert_int_equal(auth_key_load(s->path, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, s->path));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(auth_key_load(s->dir, &k, err, sizeof err), -1);   /* a directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_proof_known_vector),
        cmocka_unit_test(test_welcome_proof_known_vector),
        cmocka_unit_test(test_proofs_depend_on_every_input),
        cmocka_unit_test(test_equal_compares_every_byte),
        cmocka_unit_test(test_nonce_is_fresh),
        cmocka_unit_test_setup_teardown(test_key_load_trims_whitespace, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_load_too_short, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_load_size_limit, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_load_permissions, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_load_missing, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
