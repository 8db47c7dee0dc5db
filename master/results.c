/* The results folder of a run: see master/results.h.
 *
 * The CSVs mirror Locust 2.x's StatsCSV (locust/stats.py) as Python's csv.writer
 * writes them: QUOTE_MINIMAL quoting (a field holding , " CR or LF is quoted, quotes
 * doubled), "\r\n" line ends, floats as Python's repr (shortest text that reads back
 * to the same double: 12.5, 0.0, 100.0), the Aggregated row with an empty Type,
 * "N/A" in every percentile column of a row without requests, and
 * Locust's zeros for an empty row (median 0, average 0.0, min 0, max 0, size 0).
 *
 * Decisions the header leaves open, written down here:
 * - Percentile and median columns are integer ms like Locust's, rounded to the nearest
 *   ms. Locust first coarsens samples (nearest ms below 100 ms, 2 significant digits
 *   above); we keep the histogram's 3 digits, so above 100 ms ours are finer, not
 *   coarser. Ranks are nearest-rank (the 50% of 10,12,14,16 ms is 12, equal to the
 *   median column; Locust's own 50% column would say 14). Min, max and average are
 *   float ms (us / 1000), as Locust's are floats.
 * - stats.csv rows are sorted by (name, method), as Locust sorts its entries (the HTTP
 *   rows, then the "WS" rows, master/results.h); the
 *   summary's "requests" and "errors" and failures.csv follow the same order, so two
 *   runs of one scenario list their rows alike. Requests/s and Failures/s there are
 *   whole-run averages over duration_s (Locust's total_rps).
 * - stats_history.csv percentiles are those of the interval (the header's contract;
 *   Locust's default Aggregated row repeats whole-run percentiles there), the Total
 *   columns the run so far; Timestamp is whole seconds of the wall clock, as Locust.
 * - failures.csv Error is the kind name and the detail ("http_status 503"); rows with
 *   a zero count (possible in a hand-built set) are skipped.
 * - Files written at the end go to NAME.tmp and are renamed into place, so a reader
 *   never sees half a summary.json. Latency values in summary.json are ms doubles;
 *   a measured value that is NaN (a threshold without data) is written as null.
 * - WebSocket: every ws error shows Method "WS" in failures.csv, so an error recorded
 *   on "WS:connect" and the same error on "WS" of one name are one row (their counts
 *   added); summary.json's "errors" keeps the entry's own method ("WS:connect" tells a
 *   connection error from a message one). A ws object's "closes" lists the codes seen
 *   (count > 0) in ascending order (the entries' text order: numeric for the
 *   4-digit codes WebSocket uses); a ws name whose entries all hold zeros still gets its
 *   object. The Locust columns of a "WS" row read as for a request: Request Count =
 *   expects and receives done, times = message latency, content size 0. */
#include "master/results.h"
#include "common/util.h"
#include "master/report.h"
#include "common/time.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RES_EOL "\r\n"          /* Python's csv.writer line terminator */
#define RES_PCT_COLS "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
#define RES_NPCTS 11
static const double res_pcts[RES_NPCTS] = { 50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100 };

static const char res_stats_header[] =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    RES_PCT_COLS;
static const char res_history_header[] =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s," RES_PCT_COLS
    ",Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size";
static const char res_failures_header[] = "Method,Name,Error,Occurrences";

static void res_err(char *err, size_t errcap, const char *what, const char *path, int e)
{
    if (err != NULL && errcap > 0)
        snprintf(err, errcap, "%s %s: %s", what, path, strerror(e));
}

/* ---- formatting --------------------------------------------------------------- */

/* v as Python's repr(float): the shortest digits that read back as v, positional
 * between 1e-4 and 1e16 (always with a fractional part), exponent form outside. */
static void res_pyfloat(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char e[48];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    int exp10 = atoi(strchr(e, 'e') + 1);
    if (exp10 < -4 || exp10 >= 16) {
        snprintf(buf, cap, "%s", e);
        return;
    }
    int dec = p - 1 - exp10;
    if (dec < 1)
        snprintf(buf, cap, "%.0f.0", v);
    else
        snprintf(buf, cap, "%.*f", dec, v);
}

/* Writes one float field as Python's csv.writer does (repr). */
static void res_csv_float(FILE *f, double v)
{
    char b[64];
    res_pyfloat(b, sizeof b, v);
    fputs(b, f);
}

/* Microseconds to whole ms, to nearest. */
static unsigned long long res_ms_int(uint64_t us)
{
    return (unsigned long long)((us + 500) / 1000);
}

/* One CSV field, quoted when it holds a delimiter, a quote or a line break. */
static void res_csv_str(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The 11 percentile fields of e, each preceded by a comma. */
static void res_csv_pcts(FILE *f, const merge_entry *e)
{
    for (int i = 0; i < RES_NPCTS; i++) {
        if (e->requests == 0)
            fputs(",N/A", f);
        else
            fprintf(f, ",%llu", res_ms_int(hist_percentile(&e->lat, res_pcts[i])));
    }
}

/* Median, Average, Min, Max, Average Content Size of e, each preceded by a comma,
 * with Locust's zeros for an entry without requests. */
static void res_csv_summary_cols(FILE *f, const merge_entry *e)
{
    if (e->requests == 0) {
        fputs(",0,0.0,0,0,0", f);
        return;
    }
    const hist *h = &e->lat;
    uint64_t min_us = h->total ? h->min_us : 0;
    fprintf(f, ",%llu,", res_ms_int(hist_percentile(h, 50)));
    res_csv_float(f, hist_mean(h) / 1000.0);
    fputc(',', f);
    res_csv_float(f, (double)min_us / 1000.0);
    fputc(',', f);
    res_csv_float(f, (double)h->max_us / 1000.0);
    fputc(',', f);
    res_csv_float(f, (double)e->bytes / (double)e->requests);
}

/* "kind detail" (or just the kind) for an error row. */
static void res_err_text(char *buf, size_t cap, const merge_err *e)
{
    const char *kind = stats_err_kind_name(e->kind);
    if (kind == NULL)
        kind = "other";
    if (e->detail[0] != '\0')
        snprintf(buf, cap, "%s %s", kind, e->detail);
    else
        snprintf(buf, cap, "%s", kind);
}

/* "2024-05-01T12:00:00.123Z" */
static void res_iso_time(char *buf, size_t cap, uint64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03uZ", b, (unsigned)(wall_ms % 1000));
}

/* ---- files -------------------------------------------------------------------- */

/* mkdir -p dir (mode 0755). 0, or -1 with err. */
static int res_mkdirs(const char *dir, char *err, size_t errcap)
{
    char p[sizeof ((results *)0)->dir];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results folder name %s", n ? "too long" : "empty");
        return -1;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            res_err(err, errcap, "cannot create", p, errno);
            return -1;
        }
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        res_err(err, errcap, "cannot create", dir, errno);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        res_err(err, errcap, "cannot create", dir, ENOTDIR);
        return -1;
    }
    return 0;
}

static int res_path(char *buf, size_t cap, const results *r, const char *file)
{
    int n = snprintf(buf, cap, "%s/%s", r->dir, file);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Opens DIR/file.tmp for writing. */
static FILE *res_tmp_open(const results *r, const char *file, char *err, size_t errcap)
{
    char path[sizeof r->dir + 64];
    if (res_path(path, sizeof path, r, file) != 0 || strlen(path) + 4 >= sizeof path) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results path too long for %s", file);
        return NULL;
    }
    strcat(path, ".tmp");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        res_err(err, errcap, "cannot write", path, errno);
    return f;
}

/* Closes and removes DIR/file.tmp after a failure. */
static void res_tmp_abort(const results *r, FILE *f, const char *file)
{
    char path[sizeof r->dir + 64];
    fclose(f);
    if (snprintf(path, sizeof path, "%s/%s.tmp", r->dir, file) < (int)sizeof path)
        remove(path);
}

/* Closes f (DIR/file.tmp) and renames it to DIR/file; on a write error removes it. */
static int res_tmp_commit(const results *r, FILE *f, const char *file, char *err, size_t errcap)
{
    char path[sizeof r->dir + 64], tmp[sizeof r->dir + 68];
    res_path(path, sizeof path, r, file);       /* fits: res_tmp_open checked it */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad = ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        res_err(err, errcap, "cannot write", tmp, e ? e : EIO);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        res_err(err, errcap, "cannot rename to", path, errno);
        remove(tmp);
        return -1;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------ */

int results_open(results *r, const char *dir, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    if (res_mkdirs(dir, err, errcap) != 0)
        return -1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char path[sizeof r->dir + 64];
    if (res_path(path, sizeof path, r, "stats_history.csv") != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results path too long");
        return -1;
    }
    r->history = fopen(path, "w");
    if (r->history == NULL) {
        res_err(err, errcap, "cannot write", path, errno);
        return -1;
    }
    fputs(res_history_header, r->history);
    fputs(RES_EOL, r->history);
    if (fflush(r->history) != 0) {
        res_err(err, errcap, "cannot write", path, errno);
        fclose(r->history);
        r->history = NULL;
        return -1;
    }
    return 0;
}

/* One Aggregated row, flushed so an interrupted run keeps it. */
int results_history(results *r, uint64_t wall_ms, uint32_t users, double interval_s,
                    const merge_set *interval, const merge_set *totals)
{
    FILE *f = r->history;
    if (f == NULL)
        return -1;
    const merge_entry *iv = &interval->all;
    double rps = interval_s > 0 ? (double)iv->requests / interval_s : 0.0;
    double fps = interval_s > 0 ? (double)iv->failures / interval_s : 0.0;
    fprintf(f, "%llu,%u,,Aggregated,%2f,%2f", (unsigned long long)(wall_ms / 1000), users,
            rps, fps);                               /* Locust: f"{current_rps:2f}" */
    res_csv_pcts(f, iv);
    fprintf(f, ",%llu,%llu", (unsigned long long)totals->all.requests,
            (unsigned long long)totals->all.failures);
    res_csv_summary_cols(f, &totals->all);
    fputs(RES_EOL, f);
    if (fflush(f) != 0 || ferror(f))
        return -1;
    return 0;
}

static int res_cmp_entry(const void *a, const void *b)
{
    const merge_entry *x = *(const merge_entry *const *)a, *y = *(const merge_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->method, y->method);
}

/* The method an error row shows in failures.csv: "WS" for every ws entry's errors. */
static const char *res_shown_method(const char *method)
{
    return stats_is_ws_method(method) ? STATS_WS_MESSAGE : method;
}

/* Errors sort by (name, shown method, kind, detail), then the entry's own method, so
 * the rows failures.csv shows as one are neighbours. */
static int res_cmp_err(const void *a, const void *b)
{
    const merge_err *x = *(const merge_err *const *)a, *y = *(const merge_err *const *)b;
    int c = strcmp(x->name, y->name);
    if (c == 0)
        c = strcmp(res_shown_method(x->method), res_shown_method(y->method));
    if (c == 0)
        c = (int)x->kind - (int)y->kind;
    if (c == 0)
        c = strcmp(x->detail, y->detail);
    return c ? c : strcmp(x->method, y->method);
}

/* true when a and b make the same failures.csv row. */
static bool res_same_shown_err(const merge_err *a, const merge_err *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0
           && strcmp(a->detail, b->detail) == 0
           && strcmp(res_shown_method(a->method), res_shown_method(b->method)) == 0;
}

/* Sorted views of the entries and error rows (caller frees); -1 on ENOMEM. */
static int res_sorted(const merge_set *m, const merge_entry ***ents, const merge_err ***errs)
{
    *ents = malloc(((size_t)m->n + 1) * sizeof **ents);
    *errs = malloc(((size_t)m->nerrs + 1) * sizeof **errs);
    if (*ents == NULL || *errs == NULL) {
        free(*ents);
        free(*errs);
        *ents = NULL;
        *errs = NULL;
        return -1;
    }
    for (uint32_t i = 0; i < m->n; i++)
        (*ents)[i] = &m->entries[i];
    for (uint32_t i = 0; i < m->nerrs; i++)
        (*errs)[i] = &m->errs[i];
    qsort(*ents, m->n, sizeof **ents, res_cmp_entry);
    qsort(*errs, m->nerrs, sizeof **errs, res_cmp_err);
    return 0;
}

static void res_stats_row(FILE *f, const merge_entry *e, double duration_s)
{
    res_csv_str(f, e->method);
    fputc(',', f);
    res_csv_str(f, e->name);
    fprintf(f, ",%llu,%llu", (unsigned long long)e->requests, (unsigned long long)e->failures);
    res_csv_summary_cols(f, e);
    fputc(',', f);
    res_csv_float(f, duration_s > 0 ? (double)e->requests / duration_s : 0.0);
    fputc(',', f);
    res_csv_float(f, duration_s > 0 ? (double)e->failures / duration_s : 0.0);
    res_csv_pcts(f, e);
    fputs(RES_EOL, f);
}

static int res_write_stats(const results *r, const merge_set *t, const merge_entry **ents,
                           double duration_s, char *err, size_t errcap)
{
    FILE *f = res_tmp_open(r, "stats.csv", err, errcap);
    if (f == NULL)
        return -1;
    fputs(res_stats_header, f);
    fputs(RES_EOL, f);
    for (uint32_t i = 0; i < t->n; i++)         /* HTTP rows */
        if (!stats_is_ws_method(ents[i]->method))
            res_stats_row(f, ents[i], duration_s);
    for (uint32_t i = 0; i < t->n; i++)         /* then one row per ws connection name */
        if (strcmp(ents[i]->method, STATS_WS_MESSAGE) == 0)
            res_stats_row(f, ents[i], duration_s);
    res_stats_row(f, &t->all, duration_s);
    return res_tmp_commit(r, f, "stats.csv", err, errcap);
}

/* errs is sorted by res_cmp_err, so rows that show alike are neighbours: they are
 * written as one, their counts added. */
static int res_write_failures(const results *r, const merge_set *t, const merge_err **errs,
                              char *err, size_t errcap)
{
    FILE *f = res_tmp_open(r, "failures.csv", err, errcap);
    if (f == NULL)
        return -1;
    fputs(res_failures_header, f);
    fputs(RES_EOL, f);
    for (uint32_t i = 0; i < t->nerrs;) {
        const merge_err *e = errs[i];
        uint64_t count = 0;
        uint32_t j = i;
        for (; j < t->nerrs && res_same_shown_err(e, errs[j]); j++)
            count += errs[j]->count;
        i = j;
        if (count == 0)
            continue;
        char text[STATS_DETAIL_MAX + 32];
        res_err_text(text, sizeof text, e);
        res_csv_str(f, res_shown_method(e->method));
        fputc(',', f);
        res_csv_str(f, e->name);
        fputc(',', f);
        res_csv_str(f, text);
        fprintf(f, ",%llu" RES_EOL, (unsigned long long)count);
    }
    return res_tmp_commit(r, f, "failures.csv", err, errcap);
}

/* "measured 612.345ms", "measured 1.5%", "measured NaN (no requests named login)". */
static void res_measured(char *buf, size_t cap, const th_result *t)
{
    const sc_threshold *th = t->th;
    char v[64];
    if (isnan(t->value)) {
        if (th->name != NULL && (th->ws != TH_WS_NONE || th->metric == TH_OUT_OF_ORDER))
            snprintf(buf, cap, "measured NaN (no WebSocket data named %s)", th->name);
        else if (th->name != NULL)
            snprintf(buf, cap, "measured NaN (no requests named %s)", th->name);
        else
            snprintf(buf, cap, "measured NaN (no data)");
        return;
    }
    switch (th->metric) {
    case TH_ERROR_RATE:
        snprintf(buf, cap, "measured %.6g%%", t->value * 100.0);
        return;
    case TH_RPS:
        snprintf(buf, cap, "measured %.6g/s", t->value);
        return;
    case TH_REQUESTS:
    case TH_FAILURES:
    case TH_OUT_OF_ORDER:
        snprintf(buf, cap, "measured %.0f", t->value);
        return;
    default:                                    /* latencies, in ms */
        res_pyfloat(v, sizeof v, t->value);
        snprintf(buf, cap, "measured %sms", v);
        return;
    }
}

static int res_write_junit(const results *r, const results_meta *meta, char *err, size_t errcap)
{
    FILE *f = res_tmp_open(r, "junit.xml", err, errcap);
    if (f == NULL)
        return -1;
    int nfail = 0;
    for (int i = 0; i < meta->nth; i++)
        nfail += !meta->th[i].ok;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuite name=\"stampede thresholds\" tests=\"%d\" failures=\"%d\" "
               "errors=\"0\" skipped=\"0\" time=\"%.3f\"", meta->nth, nfail,
            meta->duration_s > 0 ? meta->duration_s : 0.0);
    if (meta->start_wall_ms != 0) {
        char ts[40];
        res_iso_time(ts, sizeof ts, meta->start_wall_ms);
        fprintf(f, " timestamp=\"%s\"", ts);
    }
    fputs(">\n", f);
    for (int i = 0; i < meta->nth; i++) {
        const th_result *t = &meta->th[i];
        const char *expr = t->th && t->th->expr ? t->th->expr : "";
        fputs("  <testcase name=\"", f);
        util_xml_escape(f, expr);
        fputs("\" classname=\"thresholds\" time=\"0\"", f);
        if (t->ok) {
            fputs("/>\n", f);
            continue;
        }
        char msg[STATS_NAME_MAX + 96];
        if (t->th != NULL)
            res_measured(msg, sizeof msg, t);
        else
            snprintf(msg, sizeof msg, "measured NaN");
        fputs(">\n    <failure message=\"", f);
        util_xml_escape(f, msg);
        fputs("\" type=\"threshold\">", f);
        util_xml_escape(f, expr);
        fputs(": ", f);
        util_xml_escape(f, msg);
        fputs("</failure>\n  </testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
    return res_tmp_commit(r, f, "junit.xml", err, errcap);
}

/* ---- summary.json --------------------------------------------------------------- */

static json_t *res_jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *res_juint(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);  /* json_int_t: long long */
}

static json_t *res_jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* {"min","mean","p50","p90","p95","p99","p999","max"} in ms; zeros when empty. */
static json_t *res_jlatency(const hist *h)
{
    json_t *o = json_object();
    bool any = h->total > 0;
    json_object_set_new(o, "min", json_real(any ? (double)h->min_us / 1000.0 : 0.0));
    json_object_set_new(o, "mean", json_real(hist_mean(h) / 1000.0));
    json_object_set_new(o, "p50", json_real((double)hist_percentile(h, 50) / 1000.0));
    json_object_set_new(o, "p90", json_real((double)hist_percentile(h, 90) / 1000.0));
    json_object_set_new(o, "p95", json_real((double)hist_percentile(h, 95) / 1000.0));
    json_object_set_new(o, "p99", json_real((double)hist_percentile(h, 99) / 1000.0));
    json_object_set_new(o, "p999", json_real((double)hist_percentile(h, 99.9) / 1000.0));
    json_object_set_new(o, "max", json_real(any ? (double)h->max_us / 1000.0 : 0.0));
    return o;
}

/* The ws entries of one connection name, gathered while walking the sorted entries. */
typedef struct res_ws_group {
    const char *name;
    const merge_entry *message, *connect, *reconnect, *fanout, *ping, *sent, *recv, *order;
    json_t *closes;             /* {"CODE": N}, in entry order: ascending for 4-digit codes */
} res_ws_group;

static uint64_t res_req(const merge_entry *e)
{
    return e != NULL ? e->requests : 0;
}

static uint64_t res_fail(const merge_entry *e)
{
    return e != NULL ? e->failures : 0;
}

static uint64_t res_bytes(const merge_entry *e)
{
    return e != NULL ? e->bytes : 0;
}

/* The latency object of an entry that may be absent (then all zeros). */
static json_t *res_jlatency_of(const merge_entry *e)
{
    if (e != NULL)
        return res_jlatency(&e->lat);
    hist empty;
    hist_init(&empty);
    json_t *o = res_jlatency(&empty);
    hist_fini(&empty);
    return o;
}

/* One "ws" object, in master/results.h's key order; takes over g->closes. */
static json_t *res_jws_object(res_ws_group *g)
{
    json_t *o = json_object();
    uint64_t attempts = res_req(g->connect), connect_failures = res_fail(g->connect);
    json_object_set_new(o, "name", json_string(g->name));
    json_object_set_new(o, "connects", res_juint(attempts >= connect_failures
                                                 ? attempts - connect_failures : 0));
    json_object_set_new(o, "connect_failures", res_juint(connect_failures));
    json_object_set_new(o, "reconnects", res_juint(res_req(g->reconnect)));
    json_object_set_new(o, "messages_sent", res_juint(res_req(g->sent)));
    json_object_set_new(o, "messages_received", res_juint(res_req(g->recv)));
    json_object_set_new(o, "bytes_sent", res_juint(res_bytes(g->sent)));
    json_object_set_new(o, "bytes_received", res_juint(res_bytes(g->recv)));
    json_object_set_new(o, "expects", res_juint(res_req(g->message)));
    json_object_set_new(o, "expect_failures", res_juint(res_fail(g->message)));
    json_object_set_new(o, "sequenced", res_juint(res_req(g->order)));
    json_object_set_new(o, "out_of_order", res_juint(res_fail(g->order)));
    json_object_set_new(o, "fanout_messages", res_juint(res_req(g->fanout)));
    json_object_set_new(o, "pings", res_juint(res_req(g->ping)));
    json_object_set_new(o, "closes", g->closes);
    json_object_set_new(o, "connect_ms", res_jlatency_of(g->connect));
    json_object_set_new(o, "message_ms", res_jlatency_of(g->message));
    json_object_set_new(o, "fanout_ms", res_jlatency_of(g->fanout));
    json_object_set_new(o, "reconnect_ms", res_jlatency_of(g->reconnect));
    json_object_set_new(o, "ping_ms", res_jlatency_of(g->ping));
    g->closes = NULL;
    return o;
}

/* summary.json's "ws": one object per connection name. ents is sorted by (name,
 * method), so all entries of a name are neighbours (HTTP ones of the same name may sit
 * among them and are passed over); a name's object is written when its run ends. */
static json_t *res_jws(const merge_set *t, const merge_entry **ents)
{
    json_t *arr = json_array();
    res_ws_group g = { 0 };
    const size_t plen = strlen(STATS_WS_CLOSE_PREFIX);
    for (uint32_t i = 0; i < t->n; i++) {
        const merge_entry *e = ents[i];
        if (!stats_is_ws_method(e->method))
            continue;
        if (g.name == NULL || strcmp(g.name, e->name) != 0) {
            if (g.name != NULL)
                json_array_append_new(arr, res_jws_object(&g));
            memset(&g, 0, sizeof g);
            g.name = e->name;
            g.closes = json_object();
        }
        const char *m = e->method;
        if (strcmp(m, STATS_WS_MESSAGE) == 0)
            g.message = e;
        else if (strcmp(m, STATS_WS_CONNECT) == 0)
            g.connect = e;
        else if (strcmp(m, STATS_WS_RECONNECT) == 0)
            g.reconnect = e;
        else if (strcmp(m, STATS_WS_FANOUT) == 0)
            g.fanout = e;
        else if (strcmp(m, STATS_WS_PING) == 0)
            g.ping = e;
        else if (strcmp(m, STATS_WS_SENT) == 0)
            g.sent = e;
        else if (strcmp(m, STATS_WS_RECV) == 0)
            g.recv = e;
        else if (strcmp(m, STATS_WS_ORDER) == 0)
            g.order = e;
        else if (strncmp(m, STATS_WS_CLOSE_PREFIX, plen) == 0 && m[plen] != '\0'
                 && e->requests > 0)
            json_object_set_new(g.closes, m + plen, res_juint(e->requests));
        /* any other "WS:" method is a newer figure this build does not know: skipped */
    }
    if (g.name != NULL)
        json_array_append_new(arr, res_jws_object(&g));
    return arr;
}

static json_t *res_jsummary(const results_meta *meta, const merge_set *t,
                            const merge_entry **ents, const merge_err **errs)
{
    const scenario *sc = meta->sc;
    double dur = meta->duration_s;
    char ts[40];
    json_t *root = json_object();
    json_object_set_new(root, "scenario", res_jstr(sc ? sc->name : NULL));
    json_object_set_new(root, "file", res_jstr(sc ? sc->file : NULL));
    json_object_set_new(root, "target", res_jstr(meta->target ? meta->target
                                                 : sc ? sc->target : NULL));
    res_iso_time(ts, sizeof ts, meta->start_wall_ms);
    json_object_set_new(root, "start", json_string(ts));
    res_iso_time(ts, sizeof ts, meta->end_wall_ms);
    json_object_set_new(root, "end", json_string(ts));
    json_object_set_new(root, "start_ms", res_juint(meta->start_wall_ms));
    json_object_set_new(root, "end_ms", res_juint(meta->end_wall_ms));
    json_object_set_new(root, "duration_s", res_jreal(dur));
    json_object_set_new(root, "stop_reason", res_jstr(meta->stop_reason));
    json_object_set_new(root, "peak_users", json_integer(meta->peak_users));

    const merge_entry *a = &t->all;
    json_t *tot = json_object();
    json_object_set_new(tot, "requests", res_juint(a->requests));
    json_object_set_new(tot, "failures", res_juint(a->failures));
    json_object_set_new(tot, "rps", json_real(dur > 0 ? (double)a->requests / dur : 0.0));
    json_object_set_new(tot, "error_rate",
                        json_real(a->requests ? (double)a->failures / (double)a->requests : 0.0));
    json_object_set_new(tot, "cancelled", res_juint(t->cancelled));
    json_object_set_new(tot, "bytes", res_juint(a->bytes));
    json_object_set_new(tot, "latency_ms", res_jlatency(&a->lat));
    json_object_set_new(root, "totals", tot);

    json_t *reqs = json_array();
    for (uint32_t i = 0; i < t->n; i++) {
        const merge_entry *e = ents[i];
        if (stats_is_ws_method(e->method))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(e->name));
        json_object_set_new(o, "method", json_string(e->method));
        json_object_set_new(o, "requests", res_juint(e->requests));
        json_object_set_new(o, "failures", res_juint(e->failures));
        json_object_set_new(o, "rps", json_real(dur > 0 ? (double)e->requests / dur : 0.0));
        json_object_set_new(o, "error_rate",
                            json_real(e->requests ? (double)e->failures / (double)e->requests : 0.0));
        json_object_set_new(o, "bytes", res_juint(e->bytes));
        json_object_set_new(o, "latency_ms", res_jlatency(&e->lat));
        json_array_append_new(reqs, o);
    }
    json_object_set_new(root, "requests", reqs);
    json_object_set_new(root, "ws", res_jws(t, ents));

    json_t *jerrs = json_array();
    for (uint32_t i = 0; i < t->nerrs; i++) {
        const merge_err *e = errs[i];
        if (e->count == 0)
            continue;
        const char *kind = stats_err_kind_name(e->kind);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(e->name));
        json_object_set_new(o, "method", json_string(e->method));
        json_object_set_new(o, "kind", json_string(kind ? kind : "other"));
        json_object_set_new(o, "detail", json_string(e->detail));
        json_object_set_new(o, "count", res_juint(e->count));
        json_array_append_new(jerrs, o);
    }
    json_object_set_new(root, "errors", jerrs);

    json_t *ths = json_array();
    for (int i = 0; i < meta->nth; i++) {
        const th_result *r = &meta->th[i];
        json_t *o = json_object();
        json_object_set_new(o, "expr", res_jstr(r->th ? r->th->expr : NULL));
        json_object_set_new(o, "ok", json_boolean(r->ok));
        json_object_set_new(o, "value", res_jreal(r->value));
        json_array_append_new(ths, o);
    }
    json_object_set_new(root, "thresholds", ths);

    json_t *ws = json_array();
    for (int i = 0; i < meta->nworkers; i++) {
        const results_worker *w = &meta->workers[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(w->id));
        json_object_set_new(o, "host", json_string(w->host));
        json_object_set_new(o, "threads", json_integer(w->threads));
        json_object_set_new(o, "requests", res_juint(w->requests));
        json_object_set_new(o, "state", res_jstr(w->state));
        if (w->lost_at_ms) {
            char iso[40];
            json_object_set_new(o, "lost_at", json_string(time_iso8601(w->lost_at_ms, iso, sizeof iso)));
            json_object_set_new(o, "lost_at_s", json_real(w->lost_at_s));
            json_object_set_new(o, "missing_requests_max", res_juint(w->missing_requests_max));
        }
        json_array_append_new(ws, o);
    }
    json_object_set_new(root, "workers", ws);
    json_object_set_new(root, "names_folded", res_juint(t->names_folded));
    json_object_set_new(root, "missing_requests_max", res_juint(meta->missing_requests_max));
    return root;
}

static int res_write_summary(const results *r, const results_meta *meta, const merge_set *t,
                             const merge_entry **ents, const merge_err **errs,
                             char *err, size_t errcap)
{
    json_t *root = res_jsummary(meta, t, ents, errs);
    if (root == NULL) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory building summary.json");
        return -1;
    }
    FILE *f = res_tmp_open(r, "summary.json", err, errcap);
    if (f == NULL) {
        json_decref(root);
        return -1;
    }
    /* 15 digits: exact for every ms value with us precision, without 0.1's tail. */
    int bad = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0;
    json_decref(root);
    if (bad) {
        res_tmp_abort(r, f, "summary.json");
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "cannot write %s/summary.json.tmp", r->dir);
        return -1;
    }
    fputc('\n', f);
    return res_tmp_commit(r, f, "summary.json", err, errcap);
}

int results_finish(results *r, const results_meta *meta, const merge_set *totals,
                   char *err, size_t errcap)
{
    const merge_entry **ents;
    const merge_err **errs;
    if (r->dir[0] == '\0') {                   /* results_open failed or never ran */
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results folder not open");
        return -1;
    }
    if (res_sorted(totals, &ents, &errs) != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory writing results");
        results_close(r);
        return -1;
    }
    /* Every file is attempted; err keeps the first failure. */
    char e2[1400] = "";
    int rv = 0;
#define RES_STEP(call)                                                          \
    do {                                                                        \
        if ((call) != 0) {                                                      \
            if (rv == 0 && err != NULL && errcap > 0)                           \
                snprintf(err, errcap, "%s", e2);                                \
            rv = -1;                                                            \
        }                                                                       \
    } while (0)
    RES_STEP(res_write_stats(r, totals, ents, meta->duration_s, e2, sizeof e2));
    RES_STEP(res_write_failures(r, totals, errs, e2, sizeof e2));
    RES_STEP(res_write_junit(r, meta, e2, sizeof e2));
    RES_STEP(res_write_summary(r, meta, totals, ents, errs, e2, sizeof e2));
#undef RES_STEP
    free(ents);
    free(errs);
    if (r->history != NULL) {
        int bad = ferror(r->history);
        if (fclose(r->history) != 0 || bad) {
            if (rv == 0 && err != NULL && errcap > 0)
                snprintf(err, errcap, "cannot write %s/stats_history.csv", r->dir);
            rv = -1;
        }
        r->history = NULL;
    }
    /* report.html last: it reads summary.json and the now complete history back. */
    if (rv == 0 && report_write(r->dir, e2, sizeof e2) != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s", e2);
        rv = -1;
    }
    return rv;
}

void results_close(results *r)
{
    if (r != NULL && r->history != NULL) {
        fclose(r->history);
        r->history = NULL;
    }
}

/* results/<name>-YYYYmmdd-HHMMSS (UTC). Characters of the name that would make a path
 * or a shell word awkward (anything but letters, digits, '.', '_', '-') become '_'. */
void results_default_dir(const char *name, uint64_t wall_ms, char *buf, size_t cap)
{
    char clean[STATS_NAME_MAX];
    size_t n = 0;
    for (const char *s = name ? name : ""; *s && n + 1 < sizeof clean; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '.' || c == '_' || c == '-';
        clean[n++] = ok ? (char)c : '_';
    }
    clean[n] = '\0';
    if (n == 0 || strspn(clean, ".") == n)      /* "", ".", ".." are not names */
        snprintf(clean, sizeof clean, "run");
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, cap, "results/%s-%s", clean, stamp);
}
