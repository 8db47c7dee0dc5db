/* Pure request checks of the master's HTTP API: see master/api_req.h. */
#include "master/api_req.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "common/scenario.h"
#include "master/labels.h"
#include "proto/plan.h"

/* ---- the header block ---------------------------------------------------------------- */

/* Trims spaces and tabs around [*s, *e). */
static void api_trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')) (*e)--;
}

int api_head_parse(const char *text, size_t len, char *store, size_t cap, api_head *h)
{
    memset(h, 0, sizeof *h);
    if (cap < len + 1) return -1;
    size_t used = 0;
    const char *p = text, *end = text + len;
    while (p < end && (*p == '\r' || *p == '\n')) p++;          /* stray CRLFs before a request */
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) return -1;
    const char *sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || sp == p || (size_t)(sp - p) >= sizeof h->method) return -1;
    for (const char *q = p; q < sp; q++)
        if (*q < 'A' || *q > 'Z') return -1;
    memcpy(h->method, p, (size_t)(sp - p));
    h->method[sp - p] = '\0';
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *le = eol;
        if (le > p && le[-1] == '\r') le--;
        if (le == p) break;                                     /* the empty line */
        /* A folded line (leading space) continues the previous header in evhttp: refused,
         * so that no header can mean one thing here and another there. The name is taken
         * as is ("Content-Length :" is not Content-Length, for evhttp either). */
        if (*p == ' ' || *p == '\t') return -1;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p) return -1;
        const char *ks = p, *ke = colon, *vs = colon + 1, *ve = le;
        api_trim(&vs, &ve);
        size_t klen = (size_t)(ke - ks), vlen = (size_t)(ve - vs);
#define API_KEY(lit) (klen == sizeof(lit) - 1 && !strncasecmp(ks, lit, klen))
        const char **slot = API_KEY("Host") ? &h->host : API_KEY("Authorization") ? &h->auth
                          : API_KEY("Origin") ? &h->origin : API_KEY("Sec-Fetch-Site") ? &h->fetch_site
                          : API_KEY("Content-Type") ? &h->ctype : NULL;
        if (API_KEY("Transfer-Encoding")) h->chunked = true;
        if (API_KEY("Content-Length")) {
            uint64_t v = 0;
            bool ok = vlen > 0 && vlen <= 15;
            for (size_t i = 0; ok && i < vlen; i++) {
                if (vs[i] < '0' || vs[i] > '9') ok = false;
                else v = v * 10 + (uint64_t)(vs[i] - '0');
            }
            if (!ok || (h->has_length && v != h->length)) h->bad_length = true;
            h->has_length = true;
            h->length = v;
        }
#undef API_KEY
        if (slot) {
            /* A repeated header keeps its first value: libevent's evhttp_find_header does. */
            if (used + vlen + 1 > cap) return -1;
            memcpy(store + used, vs, vlen);
            store[used + vlen] = '\0';
            if (!*slot) *slot = store + used;
            used += vlen + 1;
        }
        if (eol == end) break;
    }
    return 0;
}

/* ---- the guard ----------------------------------------------------------------------- */

static bool api_is_ip_literal(const char *name, size_t n)
{
    char buf[64];
    unsigned char addr[16];
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        if (n - 2 >= sizeof buf) return false;
        memcpy(buf, name + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    if (n >= sizeof buf) return false;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1;
}

static bool api_name_eq(const char *a, size_t n, const char *b)
{
    return b && b[0] && strlen(b) == n && !strncasecmp(a, b, n);
}

/* true when the Host header's name (port stripped) is one we serve (api_req.h). */
static bool api_host_ok(const api_guard_cfg *g, const char *host)
{
    size_t n = strlen(host);
    if (n && host[0] == '[') {
        const char *rb = strchr(host, ']');
        if (!rb) return false;
        n = (size_t)(rb - host) + 1;
    } else {
        const char *colon = strchr(host, ':');
        if (colon) n = (size_t)(colon - host);
    }
    if (n && host[n - 1] == '.') n--;                     /* "localhost." is "localhost" */
    if (n == 0) return false;
    if (api_is_ip_literal(host, n)) return true;
    static const char lh[] = "localhost", dlh[] = ".localhost";
    if (api_name_eq(host, n, lh)) return true;
    if (n > sizeof dlh - 1 && !strncasecmp(host + n - (sizeof dlh - 1), dlh, sizeof dlh - 1)) return true;
    if (api_name_eq(host, n, g->bound) || api_name_eq(host, n, g->self)) return true;
    for (int i = 0; i < g->nhosts; i++)
        if (api_name_eq(host, n, g->hosts[i])) return true;
    return false;
}

/* true when ctype's media type is application/json. */
static bool api_is_json_type(const char *ctype)
{
    static const char want[] = "application/json";
    const char *s = ctype;
    while (*s == ' ' || *s == '\t') s++;
    if (strncasecmp(s, want, sizeof want - 1)) return false;
    s += sizeof want - 1;
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\0' || *s == ';';
}

int api_guard_check(const api_guard_cfg *g, const api_head *h, char *msg, size_t msgcap)
{
    if (h->host && !api_host_ok(g, h->host)) {
        snprintf(msg, msgcap, "this server does not answer to the host name in the Host header (a DNS "
                              "rebinding guard); name it with --ui-host NAME on the master");
        return 421;
    }
    if (g->auth) {
        size_t want = strlen(g->auth);
        if (!h->auth || strlen(h->auth) != want || CRYPTO_memcmp(h->auth, g->auth, want) != 0) {
            snprintf(msg, msgcap, "authentication required");
            return 401;
        }
    }
    bool safe = !strcmp(h->method, "GET") || !strcmp(h->method, "HEAD");
    if (h->origin) {
        const char *o = h->origin;
        size_t skip = !strncasecmp(o, "http://", 7) ? 7 : !strncasecmp(o, "https://", 8) ? 8 : 0;
        if (!skip || !h->host || strcasecmp(o + skip, h->host) != 0) {
            snprintf(msg, msgcap, "cross-site request refused (Origin is not this server)");
            return 403;
        }
    }
    if (!safe && h->fetch_site && !strcasecmp(h->fetch_site, "cross-site")) {
        snprintf(msg, msgcap, "cross-site request refused (Sec-Fetch-Site: cross-site)");
        return 403;
    }
    if (!strcmp(h->method, "POST") && (!h->ctype || !api_is_json_type(h->ctype))) {
        snprintf(msg, msgcap, "a POST needs Content-Type: application/json");
        return 415;
    }
    return 0;
}

void api_guard_fini(api_guard_cfg *g)
{
    if (!g) return;
    free(g->auth);
    for (int i = 0; i < g->nhosts; i++) free(g->hosts[i]);
    memset(g, 0, sizeof *g);
}

int api_guard_init(api_guard_cfg *g, const char *auth, const char *bound, const char *hosts,
                   char *err, size_t errcap)
{
    memset(g, 0, sizeof *g);
    if (auth) {
        size_t n = strlen(auth);
        if (!strchr(auth, ':') || n > 1024) {
            snprintf(err, errcap, "--ui-auth wants USER:PASS");
            return -1;
        }
        size_t cap = 6 + 4 * ((n + 2) / 3) + 1;
        if (!(g->auth = malloc(cap))) goto nomem;
        memcpy(g->auth, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)g->auth + 6, (const unsigned char *)auth, (int)n);
    }
    snprintf(g->bound, sizeof g->bound, "%s", bound ? bound : "");
    if (gethostname(g->self, sizeof g->self) != 0) g->self[0] = '\0';
    g->self[sizeof g->self - 1] = '\0';
    for (const char *s = hosts; s && *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == 0 || n > 253 || memchr(s, ':', n) || memchr(s, '/', n)) {
            snprintf(err, errcap, "--ui-host wants NAME[,NAME...] (host names, no port or scheme)");
            api_guard_fini(g);
            return -1;
        }
        if (g->nhosts == API_MAX_HOSTS) {
            snprintf(err, errcap, "--ui-host: at most %d names", API_MAX_HOSTS);
            api_guard_fini(g);
            return -1;
        }
        if (!(g->hosts[g->nhosts] = strndup(s, n))) goto nomem;
        g->nhosts++;
        s = comma ? comma + 1 : s + n;
    }
    return 0;
nomem:
    snprintf(err, errcap, "out of memory");
    api_guard_fini(g);
    return -1;
}

/* ---- --ui-auth-file ------------------------------------------------------------------ */

int api_auth_from_file(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "--ui-auth-file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "--ui-auth-file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errcap, "--ui-auth-file %s is accessible by group or others (mode %03o): "
                              "chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return -1;
    }
    char buf[2048];
    ssize_t n;
    do n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0) {
        snprintf(err, errcap, "--ui-auth-file %s: %s", path, strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\n");
    while (len > 0 && isspace((unsigned char)buf[len - 1])) len--;
    buf[len] = '\0';
    if (!strchr(buf, ':') || memchr(buf, '\0', len) != NULL || len + 1 > cap || len > 1024) {
        explicit_bzero(buf, sizeof buf);
        snprintf(err, errcap, "--ui-auth-file %s: the first line must be USER:PASS", path);
        return -1;
    }
    memcpy(out, buf, len + 1);
    explicit_bzero(buf, sizeof buf);
    return 0;
}

/* ---- POST /api/runs ------------------------------------------------------------------ */

/* A string member without embedded NULs: 1 found (*out set), 0 absent or null, -1 bad
 * (err written). */
static int api_get_string(json_t *o, const char *key, const char **out, char *err, size_t errcap)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        snprintf(err, errcap, "\"%s\" must be a string", key);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errcap, "\"%s\" contains a NUL character", key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* An integer member in [min, max] (a whole-valued real is accepted too): 0 with *out
 * (def when absent or null), or -1 with err. */
int api_get_uint(json_t *o, const char *key, uint64_t min, uint64_t max, uint64_t def,
                        uint64_t *out, char *err, size_t errcap)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    double d;
    if (json_is_integer(v)) d = (double)json_integer_value(v);
    else if (json_is_real(v)) d = json_real_value(v);
    else {
        snprintf(err, errcap, "\"%s\" must be a number", key);
        return -1;
    }
    if (!(d >= (double)min && d <= (double)max) || d != floor(d)) {
        snprintf(err, errcap, "\"%s\" must be a whole number from %" PRIu64 " to %" PRIu64, key, min, max);
        return -1;
    }
    *out = json_is_integer(v) ? (uint64_t)json_integer_value(v) : (uint64_t)d;
    return 0;
}

/* "tags" / "exclude_tags" (-T / -E): an array of at most PROTO_MAX_TAGS non-empty
 * strings of at most PROTO_TAG_MAX bytes, copied into *out (owned by the plan:
 * plan_fini frees it). Absent or null: none. Decision: an empty tag is refused (it
 * could select nothing and would read as a typo), duplicates are kept (harmless). 0, or
 * -1 with err. */
static int api_get_tags(json_t *j, const char *key, char ***out, uint32_t *n, char *err, size_t errcap)
{
    json_t *a = json_object_get(j, key);
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a)) {
        snprintf(err, errcap, "\"%s\" must be an array of tag names (strings)", key);
        return -1;
    }
    size_t cnt = json_array_size(a);
    if (cnt > PROTO_MAX_TAGS) {
        snprintf(err, errcap, "too many %s (%zu; at most %u)", key, cnt, PROTO_MAX_TAGS);
        return -1;
    }
    for (size_t i = 0; i < cnt; i++) {
        json_t *t = json_array_get(a, i);
        if (!json_is_string(t) || json_string_length(t) == 0) {
            snprintf(err, errcap, "%s[%zu] must be a non-empty string (a tag name)", key, i);
            return -1;
        }
        if (json_string_length(t) > PROTO_TAG_MAX || strlen(json_string_value(t)) != json_string_length(t)) {
            snprintf(err, errcap, "%s[%zu] must be at most %d bytes, without NUL", key, i, PROTO_TAG_MAX);
            return -1;
        }
    }
    if (cnt == 0) return 0;
    if (!(*out = calloc(cnt, sizeof **out))) goto nomem;
    for (size_t i = 0; i < cnt; i++) {
        if (!((*out)[i] = strdup(json_string_value(json_array_get(a, i))))) goto nomem;
        (*n)++;
    }
    return 0;
nomem:
    snprintf(err, errcap, "out of memory");
    return -1;
}

/* Fills p (zeroed by the caller, freed with plan_fini by the caller whatever happens)
 * from a submission. Strings are copied; a file's len is its data's strlen. */
int api_plan_from_json(json_t *j, proto_plan *p, char *err, size_t errcap)
{
    const char *s;
    int r = api_get_string(j, "scenario", &s, err, errcap);
    if (r < 0) return -1;
    if (r == 0 || !s[0]) {
        snprintf(err, errcap, "\"scenario\" (the scenario's YAML text) is required");
        return -1;
    }
    if (!(p->scenario = strdup(s))) goto nomem;
    p->scenario_len = strlen(s);
    if ((r = api_get_string(j, "scenario_file", &s, err, errcap)) < 0) return -1;
    if (!(p->scenario_file = strdup(r && s[0] ? s : "scenario.yaml"))) goto nomem;
    if ((r = api_get_string(j, "host", &s, err, errcap)) < 0) return -1;
    if (r && s[0]) {
        if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) {
            snprintf(err, errcap, "\"host\" must be a URL starting with http:// or https://");
            return -1;
        }
        if (!(p->host = strdup(s))) goto nomem;
    }

    json_t *files = json_object_get(j, "files");
    if (files && !json_is_null(files)) {
        if (!json_is_array(files)) {
            snprintf(err, errcap, "\"files\" must be an array of {\"path\", \"data\"}");
            return -1;
        }
        size_t n = json_array_size(files);
        if (n > PROTO_MAX_FILES) {
            snprintf(err, errcap, "too many files (%zu; at most %u)", n, PROTO_MAX_FILES);
            return -1;
        }
        if (n && !(p->files = calloc(n, sizeof *p->files))) goto nomem;
        for (size_t i = 0; i < n; i++) {
            json_t *f = json_array_get(files, i);
            const char *path, *data;
            char e2[256] = "";
            if (!json_is_object(f) || api_get_string(f, "path", &path, e2, sizeof e2) != 1 || !path[0]
                || api_get_string(f, "data", &data, e2, sizeof e2) != 1) {
                snprintf(err, errcap, "files[%zu] must be {\"path\": string, \"data\": string}%s%s",
                         i, e2[0] ? ": " : "", e2);
                return -1;
            }
            proto_file *pf = &p->files[p->nfiles++];
            pf->path = strdup(path);
            pf->data = strdup(data);
            pf->len = strlen(data);
            if (!pf->path || !pf->data) goto nomem;
        }
    }

    json_t *sets = json_object_get(j, "sets");
    if (sets && !json_is_null(sets)) {
        if (!json_is_array(sets)) {
            snprintf(err, errcap, "\"sets\" must be an array of {\"key\", \"value\"}");
            return -1;
        }
        size_t n = json_array_size(sets);
        if (n > PROTO_MAX_SETS) {
            snprintf(err, errcap, "too many sets (%zu; at most %u)", n, PROTO_MAX_SETS);
            return -1;
        }
        if (n && !(p->sets = calloc(n, sizeof *p->sets))) goto nomem;
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_array_get(sets, i);
            const char *key, *value;
            char e2[256] = "";
            if (!json_is_object(o) || api_get_string(o, "key", &key, e2, sizeof e2) != 1 || !key[0]
                || api_get_string(o, "value", &value, e2, sizeof e2) != 1) {
                snprintf(err, errcap, "sets[%zu] must be {\"key\": string, \"value\": string}%s%s",
                         i, e2[0] ? ": " : "", e2);
                return -1;
            }
            proto_set *ps = &p->sets[p->nsets++];
            ps->key = strdup(key);
            ps->value = strdup(value);
            if (!ps->key || !ps->value) goto nomem;
        }
    }

    /* env() values the submitting CLI resolved (api.h); the master never reads its own
     * environment for a submitted scenario. */
    json_t *env = json_object_get(j, "env");
    if (env && !json_is_null(env)) {
        if (!json_is_array(env)) {
            snprintf(err, errcap, "\"env\" must be an array of {\"name\", \"value\"}");
            return -1;
        }
        size_t n = json_array_size(env);
        if (n > PROTO_MAX_ENV) {
            snprintf(err, errcap, "too many env values (%zu; at most %u)", n, PROTO_MAX_ENV);
            return -1;
        }
        if (n && !(p->env = calloc(n, sizeof *p->env))) goto nomem;
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_array_get(env, i);
            const char *name, *value;
            char e2[256] = "";
            if (!json_is_object(o) || api_get_string(o, "name", &name, e2, sizeof e2) != 1 || !name[0]
                || api_get_string(o, "value", &value, e2, sizeof e2) != 1) {
                /* e2 names the member only, never echoes a value */
                snprintf(err, errcap, "env[%zu] must be {\"name\": string, \"value\": string}%s%s",
                         i, e2[0] ? ": " : "", e2);
                return -1;
            }
            proto_set *pe = &p->env[p->nenv++];
            pe->key = strdup(name);
            pe->value = strdup(value);
            if (!pe->key || !pe->value) goto nomem;
        }
    }

    uint64_t v;
    /* The same cap as YAML stages and -u (common/scenario.h): a plan asking a worker for
     * 4,294,967,295 users is refused here, not discovered by its allocator. */
    if (api_get_uint(j, "users", 0, SC_MAX_USERS, 0, &v, err, errcap) != 0) return -1;
    p->users = (uint32_t)v;
    if (api_get_uint(j, "duration_ms", 0, UINT64_C(1) << 50, 0, &v, err, errcap) != 0) return -1;
    p->duration_ms = v;
    json_t *rate = json_object_get(j, "rate");
    if (rate && !json_is_null(rate)) {
        if (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) > 1e9) {
            snprintf(err, errcap, "\"rate\" must be a number of users per second >= 0");
            return -1;
        }
        p->rate = json_number_value(rate);
    }
    /* --arrival-rate (open model): iterations/s, 0 none; plan_scenario refuses it on a
     * closed scenario (proto/plan.h) */
    json_t *arate = json_object_get(j, "arrival_rate");
    if (arate && !json_is_null(arate)) {
        double ar = json_is_number(arate) ? json_number_value(arate) : -1;
        if (!(ar >= 0 && ar <= SC_MAX_RATE)) {
            snprintf(err, errcap, "\"arrival_rate\" must be a number of iterations per second "
                     "between 0 and %.0f", SC_MAX_RATE);
            return -1;
        }
        p->arrival_rate = ar;
    }
    /* -T / -E (issue 12): plan_scenario applies them (scenario_apply_tags) */
    if (api_get_tags(j, "tags", &p->tags, &p->ntags, err, errcap) != 0 ||
        api_get_tags(j, "exclude_tags", &p->exclude_tags, &p->nexclude_tags, err, errcap) != 0)
        return -1;
    return 0;
nomem:
    snprintf(err, errcap, "out of memory");
    return -1;
}

int api_run_from_json(json_t *j, const char *extra_label, api_run_req *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    if (api_plan_from_json(j, &r->plan, err, errcap) != 0
        || api_get_uint(j, "expect_workers", 1, 100000, 1, &r->expect, err, errcap) != 0
        || api_get_uint(j, "expect_timeout_ms", 0, UINT64_C(1) << 50, API_DEFAULT_EXPECT_TIMEOUT_MS,
                        &r->expect_timeout_ms, err, errcap) != 0)
        return -1;
    if (r->expect_timeout_ms == 0) r->expect_timeout_ms = API_DEFAULT_EXPECT_TIMEOUT_MS;
    /* "csv_full_history": --csv-full-history of the submitting CLI (cli/remote.c): the
     * per-name rows of stats_history.csv (RESULTS_FULL_HISTORY). Decision: a boolean or
     * null only (absent/null: false); anything else is a 400 like every other member. */
    json_t *fh = json_object_get(j, "csv_full_history");
    if (fh && !json_is_null(fh) && !json_is_boolean(fh)) {
        snprintf(err, errcap, "\"csv_full_history\" must be true or false");
        return -1;
    }
    r->full_history = fh && json_is_true(fh);
    /* "labels": --label K=V of the submitting CLI (issue 14), kept in the run's history
     * row. */
    json_t *lab = json_object_get(j, "labels");
    const char *kv[LABELS_MAX + 2];
    char buf[LABELS_MAX + 1][400];
    int n = 0;
    size_t elen = extra_label ? strcspn(extra_label, "=") : 0;
    if (lab && !json_is_null(lab)) {
        const char *k;
        json_t *v;
        bool ok = json_is_object(lab);
        json_object_foreach(lab, k, v) {
            if (!ok) break;
            if (!json_is_string(v) || n > LABELS_MAX) { ok = false; break; }
            if (extra_label && strlen(k) == elen && !strncmp(k, extra_label, elen)) continue;
            snprintf(buf[n], sizeof buf[n], "%.100s=%.290s", k, json_string_value(v));
            kv[n] = buf[n];
            n++;
        }
        if (!ok) {
            snprintf(err, errcap, "\"labels\" must be an object of strings: K: \"V\"");
            return -1;
        }
    }
    if (extra_label) kv[n++] = extra_label;
    char lerr[300];
    if (!(r->labels = labels_to_json(kv, n, lerr, sizeof lerr))) {
        snprintf(err, errcap, "\"labels\" must be an object of strings: %s", lerr);
        return -1;
    }
    return 0;
}

void api_run_req_fini(api_run_req *r)
{
    plan_fini(&r->plan);
    free(r->labels);
    memset(r, 0, sizeof *r);
}
