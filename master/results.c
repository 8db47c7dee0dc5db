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
 * - Files written at the end go to NAME.tmp, are fsync'd and renamed into place (the
 *   folder fsync'd after), so a reader never sees half a summary.json. Every write is
 *   checked: the stream's error flag after fputs/fprintf, then fflush, fsync, fclose,
 *   rename (master/results.h). stats_history.csv rows are fflush'd, not fsync'd, per
 *   interval (a 24 h run would fsync 86,400 times): a full disk shows at the flush on
 *   the file systems we run on (tmpfs, ext4 reserve blocks at write time); the fsync at
 *   results_finish catches what is left. summary.json: master/results_json.c.
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
static const char res_schedule_header[] =
    "Timestamp,Planned Rate,Achieved Rate,Intended,Started,Dropped,Backlog Max,"
    "Lag p50,Lag p99,Lag Max,Service p50,Service p95,Service p99,CPU Max,Limited";

static void res_err(char *err, size_t errcap, const char *what, const char *path, int e)
{
    if (err != NULL && errcap > 0
        && snprintf(err, errcap, "%s %s: %s", what, path, strerror(e)) >= (int)errcap)
        err[errcap - 1] = '\0';                 /* cut: a long path, the reason at least starts */
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

/* failures.csv's Error column, readable as Locust's is (issue 12). Decision: an HTTP
 * status reads "503 Service Unavailable" (Locust: HTTPError('503 Server Error: Service
 * Unavailable for url: ...'), the URL left out: the Name column says which request);
 * a status without a known phrase is the bare code; every other kind reads
 * "kind: detail" ("connect: Connection refused", "timeout: ...", "expect: ...") or the
 * kind alone when it has no detail. summary.json keeps kind and detail apart. */
static void res_err_text(char *buf, size_t cap, const merge_err *e)
{
    const char *kind = stats_err_kind_name(e->kind);
    if (kind == NULL)
        kind = "other";
    if (e->kind == ERR_HTTP_STATUS && e->detail[0] != '\0'
        && strspn(e->detail, "0123456789") == strlen(e->detail) && strlen(e->detail) == 3) {
        const char *why = results_http_reason(atoi(e->detail));
        if (why != NULL)
            snprintf(buf, cap, "%s %s", e->detail, why);
        else
            snprintf(buf, cap, "%s", e->detail);
    } else if (e->detail[0] != '\0') {
        snprintf(buf, cap, "%s: %s", kind, e->detail);
    } else {
        snprintf(buf, cap, "%s", kind);
    }
}

/* "2024-05-01T12:00:00.123Z" */
void results_iso_time(char *buf, size_t cap, uint64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03uZ", b, (unsigned)(wall_ms % 1000));
}

/* ---- files -------------------------------------------------------------------- */

/* mkdir -p of every component of dir but the last (mode 0755): parents may exist. 0,
 * or -1 with err. */
static int res_mkparents(const char *dir, char *err, size_t errcap)
{
    char p[sizeof ((results *)0)->dir];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results folder name %s", n ? "too long" : "empty");
        return -1;
    }
    memcpy(p, dir, n + 1);
    while (n > 1 && p[n - 1] == '/')            /* "out/" names the folder "out" */
        p[--n] = '\0';
    for (size_t i = 1; i < n; i++) {
        if (p[i] != '/')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            res_err(err, errcap, "cannot create", p, errno);
            return -1;
        }
        p[i] = '/';
    }
    return 0;
}

/* true when dir is a folder holding nothing but "." and "..". */
static bool res_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    return empty;
}

static int res_path(char *buf, size_t cap, const results *r, const char *file)
{
    int n = snprintf(buf, cap, "%s/%s", r->dir, file);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* fsync of the folder, so a rename into it survives a crash; errors other than "not
 * supported here" count as write errors. */
static int res_sync_dir(const results *r)
{
    int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && (e == EINVAL || e == ENOTSUP))
        rc = 0;
    errno = e;
    return rc;
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

/* Flushes, fsyncs and closes f (DIR/file.tmp), then renames it to DIR/file and syncs
 * the folder. Any write error on the way (the stream's error flag catches a failed
 * fputs/fprintf/fputc; fflush, fsync and fclose report the rest, ENOSPC among them)
 * removes the temporary file and returns -1 with err. */
static int res_tmp_commit(const results *r, FILE *f, const char *file, char *err, size_t errcap)
{
    char path[sizeof r->dir + 64], tmp[sizeof r->dir + 68];
    res_path(path, sizeof path, r, file);       /* fits: res_tmp_open checked it */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    errno = 0;
    int e = 0;
    if (ferror(f))
        e = errno ? errno : EIO;
    else if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && e == 0)
        e = errno ? errno : EIO;
    if (e != 0) {
        res_err(err, errcap, "cannot write", tmp, e);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        res_err(err, errcap, "cannot rename to", path, errno);
        remove(tmp);
        return -1;
    }
    if (res_sync_dir(r) != 0) {
        res_err(err, errcap, "cannot sync", r->dir, errno);
        return -1;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------ */

/* Takes folder dir for this run: mkdir (exclusive), or with !unique an existing empty
 * folder; then stats_history.csv with O_EXCL (two runs racing for one empty folder: one
 * wins). 0; 1 the folder is taken (exists, not empty, or lost the race: with unique,
 * try the next name); -1 another error. err says why in both failure cases. */
static int res_take(results *r, const char *dir, bool unique, char *err, size_t errcap)
{
    if (mkdir(dir, 0755) != 0) {
        int e = errno;
        struct stat st;
        if (e != EEXIST) {
            res_err(err, errcap, "cannot create", dir, e);
            return -1;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            res_err(err, errcap, "cannot create", dir, ENOTDIR);
            return unique ? 1 : -1;
        }
        if (unique || !res_dir_empty(dir)) {
            if (err != NULL && errcap > 0)
                snprintf(err, errcap, "results folder %s exists and is not empty: choose "
                         "another folder (a run never mixes its files with another's)", dir);
            return 1;
        }
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char path[sizeof r->dir + 64];
    if (res_path(path, sizeof path, r, "stats_history.csv") != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results path too long");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        res_err(err, errcap, "cannot create", path, e);
        return e == EEXIST ? 1 : -1;
    }
    r->history = fdopen(fd, "w");
    if (r->history == NULL) {
        res_err(err, errcap, "cannot write", path, errno);
        close(fd);
        return -1;
    }
    fputs(res_history_header, r->history);
    fputs(RES_EOL, r->history);
    errno = 0;
    if (fflush(r->history) != 0 || ferror(r->history)) {
        res_err(err, errcap, "cannot write", path, errno ? errno : EIO);
        fclose(r->history);
        r->history = NULL;
        return -1;
    }
    return 0;
}

/* schedule.csv beside the history (RESULTS_SCHEDULE), created exclusively as the
 * history is, with its header. 0, or -1 with err. */
static int res_open_schedule(results *r, char *err, size_t errcap)
{
    char path[sizeof r->dir + 64];
    if (res_path(path, sizeof path, r, "schedule.csv") != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results path too long");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        res_err(err, errcap, "cannot create", path, errno);
        return -1;
    }
    r->schedule = fdopen(fd, "w");
    if (r->schedule == NULL) {
        res_err(err, errcap, "cannot write", path, errno);
        close(fd);
        return -1;
    }
    fputs(res_schedule_header, r->schedule);
    fputs(RES_EOL, r->schedule);
    errno = 0;
    if (fflush(r->schedule) != 0 || ferror(r->schedule)) {
        res_err(err, errcap, "cannot write", path, errno ? errno : EIO);
        return -1;
    }
    return 0;
}

bool results_limited(const merge_set *iv)
{
    if (iv->cpu_max > RESULTS_CPU_LIMIT)
        return true;
    return iv->sched.lag.total > 0 && hist_percentile(&iv->sched.lag, 99) > RESULTS_LAG_LIMIT_US;
}

/* A ms column of schedule.csv: the percentile rounded to the nearest ms, "N/A" empty. */
static void res_sched_ms(FILE *f, const hist *h, double pct)
{
    if (h->total == 0)
        fputs(",N/A", f);
    else
        fprintf(f, ",%llu", res_ms_int(pct >= 100 ? h->max_us : hist_percentile(h, pct)));
}

/* One schedule.csv row (see master/results.h). */
static int res_schedule_row(results *r, uint64_t wall_ms, double interval_s, const merge_set *iv)
{
    FILE *f = r->schedule;
    const stats_sched *sc = &iv->sched;
    fprintf(f, "%llu,", (unsigned long long)(wall_ms / 1000));
    res_csv_float(f, interval_s > 0 ? (double)sc->intended / interval_s : 0.0);
    fputc(',', f);
    res_csv_float(f, interval_s > 0 ? (double)sc->started / interval_s : 0.0);
    fprintf(f, ",%llu,%llu,%llu,%u", (unsigned long long)sc->intended,
            (unsigned long long)sc->started, (unsigned long long)sc->dropped, sc->backlog_max);
    res_sched_ms(f, &sc->lag, 50);
    res_sched_ms(f, &sc->lag, 99);
    res_sched_ms(f, &sc->lag, 100);
    const hist *svc = stats_row_svc(&iv->all);
    res_sched_ms(f, svc, 50);
    res_sched_ms(f, svc, 95);
    res_sched_ms(f, svc, 99);
    fputc(',', f);
    res_csv_float(f, iv->cpu_max);
    fprintf(f, ",%d" RES_EOL, results_limited(iv) ? 1 : 0);
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) {
        char path[sizeof r->dir + 64];
        res_path(path, sizeof path, r, "schedule.csv");
        res_err(r->history_err, sizeof r->history_err, "cannot write", path,
                errno ? errno : EIO);
        return -1;
    }
    return 0;
}

int results_open_ex(results *r, const char *dir, int flags, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    if (res_mkparents(dir, err, errcap) != 0)
        return -1;
    bool unique = (flags & RESULTS_UNIQUE) != 0;
    char name[sizeof r->dir];
    snprintf(name, sizeof name, "%s", dir);
    for (int n = 1;; n++) {
        if (n > 1) {
            int k = snprintf(name, sizeof name, "%s-%d", dir, n);
            if (k < 0 || (size_t)k >= sizeof name) {
                if (err != NULL && errcap > 0)
                    snprintf(err, errcap, "results folder name too long");
                return -1;
            }
        }
        int rc = res_take(r, name, unique, err, errcap);
        if (rc == 0 && (flags & RESULTS_SCHEDULE) && res_open_schedule(r, err, errcap) != 0) {
            results_close(r);           /* the folder stays (it holds the history header) */
            r->dir[0] = '\0';
            return -1;
        }
        if (rc == 0) {
            r->full_history = (flags & RESULTS_FULL_HISTORY) != 0;
            return 0;
        }
        r->dir[0] = '\0';
        if (rc < 0 || !unique || n >= RESULTS_MAX_SUFFIX)
            return -1;
    }
}

int results_open(results *r, const char *dir, char *err, size_t errcap)
{
    return results_open_ex(r, dir, 0, err, errcap);
}

/* RESULTS_FULL_HISTORY (--csv-full-history): one row per name seen so far (HTTP, then
 * WebSocket message rows, each sorted by name and method as stats.csv), before the
 * Aggregated row. Decision: a name without requests in this interval gets 0.000000 rates
 * and N/A percentiles (Locust writes 0 percentiles there); its Total columns are its
 * run so far, as Locust's. -1 only on ENOMEM (write errors are the caller's fflush). */
static int res_history_names(FILE *f, uint64_t wall_ms, uint32_t users, double interval_s,
                             const merge_set *interval, const merge_set *totals)
{
    const merge_entry **ents;
    const merge_err **errs;
    if (results_sorted(totals, &ents, &errs) != 0)
        return -1;
    free(errs);
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < totals->n; i++) {
            const merge_entry *t = ents[i];
            if (pass == 0 ? !stats_fig_is_http(t->fig) : t->fig != STATS_FIG_WS_MESSAGE)
                continue;
            const merge_entry *iv = merge_find(interval, t->method, t->name);
            uint64_t req = iv ? iv->requests : 0, fail = iv ? iv->failures : 0;
            fprintf(f, "%llu,%u,", (unsigned long long)(wall_ms / 1000), users);
            util_csv_put(f, t->method);
            fputc(',', f);
            util_csv_put(f, t->name);
            fprintf(f, ",%2f,%2f", interval_s > 0 ? (double)req / interval_s : 0.0,
                    interval_s > 0 ? (double)fail / interval_s : 0.0);
            if (iv)
                res_csv_pcts(f, iv);
            else
                for (int k = 0; k < RES_NPCTS; k++)
                    fputs(",N/A", f);
            fprintf(f, ",%llu,%llu", (unsigned long long)t->requests,
                    (unsigned long long)t->failures);
            res_csv_summary_cols(f, t);
            fputs(RES_EOL, f);
        }
    }
    free(ents);
    return 0;
}

/* One Aggregated row, flushed so an interrupted run keeps it. */
int results_history(results *r, uint64_t wall_ms, uint32_t users, double interval_s,
                    const merge_set *interval, const merge_set *totals)
{
    FILE *f = r->history;
    if (f == NULL || r->history_err[0] != '\0') {
        if (r->history_err[0] == '\0')
            snprintf(r->history_err, sizeof r->history_err, "results folder not open");
        return -1;
    }
    if (r->full_history && res_history_names(f, wall_ms, users, interval_s, interval, totals) != 0) {
        snprintf(r->history_err, sizeof r->history_err, "out of memory writing stats_history.csv");
        return -1;
    }
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
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) {
        char path[sizeof r->dir + 64];
        res_path(path, sizeof path, r, "stats_history.csv");
        res_err(r->history_err, sizeof r->history_err, "cannot write", path,
                errno ? errno : EIO);
        return -1;
    }
    if (r->schedule != NULL)
        return res_schedule_row(r, wall_ms, interval_s, interval);
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
int results_sorted(const merge_set *m, const merge_entry ***ents, const merge_err ***errs)
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
    util_csv_put(f, e->method);
    fputc(',', f);
    util_csv_put(f, e->name);
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
        if (stats_fig_is_http(ents[i]->fig))
            res_stats_row(f, ents[i], duration_s);
    for (uint32_t i = 0; i < t->n; i++)         /* then one row per ws connection name */
        if (ents[i]->fig == STATS_FIG_WS_MESSAGE)
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
        util_csv_put(f, res_shown_method(e->method));
        fputc(',', f);
        util_csv_put(f, e->name);
        fputc(',', f);
        util_csv_put(f, text);
        fprintf(f, ",%llu" RES_EOL, (unsigned long long)count);
    }
    return res_tmp_commit(r, f, "failures.csv", err, errcap);
}

/* "measured 612.345ms", "measured 1.5%", "measured NaN (no requests named login)". */
static void res_measured(char *buf, size_t cap, const th_result *t)
{
    const sc_threshold *th = t->th;
    char v[64];
    if (isnan(t->value) && t->note[0] != '\0') {
        snprintf(buf, cap, "measured NaN (%s)", t->note);
        return;
    }
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
    case TH_RATE:
        snprintf(buf, cap, "measured %.6g/s", t->value);
        return;
    case TH_REQUESTS:
    case TH_FAILURES:
    case TH_DROPPED:
    case TH_OUT_OF_ORDER:
        snprintf(buf, cap, "measured %.0f", t->value);
        return;
    case TH_MONITOR:                            /* master/monitor.h: as scraped */
        snprintf(buf, cap, "measured %.6g (%s of %s.%s)", t->value,
                 scenario_mon_agg_name(scenario_mon_agg(th)), th->mon_target, th->mon_metric);
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
        results_iso_time(ts, sizeof ts, meta->start_wall_ms);
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

/* summary.json: results_summary_text's text, so the file and the master's in-memory
 * copy are one rendering. */
static int res_write_summary(const results *r, const results_meta *meta, const merge_set *t,
                             char *err, size_t errcap)
{
    char *text = results_summary_text(meta, t);
    if (text == NULL) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory building summary.json");
        return -1;
    }
    FILE *f = res_tmp_open(r, "summary.json", err, errcap);
    if (f != NULL)
        fputs(text, f);
    free(text);
    return f != NULL ? res_tmp_commit(r, f, "summary.json", err, errcap) : -1;
}

/* Closes a file written row by row during the run (stats_history.csv, schedule.csv):
 * flushed, synced and closed; the first failure is kept in history_err, which the
 * caller reports. *fp is NULL afterwards. */
static void res_close_series(results *r, FILE **fp, const char *name)
{
    if (*fp == NULL)
        return;
    FILE *h = *fp;
    *fp = NULL;
    errno = 0;
    int e = 0;
    if (ferror(h) || fflush(h) != 0 || fsync(fileno(h)) != 0)
        e = errno ? errno : EIO;
    if (fclose(h) != 0 && e == 0)
        e = errno ? errno : EIO;
    char path[sizeof r->dir + 64];
    res_path(path, sizeof path, r, name);
    if (e != 0 && r->history_err[0] == '\0')
        res_err(r->history_err, sizeof r->history_err, "cannot write", path, e);
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
    if (results_sorted(totals, &ents, &errs) != 0) {
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
    RES_STEP(res_write_summary(r, meta, totals, e2, sizeof e2));
    free(ents);
    free(errs);
    res_close_series(r, &r->history, "stats_history.csv");
    res_close_series(r, &r->schedule, "schedule.csv");
    if (r->history_err[0] != '\0')
        RES_STEP((snprintf(e2, sizeof e2, "%s", r->history_err), -1));
#undef RES_STEP
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
    if (r != NULL && r->schedule != NULL) {
        fclose(r->schedule);
        r->schedule = NULL;
    }
}
