/* libFuzzer target over proto_decode (the bytes a master or worker receives from the
 * network). Beyond "no crash, no leak, no sanitizer report" it checks:
 * - a failed decode leaves nothing behind (the message is zeroed);
 * - what decodes keeps the promises receivers rely on: slot lists within
 *   PROTO_MAX_SLOTS, distinct, and (in a plan) below threads_total; no proof bytes
 *   without has_proof; a plan's arrival_rate finite within 0..SC_MAX_RATE;
 * - a message that decodes re-encodes to bytes that decode again to the same fields
 *   (slots, nonces, proofs, arrival_rate, the schedule and svc compared one by one) and re-encode identically (the codec
 *   is a fixed point after one normalisation: trailing fields dropped, ints as doubles).
 * It also feeds the same bytes to the sealed-session decoder (proto/seal.h), as a frame
 * for a fixed session: it must refuse anything it did not seal itself (forging a GCM tag
 * is out of the fuzzer's reach) without reading out of bounds, and the bytes sealed by
 * the peer's session must open to exactly themselves, once (a replay fails). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/loadshape.h"
#include "proto/msg.h"
#include "proto/seal.h"

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return 0;
    return 1;
}

/* n slots, each < limit, no two equal (n is small enough for the quadratic check). */
static int slots_ok(const uint32_t *s, uint32_t n, uint64_t limit)
{
    if (n > PROTO_MAX_SLOTS || (n > 0) != (s != NULL))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] >= limit)
            return 0;
        for (uint32_t j = 0; j < i; j++)
            if (s[j] == s[i])
                return 0;
    }
    return 1;
}

static int invariants_hold(const proto_msg *m)
{
    switch (m->type) {
    case MSG_HELLO:
        return m->u.hello.has_proof || all_zero(m->u.hello.proof, PROTO_PROOF_LEN);
    case MSG_WELCOME:
        return m->u.welcome.has_proof || all_zero(m->u.welcome.proof, PROTO_PROOF_LEN);
    case MSG_PLAN:
        return slots_ok(m->u.plan.slots, m->u.plan.nslots, m->u.plan.threads_total) &&
               isfinite(m->u.plan.arrival_rate) && m->u.plan.arrival_rate >= 0 &&
               m->u.plan.arrival_rate <= SC_MAX_RATE;
    case MSG_ADOPT:
    case MSG_RELEASE:
        return slots_ok(m->u.slots.slots, m->u.slots.nslots, UINT64_MAX);
    default:
        return 1;
    }
}

/* The fields of the handshake and re-planning messages survive a round trip. */
static int same_fields(const proto_msg *a, const proto_msg *b)
{
    switch (a->type) {
    case MSG_HELLO:
        return strcmp(a->u.hello.id, b->u.hello.id) == 0 &&
               strcmp(a->u.hello.host, b->u.hello.host) == 0 &&
               strcmp(a->u.hello.version, b->u.hello.version) == 0 &&
               a->u.hello.cores == b->u.hello.cores && a->u.hello.threads == b->u.hello.threads &&
               a->u.hello.caps == b->u.hello.caps &&
               memcmp(a->u.hello.nonce, b->u.hello.nonce, PROTO_NONCE_LEN) == 0 &&
               memcmp(a->u.hello.proof, b->u.hello.proof, PROTO_PROOF_LEN) == 0 &&
               a->u.hello.has_proof == b->u.hello.has_proof;
    case MSG_CHALLENGE:
        return memcmp(a->u.challenge.nonce, b->u.challenge.nonce, PROTO_NONCE_LEN) == 0 &&
               a->u.challenge.key_required == b->u.challenge.key_required;
    case MSG_WELCOME:
        return strcmp(a->u.welcome.master, b->u.welcome.master) == 0 &&
               memcmp(a->u.welcome.proof, b->u.welcome.proof, PROTO_PROOF_LEN) == 0 &&
               a->u.welcome.has_proof == b->u.welcome.has_proof;
    case MSG_STATS: {
        const stats_sched *x = &a->u.stats.sched, *y = &b->u.stats.sched;
        return x->intended == y->intended && x->started == y->started &&
               x->dropped == y->dropped && x->backlog_max == y->backlog_max &&
               x->cpu_us == y->cpu_us && x->wall_us == y->wall_us &&
               x->lag.total == y->lag.total &&
               hist_percentile(&x->lag, 99) == hist_percentile(&y->lag, 99);
    }
    case MSG_PLAN:
        return a->u.plan.arrival_rate == b->u.plan.arrival_rate &&
               a->u.plan.nslots == b->u.plan.nslots &&
               a->u.plan.threads_total == b->u.plan.threads_total &&
               (a->u.plan.nslots == 0 ||
                memcmp(a->u.plan.slots, b->u.plan.slots, a->u.plan.nslots * sizeof(uint32_t)) == 0);
    case MSG_ADOPT:
    case MSG_RELEASE:
        return a->u.slots.run_id == b->u.slots.run_id && a->u.slots.nslots == b->u.slots.nslots &&
               (a->u.slots.nslots == 0 ||
                memcmp(a->u.slots.slots, b->u.slots.slots, a->u.slots.nslots * sizeof(uint32_t)) == 0);
    case MSG_ACK:
        return a->u.ack.run_id == b->u.ack.run_id;
    default:
        return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_seal(const uint8_t *data, size_t size)
{
    static const char text[] = "fuzz-proto-fixed-shared-key-0123";
    auth_key k = { .len = sizeof text - 1 };
    memcpy(k.bytes, text, k.len);
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN];
    memset(nm, 1, sizeof nm);
    memset(nw, 2, sizeof nw);
    seal_session master, worker;
    if (seal_derive(&master, &k, nm, nw, "w", true) != 0 ||
        seal_derive(&worker, &k, nm, nw, "w", false) != 0)
        abort();
    char *plain, *frame;
    size_t plen, flen;
    if (seal_open(&master, data, size, &plain, &plen) == 0)
        abort();                /* a forged frame opened */
    if (size == 0 || size > PROTO_MAX_MSG)
        return;
    if (seal_wrap(&worker, data, size, &frame, &flen) != 0)
        abort();
    if (seal_open(&master, frame, flen, &plain, &plen) != 0 || plen != size ||
        memcmp(plain, data, size) != 0)
        abort();
    free(plain);
    if (seal_open(&master, frame, flen, &plain, &plen) == 0)
        abort();                /* replayed */
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_seal(data, size);
    proto_msg m;
    int rv = proto_decode((const char *)data, size, &m);
    if (rv != PROTO_OK) {
        if (rv != PROTO_ETOOBIG && rv != PROTO_EVERSION && rv != PROTO_EMALFORMED &&
            rv != PROTO_ETYPE && rv != PROTO_ENOMEM)
            abort();
        if (!all_zero(&m, sizeof m))
            abort();
        return 0;
    }

    if (!invariants_hold(&m))
        abort();
    char *b1, *b2;
    size_t l1, l2;
    if (proto_encode(&m, &b1, &l1) != 0)
        abort();
    proto_msg m2;
    if (proto_decode(b1, l1, &m2) != PROTO_OK)
        abort();
    if (m2.type != m.type || !same_fields(&m, &m2) || proto_encode(&m2, &b2, &l2) != 0)
        abort();
    if (l1 != l2 || memcmp(b1, b2, l1) != 0)
        abort();
    if (m.type == MSG_STATS)
        for (uint32_t i = 0; i < m.u.stats.nentries; i++)
            if (hist_percentile(&m.u.stats.entries[i].lat, 99) !=
                    hist_percentile(&m2.u.stats.entries[i].lat, 99) ||
                m.u.stats.entries[i].svc.total != m2.u.stats.entries[i].svc.total ||
                hist_percentile(&m.u.stats.entries[i].svc, 99) !=
                    hist_percentile(&m2.u.stats.entries[i].svc, 99))
                abort();
    free(b1);
    free(b2);
    proto_msg_free(&m2);
    proto_msg_free(&m);
    return 0;
}
