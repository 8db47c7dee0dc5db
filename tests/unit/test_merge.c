/* Unit tests for master/merge.c: several deltas merged equal one shard fed every
 * request (counts, errors by row, histogram); reset; by-name sums; set folding;
 * WebSocket entries kept by name but left out of Aggregated and of by-name sums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "master/merge.h"
#include "tests/unit/support.h"

/* Deltas are built by hand with tdelta and td_* (tests/unit/support.h). */

/* Same counters, extremes, sum and per-bucket counts. */
static void assert_hist_equal(const hist *a, const hist *b)
{
    assert_int_equal(a->total, b->total);
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
    const double ps[] = { 50, 90, 95, 99, 99.9 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_int_equal(hist_percentile(a, ps[i]), hist_percentile(b, ps[i]));
}

static const merge_err *find_err(const merge_set *m, const char *method, const char *name,
                                 stats_err_kind kind, const char *detail)
{
    for (uint32_t i = 0; i < m->nerrs; i++) {
        const merge_err *e = &m->errs[i];
        if (strcmp(e->method, method) == 0 && strcmp(e->name, name) == 0 && e->kind == kind
            && strcmp(e->detail, detail) == 0)
            return e;
    }
    return NULL;
}

/* Three deltas (two workers' threads) with overlapping names: the merged set holds
 * the sums, and each histogram equals one histogram fed every sample. */
static void test_merge_deltas(void **state)
{
    (void)state;
    hist ref_a, ref_login, ref_all;
    hist_init(&ref_a);
    hist_init(&ref_login);
    hist_init(&ref_all);

    tdelta d1, d2, d3;
    td_init(&d1);
    td_init(&d2);
    td_init(&d3);
    uint32_t a1 = td_entry(&d1, "GET", "/a", 100, 1000, 137, 3, 10, &ref_a);
    uint32_t l1 = td_entry(&d1, "POST", "login", 10, 50000, 5000, 0, 100, &ref_login);
    td_err(&d1, a1, ERR_HTTP_STATUS, "503", 2);
    td_err(&d1, a1, ERR_TIMEOUT, "", 1);
    d1.ps.cancelled = 1;
    d1.ps.names_folded = 4;

    uint32_t a2 = td_entry(&d2, "GET", "/a", 50, 900, 3001, 2, 10, &ref_a);
    td_entry(&d2, "GET", "/b", 7, 2000000, 1, 7, 0, NULL);
    td_err(&d2, a2, ERR_HTTP_STATUS, "503", 1);
    td_err(&d2, a2, ERR_HTTP_STATUS, "500", 1);
    td_err(&d2, 1, ERR_CONNECT, "refused", 7);
    d2.ps.cancelled = 2;
    d2.ps.names_folded = 9;

    uint32_t l3 = td_entry(&d3, "POST", "login", 5, 7000000000ULL, 0, 5, 0, &ref_login);
    td_err(&d3, l3, ERR_EXPECT, "status", 5);
    d3.ps.names_folded = 2;
    (void)l1;

    merge_set m;
    merge_init(&m);
    assert_int_equal(merge_add(&m, &d1.ps), 0);
    assert_int_equal(merge_add(&m, &d2.ps), 0);
    assert_int_equal(merge_add(&m, &d3.ps), 0);

    assert_int_equal(m.n, 3);
    /* first-seen order */
    assert_string_equal(m.entries[0].name, "/a");
    assert_string_equal(m.entries[1].name, "login");
    assert_string_equal(m.entries[2].name, "/b");

    const merge_entry *a = merge_find(&m, "GET", "/a");
    assert_non_null(a);
    assert_int_equal(a->requests, 150);
    assert_int_equal(a->failures, 5);
    assert_int_equal(a->bytes, 1500);
    assert_hist_equal(&a->lat, &ref_a);

    const merge_entry *l = merge_find(&m, "POST", "login");
    assert_non_null(l);
    assert_int_equal(l->requests, 15);
    assert_int_equal(l->failures, 5);
    assert_int_equal(l->bytes, 1000);
    assert_hist_equal(&l->lat, &ref_login);
    assert_int_equal(l->lat.clamped, 5);            /* 7e9 us > HIST_MAX_US */

    const merge_entry *b = merge_find(&m, "GET", "/b");
    assert_non_null(b);
    assert_int_equal(b->requests, 7);
    assert_null(merge_find(&m, "POST", "/a"));      /* method is part of the key */
    assert_null(merge_find(&m, "GET", "/c"));

    /* Aggregated: every entry together, same as one histogram of all samples */
    hist_add(&ref_all, &ref_a);
    hist_add(&ref_all, &ref_login);
    hist_add(&ref_all, &b->lat);
    assert_string_equal(m.all.name, "Aggregated");
    assert_string_equal(m.all.method, "");
    assert_int_equal(m.all.requests, 172);
    assert_int_equal(m.all.failures, 17);
    assert_int_equal(m.all.bytes, 2500);
    assert_hist_equal(&m.all.lat, &ref_all);

    /* errors keyed by (method, name, kind, detail), entry indexes resolved per delta */
    assert_int_equal(m.nerrs, 5);
    const merge_err *e = find_err(&m, "GET", "/a", ERR_HTTP_STATUS, "503");
    assert_non_null(e);
    assert_int_equal(e->count, 3);
    assert_int_equal(find_err(&m, "GET", "/a", ERR_HTTP_STATUS, "500")->count, 1);
    assert_int_equal(find_err(&m, "GET", "/a", ERR_TIMEOUT, "")->count, 1);
    assert_int_equal(find_err(&m, "GET", "/b", ERR_CONNECT, "refused")->count, 7);
    assert_int_equal(find_err(&m, "POST", "login", ERR_EXPECT, "status")->count, 5);

    assert_int_equal(m.cancelled, 3);
    assert_int_equal(m.names_folded, 9);            /* max, not sum */

    merge_fini(&m);
    merge_fini(&m);                                 /* harmless twice */
    td_fini(&d1);
    td_fini(&d2);
    td_fini(&d3);
    hist_fini(&ref_a);
    hist_fini(&ref_login);
    hist_fini(&ref_all);
}

/* Reset zeroes counts and histograms but keeps names (and finds them again); error
 * rows go; later adds start from zero. */
static void test_merge_reset(void **state)
{
    (void)state;
    tdelta d;
    td_init(&d);
    uint32_t i = td_entry(&d, "GET", "/a", 20, 1000, 10, 2, 5, NULL);
    td_entry(&d, "PUT", "/b", 3, 500, 0, 0, 0, NULL);
    td_err(&d, i, ERR_HTTP_STATUS, "404", 2);
    d.ps.cancelled = 4;
    d.ps.names_folded = 3;

    merge_set m;
    merge_init(&m);
    assert_int_equal(merge_add(&m, &d.ps), 0);
    merge_reset(&m);
    assert_int_equal(m.n, 2);
    const merge_entry *a = merge_find(&m, "GET", "/a");
    assert_non_null(a);
    assert_int_equal(a->requests, 0);
    assert_int_equal(a->failures, 0);
    assert_int_equal(a->bytes, 0);
    assert_int_equal(a->lat.total, 0);
    assert_int_equal(hist_percentile(&a->lat, 50), 0);
    assert_int_equal(m.all.requests, 0);
    assert_int_equal(m.all.lat.total, 0);
    assert_int_equal(m.nerrs, 0);
    assert_int_equal(m.cancelled, 0);
    assert_int_equal(m.names_folded, 0);

    assert_int_equal(merge_add(&m, &d.ps), 0);
    assert_int_equal(m.n, 2);                       /* no duplicate rows after reset */
    assert_int_equal(merge_find(&m, "GET", "/a")->requests, 20);
    assert_int_equal(merge_find(&m, "GET", "/a")->lat.total, 20);
    assert_int_equal(m.all.requests, 23);
    assert_int_equal(m.nerrs, 1);
    assert_int_equal(m.errs[0].count, 2);
    assert_int_equal(m.cancelled, 4);
    merge_fini(&m);
    td_fini(&d);
}

/* merge_by_name sums every method of a name; none matched -> 0; one method kept. */
static void test_merge_by_name(void **state)
{
    (void)state;
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/x", 10, 1000, 0, 1, 2, NULL);
    td_entry(&d, "POST", "/x", 30, 3000, 0, 2, 4, NULL);
    td_entry(&d, "GET", "/y", 5, 9000, 0, 0, 0, NULL);
    merge_set m;
    merge_init(&m);
    assert_int_equal(merge_add(&m, &d.ps), 0);

    merge_entry out;
    assert_int_equal(merge_by_name(&m, "/x", &out), 2);
    assert_string_equal(out.name, "/x");
    assert_string_equal(out.method, "*");
    assert_int_equal(out.requests, 40);
    assert_int_equal(out.failures, 3);
    assert_int_equal(out.bytes, 140);
    assert_int_equal(out.lat.total, 40);
    assert_int_equal(out.lat.min_us, 1000);
    assert_int_equal(out.lat.max_us, 3000);
    assert_int_equal(hist_percentile(&out.lat, 25), 1000);
    assert_int_equal(hist_percentile(&out.lat, 26), hist_percentile(&merge_find(&m, "POST", "/x")->lat, 50));
    merge_entry_fini(&out);

    assert_int_equal(merge_by_name(&m, "/y", &out), 1);
    assert_string_equal(out.method, "GET");
    assert_int_equal(out.requests, 5);
    merge_entry_fini(&out);

    assert_int_equal(merge_by_name(&m, "/nope", &out), 0);
    assert_int_equal(out.requests, 0);
    assert_int_equal(out.lat.total, 0);
    merge_entry_fini(&out);
    merge_fini(&m);
    td_fini(&d);
}

/* Folding interval sets into totals gives what merging every delta directly gives. */
static void test_merge_add_set(void **state)
{
    (void)state;
    tdelta d1, d2;
    td_init(&d1);
    td_init(&d2);
    uint32_t i = td_entry(&d1, "GET", "/a", 40, 100, 250, 4, 1, NULL);
    td_err(&d1, i, ERR_TLS, "handshake", 4);
    d1.ps.cancelled = 1;
    d1.ps.names_folded = 5;
    i = td_entry(&d2, "GET", "/a", 60, 20000, 999, 0, 1, NULL);
    td_entry(&d2, "DELETE", "/z", 2, 70, 0, 2, 0, NULL);
    td_err(&d2, i, ERR_TLS, "handshake", 1);
    td_err(&d2, 1, ERR_WS_CLOSE, "1006", 2);
    d2.ps.cancelled = 2;
    d2.ps.names_folded = 1;

    merge_set direct, interval, totals;
    merge_init(&direct);
    merge_init(&interval);
    merge_init(&totals);
    assert_int_equal(merge_add(&direct, &d1.ps), 0);
    assert_int_equal(merge_add(&direct, &d2.ps), 0);
    /* two intervals, the interval set reset in between as the master does */
    assert_int_equal(merge_add(&interval, &d1.ps), 0);
    assert_int_equal(merge_add_set(&totals, &interval), 0);
    merge_reset(&interval);
    assert_int_equal(merge_add(&interval, &d2.ps), 0);
    assert_int_equal(merge_add_set(&totals, &interval), 0);

    assert_int_equal(totals.n, direct.n);
    for (uint32_t k = 0; k < direct.n; k++) {
        const merge_entry *x = &direct.entries[k];
        const merge_entry *y = merge_find(&totals, x->method, x->name);
        assert_non_null(y);
        assert_int_equal(y->requests, x->requests);
        assert_int_equal(y->failures, x->failures);
        assert_int_equal(y->bytes, x->bytes);
        assert_hist_equal(&y->lat, &x->lat);
    }
    assert_int_equal(totals.all.requests, 102);
    assert_hist_equal(&totals.all.lat, &direct.all.lat);
    assert_int_equal(totals.nerrs, 2);
    assert_int_equal(find_err(&totals, "GET", "/a", ERR_TLS, "handshake")->count, 5);
    assert_int_equal(find_err(&totals, "DELETE", "/z", ERR_WS_CLOSE, "1006")->count, 2);
    assert_int_equal(totals.cancelled, 3);
    assert_int_equal(totals.names_folded, 5);
    merge_fini(&direct);
    merge_fini(&interval);
    merge_fini(&totals);
    td_fini(&d1);
    td_fini(&d2);
}

/* Many names (the index grows several times), and hostile error rows: an entry index
 * out of range and an unknown kind are still counted. */
static void test_merge_many_and_odd(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    tdelta d;
    char name[32];
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 1200; k++) {
            td_init(&d);
            snprintf(name, sizeof name, "/n/%d", k);
            td_entry(&d, k % 2 ? "GET" : "POST", name, 1, 100 + (uint64_t)k, 0, 0, 0, NULL);
            assert_int_equal(merge_add(&m, &d.ps), 0);
            td_fini(&d);
        }
    }
    assert_int_equal(m.n, 1200);
    for (int k = 0; k < 1200; k++) {
        snprintf(name, sizeof name, "/n/%d", k);
        const merge_entry *e = merge_find(&m, k % 2 ? "GET" : "POST", name);
        assert_non_null(e);
        assert_string_equal(e->name, name);
        assert_int_equal(e->requests, 2);
        assert_null(merge_find(&m, k % 2 ? "POST" : "GET", name));
    }
    assert_int_equal(m.all.requests, 2400);

    td_init(&d);
    td_entry(&d, "GET", "/n/1", 1, 5, 0, 1, 0, NULL);
    td_err(&d, 7, ERR_TIMEOUT, "", 1);              /* no entry 7 */
    td_err(&d, 0, 999, "weird", 2);                 /* no such kind */
    assert_int_equal(merge_add(&m, &d.ps), 0);
    assert_int_equal(find_err(&m, "", "(unknown)", ERR_TIMEOUT, "")->count, 1);
    assert_int_equal(find_err(&m, "GET", "/n/1", ERR_OTHER, "weird")->count, 2);
    td_fini(&d);

    /* an empty delta changes nothing */
    td_init(&d);
    assert_int_equal(merge_add(&m, &d.ps), 0);
    assert_int_equal(m.all.requests, 2401);
    merge_fini(&m);
}

/* WebSocket entries (every STATS_WS_* method, close codes included) are merged as
 * entries of their own, with their errors, but stay out of Aggregated, whether the set
 * is fed deltas or folded from interval sets; merge_by_name sums HTTP entries only. */
static void test_merge_ws_left_out(void **state)
{
    (void)state;
    hist ref_http;
    hist_init(&ref_http);
    tdelta d1, d2;
    td_init(&d1);
    td_init(&d2);
    td_entry(&d1, "GET", "/a", 10, 1000, 100, 1, 5, &ref_http);
    uint32_t msg = td_entry(&d1, STATS_WS_MESSAGE, "feed", 20, 90000, 1000, 2, 0, NULL);
    uint32_t con = td_entry(&d1, STATS_WS_CONNECT, "feed", 3, 700000, 0, 1, 0, NULL);
    td_entry(&d1, STATS_WS_SENT, "feed", 7, 0, 0, 0, 100, NULL);
    td_entry(&d1, STATS_WS_CLOSE_PREFIX "1000", "feed", 2, 0, 0, 0, 0, NULL);
    td_err(&d1, msg, ERR_TIMEOUT, "", 2);
    td_err(&d1, con, ERR_WS_UPGRADE, "503", 1);
    td_entry(&d2, "GET", "feed", 4, 3000, 0, 0, 1, &ref_http);   /* HTTP, same name as ws */
    td_entry(&d2, STATS_WS_ORDER, "feed", 6, 0, 0, 2, 0, NULL);
    td_entry(&d2, STATS_WS_PING, "feed", 2, 400, 0, 0, 0, NULL);
    td_entry(&d2, STATS_WS_MESSAGE, "only-ws", 5, 200, 0, 0, 0, NULL);

    merge_set direct, interval, totals;
    merge_init(&direct);
    merge_init(&interval);
    merge_init(&totals);
    assert_int_equal(merge_add(&direct, &d1.ps), 0);
    assert_int_equal(merge_add(&direct, &d2.ps), 0);
    assert_int_equal(merge_add(&interval, &d1.ps), 0);
    assert_int_equal(merge_add_set(&totals, &interval), 0);
    merge_reset(&interval);
    assert_int_equal(merge_add(&interval, &d2.ps), 0);
    assert_int_equal(interval.all.requests, 4);              /* GET feed only */
    assert_int_equal(merge_add_set(&totals, &interval), 0);

    const merge_set *sets[] = { &direct, &totals };
    for (int k = 0; k < 2; k++) {
        const merge_set *m = sets[k];
        assert_int_equal(m->n, 9);
        assert_int_equal(m->all.requests, 14);
        assert_int_equal(m->all.failures, 1);
        assert_int_equal(m->all.bytes, 54);
        assert_hist_equal(&m->all.lat, &ref_http);
        const merge_entry *e = merge_find(m, STATS_WS_MESSAGE, "feed");
        assert_non_null(e);
        assert_int_equal(e->requests, 20);
        assert_int_equal(e->failures, 2);
        assert_int_equal(e->lat.total, 20);
        assert_int_equal(merge_find(m, STATS_WS_CONNECT, "feed")->failures, 1);
        assert_int_equal(merge_find(m, STATS_WS_SENT, "feed")->bytes, 700);
        assert_int_equal(merge_find(m, "WS:c:1000", "feed")->requests, 2);
        assert_int_equal(merge_find(m, STATS_WS_ORDER, "feed")->failures, 2);
        assert_int_equal(merge_find(m, STATS_WS_MESSAGE, "only-ws")->requests, 5);
        assert_int_equal(find_err(m, STATS_WS_MESSAGE, "feed", ERR_TIMEOUT, "")->count, 2);
        assert_int_equal(find_err(m, STATS_WS_CONNECT, "feed", ERR_WS_UPGRADE, "503")->count, 1);

        merge_entry out;
        assert_int_equal(merge_by_name(m, "feed", &out), 1);   /* GET feed, no WS:* */
        assert_string_equal(out.method, "GET");
        assert_int_equal(out.requests, 4);
        assert_int_equal(out.lat.total, 4);
        assert_int_equal(out.lat.max_us, 3000);
        merge_entry_fini(&out);
        assert_int_equal(merge_by_name(m, "only-ws", &out), 0);
        assert_int_equal(out.requests, 0);
        assert_int_equal(out.lat.total, 0);
        merge_entry_fini(&out);
    }
    merge_fini(&direct);
    merge_fini(&interval);
    merge_fini(&totals);
    td_fini(&d1);
    td_fini(&d2);
    hist_fini(&ref_http);
}

/* ---- the name cap (issue 9 item 7) --------------------------------------------------- */

/* One STATS of n distinct names (1 request of 1 ms each; every third has an error), as
 * a hostile or careless worker sends it. */
static void big_delta(proto_stats *ps, uint32_t n, const char *prefix)
{
    memset(ps, 0, sizeof *ps);
    ps->entries = calloc(n, sizeof *ps->entries);
    ps->errs = calloc(n, sizeof *ps->errs);
    assert_non_null(ps->entries);
    assert_non_null(ps->errs);
    for (uint32_t i = 0; i < n; i++) {
        proto_stats_entry *e = &ps->entries[i];
        snprintf(e->method, sizeof e->method, "GET");
        snprintf(e->name, sizeof e->name, "%s%u", prefix, i);
        hist_init(&e->lat);
        hist_record(&e->lat, 1000);
        e->requests = 1;
        if (i % 3 == 0) {
            e->failures = 1;
            proto_stats_err *r = &ps->errs[ps->nerrs++];
            r->entry = i;
            r->kind = ERR_HTTP_STATUS;
            snprintf(r->detail, sizeof r->detail, "%u", 500 + i % 7);
            r->count = 1;
        }
    }
    ps->nentries = n;
}

static void big_delta_free(proto_stats *ps)
{
    for (uint32_t i = 0; i < ps->nentries; i++)
        hist_fini(&ps->entries[i].lat);
    free(ps->entries);
    free(ps->errs);
}

/* 100,000 new names in one STATS: the set keeps 500 names and one overflow entry, the
 * totals stay exact, every folded name is counted, errors follow their entries. */
static void test_merge_cap_many_names(void **state)
{
    (void)state;
    proto_stats ps;
    big_delta(&ps, 100000, "/item/");
    merge_set m;
    merge_init(&m);
    merge_set_cap(&m, 500, NULL);
    assert_int_equal(merge_add(&m, &ps), 0);
    assert_int_equal(m.n, 501);
    assert_int_equal(m.all.requests, 100000);
    assert_int_equal(m.all.failures, 33334);
    assert_int_equal(m.all.lat.total, 100000);
    const merge_entry *o = merge_find(&m, "*", STATS_OVERFLOW_NAME);
    assert_non_null(o);
    assert_int_equal(o->requests, 99500);
    assert_non_null(merge_find(&m, "GET", "/item/499"));
    assert_null(merge_find(&m, "GET", "/item/500"));
    /* distinct folded names: exact up to 3/4 of MERGE_FOLD_SLOTS, then a lower bound */
    assert_int_equal(m.names_folded, MERGE_FOLD_SLOTS / 4 * 3);
    /* errors: the kept names' rows, then one row per detail on the overflow entry */
    uint64_t errs = 0;
    for (uint32_t i = 0; i < m.nerrs; i++) {
        errs += m.errs[i].count;
        bool kept = strcmp(m.errs[i].name, STATS_OVERFLOW_NAME) != 0;
        assert_true(kept ? strncmp(m.errs[i].name, "/item/", 6) == 0
                         : strcmp(m.errs[i].method, "*") == 0);
    }
    assert_int_equal(errs, 33334);
    assert_true(m.nerrs <= 167 + 7);
    /* the same delta again: nothing new is kept, the folded count does not double */
    assert_int_equal(merge_add(&m, &ps), 0);
    assert_int_equal(m.n, 501);
    assert_int_equal(m.all.requests, 200000);
    big_delta_free(&ps);

    /* a small run counts exactly */
    merge_set s;
    merge_init(&s);
    merge_set_cap(&s, 3, NULL);
    big_delta(&ps, 10, "/x/");
    assert_int_equal(merge_add(&s, &ps), 0);
    assert_int_equal(merge_add(&s, &ps), 0);
    assert_int_equal(s.names_folded, 7);
    assert_int_equal(merge_find(&s, "*", STATS_OVERFLOW_NAME)->requests, 14);
    /* merge_reset forgets the counts, keeps the cap */
    merge_reset(&s);
    assert_int_equal(s.names_folded, 0);
    assert_int_equal(s.name_cap, 3);
    assert_int_equal(merge_add(&s, &ps), 0);
    assert_int_equal(s.names_folded, 7);
    assert_int_equal(s.n, 4);
    big_delta_free(&ps);
    merge_fini(&s);
    assert_int_equal(s.name_cap, 0);           /* merge_fini forgets it */
    merge_fini(&m);
    hist_pool_drain();
}

/* WebSocket rows count toward the cap and fold into an overflow entry of their own
 * method, outside the HTTP totals; the shard's own overflow entry is always taken. */
static void test_merge_cap_ws_and_overflow(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    merge_set_cap(&m, 2, NULL);
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/a", 2, 1000, 0, 0, 0, NULL);
    td_entry(&d, STATS_WS_CONNECT, "feed", 1, 5000, 0, 0, 0, NULL);
    uint32_t w = td_entry(&d, STATS_WS_CONNECT, "feed2", 3, 7000, 0, 1, 0, NULL);
    td_err(&d, w, ERR_CONNECT, "refused", 1);
    td_entry(&d, "*", STATS_OVERFLOW_NAME, 4, 2000, 0, 0, 0, NULL);   /* a shard's fold */
    td_entry(&d, "POST", "/b", 1, 3000, 0, 0, 0, NULL);
    assert_int_equal(merge_add(&m, &d.ps), 0);
    td_fini(&d);
    assert_int_equal(m.n, 4);
    const merge_entry *wo = merge_find(&m, STATS_WS_CONNECT, STATS_OVERFLOW_NAME);
    assert_non_null(wo);
    assert_int_equal(wo->requests, 3);
    assert_int_equal(wo->failures, 1);
    assert_int_equal(merge_find(&m, "*", STATS_OVERFLOW_NAME)->requests, 5);   /* 4 + /b */
    assert_int_equal(m.all.requests, 2 + 4 + 1);                              /* HTTP only */
    const merge_err *e = find_err(&m, STATS_WS_CONNECT, STATS_OVERFLOW_NAME, ERR_CONNECT, "refused");
    assert_non_null(e);
    assert_int_equal(e->count, 1);
    assert_int_equal(m.names_folded, 2);
    merge_fini(&m);
}

/* Interval sets admit the names the totals hold (their figures stay exact); the totals
 * fold what is new beyond the cap; folded names are counted once across intervals. */
static void test_merge_cap_known(void **state)
{
    (void)state;
    merge_set tot, iv;
    merge_init(&tot);
    merge_init(&iv);
    merge_set_cap(&tot, 2, NULL);
    merge_set_cap(&iv, 2, &tot);
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/a", 1, 1000, 0, 0, 0, NULL);
    td_entry(&d, "GET", "/b", 1, 1000, 0, 0, 0, NULL);
    assert_int_equal(merge_add(&iv, &d.ps), 0);
    td_fini(&d);
    assert_int_equal(merge_add_set(&tot, &iv), 0);
    merge_fini(&iv);                            /* a fresh interval set */
    merge_init(&iv);
    merge_set_cap(&iv, 2, &tot);
    td_init(&d);
    td_entry(&d, "GET", "/c", 1, 1000, 0, 0, 0, NULL);
    td_entry(&d, "GET", "/d", 1, 1000, 0, 0, 0, NULL);
    td_entry(&d, "GET", "/e", 1, 1000, 0, 0, 0, NULL);
    td_entry(&d, "GET", "/a", 5, 1000, 0, 0, 0, NULL);
    assert_int_equal(merge_add(&iv, &d.ps), 0);
    td_fini(&d);
    assert_non_null(merge_find(&iv, "GET", "/a"));      /* known to the totals */
    assert_int_equal(iv.names_folded, 1);               /* /e */
    assert_int_equal(merge_add_set(&tot, &iv), 0);
    assert_int_equal(merge_find(&tot, "GET", "/a")->requests, 6);
    assert_null(merge_find(&tot, "GET", "/c"));
    assert_int_equal(merge_find(&tot, "*", STATS_OVERFLOW_NAME)->requests, 3);
    assert_int_equal(tot.all.requests, 2 + 8);
    assert_int_equal(tot.names_folded, 3);              /* /c, /d, /e */
    assert_int_equal(merge_add_set(&tot, &iv), 0);      /* the same names again */
    assert_int_equal(tot.names_folded, 3);
    assert_int_equal(tot.n, 3);
    merge_fini(&iv);
    merge_fini(&tot);
}

/* Error rows are capped too: distinct details beyond MERGE_ERR_CAP go to one row. */
static void test_merge_cap_errors(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    merge_set_cap(&m, 1, NULL);
    uint64_t sent = 0;
    for (int k = 0; k < 100; k++) {
        tdelta d;
        td_init(&d);
        uint32_t e = td_entry(&d, "GET", "/a", 8, 1000, 0, 8, 0, NULL);
        for (int j = 0; j < 8; j++) {
            char det[32];
            snprintf(det, sizeof det, "d%d", k * 8 + j);
            td_err(&d, e, ERR_HTTP_STATUS, det, 1);
            sent++;
        }
        assert_int_equal(merge_add(&m, &d.ps), 0);
        td_fini(&d);
    }
    assert_int_equal(m.nerrs, MERGE_ERR_CAP(1) + 1);
    uint64_t got = 0;
    for (uint32_t i = 0; i < m.nerrs; i++)
        got += m.errs[i].count;
    assert_int_equal(got, sent);
    const merge_err *more = find_err(&m, "*", STATS_OVERFLOW_NAME, ERR_OTHER, MERGE_MORE_ERRORS);
    assert_non_null(more);
    assert_int_equal(more->count, sent - MERGE_ERR_CAP(1));
    merge_fini(&m);
}

/* ---- issue 11: svc, ITER rows, the schedule ------------------------------------------ */

/* Gives row i of d a service histogram: n samples first_us, first_us + step_us, ...
 * (also into *also when not NULL). */
static void td_svc(tdelta *d, uint32_t i, uint64_t n, uint64_t first_us, uint64_t step_us,
                   hist *also)
{
    hist_init(&d->ents[i].svc);
    for (uint64_t k = 0; k < n; k++) {
        hist_record(&d->ents[i].svc, first_us + k * step_us);
        if (also != NULL)
            hist_record(also, first_us + k * step_us);
    }
}

/* td_fini and the rows' svc and the delta's lag. */
static void td_fini_open(tdelta *d)
{
    for (uint32_t i = 0; i < d->ps.nentries; i++)
        hist_fini(&d->ents[i].svc);
    hist_fini(&d->ps.sched.lag);
    td_fini(d);
}

/* svc adds like lat; a row without svc (closed model: svc = lat) adds its lat to a sum
 * that has svc, and a sum without svc takes its lat as svc when a row with svc comes,
 * so stats_row_svc of every merged row equals one histogram fed every service sample.
 * ITER rows merge by profile, outside Aggregated and outside by-name sums. */
static void test_merge_svc_and_iter(void **state)
{
    (void)state;
    hist ref_svc, ref_all_lat, ref_all_svc, ref_iter_svc, ref_closed;
    hist_init(&ref_svc);
    hist_init(&ref_all_lat);
    hist_init(&ref_all_svc);
    hist_init(&ref_iter_svc);
    hist_init(&ref_closed);
    merge_set iv, tot;
    merge_init(&iv);
    merge_init(&tot);

    /* delta 1: /orders without svc (as a closed shard would send it), /closed alone */
    tdelta d;
    td_init(&d);
    td_entry(&d, "POST", "/orders", 10, 4000, 100, 1, 10, &ref_all_lat);
    for (uint64_t k = 0; k < 10; k++) {
        hist_record(&ref_svc, 4000 + k * 100);
        hist_record(&ref_all_svc, 4000 + k * 100);
    }
    td_entry(&d, "GET", "/closed", 5, 900, 10, 0, 0, &ref_closed);
    for (uint64_t k = 0; k < 5; k++) {
        hist_record(&ref_all_lat, 900 + k * 10);
        hist_record(&ref_all_svc, 900 + k * 10);
    }
    assert_int_equal(merge_add(&iv, &d.ps), 0);
    td_fini_open(&d);
    const merge_entry *o = merge_find(&iv, "POST", "/orders");
    assert_int_equal(o->svc.total, 0);                     /* nothing but lat yet */
    assert_ptr_equal(stats_row_svc(o), &o->lat);

    /* delta 2: /orders with svc; an ITER row with svc */
    td_init(&d);
    uint32_t r = td_entry(&d, "POST", "/orders", 20, 900000, 1000, 0, 10, &ref_all_lat);
    td_svc(&d, r, 20, 3000, 50, &ref_svc);
    for (uint64_t k = 0; k < 20; k++)
        hist_record(&ref_all_svc, 3000 + k * 50);
    uint32_t it = td_entry(&d, STATS_ITERATION, "planner", 7, 1500000, 1000, 1, 0, NULL);
    td_svc(&d, it, 7, 8000, 10, &ref_iter_svc);
    assert_int_equal(merge_add(&iv, &d.ps), 0);
    td_fini_open(&d);

    o = merge_find(&iv, "POST", "/orders");
    assert_int_equal(o->requests, 30);
    assert_int_equal(o->lat.total, 30);
    assert_hist_equal(stats_row_svc(o), &ref_svc);
    assert_hist_equal(&iv.all.svc, &ref_all_svc);
    assert_hist_equal(&iv.all.lat, &ref_all_lat);
    assert_int_equal(iv.all.requests, 35);                 /* ITER left out */
    const merge_entry *c = merge_find(&iv, "GET", "/closed");
    assert_int_equal(c->svc.total, 0);
    assert_hist_equal(stats_row_svc(c), &ref_closed);
    const merge_entry *ie = merge_find(&iv, STATS_ITERATION, "planner");
    assert_non_null(ie);
    assert_int_equal(ie->fig, STATS_FIG_ITERATION);
    assert_int_equal(ie->requests, 7);
    assert_int_equal(ie->failures, 1);
    assert_hist_equal(&ie->svc, &ref_iter_svc);

    /* by name: HTTP rows only (no ITER named "planner" joins), svc carried */
    merge_entry by;
    assert_int_equal(merge_by_name(&iv, "planner", &by), 0);
    merge_entry_fini(&by);
    assert_int_equal(merge_by_name(&iv, "/orders", &by), 1);
    assert_hist_equal(stats_row_svc(&by), &ref_svc);
    merge_entry_fini(&by);

    /* folding the interval into the totals twice: everything doubles exactly */
    assert_int_equal(merge_add_set(&tot, &iv), 0);
    assert_int_equal(merge_add_set(&tot, &iv), 0);
    hist_add(&ref_svc, &ref_svc);
    hist_add(&ref_all_svc, &ref_all_svc);
    o = merge_find(&tot, "POST", "/orders");
    assert_int_equal(o->requests, 60);
    assert_hist_equal(stats_row_svc(o), &ref_svc);
    assert_hist_equal(&tot.all.svc, &ref_all_svc);
    assert_int_equal(tot.all.requests, 70);
    assert_int_equal(merge_find(&tot, STATS_ITERATION, "planner")->requests, 14);

    /* merge_reset empties svc too */
    merge_reset(&iv);
    assert_int_equal(merge_find(&iv, "POST", "/orders")->svc.total, 0);
    assert_int_equal(iv.all.svc.total, 0);
    assert_int_equal(merge_find(&iv, STATS_ITERATION, "planner")->svc.total, 0);

    merge_fini(&iv);
    merge_fini(&tot);
    hist_fini(&ref_svc);
    hist_fini(&ref_all_lat);
    hist_fini(&ref_all_svc);
    hist_fini(&ref_iter_svc);
    hist_fini(&ref_closed);
    hist_pool_drain();
}

/* The schedule: merge_add adds the shards' counts, times, lag and backlog maxima, and
 * keeps the busiest thread's cpu/wall; merge_add_set (intervals into the totals) adds
 * counts and limited intervals and keeps the largest backlog and cpu_max; merge_reset
 * zeroes all of it. */
static void test_merge_sched(void **state)
{
    (void)state;
    struct { uint64_t in, st, dr; uint32_t bl; uint64_t lag0, nlag, cpu, wall; } sh[] = {
        { 100, 95, 3, 7, 200, 95, 300000, 1000000 },
        { 120, 118, 0, 2, 5000, 118, 950000, 1000000 },  /* the busy one: 0.95 */
        { 0, 0, 0, 0, 0, 0, 0, 0 },                       /* wall 0: says nothing */
    };
    hist ref_lag;
    hist_init(&ref_lag);
    merge_set iv, tot;
    merge_init(&iv);
    merge_init(&tot);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
            tdelta d;
            td_init(&d);
            td_entry(&d, "GET", "/ping", 1, 100, 0, 0, 0, NULL);
            stats_sched *c = &d.ps.sched;
            hist_init(&c->lag);
            c->intended = sh[i].in;
            c->started = sh[i].st;
            c->dropped = sh[i].dr;
            c->backlog_max = sh[i].bl;
            c->cpu_us = sh[i].cpu / (round + 1);
            c->wall_us = sh[i].wall;
            for (uint64_t k = 0; k < sh[i].nlag; k++) {
                hist_record(&c->lag, sh[i].lag0 + k * 37);
                hist_record(&ref_lag, sh[i].lag0 + k * 37);
            }
            assert_int_equal(merge_add(&iv, &d.ps), 0);
            td_fini_open(&d);
        }
        assert_int_equal(iv.sched.intended, 220);
        assert_int_equal(iv.sched.started, 213);
        assert_int_equal(iv.sched.dropped, 3);
        assert_int_equal(iv.sched.backlog_max, 9);          /* 7 + 2: side by side */
        assert_int_equal(iv.sched.lag.total, 213);
        assert_int_equal(iv.sched.wall_us, 2000000);
        assert_int_equal(iv.sched.cpu_us, (300000 + 950000) / (round + 1));
        assert_true(iv.cpu_max > (round ? 0.47 : 0.94) && iv.cpu_max < (round ? 0.48 : 0.96));
        if (round == 0)
            iv.limited_intervals = 1;       /* as the coordinator marks a limited one */
        assert_int_equal(merge_add_set(&tot, &iv), 0);
        merge_reset(&iv);
        assert_int_equal(iv.sched.intended, 0);
        assert_int_equal(iv.sched.started, 0);
        assert_int_equal(iv.sched.dropped, 0);
        assert_int_equal(iv.sched.backlog_max, 0);
        assert_int_equal(iv.sched.lag.total, 0);
        assert_int_equal(iv.sched.cpu_us, 0);
        assert_int_equal(iv.sched.wall_us, 0);
        assert_true(iv.cpu_max == 0);
        assert_int_equal(iv.limited_intervals, 0);
    }
    assert_int_equal(tot.sched.intended, 440);
    assert_int_equal(tot.sched.started, 426);
    assert_int_equal(tot.sched.dropped, 6);
    assert_int_equal(tot.sched.backlog_max, 9);             /* the worst interval */
    assert_true(tot.cpu_max > 0.94 && tot.cpu_max < 0.96);
    assert_int_equal(tot.limited_intervals, 1);
    assert_int_equal(tot.sched.wall_us, 4000000);
    assert_hist_equal(&tot.sched.lag, &ref_lag);
    assert_int_equal(tot.all.requests, 6);
    merge_fini(&iv);
    merge_fini(&tot);
    hist_fini(&ref_lag);
    hist_pool_drain();
}

/* ITER rows count toward the cap like HTTP rows but fold into ("ITER", overflow), even
 * when the overflow entries are used up, never into ("*", overflow) or Aggregated. */
static void test_merge_cap_iter(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    merge_set_cap(&m, 2, NULL);
    tdelta d;
    td_init(&d);
    td_entry(&d, "GET", "/a", 2, 1000, 0, 0, 0, NULL);
    td_entry(&d, STATS_ITERATION, "planner", 3, 9000, 0, 0, 0, NULL);
    uint32_t x = td_entry(&d, STATS_ITERATION, "operator", 4, 9000, 0, 2, 0, NULL);
    td_err(&d, x, ERR_HTTP_STATUS, "500", 2);
    td_entry(&d, "GET", "/b", 1, 1000, 0, 0, 0, NULL);
    assert_int_equal(merge_add(&m, &d.ps), 0);
    td_fini(&d);
    assert_non_null(merge_find(&m, STATS_ITERATION, "planner"));
    const merge_entry *io = merge_find(&m, STATS_ITERATION, STATS_OVERFLOW_NAME);
    assert_non_null(io);
    assert_int_equal(io->fig, STATS_FIG_ITERATION);
    assert_int_equal(io->requests, 4);
    assert_int_equal(merge_find(&m, "*", STATS_OVERFLOW_NAME)->requests, 1);   /* /b */
    assert_int_equal(m.all.requests, 3);
    const merge_err *e = find_err(&m, STATS_ITERATION, STATS_OVERFLOW_NAME, ERR_HTTP_STATUS, "500");
    assert_non_null(e);
    assert_int_equal(e->count, 2);

    /* with every overflow entry taken (a peer inventing methods), ITER still keeps its own */
    merge_set f;
    merge_init(&f);
    merge_set_cap(&f, 1, NULL);
    td_init(&d);
    td_entry(&d, "GET", "/named", 1, 1000, 0, 0, 0, NULL);
    char meth[16];
    for (uint32_t i = 0; i < MERGE_OVERFLOW_MAX; i++) {
        snprintf(meth, sizeof meth, "WS:z%u", i);
        if (d.ps.nentries == TD_CAP) {
            assert_int_equal(merge_add(&f, &d.ps), 0);
            td_fini(&d);
            td_init(&d);
        }
        td_entry(&d, meth, STATS_OVERFLOW_NAME, 1, 1000, 0, 0, 0, NULL);
    }
    assert_int_equal(merge_add(&f, &d.ps), 0);
    td_fini(&d);
    assert_int_equal(f.overflows, MERGE_OVERFLOW_MAX);
    td_init(&d);
    td_entry(&d, STATS_ITERATION, "late", 5, 1000, 0, 0, 0, NULL);
    uint64_t before = f.all.requests;
    assert_int_equal(merge_add(&f, &d.ps), 0);
    td_fini(&d);
    assert_int_equal(merge_find(&f, STATS_ITERATION, STATS_OVERFLOW_NAME)->requests, 5);
    assert_null(merge_find(&f, "*", STATS_OVERFLOW_NAME));
    assert_int_equal(f.all.requests, before);
    merge_fini(&f);
    merge_fini(&m);
}

/* merge_fill_dense: a busy name's dense totals histogram (and the aggregate) get every
 * chunk, a quiet name's sparse one stays small; figures unchanged. */
static void test_fill_dense_totals(void **state)
{
    (void)state;
    merge_set m;
    merge_init(&m);
    add_range(&m, "GET", "busy", 2000, 100, 97, 0);      /* 2000 distinct buckets: dense */
    add_range(&m, "GET", "quiet", 3, 100, 10, 0);
    const merge_entry *busy = merge_find(&m, "GET", "busy"), *quiet = merge_find(&m, "GET", "quiet");
    assert_non_null(busy);
    assert_non_null(quiet);
    uint64_t p99 = hist_percentile(&busy->lat, 99);
    assert_true(hist_is_dense(&busy->lat) && !hist_is_dense(&quiet->lat));
    assert_int_equal(merge_fill_dense(&m), 0);
    assert_true(hist_bytes(&busy->lat) >= HIST_NCHUNKS * HIST_CHUNK_LEN * sizeof(uint64_t));
    assert_true(hist_bytes(&m.all.lat) >= HIST_NCHUNKS * HIST_CHUNK_LEN * sizeof(uint64_t));
    assert_true(hist_bytes(&quiet->lat) < 1024);
    assert_int_equal(hist_percentile(&busy->lat, 99), p99);
    assert_int_equal(busy->lat.total, 2000);
    merge_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_dense_totals),
        cmocka_unit_test(test_merge_deltas),
        cmocka_unit_test(test_merge_reset),
        cmocka_unit_test(test_merge_by_name),
        cmocka_unit_test(test_merge_add_set),
        cmocka_unit_test(test_merge_many_and_odd),
        cmocka_unit_test(test_merge_ws_left_out),
        cmocka_unit_test(test_merge_cap_many_names),
        cmocka_unit_test(test_merge_cap_ws_and_overflow),
        cmocka_unit_test(test_merge_cap_known),
        cmocka_unit_test(test_merge_cap_errors),
        cmocka_unit_test(test_merge_svc_and_iter),
        cmocka_unit_test(test_merge_sched),
        cmocka_unit_test(test_merge_cap_iter),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    hist_pool_drain();                  /* chunks parked by merge_reset */
    return rv;
}
