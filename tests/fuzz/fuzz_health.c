/* libFuzzer target over master/health.c's loader (health_summary_parse: a results
 * folder's workers.csv, read back by the crash rebuild; the file may be cut, corrupt or
 * hostile). Beyond "no crash, no leak, no sanitizer report" it checks: a refused text
 * says why and leaves the summary empty; an accepted one has at most HEALTH_MAX_WORKERS
 * workers, each with a non-empty id, flag counts that add up (flagged <= intervals,
 * each reason <= flagged <= the two together), finite maxima and means; its JSON
 * (workers[].health and the verdict's notes) renders, and the verdict's flagged count
 * is the number of workers with a flagged interval. The text is copied to a buffer of
 * exactly its length, so ASan sees any overread. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "master/health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct health_summary hs;
    char err[512] = "";
    int rv = health_summary_parse(text, size, &hs, err, sizeof err);
    if (rv != 0) {
        if (!err[0] || hs.n != 0 || hs.w != NULL)
            abort();
        free(text);
        return 0;
    }
    if (hs.n > HEALTH_MAX_WORKERS)
        abort();
    int flagged = 0;
    for (int i = 0; i < hs.n; i++) {
        const health_worker *w = &hs.w[i];
        if (!w->id[0] || w->intervals == 0 || w->flagged > w->intervals ||
            w->flagged_cpu > w->flagged || w->flagged_lag > w->flagged ||
            w->flagged > w->flagged_cpu + w->flagged_lag)
            abort();
        const health_stat *st[] = { &w->cpu, &w->proc_cpu, &w->rss, &w->lag_max, &w->lag_mean, &w->conns };
        for (size_t k = 0; k < sizeof st / sizeof st[0]; k++)
            if (st[k]->max < 0 || st[k]->sum < 0 || isnan(st[k]->max) || isnan(st[k]->sum))
                abort();
        flagged += w->flagged > 0;
        json_t *o = health_json_worker(&hs, w->id);
        if (!o)
            abort();
        char *s = json_dumps(o, 0);
        if (!s)
            abort();
        free(s);
        json_decref(o);
    }
    json_t *notes = json_array();
    if (health_json_verdict(&hs, notes) != flagged)
        abort();
    json_decref(notes);
    health_summary_free(&hs);
    free(text);
    return 0;
}
