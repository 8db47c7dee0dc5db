/* Header blocks and comma lists: see common/hdrblock.h. */
#include "common/hdrblock.h"

#include <string.h>
#include <strings.h>

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool hdr_next(const char *block, size_t len, size_t *pos, hdr_line *out)
{
    if (*pos >= len)
        return false;
    const char *line = block + *pos;
    size_t rest = len - *pos;
    const char *nl = memchr(line, '\n', rest);
    size_t llen = nl ? (size_t)(nl - line) : rest;
    *pos += llen + (nl ? 1 : 0);
    out->line = line;
    out->line_len = llen;
    while (llen > 0 && line[llen - 1] == '\r')
        llen--;
    out->status = llen >= 5 && memcmp(line, "HTTP/", 5) == 0;
    const char *colon = memchr(line, ':', llen);
    if (colon == NULL) {
        out->name = out->value = NULL;
        out->name_len = out->value_len = 0;
        return true;
    }
    size_t klen = (size_t)(colon - line);
    while (klen > 0 && is_blank(line[klen - 1]))
        klen--;
    const char *v = colon + 1, *end = line + llen;
    while (v < end && is_blank(*v))
        v++;
    while (end > v && is_blank(end[-1]))
        end--;
    out->name = line;
    out->name_len = klen;
    out->value = v;
    out->value_len = (size_t)(end - v);
    return true;
}

bool hdr_is(const hdr_line *l, const char *name)
{
    size_t n = strlen(name);
    return l->name != NULL && l->name_len == n && strncasecmp(l->name, name, n) == 0;
}

bool hdr_token_next(const char *v, size_t n, size_t *pos, const char **tok, size_t *tok_len)
{
    size_t i = *pos;
    while (i < n && (is_blank(v[i]) || v[i] == ','))
        i++;
    if (i >= n) {
        *pos = i;
        return false;
    }
    size_t s = i;
    while (i < n && v[i] != ',')
        i++;
    size_t e = i;
    while (e > s && is_blank(v[e - 1]))
        e--;
    *pos = i;
    *tok = v + s;
    *tok_len = e - s;
    return true;
}
