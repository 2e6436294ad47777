/* One allocation wrapper for all of idsync: out-of-memory is handled in one place
 * (the process aborts with a message: a sync server that cannot allocate cannot
 * make progress safely), and tests can inject a failure at the Nth allocation. */
#ifndef IDSYNC_UTIL_ALLOC_H
#define IDSYNC_UTIL_ALLOC_H
#include <stddef.h>

/* All return memory the caller frees with free(); they never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* printf into a new string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees *pp and sets it to NULL. */
#define FREE_AND_NULL(p) do { free(p); (p) = NULL; } while (0)

/* Overwrites n bytes of p with zeros in a way the compiler keeps (for secrets). */
void xwipe(void *p, size_t n);
/* Wipes then frees a NUL-terminated secret string; accepts NULL. */
void xfree_secret(char *s);
#endif
