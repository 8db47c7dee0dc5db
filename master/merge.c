/* Merged statistics: see master/merge.h.
 *
 * Lookups go through two open-addressing hash tables (linear probing, power-of-two
 * size, load <= 1/2) over the entry and error rows, because the master folds every
 * row of every delta: 1000 workers x 200 names a second would make a linear search
 * over 500 names cost ~10^8 string compares a second.
 *
 * Decisions the header leaves open, written down here:
 * - An error row whose entry index is out of range (a decoder would refuse it, but the
 *   merge does not rely on that) is still counted, under method "" name "(unknown)".
 * - An error kind outside stats_err_kind counts as ERR_OTHER.
 * - Strings longer than their field are cut at the field's size (the shard bounds
 *   them the same way, so this only matters for hand-built deltas).
 * - `all` leaves out WebSocket entries (stats_is_ws_method): merge_add tests each row's
 *   method; merge_add_set adds other->all, which holds HTTP rows only by the same rule,
 *   so a set folded from intervals and one fed every delta agree. */
#include "master/merge.h"

#include <stdlib.h>
#include <string.h>

#define MERGE_INDEX_MIN 64u     /* first index size (slots) */
#define MERGE_UNKNOWN_NAME "(unknown)"

/* Bounded copy that always terminates dst (cap >= 1). */
static void merge_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* FNV-1a over a NUL-terminated string, continuing from h; the NUL is mixed in too so
 * that ("ab","c") and ("a","bc") differ. */
static uint32_t merge_hash_str(uint32_t h, const char *s)
{
    for (;;) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
        if (*s++ == '\0')
            return h;
    }
}

static uint32_t merge_hash_entry(const char *method, const char *name)
{
    return merge_hash_str(merge_hash_str(2166136261u, method), name);
}

static uint32_t merge_hash_err(const char *method, const char *name, stats_err_kind kind,
                               const char *detail)
{
    uint32_t h = merge_hash_entry(method, name);
    h ^= (uint32_t)kind;
    h *= 16777619u;
    return merge_hash_str(h, detail);
}

void merge_init(merge_set *m)
{
    memset(m, 0, sizeof *m);
    hist_init(&m->all.lat);
    merge_copy(m->all.name, sizeof m->all.name, "Aggregated");   /* Locust's total row */
}

void merge_entry_fini(merge_entry *e)
{
    if (e != NULL)
        hist_fini(&e->lat);
}

void merge_fini(merge_set *m)
{
    if (m == NULL)
        return;
    for (uint32_t i = 0; i < m->n; i++)
        merge_entry_fini(&m->entries[i]);
    merge_entry_fini(&m->all);
    free(m->entries);
    free(m->errs);
    free(m->ent_index);
    free(m->err_index);
    merge_init(m);
}

static void merge_entry_zero(merge_entry *e)
{
    e->requests = e->failures = e->bytes = 0;
    hist_reset(&e->lat);
}

void merge_reset(merge_set *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        merge_entry_zero(&m->entries[i]);
    merge_entry_zero(&m->all);
    m->nerrs = 0;
    if (m->err_index != NULL)
        memset(m->err_index, 0, ((size_t)m->err_mask + 1) * sizeof *m->err_index);
    m->cancelled = 0;
    m->names_folded = 0;
}

/* Slot of (method, name) in the entry index: the one holding it, or the empty slot
 * where it would go. The index must exist. */
static uint32_t merge_ent_slot(const merge_set *m, const char *method, const char *name)
{
    uint32_t i = merge_hash_entry(method, name) & m->ent_mask;
    for (;;) {
        uint32_t v = m->ent_index[i];
        if (v == 0)
            return i;
        const merge_entry *e = &m->entries[v - 1];
        if (strcmp(e->name, name) == 0 && strcmp(e->method, method) == 0)
            return i;
        i = (i + 1) & m->ent_mask;
    }
}

static uint32_t merge_err_slot(const merge_set *m, const char *method, const char *name,
                               stats_err_kind kind, const char *detail)
{
    uint32_t i = merge_hash_err(method, name, kind, detail) & m->err_mask;
    for (;;) {
        uint32_t v = m->err_index[i];
        if (v == 0)
            return i;
        const merge_err *e = &m->errs[v - 1];
        if (e->kind == kind && strcmp(e->name, name) == 0 && strcmp(e->method, method) == 0
            && strcmp(e->detail, detail) == 0)
            return i;
        i = (i + 1) & m->err_mask;
    }
}

/* Makes room for one more entry row: grows the array and, past half load, rebuilds
 * the index at twice the size. 0, or -1 on ENOMEM (m unchanged). */
static int merge_ent_reserve(merge_set *m)
{
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 16;
        merge_entry *e = realloc(m->entries, (size_t)cap * sizeof *e);
        if (e == NULL)
            return -1;
        m->entries = e;             /* a hist holds no pointer to itself: moving is fine */
        m->cap = cap;
    }
    size_t slots = m->ent_index ? (size_t)m->ent_mask + 1 : 0;
    if ((size_t)(m->n + 1) * 2 > slots) {
        size_t ns = slots ? slots * 2 : MERGE_INDEX_MIN;
        uint32_t *idx = calloc(ns, sizeof *idx);
        if (idx == NULL)
            return -1;
        free(m->ent_index);
        m->ent_index = idx;
        m->ent_mask = (uint32_t)ns - 1;
        for (uint32_t k = 0; k < m->n; k++)
            m->ent_index[merge_ent_slot(m, m->entries[k].method, m->entries[k].name)] = k + 1;
    }
    return 0;
}

static int merge_err_reserve(merge_set *m)
{
    if (m->nerrs == m->errcap) {
        uint32_t cap = m->errcap ? m->errcap * 2 : 16;
        merge_err *e = realloc(m->errs, (size_t)cap * sizeof *e);
        if (e == NULL)
            return -1;
        m->errs = e;
        m->errcap = cap;
    }
    size_t slots = m->err_index ? (size_t)m->err_mask + 1 : 0;
    if ((size_t)(m->nerrs + 1) * 2 > slots) {
        size_t ns = slots ? slots * 2 : MERGE_INDEX_MIN;
        uint32_t *idx = calloc(ns, sizeof *idx);
        if (idx == NULL)
            return -1;
        free(m->err_index);
        m->err_index = idx;
        m->err_mask = (uint32_t)ns - 1;
        for (uint32_t k = 0; k < m->nerrs; k++) {
            const merge_err *e = &m->errs[k];
            m->err_index[merge_err_slot(m, e->method, e->name, e->kind, e->detail)] = k + 1;
        }
    }
    return 0;
}

/* The entry (method, name), appended (zeroed) when new; NULL on ENOMEM. */
static merge_entry *merge_entry_get(merge_set *m, const char *method, const char *name)
{
    char mb[STATS_METHOD_MAX], nb[STATS_NAME_MAX];
    merge_copy(mb, sizeof mb, method);
    merge_copy(nb, sizeof nb, name);
    if (m->ent_index != NULL) {
        uint32_t v = m->ent_index[merge_ent_slot(m, mb, nb)];
        if (v != 0)
            return &m->entries[v - 1];
    }
    if (merge_ent_reserve(m) != 0)
        return NULL;
    merge_entry *e = &m->entries[m->n];
    memset(e, 0, sizeof *e);
    memcpy(e->method, mb, sizeof mb);
    memcpy(e->name, nb, sizeof nb);
    hist_init(&e->lat);
    m->ent_index[merge_ent_slot(m, mb, nb)] = ++m->n;
    return e;
}

/* Adds count to the error row (method, name, kind, detail), appended when new. */
static int merge_err_addn(merge_set *m, const char *method, const char *name,
                          stats_err_kind kind, const char *detail, uint64_t count)
{
    char mb[STATS_METHOD_MAX], nb[STATS_NAME_MAX], db[STATS_DETAIL_MAX];
    merge_copy(mb, sizeof mb, method);
    merge_copy(nb, sizeof nb, name);
    merge_copy(db, sizeof db, detail);
    if (m->err_index != NULL) {
        uint32_t v = m->err_index[merge_err_slot(m, mb, nb, kind, db)];
        if (v != 0) {
            m->errs[v - 1].count += count;
            return 0;
        }
    }
    if (merge_err_reserve(m) != 0)
        return -1;
    merge_err *e = &m->errs[m->nerrs];
    memset(e, 0, sizeof *e);
    memcpy(e->method, mb, sizeof mb);
    memcpy(e->name, nb, sizeof nb);
    memcpy(e->detail, db, sizeof db);
    e->kind = kind;
    e->count = count;
    m->err_index[merge_err_slot(m, mb, nb, kind, db)] = ++m->nerrs;
    return 0;
}

/* dst += counters and histogram of one row. */
static int merge_entry_add(merge_entry *dst, uint64_t requests, uint64_t failures,
                           uint64_t bytes, const hist *lat)
{
    dst->requests += requests;
    dst->failures += failures;
    dst->bytes += bytes;
    return hist_add(&dst->lat, lat);
}

int merge_add(merge_set *m, const proto_stats *d)
{
    int rv = 0;
    for (uint32_t i = 0; i < d->nentries; i++) {
        const proto_stats_entry *s = &d->entries[i];
        merge_entry *e = merge_entry_get(m, s->method, s->name);
        if (e == NULL)
            return -1;
        if (merge_entry_add(e, s->requests, s->failures, s->bytes, &s->lat) != 0)
            rv = -1;
        if (!stats_is_ws_method(e->method)
            && merge_entry_add(&m->all, s->requests, s->failures, s->bytes, &s->lat) != 0)
            rv = -1;
    }
    for (uint32_t i = 0; i < d->nerrs; i++) {
        const proto_stats_err *s = &d->errs[i];
        const char *method = "", *name = MERGE_UNKNOWN_NAME;
        if (s->entry < d->nentries) {
            method = d->entries[s->entry].method;
            name = d->entries[s->entry].name;
        }
        stats_err_kind kind = s->kind < ERR_KIND_COUNT ? (stats_err_kind)s->kind : ERR_OTHER;
        if (merge_err_addn(m, method, name, kind, s->detail, s->count) != 0)
            return -1;
    }
    m->cancelled += d->cancelled;
    if (d->names_folded > m->names_folded)
        m->names_folded = d->names_folded;
    return rv;
}

int merge_add_set(merge_set *m, const merge_set *other)
{
    int rv = 0;
    for (uint32_t i = 0; i < other->n; i++) {
        const merge_entry *s = &other->entries[i];
        merge_entry *e = merge_entry_get(m, s->method, s->name);
        if (e == NULL)
            return -1;
        if (merge_entry_add(e, s->requests, s->failures, s->bytes, &s->lat) != 0)
            rv = -1;
    }
    const merge_entry *a = &other->all;     /* HTTP rows only, as merge_add sums them */
    if (merge_entry_add(&m->all, a->requests, a->failures, a->bytes, &a->lat) != 0)
        rv = -1;
    for (uint32_t i = 0; i < other->nerrs; i++) {
        const merge_err *s = &other->errs[i];
        if (merge_err_addn(m, s->method, s->name, s->kind, s->detail, s->count) != 0)
            return -1;
    }
    m->cancelled += other->cancelled;
    if (other->names_folded > m->names_folded)
        m->names_folded = other->names_folded;
    return rv;
}

const merge_entry *merge_find(const merge_set *m, const char *method, const char *name)
{
    if (m->ent_index == NULL || method == NULL || name == NULL)
        return NULL;
    uint32_t v = m->ent_index[merge_ent_slot(m, method, name)];
    return v ? &m->entries[v - 1] : NULL;
}

/* A linear pass: thresholds and reports call this a few times per run, not per delta.
 * WebSocket entries are skipped: a name's HTTP figures never mix with its ws ones. */
int merge_by_name(const merge_set *m, const char *name, merge_entry *out)
{
    memset(out, 0, sizeof *out);
    hist_init(&out->lat);
    merge_copy(out->name, sizeof out->name, name ? name : "");
    int found = 0, rv = 0;
    for (uint32_t i = 0; name != NULL && i < m->n; i++) {
        const merge_entry *e = &m->entries[i];
        if (strcmp(e->name, name) != 0 || stats_is_ws_method(e->method))
            continue;
        if (found == 0)
            memcpy(out->method, e->method, sizeof out->method);
        else if (strcmp(out->method, e->method) != 0)
            merge_copy(out->method, sizeof out->method, "*");
        found++;
        if (merge_entry_add(out, e->requests, e->failures, e->bytes, &e->lat) != 0)
            rv = -1;
    }
    return rv ? rv : found;
}
