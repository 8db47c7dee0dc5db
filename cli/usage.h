/* The usage texts of `stampede` (every command) and `stampede validate`, kept apart from
 * cli/main.c so that the dispatcher stays small. Write to f; no state. */
#ifndef CLI_USAGE_H
#define CLI_USAGE_H
#include <stdio.h>

void usage(FILE *f);
void usage_validate(FILE *f);
#endif
