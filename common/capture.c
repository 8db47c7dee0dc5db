/* Captures: JSON path, header and regex extraction; see common/capture.h.
 *
 * Decisions the header leaves open, written down here:
 * - A path starts with "$". After "." a name runs to the next "." or "["; any other
 *   name (spaces, dots, brackets) is written quoted: ['a.b'] or ["a b"], where a
 *   backslash escapes the next character. Indexes are non-negative decimal integers;
 *   wildcards, slices, filters and ".." are refused with a message.
 * - Reals capture in their shortest form that reads back to the same double
 *   (19.99, not jansson's default 19.989999999999998); integers, booleans and null as
 *   jansson writes them; objects and arrays as compact JSON (jansson, JSON_COMPACT).
 * - Headers: in the last response of the block, the first line with the name wins
 *   (a repeated header such as Set-Cookie captures its first value). The value is
 *   trimmed of spaces, tabs and the line end. A response that lacks the header fails
 *   the capture even if an earlier (redirect) response had it.
 * - Regex: POSIX extended (glibc, so \w \s \b work), plus \d and \D outside bracket
 *   expressions, rewritten to [0-9] and [^0-9] because scenarios written for other
 *   tools use them and POSIX would silently read \d as "d". A group that exists but
 *   did not take part in the match captures the empty string. Matching is leftmost-
 *   longest: a lazy ".*?" behaves like ".*" (write [^"]* instead). */
#include "common/capture.h"
#include "common/jscan.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- JSON path ------------------------------------------------------------------ */

/* The path grammar and its compiled form are common/jscan.h's (one parser for both); a
 * jpath walks those steps over a jansson tree. */
struct jpath {
    jscan_path *p;
};

jpath *jpath_compile(const char *path, char *err, size_t errcap, size_t *err_off)
{
    jscan_path *jp = jscan_compile(path, err, errcap, err_off);
    if (jp == NULL)
        return NULL;
    jpath *p = malloc(sizeof *p);
    if (p == NULL) {
        jscan_free(jp);
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory");
        if (err_off != NULL)
            *err_off = 0;
        return NULL;
    }
    p->p = jp;
    return p;
}

void jpath_free(jpath *p)
{
    if (p == NULL)
        return;
    jscan_free(p->p);
    free(p);
}

json_t *jpath_get(const jpath *p, json_t *doc)
{
    if (p == NULL)
        return NULL;
    json_t *v = doc;
    size_t n = jscan_nsteps(p->p);
    for (size_t i = 0; v != NULL && i < n; i++) {
        size_t keylen, index;
        const char *key = jscan_step_at(p->p, i, &keylen, &index);
        if (key != NULL)
            v = json_is_object(v) ? json_object_getn(v, key, keylen) : NULL;
        else
            v = json_is_array(v) ? json_array_get(v, index) : NULL;
    }
    return v;
}

/* Shortest text of a real that reads back as the same double. */
static int jpath_real_text(const json_t *v, tmpl_val *out)
{
    double d = json_real_value(v);
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        size_t n = json_dumpb(v, buf, sizeof buf - 1,
                              JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(prec));
        if (n == 0 || n >= sizeof buf)
            return -1;
        buf[n] = '\0';
        if (prec == 17 || strtod(buf, NULL) == d)
            return tmpl_val_set(out, buf, n);
    }
    return -1;
}

int jpath_text(const json_t *v, tmpl_val *out)
{
    if (v == NULL || out == NULL)
        return -1;
    if (json_is_string(v))
        return tmpl_val_set(out, json_string_value(v), json_string_length(v));
    if (json_is_real(v))
        return jpath_real_text(v, out);
    /* Small values go through a stack buffer; large objects through json_dumps. */
    const size_t flags = JSON_ENCODE_ANY | JSON_COMPACT;
    char buf[1024];
    size_t n = json_dumpb(v, buf, sizeof buf, flags);
    if (n == 0)
        return -1;
    if (n <= sizeof buf)
        return tmpl_val_set(out, buf, n);
    char *s = json_dumps(v, flags);
    if (s == NULL)
        return -1;
    int rv = tmpl_val_set(out, s, strlen(s));
    free(s);
    return rv;
}

/* ---- headers ------------------------------------------------------------------- */

int capture_header(const char *hdrs, size_t len, const char *name, tmpl_val *out)
{
    if (hdrs == NULL || name == NULL || out == NULL)
        return -1;
    size_t nlen = strlen(name);
    const char *val = NULL;
    size_t vlen = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *line = hdrs + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        while (llen > 0 && (line[llen - 1] == '\r' || line[llen - 1] == '\n'))
            llen--;
        if (llen >= 5 && memcmp(line, "HTTP/", 5) == 0) {
            val = NULL;         /* a new response begins: forget the earlier one's */
            continue;
        }
        if (val != NULL)
            continue;           /* the first occurrence in this response is kept */
        const char *colon = memchr(line, ':', llen);
        if (colon == NULL)
            continue;
        size_t klen = (size_t)(colon - line);
        while (klen > 0 && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
            klen--;
        if (klen != nlen || strncasecmp(line, name, nlen) != 0)
            continue;
        const char *v = colon + 1, *end = line + llen;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        val = v;
        vlen = (size_t)(end - v);
    }
    if (val == NULL)
        return -1;
    return tmpl_val_set(out, val, vlen);
}

/* ---- regex --------------------------------------------------------------------- */

struct capre {
    regex_t re;
    bool    group;              /* capture group 1 rather than the whole match */
};

/* Copies an extended regex, rewriting \d and \D outside bracket expressions. Returns
 * a malloc'd string or NULL. */
static char *capre_rewrite(const char *re)
{
    size_t n = strlen(re);
    char *out = malloc(n * 4 + 1);     /* "\d" (2) -> "[^0-9]" (6): at most 3x */
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    while (i < n) {
        char c = re[i];
        if (c == '\\' && i + 1 < n) {
            if (re[i + 1] == 'd' || re[i + 1] == 'D') {
                const char *cls = re[i + 1] == 'd' ? "[0-9]" : "[^0-9]";
                memcpy(out + o, cls, strlen(cls));
                o += strlen(cls);
            } else {
                out[o++] = c;
                out[o++] = re[i + 1];
            }
            i += 2;
            continue;
        }
        if (c == '[') {
            /* Copy the whole bracket expression unchanged: a leading ']' (after an
             * optional '^') is literal, and [:class:], [.x.], [=x=] hold their own ']'. */
            size_t j = i + 1;
            if (j < n && re[j] == '^')
                j++;
            if (j < n && re[j] == ']')
                j++;
            while (j < n && re[j] != ']') {
                if (re[j] == '[' && j + 1 < n &&
                    (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
                    char kind = re[j + 1];
                    const char *close = NULL;
                    for (size_t k = j + 2; k + 1 < n; k++)
                        if (re[k] == kind && re[k + 1] == ']') {
                            close = re + k;
                            break;
                        }
                    if (close != NULL) {
                        j = (size_t)(close - re) + 2;
                        continue;
                    }
                }
                j++;
            }
            if (j < n)
                j++;            /* the closing ']'; unclosed: regcomp reports it */
            memcpy(out + o, re + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    return out;
}

capre *capre_compile(const char *re, char *err, size_t errcap)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    capre *r = calloc(1, sizeof *r);
    char *src = re != NULL ? capre_rewrite(re) : NULL;
    if (r == NULL || src == NULL) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, re == NULL ? "no regex" : "out of memory");
        free(r);
        free(src);
        return NULL;
    }
    int rc = regcomp(&r->re, src, REG_EXTENDED);
    free(src);
    if (rc != 0) {
        if (err != NULL && errcap > 0) {
            char msg[256];
            regerror(rc, &r->re, msg, sizeof msg);
            snprintf(err, errcap, "invalid regex: %s", msg);
        }
        free(r);
        return NULL;
    }
    r->group = r->re.re_nsub > 0;
    return r;
}

void capre_free(capre *r)
{
    if (r == NULL)
        return;
    regfree(&r->re);
    free(r);
}

int capre_match(const capre *r, const char *body, tmpl_val *out)
{
    if (r == NULL || body == NULL || out == NULL)
        return -1;
    regmatch_t m[2];
    if (regexec(&r->re, body, 2, m, 0) != 0)
        return -1;
    const regmatch_t *g = r->group ? &m[1] : &m[0];
    if (g->rm_so < 0)
        return tmpl_val_set(out, "", 0);
    return tmpl_val_set(out, body + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
}
