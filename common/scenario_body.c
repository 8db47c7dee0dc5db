/* Request and message bodies from YAML (contract: common/scenario_int.h): an http step's
 * json: and form: bodies and a ws send's json: message become one template each, built
 * as text with the {{ holes }} kept and compiled once.
 *
 * Decisions the design leaves open, written down here:
 * - json: bodies keep plain YAML scalars that read as JSON literals (1, -2.5e3, true,
 *   null, ~) unquoted; everything else, and any quoted scalar, becomes a JSON string.
 *   Every string (keys too) is also compiled on its own first, so an error in a hole
 *   points at its own scalar rather than into the assembled body.
 * - form: literal text is percent-encoded here; what a {{ hole }} renders is sent as is
 *   (templates have no URL-escaping mode).
 * - A body is refused beyond SC_MAX_BODY bytes or SC_MAX_JSON_DEPTH levels. */
#include "common/scenario_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable text buffer for bodies assembled from YAML. */
typedef struct sc_buf { char *p; size_t len, cap; bool oom; } sc_buf;

static void sb_put(sc_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sc_buf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Literal text as the inside of a JSON string. */
static void sb_json_lit(sc_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        switch (ch) {
        case '"':  sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        default:
            if (ch < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", ch);
                sb_puts(b, esc);
            } else {
                sb_put(b, (const char *)&s[i], 1);
            }
        }
    }
}

/* Literal text percent-encoded for application/x-www-form-urlencoded. */
static void sb_form_lit(sc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            sb_put(b, (const char *)&s[i], 1);
        } else if (ch == ' ') {
            sb_puts(b, "+");
        } else {
            char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            sb_put(b, e, 3);
        }
    }
}

/* Appends s[n], passing literal text through lit() and copying {{ ... }} holes as they
 * are (they stay template expressions; an unclosed one runs to the end, and the
 * template compiler reports it). */
static void sb_put_holes(sc_buf *b, const char *s, size_t n,
                         void (*lit)(sc_buf *, const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        const char *open = memmem(s + i, n - i, "{{", 2);
        if (!open) {
            lit(b, s + i, n - i);
            return;
        }
        size_t o = (size_t)(open - s);
        lit(b, s + i, o - i);
        /* the hole ends at the first "}}" outside a quoted string ({{ '}}' }} is one hole) */
        size_t e = o + 2;
        char quote = 0;
        while (e < n && (quote || !(s[e] == '}' && e + 1 < n && s[e + 1] == '}'))) {
            if (quote && s[e] == quote)
                quote = 0;
            else if (!quote && (s[e] == '\'' || s[e] == '"'))
                quote = s[e];
            e++;
        }
        e = e < n ? e + 2 : n;
        sb_put(b, s + o, e - o);
        i = e;
    }
}

/* A plain scalar JSON reads as a literal: null, a boolean or a JSON number. Writes the
 * literal's JSON text, or returns false. */
static bool sc_json_literal(const yaml_node_t *n, const char **lit)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sc_sval(n);
    if (sc_is_null(n))
        return *lit = "null", true;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return *lit = "true", true;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return *lit = "false", true;
    /* JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p)) p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p)
        return false;
    return *lit = s, true;
}

/* Checks one string of a body on its own, so an error points at that scalar. */
static int sc_check_tmpl(sc_ctx *c, const yaml_node_t *n, tmpl_escape esc, const char *what)
{
    tmpl *t = sc_tmpl(c, n, sc_sval(n), strlen(sc_sval(n)), esc, what);
    if (!t)
        return -1;
    tmpl_free(t);
    return 0;
}

/* Serializes a YAML value as JSON text into b; strings keep their holes for a TMPL_JSON
 * compile. */
static int sc_json_value(sc_ctx *c, const yaml_node_t *n, sc_buf *b, int depth)
{
    char fb[80];
    if (sc_tick(c, n))
        return -1;
    if (depth > SC_MAX_JSON_DEPTH)
        return sc_fail(c, n, NULL, "json body nested more than %d levels deep", SC_MAX_JSON_DEPTH);
    if (b->len > SC_MAX_BODY)
        return sc_fail(c, n, NULL, "json body larger than %u bytes", SC_MAX_BODY);
    const char *lit;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (sc_json_literal(n, &lit)) {
            sb_puts(b, lit);
            return 0;
        }
        if (sc_check_tmpl(c, n, TMPL_JSON, "the json body"))
            return -1;
        sb_puts(b, "\"");
        sb_put_holes(b, sc_sval(n), strlen(sc_sval(n)), sb_json_lit);
        sb_puts(b, "\"");
        return 0;
    case YAML_SEQUENCE_NODE:
        sb_puts(b, "[");
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                sb_puts(b, ",");
            if (sc_json_value(c, sc_node(c, *it), b, depth + 1))
                return -1;
        }
        sb_puts(b, "]");
        return 0;
    case YAML_MAPPING_NODE:
        sb_puts(b, "{");
        SC_FOREACH_PAIR(p, n) {
            yaml_node_t *k = sc_node(c, p->key);
            if (!sc_is_scalar(k))
                return sc_fail(c, k, NULL, "keys in a json body must be text, found %s",
                               sc_found(k, fb, sizeof fb));
            if (p != n->data.mapping.pairs.start)
                sb_puts(b, ",");
            if (sc_check_tmpl(c, k, TMPL_JSON, "the json body"))
                return -1;
            sb_puts(b, "\"");
            sb_put_holes(b, sc_sval(k), strlen(sc_sval(k)), sb_json_lit);
            sb_puts(b, "\":");
            if (sc_json_value(c, sc_node(c, p->value), b, depth + 1))
                return -1;
        }
        sb_puts(b, "}");
        return 0;
    default:
        return sc_fail(c, n, NULL, "unexpected value in a json body");
    }
}

tmpl *sc_json_body(sc_ctx *c, const yaml_node_t *n, const char *what)
{
    sc_buf b = { 0 };
    tmpl *t = NULL;
    int rc = sc_json_value(c, n, &b, 0);
    if (rc == 0 && b.oom)
        rc = sc_fail(c, n, NULL, "out of memory");
    if (rc == 0)
        t = sc_tmpl(c, n, b.p ? b.p : "", b.len, TMPL_JSON, what);
    free(b.p);
    return t;
}

tmpl *sc_form_body(sc_ctx *c, const yaml_node_t *fn)
{
    char fb[80];
    if (sc_want_map(c, fn, "'form'"))
        return NULL;
    sc_buf b = { 0 };
    tmpl *t = NULL;
    int rc = 0;
    SC_FOREACH_PAIR(p, fn) {
        yaml_node_t *k = sc_node(c, p->key), *fv = sc_node(c, p->value);
        if (!sc_is_scalar(k) || !sc_is_scalar(fv)) {
            rc = sc_fail(c, sc_is_scalar(k) ? fv : k, NULL, "form fields are name: "
                         "value text, found %s", sc_found(sc_is_scalar(k) ? fv : k, fb, sizeof fb));
            break;
        }
        if (sc_tick(c, k) || sc_check_tmpl(c, k, TMPL_RAW, "a form field") ||
            sc_check_tmpl(c, fv, TMPL_RAW, "a form field")) {
            rc = -1;
            break;
        }
        if (p != fn->data.mapping.pairs.start)
            sb_puts(&b, "&");
        sb_put_holes(&b, sc_sval(k), strlen(sc_sval(k)), sb_form_lit);
        sb_puts(&b, "=");
        sb_put_holes(&b, sc_sval(fv), strlen(sc_sval(fv)), sb_form_lit);
    }
    if (rc == 0 && b.oom)
        rc = sc_fail(c, fn, NULL, "out of memory");
    if (rc == 0)
        t = sc_tmpl(c, fn, b.p ? b.p : "", b.len, TMPL_RAW, "the form body");
    free(b.p);
    return t;
}
