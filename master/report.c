/* report.html: one self-contained page per results folder (master/report.h).
 *
 * The page is, in order: the head with uPlot's CSS, app.css and the report's own
 * styles (report_css below: app.css is shared with the live dashboard, these are the
 * report's alone), a placeholder the renderer fills, the data element, then uPlot and
 * report.js. Everything is inline; nothing is fetched.
 *
 * Data element: {"summary": <summary.json re-dumped by jansson>, "history": {...},
 * "schedule": {...} or null, "monitor": [...] or null}. The monitor's series come from
 * monitor.csv (master/monitor.h monitor_report_data), at most REPORT_MONITOR_POINTS
 * points each (each the largest of its run of samples: peaks stay visible). The schedule holds schedule.csv's columns (the open
 * model: t, planned, achieved, backlog, dropped, lag_p99, s50, s95, s99, limited; ten
 * doubles a row more), null when the folder has none (a closed run, an older folder).
 * The summary goes through json_dump_callback and the history is printed column by
 * column from arrays of doubles, so the only sizeable memory is the history itself
 * (7 doubles a row: ~4.8 MB for a 24 h run at one row a second) plus jansson's tree of
 * summary.json, which the name cap keeps small. Every "<" in the data is written as
 * \u003c (valid inside any JSON string, and "<" appears nowhere else in JSON), so no
 * data can close the script element or open a comment in it. */
#include "master/report.h"
#include "master/monitor.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "master/assets.h"
#include "common/util.h"

/* Styles of the report only. app.css (shared with the live dashboard) gives the page
 * its look: header, .card, table.data/.sortable, .badge, .notice, .chart, .pill; these
 * rules, written after it, add what only the report has (the metadata grid, the type
 * tags, the stacked charts) and are scoped under body.stampede-report. */
static const char report_css[] =
    ".stampede-report main{max-width:1180px;}\n"
    ".stampede-report header .rp-sub{overflow-wrap:anywhere;}\n"
    ".stampede-report header .rp-verdict{margin-left:auto;font-size:13px;padding:4px 14px;}\n"
    ".stampede-report section.card>h2{margin-bottom:12px;}\n"
    ".stampede-report .rp-meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));"
    "gap:10px 18px;margin:0;}\n"
    ".stampede-report .rp-meta div{min-width:0;}\n"
    ".stampede-report .rp-meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.4px;"
    "color:#6b7280;margin:0;}\n"
    ".stampede-report .rp-meta dd{margin:1px 0 0;font-size:15px;font-weight:600;"
    "font-variant-numeric:tabular-nums;overflow-wrap:anywhere;}\n"
    ".stampede-report .notice{margin:12px 0 0;}\n"
    ".stampede-report .notice.warn{border-color:#f5d9a8;background:#fff4e0;color:#92400e;}\n"
    ".stampede-report .rp-empty{font-style:italic;margin:4px 0;}\n"
    ".stampede-report .rp-note{color:#6b7280;font-size:12px;margin:10px 0 0;}\n"
    ".stampede-report .rp-charts{display:flex;flex-direction:column;gap:20px;}\n"
    ".stampede-report .rp-charts h3{margin:0 0 4px;color:#374151;}\n"
    ".stampede-report .chart{min-height:60px;}\n"
    ".stampede-report h3.rp-health{margin:18px 0 6px;}\n"
    ".stampede-report .chart .uplot{margin:0 auto;}\n"
    ".stampede-report .chart .rp-empty{padding:24px 0;text-align:center;}\n"
    ".stampede-report table.data td.name{font-family:ui-monospace,SFMono-Regular,Menlo,"
    "Consolas,\"Liberation Mono\",monospace;font-size:12.5px;}\n"
    ".stampede-report table.data th.num,.stampede-report table.data td.num{text-align:right;}\n"
    ".stampede-report table.sortable th:not(.sort-asc):not(.sort-desc)::after{"
    "content:\" \\2195\";font-size:10px;opacity:.35;}\n"
    ".stampede-report table.data tfoot td{background:#f8f9fb;}\n"
    ".stampede-report table#ws th{white-space:normal;vertical-align:bottom;}\n"
    ".stampede-report .rp-tag{display:inline-block;min-width:40px;text-align:center;padding:0 6px;"
    "border-radius:4px;font-size:11px;font-weight:700;background:#e8f0fe;color:#1e40af;}\n"
    ".stampede-report .rp-tag.ws{background:#f5e8ff;color:#7e22ce;}\n"
    ".stampede-report noscript{display:block;max-width:760px;margin:40px auto;padding:16px;"
    "border:1px solid #e3e6eb;border-radius:8px;background:#fff;}\n"
    "@media print{body.stampede-report{background:#fff;}"
    ".stampede-report .card{box-shadow:none;break-inside:avoid;}}\n";

/* ---- stats_history.csv ---------------------------------------------------------- */

enum { REP_T, REP_USERS, REP_RPS, REP_FPS, REP_P50, REP_P95, REP_P99, REP_NCOL };

/* JSON keys of the history arrays, in enum order, and the stats_history.csv columns
 * they come from. */
static const char *const rep_hist_keys[REP_NCOL] = {
    "t", "users", "rps", "fps", "p50", "p95", "p99"
};
static const char *const rep_hist_cols[REP_NCOL] = {
    "Timestamp", "User Count", "Requests/s", "Failures/s", "50%", "95%", "99%"
};

/* schedule.csv (the open model, master/results.h): its keys in the data element and
 * its columns. Timestamp first, as in the history. */
#define REP_SCHED_NCOL 10
static const char *const rep_sched_keys[REP_SCHED_NCOL] = {
    "t", "planned", "achieved", "backlog", "dropped", "lag_p99", "s50", "s95", "s99", "limited"
};
static const char *const rep_sched_cols[REP_SCHED_NCOL] = {
    "Timestamp", "Planned Rate", "Achieved Rate", "Backlog Max", "Dropped", "Lag p99",
    "Service p50", "Service p95", "Service p99", "Limited"
};
#define REP_MAXCOL 12
#define REPORT_MONITOR_POINTS 2000

/* A CSV series as columns (ncol of them, column 0 the time); NAN stands for JSON null
 * ("N/A" or no value). */
typedef struct rep_hist {
    double *col[REP_MAXCOL];
    int     ncol;
    size_t  n, cap;
    double  t0;                 /* the first row's timestamp (NaN: no row) */
} rep_hist;

/* One CSV record at a time: fields NUL-separated in buf, their starts in off. Quoted
 * fields may hold commas, doubled quotes and line breaks (Python's csv module). */
typedef struct rep_csv {
    FILE   *f;
    char   *buf;
    size_t  len, cap;
    size_t *off;
    size_t  nf, offcap;
} rep_csv;

static int rep_csv_putc(rep_csv *c, char ch)
{
    if (c->len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char *b = realloc(c->buf, cap);
        if (!b) return -1;
        c->buf = b;
        c->cap = cap;
    }
    c->buf[c->len++] = ch;
    return 0;
}

/* Ends the current field (NUL) and starts the next one at len. */
static int rep_csv_field(rep_csv *c)
{
    if (rep_csv_putc(c, '\0') != 0) return -1;
    if (c->nf + 1 > c->offcap) {
        size_t cap = c->offcap ? c->offcap * 2 : 32;
        size_t *o = realloc(c->off, cap * sizeof *o);
        if (!o) return -1;
        c->off = o;
        c->offcap = cap;
    }
    c->off[c->nf++] = c->len;
    return 0;
}

/* Reads the next record: 1, 0 at the end of the file, -1 when out of memory. Field i
 * is c->buf + c->off[i] for i < c->nf. "\r" outside quotes is dropped. */
static int rep_csv_next(rep_csv *c)
{
    int ch;
    bool quoted = false, any = false;
    c->len = 0;
    c->nf = 0;
    if (rep_csv_field(c) != 0) return -1;      /* placeholder NUL; field 0 starts at 1 */
    while ((ch = getc(c->f)) != EOF) {
        any = true;
        if (quoted) {
            if (ch == '"') {
                int next = getc(c->f);
                if (next == '"') {
                    if (rep_csv_putc(c, '"') != 0) return -1;
                    continue;
                }
                quoted = false;
                if (next == EOF) break;
                ungetc(next, c->f);
                continue;
            }
            if (rep_csv_putc(c, (char)ch) != 0) return -1;
            continue;
        }
        if (ch == '"' && c->len == c->off[c->nf - 1])
            quoted = true;                     /* only a field's first char opens quotes */
        else if (ch == ',') {
            if (rep_csv_field(c) != 0) return -1;
        } else if (ch == '\n') {
            break;
        } else if (ch != '\r') {
            if (rep_csv_putc(c, (char)ch) != 0) return -1;
        }
    }
    if (!any) return 0;
    return rep_csv_putc(c, '\0') == 0 ? 1 : -1;
}

static const char *rep_csv_get(const rep_csv *c, int idx)
{
    return idx >= 0 && (size_t)idx < c->nf ? c->buf + c->off[idx] : NULL;
}

/* A finite number, or NAN for "N/A", empty or anything else. */
static double rep_num(const char *s)
{
    if (!s) return NAN;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE) return NAN;
    while (*end == ' ') end++;
    return *end == '\0' && isfinite(v) ? v : NAN;
}

static int rep_hist_push(rep_hist *h, const double *row)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        for (int i = 0; i < h->ncol; i++) {
            double *p = realloc(h->col[i], cap * sizeof *p);
            if (!p) return -1;
            h->col[i] = p;
        }
        h->cap = cap;
    }
    for (int i = 0; i < h->ncol; i++)
        h->col[i][h->n] = row[i];
    h->n++;
    return 0;
}

static void rep_hist_free(rep_hist *h)
{
    for (int i = 0; i < REP_MAXCOL; i++)
        free(h->col[i]);
}

/* Loads the rows of path into h's ncol columns, found by name (names[0] the
 * timestamp) in the header; a file with a "Name" column (Locust's stats_history.csv)
 * gives its Aggregated rows only. A missing or unreadable file leaves h empty: the
 * history and the schedule are optional. Rows without a numeric timestamp are skipped;
 * t is seconds since the first row. 0, or -1 when out of memory. */
static int rep_hist_load(rep_hist *h, const char *path, const char *const *names, int ncol)
{
    h->ncol = ncol;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    rep_csv c = { .f = f };
    int idx[REP_MAXCOL], name_idx = -1, rc = rep_csv_next(&c);
    for (int i = 0; i < ncol; i++) idx[i] = -1;
    if (rc == 1) {
        for (size_t k = 0; k < c.nf; k++) {
            const char *col = c.buf + c.off[k];
            if (!strcmp(col, "Name")) name_idx = (int)k;
            for (int i = 0; i < ncol; i++)
                if (!strcmp(col, names[i])) idx[i] = (int)k;
        }
    }
    double t0 = NAN;
    while (rc == 1 && idx[REP_T] >= 0 && (rc = rep_csv_next(&c)) == 1) {
        const char *name = rep_csv_get(&c, name_idx);
        if (name_idx >= 0 && (!name || strcmp(name, "Aggregated") != 0))
            continue;                          /* per-name rows (Locust's full history) */
        double row[REP_MAXCOL];
        for (int i = 0; i < ncol; i++)
            row[i] = rep_num(rep_csv_get(&c, idx[i]));
        if (isnan(row[REP_T])) continue;
        if (isnan(t0)) t0 = row[REP_T];
        row[REP_T] -= t0;
        if (rep_hist_push(h, row) != 0) rc = -1;
    }
    h->t0 = t0;
    free(c.buf);
    free(c.off);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

/* ---- writing -------------------------------------------------------------------- */

/* Writes data, breaking any "</tag" (case-insensitive) as "<\/tag" so an inlined
 * script or style cannot end its element early; "\/" means "/" in JS strings and
 * regexps and in CSS. */
static void rep_put_raw(FILE *f, const char *data, size_t len, const char *tag)
{
    size_t tl = strlen(tag), start = 0;
    for (size_t i = 0; i + 2 + tl <= len; i++) {
        if (data[i] == '<' && data[i + 1] == '/' && !strncasecmp(data + i + 2, tag, tl)) {
            fwrite(data + start, 1, i + 1 - start, f);
            fputs("\\", f);
            start = i + 1;
        }
    }
    fwrite(data + start, 1, len - start, f);
}

/* An embedded asset inside <tag>...</tag>; -1 with err when the build lacks it. */
static int rep_put_asset(FILE *f, const char *name, const char *tag, char *err, size_t errcap)
{
    const asset *a = asset_get(name);
    if (!a) {
        snprintf(err, errcap, "embedded asset %s missing from the build", name);
        return -1;
    }
    fprintf(f, "<%s>", tag);
    rep_put_raw(f, (const char *)a->data, a->len, tag);
    fprintf(f, "</%s>\n", tag);
    return 0;
}

static void rep_put_html(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:  fputc(*s, f);
        }
    }
}

/* json_dump_callback sink: the chunk to the FILE with "<" as \u003c. */
static int rep_dump_cb(const char *buf, size_t size, void *data)
{
    FILE *f = data;
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '<') {
            fwrite(buf + start, 1, i - start, f);
            fputs("\\u003c", f);
            start = i + 1;
        }
    }
    fwrite(buf + start, 1, size - start, f);
    return ferror(f) ? -1 : 0;
}

static void rep_put_history(FILE *f, const rep_hist *h, const char *const *keys)
{
    fputc('{', f);
    for (int i = 0; i < h->ncol; i++) {
        fprintf(f, "%s\"%s\":[", i ? "," : "", keys[i]);
        for (size_t r = 0; r < h->n; r++) {
            double v = h->col[i][r];
            if (r) fputc(',', f);
            if (isnan(v)) fputs("null", f);
            else fprintf(f, "%.10g", v);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

/* The whole page into f. */
static int rep_put_page(FILE *f, json_t *summary, const rep_hist *h, const rep_hist *sch,
                        const char *dir, char *err, size_t errcap)
{
    const char *scenario = json_string_value(json_object_get(summary, "scenario"));
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"stampede\">\n<title>Stampede report", f);
    if (scenario && *scenario) {
        fputs(": ", f);
        rep_put_html(f, scenario);
    }
    fputs("</title>\n", f);
    if (rep_put_asset(f, "uPlot.min.css", "style", err, errcap) != 0 ||
        rep_put_asset(f, "app.css", "style", err, errcap) != 0)
        return -1;
    fputs("<style>", f);
    rep_put_raw(f, report_css, sizeof report_css - 1, "style");
    fputs("</style>\n</head>\n<body class=\"stampede-report\">\n"
          "<div id=\"report\"><noscript>This report needs JavaScript "
          "to draw its tables and charts; the raw data is in summary.json and "
          "stats_history.csv next to this file.</noscript></div>\n"
          "<script type=\"application/json\" id=\"stampede-data\">{\"summary\":", f);
    if (json_dump_callback(summary, rep_dump_cb, f, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
        snprintf(err, errcap, "encoding summary: write failed");
        return -1;
    }
    fputs(",\"history\":", f);
    rep_put_history(f, h, rep_hist_keys);
    fputs(",\"schedule\":", f);
    if (sch->n > 0)
        rep_put_history(f, sch, rep_sched_keys);
    else
        fputs("null", f);
    /* "monitor": the monitor's series (master/monitor.h), null without monitor.csv */
    fputs(",\"monitor\":", f);
    if (monitor_report_data(dir, h->n ? h->t0 : NAN, REPORT_MONITOR_POINTS, f) != 0) {
        snprintf(err, errcap, "%s/monitor.csv: out of memory", dir);
        return -1;
    }
    fputs("}</script>\n", f);
    if (rep_put_asset(f, "uPlot.min.js", "script", err, errcap) != 0 ||
        rep_put_asset(f, "report.js", "script", err, errcap) != 0)
        return -1;
    fputs("</body>\n</html>\n", f);
    return 0;
}

json_t *report_load_json(const char *path, json_error_t *jerr)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = f != NULL ? open_memstream(&buf, &len) : NULL;
    int e = errno;
    bool ok = mem != NULL;
    char chunk[16384];
    size_t k;
    while (ok && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = fwrite(chunk, 1, k, mem) == k;
    if (f != NULL && ferror(f)) {
        ok = false;
        e = errno;
    }
    if (mem != NULL && fclose(mem) != 0)
        ok = false;
    if (f != NULL)
        fclose(f);
    if (!ok) {
        free(buf);
        memset(jerr, 0, sizeof *jerr);
        jerr->line = jerr->column = jerr->position = -1;
        snprintf(jerr->source, sizeof jerr->source, "%.*s", (int)sizeof jerr->source - 1, path);
        snprintf(jerr->text, sizeof jerr->text, "unable to open %.*s: %s", 120, path,
                 strerror(e ? e : EIO));
        return NULL;
    }
    /* a NUL inside would end the cleaning early: jansson refuses it anyway (no
     * JSON_ALLOW_NUL), as it would in the file */
    util_utf8_clean(buf);
    json_t *j = json_loadb(buf, len, 0, jerr);
    free(buf);
    return j;
}

int report_write(const char *dir, char *err, size_t errcap)
{
    char tmpbuf[8];
    if (!err || errcap == 0) {                 /* callers may not care for the message */
        err = tmpbuf;
        errcap = sizeof tmpbuf;
    }
    err[0] = '\0';
    struct stat st;
    if (!dir || !*dir) {
        snprintf(err, errcap, "no results folder given");
        return -1;
    }
    if (stat(dir, &st) != 0) {
        snprintf(err, errcap, "results folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "results folder %s: not a directory", dir);
        return -1;
    }

    int rc = -1;
    char *sum_path = NULL, *hist_path = NULL, *out_path = NULL, *tmp_path = NULL;
    char *sched_path = NULL;
    json_t *summary = NULL;
    rep_hist h = { 0 }, sch = { 0 };
    FILE *f = NULL;
    if (asprintf(&sum_path, "%s/summary.json", dir) < 0) sum_path = NULL;
    if (asprintf(&hist_path, "%s/stats_history.csv", dir) < 0) hist_path = NULL;
    if (asprintf(&out_path, "%s/report.html", dir) < 0) out_path = NULL;
    if (asprintf(&tmp_path, "%s/report.html.tmp", dir) < 0) tmp_path = NULL;
    if (asprintf(&sched_path, "%s/schedule.csv", dir) < 0) sched_path = NULL;
    if (!sum_path || !hist_path || !out_path || !tmp_path || !sched_path) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }

    json_error_t jerr;
    summary = report_load_json(sum_path, &jerr);
    if (!summary) {
        if (jerr.line > 0)
            snprintf(err, errcap, "%s:%d:%d: %s", sum_path, jerr.line, jerr.column, jerr.text);
        else
            snprintf(err, errcap, "%s", jerr.text);
        goto out;
    }
    if (!json_is_object(summary)) {
        snprintf(err, errcap, "%s: not a JSON object", sum_path);
        goto out;
    }
    if (rep_hist_load(&h, hist_path, rep_hist_cols, REP_NCOL) != 0) {
        snprintf(err, errcap, "%s: out of memory", hist_path);
        goto out;
    }
    if (rep_hist_load(&sch, sched_path, rep_sched_cols, REP_SCHED_NCOL) != 0) {
        snprintf(err, errcap, "%s: out of memory", sched_path);
        goto out;
    }

    f = fopen(tmp_path, "w");
    if (!f) {
        snprintf(err, errcap, "%s: %s", tmp_path, strerror(errno));
        goto out;
    }
    if (rep_put_page(f, summary, &h, &sch, dir, err, errcap) != 0)
        goto out;
    /* a failed write keeps its errno (ENOSPC says more than EIO); fsync before the
     * rename, as master/results.c does, so report.html is whole once it exists */
    errno = 0;
    int werr = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0 ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && !werr) werr = errno ? errno : EIO;
    f = NULL;
    if (werr) {
        snprintf(err, errcap, "writing %s: %s", tmp_path, strerror(werr));
        goto out;
    }
    if (rename(tmp_path, out_path) != 0) {
        snprintf(err, errcap, "rename %s: %s", out_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f) fclose(f);
    if (rc != 0 && tmp_path) unlink(tmp_path);
    json_decref(summary);
    rep_hist_free(&h);
    rep_hist_free(&sch);
    free(sched_path);
    free(sum_path);
    free(hist_path);
    free(out_path);
    free(tmp_path);
    return rc;
}
