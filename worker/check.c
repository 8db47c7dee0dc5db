/* Expect and captures over a response or a message: see worker/check.h.
 *
 * Decisions written down here:
 * - The order of an http step's checks is status, contains, json expect, then the
 *   captures; the first failure is the one reported.
 * - JSON is read by common/jscan_doc.h's strict reader, once per condition, without a
 *   tree: it accepts exactly the documents jansson's json_loadb(body, len, 0) accepted
 *   before (the whole body is validated, also after the value; root an object or an
 *   array; valid UTF-8; no \u0000; int64 integers; no real overflow; depth 2048), takes
 *   the last of duplicate names, and writes a value's text as common/capture.h's
 *   jpath_text did (tests/unit/test_check.c holds the two side by side, jansson as the
 *   oracle). A response read for several JSON conditions is walked once for each.
 * - A captured value is written straight into its variable's buffer (tmpl_val), which
 *   grows to its high-water mark: once it is large enough a check allocates nothing.
 *   The rare growth goes through one temporary of the value's size (tmpl.h offers no
 *   "reserve"; tmpl_val_set is the one that grows the buffer). */
#include "worker/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/jscan_doc.h"
#include "common/jscan_text.h"

void check_http_needs(const sc_http *h, bool *body, bool *hdrs)
{
    *body = h->expect.json_path || h->expect.contains;
    *hdrs = false;
    for (int i = 0; i < h->ncaptures; i++) {
        if (h->captures[i].kind == CAP_HEADER) *hdrs = true;
        else *body = true;
    }
}

/* The text of the value at path in the body into out. 0, or -1 when the body is not a
 * document jansson would load, the value is absent, or out of memory. */
static int check_json_capture(const jpath *path, const check_input *in, tmpl_val *out)
{
    jscan_val v;
    if (in->body == NULL || jscan_doc_find(jpath_scan(path), in->body, in->len, &v) != 1)
        return -1;
    size_t n;
    if (jscan_text(&v, out->p, out->cap, &n) != 0)
        return -1;
    if (n < out->cap) {                         /* it fit, with room for the NUL */
        out->p[n] = '\0';
        out->len = (uint32_t)n;
        out->set = true;
        return 0;
    }
    char *tmp = malloc(n + 1);
    if (tmp == NULL)
        return -1;
    int rv = jscan_text(&v, tmp, n + 1, &n) == 0 ? tmpl_val_set(out, tmp, n) : -1;
    free(tmp);
    return rv;
}

const char *check_captures(const sc_capture *c, int n, const check_input *in, tmpl_val *vars)
{
    for (int i = 0; i < n; i++) {
        tmpl_val *out = &vars[c[i].slot];
        int rv = -1;
        if (c[i].kind == CAP_JSON) {
            rv = check_json_capture(c[i].path, in, out);
        } else if (c[i].kind == CAP_HEADER) {
            rv = in->hdrs ? capture_header(in->hdrs, in->hdrs_len, c[i].expr, out) : -1;
        } else {
            rv = in->body ? capre_match(c[i].re, in->body, out) : -1;
        }
        if (rv != 0) {
            out->set = false;
            return c[i].var;
        }
    }
    return NULL;
}

bool check_http(const sc_http *h, const check_input *in, tmpl_val *vars,
                stats_err_kind *kind, char *detail, size_t cap)
{
    const sc_expect *x = &h->expect;
    bool ok = false;
    if (x->nstatus == 0) {
        ok = in->status > 0 && in->status < 400;
    } else {
        for (int i = 0; i < x->nstatus; i++) ok = ok || x->status[i] == in->status;
    }
    if (!ok) {
        *kind = ERR_HTTP_STATUS;
        snprintf(detail, cap, "%ld", in->status);
        return false;
    }
    if (x->contains && (!in->body || !strstr(in->body, x->contains))) {
        *kind = ERR_EXPECT;
        snprintf(detail, cap, "body lacks \"%.40s\"", x->contains);
        return false;
    }
    if (x->json_path) {
        jscan_val v;
        bool eq = in->body != NULL &&
                  jscan_doc_find(jpath_scan(x->json_path), in->body, in->len, &v) == 1 &&
                  (!x->json_equals || jscan_text_is(&v, x->json_equals, strlen(x->json_equals)));
        if (!eq) {
            *kind = ERR_EXPECT;
            snprintf(detail, cap, "%.50s", x->json_path_text);
            return false;
        }
    }
    const char *bad = check_captures(h->captures, h->ncaptures, in, vars);
    if (bad) {
        *kind = ERR_EXPECT;
        snprintf(detail, cap, "capture %.40s", bad);
        return false;
    }
    return true;
}
