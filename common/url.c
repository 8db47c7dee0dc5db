/* Joining a rendered URL to the target, and reading its authority: see common/url.h.
 *
 * Decisions the header leaves open, written down here:
 * - A target that is not http(s):// (the scenario parser refuses those) joins a ws path
 *   as "ws://" followed by what comes after its "://", or by the whole target.
 * - An empty port (":" with nothing after it) reads as written, port_num 0, as before
 *   the rule moved here (libcurl then uses the scheme's default).
 * - The scheme is checked as RFC 3986 spells it: a letter, then letters, digits, '+',
 *   '-' or '.', then "://". */
#include "common/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool url_starts(const char *s, const char *scheme)
{
    return strncasecmp(s, scheme, strlen(scheme)) == 0;
}

bool url_is_absolute(url_kind k, const char *s)
{
    if (url_starts(s, "http://") || url_starts(s, "https://")) return true;
    return k == URL_WS && (url_starts(s, "ws://") || url_starts(s, "wss://"));
}

bool url_http_prefix(const char *s, size_t n)
{
    return (n <= 7 && strncasecmp(s, "http://", n) == 0) ||
           (n <= 8 && strncasecmp(s, "https://", n) == 0);
}

size_t url_join_room(const char *target)
{
    /* the longest prefix: "wss://", a target without a scheme, '/' */
    return (target ? strlen(target) : 0) + 7;
}

size_t url_join_at(url_kind k, const char *target, char *buf, size_t off, size_t n)
{
    char *p = buf + off;
    if (!target) target = "";
    bool as_is = k == URL_HTTP ? url_is_absolute(URL_HTTP, p)
                               : url_starts(p, "ws://") || url_starts(p, "wss://");
    if (as_is) {
        memmove(buf, p, n + 1);
        return n;
    }
    if (k == URL_WS && url_is_absolute(URL_HTTP, p)) {
        /* http://rest -> ws://rest, https://rest -> wss://rest (shorter: fits in place) */
        bool secure = url_starts(p, "https://");
        size_t skip = secure ? 8 : 7, pl = secure ? 6 : 5;
        memmove(buf + pl, p + skip, n - skip + 1);
        memcpy(buf, secure ? "wss://" : "ws://", pl);
        return n - skip + pl;
    }
    /* A path under the target (for ws, the target with its scheme turned into ws[s]).
     * The path moves first: the prefix written after it ends below where it lands. */
    const char *scheme = "", *rest = target;
    if (k == URL_WS) {
        bool secure = url_starts(target, "https://");
        const char *sep = strstr(target, "://");
        scheme = secure ? "wss://" : "ws://";
        rest = sep ? sep + 3 : target;
    }
    size_t sl = strlen(scheme), rl = strlen(rest);
    size_t slash = p[0] != '/' ? 1 : 0;
    memmove(buf + sl + rl + slash, p, n + 1);
    memcpy(buf, scheme, sl);
    memcpy(buf + sl, rest, rl);
    if (slash) buf[sl + rl] = '/';
    return sl + rl + slash + n;
}

char *url_join_dup(url_kind k, const char *target, const char *rendered)
{
    size_t room = url_join_room(target), n = strlen(rendered);
    char *buf = malloc(room + n + 1);
    if (!buf) return NULL;
    memcpy(buf + room, rendered, n + 1);
    url_join_at(k, target, buf, room, n);
    return buf;
}

url_err url_authority(const char *url, url_parts *out)
{
    memset(out, 0, sizeof *out);
    out->port_num = -1;
    const char *p = strstr(url, "://");
    bool ok = p != NULL && p > url && isalpha((unsigned char)url[0]);
    for (const char *q = url; ok && q < p; q++)
        if (!isalnum((unsigned char)*q) && *q != '+' && *q != '-' && *q != '.') ok = false;
    if (!ok) return URL_ERR_SCHEME;
    out->scheme = url;
    out->scheme_len = (size_t)(p - url);
    const char *auth = p + 3;
    size_t alen = strcspn(auth, "/?#");
    if (memmem(auth, alen, "{{", 2) != NULL) {
        out->templated = true;
        return URL_OK;
    }
    const char *at = memrchr(auth, '@', alen);
    if (at != NULL) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *h = auth, *port = NULL;
    size_t hlen, plen = 0;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (close == NULL) return URL_ERR_BRACKET;
        h = auth + 1;
        hlen = (size_t)(close - h);
        const char *after = close + 1;
        size_t left = alen - (size_t)(after - auth);
        if (left > 0) {
            if (*after != ':') return URL_ERR_AFTER_BRACKET;
            port = after + 1;
            plen = left - 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon) {
            port = colon + 1;
            plen = alen - hlen - 1;
        }
    }
    out->host = h;
    out->host_len = hlen;
    out->port = port;
    out->port_len = plen;
    if (hlen == 0) return URL_ERR_NO_HOST;
    if (port) {
        unsigned long v = 0;
        bool num = plen <= 5;
        for (size_t i = 0; num && i < plen; i++) {
            if (!isdigit((unsigned char)port[i])) num = false;
            else v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (!num || v > 65535) return URL_ERR_PORT;
        out->port_num = (int)v;
    }
    return URL_OK;
}
