/* The scenario's `monitor:` section (the format: common/scenario_types.h sc_monitor),
 * and the check of monitor thresholds against it. Part of the scenario parser (context
 * and conventions: common/scenario_int.h): one parse on one thread; the first error wins
 * and points at its node; what was stored before a failure is freed with the scenario.
 *
 * Decisions written down here:
 * - interval is 1s .. 1h (a scrape more often than each second would load the target
 *   for little; less often than hourly leaves a run with too few samples).
 * - A URL must start with http:// or https:// and hold no template ({{): the master
 *   fetches it as written, and whether its host is allowed (--allow-monitor) is
 *   checked before the run starts (master/monitor.h).
 * - Target names are words and unique; an alias is a word of letters, digits and _
 *   (it is written after the dot of a threshold); "up" is no alias (it is the scrape's
 *   own success figure). Each selector is parsed here, so a bad one fails validate. */
#include "common/scenario.h"
#include "common/scenario_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/promtext.h"

static const sc_key sc_monitor_keys[] = {
    { "interval", SC_K_DURATION, offsetof(sc_monitor, interval_ms), 1, 0, "monitor.interval" },
    { "targets", SC_K_OWN },
};

static const sc_key sc_mon_target_keys[] = {
    { "name", SC_K_OWN }, { "url", SC_K_OWN }, { "metrics", SC_K_OWN },
};

static bool sc_alias_ok(const char *s)
{
    if (strlen(s) > 64)
        return false;
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static int sc_mon_metrics(sc_ctx *c, const yaml_node_t *n, sc_mon_target *t)
{
    char fb[80], err[256];
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "the target's metrics (alias: selector)"))
        return -1;
    int nm = SC_NPAIRS(n);
    if (nm > SC_MON_MAX_METRICS)
        return sc_fail(c, n, "keep the figures that matter to the run's verdict",
                       "a monitor target has at most %d metrics, found %d", SC_MON_MAX_METRICS, nm);
    if (nm && !(t->metrics = calloc((size_t)nm, sizeof *t->metrics)))
        return sc_fail(c, n, NULL, "out of memory");
    SC_FOREACH_PAIR(p, n) {
        yaml_node_t *k = sc_node(c, p->key), *v = sc_node(c, p->value);
        if (sc_tick(c, k) || sc_tick(c, v))
            return -1;
        if (!sc_is_scalar(k) || !sc_alias_ok(sc_sval(k)) || strlen(sc_sval(k)) > 64)
            return sc_fail(c, k, "for example: db_pool_in_use: 'db_pool_connections{state=\"in_use\"}'",
                           "a metric alias is a word of letters, digits and _ (at most 64), "
                           "found %s", sc_found(k, fb, sizeof fb));
        if (!strcmp(sc_sval(k), "up"))
            return sc_fail(c, k, "choose another alias", "'up' is the scrape's own figure "
                           "(1 when the scrape worked, 0 when it failed)");
        for (int i = 0; i < t->nmetrics; i++)
            if (!strcmp(t->metrics[i].alias, sc_sval(k)))
                return sc_fail(c, k, "remove one of them", "metric alias '%s' appears twice",
                               sc_sval(k));
        if (!sc_is_scalar(v) || sc_is_null(v))
            return sc_fail(c, v, "for example: requests: http_requests_total",
                           "expected a selector (metric name, optional {label=\"value\"}) for "
                           "'%s', found %s", sc_sval(k), sc_found(v, fb, sizeof fb));
        prom_sel sel;
        if (prom_sel_parse(sc_sval(v), &sel, err, sizeof err) != 0)
            return sc_fail(c, v, "a selector is name or name{label=\"value\",other!=\"x\"}",
                           "bad selector for '%s': %s", sc_sval(k), err);
        prom_sel_free(&sel);
        sc_mon_metric *m = &t->metrics[t->nmetrics];
        if (!(m->alias = strdup(sc_sval(k))) || !(m->selector = strdup(sc_sval(v)))) {
            free(m->alias);
            m->alias = NULL;
            return sc_fail(c, v, NULL, "out of memory");
        }
        t->nmetrics++;
    }
    return 0;
}

static int sc_mon_target_read(sc_ctx *c, const yaml_node_t *n, sc_monitor *mon)
{
    const sc_key *k = sc_mon_target_keys;
    size_t nk = SC_NKEYS(sc_mon_target_keys);
    char fb[80];
    if (sc_want_map(c, n, "a monitor target") ||
        sc_check_keys(c, n, "a monitor target", k, nk))
        return -1;
    sc_mon_target *t = &mon->targets[mon->ntargets++];
    t->line = (int)n->start_mark.line + 1;
    t->col = (int)n->start_mark.column + 1;
    yaml_node_t *nm = sc_need(c, n, "name", "a monitor target", "add name: app-host");
    if (!nm || sc_text(c, nm, "the monitor target's name", &t->name))
        return -1;
    if (!sc_is_ident(t->name) || strlen(t->name) > 64)
        return sc_fail(c, nm, "for example: app-host", "a monitor target's name is a word "
                       "(letters, digits, _ and -; at most 64), found %s",
                       sc_found(nm, fb, sizeof fb));
    for (int i = 0; i + 1 < mon->ntargets; i++)
        if (!strcmp(mon->targets[i].name, t->name))
            return sc_fail(c, nm, "give each target its own name", "monitor target '%s' "
                           "appears twice (first at line %d)", t->name, mon->targets[i].line);
    yaml_node_t *u = sc_need(c, n, "url", "a monitor target",
                             "add url: http://127.0.0.1:9100/metrics");
    if (!u || sc_text(c, u, "the monitor target's url", &t->url))
        return -1;
    if (strncmp(t->url, "http://", 7) && strncmp(t->url, "https://", 8))
        return sc_fail(c, u, "for example: http://127.0.0.1:9100/metrics",
                       "a monitor url starts with http:// or https://, found %s",
                       sc_found(u, fb, sizeof fb));
    if (strstr(t->url, "{{"))
        return sc_fail(c, u, "write the address out (env() is not read here)",
                       "a monitor url is fetched as written; it cannot hold a template");
    if (strlen(t->url) > 1024)
        return sc_fail(c, u, NULL, "a monitor url has at most 1024 characters");
    for (const char *s = t->url; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return sc_fail(c, u, "percent-encode it (%%20)", "a monitor url cannot hold "
                           "spaces or control characters");
    yaml_node_t *m = sc_get(c, n, "metrics", NULL);
    if (m && sc_mon_metrics(c, m, t))
        return -1;
    return 0;
}

int sc_monitor_read(sc_ctx *c, const yaml_node_t *n)
{
    sc_monitor *mon = &c->sc->monitor;
    const sc_key *k = sc_monitor_keys;
    size_t nk = SC_NKEYS(sc_monitor_keys);
    mon->interval_ms = SC_MON_DEFAULT_INTERVAL_MS;
    if (sc_is_null(n))
        return 0;
    if (sc_want_map(c, n, "'monitor'") || sc_check_keys(c, n, "monitor", k, nk) ||
        sc_read(c, n, "monitor", k, nk, "interval", mon))
        return -1;
    yaml_node_t *iv = sc_get(c, n, "interval", NULL);
    if (iv && (mon->interval_ms < 1000 || mon->interval_ms > 3600000))
        return sc_fail(c, iv, "for example: interval: 5s", "monitor.interval must be from 1s "
                       "to 1h, found %s", sc_sval(iv));
    const char *eg = "for example:\nmonitor:\n  targets:\n    - name: app-host\n"
                     "      url: http://127.0.0.1:9100/metrics";
    yaml_node_t *ts = sc_need(c, n, "targets", "monitor", eg);
    if (!ts || sc_want_list(c, ts, "monitor.targets", eg))
        return -1;
    int nt = SC_NITEMS(ts);
    if (nt > SC_MON_MAX_TARGETS)
        return sc_fail(c, ts, "run a Prometheus server for more", "monitor.targets holds at "
                       "most %d targets, found %d", SC_MON_MAX_TARGETS, nt);
    if (!(mon->targets = calloc((size_t)nt, sizeof *mon->targets)))
        return sc_fail(c, ts, NULL, "out of memory");
    for (int i = 0; i < nt; i++) {
        yaml_node_t *t = sc_node(c, ts->data.sequence.items.start[i]);
        if (sc_tick(c, t) || sc_mon_target_read(c, t, mon))
            return -1;
    }
    return 0;
}

void sc_monitor_fini(sc_monitor *m)
{
    for (int i = 0; i < m->ntargets; i++) {
        free(m->targets[i].name);
        free(m->targets[i].url);
        for (int j = 0; j < m->targets[i].nmetrics; j++) {
            free(m->targets[i].metrics[j].alias);
            free(m->targets[i].metrics[j].selector);
        }
        free(m->targets[i].metrics);
    }
    free(m->targets);
    memset(m, 0, sizeof *m);
}

int sc_monitor_check_threshold(sc_ctx *c, const yaml_node_t *t, const sc_threshold *th)
{
    static const char *const derived[] = SC_MON_DERIVED;
    const sc_monitor *mon = &c->sc->monitor;
    char hint[256];
    if (mon->ntargets == 0)
        return sc_fail(c, t, "add a monitor: section with the target (see the README's "
                       "\"Watching the system under test\")", "threshold \"%s\" is about "
                       "monitor target '%s', but the scenario has no monitor section",
                       th->expr, th->mon_target);
    const sc_mon_target *tg = NULL;
    const char *names[SC_MON_MAX_TARGETS];
    for (int i = 0; i < mon->ntargets; i++) {
        names[i] = mon->targets[i].name;
        if (!strcmp(names[i], th->mon_target))
            tg = &mon->targets[i];
    }
    if (!tg)
        return sc_fail(c, t, sc_did_you_mean(hint, sizeof hint, th->mon_target, names,
                                             (size_t)mon->ntargets, "name one of monitor.targets"),
                       "threshold \"%s\" is about monitor target '%s', but monitor.targets "
                       "has no target of that name", th->expr, th->mon_target);
    const char *mets[SC_MON_MAX_METRICS + SC_MON_NDERIVED];
    size_t nm = 0;
    for (int i = 0; i < tg->nmetrics; i++)
        mets[nm++] = tg->metrics[i].alias;
    for (int i = 0; i < SC_MON_NDERIVED; i++)
        mets[nm++] = derived[i];
    for (size_t i = 0; i < nm; i++)
        if (!strcmp(mets[i], th->mon_metric))
            return 0;
    return sc_fail(c, t, sc_did_you_mean(hint, sizeof hint, th->mon_metric, mets, nm,
                                         "name an alias of the target's metrics: or a derived "
                                         "metric (cpu, memory, load, network_rx, network_tx, "
                                         "disk_read, disk_write, up)"),
                   "threshold \"%s\": monitor target '%s' has no metric '%s' (its aliases, "
                   "or cpu, memory, load, network_rx, network_tx, disk_read, disk_write, up)",
                   th->expr, th->mon_target, th->mon_metric);
}
