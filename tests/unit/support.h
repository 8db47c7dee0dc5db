/* Shared unit-test fixtures, linked into every unit test binary by the Makefile
 * (tests/unit/support.c; it is no test itself: the Makefile's tests are test_*.c).
 *
 * Two fixtures, each one copy instead of one per test file:
 *  - srv: a WebSocket server on 127.0.0.1 (an ephemeral port) living in the test's own
 *    event_base, on wslay's server API: it answers the upgrade (or refuses it), parses
 *    the client's masked frames and by default echoes each message, obeying a few
 *    commands sent as text ("!send", "!multi", "!many", "!close", "!stamp"; see
 *    srv_echo). One connection at a time: a new one replaces the last. It hangs up
 *    first once close frames went both ways (RFC 6455 7.1.1). A test may give its own
 *    on_msg (test_ws writes fragmented frames by hand with srv_frame).
 *  - stats deltas built by hand (tdelta, td_*) and merged (td_merge, add_*), and a
 *    threshold built by hand (th_mk), for the merge, live view, results and threshold
 *    tests.
 *
 * Threads: everything runs on the calling test's thread; srv only inside that thread's
 * event loop. Ownership: srv_start/srv_stop bracket everything the server holds (its
 * listener, its connection, its wslay context); a tdelta owns its rows' histograms
 * until td_fini (td_merge ends with td_fini). What fails: cmocka assertions (a listener
 * that cannot bind, a refused wslay call, a request without the headers the test asked
 * for, a merge_add that does not return 0) fail the running test. */
#ifndef STAMPEDE_TESTS_UNIT_SUPPORT_H
#define STAMPEDE_TESTS_UNIT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <wslay/wslay.h>

#include "master/merge.h"
#include "master/thresholds.h"

/* ---- loopback WebSocket server ----------------------------------------------------- */

enum {
    SRV_ECHO,           /* upgrade every connection and run on_msg */
    SRV_REFUSE,         /* answer every upgrade 403 */
    SRV_REFUSE_AGAIN,   /* 403 to every connection but the first */
    SRV_BAD_UTF8,       /* upgrade, then send one text frame that is not UTF-8 */
    SRV_SILENT,         /* read the upgrade request and never answer it */
};

#define SRV_WANT_MAX 4

typedef struct srv srv;
/* What the server does with a text or binary message (after counting it in msgs and
 * last); NULL: srv_echo. */
typedef void (*srv_msg_fn)(srv *s, const struct wslay_event_on_msg_recv_arg *a);

struct srv {
    struct event_base *base;
    struct evconnlistener *l;
    int port, mode;
    /* set by the test after srv_start, before its loop runs */
    const char *want[SRV_WANT_MAX]; /* substrings every upgrade request must hold */
    const char *greet_again;    /* sent on every upgraded connection but the first */
    srv_msg_fn on_msg;
    void *ud;                   /* for on_msg */
    /* the connection */
    struct bufferevent *bev;
    wslay_event_context_ptr ctx;
    bool upgraded;
    /* what happened */
    int accepted, upgrades, msgs;
    int eof_without_close;      /* TCP gone before a close frame came */
    uint16_t close_code;        /* received from the client, 0: none */
    int last_op;
    uint8_t last[256];          /* the last message (its first 256 bytes) */
    size_t last_len;
};

/* Listens on 127.0.0.1, an ephemeral port (s->port), in base; mode as above. */
void srv_start(srv *s, struct event_base *base, int mode);
/* Drops the connection and the listener. */
void srv_stop(srv *s);
/* Queues one whole message through wslay (sent after the current read). */
void srv_queue(srv *s, int op, const void *d, size_t n);
/* Writes one frame by hand (unmasked; fin and opcode as given, 0: continuation) straight
 * into the connection's output, ahead of anything wslay still holds. */
void srv_frame(srv *s, bool fin, uint8_t op, const uint8_t *d, size_t n);
/* The default on_msg: binary messages are echoed; text ones are commands
 * ("!send TEXT", "!multi A|B|C" one message each, "!close CODE", "!stamp AGO_US"
 * {"ts": wall clock - AGO_US}, "!many N" m0 .. mN-1) or echoed. */
void srv_echo(srv *s, const struct wslay_event_on_msg_recv_arg *a);

/* ---- stats deltas by hand ------------------------------------------------------------ */

#define TD_CAP 16

typedef struct tdelta {
    proto_stats ps;
    proto_stats_entry ents[TD_CAP];
    proto_stats_err errs[TD_CAP];
} tdelta;

void td_init(tdelta *d);
/* Adds a row with n requests at latencies first_us, first_us + step_us, ... (also
 * recorded into *also when not NULL); `failures` of them failed; n * bytes_each bytes.
 * Returns its index. */
uint32_t td_entry(tdelta *d, const char *method, const char *name, uint64_t n,
                  uint64_t first_us, uint64_t step_us, uint64_t failures,
                  uint64_t bytes_each, hist *also);
/* Adds a row of counts without latencies (as "WS:sent", "WS:recv", "WS:c:CODE"). */
uint32_t td_counts(tdelta *d, const char *method, const char *name, uint64_t requests,
                   uint64_t failures, uint64_t bytes);
/* Adds an error row (kind: a stats_err_kind, or any number to test refusals). */
void td_err(tdelta *d, uint32_t entry, uint32_t kind, const char *detail, uint64_t count);
/* Frees the rows' histograms. */
void td_fini(tdelta *d);
/* merge_add(m, d) (asserted to succeed), then td_fini(d). */
void td_merge(merge_set *m, tdelta *d);

/* Merges one row with the given latencies (us), failures, bytes and error rows into m. */
void add_entry(merge_set *m, const char *method, const char *name, const uint64_t *lat,
               int n, uint64_t failures, uint64_t bytes, const proto_stats_err *errs,
               int nerrs);
/* Merges one row of n requests at first, first + step, ... (us); `failures` failed. */
void add_range(merge_set *m, const char *method, const char *name, int n,
               uint64_t first, uint64_t step, uint64_t failures);
/* Merges one row of counts without latency samples (as "WS:sent", "WS:order"). */
void add_counts(merge_set *m, const char *method, const char *name, uint64_t requests,
                uint64_t failures, uint64_t bytes, const proto_stats_err *errs, int nerrs);

/* An HTTP threshold (ws TH_WS_NONE); expr and name are borrowed. */
sc_threshold th_mk(const char *expr, const char *name, sc_metric metric, sc_op op,
                   double value);

#endif
