/* `stampede run --master URL`: the client side of master/api.h. Everything is a
 * blocking libcurl easy call on the caller's thread (one handle, so the connection is
 * kept alive between polls); signals are taken with sigtimedwait between polls, as the
 * local run does, so Ctrl-C never interrupts a transfer half-way.
 *
 * Decisions worth knowing:
 * - "--master" is the API's http:// URL; "HOST:PORT" alone means http://HOST:PORT. A
 *   tcp:// URL (where workers dial) is refused with a hint rather than guessed at.
 * - The master is "lost" after 10 consecutive failed polls (about 10 s), or at once if
 *   it no longer knows the run (it restarted): exit 3, like a local run whose workers
 *   were all lost.
 * - Results files are downloaded to NAME.part and renamed, so an interrupted download
 *   never leaves a truncated file that looks complete. */
#include "cli/remote.h"
#include "cli/status.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "common/log.h"
#include "common/time.h"
#include "master/results.h"

#define REMOTE_EXIT_OK        0
#define REMOTE_EXIT_THRESHOLD 1
#define REMOTE_EXIT_USAGE     2
#define REMOTE_EXIT_ABORTED   3
#define REMOTE_TIMEOUT_S      10        /* each API call */
#define REMOTE_POLL_US        1000000   /* status poll period */
#define REMOTE_TICK_NS        200000000L
#define REMOTE_MAX_FAILS      10        /* consecutive failed polls: the master is lost */
#define REMOTE_MAX_REPLY      (1u << 20)

/* report.html comes last: the master renders it from the others. schedule.csv exists
 * only for open-model runs, workers.csv only for runs that started: their 404 is
 * expected and not reported (remote_optional). */
static const char *const remote_files[] = {
    "summary.json", "stats.csv", "stats_history.csv", "failures.csv", "junit.xml",
    "schedule.csv", "workers.csv", "monitor.csv", "scenario.yaml", "report.html",
};

static bool remote_optional(const char *name)
{
    /* schedule.csv: open model only; workers.csv: a run that never started has none;
     * monitor.csv: a scenario with a monitor section only; scenario.yaml: a master from
     * before it was written */
    return !strcmp(name, "schedule.csv") || !strcmp(name, "workers.csv") || !strcmp(name, "monitor.csv") ||
           !strcmp(name, "scenario.yaml");
}

typedef struct remote_buf { char *data; size_t len; } remote_buf;

typedef struct remote {
    CURL *curl;
    char  base[512];                    /* http://host:port, no trailing slash */
    char  id[32];                       /* run id, decimal */
    char  errbuf[CURL_ERROR_SIZE];
    struct curl_slist *json_hdrs;
} remote;

/* The fields of GET /api/runs/ID that the client uses. */
typedef struct remote_status {
    char     state[16];
    double   elapsed_s, rps, p95_ms;
    uint32_t users, workers;
    uint64_t requests, failures;
    int      thresholds_failed;
    char     reason[512];
    char     results_error[512];        /* non-empty: the master could not write the results */
    /* The open model (issue 11), from the same names as coord_status: open_model (true or
     * 1), rate_planned, rate_achieved, dropped, lag_p99_ms (null or absent: none started).
     * A master that sends none of them draws the closed model's line. */
    bool     open_model;
    status_open open;
} remote_status;

/* ---- HTTP ------------------------------------------------------------------------- */

static size_t remote_collect(char *p, size_t size, size_t n, void *ud)
{
    remote_buf *b = ud;
    size_t add = size * n;
    if (b->len + add > REMOTE_MAX_REPLY) return 0;      /* fails the transfer */
    char *d = realloc(b->data, b->len + add + 1);
    if (!d) return 0;
    memcpy(d + b->len, p, add);
    b->len += add;
    d[b->len] = '\0';
    b->data = d;
    return add;
}

/* One exchange: method "GET" or "POST" (body may be NULL) on base + path. The reply
 * goes into *reply (caller frees data) or, when sink is set, into that file. 0 with
 * *code when an HTTP answer came (whatever its status), -1 with r->errbuf when none. */
static int remote_call(remote *r, const char *method, const char *path, const char *body,
                       long *code, remote_buf *reply, FILE *sink)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", r->base, path);
    CURL *c = r->curl;
    curl_easy_reset(c);
    r->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)REMOTE_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "stampede");
    if (sink) {
        /* A results file may be tens of MB: bound stalls, not the whole transfer. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)REMOTE_TIMEOUT_S);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REMOTE_TIMEOUT_S);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, remote_collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    }
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->json_hdrs);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (!r->errbuf[0]) snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    return 0;
}

/* The "error" member of a JSON error reply, else the reply itself (or a placeholder). */
static void remote_error_text(const remote_buf *b, char *out, size_t cap)
{
    json_t *j = b->data ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    if (e) snprintf(out, cap, "%s", e);
    else if (b->data && b->len) snprintf(out, cap, "%.*s", (int)strcspn(b->data, "\r\n"), b->data);
    else snprintf(out, cap, "(no details)");
    json_decref(j);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = '\0';
}

/* ---- submission ------------------------------------------------------------------- */

/* Normalises the --master argument into r->base. 0, or -1 with a message printed. */
static int remote_set_base(remote *r, const char *master)
{
    const char *scheme = strstr(master, "://");
    if (scheme && strncmp(master, "http://", 7) && strncmp(master, "https://", 8)) {
        fprintf(stderr, "stampede run: --master wants the master's HTTP API (http://HOST:8089), got \"%s\" "
                        "(tcp:// is where workers connect)\n", master);
        return -1;
    }
    int n = snprintf(r->base, sizeof r->base, "%s%s", scheme ? "" : "http://", master);
    if (n <= 0 || (size_t)n >= sizeof r->base || !master[0]) {
        fprintf(stderr, "stampede run: --master \"%s\" is not a usable URL\n", master);
        return -1;
    }
    while (n > 0 && r->base[n - 1] == '/') r->base[--n] = '\0';
    return 0;
}

/* The POST /api/runs body for cfg's plan. NULL with a message printed (a file that is
 * not UTF-8 text cannot travel in JSON). The caller frees the string. */
static char *remote_submission(const remote_cfg *cfg)
{
    const proto_plan *p = cfg->plan;
    json_t *j = json_object(), *files = json_array(), *sets = json_array(), *env = json_array();
    char *out = NULL;
    if (!j || !files || !sets || !env) goto done;
    json_t *sc = json_stringn(p->scenario ? p->scenario : "", p->scenario ? p->scenario_len : 0);
    if (!sc || (p->scenario && memchr(p->scenario, '\0', p->scenario_len))) {
        json_decref(sc);
        fprintf(stderr, "stampede: the scenario %s is not UTF-8 text\n", p->scenario_file ? p->scenario_file : "");
        goto done;
    }
    json_object_set_new(j, "scenario", sc);
    json_object_set_new(j, "scenario_file", json_string(p->scenario_file ? p->scenario_file : "scenario.yaml"));
    for (uint32_t i = 0; i < p->nfiles; i++) {
        const proto_file *f = &p->files[i];
        json_t *data = memchr(f->data, '\0', f->len) ? NULL : json_stringn(f->data, f->len);
        json_t *path = json_string(f->path);
        if (!data || !path) {
            json_decref(data);
            json_decref(path);
            fprintf(stderr, "stampede: data file %s is not UTF-8 text: only text files can be sent to a master\n",
                    f->path);
            goto done;
        }
        json_array_append_new(files, json_pack("{s:o, s:o}", "path", path, "data", data));
    }
    for (uint32_t i = 0; i < p->nsets; i++) {
        json_t *k = json_string(p->sets[i].key), *v = json_string(p->sets[i].value);
        if (!k || !v) {
            json_decref(k);
            json_decref(v);
            fprintf(stderr, "stampede: --set %s is not UTF-8 text\n", p->sets[i].key);
            goto done;
        }
        json_array_append_new(sets, json_pack("{s:o, s:o}", "key", k, "value", v));
    }
    /* env() values this CLI resolved from its own environment (proto/plan.h): the master
     * and workers evaluate env() from these alone. A message names the variable only. */
    for (uint32_t i = 0; p->env && i < p->nenv; i++) {
        json_t *k = json_string(p->env[i].key), *v = json_string(p->env[i].value);
        if (!k || !v) {
            json_decref(k);
            json_decref(v);
            fprintf(stderr, "stampede: the value of environment variable %s is not UTF-8 text\n",
                    p->env[i].key);
            goto done;
        }
        json_array_append_new(env, json_pack("{s:o, s:o}", "name", k, "value", v));
    }
    json_object_set(j, "files", files);
    json_object_set(j, "sets", sets);
    json_object_set(j, "env", env);
    json_object_set_new(j, "host", p->host ? json_string(p->host) : json_null());
    json_object_set_new(j, "users", json_integer(p->users));
    json_object_set_new(j, "rate", json_real(p->rate));
    /* --arrival-rate (open model), 0 none: the master's API puts it in the PLAN */
    json_object_set_new(j, "arrival_rate", json_real(p->arrival_rate));
    json_object_set_new(j, "duration_ms", json_integer((json_int_t)p->duration_ms));
    /* -T/--tags, -E/--exclude-tags (issue 12): the master's API puts them in the PLAN */
    json_t *tags = json_array(), *xtags = json_array();
    for (uint32_t i = 0; tags && p->tags && i < p->ntags; i++)
        json_array_append_new(tags, json_string(p->tags[i]));
    for (uint32_t i = 0; xtags && p->exclude_tags && i < p->nexclude_tags; i++)
        json_array_append_new(xtags, json_string(p->exclude_tags[i]));
    json_object_set_new(j, "tags", tags ? tags : json_array());
    json_object_set_new(j, "exclude_tags", xtags ? xtags : json_array());
    /* --csv-full-history: the master's results folder gets the per-name history rows */
    json_object_set_new(j, "csv_full_history", json_boolean(cfg->full_history));
    json_t *lab = cfg->labels_json ? json_loads(cfg->labels_json, 0, NULL) : NULL;
    if (lab) json_object_set_new(j, "labels", lab);
    json_object_set_new(j, "expect_workers", json_integer(cfg->expect_workers ? cfg->expect_workers : 1));
    json_object_set_new(j, "expect_timeout_ms", json_integer((json_int_t)cfg->expect_timeout_ms));
    if (!(out = json_dumps(j, JSON_COMPACT))) fprintf(stderr, "stampede: out of memory\n");
done:
    json_decref(files);
    json_decref(sets);
    json_decref(env);
    json_decref(j);
    return out;
}

/* POST /api/runs. 0 with r->id, or the exit code after printing why. */
static int remote_submit(remote *r, const remote_cfg *cfg)
{
    char *body = remote_submission(cfg);
    if (!body) return REMOTE_EXIT_USAGE;
    remote_buf reply = { 0 };
    long code = 0;
    int rc = remote_call(r, "POST", "/api/runs", body, &code, &reply, NULL);
    free(body);
    if (rc != 0) {
        fprintf(stderr, "stampede: cannot reach master at %s: %s\n", r->base, r->errbuf);
        free(reply.data);
        return REMOTE_EXIT_ABORTED;
    }
    char msg[1024];
    int out = REMOTE_EXIT_OK;
    if (code == 201) {
        json_t *j = json_loadb(reply.data ? reply.data : "", reply.len, 0, NULL);
        json_t *id = json_object_get(j, "id");
        if (json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) < sizeof r->id
            && strspn(json_string_value(id), "0123456789") == json_string_length(id)) {
            snprintf(r->id, sizeof r->id, "%s", json_string_value(id));
        } else if (json_is_integer(id) && json_integer_value(id) > 0) {
            snprintf(r->id, sizeof r->id, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        } else {
            fprintf(stderr, "stampede: the master at %s accepted the run but sent no run id\n", r->base);
            out = REMOTE_EXIT_ABORTED;
        }
        json_decref(j);
    } else if (code == 409) {
        fprintf(stderr, "stampede: master is busy with another run\n");
        out = REMOTE_EXIT_USAGE;
    } else if (code == 400) {
        remote_error_text(&reply, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        out = REMOTE_EXIT_USAGE;
    } else {
        remote_error_text(&reply, msg, sizeof msg);
        fprintf(stderr, "stampede: master at %s answered %ld: %s\n", r->base, code, msg);
        out = code == 404 ? REMOTE_EXIT_USAGE : REMOTE_EXIT_ABORTED;
    }
    free(reply.data);
    return out;
}

/* POST /api/schedules {cron, tz, run}: the run becomes a schedule of the master. */
static int remote_schedule(remote *r, const remote_cfg *cfg)
{
    char *run = remote_submission(cfg);
    if (!run) return REMOTE_EXIT_USAGE;
    json_t *j = json_pack("{s:s,s:s,s:o}", "cron", cfg->schedule_cron, "tz",
                          cfg->schedule_tz ? cfg->schedule_tz : "", "run", json_loads(run, 0, NULL));
    free(run);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body) {
        fprintf(stderr, "stampede: out of memory\n");
        return REMOTE_EXIT_ABORTED;
    }
    remote_buf reply = { 0 };
    long code = 0;
    int rc = remote_call(r, "POST", "/api/schedules", body, &code, &reply, NULL);
    free(body);
    char msg[1024];
    int out = REMOTE_EXIT_OK;
    if (rc != 0) {
        fprintf(stderr, "stampede: cannot reach master at %s: %s\n", r->base, r->errbuf);
        out = REMOTE_EXIT_ABORTED;
    } else if (code == 201) {
        json_t *a = json_loadb(reply.data ? reply.data : "", reply.len, 0, NULL);
        time_t next = (time_t)(json_integer_value(json_object_get(a, "next")) / 1000);
        struct tm tm;
        char when[64] = "?";
        if (gmtime_r(&next, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
        printf("schedule %lld added on %s: \"%s\"%s%s, next start %s\n",
               (long long)json_integer_value(json_object_get(a, "id")), r->base, cfg->schedule_cron,
               cfg->schedule_tz && *cfg->schedule_tz ? " in " : "", cfg->schedule_tz ? cfg->schedule_tz : "", when);
        json_decref(a);
    } else {
        remote_error_text(&reply, msg, sizeof msg);
        fprintf(stderr, "stampede schedule add: the master at %s answered %ld: %s\n", r->base, code, msg);
        out = code == 400 || code == 404 ? REMOTE_EXIT_USAGE : REMOTE_EXIT_ABORTED;
    }
    free(reply.data);
    return out;
}

/* ---- status ------------------------------------------------------------------------ */

static double remote_num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* GET /api/runs/ID into *s. 0; -1 a failed poll (why in err); -2 the master answered
 * that it does not know the run. */
static int remote_poll(remote *r, remote_status *s, char *err, size_t errcap)
{
    char path[64];
    snprintf(path, sizeof path, "/api/runs/%s", r->id);
    remote_buf reply = { 0 };
    long code = 0;
    if (remote_call(r, "GET", path, NULL, &code, &reply, NULL) != 0) {
        snprintf(err, errcap, "%s", r->errbuf);
        free(reply.data);
        return -1;
    }
    if (code != 200) {
        char msg[512];
        remote_error_text(&reply, msg, sizeof msg);
        snprintf(err, errcap, "HTTP %ld: %s", code, msg);
        free(reply.data);
        return code == 404 ? -2 : -1;
    }
    json_error_t je;
    json_t *j = json_loadb(reply.data ? reply.data : "", reply.len, 0, &je);
    free(reply.data);
    const char *state = j ? json_string_value(json_object_get(j, "state")) : NULL;
    if (!state) {
        snprintf(err, errcap, "unreadable status from the master%s%s", j ? "" : ": ", j ? "" : je.text);
        json_decref(j);
        return -1;
    }
    memset(s, 0, sizeof *s);
    snprintf(s->state, sizeof s->state, "%s", state);
    s->elapsed_s = remote_num(j, "elapsed_s");
    s->rps = remote_num(j, "rps");
    s->p95_ms = remote_num(j, "p95_ms");
    s->users = (uint32_t)remote_num(j, "users");
    s->workers = (uint32_t)remote_num(j, "workers");
    s->requests = (uint64_t)remote_num(j, "requests");
    s->failures = (uint64_t)remote_num(j, "failures");
    s->thresholds_failed = (int)remote_num(j, "thresholds_failed");
    json_t *om = json_object_get(j, "open_model");
    s->open_model = json_is_true(om) || (json_is_number(om) && json_number_value(om) != 0);
    s->open.rate_planned = remote_num(j, "rate_planned");
    s->open.rate_achieved = remote_num(j, "rate_achieved");
    s->open.dropped = (uint64_t)remote_num(j, "dropped");
    json_t *lag = json_object_get(j, "lag_p99_ms");
    s->open.lag_p99_ms = json_is_number(lag) ? json_number_value(lag) : NAN;
    const char *reason = json_string_value(json_object_get(j, "reason"));
    snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
    const char *rerr = json_string_value(json_object_get(j, "results_error"));
    snprintf(s->results_error, sizeof s->results_error, "%s", rerr ? rerr : "");
    json_decref(j);
    return 0;
}

static void remote_draw(const remote_status *s, uint32_t peak, bool final)
{
    if (s->open_model) {
        status_draw_open(s->elapsed_s, &s->open, s->users, peak, s->rps, s->p95_ms, s->failures,
                         s->requests, final);
        return;
    }
    status_draw(s->elapsed_s, s->users, peak, s->rps, s->p95_ms, s->failures, s->requests, final);
}

static void remote_stop(remote *r, bool abort_run, bool quiet)
{
    char path[64];
    snprintf(path, sizeof path, "/api/runs/%s/stop", r->id);
    remote_buf reply = { 0 };
    long code = 0;
    int rc = remote_call(r, "POST", path, abort_run ? "{\"abort\":true}" : "{}", &code, &reply, NULL);
    if (rc != 0 || code / 100 != 2) {
        char msg[512];
        if (rc != 0) snprintf(msg, sizeof msg, "%s", r->errbuf);
        else remote_error_text(&reply, msg, sizeof msg);
        if (!quiet || rc != 0) fprintf(stderr, "stampede: the master did not take the stop: %s\n", msg);
    }
    free(reply.data);
}

/* ---- results ----------------------------------------------------------------------- */

/* mkdir -p. 0, or -1 with errno. */
static int remote_mkdirs(const char *dir)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* A default results folder, taken exclusively as the master takes its own
 * (master/results.h): parents are made as needed, the folder itself must be new, and
 * on a clash (two runs in the same second) it gets -2, -3, ... 0, or -1 with errno. */
static int remote_take_dir(char *dir, size_t cap)
{
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int rv = remote_mkdirs(dir);
        *slash = '/';
        if (rv != 0) return -1;
    }
    char base[1024];
    snprintf(base, sizeof base, "%s", dir);
    for (int n = 1; n <= RESULTS_MAX_SUFFIX; n++) {
        if (n > 1 && snprintf(dir, cap, "%s-%d", base, n) >= (int)cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (mkdir(dir, 0755) == 0) return 0;
        if (errno != EEXIST) return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Downloads the run's results files into dir. Returns how many arrived; missing ones
 * (an aborted run may not have written them all) are reported on stderr. */
static int remote_download(remote *r, const char *dir, bool quiet)
{
    int got = 0;
    for (size_t i = 0; i < sizeof remote_files / sizeof remote_files[0]; i++) {
        const char *name = remote_files[i];
        char dst[1200], tmp[1210], path[128];
        snprintf(dst, sizeof dst, "%s/%s", dir, name);
        snprintf(tmp, sizeof tmp, "%s.part", dst);
        snprintf(path, sizeof path, "/api/runs/%s/files/%s", r->id, name);
        FILE *f = fopen(tmp, "wb");
        if (!f) {
            fprintf(stderr, "stampede: cannot write %s: %s\n", tmp, strerror(errno));
            continue;
        }
        long code = 0;
        int rc = remote_call(r, "GET", path, NULL, &code, NULL, f);
        bool ok = fclose(f) == 0 && rc == 0 && code == 200;
        if (ok && rename(tmp, dst) == 0) {
            got++;
            continue;
        }
        unlink(tmp);
        if (rc != 0) fprintf(stderr, "stampede: cannot download %s from the master: %s\n", name, r->errbuf);
        else if (code == 404) {
            if (!quiet && !remote_optional(name))
                fprintf(stderr, "stampede: the master has no %s for this run\n", name);
        } else fprintf(stderr, "stampede: cannot download %s from the master: HTTP %ld\n", name, code);
    }
    return got;
}

/* dir/name's whole text (NUL-terminated, malloc'd), NULL when it cannot be read. */
static char *remote_read_file(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            size_t nc = (len + n + 1) * 2;
            char *b = realloc(buf, nc);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
            cap = nc;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* ---- the run ----------------------------------------------------------------------- */

/* Waits up to one tick for SIGINT/SIGTERM: the signal, or 0. */
static int remote_wait_signal(const sigset_t *sigs)
{
    struct timespec ts = { 0, REMOTE_TICK_NS };
    if (!sigs) {
        nanosleep(&ts, NULL);
        return 0;
    }
    int sig = sigtimedwait(sigs, NULL, &ts);
    return sig > 0 ? sig : 0;
}

int remote_run(const remote_cfg *cfg)
{
    remote r = { 0 };
    if (!cfg || !cfg->plan || !cfg->master) return REMOTE_EXIT_USAGE;
    if (remote_set_base(&r, cfg->master) != 0) return REMOTE_EXIT_USAGE;
    if (!(r.curl = curl_easy_init())) {
        fprintf(stderr, "stampede: libcurl failed to initialise\n");
        return REMOTE_EXIT_ABORTED;
    }
    r.json_hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    r.json_hdrs = curl_slist_append(r.json_hdrs, "Expect:");     /* no 100-continue round trip */
    int rc;
    if (cfg->schedule_cron) {
        rc = remote_schedule(&r, cfg);
        goto out;
    }
    rc = remote_submit(&r, cfg);
    if (rc != REMOTE_EXIT_OK) goto out;
    if (!cfg->quiet)
        fprintf(stderr, "stampede: run %s of \"%s\" submitted to %s: peak %u users\n", r.id,
                cfg->name ? cfg->name : "", r.base, cfg->peak_users);

    bool tty = isatty(STDERR_FILENO) && cfg->live;
    bool said_waiting = false, drawn = false;
    int interrupts = 0, fails = 0;
    uint64_t last_poll = 0, last_ok = time_mono_us();
    remote_status st = { 0 };
    char err[1024] = "";
    for (;;) {
        int sig = remote_wait_signal(cfg->sigs);
        if (sig == SIGINT || sig == SIGTERM) {
            interrupts++;
            if (interrupts == 1) {
                if (!cfg->quiet)
                    fprintf(stderr, "\nstampede: stopping (users finish their request; Ctrl-C again to abort)\n");
                remote_stop(&r, false, cfg->quiet);
            } else {
                if (!cfg->quiet) fprintf(stderr, "\nstampede: aborting\n");
                remote_stop(&r, true, cfg->quiet);
            }
        }
        uint64_t now = time_mono_us();
        if (!sig && last_poll && now - last_poll < REMOTE_POLL_US) continue;
        last_poll = now;
        remote_status s;
        int pr = remote_poll(&r, &s, err, sizeof err);
        if (pr == -2) {
            if (drawn) fputc('\n', stderr);
            fprintf(stderr, "stampede: lost the master at %s: it no longer knows run %s (%s)\n", r.base, r.id, err);
            rc = REMOTE_EXIT_ABORTED;
            goto out;
        }
        if (pr != 0) {
            /* Ten refused polls, or a master that has not answered for as long (a hung
             * one costs a whole timeout per poll). */
            if (++fails >= REMOTE_MAX_FAILS || time_mono_us() - last_ok >= REMOTE_MAX_FAILS * REMOTE_POLL_US) {
                if (drawn) fputc('\n', stderr);
                fprintf(stderr, "stampede: lost the master at %s: %s\n", r.base, err);
                rc = REMOTE_EXIT_ABORTED;
                goto out;
            }
            continue;
        }
        fails = 0;
        last_ok = time_mono_us();
        st = s;
        if (!strcmp(st.state, "finished") || !strcmp(st.state, "aborted")) break;
        if (!strcmp(st.state, "waiting") && !said_waiting && !cfg->quiet) {
            fprintf(stderr, "stampede: waiting for %u worker(s) (%u connected)\n",
                    cfg->expect_workers ? cfg->expect_workers : 1, st.workers);
            said_waiting = true;
        }
        if (tty && (!strcmp(st.state, "running") || !strcmp(st.state, "stopping"))) {
            remote_draw(&st, cfg->peak_users, false);
            drawn = true;
        }
    }
    if (tty) remote_draw(&st, cfg->peak_users, true);
    bool aborted = !strcmp(st.state, "aborted") || interrupts >= 2;
    if (aborted) {
        fprintf(stderr, "stampede: run aborted: %s\n", st.reason[0] ? st.reason : "(no reason given)");
        rc = REMOTE_EXIT_ABORTED;
    } else if (st.thresholds_failed > 0) {
        rc = REMOTE_EXIT_THRESHOLD;
    }
    /* Results the master could not write (full disk) are lost results: exit 3 like an
     * aborted run, whatever the thresholds said (their verdict is in the message). */
    if (st.results_error[0]) {
        fprintf(stderr, "stampede: results could not be written: %s\n", st.results_error);
        rc = REMOTE_EXIT_ABORTED;
    }

    char dir[1024];
    int made;
    if (cfg->out_dir && cfg->out_dir[0]) {
        snprintf(dir, sizeof dir, "%s", cfg->out_dir);
        made = remote_mkdirs(dir);
    } else {
        results_default_dir(cfg->name, time_wall_ms(), dir, sizeof dir);
        made = remote_take_dir(dir, sizeof dir);
    }
    if (made != 0) {
        fprintf(stderr, "stampede: cannot create %s: %s\n", dir, strerror(errno));
        if (rc == REMOTE_EXIT_OK || rc == REMOTE_EXIT_THRESHOLD) rc = REMOTE_EXIT_ABORTED;
    } else {
        int got = remote_download(&r, dir, cfg->quiet);
        if (got == 0) fprintf(stderr, "stampede: no results files could be downloaded from the master\n");
        /* the end table, failed thresholds, verdict, --csv/--html and the exit code, from
         * the downloaded summary.json, as a local run does from its own */
        endrun_opts defaults = { .exit_code_on_error = 1, .table = !cfg->quiet };
        char *summary = remote_read_file(dir, "summary.json");
        rc = endrun_finish(summary ? dir : NULL, summary, rc, cfg->end ? cfg->end : &defaults);
        free(summary);
    }
    if (!cfg->quiet || rc != REMOTE_EXIT_OK) {
        fprintf(stderr, "stampede: %llu requests, %llu failures; %d threshold(s) failed; %s\n",
                (unsigned long long)st.requests, (unsigned long long)st.failures, st.thresholds_failed,
                st.reason);
    }
    printf("results: %s\n", dir);
    fflush(stdout);
out:
    curl_slist_free_all(r.json_hdrs);
    curl_easy_cleanup(r.curl);
    return rc;
}
