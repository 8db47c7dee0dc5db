/* libFuzzer target over ws_handshake_check (worker/ws.h): the bytes a WebSocket server
 * answers to our upgrade request. Beyond "no crash, no sanitizer report" it checks that
 * consumed never exceeds len, is 0 for "need more", and that a verdict on a complete
 * header block does not change when more bytes follow it (frames may be glued on). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ws.h"

#define FUZZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly size bytes, so ASan catches any read past len */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    const char *subproto = size > 0 && (data[0] & 1) ? "chat" : NULL;
    char err[128];
    size_t used = 12345;
    int r = ws_handshake_check(buf, size, FUZZ_KEY, subproto, &used, err, sizeof err);
    if (r < -1 || r > 1 || used > size || (r == 0 && used != 0) || (r == 1 && used == 0))
        abort();
    if (r != 0 && used > 0 && used < size) {
        size_t used2 = 0;
        int r2 = ws_handshake_check(buf, used, FUZZ_KEY, subproto, &used2, err, sizeof err);
        if (r2 != r || used2 != used)
            abort();
    }
    (void)ws_handshake_status(buf, size);
    free(buf);
    return 0;
}
