/* `stampede`: run, validate. A local run starts the coordinator and one worker agent in
 * this process, talking over nng inproc:// through the same protocol as a distributed
 * run. The main thread only handles signals and draws the status line. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "common/log.h"
#include "common/scenario.h"
#include "common/time.h"
#include "common/units.h"
#include "master/api.h"
#include "master/coord.h"
#include "proto/plan.h"
#include "worker/agent.h"
#include "cli/compare.h"
#include "cli/remote.h"
#include "master/report.h"
#include "cli/status.h"

#define EXIT_OK        0
#define EXIT_THRESHOLD 1
#define EXIT_USAGE     2
#define EXIT_ABORTED   3
#define MAX_SETS       64
#define CLI_UI_LINGER_MS 2000   /* --ui stays up this long after the run ended */

static void usage(FILE *f)
{
    fprintf(f,
"usage: stampede run SCENARIO.yaml [-u USERS] [-r SPAWN_RATE] [-t DURATION] [--host URL]\n"
"                    [--arrival-rate RATE]\n"
"                    [--out DIR] [--threads N] [--set KEY=VALUE]... [--quiet]\n"
"                    [--master http://HOST:8089 [--expect-workers N] [--expect-timeout 60s]]\n"
"                    [--ui ADDR:PORT [--ui-auth USER:PASS | --ui-auth-file F] [--ui-host NAMES]]\n"
"       stampede validate SCENARIO.yaml [--set KEY=VALUE]... [--arrival-rate RATE] [-t DURATION]\n"
"       stampede compare BASE NEW [--tolerance 10%%] [--metric p95,rps,error_rate] [--junit FILE]\n"
"       stampede report DIR\n"
"       stampede --version\n"
"\n"
"  -u, --users N        ramp to N users (overrides the scenario's stages, Locust's -u);\n"
"                       open model: the pool of users (load.max_users)\n"
"  -r, --spawn-rate R   users started per second during that ramp (default: all at once);\n"
"                       refused in the open model (use --arrival-rate)\n"
"  -t, --duration D     whole run length including the ramp (e.g. 90s, 5m, 1h30m);\n"
"                       open model: cuts the stages there or holds the last rate to it\n"
"      --arrival-rate R open model: one stage at R iterations per second for the whole\n"
"                       run (50, 50/s, 3000/m, 100/h), replacing the stages\n"
"      --host URL       base URL replacing the scenario's target\n"
"      --out DIR        results folder (default results/<name>-<timestamp>)\n"
"      --threads N      engine threads (default: one per core)\n"
"      --set KEY=VALUE  override a scenario value by its path (load.graceful_stop=5s)\n"
"      --quiet          no live status line\n"
"      --master URL     run on a stampede-master's workers (its HTTP API URL)\n"
"      --expect-workers N  wait for N workers before starting (with --master)\n"
"      --ui ADDR:PORT   serve the live dashboard, its API and /metrics there during a\n"
"                       local run (e.g. 127.0.0.1:8089; up until 2 s after the end)\n"
"      --ui-auth U:P    HTTP basic auth for --ui (visible to local users in ps)\n"
"      --ui-auth-file F USER:PASS from F's first line instead (mode 0600)\n"
"      --ui-host NAMES  host names (comma-separated) the --ui dashboard is reached by\n"
"\n"
"Exit codes: 0 finished and thresholds held, 1 a threshold failed, 2 usage or scenario\n"
"error, 3 run aborted.\n");
}

static int parse_sets(const char *arg, sc_set *sets, int *nsets)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "stampede: --set wants KEY=VALUE, got \"%s\"\n", arg);
        return -1;
    }
    if (*nsets >= MAX_SETS) {
        fprintf(stderr, "stampede: at most %d --set options\n", MAX_SETS);
        return -1;
    }
    sets[*nsets].key = strndup(arg, (size_t)(eq - arg));
    sets[*nsets].value = eq + 1;
    (*nsets)++;
    return 0;
}

/* --arrival-rate: a rate as the scenario writes one (units_rate), above 0. */
static int parse_arrival_rate(const char *cmd, const char *arg, double *out)
{
    if (units_rate(arg, out) != 0 || !(*out > 0) || *out > SC_MAX_RATE) {
        fprintf(stderr, "stampede %s: --arrival-rate wants iterations per second above 0 and at "
                "most %.0f, such as 50, 50/s, 3000/m or 100/h; got \"%s\"\n", cmd, SC_MAX_RATE, arg);
        return -1;
    }
    return 0;
}

/* The options of one model used on a scenario of the other: 0, or -1 after saying why
 * (the caller exits 2). */
static int check_model_options(const char *cmd, const scenario *sc, double spawn_rate,
                               double arrival_rate)
{
    if (sc->model == SC_MODEL_OPEN && spawn_rate > 0) {
        fprintf(stderr, "stampede %s: -r (spawn rate) has no meaning for \"%s\", an open-model "
                "scenario: users start as arrivals need them\n"
                "  hint: --arrival-rate R sets the iterations per second, -u N the pool of users\n",
                cmd, sc->file ? sc->file : sc->name);
        return -1;
    }
    if (sc->model != SC_MODEL_OPEN && arrival_rate > 0) {
        fprintf(stderr, "stampede %s: --arrival-rate needs an open-model scenario, and \"%s\" is "
                "closed (its stages give users)\n"
                "  hint: use -u N and -r R for users, or give load model: open, max_users and "
                "stages with rate\n", cmd, sc->file ? sc->file : sc->name);
        return -1;
    }
    return 0;
}

/* One line about the load: users for the closed model, the schedule for the open one. */
static void describe_load(const scenario *sc, char *buf, size_t cap)
{
    char d[32];
    units_format_ms(scenario_duration_ms(sc), d, sizeof d);
    if (sc->model != SC_MODEL_OPEN) {
        snprintf(buf, cap, "peak %u users, %s", scenario_peak_users(sc), d);
        return;
    }
    double planned = loadshape_area(sc->stages, sc->nstages,
                                    (double)scenario_duration_ms(sc) * 1000.0);
    snprintf(buf, cap, "open model: rate up to %g/s, %.0f arrivals planned, pool of %u users, "
             "backlog %u, %s arrivals, %s", loadshape_peak_rate(sc->stages, sc->nstages),
             ceil(planned), sc->max_users, sc->max_backlog,
             sc->arrivals == SC_ARRIVALS_POISSON ? "poisson" : "uniform", d);
}

static void print_error(const sc_error *e)
{
    char buf[2048];
    sc_error_format(e, buf, sizeof buf);
    fputs(buf, stderr);
    if (buf[0] && buf[strlen(buf) - 1] != '\n') fputc('\n', stderr);
}

static int cmd_validate(int argc, char **argv)
{
    sc_set sets[MAX_SETS];
    int nsets = 0;
    const char *file = NULL;
    double arrival_rate = 0;
    uint64_t duration_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--arrival-rate") && i + 1 < argc) {
            if (parse_arrival_rate("validate", argv[++i], &arrival_rate) != 0) return EXIT_USAGE;
        } else if (!strncmp(argv[i], "--arrival-rate=", 15)) {
            if (parse_arrival_rate("validate", argv[i] + 15, &arrival_rate) != 0) return EXIT_USAGE;
        } else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--duration")) && i + 1 < argc) {
            if (units_duration_ms(argv[++i], &duration_ms) != 0 || duration_ms == 0) {
                fprintf(stderr, "stampede validate: -t wants a duration like 90s, 5m or 1h30m, got \"%s\"\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (parse_sets(argv[++i], sets, &nsets) != 0) return EXIT_USAGE;
        } else if (!strncmp(argv[i], "--set=", 6)) {
            if (parse_sets(argv[i] + 6, sets, &nsets) != 0) return EXIT_USAGE;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "stampede validate: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "stampede validate: one scenario file at a time\n");
            return EXIT_USAGE;
        }
    }
    if (!file) {
        usage(stderr);
        return EXIT_USAGE;
    }
    sc_error err;
    proto_plan plan = { 0 };
    scenario *sc = NULL;
    int rc = EXIT_OK;
    if (plan_from_file(&plan, file, sets, nsets, &sc, &err) != 0) {
        print_error(&err);
        rc = EXIT_USAGE;
    } else if (check_model_options("validate", sc, 0, arrival_rate) != 0) {
        rc = EXIT_USAGE;
    } else {
        if (duration_ms)
            scenario_override_load(sc, 0, 0, duration_ms);
        scenario_override_rate(sc, arrival_rate, duration_ms);
        if (scenario_check_run(sc, &err) != 0) {
            print_error(&err);
            rc = EXIT_USAGE;
        } else {
            char load[256];
            describe_load(sc, load, sizeof load);
            printf("%s: ok: scenario \"%s\", %d user profiles, %s, %d thresholds\n",
                   file, sc->name, sc->nprofiles, load, sc->nthresholds);
        }
    }
    scenario_free(sc);
    plan_fini(&plan);
    for (int i = 0; i < nsets; i++) free((char *)sets[i].key);
    return rc;
}

static void draw_status(const coord_status *s, uint32_t peak, bool final)
{
    if (s->open_model) {
        status_open o = { s->rate_planned, s->rate_achieved, s->dropped, s->lag_p99_ms };
        status_draw_open(s->elapsed_s, &o, s->users, peak, s->rps, s->p95_ms, s->failures,
                         s->requests, final);
        return;
    }
    status_draw(s->elapsed_s, s->users, peak, s->rps, s->p95_ms, s->failures, s->requests, final);
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "users", required_argument, NULL, 'u' },
        { "spawn-rate", required_argument, NULL, 'r' },
        { "arrival-rate", required_argument, NULL, 'R' },
        { "duration", required_argument, NULL, 't' },
        { "host", required_argument, NULL, 'H' },
        { "out", required_argument, NULL, 'o' },
        { "threads", required_argument, NULL, 'T' },
        { "set", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "master", required_argument, NULL, 'm' },
        { "expect-workers", required_argument, NULL, 'w' },
        { "expect-timeout", required_argument, NULL, 'W' },
        { "ui", required_argument, NULL, 'U' },
        { "ui-auth", required_argument, NULL, 'A' },
        { "ui-auth-file", required_argument, NULL, 'F' },
        { "ui-host", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint32_t users = 0, threads = 0;
    double rate = 0, arrival_rate = 0;
    uint64_t duration_ms = 0;
    const char *host = NULL, *out = NULL, *master = NULL, *ui = NULL, *ui_auth = NULL;
    const char *ui_auth_file = NULL, *ui_host = NULL;
    char ui_auth_buf[1100];
    uint32_t expect_workers = 1;
    uint64_t expect_timeout_ms = 60000;
    bool quiet = false;
    sc_set sets[MAX_SETS];
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "u:r:t:qh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'u':
            errno = 0;
            users = (uint32_t)strtoul(optarg, &end, 10);
            if (errno || *end || users == 0) {
                fprintf(stderr, "stampede run: -u wants a positive number of users, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r':
            rate = strtod(optarg, &end);
            if (*end || rate <= 0) {
                fprintf(stderr, "stampede run: -r wants users per second > 0, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'R':
            if (parse_arrival_rate("run", optarg, &arrival_rate) != 0)
                return EXIT_USAGE;
            break;
        case 't':
            if (units_duration_ms(optarg, &duration_ms) != 0 || duration_ms == 0) {
                fprintf(stderr, "stampede run: -t wants a duration like 90s, 5m or 1h30m, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'H': host = optarg; break;
        case 'o': out = optarg; break;
        case 'T':
            threads = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || threads == 0 || threads > 1024) {
                fprintf(stderr, "stampede run: --threads wants 1..1024, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (parse_sets(optarg, sets, &nsets) != 0) return EXIT_USAGE;
            break;
        case 'q': quiet = true; break;
        case 'm':
            if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
                fprintf(stderr, "stampede run: --master wants the master's API URL (http://HOST:8089), got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            master = optarg;
            break;
        case 'w':
            expect_workers = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || expect_workers == 0 || expect_workers > 10000) {
                fprintf(stderr, "stampede run: --expect-workers wants 1..10000, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'W':
            if (units_duration_ms(optarg, &expect_timeout_ms) != 0 || expect_timeout_ms == 0) {
                fprintf(stderr, "stampede run: --expect-timeout wants a duration like 60s, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'U': ui = optarg; break;
        case 'A': ui_auth = optarg; break;
        case 'F': ui_auth_file = optarg; break;
        case 'N': ui_host = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "stampede run: expected exactly one scenario file\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *file = argv[optind];
    if (host && strncmp(host, "http://", 7) && strncmp(host, "https://", 8)) {
        fprintf(stderr, "stampede run: --host wants a URL starting with http:// or https://, got \"%s\"\n", host);
        return EXIT_USAGE;
    }
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (uint32_t)n : 1;
    }

    proto_plan plan = { 0 };
    sc_error serr;
    scenario *sc = NULL;
    if (plan_from_file(&plan, file, sets, nsets, &sc, &serr) != 0) {
        print_error(&serr);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if (check_model_options("run", sc, rate, arrival_rate) != 0) {
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    scenario_free(sc);
    plan.host = host ? strdup(host) : NULL;
    plan.users = users;
    plan.rate = rate;
    plan.duration_ms = duration_ms;
    plan.arrival_rate = arrival_rate;
    sc = plan_scenario(&plan, &serr);       /* with the overrides, for the status line */
    /* The same as the daemons' plan_scenario does with the PLAN's arrival_rate (doing it
     * twice gives the same stages), so the status line shows it whatever plan.c does. */
    if (sc)
        scenario_override_rate(sc, plan.arrival_rate, plan.duration_ms);
    if (!sc || scenario_check_run(sc, &serr) != 0) {
        print_error(&serr);
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    uint32_t peak = scenario_peak_users(sc);
    if (master) {
        sigset_t rs;
        sigemptyset(&rs);
        sigaddset(&rs, SIGINT);
        sigaddset(&rs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &rs, NULL);
        remote_cfg rcfg = { .master = master, .plan = &plan, .expect_workers = expect_workers,
                            .expect_timeout_ms = expect_timeout_ms, .out_dir = out, .name = sc->name,
                            .peak_users = peak, .quiet = quiet, .sigs = &rs };
        int rrc = remote_run(&rcfg);
        scenario_free(sc);
        plan_fini(&plan);
        for (int i = 0; i < nsets; i++) free((char *)sets[i].key);
        return rrc;
    }
    if (ui_auth_file && !ui_auth) {
        char ferr[1200];
        if (api_auth_file(ui_auth_file, ui_auth_buf, sizeof ui_auth_buf, ferr, sizeof ferr) != 0) {
            fprintf(stderr, "stampede run: %s\n", ferr);
            scenario_free(sc);
            plan_fini(&plan);
            return EXIT_USAGE;
        }
        ui_auth = ui_auth_buf;
    } else if (ui_auth_file) {
        fprintf(stderr, "stampede run: give --ui-auth or --ui-auth-file, not both\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if ((ui_auth || ui_host) && !ui) {
        fprintf(stderr, "stampede run: --ui-auth, --ui-auth-file and --ui-host go with --ui\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if (expect_workers > 1) {
        fprintf(stderr, "stampede run: --expect-workers needs --master (a local run has one worker)\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    char url[64];
    snprintf(url, sizeof url, "inproc://stampede-%d", (int)getpid());

    /* Signals go to the main thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[1024];
    int rc = EXIT_OK;
    coord_opts copts = { .url = url, .id = "local" };
    coord *co = coord_start(&copts, err, sizeof err);
    if (!co) {
        fprintf(stderr, "stampede: %s\n", err);
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_ABORTED;
    }
    /* The worker allowlist guards a worker against a master's plans; in a local run
     * the user is both, so every network is allowed. */
    allow_list everywhere;
    char aerr[128];
    allow_parse(&everywhere, "0.0.0.0/0,::/0", aerr, sizeof aerr);
    agent_cfg ac = { .master_url = url, .threads = threads, .id = "local", .allow = &everywhere };
    agent *ag = agent_start(&ac, err, sizeof err);
    if (!ag) {
        fprintf(stderr, "stampede: %s\n", err);
        coord_free(co);
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_ABORTED;
    }
    coord_run_cfg rc_cfg = { .plan = &plan, .expect_workers = 1, .expect_timeout_ms = 10000,
                             .out_dir = out, .interval_ms = 1000, .name_cap = STATS_DEFAULT_NAME_CAP };
    if (coord_run(co, &rc_cfg, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "stampede: %s\n", err);
        agent_join_free(ag);
        coord_free(co);
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    /* --ui: the master's dashboard, API and /metrics, on this run's coordinator. */
    api *ua = NULL;
    if (ui) {
        int uport = 0;
        if (!(ua = api_start_hosts(co, ui, ui_auth, ui_host, &uport, err, sizeof err))) {
            fprintf(stderr, "stampede run: --ui: %s\n", err);
            coord_stop(co, true);
            coord_wait(co, 30000);
            agent_join_free(ag);
            coord_free(co);
            scenario_free(sc);
            plan_fini(&plan);
            return EXIT_USAGE;
        }
        const char *colon = strrchr(ui, ':');
        fprintf(stderr, "stampede: dashboard on http://%.*s:%d/ (metrics: /metrics)\n",
                (int)(colon - ui), ui, uport);
    }
    bool tty = isatty(STDERR_FILENO) && !quiet;
    if (!quiet) {
        char load[256];
        describe_load(sc, load, sizeof load);
        fprintf(stderr, "stampede: running \"%s\" against %s: %s, %u threads\n",
                sc->name, sc->target, load, threads);
    }
    int interrupts = 0;
    uint64_t last_draw = 0;
    coord_status st;
    for (;;) {
        if (coord_wait(co, 1)) break;
        struct timespec ts = { 0, 200 * 1000000L };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            interrupts++;
            if (interrupts == 1) {
                if (!quiet) fprintf(stderr, "\nstampede: stopping (users finish their request; Ctrl-C again to abort)\n");
                coord_stop(co, false);
            } else {
                if (!quiet) fprintf(stderr, "\nstampede: aborting\n");
                coord_stop(co, true);
            }
        }
        uint64_t now = time_mono_us();
        if (tty && now - last_draw >= 1000000) {
            coord_get_status(co, &st);
            if (st.state == RUN_RUNNING || st.state == RUN_STOPPING) draw_status(&st, peak, false);
            last_draw = now;
        }
    }
    coord_get_status(co, &st);
    if (tty) draw_status(&st, peak, true);
    if (st.state == RUN_ABORTED || interrupts >= 2) {
        fprintf(stderr, "stampede: run aborted: %s\n", st.reason);
        rc = EXIT_ABORTED;
    } else if (st.results_error[0]) {
        /* the run ran, but its results are not (all) on disk: never a silent success */
        fprintf(stderr, "stampede: results could not be written: %s\n", st.results_error);
        rc = EXIT_ABORTED;
    } else if (st.thresholds_failed > 0) {
        rc = EXIT_THRESHOLD;
    }
    if (!quiet || rc != EXIT_OK) {
        fprintf(stderr, "stampede: %llu requests, %llu failures; %d threshold(s) failed; %s\n",
                (unsigned long long)st.requests, (unsigned long long)st.failures, st.thresholds_failed,
                st.reason);
    }
    printf("results: %s\n", st.out_dir);
    if (ua) {
        fflush(stdout);
        usleep(CLI_UI_LINGER_MS * 1000);   /* a polling dashboard sees the final state */
        api_stop(ua);
    }
    agent_join_free(ag);
    coord_free(co);
    scenario_free(sc);
    plan_fini(&plan);
    for (int i = 0; i < nsets; i++) free((char *)sets[i].key);
    return rc;
}

/* stampede report DIR: re-renders DIR/report.html from DIR's summary.json and history. */
static int cmd_report(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: stampede report DIR\n");
        return EXIT_USAGE;
    }
    char err[512];
    if (report_write(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "stampede: report: %s\n", err);
        return EXIT_USAGE;
    }
    printf("report: %s/report.html\n", argv[1]);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    log_init_from_env();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("stampede %s\n", STAMPEDE_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (curl_global_init(CURL_GLOBAL_ALL) != 0) {
        fprintf(stderr, "stampede: libcurl failed to initialise\n");
        return EXIT_ABORTED;
    }
    srand((unsigned)(time_wall_ms() ^ (uint64_t)getpid()));
    int rc;
    if (!strcmp(argv[1], "run")) rc = cmd_run(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "validate")) rc = cmd_validate(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "compare")) rc = compare_main(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "report")) rc = cmd_report(argc - 1, argv + 1);
    else {
        fprintf(stderr, "stampede: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        rc = EXIT_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
