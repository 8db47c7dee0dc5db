/* The system under test, watched (issue 13): the scraper of a scenario's `monitor:`
 * section (common/scenario_types.h sc_monitor). One thread per run, started and stopped
 * by the coordinator (master/coord_run.c: the same code serves stampede-master and a
 * local `stampede run`), fetches every target's Prometheus text (common/promtext.h)
 * every interval, derives the figures, appends them to DIR/monitor.csv and keeps the
 * run's summary per (target, metric).
 *
 * Threads and ownership: monitor_start returns a monitor the caller (the coordinator
 * thread) owns; its thread only reads the scenario's sc_monitor (which must outlive
 * monitor_stop) and writes its own state under its own mutex. monitor_snapshot and
 * monitor_live_json may be called from any thread while it runs; monitor_stop joins the
 * thread and fills the summary; monitor_free releases everything. Files: the scraper
 * in master/monitor.c; the summary's arithmetic, its JSON and the monitor.csv readers
 * in master/monitor_summary.c.
 *
 * What fails, and how:
 * - A URL whose host does not resolve into the allowed networks (--allow-monitor
 *   CIDR,...; default loopback 127.0.0.0/8 and ::1) is refused before the run starts
 *   (monitor_check_allow: the run is not started, the error names the target, its host
 *   and the list), and each connection is checked again at connect time (a name that
 *   resolves elsewhere later is refused then, counted as a failed scrape).
 * - A scrape that fails (connection refused, timeout, HTTP status other than 200, a
 *   body over PROM_MAX_BODY, a body the parser refuses) is counted per target with its
 *   reason (the last one kept) and written as up = 0; it never fails the run.
 * - monitor.csv that cannot be written: the monitor keeps scraping and summarizing;
 *   the reason is logged once and kept (monitor_summary.csv_error), and the coordinator
 *   reports it at the end as any results file that could not be written.
 *
 * Fetching: libcurl's multi interface, every target at once, only http and https,
 * redirects not followed, a timeout of min(interval x 0.8, 10 s), a body cap of
 * PROM_MAX_BODY, no proxy from the environment, "Accept: text/plain;version=0.0.4".
 *
 * Figures (per target, per scrape; a figure without its inputs is not written):
 *   up          1 when the scrape worked, 0 when it failed
 *   cpu         busy % of all CPUs: over node_cpu_seconds_total, 100 x the growth of
 *               the seconds of every mode but idle and iowait / the growth of all modes'
 *               seconds, between this scrape and the previous one (from the 2nd scrape;
 *               at most 100: the exporter's float sums can overshoot by a hair)
 *   memory      used %: 100 x (1 - node_memory_MemAvailable_bytes /
 *               node_memory_MemTotal_bytes)
 *   load        node_load1
 *   network_rx  bytes received per second, node_network_receive_bytes_total summed
 *               over every device but "lo" (a rate)
 *   network_tx  the same for node_network_transmit_bytes_total
 *   disk_read   bytes read per second, node_disk_read_bytes_total over every device
 *   disk_write  bytes written per second, node_disk_written_bytes_total
 *   ALIAS       each `metrics:` entry: the sum of the series its selector matches;
 *               when one of them is a counter (promtext.h prom_is_counter) a rate per
 *               second between consecutive scrapes (from the 2nd scrape; a counter that
 *               went down was reset: its new value / the seconds between), else the
 *               value as is. A selector that matches nothing writes nothing.
 * An alias named like a derived figure replaces it.
 *
 * monitor.csv (DIR/monitor.csv, created with the run, a row per figure per scrape,
 * flushed after each round; Locust-style CSV like stats_history.csv):
 *   Timestamp,Target,Metric,Value
 * Timestamp: whole seconds of the wall clock at the round's start, as Locust; Value as
 * "%.10g". up rows are written for every scrape, so the scrape counts can be rebuilt. */
#ifndef MASTER_MONITOR_H
#define MASTER_MONITOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/scenario_types.h"
#include "worker/allow.h"

#define MONITOR_NAME_MAX 65         /* target names and metric names, with the NUL */
#define MONITOR_SERIES_MAX 120      /* points per figure kept for the live view */
#define MONITOR_LIVE_POINTS 4000    /* points of all figures together in /api/live */

typedef struct monitor_stat {
    char     target[MONITOR_NAME_MAX];
    char     metric[MONITOR_NAME_MAX];
    uint64_t n;                     /* samples */
    double   first, last, min, max, sum;
} monitor_stat;

typedef struct monitor_tstat {
    char     name[MONITOR_NAME_MAX];
    char     url[1025];
    uint64_t scrapes, failures;
    char     last_error[256];       /* "" when none (or rebuilt from monitor.csv) */
} monitor_tstat;

typedef struct monitor_summary {
    monitor_tstat *targets;
    int            ntargets;
    monitor_stat  *stats;           /* in the order first seen: target, then metric */
    int            nstats;
    uint64_t       interval_ms;
    char           csv_error[256];  /* "" unless monitor.csv could not be written */
} monitor_summary;

/* mean = sum / n; growth_pct = (last - first) / |first| x 100, 0 when first and last are
 * both 0, NaN when first is 0 and last is not (summary.json writes null; a "growth <"
 * threshold then fails). n == 0: every figure NaN. */
double monitor_stat_mean(const monitor_stat *s);
/* Adds one sample (the first sets first, min and max). */
void   monitor_stat_add(monitor_stat *s, double v);
double monitor_stat_growth(const monitor_stat *s);
const monitor_stat *monitor_summary_find(const monitor_summary *ms, const char *target,
                                         const char *metric);
void monitor_summary_fini(monitor_summary *ms);

/* The allowed networks from "CIDR,..." (NULL or "": loopback, worker/allow.h's
 * allow_default). 0, or -1 with err. */
int  monitor_allow_parse(allow_list *al, const char *spec, char *err, size_t errcap);
/* Every target's host resolves only into al: 0, or -1 with err ("monitor target 'app':
 * host 10.0.0.5 is outside --allow-monitor 127.0.0.0/8,::1/128"). */
int  monitor_check_allow(const sc_monitor *m, const allow_list *al, char *err, size_t errcap);

typedef struct monitor monitor;
/* Creates DIR/monitor.csv with its header and starts the thread (first round at once).
 * m and al are read by the thread until monitor_stop (al is copied). NULL with err. */
monitor *monitor_start(const sc_monitor *m, const allow_list *al, const char *dir,
                       char *err, size_t errcap);
/* Stops the thread (a round in progress is abandoned within ~100 ms), closes the CSV and
 * fills *out (the caller frees it with monitor_summary_fini). m may be NULL: *out empty. */
void monitor_stop(monitor *m, monitor_summary *out);
void monitor_free(monitor *m);
/* A copy of the summary so far (any thread). 0, or -1 on ENOMEM. */
int  monitor_snapshot(monitor *m, monitor_summary *out);
/* The live view's text: a JSON array, one object per figure,
 *   {"target":T,"metric":M,"last":V,"min":V,"max":V,"mean":V,"t":[s,...],"v":[V,...]}
 * (t: seconds since the monitor started; the latest points, at most MONITOR_SERIES_MAX
 * per figure and MONITOR_LIVE_POINTS in all, at least 2 per figure),
 * then the targets {"target":T,"scrapes":N,"failures":N,"last_error":E} in a second
 * array: {"figures":[...],"targets":[...]}. malloc'd; NULL on ENOMEM or m NULL. */
char *monitor_live_json(monitor *m);

/* Rebuilds the summary from DIR/monitor.csv (stampede report DIR after a crash): every
 * row read in order; a missing file is an empty summary and 0; a row that cannot be
 * read (a torn last line after a crash) ends the reading there and is not an error.
 * -1 with err only when the file exists and cannot be read. */
int  monitor_summary_load(const char *dir, monitor_summary *out, char *err, size_t errcap);

/* report.html's monitor charts (master/report.c): writes to f a JSON array, one object
 * per (target, metric) in the order monitor.csv first names them,
 *   {"target":T,"metric":M,"t":[seconds since t0,...],"v":[V,...]}
 * with at most maxpoints points each (a longer series is cut into maxpoints buckets of
 * consecutive samples; each bucket gives its first time and its largest value, so a
 * peak a "never above" threshold judged stays visible); "null" when the folder has no
 * monitor.csv. t0: unix seconds of the history's first row (NaN: monitor.csv's first).
 * Names that are not words (letters, digits, _ -) are skipped: nothing in the output
 * needs escaping. At most MONITOR_REPORT_SERIES series. 0, or -1 on ENOMEM. */
#define MONITOR_REPORT_SERIES 1024
int  monitor_report_data(const char *dir, double t0, int maxpoints, FILE *f);

/* summary.json: sets "monitor" [{target, metric, samples, first, last, min, mean, max,
 * growth_pct}] and "monitor_targets" [{target, url, scrapes, failures, last_error}] on
 * root (a jansson json_t *, given as void * so that this header needs no jansson). ms
 * NULL: both are empty arrays. */
void monitor_summary_json(void *root, const monitor_summary *ms);
#endif
