/* `stampede-master`: the coordinator listening for workers plus the HTTP API. The main
 * thread only parses options, starts both, prints one ready line and waits for
 * SIGINT/SIGTERM (blocked in every thread, taken here with sigwait); on one it stops a
 * run in progress gracefully, waits for its results (at most 60 s; a second signal
 * aborts it), keeps the API up 3 s more so a watching client can fetch the results,
 * then shuts down and exits 0.
 *
 * Without a shared key or TLS any host that can reach the listener could join as a
 * worker (and learn the scenario, data files included): the master then refuses to
 * listen beyond loopback and says how to allow it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "common/log.h"
#include "master/api.h"
#include "master/coord.h"
#include "master/history.h"
#include "master/schedule.h"
#include "proto/auth.h"
#include "proto/transport.h"

#define MASTER_DEFAULT_LISTEN "tcp://0.0.0.0:5557"
#define MASTER_DEFAULT_HTTP   "127.0.0.1:8089"
#define MASTER_DRAIN_MS       60000     /* a run's graceful stop at shutdown */
#define MASTER_ABORT_MS       10000     /* then an aborted one's results */
#define MASTER_LINGER_MS      3000      /* API kept up after that run ended */

static void master_usage(FILE *f)
{
    fprintf(f,
"usage: stampede-master [--listen tcp://0.0.0.0:5557] [--http 127.0.0.1:8089] [--key-file F]\n"
"                       [--tls-cert F --tls-key F --tls-ca F] [--results-dir DIR] [--id NAME]\n"
"                       [--allow-monitor CIDR,...]\n"
"                       [--history FILE | --no-history] [--notify URL]\n"
"\n"
"  --listen URL       where workers connect: tcp://HOST:PORT or tls+tcp://HOST:PORT\n"
"                     (default " MASTER_DEFAULT_LISTEN "; loopback only without a key or TLS)\n"
"  --http ADDR:PORT   the dashboard (/), the HTTP API for `stampede run --master` and\n"
"                     /metrics (default " MASTER_DEFAULT_HTTP "; port 0 picks a free one)\n"
"  --ui-auth USER:PASS  HTTP basic auth on all of it (clients: http://USER:PASS@HOST:PORT)\n"
"  --key-file F       shared key (>= 16 bytes, mode 0600): workers must prove they hold it\n"
"  --tls-cert F --tls-key F --tls-ca F\n"
"                     TLS with client certificates signed by the CA (implies tls+tcp://)\n"
"  --results-dir DIR  parent of run folders (default results)\n"
"  --id NAME          master id shown to workers (default: host name)\n"
"  --allow-monitor CIDR,...  networks a scenario's monitor: section may scrape\n"
"                     (default 127.0.0.0/8,::1; the list replaces the default)\n"
"  --history FILE     the run history (SQLite; default DIR/history.db of --results-dir)\n"
"  --no-history       record no run (the history API answers 404)\n"
"  --notify URL       POST a JSON message to URL when a run ends (verdict, regressions,\n"
"                     thresholds; http:// or https://)\n"
"\n"
"Prints \"master listening on URL, api on http://HOST:PORT\" when ready; SIGINT/SIGTERM\n"
"stops a run in progress gracefully and exits.\n");
}

/* Splits a tcp:// or tls+tcp:// URL into scheme ("tcp://"), host and port text. The
 * host may be a bracketed IPv6 literal, kept with its brackets. 0 or -1. */
static int master_split_url(const char *url, char *scheme, size_t scap, char *host, size_t hcap,
                            const char **port)
{
    const char *sep = strstr(url, "://");
    if (!sep) return -1;
    size_t sl = (size_t)(sep + 3 - url);
    const char *h = sep + 3;
    const char *colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
    if (!colon) return -1;
    if (h[0] == '[') colon++;
    size_t hl = (size_t)(colon - h);
    if (sl >= scap || hl == 0 || hl >= hcap || !colon[1]) return -1;
    memcpy(scheme, url, sl);
    scheme[sl] = '\0';
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = colon + 1;
    return 0;
}

/* true when ADDR:PORT (the --http value) names a loopback host. */
static bool master_http_is_loopback(const char *addr)
{
    char url[600];
    snprintf(url, sizeof url, "tcp://%s", addr);
    return transport_is_loopback(url);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "http", required_argument, NULL, 'H' },
        { "key-file", required_argument, NULL, 'k' },
        { "tls-cert", required_argument, NULL, 'c' },
        { "tls-key", required_argument, NULL, 'K' },
        { "tls-ca", required_argument, NULL, 'a' },
        { "results-dir", required_argument, NULL, 'r' },
        { "id", required_argument, NULL, 'i' },
        { "ui-auth", required_argument, NULL, 'A' },
        { "ui-auth-file", required_argument, NULL, 'F' },
        { "ui-host", required_argument, NULL, 'U' },
        { "allow-monitor", required_argument, NULL, 'M' },
        { "history", required_argument, NULL, 'D' },
        { "no-history", no_argument, NULL, 'N' },
        { "notify", required_argument, NULL, 'n' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *listen = MASTER_DEFAULT_LISTEN, *http = MASTER_DEFAULT_HTTP, *key_file = NULL;
    const char *results_dir = NULL, *id = NULL, *ui_auth = NULL, *ui_auth_file = NULL, *ui_host = NULL;
    const char *allow_monitor = NULL;
    const char *history_file = NULL, *notify = NULL;
    bool no_history = false;
    transport_tls tls = { 0 };
    int c;
    log_init_from_env();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'H': http = optarg; break;
        case 'k': key_file = optarg; break;
        case 'c': tls.cert_file = optarg; break;
        case 'K': tls.key_file = optarg; break;
        case 'a': tls.ca_file = optarg; break;
        case 'r': results_dir = optarg; break;
        case 'i': id = optarg; break;
        case 'A': ui_auth = optarg; break;
        case 'F': ui_auth_file = optarg; break;
        case 'U': ui_host = optarg; break;
        case 'M': allow_monitor = optarg; break;
        case 'D': history_file = optarg; break;
        case 'N': no_history = true; break;
        case 'n': notify = optarg; break;
        case 'V': printf("stampede-master %s\n", STAMPEDE_VERSION); return 0;
        case 'h': master_usage(stdout); return 0;
        default: master_usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "stampede-master: unexpected argument \"%s\"\n", argv[optind]);
        master_usage(stderr);
        return 2;
    }

    /* Cross-option checks, after every option is known. */
    int ntls = !!tls.cert_file + !!tls.key_file + !!tls.ca_file;
    if (ntls != 0 && ntls != 3) {
        fprintf(stderr, "stampede-master: TLS needs all three of --tls-cert, --tls-key and --tls-ca\n");
        return 2;
    }
    const char *hcolon = strrchr(http, ':');
    if (!hcolon || hcolon == http || !hcolon[1] || strspn(hcolon + 1, "0123456789") != strlen(hcolon + 1)) {
        fprintf(stderr, "stampede-master: --http wants HOST:PORT (e.g. 127.0.0.1:8089), got \"%s\"\n", http);
        return 2;
    }
    if (ui_auth && ui_auth_file) {
        fprintf(stderr, "stampede-master: give --ui-auth or --ui-auth-file, not both\n");
        return 2;
    }
    char ui_auth_buf[1100];
    if (ui_auth_file) {
        char ferr[1200];
        if (api_auth_file(ui_auth_file, ui_auth_buf, sizeof ui_auth_buf, ferr, sizeof ferr) != 0) {
            fprintf(stderr, "stampede-master: %s\n", ferr);
            return 2;
        }
        ui_auth = ui_auth_buf;
    }
    bool use_tls = ntls == 3;
    char scheme[16], host[256], url[512];
    const char *port;
    if (master_split_url(listen, scheme, sizeof scheme, host, sizeof host, &port) != 0
        || (strcmp(scheme, "tcp://") && strcmp(scheme, "tls+tcp://"))) {
        fprintf(stderr, "stampede-master: --listen wants tcp://HOST:PORT or tls+tcp://HOST:PORT, got \"%s\"\n",
                listen);
        return 2;
    }
    if (!strcmp(scheme, "tls+tcp://") && !use_tls) {
        fprintf(stderr, "stampede-master: %s needs --tls-cert, --tls-key and --tls-ca\n", listen);
        return 2;
    }
    if (use_tls) snprintf(scheme, sizeof scheme, "tls+tcp://");   /* certificates given: TLS */
    auth_key key = { 0 };
    char err[1024];
    if (key_file && auth_key_load(key_file, &key, err, sizeof err) != 0) {
        fprintf(stderr, "stampede-master: %s\n", err);
        return 2;
    }
    snprintf(url, sizeof url, "%s%s:%s", scheme, host, port);
    if (!key.len && !use_tls && !transport_is_loopback(url)) {
        fprintf(stderr,
                "stampede-master: warning: no --key-file and no TLS certificates, so any host that can reach "
                "%s could join as a worker and receive the scenario and its data; listening on loopback only "
                "(tcp://127.0.0.1:%s). To accept remote workers give --key-file F (the same key on every "
                "worker) or --tls-cert/--tls-key/--tls-ca.\n", url, port);
        snprintf(url, sizeof url, "tcp://127.0.0.1:%s", port);
    }
    if (!master_http_is_loopback(http) && !ui_auth)
        fprintf(stderr, "stampede-master: warning: the HTTP API on %s has no authentication (--ui-auth): "
                        "anyone who can reach it can start and stop runs and read results\n", http);
    else if (ui_auth && !ui_auth_file)
        fprintf(stderr, "stampede-master: note: --ui-auth is visible to every local user (ps); "
                        "--ui-auth-file F keeps it in a file only you can read\n");

    /* Signals go to this thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);      /* the --notify webhook (master/record.c) */

    /* The history: opened once here so that a foreign or corrupt file stops the master
     * with its reason before anything runs (master/history.h; the file is left as it is). */
    char hist_path[1200] = "";
    if (history_file && no_history) {
        fprintf(stderr, "stampede-master: give --history FILE or --no-history, not both\n");
        return 2;
    }
    if (notify && strncmp(notify, "http://", 7) && strncmp(notify, "https://", 8)) {
        fprintf(stderr, "stampede-master: --notify wants an http:// or https:// URL, got \"%s\"\n", notify);
        return 2;
    }
    if (!no_history) {
        if (history_file) snprintf(hist_path, sizeof hist_path, "%s", history_file);
        else {
            const char *rd = results_dir ? results_dir : "results";
            char part[1100];
            snprintf(part, sizeof part, "%.1000s/", rd);
            for (char *q = part + 1; *q; q++) {         /* mkdir -p */
                if (*q != '/') continue;
                *q = '\0';
                if (mkdir(part, 0755) != 0 && errno != EEXIST) {
                    fprintf(stderr, "stampede-master: cannot create %s: %s\n", part, strerror(errno));
                    return 1;
                }
                *q = '/';
            }
            snprintf(hist_path, sizeof hist_path, "%.1000s/history.db", rd);
        }
        /* A file that is there and not ours (foreign, corrupt, a newer schema) stops the
         * master: it is someone's data. One that cannot be made (a full or read-only
         * disk) does not: the master runs, every run says it was not recorded and why,
         * and a later run records once the disk takes it. */
        bool existed = access(hist_path, F_OK) == 0;
        history *h = history_open(hist_path, false, err, sizeof err);
        if (!h && existed) {
            fprintf(stderr, "stampede-master: %s\n", err);
            return 1;
        }
        if (!h) log_warn("master", "%s: runs will not be recorded until it can be written", err);
        history_close(h);
    }
    coord_opts co = { .url = url, .key = key.len ? &key : NULL, .tls = use_tls ? &tls : NULL,
                      .id = id, .results_dir = results_dir, .history = hist_path[0] ? hist_path : NULL,
                      .no_history = no_history, .notify_url = notify,
                      .allow_monitor = allow_monitor };
    coord *cd = coord_start(&co, err, sizeof err);
    if (!cd) {
        fprintf(stderr, "stampede-master: %s\n", err);
        return 1;
    }
    int http_port = 0;
    api_opts ao = { .addr = http, .auth = ui_auth, .hosts = ui_host,
                    .history = hist_path[0] ? hist_path : NULL };
    api *a = api_start_opts(cd, &ao, &http_port, err, sizeof err);
    if (!a) {
        fprintf(stderr, "stampede-master: %s\n", err);
        coord_free(cd);
        return 1;
    }
    char http_host[256];
    const char *colon = strrchr(http, ':');
    snprintf(http_host, sizeof http_host, "%.*s", (int)(colon - http), http);   /* api_start checked it */
    /* Schedules (master/schedule.h) start runs from the history's timetable. */
    schedule_timer *timer = NULL;
    if (hist_path[0] && !(timer = schedule_start(cd, hist_path, err, sizeof err)))
        log_warn("master", "%s: scheduled runs will not start", err);
    printf("master listening on %s, api on http://%s:%d\n", url, http_host, http_port);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {}
    log_info("master", "signal %d: shutting down", sig);
    schedule_stop(timer);           /* no run starts while the master goes */
    coord_status st;
    coord_get_status(cd, &st);
    if (st.state == RUN_WAITING || st.state == RUN_RUNNING || st.state == RUN_STOPPING) {
        fprintf(stderr, "stampede-master: stopping run %llu (a second signal aborts it)\n",
                (unsigned long long)st.run_id);
        coord_stop(cd, false);
        /* Wait for the graceful stop in short steps, so that a second signal can abort. */
        bool done = false, aborted = false;
        for (uint64_t waited = 0; !done && waited < MASTER_DRAIN_MS; waited += 200) {
            done = coord_wait(cd, 200);
            struct timespec zero = { 0, 0 };
            if (!done && !aborted && sigtimedwait(&sigs, NULL, &zero) > 0) {
                fprintf(stderr, "stampede-master: aborting run %llu\n", (unsigned long long)st.run_id);
                coord_stop(cd, true);
                aborted = true;
            }
        }
        if (!done) {
            fprintf(stderr, "stampede-master: run %llu did not stop within %d s: aborting it\n",
                    (unsigned long long)st.run_id, MASTER_DRAIN_MS / 1000);
            coord_stop(cd, true);
            coord_wait(cd, MASTER_ABORT_MS);
        }
        /* A `stampede run --master` client polls once a second: keep the API up a little
         * so it sees the end of its run and downloads the results instead of losing us. */
        struct timespec linger = { MASTER_LINGER_MS / 1000, 0 };
        sigtimedwait(&sigs, NULL, &linger);
    }
    api_stop(a);
    coord_free(cd);
    return 0;
}
