/* The Prometheus text exposition parser and selectors (contract: common/promtext.h).
 *
 * One pass over the lines: TYPE lines go to a small table (family name -> type), samples
 * to the document; after the pass each sample's family is looked up in the table (a
 * TYPE line may come after its samples in a sloppy exporter: accepted). Every length is
 * checked before it is copied; nothing reads past text + len (the body is not
 * NUL-terminated). */
#include "common/promtext.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct prom_famtype { char *name; prom_type type; int line; } prom_famtype;

typedef struct prom_rd {
    const char *p, *end;        /* the current line: [p, end) */
    int         line;
    char       *err;
    size_t      errcap;
} prom_rd;

__attribute__((format(printf, 2, 3)))
static int prom_fail(prom_rd *r, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->err && r->errcap)
        snprintf(r->err, r->errcap, "line %d: %s", r->line, msg);
    return -1;
}

static bool prom_name_start(unsigned char c, bool metric)
{
    return isalpha(c) || c == '_' || (metric && c == ':');
}

static bool prom_name_char(unsigned char c, bool metric)
{
    return isalnum(c) || c == '_' || (metric && c == ':');
}

static void prom_skip_blank(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

/* A name at *p into a new string; NULL (and *why) when there is none or it is too long. */
static char *prom_name(const char **p, const char *end, bool metric, const char **why)
{
    const char *s = *p;
    if (s >= end || !prom_name_start((unsigned char)*s, metric)) {
        *why = "expected a name";
        return NULL;
    }
    while (*p < end && prom_name_char((unsigned char)**p, metric))
        (*p)++;
    size_t n = (size_t)(*p - s);
    if (n > PROM_MAX_NAME) {
        *why = "name longer than " "200" " bytes";
        return NULL;
    }
    char *out = strndup(s, n);
    if (!out)
        *why = "out of memory";
    return out;
}

/* A double-quoted label value at *p (escapes \\ \" \n) into a new string. */
static char *prom_quoted(const char **p, const char *end, const char **why)
{
    if (*p >= end || **p != '"') {
        *why = "expected '\"' to open a label value";
        return NULL;
    }
    (*p)++;
    char buf[PROM_MAX_LABEL_VALUE + 1];
    size_t n = 0;
    for (;;) {
        if (*p >= end) {
            *why = "label value not closed with '\"'";
            return NULL;
        }
        char c = *(*p)++;
        if (c == '"')
            break;
        if (c == '\\') {
            if (*p >= end) {
                *why = "label value not closed with '\"'";
                return NULL;
            }
            char e = *(*p)++;
            if (e == 'n') c = '\n';
            else if (e == '\\' || e == '"') c = e;
            else {
                *why = "unknown escape in a label value (known: \\\\, \\\" and \\n)";
                return NULL;
            }
        }
        if (n >= PROM_MAX_LABEL_VALUE) {
            *why = "label value longer than 1024 bytes";
            return NULL;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    char *out = strndup(buf, n);
    if (!out)
        *why = "out of memory";
    return out;
}

/* A value token [s, s+n): a number, NaN, +Inf, -Inf, Inf. */
static int prom_value(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!strcasecmp(tmp, "nan")) { *out = NAN; return 0; }
    if (!strcasecmp(tmp, "+inf") || !strcasecmp(tmp, "inf")) { *out = INFINITY; return 0; }
    if (!strcasecmp(tmp, "-inf")) { *out = -INFINITY; return 0; }
    /* strtod alone would take hex floats, "infinity" and "nan(...)": digits only */
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)tmp[i]) || strchr("+-.eE", tmp[i])))
            return -1;
    char *e;
    errno = 0;
    double v = strtod(tmp, &e);
    if (e != tmp + n || e == tmp)
        return -1;
    *out = v;               /* ERANGE: +-HUGE_VAL or 0, as Go's ParseFloat gives +-Inf */
    return 0;
}

static void prom_series_fini(prom_series *s)
{
    free(s->name);
    for (int i = 0; i < s->nlabels; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
    free(s->labels);
}

void prom_doc_free(prom_doc *doc)
{
    if (!doc)
        return;
    for (int i = 0; i < doc->n; i++)
        prom_series_fini(&doc->s[i]);
    free(doc->s);
    memset(doc, 0, sizeof *doc);
}

/* "# TYPE name kind" (the rest of the comment at p, after '#'). */
static int prom_type_line(prom_rd *r, const char *p, prom_famtype **types, int *ntypes,
                          int *captypes)
{
    static const char *const kinds[] = { "untyped", "counter", "gauge", "histogram", "summary" };
    const char *why = NULL;
    prom_skip_blank(&p, r->end);
    char *name = prom_name(&p, r->end, true, &why);
    if (!name)
        return prom_fail(r, "TYPE: %s", why);
    prom_skip_blank(&p, r->end);
    const char *k = p;
    while (p < r->end && !isspace((unsigned char)*p))
        p++;
    size_t kl = (size_t)(p - k);
    int kind = -1;
    for (int i = 0; i < 5; i++)
        if (kl == strlen(kinds[i]) && !strncmp(k, kinds[i], kl))
            kind = i;
    prom_skip_blank(&p, r->end);
    if (kind < 0 || p != r->end) {
        free(name);
        return prom_fail(r, "TYPE: expected counter, gauge, histogram, summary or untyped");
    }
    if (*ntypes >= PROM_MAX_TYPES) {
        free(name);
        return prom_fail(r, "more than %d TYPE lines", PROM_MAX_TYPES);
    }
    if (*ntypes == *captypes) {
        int nc = *captypes ? *captypes * 2 : 64;
        prom_famtype *t = realloc(*types, (size_t)nc * sizeof *t);
        if (!t) {
            free(name);
            return prom_fail(r, "out of memory");
        }
        *types = t;
        *captypes = nc;
    }
    (*types)[(*ntypes)++] = (prom_famtype){ name, (prom_type)kind, r->line };
    return 0;
}

static int prom_sample_line(prom_rd *r, prom_doc *doc)
{
    const char *p = r->p, *why = NULL;
    prom_series s = { 0 };
    if (doc->n >= PROM_MAX_SERIES)
        return prom_fail(r, "more than %d samples", PROM_MAX_SERIES);
    if (!(s.name = prom_name(&p, r->end, true, &why)))
        return prom_fail(r, "%s", why);
    const char *gap = p;            /* the blank before the value must not be empty */
    prom_skip_blank(&p, r->end);
    if (p < r->end && *p == '{') {
        p++;
        for (;;) {
            prom_skip_blank(&p, r->end);
            if (p < r->end && *p == '}') {
                p++;
                break;
            }
            if (s.nlabels >= PROM_MAX_LABELS) {
                prom_series_fini(&s);
                return prom_fail(r, "more than %d labels", PROM_MAX_LABELS);
            }
            if (!s.labels && !(s.labels = calloc(PROM_MAX_LABELS, sizeof *s.labels))) {
                prom_series_fini(&s);
                return prom_fail(r, "out of memory");
            }
            prom_label *l = &s.labels[s.nlabels];
            if (!(l->name = prom_name(&p, r->end, false, &why))) {
                prom_series_fini(&s);
                return prom_fail(r, "label: %s", why);
            }
            s.nlabels++;
            for (int i = 0; i + 1 < s.nlabels; i++)
                if (!strcmp(s.labels[i].name, l->name)) {
                    int rc = prom_fail(r, "label %.64s given twice", l->name);
                    prom_series_fini(&s);
                    return rc;
                }
            prom_skip_blank(&p, r->end);
            if (p >= r->end || *p != '=') {
                prom_series_fini(&s);
                return prom_fail(r, "expected '=' after a label name");
            }
            p++;
            prom_skip_blank(&p, r->end);
            if (!(l->value = prom_quoted(&p, r->end, &why))) {
                prom_series_fini(&s);
                return prom_fail(r, "%s", why);
            }
            prom_skip_blank(&p, r->end);
            if (p < r->end && *p == ',') {
                p++;
                continue;
            }
            if (p < r->end && *p == '}') {
                p++;
                break;
            }
            prom_series_fini(&s);
            return prom_fail(r, "expected ',' or '}' after a label value");
        }
        gap = p;
        prom_skip_blank(&p, r->end);
    }
    if (p == gap || p >= r->end) {
        prom_series_fini(&s);
        return prom_fail(r, "expected a space, then the value");
    }
    const char *v = p;
    while (p < r->end && *p != ' ' && *p != '\t')
        p++;
    if (prom_value(v, (size_t)(p - v), &s.value) != 0) {
        prom_series_fini(&s);
        return prom_fail(r, "expected a number, NaN, +Inf or -Inf as the value");
    }
    prom_skip_blank(&p, r->end);
    if (p < r->end) {
        const char *t = p;
        if (*p == '-' || *p == '+')
            p++;
        while (p < r->end && isdigit((unsigned char)*p))
            p++;
        char tmp[24];
        size_t tl = (size_t)(p - t);
        prom_skip_blank(&p, r->end);
        if (p != r->end || tl == 0 || tl >= sizeof tmp || !isdigit((unsigned char)t[tl - 1])) {
            prom_series_fini(&s);
            return prom_fail(r, "expected a timestamp (whole ms) or the line's end after the value");
        }
        memcpy(tmp, t, tl);
        tmp[tl] = '\0';
        errno = 0;
        long long ts = strtoll(tmp, NULL, 10);
        if (errno) {
            prom_series_fini(&s);
            return prom_fail(r, "timestamp out of range");
        }
        s.has_ts = true;
        s.ts_ms = ts;
    }
    if (doc->n == doc->cap) {
        int nc = doc->cap ? doc->cap * 2 : 256;
        prom_series *ns = realloc(doc->s, (size_t)nc * sizeof *ns);
        if (!ns) {
            prom_series_fini(&s);
            return prom_fail(r, "out of memory");
        }
        doc->s = ns;
        doc->cap = nc;
    }
    doc->s[doc->n++] = s;
    return 0;
}

/* The TYPE table is sorted by name once (prom_types_sort) and searched by halves, so
 * that 50,000 samples against 10,000 TYPE lines cost a few hundred thousand compares,
 * not half a billion. */
static int prom_famtype_cmp(const void *a, const void *b)
{
    const prom_famtype *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->line - y->line;
}

/* Sorts the table; a name typed twice fails at its second TYPE line. */
static int prom_types_sort(prom_rd *r, prom_famtype *types, int ntypes)
{
    if (ntypes > 1)
        qsort(types, (size_t)ntypes, sizeof *types, prom_famtype_cmp);
    for (int i = 1; i < ntypes; i++)
        if (!strcmp(types[i - 1].name, types[i].name)) {
            r->line = types[i].line;
            return prom_fail(r, "second TYPE line for %.64s", types[i].name);
        }
    return 0;
}

/* The entry whose name is name[0..n), or -1. */
static int prom_types_find(const prom_famtype *types, int ntypes, const char *name, size_t n)
{
    int lo = 0, hi = ntypes - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strncmp(types[mid].name, name, n);
        if (c == 0)
            c = types[mid].name[n] != '\0';    /* longer than name: after it */
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* The family's type for a sample name, and whether the sample counts as a counter. */
static void prom_classify(prom_series *s, const prom_famtype *types, int ntypes)
{
    static const char *const sfx[] = { "_bucket", "_sum", "_count", "_total", "_created" };
    size_t n = strlen(s->name);
    int found = prom_types_find(types, ntypes, s->name, n), via = -1;
    for (int k = 0; k < 5 && found < 0; k++) {
        size_t sl = strlen(sfx[k]);
        if (n <= sl || strcmp(s->name + n - sl, sfx[k]))
            continue;
        if ((found = prom_types_find(types, ntypes, s->name, n - sl)) >= 0)
            via = k;
    }
    s->type = found >= 0 ? types[found].type : PROM_UNTYPED;
    if (s->type == PROM_COUNTER)
        s->counter = via != 4;                  /* _created is a time, not a count */
    else if (s->type == PROM_HISTOGRAM || s->type == PROM_SUMMARY)
        s->counter = via >= 0 && via <= 2;      /* _bucket, _sum, _count */
    else if (s->type == PROM_UNTYPED && found < 0)
        s->counter = n > 6 && !strcmp(s->name + n - 6, "_total");
    else
        s->counter = false;
}

int prom_parse(const char *text, size_t len, prom_doc *doc, char *err, size_t errcap)
{
    memset(doc, 0, sizeof *doc);
    prom_rd r = { .err = err, .errcap = errcap };
    if (err && errcap)
        err[0] = '\0';
    if (len > PROM_MAX_BODY) {
        snprintf(err, errcap, "body of %zu bytes is larger than the %u allowed", len,
                 (unsigned)PROM_MAX_BODY);
        return -1;
    }
    prom_famtype *types = NULL;
    int ntypes = 0, captypes = 0, rc = 0;
    const char *p = text, *end = text ? text + len : text;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        r.line++;
        r.p = p;
        r.end = le;
        if (r.end > r.p && r.end[-1] == '\r')
            r.end--;
        for (const char *q = r.p; q < r.end; q++)
            if (*q == '\0') {
                rc = prom_fail(&r, "NUL byte in the text");
                break;
            }
        if (rc)
            break;
        const char *q = r.p;
        prom_skip_blank(&q, r.end);
        if (q == r.end) {
            ;                                   /* blank */
        } else if (*q == '#') {
            q++;
            prom_skip_blank(&q, r.end);
            if (r.end - q >= 4 && !strncmp(q, "TYPE", 4) && (r.end - q == 4 || q[4] == ' ' ||
                                                            q[4] == '\t'))
                rc = prom_type_line(&r, q + 4, &types, &ntypes, &captypes);
            /* HELP and any other comment: skipped */
        } else {
            r.p = q;
            rc = prom_sample_line(&r, doc);
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == 0)
        rc = prom_types_sort(&r, types, ntypes);
    for (int i = 0; rc == 0 && i < doc->n; i++)
        prom_classify(&doc->s[i], types, ntypes);
    for (int i = 0; i < ntypes; i++)
        free(types[i].name);
    free(types);
    if (rc)
        prom_doc_free(doc);
    return rc;
}

const char *prom_label_get(const prom_series *s, const char *name)
{
    for (int i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name))
            return s->labels[i].value;
    return NULL;
}

/* ---- selectors ------------------------------------------------------------------------ */

void prom_sel_free(prom_sel *sel)
{
    if (!sel)
        return;
    free(sel->name);
    for (int i = 0; i < sel->nm; i++) {
        free(sel->m[i].name);
        free(sel->m[i].value);
    }
    free(sel->m);
    memset(sel, 0, sizeof *sel);
}

int prom_sel_parse(const char *text, prom_sel *sel, char *err, size_t errcap)
{
    memset(sel, 0, sizeof *sel);
    const char *p = text ? text : "", *end = p + strlen(p), *why = NULL;
    prom_skip_blank(&p, end);
    #define SEL_FAIL(...) do { char m_[160]; snprintf(m_, sizeof m_, __VA_ARGS__); \
        snprintf(err, errcap, "at offset %d: %s", (int)(p - (text ? text : "")), m_); \
        prom_sel_free(sel); return -1; } while (0)
    if (!(sel->name = prom_name(&p, end, true, &why)))
        SEL_FAIL("%s (a metric name such as http_requests_total)", why);
    prom_skip_blank(&p, end);
    if (p < end && *p == '{') {
        p++;
        if (!(sel->m = calloc(PROM_MAX_LABELS, sizeof *sel->m)))
            SEL_FAIL("out of memory");
        for (;;) {
            prom_skip_blank(&p, end);
            if (p < end && *p == '}') {
                p++;
                break;
            }
            if (sel->nm >= PROM_MAX_LABELS)
                SEL_FAIL("more than %d label matchers", PROM_MAX_LABELS);
            prom_matcher *m = &sel->m[sel->nm];
            if (!(m->name = prom_name(&p, end, false, &why)))
                SEL_FAIL("label: %s", why);
            sel->nm++;
            prom_skip_blank(&p, end);
            if (end - p >= 2 && p[0] == '!' && p[1] == '=') {
                m->neg = true;
                p += 2;
            } else if (p < end && *p == '=' && !(end - p >= 2 && p[1] == '~')) {
                p++;
            } else {
                SEL_FAIL("expected = or != after the label name (regex matchers =~ and "
                         "!~ are not supported)");
            }
            prom_skip_blank(&p, end);
            if (!(m->value = prom_quoted(&p, end, &why)))
                SEL_FAIL("%s", why);
            prom_skip_blank(&p, end);
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            SEL_FAIL("expected ',' or '}' after a label value");
        }
    }
    prom_skip_blank(&p, end);
    if (p != end)
        SEL_FAIL("unexpected text after the selector");
    #undef SEL_FAIL
    return 0;
}

bool prom_sel_match(const prom_sel *sel, const prom_series *s)
{
    if (strcmp(sel->name, s->name))
        return false;
    for (int i = 0; i < sel->nm; i++) {
        const char *v = prom_label_get(s, sel->m[i].name);
        bool eq = !strcmp(v ? v : "", sel->m[i].value);
        if (eq == sel->m[i].neg)
            return false;
    }
    return true;
}

double prom_sel_sum(const prom_sel *sel, const prom_doc *doc, int *nmatch, bool *counter)
{
    double sum = 0;
    int n = 0;
    bool ctr = false;
    for (int i = 0; i < doc->n; i++)
        if (prom_sel_match(sel, &doc->s[i])) {
            sum += doc->s[i].value;
            n++;
            ctr |= doc->s[i].counter;
        }
    if (nmatch)
        *nmatch = n;
    if (counter)
        *counter = ctr;
    return sum;
}
