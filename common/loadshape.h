/* The load shape the engine reads: target users at time t (linear within each stage),
 * the run's length and peak, the -u/-r/-t override, and the profile global user k runs.
 * The stages and the profile table live in the scenario (common/scenario.h); this module
 * computes over them.
 *
 * Threads: loadshape_profile_seq and scenario_override_load change the scenario and run
 * before it is shared (the parser; plan_scenario); the readers below are pure and run on
 * any thread, engine threads included, with no allocation. The functions keep their
 * scenario_ names (callers across the daemons use them). */
#ifndef COMMON_LOADSHAPE_H
#define COMMON_LOADSHAPE_H
#include <stdint.h>

typedef struct scenario scenario;
typedef struct sc_error sc_error;

/* The most users a run may ask for, on every path: a stage's users in YAML, -u, --set,
 * the API's "users" and a PLAN's users override. */
#define SC_MAX_USERS 1000000u

typedef struct sc_stage {
    uint64_t duration_ms;
    uint32_t users;             /* target at the end of the stage (linear from the previous) */
} sc_stage;

/* -u/-r/-t (Locust's meaning): one linear ramp from 0 to users at rate users/s, then held
 * so that the whole run lasts duration_ms (the ramp counts toward it; a ramp longer than
 * the duration is cut). users 0 keeps the scenario's peak; rate 0 means "all at once";
 * duration 0 keeps the scenario's total duration. users above SC_MAX_USERS are clamped
 * to it (plan_scenario refuses such a PLAN with an error before it gets here). */
void scenario_override_load(scenario *sc, uint32_t users, double rate, uint64_t duration_ms);
/* Target users at t_ms after the start (linear within a stage), and the total length. */
uint32_t scenario_users_at(const scenario *sc, uint64_t t_ms);
uint64_t scenario_duration_ms(const scenario *sc);
uint32_t scenario_peak_users(const scenario *sc);
/* Profile of global user k (0-based): smooth weighted round-robin over the weights, so
 * every prefix of users follows the weights as closely as integers allow. */
int      scenario_profile_of(const scenario *sc, uint64_t k);
/* Checks run-time requirements known once the peak is known (unique feeders need
 * peak users <= rows). 0 or -1 with err. */
int      scenario_check_run(const scenario *sc, sc_error *err);
/* Parse time: builds sc->profile_seq (total_weight entries) from the profiles' weights
 * for scenario_profile_of. 0, or -1 on ENOMEM. */
int      loadshape_profile_seq(scenario *sc);
#endif
