/* Expect and captures over a response or a message: see worker/check.h.
 *
 * Decisions written down here:
 * - The order of an http step's checks is status, contains, json expect, then the
 *   captures; the first failure is the one reported.
 * - JSON is read with jansson, once per response and only when a JSON condition is
 *   there, so captures give exactly the text they gave before this file (common/
 *   capture.h: strings unquoted, reals in their shortest round-trip form, objects and
 *   arrays as compact JSON). The non-allocating scanner (common/jscan.h) is not used
 *   yet: a jpath does not hand out its compiled jscan_path, and jscan has no decoder
 *   of a string value into a buffer; both belong to common/ (capture.h, jscan.h). */
#include "worker/check.h"

#include <stdio.h>
#include <string.h>
#include <jansson.h>

void check_http_needs(const sc_http *h, bool *body, bool *hdrs)
{
    *body = h->expect.json_path || h->expect.contains;
    *hdrs = false;
    for (int i = 0; i < h->ncaptures; i++) {
        if (h->captures[i].kind == CAP_HEADER) *hdrs = true;
        else *body = true;
    }
}

static bool check_needs_json(const sc_capture *c, int n)
{
    for (int i = 0; i < n; i++)
        if (c[i].kind == CAP_JSON) return true;
    return false;
}

/* Runs the captures over a document read once (doc may be NULL: JSON captures fail). */
static const char *check_captures_doc(const sc_capture *c, int n, const check_input *in,
                                      json_t *doc, tmpl_val *vars)
{
    for (int i = 0; i < n; i++) {
        tmpl_val *out = &vars[c[i].slot];
        int rv = -1;
        if (c[i].kind == CAP_JSON) {
            json_t *val = doc ? jpath_get(c[i].path, doc) : NULL;
            rv = val ? jpath_text(val, out) : -1;
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

static json_t *check_doc(const check_input *in)
{
    return in->body ? json_loadb(in->body, in->len, 0, NULL) : NULL;
}

const char *check_captures(const sc_capture *c, int n, const check_input *in, tmpl_val *vars)
{
    if (n == 0) return NULL;
    json_t *doc = check_needs_json(c, n) ? check_doc(in) : NULL;
    const char *bad = check_captures_doc(c, n, in, doc, vars);
    if (doc) json_decref(doc);
    return bad;
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
    bool need_json = x->json_path != NULL || check_needs_json(h->captures, h->ncaptures);
    json_t *doc = need_json ? check_doc(in) : NULL;
    bool good = true;
    if (x->json_path) {
        json_t *val = doc ? jpath_get(x->json_path, doc) : NULL;
        tmpl_val tv = { 0 };
        bool eq = val && jpath_text(val, &tv) == 0 &&
                  (!x->json_equals || !strcmp(tv.p ? tv.p : "", x->json_equals));
        tmpl_val_fini(&tv);
        if (!eq) {
            *kind = ERR_EXPECT;
            snprintf(detail, cap, "%.50s", x->json_path_text);
            good = false;
        }
    }
    if (good) {
        const char *bad = check_captures_doc(h->captures, h->ncaptures, in, doc, vars);
        if (bad) {
            *kind = ERR_EXPECT;
            snprintf(detail, cap, "capture %.40s", bad);
            good = false;
        }
    }
    if (doc) json_decref(doc);
    return good;
}
