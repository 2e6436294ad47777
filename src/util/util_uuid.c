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
    /* the 8-4-4-4-12 form, written without printf (a first sync makes one per provisioned object) */
    static const char hx[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hx[b[i] >> 4];
        *p++ = hx[b[i] & 15];
    }
    *p = '\0';
}

char *hex_encode(const void *data, unsigned long len)
{
    char *out = xmalloc(len * 2 + 1);
    sodium_bin2hex(out, len * 2 + 1, data, len);
    return out;
}
