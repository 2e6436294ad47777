/* A one-producer, one-consumer work queue with its own worker thread: the import reads and
 * decodes the directory on the calling thread while the worker writes to the sync database,
 * so the two costs overlap on a machine with more than one core.
 *
 * Items are bytes the producer writes straight into the batch being filled (engine_pipe_reserve,
 * then engine_pipe_push); batches are handed over whole and recycled, so an item costs no
 * allocation and no thread ever frees another's memory.
 *
 * Contract: the caller must not use the store (or anything else the handler touches) while
 * the worker may be running items; engine_pipe_drain() returns with the worker idle, after
 * which the caller may use them until its next engine_pipe_push(). Items are handled in push
 * order. After the handler fails once, later items are dropped unhandled and push/drain/finish
 * return that first error (its message copied into their err). */
#ifndef IDSYNC_ENGINE_PIPE_H
#define IDSYNC_ENGINE_PIPE_H
#include "util/util_err.h"
#include <stddef.h>

typedef struct engine_pipe engine_pipe;

/* Handles one item on the worker thread. The item's bytes are valid during the call only. */
typedef int (*engine_pipe_fn)(void *ctx, void *item, size_t len, err *e);

/* Starts the worker. Returns NULL (with e filled) if the thread cannot be created. */
engine_pipe *engine_pipe_start(engine_pipe_fn fn, void *ctx, err *e);
/* Space for the next item: n bytes, aligned for any type, valid until engine_pipe_push. */
void *engine_pipe_reserve(engine_pipe *p, size_t n);
/* Queues the reserved item. The worker may not see it until more follow or engine_pipe_drain. */
int engine_pipe_push(engine_pipe *p, err *e);
/* Hands over every queued item and waits until the worker has handled all of them. */
int engine_pipe_drain(engine_pipe *p, err *e);
/* Drains, stops the worker and frees p (accepts NULL). Returns the worker's first error. */
int engine_pipe_finish(engine_pipe *p, err *e);
#endif
