/* The worker registry (master/coord_int.h): one entry per worker id ever welcomed, kept
 * across reconnects and runs; lookup by pipe and id, sending to a worker (sealed when it
 * has a session, PROTOCOL.md 4), and the slot planner's view of the entries. Coordinator
 * thread only. Fails: sending logs and returns the nng error; growing returns NULL on
 * ENOMEM. */
#include "master/coord_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

nng_pipe coord_pipe(uint32_t id)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = id;
    return p;
}

cworker *coord_worker_by_pipe(coord *c, nng_pipe p)
{
    for (int i = 0; i < c->nworkers; i++)
        if (c->workers[i].alive && nng_pipe_id(c->workers[i].pipe) == nng_pipe_id(p)) return &c->workers[i];
    return NULL;
}

/* The entry for id (a worker that reconnects keeps its entry: its run figures), created
 * zeroed when new; the planner's views grow with the registry. NULL on ENOMEM. */
cworker *coord_worker_by_id(coord *c, const char *id)
{
    for (int i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i].hello.id, id)) return &c->workers[i];
    if (c->nworkers == c->capworkers) {
        int n = c->capworkers ? c->capworkers * 2 : 8;
        sp_worker *nv = realloc(c->views, (size_t)n * sizeof *nv);
        if (!nv) return NULL;
        c->views = nv;
        cworker *nw = realloc(c->workers, (size_t)n * sizeof *nw);
        if (!nw) return NULL;
        c->workers = nw;
        c->capworkers = n;
    }
    cworker *w = &c->workers[c->nworkers++];
    memset(w, 0, sizeof *w);
    return w;
}

/* Encodes m for pipe p: sealed when p is a worker with a session (PROTOCOL.md 4). */
int coord_send_to(coord *c, nng_pipe p, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0) {
        log_error("master", "cannot encode %s", proto_type_name(m->type));
        return -1;
    }
    cworker *sw = coord_worker_by_pipe(c, p);
    if (sw && sw->seal.on) {
        char *sealed;
        size_t slen;
        int sr = seal_wrap(&sw->seal, buf, len, &sealed, &slen);
        free(buf);
        if (sr != 0) {
            log_error("master", "cannot seal %s for worker %s", proto_type_name(m->type), sw->hello.id);
            return -1;
        }
        buf = sealed;
        len = slen;
    }
    nng_msg *msg;
    int rv = nng_msg_alloc(&msg, 0);
    if (rv == 0 && (rv = nng_msg_append(msg, buf, len)) == 0) {
        nng_msg_set_pipe(msg, p);
        if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) nng_msg_free(msg); /* ours if it failed */
    } else if (rv == 0) {
        nng_msg_free(msg);
    }
    free(buf);
    if (rv != 0) log_warn("master", "send %s: %s", proto_type_name(m->type), nng_strerror(rv));
    return rv;
}

int coord_alive_workers(const coord *c)
{
    int n = 0;
    for (int i = 0; i < c->nworkers; i++) n += c->workers[i].alive;
    return n;
}

/* Workers of the current run that still carry load. */
bool coord_carrier(const cworker *w) { return w->in_run && w->alive && !w->done; }

/* The registry as the slot planner sees it (master/slotplan.h), in registry order. */
sp_worker *coord_views(coord *c)
{
    for (int i = 0; i < c->nworkers; i++)
        c->views[i] = (sp_worker){ .slots = &c->workers[i].slots, .threads = c->workers[i].hello.threads,
                                   .carrier = coord_carrier(&c->workers[i]) };
    return c->views;
}
