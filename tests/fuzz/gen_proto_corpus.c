/* Writes the seed corpus of fuzz_proto: one valid encoded message of each type, into
 * DIR/<type>.msgpack (DIR defaults to tests/fuzz/corpus/proto), plus the variants where
 * an optional field is absent (hello-nokey, welcome-nokey: proof nil) or present (the
 * open model: plan-open with arrival_rate, stats-open with svc, ITER and sched; issue 12:
 * plan-tags with tags and exclude_tags; issue 13: stats-open with health). The seeds are
 * deterministic, so regenerating them changes nothing unless the encoding changed.
 *   make bin/gen_proto_corpus && bin/gen_proto_corpus      (linked against the library) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

static int write_seed(const char *dir, const char *name, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.msgpack", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        free(buf);
        return -1;
    }
    free(buf);
    printf("%s (%zu bytes)\n", path, len);
    return 0;
}

static int encode_seed_as(const char *dir, const char *name, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0)
        return -1;
    return write_seed(dir, name, buf, len);
}

static int encode_seed(const char *dir, const proto_msg *m)
{
    return encode_seed_as(dir, proto_type_name(m->type), m);
}

/* Deterministic stand-ins for random nonces and HMAC proofs. */
static void fill_bytes(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus/proto";
    int rv = 0;

    proto_msg hello = { .type = MSG_HELLO };
    strcpy(hello.u.hello.id, "worker-3f2a");
    strcpy(hello.u.hello.host, "loadgen-01");
    hello.u.hello.cores = 8;
    hello.u.hello.threads = 8;
    strcpy(hello.u.hello.version, "0.1.0");
    hello.u.hello.caps = 7;
    fill_bytes(hello.u.hello.nonce, PROTO_NONCE_LEN, 1);
    fill_bytes(hello.u.hello.proof, PROTO_PROOF_LEN, 2);
    hello.u.hello.has_proof = true;
    rv |= encode_seed(dir, &hello);
    hello.u.hello.has_proof = false;
    rv |= encode_seed_as(dir, "hello-nokey", &hello);

    static const char yaml[] =
        "name: erp-peak\ntarget: http://127.0.0.1:8000\nload:\n  stages:\n"
        "    - { duration: 10s, users: 20 }\nusers:\n  - name: op\n    flow:\n"
        "      - http: { url: /ping }\n";
    static const char csv[] = "username,password\nop1,pw1\nop2,pw2\n";
    proto_file file = { .path = "operators.csv", .data = (char *)csv, .len = sizeof csv - 1 };
    proto_set set = { .key = "load.stages.0.users", .value = "40" };
    proto_set env = { .key = "API_TOKEN", .value = "from-the-cli" };
    uint32_t plan_slots[] = { 0, 2, 4, 6 };
    proto_msg plan = { .type = MSG_PLAN };
    plan.u.plan = (proto_plan){
        .run_id = 1, .scenario_file = "erp-peak.yaml", .scenario = (char *)yaml,
        .scenario_len = sizeof yaml - 1, .files = &file, .nfiles = 1, .sets = &set, .nsets = 1,
        .env = &env, .nenv = 1,
        .host = "http://127.0.0.1:8001", .users = 40, .rate = 2.5, .duration_ms = 60000,
        .slots = plan_slots, .nslots = 4, .threads_total = 8, .start_at_ms = 1764000000000ull,
        .interval_ms = 1000, .name_cap = 500,
    };
    rv |= encode_seed(dir, &plan);

    /* The open model: --arrival-rate in the PLAN's 16th field. */
    static const char open_yaml[] =
        "name: erp-throughput\ntarget: http://127.0.0.1:8000\nload:\n  model: open\n"
        "  max_users: 40\n  stages:\n    - { duration: 10s, rate: 50/s }\nusers:\n"
        "  - name: planner\n    flow:\n      - http: { url: /ping }\n";
    proto_msg plan_open = plan;
    plan_open.u.plan.scenario = (char *)open_yaml;
    plan_open.u.plan.scenario_len = sizeof open_yaml - 1;
    plan_open.u.plan.users = 0;
    plan_open.u.plan.rate = 0;
    plan_open.u.plan.arrival_rate = 120.5;
    rv |= encode_seed_as(dir, "plan-open", &plan_open);

    /* Issue 12: -T/-E in the PLAN's 17th and 18th fields. */
    static const char tags_yaml[] =
        "name: tagged\ntarget: http://127.0.0.1:8000\nload: { stages: [ { duration: 10s, users: 2 } ] }\n"
        "users:\n  - name: op\n    flow:\n      - pick:\n          - { weight: 3, tags: [list], "
        "steps: [ { http: { url: /a } } ] }\n          - { weight: 1, steps: [ { http: { url: /b } } ] }\n"
        "      - http: { url: /c }\n        tags: [slow]\n";
    char *inc[] = { "list", "fast" }, *exc[] = { "slow" };
    proto_msg plan_tags = plan;
    plan_tags.u.plan.scenario = (char *)tags_yaml;
    plan_tags.u.plan.scenario_len = sizeof tags_yaml - 1;
    plan_tags.u.plan.tags = inc;
    plan_tags.u.plan.ntags = 2;
    plan_tags.u.plan.exclude_tags = exc;
    plan_tags.u.plan.nexclude_tags = 1;
    rv |= encode_seed_as(dir, "plan-tags", &plan_tags);

    proto_msg stop = { .type = MSG_STOP, .u.stop = { .run_id = 1, .graceful_ms = 30000 } };
    rv |= encode_seed(dir, &stop);

    /* STATS straight from a shard, as an engine sends it. */
    stats_shard s;
    if (stats_shard_init(&s, 8) != 0)
        return 1;
    uint32_t login = stats_id(&s, "POST", "/auth/login");
    uint32_t orders = stats_id(&s, "GET", "/ppic/manufacturing-orders");
    for (uint64_t i = 0; i < 200; i++) {
        stats_record(&s, orders, 800 + i * i * 37 % 90000, 2048, i % 50 == 0);
        if (i % 20 == 0)
            stats_record(&s, login, 3000 + i * 11, 128, false);
    }
    stats_error(&s, orders, ERR_HTTP_STATUS, "503");
    stats_error(&s, login, ERR_TIMEOUT, "");
    s.users = 20;
    char *buf;
    size_t len;
    if (proto_encode_stats(1, "worker-3f2a", 0, 4, false, &s, &buf, &len) != 0)
        return 1;
    rv |= write_seed(dir, "stats", buf, len);

    /* The open model's STATS: svc beside lat, an ITER row and the schedule (sched). */
    stats_shard_reset(&s);
    uint32_t iter = stats_id(&s, STATS_ITERATION, "planner");
    for (uint64_t i = 0; i < 200; i++) {
        uint64_t svc = 700 + i * i * 29 % 40000;
        stats_record_svc(&s, orders, svc + i * 997 % 300000, svc, 2048, i % 60 == 0);
        if (i % 4 == 0)
            stats_record_svc(&s, iter, 2 * svc + i * 1009 % 300000, 2 * svc, 0, false);
        hist_record(&s.sched.lag, 40 + i * i * 13 % 30000);
    }
    s.sched.intended = 210;
    s.sched.started = 200;
    s.sched.dropped = 4;
    s.sched.backlog_max = 6;
    s.sched.cpu_us = 412000;
    s.sched.wall_us = 1000250;
    /* issue 13: the engine's health (STATS's 12th field) */
    s.health = (stats_health){ .lag_max_us = 12500, .lag_sum_us = 31000, .lag_n = 10,
                               .conns = 40, .rss_bytes = 41943040, .proc_cpu_us = 455000 };
    if (proto_encode_stats(1, "worker-3f2a", 0, 5, false, &s, &buf, &len) != 0)
        return 1;
    rv |= write_seed(dir, "stats-open", buf, len);
    stats_shard_fini(&s);

    proto_msg done = { .type = MSG_DONE };
    done.u.done.run_id = 1;
    strcpy(done.u.done.worker, "worker-3f2a");
    done.u.done.threads = 2;
    strcpy(done.u.done.reason, "finished");
    rv |= encode_seed(dir, &done);

    proto_msg refuse = { .type = MSG_REFUSE };
    refuse.u.refuse.run_id = 1;
    strcpy(refuse.u.refuse.worker, "worker-3f2a");
    strcpy(refuse.u.refuse.reason, "target 10.0.0.5 is outside --allow (127.0.0.0/8, ::1)");
    rv |= encode_seed(dir, &refuse);

    proto_msg hb = { .type = MSG_HEARTBEAT, .u.heartbeat = { .seq = 12, .wall_ms = 1764000001000ull } };
    rv |= encode_seed(dir, &hb);

    proto_msg challenge = { .type = MSG_CHALLENGE };
    fill_bytes(challenge.u.challenge.nonce, PROTO_NONCE_LEN, 3);
    challenge.u.challenge.key_required = true;
    rv |= encode_seed(dir, &challenge);

    proto_msg welcome = { .type = MSG_WELCOME };
    strcpy(welcome.u.welcome.master, "master-ci");
    fill_bytes(welcome.u.welcome.proof, PROTO_PROOF_LEN, 4);
    welcome.u.welcome.has_proof = true;
    rv |= encode_seed(dir, &welcome);
    welcome.u.welcome.has_proof = false;
    rv |= encode_seed_as(dir, "welcome-nokey", &welcome);

    proto_msg reject = { .type = MSG_REJECT };
    strcpy(reject.u.reject.reason, "bad proof: the worker's key differs from the master's");
    rv |= encode_seed(dir, &reject);

    /* A worker of 8 slots was lost: its slots 1 and 5 go to this worker. */
    uint32_t moved[] = { 5, 1 };
    proto_msg adopt = { .type = MSG_ADOPT, .u.slots = { .run_id = 1, .slots = moved, .nslots = 2 } };
    rv |= encode_seed(dir, &adopt);
    proto_msg release = { .type = MSG_RELEASE, .u.slots = { .run_id = 1, .slots = moved, .nslots = 1 } };
    rv |= encode_seed(dir, &release);

    proto_msg ack = { .type = MSG_ACK, .u.ack = { .run_id = 1 } };
    rv |= encode_seed(dir, &ack);
    return rv ? 1 : 0;
}
