/* One rule for where a step's URL goes: a rendered http or ws URL joined to the run's
 * target, and the host:port read from the result. The engine (http steps), the
 * WebSocket flow (ws connect) and the worker's allowlist (worker/allow.c, checked when a
 * plan arrives) all go through these functions, so the allowlist checks the very host
 * the engine dials. Pure functions over the caller's memory; any thread; nothing here
 * allocates except url_join_dup.
 *
 * Joining (url_join_at):
 * - URL_HTTP: a rendered URL starting with "http://" or "https://" is used as is;
 *   anything else is a path: the target, then '/' unless the path starts with one
 *   ("orders" means "/orders"), then the path.
 * - URL_WS: "ws://" and "wss://" as is; "http://" / "https://" become "ws://" / "wss://"
 *   with the rest unchanged; anything else is joined to the target as above, with the
 *   target's http turned into ws and https into wss.
 * Schemes compare case-blind (RFC 3986; libcurl and worker/ws.c read them so): a
 * rendered "HTTP://10.0.0.1/" is absolute, for the engine and the allowlist alike.
 *
 * Reading (url_authority): scheme://[user@]host[:port][/path?query#fragment], as
 * libcurl reads it: the authority ends at the first '/', '?' or '#', the host follows
 * its last '@', an IPv6 literal is written in brackets. A "{{" anywhere in the
 * authority marks it templated (text filled in there can change the host reached). */
#ifndef COMMON_URL_H
#define COMMON_URL_H
#include <stdbool.h>
#include <stddef.h>

typedef enum { URL_HTTP, URL_WS } url_kind;

/* s starts with a scheme the kind uses as is (URL_WS: ws, wss, http, https). */
bool   url_is_absolute(url_kind k, const char *s);
/* s[0..n) is a prefix of "http://" or "https://" (case-blind): text filled in after it
 * may make the URL absolute. */
bool   url_http_prefix(const char *s, size_t n);

/* Bytes url_join_at needs before the rendered text (strlen(target) + 7). */
size_t url_join_room(const char *target);
/* buf[off .. off + n) holds the rendered text, NUL-terminated, and off is at least
 * url_join_room(target) (the bytes before it are scratch). Rewrites buf in place into
 * the URL to dial (NUL-terminated from buf[0]) and returns its length. target NULL: "". */
size_t url_join_at(url_kind k, const char *target, char *buf, size_t off, size_t n);
/* The same into a malloc'd string (the caller frees it); NULL when out of memory. */
char  *url_join_dup(url_kind k, const char *target, const char *rendered);

typedef enum {
    URL_OK = 0,
    URL_ERR_SCHEME,             /* not scheme://... */
    URL_ERR_BRACKET,            /* '[' without ']' */
    URL_ERR_AFTER_BRACKET,      /* text after ']' that is not ":port" */
    URL_ERR_NO_HOST,
    URL_ERR_PORT,               /* port not a number from 0 to 65535 (port/port_len set) */
} url_err;

typedef struct url_parts {
    const char *scheme;         /* into the URL, scheme_len bytes */
    size_t      scheme_len;
    bool        templated;      /* "{{" in the authority: host and port not read */
    const char *host;           /* into the URL, without brackets, host_len bytes */
    size_t      host_len;
    const char *port;           /* NULL: none written */
    size_t      port_len;
    int         port_num;       /* -1: none written */
} url_parts;
/* Reads url's scheme and authority (see above). URL_OK, or what is wrong. */
url_err url_authority(const char *url, url_parts *out);
#endif
