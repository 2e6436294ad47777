/* Worker-thread queue for the import (see engine_pipe.h). The producer fills a batch (a byte
 * buffer plus item offsets) and hands whole batches over, so the mutex and the worker's wake-up
 * cost once per batch, not per object; the queue of batches is bounded, so a slow database holds
 * back the reader instead of buffering a whole directory in memory. Handled batches go back to
 * a free list for the producer to refill. */
#include "engine/engine_pipe.h"
#include "util/util_alloc.h"
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_BATCH 256     /* items per hand-over */
#define PIPE_DEPTH 8       /* batches queued at most: 2,048 objects in flight */
#define PIPE_BYTES 65536   /* a batch's initial buffer; grows for large objects */

typedef struct pipe_batch {
    struct pipe_batch *next;   /* free list */
    size_t n;
    size_t off[PIPE_BATCH], len[PIPE_BATCH];   /* item i is len[i] bytes at mem + off[i] */
    size_t used, cap;
    char *mem;
} pipe_batch;

struct engine_pipe {
    engine_pipe_fn fn;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work;   /* worker waits: queue empty */
    pthread_cond_t has_room;   /* producer waits: queue full, or drain waits for idle */
    pipe_batch *queue[PIPE_DEPTH];
    size_t head, count;        /* ring of queued batches */
    pipe_batch *spare;         /* handled batches, ready for reuse */
    bool busy;                 /* worker is handling a batch */
    bool stopping;
    int rc;                    /* first handler error, 0 if none */
    err e;                     /* its message */
    pipe_batch *filling;       /* producer-side batch not yet handed over */
    size_t reserved;           /* bytes of the item being written into filling */
};

static void batch_free(pipe_batch *b)
{
    if (!b) return;
    free(b->mem);
    free(b);
}

static void *worker(void *arg)
{
    engine_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping) pthread_cond_wait(&p->has_work, &p->mu);
        if (p->count == 0 && p->stopping) break;
        pipe_batch *b = p->queue[p->head];
        p->head = (p->head + 1) % PIPE_DEPTH;
        p->count--;
        p->busy = true;
        int failed = p->rc;
        pthread_mutex_unlock(&p->mu);
        pthread_cond_signal(&p->has_room);
        err e = {0};
        int rc = 0;
        for (size_t i = 0; !failed && rc == 0 && i < b->n; i++)
            rc = p->fn(p->ctx, b->mem + b->off[i], b->len[i], &e);
        b->n = 0;
        b->used = 0;
        pthread_mutex_lock(&p->mu);
        b->next = p->spare;
        p->spare = b;
        if (rc && !p->rc) {
            p->rc = rc;
            p->e = e;
        }
        p->busy = false;
        pthread_cond_broadcast(&p->has_room);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

engine_pipe *engine_pipe_start(engine_pipe_fn fn, void *ctx, err *e)
{
    engine_pipe *p = xcalloc(1, sizeof *p);
    p->fn = fn;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->has_work, NULL);
    pthread_cond_init(&p->has_room, NULL);
    if (pthread_create(&p->thread, NULL, worker, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->has_work);
        pthread_cond_destroy(&p->has_room);
        free(p);
        err_set(e, ERR_FAIL, "cannot start the import's database writer thread");
        return NULL;
    }
    return p;
}

/* Returns the worker's error (copied into e) or 0. Called with mu held. */
static int pipe_error(engine_pipe *p, err *e)
{
    if (!p->rc) return 0;
    if (e) *e = p->e;
    return p->rc;
}

static int hand_over(engine_pipe *p, err *e)
{
    pipe_batch *b = p->filling;
    p->filling = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->count == PIPE_DEPTH && !p->rc) pthread_cond_wait(&p->has_room, &p->mu);
    int rc = pipe_error(p, e);
    if (rc == 0) {
        p->queue[(p->head + p->count) % PIPE_DEPTH] = b;
        p->count++;
    } else {
        /* after a failure nothing more is handled: keep the batch for reuse */
        b->n = 0;
        b->used = 0;
        b->next = p->spare;
        p->spare = b;
    }
    pthread_mutex_unlock(&p->mu);
    if (rc == 0) pthread_cond_signal(&p->has_work);
    return rc;
}

void *engine_pipe_reserve(engine_pipe *p, size_t n)
{
    if (!p->filling) {
        pthread_mutex_lock(&p->mu);
        pipe_batch *b = p->spare;
        if (b) p->spare = b->next;
        pthread_mutex_unlock(&p->mu);
        if (!b) {
            b = xcalloc(1, sizeof *b);
            b->cap = PIPE_BYTES;
            b->mem = xmalloc(b->cap);
        }
        p->filling = b;
    }
    pipe_batch *b = p->filling;
    size_t start = (b->used + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if (start + n > b->cap) {
        /* offsets, not pointers, name the items: the buffer may move while it fills */
        while (start + n > b->cap) b->cap *= 2;
        b->mem = xrealloc(b->mem, b->cap);
    }
    b->off[b->n] = start;
    p->reserved = n;
    return b->mem + start;
}

int engine_pipe_push(engine_pipe *p, err *e)
{
    pipe_batch *b = p->filling;
    b->len[b->n] = p->reserved;
    b->used = b->off[b->n] + p->reserved;
    if (++b->n < PIPE_BATCH) return 0;
    return hand_over(p, e);
}

int engine_pipe_drain(engine_pipe *p, err *e)
{
    int rc = p->filling && p->filling->n ? hand_over(p, e) : 0;
    pthread_mutex_lock(&p->mu);
    while ((p->count > 0 || p->busy) && !p->stopping) pthread_cond_wait(&p->has_room, &p->mu);
    if (rc == 0) rc = pipe_error(p, e);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int engine_pipe_finish(engine_pipe *p, err *e)
{
    if (!p) return 0;
    int rc = engine_pipe_drain(p, e);
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_mutex_unlock(&p->mu);
    pthread_cond_signal(&p->has_work);
    pthread_join(p->thread, NULL);
    batch_free(p->filling);
    while (p->spare) {
        pipe_batch *b = p->spare;
        p->spare = b->next;
        batch_free(b);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->has_work);
    pthread_cond_destroy(&p->has_room);
    free(p);
    return rc;
}
