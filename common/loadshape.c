/* The load shape (contract: common/loadshape.h).
 *
 * Decisions the header leaves open, written down here:
 * - users_at computes prev*(d-el) + u*el over d: a convex combination, never negative;
 *   durations are capped at 10 years and users at 1e6, far from overflow.
 * - The override's ramp length rounds up to the next millisecond; a rate so low that the
 *   ramp would not fit in 64 bits is treated as a ramp that never ends (cut).
 * - The profile table is built once at parse time (at most 100,000 entries), so the
 *   engine's lookup is one modulo and one load.
 * - The inverse's discriminant is clamped at 0: at the end of a ramp down to rate 0 it is
 *   0 in exact arithmetic and may round below it (sqrt would give NaN). */
#include "common/loadshape.h"

#include <math.h>
#include <stdlib.h>

uint64_t loadshape_duration_ms(const sc_stage *st, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += st[i].duration_ms;
    return t;
}

uint32_t loadshape_peak_users(const sc_stage *st, int n)
{
    uint32_t peak = 0;
    for (int i = 0; i < n; i++)
        if (st[i].users > peak)
            peak = st[i].users;
    return peak;
}

/* A ramp of 200 users over 200 s starts user n at n seconds. */
uint32_t loadshape_users_at(const sc_stage *st, int n, uint64_t t_ms)
{
    uint64_t start = 0, prev = 0;
    for (int i = 0; i < n; i++) {
        uint64_t d = st[i].duration_ms, u = st[i].users;
        if (d > 0 && t_ms < start + d) {
            uint64_t el = t_ms - start;
            return (uint32_t)((prev * (d - el) + u * el) / d);
        }
        start += d;
        prev = u;
    }
    return 0;
}

int loadshape_override(const sc_stage *st, int n, uint32_t users, double rate,
                       uint64_t duration_ms, sc_stage out[2])
{
    uint32_t u = users ? users : loadshape_peak_users(st, n);
    if (u > SC_MAX_USERS)       /* plan_scenario refuses it first; a direct caller is clamped */
        u = SC_MAX_USERS;
    uint64_t d = duration_ms ? duration_ms : loadshape_duration_ms(st, n);
    uint64_t ramp = 0;
    if (rate > 0) {
        double r = (double)u / rate * 1000.0;
        ramp = r >= (double)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)(r + 0.999999);
    }
    int k = 0;
    if (ramp == 0) {
        out[k++] = (sc_stage){ 0, u };                  /* everyone at once */
        out[k++] = (sc_stage){ d, u };
    } else if (ramp >= d) {
        /* cut: the ramp runs at the asked rate until the run ends */
        out[k++] = (sc_stage){ d, (uint32_t)((double)u * (double)d / (double)ramp) };
    } else {
        out[k++] = (sc_stage){ ramp, u };
        out[k++] = (sc_stage){ d - ramp, u };
    }
    return k;
}

int loadshape_cut(const sc_stage *st, int n, uint64_t duration_ms, sc_stage *out)
{
    uint64_t total = loadshape_duration_ms(st, n), start = 0;
    int k = 0;
    if (duration_ms == 0 || duration_ms >= total) {
        for (int i = 0; i < n; i++)
            out[k++] = st[i];
        if (duration_ms > total)
            out[k++] = (sc_stage){ .duration_ms = duration_ms - total,
                                   .users = n ? st[n - 1].users : 0,
                                   .rate = n ? st[n - 1].rate : 0 };
        return k;
    }
    for (int i = 0; i < n && start < duration_ms; i++) {
        out[k] = st[i];
        if (start + st[i].duration_ms > duration_ms) {
            /* reached at the cut: linear from the previous stage's value */
            out[k].duration_ms = duration_ms - start;
            out[k].users = loadshape_users_at(st, n, duration_ms);
            out[k].rate = loadshape_rate_at(st, n, (double)duration_ms * 1000.0);
        }
        start += out[k++].duration_ms;
    }
    return k;
}

/* Each turn every profile gains its weight and the richest pays the total and is chosen. */
int *loadshape_profile_seq(const uint32_t *weights, int n, uint32_t total)
{
    int64_t *cur = calloc(n > 0 ? (size_t)n : 1, sizeof *cur);
    int *seq = calloc(total ? total : 1, sizeof *seq);
    if (!cur || !seq) {
        free(cur);
        free(seq);
        return NULL;
    }
    for (uint32_t k = 0; k < total; k++) {
        int best = 0;
        for (int i = 0; i < n; i++) {
            cur[i] += weights[i];
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= total;
        seq[k] = best;
    }
    free(cur);
    return seq;
}

int loadshape_profile_of(const int *seq, uint32_t total, uint64_t k)
{
    if (!total || !seq)
        return 0;
    return seq[k % total];
}

/* --- the open model ------------------------------------------------------------- */

/* Stage i runs from rate r0 (the previous stage's, 0 before the first) to st[i].rate
 * over d seconds: A grows by r0*tau + (r1 - r0)*tau^2/(2d) within it. */
double loadshape_rate_at(const sc_stage *st, int n, double t_us)
{
    double start = 0, prev = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)st[i].duration_ms * 1000.0;
        if (d > 0 && t_us < start + d) {
            double el = t_us - start;
            if (el < 0) el = 0;
            return prev + (st[i].rate - prev) * el / d;
        }
        start += d;
        prev = st[i].rate;
    }
    return 0;
}

double loadshape_area(const sc_stage *st, int n, double t_us)
{
    double start = 0, prev = 0, area = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)st[i].duration_ms * 1000.0, r1 = st[i].rate;
        if (d > 0) {
            double el = t_us - start;
            if (el <= 0) return area;
            double tau = (el < d ? el : d) / 1e6, ds = d / 1e6;
            area += prev * tau + (r1 - prev) * tau * tau / (2 * ds);
            if (el < d) return area;
        }
        start += d;
        prev = r1;
    }
    return area;
}

double loadshape_area_inverse(const sc_stage *st, int n, double x)
{
    if (x < 0) x = 0;
    double start = 0, prev = 0, area = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)st[i].duration_ms * 1000.0, r1 = st[i].rate;
        if (d > 0) {
            double ds = d / 1e6, piece = (prev + r1) / 2 * ds;
            if (piece > 0 && x < area + piece) {
                double xr = x - area, k = (r1 - prev) / ds;
                /* k/2 tau^2 + r0 tau - xr = 0, in the form stable for k -> 0 and r0 = 0 */
                double disc = prev * prev + 2 * k * xr;
                double q = sqrt(disc > 0 ? disc : 0);   /* rounding on a ramp down to 0 */
                double tau = prev + q > 0 ? 2 * xr / (prev + q) : 0;
                if (tau > ds) tau = ds;
                return start + tau * 1e6;
            }
            area += piece;
        }
        start += d;
        prev = r1;
    }
    return -1;
}

double loadshape_peak_rate(const sc_stage *st, int n)
{
    double peak = 0;
    for (int i = 0; i < n; i++)
        if (st[i].rate > peak)
            peak = st[i].rate;
    return peak;
}

int loadshape_override_rate(const sc_stage *st, int n, double rate, uint64_t duration_ms,
                            sc_stage out[2])
{
    uint64_t d = duration_ms ? duration_ms : loadshape_duration_ms(st, n);
    out[0] = (sc_stage){ .duration_ms = 0, .rate = rate };
    out[1] = (sc_stage){ .duration_ms = d, .rate = rate };
    return 2;
}
