/* A run's labels: master/labels.h. */
#include "master/labels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

bool labels_ok(const char *key, size_t klen, const char *value)
{
    if (!key || klen == 0 || klen > LABEL_KEY_MAX || !value || strlen(value) > LABEL_VALUE_MAX) return false;
    for (size_t j = 0; j < klen; j++) {
        char c = key[j];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

char *labels_to_json(const char *const *kv, int n, char *err, size_t errcap)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        size_t kn = eq ? (size_t)(eq - kv[i]) : 0;
        if (!eq || !labels_ok(kv[i], kn, eq + 1) || i >= LABELS_MAX) {
            snprintf(err, errcap, "--label \"%.80s\": %s", kv[i],
                     i >= LABELS_MAX ? "too many labels (at most 32)"
                                     : "want K=V, K 1..64 of A-Z a-z 0-9 _ . - and V at most 256 bytes");
            json_decref(o);
            return NULL;
        }
        char key[LABEL_KEY_MAX + 1];
        memcpy(key, kv[i], kn);
        key[kn] = 0;
        json_object_set_new(o, key, json_string(eq + 1));
    }
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!t) snprintf(err, errcap, "out of memory");
    return t;
}
