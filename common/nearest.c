/* Nearest names (contract: common/nearest.h). Dynamic programming over three rows of
 * the (len(a)+1) x (len(b)+1) table: the row before the previous one is what a swap of
 * neighbours looks back to. Every entry of a row is at least the smallest entry of the
 * row before (a swap costs no less than the substitution path it shortcuts), so once a
 * row's smallest entry exceeds the limit the answer does too. */
#include "common/nearest.h"

#include <stdlib.h>
#include <string.h>

#define NEAREST_STACK 65            /* row entries kept on the stack (words <= 64 bytes) */

size_t nearest_distance(const char *a, const char *b, bool swaps, size_t limit)
{
    size_t m = strlen(a), n = strlen(b);
    size_t stack[3 * NEAREST_STACK], *heap = NULL, *rows = stack;
    if (n + 1 > NEAREST_STACK) {
        if (!(heap = malloc(3 * (n + 1) * sizeof *heap)))
            return limit + 1;
        rows = heap;
    }
    size_t *pp = rows, *prev = rows + (n + 1), *cur = rows + 2 * (n + 1);
    for (size_t j = 0; j <= n; j++)
        prev[j] = j;
    size_t d = n;
    for (size_t i = 1; i <= m; i++) {
        size_t rowmin = cur[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (swaps && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
            if (best < rowmin)
                rowmin = best;
        }
        if (rowmin > limit) {
            free(heap);
            return limit + 1;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    d = prev[n];
    free(heap);
    return d > limit ? limit + 1 : d;
}

const char *nearest_name(const char *word, const char *const *cands, size_t n)
{
    if (word == NULL || cands == NULL)
        return NULL;
    size_t wl = strlen(word);
    const char *best = NULL;
    size_t bestd = 4;               /* accept distance <= 3 ... */
    if (bestd > wl)
        bestd = wl;                 /* ... and < strlen(word) */
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL)
            continue;
        size_t cl = strlen(cands[i]);
        size_t diff = cl > wl ? cl - wl : wl - cl;
        if (diff >= bestd)
            continue;
        size_t d = nearest_distance(word, cands[i], false, bestd - 1);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}
