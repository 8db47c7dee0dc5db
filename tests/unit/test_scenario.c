/* Scenario parser: the DESIGN.md example parses into the expected structure, ws steps
 * included; every ws step form parses into the expected sc_ws; bad inputs fail with the
 * right place, message and hint; thresholds (ws figures too); the load shape (users
 * over time, -u/-r/-t overrides) and the profile mix follow the contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/scenario.h"
#include "common/scenario_int.h"
#include "proto/plan.h"

/* ---- a loader serving files from memory ------------------------------------------- */

typedef struct memfile { const char *path, *text; } memfile;

static const memfile test_files[] = {
    { "operators.csv", "username,password\nop1,secret1\nop2,secret2\nop3,\"se,cret3\"\n" },
    { "empty.csv", "username,password\n" },
    { "ragged.csv", "a,b\n1,2\n3\n" },
    { "many.csv", "id\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n" },
    { NULL, NULL },
};

static int mem_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    const memfile *files = ud;
    for (int i = 0; files[i].path; i++) {
        if (!strcmp(files[i].path, path)) {
            *len = strlen(files[i].text);
            *data = malloc(*len + 1);
            memcpy(*data, files[i].text, *len + 1);
            return 0;
        }
    }
    snprintf(err, errcap, "no such file");
    return -1;
}

static scenario *parse(const char *text, sc_error *err)
{
    return scenario_parse(text, strlen(text), "test.yaml", NULL, 0, mem_read, (void *)test_files, err);
}

static scenario *parse_set(const char *text, const sc_set *sets, int n, sc_error *err)
{
    return scenario_parse(text, strlen(text), "test.yaml", sets, n, mem_read, (void *)test_files, err);
}

/* Parses and fails the test with the formatted error if it does not parse. */
static scenario *parse_ok(const char *text)
{
    sc_error err;
    scenario *sc = parse(text, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("expected to parse, got: %s", buf);
    }
    return sc;
}

/* ---- the DESIGN.md example --------------------------------------------------------- */

static const char design_example[] =
    "name: erp-peak\n"
    "target: http://127.0.0.1:8000          # base URL; --host overrides\n"
    "defaults: { headers: { Accept: application/json }, timeout: 10s }\n"
    "load:\n"
    "  model: closed                        # closed: users loop their flow; open: arrival rate\n"
    "  stages:                              # closed: users; open: rate (iterations/s) + max_users\n"
    "    - { duration: 5m, users: 200 }     # 0 -> 200 linearly over 5 minutes\n"
    "    - { duration: 30m, users: 200 }\n"
    "  graceful_stop: 30s\n"
    "data:\n"
    "  operators: { csv: operators.csv, mode: unique }   # sequential | random | unique per user\n"
    "users:\n"
    "  - name: cutting_operator\n"
    "    weight: 50\n"
    "    flow:\n"
    "      - http: { name: login, method: POST, url: /auth/login,\n"
    "                json: { username: \"{{ operators.username }}\", password: \"{{ operators.password }}\" },\n"
    "                expect: { status: 200 }, capture: { token: { json: $.access_token } } }\n"
    "      - loop:\n"
    "          steps:\n"
    "            - http: { url: \"/ppic/manufacturing-orders?page={{ rand_int(1, 100) }}\",\n"
    "                      headers: { Authorization: \"Bearer {{ token }}\" } }\n"
    "            - think: 1s..3s\n"
    "  - name: supervisor\n"
    "    weight: 5\n"
    "    flow:\n"
    "%s"
    "      - think: 10s\n"
    "thresholds:\n"
    "  - \"p95 < 500ms\"\n"
    "  - \"error_rate < 0.1%%\"\n"
    "  - \"login: p99 < 1s\"\n";

static const char design_ws[] =
    "      - ws: { connect: /ws/production, name: production-feed }\n"
    "      - ws: { send: '{\"subscribe\":\"line-3\"}' }\n"
    "      - ws: { expect: { json: $.type, equals: snapshot }, timeout: 5s }\n";

static const sc_header *find_header(const sc_http *h, const char *name)
{
    for (int i = 0; i < h->nheaders; i++)
        if (!strcasecmp(h->headers[i].name, name))
            return &h->headers[i];
    return NULL;
}

static const char *static_text(const tmpl *t)
{
    size_t len;
    const char *s = tmpl_static(t, &len);
    return s ? s : "(dynamic)";
}

static void test_design_example(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, design_example, "");
    scenario *sc = parse_ok(text);

    assert_string_equal(sc->name, "erp-peak");
    assert_string_equal(sc->target, "http://127.0.0.1:8000");
    assert_string_equal(sc->file, "test.yaml");
    assert_int_equal(sc->default_timeout_ms, 10000);
    assert_int_equal(sc->ndefault_headers, 1);
    assert_string_equal(sc->default_headers[0].name, "Accept");
    assert_string_equal(static_text(sc->default_headers[0].value), "application/json");
    assert_false(sc->http2);
    assert_false(sc->insecure);
    assert_false(sc->follow_redirects);

    assert_int_equal(sc->nstages, 2);
    assert_int_equal(sc->stages[0].duration_ms, 5 * 60000);
    assert_int_equal(sc->stages[0].users, 200);
    assert_int_equal(sc->stages[1].duration_ms, 30 * 60000);
    assert_int_equal(sc->graceful_stop_ms, 30000);
    assert_int_equal(scenario_duration_ms(sc), 35 * 60000);
    assert_int_equal(scenario_peak_users(sc), 200);

    assert_int_equal(sc->data.n, 1);
    assert_string_equal(sc->data.f[0].name, "operators");
    assert_string_equal(sc->data.f[0].file, "operators.csv");
    assert_int_equal(sc->data.f[0].mode, DATA_UNIQUE);
    assert_int_equal(sc->data.f[0].nrows, 3);
    assert_int_equal(sc->data.f[0].ncols, 2);

    assert_int_equal(sc->nprofiles, 2);
    assert_int_equal(sc->total_weight, 55);
    const sc_profile *op = &sc->profiles[0], *sup = &sc->profiles[1];
    assert_string_equal(op->name, "cutting_operator");
    assert_int_equal(op->weight, 50);
    assert_int_equal(op->nflow, 2);

    const sc_step *login = &op->flow[0];
    assert_int_equal(login->kind, STEP_HTTP);
    assert_int_equal(login->line, 16);
    assert_int_equal(login->col, 9);
    const sc_http *h = &login->u.http;
    assert_string_equal(h->name, "login");
    assert_string_equal(h->method, "POST");
    assert_string_equal(static_text(h->url), "/auth/login");
    assert_true(h->json_body);
    assert_non_null(h->body);
    assert_null(tmpl_static(h->body, NULL));          /* holes for the feeder columns */
    assert_int_equal(h->timeout_ms, 10000);
    assert_int_equal(h->expect.nstatus, 1);
    assert_int_equal(h->expect.status[0], 200);
    assert_int_equal(h->nheaders, 1);
    assert_non_null(find_header(h, "Accept"));
    assert_int_equal(h->ncaptures, 1);
    assert_string_equal(h->captures[0].var, "token");
    assert_int_equal(h->captures[0].kind, CAP_JSON);
    assert_string_equal(h->captures[0].expr, "$.access_token");
    assert_non_null(h->captures[0].path);
    assert_int_equal(h->captures[0].slot, tmpl_syms_find(&sc->syms, "token"));
    assert_true(h->captures[0].slot >= 0);

    const sc_step *loop = &op->flow[1];
    assert_int_equal(loop->kind, STEP_LOOP);
    assert_int_equal(loop->u.loop.count, -1);
    assert_int_equal(loop->u.loop.nsteps, 2);
    const sc_http *orders = &loop->u.loop.steps[0].u.http;
    assert_int_equal(loop->u.loop.steps[0].kind, STEP_HTTP);
    assert_null(orders->name);
    assert_string_equal(orders->method, "GET");
    assert_null(tmpl_static(orders->url, NULL));
    assert_null(orders->body);
    assert_int_equal(orders->nheaders, 2);              /* Accept from defaults + its own */
    assert_non_null(find_header(orders, "Accept"));
    assert_non_null(find_header(orders, "Authorization"));
    assert_int_equal(orders->expect.nstatus, 0);
    const sc_step *think = &loop->u.loop.steps[1];
    assert_int_equal(think->kind, STEP_THINK);
    assert_int_equal(think->u.think.min_ms, 1000);
    assert_int_equal(think->u.think.max_ms, 3000);

    assert_string_equal(sup->name, "supervisor");
    assert_int_equal(sup->weight, 5);
    assert_int_equal(sup->nflow, 1);
    assert_int_equal(sup->flow[0].kind, STEP_THINK);
    assert_int_equal(sup->flow[0].u.think.min_ms, 10000);
    assert_int_equal(sup->flow[0].u.think.max_ms, 10000);

    assert_int_equal(sc->nthresholds, 3);
    assert_string_equal(sc->thresholds[0].expr, "p95 < 500ms");
    assert_null(sc->thresholds[0].name);
    assert_int_equal(sc->thresholds[0].metric, TH_P95);
    assert_int_equal(sc->thresholds[0].op, OP_LT);
    assert_true(sc->thresholds[0].value == 500.0);
    assert_int_equal(sc->thresholds[0].line, 29);
    assert_int_equal(sc->thresholds[0].col, 5);
    assert_int_equal(sc->thresholds[1].metric, TH_ERROR_RATE);
    assert_true(sc->thresholds[1].value > 0.00099 && sc->thresholds[1].value < 0.00101);
    assert_string_equal(sc->thresholds[2].name, "login");
    assert_int_equal(sc->thresholds[2].metric, TH_P99);
    assert_true(sc->thresholds[2].value == 1000.0);

    /* 200 peak users, 3 unique rows: refused before the run, naming both numbers */
    sc_error err;
    assert_int_equal(scenario_check_run(sc, &err), -1);
    assert_non_null(strstr(err.msg, "operators"));
    assert_non_null(strstr(err.msg, "3 rows"));
    assert_non_null(strstr(err.msg, "200 users"));
    scenario_override_load(sc, 3, 0, 0);
    assert_int_equal(scenario_check_run(sc, &err), 0);
    scenario_free(sc);
}

/* The example as written, ws steps included. */
static void test_design_example_ws(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, design_example, design_ws);
    scenario *sc = parse_ok(text);
    const sc_profile *sup = &sc->profiles[1];
    assert_int_equal(sup->nflow, 4);
    const sc_step *st = &sup->flow[0];
    assert_int_equal(st->kind, STEP_WS);
    assert_int_equal(st->line, 27);
    assert_int_equal(st->col, 9);
    const sc_ws *w = &st->u.ws;
    assert_int_equal(w->kind, SC_WS_CONNECT);
    assert_string_equal(w->name, "production-feed");
    assert_string_equal(static_text(w->url), "/ws/production");
    assert_int_equal(w->nheaders, 1);                   /* Accept from defaults */
    assert_string_equal(w->headers[0].name, "Accept");
    assert_string_equal(static_text(w->headers[0].value), "application/json");
    assert_null(w->subprotocol);
    assert_int_equal(w->timeout_ms, 10000);
    assert_int_equal(w->reconnect_max, 0);
    assert_int_equal(w->ping_ms, 0);
    assert_null(w->sequence);
    assert_null(w->stamp);
    w = &sup->flow[1].u.ws;
    assert_int_equal(sup->flow[1].kind, STEP_WS);
    assert_int_equal(w->kind, SC_WS_SEND);
    assert_int_equal(w->payload, SC_WS_TEXT);
    assert_string_equal(static_text(w->message), "{\"subscribe\":\"line-3\"}");
    w = &sup->flow[2].u.ws;
    assert_int_equal(w->kind, SC_WS_EXPECT);
    assert_string_equal(w->match.json_text, "$.type");
    assert_non_null(w->match.json);
    assert_string_equal(static_text(w->match.json_equals), "snapshot");
    assert_null(w->match.equals);
    assert_null(w->match.contains);
    assert_null(w->match.regex);
    assert_int_equal(w->ncaptures, 0);
    assert_int_equal(w->timeout_ms, 5000);
    assert_int_equal(sup->flow[3].kind, STEP_THINK);
    scenario_free(sc);
}

/* Bodies: json keeps literals typed as written, strings quoted; form is url-encoded. */
static void test_bodies(void **state)
{
    (void)state;
    scenario *sc = parse_ok(
        "name: t\n"
        "target: http://127.0.0.1:8000/\n"
        "load: { stages: [ { duration: 10s, users: 1 } ] }\n"
        "users:\n"
        "  - name: u\n"
        "    flow:\n"
        "      - http:\n"
        "          url: /j\n"
        "          method: post\n"
        "          json: { a: 1, b: x, c: true, d: null, e: \"1\", f: [ 1.5, two, -3 ], g: { h: \"q\\\"t\" }, i: 01 }\n"
        "      - http:\n"
        "          url: /f\n"
        "          method: PUT\n"
        "          form: { user name: a b, pass: \"p&w=1\" }\n"
        "      - http: { url: \"http://other:9/x\", body: \"raw text\", headers: { Content-Type: text/plain } }\n");
    assert_string_equal(sc->target, "http://127.0.0.1:8000");
    const sc_http *j = &sc->profiles[0].flow[0].u.http, *f = &sc->profiles[0].flow[1].u.http,
                  *r = &sc->profiles[0].flow[2].u.http;
    assert_string_equal(j->method, "POST");
    assert_true(j->json_body);
    assert_string_equal(static_text(j->body),
                        "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":\"1\",\"f\":[1.5,\"two\",-3],"
                        "\"g\":{\"h\":\"q\\\"t\"},\"i\":\"01\"}");
    assert_false(f->json_body);
    assert_string_equal(static_text(f->body), "user+name=a+b&pass=p%26w%3D1");
    const sc_header *ct = find_header(f, "content-type");
    assert_non_null(ct);
    assert_string_equal(static_text(ct->value), "application/x-www-form-urlencoded");
    assert_string_equal(static_text(r->body), "raw text");
    assert_string_equal(static_text(r->url), "http://other:9/x");
    assert_string_equal(static_text(find_header(r, "Content-Type")->value), "text/plain");
    scenario_free(sc);
}

/* A capture used (in another profile, and earlier in the file) before it is defined;
 * step options: timeout, expect lists, header/regex captures, groups, counted loops. */
static void test_steps_and_forward_capture(void **state)
{
    (void)state;
    scenario *sc = parse_ok(
        "users:\n"
        "  - name: reader\n"
        "    flow:\n"
        "      - http: { url: \"/orders/{{ order_id }}\", headers: { X-Session: \"{{ session }}\" } }\n"
        "  - name: writer\n"
        "    weight: 3\n"
        "    flow:\n"
        "      - group:\n"
        "          name: checkout\n"
        "          steps:\n"
        "            - http:\n"
        "                url: /orders\n"
        "                method: POST\n"
        "                timeout: 2.5s\n"
        "                expect: { status: [200, 201], json: $.state, equals: open, contains: id }\n"
        "                capture:\n"
        "                  order_id: { json: $.id }\n"
        "                  session: { header: X-Session }\n"
        "                  ticket: { regex: \"ticket=([0-9]+)\" }\n"
        "      - loop: { count: 3, steps: [ { think: 250ms }, { think: 2 } ] }\n"
        "load:\n"
        "  stages: [ { duration: 1m, users: 4 } ]\n"
        "  graceful_stop: 5s\n"
        "target: https://example.test\n"
        "name: forward\n"
        "defaults: { timeout: 3s, http2: true, insecure: yes, follow_redirects: on }\n"
        "thresholds: [ \"checkout: p95 < 1s\", \"GET /orders: max <= 2s\", \"rps >= 10\" ]\n");
    assert_int_equal(sc->default_timeout_ms, 3000);
    assert_true(sc->http2 && sc->insecure && sc->follow_redirects);
    assert_int_equal(sc->graceful_stop_ms, 5000);
    assert_int_equal(sc->total_weight, 4);
    assert_int_equal(sc->profiles[0].flow[0].u.http.timeout_ms, 3000);
    const sc_step *g = &sc->profiles[1].flow[0];
    assert_int_equal(g->kind, STEP_GROUP);
    assert_string_equal(g->u.group.name, "checkout");
    const sc_http *h = &g->u.group.steps[0].u.http;
    assert_int_equal(h->timeout_ms, 2500);
    assert_int_equal(h->expect.nstatus, 2);
    assert_int_equal(h->expect.status[1], 201);
    assert_string_equal(h->expect.json_path_text, "$.state");
    assert_non_null(h->expect.json_path);
    assert_string_equal(h->expect.json_equals, "open");
    assert_string_equal(h->expect.contains, "id");
    assert_int_equal(h->ncaptures, 3);
    assert_int_equal(h->captures[1].kind, CAP_HEADER);
    assert_string_equal(h->captures[1].expr, "X-Session");
    assert_int_equal(h->captures[2].kind, CAP_REGEX);
    assert_non_null(h->captures[2].re);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h->captures[i].slot, tmpl_syms_find(&sc->syms, h->captures[i].var));
    const sc_step *l = &sc->profiles[1].flow[1];
    assert_int_equal(l->kind, STEP_LOOP);
    assert_int_equal(l->u.loop.count, 3);
    assert_int_equal(l->u.loop.steps[0].u.think.min_ms, 250);
    assert_int_equal(l->u.loop.steps[1].u.think.max_ms, 2000);
    assert_int_equal(sc->thresholds[1].metric, TH_MAX);
    assert_int_equal(sc->thresholds[1].op, OP_LE);
    assert_string_equal(sc->thresholds[1].name, "GET /orders");
    scenario_free(sc);
}

/* ---- ws steps ---------------------------------------------------------------------- */

/* Renders t with user 7 and the capture values vals (one per symbol slot). */
static const char *render_with(const scenario *sc, const tmpl *t, tmpl_val *vals, char *buf,
                               size_t cap)
{
    uint64_t rng = 42, counter = 0;
    uint32_t rows[4] = { 0 };
    tmpl_ctx ctx = { .user_id = 7, .rng = &rng, .counter = &counter, .threads_total = 1,
                     .vars = vals, .rows = rows, .data = &sc->data };
    size_t n = tmpl_render(t, &ctx, buf, cap);
    assert_true(n < cap);
    return buf;
}

static const char ws_forms[] =
    "name: ws\n"
    "target: https://127.0.0.1:8443\n"
    "defaults: { headers: { Accept: application/json, X-Team: qa }, timeout: 4s }\n"
    "load: { stages: [ { duration: 1m, users: 2 } ] }\n"
    "users:\n"
    "  - name: feed\n"
    "    flow:\n"
    "      - ws:\n"
    "          connect: \"/ws/feed?room={{ room }}\"\n"
    "          name: feed\n"
    "          headers: { x-team: core, Authorization: \"Bearer {{ token }}\" }\n"
    "          subprotocol: chat.v2\n"
    "          timeout: 3s\n"
    "          reconnect: { max: 5, backoff: 250ms }\n"
    "          ping: 1s\n"
    "          sequence: $.seq\n"
    "          stamp: $.ts_us\n"
    "      - ws: { send: \"hello {{ user_id }}\" }\n"                                  /* 1 */
    "      - ws: { send: { json: { op: sub, n: 1, ts: \"{{ now_us }}\", who: \"{{ token }}\", ok: true } } }\n"
    "      - ws: { send: { binary: aGVsbG8= } }\n"
    "      - ws: { send: { binary: \"{{ token }}\" } }\n"
    "      - ws: { send: '' }\n"                                                       /* 5 */
    "      - ws:\n"
    "          expect: { equals: \"pong {{ user_id }}\" }\n"
    "          timeout: 2s\n"
    "          capture: { room: { json: $.room }, token: { regex: \"t=([a-z]+)\" } }\n"
    "      - ws: { expect: { contains: ok, regex: \"^[{]\" } }\n"
    "      - ws: { expect: { json: $.type } }\n"
    "      - ws: { expect: { json: $.n, equals: 7 } }\n"
    "      - ws: { expect: {} }\n"                                                     /* 10 */
    "      - ws: { receive: 3, timeout: 9s }\n"
    "      - ws: { listen: true }\n"
    "      - ws: { listen: false }\n"
    "      - ws: { listen: { json: $.type, equals: tick, capture: { last: { json: $.seq } } } }\n"
    "      - ws: { close: 4001, timeout: 1s }\n"                                        /* 15 */
    "      - ws: { close: true }\n"
    "      - ws: { close: 1000 }\n"
    "  - name: plain\n"
    "    flow:\n"
    "      - loop:\n"
    "          count: 2\n"
    "          steps:\n"
    "            - ws: { connect: \"ws://127.0.0.1:9001/ws/echo?x=1\", reconnect: {} }\n"
    "            - group: { name: g, steps: [ { ws: { send: hi } } ] }\n"
    "      - ws: { send: after }\n"
    "      - ws: { connect: \"wss://h.example\" }\n"
    "      - ws: { connect: /ws/echo#frag }\n"
    "thresholds:\n"
    "  - \"feed: message p95 < 100ms\"\n"
    "  - \"feed: out_of_order < 1\"\n"
    "  - \"/ws/echo: connect error_rate < 1%\"\n";

static void test_ws_forms(void **state)
{
    (void)state;
    scenario *sc = parse_ok(ws_forms);
    char buf[512];
    tmpl_val vals[8] = { 0 };
    assert_true(sc->syms.nvars <= 8);
    int room = tmpl_syms_find(&sc->syms, "room"), token = tmpl_syms_find(&sc->syms, "token"),
        last = tmpl_syms_find(&sc->syms, "last");
    assert_true(room >= 0 && token >= 0 && last >= 0);
    assert_int_equal(tmpl_val_set(&vals[room], "r1", 2), 0);
    assert_int_equal(tmpl_val_set(&vals[token], "a\"b", 3), 0);

    const sc_profile *pf = &sc->profiles[0];
    assert_int_equal(pf->nflow, 18);
    for (int i = 0; i < pf->nflow; i++)
        assert_int_equal(pf->flow[i].kind, STEP_WS);

    /* connect: everything given */
    const sc_ws *w = &pf->flow[0].u.ws;
    assert_int_equal(pf->flow[0].line, 8);
    assert_int_equal(pf->flow[0].col, 9);
    assert_int_equal(w->kind, SC_WS_CONNECT);
    assert_string_equal(w->name, "feed");
    assert_null(tmpl_static(w->url, NULL));
    assert_string_equal(render_with(sc, w->url, vals, buf, sizeof buf), "/ws/feed?room=r1");
    assert_int_equal(w->nheaders, 3);       /* Accept (default), X-Team overridden, Authorization */
    int seen = 0;
    for (int i = 0; i < w->nheaders; i++) {
        const char *v = render_with(sc, w->headers[i].value, vals, buf, sizeof buf);
        if (!strcasecmp(w->headers[i].name, "Accept"))
            seen += !strcmp(v, "application/json");
        else if (!strcasecmp(w->headers[i].name, "X-Team"))
            seen += !strcmp(v, "core");
        else if (!strcmp(w->headers[i].name, "Authorization"))
            seen += !strcmp(v, "Bearer a\"b");
    }
    assert_int_equal(seen, 3);
    assert_string_equal(w->subprotocol, "chat.v2");
    assert_int_equal(w->timeout_ms, 3000);
    assert_int_equal(w->reconnect_max, 5);
    assert_int_equal(w->reconnect_backoff_ms, 250);
    assert_int_equal(w->ping_ms, 1000);
    assert_non_null(w->sequence);
    assert_string_equal(w->sequence_text, "$.seq");
    assert_non_null(w->stamp);
    assert_string_equal(w->stamp_text, "$.ts_us");
    jscan_val jv;
    int64_t iv;
    const char msg[] = "{\"seq\":12,\"ts_us\":1700000000000001}";
    assert_int_equal(jscan_find(w->stamp, msg, strlen(msg), &jv), 1);
    assert_int_equal(jscan_int(&jv, &iv), 0);
    assert_true(iv == INT64_C(1700000000000001));

    /* send forms */
    w = &pf->flow[1].u.ws;
    assert_int_equal(w->kind, SC_WS_SEND);
    assert_int_equal(w->payload, SC_WS_TEXT);
    assert_string_equal(render_with(sc, w->message, vals, buf, sizeof buf), "hello 7");
    assert_int_equal(w->timeout_ms, 4000);                          /* defaults.timeout */
    w = &pf->flow[2].u.ws;
    assert_int_equal(w->payload, SC_WS_JSON);
    render_with(sc, w->message, vals, buf, sizeof buf);
    unsigned long long ts;
    int end = 0;
    assert_int_equal(sscanf(buf, "{\"op\":\"sub\",\"n\":1,\"ts\":\"%llu\",%n", &ts, &end), 1);
    assert_true(ts > 1600000000ULL * 1000000u);
    assert_string_equal(buf + end, "\"who\":\"a\\\"b\",\"ok\":true}");   /* hole JSON-escaped */
    w = &pf->flow[3].u.ws;
    assert_int_equal(w->payload, SC_WS_BINARY);
    assert_string_equal(static_text(w->message), "aGVsbG8=");
    w = &pf->flow[4].u.ws;
    assert_int_equal(w->payload, SC_WS_BINARY);
    assert_null(tmpl_static(w->message, NULL));            /* checked when it is sent */
    w = &pf->flow[5].u.ws;
    assert_int_equal(w->payload, SC_WS_TEXT);
    assert_string_equal(static_text(w->message), "");

    /* expect forms */
    w = &pf->flow[6].u.ws;
    assert_int_equal(w->kind, SC_WS_EXPECT);
    assert_int_equal(w->timeout_ms, 2000);
    assert_string_equal(render_with(sc, w->match.equals, vals, buf, sizeof buf), "pong 7");
    assert_null(w->match.json);
    assert_null(w->match.json_equals);
    assert_int_equal(w->ncaptures, 2);
    assert_string_equal(w->captures[0].var, "room");
    assert_int_equal(w->captures[0].kind, CAP_JSON);
    assert_int_equal(w->captures[0].slot, room);
    assert_non_null(w->captures[0].path);
    assert_string_equal(w->captures[1].var, "token");
    assert_int_equal(w->captures[1].kind, CAP_REGEX);
    assert_int_equal(w->captures[1].slot, token);
    assert_non_null(w->captures[1].re);
    w = &pf->flow[7].u.ws;
    assert_string_equal(static_text(w->match.contains), "ok");
    assert_string_equal(w->match.regex_text, "^[{]");
    assert_non_null(w->match.regex);
    assert_null(w->match.equals);
    assert_int_equal(w->timeout_ms, 4000);
    w = &pf->flow[8].u.ws;
    assert_string_equal(w->match.json_text, "$.type");
    assert_non_null(w->match.json);
    assert_null(w->match.json_equals);
    assert_null(w->match.equals);
    w = &pf->flow[9].u.ws;
    assert_string_equal(static_text(w->match.json_equals), "7");
    assert_null(w->match.equals);
    w = &pf->flow[10].u.ws;
    assert_int_equal(w->kind, SC_WS_EXPECT);
    assert_true(!w->match.equals && !w->match.contains && !w->match.json && !w->match.regex);

    /* receive, listen, close */
    w = &pf->flow[11].u.ws;
    assert_int_equal(w->kind, SC_WS_RECEIVE);
    assert_int_equal(w->count, 3);
    assert_int_equal(w->timeout_ms, 9000);
    w = &pf->flow[12].u.ws;
    assert_int_equal(w->kind, SC_WS_LISTEN);
    assert_true(w->listen);
    assert_null(w->match.json);
    w = &pf->flow[13].u.ws;
    assert_int_equal(w->kind, SC_WS_LISTEN);
    assert_false(w->listen);
    w = &pf->flow[14].u.ws;
    assert_int_equal(w->kind, SC_WS_LISTEN);
    assert_true(w->listen);
    assert_string_equal(w->match.json_text, "$.type");
    assert_string_equal(static_text(w->match.json_equals), "tick");
    assert_int_equal(w->ncaptures, 1);
    assert_string_equal(w->captures[0].var, "last");
    assert_int_equal(w->captures[0].slot, last);
    w = &pf->flow[15].u.ws;
    assert_int_equal(w->kind, SC_WS_CLOSE);
    assert_int_equal(w->code, 4001);
    assert_int_equal(w->timeout_ms, 1000);
    assert_int_equal(pf->flow[16].u.ws.code, 1000);
    assert_int_equal(pf->flow[17].u.ws.code, 1000);

    /* default names, reconnect defaults, a connect inside a loop opening the flow */
    pf = &sc->profiles[1];
    const sc_step *loop = &pf->flow[0];
    assert_int_equal(loop->kind, STEP_LOOP);
    w = &loop->u.loop.steps[0].u.ws;
    assert_int_equal(w->kind, SC_WS_CONNECT);
    assert_string_equal(w->name, "/ws/echo");
    assert_string_equal(static_text(w->url), "ws://127.0.0.1:9001/ws/echo?x=1");
    assert_int_equal(w->reconnect_max, 0);
    assert_int_equal(w->reconnect_backoff_ms, 500);
    assert_int_equal(w->timeout_ms, 4000);
    assert_int_equal(w->nheaders, 2);                   /* the defaults alone */
    const sc_step *g = &loop->u.loop.steps[1];
    assert_int_equal(g->u.group.steps[0].kind, STEP_WS);
    assert_int_equal(g->u.group.steps[0].u.ws.kind, SC_WS_SEND);
    assert_int_equal(pf->flow[1].u.ws.kind, SC_WS_SEND);
    assert_string_equal(pf->flow[2].u.ws.name, "/");
    assert_int_equal(pf->flow[2].u.ws.reconnect_backoff_ms, 0);   /* no reconnect given */
    assert_string_equal(pf->flow[3].u.ws.name, "/ws/echo");

    assert_int_equal(sc->nthresholds, 3);
    assert_int_equal(sc->thresholds[0].ws, TH_WS_MESSAGE);
    assert_int_equal(sc->thresholds[1].metric, TH_OUT_OF_ORDER);
    assert_int_equal(sc->thresholds[1].ws, TH_WS_NONE);
    assert_int_equal(sc->thresholds[2].ws, TH_WS_CONNECT);
    assert_int_equal(sc->thresholds[2].metric, TH_ERROR_RATE);
    assert_string_equal(sc->thresholds[2].name, "/ws/echo");
    for (int i = 0; i < 8; i++)
        tmpl_val_fini(&vals[i]);
    scenario_free(sc);
}

/* Every ws threshold form, and the ways they go wrong. */
static void test_ws_thresholds(void **state)
{
    (void)state;
    sc_threshold t;
    char err[256], hint[160];
    static const struct {
        const char *expr;
        sc_ws_metric ws;
        sc_metric m;
        sc_op op;
        double v;
    } ok[] = {
        { "feed: message p95 < 100ms", TH_WS_MESSAGE, TH_P95, OP_LT, 100 },
        { "feed: connect p99 < 50ms", TH_WS_CONNECT, TH_P99, OP_LT, 50 },
        { "feed: fanout p95 < 200ms", TH_WS_FANOUT, TH_P95, OP_LT, 200 },
        { "feed: reconnect max < 5s", TH_WS_RECONNECT, TH_MAX, OP_LT, 5000 },
        { "feed: ping p95 < 20ms", TH_WS_PING, TH_P95, OP_LT, 20 },
        { "feed: ping p(99.9) <= 1s", TH_WS_PING, TH_P999, OP_LE, 1000 },
        { "feed:message   avg<3ms", TH_WS_MESSAGE, TH_MEAN, OP_LT, 3 },
        { "feed: connect error_rate < 1%", TH_WS_CONNECT, TH_ERROR_RATE, OP_LT, 0.01 },
        { "feed: message requests >= 100", TH_WS_MESSAGE, TH_REQUESTS, OP_GE, 100 },
        { "feed: message failures < 1", TH_WS_MESSAGE, TH_FAILURES, OP_LT, 1 },
        { "feed: fanout rps > 50/s", TH_WS_FANOUT, TH_RPS, OP_GT, 50 },
        { "feed: out_of_order < 1", TH_WS_NONE, TH_OUT_OF_ORDER, OP_LT, 1 },
        { "feed: out_of_order <= 0", TH_WS_NONE, TH_OUT_OF_ORDER, OP_LE, 0 },
        { "feed: p95 < 1s", TH_WS_NONE, TH_P95, OP_LT, 1000 },     /* http, as before */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (scenario_parse_threshold(ok[i].expr, &t, err, sizeof err, hint, sizeof hint) != 0)
            fail_msg("\"%s\": %s", ok[i].expr, err);
        assert_string_equal(t.expr, ok[i].expr);
        assert_string_equal(t.name, "feed");
        assert_int_equal(t.ws, ok[i].ws);
        assert_int_equal(t.metric, ok[i].m);
        assert_int_equal(t.op, ok[i].op);
        assert_true(t.value > ok[i].v * 0.999999 - 1e-12 && t.value < ok[i].v * 1.000001 + 1e-12);
        free(t.expr);
        free(t.name);
    }
    static const struct { const char *expr, *msg, *hint; } bad[] = {
        { "message p95 < 100ms", "'message' is a ws figure: it needs the ws connection's name",
          "feed: message p95" },
        { "connect p99 < 50ms", "needs the ws connection's name", NULL },
        { "out_of_order < 1", "out_of_order needs the ws connection's name", "feed: out_of_order < 1" },
        { "feed: message out_of_order < 1", "out_of_order takes no ws figure word ('message')",
          "feed: out_of_order < 1" },
        { "feed: mesage p95 < 100ms", "unknown ws figure 'mesage'", "did you mean 'message'?" },
        { "feed: fan_out p95 < 1s", "unknown ws figure 'fan_out'", "'fanout'" },
        { "feed: reconect max < 5s", "unknown ws figure 'reconect'", "'reconnect'" },
        { "feed: latency p95 < 1s", "unknown ws figure 'latency'", "feed: message p95" },
        { "feed: message < 1s", "expected a metric", "feed: message p95" },
        { "feed: message p59 < 1s", "unknown metric 'p59'", "p95" },
        { "feed: out_of_order < 1ms", "out_of_order is a plain number; unexpected 'ms'", NULL },
        { "feed: out_of_order < 5%", "unexpected '%'", NULL },
        { "feed: ping p95 < 2 lightyears", "unknown unit 'lightyears'", NULL },
        { "feed: out_of_ordr < 1", "unknown metric 'out_of_ordr'", "out_of_order" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hint[0] = '\0';
        assert_int_equal(scenario_parse_threshold(bad[i].expr, &t, err, sizeof err, hint, sizeof hint), -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].expr, err, bad[i].msg);
        if (bad[i].hint && !strstr(hint, bad[i].hint))
            fail_msg("\"%s\": hint \"%s\" lacks \"%s\"", bad[i].expr, hint, bad[i].hint);
    }
    assert_string_equal(scenario_metric_name(TH_OUT_OF_ORDER), "out_of_order");
    assert_string_equal(scenario_metric_name(TH_FAILURES), "failures");
}

/* ---- bad inputs: place, message, hint ---------------------------------------------- */

#define BASE_HEAD "name: t\ntarget: http://127.0.0.1:8000\nload:\n  stages:\n"
#define BASE_STAGE "    - { duration: 1m, users: 10 }\n"
#define BASE_USERS "users:\n  - name: u\n    flow:\n"
#define BASE_STEP "      - http: { url: /x }\n"
#define BASE_WS "      - ws: { connect: /ws, name: feed }\n"
/* BASE_HEAD with a defaults mapping on line 3 */
#define DEF_HEAD(map) "name: t\ntarget: http://127.0.0.1:8000\ndefaults: " map "\nload:\n  stages:\n"
#define OPEN_HEAD "name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 10\n" \
                  "  stages:\n"
#define OPEN_STAGE "    - { duration: 1m, rate: 50 }\n"
#define RE64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RE1K RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64 RE64
#define LONG_RE RE1K RE1K RE1K RE1K "b"      /* 4097 characters */

typedef struct bad_case {
    const char *what;
    const char *yaml;
    int line, col, col_hi;      /* col_hi > 0: any column in [col, col_hi] */
    const char *msg, *hint;     /* fragments; hint NULL: not checked */
    const char *set_key, *set_value;
} bad_case;

static const bad_case bad_cases[] = {
    { "unknown top key with a typo",
      "name: t\ntaget: http://127.0.0.1:8000\n", 2, 1, 0, "unknown key 'taget'", "'target'" },
    { "unknown step kind",
      BASE_HEAD BASE_STAGE BASE_USERS "      - htp: { url: /x }\n", 9, 9, 0,
      "unknown step kind 'htp'", "'http'" },
    { "unknown key inside an http step",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, heders: { A: b } }\n", 9, 26, 0,
      "unknown key 'heders' in the http step", "'headers'" },
    { "bad duration",
      BASE_HEAD "    - { duration: 1x, users: 10 }\n" BASE_USERS BASE_STEP, 5, 19, 0,
      "expected a duration such as 500ms", "units" },
    { "negative users",
      BASE_HEAD "    - { duration: 1m, users: -5 }\n" BASE_USERS BASE_STEP, 5, 30, 0,
      "users cannot be negative, found -5", NULL },
    { "zero duration",
      BASE_HEAD "    - { duration: 0s, users: 5 }\n" BASE_USERS BASE_STEP, 5, 19, 0,
      "must be longer than 0", NULL },
    { "missing url",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { method: GET }\n", 9, 15, 0,
      "the http step is missing 'url'", "url: /api/orders" },
    { "bad method",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, method: POTS }\n", 9, 34, 0,
      "unknown HTTP method 'POTS'", "POST" },
    { "unknown capture kind",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, capture: { id: { jsn: $.id } } }\n",
      9, 43, 0, "unknown capture kind 'jsn'", "'json'" },
    { "unknown template variable",
      BASE_HEAD BASE_STAGE BASE_USERS
      "      - http: { url: \"/o/{{ tokn }}\", capture: { token: { json: $.t } } }\n",
      9, 29, 0, "tokn", "token" },
    { "unclosed {{ in a header",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, headers: { A: \"x {{ token\" } }\n",
      9, 43, 0, "header 'A'", "}}" },
    { "unknown variable deep in a json body",
      BASE_HEAD BASE_STAGE BASE_USERS
      "      - http: { url: /x, json: { a: [ 1, { b: \"{{ user_idd }}\" } ] } }\n",
      9, 51, 0, "user_idd", "user_id" },
    { "threshold metric typo",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "thresholds:\n  - \"p59 < 500ms\"\n", 11, 5, 0,
      "unknown metric 'p59'", "p50, p95" },
    { "threshold operator",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "thresholds: [ \"p95 == 500ms\" ]\n", 10, 15, 0,
      "unsupported comparison '=='", "p95 < 500ms" },
    { "threshold names no step",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, name: login }\n"
      "thresholds: [ \"logn: p99 < 1s\" ]\n", 10, 15, 0, "no http step or group", "'login'" },
    /* the open model (issue 11) */
    { "open model without max_users",
      "name: t\nload:\n  model: open\n  stages: [ { duration: 1m, rate: 1 } ]\n", 3, 3, 0,
      "load is missing 'max_users'", "max_users: 100" },
    { "open: users in a stage",
      OPEN_HEAD "    - { duration: 1m, users: 10 }\n" BASE_USERS BASE_STEP, 7, 23, 0,
      "'users' in a stage of the open model", "rate: 50" },
    { "closed: rate in a stage",
      BASE_HEAD "    - { duration: 1m, rate: 10 }\n" BASE_USERS BASE_STEP, 5, 23, 0,
      "'rate' in a stage of the closed model", "model: open" },
    { "closed: max_users",
      "name: t\ntarget: http://127.0.0.1:8000\nload:\n  max_users: 5\n  stages:\n" BASE_STAGE
      BASE_USERS BASE_STEP, 4, 3, 0, "load.max_users belongs to the open model", "add model: open" },
    { "closed: arrivals",
      "name: t\ntarget: http://127.0.0.1:8000\nload:\n  arrivals: poisson\n  stages:\n" BASE_STAGE
      BASE_USERS BASE_STEP, 4, 3, 0, "load.arrivals belongs to the open model", "remove arrivals" },
    { "open: arrivals typo",
      "name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 10\n"
      "  arrivals: poison\n  stages:\n" OPEN_STAGE BASE_USERS BASE_STEP, 6, 13, 0,
      "load.arrivals must be uniform or poisson", "'poisson'" },
    { "open: max_users 0",
      "name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 0\n"
      "  stages:\n" OPEN_STAGE BASE_USERS BASE_STEP, 5, 14, 0, "load.max_users must be at least 1", NULL },
    { "open: bad rate unit",
      OPEN_HEAD "    - { duration: 1m, rate: 5/d }\n" BASE_USERS BASE_STEP, 7, 29, 0,
      "expected a rate such as 50, 50/s, 3000/m or 100/h", "per second" },
    { "open: negative rate",
      OPEN_HEAD "    - { duration: 1m, rate: -5 }\n" BASE_USERS BASE_STEP, 7, 29, 0,
      "a stage's rate cannot be negative", NULL },
    { "open: rate above the cap",
      OPEN_HEAD "    - { duration: 1m, rate: 20000000 }\n" BASE_USERS BASE_STEP, 7, 29, 0,
      "must be at most 10000000 per second", NULL },
    { "open: every rate 0",
      OPEN_HEAD "    - { duration: 1m, rate: 0 }\n" BASE_USERS BASE_STEP, 7, 5, 0,
      "every stage has rate: 0", NULL },
    { "open: only zero-length stages",
      OPEN_HEAD "    - { duration: 0s, rate: 50 }\n" BASE_USERS BASE_STEP, 7, 5, 0,
      "every stage lasts 0s", "zero-length" },
    { "open: endless loop in the flow",
      OPEN_HEAD OPEN_STAGE BASE_USERS "      - loop: { steps: [ { think: 1s } ] }\n", 11, 15, 0,
      "runs the flow once per arrival, but this loop never ends",
      "give the loop a count, or use model: closed" },
    { "open: loop count forever",
      OPEN_HEAD OPEN_STAGE BASE_USERS "      - loop: { count: forever, steps: [ { think: 1s } ] }\n",
      11, 24, 0, "this loop never ends", "model: closed" },
    { "open: endless loop inside a group",
      OPEN_HEAD OPEN_STAGE BASE_USERS
      "      - group: { name: g, steps: [ { loop: { steps: [ { think: 1s } ] } } ] }\n",
      11, 40, 50, "this loop never ends", "give the loop a count" },
    { "setup: endless loop (closed model too)",
      BASE_HEAD BASE_STAGE "users:\n  - name: u\n    setup:\n      - loop: { steps: [ { think: 1s } ] }\n"
      "    flow:\n" BASE_STEP, 9, 15, 0, "setup runs once before a user's first iteration",
      "move it into flow" },
    { "closed: lag threshold",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "thresholds: [ \"lag p99 < 10ms\" ]\n", 10, 15, 0,
      "about the open model's schedule", "model: open" },
    { "closed: dropped threshold",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "thresholds: [ \"dropped < 1\" ]\n", 10, 15, 0,
      "but the load is closed", "rps" },
    { "closed: rate threshold",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "thresholds: [ \"rate >= 48\" ]\n", 10, 15, 0,
      "but the load is closed", NULL },
    { "iteration threshold names no profile",
      OPEN_HEAD OPEN_STAGE "users:\n  - name: planner\n    flow:\n" BASE_STEP
      "thresholds: [ \"planer: iteration p99 < 3s\" ]\n", 12, 15, 0,
      "the iterations of the profile 'planer', but no user profile", "'planner'" },
    { "open: lag with a name",
      OPEN_HEAD OPEN_STAGE BASE_USERS BASE_STEP "thresholds: [ \"x: lag p99 < 10ms\" ]\n", 12, 15, 0,
      "takes no name", "lag p99 < 10ms" },
    { "open: users in a stage by --set",
      OPEN_HEAD OPEN_STAGE BASE_USERS BASE_STEP, 0, 0, 0, "'users' in a stage of the open model",
      NULL, "load.stages.0.users", "5" },
    { "missing name",
      "target: http://127.0.0.1:8000\nload: { stages: [ { duration: 1m, users: 1 } ] }\n"
      BASE_USERS BASE_STEP, 1, 1, 0, "missing 'name'", "name:" },
    { "empty users",
      BASE_HEAD BASE_STAGE "users: []\n", 6, 8, 0, "'users' (the user profiles) is empty", NULL },
    { "weight 0",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP "    weight: 0\n", 10, 13, 0,
      "every user profile has weight 0", "weight above 0" },   /* issue 12: 0 is allowed */
    { "think range reversed",
      BASE_HEAD BASE_STAGE BASE_USERS "      - think: 3s..1s\n", 9, 16, 0,
      "think range 3s..1s is reversed", NULL },
    { "loop count not a number",
      BASE_HEAD BASE_STAGE BASE_USERS "      - loop: { count: many, steps: [ { think: 1s } ] }\n",
      9, 24, 0, "loop count must be a whole number", "forever" },
    { "unique feeder with a missing file",
      BASE_HEAD BASE_STAGE "data:\n  cards: { csv: nope.csv, mode: unique }\n" BASE_USERS BASE_STEP,
      7, 17, 0, "data feeder 'cards': cannot read nope.csv: no such file", "relative" },
    { "CSV with no rows",
      BASE_HEAD BASE_STAGE "data:\n  cards: { csv: empty.csv }\n" BASE_USERS BASE_STEP,
      7, 12, 0, "empty.csv line", "columns" },
    { "CSV with a short row",
      BASE_HEAD BASE_STAGE "data:\n  d:\n    mode: random\n    csv: ragged.csv\n" BASE_USERS BASE_STEP,
      9, 5, 0, "ragged.csv line 3", NULL },
    { "feeder mode typo",
      BASE_HEAD BASE_STAGE "data:\n  cards: { csv: many.csv, mode: uniqe }\n" BASE_USERS BASE_STEP,
      7, 33, 0, "must be sequential, random or unique, found 'uniqe'", "'unique'" },
    { "malformed YAML",
      "name: t\nload: { stages: [ { duration: 1m, users: 1 } ]\nusers: []\n", 3, 1, 0,
      "invalid YAML: did not find expected ',' or '}'", NULL },
    { "tab indentation",
      "name: t\nload:\n\tstages: []\n", 3, 1, 0, "invalid YAML", "tab" },
    { "two kinds in one step (indentation)",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n        name: n\n", 10, 9, 0,
      "a step has exactly one kind", "indent it under 'http:'" },
    { "duplicate key",
      "name: t\nname: u\n", 2, 1, 0, "key 'name' appears twice", NULL },
    { "path without a target",
      "name: t\nload: { stages: [ { duration: 1m, users: 1 } ] }\n" BASE_USERS BASE_STEP, 6, 22, 0,
      "has no target", "target:" },
    { "target without a scheme",
      "name: t\ntarget: 127.0.0.1:8000\n", 2, 9, 0, "starting with http:// or https://", "http://" },
    { "status out of range",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, expect: { status: 999 } }\n", 9, 44, 0,
      "must be at most 599, found 999", NULL },
    { "equals without json",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, expect: { equals: ok } }\n", 9, 44, 0,
      "has no 'json'", "json: $.path" },
    { "two bodies",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, json: {}, body: b }\n", 9, 42, 0,
      "one body", NULL },
    { "every stage at zero users",
      BASE_HEAD "    - { duration: 1m, users: 0 }\n" BASE_USERS BASE_STEP, 5, 5, 0,
      "users: 0", NULL },
    { "empty file", "", 0, 0, 0, "empty", "name" },
    { "--set to an unknown path",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, 0, 0, 0,
      "--set load.stagez.0.users=5: no key 'stagez' under 'load'", "'stages'",
      "load.stagez.0.users", "5" },
    { "--set index out of range",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, 0, 0, 0,
      "is a list of 1; '3' is not an index", "from 0", "load.stages.3.users", "5" },
    { "--set value checked like a written one",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, 0, 0, 0,
      "--set load.stages.0.users=lots: expected a whole number for users, found 'lots'", NULL,
      "load.stages.0.users", "lots" },
    { "--set of a whole mapping",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, 0, 0, 0,
      "'load' is a mapping; --set replaces single values only", "load.<key>", "load", "x" },
    /* ---- ws steps ---- */
    { "ws: unknown key with a typo",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, subprotocl: x }\n",
      9, 29, 0, "unknown key 'subprotocl' in the ws step", "'subprotocol'" },
    { "ws: unknown kind key with a typo",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { conect: /ws }\n",
      10, 15, 0, "unknown key 'conect' in the ws step", "'connect'" },
    { "ws: no kind key",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { timeout: 1s }\n",
      10, 13, 0, "needs one of connect, send, expect, receive, close or listen, found none", "ws: { send: hello }" },
    { "ws: two kind keys",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: a, close: true }\n",
      10, 24, 0, "has both 'send' and 'close'", "split it" },
    { "ws: timeout on send",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: hi, timeout: 1s }\n",
      10, 25, 0, "'timeout' does not apply to the ws send step (its keys: send)", "connect, expect, receive and close" },
    { "ws: name on expect",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: {}, name: x }\n",
      10, 27, 0, "'name' does not apply to the ws expect step (its keys: expect, timeout, capture)", "belongs to the ws connect step" },
    { "ws: bad timeout",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { contains: a }, timeout: soon }\n",
      10, 49, 0, "expected a duration such as 500ms", "units" },
    { "ws: zero timeout",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { receive: 1, timeout: 0s }\n",
      10, 36, 0, "must be longer than 0", NULL },
    { "ws: bad ping",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, ping: often }\n",
      9, 35, 0, "expected a duration such as 500ms, 10s, 5m or 1h30m for 'ping'", "units" },
    { "ws: stamp path without $",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, stamp: ts_us }\n",
      9, 36, 0, "invalid JSON path for 'stamp'", "$.data" },
    { "ws: sequence path error inside",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, sequence: \"$.a[\" }\n",
      9, 44, 0, "invalid JSON path for 'sequence'", "$.data" },
    { "ws: expect json path",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { json: \"$..type\" } }\n",
      10, 33, 0, "invalid JSON path for expect.json: recursive descent", NULL },
    { "ws: header capture",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: {}, capture: { t: { header: X-T } } }\n",
      10, 43, 0, "capture 't': ws messages have no headers", "json: $.path" },
    { "ws: capture kind typo",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: {}, capture: { t: { rgex: a } } }\n",
      10, 43, 0, "unknown capture kind 'rgex' for 't' (known: json, regex)", "'regex'" },
    /* Issue 9, item 2: glibc's regcomp took ~2^N memory for N stacked '+'; now refused
     * at once at the third '+', with a hint. */
    { "capture: stacked quantifiers",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, capture: { id: { regex: \"id=++++++++++++++++++++++++++++\" } } }\n",
      9, 56, 0, "quantifier does not follow a repeatable item", "no quantifier on a quantifier" },
    { "ws: stacked quantifiers",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { regex: \"id=++++++++++++++++++++\" } }\n",
      10, 38, 0, "invalid regex", "PCRE2" },
    { "capture: regex too long",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, capture: { id: { regex: \"" LONG_RE "\" } } }\n",
      9, 50, 4200, "at most 4096", "4096 characters" },
    { "ws: bad regex",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { regex: \"(\" } }\n",
      10, 32, 0, "invalid regex", "POSIX" },
    { "ws: close code reserved",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { close: 1006 }\n",
      10, 22, 0, "close code 1006 cannot be sent", "3000-4999" },
    { "ws: close code word",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { close: later }\n",
      10, 22, 0, "expected a close code (1000, or 3000 to 4999) or true", "1000" },
    { "ws: close false",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { close: false }\n",
      10, 22, 0, "close: false does not say how", "close: true" },
    { "ws: receive 0",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { receive: 0 }\n",
      10, 24, 0, "must be at least 1, found 0", NULL },
    { "ws: receive text",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { receive: all }\n",
      10, 24, 0, "expected a whole number for receive", NULL },
    { "ws: send before connect",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n" "      - ws: { send: hi }\n",
      10, 9, 0, "ws send before any ws connect in this flow", "connect: /ws/path" },
    { "ws: expect in a loop before the connect after it",
      BASE_HEAD BASE_STAGE BASE_USERS "      - loop: { count: 2, steps: [ { ws: { expect: {} } }, { ws: { connect: /ws } } ] }\n",
      9, 38, 0, "ws expect before any ws connect", NULL },
    { "ws: connect in another profile does not count",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "  - name: v\n" "    flow:\n" "      - ws: { close: true }\n",
      12, 9, 0, "ws close before any ws connect", NULL },
    { "ws: http url for connect",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: \"http://127.0.0.1:8000/ws\" }\n",
      9, 24, 0, "connect takes a ws:// or wss:// URL", "ws://" },
    { "ws: connect url with no host",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: \"ws:///feed\" }\n",
      9, 24, 0, "has no host", NULL },
    { "ws: connect neither path nor URL",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: feed }\n",
      9, 24, 0, "neither a path starting with /", "/ws/feed" },
    { "ws: templated url needs a name",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: \"/ws/{{ user_id }}\" }\n",
      9, 24, 0, "template holes", "name: feed" },
    { "ws: unknown name in a template",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: \"id {{ usr_id }}\" }\n",
      10, 28, 0, "usr_id", "user_id" },
    { "ws: binary not base64",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: { binary: \"aGVs*G8=\" } }\n",
      10, 36, 0, "not valid base64: unexpected '*' at character 5", "A-Z a-z" },
    { "ws: binary not padded",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: { binary: aGVsbG8 } }\n",
      10, 31, 0, "7 characters do not make whole groups of 4", "padded" },
    { "ws: send mapping with an unknown key",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: { jsn: { a: 1 } } }\n",
      10, 23, 0, "unknown key 'jsn' in ws send", "'json'" },
    { "ws: send with json and binary",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: { json: 1, binary: AA== } }\n",
      10, 32, 0, "takes one of json or binary, found both", NULL },
    { "ws: send nothing",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: }\n",
      10, 21, 0, "expected the message to send", "binary:" },
    { "ws: listen word",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { listen: maybe }\n",
      10, 23, 0, "expected true or false for listen", NULL },
    { "ws: capture beside listen",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { listen: true, capture: { a: { json: $.a } } }\n",
      10, 29, 0, "'capture' does not apply to the ws listen step", "inside" },
    { "ws: capture inside expect",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { json: $.a, capture: { a: { json: $.a } } } }\n",
      10, 36, 0, "capture does not go inside expect", "next to expect" },
    { "ws: expect as text",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: pong }\n",
      10, 23, 0, "expected a mapping of conditions for ws expect", "equals: TEXT" },
    { "ws: expect key typo",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { contans: x } }\n",
      10, 25, 0, "unknown key 'contans' in ws expect", "'contains'" },
    { "ws: equals with nothing",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { expect: { equals: } }\n",
      10, 33, 0, "expected a single value for expect.equals", NULL },
    { "ws: reconnect as a number",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, reconnect: 3 }\n",
      9, 40, 0, "expected a mapping (key: value pairs) for 'reconnect'", "max: 5" },
    { "ws: reconnect key typo",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, reconnect: { maxx: 3 } }\n",
      9, 42, 0, "unknown key 'maxx' in reconnect", "'max'" },
    { "ws: reconnect backoff 0",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, reconnect: { max: 3, backoff: 0ms } }\n",
      9, 59, 0, "reconnect.backoff must be longer than 0", NULL },
    { "ws: reconnect max negative",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, reconnect: { max: -1 } }\n",
      9, 47, 0, "reconnect.max cannot be negative", NULL },
    { "ws: handshake header",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, headers: { Sec-WebSocket-Protocol: chat } }\n",
      9, 40, 0, "belongs to the WebSocket handshake", "subprotocol" },
    { "ws: bad subprotocol",
      BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws, subprotocol: \"a/b\" }\n",
      9, 42, 0, "subprotocol 'a/b' has a character", "chat.v2" },
    { "ws: not a mapping",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: /ws/feed\n",
      10, 13, 0, "expected a mapping (key: value pairs) for a ws step", "connect" },
    { "ws: two kinds by indentation",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - ws: { send: a }\n" "        timeout: 1s\n",
      11, 9, 0, "a step has exactly one kind, but this 'ws' step also has 'timeout'", "indent it under 'ws:'" },
    { "ws: connect without a target",
      "name: t\nload: { stages: [ { duration: 1m, users: 1 } ] }\n" BASE_USERS
      "      - ws: { connect: /ws }\n", 6, 24, 0, "is a path, but the scenario has no target", "target:" },
    { "ws: threshold names no ws connection",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "thresholds: [ \"feeed: message p95 < 1s\" ]\n", 10, 15, 0,
      "is about the ws connection named 'feeed', but no ws connect step has that name", "'feed'" },
    { "ws: http threshold names a ws connection",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "thresholds: [ \"feed: p95 < 1s\" ]\n", 10, 15, 0,
      "no http step or group has that name", "feed: message p95 < 100ms" },
    { "ws: ws threshold names http requests",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "      - http: { url: /x, name: login }\n"
      "thresholds: [ \"login: connect p99 < 1s\" ]\n", 11, 15, 0,
      "no ws connect step has that name", "names http requests" },
    { "ws: threshold figure typo",
      BASE_HEAD BASE_STAGE BASE_USERS BASE_WS "thresholds: [ \"feed: mesage p95 < 1s\" ]\n", 10, 15, 0,
      "unknown ws figure 'mesage'", "'message'" },
    /* ---- issue 12: flow control, tags, weight 0, on_failure --------------------------- */
    { "template in a name",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { name: \"item-{{ rand_int(1, 400) }}\", url: /x }\n",
      9, 29, 0, "a step's name is fixed text, but this one holds a template", "{id}" },
    { "pick: all weights 0",
      BASE_HEAD BASE_STAGE BASE_USERS "      - pick:\n          - { weight: 0, steps: [ { think: 1s } ] }\n",
      10, 11, 0, "every branch of this pick has weight 0", "weight above 0" },
    { "pick: not a list",
      BASE_HEAD BASE_STAGE BASE_USERS "      - pick: { weight: 1 }\n", 9, 15, 0,
      "expected a list for 'pick'", "weight: 5" },
    { "pick: unknown branch key",
      BASE_HEAD BASE_STAGE BASE_USERS "      - pick: [ { wieght: 2, steps: [ { think: 1s } ] } ]\n", 9, 19, 0,
      "unknown key 'wieght' in a pick branch", "'weight'" },
    { "pick: branch without steps",
      BASE_HEAD BASE_STAGE BASE_USERS "      - pick: [ { weight: 2 } ]\n", 9, 17, 0,
      "branch 1 of the pick is missing 'steps'", NULL },
    { "pick: negative weight",
      BASE_HEAD BASE_STAGE BASE_USERS "      - pick: [ { weight: -1, steps: [ { think: 1s } ] } ]\n", 9, 27, 0,
      "weight", NULL },
    { "if: without then or else",
      BASE_HEAD BASE_STAGE BASE_USERS "      - if: { status: 200 }\n", 9, 13, 0,
      "neither then nor else", "then:" },
    { "if: two conditions",
      BASE_HEAD BASE_STAGE BASE_USERS "      - if: { status: 200, chance: 0.5 }\n        then: [ { think: 1s } ]\n",
      9, 13, 0, "exactly one condition", "nest" },
    { "if: unknown variable",
      BASE_HEAD BASE_STAGE BASE_USERS
      "      - http: { url: /x, capture: { token: { json: $.t } } }\n"
      "      - if: { var: tokn, is: empty }\n        then: [ { think: 1s } ]\n",
      10, 20, 0, "no step captures a variable named 'tokn'", "'token'" },
    { "if: is takes empty or set",
      BASE_HEAD BASE_STAGE BASE_USERS
      "      - http: { url: /x, capture: { token: { json: $.t } } }\n"
      "      - if: { var: token, is: blank }\n        then: [ { think: 1s } ]\n",
      10, 31, 0, "if.is must be empty or set", NULL },
    { "if: chance above 1",
      BASE_HEAD BASE_STAGE BASE_USERS "      - if: { chance: 30% }\n        then: [ { think: 1s } ]\n",
      9, 23, 0, "if.chance must be a number from 0 to 1", "chance: 0.3" },
    { "if: status out of range",
      BASE_HEAD BASE_STAGE BASE_USERS "      - if: { status: 999 }\n        then: [ { think: 1s } ]\n",
      9, 23, 0, "if.status", NULL },
    { "if: is without var",
      BASE_HEAD BASE_STAGE BASE_USERS "      - if: { status: 200, is: set }\n        then: [ { think: 1s } ]\n",
      9, 32, 0, "is, equals and not_equals go with var", "var: token" },
    { "then without if",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n        then: [ { think: 1s } ]\n",
      10, 9, 0, "a 'http' step takes no then", "next to an if" },
    { "on_failure on a think step",
      BASE_HEAD BASE_STAGE BASE_USERS "      - think: 1s\n        on_failure: stop_user\n",
      10, 9, 0, "a 'think' step takes no on_failure", "http and ws" },
    { "on_failure typo",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n        on_failure: stop_usr\n",
      10, 21, 0, "on_failure must be continue, stop_iteration or stop_user", "'stop_user'" },
    { "defaults.on_failure typo",
      "name: t\ntarget: http://127.0.0.1:8000\ndefaults: { on_failure: stop }\nload:\n  stages:\n"
      BASE_STAGE BASE_USERS BASE_STEP, 3, 25, 0, "on_failure must be", NULL },
    { "tags alone",
      BASE_HEAD BASE_STAGE BASE_USERS "      - tags: [a]\n", 9, 9, 0,
      "goes next to a step's kind, but this step has none", NULL },
    { "tag not a word",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n        tags: [ \"a b\" ]\n", 10, 17, 0,
      "a tag is a word", NULL },
    { "tag twice",
      BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x }\n        tags: [ a, a ]\n", 10, 20, 0,
      "tag 'a' appears twice", NULL },
    { "profile tags not a list",
      BASE_HEAD BASE_STAGE "users:\n  - name: u\n    tags: { a: 1 }\n    flow:\n" BASE_STEP, 8, 11, 0,
      "expected a list of tags", NULL },
    { "all profiles weight 0",
      BASE_HEAD BASE_STAGE "users:\n  - name: u\n    weight: 0\n    flow:\n" BASE_STEP, 8, 13, 0,
      "every user profile has weight 0", "weight: 0 switches a profile off" },
    { "loop: pacing and rate",
      BASE_HEAD BASE_STAGE BASE_USERS "      - loop: { pacing: 2s, rate: 1/s, steps: [ { think: 1s } ] }\n",
      9, 35, 0, "a loop takes pacing or rate, not both", NULL },
    { "loop: pacing 0",
      BASE_HEAD BASE_STAGE BASE_USERS "      - loop: { pacing: 0s, steps: [ { think: 1s } ] }\n",
      9, 25, 0, "the loop's pacing (each pass lasts at least this long) must be longer than 0", NULL },
    { "loop: rate 0",
      BASE_HEAD BASE_STAGE BASE_USERS "      - loop: { rate: 0, steps: [ { think: 1s } ] }\n",
      9, 23, 0, "the loop's rate must be more than 0", NULL },
    { "open model: endless paced loop",
      OPEN_HEAD OPEN_STAGE BASE_USERS "      - loop: { pacing: 1s, steps: [ { think: 1s } ] }\n",
      11, 15, 0, "never ends", NULL },
    /* issue 15: defaults.client */
    { "client lean with http2",
      DEF_HEAD("{ http2: true, client: lean }") BASE_STAGE BASE_USERS BASE_STEP, 3, 34, 0,
      "defaults.client: lean speaks HTTP/1.1 only", "http2 needs libcurl: use client: auto or curl" },
    { "client lean with http2 written after it",
      DEF_HEAD("{ client: lean, http2: yes }") BASE_STAGE BASE_USERS BASE_STEP, 3, 21, 0,
      "defaults.http2 is true", "client: auto or curl" },
    { "client lean by --set with http2",
      DEF_HEAD("{ http2: true, client: auto }") BASE_STAGE BASE_USERS BASE_STEP, 0, 0, 0,
      "--set defaults.client=lean: defaults.client: lean speaks HTTP/1.1 only",
      "use client: auto or curl", "defaults.client", "lean" },
    { "client http2 by --set with lean",
      DEF_HEAD("{ client: lean }") BASE_STAGE BASE_USERS BASE_STEP, 3, 21, 0,
      "lean speaks HTTP/1.1 only", "use client: auto or curl", "defaults.http2", "true" },
    { "unknown client",
      DEF_HEAD("{ client: lena }") BASE_STAGE BASE_USERS BASE_STEP, 3, 21, 0,
      "defaults.client must be auto, lean or curl, found 'lena'", "'lean'" },
    { "client not a word",
      DEF_HEAD("{ client: [ lean ] }") BASE_STAGE BASE_USERS BASE_STEP, 3, 21, 0,
      "defaults.client must be auto, lean or curl", NULL },
};

static void test_bad_inputs(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *bc = &bad_cases[i];
        sc_error err;
        sc_set set = { bc->set_key, bc->set_value };
        scenario *sc = parse_set(bc->yaml, &set, bc->set_key ? 1 : 0, &err);
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        int hi = bc->col_hi ? bc->col_hi : bc->col;
        bool ok = !sc && err.line == bc->line && err.col >= bc->col && err.col <= hi &&
                  strstr(err.msg, bc->msg) && (!bc->hint || strstr(err.hint, bc->hint));
        if (!ok) {
            print_error("case \"%s\": expected %d:%d(-%d) \"%s\" hint \"%s\"; got %s%s", bc->what,
                        bc->line, bc->col, hi, bc->msg, bc->hint ? bc->hint : "", sc ? "a scenario" : "",
                        sc ? "" : buf);
            failures++;
        }
        scenario_free(sc);
    }
    assert_int_equal(failures, 0);
}

/* ---- --set ------------------------------------------------------------------------- */

static void test_set_overrides(void **state)
{
    (void)state;
    const sc_set sets[] = {
        { "load.stages.0.users", "50" },
        { "target", "http://10.0.0.1:9000/" },
        { "defaults.insecure", "true" },        /* new key in an existing mapping */
        { "load.graceful_stop", "2s" },         /* new key */
        { "users.0.flow.0.http.method", "DELETE" },
        { "name", "renamed" },
    };
    sc_error err;
    scenario *sc = parse_set(
        "name: t\ntarget: http://127.0.0.1:8000\ndefaults: { timeout: 1s }\n"
        "load:\n  stages:\n    - { duration: 1m, users: 10 }\n"
        "users:\n  - name: u\n    flow:\n      - http: { url: /x, method: GET }\n",
        sets, 6, &err);
    if (!sc)
        fail_msg("%s", err.msg);
    assert_int_equal(sc->stages[0].users, 50);
    assert_string_equal(sc->target, "http://10.0.0.1:9000");
    assert_true(sc->insecure);
    assert_int_equal(sc->graceful_stop_ms, 2000);
    assert_string_equal(sc->profiles[0].flow[0].u.http.method, "DELETE");
    assert_string_equal(sc->name, "renamed");
    scenario_free(sc);

    /* a new top-level key that is not a known one is still an error, naming the override */
    const sc_set typo = { "taget", "http://x" };
    assert_null(parse_set("name: t\n", &typo, 1, &err));
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.msg, "--set taget=http://x: unknown key 'taget'"));
    assert_non_null(strstr(err.hint, "'target'"));
}

/* ---- load shape -------------------------------------------------------------------- */

static scenario *stages_scenario(const char *stages)
{
    char text[1024];
    snprintf(text, sizeof text, "name: s\nload:\n  stages:\n%susers:\n  - name: u\n"
             "    flow: [ { think: 1s } ]\n", stages);
    return parse_ok(text);
}

static void test_users_at(void **state)
{
    (void)state;
    scenario *sc = stages_scenario("    - { duration: 5m, users: 200 }\n"
                                   "    - { duration: 30m, users: 200 }\n"
                                   "    - { duration: 100s, users: 100 }\n");
    assert_int_equal(scenario_users_at(sc, 0), 0);
    assert_int_equal(scenario_users_at(sc, 1499), 0);
    assert_int_equal(scenario_users_at(sc, 1500), 1);      /* 200 over 300 s: one per 1.5 s */
    assert_int_equal(scenario_users_at(sc, 150000), 100);
    assert_int_equal(scenario_users_at(sc, 299999), 199);
    assert_int_equal(scenario_users_at(sc, 300000), 200);
    assert_int_equal(scenario_users_at(sc, 35 * 60000 - 1), 200);
    assert_int_equal(scenario_users_at(sc, 35 * 60000 + 50000), 150); /* ramp down 200 -> 100 */
    assert_int_equal(scenario_users_at(sc, 35 * 60000 + 99999), 100);
    assert_int_equal(scenario_duration_ms(sc), 35 * 60000 + 100000);
    assert_int_equal(scenario_users_at(sc, 35 * 60000 + 100000), 0); /* after the end */
    assert_int_equal(scenario_users_at(sc, UINT64_MAX), 0);
    assert_int_equal(scenario_peak_users(sc), 200);
    scenario_free(sc);
}

static void test_override_load(void **state)
{
    (void)state;
    scenario *sc = stages_scenario("    - { duration: 1m, users: 40 }\n"
                                   "    - { duration: 1m, users: 40 }\n");
    /* -u 10 -r 2 -t 60s: 5 s ramp, then held to 60 s */
    scenario_override_load(sc, 10, 2.0, 60000);
    assert_int_equal(scenario_duration_ms(sc), 60000);
    assert_int_equal(scenario_peak_users(sc), 10);
    assert_int_equal(scenario_users_at(sc, 0), 0);
    assert_int_equal(scenario_users_at(sc, 2500), 5);
    assert_int_equal(scenario_users_at(sc, 5000), 10);
    assert_int_equal(scenario_users_at(sc, 59999), 10);
    assert_int_equal(scenario_users_at(sc, 60000), 0);

    /* rate 0: everyone at once; users 0 keeps the peak; duration 0 keeps the length */
    scenario_override_load(sc, 0, 0, 0);
    assert_int_equal(scenario_users_at(sc, 0), 10);
    assert_int_equal(scenario_duration_ms(sc), 60000);

    /* a ramp longer than the run is cut where the run ends */
    scenario_override_load(sc, 100, 1.0, 10000);
    assert_int_equal(scenario_duration_ms(sc), 10000);
    assert_int_equal(scenario_users_at(sc, 5000), 5);
    assert_int_equal(scenario_users_at(sc, 9999), 9);
    assert_int_equal(scenario_peak_users(sc), 10);

    /* Issue 12: -t alone keeps the scenario's ramp, cut at the new duration or held */
    scenario *ramp = stages_scenario("    - { duration: 10s, users: 40 }\n"
                                     "    - { duration: 50s, users: 40 }\n");
    scenario_override_load(ramp, 0, 0, 5000);
    assert_int_equal(scenario_duration_ms(ramp), 5000);
    assert_int_equal(scenario_users_at(ramp, 0), 0);                  /* not all at once */
    assert_int_equal(scenario_users_at(ramp, 2500), 10);
    assert_int_equal(scenario_peak_users(ramp), 20);
    scenario_free(ramp);
    ramp = stages_scenario("    - { duration: 10s, users: 40 }\n");
    scenario_override_load(ramp, 0, 0, 30000);
    assert_int_equal(scenario_duration_ms(ramp), 30000);
    assert_int_equal(scenario_users_at(ramp, 5000), 20);
    assert_int_equal(scenario_users_at(ramp, 29999), 40);
    scenario_free(ramp);

    /* Issue 9, item 6: -u above SC_MAX_USERS is clamped to it. */
    scenario_override_load(sc, 4294967295u, 0, 10000);
    assert_int_equal(scenario_peak_users(sc), SC_MAX_USERS);
    scenario_override_load(sc, SC_MAX_USERS + 1, 0, 10000);
    assert_int_equal(scenario_peak_users(sc), SC_MAX_USERS);
    scenario_free(sc);

    /* --set is checked like a written value: the same cap. */
    sc_error err;
    sc_set set = { "load.stages.0.users", "1000001" };
    assert_null(parse_set(BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, &set, 1, &err));
    assert_non_null(strstr(err.msg, "1000000"));
    set.value = "1000000";
    sc = parse_set(BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP, &set, 1, &err);
    assert_non_null(sc);
    assert_int_equal(scenario_peak_users(sc), SC_MAX_USERS);
    scenario_free(sc);
}

static void test_profile_of(void **state)
{
    (void)state;
    scenario *sc = parse_ok(
        "name: w\nload: { stages: [ { duration: 1m, users: 1 } ] }\n"
        "users:\n"
        "  - { name: a, weight: 50, flow: [ { think: 1s } ] }\n"
        "  - { name: b, weight: 5, flow: [ { think: 1s } ] }\n"
        "  - { name: c, flow: [ { think: 1s } ] }\n");
    assert_int_equal(sc->total_weight, 56);
    int count[3] = { 0 };
    for (uint64_t k = 0; k < 56; k++) {
        int p = scenario_profile_of(sc, k);
        assert_true(p >= 0 && p < 3);
        count[p]++;
        /* every prefix within one user of its share */
        double share_b = (double)(k + 1) * 5 / 56;
        int got_b = count[1];
        assert_true(got_b >= (int)share_b - 1 && got_b <= (int)share_b + 1);
    }
    assert_int_equal(count[0], 50);
    assert_int_equal(count[1], 5);
    assert_int_equal(count[2], 1);
    assert_int_equal(scenario_profile_of(sc, 56), scenario_profile_of(sc, 0));
    assert_int_equal(scenario_profile_of(sc, 56 * 1000 + 7), scenario_profile_of(sc, 7));
    scenario_free(sc);

    sc = parse_ok("name: e\nload: { stages: [ { duration: 1m, users: 1 } ] }\nusers:\n"
                  "  - { name: a, flow: [ { think: 1s } ] }\n"
                  "  - { name: b, flow: [ { think: 1s } ] }\n"
                  "  - { name: c, flow: [ { think: 1s } ] }\n");
    for (uint64_t k = 0; k < 9; k++)
        assert_int_equal(scenario_profile_of(sc, k), (int)(k % 3));
    scenario_free(sc);

    sc_error err;
    assert_null(parse("name: e\nload: { stages: [ { duration: 1m, users: 1 } ] }\nusers:\n"
                      "  - { name: a, weight: 60000, flow: [ { think: 1s } ] }\n"
                      "  - { name: b, weight: 60000, flow: [ { think: 1s } ] }\n", &err));
    assert_int_equal(err.line, 5);
    assert_non_null(strstr(err.msg, "more than 100000"));
}

/* ---- thresholds -------------------------------------------------------------------- */

static void test_thresholds(void **state)
{
    (void)state;
    sc_threshold t;
    char err[256], hint[128];
    static const struct { const char *expr; sc_metric m; sc_op op; double v; const char *name; } ok[] = {
        { "p95 < 500ms", TH_P95, OP_LT, 500, NULL },
        { "p50<=2s", TH_P50, OP_LE, 2000, NULL },
        { "p(99.9) < 1.5s", TH_P999, OP_LT, 1500, NULL },
        { "p90 > 250ms", TH_P90, OP_GT, 250, NULL },   /* issue 12: the unit is required */
        { "avg < 1m", TH_MEAN, OP_LT, 60000, NULL },
        { "mean < 800us", TH_MEAN, OP_LT, 0.8, NULL },
        { "min >= 1ms", TH_MIN, OP_GE, 1, NULL },
        { "error_rate < 0.1%", TH_ERROR_RATE, OP_LT, 0.001, NULL },
        { "error_rate <= 5%", TH_ERROR_RATE, OP_LE, 0.05, NULL },
        { "rps >= 100/s", TH_RPS, OP_GE, 100, NULL },
        { "requests > 1000", TH_REQUESTS, OP_GT, 1000, NULL },
        { "failures < 1", TH_FAILURES, OP_LT, 1, NULL },
        { " login : p99 < 1s ", TH_P99, OP_LT, 1000, "login" },
        { "GET /orders: max < 3s", TH_MAX, OP_LT, 3000, "GET /orders" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (scenario_parse_threshold(ok[i].expr, &t, err, sizeof err, hint, sizeof hint) != 0)
            fail_msg("\"%s\": %s", ok[i].expr, err);
        assert_string_equal(t.expr, ok[i].expr);
        assert_int_equal(t.metric, ok[i].m);
        assert_int_equal(t.op, ok[i].op);
        assert_true(t.value > ok[i].v * 0.999999 - 1e-12 && t.value < ok[i].v * 1.000001 + 1e-12);
        if (ok[i].name)
            assert_string_equal(t.name, ok[i].name);
        else
            assert_null(t.name);
        free(t.expr);
        free(t.name);
    }
    static const struct { const char *expr, *msg, *hint; } bad[] = {
        { "p59 < 500ms", "unknown metric 'p59'", "did you mean p50, p95 or p99?" },
        { "p9 < 1s", "unknown metric 'p9'", "p90" },
        { "latency < 5s", "unknown metric 'latency'", NULL },
        { "p95 = 500ms", "unsupported comparison '='", "p95 < 500ms" },
        { "p95 500ms", "expected a comparison", NULL },
        { "p95 < fast", "expected a number", NULL },
        { "p95 < -1ms", "expected a number", NULL },
        { "p95 < 5 parsecs", "unknown unit 'parsecs'", NULL },
        { "error_rate < 5", "error_rate needs a % after 5", "write 5%" },
        /* issue 12: a bare number is refused where it is ambiguous */
        { "error_rate < 0.1", "error_rate needs a % after 0.1", "write 0.1% for a percentage (or 10% for the fraction 0.1)" },
        { "error_rate <= 0.05", "needs a %", "0.05%" },
        { "error_rate < 150%", "more than 100%", NULL },
        { "p95 < 500", "p95 needs a unit after 500", "write 500ms" },
        { "p90 > 250", "p90 needs a unit", "250ms" },
        { "login: max < 2", "max needs a unit", "2s" },
        { "error_rate < 1ms", "unknown unit 'ms' for error_rate", NULL },
        { "requests > 10k", "unexpected 'k'", NULL },
        { ": p95 < 1s", "nothing before ':'", NULL },
        { "", "empty", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hint[0] = '\0';
        assert_int_equal(scenario_parse_threshold(bad[i].expr, &t, err, sizeof err, hint, sizeof hint), -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].expr, err, bad[i].msg);
        if (bad[i].hint && !strstr(hint, bad[i].hint))
            fail_msg("\"%s\": hint \"%s\" lacks \"%s\"", bad[i].expr, hint, bad[i].hint);
    }
    /* issue 11: the histogram words, dropped and rate */
    static const struct { const char *expr; sc_metric m; sc_th_of of; double v; const char *name; } okof[] = {
        { "service p95 < 300ms", TH_P95, TH_OF_SERVICE, 300, NULL },
        { "iteration p95 < 2s", TH_P95, TH_OF_ITERATION, 2000, NULL },
        { "planner: iteration p99 < 3s", TH_P99, TH_OF_ITERATION, 3000, "planner" },
        { "login: service max < 1s", TH_MAX, TH_OF_SERVICE, 1000, "login" },
        { "lag p99 < 10ms", TH_P99, TH_OF_LAG, 10, NULL },
        { "lag p(99.9) < 1500us", TH_P999, TH_OF_LAG, 1.5, NULL },
        { "dropped < 1", TH_DROPPED, TH_OF_LATENCY, 1, NULL },
        { "rate >= 48", TH_RATE, TH_OF_LATENCY, 48, NULL },
        { "rate >= 48/s", TH_RATE, TH_OF_LATENCY, 48, NULL },
        { "rate > 3000/m", TH_RATE, TH_OF_LATENCY, 50, NULL },
        { "p95 < 1s", TH_P95, TH_OF_LATENCY, 1000, NULL },
    };
    for (size_t i = 0; i < sizeof okof / sizeof okof[0]; i++) {
        if (scenario_parse_threshold(okof[i].expr, &t, err, sizeof err, hint, sizeof hint) != 0)
            fail_msg("\"%s\": %s", okof[i].expr, err);
        assert_int_equal(t.metric, okof[i].m);
        assert_int_equal(t.of, okof[i].of);
        assert_int_equal(t.ws, TH_WS_NONE);
        assert_true(t.value > okof[i].v * 0.999999 - 1e-12 && t.value < okof[i].v * 1.000001 + 1e-12);
        if (okof[i].name)
            assert_string_equal(t.name, okof[i].name);
        else
            assert_null(t.name);
        free(t.expr);
        free(t.name);
    }
    static const struct { const char *expr, *msg, *hint; } badof[] = {
        { "service < 1s", "expected a latency metric (p50, p90, p95, p99, p999, min, max, avg) after 'service'",
          "service p95 < 300ms" },
        { "iteration error_rate < 1%", "after 'iteration'", "iteration p95 < 2s" },
        { "planner: iteration < 1s", "after 'iteration'", "planner: iteration p95" },
        { "x: lag p99 < 1ms", "takes no name", "lag p99 < 10ms" },
        { "lag < 1ms", "after 'lag'", "lag p99 < 10ms" },
        { "x: dropped < 1", "takes no name", "dropped < 1" },
        { "x: rate > 1", "takes no name", "rate >= 48" },
        { "rate > 5/d", "unknown unit '/d' for rate", NULL },
        { "dropped < 1/s", "plain number", NULL },
        { "servce p95 < 1s", "unknown figure 'servce'", "'service'" },
        { "droped < 1", "unknown metric 'droped'", "dropped" },
    };
    for (size_t i = 0; i < sizeof badof / sizeof badof[0]; i++) {
        hint[0] = '\0';
        assert_int_equal(scenario_parse_threshold(badof[i].expr, &t, err, sizeof err, hint, sizeof hint), -1);
        if (!strstr(err, badof[i].msg))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", badof[i].expr, err, badof[i].msg);
        if (badof[i].hint && !strstr(hint, badof[i].hint))
            fail_msg("\"%s\": hint \"%s\" lacks \"%s\"", badof[i].expr, hint, badof[i].hint);
    }
    assert_string_equal(scenario_metric_name(TH_DROPPED), "dropped");
    assert_string_equal(scenario_metric_name(TH_RATE), "rate");
    assert_string_equal(scenario_metric_name(TH_P999), "p999");
    assert_string_equal(scenario_metric_name(TH_MEAN), "mean");
    assert_string_equal(scenario_metric_name(TH_ERROR_RATE), "error_rate");
}

/* ---- the open model (issue 11) ---------------------------------------------------- */

static const char open_example[] =
    "name: erp-throughput\n"
    "target: http://127.0.0.1:8000\n"
    "load:\n"
    "  model: open\n"
    "  max_users: 400\n"
    "  arrivals: poisson\n"
    "  stages:\n"
    "    - { duration: 2m, rate: 50 }\n"
    "    - { duration: 30m, rate: 3000/m }\n"
    "    - { duration: 0s, rate: 100/s }\n"
    "    - { duration: 10m, rate: 100 }\n"
    "  graceful_stop: 5s\n"
    "users:\n"
    "  - name: planner\n"
    "    weight: 3\n"
    "    setup:\n"
    "      - http: { name: login, method: POST, url: /auth/login, capture: { token: { json: $.token } } }\n"
    "      - ws: { connect: /ws/production, name: feed }\n"
    "    flow:\n"
    "      - http: { name: create-order, method: POST, url: /o, headers: { Authorization: \"Bearer {{ token }}\" } }\n"
    "      - loop: { count: 2, steps: [ { ws: { send: ping } } ] }\n"
    "  - name: viewer\n"
    "    flow: [ { http: { url: /o } } ]\n"
    "thresholds:\n"
    "  - \"service p95 < 300ms\"\n"
    "  - \"iteration p95 < 2s\"\n"
    "  - \"planner: iteration p99 < 3s\"\n"
    "  - \"dropped < 1\"\n"
    "  - \"lag p99 < 10ms\"\n"
    "  - \"rate >= 48\"\n"
    "  - \"login: p99 < 1s\"\n"
    "  - \"create-order: service p99 < 500ms\"\n";

static void test_open_model(void **state)
{
    (void)state;
    scenario *sc = parse_ok(open_example);
    assert_int_equal(sc->model, SC_MODEL_OPEN);
    assert_int_equal(sc->max_users, 400);
    assert_int_equal(sc->max_backlog, 4000);            /* 10 x max_users */
    assert_false(sc->max_backlog_set);
    assert_int_equal(sc->arrivals, SC_ARRIVALS_POISSON);
    assert_int_equal(sc->graceful_stop_ms, 5000);
    assert_int_equal(sc->nstages, 4);
    static const double rates[] = { 50, 50, 100, 100 };
    static const uint64_t durs[] = { 120000, 1800000, 0, 600000 };
    for (int i = 0; i < 4; i++) {
        assert_true(sc->stages[i].rate > rates[i] - 1e-9 && sc->stages[i].rate < rates[i] + 1e-9);
        assert_int_equal(sc->stages[i].duration_ms, durs[i]);
        assert_int_equal(sc->stages[i].users, 0);
    }
    assert_int_equal(scenario_duration_ms(sc), 120000 + 1800000 + 600000);
    assert_int_equal(scenario_peak_users(sc), 400);     /* the pool */
    assert_int_equal(scenario_users_at(sc, 60000), 0);
    /* setup and flow */
    const sc_profile *pl = &sc->profiles[0];
    assert_int_equal(pl->nsetup, 2);
    assert_int_equal(pl->setup[0].kind, STEP_HTTP);
    assert_string_equal(pl->setup[0].u.http.name, "login");
    assert_int_equal(pl->setup[1].kind, STEP_WS);       /* its connect serves the flow's sends */
    assert_int_equal(pl->nflow, 2);
    assert_int_equal(pl->flow[1].u.loop.count, 2);
    assert_int_equal(sc->profiles[1].nsetup, 0);
    assert_null(sc->profiles[1].setup);
    /* thresholds */
    static const struct { sc_metric m; sc_th_of of; sc_op op; double v; const char *name; } th[] = {
        { TH_P95, TH_OF_SERVICE, OP_LT, 300, NULL },
        { TH_P95, TH_OF_ITERATION, OP_LT, 2000, NULL },
        { TH_P99, TH_OF_ITERATION, OP_LT, 3000, "planner" },
        { TH_DROPPED, TH_OF_LATENCY, OP_LT, 1, NULL },
        { TH_P99, TH_OF_LAG, OP_LT, 10, NULL },
        { TH_RATE, TH_OF_LATENCY, OP_GE, 48, NULL },
        { TH_P99, TH_OF_LATENCY, OP_LT, 1000, "login" },  /* a setup step's name */
        { TH_P99, TH_OF_SERVICE, OP_LT, 500, "create-order" },
    };
    assert_int_equal(sc->nthresholds, 8);
    for (int i = 0; i < 8; i++) {
        const sc_threshold *t = &sc->thresholds[i];
        assert_int_equal(t->metric, th[i].m);
        assert_int_equal(t->of, th[i].of);
        assert_int_equal(t->op, th[i].op);
        assert_true(t->value > th[i].v - 1e-9 && t->value < th[i].v + 1e-9);
        if (th[i].name)
            assert_string_equal(t->name, th[i].name);
        else
            assert_null(t->name);
    }
    scenario_free(sc);

    /* the backlog's default has a floor of 1,000; a written one is kept; uniform default */
    sc = parse_ok(OPEN_HEAD OPEN_STAGE BASE_USERS BASE_STEP);
    assert_int_equal(sc->max_backlog, 1000);
    assert_int_equal(sc->arrivals, SC_ARRIVALS_UNIFORM);
    scenario_free(sc);
    sc = parse_ok("name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 10\n"
                  "  max_backlog: 7\n  stages:\n" OPEN_STAGE BASE_USERS BASE_STEP);
    assert_int_equal(sc->max_backlog, 7);
    assert_true(sc->max_backlog_set);
    scenario_free(sc);

    /* the closed model keeps its meaning, and takes setup too */
    sc = parse_ok(BASE_HEAD BASE_STAGE "users:\n  - name: u\n    setup: [ { http: { url: /login } } ]\n"
                  "    flow:\n      - loop: { steps: [ { http: { url: /x } } ] }\n"
                  "thresholds: [ \"service p95 < 1s\", \"u: iteration p95 < 2s\" ]\n");
    assert_int_equal(sc->model, SC_MODEL_CLOSED);
    assert_int_equal(sc->max_users, 0);
    assert_int_equal(sc->max_backlog, 0);
    assert_int_equal(sc->profiles[0].nsetup, 1);
    assert_int_equal(scenario_peak_users(sc), 10);
    scenario_free(sc);
}

static void test_open_overrides(void **state)
{
    (void)state;
    scenario *sc = parse_ok(open_example);
    /* -u: the pool; the backlog's default follows; the spawn rate means nothing here */
    scenario_override_load(sc, 50, 7.0, 0);
    assert_int_equal(sc->max_users, 50);
    assert_int_equal(sc->max_backlog, 1000);
    assert_int_equal(scenario_peak_users(sc), 50);
    assert_int_equal(sc->nstages, 4);                   /* the stages stay */
    assert_int_equal(scenario_duration_ms(sc), 2520000);
    /* -t longer: the last rate held up to it */
    scenario_override_load(sc, 0, 0, 3000000);
    assert_int_equal(sc->nstages, 5);
    assert_int_equal(scenario_duration_ms(sc), 3000000);
    assert_int_equal(sc->stages[4].duration_ms, 480000);
    assert_true(sc->stages[4].rate == 100);
    assert_int_equal(sc->max_users, 50);                /* users 0 keeps the pool */
    /* -t inside the ramp: cut where the run ends, at the rate reached there */
    scenario_override_load(sc, 0, 0, 60000);
    assert_int_equal(sc->nstages, 1);
    assert_int_equal(sc->stages[0].duration_ms, 60000);
    assert_true(sc->stages[0].rate > 25 - 1e-9 && sc->stages[0].rate < 25 + 1e-9);
    scenario_free(sc);

    /* -t cut at a stage boundary: the later stages go, the zero-length jump too */
    sc = parse_ok(open_example);
    scenario_override_load(sc, 0, 0, 1920000);
    assert_int_equal(sc->nstages, 2);
    assert_int_equal(scenario_duration_ms(sc), 1920000);
    assert_true(sc->stages[1].rate == 50);
    scenario_free(sc);

    /* a written max_backlog stays when -u changes the pool; -u is clamped */
    sc = parse_ok("name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 10\n"
                  "  max_backlog: 7\n  stages:\n" OPEN_STAGE BASE_USERS BASE_STEP);
    scenario_override_load(sc, 500, 0, 0);
    assert_int_equal(sc->max_users, 500);
    assert_int_equal(sc->max_backlog, 7);
    scenario_override_load(sc, SC_MAX_USERS + 1, 0, 0);
    assert_int_equal(scenario_peak_users(sc), SC_MAX_USERS);
    /* --arrival-rate: one stage at R for the run's duration (a jump, then the hold) */
    scenario_override_rate(sc, 200, 0);
    assert_int_equal(sc->nstages, 2);
    assert_int_equal(scenario_duration_ms(sc), 60000);
    assert_true(loadshape_rate_at(sc->stages, sc->nstages, 0) == 200);
    assert_true(loadshape_area(sc->stages, sc->nstages, 60e6) > 12000 - 1e-6);
    scenario_override_rate(sc, 30, 10000);
    assert_int_equal(scenario_duration_ms(sc), 10000);
    assert_true(loadshape_peak_rate(sc->stages, sc->nstages) == 30);
    scenario_free(sc);

    /* --arrival-rate does nothing to a closed scenario (the CLI refuses it first) */
    sc = stages_scenario("    - { duration: 1m, users: 40 }\n");
    scenario_override_rate(sc, 200, 0);
    assert_int_equal(sc->nstages, 1);
    assert_int_equal(scenario_peak_users(sc), 40);
    scenario_free(sc);

    /* a unique feeder needs a row per user of the pool */
    sc_error err;
    const char *uniq = "name: t\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n  max_users: 12\n"
                       "  stages:\n" OPEN_STAGE "data: { ids: { csv: many.csv, mode: unique } }\n"
                       BASE_USERS BASE_STEP;
    sc = parse_ok(uniq);
    assert_int_equal(scenario_check_run(sc, &err), 0);
    scenario_override_load(sc, 13, 0, 0);
    assert_int_equal(scenario_check_run(sc, &err), -1);
    assert_non_null(strstr(err.msg, "12 rows for a peak of 13 users"));
    scenario_free(sc);
}

static void test_error_format(void **state)
{
    (void)state;
    sc_error e = { .file = "s.yaml", .line = 3, .col = 7, .msg = "bad thing", .hint = "do this" };
    char buf[256];
    sc_error_format(&e, buf, sizeof buf);
    assert_string_equal(buf, "s.yaml:3:7: error: bad thing\n  hint: do this\n");
    e.hint[0] = '\0';
    e.line = e.col = 0;
    sc_error_format(&e, buf, sizeof buf);
    assert_string_equal(buf, "s.yaml: error: bad thing\n");
    char tiny[8];
    sc_error_format(&e, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
}

/* scenario_load reads from disk, data files relative to the scenario's directory. */
static void test_load_from_disk(void **state)
{
    (void)state;
    char dir[] = "/tmp/sc_test_XXXXXX", path[256], csv[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(csv, sizeof csv, "%s/people.csv", dir);
    FILE *f = fopen(csv, "w");
    fputs("name\nann\nbob\n", f);
    fclose(f);
    f = fopen(path, "w");
    fputs("name: disk\ntarget: http://127.0.0.1:1\nload: { stages: [ { duration: 1s, users: 2 } ] }\n"
          "data: { people: { csv: people.csv, mode: unique } }\n"
          "users: [ { name: u, flow: [ { http: { url: \"/p/{{ people.name }}\" } } ] } ]\n", f);
    fclose(f);
    sc_error err;
    scenario *sc = scenario_load(path, NULL, 0, &err);
    if (!sc)
        fail_msg("%s", err.msg);
    assert_int_equal(sc->data.f[0].nrows, 2);
    assert_int_equal(scenario_check_run(sc, &err), 0);
    scenario_free(sc);
    unlink(csv);
    assert_null(scenario_load(path, NULL, 0, &err));
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.msg, "people.csv"));
    unlink(path);
    rmdir(dir);
    assert_null(scenario_load(path, NULL, 0, &err));
    assert_non_null(strstr(err.msg, "cannot read the scenario"));
}

/* Issue 9, item 3: env() is the CLI's. plan_from_file reads the CLI's environment and
 * records what it used into the plan; plan_scenario (master, workers) reads the plan's
 * values only, never the daemon's environment, and errors never hold a value. */
static void test_env_through_plans(void **state)
{
    (void)state;
    char dir[] = "/tmp/sc_env_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: envs\ntarget: http://127.0.0.1:1\nload: { stages: [ { duration: 1s, users: 2 } ] }\n"
          "users: [ { name: u, flow: [\n"
          "  { http: { url: \"/k/{{ env(\\\"STAMPEDE_T_KEY\\\") }}\" } },\n"
          "  { http: { url: \"/again/{{ env(STAMPEDE_T_KEY) }}\" } } ] } ]\n", f);
    fclose(f);
    sc_error err;

    /* The CLI without the variable: an error at its place, with the export hint. */
    unsetenv("STAMPEDE_T_KEY");
    proto_plan p = { 0 };
    assert_int_equal(plan_from_file(&p, path, NULL, 0, NULL, &err), -1);
    assert_int_equal(err.line, 5);
    assert_non_null(strstr(err.msg, "STAMPEDE_T_KEY is not set"));
    assert_non_null(strstr(err.hint, "export STAMPEDE_T_KEY="));
    plan_fini(&p);

    /* With it: recorded once, with its value. */
    setenv("STAMPEDE_T_KEY", "cli-value", 1);
    memset(&p, 0, sizeof p);
    scenario *sc = NULL;
    if (plan_from_file(&p, path, NULL, 0, &sc, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(p.nenv, 1);
    assert_string_equal(p.env[0].key, "STAMPEDE_T_KEY");
    assert_string_equal(p.env[0].value, "cli-value");
    assert_string_equal(tmpl_static(sc->profiles[0].flow[0].u.http.url, NULL), "/k/cli-value");
    scenario_free(sc);

    /* A daemon whose own environment holds another value uses the plan's. */
    setenv("STAMPEDE_T_KEY", "daemon-secret", 1);
    proto_plan cp;
    assert_int_equal(plan_copy(&cp, &p), 0);
    assert_int_equal(cp.nenv, 1);
    sc = plan_scenario(&cp, &err);
    assert_non_null(sc);
    assert_string_equal(tmpl_static(sc->profiles[0].flow[1].u.http.url, NULL), "/again/cli-value");
    scenario_free(sc);
    plan_fini(&cp);
    assert_null(cp.env);

    /* A plan without the value (the API's form): refused, nothing of the daemon's. */
    for (uint32_t i = 0; i < p.nenv; i++) { free(p.env[i].key); free(p.env[i].value); }
    free(p.env);
    p.env = NULL;
    p.nenv = 0;
    assert_null(plan_scenario(&p, &err));
    char buf[2048];
    sc_error_format(&err, buf, sizeof buf);
    assert_int_equal(err.line, 5);
    assert_non_null(strstr(err.msg, "env(\"STAMPEDE_T_KEY\") has no value"));
    assert_non_null(strstr(err.msg, "stampede run --master"));
    assert_null(strstr(buf, "daemon-secret"));
    assert_null(strstr(buf, "not set"));
    /* scenario_parse has no source at all: the same refusal. */
    assert_null(scenario_parse(p.scenario, p.scenario_len, "x.yaml", NULL, 0, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "has no value"));
    /* scenario_load is the CLI's validate: the process's environment. */
    sc = scenario_load(path, NULL, 0, &err);
    assert_non_null(sc);
    assert_string_equal(tmpl_static(sc->profiles[0].flow[0].u.http.url, NULL), "/k/daemon-secret");
    scenario_free(sc);

    /* Issue 9, item 6: a PLAN's users override above SC_MAX_USERS is refused. */
    setenv("STAMPEDE_T_KEY", "v", 1);
    plan_fini(&p);
    memset(&p, 0, sizeof p);
    assert_int_equal(plan_from_file(&p, path, NULL, 0, NULL, &err), 0);
    p.users = SC_MAX_USERS + 1;
    assert_null(plan_scenario(&p, &err));
    assert_non_null(strstr(err.msg, "above the limit"));
    p.users = 4294967295u;
    assert_null(plan_scenario(&p, &err));
    p.users = SC_MAX_USERS;
    sc = plan_scenario(&p, &err);
    assert_non_null(sc);
    assert_int_equal(scenario_peak_users(sc), SC_MAX_USERS);
    scenario_free(sc);
    plan_fini(&p);
    unsetenv("STAMPEDE_T_KEY");
    unlink(path);
    rmdir(dir);
}

/* An env() value inside a ws binary payload or a ws url is never quoted by an error
 * or turned into a stats name. */
static void test_env_values_not_echoed(void **state)
{
    (void)state;
    sc_error err;
    char buf[2048];
    setenv("STAMPEDE_T_BIN", "ab!cd", 1);
    const char *bin = BASE_HEAD BASE_STAGE BASE_USERS BASE_WS
        "      - ws: { send: { binary: \"QUFB{{ env(\\\"STAMPEDE_T_BIN\\\") }}\" } }\n";
    sc_env env = { tmpl_env_process, NULL };
    scenario *sc = scenario_parse_env(bin, strlen(bin), "e.yaml", NULL, 0, NULL, NULL, &env, &err);
    assert_null(sc);
    sc_error_format(&err, buf, sizeof buf);
    assert_non_null(strstr(err.msg, "not valid base64"));
    assert_null(strstr(buf, "'!'"));
    assert_null(strstr(buf, "ab!cd"));
    assert_null(strstr(buf, "character"));
    setenv("STAMPEDE_T_BIN", "s3cr3t", 1);
    const char *url = BASE_HEAD BASE_STAGE BASE_USERS
        "      - ws: { connect: \"/ws/{{ env(\\\"STAMPEDE_T_BIN\\\") }}\" }\n";
    sc = scenario_parse_env(url, strlen(url), "e.yaml", NULL, 0, NULL, NULL, &env, &err);
    assert_null(sc);
    sc_error_format(&err, buf, sizeof buf);
    assert_non_null(strstr(buf, "add name:"));
    assert_null(strstr(buf, "s3cr3t"));
    unsetenv("STAMPEDE_T_BIN");
}

/* Issue 9, item 5: libyaml's cost is quadratic in nesting (40,000 levels: 5.5 s).
 * Deep nesting, flow or block, is refused before libyaml loads it, at its place. */
static void test_deep_nesting(void **state)
{
    (void)state;
    sc_error err;
    size_t n = 40000;
    char *deep = malloc(16 + 2 * n);
    assert_non_null(deep);
    strcpy(deep, "name: t\nx: ");
    size_t o = strlen(deep);
    for (size_t i = 0; i < n; i++)
        deep[o++] = i % 2 ? '{' : '[';
    deep[o] = '\0';
    assert_null(parse(deep, &err));
    assert_non_null(strstr(err.msg, "nested more than 128 levels"));
    assert_int_equal(err.line, 2);
    assert_int_equal(err.col, 4 + 127);        /* the 128th bracket opens the 129th level */
    assert_non_null(strstr(err.hint, "bracket"));
    /* Closed brackets are as deep. */
    for (size_t i = 0; i < n; i++)
        deep[o++] = (n - 1 - i) % 2 ? '}' : ']';
    deep[o] = '\0';
    assert_null(parse(deep, &err));
    assert_non_null(strstr(err.msg, "nested more than 128 levels"));
    free(deep);

    /* Block nesting: one more space per level. */
    size_t levels = 200, cap = levels * (levels + 8) + 64;
    char *block = malloc(cap);
    assert_non_null(block);
    o = (size_t)snprintf(block, cap, "name: t\n");
    for (size_t i = 0; i < levels; i++) {
        memset(block + o, ' ', i);
        o += i;
        o += (size_t)snprintf(block + o, cap - o, "k:\n");
    }
    assert_null(parse(block, &err));
    assert_non_null(strstr(err.msg, "nested more than 128 levels"));
    assert_int_equal(err.line, 2 + 128);
    free(block);

    /* A deep but allowed json: body (64 levels, the body's own limit) still parses. */
    char body[2048];
    o = (size_t)snprintf(body, sizeof body, BASE_HEAD BASE_STAGE BASE_USERS
                         "      - http: { method: POST, url: /x, json: ");
    for (int i = 0; i < 63; i++)
        body[o++] = '[';
    body[o++] = '1';
    for (int i = 0; i < 63; i++)
        body[o++] = ']';
    snprintf(body + o, sizeof body - o, " }\n");
    scenario *sc = parse(body, &err);
    if (!sc)
        fail_msg("%s", err.msg);
    scenario_free(sc);
}

/* Aliases can build cycles and exponential walks: refused, not followed forever. */
static void test_alias_bombs(void **state)
{
    (void)state;
    sc_error err;
    const char *cycle =
        BASE_HEAD BASE_STAGE BASE_USERS "      - &s { loop: { steps: [ *s ] } }\n";
    assert_null(parse(cycle, &err));
    assert_true(err.msg[0] != '\0');
    const char *json_cycle =
        BASE_HEAD BASE_STAGE BASE_USERS "      - http: { url: /x, json: &j [ *j ] }\n";
    assert_null(parse(json_cycle, &err));
    assert_true(err.msg[0] != '\0');
    /* ten levels of ten aliases each: 10^10 values if expanded */
    char bomb[4096];
    size_t n = (size_t)snprintf(bomb, sizeof bomb, "%s", BASE_HEAD BASE_STAGE BASE_USERS
                                "      - http:\n          url: /x\n          json:\n"
                                "            a0: &a0 [ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ]\n");
    for (int lvl = 1; lvl < 10; lvl++)
        n += (size_t)snprintf(bomb + n, sizeof bomb - n, "            a%d: &a%d [ *a%d, *a%d, *a%d, "
                              "*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d ]\n", lvl, lvl, lvl - 1,
                              lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1);
    assert_null(parse(bomb, &err));
    assert_true(strstr(err.msg, "too large") || strstr(err.msg, "larger than"));
}

/* ---- key tables (common/scenario_int.h) ------------------------------------------------ */

/* A made-up mapping read through its own table: the reader is the one every section
 * uses, so its messages are the ones a user sees. */
typedef struct thing { char *name; uint64_t wait_ms; uint32_t count; bool on; int mode; } thing;
static const char *const thing_modes[] = { "fast", "slow", "auto" };
static const sc_key thing_keys[] = {
    { "name", SC_K_TEXT, offsetof(thing, name), 0, 0, "the thing's name", true, "name it" },
    { "wait", SC_K_DURATION, offsetof(thing, wait_ms), 1, 0, "thing.wait" },
    { "count", SC_K_U32, offsetof(thing, count), 1, 5, "thing.count" },
    { "on", SC_K_BOOL, offsetof(thing, on), 0, 0, "thing.on" },
    { "mode", SC_K_ENUM, offsetof(thing, mode), 0, 0, NULL, .words = thing_modes, .nwords = 3 },
    { "steps", SC_K_OWN },
};

/* Loads text as the context's document; returns its root mapping. */
static yaml_node_t *key_doc(sc_ctx *c, scenario *sc, sc_error *err, const char *text)
{
    memset(c, 0, sizeof *c);
    memset(sc, 0, sizeof *sc);
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "t.yaml");
    c->sc = sc;
    c->err = err;
    yaml_parser_t p;
    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&p, &c->doc));
    yaml_parser_delete(&p);
    return yaml_document_get_root_node(&c->doc);
}

/* ---- issue 12: flow control, tags, weight 0, cookies, on_failure ------------------ */

static const char flow_example[] =
    "name: flow\n"
    "target: http://127.0.0.1:8000\n"
    "defaults: { on_failure: stop_iteration, cookies: false }\n"
    "load: { stages: [ { duration: 1m, users: 4 } ] }\n"
    "users:\n"
    "  - name: reader\n"
    "    weight: 3\n"
    "    tags: [read]\n"
    "    setup:\n"
    "      - http: { name: login, method: POST, url: /login, capture: { token: { json: $.token }, role: { json: $.role } } }\n"
    "        on_failure: stop_user\n"
    "    flow:\n"
    "      - pick:\n"
    "          - weight: 5\n"
    "            tags: [list]\n"
    "            steps: [ { http: { name: list, url: /list } } ]\n"
    "          - weight: 1\n"
    "            steps:\n"
    "              - http: { name: report, url: /report }\n"
    "                tags: [slow, report]\n"
    "          - { weight: 0, steps: [ { think: 1s } ] }\n"
    "      - if: { var: token, is: empty }\n"
    "        then: [ { http: { name: relogin, url: /login } } ]\n"
    "        else:\n"
    "          - if: { var: role, equals: admin }\n"
    "            then: [ { http: { name: admin, url: /admin } } ]\n"
    "      - if: { status_in: [200, 201] }\n"
    "        else: [ { think: 1s } ]\n"
    "      - if: { chance: 0.25 }\n"
    "        then: [ { think: 2s } ]\n"
    "      - loop: { pacing: 5s, count: 3, steps: [ { http: { name: paced, url: /p } } ] }\n"
    "        tags: [paced]\n"
    "      - loop: { rate: 4/s, steps: [ { http: { name: rated, url: /r, }, on_failure: continue } ] }\n"
    "  - name: off\n"
    "    weight: 0\n"
    "    flow: [ { http: { name: never, url: /never } } ]\n"
    "  - name: writer\n"
    "    tags: [write]\n"
    "    flow:\n"
    "      - http: { name: write, method: POST, url: /w }\n"
    "      - think: 1s\n";

/* Issue 15: defaults.client, auto when not given; lean and http2 are refused together
 * (test_bad_inputs), any other pair is a scenario. */
static void test_client(void **state)
{
    (void)state;
    static const struct { const char *map; sc_client want; bool http2; } ok[] = {
        { "{ timeout: 2s }", SC_CLIENT_AUTO, false },
        { "{ client: auto }", SC_CLIENT_AUTO, false },
        { "{ client: lean }", SC_CLIENT_LEAN, false },
        { "{ client: curl }", SC_CLIENT_CURL, false },
        { "{ client: auto, http2: true }", SC_CLIENT_AUTO, true },
        { "{ http2: true, client: curl }", SC_CLIENT_CURL, true },
        { "{ client: lean, http2: false }", SC_CLIENT_LEAN, false },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "name: t\ntarget: http://127.0.0.1:8000\ndefaults: %s\n"
                 "load:\n  stages:\n" BASE_STAGE BASE_USERS BASE_STEP, ok[i].map);
        scenario *sc = parse_ok(text);
        assert_int_equal(sc->client, ok[i].want);
        assert_int_equal(sc->http2, ok[i].http2);
        scenario_free(sc);
    }
    scenario *sc = parse_ok(BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP);   /* no defaults */
    assert_int_equal(sc->client, SC_CLIENT_AUTO);
    scenario_free(sc);
    sc_set set = { "defaults.client", "curl" };
    sc_error err;
    sc = parse_set(DEF_HEAD("{ client: lean }") BASE_STAGE BASE_USERS BASE_STEP, &set, 1, &err);
    assert_non_null(sc);
    assert_int_equal(sc->client, SC_CLIENT_CURL);
    scenario_free(sc);
}

static void test_flow_control(void **state)
{
    (void)state;
    scenario *sc = parse_ok(flow_example);
    assert_false(sc->cookies);
    assert_int_equal(sc->default_on_failure, SC_ON_FAILURE_STOP_ITERATION);
    assert_int_equal(sc->nprofiles, 3);
    assert_int_equal(sc->profiles[1].weight, 0);
    assert_int_equal(sc->total_weight, 4);
    for (uint64_t k = 0; k < 400; k++)          /* weight 0: no user runs it */
        assert_int_not_equal(scenario_profile_of(sc, k), 1);
    const sc_profile *r = &sc->profiles[0];
    assert_int_equal(r->tags.n, 1);
    assert_string_equal(r->tags.v[0], "read");
    assert_int_equal(r->setup[0].on_failure, SC_ON_FAILURE_STOP_USER);
    const sc_step *f = r->flow;
    assert_int_equal(r->nflow, 6);
    /* pick */
    assert_int_equal(f[0].kind, STEP_PICK);
    assert_int_equal(f[0].line, 13);
    assert_int_equal(f[0].u.pick.nbranches, 3);
    assert_int_equal(f[0].u.pick.total_weight, 6);
    assert_int_equal(f[0].u.pick.branches[0].weight, 5);
    assert_string_equal(f[0].u.pick.branches[0].tags.v[0], "list");
    assert_int_equal(f[0].u.pick.branches[0].line, 14);
    assert_string_equal(f[0].u.pick.branches[0].steps[0].u.http.name, "list");
    assert_int_equal(f[0].u.pick.branches[0].steps[0].on_failure, SC_ON_FAILURE_STOP_ITERATION);
    assert_int_equal(f[0].u.pick.branches[1].steps[0].tags.n, 2);
    assert_int_equal(f[0].u.pick.branches[2].weight, 0);
    assert_int_equal(f[0].u.pick.branches[2].steps[0].kind, STEP_THINK);
    /* if on a variable, nested in else */
    assert_int_equal(f[1].kind, STEP_IF);
    assert_int_equal(f[1].u.cond.cond.kind, SC_COND_EMPTY);
    assert_string_equal(f[1].u.cond.cond.var, "token");
    assert_int_equal(f[1].u.cond.cond.slot, tmpl_syms_find(&sc->syms, "token"));
    assert_int_equal(f[1].u.cond.nthen, 1);
    assert_int_equal(f[1].u.cond.nelse, 1);
    const sc_step *in = &f[1].u.cond.else_steps[0];
    assert_int_equal(in->kind, STEP_IF);
    assert_int_equal(in->u.cond.cond.kind, SC_COND_EQUALS);
    assert_string_equal(in->u.cond.cond.value, "admin");
    assert_int_equal(in->u.cond.cond.slot, tmpl_syms_find(&sc->syms, "role"));
    assert_int_equal(in->u.cond.nelse, 0);
    /* status and chance */
    assert_int_equal(f[2].u.cond.cond.kind, SC_COND_STATUS);
    assert_int_equal(f[2].u.cond.cond.nstatus, 2);
    assert_int_equal(f[2].u.cond.cond.status[1], 201);
    assert_int_equal(f[2].u.cond.nthen, 0);
    assert_int_equal(f[3].u.cond.cond.kind, SC_COND_CHANCE);
    assert_true(f[3].u.cond.cond.chance == 0.25);
    assert_int_equal(f[3].on_failure, SC_ON_FAILURE_CONTINUE);     /* only http and ws */
    /* pacing and rate */
    assert_int_equal(f[4].kind, STEP_LOOP);
    assert_int_equal(f[4].u.loop.pacing_us, 5000000);
    assert_int_equal(f[4].u.loop.count, 3);
    assert_string_equal(f[4].tags.v[0], "paced");
    assert_int_equal(f[5].u.loop.pacing_us, 250000);
    assert_int_equal(f[5].u.loop.count, -1);
    assert_int_equal(f[5].u.loop.steps[0].on_failure, SC_ON_FAILURE_CONTINUE);
    scenario_free(sc);

    /* defaults: cookies on, on_failure continue; --set switches a profile off */
    sc = parse_ok(BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP
                  "  - name: v\n    flow: [ { http: { url: /y } } ]\n");
    assert_true(sc->cookies);
    assert_int_equal(sc->profiles[0].flow[0].on_failure, SC_ON_FAILURE_CONTINUE);
    scenario_free(sc);
    sc_set off = { "users.0.weight", "0" };
    sc_error err;
    sc = parse_set(BASE_HEAD BASE_STAGE BASE_USERS BASE_STEP
                   "  - name: v\n    flow: [ { http: { url: /y } } ]\n", &off, 1, &err);
    assert_non_null(sc);
    for (uint64_t k = 0; k < 10; k++)
        assert_int_equal(scenario_profile_of(sc, k), 1);
    scenario_free(sc);
}

/* Names of the http steps of a flow, depth first, into buf ("a,b,c"). */
static void flow_names(const sc_step *s, int n, char *buf, size_t cap)
{
    for (int i = 0; i < n; i++) {
        const sc_step *st = &s[i];
        switch (st->kind) {
        case STEP_HTTP: {
            size_t bl = strlen(buf);
            snprintf(buf + bl, cap - bl, "%s%s", bl ? "," : "", st->u.http.name);
            break;
        }
        case STEP_LOOP:  flow_names(st->u.loop.steps, st->u.loop.nsteps, buf, cap); break;
        case STEP_GROUP: flow_names(st->u.group.steps, st->u.group.nsteps, buf, cap); break;
        case STEP_IF:
            flow_names(st->u.cond.then_steps, st->u.cond.nthen, buf, cap);
            flow_names(st->u.cond.else_steps, st->u.cond.nelse, buf, cap);
            break;
        case STEP_PICK:
            for (int b = 0; b < st->u.pick.nbranches; b++)
                flow_names(st->u.pick.branches[b].steps, st->u.pick.branches[b].nsteps, buf, cap);
            break;
        default:
            break;
        }
    }
}

/* The scenario after tags: "profile[setup|flow];..." with http names. */
static void tagged(const char *const *inc, int ninc, const char *const *exc, int nexc,
                   char *out, size_t cap, int *rc, sc_error *err)
{
    scenario *sc = parse_ok(flow_example);
    *rc = scenario_apply_tags(sc, inc, ninc, exc, nexc, err);
    out[0] = '\0';
    for (int i = 0; *rc == 0 && i < sc->nprofiles; i++) {
        char s[512] = "", f[512] = "";
        flow_names(sc->profiles[i].setup, sc->profiles[i].nsetup, s, sizeof s);
        flow_names(sc->profiles[i].flow, sc->profiles[i].nflow, f, sizeof f);
        size_t ol = strlen(out);
        snprintf(out + ol, cap - ol, "%s[%s|%s];", sc->profiles[i].name, s, f);
    }
    if (*rc == 0) {         /* the profile table follows the profiles left */
        uint32_t total = 0;
        for (int i = 0; i < sc->nprofiles; i++)
            total += sc->profiles[i].weight;
        assert_int_equal(sc->total_weight, total);
        for (uint64_t k = 0; k < total; k++)
            assert_true(scenario_profile_of(sc, k) < sc->nprofiles);
    }
    scenario_free(sc);
}

static void test_apply_tags(void **state)
{
    (void)state;
    char out[2048];
    int rc;
    sc_error err;
    const char *const read[] = { "read" }, *const write[] = { "write" }, *const slow[] = { "slow" },
                      *const list[] = { "list" }, *const nope[] = { "nope" },
                      *const paced_write[] = { "paced", "write" };
    tagged(NULL, 0, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|list,report,relogin,admin,paced,rated];off[|never];"
                             "writer[|write];");
    /* a profile's tag keeps all of it; other profiles without a selected step go */
    tagged(read, 1, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|list,report,relogin,admin,paced,rated];");
    /* a branch's tag: only it is left (the setup stays: include tags do not prune it) */
    tagged(list, 1, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|list];");
    /* a step's tag, deep inside a branch */
    tagged(slow, 1, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|report];");
    /* two include tags */
    tagged(paced_write, 2, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|paced];writer[|write];");
    /* exclusions win over inclusions, and remove profiles, branches and steps */
    tagged(read, 1, slow, 1, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|list,relogin,admin,paced,rated];");
    tagged(NULL, 0, write, 1, out, sizeof out, &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "reader[login|list,report,relogin,admin,paced,rated];off[|never];");
    /* nothing left: an error naming the tags there are */
    tagged(nope, 1, NULL, 0, out, sizeof out, &rc, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "no step carries tag nope"));
    assert_non_null(strstr(err.hint, "read"));
    assert_non_null(strstr(err.hint, "slow"));
    /* excluding the only profiles with weight leaves only the switched-off one */
    const char *const rw[] = { "read", "write" };
    tagged(NULL, 0, rw, 2, out, sizeof out, &rc, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "the tags leave nothing to run"));
    assert_non_null(strstr(err.hint, "weight 0"));
    /* a -T tag nothing carries, next to one that selects: a warning */
    scenario *sc = parse_ok(flow_example);
    const char *const two[] = { "list", "nope" };
    assert_int_equal(scenario_apply_tags(sc, two, 2, NULL, 0, &err), 0);
    assert_int_equal(sc->nwarnings, 1);
    char buf[1024];
    sc_warning_format(sc, &sc->warnings[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "test.yaml: warning: -T nope: nothing in the scenario carries"));
    scenario_free(sc);
    /* tags that remove a ws connect but keep the steps after it */
    sc = parse_ok(BASE_HEAD BASE_STAGE BASE_USERS "      - ws: { connect: /ws }\n        tags: [c]\n"
                  "      - ws: { send: hi }\n        tags: [s]\n");
    const char *const c_tag[] = { "c" };
    assert_int_equal(scenario_apply_tags(sc, NULL, 0, c_tag, 1, &err), -1);
    assert_non_null(strstr(err.msg, "remove the ws connect before it"));
    assert_int_equal(err.line, 11);
    scenario_free(sc);
}

/* Issue 12: a threshold naming requests no step makes is a warning at validate (names
 * with a space or a slash: default names, the url's path with ids as {id}). */
static void test_threshold_name_warnings(void **state)
{
    (void)state;
    static const char head[] =
        BASE_HEAD BASE_STAGE BASE_USERS
        "      - http: { url: \"/api/orders/{{ user_id }}\" }\n"
        "      - http: { url: /api/health }\n"
        "      - http: { name: \"list all\", url: /api/orders }\n"
        "thresholds:\n";
    static const struct { const char *th, *msg, *hint; } cases[] = {
        { "/api/orders/{id}: p95 < 1s", NULL, NULL },
        { "/api/health: p95 < 1s", NULL, NULL },
        { "list all: p95 < 1s", NULL, NULL },
        { "/api/order/{id}: p95 < 1s", "no step makes requests of that name", "'/api/orders/{id}'" },
        { "GET /api/health: p99 < 1s", "requests named 'GET /api/health'", "names carry no method: write \"/api/health: ...\"" },
        { "/nowhere/at/all/x: max < 2s", "it would read none", "{id}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s  - \"%s\"\n", head, cases[i].th);
        scenario *sc = parse_ok(text);
        if (!cases[i].msg) {
            assert_int_equal(sc->nwarnings, 0);
        } else {
            assert_int_equal(sc->nwarnings, 1);
            char buf[1024];
            sc_warning_format(sc, &sc->warnings[0], buf, sizeof buf);
            if (!strstr(buf, "test.yaml:13:5: warning: threshold") || !strstr(buf, cases[i].msg) ||
                !strstr(buf, cases[i].hint))
                fail_msg("\"%s\": %s", cases[i].th, buf);
        }
        scenario_free(sc);
    }
}

/* Names made inside pick branches and if/then/else steps count for the threshold-name
 * check: no warning for them (erp-journal.yaml's report name is inside a pick). */
static void test_threshold_names_inside_pick_and_if(void **state)
{
    (void)state;
    static const char text[] =
        BASE_HEAD BASE_STAGE BASE_USERS
        "      - pick:\n"
        "          - steps: [ { http: { name: /rep/monthly.csv, url: /r } } ]\n"
        "          - steps: [ { http: { url: \"/api/items/{{ user_id }}\" } } ]\n"
        "      - if: { chance: 0.5 }\n"
        "        then: [ { http: { name: \"in then\", url: /t } } ]\n"
        "        else: [ { http: { name: \"in else\", url: /e } } ]\n"
        "thresholds:\n"
        "  - \"/rep/monthly.csv: p95 < 1s\"\n"
        "  - \"/api/items/{id}: p95 < 1s\"\n"
        "  - \"in then: p95 < 1s\"\n"
        "  - \"in else: p95 < 1s\"\n"
        "  - \"/rep/weekly.csv: p95 < 1s\"\n";
    scenario *sc = parse_ok(text);
    assert_int_equal(sc->nwarnings, 1);
    char buf[1024];
    sc_warning_format(sc, &sc->warnings[0], buf, sizeof buf);
    if (!strstr(buf, "'/rep/weekly.csv'"))
        fail_msg("%s", buf);
    scenario_free(sc);
}

static void test_key_table(void **state)
{
    (void)state;
    const size_t n = SC_NKEYS(thing_keys);
    sc_ctx c;
    scenario sc;
    sc_error err;
    thing t;

    /* every typed row lands in its field; an own row is known but left alone */
    yaml_node_t *m = key_doc(&c, &sc, &err, "{ name: a, wait: 2s, count: 5, on: yes, mode: slow, steps: [1] }");
    memset(&t, 0, sizeof t);
    assert_int_equal(sc_check_keys(&c, m, "the thing", thing_keys, n), 0);
    assert_int_equal(sc_read_all(&c, m, "the thing", thing_keys, n, &t), 0);
    assert_string_equal(t.name, "a");
    assert_int_equal(t.wait_ms, 2000);
    assert_int_equal(t.count, 5);
    assert_true(t.on);
    assert_int_equal(t.mode, 1);
    assert_int_equal(sc_key_index(thing_keys, n, "steps"), 5);
    assert_int_equal(sc_key_index(thing_keys, n, "nope"), -1);
    free(t.name);
    yaml_document_delete(&c.doc);

    /* an unknown key lists the table in its order, with the nearest as hint */
    m = key_doc(&c, &sc, &err, "name: a\nwiat: 1s\n");
    assert_int_equal(sc_check_keys(&c, m, "the thing", thing_keys, n), -1);
    assert_string_equal(err.msg, "unknown key 'wiat' in the thing (known keys: name, wait, count, "
                                 "on, mode, steps)");
    assert_string_equal(err.hint, "did you mean 'wait'?");
    assert_int_equal(err.line, 2);
    assert_int_equal(err.col, 1);
    yaml_document_delete(&c.doc);

    /* a missing required key points at the mapping and gives the row's hint */
    m = key_doc(&c, &sc, &err, "{ wait: 1s }");
    memset(&t, 0, sizeof t);
    assert_int_equal(sc_read_all(&c, m, "thing 1", thing_keys, n, &t), -1);
    assert_string_equal(err.msg, "thing 1 is missing 'name'");
    assert_string_equal(err.hint, "name it");
    yaml_document_delete(&c.doc);

    /* an enum without a label is "NAME of WHERE"; its values joined with "or" */
    m = key_doc(&c, &sc, &err, "{ name: a, mode: fsat }");
    memset(&t, 0, sizeof t);
    assert_int_equal(sc_read(&c, m, "the thing", thing_keys, n, "mode", &t), -1);
    assert_string_equal(err.msg, "mode of the thing must be fast, slow or auto, found 'fsat'");
    assert_string_equal(err.hint, "did you mean 'fast'?");
    assert_int_equal(err.col, 18);
    yaml_document_delete(&c.doc);

    /* bounds and positivity come from the row */
    m = key_doc(&c, &sc, &err, "{ count: 9 }");
    assert_int_equal(sc_read(&c, m, "the thing", thing_keys, n, "count", &t), -1);
    assert_string_equal(err.msg, "thing.count must be at most 5, found 9");
    yaml_document_delete(&c.doc);
    m = key_doc(&c, &sc, &err, "{ wait: 0s }");
    assert_int_equal(sc_read(&c, m, "the thing", thing_keys, n, "wait", &t), -1);
    assert_string_equal(err.msg, "thing.wait must be longer than 0, found '0s'");
    yaml_document_delete(&c.doc);

    /* absent optional keys leave the field as it was */
    m = key_doc(&c, &sc, &err, "{ name: b }");
    memset(&t, 0, sizeof t);
    t.count = 3;
    assert_int_equal(sc_read(&c, m, "the thing", thing_keys, n, "count", &t), 0);
    assert_int_equal(t.count, 3);
    yaml_document_delete(&c.doc);

    /* the did-you-mean helper: a hint, or the fallback */
    char hint[64];
    assert_string_equal(sc_did_you_mean(hint, sizeof hint, "slwo", thing_modes, 3, "x"),
                        "did you mean 'slow'?");
    assert_string_equal(sc_did_you_mean(hint, sizeof hint, "zzzzzz", thing_modes, 3, "x"), "x");
    assert_null(sc_did_you_mean(hint, sizeof hint, NULL, thing_modes, 3, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_design_example_ws),
        cmocka_unit_test(test_ws_forms),
        cmocka_unit_test(test_ws_thresholds),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_steps_and_forward_capture),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_set_overrides),
        cmocka_unit_test(test_users_at),
        cmocka_unit_test(test_override_load),
        cmocka_unit_test(test_profile_of),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_open_model),
        cmocka_unit_test(test_open_overrides),
        cmocka_unit_test(test_error_format),
        cmocka_unit_test(test_load_from_disk),
        cmocka_unit_test(test_alias_bombs),
        cmocka_unit_test(test_env_through_plans),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_env_values_not_echoed),
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_flow_control),
        cmocka_unit_test(test_apply_tags),
        cmocka_unit_test(test_threshold_name_warnings),
        cmocka_unit_test(test_threshold_names_inside_pick_and_if),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
