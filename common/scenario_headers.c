/* Headers: the parser's reading of header mappings (defaults.headers, an http step's,
 * a ws connect's; contract: common/scenario_int.h) and the engine's rendering of them
 * (sc_render_headers, contract: common/scenario.h), side by side so the form a header
 * takes when parsed and when sent is decided in one file.
 *
 * Threads: the readers run on the parsing thread; sc_render_headers on an engine thread,
 * over a scenario that is immutable by then. Rendering grows only the caller's buffer.
 *
 * Decisions the design leaves open, written down here:
 * - A header name is an HTTP token; a value is one line (no CR or LF) and a template.
 * - Names are compared ignoring case: a step's header replaces a default one of the same
 *   name, and a step setting one name twice is an error. Default headers come first. */
#include "common/scenario_headers.h"
#include "common/scenario_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

bool sc_header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

/* Appends header name: value (compiled from node v) to *arr. */
static int sc_header_add(sc_ctx *c, sc_header **arr, int *n, const yaml_node_t *kn,
                         const yaml_node_t *v, const char *literal)
{
    char fb[80];
    sc_header *p = realloc(*arr, (size_t)(*n + 1) * sizeof **arr);
    if (!p)
        return sc_fail(c, kn, NULL, "out of memory");
    *arr = p;
    sc_header *h = &p[*n];
    memset(h, 0, sizeof *h);
    (*n)++;
    const char *name = sc_sval(kn);
    if (!sc_header_name_ok(name))
        return sc_fail(c, kn, NULL, "'%s' is not a valid HTTP header name (letters, digits "
                       "and - only, no spaces or colons)", name);
    if (!(h->name = strdup(name)))
        return sc_fail(c, kn, NULL, "out of memory");
    const char *text = literal;
    if (!text) {
        if (!sc_is_scalar(v))
            return sc_fail(c, v, NULL, "expected text for header '%s', found %s", name,
                           sc_found(v, fb, sizeof fb));
        text = sc_sval(v);
        if (strpbrk(text, "\r\n"))
            return sc_fail(c, v, NULL, "header '%s' contains a line break; header values "
                           "are one line", name);
    }
    char what[160];
    snprintf(what, sizeof what, "header '%s'", name);
    if (!(h->value = sc_tmpl(c, v ? v : kn, text, strlen(text), TMPL_RAW, what)))
        return -1;
    return 0;
}

/* Header mapping -> headers; with defaults, default headers the step does not set
 * (names compared case-insensitively) come first. */
int sc_headers(sc_ctx *c, const yaml_node_t *map, const yaml_node_t *defaults,
                      sc_header **out, int *nout)
{
    if (map && map->type != YAML_MAPPING_NODE && !sc_is_null(map))
        return sc_want_map(c, map, "'headers'");
    if (map && map->type != YAML_MAPPING_NODE)
        map = NULL;
    if (defaults) {
        SC_FOREACH_PAIR(d, defaults) {
            yaml_node_t *dk = sc_node(c, d->key);
            bool overridden = false;
            if (map) {
                SC_FOREACH_PAIR(p, map) {
                    yaml_node_t *k = sc_node(c, p->key);
                    if (sc_is_scalar(k) && sc_is_scalar(dk) && !strcasecmp(sc_sval(k), sc_sval(dk)))
                        overridden = true;
                }
            }
            if (!overridden && sc_header_add(c, out, nout, dk, sc_node(c, d->value), NULL))
                return -1;
        }
    }
    if (map) {
        char fb[80];
        SC_FOREACH_PAIR(p, map) {
            yaml_node_t *k = sc_node(c, p->key);
            if (sc_tick(c, k))
                return -1;
            if (!sc_is_scalar(k))
                return sc_fail(c, k, NULL, "header names must be text, found %s",
                               sc_found(k, fb, sizeof fb));
            for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
                yaml_node_t *k2 = sc_node(c, q->key);
                if (sc_is_scalar(k2) && !strcasecmp(sc_sval(k2), sc_sval(k)))
                    return sc_fail(c, k, NULL, "header '%s' is set twice (names ignore case)",
                                   sc_sval(k));
            }
            if (sc_header_add(c, out, nout, k, sc_node(c, p->value), NULL))
                return -1;
        }
    }
    return 0;
}

void sc_headers_free(sc_header *h, int n)
{
    for (int i = 0; i < n; i++) {
        free(h[i].name);
        tmpl_free(h[i].value);
    }
    free(h);
}

/* ---- rendering (engine thread) ------------------------------------------------------- */

int sc_render_headers(const sc_header *h, int n, const char *extra, const tmpl_ctx *c,
                      char **buf, size_t *cap, const char **ptrs, int max)
{
    size_t off = 0, offs[max > 0 ? max : 1];
    int nl = 0, room = extra ? max - 1 : max;
    for (int i = 0; i < n && nl < room; i++) {
        size_t kl = strlen(h[i].name);
        if (util_reserve(buf, cap, off + kl + 3) != 0) return -1;
        memcpy(*buf + off, h[i].name, kl);
        memcpy(*buf + off + kl, ": ", 2);
        long vl = tmpl_render_at(h[i].value, c, buf, cap, off + kl + 2);
        if (vl < 0) return -1;
        offs[nl++] = off;
        off += kl + 2 + (size_t)vl + 1;
    }
    if (extra && nl < max) {
        size_t el = strlen(extra) + 1;
        if (util_reserve(buf, cap, off + el) != 0) return -1;
        memcpy(*buf + off, extra, el);
        offs[nl++] = off;
    }
    for (int i = 0; i < nl; i++) ptrs[i] = *buf + offs[i];   /* after the last growth */
    return nl;
}
