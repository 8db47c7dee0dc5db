/* Scenario: the parsed, validated form of a scenario YAML file (DESIGN.md "Scenario").
 * Built by scenario_parse on one thread, then immutable and shared read-only by every
 * engine thread. Everything reachable from a scenario is owned by it: scenario_free
 * releases it all.
 *
 * Errors: the first problem found is reported in sc_error with file, 1-based line and
 * column, what was expected, and a hint (the nearest known key for a typo). Unknown
 * keys are errors, never ignored. Both load models (closed: users; open: arrivals per
 * second, common/scenario_types.h sc_model) parse.
 *
 * The types are in common/scenario_types.h, the engine's header rendering in
 * common/scenario_headers.h; both come with this header. */
#ifndef COMMON_SCENARIO_H
#define COMMON_SCENARIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/scenario_headers.h"
#include "common/scenario_types.h"

/* "file:line:col: error: msg\n  hint: hint\n" into buf. */
void sc_error_format(const sc_error *e, char *buf, size_t cap);
/* Warnings (issue 12): a parsed scenario may carry sc->warnings[0..nwarnings): it runs,
 * but probably not as meant (a threshold naming requests no step makes, a -T tag nothing
 * carries). The CLI prints each, after a successful parse (validate and run alike), as
 * "file:line:col: warning: msg\n  hint: hint\n" (this function; sc->file names the
 * file). Daemons ignore them. */
void sc_warning_format(const scenario *sc, const sc_warning *w, char *buf, size_t cap);

/* Parses text[len] (named file for messages). Returns the scenario, or NULL with *err.
 * env NULL (or env->fn NULL): env() is an error that reveals nothing about the process
 * (tmpl_env_none): what daemons use for a scenario they were sent (proto/plan.h). */
scenario *scenario_parse_env(const char *text, size_t len, const char *file,
                             const sc_set *sets, int nsets, sc_read_fn read, void *read_ud,
                             const sc_env *env, sc_error *err);
/* scenario_parse_env with no env() source. */
scenario *scenario_parse(const char *text, size_t len, const char *file,
                         const sc_set *sets, int nsets,
                         sc_read_fn read, void *read_ud, sc_error *err);
/* Reads path and parses it; env() reads this process's environment (for the CLI:
 * `stampede validate`; a daemon never calls this on a submitted scenario). */
scenario *scenario_load(const char *path, const sc_set *sets, int nsets, sc_error *err);
void      scenario_free(scenario *sc);

/* The load shape of a scenario (the arithmetic: common/loadshape.h). Readers: any
 * thread. -u/-r/-t (Locust's meaning): one linear ramp from 0 to users at rate users/s,
 * then held so that the whole run lasts duration_ms (the ramp counts toward it; a ramp
 * longer than the duration is cut). users 0 keeps the scenario's peak; rate 0 means "all
 * at once"; duration 0 keeps the scenario's total duration. users above SC_MAX_USERS are
 * clamped to it (plan_scenario refuses such a PLAN with an error before it gets here).
 * -t alone (users 0, rate 0, duration_ms > 0; issue 12) keeps the scenario's stages
 * instead, cut at duration_ms or with the last stage's users held up to it
 * (loadshape_cut); the CLI says so on its status line.
 * On ENOMEM the scenario keeps its own stages. */
void scenario_override_load(scenario *sc, uint32_t users, double rate, uint64_t duration_ms);
/* Open model: --arrival-rate R replaces the stages with one stage at R for the run's
 * duration (duration_ms 0: the scenario's). Closed model: no effect. On ENOMEM the
 * scenario keeps its stages. In the open model scenario_override_load reads users as
 * the pool (max_users; max_backlog's default follows it unless the scenario set one),
 * ignores rate (there is no spawn rate) and, with duration_ms, cuts the stages at it or
 * holds the last stage's rate up to it. */
void scenario_override_rate(scenario *sc, double rate, uint64_t duration_ms);
/* Target users at t_ms after the start (linear within a stage; the open model: 0), and
 * the total length. */
uint32_t scenario_users_at(const scenario *sc, uint64_t t_ms);
uint64_t scenario_duration_ms(const scenario *sc);
uint32_t scenario_peak_users(const scenario *sc);   /* open model: max_users */
/* Profile of global user k (0-based): smooth weighted round-robin over the weights, so
 * every prefix of users follows the weights as closely as integers allow. */
int      scenario_profile_of(const scenario *sc, uint64_t k);
/* Checks run-time requirements known once the peak is known (unique feeders need
 * peak users <= rows). 0 or -1 with err. */
int      scenario_check_run(const scenario *sc, sc_error *err);

/* Tags (issue 12, Locust's -T/--tags and -E/--exclude-tags): steps, pick branches and
 * profiles may carry `tags: [a, b]`. With include tags (ninclude > 0) only what carries
 * one of them, or contains something that does, is kept (a profile or container without
 * tags is kept when something inside it is selected); whatever carries an exclude tag is
 * removed. Applied once after parsing, before the scenario is shared (the pruned steps
 * are freed). 0, or -1 with err (e.g. nothing left to run: "no step carries tag X", with
 * the tags the scenario has as a hint). The CLI applies the user's tags for a local run
 * and puts them in the PLAN (proto_plan.tags / exclude_tags); plan_scenario applies them
 * on the master and on every worker. */
int      scenario_apply_tags(scenario *sc, const char *const *include, int ninclude,
                             const char *const *exclude, int nexclude, sc_error *err);

#endif
