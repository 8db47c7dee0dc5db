/* HAR import (contract: cli/har.h). Interface stub of issue 12's wave 2: the HAR room
 * replaces it with the importer. */
#include "cli/har.h"
#include <stdio.h>

int har_import_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "stampede import-har: not built yet\n");
    return 2;
}
