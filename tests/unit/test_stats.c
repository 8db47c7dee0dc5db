/* Unit tests for common/stats.c: entry ids, the name cap and its overflow entry, error
 * rows and their folding, interval reset, error kind names, default request names and
 * the memory a shard holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/stats.h"

static void test_ids_stable_and_distinct(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 10), 0);
    assert_int_equal(s.name_cap, 10);
    assert_int_equal(s.nentries, 0);
    assert_int_equal(s.overflow_id, -1);
    assert_true(s.index_mask + 1 >= 2 * (10 + 1));
    assert_int_equal((s.index_mask + 1) & s.index_mask, 0);     /* a power of two */

    uint32_t a = stats_id(&s, "GET", "/a");
    uint32_t pa = stats_id(&s, "POST", "/a");
    uint32_t b = stats_id(&s, "GET", "/b");
    uint32_t login = stats_id(&s, "POST", "login");
    assert_int_equal(a, 0);
    assert_int_equal(pa, 1);
    assert_int_equal(b, 2);
    assert_int_equal(login, 3);
    assert_int_equal(s.nentries, 4);
    /* the same key gives the same id, whatever came between */
    assert_int_equal(stats_id(&s, "GET", "/b"), b);
    assert_int_equal(stats_id(&s, "POST", "/a"), pa);
    assert_int_equal(stats_id(&s, "GET", "/a"), a);
    char name[8] = "login";                     /* compared by content, not pointer */
    assert_int_equal(stats_id(&s, "POST", name), login);
    assert_int_equal(s.nentries, 4);
    assert_string_equal(s.entries[pa].method, "POST");
    assert_string_equal(s.entries[pa].name, "/a");
    assert_string_equal(s.entries[login].name, "login");
    /* the method/name boundary is part of the key */
    uint32_t x = stats_id(&s, "GE", "T/a");
    assert_true(x != a);
    /* NULL strings are empty ones */
    uint32_t empty = stats_id(&s, NULL, NULL);
    assert_int_equal(stats_id(&s, "", ""), empty);
    assert_string_equal(s.entries[empty].method, "");
    assert_int_equal(s.overflow_id, -1);
    assert_int_equal(s.names_folded, 0);
    stats_shard_fini(&s);
    stats_shard_fini(&s);                       /* harmless twice */
}

static void test_many_names_hash(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 0), 0);                  /* 0: the default */
    assert_int_equal(s.name_cap, STATS_DEFAULT_NAME_CAP);
    char name[64];
    for (uint32_t i = 0; i < STATS_DEFAULT_NAME_CAP; i++) {
        snprintf(name, sizeof name, "/orders/%u/lines", i);
        assert_int_equal(stats_id(&s, i % 2 ? "GET" : "PUT", name), i);
    }
    for (uint32_t i = 0; i < STATS_DEFAULT_NAME_CAP; i++) {
        snprintf(name, sizeof name, "/orders/%u/lines", i);
        assert_int_equal(stats_id(&s, i % 2 ? "GET" : "PUT", name), i);
    }
    assert_int_equal(s.nentries, STATS_DEFAULT_NAME_CAP);
    assert_int_equal(s.overflow_id, -1);
    stats_shard_fini(&s);
}

static void test_cap_and_overflow(void **state)
{
    (void)state;
    stats_shard s;
    char name[32];
    assert_int_equal(stats_shard_init(&s, 4), 0);
    for (uint32_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "/n%u", i);
        assert_int_equal(stats_id(&s, "GET", name), i);
    }
    assert_int_equal(s.overflow_id, -1);
    uint32_t ov = stats_id(&s, "GET", "/n4");
    assert_int_equal(ov, 4);                    /* the reserved extra slot */
    assert_int_equal(s.overflow_id, 4);
    assert_int_equal(s.nentries, 5);
    assert_string_equal(s.entries[ov].method, "*");
    assert_string_equal(s.entries[ov].name, STATS_OVERFLOW_NAME);
    assert_int_equal(s.names_folded, 1);
    /* the same folded name again is not a new one; a different method is */
    assert_int_equal(stats_id(&s, "GET", "/n4"), ov);
    assert_int_equal(s.names_folded, 1);
    assert_int_equal(stats_id(&s, "POST", "/n4"), ov);
    assert_int_equal(s.names_folded, 2);
    /* known names keep their ids */
    for (uint32_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "/n%u", i);
        assert_int_equal(stats_id(&s, "GET", name), i);
    }
    /* 40 more distinct names, each resolved three times */
    for (int rep = 0; rep < 3; rep++)
        for (uint32_t i = 100; i < 140; i++) {
            snprintf(name, sizeof name, "/n%u", i);
            assert_int_equal(stats_id(&s, "GET", name), ov);
        }
    assert_int_equal(s.names_folded, 42);
    assert_int_equal(s.nentries, 5);
    /* the overflow entry records like any other */
    stats_record(&s, ov, 1500, 10, true);
    assert_int_equal(s.entries[ov].requests, 1);
    assert_int_equal(s.entries[ov].failures, 1);
    assert_int_equal(s.entries[ov].lat.total, 1);

    /* a flood of distinct names: memory stays put, the count never overstates */
    size_t bytes = stats_shard_bytes(&s);
    for (uint32_t i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "/flood/%u", i);
        assert_int_equal(stats_id(&s, "GET", name), ov);
    }
    assert_true(s.names_folded > 42);
    assert_true(s.names_folded <= 42 + 100000);
    assert_int_equal(stats_shard_bytes(&s), bytes);
    stats_shard_fini(&s);

    /* with the default cap the count stays exact well past the cap */
    assert_int_equal(stats_shard_init(&s, 0), 0);
    for (int rep = 0; rep < 2; rep++)
        for (uint32_t i = 0; i < 3 * STATS_DEFAULT_NAME_CAP; i++) {
            snprintf(name, sizeof name, "/item/%u", i);
            (void)stats_id(&s, "GET", name);
        }
    assert_int_equal(s.names_folded, 2 * STATS_DEFAULT_NAME_CAP);
    stats_shard_fini(&s);
}

static void test_name_truncation(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 8), 0);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    uint32_t id = stats_id(&s, "GET", longname);
    assert_int_equal(strlen(s.entries[id].name), STATS_NAME_MAX - 1);
    /* equal up to the cut: the same entry */
    longname[200] = 'y';
    assert_int_equal(stats_id(&s, "GET", longname), id);
    longname[STATS_NAME_MAX - 2] = 'y';         /* differs before the cut */
    assert_true(stats_id(&s, "GET", longname) != id);
    /* the method is cut too */
    uint32_t m = stats_id(&s, "VERYLONGMETHODNAME", "/m");
    assert_int_equal(strlen(s.entries[m].method), STATS_METHOD_MAX - 1);
    assert_int_equal(stats_id(&s, "VERYLONGMETHODXXXX", "/m"), m);
    /* a 2-byte UTF-8 character across the cut is dropped whole */
    char utf[STATS_NAME_MAX + 4];
    memset(utf, 'a', STATS_NAME_MAX - 2);
    strcpy(utf + STATS_NAME_MAX - 2, "\xc3\xa9z");                  /* 126 x 'a', e-acute, z */
    uint32_t u = stats_id(&s, "GET", utf);
    assert_int_equal(strlen(s.entries[u].name), STATS_NAME_MAX - 2);
    stats_shard_fini(&s);
}

static void test_record(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 4), 0);
    uint32_t a = stats_id(&s, "GET", "/a");
    uint32_t b = stats_id(&s, "GET", "/b");
    stats_record(&s, a, 1000, 200, false);
    stats_record(&s, a, 3000, 50, true);
    stats_record(&s, b, 7, 0, true);
    stats_record(&s, 3, 9, 9, false);           /* not handed out: ignored */
    stats_record(&s, UINT32_MAX, 9, 9, false);
    assert_int_equal(s.entries[a].requests, 2);
    assert_int_equal(s.entries[a].failures, 1);
    assert_int_equal(s.entries[a].bytes, 250);
    assert_int_equal(s.entries[a].lat.total, 2);
    assert_int_equal(s.entries[a].lat.min_us, 1000);
    assert_int_equal(s.entries[a].lat.max_us, 3000);
    assert_int_equal(s.entries[a].lat.sum_us, 4000);
    assert_int_equal(s.entries[b].requests, 1);
    assert_int_equal(s.entries[b].failures, 1);
    assert_int_equal(hist_percentile(&s.entries[b].lat, 50), 7);
    assert_int_equal(s.entries[3].requests, 0);
    assert_int_equal(s.nentries, 2);
    stats_shard_fini(&s);
}

static void test_errors(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 4), 0);
    uint32_t a = stats_id(&s, "GET", "/a");
    uint32_t b = stats_id(&s, "GET", "/b");
    stats_error(&s, a, ERR_HTTP_STATUS, "503");
    stats_error(&s, a, ERR_HTTP_STATUS, "503");
    stats_error(&s, a, ERR_HTTP_STATUS, "500");
    stats_error(&s, b, ERR_HTTP_STATUS, "503");
    stats_error(&s, a, ERR_TIMEOUT, "503");
    stats_error(&s, a, ERR_CONNECT, NULL);
    stats_error(&s, a, ERR_CONNECT, "");
    assert_int_equal(s.nerrs, 5);
    assert_int_equal(s.errs[0].entry, a);
    assert_int_equal(s.errs[0].kind, ERR_HTTP_STATUS);
    assert_string_equal(s.errs[0].detail, "503");
    assert_int_equal(s.errs[0].count, 2);
    assert_int_equal(s.errs[1].count, 1);
    assert_int_equal(s.errs[2].entry, b);
    assert_int_equal(s.errs[3].kind, ERR_TIMEOUT);
    assert_string_equal(s.errs[4].detail, "");
    assert_int_equal(s.errs[4].count, 2);
    /* a kind out of range is "other"; a long detail is cut */
    stats_error(&s, a, (stats_err_kind)99, "weird");
    assert_int_equal(s.errs[5].kind, ERR_OTHER);
    char longd[200];
    memset(longd, 'd', sizeof longd - 1);
    longd[sizeof longd - 1] = '\0';
    stats_error(&s, a, ERR_EXPECT, longd);
    longd[100] = 'e';                           /* equal up to the cut */
    stats_error(&s, a, ERR_EXPECT, longd);
    assert_int_equal(s.nerrs, 7);
    assert_int_equal(strlen(s.errs[6].detail), STATS_DETAIL_MAX - 1);
    assert_int_equal(s.errs[6].count, 2);
    stats_shard_fini(&s);
}

static void test_error_folding(void **state)
{
    (void)state;
    stats_shard s;
    char detail[32];
    assert_int_equal(stats_shard_init(&s, 4), 0);
    uint32_t a = stats_id(&s, "GET", "/a");
    uint32_t b = stats_id(&s, "GET", "/b");
    /* STATS_ERR_CAP - 1 distinct rows fill every slot but the reserved last one */
    for (int i = 0; i < STATS_ERR_CAP - 1; i++) {
        snprintf(detail, sizeof detail, "status %d", i);
        stats_error(&s, a, ERR_HTTP_STATUS, detail);
    }
    assert_int_equal(s.nerrs, STATS_ERR_CAP - 1);
    /* 45 more distinct kinds fold into one row */
    for (int i = 0; i < 45; i++) {
        snprintf(detail, sizeof detail, "reason %d", i);
        stats_error(&s, b, ERR_WS_CLOSE, detail);
    }
    assert_int_equal(s.nerrs, STATS_ERR_CAP);
    stats_err *more = &s.errs[STATS_ERR_CAP - 1];
    assert_int_equal(more->kind, ERR_OTHER);
    assert_string_equal(more->detail, "(more error kinds)");
    assert_int_equal(more->count, 45);
    assert_int_equal(more->entry, b);
    /* rows already present still count for themselves */
    stats_error(&s, a, ERR_HTTP_STATUS, "status 7");
    assert_int_equal(s.errs[7].count, 2);
    stats_error(&s, a, ERR_TLS, "handshake");
    assert_int_equal(more->count, 46);
    assert_int_equal(s.nerrs, STATS_ERR_CAP);
    uint64_t total = 0;
    for (uint32_t r = 0; r < s.nerrs; r++)
        total += s.errs[r].count;
    assert_int_equal(total, (STATS_ERR_CAP - 1) + 45 + 2);    /* nothing lost */
    stats_shard_fini(&s);
}

static void test_reset(void **state)
{
    (void)state;
    stats_shard s;
    char name[32];
    assert_int_equal(stats_shard_init(&s, 3), 0);
    for (uint32_t i = 0; i < 5; i++) {         /* 3 names, then 2 folded */
        snprintf(name, sizeof name, "/r%u", i);
        uint32_t id = stats_id(&s, "GET", name);
        stats_record(&s, id, 1000 * (i + 1), 100, i == 1);
        stats_record(&s, id, 5000000, 100, false);
        stats_error(&s, id, ERR_TIMEOUT, "read");
    }
    s.cancelled = 4;
    s.users = 17;
    size_t bytes = stats_shard_bytes(&s);
    assert_int_equal(s.nentries, 4);
    assert_int_equal(s.names_folded, 2);
    assert_int_equal(s.nerrs, 4);

    stats_shard_reset(&s);
    assert_int_equal(stats_shard_bytes(&s), bytes);     /* sparse pair arrays kept */
    assert_int_equal(s.nerrs, 0);
    assert_int_equal(s.cancelled, 0);
    assert_int_equal(s.users, 17);
    assert_int_equal(s.nentries, 4);
    assert_int_equal(s.overflow_id, 3);
    assert_int_equal(s.names_folded, 2);
    for (uint32_t i = 0; i < s.nentries; i++) {
        const stats_entry *e = &s.entries[i];
        assert_int_equal(e->requests, 0);
        assert_int_equal(e->failures, 0);
        assert_int_equal(e->bytes, 0);
        assert_int_equal(e->lat.total, 0);
        assert_int_equal(e->lat.min_us, UINT64_MAX);
        assert_int_equal(hist_nonzero(&e->lat), 0);
    }
    /* names and ids survive */
    for (uint32_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "/r%u", i);
        assert_int_equal(stats_id(&s, "GET", name), i);
        assert_string_equal(s.entries[i].name, name);
    }
    assert_int_equal(stats_id(&s, "GET", "/r4"), 3);
    assert_int_equal(s.names_folded, 2);
    /* the next interval records into the kept pair arrays */
    stats_record(&s, 0, 1000, 1, false);
    stats_record(&s, 0, 5000000, 1, false);
    assert_int_equal(stats_shard_bytes(&s), bytes);
    assert_int_equal(s.entries[0].requests, 2);
    stats_error(&s, 0, ERR_TIMEOUT, "read");
    assert_int_equal(s.nerrs, 1);
    assert_int_equal(s.errs[0].count, 1);
    stats_shard_fini(&s);
}

static void test_err_kind_names(void **state)
{
    (void)state;
    static const char *const names[ERR_KIND_COUNT] = {
        "connect", "timeout", "tls", "http_status", "expect", "ws_close", "cancelled", "other",
        "ws_upgrade", "ws_protocol",
    };
    for (int k = 0; k < ERR_KIND_COUNT; k++) {
        assert_string_equal(stats_err_kind_name((stats_err_kind)k), names[k]);
        assert_int_equal(stats_err_kind_parse(names[k]), k);
    }
    assert_int_equal(stats_err_kind_parse("HTTP_STATUS"), -1);
    assert_int_equal(stats_err_kind_parse("bogus"), -1);
    assert_int_equal(stats_err_kind_parse(""), -1);
    assert_int_equal(stats_err_kind_parse(NULL), -1);
    assert_non_null(stats_err_kind_name((stats_err_kind)42));
}

/* stats_count counts without a latency; ids a shard never handed out are ignored by
 * stats_record, stats_count and stats_error alike; the WebSocket methods are recognized. */
static void test_count_and_ws_methods(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 8), 0);
    uint32_t id = stats_id(&s, STATS_WS_SENT, "feed");
    stats_count(&s, id, 100, false);
    stats_count(&s, id, 20, true);
    assert_int_equal(s.entries[id].requests, 2);
    assert_int_equal(s.entries[id].failures, 1);
    assert_int_equal(s.entries[id].bytes, 120);
    assert_int_equal(s.entries[id].lat.total, 0);
    stats_count(&s, UINT32_MAX, 1, true);
    stats_record(&s, UINT32_MAX, 5, 1, true);
    stats_error(&s, UINT32_MAX, ERR_WS_CLOSE, "1006");
    assert_int_equal(s.nerrs, 0);
    assert_int_equal(s.entries[id].requests, 2);
    assert_true(stats_is_ws_method(STATS_WS_MESSAGE));
    assert_true(stats_is_ws_method(STATS_WS_CONNECT));
    assert_true(stats_is_ws_method("WS:c:1000"));
    assert_false(stats_is_ws_method("GET"));
    assert_false(stats_is_ws_method("WSX"));
    assert_false(stats_is_ws_method("*"));
    assert_false(stats_is_ws_method(NULL));
    stats_shard_fini(&s);
}

static void test_default_names(void **state)
{
    (void)state;
    static const struct { const char *url, *name; } cases[] = {
        { "http://127.0.0.1:8000/ppic/manufacturing-orders/123?page=4",
          "/ppic/manufacturing-orders/{id}" },
        { "/ppic/manufacturing-orders/123", "/ppic/manufacturing-orders/{id}" },
        { "/ppic/manufacturing-orders?page=7", "/ppic/manufacturing-orders" },
        { "https://erp.local/stock/items/3fa85f64-5717-4562-b3fc-2c963f66afa6/moves",
          "/stock/items/{id}/moves" },
        { "/stock/items/3FA85F64-5717-4562-B3FC-2C963F66AFA6", "/stock/items/{id}" },
        { "/stock/items/3fa85f64-5717-4562-b3fc-2c963f66afa", "/stock/items/3fa85f64-5717-4562-b3fc-2c963f66afa" },
        { "/stock/items/3fa85f64x5717-4562-b3fc-2c963f66afa6", "/stock/items/3fa85f64x5717-4562-b3fc-2c963f66afa6" },
        { "/blobs/0123456789abcdef", "/blobs/{id}" },
        { "/blobs/0123456789ABCDEF0123", "/blobs/{id}" },
        { "/blobs/deadbeef", "/blobs/deadbeef" },                 /* hex, too short */
        { "/files/123abc", "/files/123abc" },
        { "/api/v2/users/me", "/api/v2/users/me" },
        { "/orders/00123/lines/7#top", "/orders/{id}/lines/{id}" },
        { "/1/2/3", "/{id}/{id}/{id}" },
        { "/a/b/", "/a/b/" },
        { "/a//1", "/a//{id}" },
        { "/", "/" },
        { "", "/" },
        { "?x=1", "/" },
        { "#frag", "/" },
        { "http://127.0.0.1:8000", "/" },
        { "http://127.0.0.1:8000/", "/" },
        { "http://127.0.0.1:8000?next=/a/1", "/" },
        { "https://user@host:443/a/42/b?c=/d/5", "/a/{id}/b" },
        { "ws://127.0.0.1:8000/ws/production", "/ws/production" },
        { "//cdn.local/img/99", "/img/{id}" },
        { "orders/5", "/orders/{id}" },
        { "/search?q=a/b/123", "/search" },
        { "/reports/2024-05-01", "/reports/2024-05-01" },
    };
    char out[STATS_NAME_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, '#', sizeof out);
        stats_default_name(cases[i].url, out, sizeof out);
        if (strcmp(out, cases[i].name) != 0)
            fail_msg("%s -> \"%s\", want \"%s\"", cases[i].url, out, cases[i].name);
    }
    stats_default_name(NULL, out, sizeof out);
    assert_string_equal(out, "/");

    /* at most cap bytes, NUL included */
    char small[8];
    memset(small, '#', sizeof small);
    stats_default_name("http://h/abcdefghijkl/1", small, sizeof small);
    assert_string_equal(small, "/abcdef");
    stats_default_name("/x/123456789", small, 6);
    assert_string_equal(small, "/x/{i");
    char one[1] = { '#' };
    stats_default_name("/a", one, 1);
    assert_int_equal(one[0], '\0');
    stats_default_name("/a", one, 0);                               /* writes nothing */
    assert_int_equal(one[0], '\0');
    /* a cut never leaves half a UTF-8 character */
    char u[5];
    stats_default_name("/a\xc3\xa9", u, 4);                        /* room for 3 bytes */
    assert_string_equal(u, "/a");
    stats_default_name("/a\xe2\x82\xac", u, 5);                    /* 3-byte euro sign */
    assert_string_equal(u, "/a");
    stats_default_name("/a\xc3\xa9", u, 5);
    assert_string_equal(u, "/a\xc3\xa9");
    /* the result is usable as a name */
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 4), 0);
    stats_default_name("http://127.0.0.1:8000/ppic/manufacturing-orders/123?page=4", out,
                       sizeof out);
    uint32_t id = stats_id(&s, "GET", out);
    stats_default_name("http://127.0.0.1:8000/ppic/manufacturing-orders/456?page=9", out,
                       sizeof out);
    assert_int_equal(stats_id(&s, "GET", out), id);
    stats_shard_fini(&s);
}

/* Issue 9, item 13: a captured response value in a URL can carry any byte. Every name,
 * method and error detail a shard stores is valid UTF-8 (jansson takes it as it is),
 * the same raw name resolves to the same entry, valid names are untouched. */
static void test_names_utf8_clean(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, 8), 0);
    const char *raw = "/orders/\xff\xfe_\xc3\xa9_\xed\xa0\x80_\xc0\xaf_\xe2\x82";
    uint32_t id = stats_id(&s, "GET", raw);
    assert_string_equal(s.entries[id].name, "/orders/??_\xc3\xa9_???_??_??");
    assert_int_equal(stats_id(&s, "GET", raw), id);                 /* stable */
    assert_int_equal(stats_id(&s, "GET", "/orders/??_\xc3\xa9_???_??_??"), id);
    uint32_t m = stats_id(&s, "G\x80T", "/m");
    assert_string_equal(s.entries[m].method, "G?T");
    /* a cut name whose kept part ends in a broken sequence */
    char longn[STATS_NAME_MAX + 8];
    memset(longn, 'a', sizeof longn);
    longn[STATS_NAME_MAX - 3] = '\xe2';         /* E2 82 then 'a': ill-formed */
    longn[STATS_NAME_MAX - 2] = '\x82';
    longn[sizeof longn - 1] = '\0';
    uint32_t l = stats_id(&s, "GET", longn);
    assert_int_equal(strlen(s.entries[l].name), STATS_NAME_MAX - 1);
    assert_memory_equal(s.entries[l].name + STATS_NAME_MAX - 3, "??", 2);
    /* error details */
    stats_error(&s, id, ERR_EXPECT, "body lacks \"\xe2\x82\"");
    assert_string_equal(s.errs[0].detail, "body lacks \"??\"");
    stats_error(&s, id, ERR_EXPECT, "body lacks \"\xe2\x82\"");
    assert_int_equal(s.nerrs, 1);
    assert_int_equal(s.errs[0].count, 2);
    /* every stored string is a JSON string */
    for (uint32_t i = 0; i < s.nentries; i++) {
        json_t *j = json_string(s.entries[i].name);
        assert_non_null(j);
        json_decref(j);
        j = json_string(s.entries[i].method);
        assert_non_null(j);
        json_decref(j);
    }
    json_t *j = json_string(s.errs[0].detail);
    assert_non_null(j);
    json_decref(j);
    stats_shard_fini(&s);

    /* default names from a URL holding raw bytes */
    char out[STATS_NAME_MAX];
    stats_default_name("http://127.0.0.1:1/items/\xff\xc3\xa9/42?q=\xff", out, sizeof out);
    assert_string_equal(out, "/items/?\xc3\xa9/{id}");
    char u[6];
    stats_default_name("/\xff\xff" "ab\xc3\xa9", u, sizeof u);          /* cut and cleaned */
    assert_string_equal(u, "/??ab");
}

/* A worker thread's shard with 200 request names: the fixed part, then what the
 * histograms add as samples arrive. */
static void test_shard_bytes_200_names(void **state)
{
    (void)state;
    stats_shard s;
    assert_int_equal(stats_shard_init(&s, STATS_DEFAULT_NAME_CAP), 0);
    size_t fixed = stats_shard_bytes(&s);
    size_t table = (STATS_DEFAULT_NAME_CAP + 1) * sizeof(stats_entry);
    assert_true(fixed >= table + (s.index_mask + 1) * sizeof(uint32_t));
    assert_true(fixed < table + (128u << 10));  /* index and folded-name set: small */

    char name[32];
    for (uint32_t i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "/erp/endpoint/%u/x", i);
        uint32_t id = stats_id(&s, "GET", name);
        assert_int_equal(id, i);
        /* a histogram holds nothing until its first sample, then its smallest pair array */
        size_t one = hist_bytes(&s.entries[0].lat);
        assert_int_equal(stats_shard_bytes(&s), fixed + i * one);
        stats_record(&s, id, 20000, 512, false);
        assert_false(hist_is_dense(&s.entries[id].lat));
        assert_true(hist_bytes(&s.entries[id].lat) > 0);
        assert_true(hist_bytes(&s.entries[id].lat) <= 16 * sizeof(hist_pair));
    }
    assert_int_equal(stats_shard_bytes(&s), fixed + 200 * hist_bytes(&s.entries[0].lat));
    /* a spread of latencies (50 us .. 5 s, ~240 buckets: the histograms stay sparse)
     * adds exactly what the histograms hold */
    size_t hists = 0;
    for (uint32_t i = 0; i < 200; i++) {
        for (uint64_t v = 50; v < 5000000; v = v * 21 / 20 + 1)
            stats_record(&s, i, v, 0, false);
        hists += hist_bytes(&s.entries[i].lat);
        assert_false(hist_is_dense(&s.entries[i].lat));
    }
    size_t total = stats_shard_bytes(&s);
    assert_int_equal(total, fixed + hists);
    print_message("stats shard, 200 names: %.1f KiB fixed, %.1f KiB with histograms\n",
                  (double)fixed / 1024.0, (double)total / 1024.0);
    stats_shard_reset(&s);
    assert_int_equal(stats_shard_bytes(&s), total);
    stats_shard_fini(&s);
}

/* One row type, its figure read once from the method where the row is made. */
static void test_row_figures(void **state)
{
    (void)state;
    uint16_t code = 7;
    assert_int_equal(stats_fig_of("GET", &code), STATS_FIG_HTTP);
    assert_int_equal(code, 0);
    assert_int_equal(stats_fig_of("*", NULL), STATS_FIG_HTTP);
    assert_int_equal(stats_fig_of("WSX", NULL), STATS_FIG_HTTP);
    assert_int_equal(stats_fig_of(STATS_WS_MESSAGE, NULL), STATS_FIG_WS_MESSAGE);
    assert_int_equal(stats_fig_of(STATS_WS_CONNECT, NULL), STATS_FIG_WS_CONNECT);
    assert_int_equal(stats_fig_of(STATS_WS_RECONNECT, NULL), STATS_FIG_WS_RECONNECT);
    assert_int_equal(stats_fig_of(STATS_WS_FANOUT, NULL), STATS_FIG_WS_FANOUT);
    assert_int_equal(stats_fig_of(STATS_WS_PING, NULL), STATS_FIG_WS_PING);
    assert_int_equal(stats_fig_of(STATS_WS_SENT, NULL), STATS_FIG_WS_SENT);
    assert_int_equal(stats_fig_of(STATS_WS_RECV, NULL), STATS_FIG_WS_RECV);
    assert_int_equal(stats_fig_of(STATS_WS_ORDER, NULL), STATS_FIG_WS_ORDER);
    assert_int_equal(stats_fig_of("WS:c:1012", &code), STATS_FIG_WS_CLOSE);
    assert_int_equal(code, 1012);
    assert_int_equal(stats_fig_of("WS:c:x", &code), STATS_FIG_WS_CLOSE);
    assert_int_equal(code, 0);
    assert_int_equal(stats_fig_of("WS:c:", NULL), STATS_FIG_WS_OTHER);
    assert_int_equal(stats_fig_of("WS:newer", NULL), STATS_FIG_WS_OTHER);
    for (stats_fig f = STATS_FIG_HTTP; f <= STATS_FIG_WS_OTHER; f++)
        assert_true(stats_fig_is_ws(f) == (f != STATS_FIG_HTTP));
    stats_shard sh;
    assert_int_equal(stats_shard_init(&sh, 4), 0);
    uint32_t a = stats_id(&sh, "WS:c:1000", "feed"), b = stats_id(&sh, "POST", "/x");
    assert_int_equal(sh.entries[a].fig, STATS_FIG_WS_CLOSE);
    assert_int_equal(sh.entries[a].close_code, 1000);
    assert_int_equal(sh.entries[b].fig, STATS_FIG_HTTP);
    stats_shard_fini(&sh);
}

/* Issue 11: stats_record_svc fills both histograms (stats_row_svc reads svc, or lat
 * when svc is empty: the closed model); ITER rows are their own figure, neither HTTP nor
 * WebSocket; a reset empties the schedule block and keeps its lag histogram usable. */
static void test_svc_iteration_and_sched(void **state)
{
    (void)state;
    stats_shard sh;
    assert_int_equal(stats_shard_init(&sh, 8), 0);
    uint32_t open = stats_id(&sh, "GET", "/open"), closed = stats_id(&sh, "GET", "/closed");
    uint32_t it = stats_id(&sh, STATS_ITERATION, "planner");
    stats_record_svc(&sh, open, 5000, 1000, 10, false);
    stats_record_svc(&sh, open, 9000, 2000, 10, true);
    stats_record(&sh, closed, 3000, 10, false);
    stats_record(&sh, it, 12000, 0, true);
    assert_int_equal(sh.entries[open].requests, 2);
    assert_int_equal(sh.entries[open].failures, 1);
    assert_int_equal(sh.entries[open].lat.total, 2);
    assert_int_equal(sh.entries[open].svc.total, 2);
    assert_int_equal(sh.entries[open].lat.min_us, 5000);
    assert_int_equal(sh.entries[open].svc.max_us, 2000);
    assert_ptr_equal(stats_row_svc(&sh.entries[open]), &sh.entries[open].svc);
    assert_ptr_equal(stats_row_svc(&sh.entries[closed]), &sh.entries[closed].lat);
    assert_int_equal(sh.entries[it].fig, STATS_FIG_ITERATION);
    assert_false(stats_fig_is_http(sh.entries[it].fig));
    assert_false(stats_fig_is_ws(sh.entries[it].fig));
    assert_true(stats_fig_is_http(sh.entries[open].fig));
    sh.sched.intended = 7;
    sh.sched.started = 5;
    sh.sched.dropped = 2;
    sh.sched.backlog_max = 3;
    sh.sched.cpu_us = 10;
    sh.sched.wall_us = 20;
    hist_record(&sh.sched.lag, 1500);
    stats_shard_reset(&sh);
    assert_int_equal(sh.entries[open].svc.total, 0);
    assert_int_equal(sh.sched.intended + sh.sched.started + sh.sched.dropped, 0);
    assert_int_equal(sh.sched.backlog_max, 0);
    assert_int_equal(sh.sched.cpu_us + sh.sched.wall_us, 0);
    assert_int_equal(sh.sched.lag.total, 0);
    hist_record(&sh.sched.lag, 700);
    assert_int_equal(sh.sched.lag.total, 1);
    assert_int_equal(stats_id(&sh, STATS_ITERATION, "planner"), it);     /* ids stable */
    stats_shard_fini(&sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_stable_and_distinct),
        cmocka_unit_test(test_many_names_hash),
        cmocka_unit_test(test_cap_and_overflow),
        cmocka_unit_test(test_name_truncation),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_folding),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_err_kind_names),
        cmocka_unit_test(test_count_and_ws_methods),
        cmocka_unit_test(test_default_names),
        cmocka_unit_test(test_names_utf8_clean),
        cmocka_unit_test(test_shard_bytes_200_names),
        cmocka_unit_test(test_row_figures),
        cmocka_unit_test(test_svc_iteration_and_sched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
