/* HTTP transport of one engine thread, on the thread's libevent event_base: the narrow
 * interface a virtual user drives: prepare a transfer, start a request, get one
 * completion (http_result: status, timings, body bytes, or a failure named by its
 * stats_err_kind and a static detail), cancel. Two clients sit behind it
 * (worker/http.c dispatches, worker/http_int.h): the lean HTTP/1.1 client
 * (worker/http_lean.c: one connection per user, requests written straight from the
 * user's rendered buffers, responses parsed by llhttp, OpenSSL for https) and libcurl's
 * multi_socket API (worker/http_curl.c: HTTP/2, and what the lean client does not
 * serve). Nothing of either reaches the VU through the calls or the result; the fields
 * of http_xfer marked "transport's" are theirs and no caller reads them.
 *
 * Ownership and threads: an http_loop belongs to one engine thread and is used only on
 * it; an http_xfer is embedded in its VU (caller's memory; the engine prepares it at the
 * user's first http step) and owns its client's per-user record (the lean client's
 * connection, or a curl easy handle), reused for every request of the VU, so the VU
 * keeps its keep-alive connection like a real user.
 *
 * Allocation: our side of a request allocates nothing in steady state (URL, headers
 * and body live in the VU's reusable buffers; the body and header buffers grow to their
 * high-water mark). The lean client allocates nothing per request once its buffers
 * reached their high-water marks; libcurl allocates inside curl_easy_setopt(CURLOPT_URL)
 * and while parsing, which is libcurl's business. */
#ifndef WORKER_HTTP_H
#define WORKER_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include "common/stats.h"

#define HTTP_MAX_HEADERS 32

typedef struct http_loop http_loop;
typedef struct http_xfer http_xfer;

struct sockaddr;
/* Which client carries a user's requests (the scenario's defaults.client):
 * AUTO: the lean client (worker/http_lean.c) wherever it can serve (http:// and https://
 * over HTTP/1.1), libcurl for the rest (defaults.http2); LEAN: the lean client (with
 * defaults.http2 the scenario is refused at validation); CURL: libcurl always. */
typedef enum http_client { HTTP_CLIENT_AUTO = 0, HTTP_CLIENT_LEAN, HTTP_CLIENT_CURL } http_client;

typedef struct http_opts {
    http_client client;
    bool http2;                 /* negotiate HTTP/2 (ALPN on https, prior knowledge on http) */
    bool insecure;              /* skip TLS verification */
    bool follow_redirects;
    /* Cookies (issue 12): each xfer (one per user) keeps its own cookie jar in libcurl's
     * cookie engine, on unless no_cookies (the scenario's defaults.cookies: false; the
     * zero value keeps the jar, like Locust's HttpUser). Every Set-Cookie is honoured as
     * libcurl does: domain (host-only without one), path, Expires/Max-Age (an expired
     * cookie is dropped), Secure (https only), HttpOnly kept; a cookie the scenario sets
     * itself in a Cookie header is sent as written, next to the jar's. The jar lives in
     * memory only, never read from or written to a file. */
    bool no_cookies;
    /* Checked before every connect (redirects and re-resolved names included): false
     * refuses the connection, which fails as a connect error. NULL: all allowed. */
    bool (*allow)(const void *ud, const struct sockaddr *sa);
    const void *allow_ud;
} http_opts;

/* What the VU sees of a finished request: nothing of libcurl. A transport error is
 * named by its kind (connect, timeout, tls, other) and a static detail: one text per
 * kind of failure, never a per-request message ("timed out after 151 ms" would make one
 * error row per millisecond). */
typedef struct http_result {
    bool           failed;      /* the transport failed: no response (kind, detail) */
    stats_err_kind kind;        /* when failed */
    const char    *detail;      /* when failed: static text, e.g. "Couldn't connect to server" */
    long           status;      /* HTTP status, 0 when none */
    uint64_t       total_us;    /* whole request (CURLINFO_TOTAL_TIME_T); 0: not measured */
    uint64_t       connect_us;  /* connection setup (0 on a reused connection) */
    uint64_t       bytes;       /* response body bytes received */
    uint64_t       tls_us;      /* TLS handshake (0: none this request) */
    uint64_t       ttfb_us;     /* request start to the first response byte; 0: none */
    uint32_t       retries;     /* the lean client sent this request again on a new
                                 * connection (0 or 1): an idempotent request whose reused
                                 * keep-alive connection closed before any byte came back;
                                 * the engine counts them (stats_health.retries) */
} http_result;

typedef void (*http_done_fn)(http_xfer *x, const http_result *r);

struct http_xfer {
    http_loop   *loop;          /* borrowed */
    http_done_fn done;
    void        *ud;            /* the VU */
    bool         active;        /* a request in flight */
    bool         lean;          /* carried by the lean client (fixed at init; see
                                 * http_opts.client), else by libcurl */
    bool         keep_body, keep_hdrs; /* collect the body / headers of this request */
    char        *body;          /* owned, grows to its high-water mark, NUL-terminated */
    size_t       body_len, body_cap;
    char        *hdrs;          /* owned, likewise */
    size_t       hdrs_len, hdrs_cap;
    uint64_t     bytes;
    http_opts    opts;
    void        *impl;          /* transport's: the client's own record (owned) */
};

/* One per engine thread. NULL on failure. */
http_loop *http_loop_new(struct event_base *base);
void       http_loop_free(http_loop *l);   /* after every xfer is finished */
int        http_loop_active(const http_loop *l); /* transfers in flight */
/* Connections open now, both clients: the lean client's (in use or idle), and sockets
 * libcurl opened and has not closed (in use or idle in its cache; counted in its
 * open/close socket callbacks, once per connection). */
uint32_t   http_loop_conns(const http_loop *l);

/* Prepares x (caller's memory) with a new easy handle. 0, or -1. */
int  http_xfer_init(http_xfer *x, http_loop *l, const http_opts *o, http_done_fn done, void *ud);
void http_xfer_fini(http_xfer *x);       /* cancels if active; frees buffers and handle */

typedef struct http_req {
    const char  *method;        /* "GET", "POST", ... */
    const char  *url;           /* NUL-terminated; libcurl copies it */
    const char  *const *headers;/* "Name: value" strings, valid until done() */
    int          nheaders;
    const char  *body;          /* valid until done(); NULL: none */
    size_t       body_len;
    uint64_t     timeout_ms;
} http_req;
/* Starts a request; done() is called later from the event loop, exactly once, unless
 * the request is cancelled. 0, or -1 (nothing started, done() not called). */
int  http_xfer_start(http_xfer *x, const http_req *r);
/* Removes an in-flight request; done() is not called. */
void http_xfer_cancel(http_xfer *x);
/* Empties the xfer's cookie jar (a user whose session ends, issue 12's stop_user in the
 * open model). Not while a request is in flight. Nothing when cookies are off. */
void http_xfer_drop_cookies(http_xfer *x);
#endif
