/* Extracting values from a response: a JSON path (over a jansson document), a header,
 * or a regex (see below; the first group if there is one, else the whole match).
 * Compiled at parse time; applied on the engine thread to a response the VU holds.
 *
 * JSON path subset: $ . name [index] ['quoted name'], e.g. $.data.items[0].id.
 * A string value captures without quotes; numbers, booleans and null as their JSON
 * text; objects and arrays as compact JSON. */
#ifndef COMMON_CAPTURE_H
#define COMMON_CAPTURE_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "common/tmpl.h"

typedef struct jpath jpath;
/* NULL with a message (and *err_off at the problem) on a malformed path. */
jpath *jpath_compile(const char *path, char *err, size_t errcap, size_t *err_off);
void   jpath_free(jpath *p);
/* The compiled path (owned by p), for common/jscan_doc.h's strict reader: the checks of
 * worker/check.h find values with it, giving what jpath_get and jpath_text give over
 * the jansson tree (which stay, for tests and tools that hold a tree). */
const struct jscan_path *jpath_scan(const jpath *p);
/* The value at p in doc (borrowed from doc), or NULL. */
json_t *jpath_get(const jpath *p, json_t *doc);
/* Writes the value's text (see above) into out. 0, -1 when absent or out of memory. */
int     jpath_text(const json_t *v, tmpl_val *out);

/* Header block as received (lines "Name: value\r\n", possibly several responses when
 * redirects are followed: the last one wins). Case-insensitive name. 0 or -1. */
int capture_header(const char *hdrs, size_t len, const char *name, tmpl_val *out);

/* Regexes (captures, and ws expect and listen matches) are compiled and run by
 * PCRE2, never by POSIX regcomp (glibc's can need 2^N memory for N stacked quantifiers).
 * Patterns are written in POSIX extended style and mostly mean the same; the
 * differences:
 * - Alternation is leftmost-first (Perl), not leftmost-longest: "a|ab" on "ab" matches
 *   "a"; ".*?" is lazy; possessive (a++) and atomic groups, lookarounds, \d \w \s \b
 *   and the other Perl escapes work. Inside brackets a backslash stays literal as in
 *   POSIX ("[\d]" is a backslash or a d); [:class:] names work, collating elements
 *   [.x.] and equivalence classes [=x=] are refused.
 * - A quantifier on a quantifier ("a+++") is an error (POSIX tolerated it).
 * - GNU's \< \> \` \' are not word or buffer anchors (use \b, \A, \z).
 * - '.' matches a newline and '$' only the very end, as POSIX regexec without
 *   REG_NEWLINE; matching is bytewise (no UTF-8 mode).
 * Limits: at most CAPRE_MAX_PATTERN bytes and CAPRE_MAX_NEST nested parentheses at
 * compile (PCRE2 also refuses a compiled form over 64 KiB); per match CAPRE_MATCH_LIMIT
 * backtracking steps, CAPRE_DEPTH_LIMIT nested backtracking frames and
 * CAPRE_HEAP_LIMIT_KIB of heap. A match that reaches a limit counts as no match.
 * Compiled once; matched from any thread concurrently (each thread reuses one match
 * block of its own, freed when the thread ends: no allocation per match). */
#define CAPRE_MAX_PATTERN    4096u
#define CAPRE_MAX_NEST       64u
#define CAPRE_MATCH_LIMIT    1000000u
#define CAPRE_DEPTH_LIMIT    10000u
#define CAPRE_HEAP_LIMIT_KIB 8192u

typedef struct capre capre;
/* NULL with a message ("invalid regex: ...") and *err_off (may be NULL) at the byte of
 * re where the problem is. */
capre *capre_compile(const char *re, char *err, size_t errcap, size_t *err_off);
void   capre_free(capre *r);
/* body must be NUL-terminated. 0 on a match (value written), -1 otherwise. */
int    capre_match(const capre *r, const char *body, tmpl_val *out);
#endif
