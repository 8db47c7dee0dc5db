/* Rendering templates (contract: common/tmpl.h) on a virtual user's engine thread: the
 * compiled parts (common/tmpl_int.h) written into the caller's buffer, holes filled from
 * the VU's context. tmpl_render never allocates; tmpl_render_at grows the caller's
 * buffer to its high-water mark.
 *
 * Decisions the header leaves open, written down here:
 * - rand_int, uuid and counter draw each time the template renders, also when the
 *   output was cut and the caller renders again: counter values stay unique, with gaps.
 * - A feeder row beyond the feeder, or a NULL vars/rows/data in the context, renders
 *   the hole empty rather than reading out of bounds.
 * - now_us reads the wall clock (CLOCK_REALTIME) at each render. */
#include "common/tmpl.h"
#include "common/tmpl_int.h"

#include <string.h>

#include "common/data.h"
#include "common/rng.h"
#include "common/time.h"
#include "common/util.h"

/* Output cursor: len counts every byte the full output has; only the first cap - 1 are
 * stored. */
typedef struct tmpl_out { char *buf; size_t cap, len; } tmpl_out;

static inline void tmpl_put(tmpl_out *o, const char *s, size_t n)
{
    if (o->len + 1 < o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

/* What a hole produced: copied raw, or escaped as JSON string content. */
static void tmpl_put_hole(tmpl_out *o, const char *s, size_t n, tmpl_escape esc)
{
    if (esc != TMPL_JSON) {
        tmpl_put(o, s, n);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        tmpl_put(o, s + run, i - run);
        if (ch < 0x20) {
            char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
            tmpl_put(o, u, sizeof u);
        } else {
            char e[2] = { '\\', (char)ch };
            tmpl_put(o, e, sizeof e);
        }
        run = i + 1;
    }
    tmpl_put(o, s + run, n - run);
}

/* Decimal text of v into buf (>= 21 bytes, not terminated); returns its length. */
static size_t tmpl_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static size_t tmpl_i64(char *buf, int64_t v)
{
    if (v >= 0)
        return tmpl_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + tmpl_u64(buf + 1, -(uint64_t)v);
}

/* Uniform in [lo, hi] by multiply-high (no modulo bias worth the name, no loop). */
static int64_t tmpl_rand_range(uint64_t *rng, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the whole 64-bit range */
    uint64_t r = rng_next(rng);
    if (span == 0)
        return (int64_t)r;
    uint64_t off = (uint64_t)(((unsigned __int128)r * span) >> 64);
    return (int64_t)((uint64_t)lo + off);
}

/* Version-4 UUID (RFC 9562 layout: version nibble 4, variant bits 10). */
static void tmpl_uuid(uint64_t *rng, char out[36])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    uint64_t r1 = rng_next(rng), r2 = rng_next(rng);
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(r1 >> (8 * i));
        b[8 + i] = (uint8_t)(r2 >> (8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
}

size_t tmpl_render(const tmpl *t, const tmpl_ctx *c, char *buf, size_t cap)
{
    tmpl_out o = { buf, cap, 0 };
    char num[40];
    for (uint32_t i = 0; t != NULL && i < t->nparts; i++) {
        const tmpl_part *p = &t->parts[i];
        switch (p->kind) {
        case TP_LIT:
            tmpl_put(&o, t->lit + p->a, p->b);
            break;
        case TP_VAR:
            if (c->vars != NULL && c->vars[p->a].set)
                tmpl_put_hole(&o, c->vars[p->a].p, c->vars[p->a].len, t->esc);
            break;
        case TP_FEED: {
            const data_set *d = c->data;
            if (d == NULL || c->rows == NULL || p->a >= d->n)
                break;
            const data_feeder *f = &d->f[p->a];
            uint32_t row = c->rows[p->a];
            if (row >= f->nrows || p->b >= f->ncols)
                break;
            const char *cell = f->cells[(size_t)row * f->ncols + p->b];
            tmpl_put_hole(&o, cell, strlen(cell), t->esc);
            break;
        }
        case TP_RAND:
            tmpl_put(&o, num, tmpl_i64(num, tmpl_rand_range(c->rng, p->lo, p->hi)));
            break;
        case TP_UUID:
            tmpl_uuid(c->rng, num);
            tmpl_put(&o, num, 36);
            break;
        case TP_COUNTER: {
            uint64_t seq = (*c->counter)++;
            uint64_t total = c->threads_total ? c->threads_total : 1;
            tmpl_put(&o, num, tmpl_u64(num, seq * total + c->thread_index + 1));
            break;
        }
        case TP_USER:
            tmpl_put(&o, num, tmpl_u64(num, c->user_id));
            break;
        case TP_NOW_US:
            tmpl_put(&o, num, tmpl_u64(num, time_wall_us()));
            break;
        }
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}

long tmpl_render_at(const tmpl *t, const tmpl_ctx *c, char **buf, size_t *cap, size_t off)
{
    for (;;) {
        size_t room = *cap > off ? *cap - off : 0;
        size_t n = tmpl_render(t, c, room ? *buf + off : NULL, room);
        if (n < room) return (long)n;
        if (util_reserve(buf, cap, off + n + 1) != 0) return -1;
    }
}
