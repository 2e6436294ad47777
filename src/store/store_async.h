/* Asynchronous writes (internal to the store): a writer thread executes the statements a caller
 * queues, in order, on the store's one connection, while the caller goes on computing.
 *
 * Only store functions that say so queue their statement when writes are asynchronous
 * (store_async_active); every other use of the store from the caller's thread first waits until
 * all that was queued has executed (store_sync, called by store_stmt, store_begin, ...), so it
 * reads every queued write and the connection is never used by two threads at once. A queued
 * statement that fails makes the next store_sync (and store_async_end) return its error; the
 * statements queued after it are discarded. */
#ifndef IDSYNC_STORE_ASYNC_H
#define IDSYNC_STORE_ASYNC_H
#include "store/store_int.h"

typedef struct store_async store_async;

/* Whether the calling thread queues (asynchronous writes on, and not the writer itself). */
bool store_async_active(const store *s);
/* store_sync (store.h) is also a no-op on the writer thread itself. */

/* Queuing one statement: store_aop_begin, then parameters in order (text and blobs are copied into
   the batch; store_aop_blob_take also frees the caller's malloc'd buffer), then store_aop_end. */
void store_aop_begin(store *s, const char *sql);   /* sql: a static string, as for store_stmt */
void store_aop_null(store *s);
void store_aop_int(store *s, int64_t v);
void store_aop_text(store *s, const char *v);      /* NULL binds NULL */
void store_aop_blob(store *s, const void *v, size_t len);
void store_aop_blob_take(store *s, void *v, size_t len);
/* Returns the error of an earlier queued statement, if one failed. */
int store_aop_end(store *s, err *e);
#endif
