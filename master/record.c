/* After a run: history, baseline comparison, webhook. master/record.h has the contract. */
#include "master/record.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "common/log.h"
#include "master/history.h"
#include "master/regress.h"
#include "master/report.h"

#define RECORD_NOTIFY_TIMEOUT_S 5

void record_default_history(const char *dir, char *buf, size_t cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0;
    char *slash = strrchr(tmp, '/');
    if (!slash) snprintf(buf, cap, "history.db");
    else if (slash == tmp) snprintf(buf, cap, "/history.db");
    else {
        *slash = 0;
        snprintf(buf, cap, "%s/history.db", tmp);
    }
}

/* summary.json gets "regression": rewritten through DIR/summary.json.tmp and rename. */
static int summary_set(const char *dir, const char *key, json_t *val, char *err, size_t errcap)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_error_t je;
    json_t *s = report_load_json(path, &je);
    if (!s) {
        json_decref(val);
        snprintf(err, errcap, "%s", je.text);
        return -1;
    }
    json_object_set_new(s, key, val);
    int rc = json_dump_file(s, tmp, JSON_INDENT(2)) == 0 ? 0 : -1;
    json_decref(s);
    if (rc == 0) {
        FILE *f = fopen(tmp, "a");
        if (!f || fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) rc = -1;
        if (f && fclose(f) != 0) rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) {
        snprintf(err, errcap, "cannot rewrite %.300s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

typedef struct notify_job {
    char *url, *body;
} notify_job;

static size_t notify_sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static void *notify_thread(void *arg)
{
    notify_job *j = arg;
    CURL *h = curl_easy_init();
    if (h) {
        struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_URL, j->url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)RECORD_NOTIFY_TIMEOUT_S);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, notify_sink);
        CURLcode rc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK) log_warn("master", "webhook %s: %s", j->url, curl_easy_strerror(rc));
        else if (code < 200 || code > 299) log_warn("master", "webhook %s answered %ld", j->url, code);
        else log_info("master", "webhook %s told (%ld)", j->url, code);
        curl_slist_free_all(hd);
        curl_easy_cleanup(h);
    }
    free(j->url);
    free(j->body);
    free(j);
    return NULL;
}

static void notify(const char *url, json_t *body)
{
    notify_job *j = calloc(1, sizeof *j);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!j || !text || !(j->url = strdup(url))) {
        free(text);
        if (j) free(j->url);
        free(j);
        log_warn("master", "webhook %s: out of memory", url);
        return;
    }
    j->body = text;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, notify_thread, j) != 0) {
        log_warn("master", "webhook %s: no thread to send it", url);
        free(j->url);
        free(j->body);
        free(j);
    }
    pthread_attr_destroy(&at);
}

int record_run(const record_cfg *cfg, const char *dir, record_out *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    char hpath[4200];
    if (cfg->history) snprintf(hpath, sizeof hpath, "%s", cfg->history);
    else record_default_history(dir, hpath, sizeof hpath);
    history_label labels[HISTORY_MAX_LABELS];
    int nl = 0;
    json_t *lab = cfg->labels_json ? json_loads(cfg->labels_json, 0, NULL) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(lab, k, v) {
        if (nl < HISTORY_MAX_LABELS && json_is_string(v)) labels[nl++] = (history_label){ k, json_string_value(v) };
    }
    history *h = history_open(hpath, false, err, errcap);
    if (!h) {
        json_decref(lab);
        return -1;
    }
    int rc = -1;
    history_figures base = { 0 }, run = { 0 };
    char *cmp = NULL;
    if (history_record(h, dir, labels, nl, NULL, &out->id, err, errcap) != 0) goto done;
    if (history_figures_get(h, out->id, &run, err, errcap) != 0) goto done;
    if (history_baseline(h, run.scenario, &out->baseline, err, errcap) != 0) goto done;
    if (out->baseline == out->id) out->baseline = 0;
    json_t *reg;
    if (out->baseline) {
        if (history_figures_get(h, out->baseline, &base, err, errcap) != 0) goto done;
        cmp = regress_compare(&base, &run, NULL, &out->regressed);
        if (!cmp || history_set_regression(h, out->id, cmp, err, errcap) != 0) {
            if (!cmp) snprintf(err, errcap, "out of memory");
            goto done;
        }
        reg = json_loads(cmp, 0, NULL);
    } else {
        reg = json_pack("{s:n,s:b}", "baseline", "regressed", 0);
    }
    char e2[512];
    if (summary_set(dir, "regression", json_incref(reg), e2, sizeof e2) != 0)
        log_warn("master", "history: %s", e2);
    if (out->baseline) {
        json_t *regs = json_object_get(reg, "regressions");
        char first[200] = "";
        json_t *r0 = json_array_get(regs, 0);
        if (r0)
            snprintf(first, sizeof first, ": %s %s %+.1f%%", json_string_value(json_object_get(r0, "name")),
                     json_string_value(json_object_get(r0, "metric")),
                     json_number_value(json_object_get(r0, "change_pct")));
        snprintf(out->summary, sizeof out->summary, "history: run %lld in %.200s; %s against baseline run %lld%.200s",
                 (long long)out->id, hpath, out->regressed ? "REGRESSED" : "no regression",
                 (long long)out->baseline, out->regressed ? first : "");
    } else {
        snprintf(out->summary, sizeof out->summary, "history: run %lld in %.200s; no baseline for \"%.100s\" yet "
                 "(stampede history --db FILE --set-baseline %lld makes this run the baseline)",
                 (long long)out->id, hpath, run.scenario, (long long)out->id);
    }
    if (cfg->notify_url && *cfg->notify_url) {
        char spath[4200];
        snprintf(spath, sizeof spath, "%s/summary.json", dir);
        json_error_t je;
        json_t *s = report_load_json(spath, &je);
        bool missing;
        char *rj = history_get_json(h, out->id, &missing, e2, sizeof e2);
        json_t *rr = rj ? json_loads(rj, 0, NULL) : NULL;
        free(rj);
        json_t *runobj = json_object();
        if (rr) {
            static const char *const keys[] = { "id", "scenario", "status", "start", "end", "results_dir", "labels" };
            for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
                json_object_set(runobj, keys[i], json_object_get(rr, keys[i]));
        }
        json_t *verdict = s ? json_object_get(s, "verdict") : NULL;
        json_t *ths = s ? json_object_get(s, "thresholds") : NULL;
        json_t *body = json_pack("{s:s,s:o,s:O,s:O,s:O,s:b}", "event", "run.finished", "run", runobj,
                                 "verdict", verdict ? verdict : json_null(),
                                 "thresholds", ths ? ths : json_null(),
                                 "regression", reg ? reg : json_null(), "regressed", out->regressed);
        json_decref(rr);
        json_decref(s);
        if (body) notify(cfg->notify_url, body);
    }
    json_decref(reg);
    rc = 0;
done:
    free(cmp);
    history_figures_free(&base);
    history_figures_free(&run);
    history_close(h);
    json_decref(lab);
    return rc;
}
