/* A virtual user's WebSocket session: runs the `ws` steps of its flow (common/scenario.h
 * sc_ws) over one worker/ws.h connection on the engine thread, and records what they
 * measure into the engine's stats shard (the STATS_WS_* entries of common/stats.h).
 *
 * Ownership and threads: a wsflow belongs to one VU: the engine allocates it (malloc)
 * at the user's first ws step, so a user without ws steps pays
 * nothing, keeps it for the run (a user that stops and starts again reuses it) and
 * frees it at teardown (wsflow_fini, then free). It lives on the engine thread with the
 * connection; it borrows the environment (event_base, shard, SSL_CTX, allow
 * list, resolver cache) from the engine, and the step being run from the scenario. It
 * owns its scratch buffers (grown to their high-water mark, never per message) and the
 * inbox of messages nobody waited for yet.
 *
 * Steps: wsflow_step runs one ws step. Some finish at once (send, listen, a connect or
 * close with nothing to do): WSF_NEXT. The others (connect, expect, receive, close) wait:
 * WSF_WAIT, and the env's `done` callback is called exactly once when the step is over,
 * from the event loop, never from inside wsflow_step. Whatever happens (timeout, peer
 * gone, refused) the step ends and the flow goes on; failures are recorded, not fatal.
 *
 * Messages: each message received is counted (WS:recv), its `stamp` gives a fan-out
 * sample (WS:fanout, receiver's wall clock minus the stamp), its `sequence` is checked
 * (WS:order: below the highest seen is out of order). Then it goes to the waiting
 * expect/receive if there is one; else, listening, it is consumed (matched and captured
 * against a listen mapping); else it is queued in the inbox (at most WSF_INBOX_MAX
 * messages / WSF_INBOX_BYTES; beyond, the oldest is dropped and counted as an error) for
 * the next expect/receive, which consumes queued messages in order (non-matching ones
 * are dropped) before waiting for new ones. Message latency runs from the connection's
 * last send not yet answered by a match, else from the step's start, to the arrival of
 * the matching message.
 *
 * Open model (issue 11): the engine sets open_model and, before each step, base_us (the
 * step's intended start); every figure is then recorded with both histograms
 * (stats_record_svc): svc as above, lat from base_us for the VU's connect and its
 * messages (see wsflow.c's decisions). `failed` is set by every failure recorded (the
 * engine reads it for the iteration row, and clears it).
 *
 * Reconnect: a close the VU did not ask for (peer close, TCP gone, protocol error) is
 * recorded (close code, error kind ws_close / ws_protocol), then, under the connect
 * step's `reconnect` policy, the same URL and headers are dialed again after the backoff
 * (doubling, capped at WSF_BACKOFF_CAP_MS) up to max consecutive attempts; the time from
 * the loss to the new open is recorded (WS:reconn). A step waiting for messages keeps
 * waiting through a reconnect (its own timeout still applies); without a reconnect to
 * come it ends at once, failed.
 *
 * Ending: wsflow_release starts a close (1001, going away) when the VU goes off with a
 * connection open; the env's `released` callback tells the engine when the connection
 * is gone (so the engine can finish after clean closes); a second release while one is
 * under way returns false (it is told once), and a connect step before the close is over
 * drops it and tells `released` at once. wsflow_cancel aborts at once
 * (graceful stop over, or master lost): a waiting step is dropped without `done` and
 * counted as cancelled; the connection is released without a close frame. wsflow_fini
 * frees everything (engine teardown; no callbacks). */
#ifndef WORKER_WSFLOW_H
#define WORKER_WSFLOW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common/scenario.h"
#include "common/stats.h"
#include "common/tmpl.h"
#include "worker/ws.h"

#define WSF_INBOX_MAX      256
#define WSF_INBOX_BYTES    (1u << 20)
#define WSF_BACKOFF_CAP_MS 30000
#define WSF_HOST_CACHE     8

struct allow_list;
struct ssl_ctx_st;

/* Resolved addresses, one per host:port a scenario dials (filled at the first use:
 * the only name resolution; literal addresses resolve without DNS). */
typedef struct wsf_host {
    char                    key[WS_MAX_HOST + 8];  /* "host:port" */
    struct sockaddr_storage addr;
    int                     addrlen;
} wsf_host;

typedef struct wsf_env {
    struct event_base       *base;
    stats_shard             *shard;
    const char              *target;        /* the scenario's base URL (http[s]://...) */
    bool                     insecure;      /* do not verify TLS certificates */
    struct ssl_ctx_st       *ssl;           /* created at the first wss:// connect, owned here */
    const struct allow_list *allow;         /* NULL: any address */
    wsf_host                 hosts[WSF_HOST_CACHE];
    int                      nhosts;
    void (*done)(void *vu);                 /* a WSF_WAIT step is over */
    void (*released)(void *vu);             /* after wsflow_release: the connection is gone */
    FILE                    *sample_log;    /* test aid (STAMPEDE_SAMPLE_LOG), may be NULL */
    uint32_t                 conns;         /* connections holding a socket now (ws_opts.live) */
} wsf_env;
/* Frees what the environment created (the SSL_CTX). */
void wsf_env_fini(wsf_env *env);

typedef enum { WSF_NEXT = 0, WSF_WAIT = 1 } wsf_rc;

typedef enum { WSF_W_NONE, WSF_W_CONNECT, WSF_W_EXPECT, WSF_W_RECEIVE, WSF_W_CLOSE } wsf_wait;

/* A match's texts (equals, contains, json equals) rendered once when its step runs:
 * buf holds them NUL-terminated back to back; off (size_t)-1: that condition not given. */
typedef struct wsf_texts {
    char  *buf;
    size_t cap;
    size_t off[3], len[3];
} wsf_texts;

typedef struct wsflow {
    ws_conn          conn;
    wsf_env         *env;           /* borrowed */
    void            *vu;            /* handed back to the callbacks */
    const sc_ws     *cstep;         /* the connect step of the connection, NULL before */
    tmpl_ctx         ctx;           /* the VU's template context */
    tmpl_val        *vars;          /* the VU's capture variables (ctx.vars, writable) */
    tmpl_val         rx;            /* regex match without a capture */
    uint32_t         id_msg, id_conn, id_reconn, id_fanout, id_ping, id_sent, id_recv, id_order;
    /* the step waiting, if any */
    wsf_wait         wait;
    const sc_ws     *wstep;
    uint32_t         left;          /* receive: messages still to come */
    uint64_t         ref_us;        /* latency reference: last unanswered send, or step start */
    uint64_t         last_send_us;  /* 0: nothing sent since the last match */
    struct event     timer;         /* step deadline; also made active to end a step */
    bool             finished;      /* the waiting step is over: timer fires `done` */
    struct event     retry;         /* reconnect backoff */
    struct event     ping;          /* client pings (persistent) */
    bool             opened;        /* the current connection reached on_open */
    bool             listening;
    const sc_ws     *lstep;         /* listen mapping, or NULL */
    bool             user_close;    /* the VU asked for the close under way */
    bool             releasing;     /* wsflow_release: tell env->released when gone */
    bool             reconnecting;  /* between a loss and the next open */
    uint32_t         attempts;      /* consecutive reconnect attempts */
    uint64_t         backoff_ms;
    uint64_t         lost_us;       /* when the connection was lost (for WS:reconn) */
    uint64_t         open_started_us;
    bool             seq_seen;
    int64_t          seq_max;
    /* set by the engine (open model); read by the engine */
    bool             open_model;    /* record lat and svc (stats_record_svc) */
    uint64_t         base_us;       /* the current step's intended start (monotonic us) */
    bool             failed;        /* a failure or error was recorded since cleared */
    /* rendered connect (kept for reconnects), match texts, scratch */
    char            *url;   size_t url_cap;
    char            *hbuf;  size_t hbuf_cap;
    const char      *hptr[32];
    int              nh;
    wsf_texts        em, lm;        /* rendered match texts: the expect's, the listen's */
    char            *scratch; size_t scratch_cap;  /* NUL-terminated message copy, payloads */
    /* inbox: records [u32 len][u8 op][u64 arrival_us][data] back to back */
    uint8_t         *inbox; size_t inbox_cap, inbox_head, inbox_tail;
    uint32_t         inbox_n;
} wsflow;

/* Zeroes f and binds it to its VU and environment (no allocation). */
void   wsflow_init(wsflow *f, wsf_env *env, void *vu);
/* Runs step s (kind STEP_WS) for the VU whose template context is ctx (copied: its
 * pointers must stay valid while the VU lives) and whose capture variables are vars. */
wsf_rc wsflow_step(wsflow *f, const sc_step *s, const tmpl_ctx *ctx, tmpl_val *vars);
/* true when a close is under way after wsflow_release (env->released will come). */
bool   wsflow_release(wsflow *f);
/* Aborts: no callbacks afterwards. Returns true when a waiting step was dropped. */
bool   wsflow_cancel(wsflow *f);
void   wsflow_fini(wsflow *f);
/* Heap bytes held by the session (buffers, inbox; not libevent's or wslay's). */
size_t wsflow_bytes(const wsflow *f);
#endif
