/* libFuzzer target for the master's HTTP request handling (master/api_req.h): the parts
 * that read what a client sends, without sockets or threads, so no run is ever started.
 *
 * The first byte picks what the rest is:
 *   even: a request header block -> api_head_parse, then api_guard_check under two
 *         guard configurations (with and without basic auth, with --ui-host names);
 *   odd:  a POST /api/runs body -> jansson -> api_plan_from_json (and the other members
 *         api_post_run reads), then plan_fini.
 * Oracles: the parsed head's strings lie inside the store buffer and are NUL-terminated;
 * a refusal status is one of those the guard documents and comes with a message; a plan
 * built without error respects the caps (users, files, sets, env) and keeps no NUL in
 * its strings. ASan/UBSan and the leak checker do the rest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common/log.h"
#include "common/scenario.h"
#include "master/api_req.h"
#include "proto/plan.h"

static api_guard_cfg G_auth, G_open;

static void fuzz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    char err[256];
    if (api_guard_init(&G_auth, "admin:secret", "127.0.0.1", "dash.example,other.example", err, sizeof err) != 0
        || api_guard_init(&G_open, NULL, "0.0.0.0", NULL, err, sizeof err) != 0)
        abort();
}

static void in_store(const char *p, const char *store, size_t cap)
{
    if (!p) return;
    if (p < store || p >= store + cap) abort();
    if (!memchr(p, '\0', (size_t)(store + cap - p))) abort();
}

static void fuzz_head(const uint8_t *data, size_t size)
{
    if (size > API_MAX_HEAD) size = API_MAX_HEAD;
    char *store = malloc(size + 1);
    if (!store) return;
    api_head h;
    if (api_head_parse((const char *)data, size, store, size + 1, &h) == 0) {
        in_store(h.host, store, size + 1);
        in_store(h.auth, store, size + 1);
        in_store(h.origin, store, size + 1);
        in_store(h.fetch_site, store, size + 1);
        in_store(h.ctype, store, size + 1);
        if (!memchr(h.method, '\0', sizeof h.method)) abort();
        const api_guard_cfg *gs[] = { &G_auth, &G_open };
        for (size_t i = 0; i < 2; i++) {
            char msg[512] = "";
            int code = api_guard_check(gs[i], &h, msg, sizeof msg);
            if (code != 0 && code != 401 && code != 403 && code != 415 && code != 421) abort();
            if (code != 0 && !msg[0]) abort();
        }
    }
    free(store);
}

static void no_nul(const char *s, size_t n)
{
    if (s && strlen(s) != n) abort();
}

static void fuzz_body(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, 0, &je);
    if (!j) return;
    proto_plan p = { 0 };
    char err[1024] = "";
    uint64_t v;
    if (json_is_object(j) && api_plan_from_json(j, &p, err, sizeof err) == 0) {
        if (p.users > SC_MAX_USERS || p.nfiles > PROTO_MAX_FILES || p.nsets > PROTO_MAX_SETS
            || p.nenv > PROTO_MAX_ENV || !p.scenario || !p.scenario_file)
            abort();
        no_nul(p.scenario, p.scenario_len);
        for (uint32_t i = 0; i < p.nenv; i++)
            if (!p.env[i].key[0]) abort();
        api_get_uint(j, "expect_workers", 1, 100000, 1, &v, err, sizeof err);
    } else if (json_is_object(j) && !err[0]) {
        abort();                        /* a refusal always says why */
    }
    json_decref(j);
    plan_fini(&p);                      /* env included */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1) return 0;
    if (data[0] & 1) fuzz_body(data + 1, size - 1);
    else fuzz_head(data + 1, size - 1);
    return 0;
}
