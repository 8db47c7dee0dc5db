/* `stampede run --master URL`: submits the plan to a master's HTTP API (master/api.h),
 * draws the same status line as a local run from GET /api/runs/ID once a second, stops
 * the run on Ctrl-C (a second Ctrl-C aborts), and at the end downloads the results files
 * into the local results folder, so both kinds of run leave the same folder.
 * Blocking libcurl easy calls on the main thread. Returns the CLI exit code
 * (0 ok, 1 threshold failed, 2 refused submission, 3 aborted or master lost). */
#ifndef CLI_REMOTE_H
#define CLI_REMOTE_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "proto/msg.h"
#include "cli/endrun.h"

typedef struct remote_cfg {
    const char *master;         /* http://host:port of the master's API */
    const proto_plan *plan;     /* scenario text, files, overrides */
    uint32_t    expect_workers;
    uint64_t    expect_timeout_ms;
    const char *out_dir;        /* NULL: results/<name>-<timestamp> */
    const char *name;           /* scenario name, for the default folder */
    uint32_t    peak_users;
    bool        quiet;
    bool        live;           /* draw the live status line (not --quiet, --only-summary) */
    const sigset_t *sigs;       /* SIGINT/SIGTERM, blocked; polled with sigtimedwait */
    const endrun_opts *end;     /* the end of the run (cli/endrun.h); NULL: defaults */
    bool        full_history;   /* --csv-full-history: "csv_full_history" in the run JSON */
    const char *labels_json;    /* --label K=V: "labels" in the run JSON ({"K": "V"}); NULL none */
    /* `stampede schedule add` (cli/history.h): instead of running it now, the run is
     * given to the master as a schedule (POST /api/schedules {cron, tz, run}); the reply's
     * id and next start are printed and remote_run returns. NULL: run it now. */
    const char *schedule_cron, *schedule_tz;
} remote_cfg;

int remote_run(const remote_cfg *cfg);
#endif
