/* One check path for what a VU receives: an HTTP response (status, body, headers) and a
 * WebSocket message both go through here for their expect conditions and captures, so
 * a capture means the same on either (worker/engine.c calls check_http, worker/wsflow.c
 * check_captures). Engine thread; pure over the caller's memory: captured values go to
 * the VU's variables (tmpl_val, grown to their high-water mark), nothing else is kept.
 *
 * Captures (common/capture.h): JSON path, header, regex. A capture that does not happen
 * leaves its variable unset and fails: the response did not deliver what the flow
 * relies on. They run in order and stop at the first that fails.
 *
 * JSON: expect json and JSON captures read the body with common/jscan_doc.h's strict
 * reader, without a tree and without allocating (a variable's buffer grows only past its
 * high-water mark). They answer what jansson answered before: a body jansson would not
 * load (malformed anywhere, even after the value; a root that is not an object or an
 * array; invalid UTF-8; \u0000; an integer beyond int64; a real that overflows; deeper
 * than 2048) fails every JSON condition; of duplicate names the last counts; a value's
 * text is jpath_text's (common/capture.h: strings unquoted, reals in their shortest
 * round-trip form, objects and arrays as compact JSON). */
#ifndef WORKER_CHECK_H
#define WORKER_CHECK_H
#include <stdbool.h>
#include <stddef.h>
#include "common/scenario.h"
#include "common/stats.h"
#include "common/tmpl.h"

/* What arrived: body[0..len) (NULL when not kept; body[len] must be NUL when a
 * contains or regex condition reads it), headers as received (NULL when not kept). */
typedef struct check_input {
    long        status;         /* HTTP status; ignored by check_captures */
    const char *body;
    size_t      len;
    const char *hdrs;
    size_t      hdrs_len;
} check_input;

/* An http step's expect (status, contains, json) and captures over a response. true
 * when the response is acceptable; else *kind and detail (cap bytes) say why:
 * http_status "503", expect "body lacks ...", the json path as written, "capture VAR". */
bool check_http(const sc_http *h, const check_input *in, tmpl_val *vars,
                stats_err_kind *kind, char *detail, size_t cap);
/* Runs n captures over in (JSON, header when in->hdrs, regex). NULL when all
 * happened, else the variable of the first that did not. */
const char *check_captures(const sc_capture *c, int n, const check_input *in, tmpl_val *vars);
/* Which parts of a response an http step's checks read (the transport keeps only those). */
void check_http_needs(const sc_http *h, bool *body, bool *hdrs);
#endif
