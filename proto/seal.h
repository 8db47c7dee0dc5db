/* Sealed sessions (protocol v4, PROTOCOL.md section 4): with a shared key, every message
 * after the handshake travels encrypted and authenticated, so a relay on the path that
 * holds no key can neither read a PLAN (the scenario, its data files, env() values) nor
 * inject, alter, replay, reorder or move a message between directions or sessions.
 *
 * Keys: both sides derive them once the handshake's proofs are exchanged, from the
 * shared key and both fresh nonces (HKDF-SHA256, OpenSSL):
 *     okm = HKDF(ikm = key, salt = nonce_m | nonce_w, info = "stampede v4 session" | id)
 *     okm = key_m2w (32) | iv_m2w (12) | key_w2m (32) | iv_w2m (12)
 * where id is the worker id of the HELLO. Each direction has its own key, base IV and
 * sequence number; a new connection means new nonces, so new keys.
 *
 * Frame (the whole body of one nng message):
 *     0xc1 | seq (u64, big-endian) | AES-256-GCM ciphertext of the v4 message | tag (16)
 * 0xc1 is the one byte msgpack never uses, so a sealed frame can never be taken for a
 * plain message (proto_decode refuses it). The 9-byte header is the AEAD's associated
 * data; the GCM nonce is the direction's base IV with seq XORed into its last 8 bytes.
 * The sender numbers its frames 0, 1, 2, ... ; the receiver accepts only the next number
 * it expects, so a replayed, reordered or dropped-then-resumed frame fails.
 *
 * A frame that fails (bad marker, length, sequence or tag) is the caller's to drop,
 * count, and end the session with (the peer is then treated as lost).
 *
 * Ownership and threads: a seal_session belongs to one connection's owner. seal_wrap
 * advances the send sequence, so concurrent senders on one session must serialize the
 * wrap and the send together (the worker does, under a mutex); seal_open is for the one
 * receiving thread. Buffers returned are malloc'd and the caller's. */
#ifndef PROTO_SEAL_H
#define PROTO_SEAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/auth.h"
#include "proto/msg.h"

#define SEAL_MARK     0xc1
#define SEAL_HDR_LEN  9                 /* mark + sequence */
#define SEAL_TAG_LEN  16
#define SEAL_OVERHEAD (SEAL_HDR_LEN + SEAL_TAG_LEN)
#define SEAL_MAX_FRAME (PROTO_MAX_MSG + SEAL_OVERHEAD)

typedef struct seal_dir {
    uint8_t  key[32];
    uint8_t  iv[12];
    uint64_t seq;                       /* next to send / next expected */
} seal_dir;

typedef struct seal_session {
    bool     on;                        /* keys derived and in force */
    seal_dir tx, rx;
} seal_session;

/* Derives both directions' keys for one connection. master: which side we are (the
 * master sends with m2w and receives with w2m; the worker the other way round).
 * Sets s->on. 0, or -1 when libcrypto fails (the session stays off: fail closed). */
int  seal_derive(seal_session *s, const auth_key *k, const uint8_t nonce_m[PROTO_NONCE_LEN],
                 const uint8_t nonce_w[PROTO_NONCE_LEN], const char *worker_id, bool master);
/* Wipes the keys and turns the session off. */
void seal_clear(seal_session *s);
/* true when buf looks like a sealed frame (its first byte is SEAL_MARK). */
bool seal_is_frame(const void *buf, size_t len);
/* Seals plain[len] as the next frame: 0 with *out (malloc'd) and *outlen, -1 on ENOMEM
 * or a libcrypto failure (the sequence is not advanced then). */
int  seal_wrap(seal_session *s, const void *plain, size_t len, char **out, size_t *outlen);
/* Opens a frame: 0 with *plain (malloc'd; NUL-terminated for convenience, not counted in
 * *plainlen) and the receive sequence advanced; -1 when anything is wrong (nothing
 * allocated, the sequence unchanged). */
int  seal_open(seal_session *s, const void *frame, size_t len, char **plain, size_t *plainlen);
#endif
