/* A one-producer, one-consumer work queue with its own worker thread: the import reads and
 * decodes the directory on the calling thread while the worker writes to the sync database,
 * so the two costs overlap on a machine with more than one core.
 *
 * Contract: the caller must not use the store (or anything else the handler touches) while
 * the worker may be running items; pipe_drain() returns with the worker idle, after which the
 * caller may use them until its next pipe_push(). Items are handled in push order. After the
 * handler fails once, every later item is freed unhandled and push/drain/finish return that
 * first error (its message copied into their err). */
#ifndef IDSYNC_ENGINE_PIPE_H
#define IDSYNC_ENGINE_PIPE_H
#include "util/util_err.h"
#include <stddef.h>

typedef struct engine_pipe engine_pipe;

/* Handles one item on the worker thread; the pipe frees the item afterwards with free_item. */
typedef int (*engine_pipe_fn)(void *ctx, void *item, err *e);

/* Starts the worker. Returns NULL (with e filled) if the thread cannot be created. */
engine_pipe *engine_pipe_start(engine_pipe_fn fn, void (*free_item)(void *item), void *ctx, err *e);
/* Queues item (ownership passes to the pipe, also on failure). Items are handed over in
   batches, so the worker may not see an item until more follow or pipe_drain is called. */
int engine_pipe_push(engine_pipe *p, void *item, err *e);
/* Hands over every queued item and waits until the worker has handled all of them. */
int engine_pipe_drain(engine_pipe *p, err *e);
/* Drains, stops the worker and frees p (accepts NULL). Returns the worker's first error. */
int engine_pipe_finish(engine_pipe *p, err *e);
#endif
