/* proto/seal.h: both sides derive the same keys, frames open in order only, and any
 * change (a bit, the sequence, the direction, another session's keys) fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "proto/seal.h"

typedef struct pair { seal_session m, w; } pair;

static void keyed(auth_key *k, const char *text)
{
    memset(k, 0, sizeof *k);
    k->len = strlen(text);
    memcpy(k->bytes, text, k->len);
}

static void derive(pair *p, const char *keytext, uint8_t seed, const char *id)
{
    auth_key k;
    keyed(&k, keytext);
    uint8_t nm[PROTO_NONCE_LEN], nw[PROTO_NONCE_LEN];
    memset(nm, seed, sizeof nm);
    memset(nw, seed + 1, sizeof nw);
    assert_int_equal(seal_derive(&p->m, &k, nm, nw, id, true), 0);
    assert_int_equal(seal_derive(&p->w, &k, nm, nw, id, false), 0);
}

static void roundtrip(seal_session *tx, seal_session *rx, const char *text)
{
    char *f, *plain;
    size_t flen, plen;
    assert_int_equal(seal_wrap(tx, text, strlen(text), &f, &flen), 0);
    assert_int_equal(flen, strlen(text) + SEAL_OVERHEAD);
    assert_true(seal_is_frame(f, flen));
    assert_null(memmem(f, flen, text, strlen(text)));       /* not in the clear */
    assert_int_equal(seal_open(rx, f, flen, &plain, &plen), 0);
    assert_int_equal(plen, strlen(text));
    assert_memory_equal(plain, text, plen);
    free(plain);
    free(f);
}

static void test_both_directions(void **state)
{
    (void)state;
    pair p;
    derive(&p, "0123456789abcdef-shared", 1, "w1");
    for (int i = 0; i < 5; i++) {
        roundtrip(&p.m, &p.w, "a plan with password=hunter2");
        roundtrip(&p.w, &p.m, "stats from the worker");
    }
    assert_int_equal(p.m.tx.seq, 5);
    assert_int_equal(p.w.rx.seq, 5);
}

/* Every single-bit change of a frame fails and leaves the receiver's sequence alone. */
static void test_tamper_each_bit(void **state)
{
    (void)state;
    pair p;
    derive(&p, "0123456789abcdef-shared", 3, "w1");
    char *f, *plain;
    size_t flen, plen;
    assert_int_equal(seal_wrap(&p.w, "STATS 1000081 requests", 22, &f, &flen), 0);
    for (size_t i = 0; i < flen; i++)
        for (int b = 0; b < 8; b++) {
            f[i] ^= (char)(1 << b);
            assert_int_equal(seal_open(&p.m, f, flen, &plain, &plen), -1);
            f[i] ^= (char)(1 << b);
        }
    assert_int_equal(p.m.rx.seq, 0);
    assert_int_equal(seal_open(&p.m, f, flen, &plain, &plen), 0);   /* the original opens */
    free(plain);
    /* truncated, and extended */
    assert_int_equal(seal_open(&p.m, f, flen - 1, &plain, &plen), -1);
    free(f);
}

static void test_replay_reorder_splice(void **state)
{
    (void)state;
    pair p;
    derive(&p, "0123456789abcdef-shared", 5, "w1");
    char *f0, *f1, *plain;
    size_t l0, l1, plen;
    assert_int_equal(seal_wrap(&p.w, "first", 5, &f0, &l0), 0);
    assert_int_equal(seal_wrap(&p.w, "second", 6, &f1, &l1), 0);
    assert_int_equal(seal_open(&p.m, f1, l1, &plain, &plen), -1);   /* reordered */
    assert_int_equal(seal_open(&p.m, f0, l0, &plain, &plen), 0);
    free(plain);
    assert_int_equal(seal_open(&p.m, f0, l0, &plain, &plen), -1);   /* replayed */
    /* a worker->master frame sent back to the worker as if from the master */
    assert_int_equal(seal_open(&p.w, f0, l0, &plain, &plen), -1);
    assert_int_equal(seal_open(&p.m, f1, l1, &plain, &plen), 0);
    free(plain);
    free(f0);
    free(f1);
}

/* Another session (other nonces, other worker id, other key) cannot open the frames. */
static void test_other_sessions(void **state)
{
    (void)state;
    pair a, b, c, d;
    derive(&a, "0123456789abcdef-shared", 7, "w1");
    derive(&b, "0123456789abcdef-shared", 9, "w1");
    derive(&c, "0123456789abcdef-shared", 7, "w2");
    derive(&d, "0123456789abcdef-other!", 7, "w1");
    char *f, *plain;
    size_t flen, plen;
    assert_int_equal(seal_wrap(&a.m, "PLAN", 4, &f, &flen), 0);
    assert_int_equal(seal_open(&b.w, f, flen, &plain, &plen), -1);
    assert_int_equal(seal_open(&c.w, f, flen, &plain, &plen), -1);
    assert_int_equal(seal_open(&d.w, f, flen, &plain, &plen), -1);
    assert_int_equal(seal_open(&a.w, f, flen, &plain, &plen), 0);
    free(plain);
    free(f);
}

/* Plain msgpack (an array header) is never a frame; a session that is off seals nothing. */
static void test_plain_and_off(void **state)
{
    (void)state;
    const char msg[] = { (char)0x94, 4, 7, 1, 2 };
    assert_false(seal_is_frame(msg, sizeof msg));
    seal_session s;
    memset(&s, 0, sizeof s);
    char *f, *plain;
    size_t flen, plen;
    assert_int_equal(seal_wrap(&s, "x", 1, &f, &flen), -1);
    const char frame[SEAL_OVERHEAD + 1] = { (char)SEAL_MARK };
    assert_int_equal(seal_open(&s, frame, sizeof frame, &plain, &plen), -1);
    auth_key none = { .len = 0 };
    uint8_t n[PROTO_NONCE_LEN] = { 0 };
    assert_int_equal(seal_derive(&s, &none, n, n, "w", true), -1);  /* no key: fail closed */
    assert_false(s.on);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_tamper_each_bit),
        cmocka_unit_test(test_replay_reorder_splice),
        cmocka_unit_test(test_other_sessions),
        cmocka_unit_test(test_plain_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
