/* report.html: one self-contained file per results folder that opens offline (file://,
 * no network): the run's data and the uPlot library, app.css and report.js
 * (master/assets.h) are all inline.
 *
 * report_write reads DIR/summary.json (required), DIR/stats_history.csv (optional:
 * without it the charts say "no history") and DIR/schedule.csv (optional: the open
 * model's schedule per interval, master/results.h) and writes DIR/report.html (through a
 * temporary file and rename, so a reader never sees half a file). The data goes into
 * <script type="application/json" id="stampede-data">{"summary": <summary.json as is>,
 * "history": {"t": [...s since start], "users": [...], "rps": [...], "fps": [...],
 * "p50": [...], "p95": [...], "p99": [...]}, "schedule": null or {"t", "planned",
 * "achieved", "backlog", "dropped", "lag_p99", "s50", "s95", "s99", "limited": [...]}}</script> with "<" written as \u003c so no
 * data can end the script element. report.js renders: run metadata (scenario, target,
 * start, duration, stop reason, peak users), thresholds pass/fail, charts over time
 * (users; requests/s and failures/s; p50/p95/p99), the per-name table (HTTP and WS rows,
 * sortable), the WebSocket section, errors, workers, and the coordinated-omission
 * corrected figures when summary.json has them ("co_corrected"); in the open model
 * (a schedule) also planned vs achieved rate, backlog and dropped, latency beside service
 * percentiles with generator-limited intervals marked, the schedule's figures, the
 * verdict's notes and the iterations per profile.
 *
 * Called by the coordinator at the end of every run (master/results.c) and by
 * `stampede report DIR`. Any thread; no globals. */
#ifndef MASTER_REPORT_H
#define MASTER_REPORT_H
#include <stddef.h>
#include <jansson.h>

/* 0, or -1 with a message in err (missing/unreadable summary.json, write failure). */
int report_write(const char *dir, char *err, size_t errcap);

/* A JSON file read as json_load_file(path, 0, jerr) would, except that bytes which are
 * not UTF-8 are first replaced by '?' (util_utf8_clean): a summary.json written before
 * names were cleaned (issue 9 item 13), or by hand, still loads, where jansson would
 * refuse the whole file. JSON's own syntax is ASCII, so only string contents change.
 * NULL with jerr filled (text names path; line -1 when it could not be read). Used by
 * report_write and `stampede compare`. Any thread. */
json_t *report_load_json(const char *path, json_error_t *jerr);
#endif
