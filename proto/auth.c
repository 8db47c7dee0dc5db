/* Shared-key authentication (proto/auth.h): key files, nonces, HMAC-SHA256 proofs.
 *
 * Decisions the header leaves open, written down here:
 * - The key is the file's bytes as written (a base64 line is used as text, not decoded),
 *   minus trailing whitespace, so `head -c 32 /dev/urandom | base64 > key` works as is
 *   and an editor's final newline does not change the key.
 * - Permissions are checked on the opened descriptor (fstat), not the path, so the
 *   file checked is the file read.
 * - The proofs hash the label without its NUL, then the two nonces, then the worker id
 *   without its NUL:
 *     hello   = HMAC(key, "stampede hello"   | nonce_m | nonce_w | id)
 *     welcome = HMAC(key, "stampede welcome" | nonce_w | nonce_m)
 *   The labels differ, so a hello proof can never be replayed as a welcome proof.
 * - If libcrypto cannot compute an HMAC (out of memory, a broken provider set-up), the
 *   proof is filled with fresh random bytes: it matches nothing, so authentication
 *   fails closed instead of both sides agreeing on a constant. */
#include "proto/auth.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define AUTH_HOW_TO_MAKE "head -c 32 /dev/urandom | base64 > KEYFILE; chmod 600 KEYFILE"

/* Reads the whole descriptor into buf[cap]; returns the byte count, cap + 1 when the
 * file holds more than cap bytes, or -1 with errno. */
static ssize_t auth_read_all(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        uint8_t extra;
        uint8_t *dst = got < cap ? buf + got : &extra;
        size_t want = got < cap ? cap - got : 1;
        ssize_t n = read(fd, dst, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return (ssize_t)got;
        if (got >= cap)
            return (ssize_t)cap + 1;
        got += (size_t)n;
    }
}

static bool auth_is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int auth_key_load(const char *path, auth_key *k, char *err, size_t errcap)
{
    k->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errcap, "key file %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "key file %s is a directory", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errcap,
                 "key file %s is accessible by group or others (mode %03o); "
                 "restrict it with: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return -1;
    }
    ssize_t n = auth_read_all(fd, k->bytes, sizeof k->bytes);
    int saved = errno;
    close(fd);
    if (n < 0) {
        snprintf(err, errcap, "key file %s: %s", path, strerror(saved));
        OPENSSL_cleanse(k->bytes, sizeof k->bytes);
        return -1;
    }
    if ((size_t)n > sizeof k->bytes) {
        snprintf(err, errcap, "key file %s is longer than %d bytes; make a key with: %s",
                 path, AUTH_KEY_MAX, AUTH_HOW_TO_MAKE);
        OPENSSL_cleanse(k->bytes, sizeof k->bytes);
        return -1;
    }
    size_t len = (size_t)n;
    while (len > 0 && auth_is_space(k->bytes[len - 1]))
        len--;
    if (len < AUTH_KEY_MIN) {
        snprintf(err, errcap,
                 "key file %s holds %zu bytes of key, fewer than %d; make a key with: %s",
                 path, len, AUTH_KEY_MIN, AUTH_HOW_TO_MAKE);
        OPENSSL_cleanse(k->bytes, sizeof k->bytes);
        return -1;
    }
    OPENSSL_cleanse(k->bytes + len, sizeof k->bytes - len);
    k->len = len;
    return 0;
}

int auth_nonce(uint8_t out[PROTO_NONCE_LEN])
{
    return util_random(out, PROTO_NONCE_LEN);
}

/* HMAC-SHA256 over the concatenation of parts[0..nparts); false when libcrypto fails. */
typedef struct auth_part { const void *p; size_t n; } auth_part;

static bool auth_hmac(const auth_key *k, const auth_part *parts, int nparts,
                      uint8_t out[PROTO_PROOF_LEN])
{
    bool ok = false;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (ctx == NULL)
        goto done;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    /* A zero-length key is legal HMAC; hand libcrypto a valid pointer for it. */
    static const uint8_t empty[1];
    if (!EVP_MAC_init(ctx, k->len ? k->bytes : empty, k->len, params))
        goto done;
    for (int i = 0; i < nparts; i++)
        if (parts[i].n && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
            goto done;
    size_t outl = 0;
    if (!EVP_MAC_final(ctx, out, &outl, PROTO_PROOF_LEN) || outl != PROTO_PROOF_LEN)
        goto done;
    ok = true;
done:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok;
}

/* Fail closed: a proof nobody can match (see the note at the top). */
static void auth_unmatchable(uint8_t out[PROTO_PROOF_LEN])
{
    if (auth_nonce(out) != 0) {
        fprintf(stderr, "stampede: neither HMAC nor random bytes available\n");
        abort();
    }
}

void auth_hello_proof(const auth_key *k, const uint8_t nonce_m[PROTO_NONCE_LEN],
                      const uint8_t nonce_w[PROTO_NONCE_LEN], const char *worker_id,
                      uint8_t out[PROTO_PROOF_LEN])
{
    static const char label[] = "stampede hello";
    const auth_part parts[] = {
        { label, sizeof label - 1 },
        { nonce_m, PROTO_NONCE_LEN },
        { nonce_w, PROTO_NONCE_LEN },
        { worker_id, worker_id ? strlen(worker_id) : 0 },
    };
    if (!auth_hmac(k, parts, 4, out))
        auth_unmatchable(out);
}

void auth_welcome_proof(const auth_key *k, const uint8_t nonce_w[PROTO_NONCE_LEN],
                        const uint8_t nonce_m[PROTO_NONCE_LEN], uint8_t out[PROTO_PROOF_LEN])
{
    static const char label[] = "stampede welcome";
    const auth_part parts[] = {
        { label, sizeof label - 1 },
        { nonce_w, PROTO_NONCE_LEN },
        { nonce_m, PROTO_NONCE_LEN },
    };
    if (!auth_hmac(k, parts, 3, out))
        auth_unmatchable(out);
}

bool auth_equal(const uint8_t a[PROTO_PROOF_LEN], const uint8_t b[PROTO_PROOF_LEN])
{
    return CRYPTO_memcmp(a, b, PROTO_PROOF_LEN) == 0;
}
