/* The dashboard's live series (GET /api/series): one point per closed interval while
 * they fit, and a whole run's curve at bounded memory after that. The store holds at
 * most COORD_SERIES points (master/coord_types.h); when it is full, adjacent pairs merge
 * into one, so the resolution halves (the step, in intervals per point, doubles) and the
 * run stays covered from its first interval: a 24 h run at 1 s intervals keeps between
 * 1,350 and 2,700 points of 32 s. A point is published once it covers `step` intervals;
 * the intervals of the next one wait in `pending`.
 *
 * Merging (coord_point_merge): counts add (dropped), rates are the mean weighted by the
 * intervals each side covers (rps, fps, the planned and achieved rates: requests add up
 * and so does time), maxima stay maxima (users, backlog, cpu_max), percentiles and lag
 * take the larger of the two (a percentile of the union is not computable from two
 * percentiles; the larger one never hides a slow stretch), NaN (no requests) gives way
 * to a number, and a limited interval keeps the merged point limited; t is the later
 * point's (the end of what the point covers).
 *
 * Ownership: the store owns its points (coord_series_init allocates them once; nothing
 * allocates afterwards). Threads: none of its own; the coordinator calls it under its
 * mutex (master/coord_view.c). Fails: coord_series_init returns -1 on ENOMEM, and a
 * store without points ignores what it is given. */
#ifndef MASTER_COORD_SERIES_H
#define MASTER_COORD_SERIES_H
#include <stdint.h>
#include "master/coord_types.h"

typedef struct coord_series {
    coord_point *pts;           /* COORD_SERIES slots, oldest first; NULL: none */
    int          n;             /* points published */
    uint32_t     step;          /* intervals per published point: 1, 2, 4, ... */
    coord_point  pending;       /* the next point, from npending (< step) intervals */
    uint32_t     npending;
} coord_series;

int  coord_series_init(coord_series *s);
void coord_series_free(coord_series *s);
void coord_series_reset(coord_series *s);       /* a new run: empty, step 1 */
/* One closed interval's point. */
void coord_series_push(coord_series *s, const coord_point *pt);
/* a (covering na intervals) followed by b (nb intervals) into a. */
void coord_point_merge(coord_point *a, uint32_t na, const coord_point *b, uint32_t nb);
#endif
