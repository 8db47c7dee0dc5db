/* The lean client's request head and URLs: see http_wire.h. */
#include "worker/http_wire.h"
#include <string.h>
#include <strings.h>
#include "common/url.h"
#include "common/util.h"

int hwire_parse(const char *url, hwire_url *u)
{
    memset(u, 0, sizeof *u);
    if (!strncasecmp(url, "https://", 8)) {
        u->tls = true;
    } else if (strncasecmp(url, "http://", 7) != 0) {
        return -1;
    }
    url_parts p;
    if (url_authority(url, &p) != URL_OK || p.templated || p.host_len == 0 ||
        p.host_len > HWIRE_MAX_HOST)
        return -2;
    u->host = p.host;
    u->host_len = p.host_len;
    u->port = u->tls ? 443 : 80;
    if (p.port_num >= 0) {
        if (p.port_num == 0) return -2;
        u->port = (uint16_t)p.port_num;
    }
    /* the authority as written, after any userinfo: from the host (or its '[') to the
     * end of the port, or of the host */
    const char *a = p.host;
    if (a > url && a[-1] == '[') a--;
    const char *end = p.port ? p.port + p.port_len : p.host + p.host_len + (a < p.host ? 1 : 0);
    u->authority = a;
    u->authority_len = (size_t)(end - a);
    const char *t = url + p.scheme_len + 3;
    t += strcspn(t, "/?#");
    size_t tl = strcspn(t, "#");
    if (tl == 0 || *t == '?') {
        /* no path: "/" (and the query after it, written as "/?q" below by the caller:
         * the head writes "/" then the target when target starts with '?') */
        u->target_slash = true;
    }
    u->target = t;
    u->target_len = tl;
    return 0;
}

#define PUTS(s) do { if (util_append(buf, &len, cap, (s), strlen(s)) != 0) return -1; } while (0)
#define PUTN(s, n) do { if (util_append(buf, &len, cap, (s), (n)) != 0) return -1; } while (0)

/* A "Name: value" header's name length and its value (trimmed), or -1 when it has no
 * colon. */
static long hdr_split(const char *h, const char **val, size_t *val_len)
{
    const char *c = strchr(h, ':');
    if (!c) return -1;
    const char *v = c + 1;
    while (*v == ' ' || *v == '\t') v++;
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    *val = v;
    *val_len = vl;
    return (long)(c - h);
}

long hwire_find(const char *const *headers, int n, const char *name, const char **val)
{
    size_t nl = strlen(name);
    long found = -1;
    for (int i = 0; i < n; i++) {
        const char *v;
        size_t vl;
        long k = hdr_split(headers[i], &v, &vl);
        if (k == (long)nl && !strncasecmp(headers[i], name, nl)) {
            *val = v;
            found = (long)vl;
        }
    }
    return found;
}

long hwire_head(const hwire_req *r, char **buf, size_t *cap)
{
    size_t len = 0;
    const hwire_url *u = r->url;
    PUTS(r->method);
    PUTS(" ");
    if (u->target_slash) PUTS("/");
    PUTN(u->target, u->target_len);
    PUTS(" HTTP/1.1\r\n");
    /* which of libcurl's defaults the step writes itself (by name, empty value too:
     * "Host:" takes ours away): one pass over the step's headers */
    enum { H_HOST = 1, H_UA = 2, H_ACCEPT = 4, H_AE = 8, H_CT = 16 };
    static const struct { const char *name; size_t len; int bit; } known[] = {
        { "Host", 4, H_HOST }, { "User-Agent", 10, H_UA }, { "Accept", 6, H_ACCEPT },
        { "Accept-Encoding", 15, H_AE }, { "Content-Type", 12, H_CT },
    };
    int own = 0;
    const char *v;
    size_t vl;
    for (int i = 0; i < r->nheaders; i++) {
        long nl = hdr_split(r->headers[i], &v, &vl);
        for (size_t k = 0; nl > 0 && k < sizeof known / sizeof known[0]; k++)
            if ((size_t)nl == known[k].len && !strncasecmp(r->headers[i], known[k].name, known[k].len))
                own |= known[k].bit;
    }
    if (!(own & H_HOST)) {
        PUTS("Host: ");
        PUTN(u->authority, u->authority_len);
        PUTS("\r\n");
    }
    if (!(own & H_UA)) PUTS("User-Agent: stampede/" STAMPEDE_VERSION "\r\n");
    if (!(own & H_ACCEPT)) PUTS("Accept: */*\r\n");
    if (!(own & H_AE)) PUTS("Accept-Encoding: gzip, deflate\r\n");
    if (r->cookies_len) {               /* the jar's line, before the step's headers */
        PUTS("Cookie: ");
        PUTN(r->cookies, r->cookies_len);
        PUTS("\r\n");
    }
    for (int i = 0; i < r->nheaders; i++) {
        const char *h = r->headers[i];
        long nl = hdr_split(h, &v, &vl);
        if (nl <= 0) continue;
        if (nl == 14 && !strncasecmp(h, "Content-Length", 14)) continue;  /* ours */
        if (vl == 0) continue;          /* "Name:" takes a header away (libcurl) */
        PUTN(h, (size_t)nl);
        PUTS(": ");
        PUTN(v, vl);
        PUTS("\r\n");
    }
    if (r->has_body) {
        if (!(own & H_CT)) PUTS("Content-Type: application/x-www-form-urlencoded\r\n");
        char num[32];
        int n = snprintf(num, sizeof num, "Content-Length: %zu\r\n", r->body_len);
        PUTN(num, (size_t)n);
    }
    PUTS("\r\n");
    (*buf)[len] = '\0';
    return (long)len;
}

long hwire_resolve(const char *base, const char *loc, size_t loc_len, char **buf, size_t *cap)
{
    size_t len = 0;
    while (loc_len > 0 && (*loc == ' ' || *loc == '\t')) loc++, loc_len--;
    if (loc_len >= 7 && (!strncasecmp(loc, "http://", 7) || (loc_len >= 8 && !strncasecmp(loc, "https://", 8)))) {
        PUTN(loc, loc_len);
    } else {
        const char *colon = strstr(base, "://");
        if (!colon) return -1;
        const char *auth = colon + 3;
        const char *path = auth + strcspn(auth, "/?#");
        if (loc_len >= 2 && loc[0] == '/' && loc[1] == '/') {
            PUTN(base, (size_t)(auth - 2 - base));      /* "scheme:" */
            PUTN(loc, loc_len);
        } else if (loc_len >= 1 && loc[0] == '/') {
            PUTN(base, (size_t)(path - base));
            PUTN(loc, loc_len);
        } else {
            size_t pl = strcspn(path, "?#");
            if (loc_len >= 1 && loc[0] == '?') {
                PUTN(base, (size_t)(path - base) + pl);
                if (pl == 0) PUTS("/");
            } else {
                /* the base's directory: up to its last '/' */
                size_t d = pl;
                while (d > 0 && path[d - 1] != '/') d--;
                PUTN(base, (size_t)(path - base) + d);
                if (d == 0) PUTS("/");
            }
            PUTN(loc, loc_len);
        }
    }
    (*buf)[len] = '\0';
    /* drop a fragment */
    char *h = strchr(*buf, '#');
    if (h) {
        *h = '\0';
        len = (size_t)(h - *buf);
    }
    return (long)len;
}

bool hwire_idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}
