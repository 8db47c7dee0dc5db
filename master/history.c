/* The run history in SQLite: master/history.h has the contract. Figures are read from a
 * results folder (summary.json with jansson, stats_history.csv by column name) and kept
 * in four tables:
 *   meta(key, value)                      "app" = HISTORY_APP, "schema" = HISTORY_SCHEMA
 *   runs(id, dir UNIQUE, scenario, scenario_hash, labels, start_ms, end_ms, status,
 *        model, users, rate, requests, failures, rps, p50, p90, p95, p99, max,
 *        service_p95, verdict, thresholds, monitor, baseline, regression, recorded_ms)
 *   names(run_id, method, name, requests, failures, rps, p50, p90, p95, p99, max,
 *         service_p95)
 *   intervals(run_id, t, rps, fps, p50, p95, p99)
 *   schedules(id, cron, tz, scenario, run, created_ms, next_ms, runs, skipped,
 *             last_start_ms, last_status), schedule_events(id, schedule_id, at_ms,
 *             event, detail): master/schedule.c's, created here with the rest. */
#include "master/history.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include "common/time.h"
#include "common/util.h"
#include "master/labels.h"
#include "master/report.h"

#define HISTORY_APP "stampede-history"
#define HISTORY_FILE_MAX (64u << 20)    /* summary.json / scenario.yaml / CSV read cap */

struct history {
    sqlite3 *db;
    bool     readonly;
};

static const char *const SCHEMA_V1[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, dir TEXT NOT NULL UNIQUE, scenario TEXT NOT NULL,"
    " scenario_hash TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', start_ms INTEGER, end_ms INTEGER,"
    " status TEXT NOT NULL, model TEXT, users INTEGER, rate REAL, requests INTEGER, failures INTEGER,"
    " rps REAL, p50 REAL, p90 REAL, p95 REAL, p99 REAL, max REAL, service_p95 REAL,"
    " verdict TEXT, thresholds TEXT, monitor TEXT, baseline INTEGER NOT NULL DEFAULT 0,"
    " regression TEXT, recorded_ms INTEGER)",
    "CREATE INDEX IF NOT EXISTS runs_scenario ON runs(scenario, id)",
    "CREATE TABLE IF NOT EXISTS names("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, method TEXT NOT NULL,"
    " name TEXT NOT NULL, requests INTEGER, failures INTEGER, rps REAL, p50 REAL, p90 REAL,"
    " p95 REAL, p99 REAL, max REAL, service_p95 REAL)",
    "CREATE INDEX IF NOT EXISTS names_run ON names(run_id)",
    "CREATE TABLE IF NOT EXISTS intervals("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, t REAL, rps REAL, fps REAL,"
    " p50 REAL, p95 REAL, p99 REAL)",
    "CREATE INDEX IF NOT EXISTS intervals_run ON intervals(run_id)",
    "CREATE TABLE IF NOT EXISTS schedules("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, cron TEXT NOT NULL, tz TEXT NOT NULL DEFAULT '',"
    " scenario TEXT, run TEXT NOT NULL, created_ms INTEGER, next_ms INTEGER, runs INTEGER NOT NULL DEFAULT 0,"
    " skipped INTEGER NOT NULL DEFAULT 0, last_start_ms INTEGER, last_status TEXT)",
    "CREATE TABLE IF NOT EXISTS schedule_events("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,"
    " at_ms INTEGER, event TEXT, detail TEXT)",
    "CREATE INDEX IF NOT EXISTS schedule_events_of ON schedule_events(schedule_id, id)",
    NULL,
};

static void set_err(char *err, size_t errcap, const char *what, sqlite3 *db)
{
    snprintf(err, errcap, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(history *h, const char *sql, char *err, size_t errcap)
{
    char *msg = NULL;
    if (sqlite3_exec(h->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errcap, "history: %s", msg ? msg : sqlite3_errmsg(h->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The schema version of an opened file: 0 for an empty database (no tables), -1 with err
 * for one that is not ours or unreadable. */
static int schema_of(history *h, const char *path, char *err, size_t errcap)
{
    sqlite3_stmt *st = NULL;
    int ntables = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, errcap, "%s is not a Stampede history (not a readable SQLite database: %s); "
                 "it was left as it is: choose another file with --history", path, sqlite3_errmsg(h->db));
        sqlite3_finalize(st);
        return -1;
    }
    ntables = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (ntables == 0) return 0;
    const char *q = "SELECT (SELECT value FROM meta WHERE key = 'app'), (SELECT value FROM meta WHERE key = 'schema')";
    if (sqlite3_prepare_v2(h->db, q, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
        sqlite3_column_type(st, 0) != SQLITE_TEXT ||
        strcmp((const char *)sqlite3_column_text(st, 0), HISTORY_APP) != 0) {
        snprintf(err, errcap, "%s is a SQLite database but not a Stampede history (no \"%s\" mark); "
                 "it was left as it is: choose another file with --history", path, HISTORY_APP);
        sqlite3_finalize(st);
        return -1;
    }
    int v = atoi((const char *)sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "0");
    sqlite3_finalize(st);
    if (v <= 0 || v > HISTORY_SCHEMA) {
        snprintf(err, errcap, "%s has history schema %d; this stampede knows 1..%d: use a newer "
                 "stampede (the file was left as it is)", path, v, HISTORY_SCHEMA);
        return -1;
    }
    return v;
}

/* Brings an empty (v 0) or older file to HISTORY_SCHEMA in one transaction. */
static int migrate(history *h, int from, char *err, size_t errcap)
{
    if (from == HISTORY_SCHEMA) return 0;
    if (exec(h, "BEGIN IMMEDIATE", err, errcap) != 0) return -1;
    if (from < 1)
        for (int i = 0; SCHEMA_V1[i]; i++)
            if (exec(h, SCHEMA_V1[i], err, errcap) != 0) goto fail;
    /* future versions: if (from < 2) { ALTER TABLE ... } */
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('app', '%s'), "
             "('schema', '%d')", HISTORY_APP, HISTORY_SCHEMA);
    if (exec(h, sql, err, errcap) != 0) goto fail;
    if (exec(h, "COMMIT", err, errcap) != 0) goto fail;
    return 0;
fail:
    sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

history *history_open(const char *path, bool readonly, char *err, size_t errcap)
{
    history *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    h->readonly = readonly;
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if (readonly && !exists) {
        snprintf(err, errcap, "no history at %s: %s", path, strerror(errno));
        free(h);
        return NULL;
    }
    /* Opened read-only first: a file that is not ours is never written to, not even by
     * the journal mode change. */
    if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK && exists) {
        snprintf(err, errcap, "cannot open the history %s: %s", path, h->db ? sqlite3_errmsg(h->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(h->db, HISTORY_BUSY_MS);
    int v = exists ? schema_of(h, path, err, errcap) : 0;
    if (v < 0) goto fail;
    if (readonly) {
        if (v != HISTORY_SCHEMA) {
            snprintf(err, errcap, "%s has history schema %d, not %d: open it once with a writing "
                     "stampede to migrate it", path, v, HISTORY_SCHEMA);
            goto fail;
        }
        return h;
    }
    sqlite3_close(h->db);
    h->db = NULL;
    if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "cannot open the history %s: %s", path, h->db ? sqlite3_errmsg(h->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(h->db, HISTORY_BUSY_MS);
    char e2[256];
    if (exec(h, "PRAGMA journal_mode=WAL", e2, sizeof e2) != 0 ||
        exec(h, "PRAGMA foreign_keys=ON", e2, sizeof e2) != 0) {
        snprintf(err, errcap, "cannot open the history %s: %s", path, e2);
        goto fail;
    }
    v = schema_of(h, path, err, errcap);        /* again: another process may have made it */
    if (v < 0 || migrate(h, v, err, errcap) != 0) goto fail;
    return h;
fail:
    if (h->db) sqlite3_close(h->db);
    free(h);
    return NULL;
}

struct sqlite3 *history_db(history *h)
{
    return h->db;
}

void history_close(history *h)
{
    if (!h) return;
    sqlite3_close(h->db);
    free(h);
}

/* ---- reading a results folder ------------------------------------------------------- */

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double lat(json_t *o, const char *which, const char *k)
{
    return num(json_object_get(o, which), k);
}

static void bind_num(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v)) sqlite3_bind_double(st, i, v);
    else sqlite3_bind_null(st, i);
}

static void bind_json(sqlite3_stmt *st, int i, json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (t) sqlite3_bind_text(st, i, t, -1, free);
    else sqlite3_bind_null(st, i);
}

/* sha256 of the scenario text as run (DIR/scenario.yaml), or of the name when the folder
 * has none, as 64 hex digits. */
static void scenario_hash(const char *dir, const char *name, char out[65])
{
    char path[4200];
    snprintf(path, sizeof path, "%s/scenario.yaml", dir);
    char *data = NULL, e[128];
    size_t len = 0;
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (util_read_file(path, HISTORY_FILE_MAX, &data, &len, e, sizeof e) == 0)
        SHA256((const unsigned char *)data, len, md);
    else
        SHA256((const unsigned char *)name, strlen(name), md);
    free(data);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A field of a CSV line (common/util.h util_csv_get) and the comma after it. A field that
 * does not read (an unclosed quote, longer than cap) is taken as empty and the rest of
 * the line skipped: the row then lacks what it needs and is left out. */
static void csv_field(const char **p, char *buf, size_t cap)
{
    if (!util_csv_get(p, buf, cap)) {
        buf[0] = 0;
        *p += strcspn(*p, "\r\n");
        return;
    }
    if (**p == ',') (*p)++;
}

enum { C_TS, C_TYPE, C_NAME, C_RPS, C_FPS, C_P50, C_P95, C_P99, C_N };

/* The Aggregated rows of DIR/stats_history.csv into intervals (t = seconds since the
 * first row's timestamp, which is the end of the first interval: t starts at 1 interval). */
static int record_intervals(history *h, int64_t id, const char *dir, double start_s, char *err, size_t errcap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/stats_history.csv", dir);
    char *data = NULL, e[256];
    size_t len = 0;
    if (util_read_file(path, HISTORY_FILE_MAX, &data, &len, e, sizeof e) != 0) {
        free(data);
        return 0;                       /* optional: a run without a history has no intervals */
    }
    static const char *const names[C_N] = { "Timestamp", "Type", "Name", "Requests/s", "Failures/s",
                                            "50%", "95%", "99%" };
    int col[C_N];
    for (int i = 0; i < C_N; i++) col[i] = -1;
    const char *p = data;
    char f[256];
    for (int i = 0; *p && *p != '\r' && *p != '\n'; i++) {
        csv_field(&p, f, sizeof f);
        for (int c = 0; c < C_N; c++) if (!strcmp(f, names[c])) col[c] = i;
    }
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (col[C_TS] < 0 || col[C_NAME] < 0 || col[C_RPS] < 0) goto out;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO intervals(run_id, t, rps, fps, p50, p95, p99) "
                           "VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        rc = -1;
        goto out;
    }
    while (*p) {
        while (*p == '\r' || *p == '\n') p++;
        if (!*p) break;
        double v[C_N];
        char name[256] = "";
        for (int c = 0; c < C_N; c++) v[c] = NAN;
        for (int i = 0; *p && *p != '\r' && *p != '\n'; i++) {
            csv_field(&p, f, sizeof f);
            for (int c = 0; c < C_N; c++) {
                if (col[c] != i) continue;
                if (c == C_NAME) snprintf(name, sizeof name, "%s", f);
                else if (c != C_TYPE) {
                    char *end;
                    double d = strtod(f, &end);
                    v[c] = (f[0] && !*end) ? d : NAN;
                }
            }
        }
        if (strcmp(name, "Aggregated") != 0 || !isfinite(v[C_TS])) continue;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        bind_num(st, 2, isfinite(start_s) ? v[C_TS] - start_s : v[C_TS]);
        bind_num(st, 3, v[C_RPS]);
        bind_num(st, 4, v[C_FPS]);
        bind_num(st, 5, v[C_P50]);
        bind_num(st, 6, v[C_P95]);
        bind_num(st, 7, v[C_P99]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            set_err(err, errcap, "history: interval", h->db);
            rc = -1;
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    free(data);
    return rc;
}

static const char *status_of(json_t *s)
{
    if (json_is_true(json_object_get(s, "interrupted"))) return "interrupted";
    const char *r = json_string_value(json_object_get(s, "stop_reason"));
    if (!r || !strcmp(r, "finished")) return "finished";
    if (!strncmp(r, "aborted", 7)) return "aborted";
    if (!strcmp(r, "interrupted")) return "interrupted";
    return "stopped";
}

static int find_dir(history *h, const char *dir, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    *id = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT id FROM runs WHERE dir = ?", -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

int history_record(history *h, const char *dir, const history_label *labels, int nlabels,
                   const char *status, int64_t *id, char *err, size_t errcap)
{
    *id = 0;
    if (h->readonly) {
        snprintf(err, errcap, "the history is open read-only");
        return -1;
    }
    if (nlabels > HISTORY_MAX_LABELS) {
        snprintf(err, errcap, "more than %d labels", HISTORY_MAX_LABELS);
        return -1;
    }
    for (int i = 0; i < nlabels; i++)
        if (!labels_ok(labels[i].key, labels[i].key ? strlen(labels[i].key) : 0, labels[i].value)) {
            snprintf(err, errcap, "label \"%.64s\": a key is 1..64 of A-Z a-z 0-9 _ . - and a value "
                     "at most 256 bytes (--label commit=abc123)", labels[i].key ? labels[i].key : "");
            return -1;
        }
    char rdir[4096];
    if (!realpath(dir, rdir)) {
        snprintf(err, errcap, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (find_dir(h, rdir, id) != 0) {
        set_err(err, errcap, "history", h->db);
        return -1;
    }
    if (*id) return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", rdir);
    json_error_t je;
    json_t *s = report_load_json(path, &je);
    if (!s || !json_is_object(s)) {
        snprintf(err, errcap, "cannot record %s in the history: %s", rdir, s ? "summary.json is not an object" : je.text);
        json_decref(s);
        return -1;
    }
    const char *scen = json_string_value(json_object_get(s, "scenario"));
    if (!scen) scen = "(unnamed)";
    char hash[65];
    scenario_hash(rdir, scen, hash);
    json_t *lab = json_object();
    for (int i = 0; i < nlabels; i++) json_object_set_new(lab, labels[i].key, json_string(labels[i].value));
    json_t *tot = json_object_get(s, "totals"), *sched = json_object_get(s, "schedule");
    const char *model = json_string_value(json_object_get(sched, "model"));
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (exec(h, "BEGIN IMMEDIATE", err, errcap) != 0) goto out;
    const char *ins = "INSERT INTO runs(dir, scenario, scenario_hash, labels, start_ms, end_ms, status, model,"
                      " users, rate, requests, failures, rps, p50, p90, p95, p99, max, service_p95, verdict,"
                      " thresholds, monitor, recorded_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v2(h->db, ins, -1, &st, NULL) != SQLITE_OK) goto dberr;
    sqlite3_bind_text(st, 1, rdir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, scen, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
    bind_json(st, 4, lab);
    bind_num(st, 5, num(s, "start_ms"));
    bind_num(st, 6, num(s, "end_ms"));
    sqlite3_bind_text(st, 7, status ? status : status_of(s), -1, SQLITE_TRANSIENT);
    if (model) sqlite3_bind_text(st, 8, model, -1, SQLITE_TRANSIENT);
    bind_num(st, 9, num(s, "peak_users"));
    bind_num(st, 10, model && !strcmp(model, "open") ? num(sched, "rate_planned") : NAN);
    bind_num(st, 11, num(tot, "requests"));
    bind_num(st, 12, num(tot, "failures"));
    bind_num(st, 13, num(tot, "rps"));
    bind_num(st, 14, lat(tot, "latency_ms", "p50"));
    bind_num(st, 15, lat(tot, "latency_ms", "p90"));
    bind_num(st, 16, lat(tot, "latency_ms", "p95"));
    bind_num(st, 17, lat(tot, "latency_ms", "p99"));
    bind_num(st, 18, lat(tot, "latency_ms", "max"));
    bind_num(st, 19, lat(tot, "service_ms", "p95"));
    bind_json(st, 20, json_object_get(s, "verdict"));
    bind_json(st, 21, json_object_get(s, "thresholds"));
    bind_json(st, 22, json_object_get(s, "monitor"));
    sqlite3_bind_int64(st, 23, (sqlite3_int64)time_wall_ms());
    if (sqlite3_step(st) != SQLITE_DONE) goto dberr;
    *id = sqlite3_last_insert_rowid(h->db);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO names(run_id, method, name, requests, failures, rps, p50,"
                           " p90, p95, p99, max, service_p95) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s, "requests"), i, r) {
        const char *m = json_string_value(json_object_get(r, "method"));
        const char *n = json_string_value(json_object_get(r, "name"));
        if (!m || !n) continue;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_text(st, 2, m, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, n, -1, SQLITE_TRANSIENT);
        bind_num(st, 4, num(r, "requests"));
        bind_num(st, 5, num(r, "failures"));
        bind_num(st, 6, num(r, "rps"));
        bind_num(st, 7, lat(r, "latency_ms", "p50"));
        bind_num(st, 8, lat(r, "latency_ms", "p90"));
        bind_num(st, 9, lat(r, "latency_ms", "p95"));
        bind_num(st, 10, lat(r, "latency_ms", "p99"));
        bind_num(st, 11, lat(r, "latency_ms", "max"));
        bind_num(st, 12, lat(r, "service_ms", "p95"));
        if (sqlite3_step(st) != SQLITE_DONE) goto dberr;
    }
    double start_s = num(s, "start_ms") / 1000.0;
    if (record_intervals(h, *id, rdir, start_s, err, errcap) != 0) goto rollback;
    if (exec(h, "COMMIT", err, errcap) != 0) goto rollback;
    rc = 0;
    goto out;
dberr:
    set_err(err, errcap, "history", h->db);
rollback:
    sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    *id = 0;
out:
    sqlite3_finalize(st);
    json_decref(lab);
    json_decref(s);
    return rc;
}

/* ---- reading -------------------------------------------------------------------------- */

static json_t *col_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:   return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT:    return json_string((const char *)sqlite3_column_text(st, i));
    default:             return json_null();
    }
}

static json_t *col_parsed(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

#define RUN_COLS "id, scenario, scenario_hash, labels, start_ms, end_ms, status, model, users, rate," \
                 " requests, failures, rps, p50, p90, p95, p99, max, service_p95, verdict, baseline," \
                 " regression, dir"

static json_t *run_row(sqlite3_stmt *st)
{
    static const char *const keys[] = { "id", "scenario", "scenario_hash", "labels", "start", "end",
                                        "status", "model", "users", "rate", "requests", "failures", "rps",
                                        "p50", "p90", "p95", "p99", "max", "service_p95", "verdict",
                                        "baseline", "regression", "results_dir" };
    json_t *o = json_object();
    for (int i = 0; i < (int)(sizeof keys / sizeof *keys); i++) {
        json_t *v;
        if (i == 3 || i == 19 || i == 21) v = col_parsed(st, i);
        else if (i == 20) v = json_boolean(sqlite3_column_int(st, i));
        else v = col_json(st, i);
        json_object_set_new(o, keys[i], v);
    }
    return o;
}

static char *dump(json_t *o, char *err, size_t errcap)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!t) snprintf(err, errcap, "out of memory");
    return t;
}

char *history_list_json(history *h, const history_filter *f, char *err, size_t errcap)
{
    int limit = f && f->limit > 0 ? f->limit : 50;
    if (limit > HISTORY_LIST_MAX) limit = HISTORY_LIST_MAX;
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " RUN_COLS " FROM runs WHERE 1");
    if (f && f->scenario) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND scenario = ?1");
    int nl = f ? f->nlabels : 0;
    if (nl > HISTORY_MAX_LABELS) nl = HISTORY_MAX_LABELS;
    for (int i = 0; i < nl; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND json_extract(labels, '$.\"' || ?%d || '\"') = ?%d",
                              2 + 2 * i, 3 + 2 * i);
    snprintf(sql + n, sizeof sql - n, " ORDER BY id DESC LIMIT %d", limit);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        return NULL;
    }
    if (f && f->scenario) sqlite3_bind_text(st, 1, f->scenario, -1, SQLITE_STATIC);
    for (int i = 0; i < nl; i++) {
        sqlite3_bind_text(st, 2 + 2 * i, f->labels[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3 + 2 * i, f->labels[i].value, -1, SQLITE_STATIC);
    }
    json_t *runs = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(runs, run_row(st));
    if (rc != SQLITE_DONE) {
        set_err(err, errcap, "history", h->db);
        sqlite3_finalize(st);
        json_decref(runs);
        return NULL;
    }
    sqlite3_finalize(st);
    return dump(json_pack("{s:o}", "runs", runs), err, errcap);
}

char *history_get_json(history *h, int64_t id, bool *missing, char *err, size_t errcap)
{
    *missing = false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT " RUN_COLS ", thresholds, monitor FROM runs WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        *missing = true;
        snprintf(err, errcap, "no run %lld in the history", (long long)id);
        return NULL;
    }
    json_t *o = run_row(st);
    json_object_set_new(o, "thresholds", col_parsed(st, 23));
    json_object_set_new(o, "monitor", col_parsed(st, 24));
    sqlite3_finalize(st);
    json_t *names = json_array();
    if (sqlite3_prepare_v2(h->db, "SELECT method, name, requests, failures, rps, p50, p90, p95, p99, max,"
                           " service_p95 FROM names WHERE run_id = ? ORDER BY name, method", -1, &st, NULL) == SQLITE_OK) {
        static const char *const k[] = { "method", "name", "requests", "failures", "rps", "p50", "p90", "p95",
                                         "p99", "max", "service_p95" };
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *r = json_object();
            for (int i = 0; i < 11; i++) json_object_set_new(r, k[i], col_json(st, i));
            json_array_append_new(names, r);
        }
    }
    sqlite3_finalize(st);
    json_object_set_new(o, "requests_by_name", names);
    json_t *iv = json_object();
    static const char *const ik[] = { "t", "rps", "fps", "p50", "p95", "p99" };
    json_t *arr[6];
    for (int i = 0; i < 6; i++) {
        arr[i] = json_array();
        json_object_set_new(iv, ik[i], arr[i]);
    }
    if (sqlite3_prepare_v2(h->db, "SELECT t, rps, fps, p50, p95, p99 FROM intervals WHERE run_id = ? ORDER BY rowid",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int i = 0; i < 6; i++) json_array_append_new(arr[i], col_json(st, i));
    }
    sqlite3_finalize(st);
    json_object_set_new(o, "intervals", iv);
    return dump(o, err, errcap);
}

static const char *metric_expr(const char *m, bool total)
{
    static const struct { const char *name, *total, *named; } map[] = {
        { "p50", "p50", "p50" }, { "p90", "p90", "p90" }, { "p95", "p95", "p95" }, { "p99", "p99", "p99" },
        { "max", "max", "max" }, { "rps", "rps", "rps" }, { "requests", "requests", "requests" },
        { "failures", "failures", "failures" },
        { "error_rate", "CAST(failures AS REAL) / NULLIF(requests, 0)", "CAST(failures AS REAL) / NULLIF(requests, 0)" },
        { "service_p95", "service_p95", "service_p95" },
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(m, map[i].name)) return total ? map[i].total : map[i].named;
    return NULL;
}

char *history_trends_json(history *h, const char *scenario, const char *name, const char *metric,
                          int limit, char *err, size_t errcap)
{
    bool total = !name || !*name || !strcmp(name, "Aggregated");
    const char *expr = metric_expr(metric ? metric : "p95", total);
    if (!expr) {
        snprintf(err, errcap, "unknown metric \"%s\": p50 p90 p95 p99 max rps requests failures "
                 "error_rate service_p95", metric);
        return NULL;
    }
    if (limit <= 0 || limit > HISTORY_LIST_MAX) limit = HISTORY_LIST_MAX;
    char sql[1024];
    if (total)
        snprintf(sql, sizeof sql, "SELECT id, start_ms, %s, labels FROM (SELECT * FROM runs WHERE scenario = ?1"
                 " ORDER BY id DESC LIMIT %d) ORDER BY id", expr, limit);
    else
        snprintf(sql, sizeof sql, "SELECT r.id, r.start_ms, n.v, r.labels FROM (SELECT * FROM runs WHERE scenario = ?1"
                 " ORDER BY id DESC LIMIT %d) r JOIN (SELECT run_id, %s AS v FROM names WHERE name = ?2) n"
                 " ON n.run_id = r.id ORDER BY r.id", limit, expr);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        return NULL;
    }
    sqlite3_bind_text(st, 1, scenario ? scenario : "", -1, SQLITE_STATIC);
    if (!total) sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    json_t *pts = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(pts, json_pack("{s:o,s:o,s:o,s:o}", "id", col_json(st, 0), "start", col_json(st, 1),
                                             "value", col_json(st, 2), "labels", col_parsed(st, 3)));
    sqlite3_finalize(st);
    int64_t base = 0;
    char e2[128];
    history_baseline(h, scenario ? scenario : "", &base, e2, sizeof e2);
    return dump(json_pack("{s:s,s:s,s:s,s:o,s:o}", "scenario", scenario ? scenario : "", "name",
                          total ? "Aggregated" : name, "metric", metric ? metric : "p95",
                          "baseline", base ? json_integer(base) : json_null(), "points", pts), err, errcap);
}

int history_set_baseline(history *h, int64_t id, bool *missing, char *err, size_t errcap)
{
    *missing = false;
    if (exec(h, "BEGIN IMMEDIATE", err, errcap) != 0) return -1;
    sqlite3_stmt *st = NULL;
    char scen[256] = "";
    if (sqlite3_prepare_v2(h->db, "SELECT scenario FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK) goto dberr;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        *missing = true;
        snprintf(err, errcap, "no run %lld in the history", (long long)id);
        return -1;
    }
    snprintf(scen, sizeof scen, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h->db, "UPDATE runs SET baseline = (id = ?1) WHERE scenario = ?2", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, scen, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto dberr;
    sqlite3_finalize(st);
    return exec(h, "COMMIT", err, errcap);
dberr:
    set_err(err, errcap, "history", h->db);
    sqlite3_finalize(st);
    sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int history_baseline(history *h, const char *scenario, int64_t *id, char *err, size_t errcap)
{
    *id = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT id FROM runs WHERE scenario = ? AND baseline = 1 ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        return -1;
    }
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

int history_set_regression(history *h, int64_t id, const char *json, char *err, size_t errcap)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "UPDATE runs SET regression = ? WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errcap, "history", h->db);
        return -1;
    }
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (rc) set_err(err, errcap, "history", h->db);
    sqlite3_finalize(st);
    return rc;
}

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void fill_fig(history_name_fig *f, sqlite3_stmt *st, int from)
{
    f->requests = col_num(st, from);
    f->failures = col_num(st, from + 1);
    f->rps = col_num(st, from + 2);
    f->p50 = col_num(st, from + 3);
    f->p95 = col_num(st, from + 4);
    f->p99 = col_num(st, from + 5);
    f->error_rate = f->requests > 0 ? f->failures / f->requests : 0;
}

int history_figures_get(history *h, int64_t id, history_figures *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT scenario, requests, failures, rps, p50, p95, p99 FROM runs WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        snprintf(err, errcap, "no run %lld in the history", (long long)id);
        return -1;
    }
    snprintf(out->scenario, sizeof out->scenario, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(out->total.method, sizeof out->total.method, "%s", "");
    snprintf(out->total.name, sizeof out->total.name, "%s", "Aggregated");
    fill_fig(&out->total, st, 1);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h->db, "SELECT method, name, requests, failures, rps, p50, p95, p99 FROM names"
                           " WHERE run_id = ? ORDER BY name, method", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        history_name_fig *n = realloc(out->names, (size_t)(out->nnames + 1) * sizeof *n);
        if (!n) goto nomem;
        out->names = n;
        n = &out->names[out->nnames++];
        memset(n, 0, sizeof *n);
        snprintf(n->method, sizeof n->method, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(n->name, sizeof n->name, "%s", (const char *)sqlite3_column_text(st, 1));
        fill_fig(n, st, 2);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h->db, "SELECT p95, rps, fps FROM intervals WHERE run_id = ? ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    int cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (out->niv == cap) {
            int nc = cap ? cap * 2 : 64;
            double *a = realloc(out->iv_p95, (size_t)nc * sizeof *a);
            if (!a) goto nomem;
            out->iv_p95 = a;
            a = realloc(out->iv_rps, (size_t)nc * sizeof *a);
            if (!a) goto nomem;
            out->iv_rps = a;
            a = realloc(out->iv_err, (size_t)nc * sizeof *a);
            if (!a) goto nomem;
            out->iv_err = a;
            cap = nc;
        }
        double rps = col_num(st, 1), fps = col_num(st, 2);
        out->iv_p95[out->niv] = col_num(st, 0);
        out->iv_rps[out->niv] = rps;
        out->iv_err[out->niv] = rps > 0 && isfinite(fps) ? fps / rps : 0;
        out->niv++;
    }
    sqlite3_finalize(st);
    return 0;
nomem:
    sqlite3_finalize(st);
    history_figures_free(out);
    snprintf(err, errcap, "out of memory");
    return -1;
dberr:
    set_err(err, errcap, "history", h->db);
    sqlite3_finalize(st);
    history_figures_free(out);
    return -1;
}

void history_figures_free(history_figures *f)
{
    free(f->names);
    free(f->iv_p95);
    free(f->iv_rps);
    free(f->iv_err);
    f->names = NULL;
    f->iv_p95 = f->iv_rps = f->iv_err = NULL;
    f->nnames = f->niv = 0;
}
