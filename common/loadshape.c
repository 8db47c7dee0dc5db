/* The load shape (contract: common/loadshape.h): users over time from the stages, the
 * -u/-r/-t override, and which profile global user k runs.
 *
 * Decisions the header leaves open, written down here:
 * - Within a stage the target moves linearly from the previous stage's (0 before the
 *   first) and is floored; a zero-length stage is a step; after the last stage: 0.
 * - An override whose ramp outlasts the duration is cut: the ramp runs at the asked
 *   rate until the run ends (peak below the asked users).
 * - The profile table is built once at parse time (total_weight entries, at most
 *   100,000), so the engine's lookup is one modulo and one load. */
#include "common/loadshape.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "common/scenario.h"

uint64_t scenario_duration_ms(const scenario *sc)
{
    uint64_t t = 0;
    for (int i = 0; i < sc->nstages; i++)
        t += sc->stages[i].duration_ms;
    return t;
}

uint32_t scenario_peak_users(const scenario *sc)
{
    uint32_t peak = 0;
    for (int i = 0; i < sc->nstages; i++)
        if (sc->stages[i].users > peak)
            peak = sc->stages[i].users;
    return peak;
}

/* Linear from the previous stage's target (0 before the first) to this stage's, floored:
 * a ramp of 200 users over 200 s starts user n at n seconds. A zero-length stage is a
 * step (used by "all at once"). After the last stage: 0. */
uint32_t scenario_users_at(const scenario *sc, uint64_t t_ms)
{
    uint64_t start = 0, prev = 0;
    for (int i = 0; i < sc->nstages; i++) {
        uint64_t d = sc->stages[i].duration_ms, u = sc->stages[i].users;
        if (d > 0 && t_ms < start + d) {
            uint64_t el = t_ms - start;
            /* prev*(d-el) + u*el: a convex combination, never negative; durations are
             * capped at 10 years and users at 1e6, far from overflow. */
            return (uint32_t)((prev * (d - el) + u * el) / d);
        }
        start += d;
        prev = u;
    }
    return 0;
}

void scenario_override_load(scenario *sc, uint32_t users, double rate, uint64_t duration_ms)
{
    uint32_t u = users ? users : scenario_peak_users(sc);
    if (u > SC_MAX_USERS)       /* plan_scenario refuses it first; a direct caller is clamped */
        u = SC_MAX_USERS;
    uint64_t d = duration_ms ? duration_ms : scenario_duration_ms(sc);
    uint64_t ramp = 0;
    if (rate > 0) {
        double r = (double)u / rate * 1000.0;
        ramp = r >= (double)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)(r + 0.999999);
    }
    sc_stage st[2];
    int n = 0;
    if (ramp == 0) {
        st[n++] = (sc_stage){ 0, u };                   /* everyone at once */
        st[n++] = (sc_stage){ d, u };
    } else if (ramp >= d) {
        /* cut: the ramp runs at the asked rate until the run ends */
        st[n++] = (sc_stage){ d, (uint32_t)((double)u * (double)d / (double)ramp) };
    } else {
        st[n++] = (sc_stage){ ramp, u };
        st[n++] = (sc_stage){ d - ramp, u };
    }
    sc_stage *p = malloc((size_t)n * sizeof *p);
    if (!p)
        return;                                         /* keeps the scenario's own stages */
    memcpy(p, st, (size_t)n * sizeof *p);
    free(sc->stages);
    sc->stages = p;
    sc->nstages = n;
}

int scenario_profile_of(const scenario *sc, uint64_t k)
{
    if (!sc->total_weight || !sc->profile_seq)
        return 0;
    return sc->profile_seq[k % sc->total_weight];
}

int scenario_check_run(const scenario *sc, sc_error *err)
{
    uint32_t peak = scenario_peak_users(sc);
    for (uint32_t i = 0; i < sc->data.n; i++) {
        const data_feeder *f = &sc->data.f[i];
        if (f->mode == DATA_UNIQUE && f->nrows < peak) {
            if (err) {
                memset(err, 0, sizeof *err);
                snprintf(err->file, sizeof err->file, "%s", sc->file ? sc->file : "");
                snprintf(err->msg, sizeof err->msg, "data feeder '%s' (%s) gives each user its "
                         "own row, but it has %u rows for a peak of %u users", f->name,
                         f->file ? f->file : "?", f->nrows, peak);
                snprintf(err->hint, sizeof err->hint, "add rows to %s, lower the users, or use "
                         "mode: sequential", f->file ? f->file : "the file");
            }
            return -1;
        }
    }
    return 0;
}

/* Smooth weighted round-robin (as nginx balances upstreams): each turn every profile
 * gains its weight and the richest pays the total and is chosen. Every prefix of the
 * sequence follows the weights as closely as integers allow. */
int loadshape_profile_seq(scenario *sc)
{
    int64_t *cur = calloc((size_t)sc->nprofiles, sizeof *cur);
    sc->profile_seq = calloc(sc->total_weight, sizeof *sc->profile_seq);
    if (!cur || !sc->profile_seq) {
        free(cur);
        return -1;
    }
    for (uint32_t k = 0; k < sc->total_weight; k++) {
        int best = 0;
        for (int i = 0; i < sc->nprofiles; i++) {
            cur[i] += sc->profiles[i].weight;
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= sc->total_weight;
        sc->profile_seq[k] = best;
    }
    free(cur);
    return 0;
}
