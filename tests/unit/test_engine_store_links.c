/* The lean store queries the sync engine uses on its hot paths: id lists, joined objects per
 * connector, where a reference points in a target, the join of a DN, link-only updates, and the
 * counts behind the deletion threshold. */
#include "engine_test_util.h"

static int64_t add_cs(et_env *t, int64_t conn, const char *anchor, const char *dn, int64_t mv, int flags, int op)
{
    cs_object o = {.connector_id = conn, .anchor = (void *)anchor, .anchor_len = strlen(anchor), .dn = (char *)dn,
                   .object_type = "user", .mv_id = mv, .flags = flags, .export_op = op};
    o.attrs = attrs_new();
    attrs_set_str(o.attrs, "cn", anchor);
    err e = {0};
    if (store_cs_save(t->st, &o, &e)) fail_msg("store_cs_save: %s", e.msg);
    attrs_free(o.attrs);
    return o.id;
}

static int64_t add_mv(et_env *t)
{
    mv_object m = {.object_type = "person", .attrs = attrs_new(), .lineage = attrs_new()};
    err e = {0};
    if (store_mv_save(t->st, &m, &e)) fail_msg("store_mv_save: %s", e.msg);
    attrs_free(m.attrs);
    attrs_free(m.lineage);
    return m.id;
}

static void test_links(void **state)
{
    (void)state;
    et_env *t = et_new();
    int64_t a = et_add_ldif(t, "a", "a.ldif", "entryUUID"), b = et_add_ldif(t, "b", "b.ldif", "entryUUID");
    int64_t m1 = add_mv(t), m2 = add_mv(t);
    err e = {0};
    int64_t src = add_cs(t, a, "s1", "cn=s1,dc=a", m1, CS_F_PENDING_IMPORT, 0);
    int64_t prov = add_cs(t, b, "provisional:x", "cn=p,dc=b", m1, CS_F_PROVISIONAL, CS_EXPORT_ADD);
    int64_t gone = add_cs(t, b, "t0", "cn=t0,dc=b", m2, CS_F_DELETED, 0);
    int64_t tgt = add_cs(t, b, "t1", "cn=t1,dc=b", m2, 16 | CS_F_EXPORTED, CS_EXPORT_DELETE);
    int64_t lone = add_cs(t, a, "s2", NULL, 0, 0, CS_EXPORT_UPDATE);

    /* ids: ascending, per connector and selection */
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(store_cs_ids(t->st, a, STORE_CS_ALL, &ids, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], src);
    assert_int_equal(ids[1], lone);
    free(ids);
    assert_int_equal(store_cs_ids(t->st, a, STORE_CS_PENDING, &ids, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], src);
    free(ids);
    assert_int_equal(store_cs_ids(t->st, b, STORE_CS_EXPORT, &ids, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], prov);
    assert_int_equal(ids[1], tgt);
    free(ids);
    assert_int_equal(store_cs_ids(t->st, b, STORE_CS_WAITING_MV, &ids, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], m2);   /* the metaverse id, not the object's */
    free(ids);
    assert_int_equal(store_cs_ids(t->st, b, STORE_CS_JOINED_TO, &ids, &n, &e), ERR_USAGE);
    int64_t cnt = 0;
    assert_int_equal(store_cs_count(t->st, b, STORE_CS_EXPORT_DELETES, &cnt, &e), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(store_mv_ids(t->st, &ids, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], m1);
    assert_int_equal(ids[1], m2);
    free(ids);

    /* joined objects, all or of one connector */
    cs_object **v = NULL;
    assert_int_equal(store_cs_load_joined(t->st, m1, 0, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0]->id, src);
    assert_true(et_has(v[0]->attrs, "cn", "s1"));
    assert_int_equal(v[1]->id, prov);
    for (size_t i = 0; i < n; i++) cs_object_free(v[i]);
    free(v);
    assert_int_equal(store_cs_load_joined(t->st, m1, b, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0]->id, prov);
    cs_object_free(v[0]);
    free(v);
    assert_int_equal(store_cs_load_joined(t->st, 999, 0, &v, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(v);

    /* where a reference points: never a provisional or deleted object */
    void *anchor = NULL;
    size_t alen = 0;
    char *dn = NULL;
    assert_int_equal(store_cs_joined_ref(t->st, m1, b, &anchor, &alen, &dn, &e), ERR_NOTFOUND);
    assert_int_equal(store_cs_joined_ref(t->st, m2, b, &anchor, &alen, &dn, &e), 0);
    assert_int_equal(alen, 2);
    assert_memory_equal(anchor, "t1", 2);
    assert_string_equal(dn, "cn=t1,dc=b");
    free(anchor);
    free(dn);
    assert_int_equal(store_cs_joined_ref(t->st, m2, a, NULL, NULL, &dn, &e), ERR_NOTFOUND);
    (void)gone;

    /* the join of a DN, and a link-only update that keeps attributes and the pending export */
    int64_t mv = -1;
    int flags = -1;
    assert_int_equal(store_cs_link_by_dn(t->st, a, "cn=s1,dc=a", &mv, &flags, &e), 0);
    assert_int_equal(mv, m1);
    assert_int_equal(flags, CS_F_PENDING_IMPORT);
    assert_int_equal(store_cs_link_by_dn(t->st, b, "cn=s1,dc=a", &mv, &flags, &e), ERR_NOTFOUND);
    assert_int_equal(store_cs_set_link(t->st, tgt, 0, CS_F_EXPORTED, &e), 0);
    cs_object *o = NULL;
    assert_int_equal(store_cs_get_by_id(t->st, tgt, &o, &e), 0);
    assert_int_equal(o->mv_id, 0);
    assert_int_equal(o->flags, CS_F_EXPORTED);
    assert_int_equal(o->export_op, CS_EXPORT_DELETE);
    assert_true(et_has(o->attrs, "cn", "t1"));
    cs_object_free(o);
    assert_int_equal(store_cs_link_by_dn(t->st, b, "cn=t1,dc=b", &mv, &flags, &e), 0);
    assert_int_equal(mv, 0);
    et_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
