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
    uint32_t users;             /* closed model: target at the end of the stage (linear
                                 * from the previous) */
    double   rate;              /* open model: arrivals per second at the end of the stage
                                 * (linear from the previous stage's rate, 0 before the
                                 * first; a zero-length stage jumps); users is 0 */
} sc_stage;

/* The most arrivals per second a stage may ask for (per run, all workers together). */
#define SC_MAX_RATE 1e7

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
/* -t alone (issue 12; and the open model's -t): the stages st[n] kept, cut at
 * duration_ms (the stage running then ends there at the users, or rate, it has reached;
 * later stages go) or, when the stages are shorter, followed by one stage holding the
 * last stage's users (rate) up to duration_ms. duration_ms 0 or equal to the total: a
 * copy. out has room for n + 1 stages; returns how many were written. */
int      loadshape_cut(const sc_stage *st, int n, uint64_t duration_ms, sc_stage *out);
/* --- the open model: arrivals from the rate curve, in closed form -------------------
 * The rate r(t) is piecewise linear over the stages (as users are in the closed model).
 * A(t) = the integral of r from 0 to t: the expected number of arrivals intended before
 * t. Arrival number a (0-based, uniform arrivals) is intended at A^-1(a): the first at
 * the first instant A reaches 0 (t = 0 when the first stage's rate is above 0), then one
 * each time A grows by 1. Each piece is a quadratic in t, solved directly (no stepping,
 * so no error builds up over a 24 h run). Poisson arrivals are the same inverse applied
 * to a cumulative sum of exponential gaps of mean 1 (common/rng.h), which gives the same
 * mean rate with exponential gaps.
 * Times are in microseconds since the start, as doubles (exact to well under a
 * microsecond over years). Pure functions: any thread. */

/* Rate at t (per second), and the area A(t) (arrivals intended in [0, t)). Beyond the
 * last stage: rate 0, area the total. */
double   loadshape_rate_at(const sc_stage *st, int n, double t_us);
double   loadshape_area(const sc_stage *st, int n, double t_us);
/* A^-1(x): the instant from which A grows past x (so a stretch at rate 0 where A stays
 * at x is skipped: arrival 0 comes when the rate first rises above 0), or -1 when A
 * never exceeds x (no such arrival: uniform arrivals number ceil(total area)). x < 0 is
 * taken as 0. */
double   loadshape_area_inverse(const sc_stage *st, int n, double x);
/* The largest rate among the stages. */
double   loadshape_peak_rate(const sc_stage *st, int n);
/* --arrival-rate R: one stage at R (from the start) for duration_ms (0 keeps the total of
 * st). Writes out[0..2) and returns how many: a zero-length jump to R, then the hold. */
int      loadshape_override_rate(const sc_stage *st, int n, double rate,
                                 uint64_t duration_ms, sc_stage out[2]);

/* The profile table: total (the sum of weights[0..n), >= 1; a weight may be 0: that
 * profile never appears) entries in smooth
 * weighted round-robin order (as nginx balances upstreams), so that every prefix of
 * users follows the weights as closely as integers allow. A malloc'd array the caller
 * frees, or NULL on ENOMEM. */
int     *loadshape_profile_seq(const uint32_t *weights, int n, uint32_t total);
/* Profile of global user k (0-based) from that table; 0 when there is none. */
int      loadshape_profile_of(const int *seq, uint32_t total, uint64_t k);
#endif
