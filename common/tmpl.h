/* Templates: text with {{ expr }} holes, compiled once when the scenario is parsed and
 * rendered by a virtual user into a buffer the user owns. tmpl_render writes into the
 * caller's fixed buffer and never allocates; tmpl_render_at (and sc_render_headers,
 * common/scenario.h) grow the caller's malloc'd buffer until it reaches its high-water
 * mark, so a VU's steady state allocates nothing; compiling allocates.
 *
 * Expressions (whitespace inside the braces is ignored):
 *   name              a capture variable (set by a step's `capture`)
 *   feeder.column     the VU's current row of a `data` feeder
 *   rand_int(a, b)    uniform integer in [a, b] from the VU's own generator
 *   uuid() | uuid     random version-4 UUID
 *   counter() | counter  an integer unique across the run: per-thread sequence interleaved
 *                     by global thread index (no shared state, unique across workers)
 *   user_id           the VU's global 1-based id (stable for the run, unique across workers)
 *   now_us | now_us()  the wall clock (CLOCK_REALTIME) in microseconds since the epoch,
 *                     read when the template renders (a ws `stamp:` reads it back)
 *   env("NAME") | env(NAME)  a variable's value, fixed at compile time, from the source
 *                     the symbol table names (tmpl_syms.env); none: env() is an error.
 *                     Daemons never read their own environment for it: the CLI that
 *                     submits a run resolves env() and sends the values (proto/plan.h)
 *   'text' | "text"   the text itself (no escapes inside): {{ '{{' }} writes a literal "{{"
 * An unset capture variable renders as the empty string (the request goes out, and the
 * target's answer, say 401, is what the results show). A bare name that is both a
 * capture variable and a built-in means the capture; uuid(), counter() and now_us()
 * always mean the built-in. More decisions are listed atop common/tmpl.c (compiling)
 * and common/tmpl_render.c (rendering).
 *
 * Ownership: a tmpl is heap memory owned by whoever compiled it (the scenario). The
 * symbol table belongs to the scenario and outlives its templates. Thread-safe to
 * render concurrently (templates are immutable after compile). */
#ifndef COMMON_TMPL_H
#define COMMON_TMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/rng.h"

struct data_set;

/* Where env("NAME") takes its value: returns it (borrowed; valid until the compile
 * returns), or NULL with why (the error) and hint filled. Neither may hold a value: an
 * error about env() names the variable, never what it holds. */
typedef const char *(*tmpl_env_fn)(void *ud, const char *name, char *why, size_t whycap,
                                   char *hint, size_t hintcap);
/* The calling process's environment (getenv): for the CLI only (validate, run). */
const char *tmpl_env_process(void *ud, const char *name, char *why, size_t whycap,
                             char *hint, size_t hintcap);
/* No source: always NULL, with the message a daemon gives (env() is resolved by the
 * submitting CLI; the dashboard form cannot supply it). */
const char *tmpl_env_none(const char *name, char *why, size_t whycap, char *hint,
                          size_t hintcap);

/* Names a template may refer to: capture variables (slot = index) and data feeders. */
typedef struct tmpl_syms {
    char   **vars;              /* capture variable names, owned */
    uint32_t nvars, cap;
    const struct data_set *data; /* borrowed; may be NULL */
    tmpl_env_fn env;            /* env() source; NULL: env() is an error (tmpl_env_none) */
    void       *env_ud;         /* borrowed, for env */
} tmpl_syms;
/* Adds name if new; returns its slot, or -1 on allocation failure. */
int  tmpl_syms_add(tmpl_syms *s, const char *name);
int  tmpl_syms_find(const tmpl_syms *s, const char *name);      /* slot or -1 */
void tmpl_syms_fini(tmpl_syms *s);

typedef enum { TMPL_RAW = 0, TMPL_JSON = 1 } tmpl_escape; /* JSON: holes are JSON-string-escaped */

typedef struct tmpl tmpl;

/* Compiles text[len]. On error returns NULL, writes a message and a hint (e.g. the
 * nearest known name for a typo; may be empty) and sets *err_off to the byte offset
 * in text where the problem is. */
tmpl *tmpl_compile(const char *text, size_t len, tmpl_escape esc, const tmpl_syms *syms,
                   char *err, size_t errcap, char *hint, size_t hintcap, size_t *err_off);
void  tmpl_free(tmpl *t);                      /* NULL is harmless */
/* A template with no holes: its text (NUL-terminated, owned by t), else NULL. */
const char *tmpl_static(const tmpl *t, size_t *len);
/* True when an env() value went into t: a message about t's text must not quote it. */
bool        tmpl_uses_env(const tmpl *t);

/* A capture value: a growable buffer owned by the VU. It grows to its high-water mark
 * and is then reused, so steady-state capturing allocates nothing. */
typedef struct tmpl_val {
    char    *p;                 /* NUL-terminated when set */
    uint32_t len, cap;
    bool     set;
} tmpl_val;
int  tmpl_val_set(tmpl_val *v, const char *p, size_t n);    /* 0, or -1 on ENOMEM */
void tmpl_val_fini(tmpl_val *v);

/* Everything a render reads; owned by the VU (and its engine thread). */
typedef struct tmpl_ctx {
    uint64_t        user_id;    /* global, 1-based */
    uint64_t       *rng;        /* VU's xorshift64* state, never 0 */
    uint64_t       *counter;    /* thread's sequence, incremented per use */
    uint32_t        thread_index, threads_total; /* counter = seq * threads_total + thread_index + 1 */
    const tmpl_val *vars;       /* one per capture slot */
    const uint32_t *rows;       /* current row per feeder */
    const struct data_set *data;
} tmpl_ctx;

/* Renders into buf[cap] and returns the full length; when it is >= cap the output was
 * cut and the caller grows buf and renders again. buf is NUL-terminated when cap > 0. */
size_t tmpl_render(const tmpl *t, const tmpl_ctx *c, char *buf, size_t cap);
/* Renders t at (*buf)[off..], growing the malloc'd *buf (*cap bytes) as needed; the
 * buffer keeps its high-water mark, so steady state allocates nothing. Returns the
 * rendered length (NUL-terminated), or -1 on ENOMEM. */
long   tmpl_render_at(const tmpl *t, const tmpl_ctx *c, char **buf, size_t *cap, size_t off);

/* The VU's generator is common/rng.h (rng_next); the nearest-name helper of the "did you
 * mean" hints is common/nearest.h. */
#endif
