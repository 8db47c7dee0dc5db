/* jscan_doc: a JSON document read the way jansson's json_loadb(text, len, 0) reads it,
 * without a tree and without allocating, for the checks of worker/check.h (expect json
 * and JSON captures of HTTP responses and WebSocket messages). The lenient finder of
 * common/jscan.h (first duplicate wins, validates only what it walks) stays the one for
 * WebSocket matches; this one answers exactly what jansson answered before it.
 * Pure over the caller's memory, any thread; the walk keeps a few hundred bytes of state
 * on the stack (one bit per open level).
 *
 * The document (jscan_doc_find) is accepted only when jansson would load it:
 * - the root is an object or an array (jansson without JSON_DECODE_ANY), followed by
 *   nothing but whitespace; every byte of it valid (the whole text is validated, also
 *   after the value found: a malformed tail fails the find);
 * - strings hold valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), no
 *   raw control byte, only the JSON escapes, surrogate escapes in pairs, and no \u0000
 *   (jansson refuses it without JSON_ALLOW_NUL, in names too);
 * - an integer (a number without . e E) fits int64; a real does not overflow a double;
 * - no value deeper than JSCAN_DOC_MAX_DEPTH (jansson's parser limit: the root is at
 *   depth 1, each container adds one, scalars included).
 * When an object holds a name twice, the last one counts (jansson keeps the last value),
 * for the path as for the text of an enclosing object.
 *
 * The text of a value found here: common/jscan_text.h. */
#ifndef COMMON_JSCAN_DOC_H
#define COMMON_JSCAN_DOC_H
#include <stdbool.h>
#include <stddef.h>
#include "common/jscan.h"

#define JSCAN_DOC_MAX_DEPTH 2048        /* jansson's JSON_PARSER_MAX_DEPTH */

/* 1 and *out when text[0..len) is a document jansson loads and the value at p exists in
 * it (the last of duplicate names); 0 otherwise. Never reads past len, needs no NUL. */
int  jscan_doc_find(const jscan_path *p, const char *text, size_t len, jscan_val *out);
#endif
