/* cli/runinfo.c: the scenario's warnings as the CLI prints them, the load line, and the
 * -t note (issue 12: "-t alone keeps the scenario's stages ... say so"), on scenarios
 * parsed by the real parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/runinfo.h"
#include "common/scenario.h"

static int no_read(void *ud, const char *path, char **data, size_t *len, char *err, size_t errcap)
{
    (void)ud; (void)path; (void)data; (void)len;
    snprintf(err, errcap, "no files here");
    return -1;
}

static scenario *parse(const char *text)
{
    sc_error err;
    scenario *sc = scenario_parse(text, strlen(text), "ri.yaml", NULL, 0, no_read, NULL, &err);
    if (!sc) {
        char buf[1024];
        sc_error_format(&err, buf, sizeof buf);
        fail_msg("scenario did not parse: %s", buf);
    }
    return sc;
}

/* 2 users over 1 s, held 2 s: 3 s in all. */
static const char CLOSED[] =
    "name: ri\n"
    "target: http://127.0.0.1:1\n"
    "load:\n"
    "  stages:\n"
    "    - { duration: 1s, users: 2 }\n"
    "    - { duration: 2s, users: 2 }\n"
    "users:\n"
    "  - name: u\n"
    "    flow:\n"
    "      - http: { url: /ping }\n"
    "        tags: [fast]\n";

static const char OPEN[] =
    "name: ri-open\n"
    "target: http://127.0.0.1:1\n"
    "load:\n"
    "  model: open\n"
    "  max_users: 10\n"
    "  stages:\n"
    "    - { duration: 1m, rate: 5 }\n"
    "users:\n"
    "  - name: u\n"
    "    flow:\n"
    "      - http: { url: /ping }\n";

/* The text runinfo_warnings writes, in a malloc'd string. */
static char *warnings_text(const scenario *sc, int *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *n = runinfo_warnings(f, sc);
    fclose(f);
    return buf;
}

static void test_warnings(void **state)
{
    (void)state;
    scenario *sc = parse(CLOSED);
    int n;
    char *text = warnings_text(sc, &n);
    assert_int_equal(n, 0);
    assert_string_equal(text, "");
    free(text);

    /* -T naming a tag nothing carries: one warning, in sc_warning_format's words */
    const char *inc[] = { "fast", "nosuch" };
    sc_error err;
    assert_int_equal(scenario_apply_tags(sc, inc, 2, NULL, 0, &err), 0);
    text = warnings_text(sc, &n);
    assert_int_equal(n, sc->nwarnings);
    assert_int_equal(n, 1);
    char want[2048];
    sc_warning_format(sc, &sc->warnings[0], want, sizeof want);
    assert_string_equal(text, want);
    assert_non_null(strstr(text, "ri.yaml: warning: -T nosuch: nothing in the scenario carries that tag\n"));
    assert_non_null(strstr(text, "  hint: "));
    free(text);
    scenario_free(sc);

    /* a threshold on a default name no step makes: a warning at its line and column */
    char warned[1024];
    snprintf(warned, sizeof warned, "%sthresholds:\n  - \"/pnig: p95 < 1s\"\n", CLOSED);
    sc = parse(warned);
    text = warnings_text(sc, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(text, "ri.yaml:13:5: warning: threshold \"/pnig: p95 < 1s\""));
    free(text);
    scenario_free(sc);
    assert_int_equal(runinfo_warnings(stderr, NULL), 0);
}

static void test_duration_note(void **state)
{
    (void)state;
    scenario *sc = parse(CLOSED);
    char buf[256];
    assert_true(runinfo_duration_note(sc, 0, 0, 0, 2000, buf, sizeof buf));
    assert_string_equal(buf, "-t 2s: the scenario's stages cut at 2s (they last 3s)");
    assert_true(runinfo_duration_note(sc, 0, 0, 0, 300000, buf, sizeof buf));
    assert_string_equal(buf, "-t 5m: the scenario's stages kept, their last stage's users held "
                             "to 5m (they last 3s)");
    /* nothing to say: no -t, -t equal to the stages, -u or -r replacing the stages */
    assert_false(runinfo_duration_note(sc, 0, 0, 0, 0, buf, sizeof buf));
    assert_string_equal(buf, "");
    assert_false(runinfo_duration_note(sc, 0, 0, 0, 3000, buf, sizeof buf));
    assert_false(runinfo_duration_note(sc, 5, 0, 0, 2000, buf, sizeof buf));
    assert_false(runinfo_duration_note(sc, 0, 2.5, 0, 2000, buf, sizeof buf));
    assert_string_equal(buf, "");
    /* what the note says is what the override does */
    scenario_override_load(sc, 0, 0, 2000);
    assert_int_equal(scenario_duration_ms(sc), 2000);
    scenario_free(sc);

    sc = parse(OPEN);
    assert_true(runinfo_duration_note(sc, 0, 0, 0, 120000, buf, sizeof buf));
    assert_string_equal(buf, "-t 2m: the scenario's stages kept, their last stage's rate held "
                             "to 2m (they last 1m)");
    assert_true(runinfo_duration_note(sc, 20, 0, 0, 30000, buf, sizeof buf));   /* -u: the pool */
    assert_string_equal(buf, "-t 30s: the scenario's stages cut at 30s (they last 1m)");
    assert_false(runinfo_duration_note(sc, 0, 0, 50, 30000, buf, sizeof buf));  /* --arrival-rate */
    assert_false(runinfo_duration_note(NULL, 0, 0, 0, 30000, buf, sizeof buf));
    scenario_free(sc);
}

static void test_load_line(void **state)
{
    (void)state;
    scenario *sc = parse(CLOSED);
    char buf[256];
    runinfo_load(sc, buf, sizeof buf);
    assert_string_equal(buf, "peak 2 users, 3s");
    scenario_free(sc);
    sc = parse(OPEN);
    runinfo_load(sc, buf, sizeof buf);
    assert_non_null(strstr(buf, "open model: rate up to 5/s, 150 arrivals planned, pool of 10 users"));   /* a ramp from 0 */
    scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_duration_note),
        cmocka_unit_test(test_load_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
