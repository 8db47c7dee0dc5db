/* Regressions against a baseline: master/regress.h has the method. */
#include "master/regress.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

typedef struct { double v; int side; } ranked;

static int cmp_ranked(const void *x, const void *y)
{
    double a = ((const ranked *)x)->v, b = ((const ranked *)y)->v;
    return a < b ? -1 : a > b;
}

double regress_mwu_p(const double *a, int na, const double *b, int nb, bool greater)
{
    ranked *r = malloc(((size_t)na + (size_t)nb + 1) * sizeof *r);
    if (!r) return 1.0;
    int n = 0, n1 = 0, n2 = 0;
    for (int i = 0; i < na; i++) if (isfinite(a[i])) { r[n].v = a[i]; r[n++].side = 0; n1++; }
    for (int i = 0; i < nb; i++) if (isfinite(b[i])) { r[n].v = b[i]; r[n++].side = 1; n2++; }
    if (!n1 || !n2) {
        free(r);
        return 1.0;
    }
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    double rank_b = 0, ties = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && r[j + 1].v == r[i].v) j++;
        double avg = (i + j) / 2.0 + 1.0;           /* ranks are 1-based */
        double t = j - i + 1;
        ties += t * t * t - t;
        for (int k = i; k <= j; k++) if (r[k].side == 1) rank_b += avg;
        i = j + 1;
    }
    free(r);
    double u = rank_b - n2 * (n2 + 1) / 2.0;        /* U of b: pairs where b > a (ties half) */
    double mu = (double)n1 * n2 / 2.0;
    double var = (double)n1 * n2 / 12.0 * ((n + 1) - ties / ((double)n * (n - 1)));
    if (var <= 0) return 1.0;                       /* every value equal: no evidence */
    double d = greater ? u - mu : mu - u;
    double z = (d - 0.5) / sqrt(var);               /* continuity correction */
    return 0.5 * erfc(z / sqrt(2.0));
}

enum { M_P95, M_RPS, M_ERR, M_N };
static const char *const METRIC[M_N] = { "p95", "rps", "error_rate" };

static double fig(const history_name_fig *f, int m)
{
    return m == M_P95 ? f->p95 : m == M_RPS ? f->rps : f->error_rate;
}

/* The change of a figure in its worse direction beyond the tolerance? change_pct out. */
static bool beyond(int m, double base, double val, double tol, double *change_pct)
{
    *change_pct = base != 0 && isfinite(base) ? (val - base) / base * 100.0 : NAN;
    if (!isfinite(base) || !isfinite(val)) return false;
    if (m == M_P95) return base > 0 && val > base * (1 + tol);
    if (m == M_RPS) return base > 0 && val < base * (1 - tol);
    double lim = base * tol;
    if (lim < REGRESS_ERR_FLOOR) lim = REGRESS_ERR_FLOOR;
    return val - base > lim;
}

static json_t *row(const history_name_fig *f, int m, double b, double v, double pct, double p)
{
    return json_pack("{s:s,s:s,s:s,s:f,s:f,s:o,s:o}", "name", f->name, "method", f->method, "metric",
                     METRIC[m], "base", isfinite(b) ? b : 0.0, "value", isfinite(v) ? v : 0.0,
                     "change_pct", isfinite(pct) ? json_real(pct) : json_null(),
                     "p", isfinite(p) ? json_real(p) : json_null());
}

/* The interval series of a metric without the first and last interval. */
static void series(const history_figures *f, int m, const double **v, int *n)
{
    const double *s = m == M_P95 ? f->iv_p95 : m == M_RPS ? f->iv_rps : f->iv_err;
    *v = f->niv > 2 ? s + 1 : s;
    *n = f->niv > 2 ? f->niv - 2 : 0;
}

char *regress_compare(const history_figures *base, const history_figures *run, const regress_opts *opts,
                      bool *regressed)
{
    double tol[M_N] = { 0.10, 0.10, 0.10 };
    double alpha = 0.01;
    int min_iv = 5;
    if (opts) {
        if (opts->tol_p95 > 0) tol[M_P95] = opts->tol_p95;
        if (opts->tol_rps > 0) tol[M_RPS] = opts->tol_rps;
        if (opts->tol_err > 0) tol[M_ERR] = opts->tol_err;
        if (opts->alpha > 0) alpha = opts->alpha;
        if (opts->min_intervals > 0) min_iv = opts->min_intervals;
    }
    *regressed = false;
    json_t *regs = json_array(), *changes = json_array(), *notes = json_array(), *tests = json_object();
    double p[M_N];
    bool tested[M_N];
    for (int m = 0; m < M_N; m++) {
        const double *a, *b;
        int na, nb;
        series(base, m, &a, &na);
        series(run, m, &b, &nb);
        tested[m] = na >= min_iv && nb >= min_iv;
        p[m] = tested[m] ? regress_mwu_p(a, na, b, nb, m != M_RPS) : NAN;
        json_object_set_new(tests, METRIC[m], tested[m]
                            ? json_pack("{s:f,s:i,s:i}", "p", p[m], "n_base", na, "n_run", nb) : json_null());
    }
    if (!tested[M_P95]) {
        char note[160];
        snprintf(note, sizeof note, "too short to tell: fewer than %d whole intervals in a run (baseline %d, "
                 "run %d): no regression is claimed", min_iv, base->niv > 2 ? base->niv - 2 : 0,
                 run->niv > 2 ? run->niv - 2 : 0);
        json_array_append_new(notes, json_string(note));
    }
    for (int m = 0; m < M_N; m++) {
        double b = fig(&base->total, m), v = fig(&run->total, m), pct;
        if (!beyond(m, b, v, tol[m], &pct)) continue;
        bool sig = tested[m] && p[m] < alpha;
        json_array_append_new(sig ? regs : changes, row(&run->total, m, b, v, pct, p[m]));
        if (sig) *regressed = true;
    }
    for (int i = 0; i < run->nnames; i++) {
        const history_name_fig *rn = &run->names[i];
        const history_name_fig *bn = NULL;
        for (int j = 0; j < base->nnames && !bn; j++)
            if (!strcmp(base->names[j].name, rn->name) && !strcmp(base->names[j].method, rn->method))
                bn = &base->names[j];
        if (!bn) continue;
        for (int m = 0; m < M_N; m++) {
            double b = fig(bn, m), v = fig(rn, m), pct;
            if (!beyond(m, b, v, tol[m], &pct)) continue;
            bool sig = tested[m] && p[m] < alpha;
            json_array_append_new(sig ? regs : changes, row(rn, m, b, v, pct, p[m]));
            if (sig) *regressed = true;
        }
    }
    json_t *o = json_pack("{s:I,s:I,s:b,s:{s:f,s:f,s:f},s:f,s:o,s:o,s:o,s:o}", "baseline", (json_int_t)base->id,
                          "run", (json_int_t)run->id, "regressed", *regressed, "tolerance", "p95",
                          tol[M_P95] * 100, "rps", tol[M_RPS] * 100, "error_rate", tol[M_ERR] * 100, "alpha",
                          alpha, "tests", tests, "regressions", regs, "changes", changes, "notes", notes);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return t;
}
