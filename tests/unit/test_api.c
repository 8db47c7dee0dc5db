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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_address),
        cmocka_unit_test(test_workers_empty),
        cmocka_unit_test(test_unknown_routes),
        cmocka_unit_test(test_submit_malformed),
        cmocka_unit_test(test_submit_scenario_error),
        cmocka_unit_test(test_run_lifecycle),
        cmocka_unit_test(test_remote_bad_master_url),
        cmocka_unit_test(test_remote_unreachable),
        cmocka_unit_test(test_remote_refused),
        cmocka_unit_test(test_remote_busy),
        cmocka_unit_test(test_remote_aborted_downloads),
        cmocka_unit_test(test_remote_interrupt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
