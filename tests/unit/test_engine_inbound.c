/* Inbound synchronization on a real SQLite database with ldif sources: scoping decides projection,
 * joins onto existing metaverse objects, ambiguous joins, precedence between connectors (with
 * lineage), AuthoritativeNull vs NULL, apply-once, forward references, and rule changes. */
#include "engine_test_util.h"

static int setup(void **state)
{
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_add_ldif(t, "it", "it.ldif", "itId");
    et_rules(t, RULES_HR);
    et_rules(t, RULES_IT);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    et_free(*state);
    return 0;
}

/* hr imported and fully synced with alice, bob (staff) and carol (contractor). */
static void load_hr(et_env *t, engine_stats *sync_stats)
{
    et_write(t, "hr.ldif", HR_GROUP HR_ALICE HR_BOB HR_CAROL);
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.adds, 4);
    st = et_ok(t, "hr", PROFILE_FULL_SYNC);
    if (sync_stats) *sync_stats = st;
}

static void test_scope_decides_projection(void **state)
{
    et_env *t = *state;
    engine_stats st;
    load_hr(t, &st);
    assert_int_equal(st.seen, 4);
    assert_int_equal(st.projections, 3);   /* alice, bob, staff; carol is out of scope */
    assert_int_equal(st.errors, 0);
    assert_int_equal(et_count_table(t, "mv_objects"), 3);
    cs_object *carol = et_cs(t, "hr", "uid=carol,ou=people,dc=hr");
    assert_non_null(carol);
    assert_int_equal(carol->mv_id, 0);                       /* a disconnector */
    assert_int_equal(carol->flags & CS_F_PENDING_IMPORT, 0);  /* but processed */
    cs_object_free(carol);
    mv_object *alice = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_non_null(alice);
    assert_string_equal(alice->object_type, "person");
    assert_true(et_has(alice->attrs, "accountName", "alice"));
    assert_true(et_has(alice->attrs, "sourceAnchor", "u-alice"));
    assert_true(et_has(alice->attrs, "mail", "alice@hr.test"));
    mv_object_free(alice);
    assert_int_equal(et_count_cs(t, "hr", STORE_CS_PENDING), 0);
    /* carol comes into scope: the next sync projects her. */
    et_write(t, "hr.ldif", HR_GROUP HR_ALICE HR_BOB
             "dn: uid=carol,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-carol\n"
             "uid: carol\ncn: Carol Contractor\nemployeeNumber: 1003\nemployeeType: staff\n\n");
    st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.updates, 1);
    assert_int_equal(st.unchanged, 3);
    st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.seen, 1);
    assert_int_equal(st.projections, 1);
    assert_int_not_equal(et_mv_find(t, "accountName", "carol"), 0);
}

static void test_join_onto_existing(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    int64_t alice_mv = et_mv_find(t, "accountName", "alice");
    assert_int_not_equal(alice_mv, 0);
    et_write(t, "it.ldif", IT_ALICE IT_BOB
             "dn: cn=zed,ou=accounts,dc=it\nobjectClass: itAccount\nitId: it-9\ncn: zed\nemployeeNumber: 9999\n\n");
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    engine_stats st = et_ok(t, "it", PROFILE_FULL_SYNC);
    assert_int_equal(st.joins, 2);
    assert_int_equal(st.projections, 0);   /* a join-only rule never projects */
    assert_int_equal(et_count_table(t, "mv_objects"), 3);
    cs_object *a = et_cs_anchor(t, "it", "it-1");
    assert_non_null(a);
    assert_int_equal(a->mv_id, alice_mv);
    cs_object_free(a);
    cs_object *z = et_cs_anchor(t, "it", "it-9");
    assert_non_null(z);
    assert_int_equal(z->mv_id, 0);         /* nothing to join: stays a disconnector */
    cs_object_free(z);
    mv_object *m = et_mv(t, alice_mv);
    assert_true(et_has(m->attrs, "telephoneNumber", "+1 555 0101"));   /* only it has it */
    assert_true(et_has(m->attrs, "accountName", "alice"));             /* only hr has it */
    mv_object_free(m);
}

static void test_join_ambiguous(void **state)
{
    et_env *t = *state;
    /* two hr people share employeeNumber 1001 (hr joins by entryUUID, so both project) */
    const char *alice2 = "dn: uid=alice2,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice2\n"
                         "uid: alice2\ncn: Alice Again\nemployeeNumber: 1001\nemployeeType: staff\n\n";
    char *hr = xasprintf("%s%s%s", HR_ALICE, HR_BOB, alice2);
    et_write(t, "hr.ldif", hr);
    free(hr);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_SYNC);
    assert_int_equal(st.projections, 3);
    et_write(t, "it.ldif", IT_ALICE IT_BOB);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    memset(&st, 0, sizeof st);
    int rc = et_run(t, "it", PROFILE_FULL_SYNC, &st);
    assert_int_equal(rc, ERR_PARTIAL);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.joins, 1);   /* bob joins; alice does not */
    struct et_run_ctx run = et_last_run(t);
    assert_string_equal(run.result, "completed-with-errors");
    struct et_err_ctx errs = et_last_errors(t, "sync-error");
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.dn, "cn=alice,ou=accounts,dc=it");
    assert_non_null(strstr(errs.msg, "matches 2 metaverse objects"));
    cs_object *a = et_cs_anchor(t, "it", "it-1");
    assert_int_equal(a->mv_id, 0);                                    /* nothing joined */
    assert_int_equal(a->flags & CS_F_PENDING_IMPORT, CS_F_PENDING_IMPORT);   /* retried next time */
    cs_object_free(a);
    /* neither candidate got it's values */
    int64_t ids[4];
    size_t n = 0;
    err e = {0};
    assert_int_equal(store_mv_search(t->st, "employeeNumber", "1001", ids, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        mv_object *m = et_mv(t, ids[i]);
        assert_false(et_has(m->attrs, "telephoneNumber", "+1 555 0101"));
        mv_object_free(m);
    }
    /* A delta sync retries it (still ambiguous)... */
    memset(&st, 0, sizeof st);
    assert_int_equal(et_run(t, "it", PROFILE_DELTA_SYNC, &st), ERR_PARTIAL);
    assert_int_equal(st.seen, 1);
    /* ...and once hr fixes the duplicate, the same pending object joins. */
    hr = xasprintf("%s%s%s", HR_ALICE, HR_BOB,
                   "dn: uid=alice2,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice2\n"
                   "uid: alice2\ncn: Alice Again\nemployeeNumber: 1077\nemployeeType: staff\n\n");
    et_write(t, "hr.ldif", hr);
    free(hr);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    et_ok(t, "hr", PROFILE_DELTA_SYNC);
    st = et_ok(t, "it", PROFILE_DELTA_SYNC);
    assert_int_equal(st.joins, 1);
    assert_int_equal(st.errors, 0);
    a = et_cs_anchor(t, "it", "it-1");
    assert_int_equal(a->mv_id, et_mv_find(t, "accountName", "alice"));
    cs_object_free(a);
}

static void test_precedence_and_lineage(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    et_write(t, "it.ldif", IT_ALICE IT_BOB);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    et_ok(t, "it", PROFILE_FULL_SYNC);
    mv_object *m = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    /* displayName: hr (10) beats it (20) */
    assert_true(et_has(m->attrs, "displayName", "Alice Archer"));
    assert_int_equal(et_nvals(m->attrs, "displayName"), 1);
    assert_true(et_has(m->lineage, "displayName", "hr|In hr person"));
    assert_true(et_has(m->lineage, "telephoneNumber", "it|In it account"));
    /* department: hr's flow gives NULL (no departmentNumber), so it's value flows */
    assert_true(et_has(m->attrs, "department", "D-IT"));
    assert_true(et_has(m->lineage, "department", "it|In it account"));
    assert_true(et_has(m->attrs, "title", "Engineer"));
    mv_object_free(m);
    /* bob has no title in hr: AuthoritativeNull from hr clears it although it has one */
    m = et_mv_of(t, "hr", "uid=bob,ou=people,dc=hr");
    assert_int_equal(et_nvals(m->attrs, "title"), 0);
    assert_true(et_has(m->attrs, "department", "D-OPS"));
    assert_true(et_has(m->attrs, "displayName", "Bob Baker"));
    mv_object_free(m);
    /* alice leaves hr's scope: it stays joined, so the MV object remains and it's values win now */
    char *hr = xasprintf("%s%s%s", HR_GROUP, HR_BOB,
                         "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\n"
                         "uid: alice\ncn: Alice Archer\nemployeeNumber: 1001\nemployeeType: former\n\n");
    et_write(t, "hr.ldif", hr);
    free(hr);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    engine_stats st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.mv_deletes, 0);
    cs_object *it = et_cs_anchor(t, "it", "it-1");
    assert_int_not_equal(it->mv_id, 0);
    m = et_mv(t, it->mv_id);
    cs_object_free(it);
    assert_non_null(m);
    assert_true(et_has(m->attrs, "displayName", "Alice from IT"));
    assert_true(et_has(m->lineage, "displayName", "it|In it account"));
    assert_true(et_has(m->attrs, "title", "IT title"));
    assert_int_equal(et_nvals(m->attrs, "accountName"), 0);
    mv_object_free(m);
}

static void test_apply_once(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    mv_object *m = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_true(et_has(m->attrs, "firstTitle", "Engineer"));
    mv_object_free(m);
    char *hr = xasprintf("%s%s%s", HR_GROUP, HR_BOB,
                         "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\n"
                         "uid: alice\ncn: Alice Archer\nemployeeNumber: 1001\nemployeeType: staff\n"
                         "title: Architect\nmanager: uid=bob,ou=people,dc=hr\n\n");
    et_write(t, "hr.ldif", hr);
    free(hr);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    et_ok(t, "hr", PROFILE_DELTA_SYNC);
    m = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_true(et_has(m->attrs, "title", "Architect"));
    assert_true(et_has(m->attrs, "firstTitle", "Engineer"));   /* kept: flows only while empty */
    assert_int_equal(et_nvals(m->attrs, "firstTitle"), 1);
    assert_int_equal(et_nvals(m->attrs, "mail"), 0);          /* mail removed in hr: removed in MV */
    mv_object_free(m);
}

static void test_forward_references(void **state)
{
    et_env *t = *state;
    engine_stats st;
    load_hr(t, &st);   /* the group and alice's manager come before the objects they name */
    assert_int_equal(st.errors, 0);
    char alice_id[32], bob_id[32];
    snprintf(alice_id, sizeof alice_id, "%lld", (long long)et_mv_find(t, "accountName", "alice"));
    snprintf(bob_id, sizeof bob_id, "%lld", (long long)et_mv_find(t, "accountName", "bob"));
    mv_object *g = et_mv_of(t, "hr", "cn=staff,ou=groups,dc=hr");
    assert_non_null(g);
    assert_string_equal(g->object_type, "group");
    assert_int_equal(et_nvals(g->attrs, "member"), 2);
    assert_true(et_has(g->attrs, "member", alice_id));
    assert_true(et_has(g->attrs, "member", bob_id));
    assert_int_equal(attrs_get(g->attrs, "member")->type, AT_REFERENCE);
    mv_object_free(g);
    mv_object *a = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_true(et_has(a->attrs, "manager", bob_id));
    mv_object_free(a);
    /* A reference to an object that is not in the metaverse is dropped (carol is out of scope). */
    et_write(t, "hr.ldif", HR_GROUP HR_BOB HR_CAROL
             "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\nuid: alice\n"
             "cn: Alice Archer\nemployeeNumber: 1001\nemployeeType: staff\nmanager: uid=carol,ou=people,dc=hr\n\n");
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.errors, 0);
    a = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_int_equal(et_nvals(a->attrs, "manager"), 0);
    mv_object_free(a);
}

/* A full sync plans the MV id of each object later in the pass, so references to it resolve at
   once; an object that then does not project (carol: out of scope) leaves its planned id unused,
   and the objects whose references named it are decided again: no reference to a missing id stays. */
static void test_forward_reference_to_object_not_projected(void **state)
{
    et_env *t = *state;
    et_write(t, "hr.ldif",
             "dn: cn=staff,ou=groups,dc=hr\nobjectClass: top\nobjectClass: groupOfNames\nentryUUID: g-staff\n"
             "cn: staff\nmember: uid=carol,ou=people,dc=hr\nmember: uid=alice,ou=people,dc=hr\n\n"
             "dn: uid=alice,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-alice\n"
             "uid: alice\ncn: Alice Archer\nemployeeNumber: 1001\nemployeeType: staff\n"
             "manager: uid=carol,ou=people,dc=hr\n\n" HR_CAROL HR_BOB);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_SYNC);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.projections, 3);   /* staff, alice, bob */
    assert_int_equal(et_count_table(t, "mv_objects"), 3);
    char alice_id[32];
    snprintf(alice_id, sizeof alice_id, "%lld", (long long)et_mv_find(t, "accountName", "alice"));
    mv_object *g = et_mv_of(t, "hr", "cn=staff,ou=groups,dc=hr");
    assert_non_null(g);
    assert_int_equal(et_nvals(g->attrs, "member"), 1);
    assert_true(et_has(g->attrs, "member", alice_id));
    mv_object_free(g);
    mv_object *a = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_int_equal(et_nvals(a->attrs, "manager"), 0);
    mv_object_free(a);
    /* the reverse-reference index: the group refers to alice, nobody to carol's planned id (the next
       after alice's: ids are planned in pass order) */
    int64_t ids[8];
    size_t n = 0;
    err e = {0};
    assert_int_equal(store_mv_index_find(t->st, "~ref", alice_id, ids, 8, &n, &e), 0);
    assert_int_equal(n, 1);
    char carol_planned[32];
    snprintf(carol_planned, sizeof carol_planned, "%lld", (long long)et_mv_find(t, "accountName", "alice") + 1);
    assert_int_equal(store_mv_index_find(t->st, "~ref", carol_planned, ids, 8, &n, &e), 0);
    assert_int_equal(n, 0);
    /* bob, after carol's unused id, took the next id: ids stay unique (a later projection too) */
    int64_t bob = et_mv_find(t, "accountName", "bob");
    assert_true(bob > et_mv_find(t, "accountName", "alice"));
    et_write(t, "hr.ldif", HR_GROUP HR_ALICE HR_BOB
             "dn: uid=dave,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-dave\n"
             "uid: dave\ncn: Dave\nemployeeNumber: 1004\nemployeeType: staff\n\n");
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.errors, 0);
    assert_true(et_mv_find(t, "accountName", "dave") > bob);
}

/* A delta sync plans no ids: a group changed to name a member that is new in the same delta (later
   in the pass) waits, and after the pass only its waiting attribute is decided again. */
static void test_forward_reference_in_delta(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    et_write(t, "hr.ldif",
             "dn: cn=staff,ou=groups,dc=hr\nobjectClass: top\nobjectClass: groupOfNames\nentryUUID: g-staff\n"
             "cn: staff\nmember: uid=alice,ou=people,dc=hr\nmember: uid=bob,ou=people,dc=hr\n"
             "member: uid=dave,ou=people,dc=hr\n\n" HR_ALICE HR_BOB HR_CAROL
             "dn: uid=dave,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-dave\n"
             "uid: dave\ncn: Dave\nemployeeNumber: 1004\nemployeeType: staff\n\n");
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    engine_stats st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.projections, 1);
    char dave_id[32];
    snprintf(dave_id, sizeof dave_id, "%lld", (long long)et_mv_find(t, "accountName", "dave"));
    mv_object *g = et_mv_of(t, "hr", "cn=staff,ou=groups,dc=hr");
    assert_non_null(g);
    assert_int_equal(et_nvals(g->attrs, "member"), 3);
    assert_true(et_has(g->attrs, "member", dave_id));
    /* the lineage of the attribute decided again is the group rule's, as a full recompute gives */
    assert_non_null(attrs_get_str(g->lineage, "member"));
    mv_object_free(g);
}

static void test_object_deletion_rule(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    et_write(t, "it.ldif", IT_ALICE IT_BOB);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    et_ok(t, "it", PROFILE_FULL_SYNC);
    int64_t bob = et_mv_find(t, "accountName", "bob");
    /* bob disappears from hr but it still contributes: the MV object stays */
    et_write(t, "hr.ldif", "dn: cn=staff,ou=groups,dc=hr\nobjectClass: groupOfNames\nentryUUID: g-staff\ncn: staff\n"
                           "member: uid=alice,ou=people,dc=hr\n\n"
             "dn: uid=alice,ou=people,dc=hr\nobjectClass: inetOrgPerson\nentryUUID: u-alice\nuid: alice\n"
             "cn: Alice Archer\nemployeeNumber: 1001\nemployeeType: staff\n\n" HR_CAROL);
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_IMPORT);
    assert_int_equal(st.deletes, 1);
    st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.mv_deletes, 0);
    assert_null(et_cs(t, "hr", "uid=bob,ou=people,dc=hr"));   /* the deleted CS object is gone */
    mv_object *m = et_mv(t, bob);
    assert_non_null(m);
    assert_true(et_has(m->attrs, "displayName", "Bob from IT"));
    mv_object_free(m);
    /* and when it deletes bob too, nobody contributes: the MV object is deleted */
    et_write(t, "it.ldif", IT_ALICE);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    st = et_ok(t, "it", PROFILE_DELTA_SYNC);
    assert_int_equal(st.mv_deletes, 1);
    assert_null(et_mv(t, bob));
    assert_int_equal(et_count_table(t, "mv_objects"), 2);
    /* the join index no longer finds it */
    int64_t ids[4];
    size_t n = 9;
    err e = {0};
    assert_int_equal(store_mv_index_find(t->st, "employeeNumber", "1002", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
}

struct run_list {
    int n;
    char profiles[16][32];
};

static int list_runs(void *ctx, const store_run *r, err *e)
{
    struct run_list *l = ctx;
    if (l->n < 16) snprintf(l->profiles[l->n++], 32, "%s", r->profile);
    return 0;
}

static void test_rule_change_flags_full_sync(void **state)
{
    et_env *t = *state;
    load_hr(t, NULL);
    store_connector *sc = et_conn(t, "hr");
    assert_false(sc->full_sync_required);     /* cleared by the full sync */
    assert_false(sc->full_import_required);   /* cleared by the full import */
    store_connector_free(sc);
    /* a new rule: every connector needs a full sync */
    et_rules(t, "{'rules': [{'name': 'In hr badge', 'direction': 'inbound', 'connector': 'hr', 'connector_type': 'ldif',"
                " 'cs_object_type': 'inetOrgPerson', 'mv_object_type': 'person', 'link_type': 'join', 'precedence': 15,"
                " 'flows': [{'type': 'expression', 'source': '`B-` & [employeeNumber]', 'target': 'badge'}]}]}");
    err e = {0};
    assert_int_equal(engine_rules_changed(t->st, &e), 0);
    sc = et_conn(t, "hr");
    assert_true(sc->full_sync_required);
    store_connector_free(sc);
    sc = et_conn(t, "it");
    assert_true(sc->full_sync_required);
    store_connector_free(sc);
    /* a delta sync has nothing pending: the new rule is not applied yet */
    engine_stats st = et_ok(t, "hr", PROFILE_DELTA_SYNC);
    assert_int_equal(st.seen, 0);
    mv_object *m = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_int_equal(et_nvals(m->attrs, "badge"), 0);
    mv_object_free(m);
    /* a cycle picks a full sync for the flagged connectors and applies it */
    et_write(t, "it.ldif", IT_ALICE);
    assert_int_equal(engine_cycle(&t->en, CYCLE_AUTO, &e), 0);
    struct run_list l = {0};
    assert_int_equal(store_run_each(t->st, 16, list_runs, &l, &e), 0);
    assert_true(l.n >= 4);
    /* newest first: hr and it synced in full (ordered by name: hr, it), after their imports */
    assert_string_equal(l.profiles[0], "full-sync");
    assert_string_equal(l.profiles[1], "full-sync");
    m = et_mv_of(t, "hr", "uid=alice,ou=people,dc=hr");
    assert_true(et_has(m->attrs, "badge", "B-1001"));
    mv_object_free(m);
    sc = et_conn(t, "hr");
    assert_false(sc->full_sync_required);
    store_connector_free(sc);
    /* the next cycle, without rule changes, syncs in delta */
    assert_int_equal(engine_cycle(&t->en, CYCLE_AUTO, &e), 0);
    l.n = 0;
    assert_int_equal(store_run_each(t->st, 16, list_runs, &l, &e), 0);
    assert_string_equal(l.profiles[0], "delta-sync");
    assert_string_equal(l.profiles[1], "delta-sync");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scope_decides_projection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_onto_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence_and_lineage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_reference_to_object_not_projected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_reference_in_delta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_deletion_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_change_flags_full_sync, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
