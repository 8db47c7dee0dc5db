/* What the CLI says about a run before it starts (issue 12), for `stampede validate` and
 * `stampede run` (local and --master) alike:
 *
 *   runinfo_warnings   the scenario's warnings (common/scenario.h sc->warnings, from the
 *                      parse and from scenario_apply_tags), one sc_warning_format block
 *                      each; printed after a successful parse, whatever follows
 *   runinfo_load       one line about the load: users for the closed model, the schedule
 *                      for the open one
 *   runinfo_monitor    a line about the monitor: section (issue 13), nothing without one
 *   runinfo_duration_note  what -t did to the scenario's stages when they are kept
 *                      (closed: no -u and no -r; open: no --arrival-rate): cut at the new
 *                      duration, or the last stage held up to it (loadshape_cut)
 *
 * Pure functions of their arguments (the scenario is read only); main thread of the CLI.
 * No globals. */
#ifndef CLI_RUNINFO_H
#define CLI_RUNINFO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "common/scenario.h"

/* Each of sc's warnings into f (nothing when it has none). Returns how many. */
int  runinfo_warnings(FILE *f, const scenario *sc);
/* The load line of sc (as overridden) into buf. */
void runinfo_load(const scenario *sc, char *buf, size_t cap);
/* "  monitor: 2 targets every 5s (...)\n" to f when the scenario has a monitor section. */
void runinfo_monitor(FILE *f, const scenario *sc);
/* sc: the scenario as parsed, before -u/-r/-t/--arrival-rate. When -t (duration_ms > 0)
 * keeps its stages, writes "-t D: the scenario's stages cut at D (they last S)" or
 * "-t D: the scenario's stages kept, their last stage's users (rate) held to D (they
 * last S)" into buf and returns true. Otherwise (no -t, -t equal to the stages' length,
 * or the stages replaced by -u/-r or --arrival-rate) false with buf "". */
bool runinfo_duration_note(const scenario *sc, uint32_t users, double rate, double arrival_rate,
                           uint64_t duration_ms, char *buf, size_t cap);
#endif
