/* The slot planner: see slotplan.h. Pure functions of their arguments; any thread. */
#include "master/slotplan.h"
#include <stdlib.h>

/* Room for one more element in a growable array of n of cap elements; -1 on ENOMEM. */
static int grow(void **v, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap) return 0;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *nv = realloc(*v, ncap * elem);
    if (!nv) return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

int slot_list_push(slot_list *l, uint32_t slot)
{
    if (grow((void **)&l->v, l->n, &l->cap, sizeof *l->v) != 0) return -1;
    l->v[l->n++] = slot;
    return 0;
}

void slot_list_free(slot_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

uint32_t slotplan_deal(sp_worker *w, int n, uint32_t max_slots)
{
    uint32_t total = 0;
    for (int i = 0; i < n; i++) w[i].slots->n = 0;
    for (int i = 0; i < n; i++) {
        if (!w[i].carrier) continue;
        /* a slot that cannot be listed (ENOMEM) is still counted: the run's users are
         * dealt over threads_total slots whatever happens to one list */
        for (uint32_t t = 0; t < w[i].threads && total < max_slots; t++)
            (void)slot_list_push(w[i].slots, total++);
    }
    return total;
}

int slotplan_gone(sp_worker *w, int n, int gone, slot_list *adopt)
{
    int idx[SLOTPLAN_MAX_RECIPIENTS], m = 0;
    for (int i = 0; i < n && m < SLOTPLAN_MAX_RECIPIENTS; i++)
        if (i != gone && w[i].carrier) idx[m++] = i;
    if (m == 0) return 0;
    slot_list *from = w[gone].slots;
    for (uint32_t k = 0; k < from->n; k++) {
        int best = 0;
        for (int j = 1; j < m; j++)
            if (w[idx[j]].slots->n < w[idx[best]].slots->n) best = j;
        slot_list *to = w[idx[best]].slots;
        if (slot_list_push(to, from->v[k]) != 0) continue;
        if (slot_list_push(&adopt[idx[best]], from->v[k]) != 0) to->n--;   /* keep both in step */
    }
    from->n = 0;
    return m;
}

static int moves_push(sp_moves *o, int from, uint32_t slot)
{
    if (grow((void **)&o->v, o->n, &o->cap, sizeof *o->v) != 0) return -1;
    o->v[o->n++] = (sp_move){ .from = from, .slot = slot };
    return 0;
}

int slotplan_join(sp_worker *w, int n, int nw, uint32_t threads_total, sp_moves *out)
{
    uint32_t threads = 0, carriers = 0;
    for (int i = 0; i < n; i++)
        if (i != nw && w[i].carrier) { threads += w[i].threads; carriers++; }
    if (carriers == 0) return -1;
    threads += w[nw].threads;
    uint32_t target = (uint32_t)((uint64_t)threads_total * w[nw].threads / threads);
    slot_list *mine = w[nw].slots;
    mine->n = 0;
    for (uint32_t k = 0; k < target; k++) {
        int donor = -1;
        for (int i = 0; i < n; i++)
            if (i != nw && w[i].carrier && w[i].slots->n > 1 &&
                (donor < 0 || w[i].slots->n > w[donor].slots->n)) donor = i;
        if (donor < 0 || w[donor].slots->n <= mine->n + 1) break;
        slot_list *d = w[donor].slots;
        uint32_t slot = d->v[d->n - 1];
        if (slot_list_push(mine, slot) != 0 || moves_push(out, donor, slot) != 0) {
            if (mine->n && mine->v[mine->n - 1] == slot) mine->n--;
            break;              /* ENOMEM: the donor keeps what it has not released */
        }
        d->n--;
    }
    return (int)mine->n;
}
