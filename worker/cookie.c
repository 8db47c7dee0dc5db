/* A virtual user's cookie jar: RFC 6265 as libcurl 7.88 implements it (worker/cookie.h
 * states the rules and where they come from). Parsing reads the response's bytes in
 * place (slices, nothing copied) and only a cookie that is stored touches memory. */
#include "worker/cookie.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hdrblock.h"
#include "common/util.h"

#define COOKIE_SESSION INT64_MAX        /* expires_s of a cookie without an expiry */

/* A slice of the caller's bytes. */
typedef struct cslice { const char *p; size_t n; } cslice;

/* One Set-Cookie line once read: slices into the block, the host or the path. */
typedef struct cparsed {
    cslice name, value, domain, path;
    bool host_only, secure, http_only;
    bool remove;                        /* expired on arrival: delete, store nothing */
    int64_t expires_s;
} cparsed;

/* The request as both directions need it. */
typedef struct creq {
    const char *host;
    size_t host_len;
    cslice host_bare;                   /* host without the brackets of an IPv6 address */
    bool host_ip, secure_ctx;
    cslice path;                        /* without query or fragment */
} creq;

/* ---- small text helpers -------------------------------------------------------------- */

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

static cslice trim(const char *p, size_t n)
{
    while (n && is_blank(*p)) p++, n--;
    while (n && is_blank(p[n - 1])) n--;
    return (cslice){ p, n };
}

static bool slice_ieq(cslice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static bool slices_ieq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && strncasecmp(a, b, an) == 0;
}

/* IPv4 or IPv6 text (brackets already stripped). */
static bool is_ip(const char *p, size_t n)
{
    char tmp[64];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET, tmp, addr) == 1 || inet_pton(AF_INET6, tmp, addr) == 1;
}

/* Bytes libcurl refuses in a name or value: controls other than TAB, and DEL; a NUL
 * too (the block is not a C string). */
static bool bad_octets(cslice s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return true;
    }
    return false;
}

/* The host domain-matches d (RFC 6265 5.1.3, both without case): equal, or d is a tail
 * of host that starts after a dot. */
static bool tail_match(const char *d, size_t dn, const char *host, size_t hn)
{
    if (dn == 0 || hn < dn || strncasecmp(host + hn - dn, d, dn) != 0) return false;
    return hn == dn || host[hn - dn - 1] == '.';
}

/* RFC 6265 5.1.4: "/a" matches "/a", "/a/", "/a/b", not "/ab". cp is a stored path
 * (no trailing '/' unless it is "/"). */
static bool path_match(const char *cp, size_t cn, cslice req)
{
    if (cn == 1) return true;                           /* "/" */
    if (req.n == 0 || req.p[0] != '/') req = (cslice){ "/", 1 };
    if (req.n < cn || memcmp(cp, req.p, cn) != 0) return false;
    return req.n == cn || req.p[cn] == '/';
}

/* RFC 6265 5.1.4's default-path: the request path up to its last '/', "/" when that
 * is its first byte or the path does not start with '/'. */
static cslice default_path(cslice req)
{
    if (req.n == 0 || req.p[0] != '/') return (cslice){ "/", 1 };
    size_t last = req.n - 1;
    while (last > 0 && req.p[last] != '/') last--;
    return last == 0 ? (cslice){ "/", 1 } : (cslice){ req.p, last };
}

/* ---- dates: RFC 6265 5.1.1 ----------------------------------------------------------- */

static bool date_delim(unsigned char ch)
{
    return ch == 0x09 || (ch >= 0x20 && ch <= 0x2f) || (ch >= 0x3b && ch <= 0x40) ||
           (ch >= 0x5b && ch <= 0x60) || (ch >= 0x7b && ch <= 0x7e);
}

/* min..max leading digits (what follows them, if anything, is no digit by construction);
 * their value in *v; the count, or 0. */
static size_t lead_digits(const char *t, size_t n, size_t min, size_t max, int *v)
{
    size_t k = 0;
    int x = 0;
    while (k < n && t[k] >= '0' && t[k] <= '9') {
        if (k == max) return 0;
        x = x * 10 + (t[k] - '0');
        k++;
    }
    if (k < min) return 0;
    *v = x;
    return k;
}

static bool date_time(const char *t, size_t n, int *h, int *m, int *s)
{
    size_t a = lead_digits(t, n, 1, 2, h);
    if (!a || a >= n || t[a] != ':') return false;
    t += a + 1, n -= a + 1;
    size_t b = lead_digits(t, n, 1, 2, m);
    if (!b || b >= n || t[b] != ':') return false;
    t += b + 1, n -= b + 1;
    return lead_digits(t, n, 1, 2, s) != 0;
}

static int date_month(const char *t, size_t n)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 3) return 0;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(t, names + 3 * i, 3) == 0) return i + 1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* An HTTP date as cookies carry it: the three forms of RFC 6265 5.1.1 and what its
 * tokenizing algorithm accepts around them. false: not a date. */
static bool date_parse(const char *s, size_t n, int64_t *out)
{
    bool ft = false, fd = false, fm = false, fy = false;
    int hh = 0, mi = 0, ss = 0, dom = 0, mon = 0, year = 0, v;
    size_t i = 0;
    while (i < n) {
        while (i < n && date_delim((unsigned char)s[i])) i++;
        size_t b = i;
        while (i < n && !date_delim((unsigned char)s[i])) i++;
        if (b == i) break;
        const char *t = s + b;
        size_t tn = i - b;
        int m;
        if (!ft && date_time(t, tn, &hh, &mi, &ss)) ft = true;
        else if (!fd && lead_digits(t, tn, 1, 2, &v)) fd = true, dom = v;
        else if (!fm && (m = date_month(t, tn)) != 0) fm = true, mon = m;
        else if (!fy && lead_digits(t, tn, 2, 4, &v)) fy = true, year = v;
    }
    if (!(ft && fd && fm && fy)) return false;
    if (year >= 70 && year <= 99) year += 1900;
    else if (year >= 0 && year <= 69) year += 2000;
    if (dom < 1 || dom > 31 || year < 1601 || hh > 23 || mi > 59 || ss > 59) return false;
    *out = days_from_civil(year, mon, dom) * 86400 + hh * 3600 + mi * 60 + ss;
    return true;
}

/* Max-Age: optional '"', then digits (a '-' before them: expired). false: no number,
 * the attribute is ignored. */
static bool max_age_parse(cslice v, int64_t *secs)
{
    size_t i = 0;
    if (i < v.n && v.p[i] == '"') i++;
    bool neg = i < v.n && v.p[i] == '-';
    if (neg) i++;
    if (i >= v.n || v.p[i] < '0' || v.p[i] > '9') return false;
    int64_t x = 0;
    for (; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++)
        x = x > (INT64_MAX - 9) / 10 ? INT64_MAX : x * 10 + (v.p[i] - '0');
    *secs = neg ? -1 : x;
    return true;
}

/* ---- one Set-Cookie line ------------------------------------------------------------- */

/* The Domain attribute's value d (not empty) against the request: false refuses the
 * cookie; else the cookie's domain and host-only flag are set. */
static bool domain_take(cparsed *pc, cslice d, const creq *r)
{
    if (d.p[0] == '.') d.p++, d.n--;
    if (r->host_ip) {
        /* an address sets cookies for itself only: host-only, whatever was written */
        if (!slices_ieq(d.p, d.n, r->host_bare.p, r->host_bare.n)) return false;
        pc->domain = (cslice){ r->host, r->host_len };
        pc->host_only = true;
        return true;
    }
    /* no public suffix list: a dot is required (not the last byte), or "localhost" */
    const char *dot = memchr(d.p, '.', d.n);
    bool bad = !slice_ieq(d, "localhost") && (!dot || dot == d.p + d.n - 1);
    if (bad || is_ip(d.p, d.n) || !tail_match(d.p, d.n, r->host, r->host_len)) return false;
    pc->domain = d;
    pc->host_only = false;
    return true;
}

/* Reads the value of one Set-Cookie line; false: the line is refused. */
static bool cookie_parse(cparsed *pc, const char *p, size_t n, const creq *r, int64_t now_s)
{
    const char *end = p + n, *seg_end = memchr(p, ';', n);
    if (!seg_end) seg_end = end;
    const char *eq = memchr(p, '=', (size_t)(seg_end - p));
    if (!eq) return false;
    memset(pc, 0, sizeof *pc);
    pc->name = trim(p, (size_t)(eq - p));
    pc->value = trim(eq + 1, (size_t)(seg_end - eq - 1));
    if (pc->name.n == 0 || memchr(pc->name.p, '\t', pc->name.n) ||
        memchr(pc->value.p, '\t', pc->value.n) || bad_octets(pc->name) || bad_octets(pc->value))
        return false;
    if (pc->name.n + pc->value.n > COOKIE_NAME_VALUE_MAX) return false;

    bool has_max_age = false, has_expires = false, has_path = false;
    int64_t max_age = 0, expires = 0;
    cslice path = { NULL, 0 };
    pc->domain = (cslice){ r->host, r->host_len };
    pc->host_only = true;
    for (p = seg_end; p < end;) {
        p++;                                            /* the ';' */
        seg_end = memchr(p, ';', (size_t)(end - p));
        if (!seg_end) seg_end = end;
        eq = memchr(p, '=', (size_t)(seg_end - p));
        cslice an = trim(p, (size_t)((eq ? eq : seg_end) - p));
        cslice av = eq ? trim(eq + 1, (size_t)(seg_end - eq - 1)) : (cslice){ seg_end, 0 };
        p = seg_end;
        if (slice_ieq(an, "secure")) {
            if (!r->secure_ctx) return false;           /* libcurl: refused outside one */
            pc->secure = true;
        } else if (slice_ieq(an, "httponly")) {
            pc->http_only = true;
        } else if (slice_ieq(an, "path")) {
            /* the last Path wins; one that does not start with '/' means the default */
            if (av.n && av.p[0] == '"') av.p++, av.n--;
            if (av.n && av.p[av.n - 1] == '"') av.n--;
            has_path = av.n > 0 && av.p[0] == '/';
            path = av;
        } else if (slice_ieq(an, "domain")) {
            if (av.n == 0) continue;                    /* empty: no attribute */
            if (!domain_take(pc, av, r)) return false;
        } else if (slice_ieq(an, "max-age")) {
            if (max_age_parse(av, &max_age)) has_max_age = true;
        } else if (slice_ieq(an, "expires")) {
            if (date_parse(av.p, av.n, &expires)) has_expires = true;
        }
    }

    if (has_path) {
        if (path.n > 1 && path.p[path.n - 1] == '/') path.n--;     /* "/a/" as "/a" */
        pc->path = path;
    } else {
        pc->path = default_path(r->path);
    }

    if (has_max_age) {
        if (max_age <= 0) pc->remove = true;
        else if (now_s > 0 && max_age > INT64_MAX - 1 - now_s) pc->expires_s = COOKIE_SESSION - 1;
        else pc->expires_s = now_s + max_age;
    } else if (has_expires) {
        if (expires <= now_s) pc->remove = true;
        else pc->expires_s = expires;
    } else {
        pc->expires_s = COOKIE_SESSION;
    }

    /* name prefixes, as libcurl: __Secure- needs Secure; __Host- needs Secure, Path=/
     * and no Domain */
    if (pc->name.n >= 9 && strncasecmp(pc->name.p, "__Secure-", 9) == 0 && !pc->secure)
        return false;
    if (pc->name.n >= 7 && strncasecmp(pc->name.p, "__Host-", 7) == 0 &&
        !(pc->secure && pc->host_only && pc->path.n == 1))
        return false;
    return true;
}

/* ---- the jar ------------------------------------------------------------------------- */

void cookie_jar_init(cookie_jar *j)
{
    memset(j, 0, sizeof *j);
}

void cookie_jar_clear(cookie_jar *j)
{
    j->n = 0;                           /* the slots keep their memory */
}

void cookie_jar_fini(cookie_jar *j)
{
    if (!j) return;
    for (uint32_t i = 0; i < j->cap; i++)
        free(j->c[i].mem);
    free(j->c);
    memset(j, 0, sizeof *j);
}

static bool expired(const struct cookie *c, int64_t now_s)
{
    return c->expires_s <= now_s;
}

/* Frees slot i: the cookies after it move up one (creation order is kept), its memory
 * goes to the first free slot. */
static void slot_remove(cookie_jar *j, uint32_t i)
{
    struct cookie freed = j->c[i];
    memmove(&j->c[i], &j->c[i + 1], (j->n - i - 1) * sizeof j->c[0]);
    j->n--;
    j->c[j->n] = freed;
}

/* The slot of the cookie with pc's name, domain, host-only flag and path (libcurl
 * compares them without case), or -1. */
static int slot_find(const cookie_jar *j, const cparsed *pc)
{
    for (uint32_t i = 0; i < j->n; i++) {
        const struct cookie *c = &j->c[i];
        if (c->host_only == pc->host_only &&
            slices_ieq(cookie_name(c), c->name_len, pc->name.p, pc->name.n) &&
            slices_ieq(cookie_domain(c), c->domain_len, pc->domain.p, pc->domain.n) &&
            slices_ieq(cookie_path(c), c->path_len, pc->path.p, pc->path.n))
            return (int)i;
    }
    return -1;
}

/* libcurl: outside a secure context, a cookie may not overlay a Secure one of the same
 * name and domain whose path's first segment starts the new path. */
static bool overlays_secure(const cookie_jar *j, const cparsed *pc)
{
    for (uint32_t i = 0; i < j->n; i++) {
        const struct cookie *c = &j->c[i];
        if (!c->secure ||
            !slices_ieq(cookie_name(c), c->name_len, pc->name.p, pc->name.n) ||
            !slices_ieq(cookie_domain(c), c->domain_len, pc->domain.p, pc->domain.n))
            continue;
        const char *cp = cookie_path(c), *sep = memchr(cp + 1, '/', c->path_len ? c->path_len - 1 : 0);
        size_t seg = sep ? (size_t)(sep - cp) : c->path_len;
        if (pc->path.n >= seg && strncasecmp(cp, pc->path.p, seg) == 0) return true;
    }
    return false;
}

/* Writes pc into slot c, reusing its memory when it fits; -1 when it cannot grow (the
 * slot is unchanged). */
static int slot_fill(struct cookie *c, const cparsed *pc)
{
    size_t need = pc->name.n + pc->value.n + pc->domain.n + pc->path.n + 4;
    if (need > c->mem_cap) {
        size_t cap = (need + 63) & ~(size_t)63;
        char *m = realloc(c->mem, cap);
        if (!m) return -1;
        c->mem = m;
        c->mem_cap = (uint32_t)cap;
    }
    char *w = c->mem;
    memcpy(w, pc->name.p, pc->name.n), w += pc->name.n, *w++ = '\0';
    memcpy(w, pc->value.p, pc->value.n), w += pc->value.n, *w++ = '\0';
    for (size_t i = 0; i < pc->domain.n; i++) {
        char ch = pc->domain.p[i];
        *w++ = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
    }
    *w++ = '\0';
    memcpy(w, pc->path.p, pc->path.n), w += pc->path.n, *w++ = '\0';
    c->name_len = (uint32_t)pc->name.n;
    c->value_len = (uint32_t)pc->value.n;
    c->domain_len = (uint32_t)pc->domain.n;
    c->path_len = (uint32_t)pc->path.n;
    c->expires_s = pc->expires_s;
    c->host_only = pc->host_only;
    c->secure = pc->secure;
    c->http_only = pc->http_only;
    return 0;
}

/* Stores or removes what one line said: 1 when the jar changed, else 0. */
static int cookie_apply(cookie_jar *j, const cparsed *pc, bool secure_ctx, int64_t now_s)
{
    if (!pc->secure && !secure_ctx && overlays_secure(j, pc)) return 0;
    int at = slot_find(j, pc);
    if (pc->remove) {
        if (at < 0) return 0;
        slot_remove(j, (uint32_t)at);
        return 1;
    }
    if (at >= 0) return slot_fill(&j->c[at], pc) == 0 ? 1 : 0;

    if (j->n == COOKIE_JAR_MAX) {
        for (uint32_t i = j->n; i-- > 0;)
            if (expired(&j->c[i], now_s)) slot_remove(j, i);
        if (j->n == COOKIE_JAR_MAX) slot_remove(j, 0);          /* the oldest goes */
    }
    if (j->n == j->cap) {
        uint32_t cap = j->cap ? j->cap * 2 : 4;
        if (cap > COOKIE_JAR_MAX) cap = COOKIE_JAR_MAX;
        struct cookie *c = realloc(j->c, cap * sizeof *c);
        if (!c) return 0;
        memset(c + j->cap, 0, (cap - j->cap) * sizeof *c);
        j->c = c;
        j->cap = cap;
    }
    if (slot_fill(&j->c[j->n], pc) != 0) return 0;
    j->n++;
    return 1;
}

static void req_init(creq *r, const char *host, const char *path, bool https)
{
    r->host = host ? host : "";
    r->host_len = strlen(r->host);
    r->host_bare = (cslice){ r->host, r->host_len };
    if (r->host_len >= 2 && r->host[0] == '[' && r->host[r->host_len - 1] == ']')
        r->host_bare = (cslice){ r->host + 1, r->host_len - 2 };
    r->host_ip = is_ip(r->host_bare.p, r->host_bare.n);
    r->secure_ctx = https || slice_ieq(r->host_bare, "localhost") ||
                    slice_ieq(r->host_bare, "127.0.0.1") || slice_ieq(r->host_bare, "::1");
    const char *p = path ? path : "";
    r->path = (cslice){ p, strcspn(p, "?#") };
}

int cookie_jar_take(cookie_jar *j, const char *block, size_t len, const char *host,
                    const char *path, bool https, int64_t now_s)
{
    if (!block) return 0;
    creq r;
    req_init(&r, host, path, https);
    int changed = 0;
    size_t pos = 0;
    hdr_line l;
    while (hdr_next(block, len, &pos, &l)) {
        /* "Set-Cookie:" opens the line, no blank before the colon; the line ends one CR
         * before its LF (a second CR stays in the value) */
        if (!hdr_is(&l, "set-cookie") || l.name[l.name_len] != ':') continue;
        size_t n = l.line_len;
        if (n && l.line[n - 1] == '\r') n--;
        cslice v = trim(l.line + l.name_len + 1, n - l.name_len - 1);
        cparsed pc;
        if (v.n <= COOKIE_LINE_MAX && !memchr(v.p, '\0', v.n) &&
            cookie_parse(&pc, v.p, v.n, &r, now_s))
            changed += cookie_apply(j, &pc, r.secure_ctx, now_s);
    }
    return changed;
}

long cookie_jar_header(cookie_jar *j, const char *host, const char *path, bool https,
                       int64_t now_s, char **buf, size_t *cap, size_t at)
{
    if (j->n == 0) return 0;
    creq r;
    req_init(&r, host, path, https);
    uint8_t pick[COOKIE_JAR_MAX];
    uint32_t np = 0;
    for (uint32_t i = 0; i < j->n;) {
        const struct cookie *c = &j->c[i];
        if (expired(c, now_s)) {
            slot_remove(j, i);
            continue;
        }
        bool dom = (c->host_only || r.host_ip)
                       ? slices_ieq(cookie_domain(c), c->domain_len, r.host, r.host_len)
                       : tail_match(cookie_domain(c), c->domain_len, r.host, r.host_len);
        if (dom && (!c->secure || r.secure_ctx) && path_match(cookie_path(c), c->path_len, r.path)) {
            /* RFC 6265 5.4: longer paths first, then earlier creation (slot order); an
             * insertion that keeps equal paths in slot order */
            uint32_t k = np++;
            while (k > 0 && j->c[pick[k - 1]].path_len < c->path_len) {
                pick[k] = pick[k - 1];
                k--;
            }
            pick[k] = (uint8_t)i;
        }
        i++;
    }
    size_t total = 0;
    uint32_t nsend = 0;
    for (; nsend < np; nsend++) {
        const struct cookie *c = &j->c[pick[nsend]];
        size_t add = (nsend ? 2 : 0) + c->name_len + 1 + c->value_len;
        if (total + add >= COOKIE_HEADER_MAX) break;
        total += add;
    }
    if (total == 0) return 0;
    if (util_reserve(buf, cap, at + total + 1) != 0) return -1;
    char *w = *buf + at;
    for (uint32_t k = 0; k < nsend; k++) {
        const struct cookie *c = &j->c[pick[k]];
        if (k) *w++ = ';', *w++ = ' ';
        memcpy(w, cookie_name(c), c->name_len), w += c->name_len;
        *w++ = '=';
        memcpy(w, cookie_value(c), c->value_len), w += c->value_len;
    }
    *w = '\0';
    return (long)total;
}
