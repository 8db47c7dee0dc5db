/* `stampede compare BASE NEW [--tolerance 10%] [--metric p95,rps,error_rate]
 *                   [--junit FILE]`: the CI gate of the users' roadmap (seed 000: alert
 * on a > 10 % regression, block merges on a missed SLA).
 *
 * BASE and NEW are summary.json files or results folders holding one. Compared: the
 * overall totals (name "Aggregated") and every (method, name) row of "requests" (and
 * every "ws" name's message latency, method "WS"), for each chosen metric:
 *   p50 p90 p95 p99 p999 max mean   latency in ms (from latency_ms / message_ms): higher
 *                                   is worse
 *   rps                             requests per second: lower is worse
 *   error_rate                      failures / requests: higher is worse
 *   requests                        informational only (never a regression)
 *   service_p50 service_p95 service_p99  service time in ms (from service_ms, open-model
 *                                   summaries only): higher is worse
 *   rate_achieved dropped lag_p99   the open model's schedule (row "Schedule"):
 *                                   iterations started per second (lower is worse),
 *                                   arrivals dropped (higher is worse), lag p99 in ms
 *                                   (higher is worse)
 * Every "iterations" entry is a row "ITER PROFILE" (count as requests, latency_ms).
 * Default metrics: p95, rps, error_rate, service_p95, rate_achieved, dropped, lag_p99
 * (the open-model ones print only where a side measured them). Default tolerance 10%.
 * A change is a regression when the worse direction exceeds the tolerance relative to
 * BASE (|new - base| / base > tolerance; for error_rate, which is often 0, the
 * tolerance is also read as an absolute floor of 0.1 percentage point: 0 -> 0.0005 is
 * not a regression, 0 -> 0.02 is). An improvement is the same beyond tolerance the other
 * way. A name only in NEW is "new", only in BASE "removed": reported, not regressions.
 *
 * Output: a table on stdout, one line per (name, metric): name, metric, base, new,
 * change %, verdict (ok | REGRESSION | improved | new | removed), then a summary line
 * "compare: N regressions, M improvements (tolerance T%)". --junit FILE writes JUnit XML:
 * one testsuite "stampede.compare", one testcase per (name, metric) compared, a <failure>
 * for each regression.
 *
 * Exit code (compare_main's return): 0 no regression, 1 at least one regression,
 * 2 usage error or unreadable input (message on stderr). */
#ifndef CLI_COMPARE_H
#define CLI_COMPARE_H

/* argv[0] is "compare". */
int compare_main(int argc, char **argv);
#endif
