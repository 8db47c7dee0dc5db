/* Data feeders: CSV parsing and row choice; see common/data.h for the contract.
 *
 * Decisions the header leaves open, written down here:
 * - Records end with LF or CRLF; the last one may lack it. A UTF-8 BOM is skipped.
 * - Blank lines (nothing between two line ends, outside quotes) are skipped anywhere:
 *   an editor's trailing empty lines do not become rows. A one-column file that needs an
 *   empty value writes it quoted: "".
 * - A quote inside an unquoted field is kept as text (5" pipe), as most readers do; a
 *   quoted field must be followed by a comma or a line end.
 * - Header names are trimmed of spaces and tabs ("id, name" names column "name");
 *   values are kept exactly. An empty or duplicate header name is an error.
 * - Line numbers are physical lines (a quoted newline counts), 1-based: a field-count
 *   error names the line its record starts on.
 * - data_pick folds out-of-range rows back with a modulo (a unique run with more users
 *   than rows is refused earlier, by scenario_check_run). */
#include "common/data.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

/* Parser state over the whole text. */
typedef struct data_csv {
    const char *s;
    size_t      len, pos;
    int         line;           /* physical line at pos, 1-based */
    char       *fbuf;           /* current field's bytes */
    size_t      flen, fcap;
    char      **rec;            /* current record's fields, owned until handed over */
    uint32_t    nrec, reccap;
    char       *err;
    size_t      errcap;
    int        *err_line;
} data_csv;

__attribute__((format(printf, 3, 4)))
static int data_fail(data_csv *c, int line, const char *fmt, ...)
{
    if (c->err != NULL && c->errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errcap, fmt, ap);
        va_end(ap);
    }
    if (c->err_line != NULL)
        *c->err_line = line;
    return -1;
}

static int data_fbuf_put(data_csv *c, char ch)
{
    if (c->flen + 1 >= c->fcap) {
        size_t ncap = c->fcap ? c->fcap * 2 : 64;
        char *nb = realloc(c->fbuf, ncap);
        if (nb == NULL)
            return -1;
        c->fbuf = nb;
        c->fcap = ncap;
    }
    c->fbuf[c->flen++] = ch;
    return 0;
}

/* Moves the field buffer into the record as a new string. */
static int data_field_end(data_csv *c)
{
    if (c->nrec == c->reccap) {
        uint32_t ncap = c->reccap ? c->reccap * 2 : 8;
        char **nr = realloc(c->rec, ncap * sizeof *nr);
        if (nr == NULL)
            return -1;
        c->rec = nr;
        c->reccap = ncap;
    }
    char *f = malloc(c->flen + 1);
    if (f == NULL)
        return -1;
    if (c->flen > 0)
        memcpy(f, c->fbuf, c->flen);
    f[c->flen] = '\0';
    c->rec[c->nrec++] = f;
    c->flen = 0;
    return 0;
}

static void data_rec_clear(data_csv *c)
{
    for (uint32_t i = 0; i < c->nrec; i++)
        free(c->rec[i]);
    c->nrec = 0;
}

/* Length of the line end at pos (LF, CRLF, or a CR that ends the text), or 0. */
static size_t data_eol(const data_csv *c, size_t pos)
{
    if (pos >= c->len)
        return 0;
    if (c->s[pos] == '\n')
        return 1;
    if (c->s[pos] == '\r' && (pos + 1 == c->len || c->s[pos + 1] == '\n'))
        return pos + 1 == c->len ? 1 : 2;
    return 0;
}

/* Reads the next record into c->rec. 1: a record (its first line in *start_line),
 * 0: end of text, -1: error (reported). */
static int data_record(data_csv *c, int *start_line)
{
    size_t e;
    while ((e = data_eol(c, c->pos)) != 0) {   /* skip blank lines */
        c->pos += e;
        c->line++;
    }
    if (c->pos >= c->len)
        return 0;
    *start_line = c->line;
    for (;;) {
        c->flen = 0;
        if (c->pos < c->len && c->s[c->pos] == '"') {
            int qline = c->line;
            c->pos++;
            for (;;) {
                if (c->pos >= c->len)
                    return data_fail(c, qline, "unterminated quoted field (the quote opens "
                                               "on line %d)", qline);
                char ch = c->s[c->pos];
                if (ch == '"') {
                    if (c->pos + 1 < c->len && c->s[c->pos + 1] == '"') {
                        if (data_fbuf_put(c, '"') != 0)
                            return data_fail(c, c->line, "out of memory");
                        c->pos += 2;
                        continue;
                    }
                    c->pos++;
                    break;
                }
                if (ch == '\n')
                    c->line++;
                if (data_fbuf_put(c, ch) != 0)
                    return data_fail(c, c->line, "out of memory");
                c->pos++;
            }
            if (c->pos < c->len && c->s[c->pos] != ',' && data_eol(c, c->pos) == 0)
                return data_fail(c, c->line, "unexpected '%c' after a closing quote (write a "
                                             "quote inside a quoted field as \"\")",
                                 c->s[c->pos]);
        } else {
            while (c->pos < c->len && c->s[c->pos] != ',' && data_eol(c, c->pos) == 0) {
                if (data_fbuf_put(c, c->s[c->pos]) != 0)
                    return data_fail(c, c->line, "out of memory");
                c->pos++;
            }
        }
        if (data_field_end(c) != 0)
            return data_fail(c, c->line, "out of memory");
        if (c->pos < c->len && c->s[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if ((e = data_eol(c, c->pos)) != 0) {
            c->pos += e;
            c->line++;
        }
        return 1;
    }
}

/* Trims spaces and tabs around a header name in place. */
static void data_trim(char *s)
{
    size_t n = strlen(s), b = 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (b < n && (s[b] == ' ' || s[b] == '\t'))
        b++;
    memmove(s, s + b, n - b);
    s[n - b] = '\0';
}

int data_feeder_parse(data_feeder *f, const char *text, size_t len,
                      char *err, size_t errcap, int *err_line)
{
    data_csv c = { .s = text, .len = len, .line = 1, .err = err, .errcap = errcap,
                   .err_line = err_line };
    char   **cells = NULL;
    size_t   ncells = 0, cellcap = 0;
    uint32_t nrows = 0, ncols = 0;
    char   **cols = NULL;
    int      start = 1, hdr_line = 1, rv;

    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (err_line != NULL)
        *err_line = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        c.pos = 3;

    rv = data_record(&c, &start);
    if (rv < 0)
        goto fail;
    if (rv == 0) {
        data_fail(&c, 1, "empty file: the first line must name the columns");
        goto fail;
    }
    hdr_line = start;
    ncols = c.nrec;
    cols = c.rec;               /* the header record becomes the column names */
    c.rec = NULL;
    c.nrec = c.reccap = 0;
    for (uint32_t i = 0; i < ncols; i++) {
        data_trim(cols[i]);
        if (cols[i][0] == '\0') {
            data_fail(&c, start, "column %u of the header has no name", i + 1);
            goto fail;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(cols[i], cols[j]) == 0) {
                data_fail(&c, start, "duplicate column \"%s\" in the header", cols[i]);
                goto fail;
            }
    }

    while ((rv = data_record(&c, &start)) == 1) {
        if (c.nrec != ncols) {
            data_fail(&c, start, "expected %u field%s (as in the header), found %u",
                      ncols, ncols == 1 ? "" : "s", c.nrec);
            goto fail;
        }
        if (nrows == UINT32_MAX) {
            data_fail(&c, start, "too many rows");
            goto fail;
        }
        if (ncells + ncols > cellcap) {
            size_t ncap = cellcap ? cellcap * 2 : (size_t)ncols * 64;
            while (ncap < ncells + ncols)
                ncap *= 2;
            char **nc = realloc(cells, ncap * sizeof *nc);
            if (nc == NULL) {
                data_fail(&c, start, "out of memory");
                goto fail;
            }
            cells = nc;
            cellcap = ncap;
        }
        memcpy(cells + ncells, c.rec, ncols * sizeof *cells);
        ncells += ncols;
        c.nrec = 0;             /* the strings now belong to cells */
        nrows++;
    }
    if (rv < 0)
        goto fail;
    if (nrows == 0) {
        data_fail(&c, hdr_line, "no data rows: the file has a header and nothing else");
        goto fail;
    }
    free(c.fbuf);
    free(c.rec);
    f->ncols = ncols;
    f->nrows = nrows;
    f->cols = cols;
    f->cells = cells;
    return 0;

fail:
    data_rec_clear(&c);
    free(c.rec);
    free(c.fbuf);
    for (size_t i = 0; i < ncells; i++)
        free(cells[i]);
    free(cells);
    for (uint32_t i = 0; cols != NULL && i < ncols; i++)
        free(cols[i]);
    free(cols);
    return -1;
}

void data_feeder_fini(data_feeder *f)
{
    if (f == NULL)
        return;
    if (f->cells != NULL)
        for (size_t i = 0; i < (size_t)f->nrows * f->ncols; i++)
            free(f->cells[i]);
    free(f->cells);
    if (f->cols != NULL)
        for (uint32_t i = 0; i < f->ncols; i++)
            free(f->cols[i]);
    free(f->cols);
    free(f->name);
    free(f->file);
    memset(f, 0, sizeof *f);
}

void data_set_fini(data_set *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; d->f != NULL && i < d->n; i++)
        data_feeder_fini(&d->f[i]);
    free(d->f);
    d->f = NULL;
    d->n = 0;
}

int data_find(const data_set *d, const char *feeder)
{
    if (d == NULL || feeder == NULL)
        return -1;
    for (uint32_t i = 0; i < d->n; i++)
        if (d->f[i].name != NULL && strcmp(d->f[i].name, feeder) == 0)
            return (int)i;
    return -1;
}

int data_col(const data_feeder *f, const char *col)
{
    if (f == NULL || col == NULL)
        return -1;
    for (uint32_t i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i], col) == 0)
            return (int)i;
    return -1;
}

uint32_t data_pick(const data_feeder *f, uint64_t user_id, uint64_t iteration, uint64_t *rng)
{
    if (f == NULL || f->nrows == 0)
        return 0;
    uint64_t n = f->nrows;
    uint64_t base = (user_id > 0 ? user_id - 1 : 0) % n;
    switch (f->mode) {
    case DATA_UNIQUE:
        return (uint32_t)base;
    case DATA_RANDOM:
        if (rng != NULL)    /* multiply-high: uniform over n without a division */
            return (uint32_t)(((unsigned __int128)rng_next(rng) * n) >> 64);
        /* no generator: fall through to sequential */
        /* fall through */
    case DATA_SEQUENTIAL:
    default:
        return (uint32_t)((base + iteration % n) % n);
    }
}
