/* The master's HTTP API: evhttp on a thread of its own (own event_base), translating
 * JSON requests into master/coord.h calls. Nothing here keeps run state: every answer is
 * read from the coordinator when asked, so the API can never disagree with it.
 *
 * Decisions worth knowing:
 * - Only the coordinator's current (or last) run is addressable; an older run id is a
 *   404, as is any id before the first run.
 * - Results files are served by a fixed list of names joined to the run's folder, never
 *   by a path from the request, so no request can read outside that folder.
 * - The API thread is woken through a pipe (shutdown, and a submission parsed), so
 *   libevent's thread support need not be switched on process-wide.
 * - Basic auth (--ui-auth) guards every path, /metrics included (Prometheus scrapes with
 *   basic_auth); the expected header is computed once and compared in constant time.
 *   Every request passes api_guard_check (master/api_req.h: Host, auth, Origin,
 *   Sec-Fetch-Site, Content-Type); a request with a body passes it before its body is read
 *   (master/api_conn.h), which also caps connections and body bytes in flight.
 * - POST /api/runs parses the scenario (coord_run) on a thread of its own, one submission
 *   at a time, so a slow scenario (deep YAML) never stalls the dashboard, /metrics or a
 *   stop; a second submission meanwhile is a 409. Its answer is sent from the API thread
 *   when the parse ends (evhttp is not thread-safe). A client that hung up meanwhile is
 *   fine: evhttp_send_reply on a request whose connection is gone only frees it. */
#include "master/api.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include "common/log.h"
#include "common/stats.h"
#include "master/api_conn.h"
#include "master/api_req.h"
#include "master/assets.h"
#include "master/api_history.h"
#include "master/live.h"
#include "proto/plan.h"

#define API_TIMEOUT_S       30                  /* idle connection */
#define API_MAX_WORKERS     1024                /* listed by one answer */

struct api {
    coord              *c;
    struct event_base  *base;
    struct evhttp      *http;
    struct event       *wake_ev;                /* read end of wake[] */
    int                 wake[2];                /* api_stop writes 'x', a parse 'd' to wake[1] */
    pthread_t           thread;
    bool                started;
    api_guard_cfg       guard;                  /* Host / auth / Origin / Content-Type rules */
    api_conns          *conns;                  /* the connection guard */
    struct api_job     *job;                    /* the submission being parsed, or NULL */
    bool                local;                  /* a local run's --ui (api_opts.local) */
    char               *history;                /* api_opts.history (malloc'd) or NULL */
};

/* One POST /api/runs being parsed by coord_run on its own thread. The API thread owns req
 * and reads the result after joining the thread. */
typedef struct api_job {
    api                  *a;
    struct evhttp_request *req;
    pthread_t             thread;
    proto_plan            plan;
    coord_run_cfg         cfg;
    uint64_t              expect;
    int                   rc;
    bool                  busy;
    uint64_t              run_id;
    char                  err[1024];
    char                 *labels;       /* the run's labels as JSON text (malloc'd), or NULL */
} api_job;

/* The results files a client may download (api.h); anything else is a 404.
 * schedule.csv exists for open-model runs only (a closed run answers 404 for it). */
static const char *const api_files[] = {
    "summary.json", "stats.csv", "stats_history.csv", "failures.csv", "junit.xml",
    "report.html", "schedule.csv",
    "workers.csv",              /* issue 13: the workers' own health (master/health.h) */
    "monitor.csv", "scenario.yaml", /* issue 13: the monitor's figures, the scenario as run */
};

/* A JSON string from text that came off the network (worker ids, refusal reasons):
 * invalid UTF-8 would make jansson refuse the whole answer, so it is replaced
 * byte-wise by '?' instead. */
static json_t *api_text(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j) return j;
    char buf[1024];
    size_t n = 0;
    for (; s[n] && n + 1 < sizeof buf; n++) buf[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
    buf[n] = '\0';
    return json_string(buf);
}

/* ---- replies ----------------------------------------------------------------------- */

/* Sends j (stolen) as the JSON body with the given status. */
static void api_reply_json(struct evhttp_request *req, int code, json_t *j)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    if (b && text) {
        evbuffer_add(b, text, strlen(text));
        evbuffer_add(b, "\n", 1);
    }
    free(text);
    const char *reason = code == 200 ? "OK" : code == 201 ? "Created" : code == 202 ? "Accepted"
                       : code == 400 ? "Bad Request" : code == 404 ? "Not Found"
                       : code == 401 ? "Unauthorized" : code == 403 ? "Forbidden"
                       : code == 405 ? "Method Not Allowed" : code == 409 ? "Conflict"
                       : code == 413 ? "Payload Too Large" : code == 415 ? "Unsupported Media Type"
                       : code == 421 ? "Misdirected Request" : code == 503 ? "Service Unavailable"
                       : "Internal Server Error";
    evhttp_send_reply(req, code, reason, b);
    if (b) evbuffer_free(b);
}

static void api_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void api_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';   /* sc_error_format's */
    api_reply_json(req, code, json_pack("{s:o}", "error", api_text(msg)));
}

static void api_method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    api_reply_error(req, 405, "method not allowed here (allowed: %s)", allow);
}

/* Parses the request body as a JSON object. An empty body is an empty object when
 * empty_ok, so "POST .../stop" needs no body. NULL after replying 400. */
static json_t *api_body_json(struct evhttp_request *req, bool empty_ok)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        if (empty_ok) return json_object();
        api_reply_error(req, 400, "the request has no body: a JSON object is expected");
        return NULL;
    }
    const char *data = (const char *)evbuffer_pullup(in, -1);
    json_error_t je;
    json_t *j = data ? json_loadb(data, len, 0, &je) : NULL;
    if (!j) {
        if (data) api_reply_error(req, 400, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
        else api_reply_error(req, 500, "out of memory");
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        api_reply_error(req, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* ---- POST /api/runs ---------------------------------------------------------------- */

static void *api_job_thread(void *ud)
{
    api_job *job = ud;
    job->rc = coord_run(job->a->c, &job->cfg, &job->run_id, &job->busy, job->err, sizeof job->err);
    ssize_t w;
    do w = write(job->a->wake[1], "d", 1);
    while (w < 0 && errno == EINTR);
    return NULL;
}

static void api_job_free(api_job *job)
{
    plan_fini(&job->plan);              /* coord_run deep-copied what it keeps */
    free(job->labels);
    free(job);
}

/* The API thread, once the job's thread said it is done: joins it and answers. */
static void api_job_finish(api *a)
{
    api_job *job = a->job;
    if (!job) return;
    a->job = NULL;
    pthread_join(job->thread, NULL);
    struct evhttp_request *req = job->req;
    if (job->rc != 0) {
        api_reply_error(req, job->busy ? 409 : 400, "%s", job->err[0] ? job->err : "the run was refused");
    } else {
        log_info("api", "run %" PRIu64 " submitted (%" PRIu64 " worker(s) expected)", job->run_id, job->expect);
        char id[24], loc[48];
        snprintf(id, sizeof id, "%" PRIu64, job->run_id);
        snprintf(loc, sizeof loc, "/api/runs/%s", id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
        api_reply_json(req, 201, json_pack("{s:s}", "id", id));
    }
    api_job_free(job);
}

static void api_post_run(api *a, struct evhttp_request *req)
{
    if (a->local) {
        /* Decision: 409 (the coordinator belongs to the CLI's own run and ends with it),
         * whatever the body says, before it is read. */
        api_reply_error(req, 409, "a local run's dashboard cannot start runs");
        return;
    }
    if (a->job) {
        api_reply_error(req, 409, "another submission is being checked: retry when it is answered");
        return;
    }
    json_t *j = api_body_json(req, false);
    if (!j) return;
    api_job *job = calloc(1, sizeof *job);
    if (!job) {
        json_decref(j);
        api_reply_error(req, 500, "out of memory");
        return;
    }
    char err[1024] = "";
    api_run_req rr;
    int prc = api_run_from_json(j, NULL, &rr, err, sizeof err);
    json_decref(j);
    job->plan = rr.plan;                /* the job owns them now (api_job_free) */
    job->labels = rr.labels;
    if (prc != 0) {
        api_job_free(job);
        api_reply_error(req, 400, "%s", err);
        return;
    }
    uint64_t expect = rr.expect, expect_timeout = rr.expect_timeout_ms;
    bool full_history = rr.full_history;
    job->a = a;
    job->req = req;
    job->expect = expect;
    job->cfg = (coord_run_cfg){ .plan = &job->plan, .expect_workers = (uint32_t)expect,
                                .expect_timeout_ms = expect_timeout, .out_dir = NULL,
                                .interval_ms = 1000, .name_cap = STATS_DEFAULT_NAME_CAP,
                                .full_history = full_history, .labels_json = job->labels };
    /* The parse thread takes no signals either (api_start's rule for the API thread). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&job->thread, NULL, api_job_thread, job);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        api_job_free(job);
        api_reply_error(req, 503, "cannot start the submission's thread: %s", strerror(rc));
        return;
    }
    a->job = job;
}

/* ---- GET /api/runs/ID, POST /api/runs/ID/stop ------------------------------------- */

/* JSON has no NaN or infinity (jansson refuses them): such a value is reported as 0. */
static double api_num(double v)
{
    return isfinite(v) ? v : 0.0;
}

static json_t *api_worker_json(const coord_worker_info *w)
{
    return json_pack("{s:o, s:o, s:I, s:I, s:I, s:f, s:I, s:o, s:f}",
                     "id", api_text(w->id), "host", api_text(w->host), "threads", (json_int_t)w->threads,
                     "slots", (json_int_t)w->slots, "users", (json_int_t)w->users, "rps", api_num(w->rps),
                     "requests", (json_int_t)w->requests, "state", api_text(w->state), "last_seen_s", api_num(w->last_seen_s));
}

/* Connected workers (and those of the current run) as a JSON array. */
static json_t *api_workers_json(api *a)
{
    coord_worker_info *ws = calloc(API_MAX_WORKERS, sizeof *ws);
    json_t *arr = json_array();
    if (!ws || !arr) {
        free(ws);
        json_decref(arr);
        return NULL;
    }
    int n = coord_get_workers(a->c, ws, API_MAX_WORKERS);
    for (int i = 0; i < n && i < API_MAX_WORKERS; i++) json_array_append_new(arr, api_worker_json(&ws[i]));
    free(ws);
    return arr;
}

static json_t *api_status_json(api *a, const coord_status *s)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, s->run_id);
    json_t *workers = api_workers_json(a);
    if (!workers) return NULL;
    /* results_error: present (non-empty) only when the results folder could not be written */
    return json_pack("{s:s, s:s, s:f, s:I, s:f, s:f, s:I, s:I, s:I, s:i, s:o, s:o, s:o, s:o}",
                     "id", id, "state", coord_state_name(s->state), "elapsed_s", api_num(s->elapsed_s),
                     "users", (json_int_t)s->users, "rps", api_num(s->rps), "p95_ms", api_num(s->p95_ms),
                     "requests", (json_int_t)s->requests, "failures", (json_int_t)s->failures,
                     "workers", (json_int_t)s->workers, "thresholds_failed", s->thresholds_failed,
                     "reason", api_text(s->reason), "out_dir", api_text(s->out_dir), "workers_detail", workers,
                     "results_error", s->results_error[0] ? api_text(s->results_error) : json_null());
}

/* Looks the run up: true with *s when id names the coordinator's current or last run,
 * else replies 404 and returns false. */
static bool api_find_run(api *a, struct evhttp_request *req, const char *id, size_t idlen, coord_status *s)
{
    char buf[24];
    uint64_t want = 0;
    bool ok = idlen > 0 && idlen < sizeof buf;
    if (ok) {
        memcpy(buf, id, idlen);
        buf[idlen] = '\0';
        char *end;
        errno = 0;
        want = strtoull(buf, &end, 10);
        ok = !errno && *end == '\0' && buf[0] >= '0' && buf[0] <= '9';
    }
    if (ok) {
        coord_get_status(a->c, s);
        ok = s->run_id != 0 && s->run_id == want;
    }
    if (!ok) api_reply_error(req, 404, "no run with id \"%.*s\"", (int)(idlen > 40 ? 40 : idlen), id);
    return ok;
}

static void api_get_run(api *a, struct evhttp_request *req, const coord_status *s)
{
    json_t *j = api_status_json(a, s);
    if (!j) api_reply_error(req, 500, "out of memory");
    else api_reply_json(req, 200, j);
}

static void api_stop_run(api *a, struct evhttp_request *req)
{
    json_t *j = api_body_json(req, true);
    if (!j) return;
    json_t *ab = json_object_get(j, "abort");
    if (ab && !json_is_boolean(ab) && !json_is_null(ab)) {
        json_decref(j);
        api_reply_error(req, 400, "\"abort\" must be true or false");
        return;
    }
    bool abort_run = ab && json_is_true(ab);
    json_decref(j);
    log_info("api", "stop requested%s", abort_run ? " (abort)" : "");
    coord_stop(a->c, abort_run);
    coord_status s;
    coord_get_status(a->c, &s);
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, s.run_id);
    api_reply_json(req, 202, json_pack("{s:s, s:s}", "id", id, "state", coord_state_name(s.state)));
}

/* ---- GET /api/runs/ID/files/NAME --------------------------------------------------- */

static void api_reply_text(struct evhttp_request *req, const char *type, char *text);

/* summary.json of an ended run that is not on disk (full disk: coord_status.results_error):
 * the coordinator's in-memory copy. true when it was sent. */
static bool api_summary_from_memory(api *a, struct evhttp_request *req, const coord_status *s, const char *name)
{
    if (strcmp(name, "summary.json") || (s->state != RUN_FINISHED && s->state != RUN_ABORTED)) return false;
    char *text = coord_get_summary(a->c);      /* the last ended run's, which s is */
    if (!text) return false;
    api_reply_text(req, "application/json", text);
    return true;
}

static void api_get_file(api *a, struct evhttp_request *req, const coord_status *s, const char *name)
{
    const char *known = NULL;
    for (size_t i = 0; i < sizeof api_files / sizeof api_files[0]; i++)
        if (!strcmp(name, api_files[i])) known = api_files[i];
    if (!known) {
        api_reply_error(req, 404, "no such results file (files: summary.json, stats.csv, "
                                  "stats_history.csv, failures.csv, junit.xml, report.html, "
                                  "schedule.csv, workers.csv)");
        return;
    }
    if (!s->out_dir[0]) {
        if (api_summary_from_memory(a, req, s, known)) return;
        api_reply_error(req, 404, "the run has no results folder yet");
        return;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", s->out_dir, known);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        if (api_summary_from_memory(a, req, s, known)) return;
        api_reply_error(req, 404, "%s is not written (yet) for this run%s%s", known,
                        s->results_error[0] ? ": " : "", s->results_error);
        return;
    }
    /* Read into memory (stats_history.csv of a 24 h run is tens of MB at most) so the
     * descriptor's lifetime stays here. */
    struct evbuffer *b = evbuffer_new();
    int n = 1;
    while (b && n > 0) {
        n = evbuffer_read(b, fd, 1 << 20);
        if (n < 0 && errno == EINTR) n = 1;
    }
    close(fd);
    if (!b || n < 0) {
        if (b) evbuffer_free(b);
        api_reply_error(req, 500, "cannot read %s: %s", known, strerror(errno));
        return;
    }
    const char *ext = strrchr(known, '.');
    const char *type = !strcmp(ext, ".json") ? "application/json"
                     : !strcmp(ext, ".xml") ? "application/xml"
                     : !strcmp(ext, ".html") ? "text/html; charset=utf-8" : "text/csv; charset=utf-8";
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ---- the dashboard ---------------------------------------------------------------- */

/* Sends text (owned, freed here) with a content type; NULL text is a 500. */
static void api_reply_text(struct evhttp_request *req, const char *type, char *text)
{
    if (!text) {
        api_reply_error(req, 500, "out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    if (b) evbuffer_add(b, text, strlen(text));
    free(text);
    evhttp_send_reply(req, 200, "OK", b);
    if (b) evbuffer_free(b);
}

static void api_get_asset(struct evhttp_request *req, const char *name)
{
    const asset *as = asset_get(name);
    if (!as) {
        api_reply_error(req, 404, "no such asset: %s", name);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", as->type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    /* the asset is static and immutable: no copy */
    if (b) evbuffer_add_reference(b, as->data, as->len, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", b);
    if (b) evbuffer_free(b);
}

/* A number, or null where it is NaN (no request, nothing started). */
static json_t *api_num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

json_t *api_series_json(const coord_point *pts, int n, uint64_t run_id)
{
    /* one array per key, in this order; see api.h */
    enum { K_T, K_USERS, K_RPS, K_FPS, K_P50, K_P95, K_P99, K_S50, K_S95, K_S99, K_RP, K_RA,
           K_BACKLOG, K_DROPPED, K_LAG, K_LIMITED, K_N };
    static const char *const names[K_N] = { "t", "users", "rps", "fps", "p50", "p95", "p99", "s50",
                                            "s95", "s99", "rate_planned", "rate_achieved", "backlog",
                                            "dropped", "lag_p99", "limited" };
    json_t *o = json_object(), *arr[K_N];
    for (int k = 0; k < K_N; k++) arr[k] = json_array();
    for (int i = 0; i < n; i++) {
        const coord_point *p = &pts[i];
        json_array_append_new(arr[K_T], json_real(p->t));
        json_array_append_new(arr[K_USERS], json_integer(p->users));
        json_array_append_new(arr[K_RPS], json_real(p->rps));
        json_array_append_new(arr[K_FPS], json_real(p->fps));
        json_array_append_new(arr[K_P50], api_num_or_null(p->p50));
        json_array_append_new(arr[K_P95], api_num_or_null(p->p95));
        json_array_append_new(arr[K_P99], api_num_or_null(p->p99));
        json_array_append_new(arr[K_S50], api_num_or_null(p->s50));
        json_array_append_new(arr[K_S95], api_num_or_null(p->s95));
        json_array_append_new(arr[K_S99], api_num_or_null(p->s99));
        json_array_append_new(arr[K_RP], json_real(p->rate_planned));
        json_array_append_new(arr[K_RA], json_real(p->rate_achieved));
        json_array_append_new(arr[K_BACKLOG], json_integer(p->backlog));
        json_array_append_new(arr[K_DROPPED], json_integer((json_int_t)p->dropped));
        json_array_append_new(arr[K_LAG], api_num_or_null(p->lag_p99));
        json_array_append_new(arr[K_LIMITED], json_integer(p->limited ? 1 : 0));
    }
    char id[32];
    snprintf(id, sizeof id, "%" PRIu64, run_id);
    json_object_set_new(o, "run_id", run_id ? json_string(id) : json_null());
    for (int k = 0; k < K_N; k++) json_object_set_new(o, names[k], arr[k]);
    return o;
}

/* GET /api/series?after=T: the run's points after T, as parallel arrays. */
static void api_get_series(api *a, struct evhttp_request *req)
{
    double after = -1;
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (q && evhttp_parse_query_str(q, &params) == 0) {
        const char *v = evhttp_find_header(&params, "after");
        char *end;
        if (v) {
            double x = strtod(v, &end);
            if (end != v && !*end && isfinite(x)) after = x;
        }
    }
    evhttp_clear_headers(&params);
    coord_point *pts = malloc(COORD_SERIES * sizeof *pts);
    if (!pts) {
        api_reply_error(req, 500, "out of memory");
        return;
    }
    uint64_t run_id = 0;
    double step_s = 0;
    int n = coord_get_series(a->c, after, pts, COORD_SERIES, &run_id, &step_s);
    json_t *j = api_series_json(pts, n, run_id);
    free(pts);
    json_object_set_new(j, "step_s", json_real(step_s));   /* the dashboard refetches when it changes */
    api_reply_json(req, 200, j);
}

/* true when the request may go on (api_guard_check, master/api_req.h); else the refusal
 * has been sent. */
static bool api_guarded(api *a, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    api_head h = { .host = evhttp_find_header(in, "Host"), .auth = evhttp_find_header(in, "Authorization"),
                   .origin = evhttp_find_header(in, "Origin"), .fetch_site = evhttp_find_header(in, "Sec-Fetch-Site"),
                   .ctype = evhttp_find_header(in, "Content-Type") };
    snprintf(h.method, sizeof h.method, "%s", m == EVHTTP_REQ_GET ? "GET" : m == EVHTTP_REQ_HEAD ? "HEAD"
                                            : m == EVHTTP_REQ_POST ? "POST" : m == EVHTTP_REQ_PUT ? "PUT"
                                            : m == EVHTTP_REQ_DELETE ? "DELETE" : m == EVHTTP_REQ_PATCH ? "PATCH"
                                            : "OPTIONS");
    char msg[512];
    int code = api_guard_check(&a->guard, &h, msg, sizeof msg);
    if (code == 0) return true;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (code == 401)
        evhttp_add_header(out, "WWW-Authenticate", "Basic realm=\"stampede\", charset=\"UTF-8\"");
    evhttp_add_header(out, "Connection", "close");
    api_reply_error(req, code, "%s", msg);
    return false;
}

/* ---- routing ----------------------------------------------------------------------- */

/* One callback for every request: routes by method and path (api.h's table). */
static void api_route(struct evhttp_request *req, void *ud)
{
    api *a = ud;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path) path = "/";
    size_t plen = strlen(path);
    while (plen > 1 && path[plen - 1] == '/') plen--;      /* "/api/runs/" == "/api/runs" */
    log_debug("api", "%s %s", m == EVHTTP_REQ_GET ? "GET" : m == EVHTTP_REQ_POST ? "POST" : "?", path);
    if (!api_guarded(a, req)) return;

#define API_IS(lit) (plen == sizeof(lit) - 1 && !memcmp(path, lit, plen))
    bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
    if (plen == 1 && path[0] == '/') {
        if (get) api_get_asset(req, "index.html");
        else api_method_not_allowed(req, "GET");
        return;
    }
    static const char assets[] = "/assets/";
    if (plen > sizeof assets - 1 && !memcmp(path, assets, sizeof assets - 1)) {
        char name[64];
        size_t nlen = plen - (sizeof assets - 1);
        if (!get) {
            api_method_not_allowed(req, "GET");
        } else if (nlen >= sizeof name) {
            api_reply_error(req, 404, "no such asset");
        } else {
            memcpy(name, path + sizeof assets - 1, nlen);
            name[nlen] = '\0';
            api_get_asset(req, name);
        }
        return;
    }
    if (API_IS("/api/live")) {
        if (get) api_reply_text(req, "application/json", live_mark_local(coord_get_live(a->c), a->local));
        else api_method_not_allowed(req, "GET");
        return;
    }
    if (API_IS("/api/series")) {
        if (get) api_get_series(a, req);
        else api_method_not_allowed(req, "GET");
        return;
    }
    if (API_IS("/metrics")) {
        if (get) api_reply_text(req, "text/plain; version=0.0.4; charset=utf-8", coord_get_metrics(a->c));
        else api_method_not_allowed(req, "GET");
        return;
    }
    if (API_IS("/api/runs")) {
        if (m == EVHTTP_REQ_POST) api_post_run(a, req);
        else api_method_not_allowed(req, "POST");
        return;
    }
    if (API_IS("/api/workers")) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
            api_method_not_allowed(req, "GET");
            return;
        }
        json_t *w = api_workers_json(a);
        if (!w) api_reply_error(req, 500, "out of memory");
        else api_reply_json(req, 200, json_pack("{s:o}", "workers", w));
        return;
    }
#undef API_IS
    api_hist_reply hr;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t blen = body ? evbuffer_get_length(body) : 0;
    const char *btext = blen ? (const char *)evbuffer_pullup(body, -1) : NULL;
    if (api_history_serve(a->history, a->local, m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD ? API_H_GET
                          : m == EVHTTP_REQ_POST ? API_H_POST : m == EVHTTP_REQ_DELETE ? API_H_DELETE
                          : API_H_OTHER, path, plen, query, btext, blen, &hr)) {
        if (hr.allow) evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", hr.allow);
        api_reply_json(req, hr.code, hr.body);
        return;
    }
    static const char runs[] = "/api/runs/";
    if (plen > sizeof runs - 1 && !memcmp(path, runs, sizeof runs - 1)) {
        const char *id = path + sizeof runs - 1;
        const char *end = path + plen;
        const char *slash = memchr(id, '/', (size_t)(end - id));
        size_t idlen = (size_t)((slash ? slash : end) - id);
        const char *rest = slash ? slash : end;          /* "", "/stop", "/files/NAME" */
        size_t rlen = (size_t)(end - rest);
        coord_status s;
        if (rlen == 0) {
            if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) api_method_not_allowed(req, "GET");
            else if (api_find_run(a, req, id, idlen, &s)) api_get_run(a, req, &s);
            return;
        }
        if (rlen == 5 && !memcmp(rest, "/stop", 5)) {
            if (m != EVHTTP_REQ_POST) api_method_not_allowed(req, "POST");
            else if (api_find_run(a, req, id, idlen, &s)) api_stop_run(a, req);
            return;
        }
        if (rlen > 7 && !memcmp(rest, "/files/", 7)) {
            char name[64];
            size_t nlen = rlen - 7;
            if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
                api_method_not_allowed(req, "GET");
            } else if (api_find_run(a, req, id, idlen, &s)) {
                if (nlen >= sizeof name) nlen = 0;      /* too long to be one of ours */
                memcpy(name, rest + 7, nlen);
                name[nlen] = '\0';
                api_get_file(a, req, &s, name);
            }
            return;
        }
    }
    api_reply_error(req, 404, "no such endpoint: %s (see /, /api/runs, /api/live, /api/series, "
                              "/api/workers, /metrics)", path);
}

/* ---- thread and lifecycle ---------------------------------------------------------- */

static void api_on_wake(evutil_socket_t fd, short what, void *ud)
{
    (void)what;
    api *a = ud;
    char b[16];
    ssize_t n;
    bool stop = false, done = false;
    while ((n = read(fd, b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (b[i] == 'd') done = true;
            else stop = true;
        }
    if (done) api_job_finish(a);
    if (stop) event_base_loopbreak(a->base);
}

static void *api_thread(void *ud)
{
    api *a = ud;
    event_base_dispatch(a->base);
    return NULL;
}

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port. 0 or -1. */
static int api_parse_addr(const char *addr, char *host, size_t hostcap, int *port)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - addr - 1) >= hostcap || rb == addr + 1) return -1;
        memcpy(host, addr + 1, (size_t)(rb - addr - 1));
        host[rb - addr - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || colon == addr || (size_t)(colon - addr) >= hostcap || memchr(addr, ':', (size_t)(colon - addr)))
            return -1;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

static void api_free(api *a)
{
    if (!a) return;
    if (a->job) {                       /* api_stop: the loop is over, the parse may not be */
        pthread_join(a->job->thread, NULL);
        api_job_free(a->job);           /* its request goes with evhttp_free, unanswered */
        a->job = NULL;
    }
    if (a->wake_ev) event_free(a->wake_ev);
    if (a->http) evhttp_free(a->http);
    api_conns_free(a->conns);
    if (a->base) event_base_free(a->base);
    if (a->wake[0] >= 0) close(a->wake[0]);
    if (a->wake[1] >= 0) close(a->wake[1]);
    api_guard_fini(&a->guard);
    free(a->history);
    free(a);
}

api *api_start(coord *c, const char *addr, const char *auth, int *port, char *err, size_t errcap)
{
    return api_start_hosts(c, addr, auth, NULL, port, err, errcap);
}

api *api_start_hosts(coord *c, const char *addr, const char *auth, const char *hosts, int *port,
                     char *err, size_t errcap)
{
    api_opts o = { .addr = addr, .auth = auth, .hosts = hosts };
    return api_start_opts(c, &o, port, err, errcap);
}

api *api_start_opts(coord *c, const api_opts *o, int *port, char *err, size_t errcap)
{
    const char *addr = o->addr, *auth = o->auth, *hosts = o->hosts;
    char host[256];
    int want_port;
    if (!addr || api_parse_addr(addr, host, sizeof host, &want_port) != 0) {
        snprintf(err, errcap, "HTTP address \"%s\" is not HOST:PORT (e.g. 127.0.0.1:8089)", addr ? addr : "");
        return NULL;
    }
    api *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    a->c = c;
    a->local = o->local;
    a->wake[0] = a->wake[1] = -1;
    if (o->history && !(a->history = strdup(o->history))) {
        snprintf(err, errcap, "out of memory");
        api_free(a);
        return NULL;
    }
    if (api_guard_init(&a->guard, auth, host, hosts, err, errcap) != 0) goto fail;
    if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errcap, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (!(a->base = event_base_new()) || !(a->http = evhttp_new(a->base))
        || !(a->wake_ev = event_new(a->base, a->wake[0], EV_READ | EV_PERSIST, api_on_wake, a))
        || event_add(a->wake_ev, NULL) != 0) {
        snprintf(err, errcap, "cannot set up the HTTP server (libevent)");
        goto fail;
    }
    evhttp_set_max_body_size(a->http, API_MAX_BODY);
    evhttp_set_max_headers_size(a->http, API_MAX_HEAD);
    if (!(a->conns = api_conns_new(a->base, a->http, &a->guard))) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    evhttp_set_timeout(a->http, API_TIMEOUT_S);
    /* Every common method reaches api_route, so a wrong one gets a JSON 405, not 501. */
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT
                                        | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(a->http, api_route, a);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(a->http, host, (ev_uint16_t)want_port);
    if (!bs) {
        snprintf(err, errcap, "cannot listen for HTTP on %s: %s", addr, strerror(errno ? errno : EADDRINUSE));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int bound = want_port;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6) bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    /* The API thread takes no signals: the daemon's main thread waits for them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&a->thread, NULL, api_thread, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start the API thread: %s", strerror(rc));
        goto fail;
    }
    a->started = true;
    if (port) *port = bound;
    log_info("api", "listening on %s:%d", host, bound);
    return a;
fail:
    api_free(a);
    return NULL;
}

int api_auth_file(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    return api_auth_from_file(path, out, cap, err, errcap);
}

void api_stop(api *a)
{
    if (!a) return;
    if (a->started) {
        ssize_t w;
        do w = write(a->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(a->thread, NULL);
    }
    api_free(a);
}
