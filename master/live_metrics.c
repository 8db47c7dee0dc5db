/* live_metrics, the Prometheus text (master/live.h), split from live.c (the dashboard's
 * JSON) by output; both share the text buffer, the name cleaning and the row pickers of
 * master/live_int.h. Pure: no I/O, no globals; any thread.
 *
 * Decisions the header leaves open, written down here:
 * - Families are written in the header's order, each as HELP, TYPE, then its samples;
 *   a family without samples (no run yet, no WebSocket names) keeps its HELP and TYPE.
 * - Per-name families list every HTTP entry (the name cap bounds them), sorted by
 *   (name, method); WebSocket families one row per connection name (any "WS..." entry),
 *   zeros when that name lacks the figure, so the series set stays the same all run.
 * - stampede_ws_connects_total counts connections opened (attempts - failures), equal to
 *   summary.json's ws "connects".
 * - A summary's quantiles are NaN while it has no observation; _sum is the histogram's
 *   exact sum in seconds, _count its number of observations.
 * - stampede_errors_total lists every error kind, 0 included (a stable series set for
 *   rate()); stampede_workers lists the states the workers are in.
 * - Integer counters are printed as integers; other values as the shortest decimal that
 *   reads back to the same double, "NaN", "+Inf" or "-Inf".
 * - The open model (issue 11): the schedule families come from the totals when given
 *   (live_sched_of); stampede_schedule_lag_seconds is a summary over the whole run, the
 *   last interval's p99 the gauge stampede_schedule_lag_p99_seconds (NaN when nothing
 *   started); stampede_request_service_seconds sits beside the latency summary (equal
 *   in the closed model); per profile, stampede_iterations_total,
 *   stampede_iteration_failures_total and stampede_iteration_duration_seconds. */
#include "master/live.h"
#include "master/live_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- live_metrics ----------------------------------------------------------------- */

/* # HELP and # TYPE of one family (help texts are ours: nothing to escape). */
static void live_family(live_buf *b, const char *name, const char *type, const char *help)
{
    live_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value between quotes, cleaned and escaped (live_clean). */
static void live_label_value(live_buf *b, const char *s)
{
    live_putn(b, "\"", 1);
    live_clean(b, s, true);
    live_putn(b, "\"", 1);
}

/* A float as Prometheus (Go's ParseFloat) reads it: the shortest %g that reads back to
 * the same double; NaN, +Inf, -Inf spelled as Prometheus does. */
static void live_float(live_buf *b, double v)
{
    if (isnan(v)) {
        live_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        live_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char t[48];
    int p;
    for (p = 1; p < 17; p++) {                  /* significant digits needed */
        snprintf(t, sizeof t, "%.*e", p - 1, v);
        if (strtod(t, NULL) == v)
            break;
    }
    snprintf(t, sizeof t, "%.*e", p - 1, v);
    int exp10 = atoi(strchr(t, 'e') + 1);
    if (exp10 >= -5 && exp10 < 17) {            /* positional: 86400, 0.1, 0.000123 */
        int dec = p - 1 - exp10;
        snprintf(t, sizeof t, "%.*f", dec > 0 ? dec : 0, v);
    }
    live_puts(b, t);
}

/* Labels of one sample: pairs of (name, value), n pairs, plus an optional quantile
 * (the text "0.5"...; NULL for none). Writes "{a="x",b="y"}" or nothing when empty. */
static void live_labels(live_buf *b, const char *const *kv, int n, const char *quantile)
{
    if (n == 0 && quantile == NULL)
        return;
    live_putn(b, "{", 1);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            live_putn(b, ",", 1);
        live_puts(b, kv[2 * i]);
        live_putn(b, "=", 1);
        live_label_value(b, kv[2 * i + 1]);
    }
    if (quantile != NULL)
        live_printf(b, "%squantile=\"%s\"", n > 0 ? "," : "", quantile);
    live_putn(b, "}", 1);
}

static void live_sample_u(live_buf *b, const char *name, const char *const *kv, int n, uint64_t v)
{
    live_puts(b, name);
    live_labels(b, kv, n, NULL);
    live_printf(b, " %" PRIu64 "\n", v);
}

static void live_sample_f(live_buf *b, const char *name, const char *const *kv, int n, double v)
{
    live_puts(b, name);
    live_labels(b, kv, n, NULL);
    live_putn(b, " ", 1);
    live_float(b, v);
    live_putn(b, "\n", 1);
}

/* One label set of a summary in seconds: quantiles 0.5 0.9 0.95 0.99 (NaN while empty),
 * then NAME_sum and NAME_count. h may be NULL (no observations). */
static void live_summary(live_buf *b, const char *name, const char *const *kv, int n, const hist *h)
{
    static const struct { const char *text; double p; } q[] = {
        { "0.5", 50 }, { "0.9", 90 }, { "0.95", 95 }, { "0.99", 99 },
    };
    bool any = h != NULL && h->total > 0;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        live_puts(b, name);
        live_labels(b, kv, n, q[i].text);
        live_putn(b, " ", 1);
        live_float(b, any ? (double)hist_percentile(h, q[i].p) / 1e6 : NAN);
        live_putn(b, "\n", 1);
    }
    char nm[96];
    snprintf(nm, sizeof nm, "%s_sum", name);
    live_sample_f(b, nm, kv, n, h != NULL ? (double)h->sum_us / 1e6 : 0.0);
    snprintf(nm, sizeof nm, "%s_count", name);
    live_sample_u(b, nm, kv, n, h != NULL ? h->total : 0);
}

/* The figures of one WebSocket connection name, gathered from its entries. */
typedef struct live_ws {
    const char *name;
    const merge_entry *message, *connect, *sent, *recv;
} live_ws;

/* Groups the sorted ws entries by name into out (capacity n); returns the count. */
static uint32_t live_ws_groups(const merge_entry **ws, uint32_t n, live_ws *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const merge_entry *e = ws[i];
        if (k == 0 || strcmp(out[k - 1].name, e->name) != 0)
            out[k++] = (live_ws){ .name = e->name };
        live_ws *g = &out[k - 1];
        switch (e->fig) {
        case STATS_FIG_WS_MESSAGE: g->message = e; break;
        case STATS_FIG_WS_CONNECT: g->connect = e; break;
        case STATS_FIG_WS_SENT:    g->sent = e; break;
        case STATS_FIG_WS_RECV:    g->recv = e; break;
        default: break;
        }
    }
    return k;
}

/* The per-name HTTP families. */
static void live_m_http(live_buf *b, const merge_entry **http, uint32_t n)
{
    live_family(b, "stampede_requests_total", "counter",
                "HTTP requests completed, failures included, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_requests_total", kv, 2, http[i]->requests);
    }
    live_family(b, "stampede_request_failures_total", "counter",
                "HTTP requests that failed, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_request_failures_total", kv, 2, http[i]->failures);
    }
    live_family(b, "stampede_response_bytes_total", "counter",
                "HTTP response body bytes received, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_sample_u(b, "stampede_response_bytes_total", kv, 2, http[i]->bytes);
    }
    live_family(b, "stampede_request_duration_seconds", "summary",
                "HTTP request latency over the whole run, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_summary(b, "stampede_request_duration_seconds", kv, 2, &http[i]->lat);
    }
    live_family(b, "stampede_request_service_seconds", "summary",
                "HTTP request service time (from the actual send; equal to the latency in "
                "the closed model) over the whole run, by method and name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "method", http[i]->method, "name", http[i]->name };
        live_summary(b, "stampede_request_service_seconds", kv, 2, stats_row_svc(http[i]));
    }
}

/* The schedule (open model; zeros in the closed one but for the limited intervals) and
 * the iterations per profile. */
static void live_m_schedule(live_buf *b, const coord_status *st, const merge_set *t,
                            const merge_entry **it, uint32_t nit)
{
    live_sched s = live_sched_of(st, t);
    const struct { const char *name, *help; uint64_t v; } rows[] = {
        { "stampede_iterations_intended_total",
          "Arrivals whose intended start has come (open model).", s.intended },
        { "stampede_iterations_started_total",
          "Iterations started from an arrival, at once or from the backlog (open model).",
          s.started },
        { "stampede_iterations_dropped_total",
          "Arrivals dropped: the backlog was full, or they still waited when the stages "
          "ended (open model).", s.dropped },
        { "stampede_generator_limited_intervals_total",
          "Intervals in which the generator did not keep up (lag p99 above 10 ms or an "
          "engine thread above 90% CPU).", s.limited },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        live_family(b, rows[i].name, "counter", rows[i].help);
        live_sample_u(b, rows[i].name, NULL, 0, rows[i].v);
    }
    const struct { const char *name, *help; double v; } gauges[] = {
        { "stampede_schedule_backlog_max", "Most arrivals waiting for a free user at once "
          "(whole run, open model).", (double)s.backlog_max },
        { "stampede_schedule_planned_rate", "Arrivals intended per second in the last "
          "complete interval (open model).", st->rate_planned },
        { "stampede_schedule_achieved_rate", "Iterations started per second in the last "
          "complete interval (open model).", st->rate_achieved },
        { "stampede_schedule_lag_p99_seconds", "Schedule lag p99 (actual start - intended) "
          "of the last complete interval; NaN when nothing started.", st->lag_p99_ms / 1e3 },
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        live_family(b, gauges[i].name, "gauge", gauges[i].help);
        live_sample_f(b, gauges[i].name, NULL, 0, gauges[i].v);
    }
    live_family(b, "stampede_schedule_lag_seconds", "summary",
                "Schedule lag (actual start - intended start) over the whole run.");
    live_summary(b, "stampede_schedule_lag_seconds", NULL, 0, s.lag);
    live_family(b, "stampede_iterations_total", "counter",
                "Iterations that ended, by profile.");
    for (uint32_t i = 0; i < nit; i++) {
        const char *kv[] = { "profile", it[i]->name };
        live_sample_u(b, "stampede_iterations_total", kv, 1, it[i]->requests);
    }
    live_family(b, "stampede_iteration_failures_total", "counter",
                "Iterations in which a step failed, by profile.");
    for (uint32_t i = 0; i < nit; i++) {
        const char *kv[] = { "profile", it[i]->name };
        live_sample_u(b, "stampede_iteration_failures_total", kv, 1, it[i]->failures);
    }
    live_family(b, "stampede_iteration_duration_seconds", "summary",
                "Whole iterations (from the intended start in the open model) over the "
                "whole run, by profile.");
    for (uint32_t i = 0; i < nit; i++) {
        const char *kv[] = { "profile", it[i]->name };
        live_summary(b, "stampede_iteration_duration_seconds", kv, 1, &it[i]->lat);
    }
}

/* stampede_errors_total{kind}: every kind, summed over all names. */
static void live_m_errors(live_buf *b, const merge_set *t)
{
    uint64_t by_kind[ERR_KIND_COUNT] = { 0 };
    uint64_t unknown = 0;
    for (uint32_t i = 0; t != NULL && i < t->nerrs; i++) {
        const merge_err *e = &t->errs[i];
        if ((unsigned)e->kind < ERR_KIND_COUNT)
            by_kind[e->kind] += e->count;
        else
            unknown += e->count;
    }
    by_kind[ERR_OTHER] += unknown;              /* a newer peer's kind: "other", as its name */
    live_family(b, "stampede_errors_total", "counter", "Errors by kind, all names.");
    for (int k = 0; k < ERR_KIND_COUNT; k++) {
        const char *kv[] = { "kind", stats_err_kind_name((stats_err_kind)k) };
        live_sample_u(b, "stampede_errors_total", kv, 1, by_kind[k]);
    }
}

/* The WebSocket families, one row per connection name. */
static void live_m_ws(live_buf *b, const live_ws *g, uint32_t n)
{
    live_family(b, "stampede_ws_messages_sent_total", "counter",
                "WebSocket messages sent, by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_messages_sent_total", kv, 1,
                      g[i].sent ? g[i].sent->requests : 0);
    }
    live_family(b, "stampede_ws_messages_received_total", "counter",
                "WebSocket messages received, by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_messages_received_total", kv, 1,
                      g[i].recv ? g[i].recv->requests : 0);
    }
    live_family(b, "stampede_ws_connects_total", "counter",
                "WebSocket connections opened (reconnects included), by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const merge_entry *c = g[i].connect;
        uint64_t ok = c != NULL && c->requests >= c->failures ? c->requests - c->failures : 0;
        const char *kv[] = { "name", g[i].name };
        live_sample_u(b, "stampede_ws_connects_total", kv, 1, ok);
    }
    live_family(b, "stampede_ws_message_duration_seconds", "summary",
                "WebSocket message latency (send to matching message) over the whole run, "
                "by connection name.");
    for (uint32_t i = 0; i < n; i++) {
        const char *kv[] = { "name", g[i].name };
        live_summary(b, "stampede_ws_message_duration_seconds", kv, 1,
                     g[i].message ? &g[i].message->lat : NULL);
    }
}

/* The master's protocol counters since it started (PROTOCOL.md 9): messages dropped,
 * failed key proofs, sealed sessions ended by a frame that failed, connections closed
 * for sending no HELLO. */
static void live_m_protocol(live_buf *b, const coord_status *st)
{
    const struct { const char *name, *help; uint64_t v; } rows[] = {
        { "stampede_protocol_dropped_total",
          "Messages the master dropped (undecodable, unauthenticated, out of place).", st->proto_dropped },
        { "stampede_protocol_auth_failures_total",
          "HELLOs refused for a missing or wrong key proof, or answering no CHALLENGE.",
          st->proto_auth_failures },
        { "stampede_protocol_seal_failures_total",
          "Sealed sessions ended by a message that failed authentication or sequence.",
          st->proto_seal_failures },
        { "stampede_protocol_hello_timeouts_total",
          "Connections closed for sending no HELLO in time.", st->proto_hello_timeouts },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        live_family(b, rows[i].name, "counter", rows[i].help);
        live_sample_u(b, rows[i].name, NULL, 0, rows[i].v);
    }
}

/* stampede_workers{state}: how many workers are in each state (first-seen order). */
static void live_m_workers(live_buf *b, const live_input *in)
{
    live_family(b, "stampede_workers", "gauge", "Workers by state.");
    int n = in->workers != NULL ? in->nworkers : 0;
    for (int i = 0; i < n; i++) {
        const char *state = in->workers[i].state;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(in->workers[j].state, state) == 0;
        if (seen)
            continue;
        uint64_t count = 0;
        for (int j = i; j < n; j++)
            count += strcmp(in->workers[j].state, state) == 0;
        const char *kv[] = { "state", state };
        live_sample_u(b, "stampede_workers", kv, 1, count);
    }
}

/* Issue 13: each worker's own health in its last closed interval (master/health.h),
 * for the workers that have one: engine CPU as a fraction of one core, RSS in bytes, the
 * loop lag in seconds, connections, and its flagged intervals and HTTP retries so far. */
static void live_m_worker_health(live_buf *b, const live_input *in)
{
    static const struct { const char *name, *type, *help; } fam[] = {
        { "stampede_worker_engine_cpu_ratio", "gauge",
          "A worker's busiest engine thread in its last closed interval, fraction of one core." },
        { "stampede_worker_rss_bytes", "gauge", "A worker process's resident memory." },
        { "stampede_worker_loop_lag_seconds", "gauge",
          "How late a worker's engine loop timer fired at worst in its last closed interval." },
        { "stampede_worker_connections", "gauge", "HTTP and WebSocket connections a worker holds open." },
        { "stampede_worker_flagged_intervals_total", "counter",
          "A worker's intervals above 90% engine CPU or with its loop over 10 ms late." },
        { "stampede_worker_http_retries_total", "counter",
          "Requests a worker's lean HTTP client sent again on a new connection after their "
          "kept-alive connection closed before any answer byte (counted once as requests)." },
    };
    int n = in->workers != NULL ? in->nworkers : 0;
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        live_family(b, fam[f].name, fam[f].type, fam[f].help);
        for (int i = 0; i < n; i++) {
            const coord_worker_info *w = &in->workers[i];
            if (!w->has_health)
                continue;
            const char *kv[] = { "worker", w->id };
            switch (f) {
            case 0: live_sample_f(b, fam[f].name, kv, 1, w->engine_cpu_pct / 100.0); break;
            case 1: live_sample_u(b, fam[f].name, kv, 1, (uint64_t)(w->rss_mib * 1048576.0 + 0.5)); break;
            case 2: live_sample_f(b, fam[f].name, kv, 1, w->loop_lag_ms / 1000.0); break;
            case 3: live_sample_u(b, fam[f].name, kv, 1, w->conns); break;
            case 4: live_sample_u(b, fam[f].name, kv, 1, w->flagged_intervals); break;
            default: live_sample_u(b, fam[f].name, kv, 1, w->retries); break;
            }
        }
    }
}

char *live_metrics(const live_input *in)
{
    static const coord_status idle = { .state = RUN_IDLE };
    const coord_status *st = in->st != NULL ? in->st : &idle;
    const merge_set *t = in->totals;
    live_buf b = { 0 };
    uint32_t nhttp = 0, nws = 0;
    const merge_entry **http = live_pick(t, live_is_http, live_cmp_entry, &nhttp);
    const merge_entry **ws = live_pick(t, live_is_ws, live_cmp_entry, &nws);
    uint32_t nit = 0;
    const merge_entry **it = live_pick(t, live_is_iter, live_cmp_entry, &nit);
    live_ws *groups = malloc(((size_t)nws + 1) * sizeof *groups);
    if (http == NULL || ws == NULL || groups == NULL || it == NULL) {
        free(http);
        free(ws);
        free(it);
        free(groups);
        return NULL;
    }
    uint32_t ngroups = live_ws_groups(ws, nws, groups);

    live_family(&b, "stampede_users", "gauge", "Active virtual users (last complete interval).");
    live_sample_u(&b, "stampede_users", NULL, 0, st->users);
    live_m_workers(&b, in);
    live_m_worker_health(&b, in);
    char id[LIVE_RUN_ID_LEN] = "";
    if (st->run_id != 0)
        live_run_id(id, sizeof id, st->run_id);
    live_family(&b, "stampede_run_info", "gauge", "The current or last run (always 1).");
    const char *info[] = { "run_id", id, "scenario", in->scenario ? in->scenario : "",
                           "state", coord_state_name(st->state) };
    live_sample_u(&b, "stampede_run_info", info, 3, 1);
    live_family(&b, "stampede_elapsed_seconds", "gauge", "Seconds since the run started.");
    live_sample_f(&b, "stampede_elapsed_seconds", NULL, 0, st->elapsed_s);
    live_m_http(&b, http, nhttp);
    live_m_errors(&b, t);
    live_m_ws(&b, groups, ngroups);
    live_m_schedule(&b, st, t, it, nit);
    live_m_protocol(&b, st);

    free(http);
    free(ws);
    free(it);
    free(groups);
    if (b.oom || b.p == NULL) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
