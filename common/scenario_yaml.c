/* The scenario parser's YAML layer (contract: common/scenario_int.h): errors with their
 * place, the walk budget, typed readers of scalars, key checks, template compiles that
 * point into a scalar, --set overrides applied to the tree, and libyaml's own errors.
 *
 * libyaml shares aliased nodes and lets an alias refer to an enclosing anchor (a cycle),
 * so every walk is bounded both in depth (sc_depth_scan before the load, SC_MAX_STEP_DEPTH
 * and SC_MAX_JSON_DEPTH after) and in total nodes visited (sc_tick).
 *
 * Each mapping is checked against its table of known keys: an unknown key is an error
 * with the nearest known key as hint; duplicate keys are errors too (libyaml keeps both).
 *
 * Decisions the design leaves open, written down here:
 * - --set errors and errors about values set by --set have no line (line 0): the message
 *   starts with the override instead.
 * - A --set path names an existing scalar or a new key under an existing mapping; list
 *   entries are numbered from 0. */
#include "common/scenario_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/nearest.h"
#include "common/units.h"

static int sc_set_of(const sc_ctx *c, const yaml_node_t *n)
{
    int idx = (int)(n - c->doc.nodes.start) + 1;
    for (int i = 0; i < c->nsetnodes; i++)
        if (c->setnodes[i].node == idx)
            return c->setnodes[i].set;
    return -1;
}

/* Records the first error only. n gives the place (NULL: none); coladd moves the column
 * right, to point inside a scalar. A node made by --set has no place in the file: the
 * message names the override instead. Always returns -1 so callers can `return sc_fail`. */
static int sc_vfail(sc_ctx *c, const yaml_node_t *n, size_t coladd, const char *hint,
                    const char *fmt, va_list ap)
{
    sc_error *e = c->err;
    if (e->msg[0])
        return -1;
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int si = n ? sc_set_of(c, n) : -1;
    if (si >= 0) {
        e->line = e->col = 0;
        snprintf(e->msg, sizeof e->msg, "--set %.50s=%.40s: %s", c->sets[si].key,
                 c->sets[si].value ? c->sets[si].value : "", msg);
    } else {
        if (n) {
            e->line = (int)n->start_mark.line + 1;
            e->col = (int)(n->start_mark.column + coladd) + 1;
        }
        snprintf(e->msg, sizeof e->msg, "%s", msg);
    }
    snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "");
    return -1;
}

int sc_fail(sc_ctx *c, const yaml_node_t *n, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_vfail(c, n, 0, hint, fmt, ap);
    va_end(ap);
    return -1;
}

int sc_fail_at(sc_ctx *c, const yaml_node_t *n, size_t coladd, const char *hint,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_vfail(c, n, coladd, hint, fmt, ap);
    va_end(ap);
    return -1;
}

/* Counts visited nodes; -1 once the budget is spent (aliases can multiply a small
 * file into an enormous walk). */
int sc_tick(sc_ctx *c, const yaml_node_t *n)
{
    if (++c->work <= SC_MAX_WORK)
        return 0;
    return sc_fail(c, n, "anchors and aliases (&a, *a) can multiply a small file; use fewer",
                   "the scenario is too large to process (more than %u nodes visited)",
                   SC_MAX_WORK);
}

/* Describes what was found, for "expected X, found Y". */
const char *sc_found(const yaml_node_t *n, char *buf, size_t cap)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case YAML_MAPPING_NODE:  return "a mapping (key: value pairs)";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_SCALAR_NODE:
        if (sc_is_null(n))
            return "nothing";
        if (strlen(sc_sval(n)) > 60)
            snprintf(buf, cap, "'%.57s...'", sc_sval(n));
        else
            snprintf(buf, cap, "'%s'", sc_sval(n));
        return buf;
    default:                 return "nothing";
    }
}

/* Value of key in map (NULL when absent); *keyn gets the key node when asked. */
yaml_node_t *sc_get(sc_ctx *c, const yaml_node_t *map, const char *key, yaml_node_t **keyn)
{
    SC_FOREACH_PAIR(p, map) {
        yaml_node_t *k = sc_node(c, p->key);
        if (sc_is_scalar(k) && !strcmp(sc_sval(k), key)) {
            if (keyn)
                *keyn = k;
            return sc_node(c, p->value);
        }
    }
    return NULL;
}

static void sc_join(char *buf, size_t cap, const char *const *words, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", words[i]);
}

int sc_word_index(const yaml_node_t *n, const char *const *words, size_t nw)
{
    for (size_t i = 0; sc_is_scalar(n) && i < nw; i++)
        if (!strcmp(sc_sval(n), words[i]))
            return (int)i;
    return -1;
}

const char *sc_did_you_mean(char *buf, size_t cap, const char *word, const char *const *words,
                            size_t nw, const char *fallback)
{
    const char *near = word ? nearest_name(word, words, nw) : NULL;
    if (!near)
        return fallback;
    snprintf(buf, cap, "did you mean '%s'?", near);
    return buf;
}

/* Checks a mapping's keys: each must be text, known (else the nearest known key is the
 * hint) and appear once. `where` names the mapping in messages ("the http step"). */
static int sc_keys(sc_ctx *c, const yaml_node_t *map, const char *where,
                   const char *const *known, size_t nknown)
{
    char list[256], hint[128], fb[80];
    SC_FOREACH_PAIR(p, map) {
        yaml_node_t *k = sc_node(c, p->key);
        if (sc_tick(c, k))
            return -1;
        if (!sc_is_scalar(k))
            return sc_fail(c, k, NULL, "keys in %s must be plain words, found %s", where,
                           sc_found(k, fb, sizeof fb));
        const char *name = sc_sval(k);
        size_t i;
        for (i = 0; i < nknown; i++)
            if (!strcmp(name, known[i]))
                break;
        if (i == nknown) {
            sc_join(list, sizeof list, known, nknown);
            return sc_fail(c, k, sc_did_you_mean(hint, sizeof hint, name, known, nknown, NULL),
                           "unknown key '%s' in %s (known keys: %s)", name, where, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = sc_node(c, q->key);
            if (sc_tick(c, k2))
                return -1;
            if (sc_is_scalar(k2) && !strcmp(sc_sval(k2), name))
                return sc_fail(c, k, "remove one of them", "key '%s' appears twice in %s "
                               "(first at line %d)", name, where, (int)k2->start_mark.line + 1);
        }
    }
    return 0;
}

int sc_key_index(const sc_key *tab, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tab[i].name, name))
            return (int)i;
    return -1;
}

int sc_check_keys(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab,
                  size_t n)
{
    const char *names[SC_MAX_KEYS];
    for (size_t i = 0; i < n && i < SC_MAX_KEYS; i++)
        names[i] = tab[i].name;
    return sc_keys(c, map, where, names, n < SC_MAX_KEYS ? n : SC_MAX_KEYS);
}

/* "closed or open", "sequential, random or unique". */
static void sc_join_or(char *buf, size_t cap, const char *const *words, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 i == 0 ? "" : i + 1 == n ? " or " : ", ", words[i]);
}

int sc_read_row(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *row,
                void *obj)
{
    char fb[80], hint[128], what[160], list[160];
    yaml_node_t *v = row->required ? sc_need(c, map, row->name, where, row->hint)
                                   : sc_get(c, map, row->name, NULL);
    if (!v)
        return row->required ? -1 : 0;
    char *field = (char *)obj + row->off;
    long long ll;
    int idx;
    switch (row->type) {
    case SC_K_OWN:
        return 0;
    case SC_K_TEXT:
        return sc_text(c, v, row->what, (char **)(void *)field);
    case SC_K_DURATION:
        return sc_duration(c, v, row->what, row->lo > 0, (uint64_t *)(void *)field);
    case SC_K_U32:
        if (sc_int(c, v, row->what, row->lo, row->hi, &ll))
            return -1;
        *(uint32_t *)(void *)field = (uint32_t)ll;
        return 0;
    case SC_K_BOOL:
        return sc_bool(c, v, row->what, (bool *)(void *)field);
    case SC_K_RATE:
        return sc_rate(c, v, row->what, (double *)(void *)field);
    case SC_K_ENUM:
        if ((idx = sc_word_index(v, row->words, row->nwords)) >= 0) {
            *(int *)(void *)field = idx;
            return 0;
        }
        if (row->what)
            snprintf(what, sizeof what, "%s", row->what);
        else
            snprintf(what, sizeof what, "%s of %s", row->name, where);
        sc_join_or(list, sizeof list, row->words, row->nwords);
        return sc_fail(c, v, sc_did_you_mean(hint, sizeof hint, sc_is_scalar(v) ? sc_sval(v) : NULL,
                                             row->words, row->nwords, NULL),
                       "%s must be %s, found %s", what, list, sc_found(v, fb, sizeof fb));
    }
    return 0;
}

int sc_read(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab, size_t n,
            const char *key, void *obj)
{
    int i = sc_key_index(tab, n, key);
    if (i >= 0)
        return sc_read_row(c, map, where, &tab[i], obj);
    return sc_fail(c, map, NULL, "internal error: no key '%s' in the table of %s", key, where);
}

int sc_read_all(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab,
                size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++)
        if (sc_read_row(c, map, where, &tab[i], obj))
            return -1;
    return 0;
}

int sc_want_map(sc_ctx *c, const yaml_node_t *n, const char *what)
{
    char fb[80];
    if (n && n->type == YAML_MAPPING_NODE)
        return 0;
    return sc_fail(c, n, NULL, "expected a mapping (key: value pairs) for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

/* A non-empty list. */
int sc_want_list(sc_ctx *c, const yaml_node_t *n, const char *what, const char *eg)
{
    char fb[80];
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return sc_fail(c, n, eg, "expected a list for %s, found %s", what,
                       sc_found(n, fb, sizeof fb));
    if (SC_NITEMS(n) == 0)
        return sc_fail(c, n, eg, "%s is empty; it needs at least one entry", what);
    return 0;
}

/* Required key: its value, or an error pointing at the mapping that lacks it. */
yaml_node_t *sc_need(sc_ctx *c, const yaml_node_t *map, const char *key,
                            const char *where, const char *hint)
{
    yaml_node_t *v = sc_get(c, map, key, NULL);
    if (!v)
        sc_fail(c, map, hint, "%s is missing '%s'", where, key);
    return v;
}

/* Non-empty text; *out is a copy the caller owns. */
int sc_text(sc_ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    char fb[80];
    if (!sc_is_scalar(n) || sc_is_null(n) || !sc_sval(n)[0])
        return sc_fail(c, n, NULL, "expected text for %s, found %s", what,
                       sc_found(n, fb, sizeof fb));
    if (!(*out = strdup(sc_sval(n))))
        return sc_fail(c, n, NULL, "out of memory");
    return 0;
}

int sc_duration(sc_ctx *c, const yaml_node_t *n, const char *what, bool positive,
                       uint64_t *out)
{
    char fb[80];
    if (!sc_is_scalar(n) || units_duration_ms(sc_sval(n), out) != 0)
        return sc_fail(c, n, "units: us, ms, s, m, h; a bare number is seconds",
                       "expected a duration such as 500ms, 10s, 5m or 1h30m for %s, found %s",
                       what, sc_found(n, fb, sizeof fb));
    if (positive && *out == 0)
        return sc_fail(c, n, NULL, "%s must be longer than 0, found %s", what,
                       sc_found(n, fb, sizeof fb));
    return 0;
}

/* Whole number within [lo, hi]; says which bound was crossed. */
int sc_int(sc_ctx *c, const yaml_node_t *n, const char *what, long long lo,
                  long long hi, long long *out)
{
    char fb[80];
    if (sc_is_scalar(n)) {
        const char *s = sc_sval(n);
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && !isspace((unsigned char)*s) && errno == 0) {
            if (v < lo && lo == 0)
                return sc_fail(c, n, NULL, "%s cannot be negative, found %lld", what, v);
            if (v < lo)
                return sc_fail(c, n, NULL, "%s must be at least %lld, found %lld", what, lo, v);
            if (v > hi)
                return sc_fail(c, n, NULL, "%s must be at most %lld, found %lld", what, hi, v);
            *out = v;
            return 0;
        }
    }
    return sc_fail(c, n, NULL, "expected a whole number for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

int sc_bool(sc_ctx *c, const yaml_node_t *n, const char *what, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
    char fb[80];
    if (sc_is_scalar(n)) {
        for (int i = 0; i < 3; i++) {
            if (!strcasecmp(sc_sval(n), yes[i]))
                return *out = true, 0;
            if (!strcasecmp(sc_sval(n), no[i]))
                return *out = false, 0;
        }
    }
    return sc_fail(c, n, NULL, "expected true or false for %s, found %s", what,
                   sc_found(n, fb, sizeof fb));
}

/* A rate: a number per second, or with its unit (units_rate), within 0..SC_MAX_RATE. */
int sc_rate(sc_ctx *c, const yaml_node_t *n, const char *what, double *out)
{
    char fb[80];
    double r;
    if (sc_is_scalar(n) && sc_sval(n)[strspn(sc_sval(n), " \t")] == '-')
        return sc_fail(c, n, NULL, "%s cannot be negative, found %s", what,
                       sc_found(n, fb, sizeof fb));
    if (!sc_is_scalar(n) || units_rate(sc_sval(n), &r) != 0)
        return sc_fail(c, n, "a bare number is per second; 50/s, 3000/m and 100/h name the unit",
                       "expected a rate such as 50, 50/s, 3000/m or 100/h for %s, found %s",
                       what, sc_found(n, fb, sizeof fb));
    if (r > SC_MAX_RATE)
        return sc_fail(c, n, "spread the load over several runs",
                       "%s must be at most %.0f per second, found %s", what, SC_MAX_RATE,
                       sc_found(n, fb, sizeof fb));
    *out = r;
    return 0;
}

bool sc_is_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* ---- templates --------------------------------------------------------------------- */

/* Column offset inside scalar n of byte off of its value, when the value is written on
 * one line as is (plain) or between quotes; 0 (the scalar's start) otherwise. Escapes
 * inside double quotes can shift it a little: still on the right scalar. */
size_t sc_scalar_col(const yaml_node_t *n, size_t off)
{
    if (!sc_is_scalar(n) || n->start_mark.line != n->end_mark.line)
        return 0;
    switch (n->data.scalar.style) {
    case YAML_PLAIN_SCALAR_STYLE:         return off;
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return off + 1;
    default:                              return 0;
    }
}

/* Where a regex error points: at the character PCRE2 names, or at the pattern's start
 * when the problem is its end (something left open). */
size_t sc_regex_col(const yaml_node_t *n, const char *re, size_t off)
{
    return off < strlen(re) ? sc_scalar_col(n, off) : 0;
}

/* Compiles text[len] (from node n) against the scenario's names; an error points into
 * the scalar where tmpl_compile found it. */
tmpl *sc_tmpl(sc_ctx *c, const yaml_node_t *n, const char *text, size_t len,
                     tmpl_escape esc, const char *what)
{
    char msg[400], hint[200];
    size_t off = 0;
    msg[0] = hint[0] = '\0';
    tmpl *t = tmpl_compile(text, len, esc, &c->sc->syms, msg, sizeof msg, hint, sizeof hint, &off);
    if (!t)
        sc_fail_at(c, n, sc_scalar_col(n, off), hint[0] ? hint : NULL, "in %s: %s", what,
                   msg[0] ? msg : "invalid template");
    return t;
}

/* ---- --set overrides --------------------------------------------------------------- */

static int sc_note_setnode(sc_ctx *c, int node, int set)
{
    if (c->nsetnodes == c->capsetnodes) {
        int cap = c->capsetnodes ? c->capsetnodes * 2 : 8;
        sc_setnode *p = realloc(c->setnodes, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        c->setnodes = p;
        c->capsetnodes = cap;
    }
    c->setnodes[c->nsetnodes++] = (sc_setnode){ node, set };
    return 0;
}

/* Applies sets[si] to the tree: walks the dotted path through mappings (by key) and
 * lists (by 0-based index), then replaces the scalar found there, or adds the last key
 * to the mapping reached. New nodes are appended to the document (libyaml has no way to
 * change a node's text in place), so node pointers are fetched again after each add. */
int sc_apply_set(sc_ctx *c, int si)
{
    const sc_set *s = &c->sets[si];
    char path[512];
    sc_error *e = c->err;
    if (!s->key || !s->key[0] || strlen(s->key) >= sizeof path) {
        snprintf(e->msg, sizeof e->msg, "--set needs KEY=VALUE with a key such as load.graceful_stop");
        return -1;
    }
    snprintf(path, sizeof path, "%s", s->key);
    const char *value = s->value ? s->value : "";
    int cur = 0;                           /* node index; the root is 1 */
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root)
        return -1;
    cur = (int)(root - c->doc.nodes.start) + 1;
    char *save = NULL, *comp = strtok_r(path, ".", &save);
    char where[160] = "the top level";
    while (comp) {
        char *next = strtok_r(NULL, ".", &save);
        yaml_node_t *n = sc_node(c, cur);
        if (n->type == YAML_MAPPING_NODE) {
            yaml_node_pair_t *hit = NULL;
            const char *keys[64];
            size_t nkeys = 0;
            SC_FOREACH_PAIR(p, n) {
                yaml_node_t *k = sc_node(c, p->key);
                if (!sc_is_scalar(k))
                    continue;
                if (!strcmp(sc_sval(k), comp))
                    hit = p;
                if (nkeys < 64)
                    keys[nkeys++] = sc_sval(k);
            }
            if (!hit && next) {
                snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: no key '%.100s' under %s",
                         s->key, value, comp, where);
                sc_did_you_mean(e->hint, sizeof e->hint, comp, keys, nkeys, NULL);
                return -1;
            }
            if (!hit) {                    /* new key in an existing mapping */
                int k = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)comp, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                int v = k ? yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                     YAML_PLAIN_SCALAR_STYLE) : 0;
                if (!k || !v || !yaml_document_append_mapping_pair(&c->doc, cur, k, v) ||
                    sc_note_setnode(c, k, si) || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                return 0;
            }
            if (!next) {                   /* replace an existing scalar */
                yaml_node_t *old = sc_node(c, hit->value);
                if (old->type != YAML_SCALAR_NODE) {
                    snprintf(e->msg, sizeof e->msg, "--set %s=%s: '%s' is %s; --set replaces "
                             "single values only", s->key, value, s->key,
                             old->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
                    snprintf(e->hint, sizeof e->hint, "name a value inside it, e.g. %s.<key>", s->key);
                    return -1;
                }
                ptrdiff_t at = hit - n->data.mapping.pairs.start;
                int v = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                if (!v || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                sc_node(c, cur)->data.mapping.pairs.start[at].value = v;
                return 0;
            }
            cur = hit->value;
        } else if (n->type == YAML_SEQUENCE_NODE) {
            char *end;
            errno = 0;
            long idx = strtol(comp, &end, 10);
            int nitems = SC_NITEMS(n);
            if (end == comp || *end || idx < 0 || errno || idx >= nitems) {
                snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: %s is a list of %d; '%.50s' is not "
                         "an index in it", s->key, value, where, nitems, comp);
                snprintf(e->hint, sizeof e->hint, "list entries are numbered from 0");
                return -1;
            }
            if (!next) {
                yaml_node_t *old = sc_node(c, n->data.sequence.items.start[idx]);
                if (old->type != YAML_SCALAR_NODE) {
                    snprintf(e->msg, sizeof e->msg, "--set %s=%s: entry %ld is not a single "
                             "value; name a key inside it", s->key, value, idx);
                    return -1;
                }
                int v = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value, -1,
                                                 YAML_PLAIN_SCALAR_STYLE);
                if (!v || sc_note_setnode(c, v, si)) {
                    snprintf(e->msg, sizeof e->msg, "out of memory");
                    return -1;
                }
                sc_node(c, cur)->data.sequence.items.start[idx] = v;
                return 0;
            }
            cur = n->data.sequence.items.start[idx];
        } else {
            snprintf(e->msg, sizeof e->msg, "--set %.100s=%.60s: %s is a single value; there is no "
                     "'%.50s' inside it", s->key, value, where, comp);
            return -1;
        }
        /* "where" names the path walked so far, for the next message. */
        snprintf(where, sizeof where, "'%.*s'", (int)(comp + strlen(comp) - path) > 150 ? 150
                 : (int)(comp + strlen(comp) - path), s->key);
        comp = next;
    }
    return 0;
}

/* Reports libyaml's own error with its place, and a hint for the common tab mistake. */
void sc_yaml_error(sc_ctx *c, const yaml_parser_t *p)
{
    sc_error *e = c->err;
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* a reader error has only a byte offset: count lines up to it */
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
            if (c->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else {
                m.column++;
            }
        }
    }
    e->line = (int)m.line + 1;
    e->col = (int)m.column + 1;
    if (p->context)
        snprintf(e->msg, sizeof e->msg, "invalid YAML: %s (%s, which started at line %d)",
                 p->problem ? p->problem : "syntax error", p->context,
                 (int)p->context_mark.line + 1);
    else
        snprintf(e->msg, sizeof e->msg, "invalid YAML: %s", p->problem ? p->problem : "syntax error");
    /* a tab on the line libyaml stopped at, up to where it stopped, is the likely cause */
    size_t at = p->error == YAML_READER_ERROR ? p->problem_offset : m.index;
    bool tab = false;
    for (size_t i = at < c->len ? at + 1 : c->len; !tab && i > 0 && c->text[i - 1] != '\n'; i--)
        tab = c->text[i - 1] == '\t';
    if (tab)
        snprintf(e->hint, sizeof e->hint, "YAML indents with spaces only; replace the tab "
                 "characters with spaces");
    else if (p->problem && strstr(p->problem, "mapping values are not allowed"))
        snprintf(e->hint, sizeof e->hint, "a value containing ': ' must be quoted, or an "
                 "indentation is off");
}

/* ---- nesting pre-scan ---------------------------------------------------------------- */

/* libyaml's loader (and its scanner, for flow collections) costs time quadratic in the
 * nesting depth (40,000 levels: seconds). Before loading, the text is streamed through
 * libyaml's event parser, which stops at the first collection deeper than
 * SC_MAX_YAML_DEPTH: flow [ { and block levels both open a collection event, so both
 * count, and the cost stays linear in the text up to that point. A syntax error stops
 * the scan and is left to the loader to report. 0, or -1 with the error at the
 * collection that went too deep. */
int sc_depth_scan(sc_ctx *c)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snprintf(c->err->msg, sizeof c->err->msg, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev))
            break;
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > SC_MAX_YAML_DEPTH) {
                c->err->line = (int)ev.start_mark.line + 1;
                c->err->col = (int)ev.start_mark.column + 1;
                snprintf(c->err->msg, sizeof c->err->msg, "the YAML is nested more than %d "
                         "levels deep", SC_MAX_YAML_DEPTH);
                snprintf(c->err->hint, sizeof c->err->hint, "a scenario needs far fewer "
                         "levels: is a bracket left open, or the indentation off?");
                rc = -1;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc != 0 || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}
