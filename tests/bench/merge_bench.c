/* merge_bench: what the master pays to merge a big run's stats deltas.
 *
 * Simulates 1,000 workers x 200 request names sending one STATS delta each per second
 * and does, for every simulated second, exactly the coordinator's per-delta work
 * (master/coord_run.c coord_stats, master/coord_ring.c ring_add / ring_close_ready):
 * proto_decode each message,
 * merge_add it into its interval's set; when the interval closes, fold the set into the
 * whole-run totals (merge_add_set), read its p95 for the status line, merge_reset it. Not included:
 * nng receive and the interval's history row written to disk (results_history).
 *
 * Inputs are built once, before timing: for each worker a stats_shard (common/stats.h)
 * with NAMES names, each fed REQS latency samples (lognormal, median 20 ms, sigma 0.6,
 * i.e. p95 ~54 ms) plus ~0.5% failures counted as http_status 503, encoded with
 * proto_encode_stats as that worker's delta. Every simulated second merges the same
 * encoded bytes again (the merge does not look at the interval number, and identical
 * histograms cost the same to decode and add as fresh ones of the same spread).
 *
 * Measured: CPU (getrusage RUSAGE_SELF, user + sys) of each simulated second's batch,
 * run back to back as fast as possible. A batch is one real second of deltas, so the
 * share of one core the master needs is cpu_seconds / simulated_seconds. Also peak RSS
 * (ru_maxrss, which includes the encoded inputs; the baseline before merging is printed
 * too) and the delta bytes received per second.
 *
 * Environment: MERGE_BENCH_SECONDS (10), MERGE_BENCH_WORKERS (1000),
 * MERGE_BENCH_NAMES (200), MERGE_BENCH_REQS (20, requests per name per worker-second).
 * Output: detail lines, then one summary line
 *   merge: 1000 workers x 200 names: X% of one core, peak RSS Y MiB, Z MB/s of deltas
 * followed by a machine-readable line "merge-json: {...}" for tests/bench/bench.py.
 * Exit 0, 1 on a failure (allocation, encode or decode error), 2 on a bad setting.
 * Built by `make bench-bins` into $(B)/merge_bench, linked against the library from the
 * Makefile's source list (no list of sources of its own to fall behind a split). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/hist.h"
#include "common/stats.h"
#include "master/merge.h"
#include "proto/msg.h"

#define MB_MEDIAN_US  20000.0   /* lognormal median latency */
#define MB_SIGMA      0.6       /* lognormal shape: p95 = median * e^(1.645 * sigma) */
#define MB_FAIL_PPM   5000      /* failures per million requests (0.5%) */
#define MB_BODY_BYTES 1800      /* typical JSON response body */

/* Integer setting from the environment, bounded; exits 2 when malformed. */
static long mb_env(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "merge_bench: %s=%s is not an integer in %ld..%ld\n", name, s, lo, hi);
        exit(2);
    }
    return v;
}

/* splitmix64: a small deterministic generator, so every run merges the same data. */
static uint64_t mb_rand(uint64_t *st)
{
    uint64_t z = (*st += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double mb_unit(uint64_t *st)     /* uniform in (0, 1) */
{
    return ((double)(mb_rand(st) >> 11) + 0.5) / 9007199254740992.0;
}

/* Lognormal latency in us (Box-Muller; one of the pair is discarded for simplicity). */
static uint64_t mb_latency_us(uint64_t *st)
{
    double z = sqrt(-2.0 * log(mb_unit(st))) * cos(2.0 * M_PI * mb_unit(st));
    double v = MB_MEDIAN_US * exp(MB_SIGMA * z);
    return v < 1.0 ? 1 : (uint64_t)v;
}

static double mb_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
           + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double mb_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mb_maxrss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;       /* Linux: KiB */
}

/* Heap bytes of a merge set's histograms (not counting the hist pool). */
static size_t mb_set_hist_bytes(const merge_set *m)
{
    size_t n = hist_bytes(&m->all.lat);
    for (uint32_t i = 0; i < m->n; i++)
        n += hist_bytes(&m->entries[i].lat);
    return n;
}

typedef struct mb_input {
    char  **buf;                /* one encoded STATS per worker (owned) */
    size_t *len;
    size_t  bytes;              /* sum of len */
    uint64_t requests;          /* requests in one second of deltas */
} mb_input;

/* Encodes one delta per worker. One shard is reused (reset between workers), as an
 * engine thread does between intervals. 0, or -1 with a message on stderr. */
static int mb_build(mb_input *in, long workers, long names, long reqs)
{
    stats_shard sh;
    if (stats_shard_init(&sh, (uint32_t)names) != 0) {
        fprintf(stderr, "merge_bench: stats_shard_init failed\n");
        return -1;
    }
    uint32_t *ids = calloc((size_t)names, sizeof *ids);
    in->buf = calloc((size_t)workers, sizeof *in->buf);
    in->len = calloc((size_t)workers, sizeof *in->len);
    if (ids == NULL || in->buf == NULL || in->len == NULL) {
        fprintf(stderr, "merge_bench: out of memory\n");
        free(ids);
        stats_shard_fini(&sh);
        return -1;
    }
    static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT" };
    static const char *const areas[] = { "ppic", "stock", "cutting", "qc", "reports",
                                         "auth", "orders", "warehouse" };
    for (long k = 0; k < names; k++) {
        char name[STATS_NAME_MAX];
        snprintf(name, sizeof name, "/api/v1/%s/resource-%03ld/{id}",
                 areas[k % (long)(sizeof areas / sizeof *areas)], k);
        ids[k] = stats_id(&sh, methods[k % 5], name);
    }
    uint64_t st = UINT64_C(0x5EED);
    int rc = 0;
    for (long w = 0; w < workers && rc == 0; w++) {
        stats_shard_reset(&sh);
        sh.users = 50;
        for (long k = 0; k < names; k++) {
            for (long r = 0; r < reqs; r++) {
                bool failed = mb_rand(&st) % 1000000 < MB_FAIL_PPM;
                stats_record(&sh, ids[k], mb_latency_us(&st), failed ? 0 : MB_BODY_BYTES,
                             failed);
                if (failed)
                    stats_error(&sh, ids[k], ERR_HTTP_STATUS, "503");
                in->requests++;
            }
        }
        char worker[PROTO_ID_MAX];
        snprintf(worker, sizeof worker, "bench-worker-%04ld", w);
        if (proto_encode_stats(1, worker, 0, 0, false, &sh, &in->buf[w], &in->len[w]) != 0) {
            fprintf(stderr, "merge_bench: proto_encode_stats failed\n");
            rc = -1;
            break;
        }
        in->bytes += in->len[w];
    }
    free(ids);
    stats_shard_fini(&sh);
    hist_pool_drain();
    return rc;
}

int main(void)
{
    long seconds = mb_env("MERGE_BENCH_SECONDS", 10, 1, 3600);
    long workers = mb_env("MERGE_BENCH_WORKERS", 1000, 1, 100000);
    long names = mb_env("MERGE_BENCH_NAMES", 200, 1, 100000);
    long reqs = mb_env("MERGE_BENCH_REQS", 20, 1, 100000);

    mb_input in = { 0 };
    double b0 = mb_wall_s();
    if (mb_build(&in, workers, names, reqs) != 0)
        return 1;
    double rss_inputs = mb_maxrss_mib();
    printf("merge: built %ld deltas in %.2f s: %zu bytes (%.1f KiB per delta), "
           "%" PRIu64 " requests per second; RSS before merging %.1f MiB\n",
           workers, mb_wall_s() - b0, in.bytes, in.bytes / 1024.0 / workers, in.requests,
           rss_inputs);

    merge_set totals, interval;
    merge_init(&totals);
    merge_init(&interval);
    double cpu_total = 0, cpu_max = 0, cpu_first = 0, wall_total = 0;
    uint64_t p95_us = 0;
    int rc = 0;
    for (long s = 0; s < seconds && rc == 0; s++) {
        double c0 = mb_cpu_s(), w0 = mb_wall_s();
        for (long w = 0; w < workers; w++) {
            proto_msg m;
            int drc = proto_decode(in.buf[w], in.len[w], &m);
            if (drc != PROTO_OK || m.type != MSG_STATS) {
                fprintf(stderr, "merge_bench: proto_decode: %s\n", proto_strerror(drc));
                if (drc == PROTO_OK)
                    proto_msg_free(&m);
                rc = 1;
                break;
            }
            if (merge_add(&interval, &m.u.stats) != 0) {
                fprintf(stderr, "merge_bench: merge_add: out of memory\n");
                rc = 1;
            }
            proto_msg_free(&m);
            if (rc != 0)
                break;
        }
        /* interval closed: folded into the totals once, its p95 for the status line */
        if (merge_add_set(&totals, &interval) != 0) {
            fprintf(stderr, "merge_bench: merge_add_set: out of memory\n");
            rc = 1;
        }
        p95_us = hist_percentile(&interval.all.lat, 95);
        merge_reset(&interval);
        double cpu = mb_cpu_s() - c0;
        wall_total += mb_wall_s() - w0;
        cpu_total += cpu;
        if (s == 0)
            cpu_first = cpu;
        if (cpu > cpu_max)
            cpu_max = cpu;
    }
    /* One more batch that only decodes and frees, to split the figure into decoding
     * and merging (printed as a detail; not part of the share above). */
    double cpu_decode = 0;
    if (rc == 0) {
        double c0 = mb_cpu_s();
        for (long w = 0; w < workers && rc == 0; w++) {
            proto_msg m;
            if (proto_decode(in.buf[w], in.len[w], &m) != PROTO_OK)
                rc = 1;
            else
                proto_msg_free(&m);
        }
        cpu_decode = mb_cpu_s() - c0;
    }
    if (rc == 0 && totals.all.requests != in.requests * (uint64_t)seconds) {
        fprintf(stderr, "merge_bench: totals hold %" PRIu64 " requests, expected %" PRIu64 "\n",
                totals.all.requests, in.requests * (uint64_t)seconds);
        rc = 1;
    }
    if (rc == 0) {
        double share = 100.0 * cpu_total / seconds;
        double steady = seconds > 1 ? 100.0 * (cpu_total - cpu_first) / (seconds - 1) : share;
        double peak = mb_maxrss_mib();
        double mbps = in.bytes / 1e6;
        printf("merge: %ld s simulated in %.2f s wall, %.3f s CPU: first second %.1f%%, "
               "later seconds %.1f%% on average, worst second %.1f%% of one core\n",
               seconds, wall_total, cpu_total, 100.0 * cpu_first, steady, 100.0 * cpu_max);
        printf("merge: of one second's batch, decoding alone takes %.1f%% of one core, "
               "merge_add, the fold into totals and the rest %.1f%%\n",
               100.0 * cpu_decode, share - 100.0 * cpu_decode);
        printf("merge: totals %" PRIu64 " requests in %" PRIu32 " names (%.1f MiB of "
               "histograms), interval p95 %.1f ms, hist pool %.1f MiB; peak RSS %.1f MiB "
               "of which %.1f MiB before merging\n",
               totals.all.requests, totals.n, mb_set_hist_bytes(&totals) / 1048576.0,
               p95_us / 1000.0, hist_pool_bytes() / 1048576.0, peak, rss_inputs);
        printf("merge: %ld workers x %ld names: %.1f%% of one core, peak RSS %.1f MiB, "
               "%.1f MB/s of deltas\n", workers, names, share, peak, mbps);
        printf("merge-json: {\"workers\": %ld, \"names\": %ld, \"reqs_per_name\": %ld, "
               "\"seconds\": %ld, \"cpu_s\": %.6f, \"cpu_share\": %.6f, "
               "\"cpu_share_first\": %.6f, \"cpu_share_steady\": %.6f, "
               "\"cpu_share_max\": %.6f, \"wall_s\": %.6f, \"peak_rss_mib\": %.3f, "
               "\"rss_inputs_mib\": %.3f, \"delta_bytes_per_s\": %zu, "
               "\"requests_per_s\": %" PRIu64 ", \"p95_ms\": %.3f, \"cpu_share_decode\": %.6f}\n",
               workers, names, reqs, seconds, cpu_total, share / 100.0, cpu_first,
               steady / 100.0, cpu_max, wall_total, peak, rss_inputs, in.bytes,
               in.requests, p95_us / 1000.0, cpu_decode);
    }
    merge_fini(&totals);
    merge_fini(&interval);
    hist_pool_drain();
    for (long w = 0; w < workers; w++)
        free(in.buf[w]);
    free(in.buf);
    free(in.len);
    return rc;
}
