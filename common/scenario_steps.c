/* Flows (contract: common/scenario_int.h): lists of steps and the http, think, loop and
 * group steps, with an http step's expect and the captures of http and ws steps; ws
 * steps themselves are common/scenario_ws.c. Each step records where it was written.
 *
 * Decisions the design leaves open, written down here:
 * - A relative url ("/x") needs a top-level target (--host can supply one as --set
 *   target=); a url is a path, an absolute http(s):// URL, or a template starting {{.
 * - Method names are accepted in any case and stored upper case.
 * - An http step takes one body: json, body or form. A form body brings its
 *   Content-Type unless the step sets one; a json body's is left to the engine
 *   (json_body).
 * - loop count is a whole number >= 1 or "forever"; group needs a name; think takes a
 *   duration or a range "a..b" with a <= b.
 * - An endless loop (no count, or forever) is refused anywhere in steps that must end
 *   (c->endless_msg: an open-model flow, any setup), nested or not: a loop inside a
 *   counted loop or a group never ends either, and no step breaks out of a loop.
 * - Capture variable names are words (letters, digits, _ and -) and may not take a
 *   feeder's name. Every capture variable of every flow is collected first (sc_collect),
 *   so a template may use a name captured later in the file or by another profile.
 * - A step that looks like a step with a second key gets a hint: indent it under the
 *   step's kind when the key is a field some step takes, else start another step. */
#include "common/scenario_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/nearest.h"
#include "common/units.h"

/* Pass one: every capture variable in every flow, so a template may use a name captured
 * later in the file (or by another profile). Tolerant: malformed parts are left for the
 * checks of pass two to report. */
static int sc_collect_caps(sc_ctx *c, const yaml_node_t *cap)
{
    if (!cap || cap->type != YAML_MAPPING_NODE)
        return 0;
    SC_FOREACH_PAIR(q, cap) {
        yaml_node_t *var = sc_node(c, q->key);
        if (sc_tick(c, var))
            return -1;
        if (sc_is_scalar(var) && sc_is_ident(sc_sval(var)) &&
            tmpl_syms_add(&c->sc->syms, sc_sval(var)) < 0)
            return sc_fail(c, var, NULL, "out of memory");
    }
    return 0;
}

int sc_collect(sc_ctx *c, const yaml_node_t *steps, int depth)
{
    if (!steps || steps->type != YAML_SEQUENCE_NODE || depth > SC_MAX_STEP_DEPTH)
        return 0;
    for (yaml_node_item_t *it = steps->data.sequence.items.start; it < steps->data.sequence.items.top; it++) {
        yaml_node_t *st = sc_node(c, *it);
        if (sc_tick(c, st))
            return -1;
        if (st->type != YAML_MAPPING_NODE)
            continue;
        SC_FOREACH_PAIR(p, st) {
            yaml_node_t *k = sc_node(c, p->key), *v = sc_node(c, p->value);
            if (sc_is_scalar(k) && v->type == YAML_SEQUENCE_NODE &&
                (!strcmp(sc_sval(k), "then") || !strcmp(sc_sval(k), "else"))) {
                if (sc_collect(c, v, depth + 1))
                    return -1;
                continue;
            }
            if (sc_is_scalar(k) && v->type == YAML_SEQUENCE_NODE && !strcmp(sc_sval(k), "pick")) {
                for (yaml_node_item_t *b = v->data.sequence.items.start; b < v->data.sequence.items.top; b++) {
                    yaml_node_t *bn = sc_node(c, *b);
                    if (sc_tick(c, bn))
                        return -1;
                    if (bn->type == YAML_MAPPING_NODE &&
                        sc_collect(c, sc_get(c, bn, "steps", NULL), depth + 1))
                        return -1;
                }
                continue;
            }
            if (!sc_is_scalar(k) || v->type != YAML_MAPPING_NODE)
                continue;
            if (!strcmp(sc_sval(k), "loop") || !strcmp(sc_sval(k), "group")) {
                if (sc_collect(c, sc_get(c, v, "steps", NULL), depth + 1))
                    return -1;
            } else if (!strcmp(sc_sval(k), "http")) {
                if (sc_collect_caps(c, sc_get(c, v, "capture", NULL)))
                    return -1;
            } else if (!strcmp(sc_sval(k), "ws")) {
                /* ws: { expect: ..., capture: {...} } and ws: { listen: { ..., capture } } */
                yaml_node_t *l = sc_get(c, v, "listen", NULL);
                if (sc_collect_caps(c, sc_get(c, v, "capture", NULL)) ||
                    (l && l->type == YAML_MAPPING_NODE &&
                     sc_collect_caps(c, sc_get(c, l, "capture", NULL))))
                    return -1;
            }
        }
    }
    return 0;
}

static const sc_key sc_expect_keys[] = {
    { "status", SC_K_OWN }, { "json", SC_K_OWN }, { "equals", SC_K_OWN },
    { "contains", SC_K_TEXT, offsetof(sc_expect, contains), 0, 0, "expect.contains" },
};

static int sc_parse_expect(sc_ctx *c, const yaml_node_t *n, sc_expect *ex)
{
    const sc_key *k = sc_expect_keys;
    size_t nk = SC_NKEYS(sc_expect_keys);
    char fb[80], msg[256];
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'expect'") || sc_check_keys(c, n, "expect", k, nk))
        return -1;
    yaml_node_t *v;
    if ((v = sc_get(c, n, "status", NULL))) {
        long long code;
        if (v->type == YAML_SEQUENCE_NODE) {
            if (SC_NITEMS(v) == 0 || SC_NITEMS(v) > SC_MAX_STATUS)
                return sc_fail(c, v, NULL, "expect.status lists 1 to %d codes, found %d",
                               SC_MAX_STATUS, SC_NITEMS(v));
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                if (sc_int(c, sc_node(c, *it), "an HTTP status", 100, 599, &code))
                    return -1;
                ex->status[ex->nstatus++] = (int)code;
            }
        } else {
            if (sc_int(c, v, "expect.status (an HTTP status, or a list of them)", 100, 599, &code))
                return -1;
            ex->status[ex->nstatus++] = (int)code;
        }
    }
    yaml_node_t *jn = sc_get(c, n, "json", NULL);
    if (jn) {
        size_t off = 0;
        if (sc_text(c, jn, "expect.json (a JSON path such as $.status)", &ex->json_path_text))
            return -1;
        msg[0] = '\0';
        if (!(ex->json_path = jpath_compile(ex->json_path_text, msg, sizeof msg, &off)))
            return sc_fail_at(c, jn, sc_scalar_col(jn, off), "paths look like $.data.items[0].id",
                              "invalid JSON path: %s", msg[0] ? msg : "malformed");
    }
    if ((v = sc_get(c, n, "equals", NULL))) {
        if (!jn)
            return sc_fail(c, v, "add json: $.path next to it", "expect.equals compares the "
                           "value at a JSON path, but expect has no 'json'");
        if (!sc_is_scalar(v))
            return sc_fail(c, v, NULL, "expected a single value for expect.equals, found %s",
                           sc_found(v, fb, sizeof fb));
        if (!(ex->json_equals = strdup(sc_is_null(v) ? "null" : sc_sval(v))))
            return sc_fail(c, v, NULL, "out of memory");
    }
    return sc_read(c, n, "expect", k, nk, "contains", ex);
}

/* capture: { var: { json | header | regex: ... } } into *out. A ws step's captures read
 * a message, which has no headers (ws true): json or regex only. */
int sc_captures(sc_ctx *c, const yaml_node_t *n, sc_capture **out, int *nout, bool ws)
{
    static const char *const kinds[] = { "json", "header", "regex" };
    static const char *const ws_kinds[] = { "json", "regex" };
    char fb[80], hint[160], msg[256];
    scenario *sc = c->sc;
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'capture'"))
        return -1;
    int np = SC_NPAIRS(n);
    if (np == 0)
        return 0;
    if (!(*out = calloc((size_t)np, sizeof **out)))
        return sc_fail(c, n, NULL, "out of memory");
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key), *spec = sc_node(c, p->value);
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k) || !sc_is_ident(sc_sval(k)))
            return sc_fail(c, k, "templates read it as {{ name }}", "a capture variable's name "
                           "must be a word (letters, digits, _ and -), found %s", sc_found(k, fb, sizeof fb));
        const char *var = sc_sval(k);
        if (data_find(&sc->data, var) >= 0)
            return sc_fail(c, k, "choose another name", "capture variable '%s' has the name of a "
                           "data feeder", var);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = sc_node(c, q->key);
            if (sc_is_scalar(k2) && !strcmp(sc_sval(k2), var))
                return sc_fail(c, k, NULL, "capture '%s' appears twice in this step", var);
        }
        sc_capture *cp = &(*out)[(*nout)++];
        if (!(cp->var = strdup(var)))
            return sc_fail(c, k, NULL, "out of memory");
        cp->slot = tmpl_syms_find(&sc->syms, var);
        if (ws)
            snprintf(hint, sizeof hint, "write %s: { json: $.path } or { regex: \"id=(\\\\d+)\" }",
                     var);
        else
            snprintf(hint, sizeof hint, "write %s: { json: $.path }, { header: Name } or "
                     "{ regex: \"id=(\\\\d+)\" }", var);
        if (!spec || spec->type != YAML_MAPPING_NODE || SC_NPAIRS(spec) != 1)
            return sc_fail(c, spec ? spec : k, hint, "capture '%s' needs exactly one of %s, "
                           "found %s", var, ws ? "json or regex" : "json, header or regex",
                           sc_found(spec, fb, sizeof fb));
        yaml_node_t *kk = sc_node(c, spec->data.mapping.pairs.start[0].key);
        yaml_node_t *kv = sc_node(c, spec->data.mapping.pairs.start[0].value);
        int kind = sc_word_index(kk, kinds, 3);
        if (kind < 0) {
            /* no near kind: the hint above ("write var: { json: $.path } ...") stays */
            sc_did_you_mean(hint, sizeof hint, sc_is_scalar(kk) ? sc_sval(kk) : NULL,
                            ws ? ws_kinds : kinds, ws ? 2 : 3, hint);
            return sc_fail(c, kk, hint, "unknown capture kind %s for '%s' (known: %s)",
                           sc_found(kk, fb, sizeof fb), var, ws ? "json, regex" : "json, header, regex");
        }
        if (kind == 1 && ws)
            return sc_fail(c, kk, "capture from the message with { json: $.path } or { regex: R }",
                           "capture '%s': ws messages have no headers", var);
        cp->kind = kind == 0 ? CAP_JSON : kind == 1 ? CAP_HEADER : CAP_REGEX;
        if (sc_text(c, kv, kind == 0 ? "a JSON path" : kind == 1 ? "a header name" : "a regex",
                    &cp->expr))
            return -1;
        msg[0] = '\0';
        if (cp->kind == CAP_JSON) {
            size_t off = 0;
            if (!(cp->path = jpath_compile(cp->expr, msg, sizeof msg, &off)))
                return sc_fail_at(c, kv, sc_scalar_col(kv, off), "paths look like $.data.items[0].id",
                                  "invalid JSON path: %s", msg[0] ? msg : "malformed");
        } else if (cp->kind == CAP_REGEX) {
            size_t off = 0;
            if (!(cp->re = capre_compile(cp->expr, msg, sizeof msg, &off)))
                return sc_fail_at(c, kv, sc_regex_col(kv, cp->expr, off), SC_REGEX_HINT "; the first "
                                  "group is captured", "%s", msg[0] ? msg : "invalid regex");
        } else if (!sc_header_name_ok(cp->expr)) {
            return sc_fail(c, kv, NULL, "'%s' is not a valid HTTP header name", cp->expr);
        }
    }
    return 0;
}

static const char *const sc_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" };

static const sc_key sc_http_keys[] = {
    { "name", SC_K_TEXT, offsetof(sc_http, name), 0, 0, "the step's name" },
    { "method", SC_K_OWN }, { "url", SC_K_OWN }, { "headers", SC_K_OWN }, { "json", SC_K_OWN },
    { "body", SC_K_OWN }, { "form", SC_K_OWN },
    { "timeout", SC_K_DURATION, offsetof(sc_http, timeout_ms), 1, 0, "the step's timeout" },
    { "expect", SC_K_OWN }, { "capture", SC_K_OWN },
};

static int sc_http_step(sc_ctx *c, const yaml_node_t *n, sc_http *h)
{
    const sc_key *k = sc_http_keys;
    size_t nk = SC_NKEYS(sc_http_keys);
    const char *where = "the http step";
    scenario *sc = c->sc;
    char fb[80], hint[160];
    if (sc_want_map(c, n, "an http step") || sc_check_keys(c, n, where, k, nk) ||
        sc_read(c, n, where, k, nk, "name", h))
        return -1;
    /* Names are fixed (issue 12): a template there would be sent literally as one name,
     * and rendered it would make a name per value; the default name folds ids already. */
    const char *hole = h->name ? strstr(h->name, "{{") : NULL;
    if (hole) {
        yaml_node_t *nn = sc_get(c, n, "name", NULL);
        return sc_fail_at(c, nn, sc_scalar_col(nn, (size_t)(hole - h->name)),
                          "leave name out: requests are then named by their path with ids as "
                          "{id} (/items/{id}), or give one fixed name for all of them",
                          "a step's name is fixed text, but this one holds a template");
    }
    yaml_node_t *v;
    /* method */
    if ((v = sc_get(c, n, "method", NULL))) {
        if (sc_text(c, v, "'method'", &h->method))
            return -1;
        for (char *p = h->method; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        size_t i;
        for (i = 0; i < sizeof sc_methods / sizeof *sc_methods; i++)
            if (!strcmp(h->method, sc_methods[i]))
                break;
        if (i == sizeof sc_methods / sizeof *sc_methods) {
            const char *near = nearest_name(h->method, sc_methods, sizeof sc_methods / sizeof *sc_methods);
            if (near)
                snprintf(hint, sizeof hint, "did you mean %s?", near);
            return sc_fail(c, v, near ? hint : NULL, "unknown HTTP method %s (expected GET, POST, "
                           "PUT, PATCH, DELETE, HEAD or OPTIONS)", sc_found(v, fb, sizeof fb));
        }
    } else if (!(h->method = strdup("GET"))) {
        return sc_fail(c, n, NULL, "out of memory");
    }
    /* url */
    yaml_node_t *u = sc_need(c, n, "url", "the http step", "for example: url: /api/orders");
    if (!u || !sc_is_scalar(u) || sc_is_null(u) || !sc_sval(u)[0])
        return u ? sc_fail(c, u, NULL, "expected a URL or path for 'url', found %s",
                           sc_found(u, fb, sizeof fb)) : -1;
    const char *url = sc_sval(u);
    bool abs = !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
    if (!abs && url[0] != '/' && strncmp(url, "{{", 2))
        return sc_fail(c, u, "for example /api/orders or http://host:8000/api/orders",
                       "url %s is neither a path starting with / nor an absolute http:// or "
                       "https:// URL", sc_found(u, fb, sizeof fb));
    if (url[0] == '/' && !sc->target)
        return sc_fail(c, u, "add target: http://host:port at the top (or pass --host)",
                       "url %s is a path, but the scenario has no target to join it to",
                       sc_found(u, fb, sizeof fb));
    if (!(h->url = sc_tmpl(c, u, url, strlen(url), TMPL_RAW, "the url")))
        return -1;
    if (!h->name)
        sc_note_default_name(c, url);
    /* body: at most one of json, body, form */
    yaml_node_t *jn = sc_get(c, n, "json", NULL), *bn = sc_get(c, n, "body", NULL),
                *fn = sc_get(c, n, "form", NULL);
    if (!!jn + !!bn + !!fn > 1)
        return sc_fail(c, fn ? fn : bn, "keep one of them", "an http step takes one body: "
                       "json, body or form, not several");
    bool form = fn != NULL;
    if (jn || fn) {
        if (!(h->body = jn ? sc_json_body(c, jn, "the json body") : sc_form_body(c, fn)))
            return -1;
        h->json_body = jn != NULL;
    } else if (bn) {
        if (!sc_is_scalar(bn))
            return sc_fail(c, bn, "for a JSON body use json: instead", "expected text for 'body', "
                           "found %s", sc_found(bn, fb, sizeof fb));
        if (!(h->body = sc_tmpl(c, bn, sc_sval(bn), strlen(sc_sval(bn)), TMPL_RAW, "the body")))
            return -1;
    }
    /* headers, defaults merged in; a form body brings its content type */
    if (sc_headers(c, sc_get(c, n, "headers", NULL), c->defhdrs, &h->headers, &h->nheaders))
        return -1;
    if (form) {
        bool has = false;
        for (int i = 0; i < h->nheaders; i++)
            has |= !strcasecmp(h->headers[i].name, "Content-Type");
        if (!has) {
            yaml_node_t *fk = NULL;
            sc_get(c, n, "form", &fk);
            /* the key node only lends its place for messages; the name is set below */
            sc_header *p = realloc(h->headers, (size_t)(h->nheaders + 1) * sizeof *p);
            if (!p)
                return sc_fail(c, fk, NULL, "out of memory");
            h->headers = p;
            sc_header *hd = &p[h->nheaders++];
            const char *ct = "application/x-www-form-urlencoded";
            hd->name = strdup("Content-Type");
            hd->value = sc_tmpl(c, fk, ct, strlen(ct), TMPL_RAW, "a header");
            if (!hd->name || !hd->value)
                return sc_fail(c, fk, NULL, "out of memory");
        }
    }
    h->timeout_ms = sc->default_timeout_ms;
    if (sc_read(c, n, where, k, nk, "timeout", h))
        return -1;
    if ((v = sc_get(c, n, "expect", NULL)) && sc_parse_expect(c, v, &h->expect))
        return -1;
    if ((v = sc_get(c, n, "capture", NULL)) && sc_captures(c, v, &h->captures, &h->ncaptures, false))
        return -1;
    return 0;
}

static int sc_think(sc_ctx *c, const yaml_node_t *n, sc_step *st)
{
    char fb[80], a[64], b[64];
    const char *eg = "for example think: 2s, or a random pause think: 1s..3s";
    if (!sc_is_scalar(n) || sc_is_null(n))
        return sc_fail(c, n, eg, "expected a duration or a range for think, found %s",
                       sc_found(n, fb, sizeof fb));
    const char *s = sc_sval(n), *dots = strstr(s, "..");
    if (!dots) {
        if (units_duration_ms(s, &st->u.think.min_ms) != 0)
            return sc_fail(c, n, eg, "expected a duration or a range for think, found %s",
                           sc_found(n, fb, sizeof fb));
        st->u.think.max_ms = st->u.think.min_ms;
        return 0;
    }
    snprintf(a, sizeof a, "%.*s", (int)(dots - s), s);
    snprintf(b, sizeof b, "%s", dots + 2);
    if (units_duration_ms(a, &st->u.think.min_ms) || units_duration_ms(b, &st->u.think.max_ms))
        return sc_fail(c, n, eg, "expected a think range such as 1s..3s, found %s",
                       sc_found(n, fb, sizeof fb));
    if (st->u.think.min_ms > st->u.think.max_ms)
        return sc_fail(c, n, NULL, "think range %s is reversed: the first bound must not exceed "
                       "the second (write %s..%s)", s, b, a);
    return 0;
}

static const sc_key sc_loop_keys[] = { { "count", SC_K_OWN }, { "steps", SC_K_OWN },
                                       { "pacing", SC_K_OWN }, { "rate", SC_K_OWN } };

/* pacing: DURATION or rate: R (passes per second per user, sc_rate's forms) into
 * pacing_us; at most one of them, more than 0. */
static int sc_loop_pacing(sc_ctx *c, const yaml_node_t *n, sc_step *st)
{
    yaml_node_t *pn = sc_get(c, n, "pacing", NULL), *rn = sc_get(c, n, "rate", NULL);
    if (pn && rn)
        return sc_fail(c, rn, "pacing: 2s and rate: 0.5/s say the same; keep one",
                       "a loop takes pacing or rate, not both");
    if (pn) {
        uint64_t ms;
        if (sc_duration(c, pn, "the loop's pacing (each pass lasts at least this long)", true, &ms))
            return -1;
        st->u.loop.pacing_us = ms * 1000u;
    } else if (rn) {
        double r;
        if (sc_rate(c, rn, "the loop's rate (passes per second, per user)", &r))
            return -1;
        if (!(r > 0))
            return sc_fail(c, rn, "leave rate out for no pacing", "the loop's rate must be "
                           "more than 0");
        double us = 1e6 / r;
        st->u.loop.pacing_us = us < 1 ? 1 : (uint64_t)(us + 0.5);
    }
    return 0;
}

static int sc_loop(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    char fb[80];
    if (sc_want_map(c, n, "a loop") ||
        sc_check_keys(c, n, "the loop", sc_loop_keys, SC_NKEYS(sc_loop_keys)))
        return -1;
    st->u.loop.count = -1;
    yaml_node_t *v = sc_get(c, n, "count", NULL);
    if (v) {
        if (sc_is_scalar(v) && !strcmp(sc_sval(v), "forever")) {
            st->u.loop.count = -1;
        } else {
            char *end;
            const char *s = sc_is_scalar(v) ? sc_sval(v) : "";
            errno = 0;
            long long cnt = strtoll(s, &end, 10);
            if (!*s || *end || errno || cnt < 1 || isspace((unsigned char)*s))
                return sc_fail(c, v, "write a number such as 3, or forever (the default: loop until the run ends)",
                               "loop count must be a whole number of at least 1 or 'forever', "
                               "found %s", sc_found(v, fb, sizeof fb));
            st->u.loop.count = cnt;
        }
    }
    if (st->u.loop.count < 0 && c->endless_msg)
        return sc_fail(c, v ? v : n, c->endless_hint, "%s", c->endless_msg);
    if (sc_loop_pacing(c, n, st))
        return -1;
    yaml_node_t *s = sc_need(c, n, "steps", "the loop", "for example: loop: { count: 3, steps: [ ... ] }");
    return !s ? -1 : sc_steps(c, s, "the loop's steps", &st->u.loop.steps, &st->u.loop.nsteps, depth + 1);
}

static const sc_key sc_group_keys[] = {
    { "name", SC_K_TEXT, offsetof(sc_step, u.group.name), 0, 0, "the group's name", true,
      "for example: group: { name: checkout, steps: [ ... ] }" },
    { "steps", SC_K_OWN },
};

static int sc_group(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    const sc_key *k = sc_group_keys;
    size_t nk = SC_NKEYS(sc_group_keys);
    if (sc_want_map(c, n, "a group") || sc_check_keys(c, n, "the group", k, nk) ||
        sc_read(c, n, "the group", k, nk, "name", st))
        return -1;
    yaml_node_t *s = sc_need(c, n, "steps", "the group", NULL);
    return !s ? -1 : sc_steps(c, s, "the group's steps", &st->u.group.steps, &st->u.group.nsteps, depth + 1);
}

/* Keys next to a step's kind (common/scenario_flow.c): any step takes tags, http and ws
 * steps on_failure, an if step then and else. */
static const char *const sc_step_mods[] = { "tags", "on_failure", "then", "else" };

static bool sc_is_mod(const yaml_node_t *k)
{
    return sc_word_index(k, sc_step_mods, 4) >= 0;
}

static int sc_parse_step(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth)
{
    static const char *const kinds[] = { "http", "think", "loop", "group", "ws", "pick", "if" };
    enum { NKINDS = 7 };
    char fb[80], hint[160];
    const char *eg = "a step is one of: - http: {...}, - ws: {...}, - think: 1s, - loop: {...}, "
                     "- group: {...}, - pick: [...], - if: {...}";
    if (sc_tick(c, n))
        return -1;
    if (!n || n->type != YAML_MAPPING_NODE || SC_NPAIRS(n) == 0)
        return sc_fail(c, n, eg, "expected a step, found %s", sc_found(n, fb, sizeof fb));
    /* the kind: the first key that is not a modifier */
    yaml_node_pair_t *kp = NULL;
    SC_FOREACH_PAIR(p, n) {
        if (!sc_is_mod(sc_node(c, p->key))) {
            kp = p;
            break;
        }
    }
    if (!kp)
        return sc_fail(c, sc_node(c, n->data.mapping.pairs.start[0].key), eg,
                       "%s goes next to a step's kind, but this step has none",
                       sc_found(sc_node(c, n->data.mapping.pairs.start[0].key), fb, sizeof fb));
    yaml_node_t *k = sc_node(c, kp->key);
    yaml_node_t *v = sc_node(c, kp->value);
    st->line = (int)k->start_mark.line + 1;
    st->col = (int)k->start_mark.column + 1;
    int kind = sc_word_index(k, kinds, NKINDS);
    if (kind < 0)
        return sc_fail(c, k, sc_did_you_mean(hint, sizeof hint, sc_is_scalar(k) ? sc_sval(k) : NULL,
                                             kinds, NKINDS, eg),
                       "unknown step kind %s (known: http, think, loop, group, ws, pick, if)",
                       sc_found(k, fb, sizeof fb));
    SC_FOREACH_PAIR(p, n) {
        /* a key some step takes (http, loop, group or ws) was meant to be indented */
        yaml_node_t *k2 = sc_node(c, p->key);
        if (p == kp)
            continue;
        const char *key2 = sc_is_scalar(k2) ? sc_sval(k2) : NULL;
        int mod = sc_word_index(k2, sc_step_mods, 4);
        if (mod == 1 && kind != 0 && kind != 4)
            return sc_fail(c, k2, "on_failure goes with http and ws steps (or in defaults)",
                           "a '%s' step takes no on_failure", sc_sval(k));
        if (mod >= 2 && kind != 6)
            return sc_fail(c, k2, "then: and else: go next to an if: step",
                           "a '%s' step takes no %s", sc_sval(k), key2);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; mod >= 0 && q < p; q++)
            if (sc_word_index(sc_node(c, q->key), sc_step_mods + mod, 1) == 0)
                return sc_fail(c, k2, NULL, "'%s' appears twice in this step", key2);
        if (mod >= 0)
            continue;
        bool field = key2 && (sc_key_index(sc_http_keys, SC_NKEYS(sc_http_keys), key2) >= 0 ||
                              sc_key_index(sc_loop_keys, SC_NKEYS(sc_loop_keys), key2) >= 0 ||
                              sc_key_index(sc_group_keys, SC_NKEYS(sc_group_keys), key2) >= 0 ||
                              sc_key_index(sc_ws_keys, sc_ws_nkeys, key2) >= 0);
        snprintf(hint, sizeof hint, field ? "indent it under '%s:' if it belongs to that step"
                                          : "start another step with '- '", sc_sval(k));
        return sc_fail(c, k2, hint, "a step has exactly one kind, but this '%s' step also has "
                       "%s", sc_sval(k), sc_found(k2, fb, sizeof fb));
    }
    yaml_node_t *m;
    if ((m = sc_get(c, n, "tags", NULL)) && sc_tags_read(c, m, &st->tags))
        return -1;
    if (kind == 0 || kind == 4) {
        st->on_failure = c->sc->default_on_failure;
        if ((m = sc_get(c, n, "on_failure", NULL)) && sc_on_failure_read(c, m, &st->on_failure))
            return -1;
    }
    switch (kind) {
    case 0:
        st->kind = STEP_HTTP;
        return sc_http_step(c, v, &st->u.http);
    case 1:
        st->kind = STEP_THINK;
        return sc_think(c, v, st);
    case 2:
        st->kind = STEP_LOOP;
        return sc_loop(c, v, st, depth);
    case 3:
        st->kind = STEP_GROUP;
        return sc_group(c, v, st, depth);
    case 5:
        st->kind = STEP_PICK;
        return sc_pick(c, v, st, depth);
    case 6:
        st->kind = STEP_IF;
        return sc_if(c, n, v, st, depth);
    default:
        st->kind = STEP_WS;
        if (sc_ws_step(c, v, &st->u.ws))
            return -1;
        /* Walking the flow in order (loops and groups included, depth first): a ws step
         * other than connect has no connection to use unless a connect came earlier. */
        if (st->u.ws.kind == SC_WS_CONNECT)
            c->ws_open = true;
        else if (!c->ws_open)
            return sc_fail(c, k, "open the connection first: - ws: { connect: /ws/path }",
                           "ws %s before any ws connect in this flow",
                           sc_ws_kinds[st->u.ws.kind]);
        return 0;
    }
}

int sc_steps(sc_ctx *c, const yaml_node_t *seq, const char *what, sc_step **out,
                    int *nout, int depth)
{
    if (depth > SC_MAX_STEP_DEPTH)
        return sc_fail(c, seq, NULL, "steps are nested more than %d levels deep", SC_MAX_STEP_DEPTH);
    if (sc_want_list(c, seq, what, "for example:\n      - http: { url: /api/health }\n      - think: 1s"))
        return -1;
    int n = SC_NITEMS(seq);
    if (!(*out = calloc((size_t)n, sizeof **out)))
        return sc_fail(c, seq, NULL, "out of memory");
    *nout = n;
    for (int i = 0; i < n; i++)
        if (sc_parse_step(c, sc_node(c, seq->data.sequence.items.start[i]), &(*out)[i], depth))
            return -1;
    return 0;
}

/* ---- freeing ----------------------------------------------------------------------- */

void sc_captures_free(sc_capture *cp, int n)
{
    for (int i = 0; i < n; i++) {
        free(cp[i].var);
        free(cp[i].expr);
        jpath_free(cp[i].path);
        capre_free(cp[i].re);
    }
    free(cp);
}

static void sc_http_fini(sc_http *h)
{
    free(h->name);
    free(h->method);
    tmpl_free(h->url);
    sc_headers_free(h->headers, h->nheaders);
    tmpl_free(h->body);
    jpath_free(h->expect.json_path);
    free(h->expect.json_path_text);
    free(h->expect.json_equals);
    free(h->expect.contains);
    sc_captures_free(h->captures, h->ncaptures);
}

void sc_steps_free_one(sc_step *s)
{
    sc_tags_free(&s->tags);
    switch (s->kind) {
    case STEP_HTTP:  sc_http_fini(&s->u.http); break;
    case STEP_WS:    sc_ws_fini(&s->u.ws); break;
    case STEP_THINK: break;
    case STEP_LOOP:  sc_steps_free(s->u.loop.steps, s->u.loop.nsteps); break;
    case STEP_GROUP:
        free(s->u.group.name);
        sc_steps_free(s->u.group.steps, s->u.group.nsteps);
        break;
    case STEP_PICK: case STEP_IF:
        sc_flow_fini(s);
        break;
    }
}

void sc_steps_free(sc_step *s, int n)
{
    for (int i = 0; s && i < n; i++)
        sc_steps_free_one(&s[i]);
    free(s);
}
