/* The history's HTTP routes (issue 14), served by the API thread (master/api.c routes
 * here before its 404):
 *   GET  /api/history?scenario=NAME&label=K=V&limit=N   runs newest first (label
 *        repeatable: every one must match; limit default 50, at most 1000)
 *   GET  /api/history/ID                                one run whole
 *   POST /api/history/ID/baseline                       makes it its scenario's baseline
 *   GET  /api/trends?scenario=NAME&name=REQ&metric=p95&limit=N   one point per run,
 *        oldest first (name absent or "Aggregated": the totals; metric p50 p90 p95 p99
 *        max rps requests failures error_rate service_p95)
 *   GET    /api/schedules                               master/schedule.h's list
 *   POST   /api/schedules  {"cron", "tz" (optional), "run": the POST /api/runs body}
 *                          -> 201 {"id", "next"} (400 with the reason for a bad one)
 *   DELETE /api/schedules/ID
 * The bodies are master/history.h's JSON. Each request opens its own connection to the
 * history file (SQLite: readers do not wait for the coordinator's writes) and closes
 * it; readonly (a local run's --ui): the POST is a 409. No history (--no-history): 404
 * {"error": "this master keeps no history"}. Errors: 400 for a bad parameter, 404 for a
 * run that is not there, 500 with the reason for a history that cannot be read. */
#ifndef MASTER_API_HISTORY_H
#define MASTER_API_HISTORY_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum { API_H_GET, API_H_POST, API_H_DELETE, API_H_OTHER };

typedef struct api_hist_reply {
    int         code;
    json_t     *body;           /* owned by the caller after the call */
    const char *allow;          /* for a 405: the methods allowed */
} api_hist_reply;

/* true when path (plen bytes, no trailing '/') is a history route; out filled. query:
 * the URI's query string or NULL. */
bool api_history_serve(const char *history, bool readonly, int method, const char *path, size_t plen,
                       const char *query, const char *body, size_t blen, api_hist_reply *out);
#endif
