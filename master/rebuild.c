/* Rebuilding a dead run's results from its checkpoint: see master/rebuild.h.
 *
 * The scenario is not parsed again (its data files, --set overrides and environment
 * values may be gone): the checkpoint keeps what the results need of it (name, file,
 * target, model, the stages' length, peak users and the threshold expressions), and a
 * scenario holding only those stands in for it here. */
#include "master/rebuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/loadshape.h"
#include "common/scenario.h"
#include "common/threshold.h"
#include "common/log.h"
#include "master/checkpoint.h"
#include "master/health.h"
#include "master/monitor.h"
#include "master/results.h"
#include "master/thresholds.h"

/* The thresholds of the checkpoint parsed again into th (n slots). -1 with err. */
static int rb_thresholds(const checkpoint_data *d, sc_threshold *th, char *err, size_t errcap)
{
    for (uint32_t i = 0; i < d->nthresholds; i++) {
        char e[256], hint[128];
        if (scenario_parse_threshold(d->thresholds[i], &th[i], e, sizeof e, hint, sizeof hint) != 0) {
            snprintf(err, errcap, "%s: threshold %u (\"%.200s\") does not parse: %s",
                     CHECKPOINT_FILE, i + 1, d->thresholds[i], e);
            return -1;
        }
    }
    return 0;
}

int rebuild_from_checkpoint(const char *dir, rebuild_info *info, char *err, size_t errcap)
{
    checkpoint_data d;
    char why[600];
    memset(info, 0, sizeof *info);
    if (checkpoint_load(dir, &d, why, sizeof why) != 0) {
        snprintf(err, errcap, "%s", why);
        return -1;
    }
    int rv = -1;
    uint32_t nth = d.nthresholds;
    monitor_summary ms = { 0 };
    sc_threshold *th = calloc(nth ? nth : 1, sizeof *th);
    th_result *res = calloc(nth ? nth : 1, sizeof *res);
    if (th == NULL || res == NULL) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (rb_thresholds(&d, th, err, errcap) != 0)
        goto out;
    /* the scenario as far as the results read it */
    sc_stage stage = { .duration_ms = d.stages_ms };
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = d.name;
    sc.file = d.file;
    sc.target = d.target;
    sc.model = d.model == SC_MODEL_OPEN ? SC_MODEL_OPEN : SC_MODEL_CLOSED;
    sc.stages = &stage;
    sc.nstages = 1;
    sc.max_users = d.peak_users;
    sc.thresholds = th;
    sc.nthresholds = (int)nth;

    double covered_s = (double)(d.covered_wall_ms - d.start_wall_ms) / 1000.0;
    int failed = nth ? thresholds_eval(&sc, &d.totals, covered_s, res) : 0;
    for (uint32_t i = 0; i < d.nworkers; i++)
        if (strcmp(d.workers[i].state, "running") == 0)
            d.workers[i].state = "interrupted";
    results_meta meta = { .sc = &sc, .target = d.target, .start_wall_ms = d.start_wall_ms,
                          .end_wall_ms = d.covered_wall_ms, .duration_s = covered_s,
                          .peak_users = d.peak_users, .stop_reason = "interrupted",
                          .th = res, .nth = (int)nth, .workers = d.workers,
                          .nworkers = (int)d.nworkers,
                          .missing_requests_max = d.missing_requests_max,
                          .interrupted = true, .covered_s = covered_s };
    /* ---- the health and monitor summaries of the rebuilt run (each loader treats a
     * missing file as an empty summary), pointed at by meta before results_finish ---- */
    /* The monitor's figures from monitor.csv (master/monitor.h: every round the run
     * flushed, up to its death) judge the monitor thresholds. */
    if (monitor_summary_load(dir, &ms, why, sizeof why) != 0) {
        snprintf(err, errcap, "%s", why);
        goto out;
    }
    if (nth)
        failed = thresholds_eval_monitor(&sc, &ms, res);
    meta.monitor = &ms;
    /* the workers' health from DIR/workers.csv (master/health.h): a file that does not
     * read is left out, said on the console; the totals are rebuilt all the same */
    struct health_summary hs;
    if (health_summary_load(dir, &hs, why, sizeof why) != 0)
        log_warn("report", "%s: the workers' health is left out of the rebuilt summary", why);
    meta.health = &hs;
    results r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    int frv = results_finish(&r, &meta, &d.totals, err, errcap);
    health_summary_free(&hs);
    if (frv != 0)
        goto out;
    info->intervals = d.intervals;
    info->covered_s = covered_s;
    info->requests = d.totals.all.requests;
    info->thresholds = (int)nth;
    info->thresholds_failed = failed;
    rv = 0;
out:
    for (uint32_t i = 0; th != NULL && i < nth; i++) {
        free(th[i].expr);
        free(th[i].name);
        free(th[i].mon_target);
        free(th[i].mon_metric);
    }
    free(th);
    free(res);
    monitor_summary_fini(&ms);
    checkpoint_data_fini(&d);
    return rv;
}
