/* worker/wsflow: a VU's WebSocket steps run against the shared loopback server living in
 * the same event_base (tests/unit/support.h, wslay's server API). The server echoes what
 * it gets, and obeys a few commands sent as text messages ("!send", "!multi", "!many",
 * "!close", "!stamp"), so each test writes its exchange as a flow of hand-built
 * sc_step values.
 * A small driver plays the engine: it runs steps until one waits, goes on from the
 * env's `done` callback, and runs `think` steps as timers. What the steps measured is
 * read back from the stats shard by (method, name). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <wslay/wslay.h>

#include "common/capture.h"
#include "common/jscan.h"
#include "common/scenario.h"
#include "common/stats.h"
#include "common/time.h"
#include "common/tmpl.h"
#include "tests/unit/support.h"
#include "worker/ws.h"
#include "worker/wsflow.h"

#define NAME "feed"

/* ---- the driver (plays the engine) -------------------------------------------------- */

#define MAXSTEPS 24
/* Lower bounds on waits measured with time_mono_us allow this much: libevent counts a
 * deadline from its own clock (CLOCK_MONOTONIC_COARSE on Linux, one tick is often
 * 4 ms, cached when the loop iteration began), so a timer can fire up to a tick plus
 * the iteration's work before time_mono_us says it is due; more on a loaded machine. */
#define SLACK_US 20000
#define MAXOWN   48

typedef struct run run;
struct run {
    struct event_base *base;
    srv s;
    char target[64];
    stats_shard shard;
    wsf_env env;
    wsflow f;
    /* the VU's template context and capture variables */
    tmpl_syms syms;
    tmpl_val vars[4];
    uint64_t rng, counter;
    tmpl_ctx ctx;
    /* the flow */
    sc_step steps[MAXSTEPS];
    int nsteps, pc, cur;
    struct event think;
    struct event aux;           /* a test's own timer (event_assign'ed when used) */
    bool waiting;               /* a WSF_WAIT step has not had its `done` yet */
    bool in_step;               /* inside wsflow_step */
    wsf_rc rc[MAXSTEPS];
    uint64_t t_start[MAXSTEPS], t_end[MAXSTEPS];
    int ndone, nreleased, bad_done;
    bool ended;                 /* every step ran */
    void (*on_end)(run *r);     /* NULL: stop the loop shortly */
    /* what the flow's steps own */
    tmpl *tm[MAXOWN];
    int ntm;
    jscan_path *jp[MAXOWN];
    int njp;
    jpath *cp[4];
    int ncp;
    sc_capture caps[4];
};

static void advance(run *r);

static void on_done(void *vu)
{
    run *r = vu;
    r->ndone++;
    if (!r->waiting || r->in_step) {
        r->bad_done++;          /* a done nobody waits for, or one from inside wsflow_step */
        return;
    }
    r->waiting = false;
    r->t_end[r->cur] = time_mono_us();
    advance(r);
}

static void on_released(void *vu)
{
    run *r = vu;
    r->nreleased++;
    struct timeval tv = { 0, 20000 };
    event_base_loopexit(r->base, &tv);
}

static void think_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run *r = arg;
    r->t_end[r->cur] = time_mono_us();
    advance(r);
}

static void stop_soon(run *r)
{
    struct timeval tv = { 0, 20000 };       /* lets the server read our last bytes */
    event_base_loopexit(r->base, &tv);
}

/* Runs steps from pc until one waits (WSF_WAIT or a think) or the flow ends. */
static void advance(run *r)
{
    while (r->pc < r->nsteps) {
        int i = r->pc++;
        const sc_step *s = &r->steps[i];
        r->cur = i;
        r->t_start[i] = time_mono_us();
        if (s->kind == STEP_THINK) {
            uint64_t ms = s->u.think.min_ms;
            struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };
            event_add(&r->think, &tv);
            return;
        }
        r->in_step = true;
        r->rc[i] = wsflow_step(&r->f, s, &r->ctx, r->vars);
        r->in_step = false;
        if (r->rc[i] == WSF_WAIT) {
            r->waiting = true;
            return;
        }
        r->t_end[i] = r->t_start[i];
    }
    r->ended = true;
    if (r->on_end)
        r->on_end(r);
    else
        stop_soon(r);
}

static run *g_run;     /* the test's run, freed by the teardown even when an assert fails */

static run *run_new(int mode)
{
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->base = event_base_new();
    assert_non_null(r->base);
    srv_start(&r->s, r->base, mode);
    r->s.want[0] = "GET /ws/feed HTTP/1.1\r\n";
    snprintf(r->target, sizeof r->target, "http://127.0.0.1:%d", r->s.port);
    assert_int_equal(stats_shard_init(&r->shard, 0), 0);
    r->env.base = r->base;
    r->env.shard = &r->shard;
    r->env.target = r->target;
    r->env.done = on_done;
    r->env.released = on_released;
    assert_int_equal(tmpl_syms_add(&r->syms, "id"), 0);
    r->rng = 0x9E3779B97F4A7C15ull;
    r->ctx = (tmpl_ctx){ .user_id = 1, .rng = &r->rng, .counter = &r->counter,
                         .thread_index = 0, .threads_total = 1, .vars = r->vars };
    event_assign(&r->think, r->base, -1, 0, think_cb, r);
    wsflow_init(&r->f, &r->env, r);
    g_run = r;
    return r;
}

static void run_free(run *r)
{
    wsflow_fini(&r->f);
    wsf_env_fini(&r->env);
    event_del(&r->think);
    if (event_initialized(&r->aux))
        event_del(&r->aux);
    srv_stop(&r->s);
    event_base_free(r->base);
    stats_shard_fini(&r->shard);
    for (int i = 0; i < r->ntm; i++)
        tmpl_free(r->tm[i]);
    for (int i = 0; i < r->njp; i++)
        jscan_free(r->jp[i]);
    for (int i = 0; i < r->ncp; i++)
        jpath_free(r->cp[i]);
    for (int i = 0; i < 4; i++)
        tmpl_val_fini(&r->vars[i]);
    tmpl_syms_fini(&r->syms);
    free(r);
    g_run = NULL;
}

static int teardown(void **st)
{
    (void)st;
    if (g_run)
        run_free(g_run);
    return 0;
}

/* Starts the flow and runs the loop until it stops (5 s at most). */
static void run_flow(run *r)
{
    struct timeval five = { 5, 0 };
    event_base_loopexit(r->base, &five);
    advance(r);
    event_base_dispatch(r->base);
}

/* ---- building steps ---------------------------------------------------------------- */

static tmpl *T(run *r, const char *text)
{
    char err[256], hint[256];
    size_t off;
    tmpl *t = tmpl_compile(text, strlen(text), TMPL_RAW, &r->syms, err, sizeof err, hint,
                           sizeof hint, &off);
    if (!t)
        print_error("tmpl \"%s\": %s\n", text, err);
    assert_non_null(t);
    assert_true(r->ntm < MAXOWN);
    r->tm[r->ntm++] = t;
    return t;
}

static jscan_path *J(run *r, const char *path)
{
    char err[256];
    size_t off;
    jscan_path *p = jscan_compile(path, err, sizeof err, &off);
    if (!p)
        print_error("jscan \"%s\": %s\n", path, err);
    assert_non_null(p);
    assert_true(r->njp < MAXOWN);
    r->jp[r->njp++] = p;
    return p;
}

static sc_ws *add(run *r, sc_ws_kind kind)
{
    assert_true(r->nsteps < MAXSTEPS);
    sc_step *s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    s->kind = STEP_WS;
    s->u.ws.kind = kind;
    return &s->u.ws;
}

static sc_ws *connect_step(run *r)
{
    sc_ws *w = add(r, SC_WS_CONNECT);
    w->name = (char *)NAME;
    w->url = T(r, "/ws/feed");
    w->timeout_ms = 2000;
    return w;
}

static sc_ws *send_step(run *r, const char *text)
{
    sc_ws *w = add(r, SC_WS_SEND);
    w->message = T(r, text);
    return w;
}

static sc_ws *expect_step(run *r, uint64_t timeout_ms)
{
    sc_ws *w = add(r, SC_WS_EXPECT);
    w->timeout_ms = timeout_ms;
    return w;
}

static sc_ws *expect_equals(run *r, const char *text, uint64_t timeout_ms)
{
    sc_ws *w = expect_step(r, timeout_ms);
    w->match.equals = T(r, text);
    return w;
}

static sc_ws *receive_step(run *r, uint32_t n, uint64_t timeout_ms)
{
    sc_ws *w = add(r, SC_WS_RECEIVE);
    w->count = n;
    w->timeout_ms = timeout_ms;
    return w;
}

static void listen_step(run *r, bool on)
{
    add(r, SC_WS_LISTEN)->listen = on;
}

static void close_step(run *r, uint16_t code)
{
    sc_ws *w = add(r, SC_WS_CLOSE);
    w->code = code;
    w->timeout_ms = 2000;
}

static void think_step(run *r, uint64_t ms)
{
    assert_true(r->nsteps < MAXSTEPS);
    sc_step *s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    s->kind = STEP_THINK;
    s->u.think.min_ms = s->u.think.max_ms = ms;
}

/* ---- reading the shard ------------------------------------------------------------- */

static const stats_entry *E(run *r, const char *method)
{
    return &r->shard.entries[stats_id(&r->shard, method, NAME)];
}

static uint64_t reqs(run *r, const char *method) { return E(r, method)->requests; }
static uint64_t fails(run *r, const char *method) { return E(r, method)->failures; }

/* Count of the error row (method's entry, kind, detail; detail NULL: any detail). */
static uint64_t errs(run *r, const char *method, stats_err_kind kind, const char *detail)
{
    uint32_t id = stats_id(&r->shard, method, NAME);
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->shard.nerrs; i++) {
        const stats_err *e = &r->shard.errs[i];
        if (e->entry == id && e->kind == kind && (!detail || !strcmp(e->detail, detail)))
            n += e->count;
    }
    return n;
}

static uint64_t all_errs(run *r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->shard.nerrs; i++)
        n += r->shard.errs[i].count;
    return n;
}

static void dump_errs(run *r)
{
    for (uint32_t i = 0; i < r->shard.nerrs; i++) {
        const stats_err *e = &r->shard.errs[i];
        print_message("  err %s/%s %s \"%s\" x%llu\n", r->shard.entries[e->entry].method,
                      r->shard.entries[e->entry].name, stats_err_kind_name(e->kind), e->detail,
                      (unsigned long long)e->count);
    }
}

static void dump(run *r)
{
    for (uint32_t i = 0; i < r->shard.nentries; i++) {
        const stats_entry *e = &r->shard.entries[i];
        print_message("  %s/%s req %llu fail %llu bytes %llu\n", e->method, e->name,
                      (unsigned long long)e->requests, (unsigned long long)e->failures,
                      (unsigned long long)e->bytes);
    }
    dump_errs(r);
}

static void assert_no_errors(run *r)
{
    if (all_errs(r))
        dump_errs(r);
    assert_int_equal(all_errs(r), 0);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_connect_send_expect_close(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "hello");
    expect_equals(r, "hello", 2000);
    close_step(r, 0);                           /* close: true -> 1000 */
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->rc[0], WSF_WAIT);
    assert_int_equal(r->rc[1], WSF_NEXT);
    assert_int_equal(r->rc[2], WSF_WAIT);
    assert_int_equal(r->rc[3], WSF_WAIT);
    assert_int_equal(r->ndone, 3);
    assert_no_errors(r);
    const stats_entry *c = E(r, STATS_WS_CONNECT);
    assert_int_equal(c->requests, 1);
    assert_int_equal(c->failures, 0);
    assert_int_equal(c->lat.total, 1);
    assert_true(c->lat.min_us > 0);
    assert_int_equal(reqs(r, STATS_WS_SENT), 1);
    assert_int_equal(E(r, STATS_WS_SENT)->bytes, 5);
    assert_int_equal(reqs(r, STATS_WS_RECV), 1);
    assert_int_equal(E(r, STATS_WS_RECV)->bytes, 5);
    const stats_entry *m = E(r, STATS_WS_MESSAGE);
    assert_int_equal(m->requests, 1);
    assert_int_equal(m->failures, 0);
    assert_int_equal(m->lat.total, 1);
    assert_true(m->lat.min_us > 0 && m->lat.max_us < 2000000);
    assert_int_equal(reqs(r, STATS_WS_CLOSE_PREFIX "1000"), 1);
    assert_int_equal(reqs(r, STATS_WS_RECONNECT), 0);
    assert_int_equal(reqs(r, STATS_WS_ORDER), 0);
    assert_int_equal(reqs(r, STATS_WS_FANOUT), 0);
    assert_int_equal(r->s.close_code, 1000);
    assert_int_equal(r->s.msgs, 1);
    assert_int_equal(r->f.conn.state, WS_IDLE);
    run_free(r);
}

/* The first message matches neither; the second does: the first is dropped, not kept. */
static void test_expect_contains_and_json(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    int slot = tmpl_syms_find(&r->syms, "id");
    connect_step(r);
    send_step(r, "!multi {\"type\":\"hello\",\"n\":1}|{\"type\":\"snapshot\",\"n\":2}");
    sc_ws *e = expect_step(r, 2000);
    e->match.json = J(r, "$.type");
    e->match.json_text = (char *)"$.type";
    e->match.json_equals = T(r, "snapshot");
    char err[128];
    size_t off;
    r->cp[r->ncp] = jpath_compile("$.n", err, sizeof err, &off);
    assert_non_null(r->cp[r->ncp]);
    r->caps[0] = (sc_capture){ .var = (char *)"id", .slot = slot, .kind = CAP_JSON,
                               .expr = (char *)"$.n", .path = r->cp[r->ncp++] };
    e->captures = r->caps;
    e->ncaptures = 1;
    expect_step(r, 150);                        /* anything: the dropped one is not queued */
    send_step(r, "!multi one|the snapshot is here|two");
    expect_step(r, 2000)->match.contains = T(r, "snap{{ 'shot' }}");
    receive_step(r, 1, 2000);                   /* "two" came after the match */
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_true(r->vars[slot].set);
    assert_string_equal(r->vars[slot].p, "2");
    assert_int_equal(r->rc[3], WSF_WAIT);       /* the queue was empty */
    assert_int_equal(reqs(r, STATS_WS_RECV), 5);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 4);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_TIMEOUT, NULL), 1);
    assert_int_equal(all_errs(r), 1);
    assert_int_equal(r->rc[6], WSF_NEXT);       /* "two" was queued after the match */
    run_free(r);
}

static void test_expect_timeout(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "hello");
    expect_equals(r, "never", 200);
    send_step(r, "x");
    receive_step(r, 2, 150);                    /* only one comes */
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->rc[2], WSF_WAIT);
    assert_true(r->t_end[2] - r->t_start[2] >= 200000 - SLACK_US);
    assert_true(r->t_end[4] - r->t_start[4] >= 150000 - SLACK_US);
    const stats_entry *m = E(r, STATS_WS_MESSAGE);
    assert_int_equal(m->requests, 2);
    assert_int_equal(m->failures, 2);
    assert_true(m->lat.max_us >= 200000 - SLACK_US);    /* failures carry the time waited */
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_TIMEOUT, NULL), 2);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_TIMEOUT, "expect"), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_TIMEOUT, "receive"), 1);
    assert_int_equal(fails(r, STATS_WS_CONNECT), 0);
    assert_int_equal(reqs(r, STATS_WS_RECV), 2);
    run_free(r);
}

/* Messages that come while nothing waits are queued; the next expect takes them in
 * order, and their latency ends at their arrival, not at the expect. */
static void test_queued_messages(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "!multi one|two|three");
    think_step(r, 150);
    expect_equals(r, "one", 1000);
    expect_equals(r, "three", 1000);            /* drops "two" from the queue */
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_no_errors(r);
    assert_int_equal(r->rc[3], WSF_NEXT);
    assert_int_equal(r->rc[4], WSF_NEXT);
    assert_true(r->t_start[3] - r->t_start[1] >= 150000 - SLACK_US);
    const stats_entry *m = E(r, STATS_WS_MESSAGE);
    assert_int_equal(m->requests, 2);
    assert_int_equal(m->failures, 0);
    /* "one": send -> arrival, well under the 150 ms think (not send -> the expect);
     * "three": it arrived before its step started, with nothing sent since the last
     * match, so 0 */
    assert_true(m->lat.max_us < 100000);
    assert_int_equal(m->lat.min_us, 0);
    assert_int_equal(reqs(r, STATS_WS_RECV), 3);
    assert_int_equal(r->f.inbox_n, 0);
    run_free(r);
}

static void test_receive_n(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "!multi a|bb|ccc");
    receive_step(r, 2, 2000);
    think_step(r, 100);                         /* "ccc" is queued meanwhile */
    receive_step(r, 1, 2000);
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->rc[2], WSF_WAIT);
    assert_int_equal(r->rc[4], WSF_NEXT);
    assert_no_errors(r);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 2);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 0);
    assert_int_equal(E(r, STATS_WS_MESSAGE)->lat.total, 2);
    assert_int_equal(reqs(r, STATS_WS_RECV), 3);
    assert_int_equal(E(r, STATS_WS_RECV)->bytes, 6);
    assert_int_equal(E(r, STATS_WS_SENT)->bytes, strlen("!multi a|bb|ccc"));
    run_free(r);
}

/* listen: true consumes what nobody waits for; listen: false queues again. */
static void test_listen(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    listen_step(r, true);
    send_step(r, "!send a");
    think_step(r, 100);                         /* "a" arrives and is consumed */
    expect_step(r, 200);                        /* any message: none new comes */
    send_step(r, "!send b");
    expect_equals(r, "b", 2000);                /* waits for the new one */
    listen_step(r, false);
    send_step(r, "!send c");
    think_step(r, 100);
    expect_equals(r, "c", 2000);                /* queued again */
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->rc[1], WSF_NEXT);
    assert_int_equal(r->rc[4], WSF_WAIT);
    assert_int_equal(r->rc[6], WSF_WAIT);
    assert_int_equal(r->rc[10], WSF_NEXT);
    assert_int_equal(reqs(r, STATS_WS_RECV), 3);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 3);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_TIMEOUT, "expect"), 1);
    assert_int_equal(all_errs(r), 1);
    run_free(r);
}

static void test_sequence_out_of_order(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r)->sequence = J(r, "$.seq");
    send_step(r, "!multi {\"seq\":1}|{\"seq\":3}|{\"seq\":2}");
    receive_step(r, 3, 2000);
    send_step(r, "!multi {\"seq\":\"4\"}|{\"no\":5}|{\"seq\":5}");
    receive_step(r, 3, 2000);
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_no_errors(r);
    assert_int_equal(reqs(r, STATS_WS_RECV), 6);
    assert_int_equal(reqs(r, STATS_WS_ORDER), 5);   /* the one without seq is not counted */
    assert_int_equal(fails(r, STATS_WS_ORDER), 1);  /* 2 after 3 */
    run_free(r);
}

static void test_stamp_fanout(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r)->stamp = J(r, "$.ts");
    send_step(r, "!stamp 20000");               /* sent 20 ms "ago" */
    receive_step(r, 1, 2000);
    send_step(r, "{\"ts\":{{ now_us }},\"x\":1}"); /* echoed: a fresh stamp */
    receive_step(r, 1, 2000);
    send_step(r, "{\"x\":1}");                  /* no stamp: no sample */
    receive_step(r, 1, 2000);
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_no_errors(r);
    const stats_entry *fo = E(r, STATS_WS_FANOUT);
    assert_int_equal(fo->requests, 2);
    assert_int_equal(fo->lat.total, 2);
    assert_true(fo->lat.max_us >= 20000 && fo->lat.max_us < 2000000);
    assert_true(fo->lat.min_us < 20000);
    assert_int_equal(reqs(r, STATS_WS_RECV), 3);
    run_free(r);
}

/* The server closes with `code` while an expect waits: the close is counted under
 * WS:c:CODE with a ws_close error (detail: the code) on WS:connect, and the expect
 * fails at once instead of running to its deadline. */
static void server_close(uint16_t code)
{
    run *r = run_new(SRV_ECHO);
    char cmd[32], method[STATS_METHOD_MAX], detail[8];
    snprintf(cmd, sizeof cmd, "!close %u", (unsigned)code);
    snprintf(method, sizeof method, STATS_WS_CLOSE_PREFIX "%u", (unsigned)code);
    snprintf(detail, sizeof detail, "%u", (unsigned)code);
    connect_step(r);
    send_step(r, cmd);
    expect_step(r, 3000);
    send_step(r, "late");                       /* not connected any more */
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_true(r->t_end[2] - r->t_start[2] < 2000000);
    if (reqs(r, method) != 1 || errs(r, STATS_WS_CONNECT, ERR_WS_CLOSE, detail) != 1)
        dump(r);
    assert_int_equal(reqs(r, method), 1);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_WS_CLOSE, detail), 1);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_WS_CLOSE, NULL), 1);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_WS_CLOSE, "send while not connected"), 1);
    assert_int_equal(all_errs(r), 3);
    assert_int_equal(reqs(r, STATS_WS_SENT), 1);
    assert_int_equal(reqs(r, STATS_WS_CONNECT), 1);
    assert_int_equal(reqs(r, STATS_WS_RECONNECT), 0);
    assert_int_equal(r->f.conn.state, WS_IDLE);
    /* our echo of its close; this test server is wslay, which refuses to record codes
     * 1012-1014 (tests/integration/test_ws_load.py checks them against our target and
     * python3-websockets, which count them) */
    if (code < 1012)
        assert_int_equal(r->s.close_code, code);
    run_free(r);
}

static void test_server_close_1011(void **st)
{
    (void)st;
    server_close(1011);
}

/* 1012 (Service Restart, IANA registry of RFC 6455 codes) is what a restarting server
 * sends: the case reconnect exists for. */
static void test_server_close_1012(void **st)
{
    (void)st;
    server_close(1012);
}

/* With reconnect { max: 2, backoff: 50ms } the expect keeps waiting and is answered on
 * the new connection. */
static void test_server_close_reconnect(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    r->s.greet_again = "welcome back";
    sc_ws *c = connect_step(r);
    c->reconnect_max = 2;
    c->reconnect_backoff_ms = 50;
    send_step(r, "!close 1011");
    expect_equals(r, "welcome back", 3000);
    send_step(r, "hello");
    expect_equals(r, "hello", 2000);
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->s.accepted, 2);
    assert_int_equal(reqs(r, STATS_WS_CLOSE_PREFIX "1011"), 1);
    assert_int_equal(reqs(r, STATS_WS_CLOSE_PREFIX "1000"), 1);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_WS_CLOSE, "1011"), 1);
    assert_int_equal(all_errs(r), 1);
    const stats_entry *rc = E(r, STATS_WS_RECONNECT);
    assert_int_equal(rc->requests, 1);
    assert_int_equal(rc->failures, 0);
    assert_true(rc->lat.min_us >= 50000 - SLACK_US);   /* the backoff is part of it */
    assert_true(rc->lat.max_us < 2000000);
    assert_int_equal(reqs(r, STATS_WS_CONNECT), 2);
    assert_int_equal(fails(r, STATS_WS_CONNECT), 0);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 2);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 0);
    assert_true(E(r, STATS_WS_MESSAGE)->lat.max_us >= 50000 - SLACK_US); /* "!close" -> greeting */
    assert_int_equal(r->s.close_code, 1000);
    run_free(r);
}

/* Reconnects that are refused: two attempts (backoff 20 ms then 40 ms), then the
 * waiting expect fails. */
static void test_reconnect_gives_up(void **st)
{
    (void)st;
    run *r = run_new(SRV_REFUSE_AGAIN);
    sc_ws *c = connect_step(r);
    c->reconnect_max = 2;
    c->reconnect_backoff_ms = 20;
    send_step(r, "!close 1011");
    expect_step(r, 3000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->s.accepted, 3);
    assert_true(r->t_end[2] - r->t_start[2] >= 60000 - SLACK_US);   /* 20 ms, then 40 ms */
    assert_true(r->t_end[2] - r->t_start[2] < 2500000);
    assert_int_equal(reqs(r, STATS_WS_CONNECT), 3);
    assert_int_equal(fails(r, STATS_WS_CONNECT), 2);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_WS_UPGRADE, "403"), 2);
    assert_int_equal(reqs(r, STATS_WS_RECONNECT), 0);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_WS_CLOSE, NULL), 1);
    assert_int_equal(r->f.conn.state, WS_IDLE);
    run_free(r);
}

static void test_upgrade_refused(void **st)
{
    (void)st;
    run *r = run_new(SRV_REFUSE);
    connect_step(r);
    expect_step(r, 1000);                       /* nothing to wait on: fails at once */
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->rc[0], WSF_WAIT);
    assert_int_equal(r->rc[1], WSF_NEXT);
    const stats_entry *c = E(r, STATS_WS_CONNECT);
    assert_int_equal(c->requests, 1);
    assert_int_equal(c->failures, 1);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_WS_UPGRADE, "403"), 1);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_WS_CLOSE, NULL), 1);
    assert_int_equal(r->f.conn.state, WS_IDLE);
    run_free(r);
}

static void release_at_end(run *r)
{
    assert_true(wsflow_release(&r->f));         /* released comes later and stops the loop */
    assert_int_equal(r->nreleased, 0);
}

static void test_release(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    r->on_end = release_at_end;
    connect_step(r);
    send_step(r, "hello");
    expect_equals(r, "hello", 2000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->nreleased, 1);
    assert_int_equal(r->ndone, 2);
    assert_int_equal(r->bad_done, 0);
    assert_int_equal(r->s.close_code, 1001);
    assert_int_equal(reqs(r, STATS_WS_CLOSE_PREFIX "1001"), 1);
    assert_no_errors(r);
    assert_int_equal(r->f.conn.state, WS_IDLE);
    assert_false(wsflow_release(&r->f));        /* nothing left to close */
    assert_int_equal(r->nreleased, 1);
    run_free(r);
}

static void cancel_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run *r = arg;
    assert_true(r->waiting);
    assert_true(wsflow_cancel(&r->f));
    assert_int_equal(r->f.conn.state, WS_IDLE);
    struct timeval tv = { 0, 400000 };          /* past the expect's own deadline */
    event_base_loopexit(r->base, &tv);
}

static void test_cancel_during_expect(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    expect_equals(r, "never", 300);
    close_step(r, 1000);
    event_assign(&r->aux, r->base, -1, 0, cancel_cb, r);
    struct timeval tv = { 0, 150000 };
    event_add(&r->aux, &tv);
    run_flow(r);
    assert_int_equal(r->ndone, 1);              /* the connect's; none for the expect */
    assert_int_equal(r->bad_done, 0);
    assert_true(r->waiting);
    assert_false(r->ended);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 0);   /* the engine counts it as cancelled */
    assert_int_equal(reqs(r, STATS_WS_CLOSE_PREFIX "1000"), 0);
    assert_int_equal(r->s.close_code, 0);       /* no close frame */
    assert_int_equal(r->s.eof_without_close, 1);
    assert_false(wsflow_cancel(&r->f));         /* nothing waits any more */
    run_free(r);
}

static void test_binary_send(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    sc_ws *s = send_step(r, "AAEC/w==");
    s->payload = SC_WS_BINARY;
    receive_step(r, 1, 2000);
    send_step(r, "not base64!")->payload = SC_WS_BINARY;
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->s.msgs, 1);
    assert_int_equal(r->s.last_op, WSLAY_BINARY_FRAME);
    assert_int_equal(r->s.last_len, 4);
    assert_memory_equal(r->s.last, "\x00\x01\x02\xff", 4);
    assert_int_equal(reqs(r, STATS_WS_SENT), 1);
    assert_int_equal(E(r, STATS_WS_SENT)->bytes, 4);
    assert_int_equal(reqs(r, STATS_WS_RECV), 1);
    assert_int_equal(E(r, STATS_WS_RECV)->bytes, 4);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_OTHER, NULL), 1);
    assert_int_equal(all_errs(r), 1);
    run_free(r);
}

/* Issue 9, item 3: a payload that is not base64 (it may hold an env() value) is counted
 * with a fixed detail that quotes none of it. */
static void test_binary_send_error_quotes_nothing(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "QUFBs3cr3t!v@lue")->payload = SC_WS_BINARY;
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_OTHER, "send: binary is not base64"), 1);
    for (uint32_t i = 0; i < r->shard.nerrs; i++) {
        const char *d = r->shard.errs[i].detail;
        assert_null(strstr(d, "s3cr3t"));
        assert_null(strchr(d, '!'));
        assert_null(strchr(d, '@'));
    }
    run_free(r);
}

/* A capture that finds nothing fails the expect (kind expect) and unsets the variable. */
static void test_capture_failure(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    int slot = tmpl_syms_find(&r->syms, "id");
    assert_int_equal(tmpl_val_set(&r->vars[slot], "old", 3), 0);
    r->vars[slot].set = true;
    connect_step(r);
    send_step(r, "{\"type\":\"snapshot\"}");
    sc_ws *e = expect_step(r, 2000);
    e->match.json = J(r, "$.type");
    e->match.json_text = (char *)"$.type";
    char err[128];
    size_t off;
    r->cp[r->ncp] = jpath_compile("$.nope", err, sizeof err, &off);
    assert_non_null(r->cp[r->ncp]);
    r->caps[0] = (sc_capture){ .var = (char *)"id", .slot = slot, .kind = CAP_JSON,
                               .expr = (char *)"$.nope", .path = r->cp[r->ncp++] };
    e->captures = r->caps;
    e->ncaptures = 1;
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(r->bad_done, 0);
    assert_false(r->vars[slot].set);
    assert_int_equal(reqs(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_int_equal(errs(r, STATS_WS_MESSAGE, ERR_EXPECT, "capture id"), 1);
    assert_int_equal(all_errs(r), 1);
    run_free(r);
}

/* More than WSF_INBOX_MAX messages while nothing waits: the oldest are dropped (each
 * an error), the rest stay in order. */
static void test_inbox_overflow(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    send_step(r, "!many 300");
    think_step(r, 300);
    expect_equals(r, "m44", 1000);              /* the oldest kept: no drop to reach it */
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(reqs(r, STATS_WS_RECV), 300);
    assert_int_equal(r->rc[3], WSF_NEXT);
    assert_int_equal(r->f.inbox_n, WSF_INBOX_MAX - 1);
    assert_int_equal(errs(r, STATS_WS_CONNECT, ERR_OTHER, "inbox full: message dropped"),
                     300 - WSF_INBOX_MAX);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 0);
    run_free(r);
}

static void test_ping(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r)->ping_ms = 30;
    think_step(r, 250);
    close_step(r, 1000);
    run_flow(r);
    assert_true(r->ended);
    assert_no_errors(r);
    const stats_entry *p = E(r, STATS_WS_PING);
    assert_true(p->requests >= 3 && p->requests <= 9);
    assert_int_equal(p->failures, 0);
    assert_true(p->lat.min_us > 0 && p->lat.max_us < 250000);
    run_free(r);
}

/* The open model (issue 11): with a step base 100 ms in the past (an arrival that
 * waited), the connect and the reply carry the wait in their latency and not in their
 * service time (from the dial, from the send); both histograms filled; nothing failed. */
static void test_open_model_lat_and_svc(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    r->f.open_model = true;
    r->f.base_us = time_mono_us() - 100000;
    connect_step(r);
    send_step(r, "hello");
    expect_equals(r, "hello", 2000);
    close_step(r, 0);
    run_flow(r);
    assert_true(r->ended);
    assert_no_errors(r);
    assert_false(r->f.failed);
    static const char *const figs[] = { STATS_WS_CONNECT, STATS_WS_MESSAGE };
    for (int i = 0; i < 2; i++) {
        const stats_entry *e = E(r, figs[i]);
        assert_int_equal(e->requests, 1);
        assert_int_equal(e->lat.total, 1);
        assert_int_equal(e->svc.total, 1);
        assert_true(e->lat.min_us >= e->svc.max_us + 100000);
    }
    run_free(r);
}

/* A failure recorded sets f.failed (the engine's iteration row reads it). */
static void test_failed_flag(void **st)
{
    (void)st;
    run *r = run_new(SRV_ECHO);
    connect_step(r);
    expect_equals(r, "never", 100);
    close_step(r, 0);
    run_flow(r);
    assert_true(r->ended);
    assert_int_equal(fails(r, STATS_WS_MESSAGE), 1);
    assert_true(r->f.failed);
    assert_int_equal(E(r, STATS_WS_MESSAGE)->svc.total, 0);    /* closed model: lat only */
    run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_connect_send_expect_close, teardown),
        cmocka_unit_test_teardown(test_expect_contains_and_json, teardown),
        cmocka_unit_test_teardown(test_expect_timeout, teardown),
        cmocka_unit_test_teardown(test_queued_messages, teardown),
        cmocka_unit_test_teardown(test_receive_n, teardown),
        cmocka_unit_test_teardown(test_listen, teardown),
        cmocka_unit_test_teardown(test_sequence_out_of_order, teardown),
        cmocka_unit_test_teardown(test_stamp_fanout, teardown),
        cmocka_unit_test_teardown(test_server_close_1011, teardown),
        cmocka_unit_test_teardown(test_server_close_1012, teardown),
        cmocka_unit_test_teardown(test_server_close_reconnect, teardown),
        cmocka_unit_test_teardown(test_reconnect_gives_up, teardown),
        cmocka_unit_test_teardown(test_upgrade_refused, teardown),
        cmocka_unit_test_teardown(test_release, teardown),
        cmocka_unit_test_teardown(test_cancel_during_expect, teardown),
        cmocka_unit_test_teardown(test_binary_send, teardown),
        cmocka_unit_test_teardown(test_binary_send_error_quotes_nothing, teardown),
        cmocka_unit_test_teardown(test_capture_failure, teardown),
        cmocka_unit_test_teardown(test_inbox_overflow, teardown),
        cmocka_unit_test_teardown(test_ping, teardown),
        cmocka_unit_test_teardown(test_open_model_lat_and_svc, teardown),
        cmocka_unit_test_teardown(test_failed_flag, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
