/* Threshold evaluation: see master/thresholds.h.
 *
 * Decisions the header leaves open, written down here:
 * - "No data" is NaN, and NaN fails whatever the operator: a named threshold whose name
 *   got no request; a latency or error_rate threshold over a run with no request at all;
 *   rps when the duration is not positive; an allocation failure while summing a
 *   named threshold's entries (it then fails rather than passing on partial data).
 *   requests/failures/rps over the whole run
 *   with zero requests are real zeros (so "failures < 1" holds for an idle run).
 * - Latency percentiles are the histogram's (highest value of the bucket holding the
 *   percentile, error < 0.1%), converted to ms as us / 1000.0 without rounding.
 * - A WebSocket threshold (th->ws, or the out_of_order metric) reads the one entry of
 *   its connection name that common/stats.h assigns to that figure, under the rule of
 *   named HTTP thresholds: absent or without requests is NaN. So "feed: out_of_order < 1"
 *   fails when no message carried a sequence number (nothing was checked), and
 *   "feed: connect error_rate < 1%" reads connect failures / attempts. A ws threshold
 *   without a name has no entry to read and fails with NaN. */
#include "master/thresholds.h"

#include <math.h>
#include <stddef.h>

static bool th_is_latency(sc_metric m)
{
    switch (m) {
    case TH_P50: case TH_P90: case TH_P95: case TH_P99: case TH_P999:
    case TH_MIN: case TH_MAX: case TH_MEAN:
        return true;
    default:
        return false;
    }
}

/* The measured value of metric m over e, in the threshold's unit; NaN when no data. */
static double th_measure(sc_metric m, const merge_entry *e, double duration_s)
{
    const hist *h = &e->lat;
    if ((th_is_latency(m) || m == TH_ERROR_RATE) && e->requests == 0)
        return NAN;
    if (th_is_latency(m) && h->total == 0)
        return NAN;
    switch (m) {
    case TH_P50:  return (double)hist_percentile(h, 50.0) / 1000.0;
    case TH_P90:  return (double)hist_percentile(h, 90.0) / 1000.0;
    case TH_P95:  return (double)hist_percentile(h, 95.0) / 1000.0;
    case TH_P99:  return (double)hist_percentile(h, 99.0) / 1000.0;
    case TH_P999: return (double)hist_percentile(h, 99.9) / 1000.0;
    case TH_MIN:  return (double)h->min_us / 1000.0;
    case TH_MAX:  return (double)h->max_us / 1000.0;
    case TH_MEAN: return hist_mean(h) / 1000.0;
    case TH_ERROR_RATE: return (double)e->failures / (double)e->requests;
    case TH_RPS:  return duration_s > 0 ? (double)e->requests / duration_s : NAN;
    case TH_REQUESTS: return (double)e->requests;
    case TH_FAILURES: return (double)e->failures;
    case TH_OUT_OF_ORDER: return (double)e->failures;   /* e is the WS:order entry */
    case TH_DROPPED:
    case TH_RATE:   return NAN;     /* schedule figures: not per entry (issue 11) */
    }
    return NAN;
}

/* value OP limit; false for NaN (every comparison with NaN is false). */
static bool th_compare(double value, sc_op op, double limit)
{
    switch (op) {
    case OP_LT: return value < limit;
    case OP_LE: return value <= limit;
    case OP_GT: return value > limit;
    case OP_GE: return value >= limit;
    }
    return false;
}

/* The stats method a WebSocket threshold reads, or NULL for an HTTP threshold. */
static const char *th_ws_method(const sc_threshold *th)
{
    if (th->metric == TH_OUT_OF_ORDER)
        return STATS_WS_ORDER;
    switch (th->ws) {
    case TH_WS_NONE:      return NULL;
    case TH_WS_MESSAGE:   return STATS_WS_MESSAGE;
    case TH_WS_CONNECT:   return STATS_WS_CONNECT;
    case TH_WS_FANOUT:    return STATS_WS_FANOUT;
    case TH_WS_RECONNECT: return STATS_WS_RECONNECT;
    case TH_WS_PING:      return STATS_WS_PING;
    }
    return NULL;
}

int thresholds_eval(const scenario *sc, const merge_set *totals, double duration_s, th_result *out)
{
    int failed = 0;
    for (int i = 0; i < sc->nthresholds; i++) {
        const sc_threshold *th = &sc->thresholds[i];
        const char *ws_method = th_ws_method(th);
        double v;
        if (ws_method != NULL) {
            const merge_entry *e = merge_find(totals, ws_method, th->name);
            v = (e != NULL && e->requests > 0) ? th_measure(th->metric, e, duration_s) : NAN;
        } else if (th->name != NULL) {
            merge_entry sum;
            int found = merge_by_name(totals, th->name, &sum);
            v = (found > 0 && sum.requests > 0) ? th_measure(th->metric, &sum, duration_s) : NAN;
            merge_entry_fini(&sum);
        } else {
            v = th_measure(th->metric, &totals->all, duration_s);
        }
        out[i].th = th;
        out[i].value = v;
        out[i].ok = !isnan(v) && th_compare(v, th->op, th->value);
        if (!out[i].ok)
            failed++;
    }
    return failed;
}
