/* Flow control decisions (issue 12): see worker/engine_flow.h.
 *
 * Decisions where the issue is silent, written down here:
 * - pick draws r from the user's rng once per run of the step (one draw whatever the
 *   number of branches), so a user's choices are a function of its rng stream.
 * - { chance: p } draws once per evaluation, also when p is 0 or 1: a user's stream
 *   advances the same way whatever p is.
 * - An unset variable is "empty", never equals any text (not even ""), and so always
 *   not_equals (common/scenario_types.h says the same). */
#include "worker/engine_flow.h"
#include <string.h>
#include "common/rng.h"

int flow_pick(const sc_step *s, uint64_t *rng)
{
    uint32_t total = s->u.pick.total_weight;
    if (total == 0) return -1;
    /* the draw's top 32 bits scaled into [0, total): uniform to within 2^-32 x total */
    uint64_t r = ((rng_next(rng) >> 32) * (uint64_t)total) >> 32;
    uint64_t sum = 0;
    for (int i = 0; i < s->u.pick.nbranches; i++) {
        sum += s->u.pick.branches[i].weight;
        if (r < sum) return i;
    }
    return -1;      /* total_weight larger than the sum: the parser keeps them equal */
}

bool flow_cond(const sc_cond *c, const tmpl_val *vars, long last_status, uint64_t *rng)
{
    const tmpl_val *v = c->kind <= SC_COND_NOT_EQUALS && c->slot >= 0 ? &vars[c->slot] : NULL;
    switch (c->kind) {
    case SC_COND_EMPTY:
        return !v || !v->set || v->len == 0;
    case SC_COND_SET:
        return v && v->set && v->len > 0;
    case SC_COND_EQUALS:
    case SC_COND_NOT_EQUALS: {
        bool eq = v && v->set && v->len == strlen(c->value) &&
                  (v->len == 0 || memcmp(v->p, c->value, v->len) == 0);
        return c->kind == SC_COND_EQUALS ? eq : !eq;
    }
    case SC_COND_STATUS:
        for (int i = 0; i < c->nstatus; i++)
            if (c->status[i] == last_status) return true;
        return false;
    case SC_COND_CHANCE:
        return rng_unit(rng) < c->chance;
    }
    return false;
}

flow_action flow_on_failure(sc_on_failure of, bool in_setup)
{
    switch (of) {
    case SC_ON_FAILURE_CONTINUE:       return FLOW_GO_ON;
    case SC_ON_FAILURE_STOP_ITERATION: return in_setup ? FLOW_END_USER : FLOW_END_ITERATION;
    case SC_ON_FAILURE_STOP_USER:      return FLOW_END_USER;
    }
    return FLOW_GO_ON;
}

uint64_t flow_pacing_wait(uint64_t pacing_us, uint64_t pass_start_us, uint64_t now_us)
{
    if (pacing_us == 0) return 0;
    uint64_t took = now_us > pass_start_us ? now_us - pass_start_us : 0;
    return took < pacing_us ? pacing_us - took : 0;
}

void flow_vars_clear(tmpl_val *vars, int nvars)
{
    for (int i = 0; i < nvars; i++) {
        vars[i].set = false;
        vars[i].len = 0;
        if (vars[i].p) vars[i].p[0] = '\0';
    }
}
