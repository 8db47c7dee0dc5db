/* libFuzzer target over worker/http_resp.h: arbitrary bytes from a server, read as one
 * or more responses on one connection. The first two bytes choose the request (HEAD or
 * not), whether the body is kept, whether the sink is emptied between responses,
 * whether the connection closes after the last byte, and how the bytes are cut into
 * reads. Beyond "no crash, no sanitizer report" it checks that *used never exceeds what
 * was fed (and is all of it for HRESP_MORE), that the buffers stay NUL-terminated and
 * within their limits, and that the bytes fed whole and fed in pieces give the same
 * responses: the same verdicts and statuses, and for every response that ended the
 * same bytes used, body bytes, keep-alive verdict, header block and body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http_resp.h"

#define FUZZ_MAX_RESP 16

typedef struct fz_resp {
    int      rc;
    int      status;
    uint64_t bytes;
    size_t   end;               /* offset in the input where the response ended */
    bool     keep_alive;
    size_t   hdr_start, hl, bl;
    uint32_t hsum, bsum;        /* FNV-1a of the header block and the body */
} fz_resp;

typedef struct fz_run {
    fz_resp r[FUZZ_MAX_RESP];
    int     n;
} fz_run;

static uint32_t fnv(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

/* Piece lengths from a small PRNG: 0 (one feed per response), else 1..span bytes. */
static size_t next_piece(uint32_t *st, unsigned span)
{
    *st = *st * 1103515245u + 12345u;
    return 1 + (*st >> 16) % span;
}

static void check_sink(const hresp *r, char *h, size_t hl, char *b, size_t bl)
{
    if (h != NULL && h[hl] != '\0')
        abort();
    if (b != NULL && b[bl] != '\0')
        abort();
    if (bl > HRESP_MAX_BODY_BYTES || r->hdr_start > hl)
        abort();
    if (r->keep_body && bl != r->bytes && r->bytes <= HRESP_MAX_BODY_BYTES && r->complete)
        abort();
    char loc[64];
    long n = hresp_header(h ? h + r->hdr_start : NULL, hl - r->hdr_start, "Location", loc, sizeof loc);
    /* the value is copied up to the room and NUL-terminated (it may hold a NUL itself) */
    if (n >= 0 && loc[n < (long)sizeof loc ? n : (long)sizeof loc - 1] != '\0')
        abort();
}

static void run(const uint8_t *in, size_t len, uint8_t flags, uint32_t seed, unsigned span, fz_run *out)
{
    bool head = flags & 1, keep_body = flags & 2, empty = flags & 4, eof = flags & 8;
    char *h = NULL, *b = NULL;
    size_t hl = 0, hc = 0, bl = 0, bc = 0;
    hresp_sink sink = { &h, &hl, &hc, &b, &bl, &bc };
    hresp r;
    hresp_init(&r);
    out->n = 0;
    size_t off = 0;             /* first byte not yet taken by a response */
    size_t piece_end = 0;       /* end of the current read */
    uint32_t st = seed;
    while (out->n < FUZZ_MAX_RESP) {
        if (empty)
            hl = 0;
        hresp_begin(&r, &sink, head, keep_body);
        int rc = HRESP_MORE;
        while (rc == HRESP_MORE && off < len) {
            if (piece_end <= off)
                piece_end = span == 0 ? len : off + next_piece(&st, span);
            if (piece_end > len)
                piece_end = len;
            size_t n = piece_end - off;
            /* each read in a buffer of its exact size, so ASan sees an overread */
            char *buf = malloc(n);
            if (buf == NULL)
                abort();
            memcpy(buf, in + off, n);
            size_t used = SIZE_MAX;
            rc = hresp_feed(&r, buf, n, &used);
            free(buf);
            if (used > n || (rc == HRESP_MORE && used != n))
                abort();
            off += used;
        }
        if (rc == HRESP_MORE && eof)
            rc = hresp_eof(&r);
        if ((rc == HRESP_ERR) != (r.detail != NULL) || (rc == HRESP_DONE) != r.complete)
            abort();
        check_sink(&r, h, hl, b, bl);
        fz_resp *o = &out->r[out->n++];
        o->rc = rc;
        o->status = r.status;
        o->bytes = r.bytes;
        o->end = off;
        o->keep_alive = r.keep_alive;
        o->hdr_start = r.hdr_start;
        o->hl = hl;
        o->bl = bl;
        o->hsum = fnv(h ? h : "", hl);
        o->bsum = fnv(b ? b : "", bl);
        /* the next response starts where this one ended, if any byte is left */
        if (rc != HRESP_DONE || off >= len)
            break;
    }
    hresp_fini(&r);
    free(h);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    uint8_t cut = data[1];
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    static fz_run whole, split;
    run(in, len, flags, 0, 0, &whole);
    /* pieces of 1..span bytes: one byte at a time, small, or up to 256 */
    unsigned span = (cut & 3) == 0 ? 1 : (cut & 3) == 1 ? 7 : (cut & 3) == 2 ? 61 : 256;
    run(in, len, flags, cut, span, &split);
    if (whole.n != split.n)
        abort();
    for (int i = 0; i < whole.n; i++) {
        const fz_resp *a = &whole.r[i], *c = &split.r[i];
        if (a->rc != c->rc || a->status != c->status)
            abort();
        if (a->rc == HRESP_ERR)
            continue;           /* where a failure is seen may depend on the reads */
        if (a->end != c->end || a->bytes != c->bytes || a->keep_alive != c->keep_alive ||
            a->hdr_start != c->hdr_start || a->hl != c->hl || a->bl != c->bl ||
            a->hsum != c->hsum || a->bsum != c->bsum)
            abort();
    }
    return 0;
}
