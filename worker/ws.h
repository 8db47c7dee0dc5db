/* WebSocket client connection of one virtual user: TCP (or TLS through an OpenSSL
 * bufferevent) on the engine thread's event_base, an HTTP/1.1 upgrade we write and
 * check ourselves, then RFC 6455 framing by wslay's event API over the bufferevent's
 * evbuffers (wslay masks, reassembles fragments, answers pings, runs the close
 * handshake). Text messages are UTF-8 checked here; an invalid one closes with 1007.
 *
 * Ownership and threads: a ws_conn is embedded in its VU (caller's memory) and is used
 * only on the thread that runs its event_base. While a connection is live it owns one
 * bufferevent (and SSL object), one wslay context and one timer (embedded). Borrowed:
 * the event_base, the SSL_CTX, the evdns_base and the callbacks' ud; they outlive it.
 *
 * Lifecycle: ws_init once; ws_connect starts; then exactly one terminal callback,
 * on_close (close handshake done) or on_error (anything else), after which the
 * connection holds nothing and may be ws_connect'ed again or dropped. ws_fini releases
 * a live connection without any callback (safe on an idle one). Callbacks run from the
 * event loop, never from inside ws_connect/ws_send/ws_ping/ws_close. on_open,
 * on_message and on_pong may call ws_send, ws_ping and ws_close on their connection but
 * not ws_fini or ws_connect; the terminal callbacks are the last thing the connection
 * does, so they may call anything, free the memory included.
 *
 * Allocation: ws_connect allocates (URL parse, bufferevent, wslay context); sending
 * copies the message into wslay's queue (one allocation per message, wslay's);
 * receiving reassembles in wslay's buffer. Nothing else per message. */
#ifndef WORKER_WS_H
#define WORKER_WS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#define WS_MAX_HDR_BYTES   16384            /* upgrade response header block, CRLFCRLF included */
#define WS_KEY_LEN         24               /* base64 of 16 bytes */
#define WS_ACCEPT_LEN      28               /* base64 of a SHA-1 */
#define WS_MAX_SUBPROTO    64
#define WS_MAX_HOST        256
#define WS_MAX_REASON      123              /* close reason bytes (RFC 6455 5.5) */
#define WS_DEFAULT_TIMEOUT_MS 10000
#define WS_DEFAULT_MAX_MSG    (16u << 20)   /* received message cap; bigger closes with 1009 */
#define WS_OUT_HIGH_BYTES     (256u << 10)  /* wslay stops writing above this much unsent */

typedef enum ws_opcode {
    WS_OP_TEXT = 1, WS_OP_BINARY = 2, WS_OP_CLOSE = 8, WS_OP_PING = 9, WS_OP_PONG = 10
} ws_opcode;

typedef enum ws_err_kind {
    WS_ERR_CONNECT = 1,     /* resolve, TCP connect, reset before the upgrade answer */
    WS_ERR_TLS,             /* TLS handshake or verification */
    WS_ERR_UPGRADE,         /* the server answered a status other than 101 (conn->http_status) */
    WS_ERR_PROTOCOL,        /* bad 101 answer, bad frames or UTF-8 (we closed: close_code_sent) */
    WS_ERR_TIMEOUT,         /* connect + TLS + upgrade, or the close handshake, too slow */
    WS_ERR_CLOSED,          /* the peer closed TCP without a close handshake */
} ws_err_kind;
const char *ws_err_name(ws_err_kind k);       /* "connect", "tls", "upgrade", ... */

typedef struct ws_conn ws_conn;
typedef struct ws_callbacks {
    /* Upgrade accepted; connect_us covers TCP + TLS + upgrade. */
    void (*on_open)(ws_conn *c, uint64_t connect_us);
    /* One whole TEXT (valid UTF-8) or BINARY message; data is valid during the call. */
    void (*on_message)(ws_conn *c, ws_opcode op, const uint8_t *data, size_t len);
    /* Optional (may be NULL): the answer to our latest ws_ping; c->ping_rtt_us too. */
    void (*on_pong)(ws_conn *c, uint64_t rtt_us);
    /* Terminal: close frames went both ways. code is the peer's (1005 if none given),
     * reason its text (NUL-terminated, may be empty); c->close_code_sent is ours. */
    void (*on_close)(ws_conn *c, uint16_t code, const char *reason);
    /* Terminal: detail is a short NUL-terminated text (for UPGRADE the status, "403"). */
    void (*on_error)(ws_conn *c, ws_err_kind kind, const char *detail);
} ws_callbacks;

struct sockaddr;
struct evdns_base;
struct ssl_ctx_st;
typedef struct ws_opts {
    const char *const *headers;  /* extra "Name: value" request headers, read in ws_connect */
    int         nheaders;
    const char *subprotocol;     /* NULL or "": none asked, none accepted */
    struct ssl_ctx_st *ssl_ctx;  /* SSL_CTX for wss:// (required there); NULL for ws:// */
    struct evdns_base *dns;      /* async resolver; NULL: blocking getaddrinfo */
    const struct sockaddr *addr; /* non-NULL: connect here instead of resolving the host */
    int         addrlen;
    uint64_t    timeout_ms;      /* connect+TLS+upgrade, and close handshake; 0: default */
    size_t      max_msg_bytes;   /* 0: WS_DEFAULT_MAX_MSG */
    const ws_callbacks *cb;      /* borrowed, outlives the connection */
    void       *ud;              /* the VU */
    uint32_t   *live;            /* non-NULL: +1 while the connection holds its socket
                                  * (ws_connect to its release), the engine's count of
                                  * open connections; borrowed, outlives it */
} ws_opts;

typedef enum ws_state { WS_IDLE, WS_CONNECTING, WS_OPEN, WS_CLOSING } ws_state;

struct ws_conn {
    ws_state    state;
    struct bufferevent *bev;     /* owned while live */
    void       *wslay;           /* wslay_event_context_ptr, owned while open */
    struct event timer;          /* connect/close deadline (event_assign'ed) */
    struct event_base *base;     /* borrowed */
    ws_opts     opts;            /* copy; headers/subprotocol pointers not kept */
    uint64_t    start_us;        /* ws_connect time (time_mono_us) */
    uint64_t    rng;             /* xorshift64* state for frame masks, from getrandom */
    uint64_t    ping_sent_us;    /* 0: no ping outstanding */
    uint64_t    ping_seq;        /* payload of the outstanding ping */
    uint64_t    ping_rtt_us;     /* last measured RTT, 0 before any */
    uint64_t    msgs_sent, msgs_received, bytes_sent, bytes_received;
    int         http_status;     /* status of the upgrade answer, 0 before */
    uint16_t    close_code_sent; /* 0 until we send a close frame */
    bool        connected;       /* TCP (+TLS) is up */
    bool        drop_data;       /* closing after a bad message: later messages are not delivered */
    char        key[WS_KEY_LEN + 1];
    char        subproto[WS_MAX_SUBPROTO + 1];
    char        host[WS_MAX_HOST + 1];
    char        close_reason[WS_MAX_REASON + 1];
    /* The peer's close frame as it arrives (wslay's frame callbacks), for the codes
     * wslay 1.1.1 does not know: 1012-1014 are registered (service restart, try again
     * later, bad gateway) but wslay would answer them with 1002 and drop the code. */
    bool        rf_close;        /* the frame being received is a close */
    uint8_t     rf_len;          /* its payload bytes seen (capped) */
    uint8_t     rf_code[2];
    uint16_t    peer_close_code; /* 0 until a close frame with a code arrived */
};

/* Zeroes c (state WS_IDLE). */
void ws_init(ws_conn *c);
/* Starts connecting to url ("ws://host[:port][/path][?query]" or "wss://..."). 0, or -1
 * with a message in err (nothing started, no callback will come): bad URL, wss without
 * ssl_ctx, c not idle, too many/too long headers, out of memory. */
int  ws_connect(ws_conn *c, struct event_base *base, const char *url, const ws_opts *o,
                char *err, size_t errcap);
/* Queues one message (copied; sent unfragmented) when open. 0, or -1 when not open,
 * closing, or wslay refuses it. */
int  ws_send(ws_conn *c, ws_opcode op, const void *data, size_t len);
/* Sends a ping carrying a sequence number; its pong sets ping_rtt_us and calls
 * on_pong. A newer ping replaces an outstanding one. 0, or -1 when not open. */
int  ws_ping(ws_conn *c);
/* Starts the close handshake (code 1000.. 4999, reason <= 123 bytes, may be NULL);
 * on_close follows, or on_error(TIMEOUT) if the peer does not answer within
 * timeout_ms. Idle or connecting: releases at once without a callback. 0, or -1. */
int  ws_close(ws_conn *c, uint16_t code, const char *reason);
/* Releases everything without a callback and without a close frame (abort). */
void ws_fini(ws_conn *c);

/* --- pure helpers (no I/O), public for tests and the fuzz target --- */

/* Checks the server's upgrade answer in resp[0..len) (need not be NUL-terminated) for
 * the request that sent key (NUL-terminated) and asked for subproto (NULL/"": none).
 * 1: complete and valid, *consumed = bytes of the header block (frames may follow);
 * 0: incomplete, read more (*consumed = 0); -1: invalid, reason in err, *consumed =
 * header block length if complete, else 0. A header block longer than
 * WS_MAX_HDR_BYTES is invalid. Never reads past len. */
int  ws_handshake_check(const char *resp, size_t len, const char *key, const char *subproto,
                        size_t *consumed, char *err, size_t errcap);
/* The status code of a complete status line at the start of resp, or 0. */
int  ws_handshake_status(const char *resp, size_t len);
/* out (>= WS_ACCEPT_LEN + 1) = base64(SHA1(key + RFC 6455 GUID)), NUL-terminated. */
void ws_accept_for_key(const char *key, char *out);
/* Strict UTF-8 (RFC 3629): no overlongs, surrogates or code points above U+10FFFF. */
bool ws_utf8_valid(const uint8_t *s, size_t len);
#endif
