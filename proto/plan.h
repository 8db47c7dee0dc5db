/* Plans and scenarios. A plan carries the scenario as its YAML text plus the contents
 * of every data file it names, so a worker on another host never reads its own disk
 * for them; plan_scenario turns a plan back into the scenario, applying --set, --host,
 * -u/-r/-t and --arrival-rate. The master and every worker call the same function on the same plan,
 * so they run and judge the same scenario. Any thread; no shared state. */
#ifndef PROTO_PLAN_H
#define PROTO_PLAN_H
#include "common/scenario.h"
#include "proto/msg.h"

/* env("NAME"): evaluated by the CLI only. plan_from_file (the CLI: `stampede run`, local
 * or --master, and `validate`) reads each name from the CLI's own environment and
 * records name and value into p->env; a variable that is not set is an error at its
 * file:line:column (hint "export NAME=..."). plan_scenario (the master and every worker)
 * evaluates env() from p->env alone, never from the daemon's environment: a name not in
 * p->env is a scenario error that names the variable and says nothing about the daemon
 * (a run submitted through the API's form carries no values). Error messages name
 * variables, never their values. */

/* Reads path, parses it (with the given --set overrides) and fills p->scenario,
 * p->scenario_file, p->files, p->sets and p->env (all malloc'd, freed by plan_fini). On
 * success also returns the parsed scenario through *out (caller frees) when out is
 * non-NULL. -1 with err on a scenario error. */
int  plan_from_file(proto_plan *p, const char *path, const sc_set *sets, int nsets,
                    scenario **out, sc_error *err);
/* Parses the plan's scenario with its files, overrides and env values. A users override
 * above SC_MAX_USERS is refused (in the open model -u is the pool, max_users, so the same
 * bound holds for it). Overrides apply in this order: --set (at parse), --host, -u/-r/-t
 * (scenario_override_load), then arrival_rate (scenario_override_rate: one stage at that
 * rate for the -t duration, or the scenario's total). Refused with a reason and a hint:
 * arrival_rate > 0 on a closed-model scenario, rate (-r) > 0 on an open-model one, and
 * an arrival_rate that is not finite within 0..SC_MAX_RATE. NULL with err. */
scenario *plan_scenario(const proto_plan *p, sc_error *err);
/* Copies every owned field of src into dst (deep). 0 or -1. */
int  plan_copy(proto_plan *dst, const proto_plan *src);
/* Frees what plan_from_file/plan_copy allocated (the struct is the caller's). */
void plan_fini(proto_plan *p);
#endif
