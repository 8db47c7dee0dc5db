/* The load shape the engine follows, over a scenario's stages (common/scenario.h holds
 * them): target users at time t (linear within each stage), the run's length and peak,
 * the -u/-r/-t override, and the table that says which profile global user k runs.
 * scenario.h's scenario_users_at, scenario_duration_ms, scenario_peak_users,
 * scenario_override_load and scenario_profile_of apply these to a scenario.
 *
 * Pure functions over the caller's arrays: any thread (engine threads included), no
 * state. Only loadshape_profile_seq allocates (parse time; the caller frees). */
#ifndef COMMON_LOADSHAPE_H
#define COMMON_LOADSHAPE_H
#include <stdint.h>

/* The most users a run may ask for, on every path: a stage's users in YAML, -u, --set,
 * the API's "users" and a PLAN's users override. */
#define SC_MAX_USERS 1000000u

typedef struct sc_stage {
    uint64_t duration_ms;
    uint32_t users;             /* target at the end of the stage (linear from the previous) */
} sc_stage;

/* Sum of the stages' durations, and the largest target among them. */
uint64_t loadshape_duration_ms(const sc_stage *st, int n);
uint32_t loadshape_peak_users(const sc_stage *st, int n);
/* Target users at t_ms after the start: linear from the previous stage's target (0
 * before the first) to this stage's, floored; a zero-length stage is a step; after the
 * last stage 0. */
uint32_t loadshape_users_at(const sc_stage *st, int n, uint64_t t_ms);
/* -u/-r/-t (Locust's meaning) over the stages st[n]: one linear ramp from 0 to users at
 * rate users/s, held so that the whole run lasts duration_ms (the ramp counts toward it;
 * a ramp longer than the duration is cut where the run ends). users 0 keeps the peak of
 * st; rate 0 means "all at once"; duration 0 keeps the total of st; users above
 * SC_MAX_USERS are clamped to it. Writes the new stages to out and returns how many (1
 * or 2). */
int      loadshape_override(const sc_stage *st, int n, uint32_t users, double rate,
                            uint64_t duration_ms, sc_stage out[2]);
/* The profile table: total (the sum of weights[0..n), each >= 1) entries in smooth
 * weighted round-robin order (as nginx balances upstreams), so that every prefix of
 * users follows the weights as closely as integers allow. A malloc'd array the caller
 * frees, or NULL on ENOMEM. */
int     *loadshape_profile_seq(const uint32_t *weights, int n, uint32_t total);
/* Profile of global user k (0-based) from that table; 0 when there is none. */
int      loadshape_profile_of(const int *seq, uint32_t total, uint64_t k);
#endif
