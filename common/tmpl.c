/* Templates, compiling (contract: common/tmpl.h, the expression language and ownership).
 *
 * A compiled template is a list of parts over one literal pool. Literal text (and every
 * hole whose value is known at compile time: env("X") and quoted strings) is appended to
 * the pool, adjacent literals merged, so a template without run-time holes is exactly
 * its pool and tmpl_static can hand it out as is.
 *
 * Decisions the header leaves open, written down here:
 * - A bare name is looked up among the capture variables first, then the built-ins
 *   (uuid, counter, user_id, now_us): a capture the scenario declares wins over a
 *   built-in of the same name; the call forms uuid(), counter(), user_id() and now_us()
 *   always mean the built-in.
 * - now_us reads the wall clock (time_wall_us, CLOCK_REALTIME) each time the template
 *   renders: a receiver measures fan-out latency against its own wall clock, so the
 *   stamp cannot come from the monotonic one.
 * - "a.b" is a capture variable named "a.b" if one exists, else feeder a, column b.
 * - A quoted string is an expression that renders as itself: {{ '{{' }} writes "{{".
 *   Quotes have no escapes inside; use the other quote kind ("it's" or '"').
 * - Names are made of letters, digits, '_' and '-'.
 * - In TMPL_JSON mode the literal text around holes is taken as JSON already and copied
 *   as is; what holes produce (including env values and quoted strings) is escaped as
 *   JSON string content: \" \\ and control characters as \u00XX. Other bytes (UTF-8)
 *   pass through.
 * - Rendering (and its own decisions) is common/tmpl_render.c; the compiled form both
 *   files share is common/tmpl_int.h. */
#include "common/tmpl.h"
#include "common/tmpl_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data.h"
#include "common/nearest.h"

/* ---- symbols ------------------------------------------------------------------ */

int tmpl_syms_find(const tmpl_syms *s, const char *name)
{
    if (s == NULL || name == NULL)
        return -1;
    for (uint32_t i = 0; i < s->nvars; i++)
        if (strcmp(s->vars[i], name) == 0)
            return (int)i;
    return -1;
}

int tmpl_syms_add(tmpl_syms *s, const char *name)
{
    int slot = tmpl_syms_find(s, name);
    if (slot >= 0)
        return slot;
    if (s->nvars == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->vars, ncap * sizeof *nv);
        if (nv == NULL)
            return -1;
        s->vars = nv;
        s->cap = ncap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return -1;
    s->vars[s->nvars] = copy;
    return (int)s->nvars++;
}

void tmpl_syms_fini(tmpl_syms *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->nvars; i++)
        free(s->vars[i]);
    free(s->vars);
    s->vars = NULL;
    s->nvars = s->cap = 0;
}

/* ---- capture values ----------------------------------------------------------- */

int tmpl_val_set(tmpl_val *v, const char *p, size_t n)
{
    if (n >= UINT32_MAX)
        return -1;
    size_t need = n + 1;
    if (need > v->cap) {
        /* Next power of two >= need; p cannot point into the old buffer here, since
         * anything inside it is shorter than cap. */
        size_t ncap = 1;
        while (ncap < need)
            ncap <<= 1;
        if (ncap > UINT32_MAX)
            ncap = UINT32_MAX;
        char *np = realloc(v->p, ncap);
        if (np == NULL)
            return -1;
        v->p = np;
        v->cap = (uint32_t)ncap;
    }
    if (n > 0)
        memmove(v->p, p, n);
    v->p[n] = '\0';
    v->len = (uint32_t)n;
    v->set = true;
    return 0;
}

void tmpl_val_fini(tmpl_val *v)
{
    if (v == NULL)
        return;
    free(v->p);
    memset(v, 0, sizeof *v);
}

void tmpl_free(tmpl *t)
{
    if (t == NULL)
        return;
    free(t->parts);
    free(t->lit);
    free(t);
}

const char *tmpl_static(const tmpl *t, size_t *len)
{
    if (t == NULL || !t->is_static)
        return NULL;
    if (len != NULL)
        *len = t->litlen;
    return t->lit;
}

/* ---- compiler ------------------------------------------------------------------ */

bool tmpl_uses_env(const tmpl *t)
{
    return t != NULL && t->uses_env;
}

/* ---- env() sources ---------------------------------------------------------------- */

const char *tmpl_env_none(const char *name, char *why, size_t whycap, char *hint,
                          size_t hintcap)
{
    snprintf(why, whycap, "env(\"%s\") has no value: env() is resolved by the CLI that "
             "submits the run; the dashboard form cannot supply it, submit with `stampede "
             "run --master URL`", name);
    snprintf(hint, hintcap, "export %s=... in the shell that runs `stampede run --master URL`",
             name);
    return NULL;
}

const char *tmpl_env_process(void *ud, const char *name, char *why, size_t whycap,
                             char *hint, size_t hintcap)
{
    (void)ud;
    const char *val = getenv(name);
    if (val == NULL) {
        snprintf(why, whycap, "environment variable %s is not set", name);
        snprintf(hint, hintcap, "export %s=...", name);
    }
    return val;
}

/* Compile state: the template being built and where to report a problem. */
typedef struct tmpl_cc {
    tmpl            *t;
    uint32_t         pcap;
    size_t           lcap;
    const char      *text;
    size_t           len;
    const tmpl_syms *syms;
    char            *err, *hint;
    size_t           errcap, hintcap;
    size_t          *err_off;
    bool             nomem;
} tmpl_cc;

static const char *const tmpl_builtins[] = { "uuid", "counter", "user_id", "now_us", "rand_int",
                                             "env" };
#define TMPL_NBUILTINS (sizeof tmpl_builtins / sizeof tmpl_builtins[0])

/* Reports a problem at byte offset off; always returns -1 for `return tmpl_fail(...)`. */
__attribute__((format(printf, 3, 4)))
static int tmpl_fail(tmpl_cc *cc, size_t off, const char *fmt, ...)
{
    if (cc->err != NULL && cc->errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cc->err, cc->errcap, fmt, ap);
        va_end(ap);
    }
    if (cc->err_off != NULL)
        *cc->err_off = off;
    return -1;
}

__attribute__((format(printf, 2, 3)))
static void tmpl_hint(tmpl_cc *cc, const char *fmt, ...)
{
    if (cc->hint == NULL || cc->hintcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->hint, cc->hintcap, fmt, ap);
    va_end(ap);
}

static int tmpl_nomem(tmpl_cc *cc, size_t off)
{
    cc->nomem = true;
    return tmpl_fail(cc, off, "out of memory");
}

static int tmpl_lit_reserve(tmpl_cc *cc, size_t more)
{
    size_t need = cc->t->litlen + more + 1;
    if (need <= cc->lcap)
        return 0;
    size_t ncap = cc->lcap ? cc->lcap : 64;
    while (ncap < need)
        ncap *= 2;
    char *np = realloc(cc->t->lit, ncap);
    if (np == NULL)
        return -1;
    cc->t->lit = np;
    cc->lcap = ncap;
    return 0;
}

static tmpl_part *tmpl_part_add(tmpl_cc *cc, tmpl_part_kind kind)
{
    tmpl *t = cc->t;
    if (t->nparts == cc->pcap) {
        uint32_t ncap = cc->pcap ? cc->pcap * 2 : 4;
        tmpl_part *np = realloc(t->parts, ncap * sizeof *np);
        if (np == NULL)
            return NULL;
        t->parts = np;
        cc->pcap = ncap;
    }
    tmpl_part *p = &t->parts[t->nparts++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (kind != TP_LIT)
        t->is_static = false;
    return p;
}

/* Adds a capture variable part (slot); open is the hole's offset for an error. */
static int tmpl_add_var(tmpl_cc *cc, int slot, size_t open)
{
    tmpl_part *p = tmpl_part_add(cc, TP_VAR);
    if (p == NULL)
        return tmpl_nomem(cc, open);
    p->a = (uint32_t)slot;
    return 0;
}

/* Appends s[0..n) to the literal pool, escaped as JSON string content when esc. */
static int tmpl_lit_add(tmpl_cc *cc, const char *s, size_t n, bool esc)
{
    if (n == 0)
        return 0;
    tmpl *t = cc->t;
    if (tmpl_lit_reserve(cc, esc ? n * 6 : n) != 0)
        return -1;
    size_t start = t->litlen;
    if (!esc) {
        memcpy(t->lit + t->litlen, s, n);
        t->litlen += n;
    } else {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)s[i];
            char *o = t->lit + t->litlen;
            if (ch == '"' || ch == '\\') {
                o[0] = '\\';
                o[1] = (char)ch;
                t->litlen += 2;
            } else if (ch < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[ch >> 4];
                o[5] = hex[ch & 15];
                t->litlen += 6;
            } else {
                o[0] = (char)ch;
                t->litlen += 1;
            }
        }
    }
    t->lit[t->litlen] = '\0';
    tmpl_part *last = t->nparts ? &t->parts[t->nparts - 1] : NULL;
    if (last != NULL && last->kind == TP_LIT && last->a + last->b == start) {
        last->b += (uint32_t)(t->litlen - start);
        return 0;
    }
    tmpl_part *p = tmpl_part_add(cc, TP_LIT);
    if (p == NULL)
        return -1;
    p->a = (uint32_t)start;
    p->b = (uint32_t)(t->litlen - start);
    return 0;
}

static bool tmpl_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool tmpl_is_name(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* A token of the expression: offset and length in the template text. */
typedef struct tmpl_tok { size_t off, len; bool quoted; } tmpl_tok;

static bool tmpl_tok_is(const tmpl_cc *cc, tmpl_tok k, const char *word)
{
    return strlen(word) == k.len && memcmp(cc->text + k.off, word, k.len) == 0;
}

/* Copies a token into a NUL-terminated buffer, cut to cap - 1 bytes. */
static const char *tmpl_tok_str(const tmpl_cc *cc, tmpl_tok k, char *buf, size_t cap)
{
    size_t n = k.len < cap - 1 ? k.len : cap - 1;
    memcpy(buf, cc->text + k.off, n);
    buf[n] = '\0';
    return buf;
}

/* Hint for an unknown bare name: the nearest capture variable, feeder.column or
 * built-in. */
static int tmpl_hint_name(tmpl_cc *cc, const char *word)
{
    const tmpl_syms *s = cc->syms;
    const data_set *d = s ? s->data : NULL;
    size_t n = TMPL_NBUILTINS + (s ? s->nvars : 0);
    if (d != NULL)
        for (uint32_t i = 0; i < d->n; i++)
            n += d->f[i].ncols;
    const char **cands = calloc(n, sizeof *cands);
    char **owned = calloc(n, sizeof *owned);
    int rv = -1;
    size_t k = 0, nowned = 0;
    if (cands == NULL || owned == NULL)
        goto out;
    for (size_t i = 0; s != NULL && i < s->nvars; i++)
        cands[k++] = s->vars[i];
    for (uint32_t i = 0; d != NULL && i < d->n; i++)
        for (uint32_t j = 0; j < d->f[i].ncols; j++) {
            char *fc;
            if (asprintf(&fc, "%s.%s", d->f[i].name, d->f[i].cols[j]) < 0)
                goto out;
            owned[nowned++] = fc;
            cands[k++] = fc;
        }
    for (size_t i = 0; i < TMPL_NBUILTINS; i++)
        cands[k++] = tmpl_builtins[i];
    const char *best = nearest_name(word, cands, k);
    if (best != NULL) {
        if (strcmp(best, "rand_int") == 0)
            tmpl_hint(cc, "did you mean \"rand_int(a, b)\"?");
        else if (strcmp(best, "env") == 0)
            tmpl_hint(cc, "did you mean \"env(\"NAME\")\"?");
        else
            tmpl_hint(cc, "did you mean \"%s\"?", best);
    } else if (s == NULL || s->nvars == 0) {
        tmpl_hint(cc, "no capture variable is defined before this point; built-ins: "
                      "uuid, counter, user_id, now_us, rand_int(a, b), env(\"NAME\")");
    }
    rv = 0;
out:
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(cands);
    return rv;
}

/* feeder.column: resolves both names or reports which one is unknown. */
static int tmpl_compile_feed(tmpl_cc *cc, tmpl_tok fk, tmpl_tok ck)
{
    char fname[128], cname[128];
    const data_set *d = cc->syms ? cc->syms->data : NULL;
    tmpl_tok_str(cc, fk, fname, sizeof fname);
    tmpl_tok_str(cc, ck, cname, sizeof cname);
    int fi = (d != NULL && fk.len < sizeof fname) ? data_find(d, fname) : -1;
    if (fi < 0) {
        if (d == NULL || d->n == 0) {
            tmpl_hint(cc, "declare it under `data:` (e.g. %s: { csv: file.csv })", fname);
        } else {
            const char **names = calloc(d->n, sizeof *names);
            if (names == NULL)
                return tmpl_nomem(cc, fk.off);
            for (uint32_t i = 0; i < d->n; i++)
                names[i] = d->f[i].name;
            const char *best = nearest_name(fname, names, d->n);
            free(names);
            if (best != NULL)
                tmpl_hint(cc, "did you mean \"%s.%s\"?", best, cname);
        }
        return tmpl_fail(cc, fk.off, "unknown name \"%s.%s\": no variable or feeder \"%s\"",
                         fname, cname, fname);
    }
    const data_feeder *f = &d->f[fi];
    int ci = ck.len < sizeof cname ? data_col(f, cname) : -1;
    if (ci < 0) {
        const char *best = nearest_name(cname, (const char *const *)f->cols, f->ncols);
        if (best != NULL) {
            tmpl_hint(cc, "did you mean \"%s.%s\"?", fname, best);
        } else if (cc->hint != NULL && cc->hintcap > 0) {
            /* No near name: list the columns the file has. */
            size_t used = (size_t)snprintf(cc->hint, cc->hintcap, "its columns are:");
            for (uint32_t j = 0; j < f->ncols && used < cc->hintcap; j++)
                used += (size_t)snprintf(cc->hint + used, cc->hintcap - used, "%s %s",
                                         j ? "," : "", f->cols[j]);
        }
        return tmpl_fail(cc, ck.off, "feeder \"%s\" has no column \"%s\"", fname, cname);
    }
    tmpl_part *p = tmpl_part_add(cc, TP_FEED);
    if (p == NULL)
        return tmpl_nomem(cc, fk.off);
    p->a = (uint32_t)fi;
    p->b = (uint32_t)ci;
    return 0;
}

/* Parses a whole integer token (optional sign). */
static bool tmpl_parse_int(const tmpl_cc *cc, tmpl_tok k, int64_t *out)
{
    char buf[32];
    if (k.quoted || k.len == 0 || k.len >= sizeof buf)
        return false;
    tmpl_tok_str(cc, k, buf, sizeof buf);
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || end == buf)
        return false;
    *out = v;
    return true;
}

#define TMPL_MAXARGS 4

/* name(args): rand_int, uuid, counter, user_id, now_us, env. open is the offset of '('. */
static int tmpl_compile_call(tmpl_cc *cc, tmpl_tok name, size_t open, const tmpl_tok *args,
                             int nargs)
{
    if (tmpl_tok_is(cc, name, "rand_int")) {
        int64_t lo = 0, hi = 0;
        if (nargs != 2) {
            tmpl_hint(cc, "write rand_int(1, 100) for a number from 1 to 100");
            return tmpl_fail(cc, open, "rand_int takes two integers (a, b), got %d argument%s",
                             nargs, nargs == 1 ? "" : "s");
        }
        for (int i = 0; i < 2; i++) {
            int64_t v;
            if (!tmpl_parse_int(cc, args[i], &v)) {
                char buf[64];
                tmpl_hint(cc, "write rand_int(1, 100) for a number from 1 to 100");
                return tmpl_fail(cc, args[i].off, "rand_int: \"%s\" is not an integer",
                                 tmpl_tok_str(cc, args[i], buf, sizeof buf));
            }
            if (i == 0)
                lo = v;
            else
                hi = v;
        }
        if (lo > hi) {
            tmpl_hint(cc, "swap them: rand_int(%lld, %lld)", (long long)hi, (long long)lo);
            return tmpl_fail(cc, args[0].off, "rand_int(a, b) needs a <= b, got %lld > %lld",
                             (long long)lo, (long long)hi);
        }
        tmpl_part *p = tmpl_part_add(cc, TP_RAND);
        if (p == NULL)
            return tmpl_nomem(cc, name.off);
        p->lo = lo;
        p->hi = hi;
        return 0;
    }
    if (tmpl_tok_is(cc, name, "env")) {
        char var[256];
        if (nargs != 1 || args[0].len == 0) {
            tmpl_hint(cc, "write env(\"NAME\")");
            return tmpl_fail(cc, open, "env takes one variable name");
        }
        if (args[0].len >= sizeof var)
            return tmpl_fail(cc, args[0].off, "env: variable name too long");
        tmpl_tok_str(cc, args[0], var, sizeof var);
        /* The value comes only from the source the caller named (tmpl_syms.env); the
         * messages name the variable, never a value. */
        char why[512] = "", hint[384] = "";
        const char *val = NULL;
        if (cc->syms != NULL && cc->syms->env != NULL)
            val = cc->syms->env(cc->syms->env_ud, var, why, sizeof why, hint, sizeof hint);
        else
            tmpl_env_none(var, why, sizeof why, hint, sizeof hint);
        if (val == NULL) {
            if (hint[0])
                tmpl_hint(cc, "%s", hint);
            return tmpl_fail(cc, args[0].off, "%s",
                             why[0] ? why : "env() has no value here");
        }
        if (tmpl_lit_add(cc, val, strlen(val), cc->t->esc == TMPL_JSON) != 0)
            return tmpl_nomem(cc, name.off);
        cc->t->uses_env = true;
        return 0;
    }
    tmpl_part_kind kind;
    if (tmpl_tok_is(cc, name, "uuid"))
        kind = TP_UUID;
    else if (tmpl_tok_is(cc, name, "counter"))
        kind = TP_COUNTER;
    else if (tmpl_tok_is(cc, name, "user_id"))
        kind = TP_USER;
    else if (tmpl_tok_is(cc, name, "now_us"))
        kind = TP_NOW_US;
    else {
        char buf[128];
        const char *best = nearest_name(tmpl_tok_str(cc, name, buf, sizeof buf),
                                        tmpl_builtins, TMPL_NBUILTINS);
        if (best != NULL)
            tmpl_hint(cc, "did you mean \"%s(...)\"?", best);
        else
            tmpl_hint(cc, "functions: rand_int(a, b), uuid(), counter(), user_id, now_us, "
                          "env(\"NAME\")");
        return tmpl_fail(cc, name.off, "unknown function \"%s\"", buf);
    }
    if (nargs != 0) {
        char buf[32];
        return tmpl_fail(cc, args[0].off, "%s takes no arguments",
                         tmpl_tok_str(cc, name, buf, sizeof buf));
    }
    if (tmpl_part_add(cc, kind) == NULL)
        return tmpl_nomem(cc, name.off);
    return 0;
}

/* A quoted string at text[i] (a ' or "): its token without quotes; i moves past the
 * closing quote. -1 when the quote is not closed before end. */
static int tmpl_quoted(tmpl_cc *cc, size_t *i, size_t end, tmpl_tok *out)
{
    char q = cc->text[*i];
    size_t j = *i + 1;
    while (j < end && cc->text[j] != q)
        j++;
    if (j >= end) {
        tmpl_hint(cc, "close the string with %c", q);
        return tmpl_fail(cc, *i, "unterminated string");
    }
    out->off = *i + 1;
    out->len = j - *i - 1;
    out->quoted = true;
    *i = j + 1;
    return 0;
}

/* The expression text[beg..end) of the hole that opens at offset open. */
static int tmpl_compile_expr(tmpl_cc *cc, size_t open, size_t beg, size_t end)
{
    const char *s = cc->text;
    size_t i = beg;
    while (i < end && tmpl_is_space(s[i]))
        i++;
    while (end > i && tmpl_is_space(s[end - 1]))
        end--;
    if (i == end) {
        tmpl_hint(cc, "write a name between the braces, e.g. {{ token }}");
        return tmpl_fail(cc, open, "empty expression");
    }
    if (s[i] == '\'' || s[i] == '"') {
        tmpl_tok str;
        if (tmpl_quoted(cc, &i, end, &str) != 0)
            return -1;
        while (i < end && tmpl_is_space(s[i]))
            i++;
        if (i != end)
            return tmpl_fail(cc, i, "unexpected text after the string");
        if (tmpl_lit_add(cc, s + str.off, str.len, cc->t->esc == TMPL_JSON) != 0)
            return tmpl_nomem(cc, open);
        return 0;
    }
    tmpl_tok name = { i, 0, false };
    while (i < end && tmpl_is_name(s[i]))
        i++;
    name.len = i - name.off;
    if (name.len == 0)
        return tmpl_fail(cc, i, "unexpected character '%c' (expected a name)", s[i]);
    size_t after = i;
    while (i < end && tmpl_is_space(s[i]))
        i++;

    if (i < end && s[i] == '(') {
        size_t open_paren = i++;
        tmpl_tok args[TMPL_MAXARGS];
        int nargs = 0;
        for (;;) {
            while (i < end && tmpl_is_space(s[i]))
                i++;
            if (i < end && s[i] == ')' && nargs == 0) {
                i++;
                break;
            }
            if (nargs == TMPL_MAXARGS)
                return tmpl_fail(cc, i, "too many arguments");
            tmpl_tok a = { i, 0, false };
            if (i < end && (s[i] == '\'' || s[i] == '"')) {
                if (tmpl_quoted(cc, &i, end, &a) != 0)
                    return -1;
            } else {
                while (i < end && s[i] != ',' && s[i] != ')' && !tmpl_is_space(s[i]))
                    i++;
                a.len = i - a.off;
                if (a.len == 0)
                    return tmpl_fail(cc, i, "missing argument");
            }
            args[nargs++] = a;
            while (i < end && tmpl_is_space(s[i]))
                i++;
            if (i < end && s[i] == ',') {
                i++;
                continue;
            }
            if (i < end && s[i] == ')') {
                i++;
                break;
            }
            if (i >= end) {
                tmpl_hint(cc, "close the call with )");
                return tmpl_fail(cc, open_paren, "unclosed \"(\"");
            }
            return tmpl_fail(cc, i, "unexpected character '%c' in arguments", s[i]);
        }
        if (i != end)
            return tmpl_fail(cc, i, "unexpected text after the call");
        return tmpl_compile_call(cc, name, open_paren, args, nargs);
    }

    char buf[256];
    if (i < end && s[i] == '.' && i == after) {
        tmpl_tok col = { i + 1, 0, false };
        i++;
        while (i < end && tmpl_is_name(s[i]))
            i++;
        col.len = i - col.off;
        if (col.len == 0)
            return tmpl_fail(cc, col.off, "expected a column name after \".\"");
        if (i != end)
            return tmpl_fail(cc, i, "unexpected character '%c'", s[i]);
        tmpl_tok whole = { name.off, col.off + col.len - name.off, false };
        int slot = whole.len < sizeof buf
                       ? tmpl_syms_find(cc->syms, tmpl_tok_str(cc, whole, buf, sizeof buf))
                       : -1;
        if (slot >= 0)
            return tmpl_add_var(cc, slot, open);
        return tmpl_compile_feed(cc, name, col);
    }
    if (i != end)
        return tmpl_fail(cc, i, "unexpected character '%c'", s[i]);

    if (name.len >= sizeof buf)
        return tmpl_fail(cc, name.off, "name too long");
    tmpl_tok_str(cc, name, buf, sizeof buf);
    int slot = tmpl_syms_find(cc->syms, buf);
    if (slot >= 0)
        return tmpl_add_var(cc, slot, open);
    if (strcmp(buf, "uuid") == 0 || strcmp(buf, "counter") == 0 || strcmp(buf, "user_id") == 0 ||
        strcmp(buf, "now_us") == 0)
        return tmpl_compile_call(cc, name, after, NULL, 0);
    if (strcmp(buf, "rand_int") == 0) {
        tmpl_hint(cc, "write rand_int(1, 100) for a number from 1 to 100");
        return tmpl_fail(cc, name.off, "rand_int needs two integers: rand_int(a, b)");
    }
    if (strcmp(buf, "env") == 0) {
        tmpl_hint(cc, "write env(\"NAME\")");
        return tmpl_fail(cc, name.off, "env needs a variable name: env(\"NAME\")");
    }
    if (tmpl_hint_name(cc, buf) != 0)
        return tmpl_nomem(cc, name.off);
    return tmpl_fail(cc, name.off, "unknown name \"%s\"", buf);
}

tmpl *tmpl_compile(const char *text, size_t len, tmpl_escape esc, const tmpl_syms *syms,
                   char *err, size_t errcap, char *hint, size_t hintcap, size_t *err_off)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (hint != NULL && hintcap > 0)
        hint[0] = '\0';
    if (err_off != NULL)
        *err_off = 0;
    tmpl_cc cc = { .text = text, .len = len, .syms = syms, .err = err, .errcap = errcap,
                   .hint = hint, .hintcap = hintcap, .err_off = err_off };
    if (len >= UINT32_MAX) {
        tmpl_fail(&cc, 0, "template too long");
        return NULL;
    }
    cc.t = calloc(1, sizeof *cc.t);
    if (cc.t == NULL) {
        tmpl_nomem(&cc, 0);
        return NULL;
    }
    cc.t->esc = esc;
    cc.t->is_static = true;
    if (tmpl_lit_reserve(&cc, 0) != 0) {
        tmpl_nomem(&cc, 0);
        goto fail;
    }
    cc.t->lit[0] = '\0';

    size_t i = 0, lit = 0;
    while (i + 1 < len) {
        if (!(text[i] == '{' && text[i + 1] == '{')) {
            i++;
            continue;
        }
        if (tmpl_lit_add(&cc, text + lit, i - lit, false) != 0) {
            tmpl_nomem(&cc, i);
            goto fail;
        }
        /* Find the closing "}}", stepping over quoted strings so {{ '}}' }} works. */
        size_t open = i, j = i + 2, close = 0;
        bool found = false;
        while (j < len) {
            char c = text[j];
            if (c == '\'' || c == '"') {
                size_t q = j + 1;
                while (q < len && text[q] != c)
                    q++;
                if (q >= len) {
                    tmpl_hint(&cc, "close the string with %c", c);
                    tmpl_fail(&cc, j, "unterminated string");
                    goto fail;
                }
                j = q + 1;
            } else if (c == '}' && j + 1 < len && text[j + 1] == '}') {
                close = j;
                found = true;
                break;
            } else {
                j++;
            }
        }
        if (!found) {
            tmpl_hint(&cc, "close it with \"}}\"; a literal \"{{\" is written {{ '{{' }}");
            tmpl_fail(&cc, open, "unclosed \"{{\"");
            goto fail;
        }
        if (tmpl_compile_expr(&cc, open, open + 2, close) != 0)
            goto fail;
        i = lit = close + 2;
    }
    if (tmpl_lit_add(&cc, text + lit, len - lit, false) != 0) {
        tmpl_nomem(&cc, lit);
        goto fail;
    }
    return cc.t;
fail:
    tmpl_free(cc.t);
    return NULL;
}
