/* libFuzzer target over common/jscan (WebSocket messages are the target server's text,
 * scanned on the hot path). The input's first line is a JSON path, the rest the document:
 *
 *     $.data.items[0].id
 *     {"data":{"items":[{"id":7}]}}
 *
 * Beyond "no crash, no leak, no sanitizer report" it checks: a refused path says why, at
 * an offset within it; a found value lies within the text and is shaped like its type;
 * a string equals its own decoding (by a plain reference decoder here) and nothing one
 * byte shorter; other values equal their text; jscan_int agrees with the text; and (for
 * paths with a step) a prefix of the text finds nothing or exactly what the whole finds,
 * and finds it once the value and its delimiter are in. The document is copied to a
 * buffer of exactly its length (and each prefix to its own), so ASan sees any overread.
 *
 * The strict reader and the value text (common/jscan_doc.h, common/jscan_text.h, what
 * the checks of worker/check.h use) are compared with jansson, the oracle they replace:
 * json_loadb(doc, len, 0) with capture.h's jpath_get and jpath_text must find the same
 * value and give the same text. jscan_text also runs on the lenient finder's values and
 * on the raw text taken for an object or an array (no crash, no overread). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/capture.h"
#include "common/jscan.h"
#include "common/jscan_doc.h"
#include "common/jscan_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hexval(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Decodes the content of a string jscan_find returned (so already valid) into a new
 * buffer; *n its length. Written the obvious way, to check the on-the-fly decoder. */
static char *ref_decode(const char *s, size_t len, size_t *n)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (out == NULL)
        abort();
    for (size_t i = 0; i < len;) {
        if (s[i] != '\\') {
            out[o++] = s[i++];
            continue;
        }
        char e = i + 1 < len ? s[i + 1] : '\0', c = 0;
        switch (e) {
        case '"': case '\\': case '/': c = e; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: break;
        }
        if (c != 0) {
            out[o++] = c;
            i += 2;
            continue;
        }
        if (e != 'u' || i + 6 > len)
            abort();                            /* jscan_find let a bad escape through */
        long cp = hex4(s + i + 2);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 6 > len)
                abort();
            long lo = hex4(s + i + 2);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        unsigned char u[4];
        int k;
        if (cp < 0x80) {
            u[0] = (unsigned char)cp, k = 1;
        } else if (cp < 0x800) {
            u[0] = 0xC0 | (cp >> 6), u[1] = 0x80 | (cp & 0x3F), k = 2;
        } else if (cp < 0x10000) {
            u[0] = 0xE0 | (cp >> 12), u[1] = 0x80 | ((cp >> 6) & 0x3F);
            u[2] = 0x80 | (cp & 0x3F), k = 3;
        } else {
            u[0] = 0xF0 | (cp >> 18), u[1] = 0x80 | ((cp >> 12) & 0x3F);
            u[2] = 0x80 | ((cp >> 6) & 0x3F), u[3] = 0x80 | (cp & 0x3F), k = 4;
        }
        memcpy(out + o, u, (size_t)k);
        o += (size_t)k;
    }
    *n = o;
    return out;
}

/* Finds p in a fresh exact-size copy of doc[0..n); on success *v points into doc. */
static int find_copy(const jscan_path *p, const char *doc, size_t n, jscan_val *v)
{
    char *copy = malloc(n ? n : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, doc, n);
    jscan_val tmp;
    int rc = jscan_find(p, copy, n, &tmp);
    if (rc == 1) {
        if (tmp.p < copy || tmp.len > n || (size_t)(tmp.p - copy) > n - tmp.len)
            abort();
        tmp.p = doc + (tmp.p - copy);
        *v = tmp;
    } else if (rc != 0) {
        abort();
    }
    free(copy);
    return rc;
}

static void check_value(const jscan_val *v, const char *doc, size_t len)
{
    size_t at = (size_t)(v->p - doc);
    switch (v->type) {
    case JSCAN_STRING:
        if (at == 0 || at + v->len >= len || doc[at - 1] != '"' || doc[at + v->len] != '"')
            abort();
        break;
    case JSCAN_OBJECT:
    case JSCAN_ARRAY: {
        char o = v->type == JSCAN_OBJECT ? '{' : '[', c = v->type == JSCAN_OBJECT ? '}' : ']';
        if (v->len < 2 || v->p[0] != o || v->p[v->len - 1] != c)
            abort();
        break;
    }
    case JSCAN_TRUE:
        if (v->len != 4 || memcmp(v->p, "true", 4) != 0)
            abort();
        break;
    case JSCAN_FALSE:
        if (v->len != 5 || memcmp(v->p, "false", 5) != 0)
            abort();
        break;
    case JSCAN_NULL:
        if (v->len != 4 || memcmp(v->p, "null", 4) != 0)
            abort();
        break;
    case JSCAN_NUMBER:
        if (v->len == 0)
            abort();
        for (size_t i = 0; i < v->len; i++)
            if (v->p[i] == '\0' || strchr("0123456789-+.eE", v->p[i]) == NULL)
                abort();
        break;
    default:
        abort();
    }

    int64_t x;
    char num[32];
    if (v->type == JSCAN_STRING) {
        size_t n;
        char *dec = ref_decode(v->p, v->len, &n);
        if (!jscan_text_equals(v, dec, n))
            abort();
        if (n > 0 && jscan_text_equals(v, dec, n - 1))
            abort();
        if (jscan_int(v, &x) == 0) {
            int w = snprintf(num, sizeof num, "%" PRId64, x);
            bool same = (size_t)w == n && memcmp(num, dec, n) == 0;
            bool minus0 = n == 2 && memcmp(dec, "-0", 2) == 0 && x == 0;   /* "-0" reads as 0 */
            if (!same && !minus0)
                abort();
        }
        free(dec);
    } else {
        if (!jscan_text_equals(v, v->p, v->len))
            abort();
        if (v->len > 0 && jscan_text_equals(v, v->p, v->len - 1))
            abort();
        int rc = jscan_int(v, &x);
        if (rc == 0) {
            int w = snprintf(num, sizeof num, "%" PRId64, x);
            bool same = (size_t)w == v->len && memcmp(num, v->p, v->len) == 0;
            bool minus0 = v->len == 2 && memcmp(v->p, "-0", 2) == 0 && x == 0;
            if (v->type != JSCAN_NUMBER || (!same && !minus0))
                abort();
        } else if (v->type == JSCAN_NUMBER && v->len <= 18 &&
                   memchr(v->p, '.', v->len) == NULL && memchr(v->p, 'e', v->len) == NULL &&
                   memchr(v->p, 'E', v->len) == NULL) {
            abort();                            /* a small plain integer must convert */
        }
    }
}

/* The strict reader against jansson over a fresh exact-size copy of doc[0..len). */
static void check_vs_jansson(const char *path, const char *doc, size_t len)
{
    jpath *jp = jpath_compile(path, NULL, 0, NULL);
    char *copy = malloc(len ? len : 1);
    if (jp == NULL || copy == NULL)
        abort();                                /* jscan_compile took it: one grammar */
    memcpy(copy, doc, len);
    json_t *d = json_loadb(copy, len, 0, NULL);
    json_t *jv = d != NULL ? jpath_get(jp, d) : NULL;
    tmpl_val want = { 0 };
    int orc = jv != NULL ? jpath_text(jv, &want) : -1;
    jscan_val v;
    int found = jscan_doc_find(jpath_scan(jp), copy, len, &v);
    if ((orc == 0) != (found == 1))
        abort();
    if (found == 1) {
        size_t n = 0, n2 = 0;
        if (jscan_text(&v, NULL, 0, &n) != 0 || n != want.len ||
            !jscan_text_is(&v, want.p, want.len))
            abort();
        char *got = malloc(n ? n : 1);
        if (got == NULL || jscan_text(&v, got, n, &n2) != 0 || n2 != n ||
            memcmp(got, want.p, n) != 0)
            abort();
        free(got);
    }
    tmpl_val_fini(&want);
    json_decref(d);
    jpath_free(jp);
    free(copy);
}

/* jscan_text on any value: the whole length told, never more written than cap. */
static void text_any(const jscan_val *v)
{
    char small[8];
    size_t n = 0;
    (void)jscan_text(v, small, sizeof small, &n);
    (void)jscan_text_is(v, small, n < sizeof small ? n : sizeof small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t plen = nl != NULL ? (size_t)(nl - in) : size;
    const char *doc = nl != NULL ? nl + 1 : in + size;
    size_t len = size - (size_t)(doc - in);

    char *path = malloc(plen + 1);
    if (path == NULL)
        return 0;
    memcpy(path, in, plen);
    path[plen] = '\0';
    char err[96];
    size_t off = SIZE_MAX;
    jscan_path *p = jscan_compile(path, err, sizeof err, &off);
    if (p == NULL) {
        if (err[0] == '\0' || off > strlen(path))
            abort();
        free(path);
        return 0;
    }
    bool has_steps = strlen(path) > 1;
    check_vs_jansson(path, doc, len);
    free(path);

    jscan_val v;
    int found = find_copy(p, doc, len, &v);
    if (found) {
        check_value(&v, doc, len);
        text_any(&v);
        if (has_steps) {
            /* the value, its closing quote, whitespace, then its delimiter */
            size_t need = (size_t)(v.p - doc) + v.len + (v.type == JSCAN_STRING);
            while (need < len && (doc[need] == ' ' || doc[need] == '\t' ||
                                  doc[need] == '\r' || doc[need] == '\n'))
                need++;
            if (need >= len || (doc[need] != ',' && doc[need] != '}' && doc[need] != ']'))
                abort();
            jscan_val w;
            if (find_copy(p, doc, need + 1, &w) != 1 || w.p != v.p || w.len != v.len ||
                w.type != v.type)
                abort();
            if (need > 0 && find_copy(p, doc, need, &w) != 0)
                abort();
        }
    }
    if (has_steps && len > 0) {
        /* a prefix never finds what the whole does not */
        jscan_val w;
        size_t cut = (size + (size_t)data[0] * 131) % len;
        if (find_copy(p, doc, cut, &w) == 1 &&
            (!found || w.p != v.p || w.len != v.len || w.type != v.type))
            abort();
    }
    /* the raw text as a hand-made string value: the decoder on arbitrary bytes */
    jscan_val raw = { JSCAN_STRING, doc, len };
    int64_t x;
    (void)jscan_text_equals(&raw, in, plen);
    (void)jscan_int(&raw, &x);
    raw.type = JSCAN_NUMBER;
    (void)jscan_int(&raw, &x);
    text_any(&raw);
    if (len > 0 && (doc[0] == '{' || doc[0] == '[')) {
        raw.type = doc[0] == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
        text_any(&raw);
    }
    jscan_free(p);
    return 0;
}
