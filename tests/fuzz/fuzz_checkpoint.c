/* libFuzzer target over checkpoint_decode (master/checkpoint.h: the bytes `stampede
 * report DIR` reads from a results folder that may be truncated, corrupt or hostile).
 * Beyond "no crash, no leak, no sanitizer report" it checks:
 * - a refused file says why (err is not empty);
 * - what decodes keeps the promises the rebuild relies on: the covered end is not
 *   before the start, the interval is within 1 ms .. 1 h, counts within their bounds,
 *   every worker has a state;
 * - what decodes re-encodes (through a scenario standing in for the run, as the rebuild
 *   makes one) to bytes that decode again to the same figures and re-encode identically
 *   (one normalisation: entries named twice are merged, trailing fields dropped). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/loadshape.h"
#include "common/scenario.h"
#include "master/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int invariants_hold(const checkpoint_data *d)
{
    if (d->covered_wall_ms < d->start_wall_ms || d->interval_ms == 0 || d->interval_ms > 3600000u)
        return 0;
    if (d->nworkers > CHECKPOINT_MAX_WORKERS || d->nthresholds > CHECKPOINT_MAX_THRESHOLDS)
        return 0;
    for (uint32_t i = 0; i < d->nworkers; i++)
        if (d->workers[i].state == NULL)
            return 0;
    return isfinite(d->totals.cpu_max) && d->totals.cpu_max >= 0;
}

/* Encodes d as the coordinator would have (a scenario holding what the file keeps). */
static int reencode(const checkpoint_data *d, char **buf, size_t *len)
{
    sc_threshold *th = calloc(d->nthresholds ? d->nthresholds : 1, sizeof *th);
    if (th == NULL)
        return -1;
    for (uint32_t i = 0; i < d->nthresholds; i++)
        th[i].expr = d->thresholds[i];
    sc_stage stage = { .duration_ms = d->stages_ms, .users = d->peak_users };
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = (char *)d->name;
    sc.file = (char *)d->file;
    sc.target = (char *)d->target;
    sc.model = d->model == SC_MODEL_OPEN ? SC_MODEL_OPEN : SC_MODEL_CLOSED;
    sc.max_users = d->peak_users;
    sc.stages = &stage;
    sc.nstages = 1;
    sc.thresholds = th;
    sc.nthresholds = (int)d->nthresholds;
    checkpoint_run r = { .run_id = d->run_id, .sc = &sc, .target = d->target,
                         .start_wall_ms = d->start_wall_ms, .covered_wall_ms = d->covered_wall_ms,
                         .intervals = d->intervals, .interval_ms = d->interval_ms,
                         .name_cap = d->name_cap, .workers = d->workers,
                         .nworkers = (int)d->nworkers,
                         .missing_requests_max = d->missing_requests_max };
    int rv = checkpoint_encode(&r, &d->totals, buf, len);
    free(th);
    return rv;
}

static int same(const checkpoint_data *a, const checkpoint_data *b)
{
    if (a->run_id != b->run_id || strcmp(a->name, b->name) || strcmp(a->target, b->target) ||
        a->start_wall_ms != b->start_wall_ms || a->covered_wall_ms != b->covered_wall_ms ||
        a->nworkers != b->nworkers || a->nthresholds != b->nthresholds ||
        a->totals.n != b->totals.n || a->totals.nerrs != b->totals.nerrs ||
        a->totals.all.requests != b->totals.all.requests ||
        a->totals.all.lat.total != b->totals.all.lat.total ||
        a->totals.sched.started != b->totals.sched.started ||
        a->totals.limited_intervals != b->totals.limited_intervals)
        return 0;
    for (uint32_t i = 0; i < a->totals.n; i++)
        if (strcmp(a->totals.entries[i].name, b->totals.entries[i].name) ||
            a->totals.entries[i].requests != b->totals.entries[i].requests ||
            hist_percentile(&a->totals.entries[i].lat, 99) != hist_percentile(&b->totals.entries[i].lat, 99))
            return 0;
    for (uint32_t i = 0; i < a->nworkers; i++)
        if (strcmp(a->workers[i].id, b->workers[i].id) || strcmp(a->workers[i].state, b->workers[i].state))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    checkpoint_data d, d2;
    char err[600];
    err[0] = '\0';
    if (checkpoint_decode((const char *)data, size, &d, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    if (!invariants_hold(&d))
        abort();
    char *b1, *b2;
    size_t l1, l2;
    if (reencode(&d, &b1, &l1) != 0)
        abort();
    if (checkpoint_decode(b1, l1, &d2, err, sizeof err) != 0)
        abort();
    if (!same(&d, &d2) || reencode(&d2, &b2, &l2) != 0)
        abort();
    if (l1 != l2 || memcmp(b1, b2, l1) != 0)
        abort();
    free(b1);
    free(b2);
    checkpoint_data_fini(&d);
    checkpoint_data_fini(&d2);
    hist_pool_drain();
    return 0;
}
