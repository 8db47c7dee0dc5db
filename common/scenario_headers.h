/* Rendering a step's headers on the engine thread (the parser's reading of header
 * mappings is in common/scenario_headers.c too, next to this, declared privately in
 * common/scenario_int.h). The headers are templates (common/tmpl.h) owned by the
 * scenario, which is immutable while the engine renders them. */
#ifndef COMMON_SCENARIO_HEADERS_H
#define COMMON_SCENARIO_HEADERS_H
#include <stddef.h>
#include "common/scenario_types.h"

/* Renders headers h[0..n) as "Name: value" lines, each NUL-terminated, back to back
 * into the malloc'd *buf (grown as needed, kept at its high-water mark), then `extra`
 * (a fixed line, or NULL); ptrs gets up to max lines (headers beyond are left out, extra
 * always has room). Returns the number of lines, or -1 on ENOMEM. Engine thread. */
int sc_render_headers(const sc_header *h, int n, const char *extra, const tmpl_ctx *c,
                      char **buf, size_t *cap, const char **ptrs, int max);
#endif
