/* The two clients behind worker/http.h, as worker/http.c dispatches to them: libcurl
 * (worker/http_curl.c: HTTP/2, and whatever the lean client does not serve) and the
 * lean HTTP/1.1 client (worker/http_lean.c). Only those three files include this.
 *
 * Each client has its own loop record, created by http.c the first time a transfer of
 * that client is prepared (a run that uses one client never builds the other's: no
 * curl multi handle for an all-lean run), on the http_loop's event_base and thread.
 * An http_xfer belongs to one client for its life (x->lean, set at http_xfer_init);
 * x->impl is that client's per-transfer record, allocated by its xfer_init and freed by
 * its xfer_fini. The calls have http.h's meaning and failure rules. */
#ifndef WORKER_HTTP_INT_H
#define WORKER_HTTP_INT_H
#include "worker/http.h"

typedef struct hc_loop hc_loop;     /* libcurl's multi handle on the base */
typedef struct hl_loop hl_loop;     /* the lean client's connections on the base */

struct http_loop {
    struct event_base *base;
    hc_loop           *curl;        /* NULL until a libcurl transfer is prepared */
    hl_loop           *lean;        /* NULL until a lean transfer is prepared */
};

hc_loop  *hc_loop_new(struct event_base *base);
void      hc_loop_free(hc_loop *l);
int       hc_loop_active(const hc_loop *l);
uint32_t  hc_loop_conns(const hc_loop *l);
int       hc_xfer_init(http_xfer *x, hc_loop *l);
void      hc_xfer_fini(http_xfer *x);
int       hc_xfer_start(http_xfer *x, const http_req *r);
void      hc_xfer_cancel(http_xfer *x);
void      hc_xfer_drop_cookies(http_xfer *x);

hl_loop  *hl_loop_new(struct event_base *base);
void      hl_loop_free(hl_loop *l);
int       hl_loop_active(const hl_loop *l);
uint32_t  hl_loop_conns(const hl_loop *l);
int       hl_xfer_init(http_xfer *x, hl_loop *l);
void      hl_xfer_fini(http_xfer *x);
int       hl_xfer_start(http_xfer *x, const http_req *r);
void      hl_xfer_cancel(http_xfer *x);
void      hl_xfer_drop_cookies(http_xfer *x);
#endif
