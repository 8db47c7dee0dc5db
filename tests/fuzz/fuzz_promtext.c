/* libFuzzer target over common/promtext (a scraped /metrics body is untrusted: the
 * monitor parses whatever a target answers). The input's first line is a selector, the
 * rest the body:
 *
 *     db_pool_connections{state="in_use"}
 *     # TYPE db_pool_connections gauge
 *     db_pool_connections{state="in_use"} 3
 *
 * Beyond "no crash, no leak, no sanitizer report" it checks: a refusal says why, with
 * the line ("line N: ..."); an accepted body holds at most PROM_MAX_SERIES samples, each
 * with a valid name, at most PROM_MAX_LABELS labels, label values within
 * PROM_MAX_LABEL_VALUE, no duplicate label names; parsing is deterministic (a second
 * parse gives the same samples); a selector that parses matches only samples of its
 * name, and the sum counts exactly the matches; a body ending in a torn line parses the
 * same or is refused (never reads past its end: the body is copied to a buffer of
 * exactly its length, so ASan sees any overread). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_ok(const char *s, bool metric)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROM_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (metric && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t sl = nl ? (size_t)(nl - data) : size;
    if (sl > 4096)
        return 0;
    char *seltext = malloc(sl + 1);
    memcpy(seltext, data, sl);
    seltext[sl] = '\0';
    size_t blen = nl ? size - sl - 1 : 0;
    char *body = malloc(blen ? blen : 1);
    if (blen)
        memcpy(body, nl + 1, blen);

    prom_doc d, d2;
    char err[256];
    int rc = prom_parse(body, blen, &d, err, sizeof err);
    if (rc != 0) {
        if (strncmp(err, "line ", 5) != 0 && !strstr(err, "larger than") &&
            !strstr(err, "out of memory"))
            abort();
        if (d.n != 0 || d.s != NULL)
            abort();
    } else {
        if (d.n > PROM_MAX_SERIES)
            abort();
        for (int i = 0; i < d.n; i++) {
            const prom_series *s = &d.s[i];
            if (!name_ok(s->name, true) || s->nlabels > PROM_MAX_LABELS)
                abort();
            for (int j = 0; j < s->nlabels; j++) {
                if (!name_ok(s->labels[j].name, false) ||
                    strlen(s->labels[j].value) > PROM_MAX_LABEL_VALUE)
                    abort();
                for (int k = 0; k < j; k++)
                    if (!strcmp(s->labels[j].name, s->labels[k].name))
                        abort();
            }
        }
        if (prom_parse(body, blen, &d2, err, sizeof err) != 0 || d2.n != d.n)
            abort();
        for (int i = 0; i < d.n; i++)
            if (strcmp(d.s[i].name, d2.s[i].name) || !same_value(d.s[i].value, d2.s[i].value) ||
                d.s[i].counter != d2.s[i].counter)
                abort();
        prom_doc_free(&d2);
        prom_sel sel;
        if (prom_sel_parse(seltext, &sel, err, sizeof err) == 0) {
            int n = 0, want = 0;
            prom_sel_sum(&sel, &d, &n, NULL);
            for (int i = 0; i < d.n; i++)
                if (prom_sel_match(&sel, &d.s[i])) {
                    if (strcmp(d.s[i].name, sel.name))
                        abort();
                    want++;
                }
            if (n != want)
                abort();
            prom_sel_free(&sel);
        } else if (strncmp(err, "at offset ", 10) != 0) {
            abort();
        }
        /* the body cut in its last line: parsed or refused, never past its end */
        if (blen > 1) {
            size_t cut = blen - 1;
            char *c = malloc(cut);
            memcpy(c, body, cut);
            if (prom_parse(c, cut, &d2, err, sizeof err) == 0)
                prom_doc_free(&d2);
            free(c);
        }
    }
    prom_doc_free(&d);
    free(body);
    free(seltext);
    return 0;
}
