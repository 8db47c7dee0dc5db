/* The Prometheus text exposition format (version 0.0.4), read: what node_exporter and an
 * application's /metrics serve, parsed into series (name, labels, value), and selectors
 * ("db_pool_connections{state=\"in_use\"}") matched against them. The monitor
 * (master/monitor.h) scrapes with it; nothing else depends on it.
 *
 * Owns: a prom_doc owns every string and array it holds (prom_doc_free releases them);
 * a prom_sel likewise (prom_sel_free). Pure: any thread, no globals, no state kept
 * between calls.
 *
 * What is read (the format's own rules, https://prometheus.io/docs/instrumenting/
 * exposition_formats/):
 *   # HELP name text            skipped (its text is not kept)
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   # anything else             a comment, skipped
 *   name{label="value",...} value [timestamp]
 * Names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*; label values in
 * double quotes with the escapes \\ \" and \n (any other backslash is an error); a
 * trailing comma in the label list is allowed, as Prometheus allows it. Values: a
 * decimal or exponent number (Go's ParseFloat: strtod here, hex floats refused), NaN,
 * +Inf, -Inf (also Inf). The optional timestamp is an integer in ms (kept, unused by the
 * monitor). Spaces and tabs separate tokens; blank lines are skipped; "\r\n" line ends
 * are accepted. A line the format does not allow fails the whole body with its line
 * number ("line 12: expected '=' after label name"), as Prometheus fails a scrape.
 *
 * Bounds (a scraped body is untrusted; each exceeded one is an error naming it):
 *   PROM_MAX_BODY         4 MiB of text (node_exporter on a large host serves ~300 KiB)
 *   PROM_MAX_SERIES       50,000 samples per body
 *   PROM_MAX_NAME         200 bytes per metric or label name
 *   PROM_MAX_LABELS       32 labels per sample
 *   PROM_MAX_LABEL_VALUE  1,024 bytes per label value (after unescaping)
 *   PROM_MAX_TYPES        10,000 TYPE lines
 *
 * A series' kind: the TYPE of its family. The family of a sample named N is N, or N
 * without a _bucket, _sum, _count, _total or _created suffix when only that has a TYPE.
 * prom_is_counter: TYPE counter, the _sum / _count / _bucket of a histogram or summary
 * (monotonic), or, with no TYPE at all, a name ending in _total. */
#ifndef COMMON_PROMTEXT_H
#define COMMON_PROMTEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_BODY        (4u << 20)
#define PROM_MAX_SERIES      50000
#define PROM_MAX_NAME        200
#define PROM_MAX_LABELS      32
#define PROM_MAX_LABEL_VALUE 1024
#define PROM_MAX_TYPES       10000

typedef enum { PROM_UNTYPED = 0, PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM,
               PROM_SUMMARY } prom_type;

typedef struct prom_label { char *name, *value; } prom_label;

typedef struct prom_series {
    char       *name;
    prom_label *labels;
    int         nlabels;
    double      value;
    bool        has_ts;
    int64_t     ts_ms;
    prom_type   type;           /* its family's TYPE (PROM_UNTYPED when none) */
    bool        counter;        /* prom_is_counter's answer, computed once */
} prom_series;

typedef struct prom_doc {
    prom_series *s;
    int          n, cap;
} prom_doc;

/* Parses text[len] (not NUL-terminated; any bytes) into *doc (zeroed first). 0, or -1
 * with err ("line 3: ...") and *doc empty. */
int  prom_parse(const char *text, size_t len, prom_doc *doc, char *err, size_t errcap);
void prom_doc_free(prom_doc *doc);
/* The value of label name on s, or NULL. */
const char *prom_label_get(const prom_series *s, const char *name);

/* A selector: a metric name with optional label matchers, PromQL's instant-vector
 * subset: name, name{l="v"}, name{l="v",m!="w"}. = matches a label's value exactly,
 * != anything else; a label a series lacks has the value "" (PromQL's rule). Label
 * values take the same escapes as the exposition. At most PROM_MAX_LABELS matchers. */
typedef struct prom_matcher { char *name, *value; bool neg; } prom_matcher;
typedef struct prom_sel {
    char         *name;
    prom_matcher *m;
    int           nm;
} prom_sel;

/* 0, or -1 with err (what is wrong and where, "at offset 12: ..."). */
int  prom_sel_parse(const char *text, prom_sel *sel, char *err, size_t errcap);
void prom_sel_free(prom_sel *sel);
bool prom_sel_match(const prom_sel *sel, const prom_series *s);
/* The sum of the values of every series sel matches (NaN values included: the sum is
 * then NaN); *nmatch gets how many matched (0: the sum is 0 and means "absent"), and
 * *counter whether any matched series is a counter (the monitor then takes a rate).
 * nmatch and counter may be NULL. */
double prom_sel_sum(const prom_sel *sel, const prom_doc *doc, int *nmatch, bool *counter);
#endif
