/* Flow control (issue 12; contract: common/scenario_int.h, the parsed form and its run-time
 * meaning: common/scenario_types.h): tags lists, on_failure, pick and if steps, the
 * warnings a scenario collects at validate, and scenario_apply_tags (common/scenario.h).
 * Parse time only, on the parsing thread.
 *
 * Decisions the issue leaves open, written down here:
 * - `tags`, `on_failure`, and an if's `then` / `else` are keys next to the step's kind
 *   (as Ansible writes `when:` and `tags:` next to a task), so any step takes tags:
 *       - http: { name: report, url: /api/report }
 *         tags: [reports]
 *         on_failure: stop_iteration
 *   A single word (tags: reports) is read as a one-tag list.
 * - on_failure is taken by http and ws steps only; defaults.on_failure applies to every
 *   http and ws step that does not set its own.
 * - A pick branch's weight defaults to 1 (Locust's @task); 0 switches it off; a pick whose
 *   branches all weigh 0 is an error. Weights of one pick add up to at most SC_MAX_WEIGHT.
 * - An if has exactly one condition (nest ifs for "and"); its var must be a capture
 *   variable of the scenario; it needs then or else, or both.
 * - Tags and setup: include tags (-T) do not prune setup steps (a setup is no task: Locust
 *   runs on_start whatever the tags); exclude tags (-E) remove what carries them there too.
 * - Tags that leave a ws step without the connect before it are an error (tag the connect
 *   too); an include tag nothing carries is a warning, not an error (as long as something
 *   is left to run). */
#include "common/scenario.h"
#include "common/scenario_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/loadshape.h"
#include "common/stats.h"

/* ---- warnings ---------------------------------------------------------------------- */

int sc_warn(scenario *sc, int line, int col, const char *hint, const char *fmt, ...)
{
    sc_warning *w = realloc(sc->warnings, (size_t)(sc->nwarnings + 1) * sizeof *w);
    if (!w)
        return -1;
    sc->warnings = w;
    w = &w[sc->nwarnings++];
    memset(w, 0, sizeof *w);
    w->line = line;
    w->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
    snprintf(w->hint, sizeof w->hint, "%s", hint ? hint : "");
    return 0;
}

void sc_warning_format(const scenario *sc, const sc_warning *w, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    const char *file = sc && sc->file ? sc->file : "";
    int n;
    if (w->line > 0)
        n = snprintf(buf, cap, "%s:%d:%d: warning: %s\n", file, w->line, w->col, w->msg);
    else if (file[0])
        n = snprintf(buf, cap, "%s: warning: %s\n", file, w->msg);
    else
        n = snprintf(buf, cap, "warning: %s\n", w->msg);
    if (w->hint[0] && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  hint: %s\n", w->hint);
}

/* ---- default names, for thresholds ------------------------------------------------ */

void sc_note_default_name(sc_ctx *c, const char *url)
{
    char text[2048], name[STATS_NAME_MAX];
    size_t n = 0;
    if (url[0] == '/' && c->sc->target)
        n = (size_t)snprintf(text, sizeof text, "%s", c->sc->target);
    for (const char *p = url; *p && n + 2 < sizeof text; p++) {
        const char *e;
        if (p[0] == '{' && p[1] == '{' && (e = strstr(p, "}}")) != NULL) {
            text[n++] = '1';            /* a hole: an id, as most are */
            p = e + 1;
        } else {
            text[n++] = *p;
        }
    }
    text[n < sizeof text ? n : sizeof text - 1] = '\0';
    stats_default_name(text, name, sizeof name);
    if (c->ndefnames == c->capdefnames) {
        int cap = c->capdefnames ? c->capdefnames * 2 : 16;
        char **p = realloc(c->defnames, (size_t)cap * sizeof *p);
        if (!p)
            return;                     /* only a warning is at stake */
        c->defnames = p;
        c->capdefnames = cap;
    }
    if ((c->defnames[c->ndefnames] = strdup(name)) != NULL)
        c->ndefnames++;
}

void sc_warn_threshold_name(sc_ctx *c, const yaml_node_t *t, const char *name,
                            const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return;
    for (int i = 0; i < c->ndefnames; i++)
        if (!strcmp(c->defnames[i], name))
            return;
    char hint[192];
    const char *sp = strchr(name, ' ');
    if (sp && strchr(sp, '/'))
        snprintf(hint, sizeof hint, "names carry no method: write \"%s: ...\"", sp + 1);
    else if (!sc_did_you_mean(hint, sizeof hint, name, (const char *const *)c->defnames,
                              (size_t)c->ndefnames, NULL))
        snprintf(hint, sizeof hint, "a request without name: is named by its path, ids as "
                 "{id} (e.g. /api/orders/{id})");
    sc_warn(c->sc, (int)t->start_mark.line + 1, (int)t->start_mark.column + 1, hint,
            "threshold \"%s\" is about requests named '%s', but no step makes requests of "
            "that name: it would read none", sc_sval(t), name);
}

/* ---- tags and on_failure ----------------------------------------------------------- */

void sc_tags_free(sc_tags *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

static int sc_tag_one(sc_ctx *c, const yaml_node_t *n, sc_tags *t)
{
    char fb[80];
    const char *eg = "for example tags: [checkout, slow]";
    if (sc_tick(c, n))
        return -1;
    if (!sc_is_scalar(n) || sc_is_null(n) || !sc_is_ident(sc_sval(n)))
        return sc_fail(c, n, eg, "a tag is a word (letters, digits, _ and -), found %s",
                       sc_found(n, fb, sizeof fb));
    if (strlen(sc_sval(n)) > SC_TAG_MAX)
        return sc_fail(c, n, NULL, "a tag is at most %d characters long", SC_TAG_MAX);
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->v[i], sc_sval(n)))
            return sc_fail(c, n, "list each tag once", "tag '%s' appears twice", sc_sval(n));
    if (t->n >= SC_MAX_TAGS)
        return sc_fail(c, n, NULL, "more than %d tags in one list", SC_MAX_TAGS);
    if (!(t->v[t->n] = strdup(sc_sval(n))))
        return sc_fail(c, n, NULL, "out of memory");
    t->n++;
    return 0;
}

int sc_tags_read(sc_ctx *c, const yaml_node_t *n, sc_tags *t)
{
    char fb[80];
    if (sc_is_scalar(n) && !sc_is_null(n)) {
        if (!(t->v = calloc(1, sizeof *t->v)))
            return sc_fail(c, n, NULL, "out of memory");
        return sc_tag_one(c, n, t);
    }
    if (!n || n->type != YAML_SEQUENCE_NODE || SC_NITEMS(n) == 0)
        return sc_fail(c, n, "for example tags: [checkout, slow]", "expected a list of tags, "
                       "found %s", sc_found(n, fb, sizeof fb));
    int k = SC_NITEMS(n);
    if (!(t->v = calloc((size_t)(k > SC_MAX_TAGS ? SC_MAX_TAGS : k), sizeof *t->v)))
        return sc_fail(c, n, NULL, "out of memory");
    for (int i = 0; i < k; i++)
        if (sc_tag_one(c, sc_node(c, n->data.sequence.items.start[i]), t))
            return -1;
    return 0;
}

int sc_on_failure_read(sc_ctx *c, const yaml_node_t *n, sc_on_failure *out)
{
    static const char *const words[] = { "continue", "stop_iteration", "stop_user" };
    char fb[80], hint[160];
    int i = sc_word_index(n, words, 3);
    if (i < 0)
        return sc_fail(c, n, sc_did_you_mean(hint, sizeof hint,
                                             sc_is_scalar(n) ? sc_sval(n) : NULL, words, 3,
                                             "continue goes on, stop_iteration starts the flow "
                                             "over, stop_user stops the user"),
                       "on_failure must be continue, stop_iteration or stop_user, found %s",
                       sc_found(n, fb, sizeof fb));
    *out = (sc_on_failure)i;
    return 0;
}

/* ---- pick ---------------------------------------------------------------------------- */

static const sc_key sc_branch_keys[] = {
    { "weight", SC_K_U32, offsetof(sc_branch, weight), 0, SC_MAX_WEIGHT, "a branch's weight" },
    { "tags", SC_K_OWN }, { "steps", SC_K_OWN },
};

int sc_pick(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    const char *eg = "for example:\n  - pick:\n      - { weight: 5, steps: [ { http: { url: /list } } ] }"
                     "\n      - { weight: 1, steps: [ { http: { url: /report } } ] }";
    if (depth + 1 > SC_MAX_STEP_DEPTH)
        return sc_fail(c, n, NULL, "steps are nested more than %d levels deep", SC_MAX_STEP_DEPTH);
    if (sc_want_list(c, n, "'pick' (its branches)", eg))
        return -1;
    int nb = SC_NITEMS(n);
    if (!(st->u.pick.branches = calloc((size_t)nb, sizeof *st->u.pick.branches)))
        return sc_fail(c, n, NULL, "out of memory");
    uint64_t total = 0;
    for (int i = 0; i < nb; i++) {
        yaml_node_t *b = sc_node(c, n->data.sequence.items.start[i]);
        sc_branch *br = &st->u.pick.branches[st->u.pick.nbranches++];
        char where[64];
        snprintf(where, sizeof where, "branch %d of the pick", i + 1);
        br->weight = 1;
        if (sc_tick(c, b) || sc_want_map(c, b, where) ||
            sc_check_keys(c, b, "a pick branch", sc_branch_keys, SC_NKEYS(sc_branch_keys)) ||
            sc_read(c, b, where, sc_branch_keys, SC_NKEYS(sc_branch_keys), "weight", br))
            return -1;
        br->line = (int)b->start_mark.line + 1;
        br->col = (int)b->start_mark.column + 1;
        yaml_node_t *v = sc_get(c, b, "tags", NULL);
        if (v && sc_tags_read(c, v, &br->tags))
            return -1;
        total += br->weight;
        if (total > SC_MAX_WEIGHT)
            return sc_fail(c, sc_get(c, b, "weight", NULL), "weights are ratios: 50 and 5 work "
                           "like 10 and 1", "the pick's weights add up to more than %u",
                           SC_MAX_WEIGHT);
        v = sc_need(c, b, "steps", where, "for example: { weight: 2, steps: [ { http: { url: / } } ] }");
        if (!v || sc_steps(c, v, "the branch's steps", &br->steps, &br->nsteps, depth + 1))
            return -1;
    }
    if (total == 0)
        return sc_fail(c, n, "give at least one branch a weight above 0 (weight: 0 switches a "
                       "branch off)", "every branch of this pick has weight 0, so none can run");
    st->u.pick.total_weight = (uint32_t)total;
    return 0;
}

/* ---- if -------------------------------------------------------------------------------- */

static const sc_key sc_cond_keys[] = {
    { "var", SC_K_OWN }, { "is", SC_K_OWN }, { "equals", SC_K_OWN }, { "not_equals", SC_K_OWN },
    { "status", SC_K_OWN }, { "status_in", SC_K_OWN }, { "chance", SC_K_OWN },
};

static const char sc_cond_eg[] = "for example if: { var: token, is: empty }, { var: role, "
                                 "equals: admin }, { status: 200 }, { status_in: [200, 201] } "
                                 "or { chance: 0.3 }";

static int sc_cond_var(sc_ctx *c, const yaml_node_t *n, sc_cond *cd)
{
    static const char *const is_words[] = { "empty", "set" };
    char fb[80], hint[192];
    yaml_node_t *var = sc_get(c, n, "var", NULL), *is = sc_get(c, n, "is", NULL),
                *eq = sc_get(c, n, "equals", NULL), *ne = sc_get(c, n, "not_equals", NULL);
    if (!!is + !!eq + !!ne != 1)
        return sc_fail(c, var, "write is: empty, is: set, equals: TEXT or not_equals: TEXT",
                       "an if on a variable takes exactly one of is, equals and not_equals");
    if (sc_text(c, var, "if.var (a capture variable)", &cd->var))
        return -1;
    if ((cd->slot = tmpl_syms_find(&c->sc->syms, cd->var)) < 0) {
        const char *const *names = (const char *const *)c->sc->syms.vars;
        sc_did_you_mean(hint, sizeof hint, cd->var, names, c->sc->syms.nvars,
                        "if.var names a variable a capture: sets");
        return sc_fail(c, var, hint, "if: no step captures a variable named '%s'", cd->var);
    }
    if (is) {
        int w = sc_word_index(is, is_words, 2);
        if (w < 0)
            return sc_fail(c, is, "empty: never captured or captured as \"\"; set: the opposite",
                           "if.is must be empty or set, found %s", sc_found(is, fb, sizeof fb));
        cd->kind = w == 0 ? SC_COND_EMPTY : SC_COND_SET;
        return 0;
    }
    yaml_node_t *v = eq ? eq : ne;
    cd->kind = eq ? SC_COND_EQUALS : SC_COND_NOT_EQUALS;
    if (!sc_is_scalar(v))
        return sc_fail(c, v, "quote it: equals: \"admin\"", "expected a text to compare with, "
                       "found %s", sc_found(v, fb, sizeof fb));
    if (!(cd->value = strdup(sc_is_null(v) ? "" : sc_sval(v))))
        return sc_fail(c, v, NULL, "out of memory");
    return 0;
}

static int sc_cond_read(sc_ctx *c, const yaml_node_t *n, sc_cond *cd)
{
    char fb[80];
    if (!n || n->type != YAML_MAPPING_NODE)
        return sc_fail(c, n, sc_cond_eg, "expected a condition for 'if', found %s",
                       sc_found(n, fb, sizeof fb));
    if (sc_check_keys(c, n, "the if condition", sc_cond_keys, SC_NKEYS(sc_cond_keys)))
        return -1;
    yaml_node_t *var = sc_get(c, n, "var", NULL), *st = sc_get(c, n, "status", NULL),
                *sin = sc_get(c, n, "status_in", NULL), *ch = sc_get(c, n, "chance", NULL);
    if (!!var + !!st + !!sin + !!ch != 1)
        return sc_fail(c, n, "nest one if inside another's then: for \"and\"", "an if takes "
                       "exactly one condition: var, status, status_in or chance");
    if (!var) {
        yaml_node_t *stray = sc_get(c, n, "is", NULL);
        if (!stray) stray = sc_get(c, n, "equals", NULL);
        if (!stray) stray = sc_get(c, n, "not_equals", NULL);
        if (stray)
            return sc_fail(c, stray, "for example if: { var: token, is: empty }",
                           "is, equals and not_equals go with var");
    }
    if (var)
        return sc_cond_var(c, n, cd);
    long long code;
    if (st) {
        cd->kind = SC_COND_STATUS;
        if (sc_int(c, st, "if.status (an HTTP status; status_in: [..] takes a list)", 100, 599,
                   &code))
            return -1;
        cd->status[cd->nstatus++] = (int)code;
        return 0;
    }
    if (sin) {
        cd->kind = SC_COND_STATUS;
        if (sin->type != YAML_SEQUENCE_NODE || SC_NITEMS(sin) == 0 || SC_NITEMS(sin) > SC_MAX_STATUS)
            return sc_fail(c, sin, "for example status_in: [200, 201]", "if.status_in lists 1 "
                           "to %d HTTP statuses, found %s", SC_MAX_STATUS, sc_found(sin, fb, sizeof fb));
        for (yaml_node_item_t *it = sin->data.sequence.items.start; it < sin->data.sequence.items.top; it++) {
            if (sc_int(c, sc_node(c, *it), "an HTTP status", 100, 599, &code))
                return -1;
            cd->status[cd->nstatus++] = (int)code;
        }
        return 0;
    }
    cd->kind = SC_COND_CHANCE;
    char *end = NULL;
    const char *s = sc_is_scalar(ch) ? sc_sval(ch) : "";
    errno = 0;
    double p = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(p) || p < 0 || p > 1)
        return sc_fail(c, ch, strchr(s, '%') ? "write a fraction: 30% is chance: 0.3"
                                             : "a probability from 0 to 1, e.g. chance: 0.3",
                       "if.chance must be a number from 0 to 1, found %s",
                       sc_found(ch, fb, sizeof fb));
    cd->chance = p;
    return 0;
}

int sc_if(sc_ctx *c, const yaml_node_t *step, const yaml_node_t *n, sc_step *st, int depth)
{
    if (depth + 1 > SC_MAX_STEP_DEPTH)
        return sc_fail(c, n, NULL, "steps are nested more than %d levels deep", SC_MAX_STEP_DEPTH);
    if (sc_cond_read(c, n, &st->u.cond.cond))
        return -1;
    yaml_node_t *th = sc_get(c, step, "then", NULL), *el = sc_get(c, step, "else", NULL);
    if (!th && !el)
        return sc_fail(c, n, "write then: and/or else: next to if:, each a list of steps",
                       "the if step has neither then nor else");
    if (th && sc_steps(c, th, "the if's then", &st->u.cond.then_steps, &st->u.cond.nthen,
                       depth + 1))
        return -1;
    if (el && sc_steps(c, el, "the if's else", &st->u.cond.else_steps, &st->u.cond.nelse,
                       depth + 1))
        return -1;
    return 0;
}

void sc_flow_fini(sc_step *s)
{
    switch (s->kind) {
    case STEP_PICK:
        for (int b = 0; b < s->u.pick.nbranches; b++) {
            sc_tags_free(&s->u.pick.branches[b].tags);
            sc_steps_free(s->u.pick.branches[b].steps, s->u.pick.branches[b].nsteps);
        }
        free(s->u.pick.branches);
        break;
    case STEP_IF:
        free(s->u.cond.cond.var);
        free(s->u.cond.cond.value);
        sc_steps_free(s->u.cond.then_steps, s->u.cond.nthen);
        sc_steps_free(s->u.cond.else_steps, s->u.cond.nelse);
        break;
    default:
        break;
    }
}

/* ---- scenario_apply_tags --------------------------------------------------------------- */

typedef struct tagsel {
    const char *const *inc, *const *exc;
    int ninc, nexc;
} tagsel;

static bool tags_any(const sc_tags *t, const char *const *set, int n)
{
    for (int i = 0; i < t->n; i++)
        for (int j = 0; j < n; j++)
            if (set[j] && !strcmp(t->v[i], set[j]))
                return true;
    return false;
}

/* Prunes s[0..n) in place (kept steps move down, removed ones are freed) and returns how
 * many are left. sel: an enclosing step, branch or profile carries an include tag (or
 * there are none), so only exclusions remove. */
static int prune_steps(sc_step *s, int n, const tagsel *ts, bool sel)
{
    int out = 0;
    for (int i = 0; i < n; i++) {
        sc_step *st = &s[i];
        bool keep = false;
        if (!tags_any(&st->tags, ts->exc, ts->nexc)) {
            bool me = sel || tags_any(&st->tags, ts->inc, ts->ninc);
            switch (st->kind) {
            case STEP_LOOP:
                st->u.loop.nsteps = prune_steps(st->u.loop.steps, st->u.loop.nsteps, ts, me);
                keep = st->u.loop.nsteps > 0;
                break;
            case STEP_GROUP:
                st->u.group.nsteps = prune_steps(st->u.group.steps, st->u.group.nsteps, ts, me);
                keep = st->u.group.nsteps > 0;
                break;
            case STEP_IF:
                st->u.cond.nthen = prune_steps(st->u.cond.then_steps, st->u.cond.nthen, ts, me);
                st->u.cond.nelse = prune_steps(st->u.cond.else_steps, st->u.cond.nelse, ts, me);
                keep = st->u.cond.nthen + st->u.cond.nelse > 0;
                break;
            case STEP_PICK: {
                int nb = 0;
                uint32_t total = 0;
                for (int b = 0; b < st->u.pick.nbranches; b++) {
                    sc_branch *br = &st->u.pick.branches[b];
                    bool out_b = tags_any(&br->tags, ts->exc, ts->nexc);
                    if (!out_b)
                        br->nsteps = prune_steps(br->steps, br->nsteps, ts,
                                                 me || tags_any(&br->tags, ts->inc, ts->ninc));
                    if (!out_b && br->nsteps > 0 && br->weight > 0) {
                        total += br->weight;
                        st->u.pick.branches[nb++] = *br;
                    } else {
                        sc_tags_free(&br->tags);
                        sc_steps_free(br->steps, br->nsteps);
                    }
                }
                st->u.pick.nbranches = nb;
                st->u.pick.total_weight = total;
                keep = nb > 0;
                break;
            }
            case STEP_HTTP: case STEP_WS: case STEP_THINK:
                keep = me;
                break;
            }
        }
        if (keep)
            s[out++] = *st;
        else
            sc_steps_free_one(st);
    }
    return out;
}

/* Walks steps in the parser's order: a ws step other than connect with no connect before
 * it (the tags removed it) is reported. */
static const sc_step *ws_orphan(const sc_step *s, int n, bool *open)
{
    for (int i = 0; i < n; i++) {
        const sc_step *st = &s[i], *o = NULL;
        switch (st->kind) {
        case STEP_WS:
            if (st->u.ws.kind == SC_WS_CONNECT)
                *open = true;
            else if (!*open)
                return st;
            break;
        case STEP_LOOP:  o = ws_orphan(st->u.loop.steps, st->u.loop.nsteps, open); break;
        case STEP_GROUP: o = ws_orphan(st->u.group.steps, st->u.group.nsteps, open); break;
        case STEP_IF:
            if (!(o = ws_orphan(st->u.cond.then_steps, st->u.cond.nthen, open)))
                o = ws_orphan(st->u.cond.else_steps, st->u.cond.nelse, open);
            break;
        case STEP_PICK:
            for (int b = 0; !o && b < st->u.pick.nbranches; b++)
                o = ws_orphan(st->u.pick.branches[b].steps, st->u.pick.branches[b].nsteps, open);
            break;
        case STEP_HTTP: case STEP_THINK:
            break;
        }
        if (o)
            return o;
    }
    return NULL;
}

/* Every tag the scenario carries, once each, comma separated, into buf. */
static void tags_add(char *buf, size_t cap, const sc_tags *t)
{
    for (int i = 0; i < t->n; i++) {
        size_t len = strlen(t->v[i]), bl = strlen(buf);
        bool seen = false;
        for (const char *p = buf; (p = strstr(p, t->v[i])) != NULL; p += len)
            if ((p == buf || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0'))
                seen = true;
        if (!seen && bl + len + 3 < cap)
            snprintf(buf + bl, cap - bl, "%s%s", bl ? ", " : "", t->v[i]);
    }
}

static void tags_all(const sc_step *s, int n, char *buf, size_t cap)
{
    for (int i = 0; i < n; i++) {
        const sc_step *st = &s[i];
        tags_add(buf, cap, &st->tags);
        switch (st->kind) {
        case STEP_LOOP:  tags_all(st->u.loop.steps, st->u.loop.nsteps, buf, cap); break;
        case STEP_GROUP: tags_all(st->u.group.steps, st->u.group.nsteps, buf, cap); break;
        case STEP_IF:
            tags_all(st->u.cond.then_steps, st->u.cond.nthen, buf, cap);
            tags_all(st->u.cond.else_steps, st->u.cond.nelse, buf, cap);
            break;
        case STEP_PICK:
            for (int b = 0; b < st->u.pick.nbranches; b++) {
                tags_add(buf, cap, &st->u.pick.branches[b].tags);
                tags_all(st->u.pick.branches[b].steps, st->u.pick.branches[b].nsteps, buf, cap);
            }
            break;
        case STEP_HTTP: case STEP_WS: case STEP_THINK:
            break;
        }
    }
}

static bool tag_in_list(const char *list, const char *tag)
{
    size_t len = strlen(tag);
    for (const char *p = list; (p = strstr(p, tag)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0'))
            return true;
    return false;
}

static int tags_fail(sc_error *err, const scenario *sc, const char *hint, const char *fmt, ...)
{
    if (!err)
        return -1;
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", sc->file ? sc->file : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
    return -1;
}

static void tags_join(char *buf, size_t cap, const char *const *v, int n)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t bl = strlen(buf);
        snprintf(buf + bl, cap - bl, "%s%s", i ? ", " : "", v[i] ? v[i] : "");
    }
}

int scenario_apply_tags(scenario *sc, const char *const *include, int ninclude,
                        const char *const *exclude, int nexclude, sc_error *err)
{
    if (ninclude <= 0 && nexclude <= 0)
        return 0;
    char all[1024] = "", hint[1100], which[512];
    for (int i = 0; i < sc->nprofiles; i++) {
        tags_add(all, sizeof all, &sc->profiles[i].tags);
        tags_all(sc->profiles[i].setup, sc->profiles[i].nsetup, all, sizeof all);
        tags_all(sc->profiles[i].flow, sc->profiles[i].nflow, all, sizeof all);
    }
    if (all[0])
        snprintf(hint, sizeof hint, "the scenario's tags: %s", all);
    else
        snprintf(hint, sizeof hint, "the scenario has no tags: add tags: [name] next to a step, "
                 "to a pick branch or to a user profile");
    for (int i = 0; i < ninclude; i++)
        if (include[i] && !tag_in_list(all, include[i]))
            sc_warn(sc, 0, 0, hint, "-T %s: nothing in the scenario carries that tag",
                    include[i]);
    tagsel ts = { include, exclude, ninclude > 0 ? ninclude : 0, nexclude > 0 ? nexclude : 0 };
    int np = 0;
    for (int i = 0; i < sc->nprofiles; i++) {
        sc_profile *p = &sc->profiles[i];
        bool gone = tags_any(&p->tags, ts.exc, ts.nexc);
        if (!gone) {
            bool sel = ts.ninc == 0 || tags_any(&p->tags, ts.inc, ts.ninc);
            p->nsetup = prune_steps(p->setup, p->nsetup, &ts, true);
            p->nflow = prune_steps(p->flow, p->nflow, &ts, sel);
            gone = p->nflow == 0;
        }
        if (gone) {
            free(p->name);
            sc_tags_free(&p->tags);
            sc_steps_free(p->setup, p->nsetup);
            sc_steps_free(p->flow, p->nflow);
        } else {
            sc->profiles[np++] = *p;
        }
    }
    sc->nprofiles = np;
    uint64_t total = 0;
    for (int i = 0; i < np; i++)
        total += sc->profiles[i].weight;
    tags_join(which, sizeof which, include, ts.ninc);
    if (np == 0 || total == 0) {
        if (ts.ninc > 0 && np == 0)
            return tags_fail(err, sc, hint, "no step carries tag %s%s", which,
                             ts.nexc ? " (once the excluded tags are removed)" : "");
        tags_join(which, sizeof which, exclude, ts.nexc);
        return tags_fail(err, sc, np ? "the profiles left all have weight 0: give one a "
                         "weight above 0" : hint, "the tags leave nothing to run%s%s",
                         ts.nexc ? " (excluded: " : "", ts.nexc ? which : "");
    }
    for (int i = 0; i < np; i++) {
        bool open = false;
        const sc_step *o = ws_orphan(sc->profiles[i].setup, sc->profiles[i].nsetup, &open);
        if (!o)
            o = ws_orphan(sc->profiles[i].flow, sc->profiles[i].nflow, &open);
        if (o) {
            tags_fail(err, sc, "give the ws connect step the same tags as the steps that use it",
                      "the tags keep a ws %s step of '%s' but remove the ws connect before it",
                      sc_ws_kinds[o->u.ws.kind], sc->profiles[i].name);
            err->line = o->line;
            err->col = o->col;
            return -1;
        }
    }
    uint32_t *w = malloc((size_t)np * sizeof *w);
    for (int i = 0; w && i < np; i++)
        w[i] = sc->profiles[i].weight;
    int *seq = w ? loadshape_profile_seq(w, np, (uint32_t)total) : NULL;
    free(w);
    if (!seq)
        return tags_fail(err, sc, NULL, "out of memory");
    free(sc->profile_seq);
    sc->profile_seq = seq;
    sc->total_weight = (uint32_t)total;
    return 0;
}
