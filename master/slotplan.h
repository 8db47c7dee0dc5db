/* The slot planner: which worker runs which slot (proto/PROTOCOL.md section 5). Pure: no
 * nng, no coordinator, no clock, no logging; it is given the workers' slot lists and
 * engine threads and returns what moves. The coordinator (master/coord.c) owns the lists
 * and calls it on its thread, then sends the PLAN, ADOPT and RELEASE messages the answer
 * asks for. Nothing locks; a planner call never blocks.
 *
 * Workers are given as an array of views (sp_worker), in the coordinator's registry
 * order; ties are broken by that order (the first worker wins), so a plan is a function
 * of its input alone.
 *
 * Fails: only on ENOMEM, and then only partly: a slot that cannot be appended to a list
 * is left out of it (the coordinator's lists and the messages it sends still agree). */
#ifndef MASTER_SLOTPLAN_H
#define MASTER_SLOTPLAN_H
#include <stdbool.h>
#include <stdint.h>

/* A growable list of slot numbers. Zero-initialized is empty; slot_list_free empties. */
typedef struct slot_list {
    uint32_t *v;
    uint32_t  n, cap;
} slot_list;
int  slot_list_push(slot_list *l, uint32_t slot);  /* 0, or -1 on ENOMEM (l unchanged) */
void slot_list_free(slot_list *l);

typedef struct sp_worker {
    slot_list *slots;           /* the slots it runs now: the planner updates this list */
    uint32_t   threads;         /* engine threads it announced (>= 1) */
    bool       carrier;         /* carries load: connected, in the run, not done. For
                                 * slotplan_deal: takes part in the run. */
} sp_worker;

/* The initial deal: every list is emptied, then each taking part (carrier) gets one slot
 * per engine thread, numbered from 0 in worker order, until the run holds max_slots (what
 * one PLAN carries): later workers get fewer, and one left with none sits the run out.
 * Returns threads_total, the number of slots dealt. */
uint32_t slotplan_deal(sp_worker *w, int n, uint32_t max_slots);

/* A worker left or was lost: each of its slots goes, one at a time, to the carrier (other
 * than `gone`; the first SLOTPLAN_MAX_RECIPIENTS carriers are considered) holding the
 * fewest slots at that moment. adopt: n zeroed lists; adopt[i] receives what worker i
 * adopts (one ADOPT message per non-empty list; the caller frees them). Survivors keep
 * their own slots. Returns the number of carriers considered; 0: nobody can adopt, and
 * the gone worker's list is left as it was; otherwise its list ends empty. */
#define SLOTPLAN_MAX_RECIPIENTS 256
int slotplan_gone(sp_worker *w, int n, int gone, slot_list *adopt);

/* A worker joins a running run. One move: worker `from` releases `slot` to the newcomer. */
typedef struct sp_move {
    int      from;
    uint32_t slot;
} sp_move;
typedef struct sp_moves {
    sp_move *v;                 /* malloc'd; the caller frees v */
    uint32_t n, cap;
} sp_moves;
/* The newcomer nw (not a carrier itself) gets about its share of threads_total:
 * threads_total x its threads / (its threads + the carriers' threads), taken one slot at
 * a time from the carrier holding the most slots (each donor's last slot), while that
 * donor holds more than one slot and at least two more than the newcomer. Out: the
 * moves in the order made (one RELEASE each, in that order). Returns -1 when no other
 * worker carries load (nothing changes), else the number of slots nw now holds (0: it
 * has nothing to share and waits for the next run). */
int slotplan_join(sp_worker *w, int n, int nw, uint32_t threads_total, sp_moves *out);
#endif
