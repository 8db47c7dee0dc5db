/* The interval ring and its close policy: see coord_ring.h. Coordinator thread only. */
#include "master/coord_ring.h"
#include <string.h>
#include "common/log.h"

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
        if (merge_add_set(r->totals, &s->set) != 0) log_error("master", "out of memory merging stats");
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
        s->users = 0;
    }
    return s;
}

bool ring_add(iv_ring *r, const proto_stats *s)
{
    ring_iv *sl = ring_slot(r, s->interval);
    if (!sl) {                  /* its interval is already written: totals only */
        if (merge_add(r->totals, s) != 0) log_error("master", "out of memory merging stats");
        return true;
    }
    if (merge_add(&sl->set, s) != 0) log_error("master", "out of memory merging stats");
    sl->reports++;
    sl->users += s->users;
    return false;
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
        if (all || (have && s->reports >= expected) || now_ms >= due) ring_close_next(r);
        else return;
    }
}
