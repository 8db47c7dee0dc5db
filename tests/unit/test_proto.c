/* proto/msg.c: round trips of every message type, forward compatibility, and hostile
 * input (truncation at every length, lying length headers, bad histograms, wrong field
 * types, oversize messages, nonces and proofs of the wrong length, bad slot lists).
 * Hand-made messages are packed with msgpack-c directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>
#include <msgpack.h>

#include "common/loadshape.h"
#include "proto/msg.h"
#include "proto/plan.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ------------------------------------------------------------------------------ */
/* Helpers                                                                          */

typedef struct pkbuf {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
} pkbuf;

static void pkb_init(pkbuf *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void pkb_str(pkbuf *b, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(&b->pk, n);
    msgpack_pack_str_body(&b->pk, s, n);
}

/* A bin of n bytes (0x5a each): 32 is a valid nonce or proof, anything else is not. */
static void pkb_bin(pkbuf *b, size_t n)
{
    char bytes[PROTO_NONCE_LEN + 8];
    memset(bytes, 0x5a, sizeof bytes);
    msgpack_pack_bin_with_body(&b->pk, bytes, n);
}

static void pkb_bin32(pkbuf *b)
{
    pkb_bin(b, PROTO_NONCE_LEN);
}

static int decode_pkb(pkbuf *b, proto_msg *m)
{
    int rv = proto_decode(b->sb.data, b->sb.size, m);
    msgpack_sbuffer_destroy(&b->sb);
    return rv;
}

/* A hist array as the wire carries it: [total, clamped, lost, min, max, sum, pairs]
 * with pairs given as npairs (first index or gap, count) values. */
static void pkb_hist(pkbuf *b, uint64_t total, uint64_t clamped, uint64_t lost, uint64_t min,
                     uint64_t max, uint64_t sum, unsigned npairs, const uint64_t *pairs)
{
    msgpack_pack_array(&b->pk, 7);
    msgpack_pack_uint64(&b->pk, total);
    msgpack_pack_uint64(&b->pk, clamped);
    msgpack_pack_uint64(&b->pk, lost);
    msgpack_pack_uint64(&b->pk, min);
    msgpack_pack_uint64(&b->pk, max);
    msgpack_pack_uint64(&b->pk, sum);
    msgpack_pack_array(&b->pk, 2 * npairs);
    for (unsigned i = 0; i < 2 * npairs; i++)
        msgpack_pack_uint64(&b->pk, pairs[i]);
}

/* The STATS envelope up to its entries array, which declares nentries; the envelope
 * declares `extra` fields after the ten this revision knows. */
static void pkb_stats_head_x(pkbuf *b, uint32_t nentries, uint32_t extra)
{
    msgpack_pack_array(&b->pk, 12 + extra);
    msgpack_pack_uint32(&b->pk, PROTO_VERSION);
    msgpack_pack_uint32(&b->pk, MSG_STATS);
    msgpack_pack_uint64(&b->pk, 7);           /* run_id */
    pkb_str(b, "w1");                         /* worker */
    msgpack_pack_uint32(&b->pk, 0);           /* thread */
    msgpack_pack_uint64(&b->pk, 3);           /* interval */
    msgpack_pack_uint32(&b->pk, 10);          /* users */
    msgpack_pack_uint64(&b->pk, 0);           /* cancelled */
    msgpack_pack_uint64(&b->pk, 0);           /* names_folded */
    msgpack_pack_false(&b->pk);               /* final */
    msgpack_pack_array(&b->pk, nentries);
}

static void pkb_stats_head(pkbuf *b, uint32_t nentries)
{
    pkb_stats_head_x(b, nentries, 0);
}

/* A one-entry STATS message whose histogram is given raw; no error rows. */
static int decode_stats_hist(uint64_t total, uint64_t clamped, uint64_t lost, uint64_t min,
                             uint64_t max, uint64_t sum, unsigned npairs, const uint64_t *pairs)
{
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, 1);
    msgpack_pack_array(&b.pk, 6);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, total);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    pkb_hist(&b, total, clamped, lost, min, max, sum, npairs, pairs);
    msgpack_pack_array(&b.pk, 0);
    int rv = decode_pkb(&b, &m);
    proto_msg_free(&m);
    return rv;
}

static void encode_ok(const proto_msg *m, char **buf, size_t *len)
{
    assert_int_equal(proto_encode(m, buf, len), 0);
    assert_non_null(*buf);
    assert_true(*len > 0);
}

/* Every proper prefix of a valid message must fail cleanly, never succeed or crash. */
static void check_truncations(const char *buf, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n ? n : 1);     /* exact size, so ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, buf, n);
        proto_msg m;
        int rv = proto_decode(copy, n, &m);
        assert_int_equal(rv, PROTO_EMALFORMED);
        proto_msg_free(&m);
        free(copy);
    }
}

static void assert_hist_equal(const hist *a, const hist *b)
{
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->clamped, b->clamped);
    assert_int_equal(a->lost, b->lost);
    assert_int_equal(a->min_us, b->min_us);
    assert_int_equal(a->max_us, b->max_us);
    assert_int_equal(a->sum_us, b->sum_us);
    hist_iter ia, ib;
    hist_iter_init(&ia, a);
    hist_iter_init(&ib, b);
    for (;;) {
        bool na = hist_iter_next(&ia), nb = hist_iter_next(&ib);
        assert_int_equal(na, nb);
        if (!na)
            break;
        assert_int_equal(ia.idx, ib.idx);
        assert_int_equal(ia.count, ib.count);
    }
    static const double ps[] = { 0, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_int_equal(hist_percentile(a, ps[i]), hist_percentile(b, ps[i]));
    assert_true(hist_mean(a) == hist_mean(b));
}

/* Distinct, recognisable bytes: start, start + 1, ... */
static void fill_bytes(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(start + i);
}

/* ------------------------------------------------------------------------------ */
/* Round trips                                                                      */

static void test_hello_roundtrip(void **state)
{
    (void)state;
    proto_msg m = { .type = MSG_HELLO }, d;
    strcpy(m.u.hello.id, "worker-a1b2");
    strcpy(m.u.hello.host, "loadgen-03.example.internal");
    m.u.hello.cores = 16;
    m.u.hello.threads = 12;
    strcpy(m.u.hello.version, "0.1.0-42-gabcdef");
    m.u.hello.caps = 7;
    fill_bytes(m.u.hello.nonce, PROTO_NONCE_LEN, 0x10);
    fill_bytes(m.u.hello.proof, PROTO_PROOF_LEN, 0xe0);
    m.u.hello.has_proof = true;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.type, MSG_HELLO);
    assert_string_equal(d.u.hello.id, "worker-a1b2");
    assert_string_equal(d.u.hello.host, "loadgen-03.example.internal");
    assert_int_equal(d.u.hello.cores, 16);
    assert_int_equal(d.u.hello.threads, 12);
    assert_string_equal(d.u.hello.version, "0.1.0-42-gabcdef");
    assert_int_equal(d.u.hello.caps, 7);
    assert_memory_equal(d.u.hello.nonce, m.u.hello.nonce, PROTO_NONCE_LEN);
    assert_true(d.u.hello.has_proof);
    assert_memory_equal(d.u.hello.proof, m.u.hello.proof, PROTO_PROOF_LEN);
    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);

    /* A worker without a key: the proof goes as nil, whatever its bytes hold. */
    m.u.hello.has_proof = false;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_false(d.u.hello.has_proof);
    static const uint8_t zero[PROTO_PROOF_LEN];
    assert_memory_equal(d.u.hello.proof, zero, PROTO_PROOF_LEN);
    assert_memory_equal(d.u.hello.nonce, m.u.hello.nonce, PROTO_NONCE_LEN);
    assert_int_equal((uint8_t)buf[len - 1], 0xc0);         /* the last field is nil */
    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);
}

static void test_plan_roundtrip(void **state)
{
    (void)state;
    static const char yaml[] = "name: erp-peak\ntarget: http://127.0.0.1:8000\n";
    static const char csv[] = "username,password\nop1,secret\n\0binary\xff";
    proto_file files[2] = {
        { .path = "operators.csv", .data = (char *)csv, .len = sizeof csv },
        { .path = "empty.csv", .data = NULL, .len = 0 },
    };
    proto_set sets[2] = { { "load.stages.0.users", "300" }, { "target", "http://127.0.0.2" } };
    proto_msg m = { .type = MSG_PLAN }, d;
    proto_plan *p = &m.u.plan;
    p->run_id = 0x1122334455667788ull;
    p->scenario_file = "configs/erp-peak.yaml";
    p->scenario = (char *)yaml;
    p->scenario_len = strlen(yaml);
    p->files = files;
    p->nfiles = 2;
    p->sets = sets;
    p->nsets = 2;
    p->host = "http://127.0.0.1:9000";
    p->users = 250;
    p->rate = 12.5;
    p->duration_ms = 1800000;
    uint32_t slots[4] = { 7, 4, 11, 5 };                    /* any order, kept as sent */
    p->slots = slots;
    p->nslots = 4;
    p->threads_total = 12;
    p->start_at_ms = 1764000000123ull;
    p->interval_ms = 1000;
    p->name_cap = 500;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.type, MSG_PLAN);
    proto_plan *q = &d.u.plan;
    assert_int_equal(q->run_id, p->run_id);
    assert_string_equal(q->scenario_file, p->scenario_file);
    assert_int_equal(q->scenario_len, p->scenario_len);
    assert_memory_equal(q->scenario, yaml, p->scenario_len);
    assert_int_equal(q->scenario[q->scenario_len], '\0');
    assert_int_equal(q->nfiles, 2);
    assert_string_equal(q->files[0].path, "operators.csv");
    assert_int_equal(q->files[0].len, sizeof csv);
    assert_memory_equal(q->files[0].data, csv, sizeof csv);
    assert_string_equal(q->files[1].path, "empty.csv");
    assert_int_equal(q->files[1].len, 0);
    assert_int_equal(q->nsets, 2);
    assert_string_equal(q->sets[0].key, "load.stages.0.users");
    assert_string_equal(q->sets[0].value, "300");
    assert_string_equal(q->sets[1].key, "target");
    assert_string_equal(q->sets[1].value, "http://127.0.0.2");
    assert_string_equal(q->host, "http://127.0.0.1:9000");
    assert_int_equal(q->users, 250);
    assert_true(q->rate == 12.5);
    assert_int_equal(q->duration_ms, 1800000);
    assert_int_equal(q->nslots, 4);
    assert_memory_equal(q->slots, slots, sizeof slots);
    assert_int_equal(q->threads_total, 12);
    assert_int_equal(q->start_at_ms, 1764000000123ull);
    assert_int_equal(q->interval_ms, 1000);
    assert_int_equal(q->name_cap, 500);
    proto_msg_free(&d);
    proto_msg_free(&d);                 /* a second free is harmless */
    check_truncations(buf, len);
    free(buf);

    /* Minimal plan: no files, no sets, no host override. */
    proto_msg m2 = { .type = MSG_PLAN };
    m2.u.plan.scenario_file = "s.yaml";
    m2.u.plan.scenario = "name: x\n";
    m2.u.plan.scenario_len = 8;
    encode_ok(&m2, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_null(d.u.plan.host);
    assert_null(d.u.plan.files);
    assert_int_equal(d.u.plan.nfiles, 0);
    assert_null(d.u.plan.sets);
    assert_int_equal(d.u.plan.nsets, 0);
    assert_null(d.u.plan.slots);
    assert_int_equal(d.u.plan.nslots, 0);
    assert_true(d.u.plan.rate == 0);
    assert_string_equal(d.u.plan.scenario, "name: x\n");
    proto_msg_free(&d);
    free(buf);
}

static void test_small_roundtrips(void **state)
{
    (void)state;
    proto_msg ms[4] = { { .type = MSG_STOP }, { .type = MSG_DONE }, { .type = MSG_REFUSE },
                        { .type = MSG_HEARTBEAT } };
    ms[0].u.stop.run_id = 99;
    ms[0].u.stop.graceful_ms = 30000;
    ms[1].u.done.run_id = 99;
    strcpy(ms[1].u.done.worker, "w-7");
    ms[1].u.done.threads = 8;
    strcpy(ms[1].u.done.reason, "finished");
    ms[2].u.refuse.run_id = 98;
    strcpy(ms[2].u.refuse.worker, "w-8");
    memset(ms[2].u.refuse.reason, 'r', PROTO_REASON_MAX - 1);     /* the longest allowed */
    ms[3].u.heartbeat.seq = UINT64_MAX;
    ms[3].u.heartbeat.wall_ms = 1764000000000ull;
    for (int i = 0; i < 4; i++) {
        char *buf;
        size_t len;
        proto_msg d;
        encode_ok(&ms[i], &buf, &len);
        assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
        assert_int_equal(d.type, ms[i].type);
        switch (d.type) {
        case MSG_STOP:
            assert_int_equal(d.u.stop.run_id, 99);
            assert_int_equal(d.u.stop.graceful_ms, 30000);
            break;
        case MSG_DONE:
            assert_int_equal(d.u.done.run_id, 99);
            assert_string_equal(d.u.done.worker, "w-7");
            assert_int_equal(d.u.done.threads, 8);
            assert_string_equal(d.u.done.reason, "finished");
            break;
        case MSG_REFUSE:
            assert_int_equal(d.u.refuse.run_id, 98);
            assert_string_equal(d.u.refuse.worker, "w-8");
            assert_string_equal(d.u.refuse.reason, ms[2].u.refuse.reason);
            break;
        case MSG_HEARTBEAT:
            assert_int_equal(d.u.heartbeat.seq, UINT64_MAX);
            assert_int_equal(d.u.heartbeat.wall_ms, 1764000000000ull);
            break;
        default:
            fail();
        }
        proto_msg_free(&d);
        check_truncations(buf, len);
        free(buf);
    }
}

/* The authentication handshake: CHALLENGE, WELCOME (with and without a proof), REJECT. */
static void test_handshake_roundtrips(void **state)
{
    (void)state;
    proto_msg ms[4] = { { .type = MSG_CHALLENGE }, { .type = MSG_WELCOME },
                        { .type = MSG_WELCOME }, { .type = MSG_REJECT } };
    fill_bytes(ms[0].u.challenge.nonce, PROTO_NONCE_LEN, 0xa0);
    ms[0].u.challenge.key_required = true;
    strcpy(ms[1].u.welcome.master, "master-ci-01");
    fill_bytes(ms[1].u.welcome.proof, PROTO_PROOF_LEN, 0x33);
    ms[1].u.welcome.has_proof = true;
    strcpy(ms[2].u.welcome.master, "m");
    fill_bytes(ms[2].u.welcome.proof, PROTO_PROOF_LEN, 0x77);     /* not sent: no proof */
    memset(ms[3].u.reject.reason, 'j', PROTO_REASON_MAX - 1);
    static const uint8_t zero[PROTO_PROOF_LEN];
    for (int i = 0; i < 4; i++) {
        char *buf;
        size_t len;
        proto_msg d;
        encode_ok(&ms[i], &buf, &len);
        assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
        assert_int_equal(d.type, ms[i].type);
        switch (i) {
        case 0:
            assert_memory_equal(d.u.challenge.nonce, ms[0].u.challenge.nonce, PROTO_NONCE_LEN);
            assert_true(d.u.challenge.key_required);
            break;
        case 1:
            assert_string_equal(d.u.welcome.master, "master-ci-01");
            assert_true(d.u.welcome.has_proof);
            assert_memory_equal(d.u.welcome.proof, ms[1].u.welcome.proof, PROTO_PROOF_LEN);
            break;
        case 2:
            assert_string_equal(d.u.welcome.master, "m");
            assert_false(d.u.welcome.has_proof);
            assert_memory_equal(d.u.welcome.proof, zero, PROTO_PROOF_LEN);
            break;
        case 3:
            assert_string_equal(d.u.reject.reason, ms[3].u.reject.reason);
            break;
        }
        proto_msg_free(&d);
        check_truncations(buf, len);
        free(buf);
    }

    /* key_required false survives too (a bool, not "absent"). */
    ms[0].u.challenge.key_required = false;
    char *buf;
    size_t len;
    proto_msg d;
    encode_ok(&ms[0], &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_false(d.u.challenge.key_required);
    proto_msg_free(&d);
    free(buf);
}

/* ADOPT and RELEASE move slot lists (empty, small, the largest allowed); ACK. */
static void test_slots_roundtrips(void **state)
{
    (void)state;
    static uint32_t many[PROTO_MAX_SLOTS];
    for (uint32_t i = 0; i < PROTO_MAX_SLOTS; i++)
        many[i] = UINT32_MAX - 3 * i;                       /* wide values, distinct */
    uint32_t few[3] = { 9, 0, 4 };
    struct { proto_type type; uint32_t *slots; uint32_t n; } cases[] = {
        { MSG_ADOPT, few, 3 }, { MSG_RELEASE, few, 3 }, { MSG_ADOPT, NULL, 0 },
        { MSG_RELEASE, many, PROTO_MAX_SLOTS },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        proto_msg m = { .type = cases[c].type }, d;
        m.u.slots.run_id = 0xfeedull + c;
        m.u.slots.slots = cases[c].slots;
        m.u.slots.nslots = cases[c].n;
        char *buf;
        size_t len;
        encode_ok(&m, &buf, &len);
        assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
        assert_int_equal(d.type, cases[c].type);
        assert_int_equal(d.u.slots.run_id, 0xfeedull + c);
        assert_int_equal(d.u.slots.nslots, cases[c].n);
        if (cases[c].n)
            assert_memory_equal(d.u.slots.slots, cases[c].slots, cases[c].n * sizeof(uint32_t));
        else
            assert_null(d.u.slots.slots);
        proto_msg_free(&d);
        if (cases[c].n < 100)
            check_truncations(buf, len);
        free(buf);
    }

    proto_msg m = { .type = MSG_ACK, .u.ack = { .run_id = UINT64_MAX } }, d;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.type, MSG_ACK);
    assert_int_equal(d.u.ack.run_id, UINT64_MAX);
    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);

    /* A plan with the largest slot list. */
    proto_msg pm = { .type = MSG_PLAN };
    for (uint32_t i = 0; i < PROTO_MAX_SLOTS; i++)
        many[i] = (i * 7919u) % PROTO_MAX_SLOTS;            /* a permutation of 0..4095 */
    pm.u.plan.slots = many;
    pm.u.plan.nslots = PROTO_MAX_SLOTS;
    pm.u.plan.threads_total = PROTO_MAX_SLOTS;
    encode_ok(&pm, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.u.plan.nslots, PROTO_MAX_SLOTS);
    assert_memory_equal(d.u.plan.slots, many, sizeof many);
    proto_msg_free(&d);
    free(buf);
}

/* A shard with several entries: one skipped (no requests), one kept only because an
 * error row points at it, wide and clamped latencies, and error rows that must be
 * renumbered. */
static void test_stats_shard_roundtrip(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 16), 0);
    uint32_t login = stats_id(&s, "POST", "/auth/login");
    uint32_t idle = stats_id(&s, "GET", "/never");
    uint32_t orders = stats_id(&s, "GET", "/ppic/manufacturing-orders");
    uint32_t ws = stats_id(&s, "WS", "production-feed");
    uint32_t refused = stats_id(&s, "GET", "/refused");
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 5000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;          /* xorshift: spread values */
        stats_record(&s, orders, 200 + x % 2000000, 512, i % 100 == 0);
        if (i % 10 == 0)
            stats_record(&s, login, 1000 + x % 5000, 64, false);
    }
    stats_record(&s, ws, 3, 10, false);
    stats_record(&s, ws, HIST_MAX_US + 12345, 10, true);   /* clamped */
    stats_error(&s, orders, ERR_HTTP_STATUS, "503");
    stats_error(&s, orders, ERR_HTTP_STATUS, "503");
    stats_error(&s, ws, ERR_TIMEOUT, "");
    stats_error(&s, refused, ERR_CONNECT, "connection refused");
    s.users = 200;
    s.cancelled = 3;
    (void)idle;

    char *buf;
    size_t len;
    proto_msg d;
    assert_int_equal(proto_encode_stats(42, "worker-1", 5, 17, true, &s, &buf, &len), 0);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.type, MSG_STATS);
    proto_stats *t = &d.u.stats;
    assert_int_equal(t->run_id, 42);
    assert_string_equal(t->worker, "worker-1");
    assert_int_equal(t->thread, 5);
    assert_int_equal(t->interval, 17);
    assert_true(t->final);
    assert_int_equal(t->users, 200);
    assert_int_equal(t->cancelled, 3);
    assert_int_equal(t->names_folded, 0);

    /* "/never" is gone; "/refused" stays for its error row. */
    uint32_t kept[] = { login, orders, ws, refused };
    assert_int_equal(t->nentries, 4);
    for (uint32_t i = 0; i < 4; i++) {
        const stats_entry *e = &s.entries[kept[i]];
        assert_string_equal(t->entries[i].method, e->method);
        assert_string_equal(t->entries[i].name, e->name);
        assert_int_equal(t->entries[i].requests, e->requests);
        assert_int_equal(t->entries[i].failures, e->failures);
        assert_int_equal(t->entries[i].bytes, e->bytes);
        assert_hist_equal(&t->entries[i].lat, &e->lat);
    }
    assert_int_equal(t->entries[2].lat.clamped, 1);
    assert_int_equal(t->entries[3].requests, 0);

    /* Error rows point at the renumbered entries. */
    assert_int_equal(t->nerrs, 3);
    assert_int_equal(t->errs[0].entry, 1);
    assert_int_equal(t->errs[0].kind, ERR_HTTP_STATUS);
    assert_string_equal(t->errs[0].detail, "503");
    assert_int_equal(t->errs[0].count, 2);
    assert_int_equal(t->errs[1].entry, 2);
    assert_int_equal(t->errs[1].kind, ERR_TIMEOUT);
    assert_string_equal(t->errs[1].detail, "");
    assert_int_equal(t->errs[2].entry, 3);
    assert_int_equal(t->errs[2].kind, ERR_CONNECT);
    assert_string_equal(t->errs[2].detail, "connection refused");
    assert_int_equal(t->errs[2].count, 1);

    /* The decoded message re-encodes (proto_encode takes STATS too) to the same bytes. */
    char *buf2;
    size_t len2;
    encode_ok(&d, &buf2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);

    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);

    /* After a reset nothing is sent. */
    stats_shard_reset(&s);
    assert_int_equal(proto_encode_stats(42, "worker-1", 5, 18, false, &s, &buf, &len), 0);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.u.stats.nentries, 0);
    assert_null(d.u.stats.entries);
    assert_int_equal(d.u.stats.nerrs, 0);
    assert_int_equal(d.u.stats.interval, 18);
    assert_false(d.u.stats.final);
    proto_msg_free(&d);
    free(buf);
    stats_shard_fini(&s);
}

/* Names beyond the cap fold into the overflow entry, which travels like any other. */
static void test_stats_overflow_entry(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 2), 0);
    char name[32];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "/n%d", i);
        stats_record(&s, stats_id(&s, "GET", name), 100 + (uint64_t)i, 1, false);
    }
    char *buf;
    size_t len;
    proto_msg d;
    assert_int_equal(proto_encode_stats(1, "w", 0, 0, false, &s, &buf, &len), 0);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.u.stats.nentries, 3);
    assert_int_equal(d.u.stats.names_folded, s.names_folded);
    assert_true(d.u.stats.names_folded > 0);
    bool found = false;
    uint64_t total = 0;
    for (uint32_t i = 0; i < d.u.stats.nentries; i++) {
        total += d.u.stats.entries[i].requests;
        if (strcmp(d.u.stats.entries[i].name, STATS_OVERFLOW_NAME) == 0) {
            found = true;
            assert_int_equal(d.u.stats.entries[i].requests, 4);
            assert_int_equal(d.u.stats.entries[i].lat.total, 4);
        }
    }
    assert_true(found);
    assert_int_equal(total, 6);
    proto_msg_free(&d);
    free(buf);
    stats_shard_fini(&s);
}

/* Issue 11: the entry's svc, STATS's sched and PLAN's arrival_rate travel and come
 * back equal; an "ITER" row is an entry like any other; a closed-model entry (svc empty)
 * is sent without the 7th field. */
static void test_open_model_roundtrip(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 8), 0);
    uint32_t order = stats_id(&s, "POST", "/ppic/manufacturing-orders");
    uint32_t closed = stats_id(&s, "GET", "/closed");
    uint32_t iter = stats_id(&s, STATS_ITERATION, "planner");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t svc = 300 + x % 40000;
        stats_record_svc(&s, order, svc + x % 1500000, svc, 100, i % 50 == 0);
        if (i % 3 == 0)
            stats_record_svc(&s, iter, 2 * svc + x % 2000000, 2 * svc, 0, i % 150 == 0);
    }
    stats_record(&s, closed, 777, 1, false);
    s.sched.intended = 3100;
    s.sched.started = 3000;
    s.sched.dropped = 42;
    s.sched.backlog_max = 58;
    for (uint64_t i = 0; i < 3000; i++)
        hist_record(&s.sched.lag, 5 + (i * 7919) % 250000);
    s.sched.cpu_us = 612345;
    s.sched.wall_us = 1000123;

    char *buf;
    size_t len;
    proto_msg d;
    assert_int_equal(proto_encode_stats(9, "w", 2, 4, false, &s, &buf, &len), 0);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    proto_stats *t = &d.u.stats;
    assert_int_equal(t->nentries, 3);
    uint32_t ids[] = { order, closed, iter };
    for (uint32_t i = 0; i < 3; i++) {
        const stats_entry *e = &s.entries[ids[i]];
        assert_string_equal(t->entries[i].method, e->method);
        assert_int_equal(t->entries[i].fig, e->fig);
        assert_int_equal(t->entries[i].requests, e->requests);
        assert_int_equal(t->entries[i].failures, e->failures);
        assert_hist_equal(&t->entries[i].lat, &e->lat);
        assert_hist_equal(&t->entries[i].svc, &e->svc);
    }
    assert_int_equal(t->entries[2].fig, STATS_FIG_ITERATION);
    assert_true(t->entries[0].svc.total > 0);
    assert_int_equal(t->entries[1].svc.total, 0);      /* closed row: svc stays empty */
    assert_ptr_equal(stats_row_svc(&t->entries[1]), &t->entries[1].lat);
    assert_int_equal(t->sched.intended, 3100);
    assert_int_equal(t->sched.started, 3000);
    assert_int_equal(t->sched.dropped, 42);
    assert_int_equal(t->sched.backlog_max, 58);
    assert_int_equal(t->sched.cpu_us, 612345);
    assert_int_equal(t->sched.wall_us, 1000123);
    assert_hist_equal(&t->sched.lag, &s.sched.lag);

    /* the closed entry is 6 fields on the wire, the open ones 7 */
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 14);   /* issue 13 appended health */
    const msgpack_object *ents = &up.data.via.array.ptr[10];
    assert_int_equal(ents->via.array.ptr[0].via.array.size, 7);
    assert_int_equal(ents->via.array.ptr[1].via.array.size, 6);
    assert_int_equal(ents->via.array.ptr[2].via.array.size, 7);
    msgpack_unpacked_destroy(&up);

    /* re-encoding the decoded message gives the same bytes */
    char *buf2;
    size_t len2;
    encode_ok(&d, &buf2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);
    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);
    stats_shard_fini(&s);

    /* PLAN's arrival_rate; absent (a 15-field PLAN) decodes to 0 */
    proto_msg m = { .type = MSG_PLAN };
    m.u.plan.scenario_file = "s.yaml";
    m.u.plan.scenario = "name: x\n";
    m.u.plan.scenario_len = 8;
    m.u.plan.arrival_rate = 123.25;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_true(d.u.plan.arrival_rate == 123.25);
    proto_msg_free(&d);
    pkbuf b;
    off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 20);  /* issue 12 appended tags, exclude_tags */
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 17);
    for (uint32_t k = 0; k < 17; k++)
        msgpack_pack_object(&b.pk, up.data.via.array.ptr[k]);
    assert_int_equal(decode_pkb(&b, &d), PROTO_OK);
    assert_true(d.u.plan.arrival_rate == 0);
    assert_string_equal(d.u.plan.scenario, "name: x\n");
    proto_msg_free(&d);
    msgpack_unpacked_destroy(&up);
    free(buf);
}

/* Issue 13: STATS's 12th field, health, travels and comes back equal; a STATS of the
 * revision before (11 fields: sched, no health) decodes with health zeroed; a health
 * with more elements than seven is read (the rest ignored); a short one or one of the
 * wrong type is malformed. Issue 15: its 7th element, retries, travels; a health of six
 * (issue 13's peer) decodes with retries 0; a retries that is no u64 is malformed. */
static void pkb_sched_empty(pkbuf *b)
{
    msgpack_pack_array(&b->pk, 7);
    for (int i = 0; i < 4; i++) msgpack_pack_uint64(&b->pk, 0);
    pkb_hist(b, 0, 0, 0, 0, 0, 0, 0, NULL);
    msgpack_pack_uint64(&b->pk, 0);
    msgpack_pack_uint64(&b->pk, 0);
}

static int decode_health(int nhealth, bool as_map, proto_msg *m)
{
    pkbuf b;
    pkb_init(&b);
    pkb_stats_head_x(&b, 0, nhealth >= 0 ? 2 : 1);
    msgpack_pack_array(&b.pk, 0);       /* errs */
    pkb_sched_empty(&b);
    if (nhealth >= 0) {
        if (as_map) msgpack_pack_map(&b.pk, 0);
        else {
            msgpack_pack_array(&b.pk, (uint32_t)nhealth);
            for (int i = 0; i < nhealth; i++) msgpack_pack_uint64(&b.pk, 100u + (unsigned)i);
        }
    }
    return decode_pkb(&b, m);
}

static void test_stats_health(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 8), 0);
    stats_record(&s, stats_id(&s, "GET", "/ping"), 800, 2, false);
    s.health = (stats_health){ .lag_max_us = 35123, .lag_sum_us = 91000, .lag_n = 20,
                               .conns = 57, .rss_bytes = 123456789012ull,
                               .proc_cpu_us = 1987654, .retries = 4000000123ull };
    char *buf;
    size_t len;
    proto_msg d;
    assert_int_equal(proto_encode_stats(9, "w", 0, 7, false, &s, &buf, &len), 0);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    const stats_health *h = &d.u.stats.health;
    assert_int_equal(h->lag_max_us, 35123);
    assert_int_equal(h->lag_sum_us, 91000);
    assert_int_equal(h->lag_n, 20);
    assert_int_equal(h->conns, 57);
    assert_int_equal(h->rss_bytes, 123456789012ull);
    assert_int_equal(h->proc_cpu_us, 1987654);
    assert_int_equal(h->retries, 4000000123ull);
    char *buf2;
    size_t len2;
    encode_ok(&d, &buf2, &len2);        /* re-encoded: the same bytes */
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);
    proto_msg_free(&d);
    check_truncations(buf, len);
    free(buf);
    stats_shard_reset(&s);              /* the interval's health goes with the reset */
    assert_int_equal(s.health.lag_n, 0);
    assert_int_equal(s.health.rss_bytes, 0);
    assert_int_equal(s.health.retries, 0);
    stats_shard_fini(&s);

    assert_int_equal(decode_health(-1, false, &d), PROTO_OK);   /* absent: zero */
    assert_int_equal(d.u.stats.health.lag_max_us, 0);
    assert_int_equal(d.u.stats.health.conns, 0);
    proto_msg_free(&d);
    assert_int_equal(decode_health(8, false, &d), PROTO_OK);    /* longer: read */
    assert_int_equal(d.u.stats.health.lag_max_us, 100);
    assert_int_equal(d.u.stats.health.proc_cpu_us, 105);
    assert_int_equal(d.u.stats.health.retries, 106);
    proto_msg_free(&d);
    assert_int_equal(decode_health(6, false, &d), PROTO_OK);    /* issue 13's peer */
    assert_int_equal(d.u.stats.health.proc_cpu_us, 105);
    assert_int_equal(d.u.stats.health.retries, 0);
    proto_msg_free(&d);
    assert_int_equal(decode_health(7, false, &d), PROTO_OK);
    assert_int_equal(d.u.stats.health.retries, 106);
    proto_msg_free(&d);
    assert_int_equal(decode_health(5, false, &d), PROTO_EMALFORMED);
    assert_int_equal(decode_health(0, true, &d), PROTO_EMALFORMED);

    /* retries must be a u64: a string, a negative number, a float are malformed */
    for (int k = 0; k < 3; k++) {
        pkbuf b;
        pkb_init(&b);
        pkb_stats_head_x(&b, 0, 2);
        msgpack_pack_array(&b.pk, 0);   /* errs */
        pkb_sched_empty(&b);
        msgpack_pack_array(&b.pk, 7);
        for (int i = 0; i < 6; i++) msgpack_pack_uint64(&b.pk, 1);
        if (k == 0) pkb_str(&b, "12");
        else if (k == 1) msgpack_pack_int64(&b.pk, -1);
        else msgpack_pack_double(&b.pk, 2.0);
        assert_int_equal(decode_pkb(&b, &d), PROTO_EMALFORMED);
    }
}

/* A STATS of the revision before issue 11 (10 fields, 6-field entries) decodes with
 * sched zeroed (lag empty) and svc empty. */
static void test_stats_without_sched(void **state)
{
    (void)state;
    uint64_t pairs[] = { 5, 1, 4, 1 };
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, 1);
    msgpack_pack_array(&b.pk, 6);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, 2);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    pkb_hist(&b, 2, 0, 0, 5, 9, 14, 2, pairs);
    msgpack_pack_array(&b.pk, 0);
    assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
    assert_int_equal(m.u.stats.entries[0].svc.total, 0);
    assert_int_equal(hist_percentile(stats_row_svc(&m.u.stats.entries[0]), 100), 9);
    assert_int_equal(m.u.stats.sched.intended, 0);
    assert_int_equal(m.u.stats.sched.started, 0);
    assert_int_equal(m.u.stats.sched.dropped, 0);
    assert_int_equal(m.u.stats.sched.backlog_max, 0);
    assert_int_equal(m.u.stats.sched.cpu_us, 0);
    assert_int_equal(m.u.stats.sched.wall_us, 0);
    assert_int_equal(m.u.stats.sched.lag.total, 0);
    assert_int_equal(hist_nonzero(&m.u.stats.sched.lag), 0);
    proto_msg_free(&m);
}

/* A one-entry STATS whose entry carries a svc histogram given raw, and a sched whose
 * lag histogram is given raw (lag_total UINT64_MAX: no sched at all). */
static int decode_open_stats(uint64_t svc_total, uint64_t svc_min, uint64_t svc_max,
                             unsigned svc_npairs, const uint64_t *svc_pairs, uint64_t lag_total,
                             uint64_t lag_lost, uint64_t lag_min, uint64_t lag_max,
                             unsigned lag_npairs, const uint64_t *lag_pairs)
{
    uint64_t pairs[] = { 5, 1, 4, 1 };
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head_x(&b, 1, lag_total == UINT64_MAX ? 0 : 1);
    msgpack_pack_array(&b.pk, 7);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, 2);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    pkb_hist(&b, 2, 0, 0, 5, 9, 14, 2, pairs);
    pkb_hist(&b, svc_total, 0, 0, svc_min, svc_max, svc_min + svc_max, svc_npairs, svc_pairs);
    msgpack_pack_array(&b.pk, 0);
    if (lag_total != UINT64_MAX) {
        msgpack_pack_array(&b.pk, 7);
        msgpack_pack_uint64(&b.pk, 10);
        msgpack_pack_uint64(&b.pk, 9);
        msgpack_pack_uint64(&b.pk, 1);
        msgpack_pack_uint32(&b.pk, 3);
        pkb_hist(&b, lag_total, 0, lag_lost, lag_min, lag_max, lag_min + lag_max, lag_npairs,
                 lag_pairs);
        msgpack_pack_uint64(&b.pk, 5);
        msgpack_pack_uint64(&b.pk, 6);
    }
    int rv = decode_pkb(&b, &m);
    if (rv == PROTO_OK) {
        assert_int_equal(m.u.stats.entries[0].svc.total, svc_total);
        if (lag_total != UINT64_MAX) {
            assert_int_equal(m.u.stats.sched.lag.total, lag_total);
            assert_int_equal(m.u.stats.sched.intended, 10);
            assert_int_equal(m.u.stats.sched.started, 9);
            assert_int_equal(m.u.stats.sched.dropped, 1);
            assert_int_equal(m.u.stats.sched.backlog_max, 3);
            assert_int_equal(m.u.stats.sched.cpu_us, 5);
            assert_int_equal(m.u.stats.sched.wall_us, 6);
        }
    }
    proto_msg_free(&m);
    return rv;
}

/* The new histograms obey the rules of every histogram; a malformed one drops the
 * message; arrival_rate must be finite and within 0..SC_MAX_RATE. */
static void test_open_model_malformed(void **state)
{
    (void)state;
    const uint64_t ok[] = { 4, 1, 4, 1 };              /* idx 4 and 8, counts 1 and 1 */
    const uint64_t zero_gap[] = { 4, 1, 0, 1 };        /* indexes must ascend */
    const uint64_t zero_count[] = { 4, 0, 4, 2 };
    const uint64_t beyond[] = { HIST_NCOUNTS, 2 };
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 2, 0, 4, 8, 2, ok), PROTO_OK);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, UINT64_MAX, 0, 0, 0, 0, NULL), PROTO_OK);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 0, 0, 0, 0, 0, NULL), PROTO_OK);
    /* svc breaking the rules */
    assert_int_equal(decode_open_stats(3, 4, 8, 2, ok, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, zero_gap, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, zero_count, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 8, 4, 2, ok, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 5, 8, 2, ok, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 1, beyond, 0, 0, 0, 0, 0, NULL), PROTO_EMALFORMED);
    /* a bad lag histogram */
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 1, 0, 4, 8, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 2, 0, 4, 8, 2, zero_gap), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 2, 0, 4, 9, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 3, 1, 4, 9, 2, ok), PROTO_OK);  /* lost */
    assert_int_equal(decode_open_stats(2, 4, 8, 2, ok, 2, 0, 4, 8, 1, beyond), PROTO_EMALFORMED);

    /* sched of the wrong shape: too short, a negative count, backlog_max beyond u32 */
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 2), 0);
    char *buf;
    size_t len;
    assert_int_equal(proto_encode_stats(1, "w", 0, 0, false, &s, &buf, &len), 0);
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 14);   /* issue 13's health: left out below */
    for (int variant = 0; variant < 3; variant++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 13);
        for (uint32_t k = 0; k < 12; k++)
            msgpack_pack_object(&b.pk, up.data.via.array.ptr[k]);
        const msgpack_object *sc = &up.data.via.array.ptr[12];
        msgpack_pack_array(&b.pk, variant == 0 ? 6 : 7);
        for (uint32_t k = 0; k < (variant == 0 ? 6u : 7u); k++) {
            if (variant == 1 && k == 1)
                msgpack_pack_int64(&b.pk, -1);
            else if (variant == 2 && k == 3)
                msgpack_pack_uint64(&b.pk, (uint64_t)UINT32_MAX + 1);
            else
                msgpack_pack_object(&b.pk, sc->via.array.ptr[k]);
        }
        assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
        assert_int_equal(m.type, 0);
    }
    msgpack_unpacked_destroy(&up);
    free(buf);
    stats_shard_fini(&s);

    /* arrival_rate: negative, NaN, infinite, beyond SC_MAX_RATE, a string */
    proto_msg pm = { .type = MSG_PLAN };
    pm.u.plan.scenario_file = "s.yaml";
    pm.u.plan.scenario = "name: x\n";
    pm.u.plan.scenario_len = 8;
    pm.u.plan.arrival_rate = 50;
    assert_int_equal(proto_encode(&pm, &buf, &len), 0);
    off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 20);  /* issue 12 appended tags, exclude_tags */
    const double bad[] = { -1.0, -0.5, NAN, INFINITY, -INFINITY, 1e7 * 1.0001 };
    for (size_t v = 0; v <= sizeof bad / sizeof bad[0]; v++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 18);
        for (uint32_t k = 0; k < 17; k++)
            msgpack_pack_object(&b.pk, up.data.via.array.ptr[k]);
        if (v < sizeof bad / sizeof bad[0])
            msgpack_pack_double(&b.pk, bad[v]);
        else
            pkb_str(&b, "50/s");
        assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
        assert_int_equal(m.type, 0);
    }
    /* the bound itself and an integer are accepted */
    for (int v = 0; v < 2; v++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 18);
        for (uint32_t k = 0; k < 17; k++)
            msgpack_pack_object(&b.pk, up.data.via.array.ptr[k]);
        if (v == 0)
            msgpack_pack_double(&b.pk, 1e7);
        else
            msgpack_pack_uint32(&b.pk, 400);
        assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
        assert_true(m.u.plan.arrival_rate == (v == 0 ? 1e7 : 400));
        proto_msg_free(&m);
    }
    msgpack_unpacked_destroy(&up);
    free(buf);
    /* the encoder never sends what no decoder takes: NaN and negatives go as 0 */
    pm.u.plan.arrival_rate = NAN;
    assert_int_equal(proto_encode(&pm, &buf, &len), 0);
    proto_msg d;
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_true(d.u.plan.arrival_rate == 0);
    proto_msg_free(&d);
    free(buf);
}

/* proto/plan.c: arrival_rate applies after -u/-t on an open scenario (one stage at the
 * rate for the run's duration); it is refused on a closed scenario, as -r is on an open
 * one, and so is a rate that is not finite within 0..SC_MAX_RATE. */
static void test_plan_arrival_rate(void **state)
{
    (void)state;
    static const char open_yaml[] =
        "name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 20\n"
        "  stages:\n    - { duration: 10s, rate: 10 }\n    - { duration: 20s, rate: 30/s }\n"
        "users:\n  - name: planner\n    flow:\n      - http: { url: /ping }\n";
    static const char closed_yaml[] =
        "name: t\ntarget: http://127.0.0.1:8000\nload:\n  stages:\n"
        "    - { duration: 10s, users: 5 }\nusers:\n  - name: op\n    flow:\n"
        "      - http: { url: /ping }\n";
    proto_plan p = { .scenario_file = "open.yaml", .scenario = (char *)open_yaml,
                     .scenario_len = sizeof open_yaml - 1 };
    sc_error err;
    scenario *sc = plan_scenario(&p, &err);
    assert_non_null(sc);
    uint64_t total = loadshape_duration_ms(sc->stages, sc->nstages);
    assert_int_equal(total, 30000);
    assert_true(loadshape_peak_rate(sc->stages, sc->nstages) == 30);
    scenario_free(sc);

    /* --arrival-rate alone: the scenario's duration at that rate */
    p.arrival_rate = 75;
    sc = plan_scenario(&p, &err);
    assert_non_null(sc);
    assert_int_equal(sc->model, SC_MODEL_OPEN);
    assert_int_equal(loadshape_duration_ms(sc->stages, sc->nstages), total);
    assert_true(loadshape_peak_rate(sc->stages, sc->nstages) == 75);
    assert_true(loadshape_rate_at(sc->stages, sc->nstages, 1.0) == 75);
    assert_true(fabs(loadshape_area(sc->stages, sc->nstages, 30e6) - 75 * 30.0) < 1e-6);
    scenario_free(sc);

    /* with -t and -u: the duration is -t's, the pool -u's */
    p.duration_ms = 4000;
    p.users = 7;
    sc = plan_scenario(&p, &err);
    assert_non_null(sc);
    assert_int_equal(loadshape_duration_ms(sc->stages, sc->nstages), 4000);
    assert_true(fabs(loadshape_area(sc->stages, sc->nstages, 4e6) - 75 * 4.0) < 1e-6);
    assert_int_equal(sc->max_users, 7);
    assert_int_equal(scenario_peak_users(sc), 7);
    scenario_free(sc);

    /* -r on the open model: refused with a hint naming --arrival-rate */
    p.rate = 5;
    assert_null(plan_scenario(&p, &err));
    assert_non_null(strstr(err.msg, "-r"));
    assert_non_null(strstr(err.hint, "--arrival-rate"));
    assert_string_equal(err.file, "open.yaml");
    p.rate = 0;

    /* not a rate */
    const double bad[] = { -1, NAN, INFINITY, 2e7 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.arrival_rate = bad[i];
        memset(&err, 0, sizeof err);
        assert_null(plan_scenario(&p, &err));
        assert_true(err.msg[0] != '\0');
        assert_true(err.hint[0] != '\0');
    }

    /* a closed scenario refuses --arrival-rate, takes -u/-r as before */
    proto_plan c = { .scenario_file = "closed.yaml", .scenario = (char *)closed_yaml,
                     .scenario_len = sizeof closed_yaml - 1, .arrival_rate = 10 };
    memset(&err, 0, sizeof err);
    assert_null(plan_scenario(&c, &err));
    assert_non_null(strstr(err.msg, "--arrival-rate"));
    assert_non_null(strstr(err.msg, "closed"));
    assert_string_equal(err.file, "closed.yaml");
    c.arrival_rate = 0;
    c.users = 9;
    c.rate = 3;
    sc = plan_scenario(&c, &err);
    assert_non_null(sc);
    assert_int_equal(scenario_peak_users(sc), 9);
    scenario_free(sc);
}

/* Issue 12: PLAN's 17th and 18th fields, tags and exclude_tags: a round trip, absent
 * (a 16-field PLAN) is none, hostile lists are malformed, plan_copy copies them and
 * plan_scenario prunes with them. */
static void plan_with_tags(pkbuf *b, const msgpack_object *f16, int variant)
{
    pkb_init(b);
    msgpack_pack_array(&b->pk, 20);
    for (uint32_t k = 0; k < 18; k++)
        msgpack_pack_object(&b->pk, f16[k]);
    char big[PROTO_TAG_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    switch (variant) {
    case 0:             /* too many tags */
        msgpack_pack_array(&b->pk, PROTO_MAX_TAGS + 1);
        for (uint32_t i = 0; i <= PROTO_MAX_TAGS; i++)
            pkb_str(b, "t");
        break;
    case 1:             /* a tag one byte too long */
        msgpack_pack_array(&b->pk, 1);
        pkb_str(b, big);
        break;
    case 2:             /* an empty tag */
        msgpack_pack_array(&b->pk, 1);
        pkb_str(b, "");
        break;
    case 3:             /* a number */
        msgpack_pack_array(&b->pk, 1);
        msgpack_pack_uint32(&b->pk, 7);
        break;
    case 4:             /* not a list */
        pkb_str(b, "a,b");
        break;
    case 5:             /* NUL inside */
        msgpack_pack_array(&b->pk, 1);
        msgpack_pack_str(&b->pk, 3);
        msgpack_pack_str_body(&b->pk, "a\0b", 3);
        break;
    default:            /* the bounds themselves */
        msgpack_pack_array(&b->pk, PROTO_MAX_TAGS);
        for (uint32_t i = 0; i < PROTO_MAX_TAGS; i++)
            pkb_str(b, i ? "t" : (big[PROTO_TAG_MAX] = '\0', big));
        break;
    }
    msgpack_pack_array(&b->pk, 0);
}

static void test_plan_tags(void **state)
{
    (void)state;
    static const char yaml[] =
        "name: t\ntarget: http://127.0.0.1:8000\nload: { stages: [ { duration: 10s, users: 5 } ] }\n"
        "users:\n  - name: op\n    flow:\n"
        "      - http: { name: fast, url: /a }\n        tags: [fast]\n"
        "      - http: { name: slow, url: /b }\n        tags: [slow]\n";
    char *tags[] = { "fast", "other" }, *ex[] = { "slow" };
    proto_msg m = { .type = MSG_PLAN }, d;
    m.u.plan.scenario_file = "s.yaml";
    m.u.plan.scenario = (char *)yaml;
    m.u.plan.scenario_len = sizeof yaml - 1;
    m.u.plan.tags = tags;
    m.u.plan.ntags = 2;
    m.u.plan.exclude_tags = ex;
    m.u.plan.nexclude_tags = 1;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_int_equal(proto_decode(buf, len, &d), PROTO_OK);
    assert_int_equal(d.u.plan.ntags, 2);
    assert_string_equal(d.u.plan.tags[0], "fast");
    assert_string_equal(d.u.plan.tags[1], "other");
    assert_int_equal(d.u.plan.nexclude_tags, 1);
    assert_string_equal(d.u.plan.exclude_tags[0], "slow");
    /* a copy is deep */
    proto_plan cp;
    assert_int_equal(plan_copy(&cp, &d.u.plan), 0);
    assert_ptr_not_equal(cp.tags, d.u.plan.tags);
    assert_string_equal(cp.tags[1], "other");
    assert_string_equal(cp.exclude_tags[0], "slow");
    /* plan_scenario prunes: only the "fast" step is left */
    sc_error err;
    scenario *sc = plan_scenario(&cp, &err);
    assert_non_null(sc);
    assert_int_equal(sc->profiles[0].nflow, 1);
    assert_string_equal(sc->profiles[0].flow[0].u.http.name, "fast");
    scenario_free(sc);
    plan_fini(&cp);
    assert_null(cp.tags);
    assert_null(cp.exclude_tags);
    /* a tag nothing carries, alone: refused with the tags there are */
    char *none[] = { "other" };
    proto_plan q = { .scenario_file = "s.yaml", .scenario = (char *)yaml,
                     .scenario_len = sizeof yaml - 1, .tags = none, .ntags = 1 };
    assert_null(plan_scenario(&q, &err));
    assert_non_null(strstr(err.msg, "no step carries tag other"));
    assert_non_null(strstr(err.hint, "fast, slow"));
    proto_msg_free(&d);
    check_truncations(buf, len);

    /* a PLAN of the revision before (16 fields): no tags */
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 20);
    pkbuf b;
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 18);
    for (uint32_t k = 0; k < 18; k++)
        msgpack_pack_object(&b.pk, up.data.via.array.ptr[k]);
    assert_int_equal(decode_pkb(&b, &d), PROTO_OK);
    assert_int_equal(d.u.plan.ntags, 0);
    assert_null(d.u.plan.tags);
    assert_int_equal(d.u.plan.nexclude_tags, 0);
    proto_msg_free(&d);
    /* hostile lists */
    for (int v = 0; v < 6; v++) {
        plan_with_tags(&b, up.data.via.array.ptr, v);
        memset(&d, 0, sizeof d);
        if (decode_pkb(&b, &d) != PROTO_EMALFORMED)
            fail_msg("variant %d decoded", v);
        assert_int_equal(d.type, 0);
    }
    plan_with_tags(&b, up.data.via.array.ptr, 6);
    assert_int_equal(decode_pkb(&b, &d), PROTO_OK);
    assert_int_equal(d.u.plan.ntags, PROTO_MAX_TAGS);
    assert_int_equal(strlen(d.u.plan.tags[0]), PROTO_TAG_MAX);
    proto_msg_free(&d);
    msgpack_unpacked_destroy(&up);
    free(buf);

    /* a plan built in this process over the bounds is refused before it is sent */
    proto_plan p = { .scenario_file = "s.yaml", .scenario = (char *)yaml,
                     .scenario_len = sizeof yaml - 1 };
    char *many[PROTO_MAX_TAGS + 1];
    for (uint32_t i = 0; i <= PROTO_MAX_TAGS; i++)
        many[i] = "fast";
    p.tags = many;
    p.ntags = PROTO_MAX_TAGS + 1;
    assert_null(plan_scenario(&p, &err));
    assert_non_null(strstr(err.msg, "more than 64 tags"));
    char *empty[] = { "" };
    p.tags = empty;
    p.ntags = 1;
    assert_null(plan_scenario(&p, &err));
    assert_non_null(strstr(err.msg, "empty or longer than"));
}

/* Issue 12: a missing data file is reported once: "cannot read X: <reason>". */
static void test_plan_missing_csv(void **state)
{
    (void)state;
    char dir[] = "/tmp/stampede-plan-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: t\ntarget: http://127.0.0.1:8000\nload: { stages: [ { duration: 1m, users: 1 } ] }\n"
          "data:\n  ops: { csv: nothere.csv }\nusers:\n  - name: u\n"
          "    flow: [ { http: { url: \"/x/{{ ops.id }}\" } } ]\n", f);
    fclose(f);
    proto_plan p = { 0 };
    sc_error err;
    assert_int_equal(plan_from_file(&p, path, NULL, 0, NULL, &err), -1);
    char want[600];
    snprintf(want, sizeof want, "data feeder 'ops': cannot read %s/nothere.csv: No such file "
             "or directory", dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.line, 5);
    plan_fini(&p);
    unlink(path);
    rmdir(dir);
}

/* ------------------------------------------------------------------------------ */
/* Envelope rules                                                                   */

static void test_forward_compat(void **state)
{
    (void)state;
    pkbuf b;
    proto_msg m;
    /* HEARTBEAT with two extra trailing fields, one a nested array. */
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 7);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_HEARTBEAT);
    msgpack_pack_uint64(&b.pk, 5);
    msgpack_pack_uint64(&b.pk, 6);
    msgpack_pack_double(&b.pk, 12.5);
    pkb_str(&b, "a field from the future");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_map(&b.pk, 0);
    assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
    assert_int_equal(m.u.heartbeat.seq, 5);
    assert_int_equal(m.u.heartbeat.wall_ms, 6);
    assert_true(m.u.heartbeat.cpu_pct == 12.5);
    proto_msg_free(&m);

    /* Extra elements inside a stats entry, its histogram and an error row (after the
     * optional fields issue 11 appended: the entry's svc, the envelope's sched). */
    pkb_init(&b);
    pkb_stats_head_x(&b, 1, 3);
    msgpack_pack_array(&b.pk, 8);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, 2);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_array(&b.pk, 8);
    uint64_t vals[] = { 2, 0, 0, 5, 9, 14 };
    for (int i = 0; i < 6; i++)
        msgpack_pack_uint64(&b.pk, vals[i]);
    msgpack_pack_array(&b.pk, 4);
    uint64_t pairs[] = { 5, 1, 4, 1 };
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint64(&b.pk, pairs[i]);
    msgpack_pack_nil(&b.pk);                    /* extra in hist */
    pkb_hist(&b, 2, 0, 0, 4, 8, 12, 2, (const uint64_t[]){ 4, 1, 4, 1 });   /* svc */
    msgpack_pack_true(&b.pk);                   /* extra in entry */
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 5);
    msgpack_pack_uint32(&b.pk, 0);
    msgpack_pack_uint32(&b.pk, ERR_EXPECT);
    pkb_str(&b, "status");
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_double(&b.pk, 1.5);            /* extra in error row */
    msgpack_pack_array(&b.pk, 8);               /* sched */
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint64(&b.pk, 1);
    pkb_hist(&b, 0, 0, 0, 0, 0, 0, 0, NULL);
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_uint64(&b.pk, 1);
    pkb_str(&b, "extra in sched");
    msgpack_pack_array(&b.pk, 8);               /* health (issue 13, retries: 15) */
    for (int i = 0; i < 7; i++)
        msgpack_pack_uint64(&b.pk, 1);
    pkb_str(&b, "extra in health");
    msgpack_pack_uint32(&b.pk, 123);            /* extra in envelope */
    assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
    assert_int_equal(m.u.stats.nentries, 1);
    assert_int_equal(m.u.stats.entries[0].lat.total, 2);
    assert_int_equal(hist_percentile(&m.u.stats.entries[0].lat, 100), 9);
    assert_int_equal(hist_percentile(&m.u.stats.entries[0].lat, 50), 5);
    assert_int_equal(m.u.stats.nerrs, 1);
    assert_int_equal(m.u.stats.errs[0].kind, ERR_EXPECT);
    assert_int_equal(m.u.stats.health.proc_cpu_us, 1);
    assert_int_equal(m.u.stats.health.retries, 1);
    proto_msg_free(&m);
}

static void test_missing_field(void **state)
{
    (void)state;
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_STOP);
    msgpack_pack_uint64(&b.pk, 5);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    assert_int_equal(m.type, 0);                /* nothing left behind */

    pkb_init(&b);
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);

    pkb_init(&b);                               /* not an array at all */
    msgpack_pack_map(&b.pk, 1);
    msgpack_pack_uint32(&b.pk, 1);
    msgpack_pack_uint32(&b.pk, 1);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    assert_int_equal(proto_decode(NULL, 0, &m), PROTO_EMALFORMED);
    assert_int_equal(proto_decode("", 0, &m), PROTO_EMALFORMED);
}

static void test_wrong_version(void **state)
{
    (void)state;
    proto_msg m = { .type = MSG_HEARTBEAT }, d;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_int_equal((uint8_t)buf[1], PROTO_VERSION);      /* [fixarray, version, ...] */
    buf[1] = PROTO_VERSION + 1;
    assert_int_equal(proto_decode(buf, len, &d), PROTO_EVERSION);
    buf[1] = 0;
    assert_int_equal(proto_decode(buf, len, &d), PROTO_EVERSION);
    buf[1] = (char)0xc0;                                   /* nil: not even a number */
    assert_int_equal(proto_decode(buf, len, &d), PROTO_EMALFORMED);
    free(buf);
}

static void test_unknown_type(void **state)
{
    (void)state;
    static const uint64_t types[] = { 0, MSG_ACK + 1, 99, UINT64_MAX };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 4);
        msgpack_pack_uint32(&b.pk, PROTO_VERSION);
        msgpack_pack_uint64(&b.pk, types[i]);
        msgpack_pack_uint64(&b.pk, 1);
        msgpack_pack_uint64(&b.pk, 2);
        assert_int_equal(decode_pkb(&b, &m), PROTO_ETYPE);
    }
    proto_msg m = { .type = (proto_type)42 };
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(proto_encode(&m, &buf, &len), -1);
    assert_null(buf);
    assert_string_equal(proto_type_name(MSG_STATS), "stats");
    assert_string_equal(proto_type_name(MSG_CHALLENGE), "challenge");
    assert_string_equal(proto_type_name(MSG_WELCOME), "welcome");
    assert_string_equal(proto_type_name(MSG_REJECT), "reject");
    assert_string_equal(proto_type_name(MSG_ADOPT), "adopt");
    assert_string_equal(proto_type_name(MSG_RELEASE), "release");
    assert_string_equal(proto_type_name(MSG_ACK), "ack");
    assert_string_equal(proto_type_name(42), "unknown");
    assert_string_equal(proto_strerror(PROTO_EVERSION), "protocol version mismatch");
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    proto_msg m = { .type = MSG_STOP }, d;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    char *two = malloc(2 * len);
    memcpy(two, buf, len);
    memcpy(two + len, buf, len);
    assert_int_equal(proto_decode(two, 2 * len, &d), PROTO_EMALFORMED);
    two[len] = 0;
    assert_int_equal(proto_decode(two, len + 1, &d), PROTO_EMALFORMED);
    assert_int_equal(proto_decode(two, len, &d), PROTO_OK);
    free(two);
    free(buf);
}

/* ------------------------------------------------------------------------------ */
/* Lying lengths, limits                                                            */

/* NOTES.md: five bytes, an array32 header claiming 100 million elements. msgpack-c
 * alone would allocate for them; the decoder must refuse before. Without ASan this
 * runs in a child whose address space allows only 64 MiB more than it has. */
static void test_array32_lie(void **state)
{
    (void)state;
    static const char lie[5] = { (char)0xdd, 0x05, (char)0xf5, (char)0xe1, 0x00 };
    proto_msg m;
    assert_int_equal(proto_decode(lie, sizeof lie, &m), PROTO_EMALFORMED);
    if (UNDER_ASAN)
        return;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f == NULL || fscanf(f, "%lu", &pages) != 1)
            _exit(3);
        fclose(f);
        rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64u << 20);
        struct rlimit rl = { cap, cap };
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(3);
        /* The limit bites: msgpack-c on its own runs out of memory here. */
        msgpack_unpacked up;
        size_t off = 0;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, lie, sizeof lie, &off) != MSGPACK_UNPACK_NOMEM_ERROR)
            _exit(4);
        msgpack_unpacked_destroy(&up);
        proto_msg mm;
        _exit(proto_decode(lie, sizeof lie, &mm) == PROTO_EMALFORMED ? 0 : 5);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_str32_lie(void **state)
{
    (void)state;
    proto_msg m;
    /* A HELLO whose id is a str32 claiming 4 GiB - 1, followed by a few bytes. */
    static const char s[] = { (char)0x98, 0x01, 0x01, (char)0xdb, (char)0xff, (char)0xff,
                              (char)0xff, (char)0xff, 'a', 'b', 'c' };
    assert_int_equal(proto_decode(s, sizeof s, &m), PROTO_EMALFORMED);
    /* The same as bin32 and ext32, and a map32 claiming 2^32-1 pairs. */
    char t[sizeof s];
    memcpy(t, s, sizeof s);
    t[3] = (char)0xc6;
    assert_int_equal(proto_decode(t, sizeof t, &m), PROTO_EMALFORMED);
    t[3] = (char)0xc9;
    assert_int_equal(proto_decode(t, sizeof t, &m), PROTO_EMALFORMED);
    t[3] = (char)0xdf;
    assert_int_equal(proto_decode(t, sizeof t, &m), PROTO_EMALFORMED);
    /* An array16 claiming one element more than there are bytes. */
    static const char u[] = { (char)0xdc, 0x00, 0x04, 0x01, 0x07, 0x01 };
    assert_int_equal(proto_decode(u, sizeof u, &m), PROTO_EMALFORMED);
    /* 0xc1 is never used in msgpack. */
    static const char v[] = { (char)0x93, 0x01, 0x07, (char)0xc1 };
    assert_int_equal(proto_decode(v, sizeof v, &m), PROTO_EMALFORMED);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* HEARTBEAT with a trailing field nested d levels deep: the envelope is level 1. */
    for (int d = 1; d <= 20; d++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 6);
        msgpack_pack_uint32(&b.pk, PROTO_VERSION);
        msgpack_pack_uint32(&b.pk, MSG_HEARTBEAT);
        msgpack_pack_uint64(&b.pk, 1);
        msgpack_pack_uint64(&b.pk, 2);
        msgpack_pack_double(&b.pk, 0.5);
        for (int i = 0; i < d; i++)
            msgpack_pack_array(&b.pk, i + 1 < d ? 1 : 0);
        int want = 1 + d <= 16 ? PROTO_OK : PROTO_EMALFORMED;
        assert_int_equal(decode_pkb(&b, &m), want);
        proto_msg_free(&m);
    }
}

static void test_oversize(void **state)
{
    (void)state;
    size_t n = PROTO_MAX_MSG + 1;
    char *big = calloc(1, n);
    assert_non_null(big);
    /* A valid HEARTBEAT padded by a bin32 trailing field up to one byte too many. */
    big[0] = (char)0xdd;
    big[4] = 6;
    big[5] = PROTO_VERSION;
    big[6] = MSG_HEARTBEAT;
    big[7] = 1;
    big[8] = 2;
    big[9] = 3;                         /* cpu_pct, an integer */
    size_t body = n - 10 - 5;
    big[10] = (char)0xc6;
    big[11] = (char)(body >> 24);
    big[12] = (char)(body >> 16);
    big[13] = (char)(body >> 8);
    big[14] = (char)body;
    proto_msg m;
    assert_int_equal(proto_decode(big, n, &m), PROTO_ETOOBIG);
    /* One byte less is exactly PROTO_MAX_MSG, and fine. */
    body--;
    big[11] = (char)(body >> 24);
    big[12] = (char)(body >> 16);
    big[13] = (char)(body >> 8);
    big[14] = (char)body;
    assert_int_equal(proto_decode(big, n - 1, &m), PROTO_OK);
    assert_int_equal(m.u.heartbeat.wall_ms, 2);
    proto_msg_free(&m);
    free(big);
}

static void pack_min_entry(pkbuf *b)
{
    msgpack_pack_array(&b->pk, 6);
    pkb_str(b, "GET");
    pkb_str(b, "/x");
    msgpack_pack_uint64(&b->pk, 0);
    msgpack_pack_uint64(&b->pk, 0);
    msgpack_pack_uint64(&b->pk, 0);
    pkb_hist(b, 0, 0, 0, 0, 0, 0, 0, NULL);
}

static void test_too_many_entries(void **state)
{
    (void)state;
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, PROTO_MAX_ENTRIES + 1);
    for (uint32_t i = 0; i < PROTO_MAX_ENTRIES + 1; i++)
        pack_min_entry(&b);
    msgpack_pack_array(&b.pk, 0);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    assert_null(m.u.stats.entries);
}

static void test_too_many_errs(void **state)
{
    (void)state;
    for (uint32_t n = PROTO_MAX_ERRS; n <= PROTO_MAX_ERRS + 1; n++) {
        pkbuf b;
        proto_msg m;
        pkb_init(&b);
        pkb_stats_head(&b, 1);
        pack_min_entry(&b);
        msgpack_pack_array(&b.pk, n);
        for (uint32_t i = 0; i < n; i++) {
            msgpack_pack_array(&b.pk, 4);
            msgpack_pack_uint32(&b.pk, 0);
            msgpack_pack_uint32(&b.pk, ERR_HTTP_STATUS);
            pkb_str(&b, "500");
            msgpack_pack_uint64(&b.pk, 1);
        }
        int rv = decode_pkb(&b, &m);
        assert_int_equal(rv, n <= PROTO_MAX_ERRS ? PROTO_OK : PROTO_EMALFORMED);
        if (rv == PROTO_OK)
            assert_int_equal(m.u.stats.nerrs, n);
        proto_msg_free(&m);
    }
}

/* ------------------------------------------------------------------------------ */
/* Histograms                                                                       */

static void test_hist_checks(void **state)
{
    (void)state;
    /* A valid one first: values 5 and 9 (indexes 5 and 9: gap 4). */
    uint64_t ok[] = { 5, 1, 4, 1 };
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, 9, 14, 2, ok), PROTO_OK);

    /* Index out of range: absolute and through a gap. */
    uint64_t big[] = { HIST_NCOUNTS, 1 };
    assert_int_equal(decode_stats_hist(1, 0, 0, 1, 1, 1, 1, big), PROTO_EMALFORMED);
    uint64_t gap[] = { HIST_NCOUNTS - 2, 1, 2, 1 };
    assert_int_equal(decode_stats_hist(2, 0, 0, hist_index_low(HIST_NCOUNTS - 2), HIST_MAX_US,
                                       0, 2, gap), PROTO_EMALFORMED);
    uint64_t huge[] = { 5, 1, UINT64_MAX - 2, 1 };      /* gap wrapping around */
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, 5, 10, 2, huge), PROTO_EMALFORMED);

    /* Not strictly ascending: a repeated index (gap 0). */
    uint64_t rep[] = { 5, 1, 0, 1 };
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, 5, 10, 2, rep), PROTO_EMALFORMED);

    /* Counts not adding up to total (with and without lost). */
    assert_int_equal(decode_stats_hist(3, 0, 0, 5, 9, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(1, 0, 0, 5, 9, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(3, 0, 1, 5, 9, 14, 2, ok), PROTO_OK);
    assert_int_equal(decode_stats_hist(3, 0, 2, 5, 9, 14, 2, ok), PROTO_EMALFORMED);
    uint64_t wrap[] = { 5, UINT64_MAX, 4, 2 };          /* sum overflowing to total */
    assert_int_equal(decode_stats_hist(1, 0, 0, 5, 9, 14, 2, wrap), PROTO_EMALFORMED);

    /* Zero count, odd pair array, clamped beyond total, min/max inconsistent. */
    uint64_t zero[] = { 5, 0, 4, 2 };
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, 9, 14, 2, zero), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(2, 3, 0, 5, 9, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(2, 0, 0, 9, 5, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(2, 0, 0, 4, 9, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, 10, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(2, 0, 0, 5, HIST_MAX_US + 1, 14, 2, ok), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(0, 0, 0, 0, 0, 7, 0, NULL), PROTO_EMALFORMED);
    assert_int_equal(decode_stats_hist(0, 0, 0, 0, 0, 0, 0, NULL), PROTO_OK);

    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, 1);
    msgpack_pack_array(&b.pk, 6);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_array(&b.pk, 7);
    for (int i = 0; i < 6; i++)
        msgpack_pack_uint64(&b.pk, i == 0 ? 1 : 5);
    msgpack_pack_array(&b.pk, 3);                       /* odd: an index without count */
    msgpack_pack_uint64(&b.pk, 5);
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_array(&b.pk, 0);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
}

/* Many entries, each with a histogram spread over every chunk (552 buckets, past any
 * sparse form), cannot make the decoder allocate without bound: past 256 MiB of
 * histogram memory the message is refused. */
static void test_hist_memory_budget(void **state)
{
    (void)state;
    uint32_t nent = 1500;               /* 1500 dense histograms of ~185 KiB > 256 MiB */
    uint32_t per = 3, nb = HIST_NCHUNKS * per;
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, nent);
    for (uint32_t e = 0; e < nent; e++) {
        msgpack_pack_array(&b.pk, 6);
        pkb_str(&b, "GET");
        pkb_str(&b, "/x");
        msgpack_pack_uint64(&b.pk, nb);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_array(&b.pk, 7);
        msgpack_pack_uint64(&b.pk, nb);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, hist_index_high((HIST_NCHUNKS - 1) * HIST_CHUNK_LEN + per - 1));
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_array(&b.pk, 2 * nb);
        for (uint32_t k = 0; k < nb; k++) {
            uint32_t gap = k == 0 ? 0 : k % per ? 1 : HIST_CHUNK_LEN - per + 1;
            msgpack_pack_uint32(&b.pk, gap);
            msgpack_pack_uint32(&b.pk, 1);
        }
    }
    msgpack_pack_array(&b.pk, 0);
    assert_true(b.sb.size < PROTO_MAX_MSG);
    assert_int_equal(decode_pkb(&b, &m), PROTO_ETOOBIG);

    /* A few of them are fine. */
    pkb_init(&b);
    pkb_stats_head(&b, 1);
    msgpack_pack_array(&b.pk, 6);
    pkb_str(&b, "GET");
    pkb_str(&b, "/x");
    msgpack_pack_uint64(&b.pk, nb);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_array(&b.pk, 7);
    msgpack_pack_uint64(&b.pk, nb);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint64(&b.pk, hist_index_high((HIST_NCHUNKS - 1) * HIST_CHUNK_LEN + per - 1));
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_array(&b.pk, 2 * nb);
    for (uint32_t k = 0; k < nb; k++) {
        msgpack_pack_uint32(&b.pk, k == 0 ? 0 : k % per ? 1 : HIST_CHUNK_LEN - per + 1);
        msgpack_pack_uint32(&b.pk, 1);
    }
    msgpack_pack_array(&b.pk, 0);
    assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
    assert_int_equal(hist_nonzero(&m.u.stats.entries[0].lat), nb);
    assert_int_equal(hist_percentile(&m.u.stats.entries[0].lat, 100),
                     hist_index_high((HIST_NCHUNKS - 1) * HIST_CHUNK_LEN + per - 1));
    proto_msg_free(&m);
}

/* ------------------------------------------------------------------------------ */
/* Field types                                                                      */

/* Re-packs a valid message with field i (counting the version as 0) replaced by obj. */
static void repack_with(const char *buf, size_t len, uint32_t i, void (*put)(msgpack_packer *),
                        pkbuf *out)
{
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_array *a = &up.data.via.array;
    pkb_init(out);
    msgpack_pack_array(&out->pk, a->size);
    for (uint32_t k = 0; k < a->size; k++) {
        if (k == i)
            put(&out->pk);
        else
            msgpack_pack_object(&out->pk, a->ptr[k]);
    }
    msgpack_unpacked_destroy(&up);
}

static void put_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void put_int(msgpack_packer *pk) { msgpack_pack_uint32(pk, 1); }
static void put_neg(msgpack_packer *pk) { msgpack_pack_int32(pk, -1); }
static void put_str(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "x", 1); }
static void put_bin(msgpack_packer *pk) { msgpack_pack_bin_with_body(pk, "x", 1); }
static void put_map(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }
static void put_dbl(msgpack_packer *pk) { msgpack_pack_double(pk, 1.0); }
static void put_true(msgpack_packer *pk) { msgpack_pack_true(pk); }

/* For every field of every message type, each value of a type the field cannot hold
 * must be refused (plan.host takes nil; plan.rate takes an integer). */
static void test_wrong_field_types(void **state)
{
    (void)state;
    static void (*const puts_[])(msgpack_packer *) = { put_nil, put_int, put_neg, put_str,
                                                       put_bin, put_map, put_dbl, put_true };
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 4), 0);
    stats_record(&s, stats_id(&s, "GET", "/a"), 1234, 1, false);
    stats_error(&s, 0, ERR_OTHER, "x");

    enum { NMSG = 12 };
    proto_msg ms[NMSG] = { { .type = MSG_HELLO }, { .type = MSG_PLAN }, { .type = MSG_STOP },
                           { .type = MSG_DONE }, { .type = MSG_REFUSE }, { .type = MSG_HEARTBEAT },
                           { .type = MSG_CHALLENGE }, { .type = MSG_WELCOME },
                           { .type = MSG_REJECT }, { .type = MSG_ADOPT },
                           { .type = MSG_RELEASE }, { .type = MSG_ACK } };
    strcpy(ms[0].u.hello.id, "a");
    ms[0].u.hello.has_proof = true;
    ms[7].u.welcome.has_proof = true;
    uint32_t slot = 0;
    ms[1].u.plan.slots = &slot;
    ms[1].u.plan.nslots = 1;
    ms[1].u.plan.threads_total = 1;
    ms[9].u.slots.slots = &slot;
    ms[9].u.slots.nslots = 1;
    ms[10].u.slots.slots = &slot;
    ms[10].u.slots.nslots = 1;
    ms[1].u.plan.scenario_file = "f";
    ms[1].u.plan.scenario = "y";
    ms[1].u.plan.scenario_len = 1;
    proto_file file = { "p", "d", 1 };
    proto_set set = { "k", "v" };
    ms[1].u.plan.files = &file;
    ms[1].u.plan.nfiles = 1;
    ms[1].u.plan.sets = &set;
    ms[1].u.plan.nsets = 1;
    ms[1].u.plan.host = "h";
    int checked = 0;
    for (int t = 0; t <= NMSG; t++) {
        char *buf;
        size_t len;
        if (t < NMSG)
            encode_ok(&ms[t], &buf, &len);
        else
            assert_int_equal(proto_encode_stats(1, "w", 0, 0, false, &s, &buf, &len), 0);
        msgpack_unpacked up;
        size_t off = 0;
        msgpack_unpacked_init(&up);
        assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
        int type = (int)up.data.via.array.ptr[1].via.u64;
        for (uint32_t i = 2; i < up.data.via.array.size; i++) {
            msgpack_object_type have = up.data.via.array.ptr[i].type;
            for (size_t p = 0; p < sizeof puts_ / sizeof puts_[0]; p++) {
                bool same = (have == MSGPACK_OBJECT_POSITIVE_INTEGER && puts_[p] == put_int) ||
                            (have == MSGPACK_OBJECT_STR && puts_[p] == put_str) ||
                            (have == MSGPACK_OBJECT_FLOAT64 && puts_[p] == put_dbl) ||
                            (have == MSGPACK_OBJECT_BOOLEAN && puts_[p] == put_true);
                /* plan.host and the proofs take nil; plan.rate and plan.arrival_rate
                 * take an integer */
                bool lenient = (type == MSG_PLAN && i == 7 && puts_[p] == put_nil) ||
                               (type == MSG_PLAN && i == 9 && puts_[p] == put_int) ||
                               (type == MSG_PLAN && i == 17 && puts_[p] == put_int) ||
                               (type == MSG_HELLO && i == 9 && puts_[p] == put_nil) ||
                               (type == MSG_WELCOME && i == 3 && puts_[p] == put_nil) ||
                               (type == MSG_HEARTBEAT && i == 4 && puts_[p] == put_int);
                if (same || lenient)
                    continue;
                pkbuf b;
                proto_msg m;
                repack_with(buf, len, i, puts_[p], &b);
                int rv = decode_pkb(&b, &m);
                if (rv != PROTO_EMALFORMED)
                    fail_msg("type %s field %u variant %zu: %d", proto_type_name(type), i, p, rv);
                checked++;
            }
        }
        msgpack_unpacked_destroy(&up);
        free(buf);
    }
    assert_true(checked > 300);
    stats_shard_fini(&s);
}

/* Nested values of the wrong type or out of their bounds. */
static void test_nested_bounds(void **state)
{
    (void)state;
    pkbuf b;
    proto_msg m;
    char longstr[PROTO_ID_MAX + 1];
    memset(longstr, 'i', sizeof longstr - 1);
    longstr[PROTO_ID_MAX] = '\0';

    /* HELLO id of PROTO_ID_MAX bytes (no room for the NUL), then one byte less. */
    for (int cut = 0; cut <= 1; cut++) {
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 10);
        msgpack_pack_uint32(&b.pk, PROTO_VERSION);
        msgpack_pack_uint32(&b.pk, MSG_HELLO);
        pkb_str(&b, longstr + cut);
        pkb_str(&b, "h");
        msgpack_pack_uint32(&b.pk, 1);
        msgpack_pack_uint32(&b.pk, 1);
        pkb_str(&b, "v");
        msgpack_pack_uint32(&b.pk, 1);
        pkb_bin32(&b);
        msgpack_pack_nil(&b.pk);
        int rv = decode_pkb(&b, &m);
        assert_int_equal(rv, cut ? PROTO_OK : PROTO_EMALFORMED);
        proto_msg_free(&m);
    }

    /* An id with an embedded NUL; a uint32 field holding 2^32. */
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 10);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_HELLO);
    msgpack_pack_str_with_body(&b.pk, "a\0b", 3);
    pkb_str(&b, "h");
    msgpack_pack_uint32(&b.pk, 1);
    msgpack_pack_uint32(&b.pk, 1);
    pkb_str(&b, "v");
    msgpack_pack_uint32(&b.pk, 1);
    pkb_bin32(&b);
    msgpack_pack_nil(&b.pk);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 6);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_DONE);
    msgpack_pack_uint64(&b.pk, 1);
    pkb_str(&b, "w");
    msgpack_pack_uint64(&b.pk, UINT64_C(1) << 32);
    pkb_str(&b, "finished");
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);

    /* Error rows: entry index out of range, kind out of range, detail too long. */
    for (int v = 0; v < 4; v++) {
        pkb_init(&b);
        pkb_stats_head(&b, 1);
        pack_min_entry(&b);
        msgpack_pack_array(&b.pk, 1);
        msgpack_pack_array(&b.pk, 4);
        msgpack_pack_uint32(&b.pk, v == 0 ? 1 : 0);
        msgpack_pack_uint32(&b.pk, v == 1 ? ERR_KIND_COUNT : ERR_TIMEOUT);
        char detail[STATS_DETAIL_MAX + 1];
        memset(detail, 'd', sizeof detail);
        detail[v == 2 ? STATS_DETAIL_MAX : STATS_DETAIL_MAX - 1] = '\0';
        pkb_str(&b, detail);
        msgpack_pack_uint64(&b.pk, 1);
        assert_int_equal(decode_pkb(&b, &m), v == 3 ? PROTO_OK : PROTO_EMALFORMED);
        proto_msg_free(&m);
    }

    /* Entry fields: method too long, name as bin, requests negative, hist not an array. */
    for (int v = 0; v < 4; v++) {
        pkb_init(&b);
        pkb_stats_head(&b, 2);
        pack_min_entry(&b);                 /* the first entry is fine: it must be freed */
        msgpack_pack_array(&b.pk, 6);
        pkb_str(&b, v == 0 ? "PROPPATCHXYZ" : "GET");      /* 12 bytes: no room for NUL */
        if (v == 1)
            put_bin(&b.pk);
        else
            pkb_str(&b, "/y");
        if (v == 2)
            put_neg(&b.pk);
        else
            msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, 0);
        msgpack_pack_uint64(&b.pk, 0);
        if (v == 3)
            put_map(&b.pk);
        else
            pkb_hist(&b, 0, 0, 0, 0, 0, 0, 0, NULL);
        msgpack_pack_array(&b.pk, 0);
        assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    }

    /* Plan: too many files, a file whose data is a str, negative and NaN rates. */
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 16);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_PLAN);
    msgpack_pack_uint64(&b.pk, 1);
    pkb_str(&b, "f");
    pkb_str(&b, "y");
    msgpack_pack_array(&b.pk, PROTO_MAX_FILES + 1);
    for (uint32_t i = 0; i < PROTO_MAX_FILES + 1; i++) {
        msgpack_pack_array(&b.pk, 2);
        pkb_str(&b, "p");
        msgpack_pack_bin_with_body(&b.pk, "d", 1);
    }
    msgpack_pack_array(&b.pk, 0);
    msgpack_pack_nil(&b.pk);
    for (int i = 0; i < 3; i++)                 /* users, rate, duration_ms */
        msgpack_pack_uint32(&b.pk, 1);
    msgpack_pack_array(&b.pk, 0);               /* slots */
    for (int i = 0; i < 4; i++)                 /* threads_total .. name_cap */
        msgpack_pack_uint32(&b.pk, 1);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);

    for (int v = 0; v < 4; v++) {
        pkb_init(&b);
        msgpack_pack_array(&b.pk, 16);
        msgpack_pack_uint32(&b.pk, PROTO_VERSION);
        msgpack_pack_uint32(&b.pk, MSG_PLAN);
        msgpack_pack_uint64(&b.pk, 1);
        pkb_str(&b, "f");
        pkb_str(&b, "y");
        msgpack_pack_array(&b.pk, 1);
        msgpack_pack_array(&b.pk, 2);
        pkb_str(&b, "p");
        if (v == 0)
            pkb_str(&b, "data as str");
        else
            msgpack_pack_bin_with_body(&b.pk, "d", 1);
        msgpack_pack_array(&b.pk, 0);
        msgpack_pack_nil(&b.pk);
        msgpack_pack_uint32(&b.pk, 1);
        if (v == 1)
            msgpack_pack_double(&b.pk, -1.0);
        else if (v == 2)
            msgpack_pack_double(&b.pk, 0.0 / 0.0);
        else
            msgpack_pack_float(&b.pk, 2.5f);
        msgpack_pack_uint32(&b.pk, 1);          /* duration_ms */
        msgpack_pack_array(&b.pk, 0);           /* slots */
        for (int i = 0; i < 4; i++)
            msgpack_pack_uint32(&b.pk, 1);
        int rv = decode_pkb(&b, &m);
        assert_int_equal(rv, v == 3 ? PROTO_OK : PROTO_EMALFORMED);
        if (rv == PROTO_OK) {
            assert_true(m.u.plan.rate == 2.5);
            assert_int_equal(m.u.plan.files[0].len, 1);
        }
        proto_msg_free(&m);
    }
}

/* Nonces and proofs are bin of exactly 32 bytes: 0, 31 and 33 bytes, or a str of 32,
 * are malformed in HELLO, CHALLENGE and WELCOME; nil is a proof's "none", never a nonce. */
static void test_fixed_bin_lengths(void **state)
{
    (void)state;
    char str32[PROTO_NONCE_LEN + 1];
    memset(str32, 's', PROTO_NONCE_LEN);
    str32[PROTO_NONCE_LEN] = '\0';
    /* v: 0 bin 0, 1 bin 31, 2 bin 32 (fine), 3 bin 33, 4 str of 32, 5 nil */
    for (int v = 0; v < 6; v++) {
        static const size_t lens[] = { 0, 31, 32, 33 };
        for (int where = 0; where < 4; where++) {  /* hello nonce, hello proof, challenge, welcome */
            pkbuf b;
            proto_msg m;
            pkb_init(&b);
            bool in_proof = where == 1 || where == 3;
            if (where <= 1) {
                msgpack_pack_array(&b.pk, 10);
                msgpack_pack_uint32(&b.pk, PROTO_VERSION);
                msgpack_pack_uint32(&b.pk, MSG_HELLO);
                pkb_str(&b, "w");
                pkb_str(&b, "h");
                msgpack_pack_uint32(&b.pk, 1);
                msgpack_pack_uint32(&b.pk, 1);
                pkb_str(&b, "v");
                msgpack_pack_uint32(&b.pk, 1);
                if (where == 1)
                    pkb_bin32(&b);              /* a good nonce, then the proof under test */
            } else if (where == 2) {
                msgpack_pack_array(&b.pk, 4);
                msgpack_pack_uint32(&b.pk, PROTO_VERSION);
                msgpack_pack_uint32(&b.pk, MSG_CHALLENGE);
            } else {
                msgpack_pack_array(&b.pk, 4);
                msgpack_pack_uint32(&b.pk, PROTO_VERSION);
                msgpack_pack_uint32(&b.pk, MSG_WELCOME);
                pkb_str(&b, "master");
            }
            if (v < 4)
                pkb_bin(&b, lens[v]);
            else if (v == 4)
                pkb_str(&b, str32);
            else
                msgpack_pack_nil(&b.pk);
            if (where == 0)
                msgpack_pack_nil(&b.pk);        /* the proof after the nonce under test */
            else if (where == 2)
                msgpack_pack_true(&b.pk);
            int rv = decode_pkb(&b, &m);
            bool ok = v == 2 || (v == 5 && in_proof);
            if (rv != (ok ? PROTO_OK : PROTO_EMALFORMED))
                fail_msg("variant %d at %d: %d", v, where, rv);
            if (rv == PROTO_OK && in_proof)
                assert_int_equal(where == 1 ? m.u.hello.has_proof : m.u.welcome.has_proof, v == 2);
            if (rv == PROTO_OK && where == 2)
                assert_int_equal(m.u.challenge.nonce[31], 0x5a);
            proto_msg_free(&m);
        }
    }
}

/* A hand-made PLAN whose slots and threads_total are given; the rest is minimal. */
static int decode_plan_slots(const uint64_t *slots, uint32_t nslots, uint64_t threads_total,
                             proto_msg *m)
{
    pkbuf b;
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 16);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_PLAN);
    msgpack_pack_uint64(&b.pk, 1);
    pkb_str(&b, "f");
    pkb_str(&b, "y");
    msgpack_pack_array(&b.pk, 1);               /* a file and a set, so a failure has */
    msgpack_pack_array(&b.pk, 2);               /* something to free before the slots */
    pkb_str(&b, "p");
    msgpack_pack_bin_with_body(&b.pk, "d", 1);
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 2);
    pkb_str(&b, "k");
    pkb_str(&b, "v");
    pkb_str(&b, "http://127.0.0.1:1");
    msgpack_pack_uint32(&b.pk, 0);
    msgpack_pack_uint32(&b.pk, 0);
    msgpack_pack_uint32(&b.pk, 0);
    msgpack_pack_array(&b.pk, nslots);
    for (uint32_t i = 0; i < nslots; i++)
        msgpack_pack_uint64(&b.pk, slots[i]);
    msgpack_pack_uint64(&b.pk, threads_total);
    msgpack_pack_uint64(&b.pk, 0);
    msgpack_pack_uint32(&b.pk, 1000);
    msgpack_pack_uint32(&b.pk, 100);
    return decode_pkb(&b, m);
}

/* A hand-made ADOPT or RELEASE. */
static int decode_move_slots(proto_type type, const uint64_t *slots, uint32_t nslots, proto_msg *m)
{
    pkbuf b;
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 4);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, type);
    msgpack_pack_uint64(&b.pk, 5);
    msgpack_pack_array(&b.pk, nslots);
    for (uint32_t i = 0; i < nslots; i++)
        msgpack_pack_uint64(&b.pk, slots[i]);
    return decode_pkb(&b, m);
}

/* Names and error details that are not UTF-8 decode cleaned (each bad byte becomes
 * '?'), so summary.json, the CSVs and compare never meet them. */
static void test_stats_names_cleaned_to_utf8(void **state)
{
    (void)state;
    pkbuf b;
    proto_msg m;
    pkb_init(&b);
    pkb_stats_head(&b, 1);
    msgpack_pack_array(&b.pk, 6);
    pkb_str(&b, "GET");
    pkb_str(&b, "/orders/\xff\xfe\xc3\xa9");         /* two bad bytes, then a valid e-acute */
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_uint64(&b.pk, 0);
    uint64_t pairs[] = { 500, 1 };
    pkb_hist(&b, 1, 0, 0, 500, 500, 500, 1, pairs);
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 4);
    msgpack_pack_uint32(&b.pk, 0);
    msgpack_pack_uint32(&b.pk, ERR_HTTP_STATUS);
    pkb_str(&b, "bad \x80 detail");
    msgpack_pack_uint64(&b.pk, 1);
    assert_int_equal(decode_pkb(&b, &m), PROTO_OK);
    assert_string_equal(m.u.stats.entries[0].name, "/orders/??\xc3\xa9");
    assert_string_equal(m.u.stats.errs[0].detail, "bad ? detail");
    proto_msg_free(&m);
}

/* A slot list no decoder would accept is never encoded (5,000 threads once produced a
 * PLAN every worker dropped): PLAN, ADOPT and RELEASE with PROTO_MAX_SLOTS + 1 slots. */
static void test_encode_refuses_too_many_slots(void **state)
{
    (void)state;
    uint32_t n = PROTO_MAX_SLOTS + 1;
    uint32_t *slots = malloc(n * sizeof *slots);
    assert_non_null(slots);
    for (uint32_t i = 0; i < n; i++) slots[i] = i;
    char *buf = NULL;
    size_t len = 0;
    proto_msg m = { .type = MSG_PLAN };
    m.u.plan.scenario_file = "s.yaml";
    m.u.plan.scenario = "name: x";
    m.u.plan.scenario_len = 7;
    m.u.plan.slots = slots;
    m.u.plan.nslots = n;
    m.u.plan.threads_total = n;
    assert_int_equal(proto_encode(&m, &buf, &len), -1);
    m.u.plan.nslots = n - 1;                /* at the limit: encodes and decodes */
    assert_int_equal(proto_encode(&m, &buf, &len), 0);
    proto_msg back;
    assert_int_equal(proto_decode(buf, len, &back), PROTO_OK);
    assert_int_equal(back.u.plan.nslots, PROTO_MAX_SLOTS);
    proto_msg_free(&back);
    free(buf);
    for (int t = MSG_ADOPT; t <= MSG_RELEASE; t++) {
        proto_msg a = { .type = (proto_type)t };
        a.u.slots.run_id = 1;
        a.u.slots.slots = slots;
        a.u.slots.nslots = n;
        assert_int_equal(proto_encode(&a, &buf, &len), -1);
    }
    free(slots);
}

/* Slot lists: duplicates, slots >= threads_total, more than PROTO_MAX_SLOTS, values
 * beyond u32. Failures free what was decoded before (ASan's leak check watches). */
static void test_slot_checks(void **state)
{
    (void)state;
    proto_msg m;
    uint64_t ok[] = { 3, 0, 2 };
    assert_int_equal(decode_plan_slots(ok, 3, 4, &m), PROTO_OK);
    assert_int_equal(m.u.plan.nslots, 3);
    assert_int_equal(m.u.plan.slots[0], 3);
    assert_int_equal(m.u.plan.slots[2], 2);
    proto_msg_free(&m);

    uint64_t dup[] = { 3, 0, 2, 0 };
    assert_int_equal(decode_plan_slots(dup, 4, 4, &m), PROTO_EMALFORMED);
    assert_null(m.u.plan.slots);
    assert_int_equal(decode_plan_slots(ok, 3, 3, &m), PROTO_EMALFORMED);   /* 3 >= 3 */
    assert_int_equal(decode_plan_slots(ok, 3, 0, &m), PROTO_EMALFORMED);
    assert_int_equal(decode_plan_slots(NULL, 0, 0, &m), PROTO_OK);          /* empty: fine */
    proto_msg_free(&m);
    uint64_t wide[] = { UINT64_C(1) << 32 };
    assert_int_equal(decode_plan_slots(wide, 1, UINT32_MAX, &m), PROTO_EMALFORMED);
    uint64_t top[] = { UINT32_MAX - 1 };
    assert_int_equal(decode_plan_slots(top, 1, UINT32_MAX, &m), PROTO_OK);
    proto_msg_free(&m);
    assert_int_equal(decode_plan_slots(top, 1, UINT64_C(1) << 32, &m), PROTO_EMALFORMED);

    /* PROTO_MAX_SLOTS distinct slots pass, one more does not; a late duplicate in a
     * long list is found. */
    static uint64_t many[PROTO_MAX_SLOTS + 1];
    for (uint32_t i = 0; i <= PROTO_MAX_SLOTS; i++)
        many[i] = PROTO_MAX_SLOTS - i;          /* descending: sorting has work to do */
    assert_int_equal(decode_plan_slots(many, PROTO_MAX_SLOTS, PROTO_MAX_SLOTS + 1, &m), PROTO_OK);
    assert_int_equal(m.u.plan.nslots, PROTO_MAX_SLOTS);
    proto_msg_free(&m);
    assert_int_equal(decode_plan_slots(many, PROTO_MAX_SLOTS + 1, PROTO_MAX_SLOTS + 1, &m),
                     PROTO_EMALFORMED);
    many[PROTO_MAX_SLOTS - 1] = many[0];
    assert_int_equal(decode_plan_slots(many, PROTO_MAX_SLOTS, PROTO_MAX_SLOTS + 1, &m),
                     PROTO_EMALFORMED);

    /* ADOPT and RELEASE: the same list rules (no threads_total to check against). */
    for (int t = 0; t < 2; t++) {
        proto_type type = t ? MSG_RELEASE : MSG_ADOPT;
        assert_int_equal(decode_move_slots(type, ok, 3, &m), PROTO_OK);
        assert_int_equal(m.type, type);
        assert_int_equal(m.u.slots.run_id, 5);
        assert_int_equal(m.u.slots.nslots, 3);
        assert_int_equal(m.u.slots.slots[1], 0);
        proto_msg_free(&m);
        assert_int_equal(decode_move_slots(type, dup, 4, &m), PROTO_EMALFORMED);
        assert_null(m.u.slots.slots);
        assert_int_equal(decode_move_slots(type, wide, 1, &m), PROTO_EMALFORMED);
        for (uint32_t i = 0; i <= PROTO_MAX_SLOTS; i++)
            many[i] = i;
        assert_int_equal(decode_move_slots(type, many, PROTO_MAX_SLOTS + 1, &m), PROTO_EMALFORMED);
        assert_int_equal(decode_move_slots(type, many, PROTO_MAX_SLOTS, &m), PROTO_OK);
        proto_msg_free(&m);
    }

    /* A slot that is not an integer; an array32 header claiming more slots than bytes. */
    pkbuf b;
    pkb_init(&b);
    msgpack_pack_array(&b.pk, 4);
    msgpack_pack_uint32(&b.pk, PROTO_VERSION);
    msgpack_pack_uint32(&b.pk, MSG_ADOPT);
    msgpack_pack_uint64(&b.pk, 5);
    msgpack_pack_array(&b.pk, 2);
    msgpack_pack_uint32(&b.pk, 1);
    msgpack_pack_int32(&b.pk, -2);
    assert_int_equal(decode_pkb(&b, &m), PROTO_EMALFORMED);
    static const char lie[] = { (char)0x94, PROTO_VERSION, MSG_RELEASE, 0x05, (char)0xdd,
                                0x00, 0x00, 0x10, 0x00, 0x01, 0x02 };
    assert_int_equal(proto_decode(lie, sizeof lie, &m), PROTO_EMALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_plan_roundtrip),
        cmocka_unit_test(test_small_roundtrips),
        cmocka_unit_test(test_handshake_roundtrips),
        cmocka_unit_test(test_slots_roundtrips),
        cmocka_unit_test(test_stats_shard_roundtrip),
        cmocka_unit_test(test_stats_overflow_entry),
        cmocka_unit_test(test_open_model_roundtrip),
        cmocka_unit_test(test_stats_without_sched),
        cmocka_unit_test(test_open_model_malformed),
        cmocka_unit_test(test_plan_arrival_rate),
        cmocka_unit_test(test_plan_tags),
        cmocka_unit_test(test_plan_missing_csv),
        cmocka_unit_test(test_forward_compat),
        cmocka_unit_test(test_missing_field),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_array32_lie),
        cmocka_unit_test(test_str32_lie),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_too_many_errs),
        cmocka_unit_test(test_hist_checks),
        cmocka_unit_test(test_hist_memory_budget),
        cmocka_unit_test(test_wrong_field_types),
        cmocka_unit_test(test_nested_bounds),
        cmocka_unit_test(test_fixed_bin_lengths),
        cmocka_unit_test(test_slot_checks),
        cmocka_unit_test(test_encode_refuses_too_many_slots),
        cmocka_unit_test(test_stats_names_cleaned_to_utf8),
        cmocka_unit_test(test_stats_health),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
