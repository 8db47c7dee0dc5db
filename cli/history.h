/* `stampede history` and `stampede compare --baseline` (issue 14): the run history from
 * the terminal.
 *
 *   stampede history [--master URL | --db FILE] [--scenario NAME] [--label K=V]...
 *                    [--limit N] [--json]
 *   stampede history [--master URL | --db FILE] --show ID [--json]
 *   stampede history [--master URL | --db FILE] --set-baseline ID
 *   stampede compare --baseline DIR [--history FILE]
 *
 * Without --master or --db the file is results/history.db (a local run's default). With
 * --master the master's API answers (GET /api/history, GET /api/history/ID, POST
 * /api/history/ID/baseline). A listing prints one line per run, newest first (id, start,
 * status, scenario, users or rate, requests, failure %, req/s, p95, regression, labels);
 * --json prints the API's JSON as it is, for scripts.
 *
 * compare --baseline DIR: records DIR in the history if it is not there (its parent's
 * history.db, or --history FILE), compares it with its scenario's baseline
 * (master/regress.h), prints the regressions and changes, and exits 1 when it regressed,
 * 0 when not, 2 when there is no baseline or the history cannot be read.
 * Exit codes: 0 done, 1 regressed (compare), 2 usage or no such run/history. */
#ifndef CLI_HISTORY_H
#define CLI_HISTORY_H
int history_main(int argc, char **argv);
/* stampede schedule list --master URL [--json] | schedule rm --master URL ID ("add" is
 * cli/main.c's: it takes `stampede run`'s options). 0, 2 usage or refused, 3 master
 * unreachable. */
int schedule_main(int argc, char **argv);
int history_compare_baseline(int argc, char **argv);
#endif
