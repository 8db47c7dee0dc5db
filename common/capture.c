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
 * - Regex: see common/capture.h for the syntax (PCRE2 reading POSIX-style patterns)
 *   and its limits. A group that exists but did not take part in the match captures the
 *   empty string. A match that reaches a limit fails like a match that finds nothing.
 */
#include "common/capture.h"
#include "common/hdrblock.h"
#include "common/jscan.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
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

const struct jscan_path *jpath_scan(const jpath *p)
{
    return p != NULL ? p->p : NULL;
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
    const char *val = NULL;
    size_t vlen = 0, pos = 0;
    hdr_line l;
    while (hdr_next(hdrs, len, &pos, &l)) {
        if (l.status)
            val = NULL;         /* a new response begins: forget the earlier one's */
        else if (val == NULL && hdr_is(&l, name)) {
            val = l.value;      /* the first occurrence in this response is kept */
            vlen = l.value_len;
        }
    }
    if (val == NULL)
        return -1;
    return tmpl_val_set(out, val, vlen);
}

/* ---- regex --------------------------------------------------------------------- */

struct capre {
    pcre2_code          *code;
    pcre2_match_context *mctx;  /* the match limits; read-only while matching */
    bool                 group; /* capture group 1 rather than the whole match */
};

/* One match data block per thread, made at the thread's first match and reused by every
 * regex matched on that thread (pcre2_match only needs the first two pairs; since 10.41
 * the block also keeps the heap frames of the backtracking engine, so a steady state
 * allocates nothing). A thread-specific key frees it when the thread ends. */
static pthread_key_t  capre_md_key;
static pthread_once_t capre_md_once = PTHREAD_ONCE_INIT;
static bool           capre_md_ok;

static void capre_md_free(void *md) { pcre2_match_data_free(md); }
static void capre_md_init(void) { capre_md_ok = pthread_key_create(&capre_md_key, capre_md_free) == 0; }

static pcre2_match_data *capre_md(void)
{
    pthread_once(&capre_md_once, capre_md_init);
    if (!capre_md_ok)
        return NULL;
    pcre2_match_data *md = pthread_getspecific(capre_md_key);
    if (md == NULL) {
        md = pcre2_match_data_create(2, NULL);
        if (md != NULL && pthread_setspecific(capre_md_key, md) != 0) {
            pcre2_match_data_free(md);
            md = NULL;
        }
    }
    return md;
}

/* Copies a pattern written in POSIX style for PCRE2: inside a bracket expression a
 * backslash is literal in POSIX ("[\d]" is '\' or 'd') but an escape in PCRE2, so it is
 * doubled there. Everything else is passed on (PCRE2 reads \d \w \s \b itself). Returns
 * a malloc'd string or NULL; map[o] is the offset in re of output byte o (2n+1 entries),
 * so PCRE2's error offsets point into the pattern as written. */
typedef struct capre_rw { char *out; size_t *map; size_t o; } capre_rw;

static void capre_put(capre_rw *w, char c, size_t from)
{
    w->map[w->o] = from;
    w->out[w->o++] = c;
}

static char *capre_rewrite(const char *re, size_t n, size_t *map)
{
    capre_rw w = { malloc(n * 2 + 1), map, 0 };
    if (w.out == NULL)
        return NULL;
    size_t i = 0;
    while (i < n) {
        if (re[i] == '\\' && i + 1 < n) {
            capre_put(&w, re[i], i);
            capre_put(&w, re[i + 1], i + 1);
            i += 2;
            continue;
        }
        if (re[i] != '[') {
            capre_put(&w, re[i], i);
            i++;
            continue;
        }
        /* A bracket expression: a leading ']' (after an optional '^') is literal;
         * [:class:], [.x.] and [=x=] hold their own ']'. */
        capre_put(&w, re[i], i);
        i++;
        if (i < n && re[i] == '^') {
            capre_put(&w, re[i], i);
            i++;
        }
        if (i < n && re[i] == ']') {
            capre_put(&w, re[i], i);
            i++;
        }
        while (i < n && re[i] != ']') {
            if (re[i] == '[' && i + 1 < n && strchr(":.=", re[i + 1]) != NULL) {
                size_t k = i + 2;
                while (k + 1 < n && !(re[k] == re[i + 1] && re[k + 1] == ']'))
                    k++;
                if (k + 1 < n) {
                    for (; i < k + 2; i++)
                        capre_put(&w, re[i], i);
                    continue;
                }
            }
            if (re[i] == '\\')
                capre_put(&w, '\\', i);
            capre_put(&w, re[i], i);
            i++;
        }
        if (i < n) {            /* the closing ']'; unclosed: PCRE2 reports it */
            capre_put(&w, re[i], i);
            i++;
        }
    }
    map[w.o] = n;
    w.out[w.o] = '\0';
    return w.out;
}

static capre *capre_fail(char *err, size_t errcap, size_t *err_off, size_t off,
                         const char *fmt, ...)
{
    if (err != NULL && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    if (err_off != NULL)
        *err_off = off;
    return NULL;
}

capre *capre_compile(const char *re, char *err, size_t errcap, size_t *err_off)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (err_off != NULL)
        *err_off = 0;
    if (re == NULL)
        return capre_fail(err, errcap, err_off, 0, "no regex");
    size_t n = strlen(re);
    if (n > CAPRE_MAX_PATTERN)
        return capre_fail(err, errcap, err_off, CAPRE_MAX_PATTERN,
                          "invalid regex: %zu characters, at most %u", n, CAPRE_MAX_PATTERN);
    capre *r = calloc(1, sizeof *r);
    size_t *map = malloc((2 * n + 1) * sizeof *map);
    char *src = map != NULL ? capre_rewrite(re, n, map) : NULL;
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (r != NULL)
        r->mctx = pcre2_match_context_create(NULL);
    if (r == NULL || src == NULL || cctx == NULL || r->mctx == NULL) {
        free(src);
        free(map);
        pcre2_compile_context_free(cctx);
        capre_free(r);
        return capre_fail(err, errcap, err_off, 0, "out of memory");
    }
    pcre2_set_max_pattern_length(cctx, 2 * CAPRE_MAX_PATTERN);
    pcre2_set_parens_nest_limit(cctx, CAPRE_MAX_NEST);
    pcre2_set_match_limit(r->mctx, CAPRE_MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, CAPRE_DEPTH_LIMIT);
    pcre2_set_heap_limit(r->mctx, CAPRE_HEAP_LIMIT_KIB);
    int ec = 0;
    PCRE2_SIZE eoff = 0;
    r->code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                            PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                            &ec, &eoff, cctx);
    pcre2_compile_context_free(cctx);
    if (r->code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ec);
        size_t off = map[eoff <= strlen(src) ? eoff : strlen(src)];
        free(src);
        free(map);
        capre_free(r);
        return capre_fail(err, errcap, err_off, off, "invalid regex: %s at character %zu",
                          (const char *)msg, off + 1);
    }
    free(src);
    free(map);
    uint32_t groups = 0;
    pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    r->group = groups > 0;
    return r;
}

void capre_free(capre *r)
{
    if (r == NULL)
        return;
    pcre2_code_free(r->code);
    pcre2_match_context_free(r->mctx);
    free(r);
}

int capre_match(const capre *r, const char *body, tmpl_val *out)
{
    if (r == NULL || body == NULL || out == NULL)
        return -1;
    pcre2_match_data *md = capre_md();
    if (md == NULL)
        return -1;
    int rc = pcre2_match(r->code, (PCRE2_SPTR)body, strlen(body), 0, 0, md, r->mctx);
    if (rc < 0)                 /* no match, or a limit reached */
        return -1;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t i = r->group ? 1 : 0;
    /* rc 0: the block holds fewer pairs than the pattern has groups (the first two are
     * set); rc 1 with a group: group 1 did not take part. */
    if (r->group && rc == 1)
        return tmpl_val_set(out, "", 0);
    if (ov[2 * i] == PCRE2_UNSET || ov[2 * i + 1] < ov[2 * i])
        return tmpl_val_set(out, "", 0);
    return tmpl_val_set(out, body + ov[2 * i], (size_t)(ov[2 * i + 1] - ov[2 * i]));
}
