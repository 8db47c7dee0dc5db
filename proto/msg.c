/* Wire codec: proto_msg <-> msgpack (proto/PROTOCOL.md is the reference; msg.h the API).
 * This file: names, encoding and freeing; proto/msg_decode.c: the hostile-input decoder
 * (pre-scan and strict conversion). The decisions below hold for both.
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
 *   must be finite and >= 0; plan.arrival_rate also <= SC_MAX_RATE.
 * - Issue 11 appended optional fields, PROTO_VERSION unchanged (a revision-4 peer
 *   ignores trailing fields): an entry's 7th, svc (sent only when not empty); STATS's
 *   11th, sched (always sent); PLAN's 16th, arrival_rate (always sent, 0 none). Absent,
 *   they decode to empty / zero. An entry "ITER" is an entry like any other.
 * - Issue 13 appended STATS's 12th, health (always sent; absent: zero). Its figures are
 *   taken as sent (no relation between them is required): the master's readers guard
 *   their divisions (lag_n 0) themselves.
 * - Issue 15 appended health's 7th element, retries (always sent; absent: zero), as a
 *   u64 like the others; elements after it are ignored.
 * - Issue 12 appended PLAN's 17th and 18th, tags and exclude_tags (arrays of strings,
 *   always sent, empty when none): at most PROTO_MAX_TAGS, each 1..PROTO_TAG_MAX bytes
 *   without NUL, else malformed. The encoder sends what it is given; plan_scenario
 *   refuses a PLAN over those bounds before it is sent.
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
#include "common/loadshape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

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

/* [method, name, requests, failures, bytes, lat] and, only when svc is not empty (the
 * open model), a 7th field svc: a closed-model entry is byte for byte what revision 4
 * sent before the open model. */
static int pk_entry(msgpack_packer *pk, const stats_row *e)
{
    bool svc = e->svc.total > 0;
    PK(msgpack_pack_array(pk, svc ? 7 : 6));
    PK(pk_fixstr(pk, e->method, STATS_METHOD_MAX));
    PK(pk_fixstr(pk, e->name, STATS_NAME_MAX));
    PK(msgpack_pack_uint64(pk, e->requests));
    PK(msgpack_pack_uint64(pk, e->failures));
    PK(msgpack_pack_uint64(pk, e->bytes));
    PK(pk_hist(pk, &e->lat));
    return svc ? pk_hist(pk, &e->svc) : 0;
}

/* STATS's 11th field: [intended, started, dropped, backlog_max, lag, cpu_us, wall_us]. */
static int pk_sched(msgpack_packer *pk, const stats_sched *c)
{
    PK(msgpack_pack_array(pk, 7));
    PK(msgpack_pack_uint64(pk, c->intended));
    PK(msgpack_pack_uint64(pk, c->started));
    PK(msgpack_pack_uint64(pk, c->dropped));
    PK(msgpack_pack_uint32(pk, c->backlog_max));
    PK(pk_hist(pk, &c->lag));
    PK(msgpack_pack_uint64(pk, c->cpu_us));
    return msgpack_pack_uint64(pk, c->wall_us);
}

/* STATS's 12th field: [lag_max_us, lag_sum_us, lag_n, conns, rss_bytes, proc_cpu_us,
 * retries] (retries appended by issue 15). */
static int pk_health(msgpack_packer *pk, const stats_health *h)
{
    PK(msgpack_pack_array(pk, 7));
    PK(msgpack_pack_uint64(pk, h->lag_max_us));
    PK(msgpack_pack_uint64(pk, h->lag_sum_us));
    PK(msgpack_pack_uint32(pk, h->lag_n));
    PK(msgpack_pack_uint32(pk, h->conns));
    PK(msgpack_pack_uint64(pk, h->rss_bytes));
    PK(msgpack_pack_uint64(pk, h->proc_cpu_us));
    return msgpack_pack_uint64(pk, h->retries);
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
    PK(pk_envelope(pk, MSG_STATS, 12));     /* the 11th, sched, follows the errors,
                                             * the 12th, health, follows sched */
    PK(msgpack_pack_uint64(pk, run_id));
    PK(pk_fixstr(pk, worker ? worker : "", PROTO_ID_MAX));
    PK(msgpack_pack_uint32(pk, thread));
    PK(msgpack_pack_uint64(pk, interval));
    PK(msgpack_pack_uint32(pk, users));
    PK(msgpack_pack_uint64(pk, cancelled));
    PK(msgpack_pack_uint64(pk, names_folded));
    return final ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* An array of C strings (a NULL entry travels as ""). */
static int pk_strs(msgpack_packer *pk, char *const *v, uint32_t n)
{
    PK(msgpack_pack_array(pk, n));
    for (uint32_t i = 0; i < n; i++)
        PK(pk_cstr(pk, v[i] ? v[i] : ""));
    return 0;
}

static int pk_plan(msgpack_packer *pk, const proto_plan *p)
{
    PK(pk_envelope(pk, MSG_PLAN, 18));
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
    /* a value no decoder accepts is sent as 0 (none) rather than making the PLAN
     * malformed at the worker: plan_scenario (proto/plan.h) refuses it first */
    double ar = p->arrival_rate;
    PK(msgpack_pack_double(pk, isfinite(ar) && ar > 0 && ar <= SC_MAX_RATE ? ar : 0.0));
    /* 17th and 18th (issue 12): tags, exclude_tags; a NULL list travels empty */
    PK(pk_strs(pk, p->tags, p->tags ? p->ntags : 0));
    return pk_strs(pk, p->exclude_tags, p->exclude_tags ? p->nexclude_tags : 0);
}

static int pk_stats(msgpack_packer *pk, const proto_stats *s)
{
    uint32_t ne = s->entries ? s->nentries : 0, nr = s->errs ? s->nerrs : 0;
    PK(pk_stats_head(pk, s->run_id, s->worker, s->thread, s->interval, s->users, s->cancelled,
                     s->names_folded, s->final));
    PK(msgpack_pack_array(pk, ne));
    for (uint32_t i = 0; i < ne; i++) {
        PK(pk_entry(pk, &s->entries[i]));
    }
    PK(msgpack_pack_array(pk, nr));
    for (uint32_t i = 0; i < nr; i++) {
        const proto_stats_err *r = &s->errs[i];
        PK(pk_err(pk, r->entry, r->kind, r->detail, r->count));
    }
    PK(pk_sched(pk, &s->sched));
    return pk_health(pk, &s->health);
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
        PK(pk_entry(pk, &s->entries[i]));
    }
    PK(msgpack_pack_array(pk, nerrs));
    for (uint32_t k = 0; k < s->nerrs; k++) {
        const stats_err *r = &s->errs[k];
        if (r->count == 0 || r->entry >= slots || wire_id[r->entry] == UINT32_MAX)
            continue;       /* count 0; an entry id outside the shard cannot happen */
        PK(pk_err(pk, wire_id[r->entry], (uint32_t)r->kind, r->detail, r->count));
    }
    PK(pk_sched(pk, &s->sched));
    return pk_health(pk, &s->health);
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
        for (uint32_t i = 0; p->tags && i < p->ntags; i++)
            free(p->tags[i]);
        free(p->tags);
        for (uint32_t i = 0; p->exclude_tags && i < p->nexclude_tags; i++)
            free(p->exclude_tags[i]);
        free(p->exclude_tags);
    } else if (m->type == MSG_ADOPT || m->type == MSG_RELEASE) {
        free(m->u.slots.slots);
    } else if (m->type == MSG_STATS) {
        proto_stats *s = &m->u.stats;
        for (uint32_t i = 0; s->entries && i < s->nentries; i++) {
            hist_fini(&s->entries[i].lat);
            hist_fini(&s->entries[i].svc);
        }
        free(s->entries);
        free(s->errs);
        hist_fini(&s->sched.lag);
    }
    memset(m, 0, sizeof *m);
}
