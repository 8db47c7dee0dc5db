/* Nearest names: the edit distance behind every "did you mean ...?" hint (scenario keys
 * and values, template names, threshold metrics). One implementation for all of them.
 *
 * Pure functions of their arguments: any thread, no state. nearest_distance allocates
 * only for words longer than 64 bytes (and answers "too far" if that fails); nothing
 * else allocates. Strings are compared byte by byte (no case folding). */
#ifndef COMMON_NEAREST_H
#define COMMON_NEAREST_H
#include <stdbool.h>
#include <stddef.h>

/* Edit distance of a and b: insertions, deletions and substitutions of one byte each
 * count one; with swaps, an exchange of two neighbours counts one as well ("p59" is one
 * from "p95"; optimal string alignment), without it two. Stops early: any distance above
 * limit is answered as limit + 1. */
size_t nearest_distance(const char *a, const char *b, bool swaps, size_t limit);

/* The candidate closest to word (no swaps), if it is within 3 edits and fewer edits than
 * word has bytes (so "id" suggests nothing); the first of equally close ones. NULL when
 * none is, or word or cands is NULL; NULL entries of cands are skipped. */
const char *nearest_name(const char *word, const char *const *cands, size_t n);
#endif
