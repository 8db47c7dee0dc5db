/* Schedules (issue 14): runs started by the master on a cron timetable.
 *
 * A schedule is a cron expression (common/cron.h), a time zone, and a run exactly as
 * `stampede run --master` submits it (the POST /api/runs body: the scenario's text, its
 * data files, -u/-r/-t, --host, --set, --label, tags...), stored whole in the history
 * file (tables schedules and schedule_events beside the runs), so a schedule survives a
 * master restart and never depends on a file that moved.
 *
 * The store (any thread, one history connection per call, as master/history.h):
 *   schedule_add     validates (the cron expression, the zone, the run: parsed with the
 *                    API's own api_plan_from_json and the scenario checked), stores it,
 *                    computes its next start; *id. 0, or -1 with err (*bad set when the
 *                    request was at fault: the API answers 400, else 500).
 *   schedule_list_json  {"schedules": [{id, cron, tz, scenario, created, next, runs,
 *                    skipped, last_start, last_status, events: [{at, event, detail}]
 *                    (the last SCHEDULE_EVENTS_SHOWN, newest first)}]} (times in ms since
 *                    the epoch).
 *   schedule_remove  deletes it and its events; *missing when there is none.
 *
 * The timer (schedule_start: one thread on the master, stopped by schedule_stop): once a
 * second it takes every schedule whose next start has come:
 *   - the coordinator idle: the run is submitted (coord_run, with the label schedule=ID
 *     added to its own), event "started" with the run id; the run is recorded in the
 *     history like any other when it ends;
 *   - a run in progress (this schedule's or any other): the start is skipped, never
 *     queued or overlapped, event "skipped" ("a run was in progress");
 *   - the start more than SCHEDULE_LATE_S late (the master was down at the time): event
 *     "missed", not run (a timetable is not caught up after an outage: the next start
 *     comes on time);
 *   - a run the coordinator refuses (the scenario no longer valid, ...): event "failed"
 *     with the reason;
 * then the next start is computed from now. Events are kept (at most
 * SCHEDULE_EVENTS_KEPT per schedule, the oldest deleted). */
#ifndef MASTER_SCHEDULE_H
#define MASTER_SCHEDULE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "master/coord.h"

#define SCHEDULE_LATE_S       60
#define SCHEDULE_EVENTS_SHOWN 10
#define SCHEDULE_EVENTS_KEPT  1000
#define SCHEDULE_MAX          1000  /* schedules per master */

int   schedule_add(const char *history, const char *cron, const char *tz, const char *run_json, int64_t *id,
                   int64_t *next_ms, bool *bad, char *err, size_t errcap);
char *schedule_list_json(const char *history, char *err, size_t errcap);
int   schedule_remove(const char *history, int64_t id, bool *missing, char *err, size_t errcap);

typedef struct schedule_timer schedule_timer;
/* Starts the timer thread over the schedules in history for coordinator c. NULL with
 * err. */
schedule_timer *schedule_start(coord *c, const char *history, char *err, size_t errcap);
void            schedule_stop(schedule_timer *t);
#endif
