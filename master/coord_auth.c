/* Challenges and sealed sessions (master/coord_int.h, PROTOCOL.md 4 and 7): every new
 * connection gets a CHALLENGE and is heard only for its HELLO, within COORD_HELLO_MS; a
 * HELLO with the right proof (with a shared key) and a sane thread count is welcomed
 * into the registry, and with a key everything after WELCOME is sealed with the
 * session's keys; a refused one gets REJECT and is closed half a second later. Dropped
 * messages are counted and logged at most once a second per peer. Coordinator thread
 * only, except coord_pipe_cb (nng's thread, under mu). Fails: nothing returns an error;
 * refusals, drops and broken sessions are counted in the status' protocol counters. */
#include "master/coord_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "common/log.h"
#include "common/time.h"

void coord_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    coord *c = arg;
    pthread_mutex_lock(&c->mu);
    bool full = false;
    if (ev == NNG_PIPE_EV_REM_POST && c->ngone < COORD_MAX_GONE) c->gone[c->ngone++] = (uint32_t)nng_pipe_id(p);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        if (c->nadded < COORD_MAX_GONE) c->added[c->nadded++] = (uint32_t)nng_pipe_id(p);
        else full = true;
    }
    pthread_mutex_unlock(&c->mu);
    /* A flood of new connections faster than the coordinator steps: a connection it
     * would never challenge is closed now rather than held open unseen. (A lost REM
     * event is harmless: heartbeats find the silent worker.) */
    if (full) nng_pipe_close(p);
}

/* A new connection: challenge it. Nothing it sends but HELLO is heard until it passes. */
static void coord_challenge(coord *c, uint32_t pipe_id)
{
    cpending *pd;
    if (c->npending < COORD_MAX_PENDING) {
        pd = &c->pending[c->npending++];
    } else {                    /* full of silent connections: drop the oldest */
        nng_pipe_close(coord_pipe(c->pending[0].pipe_id));
        memmove(c->pending, c->pending + 1, (COORD_MAX_PENDING - 1) * sizeof *pd);
        pd = &c->pending[COORD_MAX_PENDING - 1];
    }
    pd->pipe_id = pipe_id;
    pd->since_us = time_mono_us();
    pd->drops = pd->drop_log_us = 0;
    auth_nonce(pd->nonce);
    proto_msg m = { .type = MSG_CHALLENGE };
    memcpy(m.u.challenge.nonce, pd->nonce, PROTO_NONCE_LEN);
    m.u.challenge.key_required = c->key.len > 0;
    coord_send_to(c, coord_pipe(pipe_id), &m);
}

static void coord_reject(coord *c, nng_pipe p, const char *reason)
{
    proto_msg m = { .type = MSG_REJECT };
    snprintf(m.u.reject.reason, sizeof m.u.reject.reason, "%s", reason);
    coord_send_to(c, p, &m);
    if (c->nclosing < COORD_MAX_PENDING) {
        c->closing[c->nclosing] = (uint32_t)nng_pipe_id(p);
        c->closing_at[c->nclosing++] = time_mono_us() + 500000;
    } else {
        nng_pipe_close(p);
    }
}

static void coord_drop(coord *c, nng_pipe p, const char *why);

void coord_hello(coord *c, nng_pipe p, const proto_hello *h)
{
    int pi = -1;
    for (int i = 0; i < c->npending; i++)
        if (c->pending[i].pipe_id == (uint32_t)nng_pipe_id(p)) pi = i;
    if (pi < 0) {
        c->auth_failures++;
        coord_drop(c, p, "a HELLO that answers no CHALLENGE");
        return;
    }
    uint8_t nonce_m[PROTO_NONCE_LEN];
    memcpy(nonce_m, c->pending[pi].nonce, PROTO_NONCE_LEN);
    c->pending[pi] = c->pending[--c->npending];
    if (c->key.len) {
        uint8_t want[PROTO_PROOF_LEN];
        auth_hello_proof(&c->key, nonce_m, h->nonce, h->id, want);
        if (!h->has_proof || !auth_equal(want, h->proof)) {
            c->auth_failures++;
            log_warn("master", "worker %s (%s) refused: %s", h->id, h->host,
                     h->has_proof ? "wrong shared key" : "no shared key");
            coord_reject(c, p, h->has_proof ? "wrong shared key" : "this master requires a shared key (--key-file)");
            return;
        }
    }
    if (h->threads > COORD_MAX_THREADS) {
        char why[128];
        snprintf(why, sizeof why, "%u engine threads announced; a worker may run at most %d "
                 "(--threads)", h->threads, COORD_MAX_THREADS);
        log_warn("master", "worker %s (%s) refused: %s", h->id, h->host, why);
        coord_reject(c, p, why);
        return;
    }
    seal_session sess;
    memset(&sess, 0, sizeof sess);
    if (c->key.len && seal_derive(&sess, &c->key, nonce_m, h->nonce, h->id, true) != 0) {
        log_error("master", "worker %s refused: cannot derive its session keys", h->id);
        coord_reject(c, p, "the master could not derive session keys");
        return;
    }
    cworker *w = coord_worker_by_id(c, h->id);
    if (!w) return;
    if (w->alive && nng_pipe_id(w->pipe) != nng_pipe_id(p)) {
        /* the same id on a new connection: the old one is dead */
        coord_worker_gone(c, w, true);
    }
    w->pipe = p;
    w->hello = *h;
    if (w->hello.threads == 0) w->hello.threads = 1;
    seal_clear(&w->seal);       /* WELCOME itself goes out plain, with its proof */
    w->drops = w->drop_log_us = 0;
    w->alive = true;
    w->last_seen_us = time_mono_us();
    if (!w->in_run) w->state = "idle";
    proto_msg m = { .type = MSG_WELCOME };
    snprintf(m.u.welcome.master, sizeof m.u.welcome.master, "%s", c->id);
    if (c->key.len) {
        auth_welcome_proof(&c->key, h->nonce, nonce_m, m.u.welcome.proof);
        m.u.welcome.has_proof = true;
    }
    coord_send_to(c, p, &m);
    w->seal = sess;             /* everything after WELCOME is sealed (with a key) */
    OPENSSL_cleanse(&sess, sizeof sess);
    log_info("master", "worker %s (%s, %u threads) joined", h->id, h->host, h->threads);
    if (c->state == RUN_RUNNING && !c->stop_sent && !(w->in_run && !w->done)) coord_join_run(c, w);
}

/* Counts a dropped message and logs it, at most once a second per peer (a peer that
 * sends nothing but garbage must not fill the log). */
static void coord_drop(coord *c, nng_pipe p, const char *why)
{
    c->dropped++;
    uint64_t now = time_mono_us(), *n = &c->drops_other, *at = &c->drop_other_log_us;
    cworker *w = coord_worker_by_pipe(c, p);
    const char *who = "an unknown connection";
    if (w) {
        n = &w->drops;
        at = &w->drop_log_us;
        who = w->hello.id;
    } else {
        for (int i = 0; i < c->npending; i++)
            if (c->pending[i].pipe_id == (uint32_t)nng_pipe_id(p)) {
                n = &c->pending[i].drops;
                at = &c->pending[i].drop_log_us;
                who = "a connection before its HELLO";
            }
    }
    (*n)++;
    if (*at == 0 || now - *at >= COORD_LOG_EVERY_US) {
        *at = now;
        log_warn("master", "dropped a message from %s: %s (%llu from it, %llu in all)", who, why,
                 (unsigned long long)*n, (unsigned long long)c->dropped);
    }
}

/* A sealed session broke (a frame failed, or a plain message came where only sealed ones
 * may): the message is dropped and counted, and the session ends (the worker is lost). */
static void coord_seal_fail(coord *c, cworker *w, const char *why)
{
    c->seal_failures++;
    c->dropped++;
    log_warn("master", "worker %s: %s; session ended (%llu such)", w->hello.id, why,
             (unsigned long long)c->seal_failures);
    seal_clear(&w->seal);
    coord_worker_gone(c, w, true);
}

/* Opens one received message (master/coord_int.h): a sealed session's frame is opened
 * (a plain message inside one, or a frame that fails, ends the session); a sealed frame
 * outside a session, an undecodable message, anything but HELLO before WELCOME and HELLO
 * after it are dropped. */
bool coord_open(coord *c, nng_msg *msg, cworker **wp, proto_msg *m)
{
    nng_pipe p = nng_msg_get_pipe(msg);
    cworker *w = *wp = coord_worker_by_pipe(c, p);
    const char *body = nng_msg_body(msg);
    size_t blen = nng_msg_len(msg);
    char *opened = NULL;
    if (w && w->seal.on) {
        if (!seal_is_frame(body, blen)) {
            coord_seal_fail(c, w, "a plain message inside a sealed session");
            return false;
        }
        if (seal_open(&w->seal, body, blen, &opened, &blen) != 0) {
            coord_seal_fail(c, w, "a sealed message failed authentication (tampered, replayed or out of order)");
            return false;
        }
        body = opened;
    } else if (seal_is_frame(body, blen)) {
        coord_drop(c, p, "a sealed message outside a session");
        return false;
    }
    int rv = proto_decode(body, blen, m);
    free(opened);
    if (rv != PROTO_OK) {
        coord_drop(c, p, proto_strerror(rv));
        return false;
    }
    if (w) w->last_seen_us = time_mono_us();
    if (!w && m->type != MSG_HELLO) {
        /* not authenticated: nothing but HELLO is heard */
        coord_drop(c, p, "not authenticated: only HELLO is heard");
        proto_msg_free(m);
        return false;
    }
    if (w && m->type == MSG_HELLO) {
        coord_drop(c, p, "a HELLO on a welcomed connection");
        proto_msg_free(m);
        return false;
    }
    return true;
}

void coord_auth_step(coord *c, const uint32_t *added, int nadded, const uint32_t *gone, int ngone)
{
    for (int g = 0; g < nadded; g++) coord_challenge(c, added[g]);
    /* Connections that never answer their CHALLENGE are closed (PROTOCOL.md 7). */
    uint64_t mono = time_mono_us();
    for (int i = 0; i < c->npending; i++) {
        if (mono - c->pending[i].since_us < (uint64_t)COORD_HELLO_MS * 1000) continue;
        c->hello_timeouts++;
        if (c->hello_timeouts == 1 || c->hello_timeouts % 1000 == 0)
            log_warn("master", "closed a connection that sent no HELLO within %d s (%llu so far)",
                     COORD_HELLO_MS / 1000, (unsigned long long)c->hello_timeouts);
        nng_pipe_close(coord_pipe(c->pending[i].pipe_id));
        c->pending[i--] = c->pending[--c->npending];
    }
    for (int g = 0; g < ngone; g++)
        for (int i = 0; i < c->npending; i++)
            if (c->pending[i].pipe_id == gone[g]) c->pending[i--] = c->pending[--c->npending];
    mono = time_mono_us();
    for (int i = 0; i < c->nclosing; i++) {
        if (mono < c->closing_at[i]) continue;
        nng_pipe_close(coord_pipe(c->closing[i]));
        c->closing[i] = c->closing[--c->nclosing];
        c->closing_at[i] = c->closing_at[c->nclosing];
        i--;
    }
}
