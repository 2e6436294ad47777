/* Growable byte buffer, always NUL-terminated (so it doubles as a string builder). */
#ifndef IDSYNC_UTIL_BUF_H
#define IDSYNC_UTIL_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;   /* owned; NULL until first append; data[len] == '\0' */
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_varint(buf *b, uint64_t v);
void buf_reset(buf *b);                  /* len = 0, keeps memory */
void buf_free(buf *b);                   /* releases memory; b is reusable */
char *buf_steal(buf *b, size_t *len);    /* caller owns the result (never NULL); b is emptied */

/* Reads a varint written by buf_put_varint from *p (advancing it) without passing end.
 * Returns 0, or -1 on truncated input. */
int varint_get(const unsigned char **p, const unsigned char *end, uint64_t *out);
#endif
