/* A virtual user's cookie jar for the lean HTTP/1.1 client (worker/http_lean.c): the
 * Set-Cookie lines of each response are taken in, the Cookie header of each request is
 * written out. The semantics are those users were promised with libcurl's cookie engine
 * (worker/http.h, http_opts.no_cookies), i.e. RFC 6265 as libcurl 7.88 implements it for
 * a client. Pure: no sockets, no clock (the caller passes now_s), no locks.
 *
 * Ownership and threads: a cookie_jar is embedded in its user's transfer (caller's
 * memory) and used by the thread that owns the user. It is 16 bytes and allocates
 * nothing until the first cookie is stored. It owns its cookie slots and each slot's
 * strings (one allocation per slot: name, value, domain, path); cookie_jar_clear forgets
 * the cookies but keeps that memory for the next session, cookie_jar_fini frees it
 * (fini on a zeroed or already finished jar is harmless).
 *
 * Allocation: none when nothing changes. A Set-Cookie that replaces a cookie (same
 * name, domain and path) rewrites the slot in place when the new strings fit in it, so
 * a server that sets the same cookie on every response costs no allocation; a removed
 * cookie's slot keeps its memory for the next one. cookie_jar_header grows the caller's
 * buffer with util_reserve (common/util.h) and allocates nothing once the buffer has
 * reached its high-water mark.
 *
 * What a cookie is (RFC 6265 5.2 and 5.3; libcurl 7.88's choices where it is stricter):
 * - name=value: the first pair of the line; a line without '=' in it or with an empty
 *   name is refused; blanks around name and value are dropped, the value is kept as
 *   received (quotes included). A control byte (TAB excepted, but a TAB inside the
 *   value is refused too) or DEL in the name or value refuses the cookie (libcurl).
 * - Domain: a leading dot is ignored, an empty value is no attribute; the host must
 *   domain-match it, else the cookie is refused; a domain without a dot (other than
 *   "localhost") is refused (no public suffix list, as libcurl without libpsl); when the
 *   host is an IP address the Domain must be that address (the cookie stays host-only),
 *   and a Domain that is an IP address is refused for a host name. Without Domain the
 *   cookie is host-only (sent to that exact host).
 * - Path: kept when it starts with '/' (surrounding double quotes stripped and one
 *   trailing '/' dropped, as libcurl), otherwise the default path of RFC 6265 5.1.4
 *   (the request path up to its last '/'). Path-match as RFC 6265 5.1.4: "/a" matches
 *   "/a", "/a/", "/a/b", not "/ab".
 * - Max-Age (digits, optionally after one '"'): seconds from now_s; <= 0 removes the
 *   cookie; it wins over Expires wherever it appears. Text that is not a number is no
 *   attribute (RFC 6265 5.2.2).
 * - Expires: an HTTP date read with RFC 6265 5.1.1's algorithm (the RFC 1123, RFC 850
 *   and asctime forms and what browsers accept around them); unreadable: no attribute
 *   (a session cookie); a date not after now_s removes the cookie.
 * - Secure: sent only in a secure context and refused from a response received outside
 *   one. As libcurl 7.88, a secure context is https, or a request to "localhost",
 *   "127.0.0.1" or "::1" (in brackets or not) over either scheme. A cookie set outside
 *   a secure context may not replace a Secure one of the same name and domain whose
 *   path it would overlay (libcurl). The __Secure- and __Host- name prefixes are
 *   enforced as libcurl does.
 * - HttpOnly: accepted and kept; it changes nothing for a client without scripts.
 * - The same name (compared without case, as libcurl), domain, host-only flag and path
 *   replace the stored cookie, which keeps its place (its creation time).
 * - Other attributes (SameSite, Version, ...) are ignored.
 *
 * Limits (bad input never crashes, never grows memory without bound):
 * - At most COOKIE_JAR_MAX cookies per jar: a new one beyond it first drops the expired
 *   ones, then the oldest (earliest created).
 * - A Set-Cookie line whose value is longer than COOKIE_LINE_MAX bytes is ignored
 *   (libcurl's MAX_COOKIE_LINE), and a cookie whose name and value together exceed
 *   COOKIE_NAME_VALUE_MAX bytes is ignored (libcurl's MAX_NAME, the browsers' 4096).
 * - The Cookie header value stays below COOKIE_HEADER_MAX bytes: the first cookie that
 *   would reach it and those after it are not sent (libcurl's MAX_COOKIE_HEADER_LEN).
 *
 * Where this differs from libcurl 7.88, on purpose and only for what servers do not
 * rely on: a Path that does not start with '/' means the default path (libcurl: "/");
 * a Max-Age that is not a number is ignored (libcurl: expires the cookie); cookies of
 * equal path length go in creation order (libcurl: longer domain, then longer name,
 * then the newest first); the jar holds at most COOKIE_JAR_MAX cookies (libcurl has no
 * bound, but takes at most 50 Set-Cookie per response and sends at most 150).
 *
 * The scenario's own Cookie header: libcurl 7.88 (lib/http.c Curl_http_cookies, then
 * Curl_add_custom_headers) writes the jar's cookies as one "Cookie: a=1; b=2" line,
 * placed before the scenario's headers, only when the jar has a cookie for the request,
 * and then sends the scenario's "Cookie: ..." header unchanged as a second line among
 * its custom headers (the jar and the scenario's value are merged into one line only for
 * CURLOPT_COOKIE, which Stampede does not use). For the server to see what it saw with
 * libcurl, the lean client writes "Cookie: " + cookie_jar_header's value + "\r\n" before
 * the scenario's headers when the value is not empty, and a Cookie header of the
 * scenario as written. (On a redirect to another host libcurl 7.88 no longer sends the
 * scenario's Cookie header, as with Authorization; the jar's line follows the new host.) */
#ifndef WORKER_COOKIE_H
#define WORKER_COOKIE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_JAR_MAX         64      /* cookies per jar; beyond: the oldest goes */
#define COOKIE_LINE_MAX        5000    /* bytes of a Set-Cookie value; longer: ignored */
#define COOKIE_NAME_VALUE_MAX  4096    /* bytes of name + value; more: ignored */
#define COOKIE_HEADER_MAX      8190    /* the Cookie value stays below this */

/* One stored cookie: a slot of the jar. Callers read it (tests do), never write it. */
struct cookie {
    char    *mem;           /* owned: "name\0value\0domain\0path\0"; kept while the slot
                             * is free, for the next cookie */
    uint32_t mem_cap;       /* bytes allocated at mem */
    uint32_t name_len, value_len, domain_len, path_len;
    int64_t  expires_s;     /* CLOCK_REALTIME seconds; INT64_MAX: a session cookie */
    bool     host_only;     /* no Domain: sent to the exact host only */
    bool     secure, http_only;
};

/* Slots [0, n) hold the cookies in creation order (replacing one keeps its place);
 * slots [n, cap) are free and may still hold memory (mem) for the next ones. */
typedef struct cookie_jar { struct cookie *c; uint32_t n, cap; } cookie_jar;

/* Name, value, domain and path of a stored cookie (NUL-terminated, in its slot). */
static inline const char *cookie_name(const struct cookie *c) { return c->mem; }
static inline const char *cookie_value(const struct cookie *c) { return c->mem + c->name_len + 1; }
static inline const char *cookie_domain(const struct cookie *c)
{ return c->mem + c->name_len + c->value_len + 2; }
static inline const char *cookie_path(const struct cookie *c)
{ return c->mem + c->name_len + c->value_len + c->domain_len + 3; }

/* init: an empty jar, nothing allocated (a zeroed jar is the same). clear: forgets every
 * cookie and keeps the memory (a user's session ends). fini: frees everything; the jar
 * is then empty and may be used again. */
void cookie_jar_init(cookie_jar *j);
void cookie_jar_clear(cookie_jar *j);
void cookie_jar_fini(cookie_jar *j);

/* Takes every "Set-Cookie:" line (the name without case) of a response header block
 * ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n"; lines may end in "\n" alone; the block
 * may hold several answers, e.g. a 100 Continue before the final one, all for this
 * request: pass the part from the offset where this request's answers begin) received
 * for a request to host (no port, lower case, an IPv6 address with or without brackets),
 * path (the request URL's path; a query or fragment after it is cut off), over https or
 * not, at now_s (CLOCK_REALTIME seconds). block need not be NUL-terminated. Returns how
 * many cookies were stored (added or replaced) or removed. Malformed, refused or
 * oversized lines are ignored; a cookie that cannot be stored for lack of memory is
 * skipped (the jar keeps what it had), as libcurl does. */
int cookie_jar_take(cookie_jar *j, const char *block, size_t len, const char *host,
                    const char *path, bool https, int64_t now_s);

/* Appends to *buf at offset `at` (growing it with util_reserve; *buf may be NULL with
 * *cap 0) the value of the Cookie header for a request to host/path over https or not at
 * now_s: "a=1; b=2", in RFC 6265 5.4's order (longer paths first, then earlier
 * creation), and a NUL after it that is not counted. Cookies found expired on the way
 * are removed from the jar. Returns the bytes appended (0: no cookie for this request,
 * send no Cookie line; *buf is then untouched), -1 when the buffer cannot grow (*buf
 * unchanged). */
long cookie_jar_header(cookie_jar *j, const char *host, const char *path, bool https,
                       int64_t now_s, char **buf, size_t *cap, size_t at);
#endif /* WORKER_COOKIE_H */
