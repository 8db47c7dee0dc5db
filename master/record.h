/* After a run, whatever its end: it goes into the history, is compared with its
 * scenario's baseline, and the outcome is told (issue 14).
 *
 * record_run (the coordinator's thread, once the results folder is written; also
 * `stampede report DIR` for a rebuilt folder and `stampede compare --baseline`):
 * 1. opens the history (cfg->history; NULL: DIR's parent folder/history.db, the
 *    master's --results-dir or a local run's results/), records DIR with the labels
 *    (master/history.h history_record);
 * 2. when the scenario has a baseline other than this run, compares the two
 *    (master/regress.h) and stores the verdict in the history and in DIR/summary.json
 *    as "regression" (the file rewritten through a temporary file and rename); with no
 *    baseline, "regression" is {"baseline": null} (nothing to compare with);
 * 3. with cfg->notify_url, POSTs the webhook's JSON to it from a detached thread (5 s
 *    timeout, one try, the outcome logged): the coordinator never waits for a receiver.
 *      {"event": "run.finished", "run": {"id", "scenario", "status", "start", "end",
 *       "results_dir", "labels"}, "verdict": summary's verdict, "thresholds": [...],
 *       "regression": the comparison (or {"baseline": null}), "regressed": bool}
 * A history that cannot be opened or written (a foreign file, a full disk) is an error
 * returned with its reason, and the run's results stay as they are: the caller logs it.
 * Any thread; one history connection per call (opened and closed here). */
#ifndef MASTER_RECORD_H
#define MASTER_RECORD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct record_cfg {
    const char *history;        /* the history file; NULL: <parent of dir>/history.db */
    const char *notify_url;     /* the webhook (http:// or https://); NULL: none */
    const char *labels_json;    /* the run's labels as a JSON object (master/labels.h); NULL: none */
} record_cfg;

typedef struct record_out {
    int64_t id;                 /* the run's history id */
    int64_t baseline;           /* the baseline compared with, 0 when none */
    bool    regressed;
    char    summary[512];       /* one line for a console: "history: run 12; no baseline ..." */
} record_out;

/* 0, or -1 with err (out filled as far as it got). */
int record_run(const record_cfg *cfg, const char *dir, record_out *out, char *err, size_t errcap);

/* The history file a folder's run goes to by default: <parent of dir>/history.db. */
void record_default_history(const char *dir, char *buf, size_t cap);

#endif
