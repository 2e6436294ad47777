/* Inserts that return the new row's id (store_insert.h) over SQLite, which reads the id without
 * RETURNING: each insert gets its own row's id, also after an update or a failed insert in
 * between, and a failed insert reports the error and sets no id. */
#include "store/store.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_tmpdir.h"

static cs_object cs_new(int64_t connector_id, const char *anchor)
{
    cs_object o = {.connector_id = connector_id, .anchor = (void *)anchor, .anchor_len = strlen(anchor),
                   .dn = (char *)anchor, .object_type = "user", .attrs = attrs_new()};
    return o;
}

static void test_insert_ids(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "store-insert"), 0);
    char *url = xasprintf("sqlite:%s/t.db", dir);
    store *s = NULL;
    err e = {0};
    assert_int_equal(store_create(url, NULL, &s, &e), 0);
    store_connector c = {.name = "corp", .type = "ad", .url = "ldap://127.0.0.1"};
    assert_int_equal(store_connector_add(s, &c, &e), 0);

    mv_object m1 = {.object_type = "person", .attrs = attrs_new(), .lineage = attrs_new()};
    mv_object m2 = m1;
    assert_int_equal(store_mv_save(s, &m1, &e), 0);
    cs_object a = cs_new(c.id, "a"), dup = cs_new(c.id, "a"), b = cs_new(c.id, "b");
    assert_int_equal(store_cs_save(s, &a, &e), 0);
    assert_true(m1.id > 0 && a.id > 0);
    /* an update and a refused insert in between do not lend their id to the next insert */
    a.mv_id = m1.id;
    assert_int_equal(store_cs_save(s, &a, &e), 0);
    assert_int_not_equal(store_cs_save(s, &dup, &e), 0);   /* same anchor: UNIQUE */
    assert_int_equal(dup.id, 0);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(store_mv_save(s, &m2, &e), 0);
    assert_true(m2.id > m1.id);
    assert_int_equal(store_cs_save(s, &b, &e), 0);
    assert_true(b.id > a.id);

    cs_object *got = NULL;
    assert_int_equal(store_cs_get_by_id(s, b.id, &got, &e), 0);
    assert_string_equal(got->dn, "b");
    cs_object_free(got);
    assert_int_equal(store_cs_get_by_id(s, a.id, &got, &e), 0);
    assert_int_equal(got->mv_id, m1.id);
    cs_object_free(got);
    mv_object *mv = NULL;
    assert_int_equal(store_mv_get(s, m2.id, &mv, &e), 0);
    assert_string_equal(mv->object_type, "person");
    mv_object_free(mv);

    store_close(s);
    attrs_free(a.attrs);
    attrs_free(b.attrs);
    attrs_free(dup.attrs);
    attrs_free(m1.attrs);
    attrs_free(m1.lineage);
    free(url);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_insert_ids)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
