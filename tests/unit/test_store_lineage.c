/* Stored lineage of MV objects: the compact encoding round-trips exactly (names by reference to the
 * row's attributes or spelled out, any type, several values), rejects corrupt input, and the
 * attrs encoding that earlier versions wrote is still read, directly and through the store. */
#include "store/store.h"
#include "store/store_lineage.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_tmpdir.h"

static const char AD_COMMON[] = "ad|In from AD - User Common (ad)";
static const char AD_JOIN[] = "ad|In from AD - User Join (ad)";

/* An MV object's attributes and the lineage the engine gives them. */
static attrs *sample_attrs(void)
{
    attrs *a = attrs_new();
    attrs_set_str(a, "accountName", "jdoe");
    attrs_set_str(a, "displayName", "John Doe");
    attrs_set_str(a, "mail", "jdoe@example.com");
    attr *g = attrs_put(a, "sourceAnchorBinary", AT_BINARY);
    attr_add(g, "\x01\x00\xff", 3);
    attrs_put(a, "title", AT_STRING);  /* empty: not encoded, so not a reference target */
    return a;
}

static attrs *sample_lineage(void)
{
    attrs *l = attrs_new();
    attrs_set_str(l, "accountName", AD_COMMON);
    attrs_set_str(l, "DISPLAYNAME", AD_COMMON);       /* other case than the attribute: spelled out */
    attrs_set_str(l, "mail", AD_COMMON);
    attr *m = attrs_put(l, "member", AT_STRING);       /* no such attribute (merged to nothing) */
    attr_add(m, AD_COMMON, strlen(AD_COMMON));
    attr_add(m, "hr|In from HR (hr)", strlen("hr|In from HR (hr)"));
    attrs_set_str(l, "sourceAnchorBinary", AD_JOIN);
    attrs_set_str(l, "title", AD_COMMON);              /* the attribute is empty: spelled out */
    attr *r = attrs_put(l, "zRef", AT_REFERENCE);      /* another type */
    attr_add(r, "", 0);
    attrs_put(l, "zzEmpty", AT_STRING);                /* no values: skipped */
    return l;
}

/* Exact equality: same names (case too), types, values and order. */
static void assert_same(const attrs *x, const attrs *y)
{
    buf a = BUF_INIT, b = BUF_INIT;
    attrs_encode(x, &a);
    attrs_encode(y, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_free(&a);
    buf_free(&b);
}

/* The row's attrs as the store reads them back. */
static attrs *stored_attrs(const attrs *a)
{
    buf b = BUF_INIT;
    attrs_encode(a, &b);
    attrs *d = attrs_decode(b.data, b.len, NULL);
    buf_free(&b);
    assert_non_null(d);
    return d;
}

static void test_round_trip(void **state)
{
    (void)state;
    attrs *a = sample_attrs(), *l = sample_lineage(), *names = stored_attrs(a);
    buf b = BUF_INIT, old = BUF_INIT;
    store_lineage_encode(l, a, &b);
    err e = {0};
    attrs *d = store_lineage_decode(b.data, b.len, names, &e);
    assert_non_null(d);
    assert_int_equal(d->n, 7);
    assert_same(d, l);
    assert_string_equal(d->a[1].name, "DISPLAYNAME");
    attrs_encode(l, &old);
    assert_true(b.len < old.len / 2);
    attrs_free(d);
    /* without names every name is spelled out */
    buf_reset(&b);
    store_lineage_encode(l, NULL, &b);
    d = store_lineage_decode(b.data, b.len, NULL, &e);
    assert_non_null(d);
    assert_same(d, l);
    attrs_free(d);
    buf_free(&b);
    buf_free(&old);
    attrs_free(a);
    attrs_free(l);
    attrs_free(names);
}

static void test_empty(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    attrs *none = attrs_new();
    store_lineage_encode(none, none, &b);
    err e = {0};
    attrs *d = store_lineage_decode(b.data, b.len, none, &e);
    assert_non_null(d);
    assert_int_equal(d->n, 0);
    attrs_free(d);
    d = store_lineage_decode("", 0, none, &e);  /* an empty blob is the empty set */
    assert_non_null(d);
    assert_int_equal(d->n, 0);
    attrs_free(d);
    attrs_free(none);
    buf_free(&b);
}

/* The attrs encoding (format byte 0x01) as earlier versions wrote it, byte for byte. */
static const unsigned char OLD_BLOB[] = {
    0x01, 0x02,
    0x04, 'm', 'a', 'i', 'l', 0x01, 0x01, 0x06, 'a', 'd', '|', 'I', 'n', '1',
    0x05, 't', 'i', 't', 'l', 'e', 0x01, 0x02, 0x06, 'a', 'd', '|', 'I', 'n', '1', 0x04, 'h', 'r', '|', 'X',
};

static void test_old_format(void **state)
{
    (void)state;
    err e = {0};
    attrs *d = store_lineage_decode(OLD_BLOB, sizeof OLD_BLOB, NULL, &e);
    assert_non_null(d);
    assert_int_equal(d->n, 2);
    assert_string_equal(d->a[0].name, "mail");
    assert_int_equal(d->a[0].nvals, 1);
    assert_string_equal(d->a[0].vals[0].data, "ad|In1");
    assert_string_equal(d->a[1].name, "title");
    assert_int_equal(d->a[1].nvals, 2);
    assert_string_equal(d->a[1].vals[1].data, "hr|X");
    attrs_free(d);
}

/* Every truncation, a bad reference and a bad value index are refused, not misread. */
static void test_corrupt(void **state)
{
    (void)state;
    attrs *a = sample_attrs(), *l = sample_lineage(), *names = stored_attrs(a);
    buf b = BUF_INIT;
    store_lineage_encode(l, a, &b);
    for (size_t n = 1; n < b.len; n++) {
        err e = {0};
        attrs *d = store_lineage_decode(b.data, n, names, &e);
        assert_null(d);
        assert_int_equal(e.code, ERR_CORRUPT);
    }
    err e = {0};
    /* the references need the row's attributes */
    assert_null(store_lineage_decode(b.data, b.len, NULL, &e));
    /* 'L', one value "x", one attribute: reference 9 (there are 4 attributes) */
    static const unsigned char bad_ref[] = {0x4C, 0x01, 0x01, 'x', 0x01, 0x09, 0x00, 0x00};
    assert_null(store_lineage_decode(bad_ref, sizeof bad_ref, names, &e));
    /* reference 1 but value index 1 of a single value */
    static const unsigned char bad_idx[] = {0x4C, 0x01, 0x01, 'x', 0x01, 0x01, 0x00, 0x01};
    assert_null(store_lineage_decode(bad_idx, sizeof bad_idx, names, &e));
    static const unsigned char good[] = {0x4C, 0x01, 0x01, 'x', 0x01, 0x01, 0x00, 0x00};
    attrs *d = store_lineage_decode(good, sizeof good, names, &e);
    assert_non_null(d);
    assert_string_equal(d->a[0].name, "accountName");
    assert_string_equal(d->a[0].vals[0].data, "x");
    attrs_free(d);
    buf_free(&b);
    attrs_free(a);
    attrs_free(l);
    attrs_free(names);
}

/* Through the store: a saved object reads back exactly; a row whose lineage an earlier version
   wrote (attrs encoding) reads back too. */
static void test_store(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "store-lineage"), 0);
    char *url = xasprintf("sqlite:%s/t.db", dir), *path = xasprintf("%s/t.db", dir);
    store *s = NULL;
    err e = {0};
    assert_int_equal(store_create(url, NULL, &s, &e), 0);
    mv_object o = {0};
    o.object_type = "person";
    o.attrs = sample_attrs();
    o.lineage = sample_lineage();
    assert_int_equal(store_mv_save(s, &o, &e), 0);
    mv_object *got = NULL;
    assert_int_equal(store_mv_get(s, o.id, &got, &e), 0);
    assert_same(got->lineage, o.lineage);
    mv_object_free(got);
    store_close(s);

    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE mv_objects SET lineage = ? WHERE id = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, OLD_BLOB, sizeof OLD_BLOB, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, o.id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);

    assert_int_equal(store_open(url, NULL, &s, &e), 0);
    assert_int_equal(store_mv_get(s, o.id, &got, &e), 0);
    attrs *old = store_lineage_decode(OLD_BLOB, sizeof OLD_BLOB, NULL, &e);
    assert_same(got->lineage, old);
    attrs_free(old);
    mv_object_free(got);
    store_close(s);
    attrs_free(o.attrs);
    attrs_free(o.lineage);
    free(url);
    free(path);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_empty), cmocka_unit_test(test_old_format),
        cmocka_unit_test(test_corrupt), cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
