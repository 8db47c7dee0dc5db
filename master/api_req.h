/* The pure parts of the master's HTTP request handling (master/api.c), kept apart from
 * sockets and threads so that unit tests and the libFuzzer target (tests/fuzz/fuzz_api.c)
 * can call them directly. Nothing here keeps global state; every function may be called
 * from any thread on its own arguments.
 *
 *   api_head_parse   the request line and the few headers the guard reads, from the raw
 *                    bytes of a header block (used before evhttp sees the body)
 *   api_guard_check  Host, basic auth, Origin / Sec-Fetch-Site and Content-Type checks on
 *                    those headers: 0 (go on) or the HTTP status to refuse with
 *   api_plan_from_json  a POST /api/runs body into a proto_plan
 *   api_auth_from_file  the first line of an --ui-auth-file (USER:PASS), mode-checked
 *
 * Decisions (item 10 of issue 9; web pages must not drive the API):
 * - Host: a browser on a page of evil.example whose DNS name was re-pointed at us sends
 *   "Host: evil.example". Accepted names: IP literals (a page served from an address is
 *   that address's own origin, no rebinding), "localhost" and "*.localhost" (RFC 6761:
 *   always loopback, no outside DNS), the --http host as written, this machine's host
 *   name, and every --ui-host NAME. The port is not compared. No Host header at all
 *   (HTTP/1.0 tools) is accepted: browsers always send one. Refused: 421.
 * - Origin: when present it must be "http://" or "https://" followed by exactly the Host
 *   header's value (case-insensitive); "null" and any other origin: 403. Sec-Fetch-Site:
 *   cross-site on a request other than GET/HEAD: 403 (a GET with it is a link followed
 *   from another site: it only reads, and the browser keeps the answer from that site).
 * - POST needs Content-Type application/json (parameters allowed): 415. No HTML form and
 *   no "simple" cross-site fetch can send that type without a CORS preflight, which this
 *   API never answers with an allow.
 * - Basic auth is compared in constant time against the precomputed header value. */
#ifndef MASTER_API_REQ_H
#define MASTER_API_REQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "proto/msg.h"

#define API_MAX_HEAD  16384u            /* bytes of a request's header block */
#define API_MAX_BODY  (16u << 20)       /* bytes of a request body */
#define API_MAX_HOSTS 16                /* --ui-host names */

/* The headers the guard reads; pointers into the caller's text (NULL: absent). */
typedef struct api_head {
    char        method[16];             /* "GET", "POST", ... */
    const char *host, *auth, *origin, *fetch_site, *ctype;
    bool        has_length, chunked;    /* Content-Length given; Transfer-Encoding given */
    uint64_t    length;                 /* Content-Length (0 when absent) */
    bool        bad_length;             /* Content-Length not a number, or two differing */
} api_head;

/* What the guard accepts; filled once by api_start, read-only afterwards. */
typedef struct api_guard_cfg {
    char  *auth;                        /* "Basic base64(user:pass)" or NULL */
    char   bound[256];                  /* the --http host as written */
    char   self[256];                   /* gethostname(), or "" */
    char  *hosts[API_MAX_HOSTS];        /* --ui-host names, owned */
    int    nhosts;
} api_guard_cfg;

/* Parses a header block (text up to and including the empty line; need not be NUL
 * terminated) into h. The header values are copied into store (capacity cap, at least
 * len + 1) so that h's pointers stay valid while store lives. 0, or -1 when it is not an
 * HTTP request head. */
int api_head_parse(const char *text, size_t len, char *store, size_t cap, api_head *h);

/* 0 when the request may go on, else the HTTP status to refuse with (401, 403, 413, 415,
 * 421) and a message in msg. 401 means the caller must add WWW-Authenticate. Body
 * limits (Content-Length, Transfer-Encoding) are the caller's: only it knows the budget. */
int api_guard_check(const api_guard_cfg *g, const api_head *h, char *msg, size_t msgcap);

/* Sets up g from the options: auth "USER:PASS" or NULL; bound: the --http host; hosts:
 * "NAME[,NAME...]" or NULL. 0, or -1 with err. api_guard_fini frees. */
int  api_guard_init(api_guard_cfg *g, const char *auth, const char *bound, const char *hosts,
                    char *err, size_t errcap);
void api_guard_fini(api_guard_cfg *g);

/* The POST /api/runs members into p (zeroed by the caller, freed with plan_fini by the
 * caller whatever happens): scenario, scenario_file, files, sets, env, host, users
 * (at most SC_MAX_USERS), rate, duration_ms. 0, or -1 with err (a 400's text). */
int api_plan_from_json(json_t *j, proto_plan *p, char *err, size_t errcap);
/* An integer member in [min, max] (a whole-valued real too): 0 with *out (def when absent
 * or null), or -1 with err. */
int api_get_uint(json_t *o, const char *key, uint64_t min, uint64_t max, uint64_t def,
                 uint64_t *out, char *err, size_t errcap);

/* A whole run submission (the POST /api/runs body; a schedule's stored run,
 * master/schedule.h): the plan (api_plan_from_json), "expect_workers" (1..100000, default
 * 1), "expect_timeout_ms" (0 or absent: API_DEFAULT_EXPECT_TIMEOUT_MS), "csv_full_history"
 * (true, false or null) and "labels" ({"K": "V"}: master/labels.h's rules), with
 * extra_label ("K=V", or NULL) added in place of a label of the same key. r is zeroed
 * here; api_run_req_fini frees it whatever happened. 0, or -1 with err (a 400's text). */
#define API_DEFAULT_EXPECT_TIMEOUT_MS 60000
typedef struct api_run_req {
    proto_plan plan;
    uint64_t   expect, expect_timeout_ms;
    bool       full_history;
    char      *labels;          /* JSON object text, malloc'd */
} api_run_req;
int  api_run_from_json(json_t *j, const char *extra_label, api_run_req *r, char *err, size_t errcap);
void api_run_req_fini(api_run_req *r);

/* Reads USER:PASS from the first line of path (trailing whitespace trimmed) into out.
 * Refused when the file is readable or writable by group or others (chmod 600), when it
 * is not a regular file, or when the line has no ':'. 0, or -1 with err. */
int api_auth_from_file(const char *path, char *out, size_t cap, char *err, size_t errcap);
#endif
