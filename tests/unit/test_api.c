/* master/api.c and cli/remote.c against a real coordinator (inproc://, no workers) and
 * a real HTTP socket on 127.0.0.1 port 0. Without workers a run can only wait and then
 * abort, which is enough to check every endpoint, the client's exit codes and that the
 * results files arrive in the local folder; a run with workers is the integration
 * tests' part. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "cli/remote.h"
#include "master/api.h"
#include "master/api_req.h"
#include "common/scenario.h"
#include "proto/plan.h"
#include "master/coord.h"

static const char SCENARIO[] =
    "name: api-test\n"
    "target: http://127.0.0.1:9\n"
    "load:\n"
    "  stages:\n"
    "    - { duration: 2s, users: 2 }\n"
    "data:\n"
    "  ops: { csv: ops.csv }\n"
    "users:\n"
    "  - name: u\n"
    "    flow:\n"
    "      - http: { url: \"/x?u={{ ops.username }}\" }\n"
    "thresholds:\n"
    "  - \"p95 < 500ms\"\n";
static const char CSV[] = "username,password\nalice,secret\nbob,hunter2\n";

typedef struct fx {
    coord *c;
    api   *a;
    int    port;
    char   base[64];
    char   tmp[64];                     /* results_dir of the coordinator */
} fx;
static fx F;

typedef struct reply { long code; char *body; size_t len; char allow[64]; } reply;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t add = size * n;
    r->body = realloc(r->body, r->len + add + 1);
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    if (len > 7 && !strncasecmp(p, "Allow: ", 7))
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
    return len;
}

/* One request to the API with extra headers (NULL-terminated list, or NULL); path_as_is
 * keeps "../" for the traversal test. A body goes as application/json unless the extra
 * headers name another Content-Type. */
static reply http_h(const char *method, const char *path, const char *body, const char *const *hdrs)
{
    reply r = { 0 };
    struct curl_slist *hl = NULL;
    bool typed = false;
    for (size_t i = 0; hdrs && hdrs[i]; i++) {
        hl = curl_slist_append(hl, hdrs[i]);
        if (!strncasecmp(hdrs[i], "Content-Type:", 13)) typed = true;
    }
    if (body && !typed) hl = curl_slist_append(hl, "Content-Type: application/json");
    char url[512];
    snprintf(url, sizeof url, "%s%s", F.base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    if (!r.body) r.body = calloc(1, 1);
    return r;
}

static reply http(const char *method, const char *path, const char *body)
{
    return http_h(method, path, body, NULL);
}

static json_t *reply_json(const reply *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *reply_error(const reply *r, char *buf, size_t cap)
{
    json_t *j = reply_json(r);
    const char *e = json_string_value(json_object_get(j, "error"));
    assert_non_null(e);
    snprintf(buf, cap, "%s", e);
    json_decref(j);
    return buf;
}

/* A submission body: the scenario, its data file, the given extra members. */
static char *submission(const char *scenario, uint64_t expect_timeout_ms)
{
    json_t *j = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}], s:i, s:I}",
                          "scenario", scenario, "scenario_file", "t/api.yaml",
                          "files", "path", "t/ops.csv", "data", CSV,
                          "sets", "key", "load.graceful_stop", "value", "1s",
                          "expect_workers", 1, "expect_timeout_ms", (json_int_t)expect_timeout_ms);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Submits and returns the run id (decimal, static buffer). */
static const char *submit_ok(uint64_t expect_timeout_ms)
{
    static char id[32];
    char *body = submission(SCENARIO, expect_timeout_ms);
    reply r = http("POST", "/api/runs", body);
    free(body);
    assert_int_equal(r.code, 201);
    json_t *j = reply_json(&r);
    const char *s = json_string_value(json_object_get(j, "id"));
    assert_non_null(s);
    snprintf(id, sizeof id, "%s", s);
    json_decref(j);
    free(r.body);
    return id;
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    snprintf(F.tmp, sizeof F.tmp, "/tmp/stampede-test-api-XXXXXX");
    if (!mkdtemp(F.tmp)) return -1;
    char url[64], err[512];
    snprintf(url, sizeof url, "inproc://test-api-%d", (int)getpid());
    coord_opts o = { .url = url, .results_dir = F.tmp, .id = "test-master" };
    if (!(F.c = coord_start(&o, err, sizeof err))) {
        fprintf(stderr, "coord_start: %s\n", err);
        return -1;
    }
    if (!(F.a = api_start(F.c, "127.0.0.1:0", NULL, &F.port, err, sizeof err))) {
        fprintf(stderr, "api_start: %s\n", err);
        return -1;
    }
    snprintf(F.base, sizeof F.base, "http://127.0.0.1:%d", F.port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    api_stop(F.a);
    coord_free(F.c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", F.tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", F.tmp);
    curl_global_cleanup();
    return 0;
}

/* ---- the API ------------------------------------------------------------------------ */

static void test_bad_address(void **state)
{
    (void)state;
    char err[256];
    assert_null(api_start(F.c, "no-port", NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "HOST:PORT"));
    assert_null(api_start(F.c, "127.0.0.1:99999", NULL, NULL, err, sizeof err));
    /* The port we already hold cannot be bound twice. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", F.port);
    assert_null(api_start(F.c, addr, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen"));
    api_stop(NULL);
}

static void test_workers_empty(void **state)
{
    (void)state;
    reply r = http("GET", "/api/workers", NULL);
    assert_int_equal(r.code, 200);
    json_t *j = reply_json(&r);
    assert_true(json_is_array(json_object_get(j, "workers")));
    assert_int_equal(json_array_size(json_object_get(j, "workers")), 0);
    json_decref(j);
    free(r.body);
}

static void test_unknown_routes(void **state)
{
    (void)state;
    static const char *const paths[] = { "/api/runs/1", "/api/runs/abc", "/api/runs/1/stop/x", "/nope",
                                         "/api/runs/99999999999999999999999" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        reply r = http("GET", paths[i], NULL);
        assert_int_equal(r.code, 404);
        char e[256];
        reply_error(&r, e, sizeof e);
        free(r.body);
    }
    reply r = http("DELETE", "/api/runs", NULL);
    assert_int_equal(r.code, 405);
    assert_string_equal(r.allow, "POST");
    free(r.body);
    r = http("GET", "/api/runs", NULL);
    assert_int_equal(r.code, 405);
    free(r.body);
    r = http("POST", "/api/workers", "{}");
    assert_int_equal(r.code, 405);
    assert_string_equal(r.allow, "GET");
    free(r.body);
}

static void test_submit_malformed(void **state)
{
    (void)state;
    struct { const char *body, *want; } cases[] = {
        { "{bad", "malformed JSON at line 1" },
        { "[1,2]", "must be a JSON object" },
        { "", "no body" },
        { "{}", "\"scenario\"" },
        { "{\"scenario\": 5}", "\"scenario\" must be a string" },
        { "{\"scenario\": \"a\\u0000b\"}", "NUL" },
        { "{\"scenario\": \"x\", \"users\": -1}", "\"users\"" },
        { "{\"scenario\": \"x\", \"users\": 1.5}", "\"users\"" },
        { "{\"scenario\": \"x\", \"rate\": \"fast\"}", "\"rate\"" },
        { "{\"scenario\": \"x\", \"expect_workers\": 0}", "\"expect_workers\"" },
        { "{\"scenario\": \"x\", \"host\": \"ftp://x\"}", "\"host\"" },
        { "{\"scenario\": \"x\", \"files\": {}}", "\"files\"" },
        { "{\"scenario\": \"x\", \"files\": [{\"path\": \"a\"}]}", "files[0]" },
        { "{\"scenario\": \"x\", \"sets\": [{\"key\": \"a\", \"value\": 1}]}", "sets[0]" },
        { "{\"scenario\": \"x\", \"csv_full_history\": \"yes\"}", "\"csv_full_history\"" },
        { "{\"scenario\": \"x\", \"csv_full_history\": 1}", "\"csv_full_history\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = http("POST", "/api/runs", cases[i].body);
        char e[512];
        assert_int_equal(r.code, 400);
        reply_error(&r, e, sizeof e);
        if (!strstr(e, cases[i].want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e, cases[i].want);
        free(r.body);
    }
}

/* api_opts.local (a local `stampede run --ui`): /api/live says "local": true and POST
 * /api/runs is a 409 whatever the body; the master's API (the fixture's) says false and
 * takes submissions. */
static void test_local_api(void **state)
{
    (void)state;
    char err[512], saved[64];
    int port = 0;
    api_opts o = { .addr = "127.0.0.1:0", .local = true };
    api *la = api_start_opts(F.c, &o, &port, err, sizeof err);
    assert_non_null(la);
    memcpy(saved, F.base, sizeof saved);
    snprintf(F.base, sizeof F.base, "http://127.0.0.1:%d", port);
    reply r = http("GET", "/api/live", NULL);
    assert_int_equal(r.code, 200);
    json_t *j = reply_json(&r);
    assert_true(json_is_true(json_object_get(j, "local")));
    assert_non_null(json_object_get(j, "state"));          /* the rest of live_json */
    json_decref(j);
    free(r.body);
    char *body = submission(SCENARIO, 1000);
    r = http("POST", "/api/runs", body);
    free(body);
    assert_int_equal(r.code, 409);
    char e[256];
    assert_string_equal(reply_error(&r, e, sizeof e), "a local run's dashboard cannot start runs");
    free(r.body);
    coord_status st;
    coord_get_status(F.c, &st);
    assert_false(st.state == RUN_WAITING || st.state == RUN_RUNNING);    /* nothing started */
    api_stop(la);
    memcpy(F.base, saved, sizeof saved);
    r = http("GET", "/api/live", NULL);
    j = reply_json(&r);
    assert_true(json_is_false(json_object_get(j, "local")));
    json_decref(j);
    free(r.body);
}

static void test_submit_scenario_error(void **state)
{
    (void)state;
    reply r = http("POST", "/api/runs", "{\"scenario\": \"name: x\\nbogus: 1\\n\", \"scenario_file\": \"t/api.yaml\"}");
    assert_int_equal(r.code, 400);
    char e[1024];
    reply_error(&r, e, sizeof e);
    if (!strstr(e, "t/api.yaml:2:1")) fail_msg("%s", e);         /* file:line:column from the parser */
    assert_non_null(strstr(e, "bogus"));
    free(r.body);
}

/* Waits for the coordinator to end the run (bounded by 10 s). coord_wait returns at
 * once while a submission is still being taken over, hence the loop. */
static void wait_ended(void)
{
    for (int i = 0; i < 200; i++) {
        if (coord_wait(F.c, 50)) return;
        usleep(50000);
    }
    fail_msg("the run did not end within 10 s");
}

static void test_run_lifecycle(void **state)
{
    (void)state;
    const char *id = submit_ok(30000);
    char path[128];

    /* One run at a time. */
    char *body = submission(SCENARIO, 1000);
    reply r = http("POST", "/api/runs", body);
    free(body);
    assert_int_equal(r.code, 409);
    free(r.body);

    snprintf(path, sizeof path, "/api/runs/%s", id);
    r = http("GET", path, NULL);
    assert_int_equal(r.code, 200);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "waiting");
    static const char *const keys[] = { "elapsed_s", "users", "rps", "p95_ms", "requests", "failures",
                                        "workers", "thresholds_failed" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_is_number(json_object_get(j, keys[i]))) fail_msg("status lacks %s", keys[i]);
    assert_true(json_is_string(json_object_get(j, "reason")));
    assert_true(json_is_array(json_object_get(j, "workers_detail")));
    json_decref(j);
    free(r.body);

    /* A trailing slash is the same resource; a different id is not. */
    snprintf(path, sizeof path, "/api/runs/%s/", id);
    r = http("GET", path, NULL);
    assert_int_equal(r.code, 200);
    free(r.body);
    snprintf(path, sizeof path, "/api/runs/%s1", id);
    r = http("GET", path, NULL);
    assert_int_equal(r.code, 404);
    free(r.body);

    snprintf(path, sizeof path, "/api/runs/%s/stop", id);
    r = http("POST", path, "{\"abort\": \"yes\"}");
    assert_int_equal(r.code, 400);
    free(r.body);
    r = http("POST", path, "");                     /* no body: a graceful stop */
    assert_int_equal(r.code, 202);
    free(r.body);
    wait_ended();

    snprintf(path, sizeof path, "/api/runs/%s", id);
    r = http("GET", path, NULL);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "aborted");
    assert_true(strlen(json_string_value(json_object_get(j, "reason"))) > 0);
    json_decref(j);
    free(r.body);

    /* The results files: the five names only. */
    static const char *const files[] = { "summary.json", "stats.csv", "stats_history.csv", "failures.csv",
                                         "junit.xml" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "/api/runs/%s/files/%s", id, files[i]);
        r = http("GET", path, NULL);
        if (r.code != 200) fail_msg("%s: HTTP %ld", files[i], r.code);
        assert_true(r.len > 0);
        free(r.body);
    }
    snprintf(path, sizeof path, "/api/runs/%s/files/summary.json", id);
    r = http("GET", path, NULL);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "scenario")), "api-test");
    json_decref(j);
    free(r.body);
    snprintf(path, sizeof path, "/api/runs/%s/files/report.html", id);
    r = http("GET", path, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "stampede-data"));
    free(r.body);
    static const char *const bad[] = { "../summary.json", "../../../etc/passwd", "report.htm", "%2e%2e%2fsummary.json",
                                       "summary.json/x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/runs/%s/files/%s", id, bad[i]);
        r = http("GET", path, NULL);
        if (r.code != 404) fail_msg("%s: HTTP %ld", bad[i], r.code);
        free(r.body);
    }
}

/* ---- the client (cli/remote.c) ------------------------------------------------------ */

static proto_plan test_plan(const char *scenario)
{
    static proto_file files[1];
    static proto_set sets[1];
    files[0] = (proto_file){ "t/ops.csv", (char *)CSV, sizeof CSV - 1 };
    sets[0] = (proto_set){ "load.graceful_stop", "1s" };
    return (proto_plan){ .scenario_file = "t/api.yaml", .scenario = (char *)scenario,
                         .scenario_len = strlen(scenario), .files = files, .nfiles = 1, .sets = sets,
                         .nsets = 1, .users = 3, .duration_ms = 2000 };
}

static bool file_nonempty(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static void test_remote_bad_master_url(void **state)
{
    (void)state;
    proto_plan p = test_plan(SCENARIO);
    remote_cfg cfg = { .master = "tcp://127.0.0.1:5557", .plan = &p, .expect_workers = 1, .quiet = true };
    assert_int_equal(remote_run(&cfg), 2);
}

static void test_remote_unreachable(void **state)
{
    (void)state;
    proto_plan p = test_plan(SCENARIO);
    remote_cfg cfg = { .master = "http://127.0.0.1:1", .plan = &p, .expect_workers = 1, .quiet = true };
    assert_int_equal(remote_run(&cfg), 3);
}

static void test_remote_refused(void **state)
{
    (void)state;
    proto_plan p = test_plan("name: x\nbogus: 1\n");
    remote_cfg cfg = { .master = F.base, .plan = &p, .expect_workers = 1, .quiet = true };
    assert_int_equal(remote_run(&cfg), 2);
    /* A file that cannot travel as JSON text is refused before anything is sent. */
    p = test_plan(SCENARIO);
    proto_file bin = { "t/ops.csv", "a\0b", 3 };
    p.files = &bin;
    assert_int_equal(remote_run(&cfg), 2);
}

static void test_remote_busy(void **state)
{
    (void)state;
    submit_ok(30000);
    proto_plan p = test_plan(SCENARIO);
    char master[80];
    snprintf(master, sizeof master, "127.0.0.1:%d/", F.port);      /* no scheme, trailing slash */
    remote_cfg cfg = { .master = master, .plan = &p, .expect_workers = 1, .quiet = true };
    assert_int_equal(remote_run(&cfg), 2);
    coord_stop(F.c, true);
    wait_ended();
}

/* No worker comes: the run aborts, the client says so (exit 3) and still brings the
 * results folder home. */
static void test_remote_aborted_downloads(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof out, "%s/local/run1", F.tmp);
    proto_plan p = test_plan(SCENARIO);
    remote_cfg cfg = { .master = F.base, .plan = &p, .expect_workers = 1, .expect_timeout_ms = 500,
                       .out_dir = out, .name = "api-test", .peak_users = 3, .quiet = true };
    assert_int_equal(remote_run(&cfg), 3);
    assert_true(file_nonempty(out, "summary.json"));
    assert_true(file_nonempty(out, "stats.csv"));
    assert_true(file_nonempty(out, "stats_history.csv"));
    assert_true(file_nonempty(out, "failures.csv"));
    assert_true(file_nonempty(out, "junit.xml"));
    assert_false(file_nonempty(out, "summary.json.part"));
}

/* Ctrl-C (a pending SIGINT taken by sigtimedwait) stops the run through the API. */
static void test_remote_interrupt(void **state)
{
    (void)state;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    raise(SIGINT);
    char out[128];
    snprintf(out, sizeof out, "%s/local/run2", F.tmp);
    proto_plan p = test_plan(SCENARIO);
    remote_cfg cfg = { .master = F.base, .plan = &p, .expect_workers = 1, .expect_timeout_ms = 60000,
                       .out_dir = out, .name = "api-test", .quiet = true, .sigs = &sigs };
    /* Stopped while waiting for workers: the coordinator aborts it, well before 60 s. */
    assert_int_equal(remote_run(&cfg), 3);
    coord_status st;
    coord_get_status(F.c, &st);
    assert_int_equal(st.state, RUN_ABORTED);
    assert_true(file_nonempty(out, "summary.json"));
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
}

/* ---- issue 9: submissions, guard, results ------------------------------------------ */

/* Item 6: "users" is bounded by SC_MAX_USERS, as in YAML and -u. */
static void test_submit_users_cap(void **state)
{
    (void)state;
    char body[128];
    static const uint64_t bad[] = { SC_MAX_USERS + 1ull, 4294967295ull };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"scenario\": \"x\", \"users\": %llu}", (unsigned long long)bad[i]);
        reply r = http("POST", "/api/runs", body);
        assert_int_equal(r.code, 400);
        char e[512];
        reply_error(&r, e, sizeof e);
        assert_non_null(strstr(e, "\"users\""));
        free(r.body);
    }
    /* the cap itself is a valid value */
    json_t *j = json_pack("{s:s, s:I}", "scenario", "x", "users", (json_int_t)SC_MAX_USERS);
    proto_plan p = { 0 };
    char err[256] = "";
    assert_int_equal(api_plan_from_json(j, &p, err, sizeof err), 0);
    assert_int_equal(p.users, SC_MAX_USERS);
    json_decref(j);
    plan_fini(&p);
}

/* Item 3: "env" carries the CLI's env() values into the plan; bad shapes are 400s that
 * never echo a value. */
static void test_submit_env(void **state)
{
    (void)state;
    json_t *j = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "scenario", "x", "env",
                          "name", "TOKEN", "value", "s3cret", "name", "EMPTY", "value", "");
    proto_plan p = { 0 };
    char err[256] = "";
    assert_int_equal(api_plan_from_json(j, &p, err, sizeof err), 0);
    assert_int_equal(p.nenv, 2);
    assert_string_equal(p.env[0].key, "TOKEN");
    assert_string_equal(p.env[0].value, "s3cret");
    assert_string_equal(p.env[1].key, "EMPTY");
    assert_string_equal(p.env[1].value, "");
    json_decref(j);
    plan_fini(&p);                      /* env included */

    struct { const char *body, *want; } cases[] = {
        { "{\"scenario\": \"x\", \"env\": {}}", "\"env\"" },
        { "{\"scenario\": \"x\", \"env\": [{\"name\": \"A\"}]}", "env[0]" },
        { "{\"scenario\": \"x\", \"env\": [{\"name\": \"\", \"value\": \"v\"}]}", "env[0]" },
        { "{\"scenario\": \"x\", \"env\": [{\"name\": \"A\", \"value\": null}]}", "env[0]" },
        { "{\"scenario\": \"x\", \"env\": [{\"name\": 7, \"value\": \"secret\"}]}", "env[0]" },
        { "{\"scenario\": \"x\", \"env\": [{\"name\": \"A\", \"value\": 5}]}", "env[0]" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = http("POST", "/api/runs", cases[i].body);
        char e[512];
        assert_int_equal(r.code, 400);
        reply_error(&r, e, sizeof e);
        if (!strstr(e, cases[i].want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e, cases[i].want);
        assert_null(strstr(e, "cret"));
        free(r.body);
    }
    /* more than PROTO_MAX_ENV entries */
    json_t *many = json_array();
    for (unsigned i = 0; i <= PROTO_MAX_ENV; i++) {
        char name[16];
        snprintf(name, sizeof name, "V%u", i);
        json_array_append_new(many, json_pack("{s:s, s:s}", "name", name, "value", "v"));
    }
    j = json_pack("{s:s, s:o}", "scenario", "x", "env", many);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    reply r = http("POST", "/api/runs", body);
    free(body);
    assert_int_equal(r.code, 400);
    char e[512];
    reply_error(&r, e, sizeof e);
    assert_non_null(strstr(e, "too many env"));
    free(r.body);
}

/* Issue 12: "tags" and "exclude_tags" fill the plan's -T / -E; bad shapes are 400s that
 * name the member. */
static void test_submit_tags(void **state)
{
    (void)state;
    json_t *j = json_pack("{s:s, s:[s,s], s:[s]}", "scenario", "x", "tags", "smoke", "api",
                          "exclude_tags", "slow");
    proto_plan p = { 0 };
    char err[256] = "";
    assert_int_equal(api_plan_from_json(j, &p, err, sizeof err), 0);
    assert_int_equal(p.ntags, 2);
    assert_string_equal(p.tags[0], "smoke");
    assert_string_equal(p.tags[1], "api");
    assert_int_equal(p.nexclude_tags, 1);
    assert_string_equal(p.exclude_tags[0], "slow");
    json_decref(j);
    plan_fini(&p);                      /* tags included (proto/plan.h) */

    /* absent, null and empty arrays: no tags */
    j = json_pack("{s:s, s:n, s:[]}", "scenario", "x", "tags", "exclude_tags");
    proto_plan q = { 0 };
    assert_int_equal(api_plan_from_json(j, &q, err, sizeof err), 0);
    assert_int_equal(q.ntags, 0);
    assert_null(q.tags);
    assert_int_equal(q.nexclude_tags, 0);
    json_decref(j);
    plan_fini(&q);

    char longtag[PROTO_TAG_MAX + 2];
    memset(longtag, 'a', sizeof longtag - 1);
    longtag[sizeof longtag - 1] = '\0';
    char longbody[256];
    snprintf(longbody, sizeof longbody, "{\"scenario\": \"x\", \"exclude_tags\": [\"%s\"]}", longtag);
    struct { const char *body, *want; } cases[] = {
        { "{\"scenario\": \"x\", \"tags\": \"smoke\"}", "\"tags\" must be an array" },
        { "{\"scenario\": \"x\", \"tags\": [\"a\", 7]}", "tags[1]" },
        { "{\"scenario\": \"x\", \"tags\": [\"\"]}", "tags[0]" },
        { "{\"scenario\": \"x\", \"exclude_tags\": [null]}", "exclude_tags[0]" },
        { "{\"scenario\": \"x\", \"exclude_tags\": {}}", "\"exclude_tags\" must be an array" },
        { longbody, "exclude_tags[0] must be at most" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = http("POST", "/api/runs", cases[i].body);
        char e[512];
        if (r.code != 400) fail_msg("case %zu: HTTP %ld", i, r.code);
        reply_error(&r, e, sizeof e);
        if (!strstr(e, cases[i].want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e, cases[i].want);
        free(r.body);
    }
    /* exactly PROTO_TAG_MAX bytes is allowed; PROTO_MAX_TAGS + 1 tags are not */
    longtag[PROTO_TAG_MAX] = '\0';
    j = json_pack("{s:s, s:[s]}", "scenario", "x", "tags", longtag);
    proto_plan r2 = { 0 };
    assert_int_equal(api_plan_from_json(j, &r2, err, sizeof err), 0);
    assert_int_equal(r2.ntags, 1);
    json_decref(j);
    plan_fini(&r2);
    json_t *many = json_array();
    for (unsigned i = 0; i <= PROTO_MAX_TAGS; i++) json_array_append_new(many, json_string("t"));
    j = json_pack("{s:s, s:o}", "scenario", "x", "tags", many);
    proto_plan r3 = { 0 };
    assert_int_equal(api_plan_from_json(j, &r3, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many tags"));
    json_decref(j);
    plan_fini(&r3);
}

/* Item 10: a web page cannot drive the API: text/plain POSTs, foreign Origins,
 * Sec-Fetch-Site: cross-site and foreign Host names are refused, and no run starts. */
static void test_cross_site_refused(void **state)
{
    (void)state;
    coord_status before;
    coord_get_status(F.c, &before);
    char *body = submission(SCENARIO, 1000);
    char origin_ok[96], host_ok[96];
    snprintf(origin_ok, sizeof origin_ok, "Origin: http://127.0.0.1:%d", F.port);
    snprintf(host_ok, sizeof host_ok, "Host: 127.0.0.1:%d", F.port);
    struct { const char *hdrs[4]; long want; } cases[] = {
        { { "Content-Type: text/plain", "Origin: http://evil.example", NULL }, 403 },
        { { "Content-Type: text/plain", NULL }, 415 },
        { { "Content-Type: application/x-www-form-urlencoded", NULL }, 415 },
        { { "Origin: http://evil.example", NULL }, 403 },
        { { "Origin: null", NULL }, 403 },
        { { "Sec-Fetch-Site: cross-site", NULL }, 403 },
        { { "Host: evil.example", NULL }, 421 },
        { { "Host: evil.example:80", origin_ok, NULL }, 421 },
        { { host_ok, "Origin: https://127.0.0.1:1", NULL }, 403 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = http_h("POST", "/api/runs", body, cases[i].hdrs);
        if (r.code != cases[i].want) fail_msg("case %zu: HTTP %ld, want %ld: %s", i, r.code, cases[i].want, r.body);
        char e[512];
        reply_error(&r, e, sizeof e);
        free(r.body);
    }
    free(body);
    coord_status after;
    coord_get_status(F.c, &after);
    assert_true(after.run_id == before.run_id);         /* no run was started */
    /* A foreign Host is refused on reads too (DNS rebinding); same-origin requests pass. */
    const char *evil[] = { "Host: evil.example", NULL };
    reply r = http_h("GET", "/api/live", NULL, evil);
    assert_int_equal(r.code, 421);
    free(r.body);
    const char *same[] = { origin_ok, "Sec-Fetch-Site: same-origin", NULL };
    r = http_h("GET", "/api/live", NULL, same);
    assert_int_equal(r.code, 200);
    free(r.body);
    const char *lh[] = { "Host: localhost:1234", NULL };
    r = http_h("GET", "/metrics", NULL, lh);
    assert_int_equal(r.code, 200);
    free(r.body);
    /* a link followed from another site only reads: allowed */
    const char *nav[] = { "Sec-Fetch-Site: cross-site", NULL };
    r = http_h("GET", "/", NULL, nav);
    assert_int_equal(r.code, 200);
    free(r.body);
}

/* The guard's rules on their own (master/api_req.h). */
static void test_guard_rules(void **state)
{
    (void)state;
    api_guard_cfg g;
    char err[256], msg[256];
    assert_int_equal(api_guard_init(&g, "u:p", "10.1.2.3", "dash.example,other.example", err, sizeof err), 0);
    static const char head[] = "POST /api/runs HTTP/1.1\r\nHost: dash.example:8089\r\n"
                               "Authorization: Basic dTpw\r\nContent-Type: application/json; charset=utf-8\r\n"
                               "Content-Length: 12\r\n\r\n";
    char store[sizeof head];
    api_head h;
    assert_int_equal(api_head_parse(head, sizeof head - 1, store, sizeof store, &h), 0);
    assert_string_equal(h.method, "POST");
    assert_true(h.has_length);
    assert_int_equal(h.length, 12);
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 0);
    h.auth = "Basic dTpx";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 401);
    h.auth = "Basic dTpw";
    h.host = "evil.example:8089";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 421);
    h.host = "10.1.2.3:8089";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 0);
    h.host = "[::1]:8089";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 0);
    h.host = "a.localhost";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 0);
    h.origin = "http://a.localhost";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 0);
    h.origin = "http://b.localhost";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 403);
    h.origin = NULL;
    h.ctype = "application/jsonp";
    assert_int_equal(api_guard_check(&g, &h, msg, sizeof msg), 415);
    /* Folded header lines, a name with a space before the colon and no request line are
     * refused: the guard's view of a request must be evhttp's. */
    static const char *const bad[] = {
        "POST / HTTP/1.1\r\nHost: x\r\n Content-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\n: x\r\n\r\n",
        "\r\n\r\n",
        "post / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char st[128];
        if (api_head_parse(bad[i], strlen(bad[i]), st, sizeof st, &h) == 0) fail_msg("bad[%zu] parsed", i);
    }
    static const char sp[] = "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n";
    char st2[sizeof sp];
    assert_int_equal(api_head_parse(sp, sizeof sp - 1, st2, sizeof st2, &h), 0);
    assert_false(h.has_length);                          /* evhttp does not see one either */
    api_guard_fini(&g);
    assert_int_equal(api_guard_init(&g, NULL, "127.0.0.1", "a:80", err, sizeof err), -1);
    assert_non_null(strstr(err, "--ui-host"));
    assert_int_equal(api_guard_init(&g, "nocolon", "127.0.0.1", NULL, err, sizeof err), -1);
}

/* Item 14: --ui-auth-file reads USER:PASS from a file only its owner can read. */
static void test_auth_file(void **state)
{
    (void)state;
    char path[160], out[256], err[512];
    snprintf(path, sizeof path, "%s/ui-auth", F.tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("admin:pa ss word \t\r\nsecond line\n", f);
    fclose(f);
    chmod(path, 0644);
    assert_int_equal(api_auth_file(path, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(path, 0600);
    assert_int_equal(api_auth_file(path, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "admin:pa ss word");
    f = fopen(path, "w");
    fputs("no-colon\n", f);
    fclose(f);
    assert_int_equal(api_auth_file(path, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "USER:PASS"));
    assert_int_equal(api_auth_file("/nonexistent/ui-auth", out, sizeof out, err, sizeof err), -1);
    unlink(path);
}

/* Item 8: the status has "results_error", and an ended run's summary.json that is not on
 * disk comes from the coordinator's memory. */
static void test_results_from_memory(void **state)
{
    (void)state;
    const char *id = submit_ok(300);
    char path[128];
    wait_ended();
    snprintf(path, sizeof path, "/api/runs/%s", id);
    reply r = http("GET", path, NULL);
    json_t *j = reply_json(&r);
    assert_non_null(json_object_get(j, "results_error"));
    assert_true(json_is_null(json_object_get(j, "results_error")));
    const char *out_dir = json_string_value(json_object_get(j, "out_dir"));
    assert_non_null(out_dir);
    char file[1200];
    snprintf(file, sizeof file, "%s/summary.json", out_dir);
    json_decref(j);
    free(r.body);
    char *mem = coord_get_summary(F.c);
    if (!mem) skip();                   /* the coordinator keeps no copy in this build */
    free(mem);
    assert_int_equal(unlink(file), 0);
    snprintf(path, sizeof path, "/api/runs/%s/files/summary.json", id);
    r = http("GET", path, NULL);
    assert_int_equal(r.code, 200);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "scenario")), "api-test");
    json_decref(j);
    free(r.body);
}

/* /api/series (api_series_json): every key the dashboard reads, one entry per point, NaN
 * as null, limited as 0/1, the open model's figures as the points carry them. */
static void test_series_json(void **state)
{
    (void)state;
    coord_point pts[2];
    memset(pts, 0, sizeof pts);
    pts[0] = (coord_point){ .t = 1, .users = 4, .rps = 200, .fps = 2, .p50 = 3, .p95 = 7, .p99 = 9,
                            .s50 = 1.5, .s95 = 2.5, .s99 = 4.5, .rate_planned = 250, .rate_achieved = 200,
                            .backlog = 12, .dropped = 50, .lag_p99 = 11.5, .cpu_max = 0.95, .limited = true };
    pts[1] = (coord_point){ .t = 2, .users = 0, .p50 = NAN, .p95 = NAN, .p99 = NAN, .s50 = NAN,
                            .s95 = NAN, .s99 = NAN, .lag_p99 = NAN };
    json_t *j = api_series_json(pts, 2, 42);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "run_id")), "42");
    static const char *const keys[] = { "t", "users", "rps", "fps", "p50", "p95", "p99", "s50", "s95", "s99",
                                        "rate_planned", "rate_achieved", "backlog", "dropped", "lag_p99",
                                        "limited" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *a = json_object_get(j, keys[k]);
        if (!json_is_array(a) || json_array_size(a) != 2) fail_msg("series lacks %s", keys[k]);
    }
#define AT(key, i) json_array_get(json_object_get(j, key), i)
    assert_true(json_number_value(AT("s50", 0)) == 1.5);
    assert_true(json_number_value(AT("s95", 0)) == 2.5);
    assert_true(json_number_value(AT("s99", 0)) == 4.5);
    assert_true(json_number_value(AT("rate_planned", 0)) == 250);
    assert_true(json_number_value(AT("rate_achieved", 0)) == 200);
    assert_int_equal(json_integer_value(AT("backlog", 0)), 12);
    assert_int_equal(json_integer_value(AT("dropped", 0)), 50);
    assert_true(json_number_value(AT("lag_p99", 0)) == 11.5);
    assert_int_equal(json_integer_value(AT("limited", 0)), 1);
    assert_int_equal(json_integer_value(AT("users", 0)), 4);
    assert_true(json_number_value(AT("p95", 0)) == 7);
    /* the second point: nothing measured */
    static const char *const nulls[] = { "p50", "p95", "p99", "s50", "s95", "s99", "lag_p99" };
    for (size_t k = 0; k < sizeof nulls / sizeof nulls[0]; k++)
        if (!json_is_null(AT(nulls[k], 1))) fail_msg("%s of an empty interval is not null", nulls[k]);
    assert_int_equal(json_integer_value(AT("limited", 1)), 0);
    assert_true(json_number_value(AT("rate_planned", 1)) == 0);
#undef AT
    json_decref(j);
    /* no points, no run: empty arrays and a null run_id */
    j = api_series_json(NULL, 0, 0);
    assert_true(json_is_null(json_object_get(j, "run_id")));
    assert_int_equal(json_array_size(json_object_get(j, "lag_p99")), 0);
    json_decref(j);
}

/* Item 5: a submission is parsed off the API thread; while one is, a second gets 409. */
static void test_submission_off_thread(void **state)
{
    (void)state;
    /* The submission is answered only once coord_run has taken it: the run exists. */
    const char *id = submit_ok(30000);
    coord_status s;
    coord_get_status(F.c, &s);
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)s.run_id);
    assert_string_equal(id, want);
    coord_stop(F.c, true);
    wait_ended();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_address),
        cmocka_unit_test(test_workers_empty),
        cmocka_unit_test(test_unknown_routes),
        cmocka_unit_test(test_submit_malformed),
        cmocka_unit_test(test_submit_scenario_error),
        cmocka_unit_test(test_local_api),
        cmocka_unit_test(test_run_lifecycle),
        cmocka_unit_test(test_submit_users_cap),
        cmocka_unit_test(test_submit_env),
        cmocka_unit_test(test_submit_tags),
        cmocka_unit_test(test_cross_site_refused),
        cmocka_unit_test(test_guard_rules),
        cmocka_unit_test(test_auth_file),
        cmocka_unit_test(test_results_from_memory),
        cmocka_unit_test(test_submission_off_thread),
        cmocka_unit_test(test_series_json),
        cmocka_unit_test(test_remote_bad_master_url),
        cmocka_unit_test(test_remote_unreachable),
        cmocka_unit_test(test_remote_refused),
        cmocka_unit_test(test_remote_busy),
        cmocka_unit_test(test_remote_aborted_downloads),
        cmocka_unit_test(test_remote_interrupt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
