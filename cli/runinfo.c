/* What the CLI says about a run before it starts: see cli/runinfo.h. */
#include "cli/runinfo.h"
#include <math.h>
#include <string.h>
#include "common/loadshape.h"
#include "common/units.h"

int runinfo_warnings(FILE *f, const scenario *sc)
{
    if (!sc) return 0;
    for (int i = 0; i < sc->nwarnings; i++) {
        char buf[2048];
        sc_warning_format(sc, &sc->warnings[i], buf, sizeof buf);
        fputs(buf, f);
        if (buf[0] && buf[strlen(buf) - 1] != '\n') fputc('\n', f);
    }
    return sc->nwarnings;
}

void runinfo_load(const scenario *sc, char *buf, size_t cap)
{
    char d[32];
    units_format_ms(scenario_duration_ms(sc), d, sizeof d);
    if (sc->model != SC_MODEL_OPEN) {
        snprintf(buf, cap, "peak %u users, %s", scenario_peak_users(sc), d);
        return;
    }
    double planned = loadshape_area(sc->stages, sc->nstages,
                                    (double)scenario_duration_ms(sc) * 1000.0);
    snprintf(buf, cap, "open model: rate up to %g/s, %.0f arrivals planned, pool of %u users, "
             "backlog %u, %s arrivals, %s", loadshape_peak_rate(sc->stages, sc->nstages),
             ceil(planned), sc->max_users, sc->max_backlog,
             sc->arrivals == SC_ARRIVALS_POISSON ? "poisson" : "uniform", d);
}

/* Decision: the note names the duration as units_format_ms writes it (the same text as
 * the load line), not as typed, so "-t 300s" reads "-t 5m". -t equal to the stages'
 * length changes nothing and says nothing. */
bool runinfo_duration_note(const scenario *sc, uint32_t users, double rate, double arrival_rate,
                           uint64_t duration_ms, char *buf, size_t cap)
{
    if (cap) buf[0] = '\0';
    if (!sc || !duration_ms) return false;
    bool open = sc->model == SC_MODEL_OPEN;
    /* the stages are replaced, not kept (common/scenario.h scenario_override_load / _rate) */
    if (open ? arrival_rate > 0 : (users > 0 || rate > 0)) return false;
    uint64_t total = scenario_duration_ms(sc);
    if (duration_ms == total) return false;
    char d[32], s[32];
    units_format_ms(duration_ms, d, sizeof d);
    units_format_ms(total, s, sizeof s);
    if (duration_ms < total)
        snprintf(buf, cap, "-t %s: the scenario's stages cut at %s (they last %s)", d, d, s);
    else
        snprintf(buf, cap, "-t %s: the scenario's stages kept, their last stage's %s held to %s "
                 "(they last %s)", d, open ? "rate" : "users", d, s);
    return true;
}

void runinfo_monitor(FILE *f, const scenario *sc)
{
    if (sc->monitor.ntargets == 0)          /* master/monitor.h scrapes it */
        return;
    fprintf(f, "  monitor: %d target%s every %llus (fetched only inside --allow-monitor, "
            "loopback by default)\n", sc->monitor.ntargets, sc->monitor.ntargets == 1 ? "" : "s",
            (unsigned long long)(sc->monitor.interval_ms / 1000));
}
