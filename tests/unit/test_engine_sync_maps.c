/* The in-memory helpers of a sync: DN -> link (duplicates and deletions fall back to the store)
 * and the kept join-index rows (covered attributes only, values compared case-insensitively).
 * engine_join_mem's store side (flush, repair after a crash) is tested in test_engine_join_mem.c. */
#include "engine/engine_dn_links.h"
#include "engine/engine_id_plan.h"
#include "engine/engine_join_mem.h"
#include "engine/engine_ref_waits.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_dn_links(void **state)
{
    (void)state;
    dn_links *m = dn_links_new();
    int64_t mv = 0;
    int flags = 0;
    assert_false(dn_links_get(m, "CN=a,DC=x", &mv, &flags));
    dn_links_note(m, "CN=a,DC=x", 1, 7, 0);
    assert_true(dn_links_get(m, "CN=a,DC=x", &mv, &flags));
    assert_int_equal(mv, 7);
    assert_int_equal(flags, 0);
    /* DNs are compared exactly, as the store's lookup does */
    assert_false(dn_links_get(m, "cn=a,dc=x", &mv, &flags));
    /* a second object with the DN: the store decides from now on */
    dn_links_note(m, "CN=a,DC=x", 2, 8, 0);
    assert_false(dn_links_get(m, "CN=a,DC=x", &mv, &flags));
    dn_links_note(m, "CN=a,DC=x", 1, 9, 0);
    assert_false(dn_links_get(m, "CN=a,DC=x", &mv, &flags));
    dn_links_note(m, "CN=b,DC=x", 3, 0, 2);
    dn_links_forget(m, "CN=b,DC=x");
    assert_false(dn_links_get(m, "CN=b,DC=x", &mv, &flags));
    dn_links_forget(m, "CN=c,DC=x");
    dn_links_note(m, "CN=c,DC=x", 4, 3, 0);
    assert_false(dn_links_get(m, "CN=c,DC=x", &mv, &flags));
    /* growth, many blocks of copies, and one DN larger than a block's share */
    char dn[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(dn, sizeof dn, "CN=User %d,OU=Users,DC=x", i);
        dn_links_note(m, dn, 100 + i, i + 1, i & 1);
    }
    size_t hl = 600000;
    char *huge = malloc(hl + 1);
    memset(huge, 'h', hl);
    huge[hl] = '\0';
    dn_links_note(m, huge, 5, 42, 0);
    dn_links_note(m, "CN=after,DC=x", 6, 43, 0);
    for (int i = 0; i < 100000; i += 997) {
        snprintf(dn, sizeof dn, "CN=User %d,OU=Users,DC=x", i);
        assert_true(dn_links_get(m, dn, &mv, &flags));
        assert_int_equal(mv, i + 1);
        assert_int_equal(flags, i & 1);
    }
    assert_true(dn_links_get(m, huge, &mv, &flags));
    assert_int_equal(mv, 42);
    assert_true(dn_links_get(m, "CN=after,DC=x", &mv, &flags));
    assert_int_equal(mv, 43);
    free(huge);
    /* not seeded: a DN never noted is for the store to answer */
    assert_false(dn_links_get(m, "CN=nobody,DC=x", &mv, &flags));
    dn_links_free(m);
    dn_links_free(NULL);
}

static void test_dn_links_seeded(void **state)
{
    (void)state;
    dn_links *m = dn_links_new();
    dn_links_seed(m, "CN=a", 10);
    dn_links_seed(m, "CN=b", 11);
    dn_links_seed(m, "CN=dup", 12);
    dn_links_seed(m, "CN=dup", 13);
    dn_links_seed(m, "CN=c", 14);
    int64_t mv = -1;
    int flags = -1;
    /* before seeding is done nothing is known */
    assert_false(dn_links_get(m, "CN=a", &mv, &flags));
    int64_t *joined = malloc(2 * sizeof *joined);
    joined[0] = 14;
    joined[1] = 3;
    dn_links_seeded(m, joined, 2);
    /* not processed, not joined: not joined */
    assert_true(dn_links_get(m, "CN=a", &mv, &flags));
    assert_int_equal(mv, 0);
    /* not processed but joined at the start, duplicates, unseen DNs of a seeded map */
    assert_false(dn_links_get(m, "CN=c", &mv, &flags));
    assert_false(dn_links_get(m, "CN=dup", &mv, &flags));
    assert_true(dn_links_get(m, "CN=none", &mv, &flags));
    assert_int_equal(mv, 0);
    /* processed: the link written */
    dn_links_note(m, "CN=a", 10, 77, 16);
    assert_true(dn_links_get(m, "CN=a", &mv, &flags));
    assert_int_equal(mv, 77);
    assert_int_equal(flags, 16);
    dn_links_note(m, "CN=c", 14, 78, 0);
    assert_true(dn_links_get(m, "CN=c", &mv, &flags));
    assert_int_equal(mv, 78);
    dn_links_note(m, "CN=dup", 12, 79, 0);
    assert_false(dn_links_get(m, "CN=dup", &mv, &flags));
    /* another id noted under a seeded DN, and a deleted object */
    dn_links_note(m, "CN=b", 99, 80, 0);
    assert_false(dn_links_get(m, "CN=b", &mv, &flags));
    dn_links_forget(m, "CN=a");
    assert_false(dn_links_get(m, "CN=a", &mv, &flags));
    dn_links_free(m);
}

static ref_wait *one_wait(const char *value)
{
    ref_wait *rw = calloc(1, sizeof *rw);
    rw->n = 1;
    rw->v = calloc(1, sizeof *rw->v);
    rw->v[0].resolve = true;
    rw->v[0].c.value.type = AT_REFERENCE;
    rw->v[0].c.value.nvals = rw->v[0].c.value.cap = 1;
    rw->v[0].c.value.vals = calloc(1, sizeof(aval));
    rw->v[0].c.value.vals[0].data = strdup(value);
    rw->v[0].c.value.vals[0].len = strlen(value);
    return rw;
}

/* Many keys through growth, replacement, and removal from the middle of probe runs: every key
   still finds its own value (the backward shift keeps runs intact). */
static void test_ref_waits(void **state)
{
    (void)state;
    ref_waits *w = ref_waits_new();
    char v[32];
    for (int64_t k = 1; k <= 5000; k++) {
        snprintf(v, sizeof v, "v%lld", (long long)k);
        ref_waits_put(w, k * 7, one_wait(v));
    }
    ref_waits_put(w, 7, one_wait("replaced"));
    for (int64_t k = 2; k <= 5000; k += 3) ref_waits_drop(w, k * 7);
    assert_null(ref_waits_take(w, 3));   /* never kept */
    for (int64_t k = 1; k <= 5000; k++) {
        ref_wait *rw = ref_waits_take(w, k * 7);
        if (k % 3 == 2) {
            assert_null(rw);
            continue;
        }
        assert_non_null(rw);
        snprintf(v, sizeof v, "v%lld", (long long)k);
        assert_string_equal(rw->v[0].c.value.vals[0].data, k == 1 ? "replaced" : v);
        ref_wait_free(rw);
        assert_null(ref_waits_take(w, k * 7));   /* taken means forgotten */
    }
    ref_waits_put(w, 11, one_wait("left"));     /* freed with the map */
    ref_waits_free(w);
}

static bool odd_joined(void *ctx, int64_t id)
{
    (void)ctx;
    return id % 2 == 1;
}

/* Objects not joined at the start get consecutive ids in pass order; extras come after. */
static void test_id_plan(void **state)
{
    (void)state;
    int64_t ids[] = {2, 3, 4, 6, 7, 10};
    id_plan *p = id_plan_new(ids, 6, odd_joined, NULL, 100);
    assert_int_equal(id_plan_get(p, 2), 100);
    assert_int_equal(id_plan_get(p, 3), 0);     /* joined at the start */
    assert_int_equal(id_plan_get(p, 4), 101);
    assert_int_equal(id_plan_get(p, 6), 102);
    assert_int_equal(id_plan_get(p, 10), 103);
    assert_int_equal(id_plan_get(p, 5), 0);     /* not in the pass */
    assert_false(id_plan_used(p, 6));
    assert_int_equal(id_plan_use(p, 6), 102);
    assert_true(id_plan_used(p, 6));
    assert_int_equal(id_plan_use(p, 3), 0);
    assert_false(id_plan_used(p, 3));
    assert_int_equal(id_plan_extra(p), 104);
    assert_int_equal(id_plan_extra(p), 105);
    id_plan_free(p);
}

/* one attribute "x" of type t with values v (held by the returned set, which the caller frees) */
static attrs *vals(attr_type t, const char *const *v, size_t n)
{
    attrs *s = attrs_new();
    attr *a = attrs_put(s, "x", t);
    for (size_t i = 0; i < n; i++) attr_add(a, v[i], strlen(v[i]));
    return s;
}

#define X(set) attrs_get((set), "x")

static size_t find(join_mem *m, const char *a, const char *v, int64_t *ids)
{
    size_t n = 99;
    join_mem_find(m, a, v, ids, 8, &n);
    return n;
}

static void test_join_mem(void **state)
{
    (void)state;
    join_mem *m = join_mem_new();
    int64_t ids[8];
    assert_false(join_mem_covers(m, "sourceAnchor"));
    join_mem_cover(m, "sourceAnchor");
    join_mem_cover(m, "sourceAnchor");
    join_mem_cover(m, "~ref");
    assert_true(join_mem_covers(m, "sourceAnchor"));
    assert_false(join_mem_covers(m, "SourceAnchor"));   /* attribute names are exact, as the index's are */
    assert_false(join_mem_covers(NULL, "sourceAnchor"));
    /* values in the index's form: lower case, repeats once; lookups fold case */
    attrs *a = vals(AT_STRING, (const char *const[]){"AbC", "abc", "Zed"}, 3);
    join_mem_set(m, 7, "sourceAnchor", X(a));
    join_mem_set(m, 3, "sourceAnchor", X(a));
    assert_int_equal(join_mem_rows(m), 4);
    assert_int_equal(find(m, "sourceAnchor", "ABC", ids), 2);
    assert_int_equal(ids[0], 3);   /* ascending, as the store's ORDER BY mv_id */
    assert_int_equal(ids[1], 7);
    assert_int_equal(find(m, "sourceAnchor", "abd", ids), 0);
    assert_int_equal(find(m, "~ref", "abc", ids), 0);   /* another attribute */
    size_t n = 0;
    join_mem_find(m, "sourceAnchor", "zed", ids, 1, &n);   /* at most max ids */
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 3);
    /* replace: kept, removed and added values; the other object keeps its rows */
    attrs *b = vals(AT_STRING, (const char *const[]){"zed", "new"}, 2);
    join_mem_set(m, 7, "sourceAnchor", X(b));
    assert_int_equal(join_mem_rows(m), 4);
    assert_int_equal(find(m, "sourceAnchor", "abc", ids), 1);
    assert_int_equal(ids[0], 3);
    assert_int_equal(find(m, "sourceAnchor", "NEW", ids), 1);
    assert_int_equal(find(m, "sourceAnchor", "zed", ids), 2);
    /* binary values are kept as hex */
    attrs *bin = vals(AT_BINARY, (const char *const[]){"\x01\xAB"}, 1);
    join_mem_set(m, 9, "~ref", X(bin));
    assert_int_equal(find(m, "~ref", "01AB", ids), 1);
    /* an object deleted loses all its rows; its id, reused, starts empty */
    join_mem_drop(m, 7);
    join_mem_drop(m, 12345);
    assert_int_equal(join_mem_rows(m), 3);
    assert_int_equal(find(m, "sourceAnchor", "new", ids), 0);
    assert_int_equal(find(m, "sourceAnchor", "zed", ids), 1);
    join_mem_set(m, 7, "sourceAnchor", X(b));
    assert_int_equal(find(m, "sourceAnchor", "zed", ids), 2);
    /* no values: no rows */
    join_mem_set(m, 3, "sourceAnchor", NULL);
    assert_int_equal(find(m, "sourceAnchor", "abc", ids), 0);
    /* growth */
    char v[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(v, sizeof v, "%d", i % 20000);
        attrs *r = vals(AT_STRING, (const char *const[]){v}, 1);
        join_mem_set(m, 100 + i, "~ref", X(r));
        attrs_free(r);
    }
    assert_int_equal(find(m, "~ref", "19999", ids), 2);
    assert_int_equal(ids[0], 100 + 19999);
    assert_int_equal(ids[1], 100 + 39999);
    attrs_free(a);
    attrs_free(b);
    attrs_free(bin);
    join_mem_free(m);
    join_mem_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dn_links),
        cmocka_unit_test(test_dn_links_seeded),
        cmocka_unit_test(test_join_mem),
        cmocka_unit_test(test_ref_waits),
        cmocka_unit_test(test_id_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
