/* The store's writer thread: batches of queued operations under one mutex (the caller fills a
 * batch without locking and hands it over when it is full or when it must wait), executed in
 * order on the store's connection. */
#include "store/store_async.h"
#include "util/util_alloc.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define AOP_MAX_PARAMS 16
#define BATCH_OPS 512

enum { P_NULL, P_INT, P_TEXT, P_BLOB };

typedef struct aparam {
    int type;
    int64_t i;
    size_t off;  /* text and blobs: a copy at this offset of the batch's arena (text NUL-terminated) */
    size_t len;
} aparam;

enum { OP_SQL, OP_READ, OP_RELEASE, OP_COMMIT_BEGIN };

typedef struct aop {
    int kind;                 /* OP_* */
    const char *sql;          /* OP_SQL: the statement, n parameters in v */
    int n;
    aparam v[AOP_MAX_PARAMS];
    size_t ids_off;           /* OP_READ: the ids, copied into the batch's arena */
    size_t nids;
    cs_object **out;          /* OP_READ: the caller's array */
    void (*free_fn)(void *);  /* OP_RELEASE: free_fn(free_arg), when the batch is freed */
    void *free_arg;
} aop;

/* A batch and every byte its operations carry: allocated by the caller's thread, freed by the writer
   in one go (freeing many small blocks of another thread's heap made both threads wait for
   malloc's locks). */
typedef struct abatch {
    aop *ops;
    size_t n;
    char *arena;
    size_t used, cap;
    struct abatch *next;
} abatch;

struct store_async {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    abatch *head, *tail;      /* handed over, not executed yet */
    abatch *filling;          /* the caller's batch (caller thread only) */
    bool busy, quit;
    atomic_bool failed;       /* read without the lock on every queued statement */
    err error;                /* the first failure (under mu) */
    uint64_t reads_queued;    /* caller thread only */
    uint64_t reads_done;      /* under mu */
};

static _Thread_local bool tl_writer;

bool store_async_active(const store *s)
{
    return s->async && !tl_writer;
}

static void batch_free(abatch *b)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (b->ops[i].kind == OP_RELEASE) b->ops[i].free_fn(b->ops[i].free_arg);
    if (b) {
        free(b->ops);
        free(b->arena);
    }
    free(b);
}

/* Copies len bytes (plus a NUL) into b's arena; returns their offset. */
static size_t arena_put(abatch *b, const void *data, size_t len)
{
    if (b->used + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->used + len + 1) cap *= 2;
        b->arena = xrealloc(b->arena, cap);
        b->cap = cap;
    }
    size_t off = b->used;
    if (len) memcpy(b->arena + off, data, len);
    b->arena[off + len] = '\0';
    b->used += len + 1;
    return off;
}

static int run_sql(store *s, const abatch *b, aop *op, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, op->sql, &st, e);
    for (int i = 0; rc == 0 && i < op->n; i++) {
        const aparam *p = &op->v[i];
        if (p->type == P_NULL) s->drv->bind_null(st, i + 1);
        else if (p->type == P_INT) s->drv->bind_int64(st, i + 1, p->i);
        else if (p->type == P_TEXT) s->drv->bind_text(st, i + 1, b->arena + p->off, p->len);
        else s->drv->bind_blob(st, i + 1, b->arena + p->off, p->len);
    }
    if (rc == 0) rc = store_stmt_exec(s, st, e);
    return rc;
}

static int run_read(store *s, const abatch *b, aop *op, err *e)
{
    int rc = 0;
    const int64_t *ids = (const int64_t *)(void *)(b->arena + op->ids_off);
    for (size_t i = 0; i < op->nids; i++) op->out[i] = NULL;
    for (size_t i = 0; rc == 0 && i < op->nids; i++) {
        int64_t id;
        memcpy(&id, ids + i, sizeof id);   /* the arena gives no alignment */
        rc = store_cs_get_by_id(s, id, &op->out[i], e);
        if (rc == ERR_NOTFOUND) rc = 0, err_clear(e), op->out[i] = NULL;   /* gone meanwhile */
    }
    return rc;
}

static void *writer(void *arg)
{
    store *s = arg;
    store_async *a = s->async;
    tl_writer = true;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->quit) pthread_cond_wait(&a->cv, &a->mu);
        if (!a->head) break;
        abatch *b = a->head;
        a->head = b->next;
        if (!a->head) a->tail = NULL;
        a->busy = true;
        bool failed = atomic_load(&a->failed);
        pthread_mutex_unlock(&a->mu);
        err e = {0};
        int rc = 0;
        uint64_t reads = 0;
        for (size_t i = 0; i < b->n; i++) {
            aop *op = &b->ops[i];
            if (op->kind == OP_READ) reads++;   /* counted done even when skipped: its waiter sees the failure */
            if (failed || rc || op->kind == OP_RELEASE) continue;   /* after a failure nothing more is written */
            if (op->kind == OP_COMMIT_BEGIN) {
                rc = s->drv->commit(s->d, &e);
                if (rc == 0) rc = s->drv->begin(s->d, &e);
            } else {
                rc = op->kind == OP_SQL ? run_sql(s, b, op, &e) : run_read(s, b, op, &e);
            }
        }
        batch_free(b);
        pthread_mutex_lock(&a->mu);
        if (rc && !atomic_load(&a->failed)) {
            a->error = e;
            atomic_store(&a->failed, true);
        }
        a->reads_done += reads;
        a->busy = false;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Hands the caller's batch to the writer. */
static void hand_over(store_async *a)
{
    abatch *b = a->filling;
    if (!b || !b->n) return;
    a->filling = NULL;
    pthread_mutex_lock(&a->mu);
    if (a->tail) a->tail->next = b;
    else a->head = b;
    a->tail = b;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static int failure(store_async *a, err *e)
{
    if (!atomic_load(&a->failed)) return 0;
    pthread_mutex_lock(&a->mu);
    int rc = err_set(e, a->error.code ? a->error.code : ERR_FAIL, "%s", a->error.msg);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int store_sync(store *s, err *e)
{
    store_async *a = s->async;
    if (!a || tl_writer) return 0;
    hand_over(a);
    pthread_mutex_lock(&a->mu);
    while (a->head || a->busy) pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return failure(a, e);
}

static aop *next_op(store *s, int kind)
{
    store_async *a = s->async;
    if (!a->filling) {
        a->filling = xcalloc(1, sizeof *a->filling);
        a->filling->ops = xmalloc(BATCH_OPS * sizeof(aop));
    }
    aop *op = &a->filling->ops[a->filling->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    return op;
}

static aop *cur_op(store *s)
{
    return &s->async->filling->ops[s->async->filling->n - 1];
}

static aparam *param(store *s, int type)
{
    aop *op = cur_op(s);
    if (op->n >= AOP_MAX_PARAMS) abort();   /* a programming error: statements here have fewer */
    aparam *p = &op->v[op->n++];
    memset(p, 0, sizeof *p);
    p->type = type;
    return p;
}

void store_aop_begin(store *s, const char *sql) { next_op(s, OP_SQL)->sql = sql; }
void store_aop_null(store *s) { param(s, P_NULL); }
void store_aop_int(store *s, int64_t v) { param(s, P_INT)->i = v; }

void store_aop_text(store *s, const char *v)
{
    if (!v) {
        param(s, P_NULL);
        return;
    }
    aparam *p = param(s, P_TEXT);
    p->len = strlen(v);
    p->off = arena_put(s->async->filling, v, p->len);
}

void store_aop_blob(store *s, const void *v, size_t len)
{
    if (!v) {
        param(s, P_NULL);
        return;
    }
    aparam *p = param(s, P_BLOB);
    p->len = len;
    p->off = arena_put(s->async->filling, v, len);
}

void store_aop_blob_take(store *s, void *v, size_t len)
{
    store_aop_blob(s, v, len);
    free(v);   /* by the thread that allocated it */
}

int store_aop_end(store *s, err *e)
{
    store_async *a = s->async;
    if (a->filling->n >= BATCH_OPS) hand_over(a);
    return failure(a, e);
}

int store_async_begin(store *s, err *e)
{
    if (s->async) return err_set(e, ERR_FAIL, "asynchronous writes are already on");
    store_async *a = xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    s->async = a;
    if (pthread_create(&a->thread, NULL, writer, s) != 0) {
        s->async = NULL;
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return err_set(e, ERR_FAIL, "could not start the store's writer thread");
    }
    return 0;
}

int store_async_end(store *s, err *e)
{
    store_async *a = s->async;
    if (!a || tl_writer) return 0;
    int rc = store_sync(s, e);
    pthread_mutex_lock(&a->mu);
    a->quit = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    s->async = NULL;
    batch_free(a->filling);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    return rc;
}

void store_async_release(store *s, void (*free_fn)(void *), void *arg)
{
    if (!store_async_active(s)) {
        free_fn(arg);
        return;
    }
    aop *op = next_op(s, OP_RELEASE);
    op->free_fn = free_fn;
    op->free_arg = arg;
    if (s->async->filling->n >= BATCH_OPS) hand_over(s->async);
}

int store_commit_begin(store *s, err *e)
{
    if (!store_async_active(s) || s->tx_depth != 1) {
        int rc = store_commit(s, e);
        return rc ? rc : store_begin(s, e);
    }
    next_op(s, OP_COMMIT_BEGIN);
    hand_over(s->async);   /* the writer commits while the caller goes on */
    return failure(s->async, e);
}

int store_async_read(store *s, const int64_t *ids, size_t n, cs_object **out, uint64_t *ticket, err *e)
{
    store_async *a = s->async;
    if (!a) return err_set(e, ERR_FAIL, "store_async_read needs asynchronous writes on");
    aop *op = next_op(s, OP_READ);
    op->ids_off = arena_put(s->async->filling, ids, n * sizeof *ids);
    op->nids = n;
    op->out = out;
    *ticket = ++a->reads_queued;
    hand_over(a);   /* the caller will wait for it: start now */
    return failure(a, e);
}

int store_async_read_wait(store *s, uint64_t ticket, err *e)
{
    store_async *a = s->async;
    if (!a) return err_set(e, ERR_FAIL, "store_async_read_wait needs asynchronous writes on");
    pthread_mutex_lock(&a->mu);
    while (a->reads_done < ticket && !atomic_load(&a->failed)) pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return failure(a, e);
}
