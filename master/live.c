/* The dashboard's JSON and the Prometheus text: see master/live.h.
 *
 * Decisions the header leaves open, written down here:
 * - "run_id" is the run id in decimal (as /api/runs and /api/series write it), null
 *   before any run. "scenario" is null when unknown; "out_dir" is always a string ("" until
 *   the run's folder exists). "requests"/"failures" are the HTTP totals (merge_set.all),
 *   the coordinator's status figures when no totals are given.
 * - Latencies of a name are the whole run's, from the merged histogram as
 *   master/results.c computes them: hist_percentile / 1000 (ms, no rounding), the exact
 *   mean and max; all 0 for a name without requests.
 * - "names": when more than LIVE_MAX_NAMES rows qualify, the busiest (most requests;
 *   ties by name, then method) are kept. Rows are then in stats.csv's order: HTTP rows by
 *   (name, method), then the "WS" rows by name. No Aggregated row: the top level carries
 *   the totals.
 * - "errors" keeps each row's own method ("WS:connect" tells a connection error from a
 *   message one), as summary.json does; rows with a zero count are skipped; ties in count
 *   are ordered by (name, method, kind, detail), so the list does not shuffle between
 *   polls.
 * - Thresholds are judged with elapsed_s as the duration; a value without data (NaN) is
 *   null. With a scenario but no totals yet they are judged on an empty set (so they are
 *   listed, failing with null).
 * - JSON has no NaN or infinity: a non-finite number (a worker's cpu_pct before its first
 *   heartbeat, say) is written as null. Reals are printed with 15 significant digits.
 * - Text that is not valid UTF-8 (names come from URLs, which data files feed) is made
 *   valid, one-to-one, the same way in both outputs (live_clean): jansson refuses
 *   invalid strings and Prometheus such label values, and two names must not end up
 *   as one series.
 *
 * Prometheus: see master/live_metrics.c.
 *
 * The open model (issue 11):
 * - The schedule's whole-run figures (intended, started, dropped, backlog_max, the lag
 *   histogram) come from the totals (merge_set.sched) when given, else from the status;
 *   limited_intervals is the larger of the totals' and the status's (the coordinator
 *   may keep it in either). The last interval's rates and lag p99 come from the status.
 * - Every name row carries service_p95_ms (equal to p95_ms in the closed model, where
 *   svc is empty: stats_row_svc); the dashboard shows it in the open model only.
 * - stampede_schedule_lag_seconds is a summary over the whole run (as the request
 *   summaries are); the last interval's p99 is the gauge
 *   stampede_schedule_lag_p99_seconds. stampede_iterations_*_total{} without labels are
 *   the schedule's arrivals; per profile, stampede_iteration_duration_seconds{profile}. */
#include "master/live.h"
#include "master/live_int.h"
#include "master/thresholds.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- shared ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes there are not one
 * (stray continuation, overlong form, surrogate, above U+10FFFF, cut short by the NUL). */
static int live_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)              /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}


bool live_reserve(live_buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void live_putn(live_buf *b, const char *s, size_t n)
{
    if (!live_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void live_puts(live_buf *b, const char *s)
{
    live_putn(b, s, strlen(s));
}

void live_printf(live_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        live_putn(b, tmp, (size_t)n);
        return;
    }
    if (!live_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

#define LIVE_FFFD "\xEF\xBF\xBD"            /* U+FFFD REPLACEMENT CHARACTER */

/* Appends s as valid UTF-8, one-to-one so that distinct names stay distinct (two rows
 * must never share a label set): a byte that starts no valid sequence becomes U+FFFD
 * and its two lower-case hex digits, a genuine U+FFFD becomes U+FFFD "u"; all else is
 * copied. A valid name without U+FFFD (every name but odd ones) comes out unchanged.
 * label: also escape \ " and newline as the Prometheus text format wants. */
void live_clean(live_buf *b, const char *s, bool label)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        int n = live_utf8_len(p);
        if (n == 0) {
            live_printf(b, LIVE_FFFD "%02x", *p);
            p++;
        } else if (n == 3 && memcmp(p, LIVE_FFFD, 3) == 0) {
            live_puts(b, LIVE_FFFD "u");
            p += 3;
        } else if (label && *p == '\\') {
            live_puts(b, "\\\\");
            p++;
        } else if (label && *p == '"') {
            live_puts(b, "\\\"");
            p++;
        } else if (label && *p == '\n') {
            live_puts(b, "\\n");
            p++;
        } else {
            live_putn(b, (const char *)p, (size_t)n);
            p += n;
        }
    }
}

void live_run_id(char *buf, size_t cap, uint64_t run_id)
{
    snprintf(buf, cap, "%" PRIu64, run_id);
}

/* Entries sort by (name, method), as stats.csv. */
int live_cmp_entry(const void *a, const void *b)
{
    const merge_entry *x = *(const merge_entry *const *)a, *y = *(const merge_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->method, y->method);
}

/* The dashboard's row order: HTTP rows, then the "WS" rows; each by (name, method). */
static int live_cmp_row(const void *a, const void *b)
{
    const merge_entry *x = *(const merge_entry *const *)a, *y = *(const merge_entry *const *)b;
    int wx = stats_fig_is_ws(x->fig), wy = stats_fig_is_ws(y->fig);
    if (wx != wy)
        return wx - wy;
    return live_cmp_entry(a, b);
}

/* Busiest first; ties in (name, method) order. */
static int live_cmp_busy(const void *a, const void *b)
{
    const merge_entry *x = *(const merge_entry *const *)a, *y = *(const merge_entry *const *)b;
    if (x->requests != y->requests)
        return x->requests > y->requests ? -1 : 1;
    return live_cmp_entry(a, b);
}

/* Most frequent first; ties by (name, method, kind, detail). */
static int live_cmp_err(const void *a, const void *b)
{
    const merge_err *x = *(const merge_err *const *)a, *y = *(const merge_err *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c == 0)
        c = strcmp(x->method, y->method);
    if (c == 0)
        c = (int)x->kind - (int)y->kind;
    return c ? c : strcmp(x->detail, y->detail);
}

/* Pointers to the entries of m for which keep() holds, sorted by cmp (caller frees).
 * *n gets the count. NULL on ENOMEM (an empty result is a valid 1-slot allocation). */
const merge_entry **live_pick(const merge_set *m, bool (*keep)(const merge_entry *),
                              int (*cmp)(const void *, const void *), uint32_t *n)
{
    uint32_t total = m != NULL ? m->n : 0;
    const merge_entry **v = malloc(((size_t)total + 1) * sizeof *v);
    *n = 0;
    if (v == NULL)
        return NULL;
    for (uint32_t i = 0; i < total; i++)
        if (keep(&m->entries[i]))
            v[(*n)++] = &m->entries[i];
    qsort(v, *n, sizeof *v, cmp);
    return v;
}

bool live_is_http(const merge_entry *e)
{
    return stats_fig_is_http(e->fig);
}

bool live_is_ws(const merge_entry *e)
{
    return stats_fig_is_ws(e->fig);
}

bool live_is_iter(const merge_entry *e)
{
    return e->fig == STATS_FIG_ITERATION;
}

/* A stats.csv row: an HTTP entry, or a ws connection's "WS" (message latency) entry. */
static bool live_is_row(const merge_entry *e)
{
    return stats_fig_is_http(e->fig) || e->fig == STATS_FIG_WS_MESSAGE;
}

/* ---- live_json -------------------------------------------------------------------- */

/* Collects allocation failures while a JSON tree is built, so one check at the end
 * decides between the text and NULL. */
typedef struct live_jb {
    bool ok;
} live_jb;

static void live_jset(live_jb *b, json_t *o, const char *key, json_t *v)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0)
        b->ok = false;                          /* set_new released v */
}

static void live_jappend(live_jb *b, json_t *arr, json_t *v)
{
    if (arr == NULL || v == NULL || json_array_append_new(arr, v) != 0)
        b->ok = false;
}

static json_t *live_jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *live_juint(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

/* A JSON string of s (null for NULL), cleaned as the metrics' labels are. */
static json_t *live_jstr(const char *s)
{
    if (s == NULL)
        return json_null();
    if (strstr(s, LIVE_FFFD) == NULL) {
        json_t *j = json_string(s);             /* NULL: not valid UTF-8 */
        if (j != NULL)
            return j;
    }
    live_buf t = { 0 };
    live_clean(&t, s, false);
    json_t *j = t.oom ? NULL : json_string(t.p ? t.p : "");
    free(t.p);
    return j;
}

static json_t *live_jname_row(live_jb *b, const merge_entry *e, double elapsed_s)
{
    const hist *h = &e->lat;
    bool any = e->requests > 0 && h->total > 0;
    json_t *o = json_object();
    live_jset(b, o, "method", live_jstr(e->method));
    live_jset(b, o, "name", live_jstr(e->name));
    live_jset(b, o, "requests", live_juint(e->requests));
    live_jset(b, o, "failures", live_juint(e->failures));
    live_jset(b, o, "median_ms", json_real(any ? (double)hist_percentile(h, 50) / 1000.0 : 0.0));
    live_jset(b, o, "p95_ms", json_real(any ? (double)hist_percentile(h, 95) / 1000.0 : 0.0));
    live_jset(b, o, "p99_ms", json_real(any ? (double)hist_percentile(h, 99) / 1000.0 : 0.0));
    live_jset(b, o, "max_ms", json_real(any ? (double)h->max_us / 1000.0 : 0.0));
    live_jset(b, o, "avg_ms", json_real(any ? hist_mean(h) / 1000.0 : 0.0));
    live_jset(b, o, "rps", live_jreal(elapsed_s > 0 ? (double)e->requests / elapsed_s : 0.0));
    const hist *sv = stats_row_svc(e);
    live_jset(b, o, "service_p95_ms",
              json_real(sv->total > 0 ? (double)hist_percentile(sv, 95) / 1000.0 : 0.0));
    return o;
}

/* "iterations": one row per profile (ITER rows, by name), whole run. */
static json_t *live_jiterations(live_jb *b, const merge_set *t)
{
    json_t *arr = json_array();
    uint32_t n;
    const merge_entry **rows = live_pick(t, live_is_iter, live_cmp_entry, &n);
    if (rows == NULL) {
        b->ok = false;
        return arr;
    }
    for (uint32_t i = 0; i < n; i++) {
        const hist *h = &rows[i]->lat;
        bool any = h->total > 0;
        json_t *o = json_object();
        live_jset(b, o, "profile", live_jstr(rows[i]->name));
        live_jset(b, o, "count", live_juint(rows[i]->requests));
        live_jset(b, o, "failures", live_juint(rows[i]->failures));
        live_jset(b, o, "p95_ms", json_real(any ? (double)hist_percentile(h, 95) / 1000.0 : 0.0));
        live_jset(b, o, "p99_ms", json_real(any ? (double)hist_percentile(h, 99) / 1000.0 : 0.0));
        live_jappend(b, arr, o);
    }
    free(rows);
    return arr;
}

/* The whole-run schedule figures (see the decisions above). */
live_sched live_sched_of(const coord_status *st, const merge_set *t)
{
    live_sched s = { st->intended, st->started, st->dropped, st->limited_intervals,
                     st->backlog_max, NULL };
    if (t != NULL) {
        s.intended = t->sched.intended;
        s.started = t->sched.started;
        s.dropped = t->sched.dropped;
        s.backlog_max = t->sched.backlog_max;
        s.lag = &t->sched.lag;
        if (t->limited_intervals > s.limited)
            s.limited = t->limited_intervals;
    }
    return s;
}

/* "schedule": the open model's figures (both models: the closed one has zeros there
 * but for limited_intervals). */
static json_t *live_jschedule(live_jb *b, const coord_status *st, const merge_set *t)
{
    live_sched s = live_sched_of(st, t);
    json_t *o = json_object();
    live_jset(b, o, "model", json_string(st->open_model ? "open" : "closed"));
    live_jset(b, o, "intended", live_juint(s.intended));
    live_jset(b, o, "started", live_juint(s.started));
    live_jset(b, o, "dropped", live_juint(s.dropped));
    live_jset(b, o, "backlog_max", json_integer(s.backlog_max));
    live_jset(b, o, "rate_planned", live_jreal(st->rate_planned));
    live_jset(b, o, "rate_achieved", live_jreal(st->rate_achieved));
    live_jset(b, o, "lag_p99_ms", live_jreal(st->lag_p99_ms));
    live_jset(b, o, "generator_limited_intervals", live_juint(s.limited));
    return o;
}

/* "names": the busiest LIVE_MAX_NAMES rows, shown in stats.csv order. */
static json_t *live_jnames(live_jb *b, const merge_set *t, double elapsed_s)
{
    json_t *arr = json_array();
    uint32_t n;
    const merge_entry **rows = live_pick(t, live_is_row, live_cmp_busy, &n);
    if (rows == NULL) {
        b->ok = false;
        return arr;
    }
    if (n > LIVE_MAX_NAMES)
        n = LIVE_MAX_NAMES;
    qsort(rows, n, sizeof *rows, live_cmp_row);
    for (uint32_t i = 0; i < n; i++)
        live_jappend(b, arr, live_jname_row(b, rows[i], elapsed_s));
    free(rows);
    return arr;
}

static json_t *live_jerrors(live_jb *b, const merge_set *t)
{
    json_t *arr = json_array();
    if (t == NULL)
        return arr;
    const merge_err **v = malloc(((size_t)t->nerrs + 1) * sizeof *v);
    if (v == NULL) {
        b->ok = false;
        return arr;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->nerrs; i++)
        if (t->errs[i].count > 0)
            v[n++] = &t->errs[i];
    qsort(v, n, sizeof *v, live_cmp_err);
    for (uint32_t i = 0; i < n && i < LIVE_MAX_ERRORS; i++) {
        json_t *o = json_object();
        live_jset(b, o, "method", live_jstr(v[i]->method));
        live_jset(b, o, "name", live_jstr(v[i]->name));
        live_jset(b, o, "kind", live_jstr(stats_err_kind_name(v[i]->kind)));
        live_jset(b, o, "detail", live_jstr(v[i]->detail));
        live_jset(b, o, "count", live_juint(v[i]->count));
        live_jappend(b, arr, o);
    }
    free(v);
    return arr;
}

static json_t *live_jthresholds(live_jb *b, const live_input *in, double elapsed_s)
{
    json_t *arr = json_array();
    const scenario *sc = in->sc;
    if (sc == NULL || sc->nthresholds <= 0)
        return arr;
    th_result *res = calloc((size_t)sc->nthresholds, sizeof *res);
    if (res == NULL) {
        b->ok = false;
        return arr;
    }
    merge_set empty;
    merge_init(&empty);
    thresholds_eval(sc, in->totals != NULL ? in->totals : &empty, elapsed_s, res);
    if (in->monitor != NULL)
        thresholds_eval_monitor(sc, in->monitor, res);
    for (int i = 0; i < sc->nthresholds; i++) {
        json_t *o = json_object();
        live_jset(b, o, "expr", live_jstr(res[i].th->expr));
        live_jset(b, o, "ok", json_boolean(res[i].ok));
        live_jset(b, o, "value", live_jreal(res[i].value));
        if (res[i].note[0] != '\0')
            live_jset(b, o, "note", live_jstr(res[i].note));
        live_jappend(b, arr, o);
    }
    merge_fini(&empty);
    free(res);
    return arr;
}

static json_t *live_jworkers(live_jb *b, const live_input *in)
{
    json_t *arr = json_array();
    for (int i = 0; in->workers != NULL && i < in->nworkers; i++) {
        const coord_worker_info *w = &in->workers[i];
        json_t *o = json_object();
        live_jset(b, o, "id", live_jstr(w->id));
        live_jset(b, o, "host", live_jstr(w->host));
        live_jset(b, o, "threads", json_integer(w->threads));
        live_jset(b, o, "users", json_integer(w->users));
        live_jset(b, o, "rps", live_jreal(w->rps));
        live_jset(b, o, "cpu_pct", live_jreal(w->cpu_pct));
        /* its health in its last closed interval (master/health.h), null before one */
        live_jset(b, o, "engine_cpu_pct", w->has_health ? live_jreal(w->engine_cpu_pct) : json_null());
        live_jset(b, o, "rss_mib", w->has_health ? live_jreal(w->rss_mib) : json_null());
        live_jset(b, o, "loop_lag_ms", w->has_health ? live_jreal(w->loop_lag_ms) : json_null());
        live_jset(b, o, "connections", w->has_health ? json_integer(w->conns) : json_null());
        live_jset(b, o, "flagged", json_boolean(w->has_health && w->flagged));
        live_jset(b, o, "flagged_intervals", json_integer((json_int_t)w->flagged_intervals));
        live_jset(b, o, "retries", json_integer((json_int_t)w->retries));  /* issue 15 */
        live_jset(b, o, "state", live_jstr(w->state));
        live_jset(b, o, "last_seen_s", live_jreal(w->last_seen_s));
        live_jappend(b, arr, o);
    }
    return arr;
}

char *live_json(const live_input *in)
{
    static const coord_status idle = { .state = RUN_IDLE };
    const coord_status *st = in->st != NULL ? in->st : &idle;
    const merge_set *t = in->totals;
    live_jb b = { .ok = true };
    double elapsed_s = st->elapsed_s;
    uint64_t requests = t != NULL ? t->all.requests : st->requests;
    uint64_t failures = t != NULL ? t->all.failures : st->failures;
    char id[LIVE_RUN_ID_LEN];
    live_run_id(id, sizeof id, st->run_id);

    json_t *root = json_object();
    live_jset(&b, root, "run_id", st->run_id ? json_string(id) : json_null());
    live_jset(&b, root, "state", live_jstr(coord_state_name(st->state)));
    live_jset(&b, root, "scenario", live_jstr(in->scenario));
    live_jset(&b, root, "elapsed_s", live_jreal(elapsed_s));
    live_jset(&b, root, "users", json_integer(st->users));
    live_jset(&b, root, "rps", live_jreal(st->rps));
    live_jset(&b, root, "requests", live_juint(requests));
    live_jset(&b, root, "failures", live_juint(failures));
    live_jset(&b, root, "error_rate",
              json_real(requests ? (double)failures / (double)requests : 0.0));
    live_jset(&b, root, "out_dir", live_jstr(st->out_dir));
    live_jset(&b, root, "open_model", json_boolean(st->open_model));
    live_jset(&b, root, "schedule", live_jschedule(&b, st, t));
    live_jset(&b, root, "names", live_jnames(&b, t, elapsed_s));
    /* "total": the Aggregated row (every HTTP request, `all`), the same keys as a name
     * row, so the dashboard shows its latencies (issue 12); null before a run. */
    live_jset(&b, root, "total", t != NULL ? live_jname_row(&b, &t->all, elapsed_s) : json_null());
    live_jset(&b, root, "iterations", live_jiterations(&b, t));
    live_jset(&b, root, "errors", live_jerrors(&b, t));
    live_jset(&b, root, "thresholds", live_jthresholds(&b, in, elapsed_s));
    live_jset(&b, root, "workers", live_jworkers(&b, in));
    json_t *mon = in->monitor_json != NULL ? json_loads(in->monitor_json, 0, NULL) : NULL;
    live_jset(&b, root, "monitor", mon != NULL ? mon : json_null());
    char *text = NULL;
    if (b.ok && root != NULL)
        text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(root);
    return text;
}

/* Decision: the member goes first, so that the splice needs no parse of the (up to
 * LIVE_MAX_NAMES rows) text and costs one copy per GET /api/live. */
char *live_mark_local(char *json, bool local)
{
    if (json == NULL)
        return NULL;
    size_t n = strlen(json);
    if (n < 2 || json[0] != '{')
        return json;                            /* not live_json's object: as it was */
    const char *member = local ? "\"local\":true" : "\"local\":false";
    size_t m = strlen(member);
    bool empty = json[1] == '}';
    char *out = malloc(n + m + 2);
    if (out == NULL) {
        free(json);
        return NULL;
    }
    out[0] = '{';
    memcpy(out + 1, member, m);
    size_t k = 1 + m;
    if (!empty)
        out[k++] = ',';
    memcpy(out + k, json + 1, n);               /* the rest and its NUL */
    free(json);
    return out;
}
