/* jscan: one value by JSON path, found in JSON text without a tree; see common/jscan.h.
 *
 * Decisions the header leaves open, written down here:
 * - Paths are compiled exactly as common/capture.c's jpath_compile does them (same forms,
 *   same messages, same offsets), so a path that captures also expects, and vice versa.
 *   A compiled path is one allocation: the steps, then the names they point into.
 * - A found value must be complete: inside a container, the value is followed (after
 *   whitespace) by "," or its container's closing bracket; a root value ("$") by
 *   nothing but whitespace. So a truncated message never yields a shortened number
 *   ({"n":12 cut from {"n":123}), and a text cut anywhere finds either what the whole
 *   text finds or nothing.
 * - Strings: a raw control character (below 0x20), an unknown escape, a bad \u, or a
 *   lone or mismatched surrogate makes the text malformed (jansson, behind captures,
 *   refuses the same). \u0000 is valid and decodes to a NUL byte. Raw bytes are not
 *   checked for UTF-8 validity; they compare as written.
 * - Depth counts containers: the root object or array is depth 1; a container deeper than
 *   JSCAN_MAX_DEPTH, met anywhere on the walk, makes the text "not found". Skipping is a
 *   loop with one bit per open level (object or array), never recursion.
 * - jscan_int on a string decodes it first ("\u0031\u0037" is 17) and then asks for the
 *   same integer grammar as a number: no sign "+", no leading zeros, no spaces. */
#include "common/jscan.h"
#include "common/jscan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(JSCAN_MAX_DEPTH >= 1 && JSCAN_MAX_DEPTH <= 64,
               "the skipper keeps one bit per open level in a uint64_t");

/* ---- compiling ------------------------------------------------------------------- */

__attribute__((format(printf, 6, 7)))
static jscan_path *jscan_fail(jscan_path *p, char *err, size_t errcap, size_t *err_off,
                              size_t off, const char *fmt, ...)
{
    if (err != NULL && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    if (err_off != NULL)
        *err_off = off;
    free(p);
    return NULL;
}

jscan_path *jscan_compile(const char *path, char *err, size_t errcap, size_t *err_off)
{
#define FAIL_AT(o, ...) return jscan_fail(p, err, errcap, err_off, (o), __VA_ARGS__)
    jscan_path *p = NULL;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (path == NULL || path[0] != '$')
        FAIL_AT(0, "a JSON path starts with $ (e.g. $.data.id)");
    /* Every step takes at least two characters of the path (".a", "[0]"), and the names
     * together are never longer than the path: both bound the one block. */
    size_t plen = strlen(path);
    size_t maxsteps = plen / 2 + 1;
    p = malloc(sizeof *p + maxsteps * sizeof(jscan_step) + plen + 1);
    if (p == NULL)
        FAIL_AT(0, "out of memory");
    p->nsteps = 0;
    char *names = (char *)(p->steps + maxsteps);
    size_t nused = 0;
    size_t i = 1;
    while (path[i] != '\0') {
        size_t off = i;
        jscan_step *st = &p->steps[p->nsteps];
        if (path[i] == '.') {
            size_t b = ++i;
            if (path[i] == '.')
                FAIL_AT(off, "recursive descent (..) is not supported");
            if (path[i] == '*')
                FAIL_AT(i, "wildcards are not supported");
            while (path[i] != '\0' && path[i] != '.' && path[i] != '[')
                i++;
            if (i == b)
                FAIL_AT(b, "expected a name after \".\"");
            memcpy(names + nused, path + b, i - b);
            st->key = names + nused;
            st->keylen = i - b;
            st->index = 0;
            nused += i - b;
            p->nsteps++;
            continue;
        }
        if (path[i] != '[')
            FAIL_AT(i, "unexpected '%c' (expected \".name\" or \"[...]\")", path[i]);
        i++;
        while (path[i] == ' ')
            i++;
        if (path[i] == '\'' || path[i] == '"') {
            char q = path[i];
            size_t qoff = i++, n = 0;
            char *key = names + nused;
            while (path[i] != '\0' && path[i] != q) {
                if (path[i] == '\\' && path[i + 1] != '\0')
                    i++;
                key[n++] = path[i++];
            }
            if (path[i] != q)
                FAIL_AT(qoff, "unterminated quoted name");
            i++;
            st->key = key;
            st->keylen = n;
            st->index = 0;
            nused += n;
        } else if (path[i] >= '0' && path[i] <= '9') {
            size_t v = 0, doff = i;
            while (path[i] >= '0' && path[i] <= '9') {
                if (v > (SIZE_MAX - 9) / 10)
                    FAIL_AT(doff, "index too large");
                v = v * 10 + (size_t)(path[i++] - '0');
            }
            st->key = NULL;
            st->keylen = 0;
            st->index = v;
        } else if (path[i] == '-') {
            FAIL_AT(i, "negative indexes are not supported");
        } else if (path[i] == '*') {
            FAIL_AT(i, "wildcards are not supported");
        } else {
            FAIL_AT(i, "expected an index or a quoted name after \"[\"");
        }
        while (path[i] == ' ')
            i++;
        if (path[i] != ']')
            FAIL_AT(i, "expected \"]\"");
        i++;
        p->nsteps++;
    }
#undef FAIL_AT
    return p;
}

void jscan_free(jscan_path *p)
{
    free(p);
}

size_t jscan_nsteps(const jscan_path *p)
{
    return p ? p->nsteps : 0;
}

const char *jscan_step_at(const jscan_path *p, size_t i, size_t *keylen, size_t *index)
{
    const jscan_step *st = &p->steps[i];
    *keylen = st->keylen;
    *index = st->index;
    return st->key;
}

/* ---- scanning primitives ----------------------------------------------------------- */

size_t jscan_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The value of four hex digits at s[i..i+4), or -1. */
static long jscan_hex4(const char *s, size_t len, size_t i)
{
    if (len < 4 || i > len - 4)
        return -1;
    long v = 0;
    for (size_t k = i; k < i + 4; k++) {
        char c = s[k];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Copies stream bytes into the sink's window [skip, skip + bufcap) of buf. */
static void jscan_put(jscan_sink *k, const char *b, size_t n)
{
    if (k->want != NULL && k->same) {
        if (k->wantlen - k->k >= n && memcmp(k->want + k->k, b, n) == 0)
            k->k += n;
        else
            k->same = false;
    }
    if (k->buf != NULL) {
        size_t pos = k->buflen, end = k->skip + k->bufcap;
        size_t lo = pos > k->skip ? pos : k->skip;
        size_t hi = pos + n < end ? pos + n : end;
        if (lo < hi)
            memcpy(k->buf + (lo - k->skip), b + (lo - pos), hi - lo);
    }
    k->buflen += n;
}

/* Writes a decoded string's bytes as jansson's dump writes them: \" and \\, the short
 * escapes \b \f \n \r \t, other control bytes as \u00XX (upper-case hex), everything
 * else (UTF-8 included) as is. */
static void jscan_put_esc(jscan_sink *k, const char *b, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < n) {
        size_t r = i;
        while (r < n && b[r] != '"' && b[r] != '\\' && (unsigned char)b[r] >= 0x20)
            r++;
        if (r > i)
            jscan_put(k, b + i, r - i);
        if (r == n)
            break;
        unsigned char c = (unsigned char)b[r];
        char e[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t en = 2;
        switch (c) {
        case '"': case '\\': e[1] = (char)c; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            e[1] = 'u'; e[2] = '0'; e[3] = '0';
            e[4] = hex[c >> 4]; e[5] = hex[c & 15];
            en = 6;
        }
        jscan_put(k, e, en);
        i = r + 1;
    }
}

void jscan_emit(jscan_sink *k, const char *b, size_t n)
{
    if (k == NULL)
        return;
    if (k->esc)
        jscan_put_esc(k, b, n);
    else
        jscan_put(k, b, n);
}

/* Walks string content from s[i]: up to the closing quote when quoted (a document), or
 * to len when not (a jscan_val's content). Validates escapes and control characters and
 * hands the decoded bytes to sink. Returns the index of the closing quote (quoted) or
 * len, or JSCAN_NPOS when malformed or unterminated. */
size_t jscan_str_walk(const char *s, size_t len, size_t i, bool quoted, jscan_sink *sink)
{
    while (i < len) {
        /* a run of plain bytes, handed over at once */
        size_t b = i;
        while (i < len && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20)
            i++;
        if (i > b)
            jscan_emit(sink, s + b, i - b);
        if (i == len)
            break;
        if (s[i] == '"')
            return quoted ? i : JSCAN_NPOS;
        if (s[i] != '\\')
            return JSCAN_NPOS;                  /* a raw control character */
        if (i + 1 >= len)
            return JSCAN_NPOS;
        char c = s[i + 1], out[4];
        size_t n = 1;
        switch (c) {
        case '"': case '\\': case '/': out[0] = c; break;
        case 'b': out[0] = '\b'; break;
        case 'f': out[0] = '\f'; break;
        case 'n': out[0] = '\n'; break;
        case 'r': out[0] = '\r'; break;
        case 't': out[0] = '\t'; break;
        case 'u': {
            long cp = jscan_hex4(s, len, i + 2);
            if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                return JSCAN_NPOS;              /* bad hex, or a lone low surrogate */
            if (cp == 0 && sink != NULL && sink->nonul)
                return JSCAN_NPOS;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 7 >= len || s[i + 6] != '\\' || s[i + 7] != 'u')
                    return JSCAN_NPOS;
                long lo = jscan_hex4(s, len, i + 8);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return JSCAN_NPOS;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp < 0x80) {
                out[0] = (char)cp;
            } else if (cp < 0x800) {
                out[0] = (char)(0xC0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
            } else if (cp < 0x10000) {
                out[0] = (char)(0xE0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
            } else {
                out[0] = (char)(0xF0 | (cp >> 18));
                out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            i += 4;                             /* the hex digits; the escape below */
            break;
        }
        default:
            return JSCAN_NPOS;
        }
        i += 2;
        jscan_emit(sink, out, n);
    }
    return quoted ? JSCAN_NPOS : len;
}

/* A string in the document at s[*pos] == '"'; *pos moves past its closing quote. */
static int jscan_str(const char *s, size_t len, size_t *pos, jscan_sink *sink)
{
    size_t end = jscan_str_walk(s, len, *pos + 1, true, sink);
    if (end == JSCAN_NPOS)
        return -1;
    *pos = end + 1;
    return 0;
}

static bool jscan_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A JSON number at s[*pos]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
int jscan_num(const char *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !jscan_digit(s[i]))
        return -1;
    if (s[i] == '0')
        i++;
    else
        while (i < len && jscan_digit(s[i]))
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || !jscan_digit(s[i]))
            return -1;
        while (i < len && jscan_digit(s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || !jscan_digit(s[i]))
            return -1;
        while (i < len && jscan_digit(s[i]))
            i++;
    }
    *pos = i;
    return 0;
}

static int jscan_lit(const char *s, size_t len, size_t *pos, const char *word, size_t n)
{
    if (len - *pos < n || memcmp(s + *pos, word, n) != 0)
        return -1;
    *pos += n;
    return 0;
}

/* A scalar (string, number, literal) at s[*pos], which is not whitespace and is within
 * len; *pos moves past it. The type through *type when not NULL. */
static int jscan_scalar(const char *s, size_t len, size_t *pos, jscan_type *type)
{
    jscan_type t;
    int rc;
    switch (s[*pos]) {
    case '"': t = JSCAN_STRING; rc = jscan_str(s, len, pos, NULL); break;
    case 't': t = JSCAN_TRUE;   rc = jscan_lit(s, len, pos, "true", 4); break;
    case 'f': t = JSCAN_FALSE;  rc = jscan_lit(s, len, pos, "false", 5); break;
    case 'n': t = JSCAN_NULL;   rc = jscan_lit(s, len, pos, "null", 4); break;
    default:  t = JSCAN_NUMBER; rc = jscan_num(s, len, pos); break;
    }
    if (type != NULL)
        *type = t;
    return rc;
}

/* An object member's name and its colon, from s[*pos] (whitespace allowed before both);
 * *pos moves to the value (whitespace skipped). The name goes to sink. */
static int jscan_member(const char *s, size_t len, size_t *pos, jscan_sink *sink)
{
    size_t i = jscan_ws(s, len, *pos);
    if (i >= len || s[i] != '"' || jscan_str(s, len, &i, sink) != 0)
        return -1;
    i = jscan_ws(s, len, i);
    if (i >= len || s[i] != ':')
        return -1;
    *pos = jscan_ws(s, len, i + 1);
    return 0;
}

/* Skips (and validates) the value at s[*pos] (whitespace allowed before it), which sits
 * inside depth open containers. No recursion: bit l of kinds says whether open level l
 * of this value is an object. *pos moves just past the value. */
static int jscan_skip(const char *s, size_t len, size_t *pos, unsigned depth)
{
    uint64_t kinds = 0;
    unsigned lvl = 0;
    size_t i = *pos;
    for (;;) {
        /* a value starts at i */
        i = jscan_ws(s, len, i);
        if (i >= len)
            return -1;
        if (s[i] == '{' || s[i] == '[') {
            bool obj = s[i] == '{';
            if (depth + lvl + 1 > JSCAN_MAX_DEPTH)
                return -1;
            i = jscan_ws(s, len, i + 1);
            if (i >= len)
                return -1;
            if (s[i] != (obj ? '}' : ']')) {
                if (obj) {
                    kinds |= UINT64_C(1) << lvl;
                    if (jscan_member(s, len, &i, NULL) != 0)
                        return -1;
                } else {
                    kinds &= ~(UINT64_C(1) << lvl);
                }
                lvl++;
                continue;                       /* the first member's value */
            }
            i++;                                /* an empty container */
        } else if (jscan_scalar(s, len, &i, NULL) != 0) {
            return -1;
        }
        /* a value ended at i: close what ends here, then the next member or element */
        for (;;) {
            if (lvl == 0) {
                *pos = i;
                return 0;
            }
            bool obj = (kinds >> (lvl - 1)) & 1;
            i = jscan_ws(s, len, i);
            if (i >= len)
                return -1;
            if (s[i] == ',') {
                i++;
                if (obj && jscan_member(s, len, &i, NULL) != 0)
                    return -1;
                break;
            }
            if (s[i] != (obj ? '}' : ']'))
                return -1;
            i++;
            lvl--;
        }
    }
}

/* ---- finding ----------------------------------------------------------------------- */

int jscan_find(const jscan_path *p, const char *text, size_t len, jscan_val *out)
{
    if (p == NULL || text == NULL || out == NULL)
        return 0;
    size_t i = jscan_ws(text, len, 0);
    unsigned depth = 0;
    for (size_t st = 0; st < p->nsteps; st++) {
        const jscan_step *step = &p->steps[st];
        bool obj = step->key != NULL;
        if (i >= len || text[i] != (obj ? '{' : '[') || ++depth > JSCAN_MAX_DEPTH)
            return 0;
        i = jscan_ws(text, len, i + 1);
        if (i >= len || text[i] == (obj ? '}' : ']'))
            return 0;
        for (size_t n = 0;; n++) {
            if (obj) {
                jscan_sink k = { .want = step->key, .wantlen = step->keylen, .same = true };
                if (jscan_member(text, len, &i, &k) != 0)
                    return 0;
                if (k.same && k.k == step->keylen)
                    break;                      /* the first such key wins */
            } else if (n == step->index) {
                i = jscan_ws(text, len, i);
                break;
            }
            if (jscan_skip(text, len, &i, depth) != 0)
                return 0;
            i = jscan_ws(text, len, i);
            if (i >= len || text[i] != ',')
                return 0;                       /* the closing bracket, or malformed */
            i++;
        }
    }
    /* the value at i */
    if (i >= len)
        return 0;
    size_t start = i;
    jscan_type type;
    if (text[i] == '{' || text[i] == '[') {
        type = text[i] == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
        if (jscan_skip(text, len, &i, depth) != 0)
            return 0;
    } else if (jscan_scalar(text, len, &i, &type) != 0) {
        return 0;
    }
    size_t end = i;
    /* complete only when followed by what may follow it (see the top of this file) */
    i = jscan_ws(text, len, i);
    if (p->nsteps == 0) {
        if (i != len)
            return 0;
    } else {
        char close = p->steps[p->nsteps - 1].key != NULL ? '}' : ']';
        if (i >= len || (text[i] != ',' && text[i] != close))
            return 0;
    }
    out->type = type;
    if (type == JSCAN_STRING) {
        out->p = text + start + 1;
        out->len = end - start - 2;
    } else {
        out->p = text + start;
        out->len = end - start;
    }
    return 1;
}

/* ---- value text -------------------------------------------------------------------- */

bool jscan_text_equals(const jscan_val *v, const char *s, size_t slen)
{
    if (v == NULL || (v->p == NULL && v->len > 0) || (s == NULL && slen > 0))
        return false;
    if (v->type != JSCAN_STRING)
        return v->len == slen && (slen == 0 || memcmp(v->p, s, slen) == 0);
    if (v->len == 0)
        return slen == 0;
    jscan_sink k = { .want = s != NULL ? s : "", .wantlen = slen, .same = true };
    if (jscan_str_walk(v->p, v->len, 0, false, &k) == JSCAN_NPOS)
        return false;
    return k.same && k.k == slen;
}

/* An integer written as JSON writes one: -?(0|[1-9][0-9]*), within int64. */
int jscan_parse_int(const char *t, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && t[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= n || (t[i] == '0' && n - i > 1))
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < n; i++) {
        if (!jscan_digit(t[i]))
            return -1;
        unsigned d = (unsigned)(t[i] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return 0;
}

int jscan_int(const jscan_val *v, int64_t *out)
{
    if (v == NULL || out == NULL || v->p == NULL)
        return -1;
    if (v->type == JSCAN_NUMBER)
        return jscan_parse_int(v->p, v->len, out);
    if (v->type != JSCAN_STRING)
        return -1;
    /* "-9223372036854775808" is the longest integer: 20 bytes */
    char buf[24];
    jscan_sink k = { .buf = buf, .bufcap = sizeof buf };
    if (jscan_str_walk(v->p, v->len, 0, false, &k) == JSCAN_NPOS || k.buflen > k.bufcap)
        return -1;
    return jscan_parse_int(buf, k.buflen, out);
}
