/* The parsed form of a scenario: every type a scenario is made of, from the error
 * report to the steps (the functions and the contract: common/scenario.h). A header of
 * its own so that the parser's private header (common/scenario_int.h) and the header
 * renderer (common/scenario_headers.h) can share the types without including
 * scenario.h, whose module includes them. */
#ifndef COMMON_SCENARIO_TYPES_H
#define COMMON_SCENARIO_TYPES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/capture.h"
#include "common/data.h"
#include "common/jscan.h"
#include "common/loadshape.h"
#include "common/threshold.h"
#include "common/tmpl.h"

typedef struct sc_error {
    char file[256];
    int  line, col;             /* 1-based; 0 when not about a place in the file */
    char msg[512];
    char hint[256];             /* may be empty */
} sc_error;

typedef struct sc_header { char *name; tmpl *value; } sc_header;

typedef enum { CAP_JSON, CAP_HEADER, CAP_REGEX } sc_capture_kind;
typedef struct sc_capture {
    char           *var;        /* variable name, owned */
    int             slot;       /* tmpl_syms slot */
    sc_capture_kind kind;
    char           *expr;       /* path / header name / regex as written, owned */
    jpath          *path;       /* CAP_JSON */
    capre          *re;         /* CAP_REGEX */
} sc_capture;

#define SC_MAX_STATUS 8
typedef struct sc_expect {
    int      status[SC_MAX_STATUS]; /* accepted statuses; nstatus 0: any status < 400 */
    int      nstatus;
    jpath   *json_path;         /* with json_equals: value text must equal it */
    char    *json_path_text;
    char    *json_equals;
    char    *contains;          /* body must contain this text */
} sc_expect;

typedef struct sc_http {
    char      *name;            /* explicit stats name, or NULL: method + templated path */
    char      *method;          /* upper case */
    tmpl      *url;             /* absolute, or a path joined to the target */
    sc_header *headers;         /* defaults merged in (the step's win) */
    int        nheaders;
    tmpl      *body;            /* NULL: none; json bodies are JSON text with escaped holes */
    bool       json_body;       /* adds Content-Type: application/json unless set */
    uint64_t   timeout_ms;
    sc_expect  expect;
    sc_capture *captures;
    int        ncaptures;
} sc_http;

/* WebSocket steps (`ws:`). One connection per VU: a `connect` while one is open drops
 * it without a close handshake (end it with a `close` step to be clean); a flow that
 * starts over keeps its connection. Every text field below is a template rendered when
 * the step runs.
 *
 *   ws: { connect: URL-or-path, name, headers, subprotocol, timeout,
 *         reconnect: { max: N, backoff: 500ms }, ping: 1s, sequence: $.seq, stamp: $.ts_us }
 *       URL: ws:// or wss:// as written, or a path joined to the target with http -> ws,
 *       https -> wss. name: the stats name of everything on this connection (default:
 *       the path as written, e.g. "/ws/echo"). timeout: TCP + TLS + upgrade (default
 *       defaults.timeout). reconnect: after a close the VU did not ask for (server close,
 *       drop, restart), up to max consecutive attempts, the first after backoff and each
 *       next after twice the previous (capped at 30 s); max 0 (default): no reconnect.
 *       ping: client pings at that interval, RTT recorded; 0/absent: none. sequence: a
 *       JSON path to an integer in each message: one below the highest seen is out of
 *       order. stamp: a JSON path to the sender's wall-clock time in microseconds
 *       ({{ now_us }}): each message carrying it records fan-out latency.
 *   ws: { send: TEXT } | { send: { json: VALUE } } | { send: { binary: BASE64 } }
 *   ws: { expect: MATCH, timeout, capture: { var: { json: $.p } | { regex: R } } }
 *       waits for the first message (queued or new) matching every condition of MATCH:
 *       { equals: T } { contains: T } { json: $.p, equals: T } ({ json: $.p } alone: the
 *       path exists) { regex: R }; latency from the connection's last send (or the step's
 *       start when nothing was sent since the last match) to the match.
 *   ws: { receive: N, timeout }   waits for N messages, whatever they hold.
 *   ws: { close: CODE }           (or `close: true`: 1000) close handshake, waits for it.
 *   ws: { listen: true | false | { MATCH..., capture: {...} } }
 *       true / a mapping: from now on messages nobody waits for are consumed (counted,
 *       sequence and stamp checked, and with a mapping matched and captured) instead of
 *       queued for the next expect; false: back to queueing. */
typedef enum { SC_WS_CONNECT, SC_WS_SEND, SC_WS_EXPECT, SC_WS_RECEIVE, SC_WS_CLOSE,
               SC_WS_LISTEN } sc_ws_kind;
typedef enum { SC_WS_TEXT, SC_WS_JSON, SC_WS_BINARY } sc_ws_payload;

typedef struct sc_ws_match {    /* every condition given must hold; none given: any message */
    tmpl       *equals;         /* whole message equals */
    tmpl       *contains;       /* message contains */
    jscan_path *json;           /* the path exists in the message (JSON) ... */
    char       *json_text;      /* ... as written */
    tmpl       *json_equals;    /* ... and its value's text equals (strings without quotes) */
    capre      *regex;          /* POSIX extended style (run by PCRE2, common/capture.h),
                                 * matches somewhere */
    char       *regex_text;
} sc_ws_match;

typedef struct sc_ws {
    sc_ws_kind  kind;
    /* connect */
    char       *name;           /* stats name, owned; connect only */
    tmpl       *url;
    sc_header  *headers;        /* defaults.headers merged in (the step's win) */
    int         nheaders;
    char       *subprotocol;    /* NULL: none */
    uint32_t    reconnect_max;
    uint64_t    reconnect_backoff_ms;   /* 500 ms when reconnect is given without it */
    uint64_t    ping_ms;
    jscan_path *sequence;  char *sequence_text;
    jscan_path *stamp;     char *stamp_text;
    /* connect, expect, receive, close: the deadline (default defaults.timeout) */
    uint64_t    timeout_ms;
    /* send */
    sc_ws_payload payload;
    tmpl       *message;        /* JSON payloads: JSON text with escaped holes; binary: base64 */
    /* expect, listen (mapping) */
    sc_ws_match match;
    sc_capture *captures;       /* CAP_JSON or CAP_REGEX (over the message) */
    int         ncaptures;
    /* receive */
    uint32_t    count;
    /* close */
    uint16_t    code;
    /* listen */
    bool        listen;
} sc_ws;

/* ---- flow control (issue 12) ----------------------------------------------------------
 * The parsed form; the engine (worker/engine.c) runs it. What each field means at run
 * time is written here, so the engine and the parser agree.
 *
 * Tags: `tags: [a, b]` on a step (a key next to the step's kind), on a pick branch and
 * on a user profile. Words (letters, digits, _ and -), at most SC_MAX_TAGS per list, each
 * at most SC_TAG_MAX bytes, no duplicates. scenario_apply_tags (common/scenario.h) prunes
 * by them once before the scenario is shared: the engine never looks at tags. */
#define SC_MAX_TAGS 64
#define SC_TAG_MAX  64
typedef struct sc_tags { char **v; int n; } sc_tags;

/* on_failure: what a user does when an http or ws step fails, i.e. when the step counts
 * a failure in the stats (no response or no connection, a status or expect that does not
 * hold, a capture that finds nothing, a ws expect/receive timing out):
 *   CONTINUE        (the default) go on with the next step, as before;
 *   STOP_ITERATION  skip the rest of this iteration: closed model, the user starts its
 *                   flow again from the top (after nothing: no think time is added);
 *                   open model, the arrival ends there (its ITER row counts as failed).
 *                   Inside setup it works as STOP_USER (a user whose setup failed has
 *                   nothing to run its flow with);
 *   STOP_USER       the user stops (Locust's StopUser): closed model, it stays stopped
 *                   for the rest of the run (it is not replaced, and a ramp does not
 *                   restart it); open model, the user's session ends (variables cleared,
 *                   ws connection closed, cookies dropped) and it goes back to the pool,
 *                   running setup again before its next arrival.
 * The iteration's ITER row counts as failed in every case. Set per step
 * (`on_failure: stop_user` next to `http:`/`ws:`) or for every http/ws step in
 * `defaults.on_failure`; the step's wins. The parser resolves it: sc_step.on_failure is
 * what applies, with no lookup at run time. Other step kinds carry CONTINUE. */
typedef enum { SC_ON_FAILURE_CONTINUE = 0, SC_ON_FAILURE_STOP_ITERATION,
               SC_ON_FAILURE_STOP_USER } sc_on_failure;

/* The condition of an `if` step (`- if: {...}` with `then:` / `else:` next to it). One
 * condition per if (nest ifs for and/or):
 *   { var: X, is: empty }      X was never captured by this user, or captured as ""
 *   { var: X, is: set }        the opposite
 *   { var: X, equals: T }      X's current value is the text T, byte for byte (an unset
 *                              X equals nothing, not even "")
 *   { var: X, not_equals: T }  the opposite of equals (true when X is unset)
 *   { status: 200 }            the last HTTP response this user received had that status
 *   { status_in: [200, 201] }  ... one of those (1 to SC_MAX_STATUS codes)
 *   { chance: 0.3 }            true with that probability (0..1), drawn from the user's rng
 * X is a capture variable (slot: its tmpl_syms slot, the index into the user's vars).
 * "The last HTTP response" is the user's most recent http step with a response, in this
 * or an earlier iteration; 0 when there is none yet or the last request got no response
 * (a transport error), so { status: 200 } is then false. */
typedef enum { SC_COND_EMPTY, SC_COND_SET, SC_COND_EQUALS, SC_COND_NOT_EQUALS,
               SC_COND_STATUS, SC_COND_CHANCE } sc_cond_kind;
typedef struct sc_cond {
    sc_cond_kind kind;
    char        *var;           /* EMPTY .. NOT_EQUALS: the variable, owned */
    int          slot;          /* ... its slot */
    char        *value;         /* EQUALS, NOT_EQUALS: the text, owned (may be "") */
    int          status[SC_MAX_STATUS];    /* STATUS: accepted codes */
    int          nstatus;
    double       chance;        /* CHANCE: 0 <= chance <= 1 */
} sc_cond;

typedef struct sc_step sc_step;
/* A branch of a `pick` step: { weight: N, tags: [...], steps: [...] }. */
typedef struct sc_branch {
    uint32_t weight;            /* >= 0, default 1; 0: never chosen (switched off) */
    sc_tags  tags;
    sc_step *steps;             /* >= 1 step */
    int      nsteps;
    int      line, col;         /* where the branch was written */
} sc_branch;

/* Step kinds. New kinds go at the end (worker/engine.c's vu_run skips kinds it does not
 * know yet; worker/allow.c walks every kind).
 *   STEP_PICK: each time the step runs (each pass of the enclosing flow or loop), exactly
 *     one branch runs, chosen at random by weight from the user's rng (Locust's
 *     @task(weight)): draw r uniform in [0, total_weight) and run the first branch whose
 *     running sum of weights exceeds r. total_weight >= 1 (the parser and
 *     scenario_apply_tags guarantee it).
 *   STEP_IF: cond true: the then steps run, else the else steps (either list may be
 *     empty, not both); then the step after the if. */
typedef enum { STEP_HTTP, STEP_THINK, STEP_LOOP, STEP_GROUP, STEP_WS,
               STEP_PICK, STEP_IF } sc_step_kind;
struct sc_step {
    sc_step_kind  kind;
    int           line, col;    /* where it was written, 1-based */
    sc_tags       tags;         /* `tags:` next to the kind */
    sc_on_failure on_failure;   /* http and ws steps: what applies (step, else defaults);
                                 * other kinds: CONTINUE */
    union {
        sc_http http;
        struct { uint64_t min_ms, max_ms; } think;          /* fixed when equal */
        /* count -1: forever. pacing_us > 0: each pass lasts at least that long, measured
         * from the pass's first step to the end of its last; a shorter pass waits out the
         * rest before the next pass (or before the step after the loop, for the last
         * pass); a longer pass is followed at once, with no catch-up (Locust's
         * constant_pacing). `pacing: 5s` gives it as a duration, `rate: 2/s` as passes per
         * second per user (Locust's constant_throughput): pacing_us = 1e6 / rate. */
        struct { int64_t count; sc_step *steps; int nsteps; uint64_t pacing_us; } loop;
        struct { char *name; sc_step *steps; int nsteps; } group;
        sc_ws ws;
        struct { sc_branch *branches; int nbranches; uint32_t total_weight; } pick;
        struct { sc_cond cond; sc_step *then_steps; int nthen;
                 sc_step *else_steps; int nelse; } cond;    /* STEP_IF */
    } u;
};

/* A warning found at validate: the scenario runs, but probably not as meant (e.g. a
 * threshold naming requests the scenario never makes). The CLI prints each as
 * "file:line:col: warning: msg\n  hint: hint" (sc_warning_format, common/scenario.h). */
typedef struct sc_warning {
    int  line, col;             /* 1-based; 0 when not about a place in the file */
    char msg[384];
    char hint[192];             /* may be empty */
} sc_warning;

typedef struct sc_profile {
    char    *name;
    uint32_t weight;            /* >= 0; default 1; 0: switched off (no user runs it).
                                 * At least one profile has a weight above 0. */
    sc_tags  tags;
    sc_step *setup;             /* `setup:` steps run once when a user first starts, before
                                 * its first iteration (any model); NULL/0: none */
    int      nsetup;
    sc_step *flow;              /* closed model: run again and again; open model: once per
                                 * arrival (validate refuses an endless top-level loop) */
    int      nflow;
} sc_profile;

/* load.model. Closed: stages give users, each runs its flow over and over. Open: stages
 * give arrivals per second; each arrival runs one profile's flow once on a free user of
 * a pool of max_users (common/loadshape.h has the arithmetic). */
typedef enum { SC_MODEL_CLOSED = 0, SC_MODEL_OPEN } sc_model;
/* load.arrivals (open model): evenly spaced, or exponential gaps with the same mean. */
typedef enum { SC_ARRIVALS_UNIFORM = 0, SC_ARRIVALS_POISSON } sc_arrivals;
/* defaults.client (issue 15): which HTTP client carries the requests. AUTO: the lean
 * HTTP/1.1 client wherever it can serve (http:// and https://), libcurl for the rest
 * (defaults.http2); LEAN: the lean client (validate refuses it with defaults.http2, which
 * needs libcurl); CURL: libcurl always. The engine maps it onto worker/http.h's
 * http_client; a worker's STAMPEDE_HTTP_CLIENT overrides it (worker/engine.c). */
typedef enum { SC_CLIENT_AUTO = 0, SC_CLIENT_LEAN, SC_CLIENT_CURL } sc_client;

/* The `monitor:` section (issue 13): Prometheus text endpoints of the system under test,
 * scraped by the master (or a local run) every interval for the run's length
 * (master/monitor.h does the scraping; common/scenario_monitor.c parses this).
 *
 *   monitor:
 *     interval: 5s              # default 5s; 1s .. 1h
 *     targets:                  # 1 .. SC_MON_MAX_TARGETS
 *       - name: app-host        # a word (letters, digits, _ and -), unique
 *         url: http://127.0.0.1:9100/metrics    # http:// or https:// only
 *       - name: app
 *         url: http://127.0.0.1:8080/metrics
 *         metrics:              # optional; alias: selector (common/promtext.h),
 *           db_pool_in_use: 'db_pool_connections{state="in_use"}'   # at most
 *           requests: http_requests_total                           # SC_MON_MAX_METRICS
 *
 * Every target also gets, when its body has the node_exporter families they read, the
 * derived metrics named in SC_MON_DERIVED (what each is: master/monitor.h). An alias
 * may take a derived name: the alias then wins. */
#define SC_MON_MAX_TARGETS  16
#define SC_MON_MAX_METRICS  32
#define SC_MON_DEFAULT_INTERVAL_MS 5000u
#define SC_MON_DERIVED { "up", "cpu", "memory", "load", "network_rx", "network_tx", \
                         "disk_read", "disk_write" }
#define SC_MON_NDERIVED 8
typedef struct sc_mon_metric {
    char *alias;                /* a word: letters, digits, _ */
    char *selector;             /* as written; checked by prom_sel_parse */
} sc_mon_metric;
typedef struct sc_mon_target {
    char          *name;
    char          *url;
    sc_mon_metric *metrics;
    int            nmetrics;
    int            line, col;   /* where the target was written */
} sc_mon_target;
typedef struct sc_monitor {
    uint64_t       interval_ms; /* SC_MON_DEFAULT_INTERVAL_MS when not given */
    sc_mon_target *targets;     /* ntargets 0: no monitor section */
    int            ntargets;
} sc_monitor;

typedef struct scenario {
    char        *file;          /* path it came from */
    char        *name;
    char        *target;        /* base URL, no trailing slash */
    sc_header   *default_headers;
    int          ndefault_headers;
    uint64_t     default_timeout_ms;   /* 10 s when not given */
    bool         http2;         /* defaults.http2: negotiate HTTP/2 (ALPN, or prior knowledge for http://) */
    sc_client    client;        /* defaults.client (auto when not given) */
    bool         insecure;      /* defaults.insecure: do not verify TLS certificates */
    bool         follow_redirects; /* defaults.follow_redirects (off by default) */
    bool         cookies;       /* defaults.cookies (on by default): each user keeps a
                                 * cookie jar (libcurl's engine: Set-Cookie with domain,
                                 * path, expiry, secure honoured); false: no cookies kept */
    sc_on_failure default_on_failure;  /* defaults.on_failure (already applied to steps) */
    sc_model     model;
    sc_stage    *stages;        /* closed: users; open: rate (common/loadshape.h) */
    int          nstages;
    uint64_t     graceful_stop_ms;     /* 30 s when not given */
    /* Open model only (0 in the closed model): */
    uint32_t     max_users;     /* the pool, all workers together (required, >= 1,
                                 * <= SC_MAX_USERS) */
    uint32_t     max_backlog;   /* arrivals waiting for a free user, all workers together;
                                 * default max(10 x max_users, 1000); beyond it dropped */
    bool         max_backlog_set;   /* the scenario (or --set) gave max_backlog: an
                                 * override of max_users leaves it as it is */
    sc_arrivals  arrivals;
    data_set     data;
    sc_profile  *profiles;
    int          nprofiles;
    uint32_t     total_weight;
    int         *profile_seq;   /* total_weight entries: profile of user k is profile_seq[k % total_weight] */
    sc_threshold *thresholds;
    int          nthresholds;
    sc_monitor   monitor;       /* the system under test, watched (ntargets 0: none) */
    tmpl_syms    syms;          /* capture variables */
    sc_warning  *warnings;      /* found at validate (and by scenario_apply_tags); owned */
    int          nwarnings;
} scenario;

/* Reads a data file named in the scenario (relative paths are relative to the scenario's
 * directory). Returns 0 with a malloc'd buffer the parser frees, or -1 with a message.
 * NULL loader: read from disk. */
typedef int (*sc_read_fn)(void *ud, const char *path, char **data, size_t *len,
                          char *err, size_t errcap);

/* `--set key.path=value` overrides: applied to the YAML tree before validation, so an
 * override is checked like a written value. A path names an existing scalar
 * (e.g. target, load.graceful_stop, load.stages.0.users, defaults.timeout) or a new
 * key under an existing mapping. */
typedef struct sc_set { const char *key, *value; } sc_set;

/* Where env("NAME") takes its values while parsing (common/tmpl.h: tmpl_env_fn). The
 * source is used only during the parse (the scenario keeps no pointer to it). */
typedef struct sc_env { tmpl_env_fn fn; void *ud; } sc_env;
#endif
