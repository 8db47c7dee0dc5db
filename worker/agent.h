/* The worker's side of the protocol (proto/PROTOCOL.md): one agent thread dials the
 * master and keeps redialing, says hello, waits for a plan, starts one engine per
 * thread of the plan, forwards STOP to them, and reports DONE once every engine has
 * emitted its final delta. An engine hands its encoded deltas to the agent (a bounded
 * queue under a mutex held only to push or pop: the engine thread never waits for the
 * socket); the agent thread seals and sends them in the order handed over, before any
 * message of its own (a DONE never overtakes a final delta), at most AGENT_POLL_MS
 * (50 ms) after they were handed over. A delta that cannot be queued (the queue full)
 * or sent is counted and logged, never dropped silently.
 *
 * Used by `stampede-worker` over tcp:// and by a local `stampede run` over inproc://:
 * the same code. Ownership: the agent owns its socket, the running scenario and its
 * engines. agent_stop may be called from any thread. */
#ifndef WORKER_AGENT_H
#define WORKER_AGENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/auth.h"
#include "proto/transport.h"
#include "worker/allow.h"

typedef struct agent_cfg {
    const char *master_url;     /* inproc://..., tcp://host:port, tls+tcp://host:port */
    uint32_t    threads;        /* engine threads (>= 1) */
    const char *id;             /* worker id; NULL: host-pid */
    const auth_key *key;        /* shared key or NULL: the master must prove it too */
    const transport_tls *tls;   /* certificates for tls+tcp://, else NULL */
    const allow_list *allow;    /* target networks; NULL: loopback only */
    uint32_t    heartbeat_ms;   /* default 1000 */
    uint32_t    timeout_ms;     /* master silent this long is lost; default 3000 */
    const int  *engine_cpus;    /* --engine-cpus: engine i runs on engine_cpus[i % n]
                                 * (engine_cfg.cpu); NULL or n 0: not pinned. Borrowed:
                                 * outlives the agent. The agent's own thread, nng's and
                                 * the coordinator's stay where the process runs, so
                                 * an engine can have its CPU to itself (bench's open
                                 * row; a dedicated load host) */
    uint32_t    nengine_cpus;
} agent_cfg;

/* Lifecycle, as PROTOCOL.md's worker state machine: connecting -> (CHALLENGE) hello sent
 * -> (WELCOME, proof checked) idle -> (PLAN, allowlist checked) running -> done -> idle.
 * A plan is refused (REFUSE with the reason; the master aborts the run) when the worker
 * is busy, the plan breaks a limit or the allowlist, or any of its engine threads does
 * not start (those started are aborted and joined first: a run never goes on with fewer
 * engines than the plan was dealt to).
 * A master silent for timeout_ms (or whose connection drops) is lost: every engine is
 * aborted at once (in-flight requests cancelled), the connection is closed and redialed.
 * A master that refuses the worker (REJECT: wrong or missing key, too many threads) or
 * fails to prove the key is not redialed at once: the dialer is closed and a new one
 * made after a wait doubling from 0.5 s to 60 s, each refusal logged with the master's
 * reason and the wait; a WELCOME that proves the key resets the wait (agent.c). */
typedef struct agent agent;
agent *agent_start(const agent_cfg *cfg, char *err, size_t errcap);
/* Leave gracefully (SIGTERM): a running run is stopped as STOP does, final deltas and
 * DONE "leaving" are sent, the master's ACK is awaited (at most 2 s), then the agent
 * thread ends. Any thread. */
void   agent_stop(agent *a);
/* true once the agent thread has ended (after agent_stop). */
bool   agent_ended(agent *a);
void   agent_join_free(agent *a);

/* The agent's book of which engine thread runs each slot of this worker. ADOPT and
 * RELEASE are dealt from it, never from the engines' own counts (engine_slots lags the
 * adopts still in an engine's mailbox, up to one 50 ms tick): a slot goes to the engine
 * the book says has the fewest slots (the lowest index on a tie), so one ADOPT of 4
 * slots over 2 engines gives each 2. A slot the book already has stays with its engine
 * (adopting it twice never runs it on two threads); a released slot is forgotten and
 * its engine's count drops. Agent thread only (not locked); `_init`/`_fini` on the
 * caller's memory. */
typedef struct agent_book {
    uint32_t  nengines;
    uint32_t *count;            /* slots per engine, nengines */
    uint32_t *slot, *owner;     /* the slots held and their engine, n of them */
    uint32_t  n, cap;
} agent_book;
/* 0, or -1 (out of memory). */
int      agent_book_init(agent_book *b, uint32_t nengines);
void     agent_book_fini(agent_book *b);        /* harmless on a zeroed book */
/* Records that engine runs slot (the plan's initial deal). 0, or -1 (out of memory). */
int      agent_book_give(agent_book *b, uint32_t engine, uint32_t slot);
/* The engine that is to run slot (recorded), or -1 (out of memory, or no engines). */
int      agent_book_adopt(agent_book *b, uint32_t slot);
/* The engine that ran slot (forgotten now), or -1 when the book does not have it. */
int      agent_book_release(agent_book *b, uint32_t slot);
uint32_t agent_book_count(const agent_book *b, uint32_t engine);
#endif
