/* Unit tests for common/hdrblock.c: the header-block line walker (capture_header,
 * hresp_header and cookie_jar_take read their blocks through it) and the comma-list
 * token walker (Content-Encoding, the WebSocket handshake's Upgrade and Connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/hdrblock.h"

/* Bytes [p, p+n) equal the C string want. */
static void assert_bytes(const char *p, size_t n, const char *want)
{
    assert_non_null(p);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

/* Walks the block, a copy of it in a buffer of exactly len bytes (so a read past the
 * end shows under ASan), and checks the next line's parts; NULL name: no ':'. */
typedef struct walk {
    char  *buf;
    size_t len, pos;
} walk;

static walk walk_of(const char *block, size_t len)
{
    walk w = { malloc(len ? len : 1), len, 0 };
    assert_non_null(w.buf);
    memcpy(w.buf, block, len);
    return w;
}

static void next_is(walk *w, const char *line, bool status, const char *name, const char *value)
{
    hdr_line l;
    size_t before = w->pos;
    assert_true(hdr_next(w->buf, w->len, &w->pos, &l));
    assert_true(w->pos > before);
    assert_ptr_equal(l.line, w->buf + before);
    assert_bytes(l.line, l.line_len, line);
    assert_int_equal(l.status, status);
    if (name == NULL) {
        assert_null(l.name);
        assert_null(l.value);
        assert_int_equal(l.name_len, 0);
        assert_int_equal(l.value_len, 0);
    } else {
        assert_bytes(l.name, l.name_len, name);
        assert_bytes(l.value, l.value_len, value);
    }
}

static void walk_end(walk *w)
{
    hdr_line l, was;
    memset(&l, 0x5a, sizeof l);
    was = l;
    size_t pos = w->pos;
    assert_int_equal(pos, w->len);
    assert_false(hdr_next(w->buf, w->len, &w->pos, &l));
    assert_int_equal(w->pos, pos);
    assert_memory_equal(&l, &was, sizeof l);     /* untouched at the end */
    free(w->buf);
}

static void crlf_block(void **state)
{
    (void)state;
    const char *b = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Id: 7\r\n\r\n";
    walk w = walk_of(b, strlen(b));
    next_is(&w, "HTTP/1.1 200 OK\r", true, NULL, NULL);
    next_is(&w, "Content-Type: text/plain\r", false, "Content-Type", "text/plain");
    next_is(&w, "X-Id: 7\r", false, "X-Id", "7");
    next_is(&w, "\r", false, NULL, NULL);
    walk_end(&w);
}

static void bare_lf_and_cr_runs(void **state)
{
    (void)state;
    /* bare LF ends a line as well; every CR before the LF leaves the value, none the line */
    const char *b = "HTTP/1.0 204\nA: 1\nB: 2\r\r\r\nC:3 \r \r\n\n";
    walk w = walk_of(b, strlen(b));
    next_is(&w, "HTTP/1.0 204", true, NULL, NULL);
    next_is(&w, "A: 1", false, "A", "1");
    next_is(&w, "B: 2\r\r\r", false, "B", "2");
    /* CRs go first, then blanks: a CR inside the blanks stays */
    next_is(&w, "C:3 \r \r", false, "C", "3 \r");
    next_is(&w, "", false, NULL, NULL);
    walk_end(&w);
}

static void status_lines(void **state)
{
    (void)state;
    /* "HTTP/" opens a status line (case as written); a ':' in its reason still names it */
    const char *b = "HTTP/2 200\r\nhttp/1.1 200 OK\r\nHTTP/1.1 500 Bad: really\r\nHTTP/\r\nHTTP\r\n";
    walk w = walk_of(b, strlen(b));
    next_is(&w, "HTTP/2 200\r", true, NULL, NULL);
    next_is(&w, "http/1.1 200 OK\r", false, NULL, NULL);
    next_is(&w, "HTTP/1.1 500 Bad: really\r", true, "HTTP/1.1 500 Bad", "really");
    next_is(&w, "HTTP/\r", true, NULL, NULL);
    next_is(&w, "HTTP\r", false, NULL, NULL);
    walk_end(&w);
}

static void names_and_values(void **state)
{
    (void)state;
    const char *b = "Name \t: \t v a l \t\r\n"        /* blanks around value and before ':' */
                    " Lead: x\r\n"                    /* leading blanks stay in the name */
                    ":empty name\r\n"
                    "Empty:\r\n"
                    "Blank:  \t \r\n"
                    "Two: a: b\r\n"                   /* the first ':' splits */
                    "no colon here\r\n";
    walk w = walk_of(b, strlen(b));
    next_is(&w, "Name \t: \t v a l \t\r", false, "Name", "v a l");
    next_is(&w, " Lead: x\r", false, " Lead", "x");
    next_is(&w, ":empty name\r", false, "", "empty name");
    next_is(&w, "Empty:\r", false, "Empty", "");
    next_is(&w, "Blank:  \t \r", false, "Blank", "");
    next_is(&w, "Two: a: b\r", false, "Two", "a: b");
    next_is(&w, "no colon here\r", false, NULL, NULL);
    walk_end(&w);
}

static void several_answers(void **state)
{
    (void)state;
    const char *b = "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 302 Found\r\nLocation: /a\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nLocation: /b\r\n\r\n";
    walk w = walk_of(b, strlen(b));
    next_is(&w, "HTTP/1.1 100 Continue\r", true, NULL, NULL);
    next_is(&w, "\r", false, NULL, NULL);
    next_is(&w, "HTTP/1.1 302 Found\r", true, NULL, NULL);
    next_is(&w, "Location: /a\r", false, "Location", "/a");
    next_is(&w, "\r", false, NULL, NULL);
    next_is(&w, "HTTP/1.1 200 OK\r", true, NULL, NULL);
    next_is(&w, "Location: /b\r", false, "Location", "/b");
    next_is(&w, "\r", false, NULL, NULL);
    walk_end(&w);
}

static void unterminated_and_bytes(void **state)
{
    (void)state;
    /* a last line without LF is a line; a NUL is any byte; nothing past len is read */
    const char b[] = "A: x\0y\r\nB: last\r";
    walk w = walk_of(b, sizeof b - 1);
    hdr_line l;
    assert_true(hdr_next(w.buf, w.len, &w.pos, &l));
    assert_int_equal(l.line_len, 7);
    assert_bytes(l.name, l.name_len, "A");
    assert_int_equal(l.value_len, 3);
    assert_memory_equal(l.value, "x\0y", 3);
    next_is(&w, "B: last\r", false, "B", "last");
    walk_end(&w);

    /* a block cut inside a line: the part before the cut */
    w = walk_of("Content-Length: 12", 11);    /* before the colon: no name */
    next_is(&w, "Content-Len", false, NULL, NULL);
    walk_end(&w);
    w = walk_of("X: 1\r\nY", 7);
    next_is(&w, "X: 1\r", false, "X", "1");
    next_is(&w, "Y", false, NULL, NULL);
    walk_end(&w);

    /* empty blocks, a NULL one of length 0, a position already past the end */
    size_t pos = 0;
    assert_false(hdr_next(NULL, 0, &pos, &l));
    assert_int_equal(pos, 0);
    pos = 9;
    assert_false(hdr_next("abc", 3, &pos, &l));
    assert_int_equal(pos, 9);
    w = walk_of("\n\n", 2);
    next_is(&w, "", false, NULL, NULL);
    next_is(&w, "", false, NULL, NULL);
    walk_end(&w);
}

static void name_compare(void **state)
{
    (void)state;
    const char *b = "set-COOKIE: a=1\r\nSet-Cookie : b=2\r\n:x\r\nSet-Cookiex: c\r\nplain\r\n";
    size_t pos = 0;
    hdr_line l;
    assert_true(hdr_next(b, strlen(b), &pos, &l));
    assert_true(hdr_is(&l, "Set-Cookie"));
    assert_true(hdr_is(&l, "set-cookie"));
    assert_false(hdr_is(&l, "Set-Cooki"));
    assert_false(hdr_is(&l, "Set-Cookies"));
    assert_false(hdr_is(&l, ""));
    assert_true(hdr_next(b, strlen(b), &pos, &l));
    assert_true(hdr_is(&l, "set-cookie"));      /* the blank before ':' is not the name's */
    assert_int_equal(l.name[l.name_len], ' ');
    assert_true(hdr_next(b, strlen(b), &pos, &l));
    assert_true(hdr_is(&l, ""));
    assert_false(hdr_is(&l, "x"));
    assert_true(hdr_next(b, strlen(b), &pos, &l));
    assert_false(hdr_is(&l, "Set-Cookie"));
    assert_true(hdr_next(b, strlen(b), &pos, &l));
    assert_false(hdr_is(&l, ""));               /* no ':': no name, not even an empty one */
    assert_false(hdr_is(&l, "plain"));
    assert_false(hdr_next(b, strlen(b), &pos, &l));

    /* a NUL in the line's name never matches */
    const char z[] = "a\0: 1\r\n";
    pos = 0;
    assert_true(hdr_next(z, sizeof z - 1, &pos, &l));
    assert_int_equal(l.name_len, 2);
    assert_false(hdr_is(&l, "a"));
    assert_false(hdr_is(&l, "ab"));
}

/* The tokens of the first n bytes of list v as one string, each between '[' and ']'. */
static void tokens_of(const char *v, size_t n, const char *want)
{
    char *copy = malloc(n ? n : 1), got[256];
    assert_non_null(copy);
    memcpy(copy, v, n);
    size_t pos = 0, len, used = 0, last = 0;
    const char *t;
    got[0] = '\0';
    while (hdr_token_next(copy, n, &pos, &t, &len)) {
        assert_true(pos > last);
        assert_true(pos <= n);
        assert_true(t >= copy && t + len <= copy + n);
        assert_true(used + len + 3 <= sizeof got);
        got[used++] = '[';
        memcpy(got + used, t, len);
        used += len;
        got[used++] = ']';
        got[used] = '\0';
        last = pos;
    }
    assert_int_equal(pos, n);
    assert_false(hdr_token_next(copy, n, &pos, &t, &len));
    assert_string_equal(got, want);
    free(copy);
}

static void tokens_are(const char *v, const char *want) { tokens_of(v, strlen(v), want); }

static void tokens(void **state)
{
    (void)state;
    tokens_are("gzip", "[gzip]");
    tokens_are("gzip, deflate", "[gzip][deflate]");
    tokens_are(" \tgzip\t ,  x-gzip ", "[gzip][x-gzip]");
    tokens_are(",, ,\t,gzip,,", "[gzip]");
    tokens_are("keep-alive, Upgrade", "[keep-alive][Upgrade]");
    tokens_are("a b , c\td", "[a b][c\td]");      /* inner blanks stay */
    tokens_are("GZip,gzip", "[GZip][gzip]");       /* as written, repeats kept */
    tokens_are("", "");
    tokens_are(" , \t,", "");
    /* the list is bytes: n bounds it, whatever follows */
    tokens_of("br, gzip", 2, "[br]");
    tokens_of("br, gzip", 5, "[br][g]");
    tokens_of("br, gzip", 4, "[br]");
}

static void token_nul_and_null(void **state)
{
    (void)state;
    const char v[] = "a,\0b ,c";
    size_t pos = 0, len;
    const char *t;
    assert_true(hdr_token_next(v, sizeof v - 1, &pos, &t, &len));
    assert_bytes(t, len, "a");
    assert_true(hdr_token_next(v, sizeof v - 1, &pos, &t, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(t, "\0b", 2);
    assert_true(hdr_token_next(v, sizeof v - 1, &pos, &t, &len));
    assert_bytes(t, len, "c");
    assert_false(hdr_token_next(v, sizeof v - 1, &pos, &t, &len));
    pos = 0;
    assert_false(hdr_token_next(NULL, 0, &pos, &t, &len));
    assert_int_equal(pos, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crlf_block),
        cmocka_unit_test(bare_lf_and_cr_runs),
        cmocka_unit_test(status_lines),
        cmocka_unit_test(names_and_values),
        cmocka_unit_test(several_answers),
        cmocka_unit_test(unterminated_and_bytes),
        cmocka_unit_test(name_compare),
        cmocka_unit_test(tokens),
        cmocka_unit_test(token_nul_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
