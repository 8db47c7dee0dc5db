/* The load engine: one thread with its own event_base, HTTP transport (worker/http.h),
 * virtual users and stats shard. Nothing hot is shared or locked: an engine talks to
 * the rest of the process only through its start configuration, three atomic flags
 * (stop requested, abort requested, finished), the count of slots it owns (atomic), a
 * small mailbox of adopt/release requests under a mutex (taken by engine_adopt and
 * engine_release, and once per 50 ms tick by the engine), and the emit callback it
 * calls with each encoded delta.
 *
 * Schedule: global user k (0-based) belongs to slot k % threads_total; an engine runs
 * the users of the slots it owns, so each engine computes its own share of the
 * scenario's target N(t) (common/scenario.h) and the sum over every engine of every
 * worker is exactly N(t). Ramp-down stops the highest users after their current step.
 * The schedule is re-evaluated every 50 ms (and at each interval's end, before the
 * delta is encoded). Slots can be adopted and released while
 * the run goes (a re-plan after a worker is lost or joins): an adopted slot's users
 * start their flow from the beginning; a released slot's users stop after their
 * current step (their results stay counted here).
 *
 * Open model (scenario.model SC_MODEL_OPEN, issue 11; worker/engine_open.c has the
 * whole contract): the stages give arrivals per second. Slot j < T' = min(threads_total,
 * max_users) takes arrivals j, j + T', ... of the rate curve (common/loadshape.h; poisson:
 * a per-slot generator's exponential gaps through the same inverse), each at its intended
 * time on the monotonic clock after start_mono_us, from one precise timer per engine.
 * An arrival picks its profile by weight, takes a free user of the slot's pool (its share
 * of max_users, as closed-model users are shared), else waits in the slot's backlog (its
 * share of max_backlog, preallocated at adoption), else is dropped and counted. A user
 * runs the arrival's flow once, then takes the next waiting arrival or goes idle
 * (keeping its connections and captured variables). An adopted slot takes arrivals from
 * the first one after now; a released one drops what waits (counted) and stops its users
 * after their current step. `users` in the stats counts busy users.
 *
 * Measures (both models unless said): every request and WebSocket figure records lat;
 * the open model also svc (stats_record_svc): lat from the step's intended start (the
 * arrival's for the iteration's first step, else the end of the step before; a think
 * ends at its intended end), svc from the send. Each pass of a profile's flow records
 * its ("ITER", profile) row: lat from the iteration's intended start (open) or actual
 * start (closed), failed when a step failed. A profile's setup steps run once per user
 * before its first iteration (open: within it). shard.sched: intended, started, dropped,
 * backlog_max, lag (open model), cpu_us and wall_us of the engine thread (both).
 *
 * Stop: at the end of the stages or on engine_stop, users start no new step; thinking
 * users end at once, users in a request finish it (open model: arrivals stop, the
 * waiting ones are dropped and counted, idle users go off, running iterations go on to
 * their end); after the scenario's graceful_stop
 * whatever is still in flight is cancelled and counted as cancelled. Then the engine
 * sends its final delta (final = true) and its thread ends. Every request started is
 * either recorded or counted as cancelled.
 *
 * Steps: http requests go through worker/http.h, their expect and captures through
 * worker/check.h; ws steps through worker/wsflow.h (a session allocated at the user's
 * first ws step); URLs are joined to the target by common/url.h, the rule the worker's
 * allowlist checked the plan by.
 *
 * Memory: a user's state (~2 KiB, plus its buffers) is allocated when the schedule first
 * starts it, 64 users of a slot at a time, and kept for the run (a user that stops and
 * starts again reuses it; requests never allocate it). A plan whose peak is 1,000,000
 * users costs, until they run, one pointer per 64 users of the peak; the rest follows
 * the most users running at once. Out of memory while starting users: the users already
 * allocated run, the rest are not started, logged once per slot.
 *
 * Stats: every interval_ms from the start the shard is encoded (proto_encode_stats) and
 * handed to emit, then reset. emit runs on the engine thread and takes ownership of the
 * malloc'd buffer (it must be thread-safe with respect to other engines: nng sockets are). */
#ifndef WORKER_ENGINE_H
#define WORKER_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/scenario.h"

typedef void (*engine_emit_fn)(void *ud, char *buf, size_t len);

typedef struct engine_cfg {
    const scenario *sc;         /* borrowed; outlives the engine */
    const char *target;         /* effective base URL, borrowed */
    uint64_t    run_id;
    const char *worker_id;      /* borrowed */
    const uint32_t *slots;      /* initial slots (copied) */
    uint32_t    nslots;
    uint32_t    threads_total;  /* slots of the whole run */
    uint64_t    start_mono_us;  /* t = 0 of the schedule (may be in the future) */
    uint32_t    interval_ms;
    uint32_t    name_cap;
    engine_emit_fn emit;
    void       *emit_ud;
    const struct allow_list *allow; /* every connect is checked against it; NULL: none */
    bool        pin;            /* the engine thread pins itself to CPU `cpu`
                                 * (--engine-cpus; a CPU it may not use is a warning, the
                                 * thread then runs unpinned); false (zeroed): no pinning.
                                 * The thread is named "stampede-eng" either way (top -H) */
    int         cpu;
} engine_cfg;

typedef struct engine engine;

/* Allocates the engine and starts its thread. NULL with a message on failure. */
engine *engine_start(const engine_cfg *cfg, char *err, size_t errcap);
/* Any thread: begin the graceful stop (idempotent; takes effect within 50 ms). */
void    engine_stop(engine *e);
/* Any thread: stop now: in-flight requests are cancelled (counted as cancelled), the
 * final delta is emitted. For a worker that lost its master. */
void    engine_abort(engine *e);
/* Any thread: take over / give up a slot (takes effect at the next 50 ms tick). 0, or -1
 * when the mailbox is full. Which engine of a worker gets a slot is the agent's to
 * decide (its own book, worker/agent.h), not engine_slots', which lags the mailbox. */
int     engine_adopt(engine *e, uint32_t slot);
int     engine_release(engine *e, uint32_t slot);
/* Any thread: slots owned and not released, as of the last tick that applied the
 * mailbox (adopts and releases posted since are not counted yet). */
uint32_t engine_slots(const engine *e);
/* Any thread: true once the final delta has been emitted. */
bool    engine_finished(const engine *e);
/* Joins the thread and frees everything. */
void    engine_join_free(engine *e);

/* Heap bytes of the engine's users and stats (approximate: the users allocated so far,
 * their buffers, the chunk tables, the shard). Not synchronized with the engine thread:
 * call it once engine_finished() is true (before engine_join_free), or for the bench. */
size_t  engine_users_bytes(const engine *e);
#endif
