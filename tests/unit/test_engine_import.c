/* Full import through the two-thread path: a first import into an empty connector space, an
 * anchor reported twice in it (the second report wins, as an update), a repeated import that
 * finds unchanged, changed, renamed and vanished objects, and values in a new order (unchanged). */
#include "engine_test_util.h"

#define P(uid, uuid, extra) "dn: uid=" uid ",ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: " uuid "\n" \
  "uid: " uid "\ncn: " uid "\n" extra "\n"

static void test_first_import_with_duplicate_anchor(void **state)
{
    (void)state;
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_write(t, "hr.ldif", P("ann", "u-1", "title: one\n") P("bea", "u-2", "") P("ann2", "u-1", "title: two\n"));
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.seen, 3);
    assert_int_equal(st.adds, 2);
    assert_int_equal(st.updates + st.renames > 0, 1);     /* the second report of u-1 replaced the first */
    assert_int_equal(et_count_cs(t, "hr", STORE_CS_ALL), 2);
    cs_object *o = et_cs_anchor(t, "hr", "u-1");
    assert_non_null(o);
    assert_string_equal(o->dn, "uid=ann2,ou=people,dc=hr");
    assert_true(et_has(o->attrs, "title", "two"));
    assert_int_equal(o->flags & CS_F_PENDING_IMPORT, CS_F_PENDING_IMPORT);
    cs_object_free(o);
    et_free(t);
}

static void test_repeated_import(void **state)
{
    (void)state;
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_write(t, "hr.ldif", P("ann", "u-1", "mail: a@x\nmail: b@x\n") P("bea", "u-2", "") P("cid", "u-3", "")
                           P("dot", "u-4", ""));
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.adds, 4);
    et_ok(t, "hr", PROFILE_FULL_SYNC);   /* clears the pending-import flags */
    /* ann: same values in another order; bea: changed; cid: renamed; dot: gone */
    et_write(t, "hr.ldif", P("ann", "u-1", "mail: b@x\nmail: a@x\n") P("bea", "u-2", "title: new\n")
                           "dn: uid=cid2,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-3\nuid: cid\ncn: cid\n\n");
    st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.seen, 3);
    assert_int_equal(st.unchanged, 1);
    assert_int_equal(st.updates, 2);
    assert_int_equal(st.renames, 1);
    assert_int_equal(st.deletes, 1);
    assert_int_equal(st.adds, 0);
    cs_object *ann = et_cs_anchor(t, "hr", "u-1");
    assert_int_equal(ann->flags & CS_F_PENDING_IMPORT, 0);   /* nothing for the next sync to do */
    cs_object_free(ann);
    cs_object *bea = et_cs_anchor(t, "hr", "u-2");
    assert_true(et_has(bea->attrs, "title", "new"));
    assert_int_equal(bea->flags & CS_F_PENDING_IMPORT, CS_F_PENDING_IMPORT);
    cs_object_free(bea);
    cs_object *cid = et_cs_anchor(t, "hr", "u-3");
    assert_string_equal(cid->dn, "uid=cid2,ou=people,dc=hr");
    cs_object_free(cid);
    cs_object *dot = et_cs_anchor(t, "hr", "u-4");
    assert_int_equal(dot->flags & CS_F_DELETED, CS_F_DELETED);
    cs_object_free(dot);
    /* a third import of the same data changes nothing */
    st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.unchanged, 3);
    assert_int_equal(st.updates + st.adds + st.deletes, 0);
    et_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_import_with_duplicate_anchor),
        cmocka_unit_test(test_repeated_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
