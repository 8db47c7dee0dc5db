/* Thresholds: the pass/fail language of a scenario's `thresholds:` list ("p95 < 500ms",
 * "login: p99 < 1s", "error_rate < 0.1%", "feed: message p95 < 100ms"). This module
 * parses one expression into an sc_threshold; master/thresholds.c evaluates them against
 * the merged figures. The types keep the scenario's sc_ prefix (a scenario holds them;
 * callers use these names).
 *
 * Pure parsing: any thread, no state. A parsed threshold owns expr and name (heap
 * copies); the scenario that holds it frees them (scenario_free). */
#ifndef COMMON_THRESHOLD_H
#define COMMON_THRESHOLD_H
#include <stddef.h>

typedef enum { TH_P50, TH_P90, TH_P95, TH_P99, TH_P999, TH_MIN, TH_MAX, TH_MEAN,
               TH_ERROR_RATE, TH_RPS, TH_REQUESTS, TH_FAILURES, TH_OUT_OF_ORDER,
               TH_DROPPED,      /* "dropped < 1": arrivals dropped over the run (no name) */
               TH_RATE,         /* "rate >= 48": iterations started per second over the
                                 * run (achieved; no name) */
               TH_MONITOR,      /* "monitor app-host.cpu < 80%": a figure of the system
                                 * under test (mon_target, mon_metric, agg; below) */
} sc_metric;
/* Monitor thresholds (issue 13): "monitor TARGET.METRIC [AGG] op VALUE[%]", TARGET a
 * monitor target's name, METRIC one of its metrics (an alias of its metrics: mapping or
 * a derived name: common/scenario_types.h sc_monitor), AGG how the run's samples are
 * folded: min, mean (or avg), max, last, growth (growth_pct: (last - first) / |first| x
 * 100). Without AGG a "<"/"<=" comparison reads max and a ">"/">=" one reads min: the
 * bound must hold at every scrape ("cpu < 80%" means never above 80, as Locust and k6
 * users read it). A trailing % is decoration (cpu and memory are already percentages,
 * growth is one): the number is compared as written. */
typedef enum { TH_AGG_AUTO = 0, TH_AGG_MIN, TH_AGG_MEAN, TH_AGG_MAX, TH_AGG_LAST,
               TH_AGG_GROWTH } sc_mon_agg;
/* Which histogram a latency metric reads (issue 11): "p95" (latency, from the intended
 * start), "service p95" (from the actual send), "iteration p95" (whole iterations; with
 * a name, "planner: iteration p99", that profile's), "lag p99" (schedule lag: actual
 * start - intended, no name). */
typedef enum { TH_OF_LATENCY = 0, TH_OF_SERVICE, TH_OF_ITERATION, TH_OF_LAG } sc_th_of;
/* What a threshold about a name measures: its HTTP requests, or one WebSocket figure of
 * that name ("feed: message p95 < 100ms", "feed: connect p99 < 50ms", "feed: fanout p95
 * < 200ms", "feed: reconnect max < 5s", "feed: ping p95 < 20ms", "feed: out_of_order <
 * 1"; out_of_order takes no kind word and counts out-of-order messages). The stats
 * entry each one reads is named in common/stats.h. */
typedef enum { TH_WS_NONE, TH_WS_MESSAGE, TH_WS_CONNECT, TH_WS_FANOUT, TH_WS_RECONNECT,
               TH_WS_PING } sc_ws_metric;
typedef enum { OP_LT, OP_LE, OP_GT, OP_GE } sc_op;
typedef struct sc_threshold {
    char     *expr;             /* as written */
    char     *name;             /* request name it is about, or NULL: all requests */
    sc_metric metric;
    sc_ws_metric ws;            /* TH_WS_NONE: HTTP (or, for out_of_order, the ws order entry) */
    sc_th_of  of;               /* latency metrics: which histogram (TH_OF_LATENCY default) */
    sc_op     op;
    double    value;            /* ms for latencies, a fraction for error_rate, else plain
                                 * (as written, latencies carry a unit and error_rate a %) */
    int       line, col;
    char     *mon_target;       /* TH_MONITOR: the target's name, owned; else NULL */
    char     *mon_metric;       /* TH_MONITOR: the metric's name, owned; else NULL */
    sc_mon_agg agg;             /* TH_MONITOR: as written (TH_AGG_AUTO: none) */
} sc_threshold;

/* Parses one expression: "[name:] [figure] metric op value". The name is everything
 * before the last ':' (request names may contain spaces); a ws figure word (message,
 * connect, fanout, reconnect, ping) before the metric makes it a ws threshold;
 * out_of_order is a ws metric of its own and needs a name. 0 with *out filled (line and
 * col left 0: the caller knows where it was written), or -1 with a message in err and
 * maybe a hint ("did you mean p95?"; empty otherwise). */
int      scenario_parse_threshold(const char *expr, sc_threshold *out, char *err, size_t errcap,
                                  char *hint, size_t hintcap);
/* The aggregation a monitor threshold reads: agg, or for TH_AGG_AUTO max (< and <=) or
 * min (> and >=). Its name: "min", "mean", "max", "last", "growth". */
sc_mon_agg  scenario_mon_agg(const sc_threshold *th);
const char *scenario_mon_agg_name(sc_mon_agg a);
/* The metric's name as summary.json writes it ("p95", "mean", "error_rate"), "?" if none. */
const char *scenario_metric_name(sc_metric m);
#endif
