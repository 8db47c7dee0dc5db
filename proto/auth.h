/* Mutual authentication with a shared key (--key-file), no key on the wire.
 *
 *   master -> worker  CHALLENGE { nonce_m, key_required }      when the worker's pipe appears
 *   worker -> master  HELLO { ..., nonce_w, proof_w }          proof_w = HMAC(key, "stampede hello" | nonce_m | nonce_w | id)
 *   master -> worker  WELCOME { proof_m }  or  REJECT { reason }  proof_m = HMAC(key, "stampede welcome" | nonce_w | nonce_m)
 *
 * The master accepts no stats and sends no plan before a valid proof_w; the worker
 * accepts no plan before a valid proof_m. Nonces are 32 random bytes (getrandom) fresh
 * per connection, so a recorded exchange cannot be replayed. HMAC-SHA256 from OpenSSL's
 * libcrypto; proofs are compared in constant time. Pure functions; any thread. */
#ifndef PROTO_AUTH_H
#define PROTO_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/msg.h"

#define AUTH_KEY_MIN 16
#define AUTH_KEY_MAX 1024

typedef struct auth_key {
    uint8_t bytes[AUTH_KEY_MAX];
    size_t  len;                /* 0: no key */
} auth_key;

/* Reads a key file: its bytes with trailing whitespace trimmed, at least AUTH_KEY_MIN.
 * A file readable by group or others is refused (like ssh keys). 0, or -1 with err. */
int  auth_key_load(const char *path, auth_key *k, char *err, size_t errcap);
int  auth_nonce(uint8_t out[PROTO_NONCE_LEN]);                     /* 0 or -1 */
void auth_hello_proof(const auth_key *k, const uint8_t nonce_m[PROTO_NONCE_LEN],
                      const uint8_t nonce_w[PROTO_NONCE_LEN], const char *worker_id,
                      uint8_t out[PROTO_PROOF_LEN]);
void auth_welcome_proof(const auth_key *k, const uint8_t nonce_w[PROTO_NONCE_LEN],
                        const uint8_t nonce_m[PROTO_NONCE_LEN], uint8_t out[PROTO_PROOF_LEN]);
bool auth_equal(const uint8_t a[PROTO_PROOF_LEN], const uint8_t b[PROTO_PROOF_LEN]);
#endif
