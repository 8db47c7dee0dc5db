/* The end of a run (contract: cli/endrun.h).
 *
 * Decisions:
 * - The table goes to stderr with the status line, so stdout keeps only "results: DIR"
 *   for scripts. Latencies in ms with one decimal (summary.json's own figures); a name
 *   longer than ENDRUN_NAME_W is cut with "..." in the middle (start and end are what
 *   tell names apart).
 * - A WS row counts a connection name's expects and receives as its requests and its
 *   connect and expect failures as failures, as stats.csv does; latencies are message
 *   latencies.
 * - --csv PREFIX files are copies of the results folder's own CSVs (they already are
 *   Locust's format, master/results.h), so the folder and the Locust files never differ;
 *   the copies are made after the run, not during it as Locust does.
 * - PREFIX_exceptions.csv holds Locust's header only: its rows are Python exceptions
 *   raised by user code, and a scenario has none (a failed request is in failures.csv). */
#include "cli/endrun.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#define ENDRUN_NAME_W 40

static const char endrun_exceptions_header[] = "Count,Message,Traceback,Nodes\r\n";

static json_t *endrun_load(const char *summary)
{
    if (!summary)
        return NULL;
    json_t *j = json_loads(summary, 0, NULL);
    if (j && !json_is_object(json_object_get(j, "totals"))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static double endrun_num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* ---- exit code ---------------------------------------------------------------------- */

int endrun_exit_code(int rc, const char *summary, int exit_code_on_error)
{
    if (rc != ENDRUN_EXIT_OK)
        return rc;
    json_t *j = endrun_load(summary);
    if (!j)
        return rc;
    json_t *tot = json_object_get(j, "totals");
    double requests = endrun_num(tot, "requests"), failures = endrun_num(tot, "failures");
    double ws_attempts = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(j, "ws"), i, w) {
        ws_attempts += endrun_num(w, "connects") + endrun_num(w, "connect_failures");
        failures += endrun_num(w, "connect_failures") + endrun_num(w, "expect_failures");
    }
    size_t nth = json_array_size(json_object_get(j, "thresholds"));
    json_decref(j);
    if (requests == 0 && ws_attempts == 0)
        return ENDRUN_EXIT_ABORTED;
    if (nth > 0)
        return rc;
    if (failures > 0 && exit_code_on_error != 0)
        return exit_code_on_error;
    return rc;
}

/* ---- table -------------------------------------------------------------------------- */

/* name cut to ENDRUN_NAME_W display bytes with "..." in the middle. */
static void endrun_name(char *buf, size_t cap, const char *name)
{
    size_t n = strlen(name);
    if (n <= ENDRUN_NAME_W) {
        snprintf(buf, cap, "%s", name);
        return;
    }
    size_t head = (ENDRUN_NAME_W - 3) / 2, tail = ENDRUN_NAME_W - 3 - head;
    snprintf(buf, cap, "%.*s...%s", (int)head, name, name + n - tail);
}

static void endrun_lat(char *buf, size_t cap, const json_t *lat, const char *key, bool any)
{
    if (!any || !json_is_number(json_object_get(lat, key)))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f", endrun_num(lat, key));
}

static void endrun_row(FILE *f, const char *type, const char *name, double req, double fail,
                       const json_t *lat, const json_t *svc, double rps, bool open)
{
    char nm[ENDRUN_NAME_W + 8], p50[32], p95[32], p99[32], s95[32], fails[48];
    endrun_name(nm, sizeof nm, name);
    endrun_lat(p50, sizeof p50, lat, "p50", req > 0);
    endrun_lat(p95, sizeof p95, lat, "p95", req > 0);
    endrun_lat(p99, sizeof p99, lat, "p99", req > 0);
    snprintf(fails, sizeof fails, "%.0f(%.2f%%)", fail, req > 0 ? 100.0 * fail / req : 0.0);
    fprintf(f, "%-6s %-*s %9.0f %15s %8s %8s %8s %9.1f", type, ENDRUN_NAME_W, nm, req, fails,
            p50, p95, p99, rps);
    if (open) {
        endrun_lat(s95, sizeof s95, svc, "p95", req > 0);
        fprintf(f, " %8s", s95);
    }
    fputc('\n', f);
}

int endrun_table(FILE *f, const char *summary)
{
    json_t *j = endrun_load(summary);
    if (!j)
        return -1;
    json_t *sched = json_object_get(j, "schedule");
    const char *model = json_string_value(json_object_get(sched, "model"));
    bool open = model && !strcmp(model, "open");
    double dur = endrun_num(j, "duration_s");
    fprintf(f, "%-6s %-*s %9s %15s %8s %8s %8s %9s", "Type", ENDRUN_NAME_W, "Name", "# reqs",
            "# fails", "p50 ms", "p95 ms", "p99 ms", "req/s");
    if (open)
        fprintf(f, " %8s", "svc p95");
    fputc('\n', f);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "requests"), i, e) {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *n = json_string_value(json_object_get(e, "name"));
        endrun_row(f, m ? m : "", n ? n : "", endrun_num(e, "requests"), endrun_num(e, "failures"),
                   json_object_get(e, "latency_ms"), json_object_get(e, "service_ms"),
                   endrun_num(e, "rps"), open);
    }
    json_array_foreach(json_object_get(j, "ws"), i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        double req = endrun_num(e, "expects");
        endrun_row(f, "WS", n ? n : "", req,
                   endrun_num(e, "connect_failures") + endrun_num(e, "expect_failures"),
                   json_object_get(e, "message_ms"), json_object_get(e, "message_ms"),
                   dur > 0 ? req / dur : 0.0, open);
    }
    json_t *t = json_object_get(j, "totals");
    endrun_row(f, "", "Aggregated", endrun_num(t, "requests"), endrun_num(t, "failures"),
               json_object_get(t, "latency_ms"), json_object_get(t, "service_ms"),
               endrun_num(t, "rps"), open);
    if (open) {
        json_t *lag = json_object_get(json_object_get(sched, "lag_ms"), "p99");
        char lagt[32];
        if (json_is_number(lag))
            snprintf(lagt, sizeof lagt, "%.1f ms", json_number_value(lag));
        else
            snprintf(lagt, sizeof lagt, "-");
        fprintf(f, "schedule: rate %.1f/s achieved of %.1f/s planned, %.0f of %.0f arrivals "
                "started, %.0f dropped, backlog max %.0f, lag p99 %s, %.0f generator-limited "
                "interval(s)\n", endrun_num(sched, "rate_achieved"),
                endrun_num(sched, "rate_planned"), endrun_num(sched, "started"),
                endrun_num(sched, "intended"), endrun_num(sched, "dropped"),
                endrun_num(sched, "backlog_max"), lagt,
                endrun_num(sched, "generator_limited_intervals"));
    }
    /* issue 15: the lean client's retries, when there were any (master/results.h) */
    double retries = endrun_num(t, "retries");
    if (retries > 0)
        fprintf(f, "%.0f request%s sent again on a new connection after %s keep-alive "
                "connection closed (idempotent, counted once)\n", retries,
                retries == 1 ? " was" : "s were", retries == 1 ? "its" : "their");
    json_decref(j);
    return 0;
}

/* ---- notes -------------------------------------------------------------------------- */

void endrun_notes(FILE *f, const char *summary)
{
    json_t *j = endrun_load(summary);
    if (!j)
        return;
    size_t i;
    json_t *th;
    json_array_foreach(json_object_get(j, "thresholds"), i, th) {
        if (json_is_true(json_object_get(th, "ok")))
            continue;
        const char *expr = json_string_value(json_object_get(th, "expr"));
        const char *note = json_string_value(json_object_get(th, "note"));
        json_t *v = json_object_get(th, "value");
        if (note)
            fprintf(f, "stampede: threshold failed: %s: %s\n", expr ? expr : "?", note);
        else if (json_is_number(v))
            fprintf(f, "stampede: threshold failed: %s: measured %g\n", expr ? expr : "?",
                    json_number_value(v));
        else
            fprintf(f, "stampede: threshold failed: %s: not measured\n", expr ? expr : "?");
    }
    json_t *vd = json_object_get(j, "verdict");
    if (json_is_false(json_object_get(vd, "clean"))
        && (endrun_num(vd, "generator_limited_intervals") > 0
            || endrun_num(vd, "workers_flagged") > 0      /* master/health.h */
            || endrun_num(json_object_get(j, "schedule"), "dropped") > 0)) {
        /* the notes the thresholds and the stop reason do not already say */
        json_t *n;
        fprintf(f, "stampede: the verdict is not clean:\n");
        json_array_foreach(json_object_get(vd, "notes"), i, n) {
            const char *s = json_string_value(n);
            if (s)
                fprintf(f, "  - %s\n", s);
        }
    }
    json_decref(j);
}

/* ---- files -------------------------------------------------------------------------- */

/* Writes len bytes (or the file src when data is NULL) to dst through dst.tmp. 0, or -1
 * after printing why. */
static int endrun_write(const char *dst, const char *src, const char *data, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp) {
        fprintf(stderr, "stampede: cannot write %s: name too long\n", dst);
        return -1;
    }
    FILE *in = NULL;
    if (!data && !(in = fopen(src, "rb"))) {
        fprintf(stderr, "stampede: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fprintf(stderr, "stampede: cannot write %s: %s\n", tmp, strerror(errno));
        if (in)
            fclose(in);
        return -1;
    }
    bool ok = true;
    if (data) {
        ok = fwrite(data, 1, len, out) == len;
    } else {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, n, out) != n) {
                ok = false;
                break;
            }
        if (ferror(in))
            ok = false;
        fclose(in);
    }
    errno = 0;
    if (fclose(out) != 0)
        ok = false;
    if (ok && rename(tmp, dst) == 0)
        return 0;
    fprintf(stderr, "stampede: cannot write %s: %s\n", dst, strerror(errno ? errno : EIO));
    unlink(tmp);
    return -1;
}

int endrun_files(const char *dir, const endrun_opts *o)
{
    static const char *const csvs[][2] = {
        { "stats.csv", "_stats.csv" },
        { "stats_history.csv", "_stats_history.csv" },
        { "failures.csv", "_failures.csv" },
    };
    int rc = 0;
    char src[4200], dst[4200];
    if (o->csv_prefix) {
        for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
            snprintf(src, sizeof src, "%s/%s", dir, csvs[i][0]);
            snprintf(dst, sizeof dst, "%s%s", o->csv_prefix, csvs[i][1]);
            if (endrun_write(dst, src, NULL, 0) != 0)
                rc = -1;
        }
        snprintf(dst, sizeof dst, "%s_exceptions.csv", o->csv_prefix);
        if (endrun_write(dst, NULL, endrun_exceptions_header, strlen(endrun_exceptions_header)) != 0)
            rc = -1;
    }
    if (o->html) {
        snprintf(src, sizeof src, "%s/report.html", dir);
        if (endrun_write(o->html, src, NULL, 0) != 0)
            rc = -1;
    }
    return rc;
}

int endrun_finish(const char *dir, const char *summary, int rc, const endrun_opts *o)
{
    if (o->table && summary)
        endrun_table(stderr, summary);
    if (summary)
        endrun_notes(stderr, summary);
    int out = endrun_exit_code(rc, summary, o->exit_code_on_error);
    if (out == ENDRUN_EXIT_ABORTED && rc == ENDRUN_EXIT_OK)
        fprintf(stderr, "stampede: the run made no request (no engine started, or no user reached "
                "a request before the end): exit 3\n");
    else if (out != rc && out != ENDRUN_EXIT_OK)
        fprintf(stderr, "stampede: requests failed and the scenario has no thresholds: exit %d "
                "(--exit-code-on-error 0 turns this off)\n", out);
    if (dir && (o->csv_prefix || o->html) && endrun_files(dir, o) != 0
        && (out == ENDRUN_EXIT_OK || out == ENDRUN_EXIT_THRESHOLD))
        out = ENDRUN_EXIT_ABORTED;
    fflush(stderr);
    return out;
}
