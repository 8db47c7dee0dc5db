/* Rebuilding the results of a run that died (`stampede report DIR` on a folder without
 * summary.json): from DIR/checkpoint.msgpack (master/checkpoint.h), the totals up to the
 * last closed interval, it writes what the run would have written at its end:
 * summary.json, stats.csv, failures.csv, junit.xml (master/results.h results_finish) and
 * report.html (master/report.h, which also reads the stats_history.csv and schedule.csv
 * the run left). The summary says "interrupted": true, stop_reason "interrupted",
 * "covered_s" and duration_s the seconds the closed intervals cover, and thresholds are
 * judged on the covered totals over that duration (thresholds_eval); monitor thresholds
 * on monitor.csv's rows, every round the run flushed before it died (master/monitor.h
 * monitor_summary_load, which also fills summary.json's "monitor"). Workers that were
 * running at the last checkpoint are listed with the state "interrupted".
 *
 * What the rebuilt totals can miss (the in-flight bound, README "Results that survive a
 * crash"): the requests of the intervals not yet closed when the run died (the one in
 * progress, and one that ended less than RING_LATE_MS earlier while a worker's delta was
 * still on its way), plus the requests in flight at that moment.
 *
 * Any thread; no globals. Fails with a reason: no or unreadable checkpoint, a checkpoint
 * that is foreign or corrupt (nothing is written then), a write that fails. */
#ifndef MASTER_REBUILD_H
#define MASTER_REBUILD_H
#include <stddef.h>
#include <stdint.h>

typedef struct rebuild_info {
    uint64_t intervals;         /* intervals covered (the last closed one's index + 1) */
    double   covered_s;         /* the seconds they cover */
    uint64_t requests;          /* HTTP requests in the rebuilt totals */
    int      thresholds;        /* thresholds judged */
    int      thresholds_failed;
} rebuild_info;

/* 0 when every file was written (info filled), -1 with err. */
int rebuild_from_checkpoint(const char *dir, rebuild_info *info, char *err, size_t errcap);
#endif
