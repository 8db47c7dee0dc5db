/* The worker's allowlist of target networks (worker/allow.h).
 *
 * Decisions the header leaves open, written down here:
 * - allow_parse sets the list to exactly what the spec says (loopback is not added
 *   behind the operator's back); refusals print the list, so what is allowed is always
 *   visible. Entries are trimmed of blanks; an empty entry, a bad address or prefix,
 *   or more than ALLOW_MAX entries is an error. Host bits below the prefix are cleared
 *   ("10.1.2.3/8" means 10.0.0.0/8). "[::1]" and "[::1]/128" are accepted as well.
 * - allow_addr matches an IPv4-mapped IPv6 address (::ffff:a.b.c.d) against the IPv4
 *   networks too: a connection to it reaches a.b.c.d.
 * - allow_check_url reads scheme://[user@]host[:port][/path?query#fragment] with
 *   common/url.h's url_authority, the reading the WebSocket flow dials by: the
 *   authority ends at the first '/', '?' or '#', the host follows the last '@' in it
 *   (as libcurl reads it, so "http://127.0.0.1@10.0.0.1/" is checked as 10.0.0.1).
 *   A "{{" anywhere in the authority makes the host a template: text filled in
 *   there (even in the port or the user part) can change which host is reached. A
 *   template host is accepted only when the list holds both 0.0.0.0/0 and ::/0 (it can
 *   become any IPv4 or IPv6 address or name). With such an open list a literal name is
 *   accepted without resolving it; otherwise a name that does not resolve is refused.
 *   Names are checked when the plan arrives: a DNS answer that changes during the run
 *   is not seen here.
 * - allow_check_scenario checks the target, then every http step's URL, recursing
 *   into loop and group steps. The engine sends a rendered URL starting with http://
 *   or https:// as is, and joins anything else to the target (common/url.h, the one
 *   rule both sides use); so a URL template is
 *   classified by probing it (allow_probe): it is rendered several times with every
 *   capture variable and data cell replaced by a marker byte, and with different
 *   user ids, counters and random seeds. Built-ins render only digits, hex and '-',
 *   which can never spell "http", so
 *     - a render starting with a marker (or with a prefix of "http://" / "https://"
 *       followed by a marker) may become absolute at run time: its host is a template;
 *     - a render starting with "http://" or "https://" is absolute: its literal prefix
 *       (common to every render, up to the first marker) must contain the whole
 *       authority, whose host is then checked; otherwise the host is a template;
 *     - anything else is a path under the target, which is checked once.
 *   Schemes compare case-blind, here and in the engine alike (common/url.h).
 * - A ws connect URL written without holes is joined to the target as the flow will
 *   join it (ws:// and wss:// as written, http(s):// turned into ws(s)://, a path under
 *   the target) and that URL's host is checked. */
#include "worker/allow.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/data.h"
#include "common/tmpl.h"
#include "common/url.h"

#define ALLOW_MARK       '\x01'     /* stands for capture and data values in probes */
#define ALLOW_PROBES     32         /* renders per URL template */

/* ---- the list ------------------------------------------------------------------------ */

static void allow_mask(allow_net *n)
{
    int bytes = n->family == AF_INET ? 4 : 16;
    for (int i = 0; i < bytes; i++) {
        int keep = n->prefix - 8 * i;
        if (keep >= 8)
            continue;
        n->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

static void allow_add(allow_list *a, int family, const void *addr, int prefix)
{
    allow_net *n = &a->nets[a->n++];
    memset(n, 0, sizeof *n);
    n->family = family;
    memcpy(n->addr, addr, family == AF_INET ? 4 : 16);
    n->prefix = prefix;
    allow_mask(n);
}

void allow_default(allow_list *a)
{
    static const uint8_t v4[4] = { 127, 0, 0, 0 };
    static const uint8_t v6[16] = { [15] = 1 };
    a->n = 0;
    allow_add(a, AF_INET, v4, 8);
    allow_add(a, AF_INET6, v6, 128);
}

/* One entry "addr[/prefix]" (len bytes, already trimmed). 0, or -1 with err. */
static int allow_parse_one(allow_list *a, const char *s, size_t len, char *err, size_t errcap)
{
    char buf[80];
    if (len >= sizeof buf) {
        snprintf(err, errcap, "--allow entry '%.*s...' is too long", 40, s);
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    const char *pfx = NULL;
    if (slash) {
        *slash = '\0';
        pfx = slash + 1;
    }
    char *addr = buf;
    size_t alen = strlen(addr);
    if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
        addr[alen - 1] = '\0';
        addr++;
    }
    uint8_t bin[16];
    int family, max;
    if (inet_pton(AF_INET, addr, bin) == 1) {
        family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, bin) == 1) {
        family = AF_INET6;
        max = 128;
    } else {
        snprintf(err, errcap, "--allow entry '%.*s': '%s' is not an IPv4 or IPv6 address "
                 "(names are not accepted; write networks like 10.0.0.0/8 or fd00::/8)",
                 (int)len, s, addr);
        return -1;
    }
    int prefix = max;
    if (pfx) {
        char *end;
        long v = strtol(pfx, &end, 10);
        if (*pfx == '\0' || !isdigit((unsigned char)*pfx) || *end != '\0' || v < 0 || v > max) {
            snprintf(err, errcap, "--allow entry '%.*s': prefix must be a number from 0 to %d",
                     (int)len, s, max);
            return -1;
        }
        prefix = (int)v;
    }
    if (a->n >= ALLOW_MAX) {
        snprintf(err, errcap, "--allow lists more than %d networks", ALLOW_MAX);
        return -1;
    }
    allow_add(a, family, bin, prefix);
    return 0;
}

int allow_parse(allow_list *a, const char *spec, char *err, size_t errcap)
{
    allow_list tmp = { .n = 0 };
    const char *p = spec ? spec : "";
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t n = len;
        while (n > 0 && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == 0) {
            snprintf(err, errcap, "--allow '%s' has an empty entry; expected networks like "
                     "127.0.0.0/8,10.0.0.0/8,::1", spec ? spec : "");
            return -1;
        }
        if (allow_parse_one(&tmp, s, n, err, errcap) != 0)
            return -1;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *a = tmp;
    return 0;
}

static bool allow_match(const allow_net *n, const uint8_t *addr)
{
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & m) == n->addr[full];
}

static bool allow_in(const allow_list *a, int family, const uint8_t *addr)
{
    for (int i = 0; i < a->n; i++)
        if (a->nets[i].family == family && allow_match(&a->nets[i], addr))
            return true;
    return false;
}

bool allow_addr(const allow_list *a, const struct sockaddr *sa)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return allow_in(a, AF_INET, (const uint8_t *)&in->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (allow_in(a, AF_INET6, in6->s6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(in6) && allow_in(a, AF_INET, in6->s6_addr + 12);
    }
    return false;
}

void allow_format(const allow_list *a, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    buf[0] = '\0';
    size_t off = 0;
    for (int i = 0; i < a->n; i++) {
        char ip[INET6_ADDRSTRLEN];
        const allow_net *n = &a->nets[i];
        inet_ntop(n->family, n->addr, ip, sizeof ip);
        int w = snprintf(buf + off, cap - off, "%s%s/%d", i ? "," : "", ip, n->prefix);
        if (w < 0 || (size_t)w >= cap - off)
            return;                     /* cut, still NUL-terminated */
        off += (size_t)w;
    }
}

/* Both 0.0.0.0/0 and ::/0: anything may be reached, so templates are fine. */
static bool allow_open(const allow_list *a)
{
    bool v4 = false, v6 = false;
    for (int i = 0; i < a->n; i++) {
        if (a->nets[i].prefix == 0 && a->nets[i].family == AF_INET)
            v4 = true;
        if (a->nets[i].prefix == 0 && a->nets[i].family == AF_INET6)
            v6 = true;
    }
    return v4 && v6;
}

/* ---- URLs ---------------------------------------------------------------------------- */

static int allow_template_refusal(const allow_list *a, const char *what, char *why, size_t cap)
{
    if (allow_open(a))
        return 0;
    char list[1024];
    allow_format(a, list, sizeof list);
    snprintf(why, cap, "%s: its host is a template, which cannot be checked before the run; "
             "only --allow 0.0.0.0/0,::/0 permits that (allowed now: %s)", what, list);
    return -1;
}

/* Checks url; `what` names it in messages (the URL itself, or a step's place). */
static int allow_check_url_as(const allow_list *a, const char *url, const char *what,
                              char *why, size_t cap)
{
    char list[1024];
    url_parts u;
    switch (url_authority(url, &u)) {
    case URL_OK:
        break;
    case URL_ERR_SCHEME:
        snprintf(why, cap, "%s is not an absolute URL (scheme://host[:port]/...)", what);
        return -1;
    case URL_ERR_BRACKET:
        snprintf(why, cap, "%s: unclosed '[' in the host", what);
        return -1;
    case URL_ERR_AFTER_BRACKET:
        snprintf(why, cap, "%s: unexpected text after ']'", what);
        return -1;
    case URL_ERR_NO_HOST:
        snprintf(why, cap, "%s has no host", what);
        return -1;
    case URL_ERR_PORT:
        if (u.host_len >= 256) {         /* the order the checks had before url.c */
            snprintf(why, cap, "%s: host name too long", what);
            return -1;
        }
        snprintf(why, cap, "%s: port '%.*s' is not a number from 0 to 65535", what,
                 (int)(u.port_len > 16 ? 16 : u.port_len), u.port);
        return -1;
    }
    if (u.templated)
        return allow_template_refusal(a, what, why, cap);
    char host[256];
    const char *h = u.host;
    size_t hlen = u.host_len;
    if (hlen >= sizeof host) {
        snprintf(why, cap, "%s: host name too long", what);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (allow_open(a))
        return 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int rv = getaddrinfo(host, NULL, &hints, &res);
    if (rv != 0 || res == NULL) {
        snprintf(why, cap, "%s: cannot resolve host %s (%s), so it cannot be checked "
                 "against --allow", what, host, rv ? gai_strerror(rv) : "no address");
        return -1;
    }
    int result = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (allow_addr(a, ai->ai_addr))
            continue;
        char ip[INET6_ADDRSTRLEN] = "?";
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof ip);
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip, sizeof ip);
        allow_format(a, list, sizeof list);
        bool literal = strcmp(ip, host) == 0;
        if (url == what)
            snprintf(why, cap, "target %s%s%s%s is outside --allow %s", host,
                     literal ? "" : " (", literal ? "" : ip, literal ? "" : ")", list);
        else
            snprintf(why, cap, "%s: target %s%s%s%s is outside --allow %s", what, host,
                     literal ? "" : " (", literal ? "" : ip, literal ? "" : ")", list);
        result = -1;
        break;
    }
    freeaddrinfo(res);
    return result;
}

int allow_check_url(const allow_list *a, const char *url, char *why, size_t cap)
{
    if (url == NULL) {
        snprintf(why, cap, "no URL");
        return -1;
    }
    return allow_check_url_as(a, url, url, why, cap);
}

/* ---- scenarios ----------------------------------------------------------------------- */

/* What probing a URL template needs: marker values for every capture and data cell. */
typedef struct allow_probe {
    tmpl_val    *vars;
    data_set     data;
    uint32_t    *rows;
    char        *bufs[ALLOW_PROBES];
    size_t       caps[ALLOW_PROBES];
} allow_probe;

static char allow_mark_text[] = { ALLOW_MARK, '\0' };

static void allow_probe_fini(allow_probe *pr)
{
    free(pr->vars);
    for (uint32_t i = 0; pr->data.f && i < pr->data.n; i++)
        free(pr->data.f[i].cells);
    free(pr->data.f);
    free(pr->rows);
    for (int i = 0; i < ALLOW_PROBES; i++)
        free(pr->bufs[i]);
}

static int allow_probe_init(allow_probe *pr, const scenario *sc)
{
    memset(pr, 0, sizeof *pr);
    uint32_t nv = sc->syms.nvars;
    pr->vars = calloc(nv ? nv : 1, sizeof *pr->vars);
    pr->data.n = sc->data.n;
    pr->data.f = calloc(sc->data.n ? sc->data.n : 1, sizeof *pr->data.f);
    pr->rows = calloc(sc->data.n ? sc->data.n : 1, sizeof *pr->rows);
    if (!pr->vars || !pr->data.f || !pr->rows)
        return -1;
    for (uint32_t i = 0; i < nv; i++)
        pr->vars[i] = (tmpl_val){ .p = allow_mark_text, .len = 1, .cap = 2, .set = true };
    for (uint32_t i = 0; i < sc->data.n; i++) {
        data_feeder *f = &pr->data.f[i];
        f->ncols = sc->data.f[i].ncols;
        f->nrows = 1;
        f->cells = calloc(f->ncols ? f->ncols : 1, sizeof *f->cells);
        if (!f->cells)
            return -1;
        for (uint32_t c = 0; c < f->ncols; c++)
            f->cells[c] = allow_mark_text;
    }
    return 0;
}

/* Renders t once per probe round into pr->bufs; -1 on allocation failure. */
static int allow_probe_render(allow_probe *pr, const tmpl *t)
{
    for (int r = 0; r < ALLOW_PROBES; r++) {
        for (int attempt = 0; attempt < 2; attempt++) {
            /* The same state for both attempts, so a re-render gives the same text. */
            uint64_t rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(r + 1) | 1;
            uint64_t counter = (uint64_t)r;
            tmpl_ctx c = {
                .user_id = (uint64_t)r + 1, .rng = &rng, .counter = &counter,
                .thread_index = 0, .threads_total = 1,
                .vars = pr->vars, .rows = pr->rows, .data = &pr->data,
            };
            size_t n = tmpl_render(t, &c, pr->bufs[r], pr->caps[r]);
            if (n < pr->caps[r])
                break;
            char *nb = realloc(pr->bufs[r], n + 1);
            if (nb == NULL)
                return -1;
            pr->bufs[r] = nb;
            pr->caps[r] = n + 1;
        }
    }
    return 0;
}

/* A URL that holds an env() value must not be quoted in a refusal (the reason travels to
 * the master's log, the CLI and the results): the refusal names the step, not the text. */
static int allow_hide_env(const tmpl *t, const char *what, int rv, char *why, size_t cap)
{
    if (rv != 0 && tmpl_uses_env(t))
        snprintf(why, cap, "%s (it holds an env() value, not shown): its host is not in the "
                 "allowed networks (--allow)", what);
    return rv;
}

static int allow_check_step_url_text(const allow_list *a, const scenario *sc, const sc_step *st,
                                     allow_probe *pr, char *why, size_t cap);

/* Checks one http step's URL (see the note at the top of this file). */
static int allow_check_step_url(const allow_list *a, const scenario *sc, const sc_step *st,
                                allow_probe *pr, char *why, size_t cap)
{
    char what[384];
    snprintf(what, sizeof what, "url of the http step at %s:%d:%d",
             sc->file ? sc->file : "scenario", st->line, st->col);
    return allow_hide_env(st->u.http.url, what, allow_check_step_url_text(a, sc, st, pr, why, cap),
                          why, cap);
}

static int allow_check_step_url_text(const allow_list *a, const scenario *sc, const sc_step *st,
                                     allow_probe *pr, char *why, size_t cap)
{
    char what[384];
    snprintf(what, sizeof what, "url of the http step at %s:%d:%d",
             sc->file ? sc->file : "scenario", st->line, st->col);
    const tmpl *t = st->u.http.url;
    const char *text = tmpl_static(t, NULL);
    if (text != NULL)
        return url_is_absolute(URL_HTTP, text) ? allow_check_url_as(a, text, what, why, cap) : 0;

    if (allow_probe_render(pr, t) != 0) {
        snprintf(why, cap, "%s: out of memory while checking it", what);
        return -1;
    }
    bool absolute = false, maybe = false;
    for (int r = 0; r < ALLOW_PROBES; r++) {
        const char *s = pr->bufs[r];
        const char *mark = strchr(s, ALLOW_MARK);
        size_t pre = mark ? (size_t)(mark - s) : strlen(s);
        if (pre >= 7 && url_is_absolute(URL_HTTP, s))
            absolute = true;
        else if (mark != NULL && url_http_prefix(s, pre))
            maybe = true;
    }
    if (maybe) {
        snprintf(what + strlen(what), sizeof what - strlen(what),
                 " (it starts with a template, so it may be an absolute URL)");
        return allow_template_refusal(a, what, why, cap);
    }
    if (!absolute)
        return 0;                       /* a path under the target, checked already */

    /* The literal prefix: common to every render, up to the first marker. */
    size_t lcp = strlen(pr->bufs[0]);
    for (int r = 1; r < ALLOW_PROBES; r++) {
        size_t i = 0;
        while (i < lcp && pr->bufs[r][i] == pr->bufs[0][i])
            i++;
        lcp = i;
    }
    const char *mark = memchr(pr->bufs[0], ALLOW_MARK, lcp);
    if (mark != NULL)
        lcp = (size_t)(mark - pr->bufs[0]);
    bool whole = lcp == strlen(pr->bufs[0]);
    for (int r = 1; whole && r < ALLOW_PROBES; r++)
        whole = pr->bufs[r][lcp] == '\0';
    char *probe = malloc(lcp + 3);
    if (probe == NULL) {
        snprintf(why, cap, "%s: out of memory while checking it", what);
        return -1;
    }
    memcpy(probe, pr->bufs[0], lcp);
    /* A hole after the literal prefix: "{{" marks it, so a hole inside the authority
     * makes the host a template and one in the path is harmless. */
    memcpy(probe + lcp, whole ? "" : "{{", whole ? 1 : 3);
    int rv = allow_check_url_as(a, probe, what, why, cap);
    free(probe);
    return rv;
}

/* A ws connect step whose URL is written without holes: the URL the flow dials (joined
 * to the target by common/url.h) is checked. Templated ws URLs are left to the run:
 * every WebSocket connect checks its address against the list (worker/wsflow.c). */
static int allow_check_ws_url(const allow_list *a, const scenario *sc, const sc_step *st,
                              char *why, size_t cap)
{
    if (st->u.ws.kind != SC_WS_CONNECT)
        return 0;
    const char *text = tmpl_static(st->u.ws.url, NULL);
    if (text == NULL || (sc->target == NULL && !url_is_absolute(URL_WS, text)))
        return 0;                       /* no target: a path cannot be dialed at all */
    char what[384];
    snprintf(what, sizeof what, "url of the ws step at %s:%d:%d",
             sc->file ? sc->file : "scenario", st->line, st->col);
    char *u = url_join_dup(URL_WS, sc->target, text);
    if (u == NULL) {
        snprintf(why, cap, "%s: out of memory while checking it", what);
        return -1;
    }
    int rv = allow_check_url_as(a, u, what, why, cap);
    free(u);
    return allow_hide_env(st->u.ws.url, what, rv, why, cap);
}

static int allow_check_steps(const allow_list *a, const scenario *sc, const sc_step *steps,
                             int n, allow_probe *pr, char *why, size_t cap)
{
    for (int i = 0; i < n; i++) {
        const sc_step *st = &steps[i];
        int rv = 0;
        switch (st->kind) {
        case STEP_HTTP:
            rv = allow_check_step_url(a, sc, st, pr, why, cap);
            break;
        case STEP_LOOP:
            rv = allow_check_steps(a, sc, st->u.loop.steps, st->u.loop.nsteps, pr, why, cap);
            break;
        case STEP_GROUP:
            rv = allow_check_steps(a, sc, st->u.group.steps, st->u.group.nsteps, pr, why, cap);
            break;
        case STEP_WS:
            rv = allow_check_ws_url(a, sc, st, why, cap);
            break;
        case STEP_PICK:         /* every branch may run, weight 0 ones too (--set) */
            for (int b = 0; rv == 0 && b < st->u.pick.nbranches; b++)
                rv = allow_check_steps(a, sc, st->u.pick.branches[b].steps,
                                       st->u.pick.branches[b].nsteps, pr, why, cap);
            break;
        case STEP_IF:
            rv = allow_check_steps(a, sc, st->u.cond.then_steps, st->u.cond.nthen, pr, why, cap);
            if (rv == 0)
                rv = allow_check_steps(a, sc, st->u.cond.else_steps, st->u.cond.nelse, pr,
                                       why, cap);
            break;
        case STEP_THINK:
            break;
        }
        if (rv != 0)
            return rv;
    }
    return 0;
}

int allow_check_scenario(const allow_list *a, const scenario *sc, char *why, size_t cap)
{
    if (sc->target != NULL && allow_check_url(a, sc->target, why, cap) != 0)
        return -1;
    allow_probe pr;
    if (allow_probe_init(&pr, sc) != 0) {
        allow_probe_fini(&pr);
        snprintf(why, cap, "out of memory while checking the scenario against --allow");
        return -1;
    }
    int rv = 0;
    for (int i = 0; rv == 0 && i < sc->nprofiles; i++) {
        rv = allow_check_steps(a, sc, sc->profiles[i].setup, sc->profiles[i].nsetup, &pr,
                               why, cap);
        if (rv == 0)
            rv = allow_check_steps(a, sc, sc->profiles[i].flow, sc->profiles[i].nflow, &pr,
                                   why, cap);
    }
    allow_probe_fini(&pr);
    return rv;
}
