/* Private to the templates (common/tmpl.c compiles, common/tmpl_render.c renders): the
 * compiled form. A template is a list of parts over one literal pool; a template without
 * run-time holes is exactly its pool (is_static). Immutable once compiled, so any number
 * of engine threads render it at once. Not for other modules: common/tmpl.h is the
 * contract. (This header does not include tmpl.h, so the two stay one-way.) */
#ifndef COMMON_TMPL_INT_H
#define COMMON_TMPL_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    TP_LIT,                     /* a = offset in lit, b = length */
    TP_VAR,                     /* a = capture slot */
    TP_FEED,                    /* a = feeder index, b = column index */
    TP_RAND,                    /* lo..hi */
    TP_UUID,
    TP_COUNTER,
    TP_USER,
    TP_NOW_US,                  /* wall clock, microseconds since the epoch */
} tmpl_part_kind;

typedef struct tmpl_part {
    tmpl_part_kind kind;
    uint32_t       a, b;
    int64_t        lo, hi;
} tmpl_part;

struct tmpl {
    int         esc;            /* tmpl_escape */
    bool        is_static;      /* only TP_LIT parts: lit is the whole output */
    bool        uses_env;       /* an env() value is in lit: keep it out of messages */
    uint32_t    nparts;
    tmpl_part  *parts;
    char       *lit;            /* literal pool, NUL-terminated, owned */
    size_t      litlen;
};
#endif
