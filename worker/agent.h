/* The worker's side of the protocol (proto/PROTOCOL.md): one agent thread dials the
 * master and keeps redialing, says hello, waits for a plan, starts one engine per
 * thread of the plan, forwards STOP to them, and reports DONE once every engine has
 * emitted its final delta. The engines send their own deltas through the agent's nng
 * socket (nng sockets are thread-safe), so no delta is queued or copied by the agent.
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
} agent_cfg;

/* Lifecycle, as PROTOCOL.md's worker state machine: connecting -> (CHALLENGE) hello sent
 * -> (WELCOME, proof checked) idle -> (PLAN, allowlist checked) running -> done -> idle.
 * A master silent for timeout_ms (or whose connection drops) is lost: every engine is
 * aborted at once (in-flight requests cancelled), the connection is closed and redialed. */
typedef struct agent agent;
agent *agent_start(const agent_cfg *cfg, char *err, size_t errcap);
/* Leave gracefully (SIGTERM): a running run is stopped as STOP does, final deltas and
 * DONE "leaving" are sent, the master's ACK is awaited (at most 2 s), then the agent
 * thread ends. Any thread. */
void   agent_stop(agent *a);
/* true once the agent thread has ended (after agent_stop). */
bool   agent_ended(agent *a);
void   agent_join_free(agent *a);
#endif
