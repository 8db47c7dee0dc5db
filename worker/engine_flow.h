/* The flow control of issue 12 as the VU walker (worker/engine.c vu_run) runs it: the
 * decisions for pick, if, on_failure and loop pacing, written once here so that both
 * models (worker/engine.c, worker/engine_open.c) take the same ones. What each field
 * means is the contract in common/scenario_types.h (STEP_PICK, STEP_IF, sc_cond,
 * sc_on_failure, u.loop.pacing_us); this header says how the engine applies it.
 *
 * Threads and ownership: everything runs on the engine thread of the user it is given;
 * the functions read the scenario (shared, read-only) and the user's own state (rng,
 * capture variables), allocate nothing, lock nothing and cannot fail: they are on the
 * hot path. */
#ifndef WORKER_ENGINE_FLOW_H
#define WORKER_ENGINE_FLOW_H
#include <stdbool.h>
#include <stdint.h>
#include "common/scenario.h"
#include "common/tmpl.h"

/* STEP_PICK: the index of the branch that runs this time. r is drawn uniform in
 * [0, total_weight) from the user's rng (the top 32 bits of one draw, scaled by a
 * multiply-shift: with total_weight <= 100,000 a branch's share is off by < 2^-15) and the first branch whose running sum of weights exceeds
 * r runs, so a weight-0 branch never runs. A pick whose total weight is 0 (the parser
 * and scenario_apply_tags refuse it) gives -1: the engine then runs nothing. */
int flow_pick(const sc_step *s, uint64_t *rng);

/* STEP_IF: the condition over the user's capture variables (vars, indexed by slot),
 * the status of its last HTTP response (0: none yet, or the last request got no
 * response) and its rng (chance: true when a draw uniform in [0, 1) is below chance, so
 * 0 is never and 1 always; one draw per evaluation). */
bool flow_cond(const sc_cond *c, const tmpl_val *vars, long last_status, uint64_t *rng);

/* What a failed http or ws step makes the user do (see sc_on_failure): go on, end the
 * iteration, or end the user (closed model: for the run; open model: its session).
 * STOP_ITERATION inside setup is STOP_USER (in_setup: the failed step is one of the
 * profile's setup steps). */
typedef enum { FLOW_GO_ON = 0, FLOW_END_ITERATION, FLOW_END_USER } flow_action;
flow_action flow_on_failure(sc_on_failure of, bool in_setup);

/* Loop pacing: how long (us) the user waits after a pass of a loop whose pacing is
 * pacing_us, that began at pass_start_us and ended at now_us (monotonic us): the rest
 * of the pacing, 0 when the pass took at least the pacing (no catch-up) or the loop has
 * none (pacing_us 0). */
uint64_t flow_pacing_wait(uint64_t pacing_us, uint64_t pass_start_us, uint64_t now_us);

/* The open model's stop_user: the user's capture variables are cleared (every slot
 * unset, as if never captured; the buffers are kept for reuse, so nothing is freed or
 * allocated). The engine also drops its cookies and its ws connection. */
void flow_vars_clear(tmpl_val *vars, int nvars);
#endif
