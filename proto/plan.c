#include "proto/plan.h"
#include "common/loadshape.h"
#include "common/util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAX_FILE (256u << 20)      /* as the scenario parser's limit */

/* Reads data files from disk relative to the scenario's directory and records each
 * into the plan, so workers get exactly the bytes the master validated. */
typedef struct plan_rec { proto_plan *p; } plan_rec;

static int plan_record_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    plan_rec *r = ud;
    /* The parser has already joined relative paths to the scenario's directory. */
    char why[256];
    if (util_read_file(path, PLAN_MAX_FILE, data, len, why, sizeof why) != 0) {
        /* the reason alone: the parser's message names the file ("cannot read X: ...") */
        snprintf(err, errcap, "%s", why);
        return -1;
    }
    proto_plan *p = r->p;
    if (p->nfiles >= PROTO_MAX_FILES) {
        snprintf(err, errcap, "too many data files (at most %u)", PROTO_MAX_FILES);
        free(*data);
        return -1;
    }
    proto_file *nf = realloc(p->files, (p->nfiles + 1) * sizeof *nf);
    if (!nf) { free(*data); return -1; }
    p->files = nf;
    proto_file *f = &p->files[p->nfiles];
    f->path = strdup(path);
    f->data = malloc(*len + 1);
    if (!f->path || !f->data) { free(f->path); free(f->data); free(*data); return -1; }
    memcpy(f->data, *data, *len);
    f->data[*len] = '\0';
    f->len = *len;
    p->nfiles++;
    return 0;
}

static int plan_serve_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    const proto_plan *p = ud;
    for (uint32_t i = 0; i < p->nfiles; i++) {
        if (strcmp(p->files[i].path, path) != 0) continue;
        *data = malloc(p->files[i].len + 1);
        if (!*data) return -1;
        memcpy(*data, p->files[i].data, p->files[i].len);
        (*data)[p->files[i].len] = '\0';
        *len = p->files[i].len;
        return 0;
    }
    snprintf(err, errcap, "not in the plan");     /* the parser names the file */
    return -1;
}

static int plan_set_sets(proto_plan *p, const sc_set *sets, int nsets)
{
    if (nsets <= 0) return 0;
    p->sets = calloc((size_t)nsets, sizeof *p->sets);
    if (!p->sets) return -1;
    for (int i = 0; i < nsets; i++) {
        p->sets[i].key = strdup(sets[i].key);
        p->sets[i].value = strdup(sets[i].value);
        p->nsets++;
        if (!p->sets[i].key || !p->sets[i].value) return -1;
    }
    return 0;
}

/* ---- env() ----------------------------------------------------------------------- */

static const proto_set *plan_env_find(const proto_plan *p, const char *name)
{
    for (uint32_t i = 0; p->env != NULL && i < p->nenv; i++)
        if (p->env[i].key != NULL && strcmp(p->env[i].key, name) == 0)
            return &p->env[i];
    return NULL;
}

/* The CLI's source: this process's environment, each name used recorded (once) with its
 * value into the plan, so the master and workers evaluate env() from the plan alone. */
static const char *plan_env_record(void *ud, const char *name, char *why, size_t whycap,
                                   char *hint, size_t hintcap)
{
    proto_plan *p = ud;
    const proto_set *have = plan_env_find(p, name);
    if (have != NULL)
        return have->value;
    const char *val = tmpl_env_process(NULL, name, why, whycap, hint, hintcap);
    if (val == NULL)
        return NULL;
    if (p->nenv >= PROTO_MAX_ENV) {
        snprintf(why, whycap, "too many env() variables (at most %u)", PROTO_MAX_ENV);
        return NULL;
    }
    proto_set *ne = realloc(p->env, (p->nenv + 1) * sizeof *ne);
    if (ne == NULL) {
        snprintf(why, whycap, "out of memory");
        return NULL;
    }
    p->env = ne;
    ne[p->nenv].key = strdup(name);
    ne[p->nenv].value = strdup(val);
    if (!ne[p->nenv].key || !ne[p->nenv].value) {
        free(ne[p->nenv].key);
        free(ne[p->nenv].value);
        snprintf(why, whycap, "out of memory");
        return NULL;
    }
    return ne[p->nenv++].value;
}

/* A daemon's source: the values the submitting CLI sent, nothing else. */
static const char *plan_env_serve(void *ud, const char *name, char *why, size_t whycap,
                                  char *hint, size_t hintcap)
{
    const proto_set *have = plan_env_find(ud, name);
    if (have != NULL && have->value != NULL)
        return have->value;
    return tmpl_env_none(name, why, whycap, hint, hintcap);
}

int plan_from_file(proto_plan *p, const char *path, const sc_set *sets, int nsets,
                   scenario **out, sc_error *err)
{
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", path);
    char *text = NULL;
    size_t len = 0;
    char why[256];
    if (util_read_file(path, PLAN_MAX_FILE, &text, &len, why, sizeof why) != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot read scenario: %s", why);
        return -1;
    }
    p->scenario = text;
    p->scenario_len = len;
    p->scenario_file = strdup(path);
    plan_rec rec = { p };
    if (!p->scenario_file || plan_set_sets(p, sets, nsets) != 0) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    const sc_env env = { plan_env_record, p };
    scenario *sc = scenario_parse_env(text, len, path, sets, nsets, plan_record_read, &rec,
                                      &env, err);
    if (!sc) return -1;
    if (out) *out = sc;
    else scenario_free(sc);
    return 0;
}

/* A refusal of the plan's overrides, at the scenario file (they come from the command
 * line or the run's JSON, not from a line of the file). */
static scenario *plan_refuse(const proto_plan *p, scenario *sc, sc_error *err, const char *msg,
                             const char *hint)
{
    scenario_free(sc);
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s",
             p->scenario_file ? p->scenario_file : "scenario.yaml");
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    snprintf(err->hint, sizeof err->hint, "%s", hint);
    return NULL;
}

scenario *plan_scenario(const proto_plan *p, sc_error *err)
{
    /* arrival_rate: a decoded PLAN is already within 0..SC_MAX_RATE (proto/msg.h); a
     * plan built in this process (the CLI, the API) is checked here the same way */
    if (!(p->arrival_rate >= 0 && p->arrival_rate <= SC_MAX_RATE)) {
        char msg[160];
        snprintf(msg, sizeof msg, "arrival rate %g is not a rate between 0 and %.0f per second",
                 p->arrival_rate, SC_MAX_RATE);
        return plan_refuse(p, NULL, err, msg, "give --arrival-rate as 50, 50/s, 3000/m or 100/h");
    }
    /* tags: the bounds a decoded PLAN already keeps (proto/msg.h), checked here for a
     * plan built in this process, so that it never leaves malformed */
    if (p->ntags > PROTO_MAX_TAGS || p->nexclude_tags > PROTO_MAX_TAGS)
    {
        char msg[128], hint[64];
        snprintf(msg, sizeof msg, "more than %u tags in -T/--tags or -E/--exclude-tags",
                 PROTO_MAX_TAGS);
        snprintf(hint, sizeof hint, "name at most %u tags", PROTO_MAX_TAGS);
        return plan_refuse(p, NULL, err, msg, hint);
    }
    for (uint32_t i = 0; i < p->ntags + p->nexclude_tags; i++) {
        const char *t = i < p->ntags ? p->tags[i] : p->exclude_tags[i - p->ntags];
        if (!t || !t[0] || strlen(t) > PROTO_TAG_MAX) {
            char msg[160];
            snprintf(msg, sizeof msg, "tag '%.64s%s' in %s is empty or longer than %d bytes",
                     t ? t : "", t && strlen(t) > PROTO_TAG_MAX ? "..." : "",
                     i < p->ntags ? "-T/--tags" : "-E/--exclude-tags", PROTO_TAG_MAX);
            return plan_refuse(p, NULL, err, msg, "tags are words such as checkout or slow");
        }
    }
    if (p->users > SC_MAX_USERS) {
        memset(err, 0, sizeof *err);
        snprintf(err->file, sizeof err->file, "%s",
                 p->scenario_file ? p->scenario_file : "scenario.yaml");
        snprintf(err->msg, sizeof err->msg, "users override %u is above the limit of %u users "
                 "per run", p->users, SC_MAX_USERS);
        snprintf(err->hint, sizeof err->hint, "spread the load over several runs, or ask for "
                 "at most %u users", SC_MAX_USERS);
        return NULL;
    }
    sc_set *sets = NULL;
    if (p->nsets) {
        sets = calloc(p->nsets, sizeof *sets);
        if (!sets) return NULL;
        for (uint32_t i = 0; i < p->nsets; i++) sets[i] = (sc_set){ p->sets[i].key, p->sets[i].value };
    }
    const sc_env env = { plan_env_serve, (void *)p };
    scenario *sc = scenario_parse_env(p->scenario, p->scenario_len,
                                      p->scenario_file ? p->scenario_file : "scenario.yaml",
                                      sets, (int)p->nsets, plan_serve_read, (void *)p, &env, err);
    free(sets);
    if (!sc) return NULL;
    if (p->host && p->host[0]) {
        char *t = strdup(p->host);
        if (!t) { scenario_free(sc); return NULL; }
        size_t n = strlen(t);
        while (n > 0 && t[n - 1] == '/') t[--n] = '\0';
        free(sc->target);
        sc->target = t;
    }
    /* The model decides which overrides make sense (the CLI says so first, with the same
     * words; a run submitted through the API gets them here): --arrival-rate only in the
     * open model, -r only in the closed one (the open model has no spawn rate). */
    if (p->arrival_rate > 0 && sc->model != SC_MODEL_OPEN)
        return plan_refuse(p, sc, err, "--arrival-rate applies to the open model, but this "
                           "scenario's load.model is closed",
                           "set load.model: open with max_users and rate stages, or use "
                           "-u USERS -r SPAWN_RATE for the closed model");
    if (p->rate > 0 && sc->model == SC_MODEL_OPEN)
        return plan_refuse(p, sc, err, "-r (spawn rate) applies to the closed model, but this "
                           "scenario's load.model is open",
                           "give the open model's rate with --arrival-rate R (or its stages' "
                           "rate); -u sets its pool of users (max_users)");
    if (p->users || p->rate > 0 || p->duration_ms)
        scenario_override_load(sc, p->users, p->rate, p->duration_ms);
    /* after -t and -u: one stage at the rate for the run's (possibly overridden) duration */
    if (p->arrival_rate > 0)
        scenario_override_rate(sc, p->arrival_rate, p->duration_ms);
    /* -T/-E last: the master and every worker prune the same scenario the same way */
    if ((p->ntags || p->nexclude_tags) &&
        scenario_apply_tags(sc, (const char *const *)p->tags, (int)p->ntags,
                            (const char *const *)p->exclude_tags, (int)p->nexclude_tags,
                            err) != 0) {
        scenario_free(sc);
        return NULL;
    }
    return sc;
}

static char *plan_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = '\0'; }
    return d;
}

/* A deep copy of a tag list (*n counts what is allocated, for plan_fini). */
static int plan_copy_tags(char ***dst, uint32_t *n, char *const *src, uint32_t nsrc)
{
    if (!src || !nsrc)
        return 0;
    if (!(*dst = calloc(nsrc, sizeof **dst)))
        return -1;
    for (uint32_t i = 0; i < nsrc; i++, (*n)++)
        if (!((*dst)[i] = strdup(src[i] ? src[i] : "")))
            return -1;
    return 0;
}

static void plan_free_tags(char ***v, uint32_t *n)
{
    for (uint32_t i = 0; *v && i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

int plan_copy(proto_plan *dst, const proto_plan *src)
{
    *dst = *src;
    dst->scenario = NULL; dst->scenario_file = NULL; dst->host = NULL;
    dst->files = NULL; dst->nfiles = 0; dst->sets = NULL; dst->nsets = 0;
    dst->env = NULL; dst->nenv = 0;
    dst->slots = NULL; dst->nslots = 0;
    dst->tags = NULL; dst->ntags = 0; dst->exclude_tags = NULL; dst->nexclude_tags = 0;
    if (plan_copy_tags(&dst->tags, &dst->ntags, src->tags, src->ntags) ||
        plan_copy_tags(&dst->exclude_tags, &dst->nexclude_tags, src->exclude_tags,
                       src->nexclude_tags))
        goto fail;
    if (src->nslots) {
        if (!(dst->slots = malloc(src->nslots * sizeof *dst->slots))) goto fail;
        memcpy(dst->slots, src->slots, src->nslots * sizeof *dst->slots);
        dst->nslots = src->nslots;
    }
    if (src->scenario && !(dst->scenario = plan_dup(src->scenario, src->scenario_len))) goto fail;
    if (src->scenario_file && !(dst->scenario_file = strdup(src->scenario_file))) goto fail;
    if (src->host && !(dst->host = strdup(src->host))) goto fail;
    if (src->nfiles) {
        if (!(dst->files = calloc(src->nfiles, sizeof *dst->files))) goto fail;
        for (uint32_t i = 0; i < src->nfiles; i++, dst->nfiles++) {
            dst->files[i].path = strdup(src->files[i].path);
            dst->files[i].data = plan_dup(src->files[i].data, src->files[i].len);
            dst->files[i].len = src->files[i].len;
            if (!dst->files[i].path || !dst->files[i].data) { dst->nfiles++; goto fail; }
        }
    }
    if (src->nsets) {
        if (!(dst->sets = calloc(src->nsets, sizeof *dst->sets))) goto fail;
        for (uint32_t i = 0; i < src->nsets; i++, dst->nsets++) {
            dst->sets[i].key = strdup(src->sets[i].key);
            dst->sets[i].value = strdup(src->sets[i].value);
            if (!dst->sets[i].key || !dst->sets[i].value) { dst->nsets++; goto fail; }
        }
    }
    if (src->nenv && src->env) {
        if (!(dst->env = calloc(src->nenv, sizeof *dst->env))) goto fail;
        for (uint32_t i = 0; i < src->nenv; i++, dst->nenv++) {
            dst->env[i].key = strdup(src->env[i].key ? src->env[i].key : "");
            dst->env[i].value = strdup(src->env[i].value ? src->env[i].value : "");
            if (!dst->env[i].key || !dst->env[i].value) { dst->nenv++; goto fail; }
        }
    }
    return 0;
fail:
    plan_fini(dst);
    return -1;
}

void plan_fini(proto_plan *p)
{
    if (!p) return;
    free(p->scenario);
    free(p->scenario_file);
    free(p->host);
    for (uint32_t i = 0; i < p->nfiles; i++) { free(p->files[i].path); free(p->files[i].data); }
    free(p->files);
    for (uint32_t i = 0; i < p->nsets; i++) { free(p->sets[i].key); free(p->sets[i].value); }
    free(p->sets);
    for (uint32_t i = 0; p->env && i < p->nenv; i++) { free(p->env[i].key); free(p->env[i].value); }
    free(p->env);
    p->env = NULL;
    p->nenv = 0;
    free(p->slots);
    p->slots = NULL;
    p->nslots = 0;
    plan_free_tags(&p->tags, &p->ntags);
    plan_free_tags(&p->exclude_tags, &p->nexclude_tags);
    p->scenario = NULL; p->scenario_file = NULL; p->host = NULL;
    p->files = NULL; p->nfiles = 0; p->sets = NULL; p->nsets = 0;
}
