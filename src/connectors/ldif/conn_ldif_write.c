/* Writing LDIF attribute lines (RFC 2849): SAFE-STRING check, base64, folding at 76 columns. */
#include "connectors/ldif/conn_ldif_int.h"
#include "util/util_alloc.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define LDIF_FOLD 76

/* RFC 2849: SAFE-INIT-CHAR excludes NUL, LF, CR, space, ':' and '<'; SAFE-CHAR is ASCII except
 * NUL, LF, CR. Values ending in a space are base64-encoded too (note 8). */
static bool safe_string(const unsigned char *v, size_t len)
{
    if (len == 0) return true;
    if (v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len - 1] == ' ') return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] == 0 || v[i] == '\n' || v[i] == '\r' || v[i] > 0x7f) return false;
    return true;
}

/* Appends text as one logical line, folded: continuation lines start with one space. */
static void put_folded(buf *out, const char *text, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        if (col == LDIF_FOLD) {
            buf_puts(out, "\n ");
            col = 1;
        }
        buf_putc(out, text[i]);
        col++;
    }
    buf_putc(out, '\n');
}

void ldif_write_attr(buf *out, const char *name, const void *val, size_t len)
{
    buf line = BUF_INIT;
    buf_puts(&line, name);
    if (safe_string(val, len)) {
        buf_puts(&line, len ? ": " : ":");
        buf_append(&line, val, len);
    } else {
        size_t b64max = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = xmalloc(b64max);
        sodium_bin2base64(b64, b64max, val, len, sodium_base64_VARIANT_ORIGINAL);
        buf_puts(&line, ":: ");
        buf_puts(&line, b64);
        free(b64);
    }
    put_folded(out, line.data, line.len);
    buf_free(&line);
}
