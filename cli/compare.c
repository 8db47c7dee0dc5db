/* `stampede compare BASE NEW`: two summary.json files side by side, one verdict per
 * (name, metric), exit 1 on a regression (contract: cli/compare.h).
 *
 * Decisions the contract leaves open, written down here:
 * - Rows are keyed by (method, name): "Aggregated" (the totals), every "requests" entry,
 *   and every "ws" entry as method "WS" (its message latency; requests = expects,
 *   error_rate = expect_failures / expects, rps = expects / duration_s). Table order:
 *   BASE's rows as in its file (Aggregated first), then the rows only NEW has.
 * - rps and error_rate are read from the file when present, else derived from
 *   requests, failures and duration_s.
 * - A value is "not measured" when its key is missing or not a number, and latency and
 *   error_rate are not measured on a row that completed no request (their zeros mean
 *   nothing). Measured only in NEW reads "new", only in BASE "removed", like names.
 * - error_rate's absolute floor scales with the tolerance: T% allows T/100 percentage
 *   points (the default 10% allows 0.1 pp, so 0 -> 0.05% is ok, 0 -> 2% is not; 0%
 *   flags any new failure).
 * - The change column is relative to BASE; when BASE is 0 it shows "-", or the
 *   difference in percentage points for error_rate.
 * - JUnit: one testcase per (name, metric) measured on both sides ("new"/"removed"
 *   lines are not comparisons), named "LABEL: METRIC", classname "stampede.compare".
 * - The open model (issue 11): every "iterations" entry is a row "ITER PROFILE" (count
 *   as requests, its failures, latency_ms; rps = iterations per second), in both
 *   models. service_p50/p95/p99 read "service_ms" only from a summary whose
 *   schedule.model is "open" (in the closed model service equals latency: the line
 *   would say the same twice). A summary of the open model adds a row "Schedule" with
 *   rate_achieved (lower is worse), dropped (a count, higher is worse: 0 -> 3 is a
 *   regression) and lag_p99 (ms, higher is worse). These metrics are in the default
 *   set; a line of theirs measured on neither side (a request row's rate_achieved, any
 *   row of two closed runs) is left out of the table, so closed-model comparisons read
 *   as before. */
#include "cli/compare.h"
#include "cli/history.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common/util.h"
#include "master/report.h"

enum cmp_kind { CMP_LAT, CMP_RPS, CMP_ERR, CMP_REQ, CMP_CNT };
/* Where a metric is read: the row's latency object, its service object (open model),
 * or the summary's "schedule" (the Schedule row only). */
enum cmp_src { CMP_SRC_ROW, CMP_SRC_SVC, CMP_SRC_SCHED };

typedef struct cmp_metric {
    const char   *name;
    enum cmp_kind kind;
    enum cmp_src  src;
    const char   *key;          /* the key in latency_ms / message_ms / service_ms; NULL:
                                 * name */
    bool          optional;     /* a line measured on neither side is not printed */
} cmp_metric;

static const cmp_metric cmp_metrics[] = {
    { "p50", CMP_LAT, 0, 0, 0 },  { "p90", CMP_LAT, 0, 0, 0 }, { "p95", CMP_LAT, 0, 0, 0 },
    { "p99", CMP_LAT, 0, 0, 0 },  { "p999", CMP_LAT, 0, 0, 0 }, { "max", CMP_LAT, 0, 0, 0 },
    { "mean", CMP_LAT, 0, 0, 0 }, { "rps", CMP_RPS, 0, 0, 0 },
    { "error_rate", CMP_ERR, 0, 0, 0 }, { "requests", CMP_REQ, 0, 0, 0 },
    { "service_p50", CMP_LAT, CMP_SRC_SVC, "p50", true },
    { "service_p95", CMP_LAT, CMP_SRC_SVC, "p95", true },
    { "service_p99", CMP_LAT, CMP_SRC_SVC, "p99", true },
    { "rate_achieved", CMP_RPS, CMP_SRC_SCHED, NULL, true },
    { "dropped", CMP_CNT, CMP_SRC_SCHED, NULL, true },
    { "lag_p99", CMP_LAT, CMP_SRC_SCHED, NULL, true },
};
#define CMP_NMETRICS ((int)(sizeof cmp_metrics / sizeof cmp_metrics[0]))
#define CMP_DEFAULT_METRICS "p95,rps,error_rate,service_p95,rate_achieved,dropped,lag_p99"
#define CMP_METRIC_LIST "p50 p90 p95 p99 p999 max mean rps error_rate requests service_p50 " \
                        "service_p95 service_p99 rate_achieved dropped lag_p99"
#define CMP_DEFAULT_TOL_PCT 10.0

typedef enum cmp_verdict { CMP_OK, CMP_REGRESSION, CMP_IMPROVED, CMP_NEW, CMP_REMOVED } cmp_verdict;
static const char *const cmp_verdict_names[] = { "ok", "REGRESSION", "improved", "new", "removed" };

/* One (method, name) of a summary with every metric read or derived. Strings borrow
 * the side's JSON tree; label is owned. */
typedef struct cmp_row {
    const char *method;         /* NULL for Aggregated */
    const char *name;
    char       *label;          /* "Aggregated", "GET /orders", "WS feed" (malloc'd) */
    double      val[CMP_NMETRICS];
    bool        has[CMP_NMETRICS];
    bool        matched;        /* NEW side: a BASE row has the same key */
    bool        sched;          /* the Schedule row: only schedule metrics are shown */
} cmp_row;

typedef struct cmp_side {
    json_t  *root;
    cmp_row *rows;
    size_t   n;
} cmp_side;

/* One output line: a pair of rows (either may be NULL) and one metric. */
typedef struct cmp_line {
    const cmp_row *base, *cur;
    int            metric;
    cmp_verdict    verdict;
} cmp_line;

static void cmp_usage(FILE *f)
{
    fprintf(f,
            "usage: stampede compare BASE NEW [--tolerance 10%%] [--metric p95,rps,error_rate]\n"
            "                        [--junit FILE]\n"
            "  BASE, NEW     summary.json files or results folders holding one\n"
            "  --tolerance   allowed change in the worse direction, in %% of BASE (default 10%%)\n"
            "  --metric      comma-separated: p50 p90 p95 p99 p999 max mean rps error_rate requests\n"
            "                service_p50 service_p95 service_p99 rate_achieved dropped lag_p99\n"
            "  --junit FILE  also write JUnit XML, one failure per regression\n"
            "exit: 0 no regression, 1 regression, 2 usage error or unreadable input\n");
}

/* ---- reading summaries ---------------------------------------------------------- */

/* A number under key (integer or real), or false when absent or not a number. */
static bool cmp_num(const json_t *o, const char *key, double *out)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* Fills r's metrics from o: the counts under req_key / fail_key, the latency object
 * under lat_key (and the service object under svc_key, NULL: none), "rps" and
 * "error_rate" when o has them (else derived). Schedule metrics stay unmeasured. */
static void cmp_fill(cmp_row *r, const json_t *o, const char *req_key, const char *fail_key,
                     const char *lat_key, const char *svc_key, double duration_s)
{
    double req = 0, fail = 0, v;
    bool has_req = cmp_num(o, req_key, &req), has_fail = cmp_num(o, fail_key, &fail);
    bool idle = has_req && req <= 0;        /* completed nothing: no latency, no rate */
    const json_t *lat = json_object_get(o, lat_key);
    const json_t *svc = svc_key != NULL ? json_object_get(o, svc_key) : NULL;
    for (int m = 0; m < CMP_NMETRICS; m++) {
        bool has = false;
        v = 0;
        if (cmp_metrics[m].src == CMP_SRC_SCHED) {
            r->has[m] = false;
            r->val[m] = 0;
            continue;
        }
        switch (cmp_metrics[m].kind) {
        case CMP_LAT:
            if (cmp_metrics[m].src == CMP_SRC_SVC)
                has = !idle && cmp_num(svc, cmp_metrics[m].key, &v);
            else
                has = !idle && cmp_num(lat, cmp_metrics[m].name, &v);
            break;
        case CMP_CNT:
            break;
        case CMP_RPS:
            has = cmp_num(o, "rps", &v);
            if (!has && has_req && duration_s > 0) {
                v = req / duration_s;
                has = true;
            }
            break;
        case CMP_ERR:
            if (idle)
                break;
            has = cmp_num(o, "error_rate", &v);
            if (!has && has_req && has_fail) {
                v = fail / req;
                has = true;
            }
            break;
        case CMP_REQ:
            has = has_req;
            v = req;
            break;
        }
        r->has[m] = has;
        r->val[m] = v;
    }
}

/* The Schedule row's metrics from the summary's "schedule" object. */
static void cmp_fill_sched(cmp_row *r, const json_t *sch)
{
    for (int m = 0; m < CMP_NMETRICS; m++) {
        double v = 0;
        bool has = false;
        if (cmp_metrics[m].src == CMP_SRC_SCHED) {
            if (!strcmp(cmp_metrics[m].name, "lag_p99"))
                has = cmp_num(json_object_get(sch, "lag_ms"), "p99", &v);
            else
                has = cmp_num(sch, cmp_metrics[m].name, &v);
        }
        r->has[m] = has;
        r->val[m] = v;
    }
}

static int cmp_add_row(cmp_side *s, const char *method, const char *name)
{
    cmp_row *rows = realloc(s->rows, (s->n + 1) * sizeof *rows);
    if (rows == NULL)
        return -1;
    s->rows = rows;
    cmp_row *r = &rows[s->n];
    memset(r, 0, sizeof *r);
    r->method = method;
    r->name = name;
    int rc = method == NULL ? asprintf(&r->label, "Aggregated")
             : name[0] == '\0' ? asprintf(&r->label, "%s", method)
                              : asprintf(&r->label, "%s %s", method, name);
    if (rc < 0) {
        r->label = NULL;
        return -1;
    }
    s->n++;
    return 0;
}

static void cmp_side_free(cmp_side *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rows[i].label);
    free(s->rows);
    json_decref(s->root);
    memset(s, 0, sizeof *s);
}

/* Loads arg (a summary.json, or a folder holding one) into s. 0, or -1 with a message
 * in err; s is then empty. */
static int cmp_load(const char *arg, cmp_side *s, char *err, size_t errcap)
{
    char *path = NULL;
    struct stat st;
    memset(s, 0, sizeof *s);
    if (stat(arg, &st) != 0) {
        snprintf(err, errcap, "%s: %s", arg, strerror(errno));
        return -1;
    }
    if (asprintf(&path, S_ISDIR(st.st_mode) ? "%s/summary.json" : "%s", arg) < 0) {
        snprintf(err, errcap, "%s: out of memory", arg);
        return -1;
    }
    json_error_t jerr;
    s->root = report_load_json(path, &jerr);   /* bytes that are not UTF-8 read as '?' */
    if (s->root == NULL) {
        if (jerr.line > 0)
            snprintf(err, errcap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            snprintf(err, errcap, "%s: %s", path, jerr.text);
        goto fail;
    }
    const json_t *totals = json_object_get(s->root, "totals");
    const json_t *reqs = json_object_get(s->root, "requests");
    const json_t *ws = json_object_get(s->root, "ws");
    if (!json_is_object(totals) || (reqs != NULL && !json_is_array(reqs))
        || (ws != NULL && !json_is_array(ws))) {
        snprintf(err, errcap, "%s: not a stampede summary.json (needs a \"totals\" object)", path);
        goto fail;
    }
    const json_t *its = json_object_get(s->root, "iterations");
    const json_t *sch = json_object_get(s->root, "schedule");
    const char *model = json_string_value(json_object_get(sch, "model"));
    bool open = model != NULL && strcmp(model, "open") == 0;
    const char *svc = open ? "service_ms" : NULL;
    double dur = 0;
    if (!cmp_num(s->root, "duration_s", &dur))
        dur = 0;
    if (cmp_add_row(s, NULL, "Aggregated") != 0)
        goto oom;
    cmp_fill(&s->rows[0], totals, "requests", "failures", "latency_ms", svc, dur);

    size_t i;
    const json_t *o;
    json_array_foreach(reqs, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *method = json_string_value(json_object_get(o, "method"));
        if (name == NULL || method == NULL) {
            snprintf(err, errcap, "%s: requests[%zu] lacks a name or method", path, i);
            goto fail;
        }
        if (cmp_add_row(s, method, name) != 0)
            goto oom;
        cmp_fill(&s->rows[s->n - 1], o, "requests", "failures", "latency_ms", svc, dur);
    }
    json_array_foreach(ws, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name == NULL) {
            snprintf(err, errcap, "%s: ws[%zu] lacks a name", path, i);
            goto fail;
        }
        if (cmp_add_row(s, "WS", name) != 0)
            goto oom;
        cmp_fill(&s->rows[s->n - 1], o, "expects", "expect_failures", "message_ms", NULL, dur);
    }
    json_array_foreach(its, i, o) {             /* absent (older summaries): none */
        const char *name = json_string_value(json_object_get(o, "profile"));
        if (name == NULL) {
            snprintf(err, errcap, "%s: iterations[%zu] lacks a profile", path, i);
            goto fail;
        }
        if (cmp_add_row(s, "ITER", name) != 0)
            goto oom;
        cmp_fill(&s->rows[s->n - 1], o, "count", "failures", "latency_ms", NULL, dur);
    }
    if (open) {
        if (cmp_add_row(s, "Schedule", "") != 0)
            goto oom;
        cmp_fill_sched(&s->rows[s->n - 1], sch);
        s->rows[s->n - 1].sched = true;
    }
    free(path);
    return 0;
oom:
    snprintf(err, errcap, "%s: out of memory", path);
fail:
    free(path);
    cmp_side_free(s);
    return -1;
}

/* The row of s with r's (method, name), or NULL. Linear: summaries hold at most the
 * stats name cap (a few thousand rows), compared once. */
static cmp_row *cmp_find(cmp_side *s, const cmp_row *r)
{
    for (size_t i = 0; i < s->n; i++) {
        cmp_row *c = &s->rows[i];
        if ((c->method == NULL) != (r->method == NULL))
            continue;
        if (c->method != NULL && strcmp(c->method, r->method) != 0)
            continue;
        if (strcmp(c->name, r->name) == 0)
            return c;
    }
    return NULL;
}

/* ---- judging and printing ------------------------------------------------------- */

/* The verdict for a metric measured on both sides. tol is a fraction (0.1 = 10%). */
static cmp_verdict cmp_judge(enum cmp_kind kind, double base, double cur, double tol)
{
    if (kind == CMP_REQ)
        return CMP_OK;                                  /* informational */
    if (kind == CMP_CNT && base == 0)                   /* dropped: 0 -> any is worse */
        return cur > 0 ? CMP_REGRESSION : CMP_OK;
    double worse = kind == CMP_RPS ? base - cur : cur - base;   /* > 0: got worse */
    double limit = tol * fabs(base);
    if (kind == CMP_ERR && limit < tol / 100.0)
        limit = tol / 100.0;                            /* absolute floor, see top */
    /* values come from decimal JSON: a hair of slack so "exactly 10%" is within 10% */
    double slack = limit * 1e-9 + 1e-12;
    if (worse > limit + slack)
        return CMP_REGRESSION;
    if (-worse > limit + slack)
        return CMP_IMPROVED;
    return CMP_OK;
}

static cmp_verdict cmp_line_verdict(const cmp_row *b, const cmp_row *n, int m, double tol)
{
    bool hb = b != NULL && b->has[m], hn = n != NULL && n->has[m];
    if (hb && hn)
        return cmp_judge(cmp_metrics[m].kind, b->val[m], n->val[m], tol);
    if (hn)
        return CMP_NEW;
    if (hb)
        return CMP_REMOVED;
    return CMP_OK;                                      /* measured on neither side */
}

/* A value with its unit and a precision fit for its size; "-" when not measured. */
static void cmp_fmt_value(char *buf, size_t cap, const cmp_row *r, int m)
{
    if (r == NULL || !r->has[m]) {
        snprintf(buf, cap, "-");
        return;
    }
    double v = r->val[m];
    switch (cmp_metrics[m].kind) {
    case CMP_LAT:
        snprintf(buf, cap, fabs(v) < 100 ? "%.3f ms" : fabs(v) < 100000 ? "%.1f ms" : "%.0f ms", v);
        break;
    case CMP_RPS:
        snprintf(buf, cap, "%.2f/s", v);
        break;
    case CMP_ERR:
        snprintf(buf, cap, (v == 0 || v * 100 >= 1) ? "%.2f%%" : "%.3f%%", v * 100);
        break;
    case CMP_REQ:
    case CMP_CNT:
        snprintf(buf, cap, "%.0f", v);
        break;
    }
}

/* The change relative to BASE, signed; see the top comment for BASE == 0. */
static void cmp_fmt_change(char *buf, size_t cap, const cmp_row *b, const cmp_row *n, int m)
{
    if (b == NULL || n == NULL || !b->has[m] || !n->has[m]) {
        snprintf(buf, cap, "-");
        return;
    }
    double base = b->val[m], cur = n->val[m];
    if (base == 0) {
        if (cur == 0)
            snprintf(buf, cap, "+0.0%%");
        else if (cmp_metrics[m].kind == CMP_ERR)
            snprintf(buf, cap, "%+.2fpp", (cur - base) * 100);
        else
            snprintf(buf, cap, "-");
        return;
    }
    double pct = (cur - base) / fabs(base) * 100;
    snprintf(buf, cap, fabs(pct) < 10000 ? "%+.1f%%" : "%+.0f%%", pct);
}

/* One testsuite "stampede.compare": a testcase per line measured on both sides, with a
 * <failure> for each regression. 0, or -1 with a message in err. */
static int cmp_write_junit(const char *path, const cmp_line *lines, size_t nlines,
                           double tol_pct, char *err, size_t errcap)
{
    size_t tests = 0, failures = 0;
    for (size_t i = 0; i < nlines; i++) {
        const cmp_line *l = &lines[i];
        if (l->verdict == CMP_NEW || l->verdict == CMP_REMOVED || l->base == NULL
            || l->cur == NULL || !l->base->has[l->metric] || !l->cur->has[l->metric])
            continue;
        tests++;
        failures += l->verdict == CMP_REGRESSION;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuite name=\"stampede.compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\""
               " skipped=\"0\">\n", tests, failures);
    for (size_t i = 0; i < nlines; i++) {
        const cmp_line *l = &lines[i];
        if (l->verdict == CMP_NEW || l->verdict == CMP_REMOVED || l->base == NULL
            || l->cur == NULL || !l->base->has[l->metric] || !l->cur->has[l->metric])
            continue;
        const char *metric = cmp_metrics[l->metric].name;
        fputs("  <testcase classname=\"stampede.compare\" name=\"", f);
        util_xml_escape(f, l->base->label);
        fprintf(f, ": %s\"", metric);
        if (l->verdict != CMP_REGRESSION) {
            fputs("/>\n", f);
            continue;
        }
        char bv[48], nv[48], ch[48], msg[256];
        cmp_fmt_value(bv, sizeof bv, l->base, l->metric);
        cmp_fmt_value(nv, sizeof nv, l->cur, l->metric);
        cmp_fmt_change(ch, sizeof ch, l->base, l->cur, l->metric);
        snprintf(msg, sizeof msg, "%s regressed: %s -> %s (%s, tolerance %g%%)", metric, bv, nv,
                 ch, tol_pct);
        fputs(">\n    <failure type=\"regression\" message=\"", f);
        util_xml_escape(f, msg);
        fputs("\">", f);
        util_xml_escape(f, l->base->label);
        fputs(": ", f);
        util_xml_escape(f, msg);
        fputs("</failure>\n  </testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
    if (ferror(f) | (fclose(f) != 0)) {
        snprintf(err, errcap, "%s: write failed", path);
        return -1;
    }
    return 0;
}

/* ---- arguments ------------------------------------------------------------------ */

/* "10%", "10" (both 10 percent) or "2.5%": a finite percentage >= 0. */
static int cmp_parse_tolerance(const char *s, double *pct)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || !isfinite(v) || v < 0)
        return -1;
    if (*end == '%')
        end++;
    if (*end != '\0')
        return -1;
    *pct = v;
    return 0;
}

/* Adds the comma-separated metric names of s to sel (in order, once each); -1 and the
 * offending name in err when one is unknown. */
static int cmp_parse_metrics(const char *s, int *sel, int *nsel, char *err, size_t errcap)
{
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int m = 0; m < CMP_NMETRICS; m++)
            if (strlen(cmp_metrics[m].name) == len && strncmp(cmp_metrics[m].name, s, len) == 0)
                found = m;
        if (len > 0 && found < 0) {
            snprintf(err, errcap,
                     "unknown metric '%.*s' (known: " CMP_METRIC_LIST ")",
                     (int)(len > 64 ? 64 : len), s);
            return -1;
        }
        bool dup = false;
        for (int i = 0; i < *nsel; i++)
            dup |= sel[i] == found;
        if (found >= 0 && !dup)
            sel[(*nsel)++] = found;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* Value of option opt at argv[*i]: "--opt=V" or "--opt V" (advancing *i); NULL when
 * argv[*i] is not opt. *missing is set when opt has no value. */
static const char *cmp_opt(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t len = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, len) != 0)
        return NULL;
    if (a[len] == '=')
        return a + len + 1;
    if (a[len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* ---- the command ---------------------------------------------------------------- */

/* false for a line of an optional metric measured on neither side (see the top). */
static bool cmp_shown(const cmp_row *b, const cmp_row *n, int m)
{
    const cmp_row *r = b != NULL ? b : n;
    if (r->sched != (cmp_metrics[m].src == CMP_SRC_SCHED))
        return false;                   /* the Schedule row has schedule metrics alone */
    if (!cmp_metrics[m].optional)
        return true;
    return (b != NULL && b->has[m]) || (n != NULL && n->has[m]);
}

int compare_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)          /* --baseline DIR: against the history's baseline */
        if (!strcmp(argv[i], "--baseline")) return history_compare_baseline(argc, argv);
    const char *paths[2] = { NULL, NULL };
    int npaths = 0;
    const char *junit = NULL, *metric_arg = NULL;
    double tol_pct = CMP_DEFAULT_TOL_PCT;
    int sel[CMP_NMETRICS], nsel = 0;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cmp_usage(stdout);
            fflush(stdout);
            return 0;
        }
        if ((v = cmp_opt(argc, argv, &i, "--tolerance", &missing)) != NULL) {
            if (cmp_parse_tolerance(v, &tol_pct) != 0) {
                fprintf(stderr, "compare: bad --tolerance '%s' (want a percentage such as 10%%)\n", v);
                return 2;
            }
        } else if ((v = cmp_opt(argc, argv, &i, "--metric", &missing)) != NULL) {
            if (cmp_parse_metrics(v, sel, &nsel, err, sizeof err) != 0) {
                fprintf(stderr, "compare: %s\n", err);
                return 2;
            }
            metric_arg = v;
        } else if ((v = cmp_opt(argc, argv, &i, "--junit", &missing)) != NULL) {
            junit = v;
        } else if (missing) {
            fprintf(stderr, "compare: %s needs a value\n", a);
            cmp_usage(stderr);
            return 2;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "compare: unknown option '%s'\n", a);
            cmp_usage(stderr);
            return 2;
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            fprintf(stderr, "compare: too many arguments ('%s')\n", a);
            cmp_usage(stderr);
            return 2;
        }
    }
    if (npaths != 2) {
        fprintf(stderr, "compare: needs BASE and NEW\n");
        cmp_usage(stderr);
        return 2;
    }
    if (metric_arg != NULL && nsel == 0) {
        fprintf(stderr, "compare: --metric names no metric\n");
        return 2;
    }
    if (nsel == 0)
        cmp_parse_metrics(CMP_DEFAULT_METRICS, sel, &nsel, err, sizeof err);
    double tol = tol_pct / 100.0;

    cmp_side base, cur;
    if (cmp_load(paths[0], &base, err, sizeof err) != 0) {
        fprintf(stderr, "compare: %s\n", err);
        return 2;
    }
    if (cmp_load(paths[1], &cur, err, sizeof err) != 0) {
        fprintf(stderr, "compare: %s\n", err);
        cmp_side_free(&base);
        return 2;
    }

    /* Pair the rows: BASE's order first, then what only NEW has. */
    size_t nlines = 0, cap = (base.n + cur.n) * (size_t)nsel;
    cmp_line *lines = calloc(cap ? cap : 1, sizeof *lines);
    if (lines == NULL) {
        fprintf(stderr, "compare: out of memory\n");
        cmp_side_free(&base);
        cmp_side_free(&cur);
        return 2;
    }
    for (size_t i = 0; i < base.n; i++) {
        cmp_row *n = cmp_find(&cur, &base.rows[i]);
        if (n != NULL)
            n->matched = true;
        for (int k = 0; k < nsel; k++)
            if (cmp_shown(&base.rows[i], n, sel[k]))
                lines[nlines++] = (cmp_line){ &base.rows[i], n, sel[k], CMP_OK };
    }
    for (size_t i = 0; i < cur.n; i++)
        if (!cur.rows[i].matched)
            for (int k = 0; k < nsel; k++)
                if (cmp_shown(NULL, &cur.rows[i], sel[k]))
                    lines[nlines++] = (cmp_line){ NULL, &cur.rows[i], sel[k], CMP_OK };

    size_t regressions = 0, improvements = 0;
    int wname = (int)strlen("NAME");
    for (size_t i = 0; i < nlines; i++) {
        cmp_line *l = &lines[i];
        l->verdict = cmp_line_verdict(l->base, l->cur, l->metric, tol);
        regressions += l->verdict == CMP_REGRESSION;
        improvements += l->verdict == CMP_IMPROVED;
        const cmp_row *r = l->base ? l->base : l->cur;
        int len = (int)strlen(r->label);
        if (len > wname)
            wname = len;
    }

    printf("%-*s  %-10s  %12s  %12s  %9s  %s\n", wname, "NAME", "METRIC", "BASE", "NEW",
           "CHANGE", "VERDICT");
    for (size_t i = 0; i < nlines; i++) {
        const cmp_line *l = &lines[i];
        const cmp_row *r = l->base ? l->base : l->cur;
        char bv[48], nv[48], ch[48];
        cmp_fmt_value(bv, sizeof bv, l->base, l->metric);
        cmp_fmt_value(nv, sizeof nv, l->cur, l->metric);
        cmp_fmt_change(ch, sizeof ch, l->base, l->cur, l->metric);
        printf("%-*s  %-10s  %12s  %12s  %9s  %s\n", wname, r->label,
               cmp_metrics[l->metric].name, bv, nv, ch, cmp_verdict_names[l->verdict]);
    }
    printf("compare: %zu regressions, %zu improvements (tolerance %g%%)\n", regressions,
           improvements, tol_pct);
    fflush(stdout);

    int rc = regressions > 0 ? 1 : 0;
    if (junit != NULL && cmp_write_junit(junit, lines, nlines, tol_pct, err, sizeof err) != 0) {
        fprintf(stderr, "compare: %s\n", err);
        rc = 2;
    }
    free(lines);
    cmp_side_free(&base);
    cmp_side_free(&cur);
    return rc;
}
