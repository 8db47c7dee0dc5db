/* `stampede report DIR`: see cli/report_cmd.h. */
#include "cli/report_cmd.h"

#include <stdio.h>
#include <unistd.h>

#include "master/checkpoint.h"
#include "master/rebuild.h"
#include "master/record.h"
#include "master/report.h"

#define RC_OK        0
#define RC_THRESHOLD 1
#define RC_USAGE     2

/* The folder of a run that died: rebuilt from its checkpoint. */
static int report_cmd_rebuild(const char *dir)
{
    char err[1400];
    rebuild_info ri;
    if (rebuild_from_checkpoint(dir, &ri, err, sizeof err) != 0) {
        fprintf(stderr, "stampede: report: cannot rebuild from the checkpoint: %s\n", err);
        return RC_USAGE;
    }
    printf("rebuilt from checkpoint: %llu intervals, %.1f s covered, %llu requests; "
           "%d of %d thresholds failed\n", (unsigned long long)ri.intervals, ri.covered_s,
           (unsigned long long)ri.requests, ri.thresholds_failed, ri.thresholds);
    printf("report: %s/report.html\n", dir);
    /* The rebuilt run joins the history like any other (status "interrupted"; the
     * history beside the folder: master/record.h); a history that will not take it is
     * said, and the rebuilt files stand. */
    record_cfg rc = { 0 };
    record_out out;
    if (record_run(&rc, dir, &out, err, sizeof err) != 0)
        fprintf(stderr, "stampede: report: not recorded in the history: %s\n", err);
    else
        fprintf(stderr, "stampede: %s\n", out.summary);
    return ri.thresholds_failed > 0 ? RC_THRESHOLD : RC_OK;
}

int report_cmd_main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: stampede report DIR\n");
        return RC_USAGE;
    }
    const char *dir = argv[1];
    char err[1400], path[1200];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if (access(path, F_OK) != 0) {
        snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, dir);
        if (access(path, F_OK) == 0)
            return report_cmd_rebuild(dir);
        snprintf(path, sizeof path, "%s/" CHECKPOINT_SCENARIO_FILE, dir);
        if (access(path, F_OK) == 0) {      /* a run's folder, left before it started */
            fprintf(stderr, "stampede: report: %s has no summary.json and no " CHECKPOINT_FILE
                    ": its run ended before it started (nothing to rebuild)\n", dir);
            return RC_USAGE;
        }
    }
    if (report_write(dir, err, sizeof err) != 0) {
        fprintf(stderr, "stampede: report: %s\n", err);
        return RC_USAGE;
    }
    printf("report: %s/report.html\n", dir);
    return RC_OK;
}
