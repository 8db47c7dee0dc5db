/* The run history (issue 14): every run remembered in one SQLite file, for listings,
 * trends across runs, baselines and regressions.
 *
 * Where: the master keeps history.db in its --results-dir; a local `stampede run`
 * records into history.db in the parent folder of its results folder (--history FILE
 * chooses, --no-history skips). One file, SQLite in WAL mode: one writer at a time
 * (a busy timeout of HISTORY_BUSY_MS rides over another writer), readers never wait
 * for a writer, so the API can list while a run is recorded.
 *
 * What a run is made of: its results folder. history_record reads DIR/summary.json
 * (required) and DIR/stats_history.csv (optional: the per-interval figures the
 * regression test needs), so whatever wrote the folder (a finished run, a run that
 * was stopped, `stampede report DIR` rebuilding one that died) records the same way,
 * and nothing here depends on the coordinator's structures. Stored per run:
 *   id (the history's own, increasing), scenario name, sha256 of the scenario's text
 *   (DIR/scenario.yaml when present, else the name), labels (--label K=V, a JSON
 *   object), start and end (ms since the epoch), status (finished | aborted |
 *   interrupted | stopped), model, peak users or planned rate, totals (requests,
 *   failures, rps, p50/p90/p95/p99/max in ms), one row per request name (method,
 *   name, requests, failures, rps, p50, p90, p95, p99, max, service p95 where the open
 *   model gives one), thresholds, monitor summaries and the verdict (the summary's JSON
 *   as is), the results folder, and the per-interval Aggregated figures (t, rps,
 *   failures/s, p50, p95, p99) from stats_history.csv.
 *
 * Schema: table meta holds ("app", "stampede-history") and ("schema", N). Opening a file
 * with an older schema migrates it in one transaction; a newer schema, a file that is
 * not SQLite, a SQLite file without our meta row (a foreign database) or a corrupted one
 * is refused with a clear reason and NEVER written to (the open is read-only until the
 * file is known to be ours). An empty or missing file is created.
 *
 * Threads: a history handle is one SQLite connection; use one per thread (the
 * coordinator records, the API reads with its own). Every call returns -1 with err on
 * failure; nothing aborts the process. Strings come back malloc'd JSON text where said
 * (the API sends them as they are). */
#ifndef MASTER_HISTORY_H
#define MASTER_HISTORY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "master/labels.h"

#define HISTORY_SCHEMA   1
#define HISTORY_BUSY_MS  5000
#define HISTORY_MAX_LABELS LABELS_MAX /* per run: master/labels.h */
#define HISTORY_LIST_MAX 1000     /* the most runs one list returns */

typedef struct history history;

/* Opens (creating when missing) the history file. readonly: never create or migrate
 * (the API of a local --ui, `stampede history --db`). NULL with err. */
history *history_open(const char *path, bool readonly, char *err, size_t errcap);
void     history_close(history *h);
/* The connection itself, for master/schedule.c (its tables live in the same file). */
struct sqlite3 *history_db(history *h);

typedef struct history_label { const char *key, *value; } history_label;

/* Records the run whose results are in dir, with its labels; *id gets its history id.
 * status NULL: taken from summary.json ("interrupted" when it says so, "aborted" when
 * its stop reason starts "aborted", "stopped" when stopped early, else "finished").
 * Recording the same folder twice records it once (the second call returns the first
 * id). 0 or -1 with err. */
int history_record(history *h, const char *dir, const history_label *labels, int nlabels,
                   const char *status, int64_t *id, char *err, size_t errcap);

/* Filters of a listing; NULL/0 fields do not filter. */
typedef struct history_filter {
    const char *scenario;
    const history_label *labels;  /* every label must match */
    int         nlabels;
    int         limit;            /* 0: 50; at most HISTORY_LIST_MAX */
} history_filter;

/* {"runs": [run, ...]} newest first, run = {id, scenario, scenario_hash, labels, start,
 * end, status, model, users, rate, requests, failures, rps, p50, p90, p95, p99, max,
 * verdict, baseline (bool), regression (object or null), results_dir}. Malloc'd text. */
char *history_list_json(history *h, const history_filter *f, char *err, size_t errcap);
/* One run whole: the listing's fields plus "requests_by_name": [...], "thresholds",
 * "monitor", "intervals": {"t", "rps", "fps", "p50", "p95", "p99"}. NULL with err
 * (err says "no run N" when there is none: *missing set). */
char *history_get_json(history *h, int64_t id, bool *missing, char *err, size_t errcap);
/* {"scenario", "name", "metric", "baseline": id or null, "points": [{id, start, value,
 * labels}]} oldest first, one point per run of the scenario that has the name (name
 * NULL or "Aggregated": the totals). metric: p50 p90 p95 p99 max rps requests failures
 * error_rate service_p95. -1 with err for an unknown metric. */
char *history_trends_json(history *h, const char *scenario, const char *name, const char *metric,
                          int limit, char *err, size_t errcap);
/* Makes run id the baseline of its scenario (one per scenario; the previous one stops
 * being it). *missing when there is no such run. */
int history_set_baseline(history *h, int64_t id, bool *missing, char *err, size_t errcap);
/* The baseline run of a scenario: *id 0 when none. */
int history_baseline(history *h, const char *scenario, int64_t *id, char *err, size_t errcap);
/* Stores the regression verdict of run id (JSON text, master/regress.h). */
int history_set_regression(history *h, int64_t id, const char *json, char *err, size_t errcap);

/* The figures master/regress.h compares: the run's per-name rows and its intervals.
 * Arrays malloc'd (history_figures_free). */
typedef struct history_name_fig {
    char   method[16], name[128];
    double requests, failures, rps, p50, p95, p99, error_rate;
} history_name_fig;
typedef struct history_figures {
    int64_t id;
    char    scenario[128];
    history_name_fig  total;      /* the Aggregated row */
    history_name_fig *names;
    int               nnames;
    double *iv_p95, *iv_rps, *iv_err; /* per interval: Aggregated p95 (ms), req/s, failures/s
                                       * over req/s (0 when none) */
    int     niv;
} history_figures;
int  history_figures_get(history *h, int64_t id, history_figures *out, char *err, size_t errcap);
void history_figures_free(history_figures *f);
#endif
