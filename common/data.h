/* Data feeders: CSV files whose first line names the columns, loaded whole at start
 * (the scenario owns them), read by templates as {{ feeder.column }}.
 *
 * Row choice (documented in README):
 *   unique      user k (1-based, global across workers) gets row k-1 for the whole run;
 *               a run needing more users than rows is refused before it starts.
 *   sequential  user k starts at row k-1 and advances one row per flow iteration.
 *   random      a uniform row per flow iteration from the VU's own generator.
 * Quoting follows RFC 4180 ("a ""b""", commas and newlines inside quotes).
 *
 * Threads: feeders are parsed on the thread that parses the scenario and are read-only
 * afterwards; data_pick, data_find and data_col only read, on any thread (data_pick
 * advances the caller's generator, common/rng.h). */
#ifndef COMMON_DATA_H
#define COMMON_DATA_H
#include <stddef.h>
#include <stdint.h>

typedef enum { DATA_SEQUENTIAL = 0, DATA_RANDOM = 1, DATA_UNIQUE = 2 } data_mode;

typedef struct data_feeder {
    char     *name;             /* owned */
    char     *file;             /* path as written in the scenario, owned */
    data_mode mode;
    uint32_t  ncols, nrows;
    char    **cols;             /* ncols names, owned */
    char    **cells;            /* nrows * ncols NUL-terminated strings, owned */
} data_feeder;

typedef struct data_set {
    data_feeder *f;             /* owned array */
    uint32_t     n;
} data_set;

/* Parses CSV text into f (name/file/mode set by the caller beforehand). 0, or -1 with
 * a message and the 1-based line of the problem. A file with a header and no rows is
 * an error. */
int  data_feeder_parse(data_feeder *f, const char *text, size_t len,
                       char *err, size_t errcap, int *err_line);
void data_feeder_fini(data_feeder *f);
void data_set_fini(data_set *d);
int  data_find(const data_set *d, const char *feeder);                 /* index or -1 */
int  data_col(const data_feeder *f, const char *col);                   /* index or -1 */
/* The row a VU uses for this iteration (see the table above). */
uint32_t data_pick(const data_feeder *f, uint64_t user_id, uint64_t iteration, uint64_t *rng);
#endif
