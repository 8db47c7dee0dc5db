/* Threshold evaluation on merged whole-run totals. Latency thresholds compare in ms,
 * error_rate as a fraction (failures / requests), rps as requests / duration. A
 * threshold about a name that never got a request fails with value NaN (a typo in a
 * name must not pass silently) and says why in its note. Coordinator thread (the live
 * view evaluates the same on a copy of the totals: any thread, no state).
 *
 * The open model (issue 11, common/threshold.h sc_th_of): "p95" reads the latency
 * histogram (from the intended start), "service p95" the service one (stats_row_svc:
 * equal to latency in the closed model), "iteration p95" the ITER rows (every profile's
 * added, or with a name the one of that profile), "lag p99" the schedule's lag
 * (merge_set.sched.lag); "dropped" counts arrivals dropped over the run, "rate" is
 * iterations started per second over the covered duration (thresholds_covered_s). */
#ifndef MASTER_THRESHOLDS_H
#define MASTER_THRESHOLDS_H
#include <stdbool.h>
#include "common/scenario.h"
#include "master/merge.h"

typedef struct th_result {
    const sc_threshold *th;     /* borrowed from the scenario */
    bool   ok;
    double value;               /* measured, in the threshold's unit (NaN: no data) */
    char   note[192];           /* NaN: why ("no requests named login", "no iterations of
                                 * profile planner", "no arrival started"); else "" */
} th_result;

/* The seconds the run's schedule covered: the scenario's stages (scenario_duration_ms)
 * when the run lasted at least that long, else the run's duration_s (a run stopped
 * early). The graceful stop after the stages plans no arrival, so rates over it would
 * read low: rate_planned/rate_achieved (summary.json) and "rate >= R" divide by this.
 * sc may be NULL (then duration_s). */
double thresholds_covered_s(const scenario *sc, double duration_s);

/* out has sc->nthresholds slots. Returns the number that failed. Monitor thresholds
 * ("monitor app-host.cpu < 80%") fail here with NaN ("no monitor figures") until
 * thresholds_eval_monitor judges them. */
int thresholds_eval(const scenario *sc, const merge_set *totals, double duration_s, th_result *out);
/* After thresholds_eval on the same out: judges the monitor thresholds on ms (NULL: as
 * no samples) and returns the number of all thresholds that now fail. */
struct monitor_summary;
int thresholds_eval_monitor(const scenario *sc, const struct monitor_summary *ms, th_result *out);
#endif
