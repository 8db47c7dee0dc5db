/* The monitor's summary (contract: master/monitor.h): the arithmetic of a figure's
 * samples (first, last, min, mean, max, growth), summary.json's "monitor" arrays, and the
 * two readers of DIR/monitor.csv: monitor_summary_load (the rebuild after a crash) and
 * monitor_report_data (report.html's series). Pure of the scraper's thread: any thread,
 * no globals; the readers only read the file and never trust it (a torn last line, a
 * field too long, a name that is not a word: skipped or the end of the reading). */
#include "master/monitor.h"
#include "common/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static json_t *mon_jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* ---- figures ------------------------------------------------------------------------- */

double monitor_stat_mean(const monitor_stat *s)
{
    return s->n ? s->sum / (double)s->n : NAN;
}

double monitor_stat_growth(const monitor_stat *s)
{
    if (!s->n)
        return NAN;
    if (s->first == 0)
        return s->last == 0 ? 0.0 : NAN;
    return (s->last - s->first) / fabs(s->first) * 100.0;
}

const monitor_stat *monitor_summary_find(const monitor_summary *ms, const char *target,
                                         const char *metric)
{
    for (int i = 0; ms && i < ms->nstats; i++)
        if (!strcmp(ms->stats[i].target, target) && !strcmp(ms->stats[i].metric, metric))
            return &ms->stats[i];
    return NULL;
}

void monitor_summary_fini(monitor_summary *ms)
{
    if (!ms)
        return;
    free(ms->targets);
    free(ms->stats);
    memset(ms, 0, sizeof *ms);
}

void monitor_stat_add(monitor_stat *s, double v)
{
    if (s->n == 0) {
        s->first = s->min = s->max = v;
    }
    if (v < s->min) s->min = v;
    if (v > s->max) s->max = v;
    s->last = v;
    s->sum += v;
    s->n++;
}

/* ---- summary.json ------------------------------------------------------------------------------ */

/* A JSON string that is never NULL (jansson refuses text that is not UTF-8). */
static json_t *mon_jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char buf[1100];
    size_t n = 0;
    for (; *s && n + 1 < sizeof buf; s++)
        buf[n++] = (unsigned char)*s < 0x80 ? *s : '?';
    buf[n] = '\0';
    return json_string(buf);
}

void monitor_summary_json(void *root_v, const monitor_summary *ms)
{
    json_t *root = root_v, *stats = json_array(), *tgs = json_array();
    for (int i = 0; ms && i < ms->nstats; i++) {
        const monitor_stat *s = &ms->stats[i];
        json_t *o = json_object();
        json_object_set_new(o, "target", mon_jstr(s->target));
        json_object_set_new(o, "metric", mon_jstr(s->metric));
        json_object_set_new(o, "samples", json_integer((json_int_t)s->n));
        json_object_set_new(o, "first", mon_jreal(s->n ? s->first : NAN));
        json_object_set_new(o, "last", mon_jreal(s->n ? s->last : NAN));
        json_object_set_new(o, "min", mon_jreal(s->n ? s->min : NAN));
        json_object_set_new(o, "mean", mon_jreal(monitor_stat_mean(s)));
        json_object_set_new(o, "max", mon_jreal(s->n ? s->max : NAN));
        json_object_set_new(o, "growth_pct", mon_jreal(monitor_stat_growth(s)));
        json_array_append_new(stats, o);
    }
    for (int i = 0; ms && i < ms->ntargets; i++) {
        const monitor_tstat *t = &ms->targets[i];
        json_t *o = json_object();
        json_object_set_new(o, "target", mon_jstr(t->name));
        json_object_set_new(o, "url", mon_jstr(t->url));
        json_object_set_new(o, "scrapes", json_integer((json_int_t)t->scrapes));
        json_object_set_new(o, "failures", json_integer((json_int_t)t->failures));
        json_object_set_new(o, "last_error", mon_jstr(t->last_error));
        json_array_append_new(tgs, o);
    }
    json_object_set_new(root, "monitor", stats);
    json_object_set_new(root, "monitor_targets", tgs);
}

/* ---- rebuilding from monitor.csv ---------------------------------------------------------------- */

static monitor_tstat *mon_load_target(monitor_summary *ms, const char *name, int *cap)
{
    for (int i = 0; i < ms->ntargets; i++)
        if (!strcmp(ms->targets[i].name, name))
            return &ms->targets[i];
    if (ms->ntargets == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        monitor_tstat *t = realloc(ms->targets, (size_t)nc * sizeof *t);
        if (!t)
            return NULL;
        ms->targets = t;
        *cap = nc;
    }
    monitor_tstat *t = &ms->targets[ms->ntargets++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

int monitor_summary_load(const char *dir, monitor_summary *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    char path[1100];
    snprintf(path, sizeof path, "%s/monitor.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    int tcap = 0, scap = 0, ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t l = strlen(line);
        if (l == 0 || line[l - 1] != '\n')
            break;                          /* torn (or too long) last line */
        if (ln == 1)
            continue;                       /* header */
        const char *p = line;
        char ts[32], tg[MONITOR_NAME_MAX], mt[MONITOR_NAME_MAX], val[64];
        if (!util_csv_get(&p, ts, sizeof ts) || *p++ != ',' ||
            !util_csv_get(&p, tg, sizeof tg) || *p++ != ',' ||
            !util_csv_get(&p, mt, sizeof mt) || *p++ != ',' ||
            !util_csv_get(&p, val, sizeof val))
            break;
        char *e;
        double v = strtod(val, &e);
        if (e == val || *e || !isfinite(v))
            break;
        monitor_tstat *t = mon_load_target(out, tg, &tcap);
        if (!t)
            goto oom;
        if (!strcmp(mt, "up")) {
            t->scrapes++;
            if (v == 0)
                t->failures++;
        }
        monitor_stat *s = (monitor_stat *)monitor_summary_find(out, tg, mt);
        if (!s) {
            if (out->nstats == scap) {
                int nc = scap ? scap * 2 : 16;
                monitor_stat *ns = realloc(out->stats, (size_t)nc * sizeof *ns);
                if (!ns)
                    goto oom;
                out->stats = ns;
                scap = nc;
            }
            s = &out->stats[out->nstats++];
            memset(s, 0, sizeof *s);
            snprintf(s->target, sizeof s->target, "%s", tg);
            snprintf(s->metric, sizeof s->metric, "%s", mt);
        }
        monitor_stat_add(s, v);
    }
    fclose(f);
    return 0;
oom:
    fclose(f);
    monitor_summary_fini(out);
    snprintf(err, errcap, "out of memory");
    return -1;
}

/* ---- report.html's series ----------------------------------------------------------------------- */

static bool mon_word(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* One data row of monitor.csv; false for the header, a torn line or a bad row. */
static bool mon_csv_row(const char *line, double *ts, char *tg, char *mt, double *v)
{
    char tsb[32], val[64];
    const char *p = line;
    size_t l = strlen(line);
    if (l == 0 || line[l - 1] != '\n')
        return false;
    if (!util_csv_get(&p, tsb, sizeof tsb) || *p++ != ',' ||
        !util_csv_get(&p, tg, MONITOR_NAME_MAX) || *p++ != ',' ||
        !util_csv_get(&p, mt, MONITOR_NAME_MAX) || *p++ != ',' ||
        !util_csv_get(&p, val, sizeof val))
        return false;
    char *e;
    *ts = strtod(tsb, &e);
    if (e == tsb || *e)
        return false;
    *v = strtod(val, &e);
    return e != val && !*e && isfinite(*v) && isfinite(*ts);
}

typedef struct mon_rs {
    char   target[MONITOR_NAME_MAX], metric[MONITOR_NAME_MAX];
    size_t n, k, seen;          /* samples; per bucket; seen in pass two */
    double *t, *v;
    size_t nout;
} mon_rs;

static mon_rs *mon_rs_find(mon_rs *rs, int n, const char *tg, const char *mt)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(rs[i].target, tg) && !strcmp(rs[i].metric, mt))
            return &rs[i];
    return NULL;
}

int monitor_report_data(const char *dir, double t0, int maxpoints, FILE *f)
{
    char path[1100], line[512], tg[MONITOR_NAME_MAX], mt[MONITOR_NAME_MAX];
    snprintf(path, sizeof path, "%s/monitor.csv", dir);
    FILE *in = fopen(path, "r");
    if (!in) {
        fputs("null", f);
        return 0;
    }
    if (maxpoints < 1)
        maxpoints = 1;
    mon_rs *rs = calloc(MONITOR_REPORT_SERIES, sizeof *rs);
    int nrs = 0, rc = 0;
    double ts, v;
    if (!rs)
        rc = -1;
    while (rc == 0 && fgets(line, sizeof line, in)) {          /* pass one: counts */
        if (!mon_csv_row(line, &ts, tg, mt, &v) || !mon_word(tg) || !mon_word(mt))
            continue;
        if (isnan(t0))
            t0 = ts;
        mon_rs *r = mon_rs_find(rs, nrs, tg, mt);
        if (!r && nrs < MONITOR_REPORT_SERIES) {
            r = &rs[nrs++];
            snprintf(r->target, sizeof r->target, "%s", tg);
            snprintf(r->metric, sizeof r->metric, "%s", mt);
        }
        if (r)
            r->n++;
    }
    for (int i = 0; rc == 0 && i < nrs; i++) {
        mon_rs *r = &rs[i];
        r->k = (r->n + (size_t)maxpoints - 1) / (size_t)maxpoints;
        size_t nb = (r->n + r->k - 1) / r->k;
        if (!(r->t = malloc(nb * sizeof *r->t)) || !(r->v = malloc(nb * sizeof *r->v)))
            rc = -1;
    }
    rewind(in);
    while (rc == 0 && fgets(line, sizeof line, in)) {          /* pass two: buckets */
        if (!mon_csv_row(line, &ts, tg, mt, &v) || !mon_word(tg) || !mon_word(mt))
            continue;
        mon_rs *r = mon_rs_find(rs, nrs, tg, mt);
        if (!r || r->seen >= r->n)
            continue;                   /* beyond the cap, or rows appended meanwhile */
        size_t b = r->seen / r->k;
        if (r->seen % r->k == 0) {
            r->t[b] = ts - t0;
            r->v[b] = v;
            r->nout = b + 1;
        } else if (v > r->v[b]) {
            r->v[b] = v;
        }
        r->seen++;
    }
    fclose(in);
    if (rc == 0) {
        fputc('[', f);
        for (int i = 0; i < nrs; i++) {
            mon_rs *r = &rs[i];
            fprintf(f, "%s{\"target\":\"%s\",\"metric\":\"%s\",\"t\":[", i ? "," : "",
                    r->target, r->metric);
            for (size_t j = 0; j < r->nout; j++)
                fprintf(f, "%s%.10g", j ? "," : "", r->t[j]);
            fputs("],\"v\":[", f);
            for (size_t j = 0; j < r->nout; j++)
                fprintf(f, "%s%.10g", j ? "," : "", r->v[j]);
            fputs("]}", f);
        }
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    for (int i = 0; rs && i < nrs; i++) {
        free(rs[i].t);
        free(rs[i].v);
    }
    free(rs);
    return rc;
}
