/* HAR import (contract: cli/har.h). Decisions the issue leaves open, written down here:
 *
 * - Which requests: http(s) entries in the order they started (a stable sort on
 *   startedDateTime). Dropped: static assets (unless --keep-static: by Chrome's
 *   _resourceType stylesheet/script/image/font/media, by response mime type text/css,
 *   *javascript*, image/, font/, audio/, video/, application/font*, application/wasm, or
 *   by the path's extension, HAR_STATIC_EXT), CORS preflights (OPTIONS with
 *   Access-Control-Request-Method: the browser's, not the page's), other schemes (data:,
 *   blob:, ws:), and requests to origins other than the target.
 * - The target: the origin (scheme://host[:port]) of the first request kept by the rules
 *   above; with --host-filter HOST, of the first request whose host (or host:port)
 *   equals HOST. One origin per scenario: requests to other origins (CDNs, analytics)
 *   are dropped and counted in the header comment; import again with --host-filter to get
 *   another origin's requests. URLs are written relative (path and query), so --host
 *   moves the whole scenario; fragments are dropped.
 * - Headers dropped: pseudo-headers (":authority"), Cookie (the cookie jar replays
 *   cookies from the responses), Host, Content-Length, hop-by-hop headers (Connection,
 *   Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade), and browser noise that
 *   would make the replay lie or differ from the load generator: User-Agent, Accept-
 *   Encoding, Accept-Language, Referer, Origin, Sec-*, Upgrade-Insecure-Requests, DNT,
 *   Cache-Control, Pragma, If-None-Match, If-Modified-Since (a browser's cache
 *   validators would turn replays into 304s), Priority, Purpose. Everything else is
 *   kept (Authorization, Accept, Content-Type, X-*); a name sent twice is joined with
 *   ", " (YAML maps have unique keys).
 * - Bodies: a JSON body (a mime type naming json whose text parses) is written as json:
 *   when nothing in it is correlated, and its Content-Type is left to the engine;
 *   otherwise the text is written as body: with its recorded Content-Type (a correlated
 *   number stays a number: "{"id": {{ id }}}").
 * - Names: the default-name folding (stats_default_name: digits, 16+ hex, UUIDs -> {id})
 *   of the recorded URL, always written, so the names stay those of the recording
 *   whatever a template renders.
 * - Think times: the gap between the previous kept request's end (startedDateTime +
 *   time) and this one's start, written when >= HAR_MIN_THINK_MS (shorter gaps are the
 *   browser's own work), in ms.
 * - Expectations: the engine's default (status < 400) except where the recording itself
 *   got a status >= 400: there `expect: { status: N }` keeps the replay honest.
 * - Correlation: a candidate is a value of a kept request's response (JSON body: strings
 *   of 8..HAR_MAX_VALUE bytes and integers >= 100, first path in document order; headers
 *   other than the usual ones: whole values of 8+ bytes) that no kept request sent before
 *   the response came (so echoes of what the client sent, such as its username, are not
 *   taken). A later request that sends it (in the URL, a kept header or the body, not
 *   next to a letter or digit, and for numbers not next to '.', '-' or '_' either) gets
 *   {{ var }} in its place, and the response gets a capture (json: $.path or header:
 *   Name), both with a comment naming the other side. The earliest response wins; longer
 *   values are replaced first. Values sent percent-encoded are not recognised. The var is
 *   the JSON key (parent key + "_id" for a key "id", or the request path's last word +
 *   "_id" at the top level), or the header's name, made an identifier and unique.
 * - Literal "{{" in recorded text is written as {{ '{{' }}.
 * - Bounds: the file (HAR_MAX_BYTES), HAR_MAX_CANDS candidates (further ones are ignored,
 *   said once on stderr), JSON depth 32 when walking responses. */
#include "cli/har.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/stats.h"

#define HAR_MIN_THINK_MS 100
#define HAR_MAX_VALUE    512
#define HAR_MIN_STRING   8
#define HAR_MIN_INT      100
#define HAR_MAX_CANDS    20000
#define HAR_MAX_DEPTH    32
#define HAR_VAR_MAX      48
#define HAR_STATIC_EXT   ".css .js .mjs .map .png .jpg .jpeg .gif .svg .ico .webp .avif .bmp " \
                         ".woff .woff2 .ttf .otf .eot .mp4 .webm .mp3 .wav .ogg"

typedef struct har_hdr { char *name, *value; } har_hdr;

typedef struct har_ent {
    const char *method;     /* borrowed from the HAR document */
    char       *origin;     /* scheme://host[:port], scheme and host lowercased */
    char       *host;       /* host[:port] as written */
    char       *target;     /* path and query */
    har_hdr    *hdrs;       /* kept request headers */
    size_t      nhdrs;
    const char *body;       /* borrowed; NULL when none */
    json_t     *body_json;  /* parsed body when its mime names json; owned */
    int         status;
    double      t_start, t_end;   /* ms since the epoch */
    json_t     *resp;       /* parsed response body when JSON; owned */
    json_t     *resp_hdrs;  /* borrowed */
    const char *rtype;      /* Chrome's _resourceType or NULL */
    const char *rmime;      /* response content mimeType or "" */
    bool        preflight, web;
    size_t      seq;        /* HAR position, for a stable sort */
} har_ent;

typedef struct har_cand {
    char       *value;
    size_t      len, src;   /* src: index into the kept list */
    bool        header, number, used;
    char       *where;      /* json path, or the header's name */
    char        var[HAR_VAR_MAX];
    size_t      use;        /* first request (kept index) that sent it */
    char        use_where[96];
} har_cand;

typedef struct har_ctx {
    har_ent   *ents;
    size_t     nents;
    har_ent  **kept;
    size_t     nkept;
    har_cand  *cands;
    size_t     ncands;
    bool       cands_full;
    char      *sent;        /* every kept request's text so far, '\n'-separated */
    size_t     sent_len, sent_cap;
    size_t     n_static, n_origin, n_preflight, n_scheme;
} har_ctx;

static void *har_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) { fprintf(stderr, "stampede import-har: out of memory\n"); exit(1); }
    return q;
}

static char *har_strndup(const char *s, size_t n)
{
    char *p = har_xrealloc(NULL, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- reading the HAR ------------------------------------------------------------ */

/* ISO 8601 "2026-12-03T14:00:48.123Z" or with "+01:00": ms since the epoch; -1 if bad. */
static double har_time(const char *s)
{
    int y, mo, d, h, mi, n = 0;
    double sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
    double t = (double)timegm(&tm) * 1000.0 + sec * 1000.0;
    const char *z = s + n;
    if (*z == '+' || *z == '-') {
        int zh = 0, zm = 0;
        if (sscanf(z + 1, "%2d:%2d", &zh, &zm) < 1) return -1;
        t -= (*z == '+' ? 1 : -1) * (zh * 60 + zm) * 60000.0;
    }
    return t;
}

static bool har_mime_json(const char *m)
{
    return m && (strstr(m, "json") != NULL);
}

/* A response body's text as JSON (base64 decoded when so encoded); NULL if not JSON. */
static json_t *har_resp_json(json_t *content)
{
    const char *text = json_string_value(json_object_get(content, "text"));
    const char *mime = json_string_value(json_object_get(content, "mimeType"));
    if (!text || !*text) return NULL;
    const char *enc = json_string_value(json_object_get(content, "encoding"));
    char *dec = NULL;
    size_t len = strlen(text);
    if (enc && strcmp(enc, "base64") == 0) {
        dec = har_xrealloc(NULL, len / 4 * 3 + 4);
        int n = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)text, (int)len);
        if (n < 0) { free(dec); return NULL; }
        while (n > 0 && len > 0 && text[len - 1] == '=') { n--; len--; }  /* padding */
        text = dec;
        len = (size_t)n;
    }
    json_t *v = NULL;
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i])) i++;
    if (har_mime_json(mime) || (i < len && (text[i] == '{' || text[i] == '[')))
        v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    free(dec);
    return v;
}

static bool har_drop_header(const char *n)
{
    static const char *const drop[] = {
        "cookie", "host", "content-length", "connection", "keep-alive", "proxy-connection",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "user-agent", "accept-encoding", "accept-language", "referer", "origin",
        "upgrade-insecure-requests", "dnt", "cache-control", "pragma", "if-none-match",
        "if-modified-since", "priority", "purpose",
    };
    if (n[0] == ':' || strncasecmp(n, "sec-", 4) == 0 || strncasecmp(n, "proxy-", 6) == 0) return true;
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (strcasecmp(n, drop[i]) == 0) return true;
    return false;
}

static const char *har_header(json_t *hdrs, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(hdrs, i, h) {
        const char *n = json_string_value(json_object_get(h, "name"));
        if (n && strcasecmp(n, name) == 0) return json_string_value(json_object_get(h, "value"));
    }
    return NULL;
}

/* Splits an absolute URL into e's origin, host and target. false when not http(s). */
static bool har_split_url(har_ent *e, const char *url)
{
    size_t sl = strcspn(url, ":");
    if (url[sl] != ':' || url[sl + 1] != '/' || url[sl + 2] != '/') return false;
    if (!((sl == 4 && strncasecmp(url, "http", 4) == 0) || (sl == 5 && strncasecmp(url, "https", 5) == 0)))
        return false;
    const char *auth = url + sl + 3;
    size_t al = strcspn(auth, "/?#");
    if (al == 0) return false;
    const char *at = memchr(auth, '@', al);       /* userinfo: not part of the origin */
    if (at) { al -= (size_t)(at + 1 - auth); auth = at + 1; }
    e->host = har_strndup(auth, al);
    e->origin = har_xrealloc(NULL, sl + 3 + al + 1);
    for (size_t i = 0; i < sl; i++) e->origin[i] = (char)tolower((unsigned char)url[i]);
    memcpy(e->origin + sl, "://", 3);
    for (size_t i = 0; i < al; i++) e->origin[sl + 3 + i] = (char)tolower((unsigned char)auth[i]);
    e->origin[sl + 3 + al] = '\0';
    const char *rest = auth + al;
    size_t rl = strcspn(rest, "#");
    if (rl == 0 || rest[0] != '/') {
        e->target = har_xrealloc(NULL, rl + 2);
        e->target[0] = '/';
        memcpy(e->target + 1, rest, rl);
        e->target[rl + 1] = '\0';
    } else {
        e->target = har_strndup(rest, rl);
    }
    return true;
}

static bool har_is_static(const har_ent *e)
{
    static const char *const types[] = { "stylesheet", "script", "image", "font", "media" };
    if (e->rtype)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(e->rtype, types[i]) == 0) return true;
    const char *m = e->rmime;
    if (strncasecmp(m, "text/css", 8) == 0 || strstr(m, "javascript") || strncasecmp(m, "image/", 6) == 0 ||
        strncasecmp(m, "font/", 5) == 0 || strncasecmp(m, "audio/", 6) == 0 ||
        strncasecmp(m, "video/", 6) == 0 || strncasecmp(m, "application/font", 16) == 0 ||
        strncasecmp(m, "application/x-font", 18) == 0 || strncasecmp(m, "application/wasm", 16) == 0)
        return true;
    size_t pl = strcspn(e->target, "?");
    const char *dot = NULL;
    for (size_t i = pl; i > 0 && e->target[i - 1] != '/'; i--)
        if (e->target[i - 1] == '.') { dot = e->target + i - 1; break; }
    if (!dot) return false;
    size_t xl = (size_t)(e->target + pl - dot);
    for (const char *p = HAR_STATIC_EXT; *p; ) {
        size_t n = strcspn(p, " ");
        if (n == xl && strncasecmp(p, dot, n) == 0) return true;
        p += n;
        while (*p == ' ') p++;
    }
    return false;
}

/* Reads entry i of the HAR into e. NULL, or what is wrong. */
static const char *har_read_entry(json_t *je, har_ent *e)
{
    json_t *req = json_object_get(je, "request"), *resp = json_object_get(je, "response");
    if (!json_is_object(req)) return "no \"request\" object";
    e->method = json_string_value(json_object_get(req, "method"));
    const char *url = json_string_value(json_object_get(req, "url"));
    if (!e->method || !*e->method) return "request.method is not a string";
    if (!url) return "request.url is not a string";
    for (const char *p = e->method; *p; p++)
        if (!isupper((unsigned char)*p)) return "request.method is not an HTTP method";
    e->t_start = har_time(json_string_value(json_object_get(je, "startedDateTime")));
    if (e->t_start < 0) return "startedDateTime is not an ISO 8601 time";
    json_t *tm = json_object_get(je, "time");
    e->t_end = e->t_start + (json_is_number(tm) && json_number_value(tm) > 0 ? json_number_value(tm) : 0);
    e->web = har_split_url(e, url);
    e->rtype = json_string_value(json_object_get(je, "_resourceType"));
    json_t *content = json_object_get(resp, "content");
    e->rmime = json_string_value(json_object_get(content, "mimeType"));
    if (!e->rmime) e->rmime = "";
    e->status = (int)json_integer_value(json_object_get(resp, "status"));
    e->resp_hdrs = json_object_get(resp, "headers");
    json_t *hdrs = json_object_get(req, "headers");
    e->preflight = strcmp(e->method, "OPTIONS") == 0 && har_header(hdrs, "Access-Control-Request-Method");
    if (!e->web) return NULL;
    json_t *pd = json_object_get(req, "postData");
    const char *pmime = json_string_value(json_object_get(pd, "mimeType"));
    e->body = json_string_value(json_object_get(pd, "text"));
    if (e->body && !*e->body) e->body = NULL;
    if (e->body && har_mime_json(pmime)) e->body_json = json_loads(e->body, JSON_DECODE_ANY, NULL);
    size_t i;
    json_t *h;
    json_array_foreach(hdrs, i, h) {
        const char *n = json_string_value(json_object_get(h, "name"));
        const char *v = json_string_value(json_object_get(h, "value"));
        if (!n || !v || har_drop_header(n)) continue;
        size_t k = 0;
        while (k < e->nhdrs && strcasecmp(e->hdrs[k].name, n) != 0) k++;
        if (k < e->nhdrs) {
            size_t ol = strlen(e->hdrs[k].value), vl = strlen(v);
            e->hdrs[k].value = har_xrealloc(e->hdrs[k].value, ol + 2 + vl + 1);
            memcpy(e->hdrs[k].value + ol, ", ", 2);
            memcpy(e->hdrs[k].value + ol + 2, v, vl + 1);
            continue;
        }
        e->hdrs = har_xrealloc(e->hdrs, (e->nhdrs + 1) * sizeof *e->hdrs);
        e->hdrs[e->nhdrs].name = strdup(n);
        e->hdrs[e->nhdrs++].value = strdup(v);
    }
    e->resp = har_resp_json(content);
    return NULL;
}

static int har_cmp_start(const void *a, const void *b)
{
    const har_ent *x = a, *y = b;
    if (x->t_start != y->t_start) return x->t_start < y->t_start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- correlation ------------------------------------------------------------------ */

static bool har_word(char c, bool number)
{
    return isalnum((unsigned char)c) || (number && (c == '.' || c == '-' || c == '_'));
}

/* Offset of the first occurrence of v in t[0..tl) standing alone (see the header), or -1. */
static long har_find(const char *t, size_t tl, const char *v, size_t vl, bool number)
{
    for (size_t off = 0; off + vl <= tl; ) {
        const char *p = memmem(t + off, tl - off, v, vl);
        if (!p) return -1;
        size_t at = (size_t)(p - t);
        bool before = at > 0 && har_word(t[at - 1], number) && har_word(v[0], number);
        bool after = at + vl < tl && har_word(t[at + vl], number) && har_word(v[vl - 1], number);
        if (!before && !after) return (long)at;
        off = at + 1;
    }
    return -1;
}

static bool har_cand_known(const har_ctx *c, const char *v, size_t vl)
{
    for (size_t i = 0; i < c->ncands; i++)
        if (c->cands[i].len == vl && memcmp(c->cands[i].value, v, vl) == 0) return true;
    return false;
}

static void har_make_var(har_ctx *c, har_cand *cd, const char *base)
{
    static const char *const reserved[] = { "uuid", "counter", "user_id", "now_us", "rand_int", "env" };
    char v[HAR_VAR_MAX - 4];
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < sizeof v; p++)
        v[n++] = isalnum((unsigned char)*p) ? *p : '_';
    v[n] = '\0';
    if (n == 0 || isdigit((unsigned char)v[0])) snprintf(v, sizeof v, "v_%.30s", n ? base : "value");
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(v, reserved[i]) == 0) { strcat(v, "_v"); break; }
    snprintf(cd->var, sizeof cd->var, "%s", v);
    for (int k = 2; ; k++) {
        bool clash = false;
        for (size_t i = 0; i < c->ncands && !clash; i++)
            clash = &c->cands[i] != cd && c->cands[i].used && strcmp(c->cands[i].var, cd->var) == 0;
        if (!clash) break;
        snprintf(cd->var, sizeof cd->var, "%s_%d", v, k);
    }
}

static void har_add_cand(har_ctx *c, size_t src, const char *v, size_t vl, bool number,
                         bool header, const char *where, const char *key, const char *parent)
{
    if (har_cand_known(c, v, vl)) return;
    if (har_find(c->sent, c->sent_len, v, vl, number) >= 0) return;   /* the client sent it first */
    if (c->ncands >= HAR_MAX_CANDS) {
        if (!c->cands_full)
            fprintf(stderr, "stampede import-har: more than %d response values; later ones are not "
                    "correlated\n", HAR_MAX_CANDS);
        c->cands_full = true;
        return;
    }
    c->cands = har_xrealloc(c->cands, (c->ncands + 1) * sizeof *c->cands);
    har_cand *cd = &c->cands[c->ncands++];
    memset(cd, 0, sizeof *cd);
    cd->value = har_strndup(v, vl);
    cd->len = vl;
    cd->src = src;
    cd->number = number;
    cd->header = header;
    cd->where = strdup(where);
    /* the var's base name, made unique when the candidate is first used */
    char base[HAR_VAR_MAX];
    if (header) {
        snprintf(base, sizeof base, "%s", key);
        for (char *p = base; *p; p++) *p = (char)tolower((unsigned char)*p);
    } else if (key && strcmp(key, "id") == 0) {
        if (parent) snprintf(base, sizeof base, "%s_id", parent);
        else {
            const char *t = c->kept[src]->target;     /* the path's last word */
            size_t pl = strcspn(t, "?"), e = pl, s;
            while (e > 0 && (t[e - 1] == '/' || isdigit((unsigned char)t[e - 1]))) e--;
            for (s = e; s > 0 && t[s - 1] != '/'; s--) {}
            snprintf(base, sizeof base, "%.*s_id", (int)(e - s > 30 ? 30 : e - s), t + s);
        }
    } else {
        snprintf(base, sizeof base, "%s", key ? key : "value");
    }
    snprintf(cd->var, sizeof cd->var, "%s", base);
}

static bool har_plain_key(const char *k)
{
    if (!(isalpha((unsigned char)*k) || *k == '_')) return false;
    for (; *k; k++) if (!(isalnum((unsigned char)*k) || *k == '_')) return false;
    return true;
}

static void har_walk(har_ctx *c, size_t src, json_t *v, char *path, size_t plen, size_t cap,
                     const char *key, const char *parent, int depth)
{
    if (depth > HAR_MAX_DEPTH) return;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            int n;
            if (har_plain_key(k)) n = snprintf(path + plen, cap - plen, ".%s", k);
            else if (!strpbrk(k, "'\\]")) n = snprintf(path + plen, cap - plen, "['%s']", k);
            else continue;
            if (n < 0 || (size_t)n >= cap - plen) continue;
            har_walk(c, src, x, path, plen + (size_t)n, cap, k, key, depth + 1);
        }
        path[plen] = '\0';
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int n = snprintf(path + plen, cap - plen, "[%zu]", i);
            if (n < 0 || (size_t)n >= cap - plen) continue;
            har_walk(c, src, x, path, plen + (size_t)n, cap, key, parent, depth + 1);
        }
        path[plen] = '\0';
    } else if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n >= HAR_MIN_STRING && n <= HAR_MAX_VALUE && !memchr(json_string_value(v), '\0', n))
            har_add_cand(c, src, json_string_value(v), n, false, false, path, key, parent);
    } else if (json_is_integer(v) && json_integer_value(v) >= HAR_MIN_INT) {
        char num[32];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        har_add_cand(c, src, num, (size_t)n, true, false, path, key, parent);
    }
}

static bool har_skip_resp_header(const char *n)
{
    static const char *const skip[] = {
        "date", "set-cookie", "content-length", "content-type", "content-encoding", "server",
        "connection", "keep-alive", "vary", "cache-control", "expires", "last-modified",
        "transfer-encoding", "age", "via", "strict-transport-security", "content-security-policy",
        "access-control-allow-origin", "access-control-allow-headers", "access-control-allow-methods",
        "x-content-type-options", "x-frame-options", "referrer-policy", "alt-svc",
    };
    if (n[0] == ':') return true;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcasecmp(n, skip[i]) == 0) return true;
    return false;
}

static void har_sent_add(har_ctx *c, const char *s, size_t n)
{
    if (c->sent_len + n + 2 > c->sent_cap) {
        c->sent_cap = (c->sent_len + n + 2) * 2;
        c->sent = har_xrealloc(c->sent, c->sent_cap);
    }
    memcpy(c->sent + c->sent_len, s, n);
    c->sent_len += n;
    c->sent[c->sent_len++] = '\n';
    c->sent[c->sent_len] = '\0';
}

/* Marks the candidates request k sends, then adds k's text to what was sent and its
 * response's values to the candidates. */
static void har_correlate(har_ctx *c, size_t k)
{
    har_ent *e = c->kept[k];
    for (size_t i = 0; i < c->ncands; i++) {
        har_cand *cd = &c->cands[i];
        if (cd->used) continue;
        const char *where = NULL;
        char hw[96];
        if (har_find(e->target, strlen(e->target), cd->value, cd->len, cd->number) >= 0) where = "URL";
        for (size_t h = 0; !where && h < e->nhdrs; h++)
            if (har_find(e->hdrs[h].value, strlen(e->hdrs[h].value), cd->value, cd->len, cd->number) >= 0) {
                snprintf(hw, sizeof hw, "header %s", e->hdrs[h].name);
                where = hw;
            }
        if (!where && e->body && har_find(e->body, strlen(e->body), cd->value, cd->len, cd->number) >= 0)
            where = "body";
        if (!where) continue;
        cd->used = true;
        cd->use = k;
        snprintf(cd->use_where, sizeof cd->use_where, "%s", where);
        char base[HAR_VAR_MAX];
        snprintf(base, sizeof base, "%s", cd->var);
        har_make_var(c, cd, base);
    }
    har_sent_add(c, e->target, strlen(e->target));
    for (size_t h = 0; h < e->nhdrs; h++) har_sent_add(c, e->hdrs[h].value, strlen(e->hdrs[h].value));
    if (e->body) har_sent_add(c, e->body, strlen(e->body));
    if (e->resp) {
        char path[1024] = "$";
        har_walk(c, k, e->resp, path, 1, sizeof path, NULL, NULL, 0);
    }
    size_t i;
    json_t *h;
    json_array_foreach(e->resp_hdrs, i, h) {
        const char *n = json_string_value(json_object_get(h, "name"));
        const char *v = json_string_value(json_object_get(h, "value"));
        if (!n || !v || har_skip_resp_header(n)) continue;
        size_t vl = strlen(v);
        if (vl >= HAR_MIN_STRING && vl <= HAR_MAX_VALUE) har_add_cand(c, k, v, vl, false, true, n, n, NULL);
    }
}

/* ---- writing YAML ---------------------------------------------------------------- */

/* s as a YAML double-quoted scalar. */
static void har_yq(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') { fputc('\\', f); fputc(ch, f); }
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

typedef struct har_buf { char *p; size_t len, cap; } har_buf;

static void har_put(har_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = har_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Request k's text t as a template: the correlated values it sends (captured by an
 * earlier request) become {{ var }}, a literal "{{" becomes {{ '{{' }}. *subst counts
 * the holes made. The caller frees the result. */
static char *har_template(const har_ctx *c, size_t k, const char *t, int *subst)
{
    har_buf b = { 0 };
    size_t tl = strlen(t);
    har_put(&b, "", 0);
    for (size_t i = 0; i < tl; ) {
        const har_cand *best = NULL;
        for (size_t j = 0; c && j < c->ncands; j++) {
            const har_cand *cd = &c->cands[j];
            if (!cd->used || cd->src >= k || cd->len > tl - i || (best && cd->len <= best->len)) continue;
            if (memcmp(t + i, cd->value, cd->len) != 0) continue;
            bool before = i > 0 && har_word(t[i - 1], cd->number) && har_word(cd->value[0], cd->number);
            bool after = i + cd->len < tl && har_word(t[i + cd->len], cd->number) &&
                         har_word(cd->value[cd->len - 1], cd->number);
            if (!before && !after) best = cd;
        }
        if (best) {
            har_put(&b, "{{ ", 3);
            har_put(&b, best->var, strlen(best->var));
            har_put(&b, " }}", 3);
            i += best->len;
            if (subst) (*subst)++;
        } else if (t[i] == '{' && i + 1 < tl && t[i + 1] == '{') {
            har_put(&b, "{{ '{{' }}", 10);
            i += 2;
        } else {
            har_put(&b, t + i, 1);
            i++;
        }
    }
    return b.p;
}

static void har_templated_yq(FILE *f, const har_ctx *c, size_t k, const char *t, int *subst)
{
    char *s = har_template(c, k, t, subst);
    har_yq(f, s, strlen(s));
    free(s);
}

/* A JSON value as YAML flow (strings double-quoted, "{{" escaped; numbers, true, false
 * and null plain, which the json: body keeps as JSON literals). */
static void har_json_flow(FILE *f, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        bool first = true;
        fputs("{ ", f);
        json_object_foreach(v, k, x) {
            if (!first) fputs(", ", f);
            first = false;
            har_templated_yq(f, NULL, 0, k, NULL);
            fputs(": ", f);
            har_json_flow(f, x);
        }
        fputs(first ? "}" : " }", f);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        fputc('[', f);
        json_array_foreach(v, i, x) {
            fputs(i ? ", " : " ", f);
            har_json_flow(f, x);
        }
        fputs(json_array_size(v) ? " ]" : "]", f);
    } else if (json_is_string(v)) {
        har_templated_yq(f, NULL, 0, json_string_value(v), NULL);
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        fputs(s ? s : "null", f);
        free(s);
    }
}

static void har_write_step(FILE *f, const har_ctx *c, size_t k)
{
    const har_ent *e = c->kept[k];
    char name[STATS_NAME_MAX];
    stats_default_name(e->target, name, sizeof name);
    for (size_t i = 0; i < c->ncands; i++) {
        const har_cand *cd = &c->cands[i];
        if (cd->used && cd->use == k)
            fprintf(f, "      # {{ %s }} (%s): returned by request %zu (%s %s), %s %s\n", cd->var,
                    cd->use_where, cd->src + 1, c->kept[cd->src]->method, c->kept[cd->src]->target,
                    cd->header ? "header" : "body", cd->where);
    }
    fprintf(f, "      - http:   # request %zu\n          name: ", k + 1);
    har_yq(f, name, strlen(name));
    fprintf(f, "\n          method: %s\n          url: ", e->method);
    har_templated_yq(f, c, k, e->target, NULL);
    fputc('\n', f);
    /* A JSON body without holes goes as json:, its Content-Type left to the engine. */
    int body_subst = 0;
    char *body = e->body ? har_template(c, k, e->body, &body_subst) : NULL;
    bool as_json = e->body_json && body_subst == 0;
    bool any = false;
    for (size_t h = 0; h < e->nhdrs; h++) {
        if (as_json && strcasecmp(e->hdrs[h].name, "Content-Type") == 0) continue;
        if (!any) fputs("          headers:\n", f);
        any = true;
        fputs("            ", f);
        har_templated_yq(f, NULL, 0, e->hdrs[h].name, NULL);
        fputs(": ", f);
        har_templated_yq(f, c, k, e->hdrs[h].value, NULL);
        fputc('\n', f);
    }
    if (as_json) {
        fputs("          json: ", f);
        har_json_flow(f, e->body_json);
        fputc('\n', f);
    } else if (body) {
        fputs("          body: ", f);
        har_yq(f, body, strlen(body));
        fputc('\n', f);
    }
    free(body);
    if (e->status >= 400)
        fprintf(f, "          expect: { status: %d }   # as recorded\n", e->status);
    bool cap = false;
    for (size_t i = 0; i < c->ncands; i++) {
        const har_cand *cd = &c->cands[i];
        if (!cd->used || cd->src != k) continue;
        if (!cap) fputs("          capture:\n", f);
        cap = true;
        fprintf(f, "            # %s %s of this response; sent by request %zu (%s %s) in %s\n",
                cd->header ? "header" : "body", cd->where, cd->use + 1, c->kept[cd->use]->method,
                c->kept[cd->use]->target, cd->use_where);
        fprintf(f, "            %s: { %s: ", cd->var, cd->header ? "header" : "json");
        har_yq(f, cd->where, strlen(cd->where));
        fputs(" }\n", f);
    }
}

static void har_write(FILE *f, const har_ctx *c, const char *file, const char *origin)
{
    size_t ncap = 0, nthink = 0;
    for (size_t i = 0; i < c->ncands; i++) ncap += c->cands[i].used;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t bl = strlen(base);
    if (bl > 4 && strcasecmp(base + bl - 4, ".har") == 0) bl -= 4;
    fprintf(f, "# Imported by `stampede import-har` from %s: %zu of %zu requests kept\n", base, c->nkept,
            c->nents);
    fprintf(f, "# Dropped: static %zu, other origins %zu, CORS preflights %zu, not http(s) %zu.\n",
            c->n_static, c->n_origin, c->n_preflight, c->n_scheme);
    fputs("# Captures turn values a response returned and a later request sent into {{ variables }};\n"
          "# think steps are the recorded gaps of 100 ms or more. Run it with -u/-t or --host.\n", f);
    fputs("name: ", f);
    har_yq(f, base, bl);
    fputs("\ntarget: ", f);
    har_yq(f, origin, strlen(origin));
    fputs("\nload:\n  model: closed\n  stages:\n    - { duration: 30s, users: 1 }\n"
          "users:\n  - name: recorded\n    flow:\n", f);
    for (size_t k = 0; k < c->nkept; k++) {
        if (k > 0) {
            double gap = c->kept[k]->t_start - c->kept[k - 1]->t_end;
            if (gap >= HAR_MIN_THINK_MS) {
                fprintf(f, "      - think: %.0fms\n", gap);
                nthink++;
            }
        }
        har_write_step(f, c, k);
    }
    fprintf(stderr, "stampede import-har: %zu requests, %zu captures, %zu think steps "
            "(%zu static, %zu other-origin, %zu preflight requests dropped)\n",
            c->nkept, ncap, nthink, c->n_static, c->n_origin, c->n_preflight);
}

/* ---- the command ----------------------------------------------------------------- */

static void har_usage(FILE *f)
{
    fputs("usage: stampede import-har FILE.har [-o scenario.yaml] [--host-filter HOST] [--keep-static]\n"
          "  -o FILE             write the scenario there (default: standard output)\n"
          "  --host-filter HOST  the target is this host (host or host:port); default: the\n"
          "                      first request's; requests to other hosts are dropped\n"
          "  --keep-static       keep static assets (CSS, scripts, images, fonts, media)\n", f);
}

static bool har_host_match(const har_ent *e, const char *want)
{
    if (strcasecmp(e->host, want) == 0) return true;
    size_t hl = strcspn(e->host, ":");             /* HOST without a port matches any port */
    return !strchr(want, ':') && strlen(want) == hl && strncasecmp(e->host, want, hl) == 0;
}

static void har_free(har_ctx *c)
{
    for (size_t i = 0; i < c->nents; i++) {
        har_ent *e = &c->ents[i];
        free(e->origin); free(e->host); free(e->target);
        for (size_t h = 0; h < e->nhdrs; h++) { free(e->hdrs[h].name); free(e->hdrs[h].value); }
        free(e->hdrs);
        json_decref(e->body_json);
        json_decref(e->resp);
    }
    for (size_t i = 0; i < c->ncands; i++) { free(c->cands[i].value); free(c->cands[i].where); }
    free(c->ents); free(c->kept); free(c->cands); free(c->sent);
}

int har_import_main(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *host_filter = NULL;
    bool keep_static = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { har_usage(stdout); return 0; }
        if (!strcmp(a, "--keep-static")) keep_static = true;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--host-filter")) && i + 1 < argc) {
            if (a[1] == 'o') out = argv[++i]; else host_filter = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "stampede import-har: unknown option \"%s\"\n", a);
            har_usage(stderr);
            return 2;
        } else if (!file) file = a;
        else { fprintf(stderr, "stampede import-har: one HAR file at a time (\"%s\")\n", a); return 2; }
    }
    if (!file) { har_usage(stderr); return 2; }
    if (host_filter && (!*host_filter || strpbrk(host_filter, "/ "))) {
        fprintf(stderr, "stampede import-har: --host-filter wants a host or host:port, not \"%s\"\n", host_filter);
        return 2;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        fprintf(stderr, "stampede import-har: %s: %s\n", file, strerror(errno));
        return 2;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > HAR_MAX_BYTES) {
        fprintf(stderr, "stampede import-har: %s: %s\n", file, S_ISREG(st.st_mode)
                ? "larger than 256 MiB (HAR_MAX_BYTES); record a shorter session" : "not a regular file");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(file, 0, &jerr);
    if (!doc) {
        fprintf(stderr, "stampede import-har: %s:%d:%d: not JSON: %s\n", file, jerr.line, jerr.column, jerr.text);
        return 2;
    }
    json_t *entries = json_object_get(json_object_get(doc, "log"), "entries");
    if (!json_is_array(entries)) {
        fprintf(stderr, "stampede import-har: %s: not a HAR file (no log.entries array)\n", file);
        json_decref(doc);
        return 2;
    }
    har_ctx c = { 0 };
    c.nents = json_array_size(entries);
    c.ents = har_xrealloc(NULL, c.nents * sizeof *c.ents);
    memset(c.ents, 0, c.nents * sizeof *c.ents);
    for (size_t i = 0; i < c.nents; i++) {
        c.ents[i].seq = i;
        const char *why = har_read_entry(json_array_get(entries, i), &c.ents[i]);
        if (why) {
            fprintf(stderr, "stampede import-har: %s: log.entries[%zu]: %s\n", file, i, why);
            har_free(&c);
            json_decref(doc);
            return 2;
        }
    }
    qsort(c.ents, c.nents, sizeof *c.ents, har_cmp_start);
    const char *origin = NULL;
    c.kept = har_xrealloc(NULL, c.nents * sizeof *c.kept);
    for (size_t i = 0; i < c.nents; i++) {
        har_ent *e = &c.ents[i];
        if (!e->web) { c.n_scheme++; continue; }
        if (e->preflight) { c.n_preflight++; continue; }
        if (!origin) {
            if (host_filter ? !har_host_match(e, host_filter) : (!keep_static && har_is_static(e))) {
                if (host_filter) c.n_origin++; else c.n_static++;
                continue;
            }
            origin = e->origin;
        }
        if (strcmp(e->origin, origin) != 0) { c.n_origin++; continue; }
        if (!keep_static && har_is_static(e)) { c.n_static++; continue; }
        c.kept[c.nkept++] = e;
    }
    if (c.nkept == 0) {
        fprintf(stderr, "stampede import-har: %s: no request to import (%zu entries: %zu static, %zu "
                "other origins%s)\n", file, c.nents, c.n_static, c.n_origin,
                host_filter ? ", check --host-filter" : "");
        har_free(&c);
        json_decref(doc);
        return 2;
    }
    for (size_t k = 0; k < c.nkept; k++) har_correlate(&c, k);
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "stampede import-har: cannot write %s: %s\n", out, strerror(errno));
        har_free(&c);
        json_decref(doc);
        return 1;
    }
    har_write(f, &c, file, origin);
    int rc = 0;
    if (fflush(f) != 0 || ferror(f) || (out && fclose(f) != 0)) {
        fprintf(stderr, "stampede import-har: cannot write %s: %s\n", out ? out : "standard output",
                strerror(errno));
        rc = 1;
    }
    har_free(&c);
    json_decref(doc);
    return rc;
}
