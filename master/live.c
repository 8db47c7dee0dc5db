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
 * Prometheus:
 * - Families are written in the header's order, each as HELP, TYPE, then its samples;
 *   a family without samples (no run yet, no WebSocket names) keeps its HELP and TYPE.
 * - Per-name families list every HTTP entry (the name cap bounds them), sorted by
 *   (name, method); WebSocket families one row per connection name (any "WS..." entry),
 *   zeros when that name lacks the figure, so the series set stays the same all run.
 * - stampede_ws_connects_total counts connections opened (attempts - failures), equal to
 *   summary.json's ws "connects".
 * - A summary's quantiles are NaN while it has no observation; _sum is the histogram's
 *   exact sum in seconds, _count its number of observations.
 * - stampede_errors_total lists every error kind, 0 included (a stable series set for
 *   rate()); stampede_workers lists the states the workers are in.
 * - Integer counters are printed as integers; other values as the shortest decimal that
 *   reads back to the same double, "NaN", "+Inf" or "-Inf". */
#include "master/live.h"
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

#define LIVE_RUN_ID_LEN 24

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

/* A growing text buffer; a failed allocation sets oom and later appends do nothing. */
typedef struct live_buf {
    char  *p;
    size_t len, cap;
    bool   oom;
} live_buf;

static bool live_reserve(live_buf *b, size_t more)
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

static void live_putn(live_buf *b, const char *s, size_t n)
{
    if (!live_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void live_puts(live_buf *b, const char *s)
{
    live_putn(b, s, strlen(s));
}

static void live_printf(live_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void live_printf(live_buf *b, const char *fmt, ...)
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
static void live_clean(live_buf *b, const char *s, bool label)
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

static void live_run_id(char *buf, size_t cap, uint64_t run_id)
{
    snprintf(buf, cap, "%" PRIu64, run_id);
}

/* Entries sort by (name, method), as stats.csv. */
static int live_cmp_entry(const void *a, const void *b)
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
static const merge_entry **live_pick(const merge_set *m, bool (*keep)(const merge_entry *),
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

static bool live_is_http(const merge_entry *e)
{
    return stats_fig_is_http(e->fig);
}

static bool live_is_ws(const merge_entry *e)
{
    return stats_fig_is_ws(e->fig);
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
    for (int i = 0; i < sc->nthresholds; i++) {
        json_t *o = json_object();
        live_jset(b, o, "expr", live_jstr(res[i].th->expr));
        live_jset(b, o, "ok", json_boolean(res[i].ok));
        live_jset(b, o, "value", live_jreal(res[i].value));
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
    live_jset(&b, root, "names", live_jnames(&b, t, elapsed_s));
    live_jset(&b, root, "errors", live_jerrors(&b, t));
    live_jset(&b, root, "thresholds", live_jthresholds(&b, in, elapsed_s));
    live_jset(&b, root, "workers", live_jworkers(&b, in));
    char *text = NULL;
    if (b.ok && root != NULL)
        text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(root);
    return text;
}

/* ---- live_metrics ----------------------------------------------------------------- */

/* # HELP and # TYPE of one family (help texts are ours: nothing to escape). */
static void live_family(live_buf *b, const char *name, const char *type, const char *help)
{
    live_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value between quotes, cleaned and escaped (live_clean). */
static void live_label_value(live_buf *b, const char *s)
{
    live_putn(b, "\"", 1);
    live_clean(b, s, true);
    live_putn(b, "\"", 1);
}

/* A float as Prometheus (Go's ParseFloat) reads it: the shortest %g that reads back to
 * the same double; NaN, +Inf, -Inf spelled as Prometheus does. */
static void live_float(live_buf *b, double v)
{
    if (isnan(v)) {
        live_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        live_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char t[48];
    int p;
    for (p = 1; p < 17; p++) {                  /* significant digits needed */
        snprintf(t, sizeof t, "%.*e", p - 1, v);
        if (strtod(t, NULL) == v)
            break;
    }
    snprintf(t, sizeof t, "%.*e", p - 1, v);
    int exp10 = atoi(strchr(t, 'e') + 1);
    if (exp10 >= -5 && exp10 < 17) {            /* positional: 86400, 0.1, 0.000123 */
        int dec = p - 1 - exp10;
        snprintf(t, sizeof t, "%.*f", dec > 0 ? dec : 0, v);
    }
    live_puts(b, t);
}

/* Labels of one sample: pairs of (name, value), n pairs, plus an optional quantile
 * (the text "0.5"...; NULL for none). Writes "{a="x",b="y"}" or nothing when empty. */
static void live_labels(live_buf *b, const char *const *kv, int n, const char *quantile)
{
    if (n == 0 && quantile == NULL)
        return;
    live_putn(b, "{", 1);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            live_putn(b, ",", 1);
        live_puts(b, kv[2 * i]);
        live_putn(b, "=", 1);
        live_label_value(b, kv[2 * i + 1]);
    }
    if (quantile != NULL)
        live_printf(b, "%squantile=\"%s\"", n > 0 ? "," : "", quantile);
    live_putn(b, "}", 1);
}

static void live_sample_u(live_buf *b, const char *name, const char *const *kv, int n, uint64_t v)
{
    live_puts(b, name);
    live_labels(b, kv, n, NULL);
    live_printf(b, " %" PRIu64 "\n", v);
}

static void live_sample_f(live_buf *b, const char *name, const char *const *kv, int n, double v)
{
    live_puts(b, name);
    live_labels(b, kv, n, NULL);
    live_putn(b, " ", 1);
    live_float(b, v);
    live_putn(b, "\n", 1);
}

/* One label set of a summary in seconds: quantiles 0.5 0.9 0.95 0.99 (NaN while empty),
 * then NAME_sum and NAME_count. h may be NULL (no observations). */
static void live_summary(live_buf *b, const char *name, const char *const *kv, int n, const hist *h)
{
    static const struct { const char *text; double p; } q[] = {
        { "0.5", 50 }, { "0.9", 90 }, { "0.95", 95 }, { "0.99", 99 },
    };
    bool any = h != NULL && h->total > 0;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        live_puts(b, name);
        live_labels(b, kv, n, q[i].text);
        live_putn(b, " ", 1);
        live_float(b, any ? (double)hist_percentile(h, q[i].p) / 1e6 : NAN);
        live_putn(b, "\n", 1);
    }
    char nm[96];
    snprintf(nm, sizeof nm, "%s_sum", name);
    live_sample_f(b, nm, kv, n, h != NULL ? (double)h->sum_us / 1e6 : 0.0);
    snprintf(nm, sizeof nm, "%s_count", name);
    live_sample_u(b, nm, kv, n, h != NULL ? h->total : 0);
}

/* The figures of one WebSocket connection name, gathered from its entries. */
typedef struct live_ws {
    const char *name;
    const merge_entry *message, *connect, *sent, *recv;
} live_ws;

/* Groups the sorted ws entries by name into out (capacity n); returns the count. */
static uint32_t live_ws_groups(const merge_entry **ws, uint32_t n, live_ws *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const merge_entry *e = ws[i];
        if (k == 0 || strcmp(out[k - 1].name, e->name) != 0)
            out[k++] = (live_ws){ .name = e->name };
        live_ws *g = &out[k - 1];
        switch (e->fig) {
        case STATS_FIG_WS_MESSAGE: g->message = e; break;
        case STATS_FIG_WS_CONNECT: g->connect = e; break;
        case STATS_FIG_WS_SENT:    g->sent = e; break;
        case STATS_FIG_WS_RECV:    g->recv = e; break;
        default: break;
        }
    }
    return k;
}

/* The per-name HTTP families. */
static void live_m_http(live_buf *b, const merge_entry **http, uint32_t n)
{
    live_family(b, "stampede_requests_total", "counter",
                "HTTP requests completed, failures included, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_requests_total", kv, 2, http[i]->requests);
    }
    live_family(b, "stampede_request_failures_total", "counter",
                "HTTP requests that failed, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_request_failures_total", kv, 2, http[i]->failures);
    }
    live_family(b, "stampede_response_bytes_total", "counter",
                "HTTP response body bytes received, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_response_bytes_total", kv, 2, http[i]->bytes);
    }
    live_family(b, "stampede_request_duration_seconds", "summary",
                "HTTP request latency over the whole run, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_summary(b, "stampede_request_duration_seconds", kv, 2, &http[i]->lat);
    }
}

/* stampede_errors_total{kind}: every kind, summed over all names. */
static void live_m_errors(live_buf *b, const merge_set *t)
{
    uint64_t by_kind[ERR_KIND_COUNT] = { 0 };
    uint64_t unknown = 0;
    for (uint32_t i = 0; t != NULL && i < t->nerrs; i++) {
        const merge_err *e = &t->errs[i];
        if ((unsigned)e->kind < ERR_KIND_COUNT)
            by_kind[e->kind] += e->count;
        else
            unknown += e->count;
    }
    by_kind[ERR_OTHER] += unknown;              /* a newer peer's kind: "other", as its name */
    live_family(b, "stampede_errors_total", "counter", "Errors by kind, all names.");
    for (int k = 0; k < ERR_KIND_COUNT; k++) {
        const char *kv[] = { "kind", stats_err_kind_name((stats_err_kind)k) };
        live_sample_u(b, "stampede_errors_total", kv, 1, by_kind[k]);
    }
}

/* The WebSocket families, one row per connection name. */
static void live_m_ws(live_buf *b, const live_ws *g, uint32_t n)
{
    live_family(b, "stampede_ws_messages_sent_total", "counter",
                "WebSocket messages sent, by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_messages_sent_total", kv, 1,
                      g[i].sent ? g[i].sent->requests : 0);
    }
    live_family(b, "stampede_ws_messages_received_total", "counter",
                "WebSocket messages received, by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_messages_received_total", kv, 1,
                      g[i].recv ? g[i].recv->requests : 0);
    }
    live_family(b, "stampede_ws_connects_total", "counter",
                "WebSocket connections opened (reconnects included), by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const merge_entry *c = g[i].connect;
        uint64_t ok = c != NULL && c->requests >= c->failures ? c->requests - c->failures : 0;
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_connects_total", kv, 1, ok);
    }
    live_family(b, "stampede_ws_message_duration_seconds", "summary",
                "WebSocket message latency (send to matching message) over the whole run, "
                "by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_summary(b, "stampede_ws_message_duration_seconds", kv, 1,
                     g[i].message ? &g[i].message->lat : NULL);
    }
}

/* The master's protocol counters since it started (PROTOCOL.md 9): messages dropped,
 * failed key proofs, sealed sessions ended by a frame that failed, connections closed
 * for sending no HELLO. */
static void live_m_protocol(live_buf *b, const coord_status *st)
{
    const struct { const char *name, *help; uint64_t v; } rows[] = {
        { "stampede_protocol_dropped_total",
          "Messages the master dropped (undecodable, unauthenticated, out of place).", st->proto_dropped },
        { "stampede_protocol_auth_failures_total",
          "HELLOs refused for a missing or wrong key proof, or answering no CHALLENGE.",
          st->proto_auth_failures },
        { "stampede_protocol_seal_failures_total",
          "Sealed sessions ended by a message that failed authentication or sequence.",
          st->proto_seal_failures },
        { "stampede_protocol_hello_timeouts_total",
          "Connections closed for sending no HELLO in time.", st->proto_hello_timeouts },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        live_family(b, rows[i].name, "counter", rows[i].help);
        live_sample_u(b, rows[i].name, NULL, 0, rows[i].v);
    }
}

/* stampede_workers{state}: how many workers are in each state (first-seen order). */
static void live_m_workers(live_buf *b, const live_input *in)
{
    live_family(b, "stampede_workers", "gauge", "Workers by state.");
    int n = in->workers != NULL ? in->nworkers : 0;
    for (int i = 0; i < n; i++) {
        const char *state = in->workers[i].state;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(in->workers[j].state, state) == 0;
        if (seen)
            continue;
        uint64_t count = 0;
        for (int j = i; j < n; j++)
            count += strcmp(in->workers[j].state, state) == 0;
        const char *kv[] = { "state", state };
        live_sample_u(b, "stampede_workers", kv, 1, count);
    }
}

char *live_metrics(const live_input *in)
{
    static const coord_status idle = { .state = RUN_IDLE };
    const coord_status *st = in->st != NULL ? in->st : &idle;
    const merge_set *t = in->totals;
    live_buf b = { 0 };
    uint32_t nhttp = 0, nws = 0;
    const merge_entry **http = live_pick(t, live_is_http, live_cmp_entry, &nhttp);
    const merge_entry **ws = live_pick(t, live_is_ws, live_cmp_entry, &nws);
    live_ws *groups = malloc(((size_t)nws + 1) * sizeof *groups);
    if (http == NULL || ws == NULL || groups == NULL) {
        free(http);
        free(ws);
        free(groups);
        return NULL;
    }
    uint32_t ngroups = live_ws_groups(ws, nws, groups);

    live_family(&b, "stampede_users", "gauge", "Active virtual users (last complete interval).");
    live_sample_u(&b, "stampede_users", NULL, 0, st->users);
    live_m_workers(&b, in);
    char id[LIVE_RUN_ID_LEN] = "";
    if (st->run_id != 0)
        live_run_id(id, sizeof id, st->run_id);
    live_family(&b, "stampede_run_info", "gauge", "The current or last run (always 1).");
    const char *info[] = { "run_id", id, "scenario", in->scenario ? in->scenario : "",
                           "state", coord_state_name(st->state) };
    live_sample_u(&b, "stampede_run_info", info, 3, 1);
    live_family(&b, "stampede_elapsed_seconds", "gauge", "Seconds since the run started.");
    live_sample_f(&b, "stampede_elapsed_seconds", NULL, 0, st->elapsed_s);
    live_m_http(&b, http, nhttp);
    live_m_errors(&b, t);
    live_m_ws(&b, groups, ngroups);
    live_m_protocol(&b, st);

    free(http);
    free(ws);
    free(groups);
    if (b.oom || b.p == NULL) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
