/* Writes the seed corpus of fuzz_proto: one valid encoded message of each type, into
 * DIR/<type>.msgpack (DIR defaults to tests/fuzz/corpus/proto). The seeds are
 * deterministic, so regenerating them changes nothing unless the encoding changed.
 *   gcc -std=gnu11 -D_GNU_SOURCE -I. tests/fuzz/gen_proto_corpus.c proto/msg.c \
 *       common/hist.c common/stats.c common/log.c common/time.c -lmsgpackc -lm \
 *       -o /tmp/gen_proto_corpus && /tmp/gen_proto_corpus */
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

static int encode_seed(const char *dir, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0)
        return -1;
    return write_seed(dir, proto_type_name(m->type), buf, len);
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
    rv |= encode_seed(dir, &hello);

    static const char yaml[] =
        "name: erp-peak\ntarget: http://127.0.0.1:8000\nload:\n  stages:\n"
        "    - { duration: 10s, users: 20 }\nusers:\n  - name: op\n    flow:\n"
        "      - http: { url: /ping }\n";
    static const char csv[] = "username,password\nop1,pw1\nop2,pw2\n";
    proto_file file = { .path = "operators.csv", .data = (char *)csv, .len = sizeof csv - 1 };
    proto_set set = { .key = "load.stages.0.users", .value = "40" };
    proto_msg plan = { .type = MSG_PLAN };
    plan.u.plan = (proto_plan){
        .run_id = 1, .scenario_file = "erp-peak.yaml", .scenario = (char *)yaml,
        .scenario_len = sizeof yaml - 1, .files = &file, .nfiles = 1, .sets = &set, .nsets = 1,
        .host = "http://127.0.0.1:8001", .users = 40, .rate = 2.5, .duration_ms = 60000,
        .thread_base = 0, .threads = 2, .threads_total = 4, .start_at_ms = 1764000000000ull,
        .interval_ms = 1000, .name_cap = 500,
    };
    rv |= encode_seed(dir, &plan);

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
    return rv ? 1 : 0;
}
