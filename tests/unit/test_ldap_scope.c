/* Unit tests: DN comparison, OU include/exclude scope, search bases, hex/UUID and range parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"

static void test_dn_is_under(void **state)
{
    assert_true(conn_ldap_dn_is_under("CN=a,OU=Sales,DC=example,DC=test", "DC=example,DC=test"));
    assert_true(conn_ldap_dn_is_under("cn=a,ou=sales,dc=EXAMPLE,dc=test", "OU=Sales,DC=example,DC=test"));
    assert_true(conn_ldap_dn_is_under("OU=Sales,DC=example,DC=test", "ou=sales, dc=example, dc=test"));
    assert_false(conn_ldap_dn_is_under("CN=a,OU=Sales2,DC=example,DC=test", "OU=Sales,DC=example,DC=test"));
    assert_false(conn_ldap_dn_is_under("DC=example,DC=test", "OU=Sales,DC=example,DC=test"));
    /* an escaped comma is part of the value, not a separator */
    assert_false(conn_ldap_dn_is_under("CN=x\\,OU=Sales,DC=example,DC=test", "OU=Sales,DC=example,DC=test"));
    assert_false(conn_ldap_dn_is_under("not a dn", "DC=test"));
    assert_int_equal(conn_ldap_dn_depth("CN=a,OU=b,DC=c"), 3);
    assert_int_equal(conn_ldap_dn_depth("garbage"), -1);
}

static void scope_add(ldap_scope *s, const char *dn, bool inc)
{
    s->dn = xrealloc(s->dn, (s->n + 1) * sizeof *s->dn);
    s->include = xrealloc(s->include, (s->n + 1) * sizeof *s->include);
    s->dn[s->n] = xstrdup(dn);
    s->include[s->n] = inc;
    s->n++;
    if (inc) s->ninclude++;
}

static void test_scope_contains(void **state)
{
    ldap_scope s = {0};
    /* no entries: everything in scope */
    assert_true(conn_ldap_scope_contains(&s, "CN=x,DC=example,DC=test"));
    scope_add(&s, "OU=Sales,DC=example,DC=test", true);
    scope_add(&s, "OU=Old,OU=Sales,DC=example,DC=test", false);
    scope_add(&s, "OU=Keep,OU=Old,OU=Sales,DC=example,DC=test", true);
    assert_true(conn_ldap_scope_contains(&s, "CN=a,OU=Sales,DC=example,DC=test"));
    assert_false(conn_ldap_scope_contains(&s, "CN=a,OU=Old,OU=Sales,DC=example,DC=test"));
    assert_true(conn_ldap_scope_contains(&s, "CN=a,OU=Keep,OU=Old,OU=Sales,DC=example,DC=test"));
    assert_false(conn_ldap_scope_contains(&s, "CN=a,OU=Other,DC=example,DC=test"));
    assert_false(conn_ldap_scope_contains(&s, "DC=example,DC=test"));

    const char **bases = conn_ldap_scope_bases(&s, "DC=example,DC=test");
    assert_non_null(bases[0]);
    assert_string_equal(bases[0], "OU=Sales,DC=example,DC=test");
    assert_null(bases[1]); /* OU=Keep is nested in OU=Sales: one search covers it */
    free(bases);
    bases = conn_ldap_scope_bases(&s, "DC=other,DC=test");
    assert_null(bases[0]); /* includes outside this partition: nothing to search */
    free(bases);
    conn_ldap_scope_clear(&s);

    scope_add(&s, "OU=Old,DC=example,DC=test", false);
    assert_true(conn_ldap_scope_contains(&s, "CN=a,OU=New,DC=example,DC=test"));
    assert_false(conn_ldap_scope_contains(&s, "CN=a,OU=Old,DC=example,DC=test"));
    bases = conn_ldap_scope_bases(&s, "DC=example,DC=test");
    assert_string_equal(bases[0], "DC=example,DC=test");
    assert_null(bases[1]);
    free(bases);
    conn_ldap_scope_clear(&s);
}

static void test_hex_uuid(void **state)
{
    unsigned char raw[16], back[16];
    for (int i = 0; i < 16; i++) raw[i] = (unsigned char)(i * 17);
    buf b = BUF_INIT;
    conn_ldap_hex(raw, 16, &b);
    assert_string_equal(b.data, "00112233445566778899aabbccddeeff");
    assert_int_equal(conn_ldap_unhex(b.data, back, 16), 0);
    assert_memory_equal(raw, back, 16);
    assert_int_equal(conn_ldap_unhex("0011", back, 16), -1);
    assert_int_equal(conn_ldap_unhex("zz112233445566778899aabbccddeeff", back, 16), -1);
    char text[37];
    conn_ldap_uuid_text(raw, text);
    assert_string_equal(text, "00112233-4455-6677-8899-aabbccddeeff");
    buf_free(&b);
}

static void test_parse_range(void **state)
{
    buf base = BUF_INIT;
    long lo = -5, hi = -5;
    assert_true(conn_ldap_parse_range("member;range=0-1499", &base, &lo, &hi));
    assert_string_equal(base.data, "member");
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 1499);
    assert_true(conn_ldap_parse_range("member;range=1500-*", &base, &lo, &hi));
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, -1);
    assert_true(conn_ldap_parse_range("userCertificate;binary;range=1-1", &base, &lo, &hi));
    assert_string_equal(base.data, "userCertificate;binary");
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 1);
    assert_false(conn_ldap_parse_range("cn", &base, &lo, &hi));
    assert_string_equal(base.data, "cn");
    assert_false(conn_ldap_parse_range("member;range=9-3", &base, &lo, &hi)); /* malformed: kept as option */
    assert_string_equal(base.data, "member;range=9-3");
    assert_false(conn_ldap_parse_range("member;range=x", &base, &lo, &hi));
    buf_free(&base);
}

static void test_types(void **state)
{
    conn c = {0};
    assert_int_equal(conn_ldap_attr_type(&c, "objectGUID"), AT_BINARY);
    assert_int_equal(conn_ldap_attr_type(&c, "member"), AT_REFERENCE);
    assert_int_equal(conn_ldap_attr_type(&c, "userAccountControl"), AT_INTEGER);
    assert_int_equal(conn_ldap_attr_type(&c, "whenCreated"), AT_DATETIME);
    assert_int_equal(conn_ldap_attr_type(&c, "isDeleted"), AT_BOOLEAN);
    assert_int_equal(conn_ldap_attr_type(&c, "givenName"), AT_STRING);
    assert_int_equal(conn_ldap_attr_type(&c, "someCert;binary"), AT_BINARY);
    /* schema-derived entries, with later puts overriding earlier ones */
    conn_ldap_types_put(&c.types, "extPhoto", conn_ldap_syntax_type("1.3.6.1.4.1.1466.115.121.1.40"));
    conn_ldap_types_put(&c.types, "extBoss", conn_ldap_syntax_type("2.5.5.1"));
    conn_ldap_types_put(&c.types, "extCount", conn_ldap_syntax_type("2.5.5.16"));
    conn_ldap_types_put(&c.types, "extCount", conn_ldap_syntax_type("2.5.5.9"));
    conn_ldap_types_put(&c.types, "extName", conn_ldap_syntax_type("1.3.6.1.4.1.1466.115.121.1.15"));
    conn_ldap_types_sort(&c.types);
    assert_int_equal(c.types.n, 4);
    assert_int_equal(conn_ldap_attr_type(&c, "EXTPHOTO"), AT_BINARY);
    assert_int_equal(conn_ldap_attr_type(&c, "extBoss"), AT_REFERENCE);
    assert_int_equal(conn_ldap_attr_type(&c, "extCount"), AT_INTEGER);
    assert_int_equal(conn_ldap_attr_type(&c, "extName"), AT_STRING);
    /* objectCategory is DN-syntax in AD but not a synchronized reference */
    conn_ldap_types_put(&c.types, "objectCategory", AT_REFERENCE);
    conn_ldap_types_sort(&c.types);
    assert_int_equal(conn_ldap_attr_type(&c, "objectCategory"), AT_STRING);
    conn_ldap_types_free(&c.types);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dn_is_under), cmocka_unit_test(test_scope_contains),
        cmocka_unit_test(test_hex_uuid), cmocka_unit_test(test_parse_range), cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
