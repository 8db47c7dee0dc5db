/* The API's connection guard: see master/api_conn.h. */
#include "master/api_conn.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include "common/log.h"

typedef enum { CONN_HEAD, CONN_BODY, CONN_DROP } conn_state;

typedef struct api_conn {
    LIST_ENTRY(api_conn) link;
    api_conns          *owner;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *cbent;
    struct evhttp_connection *evcon;    /* known once evhttp set its callbacks */
    conn_state          state;
    bool                over_cap;       /* beyond API_MAX_CONNS: answered 503 at once */
    char               *head;           /* API_MAX_HEAD bytes: the header block so far */
    size_t              hlen;
    uint64_t            body_left;      /* CONN_BODY: bytes still to come */
    uint64_t            reserved;       /* our share of owner->buffered */
} api_conn;

struct api_conns {
    struct event_base  *base;
    const api_guard_cfg *g;
    LIST_HEAD(, api_conn) all;
    int                 n;              /* connections within the cap */
    uint64_t            buffered;       /* declared body bytes being received */
};

static void conn_release(api_conn *c)
{
    c->owner->buffered -= c->reserved;
    c->reserved = 0;
}

/* Answers code on the socket itself and drops the connection's input from now on. Only
 * when evhttp has nothing queued to write, so the two never interleave. */
static void conn_refuse(api_conn *c, int code, const char *msg, bool shut_read)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    const char *reason = code == 400 ? "Bad Request" : code == 401 ? "Unauthorized" : code == 403 ? "Forbidden"
                       : code == 411 ? "Length Required" : code == 413 ? "Payload Too Large"
                       : code == 415 ? "Unsupported Media Type" : code == 421 ? "Misdirected Request"
                       : code == 431 ? "Request Header Fields Too Large"
                       : "Service Unavailable";
    char body[640], out[1024];
    /* the messages are ours (api_req.c, this file): plain ASCII, no quotes to escape */
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                     "%sConnection: close\r\nContent-Length: %d\r\n\r\n%s",
                     code, reason, code == 401 ? "WWW-Authenticate: Basic realm=\"stampede\", charset=\"UTF-8\"\r\n" : "",
                     bl, body);
    if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 && n > 0 && (size_t)n < sizeof out) {
        ssize_t w;
        do w = send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
    }
    if (fd >= 0) shutdown(fd, shut_read ? SHUT_RDWR : SHUT_WR);
    conn_release(c);
    c->state = CONN_DROP;
    free(c->head);
    c->head = NULL;
    log_debug("api", "connection refused before its body: %d %s", code, msg);
}

/* A complete header block in c->head: decides whether its body may come in. */
static void conn_judge(api_conn *c)
{
    char *store = malloc(c->hlen + 1);
    api_head h;
    if (!store || api_head_parse(c->head, c->hlen, store, c->hlen + 1, &h) != 0) {
        free(store);
        c->hlen = 0;
        /* evhttp would refuse it too; refusing here keeps our view of where each request
         * starts and ends from ever differing from evhttp's */
        conn_refuse(c, 400, "malformed request head", false);
        return;
    }
    char msg[512];
    int code = 0;
    /* evhttp reads a body for every method but HEAD and TRACE (evhttp_method_may_have_body) */
    bool may_body = strcmp(h.method, "HEAD") && strcmp(h.method, "TRACE");
    if (!may_body) h.length = 0;
    if (may_body && (h.chunked || h.has_length)) {
        if (h.bad_length) {
            code = 400;
            snprintf(msg, sizeof msg, "malformed Content-Length");
        } else if (h.chunked) {
            code = 411;
            snprintf(msg, sizeof msg, "a request body needs a Content-Length (no chunked bodies)");
        } else if (h.length > API_MAX_BODY) {
            code = 413;
            snprintf(msg, sizeof msg, "the body is larger than %u bytes", API_MAX_BODY);
        } else {
            code = api_guard_check(c->owner->g, &h, msg, sizeof msg);
            if (!code && c->owner->buffered + h.length > API_MAX_BUFFERED) {
                code = 503;
                snprintf(msg, sizeof msg, "the API is receiving %u MiB of request bodies already: retry shortly",
                         API_MAX_BUFFERED >> 20);
            }
        }
    }
    free(store);
    c->hlen = 0;
    if (code) {
        conn_refuse(c, code, msg, false);
        return;
    }
    if (h.length > 0) {
        c->state = CONN_BODY;
        c->body_left = h.length;
        c->reserved += h.length;
        c->owner->buffered += h.length;
    } else {
        c->state = CONN_HEAD;
    }
}

/* Runs on every change of the connection's input buffer, before evhttp reads it. */
static void conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    api_conn *c = arg;
    if (info->n_added == 0) return;
    if (c->state == CONN_DROP) {
        evbuffer_drain(buf, evbuffer_get_length(buf));
        return;
    }
    size_t len = evbuffer_get_length(buf);
    size_t pos = len >= info->n_added ? len - info->n_added : 0;   /* new bytes: [pos, len) */
    while (pos < len && c->state != CONN_DROP) {
        if (c->state == CONN_BODY) {
            uint64_t take = len - pos < c->body_left ? len - pos : c->body_left;
            pos += take;
            c->body_left -= take;
            if (c->body_left == 0) {
                conn_release(c);        /* evhttp hands the request over now */
                c->state = CONN_HEAD;
            }
            continue;
        }
        /* CONN_HEAD: copy bytes until the empty line. */
        if (!c->head && !(c->head = malloc(API_MAX_HEAD))) {
            conn_refuse(c, 503, "out of memory", true);
            break;
        }
        struct evbuffer_ptr p;
        evbuffer_ptr_set(buf, &p, pos, EVBUFFER_PTR_SET);
        size_t room = API_MAX_HEAD - c->hlen;
        size_t want = len - pos < room ? len - pos : room;
        ev_ssize_t got = evbuffer_copyout_from(buf, &p, c->head + c->hlen, want);
        if (got <= 0) break;
        /* The block ends at an empty line: "\n" then "\n" or "\r\n" (evhttp reads lines
         * ending in either); look back 2 bytes for an end split between two reads. */
        size_t from = c->hlen >= 2 ? c->hlen - 2 : 0;
        size_t total = c->hlen + (size_t)got, end = 0;
        for (size_t i = from; i + 1 < total && !end; i++) {
            if (c->head[i] != '\n') continue;
            if (c->head[i + 1] == '\n') end = i + 2;
            else if (i + 2 < total && c->head[i + 1] == '\r' && c->head[i + 2] == '\n') end = i + 3;
        }
        if (!end) {
            c->hlen = total;
            pos += (size_t)got;
            if (c->hlen == API_MAX_HEAD) conn_refuse(c, 431, "the request head is too large", false);
            continue;
        }
        pos += end - c->hlen;
        c->hlen = end;
        conn_judge(c);
    }
    if (c->state == CONN_DROP) evbuffer_drain(buf, evbuffer_get_length(buf));
}

static void conn_free(api_conn *c)
{
    conn_release(c);
    if (!c->over_cap) c->owner->n--;
    LIST_REMOVE(c, link);
    free(c->head);
    free(c);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    api_conn *c = arg;
    if (c->cbent) evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->cbent);
    conn_free(c);
}

/* Runs right after evhttp set the connection up (same loop pass as the accept, before any
 * read): learns the evhttp connection to hear of its end, refuses beyond the cap. */
static void conn_setup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    api_conn *c = arg;
    void *evcon = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
    c->evcon = evcon;
    if (c->evcon) evhttp_connection_set_closecb(c->evcon, conn_closed, c);
    if (c->over_cap) conn_refuse(c, 503, "too many connections to the API: retry shortly", true);
}

static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
    api_conns *o = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    api_conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (!c) return bev;                 /* evhttp goes on unguarded only when out of memory */
    c->owner = o;
    c->bev = bev;
    c->state = CONN_HEAD;
    c->over_cap = o->n >= API_MAX_CONNS;
    if (!c->over_cap) o->n++;
    LIST_INSERT_HEAD(&o->all, c, link);
    c->cbent = evbuffer_add_cb(bufferevent_get_input(bev), conn_input_cb, c);
    /* evhttp creates its connection object from bev after we return, and sets its
     * callbacks on it: look for them on the next pass (an event made active now runs
     * before any read on the new socket, which needs a poll first). */
    struct timeval zero = { 0, 0 };
    if (!c->cbent || event_base_once(base, -1, EV_TIMEOUT, conn_setup, c, &zero) != 0) {
        if (c->cbent) evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->cbent);
        conn_free(c);
    }
    return bev;
}

api_conns *api_conns_new(struct event_base *base, struct evhttp *http, const api_guard_cfg *g)
{
    api_conns *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->base = base;
    o->g = g;
    LIST_INIT(&o->all);
    evhttp_set_bevcb(http, conn_new, o);
    return o;
}

void api_conns_free(api_conns *o)
{
    if (!o) return;
    /* evhttp_free closed every connection (conn_closed ran); any left never got set up */
    while (!LIST_EMPTY(&o->all)) {
        api_conn *c = LIST_FIRST(&o->all);
        LIST_REMOVE(c, link);
        free(c->head);
        free(c);
    }
    free(o);
}
