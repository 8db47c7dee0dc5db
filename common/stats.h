/* A statistics shard: what one engine thread measured during one interval. Entries are
 * keyed by (method, name) as Locust's Type/Name; ids are stable for the run, so a
 * request resolves its entry once (stats_id) and records by id afterwards.
 *
 * Bounds: at most name_cap entries; further names fold into one overflow entry named
 * STATS_OVERFLOW_NAME (its method "*"), and names_folded counts how many distinct names
 * were folded. Errors are kept per (entry, kind, detail) up to STATS_ERR_CAP rows; more
 * fold into one row of kind ERR_OTHER detail "(more error kinds)".
 *
 * Thread: one engine thread owns a shard; nothing locks. The interval counters are
 * reset by stats_shard_reset after the shard has been encoded (proto/msg.h), keeping
 * names; histograms go back to their sparse form, parking dense chunks in the thread's
 * pool (hist.h), so steady state allocates nothing. Memory: see hist.h. */
#ifndef COMMON_STATS_H
#define COMMON_STATS_H
#include <stdbool.h>
#include <stdint.h>
#include "common/hist.h"

#define STATS_NAME_MAX      128         /* bytes of a name, including NUL */
#define STATS_METHOD_MAX    12
#define STATS_DETAIL_MAX    64
#define STATS_ERR_CAP       256
#define STATS_DEFAULT_NAME_CAP 500
#define STATS_OVERFLOW_NAME "(other names)"

/* Kinds travel as integers (proto/msg.h): new kinds are only ever appended. For
 * WebSocket: connect (TCP/resolve), tls, timeout (connect, expect, receive, close),
 * ws_upgrade (the server refused the upgrade; detail: the status), ws_protocol (bad
 * frames, bad UTF-8, bad 101 answer), ws_close (closed by the peer: detail the close
 * code, "1006" when TCP closed without a close frame), expect (a message did not match
 * or a capture failed). */
typedef enum {
    ERR_CONNECT = 0, ERR_TIMEOUT, ERR_TLS, ERR_HTTP_STATUS, ERR_EXPECT, ERR_WS_CLOSE,
    ERR_CANCELLED, ERR_OTHER, ERR_WS_UPGRADE, ERR_WS_PROTOCOL, ERR_KIND_COUNT
} stats_err_kind;

/* WebSocket figures ride in ordinary entries, one per (method, connection name), so the
 * wire format, merging by addition and the name cap need nothing new. Methods:
 *   STATS_WS_MESSAGE   "WS"          message latency (send -> matching expect, or a
 *                                    receive's N messages); requests = expects/receives
 *                                    done, failures = those that timed out or failed
 *   STATS_WS_CONNECT   "WS:connect"  connect time (TCP+TLS+upgrade); requests = attempts
 *                                    (first connects and reconnects), failures = failed
 *   STATS_WS_RECONNECT "WS:reconn"   reconnect time (loss noticed -> open again, backoff
 *                                    included); requests = reconnects that succeeded
 *   STATS_WS_FANOUT    "WS:fanout"   fan-out latency (receiver's wall clock - stamp);
 *                                    requests = stamped messages received
 *   STATS_WS_PING      "WS:ping"     client ping round trip; requests = pongs
 *   STATS_WS_SENT      "WS:sent"     requests = messages sent, bytes = their payload bytes
 *   STATS_WS_RECV      "WS:recv"     requests = messages received, bytes = payload bytes
 *   STATS_WS_ORDER     "WS:order"    requests = messages carrying a sequence number,
 *                                    failures = those out of order
 *   "WS:c:CODE"        (STATS_WS_CLOSE_PREFIX) requests = closes with that code, either
 *                                    side's: ours when we closed, the peer's otherwise
 * Errors are recorded on the "WS" entry (expect/receive) or the "WS:connect" entry
 * (everything about the connection). Only "WS" rows are shown as stats.csv rows (method
 * WS); the rest fill summary.json's ws section. Methods starting with "WS" are left out
 * of the HTTP totals (master/merge.h's aggregate). */
#define STATS_WS_MESSAGE      "WS"
#define STATS_WS_CONNECT      "WS:connect"
#define STATS_WS_RECONNECT    "WS:reconn"
#define STATS_WS_FANOUT       "WS:fanout"
#define STATS_WS_PING         "WS:ping"
#define STATS_WS_SENT         "WS:sent"
#define STATS_WS_RECV         "WS:recv"
#define STATS_WS_ORDER        "WS:order"
#define STATS_WS_CLOSE_PREFIX "WS:c:"
/* The method of iteration rows (STATS_FIG_ITERATION below). */
#define STATS_ITERATION       "ITER"
/* true for every method above. */
bool stats_is_ws_method(const char *method);

/* What a row measures, read once from its method where the row is made (the engine's
 * shard, the decoder, the master's merge), so that nobody downstream parses method
 * strings again. The wire keeps the method strings (the protocol is unchanged). */
typedef enum {
    STATS_FIG_HTTP = 0,         /* an HTTP request row (also the "*" overflow row) */
    STATS_FIG_WS_MESSAGE,       /* "WS" */
    STATS_FIG_WS_CONNECT,       /* "WS:connect" */
    STATS_FIG_WS_RECONNECT,     /* "WS:reconn" */
    STATS_FIG_WS_FANOUT,        /* "WS:fanout" */
    STATS_FIG_WS_PING,          /* "WS:ping" */
    STATS_FIG_WS_SENT,          /* "WS:sent" */
    STATS_FIG_WS_RECV,          /* "WS:recv" */
    STATS_FIG_WS_ORDER,         /* "WS:order" */
    STATS_FIG_WS_CLOSE,         /* "WS:c:CODE" (close_code: CODE when it is a number
                                 * up to 65535, else 0; the text after the prefix is
                                 * what results show) */
    STATS_FIG_WS_OTHER,         /* any other "WS:..." (a newer figure): a WebSocket row
                                 * this build does not interpret */
    STATS_FIG_ITERATION,        /* "ITER" (STATS_ITERATION): one profile's whole
                                 * iterations (name: the profile); lat from the intended
                                 * start (the arrival's in the open model, the actual one
                                 * in the closed) to the flow's end; requests = iterations
                                 * that ended, failures = those in which a step failed.
                                 * Neither HTTP nor WebSocket: out of both totals. */
} stats_fig;
/* The figure of a method (and, for STATS_FIG_WS_CLOSE, the code into *close_code,
 * which may be NULL). */
stats_fig stats_fig_of(const char *method, uint16_t *close_code);
/* true for every WebSocket figure (what stats_is_ws_method says of the method). */
static inline bool stats_fig_is_ws(stats_fig f)
{
    return f >= STATS_FIG_WS_MESSAGE && f <= STATS_FIG_WS_OTHER;
}
/* true for HTTP request rows: what the HTTP totals ("Aggregated") add up. */
static inline bool stats_fig_is_http(stats_fig f) { return f == STATS_FIG_HTTP; }
const char *stats_err_kind_name(stats_err_kind k);        /* "connect", "timeout", ... */
int         stats_err_kind_parse(const char *s);           /* kind or -1 */

/* One statistics row: the same type in the engine's shard (stats_entry), on the wire
 * (proto_stats_entry, proto/msg.h) and in the master's merge (merge_entry,
 * master/merge.h), so the three can never drift apart. fig and close_code are derived
 * from method by whoever makes the row (stats_fig_of); they do not travel. */
typedef struct stats_row {
    char      method[STATS_METHOD_MAX];
    char      name[STATS_NAME_MAX];
    stats_fig fig;              /* what the row measures (from method) */
    uint16_t  close_code;       /* STATS_FIG_WS_CLOSE: the close code */
    uint64_t  requests;         /* failures included */
    uint64_t  failures;
    uint64_t  bytes;            /* response (or message payload) bytes */
    hist      lat;              /* latency of every request (successes and failures): in
                                 * the open model from the intended start (issue 11: the
                                 * first step of an iteration from the arrival's intended
                                 * time, later steps from the end of the step before) */
    hist      svc;              /* service time, from the actual send. Recorded only in
                                 * the open model (stats_record_svc); empty in the closed
                                 * model, where it equals lat: readers take lat when
                                 * svc.total is 0 (stats_row_svc) */
} stats_row;
/* The service histogram of a row: svc, or lat when svc is empty (closed model). */
static inline const hist *stats_row_svc(const stats_row *r)
{
    return r->svc.total ? &r->svc : &r->lat;
}
typedef stats_row stats_entry;  /* in a shard: one interval's counts */

typedef struct stats_err {
    uint32_t       entry;
    stats_err_kind kind;
    char           detail[STATS_DETAIL_MAX];
    uint64_t       count;       /* this interval */
} stats_err;

/* The schedule of the open model, and the engine thread's own load (both models), for
 * one interval of one shard. Sums add across shards and intervals; backlog_max is the
 * most arrivals waiting at once in this shard (the master adds shards' maxima within an
 * interval: master/merge.h). */
typedef struct stats_sched {
    uint64_t intended;          /* arrivals whose intended time fell in the interval */
    uint64_t started;           /* iterations started from an arrival (at once or from
                                 * the backlog) */
    uint64_t dropped;           /* arrivals dropped: the backlog was full, or they were
                                 * still waiting when the run's stages ended */
    uint32_t backlog_max;       /* most arrivals waiting at once */
    hist     lag;               /* actual start - intended start, per started arrival */
    uint64_t cpu_us;            /* the engine thread's CPU time in the interval
                                 * (CLOCK_THREAD_CPUTIME_ID) */
    uint64_t wall_us;           /* the interval's length as the engine thread measured it */
} stats_sched;
/* cpu_us / wall_us over less than this much wall time (a run's final delta, cut short
 * when the engine stops: 20 ms of finishing users read as 100 %) is no measure of an
 * engine's load: master/merge.c's cpu_max and master/health.c's CPU % leave it out. */
#define STATS_LOAD_MIN_WALL_US 100000

/* The engine thread's own health in one interval (issue 13), for the master's
 * workers.csv and summary (master/health.h). Filled by the engine at the interval's end
 * (worker/engine.c engine_emit), zeroed by stats_shard_reset.
 * Loop lag: a timer on the engine's event loop is armed every STATS_LAG_TICK_MS; its
 * lateness (when its callback ran - when it fell due, time_mono_us) is one sample. An
 * engine whose loop is busy (callbacks that run long, a CPU that is not there) fires it
 * late: that is how late every other timer (think times, timeouts, arrivals) was too.
 * Samples taken before the run's synchronized start (the engine waiting for it) are in
 * no interval and not counted. */
#define STATS_LAG_TICK_MS 100
typedef struct stats_health {
    uint64_t lag_max_us;        /* the latest sample of the interval */
    uint64_t lag_sum_us;        /* sum of the samples */
    uint32_t lag_n;             /* samples (about interval / STATS_LAG_TICK_MS) */
    uint32_t conns;             /* HTTP connections (sockets libcurl holds open) and
                                 * WebSocket connections up, at the interval's end */
    uint64_t rss_bytes;         /* the process's resident set at the interval's end
                                 * (/proc/self/statm), 0: unknown */
    uint64_t proc_cpu_us;       /* the whole process's CPU time in the interval as this
                                 * thread measured it (CLOCK_PROCESS_CPUTIME_ID, every
                                 * thread of the worker: engines, agent, libraries) */
    uint64_t retries;           /* issue 15: requests the lean client sent again on a new
                                 * connection in the interval (worker/http.h
                                 * http_result.retries: an idempotent request whose reused
                                 * keep-alive connection closed before any byte came
                                 * back). Each such request is counted once in its row;
                                 * the server may have seen it twice. Added up by
                                 * vu_http_done as requests complete; sums across
                                 * engines, workers and intervals */
} stats_health;

typedef struct stats_shard {
    stats_entry *entries;       /* name_cap + 1 slots allocated at init */
    uint32_t     nentries, name_cap;
    uint32_t    *index;         /* open-addressing hash: entry id + 1, 0 empty */
    uint32_t     index_mask;
    int32_t      overflow_id;   /* -1 until the first folded name */
    uint64_t     names_folded;  /* distinct names folded into the overflow entry */
    stats_err    errs[STATS_ERR_CAP];
    uint32_t     nerrs;
    uint64_t     cancelled;     /* requests cut short by stop, this interval */
    uint32_t     users;         /* active VUs at the end of the interval (set by the engine) */
    stats_sched  sched;         /* filled by the engine; zeroed by stats_shard_reset (the
                                 * lag histogram kept sparse like the rows') */
    stats_health health;        /* filled by the engine; zeroed by stats_shard_reset */
} stats_shard;

/* Allocates the entry table and index up front. 0, or -1 on ENOMEM. */
int  stats_shard_init(stats_shard *s, uint32_t name_cap);
void stats_shard_fini(stats_shard *s);
/* Entry id of (method, name), created when new; the overflow id when full. Never fails
 * (the overflow entry is pre-allocated) and never allocates. The engine calls it once
 * per request (a default name depends on the rendered URL): it copies, cleans and
 * hashes both strings and probes the open-addressing index, O(1) expected; a caller
 * whose name is fixed may keep the id for the run (ids are stable).
 * Names and methods are any bytes: they are cut and stored as valid UTF-8 (every
 * ill-formed byte becomes '?'), so every stored string can go into JSON as it is;
 * stats_error does the same with its detail. */
uint32_t stats_id(stats_shard *s, const char *method, const char *name);
/* Hot path. */
void stats_record(stats_shard *s, uint32_t id, uint64_t latency_us, uint64_t bytes, bool failed);
/* Hot path, open model: stats_record that also records the service time into svc. */
void stats_record_svc(stats_shard *s, uint32_t id, uint64_t latency_us, uint64_t service_us,
                      uint64_t bytes, bool failed);
/* Hot path: counts like stats_record without a latency (WS:sent, WS:recv, WS:order...). */
void stats_count(stats_shard *s, uint32_t id, uint64_t bytes, bool failed);
void stats_error(stats_shard *s, uint32_t id, stats_err_kind kind, const char *detail);
/* Zeroes the interval counters, keeps names and ids (histograms: hist_reset). */
void stats_shard_reset(stats_shard *s);
/* Heap bytes held (entry table, index, histograms; not the thread's hist pool). */
size_t stats_shard_bytes(const stats_shard *s);

/* Default request name: METHOD is separate; the name is the URL's path (no query), with
 * path segments that are all digits, hex of 16+ chars, or UUIDs replaced by "{id}".
 * Writes at most cap bytes including NUL, valid UTF-8 whatever the URL holds. */
void stats_default_name(const char *url, char *out, size_t cap);
#endif
