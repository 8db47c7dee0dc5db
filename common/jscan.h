/* jscan: finding one value by JSON path in JSON text without parsing it into a tree and
 * without allocating: the per-message checks of WebSocket steps (expect json, sequence,
 * stamp) run on every message a VU receives, on the engine's hot path.
 *
 * Path syntax: the same subset as common/capture.h's jpath: $ . name [index]
 * ['quoted name'], e.g. $.data.items[0].id. A path is compiled once (scenario parse,
 * allocates) and is immutable afterwards, safe to use from any thread.
 *
 * Scanning: jscan_find walks the text once, skipping the values it does not need; it
 * validates only what it walks (a message that is not JSON, or is malformed before the
 * value is reached, is "not found"). It never reads past len, needs no NUL, never
 * recurses deeper than JSCAN_MAX_DEPTH (deeper documents are "not found"), and never
 * allocates. When an object holds a key twice, the first wins. (The checks of HTTP
 * responses and WebSocket captures read documents strictly, as jansson does, with the
 * last duplicate winning: common/jscan_doc.h, over the same compiled paths.)
 *
 * Value text (jscan_text_equals, jscan_int): a string compares by its decoded content
 * (escapes \" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs included, decoded on the fly);
 * numbers, true, false and null by their JSON text as written; objects and arrays by
 * their text as written. */
#ifndef COMMON_JSCAN_H
#define COMMON_JSCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_DEPTH 64

typedef struct jscan_path jscan_path;

typedef enum { JSCAN_STRING, JSCAN_NUMBER, JSCAN_TRUE, JSCAN_FALSE, JSCAN_NULL,
               JSCAN_OBJECT, JSCAN_ARRAY } jscan_type;

typedef struct jscan_val {
    jscan_type  type;
    const char *p;              /* into the text: strings without their quotes (escapes
                                 * still encoded), everything else its whole JSON text */
    size_t      len;
} jscan_val;

/* NULL with a message (and *err_off, the byte offset of the problem) on a malformed
 * path or out of memory. */
jscan_path *jscan_compile(const char *path, char *err, size_t errcap, size_t *err_off);
void        jscan_free(jscan_path *p);      /* NULL is harmless */
/* The compiled steps (the one grammar also serves common/capture.h's jpath): step i is
 * a name (returned, keylen bytes, not NUL-terminated) or, when NULL is returned, an
 * array index (*index). */
size_t      jscan_nsteps(const jscan_path *p);
const char *jscan_step_at(const jscan_path *p, size_t i, size_t *keylen, size_t *index);

/* 1 and *out when the value at p exists in text[0..len); 0 when it does not, or the
 * text is not JSON as far as the walk went. */
int  jscan_find(const jscan_path *p, const char *text, size_t len, jscan_val *out);
/* true when v's text (see above) equals s[0..slen). */
bool jscan_text_equals(const jscan_val *v, const char *s, size_t slen);
/* An integer: a JSON number without fraction or exponent, or a string holding only
 * one ("17"), within int64. 0 with *out, or -1. */
int  jscan_int(const jscan_val *v, int64_t *out);
#endif
