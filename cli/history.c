/* `stampede history` and `stampede compare --baseline`: cli/history.h. */
#include "cli/history.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "master/history.h"
#include "master/record.h"

#define HIST_DEFAULT_DB "results/history.db"
#define HIST_HTTP_MAX   (64u << 20)

typedef struct hbuf { char *p; size_t n; bool over; } hbuf;

static size_t hist_collect(char *p, size_t sz, size_t n, void *ud)
{
    hbuf *b = ud;
    size_t add = sz * n;
    if (b->n + add > HIST_HTTP_MAX) {
        b->over = true;
        return 0;
    }
    char *q = realloc(b->p, b->n + add + 1);
    if (!q) return 0;
    memcpy(q + b->n, p, add);
    b->p = q;
    b->n += add;
    b->p[b->n] = 0;
    return add;
}

/* GET or POST (body "{}") url; the decoded JSON answer, NULL with err (the API's "error"
 * text when it gave one). */
static json_t *hist_http(const char *method, const char *url, char *err, size_t errcap)
{
    CURL *h = curl_easy_init();
    hbuf b = { 0 };
    json_t *j = NULL;
    if (!h) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hist_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (!strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
    else if (!strcmp(method, "DELETE")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        snprintf(err, errcap, "%.300s: %s", url, b.over ? "answer too large" : curl_easy_strerror(rc));
    } else {
        json_error_t je;
        j = b.p ? json_loads(b.p, 0, &je) : NULL;
        if (!j) snprintf(err, errcap, "%.300s answered %ld without JSON", url, code);
        else if (code != 200) {
            const char *e = json_string_value(json_object_get(j, "error"));
            snprintf(err, errcap, "%.300s answered %ld: %.500s", url, code, e ? e : "?");
            json_decref(j);
            j = NULL;
        }
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(b.p);
    return j;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: stampede history [--master URL | --db FILE] [--scenario NAME] [--label K=V]...\n"
               "                        [--limit N] [--json]\n"
               "       stampede history [--master URL | --db FILE] --show ID [--json]\n"
               "       stampede history [--master URL | --db FILE] --set-baseline ID\n"
               "  --db FILE       the history file (default " HIST_DEFAULT_DB ")\n"
               "  --master URL    a stampede-master's API (http://HOST:8089) instead of a file\n");
}

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_runs(json_t *runs)
{
    printf("%-6s %-19s %-11s %-24s %9s %10s %7s %9s %9s  %-12s %s\n", "ID", "START", "STATUS", "SCENARIO",
           "USERS", "REQUESTS", "FAIL%", "REQ/S", "P95 MS", "REGRESSION", "LABELS");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        char start[32] = "-";
        double s = jnum(r, "start");
        if (isfinite(s)) {
            time_t t = (time_t)(s / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(start, sizeof start, "%Y-%m-%d %H:%M:%S", &tm);
        }
        char users[32];
        double rate = jnum(r, "rate"), u = jnum(r, "users");
        if (isfinite(rate)) snprintf(users, sizeof users, "%.0f/s", rate);
        else if (isfinite(u)) snprintf(users, sizeof users, "%.0f", u);
        else snprintf(users, sizeof users, "-");
        double req = jnum(r, "requests"), fail = jnum(r, "failures");
        json_t *reg = json_object_get(r, "regression");
        const char *regs = !json_is_object(reg) ? "-"
                           : json_is_true(json_object_get(reg, "regressed")) ? "REGRESSED" : "ok";
        char *labels = json_dumps(json_object_get(r, "labels"), JSON_COMPACT);
        printf("%-6lld %-19s %-11s %-24.24s %9s %10.0f %6.2f%% %9.1f %9.1f  %-12s %s\n",
               (long long)json_integer_value(json_object_get(r, "id")), start,
               json_string_value(json_object_get(r, "status")) ? json_string_value(json_object_get(r, "status")) : "?",
               json_string_value(json_object_get(r, "scenario")) ? json_string_value(json_object_get(r, "scenario")) : "?",
               users, isfinite(req) ? req : 0, req > 0 && isfinite(fail) ? fail / req * 100 : 0.0,
               isfinite(jnum(r, "rps")) ? jnum(r, "rps") : 0.0, isfinite(jnum(r, "p95")) ? jnum(r, "p95") : 0.0,
               regs, labels && strcmp(labels, "{}") ? labels : "");
        free(labels);
    }
}

static char *url_escape(const char *s)
{
    CURL *h = curl_easy_init();
    char *e = h ? curl_easy_escape(h, s, 0) : NULL;
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    if (h) curl_easy_cleanup(h);
    return out;
}

int history_main(int argc, char **argv)
{
    const char *db = NULL, *master = NULL, *scenario = NULL;
    const char *label_kv[HISTORY_MAX_LABELS];
    int nlabels = 0, limit = 0;
    long long show = 0, set_base = 0;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) { as_json = true; continue; }
        if (!v) {
            fprintf(stderr, "stampede history: %s wants a value\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--db")) db = v;
        else if (!strcmp(a, "--master")) master = v;
        else if (!strcmp(a, "--scenario")) scenario = v;
        else if (!strcmp(a, "--label")) {
            if (nlabels == HISTORY_MAX_LABELS || !strchr(v, '=')) {
                fprintf(stderr, "stampede history: --label wants K=V (at most %d)\n", HISTORY_MAX_LABELS);
                return 2;
            }
            label_kv[nlabels++] = v;
        } else if (!strcmp(a, "--limit")) {
            limit = atoi(v);
            if (limit < 1 || limit > HISTORY_LIST_MAX) {
                fprintf(stderr, "stampede history: --limit wants 1..%d\n", HISTORY_LIST_MAX);
                return 2;
            }
        } else if (!strcmp(a, "--show") || !strcmp(a, "--set-baseline")) {
            char *end;
            long long id = strtoll(v, &end, 10);
            if (*end || id <= 0) {
                fprintf(stderr, "stampede history: %s wants a run id\n", a);
                return 2;
            }
            if (!strcmp(a, "--show")) show = id;
            else set_base = id;
        } else {
            fprintf(stderr, "stampede history: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (db && master) {
        fprintf(stderr, "stampede history: give --db or --master, not both\n");
        return 2;
    }
    char err[1024];
    json_t *j = NULL;
    if (master) {
        char url[4096];
        size_t n = (size_t)snprintf(url, sizeof url, "%s", master);
        while (n > 0 && url[n - 1] == '/') url[--n] = 0;
        if (set_base) snprintf(url + n, sizeof url - n, "/api/history/%lld/baseline", set_base);
        else if (show) snprintf(url + n, sizeof url - n, "/api/history/%lld", show);
        else {
            n += (size_t)snprintf(url + n, sizeof url - n, "/api/history?limit=%d", limit ? limit : 50);
            char *e = scenario ? url_escape(scenario) : NULL;
            if (e) n += (size_t)snprintf(url + n, sizeof url - n, "&scenario=%s", e);
            free(e);
            for (int i = 0; i < nlabels && n < sizeof url; i++) {
                e = url_escape(label_kv[i]);
                if (e) n += (size_t)snprintf(url + n, sizeof url - n, "&label=%s", e);
                free(e);
            }
        }
        j = hist_http(set_base ? "POST" : "GET", url, err, sizeof err);
    } else {
        const char *path = db ? db : HIST_DEFAULT_DB;
        history *h = history_open(path, !set_base, err, sizeof err);
        if (h) {
            char *t = NULL;
            bool missing;
            if (set_base) {
                if (history_set_baseline(h, set_base, &missing, err, sizeof err) == 0)
                    j = json_pack("{s:I,s:b}", "id", (json_int_t)set_base, "baseline", 1);
            } else if (show) {
                t = history_get_json(h, show, &missing, err, sizeof err);
            } else {
                history_label labels[HISTORY_MAX_LABELS];
                char lb[HISTORY_MAX_LABELS][400];
                for (int i = 0; i < nlabels; i++) {
                    snprintf(lb[i], sizeof lb[i], "%s", label_kv[i]);
                    char *eq = strchr(lb[i], '=');
                    *eq = 0;
                    labels[i] = (history_label){ lb[i], eq + 1 };
                }
                history_filter f = { .scenario = scenario, .labels = labels, .nlabels = nlabels, .limit = limit };
                t = history_list_json(h, &f, err, sizeof err);
            }
            if (t) j = json_loads(t, 0, NULL);
            free(t);
            history_close(h);
        }
    }
    if (!j) {
        fprintf(stderr, "stampede history: %s\n", err);
        return 2;
    }
    if (set_base && !as_json) printf("run %lld is now the baseline of its scenario\n", set_base);
    else if (as_json || show) {
        char *t = json_dumps(j, JSON_INDENT(2));
        if (t) puts(t);
        free(t);
    } else print_runs(json_object_get(j, "runs"));
    json_decref(j);
    return 0;
}

static void print_rows(const char *title, json_t *rows)
{
    if (!json_array_size(rows)) return;
    printf("%s:\n", title);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_t *p = json_object_get(r, "p");
        char ptxt[32] = "n/a";
        if (json_is_number(p)) snprintf(ptxt, sizeof ptxt, "%.2g", json_number_value(p));
        printf("  %-8s %-32.32s %-10s %12.3f -> %12.3f  %+7.1f%%  p=%s\n",
               json_string_value(json_object_get(r, "method")) ? json_string_value(json_object_get(r, "method")) : "",
               json_string_value(json_object_get(r, "name")), json_string_value(json_object_get(r, "metric")),
               jnum(r, "base"), jnum(r, "value"), isfinite(jnum(r, "change_pct")) ? jnum(r, "change_pct") : 0.0,
               ptxt);
    }
}

int history_compare_baseline(int argc, char **argv)
{
    const char *dir = NULL, *hfile = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--baseline") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--history") && i + 1 < argc) hfile = argv[++i];
        else {
            fprintf(stderr, "usage: stampede compare --baseline DIR [--history FILE]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: stampede compare --baseline DIR [--history FILE]\n");
        return 2;
    }
    record_cfg rc = { .history = hfile };
    record_out out;
    char err[1024];
    if (record_run(&rc, dir, &out, err, sizeof err) != 0) {
        fprintf(stderr, "stampede compare: %s\n", err);
        return 2;
    }
    printf("%s\n", out.summary);
    if (!out.baseline) return 2;
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = json_load_file(path, 0, NULL);
    json_t *reg = json_object_get(s, "regression");
    print_rows("regressions (beyond the tolerance and unlikely to be noise)", json_object_get(reg, "regressions"));
    print_rows("changes beyond the tolerance, not significant", json_object_get(reg, "changes"));
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(reg, "notes"), i, n) printf("note: %s\n", json_string_value(n));
    json_decref(s);
    return out.regressed ? 1 : 0;
}

int schedule_main(int argc, char **argv)
{
    const char *master = NULL, *verb = argc > 1 ? argv[1] : "";
    long long id = 0;
    bool as_json = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--master") && i + 1 < argc) master = argv[++i];
        else if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(verb, "rm") && !id) {
            char *end;
            id = strtoll(argv[i], &end, 10);
            if (*end || id <= 0) id = -1;
        } else id = -1;
    }
    if (!master || (strcmp(verb, "list") && strcmp(verb, "rm")) || id < 0 || (!strcmp(verb, "rm") && !id)) {
        fprintf(stderr, "usage: stampede schedule add --master URL --cron EXPR [--tz ZONE] SCENARIO.yaml [run options]\n"
                        "       stampede schedule list --master URL [--json]\n"
                        "       stampede schedule rm --master URL ID\n");
        return 2;
    }
    char url[4096], err[1024];
    size_t n = (size_t)snprintf(url, sizeof url, "%s", master);
    while (n > 0 && url[n - 1] == '/') url[--n] = 0;
    if (id) snprintf(url + n, sizeof url - n, "/api/schedules/%lld", id);
    else snprintf(url + n, sizeof url - n, "/api/schedules");
    json_t *j = hist_http(id ? "DELETE" : "GET", url, err, sizeof err);
    if (!j) {
        fprintf(stderr, "stampede schedule: %s\n", err);
        return strstr(err, "answered") ? 2 : 3;
    }
    if (id) printf("schedule %lld removed\n", id);
    else if (as_json) {
        char *t = json_dumps(j, JSON_INDENT(2));
        if (t) puts(t);
        free(t);
    } else {
        printf("%-4s %-18s %-16s %-24s %-20s %5s %7s  %s\n", "ID", "CRON", "TZ", "SCENARIO", "NEXT (UTC)", "RUNS",
               "SKIPPED", "LAST");
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(j, "schedules"), i, s) {
            char next[32] = "-";
            json_t *nx = json_object_get(s, "next");
            if (json_is_integer(nx)) {
                time_t t = (time_t)(json_integer_value(nx) / 1000);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(next, sizeof next, "%Y-%m-%d %H:%M", &tm);
            }
            const char *tz = json_string_value(json_object_get(s, "tz"));
            const char *last = json_string_value(json_object_get(s, "last_status"));
            printf("%-4lld %-18s %-16s %-24.24s %-20s %5lld %7lld  %s\n",
                   (long long)json_integer_value(json_object_get(s, "id")),
                   json_string_value(json_object_get(s, "cron")), tz && *tz ? tz : "UTC",
                   json_string_value(json_object_get(s, "scenario")) ? json_string_value(json_object_get(s, "scenario")) : "",
                   next, (long long)json_integer_value(json_object_get(s, "runs")),
                   (long long)json_integer_value(json_object_get(s, "skipped")), last ? last : "-");
        }
    }
    json_decref(j);
    return 0;
}
