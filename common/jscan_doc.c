/* jscan_doc: the strict document reader and the value text; see common/jscan_doc.h.
 *
 * Decisions the header leaves open, written down here:
 * - One pass validates the whole document and follows the path at once: the stack of
 *   open containers is one bit per level (object or array, 256 bytes for 2048 levels);
 *   the containers on the path are always the bottom `on` levels of that stack, so one
 *   count says whether the value starting now is on the path. A value that starts on the
 *   path forgets what an earlier value at the same place (an earlier duplicate name)
 *   found beneath it: the last duplicate wins, as jansson's object set replaces.
 * - Numbers are told apart as jansson's lexer tells them: no '.', 'e' or 'E' is an
 *   integer (strtoll range), else a real (strtod; overflow to +-HUGE_VAL refuses the
 *   document, underflow does not). A real can only overflow when it is written with an
 *   exponent or with more than 300 characters; only those are converted while
 *   validating. Conversion is glibc's strtod in the C locale (the daemons never call
 *   setlocale), on a copy when the number is under 1100 bytes, else on an equivalent
 *   normalized form (the first 800 significant digits, a sticky 1 for any non-zero
 *   digit after them, and the exponent) that rounds to the same double.
 * - Reals print as jansson 2.14's jsonp_dtostr (snprintf "%.*g", ".0" appended when
 *   neither '.' nor 'e' is there, '+' and leading zeros of the exponent dropped).
 * - The text of an object with names that may repeat (a name with an escape, or two
 *   names that fall on one bit of a 4096-bit hash map) is written the slow way: for each
 *   member, the earlier members are searched for its name (written already: skip it)
 *   and the later ones for its last value. That costs the square of the members of such
 *   an object; objects whose names are plainly distinct are written in one pass. */
#include "common/jscan_doc.h"
#include "common/jscan_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(JSCAN_DOC_MAX_DEPTH % 64 == 0, "one bit per level in uint64_t words");

/* ---- the strict scalars ------------------------------------------------------------- */

/* Valid UTF-8 as jansson's utf8_check_first/utf8_check_full see it. */
static bool jd_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t cnt;
        uint32_t v;
        if (c < 0xC2)
            return false;                       /* a continuation byte, or C0/C1 */
        else if (c <= 0xDF)
            cnt = 2, v = c & 0x1F;
        else if (c <= 0xEF)
            cnt = 3, v = c & 0x0F;
        else if (c <= 0xF4)
            cnt = 4, v = c & 0x07;
        else
            return false;
        if (n - i < cnt)
            return false;
        for (size_t k = 1; k < cnt; k++) {
            unsigned u = s[i + k];
            if (u < 0x80 || u > 0xBF)
                return false;
            v = (v << 6) | (u & 0x3F);
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (cnt == 2 && v < 0x80) ||
            (cnt == 3 && v < 0x800) || (cnt == 4 && v < 0x10000))
            return false;
        i += cnt;
    }
    return true;
}

/* A string at s[*pos] == '"' as jansson accepts it; *pos moves past it. Its decoded
 * bytes go to cmp when not NULL (which must have nonul set). */
static int jd_str(const char *s, size_t len, size_t *pos, jscan_sink *cmp)
{
    jscan_sink plain = { .nonul = true };
    size_t end = jscan_str_walk(s, len, *pos + 1, true, cmp != NULL ? cmp : &plain);
    if (end == JSCAN_NPOS || !jd_utf8((const unsigned char *)s + *pos + 1, end - *pos - 1))
        return -1;
    *pos = end + 1;
    return 0;
}

/* strtod of the JSON number t[0..n); -1 on overflow (jansson's "real number overflow"). */
static int jd_strtod(const char *t, size_t n, double *out)
{
    char buf[1100];
    if (n < sizeof buf) {
        memcpy(buf, t, n);
        buf[n] = '\0';
    } else {
        /* 0.DIGITS e X with value the same: see the top of this file */
        size_t i = 0, o = 0;
        long long e10 = 0, ex = 0;
        int nd = 0;
        bool started = false, sticky = false, frac = false;
        if (t[0] == '-')
            buf[o++] = '-', i++;
        buf[o++] = '0';
        buf[o++] = '.';
        for (; i < n && t[i] != 'e' && t[i] != 'E'; i++) {
            if (t[i] == '.') {
                frac = true;
                continue;
            }
            if (!started && t[i] == '0') {
                if (frac)
                    e10--;
                continue;
            }
            started = true;
            if (!frac)
                e10++;
            if (nd < 800)
                buf[o++] = t[i], nd++;
            else if (t[i] != '0')
                sticky = true;
        }
        if (i < n) {
            bool neg = t[++i] == '-';
            if (t[i] == '-' || t[i] == '+')
                i++;
            for (; i < n; i++)
                if (ex < 1000000000LL)
                    ex = ex * 10 + (t[i] - '0');
            if (neg)
                ex = -ex;
        }
        if (sticky)
            buf[o++] = '1';
        if (nd == 0)
            buf[o++] = '0';
        snprintf(buf + o, sizeof buf - o, "e%lld", nd == 0 ? 0 : e10 + ex);
    }
    errno = 0;
    double d = strtod(buf, NULL);
    if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
        return -1;
    *out = d;
    return 0;
}

static bool jd_is_int(const char *t, size_t n)
{
    return memchr(t, '.', n) == NULL && memchr(t, 'e', n) == NULL && memchr(t, 'E', n) == NULL;
}

/* A number at s[*pos] as jansson accepts it; *pos moves past it. */
static int jd_num(const char *s, size_t len, size_t *pos)
{
    size_t b = *pos;
    if (jscan_num(s, len, pos) != 0)
        return -1;
    const char *t = s + b;
    size_t n = *pos - b;
    if (jd_is_int(t, n)) {
        int64_t v;
        return jscan_parse_int(t, n, &v);
    }
    if (n <= 300 && memchr(t, 'e', n) == NULL && memchr(t, 'E', n) == NULL)
        return 0;                               /* under 1e300: cannot overflow */
    double d;
    return jd_strtod(t, n, &d);
}

static int jd_scalar(const char *s, size_t len, size_t *pos, jscan_type *type)
{
    static const struct { const char *w; size_t n; jscan_type t; } lit[] = {
        { "true", 4, JSCAN_TRUE }, { "false", 5, JSCAN_FALSE }, { "null", 4, JSCAN_NULL },
    };
    char c = s[*pos];
    if (c == '"') {
        *type = JSCAN_STRING;
        return jd_str(s, len, pos, NULL);
    }
    for (size_t k = 0; k < 3; k++) {
        if (c == lit[k].w[0]) {
            if (len - *pos < lit[k].n || memcmp(s + *pos, lit[k].w, lit[k].n) != 0)
                return -1;
            *pos += lit[k].n;
            *type = lit[k].t;
            return 0;
        }
    }
    *type = JSCAN_NUMBER;
    return jd_num(s, len, pos);
}

/* An object member's name (compared with step when not NULL: *match) and its colon,
 * from s[*pos]; *pos moves to the value (whitespace skipped). */
static int jd_member(const char *s, size_t len, size_t *pos, const jscan_step *step,
                     bool *match)
{
    size_t i = jscan_ws(s, len, *pos);
    *match = false;
    if (i >= len || s[i] != '"')
        return -1;
    if (step != NULL) {
        jscan_sink k = { .want = step->key, .wantlen = step->keylen, .same = true,
                         .nonul = true };
        if (jd_str(s, len, &i, &k) != 0)
            return -1;
        *match = k.same && k.k == step->keylen;
    } else if (jd_str(s, len, &i, NULL) != 0) {
        return -1;
    }
    i = jscan_ws(s, len, i);
    if (i >= len || s[i] != ':')
        return -1;
    *pos = jscan_ws(s, len, i + 1);
    return 0;
}

/* ---- the document ----------------------------------------------------------------- */

int jscan_doc_find(const jscan_path *p, const char *s, size_t len, jscan_val *out)
{
    if (p == NULL || s == NULL || out == NULL)
        return 0;
    uint64_t kinds[JSCAN_DOC_MAX_DEPTH / 64];   /* bit l: open level l is an object */
    size_t lvl = 0, on = 0, idx = 0;            /* idx: element of the array at level on */
    size_t ns = p->nsteps, tstart = JSCAN_NPOS;
    bool found = false, onval = true;
    jscan_val got = { 0 };
    size_t i = jscan_ws(s, len, 0);
    if (i >= len || (s[i] != '{' && s[i] != '['))
        return 0;                               /* jansson wants an object or an array */
    for (;;) {
        /* a value starts at i, at level lvl; onval: it is on the path */
        i = jscan_ws(s, len, i);
        if (i >= len || lvl + 1 > JSCAN_DOC_MAX_DEPTH)
            return 0;
        bool target = onval && lvl == ns;
        if (onval)
            found = false;                      /* a later duplicate replaces */
        if (s[i] == '{' || s[i] == '[') {
            bool obj = s[i] == '{';
            if (target)
                tstart = i;
            bool descend = onval && lvl < ns && obj == (p->steps[lvl].key != NULL);
            if (obj)
                kinds[lvl / 64] |= UINT64_C(1) << (lvl % 64);
            else
                kinds[lvl / 64] &= ~(UINT64_C(1) << (lvl % 64));
            lvl++;
            if (descend) {
                on = lvl;
                idx = 0;
            }
            i = jscan_ws(s, len, i + 1);
            if (i >= len)
                return 0;
            if (s[i] != (obj ? '}' : ']')) {
                if (obj) {
                    if (jd_member(s, len, &i, on == lvl ? &p->steps[lvl - 1] : NULL, &onval))
                        return 0;
                } else {
                    onval = on == lvl && p->steps[lvl - 1].index == 0;
                }
                continue;
            }
            /* an empty container: it ends here, as the closing below */
        } else {
            size_t b = i;
            jscan_type type;
            if (jd_scalar(s, len, &i, &type) != 0)
                return 0;
            if (target) {
                found = true;
                got.type = type;
                got.p = type == JSCAN_STRING ? s + b + 1 : s + b;
                got.len = type == JSCAN_STRING ? i - b - 2 : i - b;
            }
            goto value_end;
        }
        /* an empty container: s[i] is its closing bracket */
        for (;;) {
            bool obj = s[i] == '}';
            i++;
            lvl--;
            if (on > lvl) {
                on = lvl;
                idx = JSCAN_NPOS;               /* no later element matches an index */
            }
            if (tstart != JSCAN_NPOS && lvl == ns) {
                found = true;
                got.type = obj ? JSCAN_OBJECT : JSCAN_ARRAY;
                got.p = s + tstart;
                got.len = i - tstart;
                tstart = JSCAN_NPOS;
            }
value_end:
            /* a value ended at i: the next member or element, or a closing bracket */
            i = jscan_ws(s, len, i);
            if (lvl == 0) {
                if (i != len || !found)
                    return 0;
                *out = got;
                return 1;
            }
            if (i >= len)
                return 0;
            bool inobj = (kinds[(lvl - 1) / 64] >> ((lvl - 1) % 64)) & 1;
            if (s[i] == ',') {
                i++;
                if (inobj) {
                    if (jd_member(s, len, &i, on == lvl ? &p->steps[lvl - 1] : NULL, &onval))
                        return 0;
                } else {
                    if (on == lvl && idx != JSCAN_NPOS)
                        idx++;
                    onval = on == lvl && idx != JSCAN_NPOS && idx == p->steps[lvl - 1].index;
                }
                break;
            }
            if (s[i] != (inobj ? '}' : ']'))
                return 0;
        }
    }
}

/* ---- the value text ------------------------------------------------------------------ */

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
    if (jd_is_int(t, n)) {
        int64_t v;
        if (jscan_parse_int(t, n, &v) != 0)
            return -1;
        bn = (size_t)snprintf(buf, sizeof buf, "%" PRId64, v);
    } else {
        double d;
        if (jd_strtod(t, n, &d) != 0)
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
