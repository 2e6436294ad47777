/* Error reporting: every function that can fail returns 0 on success or a negative
 * code, and fills an err the caller can print. Messages name the object and the fix. */
#ifndef IDSYNC_UTIL_ERR_H
#define IDSYNC_UTIL_ERR_H
#include <stddef.h>

enum {
    ERR_OK = 0,
    ERR_FAIL = -1,      /* generic failure; message says why */
    ERR_USAGE = -2,     /* bad arguments or configuration supplied by the user */
    ERR_NOTFOUND = -3,  /* the named object does not exist */
    ERR_EXISTS = -4,    /* the named object exists already */
    ERR_REFUSED = -5,   /* a safety rule refused (staging, ownership, version, threshold) */
    ERR_RETRY = -6,     /* transient: busy, unavailable, 429/503; retry later */
    ERR_AUTH = -7,      /* credentials rejected or missing */
    ERR_CORRUPT = -8,   /* data is not what it should be (checksum, format, not ours) */
    ERR_PARTIAL = -9,   /* done, with per-object errors recorded */
};

typedef struct err {
    int code;          /* one of ERR_*; 0 when no error */
    char msg[1024];    /* human-readable, complete sentence(s) */
} err;

/* Sets e->code and e->msg (printf style) and returns code, so callers can write
 * `return err_set(e, ERR_FAIL, "...")`. e may be NULL. */
int err_set(err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (context as the error travels up). */
int err_prefix(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(err *e);
#endif
