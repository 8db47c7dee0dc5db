/* The history's HTTP routes: master/api_history.h. */
#include "master/api_history.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "master/history.h"
#include "master/schedule.h"

static void reply_text(api_hist_reply *out, int code, char *text, const char *err)
{
    out->code = code;
    out->body = text ? json_loads(text, 0, NULL) : json_pack("{s:s}", "error", err);
    free(text);
    if (!out->body) {
        out->code = 500;
        out->body = json_pack("{s:s}", "error", "out of memory");
    }
}

static void reply_err(api_hist_reply *out, int code, const char *msg)
{
    out->code = code;
    out->body = json_pack("{s:s}", "error", msg);
}

/* The query's parameters; label may repeat. */
typedef struct hq {
    struct evkeyvalq kv;
    const char *scenario, *name, *metric;
    int limit;
    history_label labels[HISTORY_MAX_LABELS];
    char lbuf[HISTORY_MAX_LABELS][400];
    int nlabels;
} hq;

static int parse_query(const char *query, hq *q, char *err, size_t errcap)
{
    memset(q, 0, sizeof *q);
    TAILQ_INIT(&q->kv);
    if (!query) return 0;
    if (evhttp_parse_query_str(query, &q->kv) != 0) {
        snprintf(err, errcap, "malformed query string");
        return -1;
    }
    struct evkeyval *e;
    TAILQ_FOREACH(e, &q->kv, next) {
        if (!strcmp(e->key, "scenario")) q->scenario = e->value;
        else if (!strcmp(e->key, "name")) q->name = e->value;
        else if (!strcmp(e->key, "metric")) q->metric = e->value;
        else if (!strcmp(e->key, "limit")) {
            char *end;
            long v = strtol(e->value, &end, 10);
            if (!e->value[0] || *end || v < 1 || v > HISTORY_LIST_MAX) {
                snprintf(err, errcap, "limit wants 1..%d", HISTORY_LIST_MAX);
                return -1;
            }
            q->limit = (int)v;
        } else if (!strcmp(e->key, "label")) {
            const char *eq = strchr(e->value, '=');
            if (!eq || eq == e->value || q->nlabels == HISTORY_MAX_LABELS || strlen(e->value) >= sizeof q->lbuf[0]) {
                snprintf(err, errcap, "label wants K=V (at most %d)", HISTORY_MAX_LABELS);
                return -1;
            }
            char *b = q->lbuf[q->nlabels];
            snprintf(b, sizeof q->lbuf[0], "%s", e->value);
            b[eq - e->value] = '\0';
            q->labels[q->nlabels++] = (history_label){ b, b + (eq - e->value) + 1 };
        }
    }
    return 0;
}

static bool parse_id(const char *s, size_t n, long long *id)
{
    if (n == 0 || n > 18) return false;
    *id = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        *id = *id * 10 + (s[i] - '0');
    }
    return *id > 0;
}

/* /api/schedules and /api/schedules/ID. */
static void serve_schedules(const char *history_path, bool readonly, int method, const char *rest, size_t rlen,
                            const char *body, size_t blen, api_hist_reply *out)
{
    char err[1024];
    if (rlen == 0) {
        if (method == API_H_GET) {
            if (access(history_path, F_OK) != 0) {      /* no history yet: no schedules */
                out->code = 200;
                out->body = json_pack("{s:[]}", "schedules");
                return;
            }
            char *t = schedule_list_json(history_path, err, sizeof err);
            reply_text(out, t ? 200 : 500, t, err);
            return;
        }
        if (method != API_H_POST) {
            out->allow = "GET, POST";
            reply_err(out, 405, "method not allowed here (allowed: GET, POST)");
            return;
        }
        if (readonly) {
            reply_err(out, 409, "a local run's dashboard cannot add schedules: use a stampede-master");
            return;
        }
        json_error_t je;
        json_t *j = body && blen ? json_loadb(body, blen, 0, &je) : NULL;
        json_t *run = json_object_get(j, "run");
        const char *cron = json_string_value(json_object_get(j, "cron"));
        const char *tz = json_string_value(json_object_get(j, "tz"));
        if (!j || !json_is_object(j) || !cron || !json_is_object(run)) {
            json_decref(j);
            reply_err(out, 400, "a schedule is {\"cron\": \"0 22 * * *\", \"tz\": \"Europe/Berlin\", \"run\": "
                                "{the POST /api/runs body}}");
            return;
        }
        char *rt = json_dumps(run, JSON_COMPACT);
        int64_t id, next;
        bool bad;
        if (!rt) reply_err(out, 500, "out of memory");
        else if (schedule_add(history_path, cron, tz ? tz : "", rt, &id, &next, &bad, err, sizeof err) != 0)
            reply_err(out, bad ? 400 : 500, err);
        else {
            out->code = 201;
            out->body = json_pack("{s:I,s:I}", "id", (json_int_t)id, "next", (json_int_t)next);
        }
        free(rt);
        json_decref(j);
        return;
    }
    long long id;
    if (rest[0] != '/' || !parse_id(rest + 1, rlen - 1, &id)) {
        reply_err(out, 404, "no such schedule (DELETE /api/schedules/ID)");
        return;
    }
    if (method != API_H_DELETE) {
        out->allow = "DELETE";
        reply_err(out, 405, "method not allowed here (allowed: DELETE)");
        return;
    }
    if (readonly) {
        reply_err(out, 409, "a local run's dashboard cannot remove schedules");
        return;
    }
    bool missing;
    if (schedule_remove(history_path, id, &missing, err, sizeof err) != 0) reply_err(out, missing ? 404 : 500, err);
    else {
        out->code = 200;
        out->body = json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1);
    }
}

bool api_history_serve(const char *history_path, bool readonly, int method, const char *path, size_t plen,
                       const char *query, const char *body, size_t blen, api_hist_reply *out)
{
    static const char scheds[] = "/api/schedules";
    if (plen >= sizeof scheds - 1 && !memcmp(path, scheds, sizeof scheds - 1) &&
        (plen == sizeof scheds - 1 || path[sizeof scheds - 1] == '/')) {
        memset(out, 0, sizeof *out);
        if (!history_path) reply_err(out, 404, "this master keeps no history, so no schedules (--no-history)");
        else serve_schedules(history_path, readonly, method, path + sizeof scheds - 1, plen - (sizeof scheds - 1),
                             body, blen, out);
        return true;
    }
    static const char hist[] = "/api/history", trends[] = "/api/trends";
    bool is_list = plen == sizeof hist - 1 && !memcmp(path, hist, plen);
    bool is_one = plen > sizeof hist && !memcmp(path, hist, sizeof hist - 1) && path[sizeof hist - 1] == '/';
    bool is_trends = plen == sizeof trends - 1 && !memcmp(path, trends, plen);
    if (!is_list && !is_one && !is_trends) return false;
    memset(out, 0, sizeof *out);
    if (!history_path) {
        reply_err(out, 404, "this master keeps no history (started with --no-history)");
        return true;
    }
    long long id = 0;
    bool baseline = false;
    if (is_one) {
        const char *s = path + sizeof hist, *end = path + plen;
        const char *slash = memchr(s, '/', (size_t)(end - s));
        size_t n = (size_t)((slash ? slash : end) - s);
        static const char bl[] = "/baseline";
        if (slash && !((size_t)(end - slash) == sizeof bl - 1 && !memcmp(slash, bl, sizeof bl - 1))) {
            reply_err(out, 404, "no such endpoint (GET /api/history/ID, POST /api/history/ID/baseline)");
            return true;
        }
        baseline = slash != NULL;
        if (!parse_id(s, n, &id)) {
            reply_err(out, 404, "a run id is a positive number");
            return true;
        }
    }
    int want = baseline ? API_H_POST : API_H_GET;
    if (method != want) {
        out->allow = baseline ? "POST" : "GET";
        reply_err(out, 405, baseline ? "method not allowed here (allowed: POST)" : "method not allowed here (allowed: GET)");
        return true;
    }
    if (baseline && readonly) {
        reply_err(out, 409, "a local run's dashboard shows the history read-only");
        return true;
    }
    char err[600];
    hq q;
    if (parse_query(query, &q, err, sizeof err) != 0) {
        evhttp_clear_headers(&q.kv);
        reply_err(out, 400, err);
        return true;
    }
    /* A history that does not exist yet (a local --ui before its first run is recorded)
     * reads as an empty one. */
    if (!baseline && access(history_path, F_OK) != 0) {
        evhttp_clear_headers(&q.kv);
        out->code = 200;
        if (is_list) out->body = json_pack("{s:[]}", "runs");
        else if (is_trends && q.scenario)
            out->body = json_pack("{s:s,s:s,s:s,s:n,s:[]}", "scenario", q.scenario, "name",
                                  q.name ? q.name : "Aggregated", "metric", q.metric ? q.metric : "p95",
                                  "baseline", "points");
        else reply_err(out, is_trends ? 400 : 404, is_trends ? "trends want ?scenario=NAME" : "no run in the history yet");
        return true;
    }
    history *h = history_open(history_path, readonly || !baseline, err, sizeof err);
    if (!h) {
        evhttp_clear_headers(&q.kv);
        reply_err(out, 500, err);
        return true;
    }
    bool missing = false;
    if (is_list) {
        history_filter f = { .scenario = q.scenario, .labels = q.labels, .nlabels = q.nlabels, .limit = q.limit };
        reply_text(out, 200, history_list_json(h, &f, err, sizeof err), err);
        if (out->code == 200 && !out->body) out->code = 500;
    } else if (is_trends) {
        if (!q.scenario) reply_err(out, 400, "trends want ?scenario=NAME (and name=REQ, metric=p95)");
        else {
            char *t = history_trends_json(h, q.scenario, q.name, q.metric, q.limit, err, sizeof err);
            reply_text(out, t ? 200 : 400, t, err);
        }
    } else if (baseline) {
        if (history_set_baseline(h, id, &missing, err, sizeof err) != 0) reply_err(out, missing ? 404 : 500, err);
        else out->code = 200, out->body = json_pack("{s:I,s:b}", "id", (json_int_t)id, "baseline", 1);
    } else {
        char *t = history_get_json(h, id, &missing, err, sizeof err);
        reply_text(out, t ? 200 : missing ? 404 : 500, t, err);
    }
    history_close(h);
    evhttp_clear_headers(&q.kv);
    return true;
}
