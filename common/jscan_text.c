/* jscan_text: a found value's text as jansson printed it; see common/jscan_text.h.
 *
 * Decisions the header leaves open, written down here:
 * - Reals print as jansson 2.14's jsonp_dtostr (snprintf "%.*g", ".0" appended when
 *   neither '.' nor 'e' is there, '+' and leading zeros of the exponent dropped); the
 *   value is strtod's in the C locale (common/jscan_doc.c's jscan_strtod).
 * - A container is walked by its brackets and strings without validating again (the
 *   finders validated it; a value made up otherwise gives -1 or some text, never a read
 *   outside it); one frame per open level: 17 bytes, JSCAN_DOC_MAX_DEPTH of them
 *   (34 KiB of the calling thread's stack).
 * - The text of an object with names that may repeat (a name with an escape, or two
 *   names that fall on one bit of a 4096-bit hash map) is written the slow way: for each
 *   member, the earlier members are searched for its name (written already: skip it)
 *   and the later ones for its last value. That costs the square of the members of such
 *   an object; objects whose names are plainly distinct are written in one pass. */
#include "common/jscan_text.h"
#include "common/jscan_doc.h"
#include "common/jscan_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson 2.14's jsonp_dtostr (the snprintf one); buf holds at least 48 bytes. */
static size_t jt_dtostr(double d, int prec, char *buf)
{
    int r = snprintf(buf, 40, "%.*g", prec, d);
    size_t n = r > 0 && r < 40 ? (size_t)r : 0;
    buf[n] = '\0';
    if (memchr(buf, '.', n) == NULL && memchr(buf, 'e', n) == NULL) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    char *start = memchr(buf, 'e', n);
    if (start != NULL) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n - (size_t)(end - buf));
            n -= (size_t)(end - start);
            buf[n] = '\0';
        }
    }
    return n;
}

/* A number's text: an integer as an int64 prints, a real at %.17g inside a container
 * or in its shortest form that reads back (top). */
static int jt_number(const char *t, size_t n, bool top, jscan_sink *o)
{
    char buf[64];
    size_t bn;
    if (jscan_is_int(t, n)) {
        int64_t v;
        if (jscan_parse_int(t, n, &v) != 0)
            return -1;
        bn = (size_t)snprintf(buf, sizeof buf, "%" PRId64, v);
    } else {
        double d;
        if (jscan_strtod(t, n, &d) != 0)
            return -1;
        for (int prec = top ? 1 : 17; prec <= 17; prec++) {
            bn = jt_dtostr(d, prec, buf);
            if (prec == 17 || strtod(buf, NULL) == d)
                break;
        }
    }
    jscan_emit(o, buf, bn);
    return 0;
}

/* A string token at t[*i] == '"', written quoted and escaped; *i moves past it. */
static int jt_string(const char *t, size_t n, size_t *i, jscan_sink *o)
{
    jscan_emit(o, "\"", 1);
    o->esc = true;
    size_t end = jscan_str_walk(t, n, *i + 1, true, o);
    o->esc = false;
    if (end == JSCAN_NPOS)
        return -1;
    jscan_emit(o, "\"", 1);
    *i = end + 1;
    return 0;
}

/* A scalar token at t[*i] inside a container; *i moves past it. */
static int jt_scalar(const char *t, size_t n, size_t *i, jscan_sink *o)
{
    if (t[*i] == '"')
        return jt_string(t, n, i, o);
    static const char *const lit[] = { "true", "false", "null" };
    for (size_t k = 0; k < 3; k++) {
        size_t ln = strlen(lit[k]);
        if (t[*i] == lit[k][0]) {
            if (n - *i < ln || memcmp(t + *i, lit[k], ln) != 0)
                return -1;
            jscan_emit(o, lit[k], ln);
            *i += ln;
            return 0;
        }
    }
    size_t b = *i;
    if (jscan_num(t, n, i) != 0)
        return -1;
    return jt_number(t + b, *i - b, false, o);
}

/* The end of the string whose opening quote is t[q] (the index past its closing quote),
 * or JSCAN_NPOS. */
static size_t jt_str_end(const char *t, size_t n, size_t q)
{
    for (size_t i = q + 1; i < n; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return JSCAN_NPOS;
}

/* Skips the value at t[*i] (whitespace allowed before it) by its brackets and strings:
 * the text was validated when it was found. -1 when it runs off the end. */
static int jt_skip(const char *t, size_t n, size_t *i)
{
    size_t depth = 0, k = jscan_ws(t, n, *i);
    do {
        if (k >= n)
            return -1;
        char c = t[k];
        if (c == '"') {
            if ((k = jt_str_end(t, n, k)) == JSCAN_NPOS)
                return -1;
        } else if (c == '{' || c == '[') {
            depth++;
            k++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return -1;
            depth--;
            k++;
        } else if (depth == 0) {
            /* a scalar at the top: up to a delimiter */
            while (k < n && !strchr(",:]} \t\r\n", t[k]))
                k++;
            if (k < n && t[k] == '\0')
                k++;                            /* see common/jscan_doc.c on the NUL */
        } else {
            k++;
        }
    } while (depth > 0);
    *i = k;
    return 0;
}

/* The member whose name starts at t[q]: *v is its value (whitespace skipped). */
static int jt_member(const char *t, size_t n, size_t q, size_t *v)
{
    size_t e = q < n && t[q] == '"' ? jt_str_end(t, n, q) : JSCAN_NPOS;
    if (e == JSCAN_NPOS)
        return -1;
    e = jscan_ws(t, n, e);
    if (e >= n || t[e] != ':')
        return -1;
    *v = jscan_ws(t, n, e + 1);
    return 0;
}

/* Decoded bytes [off, off + cap) of the name at t[q] into buf; its decoded length. */
static size_t jt_name_window(const char *t, size_t n, size_t q, size_t off, char *buf, size_t cap)
{
    jscan_sink k = { .buf = buf, .bufcap = cap, .skip = off };
    jscan_str_walk(t, n, q + 1, true, &k);
    return k.buflen;
}

/* Whether the names at t[a] and t[b] decode to the same bytes. */
static bool jt_name_eq(const char *t, size_t n, size_t a, size_t b)
{
    size_t ea = jt_str_end(t, n, a), eb = jt_str_end(t, n, b);
    if (ea == JSCAN_NPOS || eb == JSCAN_NPOS)
        return false;
    if (!memchr(t + a, '\\', ea - a) && !memchr(t + b, '\\', eb - b))
        return ea - a == eb - b && memcmp(t + a, t + b, ea - a) == 0;
    char wa[256], wb[256];
    size_t la = jt_name_window(t, n, a, 0, wa, sizeof wa);
    size_t lb = jt_name_window(t, n, b, 0, wb, sizeof wb);
    if (la != lb)
        return false;
    for (size_t off = 0; off < la; off += sizeof wa) {
        size_t w = la - off < sizeof wa ? la - off : sizeof wa;
        if (off > 0) {
            jt_name_window(t, n, a, off, wa, sizeof wa);
            jt_name_window(t, n, b, off, wb, sizeof wb);
        }
        if (memcmp(wa, wb, w) != 0)
            return false;
    }
    return true;
}

/* The next member after the value at t[*v]: *q its name, *v its value; 0, or 1 at the
 * object's end, or -1. */
static int jt_next_member(const char *t, size_t n, size_t *q, size_t *v)
{
    size_t e = *v;
    if (jt_skip(t, n, &e) != 0)
        return -1;
    e = jscan_ws(t, n, e);
    if (e < n && t[e] == '}')
        return 1;
    if (e >= n || t[e] != ',')
        return -1;
    *q = jscan_ws(t, n, e + 1);
    return jt_member(t, n, *q, v);
}

/* Whether an object (its first member's name at t[first]) may hold a name twice. */
static bool jt_maybe_dup(const char *t, size_t n, size_t first)
{
    uint64_t map[64] = { 0 };
    size_t q = first, v;
    if (jt_member(t, n, q, &v) != 0)
        return true;
    for (;;) {
        size_t e = jt_str_end(t, n, q);
        if (memchr(t + q, '\\', e - q) != NULL)
            return true;
        uint64_t h = 1469598103934665603ULL;
        for (size_t k = q + 1; k + 1 < e; k++)
            h = (h ^ (unsigned char)t[k]) * 1099511628211ULL;
        h %= 4096;
        if (map[h / 64] & (UINT64_C(1) << (h % 64)))
            return true;
        map[h / 64] |= UINT64_C(1) << (h % 64);
        int rc = jt_next_member(t, n, &q, &v);
        if (rc != 0)
            return rc < 0;
    }
}

enum { JT_OBJ = 1, JT_DUP = 2, JT_ANY = 4 };

/* The compact text of the container t[0..n), jansson's JSON_COMPACT dump of it. */
static int jt_container(const char *t, size_t n, jscan_sink *o)
{
    size_t first[JSCAN_DOC_MAX_DEPTH], resume[JSCAN_DOC_MAX_DEPTH];
    unsigned char fl[JSCAN_DOC_MAX_DEPTH];
    size_t d = 0, i = 0, f, q, v;
    for (;;) {
        /* a value at i */
        i = jscan_ws(t, n, i);
        if (i >= n)
            return -1;
        if (t[i] == '{' || t[i] == '[') {
            bool obj = t[i] == '{';
            if (d >= JSCAN_DOC_MAX_DEPTH)
                return -1;
            jscan_emit(o, t + i, 1);
            i = jscan_ws(t, n, i + 1);
            if (i >= n)
                return -1;
            if (t[i] == (obj ? '}' : ']')) {
                jscan_emit(o, t + i, 1);
                i++;
                goto after;
            }
            fl[d] = obj ? JT_OBJ : 0;
            if (obj && jt_maybe_dup(t, n, i))
                fl[d] |= JT_DUP;
            first[d] = i;
            resume[d] = JSCAN_NPOS;
            d++;
            if (obj)
                goto member;
            continue;
        }
        if (jt_scalar(t, n, &i, o) != 0)
            return -1;
        if (i < n && t[i] == '\0' && t[i - 1] != '"')
            i++;                                /* see common/jscan_doc.c on the NUL */
after:
        /* a value ended at i */
        if (d == 0)
            return jscan_ws(t, n, i) == n ? 0 : -1;
        f = d - 1;
        if (resume[f] != JSCAN_NPOS) {
            i = resume[f];                      /* back from a later duplicate's value */
            resume[f] = JSCAN_NPOS;
        }
        i = jscan_ws(t, n, i);
        if (i >= n)
            return -1;
        if (t[i] == ',') {
            i++;
            if (fl[f] & JT_OBJ)
                goto member;
            jscan_emit(o, ",", 1);
            continue;
        }
        if (t[i] != ((fl[f] & JT_OBJ) ? '}' : ']'))
            return -1;
        jscan_emit(o, t + i, 1);
        i++;
        d--;
        goto after;
member:
        /* a member's name at i (whitespace allowed before it) in the object d - 1 */
        f = d - 1;
        q = jscan_ws(t, n, i);
        if (jt_member(t, n, q, &v) != 0)
            return -1;
        i = v;
        if (fl[f] & JT_DUP) {
            bool seen = false;
            size_t q2 = first[f], v2;
            if (jt_member(t, n, q2, &v2) != 0)
                return -1;
            while (q2 != q && !seen) {
                seen = jt_name_eq(t, n, q2, q);
                if (jt_next_member(t, n, &q2, &v2) != 0)
                    return -1;
            }
            if (seen) {                         /* written with its first appearance */
                if (jt_skip(t, n, &i) != 0)
                    return -1;
                goto after;
            }
            size_t last = v;
            q2 = q, v2 = v;
            int rc;
            while ((rc = jt_next_member(t, n, &q2, &v2)) == 0)
                if (jt_name_eq(t, n, q2, q))
                    last = v2;
            if (rc < 0)
                return -1;
            if (last != v) {
                size_t e = v;
                if (jt_skip(t, n, &e) != 0)
                    return -1;
                resume[f] = e;
                i = last;
            }
        }
        if (fl[f] & JT_ANY)
            jscan_emit(o, ",", 1);
        fl[f] |= JT_ANY;
        if (jt_string(t, n, &q, o) != 0)
            return -1;
        jscan_emit(o, ":", 1);
    }
}

static int jt_write(const jscan_val *v, jscan_sink *o)
{
    if (v == NULL || (v->p == NULL && v->len > 0))
        return -1;
    const char *t = v->p != NULL ? v->p : "";
    switch (v->type) {
    case JSCAN_STRING:
        return jscan_str_walk(t, v->len, 0, false, o) == JSCAN_NPOS ? -1 : 0;
    case JSCAN_NUMBER: {
        size_t e = 0;
        if (jscan_num(t, v->len, &e) != 0 || e != v->len)
            return -1;
        return jt_number(t, v->len, true, o);
    }
    case JSCAN_TRUE:
    case JSCAN_FALSE:
    case JSCAN_NULL: {
        size_t e = 0;
        if (v->len == 0 || jt_scalar(t, v->len, &e, o) != 0 || e != v->len)
            return -1;
        return 0;
    }
    case JSCAN_OBJECT:
    case JSCAN_ARRAY:
        if (v->len == 0 || t[0] != (v->type == JSCAN_OBJECT ? '{' : '['))
            return -1;
        return jt_container(t, v->len, o);
    }
    return -1;
}

int jscan_text(const jscan_val *v, char *buf, size_t cap, size_t *len)
{
    jscan_sink o = { .buf = buf, .bufcap = buf != NULL ? cap : 0 };
    int rc = jt_write(v, &o);
    if (len != NULL)
        *len = o.buflen;
    return rc;
}

bool jscan_text_is(const jscan_val *v, const char *s, size_t slen)
{
    jscan_sink o = { .want = s != NULL ? s : "", .wantlen = s != NULL ? slen : 0, .same = true };
    return jt_write(v, &o) == 0 && o.same && o.k == o.wantlen;
}
