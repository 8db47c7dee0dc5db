#include "common/util.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int util_read_file(const char *path, size_t max, char **data, size_t *len, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        if (cap >= max) {
            free(buf);
            fclose(f);
            snprintf(err, errcap, "larger than %zu MiB", max >> 20);
            return -1;
        }
        char *p = realloc(buf, cap * 2);
        if (!p)
            free(buf);
        buf = p;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errcap, "read error");
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int util_random(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int util_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    char *p = realloc(*buf, n);
    if (!p) return -1;
    *buf = p;
    *cap = n;
    return 0;
}

int util_append(char **buf, size_t *len, size_t *cap, const void *s, size_t n)
{
    if (util_reserve(buf, cap, *len + n + 1) != 0) return -1;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* XML text or attribute value, escaped. Control characters XML 1.0 cannot carry are
 * written as '?'. */
void util_xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':  fputs("&amp;", f); break;
        case '<':  fputs("&lt;", f); break;
        case '>':  fputs("&gt;", f); break;
        case '"':  fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '\t': fputs("&#9;", f); break;
        case '\n': fputs("&#10;", f); break;
        case '\r': fputs("&#13;", f); break;
        default:   fputc(c < 0x20 || c == 0x7f ? '?' : c, f); break;
        }
    }
}

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when the byte at p does not
 * start one. The second byte's range carries the overlong, surrogate and > U+10FFFF
 * rules (RFC 3629 table 3-7); a NUL byte is never a continuation, so a sequence cut by
 * the end of the string fails here without reading past it. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;               /* overlong below U+0800 */
        else if (c == 0xED) hi = 0x9F;          /* surrogates U+D800-U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;               /* overlong below U+10000 */
        else if (c == 0xF4) hi = 0x8F;          /* above U+10FFFF */
    } else
        return 0;                               /* continuation, C0, C1, F5-FF */
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

size_t util_utf8_clean(char *s)
{
    if (!s) return 0;
    size_t bad = 0;
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n) {
            p += n;
        } else {
            /* only this byte: what follows is judged afresh (a valid sequence right
             * after a broken one is kept, its stray continuations become '?') */
            *p++ = '?';
            bad++;
        }
    }
    return bad;
}

int util_cpu_list(const char *s, int *out, int max, char *err, size_t errcap)
{
    int n = 0;
    const char *p = s ? s : "";
    if (!*p) {
        snprintf(err, errcap, "an empty CPU list: give CPUs as 1 or 0,2 or 2-5");
        return -1;
    }
    while (*p) {
        const char *part = p;
        long lo = -1, hi;
        char *end;
        if (*p < '0' || *p > '9') goto bad;
        lo = strtol(p, &end, 10);
        hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9') goto bad;
            hi = strtol(p, &end, 10);
            p = end;
        }
        if (*p && *p != ',') goto bad;
        if (lo >= UTIL_CPU_MAX || hi >= UTIL_CPU_MAX) {
            snprintf(err, errcap, "\"%.*s\": CPU numbers run below %d", (int)(p - part), part, UTIL_CPU_MAX);
            return -1;
        }
        if (hi < lo) {
            snprintf(err, errcap, "\"%.*s\": a range runs low-high", (int)(p - part), part);
            return -1;
        }
        for (long c = lo; c <= hi; c++) {
            bool seen = false;
            for (int i = 0; i < n && !seen; i++) seen = out[i] == (int)c;
            if (seen) continue;
            if (n == max) {
                snprintf(err, errcap, "more than %d CPUs", max);
                return -1;
            }
            out[n++] = (int)c;
        }
        if (*p == ',') {
            p++;
            if (!*p) goto bad;
        }
        continue;
bad:
        snprintf(err, errcap, "\"%s\" is not a CPU list: give CPUs as 1 or 0,2 or 2-5", s);
        return -1;
    }
    return n;
}

void util_csv_put(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

bool util_csv_get(const char **p, char *buf, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        s++;
        for (;;) {
            if (!*s)
                return false;
            if (*s == '"') {
                if (s[1] != '"') {
                    s++;
                    break;
                }
                s++;
            }
            if (n + 1 >= cap)
                return false;
            buf[n++] = *s++;
        }
    } else {
        while (*s && *s != ',' && *s != '\r' && *s != '\n') {
            if (n + 1 >= cap)
                return false;
            buf[n++] = *s++;
        }
    }
    buf[n] = '\0';
    *p = s;
    return true;
}
