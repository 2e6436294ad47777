/* Outbound synchronization and export on a real SQLite database, from an ldif source ("hr") to an
 * ldif target ("out"): provisioning and the pending export contents, references that wait for the
 * export of their target and resolve after it, idempotence, deprovisioning on deletion and on
 * leaving scope, exact-difference updates with cleared attributes, and outbound apply-once. */
#include "engine_test_util.h"

#define OUT_CHANGES "out.changes.ldif"

static int setup(void **state)
{
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_add_ldif(t, "it", "it.ldif", "itId");
    et_add_ldif(t, "out", "out.ldif", "entryUUID");
    et_rules(t, RULES_HR);
    et_rules(t, RULES_IT);
    et_rules(t, RULES_OUT);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    et_free(*state);
    return 0;
}

static void sync_hr(et_env *t, const char *ldif, engine_profile sync, engine_stats *st)
{
    et_write(t, "hr.ldif", ldif);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    engine_stats s = et_ok(t, "hr", sync);
    if (st) *st = s;
}

/* hr synced and the target fully exported (including the references resolved after the adds). */
static void provision_all(et_env *t)
{
    sync_hr(t, HR_GROUP HR_ALICE HR_BOB HR_CAROL, PROFILE_FULL_SYNC, NULL);
    engine_stats st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.errors, 0);
    assert_int_equal(et_count_cs(t, "out", STORE_CS_EXPORT), 0);
}

static void test_provision_export_attrs(void **state)
{
    et_env *t = *state;
    engine_stats st;
    sync_hr(t, HR_GROUP HR_ALICE HR_BOB HR_CAROL, PROFILE_FULL_SYNC, &st);
    assert_int_equal(st.provisions, 3);   /* alice, bob, staff; carol was never projected */
    assert_int_equal(et_count_cs(t, "out", STORE_CS_ALL), 3);
    assert_int_equal(et_count_cs(t, "out", STORE_CS_EXPORT), 3);
    /* what export-preview shows: an add with the desired attributes, the DN apart */
    cs_object *a = et_cs(t, "out", T_ALICE);
    assert_non_null(a);
    assert_int_equal(a->export_op, CS_EXPORT_ADD);
    assert_true(a->flags & CS_F_PROVISIONAL);
    assert_string_equal(a->object_type, "inetOrgPerson");
    assert_int_equal(a->mv_id, et_mv_find(t, "accountName", "alice"));
    assert_non_null(a->export_attrs);
    assert_true(et_has(a->export_attrs, "uid", "alice"));
    assert_true(et_has(a->export_attrs, "cn", "Alice Archer"));
    assert_true(et_has(a->export_attrs, "mail", "alice@hr.test"));
    assert_true(et_has(a->export_attrs, "title", "Engineer"));
    assert_true(et_has(a->export_attrs, "description", "Alice Archer"));
    assert_null(attrs_get(a->export_attrs, "dn"));
    assert_null(attrs_get(a->export_attrs, "manager"));   /* bob is not in the target yet */
    assert_true(a->flags & CS_F_UNRESOLVED);              /* ...so alice waits for him */
    assert_int_equal(a->export_attrs->n, 5);
    cs_object_free(a);
    cs_object *b = et_cs(t, "out", T_BOB);
    assert_non_null(b);
    assert_false(b->flags & CS_F_UNRESOLVED);
    assert_null(attrs_get(b->export_attrs, "title"));     /* AuthoritativeNull in the MV: nothing to send */
    cs_object_free(b);
    cs_object *g = et_cs(t, "out", T_STAFF);
    assert_non_null(g);
    assert_true(g->flags & CS_F_UNRESOLVED);
    assert_null(attrs_get(g->export_attrs, "member"));
    cs_object_free(g);
    /* a sync again changes nothing while the adds are pending */
    st = et_ok(t, "hr", PROFILE_FULL_SYNC);
    assert_int_equal(st.provisions, 0);
    assert_int_equal(et_count_cs(t, "out", STORE_CS_ALL), 3);
}

static void test_references_resolve_after_export(void **state)
{
    et_env *t = *state;
    sync_hr(t, HR_GROUP HR_ALICE HR_BOB, PROFILE_FULL_SYNC, NULL);
    engine_stats st = et_ok(t, "out", PROFILE_EXPORT);
    /* three adds, then the two objects waiting for references are updated in the same run */
    assert_int_equal(st.export_adds, 3);
    assert_int_equal(st.export_updates, 2);
    assert_int_equal(st.exported, 5);
    assert_int_equal(st.errors, 0);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "changetype: add\n"), 3);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "changetype: modify\n"), 2);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "add: member\nmember: " T_ALICE "\nmember: " T_BOB "\n"), 1);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "replace: manager\nmanager: " T_BOB "\n"), 1);
    cs_object *a = et_cs(t, "out", T_ALICE);
    assert_int_equal(a->export_op, CS_EXPORT_NONE);
    assert_int_equal(a->flags & (CS_F_UNRESOLVED | CS_F_PROVISIONAL), 0);
    assert_true(a->flags & CS_F_EXPORTED);              /* awaits a confirming import */
    assert_true(et_has(a->attrs, "manager", T_BOB));
    assert_true(a->anchor_len == 36);                   /* the UUID the target assigned */
    assert_false(memcmp(a->anchor, "provisional:", 12) == 0);
    cs_object_free(a);
    cs_object *g = et_cs(t, "out", T_STAFF);
    assert_int_equal(et_nvals(g->attrs, "member"), 2);
    assert_int_equal(g->flags & CS_F_UNRESOLVED, 0);
    cs_object_free(g);
}

static void test_idempotence(void **state)
{
    et_env *t = *state;
    provision_all(t);
    char *before = et_read(t, OUT_CHANGES);
    assert_non_null(before);
    /* the same source again: full import finds nothing new, full syncs find nothing to export */
    engine_stats st;
    sync_hr(t, HR_GROUP HR_ALICE HR_BOB HR_CAROL, PROFILE_FULL_SYNC, &st);
    assert_int_equal(st.provisions + st.export_updates + st.deprovisions + st.projections + st.errors, 0);
    st = et_ok(t, "out", PROFILE_FULL_SYNC);
    assert_int_equal(st.provisions + st.export_updates + st.deprovisions + st.errors, 0);
    assert_int_equal(et_count_cs(t, "out", STORE_CS_EXPORT), 0);
    st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.seen, 0);
    st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.exported, 0);
    char *after = et_read(t, OUT_CHANGES);
    assert_string_equal(before, after);   /* nothing was sent */
    free(before);
    free(after);
}

static void test_update_is_exact_difference(void **state)
{
    et_env *t = *state;
    provision_all(t);
    /* alice: new cn and mail removed; title unchanged */
    sync_hr(t, HR_GROUP HR_BOB HR_CAROL
            "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\nuid: alice\n"
            "cn: Alice Smith\nemployeeNumber: 1001\nemployeeType: staff\ntitle: Engineer\n"
            "manager: uid=bob,ou=people,dc=hr\n\n", PROFILE_DELTA_SYNC, NULL);
    cs_object *a = et_cs(t, "out", T_ALICE);
    assert_int_equal(a->export_op, CS_EXPORT_UPDATE);
    assert_non_null(a->export_attrs);
    assert_true(et_has(a->export_attrs, "cn", "Alice Smith"));
    assert_true(et_has(a->export_attrs, "__clear", "mail"));
    assert_null(attrs_get(a->export_attrs, "title"));
    assert_null(attrs_get(a->export_attrs, "uid"));
    assert_null(attrs_get(a->export_attrs, "description"));   /* apply-once: set at creation only */
    assert_int_equal(a->export_attrs->n, 2);
    cs_object_free(a);
    cs_object *b = et_cs(t, "out", T_BOB);
    assert_int_equal(b->export_op, CS_EXPORT_NONE);
    cs_object_free(b);
    engine_stats st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.export_updates, 1);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "replace: cn\ncn: Alice Smith\n-\n"), 1);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "replace: mail\n-\n"), 1);
    a = et_cs(t, "out", T_ALICE);
    assert_true(et_has(a->attrs, "description", "Alice Archer"));
    assert_int_equal(et_nvals(a->attrs, "mail"), 0);
    cs_object_free(a);
}

static void test_deletion_deprovisions(void **state)
{
    et_env *t = *state;
    provision_all(t);
    /* bob is deleted in hr (and so leaves the group and alice's manager) */
    engine_stats st;
    sync_hr(t, "dn: cn=staff,ou=groups,dc=hr\nobjectClass: groupOfNames\nentryUUID: g-staff\ncn: staff\n"
               "member: uid=alice,ou=people,dc=hr\n\n"
               "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\nuid: alice\n"
               "cn: Alice Archer\nmail: alice@hr.test\nemployeeNumber: 1001\nemployeeType: staff\ntitle: Engineer\n\n"
               HR_CAROL, PROFILE_DELTA_SYNC, &st);
    assert_int_equal(st.mv_deletes, 1);
    assert_int_equal(st.deprovisions, 1);
    assert_int_equal(et_mv_find(t, "accountName", "bob"), 0);
    cs_object *b = et_cs(t, "out", T_BOB);
    assert_non_null(b);
    assert_int_equal(b->export_op, CS_EXPORT_DELETE);
    cs_object_free(b);
    cs_object *g = et_cs(t, "out", T_STAFF);
    assert_int_equal(g->export_op, CS_EXPORT_UPDATE);
    cs_object_free(g);
    cs_object *a = et_cs(t, "out", T_ALICE);
    assert_int_equal(a->export_op, CS_EXPORT_UPDATE);
    assert_true(et_has(a->export_attrs, "__clear", "manager"));
    cs_object_free(a);
    st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.export_deletes, 1);
    assert_int_equal(st.export_updates, 2);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "dn: " T_BOB "\nchangetype: delete\n"), 1);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, "delete: member\nmember: " T_BOB "\n"), 1);
    assert_null(et_cs(t, "out", T_BOB));   /* gone after the export */
    assert_int_equal(et_count_cs(t, "out", STORE_CS_ALL), 2);
}

static void test_leaving_scope_deprovisions(void **state)
{
    et_env *t = *state;
    provision_all(t);
    /* inbound: bob becomes a contractor (out of hr's scope): MV deleted, target deleted */
    engine_stats st;
    sync_hr(t, HR_GROUP HR_ALICE HR_CAROL
            "dn: uid=bob,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-bob\nuid: bob\ncn: Bob Baker\n"
            "employeeNumber: 1002\nemployeeType: contractor\n\n", PROFILE_DELTA_SYNC, &st);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.mv_deletes, 1);
    assert_int_equal(st.deprovisions, 1);
    cs_object *b = et_cs(t, "out", T_BOB);
    assert_int_equal(b->export_op, CS_EXPORT_DELETE);
    cs_object_free(b);
    cs_object *hb = et_cs(t, "hr", "uid=bob,ou=people,dc=hr");
    assert_int_equal(hb->mv_id, 0);   /* still staged, now a disconnector */
    cs_object_free(hb);
    /* outbound: alice's MV object stays (it is joined) but loses accountName -> out of "Out person" scope */
    et_write(t, "it.ldif", IT_ALICE);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    et_ok(t, "it", PROFILE_FULL_SYNC);
    sync_hr(t, HR_GROUP HR_CAROL
            "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\nuid: alice\n"
            "cn: Alice Archer\nemployeeNumber: 1001\nemployeeType: gone\n\n"
            "dn: uid=bob,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-bob\nuid: bob\ncn: Bob Baker\n"
            "employeeNumber: 1002\nemployeeType: contractor\n\n", PROFILE_DELTA_SYNC, &st);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.mv_deletes, 0);
    assert_int_equal(st.deprovisions, 1);
    cs_object *it = et_cs_anchor(t, "it", "it-1");
    mv_object *m = et_mv(t, it->mv_id);
    assert_non_null(m);   /* still in the metaverse */
    mv_object_free(m);
    cs_object *a = et_cs(t, "out", T_ALICE);
    assert_int_equal(a->export_op, CS_EXPORT_DELETE);
    assert_int_equal(a->mv_id, it->mv_id);
    cs_object_free(a);
    cs_object_free(it);
    st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.export_deletes, 2);
    assert_null(et_cs(t, "out", T_ALICE));
}

static void test_never_exported_is_dropped(void **state)
{
    et_env *t = *state;
    /* provisioned but not exported yet: deprovisioning just forgets the pending add */
    sync_hr(t, HR_GROUP HR_ALICE HR_BOB, PROFILE_FULL_SYNC, NULL);
    assert_int_equal(et_count_cs(t, "out", STORE_CS_EXPORT), 3);
    engine_stats st;
    sync_hr(t, HR_GROUP HR_ALICE, PROFILE_DELTA_SYNC, &st);
    assert_int_equal(st.deprovisions, 1);
    assert_null(et_cs(t, "out", T_BOB));
    st = et_ok(t, "out", PROFILE_EXPORT);
    assert_int_equal(st.export_deletes, 0);
    assert_int_equal(st.export_adds, 2);
    assert_int_equal(et_count_in_file(t, OUT_CHANGES, T_BOB), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_provision_export_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references_resolve_after_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_is_exact_difference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_deprovisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaving_scope_deprovisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_exported_is_dropped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
