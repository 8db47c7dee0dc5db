/* The end of a run, local or --master alike (issue 12), once the results folder is
 * complete: the console table, the failed thresholds by name, a verdict that is not
 * clean, Locust's files (--csv PREFIX, --html FILE) and the exit code.
 *
 * Everything is read from the run's summary.json text (master/results.h), the same
 * text a local run gets from coord_get_summary and a --master run downloads, so both
 * kinds of run end alike. Main thread of the CLI; writes the console text to the FILE
 * given (stderr in the CLI), files under the paths given. No globals.
 *
 * Exit codes (endrun_exit_code, pure): 3 (aborted, results lost) and 1 (a threshold
 * failed) stand as the run gave them. Otherwise: a run that made no request at all
 * (no HTTP request and no WebSocket connect attempt) is 3: an engine that failed to
 * start, or users that never reached a request, is never a success. Then, when the
 * scenario has thresholds, they decide (0). Without thresholds, a run with failed
 * requests (HTTP failures, WebSocket connect and expect failures) exits
 * exit_code_on_error (Locust's --exit-code-on-error, default 1; 0 turns it off). */
#ifndef CLI_ENDRUN_H
#define CLI_ENDRUN_H
#include <stdbool.h>
#include <stdio.h>

#define ENDRUN_EXIT_OK        0
#define ENDRUN_EXIT_THRESHOLD 1
#define ENDRUN_EXIT_ABORTED   3

typedef struct endrun_opts {
    const char *csv_prefix;     /* --csv PREFIX: PREFIX_stats.csv, ... (NULL: none) */
    const char *html;           /* --html FILE: a copy of report.html (NULL: none) */
    int         exit_code_on_error; /* failed requests and no thresholds: this code */
    bool        table;          /* print the end table (not --quiet) */
} endrun_opts;

/* The exit code (rules above) from the run's code so far and its summary text (NULL
 * or unreadable: rc unchanged). Pure. */
int  endrun_exit_code(int rc, const char *summary, int exit_code_on_error);
/* The end table into f: one row per request name (Type, Name, requests, failures,
 * p50, p95, p99, req/s; "svc p95" in the open model), a WS row per connection name,
 * then Aggregated; in the open model the schedule line below it; when totals.retries is
 * above 0 (issue 15) a line saying how many requests the lean client sent again on a
 * new connection. -1 when summary is not a readable summary (nothing written). */
int  endrun_table(FILE *f, const char *summary);
/* The failed thresholds, one line each ("threshold failed: EXPR: measured V", with its
 * note, e.g. "no requests named X"), and the verdict's notes when it is not clean
 * because of generator-limited intervals or dropped arrivals. Nothing when all is well. */
void endrun_notes(FILE *f, const char *summary);
/* Locust's files from the results folder dir: PREFIX_stats.csv, PREFIX_stats_history.csv,
 * PREFIX_failures.csv (copies of stats.csv, stats_history.csv, failures.csv) and
 * PREFIX_exceptions.csv (Locust's header only: Stampede has no user code to raise);
 * --html: a copy of report.html. Each is written to NAME.tmp and renamed. 0, or -1
 * after printing what failed on stderr (the others are still attempted). */
int  endrun_files(const char *dir, const endrun_opts *o);
/* All of the above in order (table when o->table, notes always, files); returns the
 * final exit code (a file that cannot be written turns 0 or 1 into 3). */
int  endrun_finish(const char *dir, const char *summary, int rc, const endrun_opts *o);
#endif
