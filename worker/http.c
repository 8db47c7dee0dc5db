/* worker/http.h's calls, dispatched to the client that carries each transfer
 * (worker/http_int.h): the choice is made once per transfer, at http_xfer_init,
 * from http_opts.client and what the lean client serves (HTTP/1.1: not defaults.http2). */
#include "worker/http.h"
#include <stdlib.h>
#include <string.h>
#include "worker/http_int.h"

http_loop *http_loop_new(struct event_base *base)
{
    http_loop *l = calloc(1, sizeof *l);
    if (l) l->base = base;
    return l;
}

void http_loop_free(http_loop *l)
{
    if (!l) return;
    if (l->curl) hc_loop_free(l->curl);
    if (l->lean) hl_loop_free(l->lean);
    free(l);
}

int http_loop_active(const http_loop *l)
{
    return (l->curl ? hc_loop_active(l->curl) : 0) + (l->lean ? hl_loop_active(l->lean) : 0);
}

uint32_t http_loop_conns(const http_loop *l)
{
    return (l->curl ? hc_loop_conns(l->curl) : 0) + (l->lean ? hl_loop_conns(l->lean) : 0);
}

int http_xfer_init(http_xfer *x, http_loop *l, const http_opts *o, http_done_fn done, void *ud)
{
    memset(x, 0, sizeof *x);
    x->loop = l;
    x->done = done;
    x->ud = ud;
    x->opts = *o;
    x->lean = o->client == HTTP_CLIENT_LEAN || (o->client == HTTP_CLIENT_AUTO && !o->http2);
    if (x->lean) {
        if (!l->lean && !(l->lean = hl_loop_new(l->base))) return -1;
        return hl_xfer_init(x, l->lean);
    }
    if (!l->curl && !(l->curl = hc_loop_new(l->base))) return -1;
    return hc_xfer_init(x, l->curl);
}

void http_xfer_fini(http_xfer *x)
{
    if (!x->loop) return;
    if (x->lean) hl_xfer_fini(x);
    else hc_xfer_fini(x);
    free(x->body);
    free(x->hdrs);
    memset(x, 0, sizeof *x);
}

int http_xfer_start(http_xfer *x, const http_req *r)
{
    if (x->active) return -1;
    x->body_len = 0;
    x->hdrs_len = 0;
    x->bytes = 0;
    return x->lean ? hl_xfer_start(x, r) : hc_xfer_start(x, r);
}

void http_xfer_cancel(http_xfer *x)
{
    if (x->lean) hl_xfer_cancel(x);
    else hc_xfer_cancel(x);
}

void http_xfer_drop_cookies(http_xfer *x)
{
    if (x->lean) hl_xfer_drop_cookies(x);
    else hc_xfer_drop_cookies(x);
}
