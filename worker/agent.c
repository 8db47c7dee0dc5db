/* Worker agent: see agent.h. The thread loops on nng_recv with a short timeout so that
 * it also sends heartbeats, notices a silent master, finished engines and stop requests. */
#include "worker/agent.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include "common/log.h"
#include "common/time.h"
#include "proto/msg.h"
#include "proto/plan.h"
#include "proto/seal.h"
#include <openssl/crypto.h>
#include "worker/engine.h"

#define AGENT_POLL_MS   50
#define AGENT_ACK_MS    2000
/* A master that refuses this worker (REJECT: wrong or missing key, too many threads) or
 * does not prove the shared key: the agent closes its dialer and dials again after a
 * wait that doubles from AGENT_BACKOFF_MIN_MS to AGENT_BACKOFF_MAX_MS (issue 12: it used
 * to redial twice a second forever), logging the master's reason and the wait each
 * time. A WELCOME that proves the key resets it. Plain connection losses keep nng's own
 * quick redial (a restarted master is found again at once). */
#define AGENT_BACKOFF_MIN_MS 500
#define AGENT_BACKOFF_MAX_MS 60000
/* The engines' deltas wait here for the agent thread (agent_emit). The agent drains the
 * queue every pass of its loop (at most AGENT_POLL_MS apart), before any message of its
 * own and before a run ends, so ~20 engines x one delta per interval never come near
 * it; a full queue (the agent thread stuck in a send for the send timeout) drops the
 * delta, counted and logged. */
#define AGENT_EMITQ 1024

struct agent {
    agent_cfg   cfg;
    auth_key    key;            /* copy; len 0: none */
    allow_list  allow;
    char        id[PROTO_ID_MAX];
    char        host[PROTO_HOST_MAX];
    nng_socket  sock;
    pthread_t   th;
    atomic_bool quit;
    atomic_bool ended;
    atomic_uint pipe_id;        /* current pipe to the master (0: none) */
    atomic_bool pipe_lost;      /* set by the pipe callback */
    atomic_uint dialer_id;      /* the dialer of the current pipe (0: none seen yet) */
    /* agent thread only */
    bool        welcomed;       /* the master proved the key (or none is used) */
    uint8_t     nonce_m[PROTO_NONCE_LEN], nonce_w[PROTO_NONCE_LEN];
    uint64_t    last_rx_us, last_hb_us, hb_seq;
    time_cpu    cpu;            /* for the heartbeat's cpu_pct */
    scenario   *sc;
    engine    **engines;
    uint32_t    nengines;
    agent_book  book;           /* which engine runs each slot (ADOPT/RELEASE deal from it) */
    uint64_t    run_id;
    bool        stopping;
    uint64_t    dropped;        /* messages that did not decode */
    uint64_t    seal_failures;  /* sealed sessions ended by a frame that failed */
    uint64_t    drop_log_us;    /* when a dropped message was last logged */
    uint32_t    backoff_ms;     /* the next refusal's wait (0: AGENT_BACKOFF_MIN_MS) */
    uint64_t    retry_at_us;    /* refused: dial again at this instant (0: dialing) */
    uint32_t    refusals;       /* in a row, since the last WELCOME */
    /* With a shared key, everything after WELCOME is sealed (proto/seal.h). send_mu
     * serializes sealing and sending (the agent thread and every engine's emit), so
     * frames reach the wire in sequence order; the agent thread changes the session
     * only under it. */
    pthread_mutex_t send_mu;
    seal_session seal;          /* in force (under send_mu) */
    seal_session seal_next;     /* derived at HELLO, in force once WELCOME proves the key */
    uint32_t    seal_pipe;      /* the connection the session belongs to */
    /* Deltas handed over by the engines (agent_emit), sent by the agent thread in the
     * order handed over: a ring of AGENT_EMITQ under emit_mu (held only to push or pop
     * one entry, never while sending). */
    pthread_mutex_t emit_mu;
    struct agent_delta { char *buf; size_t len; } *emitq;
    uint32_t    emit_head, emit_n;
    atomic_ullong deltas_lost;  /* queue full, or the send failed */
};

/* Sends an encoded message (takes buf), sealed when a session is in force. Any thread. */
static int agent_send_buf(agent *a, char *buf, size_t len)
{
    pthread_mutex_lock(&a->send_mu);
    int rv = 0;
    if (a->seal.on) {
        char *sealed;
        size_t slen;
        if (seal_wrap(&a->seal, buf, len, &sealed, &slen) != 0) {
            rv = NNG_ENOMEM;
        } else {
            free(buf);
            buf = sealed;
            len = slen;
        }
    }
    if (rv == 0) rv = nng_send(a->sock, buf, len, 0);
    pthread_mutex_unlock(&a->send_mu);
    free(buf);
    return rv;
}

static void agent_drain(agent *a);

/* Agent thread: the deltas handed over so far go first, so a DONE or a heartbeat never
 * overtakes a delta emitted before it. */
static int agent_send(agent *a, const proto_msg *m)
{
    agent_drain(a);
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0) return -1;
    int rv = agent_send_buf(a, buf, len);
    if (rv != 0) log_warn("worker", "send %s: %s", proto_type_name(m->type), nng_strerror(rv));
    return rv;
}

/* Engine thread: hand an encoded delta to the agent thread (takes buf). It never waits
 * for the socket, the seal or send_mu (which a send holds up to the send timeout): it
 * only pushes onto the queue (measured before: nng_send from here held the engine
 * 1.0-1.3 ms every interval). A full queue drops the delta, counted and logged. */
static void agent_emit(void *ud, char *buf, size_t len)
{
    agent *a = ud;
    pthread_mutex_lock(&a->emit_mu);
    bool queued = a->emit_n < AGENT_EMITQ;
    if (queued) {
        a->emitq[(a->emit_head + a->emit_n) % AGENT_EMITQ] = (struct agent_delta){ buf, len };
        a->emit_n++;
    }
    pthread_mutex_unlock(&a->emit_mu);
    if (!queued) {
        free(buf);
        unsigned long long n = atomic_fetch_add(&a->deltas_lost, 1) + 1;
        log_error("worker", "stats delta lost: the send queue is full (%llu lost)", n);
    }
}

/* Agent thread: sends the queued deltas, oldest first. A failed send loses that delta
 * (counted and logged, as a failed send did from the engine thread before). */
static void agent_drain(agent *a)
{
    for (;;) {
        pthread_mutex_lock(&a->emit_mu);
        struct agent_delta d = { NULL, 0 };
        if (a->emit_n > 0) {
            d = a->emitq[a->emit_head];
            a->emit_head = (a->emit_head + 1) % AGENT_EMITQ;
            a->emit_n--;
        }
        pthread_mutex_unlock(&a->emit_mu);
        if (!d.buf) return;
        int rv = agent_send_buf(a, d.buf, d.len);
        if (rv != 0) {
            unsigned long long n = atomic_fetch_add(&a->deltas_lost, 1) + 1;
            log_error("worker", "stats delta lost: %s (%llu lost)", nng_strerror(rv), n);
        }
    }
}

/* Agent thread: put a session in force (or end it: NULL), under send_mu. */
static void agent_set_seal(agent *a, const seal_session *s, uint32_t pipe)
{
    pthread_mutex_lock(&a->send_mu);
    if (s) a->seal = *s;
    else seal_clear(&a->seal);
    a->seal_pipe = pipe;
    pthread_mutex_unlock(&a->send_mu);
}

static void agent_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    agent *a = arg;
    if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_store(&a->dialer_id, (unsigned)nng_dialer_id(nng_pipe_dialer(p)));
        atomic_store(&a->pipe_id, (unsigned)nng_pipe_id(p));
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        unsigned cur = (unsigned)nng_pipe_id(p);
        if (atomic_compare_exchange_strong(&a->pipe_id, &cur, 0u)) atomic_store(&a->pipe_lost, true);
    }
}

/* The master refused this worker (or did not prove the key): no redial until the
 * backoff's wait is over (AGENT_BACKOFF_MIN_MS at the top). The dialer is closed (its
 * connection with it) and agent_main dials again at retry_at_us. Agent thread. */
static void agent_refused(agent *a, const char *reason)
{
    uint32_t wait = a->backoff_ms ? a->backoff_ms : AGENT_BACKOFF_MIN_MS;
    a->backoff_ms = wait >= AGENT_BACKOFF_MAX_MS / 2 ? AGENT_BACKOFF_MAX_MS : wait * 2;
    a->refusals++;
    a->welcomed = false;
    a->retry_at_us = time_mono_us() + (uint64_t)wait * 1000;
    log_error("worker", "the master refused this worker: %s; dialing again in %.1f s (%u refusals in a row)",
              reason, wait / 1000.0, a->refusals);
    agent_set_seal(a, NULL, 0);
    seal_clear(&a->seal_next);
    atomic_store(&a->pipe_id, 0u);          /* its closing is no "lost master" */
    unsigned did = atomic_exchange(&a->dialer_id, 0u);
    if (did) {
        nng_dialer d = NNG_DIALER_INITIALIZER;
        d.id = did;
        nng_dialer_close(d);                /* closes its connection; nng redials no more */
    }
}

/* agent_main: the backoff's wait is over; dial again (a failed dial waits once more). */
static void agent_redial(agent *a)
{
    char err[256];
    a->retry_at_us = 0;
    if (transport_dial(a->sock, a->cfg.master_url, a->cfg.tls, err, sizeof err) != 0) {
        uint32_t wait = a->backoff_ms ? a->backoff_ms : AGENT_BACKOFF_MIN_MS;
        a->retry_at_us = time_mono_us() + (uint64_t)wait * 1000;
        log_error("worker", "%s; trying again in %.1f s", err, wait / 1000.0);
        return;
    }
    log_info("worker", "dialing the master again after %u refusals", a->refusals);
}

static void agent_hello(agent *a, const proto_challenge *ch)
{
    proto_msg m = { .type = MSG_HELLO };
    proto_hello *h = &m.u.hello;
    snprintf(h->id, sizeof h->id, "%s", a->id);
    snprintf(h->host, sizeof h->host, "%s", a->host);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->cores = cores > 0 ? (uint32_t)cores : 1;
    h->threads = a->cfg.threads;
    snprintf(h->version, sizeof h->version, "%s", STAMPEDE_VERSION);
    h->caps = 1u | 4u;          /* http, http2 */
    memcpy(a->nonce_m, ch->nonce, PROTO_NONCE_LEN);
    if (auth_nonce(a->nonce_w) != 0) log_warn("worker", "no random nonce available");
    memcpy(h->nonce, a->nonce_w, PROTO_NONCE_LEN);
    agent_set_seal(a, NULL, 0);     /* a new connection: the HELLO goes out plain */
    seal_clear(&a->seal_next);
    if (a->key.len) {
        auth_hello_proof(&a->key, a->nonce_m, a->nonce_w, a->id, h->proof);
        h->has_proof = true;
        if (seal_derive(&a->seal_next, &a->key, a->nonce_m, a->nonce_w, a->id, false) != 0)
            log_error("worker", "cannot derive session keys: no plan will be accepted");
    } else if (ch->key_required) {
        log_error("worker", "the master requires a shared key: give --key-file");
    }
    a->welcomed = false;
    agent_send(a, &m);
}

static void agent_welcome(agent *a, const proto_welcome *w, uint32_t pipe)
{
    if (a->key.len) {
        uint8_t want[PROTO_PROOF_LEN];
        auth_welcome_proof(&a->key, a->nonce_w, a->nonce_m, want);
        if (!w->has_proof || !auth_equal(want, w->proof) || !a->seal_next.on) {
            char why[PROTO_ID_MAX + 64];
            snprintf(why, sizeof why, "master %s did not prove the shared key", w->master);
            agent_refused(a, why);      /* no plan would be accepted from it anyway */
            return;
        }
        agent_set_seal(a, &a->seal_next, pipe);   /* everything from now on is sealed */
        seal_clear(&a->seal_next);
    }
    a->welcomed = true;
    a->backoff_ms = 0;                  /* a proven master: the next refusal starts over */
    a->refusals = 0;
    log_info("worker", "joined master %s", w->master);
}

static void agent_refuse(agent *a, uint64_t run_id, const char *reason)
{
    proto_msg m = { .type = MSG_REFUSE };
    m.u.refuse.run_id = run_id;
    snprintf(m.u.refuse.worker, sizeof m.u.refuse.worker, "%s", a->id);
    snprintf(m.u.refuse.reason, sizeof m.u.refuse.reason, "%s", reason);
    log_warn("worker", "plan refused: %s", reason);
    agent_send(a, &m);
}

static bool agent_all_finished(agent *a)
{
    for (uint32_t i = 0; i < a->nengines; i++)
        if (!engine_finished(a->engines[i])) return false;
    return true;
}

/* Joins and frees the engines; sends DONE unless the master is gone. */
static void agent_end_run(agent *a, const char *reason, bool send_done)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->nengines; i++) {
        if (engine_finished(a->engines[i])) n++;
        engine_join_free(a->engines[i]);
    }
    agent_drain(a);             /* the final deltas, also when no DONE follows */
    free(a->engines);
    a->engines = NULL;
    a->nengines = 0;
    agent_book_fini(&a->book);
    scenario_free(a->sc);
    a->sc = NULL;
    a->stopping = false;
    if (!send_done) return;
    proto_msg m = { .type = MSG_DONE };
    m.u.done.run_id = a->run_id;
    m.u.done.threads = n;
    snprintf(m.u.done.worker, sizeof m.u.done.worker, "%s", a->id);
    snprintf(m.u.done.reason, sizeof m.u.done.reason, "%s", reason);
    agent_send(a, &m);
}

static void agent_plan(agent *a, const proto_plan *p)
{
    if (!a->welcomed) {
        agent_refuse(a, p->run_id, "the master has not proved the shared key");
        return;
    }
    if (a->sc) {
        agent_refuse(a, p->run_id, "worker is busy with another run");
        return;
    }
    if (p->name_cap > 10000) {
        agent_refuse(a, p->run_id, "name_cap above 10000 (stats deltas would pass the message size limit)");
        return;
    }
    if (p->threads_total == 0) {
        agent_refuse(a, p->run_id, "plan has no slots");
        return;
    }
    sc_error err;
    scenario *sc = plan_scenario(p, &err);
    if (!sc) {
        char msg[1024];
        sc_error_format(&err, msg, sizeof msg);
        agent_refuse(a, p->run_id, msg);
        return;
    }
    char why[512];
    if (allow_check_scenario(&a->allow, sc, why, sizeof why) != 0) {
        scenario_free(sc);
        agent_refuse(a, p->run_id, why);
        return;
    }
    a->sc = sc;
    a->run_id = p->run_id;
    a->stopping = false;
    /* The synchronized start is a wall-clock instant; engines count in monotonic time.
     * A worker joining late computes the same schedule from the same instant. */
    uint64_t now_wall = time_wall_ms(), now_mono = time_mono_us();
    uint64_t start_mono;
    if (p->start_at_ms >= now_wall) start_mono = now_mono + (p->start_at_ms - now_wall) * 1000;
    else start_mono = now_mono - (now_wall - p->start_at_ms) * 1000;
    a->engines = calloc(a->cfg.threads, sizeof *a->engines);
    uint32_t *mine = calloc(p->nslots + 1, sizeof *mine);
    if (!a->engines || !mine) {
        free(mine);
        free(a->engines);
        a->engines = NULL;
        scenario_free(sc);
        a->sc = NULL;
        agent_refuse(a, p->run_id, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < a->cfg.threads; i++) {
        /* engine i gets slots i, i + threads, i + 2*threads, ... of the plan's list */
        uint32_t n = 0;
        for (uint32_t j = i; j < p->nslots; j += a->cfg.threads) mine[n++] = p->slots[j];
        engine_cfg c = { .sc = sc, .target = sc->target, .run_id = p->run_id, .worker_id = a->id,
                         .slots = mine, .nslots = n, .threads_total = p->threads_total,
                         .start_mono_us = start_mono, .interval_ms = p->interval_ms ? p->interval_ms : 1000,
                         .name_cap = p->name_cap ? p->name_cap : STATS_DEFAULT_NAME_CAP,
                         .emit = agent_emit, .emit_ud = a, .allow = &a->allow,
                         .pin = a->cfg.nengine_cpus > 0,
                         .cpu = a->cfg.nengine_cpus ? a->cfg.engine_cpus[i % a->cfg.nengine_cpus] : 0 };
        char e[256];
        engine *en = engine_start(&c, e, sizeof e);
        if (!en) {
            /* Issue 12: an engine that fails to start never yields exit 0. Decision: one
             * engine that does not start refuses the whole plan (not only when every one
             * fails): its slots' users would never run, and a run measuring part of its
             * load is not the run asked for. The engines already started are aborted
             * (their schedule has not begun: start_mono is the master's future instant)
             * and joined before REFUSE, so the master aborts the run with this reason. */
            char why[400];
            snprintf(why, sizeof why, "engine thread %u of %u did not start: %.300s", i + 1,
                     a->cfg.threads, e);
            log_error("worker", "%s", why);
            for (uint32_t j = 0; j < a->nengines; j++) engine_abort(a->engines[j]);
            for (uint32_t j = 0; j < a->nengines; j++) engine_join_free(a->engines[j]);
            free(mine);
            free(a->engines);
            a->engines = NULL;
            a->nengines = 0;
            scenario_free(sc);
            a->sc = NULL;
            agent_refuse(a, p->run_id, why);
            return;
        }
        a->engines[a->nengines++] = en;
    }
    free(mine);
    /* The book starts with the initial deal: engine i has slots i, i + threads, ... */
    if (agent_book_init(&a->book, a->nengines) != 0) {
        log_error("worker", "out of memory for the slot book: stopping the run");
        for (uint32_t j = 0; j < a->nengines; j++) engine_stop(a->engines[j]);
    } else {
        for (uint32_t j = 0; j < p->nslots && a->nengines > 0; j++)
            if (agent_book_give(&a->book, j % a->cfg.threads, p->slots[j]) != 0)
                log_error("worker", "out of memory for the slot book");
    }
    log_info("worker", "run %llu: %u engines, %u of %u slots", (unsigned long long)p->run_id,
             a->nengines, p->nslots, p->threads_total);
}

static void agent_slots(agent *a, const proto_msg *m)
{
    const proto_slots *s = &m->u.slots;
    if (!a->sc || s->run_id != a->run_id || a->nengines == 0) return;
    for (uint32_t i = 0; i < s->nslots; i++) {
        uint32_t slot = s->slots[i];
        if (m->type == MSG_RELEASE) {
            int j = agent_book_release(&a->book, slot);
            if (j >= 0) {
                engine_release(a->engines[j], slot);
            } else {            /* not in the book (it ran short of memory): tell them all */
                for (uint32_t k = 0; k < a->nengines; k++) engine_release(a->engines[k], slot);
            }
            continue;
        }
        int j = agent_book_adopt(&a->book, slot);
        if (j < 0) {
            log_error("worker", "out of memory adopting slot %u", slot);
            continue;
        }
        if (engine_adopt(a->engines[j], slot) != 0) {
            agent_book_release(&a->book, slot);
            log_error("worker", "engine %d's mailbox is full: slot %u not adopted", j, slot);
        }
    }
    log_info("worker", "%s %u slots", m->type == MSG_ADOPT ? "adopted" : "released", s->nslots);
}

/* --- the slot book (agent.h) ------------------------------------------------------- */

int agent_book_init(agent_book *b, uint32_t nengines)
{
    memset(b, 0, sizeof *b);
    b->nengines = nengines;
    b->count = calloc(nengines ? nengines : 1, sizeof *b->count);
    return b->count ? 0 : -1;
}

void agent_book_fini(agent_book *b)
{
    free(b->count);
    free(b->slot);
    free(b->owner);
    memset(b, 0, sizeof *b);
}

static int agent_book_find(const agent_book *b, uint32_t slot)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (b->slot[i] == slot) return (int)i;
    return -1;
}

int agent_book_give(agent_book *b, uint32_t engine, uint32_t slot)
{
    if (engine >= b->nengines || agent_book_find(b, slot) >= 0) return 0;
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        uint32_t *ns = realloc(b->slot, cap * sizeof *ns);
        if (!ns) return -1;
        b->slot = ns;
        uint32_t *no = realloc(b->owner, cap * sizeof *no);
        if (!no) return -1;
        b->owner = no;
        b->cap = cap;
    }
    b->slot[b->n] = slot;
    b->owner[b->n++] = engine;
    b->count[engine]++;
    return 0;
}

int agent_book_adopt(agent_book *b, uint32_t slot)
{
    if (b->nengines == 0) return -1;
    int i = agent_book_find(b, slot);
    if (i >= 0) return (int)b->owner[i];
    uint32_t best = 0;
    for (uint32_t j = 1; j < b->nengines; j++)
        if (b->count[j] < b->count[best]) best = j;
    return agent_book_give(b, best, slot) == 0 ? (int)best : -1;
}

int agent_book_release(agent_book *b, uint32_t slot)
{
    int i = agent_book_find(b, slot);
    if (i < 0) return -1;
    uint32_t e = b->owner[i];
    b->count[e]--;
    b->n--;
    b->slot[i] = b->slot[b->n];
    b->owner[i] = b->owner[b->n];
    return (int)e;
}

uint32_t agent_book_count(const agent_book *b, uint32_t engine)
{
    return engine < b->nengines ? b->count[engine] : 0;
}

static void agent_master_lost(agent *a, const char *why);

/* Counts a dropped message; logs at most once a second. */
static void agent_drop(agent *a, const char *why)
{
    a->dropped++;
    uint64_t now = time_mono_us();
    if (a->drop_log_us == 0 || now - a->drop_log_us >= 1000000) {
        a->drop_log_us = now;
        log_warn("worker", "dropped a message: %s (%llu so far)", why, (unsigned long long)a->dropped);
    }
}

/* The sealed session broke: drop, count, and end it as a lost master (load stops). */
static void agent_seal_fail(agent *a, const char *why)
{
    a->dropped++;
    a->seal_failures++;
    log_error("worker", "%s: session ended (%llu such)", why, (unsigned long long)a->seal_failures);
    agent_master_lost(a, why);
}

/* Returns true when the message was an ACK of our DONE. */
static bool agent_handle(agent *a, const char *buf, size_t len, uint32_t pipe)
{
    proto_msg m;
    bool acked = false;
    char *opened = NULL;
    if (a->seal.on) {           /* only this thread changes it */
        if (pipe != a->seal_pipe) {
            agent_drop(a, "a message from another connection than the session's");
            agent_master_lost(a, "the connection changed");
            return false;
        }
        if (!seal_is_frame(buf, len)) {
            agent_seal_fail(a, "a plain message inside a sealed session");
            return false;
        }
        if (seal_open(&a->seal, buf, len, &opened, &len) != 0) {
            agent_seal_fail(a, "a sealed message failed authentication (tampered, replayed or out of order)");
            return false;
        }
        buf = opened;
    } else if (seal_is_frame(buf, len)) {
        agent_drop(a, "a sealed message outside a session");
        return false;
    }
    int rv = proto_decode(buf, len, &m);
    free(opened);
    if (rv != PROTO_OK) {
        agent_drop(a, proto_strerror(rv));
        return false;
    }
    a->last_rx_us = time_mono_us();
    switch (m.type) {
    case MSG_CHALLENGE:
        agent_hello(a, &m.u.challenge);
        break;
    case MSG_WELCOME:
        agent_welcome(a, &m.u.welcome, pipe);
        break;
    case MSG_REJECT:
        agent_refused(a, m.u.reject.reason);
        break;
    case MSG_PLAN:
        agent_plan(a, &m.u.plan);
        break;
    case MSG_ADOPT:
    case MSG_RELEASE:
        if (a->welcomed) agent_slots(a, &m);
        break;
    case MSG_STOP:
        if (a->welcomed && a->sc && m.u.stop.run_id == a->run_id) {
            a->stopping = true;
            for (uint32_t i = 0; i < a->nengines; i++) engine_stop(a->engines[i]);
        }
        break;
    case MSG_ACK:
        acked = true;
        break;
    case MSG_HEARTBEAT:
        break;
    default:
        agent_drop(a, "a message of a type a worker never receives");
        break;
    }
    proto_msg_free(&m);
    return acked;
}

/* The master is gone: stop all load now, forget the session, let nng redial. */
static void agent_master_lost(agent *a, const char *why)
{
    if (a->sc) {
        log_warn("worker", "lost the master (%s): stopping all load", why);
        for (uint32_t i = 0; i < a->nengines; i++) engine_abort(a->engines[i]);
        while (!agent_all_finished(a)) usleep(10000);
        agent_end_run(a, "master lost", false);
    } else {
        log_info("worker", "lost the master (%s); redialing", why);
    }
    a->welcomed = false;
    agent_set_seal(a, NULL, 0);
    seal_clear(&a->seal_next);
    unsigned pid = atomic_exchange(&a->pipe_id, 0u);
    if (pid) {
        nng_pipe p = NNG_PIPE_INITIALIZER;
        p.id = pid;
        nng_pipe_close(p);      /* nng's dialer then redials with backoff */
    }
}

static void agent_poll(agent *a, bool *acked)
{
    nng_msg *msg;
    if (nng_recvmsg(a->sock, &msg, 0) == 0) {
        uint32_t pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(msg));
        if (agent_handle(a, nng_msg_body(msg), nng_msg_len(msg), pipe) && acked) *acked = true;
        nng_msg_free(msg);
    }
}

static void *agent_main(void *arg)
{
    agent *a = arg;
    a->last_rx_us = time_mono_us();
    while (!atomic_load(&a->quit)) {
        agent_poll(a, NULL);
        agent_drain(a);
        uint64_t now = time_mono_us();
        if (atomic_exchange(&a->pipe_lost, false)) agent_master_lost(a, "connection closed");
        if (a->retry_at_us && now >= a->retry_at_us) agent_redial(a);
        if (a->welcomed && now - a->last_rx_us > (uint64_t)a->cfg.timeout_ms * 1000)
            agent_master_lost(a, "no heartbeat");
        if (a->welcomed && now - a->last_hb_us >= (uint64_t)a->cfg.heartbeat_ms * 1000) {
            proto_msg hb = { .type = MSG_HEARTBEAT };
            hb.u.heartbeat.seq = ++a->hb_seq;
            hb.u.heartbeat.wall_ms = time_wall_ms();
            hb.u.heartbeat.cpu_pct = time_cpu_pct(&a->cpu);
            agent_send(a, &hb);
            a->last_hb_us = now;
        }
        if (a->sc && agent_all_finished(a)) agent_end_run(a, a->stopping ? "stopped" : "finished", true);
    }
    /* Leaving: finish the run gracefully so every request is counted, then say so. */
    if (a->sc) {
        for (uint32_t i = 0; i < a->nengines; i++) engine_stop(a->engines[i]);
        while (!agent_all_finished(a)) {
            agent_poll(a, NULL);
            if (atomic_exchange(&a->pipe_lost, false)) {
                for (uint32_t i = 0; i < a->nengines; i++) engine_abort(a->engines[i]);
            }
        }
        agent_end_run(a, "leaving", true);
        bool acked = false;
        uint64_t until = time_mono_us() + AGENT_ACK_MS * 1000ull;
        while (!acked && time_mono_us() < until && atomic_load(&a->pipe_id)) agent_poll(a, &acked);
        if (!acked) log_warn("worker", "left without the master's acknowledgement");
    }
    atomic_store(&a->ended, true);
    return NULL;
}

agent *agent_start(const agent_cfg *cfg, char *err, size_t errcap)
{
    agent *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    if (!(a->emitq = calloc(AGENT_EMITQ, sizeof *a->emitq))) {
        snprintf(err, errcap, "out of memory");
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->send_mu, NULL);
    pthread_mutex_init(&a->emit_mu, NULL);
    if (a->cfg.threads == 0) a->cfg.threads = 1;
    if (a->cfg.heartbeat_ms == 0) a->cfg.heartbeat_ms = 1000;
    if (a->cfg.timeout_ms == 0) a->cfg.timeout_ms = 3000;
    if (cfg->key) a->key = *cfg->key;
    if (cfg->allow) a->allow = *cfg->allow;
    else allow_default(&a->allow);
    a->cfg.key = NULL;
    a->cfg.allow = NULL;
    gethostname(a->host, sizeof a->host - 1);
    if (cfg->id) snprintf(a->id, sizeof a->id, "%s", cfg->id);
    else snprintf(a->id, sizeof a->id, "%.40s-%d", a->host, (int)getpid());
    int rv;
    if ((rv = nng_pair1_open(&a->sock)) != 0) {
        snprintf(err, errcap, "nng socket: %s", nng_strerror(rv));
        free(a->emitq);
        free(a);
        return NULL;
    }
    nng_socket_set_ms(a->sock, NNG_OPT_RECVTIMEO, AGENT_POLL_MS);
    nng_socket_set_ms(a->sock, NNG_OPT_SENDTIMEO, 2000);
    nng_socket_set_int(a->sock, NNG_OPT_SENDBUF, 1024);
    nng_socket_set_size(a->sock, NNG_OPT_RECVMAXSZ, SEAL_MAX_FRAME);  /* nng drops larger */
    nng_socket_set_ms(a->sock, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(a->sock, NNG_OPT_RECONNMAXT, 2000);
    nng_pipe_notify(a->sock, NNG_PIPE_EV_ADD_POST, agent_pipe_cb, a);
    nng_pipe_notify(a->sock, NNG_PIPE_EV_REM_POST, agent_pipe_cb, a);
    if (transport_dial(a->sock, cfg->master_url, cfg->tls, err, errcap) != 0) {
        nng_close(a->sock);
        free(a->emitq);
        free(a);
        return NULL;
    }
    if (pthread_create(&a->th, NULL, agent_main, a) != 0) {
        snprintf(err, errcap, "cannot start agent thread");
        nng_close(a->sock);
        free(a->emitq);
        free(a);
        return NULL;
    }
    return a;
}

void agent_stop(agent *a) { atomic_store(&a->quit, true); }

bool agent_ended(agent *a) { return atomic_load(&a->ended); }

void agent_join_free(agent *a)
{
    if (!a) return;
    atomic_store(&a->quit, true);
    pthread_join(a->th, NULL);
    nng_close(a->sock);
    seal_clear(&a->seal);
    seal_clear(&a->seal_next);
    OPENSSL_cleanse(&a->key, sizeof a->key);
    pthread_mutex_destroy(&a->send_mu);
    /* the agent thread drained the queue at its run's end: anything left was emitted
     * after it ended (not by this code's engines, which it joined), still counted */
    if (a->emit_n > 0) {
        log_error("worker", "%u stats deltas lost: the agent ended before sending them",
                  a->emit_n);
        atomic_fetch_add(&a->deltas_lost, a->emit_n);
    }
    for (; a->emit_n > 0; a->emit_n--, a->emit_head = (a->emit_head + 1) % AGENT_EMITQ)
        free(a->emitq[a->emit_head].buf);
    pthread_mutex_destroy(&a->emit_mu);
    free(a->emitq);
    free(a);
}
