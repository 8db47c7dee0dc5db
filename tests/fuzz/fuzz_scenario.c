/* libFuzzer target over scenario_parse (a scenario file is user input, often pasted or
 * generated). Data files are refused, so feeders exercise the error path; env("S") has a
 * value that no error message may quote. An input whose
 * first line is "#set KEY=VALUE" also applies that --set override. Beyond "no crash, no
 * leak, no sanitizer report" it checks: a refusal always says why (a message, a line
 * within the input); a scenario that parses has consistent load and profile tables. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/scenario.h"

static int refuse_files(void *ud, const char *path, char **data, size_t *len, char *err,
                        size_t errcap)
{
    (void)ud, (void)path, (void)data, (void)len;
    snprintf(err, errcap, "data files are not read while fuzzing");
    return -1;
}

/* env() has one variable here, S, whose value holds characters that fail base64 and URL
 * checks: a message must never quote it (issue 9, item 3). Other names have no value. */
#define FUZZ_ENV_VALUE "s3cr3t!{v@l}"

static const char *fuzz_env(void *ud, const char *name, char *why, size_t whycap, char *hint,
                            size_t hintcap)
{
    (void)ud;
    if (strcmp(name, "S") == 0)
        return FUZZ_ENV_VALUE;
    return tmpl_env_none(name, why, whycap, hint, hintcap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char key[128], value[128];
    sc_set set = { key, value };
    int nsets = 0;
    if (size > 5 && memcmp(data, "#set ", 5) == 0) {
        const char *nl = memchr(data, '\n', size), *eq = memchr(data, '=', size);
        if (nl && eq && eq < nl && eq - (const char *)data - 5 < (long)sizeof key &&
            nl - eq - 1 < (long)sizeof value) {
            snprintf(key, sizeof key, "%.*s", (int)(eq - (const char *)data - 5), (const char *)data + 5);
            snprintf(value, sizeof value, "%.*s", (int)(nl - eq - 1), eq + 1);
            nsets = 1;
        }
    }
    sc_error err;
    char buf[2048];
    const sc_env env = { fuzz_env, NULL };
    scenario *sc = scenario_parse_env((const char *)data, size, "fuzz.yaml", &set, nsets,
                                      refuse_files, NULL, &env, &err);
    if (!sc) {
        if (err.msg[0] == '\0' || err.line < 0 || err.col < 0)
            abort();
        /* libyaml breaks lines at \n, \r, \r\n, NEL, LS and PS */
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n')) ||
                     (i + 1 < size && data[i] == 0xC2 && data[i + 1] == 0x85) ||
                     (i + 2 < size && data[i] == 0xE2 && data[i + 1] == 0x80 &&
                      (data[i + 2] == 0xA8 || data[i + 2] == 0xA9));
        if ((size_t)err.line > lines + 1)
            abort();
        sc_error_format(&err, buf, sizeof buf);
        if (strstr(buf, "s3cr3t") && !memmem(data, size, "s3cr3t", 6))
            abort();            /* an env() value reached an error message */
        return 0;
    }
    if (sc->nprofiles < 1 || sc->nstages < 1 || sc->total_weight < 1 || !sc->name)
        abort();
    uint32_t peak = scenario_peak_users(sc);
    uint64_t dur = scenario_duration_ms(sc);
    for (uint64_t t = 0; t <= dur; t += dur / 7 + 1)
        if (scenario_users_at(sc, t) > peak)
            abort();
    if (scenario_users_at(sc, dur) != 0)
        abort();
    for (uint64_t k = 0; k < 64; k++) {
        int p = scenario_profile_of(sc, k);
        if (p < 0 || p >= sc->nprofiles)
            abort();
    }
    if (scenario_check_run(sc, &err) != 0 && err.msg[0] == '\0')
        abort();
    scenario_override_load(sc, 3, 1.5, 10000);
    if (scenario_duration_ms(sc) != 10000 || scenario_users_at(sc, 1000) > 3)
        abort();
    scenario_free(sc);
    return 0;
}
