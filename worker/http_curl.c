/* libcurl's multi_socket API on libevent (the shape of curl's hiperfifo.c example):
 * one of the two clients behind worker/http.h (see worker/http_int.h). Each socket
 * libcurl watches has a small record with its struct event, in a table indexed by the
 * descriptor: allocated the first time a descriptor is seen and reused for the life of
 * the loop (a connection's socket is dropped and watched again around every transfer).
 * A transfer's record (hc_xfer) holds its easy handle, the request header list nodes
 * (the xfer's own array: no allocation per request on our side) and libcurl's error
 * buffer. */
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include "worker/http_int.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"

/* The most idle connections one loop keeps for reuse (see hc_loop_new): more than
 * one engine thread runs users, so every user's connection stays. */
#define HTTP_MAX_IDLE_CONNS 1000000

/* One per socket libcurl watches, kept in a table indexed by the descriptor and reused
 * for the life of the loop: a connection's socket is dropped and watched again around
 * every transfer, and that must not cost an allocation. */
typedef struct hc_xfer {
    CURL        *easy;          /* owned */
    bool         refused;       /* the last connect was refused by opts.allow */
    struct curl_slist hnodes[HTTP_MAX_HEADERS]; /* request header list */
    char         errbuf[CURL_ERROR_SIZE];       /* libcurl's message */
} hc_xfer;

static inline hc_xfer *HC(const http_xfer *x) { return x->impl; }

typedef struct http_sock {
    struct event   ev;
    struct hc_loop *loop;
    bool           watched;
} http_sock;

struct hc_loop {
    struct event_base *base;
    CURLM             *multi;
    struct event       timer;       /* libcurl's single timeout */
    bool               in_curl;     /* inside curl_multi_socket_action (see http_timer_cb) */
    int                active;      /* transfers in the multi handle */
    http_sock        **socks;       /* by descriptor; grows to the highest fd seen */
    size_t             nsocks;
    uint32_t           conns;       /* sockets libcurl opened and has not closed yet
                                     * (http_open_socket, http_close_socket) */
};

static http_sock *http_sock_get(hc_loop *l, curl_socket_t fd)
{
    if (fd < 0) return NULL;
    if ((size_t)fd >= l->nsocks) {
        size_t n = l->nsocks ? l->nsocks : 64;
        while (n <= (size_t)fd) n *= 2;
        http_sock **t = realloc(l->socks, n * sizeof *t);
        if (!t) return NULL;
        memset(t + l->nsocks, 0, (n - l->nsocks) * sizeof *t);
        l->socks = t;
        l->nsocks = n;
    }
    if (!l->socks[fd]) {
        l->socks[fd] = calloc(1, sizeof(http_sock));
        if (l->socks[fd]) l->socks[fd]->loop = l;
    }
    return l->socks[fd];
}

/* A transport error's kind, as the results count it. */
static stats_err_kind http_kind(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
        return ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS:
        return ERR_TLS;
    default:
        return ERR_OTHER;
    }
}

static void http_check(hc_loop *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        http_xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(l->multi, e);
        l->active--;
        if (!x) continue;
        x->active = false;
        http_result r = { .failed = code != CURLE_OK, .bytes = x->bytes };
        if (r.failed) {
            /* libcurl's generic text per code, not its error buffer (see http.h) */
            r.kind = http_kind(code);
            r.detail = HC(x)->refused ? "target outside the worker's --allow" : curl_easy_strerror(code);
        }
        curl_off_t t = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
        if (curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK && t > 0) r.total_us = (uint64_t)t;
        t = 0;
        if (curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0) r.connect_us = (uint64_t)t;
        t = 0;
        if (curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK && t > (curl_off_t)r.connect_us)
            r.tls_us = (uint64_t)t - r.connect_us;
        t = 0;
        if (curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK && t > 0) r.ttfb_us = (uint64_t)t;
        if (x->body) x->body[x->body_len] = '\0';
        if (x->hdrs) x->hdrs[x->hdrs_len] = '\0';
        x->done(x, &r);
    }
}

static void http_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    hc_loop *l = arg;
    int running;
    l->in_curl = true;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    l->in_curl = false;
    http_check(l);
}

static void http_on_event(evutil_socket_t fd, short what, void *arg)
{
    http_sock *s = arg;
    hc_loop *l = s->loop;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    l->in_curl = true;
    curl_multi_socket_action(l->multi, fd, action, &running);
    l->in_curl = false;
    http_check(l);
}

/* Whether the callback running now (if any) has the base's first priority, libcurl's
 * timer's own. */
static bool http_in_first_priority(hc_loop *l)
{
    struct event *run = event_base_get_running_event(l->base);
    return run && event_get_priority(run) == event_get_priority(&l->timer);
}

static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    hc_loop *l = userp;
    if (timeout_ms < 0) {
        evtimer_del(&l->timer);
    } else if (timeout_ms == 0 && !l->in_curl && http_in_first_priority(l)) {
        /* "now", asked when a transfer is added by a callback of the base's first
         * priority (the open model's arrival timer, worker/engine_open.c): the timer,
         * at that priority too (hc_loop_new), is made active, so the request is sent
         * in this loop pass rather than after another poll (an epoll_wait and a
         * timerfd_settime: a third of the open model's passes). Not from a callback of a
         * later priority: making a higher-priority event active there ends libevent's
         * pass early (a poll per response in the closed model: its req/s halved, measured).
         * Not from inside libcurl either, so a transfer that keeps asking for "now"
         * cannot keep the loop from its sockets: those wait for the next pass as before. */
        evtimer_del(&l->timer);
        event_active(&l->timer, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        evtimer_add(&l->timer, &tv);
    }
    return 0;
}

static int http_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e; (void)socketp;
    hc_loop *l = userp;
    http_sock *s = http_sock_get(l, fd);
    if (!s) return -1;
    if (s->watched) {
        event_del(&s->ev);
        s->watched = false;
    }
    if (what == CURL_POLL_REMOVE) return 0;
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    event_assign(&s->ev, l->base, fd, kind, http_on_event, s);
    event_add(&s->ev, NULL);
    s->watched = true;
    return 0;
}

hc_loop *hc_loop_new(struct event_base *base)
{
    hc_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->base = base;
    l->multi = curl_multi_init();
    if (!l->multi) {
        free(l);
        return NULL;
    }
    evtimer_assign(&l->timer, base, http_on_timer, l);
    event_priority_set(&l->timer, 0);   /* the base's first (of however many it has) */
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    /* Keep a connection per user. libcurl's default caps its cache of idle connections
     * at 4x the easy handles in the multi handle at the moment, and ours are in it only
     * while a transfer runs (http_xfer_start adds, http_check removes): with few
     * transfers in flight (the open model between arrivals, a closed model with think
     * times) it closed the connections of users that had just finished and their next
     * request connected again (measured: 1 request in 20 at 2,000/s on one thread). The
     * cache is now bounded by HTTP_MAX_IDLE_CONNS (and the descriptors); idle
     * connections still age out after libcurl's CURLOPT_MAXAGE_CONN. HTTP/2
     * multiplexing stays per user's handle. */
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MAX_IDLE_CONNS);
    return l;
}

void hc_loop_free(hc_loop *l)
{
    if (!l) return;
    evtimer_del(&l->timer);
    curl_multi_cleanup(l->multi);
    for (size_t i = 0; i < l->nsocks; i++) {
        if (l->socks[i] && l->socks[i]->watched) event_del(&l->socks[i]->ev);
        free(l->socks[i]);
    }
    free(l->socks);
    free(l);
}

int hc_loop_active(const hc_loop *l) { return l->active; }

uint32_t hc_loop_conns(const hc_loop *l) { return l->conns; }

static size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_xfer *x = ud;
    size_t n = size * nmemb;
    x->bytes += n;
    if (x->keep_body) {
        if (util_append(&x->body, &x->body_len, &x->body_cap, ptr, n) != 0) return 0;
    }
    return n;
}

static size_t http_on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_xfer *x = ud;
    size_t n = size * nmemb;
    if (x->keep_hdrs) {
        if (util_append(&x->hdrs, &x->hdrs_len, &x->hdrs_cap, ptr, n) != 0) return 0;
    }
    return n;
}

/* Every connection libcurl opens passes the allowlist first, and is counted (the
 * engine's open connections, common/stats.h stats_health) until http_close_socket. */
static curl_socket_t http_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    http_xfer *x = ud;
    (void)purpose;
    if (x->opts.allow && !x->opts.allow(x->opts.allow_ud, &a->addr)) {
        HC(x)->refused = true;
        return CURL_SOCKET_BAD;
    }
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd != CURL_SOCKET_BAD) x->loop->curl->conns++;
    return fd;
}

/* libcurl closes a socket it opened (a connection's end, the cache's eviction, a lost
 * race of happy eyeballs): the handle that opened it may be gone, the loop is not. */
static int http_close_socket(void *ud, curl_socket_t fd)
{
    hc_loop *l = ud;
    if (l->conns > 0) l->conns--;
    return close(fd);
}

int hc_xfer_init(http_xfer *x, hc_loop *l)
{
    hc_xfer *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return -1;
    }
    x->impl = h;
    const http_opts *o = &x->opts;
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, http_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, l);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");     /* gzip, deflate, br, zstd */
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* No proxy from the environment: load goes where the scenario says, and libcurl
     * skips reading *_proxy variables on every transfer. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "stampede/" STAMPEDE_VERSION);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, o->follow_redirects ? 1L : 0L);
    /* "" starts the cookie engine with an empty jar and reads no file: this handle's
     * (this user's) own jar, in memory (worker/http.h) */
    if (!o->no_cookies)
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    if (o->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     o->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    /* A user's receive buffer: libcurl's default 16 KiB per handle dominates an idle
     * user's memory; 8 KiB costs nothing measurable on API-sized responses. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 8192L);
    return 0;
}

void hc_xfer_fini(http_xfer *x)
{
    hc_xfer *h = HC(x);
    if (!h) return;
    hc_xfer_cancel(x);
    curl_easy_cleanup(h->easy);
    free(h);
    x->impl = NULL;
}

int hc_xfer_start(http_xfer *x, const http_req *r)
{
    hc_xfer *h = HC(x);
    CURL *e = h->easy;
    h->refused = false;
    h->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    int nh = r->nheaders < HTTP_MAX_HEADERS ? r->nheaders : HTTP_MAX_HEADERS;
    for (int i = 0; i < nh; i++) {
        h->hnodes[i].data = (char *)r->headers[i];
        h->hnodes[i].next = i + 1 < nh ? &h->hnodes[i + 1] : NULL;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, nh ? &h->hnodes[0] : NULL);
    /* Reset the method each time: the handle is reused across steps. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        if (strcmp(r->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (!strcmp(r->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    if (curl_multi_add_handle(x->loop->curl->multi, e) != CURLM_OK) return -1;
    x->active = true;
    x->loop->curl->active++;
    return 0;
}

void hc_xfer_cancel(http_xfer *x)
{
    if (!x->active) return;
    curl_multi_remove_handle(x->loop->curl->multi, HC(x)->easy);
    x->active = false;
    x->loop->curl->active--;
}

void hc_xfer_drop_cookies(http_xfer *x)
{
    if (HC(x) && !x->opts.no_cookies)
        curl_easy_setopt(HC(x)->easy, CURLOPT_COOKIELIST, "ALL");
}
