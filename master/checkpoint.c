/* The run's checkpoint: see master/checkpoint.h (format, cost, what the decoder checks).
 *
 * Decisions the header leaves open, written down here:
 * - The totals are stored as STATS messages of the wire protocol, so their histograms
 *   travel in the one sparse, gap-coded form the project has, and are read back by the
 *   wire's hostile-input decoder (proto_decode), fuzzed on its own. Error rows are not
 *   in those messages (a message holds at most PROTO_MAX_ERRS and names them by entry
 *   index; the totals hold up to MERGE_ERR_CAP(name_cap) rows by name): they are a
 *   plain array of their own.
 * - Loading adds the entries to an empty set without a name cap (a saved set already
 *   respects it; folding again could only move names), then sets the run's cap.
 *   cpu_max and limited_intervals are the saved values (merge_add would derive cpu_max
 *   from the summed schedule, which is not the busiest interval's).
 * - A worker's state is read back as one of the coordinator's words ("running",
 *   "finished", "stopped", "lost", "left", "missing", "refused", "idle"); any other
 *   text becomes "unknown".
 * - The file holds no scenario text (scenario.yaml does, written once). */
#include "master/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/util.h"
#include "proto/msg.h"

#define CK_NFIELDS 21   /* fields of version 1 */

/* ------------------------------------------------------------------------------ */
/* Encoding                                                                        */

#define PK(call)                                                                   \
    do {                                                                           \
        if ((call) != 0)                                                           \
            return -1;                                                             \
    } while (0)

static int ck_str(msgpack_packer *pk, const char *s)
{
    size_t n = s ? strnlen(s, CHECKPOINT_TEXT_MAX - 1) : 0;
    PK(msgpack_pack_str(pk, n));
    return msgpack_pack_str_body(pk, s ? s : "", n);
}

/* One STATS message holding entries [from, from + n) of t (and, for the first, the
 * schedule, cancelled and names_folded), as a bin. */
static int ck_blob(msgpack_packer *pk, const merge_set *t, uint32_t from, uint32_t n)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_STATS;
    proto_stats *s = &m.u.stats;
    s->entries = t->entries + from;
    s->nentries = n;
    if (from == 0) {
        s->sched = t->sched;            /* shallow: lag is only read */
        s->cancelled = t->cancelled;
        s->names_folded = t->names_folded;
    } else {
        hist_init(&s->sched.lag);
    }
    char *buf;
    size_t len;
    if (proto_encode(&m, &buf, &len) != 0)
        return -1;
    int rv = msgpack_pack_bin(pk, len) != 0 || msgpack_pack_bin_body(pk, buf, len) != 0 ? -1 : 0;
    free(buf);
    return rv;
}

static int ck_pack(msgpack_packer *pk, const checkpoint_run *r, const merge_set *t)
{
    const scenario *sc = r->sc;
    PK(msgpack_pack_array(pk, CK_NFIELDS));
    PK(ck_str(pk, CHECKPOINT_MAGIC));
    PK(msgpack_pack_uint32(pk, CHECKPOINT_VERSION));
    PK(msgpack_pack_uint64(pk, r->run_id));
    PK(ck_str(pk, sc ? sc->name : NULL));
    PK(ck_str(pk, sc ? sc->file : NULL));
    PK(ck_str(pk, r->target ? r->target : sc ? sc->target : NULL));
    PK(msgpack_pack_uint32(pk, sc && sc->model == SC_MODEL_OPEN ? 1 : 0));
    PK(msgpack_pack_uint64(pk, r->start_wall_ms));
    PK(msgpack_pack_uint64(pk, r->covered_wall_ms));
    PK(msgpack_pack_uint64(pk, r->intervals));
    PK(msgpack_pack_uint32(pk, r->interval_ms));
    PK(msgpack_pack_uint32(pk, sc ? scenario_peak_users(sc) : 0));
    PK(msgpack_pack_uint64(pk, sc ? scenario_duration_ms(sc) : 0));
    PK(msgpack_pack_uint32(pk, r->name_cap));
    int nth = sc ? sc->nthresholds : 0;
    PK(msgpack_pack_array(pk, (size_t)nth));
    for (int i = 0; i < nth; i++)
        PK(ck_str(pk, sc->thresholds[i].expr));
    PK(msgpack_pack_array(pk, (size_t)(r->nworkers > 0 ? r->nworkers : 0)));
    for (int i = 0; i < r->nworkers; i++) {
        const results_worker *w = &r->workers[i];
        PK(msgpack_pack_array(pk, 7));
        PK(ck_str(pk, w->id));
        PK(ck_str(pk, w->host));
        PK(msgpack_pack_uint32(pk, w->threads));
        PK(msgpack_pack_uint64(pk, w->requests));
        PK(ck_str(pk, w->state));
        PK(msgpack_pack_uint64(pk, w->lost_at_ms));
        PK(msgpack_pack_uint64(pk, w->missing_requests_max));
    }
    PK(msgpack_pack_uint64(pk, r->missing_requests_max));
    PK(msgpack_pack_double(pk, isfinite(t->cpu_max) && t->cpu_max >= 0 ? t->cpu_max : 0.0));
    PK(msgpack_pack_uint64(pk, t->limited_intervals));
    PK(msgpack_pack_array(pk, t->nerrs));
    for (uint32_t i = 0; i < t->nerrs; i++) {
        const merge_err *e = &t->errs[i];
        PK(msgpack_pack_array(pk, 5));
        PK(ck_str(pk, e->method));
        PK(ck_str(pk, e->name));
        PK(msgpack_pack_uint32(pk, (uint32_t)e->kind));
        PK(ck_str(pk, e->detail));
        PK(msgpack_pack_uint64(pk, e->count));
    }
    uint32_t nblobs = t->n == 0 ? 1 : (t->n + CHECKPOINT_BLOB_ENTRIES - 1) / CHECKPOINT_BLOB_ENTRIES;
    PK(msgpack_pack_array(pk, nblobs));
    for (uint32_t b = 0; b < nblobs; b++) {
        uint32_t from = b * CHECKPOINT_BLOB_ENTRIES;
        uint32_t n = t->n - from < CHECKPOINT_BLOB_ENTRIES ? t->n - from : CHECKPOINT_BLOB_ENTRIES;
        PK(ck_blob(pk, t, from, n));
    }
    return 0;
}

int checkpoint_encode(const checkpoint_run *r, const merge_set *totals, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (ck_pack(&pk, r, totals) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    if (*buf == NULL) {                 /* an empty buffer cannot happen (the array) */
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------ */
/* Writing a file atomically                                                       */

static void ck_err(char *err, size_t errcap, const char *what, const char *path, int e)
{
    if (err != NULL && errcap > 0)
        snprintf(err, errcap, "%s %s: %s", what, path, strerror(e));
}

/* DIR/name.tmp written, fsync'd, renamed to DIR/name, then DIR fsync'd. */
static int ck_write_atomic(const char *dir, const char *name, const char *buf, size_t len,
                           char *err, size_t errcap)
{
    char path[1400], tmp[1410];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "results path too long for %s", name);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ck_err(err, errcap, "cannot write", tmp, errno);
        return -1;
    }
    size_t off = 0;
    int e = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0) {
        ck_err(err, errcap, "cannot write", tmp, e);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        ck_err(err, errcap, "cannot rename to", path, errno);
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        ck_err(err, errcap, "cannot sync", dir, errno);
        return -1;
    }
    int rc = fsync(dfd);
    e = errno;
    close(dfd);
    if (rc != 0 && e != EINVAL && e != ENOTSUP) {
        ck_err(err, errcap, "cannot sync", dir, e);
        return -1;
    }
    return 0;
}

int checkpoint_save(const char *dir, const checkpoint_run *r, const merge_set *totals,
                    char *err, size_t errcap)
{
    char *buf;
    size_t len;
    if (checkpoint_encode(r, totals, &buf, &len) != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory encoding %s", CHECKPOINT_FILE);
        return -1;
    }
    int rv = ck_write_atomic(dir, CHECKPOINT_FILE, buf, len, err, errcap);
    free(buf);
    return rv;
}

int checkpoint_save_scenario(const char *dir, const char *text, size_t len, char *err, size_t errcap)
{
    return ck_write_atomic(dir, CHECKPOINT_SCENARIO_FILE, text ? text : "", text ? len : 0, err, errcap);
}

/* ------------------------------------------------------------------------------ */
/* Decoding (hostile input)                                                        */

typedef struct ck_dec {
    char  *err;
    size_t errcap;
} ck_dec;

/* Every failure says which field; returns -1. */
static int ck_bad(ck_dec *d, const char *what)
{
    if (d->err != NULL && d->errcap > 0)
        snprintf(d->err, d->errcap, "%s is truncated or corrupt: bad %s", CHECKPOINT_FILE, what);
    return -1;
}

#define TRY(call)                                                                  \
    do {                                                                           \
        if ((call) != 0)                                                           \
            return -1;                                                             \
    } while (0)

static int ck_array(ck_dec *d, const msgpack_object *o, uint32_t min, uint32_t max,
                    const char *what, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < min || o->via.array.size > max)
        return ck_bad(d, what);
    *n = o->via.array.size;
    return 0;
}

static int ck_u64(ck_dec *d, const msgpack_object *o, const char *what, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ck_bad(d, what);
    *v = o->via.u64;
    return 0;
}

static int ck_u32(ck_dec *d, const msgpack_object *o, const char *what, uint32_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return ck_bad(d, what);
    *v = (uint32_t)o->via.u64;
    return 0;
}

/* A str of at most cap - 1 bytes without NUL, cleaned to UTF-8. */
static int ck_text(ck_dec *d, const msgpack_object *o, const char *what, char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return ck_bad(d, what);
    size_t n = o->via.str.size;
    if (n && memchr(o->via.str.ptr, '\0', n) != NULL)
        return ck_bad(d, what);
    if (n)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
    util_utf8_clean(dst);
    return 0;
}

static const char *ck_state(const char *s)
{
    static const char *const known[] = { "running", "finished", "stopped", "lost", "left",
                                         "missing", "refused", "idle" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return "unknown";
}

static int ck_workers(ck_dec *d, const msgpack_object *o, checkpoint_data *out)
{
    uint32_t n;
    TRY(ck_array(d, o, 0, CHECKPOINT_MAX_WORKERS, "workers", &n));
    if (n == 0)
        return 0;
    if ((out->workers = calloc(n, sizeof *out->workers)) == NULL)
        return ck_bad(d, "workers (out of memory)");
    out->nworkers = n;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *w = &o->via.array.ptr[i];
        results_worker *rw = &out->workers[i];
        uint32_t nf;
        char state[32];
        TRY(ck_array(d, w, 7, UINT32_MAX, "worker", &nf));
        const msgpack_object *f = w->via.array.ptr;
        TRY(ck_text(d, &f[0], "worker id", rw->id, sizeof rw->id));
        TRY(ck_text(d, &f[1], "worker host", rw->host, sizeof rw->host));
        TRY(ck_u32(d, &f[2], "worker threads", &rw->threads));
        TRY(ck_u64(d, &f[3], "worker requests", &rw->requests));
        TRY(ck_text(d, &f[4], "worker state", state, sizeof state));
        TRY(ck_u64(d, &f[5], "worker lost_at_ms", &rw->lost_at_ms));
        TRY(ck_u64(d, &f[6], "worker missing_max", &rw->missing_requests_max));
        rw->state = ck_state(state);
        if (rw->lost_at_ms > out->start_wall_ms)
            rw->lost_at_s = (double)(rw->lost_at_ms - out->start_wall_ms) / 1000.0;
    }
    return 0;
}

static int ck_thresholds(ck_dec *d, const msgpack_object *o, checkpoint_data *out)
{
    uint32_t n;
    TRY(ck_array(d, o, 0, CHECKPOINT_MAX_THRESHOLDS, "thresholds", &n));
    if (n == 0)
        return 0;
    if ((out->thresholds = calloc(n, sizeof *out->thresholds)) == NULL)
        return ck_bad(d, "thresholds (out of memory)");
    out->nthresholds = n;
    for (uint32_t i = 0; i < n; i++) {
        char buf[CHECKPOINT_TEXT_MAX];
        TRY(ck_text(d, &o->via.array.ptr[i], "threshold", buf, sizeof buf));
        if ((out->thresholds[i] = strdup(buf)) == NULL)
            return ck_bad(d, "threshold (out of memory)");
    }
    return 0;
}

static int ck_errors(ck_dec *d, const msgpack_object *o, merge_set *t)
{
    uint32_t n;
    TRY(ck_array(d, o, 0, CHECKPOINT_MAX_ERRORS, "errors", &n));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        uint32_t nf, kind;
        uint64_t count;
        char method[STATS_METHOD_MAX], name[STATS_NAME_MAX], detail[STATS_DETAIL_MAX];
        TRY(ck_array(d, e, 5, UINT32_MAX, "error row", &nf));
        const msgpack_object *f = e->via.array.ptr;
        TRY(ck_text(d, &f[0], "error method", method, sizeof method));
        TRY(ck_text(d, &f[1], "error name", name, sizeof name));
        TRY(ck_u32(d, &f[2], "error kind", &kind));
        TRY(ck_text(d, &f[3], "error detail", detail, sizeof detail));
        TRY(ck_u64(d, &f[4], "error count", &count));
        if (kind >= ERR_KIND_COUNT)
            return ck_bad(d, "error kind");
        if (merge_add_err(t, method, name, (stats_err_kind)kind, detail, count) != 0)
            return ck_bad(d, "error row (out of memory)");
    }
    return 0;
}

/* The totals: STATS messages decoded by the wire decoder and added to t. */
static int ck_totals(ck_dec *d, const msgpack_object *o, merge_set *t)
{
    uint32_t n;
    TRY(ck_array(d, o, 1, PROTO_MAX_ENTRIES / CHECKPOINT_BLOB_ENTRIES + 1, "totals", &n));
    uint64_t entries = 0;
    size_t held = 0;
    for (uint32_t b = 0; b < n; b++) {
        const msgpack_object *bin = &o->via.array.ptr[b];
        if (bin->type != MSGPACK_OBJECT_BIN)
            return ck_bad(d, "totals part");
        proto_msg m;
        int rv = proto_decode(bin->via.bin.ptr, bin->via.bin.size, &m);
        if (rv != PROTO_OK) {
            if (d->err != NULL && d->errcap > 0)
                snprintf(d->err, d->errcap, "%s is truncated or corrupt: totals part %u: %s",
                         CHECKPOINT_FILE, b, proto_strerror(rv));
            return -1;
        }
        if (m.type != MSG_STATS || m.u.stats.nerrs != 0) {
            proto_msg_free(&m);
            return ck_bad(d, "totals part (not statistics)");
        }
        entries += m.u.stats.nentries;
        for (uint32_t i = 0; i < m.u.stats.nentries; i++)
            held += hist_bytes(&m.u.stats.entries[i].lat) + hist_bytes(&m.u.stats.entries[i].svc);
        held += hist_bytes(&m.u.stats.sched.lag);
        if (entries > PROTO_MAX_ENTRIES || held > CHECKPOINT_MAX_HIST_BYTES) {
            proto_msg_free(&m);
            return ck_bad(d, "totals (too large)");
        }
        rv = merge_add(t, &m.u.stats);
        proto_msg_free(&m);
        if (rv != 0)
            return ck_bad(d, "totals (out of memory)");
    }
    return 0;
}

static int ck_root(ck_dec *d, const msgpack_object *root, checkpoint_data *out)
{
    char magic[32];
    uint32_t nf, version, model, nfw;
    double cpu_max;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2 ||
        ck_text(d, &root->via.array.ptr[0], "magic", magic, sizeof magic) != 0 ||
        strcmp(magic, CHECKPOINT_MAGIC) != 0) {
        if (d->err != NULL && d->errcap > 0)
            snprintf(d->err, d->errcap, "%s is not a Stampede checkpoint", CHECKPOINT_FILE);
        return -1;
    }
    const msgpack_object *f = root->via.array.ptr;
    TRY(ck_u32(d, &f[1], "version", &version));
    if (version != CHECKPOINT_VERSION) {
        if (d->err != NULL && d->errcap > 0)
            snprintf(d->err, d->errcap, "%s has format version %u; this build reads version %d",
                     CHECKPOINT_FILE, version, CHECKPOINT_VERSION);
        return -1;
    }
    TRY(ck_array(d, root, CK_NFIELDS, UINT32_MAX, "field count", &nf));
    TRY(ck_u64(d, &f[2], "run id", &out->run_id));
    TRY(ck_text(d, &f[3], "scenario name", out->name, sizeof out->name));
    TRY(ck_text(d, &f[4], "scenario file", out->file, sizeof out->file));
    TRY(ck_text(d, &f[5], "target", out->target, sizeof out->target));
    TRY(ck_u32(d, &f[6], "model", &model));
    if (model > 1)
        return ck_bad(d, "model");
    out->model = model == 1 ? SC_MODEL_OPEN : SC_MODEL_CLOSED;
    TRY(ck_u64(d, &f[7], "start", &out->start_wall_ms));
    TRY(ck_u64(d, &f[8], "covered end", &out->covered_wall_ms));
    TRY(ck_u64(d, &f[9], "intervals", &out->intervals));
    TRY(ck_u32(d, &f[10], "interval_ms", &out->interval_ms));
    TRY(ck_u32(d, &f[11], "peak users", &out->peak_users));
    TRY(ck_u64(d, &f[12], "stages_ms", &out->stages_ms));
    TRY(ck_u32(d, &f[13], "name cap", &out->name_cap));
    if (out->covered_wall_ms < out->start_wall_ms || out->interval_ms == 0 ||
        out->interval_ms > 3600000u)
        return ck_bad(d, "times (the covered end is before the start, or the interval is out of range)");
    TRY(ck_thresholds(d, &f[14], out));
    TRY(ck_workers(d, &f[15], out));
    TRY(ck_u64(d, &f[16], "missing requests", &out->missing_requests_max));
    if (f[17].type == MSGPACK_OBJECT_FLOAT32 || f[17].type == MSGPACK_OBJECT_FLOAT64)
        cpu_max = f[17].via.f64;
    else
        return ck_bad(d, "cpu_max");
    if (!isfinite(cpu_max) || cpu_max < 0)
        return ck_bad(d, "cpu_max");
    uint64_t limited;
    TRY(ck_u64(d, &f[18], "limited intervals", &limited));
    TRY(ck_array(d, &f[19], 0, CHECKPOINT_MAX_ERRORS, "errors", &nfw));
    TRY(ck_totals(d, &f[20], &out->totals));
    TRY(ck_errors(d, &f[19], &out->totals));
    out->totals.cpu_max = cpu_max;
    out->totals.limited_intervals = limited;
    merge_set_cap(&out->totals, out->name_cap, NULL);
    return 0;
}

static void ck_data_init(checkpoint_data *d)
{
    memset(d, 0, sizeof *d);
    merge_init(&d->totals);
}

int checkpoint_decode(const char *buf, size_t len, checkpoint_data *out, char *err, size_t errcap)
{
    ck_dec d = { .err = err, .errcap = errcap };
    ck_data_init(out);
    uint64_t objects = 0;
    if (len > CHECKPOINT_MAX_BYTES) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s is too large (%zu bytes, at most %zu)", CHECKPOINT_FILE,
                     len, CHECKPOINT_MAX_BYTES);
        return -1;
    }
    if (buf == NULL || len == 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s is empty", CHECKPOINT_FILE);
        return -1;
    }
    if (proto_prescan((const uint8_t *)buf, len, &objects) != 0)
        return ck_bad(&d, "msgpack structure (a length runs past the end of the file)");
    if (objects > CHECKPOINT_MAX_OBJECTS)
        return ck_bad(&d, "structure (too many objects)");
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    int rv;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, buf, len, &off);
    if (ur == MSGPACK_UNPACK_SUCCESS && off == len)
        rv = ck_root(&d, &up.data, out);
    else
        rv = ck_bad(&d, "msgpack object");
    msgpack_unpacked_destroy(&up);
    if (rv != 0)
        checkpoint_data_fini(out);
    return rv;
}

int checkpoint_load(const char *dir, checkpoint_data *out, char *err, size_t errcap)
{
    char path[1400];
    ck_data_init(out);
    snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINT_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ck_err(err, errcap, "cannot read", path, errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ck_err(err, errcap, "cannot read", path, errno ? errno : EINVAL);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > CHECKPOINT_MAX_BYTES) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s is too large (%lld bytes, at most %zu)", path,
                     (long long)st.st_size, CHECKPOINT_MAX_BYTES);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        close(fd);
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "out of memory reading %s", path);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t r = read(fd, buf + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    int rv = checkpoint_decode(buf, off, out, err, errcap);
    free(buf);
    return rv;
}

void checkpoint_data_fini(checkpoint_data *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < d->nthresholds; i++)
        free(d->thresholds[i]);
    free(d->thresholds);
    free(d->workers);
    merge_fini(&d->totals);
    d->thresholds = NULL;
    d->nthresholds = 0;
    d->workers = NULL;
    d->nworkers = 0;
    merge_init(&d->totals);
}
