/* Default rule sets: shipped files equal the embedded text, they load and validate, they
 * instantiate per connector, and key flows behave as documented when evaluated with expr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rule.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    return buf_steal(&b, NULL);
}

static void test_files_match_embedded(void **state)
{
    (void)state;
    const char *src = getenv("IDSYNC_SRC");
    if (!src) src = ".";
    const char *types[] = {"ad", "ldap", "scim"};
    for (size_t i = 0; i < 3; i++) {
        char *path = xasprintf("%s/rules/defaults/%s.json", src, types[i]);
        char *text = read_file(path);
        if (!text) fail_msg("cannot read %s (set IDSYNC_SRC to the repository root)", path);
        const char *embedded = rule_defaults_json(types[i]);
        assert_non_null(embedded);
        if (strcmp(text, embedded) != 0)
            fail_msg("%s differs from the text embedded in src/rules/rule_defaults_%s.c; regenerate it (docs/RULES.md)",
                     path, types[i]);
        free(text);
        free(path);
    }
    assert_null(rule_defaults_json("ldif"));
    assert_null(rule_defaults_json(NULL));
}

static void test_defaults_load_and_validate(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults(s, "ad", &e), 0);
    assert_int_equal(rule_set_defaults(s, "ldap", &e), 0);
    assert_int_equal(rule_set_defaults(s, "scim", &e), 0);
    assert_int_equal(rule_validate_set(s, &e), 0);
    const char *names[] = {
        "In from AD - User Join", "In from AD - User Common", "In from AD - Group Join",
        "In from AD - Group Common", "In from AD - Contact Join", "In from AD - Contact Common",
        "In from LDAP - InetOrgPerson Join", "In from LDAP - InetOrgPerson Common",
        "In from LDAP - GroupOfNames Join", "In from LDAP - GroupOfUniqueNames Common",
        "Out to SCIM - User Identity", "Out to SCIM - Group",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const rule *r = rule_set_find(s, names[i]);
        if (!r) fail_msg("default rule '%s' missing", names[i]);
        assert_string_equal(r->connector, "*");
        assert_true(r->enabled);
    }
    const rule *uj = rule_set_find(s, "In from AD - User Join");
    assert_int_equal(uj->link_type, RULE_LINK_PROVISION);
    assert_int_equal(uj->njoin, 2);
    assert_string_equal(rule_set_find(s, "In from AD - User Common")->origin, "defaults/ad.json");
    assert_int_equal(rule_set_find(s, "In from AD - User Common")->link_type, RULE_LINK_JOIN);
    /* contacts are never exported to SCIM */
    for (size_t i = 0; i < s->n; i++)
        if (s->rules[i]->direction == RULE_OUTBOUND) assert_string_not_equal(s->rules[i]->mv_object_type, "contact");
    /* loading the same defaults twice is refused (names), nothing is added */
    size_t n = s->n;
    assert_int_equal(rule_set_defaults(s, "scim", &e), ERR_EXISTS);
    assert_int_equal(s->n, n);
    assert_int_equal(rule_set_defaults(s, "oracle", &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "no default rules for connector type 'oracle'"));
    /* export -> load gives the same hashes */
    char *text = rule_set_to_text(s);
    rule_set *b = rule_set_new();
    assert_int_equal(rule_set_load_json(b, text, "export", &e), 0);
    char h1[65], h2[65];
    rule_set_hash(s, h1);
    rule_set_hash(b, h2);
    assert_string_equal(h1, h2);
    free(text);
    rule_set_free(b);
    rule_set_free(s);
}

static void test_scim_targets_are_connector_names(void **state)
{
    (void)state;
    /* The scim connector's attribute names, exactly. */
    const char *allowed[] = {"userName", "externalId", "displayName", "name.givenName", "name.familyName", "title",
                             "active", "emails.work", "phoneNumbers.work", "phoneNumbers.mobile", "employeeNumber",
                             "department", "manager", "members", NULL};
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults(s, "scim", &e), 0);
    for (size_t i = 0; i < s->n; i++) {
        for (size_t f = 0; f < s->rules[i]->nflows; f++) {
            bool ok = false;
            for (size_t k = 0; allowed[k]; k++) ok |= strcmp(allowed[k], s->rules[i]->flows[f].target) == 0;
            if (!ok) fail_msg("rule '%s' targets unknown SCIM attribute %s", s->rules[i]->name, s->rules[i]->flows[f].target);
        }
    }
    rule_set_free(s);
}

static void test_instantiate(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults_for(s, "ad", "corp", &e), 0);
    const rule *r = rule_set_find(s, "In from AD - User Join (corp)");
    assert_non_null(r);
    assert_string_equal(r->connector, "corp");
    assert_int_equal(r->precedence, 100);
    assert_true(rule_applies_to(r, "corp", "ad", "user"));
    assert_false(rule_applies_to(r, "fabrikam", "ad", "user"));
    /* a second forest gets the next free precedence block */
    assert_int_equal(rule_set_defaults_for(s, "ad", "fabrikam", &e), 0);
    assert_int_equal(rule_set_find(s, "In from AD - User Join (fabrikam)")->precedence, 1100);
    /* templates next to instances: the templates' 100.. range is taken, so the set refuses them */
    assert_int_equal(rule_set_defaults(s, "ad", &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "precedence 100"));
    assert_int_equal(rule_set_defaults_for(s, "ldap", "openldap", &e), 0);
    assert_int_equal(rule_set_find(s, "In from LDAP - InetOrgPerson Join (openldap)")->precedence, 200);
    assert_int_equal(rule_set_defaults_for(s, "scim", "cloud", &e), 0);
    assert_int_equal(rule_validate_set(s, &e), 0);
    /* instantiation of a bad connector name */
    assert_null(rule_instantiate(s->rules[0], "*", 0, &e));
    assert_null(rule_instantiate(s->rules[0], "x", RULE_PRECEDENCE_MAX, &e));
    assert_non_null(strstr(e.msg, "outside"));
    rule_set_free(s);
}

/* Evaluation environment over an attrs set with Domain.FQDN = example.test. */
static const attr *env_lookup(void *ctx, const char *name)
{
    return attrs_get((const attrs *)ctx, name);
}

static const char *env_param(void *ctx, const char *name)
{
    (void)ctx;
    return strcasecmp(name, "Domain.FQDN") == 0 ? "example.test" : NULL;
}

/* The first value (as text, lowercased for booleans) of the flow to target, "<null>" when the flow
   gives no value. */
static char *flow_value(const rule_set *s, const char *rule_name, const char *target, const attrs *in)
{
    const rule *r = rule_set_find(s, rule_name);
    if (!r) fail_msg("no rule %s", rule_name);
    for (size_t i = 0; i < r->nflows; i++) {
        if (strcmp(r->flows[i].target, target) != 0) continue;
        expr_env env = {.ctx = (void *)in, .lookup = env_lookup, .param = env_param, .now = 1700000000};
        attr out = {.name = (char *)target};
        expr_outcome oc;
        err e = {0};
        if (rule_flow_eval(&r->flows[i], &env, &out, &oc, &e) < 0) fail_msg("%s/%s: %s", rule_name, target, e.msg);
        char *v;
        if (oc != EXPR_VALUE || out.nvals == 0) {
            v = xstrdup("<null>");
        } else {
            v = xstrdup(out.vals[0].data);
            if (out.type == AT_BOOLEAN)
                for (char *p = v; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        }
        for (size_t k = 0; k < out.nvals; k++) free(out.vals[k].data);
        free(out.vals);
        return v;
    }
    fail_msg("rule %s has no flow to %s", rule_name, target);
    return NULL;
}

#define EXPECT_FLOW(set, rule, target, in, want)                 \
    do {                                                         \
        char *got_ = flow_value((set), (rule), (target), (in));  \
        assert_string_equal(got_, (want));                       \
        free(got_);                                              \
    } while (0)

static attrs *ad_user(const char *sam)
{
    attrs *a = attrs_new();
    if (sam) attrs_set_str(a, "sAMAccountName", sam);
    attr *u = attrs_put(a, "userAccountControl", AT_INTEGER);
    attr_add_str(u, "512");
    attr *g = attrs_put(a, "objectGUID", AT_BINARY);
    attr_add(g, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    return a;
}

#define UC "In from AD - User Common"

static void test_ad_cloud_filtered(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults(s, "ad", &e), 0);
    const char *filtered[] = {"krbtgt", "KRBTGT", "Guest", "HealthMailbox123", "HealthMailboxa1b2c3",
                              "SUPPORT_388945a0", "MSOL_0123abcd", "AAD_987", "DefaultAccount", "WDAGUtilityAccount",
                              "CAS_{abc}", "krbtgt_12345", "WS01$"};
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++) {
        attrs *a = ad_user(filtered[i]);
        char *v = flow_value(s, UC, "cloudFiltered", a);
        if (strcmp(v, "true") != 0) fail_msg("cloudFiltered for %s is %s, expected true", filtered[i], v);
        free(v);
        attrs_free(a);
    }
    const char *normal[] = {"jsmith", "guest2", "healthy", "msol", "cas_nobrace", "administrators_x"};
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++) {
        attrs *a = ad_user(normal[i]);
        char *v = flow_value(s, UC, "cloudFiltered", a);
        if (strcmp(v, "false") != 0) fail_msg("cloudFiltered for %s is %s, expected false", normal[i], v);
        free(v);
        attrs_free(a);
    }
    /* isCriticalSystemObject (Administrator and built-in accounts) */
    attrs *a = ad_user("Administrator");
    EXPECT_FLOW(s, UC, "cloudFiltered", a, "false");
    attr *c = attrs_put(a, "isCriticalSystemObject", AT_BOOLEAN);
    attr_add_str(c, "TRUE");
    EXPECT_FLOW(s, UC, "cloudFiltered", a, "true");
    attrs_free(a);
    /* Exchange system mailboxes by mailNickname */
    a = ad_user("SM_1234567890abcdef");
    attrs_set_str(a, "mailNickname", "SystemMailbox{1f05a927-1234}");
    EXPECT_FLOW(s, UC, "cloudFiltered", a, "true");
    attrs_free(a);
    /* groups: critical system objects only */
    a = attrs_new();
    attrs_set_str(a, "sAMAccountName", "Domain Admins");
    EXPECT_FLOW(s, "In from AD - Group Common", "cloudFiltered", a, "false");
    c = attrs_put(a, "isCriticalSystemObject", AT_BOOLEAN);
    attr_add_str(c, "TRUE");
    EXPECT_FLOW(s, "In from AD - Group Common", "cloudFiltered", a, "true");
    attrs_free(a);
    rule_set_free(s);
}

static void test_ad_user_flows(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults(s, "ad", &e), 0);
    attrs *a = ad_user("jsmith");
    EXPECT_FLOW(s, UC, "accountEnabled", a, "true");
    attrs_set_str(a, "userAccountControl", "514");
    EXPECT_FLOW(s, UC, "accountEnabled", a, "false");
    attrs_set_str(a, "userAccountControl", "66050"); /* 65536 + 512 + 2 */
    EXPECT_FLOW(s, UC, "accountEnabled", a, "false");
    /* UPN fallback */
    EXPECT_FLOW(s, UC, "userPrincipalName", a, "jsmith@example.test");
    attrs_set_str(a, "userPrincipalName", "john.smith@corp.example");
    EXPECT_FLOW(s, UC, "userPrincipalName", a, "john.smith@corp.example");
    /* sourceAnchor: base64 of objectGUID, or of ms-DS-ConsistencyGuid when present */
    EXPECT_FLOW(s, UC, "sourceAnchor", a, "AQIDBAUGBwgJCgsMDQ4PEA==");
    attr *cg = attrs_put(a, "mS-DS-ConsistencyGuid", AT_BINARY);
    attr_add(cg, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0", 16);
    EXPECT_FLOW(s, UC, "sourceAnchor", a, "//79/Pv6+fj39vX08/Lx8A==");
    /* direct flows and the renamed employeeID */
    attrs_set_str(a, "givenName", "John");
    attrs_set_str(a, "employeeID", "E-42");
    EXPECT_FLOW(s, UC, "givenName", a, "John");
    EXPECT_FLOW(s, UC, "employeeNumber", a, "E-42");
    EXPECT_FLOW(s, UC, "sn", a, "<null>");
    attrs_free(a);
    /* groups: security flag from groupType bit 0x80000000 */
    a = attrs_new();
    attr *gt = attrs_put(a, "groupType", AT_INTEGER);
    attr_add_str(gt, "-2147483646"); /* global security group */
    EXPECT_FLOW(s, "In from AD - Group Common", "securityEnabled", a, "true");
    attrs_set_str(a, "groupType", "2"); /* global distribution group */
    EXPECT_FLOW(s, "In from AD - Group Common", "securityEnabled", a, "false");
    attrs_free(a);
    rule_set_free(s);
}

static void test_ldap_and_scim(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_defaults(s, "ldap", &e), 0);
    assert_int_equal(rule_set_defaults(s, "scim", &e), 0);
    attrs *a = attrs_new();
    attrs_set_str(a, "uid", "jdoe");
    attrs_set_str(a, "cn", "Jane Doe");
    attrs_set_str(a, "entryUUID", "6a1e3c50-1111-4c1a-9b8e-1234567890ab");
    const char *ic = "In from LDAP - InetOrgPerson Common";
    EXPECT_FLOW(s, ic, "userPrincipalName", a, "jdoe@example.test");
    EXPECT_FLOW(s, ic, "displayName", a, "Jane Doe");
    EXPECT_FLOW(s, ic, "accountEnabled", a, "true");
    EXPECT_FLOW(s, "In from LDAP - InetOrgPerson Join", "sourceAnchor", a, "6a1e3c50-1111-4c1a-9b8e-1234567890ab");
    attrs_set_str(a, "mail", "jane@example.org");
    attrs_set_str(a, "displayName", "Jane D.");
    EXPECT_FLOW(s, ic, "userPrincipalName", a, "jane@example.org");
    EXPECT_FLOW(s, ic, "displayName", a, "Jane D.");
    attrs_free(a);
    /* multi-valued uid / cn (common in LDAP): the first value, one value only */
    a = attrs_new();
    attr *uid = attrs_put(a, "uid", AT_STRING);
    attr_add_str(uid, "jdoe");
    attr_add_str(uid, "jane.doe");
    attr *cn = attrs_put(a, "cn", AT_STRING);
    attr_add_str(cn, "Jane Doe");
    attr_add_str(cn, "Jane");
    EXPECT_FLOW(s, ic, "userPrincipalName", a, "jdoe@example.test");
    EXPECT_FLOW(s, ic, "accountName", a, "jdoe");
    EXPECT_FLOW(s, ic, "displayName", a, "Jane Doe");
    EXPECT_FLOW(s, "In from LDAP - GroupOfNames Common", "displayName", a, "Jane Doe");
    {
        const rule *r = rule_set_find(s, ic);
        for (size_t i = 0; i < r->nflows; i++) {
            if (strcmp(r->flows[i].target, "userPrincipalName") != 0) continue;
            expr_env env = {.ctx = a, .lookup = env_lookup, .param = env_param};
            attr out = {.name = "upn"};
            expr_outcome oc;
            assert_int_equal(rule_flow_eval(&r->flows[i], &env, &out, &oc, &e), 0);
            assert_int_equal(out.nvals, 1);
            for (size_t k = 0; k < out.nvals; k++) free(out.vals[k].data);
            free(out.vals);
        }
    }
    attrs_free(a);
    /* SCIM user scope: cloudFiltered true is out; absent or false is in */
    const rule *out = rule_set_find(s, "Out to SCIM - User Identity");
    attrs *mv = attrs_new();
    attrs_set_str(mv, "userPrincipalName", "jane@example.org");
    attrs_set_str(mv, "sourceAnchor", "abc");
    assert_true(rule_scope_match(out, NULL, mv));
    attr *cf = attrs_put(mv, "cloudFiltered", AT_BOOLEAN);
    attr_add_str(cf, "FALSE");
    assert_true(rule_scope_match(out, NULL, mv));
    cf = attrs_put(mv, "cloudFiltered", AT_BOOLEAN);
    attr_add_str(cf, "TRUE");
    assert_false(rule_scope_match(out, NULL, mv));
    attrs_remove(mv, "cloudFiltered");
    attrs_remove(mv, "userPrincipalName");
    assert_false(rule_scope_match(out, NULL, mv)); /* SCIM needs a userName */
    attrs_set_str(mv, "userPrincipalName", "jane@example.org");
    attrs_set_str(mv, "sn", "Doe");
    EXPECT_FLOW(s, "Out to SCIM - User Identity", "userName", mv, "jane@example.org");
    EXPECT_FLOW(s, "Out to SCIM - User Identity", "name.familyName", mv, "Doe");
    EXPECT_FLOW(s, "Out to SCIM - User Identity", "externalId", mv, "abc");
    attrs_free(mv);
    rule_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_match_embedded),
        cmocka_unit_test(test_defaults_load_and_validate),
        cmocka_unit_test(test_scim_targets_are_connector_names),
        cmocka_unit_test(test_instantiate),
        cmocka_unit_test(test_ad_cloud_filtered),
        cmocka_unit_test(test_ad_user_flows),
        cmocka_unit_test(test_ldap_and_scim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
