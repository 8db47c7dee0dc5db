/* The private half of master/live.h: what live.c (the dashboard's JSON) and
 * live_metrics.c (the Prometheus text) share. Pure helpers, any thread, no globals;
 * nothing here is for other modules. */
#ifndef MASTER_LIVE_INT_H
#define MASTER_LIVE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "master/coord_types.h"
#include "master/merge.h"

#define LIVE_RUN_ID_LEN 24
#define LIVE_FFFD "\xEF\xBF\xBD"            /* U+FFFD REPLACEMENT CHARACTER */

/* A growing text buffer; a failed allocation sets oom and later appends do nothing.
 * The caller owns p (free). */
typedef struct live_buf {
    char  *p;
    size_t len, cap;
    bool   oom;
} live_buf;

bool live_reserve(live_buf *b, size_t more);
void live_putn(live_buf *b, const char *s, size_t n);
void live_puts(live_buf *b, const char *s);
void live_printf(live_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as valid UTF-8, one-to-one (live.c says how); label: escaped for Prometheus too. */
void live_clean(live_buf *b, const char *s, bool label);
/* The run id in decimal. */
void live_run_id(char *buf, size_t cap, uint64_t run_id);

/* qsort comparator of merge_entry pointers: (name, method), as stats.csv. */
int  live_cmp_entry(const void *a, const void *b);
/* Pointers to the entries of m (may be NULL) for which keep() holds, sorted by cmp
 * (caller frees); *n the count. NULL on ENOMEM. */
const merge_entry **live_pick(const merge_set *m, bool (*keep)(const merge_entry *),
                              int (*cmp)(const void *, const void *), uint32_t *n);
bool live_is_http(const merge_entry *e);    /* HTTP request rows */
bool live_is_ws(const merge_entry *e);      /* every WebSocket figure */
bool live_is_iter(const merge_entry *e);    /* ITER rows (one per profile) */

/* The whole-run schedule figures: from the totals when given (exact), else from the
 * status; limited is the larger of both (issue 11). */
typedef struct live_sched {
    uint64_t intended, started, dropped, limited;
    uint32_t backlog_max;
    const hist *lag;            /* NULL without totals */
} live_sched;
live_sched live_sched_of(const coord_status *st, const merge_set *t);
#endif
