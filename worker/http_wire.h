/* The request half of the lean HTTP/1.1 client (worker/http_lean.c): where a URL goes
 * (scheme, host, port, the request target) and the request head written for it, the way
 * libcurl writes one for the same step, so a server sees the same request from either
 * client; and the URL a redirect's Location names. Pure functions over the caller's
 * memory; any thread; nothing here allocates except through util_reserve on the
 * caller's growable buffer (which then stays at its high-water mark).
 *
 * The head (hwire_head): "METHOD target HTTP/1.1\r\n", then Host (the URL's authority,
 * userinfo left out) unless the step sets one, then the step's headers in their order,
 * with libcurl's defaults where the step sets none: "User-Agent: stampede/VERSION",
 * an Accept header for any type, "Accept-Encoding: gzip, deflate" (libcurl's default
 * offer without br and zstd, which the lean client does not decode; a step's own
 * Accept-Encoding, "identity" say, replaces it: worker/http_resp.c decodes what the
 * answer's Content-Encoding names), and for a request with a body "Content-Type:
 * application/x-www-form-urlencoded" (libcurl's for POSTFIELDS) and always its
 * Content-Length. A step header whose value is empty ("X-Debug:") is not sent (libcurl:
 * it removes that header). The jar's cookies go in one "Cookie:" line before the
 * step's headers, and a Cookie header of the step follows as written (libcurl 7.88's
 * way: worker/cookie.h). No Expect: the body
 * follows the head at once. */
#ifndef WORKER_HTTP_WIRE_H
#define WORKER_HTTP_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HWIRE_MAX_HOST 255

typedef struct hwire_url {
    bool        tls;            /* https */
    const char *host;           /* into the URL, without brackets; host_len bytes */
    size_t      host_len;
    uint16_t    port;           /* the written port, else 80 / 443 */
    const char *authority;      /* host[:port] as written (for Host:), userinfo left out */
    size_t      authority_len;
    const char *target;         /* path?query, fragment left out; "/" when empty */
    size_t      target_len;
    bool        target_slash;   /* the URL had no path: target is the static "/" */
} hwire_url;

/* Reads an absolute http:// or https:// URL (scheme case-blind). 0, or -1 when the
 * scheme is another (libcurl: "Unsupported protocol"), -2 when the URL is malformed (no
 * host, bad port, host longer than HWIRE_MAX_HOST). */
int hwire_parse(const char *url, hwire_url *u);

typedef struct hwire_req {
    const char        *method;
    const hwire_url   *url;
    const char *const *headers;     /* "Name: value" */
    int                nheaders;
    const char        *cookies;     /* the jar's "a=1; b=2", NULL or "": none */
    size_t             cookies_len;
    bool               has_body;    /* Content-Length is written (0 allowed) */
    size_t             body_len;
} hwire_req;

/* Writes the request head into *buf from offset 0 (growing it). Its length, or -1 when
 * out of memory. */
long hwire_head(const hwire_req *r, char **buf, size_t *cap);

/* The step's own value of header name (case-blind), trimmed: its length and *val, or
 * -1 when the step sets none. */
long hwire_find(const char *const *headers, int n, const char *name, const char **val);

/* The URL a Location value names, resolved against the request's URL base (RFC 3986
 * 5.2: absolute, "//host/...", "/path", or relative to base's directory; "?q" keeps the
 * path), written NUL-terminated into *buf (growing it). Its length, or -1. */
long hwire_resolve(const char *base, const char *loc, size_t loc_len, char **buf, size_t *cap);

/* GET, HEAD, PUT, DELETE, OPTIONS and TRACE (RFC 9110 9.2.2): may be sent again. */
bool hwire_idempotent(const char *method);
#endif
