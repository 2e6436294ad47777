/* Scoping filters: every operator, multi-valued and absent attributes, DN suffixes, groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rule.h"
#include "util/util_alloc.h"

/* One clause, built by hand (no JSON), evaluated against an object. */
static bool match(const char *attribute, rule_scope_op op, const char *value, const char *dn, const attrs *a)
{
    rule_scope_clause c = {.attribute = (char *)attribute, .op = op, .value = (char *)value};
    if (op == RULE_OP_ISBITSET || op == RULE_OP_ISNOTBITSET) c.mask = strtoll(value, NULL, 0);
    return rule_scope_clause_match(&c, dn, a);
}

static attrs *sample(void)
{
    attrs *a = attrs_new();
    attrs_set_str(a, "sAMAccountName", "JSmith");
    attr *m = attrs_put(a, "proxyAddresses", AT_STRING);
    attr_add_str(m, "SMTP:john.smith@example.test");
    attr_add_str(m, "smtp:js@corp.example.test");
    attr *u = attrs_put(a, "userAccountControl", AT_INTEGER);
    attr_add_str(u, "514");
    attr *g = attrs_put(a, "groupType", AT_INTEGER);
    attr_add_str(g, "-2147483646");
    attrs_put(a, "emptyAttr", AT_STRING); /* present with no values = null */
    attr *mgr = attrs_put(a, "manager", AT_REFERENCE);
    attr_add_str(mgr, "CN=Boss,OU=Staff,DC=example,DC=test");
    return a;
}

#define DN "CN=John Smith,OU=Sales,OU=Staff,DC=example,DC=test"

static void test_equal(void **state)
{
    (void)state;
    attrs *a = sample();
    assert_true(match("sAMAccountName", RULE_OP_EQUAL, "jsmith", DN, a));      /* case-insensitive */
    assert_false(match("sAMAccountName", RULE_OP_EQUAL, "jsmit", DN, a));
    assert_false(match("SAMACCOUNTNAME", RULE_OP_NOTEQUAL, "JSMITH", DN, a));  /* names case-insensitive */
    assert_true(match("sAMAccountName", RULE_OP_NOTEQUAL, "other", DN, a));
    /* multi-valued: any value */
    assert_true(match("proxyAddresses", RULE_OP_EQUAL, "smtp:js@corp.example.test", DN, a));
    assert_false(match("proxyAddresses", RULE_OP_NOTEQUAL, "smtp:js@corp.example.test", DN, a));
    /* absent: EQUAL false, NOTEQUAL true (Entra: cloudFiltered NOTEQUAL True keeps unfiltered objects) */
    assert_false(match("cloudFiltered", RULE_OP_EQUAL, "true", DN, a));
    assert_true(match("cloudFiltered", RULE_OP_NOTEQUAL, "true", DN, a));
    assert_true(match("emptyAttr", RULE_OP_NOTEQUAL, "x", DN, a));
    assert_false(match("x", RULE_OP_EQUAL, "x", DN, NULL));
    attrs_free(a);
}

static void test_null(void **state)
{
    (void)state;
    attrs *a = sample();
    assert_false(match("sAMAccountName", RULE_OP_ISNULL, NULL, DN, a));
    assert_true(match("sAMAccountName", RULE_OP_ISNOTNULL, NULL, DN, a));
    assert_true(match("mail", RULE_OP_ISNULL, NULL, DN, a));
    assert_false(match("mail", RULE_OP_ISNOTNULL, NULL, DN, a));
    assert_true(match("emptyAttr", RULE_OP_ISNULL, NULL, DN, a));
    assert_false(match("emptyAttr", RULE_OP_ISNOTNULL, NULL, DN, a));
    assert_true(match("mail", RULE_OP_ISNULL, NULL, NULL, NULL));
    attrs_free(a);
}

static void test_starts_ends_contains(void **state)
{
    (void)state;
    attrs *a = sample();
    assert_true(match("sAMAccountName", RULE_OP_STARTSWITH, "js", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_STARTSWITH, "smith", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_NOTSTARTSWITH, "JS", DN, a));
    assert_true(match("sAMAccountName", RULE_OP_NOTSTARTSWITH, "x", DN, a));
    assert_true(match("sAMAccountName", RULE_OP_ENDSWITH, "SMITH", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_ENDSWITH, "jsmithx", DN, a)); /* longer than the value */
    assert_false(match("sAMAccountName", RULE_OP_NOTENDSWITH, "mith", DN, a));
    assert_true(match("sAMAccountName", RULE_OP_NOTENDSWITH, "j", DN, a));
    assert_true(match("sAMAccountName", RULE_OP_CONTAINS, "SMI", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_CONTAINS, "smx", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_NOTCONTAINS, "sMi", DN, a));
    assert_true(match("sAMAccountName", RULE_OP_NOTCONTAINS, "zz", DN, a));
    /* multi-valued: the second value matches */
    assert_true(match("proxyAddresses", RULE_OP_ENDSWITH, "@corp.example.test", DN, a));
    assert_true(match("proxyAddresses", RULE_OP_STARTSWITH, "SMTP:js@", DN, a));
    assert_true(match("proxyAddresses", RULE_OP_CONTAINS, "john.smith", DN, a));
    assert_false(match("proxyAddresses", RULE_OP_NOTCONTAINS, "john.smith", DN, a));
    /* absent: positive false, negative true */
    assert_false(match("mail", RULE_OP_STARTSWITH, "a", DN, a));
    assert_true(match("mail", RULE_OP_NOTSTARTSWITH, "a", DN, a));
    assert_false(match("mail", RULE_OP_ENDSWITH, "a", DN, a));
    assert_true(match("mail", RULE_OP_NOTENDSWITH, "a", DN, a));
    assert_false(match("mail", RULE_OP_CONTAINS, "a", DN, a));
    assert_true(match("mail", RULE_OP_NOTCONTAINS, "a", DN, a));
    attrs_free(a);
}

static void test_bitset(void **state)
{
    (void)state;
    attrs *a = sample();
    assert_true(match("userAccountControl", RULE_OP_ISBITSET, "2", DN, a));     /* 514 = 512 + 2: disabled */
    assert_true(match("userAccountControl", RULE_OP_ISBITSET, "514", DN, a));   /* all bits of the mask */
    assert_false(match("userAccountControl", RULE_OP_ISBITSET, "16", DN, a));
    assert_false(match("userAccountControl", RULE_OP_ISBITSET, "18", DN, a));   /* only one of two bits */
    assert_false(match("userAccountControl", RULE_OP_ISNOTBITSET, "2", DN, a));
    assert_true(match("userAccountControl", RULE_OP_ISNOTBITSET, "65536", DN, a));
    /* negative AD groupType: 0x80000000 (security) set, 0x2 (global) set, 0x4 not */
    assert_true(match("groupType", RULE_OP_ISBITSET, "0x80000000", DN, a));
    assert_true(match("groupType", RULE_OP_ISBITSET, "2", DN, a));
    assert_false(match("groupType", RULE_OP_ISBITSET, "4", DN, a));
    /* absent or non-numeric: not set */
    assert_false(match("missing", RULE_OP_ISBITSET, "2", DN, a));
    assert_true(match("missing", RULE_OP_ISNOTBITSET, "2", DN, a));
    assert_false(match("sAMAccountName", RULE_OP_ISBITSET, "2", DN, a));
    attrs_free(a);
}

static void test_dn_suffix(void **state)
{
    (void)state;
    attrs *a = sample();
    assert_true(match("dn", RULE_OP_DNSUFFIX, "OU=Staff,DC=example,DC=test", DN, a));
    assert_true(match("dn", RULE_OP_DNSUFFIX, "ou=staff, dc=EXAMPLE , dc=test", DN, a)); /* case, blanks */
    assert_true(match("dn", RULE_OP_DNSUFFIX, DN, DN, a));                              /* the DN itself */
    assert_false(match("dn", RULE_OP_DNSUFFIX, "OU=Marketing,DC=example,DC=test", DN, a));
    assert_true(match("dn", RULE_OP_NOTDNSUFFIX, "OU=Marketing,DC=example,DC=test", DN, a));
    assert_false(match("dn", RULE_OP_NOTDNSUFFIX, "DC=example,DC=test", DN, a));
    /* RDN boundary: "Sales" is not "OU=Sales"; "les,OU=Staff..." is not a component */
    assert_false(rule_dn_has_suffix("CN=a,OU=PreSales,DC=x", "OU=Sales,DC=x"));
    assert_false(rule_dn_has_suffix("CN=a,OU=PreSales,DC=x", "Sales,DC=x"));
    assert_true(rule_dn_has_suffix("CN=a,OU=Sales,DC=x", "OU=Sales,DC=x"));
    assert_true(rule_dn_has_suffix("CN=a;OU=Sales;DC=x", "OU=Sales,DC=x"));
    /* an escaped comma is not a boundary */
    assert_false(rule_dn_has_suffix("CN=Smith\\,OU=Sales,DC=x", "OU=Sales,DC=x"));
    assert_true(rule_dn_has_suffix("CN=Smith\\,John,OU=Sales,DC=x", "OU=Sales,DC=x"));
    assert_false(rule_dn_has_suffix("DC=x", "OU=Sales,DC=x"));
    /* attribute other than dn: its values are DNs */
    assert_true(match("manager", RULE_OP_DNSUFFIX, "OU=Staff,DC=example,DC=test", DN, a));
    assert_false(match("manager", RULE_OP_DNSUFFIX, "OU=Sales,OU=Staff,DC=example,DC=test", DN, a));
    /* no DN known: DNSUFFIX false, NOTDNSUFFIX true */
    assert_false(match("dn", RULE_OP_DNSUFFIX, "DC=example,DC=test", NULL, a));
    assert_true(match("dn", RULE_OP_NOTDNSUFFIX, "DC=example,DC=test", NULL, a));
    /* "dn" works with the string operators too */
    assert_true(match("dn", RULE_OP_STARTSWITH, "cn=john", DN, a));
    attrs_free(a);
}

static rule *load_one(const char *scope_json)
{
    char *doc = xasprintf("{\"rules\":[{\"name\":\"r\",\"direction\":\"inbound\",\"connector\":\"c\","
                          "\"cs_object_type\":\"user\",\"mv_object_type\":\"person\",\"link_type\":\"join\","
                          "\"precedence\":1,\"scope\":%s}]}",
                          scope_json);
    rule_set *s = rule_set_new();
    err e = {0};
    int rc = rule_set_load_json(s, doc, "test", &e);
    if (rc != 0) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    free(doc);
    rule *r = rule_clone(s->rules[0], &e);
    assert_non_null(r);
    rule_set_free(s);
    return r;
}

static void test_groups(void **state)
{
    (void)state;
    attrs *a = sample();
    /* (department = IT AND sAMAccountName startswith j) OR (userAccountControl bit 2) */
    rule *r = load_one("[[{\"attribute\":\"department\",\"operator\":\"EQUAL\",\"value\":\"IT\"},"
                       "{\"attribute\":\"sAMAccountName\",\"operator\":\"STARTSWITH\",\"value\":\"j\"}],"
                       "[{\"attribute\":\"userAccountControl\",\"operator\":\"ISBITSET\",\"value\":\"2\"}]]");
    assert_true(rule_scope_match(r, DN, a));     /* second group */
    attrs_set_str(a, "userAccountControl", "512");
    assert_false(rule_scope_match(r, DN, a));    /* neither group */
    attrs_set_str(a, "department", "it");
    assert_true(rule_scope_match(r, DN, a));     /* first group: both clauses */
    attrs_set_str(a, "sAMAccountName", "bob");
    assert_false(rule_scope_match(r, DN, a));    /* first group: one clause fails */
    rule_free(r);
    /* no groups: everything is in scope, even an object without attributes */
    r = load_one("[]");
    assert_true(rule_scope_match(r, NULL, NULL));
    rule_free(r);
    /* DN scope through JSON, mask in hex */
    r = load_one("[[{\"attribute\":\"dn\",\"operator\":\"DNSUFFIX\",\"value\":\"OU=Staff,DC=example,DC=test\"},"
                 "{\"attribute\":\"groupType\",\"operator\":\"isbitset\",\"value\":\"0x80000000\"}]]");
    assert_true(rule_scope_match(r, DN, a));
    assert_false(rule_scope_match(r, "CN=x,OU=Other,DC=example,DC=test", a));
    rule_free(r);
    attrs_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_null),
        cmocka_unit_test(test_starts_ends_contains),
        cmocka_unit_test(test_bitset),
        cmocka_unit_test(test_dn_suffix),
        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
