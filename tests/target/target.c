/* stampede-target: a small HTTP server imitating the ERP API of our users' roadmap, used as the
 * ground truth that Stampede's reported totals are checked against, and as a bench target.
 *
 * One thread, one libevent loop, one evhttp server with keep-alive. Every answered
 * request (except the control endpoints under /__target/) is counted under
 * "METHOD /templated-path" and its status, at the moment the response is handed to the
 * connection (after any injected delay). Delay and failure injection are per route rule,
 * deterministic, and changeable at run time. tests/target/README.md is the user's guide;
 * the comments here state the decisions where they are made.
 *
 * Depends only on libevent, jansson, libc and common/{time,log}. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>   /* struct event embedded in tgt_pending */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"

#define TGT_TAG            "target"
#define TGT_KEY_MAX        160          /* bytes of a counter key, NUL included */
#define TGT_PATH_MAX       (TGT_KEY_MAX - 16)   /* templated path: leaves room for "METHOD " */
#define TGT_MAX_KEYS       1024         /* distinct counter keys; more fold into one */
#define TGT_OTHER_KEY      "* (other)"  /* where keys beyond TGT_MAX_KEYS are counted */
#define TGT_MAX_STATUS     16           /* distinct statuses per key (we send < 10) */
#define TGT_MAX_RULES      64
#define TGT_ROUTE_MAX      128
#define TGT_MAX_DELAY_MS   3600000u
#define TGT_USER_MAX       64
#define TGT_ORDERS         10000        /* manufacturing orders 1..TGT_ORDERS exist */
#define TGT_PAGE_SIZE      10
#define TGT_MAX_BODY       (1u << 20)
#define TGT_PPM            1000000u     /* error rates are kept in parts per million */
#define TGT_IDLE_S         300          /* idle keep-alive connections close after this */

/* ---------------------------------------------------------------------------------
 * Counters: an open-addressing table from key to entry. Resolved per response (one
 * FNV hash of a short string); nothing is allocated after start-up. */

typedef struct tgt_status { int code; uint64_t n; } tgt_status;

typedef struct tgt_count {
    char       key[TGT_KEY_MAX];
    uint64_t   requests;
    int        nstatus;
    tgt_status st[TGT_MAX_STATUS];
} tgt_count;

#define TGT_INDEX_SLOTS 4096            /* power of two, > 2 * TGT_MAX_KEYS */

static tgt_count  tgt_counts[TGT_MAX_KEYS + 1];     /* last slot: TGT_OTHER_KEY */
static uint32_t   tgt_index[TGT_INDEX_SLOTS];       /* entry + 1; 0 empty */
static uint32_t   tgt_nkeys;
static uint64_t   tgt_total;

static uint64_t tgt_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;             /* FNV-1a 64 */
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
    return h;
}

/* Entry for key, created on first use; keys beyond TGT_MAX_KEYS share one entry so that
 * a client sending endless distinct URLs cannot grow memory (and the total stays exact). */
static tgt_count *tgt_count_get(const char *key)
{
    uint32_t mask = TGT_INDEX_SLOTS - 1, i = (uint32_t)tgt_hash(key) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t e = tgt_index[i];
        if (e == 0) break;
        if (strcmp(tgt_counts[e - 1].key, key) == 0) return &tgt_counts[e - 1];
    }
    tgt_count *c;
    if (tgt_nkeys < TGT_MAX_KEYS) {
        c = &tgt_counts[tgt_nkeys++];
        tgt_index[i] = tgt_nkeys;
        snprintf(c->key, sizeof c->key, "%s", key);
    } else {
        c = &tgt_counts[TGT_MAX_KEYS];
        snprintf(c->key, sizeof c->key, "%s", TGT_OTHER_KEY);
    }
    return c;
}

/* Counts one answered request. Called exactly once per response, right where it is sent. */
static void tgt_count_answer(const char *key, int status)
{
    tgt_count *c = tgt_count_get(key);
    tgt_total++;
    c->requests++;
    for (int i = 0; i < c->nstatus; i++)
        if (c->st[i].code == status) { c->st[i].n++; return; }
    if (c->nstatus < TGT_MAX_STATUS) {
        c->st[c->nstatus].code = status;
        c->st[c->nstatus++].n = 1;
    } else {
        c->st[TGT_MAX_STATUS - 1].n++;  /* cannot happen: we send fewer distinct codes */
    }
}

static void tgt_count_reset(void)
{
    memset(tgt_index, 0, sizeof tgt_index);
    memset(tgt_counts, 0, sizeof tgt_counts);
    tgt_nkeys = 0;
    tgt_total = 0;
}

/* ---------------------------------------------------------------------------------
 * Arrivals per millisecond: the ground truth for the open model (requests per second
 * as they reach the target, whatever their answer and delay). Two rings, one for the
 * HTTP API requests (the set counted in "total": not the control endpoints, not /ws/ upgrades),
 * one for WebSocket data messages received (messages_in). Decisions:
 * - counted on arrival (when evhttp hands over the complete request, before any delay
 *   or stall), on CLOCK_MONOTONIC, which every process of the machine shares: a test
 *   can bucket from the first arrival (the default origin) or from a monotonic instant
 *   of its own (Python's time.monotonic() reads the same clock);
 * - 1 ms buckets (uint16, saturating: 65,535 per ms is beyond one libevent thread) over
 *   the last TGT_ARR_MS milliseconds; older buckets are reused. A query asks for any
 *   bucket width (a multiple of 1 ms), so a second-aligned count is exact to 1 ms;
 * - /__target/reset zeroes both rings and forgets the first arrival.
 * Memory is static (2 x 1.2 MB of BSS, touched as time goes); nothing is allocated. */

#define TGT_ARR_MS   600000u            /* ring window: 10 minutes of 1 ms buckets */

typedef struct tgt_arrivals {
    uint16_t n[TGT_ARR_MS];
    uint64_t hi;                        /* newest bucket written (ms since tgt_arr_base) + 1; 0 none */
    uint64_t first_us, last_us;         /* monotonic; 0 none since start/reset */
    uint64_t total;
} tgt_arrivals;

static tgt_arrivals tgt_arr_http, tgt_arr_ws;
static uint64_t     tgt_arr_base_us;    /* monotonic origin of bucket 0 (the target's start) */

static void tgt_arrival(tgt_arrivals *a)
{
    uint64_t now = time_mono_us();
    if (now < tgt_arr_base_us) now = tgt_arr_base_us;
    uint64_t ms = (now - tgt_arr_base_us) / 1000;
    if (ms + 1 > a->hi) {               /* zero the buckets skipped since the last arrival */
        uint64_t from = a->hi, gap = ms + 1 - a->hi;
        if (gap > TGT_ARR_MS) { from = ms + 1 - TGT_ARR_MS; gap = TGT_ARR_MS; }
        for (uint64_t k = 0; k < gap; k++) a->n[(from + k) % TGT_ARR_MS] = 0;
        a->hi = ms + 1;
    }
    uint16_t *b = &a->n[ms % TGT_ARR_MS];
    if (*b < UINT16_MAX) (*b)++;
    if (!a->first_us) a->first_us = now;
    a->last_us = now;
    a->total++;
}

static void tgt_arrivals_reset(tgt_arrivals *a)
{
    memset(a->n, 0, sizeof a->n);
    a->hi = a->first_us = a->last_us = a->total = 0;
}

/* Arrivals in the 1 ms buckets [t0_ms + i*bucket_ms, t0_ms + (i+1)*bucket_ms) (ms since
 * tgt_arr_base_us) for i = 0 .. up to the newest arrival; buckets that left the window
 * count 0 and are reported in "lost_ms". */
static json_t *tgt_arrivals_json(const tgt_arrivals *a, const char *of, uint64_t t0_ms,
                                 uint64_t bucket_ms)
{
    json_t *counts = json_array();
    uint64_t lost_ms = 0;
    uint64_t oldest = a->hi > TGT_ARR_MS ? a->hi - TGT_ARR_MS : 0;
    for (uint64_t start = t0_ms; a->total && start < a->hi; start += bucket_ms) {
        uint64_t sum = 0;
        for (uint64_t ms = start; ms < start + bucket_ms && ms < a->hi; ms++) {
            if (ms < oldest) { lost_ms++; continue; }
            sum += a->n[ms % TGT_ARR_MS];
        }
        json_array_append_new(counts, json_integer((json_int_t)sum));
    }
    uint64_t now = time_mono_us();
    return json_pack("{s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:o}", "of", of,
                     "bucket_ms", (json_int_t)bucket_ms,
                     "t0_mono_us", (json_int_t)(tgt_arr_base_us + t0_ms * 1000),
                     "first_mono_us", a->first_us ? json_integer((json_int_t)a->first_us) : json_null(),
                     "last_mono_us", a->last_us ? json_integer((json_int_t)a->last_us) : json_null(),
                     "total", (json_int_t)a->total, "lost_ms", (json_int_t)lost_ms,
                     "now_mono_us", (json_int_t)now, "now_wall_us", (json_int_t)time_wall_us(),
                     "counts", counts);
}

/* ---------------------------------------------------------------------------------
 * Request names, the same convention as Stampede's default names (stats_default_name):
 * the path without query, segments that are all digits, 16+ hex characters or a UUID
 * replaced by "{id}". Bytes outside printable ASCII become '?' so keys are valid JSON. */

static bool tgt_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool tgt_segment_is_id(const char *s, size_t n)
{
    if (n == 0) return false;
    bool digits = true, hex = true;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') digits = false;
        if (!tgt_is_hex(s[i])) hex = false;
    }
    if (digits || (hex && n >= 16)) return true;
    if (n != 36) return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? s[i] != '-' : !tgt_is_hex(s[i])) return false;
    }
    return true;
}

static void tgt_template_path(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = path;
    if (cap == 0) return;
    while (*p && *p != '?' && o + 1 < cap) {
        if (*p == '/') { out[o++] = '/'; p++; continue; }
        size_t n = strcspn(p, "/?");
        if (tgt_segment_is_id(p, n)) {
            for (const char *t = "{id}"; *t && o + 1 < cap; t++) out[o++] = *t;
        } else {
            for (size_t i = 0; i < n && o + 1 < cap; i++) {
                unsigned char c = (unsigned char)p[i];
                out[o++] = (c < 0x21 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
            }
        }
        p += n;
    }
    out[o] = '\0';
}

static const char *tgt_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:     return "GET";
    case EVHTTP_REQ_POST:    return "POST";
    case EVHTTP_REQ_HEAD:    return "HEAD";
    case EVHTTP_REQ_PUT:     return "PUT";
    case EVHTTP_REQ_DELETE:  return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE:   return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH:   return "PATCH";
    }
    return "OTHER";
}

static const char *tgt_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 403: return "Forbidden";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Unknown";
}

/* ---------------------------------------------------------------------------------
 * Injection rules. ROUTE is a path without query: "/qc/tests" matches that path only;
 * a ROUTE ending in '/' ("/ppic/manufacturing-orders/") matches every path below it
 * (the {id} routes); "*" matches every path. The most specific rule wins: an exact
 * match, else the longest matching prefix, else "*".
 *
 * Failures are deterministic: the rule's n-th matching request (n from 1, counted since
 * the rule was set or the last reset) fails with 503 when floor(n * rate) > floor((n-1)
 * * rate), so after N requests exactly floor(N * rate) have failed. The rate is kept in
 * parts per million so that the arithmetic is exact integers. */

typedef struct tgt_rule {
    char     route[TGT_ROUTE_MAX];
    uint32_t delay_ms;
    uint32_t rate_ppm;
    uint64_t seen;              /* matching requests since set/reset */
} tgt_rule;

static tgt_rule tgt_rules[TGT_MAX_RULES];
static int      tgt_nrules;

static tgt_rule *tgt_rule_find(const char *path, size_t pathlen)
{
    tgt_rule *best = NULL, *star = NULL;
    size_t best_len = 0;
    for (int i = 0; i < tgt_nrules; i++) {
        tgt_rule *r = &tgt_rules[i];
        size_t n = strlen(r->route);
        if (strcmp(r->route, "*") == 0) { star = r; continue; }
        if (n == pathlen && memcmp(r->route, path, n) == 0) return r;
        if (r->route[n - 1] == '/' && n < pathlen && memcmp(r->route, path, n) == 0 &&
            n > best_len) { best = r; best_len = n; }
    }
    return best ? best : star;
}

/* The rule for route, created when new. NULL when the table is full. */
static tgt_rule *tgt_rule_get(const char *route)
{
    for (int i = 0; i < tgt_nrules; i++)
        if (strcmp(tgt_rules[i].route, route) == 0) return &tgt_rules[i];
    if (tgt_nrules == TGT_MAX_RULES) return NULL;
    tgt_rule *r = &tgt_rules[tgt_nrules++];
    memset(r, 0, sizeof *r);
    snprintf(r->route, sizeof r->route, "%s", route);
    return r;
}

static bool tgt_route_valid(const char *route)
{
    size_t n = strlen(route);
    if (n == 0 || n >= TGT_ROUTE_MAX) return false;
    if (strcmp(route, "*") == 0) return true;
    return route[0] == '/' && strchr(route, '?') == NULL;
}

static bool tgt_rule_should_fail(tgt_rule *r)
{
    r->seen++;
    if (r->rate_ppm == 0) return false;
    return (r->seen * r->rate_ppm) / TGT_PPM > ((r->seen - 1) * r->rate_ppm) / TGT_PPM;
}

/* ---------------------------------------------------------------------------------
 * Issued tokens: a set of strings (open addressing, grows at half load). Tokens live
 * until exit; /__target/reset does not revoke them (clients keep their sessions). */

static char   **tgt_tokens;
static size_t   tgt_tokens_cap, tgt_ntokens;
static uint64_t tgt_login_seq, tgt_cutting_seq, tgt_report_seq;

static bool tgt_token_known(const char *tok)
{
    if (tgt_tokens_cap == 0) return false;
    size_t mask = tgt_tokens_cap - 1, i = (size_t)tgt_hash(tok) & mask;
    for (; tgt_tokens[i]; i = (i + 1) & mask)
        if (strcmp(tgt_tokens[i], tok) == 0) return true;
    return false;
}

static int tgt_token_add(const char *tok)
{
    if ((tgt_ntokens + 1) * 2 > tgt_tokens_cap) {
        size_t ncap = tgt_tokens_cap ? tgt_tokens_cap * 2 : 1024;
        char **nt = calloc(ncap, sizeof *nt);
        if (!nt) return -1;
        for (size_t j = 0; j < tgt_tokens_cap; j++) {
            if (!tgt_tokens[j]) continue;
            size_t i = (size_t)tgt_hash(tgt_tokens[j]) & (ncap - 1);
            while (nt[i]) i = (i + 1) & (ncap - 1);
            nt[i] = tgt_tokens[j];
        }
        free(tgt_tokens);
        tgt_tokens = nt;
        tgt_tokens_cap = ncap;
    }
    char *copy = strdup(tok);
    if (!copy) return -1;
    size_t mask = tgt_tokens_cap - 1, i = (size_t)tgt_hash(tok) & mask;
    while (tgt_tokens[i]) i = (i + 1) & mask;
    tgt_tokens[i] = copy;
    tgt_ntokens++;
    return 0;
}

static void tgt_tokens_free(void)
{
    for (size_t i = 0; i < tgt_tokens_cap; i++) free(tgt_tokens[i]);
    free(tgt_tokens);
    tgt_tokens = NULL;
    tgt_tokens_cap = tgt_ntokens = 0;
}

/* "Authorization: Bearer <token>" naming a token this process issued. */
static bool tgt_authorized(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    return *h && tgt_token_known(h);
}

/* "X-API-Key: <key>" naming a --api-key value (TGT_DEFAULT_API_KEY when none was given). */
#define TGT_MAX_API_KEYS 16
static const char *tgt_api_keys[TGT_MAX_API_KEYS];
static int         tgt_napi_keys;
#define TGT_DEFAULT_API_KEY "erp-dev-key"
static bool tgt_api_key_ok(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "X-API-Key");
    if (!h) return false;
    if (tgt_napi_keys == 0) return strcmp(h, TGT_DEFAULT_API_KEY) == 0;
    for (int i = 0; i < tgt_napi_keys; i++)
        if (strcmp(h, tgt_api_keys[i]) == 0) return true;
    return false;
}

/* ---------------------------------------------------------------------------------
 * Route handlers: each writes a body into out and returns the status. They run when the
 * request arrives; an injected delay only postpones sending the answer. */

typedef int (*tgt_handler)(struct evhttp_request *req, const char *path, const char *query,
                           struct evbuffer *out);

static int tgt_detail(struct evbuffer *out, int status, const char *detail)
{
    evbuffer_add_printf(out, "{\"detail\":\"%s\"}", detail);
    return status;
}

/* The request body as a JSON object, or NULL. empty_ok: an empty body yields an empty
 * object. The caller owns the result. */
static json_t *tgt_body_object(struct evhttp_request *req, bool empty_ok)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) return empty_ok ? json_object() : NULL;
    const char *p = (const char *)evbuffer_pullup(in, -1);
    json_error_t jerr;
    json_t *v = json_loadb(p, len, 0, &jerr);
    if (v && !json_is_object(v)) { json_decref(v); v = NULL; }
    return v;
}

static bool tgt_username_ok(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > TGT_USER_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@' || c == '+'))
            return false;
    }
    return true;
}

/* Role from the username's leading word (informational only: every role may call every
 * route). */
static const char *tgt_role_of(const char *u)
{
    static const struct { const char *prefix, *role; } map[] = {
        { "admin", "admin" },            { "cut", "cutting_operator" },
        { "sew", "sewing_operator" },    { "qc", "qc_inspector" },
        { "wh", "warehouse" },           { "warehouse", "warehouse" },
        { "sup", "supervisor" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(u, map[i].prefix, strlen(map[i].prefix)) == 0) return map[i].role;
    return "operator";
}

/* Successful logins per username, for tests of data feeders (GET /__target/logins). */
static json_t *tgt_logins;

static void tgt_login_count(const char *user)
{
    if (!tgt_logins) tgt_logins = json_object();
    json_t *n = json_object_get(tgt_logins, user);
    json_object_set_new(tgt_logins, user, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* POST /auth/login {"username","password"}: the password is "secret" or "pw-<username>". */
static int tgt_on_login(struct evhttp_request *req, const char *path, const char *query,
                        struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, false);
    if (!body) return tgt_detail(out, 400, "body must be a JSON object");
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    int status;
    if (!user || !pass) {
        status = tgt_detail(out, 400, "username and password are required strings");
    } else if (!tgt_username_ok(user)) {
        status = tgt_detail(out, 400, "username: 1-64 characters of A-Z a-z 0-9 . _ - @ +");
    } else if (strcmp(pass, "secret") != 0 &&
               !(strncmp(pass, "pw-", 3) == 0 && strcmp(pass + 3, user) == 0)) {
        status = tgt_detail(out, 401, "invalid credentials");
    } else {
        char tok[TGT_USER_MAX + 32];
        snprintf(tok, sizeof tok, "tok-%s-%llu", user, (unsigned long long)++tgt_login_seq);
        if (!tgt_token_known(tok) && tgt_token_add(tok) != 0) {
            status = tgt_detail(out, 503, "out of memory");
        } else {
            evbuffer_add_printf(out, "{\"access_token\":\"%s\",\"token_type\":\"bearer\","
                                "\"role\":\"%s\",\"username\":\"%s\"}",
                                tok, tgt_role_of(user), user);
            tgt_login_count(user);
            status = 200;
        }
    }
    json_decref(body);
    return status;
}

/* Value of name=digits in a query string; def when absent, -1 when malformed. */
static long tgt_query_long(const char *query, const char *name, long def)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p; ) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1;
            long x = 0;
            if (*v < '0' || *v > '9') return -1;
            for (; *v >= '0' && *v <= '9'; v++) {
                if (x > 100000000) return -1;
                x = x * 10 + (*v - '0');
            }
            return (*v == '&' || *v == '\0') ? x : -1;
        }
        p = strchr(p, '&');
        if (p) p++;
    }
    return def;
}

static const char *const tgt_order_status[] = { "planned", "in_progress", "qc", "done" };

static void tgt_order_json(struct evbuffer *out, long id, bool detail)
{
    evbuffer_add_printf(out,
        "{\"id\":%ld,\"number\":\"MO-2026-%05ld\",\"article\":\"ART-%03ld\",\"qty\":%ld,"
        "\"status\":\"%s\",\"line\":%ld",
        id, id, 1 + id % 240, 50 + (id * 37) % 450, tgt_order_status[id % 4], 1 + id % 6);
    if (detail)
        evbuffer_add_printf(out, ",\"operations\":[\"cutting\",\"sewing\",\"finishing\","
                            "\"packing\"],\"due\":\"2026-%02ld-%02ld\"", 1 + id % 12, 1 + id % 28);
    evbuffer_add(out, "}", 1);
}

/* GET /ppic/manufacturing-orders?page=N (1-based, TGT_PAGE_SIZE per page). */
static int tgt_on_orders(struct evhttp_request *req, const char *path, const char *query,
                         struct evbuffer *out)
{
    (void)req; (void)path;
    long page = tgt_query_long(query, "page", 1);
    if (page < 1) return tgt_detail(out, 400, "page must be a positive integer");
    evbuffer_add_printf(out, "{\"page\":%ld,\"page_size\":%d,\"total\":%d,\"items\":[",
                        page, TGT_PAGE_SIZE, TGT_ORDERS);
    for (long i = 0; i < TGT_PAGE_SIZE; i++) {
        long id = (page - 1) * TGT_PAGE_SIZE + i + 1;
        if (id > TGT_ORDERS) break;
        if (i) evbuffer_add(out, ",", 1);
        tgt_order_json(out, id, false);
    }
    evbuffer_add(out, "]}", 2);
    return 200;
}

/* GET /ppic/manufacturing-orders/{id}: 1..TGT_ORDERS exist, others are 404. */
static int tgt_on_order(struct evhttp_request *req, const char *path, const char *query,
                        struct evbuffer *out)
{
    (void)req; (void)query;
    const char *s = strrchr(path, '/') + 1;
    long id = 0;
    for (; *s >= '0' && *s <= '9' && id <= TGT_ORDERS; s++) id = id * 10 + (*s - '0');
    if (*s != '\0' || id < 1 || id > TGT_ORDERS)
        return tgt_detail(out, 404, "manufacturing order not found");
    tgt_order_json(out, id, true);
    return 200;
}

static int tgt_on_stock(struct evhttp_request *req, const char *path, const char *query,
                        struct evbuffer *out)
{
    (void)req; (void)path;
    long page = tgt_query_long(query, "page", 1);
    if (page < 1) return tgt_detail(out, 400, "page must be a positive integer");
    evbuffer_add_printf(out, "{\"page\":%ld,\"total\":50000,\"items\":[", page);
    for (long i = 0; i < TGT_PAGE_SIZE; i++) {
        long k = (page - 1) * TGT_PAGE_SIZE + i + 1;
        evbuffer_add_printf(out, "%s{\"sku\":\"FAB-%05ld\",\"name\":\"Fabric %ld\",\"qty\":%ld,"
                            "\"unit\":\"m\",\"location\":\"WH-%c-%02ld\"}",
                            i ? "," : "", k, k, (k * 7919) % 5000, 'A' + (int)(k % 4), k % 40);
    }
    evbuffer_add(out, "]}", 2);
    return 200;
}

/* POST /production/cutting: any JSON object is accepted and gets a new id. */
static int tgt_on_cutting(struct evhttp_request *req, const char *path, const char *query,
                          struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, false);
    if (!body) return tgt_detail(out, 400, "body must be a JSON object");
    json_decref(body);
    evbuffer_add_printf(out, "{\"id\":%llu,\"status\":\"created\"}",
                        (unsigned long long)++tgt_cutting_seq);
    return 201;
}

static int tgt_on_qc(struct evhttp_request *req, const char *path, const char *query,
                     struct evbuffer *out)
{
    (void)req; (void)path; (void)query;
    static const char *const result[] = { "pass", "pass", "pass", "fail", "pending" };
    evbuffer_add(out, "{\"items\":[", 10);
    for (int i = 1; i <= TGT_PAGE_SIZE; i++)
        evbuffer_add_printf(out, "%s{\"id\":%d,\"order_id\":%d,\"check\":\"seam-strength\","
                            "\"result\":\"%s\"}", i > 1 ? "," : "", i, i * 97 % TGT_ORDERS,
                            result[i % 5]);
    evbuffer_add(out, "]}", 2);
    return 200;
}

/* POST /reports/production: an empty body or a JSON object. */
static int tgt_on_report(struct evhttp_request *req, const char *path, const char *query,
                         struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, true);
    if (!body) return tgt_detail(out, 400, "body must be empty or a JSON object");
    json_decref(body);
    evbuffer_add_printf(out, "{\"report_id\":%llu,\"status\":\"ready\",\"rows\":%d,"
                        "\"output\":{\"cut\":1240,\"sewn\":1180,\"passed_qc\":1122}}",
                        (unsigned long long)++tgt_report_seq, 31);
    return 200;
}

static int tgt_on_ping(struct evhttp_request *req, const char *path, const char *query,
                       struct evbuffer *out)
{
    (void)req; (void)path; (void)query;
    evbuffer_add(out, "pong", 4);
    return 200;
}

static int tgt_on_static(struct evhttp_request *req, const char *path, const char *query,
                         struct evbuffer *out)
{
    (void)req; (void)query;
    if (strcmp(path, "/static/ok") != 0) return tgt_detail(out, 404, "not found");
    evbuffer_add(out, "ok\n", 3);
    return 200;
}

/* GET /status/{code}: answers that status (200..599) with {"status":code}, so a
 * scenario can meet a 404, a 500 or a 204 on purpose; 400 for another number. 1xx, 204
 * and 304 go without a body (evhttp leaves it out). */
static int tgt_on_status(struct evhttp_request *req, const char *path, const char *query,
                         struct evbuffer *out)
{
    (void)req; (void)query;
    const char *s = path + strlen("/status/");
    char *end;
    long code = strtol(s, &end, 10);
    if (end == s || *end != '\0' || code < 200 || code > 599)
        return tgt_detail(out, 400, "status must be a number from 200 to 599");
    evbuffer_add_printf(out, "{\"status\":%ld}", code);
    return (int)code;
}

/* GET /redirect/PATH: 302 with Location: /PATH (a path on this server, so a client that
 * follows it comes back here; the 302 and the request it leads to are counted apart). */
static int tgt_on_redirect(struct evhttp_request *req, const char *path, const char *query,
                           struct evbuffer *out)
{
    const char *to = path + strlen("/redirect");       /* "/PATH" */
    if (to[1] == '\0' || to[1] == '/') return tgt_detail(out, 404, "no redirect target");
    char loc[TGT_PATH_MAX + 256];
    snprintf(loc, sizeof loc, "%s%s%s", to, query ? "?" : "", query ? query : "");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
    evbuffer_add(out, "{\"redirect\":true}", 17);
    return 302;
}

/* ---------------------------------------------------------------------------------
 * Issue 12's routes. Decisions:
 * - A cookie session (/session/login sets sid and csrf, /session/page wants both): the
 *   pair is remembered in the token set as "\1sid:<sid>" and "\1csrf:<sid>:<csrf>" (the
 *   \1 keeps them from ever passing as a bearer token), so the page is 200 only with
 *   both cookies of one login. Path=/session on both; csrf carries an Expires date (one
 *   hour ahead), sid none (a session cookie).
 * - /app/ is a page for HAR recording: its inline script logs in through
 *   /api/auth/login, lists journal entries, opens one the list returned, creates one from
 *   it and patches the created one; /app/app.css is its one static asset.
 * - The journal-entries API of the seed-003 Locust harness (Django REST style, trailing
 *   slashes): entries 1..TGT_ENTRIES exist from the start and are listed newest first;
 *   created entries get ids above TGT_ENTRIES and exist from then on (GET/PUT/PATCH/
 *   DELETE answer for them) but are not listed; DELETE answers 204 and forgets nothing,
 *   so users sharing ids never see each other's deletes. Answers are computed from the
 *   id alone (deterministic), except the ids of created entries.
 * - the /api/ routes want "Authorization: Bearer <token>" (a token from /api/auth/login or
 *   /auth/login) or "X-API-Key: <key>" (a --api-key value; TGT_DEFAULT_API_KEY when none
 *   is given). /api/auth/login's token is random per login (JWT-shaped), unlike
 *   /auth/login's numbered one, so a recording must capture it to replay. */

#define TGT_ENTRIES          10000
static uint64_t    tgt_entry_seq;

/* nbytes random bytes (at most 32) as lowercase hex into out (2 * nbytes + 1). */
static void tgt_random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    if (nbytes > sizeof b) nbytes = sizeof b;
    if (RAND_bytes(b, (int)nbytes) != 1) {          /* never seen; still unique per call */
        static uint64_t n;
        uint64_t x = time_mono_us() ^ (++n * 0x9e3779b97f4a7c15ull);
        for (size_t i = 0; i < nbytes; i++) { x = x * 6364136223846793005ull + 1; b[i] = (unsigned char)(x >> 56); }
    }
    for (size_t i = 0; i < nbytes; i++) sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * nbytes] = '\0';
}

/* base64url without padding of s into out (cap >= 4 * len / 3 + 4). */
static void tgt_b64url(const char *s, char *out, size_t cap)
{
    size_t len = strlen(s);
    if (cap < 4 * ((len + 2) / 3) + 1) { out[0] = '\0'; return; }
    int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
    while (n > 0 && out[n - 1] == '=') n--;
    out[n] = '\0';
    for (char *p = out; *p; p++) { if (*p == '+') *p = '-'; else if (*p == '/') *p = '_'; }
}

/* The credentials check of both logins: 0 and *user, or the error status written. */
static int tgt_credentials(json_t *body, struct evbuffer *out, const char **user)
{
    if (!body) return tgt_detail(out, 400, "body must be a JSON object");
    const char *u = json_string_value(json_object_get(body, "username"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    if (!u || !pass) return tgt_detail(out, 400, "username and password are required strings");
    if (!tgt_username_ok(u)) return tgt_detail(out, 400, "username: 1-64 characters of A-Z a-z 0-9 . _ - @ +");
    if (strcmp(pass, "secret") != 0 && !(strncmp(pass, "pw-", 3) == 0 && strcmp(pass + 3, u) == 0))
        return tgt_detail(out, 401, "invalid credentials");
    *user = u;
    return 0;
}

/* POST /api/auth/login {"username","password"}: a random JWT-shaped bearer token. */
static int tgt_on_api_login(struct evhttp_request *req, const char *path, const char *query,
                            struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, false);
    const char *user = NULL;
    int status = tgt_credentials(body, out, &user);
    if (status == 0) {
        char jti[33], sig[33], claims[TGT_USER_MAX + 96], b64[2 * sizeof claims];
        char tok[sizeof b64 + 96];
        tgt_random_hex(jti, 16);
        tgt_random_hex(sig, 16);
        snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"jti\":\"%s\"}", user, jti);
        tgt_b64url(claims, b64, sizeof b64);
        /* eyJ...: base64url of {"alg":"HS256","typ":"JWT"} */
        snprintf(tok, sizeof tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s", b64, sig);
        if (tgt_token_add(tok) != 0) {
            status = tgt_detail(out, 503, "out of memory");
        } else {
            evbuffer_add_printf(out, "{\"access_token\":\"%s\",\"token_type\":\"bearer\","
                                "\"expires_in\":3600,\"username\":\"%s\"}", tok, user);
            tgt_login_count(user);
            status = 200;
        }
    }
    json_decref(body);
    return status;
}

/* The value of cookie name in the request's Cookie headers into out; false when absent
 * or longer than cap - 1. */
static bool tgt_cookie_get(struct evhttp_request *req, const char *name, char *out, size_t cap)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    size_t n = strlen(name);
    for (struct evkeyval *kv = TAILQ_FIRST(h); kv; kv = TAILQ_NEXT(kv, next)) {
        if (strcasecmp(kv->key, "Cookie") != 0) continue;
        for (const char *p = kv->value; *p; ) {
            while (*p == ' ' || *p == ';') p++;
            size_t len = strcspn(p, ";");
            if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
                size_t vl = len - n - 1;
                while (vl > 0 && p[n + vl] == ' ') vl--;
                if (vl >= cap) return false;
                memcpy(out, p + n + 1, vl);
                out[vl] = '\0';
                return true;
            }
            p += len;
        }
    }
    return false;
}

/* POST /session/login: an empty body (user "guest") or a JSON object, whose username and
 * password, when given, must pass as for /auth/login. Sets sid and csrf. */
static int tgt_on_session_login(struct evhttp_request *req, const char *path, const char *query,
                                struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, true);
    const char *user = "guest";
    int status = 0;
    if (!body) status = tgt_detail(out, 400, "body must be empty or a JSON object");
    else if (json_object_size(body) > 0) status = tgt_credentials(body, out, &user);
    if (status == 0) {
        char sid[33], csrf[33], key[80], expires[64], cookie[160];
        tgt_random_hex(sid, 16);
        tgt_random_hex(csrf, 16);
        snprintf(key, sizeof key, "\001sid:%s", sid);
        int rc = tgt_token_add(key);
        snprintf(key, sizeof key, "\001csrf:%s:%s", sid, csrf);
        if (rc != 0 || tgt_token_add(key) != 0) {
            status = tgt_detail(out, 503, "out of memory");
        } else {
            struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
            time_t t = time(NULL) + 3600;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(expires, sizeof expires, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            snprintf(cookie, sizeof cookie, "sid=%s; Path=/session; HttpOnly; SameSite=Lax", sid);
            evhttp_add_header(oh, "Set-Cookie", cookie);
            snprintf(cookie, sizeof cookie, "csrf=%s; Path=/session; Expires=%s", csrf, expires);
            evhttp_add_header(oh, "Set-Cookie", cookie);
            evbuffer_add_printf(out, "{\"ok\":true,\"username\":\"%s\"}", user);
            status = 200;
        }
    }
    json_decref(body);
    return status;
}

/* GET /session/page: 200 with the sid and csrf cookies of one login, 403 otherwise. */
static int tgt_on_session_page(struct evhttp_request *req, const char *path, const char *query,
                               struct evbuffer *out)
{
    (void)path; (void)query;
    char sid[80], csrf[80], key[200];
    if (!tgt_cookie_get(req, "sid", sid, sizeof sid) || !tgt_cookie_get(req, "csrf", csrf, sizeof csrf))
        return tgt_detail(out, 403, "session cookies sid and csrf required");
    snprintf(key, sizeof key, "\001sid:%s", sid);
    bool ok = tgt_token_known(key);
    snprintf(key, sizeof key, "\001csrf:%s:%s", sid, csrf);
    if (!ok || !tgt_token_known(key)) return tgt_detail(out, 403, "unknown session");
    evbuffer_add_printf(out, "{\"page\":\"session\",\"sid\":\"%s\"}", sid);
    return 200;
}

static const char tgt_app_html[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ERP journal</title>\n"
    "<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/app/app.css\">\n"
    "</head><body><h1>Journal entries</h1><p id=\"status\">loading</p>\n<script>\n"
    "const sleep = ms => new Promise(r => setTimeout(r, ms));\n"
    "async function call(method, url, token, body) {\n"
    "  const h = { 'Accept': 'application/json' };\n"
    "  if (token) h['Authorization'] = 'Bearer ' + token;\n"
    "  if (body !== undefined) h['Content-Type'] = 'application/json';\n"
    "  const r = await fetch(url, { method, headers: h,\n"
    "                               body: body === undefined ? undefined : JSON.stringify(body) });\n"
    "  if (!r.ok) throw new Error(method + ' ' + url + ': ' + r.status);\n"
    "  return r.json();\n"
    "}\n"
    "async function main() {\n"
    "  const login = await call('POST', '/api/auth/login', null,\n"
    "                           { username: 'clerk01', password: 'pw-clerk01' });\n"
    "  const token = login.access_token;\n"
    "  await sleep(400);\n"
    "  const list = await call('GET', '/api/journal-entries/?page=1', token);\n"
    "  const pick = list.results[3];\n"
    "  await sleep(400);\n"
    "  const entry = await call('GET', '/api/journal-entries/' + pick.id + '/', token);\n"
    "  const created = await call('POST', '/api/journal-entries/', token,\n"
    "      { date: '2026-03-31', description: 'copy of ' + entry.number, source_id: entry.id,\n"
    "        lines: entry.lines });\n"
    "  await sleep(400);\n"
    "  await call('PATCH', '/api/journal-entries/' + created.id + '/', token, { status: 'posted' });\n"
    "  document.getElementById('status').textContent = 'done ' + created.id;\n"
    "}\n"
    "main().catch(e => { document.getElementById('status').textContent = 'error ' + e.message; });\n"
    "</script></body></html>\n";

static const char tgt_app_css[] =
    "body { font-family: sans-serif; margin: 2em; }\nh1 { font-size: 1.4em; }\n";

/* GET /, /dashboard/ (the harness's UI pages) and /app/ (the recording page). */
static int tgt_on_page(struct evhttp_request *req, const char *path, const char *query,
                       struct evbuffer *out)
{
    (void)req; (void)query;
    if (strcmp(path, "/app/") == 0) {
        evbuffer_add(out, tgt_app_html, sizeof tgt_app_html - 1);
    } else {
        const char *title = strcmp(path, "/") == 0 ? "ERP" : "ERP dashboard";
        evbuffer_add_printf(out, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s"
                            "</title></head><body><h1>%s</h1><ul><li>Journal entries: %d</li>"
                            "<li>Open periods: 2026-01..2026-12</li></ul></body></html>\n",
                            title, title, TGT_ENTRIES);
    }
    return 200;
}

static int tgt_on_app_css(struct evhttp_request *req, const char *path, const char *query,
                          struct evbuffer *out)
{
    (void)req; (void)path; (void)query;
    evbuffer_add(out, tgt_app_css, sizeof tgt_app_css - 1);
    return 200;
}

/* One journal entry, from its id. */
static void tgt_entry_json(struct evbuffer *out, long id)
{
    long cents = 1000 + (id * 7919) % 500000;
    evbuffer_add_printf(out,
        "{\"id\":%ld,\"number\":\"JE-2026-%05ld\",\"date\":\"2026-%02ld-%02ld\","
        "\"description\":\"%s\",\"status\":\"%s\",\"lines\":["
        "{\"account\":\"%ld\",\"debit\":\"%ld.%02ld\",\"credit\":\"0.00\"},"
        "{\"account\":\"%ld\",\"debit\":\"0.00\",\"credit\":\"%ld.%02ld\"}]}",
        id, id, 1 + id % 12, 1 + id % 28, id % 3 ? "fabric purchase" : "payroll accrual",
        id % 5 ? "posted" : "draft", 1100 + id % 7 * 100, cents / 100, cents % 100,
        4000 + id % 3 * 100, cents / 100, cents % 100);
}

/* GET /api/journal-entries/?page=N: TGT_PAGE_SIZE per page, newest (highest id) first. */
static int tgt_on_entries(struct evhttp_request *req, const char *path, const char *query,
                          struct evbuffer *out)
{
    (void)req; (void)path;
    long page = tgt_query_long(query, "page", 1);
    if (page < 1) return tgt_detail(out, 400, "page must be a positive integer");
    long pages = (TGT_ENTRIES + TGT_PAGE_SIZE - 1) / TGT_PAGE_SIZE;
    evbuffer_add_printf(out, "{\"count\":%d,", TGT_ENTRIES);
    if (page < pages) evbuffer_add_printf(out, "\"next\":\"/api/journal-entries/?page=%ld\",", page + 1);
    else evbuffer_add_printf(out, "\"next\":null,");
    if (page > 1) evbuffer_add_printf(out, "\"previous\":\"/api/journal-entries/?page=%ld\",", page - 1);
    else evbuffer_add_printf(out, "\"previous\":null,");
    evbuffer_add_printf(out, "\"results\":[");
    for (long i = 0; i < TGT_PAGE_SIZE; i++) {
        long id = TGT_ENTRIES - (page - 1) * TGT_PAGE_SIZE - i;
        if (id < 1) break;
        if (i) evbuffer_add(out, ",", 1);
        tgt_entry_json(out, id);
    }
    evbuffer_add(out, "]}", 2);
    return 200;
}

/* POST /api/journal-entries/ (a JSON object): 201 with the new entry's id. */
static int tgt_on_entry_create(struct evhttp_request *req, const char *path, const char *query,
                               struct evbuffer *out)
{
    (void)path; (void)query;
    json_t *body = tgt_body_object(req, false);
    if (!body) return tgt_detail(out, 400, "body must be a JSON object");
    json_decref(body);
    unsigned long long id = TGT_ENTRIES + ++tgt_entry_seq;
    evbuffer_add_printf(out, "{\"id\":%llu,\"number\":\"JE-2026-%05llu\",\"status\":\"draft\"}", id, id);
    return 201;
}

/* GET, PUT, PATCH, DELETE /api/journal-entries/{id}/. */
static int tgt_on_entry(struct evhttp_request *req, const char *path, const char *query,
                        struct evbuffer *out)
{
    (void)query;
    const char *s = path + strlen("/api/journal-entries/");
    long id = 0;
    for (; *s >= '0' && *s <= '9' && id <= 1000000000L; s++) id = id * 10 + (*s - '0');
    if (strcmp(s, "/") != 0 || id < 1 || (unsigned long long)id > TGT_ENTRIES + tgt_entry_seq)
        return tgt_detail(out, 404, "journal entry not found");
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_DELETE) return 204;
    if (m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_PATCH) {
        json_t *body = tgt_body_object(req, false);
        if (!body) return tgt_detail(out, 400, "body must be a JSON object");
        json_decref(body);
    }
    tgt_entry_json(out, id);
    return 200;
}

/* GET /api/reports/monthly.csv?year=Y&month=M (defaults 2026 and 1): one row per day. */
static int tgt_on_monthly(struct evhttp_request *req, const char *path, const char *query,
                          struct evbuffer *out)
{
    (void)req; (void)path;
    long year = tgt_query_long(query, "year", 2026), month = tgt_query_long(query, "month", 1);
    if (year < 1970 || year > 9999 || month < 1 || month > 12)
        return tgt_detail(out, 400, "year 1970..9999 and month 1..12 (integers)");
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int nd = days[month - 1] + (month == 2 && year % 4 == 0 && (year % 100 || year % 400 == 0));
    evbuffer_add_printf(out, "date,entries,debit,credit\r\n");
    for (int d = 1; d <= nd; d++) {
        long cents = 100000 + (year * 31 + month * 373 + d * 7919) % 9000000;
        evbuffer_add_printf(out, "%04ld-%02ld-%02d,%d,%ld.%02ld,%ld.%02ld\r\n", year, month, d,
                            10 + d % 17, cents / 100, cents % 100, cents / 100, cents % 100);
    }
    return 200;
}

/* GET /api/search/?q=TEXT: up to TGT_PAGE_SIZE entries, chosen from the text's hash. */
static int tgt_on_search(struct evhttp_request *req, const char *path, const char *query,
                         struct evbuffer *out)
{
    (void)req; (void)path;
    const char *q = NULL;
    for (const char *p = query; p && *p; ) {
        if (strncmp(p, "q=", 2) == 0) { q = p + 2; break; }
        p = strchr(p, '&');
        if (p) p++;
    }
    size_t qlen = q ? strcspn(q, "&") : 0;
    if (qlen == 0) return tgt_detail(out, 400, "q (the search text) is required");
    char text[128];
    snprintf(text, sizeof text, "%.*s", (int)(qlen < sizeof text ? qlen : sizeof text - 1), q);
    uint64_t h = tgt_hash(text);
    int n = (int)(h % (TGT_PAGE_SIZE + 1));
    evbuffer_add_printf(out, "{\"count\":%d,\"results\":[", n);
    for (int i = 0; i < n; i++) {
        long id = 1 + (long)((h >> 8) + (uint64_t)i * 7919) % TGT_ENTRIES;
        evbuffer_add_printf(out, "%s{\"type\":\"journal_entry\",\"id\":%ld,\"number\":\"JE-2026-%05ld\"}",
                            i ? "," : "", id, id);
    }
    evbuffer_add(out, "]}", 2);
    return 200;
}

/* Routes by templated path (see tgt_template_path). prefix: the pattern matches paths
 * below it. */
typedef struct tgt_route {
    enum evhttp_cmd_type method;
    const char *pattern;
    bool        prefix;
    int         auth;           /* TGT_AUTH_* */
    const char *ctype;
    tgt_handler fn;
} tgt_route;

enum { TGT_AUTH_NONE, TGT_AUTH_BEARER, TGT_AUTH_API /* bearer or X-API-Key */ };
#define TGT_JSON "application/json"
#define TGT_HTML "text/html; charset=utf-8"
static const tgt_route tgt_routes[] = {
    { EVHTTP_REQ_GET,  "/ping", false, TGT_AUTH_NONE, "text/plain", tgt_on_ping },
    { EVHTTP_REQ_HEAD, "/ping", false, TGT_AUTH_NONE, "text/plain", tgt_on_ping },
    { EVHTTP_REQ_GET,  "/status/{id}", false, TGT_AUTH_NONE, TGT_JSON, tgt_on_status },
    { EVHTTP_REQ_GET,  "/redirect/", true, TGT_AUTH_NONE, TGT_JSON, tgt_on_redirect },
    { EVHTTP_REQ_GET,  "/static/", true, TGT_AUTH_NONE, "text/plain", tgt_on_static },
    { EVHTTP_REQ_POST, "/auth/login", false, TGT_AUTH_NONE, TGT_JSON, tgt_on_login },
    { EVHTTP_REQ_GET,  "/ppic/manufacturing-orders", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_orders },
    { EVHTTP_REQ_GET,  "/ppic/manufacturing-orders/{id}", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_order },
    { EVHTTP_REQ_GET,  "/warehouse/stock", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_stock },
    { EVHTTP_REQ_POST, "/production/cutting", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_cutting },
    { EVHTTP_REQ_GET,  "/qc/tests", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_qc },
    { EVHTTP_REQ_POST, "/reports/production", false, TGT_AUTH_BEARER, TGT_JSON, tgt_on_report },
    { EVHTTP_REQ_POST, "/session/login", false, TGT_AUTH_NONE, TGT_JSON, tgt_on_session_login },
    { EVHTTP_REQ_GET,  "/session/page", false, TGT_AUTH_NONE, TGT_JSON, tgt_on_session_page },
    { EVHTTP_REQ_GET,  "/", false, TGT_AUTH_NONE, TGT_HTML, tgt_on_page },
    { EVHTTP_REQ_GET,  "/dashboard/", false, TGT_AUTH_NONE, TGT_HTML, tgt_on_page },
    { EVHTTP_REQ_GET,  "/app/", false, TGT_AUTH_NONE, TGT_HTML, tgt_on_page },
    { EVHTTP_REQ_GET,  "/app/app.css", false, TGT_AUTH_NONE, "text/css", tgt_on_app_css },
    { EVHTTP_REQ_POST, "/api/auth/login", false, TGT_AUTH_NONE, TGT_JSON, tgt_on_api_login },
    { EVHTTP_REQ_GET,  "/api/journal-entries/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entries },
    { EVHTTP_REQ_POST, "/api/journal-entries/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entry_create },
    { EVHTTP_REQ_GET,  "/api/journal-entries/{id}/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entry },
    { EVHTTP_REQ_PUT,  "/api/journal-entries/{id}/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entry },
    { EVHTTP_REQ_PATCH, "/api/journal-entries/{id}/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entry },
    { EVHTTP_REQ_DELETE, "/api/journal-entries/{id}/", false, TGT_AUTH_API, TGT_JSON, tgt_on_entry },
    { EVHTTP_REQ_GET,  "/api/reports/monthly.csv", false, TGT_AUTH_API, "text/csv; charset=utf-8", tgt_on_monthly },
    { EVHTTP_REQ_GET,  "/api/search/", false, TGT_AUTH_API, TGT_JSON, tgt_on_search },
};
#define TGT_NROUTES (sizeof tgt_routes / sizeof tgt_routes[0])

/* Answers the API request: route, method and auth checks, then the handler. */
static int tgt_dispatch(struct evhttp_request *req, const char *path, const char *tpath,
                        const char *query, struct evbuffer *out, const char **ctype)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool path_found = false;
    *ctype = TGT_JSON;
    for (size_t i = 0; i < TGT_NROUTES; i++) {
        const tgt_route *r = &tgt_routes[i];
        bool match = r->prefix ? strncmp(tpath, r->pattern, strlen(r->pattern)) == 0
                               : strcmp(tpath, r->pattern) == 0;
        if (!match) continue;
        path_found = true;
        if (r->method != m) continue;
        if (r->auth == TGT_AUTH_BEARER && !tgt_authorized(req))
            return tgt_detail(out, 401, "missing or invalid bearer token");
        if (r->auth == TGT_AUTH_API && !tgt_authorized(req) && !tgt_api_key_ok(req))
            return tgt_detail(out, 401, "missing or invalid bearer token or X-API-Key");
        *ctype = r->ctype;
        return r->fn(req, path, query, out);
    }
    if (path_found) return tgt_detail(out, 405, "method not allowed");
    return tgt_detail(out, 404, "not found");
}

/* ---------------------------------------------------------------------------------
 * Delayed answers: the response is computed on arrival and sent from a timer. Records
 * are reused through a free list; the live ones are linked for clean shutdown. */

typedef struct tgt_pending {
    struct event            ev;
    struct evhttp_request  *req;
    struct evbuffer        *body;
    int                     status;
    char                    key[TGT_KEY_MAX];
    struct tgt_pending     *prev, *next;
} tgt_pending;

static struct event_base *tgt_base;
static tgt_pending       *tgt_live, *tgt_free_list;
static uint64_t           tgt_npending;
/* POST /__target/stall: until this monotonic instant (0: none) every HTTP API request
 * that arrives is answered only when the stall ends (plus its rule's delay). Requests
 * already waiting keep their time; WebSockets are not stalled. */
static uint64_t           tgt_stall_until_us;
static struct evbuffer   *tgt_out;        /* body of immediate answers, reused */

static void tgt_send(struct evhttp_request *req, int status, struct evbuffer *body,
                     const char *key)
{
    /* Counted here, when the answer is handed over: if the client already gave up (it
     * closed during a delay), evhttp has detached the request and frees it on this call,
     * and it still counts once, as an answered request. */
    if (key) tgt_count_answer(key, status);
    evhttp_send_reply(req, status, tgt_reason(status), body);
}

static void tgt_on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    tgt_pending *p = arg;
    tgt_send(p->req, p->status, p->body, p->key);
    evbuffer_drain(p->body, evbuffer_get_length(p->body));
    if (p->prev) p->prev->next = p->next; else tgt_live = p->next;
    if (p->next) p->next->prev = p->prev;
    tgt_npending--;
    p->next = tgt_free_list;
    tgt_free_list = p;
}

/* Moves the answer in out to a timer firing after delay_us. -1 when out of memory. */
static int tgt_defer(struct evhttp_request *req, int status, struct evbuffer *out,
                     const char *key, uint64_t delay_us)
{
    tgt_pending *p = tgt_free_list;
    if (p) {
        tgt_free_list = p->next;
    } else {
        p = calloc(1, sizeof *p);
        if (!p) return -1;
        if (!(p->body = evbuffer_new())) { free(p); return -1; }
    }
    p->req = req;
    p->status = status;
    snprintf(p->key, sizeof p->key, "%s", key);
    evbuffer_add_buffer(p->body, out);
    p->prev = NULL;
    p->next = tgt_live;
    if (tgt_live) tgt_live->prev = p;
    tgt_live = p;
    tgt_npending++;
    struct timeval tv = { (time_t)(delay_us / 1000000), (suseconds_t)(delay_us % 1000000) };
    event_assign(&p->ev, tgt_base, -1, 0, tgt_on_delay, p);
    event_add(&p->ev, &tv);
    return 0;
}

/* At exit: drops unsent answers (never counted: they were never answered). A request
 * whose client left is no longer owned by a connection, so it is freed here; the rest
 * go with their connections in evhttp_free. */
static void tgt_pending_free_all(void)
{
    for (tgt_pending *p = tgt_live, *n; p; p = n) {
        n = p->next;
        event_del(&p->ev);
        if (evhttp_request_get_connection(p->req) == NULL) evhttp_request_free(p->req);
        evbuffer_free(p->body);
        free(p);
    }
    for (tgt_pending *p = tgt_free_list, *n; p; p = n) {
        n = p->next;
        evbuffer_free(p->body);
        free(p);
    }
    tgt_live = tgt_free_list = NULL;
}

/* ---------------------------------------------------------------------------------
 * Control endpoints under /__target/: never counted, never delayed, no auth. */

static void tgt_reply_json(struct evhttp_request *req, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    struct evbuffer *b = evbuffer_new();
    if (s && b) evbuffer_add(b, s, strlen(s));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", TGT_JSON);
    evhttp_send_reply(req, status, tgt_reason(status), b);
    if (b) evbuffer_free(b);
    free(s);
}

static void tgt_reply_detail(struct evhttp_request *req, int status, const char *detail)
{
    tgt_reply_json(req, status, json_pack("{s:s}", "detail", detail));
}

/* ---------------------------------------------------------------------------------
 * WebSocket feed (RFC 6455), the ground truth for Stampede's ws steps. A GET /ws/...
 * with valid upgrade headers is taken over from evhttp: the 101 answer is written on the
 * connection's bufferevent, whose callbacks become ours, and the connection is freed
 * with evhttp_connection_free when the WebSocket ends (before evhttp_free at exit).
 * Framing is ours (a test server wants to see and count every frame): client frames must
 * be masked, fragmented messages are reassembled, pings are answered, a close is echoed
 * with its code, messages are at most 1 MiB (1009 otherwise). Endpoints:
 *   /ws/echo        every message back, after --ws-delay MS when set (timer, not sleep);
 *   /ws/production  every message to every client of /ws/production, the sender too;
 *   /ws/seq         {"seq":n,"ts_us":...} every 10 ms, n = 1, 2, ... per client;
 *                   ?reorder=1 swaps every 10th pair (..., 8, 10, 9, 11, ..., 18, 20, 19).
 * Upgrades are counted under "ws" in the counters, never under "routes". */

#define TGT_WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define TGT_WS_MAX_MSG     (1u << 20)
#define TGT_WS_SEQ_MS      10
#define TGT_WS_CLOSE_WAIT  2        /* seconds we wait for the peer's close reply */
#define TGT_WS_MAX_CODES   32

enum tgt_ws_kind { TGT_WS_ECHO, TGT_WS_PRODUCTION, TGT_WS_SEQ };
enum tgt_ws_state {
    TGT_WS_OPEN,
    TGT_WS_CLOSE_SENT,          /* our close is out: waiting for the peer's (or the timer) */
    TGT_WS_FLUSH,               /* closing handshake done or failed: free once written */
};

typedef struct tgt_ws_later tgt_ws_later;

typedef struct tgt_ws {
    struct tgt_ws            *prev, *next;
    struct evhttp_connection *evcon;
    struct bufferevent       *bev;
    enum tgt_ws_kind          kind;
    enum tgt_ws_state         state;
    bool                      reorder, counted_close;
    uint64_t                  seq_emitted;
    struct event             *tick;      /* /ws/seq feed; the close wait otherwise */
    unsigned char            *msg;       /* message being reassembled */
    size_t                    msg_len, msg_cap;
    int                       msg_op;    /* 0 none, 1 text, 2 binary */
    tgt_ws_later             *later;     /* delayed echoes */
} tgt_ws;

struct tgt_ws_later {
    struct event   ev;
    tgt_ws        *w;
    tgt_ws_later  *prev, *next;
    int            op;
    size_t         len;
    unsigned char  data[];
};

typedef struct tgt_ws_code { int code; uint64_t n; } tgt_ws_code;

static tgt_ws     *tgt_ws_all;
static uint32_t    tgt_ws_delay_ms;
static uint64_t    tgt_ws_open, tgt_ws_connections, tgt_ws_refused;
static uint64_t    tgt_ws_msgs_in, tgt_ws_msgs_out;
static tgt_ws_code tgt_ws_codes[TGT_WS_MAX_CODES];
static int         tgt_ws_ncodes;

static void tgt_ws_count_close(tgt_ws *w, int code)
{
    if (w->counted_close) return;
    w->counted_close = true;
    for (int i = 0; i < tgt_ws_ncodes; i++)
        if (tgt_ws_codes[i].code == code) { tgt_ws_codes[i].n++; return; }
    if (tgt_ws_ncodes < TGT_WS_MAX_CODES) {
        tgt_ws_codes[tgt_ws_ncodes].code = code;
        tgt_ws_codes[tgt_ws_ncodes++].n = 1;
    }
}

static void tgt_ws_counters_reset(void)
{
    tgt_ws_connections = tgt_ws_refused = tgt_ws_msgs_in = tgt_ws_msgs_out = 0;
    tgt_ws_ncodes = 0;
}

static json_t *tgt_ws_counters_json(void)
{
    json_t *closes = json_object();
    for (int i = 0; i < tgt_ws_ncodes; i++) {
        char code[12];
        snprintf(code, sizeof code, "%d", tgt_ws_codes[i].code);
        json_object_set_new(closes, code, json_integer((json_int_t)tgt_ws_codes[i].n));
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "connections", (json_int_t)tgt_ws_connections,
                     "open", (json_int_t)tgt_ws_open, "refused", (json_int_t)tgt_ws_refused,
                     "messages_in", (json_int_t)tgt_ws_msgs_in,
                     "messages_out", (json_int_t)tgt_ws_msgs_out, "closes", closes);
}

/* Releases the connection: our state, its delayed echoes, and the evhttp connection
 * (which frees the bufferevent and closes the socket). */
static void tgt_ws_free(tgt_ws *w)
{
    tgt_ws_count_close(w, 1006);        /* no close handshake seen: abnormal closure */
    if (w->prev) w->prev->next = w->next; else tgt_ws_all = w->next;
    if (w->next) w->next->prev = w->prev;
    tgt_ws_open--;
    for (tgt_ws_later *l = w->later, *n; l; l = n) {
        n = l->next;
        event_del(&l->ev);
        free(l);
    }
    if (w->tick) event_free(w->tick);
    evhttp_connection_free(w->evcon);
    free(w->msg);
    free(w);
}

/* One unmasked server frame. Data frames count as messages sent. */
static void tgt_ws_send(tgt_ws *w, int op, const void *data, size_t len)
{
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        h[1] = (unsigned char)len;
    } else if (len <= 0xffff) {
        h[1] = 126; h[2] = (unsigned char)(len >> 8); h[3] = (unsigned char)len; hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    struct evbuffer *out = bufferevent_get_output(w->bev);
    evbuffer_add(out, h, hl);
    if (len) evbuffer_add(out, data, len);
    if (op == 1 || op == 2) tgt_ws_msgs_out++;
}

static void tgt_ws_send_close(tgt_ws *w, int code)
{
    unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };
    tgt_ws_send(w, 8, p, code == 1005 ? 0 : 2);     /* 1005: the peer's close had no code */
}

/* Frees w once its output is written: asks for a (deferred) write callback, which
 * tgt_ws_on_write turns into tgt_ws_free when the output buffer is empty. */
static void tgt_ws_flush_and_free(tgt_ws *w)
{
    w->state = TGT_WS_FLUSH;
    if (w->tick) event_del(w->tick);
    bufferevent_disable(w->bev, EV_READ);
    bufferevent_trigger(w->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void tgt_ws_on_close_wait(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    tgt_ws_free(arg);                   /* the peer never answered our close */
}

/* Starts the closing handshake from our side (drop, shutdown of a feed). */
static void tgt_ws_start_close(tgt_ws *w, int code)
{
    if (w->state != TGT_WS_OPEN) return;
    tgt_ws_count_close(w, code);
    tgt_ws_send_close(w, code);
    w->state = TGT_WS_CLOSE_SENT;
    if (w->tick) event_free(w->tick);
    w->tick = evtimer_new(tgt_base, tgt_ws_on_close_wait, w);
    struct timeval tv = { TGT_WS_CLOSE_WAIT, 0 };
    if (!w->tick || evtimer_add(w->tick, &tv) != 0) tgt_ws_flush_and_free(w);
}

/* Fails the connection (protocol error, oversized message, bad UTF-8): our close frame
 * with code, then the socket closes once it is written. */
static void tgt_ws_fail(tgt_ws *w, int code)
{
    if (w->state == TGT_WS_OPEN) {
        tgt_ws_count_close(w, code);
        tgt_ws_send_close(w, code);
    }
    tgt_ws_flush_and_free(w);
}

static void tgt_ws_on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    tgt_ws_later *l = arg;
    tgt_ws *w = l->w;
    if (w->state == TGT_WS_OPEN) tgt_ws_send(w, l->op, l->data, l->len);
    if (l->prev) l->prev->next = l->next; else w->later = l->next;
    if (l->next) l->next->prev = l->prev;
    free(l);
}

/* A complete data message from the client, by endpoint. */
static void tgt_ws_on_message(tgt_ws *w, int op, const unsigned char *data, size_t len)
{
    tgt_ws_msgs_in++;
    tgt_arrival(&tgt_arr_ws);
    if (w->state != TGT_WS_OPEN) return;    /* counted as received; nothing more after our close */
    if (w->kind == TGT_WS_ECHO) {
        if (tgt_ws_delay_ms == 0) { tgt_ws_send(w, op, data, len); return; }
        tgt_ws_later *l = malloc(sizeof *l + len);
        if (!l) { tgt_ws_fail(w, 1011); return; }
        l->w = w;
        l->op = op;
        l->len = len;
        memcpy(l->data, data, len);
        l->prev = NULL;
        l->next = w->later;
        if (w->later) w->later->prev = l;
        w->later = l;
        struct timeval tv = { tgt_ws_delay_ms / 1000, (tgt_ws_delay_ms % 1000) * 1000 };
        event_assign(&l->ev, tgt_base, -1, 0, tgt_ws_on_later, l);
        event_add(&l->ev, &tv);
    } else if (w->kind == TGT_WS_PRODUCTION) {
        for (tgt_ws *o = tgt_ws_all; o; o = o->next)
            if (o->kind == TGT_WS_PRODUCTION && o->state == TGT_WS_OPEN)
                tgt_ws_send(o, op, data, len);
    }
    /* /ws/seq ignores what clients send (they are counted) */
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool tgt_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
        else return false;
        if (i + k >= n) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += k + 1;
    }
    return true;
}

static bool tgt_ws_close_code_ok(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Parses every complete frame in the input. Returns after the connection fails or its
 * closing handshake ends (w may then be waiting to be freed: do not touch it after). */
static void tgt_ws_on_read(struct bufferevent *bev, void *arg)
{
    tgt_ws *w = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (w->state != TGT_WS_FLUSH) {
        size_t avail = evbuffer_get_length(in);
        unsigned char h[14];
        if (avail < 2) return;
        evbuffer_copyout(in, h, 2);
        bool fin = h[0] & 0x80, masked = h[1] & 0x80;
        int rsv = h[0] & 0x70, op = h[0] & 0x0f;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (avail < hl) return;
        evbuffer_copyout(in, h, hl);
        if (len == 126) {
            len = ((uint64_t)h[2] << 8) | h[3];
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
        }
        if (rsv || !masked) { tgt_ws_fail(w, 1002); return; }   /* no extensions; clients mask */
        if (op >= 8) {
            if (op > 10 || !fin || len > 125) { tgt_ws_fail(w, 1002); return; }
        } else if (op > 2 || (op == 0) != (w->msg_op != 0)) {
            tgt_ws_fail(w, 1002);       /* unknown opcode, or continuation out of place */
            return;
        } else if (len > TGT_WS_MAX_MSG - w->msg_len) {
            tgt_ws_fail(w, 1009);
            return;
        }
        if (avail - hl < len) return;
        evbuffer_drain(in, hl);
        const unsigned char *mask = h + hl - 4;
        if (op >= 8) {
            unsigned char p[125];
            evbuffer_remove(in, p, (size_t)len);
            for (size_t i = 0; i < len; i++) p[i] ^= mask[i & 3];
            if (op == 9) {
                if (w->state == TGT_WS_OPEN) tgt_ws_send(w, 10, p, (size_t)len);
            } else if (op == 8) {
                int code = len >= 2 ? (p[0] << 8) | p[1] : 1005;
                if (len == 1 || (len >= 2 && !tgt_ws_close_code_ok(code)) ||
                    (len > 2 && !tgt_utf8_valid(p + 2, (size_t)len - 2))) {
                    tgt_ws_fail(w, 1002);
                    return;
                }
                if (w->state == TGT_WS_OPEN) {      /* the peer started: echo its code */
                    tgt_ws_count_close(w, code);
                    tgt_ws_send_close(w, code);
                }
                tgt_ws_flush_and_free(w);
                return;
            }
            continue;                   /* pong: nothing to do */
        }
        if (w->msg_len + len > w->msg_cap) {
            size_t cap = w->msg_cap ? w->msg_cap : 4096;
            while (cap < w->msg_len + len) cap *= 2;
            unsigned char *m = realloc(w->msg, cap);
            if (!m) { tgt_ws_fail(w, 1011); return; }
            w->msg = m;
            w->msg_cap = cap;
        }
        unsigned char *dst = w->msg + w->msg_len;
        evbuffer_remove(in, dst, (size_t)len);
        for (size_t i = 0; i < len; i++) dst[i] ^= mask[i & 3];
        w->msg_len += (size_t)len;
        if (op) w->msg_op = op;
        if (!fin) continue;
        int mop = w->msg_op;
        size_t mlen = w->msg_len;
        w->msg_op = 0;
        w->msg_len = 0;
        if (mop == 1 && !tgt_utf8_valid(w->msg, mlen)) { tgt_ws_fail(w, 1007); return; }
        tgt_ws_on_message(w, mop, w->msg, mlen);
    }
}

static void tgt_ws_on_write(struct bufferevent *bev, void *arg)
{
    tgt_ws *w = arg;
    if (w->state == TGT_WS_FLUSH && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        tgt_ws_free(w);
}

static void tgt_ws_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) tgt_ws_free(arg);
}

/* /ws/seq: the next message of the feed. With reorder, the 9th and 10th of every ten
 * are swapped. */
static void tgt_ws_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    tgt_ws *w = arg;
    uint64_t i = ++w->seq_emitted, n = i;
    if (w->reorder && i % 10 == 9) n = i + 1;
    else if (w->reorder && i % 10 == 0) n = i - 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char msg[96];
    int len = snprintf(msg, sizeof msg, "{\"seq\":%llu,\"ts_us\":%llu}", (unsigned long long)n,
                       (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    tgt_ws_send(w, 1, msg, (size_t)len);
}

/* Is token (case-insensitive) one of the comma-separated items of a header value? */
static bool tgt_header_has_token(const char *v, const char *token)
{
    size_t tn = strlen(token);
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t')) m--;
        if (m == tn && strncasecmp(v, token, tn) == 0) return true;
        v += n;
    }
    return false;
}

/* GET /ws/...: validates the upgrade, answers 101 on the raw connection and takes it
 * over from evhttp. Refusals are answered through evhttp (400, 404, 405) and counted
 * as ws.refused, not as routes. */
static void tgt_ws_upgrade(struct evhttp_request *req, const char *path, const char *query)
{
    struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
    enum tgt_ws_kind kind;
    if (strcmp(path, "/ws/echo") == 0) kind = TGT_WS_ECHO;
    else if (strcmp(path, "/ws/production") == 0) kind = TGT_WS_PRODUCTION;
    else if (strcmp(path, "/ws/seq") == 0) kind = TGT_WS_SEQ;
    else { tgt_ws_refused++; tgt_reply_detail(req, 404, "ws endpoints: /ws/echo, /ws/production, /ws/seq"); return; }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        tgt_ws_refused++;
        tgt_reply_detail(req, 405, "a WebSocket upgrade is a GET");
        return;
    }
    const char *key = evhttp_find_header(ih, "Sec-WebSocket-Key");
    const char *ver = evhttp_find_header(ih, "Sec-WebSocket-Version");
    const char *bad = NULL;
    if (!tgt_header_has_token(evhttp_find_header(ih, "Upgrade"), "websocket"))
        bad = "Upgrade: websocket required";
    else if (!tgt_header_has_token(evhttp_find_header(ih, "Connection"), "upgrade"))
        bad = "Connection: Upgrade required";
    else if (!ver || strcmp(ver, "13") != 0)
        bad = "Sec-WebSocket-Version: 13 required";
    else if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        bad = "Sec-WebSocket-Key: base64 of 16 bytes required";
    if (bad) {
        tgt_ws_refused++;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Sec-WebSocket-Version", "13");
        tgt_reply_detail(req, 400, bad);
        return;
    }
    tgt_ws *w = calloc(1, sizeof *w);
    if (!w) { tgt_ws_refused++; tgt_reply_detail(req, 503, "out of memory"); return; }
    w->kind = kind;
    w->reorder = kind == TGT_WS_SEQ && query && strstr(query, "reorder=1") != NULL;
    w->evcon = evhttp_request_get_connection(req);
    w->bev = evhttp_connection_get_bufferevent(w->evcon);

    char concat[24 + sizeof TGT_WS_GUID];
    unsigned char digest[SHA_DIGEST_LENGTH], accept[32];
    snprintf(concat, sizeof concat, "%s%s", key, TGT_WS_GUID);
    SHA1((const unsigned char *)concat, strlen(concat), digest);
    EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    /* Subprotocol: the first one offered is accepted, so clients can test theirs. */
    char proto[128] = "";
    const char *offered = evhttp_find_header(ih, "Sec-WebSocket-Protocol");
    if (offered) {
        while (*offered == ' ') offered++;
        size_t n = strcspn(offered, ", \t");
        if (n > 0 && n < sizeof proto - 1) { memcpy(proto, offered, n); proto[n] = '\0'; }
    }
    struct evbuffer *out = bufferevent_get_output(w->bev);
    evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", (char *)accept);
    if (proto[0]) evbuffer_add_printf(out, "Sec-WebSocket-Protocol: %s\r\n", proto);
    evbuffer_add(out, "\r\n", 2);

    /* From here the connection is ours: evhttp keeps the request in its list (freed with
     * the connection) and never sees another byte, and its idle timeout is lifted. */
    bufferevent_setcb(w->bev, tgt_ws_on_read, tgt_ws_on_write, tgt_ws_on_event, w);
    bufferevent_set_timeouts(w->bev, NULL, NULL);
    bufferevent_enable(w->bev, EV_READ | EV_WRITE);
    w->next = tgt_ws_all;
    if (tgt_ws_all) tgt_ws_all->prev = w;
    tgt_ws_all = w;
    tgt_ws_open++;
    tgt_ws_connections++;
    if (kind == TGT_WS_SEQ) {
        struct timeval tv = { 0, TGT_WS_SEQ_MS * 1000 };
        w->tick = event_new(tgt_base, -1, EV_PERSIST, tgt_ws_on_tick, w);
        if (!w->tick || event_add(w->tick, &tv) != 0) { tgt_ws_fail(w, 1011); return; }
    }
    /* Frames the client sent right behind its handshake are already buffered: parse them
     * from a deferred callback, outside evhttp's stack. */
    bufferevent_trigger(w->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* POST /__target/ws-drop: every open WebSocket gets a close 1012 (service restart). */
static uint64_t tgt_ws_drop_all(void)
{
    uint64_t n = 0;
    for (tgt_ws *w = tgt_ws_all, *next; w; w = next) {
        next = w->next;
        if (w->state == TGT_WS_OPEN) { tgt_ws_start_close(w, 1012); n++; }
    }
    return n;
}

static void tgt_ws_free_all(void)
{
    while (tgt_ws_all) tgt_ws_free(tgt_ws_all);
}

static json_t *tgt_counters_json(void)
{
    json_t *routes = json_object();
    for (uint32_t i = 0; i <= TGT_MAX_KEYS; i++) {
        const tgt_count *c = &tgt_counts[i];
        if (c->requests == 0) continue;
        json_t *st = json_object();
        for (int k = 0; k < c->nstatus; k++) {
            char code[12];
            snprintf(code, sizeof code, "%d", c->st[k].code);
            json_object_set_new(st, code, json_integer((json_int_t)c->st[k].n));
        }
        json_object_set_new(routes, c->key,
                            json_pack("{s:I,s:o}", "requests", (json_int_t)c->requests,
                                      "status", st));
    }
    return json_pack("{s:I,s:o,s:I,s:o}", "total", (json_int_t)tgt_total, "routes", routes,
                     "pending", (json_int_t)tgt_npending, "ws", tgt_ws_counters_json());
}

static json_t *tgt_rule_json(const tgt_rule *r)
{
    return json_pack("{s:s,s:I,s:f,s:I}", "route", r->route, "delay_ms", (json_int_t)r->delay_ms,
                     "error_rate", (double)r->rate_ppm / TGT_PPM, "seen", (json_int_t)r->seen);
}

/* POST /__target/config {"route", "delay_ms"?, "error_rate"?}: sets one rule; fields
 * left out keep their value (0 for a new rule). Setting error_rate restarts the rule's
 * sequence so the failure pattern is reproducible from this point. */
static void tgt_on_config(struct evhttp_request *req)
{
    json_t *body = tgt_body_object(req, false);
    if (!body) { tgt_reply_detail(req, 400, "body must be a JSON object"); return; }
    const char *route = json_string_value(json_object_get(body, "route"));
    json_t *d = json_object_get(body, "delay_ms"), *e = json_object_get(body, "error_rate");
    const char *bad = NULL;
    if (!route || !tgt_route_valid(route))
        bad = "route: a path starting with '/' (prefix when it ends with '/') or \"*\"";
    else if (d && (!json_is_number(d) || json_number_value(d) < 0 ||
                   json_number_value(d) > TGT_MAX_DELAY_MS))
        bad = "delay_ms: a number of milliseconds, 0..3600000";
    else if (e && (!json_is_number(e) || json_number_value(e) < 0 || json_number_value(e) > 1))
        bad = "error_rate: a fraction 0..1";
    tgt_rule *r = bad ? NULL : tgt_rule_get(route);
    if (!bad && !r) bad = "too many rules";
    if (bad) { json_decref(body); tgt_reply_detail(req, 400, bad); return; }
    if (d) r->delay_ms = (uint32_t)(json_number_value(d) + 0.5);
    if (e) { r->rate_ppm = (uint32_t)(json_number_value(e) * TGT_PPM + 0.5); r->seen = 0; }
    json_decref(body);
    tgt_reply_json(req, 200, tgt_rule_json(r));
}

/* GET /__target/arrivals?of=http|ws&bucket_ms=N&t0=first|MONO_US: arrivals per bucket
 * (see tgt_arrivals_json). t0 defaults to the millisecond of the first arrival since start
 * or reset; a monotonic instant counts from the start of its millisecond (floor, so t0 =
 * an arrival's own instant includes that arrival). */
static void tgt_on_arrivals(struct evhttp_request *req)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (q && evhttp_parse_query_str(q, &kv) != 0) {
        tgt_reply_detail(req, 400, "bad query string");
        return;
    }
    const char *of = evhttp_find_header(&kv, "of"), *bs = evhttp_find_header(&kv, "bucket_ms");
    const char *t0s = evhttp_find_header(&kv, "t0"), *bad = NULL;
    if (!of) of = "http";
    const tgt_arrivals *a = !strcmp(of, "http") ? &tgt_arr_http : !strcmp(of, "ws") ? &tgt_arr_ws : NULL;
    char *end;
    unsigned long long bucket = 1000, t0_us = 0;
    if (!a) bad = "of: http or ws";
    if (!bad && bs) {
        errno = 0;
        bucket = strtoull(bs, &end, 10);
        if (errno || end == bs || *end || bucket < 1 || bucket > TGT_ARR_MS)
            bad = "bucket_ms: 1..600000";
    }
    if (!bad && t0s && strcmp(t0s, "first") != 0) {
        errno = 0;
        t0_us = strtoull(t0s, &end, 10);
        if (errno || end == t0s || *end || t0_us == 0) bad = "t0: first or a CLOCK_MONOTONIC instant in microseconds";
    }
    if (bad) {
        evhttp_clear_headers(&kv);
        tgt_reply_detail(req, 400, bad);
        return;
    }
    uint64_t t0_ms;
    if (t0_us) t0_ms = t0_us > tgt_arr_base_us ? (t0_us - tgt_arr_base_us) / 1000 : 0;
    else t0_ms = a->first_us ? (a->first_us - tgt_arr_base_us) / 1000 : 0;
    json_t *v = tgt_arrivals_json(a, of, t0_ms, bucket);
    evhttp_clear_headers(&kv);
    tgt_reply_json(req, 200, v);
}

/* POST /__target/stall {"ms": N}: HTTP API requests arriving in the next N ms (0..3600000)
 * are answered when the stall ends; {"ms": 0} ends it for requests arriving from now on. */
static void tgt_on_stall(struct evhttp_request *req)
{
    json_t *body = tgt_body_object(req, false);
    json_t *ms = body ? json_object_get(body, "ms") : NULL;
    if (!ms || !json_is_number(ms) || json_number_value(ms) < 0 ||
        json_number_value(ms) > TGT_MAX_DELAY_MS) {
        json_decref(body);
        tgt_reply_detail(req, 400, "body: {\"ms\": 0..3600000}");
        return;
    }
    uint64_t us = (uint64_t)(json_number_value(ms) * 1000 + 0.5);
    json_decref(body);
    uint64_t now = time_mono_us();
    tgt_stall_until_us = us ? now + us : 0;
    tgt_reply_json(req, 200, json_pack("{s:I,s:I}", "stall_ms", (json_int_t)(us / 1000),
                                       "until_mono_us", (json_int_t)(us ? now + us : now)));
}

static void tgt_on_control(struct evhttp_request *req, const char *path)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (strcmp(path, "/__target/counters") == 0 && m == EVHTTP_REQ_GET) {
        tgt_reply_json(req, 200, tgt_counters_json());
    } else if (strcmp(path, "/__target/reset") == 0 && m == EVHTTP_REQ_POST) {
        tgt_count_reset();
        tgt_ws_counters_reset();
        tgt_arrivals_reset(&tgt_arr_http);
        tgt_arrivals_reset(&tgt_arr_ws);
        for (int i = 0; i < tgt_nrules; i++) tgt_rules[i].seen = 0;
        if (tgt_logins) json_object_clear(tgt_logins);
        tgt_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
    } else if (strcmp(path, "/__target/ws-drop") == 0 && m == EVHTTP_REQ_POST) {
        tgt_reply_json(req, 200, json_pack("{s:I}", "dropped", (json_int_t)tgt_ws_drop_all()));
    } else if (strcmp(path, "/__target/arrivals") == 0 && m == EVHTTP_REQ_GET) {
        tgt_on_arrivals(req);
    } else if (strcmp(path, "/__target/stall") == 0 && m == EVHTTP_REQ_POST) {
        tgt_on_stall(req);
    } else if (strcmp(path, "/__target/logins") == 0 && m == EVHTTP_REQ_GET) {
        tgt_reply_json(req, 200, tgt_logins ? json_incref(tgt_logins) : json_object());
    } else if (strcmp(path, "/__target/config") == 0 && m == EVHTTP_REQ_POST) {
        tgt_on_config(req);
    } else if (strcmp(path, "/__target/config") == 0 && m == EVHTTP_REQ_GET) {
        json_t *a = json_array();
        for (int i = 0; i < tgt_nrules; i++) json_array_append_new(a, tgt_rule_json(&tgt_rules[i]));
        tgt_reply_json(req, 200, json_pack("{s:o}", "rules", a));
    } else {
        tgt_reply_detail(req, 404, "control endpoints: GET counters, GET arrivals, GET logins, POST reset, GET|POST config, POST stall, POST ws-drop");
    }
}

/* ---------------------------------------------------------------------------------
 * GET /metrics: the target's own figures in the Prometheus text format (0.0.4), what a
 * `monitor:` section scrapes (master/monitor.h). Not counted (like /__target/), so
 * totals checked against the counters stay exact while a monitor scrapes. Families:
 *   http_requests_total               counter  answered requests (the counters' total;
 *                                              POST /__target/reset sets it back to 0)
 *   http_requests_in_flight           gauge    requests held by a delay or a stall
 *   db_pool_size                      gauge    TGT_DB_POOL, a simulated pool's size
 *   db_pool_connections{state}        gauge    "in_use" and "idle": the simulated pool,
 *       in use = min(TGT_DB_POOL, in-flight requests + requests per second since the
 *       previous scrape / TGT_DB_RPS_PER_CONN), as a pool behind the API would be
 *   websocket_connections_open        gauge
 *   process_resident_memory_bytes     gauge    /proc/self/statm's resident pages
 *   process_cpu_seconds_total         counter  user + system time (getrusage) */
#define TGT_DB_POOL         100
#define TGT_DB_RPS_PER_CONN 50.0

static void tgt_on_metrics(struct evhttp_request *req)
{
    static uint64_t last_total, last_us;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        tgt_reply_detail(req, 405, "GET /metrics");
        return;
    }
    uint64_t now = time_mono_us();
    double rps = 0;
    if (last_us && now > last_us && tgt_total >= last_total)
        rps = (double)(tgt_total - last_total) / ((double)(now - last_us) / 1e6);
    last_total = tgt_total;
    last_us = now;
    double in_use = (double)tgt_npending + rps / TGT_DB_RPS_PER_CONN;
    if (in_use > TGT_DB_POOL) in_use = TGT_DB_POOL;
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(out,
        "# HELP http_requests_total Requests answered (control endpoints and /metrics aside).\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total %llu\n"
        "# HELP http_requests_in_flight Requests held by a delay or a stall.\n"
        "# TYPE http_requests_in_flight gauge\n"
        "http_requests_in_flight %llu\n"
        "# HELP db_pool_size Connections of the simulated database pool.\n"
        "# TYPE db_pool_size gauge\n"
        "db_pool_size %d\n"
        "# HELP db_pool_connections Simulated database pool connections by state.\n"
        "# TYPE db_pool_connections gauge\n"
        "db_pool_connections{state=\"in_use\"} %.0f\n"
        "db_pool_connections{state=\"idle\"} %.0f\n"
        "# HELP websocket_connections_open WebSocket connections open now.\n"
        "# TYPE websocket_connections_open gauge\n"
        "websocket_connections_open %llu\n"
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes %lld\n"
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total %.3f\n",
        (unsigned long long)tgt_total, (unsigned long long)tgt_npending, TGT_DB_POOL,
        in_use, TGT_DB_POOL - in_use, (unsigned long long)tgt_ws_open,
        (long long)rss * (long long)sysconf(_SC_PAGESIZE), cpu);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

/* ---------------------------------------------------------------------------------
 * Every request comes here (evhttp's generic callback). */

static void tgt_on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!path || !*path) path = "/";
    if (strncmp(path, "/__target/", 10) == 0) { tgt_on_control(req, path); return; }
    if (strcmp(path, "/metrics") == 0) { tgt_on_metrics(req); return; }
    if (strncmp(path, "/ws/", 4) == 0) { tgt_ws_upgrade(req, path, query); return; }
    tgt_arrival(&tgt_arr_http);

    char tpath[TGT_PATH_MAX], key[TGT_KEY_MAX];
    tgt_template_path(path, tpath, sizeof tpath);
    snprintf(key, sizeof key, "%s %s", tgt_method_name(evhttp_request_get_command(req)), tpath);

    tgt_rule *rule = tgt_nrules ? tgt_rule_find(path, strlen(path)) : NULL;
    const char *ctype = TGT_JSON;
    int status;
    if (rule && tgt_rule_should_fail(rule))
        status = tgt_detail(tgt_out, 503, "injected failure");
    else
        status = tgt_dispatch(req, path, tpath, query, tgt_out, &ctype);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    evhttp_add_header(oh, "Content-Type", ctype);
    uint64_t delay_us = rule ? (uint64_t)rule->delay_ms * 1000 : 0;
    if (tgt_stall_until_us) {           /* a stall holds the answer until it ends */
        uint64_t now = time_mono_us();
        if (now < tgt_stall_until_us) delay_us += tgt_stall_until_us - now;
        else tgt_stall_until_us = 0;
    }
    if (delay_us > 0 && tgt_defer(req, status, tgt_out, key, delay_us) == 0)
        return;
    tgt_send(req, status, tgt_out, key);
    evbuffer_drain(tgt_out, evbuffer_get_length(tgt_out));
}

/* ---------------------------------------------------------------------------------
 * Start-up and shutdown. */

static void tgt_on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    const char *why = arg;
    log_info(TGT_TAG, "stopping: %s", why);
    event_base_loopbreak(tgt_base);
}

static void tgt_usage(FILE *f)
{
    fprintf(f,
        "usage: stampede-target [--listen ADDR:PORT] [--delay ROUTE=MS]... [--error ROUTE=RATE]...\n"
        "                       [--ws-delay MS] [--api-key KEY]... [--max-seconds N]\n"
        "  --listen ADDR:PORT   IPv4 address and port (default 127.0.0.1:8000; port 0: any free port)\n"
        "  --delay ROUTE=MS     answer requests on ROUTE after MS milliseconds (timer, not sleep)\n"
        "  --error ROUTE=RATE   fail that fraction (0..1) of ROUTE's requests with 503, deterministically\n"
        "  --ws-delay MS        /ws/echo answers each message after MS milliseconds\n"
        "  --api-key KEY        an X-API-Key the /api/ routes accept (default: erp-dev-key)\n"
        "  --max-seconds N      exit after N seconds whatever happens (default 3600)\n"
        "ROUTE: a path without query; ending in '/' it matches every path below (e.g.\n"
        "/ppic/manufacturing-orders/ for the {id} route); \"*\" matches all. Prints\n"
        "\"listening ADDR:PORT\" once ready; SIGTERM/SIGINT stop it. See tests/target/README.md.\n");
}

/* "ROUTE=VALUE" for --delay / --error into a rule. 0, or -1 with a message. */
static int tgt_parse_rule_arg(const char *arg, bool is_delay)
{
    const char *eq = strrchr(arg, '=');
    char route[TGT_ROUTE_MAX];
    if (!eq || (size_t)(eq - arg) >= sizeof route) goto bad;
    memcpy(route, arg, (size_t)(eq - arg));
    route[eq - arg] = '\0';
    if (!tgt_route_valid(route)) goto bad;
    char *end;
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (errno || end == eq + 1 || *end) goto bad;
    if (is_delay ? (v < 0 || v > TGT_MAX_DELAY_MS) : (v < 0 || v > 1)) goto bad;
    tgt_rule *r = tgt_rule_get(route);
    if (!r) { fprintf(stderr, "stampede-target: too many rules (max %d)\n", TGT_MAX_RULES); return -1; }
    if (is_delay) r->delay_ms = (uint32_t)(v + 0.5);
    else          r->rate_ppm = (uint32_t)(v * TGT_PPM + 0.5);
    return 0;
bad:
    fprintf(stderr, "stampede-target: bad %s '%s' (want ROUTE=%s, ROUTE a path or *)\n",
            is_delay ? "--delay" : "--error", arg, is_delay ? "MS (0..3600000)" : "RATE (0..1)");
    return -1;
}

/* "ADDR:PORT" (IPv4) into sin. 0 or -1. */
static int tgt_parse_listen(const char *s, struct sockaddr_in *sin)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535) return -1;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* Many virtual users mean many sockets: lift the soft descriptor limit to the hard one. */
static void tgt_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:8000";
    long max_seconds = 3600;
    log_init_from_env();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { tgt_usage(stdout); return 0; }
        if (!v) { tgt_usage(stderr); return 2; }
        if (!strcmp(a, "--listen")) listen_at = v;
        else if (!strcmp(a, "--delay")) { if (tgt_parse_rule_arg(v, true)) return 2; }
        else if (!strcmp(a, "--error")) { if (tgt_parse_rule_arg(v, false)) return 2; }
        else if (!strcmp(a, "--api-key")) {
            if (!*v || strlen(v) > 128 || tgt_napi_keys == TGT_MAX_API_KEYS) {
                fprintf(stderr, "stampede-target: --api-key wants 1..128 characters, at most %d keys\n",
                        TGT_MAX_API_KEYS);
                return 2;
            }
            tgt_api_keys[tgt_napi_keys++] = v;
        }
        else if (!strcmp(a, "--ws-delay")) {
            char *end;
            long ms = strtol(v, &end, 10);
            if (end == v || *end || ms < 0 || ms > (long)TGT_MAX_DELAY_MS) {
                fprintf(stderr, "stampede-target: --ws-delay wants 0..3600000 (ms)\n");
                return 2;
            }
            tgt_ws_delay_ms = (uint32_t)ms;
        }
        else if (!strcmp(a, "--max-seconds")) {
            char *end;
            max_seconds = strtol(v, &end, 10);
            if (end == v || *end || max_seconds < 1 || max_seconds > 7 * 86400) {
                fprintf(stderr, "stampede-target: --max-seconds wants 1..604800\n");
                return 2;
            }
        } else { tgt_usage(stderr); return 2; }
        i++;
    }
    struct sockaddr_in sin;
    if (tgt_parse_listen(listen_at, &sin) != 0) {
        fprintf(stderr, "stampede-target: bad --listen '%s' (want IPv4ADDR:PORT)\n", listen_at);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    tgt_raise_nofile();

    int rc = 1;
    struct evhttp *http = NULL;
    struct event *ev_term = NULL, *ev_int = NULL, *ev_max = NULL;
    /* Injected delays are measured by the tests to a fraction of a millisecond: ask for
     * timerfd-precision timers instead of epoll's millisecond timeouts (rounded up). */
    struct event_config *ecfg = event_config_new();
    if (ecfg) event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    tgt_base = ecfg ? event_base_new_with_config(ecfg) : event_base_new();
    if (ecfg) event_config_free(ecfg);
    tgt_out = evbuffer_new();
    if (!tgt_base || !tgt_out || !(http = evhttp_new(tgt_base))) {
        fprintf(stderr, "stampede-target: out of memory\n");
        goto out;
    }
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(http, TGT_MAX_BODY);
    /* Keep-alive connections idle longer than this are closed. Well above any think time
     * in our scenarios (endurance supervisors pause up to 60 s), so a client never races
     * the server's close with its next request. */
    evhttp_set_timeout(http, TGT_IDLE_S);
    evhttp_set_gencb(http, tgt_on_request, NULL);

    /* Our own listener: evhttp_bind_socket listens with a backlog of 128, which a burst
     * of several hundred users connecting at once overflows (SYN retries cost seconds
     * and would show up as latency); -1 asks for the system maximum. */
    struct evconnlistener *lev = evconnlistener_new_bind(
        tgt_base, NULL, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        -1, (struct sockaddr *)&sin, sizeof sin);
    if (!lev) {
        fprintf(stderr, "stampede-target: cannot listen on %s: %s\n", listen_at, strerror(errno));
        goto out;
    }
    evutil_socket_t lfd = evconnlistener_get_fd(lev);
    int one = 1;      /* inherited by accepted sockets on Linux: small answers go out at once */
    setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!evhttp_bind_listener(http, lev)) {
        evconnlistener_free(lev);
        fprintf(stderr, "stampede-target: cannot bind the HTTP server\n");
        goto out;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    char host[INET_ADDRSTRLEN];
    if (getsockname(lfd, (struct sockaddr *)&bound, &blen) != 0 ||
        !inet_ntop(AF_INET, &bound.sin_addr, host, sizeof host)) {
        fprintf(stderr, "stampede-target: getsockname: %s\n", strerror(errno));
        goto out;
    }

    ev_term = evsignal_new(tgt_base, SIGTERM, tgt_on_stop, "SIGTERM");
    ev_int = evsignal_new(tgt_base, SIGINT, tgt_on_stop, "SIGINT");
    ev_max = evtimer_new(tgt_base, tgt_on_stop, "--max-seconds reached");
    struct timeval max_tv = { max_seconds, 0 };
    if (!ev_term || !ev_int || !ev_max || evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
        evtimer_add(ev_max, &max_tv)) {
        fprintf(stderr, "stampede-target: cannot set up signals and timers\n");
        goto out;
    }
    tgt_arr_base_us = time_mono_us();
    printf("listening %s:%u\n", host, (unsigned)ntohs(bound.sin_port));
    fflush(stdout);

    uint64_t t0 = time_mono_us();
    event_base_dispatch(tgt_base);
    log_info(TGT_TAG, "served %llu requests in %.1f s",
             (unsigned long long)tgt_total, (double)(time_mono_us() - t0) / 1e6);
    rc = 0;
out:
    if (ev_term) event_free(ev_term);
    if (ev_int) event_free(ev_int);
    if (ev_max) event_free(ev_max);
    tgt_pending_free_all();
    tgt_ws_free_all();
    if (http) evhttp_free(http);
    if (tgt_out) evbuffer_free(tgt_out);
    if (tgt_base) event_base_free(tgt_base);
    tgt_tokens_free();
    if (tgt_logins) json_decref(tgt_logins);
    return rc;
}
