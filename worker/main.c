/* stampede-worker: dials the master and keeps dialing, runs the plans it is given.
 *   stampede-worker --master tcp://HOST:5557 [--key-file F] [--allow CIDR,...]
 *                   [--threads N] [--engine-cpus LIST] [--id NAME]
 *                   [--tls-cert F --tls-key F --tls-ca F]
 * SIGTERM or SIGINT: leave gracefully (a running share finishes its requests within the
 * scenario's graceful_stop, final statistics and DONE "leaving" go to the master). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "common/log.h"
#include "common/time.h"
#include "common/util.h"
#include "worker/agent.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: stampede-worker --master tcp://HOST:5557 [--key-file F] [--allow CIDR,...]\n"
"                       [--threads N] [--engine-cpus LIST] [--id NAME]\n"
"                       [--tls-cert F --tls-key F --tls-ca F]\n"
"  --master URL    the master's worker port: tcp://HOST:PORT or tls+tcp://HOST:PORT\n"
"  --key-file F    shared key (both sides prove it; never sent)\n"
"  --allow LIST    target networks this worker may load (default 127.0.0.0/8,::1/128)\n"
"  --threads N     engine threads (default: one per core)\n"
"  --engine-cpus L pin engine thread i to the i-th CPU of L (1 or 0,2 or 2-5; reused in\n"
"                  turn when shorter); the agent's and nng's threads stay unpinned\n"
"  --id NAME       worker id (default HOST-PID)\n"
"  --tls-cert/--tls-key/--tls-ca  certificates for tls+tcp:// (mutual)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "master", required_argument, NULL, 'm' }, { "key-file", required_argument, NULL, 'k' },
        { "allow", required_argument, NULL, 'a' },  { "threads", required_argument, NULL, 'T' },
        { "id", required_argument, NULL, 'i' },     { "tls-cert", required_argument, NULL, 'c' },
        { "tls-key", required_argument, NULL, 'K' }, { "tls-ca", required_argument, NULL, 'C' },
        { "engine-cpus", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    const char *master = NULL, *key_file = NULL, *allow_spec = NULL, *id = NULL;
    transport_tls tls = { 0 };
    uint32_t threads = 0;
    int engine_cpus[1024], nengine_cpus = 0;
    int c;
    log_init_from_env();
    if (log_level < LOG_INFO && !getenv("STAMPEDE_LOG")) log_level = LOG_INFO;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm': master = optarg; break;
        case 'k': key_file = optarg; break;
        case 'a': allow_spec = optarg; break;
        case 'i': id = optarg; break;
        case 'c': tls.cert_file = optarg; break;
        case 'K': tls.key_file = optarg; break;
        case 'C': tls.ca_file = optarg; break;
        case 'T':
            threads = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || threads == 0 || threads > 1024) {
                fprintf(stderr, "stampede-worker: --threads wants 1..1024\n");
                return 2;
            }
            break;
        case 'P': {
            char cerr[160];
            nengine_cpus = util_cpu_list(optarg, engine_cpus, (int)(sizeof engine_cpus / sizeof *engine_cpus),
                                         cerr, sizeof cerr);
            if (nengine_cpus < 0) {
                fprintf(stderr, "stampede-worker: --engine-cpus: %s\n", cerr);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!master || optind != argc) {
        usage(stderr);
        return 2;
    }
    bool want_tls = !strncmp(master, "tls+tcp://", 10);
    if (!want_tls && (tls.cert_file || tls.key_file || tls.ca_file))
        fprintf(stderr, "stampede-worker: warning: --tls-* options apply to tls+tcp:// only; "
                        "%s is plain TCP\n", master);
    if (want_tls && (!tls.cert_file || !tls.key_file || !tls.ca_file)) {
        fprintf(stderr, "stampede-worker: tls+tcp:// needs --tls-cert, --tls-key and --tls-ca\n");
        return 2;
    }
    char err[512];
    auth_key key = { 0 };
    if (key_file && auth_key_load(key_file, &key, err, sizeof err) != 0) {
        fprintf(stderr, "stampede-worker: %s\n", err);
        return 2;
    }
    allow_list allow;
    allow_default(&allow);
    if (allow_spec && allow_parse(&allow, allow_spec, err, sizeof err) != 0) {
        fprintf(stderr, "stampede-worker: --allow: %s\n", err);
        return 2;
    }
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (uint32_t)n : 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_ALL) != 0) {
        fprintf(stderr, "stampede-worker: libcurl failed to initialise\n");
        return 3;
    }
    agent_cfg ac = { .master_url = master, .threads = threads, .id = id, .key = key.len ? &key : NULL,
                     .tls = want_tls ? &tls : NULL, .allow = &allow,
                     .engine_cpus = engine_cpus, .nengine_cpus = (uint32_t)nengine_cpus };
    agent *a = agent_start(&ac, err, sizeof err);
    if (!a) {
        fprintf(stderr, "stampede-worker: %s\n", err);
        curl_global_cleanup();
        return 3;
    }
    char nets[512];
    allow_format(&allow, nets, sizeof nets);
    printf("worker dialing %s with %u threads, allowed targets %s%s\n", master, threads, nets,
           key.len ? ", shared key" : (want_tls ? ", TLS certificates" : ", no key"));
    fflush(stdout);
    for (;;) {
        struct timespec ts = { 0, 200 * 1000000L };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) break;
    }
    log_info("worker", "leaving");
    agent_stop(a);
    agent_join_free(a);
    curl_global_cleanup();
    return 0;
}
