/* Unit tests: connector configuration checks (URL, options table, OU filter entries) and open() errors
 * that need no server (unreachable address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "connectors/ldap/conn_ldap.h"
#include "connectors/ldap/conn_ldap_int.h"

static char *parts[] = {"DC=example,DC=test"};

static conn_config base_cfg(const char *url)
{
    conn_config c = {0};
    c.name = "corp";
    c.type = "ad";
    c.url = (char *)url;
    c.bind_dn = "Administrator@EXAMPLE.TEST";
    c.npartitions = 1;
    c.partitions = parts;
    return c;
}

static void test_urls(void **state)
{
    err e = {0};
    conn_config c = base_cfg("ldap://127.0.0.1:389");
    assert_int_equal(conn_ops_ad.validate(&c, &e), 0);
    c.url = "ldaps://dc1.example.test";
    assert_int_equal(conn_ops_ldap.validate(&c, &e), 0);
    c.url = "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi";
    assert_int_equal(conn_ops_ldap.validate(&c, &e), 0);
    c.url = "https://dc1.example.test";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "not an ldap://, ldaps:// or ldapi:// URL"));
    c.url = NULL;
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
}

static void test_options(void **state)
{
    err e = {0};
    conn_config c = base_cfg("ldap://127.0.0.1");
    conn_option o[2] = {{"page_size", "500"}, {"starttls", "true"}};
    c.options = o;
    c.noptions = 2;
    assert_int_equal(conn_ops_ad.validate(&c, &e), 0);
    o[0].value = "0";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "page_size"));
    o[0].value = "12abc";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    o[0].key = "pagesize";
    o[0].value = "10";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "unknown option 'pagesize'"));
    assert_non_null(strstr(e.msg, "page_size")); /* lists what is known */
    o[0].key = "delta_mode";                     /* ldap-only option */
    o[0].value = "timestamp";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    assert_int_equal(conn_ops_ldap.validate(&c, &e), 0);
    o[0].value = "bogus";
    assert_int_equal(conn_ops_ldap.validate(&c, &e), ERR_USAGE);
    o[1].value = "maybe";
    o[0].value = "sync";
    assert_int_equal(conn_ops_ldap.validate(&c, &e), ERR_USAGE);
    /* starttls over ldaps is contradictory */
    o[1].value = "true";
    c.url = "ldaps://127.0.0.1";
    assert_int_equal(conn_ops_ldap.validate(&c, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "starttls"));
}

static void test_ou_entries(void **state)
{
    err e = {0};
    conn_config c = base_cfg("ldap://127.0.0.1");
    char *inc[] = {"OU=Sales,DC=example,DC=test", "<GUID=51ff39148fc3aa4caa24ca68ec7d1043>"};
    char *exc[] = {"<GUID=ac7440d3-a0a4-4f02-8b09-a219f01d8fc4>"};
    c.include_ous = inc;
    c.ninclude = 2;
    c.exclude_ous = exc;
    c.nexclude = 1;
    assert_int_equal(conn_ops_ad.validate(&c, &e), 0);
    inc[1] = "<GUID=1234>";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    inc[1] = "not a dn";
    assert_int_equal(conn_ops_ad.validate(&c, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "not a valid DN"));
}

static void test_unreachable(void **state)
{
    err e = {0};
    conn *c = NULL;
    /* port 1 on loopback: nothing listens there */
    conn_config cfg = base_cfg("ldap://127.0.0.1:1");
    assert_int_equal(conn_ops_ad.open(&cfg, "pw", &c, &e), ERR_RETRY);
    assert_null(c);
    assert_non_null(strstr(e.msg, "ldap://127.0.0.1:1"));
    assert_null(strstr(e.msg, "pw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_ou_entries),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
