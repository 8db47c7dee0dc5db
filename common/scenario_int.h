/* Private to the scenario parser (common/scenario.c and common/scenario_*.c): the parse
 * context every section reader receives, the limits, the libyaml node helpers and the
 * prototypes the parser's files share. Not for other modules: common/scenario.h is the
 * contract.
 *
 * Threads: one parse runs on one thread with its own sc_ctx; nothing here is shared.
 * Errors: every reader returns 0, or -1 after recording the first error in c->err
 * (sc_fail and friends: later errors are dropped, so the first one wins). What a reader
 * has stored into the scenario being built stays there when it fails and is freed with
 * it (scenario_free), so readers never undo those steps; scratch memory (a body being
 * assembled, a file's bytes) the reader frees itself. */
#ifndef COMMON_SCENARIO_INT_H
#define COMMON_SCENARIO_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>
#include "common/scenario_types.h"

#define SC_MAX_STEP_DEPTH  16           /* loop/group nesting */
#define SC_MAX_JSON_DEPTH  64           /* nesting inside a json: body */
/* YAML collections nested in all, checked before libyaml loads the text: above what
 * 16 step levels (3 collections each) and a 64-level json: body can need. */
#define SC_MAX_YAML_DEPTH  128
#define SC_MAX_WORK        2000000u     /* nodes visited in all, against alias bombs */
#define SC_MAX_BODY        (1u << 20)   /* bytes of a json/form body as compiled */
#define SC_MAX_WEIGHT      100000u      /* total_weight: size of profile_seq */
#define SC_MAX_PROFILES    1000
/* load.max_backlog (open model): 10 x SC_MAX_USERS, so the default max(10 x max_users,
 * 1000) always fits; the engine keeps 8 bytes per waiting arrival. */
#define SC_MAX_BACKLOG     10000000u
#define SC_MAX_FILE        (256u << 20) /* scenario or CSV read from disk */
/* Regexes: POSIX extended style run by PCRE2 (common/capture.h lists the differences). */
#define SC_REGEX_HINT "POSIX extended syntax, run by PCRE2 (no quantifier on a quantifier, " \
                      "at most 4096 characters)"
#define SC_DEFAULT_TIMEOUT_MS  10000u
#define SC_DEFAULT_GRACEFUL_MS 30000u

/* ---- parse context ------------------------------------------------------------------ */

typedef struct sc_setnode { int node, set; } sc_setnode;

typedef struct sc_ctx {
    yaml_document_t  doc;
    scenario        *sc;
    sc_error        *err;
    const char      *text;      /* the scenario text, for libyaml error context */
    size_t           len;
    const sc_set    *sets;
    sc_setnode      *setnodes;  /* nodes created by --set: errors name the override */
    int              nsetnodes, capsetnodes;
    sc_read_fn       read;
    void            *read_ud;
    uint64_t         work;
    yaml_node_t     *defhdrs;   /* defaults.headers mapping, merged into each http and ws
                                 * connect step */
    bool             ws_open;   /* a ws connect was seen earlier in the current flow */
    /* Set while reading steps that must end (an open-model flow, any setup): a loop
     * without a count is refused with this message and hint; NULL: loops may be endless. */
    const char      *endless_msg, *endless_hint;
    /* The stats names of http steps without name: (their url with each {{ }} hole as
     * "1", through stats_default_name), for the threshold name warning. Owned by the
     * parse; freed by scenario_parse_env. */
    char           **defnames;
    int              ndefnames, capdefnames;
} sc_ctx;

/* ---- libyaml nodes ------------------------------------------------------------------ */

static inline yaml_node_t *sc_node(sc_ctx *c, int idx)
{
    return yaml_document_get_node(&c->doc, idx);
}

static inline const char *sc_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static inline bool sc_is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

/* A plain empty, "~" or "null" scalar: YAML's null ("name:" with nothing after). */
static inline bool sc_is_null(const yaml_node_t *n)
{
    if (!sc_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sc_sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

#define SC_FOREACH_PAIR(p, map) \
    for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start; p < (map)->data.mapping.pairs.top; p++)
#define SC_NPAIRS(map) ((int)((map)->data.mapping.pairs.top - (map)->data.mapping.pairs.start))
#define SC_NITEMS(seq) ((int)((seq)->data.sequence.items.top - (seq)->data.sequence.items.start))

/* ---- scenario_yaml.c: errors, typed readers, key checks, templates, --set ---------- */

/* Record the first error at node n (NULL: no place); sc_fail_at moves the column coladd
 * bytes into a scalar. A node made by --set is named by its override instead (line 0).
 * Always -1, so callers can `return sc_fail(...)`. */
__attribute__((format(printf, 4, 5)))
int sc_fail(sc_ctx *c, const yaml_node_t *n, const char *hint, const char *fmt, ...);
__attribute__((format(printf, 5, 6)))
int sc_fail_at(sc_ctx *c, const yaml_node_t *n, size_t coladd, const char *hint,
               const char *fmt, ...);
/* Counts a visited node against SC_MAX_WORK (aliases can multiply a small file). */
int sc_tick(sc_ctx *c, const yaml_node_t *n);
/* "what was found", for "expected X, found Y" (buf holds a quoted scalar). */
const char *sc_found(const yaml_node_t *n, char *buf, size_t cap);
/* Value of key in map, or NULL; *keyn gets the key node when asked. */
yaml_node_t *sc_get(sc_ctx *c, const yaml_node_t *map, const char *key, yaml_node_t **keyn);
/* Required key: its value, or NULL after an error at the mapping that lacks it. */
yaml_node_t *sc_need(sc_ctx *c, const yaml_node_t *map, const char *key, const char *where,
                     const char *hint);
/* Index of scalar n's text among words[0..nw), or -1 (n is no scalar, or none matches). */
int sc_word_index(const yaml_node_t *n, const char *const *words, size_t nw);
/* "did you mean 'W'?" into buf for the word nearest to word (common/nearest.h) and
 * returns buf; fallback when there is none or word is NULL. */
const char *sc_did_you_mean(char *buf, size_t cap, const char *word, const char *const *words,
                            size_t nw, const char *fallback);
/* The keys of a mapping, one table each, in the manner of redis's config table: a row
 * per key with how its value is read, the field it goes to (offsetof in the object the
 * caller passes), its bounds and how messages name it. The table's order is the order
 * of the "known keys" list in messages. Rows the caller reads itself (a list, a nested
 * mapping, a value with checks of its own) are SC_K_OWN: known, but not read here. */
typedef enum {
    SC_K_OWN,           /* known key; the caller reads it */
    SC_K_TEXT,          /* char *, non-empty, a copy (sc_text) */
    SC_K_DURATION,      /* uint64_t ms (sc_duration); lo 1: must be more than 0 */
    SC_K_U32,           /* uint32_t, a whole number within lo..hi (sc_int) */
    SC_K_BOOL,          /* bool: true/yes/on, false/no/off (sc_bool) */
    SC_K_ENUM,          /* int: the index of the value among words */
    SC_K_RATE,          /* double per second (sc_rate: 50, 50/s, 3000/m, 100/h), 0 allowed,
                         * at most SC_MAX_RATE */
} sc_ktype;

typedef struct sc_key {
    const char        *name;
    sc_ktype           type;
    size_t             off;         /* field: offsetof(T, field) in the object read into */
    long long          lo, hi;      /* SC_K_U32 bounds; SC_K_DURATION: lo 1 = positive */
    const char        *what;        /* the value in messages ("defaults.timeout"); for
                                     * SC_K_ENUM NULL means "NAME of WHERE" */
    bool               required;    /* absent: "WHERE is missing 'NAME'" with hint */
    const char        *hint;
    const char *const *words;       /* SC_K_ENUM: the values, in index order */
    size_t             nwords;
    unsigned           mask;        /* the mapping's own use (ws step: the kinds taking it) */
} sc_key;
#define SC_NKEYS(tab) (sizeof (tab) / sizeof *(tab))
#define SC_MAX_KEYS   32            /* rows in one table */

/* Index of the row named name in tab[0..n), or -1. */
int sc_key_index(const sc_key *tab, size_t n, const char *name);
/* Each key of map is text, in tab (else the nearest key of tab is the hint) and there
 * once. `where` names the mapping in messages ("the http step"). */
int sc_check_keys(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab,
                  size_t n);
/* Reads one row's key from map into obj (nothing when it is absent and not required;
 * SC_K_OWN rows are left to the caller); sc_read finds the row by key, sc_read_all
 * reads every row in table order. `where` names the mapping in "missing" messages. */
int sc_read_row(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *row,
                void *obj);
int sc_read(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab, size_t n,
            const char *key, void *obj);
int sc_read_all(sc_ctx *c, const yaml_node_t *map, const char *where, const sc_key *tab,
                size_t n, void *obj);
int sc_want_map(sc_ctx *c, const yaml_node_t *n, const char *what);
int sc_want_list(sc_ctx *c, const yaml_node_t *n, const char *what, const char *eg); /* non-empty */
/* Typed scalars; `what` names the value in messages. sc_text: non-empty, *out a copy. */
int sc_text(sc_ctx *c, const yaml_node_t *n, const char *what, char **out);
int sc_duration(sc_ctx *c, const yaml_node_t *n, const char *what, bool positive, uint64_t *out);
int sc_int(sc_ctx *c, const yaml_node_t *n, const char *what, long long lo, long long hi,
           long long *out);
int sc_bool(sc_ctx *c, const yaml_node_t *n, const char *what, bool *out);
int sc_rate(sc_ctx *c, const yaml_node_t *n, const char *what, double *out);
bool sc_is_ident(const char *s);    /* a word: letters, digits, _ and - */
/* Column offset inside scalar n of byte off of its value (0 when it cannot tell), and
 * where a regex error points (the pattern's start when the problem is its end). */
size_t sc_scalar_col(const yaml_node_t *n, size_t off);
size_t sc_regex_col(const yaml_node_t *n, const char *re, size_t off);
/* Compiles text[len] (from node n) against the scenario's names; NULL after an error
 * pointing into the scalar. */
tmpl *sc_tmpl(sc_ctx *c, const yaml_node_t *n, const char *text, size_t len, tmpl_escape esc,
              const char *what);
/* Applies the override c->sets[si] to the tree; -1 with c->err filled. */
int sc_apply_set(sc_ctx *c, int si);
/* Before the load: refuses text nested deeper than SC_MAX_YAML_DEPTH. After a failed
 * load: libyaml's error with its place and a hint. */
int  sc_depth_scan(sc_ctx *c);
void sc_yaml_error(sc_ctx *c, const yaml_parser_t *p);

/* ---- scenario_body.c: request and message bodies ------------------------------------ */

/* json: VALUE as JSON text with the holes kept, compiled TMPL_JSON (`what` names it in
 * messages: "the json body", "the json message"); form: { name: value } percent-encoded,
 * compiled TMPL_RAW. NULL after an error. */
tmpl *sc_json_body(sc_ctx *c, const yaml_node_t *n, const char *what);
tmpl *sc_form_body(sc_ctx *c, const yaml_node_t *n);

/* ---- scenario_headers.c: header mappings --------------------------------------------- */

bool sc_header_name_ok(const char *s);      /* an HTTP token */
/* Header mapping (or null) into *out, with the defaults mapping's headers that the step
 * does not set (names compared ignoring case) first. */
int  sc_headers(sc_ctx *c, const yaml_node_t *map, const yaml_node_t *defaults,
                sc_header **out, int *nout);
void sc_headers_free(sc_header *h, int n);

/* ---- scenario_steps.c: http, think, loop and group steps, expect, captures ----------- */

/* Pass one over a flow: every capture variable, so a template may use one captured later. */
int  sc_collect(sc_ctx *c, const yaml_node_t *steps, int depth);
/* A list of steps into *out (nesting depth for loops and groups). */
int  sc_steps(sc_ctx *c, const yaml_node_t *seq, const char *what, sc_step **out, int *nout,
              int depth);
/* capture: { var: { json | header | regex: ... } }; ws: a message's (json or regex). */
int  sc_captures(sc_ctx *c, const yaml_node_t *n, sc_capture **out, int *nout, bool ws);
void sc_captures_free(sc_capture *cp, int n);
void sc_steps_free(sc_step *s, int n);
void sc_steps_free_one(sc_step *s);     /* what the step holds, not the step itself */

/* ---- scenario_flow.c: tags, on_failure, pick and if steps, warnings ------------------ */

/* tags: [a, b] (or one word) into *t. */
int  sc_tags_read(sc_ctx *c, const yaml_node_t *n, sc_tags *t);
void sc_tags_free(sc_tags *t);
int  sc_on_failure_read(sc_ctx *c, const yaml_node_t *n, sc_on_failure *out);
/* pick: [ branches ] into st (kind set by the caller); depth as for sc_steps. */
int  sc_pick(sc_ctx *c, const yaml_node_t *n, sc_step *st, int depth);
/* if: COND (n) with then: / else: read from the step's mapping (step). */
int  sc_if(sc_ctx *c, const yaml_node_t *step, const yaml_node_t *n, sc_step *st, int depth);
void sc_flow_fini(sc_step *s);          /* what a pick or if step holds */
/* Records the default stats name of an http step without name: whose url is text. */
void sc_note_default_name(sc_ctx *c, const char *url);
/* A threshold naming requests by a name with a space or a slash (a default name): a
 * warning when neither names[0..n) (explicit step and group names) nor a default name
 * of the scenario's http steps is that name. */
void sc_warn_threshold_name(sc_ctx *c, const yaml_node_t *t, const char *name,
                            const char *const *names, size_t n);
/* Appends a warning to sc->warnings; -1 on ENOMEM (the warning is lost, nothing else). */
__attribute__((format(printf, 5, 6)))
int  sc_warn(scenario *sc, int line, int col, const char *hint, const char *fmt, ...);

/* ---- scenario_monitor.c: the monitor section ---------------------------------------- */

int  sc_monitor_read(sc_ctx *c, const yaml_node_t *n);
void sc_monitor_fini(sc_monitor *m);
/* A monitor threshold's target and metric exist (the section is read first); -1 after
 * an error at node t. */
int  sc_monitor_check_threshold(sc_ctx *c, const yaml_node_t *t, const sc_threshold *th);

/* ---- scenario_ws.c: WebSocket steps -------------------------------------------------- */

extern const char *const sc_ws_kinds[];    /* "connect", ... in sc_ws_kind order */
extern const sc_key sc_ws_keys[];           /* every key a ws step takes */
extern const size_t sc_ws_nkeys;
int  sc_ws_step(sc_ctx *c, const yaml_node_t *n, sc_ws *w);
void sc_ws_fini(sc_ws *w);
#endif
