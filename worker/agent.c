/* Worker agent: see agent.h. The thread loops on nng_recvmsg with a short timeout so
 * that it also notices finished engines and stop requests. */
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
#include "worker/engine.h"

#define AGENT_POLL_MS 50

struct agent {
    agent_cfg   cfg;
    char        id[PROTO_ID_MAX];
    char        host[PROTO_HOST_MAX];
    nng_socket  sock;
    pthread_t   th;
    atomic_bool quit;
    atomic_bool connected;      /* set by the pipe callback: (re)send hello */
    /* the current run, owned by the agent thread */
    scenario   *sc;
    engine    **engines;
    uint32_t    nengines;
    uint64_t    run_id;
    bool        stopping;
    uint64_t    dropped;        /* messages that did not decode */
};

static int agent_send(agent *a, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0) return -1;
    int rv = nng_send(a->sock, buf, len, 0);
    free(buf);
    if (rv != 0) log_warn("worker", "send %s: %s", proto_type_name(m->type), nng_strerror(rv));
    return rv;
}

/* Engine thread: hand an encoded delta to the socket (blocking up to the send timeout). */
static void agent_emit(void *ud, char *buf, size_t len)
{
    agent *a = ud;
    int rv = nng_send(a->sock, buf, len, 0);
    if (rv != 0) log_error("worker", "stats delta lost: %s", nng_strerror(rv));
    free(buf);
}

static void agent_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    agent *a = arg;
    if (ev == NNG_PIPE_EV_ADD_POST) atomic_store(&a->connected, true);
}

static void agent_hello(agent *a)
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
    agent_send(a, &m);
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

static void agent_end_run(agent *a, const char *reason)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->nengines; i++) {
        if (engine_finished(a->engines[i])) n++;
        engine_join_free(a->engines[i]);
    }
    free(a->engines);
    a->engines = NULL;
    a->nengines = 0;
    scenario_free(a->sc);
    a->sc = NULL;
    proto_msg m = { .type = MSG_DONE };
    m.u.done.run_id = a->run_id;
    m.u.done.threads = n;
    snprintf(m.u.done.worker, sizeof m.u.done.worker, "%s", a->id);
    snprintf(m.u.done.reason, sizeof m.u.done.reason, "%s", reason);
    agent_send(a, &m);
    a->stopping = false;
}

static void agent_plan(agent *a, const proto_plan *p)
{
    if (a->sc) {
        agent_refuse(a, p->run_id, "worker is busy with another run");
        return;
    }
    if (p->name_cap > 10000) {
        agent_refuse(a, p->run_id, "name_cap above 10000 (stats deltas would pass the message size limit)");
        return;
    }
    if (p->threads == 0 || p->threads_total == 0 || p->thread_base + p->threads > p->threads_total) {
        agent_refuse(a, p->run_id, "plan has an impossible thread split");
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
    a->sc = sc;
    a->run_id = p->run_id;
    a->stopping = false;
    /* The synchronized start is a wall-clock instant; engines count in monotonic time. */
    uint64_t now_wall = time_wall_ms(), now_mono = time_mono_us();
    uint64_t start_mono = now_mono;
    if (p->start_at_ms > now_wall) start_mono += (p->start_at_ms - now_wall) * 1000;
    a->engines = calloc(p->threads, sizeof *a->engines);
    if (!a->engines) {
        scenario_free(sc);
        a->sc = NULL;
        agent_refuse(a, p->run_id, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < p->threads; i++) {
        engine_cfg c = { .sc = sc, .target = sc->target, .run_id = p->run_id, .worker_id = a->id,
                         .thread_index = p->thread_base + i, .threads_total = p->threads_total,
                         .start_mono_us = start_mono, .interval_ms = p->interval_ms ? p->interval_ms : 1000,
                         .name_cap = p->name_cap ? p->name_cap : STATS_DEFAULT_NAME_CAP,
                         .emit = agent_emit, .emit_ud = a };
        char e[256];
        engine *en = engine_start(&c, e, sizeof e);
        if (!en) {
            log_error("worker", "%s", e);
            for (uint32_t j = 0; j < a->nengines; j++) engine_stop(a->engines[j]);
            break;
        }
        a->engines[a->nengines++] = en;
    }
    log_info("worker", "run %llu: %u engine threads from global %u of %u",
             (unsigned long long)p->run_id, a->nengines, p->thread_base, p->threads_total);
}

static void agent_handle(agent *a, const char *buf, size_t len)
{
    proto_msg m;
    int rv = proto_decode(buf, len, &m);
    if (rv != PROTO_OK) {
        a->dropped++;
        log_warn("worker", "dropped a message: %s (%llu so far)", proto_strerror(rv),
                 (unsigned long long)a->dropped);
        return;
    }
    switch (m.type) {
    case MSG_PLAN:
        agent_plan(a, &m.u.plan);
        break;
    case MSG_STOP:
        if (a->sc && m.u.stop.run_id == a->run_id) {
            a->stopping = true;
            for (uint32_t i = 0; i < a->nengines; i++) engine_stop(a->engines[i]);
        }
        break;
    case MSG_HEARTBEAT:
        break;
    default:
        a->dropped++;
        log_warn("worker", "unexpected %s message dropped", proto_type_name(m.type));
        break;
    }
    proto_msg_free(&m);
}

static void *agent_main(void *arg)
{
    agent *a = arg;
    while (!atomic_load(&a->quit)) {
        if (atomic_exchange(&a->connected, false)) agent_hello(a);
        char *buf = NULL;
        size_t len = 0;
        int rv = nng_recv(a->sock, &buf, &len, NNG_FLAG_ALLOC);
        if (rv == 0) {
            agent_handle(a, buf, len);
            nng_free(buf, len);
        } else if (rv != NNG_ETIMEDOUT) {
            if (rv == NNG_ECLOSED) break;
        }
        if (a->sc) {
            bool all = true;
            for (uint32_t i = 0; i < a->nengines; i++) all = all && engine_finished(a->engines[i]);
            if (all) agent_end_run(a, a->stopping ? "stopped" : "finished");
        }
    }
    if (a->sc) {
        for (uint32_t i = 0; i < a->nengines; i++) engine_stop(a->engines[i]);
        for (;;) {
            bool all = true;
            for (uint32_t i = 0; i < a->nengines; i++) all = all && engine_finished(a->engines[i]);
            if (all) break;
            usleep(20000);
        }
        agent_end_run(a, "stopped");
    }
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
    if (a->cfg.threads == 0) a->cfg.threads = 1;
    gethostname(a->host, sizeof a->host - 1);
    if (cfg->id) snprintf(a->id, sizeof a->id, "%s", cfg->id);
    else snprintf(a->id, sizeof a->id, "%.40s-%d", a->host, (int)getpid());
    int rv;
    if ((rv = nng_pair1_open(&a->sock)) != 0) {
        snprintf(err, errcap, "nng socket: %s", nng_strerror(rv));
        free(a);
        return NULL;
    }
    nng_socket_set_ms(a->sock, NNG_OPT_RECVTIMEO, AGENT_POLL_MS);
    nng_socket_set_ms(a->sock, NNG_OPT_SENDTIMEO, 2000);
    nng_socket_set_int(a->sock, NNG_OPT_SENDBUF, 1024);
    nng_socket_set_size(a->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG);  /* nng drops larger */
    nng_socket_set_ms(a->sock, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(a->sock, NNG_OPT_RECONNMAXT, 2000);
    nng_pipe_notify(a->sock, NNG_PIPE_EV_ADD_POST, agent_pipe_cb, a);
    if ((rv = nng_dial(a->sock, cfg->master_url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
        snprintf(err, errcap, "dial %s: %s", cfg->master_url, nng_strerror(rv));
        nng_close(a->sock);
        free(a);
        return NULL;
    }
    if (pthread_create(&a->th, NULL, agent_main, a) != 0) {
        snprintf(err, errcap, "cannot start agent thread");
        nng_close(a->sock);
        free(a);
        return NULL;
    }
    return a;
}

void agent_stop(agent *a) { atomic_store(&a->quit, true); }

void agent_join_free(agent *a)
{
    if (!a) return;
    atomic_store(&a->quit, true);
    pthread_join(a->th, NULL);
    nng_close(a->sock);
    free(a);
}
