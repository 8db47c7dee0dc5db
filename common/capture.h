/* Extracting values from a response: a JSON path (over a jansson document), a header,
 * or a regex (POSIX extended; the first group if there is one, else the whole match).
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
/* The value at p in doc (borrowed from doc), or NULL. */
json_t *jpath_get(const jpath *p, json_t *doc);
/* Writes the value's text (see above) into out. 0, -1 when absent or out of memory. */
int     jpath_text(const json_t *v, tmpl_val *out);

/* Header block as received (lines "Name: value\r\n", possibly several responses when
 * redirects are followed: the last one wins). Case-insensitive name. 0 or -1. */
int capture_header(const char *hdrs, size_t len, const char *name, tmpl_val *out);

typedef struct capre capre;
capre *capre_compile(const char *re, char *err, size_t errcap);
void   capre_free(capre *r);
/* body must be NUL-terminated. 0 on a match (value written), -1 otherwise. */
int    capre_match(const capre *r, const char *body, tmpl_val *out);
#endif
