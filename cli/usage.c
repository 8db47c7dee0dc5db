/* The `stampede` command's usage texts: cli/usage.h. */
#include "cli/usage.h"
#include <string.h>

void usage(FILE *f)
{
    fprintf(f,
"usage: stampede run SCENARIO.yaml [-u USERS] [-r SPAWN_RATE] [-t DURATION] [-H URL]\n"
"                    [--arrival-rate RATE] [-T TAGS] [-E TAGS]\n"
"                    [--out DIR] [--threads N] [--set KEY=VALUE]... [--quiet]\n"
"                    [--label K=V]... [--history FILE | --no-history]\n"
"                    [--csv PREFIX [--csv-full-history]] [--html FILE]\n"
"                    [--exit-code-on-error N] [--only-summary] [--headless]\n"
"                    [--master http://HOST:8089 [--expect-workers N] [--expect-timeout 60s]]\n"
"                    [--ui ADDR:PORT [--ui-auth USER:PASS | --ui-auth-file F] [--ui-host NAMES]]\n"
"                    [--allow-monitor CIDR,...]\n"
"       stampede validate SCENARIO.yaml [--set KEY=VALUE]... [--arrival-rate RATE] [-t DURATION]\n"
"                         [-T TAGS] [-E TAGS]\n"
"       stampede import-har FILE.har [-o scenario.yaml] [--host-filter HOST] [--keep-static]\n"
"       stampede compare BASE NEW [--tolerance 10%%] [--metric p95,rps,error_rate] [--junit FILE]\n"
"       stampede compare --baseline DIR [--history FILE]\n"
"       stampede history [--master URL | --db FILE] [--scenario NAME] [--label K=V]... [--json]\n"
"       stampede schedule add --master URL --cron \"0 22 * * *\" [--tz ZONE] SCENARIO.yaml [run options]\n"
"       stampede schedule list --master URL [--json] | schedule rm --master URL ID\n"
"                        [--show ID | --set-baseline ID]\n"
"       stampede report DIR\n"
"       stampede --version\n"
"\n"
"  -u, --users N        ramp to N users (overrides the scenario's stages, Locust's -u);\n"
"                       open model: the pool of users (load.max_users)\n"
"  -r, --spawn-rate R   users started per second during that ramp (default: all at once);\n"
"                       refused in the open model (use --arrival-rate)\n"
"  -t, --duration D     whole run length including the ramp (e.g. 90s, 5m, 1h30m;\n"
"                       Locust's --run-time is the same option);\n"
"                       open model: cuts the stages there or holds the last rate to it\n"
"      --arrival-rate R open model: one stage at R iterations per second for the whole\n"
"                       run (50, 50/s, 3000/m, 100/h), replacing the stages\n"
"  -H, --host URL       base URL replacing the scenario's target\n"
"  -T, --tags A,B       run only steps, branches and profiles tagged A or B (repeatable)\n"
"  -E, --exclude-tags A,B  leave out whatever is tagged A or B (repeatable)\n"
"      --out DIR        results folder (default results/<name>-<timestamp>)\n"
"      --threads N      engine threads (default: one per core)\n"
"      --engine-cpus L  pin engine thread i to the i-th CPU of L (taskset's form:\n"
"                       1 or 0,2 or 2-5; reused in turn when shorter); the other\n"
"                       threads stay where the process runs\n"
"      --set KEY=VALUE  override a scenario value by its path (load.graceful_stop=5s)\n"
"      --label K=V      a label of this run in the history (commit=abc123; repeatable)\n"
"      --history FILE   the history the run is recorded in (default: history.db in the\n"
"                       results folder's parent, results/history.db)\n"
"      --no-history     do not record the run\n"
"      --quiet          no live status line and no end table\n"
"      --only-summary   no live status line; the end table only (Locust's)\n"
"      --headless       accepted for Locust's command lines; no effect (always headless)\n"
"      --csv PREFIX     also write Locust's PREFIX_stats.csv, PREFIX_stats_history.csv,\n"
"                       PREFIX_failures.csv and PREFIX_exceptions.csv\n"
"      --csv-full-history  a row per name in each interval of stats_history.csv\n"
"      --html FILE      also copy the run's report.html to FILE\n"
"      --exit-code-on-error N  exit code of a run with failed requests and no thresholds\n"
"                       (default 1, as Locust; 0: failures alone do not fail the run)\n"
"      --master URL     run on a stampede-master's workers (its HTTP API URL)\n"
"      --expect-workers N  wait for N workers before starting (with --master)\n"
"      --ui ADDR:PORT   serve the live dashboard, its API and /metrics there during a\n"
"                       local run (e.g. 127.0.0.1:8089; up until 2 s after the end)\n"
"      --ui-auth U:P    HTTP basic auth for --ui (visible to local users in ps)\n"
"      --ui-auth-file F USER:PASS from F's first line instead (mode 0600)\n"
"      --ui-host NAMES  host names (comma-separated) the --ui dashboard is reached by\n"
"      --allow-monitor CIDR,...  networks the scenario's monitor: section may scrape\n"
"                       (default 127.0.0.0/8,::1; the list replaces the default)\n"
"\n"
"Exit codes: 0 finished and thresholds held (without thresholds: no failed request),\n"
"1 a threshold failed (without thresholds: requests failed, --exit-code-on-error),\n"
"2 usage or scenario error, 3 run aborted, results lost, or no request made.\n");
}

void usage_validate(FILE *f)
{
    fprintf(f,
"usage: stampede validate SCENARIO.yaml [--set KEY=VALUE]... [--arrival-rate RATE]\n"
"                         [-t DURATION] [-T TAGS] [-E TAGS]\n"
"\n"
"Reads the scenario and its data files, applies the overrides and tags, and checks\n"
"everything a run would check before it starts; prints a one-line description.\n"
"Exit codes: 0 valid, 2 not (the message names the file, line and column).\n");
}

/* Locust's options without an equivalent of the same spelling: a hint naming ours.
 * Decision: checked before getopt, on every argument that looks like one of them (with
 * or without "=value"), so the hint replaces getopt's bare "unrecognized option". */
static const struct { const char *flag; const char *hint; } locust_hints[] = {
    { "-f", "the scenario file is the argument after \"run\": stampede run SCENARIO.yaml" },
    { "--locustfile", "the scenario file is the argument after \"run\": stampede run SCENARIO.yaml" },
    { "--web-port", "the dashboard: --ui 127.0.0.1:PORT" },
    { "-P", "the dashboard: --ui 127.0.0.1:PORT" },
    { "--web-host", "the dashboard: --ui ADDR:PORT" },
    { "--web-auth", "--ui-auth USER:PASS (or --ui-auth-file F)" },
    { "--autostart", "a run starts at once; --ui shows it" },
    { "--autoquit", "a run ends by itself; --ui stays up 2 s after it" },
    { "--processes", "--threads N (engine threads; default one per core)" },
    { "--master-bind-port", "start stampede-master --listen tcp://ADDR:PORT; this CLI submits with --master http://HOST:8089" },
    { "--master-bind-host", "start stampede-master --listen tcp://ADDR:PORT; this CLI submits with --master http://HOST:8089" },
    { "--master-host", "workers are stampede-worker --master tcp://HOST:PORT; this CLI submits with --master http://HOST:8089" },
    { "--master-port", "workers are stampede-worker --master tcp://HOST:PORT; this CLI submits with --master http://HOST:8089" },
    { "--worker", "run stampede-worker --master tcp://HOST:PORT" },
    { "--expect-workers-max-wait", "--expect-timeout 60s (with --master)" },
    { "--stop-timeout", "--set load.graceful_stop=30s" },
    { "-s", "--set load.graceful_stop=30s (Locust's --stop-timeout)" },
    { "--iterations", "a scenario's loop count, or -t DURATION" },
    { "-i", "a scenario's loop count, or -t DURATION" },
    { "--loglevel", "STAMPEDE_LOG=debug|info|warn|error in the environment" },
    { "-L", "STAMPEDE_LOG=debug|info|warn|error in the environment" },
    { "--logfile", "logs go to stderr: redirect it (2>FILE)" },
    { "--reset-stats", "no equivalent: every request of the run is counted" },
    { "--print-stats", "the live status line is on by default (--quiet turns it off)" },
    { "--csv-number-of-failures", "failures.csv always lists every error" },
    { "--config", "the scenario file holds the settings; override them with --set KEY=VALUE" },
    { "--class-picker", "--set to change profile weights (weight: 0 switches one off)" },
    { "--list", "stampede validate SCENARIO.yaml describes it" },
    { "-l", "stampede validate SCENARIO.yaml describes it" },
    { "--show-task-ratio", "stampede validate SCENARIO.yaml describes it" },
    { "--user-classes", "-T/--tags on profiles, or --set to weight profiles" },
    { "--tls-cert", "the dashboard's TLS: put a TLS proxy in front of --ui" },
    { "--skip-log-setup", "no equivalent needed" },
};

/* 0, or -1 after printing the hint for the first Locust-only option in argv. */
int locust_hint(const char *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (a[0] != '-') continue;
        size_t n = strcspn(a, "=");
        for (size_t k = 0; k < sizeof locust_hints / sizeof locust_hints[0]; k++) {
            if (strlen(locust_hints[k].flag) == n && !strncmp(a, locust_hints[k].flag, n)) {
                fprintf(stderr, "stampede %s: %.*s is a Locust option Stampede does not have\n"
                        "  hint: %s\n", cmd, (int)n, a, locust_hints[k].hint);
                return -1;
            }
        }
    }
    return 0;
}
