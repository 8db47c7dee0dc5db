/* Regressions against a baseline (issue 14): is a run worse than its scenario's
 * baseline by more than the tolerance, and unlikely to be noise?
 *
 * The method (the README's "Regressions" says the same):
 * - Metrics: p95 latency (higher is worse), throughput rps (lower is worse) and error
 *   rate (failures / requests, higher is worse), each with its own tolerance (default
 *   10 %; the error rate's is relative with a floor of REGRESS_ERR_FLOOR, 1 percentage
 *   point, so 0 -> 0.2 % errors is no regression but 0 -> 5 % is).
 * - Size: the run's whole-run figure against the baseline's, for the Aggregated row and
 *   for every request name both runs have.
 * - Noise: two runs of an unchanged target differ (two identical 20 s runs once showed a
 *   23 % p95 difference), so a change must also be unlikely to be chance. Each run has a
 *   series of per-interval figures (stats_history.csv's Aggregated rows: the interval's
 *   p95, its req/s, its failures/s over req/s). A one-sided Mann-Whitney U test (rank
 *   sum; normal approximation with the tie correction and a continuity correction)
 *   asks whether the run's intervals are stochastically worse than the baseline's;
 *   p < alpha (default 0.01) counts as significant. The first and last interval of each
 *   run are left out (partial intervals); fewer than min_intervals (default 5) left on
 *   either side: no test, and no regression is claimed ("too short to tell" in notes).
 * - Verdict: the Aggregated row of a metric regresses when its change exceeds the
 *   tolerance in the worse direction AND its interval test is significant. A request
 *   name regresses on a metric when its own change exceeds the tolerance AND the
 *   Aggregated interval test of that metric is significant in the same direction (the
 *   run as a whole moved: per-name interval series are not kept). A name beyond the
 *   tolerance without that is listed under "changes", not "regressions".
 * Pure: no I/O, any thread. */
#ifndef MASTER_REGRESS_H
#define MASTER_REGRESS_H
#include <stdbool.h>
#include "master/history.h"

#define REGRESS_ERR_FLOOR 0.01

typedef struct regress_opts {
    double tol_p95, tol_rps, tol_err;   /* fractions: 0.10 = 10 %; <= 0: the default */
    double alpha;                       /* <= 0: 0.01 */
    int    min_intervals;               /* <= 0: 5 */
} regress_opts;

/* One-sided Mann-Whitney U: the probability of rank sums at least this extreme if b's
 * values were not larger than a's (greater = true) / not smaller (greater = false).
 * NaN values are skipped; 1.0 when either side is empty. */
double regress_mwu_p(const double *a, int na, const double *b, int nb, bool greater);

/* Compares run with base. Returns malloc'd JSON text:
 *   {"baseline": id, "run": id, "regressed": bool, "tolerance": {"p95", "rps", "error_rate"},
 *    "alpha": A, "tests": {"p95": {"p": P, "n_base", "n_run"} | null, "rps": ..., "error_rate": ...},
 *    "regressions": [{"name", "method", "metric", "base", "value", "change_pct", "p"}],
 *    "changes": [same keys: beyond the tolerance, not significant],
 *    "notes": [text]}
 * *regressed set; NULL on ENOMEM. opts NULL: the defaults. */
char *regress_compare(const history_figures *base, const history_figures *run, const regress_opts *opts,
                      bool *regressed);
#endif
