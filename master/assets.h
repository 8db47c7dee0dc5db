/* Files served by the dashboard and inlined into report.html, embedded into the
 * binaries at build time (tools/embed.py writes $(O)/assets_gen.c from web/ and npm's
 * uplot package), so nothing is fetched from a CDN and everything works offline.
 *
 * Names: "index.html", "app.js", "app.css" (the live dashboard), "report.js" (the
 * offline report's renderer; it shares app.css), "uPlot.min.js", "uPlot.min.css".
 * Data is immutable, NUL-terminated (not counted in len), shared by every thread. */
#ifndef MASTER_ASSETS_H
#define MASTER_ASSETS_H
#include <stddef.h>

typedef struct asset {
    const char          *name;
    const char          *type;      /* Content-Type */
    const unsigned char *data;
    size_t               len;
} asset;

extern const asset assets_all[];    /* ends with an entry whose name is NULL */

/* The asset called name, or NULL. */
const asset *asset_get(const char *name);
#endif
