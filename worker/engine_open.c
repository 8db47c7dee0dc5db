/* The open model on one engine thread (issue 11): arrivals from the rate curve, the
 * slot's pool of users, its backlog. The shared records are in worker/engine_int.h; the
 * public contract in worker/engine.h. Everything here runs on the engine thread.
 *
 * Schedule. T' = min(threads_total, max_users) slots take arrivals. Slot j (< T') takes
 * the uniform arrivals a = j, j + T', j + 2T', ..., arrival a intended at
 * loadshape_area_inverse(stages, a) us after the run's synchronized start; with poisson
 * arrivals it takes the inverse of a cumulative sum of T' x Exp(1) gaps drawn from the
 * slot's own generator (seeded from the run id and the slot: a re-run with the same id
 * draws the same arrivals). So the arrivals of every slot of every worker together
 * follow the curve. Times are microseconds on the monotonic clock (time_mono_us), from
 * cfg.start_mono_us.
 *
 * Timer. One event per engine (engine.arrive_ev), armed for the earliest next arrival of
 * its slots (the base has EVENT_BASE_FLAG_PRECISE_TIMER: sub-millisecond). When it fires,
 * late or not, the arrivals whose intended time is <= now are handled, each exactly once
 * and in order, and each started one records its lag (actual start - intended): nothing
 * is invented and nothing beyond the schedule is caught up. The 50 ms tick and each
 * interval's end also handle what is due (so an interval counts what fell in it).
 *
 * Pool. A slot has its share of max_users (users k = j, j + T, ...: the closed model's
 * split), allocated VU_CHUNK at a time as arrivals first need them. An arrival takes an
 * idle user (a LIFO stack: the most recently used one, whose connection is warmest), else
 * a user that never ran, else it waits in the slot's backlog (a ring of intended times,
 * preallocated when the slot is adopted: its share of max_backlog over the T' slots that
 * take arrivals, at least 1), else it is dropped and counted. A user whose iteration ends
 * takes the oldest waiting arrival (its intended time kept: the wait is in its latency)
 * or goes idle, keeping its connections and captured variables.
 *
 * Adoption and release. A slot adopted while the run goes (a worker was lost) takes its
 * arrivals from the first one intended at or after now: the gap while it had no owner
 * is not invented later. A released slot takes no more arrivals; its waiting ones are
 * dropped (counted: the adopter starts after now, so none is run twice), its idle users
 * go off and its busy users stop after their current step (as closed-model users do).
 *
 * Counting: intended = started + dropped + waiting, at any moment, per engine.
 * backlog_max is the most arrivals waiting at once over the engine's slots. */
#include <math.h>
#include <stdlib.h>
#include "common/hist.h"
#include "common/loadshape.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/time.h"
#include "worker/engine_int.h"

static void engine_arrive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine_open_arrivals(arg, time_mono_us());
}

void engine_open_init(engine *e)
{
    event_assign(&e->arrive_ev, e->base, -1, 0, engine_arrive, e);
}

/* The slot's share of n over the T' slots that take arrivals (as users are shared). */
static uint32_t open_share(const engine *e, uint32_t j, uint64_t n)
{
    uint32_t t = e->tprime;
    if (j >= t) return 0;
    return n > j ? (uint32_t)((n - j - 1) / t + 1) : 0;
}

/* The intended time of the slot's arrival after the current one (uniform: the next
 * index; poisson: the next gap). */
static void open_advance(const engine *e, eslot *sl)
{
    const scenario *sc = e->cfg.sc;
    if (sc->arrivals == SC_ARRIVALS_POISSON) {
        sl->cum += (double)e->tprime * rng_exp(&sl->rng);
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, sl->cum);
    } else {
        sl->next_m++;
        double a = (double)sl->slot + (double)sl->next_m * e->tprime;
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, a);
    }
}

int engine_open_slot_init(engine *e, eslot *sl, double from_us)
{
    const scenario *sc = e->cfg.sc;
    sl->arrivals = false;
    sl->next_us = -1;
    if (sl->slot >= e->tprime) return 0;        /* no users: no arrivals */
    if (!sl->backlog) {
        uint64_t b = sc->max_backlog;
        sl->bcap = open_share(e, sl->slot, b);
        if (sl->bcap == 0) sl->bcap = 1;
        sl->backlog = malloc((size_t)sl->bcap * sizeof *sl->backlog);
        if (!sl->backlog) {
            sl->bcap = 0;
            log_error("engine", "out of memory for the backlog of slot %u: it takes no arrivals",
                      sl->slot);
            return -1;
        }
    }
    sl->bhead = sl->bn = 0;
    /* The first arrival at or after from_us: the area up to it says how many came before. */
    double x = from_us > 0 ? loadshape_area(sc->stages, sc->nstages, from_us) : 0;
    if (sc->arrivals == SC_ARRIVALS_POISSON) {
        sl->rng = (sl->slot + 1) * UINT64_C(0xD1B54A32D192ED03) ^ (e->cfg.run_id | 1);
        if (!sl->rng) sl->rng = 1;
        sl->cum = x + (double)e->tprime * rng_exp(&sl->rng);     /* memoryless */
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, sl->cum);
    } else {
        double m = ceil((x - (double)sl->slot) / e->tprime);
        sl->next_m = m > 0 ? (uint64_t)m : 0;
        double a = (double)sl->slot + (double)sl->next_m * e->tprime;
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, a);
        while (sl->next_us >= 0 && sl->next_us < from_us) open_advance(e, sl);
    }
    sl->arrivals = true;
    return 0;
}

void engine_open_slot_fini(eslot *sl)
{
    free(sl->idle);
    free(sl->backlog);
    sl->idle = NULL;
    sl->backlog = NULL;
}

/* A free user of the slot (idle, or one that never ran), or NULL. Allocates a chunk of
 * users when the pool first needs one beyond those allocated (as the closed model's
 * schedule does); never otherwise. */
static vu *open_free_user(engine *e, eslot *sl)
{
    if (sl->nidle > 0) return eslot_vu(sl, sl->idle[--sl->nidle]);
    if (sl->nused >= sl->nvus) return NULL;
    if (sl->nused >= sl->nready && engine_slot_grow(e, sl, sl->nused + 1) != 0) {
        if (!sl->grow_failed)
            log_error("engine", "out of memory starting users of slot %u: %u of %u run",
                      sl->slot, sl->nready, sl->nvus);
        sl->grow_failed = true;
        return NULL;
    }
    vu *v = eslot_vu(sl, sl->nused++);
    if (!v->inited) vu_init(v);
    return v;
}

/* Counts the arrival intended at due as started (its lag) and begins its iteration on
 * v, which was idle, off or new (none of which is counted live). */
static void open_begin(engine *e, vu *v, uint64_t due, uint64_t now)
{
    e->shard.sched.started++;
    hist_record(&e->shard.sched.lag, now > due ? now - due : 0);
    v->retire = false;
    v->state = VU_READY;
    e->live++;
    vu_begin_iteration(v, due);
}

/* One arrival intended at due (monotonic us), handled at now. */
static void open_arrive(engine *e, eslot *sl, uint64_t due, uint64_t now)
{
    e->shard.sched.intended++;
    vu *v = open_free_user(e, sl);
    if (v) {
        open_begin(e, v, due, now);
        vu_run(v);
        return;
    }
    if (sl->bn < sl->bcap) {
        sl->backlog[(sl->bhead + sl->bn++) % sl->bcap] = due;
        if (++e->waiting > e->shard.sched.backlog_max) e->shard.sched.backlog_max = e->waiting;
        return;
    }
    e->shard.sched.dropped++;
}

void engine_open_arrivals(engine *e, uint64_t now)
{
    if (e->arrivals_over || e->stopping || e->done) return;
    uint64_t t0 = e->cfg.start_mono_us;
    double next = -1;
    for (uint32_t s = 0; s < e->nslots; s++) {
        /* by index: a user's iteration may end synchronously, but nothing here adds a
         * slot (e->slots is only reallocated by the mailbox) */
        eslot *sl = &e->slots[s];
        if (!sl->arrivals || sl->released) continue;
        while (sl->next_us >= 0 && t0 + (uint64_t)llround(sl->next_us) <= now) {
            open_arrive(e, sl, t0 + (uint64_t)llround(sl->next_us), now);
            open_advance(e, sl);
            if (e->stopping || e->done) return;
        }
        if (sl->next_us >= 0 && (next < 0 || sl->next_us < next)) next = sl->next_us;
    }
    event_del(&e->arrive_ev);
    if (next < 0) return;
    uint64_t due = t0 + (uint64_t)llround(next);
    uint64_t d = due > now ? due - now : 0;
    struct timeval tv = { (time_t)(d / 1000000), (suseconds_t)(d % 1000000) };
    event_add(&e->arrive_ev, &tv);
}

bool engine_open_next(vu *v)
{
    engine *e = v->eng;
    eslot *sl = &e->slots[v->si];
    if (sl->bn > 0 && !sl->released) {
        uint64_t due = sl->backlog[sl->bhead];
        sl->bhead = (sl->bhead + 1) % sl->bcap;
        sl->bn--;
        e->waiting--;
        e->live--;                      /* open_begin counts it again */
        open_begin(e, v, due, time_mono_us());
        return true;
    }
    v->state = VU_IDLE;
    e->live--;
    sl->idle[sl->nidle++] = (uint32_t)(v->k / e->cfg.threads_total);
    return false;
}

/* Drops the slot's waiting arrivals (counted). */
static void open_drop_waiting(engine *e, eslot *sl)
{
    e->shard.sched.dropped += sl->bn;
    e->waiting -= sl->bn;
    sl->bn = sl->bhead = 0;
}

void engine_open_release(engine *e, eslot *sl)
{
    sl->arrivals = false;
    open_drop_waiting(e, sl);
    /* idle users go off (they stay on the idle stack, OFF, for a re-adoption); busy
     * ones stop after their current step (retire) */
    for (uint32_t i = 0; i < sl->nready; i++) {
        vu *v = eslot_vu(sl, i);
        if (v->state == VU_OFF) continue;
        if (v->state == VU_IDLE || v->state == VU_READY || v->state == VU_THINK) {
            if (v->state != VU_IDLE) v->retire = true;
            vu_off(v);
        } else {
            v->retire = true;
        }
        if (e->done) return;
    }
}

void engine_open_stop(engine *e)
{
    if (e->arrivals_over) return;
    e->arrivals_over = true;
    if (e->base) event_del(&e->arrive_ev);
    for (uint32_t s = 0; s < e->nslots; s++) open_drop_waiting(e, &e->slots[s]);
    e->stopping = true;                 /* users going off now do not return to the pool */
    for (uint32_t s = 0; s < e->nslots; s++) {
        eslot *sl = &e->slots[s];
        for (uint32_t i = 0; i < sl->nready; i++) {
            vu *v = eslot_vu(sl, i);
            if (v->state == VU_IDLE) vu_off(v);
            if (e->done) return;
        }
    }
}
