/* The response half of the lean HTTP/1.1 client (worker/http_lean.c): the bytes a
 * server sent, parsed by llhttp (Debian's node-llhttp: its C sources under
 * /usr/share/llhttp are compiled in by the Makefile, nothing copied here), turned into
 * what the user's step reads: the status, the header block in the form the captures and
 * checks read (worker/check.c: "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n"), the body
 * (decoded when Content-Encoding is gzip, x-gzip or deflate: zlib), the body bytes, and
 * whether the connection may carry the next request. Pure: no sockets, no clock, no
 * event loop; the same calls serve the client, the unit test and the fuzz target
 * (tests/fuzz/fuzz_http_resp.c: arbitrary server bytes through hresp_feed/hresp_eof).
 *
 * Ownership and threads: an hresp is embedded in its connection (caller's memory) and
 * used by one thread. It owns its zlib stream (allocated at the first encoded response
 * of the connection's life, kept and reset for the next ones: no allocation per
 * response in steady state). The header and body buffers are the caller's (the
 * transfer's: they grow to their high-water mark with util_reserve and are never
 * shrunk), borrowed from hresp_begin to the end of that response.
 *
 * What a response is:
 * - 1xx (other than 101) answers are skipped: their lines go to the header block, as
 *   libcurl's header callback gives them, and parsing goes on to the final answer.
 * - No body for a HEAD request, for 1xx, 204 and 304 (whatever their headers say).
 * - Content-Length, chunked (trailers ignored) and close-delimited bodies: the last one
 *   ends only at hresp_eof.
 * - 101, or a response that asks to switch protocols, is an error for this client
 *   (HRESP_ERR, "unexpected protocol switch").
 *
 * Limits: the header block (status line and headers of every answer, 1xx included) is
 * at most HRESP_MAX_HEADER_BYTES; beyond it the response fails ("response headers too
 * large"). A decoded body beyond HRESP_MAX_BODY_BYTES is still counted in bytes but
 * kept only up to the limit (keep_body: captures and checks see its first part). */
#ifndef WORKER_HTTP_RESP_H
#define WORKER_HTTP_RESP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <llhttp.h>

#define HRESP_MAX_HEADER_BYTES (64u << 10)
#define HRESP_MAX_BODY_BYTES   (64u << 20)
#define HRESP_MAX_LOCATION     2048

typedef enum hresp_rc {
    HRESP_MORE = 0,     /* the response is not complete: feed more (all of data was used) */
    HRESP_DONE = 1,     /* complete: *used bytes of data belonged to it; any rest is not
                         * part of it (the client closes such a connection) */
    HRESP_ERR  = -1,    /* malformed or over a limit: r->detail says what */
} hresp_rc;

/* Where a response's header block and body go: the caller's growable buffers (NULL
 * pointer + 0 capacity is fine; util_reserve grows them). Kept NUL-terminated. */
typedef struct hresp_sink {
    char  **hdrs;   size_t *hdrs_len, *hdrs_cap;
    char  **body;   size_t *body_len, *body_cap;
} hresp_sink;

typedef struct hresp {
    llhttp_t    p;              /* llhttp's state (about 80 bytes) */
    void       *z;              /* z_stream *, owned, NULL until the first encoded body */
    hresp_sink  sink;           /* borrowed, from hresp_begin */
    bool        head;           /* the request was HEAD */
    bool        keep_body;      /* collect the (decoded) body into sink.body */
    bool        started;        /* a byte of this response arrived (the retry rule:
                                 * worker/http_lean.c retries only when none did) */
    bool        complete;       /* HRESP_DONE returned */
    bool        keep_alive;     /* when complete: the connection may carry another request
                                 * (HTTP/1.1 without "Connection: close", or 1.0 with
                                 * keep-alive; a close-delimited body never) */
    uint8_t     enc;            /* 0 identity, 1 gzip, 2 deflate (Content-Encoding) */
    int         status;         /* the final answer's status, 0 before its status line */
    uint64_t    bytes;          /* body bytes as delivered (decoded when encoded) */
    size_t      hdr_start;      /* where this answer's lines begin in sink.hdrs */
    const char *detail;         /* HRESP_ERR: static text */
    /* The parser's own (worker/http_resp.c); callers read none of them. */
    size_t      hdr_base;       /* sink.hdrs length at hresp_begin: the header limit */
    size_t      name_off;       /* where the header line being parsed begins */
    size_t      val_off;        /* where its value begins */
    uint32_t    trailer_bytes;  /* chunked trailers read (not kept; counted in the limit) */
    uint8_t     phase;          /* 0 parsing, 1 an interim (1xx) answer ended, 2 done,
                                 * 3 failed */
    bool        line_open;      /* this answer's status line is being written */
    bool        line_done;      /* ... and was ended with its CRLF */
    bool        in_name;        /* a header name is being written */
    bool        is_ce;          /* the header being parsed is Content-Encoding */
    bool        interim;        /* this answer is a 1xx (other than 101) */
    uint8_t     zphase;         /* the decoder for this response: 0 not started, 1 one
                                 * deflate byte waits for the format test, 2 running,
                                 * 3 stream ended (later bytes ignored) */
    uint8_t     zbyte;          /* the byte that waits (zphase 1) */
} hresp;

/* Once per process before any hresp is used; any thread, any number of times (llhttp's
 * settings are a constant table and zlib needs no set-up: it does nothing today, and
 * is the place for a process-wide set-up should one be needed). */
void hresp_global_init(void);
/* Prepares r for its connection's life: llhttp in response mode. */
void hresp_init(hresp *r);
/* Frees the zlib stream, if any. r may be hresp_init'ed again. */
void hresp_fini(hresp *r);
/* Starts parsing the next response on the connection (after hresp_init, or after the
 * previous response was HRESP_DONE): resets llhttp and the per-response fields,
 * remembers whether the request was HEAD. The header block is always collected (the
 * client reads Content-Encoding, Set-Cookie and Location there; a few hundred bytes per
 * response); it is appended to sink.hdrs (a followed redirect keeps the answers before
 * it, as libcurl's header callback does): the caller empties the buffers (len = 0)
 * when a new request begins. The body buffer is emptied here (only the last answer's
 * body is kept). */
void hresp_begin(hresp *r, const hresp_sink *sink, bool head, bool keep_body);
/* Feeds len bytes the server sent (len may be 0). See hresp_rc; *used is always set (at
 * most len: all of it for HRESP_MORE, the response's own bytes for HRESP_DONE, about
 * where the fault was for HRESP_ERR). After HRESP_DONE or HRESP_ERR, feed nothing more
 * before hresp_begin (if fed anyway: the same verdict again, nothing used). */
hresp_rc hresp_feed(hresp *r, const char *data, size_t len, size_t *used);
/* The server closed the connection: HRESP_DONE when that ends a close-delimited body
 * (keep_alive false), else HRESP_ERR (r->detail: "connection closed before the response
 * ended", or before any byte of it when !r->started). */
hresp_rc hresp_eof(hresp *r);

/* Header lookup in a header block of the form above (the final answer's part, from
 * r->hdr_start): copies the value of the last line named name (case-insensitive),
 * trimmed, NUL-terminated, into out (cap bytes, truncated). Returns the value's full
 * length, or -1 when absent. Used for Location; the cookie jar walks Set-Cookie lines
 * itself. */
long hresp_header(const char *block, size_t len, const char *name, char *out, size_t cap);
#endif
