/* Lookup of the embedded files: see master/assets.h. */
#include "master/assets.h"

#include <string.h>

const asset *asset_get(const char *name)
{
    if (!name) return NULL;
    for (const asset *a = assets_all; a->name; a++)
        if (!strcmp(a->name, name)) return a;
    return NULL;
}
