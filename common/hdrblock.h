/* Header blocks and comma lists: the one walker over a block of response headers
 * ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n", several answers possibly one after the
 * other: an interim 1xx, a redirect followed, a proxy's answer) and the one walker over
 * a comma-separated token list ("gzip, deflate", "keep-alive, Upgrade"). What each
 * caller does with a line (first or last occurrence, a new answer forgetting the
 * earlier ones, which names it wants) stays with the caller: capture_header, hresp_header
 * and cookie_jar_take over blocks, ce_parse and the WebSocket handshake over lists.
 *
 * Contract: pure functions of their arguments, any thread, no allocation, no state
 * beyond the caller's position. Nothing is copied: every pointer handed back points into
 * the caller's block (or list) and is valid while it is. A block is bytes, not a C
 * string: any byte may appear in it (NUL included) and nothing past len is read. No
 * input is an error: a line that is not a header is still a line (name NULL). */
#ifndef COMMON_HDRBLOCK_H
#define COMMON_HDRBLOCK_H
#include <stdbool.h>
#include <stddef.h>

/* One line of a header block, as hdr_next reads it. */
typedef struct hdr_line {
    const char *line;       /* the whole line without its LF (CRs kept) */
    size_t      line_len;
    bool        status;     /* the line starts "HTTP/": a status line, a new answer begins */
    const char *name;       /* the bytes before the line's first ':', less trailing blanks
                             * (SP, HTAB; leading ones are kept); NULL: no ':' in the line */
    size_t      name_len;
    const char *value;      /* after that ':' up to the line's end less its trailing CRs,
                             * blanks trimmed on both sides; NULL when name is */
    size_t      value_len;
} hdr_line;

/* The next line of block[0..len) from *pos, which is advanced past it (past its LF, or
 * to len for a last line without one). False, *out untouched, when *pos >= len: a block
 * "A\r\nB" has two lines, "A\r\nB\r\n" as well, "A\r\n\r\n" two (the second empty).
 * Lines end at LF alone; every CR before the LF is stripped from the value (not from
 * line). A status line with a ':' in it (its reason) has a name and a value as well:
 * status says what it is, a caller decides. block may be NULL only when len is 0. */
bool hdr_next(const char *block, size_t len, size_t *pos, hdr_line *out);

/* The line is a header named name (a C string), compared without case. False for a
 * line without ':' (name NULL); an empty name matches a line starting with ':'. */
bool hdr_is(const hdr_line *l, const char *name);

/* The next token of the comma list v[0..n) from *pos (start at 0), which is advanced
 * past it: blanks (SP, HTAB) around a token are dropped, empty items (",,", ", ,") are
 * skipped. False when no token is left. The token's bytes are as they stand (no case
 * folding, inner blanks kept: "a b" is one token). */
bool hdr_token_next(const char *v, size_t n, size_t *pos, const char **tok, size_t *tok_len);
#endif
