/* Threshold expressions (contract: common/threshold.h).
 *
 * Decisions the header leaves open, written down here:
 * - A latency needs its unit (us, ms, s, m, h) and error_rate its % (issue 12: a bare
 *   "p95 < 500" or "error_rate < 0.1" was read silently as ms and as a fraction, which a
 *   user coming from elsewhere misreads): a bare number there is an error whose hint
 *   gives the spelled-out forms ("500ms", "0.1%"). k6's p(95) and p(99.9) spell p95 and
 *   p999; rps may end in "/s".
 * - An unknown metric's hint lists every metric at the smallest distance (a swap of
 *   neighbours counting one edit, at most 2 edits): "did you mean p50, p95 or p99?".
 * - A word that is no metric but is followed by another word is read as a misspelt ws
 *   figure ("feed: mesage p95 < 1s"), or a misspelt histogram word ("servce p95") when
 *   one of service, iteration, lag is the nearest.
 * - The open model's words (issue 11): service and iteration take a name (requests of
 *   that name; a profile for iteration), lag, dropped and rate take none; whether the
 *   name exists and whether the scenario is open is the scenario's check (scenario.c).
 *   rate takes a plain number per second or one with /s, /m or /h ("rate >= 3000/m"). */
#include "common/threshold.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/nearest.h"

/* The first name of a metric is the one scenario_metric_name gives (summary.json's keys). */
static const struct { const char *name; sc_metric m; } sc_metrics[] = {
    { "p50", TH_P50 }, { "p90", TH_P90 }, { "p95", TH_P95 }, { "p99", TH_P99 },
    { "p999", TH_P999 }, { "min", TH_MIN }, { "max", TH_MAX }, { "mean", TH_MEAN },
    { "avg", TH_MEAN }, { "error_rate", TH_ERROR_RATE }, { "rps", TH_RPS },
    { "requests", TH_REQUESTS }, { "failures", TH_FAILURES },
    { "out_of_order", TH_OUT_OF_ORDER }, { "dropped", TH_DROPPED }, { "rate", TH_RATE },
    { "monitor", TH_MONITOR },
};

/* The histogram words before a latency metric (issue 11): "service p95", "iteration
 * p95", "lag p99"; none: latency (from the intended start). */
static const struct { const char *name; sc_th_of of; } sc_ofs[] = {
    { "service", TH_OF_SERVICE }, { "iteration", TH_OF_ITERATION }, { "lag", TH_OF_LAG },
};
#define SC_NOFS (sizeof sc_ofs / sizeof sc_ofs[0])

/* The kind words of WebSocket thresholds ("feed: message p95 < 100ms"). */
static const struct { const char *name; sc_ws_metric ws; } sc_ws_figures[] = {
    { "message", TH_WS_MESSAGE }, { "connect", TH_WS_CONNECT }, { "fanout", TH_WS_FANOUT },
    { "reconnect", TH_WS_RECONNECT }, { "ping", TH_WS_PING },
};
#define SC_NFIGURES (sizeof sc_ws_figures / sizeof sc_ws_figures[0])
#define SC_NMETRICS (sizeof sc_metrics / sizeof sc_metrics[0])

const char *scenario_metric_name(sc_metric m)
{
    for (size_t i = 0; i < SC_NMETRICS; i++)
        if (sc_metrics[i].m == m)
            return sc_metrics[i].name;
    return "?";
}

/* Index of metric word w in sc_metrics, or -1. */
static int sc_metric_index(const char *w)
{
    for (size_t i = 0; i < SC_NMETRICS; i++)
        if (!strcmp(w, sc_metrics[i].name))
            return (int)i;
    return -1;
}

/* Reads the word at *pp (letters, digits, _ ( ) .), skipping spaces before it, into
 * tmp[cap] with k6's p(95) and p(99.9) spelled p95 and p999. *start gets where it was
 * written; *pp moves past it. Returns its length as written (0: none; >= cap: too long,
 * tmp not filled). */
static size_t sc_th_word(const char **pp, const char **start, char *tmp, size_t cap)
{
    const char *p = *pp;
    while (isspace((unsigned char)*p)) p++;
    const char *ms = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '(' || *p == ')' || *p == '.')
        p++;
    size_t ml = (size_t)(p - ms), tl = 0;
    *pp = p;
    *start = ms;
    if (ml == 0 || ml >= cap)
        return ml;
    for (size_t i = 0; i < ml; i++)
        if (!(ms[0] == 'p' && (ms[i] == '(' || ms[i] == ')' || ms[i] == '.')))
            tmp[tl++] = ms[i];
    tmp[tl] = '\0';
    return ml;
}

static bool sc_latency_metric(sc_metric m)
{
    return m <= TH_MEAN;
}

/* "[name:] [figure] metric op value". The name is everything before the last ':'
 * (request names may contain spaces). A ws figure word (message, connect, fanout,
 * reconnect, ping) before the metric makes it a ws threshold; out_of_order is a ws
 * metric of its own. Latencies take us/ms/s/m/h, error_rate a percentage; a bare number
 * is an error for both; counts take plain numbers. */
static const char *const sc_aggs[] = { "auto", "min", "mean", "max", "last", "growth" };

const char *scenario_mon_agg_name(sc_mon_agg a)
{
    return (unsigned)a < sizeof sc_aggs / sizeof sc_aggs[0] ? sc_aggs[a] : "?";
}

sc_mon_agg scenario_mon_agg(const sc_threshold *th)
{
    if (th->agg != TH_AGG_AUTO)
        return th->agg;
    return th->op == OP_LT || th->op == OP_LE ? TH_AGG_MAX : TH_AGG_MIN;
}

/* "monitor TARGET.METRIC [AGG] op VALUE[%]" (common/threshold.h). p is past "monitor". */
static int sc_parse_monitor(const char *expr, const char *p, sc_threshold *out, char *err,
                            size_t errcap, char *hint, size_t hintcap)
{
    static const char eg[] = "write \"monitor app-host.cpu < 80%\" or \"monitor app.db_pool "
                             "max < 95\" (aggregations: min, mean, max, last, growth)";
    while (isspace((unsigned char)*p)) p++;
    const char *t = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '-') p++;
    size_t tl = (size_t)(p - t);
    if (tl == 0 || *p != '.' || tl > 64) {
        snprintf(err, errcap, "expected TARGET.METRIC after 'monitor' (a monitor target's "
                 "name, a dot, one of its metrics), found '%.20s'", t);
        snprintf(hint, hintcap, "%s", eg);
        return -1;
    }
    const char *m = ++p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    size_t ml = (size_t)(p - m);
    if (ml == 0 || ml > 64 || !(isspace((unsigned char)*p) || strchr("<>=!", *p))) {
        snprintf(err, errcap, "expected a metric name (letters, digits, _) after '%.*s.', "
                 "found '%.20s'", (int)tl, t, m);
        snprintf(hint, hintcap, "%s", eg);
        return -1;
    }
    while (isspace((unsigned char)*p)) p++;
    sc_mon_agg agg = TH_AGG_AUTO;
    if (isalpha((unsigned char)*p)) {
        const char *a = p;
        while (isalnum((unsigned char)*p) || *p == '_') p++;
        size_t al = (size_t)(p - a);
        char w[16];
        if (al < sizeof w) {
            memcpy(w, a, al);
            w[al] = '\0';
            if (!strcmp(w, "avg"))
                agg = TH_AGG_MEAN;
            for (size_t i = 1; i < sizeof sc_aggs / sizeof sc_aggs[0]; i++)
                if (!strcmp(w, sc_aggs[i]))
                    agg = (sc_mon_agg)i;
        }
        if (agg == TH_AGG_AUTO) {
            const char *near = al < sizeof w ? nearest_name(w, sc_aggs + 1, 5) : NULL;
            snprintf(err, errcap, "unknown aggregation '%.*s' (known: min, mean, max, last, "
                     "growth)", (int)(al > 20 ? 20 : al), a);
            if (near)
                snprintf(hint, hintcap, "did you mean '%s'?", near);
            else
                snprintf(hint, hintcap, "%s", eg);
            return -1;
        }
        while (isspace((unsigned char)*p)) p++;
    }
    sc_op op;
    if (p[0] == '<' && p[1] == '=') op = OP_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=') op = OP_GE, p += 2;
    else if (p[0] == '<') op = OP_LT, p++;
    else if (p[0] == '>') op = OP_GT, p++;
    else {
        snprintf(err, errcap, "expected a comparison (<, <=, > or >=) after %.*s.%.*s, found "
                 "'%.20s'", (int)tl, t, (int)ml, m, p);
        snprintf(hint, hintcap, "%s", eg);
        return -1;
    }
    while (isspace((unsigned char)*p)) p++;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    bool neg = *p == '-';
    const char *digits = neg ? p + 1 : p;
    if (end == p || errno || !isfinite(v) || fabs(v) > 1e15 || *p == '+' ||
        !isdigit((unsigned char)(*digits == '.' ? digits[1] : *digits))) {
        snprintf(err, errcap, "expected a number after the comparison, found '%.20s'", p);
        snprintf(hint, hintcap, "%s", eg);
        return -1;
    }
    p = end;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '%') {
        p++;
        while (isspace((unsigned char)*p)) p++;
    }
    if (*p) {
        snprintf(err, errcap, "unexpected '%.20s' after the number (a monitor threshold takes "
                 "a plain number, or one with %%)", p);
        snprintf(hint, hintcap, "%s", eg);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->expr = strdup(expr);
    out->mon_target = strndup(t, tl);
    out->mon_metric = strndup(m, ml);
    if (!out->expr || !out->mon_target || !out->mon_metric) {
        free(out->expr);
        free(out->mon_target);
        free(out->mon_metric);
        memset(out, 0, sizeof *out);
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    out->metric = TH_MONITOR;
    out->op = op;
    out->value = v;
    out->agg = agg;
    return 0;
}

int scenario_parse_threshold(const char *expr, sc_threshold *out, char *err, size_t errcap,
                             char *hint, size_t hintcap)
{
    char tmp[64];
    if (hint && hintcap)
        hint[0] = '\0';
    if (!expr || !*expr) {
        snprintf(err, errcap, "empty threshold");
        return -1;
    }
    /* "monitor T.M ...": a request named "monitor" is written "monitor: ..." (a ':') */
    {
        const char *q = expr;
        while (isspace((unsigned char)*q)) q++;
        if (!strncmp(q, "monitor", 7) && isspace((unsigned char)q[7]) && !strchr(expr, ':'))
            return sc_parse_monitor(expr, q + 7, out, err, errcap, hint, hintcap);
    }
    const char *colon = strrchr(expr, ':'), *p = colon ? colon + 1 : expr;
    char *name = NULL;
    if (colon) {
        const char *a = expr, *b = colon;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (a == b) {
            snprintf(err, errcap, "nothing before ':'; expected a request name");
            snprintf(hint, hintcap, "write \"login: p99 < 1s\", or leave out the ':' for all requests");
            return -1;
        }
        name = strndup(a, (size_t)(b - a));
    }
    const char *ms;
    size_t ml = sc_th_word(&p, &ms, tmp, sizeof tmp);
    if (ml == 0 || ml >= sizeof tmp) {
        snprintf(err, errcap, "expected a metric (p50, p90, p95, p99, p999, min, max, avg, "
                 "error_rate, rps, requests, failures, out_of_order, dropped, rate; service, "
                 "iteration or lag before a latency) at '%.20s'", ms);
        free(name);
        return -1;
    }
    int mi = sc_metric_index(tmp), fi = -1, oi = -1;
    for (size_t i = 0; i < SC_NOFS; i++)
        if (!strcmp(tmp, sc_ofs[i].name))
            oi = (int)i;
    if (oi >= 0) {
        const char *ofw = sc_ofs[oi].name;
        if (sc_ofs[oi].of == TH_OF_LAG && name) {
            snprintf(err, errcap, "lag is about the whole schedule (actual start minus "
                     "intended); it takes no name before a ':'");
            snprintf(hint, hintcap, "write \"lag p99 < 10ms\"");
            free(name);
            return -1;
        }
        ml = sc_th_word(&p, &ms, tmp, sizeof tmp);
        mi = ml && ml < sizeof tmp ? sc_metric_index(tmp) : -1;
        if (mi < 0 || !sc_latency_metric(sc_metrics[mi].m)) {
            snprintf(err, errcap, "expected a latency metric (p50, p90, p95, p99, p999, min, "
                     "max, avg) after '%s', found '%.20s'", ofw, ms);
            snprintf(hint, hintcap, "write \"%s%s%s %s < %s\"", name ? name : "",
                     name ? ": " : "", ofw, sc_ofs[oi].of == TH_OF_LAG ? "p99" : "p95",
                     sc_ofs[oi].of == TH_OF_LAG ? "10ms" : sc_ofs[oi].of == TH_OF_ITERATION
                     ? "2s" : "300ms");
            free(name);
            return -1;
        }
    }
    for (size_t i = 0; i < SC_NFIGURES && oi < 0; i++)
        if (!strcmp(tmp, sc_ws_figures[i].name))
            fi = (int)i;
    /* "name: FIGURE metric ...": a word that is no metric, followed by another word, is
     * meant as a ws figure */
    const char *q = p;
    while (isspace((unsigned char)*q)) q++;
    if (fi < 0 && mi < 0 && q > p && (isalpha((unsigned char)*q) || *q == '_')) {
        const char *figs[SC_NFIGURES + SC_NOFS];
        for (size_t i = 0; i < SC_NFIGURES; i++)
            figs[i] = sc_ws_figures[i].name;
        for (size_t i = 0; i < SC_NOFS; i++)
            figs[SC_NFIGURES + i] = sc_ofs[i].name;
        const char *near = nearest_name(tmp, figs, SC_NFIGURES + SC_NOFS);
        bool of_word = false;
        for (size_t i = 0; near && i < SC_NOFS; i++)
            of_word |= near == sc_ofs[i].name;
        if (near)
            snprintf(hint, hintcap, "did you mean '%s'?", near);
        else
            snprintf(hint, hintcap, "a ws threshold reads \"feed: message p95 < 100ms\"");
        if (of_word)
            snprintf(err, errcap, "unknown figure '%.*s' (known: service, iteration, lag; for "
                     "ws connections message, connect, fanout, reconnect, ping)", (int)ml, ms);
        else
            snprintf(err, errcap, "unknown ws figure '%.*s' (known: message, connect, fanout, "
                     "reconnect, ping)", (int)ml, ms);
        free(name);
        return -1;
    }
    sc_ws_metric ws = TH_WS_NONE;
    if (fi >= 0) {
        ws = sc_ws_figures[fi].ws;
        if (!name) {
            snprintf(err, errcap, "'%s' is a ws figure: it needs the ws connection's name "
                     "before a ':'", sc_ws_figures[fi].name);
            snprintf(hint, hintcap, "write \"feed: %s p95 < 100ms\" (feed: the name of a ws "
                     "connect step)", sc_ws_figures[fi].name);
            return -1;
        }
        ml = sc_th_word(&p, &ms, tmp, sizeof tmp);
        if (ml == 0 || ml >= sizeof tmp) {
            snprintf(err, errcap, "expected a metric (p50, p90, p95, p99, p999, min, max, avg, "
                     "error_rate, rps, requests, failures) after '%s', found '%.20s'",
                     sc_ws_figures[fi].name, ms);
            snprintf(hint, hintcap, "write \"%s: %s p95 < 100ms\"", name, sc_ws_figures[fi].name);
            free(name);
            return -1;
        }
        mi = sc_metric_index(tmp);
    }
    if (mi < 0) {
        size_t best = 3;
        for (size_t i = 0; i < SC_NMETRICS; i++) {
            size_t d = nearest_distance(tmp, sc_metrics[i].name, true, 2);
            if (d < best)
                best = d;
        }
        /* every metric at the smallest distance: "did you mean p50, p95 or p99?" */
        const char *near[SC_NMETRICS];
        size_t nnear = 0, used = 0;
        for (size_t i = 0; i < SC_NMETRICS && best < 3; i++)
            if (nearest_distance(tmp, sc_metrics[i].name, true, 2) == best)
                near[nnear++] = sc_metrics[i].name;
        for (size_t i = 0; i < nnear && hint && used < hintcap; i++)
            used += (size_t)snprintf(hint + used, hintcap - used, "%s%s%s",
                                     i == 0 ? "did you mean " : i + 1 == nnear ? " or " : ", ",
                                     near[i], i + 1 == nnear ? "?" : "");
        snprintf(err, errcap, "unknown metric '%.*s' (known: p50, p90, p95, p99, p999, min, max, "
                 "avg, mean, error_rate, rps, requests, failures, out_of_order, dropped, rate; "
                 "service, iteration or lag before a latency)", (int)ml, ms);
        free(name);
        return -1;
    }
    sc_metric m = sc_metrics[mi].m;
    if (m == TH_MONITOR) {
        snprintf(err, errcap, "a monitor threshold names a monitor target and one of its "
                 "metrics, with no ':'");
        snprintf(hint, hintcap, "write \"monitor app-host.cpu < 80%%\"");
        free(name);
        return -1;
    }
    if (m == TH_OUT_OF_ORDER && (ws != TH_WS_NONE || !name)) {
        if (ws != TH_WS_NONE) {
            snprintf(err, errcap, "out_of_order takes no ws figure word ('%s')",
                     sc_ws_figures[fi].name);
            snprintf(hint, hintcap, "write \"%s: out_of_order < 1\"", name);
        } else {
            snprintf(err, errcap, "out_of_order needs the ws connection's name before a ':'");
            snprintf(hint, hintcap, "write \"feed: out_of_order < 1\" (feed: the name of a ws "
                     "connect step with a sequence: path)");
        }
        free(name);
        return -1;
    }
    if ((m == TH_DROPPED || m == TH_RATE) && (name || ws != TH_WS_NONE)) {
        snprintf(err, errcap, "%s is about the whole run's schedule; it takes no name before "
                 "a ':'", sc_metrics[mi].name);
        snprintf(hint, hintcap, "write \"%s\"", m == TH_DROPPED ? "dropped < 1" : "rate >= 48");
        free(name);
        return -1;
    }
    while (isspace((unsigned char)*p)) p++;
    sc_op op;
    if (p[0] == '<' && p[1] == '=') op = OP_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=') op = OP_GE, p += 2;
    else if (p[0] == '<') op = OP_LT, p++;
    else if (p[0] == '>') op = OP_GT, p++;
    else {
        const char *o = p;
        while (*p && strchr("=!<>", *p)) p++;
        if (p > o)
            snprintf(err, errcap, "unsupported comparison '%.*s' after %s (expected <, <=, > or >=)",
                     (int)(p - o), o, sc_metrics[mi].name);
        else
            snprintf(err, errcap, "expected a comparison (<, <=, > or >=) after %s, found '%.20s'",
                     sc_metrics[mi].name, p);
        snprintf(hint, hintcap, "a threshold states what must hold, e.g. \"%s < 500ms\"",
                 sc_metrics[mi].name);
        free(name);
        return -1;
    }
    while (isspace((unsigned char)*p)) p++;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || !(v >= 0) || v > 1e15 || *p == '-' || *p == '+' ||
        !isdigit((unsigned char)(*p == '.' ? p[1] : *p))) {
        snprintf(err, errcap, "expected a number that is 0 or more after the comparison, found '%.20s'", p);
        free(name);
        return -1;
    }
    const char *u = end;
    while (isspace((unsigned char)*u)) u++;
    const char *ue = u + strlen(u);
    while (ue > u && isspace((unsigned char)ue[-1])) ue--;
    size_t ul = (size_t)(ue - u);
    #define SC_UNIT(s) (ul == strlen(s) && !strncmp(u, s, ul))
    if (ul == 0 && (sc_latency_metric(m) || m == TH_ERROR_RATE)) {
        /* the number as written, for the hint */
        int nl = (int)(end - p);
        if (m == TH_ERROR_RATE) {
            snprintf(err, errcap, "error_rate needs a %% after %.*s: a bare number reads as "
                     "a fraction or a percentage alike", nl, p);
            snprintf(hint, hintcap, "write %.*s%% for a percentage (or %g%% for the fraction "
                     "%.*s)", nl, p, v * 100.0, nl, p);
        } else {
            snprintf(err, errcap, "%s needs a unit after %.*s (us, ms, s, m or h)",
                     sc_metrics[mi].name, nl, p);
            snprintf(hint, hintcap, "write %.*sms for milliseconds (or %.*ss for seconds)",
                     nl, p, nl, p);
        }
        free(name);
        return -1;
    }
    if (sc_latency_metric(m)) {
        if (SC_UNIT("ms")) ;
        else if (SC_UNIT("us")) v /= 1000.0;
        else if (SC_UNIT("s")) v *= 1000.0;
        else if (SC_UNIT("m")) v *= 60000.0;
        else if (SC_UNIT("h")) v *= 3600000.0;
        else {
            snprintf(err, errcap, "unknown unit '%.*s' for a latency (expected us, ms, s or m)",
                     (int)ul, u);
            free(name);
            return -1;
        }
    } else if (m == TH_ERROR_RATE) {
        if (SC_UNIT("%")) {
            v /= 100.0;
        } else {
            snprintf(err, errcap, "unknown unit '%.*s' for error_rate (expected a percentage "
                     "such as 0.1%%)", (int)ul, u);
            free(name);
            return -1;
        }
        if (v > 1.0) {
            snprintf(err, errcap, "error_rate %g%% is more than 100%%", v * 100.0);
            free(name);
            return -1;
        }
    } else if (m == TH_RATE && ul) {
        if (SC_UNIT("/s")) ;
        else if (SC_UNIT("/m")) v /= 60.0;
        else if (SC_UNIT("/h")) v /= 3600.0;
        else {
            snprintf(err, errcap, "unknown unit '%.*s' for rate (expected a number per second, "
                     "or /s, /m or /h after it)", (int)ul, u);
            free(name);
            return -1;
        }
    } else if (ul && !(m == TH_RPS && SC_UNIT("/s"))) {
        snprintf(err, errcap, "%s is a plain number; unexpected '%.*s' after it",
                 sc_metrics[mi].name, (int)ul, u);
        free(name);
        return -1;
    }
    #undef SC_UNIT
    char *copy = strdup(expr);
    if (!copy) {
        snprintf(err, errcap, "out of memory");
        free(name);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->expr = copy;
    out->name = name;
    out->metric = m;
    out->ws = ws;
    out->of = oi >= 0 ? sc_ofs[oi].of : TH_OF_LATENCY;
    out->op = op;
    out->value = v;
    return 0;
}
