/* The wire protocol between master and workers (proto/PROTOCOL.md is the reference).
 * Every message is one msgpack array: [version, type, body...] where body is a
 * fixed-order array per type (positional, compact; unknown trailing fields are ignored
 * so a newer minor revision can append). PROTO_VERSION changes on incompatible edits;
 * a message with another version is dropped and counted by the receiver.
 *
 * Decoding treats input as hostile: msgpack-c believes declared lengths, so the
 * decoder first checks the size (<= PROTO_MAX_MSG) and walks the raw bytes checking
 * every declared array/map/str/bin length against the bytes left before unpacking
 * anything; strings are length-checked against their field's bound; histogram indexes
 * against HIST_NCOUNTS; element counts against PROTO_MAX_ENTRIES/PROTO_MAX_ERRS.
 *
 * Ownership: proto_encode_* return a malloc'd buffer the caller frees (or hands to
 * nng_msg_append and frees). proto_decode fills a proto_msg whose pointers are owned by
 * it: proto_msg_free releases them. No global state; any thread. */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/hist.h"
#include "common/stats.h"

#define PROTO_VERSION     4   /* 3: error kinds ws_upgrade, ws_protocol; 4: sealed session, PLAN env */
#define PROTO_MAX_MSG     (32u << 20)      /* bytes */
#define PROTO_MAX_ENTRIES 100000u
#define PROTO_MAX_ERRS    STATS_ERR_CAP
#define PROTO_MAX_FILES   64u
#define PROTO_MAX_SETS    256u
#define PROTO_MAX_ENV     256u
#define PROTO_ID_MAX      64
#define PROTO_HOST_MAX    128
#define PROTO_REASON_MAX  512

typedef enum {
    MSG_HELLO = 1,     /* worker -> master: who I am */
    MSG_PLAN = 2,      /* master -> one worker: scenario + this worker's share + start time */
    MSG_STOP = 3,      /* master -> worker: stop the run (graceful window) */
    MSG_STATS = 4,     /* worker -> master: one engine thread's interval delta */
    MSG_DONE = 5,      /* worker -> master: every engine of the run has sent its final delta */
    MSG_REFUSE = 6,    /* worker -> master: plan refused, with the reason */
    MSG_HEARTBEAT = 7, /* both ways, every second; any message also proves liveness */
    MSG_CHALLENGE = 8, /* master -> worker when its pipe appears: nonce, key required? */
    MSG_WELCOME = 9,   /* master -> worker: hello accepted, with the master's key proof */
    MSG_REJECT = 10,   /* master -> worker: hello refused (bad proof, version), reason */
    MSG_ADOPT = 11,    /* master -> worker: run these user slots too (re-plan) */
    MSG_RELEASE = 12,  /* master -> worker: stop running these user slots (re-plan) */
    MSG_ACK = 13,      /* master -> worker: your DONE arrived (a leaving worker may close) */
} proto_type;

#define PROTO_NONCE_LEN 32
#define PROTO_PROOF_LEN 32
#define PROTO_MAX_SLOTS 4096u

typedef struct proto_hello {
    char     id[PROTO_ID_MAX];
    char     host[PROTO_HOST_MAX];
    uint32_t cores, threads;
    char     version[32];
    uint32_t caps;              /* bit 0: http, bit 1: ws, bit 2: http2 */
    uint8_t  nonce[PROTO_NONCE_LEN];  /* the worker's challenge to the master */
    uint8_t  proof[PROTO_PROOF_LEN];  /* HMAC over the master's nonce (proto/auth.h) */
    bool     has_proof;         /* false when the worker has no key */
} proto_hello;

typedef struct proto_challenge {
    uint8_t nonce[PROTO_NONCE_LEN];
    bool    key_required;
} proto_challenge;

typedef struct proto_welcome {
    char    master[PROTO_ID_MAX];
    uint8_t proof[PROTO_PROOF_LEN];   /* HMAC over the worker's nonce */
    bool    has_proof;
} proto_welcome;

typedef struct proto_reject { char reason[PROTO_REASON_MAX]; } proto_reject;

/* ADOPT and RELEASE: user slots (see proto_plan.slots) moving between workers. */
typedef struct proto_slots {
    uint64_t  run_id;
    uint32_t *slots;            /* owned */
    uint32_t  nslots;
} proto_slots;

typedef struct proto_ack { uint64_t run_id; } proto_ack;

typedef struct proto_file { char *path; char *data; size_t len; } proto_file;
typedef struct proto_set  { char *key; char *value; } proto_set;

typedef struct proto_plan {
    uint64_t    run_id;
    char       *scenario_file;  /* name for messages and relative paths */
    char       *scenario;       /* YAML text */
    size_t      scenario_len;
    proto_file *files;          /* data files the scenario names, with their contents */
    uint32_t    nfiles;
    proto_set  *sets;           /* --set overrides */
    uint32_t    nsets;
    char       *host;           /* --host override or NULL */
    uint32_t    users;          /* -u override, 0 none */
    double      rate;           /* -r override, 0 none */
    uint64_t    duration_ms;    /* -t override, 0 none */
    /* Users are dealt into threads_total slots: global user k belongs to slot
     * k % threads_total. A worker runs the slots listed (its engines share them out);
     * on a re-plan slots move between workers (ADOPT / RELEASE), so survivors keep their
     * own users and the lost worker's users restart on them. */
    uint32_t   *slots;          /* owned; nslots <= PROTO_MAX_SLOTS */
    uint32_t    nslots;
    uint32_t    threads_total;  /* slots of the whole run */
    uint64_t    start_at_ms;    /* wall clock (CLOCK_REALTIME) of the synchronized start */
    uint32_t    interval_ms;    /* stats interval */
    uint32_t    name_cap;       /* per-shard name cap */
    /* env("NAME") values, resolved by the CLI that submitted the run from its own
     * environment. Daemons never read their own environment for a submitted scenario:
     * env() evaluates only from this table (proto/plan.h). */
    proto_set  *env;            /* owned; nenv <= PROTO_MAX_ENV */
    uint32_t    nenv;
    /* Optional 16th field: --arrival-rate (open model: one stage at this rate for the
     * run's duration, scenario_override_rate), 0 none. Finite, 0 <= rate <= SC_MAX_RATE
     * or the PLAN is malformed. */
    double      arrival_rate;
    /* Optional 17th and 18th fields (issue 12): -T/--tags and -E/--exclude-tags, applied
     * by plan_scenario with scenario_apply_tags. Owned; each <= PROTO_MAX_TAGS strings of
     * at most PROTO_TAG_MAX bytes. */
    char      **tags;
    uint32_t    ntags;
    char      **exclude_tags;
    uint32_t    nexclude_tags;
} proto_plan;
#define PROTO_MAX_TAGS 64u
#define PROTO_TAG_MAX  64

typedef struct proto_stop { uint64_t run_id; uint64_t graceful_ms; } proto_stop;

/* A STATS row is the shard's and the merge's row type (common/stats.h): method and
 * name travel, fig is derived from the method when decoding; lat and svc are owned
 * (hist_fini in proto_msg_free). svc travels as an optional 7th entry field, only when
 * it is not empty (the open model); an entry without it decodes with svc empty. */
typedef stats_row proto_stats_entry;

typedef struct proto_stats_err {
    uint32_t entry;             /* index into entries */
    uint32_t kind;              /* stats_err_kind */
    char     detail[STATS_DETAIL_MAX];
    uint64_t count;
} proto_stats_err;

typedef struct proto_stats {
    uint64_t run_id;
    char     worker[PROTO_ID_MAX];
    uint32_t thread;            /* the engine's first slot (informative) */
    uint64_t interval;          /* 0-based index since the start; finals carry the last */
    uint32_t users;             /* active VUs at the end of the interval */
    uint64_t cancelled;
    uint64_t names_folded;
    bool     final;             /* the thread's last delta of the run */
    proto_stats_entry *entries;
    uint32_t nentries;
    proto_stats_err   *errs;
    uint32_t nerrs;
    /* Optional 11th field (issue 11): the shard's schedule and engine load
     * (common/stats.h stats_sched); sched.lag is owned. A STATS without it decodes with
     * sched zeroed (lag empty). Encoded always by proto_encode_stats. */
    stats_sched sched;
    /* Optional 12th field (issue 13): the engine thread's health (common/stats.h
     * stats_health: loop lag, connections, RSS, process CPU; issue 15 appended its 7th
     * element, retries, absent: 0). Absent: zeroed. Encoded always by
     * proto_encode_stats. */
    stats_health health;
} proto_stats;

typedef struct proto_done {
    uint64_t run_id;
    char     worker[PROTO_ID_MAX];
    uint32_t threads;           /* engines that sent their final delta */
    char     reason[PROTO_REASON_MAX];  /* "finished", "stopped", ... */
} proto_done;

typedef struct proto_refuse {
    uint64_t run_id;
    char     worker[PROTO_ID_MAX];
    char     reason[PROTO_REASON_MAX];
} proto_refuse;

typedef struct proto_heartbeat {
    uint64_t seq;
    uint64_t wall_ms;
    double   cpu_pct;           /* sender's CPU since its previous heartbeat, % of one core */
} proto_heartbeat;

typedef struct proto_msg {
    proto_type type;
    union {
        proto_hello     hello;
        proto_plan      plan;
        proto_stop      stop;
        proto_stats     stats;
        proto_done      done;
        proto_refuse    refuse;
        proto_heartbeat heartbeat;
        proto_challenge challenge;
        proto_welcome   welcome;
        proto_reject    reject;
        proto_slots     slots;  /* ADOPT, RELEASE */
        proto_ack       ack;
    } u;
} proto_msg;

/* Encoders: 0 with *buf (malloc'd, caller frees) and *len, or -1 on ENOMEM. */
int proto_encode(const proto_msg *m, char **buf, size_t *len);   /* any type except STATS */
/* STATS straight from a shard (entries with requests == 0 are skipped; histograms are
 * sent as sparse (index, count) pairs), so the engine need not copy its shard. */
int proto_encode_stats(uint64_t run_id, const char *worker, uint32_t thread, uint64_t interval,
                       bool final, const stats_shard *s, char **buf, size_t *len);

/* Decode results. */
enum { PROTO_OK = 0, PROTO_ETOOBIG = -1, PROTO_EVERSION = -2, PROTO_EMALFORMED = -3,
       PROTO_ETYPE = -4, PROTO_ENOMEM = -5 };
/* Decodes buf[len] into *m (zeroed first). On any error nothing is left to free. */
int  proto_decode(const char *buf, size_t len, proto_msg *m);
void proto_msg_free(proto_msg *m);
const char *proto_type_name(int type);
const char *proto_strerror(int rv);
/* The decoder's first step, for other msgpack readers of hostile bytes (the results
 * folder's checkpoint, master/checkpoint.h): 0 when p[len] is exactly one msgpack object
 * whose every declared count and length fits in the bytes left, nested at most 16 deep;
 * then *objects (may be NULL) gets the number of objects in it, which bounds what
 * msgpack_unpack_next allocates. -1 otherwise. Pure, any thread. */
int proto_prescan(const uint8_t *p, size_t len, uint64_t *objects);
#endif
