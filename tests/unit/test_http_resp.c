/* Unit tests for worker/http_resp.c: the lean client's response parser over llhttp.
 * Every response is fed whole, then cut in two at every byte position, then one byte at
 * a time, and each way must give the same status, header block, body, byte count,
 * keep-alive verdict and bytes used. Encoded bodies are built here with zlib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "worker/http_resp.h"

/* ---- fixtures --------------------------------------------------------------------- */

/* The caller's buffers, as a transfer holds them. */
typedef struct tsink {
    char       *h, *b;
    size_t      hl, hc, bl, bc;
    hresp_sink  k;
} tsink;

static void tsink_init(tsink *s)
{
    memset(s, 0, sizeof *s);
    s->k = (hresp_sink){ &s->h, &s->hl, &s->hc, &s->b, &s->bl, &s->bc };
}

static void tsink_fini(tsink *s)
{
    free(s->h);
    free(s->b);
}

/* What one way of feeding a response gave. */
typedef struct outcome {
    int         rc;
    size_t      used;           /* bytes of the input the response took */
    int         status;
    uint64_t    bytes;
    bool        keep_alive, complete, started;
    const char *detail;
    size_t      hdr_start;
    char       *hdrs, *body;    /* copies (malloc'd) */
    size_t      hl, bl;
} outcome;

static void outcome_fini(outcome *o)
{
    free(o->hdrs);
    free(o->body);
    memset(o, 0, sizeof *o);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    assert_non_null(d);
    if (n > 0)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Feeds in[0..len) in pieces ending at cuts[0] < cuts[1] < ... (then the rest), each
 * piece in a buffer of its exact size (an overread shows under ASan), stopping at
 * HRESP_DONE or HRESP_ERR; then hresp_eof when eof and the response wants more. */
static void run_cuts(const char *in, size_t len, bool head, bool keep_body, bool eof,
                     const size_t *cuts, size_t ncuts, outcome *o)
{
    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    hresp_begin(&r, &s.k, head, keep_body);
    memset(o, 0, sizeof *o);
    int rc = HRESP_MORE;
    size_t off = 0, used_total = 0;
    for (size_t i = 0; i <= ncuts && rc == HRESP_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t n = end - off;
        char *piece = malloc(n ? n : 1);
        assert_non_null(piece);
        memcpy(piece, in + off, n);
        size_t used = 99999;
        rc = hresp_feed(&r, piece, n, &used);
        free(piece);
        assert_true(used <= n);
        if (rc == HRESP_MORE)
            assert_int_equal(used, n);
        used_total = off + used;
        off = end;
    }
    if (rc == HRESP_MORE && eof)
        rc = hresp_eof(&r);
    o->rc = rc;
    o->used = used_total;
    o->status = r.status;
    o->bytes = r.bytes;
    o->keep_alive = r.keep_alive;
    o->complete = r.complete;
    o->started = r.started;
    o->detail = r.detail;
    o->hdr_start = r.hdr_start;
    o->hdrs = dup_bytes(s.h ? s.h : "", s.hl);
    o->body = dup_bytes(s.b ? s.b : "", s.bl);
    o->hl = s.hl;
    o->bl = s.bl;
    /* the buffers are kept NUL-terminated */
    if (s.h != NULL)
        assert_int_equal(s.h[s.hl], '\0');
    if (s.b != NULL)
        assert_int_equal(s.b[s.bl], '\0');
    assert_int_equal(o->complete, rc == HRESP_DONE);
    if (rc == HRESP_ERR)
        assert_non_null(r.detail);
    else
        assert_null(r.detail);
    hresp_fini(&r);
    tsink_fini(&s);
}

static void run_whole(const char *in, size_t len, bool head, bool keep_body, bool eof, outcome *o)
{
    run_cuts(in, len, head, keep_body, eof, NULL, 0, o);
}

static void same_outcome(const outcome *a, const outcome *b)
{
    assert_int_equal(a->rc, b->rc);
    if (a->detail == NULL || b->detail == NULL)
        assert_ptr_equal(a->detail, b->detail);
    else
        assert_string_equal(a->detail, b->detail);
    assert_int_equal(a->status, b->status);
    if (a->rc == HRESP_ERR)
        return;                 /* where an error is seen may depend on the cuts */
    assert_int_equal(a->used, b->used);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_int_equal(a->hdr_start, b->hdr_start);
    assert_int_equal(a->hl, b->hl);
    assert_memory_equal(a->hdrs, b->hdrs, a->hl);
    assert_int_equal(a->bl, b->bl);
    assert_memory_equal(a->body, b->body, a->bl);
}

/* Feeds the response whole into *whole (the caller checks it), then cut in two at every
 * position and one byte at a time: each must agree with the whole feed. */
static void run_all_ways(const char *in, size_t len, bool head, bool keep_body, bool eof, outcome *whole)
{
    run_whole(in, len, head, keep_body, eof, whole);
    for (size_t cut = 0; cut <= len; cut++) {
        outcome o;
        run_cuts(in, len, head, keep_body, eof, &cut, 1, &o);
        same_outcome(whole, &o);
        outcome_fini(&o);
    }
    size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    outcome o;
    run_cuts(in, len, head, keep_body, eof, cuts, len ? len - 1 : 0, &o);
    same_outcome(whole, &o);
    outcome_fini(&o);
    free(cuts);
}

#define S(lit) lit, sizeof(lit) - 1

/* A response of a header text and a body of n bytes, malloc'd; *len its size. */
static char *mk_resp(const char *head, const void *body, size_t n, size_t *len)
{
    size_t hn = strlen(head);
    char *p = malloc(hn + n + 1);
    assert_non_null(p);
    memcpy(p, head, hn);
    if (n > 0)
        memcpy(p + hn, body, n);
    p[hn + n] = '\0';
    *len = hn + n;
    return p;
}

/* Text of n bytes that compresses (words from a small list, chosen by an LCG). */
static char *mk_text(size_t n, uint32_t seed)
{
    static const char *const words[] = { "order ", "invoice ", "line ", "42 ", "total ",
                                         "customer ", "\"id\": ", "{", "}\n", "warehouse " };
    char *p = malloc(n + 1);
    assert_non_null(p);
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 10];
        size_t k = strlen(w);
        if (k > n - i)
            k = n - i;
        memcpy(p + i, w, k);
        i += k;
    }
    p[n] = '\0';
    return p;
}

/* src compressed with zlib: wbits 15+16 gzip, 15 zlib-wrapped deflate, -15 raw. */
static unsigned char *z_pack(const char *src, size_t n, int wbits, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* ---- plain bodies ----------------------------------------------------------------- */

static void content_length(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
                             "\r\nhello world";
    outcome o;
    run_all_ways(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, sizeof in - 1);
    assert_int_equal(o.status, 200);
    assert_int_equal(o.bytes, 11);
    assert_true(o.keep_alive);
    assert_true(o.started);
    assert_int_equal(o.hdr_start, 0);
    assert_string_equal(o.hdrs, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n");
    assert_string_equal(o.body, "hello world");
    outcome_fini(&o);

    /* keep_body off: counted, not kept */
    run_whole(S(in), false, false, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.bytes, 11);
    assert_int_equal(o.bl, 0);
    outcome_fini(&o);
}

static void chunked_extensions_trailers(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                             "5;name=value\r\nhello\r\n"
                             "6;flag;q=\"quoted\"\r\n world\r\n"
                             "A\r\n0123456789\r\n"
                             "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n";
    outcome o;
    run_all_ways(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, sizeof in - 1);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.body, "hello world0123456789");
    assert_int_equal(o.bytes, 21);
    assert_true(o.keep_alive);
    /* trailers are not part of the block */
    assert_string_equal(o.hdrs, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
    outcome_fini(&o);

    /* a Content-Length beside the chunks is ignored, as libcurl does */
    static const char both[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\r\nhi\r\n0\r\n\r\n";
    run_all_ways(S(both), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_string_equal(o.body, "hi");
    outcome_fini(&o);

    /* a broken chunk size fails */
    static const char bad[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n";
    run_all_ways(S(bad), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "malformed response");
    outcome_fini(&o);
}

static void close_delimited(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    outcome o;
    /* without the close it never ends */
    run_whole(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_MORE);
    assert_int_equal(o.used, sizeof in - 1);
    assert_string_equal(o.body, "until the end");
    outcome_fini(&o);

    run_all_ways(S(in), false, true, true, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.status, 200);
    assert_int_equal(o.bytes, 13);
    assert_string_equal(o.body, "until the end");
    assert_false(o.keep_alive);
    outcome_fini(&o);

    /* an empty close-delimited body */
    static const char empty[] = "HTTP/1.1 200 OK\r\n\r\n";
    run_all_ways(S(empty), false, true, true, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.bytes, 0);
    assert_false(o.keep_alive);
    outcome_fini(&o);
}

static void head_and_no_body_statuses(void **state)
{
    (void)state;
    outcome o;
    /* HEAD: the Content-Length describes the GET's body; none follows */
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    run_all_ways(S(head), true, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, sizeof head - 1);
    assert_int_equal(o.bytes, 0);
    assert_true(o.keep_alive);
    assert_string_equal(o.hdrs, head);
    outcome_fini(&o);
    /* the same bytes for a GET want the body */
    run_whole(S(head), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_MORE);
    outcome_fini(&o);
    /* HEAD of a chunked resource */
    static const char headc[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    run_all_ways(S(headc), true, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_true(o.keep_alive);
    outcome_fini(&o);

    /* 204 and 304 carry no body whatever their headers say: what follows is not theirs */
    static const char n204[] = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/";
    run_all_ways(S(n204), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.status, 204);
    assert_int_equal(o.used, sizeof n204 - 1 - 5);
    assert_int_equal(o.bytes, 0);
    assert_true(o.keep_alive);
    outcome_fini(&o);
    static const char n304[] = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n";
    run_all_ways(S(n304), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.status, 304);
    assert_int_equal(o.bytes, 0);
    outcome_fini(&o);
    /* 204 without a length is not close-delimited */
    static const char n204b[] = "HTTP/1.1 204 No Content\r\n\r\n";
    run_all_ways(S(n204b), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_true(o.keep_alive);
    outcome_fini(&o);
}

static void interim_answers(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                             "HTTP/1.1 201 Created\r\nLocation: /orders/7\r\nContent-Length: 2\r\n\r\nok";
    outcome o;
    run_all_ways(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, sizeof in - 1);
    assert_int_equal(o.status, 201);
    assert_string_equal(o.body, "ok");
    assert_int_equal(o.bytes, 2);
    /* every answer's lines, as libcurl's header callback gives them */
    assert_string_equal(o.hdrs, "HTTP/1.1 100 Continue\r\n\r\n"
                                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                                "HTTP/1.1 201 Created\r\nLocation: /orders/7\r\nContent-Length: 2\r\n\r\n");
    assert_memory_equal(o.hdrs + o.hdr_start, "HTTP/1.1 201 Created\r\n", 22);
    char loc[64];
    assert_int_equal(hresp_header(o.hdrs + o.hdr_start, o.hl - o.hdr_start, "location", loc, sizeof loc), 9);
    assert_string_equal(loc, "/orders/7");
    assert_int_equal(hresp_header(o.hdrs + o.hdr_start, o.hl - o.hdr_start, "Link", loc, sizeof loc), -1);
    outcome_fini(&o);

    /* an interim answer's own length headers do not give it a body; an HTTP/1.0 one does
     * not close the connection for the final answer */
    static const char odd[] = "HTTP/1.0 100 Continue\r\nContent-Length: 4\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    run_all_ways(S(odd), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.body, "abc");
    assert_true(o.keep_alive);
    outcome_fini(&o);

    /* a closed connection after the interim answer is a response that did not end */
    static const char cut[] = "HTTP/1.1 100 Continue\r\n\r\n";
    run_all_ways(S(cut), false, true, true, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "connection closed before the response ended");
    assert_int_equal(o.status, 0);
    outcome_fini(&o);
}

static void protocol_switch(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\n\r\n\x81\x05hello";
    outcome o;
    run_all_ways(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "unexpected protocol switch");
    outcome_fini(&o);
}

/* ---- connection reuse ------------------------------------------------------------- */

static void keep_alive_rules(void **state)
{
    (void)state;
    static const struct { const char *in; bool ka; } cases[] = {
        { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", true },
        { "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false },
        { "HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 1\r\n\r\nx", false },
        { "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false },
        { "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", true },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", true },
        { "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome o;
        run_all_ways(cases[i].in, strlen(cases[i].in), false, true, false, &o);
        assert_int_equal(o.rc, HRESP_DONE);
        assert_string_equal(o.body, "x");
        if (o.keep_alive != cases[i].ka)
            fail_msg("case %zu: keep_alive %d", i, o.keep_alive);
        outcome_fini(&o);
    }
}

static void back_to_back(void **state)
{
    (void)state;
    static const char a[] = "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 3\r\n\r\nold";
    static const char b[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnew!";
    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    size_t used;
    hresp_begin(&r, &s.k, false, true);
    assert_int_equal(hresp_feed(&r, S(a), &used), HRESP_DONE);
    assert_int_equal(used, sizeof a - 1);
    assert_int_equal(r.status, 302);
    assert_string_equal(s.b, "old");
    size_t first_len = s.hl;
    /* a followed redirect: the sink keeps the first answer's lines */
    hresp_begin(&r, &s.k, false, true);
    assert_false(r.started);
    assert_false(r.complete);
    assert_int_equal(r.status, 0);
    assert_int_equal(s.bl, 0);
    assert_int_equal(hresp_feed(&r, S(b), &used), HRESP_DONE);
    assert_int_equal(used, sizeof b - 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.bytes, 4);
    assert_string_equal(s.b, "new!");
    assert_int_equal(r.hdr_start, first_len);
    assert_string_equal(s.h, "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 3\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
    /* the final answer's part has no Location, the whole block has */
    char v[16];
    assert_int_equal(hresp_header(s.h + r.hdr_start, s.hl - r.hdr_start, "Location", v, sizeof v), -1);
    assert_int_equal(hresp_header(s.h, s.hl, "Location", v, sizeof v), 5);
    assert_string_equal(v, "/next");

    /* steady state: a new request empties the sink; the same response again grows
     * nothing (the buffers keep their place and size) */
    s.hl = 0;
    hresp_begin(&r, &s.k, false, true);
    assert_int_equal(hresp_feed(&r, S(b), &used), HRESP_DONE);
    char *h0 = s.h, *b0 = s.b;
    size_t hc0 = s.hc, bc0 = s.bc;
    for (int i = 0; i < 100; i++) {
        s.hl = 0;
        hresp_begin(&r, &s.k, false, true);
        assert_int_equal(hresp_feed(&r, S(b), &used), HRESP_DONE);
        assert_true(r.keep_alive);
    }
    assert_ptr_equal(s.h, h0);
    assert_ptr_equal(s.b, b0);
    assert_int_equal(s.hc, hc0);
    assert_int_equal(s.bc, bc0);
    assert_string_equal(s.h, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");

    /* after DONE more feeding is refused without harm */
    assert_int_equal(hresp_feed(&r, S(a), &used), HRESP_DONE);
    assert_int_equal(used, 0);
    assert_int_equal(hresp_eof(&r), HRESP_DONE);
    hresp_fini(&r);
    hresp_fini(&r);             /* harmless twice */
    tsink_fini(&s);
}

static void pipelined_bytes(void **state)
{
    (void)state;
    /* two answers in one read: the first takes its own bytes only */
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\ntwo";
    const size_t first = strlen("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
    outcome o;
    run_all_ways(S(in), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, first);
    assert_string_equal(o.body, "one");
    outcome_fini(&o);

    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    size_t used;
    hresp_begin(&r, &s.k, false, true);
    assert_int_equal(hresp_feed(&r, S(in), &used), HRESP_DONE);
    assert_int_equal(used, first);
    s.hl = 0;
    hresp_begin(&r, &s.k, false, true);
    size_t used2;
    assert_int_equal(hresp_feed(&r, in + used, sizeof in - 1 - used, &used2), HRESP_DONE);
    assert_int_equal(used + used2, sizeof in - 1);
    assert_int_equal(r.status, 404);
    assert_string_equal(s.b, "two");
    assert_string_equal(s.h, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n");
    hresp_fini(&r);
    tsink_fini(&s);
}

/* ---- encodings -------------------------------------------------------------------- */

static void encoded_case(const char *coding, int wbits, size_t n, bool chunked, bool all_ways)
{
    char *text = mk_text(n, (uint32_t)n);
    size_t zn;
    unsigned char *z = z_pack(text, n, wbits, &zn);
    char head[256];
    size_t len;
    char *in;
    if (chunked) {
        /* two chunks, cut inside the compressed stream */
        size_t a = zn / 3;
        size_t cap = zn + 256;
        char *body = malloc(cap);
        assert_non_null(body);
        int k = snprintf(body, cap, "%zx\r\n", a);
        memcpy(body + k, z, a);
        k += (int)a;
        k += snprintf(body + k, cap - (size_t)k, "\r\n%zx\r\n", zn - a);
        memcpy(body + k, z + a, zn - a);
        k += (int)(zn - a);
        k += snprintf(body + k, cap - (size_t)k, "\r\n0\r\n\r\n");
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n", coding);
        in = mk_resp(head, body, (size_t)k, &len);
        free(body);
    } else {
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                 "Content-Length: %zu\r\n\r\n", coding, zn);
        in = mk_resp(head, z, zn, &len);
    }
    outcome o;
    if (all_ways)
        run_all_ways(in, len, false, true, false, &o);
    else
        run_whole(in, len, false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.used, len);
    assert_int_equal(o.bytes, n);               /* decoded bytes */
    assert_int_equal(o.bl, n);
    assert_memory_equal(o.body, text, n);
    assert_true(o.keep_alive);
    outcome_fini(&o);
    /* counted the same without keeping it */
    run_whole(in, len, false, false, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.bytes, n);
    assert_int_equal(o.bl, 0);
    outcome_fini(&o);
    free(in);
    free(z);
    free(text);
}

static void gzip_bodies(void **state)
{
    (void)state;
    encoded_case("gzip", 15 + 16, 1500, false, true);
    encoded_case("x-gzip", 15 + 16, 1500, true, true);
    encoded_case("GZIP", 15 + 16, 300000, false, false);   /* many output buffers */
    encoded_case("gzip", 15 + 16, 0, false, true);
}

static void deflate_bodies(void **state)
{
    (void)state;
    encoded_case("deflate", 15, 1500, false, true);         /* zlib-wrapped (RFC 1950) */
    encoded_case("deflate", -15, 1500, false, true);        /* raw, as some servers send */
    encoded_case("Deflate", -15, 1500, true, true);
    encoded_case("deflate", 15, 200000, true, false);
    encoded_case("identity, deflate", 15, 700, false, true);
}

static void encoded_then_plain_on_one_connection(void **state)
{
    (void)state;
    char *text = mk_text(5000, 7);
    size_t gn, dn;
    unsigned char *g = z_pack(text, 5000, 15 + 16, &gn);
    unsigned char *d = z_pack(text, 5000, -15, &dn);
    char head[160];
    size_t glen, dlen;
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gn);
    char *gin = mk_resp(head, g, gn, &glen);
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %zu\r\n\r\n", dn);
    char *din = mk_resp(head, d, dn, &dlen);
    static const char plain[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";

    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    size_t used;
    void *zs = NULL;
    for (int round = 0; round < 3; round++) {
        s.hl = 0;
        hresp_begin(&r, &s.k, false, true);
        assert_int_equal(hresp_feed(&r, gin, glen, &used), HRESP_DONE);
        assert_int_equal(r.bytes, 5000);
        assert_memory_equal(s.b, text, 5000);
        if (round == 0)
            zs = r.z;
        assert_non_null(r.z);
        assert_ptr_equal(r.z, zs);              /* one stream for the connection's life */
        s.hl = 0;
        hresp_begin(&r, &s.k, false, true);
        assert_int_equal(hresp_feed(&r, S(plain), &used), HRESP_DONE);
        assert_string_equal(s.b, "plain");
        assert_int_equal(r.bytes, 5);
        s.hl = 0;
        hresp_begin(&r, &s.k, false, true);
        assert_int_equal(hresp_feed(&r, din, dlen, &used), HRESP_DONE);
        assert_int_equal(r.bytes, 5000);
        assert_memory_equal(s.b, text, 5000);
        assert_ptr_equal(r.z, zs);
    }
    hresp_fini(&r);
    assert_null(r.z);
    tsink_fini(&s);
    free(gin);
    free(din);
    free(g);
    free(d);
    free(text);
}

static void bad_and_unknown_encodings(void **state)
{
    (void)state;
    outcome o;
    /* not gzip at all */
    static const char junk[] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
                               "not gzip!!";
    run_all_ways(S(junk), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "bad content encoding");
    outcome_fini(&o);

    /* a gzip stream whose CRC was damaged */
    char *text = mk_text(800, 3);
    size_t zn;
    unsigned char *z = z_pack(text, 800, 15 + 16, &zn);
    z[zn - 6] ^= 0x5a;
    char head[160];
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zn);
    size_t len;
    char *in = mk_resp(head, z, zn, &len);
    run_all_ways(in, len, false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "bad content encoding");
    outcome_fini(&o);
    free(in);
    free(z);
    free(text);

    /* codings this client does not decode pass through as received */
    static const char br[] = "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 6\r\n\r\n\x1b\x03raw!";
    run_all_ways(S(br), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.bytes, 6);
    assert_memory_equal(o.body, "\x1b\x03raw!", 6);
    outcome_fini(&o);
    static const char stacked[] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n"
                                  "Content-Length: 4\r\n\r\nraw!";
    run_all_ways(S(stacked), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_string_equal(o.body, "raw!");
    outcome_fini(&o);

    /* no body, nothing to decode: HEAD and 304 of a gzip resource */
    static const char h[] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n";
    run_all_ways(S(h), true, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.bytes, 0);
    outcome_fini(&o);
}

/* ---- failures and limits ---------------------------------------------------------- */

static void malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTP/1.1 200 OK\r\n\r\n",
        "<html>hello</html>\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA@{}: x\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/12.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        outcome o;
        run_all_ways(bad[i], strlen(bad[i]), false, true, false, &o);
        if (o.rc != HRESP_ERR)
            fail_msg("case %zu: rc %d", i, o.rc);
        assert_string_equal(o.detail, "malformed response");
        outcome_fini(&o);
    }

    /* what libcurl reads, this reads: bare LF line ends, no reason phrase */
    static const char lf[] = "HTTP/1.1 200 OK\nContent-Length: 2\nX-A: 1\n\nok";
    outcome o;
    run_all_ways(S(lf), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_string_equal(o.body, "ok");
    assert_string_equal(o.hdrs, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n");
    outcome_fini(&o);
    /* an empty value keeps its line */
    static const char empty[] = "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Blank:   \r\nContent-Length: 0\r\n\r\n";
    run_all_ways(S(empty), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_string_equal(o.hdrs, "HTTP/1.1 200 OK\r\nX-Empty: \r\nX-Blank: \r\nContent-Length: 0\r\n\r\n");
    outcome_fini(&o);
    static const char noreason[] = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";
    run_all_ways(S(noreason), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.hdrs, noreason);
    outcome_fini(&o);
    /* a folded header stays one line */
    static const char fold[] = "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 0\r\n\r\n";
    run_all_ways(S(fold), false, true, false, &o);
    assert_int_equal(o.rc, HRESP_DONE);
    char v[32];
    assert_true(hresp_header(o.hdrs, o.hl, "X-Long", v, sizeof v) >= 3);
    assert_non_null(strstr(v, "a"));
    assert_non_null(strstr(v, "b"));
    assert_null(strchr(v, '\r'));
    assert_null(strchr(v, '\n'));
    outcome_fini(&o);
}

static void header_limit(void **state)
{
    (void)state;
    /* one header value of the given size */
    size_t sizes[] = { HRESP_MAX_HEADER_BYTES - 200, HRESP_MAX_HEADER_BYTES + 10 };
    for (int i = 0; i < 2; i++) {
        size_t n = sizes[i];
        char *big = malloc(n + 128);
        assert_non_null(big);
        int k = sprintf(big, "HTTP/1.1 200 OK\r\nX-Big: ");
        memset(big + k, 'v', n);
        k += (int)n;
        k += sprintf(big + k, "\r\nContent-Length: 0\r\n\r\n");
        outcome o;
        run_whole(big, (size_t)k, false, true, false, &o);
        if (i == 0) {
            assert_int_equal(o.rc, HRESP_DONE);
            assert_int_equal(o.hl, (size_t)k);
        } else {
            assert_int_equal(o.rc, HRESP_ERR);
            assert_string_equal(o.detail, "response headers too large");
            assert_true(o.hl <= HRESP_MAX_HEADER_BYTES);
        }
        outcome_fini(&o);
        /* fed in slices, the same verdict */
        size_t cuts[64];
        size_t nc = 0;
        for (size_t c = 1000; c < (size_t)k && nc < 64; c += 1500)
            cuts[nc++] = c;
        run_cuts(big, (size_t)k, false, true, false, cuts, nc, &o);
        assert_int_equal(o.rc, i == 0 ? HRESP_DONE : HRESP_ERR);
        outcome_fini(&o);
        free(big);
    }

    /* many small headers, interim answers counted too */
    size_t cap = HRESP_MAX_HEADER_BYTES + 4096;
    char *many = malloc(cap);
    assert_non_null(many);
    size_t k = (size_t)sprintf(many, "HTTP/1.1 100 Continue\r\n");
    for (int i = 0; k + 64 < HRESP_MAX_HEADER_BYTES / 2; i++)
        k += (size_t)sprintf(many + k, "X-H%d: %030d\r\n", i, i);
    k += (size_t)sprintf(many + k, "\r\nHTTP/1.1 200 OK\r\n");
    for (int i = 0; k + 64 < HRESP_MAX_HEADER_BYTES + 1000; i++)
        k += (size_t)sprintf(many + k, "X-H%d: %030d\r\n", i, i);
    k += (size_t)sprintf(many + k, "Content-Length: 0\r\n\r\n");
    outcome o;
    run_whole(many, k, false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "response headers too large");
    outcome_fini(&o);
    free(many);

    /* trailers are not kept but cannot run forever either */
    size_t tn = HRESP_MAX_HEADER_BYTES + 100;
    char *tr = malloc(tn + 256);
    assert_non_null(tr);
    int t = sprintf(tr, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: ");
    memset(tr + t, 't', tn);
    t += (int)tn;
    t += sprintf(tr + t, "\r\n\r\n");
    run_whole(tr, (size_t)t, false, true, false, &o);
    assert_int_equal(o.rc, HRESP_ERR);
    assert_string_equal(o.detail, "response headers too large");
    outcome_fini(&o);
    free(tr);
}

static void body_limit(void **state)
{
    (void)state;
    /* a body beyond HRESP_MAX_BODY_BYTES: all counted, the first part kept */
    const size_t extra = 3000, total = HRESP_MAX_BODY_BYTES + extra;
    const size_t slice = 1 << 20;
    char *chunk = malloc(slice);
    assert_non_null(chunk);
    for (size_t i = 0; i < slice; i++)
        chunk[i] = (char)('a' + i % 26);
    char head[128];
    int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    hresp_begin(&r, &s.k, false, true);
    size_t used;
    assert_int_equal(hresp_feed(&r, head, (size_t)hn, &used), HRESP_MORE);
    size_t left = total;
    int rc = HRESP_MORE;
    while (left > 0) {
        size_t n = left < slice ? left : slice;
        rc = hresp_feed(&r, chunk, n, &used);
        assert_int_equal(used, n);
        left -= n;
        if (left > 0)
            assert_int_equal(rc, HRESP_MORE);
    }
    assert_int_equal(rc, HRESP_DONE);
    assert_int_equal(r.bytes, total);
    assert_int_equal(s.bl, HRESP_MAX_BODY_BYTES);
    assert_int_equal(s.b[s.bl], '\0');
    assert_int_equal(s.b[slice + 5], chunk[5]);
    hresp_fini(&r);
    tsink_fini(&s);
    free(chunk);
}

static void closed_early(void **state)
{
    (void)state;
    hresp r;
    tsink s;
    hresp_init(&r);
    tsink_init(&s);
    /* before any byte: the retry rule reads started */
    hresp_begin(&r, &s.k, false, true);
    assert_int_equal(hresp_eof(&r), HRESP_ERR);
    assert_false(r.started);
    assert_string_equal(r.detail, "connection closed before any response byte");
    /* a failed response stays failed */
    size_t used;
    assert_int_equal(hresp_feed(&r, S("HTTP/1.1 200 OK\r\n\r\n"), &used), HRESP_ERR);
    /* empty reads change nothing */
    hresp_begin(&r, &s.k, false, true);
    assert_int_equal(hresp_feed(&r, "", 0, &used), HRESP_MORE);
    assert_int_equal(used, 0);
    assert_false(r.started);
    hresp_fini(&r);
    tsink_fini(&s);

    /* mid-headers, mid-body (length and chunked): started, not ended */
    static const char *const cut[] = {
        "H",
        "HTTP/1.1 200 OK\r\nContent-Le",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        outcome o;
        run_all_ways(cut[i], strlen(cut[i]), false, true, true, &o);
        if (o.rc != HRESP_ERR)
            fail_msg("case %zu: rc %d", i, o.rc);
        assert_true(o.started);
        assert_string_equal(o.detail, "connection closed before the response ended");
        outcome_fini(&o);
    }
}

/* ---- header lookup ---------------------------------------------------------------- */

static void header_lookup(void **state)
{
    (void)state;
    static const char blk[] = "HTTP/1.1 302 Found\r\nLocation: /first\r\nSet-Cookie: a=1\r\n"
                              "location:   /second  \r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n";
    char v[64];
    assert_int_equal(hresp_header(S(blk), "Location", v, sizeof v), 7);
    assert_string_equal(v, "/second");                  /* the last line wins, trimmed */
    assert_int_equal(hresp_header(S(blk), "LOCATION", v, sizeof v), 7);
    assert_int_equal(hresp_header(S(blk), "set-cookie", v, sizeof v), 3);
    assert_string_equal(v, "a=1");
    assert_int_equal(hresp_header(S(blk), "X-Empty", v, sizeof v), 0);
    assert_string_equal(v, "");
    assert_int_equal(hresp_header(S(blk), "X-Tab", v, sizeof v), 1);
    assert_string_equal(v, "v");
    assert_int_equal(hresp_header(S(blk), "Loc", v, sizeof v), -1);
    assert_string_equal(v, "");
    assert_int_equal(hresp_header(S(blk), "Locations", v, sizeof v), -1);
    assert_int_equal(hresp_header(S(blk), "HTTP/1.1 302 Found", v, sizeof v), -1);
    /* truncated to the room, the full length returned */
    char small[4];
    assert_int_equal(hresp_header(S(blk), "Location", small, sizeof small), 7);
    assert_string_equal(small, "/se");
    assert_int_equal(hresp_header(S(blk), "Location", NULL, 0), 7);
    /* the length bounds the search: a block cut before the second Location */
    size_t cut = (size_t)(strstr(blk, "location:") - blk);
    assert_int_equal(hresp_header(blk, cut, "Location", v, sizeof v), 6);
    assert_string_equal(v, "/first");
    /* a last line without its line end */
    assert_int_equal(hresp_header(S("X-A: 1\r\nX-B: two"), "x-b", v, sizeof v), 3);
    assert_string_equal(v, "two");
    assert_int_equal(hresp_header(NULL, 0, "X", v, sizeof v), -1);
}

int main(void)
{
    hresp_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_length),
        cmocka_unit_test(chunked_extensions_trailers),
        cmocka_unit_test(close_delimited),
        cmocka_unit_test(head_and_no_body_statuses),
        cmocka_unit_test(interim_answers),
        cmocka_unit_test(protocol_switch),
        cmocka_unit_test(keep_alive_rules),
        cmocka_unit_test(back_to_back),
        cmocka_unit_test(pipelined_bytes),
        cmocka_unit_test(gzip_bodies),
        cmocka_unit_test(deflate_bodies),
        cmocka_unit_test(encoded_then_plain_on_one_connection),
        cmocka_unit_test(bad_and_unknown_encodings),
        cmocka_unit_test(malformed),
        cmocka_unit_test(header_limit),
        cmocka_unit_test(body_limit),
        cmocka_unit_test(closed_early),
        cmocka_unit_test(header_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
