/* Threshold evaluation on merged whole-run totals. Latency thresholds compare in ms,
 * error_rate as a fraction (failures / requests), rps as requests / duration. A
 * threshold about a name that never got a request fails with value NaN (a typo in a
 * name must not pass silently). Coordinator thread. */
#ifndef MASTER_THRESHOLDS_H
#define MASTER_THRESHOLDS_H
#include <stdbool.h>
#include "common/scenario.h"
#include "master/merge.h"

typedef struct th_result {
    const sc_threshold *th;     /* borrowed from the scenario */
    bool   ok;
    double value;               /* measured, in the threshold's unit (NaN: no data) */
} th_result;

/* out has sc->nthresholds slots. Returns the number that failed. */
int thresholds_eval(const scenario *sc, const merge_set *totals, double duration_s, th_result *out);
#endif
