/* Join clauses honour case_sensitive: a case-sensitive clause joins only on exactly equal text,
 * a case-insensitive one (the default) on text equal but for ASCII case; binary values (hex in
 * the join index) are exact either way. */
#include "engine_test_util.h"

#define RULES_IT_CASE(cs) "{'rules': [" \
  "{'name': 'In it account', 'direction': 'inbound', 'connector': 'it', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'itAccount', 'mv_object_type': 'person', 'link_type': 'join', 'precedence': 20," \
  " 'join': [[{'cs_attribute': 'cn', 'mv_attribute': 'accountName', 'case_sensitive': " cs "}]]," \
  " 'flows': [{'type': 'direct', 'source': 'telephoneNumber', 'target': 'telephoneNumber'}]}]}"

#define IT_UPPER "dn: cn=ALICE,ou=accounts,dc=it\nobjectClass: top\nobjectClass: itAccount\nitId: it-1\ncn: ALICE\n" \
  "telephoneNumber: +1 555 0101\n\n"
#define IT_EXACT "dn: cn=bob,ou=accounts,dc=it\nobjectClass: top\nobjectClass: itAccount\nitId: it-2\ncn: bob\n" \
  "telephoneNumber: +1 555 0102\n\n"

static et_env *load(const char *it_rules)
{
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_add_ldif(t, "it", "it.ldif", "itId");
    et_rules(t, RULES_HR);
    et_rules(t, it_rules);
    et_write(t, "hr.ldif", HR_GROUP HR_ALICE HR_BOB);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
    et_ok(t, "hr", PROFILE_FULL_SYNC);
    et_write(t, "it.ldif", IT_UPPER IT_EXACT);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    return t;
}

static int64_t joined(et_env *t, const char *anchor)
{
    cs_object *o = et_cs_anchor(t, "it", anchor);
    assert_non_null(o);
    int64_t m = o->mv_id;
    cs_object_free(o);
    return m;
}

static void test_case_sensitive_join(void **state)
{
    (void)state;
    et_env *t = load(RULES_IT_CASE("true"));
    engine_stats st = et_ok(t, "it", PROFILE_FULL_SYNC);
    assert_int_equal(st.joins, 1);                       /* bob = bob */
    assert_int_equal(joined(t, "it-1"), 0);              /* ALICE is not alice */
    assert_int_equal(joined(t, "it-2"), et_mv_find(t, "accountName", "bob"));
    et_free(t);
}

static void test_case_insensitive_join(void **state)
{
    (void)state;
    et_env *t = load(RULES_IT_CASE("false"));
    engine_stats st = et_ok(t, "it", PROFILE_FULL_SYNC);
    assert_int_equal(st.joins, 2);
    assert_int_equal(joined(t, "it-1"), et_mv_find(t, "accountName", "alice"));
    assert_int_equal(joined(t, "it-2"), et_mv_find(t, "accountName", "bob"));
    et_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_sensitive_join),
        cmocka_unit_test(test_case_insensitive_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
