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
#include <stddef.h>
#include <stdint.h>

typedef struct agent_cfg {
    const char *master_url;     /* inproc://..., tcp://host:port */
    uint32_t    threads;        /* engine threads (>= 1) */
    const char *id;             /* worker id; NULL: host-pid */
} agent_cfg;

typedef struct agent agent;
agent *agent_start(const agent_cfg *cfg, char *err, size_t errcap);
/* Stops any run (graceful, as STOP does) and ends the agent thread. */
void   agent_stop(agent *a);
void   agent_join_free(agent *a);
#endif
