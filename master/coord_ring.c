/* The interval ring and its close policy: see coord_ring.h. Coordinator thread only. */
#include "master/coord_ring.h"
#include <math.h>
#include <string.h>
#include "common/log.h"
#include "master/results.h"

void ring_init(iv_ring *r, merge_set *totals, ring_close_fn on_close, void *arg)
{
    memset(r, 0, sizeof *r);
    r->totals = totals;
    r->on_close = on_close;
    r->arg = arg;
    for (int i = 0; i < RING_SLOTS; i++) merge_init(&r->iv[i].set);
}

void ring_fini(iv_ring *r)
{
    for (int i = 0; i < RING_SLOTS; i++) merge_fini(&r->iv[i].set);
}

void ring_restart(iv_ring *r, uint32_t name_cap, uint32_t interval_ms)
{
    r->next_idx = 0;
    r->interval_ms = interval_ms;
    for (int i = 0; i < RING_SLOTS; i++) {
        merge_fini(&r->iv[i].set);
        merge_init(&r->iv[i].set);
        merge_set_cap(&r->iv[i].set, name_cap, r->totals);
        r->iv[i].used = false;
    }
}

/* Closes interval next_idx (if it got deltas) and moves on to the next. */
static void ring_close_next(iv_ring *r)
{
    ring_iv *s = &r->iv[r->next_idx % RING_SLOTS];
    if (s->used && s->idx == r->next_idx) {
        if (merge_add_set(r->totals, &s->set) != 0 || merge_fill_dense(r->totals) != 0)
            log_error("master", "out of memory merging stats");
        s->limited = results_limited(&s->set);
        if (s->limited) r->totals->limited_intervals++;
        if (r->on_close) r->on_close(r->arg, s, r->totals);
        s->used = false;
        merge_reset(&s->set);
    }
    r->next_idx++;
}

/* The open interval idx, claimed when new; NULL when idx is already closed. */
static ring_iv *ring_slot(iv_ring *r, uint64_t idx)
{
    if (idx < r->next_idx) return NULL;
    while (idx >= r->next_idx + RING_SLOTS) ring_close_next(r);
    ring_iv *s = &r->iv[idx % RING_SLOTS];
    if (!s->used || s->idx != idx) {
        merge_reset(&s->set);
        s->used = true;
        s->idx = idx;
        s->reports = 0;
        s->gone = 0;
        s->users = 0;
        s->limited = false;
    }
    return s;
}

bool ring_add(iv_ring *r, const proto_stats *s)
{
    ring_iv *sl = ring_slot(r, s->interval);
    if (!sl) {                  /* its interval is already written: totals only */
        /* the totals keep the largest backlog of any interval, where merge_add would add
         * this shard's to it (merge.h) */
        uint32_t bl = r->totals->sched.backlog_max;
        if (merge_add(r->totals, s) != 0) log_error("master", "out of memory merging stats");
        r->totals->sched.backlog_max = bl > s->sched.backlog_max ? bl : s->sched.backlog_max;
        return true;
    }
    if (merge_add(&sl->set, s) != 0) log_error("master", "out of memory merging stats");
    sl->reports++;
    sl->users += s->users;
    return false;
}

void ring_forget(iv_ring *r, uint64_t idx, uint32_t n)
{
    if (idx < r->next_idx || idx >= r->next_idx + RING_SLOTS) return;
    ring_iv *s = &r->iv[idx % RING_SLOTS];
    if (!s->used || s->idx != idx) return;
    s->gone = n > s->reports - s->gone ? s->reports : s->gone + n;
}

void ring_close_ready(iv_ring *r, uint64_t start_wall_ms, uint64_t now_ms, uint32_t expected, bool all)
{
    for (;;) {
        bool any_later = false;
        for (int i = 0; i < RING_SLOTS; i++)
            any_later = any_later || (r->iv[i].used && r->iv[i].idx >= r->next_idx);
        if (!any_later) return;
        ring_iv *s = &r->iv[r->next_idx % RING_SLOTS];
        bool have = s->used && s->idx == r->next_idx;
        uint64_t due = start_wall_ms + (r->next_idx + 1) * r->interval_ms + RING_LATE_MS;
        if (all || (have && s->reports - s->gone >= expected) || now_ms >= due) ring_close_next(r);
        else return;
    }
}

void ring_point(const ring_iv *s, uint32_t interval_ms, coord_point *pt)
{
    double iv = (interval_ms ? interval_ms : 1000) / 1000.0;
    const merge_set *set = &s->set;
    const merge_entry *all = &set->all;
    bool any = all->requests > 0;
    const hist *svc = stats_row_svc(all);
    memset(pt, 0, sizeof *pt);
    pt->t = (double)(s->idx + 1) * iv;
    pt->users = s->users;
    pt->rps = all->requests / iv;
    pt->fps = all->failures / iv;
    pt->p50 = any ? hist_percentile(&all->lat, 50) / 1000.0 : NAN;
    pt->p95 = any ? hist_percentile(&all->lat, 95) / 1000.0 : NAN;
    pt->p99 = any ? hist_percentile(&all->lat, 99) / 1000.0 : NAN;
    pt->s50 = any ? hist_percentile(svc, 50) / 1000.0 : NAN;
    pt->s95 = any ? hist_percentile(svc, 95) / 1000.0 : NAN;
    pt->s99 = any ? hist_percentile(svc, 99) / 1000.0 : NAN;
    pt->rate_planned = set->sched.intended / iv;
    pt->rate_achieved = set->sched.started / iv;
    pt->backlog = set->sched.backlog_max;
    pt->dropped = set->sched.dropped;
    pt->lag_p99 = set->sched.lag.total ? hist_percentile(&set->sched.lag, 99) / 1000.0 : NAN;
    pt->cpu_max = set->cpu_max;
    pt->limited = s->limited;
}
