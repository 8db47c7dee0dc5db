/* Unit tests for master/coord_ring.c, the interval ring and its close policy: an
 * interval closes when every engine thread reported it, or RING_LATE_MS after its end,
 * or when the ring is full, or when the run ends; closing folds it into the totals once;
 * a late delta goes to the totals only; empty intervals close silently, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "master/coord_ring.h"
#include "tests/unit/support.h"

#define START_MS    1700000000000ULL
#define INTERVAL_MS 1000u

/* What the close callback saw, in order. */
typedef struct closed {
    int      n;
    uint64_t idx[64];
    uint32_t users[64], reports[64];
    uint64_t requests[64];      /* the interval's */
    uint64_t totals[64];        /* the totals' when it closed (it already folded in) */
} closed;

static void on_close(void *arg, const ring_iv *iv, const merge_set *totals)
{
    closed *c = arg;
    assert_true(c->n < 64);
    c->idx[c->n] = iv->idx;
    c->users[c->n] = iv->users;
    c->reports[c->n] = iv->reports;
    c->requests[c->n] = iv->set.all.requests;
    c->totals[c->n] = totals->all.requests;
    c->n++;
}

typedef struct fixture {
    merge_set totals;
    iv_ring   ring;
    closed    seen;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    merge_init(&f.totals);
    merge_set_cap(&f.totals, 100, NULL);
    ring_init(&f.ring, &f.totals, on_close, &f.seen);
    ring_restart(&f.ring, 100, INTERVAL_MS);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ring_fini(&f->ring);
    merge_fini(&f->totals);
    hist_pool_drain();
    return 0;
}

/* Adds one delta and says whether it was late. */
static bool add(fixture *f, uint64_t iv, uint64_t n, uint32_t users)
{
    tdelta d;       /* one delta of interval iv from one engine thread: n GET /a */
    td_init(&d);
    td_entry(&d, "GET", "/a", n, 1000, 0, 0, 0, NULL);
    d.ps.interval = iv;
    d.ps.users = users;
    bool late = ring_add(&f->ring, &d.ps);
    td_fini(&d);
    return late;
}

static void test_closes_when_every_thread_reported(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 10, 3));
    /* one of two threads: not before its end + RING_LATE_MS */
    ring_close_ready(&f->ring, START_MS, START_MS + INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 0);
    assert_int_equal(f->totals.all.requests, 0);
    assert_false(add(f, 0, 5, 4));
    ring_close_ready(&f->ring, START_MS, START_MS + INTERVAL_MS, 2, false);
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->seen.reports[0], 2);
    assert_int_equal(f->seen.users[0], 7);
    assert_int_equal(f->seen.requests[0], 15);
    assert_int_equal(f->seen.totals[0], 15);
    assert_int_equal(f->totals.all.requests, 15);
    assert_int_equal(f->ring.next_idx, 1);
}

static void test_closes_late_after_its_end(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 4, 1));
    uint64_t end = START_MS + INTERVAL_MS;
    ring_close_ready(&f->ring, START_MS, end + RING_LATE_MS - 1, 3, false);
    assert_int_equal(f->seen.n, 0);
    ring_close_ready(&f->ring, START_MS, end + RING_LATE_MS, 3, false);
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.reports[0], 1);
    assert_int_equal(f->seen.requests[0], 4);
}

static void test_late_delta_goes_to_totals_only(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 6, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 1);
    /* interval 0 is written: its straggler counts in the totals, in no interval */
    assert_true(add(f, 0, 9, 1));
    assert_int_equal(f->totals.all.requests, 15);
    assert_false(add(f, 1, 2, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 1);
    assert_int_equal(f->seen.requests[1], 2);
    assert_int_equal(f->seen.totals[1], 17);
}

static void test_full_ring_closes_the_oldest(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 0, 1, 1));
    assert_false(add(f, 2, 3, 1));
    assert_int_equal(f->seen.n, 0);
    /* RING_SLOTS past interval 0: 0 (and the empty 1) close; 2 stays open */
    assert_false(add(f, RING_SLOTS, 5, 1));
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->ring.next_idx, 1);
    assert_false(add(f, RING_SLOTS + 2, 7, 1));
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 2);
    assert_int_equal(f->seen.requests[1], 3);
    assert_int_equal(f->ring.next_idx, 3);
    assert_int_equal(f->totals.all.requests, 4);
}

static void test_all_closes_in_order_skipping_empty(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 3, 1, 1));
    assert_false(add(f, 0, 2, 2));
    assert_false(add(f, 5, 4, 3));
    ring_close_ready(&f->ring, START_MS, START_MS, 100, true);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.idx[0], 0);
    assert_int_equal(f->seen.idx[1], 3);
    assert_int_equal(f->seen.idx[2], 5);
    assert_int_equal(f->seen.users[2], 3);
    assert_int_equal(f->seen.totals[2], 7);
    assert_int_equal(f->ring.next_idx, 6);
    /* nothing open: another call closes nothing more */
    ring_close_ready(&f->ring, START_MS, START_MS + 3600000, 0, true);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->ring.next_idx, 6);
}

static void test_restart_starts_from_interval_zero(void **state)
{
    fixture *f = *state;
    assert_false(add(f, 4, 1, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, true);
    assert_true(add(f, 0, 1, 1));
    assert_false(add(f, 7, 1, 1));
    ring_restart(&f->ring, 100, INTERVAL_MS);
    assert_int_equal(f->ring.next_idx, 0);
    for (int i = 0; i < RING_SLOTS; i++) {
        assert_false(f->ring.iv[i].used);
        assert_int_equal(f->ring.iv[i].set.n, 0);
    }
    assert_false(add(f, 0, 8, 1));
    ring_close_ready(&f->ring, START_MS, START_MS, 1, false);
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.idx[1], 0);
    assert_int_equal(f->seen.requests[1], 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_closes_when_every_thread_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes_late_after_its_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_delta_goes_to_totals_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_closes_the_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_closes_in_order_skipping_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_starts_from_interval_zero, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
