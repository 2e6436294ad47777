/* Worker-thread queue for the import (see engine_pipe.h). The producer fills a local batch and
 * hands whole batches over, so the mutex and the worker's wake-up cost once per batch, not per
 * object; the queue of batches is bounded, so a slow database holds back the reader instead of
 * buffering a whole directory in memory. */
#include "engine/engine_pipe.h"
#include "util/util_alloc.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_BATCH 256     /* items per hand-over */
#define PIPE_DEPTH 8       /* batches queued at most: 2,048 objects in flight */

typedef struct pipe_batch {
    size_t n;
    void *items[PIPE_BATCH];
} pipe_batch;

struct engine_pipe {
    engine_pipe_fn fn;
    void (*free_item)(void *);
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work;   /* worker waits: queue empty */
    pthread_cond_t has_room;   /* producer waits: queue full, or drain waits for idle */
    pipe_batch *queue[PIPE_DEPTH];
    size_t head, count;        /* ring of queued batches */
    bool busy;                 /* worker is handling a batch */
    bool stopping;
    int rc;                    /* first handler error, 0 if none */
    err e;                     /* its message */
    pipe_batch *filling;       /* producer-side batch not yet handed over */
};

static void batch_free(engine_pipe *p, pipe_batch *b, size_t from)
{
    for (size_t i = from; i < b->n; i++) p->free_item(b->items[i]);
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
        size_t i = 0;
        err e = {0};
        int rc = 0;
        for (; !failed && i < b->n; i++) {
            rc = p->fn(p->ctx, b->items[i], &e);
            p->free_item(b->items[i]);
            if (rc) {
                i++;
                break;
            }
        }
        batch_free(p, b, i);
        pthread_mutex_lock(&p->mu);
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

engine_pipe *engine_pipe_start(engine_pipe_fn fn, void (*free_item)(void *item), void *ctx, err *e)
{
    engine_pipe *p = xcalloc(1, sizeof *p);
    p->fn = fn;
    p->free_item = free_item;
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
    if (rc == 0 && b) {
        p->queue[(p->head + p->count) % PIPE_DEPTH] = b;
        p->count++;
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (b) batch_free(p, b, 0);
    else pthread_cond_signal(&p->has_work);
    return rc;
}

int engine_pipe_push(engine_pipe *p, void *item, err *e)
{
    if (!p->filling) p->filling = xcalloc(1, sizeof *p->filling);
    p->filling->items[p->filling->n++] = item;
    if (p->filling->n < PIPE_BATCH) return 0;
    return hand_over(p, e);
}

int engine_pipe_drain(engine_pipe *p, err *e)
{
    int rc = p->filling ? hand_over(p, e) : 0;
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
    /* The worker skips (but frees) items after a failure; nothing can remain queued here. */
    if (p->filling) batch_free(p, p->filling, 0);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->has_work);
    pthread_cond_destroy(&p->has_room);
    free(p);
    return rc;
}
