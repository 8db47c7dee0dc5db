/* Unit tests for master/slotplan.c, the pure slot planner (proto/PROTOCOL.md section 5):
 * the initial deal (one slot per engine thread, capped), a lost or leaving worker's slots
 * to the carriers with the fewest (one ADOPT list per recipient), a joining worker's share
 * released by the busiest (never leaving a donor with fewer than the newcomer), and a
 * long sequence of joins and losses that keeps every slot run by exactly one carrier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "master/slotplan.h"

#define MAXW 8

typedef struct team {
    slot_list lists[MAXW];
    sp_worker w[MAXW];
    int       n;
} team;

/* n workers with the given threads, all carriers, empty lists. */
static void team_init(team *t, int n, const uint32_t *threads)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    for (int i = 0; i < n; i++)
        t->w[i] = (sp_worker){ .slots = &t->lists[i], .threads = threads[i], .carrier = true };
}

static void team_fini(team *t)
{
    for (int i = 0; i < MAXW; i++) slot_list_free(&t->lists[i]);
}

static void set_slots(team *t, int i, const uint32_t *slots, uint32_t n)
{
    t->lists[i].n = 0;
    for (uint32_t k = 0; k < n; k++) assert_int_equal(slot_list_push(&t->lists[i], slots[k]), 0);
}

static void assert_list(const slot_list *l, const uint32_t *want, uint32_t n)
{
    assert_int_equal(l->n, n);
    for (uint32_t k = 0; k < n; k++) assert_int_equal(l->v[k], want[k]);
}

static void test_deal_one_slot_per_thread(void **state)
{
    (void)state;
    team t;
    team_init(&t, 3, (uint32_t[]){ 2, 3, 1 });
    set_slots(&t, 1, (uint32_t[]){ 9, 9 }, 2);     /* a previous run's slots */
    t.w[1].carrier = false;                          /* not connected */
    assert_int_equal(slotplan_deal(t.w, t.n, 4096), 3);
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1 }, 2);
    assert_int_equal(t.lists[1].n, 0);
    assert_list(&t.lists[2], (uint32_t[]){ 2 }, 1);
    team_fini(&t);
}

static void test_deal_capped_at_what_a_plan_carries(void **state)
{
    (void)state;
    team t;
    team_init(&t, 3, (uint32_t[]){ 3, 3, 3 });
    assert_int_equal(slotplan_deal(t.w, t.n, 4), 4);
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1, 2 }, 3);
    assert_list(&t.lists[1], (uint32_t[]){ 3 }, 1);
    assert_int_equal(t.lists[2].n, 0);               /* sits the run out */
    team_fini(&t);
}

static void test_gone_slots_to_the_fewest(void **state)
{
    (void)state;
    team t;
    team_init(&t, 4, (uint32_t[]){ 2, 1, 4, 1 });
    set_slots(&t, 0, (uint32_t[]){ 0, 1 }, 2);
    set_slots(&t, 1, (uint32_t[]){ 2 }, 1);
    set_slots(&t, 2, (uint32_t[]){ 3, 4, 5, 6 }, 4);
    set_slots(&t, 3, (uint32_t[]){ 7 }, 1);
    t.w[2].carrier = false;                          /* lost */
    t.w[3].carrier = false;                          /* done: adopts nothing */
    slot_list adopt[4] = { 0 };
    assert_int_equal(slotplan_gone(t.w, t.n, 2, adopt), 2);
    /* 3 -> w1 (1 slot); 4 -> w0 (tie at 2, first); 5 -> w1; 6 -> w0 (tie at 3) */
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1, 4, 6 }, 4);
    assert_list(&t.lists[1], (uint32_t[]){ 2, 3, 5 }, 3);
    assert_int_equal(t.lists[2].n, 0);
    assert_list(&t.lists[3], (uint32_t[]){ 7 }, 1);
    assert_list(&adopt[0], (uint32_t[]){ 4, 6 }, 2);
    assert_list(&adopt[1], (uint32_t[]){ 3, 5 }, 2);
    assert_int_equal(adopt[2].n, 0);
    assert_int_equal(adopt[3].n, 0);
    for (int i = 0; i < 4; i++) slot_list_free(&adopt[i]);
    team_fini(&t);
}

static void test_gone_without_survivors_keeps_its_list(void **state)
{
    (void)state;
    team t;
    team_init(&t, 2, (uint32_t[]){ 2, 2 });
    set_slots(&t, 0, (uint32_t[]){ 0, 1 }, 2);
    set_slots(&t, 1, (uint32_t[]){ 2, 3 }, 2);
    t.w[0].carrier = t.w[1].carrier = false;
    slot_list adopt[2] = { 0 };
    assert_int_equal(slotplan_gone(t.w, t.n, 0, adopt), 0);
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1 }, 2);
    assert_int_equal(adopt[0].n + adopt[1].n, 0);
    team_fini(&t);
}

static void test_join_takes_its_share_from_the_busiest(void **state)
{
    (void)state;
    team t;
    team_init(&t, 3, (uint32_t[]){ 4, 4, 4 });
    set_slots(&t, 0, (uint32_t[]){ 0, 1, 2, 3 }, 4);
    set_slots(&t, 1, (uint32_t[]){ 4, 5, 6, 7 }, 4);
    t.w[2].carrier = false;                          /* the newcomer */
    sp_moves mv = { 0 };
    /* share: 8 x 4 / 12 = 2; w0 first on the tie, then w1 (now the busiest) */
    assert_int_equal(slotplan_join(t.w, t.n, 2, 8, &mv), 2);
    assert_list(&t.lists[2], (uint32_t[]){ 3, 7 }, 2);
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1, 2 }, 3);
    assert_list(&t.lists[1], (uint32_t[]){ 4, 5, 6 }, 3);
    assert_int_equal(mv.n, 2);
    assert_int_equal(mv.v[0].from, 0);
    assert_int_equal(mv.v[0].slot, 3);
    assert_int_equal(mv.v[1].from, 1);
    assert_int_equal(mv.v[1].slot, 7);
    free(mv.v);
    team_fini(&t);
}

static void test_join_never_leaves_a_donor_below_the_newcomer(void **state)
{
    (void)state;
    team t;
    team_init(&t, 3, (uint32_t[]){ 2, 2, 8 });
    set_slots(&t, 0, (uint32_t[]){ 0, 1 }, 2);
    set_slots(&t, 1, (uint32_t[]){ 2, 3 }, 2);
    set_slots(&t, 2, (uint32_t[]){ 11 }, 1);        /* stale list from before: replaced */
    t.w[2].carrier = false;
    sp_moves mv = { 0 };
    /* share 4 x 8 / 12 = 2, but after one slot from w0 the next donor (w1, 2 slots)
     * would drop to the newcomer's count: stop at 1 */
    assert_int_equal(slotplan_join(t.w, t.n, 2, 4, &mv), 1);
    assert_list(&t.lists[2], (uint32_t[]){ 1 }, 1);
    assert_list(&t.lists[0], (uint32_t[]){ 0 }, 1);
    assert_list(&t.lists[1], (uint32_t[]){ 2, 3 }, 2);
    assert_int_equal(mv.n, 1);
    free(mv.v);
    /* donors with one slot each: nothing to share */
    team u;
    team_init(&u, 3, (uint32_t[]){ 1, 1, 1 });
    set_slots(&u, 0, (uint32_t[]){ 0 }, 1);
    set_slots(&u, 1, (uint32_t[]){ 1 }, 1);
    u.w[2].carrier = false;
    sp_moves none = { 0 };
    assert_int_equal(slotplan_join(u.w, u.n, 2, 2, &none), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(u.lists[0].n + u.lists[1].n, 2);
    free(none.v);
    team_fini(&u);
    team_fini(&t);
}

static void test_join_without_carriers_changes_nothing(void **state)
{
    (void)state;
    team t;
    team_init(&t, 2, (uint32_t[]){ 2, 2 });
    set_slots(&t, 0, (uint32_t[]){ 0, 1 }, 2);
    set_slots(&t, 1, (uint32_t[]){ 5 }, 1);
    t.w[0].carrier = t.w[1].carrier = false;
    sp_moves mv = { 0 };
    assert_int_equal(slotplan_join(t.w, t.n, 1, 2, &mv), -1);
    assert_list(&t.lists[1], (uint32_t[]){ 5 }, 1);
    assert_list(&t.lists[0], (uint32_t[]){ 0, 1 }, 2);
    assert_int_equal(mv.n, 0);
    team_fini(&t);
}

/* Every slot 0..total-1 is held by exactly one carrier; non-carriers hold none. */
static void assert_partition(const team *t, uint32_t total)
{
    uint32_t seen[64] = { 0 };
    assert_true(total <= 64);
    for (int i = 0; i < t->n; i++) {
        if (!t->w[i].carrier) continue;
        for (uint32_t k = 0; k < t->lists[i].n; k++) {
            assert_true(t->lists[i].v[k] < total);
            seen[t->lists[i].v[k]]++;
        }
    }
    for (uint32_t s = 0; s < total; s++) assert_int_equal(seen[s], 1);
}

static void test_joins_and_losses_keep_every_slot_once(void **state)
{
    (void)state;
    team t;
    team_init(&t, MAXW, (uint32_t[]){ 4, 2, 1, 3, 2, 4, 1, 2 });
    for (int i = 4; i < MAXW; i++) t.w[i].carrier = false;    /* join later */
    uint32_t total = slotplan_deal(t.w, t.n, 4096);
    assert_int_equal(total, 10);
    assert_partition(&t, total);
    uint64_t rng = 88172645463325252ULL;             /* fixed xorshift seed: reproducible */
    for (int step = 0; step < 500; step++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        int i = (int)(rng % MAXW);
        int carriers = 0;
        for (int j = 0; j < MAXW; j++) carriers += t.w[j].carrier;
        if (t.w[i].carrier && carriers > 1) {
            slot_list adopt[MAXW] = { 0 };
            t.w[i].carrier = false;
            assert_true(slotplan_gone(t.w, t.n, i, adopt) > 0);
            assert_int_equal(t.lists[i].n, 0);
            for (int j = 0; j < MAXW; j++) slot_list_free(&adopt[j]);
        } else if (!t.w[i].carrier) {
            sp_moves mv = { 0 };
            int got = slotplan_join(t.w, t.n, i, total, &mv);
            assert_true(got >= 0);
            assert_int_equal((uint32_t)got, mv.n);
            /* no donor was left with fewer slots than the newcomer */
            for (uint32_t k = 0; k < mv.n; k++) {
                assert_int_not_equal(mv.v[k].from, i);
                assert_true(t.lists[mv.v[k].from].n >= (uint32_t)got);
            }
            free(mv.v);
            if (got > 0) t.w[i].carrier = true;
        }
        assert_partition(&t, total);
    }
    team_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deal_one_slot_per_thread),
        cmocka_unit_test(test_deal_capped_at_what_a_plan_carries),
        cmocka_unit_test(test_gone_slots_to_the_fewest),
        cmocka_unit_test(test_gone_without_survivors_keeps_its_list),
        cmocka_unit_test(test_join_takes_its_share_from_the_busiest),
        cmocka_unit_test(test_join_never_leaves_a_donor_below_the_newcomer),
        cmocka_unit_test(test_join_without_carriers_changes_nothing),
        cmocka_unit_test(test_joins_and_losses_keep_every_slot_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
