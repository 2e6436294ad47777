/* UUID and hex helpers over libsodium's CSPRNG. */
#include "util/util_uuid.h"
#include "util/util_alloc.h"
#include <sodium.h>
#include <stdio.h>

void uuid_v4(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

char *hex_encode(const void *data, unsigned long len)
{
    char *out = xmalloc(len * 2 + 1);
    sodium_bin2hex(out, len * 2 + 1, data, len);
    return out;
}
