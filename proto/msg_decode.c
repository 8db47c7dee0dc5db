/* The decoder of the wire codec (proto/msg.h; the decisions it follows are at the top
 * of proto/msg.c): proto_decode, in three steps because msgpack-c believes declared
 * lengths: (1) len <= PROTO_MAX_MSG; (2) proto_prescan proves every declared count and
 * length fits in the bytes left, nesting stays within PROTO_MAX_DEPTH and the buffer is
 * exactly one object; (3) msgpack_unpack_next into a zone, then conversion with strict
 * type checks. Names, methods and error details of STATS rows are cleaned to valid
 * UTF-8 and each row's figure is read from its method (common/stats.h). Any thread; no
 * global state. On any error nothing is left allocated (proto_msg_free, in msg.c). */
#include "proto/msg.h"
#include "common/loadshape.h"
#include "common/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#define PROTO_MAX_DEPTH     16
#define PROTO_DECODE_HIST_BYTES ((size_t)256 << 20)

/* ------------------------------------------------------------------------------ */
/* Pre-scan: the raw bytes must hold exactly one well-formed msgpack object whose   */
/* every declared size fits in what is left.                                        */

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Walks the object iteratively: open[d] counts the objects still expected at depth d
 * (depth 0 is the one top-level object). Each object is at least one byte, so a count
 * larger than the bytes left is a lie; a map of n pairs holds 2n objects. */
int proto_prescan(const uint8_t *p, size_t len, uint64_t *objects)
{
    uint64_t open[PROTO_MAX_DEPTH + 1], nobj = 0;
    int depth = 0;
    size_t pos = 0;
    open[0] = 1;
    for (;;) {
        while (depth >= 0 && open[depth] == 0)
            depth--;
        if (depth < 0)
            break;
        open[depth]--;
        nobj++;
        if (pos >= len)
            return -1;
        uint8_t b = p[pos++];
        size_t left = len - pos;
        unsigned lenbytes = 0;        /* size of a length/count field that follows */
        uint64_t skip = 0;            /* payload bytes to skip (fixed or after length) */
        int kind = 0;                 /* 0 scalar, 1 array, 2 map, 3 str/bin, 4 ext */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            kind = 0;
        } else if (b <= 0x8f) {
            kind = 2, skip = b & 0x0f;
        } else if (b <= 0x9f) {
            kind = 1, skip = b & 0x0f;
        } else if (b <= 0xbf) {
            kind = 3, skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: kind = 3, lenbytes = 1; break;   /* bin8, str8 */
            case 0xc5: case 0xda: kind = 3, lenbytes = 2; break;
            case 0xc6: case 0xdb: kind = 3, lenbytes = 4; break;
            case 0xc7: kind = 4, lenbytes = 1; break;                /* ext8/16/32 */
            case 0xc8: kind = 4, lenbytes = 2; break;
            case 0xc9: kind = 4, lenbytes = 4; break;
            case 0xca: skip = 4; break;                              /* float32 */
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;                   /* (u)int8 */
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                              /* fixext: type + data */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: kind = 1, lenbytes = 2; break;                /* array16/32 */
            case 0xdd: kind = 1, lenbytes = 4; break;
            case 0xde: kind = 2, lenbytes = 2; break;                /* map16/32 */
            case 0xdf: kind = 2, lenbytes = 4; break;
            default: return -1;                                      /* 0xc1: never used */
            }
            if (lenbytes) {
                if (lenbytes > left)
                    return -1;
                skip = be(p + pos, lenbytes);
                pos += lenbytes;
                left -= lenbytes;
                if (kind == 4)
                    skip += 1;                                       /* the ext type byte */
            }
        }
        if (kind == 1 || kind == 2) {
            uint64_t objects = kind == 2 ? 2 * skip : skip;
            if (objects > left)
                return -1;
            if (depth + 1 > PROTO_MAX_DEPTH)
                return -1;
            open[++depth] = objects;
        } else {
            if (skip > left)
                return -1;
            pos += (size_t)skip;
        }
    }
    if (objects != NULL)
        *objects = nobj;
    return pos == len ? 0 : -1;
}

/* ------------------------------------------------------------------------------ */
/* Conversion from the unpacked tree, every field type-checked.                     */

typedef struct dec {
    size_t hist_bytes;  /* heap held by the histograms decoded so far */
} dec;

/* Field i of an array object (which has at least i + 1 elements: callers check). */
#define FLD(a, i) (&(a)->via.array.ptr[i])

/* The array at o, with at least min elements; its element count in *n. */
static int d_array(const msgpack_object *o, uint32_t min, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < min)
        return PROTO_EMALFORMED;
    *n = o->via.array.size;
    return 0;
}

static int d_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return PROTO_EMALFORMED;
    *v = o->via.u64;
    return 0;
}

static int d_u32(const msgpack_object *o, uint32_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return PROTO_EMALFORMED;
    *v = (uint32_t)o->via.u64;
    return 0;
}

static int d_bool(const msgpack_object *o, bool *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return PROTO_EMALFORMED;
    *v = o->via.boolean;
    return 0;
}

/* A non-negative finite number: float32/64 or a positive integer. */
static int d_double(const msgpack_object *o, double *v)
{
    double x;
    if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
        x = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        x = (double)o->via.u64;
    else
        return PROTO_EMALFORMED;
    if (!isfinite(x) || x < 0)
        return PROTO_EMALFORMED;
    *v = x;
    return 0;
}

/* A str into a fixed array of cap bytes: at most cap - 1 bytes and no NUL. */
static int d_fixstr(const msgpack_object *o, char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return PROTO_EMALFORMED;
    size_t n = o->via.str.size;
    if (n && memchr(o->via.str.ptr, '\0', n) != NULL)
        return PROTO_EMALFORMED;
    if (n)
        memcpy(dst, o->via.str.ptr, n);     /* an empty str may come with a NULL ptr */
    dst[n] = '\0';
    return 0;
}

/* A str (or bin when want_bin) copied to the heap with a NUL after it. C strings
 * (lenp == NULL) must not contain NUL. */
static int d_dup(const msgpack_object *o, bool want_bin, char **dst, size_t *lenp)
{
    const char *src;
    size_t n;
    if (!want_bin && o->type == MSGPACK_OBJECT_STR) {
        src = o->via.str.ptr;
        n = o->via.str.size;
    } else if (want_bin && o->type == MSGPACK_OBJECT_BIN) {
        src = o->via.bin.ptr;
        n = o->via.bin.size;
    } else {
        return PROTO_EMALFORMED;
    }
    if (lenp == NULL && n && memchr(src, '\0', n) != NULL)
        return PROTO_EMALFORMED;
    char *s = malloc(n + 1);
    if (s == NULL)
        return PROTO_ENOMEM;
    if (n)
        memcpy(s, src, n);
    s[n] = '\0';
    *dst = s;
    if (lenp)
        *lenp = n;
    return 0;
}

/* A bin of exactly len bytes into dst. */
static int d_fixbin(const msgpack_object *o, uint8_t *dst, size_t len)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != len)
        return PROTO_EMALFORMED;
    memcpy(dst, o->via.bin.ptr, len);
    return 0;
}

/* A proof (bin of PROTO_PROOF_LEN) or nil: *has tells which; dst stays zero on nil. */
static int d_proof(const msgpack_object *o, uint8_t *dst, bool *has)
{
    *has = false;
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (d_fixbin(o, dst, PROTO_PROOF_LEN) != 0)
        return PROTO_EMALFORMED;
    *has = true;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A slot list: an array of at most PROTO_MAX_SLOTS distinct u32. The array is stored
 * in *slots / *n as soon as it is allocated, so on failure proto_msg_free finds it.
 * Distinctness is checked on a sorted copy (the list itself keeps the sender's order). */
static int d_slots(const msgpack_object *o, uint32_t **slots, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > PROTO_MAX_SLOTS)
        return PROTO_EMALFORMED;
    uint32_t cnt = o->via.array.size;
    if (cnt == 0)
        return 0;
    uint32_t *s = calloc(cnt, sizeof *s);
    if (s == NULL)
        return PROTO_ENOMEM;
    *slots = s;
    *n = cnt;
    for (uint32_t i = 0; i < cnt; i++)
        if (d_u32(&o->via.array.ptr[i], &s[i]) != 0)
            return PROTO_EMALFORMED;
    uint32_t *sorted = malloc(cnt * sizeof *sorted);
    if (sorted == NULL)
        return PROTO_ENOMEM;
    memcpy(sorted, s, cnt * sizeof *sorted);
    qsort(sorted, cnt, sizeof *sorted, cmp_u32);
    int rv = 0;
    for (uint32_t i = 1; i < cnt && rv == 0; i++)
        if (sorted[i] == sorted[i - 1])
            rv = PROTO_EMALFORMED;
    free(sorted);
    return rv;
}

#define TRY(call)                                                                  \
    do {                                                                           \
        int rv_ = (call);                                                          \
        if (rv_ != 0)                                                              \
            return rv_;                                                            \
    } while (0)

static int d_hello(const msgpack_object *f, proto_hello *h)
{
    TRY(d_fixstr(&f[0], h->id, sizeof h->id));
    TRY(d_fixstr(&f[1], h->host, sizeof h->host));
    TRY(d_u32(&f[2], &h->cores));
    TRY(d_u32(&f[3], &h->threads));
    TRY(d_fixstr(&f[4], h->version, sizeof h->version));
    TRY(d_u32(&f[5], &h->caps));
    TRY(d_fixbin(&f[6], h->nonce, sizeof h->nonce));
    return d_proof(&f[7], h->proof, &h->has_proof);
}

/* An array of at most max [key str, value str] pairs (PLAN sets and env) into *out,
 * *n; on failure *out holds what was allocated so far, for proto_msg_free. */
static int d_pairs(const msgpack_object *o, uint32_t max, proto_set **out, uint32_t *nout)
{
    uint32_t n;
    TRY(d_array(o, 0, &n));
    if (n > max)
        return PROTO_EMALFORMED;
    if (n == 0)
        return PROTO_OK;
    if ((*out = calloc(n, sizeof **out)) == NULL)
        return PROTO_ENOMEM;
    *nout = n;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *e = FLD(o, i);
        uint32_t ne;
        TRY(d_array(e, 2, &ne));
        TRY(d_dup(FLD(e, 0), false, &(*out)[i].key, NULL));
        TRY(d_dup(FLD(e, 1), false, &(*out)[i].value, NULL));
    }
    return PROTO_OK;
}

/* A tag list: at most PROTO_MAX_TAGS strings, each 1..PROTO_TAG_MAX bytes without NUL.
 * *nout counts the entries allocated so far, for proto_msg_free. */
static int d_tags(const msgpack_object *o, char ***out, uint32_t *nout)
{
    uint32_t n;
    TRY(d_array(o, 0, &n));
    if (n > PROTO_MAX_TAGS)
        return PROTO_EMALFORMED;
    if (n == 0)
        return PROTO_OK;
    if ((*out = calloc(n, sizeof **out)) == NULL)
        return PROTO_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *e = FLD(o, i);
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 ||
            e->via.str.size > PROTO_TAG_MAX)
            return PROTO_EMALFORMED;
        TRY(d_dup(e, false, &(*out)[i], NULL));
        (*nout)++;
    }
    return PROTO_OK;
}

/* Fills p; on failure p holds what was allocated so far, for proto_msg_free. */
static int d_plan(const msgpack_object *f, uint32_t nf, proto_plan *p)
{
    uint32_t n;
    TRY(d_u64(&f[0], &p->run_id));
    TRY(d_dup(&f[1], false, &p->scenario_file, NULL));
    TRY(d_dup(&f[2], false, &p->scenario, &p->scenario_len));

    TRY(d_array(&f[3], 0, &n));
    if (n > PROTO_MAX_FILES)
        return PROTO_EMALFORMED;
    if (n) {
        if ((p->files = calloc(n, sizeof *p->files)) == NULL)
            return PROTO_ENOMEM;
        p->nfiles = n;
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *e = FLD(&f[3], i);
            uint32_t ne;
            TRY(d_array(e, 2, &ne));
            TRY(d_dup(FLD(e, 0), false, &p->files[i].path, NULL));
            TRY(d_dup(FLD(e, 1), true, &p->files[i].data, &p->files[i].len));
        }
    }

    TRY(d_pairs(&f[4], PROTO_MAX_SETS, &p->sets, &p->nsets));

    if (f[5].type != MSGPACK_OBJECT_NIL)
        TRY(d_dup(&f[5], false, &p->host, NULL));
    TRY(d_u32(&f[6], &p->users));
    TRY(d_double(&f[7], &p->rate));
    TRY(d_u64(&f[8], &p->duration_ms));
    TRY(d_slots(&f[9], &p->slots, &p->nslots));
    TRY(d_u32(&f[10], &p->threads_total));
    for (uint32_t i = 0; i < p->nslots; i++)
        if (p->slots[i] >= p->threads_total)
            return PROTO_EMALFORMED;
    TRY(d_u64(&f[11], &p->start_at_ms));
    TRY(d_u32(&f[12], &p->interval_ms));
    TRY(d_u32(&f[13], &p->name_cap));
    if (nf > 14)
        TRY(d_pairs(&f[14], PROTO_MAX_ENV, &p->env, &p->nenv));
    /* 16th (issue 11): arrival_rate, finite, 0 <= rate <= SC_MAX_RATE; absent is 0 */
    if (nf > 15) {
        TRY(d_double(&f[15], &p->arrival_rate));
        if (p->arrival_rate > SC_MAX_RATE)
            return PROTO_EMALFORMED;
    }
    /* 17th, 18th (issue 12): tags, exclude_tags; absent: none */
    if (nf > 16)
        TRY(d_tags(&f[16], &p->tags, &p->ntags));
    if (nf > 17)
        TRY(d_tags(&f[17], &p->exclude_tags, &p->nexclude_tags));
    return PROTO_OK;
}

/* [total, clamped, lost, min, max, sum, pairs] into h (initialised by the caller).
 * The counts must add up: sum(counts) + lost == total, clamped <= total; a non-empty
 * histogram has min <= max <= HIST_MAX_US, and unless values were lost its first and
 * last indexes are those of min and max. */
static int d_hist(dec *d, const msgpack_object *o, hist *h)
{
    uint32_t n, np;
    uint64_t total, clamped, lost, min, max, sum;
    TRY(d_array(o, 7, &n));
    const msgpack_object *f = o->via.array.ptr;
    TRY(d_u64(&f[0], &total));
    TRY(d_u64(&f[1], &clamped));
    TRY(d_u64(&f[2], &lost));
    TRY(d_u64(&f[3], &min));
    TRY(d_u64(&f[4], &max));
    TRY(d_u64(&f[5], &sum));
    TRY(d_array(&f[6], 0, &np));
    if (np % 2 != 0 || np / 2 > HIST_NCOUNTS)
        return PROTO_EMALFORMED;

    const msgpack_object *pr = f[6].via.array.ptr;
    uint64_t counted = 0, idx = 0, first = 0;
    for (uint32_t k = 0; k < np; k += 2) {
        uint64_t step, count;
        TRY(d_u64(&pr[k], &step));
        TRY(d_u64(&pr[k + 1], &count));
        if (k > 0 && step == 0)
            return PROTO_EMALFORMED;                    /* indexes must ascend strictly */
        if (step >= HIST_NCOUNTS || (idx += step) >= HIST_NCOUNTS)
            return PROTO_EMALFORMED;
        if (k == 0)
            first = idx;
        if (count == 0 || __builtin_add_overflow(counted, count, &counted))
            return PROTO_EMALFORMED;
        if (hist_add_at(h, (uint32_t)idx, count) != 0)
            return PROTO_ENOMEM;
    }
    /* One histogram holds at most a dense one's memory; the message's sum is capped. */
    d->hist_bytes += hist_bytes(h);
    if (d->hist_bytes > PROTO_DECODE_HIST_BYTES)
        return PROTO_ETOOBIG;
    uint64_t want;
    if (__builtin_add_overflow(counted, lost, &want) || want != total || clamped > total)
        return PROTO_EMALFORMED;
    if (total == 0) {
        if (sum != 0)
            return PROTO_EMALFORMED;
        return 0;                                       /* h stays as hist_init left it */
    }
    if (min > max || max > HIST_MAX_US || (clamped > 0 && max != HIST_MAX_US))
        return PROTO_EMALFORMED;
    if (lost == 0 && (hist_index(min) != first || hist_index(max) != idx))
        return PROTO_EMALFORMED;
    h->total = total;
    h->clamped = clamped;
    h->lost = lost;
    h->min_us = min;
    h->max_us = max;
    h->sum_us = sum;
    return 0;
}

/* STATS's optional 11th field: [intended, started, dropped, backlog_max, lag, cpu_us,
 * wall_us]; lag follows the histogram rules. No relation between the counts is required
 * (an arrival intended in one interval may start or drop in the next). */
static int d_sched(dec *d, const msgpack_object *o, stats_sched *c)
{
    uint32_t n;
    TRY(d_array(o, 7, &n));
    TRY(d_u64(FLD(o, 0), &c->intended));
    TRY(d_u64(FLD(o, 1), &c->started));
    TRY(d_u64(FLD(o, 2), &c->dropped));
    TRY(d_u32(FLD(o, 3), &c->backlog_max));
    TRY(d_hist(d, FLD(o, 4), &c->lag));
    TRY(d_u64(FLD(o, 5), &c->cpu_us));
    return d_u64(FLD(o, 6), &c->wall_us);
}

/* STATS's optional 12th field (issue 13): [lag_max_us, lag_sum_us, lag_n, conns,
 * rss_bytes, proc_cpu_us, retries]; retries (issue 15) is optional (absent: zero, what
 * a peer of issue 13 sends); later elements, if a newer peer appends some, are
 * ignored. */
static int d_health(const msgpack_object *o, stats_health *h)
{
    uint32_t n;
    TRY(d_array(o, 6, &n));
    TRY(d_u64(FLD(o, 0), &h->lag_max_us));
    TRY(d_u64(FLD(o, 1), &h->lag_sum_us));
    TRY(d_u32(FLD(o, 2), &h->lag_n));
    TRY(d_u32(FLD(o, 3), &h->conns));
    TRY(d_u64(FLD(o, 4), &h->rss_bytes));
    TRY(d_u64(FLD(o, 5), &h->proc_cpu_us));
    return n > 6 ? d_u64(FLD(o, 6), &h->retries) : PROTO_OK;
}

static int d_stats(dec *d, const msgpack_object *f, uint32_t nf, proto_stats *s)
{
    uint32_t n;
    hist_init(&s->sched.lag);   /* an absent sched decodes to zero with lag empty */
    TRY(d_u64(&f[0], &s->run_id));
    TRY(d_fixstr(&f[1], s->worker, sizeof s->worker));
    TRY(d_u32(&f[2], &s->thread));
    TRY(d_u64(&f[3], &s->interval));
    TRY(d_u32(&f[4], &s->users));
    TRY(d_u64(&f[5], &s->cancelled));
    TRY(d_u64(&f[6], &s->names_folded));
    TRY(d_bool(&f[7], &s->final));

    TRY(d_array(&f[8], 0, &n));
    if (n > PROTO_MAX_ENTRIES)
        return PROTO_EMALFORMED;
    if (n) {
        if ((s->entries = calloc(n, sizeof *s->entries)) == NULL)
            return PROTO_ENOMEM;
        s->nentries = n;
        for (uint32_t i = 0; i < n; i++) {
            hist_init(&s->entries[i].lat);
            hist_init(&s->entries[i].svc);
        }
        for (uint32_t i = 0; i < n; i++) {
            proto_stats_entry *e = &s->entries[i];
            const msgpack_object *o = FLD(&f[8], i);
            uint32_t ne;
            TRY(d_array(o, 6, &ne));
            TRY(d_fixstr(FLD(o, 0), e->method, sizeof e->method));
            TRY(d_fixstr(FLD(o, 1), e->name, sizeof e->name));
            /* names and details end up in JSON, CSV and HTML: valid UTF-8 only, whatever
             * a worker (or whoever speaks for one) sent */
            util_utf8_clean(e->method);
            util_utf8_clean(e->name);
            e->fig = stats_fig_of(e->method, &e->close_code);
            TRY(d_u64(FLD(o, 2), &e->requests));
            TRY(d_u64(FLD(o, 3), &e->failures));
            TRY(d_u64(FLD(o, 4), &e->bytes));
            TRY(d_hist(d, FLD(o, 5), &e->lat));
            if (ne > 6)     /* 7th (issue 11): svc, the service histogram; absent empty */
                TRY(d_hist(d, FLD(o, 6), &e->svc));
        }
    }

    TRY(d_array(&f[9], 0, &n));
    if (n > PROTO_MAX_ERRS)
        return PROTO_EMALFORMED;
    if (n) {
        if ((s->errs = calloc(n, sizeof *s->errs)) == NULL)
            return PROTO_ENOMEM;
        s->nerrs = n;
        for (uint32_t i = 0; i < n; i++) {
            proto_stats_err *r = &s->errs[i];
            const msgpack_object *o = FLD(&f[9], i);
            uint32_t ne;
            TRY(d_array(o, 4, &ne));
            TRY(d_u32(FLD(o, 0), &r->entry));
            TRY(d_u32(FLD(o, 1), &r->kind));
            TRY(d_fixstr(FLD(o, 2), r->detail, sizeof r->detail));
            util_utf8_clean(r->detail);
            TRY(d_u64(FLD(o, 3), &r->count));
            if (r->entry >= s->nentries || r->kind >= ERR_KIND_COUNT)
                return PROTO_EMALFORMED;
        }
    }
    if (nf > 10)
        TRY(d_sched(d, &f[10], &s->sched));
    return nf > 11 ? d_health(&f[11], &s->health) : PROTO_OK;   /* absent: zero */
}

/* Positional fields each type needs after version and type. */
static uint32_t d_nfields(int type)
{
    switch (type) {
    case MSG_HELLO: return 8;
    case MSG_PLAN: return 14;    /* env (15th), arrival_rate (16th), tags (17th),
                                  * exclude_tags (18th) optional: absent none */
    case MSG_STOP: return 2;
    case MSG_STATS: return 10;   /* sched (11th), health (12th) optional: absent zero */
    case MSG_DONE: return 4;
    case MSG_REFUSE: return 3;
    case MSG_HEARTBEAT: return 3;
    case MSG_CHALLENGE: return 2;
    case MSG_WELCOME: return 2;
    case MSG_REJECT: return 1;
    case MSG_ADOPT: return 2;
    case MSG_RELEASE: return 2;
    case MSG_ACK: return 1;
    default: return 0;
    }
}

static int d_msg(const msgpack_object *root, proto_msg *m)
{
    uint32_t n;
    uint64_t version, type;
    TRY(d_array(root, 2, &n));
    const msgpack_object *a = root->via.array.ptr;
    TRY(d_u64(&a[0], &version));
    if (version != PROTO_VERSION)
        return PROTO_EVERSION;
    TRY(d_u64(&a[1], &type));
    uint32_t need = type <= MSG_ACK ? d_nfields((int)type) : 0;
    if (need == 0)
        return PROTO_ETYPE;
    if (n - 2 < need)
        return PROTO_EMALFORMED;
    m->type = (proto_type)type;
    const msgpack_object *f = a + 2;
    dec d = { 0 };

    switch (m->type) {
    case MSG_HELLO:
        return d_hello(f, &m->u.hello);
    case MSG_PLAN:
        return d_plan(f, n - 2, &m->u.plan);
    case MSG_STOP:
        TRY(d_u64(&f[0], &m->u.stop.run_id));
        return d_u64(&f[1], &m->u.stop.graceful_ms);
    case MSG_STATS:
        return d_stats(&d, f, n - 2, &m->u.stats);
    case MSG_DONE:
        TRY(d_u64(&f[0], &m->u.done.run_id));
        TRY(d_fixstr(&f[1], m->u.done.worker, sizeof m->u.done.worker));
        TRY(d_u32(&f[2], &m->u.done.threads));
        return d_fixstr(&f[3], m->u.done.reason, sizeof m->u.done.reason);
    case MSG_REFUSE:
        TRY(d_u64(&f[0], &m->u.refuse.run_id));
        TRY(d_fixstr(&f[1], m->u.refuse.worker, sizeof m->u.refuse.worker));
        return d_fixstr(&f[2], m->u.refuse.reason, sizeof m->u.refuse.reason);
    case MSG_HEARTBEAT:
        TRY(d_u64(&f[0], &m->u.heartbeat.seq));
        TRY(d_u64(&f[1], &m->u.heartbeat.wall_ms));
        return d_double(&f[2], &m->u.heartbeat.cpu_pct);
    case MSG_CHALLENGE:
        TRY(d_fixbin(&f[0], m->u.challenge.nonce, sizeof m->u.challenge.nonce));
        return d_bool(&f[1], &m->u.challenge.key_required);
    case MSG_WELCOME:
        TRY(d_fixstr(&f[0], m->u.welcome.master, sizeof m->u.welcome.master));
        return d_proof(&f[1], m->u.welcome.proof, &m->u.welcome.has_proof);
    case MSG_REJECT:
        return d_fixstr(&f[0], m->u.reject.reason, sizeof m->u.reject.reason);
    case MSG_ADOPT:
    case MSG_RELEASE:
        TRY(d_u64(&f[0], &m->u.slots.run_id));
        return d_slots(&f[1], &m->u.slots.slots, &m->u.slots.nslots);
    case MSG_ACK:
        return d_u64(&f[0], &m->u.ack.run_id);
    }
    return PROTO_ETYPE;
}

int proto_decode(const char *buf, size_t len, proto_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len > PROTO_MAX_MSG)
        return PROTO_ETOOBIG;
    if (buf == NULL || len == 0 || proto_prescan((const uint8_t *)buf, len, NULL) != 0)
        return PROTO_EMALFORMED;

    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    msgpack_unpack_return ur = msgpack_unpack_next(&up, buf, len, &off);
    int rv;
    if (ur == MSGPACK_UNPACK_SUCCESS && off == len)
        rv = d_msg(&up.data, m);
    else
        rv = ur == MSGPACK_UNPACK_NOMEM_ERROR ? PROTO_ENOMEM : PROTO_EMALFORMED;
    msgpack_unpacked_destroy(&up);
    if (rv != PROTO_OK)
        proto_msg_free(m);
    return rv;
}

