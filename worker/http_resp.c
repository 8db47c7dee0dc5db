/* The lean client's response parser over llhttp: see worker/http_resp.h.
 *
 * Decisions written down here:
 * - llhttp runs in response mode with one static settings table. Its callbacks write
 *   the header block straight into the caller's buffer: the status line rebuilt from
 *   the version, the code and the reason llhttp read ("HTTP/1.1 200 OK\r\n"; a line
 *   without a reason stays "HTTP/1.1 200\r\n"), then every header as "Name: value\r\n"
 *   (llhttp hands the value without its leading and trailing blanks; a folded line's
 *   CR and LF become spaces, so one header is one line), then "\r\n".
 * - Every response pauses llhttp in on_message_complete (HPE_PAUSED): llhttp's error
 *   position is then the first byte after the response, which gives *used, and no byte
 *   of a following response is ever parsed. An interim (1xx) answer pauses the same way;
 *   the parser is reset there and goes on with the rest of the data, so an interim
 *   answer's version and Connection header never decide how the final one is read.
 * - No body for HEAD, 1xx, 204 and 304: on_headers_complete returns 1, which llhttp
 *   turns into F_SKIPBODY (llhttp__after_headers_complete then goes to message
 *   complete) whatever Content-Length or Transfer-Encoding say.
 * - What libcurl reads, this reads: Content-Length next to "Transfer-Encoding: chunked"
 *   reads the chunks and ignores the length (llhttp's lenient_chunked_length), and
 *   header lines may end in a bare LF and carry any byte but CR and LF (NUL included)
 *   in their values (lenient_headers; llhttp refuses both by default). A bare CR in a
 *   value still fails.
 * - Chunk extensions are skipped by llhttp (no callback is set for them); trailers go
 *   through the header callbacks with F_TRAILING set: they are not written, only
 *   counted against the header limit.
 * - Content-Encoding: gzip and x-gzip inflate with windowBits 15+32 (gzip or zlib
 *   header, detected); deflate is zlib-wrapped when its first two bytes are a zlib
 *   header (or a gzip one), else raw deflate, as browsers read it. Identity is no
 *   encoding; any other coding, or two codings stacked, passes the body through as
 *   received. A stream zlib rejects (bad data, bad check value, a preset dictionary)
 *   fails the response ("bad content encoding"); bytes after the end of the stream are
 *   ignored, and a body that ends before its stream does is taken as it is (libcurl
 *   does not fail those either).
 * - The z_stream is allocated at the first encoded body byte of the connection and
 *   inflateReset2 prepares it for each later one: the window size stays 15 bits, so
 *   zlib keeps its window and allocates nothing more. Decoded bytes go through a 16 KiB
 *   buffer on the stack.
 * - A failure (llhttp's, a limit, zlib's, memory) leaves the hresp failed until the next
 *   hresp_begin: more feeding returns HRESP_ERR with the same detail. */
#include "worker/http_resp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "common/hdrblock.h"
#include "common/util.h"

enum { PH_PARSE = 0, PH_INTERIM = 1, PH_DONE = 2, PH_FAILED = 3 };
enum { Z_IDLE = 0, Z_SNIFF = 1, Z_RUN = 2, Z_END = 3 };
enum { ENC_NONE = 0, ENC_GZIP = 1, ENC_DEFLATE = 2, ENC_OTHER = 3 };

#define HRESP_ZBUF 16384

static const char D_MALFORMED[]  = "malformed response";
static const char D_HDR_LIMIT[]  = "response headers too large";
static const char D_BAD_ENC[]    = "bad content encoding";
static const char D_SWITCH[]     = "unexpected protocol switch";
static const char D_EOF_MID[]    = "connection closed before the response ended";
static const char D_EOF_NONE[]   = "connection closed before any response byte";
static const char D_NOMEM[]      = "out of memory";

static hresp *R(llhttp_t *p) { return (hresp *)p->data; }

/* ---- the header block ------------------------------------------------------------- */

/* Appends n bytes to the header block, within the limit, NUL-terminated. 0 or -1. */
static int hdr_put(hresp *r, const char *s, size_t n)
{
    size_t len = *r->sink.hdrs_len;
    if (len - r->hdr_base + r->trailer_bytes + n > HRESP_MAX_HEADER_BYTES) {
        r->detail = D_HDR_LIMIT;
        return -1;
    }
    if (util_append(r->sink.hdrs, r->sink.hdrs_len, r->sink.hdrs_cap, s, n) != 0) {
        r->detail = D_NOMEM;
        return -1;
    }
    return 0;
}

/* Trailers are read, not kept: they count against the limit all the same. */
static int trailer_count(hresp *r, size_t n)
{
    if (*r->sink.hdrs_len - r->hdr_base + r->trailer_bytes + n > HRESP_MAX_HEADER_BYTES) {
        r->detail = D_HDR_LIMIT;
        return -1;
    }
    r->trailer_bytes += (uint32_t)n;
    return 0;
}

static bool trailing(const hresp *r) { return (r->p.flags & F_TRAILING) != 0; }

/* Decimal digits of v (< 1000 for llhttp's status codes and versions) at b. */
static size_t put_small(char *b, unsigned v)
{
    char t[10];
    size_t n = 0, k = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < sizeof t);
    while (n > 0) b[k++] = t[--n];
    return k;
}

/* "HTTP/1.1 200": the status line up to its reason. */
static int status_open(hresp *r)
{
    char b[48];
    size_t n = 0;
    memcpy(b, "HTTP/", 5);
    n = 5;
    n += put_small(b + n, r->p.http_major);
    b[n++] = '.';
    n += put_small(b + n, r->p.http_minor);
    b[n++] = ' ';
    unsigned code = r->p.status_code;
    if (code < 100) {           /* llhttp reads three digits: keep them */
        b[n++] = (char)('0' + code / 100);
        b[n++] = (char)('0' + code / 10 % 10);
        b[n++] = (char)('0' + code % 10);
    } else {
        n += put_small(b + n, code);
    }
    r->line_open = true;
    return hdr_put(r, b, n);
}

/* Ends the status line (once), whether or not a reason was read. */
static int status_close(hresp *r)
{
    if (r->line_done)
        return 0;
    if (!r->line_open && status_open(r) != 0)
        return -1;
    r->line_done = true;
    return hdr_put(r, "\r\n", 2);
}

/* Folds the encodings of one Content-Encoding value into r->enc. */
static void ce_parse(hresp *r, const char *v, size_t n)
{
    size_t i = 0, k;
    const char *t;
    while (hdr_token_next(v, n, &i, &t, &k)) {
        int c;
        if ((k == 4 && strncasecmp(t, "gzip", 4) == 0) || (k == 6 && strncasecmp(t, "x-gzip", 6) == 0))
            c = ENC_GZIP;
        else if (k == 7 && strncasecmp(t, "deflate", 7) == 0)
            c = ENC_DEFLATE;
        else if (k == 8 && strncasecmp(t, "identity", 8) == 0)
            continue;
        else
            c = ENC_OTHER;
        r->enc = r->enc == ENC_NONE ? (uint8_t)c : ENC_OTHER;
    }
}

/* ---- the body --------------------------------------------------------------------- */

/* Body bytes as delivered: counted, and kept up to the limit when asked. */
static int body_put(hresp *r, const char *s, size_t n)
{
    r->bytes += n;
    if (!r->keep_body)
        return 0;
    size_t len = *r->sink.body_len;
    if (len >= HRESP_MAX_BODY_BYTES)
        return 0;
    if (n > HRESP_MAX_BODY_BYTES - len)
        n = HRESP_MAX_BODY_BYTES - len;
    if (util_append(r->sink.body, r->sink.body_len, r->sink.body_cap, s, n) != 0) {
        r->detail = D_NOMEM;
        return -1;
    }
    return 0;
}

/* Inflates n bytes into the body. 0 or -1 (detail set). */
static int z_run(hresp *r, const unsigned char *in, size_t n)
{
    z_stream *z = r->z;
    unsigned char out[HRESP_ZBUF];
    while (n > 0 && r->zphase == Z_RUN) {
        /* avail_in is a uInt: a huge span goes in slices */
        uInt take = n > (size_t)0x40000000u ? 0x40000000u : (uInt)n;
        z->next_in = (Bytef *)in;
        z->avail_in = take;
        do {
            z->next_out = out;
            z->avail_out = sizeof out;
            int rc = inflate(z, Z_NO_FLUSH);
            size_t got = sizeof out - z->avail_out;
            if (got > 0 && body_put(r, (const char *)out, got) != 0)
                return -1;
            if (rc == Z_STREAM_END) {
                r->zphase = Z_END;      /* what follows the stream is ignored */
                return 0;
            }
            if (rc == Z_BUF_ERROR)      /* no progress possible: all input taken */
                break;
            if (rc != Z_OK) {
                r->detail = D_BAD_ENC;
                return -1;
            }
        } while (z->avail_in > 0 || z->avail_out == 0);
        in += take;
        n -= take;
    }
    return 0;
}

/* A zlib header (RFC 1950: deflate, a window of at most 32 KiB, the check bits) or a
 * gzip one (RFC 1952's magic). */
static bool z_wrapped(unsigned char b0, unsigned char b1)
{
    if (b0 == 0x1f && b1 == 0x8b)
        return true;
    return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((unsigned)b0 << 8 | b1) % 31 == 0;
}

static int z_start(hresp *r, int wbits)
{
    if (r->z == NULL) {
        z_stream *z = calloc(1, sizeof *z);
        if (z == NULL || inflateInit2(z, 15 + 32) != Z_OK) {
            free(z);
            r->detail = D_NOMEM;
            return -1;
        }
        r->z = z;
    }
    if (inflateReset2(r->z, wbits) != Z_OK) {
        r->detail = D_BAD_ENC;
        return -1;
    }
    r->zphase = Z_RUN;
    return 0;
}

static int body_decode(hresp *r, const char *at, size_t n)
{
    const unsigned char *p = (const unsigned char *)at;
    if (r->zphase == Z_END || n == 0)
        return 0;
    if (r->zphase == Z_IDLE && r->enc == ENC_GZIP) {
        if (z_start(r, 15 + 32) != 0)
            return -1;
    } else if (r->zphase == Z_IDLE) {           /* deflate: two bytes tell which */
        if (n == 1) {
            r->zbyte = p[0];
            r->zphase = Z_SNIFF;
            return 0;
        }
        if (z_start(r, z_wrapped(p[0], p[1]) ? 15 + 32 : -15) != 0)
            return -1;
    } else if (r->zphase == Z_SNIFF) {
        unsigned char b0 = r->zbyte;
        if (z_start(r, z_wrapped(b0, p[0]) ? 15 + 32 : -15) != 0 || z_run(r, &b0, 1) != 0)
            return -1;
    }
    return z_run(r, p, n);
}

/* ---- llhttp's callbacks, in the order it calls them ------------------------------- */

static int cb_message_begin(llhttp_t *p)
{
    hresp *r = R(p);
    r->hdr_start = *r->sink.hdrs_len;
    r->line_open = r->line_done = r->in_name = r->is_ce = r->interim = false;
    r->enc = ENC_NONE;
    return 0;
}

static int cb_status(llhttp_t *p, const char *at, size_t n)
{
    hresp *r = R(p);
    if (n == 0)
        return 0;
    if (!r->line_open && (status_open(r) != 0 || hdr_put(r, " ", 1) != 0))
        return -1;
    return hdr_put(r, at, n);
}

static int cb_status_complete(llhttp_t *p)
{
    hresp *r = R(p);
    if (status_close(r) != 0)
        return -1;
    int code = p->status_code;
    if (code / 100 == 1 && code != 101)
        r->interim = true;
    else
        r->status = code;
    return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t n)
{
    hresp *r = R(p);
    if (trailing(r))
        return trailer_count(r, n);
    if (!r->in_name) {
        if (status_close(r) != 0)
            return -1;
        r->in_name = true;
        r->name_off = *r->sink.hdrs_len;
    }
    return hdr_put(r, at, n);
}

static int cb_header_field_complete(llhttp_t *p)
{
    hresp *r = R(p);
    if (trailing(r))
        return 0;
    if (!r->in_name) {
        if (status_close(r) != 0)
            return -1;
        r->name_off = *r->sink.hdrs_len;
    }
    r->in_name = false;
    size_t k = *r->sink.hdrs_len - r->name_off;
    r->is_ce = k == 16 && strncasecmp(*r->sink.hdrs + r->name_off, "content-encoding", 16) == 0;
    if (hdr_put(r, ": ", 2) != 0)
        return -1;
    r->val_off = *r->sink.hdrs_len;
    return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t n)
{
    hresp *r = R(p);
    if (trailing(r))
        return trailer_count(r, n);
    size_t from = *r->sink.hdrs_len;
    if (hdr_put(r, at, n) != 0)
        return -1;
    /* a folded value (obs-fold) carries its line break: one header stays one line */
    char *v = *r->sink.hdrs + from, *e = v + n;
    while (v < e && (v = memchr(v, '\r', (size_t)(e - v))) != NULL)
        *v++ = ' ';
    v = *r->sink.hdrs + from;
    while (v < e && (v = memchr(v, '\n', (size_t)(e - v))) != NULL)
        *v++ = ' ';
    return 0;
}

static int cb_header_value_complete(llhttp_t *p)
{
    hresp *r = R(p);
    if (trailing(r))
        return 0;
    if (r->is_ce)
        ce_parse(r, *r->sink.hdrs + r->val_off, *r->sink.hdrs_len - r->val_off);
    r->is_ce = false;
    return hdr_put(r, "\r\n", 2);
}

/* 0: read the body as the headers say; 1: no body (llhttp sets F_SKIPBODY); -1 fails. */
static int cb_headers_complete(llhttp_t *p)
{
    hresp *r = R(p);
    if (status_close(r) != 0 || hdr_put(r, "\r\n", 2) != 0)
        return -1;
    if (r->enc == ENC_OTHER)
        r->enc = ENC_NONE;      /* passed through as received */
    int code = p->status_code;
    if (code == 101 || p->upgrade) {
        r->detail = D_SWITCH;
        return -1;
    }
    if (r->interim || r->head || code == 204 || code == 304)
        return 1;
    return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t n)
{
    hresp *r = R(p);
    if (r->enc == ENC_NONE)
        return body_put(r, at, n);
    return body_decode(r, at, n);
}

static int cb_message_complete(llhttp_t *p)
{
    hresp *r = R(p);
    if (r->interim) {
        r->phase = PH_INTERIM;
    } else {
        r->phase = PH_DONE;
        r->keep_alive = llhttp_should_keep_alive(p) != 0;
    }
    return HPE_PAUSED;
}

static const llhttp_settings_t hresp_settings = {
    .on_message_begin = cb_message_begin,
    .on_status = cb_status,
    .on_status_complete = cb_status_complete,
    .on_header_field = cb_header_field,
    .on_header_field_complete = cb_header_field_complete,
    .on_header_value = cb_header_value,
    .on_header_value_complete = cb_header_value_complete,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

/* ---- the calls -------------------------------------------------------------------- */

void hresp_global_init(void)
{
    /* see worker/http_resp.h: nothing to set up today */
}

static void parser_reset(hresp *r)
{
    llhttp_reset(&r->p);
    r->p.data = r;
}

void hresp_init(hresp *r)
{
    memset(r, 0, sizeof *r);
    llhttp_init(&r->p, HTTP_RESPONSE, &hresp_settings);
    llhttp_set_lenient_chunked_length(&r->p, 1);
    llhttp_set_lenient_headers(&r->p, 1);
    r->p.data = r;
    r->phase = PH_DONE;         /* nothing to parse before hresp_begin */
}

void hresp_fini(hresp *r)
{
    if (r->z != NULL) {
        inflateEnd(r->z);
        free(r->z);
        r->z = NULL;
    }
}

void hresp_begin(hresp *r, const hresp_sink *sink, bool head, bool keep_body)
{
    r->sink = *sink;
    r->head = head;
    r->keep_body = keep_body;
    r->started = r->complete = r->keep_alive = false;
    r->enc = ENC_NONE;
    r->status = 0;
    r->bytes = 0;
    r->detail = NULL;
    r->hdr_base = r->hdr_start = *sink->hdrs_len;
    if (*sink->hdrs != NULL)
        (*sink->hdrs)[*sink->hdrs_len] = '\0';
    *sink->body_len = 0;
    if (*sink->body != NULL)
        (*sink->body)[0] = '\0';
    r->name_off = r->val_off = r->hdr_base;
    r->trailer_bytes = 0;
    r->phase = PH_PARSE;
    r->line_open = r->line_done = r->in_name = r->is_ce = r->interim = false;
    r->zphase = Z_IDLE;
    parser_reset(r);
}

static hresp_rc fail(hresp *r, const char *detail)
{
    r->phase = PH_FAILED;
    if (r->detail == NULL)
        r->detail = detail;
    return HRESP_ERR;
}

hresp_rc hresp_feed(hresp *r, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (r->phase == PH_FAILED)
        return HRESP_ERR;
    if (r->phase == PH_DONE)
        return r->complete ? HRESP_DONE : fail(r, D_MALFORMED);   /* fed before begin */
    if (len == 0)
        return HRESP_MORE;
    r->started = true;
    const char *p = data, *end = data + len;
    for (;;) {
        llhttp_errno_t e = llhttp_execute(&r->p, p, (size_t)(end - p));
        if (e == HPE_OK) {
            *used = len;
            return HRESP_MORE;
        }
        if (e != HPE_PAUSED)
            break;
        const char *at = llhttp_get_error_pos(&r->p);
        if (at < p || at > end)
            break;
        if (r->phase == PH_DONE) {
            r->complete = true;
            *used = (size_t)(at - data);
            return HRESP_DONE;
        }
        if (r->phase != PH_INTERIM)
            break;
        /* an interim answer ended: the final one follows on a fresh parser */
        r->phase = PH_PARSE;
        parser_reset(r);
        if (at == end) {
            *used = len;
            return HRESP_MORE;
        }
        p = at;
    }
    const char *at = llhttp_get_error_pos(&r->p);
    *used = at != NULL && at >= data && at <= end ? (size_t)(at - data) : len;
    return fail(r, D_MALFORMED);
}

hresp_rc hresp_eof(hresp *r)
{
    if (r->phase == PH_FAILED)
        return HRESP_ERR;
    if (r->phase == PH_DONE)
        return r->complete ? HRESP_DONE : fail(r, D_EOF_NONE);
    if (!r->started)
        return fail(r, D_EOF_NONE);
    (void)llhttp_finish(&r->p);     /* a close-delimited body ends: on_message_complete */
    if (r->phase == PH_DONE) {
        r->complete = true;
        r->keep_alive = false;
        return HRESP_DONE;
    }
    if (r->detail != NULL)
        return fail(r, r->detail);
    return fail(r, D_EOF_MID);
}

/* ---- header lookup ---------------------------------------------------------------- */

long hresp_header(const char *block, size_t len, const char *name, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (block == NULL || name == NULL)
        return -1;
    const char *val = NULL;
    size_t vlen = 0, pos = 0;
    hdr_line l;
    while (hdr_next(block, len, &pos, &l)) {
        if (hdr_is(&l, name)) {
            val = l.value;      /* the last line named so wins */
            vlen = l.value_len;
        }
    }
    if (val == NULL)
        return -1;
    if (cap > 0) {
        size_t k = vlen < cap - 1 ? vlen : cap - 1;
        memcpy(out, val, k);
        out[k] = '\0';
    }
    return (long)vlen;
}
