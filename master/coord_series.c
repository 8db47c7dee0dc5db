/* The dashboard's live series at bounded memory (master/coord_series.h). */
#include "master/coord_series.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int coord_series_init(coord_series *s)
{
    memset(s, 0, sizeof *s);
    s->step = 1;
    s->pts = malloc(COORD_SERIES * sizeof *s->pts);
    if (!s->pts) return -1;
    /* Written once here, so the store's ~0.5 MiB is resident from the start: an untouched
     * calloc'd block would become resident page by page as the series fills (an hour at
     * 1 s), which reads as the master's memory creeping up over a long run. */
    for (int i = 0; i < COORD_SERIES; i++)
        s->pts[i] = (coord_point){ .p50 = NAN, .p95 = NAN, .p99 = NAN, .s50 = NAN, .s95 = NAN,
                                   .s99 = NAN, .lag_p99 = NAN };
    return 0;
}

void coord_series_free(coord_series *s)
{
    free(s->pts);
    memset(s, 0, sizeof *s);
}

void coord_series_reset(coord_series *s)
{
    s->n = 0;
    s->step = 1;
    s->npending = 0;
}

/* The larger of two figures where NaN means "none". */
static double series_max(double a, double b)
{
    if (isnan(a)) return b;
    if (isnan(b)) return a;
    return a > b ? a : b;
}

static double series_mean(double a, uint32_t na, double b, uint32_t nb)
{
    return (a * na + b * nb) / ((double)na + nb);
}

void coord_point_merge(coord_point *a, uint32_t na, const coord_point *b, uint32_t nb)
{
    a->t = b->t;
    if (b->users > a->users) a->users = b->users;
    a->rps = series_mean(a->rps, na, b->rps, nb);
    a->fps = series_mean(a->fps, na, b->fps, nb);
    a->rate_planned = series_mean(a->rate_planned, na, b->rate_planned, nb);
    a->rate_achieved = series_mean(a->rate_achieved, na, b->rate_achieved, nb);
    a->p50 = series_max(a->p50, b->p50);
    a->p95 = series_max(a->p95, b->p95);
    a->p99 = series_max(a->p99, b->p99);
    a->s50 = series_max(a->s50, b->s50);
    a->s95 = series_max(a->s95, b->s95);
    a->s99 = series_max(a->s99, b->s99);
    a->lag_p99 = series_max(a->lag_p99, b->lag_p99);
    a->cpu_max = series_max(a->cpu_max, b->cpu_max);
    if (b->backlog > a->backlog) a->backlog = b->backlog;
    a->dropped += b->dropped;
    a->limited = a->limited || b->limited;
}

/* Full: pairs merge, the resolution halves. */
_Static_assert(COORD_SERIES % 2 == 0, "the series halves by pairs");
static void series_halve(coord_series *s)
{
    int m = s->n / 2;
    for (int i = 0; i < m; i++) {
        coord_point p = s->pts[2 * i];
        coord_point_merge(&p, s->step, &s->pts[2 * i + 1], s->step);
        s->pts[i] = p;
    }
    s->n = m;
    s->step *= 2;
}

void coord_series_push(coord_series *s, const coord_point *pt)
{
    if (!s->pts) return;
    if (s->npending == 0) s->pending = *pt;
    else coord_point_merge(&s->pending, s->npending, pt, 1);
    s->npending++;
    if (s->npending < s->step) return;
    if (s->n == COORD_SERIES) {
        /* the pending point covers the old step: it becomes the first half of the next
         * point at the new step and goes on collecting */
        series_halve(s);
        return;
    }
    s->pts[s->n++] = s->pending;
    s->npending = 0;
}
