/* The usage texts of `stampede` (every command) and `stampede validate`, and the hints
 * for Locust's options, kept apart from
 * cli/main.c so that the dispatcher stays small. Write to f; no state. */
#ifndef CLI_USAGE_H
#define CLI_USAGE_H
#include <stdio.h>

void usage(FILE *f);
void usage_validate(FILE *f);
/* Locust's options that Stampede spells otherwise or lacks: for the first one in argv
 * (with or without "=value", up to "--"), prints "stampede CMD: OPT is a Locust option
 * Stampede does not have" and a hint naming ours, and returns -1; 0 when none. */
int locust_hint(const char *cmd, int argc, char **argv);
#endif
