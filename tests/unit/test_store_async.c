/* Asynchronous writes (store_async_begin): queued writes execute in order on the writer thread;
 * any other store call first waits for them and sees them; reads queued on the writer come back
 * after the writes queued before them; a failed write surfaces at the next store call and at
 * store_async_end, and what was queued after it is not written. */
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

typedef struct fixture {
    char dir[512];
    char *url;
    store *s;
    int64_t conn;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    err e = {0};
    if (test_tmpdir_make(f->dir, sizeof f->dir, "store-async")) return -1;
    f->url = xasprintf("sqlite:%s/t.db", f->dir);
    if (store_create(f->url, NULL, &f->s, &e)) return -1;
    store_connector c = {.name = "corp", .type = "ad", .url = "ldap://127.0.0.1"};
    if (store_connector_add(f->s, &c, &e)) return -1;
    f->conn = c.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    test_tmpdir_remove(f->dir);
    free(f->url);
    free(f);
    return 0;
}

/* Queues the insert of a connector-space object with this anchor/DN (its id stays unknown). */
static int queue_cs(fixture *f, const char *anchor, err *e)
{
    cs_object o = {.connector_id = f->conn, .anchor = (void *)anchor, .anchor_len = strlen(anchor),
                   .dn = (char *)anchor, .object_type = "user", .attrs = attrs_new()};
    attrs_set_str(o.attrs, "cn", anchor);
    int rc = store_cs_save(f->s, &o, e);
    assert_int_equal(o.id, 0);   /* asynchronous: not known */
    attrs_free(o.attrs);
    return rc;
}

static void test_order_and_visibility(void **state)
{
    fixture *f = *state;
    err e = {0};
    char name[32];
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_async_begin(f->s, &e), 0);
    for (int i = 0; i < 1500; i++) {   /* more than one batch */
        snprintf(name, sizeof name, "u%04d", i);
        assert_int_equal(queue_cs(f, name, &e), 0);
    }
    mv_object m = {.id = 42, .object_type = "person", .attrs = attrs_new(), .lineage = attrs_new()};
    attrs_set_str(m.attrs, "displayName", "Forty-Two");
    assert_int_equal(store_mv_insert_as(f->s, &m, &e), 0);
    assert_int_equal(store_cs_set_link(f->s, 1, 42, 0, &e), 0);
    /* a queued read comes back after the writes queued before it */
    int64_t ids[3] = {1, 1500, 999999};
    cs_object *out[3] = {0};
    uint64_t ticket = 0;
    assert_int_equal(store_async_read(f->s, ids, 3, out, &ticket, &e), 0);
    assert_int_equal(store_async_read_wait(f->s, ticket, &e), 0);
    assert_non_null(out[0]);
    assert_string_equal(out[0]->dn, "u0000");
    assert_int_equal(out[0]->mv_id, 42);
    assert_non_null(out[1]);
    assert_string_equal(out[1]->dn, "u1499");
    assert_null(out[2]);   /* no such object */
    cs_object_free(out[0]);
    cs_object_free(out[1]);
    /* a synchronous call waits for the queue and sees everything */
    int64_t n = 0;
    assert_int_equal(store_cs_count(f->s, f->conn, STORE_CS_ALL, &n, &e), 0);
    assert_int_equal(n, 1500);
    mv_object *got = NULL;
    assert_int_equal(store_mv_get(f->s, 42, &got, &e), 0);
    assert_string_equal(attrs_get_str(got->attrs, "displayName"), "Forty-Two");
    mv_object_free(got);
    assert_int_equal(store_async_end(f->s, &e), 0);
    assert_int_equal(store_commit(f->s, &e), 0);
    /* synchronous again: inserts get their ids */
    cs_object o = {.connector_id = f->conn, .anchor = "late", .anchor_len = 4, .dn = "late", .object_type = "user",
                   .attrs = attrs_new()};
    assert_int_equal(store_cs_save(f->s, &o, &e), 0);
    assert_int_equal(o.id, 1501);
    attrs_free(o.attrs);
    attrs_free(m.attrs);
    attrs_free(m.lineage);
}

static void test_failure_surfaces(void **state)
{
    fixture *f = *state;
    err e = {0};
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_async_begin(f->s, &e), 0);
    assert_int_equal(queue_cs(f, "a", &e), 0);
    int rc = queue_cs(f, "a", &e);   /* same anchor: fails on the writer, maybe not reported yet */
    for (int i = 0; rc == 0 && i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "after%d", i);
        rc = queue_cs(f, name, &e);
    }
    if (rc == 0) rc = store_sync(f->s, &e);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(e.msg, "UNIQUE"));
    err e2 = {0};
    assert_int_not_equal(store_async_end(f->s, &e2), 0);   /* still reported */
    int64_t n = -1;
    assert_int_equal(store_cs_count(f->s, f->conn, STORE_CS_ALL, &n, &e), 0);
    assert_int_equal(n, 1);   /* "a" only: nothing queued after the failure was written */
    store_rollback(f->s);
    assert_int_equal(store_cs_count(f->s, f->conn, STORE_CS_ALL, &n, &e), 0);
    assert_int_equal(n, 0);
}

/* store_commit_begin on the writer: what was queued before it is committed, what comes after is in
   the next transaction (a rollback takes only that). */
static void test_commit_begin(void **state)
{
    fixture *f = *state;
    err e = {0};
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_async_begin(f->s, &e), 0);
    assert_int_equal(queue_cs(f, "kept1", &e), 0);
    assert_int_equal(queue_cs(f, "kept2", &e), 0);
    assert_int_equal(store_commit_begin(f->s, &e), 0);
    assert_int_equal(queue_cs(f, "dropped", &e), 0);
    assert_int_equal(store_async_end(f->s, &e), 0);
    assert_true(store_in_tx(f->s));
    store_rollback(f->s);
    int64_t n = -1;
    assert_int_equal(store_cs_count(f->s, f->conn, STORE_CS_ALL, &n, &e), 0);
    assert_int_equal(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_surfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_begin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
