/* The bump allocator: aligned and byte blocks share chunks without overlapping, a large block gets
 * a chunk of its own while the current one goes on being cut, a reserved chunk holds exactly what
 * was measured, and a freed arena is usable again. */
#include "util/util_arena.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static size_t chunks(const util_arena *a)
{
    size_t n = 0;
    for (const arena_chunk *c = a->head; c; c = c->next) n++;
    return n;
}

static void test_blocks(void **state)
{
    (void)state;
    util_arena a = UTIL_ARENA_INIT(256);
    char *s = arena_alloc_bytes(&a, 3);
    memcpy(s, "ab", 3);
    double *d = arena_alloc(&a, sizeof *d);   /* after 3 bytes: still aligned */
    assert_int_equal((uintptr_t)d % sizeof(max_align_t), 0);
    *d = 1.5;
    char *t = arena_strdup(&a, "xyz");
    assert_string_equal(s, "ab");
    assert_string_equal(t, "xyz");
    assert_true(*d == 1.5);
    assert_int_equal(chunks(&a), 1);
    arena_chunk *cut = a.head;
    char *big = arena_alloc_bytes(&a, 200);   /* over a quarter of a chunk: a chunk of its own */
    memset(big, 'b', 200);
    assert_ptr_equal(a.head, cut);            /* the current chunk goes on being cut */
    assert_int_equal(chunks(&a), 2);
    char *u = arena_alloc_bytes(&a, 10);
    assert_true(u >= (char *)cut->data && u < (char *)cut->data + cut->cap);
    for (int i = 0; i < 40; i++) arena_alloc(&a, 16);   /* fills it: a new ordinary chunk */
    assert_true(chunks(&a) >= 3);
    assert_string_equal(t, "xyz");
    arena_free(&a);
    assert_null(a.head);
    assert_string_equal(arena_strdup(&a, "again"), "again");
    arena_free(&a);
}

static void test_reserve(void **state)
{
    (void)state;
    util_arena a = UTIL_ARENA_INIT(4096);
    size_t sizes[] = {3, 17, 32, 1, 40}, need = 0;
    for (size_t i = 0; i < 5; i++) need += ARENA_ROUND(sizes[i]);
    arena_reserve(&a, need);
    arena_chunk *r = a.head;
    assert_int_equal(r->cap, need);
    for (size_t i = 0; i < 5; i++) {
        char *p = arena_alloc(&a, sizes[i]);
        assert_true(p >= (char *)r->data && p + sizes[i] <= (char *)r->data + r->cap);
    }
    assert_int_equal(chunks(&a), 1);   /* all from the reserved chunk */
    arena_alloc(&a, 8);                /* beyond: an ordinary chunk */
    assert_int_equal(chunks(&a), 2);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
