/* Unit tests for common/tmpl: compile, render of every built-in (now_us included),
 * escaping, truncation, compile errors with offsets and hints, and the shared helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/data.h"
#include "common/nearest.h"
#include "common/tmpl.h"
#include "common/rng.h"

/* ---- helpers -------------------------------------------------------------------- */

static tmpl *compile(const char *s, tmpl_escape esc, const tmpl_syms *syms)
{
    char err[256], hint[256];
    size_t off = 99;
    tmpl *t = tmpl_compile(s, strlen(s), esc, syms, err, sizeof err, hint, sizeof hint, &off);
    if (t == NULL)
        print_error("compile \"%s\": %s (at %zu; hint: %s)\n", s, err, off, hint);
    assert_non_null(t);
    return t;
}

/* Compiles s expecting failure at off, with err and hint containing the given text
 * (hint_has NULL: any hint; "" : the hint must be empty). */
static void expect_error(const char *s, const tmpl_syms *syms, size_t off, const char *err_has,
                         const char *hint_has)
{
    char err[256] = "x", hint[256] = "x";
    size_t got = 12345;
    tmpl *t = tmpl_compile(s, strlen(s), TMPL_RAW, syms, err, sizeof err, hint, sizeof hint,
                           &got);
    if (t != NULL)
        print_error("\"%s\" compiled but should not\n", s);
    assert_null(t);
    if (got != off || strstr(err, err_has) == NULL)
        print_error("\"%s\": err \"%s\" at %zu; hint \"%s\"\n", s, err, got, hint);
    assert_int_equal(got, off);
    assert_non_null(strstr(err, err_has));
    if (hint_has != NULL && hint_has[0] == '\0')
        assert_string_equal(hint, "");
    else if (hint_has != NULL) {
        if (strstr(hint, hint_has) == NULL)
            print_error("\"%s\": hint \"%s\", wanted \"%s\"\n", s, hint, hint_has);
        assert_non_null(strstr(hint, hint_has));
    }
}

typedef struct fixture {
    tmpl_syms syms;
    data_set  data;
    tmpl_val  vars[4];
    uint32_t  rows[2];
    uint64_t  rng, counter;
    tmpl_ctx  ctx;
} fixture;

static const char ops_csv[] =
    "username,password\n"
    "alice,a-pass\n"
    "bob,b\"pass\n"
    "carol,c-pass\n";

static int fixture_setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(tmpl_syms_add(&fx->syms, "token"), 0);
    assert_int_equal(tmpl_syms_add(&fx->syms, "order_id"), 1);
    fx->data.f = calloc(1, sizeof *fx->data.f);
    assert_non_null(fx->data.f);
    fx->data.n = 1;
    data_feeder *f = &fx->data.f[0];
    f->name = strdup("operators");
    f->file = strdup("operators.csv");
    f->mode = DATA_UNIQUE;
    char err[128];
    int line;
    assert_int_equal(data_feeder_parse(f, ops_csv, strlen(ops_csv), err, sizeof err, &line), 0);
    fx->syms.data = &fx->data;
    fx->rng = 0x1234567887654321ULL;
    fx->ctx = (tmpl_ctx){ .user_id = 7, .rng = &fx->rng, .counter = &fx->counter,
                          .thread_index = 0, .threads_total = 1, .vars = fx->vars,
                          .rows = fx->rows, .data = &fx->data };
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < 4; i++)
        tmpl_val_fini(&fx->vars[i]);
    tmpl_syms_fini(&fx->syms);
    data_set_fini(&fx->data);
    free(fx);
    return 0;
}

/* Renders t into a 512-byte buffer and checks the output is not cut. */
static const char *render(const tmpl *t, const tmpl_ctx *c, char *buf)
{
    size_t n = tmpl_render(t, c, buf, 512);
    assert_true(n < 512);
    assert_int_equal(strlen(buf), n);
    return buf;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_static_text(void **state)
{
    fixture *fx = *state;
    char buf[512];
    size_t len = 0;
    tmpl *t = compile("/api/orders?page=1", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, &len), "/api/orders?page=1");
    assert_int_equal(len, 18);
    assert_string_equal(render(t, &fx->ctx, buf), "/api/orders?page=1");
    tmpl_free(t);

    t = compile("", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    tmpl_free(t);

    /* A lone brace, a closing pair and a single '{' at the end are plain text. */
    t = compile("{a} }} {", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, NULL), "{a} }} {");
    tmpl_free(t);

    /* A template with a run-time hole is not static. */
    t = compile("x{{ token }}", TMPL_RAW, &fx->syms);
    assert_null(tmpl_static(t, &len));
    tmpl_free(t);
    tmpl_free(NULL);
}

static void test_literal_braces(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("a {{ '{{' }} b {{\"}}\"}} c", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, NULL), "a {{ b }} c");
    assert_string_equal(render(t, &fx->ctx, buf), "a {{ b }} c");
    tmpl_free(t);
}

static void test_vars_set_unset(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("Bearer {{token}} /{{ order_id }}/x", TMPL_RAW, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), "Bearer  //x");
    assert_int_equal(tmpl_val_set(&fx->vars[0], "abc.def", 7), 0);
    assert_string_equal(render(t, &fx->ctx, buf), "Bearer abc.def //x");
    assert_int_equal(tmpl_val_set(&fx->vars[1], "42", 2), 0);
    assert_string_equal(render(t, &fx->ctx, buf), "Bearer abc.def /42/x");
    fx->vars[0].set = false;
    assert_string_equal(render(t, &fx->ctx, buf), "Bearer  /42/x");
    /* No vars array at all: holes render empty. */
    tmpl_ctx c = fx->ctx;
    c.vars = NULL;
    assert_string_equal(render(t, &c, buf), "Bearer  //x");
    tmpl_free(t);
}

static void test_val_growth(void **state)
{
    (void)state;
    tmpl_val v = { 0 };
    assert_false(v.set);
    assert_int_equal(tmpl_val_set(&v, "hello", 5), 0);
    assert_true(v.set);
    assert_int_equal(v.len, 5);
    assert_int_equal(v.cap, 8);         /* next power of two >= 6 */
    assert_string_equal(v.p, "hello");
    char *p = v.p;
    assert_int_equal(tmpl_val_set(&v, "abcdefg", 7), 0);   /* 8 bytes fit: no realloc */
    assert_ptr_equal(v.p, p);
    assert_int_equal(v.cap, 8);
    assert_int_equal(tmpl_val_set(&v, "abcdefgh", 8), 0);  /* needs 9: grows to 16 */
    assert_int_equal(v.cap, 16);
    assert_string_equal(v.p, "abcdefgh");
    p = v.p;
    assert_int_equal(tmpl_val_set(&v, "", 0), 0);
    assert_ptr_equal(v.p, p);
    assert_string_equal(v.p, "");
    assert_true(v.set);
    /* A value taken from inside its own buffer. */
    assert_int_equal(tmpl_val_set(&v, "0123456789", 10), 0);
    assert_int_equal(tmpl_val_set(&v, v.p + 3, 4), 0);
    assert_string_equal(v.p, "3456");
    char big[1000];
    memset(big, 'x', sizeof big);
    assert_int_equal(tmpl_val_set(&v, big, sizeof big), 0);
    assert_int_equal(v.cap, 1024);
    assert_int_equal(v.len, 1000);
    tmpl_val_fini(&v);
    assert_null(v.p);
    assert_false(v.set);
    tmpl_val_fini(NULL);
}

static void test_rand_int(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("{{ rand_int(1, 100) }}", TMPL_RAW, &fx->syms);
    bool seen[101] = { false };
    for (int i = 0; i < 10000; i++) {
        render(t, &fx->ctx, buf);
        char *end;
        long v = strtol(buf, &end, 10);
        assert_true(*end == '\0');
        assert_in_range(v, 1, 100);
        seen[v] = true;
    }
    assert_true(seen[1]);
    assert_true(seen[100]);
    int distinct = 0;
    for (int i = 1; i <= 100; i++)
        distinct += seen[i];
    assert_int_equal(distinct, 100);
    tmpl_free(t);

    t = compile("{{rand_int(-3,-1)}}", TMPL_RAW, &fx->syms);
    bool neg[4] = { false };
    for (int i = 0; i < 10000; i++) {
        long v = strtol(render(t, &fx->ctx, buf), NULL, 10);
        assert_in_range(v + 3, 0, 2);
        neg[-v] = true;
    }
    assert_true(neg[1] && neg[2] && neg[3]);
    tmpl_free(t);

    t = compile("{{ rand_int(5, 5) }}", TMPL_RAW, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), "5");
    tmpl_free(t);

    /* The full 64-bit range does not divide by zero. */
    t = compile("{{ rand_int(-9223372036854775808, 9223372036854775807) }}", TMPL_RAW,
                &fx->syms);
    render(t, &fx->ctx, buf);
    tmpl_free(t);

    /* Same seed, same sequence: draws come from the VU's own generator only. */
    t = compile("{{ rand_int(0, 1000000) }}", TMPL_RAW, &fx->syms);
    char a[512], b[512];
    fx->rng = 99;
    render(t, &fx->ctx, a);
    fx->rng = 99;
    render(t, &fx->ctx, b);
    assert_string_equal(a, b);
    tmpl_free(t);
}

static void check_uuid(const char *u)
{
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(u[i], '-');
        } else {
            assert_non_null(strchr("0123456789abcdef", u[i]));
        }
    }
    assert_int_equal(u[14], '4');                       /* version */
    assert_non_null(strchr("89ab", u[19]));             /* variant 10xx */
}

static void test_uuid(void **state)
{
    fixture *fx = *state;
    char buf[512], prev[512] = "";
    tmpl *t = compile("{{ uuid() }}", TMPL_RAW, &fx->syms);
    tmpl *bare = compile("id-{{uuid}}", TMPL_RAW, &fx->syms);
    for (int i = 0; i < 1000; i++) {
        render(t, &fx->ctx, buf);
        check_uuid(buf);
        assert_string_not_equal(buf, prev);
        strcpy(prev, buf);
        render(bare, &fx->ctx, buf);
        assert_memory_equal(buf, "id-", 3);
        check_uuid(buf + 3);
    }
    tmpl_free(t);
    tmpl_free(bare);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_counter(void **state)
{
    fixture *fx = *state;
    enum { THREADS = 4, PER = 500 };
    char buf[512];
    tmpl *t = compile("{{ counter() }}", TMPL_RAW, &fx->syms);
    tmpl *bare = compile("{{counter}}", TMPL_RAW, &fx->syms);
    uint64_t seqs[THREADS] = { 0 };
    uint64_t *vals = malloc(THREADS * PER * sizeof *vals);
    assert_non_null(vals);
    size_t n = 0;
    /* Interleave the simulated threads, as engine threads would run concurrently. */
    for (int i = 0; i < PER; i++)
        for (uint32_t th = 0; th < THREADS; th++) {
            tmpl_ctx c = fx->ctx;
            c.thread_index = th;
            c.threads_total = THREADS;
            c.counter = &seqs[th];
            render(i % 2 ? bare : t, &c, buf);
            vals[n++] = strtoull(buf, NULL, 10);
            assert_int_equal(vals[n - 1] % THREADS, (th + 1) % THREADS);
        }
    for (uint32_t th = 0; th < THREADS; th++)
        assert_int_equal(seqs[th], PER);
    qsort(vals, n, sizeof *vals, cmp_u64);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vals[i], i + 1);   /* unique and dense: 1 .. THREADS*PER */
    free(vals);
    /* First values: seq 0 of thread 2 of 4 is 3. */
    uint64_t seq = 0;
    tmpl_ctx c = fx->ctx;
    c.thread_index = 2;
    c.threads_total = 4;
    c.counter = &seq;
    assert_string_equal(render(t, &c, buf), "3");
    assert_string_equal(render(t, &c, buf), "7");
    tmpl_free(t);
    tmpl_free(bare);
}

static void test_user_id(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("u{{ user_id }}-{{user_id()}}", TMPL_RAW, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), "u7-7");
    fx->ctx.user_id = 18446744073709551615ULL;
    assert_string_equal(render(t, &fx->ctx, buf), "u18446744073709551615-18446744073709551615");
    tmpl_free(t);
}

/* Wall clock now, in microseconds, for comparing with what now_us rendered. */
static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* now_us: decimal microseconds of CLOCK_REALTIME, read at render time (not compile
 * time), in bare and call form; inside JSON it is a plain number; a capture of that
 * name wins for the bare name only. */
static void test_now_us(void **state)
{
    fixture *fx = *state;
    char buf[512], *end;
    tmpl *t = compile("{{ now_us }}", TMPL_RAW, &fx->syms);
    assert_null(tmpl_static(t, NULL));
    uint64_t before = wall_us();
    render(t, &fx->ctx, buf);
    uint64_t after = wall_us();
    unsigned long long v = strtoull(buf, &end, 10);
    assert_true(end != buf && *end == '\0');
    assert_true(v >= before && v <= after);             /* same clock, read in between */
    assert_true(v > 1600000000ULL * 1000000u);          /* microseconds, not ms or s */
    /* read again at each render */
    struct timespec pause = { 0, 2000000 };
    nanosleep(&pause, NULL);
    render(t, &fx->ctx, buf);
    assert_true(strtoull(buf, NULL, 10) >= v + 2000);
    tmpl_free(t);

    t = compile("{\"ts_us\":{{now_us()}},\"s\":\"{{ now_us }}\"}", TMPL_JSON, &fx->syms);
    render(t, &fx->ctx, buf);
    unsigned long long a, b;
    int n = 0;
    assert_int_equal(sscanf(buf, "{\"ts_us\":%llu,\"s\":\"%llu\"}%n", &a, &b, &n), 2);
    assert_int_equal((size_t)n, strlen(buf));
    assert_true(b >= a && b - a < 1000000u);
    tmpl_free(t);

    expect_error("{{ now_us(1) }}", &fx->syms, 10, "now_us takes no arguments", NULL);
    expect_error("{{ now_usx }}", &fx->syms, 3, "unknown name", "now_us");

    /* A capture named now_us wins for the bare name; now_us() stays the clock. */
    assert_int_equal(tmpl_syms_add(&fx->syms, "now_us"), 2);
    assert_int_equal(tmpl_val_set(&fx->vars[2], "captured", 8), 0);
    t = compile("{{ now_us }}|{{ now_us() }}", TMPL_RAW, &fx->syms);
    render(t, &fx->ctx, buf);
    assert_memory_equal(buf, "captured|", 9);
    v = strtoull(buf + 9, &end, 10);
    assert_true(*end == '\0' && v >= before);
    tmpl_free(t);
}

static void test_env(void **state)
{
    fixture *fx = *state;
    char buf[512];
    size_t len;
    fx->syms.env = tmpl_env_process;        /* the CLI's source: its own environment */
    setenv("STAMPEDE_TEST_HOST", "erp.local", 1);
    setenv("STAMPEDE_TEST_QUOTE", "say \"hi\"\n", 1);
    tmpl *t = compile("http://{{ env(\"STAMPEDE_TEST_HOST\") }}:{{env(STAMPEDE_TEST_HOST)}}/",
                      TMPL_RAW, &fx->syms);
    /* Read once at compile time: a later change does not show. */
    setenv("STAMPEDE_TEST_HOST", "changed", 1);
    assert_string_equal(tmpl_static(t, &len), "http://erp.local:erp.local/");
    assert_string_equal(render(t, &fx->ctx, buf), "http://erp.local:erp.local/");
    tmpl_free(t);

    t = compile("{\"msg\":\"{{ env('STAMPEDE_TEST_QUOTE') }}\"}", TMPL_JSON, &fx->syms);
    assert_string_equal(tmpl_static(t, NULL), "{\"msg\":\"say \\\"hi\\\"\\u000a\"}");
    tmpl_free(t);
    t = compile("{{ env('STAMPEDE_TEST_QUOTE') }}", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, NULL), "say \"hi\"\n");
    tmpl_free(t);

    unsetenv("STAMPEDE_TEST_MISSING");
    expect_error("x {{ env(\"STAMPEDE_TEST_MISSING\") }}", &fx->syms, 10,
                 "STAMPEDE_TEST_MISSING is not set", "export STAMPEDE_TEST_MISSING=...");
    expect_error("{{ env() }}", &fx->syms, 6, "env takes one", NULL);
}

/* A table source, as a daemon has: the values the submitting CLI sent. */
static const char *table_env(void *ud, const char *name, char *why, size_t whycap,
                             char *hint, size_t hintcap)
{
    const char *const *kv = ud;
    for (; kv[0] != NULL; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return tmpl_env_none(name, why, whycap, hint, hintcap);
}

/* Issue 9, item 3: env() reads only the source the symbol table names. With none (a
 * daemon's default) it never reads the process environment, and the error is the same
 * whether the process has the variable or not, and never holds a value. */
static void test_env_sources(void **state)
{
    fixture *fx = *state;
    setenv("STAMPEDE_TEST_SECRET", "topsecret", 1);
    unsetenv("STAMPEDE_TEST_ABSENT");
    const char *names[] = { "STAMPEDE_TEST_SECRET", "STAMPEDE_TEST_ABSENT" };
    char errs[2][256], hints[2][256];
    for (int i = 0; i < 2; i++) {
        char text[128];
        snprintf(text, sizeof text, "x{{ env(\"%s\") }}", names[i]);
        size_t off = 0;
        errs[i][0] = hints[i][0] = '\0';
        tmpl *t = tmpl_compile(text, strlen(text), TMPL_RAW, &fx->syms, errs[i], sizeof errs[i],
                               hints[i], sizeof hints[i], &off);
        assert_null(t);
        assert_int_equal(off, 9);
        assert_non_null(strstr(errs[i], "has no value"));
        assert_non_null(strstr(errs[i], "resolved by the CLI that submits the run"));
        assert_non_null(strstr(errs[i], names[i]));
        assert_null(strstr(errs[i], "topsecret"));
        assert_null(strstr(hints[i], "topsecret"));
        assert_null(strstr(errs[i], "not set"));
    }
    /* The two messages differ only by the name: nothing tells set from unset. */
    char *p = strstr(errs[0], names[0]);
    memmove(p, p + strlen(names[0]), strlen(p + strlen(names[0])) + 1);
    p = strstr(errs[1], names[1]);
    memmove(p, p + strlen(names[1]), strlen(p + strlen(names[1])) + 1);
    assert_string_equal(errs[0], errs[1]);

    /* A table: its values, not the process's; a static template that used one says so. */
    const char *table[] = { "STAMPEDE_TEST_SECRET", "from-cli", NULL, NULL };
    fx->syms.env = table_env;
    fx->syms.env_ud = table;
    tmpl *t = compile("/a/{{ env(\"STAMPEDE_TEST_SECRET\") }}", TMPL_RAW, &fx->syms);
    assert_string_equal(tmpl_static(t, NULL), "/a/from-cli");
    assert_true(tmpl_uses_env(t));
    tmpl_free(t);
    t = compile("/a/{{ 'b' }}", TMPL_RAW, &fx->syms);
    assert_false(tmpl_uses_env(t));
    assert_false(tmpl_uses_env(NULL));
    tmpl_free(t);
    expect_error("{{ env(\"STAMPEDE_TEST_ABSENT\") }}", &fx->syms, 8, "has no value",
                 "export STAMPEDE_TEST_ABSENT=...");
    fx->syms.env = NULL;
    fx->syms.env_ud = NULL;
    unsetenv("STAMPEDE_TEST_SECRET");
}

static void test_feeder_columns(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("{\"username\":\"{{ operators.username }}\",\"password\":\"{{operators.password}}\"}",
                      TMPL_JSON, &fx->syms);
    const data_feeder *f = &fx->data.f[0];
    fx->rows[0] = data_pick(f, 1, 0, &fx->rng);
    assert_string_equal(render(t, &fx->ctx, buf),
                        "{\"username\":\"alice\",\"password\":\"a-pass\"}");
    fx->rows[0] = data_pick(f, 2, 5, &fx->rng);             /* unique: row 1 always */
    assert_string_equal(render(t, &fx->ctx, buf),
                        "{\"username\":\"bob\",\"password\":\"b\\\"pass\"}");
    fx->rows[0] = data_pick(f, 3, 0, &fx->rng);
    assert_string_equal(render(t, &fx->ctx, buf),
                        "{\"username\":\"carol\",\"password\":\"c-pass\"}");
    /* Out-of-range row or no data: empty, never out of bounds. */
    fx->rows[0] = 3;
    assert_string_equal(render(t, &fx->ctx, buf), "{\"username\":\"\",\"password\":\"\"}");
    tmpl_ctx c = fx->ctx;
    c.data = NULL;
    assert_string_equal(render(t, &c, buf), "{\"username\":\"\",\"password\":\"\"}");
    tmpl_free(t);
}

static void test_json_escaping(void **state)
{
    fixture *fx = *state;
    char buf[512];
    tmpl *t = compile("{\"a\":\"{{ token }}\"}", TMPL_JSON, &fx->syms);
    const char v[] = "q\"b\\s\n\r\t\x01\x1f/\xc3\xa9";
    assert_int_equal(tmpl_val_set(&fx->vars[0], v, sizeof v - 1), 0);
    assert_string_equal(render(t, &fx->ctx, buf),
                        "{\"a\":\"q\\\"b\\\\s\\u000a\\u000d\\u0009\\u0001\\u001f/\xc3\xa9\"}");
    tmpl_free(t);
    /* RAW copies the same value unchanged. */
    t = compile("{{ token }}", TMPL_RAW, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), v);
    tmpl_free(t);
    /* An embedded NUL in a captured value is escaped too (length-based). */
    assert_int_equal(tmpl_val_set(&fx->vars[0], "a\0b", 3), 0);
    t = compile("{{ token }}", TMPL_JSON, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), "a\\u0000b");
    tmpl_free(t);
}

static void test_truncation(void **state)
{
    fixture *fx = *state;
    assert_int_equal(tmpl_val_set(&fx->vars[0], "0123456789", 10), 0);
    tmpl *t = compile("ab{{ token }}cd", TMPL_RAW, &fx->syms);
    char buf[32];
    memset(buf, '#', sizeof buf);
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 5), 14);
    assert_string_equal(buf, "ab01");
    assert_int_equal(buf[5], '#');                  /* nothing past cap */
    memset(buf, '#', sizeof buf);
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 14), 14);   /* one short */
    assert_string_equal(buf, "ab0123456789c");
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 15), 14);   /* exact fit */
    assert_string_equal(buf, "ab0123456789cd");
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 1), 14);
    assert_string_equal(buf, "");
    buf[0] = '#';
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 0), 14);    /* cap 0: no write */
    assert_int_equal(buf[0], '#');
    tmpl_free(t);

    /* JSON escapes count in the full length, also when cut. */
    assert_int_equal(tmpl_val_set(&fx->vars[0], "\"\"\"\"", 4), 0);
    t = compile("{{ token }}", TMPL_JSON, &fx->syms);
    memset(buf, '#', sizeof buf);
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 4), 8);
    assert_string_equal(buf, "\\\"\\");
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, sizeof buf), 8);
    assert_string_equal(buf, "\\\"\\\"\\\"\\\"");
    tmpl_free(t);

    /* Built-ins are cut too. */
    t = compile("{{ uuid }}", TMPL_RAW, &fx->syms);
    assert_int_equal(tmpl_render(t, &fx->ctx, buf, 9), 36);
    assert_int_equal(strlen(buf), 8);
    tmpl_free(t);
}

static void test_compile_errors(void **state)
{
    fixture *fx = *state;
    expect_error("/a/{{ token", &fx->syms, 3, "unclosed \"{{\"", "}}");
    expect_error("{{ token } }", &fx->syms, 0, "unclosed", NULL);
    expect_error("x{{ }}", &fx->syms, 1, "empty expression", NULL);
    expect_error("x{{}}", &fx->syms, 1, "empty expression", NULL);
    expect_error("Bearer {{ tokn }}", &fx->syms, 10, "unknown name \"tokn\"",
                 "did you mean \"token\"?");
    expect_error("{{ order_ib }}", &fx->syms, 3, "unknown name", "\"order_id\"");
    expect_error("{{ uuidd }}", &fx->syms, 3, "unknown name", "\"uuid\"");
    expect_error("{{ operators_username }}", &fx->syms, 3, "unknown name",
                 "\"operators.username\"");
    expect_error("{{ zzzzzzzzzz }}", &fx->syms, 3, "unknown name \"zzzzzzzzzz\"", "");
    expect_error("{{ operatrs.username }}", &fx->syms, 3, "no variable or feeder \"operatrs\"",
                 "did you mean \"operators.username\"?");
    expect_error("{{ operators.usernam }}", &fx->syms, 13,
                 "feeder \"operators\" has no column \"usernam\"",
                 "did you mean \"operators.username\"?");
    expect_error("{{ operators.zzzzzzzzz }}", &fx->syms, 13, "no column",
                 "its columns are: username, password");
    expect_error("{{ operators. }}", &fx->syms, 13, "column name", NULL);
    expect_error("{{ rand_int(10, 1) }}", &fx->syms, 12, "a <= b", "rand_int(1, 10)");
    expect_error("{{ rand_int(1, x) }}", &fx->syms, 15, "\"x\" is not an integer", NULL);
    expect_error("{{ rand_int(1.5, 3) }}", &fx->syms, 12, "not an integer", NULL);
    expect_error("{{ rand_int(1) }}", &fx->syms, 11, "two integers", NULL);
    expect_error("{{ rand_int(1, 2, 3) }}", &fx->syms, 11, "got 3 arguments", NULL);
    expect_error("{{ rand_int('1', 2) }}", &fx->syms, 13, "not an integer", NULL);
    expect_error("{{ rand_int(1, 99999999999999999999) }}", &fx->syms, 15, "not an integer",
                 NULL);
    expect_error("{{ rand_int }}", &fx->syms, 3, "rand_int needs", NULL);
    expect_error("{{ rand_int(1, 2 }}", &fx->syms, 11, "unclosed \"(\"", NULL);
    expect_error("{{ randint(1, 2) }}", &fx->syms, 3, "unknown function \"randint\"",
                 "\"rand_int(...)\"");
    expect_error("{{ uuid(1) }}", &fx->syms, 8, "takes no arguments", NULL);
    expect_error("{{ token x }}", &fx->syms, 9, "unexpected character 'x'", NULL);
    expect_error("{{ $x }}", &fx->syms, 3, "unexpected character '$'", NULL);
    expect_error("{{ 'abc }}", &fx->syms, 3, "unterminated string", NULL);
    expect_error("{{ 'a' b }}", &fx->syms, 7, "after the string", NULL);
    /* The error is the first one, later holes are not reached. */
    expect_error("{{ token }}{{ nope }}{{", &fx->syms, 14, "unknown name \"nope\"", NULL);
    /* Without a symbol table every name is unknown; the hint names the built-ins. */
    expect_error("{{ token }}", NULL, 3, "unknown name", "built-ins");
    expect_error("{{ a.b }}", NULL, 3, "feeder \"a\"", "data:");

    /* NULL err/hint/off buffers are allowed. */
    assert_null(tmpl_compile("{{", 2, TMPL_RAW, NULL, NULL, 0, NULL, 0, NULL));
}

static void test_capture_shadows_builtin(void **state)
{
    fixture *fx = *state;
    char buf[512];
    /* A declared capture named like a built-in wins for the bare name. */
    assert_int_equal(tmpl_syms_add(&fx->syms, "uuid"), 2);
    assert_int_equal(tmpl_val_set(&fx->vars[2], "mine", 4), 0);
    tmpl *t = compile("{{ uuid }} {{ uuid() }}", TMPL_RAW, &fx->syms);
    render(t, &fx->ctx, buf);
    assert_memory_equal(buf, "mine ", 5);
    check_uuid(buf + 5);
    tmpl_free(t);
    /* A dotted capture name wins over feeder.column. */
    assert_int_equal(tmpl_syms_add(&fx->syms, "operators.username"), 3);
    assert_int_equal(tmpl_val_set(&fx->vars[3], "cap", 3), 0);
    t = compile("{{ operators.username }}", TMPL_RAW, &fx->syms);
    assert_string_equal(render(t, &fx->ctx, buf), "cap");
    tmpl_free(t);
}

static void test_syms(void **state)
{
    (void)state;
    tmpl_syms s = { 0 };
    char name[16];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(tmpl_syms_add(&s, name), i);
    }
    assert_int_equal(tmpl_syms_add(&s, "v3"), 3);       /* existing: same slot */
    assert_int_equal(s.nvars, 20);
    assert_int_equal(tmpl_syms_find(&s, "v19"), 19);
    assert_int_equal(tmpl_syms_find(&s, "v20"), -1);
    assert_int_equal(tmpl_syms_find(NULL, "v1"), -1);
    tmpl_syms_fini(&s);
    assert_int_equal(s.nvars, 0);
    assert_null(s.vars);
    tmpl_syms_fini(&s);
}

static void test_nearest(void **state)
{
    (void)state;
    const char *const c[] = { "token", "order_id", "operators.username", "uuid", "counter" };
    assert_string_equal(nearest_name("tokn", c, 5), "token");
    assert_string_equal(nearest_name("token", c, 5), "token");
    assert_string_equal(nearest_name("ordr_idd", c, 5), "order_id");
    assert_string_equal(nearest_name("cuonter", c, 5), "counter");  /* swap = 2 edits */
    assert_null(nearest_name("tok_xyzw", c, 5));                     /* > 3 edits */
    assert_null(nearest_name("id", c, 5));
    /* Distance must be below the word's length: "abc" is 3 edits from "xyz". */
    const char *const d[] = { "xyz", "abcd" };
    assert_null(nearest_name("abc", d, 1));
    assert_string_equal(nearest_name("abc", d, 2), "abcd");
    assert_null(nearest_name("", d, 2));
    /* The nearest wins over an earlier, farther candidate; ties keep the first. */
    const char *const e[] = { "passwrd1", "password", "passwore" };
    assert_string_equal(nearest_name("password", e, 3), "password");
    assert_string_equal(nearest_name("passwor", e + 1, 2), "password");
    assert_null(nearest_name("x", NULL, 0));
}

/* The one edit distance (common/nearest.h): a swap of neighbours is one edit with swaps
 * and two without; the limit cuts the answer at limit + 1; words past the stack rows
 * (64 bytes) are measured too. */
static void test_nearest_distance(void **state)
{
    (void)state;
    assert_int_equal(nearest_distance("p59", "p95", true, 5), 1);
    assert_int_equal(nearest_distance("p59", "p95", false, 5), 2);
    assert_int_equal(nearest_distance("cuonter", "counter", true, 5), 1);
    assert_int_equal(nearest_distance("", "abc", false, 5), 3);
    assert_int_equal(nearest_distance("abc", "", true, 5), 3);
    assert_int_equal(nearest_distance("same", "same", true, 0), 0);
    assert_int_equal(nearest_distance("kitten", "sitting", false, 10), 3);
    assert_int_equal(nearest_distance("kitten", "sitting", false, 1), 2);   /* limit + 1 */
    assert_int_equal(nearest_distance("abcdef", "zzzzzzzzzzzz", true, 2), 3);
    char a[200], b[200];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[100] = 'y';
    b[150] = 'z';
    assert_int_equal(nearest_distance(a, b, false, 10), 2);
    assert_int_equal(nearest_distance(a, b, true, 1), 2);
    assert_int_equal(nearest_distance(a, "x", false, 500), 198);
}

static void test_rng(void **state)
{
    (void)state;
    uint64_t s = 1, s2 = 1;
    uint64_t a = rng_next(&s);
    assert_int_equal(a, rng_next(&s2));
    assert_int_not_equal(s, 1);
    assert_int_not_equal(s, 0);
    /* Reference values of xorshift64* (12, 25, 27; 0x2545F4914F6CDD1D) from state 1. */
    uint64_t x = 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    assert_int_equal(a, x * 0x2545F4914F6CDD1DULL);
    uint64_t z = 0;
    rng_next(&z);
    assert_int_not_equal(z, 0);             /* a zero state does not get stuck */
    /* Rough uniformity of the top bit over many draws. */
    int high = 0;
    for (int i = 0; i < 10000; i++)
        high += (int)(rng_next(&s) >> 63);
    assert_in_range(high, 4700, 5300);
}

#define FX(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX(test_static_text),
        FX(test_literal_braces),
        FX(test_vars_set_unset),
        cmocka_unit_test(test_val_growth),
        FX(test_rand_int),
        FX(test_uuid),
        FX(test_counter),
        FX(test_user_id),
        FX(test_now_us),
        FX(test_env),
        FX(test_env_sources),
        FX(test_feeder_columns),
        FX(test_json_escaping),
        FX(test_truncation),
        FX(test_compile_errors),
        FX(test_capture_shadows_builtin),
        cmocka_unit_test(test_syms),
        cmocka_unit_test(test_nearest),
        cmocka_unit_test(test_nearest_distance),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
