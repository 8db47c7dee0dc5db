/* A statistics shard: see common/stats.h for the contract.
 *
 * Layout: entries[0 .. name_cap) hold named entries in creation order (their id is
 * their slot); entries[name_cap] is reserved for the overflow entry, created at the
 * first folded name, so the overflow id is always name_cap and nentries counts it.
 * index is one allocation holding the open-addressing hash table of named entries
 * (index_mask + 1 uint32 slots, power of two >= 2 * (name_cap + 1), so it is never
 * more than half full) followed by the set of folded names (see stats_fold).
 *
 * Decisions the header leaves open, written down here:
 * - name_cap 0 means STATS_DEFAULT_NAME_CAP.
 * - Names and methods are cut to STATS_NAME_MAX - 1 / STATS_METHOD_MAX - 1 bytes
 *   (never inside a UTF-8 sequence); two names equal up to the cut share an entry.
 * - Names, methods and error details are stored as valid UTF-8 (issue 9, item 13: a
 *   captured response value in a URL can carry any byte, and jansson refuses such a
 *   string in summary.json): after the cut, every ill-formed byte becomes '?'
 *   (util_utf8_clean), so two names that differ only in such bytes share an entry.
 *   stats_default_name's output is clean as well.
 * - names_folded is not an interval counter: reset keeps it (like the names). It is
 *   exact up to STATS_FOLD_FACTOR * 3/4 * (index_mask + 1) distinct folded names per
 *   shard (6144 for the default cap) and a lower bound beyond that.
 * - When the error table is full, the one "(more error kinds)" row is attributed to
 *   the entry whose error first overflowed the table.
 * - stats_error does not touch cancelled or failures: the engine counts a cancelled
 *   request in cancelled and a failed one through stats_record. */
#include "common/stats.h"

#include <stdlib.h>
#include <string.h>
#include "common/util.h"

#define STATS_FOLD_FACTOR 8u        /* folded-name set slots per index slot */
#define STATS_MORE_ERRORS "(more error kinds)"

static const char *const stats_kind_names[ERR_KIND_COUNT] = {
    [ERR_CONNECT] = "connect",   [ERR_TIMEOUT] = "timeout",
    [ERR_TLS] = "tls",           [ERR_HTTP_STATUS] = "http_status",
    [ERR_EXPECT] = "expect",     [ERR_WS_CLOSE] = "ws_close",
    [ERR_CANCELLED] = "cancelled", [ERR_OTHER] = "other",
    [ERR_WS_UPGRADE] = "ws_upgrade", [ERR_WS_PROTOCOL] = "ws_protocol",
};

bool stats_is_ws_method(const char *method)
{
    return method && method[0] == 'W' && method[1] == 'S' && (method[2] == 0 || method[2] == ':');
}

stats_fig stats_fig_of(const char *method, uint16_t *close_code)
{
    static const struct { const char *m; stats_fig f; } figs[] = {
        { STATS_WS_MESSAGE, STATS_FIG_WS_MESSAGE },     { STATS_WS_CONNECT, STATS_FIG_WS_CONNECT },
        { STATS_WS_RECONNECT, STATS_FIG_WS_RECONNECT }, { STATS_WS_FANOUT, STATS_FIG_WS_FANOUT },
        { STATS_WS_PING, STATS_FIG_WS_PING },           { STATS_WS_SENT, STATS_FIG_WS_SENT },
        { STATS_WS_RECV, STATS_FIG_WS_RECV },           { STATS_WS_ORDER, STATS_FIG_WS_ORDER },
    };
    if (close_code)
        *close_code = 0;
    if (method && strcmp(method, STATS_ITERATION) == 0)
        return STATS_FIG_ITERATION;
    if (!stats_is_ws_method(method))
        return STATS_FIG_HTTP;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        if (strcmp(method, figs[i].m) == 0)
            return figs[i].f;
    size_t plen = strlen(STATS_WS_CLOSE_PREFIX);
    if (strncmp(method, STATS_WS_CLOSE_PREFIX, plen) == 0 && method[plen] != '\0') {
        unsigned long code = 0;
        const char *p = method + plen;
        for (; *p >= '0' && *p <= '9' && code <= 65535; p++)
            code = code * 10 + (unsigned long)(*p - '0');
        if (close_code && *p == '\0' && code <= 65535)
            *close_code = (uint16_t)code;
        return STATS_FIG_WS_CLOSE;
    }
    return STATS_FIG_WS_OTHER;
}

const char *stats_err_kind_name(stats_err_kind k)
{
    return (unsigned)k < ERR_KIND_COUNT ? stats_kind_names[k] : "other";
}

int stats_err_kind_parse(const char *s)
{
    if (s == NULL)
        return -1;
    for (int k = 0; k < ERR_KIND_COUNT; k++)
        if (strcmp(s, stats_kind_names[k]) == 0)
            return k;
    return -1;
}

/* Length of s cut to at most max bytes, backing off so that a UTF-8 sequence is
 * never split (continuation bytes are 10xxxxxx). */
static size_t stats_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Copies s cut to at most max bytes (stats_cut) into out (max + 1 bytes) and makes the
 * copy valid UTF-8 (util_utf8_clean: ill-formed bytes become '?', same length). */
static size_t stats_clean_copy(char *out, const char *s, size_t max)
{
    size_t n = stats_cut(s, max);
    memcpy(out, s, n);
    out[n] = '\0';
    util_utf8_clean(out);
    return n;
}

/* 64-bit FNV-1a over method, a 0 separator, and name. */
static uint64_t stats_hash(const char *m, size_t ml, const char *n, size_t nl)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    const uint64_t prime = UINT64_C(0x100000001b3);
    for (size_t i = 0; i < ml; i++)
        h = (h ^ (unsigned char)m[i]) * prime;
    h *= prime;                                 /* the separator byte, 0 */
    for (size_t i = 0; i < nl; i++)
        h = (h ^ (unsigned char)n[i]) * prime;
    return h;
}

static uint32_t stats_index_slots(const stats_shard *s)
{
    return s->index_mask + 1;
}

/* The set of folded names, after the index slots: 64-bit hashes (0 marks empty). */
static uint64_t *stats_fold_set(const stats_shard *s)
{
    return (uint64_t *)(void *)(s->index + stats_index_slots(s));
}

/* Counts a folded name in names_folded the first time its hash is seen. */
static void stats_fold(stats_shard *s, uint64_t h)
{
    uint64_t *set = stats_fold_set(s);
    uint64_t mask = (uint64_t)stats_index_slots(s) * STATS_FOLD_FACTOR - 1;
    if (h == 0)
        h = 1;
    uint64_t i = (h >> 17) & mask;
    while (set[i] != 0) {
        if (set[i] == h)
            return;
        i = (i + 1) & mask;
    }
    if (s->names_folded >= (mask + 1) / 4 * 3)  /* full: a lower bound from here on */
        return;
    set[i] = h;
    s->names_folded++;
}

int stats_shard_init(stats_shard *s, uint32_t name_cap)
{
    memset(s, 0, sizeof *s);
    s->overflow_id = -1;
    if (name_cap == 0)
        name_cap = STATS_DEFAULT_NAME_CAP;
    if (name_cap > (UINT32_MAX >> 4))
        return -1;
    uint32_t slots = 1;
    while (slots < 2 * (name_cap + 1))
        slots <<= 1;
    size_t index_bytes = (size_t)slots * sizeof(uint32_t);
    index_bytes = (index_bytes + 7) & ~(size_t)7;
    s->entries = calloc((size_t)name_cap + 1, sizeof *s->entries);
    s->index = calloc(1, index_bytes + (size_t)slots * STATS_FOLD_FACTOR * sizeof(uint64_t));
    if (s->entries == NULL || s->index == NULL) {
        free(s->entries);
        free(s->index);
        memset(s, 0, sizeof *s);
        s->overflow_id = -1;
        return -1;
    }
    for (uint32_t i = 0; i <= name_cap; i++) {
        hist_init(&s->entries[i].lat);
        hist_init(&s->entries[i].svc);
    }
    hist_init(&s->sched.lag);
    s->name_cap = name_cap;
    s->index_mask = slots - 1;
    return 0;
}

void stats_shard_fini(stats_shard *s)
{
    if (s == NULL)
        return;
    if (s->entries != NULL)
        for (uint32_t i = 0; i <= s->name_cap; i++) {
            hist_fini(&s->entries[i].lat);
            hist_fini(&s->entries[i].svc);
        }
    hist_fini(&s->sched.lag);
    free(s->entries);
    free(s->index);
    memset(s, 0, sizeof *s);
    s->overflow_id = -1;
}

uint32_t stats_id(stats_shard *s, const char *method, const char *name)
{
    if (method == NULL)
        method = "";
    if (name == NULL)
        name = "";
    /* Keys are the cut, UTF-8-clean copies (see the decisions above), so a name is
     * compared and hashed as it will be stored and shown. */
    char mbuf[STATS_METHOD_MAX], nbuf[STATS_NAME_MAX];
    size_t ml = stats_clean_copy(mbuf, method, STATS_METHOD_MAX - 1);
    size_t nl = stats_clean_copy(nbuf, name, STATS_NAME_MAX - 1);
    method = mbuf;
    name = nbuf;
    uint64_t h = stats_hash(method, ml, name, nl);
    uint32_t i = (uint32_t)h & s->index_mask;
    for (; s->index[i] != 0; i = (i + 1) & s->index_mask) {
        const stats_entry *e = &s->entries[s->index[i] - 1];
        if (strncmp(e->method, method, ml) == 0 && e->method[ml] == '\0' &&
            strncmp(e->name, name, nl) == 0 && e->name[nl] == '\0')
            return s->index[i] - 1;
    }
    if (s->overflow_id < 0 && s->nentries < s->name_cap) {
        uint32_t id = s->nentries++;
        stats_entry *e = &s->entries[id];
        memcpy(e->method, method, ml);
        e->method[ml] = '\0';
        memcpy(e->name, name, nl);
        e->name[nl] = '\0';
        e->fig = stats_fig_of(e->method, &e->close_code);
        s->index[i] = id + 1;
        return id;
    }
    if (s->overflow_id < 0) {
        stats_entry *e = &s->entries[s->name_cap];
        strcpy(e->method, "*");
        strcpy(e->name, STATS_OVERFLOW_NAME);
        e->fig = STATS_FIG_HTTP;
        s->overflow_id = (int32_t)s->name_cap;
        s->nentries = s->name_cap + 1;
    }
    stats_fold(s, h);
    return (uint32_t)s->overflow_id;
}

void stats_record(stats_shard *s, uint32_t id, uint64_t latency_us, uint64_t bytes, bool failed)
{
    if (__builtin_expect(id >= s->nentries, 0))
        return;                                 /* not an id this shard handed out */
    stats_entry *e = &s->entries[id];
    e->requests++;
    e->failures += failed;
    e->bytes += bytes;
    hist_record(&e->lat, latency_us);
}

void stats_record_svc(stats_shard *s, uint32_t id, uint64_t latency_us, uint64_t service_us,
                      uint64_t bytes, bool failed)
{
    if (__builtin_expect(id >= s->nentries, 0))
        return;
    stats_entry *e = &s->entries[id];
    e->requests++;
    e->failures += failed;
    e->bytes += bytes;
    hist_record(&e->lat, latency_us);
    hist_record(&e->svc, service_us);
}

void stats_count(stats_shard *s, uint32_t id, uint64_t bytes, bool failed)
{
    if (__builtin_expect(id >= s->nentries, 0))
        return;
    stats_entry *e = &s->entries[id];
    e->requests++;
    e->failures += failed;
    e->bytes += bytes;
}

/* Finds the (entry, kind, detail) row or adds it; the last row is kept for the fold
 * of every kind that finds the table full. */
void stats_error(stats_shard *s, uint32_t id, stats_err_kind kind, const char *detail)
{
    if (id >= s->nentries)
        return;                                 /* not an id this shard handed out */
    if ((unsigned)kind >= ERR_KIND_COUNT)
        kind = ERR_OTHER;
    if (detail == NULL)
        detail = "";
    char dbuf[STATS_DETAIL_MAX];
    size_t dl = stats_clean_copy(dbuf, detail, STATS_DETAIL_MAX - 1);
    detail = dbuf;
    for (uint32_t r = 0; r < s->nerrs; r++) {
        stats_err *e = &s->errs[r];
        if (e->entry == id && e->kind == kind && strncmp(e->detail, detail, dl) == 0 &&
            e->detail[dl] == '\0') {
            e->count++;
            return;
        }
    }
    stats_err *e;
    if (s->nerrs < STATS_ERR_CAP - 1) {
        e = &s->errs[s->nerrs++];
        e->entry = id;
        e->kind = kind;
        memcpy(e->detail, detail, dl);
        e->detail[dl] = '\0';
        e->count = 0;
    } else {
        e = &s->errs[STATS_ERR_CAP - 1];
        if (s->nerrs < STATS_ERR_CAP) {
            s->nerrs = STATS_ERR_CAP;
            e->entry = id;
            e->kind = ERR_OTHER;
            strcpy(e->detail, STATS_MORE_ERRORS);
            e->count = 0;
        }
    }
    e->count++;
}

void stats_shard_reset(stats_shard *s)
{
    for (uint32_t i = 0; i < s->nentries; i++) {
        stats_entry *e = &s->entries[i];
        e->requests = e->failures = e->bytes = 0;
        hist_reset(&e->lat);
        hist_reset(&e->svc);
    }
    s->nerrs = 0;
    s->cancelled = 0;
    hist_reset(&s->sched.lag);
    hist lag = s->sched.lag;
    memset(&s->sched, 0, sizeof s->sched);
    s->sched.lag = lag;
    memset(&s->health, 0, sizeof s->health);
}

size_t stats_shard_bytes(const stats_shard *s)
{
    if (s->entries == NULL)
        return 0;
    uint32_t slots = stats_index_slots(s);
    size_t index_bytes = ((size_t)slots * sizeof(uint32_t) + 7) & ~(size_t)7;
    size_t n = ((size_t)s->name_cap + 1) * sizeof *s->entries + index_bytes +
               (size_t)slots * STATS_FOLD_FACTOR * sizeof(uint64_t);
    for (uint32_t i = 0; i < s->nentries; i++)
        n += hist_bytes(&s->entries[i].lat) + hist_bytes(&s->entries[i].svc);
    n += hist_bytes(&s->sched.lag);
    return n;
}

/* ---- default names ---------------------------------------------------------- */

static bool stats_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An id-like path segment: all digits, a UUID (8-4-4-4-12 hex), or 16+ hex digits. */
static bool stats_is_id(const char *seg, size_t len)
{
    if (len == 0)
        return false;
    bool digits = true, hex = true;
    for (size_t i = 0; i < len; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            digits = false;
        if (!stats_is_hex(seg[i]))
            hex = false;
    }
    if (digits || (hex && len >= 16))
        return true;
    if (len != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? seg[i] != '-' : !stats_is_hex(seg[i]))
            return false;
    }
    return true;
}

/* Appends len bytes of p to out (cap bytes in all), as far as room allows; false once
 * something did not fit. */
static bool stats_put(char *out, size_t cap, size_t *n, const char *p, size_t len)
{
    size_t room = cap - 1 - *n;
    bool fits = len <= room;
    if (!fits)
        len = room;
    memcpy(out + *n, p, len);
    *n += len;
    return fits;
}

/* Length of out[0..n) without a UTF-8 sequence left incomplete at its end by a cut. */
static size_t stats_utf8_trim(const char *out, size_t n)
{
    size_t j = n;
    while (j > 0 && n - j < 4 && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
        j--;
    if (j == 0)
        return n;
    unsigned char lead = (unsigned char)out[j - 1];
    size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return n - (j - 1) < want ? j - 1 : n;
}

void stats_default_name(const char *url, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return;
    if (url == NULL)
        url = "";
    /* Skip "scheme://authority" (or a scheme-relative "//authority"): a "://" that
     * comes before any '/', '?' or '#' ends a scheme. */
    const char *p = url;
    size_t pre = strcspn(url, ":/?#");
    const char *sep = url + pre;
    if (pre > 0 && sep[0] == ':' && sep[1] == '/' && sep[2] == '/')
        p = url + pre + 3;
    else if (url[0] == '/' && url[1] == '/')
        p = url + 2;
    if (p != url)
        p += strcspn(p, "/?#");
    size_t plen = strcspn(p, "?#");

    size_t n = 0;
    bool fits = true;
    if (plen == 0 || p[0] != '/')
        fits = stats_put(out, cap, &n, "/", 1);
    const char *end = p + plen;
    while (p < end) {
        size_t seg = strcspn(p, "/");
        if (p + seg > end)
            seg = (size_t)(end - p);
        if (stats_is_id(p, seg))
            fits = fits && stats_put(out, cap, &n, "{id}", 4);
        else
            fits = fits && stats_put(out, cap, &n, p, seg);
        p += seg;
        if (p < end) {                          /* the '/' after the segment */
            fits = fits && stats_put(out, cap, &n, "/", 1);
            p++;
        }
    }
    if (!fits)                                  /* never end inside a UTF-8 sequence */
        n = stats_utf8_trim(out, n);
    out[n] = '\0';
    util_utf8_clean(out);                       /* raw bytes a capture put in the URL */
}
