/* libFuzzer target over proto_decode (the bytes a master or worker receives from the
 * network). Beyond "no crash, no leak, no sanitizer report" it checks two properties:
 * a failed decode leaves nothing behind (the message is zeroed), and a message that
 * decodes re-encodes to bytes that decode again and re-encode identically (the codec
 * is a fixed point after one normalisation: trailing fields dropped, ints as doubles). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_msg m;
    int rv = proto_decode((const char *)data, size, &m);
    if (rv != PROTO_OK) {
        if (rv != PROTO_ETOOBIG && rv != PROTO_EVERSION && rv != PROTO_EMALFORMED &&
            rv != PROTO_ETYPE && rv != PROTO_ENOMEM)
            abort();
        if (!all_zero(&m, sizeof m))
            abort();
        return 0;
    }

    char *b1, *b2;
    size_t l1, l2;
    if (proto_encode(&m, &b1, &l1) != 0)
        abort();
    proto_msg m2;
    if (proto_decode(b1, l1, &m2) != PROTO_OK)
        abort();
    if (m2.type != m.type || proto_encode(&m2, &b2, &l2) != 0)
        abort();
    if (l1 != l2 || memcmp(b1, b2, l1) != 0)
        abort();
    if (m.type == MSG_STATS)
        for (uint32_t i = 0; i < m.u.stats.nentries; i++)
            if (hist_percentile(&m.u.stats.entries[i].lat, 99) !=
                hist_percentile(&m2.u.stats.entries[i].lat, 99))
                abort();
    free(b1);
    free(b2);
    proto_msg_free(&m2);
    proto_msg_free(&m);
    return 0;
}
