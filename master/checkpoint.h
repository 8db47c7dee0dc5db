/* The run's checkpoint: DIR/checkpoint.msgpack holds everything needed to rebuild the
 * results up to the last closed interval, so that a run killed with SIGKILL, a master
 * that dies or a power loss loses at most the interval in progress (and the requests in
 * flight). The coordinator writes it when the plans go out (nothing covered yet) and
 * rewrites it after every closed interval (after its stats_history.csv row):
 * DIR/checkpoint.msgpack.tmp is written, fsync'd and renamed
 * over the old one, then the folder is fsync'd, so a reader sees the previous
 * checkpoint or the new one, never half of one. It is rewritten, never appended: its
 * size follows the run's names and latency spread, not the run's length. It stays
 * after a run that finished (summary.json is then the reference; `stampede report`
 * reads the checkpoint only when summary.json is missing: master/rebuild.h).
 *
 * Format (version 1): one msgpack array
 *   ["stampede-checkpoint", 1, run_id, scenario name, scenario file, target, model
 *    (0 closed, 1 open), start_wall_ms, covered_wall_ms (end of the last closed
 *    interval), intervals covered, interval_ms, peak_users, stages_ms, name_cap,
 *    [threshold expressions], [workers: [id, host, threads, requests, state,
 *    lost_at_ms, missing_max]], missing_requests_max, cpu_max, limited_intervals,
 *    [errors: [method, name, kind, detail, count]], [totals: bin, ...]]
 * where each totals bin is a STATS message of the wire protocol (proto/msg.h, encoded by
 * proto_encode) holding up to CHECKPOINT_BLOB_ENTRIES of the whole-run entries in their
 * first-seen order, histograms sparse (only non-zero buckets, gap-coded); the first one
 * also carries the schedule (sched), cancelled and names_folded. Readers ignore fields
 * appended after these (a later version may add some).
 *
 * Cost (measured here, tests/unit/test_checkpoint.c): 200 names with 400 latency buckets
 * each: 175 KiB and ~2 ms per save (encode, write, fsync, rename); 200 names with ~3000
 * buckets each (1 ms .. 4 s, what a long run fills): 1.2 MiB and ~15-20 ms per save, on
 * the coordinator thread once per interval. It never grows with the run's length.
 *
 * Decoding trusts nothing: the file size is bounded (CHECKPOINT_MAX_BYTES), the bytes
 * are pre-scanned (proto_prescan: every declared length fits, objects bounded by
 * CHECKPOINT_MAX_OBJECTS before msgpack-c allocates), every field is type-checked,
 * strings are bounded, without NUL and cleaned to UTF-8, every count is bounded, and the
 * totals go through the wire decoder (proto_decode: histogram indexes < HIST_NCOUNTS,
 * counts that add up, histogram memory capped) with CHECKPOINT_MAX_HIST_BYTES for the
 * whole set. A foreign, truncated or corrupt file is refused with a reason.
 *
 * Thread: the coordinator writes (checkpoint_save); `stampede report` reads. No globals;
 * any thread. */
#ifndef MASTER_CHECKPOINT_H
#define MASTER_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>
#include "common/scenario.h"
#include "master/merge.h"
#include "master/results.h"

#define CHECKPOINT_FILE          "checkpoint.msgpack"
#define CHECKPOINT_SCENARIO_FILE "scenario.yaml"
#define CHECKPOINT_MAGIC         "stampede-checkpoint"
#define CHECKPOINT_VERSION       1
#define CHECKPOINT_MAX_BYTES     ((size_t)256 << 20)
#define CHECKPOINT_MAX_OBJECTS   4000000u     /* outside the totals' bins */
#define CHECKPOINT_MAX_HIST_BYTES ((size_t)1 << 30)
#define CHECKPOINT_MAX_WORKERS   4096u
#define CHECKPOINT_MAX_THRESHOLDS 1024u
#define CHECKPOINT_MAX_ERRORS    1000000u
#define CHECKPOINT_BLOB_ENTRIES  32u          /* entries per STATS bin */
#define CHECKPOINT_TEXT_MAX      1024         /* name, file, target, threshold bytes */

/* What the coordinator knows of the run (all borrowed for the call). */
typedef struct checkpoint_run {
    uint64_t run_id;
    const scenario *sc;             /* name, file, model, stages, peak, thresholds */
    const char *target;             /* effective base URL (NULL: sc->target) */
    uint64_t start_wall_ms;
    uint64_t covered_wall_ms;       /* end of the last closed interval */
    uint64_t intervals;             /* intervals covered: the last closed one's index + 1 */
    uint32_t interval_ms;
    uint32_t name_cap;
    const results_worker *workers;
    int      nworkers;
    uint64_t missing_requests_max;
} checkpoint_run;

/* A checkpoint read back. Everything is owned (checkpoint_data_fini). */
typedef struct checkpoint_data {
    uint64_t run_id;
    char     name[CHECKPOINT_TEXT_MAX], file[CHECKPOINT_TEXT_MAX], target[CHECKPOINT_TEXT_MAX];
    int      model;                 /* sc_model */
    uint64_t start_wall_ms, covered_wall_ms, intervals;
    uint32_t interval_ms, peak_users, name_cap;
    uint64_t stages_ms;
    char   **thresholds;            /* expressions as written */
    uint32_t nthresholds;
    results_worker *workers;        /* state points to static text */
    uint32_t nworkers;
    uint64_t missing_requests_max;
    merge_set totals;               /* with the run's name cap set */
} checkpoint_data;

/* The file's bytes: 0 with *buf (malloc'd, the caller frees) and *len, -1 on ENOMEM. */
int  checkpoint_encode(const checkpoint_run *r, const merge_set *totals, char **buf, size_t *len);
/* Encodes and writes DIR/checkpoint.msgpack atomically (see the top). 0, or -1 with err
 * naming the file and the system's reason; the previous checkpoint then stays. */
int  checkpoint_save(const char *dir, const checkpoint_run *r, const merge_set *totals,
                     char *err, size_t errcap);
/* DIR/scenario.yaml: the scenario text as run (the plan's YAML; overrides such as
 * --set and -u are not applied to the text), written once at the start, atomically. */
int  checkpoint_save_scenario(const char *dir, const char *text, size_t len, char *err, size_t errcap);

/* Decodes buf[len] into *out (initialised here). 0, or -1 with the reason in err;
 * nothing is left to free on failure. */
int  checkpoint_decode(const char *buf, size_t len, checkpoint_data *out, char *err, size_t errcap);
/* Reads DIR/checkpoint.msgpack: 0, or -1 with err ("no checkpoint in DIR", "... is not
 * a Stampede checkpoint", "... is truncated or corrupt: ..."). */
int  checkpoint_load(const char *dir, checkpoint_data *out, char *err, size_t errcap);
void checkpoint_data_fini(checkpoint_data *d);
#endif
