/* HTTP transport of one engine thread: libcurl's multi_socket API driven by the
 * thread's libevent event_base (the shape of curl's hiperfifo.c example). This is the
 * narrow interface a virtual user drives: start a request, get one completion with
 * status, timings and the body if asked for. A leaner HTTP/1.1 path could later sit
 * behind the same four calls without touching the VU, the stats or the results.
 *
 * Ownership and threads: an http_loop belongs to one engine thread and is used only on
 * it; an http_xfer is embedded in its VU (caller's memory) and owns one curl easy
 * handle, reused for every request of the VU, so the VU keeps its keep-alive
 * connection like a real user. The per-socket struct event sits in a small per-socket
 * record allocated when libcurl opens a socket (connection setup, not per request).
 *
 * Allocation: our side of a request allocates nothing in steady state (URL, headers
 * and body live in the VU's reusable buffers; header list nodes are the xfer's own
 * array). libcurl itself allocates inside curl_easy_setopt(CURLOPT_URL) and while
 * parsing; that is libcurl's business. */
#ifndef WORKER_HTTP_H
#define WORKER_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#define HTTP_MAX_HEADERS 32

typedef struct http_loop http_loop;
typedef struct http_xfer http_xfer;

struct sockaddr;
typedef struct http_opts {
    bool http2;                 /* negotiate HTTP/2 (ALPN on https, prior knowledge on http) */
    bool insecure;              /* skip TLS verification */
    bool follow_redirects;
    /* Checked before every connect (redirects and re-resolved names included): false
     * refuses the connection, which fails as a connect error. NULL: all allowed. */
    bool (*allow)(const void *ud, const struct sockaddr *sa);
    const void *allow_ud;
} http_opts;

typedef struct http_result {
    CURLcode code;              /* CURLE_OK or the transport error */
    long     status;            /* HTTP status, 0 when none */
    uint64_t total_us;          /* CURLINFO_TOTAL_TIME_T */
    uint64_t connect_us;        /* CURLINFO_CONNECT_TIME_T (0 on a reused connection) */
    uint64_t bytes;             /* response body bytes received */
    const char *errbuf;         /* libcurl's message when code != CURLE_OK */
} http_result;

typedef void (*http_done_fn)(http_xfer *x, const http_result *r);

struct http_xfer {
    CURL        *easy;          /* owned */
    http_loop   *loop;          /* borrowed */
    http_done_fn done;
    void        *ud;            /* the VU */
    bool         active;        /* in the multi handle */
    bool         keep_body, keep_hdrs; /* collect the body / headers of this request */
    char        *body;          /* owned, grows to its high-water mark, NUL-terminated */
    size_t       body_len, body_cap;
    char        *hdrs;          /* owned, likewise */
    size_t       hdrs_len, hdrs_cap;
    uint64_t     bytes;
    bool         refused;       /* the last connect was refused by opts.allow */
    http_opts    opts;
    struct curl_slist hnodes[HTTP_MAX_HEADERS]; /* request header list, our memory */
    char         errbuf[CURL_ERROR_SIZE];
};

/* One per engine thread. NULL on failure. */
http_loop *http_loop_new(struct event_base *base);
void       http_loop_free(http_loop *l);   /* after every xfer is finished */
int        http_loop_active(const http_loop *l); /* transfers in flight */

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
#endif
