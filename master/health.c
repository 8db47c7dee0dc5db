/* The generator's own health per worker and interval: see master/health.h.
 *
 * Decisions written down here:
 * - A worker's open intervals live in HEALTH_OPEN slots (idx % HEALTH_OPEN), as the
 *   interval ring's. A delta for a slot that still holds an older interval closes that
 *   one first (its row written at the new delta's time: it cannot happen while the ring
 *   closes intervals in order, but a hostile interval index must not grow memory).
 * - Workers are found by a linear search of their ids: a handful in practice, at most
 *   HEALTH_MAX_WORKERS, once per delta and once per closed interval.
 * - The loader is strict about shape (the header, 13 fields, numbers >= 0 and finite, a
 *   non-empty worker id that fits; a file with issue 13's header has 12 fields, its
 *   retries read as 0) and refuses the file at the first bad line: a
 *   rebuilt summary is either the file's or none. A last line without its line end (the
 *   run died while writing it) is ignored when it is the only fault: a crash loses at
 *   most the interval in progress. */
#include "master/health.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/log.h"
#include "common/time.h"
#include "common/util.h"
#include "master/results.h"

#define HEALTH_EOL "\r\n"

/* ---- the summary ------------------------------------------------------------------ */

static uint64_t health_sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* A worker's key: its id cut to PROTO_ID_MAX and cleaned to valid UTF-8, as stored (so
 * an id that is not valid UTF-8 still finds its one entry). */
static void hs_key(char *key, const char *id)
{
    snprintf(key, PROTO_ID_MAX, "%s", id ? id : "");
    util_utf8_clean(key);
}

static health_worker *hs_find(const struct health_summary *hs, const char *id)
{
    char key[PROTO_ID_MAX];
    hs_key(key, id);
    for (int i = 0; i < hs->n; i++)
        if (strcmp(hs->w[i].id, key) == 0)
            return &hs->w[i];
    return NULL;
}

const health_worker *health_summary_find(const struct health_summary *hs, const char *id)
{
    return hs && id ? hs_find(hs, id) : NULL;
}

uint64_t health_summary_retries(const struct health_summary *hs)
{
    uint64_t n = 0;
    for (int i = 0; hs && i < hs->n; i++)
        n = health_sat_add(n, hs->w[i].retries);
    return n;
}

/* The entry of id, created when new; its index, or -1 (ENOMEM, too many workers). */
static int hs_get(struct health_summary *hs, const char *id, const char *host)
{
    health_worker *w = hs_find(hs, id);
    if (w)
        return (int)(w - hs->w);
    if (hs->n >= HEALTH_MAX_WORKERS)
        return -1;
    if (hs->n == hs->cap) {
        int cap = hs->cap ? hs->cap * 2 : 4;
        health_worker *nw = realloc(hs->w, (size_t)cap * sizeof *nw);
        if (!nw)
            return -1;
        hs->w = nw;
        hs->cap = cap;
    }
    w = &hs->w[hs->n];
    memset(w, 0, sizeof *w);
    hs_key(w->id, id);
    snprintf(w->host, sizeof w->host, "%s", host ? host : "");
    util_utf8_clean(w->host);
    return hs->n++;
}

static void hs_stat(health_stat *s, double v, bool first)
{
    if (first || v > s->max)
        s->max = v;
    s->sum += v;
}

int health_summary_fold(struct health_summary *hs, const char *id, const char *host,
                        uint64_t idx, const health_fig *f)
{
    int i = hs_get(hs, id, host);
    if (i < 0) {
        hs->untracked++;
        return -1;
    }
    health_worker *w = &hs->w[i];
    bool first = w->intervals == 0;
    w->intervals++;
    hs_stat(&w->cpu, f->cpu_pct, first);
    hs_stat(&w->proc_cpu, f->proc_cpu_pct, first);
    hs_stat(&w->rss, f->rss_mib, first);
    hs_stat(&w->lag_max, f->lag_max_ms, first);
    hs_stat(&w->lag_mean, f->lag_mean_ms, first);
    hs_stat(&w->conns, (double)f->conns, first);
    w->retries = health_sat_add(w->retries, f->retries);
    if (f->flag_cpu || f->flag_lag)
        w->flagged++;
    w->flagged_cpu += f->flag_cpu;
    w->flagged_lag += f->flag_lag;
    w->last = *f;
    w->last_idx = idx;
    return 0;
}

void health_summary_free(struct health_summary *hs)
{
    free(hs->w);
    memset(hs, 0, sizeof *hs);
}

void health_fig_of(const health_acc *a, health_fig *f)
{
    memset(f, 0, sizeof *f);
    f->cpu_pct = a->cpu_max * 100;
    f->proc_cpu_pct = a->proc_max * 100;
    f->rss_mib = (double)a->rss_max / (1024.0 * 1024.0);
    f->lag_max_ms = (double)a->lag_max_us / 1000.0;
    f->lag_mean_ms = a->lag_n ? (double)a->lag_sum_us / (double)a->lag_n / 1000.0 : 0.0;
    f->conns = a->conns > UINT32_MAX ? UINT32_MAX : (uint32_t)a->conns;
    f->retries = a->retries;
    f->flag_cpu = a->cpu_max > RESULTS_CPU_LIMIT;
    f->flag_lag = a->lag_max_us > RESULTS_LAG_LIMIT_US;
}

/* ---- the run ---------------------------------------------------------------------- */

static void health_reset(health *h)
{
    health_summary_free(&h->sum);
    free(h->open);
    h->open = NULL;
    if (h->csv)
        fclose(h->csv);
    h->csv = NULL;
    h->err[0] = '\0';
    h->log_ms = h->log_quiet = 0;
}

static void health_set_err(health *h, const char *what, const char *path, int e)
{
    if (!h->err[0])
        if (snprintf(h->err, sizeof h->err, "%s %s: %s", what, path, strerror(e ? e : EIO)) < 0)
            h->err[0] = '?';            /* never empty once failed */
}

int health_start(health *h, const char *dir, char *err, size_t errcap)
{
    health_reset(h);
    if (!dir)
        return 0;
    char *path = h->path;
    snprintf(path, sizeof h->path, "%s/%s", dir, HEALTH_CSV);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    h->csv = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!h->csv) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        health_set_err(h, "cannot create", path, e);
    } else {
        errno = 0;
        if (fputs(HEALTH_CSV_HEADER HEALTH_EOL, h->csv) < 0 || fflush(h->csv) != 0)
            health_set_err(h, "cannot write", path, errno);
    }
    if (h->err[0]) {
        snprintf(err, errcap, "%s", h->err);
        return -1;
    }
    return 0;
}

static const char *health_reason(const health_fig *f)
{
    return f->flag_cpu && f->flag_lag ? "cpu+lag" : f->flag_cpu ? "cpu" : f->flag_lag ? "lag" : "";
}

static void health_row(health *h, const health_worker *w, uint64_t idx, uint64_t wall_ms,
                       const health_fig *f)
{
    if (!h->csv || h->err[0])
        return;
    FILE *o = h->csv;
    fprintf(o, "%llu,%llu,", (unsigned long long)(wall_ms / 1000), (unsigned long long)idx);
    util_csv_put(o, w->id);
    fputc(',', o);
    util_csv_put(o, w->host);
    fprintf(o, ",%.2f,%.2f,%.2f,%.3f,%.3f,%u,%d,%s,%llu" HEALTH_EOL, f->cpu_pct,
            f->proc_cpu_pct, f->rss_mib, f->lag_max_ms, f->lag_mean_ms, f->conns,
            f->flag_cpu || f->flag_lag ? 1 : 0, health_reason(f),
            (unsigned long long)f->retries);
    errno = 0;
    if (fflush(o) != 0 || ferror(o))
        health_set_err(h, "cannot write", h->path, errno);
}

/* The console line of a flagged interval: a worker's first always, the others at most
 * one per HEALTH_LOG_MS (all workers together). */
static void health_log(health *h, const health_worker *w, uint64_t idx, const health_fig *f)
{
    uint64_t now = time_wall_ms();
    if (w->flagged > 1 && h->log_ms && now < h->log_ms + HEALTH_LOG_MS) {
        h->log_quiet++;
        return;
    }
    char what[128] = "", more[80] = "";
    if (f->flag_cpu)
        snprintf(what, sizeof what, "engine at %.0f%% CPU", f->cpu_pct);
    if (f->flag_lag) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%sevent loop %.0f ms late", n ? " / " : "",
                 f->lag_max_ms);
    }
    if (h->log_quiet)
        snprintf(more, sizeof more, " (%llu more flagged worker intervals since the last line)",
                 (unsigned long long)h->log_quiet);
    log_warn("master", "worker %s: %s in interval %llu: the generator may have been the "
             "bottleneck (limits %.0f%% CPU, %d ms loop lag)%s", w->id, what,
             (unsigned long long)idx, RESULTS_CPU_LIMIT * 100, RESULTS_LAG_LIMIT_US / 1000, more);
    h->log_ms = now;
    h->log_quiet = 0;
}

/* Closes worker i's open slot k: its row, the summary, the console. */
static void health_close_slot(health *h, int i, int k, uint64_t wall_ms)
{
    health_acc *a = &h->open[i][k];
    if (!a->used)
        return;
    health_fig f;
    health_fig_of(a, &f);
    uint64_t idx = a->idx;
    memset(a, 0, sizeof *a);
    health_summary_fold(&h->sum, h->sum.w[i].id, h->sum.w[i].host, idx, &f);
    health_row(h, &h->sum.w[i], idx, wall_ms, &f);
    if (f.flag_cpu || f.flag_lag)
        health_log(h, &h->sum.w[i], idx, &f);
}

void health_add(health *h, const char *id, const char *host, const proto_stats *s)
{
    int n0 = h->sum.n;
    int i = hs_get(&h->sum, id ? id : "", host);
    if (i < 0) {
        h->sum.untracked++;
        return;
    }
    if (i >= n0 || !h->open) {  /* new worker: its open slots (parallel to sum.w) */
        health_acc (*o)[HEALTH_OPEN] = realloc(h->open, (size_t)h->sum.cap * sizeof *o);
        if (!o) {
            h->sum.n = n0;      /* not tracked after all */
            h->sum.untracked++;
            return;
        }
        h->open = o;
        memset(o[i], 0, sizeof o[i]);
    }
    int k = (int)(s->interval % HEALTH_OPEN);
    health_acc *a = &h->open[i][k];
    if (a->used && a->idx != s->interval)
        health_close_slot(h, i, k, time_wall_ms());
    if (!a->used) {
        memset(a, 0, sizeof *a);
        a->used = true;
        a->idx = s->interval;
    }
    const stats_health *x = &s->health;
    if (s->sched.wall_us >= STATS_LOAD_MIN_WALL_US) {  /* a final delta cut short: no load */
        double load = (double)s->sched.cpu_us / (double)s->sched.wall_us;
        double proc = (double)x->proc_cpu_us / (double)s->sched.wall_us;
        if (load > a->cpu_max)
            a->cpu_max = load;
        if (proc > a->proc_max)
            a->proc_max = proc;
    }
    if (x->rss_bytes > a->rss_max)
        a->rss_max = x->rss_bytes;
    if (x->lag_max_us > a->lag_max_us)
        a->lag_max_us = x->lag_max_us;
    a->lag_sum_us = a->lag_sum_us + x->lag_sum_us < a->lag_sum_us ? UINT64_MAX
                                                                   : a->lag_sum_us + x->lag_sum_us;
    a->lag_n += x->lag_n;
    a->conns += x->conns;
    a->retries = health_sat_add(a->retries, x->retries);
}

void health_close(health *h, uint64_t idx, uint64_t wall_ms)
{
    int k = (int)(idx % HEALTH_OPEN);
    for (int i = 0; h->open && i < h->sum.n; i++)
        if (h->open[i][k].used && h->open[i][k].idx == idx)
            health_close_slot(h, i, k, wall_ms);
}

int health_finish(health *h, uint64_t wall_ms, char *err, size_t errcap)
{
    for (int i = 0; h->open && i < h->sum.n; i++)
        for (int k = 0; k < HEALTH_OPEN; k++)
            health_close_slot(h, i, k, wall_ms);
    if (h->csv) {
        errno = 0;
        if (fflush(h->csv) != 0 || fsync(fileno(h->csv)) != 0)
            health_set_err(h, "cannot write", h->path, errno);
        if (fclose(h->csv) != 0)
            health_set_err(h, "cannot close", h->path, errno);
        h->csv = NULL;
    }
    if (h->err[0]) {
        snprintf(err, errcap, "%s", h->err);
        return -1;
    }
    return 0;
}

void health_fini(health *h)
{
    health_reset(h);
}

const struct health_summary *health_summary_of(const health *h)
{
    return &h->sum;
}

/* ---- the loader --------------------------------------------------------------------- */

#define HEALTH_NFIELDS    13      /* HEALTH_CSV_HEADER's */
#define HEALTH_NFIELDS_13 12      /* HEALTH_CSV_HEADER_13's (no Retries) */

/* Splits one CSV line (no line end) into fields, unquoting in place into buf (cap
 * bytes). -1 on a malformed quote or more than HEALTH_NFIELDS fields. */
static int health_split(const char *line, size_t len, char *buf, char **f, int *nf)
{
    size_t i = 0, o = 0;
    int n = 0;
    for (;;) {
        if (n == HEALTH_NFIELDS)
            return -1;
        f[n++] = &buf[o];
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return -1;          /* unterminated */
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        buf[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[o++] = line[i++];
            }
            if (i < len && line[i] != ',')
                return -1;
        } else {
            while (i < len && line[i] != ',') {
                if (line[i] == '"' || line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
                    return -1;
                buf[o++] = line[i++];
            }
        }
        buf[o++] = '\0';
        if (i >= len)
            break;
        i++;                            /* the comma */
    }
    *nf = n;
    return 0;
}

static int health_num(const char *s, double *v)
{
    if (!*s || strlen(s) > 32)
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno || !isfinite(d) || d < 0)
        return -1;
    *v = d;
    return 0;
}

static int health_uint(const char *s, uint64_t *v)
{
    if (!*s || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    unsigned long long u = strtoull(s, NULL, 10);
    if (errno)
        return -1;
    *v = u;
    return 0;
}

/* One data row into the summary. A worker past HEALTH_MAX_WORKERS (or one the memory
 * refuses) is counted in untracked, not an error of the file. */
static int health_line(struct health_summary *hs, const char *line, size_t len, int want)
{
    char buf[HEALTH_LINE_MAX + 1];
    char *f[HEALTH_NFIELDS];
    int nf = 0;
    if (len > HEALTH_LINE_MAX || health_split(line, len, buf, f, &nf) != 0 || nf != want)
        return -1;
    uint64_t ts, idx, conns, flagged;
    health_fig g = { 0 };
    if (health_uint(f[0], &ts) || health_uint(f[1], &idx) || !*f[2] ||
        strlen(f[2]) >= PROTO_ID_MAX || strlen(f[3]) >= PROTO_HOST_MAX ||
        health_num(f[4], &g.cpu_pct) || health_num(f[5], &g.proc_cpu_pct) ||
        health_num(f[6], &g.rss_mib) || health_num(f[7], &g.lag_max_ms) ||
        health_num(f[8], &g.lag_mean_ms) || health_uint(f[9], &conns) || conns > UINT32_MAX ||
        health_uint(f[10], &flagged) || flagged > 1)
        return -1;
    g.conns = (uint32_t)conns;
    const char *r = f[11];
    g.flag_cpu = !strcmp(r, "cpu") || !strcmp(r, "cpu+lag");
    g.flag_lag = !strcmp(r, "lag") || !strcmp(r, "cpu+lag");
    if (*r && !g.flag_cpu && !g.flag_lag)
        return -1;
    if ((flagged == 1) != (g.flag_cpu || g.flag_lag))
        return -1;
    if (want > HEALTH_NFIELDS_13 && health_uint(f[12], &g.retries))
        return -1;
    health_summary_fold(hs, f[2], f[3], idx, &g);
    return 0;
}

/* Line lineno (its text without the line end) of the file `name`; *want: the fields of
 * a row, set by the header (line 1). 0, or -1 with err. */
static int health_feed(struct health_summary *hs, uint64_t lineno, const char *line, size_t n,
                       int *want, const char *name, char *err, size_t errcap)
{
    if (lineno == 1) {
        if (n == strlen(HEALTH_CSV_HEADER) && memcmp(line, HEALTH_CSV_HEADER, n) == 0) {
            *want = HEALTH_NFIELDS;
            return 0;
        }
        if (n == strlen(HEALTH_CSV_HEADER_13) && memcmp(line, HEALTH_CSV_HEADER_13, n) == 0) {
            *want = HEALTH_NFIELDS_13;          /* a run of issue 13: no Retries */
            return 0;
        }
        snprintf(err, errcap, "%s: line 1 is not the header \"%s\"", name, HEALTH_CSV_HEADER);
        return -1;
    }
    if (n == 0 || health_line(hs, line, n, *want) == 0)
        return 0;
    snprintf(err, errcap, "%s: line %llu is not a row of %d fields (Timestamp, Interval, "
             "Worker, Host, 6 numbers >= 0, Flagged 0/1, Flag Reason%s)", name,
             (unsigned long long)lineno, *want, *want > HEALTH_NFIELDS_13 ? ", Retries" : "");
    return -1;
}

int health_summary_parse(const char *text, size_t len, struct health_summary *out,
                         char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    uint64_t lineno = 0;
    int want = HEALTH_NFIELDS;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t n = end - pos;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        lineno++;
        pos = nl ? end + 1 : len;
        if (!nl && lineno > 1)
            break;                      /* a row cut by the crash: the interval in progress */
        if (memchr(line, '\0', n) ||
            health_feed(out, lineno, line, n, &want, HEALTH_CSV, err, errcap)) {
            if (memchr(line, '\0', n))
                snprintf(err, errcap, "%s: line %llu holds a NUL byte", HEALTH_CSV,
                         (unsigned long long)lineno);
            health_summary_free(out);
            return -1;
        }
    }
    return 0;
}

int health_summary_load(const char *dir, struct health_summary *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, HEALTH_CSV);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;                   /* no workers.csv: an empty summary */
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    /* A line at a time (a 24 h run's file is tens of MiB: not read whole). */
    char *line = malloc(HEALTH_LINE_MAX + 2);
    if (!line) {
        fclose(f);
        snprintf(err, errcap, "out of memory reading %s", path);
        return -1;
    }
    uint64_t lineno = 0;
    int want = HEALTH_NFIELDS;
    int rv = 0;
    for (;;) {
        errno = 0;
        ssize_t got = 0;
        int c;
        bool whole = false;
        while ((c = getc(f)) != EOF) {
            if (c == '\n') {
                whole = true;
                break;
            }
            if (got <= HEALTH_LINE_MAX)
                line[got] = (char)c;
            got++;
        }
        if (c == EOF && got == 0)
            break;
        lineno++;
        if (!whole && lineno > 1)
            break;                      /* a row cut by the crash: the interval in progress */
        if (got > HEALTH_LINE_MAX) {
            snprintf(err, errcap, "%s: line %llu is longer than %d bytes", path,
                     (unsigned long long)lineno, HEALTH_LINE_MAX);
            rv = -1;
            break;
        }
        size_t n = (size_t)got;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (memchr(line, '\0', n)) {
            snprintf(err, errcap, "%s: line %llu holds a NUL byte", path, (unsigned long long)lineno);
            rv = -1;
            break;
        }
        if (health_feed(out, lineno, line, n, &want, path, err, errcap) != 0) {
            rv = -1;
            break;
        }
    }
    if (rv == 0 && ferror(f)) {
        snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
        rv = -1;
    }
    free(line);
    fclose(f);
    if (rv != 0)
        health_summary_free(out);
    return rv;
}

/* ---- summary.json ------------------------------------------------------------------- */

static json_t *health_jreal(double v)
{
    return json_real(isfinite(v) ? v : 0.0);
}

static json_t *health_jstat(const health_stat *s, uint64_t n)
{
    json_t *o = json_object();
    json_object_set_new(o, "max", health_jreal(n ? s->max : 0.0));
    json_object_set_new(o, "mean", health_jreal(n ? s->sum / (double)n : 0.0));
    return o;
}

static json_t *health_juint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *health_json_worker(const struct health_summary *hs, const char *id)
{
    const health_worker *w = health_summary_find(hs, id);
    if (!w)
        return NULL;
    json_t *o = json_object();
    uint64_t n = w->intervals;
    json_object_set_new(o, "intervals", health_juint(n));
    json_object_set_new(o, "flagged_intervals", health_juint(w->flagged));
    json_object_set_new(o, "flagged_cpu_intervals", health_juint(w->flagged_cpu));
    json_object_set_new(o, "flagged_lag_intervals", health_juint(w->flagged_lag));
    json_object_set_new(o, "cpu_pct", health_jstat(&w->cpu, n));
    json_object_set_new(o, "process_cpu_pct", health_jstat(&w->proc_cpu, n));
    json_object_set_new(o, "rss_mib", health_jstat(&w->rss, n));
    json_object_set_new(o, "loop_lag_max_ms", health_jstat(&w->lag_max, n));
    json_object_set_new(o, "loop_lag_mean_ms", health_jstat(&w->lag_mean, n));
    json_object_set_new(o, "connections", health_jstat(&w->conns, n));
    json_object_set_new(o, "retries", health_juint(w->retries));
    return o;
}

int health_json_verdict(const struct health_summary *hs, json_t *notes)
{
    if (!hs)
        return 0;
    int flagged = 0;
    uint64_t rest_iv = 0;
    char buf[512];
    for (int i = 0; i < hs->n; i++) {
        const health_worker *w = &hs->w[i];
        if (w->flagged == 0)
            continue;
        if (++flagged > HEALTH_NOTES) {
            rest_iv += w->flagged;
            continue;
        }
        char why[200] = "";
        if (w->flagged_cpu)
            snprintf(why, sizeof why, "an engine thread above %.0f%% CPU in %llu (max %.0f%%)",
                     RESULTS_CPU_LIMIT * 100, (unsigned long long)w->flagged_cpu, w->cpu.max);
        if (w->flagged_lag) {
            size_t n = strlen(why);
            snprintf(why + n, sizeof why - n, "%sthe event loop more than %d ms late in %llu "
                     "(max %.1f ms)", n ? ", " : "", RESULTS_LAG_LIMIT_US / 1000,
                     (unsigned long long)w->flagged_lag, w->lag_max.max);
        }
        snprintf(buf, sizeof buf, "worker %s was flagged in %llu of %llu interval%s (%s): the "
                 "generator may have been the bottleneck", w->id,
                 (unsigned long long)w->flagged, (unsigned long long)w->intervals,
                 w->intervals == 1 ? "" : "s", why);
        json_array_append_new(notes, json_string(buf));
    }
    if (flagged > HEALTH_NOTES) {
        snprintf(buf, sizeof buf, "%d more workers were flagged (%llu intervals in all): the "
                 "generator may have been the bottleneck", flagged - HEALTH_NOTES,
                 (unsigned long long)rest_iv);
        json_array_append_new(notes, json_string(buf));
    }
    return flagged;
}
