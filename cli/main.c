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
#include "common/util.h"
#include "master/api.h"
#include "master/coord.h"
#include "proto/plan.h"
#include "worker/agent.h"
#include "cli/compare.h"
#include "cli/endrun.h"
#include "cli/har.h"
#include "cli/history.h"
#include "cli/report_cmd.h"
#include "cli/remote.h"
#include "cli/runinfo.h"
#include "master/history.h"
#include "master/labels.h"
#include "master/record.h"
#include "cli/status.h"
#include "cli/usage.h"

#define EXIT_OK        0
#define EXIT_THRESHOLD 1
#define EXIT_USAGE     2
#define EXIT_ABORTED   3
#define MAX_SETS       64
#define MAX_TAGS       64       /* PROTO_MAX_TAGS */
#define CLI_UI_LINGER_MS 2000   /* --ui stays up this long after the run ended */

/* The run's results folder (coord_status.out_dir, set when the run was submitted):
 * its parent holds the default history. */
static const char *st_dir_for_history(coord *co)
{
    static coord_status st;
    coord_get_status(co, &st);
    return st.out_dir;
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

/* -T/--tags, -E/--exclude-tags: comma-separated, repeatable; empty items are skipped.
 * Strings point into argv (never freed). 0, or -1 after saying why. */
typedef struct cli_tags { const char *v[MAX_TAGS]; char *own[MAX_TAGS]; int n; } cli_tags;

static int parse_tags(const char *cmd, const char *opt, const char *arg, cli_tags *t)
{
    const char *p = arg;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            if (len >= PROTO_TAG_MAX) {
                fprintf(stderr, "stampede %s: %s: tag \"%.*s\" is longer than %d bytes\n", cmd, opt,
                        (int)len, p, PROTO_TAG_MAX - 1);
                return -1;
            }
            if (t->n >= MAX_TAGS) {
                fprintf(stderr, "stampede %s: %s: at most %d tags\n", cmd, opt, MAX_TAGS);
                return -1;
            }
            t->own[t->n] = strndup(p, len);
            t->v[t->n] = t->own[t->n];
            t->n++;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

static void free_tags(cli_tags *t)
{
    for (int i = 0; i < t->n; i++) free(t->own[i]);
    t->n = 0;
}

/* Copies the tags into the plan (owned there; plan_fini frees them, proto/msg.h). */
static void plan_set_tags(proto_plan *plan, const cli_tags *inc, const cli_tags *exc)
{
    if (inc->n) {
        plan->tags = calloc((size_t)inc->n, sizeof *plan->tags);
        for (int i = 0; plan->tags && i < inc->n; i++) plan->tags[plan->ntags++] = strdup(inc->v[i]);
    }
    if (exc->n) {
        plan->exclude_tags = calloc((size_t)exc->n, sizeof *plan->exclude_tags);
        for (int i = 0; plan->exclude_tags && i < exc->n; i++)
            plan->exclude_tags[plan->nexclude_tags++] = strdup(exc->v[i]);
    }
}

/* -u: a positive whole number of users. strtoul would take "-5" as 4294967291 (issue 12):
 * only digits are accepted, at most UINT32_MAX. */
static int parse_users(const char *arg, uint32_t *out)
{
    if (!arg[0] || strspn(arg, "0123456789") != strlen(arg)) return -1;
    errno = 0;
    unsigned long long v = strtoull(arg, NULL, 10);
    if (errno || v == 0 || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* --host: http(s)://HOST[:PORT][/...] with a port, when given, of 1..65535. 0, or -1
 * after saying why (the daemons would refuse the plan later, after a run's start). */
static int check_host(const char *host)
{
    const char *p;
    if (!strncmp(host, "http://", 7)) p = host + 7;
    else if (!strncmp(host, "https://", 8)) p = host + 8;
    else {
        fprintf(stderr, "stampede run: --host wants a URL starting with http:// or https://, got \"%s\"\n", host);
        return -1;
    }
    size_t auth = strcspn(p, "/?#");
    const char *end = p + auth, *colon = NULL;
    if (*p == '[') {                                    /* [v6]:port */
        const char *rb = memchr(p, ']', auth);
        if (rb && rb + 1 < end && rb[1] == ':') colon = rb + 1;
    } else {
        colon = memchr(p, ':', auth);
    }
    if (auth == 0 || colon == p) {
        fprintf(stderr, "stampede run: --host \"%s\" has no host name\n", host);
        return -1;
    }
    if (colon) {
        size_t n = (size_t)(end - colon - 1);
        unsigned long port = 0;
        bool digits = n > 0 && n <= 5;
        for (size_t i = 0; digits && i < n; i++) {
            if (colon[1 + i] < '0' || colon[1 + i] > '9') digits = false;
            else port = port * 10 + (unsigned long)(colon[1 + i] - '0');
        }
        if (!digits || port == 0 || port > 65535) {
            fprintf(stderr, "stampede run: --host \"%s\": the port must be 1..65535, got \"%.*s\"\n",
                    host, (int)n, colon + 1);
            return -1;
        }
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
    cli_tags inc = { .n = 0 }, exc = { .n = 0 };
    int rc = EXIT_OK;
    if (locust_hint("validate", argc, argv) != 0) return EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage_validate(stdout);
            rc = EXIT_OK;
            goto out_args;
        } else if ((!strcmp(argv[i], "-T") || !strcmp(argv[i], "--tags")) && i + 1 < argc) {
            if (parse_tags("validate", "--tags", argv[++i], &inc) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (!strncmp(argv[i], "--tags=", 7)) {
            if (parse_tags("validate", "--tags", argv[i] + 7, &inc) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if ((!strcmp(argv[i], "-E") || !strcmp(argv[i], "--exclude-tags")) && i + 1 < argc) {
            if (parse_tags("validate", "--exclude-tags", argv[++i], &exc) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (!strncmp(argv[i], "--exclude-tags=", 15)) {
            if (parse_tags("validate", "--exclude-tags", argv[i] + 15, &exc) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (!strcmp(argv[i], "--arrival-rate") && i + 1 < argc) {
            if (parse_arrival_rate("validate", argv[++i], &arrival_rate) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (!strncmp(argv[i], "--arrival-rate=", 15)) {
            if (parse_arrival_rate("validate", argv[i] + 15, &arrival_rate) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--duration")) && i + 1 < argc) {
            if (units_duration_ms(argv[++i], &duration_ms) != 0 || duration_ms == 0) {
                char why[512];
                units_duration_problem("-t", argv[i], why, sizeof why);
                fprintf(stderr, "stampede validate: %s\n", why);
                rc = EXIT_USAGE;
                goto out_args;
            }
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (parse_sets(argv[++i], sets, &nsets) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (!strncmp(argv[i], "--set=", 6)) {
            if (parse_sets(argv[i] + 6, sets, &nsets) != 0) { rc = EXIT_USAGE; goto out_args; }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "stampede validate: unknown option %s\n", argv[i]);
            usage_validate(stderr);
            rc = EXIT_USAGE;
            goto out_args;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "stampede validate: one scenario file at a time\n");
            rc = EXIT_USAGE;
            goto out_args;
        }
    }
    if (!file) {
        usage_validate(stderr);
        rc = EXIT_USAGE;
        goto out_args;
    }
    sc_error err;
    proto_plan plan = { 0 };
    scenario *sc = NULL;
    if (plan_from_file(&plan, file, sets, nsets, &sc, &err) != 0) {
        print_error(&err);
        rc = EXIT_USAGE;
    } else if ((inc.n || exc.n) && scenario_apply_tags(sc, inc.v, inc.n, exc.v, exc.n, &err) != 0) {
        print_error(&err);
        rc = EXIT_USAGE;
    } else if (runinfo_warnings(stderr, sc) < 0 /* printed whatever follows; never < 0 */
               || check_model_options("validate", sc, 0, arrival_rate) != 0) {
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
            runinfo_load(sc, load, sizeof load);
            printf("%s: ok: scenario \"%s\", %d user profiles, %s, %d thresholds\n",
                   file, sc->name, sc->nprofiles, load, sc->nthresholds);
            runinfo_monitor(stdout, sc);
        }
    }
    scenario_free(sc);
    plan_fini(&plan);
out_args:
    for (int i = 0; i < nsets; i++) free((char *)sets[i].key);
    free_tags(&inc);
    free_tags(&exc);
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

/* `stampede schedule add`: set by cmd_schedule_add, read by cmd_run (one call). */
static const char *sched_cron, *sched_tz;

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "users", required_argument, NULL, 'u' },
        { "spawn-rate", required_argument, NULL, 'r' },
        { "arrival-rate", required_argument, NULL, 'R' },
        { "duration", required_argument, NULL, 't' },
        { "run-time", required_argument, NULL, 't' },      /* Locust's spelling */
        { "host", required_argument, NULL, 'H' },
        { "out", required_argument, NULL, 'o' },
        { "threads", required_argument, NULL, 'n' },
        { "engine-cpus", required_argument, NULL, 1100 },
        { "label", required_argument, NULL, 1101 },
        { "history", required_argument, NULL, 1102 },
        { "no-history", no_argument, NULL, 1103 },
        { "tags", required_argument, NULL, 'T' },
        { "exclude-tags", required_argument, NULL, 'E' },
        { "headless", no_argument, NULL, 1000 },
        { "csv", required_argument, NULL, 1001 },
        { "csv-full-history", no_argument, NULL, 1002 },
        { "html", required_argument, NULL, 1003 },
        { "exit-code-on-error", required_argument, NULL, 1004 },
        { "only-summary", no_argument, NULL, 1005 },
        { "set", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "master", required_argument, NULL, 'm' },
        { "expect-workers", required_argument, NULL, 'w' },
        { "expect-timeout", required_argument, NULL, 'W' },
        { "ui", required_argument, NULL, 'U' },
        { "ui-auth", required_argument, NULL, 'A' },
        { "ui-auth-file", required_argument, NULL, 'F' },
        { "ui-host", required_argument, NULL, 'N' },
        { "allow-monitor", required_argument, NULL, 1006 },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint32_t users = 0, threads = 0;
    int engine_cpus[1024], nengine_cpus = 0;
    const char *labels[HISTORY_MAX_LABELS + 1];
    int nlabels = 0;
    const char *history_file = NULL;
    bool no_history = false;
    double rate = 0, arrival_rate = 0;
    uint64_t duration_ms = 0;
    const char *host = NULL, *out = NULL, *master = NULL, *ui = NULL, *ui_auth = NULL;
    const char *ui_auth_file = NULL, *ui_host = NULL, *allow_monitor = NULL;
    char ui_auth_buf[1100];
    uint32_t expect_workers = 1;
    uint64_t expect_timeout_ms = 60000;
    bool quiet = false, only_summary = false, full_history = false;
    endrun_opts eo = { .exit_code_on_error = 1 };
    cli_tags inc = { .n = 0 }, exc = { .n = 0 };
    sc_set sets[MAX_SETS];
    int nsets = 0, c;
    if (locust_hint("run", argc, argv) != 0) return EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "u:r:t:H:T:E:qh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'u':
            if (parse_users(optarg, &users) != 0) {
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
                char why[512];
                units_duration_problem("-t", optarg, why, sizeof why);
                fprintf(stderr, "stampede run: %s\n", why);
                return EXIT_USAGE;
            }
            break;
        case 'T':
            if (parse_tags("run", "--tags", optarg, &inc) != 0) return EXIT_USAGE;
            break;
        case 'E':
            if (parse_tags("run", "--exclude-tags", optarg, &exc) != 0) return EXIT_USAGE;
            break;
        case 1000: break;                               /* --headless: always */
        case 1001:
            if (!optarg[0]) {
                fprintf(stderr, "stampede run: --csv wants a file name prefix (--csv results/run1)\n");
                return EXIT_USAGE;
            }
            eo.csv_prefix = optarg;
            break;
        case 1002: full_history = true; break;
        case 1003:
            if (!optarg[0]) {
                fprintf(stderr, "stampede run: --html wants a file name\n");
                return EXIT_USAGE;
            }
            eo.html = optarg;
            break;
        case 1004: {
            long v = strtol(optarg, &end, 10);
            if (!optarg[0] || *end || v < 0 || v > 255) {
                fprintf(stderr, "stampede run: --exit-code-on-error wants 0..255, got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            eo.exit_code_on_error = (int)v;
            break;
        }
        case 1005: only_summary = true; break;
        case 1006: allow_monitor = optarg; break;
        case 1101:
            if (nlabels > HISTORY_MAX_LABELS) {
                fprintf(stderr, "stampede run: at most %d --label\n", HISTORY_MAX_LABELS);
                return EXIT_USAGE;
            }
            labels[nlabels++] = optarg;
            break;
        case 1102: history_file = optarg; break;
        case 1103: no_history = true; break;
        case 1100: {
            char cerr[160];
            nengine_cpus = util_cpu_list(optarg, engine_cpus, (int)(sizeof engine_cpus / sizeof *engine_cpus),
                                         cerr, sizeof cerr);
            if (nengine_cpus < 0) {
                fprintf(stderr, "stampede run: --engine-cpus: %s\n", cerr);
                return EXIT_USAGE;
            }
            break;
        }
        case 'H': host = optarg; break;
        case 'o': out = optarg; break;
        case 'n':
            threads = (uint32_t)strtoul(optarg, &end, 10);
            if (!optarg[0] || *end || threads == 0 || threads > 1024 || optarg[0] == '-') {
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
    if (host && check_host(host) != 0)
        return EXIT_USAGE;
    if (full_history && !eo.csv_prefix) {
        fprintf(stderr, "stampede run: --csv-full-history goes with --csv PREFIX\n");
        return EXIT_USAGE;
    }
    if (master && allow_monitor) {
        fprintf(stderr, "stampede run: --allow-monitor is the master's in a run with --master "
                "(stampede-master --allow-monitor CIDR,...)\n");
        return EXIT_USAGE;
    }
    /* Decision: --only-summary is Locust's meaning (no periodic stats, the summary at
     * the end): no live status line, the end table kept. --quiet drops both. */
    eo.table = !quiet;
    bool live = !quiet && !only_summary;
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
    if (check_model_options("run", sc, rate, arrival_rate) != 0 ||
        ((inc.n || exc.n) && scenario_apply_tags(sc, inc.v, inc.n, exc.v, exc.n, &serr) != 0
         && (print_error(&serr), 1))) {
        scenario_free(sc);
        plan_fini(&plan);
        free_tags(&inc);
        free_tags(&exc);
        return EXIT_USAGE;
    }
    /* the parse's warnings and -T's, once (plan_scenario below parses again) */
    runinfo_warnings(stderr, sc);
    char tnote[256];
    bool has_tnote = runinfo_duration_note(sc, users, rate, arrival_rate, duration_ms, tnote, sizeof tnote);
    scenario_free(sc);
    plan_set_tags(&plan, &inc, &exc);
    free_tags(&inc);
    free_tags(&exc);
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
    char *labels_json = NULL;
    {
        char lerr[300];
        if (!(labels_json = labels_to_json(labels, nlabels, lerr, sizeof lerr))) {
            fprintf(stderr, "stampede run: %s\n", lerr);
            scenario_free(sc);
            plan_fini(&plan);
            return EXIT_USAGE;
        }
    }
    if (master && (history_file || no_history)) {
        free(labels_json);
        fprintf(stderr, "stampede run: with --master the master keeps the history (its --results-dir/history.db): "
                        "--history and --no-history are its options\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if (sched_cron && !master) {
        free(labels_json);
        fprintf(stderr, "stampede schedule add: schedules live on a master: give --master http://HOST:8089\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if (master && nengine_cpus) {
        free(labels_json);
        fprintf(stderr, "stampede run: --engine-cpus places this process's engines; with --master the "
                        "workers run them: give it to stampede-worker\n");
        scenario_free(sc);
        plan_fini(&plan);
        return EXIT_USAGE;
    }
    if (master) {
        if (has_tnote && !quiet) fprintf(stderr, "stampede: %s\n", tnote);
        sigset_t rs;
        sigemptyset(&rs);
        sigaddset(&rs, SIGINT);
        sigaddset(&rs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &rs, NULL);
        remote_cfg rcfg = { .master = master, .plan = &plan, .expect_workers = expect_workers,
                            .expect_timeout_ms = expect_timeout_ms, .out_dir = out, .name = sc->name,
                            .peak_users = peak, .quiet = quiet, .live = live, .sigs = &rs,
                            .end = &eo, .full_history = full_history, .labels_json = labels_json,
                            .schedule_cron = sched_cron, .schedule_tz = sched_tz };
        int rrc = remote_run(&rcfg);
        scenario_free(sc);
        plan_fini(&plan);
        for (int i = 0; i < nsets; i++) free((char *)sets[i].key);
        free(labels_json);
        return rrc;
    }
    if (ui_auth_file && !ui_auth) {
        char ferr[1200];
        if (api_auth_file(ui_auth_file, ui_auth_buf, sizeof ui_auth_buf, ferr, sizeof ferr) != 0) {
            fprintf(stderr, "stampede run: %s\n", ferr);
            scenario_free(sc);
            plan_fini(&plan);
            free(labels_json);
            return EXIT_USAGE;
        }
        ui_auth = ui_auth_buf;
    } else if (ui_auth_file) {
        fprintf(stderr, "stampede run: give --ui-auth or --ui-auth-file, not both\n");
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
        return EXIT_USAGE;
    }
    if ((ui_auth || ui_host) && !ui) {
        fprintf(stderr, "stampede run: --ui-auth, --ui-auth-file and --ui-host go with --ui\n");
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
        return EXIT_USAGE;
    }
    if (expect_workers > 1) {
        fprintf(stderr, "stampede run: --expect-workers needs --master (a local run has one worker)\n");
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
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
    coord_opts copts = { .url = url, .id = "local", .history = history_file, .no_history = no_history,
                         .allow_monitor = allow_monitor };
    coord *co = coord_start(&copts, err, sizeof err);
    if (!co) {
        fprintf(stderr, "stampede: %s\n", err);
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
        return EXIT_ABORTED;
    }
    /* The worker allowlist guards a worker against a master's plans; in a local run
     * the user is both, so every network is allowed. */
    allow_list everywhere;
    char aerr[128];
    allow_parse(&everywhere, "0.0.0.0/0,::/0", aerr, sizeof aerr);
    agent_cfg ac = { .master_url = url, .threads = threads, .id = "local", .allow = &everywhere,
                     .engine_cpus = engine_cpus, .nengine_cpus = (uint32_t)nengine_cpus };
    agent *ag = agent_start(&ac, err, sizeof err);
    if (!ag) {
        fprintf(stderr, "stampede: %s\n", err);
        coord_free(co);
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
        return EXIT_ABORTED;
    }
    coord_run_cfg rc_cfg = { .plan = &plan, .expect_workers = 1, .expect_timeout_ms = 10000,
                             .out_dir = out, .interval_ms = 1000, .name_cap = STATS_DEFAULT_NAME_CAP,
                             .full_history = full_history, .labels_json = labels_json };
    if (coord_run(co, &rc_cfg, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "stampede: %s\n", err);
        agent_join_free(ag);
        coord_free(co);
        scenario_free(sc);
        plan_fini(&plan);
        free(labels_json);
        return EXIT_USAGE;
    }
    /* --ui: the master's dashboard, API and /metrics, on this run's coordinator. */
    api *ua = NULL;
    if (ui) {
        int uport = 0;
        char ui_hist[4200] = "";
        if (!no_history) {
            if (history_file) snprintf(ui_hist, sizeof ui_hist, "%s", history_file);
            else record_default_history(st_dir_for_history(co), ui_hist, sizeof ui_hist);
        }
        api_opts uo = { .addr = ui, .auth = ui_auth, .hosts = ui_host, .local = true,
                        .history = ui_hist[0] ? ui_hist : NULL };
        if (!(ua = api_start_opts(co, &uo, &uport, err, sizeof err))) {
            fprintf(stderr, "stampede run: --ui: %s\n", err);
            coord_stop(co, true);
            coord_wait(co, 30000);
            agent_join_free(ag);
            coord_free(co);
            scenario_free(sc);
            plan_fini(&plan);
            free(labels_json);
            return EXIT_USAGE;
        }
        const char *colon = strrchr(ui, ':');
        fprintf(stderr, "stampede: dashboard on http://%.*s:%d/ (metrics: /metrics)\n",
                (int)(colon - ui), ui, uport);
    }
    bool tty = isatty(STDERR_FILENO) && live;
    if (!quiet) {
        char load[256];
        runinfo_load(sc, load, sizeof load);
        fprintf(stderr, "stampede: running \"%s\" against %s: %s, %u threads\n",
                sc->name, sc->target, load, threads);
        if (has_tnote) fprintf(stderr, "stampede: %s\n", tnote);
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
    char *summary = coord_get_summary(co);
    rc = endrun_finish(st.results_error[0] ? NULL : st.out_dir, summary, rc, &eo);
    free(summary);
    if (!quiet || rc != EXIT_OK) {
        fprintf(stderr, "stampede: %llu requests, %llu failures; %d threshold(s) failed; %s\n",
                (unsigned long long)st.requests, (unsigned long long)st.failures, st.thresholds_failed,
                st.reason);
    }
    printf("results: %s\n", st.out_dir);
    if (st.history_note[0] && !quiet) fprintf(stderr, "stampede: %s\n", st.history_note);
    free(labels_json);
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

/* stampede schedule add --master URL --cron EXPR [--tz ZONE] SCENARIO.yaml [run options]:
 * the run's own options as `stampede run --master` takes them (cli/history.h). */
static int cmd_schedule_add(int argc, char **argv)
{
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return EXIT_ABORTED;
    int n = 0;
    rest[n++] = "run";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cron") && i + 1 < argc) sched_cron = argv[++i];
        else if (!strcmp(argv[i], "--tz") && i + 1 < argc) sched_tz = argv[++i];
        else rest[n++] = argv[i];
    }
    if (!sched_cron) {
        fprintf(stderr, "usage: stampede schedule add --master URL --cron \"0 22 * * *\" [--tz Europe/Berlin] "
                        "SCENARIO.yaml [-u N] [-r R] [-t D] [--host URL] [--set K=V]... [--label K=V]...\n");
        free(rest);
        return EXIT_USAGE;
    }
    int rc = cmd_run(n, rest);
    free(rest);
    return rc;
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
    else if (!strcmp(argv[1], "report")) rc = report_cmd_main(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "import-har")) rc = har_import_main(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "history")) rc = history_main(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "schedule") && argc > 2 && !strcmp(argv[2], "add")) rc = cmd_schedule_add(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "schedule")) rc = schedule_main(argc - 1, argv + 1);
    else {
        fprintf(stderr, "stampede: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        rc = EXIT_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
