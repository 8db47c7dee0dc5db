/* jscan's private half: the compiled path and the scanning primitives shared by
 * common/jscan.c (the lenient finder for WebSocket messages), common/jscan_doc.c (the
 * strict reader for checks, as jansson reads a document) and common/jscan_text.c (a
 * value's text). Not for other modules.
 * Everything here is pure over the caller's memory: no allocation, any thread. */
#ifndef COMMON_JSCAN_INT_H
#define COMMON_JSCAN_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/jscan.h"

#define JSCAN_NPOS ((size_t)-1)

typedef struct jscan_step {
    const char *key;            /* into the path's own block; NULL for an index step */
    size_t      keylen;
    size_t      index;
} jscan_step;

struct jscan_path {
    size_t     nsteps;
    jscan_step steps[];         /* followed by the names' bytes */
};

/* Where decoded string bytes go while a string is walked: compared against want (keys,
 * jscan_text_equals) and/or copied into a buffer. Never allocates. */
typedef struct jscan_sink {
    const char *want;           /* NULL: nothing to compare */
    size_t      wantlen, k;     /* k: bytes of want matched so far */
    bool        same;           /* still equal so far */
    char       *buf;            /* NULL: nothing to copy */
    size_t      bufcap;         /* buf receives stream bytes [skip, skip + bufcap) */
    size_t      skip;
    size_t      buflen;         /* bytes of the stream so far (may exceed bufcap) */
    bool        esc;            /* bytes are written JSON-escaped as jansson dumps them */
    bool        nonul;          /* a \u0000 escape makes the string malformed */
} jscan_sink;

/* Hands n bytes of output to the sink (escaped when k->esc); NULL is harmless. */
void   jscan_emit(jscan_sink *k, const char *b, size_t n);
/* Index past the whitespace at s[i] (JSON's four whitespace bytes). */
size_t jscan_ws(const char *s, size_t len, size_t i);
/* Walks string content from s[i]: up to the closing quote when quoted, or to len when
 * not. Validates escapes and control characters and hands the decoded bytes to sink.
 * The closing quote's index (quoted) or len, or JSCAN_NPOS when malformed. */
size_t jscan_str_walk(const char *s, size_t len, size_t i, bool quoted, jscan_sink *sink);
/* A JSON number at s[*pos] (grammar only); *pos moves past it. 0 or -1. */
int    jscan_num(const char *s, size_t len, size_t *pos);
/* An integer written as JSON writes one, -?(0|[1-9][0-9]*), within int64. 0 or -1. */
int    jscan_parse_int(const char *t, size_t n, int64_t *out);
/* Whether the JSON number t[0..n) is an integer to jansson (no '.', 'e' or 'E'). */
bool   jscan_is_int(const char *t, size_t n);
/* strtod of the JSON number t[0..n) (any length, no NUL needed); -1 on overflow. */
int    jscan_strtod(const char *t, size_t n, double *out);
#endif
