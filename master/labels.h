/* A run's labels (issue 14: --label K=V): the one rule for them and their JSON text,
 * used by the CLI, the API's run submissions, the history and the recorder. A key is
 * 1..LABEL_KEY_MAX of A-Z a-z 0-9 _ . -, a value at most LABEL_VALUE_MAX bytes, at most
 * LABELS_MAX labels a run. Pure (jansson only), any thread. */
#ifndef MASTER_LABELS_H
#define MASTER_LABELS_H
#include <stdbool.h>
#include <stddef.h>

#define LABELS_MAX      32
#define LABEL_KEY_MAX   64
#define LABEL_VALUE_MAX 256

/* key[0..klen) and value follow the rule above. */
bool labels_ok(const char *key, size_t klen, const char *value);
/* "K=V" strings as the JSON object text {"K": "V"}: malloc'd, NULL with err for a bad
 * one ("--label \"x y=1\": want K=V, ...") or too many. */
char *labels_to_json(const char *const *kv, int n, char *err, size_t errcap);
#endif
