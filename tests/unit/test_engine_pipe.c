/* The import's writer-thread queue: items are handled in order with their bytes intact (also
 * items larger than a batch's buffer), drain leaves the worker idle, a handler failure reaches
 * the producer with its message, and nothing leaks whatever happens (AddressSanitizer). */
#include "engine/engine_pipe.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef struct sink {
    long next;        /* the value the next item must carry: order check */
    long handled;
    long fail_at;     /* -1: never */
} sink;

/* An item: its number, then (number % 7) * 5000 bytes of (number & 0xff), so some items are larger
   than a batch's 64 KiB buffer once several share it and the buffer must grow and move. */
static int handle(void *ctx, void *item, size_t len, err *e)
{
    sink *s = ctx;
    long v = *(long *)item;
    size_t extra = (size_t)(v % 7) * 5000;
    if (len != sizeof(long) + extra) return err_set(e, ERR_FAIL, "item %ld has %zu bytes", v, len);
    for (size_t i = 0; i < extra; i++)
        if (((unsigned char *)item)[sizeof(long) + i] != (unsigned char)(v & 0xff))
            return err_set(e, ERR_FAIL, "item %ld corrupted at byte %zu", v, i);
    if (v == s->fail_at) return err_set(e, ERR_FAIL, "item %ld cannot be written", v);
    if (v != s->next) return err_set(e, ERR_FAIL, "out of order: got %ld, expected %ld", v, s->next);
    s->next++;
    s->handled++;
    return 0;
}

static int push(engine_pipe *p, long v, err *e)
{
    size_t extra = (size_t)(v % 7) * 5000;
    char *m = engine_pipe_reserve(p, sizeof v + extra);
    memcpy(m, &v, sizeof v);
    memset(m + sizeof v, (int)(v & 0xff), extra);
    return engine_pipe_push(p, e);
}

static void test_order_and_drain(void **state)
{
    (void)state;
    sink s = {.fail_at = -1};
        err e = {0};
    engine_pipe *p = engine_pipe_start(handle, &s, &e);
    assert_non_null(p);
    for (long i = 0; i < 10000; i++) assert_int_equal(push(p, i, &e), 0);
    assert_int_equal(engine_pipe_drain(p, &e), 0);
    /* drained: the worker is idle and has seen everything, so reading s here is safe */
    assert_int_equal(s.handled, 10000);
    for (long i = 10000; i < 10005; i++) assert_int_equal(push(p, i, &e), 0);
    assert_int_equal(engine_pipe_finish(p, &e), 0);
    assert_int_equal(s.handled, 10005);
}

static void test_failure_reaches_producer(void **state)
{
    (void)state;
    sink s = {.fail_at = 700};
        err e = {0};
    engine_pipe *p = engine_pipe_start(handle, &s, &e);
    assert_non_null(p);
    int rc = 0;
    long pushed = 0;
    for (long i = 0; i < 100000 && rc == 0; i++, pushed++) rc = push(p, i, &e);
    /* the producer learns of the failure long before it has pushed everything */
    assert_int_equal(rc, ERR_FAIL);
    assert_true(pushed < 100000);
    assert_non_null(strstr(e.msg, "item 700 cannot be written"));
    err e2 = {0};
    assert_int_equal(engine_pipe_finish(p, &e2), ERR_FAIL);
    assert_non_null(strstr(e2.msg, "item 700"));
    assert_int_equal(s.handled, 700);   /* nothing after the failed item is handled */
}

static void test_failure_seen_by_drain(void **state)
{
    (void)state;
    sink s = {.fail_at = 3};
        err e = {0};
    engine_pipe *p = engine_pipe_start(handle, &s, &e);
    for (long i = 0; i < 10; i++) assert_int_equal(push(p, i, &e), 0);  /* one batch: not yet handed over */
    assert_int_equal(engine_pipe_drain(p, &e), ERR_FAIL);
    assert_non_null(strstr(e.msg, "item 3"));
    assert_int_equal(push(p, 10, &e), 0);  /* queued locally; dropped at finish */
    assert_int_equal(engine_pipe_finish(p, &e), ERR_FAIL);
    assert_int_equal(s.handled, 3);
    assert_int_equal(engine_pipe_finish(NULL, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_drain),
        cmocka_unit_test(test_failure_reaches_producer),
        cmocka_unit_test(test_failure_seen_by_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
