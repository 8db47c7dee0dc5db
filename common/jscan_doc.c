/* jscan_doc: the strict document reader; see common/jscan_doc.h.
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
 * - One NUL byte right after a number or a literal (true, false, null) is skipped:
 *   jansson's lexer reads one character past those, puts it back, and a NUL put back
 *   reads as "nothing buffered" and vanishes ("[2\0]" loads as [2]; "[2\0\0]",
 *   "[2 \0]" and "[\"a\"\0]" do not load). Found by fuzzing against jansson.
 * The text of a value found here is common/jscan_text.c's. */
#include "common/jscan_doc.h"
#include "common/jscan_int.h"

#include <errno.h>
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
int jscan_strtod(const char *t, size_t n, double *out)
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

bool jscan_is_int(const char *t, size_t n)
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
    if (jscan_is_int(t, n)) {
        int64_t v;
        return jscan_parse_int(t, n, &v);
    }
    if (n <= 300 && memchr(t, 'e', n) == NULL && memchr(t, 'E', n) == NULL)
        return 0;                               /* under 1e300: cannot overflow */
    double d;
    return jscan_strtod(t, n, &d);
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
            if (type != JSCAN_STRING && i < len && s[i] == '\0')
                i++;                            /* jansson's lexer loses it: see above */
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
