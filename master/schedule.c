/* Schedules: master/schedule.h has the contract. */
#include "master/schedule.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <sqlite3.h>
#include "common/cron.h"
#include "common/log.h"
#include "common/scenario.h"
#include "common/stats.h"
#include "common/time.h"
#include "master/api_req.h"
#include "master/history.h"
#include "proto/plan.h"

/* The run of a schedule, parsed as POST /api/runs parses it (master/api_req.h), with
 * the label schedule=ID when schedule_id > 0. 0, or -1 with err. */
static int sched_run_parse(const char *text, int64_t schedule_id, api_run_req *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j || !json_is_object(j)) {
        snprintf(err, errcap, "the run is not a JSON object (%s)", j ? "not an object" : je.text);
        json_decref(j);
        return -1;
    }
    char label[64];
    snprintf(label, sizeof label, "schedule=%lld", (long long)schedule_id);
    int rc = api_run_from_json(j, schedule_id > 0 ? label : NULL, r, err, errcap);
    json_decref(j);
    if (rc != 0) api_run_req_fini(r);
    return rc;
}

static int dberr(history *h, char *err, size_t errcap)
{
    snprintf(err, errcap, "history: %s", sqlite3_errmsg(history_db(h)));
    return -1;
}

int schedule_add(const char *history_path, const char *cron, const char *tz, const char *run_json, int64_t *id,
                 int64_t *next_ms, bool *bad, char *err, size_t errcap)
{
    *bad = true;
    *id = *next_ms = 0;
    cron_expr ce;
    if (cron_parse(cron, &ce, err, errcap) != 0) return -1;
    if (!cron_tz_valid(tz)) {
        snprintf(err, errcap, "unknown time zone \"%.100s\": an IANA name such as Europe/Berlin or UTC", tz);
        return -1;
    }
    api_run_req r;
    if (sched_run_parse(run_json, 0, &r, err, errcap) != 0) return -1;
    sc_error se;
    scenario *sc = plan_scenario(&r.plan, &se);
    if (!sc || scenario_check_run(sc, &se) != 0) {
        sc_error_format(&se, err, errcap);
        scenario_free(sc);
        api_run_req_fini(&r);
        return -1;
    }
    char name[256];
    snprintf(name, sizeof name, "%s", sc->name);
    scenario_free(sc);
    api_run_req_fini(&r);
    int64_t now_s = (int64_t)(time_wall_ms() / 1000);
    int64_t next = cron_next(&ce, tz, now_s);
    if (next < 0) {
        snprintf(err, errcap, "\"%s\" never comes (no such date within 5 years)", cron);
        return -1;
    }
    *bad = false;
    history *h = history_open(history_path, false, err, errcap);
    if (!h) return -1;
    sqlite3 *db = history_db(h);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM schedules", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        dberr(h, err, errcap);
        goto out;
    }
    if (sqlite3_column_int(st, 0) >= SCHEDULE_MAX) {
        *bad = true;
        snprintf(err, errcap, "this master has %d schedules, the most it keeps: remove one first", SCHEDULE_MAX);
        goto out;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "INSERT INTO schedules(cron, tz, scenario, run, created_ms, next_ms) VALUES(?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dberr(h, err, errcap);
        goto out;
    }
    sqlite3_bind_text(st, 1, cron, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tz ? tz : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, run_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time_wall_ms());
    sqlite3_bind_int64(st, 6, next * 1000);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dberr(h, err, errcap);
        goto out;
    }
    *id = sqlite3_last_insert_rowid(db);
    *next_ms = next * 1000;
    rc = 0;
out:
    sqlite3_finalize(st);
    history_close(h);
    return rc;
}

static json_t *col(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_TEXT:    return json_string((const char *)sqlite3_column_text(st, i));
    default:             return json_null();
    }
}

char *schedule_list_json(const char *history_path, char *err, size_t errcap)
{
    history *h = history_open(history_path, true, err, errcap);
    if (!h) return NULL;
    sqlite3 *db = history_db(h);
    sqlite3_stmt *st = NULL, *ev = NULL;
    json_t *arr = json_array();
    char *out = NULL;
    static const char *const keys[] = { "id", "cron", "tz", "scenario", "created", "next", "runs", "skipped",
                                        "last_start", "last_status" };
    if (sqlite3_prepare_v2(db, "SELECT id, cron, tz, scenario, created_ms, next_ms, runs, skipped, last_start_ms,"
                           " last_status FROM schedules ORDER BY id", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT at_ms, event, detail FROM schedule_events WHERE schedule_id = ?"
                           " ORDER BY id DESC LIMIT " "10", -1, &ev, NULL) != SQLITE_OK) {
        dberr(h, err, errcap);
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < 10; i++) json_object_set_new(o, keys[i], col(st, i));
        json_t *evs = json_array();
        sqlite3_reset(ev);
        sqlite3_bind_int64(ev, 1, sqlite3_column_int64(st, 0));
        while (sqlite3_step(ev) == SQLITE_ROW)
            json_array_append_new(evs, json_pack("{s:o,s:o,s:o}", "at", col(ev, 0), "event", col(ev, 1),
                                                 "detail", col(ev, 2)));
        json_object_set_new(o, "events", evs);
        json_array_append_new(arr, o);
    }
    json_t *top = json_pack("{s:O}", "schedules", arr);
    out = top ? json_dumps(top, JSON_COMPACT) : NULL;
    json_decref(top);
    if (!out) snprintf(err, errcap, "out of memory");
out:
    json_decref(arr);
    sqlite3_finalize(st);
    sqlite3_finalize(ev);
    history_close(h);
    return out;
}

int schedule_remove(const char *history_path, int64_t id, bool *missing, char *err, size_t errcap)
{
    *missing = false;
    history *h = history_open(history_path, false, err, errcap);
    if (!h) return -1;
    sqlite3 *db = history_db(h);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "DELETE FROM schedules WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
        dberr(h, err, errcap);
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dberr(h, err, errcap);
        goto out;
    }
    if (sqlite3_changes(db) == 0) {
        *missing = true;
        snprintf(err, errcap, "no schedule %lld", (long long)id);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    history_close(h);
    return rc;
}

/* ---- the timer ---------------------------------------------------------------------- */

struct schedule_timer {
    coord          *c;
    char            history[4200];
    pthread_t       th;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    bool            stop;
};

static void event_add(sqlite3 *db, int64_t sid, const char *event, const char *detail)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO schedule_events(schedule_id, at_ms, event, detail) VALUES(?,?,?,?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, sid);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time_wall_ms());
        sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM schedule_events WHERE schedule_id = %lld AND id NOT IN (SELECT id FROM"
             " schedule_events WHERE schedule_id = %lld ORDER BY id DESC LIMIT %d)", (long long)sid,
             (long long)sid, SCHEDULE_EVENTS_KEPT);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One due schedule: start, skip or miss it; then its next start. */
static void schedule_fire(schedule_timer *t, sqlite3 *db, int64_t sid, const char *cron, const char *tz,
                          const char *run_json, int64_t due_ms)
{
    int64_t now_ms = (int64_t)time_wall_ms();
    char detail[1200] = "";
    const char *event, *status;
    coord_status cs;
    coord_get_status(t->c, &cs);
    bool busy = cs.state == RUN_WAITING || cs.state == RUN_RUNNING || cs.state == RUN_STOPPING;
    if (now_ms - due_ms > SCHEDULE_LATE_S * 1000) {
        event = status = "missed";
        snprintf(detail, sizeof detail, "due %lld s ago (the master was not running then)",
                 (long long)((now_ms - due_ms) / 1000));
    } else if (busy) {
        event = status = "skipped";
        snprintf(detail, sizeof detail, "run %llu was in progress", (unsigned long long)cs.run_id);
    } else {
        api_run_req r;
        char err[1024];
        uint64_t run_id = 0;
        bool was_busy = false;
        if (sched_run_parse(run_json, sid, &r, err, sizeof err) != 0) {
            event = status = "failed";
            snprintf(detail, sizeof detail, "%s", err);
        } else {
            coord_run_cfg cfg = { .plan = &r.plan, .expect_workers = (uint32_t)r.expect,
                                  .expect_timeout_ms = r.expect_timeout_ms, .interval_ms = 1000,
                                  .name_cap = STATS_DEFAULT_NAME_CAP, .full_history = r.full_history,
                                  .labels_json = r.labels };
            if (coord_run(t->c, &cfg, &run_id, &was_busy, err, sizeof err) == 0) {
                event = status = "started";
                snprintf(detail, sizeof detail, "run %llu", (unsigned long long)run_id);
            } else {
                event = status = was_busy ? "skipped" : "failed";
                snprintf(detail, sizeof detail, "%s", err);
            }
            api_run_req_fini(&r);
        }
    }
    log_info("master", "schedule %lld (%s): %s, %s", (long long)sid, cron, event, detail);
    cron_expr ce;
    char e2[256];
    int64_t next = cron_parse(cron, &ce, e2, sizeof e2) == 0 ? cron_next(&ce, tz, now_ms / 1000) : -1;
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    event_add(db, sid, event, detail);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE schedules SET next_ms = ?, last_start_ms = ?, last_status = ?,"
                           " runs = runs + ?, skipped = skipped + ? WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        if (next >= 0) sqlite3_bind_int64(st, 1, next * 1000);
        else sqlite3_bind_null(st, 1);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, !strcmp(event, "started"));
        sqlite3_bind_int(st, 5, strcmp(event, "started") != 0);
        sqlite3_bind_int64(st, 6, sid);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

static void schedule_tick(schedule_timer *t, history *h)
{
    sqlite3 *db = history_db(h);
    sqlite3_stmt *st = NULL;
    int64_t now_ms = (int64_t)time_wall_ms();
    typedef struct { int64_t id, due; char *cron, *tz, *run; } due_t;
    due_t due[16];
    int n = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, cron, tz, run, next_ms FROM schedules WHERE next_ms IS NOT NULL AND"
                           " next_ms <= ? ORDER BY next_ms LIMIT 16", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, now_ms);
    while (n < 16 && sqlite3_step(st) == SQLITE_ROW) {
        due[n].id = sqlite3_column_int64(st, 0);
        due[n].cron = strdup((const char *)sqlite3_column_text(st, 1));
        due[n].tz = strdup((const char *)sqlite3_column_text(st, 2));
        due[n].run = strdup((const char *)sqlite3_column_text(st, 3));
        due[n].due = sqlite3_column_int64(st, 4);
        if (due[n].cron && due[n].tz && due[n].run) n++;
        else {
            free(due[n].cron);
            free(due[n].tz);
            free(due[n].run);
        }
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        schedule_fire(t, db, due[i].id, due[i].cron, due[i].tz, due[i].run, due[i].due);
        free(due[i].cron);
        free(due[i].tz);
        free(due[i].run);
    }
}

static void *schedule_main(void *arg)
{
    schedule_timer *t = arg;
    char err[512];
    history *h = NULL;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        if (!h && !(h = history_open(t->history, false, err, sizeof err)))
            log_warn("master", "schedules: %s", err);
        if (h) schedule_tick(t, h);
        pthread_mutex_lock(&t->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (!t->stop) pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
    history_close(h);
    return NULL;
}

schedule_timer *schedule_start(coord *c, const char *history_path, char *err, size_t errcap)
{
    schedule_timer *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    t->c = c;
    snprintf(t->history, sizeof t->history, "%s", history_path);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->th, NULL, schedule_main, t) != 0) {
        snprintf(err, errcap, "cannot start the schedule timer: %s", strerror(errno));
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
        return NULL;
    }
    return t;
}

void schedule_stop(schedule_timer *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
