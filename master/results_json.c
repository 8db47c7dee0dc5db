/* summary.json of a run, rendered in memory: see master/results.h (results_summary_text
 * and the "ws" contract). Split from results.c (the files of the folder) so the same
 * text serves the folder's summary.json and, when the disk refuses it, the master's
 * memory (master/coord.h coord_get_summary).
 *
 * Decisions written down here:
 * - Latency values are ms doubles; a measured value that is NaN (a threshold without
 *   data) is written as null; counters above LLONG_MAX are written as LLONG_MAX.
 * - Every text that comes from a peer or a response (names, methods, error details,
 *   worker ids and hosts) goes through res_jtext: a copy cleaned to valid UTF-8
 *   (util_utf8_clean, '?' per bad byte), so json_string never returns NULL and no key
 *   is ever dropped from an object (issue 9 item 13).
 * - 15 significant digits for reals: exact for every ms value with us precision,
 *   without 0.1's binary tail.
 * - The open model's keys (master/results.h): "schedule" is written in both models
 *   (model "closed": intended, started, dropped 0, lag null, rates 0; cpu_max and
 *   generator_limited_intervals still tell whether the generator was the bottleneck).
 *   lag_ms values are null when nothing started. "verdict" is written in every summary:
 *   a run is clean only when it ended as planned (stop reason "finished" or "stopped",
 *   or none given),
 *   every threshold held and no interval was generator-limited: a run with limited
 *   intervals is never clean, whatever its thresholds say.
 * Also here, to keep results.c under its size: results_default_dir and
 * results_http_reason (failures.csv's readable Error column). */
#include "master/results.h"
#include "common/time.h"
#include "common/util.h"
#include "master/health.h"
#include "master/monitor.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* ---- summary.json --------------------------------------------------------------- */

/* The reason phrase of an HTTP status (RFC 9110 and common extensions), NULL unknown. */
const char *results_http_reason(int code)
{
    static const struct { int code; const char *text; } reasons[] = {
        { 300, "Multiple Choices" }, { 301, "Moved Permanently" }, { 302, "Found" },
        { 303, "See Other" }, { 304, "Not Modified" }, { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
        { 402, "Payment Required" }, { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
        { 407, "Proxy Authentication Required" }, { 408, "Request Timeout" },
        { 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
        { 412, "Precondition Failed" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
        { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
        { 417, "Expectation Failed" }, { 418, "I'm a teapot" }, { 421, "Misdirected Request" },
        { 422, "Unprocessable Content" }, { 423, "Locked" }, { 424, "Failed Dependency" },
        { 425, "Too Early" }, { 426, "Upgrade Required" }, { 428, "Precondition Required" },
        { 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
        { 451, "Unavailable For Legal Reasons" }, { 500, "Internal Server Error" },
        { 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
        { 507, "Insufficient Storage" }, { 508, "Loop Detected" },
        { 511, "Network Authentication Required" },
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return NULL;
}

static json_t *res_jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *res_juint(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);  /* json_int_t: long long */
}

/* A JSON string of s that is never NULL for bad input: jansson refuses text that is not
 * UTF-8 (json_string returns NULL and json_object_set_new would drop the key), so such a
 * text goes in as a copy cleaned by util_utf8_clean. NULL s: JSON null. */
static json_t *res_jstr(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *c = strdup(s);
    if (c == NULL)
        return NULL;
    util_utf8_clean(c);
    j = json_string(c);
    free(c);
    return j;
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
    json_object_set_new(o, "name", res_jstr(g->name));
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
        if (!stats_fig_is_ws(e->fig))          /* HTTP and ITER rows */
            continue;
        if (g.name == NULL || strcmp(g.name, e->name) != 0) {
            if (g.name != NULL)
                json_array_append_new(arr, res_jws_object(&g));
            memset(&g, 0, sizeof g);
            g.name = e->name;
            g.closes = json_object();
        }
        switch (e->fig) {
        case STATS_FIG_WS_MESSAGE:   g.message = e; break;
        case STATS_FIG_WS_CONNECT:   g.connect = e; break;
        case STATS_FIG_WS_RECONNECT: g.reconnect = e; break;
        case STATS_FIG_WS_FANOUT:    g.fanout = e; break;
        case STATS_FIG_WS_PING:      g.ping = e; break;
        case STATS_FIG_WS_SENT:      g.sent = e; break;
        case STATS_FIG_WS_RECV:      g.recv = e; break;
        case STATS_FIG_WS_ORDER:     g.order = e; break;
        case STATS_FIG_WS_CLOSE:
            if (e->requests > 0) {
                char code[STATS_METHOD_MAX];    /* the text after "WS:c:"; a key must be UTF-8 too */
                snprintf(code, sizeof code, "%s", e->method + plen);
                util_utf8_clean(code);
                json_object_set_new(g.closes, code, res_juint(e->requests));
            }
            break;
        default:                     /* a newer figure this build does not know: skipped */
            break;
        }
    }
    if (g.name != NULL)
        json_array_append_new(arr, res_jws_object(&g));
    return arr;
}

/* "iterations": one object per profile's ITER row (ents sorted by name). */
static json_t *res_jiterations(const merge_set *t, const merge_entry **ents)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < t->n; i++) {
        const merge_entry *e = ents[i];
        if (e->fig != STATS_FIG_ITERATION)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "profile", res_jstr(e->name));
        json_object_set_new(o, "count", res_juint(e->requests));
        json_object_set_new(o, "failures", res_juint(e->failures));
        json_object_set_new(o, "latency_ms", res_jlatency(&e->lat));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A lag percentile in ms, null when nothing started. */
static json_t *res_jlag(const hist *h, double pct)
{
    if (h->total == 0)
        return json_null();
    return json_real((double)(pct >= 100 ? h->max_us : hist_percentile(h, pct)) / 1000.0);
}

static bool res_open_model(const results_meta *meta)
{
    return meta->sc != NULL && meta->sc->model == SC_MODEL_OPEN;
}

/* "schedule" (master/results.h). */
static json_t *res_jschedule(const results_meta *meta, const merge_set *t)
{
    const stats_sched *sc = &t->sched;
    double cov = thresholds_covered_s(meta->sc, meta->duration_s);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(res_open_model(meta) ? "open" : "closed"));
    json_object_set_new(o, "intended", res_juint(sc->intended));
    json_object_set_new(o, "started", res_juint(sc->started));
    json_object_set_new(o, "dropped", res_juint(sc->dropped));
    json_object_set_new(o, "backlog_max", res_juint(sc->backlog_max));
    json_t *lag = json_object();
    json_object_set_new(lag, "p50", res_jlag(&sc->lag, 50));
    json_object_set_new(lag, "p99", res_jlag(&sc->lag, 99));
    json_object_set_new(lag, "max", res_jlag(&sc->lag, 100));
    json_object_set_new(o, "lag_ms", lag);
    json_object_set_new(o, "rate_planned", json_real(cov > 0 ? (double)sc->intended / cov : 0.0));
    json_object_set_new(o, "rate_achieved", json_real(cov > 0 ? (double)sc->started / cov : 0.0));
    json_object_set_new(o, "generator_limited_intervals", res_juint(t->limited_intervals));
    json_object_set_new(o, "cpu_max", res_jreal(t->cpu_max));
    json_object_set_new(o, "covered_s", res_jreal(cov));
    return o;
}

/* "verdict" (master/results.h): clean, the counts behind it and the notes saying why
 * not, in the order a reader needs them. */
static json_t *res_jverdict(const results_meta *meta, const merge_set *t)
{
    int failed = 0;
    for (int i = 0; i < meta->nth; i++)
        failed += !meta->th[i].ok;
    /* "stopped" is a run stopped on request (the API, one interrupt): it ran as asked */
    bool finished = meta->stop_reason == NULL || strcmp(meta->stop_reason, "finished") == 0
                    || strcmp(meta->stop_reason, "stopped") == 0;
    uint64_t lim = t->limited_intervals;
    json_t *notes = json_array();
    char buf[640];
    if (!finished) {
        snprintf(buf, sizeof buf, "the run did not finish: %s", meta->stop_reason);
        json_array_append_new(notes, res_jstr(buf));
    }
    if (failed > 0) {
        snprintf(buf, sizeof buf, "%d threshold%s failed", failed, failed == 1 ? "" : "s");
        json_array_append_new(notes, json_string(buf));
    }
    if (lim > 0 && res_open_model(meta))
        snprintf(buf, sizeof buf, "the generator did not keep the schedule in %llu interval%s "
                 "(lag p99 above %d ms or an engine thread above %.0f%% CPU): latency figures "
                 "of those intervals are not the target's alone",
                 (unsigned long long)lim, lim == 1 ? "" : "s", RESULTS_LAG_LIMIT_US / 1000,
                 RESULTS_CPU_LIMIT * 100);
    else if (lim > 0)
        snprintf(buf, sizeof buf, "the generator may have been the bottleneck in %llu "
                 "interval%s (an engine thread above %.0f%% CPU)",
                 (unsigned long long)lim, lim == 1 ? "" : "s", RESULTS_CPU_LIMIT * 100);
    if (lim > 0)
        json_array_append_new(notes, json_string(buf));
    if (t->sched.dropped > 0) {
        snprintf(buf, sizeof buf, "%llu arrival%s dropped (no free user and the backlog full, "
                 "or still waiting at the end)", (unsigned long long)t->sched.dropped,
                 t->sched.dropped == 1 ? " was" : "s were");
        json_array_append_new(notes, json_string(buf));
    }
    json_t *o = json_object();
    int flagged = health_json_verdict(meta->health, notes);    /* master/health.h */
    json_object_set_new(o, "clean", json_boolean(finished && failed == 0 && lim == 0 && flagged == 0));
    json_object_set_new(o, "workers_flagged", json_integer(flagged));
    json_object_set_new(o, "thresholds_failed", json_integer(failed));
    json_object_set_new(o, "generator_limited_intervals", res_juint(lim));
    json_object_set_new(o, "notes", notes);
    return o;
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
    results_iso_time(ts, sizeof ts, meta->start_wall_ms);
    json_object_set_new(root, "start", json_string(ts));
    results_iso_time(ts, sizeof ts, meta->end_wall_ms);
    json_object_set_new(root, "end", json_string(ts));
    json_object_set_new(root, "start_ms", res_juint(meta->start_wall_ms));
    json_object_set_new(root, "end_ms", res_juint(meta->end_wall_ms));
    json_object_set_new(root, "duration_s", res_jreal(dur));
    json_object_set_new(root, "stop_reason", res_jstr(meta->stop_reason));
    json_object_set_new(root, "interrupted", json_boolean(meta->interrupted));
    json_object_set_new(root, "covered_s", res_jreal(meta->covered_s > 0 ? meta->covered_s : dur));
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
    json_object_set_new(tot, "service_ms", res_jlatency(stats_row_svc(a)));
    /* issue 15: requests the lean client sent again on a new connection (counted once in
     * requests; the server may have seen requests + retries), from the workers' health */
    json_object_set_new(tot, "retries", res_juint(health_summary_retries(meta->health)));
    json_object_set_new(root, "totals", tot);

    json_t *reqs = json_array();
    for (uint32_t i = 0; i < t->n; i++) {
        const merge_entry *e = ents[i];
        if (!stats_fig_is_http(e->fig))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "name", res_jstr(e->name));
        json_object_set_new(o, "method", res_jstr(e->method));
        json_object_set_new(o, "requests", res_juint(e->requests));
        json_object_set_new(o, "failures", res_juint(e->failures));
        json_object_set_new(o, "rps", json_real(dur > 0 ? (double)e->requests / dur : 0.0));
        json_object_set_new(o, "error_rate",
                            json_real(e->requests ? (double)e->failures / (double)e->requests : 0.0));
        json_object_set_new(o, "bytes", res_juint(e->bytes));
        json_object_set_new(o, "latency_ms", res_jlatency(&e->lat));
        json_object_set_new(o, "service_ms", res_jlatency(stats_row_svc(e)));
        json_array_append_new(reqs, o);
    }
    json_object_set_new(root, "requests", reqs);
    json_object_set_new(root, "ws", res_jws(t, ents));
    json_object_set_new(root, "iterations", res_jiterations(t, ents));
    json_object_set_new(root, "schedule", res_jschedule(meta, t));

    json_t *jerrs = json_array();
    for (uint32_t i = 0; i < t->nerrs; i++) {
        const merge_err *e = errs[i];
        if (e->count == 0)
            continue;
        const char *kind = stats_err_kind_name(e->kind);
        json_t *o = json_object();
        json_object_set_new(o, "name", res_jstr(e->name));
        json_object_set_new(o, "method", res_jstr(e->method));
        json_object_set_new(o, "kind", res_jstr(kind ? kind : "other"));
        json_object_set_new(o, "detail", res_jstr(e->detail));
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
        if (!isfinite(r->value) && r->note[0] != '\0')
            json_object_set_new(o, "note", res_jstr(r->note));
        json_array_append_new(ths, o);
    }
    json_object_set_new(root, "thresholds", ths);
    json_object_set_new(root, "verdict", res_jverdict(meta, t));

    json_t *ws = json_array();
    for (int i = 0; i < meta->nworkers; i++) {
        const results_worker *w = &meta->workers[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", res_jstr(w->id));
        json_object_set_new(o, "host", res_jstr(w->host));
        json_object_set_new(o, "threads", json_integer(w->threads));
        json_object_set_new(o, "requests", res_juint(w->requests));
        json_object_set_new(o, "state", res_jstr(w->state));
        if (w->lost_at_ms) {
            char iso[40];
            json_object_set_new(o, "lost_at", json_string(time_iso8601(w->lost_at_ms, iso, sizeof iso)));
            json_object_set_new(o, "lost_at_s", json_real(w->lost_at_s));
            json_object_set_new(o, "missing_requests_max", res_juint(w->missing_requests_max));
        }
        json_t *health = health_json_worker(meta->health, w->id);  /* master/health.h */
        if (health)
            json_object_set_new(o, "health", health);
        json_array_append_new(ws, o);
    }
    json_object_set_new(root, "workers", ws);
    json_object_set_new(root, "names_folded", res_juint(t->names_folded));
    json_object_set_new(root, "missing_requests_max", res_juint(meta->missing_requests_max));
    monitor_summary_json(root, meta->monitor);      /* master/monitor.h */
    return root;
}

char *results_summary_text(const results_meta *meta, const merge_set *totals)
{
    const merge_entry **ents;
    const merge_err **errs;
    if (results_sorted(totals, &ents, &errs) != 0)
        return NULL;
    json_t *root = res_jsummary(meta, totals, ents, errs);
    free(ents);
    free(errs);
    if (root == NULL)
        return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);                    /* the file ends with a newline */
    char *t = realloc(text, n + 2);
    if (t == NULL) {
        free(text);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
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
