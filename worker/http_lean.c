/* The lean HTTP/1.1 client: one of the two clients behind worker/http.h (see
 * worker/http_int.h), the one that carries http:// and https:// over HTTP/1.1.
 *
 * One connection per user (hl_conn, the xfer's impl), kept alive between its requests
 * and watched for reading all the time it is open, so a keep-alive connection the
 * server closes is seen (EOF) and closed here before the user's next request. A request
 * is written at once from http_xfer_start: the head (worker/http_wire.c, serialized
 * into the connection's own buffer, which stays at its high-water mark) and the user's
 * body (borrowed until done), one sendmsg on plain TCP (MSG_NOSIGNAL). Responses are
 * read into the loop's one read buffer (no per-connection receive buffer: an idle user costs no
 * buffer) and parsed by worker/http_resp.c (llhttp), which writes the header block and
 * the kept body into the xfer's buffers. Steady state: one write and one read system
 * call per request, no poll, no epoll_ctl, no allocation.
 *
 * Retries: an idempotent request (worker/http_wire.h) sent on a connection that had
 * carried a response before, which meets the connection's end (EOF, reset, a failed
 * send) before any byte of its answer came back, is sent once more on a new connection,
 * as browsers do; http_result.retries says so (the server never saw the first send, so
 * one request is counted). Anything else that goes wrong fails the request with
 * libcurl's kind and text for the same failure (worker/http_curl.c's mapping), so the
 * results read the same whichever client ran.
 *
 * Names: resolved with getaddrinfo on the engine thread the first time a host:port is
 * used (and again after HL_DNS_TTL_US), kept in the loop's table of HL_MAX_HOSTS;
 * addresses are tried in order, each one checked by the allowlist (opts.allow) before
 * its connect. A loop that meets more distinct hosts than that fails the request
 * ("too many distinct hosts on one engine thread", connect). TLS: OpenSSL, one SSL_CTX
 * per loop and verification setting (the system's CA store, the host name checked;
 * defaults.insecure skips both), SNI, ALPN "http/1.1", session resumption (the latest
 * session per host, from the new-session callback), SSL_MODE_RELEASE_BUFFERS (an idle
 * TLS user holds no record buffers).
 *
 * Callbacks: done() is called from the event loop only, never from inside
 * hl_xfer_start (a failure found there is delivered through the transfer's timer made
 * active). Everything here runs on the loop's thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "common/time.h"
#include "worker/cookie.h"
#include "worker/http_int.h"
#include "worker/http_resp.h"
#include "worker/http_wire.h"

#define HL_RBUF          (64u << 10)
#define HL_MAX_HOSTS     256
#define HL_MAX_ADDRS     4
#define HL_DNS_TTL_US    (60ull * 1000000)
#define HL_MAX_REDIRECTS 30
#define HL_MAX_PATH      2048     /* the request path the cookie jar matches (longer: cut) */

/* libcurl's texts for the same failures (curl_easy_strerror), so that error rows read
 * the same whichever client ran */
#define T_CONNECT   "Couldn't connect to server"
#define T_RESOLVE   "Couldn't resolve host name"
#define T_ALLOW     "target outside the worker's --allow"
#define T_TIMEOUT   "Timeout was reached"
#define T_TLS       "SSL connect error"
#define T_TLS_PEER  "SSL peer certificate or SSH remote key was not OK"
#define T_SEND      "Failed sending data to the peer"
#define T_RECV      "Failure when receiving data from the peer"
#define T_NOTHING   "Server returned nothing (no headers, no data)"
#define T_PARTIAL   "Transferred a partial file"
#define T_WEIRD     "Weird server reply"
#define T_PROTO     "Unsupported protocol"
#define T_URL       "URL using bad/illegal format or missing URL"
#define T_REDIRS    "Number of redirects hit maximum amount"
#define T_MEMORY    "Out of memory"
#define T_HOSTS     "too many distinct hosts on one engine thread"

typedef struct hl_host {
    char             name[HWIRE_MAX_HOST + 1];
    size_t           name_len;
    uint16_t         port;
    bool             tls;
    int              naddr;
    struct sockaddr_storage addr[HL_MAX_ADDRS];
    socklen_t        alen[HL_MAX_ADDRS];
    uint64_t         resolved_us;
    SSL_SESSION     *sess;          /* the latest TLS session (owned), NULL: none */
} hl_host;

struct hl_loop {
    struct event_base *base;
    int                active;
    uint32_t           conns;
    int                nhosts;
    hl_host           *hosts;       /* HL_MAX_HOSTS, allocated at the first host */
    SSL_CTX           *ctx[2];      /* [0] verifying, [1] insecure; at the first https */
    char               rbuf[HL_RBUF];
};

typedef enum { HL_NONE = 0, HL_CONNECTING, HL_HANDSHAKE, HL_SENDING, HL_WAITING } hl_state;

typedef struct hl_conn {
    http_xfer   *x;
    hl_loop     *loop;
    int          fd;            /* -1: no connection */
    SSL         *ssl;           /* https: owned while connected */
    int          host;          /* the connection's peer: index into loop->hosts */
    int          addr_i;        /* the address being tried */
    hl_state     st;
    short        evflags;       /* what ev is added for (0: not added) */
    bool         served;        /* the connection carried a response already */
    bool         reused;        /* this send went out on a connection that had served */
    bool         retried;       /* this request was sent again (see the top) */
    bool         refused;       /* an address was refused by the allowlist */
    bool         in_start;      /* inside hl_xfer_start: failures are deferred */
    bool         fpending;      /* a deferred failure waits for tmo */
    bool         head, idem, has_body, got_byte;
    uint8_t      redirects;
    stats_err_kind fkind;
    const char  *fdetail;
    struct event ev, tmo;
    hresp        resp;
    cookie_jar   jar;
    /* the request */
    const char  *method;
    const char *const *headers;
    int          nheaders;
    const char  *body;          /* borrowed until done */
    size_t       body_len;
    const char  *url;           /* the user's, or rurl after a redirect */
    hwire_url    u;
    char        *out;           /* the head; high-water */
    size_t       out_len, out_cap, sent;
    char        *rurl;          /* a redirect's URL; high-water */
    size_t       rurl_cap;
    char        *ck;            /* the jar's Cookie value; high-water */
    size_t       ck_cap;
    uint64_t     t0, tconn, connect_us, tls_us, ttfb_us;
} hl_conn;

static inline hl_conn *HL(const http_xfer *x) { return x->impl; }

static void hl_on_event(evutil_socket_t fd, short what, void *arg);
static void hl_connect(hl_conn *c);
static void hl_write(hl_conn *c);
static void hl_read(hl_conn *c);
static void hl_handshake(hl_conn *c);
static void hl_send(hl_conn *c);

/* ---------------------------------------------------------------- the loop ---- */

hl_loop *hl_loop_new(struct event_base *base)
{
    hresp_global_init();            /* thread-safe (worker/http_resp.h) */
    hl_loop *l = calloc(1, sizeof *l);
    if (l) l->base = base;
    return l;
}

void hl_loop_free(hl_loop *l)
{
    if (!l) return;
    for (int i = 0; i < l->nhosts; i++)
        if (l->hosts[i].sess) SSL_SESSION_free(l->hosts[i].sess);
    free(l->hosts);
    for (int i = 0; i < 2; i++)
        if (l->ctx[i]) SSL_CTX_free(l->ctx[i]);
    free(l);
}

int hl_loop_active(const hl_loop *l) { return l->active; }

uint32_t hl_loop_conns(const hl_loop *l) { return l->conns; }

/* The new-session callback: the connection's host keeps the latest session for the
 * next connection's resumption (1: we took the reference). */
static int hl_new_session(SSL *ssl, SSL_SESSION *sess)
{
    hl_conn *c = SSL_get_app_data(ssl);
    if (!c || c->host < 0) return 0;
    hl_host *h = &c->loop->hosts[c->host];
    if (h->sess) SSL_SESSION_free(h->sess);
    h->sess = sess;
    return 1;
}

static SSL_CTX *hl_ctx(hl_loop *l, bool insecure)
{
    SSL_CTX **p = &l->ctx[insecure ? 1 : 0];
    if (*p) return *p;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    if (!insecure) {
        SSL_CTX_set_default_verify_paths(ctx);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, hl_new_session);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    *p = ctx;
    return ctx;
}

/* The entry is u's scheme, host (case-blind) and port. */
static bool hl_host_is(const hl_host *h, const hwire_url *u)
{
    return h->port == u->port && h->tls == u->tls && h->name_len == u->host_len &&
           !strncasecmp(h->name, u->host, u->host_len);
}

/* The table entry of u's host:port (resolved now if new or older than the TTL). Its
 * index, or -1 with *detail set. */
static int hl_host_get(hl_loop *l, const hwire_url *u, const char **detail)
{
    uint64_t now = time_mono_us();
    int i;
    for (i = 0; i < l->nhosts; i++) {
        hl_host *h = &l->hosts[i];
        if (hl_host_is(h, u)) {
            if (h->naddr > 0 && now - h->resolved_us < HL_DNS_TTL_US) return i;
            break;
        }
    }
    if (i == l->nhosts) {
        if (!l->hosts && !(l->hosts = calloc(HL_MAX_HOSTS, sizeof *l->hosts))) {
            *detail = T_MEMORY;
            return -1;
        }
        if (l->nhosts == HL_MAX_HOSTS) {
            *detail = T_HOSTS;
            return -1;
        }
        hl_host *h = &l->hosts[l->nhosts];
        memcpy(h->name, u->host, u->host_len);
        h->name[u->host_len] = '\0';
        h->name_len = u->host_len;
        h->port = u->port;
        h->tls = u->tls;
        h->naddr = 0;
        l->nhosts++;
    }
    hl_host *h = &l->hosts[i];
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)h->port);
    /* No AI_ADDRCONFIG: it hides IPv4 (or IPv6) answers on a host whose only address of
     * that family is its loopback, which is where load goes in tests and network
     * namespaces. */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV }, *res = NULL;
    if (getaddrinfo(h->name, port, &hints, &res) != 0 || !res) {
        h->naddr = 0;
        *detail = T_RESOLVE;
        return -1;
    }
    int n = 0;
    for (struct addrinfo *a = res; a && n < HL_MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof h->addr[0]) continue;
        memcpy(&h->addr[n], a->ai_addr, a->ai_addrlen);
        h->alen[n] = (socklen_t)a->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    h->naddr = n;
    h->resolved_us = now;
    if (n == 0) {
        *detail = T_RESOLVE;
        return -1;
    }
    return i;
}

/* ------------------------------------------------------------ connections ---- */

static void hl_watch(hl_conn *c, short flags)
{
    if (c->evflags == flags) return;
    if (c->evflags) event_del(&c->ev);
    c->evflags = flags;
    if (!flags) return;
    event_assign(&c->ev, c->loop->base, c->fd, (short)(flags | EV_PERSIST), hl_on_event, c);
    event_add(&c->ev, NULL);
}

static void hl_close(hl_conn *c)
{
    if (c->fd < 0) return;
    hl_watch(c, 0);
    if (c->ssl) {
        SSL_set_app_data(c->ssl, NULL);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
    c->host = -1;
    c->served = false;
    if (c->loop->conns > 0) c->loop->conns--;
}

/* The request ends: the result goes to the user (from the loop only). */
static void hl_finish(hl_conn *c, http_result *r)
{
    http_xfer *x = c->x;
    evtimer_del(&c->tmo);
    c->st = HL_NONE;
    c->fpending = false;
    x->active = false;
    c->loop->active--;
    r->connect_us = c->connect_us;
    r->tls_us = c->tls_us;
    r->ttfb_us = c->ttfb_us;
    r->total_us = time_mono_us() - c->t0;
    r->retries = c->retried ? 1 : 0;
    x->bytes = r->bytes;
    if (x->body) x->body[x->body_len] = '\0';
    if (x->hdrs) x->hdrs[x->hdrs_len] = '\0';
    x->done(x, r);
}

static void hl_fail(hl_conn *c, stats_err_kind kind, const char *detail)
{
    if (c->st != HL_NONE) hl_close(c);
    if (c->in_start) {             /* never call done() from inside start */
        c->fkind = kind;
        c->fdetail = detail;
        c->fpending = true;
        event_active(&c->tmo, EV_TIMEOUT, 1);
        return;
    }
    http_result r = { .failed = true, .kind = kind, .detail = detail, .bytes = c->resp.bytes };
    hl_finish(c, &r);
}

/* The connection ended under a request (EOF, reset, a failed send) with detail: sent
 * again once when the rule at the top allows it, else failed. */
static void hl_io_fail(hl_conn *c, const char *detail)
{
    if (c->reused && c->idem && !c->resp.started && !c->retried) {
        c->retried = true;
        hl_close(c);
        hl_send(c);             /* on a new connection */
        return;
    }
    hl_fail(c, ERR_OTHER, detail);
}

static void hl_start_tls(hl_conn *c)
{
    hl_host *h = &c->loop->hosts[c->host];
    SSL_CTX *ctx = hl_ctx(c->loop, c->x->opts.insecure);
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    if (!ssl) {
        hl_fail(c, ERR_TLS, T_TLS);
        return;
    }
    c->ssl = ssl;
    SSL_set_fd(ssl, c->fd);
    SSL_set_app_data(ssl, c);
    SSL_set_connect_state(ssl);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, h->name, ip) == 1 || inet_pton(AF_INET6, h->name, ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl, h->name);
    if (!c->x->opts.insecure) {
        if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h->name);
        else SSL_set1_host(ssl, h->name);
    }
    if (h->sess) SSL_set_session(ssl, h->sess);
    c->st = HL_HANDSHAKE;
    c->tls_us = time_mono_us();     /* its start until the handshake ends */
    hl_handshake(c);
}

static void hl_connected(hl_conn *c)
{
    c->served = false;
    c->connect_us = time_mono_us() - c->tconn;
    hl_watch(c, EV_READ);
    if (c->u.tls) {
        hl_start_tls(c);
        return;
    }
    c->st = HL_SENDING;
    hl_write(c);
}

/* Connects to the host's addresses from addr_i on. */
static void hl_connect(hl_conn *c)
{
    hl_loop *l = c->loop;
    const http_opts *o = &c->x->opts;
    if (c->addr_i == 0) {
        const char *detail = NULL;
        int hi = hl_host_get(l, &c->u, &detail);
        if (hi < 0) {
            hl_fail(c, ERR_CONNECT, detail);
            return;
        }
        c->host = hi;
        c->refused = false;
        c->tconn = time_mono_us();
        c->tls_us = 0;
    }
    hl_host *h = &l->hosts[c->host];
    for (; c->addr_i < h->naddr; c->addr_i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&h->addr[c->addr_i];
        if (o->allow && !o->allow(o->allow_ud, sa)) {
            c->refused = true;
            continue;
        }
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        l->conns++;
        if (connect(fd, sa, h->alen[c->addr_i]) == 0) {
            c->st = HL_CONNECTING;
            hl_connected(c);
            return;
        }
        if (errno == EINPROGRESS) {
            c->st = HL_CONNECTING;
            hl_watch(c, EV_WRITE);
            return;
        }
        int host = c->host;
        hl_close(c);
        c->host = host;
    }
    c->host = -1;
    hl_fail(c, ERR_CONNECT, c->refused ? T_ALLOW : T_CONNECT);
}

/* ------------------------------------------------------------ a request ---- */

static void hl_handshake(hl_conn *c)
{
    ERR_clear_error();
    int rc = SSL_connect(c->ssl);
    if (rc == 1) {
        c->tls_us = time_mono_us() - c->tls_us;
        hl_watch(c, EV_READ);
        c->st = HL_SENDING;
        hl_write(c);
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        hl_watch(c, EV_READ);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        hl_watch(c, EV_READ | EV_WRITE);
        return;
    }
    bool peer = SSL_get_verify_result(c->ssl) != X509_V_OK;
    c->tls_us = 0;
    hl_fail(c, ERR_TLS, peer ? T_TLS_PEER : T_TLS);
}

static void hl_write(hl_conn *c)
{
    size_t total = c->out_len + c->body_len;
    while (c->sent < total) {
        ssize_t n;
        if (c->ssl) {
            const char *p;
            size_t left;
            if (c->sent < c->out_len) {
                p = c->out + c->sent;
                left = c->out_len - c->sent;
            } else {
                p = c->body + (c->sent - c->out_len);
                left = total - c->sent;
            }
            ERR_clear_error();
            int w = SSL_write(c->ssl, p, left > (size_t)INT32_MAX ? INT32_MAX : (int)left);
            if (w <= 0) {
                int e = SSL_get_error(c->ssl, w);
                if (e == SSL_ERROR_WANT_WRITE) { hl_watch(c, EV_READ | EV_WRITE); return; }
                if (e == SSL_ERROR_WANT_READ) { hl_watch(c, EV_READ); return; }
                hl_io_fail(c, T_SEND);
                return;
            }
            n = w;
        } else {
            struct iovec iov[2];
            int k = 0;
            if (c->sent < c->out_len)
                iov[k++] = (struct iovec){ c->out + c->sent, c->out_len - c->sent };
            size_t bsent = c->sent > c->out_len ? c->sent - c->out_len : 0;
            if (c->body_len > bsent)
                iov[k++] = (struct iovec){ (void *)(c->body + bsent), c->body_len - bsent };
            /* sendmsg, not writev: MSG_NOSIGNAL, so a reset connection is an EPIPE
             * here rather than a SIGPIPE for the process (TLS writes go through
             * OpenSSL's write(): the worker and the CLI ignore SIGPIPE for those) */
            struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)k };
            n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) { hl_watch(c, EV_READ | EV_WRITE); return; }
                if (errno == EINTR) continue;
                hl_io_fail(c, T_SEND);
                return;
            }
        }
        c->sent += (size_t)n;
    }
    c->st = HL_WAITING;
    hl_watch(c, EV_READ);
}

static bool hl_is_redirect(int s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* The URL's host and path (without the query; "/" when empty, cut at HL_MAX_PATH),
 * NUL-terminated, as the cookie jar matches them. */
static void hl_host_path(const hwire_url *u, char host[HWIRE_MAX_HOST + 1], char path[HL_MAX_PATH])
{
    memcpy(host, u->host, u->host_len);
    host[u->host_len] = '\0';
    const char *q = memchr(u->target, '?', u->target_len);
    size_t pl = u->target_slash ? 0 : q ? (size_t)(q - u->target) : u->target_len;
    if (pl >= HL_MAX_PATH) pl = HL_MAX_PATH - 1;
    if (pl == 0) path[pl++] = '/';
    else memcpy(path, u->target, pl);
    path[pl] = '\0';
}

/* The request's (or a redirect's) URL into the head; then sent. */
static void hl_begin(hl_conn *c, const char *url)
{
    http_xfer *x = c->x;
    c->url = url;
    int pr = hwire_parse(url, &c->u);
    if (pr != 0) {
        hl_fail(c, ERR_OTHER, pr == -1 ? T_PROTO : T_URL);
        return;
    }
    long ck = 0;
    if (!x->opts.no_cookies && c->jar.n) {
        char host[HWIRE_MAX_HOST + 1], path[HL_MAX_PATH];
        hl_host_path(&c->u, host, path);
        ck = cookie_jar_header(&c->jar, host, path, c->u.tls, (int64_t)time(NULL), &c->ck, &c->ck_cap, 0);
        if (ck < 0) ck = 0;
    }
    hwire_req w = { .method = c->method, .url = &c->u, .headers = c->headers,
                    .nheaders = c->nheaders, .cookies = c->ck, .cookies_len = (size_t)ck,
                    .has_body = c->has_body, .body_len = c->body_len };
    long len = hwire_head(&w, &c->out, &c->out_cap);
    if (len < 0) {
        hl_fail(c, ERR_OTHER, T_MEMORY);
        return;
    }
    c->out_len = (size_t)len;
    hl_send(c);
}

/* Sends the head and body: on the open connection when it goes to the same host:port,
 * else on a new one. */
static void hl_send(hl_conn *c)
{
    hresp_sink sink = { &c->x->hdrs, &c->x->hdrs_len, &c->x->hdrs_cap,
                        &c->x->body, &c->x->body_len, &c->x->body_cap };
    hresp_begin(&c->resp, &sink, c->head, c->x->keep_body);
    c->sent = 0;
    c->got_byte = false;
    if (c->fd >= 0 && c->host >= 0) {
        const hl_host *h = &c->loop->hosts[c->host];
        if (!hl_host_is(h, &c->u)) hl_close(c);
    }
    if (c->fd >= 0) {
        c->reused = c->served;
        c->connect_us = 0;
        c->st = HL_SENDING;
        hl_write(c);
        return;
    }
    c->reused = false;
    c->addr_i = 0;
    hl_connect(c);
}

/* A whole response: cookies, a redirect followed, or the result. */
static void hl_complete(hl_conn *c, bool extra)
{
    http_xfer *x = c->x;
    int status = c->resp.status;
    bool keep = c->resp.keep_alive && !extra;
    c->served = true;
    const char *block = x->hdrs ? x->hdrs + c->resp.hdr_start : "";
    size_t blen = x->hdrs ? x->hdrs_len - c->resp.hdr_start : 0;
    if (!x->opts.no_cookies && blen) {
        char host[HWIRE_MAX_HOST + 1], path[HL_MAX_PATH];
        hl_host_path(&c->u, host, path);
        cookie_jar_take(&c->jar, block, blen, host, path, c->u.tls, (int64_t)time(NULL));
    }
    if (!keep) hl_close(c);
    if (x->opts.follow_redirects && hl_is_redirect(status)) {
        char loc[HRESP_MAX_LOCATION];
        long ll = hresp_header(block, blen, "Location", loc, sizeof loc);
        if (ll > 0 && (size_t)ll < sizeof loc) {
            if (c->redirects >= HL_MAX_REDIRECTS) {
                hl_fail(c, ERR_OTHER, T_REDIRS);
                return;
            }
            /* resolve into the head's buffer (free now), then swap it with rurl: c->url
             * may be rurl itself */
            long n = hwire_resolve(c->url, loc, (size_t)ll, &c->out, &c->out_cap);
            if (n < 0) {
                hl_fail(c, ERR_OTHER, T_MEMORY);
                return;
            }
            char *t = c->rurl; size_t tc = c->rurl_cap;
            c->rurl = c->out; c->rurl_cap = c->out_cap;
            c->out = t; c->out_cap = tc;
            c->redirects++;
            if (status == 303 ? !c->head : (status <= 302 && !strcmp(c->method, "POST"))) {
                c->method = "GET";
                c->has_body = false;
                c->body = NULL;
                c->body_len = 0;
            }
            c->idem = hwire_idempotent(c->method);
            hl_begin(c, c->rurl);
            return;
        }
    }
    http_result r = { .status = status, .bytes = c->resp.bytes };
    hl_finish(c, &r);
}

static void hl_read(hl_conn *c)
{
    hl_loop *l = c->loop;
    for (;;) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int rd = SSL_read(c->ssl, l->rbuf, (int)sizeof l->rbuf);
            if (rd <= 0) {
                int e = SSL_get_error(c->ssl, rd);
                if (e == SSL_ERROR_WANT_READ) return;
                if (e == SSL_ERROR_WANT_WRITE) { hl_watch(c, EV_READ | EV_WRITE); return; }
                n = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
                if (n < 0 && e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) n = 0;
            } else {
                n = rd;
            }
        } else {
            n = read(c->fd, l->rbuf, sizeof l->rbuf);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            if (n < 0 && errno == EINTR) continue;
        }
        if (c->st == HL_NONE) {         /* idle: the server closed, or sent what nobody asked */
            hl_close(c);
            return;
        }
        if (n < 0) {
            hl_io_fail(c, T_RECV);
            return;
        }
        if (n == 0) {
            hresp_rc rc = hresp_eof(&c->resp);
            if (rc == HRESP_DONE) {
                hl_close(c);
                hl_complete(c, true);
            } else {
                hl_io_fail(c, c->resp.started ? T_PARTIAL : T_NOTHING);
            }
            return;
        }
        if (!c->got_byte) {
            c->got_byte = true;
            c->ttfb_us = time_mono_us() - c->t0;
        }
        size_t used = 0;
        hresp_rc rc = hresp_feed(&c->resp, l->rbuf, (size_t)n, &used);
        if (rc == HRESP_DONE) {
            hl_complete(c, used < (size_t)n || c->st == HL_SENDING);
            return;
        }
        if (rc == HRESP_ERR) {
            hl_fail(c, ERR_OTHER, c->resp.detail ? c->resp.detail : T_WEIRD);
            return;
        }
        if (!c->ssl && (size_t)n < sizeof l->rbuf) return;
    }
}

static void hl_on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    hl_conn *c = arg;
    switch (c->st) {
    case HL_CONNECTING: {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
        if (err == EINPROGRESS || err == EALREADY) return;
        if (err) {
            int host = c->host;
            hl_close(c);
            c->host = host;
            c->addr_i++;
            hl_connect(c);
            return;
        }
        hl_connected(c);
        return;
    }
    case HL_HANDSHAKE:
        hl_handshake(c);
        return;
    case HL_SENDING:
        if (what & EV_WRITE) {
            hl_write(c);
            if (c->st != HL_SENDING && c->st != HL_WAITING) return;
        }
        if ((what & EV_READ) && c->fd >= 0) hl_read(c);
        return;
    case HL_WAITING:
    case HL_NONE:
        hl_read(c);
        return;
    }
}

static void hl_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    hl_conn *c = arg;
    if (!c->x->active) return;
    if (c->fpending) {
        http_result r = { .failed = true, .kind = c->fkind, .detail = c->fdetail };
        hl_finish(c, &r);
        return;
    }
    hl_close(c);
    http_result r = { .failed = true, .kind = ERR_TIMEOUT, .detail = T_TIMEOUT, .bytes = c->resp.bytes };
    hl_finish(c, &r);
}

/* ---------------------------------------------------------------- the xfer ---- */

int hl_xfer_init(http_xfer *x, hl_loop *l)
{
    hl_conn *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->x = x;
    c->loop = l;
    c->fd = -1;
    c->host = -1;
    hresp_init(&c->resp);
    cookie_jar_init(&c->jar);
    evtimer_assign(&c->tmo, l->base, hl_on_timer, c);
    x->impl = c;
    return 0;
}

void hl_xfer_fini(http_xfer *x)
{
    hl_conn *c = HL(x);
    if (!c) return;
    hl_xfer_cancel(x);
    hl_close(c);
    hresp_fini(&c->resp);
    cookie_jar_fini(&c->jar);
    free(c->out);
    free(c->rurl);
    free(c->ck);
    free(c);
    x->impl = NULL;
}

int hl_xfer_start(http_xfer *x, const http_req *r)
{
    hl_conn *c = HL(x);
    c->method = r->method;
    c->head = !strcmp(r->method, "HEAD");
    c->idem = hwire_idempotent(r->method);
    c->headers = r->headers;
    c->nheaders = r->nheaders;
    c->has_body = r->body != NULL;
    c->body = r->body;
    c->body_len = r->body ? r->body_len : 0;
    c->redirects = 0;
    c->retried = false;
    c->fpending = false;
    c->connect_us = c->tls_us = c->ttfb_us = 0;
    c->t0 = time_mono_us();
    x->active = true;
    c->loop->active++;
    if (r->timeout_ms) {
        struct timeval tv = { (time_t)(r->timeout_ms / 1000), (suseconds_t)(r->timeout_ms % 1000) * 1000 };
        evtimer_add(&c->tmo, &tv);
    }
    c->in_start = true;
    hl_begin(c, r->url);
    c->in_start = false;
    return 0;
}

void hl_xfer_cancel(http_xfer *x)
{
    hl_conn *c = HL(x);
    if (!c || !x->active) return;
    if (c->st != HL_NONE) hl_close(c);
    evtimer_del(&c->tmo);
    c->st = HL_NONE;
    c->fpending = false;
    x->active = false;
    c->loop->active--;
}

void hl_xfer_drop_cookies(http_xfer *x)
{
    hl_conn *c = HL(x);
    if (c) cookie_jar_clear(&c->jar);
}
