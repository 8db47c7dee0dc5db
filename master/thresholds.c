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
 *   without a name has no entry to read and fails with NaN.
 * - The open model (issue 11): "service pXX" without a name reads the HTTP totals'
 *   service histogram, with one the service histograms of that name's HTTP rows added
 *   here (not merge_by_name, which sums latency); "iteration pXX" without a name adds
 *   every profile's ITER row, with one reads that profile's row (none, or no iteration
 *   ended: NaN, "no iterations of profile X"); "lag pXX" reads the run's lag histogram
 *   (nothing started: NaN). "dropped" is a count and never NaN (0 in the closed model,
 *   where nothing is dropped); "rate" is started / thresholds_covered_s, NaN when that
 *   is not positive.
 * - Monitor thresholds (issue 13): thresholds_eval leaves them failed with NaN ("no
 *   monitor figures") so that a caller that forgets the monitor never passes one;
 *   thresholds_eval_monitor judges them on the monitor's summary: the aggregation the
 *   threshold reads (common/threshold.h scenario_mon_agg) of (target, metric); a figure
 *   with no sample is NaN ("no samples of app-host.cpu: 3 of 3 scrapes failed"), and a
 *   growth from a first sample of 0 to something else is +Inf (it fails "growth <").
 * - Every NaN carries a note saying what was missing, for junit.xml, summary.json and
 *   the live view. */
#include "master/thresholds.h"
#include "master/monitor.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

/* The measured value of metric m over e (latencies from h: e's lat, or its service
 * histogram), in the threshold's unit; NaN when no data. */
static double th_measure_h(sc_metric m, const merge_entry *e, const hist *h, double duration_s)
{
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
    case TH_MONITOR: return NAN;    /* the monitor's figures: thresholds_eval_monitor */
    }
    return NAN;
}

static double th_measure(sc_metric m, const merge_entry *e, double duration_s)
{
    return th_measure_h(m, e, &e->lat, duration_s);
}

double thresholds_covered_s(const scenario *sc, double duration_s)
{
    double stages = sc != NULL ? (double)scenario_duration_ms(sc) / 1000.0 : 0.0;
    if (stages > 0 && duration_s >= stages)
        return stages;
    return duration_s;
}

/* A latency metric over h alone (lag; a sum of histograms): NaN when h is empty. */
static double th_measure_hist(sc_metric m, const hist *h)
{
    merge_entry e = { .requests = h->total };
    return th_measure_h(m, &e, h, 0.0);
}

/* "service pXX" with a name: the service histograms of the HTTP rows of that name. */
static double th_service_named(const merge_set *t, const sc_threshold *th, char *note, size_t cap)
{
    hist h;
    hist_init(&h);
    uint64_t n = 0;
    int rv = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        const merge_entry *e = &t->entries[i];
        if (!stats_fig_is_http(e->fig) || strcmp(e->name, th->name) != 0)
            continue;
        n += e->requests;
        if (hist_add(&h, stats_row_svc(e)) != 0)
            rv = -1;
    }
    double v = NAN;
    if (n == 0)
        snprintf(note, cap, "no requests named %s", th->name);
    else if (rv != 0)
        snprintf(note, cap, "out of memory");
    else
        v = th_measure_hist(th->metric, &h);
    hist_fini(&h);
    return v;
}

/* "iteration pXX": one profile's ITER row, or every profile's added. */
static double th_iteration(const merge_set *t, const sc_threshold *th, char *note, size_t cap)
{
    if (th->name != NULL) {
        const merge_entry *e = merge_find(t, STATS_ITERATION, th->name);
        if (e == NULL || e->requests == 0) {
            snprintf(note, cap, "no iterations of profile %s", th->name);
            return NAN;
        }
        return th_measure(th->metric, e, 0.0);
    }
    hist h;
    hist_init(&h);
    int rv = 0;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->entries[i].fig == STATS_FIG_ITERATION && hist_add(&h, &t->entries[i].lat) != 0)
            rv = -1;
    double v = rv == 0 ? th_measure_hist(th->metric, &h) : NAN;
    if (isnan(v))
        snprintf(note, cap, rv == 0 ? "no iterations" : "out of memory");
    hist_fini(&h);
    return v;
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
        char *note = out[i].note;
        const size_t ncap = sizeof out[i].note;
        double v;
        note[0] = '\0';
        if (th->metric == TH_MONITOR) {
            v = NAN;                /* until thresholds_eval_monitor judges it */
            snprintf(note, ncap, "no monitor figures");
        } else if (th->metric == TH_DROPPED) {
            v = (double)totals->sched.dropped;
        } else if (th->metric == TH_RATE) {
            double cov = thresholds_covered_s(sc, duration_s);
            v = cov > 0 ? (double)totals->sched.started / cov : NAN;
            if (isnan(v))
                snprintf(note, ncap, "the run covered no time");
        } else if (th_is_latency(th->metric) && th->of == TH_OF_LAG) {
            v = th_measure_hist(th->metric, &totals->sched.lag);
            if (isnan(v))
                snprintf(note, ncap, "no arrival started");
        } else if (th_is_latency(th->metric) && th->of == TH_OF_ITERATION) {
            v = th_iteration(totals, th, note, ncap);
        } else if (th_is_latency(th->metric) && th->of == TH_OF_SERVICE && ws_method == NULL) {
            if (th->name != NULL)
                v = th_service_named(totals, th, note, ncap);
            else
                v = th_measure_h(th->metric, &totals->all, stats_row_svc(&totals->all), duration_s);
        } else if (ws_method != NULL) {
            const merge_entry *e = merge_find(totals, ws_method, th->name);
            v = (e != NULL && e->requests > 0) ? th_measure(th->metric, e, duration_s) : NAN;
            if (isnan(v) && th->name != NULL)
                snprintf(note, ncap, "no WebSocket data named %s", th->name);
            else if (isnan(v))
                snprintf(note, ncap, "a WebSocket threshold needs a connection name");
        } else if (th->name != NULL) {
            merge_entry sum;
            int found = merge_by_name(totals, th->name, &sum);
            v = (found > 0 && sum.requests > 0) ? th_measure(th->metric, &sum, duration_s) : NAN;
            merge_entry_fini(&sum);
            if (isnan(v))
                snprintf(note, ncap, found < 0 ? "out of memory" : "no requests named %s",
                         th->name);
        } else {
            v = th_measure(th->metric, &totals->all, duration_s);
        }
        if (isnan(v) && note[0] == '\0')
            snprintf(note, ncap, th->metric == TH_RPS ? "the run covered no time" : "no requests");
        out[i].th = th;
        out[i].value = v;
        out[i].ok = !isnan(v) && th_compare(v, th->op, th->value);
        if (!out[i].ok)
            failed++;
    }
    return failed;
}

int thresholds_eval_monitor(const scenario *sc, const monitor_summary *ms, th_result *out)
{
    int failed = 0;
    for (int i = 0; i < sc->nthresholds; i++) {
        const sc_threshold *th = &sc->thresholds[i];
        if (th->metric == TH_MONITOR) {
            const monitor_stat *s = monitor_summary_find(ms, th->mon_target, th->mon_metric);
            char *note = out[i].note;
            const size_t ncap = sizeof out[i].note;
            double v = NAN;
            note[0] = '\0';
            if (s == NULL || s->n == 0) {
                const monitor_tstat *t = NULL;
                for (int j = 0; ms && j < ms->ntargets; j++)
                    if (!strcmp(ms->targets[j].name, th->mon_target))
                        t = &ms->targets[j];
                if (t && t->failures)
                    snprintf(note, ncap, "no samples of %s.%s: %llu of %llu scrapes failed "
                             "(%.80s)", th->mon_target, th->mon_metric,
                             (unsigned long long)t->failures, (unsigned long long)t->scrapes,
                             t->last_error);
                else
                    snprintf(note, ncap, "no samples of %s.%s", th->mon_target, th->mon_metric);
            } else {
                switch (scenario_mon_agg(th)) {
                case TH_AGG_MIN:    v = s->min; break;
                case TH_AGG_MEAN:   v = monitor_stat_mean(s); break;
                case TH_AGG_LAST:   v = s->last; break;
                case TH_AGG_GROWTH:
                    v = monitor_stat_growth(s);
                    if (isnan(v))
                        v = INFINITY;   /* from 0 to something */
                    break;
                case TH_AGG_MAX:
                case TH_AGG_AUTO:   v = s->max; break;
                }
            }
            out[i].th = th;
            out[i].value = v;
            out[i].ok = !isnan(v) && th_compare(v, th->op, th->value);
        }
        if (!out[i].ok)
            failed++;
    }
    return failed;
}
