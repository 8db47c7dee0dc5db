/* Small helpers shared by several modules: whole-file reads, random bytes, growable
 * buffers. No state; any thread. */
#ifndef COMMON_UTIL_H
#define COMMON_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Reads path whole into a malloc'd NUL-terminated buffer (caller frees). 0, or -1 with
 * a message (strerror, "larger than N MiB", ...) when it fails or exceeds max bytes. */
int util_read_file(const char *path, size_t max, char **data, size_t *len, char *err, size_t errcap);
/* Fills buf with n bytes from getrandom(2), retrying interrupted calls. 0 or -1. */
int util_random(void *buf, size_t n);
/* Makes *buf hold at least need bytes, doubling from 256 (keeps the high-water mark, so
 * a reused buffer stops allocating). 0, or -1 on ENOMEM (*buf unchanged). */
int util_reserve(char **buf, size_t *cap, size_t need);
/* Appends n bytes of s at *len in *buf (grown by util_reserve), advances *len and keeps
 * the buffer NUL-terminated after them. 0, or -1 on ENOMEM (nothing appended). */
int util_append(char **buf, size_t *len, size_t *cap, const void *s, size_t n);
/* Writes s as XML text or attribute value (junit.xml files): the five special characters
 * escaped, tab/newline/carriage return as character references, other control
 * characters XML 1.0 cannot carry as '?'. */
void util_xml_escape(FILE *f, const char *s);
/* Rewrites the NUL-terminated s in place so that it is valid UTF-8 (RFC 3629): every
 * byte that does not belong to a well-formed sequence (a lone continuation byte, a lead
 * byte 0xC0/0xC1/0xF5-0xFF, a sequence cut short by another byte or the end, an overlong
 * form, a UTF-16 surrogate U+D800-U+DFFF, a code point above U+10FFFF) becomes '?', one
 * byte for one byte: the length never changes, so fixed-size fields stay in bounds.
 * Well-formed multi-byte sequences are kept. Returns the number of bytes replaced (0:
 * s was valid). NULL is a valid empty string. Any thread; no allocation. */
size_t util_utf8_clean(char *s);
/* CSV as Python's csv module writes it (the results folder's files, Locust's format):
 * util_csv_put writes s as one field, quoted only when it holds a comma, a quote or a
 * line break (a quote doubled inside). util_csv_get reads the field at *p (quoted or not)
 * into buf and leaves *p on what follows it (',', a line end or the end): false when a
 * quote is not closed or the field does not fit cap bytes. */
void util_csv_put(FILE *f, const char *s);
bool util_csv_get(const char **p, char *buf, size_t cap);

/* A CPU list as taskset(1) and cpuset(7) write it: "1", "0,2", "2-5", "0-1,6" (decimal
 * CPU numbers < UTIL_CPU_MAX, ranges low-high inclusive, no spaces). Fills out[] with the
 * CPUs in the order written (duplicates kept out), at most max. Returns how many, or -1
 * with a message naming the bad part ("\"7-3\": a range runs low-high", "more than N
 * CPUs"). Pure; any thread. Used by --engine-cpus (stampede run, stampede-worker). */
#define UTIL_CPU_MAX 4096
int util_cpu_list(const char *s, int *out, int max, char *err, size_t errcap);
#endif
