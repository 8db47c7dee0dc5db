/* The monitor's scraper (contract: master/monitor.h); the summary's arithmetic, its JSON
 * and the readers of monitor.csv are in master/monitor_summary.c.
 *
 * Layout: one mon_target per scenario target, each with its figures (mon_fig: up, the
 * derived ones, the aliases) and one libcurl easy handle kept for the run (its
 * connection is reused between rounds). A round adds every handle to one multi handle,
 * runs it until all are done (or the monitor is told to stop: checked every 100 ms),
 * then, with the mutex held, parses each body, derives the figures, updates the stats
 * and the live series, and writes the round's CSV rows outside the mutex.
 *
 * Rounds are planned on the monotonic clock at start + k x interval; a round that ends
 * after the next one's time skips to the first time still ahead (no burst of catch-up
 * scrapes against a slow target). */
#include "master/monitor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/util.h"
#include "common/log.h"
#include "common/promtext.h"
#include "common/time.h"
#include "common/url.h"

typedef enum { FIG_UP, FIG_CPU, FIG_MEMORY, FIG_LOAD, FIG_NET_RX, FIG_NET_TX,
               FIG_DISK_READ, FIG_DISK_WRITE, FIG_ALIAS } fig_kind;

typedef struct mon_fig {
    fig_kind  kind;
    char      name[MONITOR_NAME_MAX];
    prom_sel  sel;              /* FIG_ALIAS */
    bool      has_prev;
    double    prev, prev2;      /* counters: the last raw value (cpu: busy, total) */
    double    prev_t;           /* its scrape's monotonic time, s */
    int       stat;             /* index into the summary's stats */
    double    st[MONITOR_SERIES_MAX], sv[MONITOR_SERIES_MAX];    /* live ring */
    int       sn, shead;
} mon_fig;

typedef struct mon_target {
    const sc_mon_target *sc;
    mon_fig  *figs;
    int       nfigs;
    CURL     *h;
    struct curl_slist *hdrs;    /* Accept: the text format */
    char     *body;
    size_t    len, cap;
    bool      too_big, refused_addr;
    char      errbuf[CURL_ERROR_SIZE];
    CURLcode  res;
    bool      done;
    struct monitor *m;
} mon_target;

struct monitor {
    const sc_monitor *sc;
    allow_list        allow;
    mon_target       *t;
    int               nt;
    FILE             *csv;
    char              csv_path[1100];
    pthread_t         th;
    bool              started;
    atomic_bool       quit;
    pthread_mutex_t   mu;       /* guards sum and the figures' live rings */
    pthread_cond_t    cv;       /* monitor_stop wakes the thread's wait */
    monitor_summary   sum;      /* stats preallocated: one per figure */
    double            t0;       /* monotonic seconds at the start */
};

static double mon_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies src into out, leaving out stats without samples. */
static int mon_summary_copy(const monitor_summary *src, monitor_summary *out)
{
    memset(out, 0, sizeof *out);
    out->interval_ms = src->interval_ms;
    snprintf(out->csv_error, sizeof out->csv_error, "%s", src->csv_error);
    if (src->ntargets) {
        if (!(out->targets = malloc((size_t)src->ntargets * sizeof *out->targets)))
            return -1;
        memcpy(out->targets, src->targets, (size_t)src->ntargets * sizeof *out->targets);
        out->ntargets = src->ntargets;
    }
    if (src->nstats) {
        if (!(out->stats = malloc((size_t)src->nstats * sizeof *out->stats))) {
            monitor_summary_fini(out);
            return -1;
        }
        for (int i = 0; i < src->nstats; i++)
            if (src->stats[i].n)
                out->stats[out->nstats++] = src->stats[i];
    }
    return 0;
}

/* ---- the allowlist --------------------------------------------------------------------- */

int monitor_allow_parse(allow_list *al, const char *spec, char *err, size_t errcap)
{
    if (!spec || !*spec) {
        allow_default(al);
        return 0;
    }
    return allow_parse(al, spec, err, errcap);
}

int monitor_check_allow(const sc_monitor *m, const allow_list *al, char *err, size_t errcap)
{
    char list[1024], host[256];
    for (int i = 0; m && i < m->ntargets; i++) {
        const sc_mon_target *t = &m->targets[i];
        url_parts u;
        if (url_authority(t->url, &u) != URL_OK || u.templated || u.host_len == 0 ||
            u.host_len >= sizeof host) {
            snprintf(err, errcap, "monitor target '%s': cannot read the host of %s", t->name,
                     t->url);
            return -1;
        }
        memcpy(host, u.host, u.host_len);
        host[u.host_len] = '\0';
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        struct addrinfo *res = NULL;
        int rv = getaddrinfo(host, NULL, &hints, &res);
        if (rv != 0 || !res) {
            snprintf(err, errcap, "monitor target '%s': cannot resolve host %s (%s), so it "
                     "cannot be checked against --allow-monitor", t->name, host,
                     rv ? gai_strerror(rv) : "no address");
            return -1;
        }
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if (allow_addr(al, ai->ai_addr))
                continue;
            char ip[INET6_ADDRSTRLEN] = "?";
            if (ai->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof ip);
            else if (ai->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip, sizeof ip);
            allow_format(al, list, sizeof list);
            snprintf(err, errcap, "monitor target '%s': host %s%s%s%s is outside "
                     "--allow-monitor %s (the monitor fetches only allowed networks; add "
                     "the network to --allow-monitor to watch it)", t->name, host,
                     strcmp(ip, host) ? " (" : "", strcmp(ip, host) ? ip : "",
                     strcmp(ip, host) ? ")" : "", list);
            freeaddrinfo(res);
            return -1;
        }
        freeaddrinfo(res);
    }
    return 0;
}

/* ---- libcurl callbacks ------------------------------------------------------------------ */

static size_t mon_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    mon_target *t = ud;
    size_t n = size * nmemb;
    if (t->len + n > PROM_MAX_BODY) {
        t->too_big = true;
        return 0;                   /* CURLE_WRITE_ERROR */
    }
    if (t->len + n + 1 > t->cap) {
        size_t nc = t->cap ? t->cap : 65536;
        while (nc < t->len + n + 1)
            nc *= 2;
        char *b = realloc(t->body, nc);
        if (!b)
            return 0;
        t->body = b;
        t->cap = nc;
    }
    memcpy(t->body + t->len, ptr, n);
    t->len += n;
    return n;
}

/* Every connection's address is checked against the allowlist (a name may resolve
 * elsewhere than when the run was submitted). */
static curl_socket_t mon_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    mon_target *t = ud;
    (void)purpose;
    if (!allow_addr(&t->m->allow, &a->addr)) {
        t->refused_addr = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static int mon_xferinfo(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    mon_target *t = ud;
    (void)dt; (void)dn; (void)ut; (void)un;
    return atomic_load(&t->m->quit) ? 1 : 0;
}

static int mon_easy_setup(mon_target *t, uint64_t interval_ms)
{
    if (!(t->h = curl_easy_init()))
        return -1;
    long tmo = (long)(interval_ms * 8 / 10);
    if (tmo > 10000) tmo = 10000;
    CURL *h = t->h;
    curl_easy_setopt(h, CURLOPT_URL, t->sc->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mon_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, mon_opensocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, mon_xferinfo);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "stampede-monitor/" STAMPEDE_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PROM_MAX_BODY);
    if (!(t->hdrs = curl_slist_append(NULL, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1")))
        return -1;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->hdrs);
    return 0;
}

/* ---- figures ------------------------------------------------------------------------------ */

static const char *const mon_derived[] = SC_MON_DERIVED;

static void mon_sum2(const prom_doc *d, const char *name, const char *label,
                     const char *skip1, const char *skip2, double *all, double *kept, int *n)
{
    *all = *kept = 0;
    *n = 0;
    for (int i = 0; i < d->n; i++) {
        const prom_series *s = &d->s[i];
        if (strcmp(s->name, name))
            continue;
        const char *v = label ? prom_label_get(s, label) : NULL;
        bool skip = v && ((skip1 && !strcmp(v, skip1)) || (skip2 && !strcmp(v, skip2)));
        (*n)++;
        *all += s->value;
        if (!skip)
            *kept += s->value;
    }
}

/* A counter's rate against the figure's previous raw value; false when there is none. */
static bool mon_rate(mon_fig *f, double raw, double now, double *out)
{
    bool ok = false;
    if (f->has_prev && now > f->prev_t) {
        double d = raw - f->prev;
        *out = (d >= 0 ? d : raw) / (now - f->prev_t);
        ok = true;
    }
    f->prev = raw;
    f->prev_t = now;
    f->has_prev = true;
    return ok;
}

/* The figure's value from this scrape's doc; false when it has none this time. */
static bool mon_fig_value(mon_fig *f, const prom_doc *d, double now, double *out)
{
    double all, kept;
    int n;
    switch (f->kind) {
    case FIG_UP:
        *out = 1;
        return true;
    case FIG_CPU:
        mon_sum2(d, "node_cpu_seconds_total", "mode", "idle", "iowait", &all, &kept, &n);
        if (!n)
            return false;
        {
            bool ok = false;
            if (f->has_prev && all > f->prev2 && kept >= f->prev) {
                *out = 100.0 * (kept - f->prev) / (all - f->prev2);
                if (*out > 100) *out = 100;     /* rounding in the exporter's sums */
                ok = true;
            }
            f->prev = kept;
            f->prev2 = all;
            f->prev_t = now;
            f->has_prev = true;
            return ok;
        }
    case FIG_MEMORY: {
        double tot, av;
        int nt, na;
        mon_sum2(d, "node_memory_MemTotal_bytes", NULL, NULL, NULL, &tot, &kept, &nt);
        mon_sum2(d, "node_memory_MemAvailable_bytes", NULL, NULL, NULL, &av, &kept, &na);
        if (!nt || !na || !(tot > 0))
            return false;
        *out = 100.0 * (1.0 - av / tot);
        return true;
    }
    case FIG_LOAD:
        mon_sum2(d, "node_load1", NULL, NULL, NULL, &all, &kept, &n);
        *out = all;
        return n > 0;
    case FIG_NET_RX:
    case FIG_NET_TX:
        mon_sum2(d, f->kind == FIG_NET_RX ? "node_network_receive_bytes_total"
                                          : "node_network_transmit_bytes_total",
                 "device", "lo", NULL, &all, &kept, &n);
        return n > 0 && mon_rate(f, kept, now, out);
    case FIG_DISK_READ:
    case FIG_DISK_WRITE:
        mon_sum2(d, f->kind == FIG_DISK_READ ? "node_disk_read_bytes_total"
                                             : "node_disk_written_bytes_total",
                 NULL, NULL, NULL, &all, &kept, &n);
        return n > 0 && mon_rate(f, all, now, out);
    case FIG_ALIAS: {
        bool counter;
        double v = prom_sel_sum(&f->sel, d, &n, &counter);
        if (!n)
            return false;
        if (counter)
            return mon_rate(f, v, now, out);
        *out = v;
        return true;
    }
    }
    return false;
}

static void mon_fig_point(mon_fig *f, double t, double v)
{
    int i = (f->shead + f->sn) % MONITOR_SERIES_MAX;
    if (f->sn == MONITOR_SERIES_MAX) {
        i = f->shead;
        f->shead = (f->shead + 1) % MONITOR_SERIES_MAX;
    } else {
        f->sn++;
    }
    f->st[i] = t;
    f->sv[i] = v;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

/* ---- the thread ------------------------------------------------------------------------------ */

typedef struct mon_row { int target, fig; double v; } mon_row;

static void mon_round(monitor *m, uint64_t wall_ms)
{
    CURLM *multi = curl_multi_init();
    if (!multi)
        return;
    for (int i = 0; i < m->nt; i++) {
        mon_target *t = &m->t[i];
        t->len = 0;
        t->too_big = t->refused_addr = t->done = false;
        t->errbuf[0] = '\0';
        t->res = CURLE_FAILED_INIT;
        if (t->h)
            curl_multi_add_handle(multi, t->h);
    }
    int running = 1;
    while (running && !atomic_load(&m->quit)) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                for (int i = 0; i < m->nt; i++)
                    if (m->t[i].h == msg->easy_handle) {
                        m->t[i].res = msg->data.result;
                        m->t[i].done = true;
                    }
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < m->nt; i++)
        if (m->t[i].h)
            curl_multi_remove_handle(multi, m->t[i].h);
    curl_multi_cleanup(multi);
    if (atomic_load(&m->quit))
        return;                         /* abandoned: nothing half-counted */

    /* Parse and derive outside the mutex (the figures' previous values are this
     * thread's alone); then count and record under it, briefly. */
    double now = mon_now();
    int cap = 0;
    for (int i = 0; i < m->nt; i++)
        cap += m->t[i].nfigs;
    mon_row *rows = calloc((size_t)(cap ? cap : 1), sizeof *rows);
    char (*why)[256] = calloc((size_t)(m->nt ? m->nt : 1), sizeof *why);
    int nrows = 0;
    for (int i = 0; rows && why && i < m->nt; i++) {
        mon_target *t = &m->t[i];
        long status = 0;
        if (!t->h)
            snprintf(why[i], sizeof why[i], "out of memory");
        else if (!t->done || t->res != CURLE_OK) {
            if (t->refused_addr)
                snprintf(why[i], sizeof why[i], "the address is outside --allow-monitor");
            else if (t->too_big)
                snprintf(why[i], sizeof why[i], "body larger than %u bytes", (unsigned)PROM_MAX_BODY);
            else
                snprintf(why[i], sizeof why[i], "%s", t->errbuf[0] ? t->errbuf
                         : curl_easy_strerror(t->done ? t->res : CURLE_OPERATION_TIMEDOUT));
        } else if (curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status), status != 200) {
            snprintf(why[i], sizeof why[i], "HTTP status %ld", status);
        }
        prom_doc doc = { 0 };
        if (!why[i][0]) {
            char perr[200];
            if (prom_parse(t->body ? t->body : "", t->len, &doc, perr, sizeof perr) != 0)
                snprintf(why[i], sizeof why[i], "not Prometheus text: %s", perr);
        }
        bool up = !why[i][0];
        for (int j = 0; j < t->nfigs; j++) {
            mon_fig *f = &t->figs[j];
            double v;
            bool have;
            if (f->kind == FIG_UP) {
                v = up ? 1 : 0;
                have = true;
            } else {
                have = up && mon_fig_value(f, &doc, now, &v) && isfinite(v);
            }
            if (have)
                rows[nrows++] = (mon_row){ i, j, v };
        }
        prom_doc_free(&doc);
    }
    if (!rows || !why) {                /* out of memory: this round is lost */
        free(rows);
        free(why);
        return;
    }
    uint64_t failures[SC_MON_MAX_TARGETS] = { 0 }, scrapes[SC_MON_MAX_TARGETS] = { 0 };
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nt; i++) {
        monitor_tstat *ts = &m->sum.targets[i];
        ts->scrapes++;
        if (why[i][0]) {
            ts->failures++;
            snprintf(ts->last_error, sizeof ts->last_error, "%s", why[i]);
        }
        if (i < SC_MON_MAX_TARGETS) {
            failures[i] = ts->failures;
            scrapes[i] = ts->scrapes;
        }
    }
    for (int k = 0; k < nrows; k++) {
        mon_fig *f = &m->t[rows[k].target].figs[rows[k].fig];
        monitor_stat_add(&m->sum.stats[f->stat], rows[k].v);
        mon_fig_point(f, now - m->t0, rows[k].v);
    }
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->nt && i < SC_MON_MAX_TARGETS; i++)
        if (why[i][0] && (failures[i] == 1 || failures[i] % 60 == 0))
            log_warn("monitor", "scrape of %s (%s) failed: %s (%llu of %llu scrapes failed)",
                     m->t[i].sc->name, m->t[i].sc->url, why[i], (unsigned long long)failures[i],
                     (unsigned long long)scrapes[i]);
    free(why);

    if (m->csv) {
        for (int k = 0; k < nrows; k++) {
            fprintf(m->csv, "%llu,", (unsigned long long)(wall_ms / 1000));
            util_csv_put(m->csv, m->t[rows[k].target].sc->name);
            fputc(',', m->csv);
            util_csv_put(m->csv, m->t[rows[k].target].figs[rows[k].fig].name);
            fprintf(m->csv, ",%.10g\r\n", rows[k].v);
        }
        if (fflush(m->csv) != 0 || ferror(m->csv)) {
            pthread_mutex_lock(&m->mu);
            snprintf(m->sum.csv_error, sizeof m->sum.csv_error, "cannot write %.150s: %.80s",
                     m->csv_path, strerror(errno));
            pthread_mutex_unlock(&m->mu);
            log_warn("monitor", "%s; scraping goes on without it", m->sum.csv_error);
            fclose(m->csv);
            m->csv = NULL;
        }
    }
    free(rows);
}

static void *mon_thread(void *arg)
{
    monitor *m = arg;
    double iv = (double)m->sc->interval_ms / 1000.0;
    uint64_t k = 0;
    while (!atomic_load(&m->quit)) {
        double due = m->t0 + (double)k * iv;
        pthread_mutex_lock(&m->mu);
        while (!atomic_load(&m->quit) && mon_now() < due) {
            double left = due - mon_now();
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double ns = (double)ts.tv_nsec + (left > 0 ? left : 0) * 1e9;
            ts.tv_sec += (time_t)(ns / 1e9);
            ts.tv_nsec = (long)fmod(ns, 1e9);
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        }
        pthread_mutex_unlock(&m->mu);
        if (atomic_load(&m->quit))
            break;
        mon_round(m, time_wall_ms());
        double after = mon_now();
        k++;
        while (m->t0 + (double)k * iv <= after)
            k++;
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static int mon_build(monitor *m, char *err, size_t errcap)
{
    const sc_monitor *sc = m->sc;
    if (!(m->t = calloc((size_t)(sc->ntargets ? sc->ntargets : 1), sizeof *m->t)) ||
        !(m->sum.targets = calloc((size_t)(sc->ntargets ? sc->ntargets : 1),
                                  sizeof *m->sum.targets)))
        goto oom;
    m->nt = sc->ntargets;
    m->sum.ntargets = sc->ntargets;
    m->sum.interval_ms = sc->interval_ms;
    int nstats = 0;
    for (int i = 0; i < sc->ntargets; i++)
        nstats += SC_MON_NDERIVED + sc->targets[i].nmetrics;
    if (!(m->sum.stats = calloc((size_t)(nstats ? nstats : 1), sizeof *m->sum.stats)))
        goto oom;
    for (int i = 0; i < sc->ntargets; i++) {
        const sc_mon_target *st = &sc->targets[i];
        mon_target *t = &m->t[i];
        t->sc = st;
        t->m = m;
        snprintf(m->sum.targets[i].name, sizeof m->sum.targets[i].name, "%s", st->name);
        snprintf(m->sum.targets[i].url, sizeof m->sum.targets[i].url, "%s", st->url);
        if (!(t->figs = calloc((size_t)(SC_MON_NDERIVED + st->nmetrics), sizeof *t->figs)))
            goto oom;
        for (int d = 0; d < SC_MON_NDERIVED; d++) {
            bool replaced = false;
            for (int j = 0; j < st->nmetrics; j++)
                replaced |= !strcmp(st->metrics[j].alias, mon_derived[d]);
            if (replaced)
                continue;
            mon_fig *f = &t->figs[t->nfigs++];
            f->kind = (fig_kind)d;
            snprintf(f->name, sizeof f->name, "%s", mon_derived[d]);
        }
        for (int j = 0; j < st->nmetrics; j++) {
            mon_fig *f = &t->figs[t->nfigs];
            char perr[200];
            if (prom_sel_parse(st->metrics[j].selector, &f->sel, perr, sizeof perr) != 0) {
                snprintf(err, errcap, "monitor target '%s', metric '%s': %s", st->name,
                         st->metrics[j].alias, perr);
                return -1;
            }
            t->nfigs++;
            f->kind = FIG_ALIAS;
            snprintf(f->name, sizeof f->name, "%s", st->metrics[j].alias);
        }
        for (int j = 0; j < t->nfigs; j++) {
            monitor_stat *s = &m->sum.stats[m->sum.nstats];
            snprintf(s->target, sizeof s->target, "%s", st->name);
            snprintf(s->metric, sizeof s->metric, "%s", t->figs[j].name);
            t->figs[j].stat = m->sum.nstats++;
        }
        if (mon_easy_setup(t, sc->interval_ms) != 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errcap, "out of memory");
    return -1;
}

monitor *monitor_start(const sc_monitor *sc, const allow_list *al, const char *dir,
                       char *err, size_t errcap)
{
    monitor *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    m->sc = sc;
    m->allow = *al;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&m->quit, false);
    if (mon_build(m, err, errcap) != 0) {
        monitor_free(m);
        return NULL;
    }
    snprintf(m->csv_path, sizeof m->csv_path, "%s/monitor.csv", dir);
    int fd = open(m->csv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || !(m->csv = fdopen(fd, "w"))) {
        snprintf(err, errcap, "cannot create %s: %s", m->csv_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        monitor_free(m);
        return NULL;
    }
    if (fputs("Timestamp,Target,Metric,Value\r\n", m->csv) < 0 || fflush(m->csv) != 0) {
        snprintf(err, errcap, "cannot write %s: %s", m->csv_path, strerror(errno));
        monitor_free(m);
        return NULL;
    }
    m->t0 = mon_now();
    if (pthread_create(&m->th, NULL, mon_thread, m) != 0) {
        snprintf(err, errcap, "cannot start the monitor thread");
        monitor_free(m);
        return NULL;
    }
    m->started = true;
    return m;
}

void monitor_stop(monitor *m, monitor_summary *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!m)
        return;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        atomic_store(&m->quit, true);
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->th, NULL);
        m->started = false;
    }
    if (m->csv) {
        if (fclose(m->csv) != 0 && !m->sum.csv_error[0])
            snprintf(m->sum.csv_error, sizeof m->sum.csv_error, "cannot write %.150s: %.80s",
                     m->csv_path, strerror(errno));
        m->csv = NULL;
    }
    if (out && mon_summary_copy(&m->sum, out) != 0)
        memset(out, 0, sizeof *out);
}

void monitor_free(monitor *m)
{
    if (!m)
        return;
    monitor_stop(m, NULL);
    for (int i = 0; m->t && i < m->nt; i++) {
        mon_target *t = &m->t[i];
        for (int j = 0; j < t->nfigs; j++)
            prom_sel_free(&t->figs[j].sel);
        free(t->figs);
        if (t->h)
            curl_easy_cleanup(t->h);
        curl_slist_free_all(t->hdrs);
        free(t->body);
    }
    free(m->t);
    monitor_summary_fini(&m->sum);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

int monitor_snapshot(monitor *m, monitor_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    int rc = mon_summary_copy(&m->sum, out);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static json_t *mon_jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

char *monitor_live_json(monitor *m)
{
    if (!m)
        return NULL;
    json_t *root = json_object(), *figs = json_array(), *tgs = json_array();
    int nfigs = 0;
    for (int i = 0; i < m->nt; i++)
        nfigs += m->t[i].nfigs;
    /* the latest points of each figure, MONITOR_LIVE_POINTS in all at most */
    int per = nfigs ? MONITOR_LIVE_POINTS / nfigs : MONITOR_SERIES_MAX;
    if (per > MONITOR_SERIES_MAX) per = MONITOR_SERIES_MAX;
    if (per < 2) per = 2;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nt; i++) {
        mon_target *t = &m->t[i];
        for (int j = 0; j < t->nfigs; j++) {
            mon_fig *f = &t->figs[j];
            const monitor_stat *s = &m->sum.stats[f->stat];
            if (!s->n)
                continue;
            json_t *o = json_object(), *jt = json_array(), *jv = json_array();
            json_object_set_new(o, "target", json_string(s->target));
            json_object_set_new(o, "metric", json_string(s->metric));
            json_object_set_new(o, "last", mon_jreal(s->last));
            json_object_set_new(o, "min", mon_jreal(s->min));
            json_object_set_new(o, "max", mon_jreal(s->max));
            json_object_set_new(o, "mean", mon_jreal(monitor_stat_mean(s)));
            for (int k = f->sn > per ? f->sn - per : 0; k < f->sn; k++) {
                int idx = (f->shead + k) % MONITOR_SERIES_MAX;
                json_array_append_new(jt, json_real(round(f->st[idx] * 10) / 10));
                json_array_append_new(jv, mon_jreal(f->sv[idx]));
            }
            json_object_set_new(o, "t", jt);
            json_object_set_new(o, "v", jv);
            json_array_append_new(figs, o);
        }
        const monitor_tstat *ts = &m->sum.targets[i];
        json_t *o = json_object();
        json_object_set_new(o, "target", json_string(ts->name));
        json_object_set_new(o, "scrapes", json_integer((json_int_t)ts->scrapes));
        json_object_set_new(o, "failures", json_integer((json_int_t)ts->failures));
        json_object_set_new(o, "last_error", json_string(ts->last_error));
        json_array_append_new(tgs, o);
    }
    pthread_mutex_unlock(&m->mu);
    json_object_set_new(root, "figures", figs);
    json_object_set_new(root, "targets", tgs);
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(root);
    return text;
}
