/* Scenario parsing and validation (contract: common/scenario.h): the top-level build,
 * the sections that are not steps (name, target, defaults, load, data, users,
 * thresholds), scenario_parse / scenario_load and scenario_free. The parser's other
 * files, by concern (shared context: common/scenario_int.h):
 *   scenario_yaml.c     errors with their place, typed readers, key checks, --set
 *   scenario_body.c     json: and form: bodies
 *   scenario_headers.c  header mappings, and their rendering by the engine
 *   scenario_steps.c    http, think, loop and group steps, expect, captures
 *   scenario_ws.c       ws steps
 *   threshold.c         the threshold language; loadshape.c: users over time, profiles
 *
 * The file is loaded whole with libyaml's document API, so every section can be read
 * in the order the checks need (data before the templates that use it, every capture
 * name before any template) whatever the order of keys in the file. --set overrides are
 * applied to that tree first and validated like written values. The first error wins
 * and carries the 1-based line and column of the node at fault.
 *
 * Decisions the design leaves open, written down here:
 * - A stage set where every stage has 0 users is refused (the run would do nothing).
 * - Feeder names are words (letters, digits, _ and -).
 * - Data files read through a caller's sc_read_fn get the resolved path (relative to
 *   the scenario's directory), as on disk.
 * - A threshold naming requests ("login: ...") must match an http step's or a group's
 *   name unless the name holds a space or a slash (a default "GET /path" name); a ws
 *   threshold ("NAME: FIGURE METRIC op value", "NAME: out_of_order op N") must match a
 *   ws connection's name. An http threshold's name is checked against http steps and
 *   groups only, since a ws name there would read no entry.
 * - The open model (issue 11): "NAME: iteration ..." must name a user profile (any name,
 *   spaces included); lag, dropped and rate thresholds are refused in the closed model;
 *   a closed stage may not last 0s (as before), an open one may (a jump to its rate).
 *   max_users / max_backlog / arrivals in a closed load and users in an open stage (rate
 *   in a closed one) are errors at the key. An endless loop is refused anywhere in an
 *   open flow and in any setup (common/scenario_steps.c). A setup's ws connect serves the
 *   flow's ws steps; setup steps' names count for thresholds. */
#include "common/scenario.h"
#include "common/scenario_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* load.max_backlog when the scenario gives none: 10 x max_users, at least 1,000. */
static uint32_t sc_default_backlog(uint32_t max_users)
{
    uint64_t b = (uint64_t)max_users * 10u;
    return (uint32_t)(b < 1000u ? 1000u : b > SC_MAX_BACKLOG ? SC_MAX_BACKLOG : b);
}

/* ---- reading data files ------------------------------------------------------------ */

static int sc_read_disk(const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    return util_read_file(path, SC_MAX_FILE, data, len, err, errcap);
}

/* A data path relative to the scenario's directory. Caller frees. */
static char *sc_resolve(const char *scenario_file, const char *path)
{
    const char *slash = scenario_file ? strrchr(scenario_file, '/') : NULL;
    if (path[0] == '/' || !slash)
        return strdup(path);
    size_t dl = (size_t)(slash - scenario_file) + 1;
    char *out = malloc(dl + strlen(path) + 1);
    if (out) {
        memcpy(out, scenario_file, dl);
        strcpy(out + dl, path);
    }
    return out;
}

/* ---- sections ---------------------------------------------------------------------- */

static int sc_target(sc_ctx *c, const yaml_node_t *n)
{
    char fb[80];
    if (sc_text(c, n, "'target'", &c->sc->target))
        return -1;
    char *t = c->sc->target;
    const char *host = NULL;
    if (!strncasecmp(t, "http://", 7))
        host = t + 7;
    else if (!strncasecmp(t, "https://", 8))
        host = t + 8;
    if (!host || !*host || *host == '/')
        return sc_fail(c, n, strstr(t, "://") ? NULL : "for example http://127.0.0.1:8000",
                       "target must be an absolute URL starting with http:// or https://, "
                       "found %s", sc_found(n, fb, sizeof fb));
    size_t len = strlen(t);
    while (len > 0 && t[len - 1] == '/')
        t[--len] = '\0';
    return 0;
}

/* defaults.client's words in sc_client order */
static const char *const sc_clients[] = { "auto", "lean", "curl" };
_Static_assert(sizeof(sc_client) == sizeof(int), "SC_K_ENUM rows write an int");
static const sc_key sc_defaults_keys[] = {
    { "headers", SC_K_OWN },
    { "timeout", SC_K_DURATION, offsetof(scenario, default_timeout_ms), 1, 0, "defaults.timeout" },
    { "http2", SC_K_BOOL, offsetof(scenario, http2), 0, 0, "defaults.http2" },
    { "insecure", SC_K_BOOL, offsetof(scenario, insecure), 0, 0, "defaults.insecure" },
    { "follow_redirects", SC_K_BOOL, offsetof(scenario, follow_redirects), 0, 0,
      "defaults.follow_redirects" },
    { "cookies", SC_K_BOOL, offsetof(scenario, cookies), 0, 0, "defaults.cookies" },
    { "on_failure", SC_K_OWN },
    { "client", SC_K_ENUM, offsetof(scenario, client), 0, 0, "defaults.client",
      .words = sc_clients, .nwords = 3 },
};

static int sc_defaults(sc_ctx *c, yaml_node_t *n)
{
    scenario *sc = c->sc;
    const sc_key *k = sc_defaults_keys;
    size_t nk = SC_NKEYS(sc_defaults_keys);
    if (sc_want_map(c, n, "'defaults'") || sc_check_keys(c, n, "defaults", k, nk) ||
        sc_read_all(c, n, "defaults", k, nk, sc))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "headers", NULL)) && !sc_is_null(v)) {
        if (sc_headers(c, v, NULL, &sc->default_headers, &sc->ndefault_headers))
            return -1;
        c->defhdrs = v;
    }
    if ((v = sc_get(c, n, "on_failure", NULL)) && sc_on_failure_read(c, v, &sc->default_on_failure))
        return -1;
    /* the lean client speaks HTTP/1.1 only: HTTP/2 is libcurl's (worker/http.h) */
    if (sc->client == SC_CLIENT_LEAN && sc->http2 && (v = sc_get(c, n, "client", NULL)))
        return sc_fail(c, v, "http2 needs libcurl: use client: auto or curl",
                       "defaults.client: lean speaks HTTP/1.1 only, but defaults.http2 is true");
    return 0;
}

static const char *const sc_models[] = { "closed", "open" };
static const char *const sc_arrival_kinds[] = { "uniform", "poisson" };
_Static_assert(sizeof(sc_model) == sizeof(int) && sizeof(sc_arrivals) == sizeof(int),
               "SC_K_ENUM rows write an int");
static const char sc_pool_eg[] = "for example max_users: 100 (the pool of users, all "
                                 "workers together)";
static const sc_key sc_load_keys[] = {
    { "model", SC_K_ENUM, offsetof(scenario, model), 0, 0, "load.model", .words = sc_models,
      .nwords = 2 },
    { "stages", SC_K_OWN },
    { "graceful_stop", SC_K_DURATION, offsetof(scenario, graceful_stop_ms), 0, 0,
      "load.graceful_stop" },
    { "max_users", SC_K_U32, offsetof(scenario, max_users), 1, SC_MAX_USERS, "load.max_users",
      true, sc_pool_eg },
    { "max_backlog", SC_K_U32, offsetof(scenario, max_backlog), 1, SC_MAX_BACKLOG,
      "load.max_backlog" },
    { "arrivals", SC_K_ENUM, offsetof(scenario, arrivals), 0, 0, "load.arrivals",
      .words = sc_arrival_kinds, .nwords = 2 },
};
/* The open model's keys of load, refused in the closed one. */
static const char *const sc_open_only[] = { "max_users", "max_backlog", "arrivals" };
static const char sc_stage_eg[] = "a stage is { duration: 5m, users: 200 }";
static const char sc_rate_eg[] = "an open-model stage is { duration: 1m, rate: 50 }";
/* One table per model (the same keys, so messages list the same known keys): a closed
 * stage gives users over a duration above 0; an open one gives a rate, and may last 0
 * (a jump to its rate). */
static const sc_key sc_stage_keys[] = {
    { "duration", SC_K_DURATION, offsetof(sc_stage, duration_ms), 1, 0, "a stage's duration",
      true, sc_stage_eg },
    { "users", SC_K_U32, offsetof(sc_stage, users), 0, SC_MAX_USERS, "users", true, sc_stage_eg },
    { "rate", SC_K_OWN },
};
static const sc_key sc_open_stage_keys[] = {
    { "duration", SC_K_DURATION, offsetof(sc_stage, duration_ms), 0, 0, "a stage's duration",
      true, sc_rate_eg },
    { "users", SC_K_OWN },
    { "rate", SC_K_RATE, offsetof(sc_stage, rate), 0, 0, "a stage's rate", true, sc_rate_eg },
};

/* A key of the wrong model: at the key, saying what the other model wants. */
static int sc_wrong_model(sc_ctx *c, const yaml_node_t *map, const char *key)
{
    yaml_node_t *kn = NULL;
    char msg[256];
    if (!sc_get(c, map, key, &kn))
        return 0;
    if (!strcmp(key, "users"))
        return sc_fail(c, kn, "write { duration: 1m, rate: 50 }; the pool of users is "
                       "load.max_users", "'users' in a stage of the open model, whose stages "
                       "give rate (iterations started per second)");
    if (!strcmp(key, "rate"))
        return sc_fail(c, kn, "add model: open to load (its stages give rate), or give the "
                       "stage users: N", "'rate' in a stage of the closed model, whose stages "
                       "give users");
    snprintf(msg, sizeof msg, "add model: open to load, or remove %s", key);
    return sc_fail(c, kn, msg, "load.%s belongs to the open model; in the closed model "
                   "(the default) the stages' users are the users", key);
}

static int sc_load(sc_ctx *c, yaml_node_t *n)
{
    scenario *sc = c->sc;
    const sc_key *k = sc_load_keys;
    size_t nk = SC_NKEYS(sc_load_keys);
    if (sc_want_map(c, n, "'load'") || sc_check_keys(c, n, "load", k, nk) ||
        sc_read(c, n, "load", k, nk, "model", sc) ||
        sc_read(c, n, "load", k, nk, "graceful_stop", sc))
        return -1;
    bool open = sc->model == SC_MODEL_OPEN;
    if (open) {
        if (sc_read(c, n, "load", k, nk, "max_users", sc) ||
            sc_read(c, n, "load", k, nk, "max_backlog", sc) ||
            sc_read(c, n, "load", k, nk, "arrivals", sc))
            return -1;
        sc->max_backlog_set = sc->max_backlog != 0;
        if (!sc->max_backlog_set)
            sc->max_backlog = sc_default_backlog(sc->max_users);
    } else {
        for (size_t i = 0; i < SC_NKEYS(sc_open_only); i++)
            if (sc_wrong_model(c, n, sc_open_only[i]))
                return -1;
    }
    const char *eg = open ? "add stages: [ { duration: 1m, rate: 50 } ]"
                          : "add stages: [ { duration: 1m, users: 10 } ]";
    yaml_node_t *st = sc_need(c, n, "stages", "load", eg);
    if (!st || sc_want_list(c, st, "load.stages", eg))
        return -1;
    int ns = SC_NITEMS(st);
    if (!(sc->stages = calloc((size_t)ns, sizeof *sc->stages)))
        return sc_fail(c, st, NULL, "out of memory");
    sc->nstages = ns;
    const sc_key *sk = open ? sc_open_stage_keys : sc_stage_keys;
    size_t nsk = open ? SC_NKEYS(sc_open_stage_keys) : SC_NKEYS(sc_stage_keys);
    for (int i = 0; i < ns; i++) {
        yaml_node_t *s = sc_node(c, st->data.sequence.items.start[i]);
        char where[64];
        snprintf(where, sizeof where, "stage %d", i + 1);
        if (sc_tick(c, s) || sc_want_map(c, s, where) ||
            sc_check_keys(c, s, where, sk, nsk) ||
            sc_wrong_model(c, s, open ? "users" : "rate") ||
            sc_read_all(c, s, where, sk, nsk, &sc->stages[i]))
            return -1;
    }
    if (!open && loadshape_peak_users(sc->stages, ns) == 0)
        return sc_fail(c, st, NULL, "every stage has users: 0; the run would start no one");
    if (open && loadshape_peak_rate(sc->stages, ns) == 0)
        return sc_fail(c, st, NULL, "every stage has rate: 0; the run would start nothing");
    if (open && loadshape_duration_ms(sc->stages, ns) == 0)
        return sc_fail(c, st, "a zero-length stage jumps to its rate; a later stage with a "
                       "duration holds or ramps it", "every stage lasts 0s; the run would "
                       "start nothing");
    return 0;
}

/* mode's words in data_mode order */
static const char *const sc_modes[] = { "sequential", "random", "unique" };
static const sc_key sc_feeder_keys[] = {
    { "csv", SC_K_TEXT, offsetof(data_feeder, file), 0, 0, "'csv' (a file name)", true,
      "for example: { csv: users.csv, mode: unique }" },
    { "mode", SC_K_ENUM, 0, 0, 0, NULL, .words = sc_modes, .nwords = 3 },
};

static int sc_data(sc_ctx *c, yaml_node_t *n)
{
    scenario *sc = c->sc;
    const sc_key *fk = sc_feeder_keys;
    size_t nfk = SC_NKEYS(sc_feeder_keys);
    char fb[80], msg[256];
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'data'"))
        return -1;
    int nf = SC_NPAIRS(n);
    if (nf == 0)
        return 0;
    if (!(sc->data.f = calloc((size_t)nf, sizeof *sc->data.f)))
        return sc_fail(c, n, NULL, "out of memory");
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key), *spec = sc_node(c, p->value), *csvk = NULL;
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k) || !sc_is_ident(sc_sval(k)))
            return sc_fail(c, k, "templates read it as {{ name.column }}", "a data feeder's "
                           "name must be a word (letters, digits, _ and -), found %s",
                           sc_found(k, fb, sizeof fb));
        if (data_find(&sc->data, sc_sval(k)) >= 0)
            return sc_fail(c, k, NULL, "data feeder '%s' is defined twice", sc_sval(k));
        char where[96];
        snprintf(where, sizeof where, "data feeder '%s'", sc_sval(k));
        if (sc_want_map(c, spec, where) || sc_check_keys(c, spec, where, fk, nfk))
            return -1;
        data_feeder *f = &sc->data.f[sc->data.n++];
        if (!(f->name = strdup(sc_sval(k))))
            return sc_fail(c, k, NULL, "out of memory");
        int mode = DATA_SEQUENTIAL;
        if (sc_read(c, spec, where, fk, nfk, "mode", &mode))
            return -1;
        f->mode = (data_mode)mode;
        if (sc_read(c, spec, where, fk, nfk, "csv", f))
            return -1;
        yaml_node_t *csv = sc_get(c, spec, "csv", &csvk);
        char *path = sc_resolve(c->err->file, f->file), *buf = NULL;
        size_t blen = 0;
        msg[0] = '\0';
        int rc = !path ? -1 : c->read ? c->read(c->read_ud, path, &buf, &blen, msg, sizeof msg)
                                      : sc_read_disk(path, &buf, &blen, msg, sizeof msg);
        if (rc != 0) {
            sc_fail(c, csv, "paths are relative to the scenario's directory",
                    "%s: cannot read %s: %s", where, path ? path : f->file,
                    msg[0] ? msg : "unknown error");
            free(path);
            free(buf);
            return -1;
        }
        int line = 0;
        msg[0] = '\0';
        rc = data_feeder_parse(f, buf, blen, msg, sizeof msg, &line);
        free(buf);
        if (rc != 0) {
            sc_fail(c, csvk, "the first line names the columns; each further line is one row",
                    "%s: %s line %d: %s", where, path, line, msg[0] ? msg : "invalid CSV");
            free(path);
            return -1;
        }
        free(path);
    }
    return 0;
}

static const sc_key sc_profile_keys[] = {
    { "name", SC_K_TEXT, offsetof(sc_profile, name), 0, 0, "the profile's name", true,
      "for example: - name: operator" },
    { "weight", SC_K_U32, offsetof(sc_profile, weight), 0, SC_MAX_WEIGHT, "weight" },
    { "tags", SC_K_OWN },
    { "setup", SC_K_OWN },
    { "flow", SC_K_OWN },
};

static int sc_users(sc_ctx *c, yaml_node_t *n)
{
    const sc_key *k = sc_profile_keys;
    size_t nk = SC_NKEYS(sc_profile_keys);
    scenario *sc = c->sc;
    if (sc_want_list(c, n, "'users' (the user profiles)",
                     "for example:\n  - name: browser\n    flow:\n      - http: { url: / }"))
        return -1;
    int np = SC_NITEMS(n);
    if (np > SC_MAX_PROFILES)
        return sc_fail(c, n, NULL, "more than %d user profiles", SC_MAX_PROFILES);
    if (!(sc->profiles = calloc((size_t)np, sizeof *sc->profiles)))
        return sc_fail(c, n, NULL, "out of memory");
    sc->nprofiles = np;
    uint64_t total = 0;
    yaml_node_t *w0 = NULL;             /* the first weight written, for "all 0" */
    for (int i = 0; i < np; i++) {
        yaml_node_t *u = sc_node(c, n->data.sequence.items.start[i]);
        sc_profile *pr = &sc->profiles[i];
        char where[64];
        snprintf(where, sizeof where, "user profile %d", i + 1);
        if (sc_tick(c, u) || sc_want_map(c, u, where) || sc_check_keys(c, u, "a user profile", k, nk) ||
            sc_read(c, u, where, k, nk, "name", pr))
            return -1;
        for (int j = 0; j < i; j++)
            if (!strcmp(sc->profiles[j].name, pr->name))
                return sc_fail(c, sc_get(c, u, "name", NULL), "give each profile its own name",
                               "two user profiles are named '%s'", pr->name);
        pr->weight = 1;
        if (sc_read(c, u, where, k, nk, "weight", pr))
            return -1;
        yaml_node_t *v = sc_get(c, u, "tags", NULL);
        if (v && sc_tags_read(c, v, &pr->tags))
            return -1;
        v = sc_get(c, u, "weight", NULL);
        if (!w0)
            w0 = v;
        total += pr->weight;
        if (total > SC_MAX_WEIGHT)
            return sc_fail(c, v ? v : u, "weights are ratios: 50 and 5 work like 10 and 1",
                           "the profiles' weights add up to more than %u", SC_MAX_WEIGHT);
        char what[160];
        /* setup runs before the flow on the same user: a ws connect there serves the
         * flow's ws steps, and it must end for the flow to start */
        c->ws_open = false;
        if ((v = sc_get(c, u, "setup", NULL)) && !sc_is_null(v)) {
            snprintf(what, sizeof what, "the setup of '%s'", pr->name);
            c->endless_msg = "setup runs once before a user's first iteration, but this loop "
                             "never ends (no count, or count: forever)";
            c->endless_hint = "give the loop a count (count: 3), or move it into flow";
            if (sc_steps(c, v, what, &pr->setup, &pr->nsetup, 0))
                return -1;
        }
        snprintf(what, sizeof what, "the flow of '%s'", pr->name);
        v = sc_need(c, u, "flow", where, "for example: flow: [ { http: { url: / } } ]");
        c->endless_msg = c->endless_hint = NULL;
        if (sc->model == SC_MODEL_OPEN) {
            c->endless_msg = "the open model runs the flow once per arrival, but this loop "
                             "never ends (no count, or count: forever)";
            c->endless_hint = "the open model starts one iteration per arrival: give the loop "
                              "a count, or use model: closed";
        }
        if (!v || sc_steps(c, v, what, &pr->flow, &pr->nflow, 0))
            return -1;
        c->endless_msg = c->endless_hint = NULL;
    }
    if (total == 0)
        return sc_fail(c, w0 ? w0 : n, "give at least one profile a weight above 0 (weight: 0 switches a "
                       "profile off, e.g. --set users.0.weight=0)", "every user profile has "
                       "weight 0, so no user would run");
    sc->total_weight = (uint32_t)total;
    return 0;
}

/* Names of http steps and groups (names), and of ws connections (ws), for checking a
 * threshold's name. */
typedef struct sc_names { const char *names[1024], *ws[1024]; size_t n, nws; } sc_names;

static void sc_step_names(const sc_step *s, int n, sc_names *out)
{
    for (int i = 0; i < n; i++) {
        const char *name = s[i].kind == STEP_HTTP ? s[i].u.http.name
                         : s[i].kind == STEP_GROUP ? s[i].u.group.name : NULL;
        if (name && out->n < 1024)
            out->names[out->n++] = name;
        if (s[i].kind == STEP_WS && s[i].u.ws.kind == SC_WS_CONNECT && out->nws < 1024)
            out->ws[out->nws++] = s[i].u.ws.name;
        if (s[i].kind == STEP_LOOP)
            sc_step_names(s[i].u.loop.steps, s[i].u.loop.nsteps, out);
        if (s[i].kind == STEP_GROUP)
            sc_step_names(s[i].u.group.steps, s[i].u.group.nsteps, out);
        if (s[i].kind == STEP_PICK)
            for (int b = 0; b < s[i].u.pick.nbranches; b++)
                sc_step_names(s[i].u.pick.branches[b].steps, s[i].u.pick.branches[b].nsteps, out);
        if (s[i].kind == STEP_IF) {
            sc_step_names(s[i].u.cond.then_steps, s[i].u.cond.nthen, out);
            sc_step_names(s[i].u.cond.else_steps, s[i].u.cond.nelse, out);
        }
    }
}

static bool sc_name_in(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

static int sc_thresholds(sc_ctx *c, yaml_node_t *n)
{
    scenario *sc = c->sc;
    char fb[80], msg[256], hint[160];
    if (sc_is_null(n))
        return 0;
    if (sc_want_list(c, n, "'thresholds'", "for example: thresholds: [ \"p95 < 500ms\" ]"))
        return -1;
    int nt = SC_NITEMS(n);
    if (!(sc->thresholds = calloc((size_t)nt, sizeof *sc->thresholds)))
        return sc_fail(c, n, NULL, "out of memory");
    sc_names *nm = calloc(1, sizeof *nm);
    if (!nm)
        return sc_fail(c, n, NULL, "out of memory");
    for (int i = 0; i < sc->nprofiles; i++) {
        sc_step_names(sc->profiles[i].setup, sc->profiles[i].nsetup, nm);
        sc_step_names(sc->profiles[i].flow, sc->profiles[i].nflow, nm);
    }
    int rc = 0;
    for (int i = 0; i < nt && rc == 0; i++) {
        yaml_node_t *t = sc_node(c, n->data.sequence.items.start[i]);
        if (sc_tick(c, t)) {
            rc = -1;
            break;
        }
        if (!sc_is_scalar(t) || sc_is_null(t)) {
            rc = sc_fail(c, t, "for example \"p95 < 500ms\" or \"login: p99 < 1s\"",
                         "expected a threshold expression, found %s", sc_found(t, fb, sizeof fb));
            break;
        }
        msg[0] = hint[0] = '\0';
        sc_threshold *th = &sc->thresholds[sc->nthresholds];
        if (scenario_parse_threshold(sc_sval(t), th, msg, sizeof msg, hint, sizeof hint)) {
            rc = sc_fail(c, t, hint[0] ? hint : NULL, "threshold \"%s\": %s", sc_sval(t), msg);
            break;
        }
        sc->nthresholds++;
        th->line = (int)t->start_mark.line + 1;
        th->col = (int)t->start_mark.column + 1;
        if (th->metric == TH_MONITOR) {         /* common/scenario_monitor.c */
            if ((rc = sc_monitor_check_threshold(c, t, th)) != 0)
                break;
            continue;
        }
        /* The schedule's figures exist only in the open model. */
        if ((th->of == TH_OF_LAG || th->metric == TH_DROPPED || th->metric == TH_RATE) &&
            sc->model != SC_MODEL_OPEN) {
            rc = sc_fail(c, t, "add model: open to load (arrivals per second), or judge the "
                         "closed model's throughput with rps", "threshold \"%s\" is about the "
                         "open model's schedule (lag, dropped, rate), but the load is closed",
                         sc_sval(t));
            break;
        }
        /* "NAME: iteration ..." reads that profile's iterations */
        if (th->of == TH_OF_ITERATION) {
            if (!th->name)
                continue;
            const char **pn = malloc((size_t)sc->nprofiles * sizeof *pn);
            if (!pn) {
                rc = sc_fail(c, t, NULL, "out of memory");
                break;
            }
            for (int j = 0; j < sc->nprofiles; j++)
                pn[j] = sc->profiles[j].name;
            if (!sc_name_in(th->name, pn, (size_t)sc->nprofiles)) {
                sc_did_you_mean(hint, sizeof hint, th->name, pn, (size_t)sc->nprofiles,
                                "an iteration threshold names a user profile (users[].name)");
                rc = sc_fail(c, t, hint, "threshold \"%s\" is about the iterations of the "
                             "profile '%s', but no user profile has that name", sc_sval(t),
                             th->name);
            }
            free(pn);
            continue;
        }
        /* A typo in a name would silently never match: names without a space or a slash
         * are meant to be a step's, a group's or a ws connection's explicit name. A ws
         * threshold reads its connection's entries, an http one the requests'. */
        if (th->name && strpbrk(th->name, " /") && th->ws == TH_WS_NONE &&
            th->metric != TH_OUT_OF_ORDER)
            sc_warn_threshold_name(c, t, th->name, nm->names, nm->n);
        if (!th->name || strpbrk(th->name, " /"))
            continue;
        bool ws = th->ws != TH_WS_NONE || th->metric == TH_OUT_OF_ORDER;
        if (ws && !sc_name_in(th->name, nm->ws, nm->nws)) {
            if (sc_did_you_mean(hint, sizeof hint, th->name, nm->ws, nm->nws, NULL))
                ;
            else if (sc_name_in(th->name, nm->names, nm->n))
                snprintf(hint, sizeof hint, "'%s' names http requests; leave out the ws word "
                         "for them", th->name);
            else
                snprintf(hint, sizeof hint, "name the connection with name: in its ws connect step");
            rc = sc_fail(c, t, hint, "threshold \"%s\" is about the ws connection named '%s', "
                         "but no ws connect step has that name", sc_sval(t), th->name);
        } else if (!ws && !sc_name_in(th->name, nm->names, nm->n)) {
            if (sc_did_you_mean(hint, sizeof hint, th->name, nm->names, nm->n, NULL))
                ;
            else if (sc_name_in(th->name, nm->ws, nm->nws))
                snprintf(hint, sizeof hint, "'%s' is a ws connection: say which figure, e.g. "
                         "\"%s: message p95 < 100ms\"", th->name, th->name);
            else
                snprintf(hint, sizeof hint, "name the step with name: in its http step");
            rc = sc_fail(c, t, hint, "threshold \"%s\" is about requests named '%s', but no "
                         "http step or group has that name", sc_sval(t), th->name);
        }
    }
    free(nm);
    return rc;
}

/* ---- scenario_parse ---------------------------------------------------------------- */

static const sc_key sc_top_keys[] = {
    { "name", SC_K_TEXT, offsetof(scenario, name), 0, 0, "'name'", true,
      "add name: my-test at the top" },
    { "target", SC_K_OWN }, { "defaults", SC_K_OWN }, { "load", SC_K_OWN }, { "data", SC_K_OWN },
    { "users", SC_K_OWN }, { "thresholds", SC_K_OWN }, { "monitor", SC_K_OWN },
};

static int sc_build(sc_ctx *c, int nsets)
{
    const sc_key *k = sc_top_keys;
    size_t nk = SC_NKEYS(sc_top_keys);
    scenario *sc = c->sc;
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root || sc_is_null(root)) {
        c->err->line = c->err->col = 0;
        snprintf(c->err->msg, sizeof c->err->msg, "the scenario is empty");
        snprintf(c->err->hint, sizeof c->err->hint, "a scenario needs at least name, load and users");
        return -1;
    }
    for (int i = 0; i < nsets; i++)
        if (sc_apply_set(c, i))
            return -1;
    root = yaml_document_get_root_node(&c->doc);
    if (sc_want_map(c, root, "the scenario") || sc_check_keys(c, root, "the scenario", k, nk) ||
        sc_read(c, root, "the scenario", k, nk, "name", sc))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, root, "target", NULL)) && sc_target(c, v))
        return -1;
    v = sc_need(c, root, "load", "the scenario",
                "for example:\nload:\n  stages:\n    - { duration: 1m, users: 10 }");
    if (!v || sc_load(c, v))
        return -1;
    if ((v = sc_get(c, root, "data", NULL)) && sc_data(c, v))
        return -1;
    yaml_node_t *users = sc_need(c, root, "users", "the scenario",
                                 "for example:\nusers:\n  - name: browser\n    flow:\n      - http: { url: / }");
    if (!users)
        return -1;
    if (users->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = users->data.sequence.items.start; it < users->data.sequence.items.top; it++) {
            yaml_node_t *u = sc_node(c, *it);
            if (u->type == YAML_MAPPING_NODE && (sc_collect(c, sc_get(c, u, "setup", NULL), 0) ||
                                                 sc_collect(c, sc_get(c, u, "flow", NULL), 0)))
                return -1;
        }
    }
    if ((v = sc_get(c, root, "defaults", NULL)) && !sc_is_null(v) && sc_defaults(c, v))
        return -1;
    if (sc_users(c, users))
        return -1;
    sc->monitor.interval_ms = SC_MON_DEFAULT_INTERVAL_MS;
    if ((v = sc_get(c, root, "monitor", NULL)) && sc_monitor_read(c, v))
        return -1;
    if ((v = sc_get(c, root, "thresholds", NULL)) && sc_thresholds(c, v))
        return -1;
    uint32_t *w = malloc((size_t)sc->nprofiles * sizeof *w);
    for (int i = 0; w && i < sc->nprofiles; i++)
        w[i] = sc->profiles[i].weight;
    sc->profile_seq = w ? loadshape_profile_seq(w, sc->nprofiles, sc->total_weight) : NULL;
    free(w);
    if (!sc->profile_seq)
        return sc_fail(c, users, NULL, "out of memory");
    return 0;
}

scenario *scenario_parse(const char *text, size_t len, const char *file,
                         const sc_set *sets, int nsets,
                         sc_read_fn read, void *read_ud, sc_error *err)
{
    return scenario_parse_env(text, len, file, sets, nsets, read, read_ud, NULL, err);
}

scenario *scenario_parse_env(const char *text, size_t len, const char *file,
                             const sc_set *sets, int nsets, sc_read_fn read, void *read_ud,
                             const sc_env *env, sc_error *err)
{
    sc_error dummy;
    if (!err)
        err = &dummy;
    if (!text)
        text = "", len = 0;
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    scenario *sc = calloc(1, sizeof *sc);
    if (!sc || (file && !(sc->file = strdup(file)))) {
        free(sc);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    sc->default_timeout_ms = SC_DEFAULT_TIMEOUT_MS;
    sc->cookies = true;
    sc->graceful_stop_ms = SC_DEFAULT_GRACEFUL_MS;
    sc->syms.data = &sc->data;
    if (env != NULL) {
        sc->syms.env = env->fn;
        sc->syms.env_ud = env->ud;
    }

    sc_ctx c = { .sc = sc, .err = err, .text = text, .len = len, .sets = sets,
                 .read = read, .read_ud = read_ud };
    if (sc_depth_scan(&c) != 0) {
        scenario_free(sc);
        return NULL;
    }
    yaml_parser_t parser;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        scenario_free(sc);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        sc_yaml_error(&c, &parser);
        yaml_parser_delete(&parser);
        scenario_free(sc);
        return NULL;
    }
    /* One document per file: a second one ("---") would be silently ignored. */
    yaml_document_t more;
    if (!yaml_parser_load(&parser, &more)) {
        sc_yaml_error(&c, &parser);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&more);
        if (r2 && yaml_document_get_root_node(&c.doc)) {
            err->line = (int)more.start_mark.line + 1;
            err->col = (int)more.start_mark.column + 1;
            snprintf(err->msg, sizeof err->msg, "more than one YAML document in the file");
            snprintf(err->hint, sizeof err->hint, "a scenario file holds one document; remove the '---' and what follows");
        }
        yaml_document_delete(&more);
    }
    yaml_parser_delete(&parser);
    if (!err->msg[0])
        rc = sc_build(&c, nsets);
    yaml_document_delete(&c.doc);
    free(c.setnodes);
    for (int i = 0; i < c.ndefnames; i++)
        free(c.defnames[i]);
    free(c.defnames);
    sc->syms.env = NULL;        /* the source is the caller's, for this parse only */
    sc->syms.env_ud = NULL;
    if (rc != 0 || err->msg[0]) {
        if (!err->msg[0])
            snprintf(err->msg, sizeof err->msg, "invalid scenario");
        scenario_free(sc);
        return NULL;
    }
    return sc;
}

scenario *scenario_load(const char *path, const sc_set *sets, int nsets, sc_error *err)
{
    char *buf = NULL, msg[256];
    size_t len = 0;
    if (sc_read_disk(path, &buf, &len, msg, sizeof msg) != 0) {
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->file, sizeof err->file, "%s", path);
            snprintf(err->msg, sizeof err->msg, "cannot read the scenario: %s", msg);
        }
        return NULL;
    }
    const sc_env env = { tmpl_env_process, NULL };
    scenario *sc = scenario_parse_env(buf, len, path, sets, nsets, NULL, NULL, &env, err);
    free(buf);
    return sc;
}

void sc_error_format(const sc_error *e, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    int n;
    if (e->line > 0)
        n = snprintf(buf, cap, "%s:%d:%d: error: %s\n", e->file, e->line, e->col, e->msg);
    else if (e->file[0])
        n = snprintf(buf, cap, "%s: error: %s\n", e->file, e->msg);
    else
        n = snprintf(buf, cap, "error: %s\n", e->msg);
    if (e->hint[0] && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  hint: %s\n", e->hint);
}

/* ---- freeing ----------------------------------------------------------------------- */

void scenario_free(scenario *sc)
{
    if (!sc)
        return;
    free(sc->file);
    free(sc->name);
    free(sc->target);
    sc_headers_free(sc->default_headers, sc->ndefault_headers);
    free(sc->stages);
    data_set_fini(&sc->data);
    for (int i = 0; i < sc->nprofiles; i++) {
        free(sc->profiles[i].name);
        sc_tags_free(&sc->profiles[i].tags);
        sc_steps_free(sc->profiles[i].setup, sc->profiles[i].nsetup);
        sc_steps_free(sc->profiles[i].flow, sc->profiles[i].nflow);
    }
    free(sc->profiles);
    free(sc->profile_seq);
    for (int i = 0; i < sc->nthresholds; i++) {
        free(sc->thresholds[i].expr);
        free(sc->thresholds[i].name);
        free(sc->thresholds[i].mon_target);
        free(sc->thresholds[i].mon_metric);
    }
    free(sc->thresholds);
    sc_monitor_fini(&sc->monitor);
    tmpl_syms_fini(&sc->syms);
    free(sc->warnings);
    free(sc);
}

/* ---- the load shape of a scenario (common/loadshape.h does the arithmetic) ----------- */

uint64_t scenario_duration_ms(const scenario *sc)
{
    return loadshape_duration_ms(sc->stages, sc->nstages);
}

uint32_t scenario_peak_users(const scenario *sc)
{
    if (sc->model == SC_MODEL_OPEN)
        return sc->max_users;
    return loadshape_peak_users(sc->stages, sc->nstages);
}

/* scenario_apply_tags: common/scenario_flow.c */

void scenario_override_rate(scenario *sc, double rate, uint64_t duration_ms)
{
    if (sc->model != SC_MODEL_OPEN || !(rate > 0))
        return;
    sc_stage st[2];
    int n = loadshape_override_rate(sc->stages, sc->nstages, rate, duration_ms, st);
    sc_stage *p = malloc((size_t)n * sizeof *p);
    if (!p)
        return;                                         /* keeps the scenario's own stages */
    memcpy(p, st, (size_t)n * sizeof *p);
    free(sc->stages);
    sc->stages = p;
    sc->nstages = n;
}

uint32_t scenario_users_at(const scenario *sc, uint64_t t_ms)
{
    if (sc->model == SC_MODEL_OPEN)
        return 0;                       /* users follow the arrivals, not the stages */
    return loadshape_users_at(sc->stages, sc->nstages, t_ms);
}

int scenario_profile_of(const scenario *sc, uint64_t k)
{
    return loadshape_profile_of(sc->profile_seq, sc->total_weight, k);
}

/* -t alone in the closed model, and -t in the open one: the stages cut at duration_ms,
 * or the last stage held up to it (loadshape_cut). */
static void sc_cut_duration(scenario *sc, uint64_t duration_ms)
{
    if (duration_ms == 0 || duration_ms == loadshape_duration_ms(sc->stages, sc->nstages))
        return;
    sc_stage *p = calloc((size_t)sc->nstages + 1, sizeof *p);
    if (!p)
        return;                                         /* keeps the scenario's own stages */
    sc->nstages = loadshape_cut(sc->stages, sc->nstages, duration_ms, p);
    free(sc->stages);
    sc->stages = p;
}

void scenario_override_load(scenario *sc, uint32_t users, double rate, uint64_t duration_ms)
{
    if (sc->model == SC_MODEL_OPEN) {
        /* -u is the pool; there is no spawn rate (the CLI refuses -r with a hint) */
        (void)rate;
        if (users) {
            sc->max_users = users > SC_MAX_USERS ? SC_MAX_USERS : users;
            if (!sc->max_backlog_set)
                sc->max_backlog = sc_default_backlog(sc->max_users);
        }
        sc_cut_duration(sc, duration_ms);
        return;
    }
    /* Issue 12: -t alone keeps the scenario's ramp (Locust's --run-time changes only the
     * length), cut at the new duration or its last stage held up to it */
    if (users == 0 && !(rate > 0) && duration_ms) {
        sc_cut_duration(sc, duration_ms);
        return;
    }
    sc_stage st[2];
    int n = loadshape_override(sc->stages, sc->nstages, users, rate, duration_ms, st);
    sc_stage *p = malloc((size_t)n * sizeof *p);
    if (!p)
        return;                                         /* keeps the scenario's own stages */
    memcpy(p, st, (size_t)n * sizeof *p);
    free(sc->stages);
    sc->stages = p;
    sc->nstages = n;
}

int scenario_check_run(const scenario *sc, sc_error *err)
{
    uint32_t peak = scenario_peak_users(sc);
    for (uint32_t i = 0; i < sc->data.n; i++) {
        const data_feeder *f = &sc->data.f[i];
        if (f->mode == DATA_UNIQUE && f->nrows < peak) {
            if (err) {
                memset(err, 0, sizeof *err);
                snprintf(err->file, sizeof err->file, "%s", sc->file ? sc->file : "");
                snprintf(err->msg, sizeof err->msg, "data feeder '%s' (%s) gives each user its "
                         "own row, but it has %u rows for a peak of %u users", f->name,
                         f->file ? f->file : "?", f->nrows, peak);
                snprintf(err->hint, sizeof err->hint, "add rows to %s, lower the users, or use "
                         "mode: sequential", f->file ? f->file : "the file");
            }
            return -1;
        }
    }
    return 0;
}
