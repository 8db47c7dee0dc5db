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
 * - `all` leaves out WebSocket entries (their stats_fig, set when the entry is made): merge_add tests each row's
 *   method; merge_add_set adds other->all, which holds HTTP rows only by the same rule,
 *   so a set folded from intervals and one fed every delta agree. `all` follows the
 *   entry a row lands in: a WebSocket row pushed into ("*", overflow) by the
 *   MERGE_OVERFLOW_MAX bound (a peer inventing methods) counts as HTTP there, so the
 *   stats.csv rows still add up to Aggregated.
 * - Without a cap (name_cap 0: tests, tools) nothing folds, as before.
 * - Name cap (merge.h): an error row is folded when its entry is not in the set after
 *   the entries were merged (its (method, name) was folded, or ENOMEM).
 * - A set with a cap counts in names_folded a lower bound: the shards' own counts and
 *   the set's are not added, since a name may be folded by both.
 * - svc (issue 11): an empty svc means "equal to lat" (stats_row_svc). Adding a row keeps
 *   that true of the sum: when only one side has svc, the other side's lat stands in for
 *   its svc (a sum row then has svc covering every sample), so stats_row_svc of a merged
 *   row is exact whatever mix of rows went into it. Both empty (the closed model) costs
 *   nothing.
 * - ITER rows (STATS_FIG_ITERATION) count against the name cap like HTTP rows, but a
 *   folded one keeps its method: ("ITER", STATS_OVERFLOW_NAME), admitted even beyond
 *   MERGE_OVERFLOW_MAX, so iterations never land in ("*", ...) and never in `all`.
 * - The schedule: merge_add adds a delta's counts, cpu_us, wall_us and lag, and its
 *   backlog_max (saturating at UINT32_MAX); cpu_max takes the delta's cpu_us / wall_us
 *   when it is higher (a delta shorter than STATS_LOAD_MIN_WALL_US, a run's final one
 *   cut short, says nothing about load: common/stats.h). merge_add_set
 *   adds counts, times, lag and limited_intervals, keeps the larger backlog_max and
 *   cpu_max (an interval folded into the totals: the worst interval). merge_reset zeroes
 *   all of it, limited_intervals included. */
#include "master/merge.h"

#include <stdlib.h>
#include <string.h>

#define MERGE_INDEX_MIN 64u     /* first index size (slots) */
#define MERGE_UNKNOWN_NAME "(unknown)"

/* Bounded copy that always terminates dst (cap >= 1). Bytes are kept as they came:
 * each output cleans or escapes them its own way (results_json.c, live.c). */
static void merge_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool merge_is_overflow(const char *name)
{
    return strcmp(name, STATS_OVERFLOW_NAME) == 0;
}

/* An iteration row's method: it keeps its method when folded (see the top). */
static bool merge_is_iter(const char *method)
{
    return strcmp(method, STATS_ITERATION) == 0;
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

void merge_set_cap(merge_set *m, uint32_t name_cap, const merge_set *known)
{
    m->name_cap = name_cap;
    m->known = known != m ? known : NULL;
}

void merge_init(merge_set *m)
{
    memset(m, 0, sizeof *m);
    hist_init(&m->all.lat);
    hist_init(&m->all.svc);
    hist_init(&m->sched.lag);
    merge_copy(m->all.name, sizeof m->all.name, "Aggregated");   /* Locust's total row */
}

void merge_entry_fini(merge_entry *e)
{
    if (e != NULL) {
        hist_fini(&e->lat);
        hist_fini(&e->svc);
    }
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
    free(m->fold_set);
    hist_fini(&m->sched.lag);
    merge_init(m);
}

static void merge_entry_zero(merge_entry *e)
{
    e->requests = e->failures = e->bytes = 0;
    hist_reset(&e->lat);
    hist_reset(&e->svc);
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
    m->sched.intended = m->sched.started = m->sched.dropped = 0;
    m->sched.backlog_max = 0;
    m->sched.cpu_us = m->sched.wall_us = 0;
    hist_reset(&m->sched.lag);
    m->cpu_max = 0;
    m->limited_intervals = 0;
    m->names_folded = m->shard_folded = m->folds_here = 0;
    if (m->fold_set != NULL)
        memset(m->fold_set, 0, MERGE_FOLD_SLOTS * sizeof *m->fold_set);
}

/* 64-bit FNV-1a of (method, name); never 0 (0 marks an empty fold slot). */
static uint64_t merge_hash64(const char *method, const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *p = method;; p++) {
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
        if (*p == '\0')
            break;
    }
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    return h ? h : 1;
}

static void merge_note_folded(merge_set *m)
{
    m->names_folded = m->shard_folded > m->folds_here ? m->shard_folded : m->folds_here;
}

/* Counts hash h in folds_here the first time it is seen (while the set has room). */
static void merge_fold_count(merge_set *m, uint64_t h)
{
    if (m->fold_set == NULL) {
        m->fold_set = calloc(MERGE_FOLD_SLOTS, sizeof *m->fold_set);
        if (m->fold_set == NULL)
            return;                             /* the count stays a lower bound */
    }
    if (m->folds_here >= MERGE_FOLD_SLOTS / 4 * 3)
        return;
    uint32_t i = (uint32_t)h & (MERGE_FOLD_SLOTS - 1);
    for (; m->fold_set[i] != 0; i = (i + 1) & (MERGE_FOLD_SLOTS - 1))
        if (m->fold_set[i] == h)
            return;
    m->fold_set[i] = h;
    m->folds_here++;
    merge_note_folded(m);
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

/* The entry (method, name) as stored (mb, nb: copies cut and cleaned): the row it
 * names, or 0 when absent. */
static uint32_t merge_lookup(const merge_set *m, const char *mb, const char *nb)
{
    return m->ent_index != NULL ? m->ent_index[merge_ent_slot(m, mb, nb)] : 0;
}

/* Where a new (method, name) goes under the cap (merge.h): false when it is admitted
 * as it is, true with mb/nb rewritten to its overflow entry. */
static bool merge_fold_key(merge_set *m, char *mb, char *nb)
{
    if (m->name_cap == 0)
        return false;
    if (merge_is_overflow(nb)) {
        if (m->overflows < MERGE_OVERFLOW_MAX || merge_is_iter(mb))
            return false;
    } else {
        if (m->named < m->name_cap)
            return false;
        if (m->known != NULL && merge_lookup(m->known, mb, nb) != 0)
            return false;
        merge_fold_count(m, merge_hash64(mb, nb));
        if (!stats_is_ws_method(mb) && !merge_is_iter(mb))
            merge_copy(mb, STATS_METHOD_MAX, "*");
        merge_copy(nb, STATS_NAME_MAX, STATS_OVERFLOW_NAME);
        if (merge_lookup(m, mb, nb) != 0 || m->overflows < MERGE_OVERFLOW_MAX ||
            merge_is_iter(mb))
            return true;
    }
    merge_copy(mb, STATS_METHOD_MAX, "*");      /* out of overflow entries */
    merge_copy(nb, STATS_NAME_MAX, STATS_OVERFLOW_NAME);
    return true;
}

/* The entry (method, name), appended (zeroed) when new, or the overflow entry it folds
 * into; NULL on ENOMEM. */
static merge_entry *merge_entry_get(merge_set *m, const char *method, const char *name)
{
    char mb[STATS_METHOD_MAX], nb[STATS_NAME_MAX];
    merge_copy(mb, sizeof mb, method);
    merge_copy(nb, sizeof nb, name);
    uint32_t v = merge_lookup(m, mb, nb);
    if (v == 0 && merge_fold_key(m, mb, nb))
        v = merge_lookup(m, mb, nb);
    if (v != 0)
        return &m->entries[v - 1];
    if (merge_ent_reserve(m) != 0)
        return NULL;
    if (merge_is_overflow(nb))
        m->overflows++;
    else
        m->named++;
    merge_entry *e = &m->entries[m->n];
    memset(e, 0, sizeof *e);
    memcpy(e->method, mb, sizeof mb);
    memcpy(e->name, nb, sizeof nb);
    e->fig = stats_fig_of(e->method, &e->close_code);  /* read once, here */
    hist_init(&e->lat);
    hist_init(&e->svc);
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
    if (m->name_cap != 0 && merge_lookup(m, mb, nb) == 0) {
        /* its entry was folded: the error follows it (merge.h) */
        bool keep = stats_is_ws_method(mb) || merge_is_iter(mb);
        merge_copy(nb, sizeof nb, STATS_OVERFLOW_NAME);
        if (!keep || merge_lookup(m, mb, nb) == 0)
            merge_copy(mb, sizeof mb, "*");
    }
    for (int pass = 0; pass < 2; pass++) {
        if (m->err_index != NULL) {
            uint32_t v = m->err_index[merge_err_slot(m, mb, nb, kind, db)];
            if (v != 0) {
                m->errs[v - 1].count += count;
                return 0;
            }
        }
        if (m->name_cap == 0 || m->nerrs < MERGE_ERR_CAP(m->name_cap) || pass == 1)
            break;
        merge_copy(mb, sizeof mb, "*");         /* too many error rows: one more at most */
        merge_copy(nb, sizeof nb, STATS_OVERFLOW_NAME);
        merge_copy(db, sizeof db, MERGE_MORE_ERRORS);
        kind = ERR_OTHER;
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

int merge_add_err(merge_set *m, const char *method, const char *name, stats_err_kind kind,
                  const char *detail, uint64_t count)
{
    return merge_err_addn(m, method, name, kind < ERR_KIND_COUNT ? kind : ERR_OTHER, detail, count);
}

/* dst += counters and histograms of one row (svc: see the top). */
static int merge_entry_add(merge_entry *dst, const stats_row *src)
{
    int rv = 0;
    if (src->svc.total > 0 || dst->svc.total > 0) {
        if (dst->svc.total == 0 && dst->lat.total > 0 && hist_add(&dst->svc, &dst->lat) != 0)
            rv = -1;
        if (hist_add(&dst->svc, stats_row_svc(src)) != 0)
            rv = -1;
    }
    dst->requests += src->requests;
    dst->failures += src->failures;
    dst->bytes += src->bytes;
    return hist_add(&dst->lat, &src->lat) != 0 ? -1 : rv;
}

static uint32_t merge_add_u32(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

/* The counts, times and lag of src into dst (backlog_max is the caller's). */
static int merge_sched_add(stats_sched *dst, const stats_sched *src)
{
    dst->intended += src->intended;
    dst->started += src->started;
    dst->dropped += src->dropped;
    dst->cpu_us += src->cpu_us;
    dst->wall_us += src->wall_us;
    return src->lag.total ? hist_add(&dst->lag, &src->lag) : 0;
}

int merge_add(merge_set *m, const proto_stats *d)
{
    int rv = 0;
    for (uint32_t i = 0; i < d->nentries; i++) {
        const proto_stats_entry *s = &d->entries[i];
        merge_entry *e = merge_entry_get(m, s->method, s->name);
        if (e == NULL)
            return -1;
        if (merge_entry_add(e, s) != 0)
            rv = -1;
        if (stats_fig_is_http(e->fig) && merge_entry_add(&m->all, s) != 0)
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
    if (merge_sched_add(&m->sched, &d->sched) != 0)
        rv = -1;
    m->sched.backlog_max = merge_add_u32(m->sched.backlog_max, d->sched.backlog_max);
    if (d->sched.wall_us >= STATS_LOAD_MIN_WALL_US) {   /* a final delta cut short: no load */
        double load = (double)d->sched.cpu_us / (double)d->sched.wall_us;
        if (load > m->cpu_max)
            m->cpu_max = load;
    }
    if (d->names_folded > m->shard_folded)
        m->shard_folded = d->names_folded;
    merge_note_folded(m);
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
        if (merge_entry_add(e, s) != 0)
            rv = -1;
    }
    /* HTTP rows only, as merge_add sums them */
    if (merge_entry_add(&m->all, &other->all) != 0)
        rv = -1;
    for (uint32_t i = 0; i < other->nerrs; i++) {
        const merge_err *s = &other->errs[i];
        if (merge_err_addn(m, s->method, s->name, s->kind, s->detail, s->count) != 0)
            return -1;
    }
    m->cancelled += other->cancelled;
    if (merge_sched_add(&m->sched, &other->sched) != 0)
        rv = -1;
    if (other->sched.backlog_max > m->sched.backlog_max)
        m->sched.backlog_max = other->sched.backlog_max;
    if (other->cpu_max > m->cpu_max)
        m->cpu_max = other->cpu_max;
    m->limited_intervals += other->limited_intervals;
    for (uint32_t i = 0; other->fold_set != NULL && i < MERGE_FOLD_SLOTS; i++)
        if (other->fold_set[i] != 0)            /* the names other folded, as distinct */
            merge_fold_count(m, other->fold_set[i]);
    if (other->names_folded > m->shard_folded)  /* other's bound, its shards' included */
        m->shard_folded = other->names_folded;
    merge_note_folded(m);
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
int merge_fill_dense(merge_set *m)
{
    int rv = 0;
    for (uint32_t i = 0; i < m->n; i++)
        if (hist_fill(&m->entries[i].lat) != 0 || hist_fill(&m->entries[i].svc) != 0) rv = -1;
    if (hist_fill(&m->all.lat) != 0 || hist_fill(&m->all.svc) != 0 || hist_fill(&m->sched.lag) != 0)
        rv = -1;
    return rv;
}

int merge_by_name(const merge_set *m, const char *name, merge_entry *out)
{
    memset(out, 0, sizeof *out);
    hist_init(&out->lat);
    hist_init(&out->svc);
    merge_copy(out->name, sizeof out->name, name ? name : "");
    int found = 0, rv = 0;
    for (uint32_t i = 0; name != NULL && i < m->n; i++) {
        const merge_entry *e = &m->entries[i];
        if (strcmp(e->name, name) != 0 || !stats_fig_is_http(e->fig))
            continue;
        if (found == 0)
            memcpy(out->method, e->method, sizeof out->method);
        else if (strcmp(out->method, e->method) != 0)
            merge_copy(out->method, sizeof out->method, "*");
        found++;
        if (merge_entry_add(out, e) != 0)
            rv = -1;
    }
    return rv ? rv : found;
}
