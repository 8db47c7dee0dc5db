/* Wire codec: proto_msg <-> msgpack (proto/PROTOCOL.md is the reference; msg.h the API).
 *
 * Envelope: one flat array [PROTO_VERSION, type, field1, field2, ...]; the fields of
 * each type are positional, in the order of its struct in msg.h (a pointer and its
 * count are one array field; has_proof is not sent: the proof is nil). Any array (envelope
 * or nested) may carry more elements than this revision knows: they are ignored, so a
 * later minor revision can append fields. Fewer than required is malformed.
 *
 * Histograms travel as [total, clamped, lost, min_us, max_us, sum_us, pairs] where
 * pairs is a flat array [i0, c0, d1, c1, d2, c2, ...]: i0 is the first non-zero index,
 * each later d is the gap to the previous index (>= 1, so indexes strictly ascend;
 * gaps are small and usually pack as one-byte fixints where absolute indexes would
 * take three). Counts are >= 1. An empty histogram sends min = max = 0.
 *
 * Decoding in three steps, because msgpack-c believes declared lengths (an array32
 * header claiming 10^8 elements makes it allocate for them before it notices the input
 * ended): (1) len <= PROTO_MAX_MSG; (2) proto_prescan walks the raw bytes and proves
 * that every declared count and length fits in the bytes left, that nesting stays
 * within PROTO_MAX_DEPTH and that the buffer is exactly one object; after that
 * msgpack-c's allocations are bounded by the object count, itself <= len; (3)
 * msgpack_unpack_next into a zone, then conversion with strict type checks.
 *
 * Decisions the header leaves open, written down here:
 * - proto_encode also accepts MSG_STATS (from a proto_stats), so a decoded message can
 *   be re-encoded (tests, the fuzz target's round-trip check).
 * - A C-string field must not contain NUL (malformed); the YAML text of a plan and
 *   file contents carry their own lengths and may hold any byte. A NULL scenario_file
 *   or scenario is sent as ""; host is nil when NULL and decodes to NULL.
 * - Double fields (plan.rate) accept float32, float64 or a non-negative integer, and
 *   must be finite and >= 0.
 * - proto_encode_stats skips entries with requests == 0 unless an error row of this
 *   interval points at them (an error must not vanish with its entry); rows with
 *   count 0 are skipped. Error rows are renumbered to the sent entries.
 * - The histograms of one message may hold at most PROTO_DECODE_HIST_BYTES (256 MiB,
 *   as hist_bytes counts): a few bytes on the wire can make a histogram allocate a
 *   1 KiB chunk, so without this cap a 32 MiB message could demand gigabytes.
 *   Exceeding it answers PROTO_ETOOBIG.
 * - Fixed-length bin fields (nonce, proof) must be exactly PROTO_NONCE_LEN /
 *   PROTO_PROOF_LEN bytes. An absent proof (has_proof false) travels as nil and decodes
 *   to has_proof = false with proof zeroed; the encoder ignores proof bytes then.
 * - Slot lists (PLAN, ADOPT, RELEASE) hold at most PROTO_MAX_SLOTS distinct u32; a
 *   plan's slots are each < threads_total. Duplicates are found by sorting a copy, so a
 *   4096-slot list costs O(n log n), not O(n^2). An empty list is valid on the wire
 *   (whether it makes sense is the receiver's call). Order is kept as sent. */
#include "proto/msg.h"
#include "common/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#define PROTO_MAX_DEPTH     16
#define PROTO_DECODE_HIST_BYTES ((size_t)256 << 20)

/* ------------------------------------------------------------------------------ */
/* Names                                                                           */

const char *proto_type_name(int type)
{
    switch (type) {
    case MSG_HELLO: return "hello";
    case MSG_PLAN: return "plan";
    case MSG_STOP: return "stop";
    case MSG_STATS: return "stats";
    case MSG_DONE: return "done";
    case MSG_REFUSE: return "refuse";
    case MSG_HEARTBEAT: return "heartbeat";
    case MSG_CHALLENGE: return "challenge";
    case MSG_WELCOME: return "welcome";
    case MSG_REJECT: return "reject";
    case MSG_ADOPT: return "adopt";
    case MSG_RELEASE: return "release";
    case MSG_ACK: return "ack";
    default: return "unknown";
    }
}

const char *proto_strerror(int rv)
{
    switch (rv) {
    case PROTO_OK: return "ok";
    case PROTO_ETOOBIG: return "message too big";
    case PROTO_EVERSION: return "protocol version mismatch";
    case PROTO_EMALFORMED: return "malformed message";
    case PROTO_ETYPE: return "unknown message type";
    case PROTO_ENOMEM: return "out of memory";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------------------------ */
/* Encoding                                                                        */

/* Every msgpack_pack_* returns non-zero when the sbuffer cannot grow (ENOMEM). */
#define PK(call)                                                                   \
    do {                                                                           \
        if ((call) != 0)                                                           \
            return -1;                                                             \
    } while (0)

static int pk_str(msgpack_packer *pk, const char *s, size_t len)
{
    PK(msgpack_pack_str(pk, len));
    return len ? msgpack_pack_str_body(pk, s, len) : 0;
}

/* A fixed char array field: at most cap - 1 bytes, so the decoder's bound holds even
 * if the caller left the array without its NUL. */
static int pk_fixstr(msgpack_packer *pk, const char *s, size_t cap)
{
    return pk_str(pk, s, strnlen(s, cap - 1));
}

static int pk_cstr(msgpack_packer *pk, const char *s)
{
    return pk_str(pk, s ? s : "", s ? strlen(s) : 0);
}

static int pk_bin(msgpack_packer *pk, const char *p, size_t len)
{
    PK(msgpack_pack_bin(pk, len));
    return len ? msgpack_pack_bin_body(pk, p, len) : 0;
}

/* A proof: bin of PROTO_PROOF_LEN bytes, or nil when there is none. */
static int pk_proof(msgpack_packer *pk, const uint8_t *proof, bool has)
{
    return has ? pk_bin(pk, (const char *)proof, PROTO_PROOF_LEN) : msgpack_pack_nil(pk);
}

static int pk_slots(msgpack_packer *pk, const uint32_t *slots, uint32_t n)
{
    if (slots == NULL)
        n = 0;
    if (n > PROTO_MAX_SLOTS)
        return -1;              /* every decoder would drop it: refuse to encode it */
    PK(msgpack_pack_array(pk, n));
    for (uint32_t i = 0; i < n; i++)
        PK(msgpack_pack_uint32(pk, slots[i]));
    return 0;
}

static int pk_envelope(msgpack_packer *pk, int type, size_t nfields)
{
    PK(msgpack_pack_array(pk, 2 + nfields));
    PK(msgpack_pack_uint32(pk, PROTO_VERSION));
    return msgpack_pack_uint32(pk, (uint32_t)type);
}

/* [total, clamped, lost, min, max, sum, [i0, c0, gap1, c1, ...]] (see the top). */
static int pk_hist(msgpack_packer *pk, const hist *h)
{
    bool empty = h->total == 0;
    PK(msgpack_pack_array(pk, 7));
    PK(msgpack_pack_uint64(pk, h->total));
    PK(msgpack_pack_uint64(pk, h->clamped));
    PK(msgpack_pack_uint64(pk, h->lost));
    PK(msgpack_pack_uint64(pk, empty ? 0 : h->min_us));
    PK(msgpack_pack_uint64(pk, empty ? 0 : h->max_us));
    PK(msgpack_pack_uint64(pk, h->sum_us));
    PK(msgpack_pack_array(pk, 2 * hist_nonzero(h)));
    hist_iter it;
    hist_iter_init(&it, h);
    uint32_t prev = 0;
    bool first = true;
    while (hist_iter_next(&it)) {
        PK(msgpack_pack_uint32(pk, first ? it.idx : it.idx - prev));
        PK(msgpack_pack_uint64(pk, it.count));
        prev = it.idx;
        first = false;
    }
    return 0;
}

static int pk_entry(msgpack_packer *pk, const char *method, const char *name, uint64_t requests,
                    uint64_t failures, uint64_t bytes, const hist *lat)
{
    PK(msgpack_pack_array(pk, 6));
    PK(pk_fixstr(pk, method, STATS_METHOD_MAX));
    PK(pk_fixstr(pk, name, STATS_NAME_MAX));
    PK(msgpack_pack_uint64(pk, requests));
    PK(msgpack_pack_uint64(pk, failures));
    PK(msgpack_pack_uint64(pk, bytes));
    return pk_hist(pk, lat);
}

static int pk_err(msgpack_packer *pk, uint32_t entry, uint32_t kind, const char *detail,
                  uint64_t count)
{
    PK(msgpack_pack_array(pk, 4));
    PK(msgpack_pack_uint32(pk, entry));
    PK(msgpack_pack_uint32(pk, kind));
    PK(pk_fixstr(pk, detail, STATS_DETAIL_MAX));
    return msgpack_pack_uint64(pk, count);
}

/* The STATS envelope up to (not including) the entries array. */
static int pk_stats_head(msgpack_packer *pk, uint64_t run_id, const char *worker, uint32_t thread,
                         uint64_t interval, uint32_t users, uint64_t cancelled,
                         uint64_t names_folded, bool final)
{
    PK(pk_envelope(pk, MSG_STATS, 10));
    PK(msgpack_pack_uint64(pk, run_id));
    PK(pk_fixstr(pk, worker ? worker : "", PROTO_ID_MAX));
    PK(msgpack_pack_uint32(pk, thread));
    PK(msgpack_pack_uint64(pk, interval));
    PK(msgpack_pack_uint32(pk, users));
    PK(msgpack_pack_uint64(pk, cancelled));
    PK(msgpack_pack_uint64(pk, names_folded));
    return final ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static int pk_plan(msgpack_packer *pk, const proto_plan *p)
{
    PK(pk_envelope(pk, MSG_PLAN, 15));
    PK(msgpack_pack_uint64(pk, p->run_id));
    PK(pk_cstr(pk, p->scenario_file));
    PK(pk_str(pk, p->scenario ? p->scenario : "", p->scenario ? p->scenario_len : 0));
    PK(msgpack_pack_array(pk, p->files ? p->nfiles : 0));
    for (uint32_t i = 0; p->files && i < p->nfiles; i++) {
        PK(msgpack_pack_array(pk, 2));
        PK(pk_cstr(pk, p->files[i].path));
        PK(pk_bin(pk, p->files[i].data, p->files[i].data ? p->files[i].len : 0));
    }
    PK(msgpack_pack_array(pk, p->sets ? p->nsets : 0));
    for (uint32_t i = 0; p->sets && i < p->nsets; i++) {
        PK(msgpack_pack_array(pk, 2));
        PK(pk_cstr(pk, p->sets[i].key));
        PK(pk_cstr(pk, p->sets[i].value));
    }
    if (p->host)
        PK(pk_cstr(pk, p->host));
    else
        PK(msgpack_pack_nil(pk));
    PK(msgpack_pack_uint32(pk, p->users));
    PK(msgpack_pack_double(pk, p->rate));
    PK(msgpack_pack_uint64(pk, p->duration_ms));
    PK(pk_slots(pk, p->slots, p->nslots));
    PK(msgpack_pack_uint32(pk, p->threads_total));
    PK(msgpack_pack_uint64(pk, p->start_at_ms));
    PK(msgpack_pack_uint32(pk, p->interval_ms));
    PK(msgpack_pack_uint32(pk, p->name_cap));
    PK(msgpack_pack_array(pk, p->env ? p->nenv : 0));
    for (uint32_t i = 0; p->env && i < p->nenv; i++) {
        PK(msgpack_pack_array(pk, 2));
        PK(pk_cstr(pk, p->env[i].key));
        PK(pk_cstr(pk, p->env[i].value));
    }
    return 0;
}

static int pk_stats(msgpack_packer *pk, const proto_stats *s)
{
    uint32_t ne = s->entries ? s->nentries : 0, nr = s->errs ? s->nerrs : 0;
    PK(pk_stats_head(pk, s->run_id, s->worker, s->thread, s->interval, s->users, s->cancelled,
                     s->names_folded, s->final));
    PK(msgpack_pack_array(pk, ne));
    for (uint32_t i = 0; i < ne; i++) {
        const proto_stats_entry *e = &s->entries[i];
        PK(pk_entry(pk, e->method, e->name, e->requests, e->failures, e->bytes, &e->lat));
    }
    PK(msgpack_pack_array(pk, nr));
    for (uint32_t i = 0; i < nr; i++) {
        const proto_stats_err *r = &s->errs[i];
        PK(pk_err(pk, r->entry, r->kind, r->detail, r->count));
    }
    return 0;
}

static int pk_msg(msgpack_packer *pk, const proto_msg *m)
{
    switch (m->type) {
    case MSG_HELLO: {
        const proto_hello *h = &m->u.hello;
        PK(pk_envelope(pk, MSG_HELLO, 8));
        PK(pk_fixstr(pk, h->id, sizeof h->id));
        PK(pk_fixstr(pk, h->host, sizeof h->host));
        PK(msgpack_pack_uint32(pk, h->cores));
        PK(msgpack_pack_uint32(pk, h->threads));
        PK(pk_fixstr(pk, h->version, sizeof h->version));
        PK(msgpack_pack_uint32(pk, h->caps));
        PK(pk_bin(pk, (const char *)h->nonce, sizeof h->nonce));
        return pk_proof(pk, h->proof, h->has_proof);
    }
    case MSG_PLAN:
        return pk_plan(pk, &m->u.plan);
    case MSG_STOP:
        PK(pk_envelope(pk, MSG_STOP, 2));
        PK(msgpack_pack_uint64(pk, m->u.stop.run_id));
        return msgpack_pack_uint64(pk, m->u.stop.graceful_ms);
    case MSG_STATS:
        return pk_stats(pk, &m->u.stats);
    case MSG_DONE: {
        const proto_done *d = &m->u.done;
        PK(pk_envelope(pk, MSG_DONE, 4));
        PK(msgpack_pack_uint64(pk, d->run_id));
        PK(pk_fixstr(pk, d->worker, sizeof d->worker));
        PK(msgpack_pack_uint32(pk, d->threads));
        return pk_fixstr(pk, d->reason, sizeof d->reason);
    }
    case MSG_REFUSE: {
        const proto_refuse *r = &m->u.refuse;
        PK(pk_envelope(pk, MSG_REFUSE, 3));
        PK(msgpack_pack_uint64(pk, r->run_id));
        PK(pk_fixstr(pk, r->worker, sizeof r->worker));
        return pk_fixstr(pk, r->reason, sizeof r->reason);
    }
    case MSG_HEARTBEAT:
        PK(pk_envelope(pk, MSG_HEARTBEAT, 3));
        PK(msgpack_pack_uint64(pk, m->u.heartbeat.seq));
        PK(msgpack_pack_uint64(pk, m->u.heartbeat.wall_ms));
        return msgpack_pack_double(pk, isfinite(m->u.heartbeat.cpu_pct) && m->u.heartbeat.cpu_pct > 0
                                           ? m->u.heartbeat.cpu_pct : 0.0);
    case MSG_CHALLENGE: {
        const proto_challenge *c = &m->u.challenge;
        PK(pk_envelope(pk, MSG_CHALLENGE, 2));
        PK(pk_bin(pk, (const char *)c->nonce, sizeof c->nonce));
        return c->key_required ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    case MSG_WELCOME: {
        const proto_welcome *w = &m->u.welcome;
        PK(pk_envelope(pk, MSG_WELCOME, 2));
        PK(pk_fixstr(pk, w->master, sizeof w->master));
        return pk_proof(pk, w->proof, w->has_proof);
    }
    case MSG_REJECT:
        PK(pk_envelope(pk, MSG_REJECT, 1));
        return pk_fixstr(pk, m->u.reject.reason, sizeof m->u.reject.reason);
    case MSG_ADOPT:
    case MSG_RELEASE:
        PK(pk_envelope(pk, m->type, 2));
        PK(msgpack_pack_uint64(pk, m->u.slots.run_id));
        return pk_slots(pk, m->u.slots.slots, m->u.slots.nslots);
    case MSG_ACK:
        PK(pk_envelope(pk, MSG_ACK, 1));
        return msgpack_pack_uint64(pk, m->u.ack.run_id);
    }
    return -1;
}

/* Hands the sbuffer's malloc'd bytes to the caller, or frees them on failure. */
static int pk_finish(msgpack_sbuffer *sb, int rv, char **buf, size_t *len)
{
    if (rv != 0 || sb->size == 0) {
        msgpack_sbuffer_destroy(sb);
        return -1;
    }
    *len = sb->size;
    *buf = msgpack_sbuffer_release(sb);
    return 0;
}

int proto_encode(const proto_msg *m, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    return pk_finish(&sb, pk_msg(&pk, m), buf, len);
}

/* The shard's entry ids: 0 .. nentries-1, plus the overflow entry should it sit outside
 * that range (stats.h only promises it is one of the name_cap + 1 slots). */
static uint32_t enc_slots(const stats_shard *s)
{
    uint32_t n = s->nentries;
    if (s->overflow_id >= 0 && (uint32_t)s->overflow_id >= n && (uint32_t)s->overflow_id <= s->name_cap)
        n = (uint32_t)s->overflow_id + 1;
    return n;
}

static bool enc_slot_used(const stats_shard *s, uint32_t i)
{
    return i < s->nentries || (s->overflow_id >= 0 && i == (uint32_t)s->overflow_id);
}

static int pk_shard(msgpack_packer *pk, uint64_t run_id, const char *worker, uint32_t thread,
                    uint64_t interval, bool final, const stats_shard *s, uint32_t *wire_id)
{
    /* An entry is sent when it served requests this interval or an error row of this
     * interval points at it; wire_id maps shard ids to the message's entry indexes. */
    uint32_t slots = enc_slots(s), nsent = 0, nerrs = 0;
    for (uint32_t i = 0; i < slots; i++)
        wire_id[i] = enc_slot_used(s, i) && s->entries[i].requests > 0 ? 0 : UINT32_MAX;
    for (uint32_t k = 0; k < s->nerrs; k++)
        if (s->errs[k].count > 0 && s->errs[k].entry < slots && enc_slot_used(s, s->errs[k].entry))
            wire_id[s->errs[k].entry] = 0;
    for (uint32_t i = 0; i < slots; i++)
        if (wire_id[i] != UINT32_MAX)
            wire_id[i] = nsent++;
    for (uint32_t k = 0; k < s->nerrs; k++)
        if (s->errs[k].count > 0 && s->errs[k].entry < slots && wire_id[s->errs[k].entry] != UINT32_MAX)
            nerrs++;

    PK(pk_stats_head(pk, run_id, worker, thread, interval, s->users, s->cancelled,
                     s->names_folded, final));
    PK(msgpack_pack_array(pk, nsent));
    for (uint32_t i = 0; i < slots; i++) {
        if (wire_id[i] == UINT32_MAX)
            continue;
        const stats_entry *e = &s->entries[i];
        PK(pk_entry(pk, e->method, e->name, e->requests, e->failures, e->bytes, &e->lat));
    }
    PK(msgpack_pack_array(pk, nerrs));
    for (uint32_t k = 0; k < s->nerrs; k++) {
        const stats_err *r = &s->errs[k];
        if (r->count == 0 || r->entry >= slots || wire_id[r->entry] == UINT32_MAX)
            continue;       /* count 0; an entry id outside the shard cannot happen */
        PK(pk_err(pk, wire_id[r->entry], (uint32_t)r->kind, r->detail, r->count));
    }
    return 0;
}

int proto_encode_stats(uint64_t run_id, const char *worker, uint32_t thread, uint64_t interval,
                       bool final, const stats_shard *s, char **buf, size_t *len)
{
    uint32_t slots = enc_slots(s);
    uint32_t *wire_id = malloc((slots ? slots : 1) * sizeof *wire_id);
    if (wire_id == NULL)
        return -1;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rv = pk_shard(&pk, run_id, worker, thread, interval, final, s, wire_id);
    free(wire_id);
    return pk_finish(&sb, rv, buf, len);
}

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
static int proto_prescan(const uint8_t *p, size_t len)
{
    uint64_t open[PROTO_MAX_DEPTH + 1];
    int depth = 0;
    size_t pos = 0;
    open[0] = 1;
    for (;;) {
        while (depth >= 0 && open[depth] == 0)
            depth--;
        if (depth < 0)
            break;
        open[depth]--;
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
    return nf > 14 ? d_pairs(&f[14], PROTO_MAX_ENV, &p->env, &p->nenv) : PROTO_OK;
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

static int d_stats(dec *d, const msgpack_object *f, proto_stats *s)
{
    uint32_t n;
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
        for (uint32_t i = 0; i < n; i++)
            hist_init(&s->entries[i].lat);
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
    return 0;
}

/* Positional fields each type needs after version and type. */
static uint32_t d_nfields(int type)
{
    switch (type) {
    case MSG_HELLO: return 8;
    case MSG_PLAN: return 14;    /* env (15th) is optional: absent is none */
    case MSG_STOP: return 2;
    case MSG_STATS: return 10;
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
        return d_stats(&d, f, &m->u.stats);
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
    if (buf == NULL || len == 0 || proto_prescan((const uint8_t *)buf, len) != 0)
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

/* Frees what a (possibly partly) decoded message holds and zeroes it, so a second
 * call is harmless. Pointers of the other union members are never set. */
void proto_msg_free(proto_msg *m)
{
    if (m == NULL)
        return;
    if (m->type == MSG_PLAN) {
        proto_plan *p = &m->u.plan;
        free(p->scenario_file);
        free(p->scenario);
        for (uint32_t i = 0; p->files && i < p->nfiles; i++) {
            free(p->files[i].path);
            free(p->files[i].data);
        }
        free(p->files);
        for (uint32_t i = 0; p->sets && i < p->nsets; i++) {
            free(p->sets[i].key);
            free(p->sets[i].value);
        }
        free(p->sets);
        for (uint32_t i = 0; p->env && i < p->nenv; i++) {
            free(p->env[i].key);
            free(p->env[i].value);
        }
        free(p->env);
        free(p->host);
        free(p->slots);
    } else if (m->type == MSG_ADOPT || m->type == MSG_RELEASE) {
        free(m->u.slots.slots);
    } else if (m->type == MSG_STATS) {
        proto_stats *s = &m->u.stats;
        for (uint32_t i = 0; s->entries && i < s->nentries; i++)
            hist_fini(&s->entries[i].lat);
        free(s->entries);
        free(s->errs);
    }
    memset(m, 0, sizeof *m);
}
