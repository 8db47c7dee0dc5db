/* Sealed sessions: see seal.h.
 *
 * Decisions the header leaves open, written down here:
 * - AES-256-GCM rather than ChaCha20-Poly1305: both are in OpenSSL 3; GCM uses the
 *   CPU's AES instructions where they exist, and these messages are few (heartbeats,
 *   one stats delta per engine per second, plans).
 * - A 96-bit GCM nonce made of a per-direction random base (from HKDF) XOR the 64-bit
 *   sequence never repeats within a session (2^64 frames), and keys never repeat across
 *   sessions (fresh nonces on both sides).
 * - The frame's sequence number is in the clear (it is the associated data), so a
 *   receiver refuses an unexpected number before spending a decryption on it.
 * - A zero-length plaintext is legal for the AEAD but never produced by the protocol;
 *   seal_open refuses it, like any frame shorter than a header and a tag. */
#include "proto/seal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#define SEAL_OKM_LEN (2 * (32 + 12))

static int seal_hkdf(const auth_key *k, const uint8_t *salt, size_t saltlen,
                     const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
    int rc = -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (ctx == NULL || k->len == 0)
        goto done;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)k->bytes, k->len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
        rc = 0;
done:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int seal_derive(seal_session *s, const auth_key *k, const uint8_t nonce_m[PROTO_NONCE_LEN],
                const uint8_t nonce_w[PROTO_NONCE_LEN], const char *worker_id, bool master)
{
    seal_clear(s);
    static const char label[] = "stampede v4 session";
    uint8_t salt[2 * PROTO_NONCE_LEN];
    memcpy(salt, nonce_m, PROTO_NONCE_LEN);
    memcpy(salt + PROTO_NONCE_LEN, nonce_w, PROTO_NONCE_LEN);
    size_t idlen = worker_id ? strnlen(worker_id, PROTO_ID_MAX) : 0;
    uint8_t info[sizeof label - 1 + PROTO_ID_MAX];
    memcpy(info, label, sizeof label - 1);
    if (idlen)
        memcpy(info + sizeof label - 1, worker_id, idlen);
    uint8_t okm[SEAL_OKM_LEN];
    if (seal_hkdf(k, salt, sizeof salt, info, sizeof label - 1 + idlen, okm, sizeof okm) != 0) {
        OPENSSL_cleanse(okm, sizeof okm);
        return -1;
    }
    seal_dir *m2w = master ? &s->tx : &s->rx;
    seal_dir *w2m = master ? &s->rx : &s->tx;
    memcpy(m2w->key, okm, 32);
    memcpy(m2w->iv, okm + 32, 12);
    memcpy(w2m->key, okm + 44, 32);
    memcpy(w2m->iv, okm + 76, 12);
    OPENSSL_cleanse(okm, sizeof okm);
    s->tx.seq = s->rx.seq = 0;
    s->on = true;
    return 0;
}

void seal_clear(seal_session *s)
{
    OPENSSL_cleanse(s, sizeof *s);
    s->on = false;
}

bool seal_is_frame(const void *buf, size_t len)
{
    return len > 0 && ((const uint8_t *)buf)[0] == SEAL_MARK;
}

static void seal_header(uint64_t seq, uint8_t hdr[SEAL_HDR_LEN])
{
    hdr[0] = SEAL_MARK;
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static void seal_nonce(const seal_dir *d, uint64_t seq, uint8_t nonce[12])
{
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
}

/* One GCM pass: encrypt (enc) or decrypt in[len] into out with the header as AAD;
 * the tag is written (enc) or checked. 0, or -1 on any failure. */
static int seal_gcm(bool enc, const seal_dir *d, uint64_t seq, const uint8_t *hdr,
                    const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    if (len > (size_t)INT32_MAX)
        return -1;
    uint8_t nonce[12];
    seal_nonce(d, seq, nonce);
    int rc = -1, n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return -1;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, d->key, nonce, enc ? 1 : 0) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, NULL, &n, hdr, SEAL_HDR_LEN) != 1)
        goto done;
    if (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto done;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + (len ? (size_t)n : 0), &n) != 1)
        goto done;              /* decrypt: the tag did not match */
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int seal_wrap(seal_session *s, const void *plain, size_t len, char **out, size_t *outlen)
{
    if (!s->on || len == 0 || len > PROTO_MAX_MSG)
        return -1;
    uint8_t *f = malloc(len + SEAL_OVERHEAD);
    if (f == NULL)
        return -1;
    seal_header(s->tx.seq, f);
    if (seal_gcm(true, &s->tx, s->tx.seq, f, plain, len, f + SEAL_HDR_LEN,
                 f + SEAL_HDR_LEN + len) != 0) {
        free(f);
        return -1;
    }
    s->tx.seq++;
    *out = (char *)f;
    *outlen = len + SEAL_OVERHEAD;
    return 0;
}

int seal_open(seal_session *s, const void *frame, size_t len, char **plain, size_t *plainlen)
{
    const uint8_t *f = frame;
    if (!s->on || len <= SEAL_OVERHEAD || len > SEAL_MAX_FRAME || f[0] != SEAL_MARK)
        return -1;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = seq << 8 | f[1 + i];
    if (seq != s->rx.seq)
        return -1;              /* replayed, reordered or after a gap */
    size_t n = len - SEAL_OVERHEAD;
    uint8_t *p = malloc(n + 1);
    if (p == NULL)
        return -1;
    uint8_t tag[SEAL_TAG_LEN];
    memcpy(tag, f + SEAL_HDR_LEN + n, SEAL_TAG_LEN);
    if (seal_gcm(false, &s->rx, seq, f, f + SEAL_HDR_LEN, n, p, tag) != 0) {
        OPENSSL_cleanse(p, n);
        free(p);
        return -1;
    }
    p[n] = '\0';
    s->rx.seq++;
    *plain = (char *)p;
    *plainlen = n;
    return 0;
}
