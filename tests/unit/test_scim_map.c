/* Unit tests of the SCIM connector's mapping: SCIM JSON -> attributes, attributes -> JSON,
 * PatchOp building from modifications and from a desired/current diff, config validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/scim/conn_scim.h"
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j)
        fail_msg("bad JSON in test: %s", je.text);
    return j;
}

static void assert_str(const attrs *a, const char *name, const char *want)
{
    const char *got = attrs_get_str(a, name);
    if (!got || strcmp(got, want))
        fail_msg("attribute %s: want \"%s\", got \"%s\"", name, want, got ? got : "(absent)");
}

/* Compares JSON with an expected JSON text (key order ignored). */
static void assert_json(const json_t *got, const char *want)
{
    json_t *w = parse(want);
    if (!json_equal((json_t *)got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("JSON differs\n got: %s\nwant: %s", g, ws);
    }
    json_decref(w);
}

static void test_user_from_json(void **state)
{
    (void)state;
    json_t *j = parse("{\"schemas\":[\"" SCIM_SCHEMA_USER "\",\"" SCIM_SCHEMA_ENTERPRISE "\"],"
                      "\"id\":\"u-1\",\"externalId\":\"E1\",\"UserName\":\"bob\",\"displayName\":\"Bob B\","
                      "\"name\":{\"givenName\":\"Bob\",\"familyName\":\"Builder\",\"formatted\":\"Bob Builder\"},"
                      "\"title\":\"Eng\",\"active\":false,\"preferredLanguage\":\"en-GB\","
                      "\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"},{\"type\":\"work\",\"value\":\"w@x\"},"
                      "{\"type\":\"work\",\"value\":\"second@x\"},{\"value\":\"untyped@x\"}],"
                      "\"phoneNumbers\":[{\"type\":\"mobile\",\"value\":\"+1\"},{\"type\":\"work\",\"value\":\"+2\"}],"
                      "\"groups\":[{\"value\":\"g1\"}],\"meta\":{\"location\":\"/Users/u-1\"},"
                      "\"" SCIM_SCHEMA_ENTERPRISE "\":{\"employeeNumber\":\"42\",\"department\":\"R&D\","
                      "\"manager\":{\"value\":\"u-0\",\"displayName\":\"Boss\"}}}");
    attrs *a = attrs_new();
    const char *id = NULL;
    err e = {0};
    assert_int_equal(scim_map_from_json(SCIM_USER, j, a, &id, &e), 0);
    assert_string_equal(id, "u-1");
    assert_str(a, "userName", "bob");   /* SCIM names are case-insensitive */
    assert_str(a, "externalId", "E1");
    assert_str(a, "displayName", "Bob B");
    assert_str(a, "name.givenName", "Bob");
    assert_str(a, "name.familyName", "Builder");
    assert_str(a, "name.formatted", "Bob Builder");
    assert_str(a, "title", "Eng");
    assert_str(a, "preferredLanguage", "en-GB");
    assert_str(a, "active", "FALSE");
    assert_int_equal(attrs_get(a, "active")->type, AT_BOOLEAN);
    assert_str(a, "emails.work", "w@x");   /* first value of a type wins */
    assert_int_equal(attrs_get(a, "emails.work")->nvals, 1);
    assert_str(a, "emails.home", "h@x");
    assert_str(a, "phoneNumbers.mobile", "+1");
    assert_str(a, "phoneNumbers.work", "+2");
    assert_str(a, "employeeNumber", "42");
    assert_str(a, "department", "R&D");
    assert_str(a, "manager", "u-0");
    assert_int_equal(attrs_get(a, "manager")->type, AT_REFERENCE);
    assert_null(attrs_get(a, "groups"));   /* read-only membership is not imported */
    assert_null(attrs_get(a, "members"));
    assert_int_equal(a->n, 16);
    attrs_free(a);
    json_decref(j);
}

static void test_group_from_json(void **state)
{
    (void)state;
    json_t *j = parse("{\"id\":\"g-1\",\"displayName\":\"Admins\",\"externalId\":\"X\",\"members\":[{\"value\":\"u-1\","
                      "\"display\":\"bob\"},{\"value\":\"u-2\"},{\"value\":\"u-1\"},{\"nothing\":1}]}");
    attrs *a = attrs_new();
    const char *id = NULL;
    err e = {0};
    assert_int_equal(scim_map_from_json(SCIM_GROUP, j, a, &id, &e), 0);
    assert_string_equal(id, "g-1");
    assert_str(a, "displayName", "Admins");
    attr *m = attrs_get(a, "members");
    assert_non_null(m);
    assert_int_equal(m->type, AT_REFERENCE);
    assert_int_equal(m->nvals, 2);
    assert_true(attr_has_value(m, "u-1", 3));
    assert_true(attr_has_value(m, "u-2", 3));
    attrs_free(a);
    json_decref(j);

    j = parse("[1,2]");
    a = attrs_new();
    assert_int_equal(scim_map_from_json(SCIM_GROUP, j, a, &id, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "not a JSON object"));
    attrs_free(a);
    json_decref(j);
}

static attrs *user_attrs(void)
{
    attrs *a = attrs_new();
    attrs_set_str(a, "userName", "bob");
    attrs_set_str(a, "externalId", "E1");
    attrs_set_str(a, "name.givenName", "Bob");
    attrs_set_str(a, "name.familyName", "Builder");
    attrs_set_str(a, "emails.work", "w@x");
    attrs_set_str(a, "phoneNumbers.mobile", "+1");
    attrs_set_str(a, "employeeNumber", "42");
    attr_add_str(attrs_put(a, "active", AT_BOOLEAN), "TRUE");
    attr_add_str(attrs_put(a, "manager", AT_REFERENCE), "u-0");
    return a;
}

static void test_user_to_json(void **state)
{
    (void)state;
    attrs *a = user_attrs();
    err e = {0};
    json_t *j = scim_map_to_json(SCIM_USER, a, &e);
    assert_non_null(j);
    assert_json(j, "{\"schemas\":[\"" SCIM_SCHEMA_USER "\",\"" SCIM_SCHEMA_ENTERPRISE "\"],\"userName\":\"bob\","
                   "\"externalId\":\"E1\",\"active\":true,\"name\":{\"givenName\":\"Bob\",\"familyName\":\"Builder\"},"
                   "\"emails\":[{\"type\":\"work\",\"value\":\"w@x\"}],\"phoneNumbers\":[{\"type\":\"mobile\","
                   "\"value\":\"+1\"}],\"" SCIM_SCHEMA_ENTERPRISE "\":{\"employeeNumber\":\"42\","
                   "\"manager\":{\"value\":\"u-0\"}}}");
    /* and back: the same attributes */
    attrs *b = attrs_new();
    const char *id;
    assert_int_equal(scim_map_from_json(SCIM_USER, j, b, &id, &e), 0);
    assert_null(id);
    assert_true(attrs_equal(a, b));
    attrs_free(b);
    json_decref(j);
    attrs_free(a);

    /* a user without enterprise attributes does not claim the extension schema */
    a = attrs_new();
    attrs_set_str(a, "userName", "x");
    j = scim_map_to_json(SCIM_USER, a, &e);
    assert_json(j, "{\"schemas\":[\"" SCIM_SCHEMA_USER "\"],\"userName\":\"x\"}");
    json_decref(j);
    attrs_free(a);
}

static void test_group_to_json(void **state)
{
    (void)state;
    attrs *a = attrs_new();
    attrs_set_str(a, "displayName", "Admins");
    attr *m = attrs_put(a, "members", AT_REFERENCE);
    attr_add_str(m, "u-1");
    attr_add_str(m, "u-2");
    err e = {0};
    json_t *j = scim_map_to_json(SCIM_GROUP, a, &e);
    assert_json(j, "{\"schemas\":[\"" SCIM_SCHEMA_GROUP "\"],\"displayName\":\"Admins\","
                   "\"members\":[{\"value\":\"u-1\"},{\"value\":\"u-2\"}]}");
    json_decref(j);
    attrs_free(a);
}

static void test_to_json_errors(void **state)
{
    (void)state;
    err e = {0};
    attrs *a = attrs_new();
    attrs_set_str(a, "userName", "x");
    attrs_set_str(a, "shoeSize", "44");
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    assert_non_null(strstr(e.msg, "shoeSize has no SCIM mapping for a user"));
    attrs_free(a);

    a = attrs_new();
    attrs_set_str(a, "members", "u-1");   /* members belong to groups */
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    assert_non_null(strstr(e.msg, "members has no SCIM mapping for a user"));
    attrs_free(a);

    a = attrs_new();
    attr_add_str(attrs_put(a, "active", AT_BOOLEAN), "maybe");
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    assert_non_null(strstr(e.msg, "TRUE or FALSE"));
    attrs_free(a);

    a = attrs_new();
    attr *t = attrs_put(a, "title", AT_STRING);
    attr_add_str(t, "a");
    attr_add_str(t, "b");
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    assert_non_null(strstr(e.msg, "2 values"));
    attrs_free(a);

    a = attrs_new();
    attr_add(attrs_put(a, "title", AT_STRING), "\xff\xfe", 2);
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    assert_non_null(strstr(e.msg, "UTF-8"));
    attrs_free(a);

    a = attrs_new();
    attrs_set_str(a, "emails.wo rk", "x");   /* a type selector with a space is not a mapping */
    assert_null(scim_map_to_json(SCIM_USER, a, &e));
    attrs_free(a);
}

static conn_mod mod(conn_mod_op op, attr *a) { return (conn_mod){op, *a}; }

static void test_patch_from_mods(void **state)
{
    (void)state;
    attrs *s = attrs_new();
    attrs_set_str(s, "userName", "bob2");
    attrs_put(s, "title", AT_STRING);   /* no values: remove */
    attrs_set_str(s, "emails.work", "new@x");
    attr_add_str(attrs_put(s, "active", AT_BOOLEAN), "FALSE");
    attr_add_str(attrs_put(s, "manager", AT_REFERENCE), "u-9");
    attrs_set_str(s, "department", "Ops");
    attrs_set_str(s, "name.givenName", "Robert");
    attrs_set_str(s, "phoneNumbers.mobile", "+1");
    conn_mod mods[] = {
        mod(CONN_MOD_REPLACE, attrs_get(s, "userName")),
        mod(CONN_MOD_REPLACE, attrs_get(s, "title")),
        mod(CONN_MOD_REPLACE, attrs_get(s, "emails.work")),
        mod(CONN_MOD_REPLACE, attrs_get(s, "active")),
        mod(CONN_MOD_REPLACE, attrs_get(s, "manager")),
        mod(CONN_MOD_ADD, attrs_get(s, "department")),
        mod(CONN_MOD_REPLACE, attrs_get(s, "name.givenName")),
        mod(CONN_MOD_DELETE, attrs_get(s, "phoneNumbers.mobile")),
    };
    err e = {0};
    json_t *p = scim_patch_from_mods(SCIM_USER, mods, 8, &e);
    assert_non_null(p);
    assert_json(p, "{\"schemas\":[\"" SCIM_MSG_PATCHOP "\"],\"Operations\":["
                   "{\"op\":\"replace\",\"path\":\"userName\",\"value\":\"bob2\"},"
                   "{\"op\":\"remove\",\"path\":\"title\"},"
                   "{\"op\":\"remove\",\"path\":\"emails[type eq \\\"work\\\"]\"},"
                   "{\"op\":\"add\",\"path\":\"emails\",\"value\":[{\"type\":\"work\",\"value\":\"new@x\"}]},"
                   "{\"op\":\"replace\",\"path\":\"active\",\"value\":false},"
                   "{\"op\":\"replace\",\"path\":\"" SCIM_SCHEMA_ENTERPRISE ":manager\",\"value\":{\"value\":\"u-9\"}},"
                   "{\"op\":\"replace\",\"path\":\"" SCIM_SCHEMA_ENTERPRISE ":department\",\"value\":\"Ops\"},"
                   "{\"op\":\"replace\",\"path\":\"name.givenName\",\"value\":\"Robert\"},"
                   "{\"op\":\"remove\",\"path\":\"phoneNumbers[type eq \\\"mobile\\\"]\"}]}");
    json_decref(p);
    attrs_free(s);
}

static void test_patch_members(void **state)
{
    (void)state;
    attrs *s = attrs_new();
    attr *add = attrs_put(s, "members", AT_REFERENCE);
    attr_add_str(add, "u-1");
    attr_add_str(add, "u-2");
    attr del = {"members", AT_REFERENCE, 0, 0, NULL, NULL};
    aval dv[2] = {{3, "u-3"}, {6, "a\"b\\c"}};
    del.vals = dv;
    del.nvals = 2;
    attr clear = {"members", AT_REFERENCE, 0, 0, NULL, NULL};
    conn_mod mods[] = {mod(CONN_MOD_ADD, add), mod(CONN_MOD_DELETE, &del)};
    err e = {0};
    json_t *p = scim_patch_from_mods(SCIM_GROUP, mods, 2, &e);
    /* only the changed members, never the whole list; filter values escaped (RFC 7644 3.4.2.2) */
    assert_json(p, "{\"schemas\":[\"" SCIM_MSG_PATCHOP "\"],\"Operations\":["
                   "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"u-1\"},{\"value\":\"u-2\"}]},"
                   "{\"op\":\"remove\",\"path\":\"members[value eq \\\"u-3\\\"]\"},"
                   "{\"op\":\"remove\",\"path\":\"members[value eq \\\"a\\\\\\\"b\\\\\\\\c\\\"]\"}]}");
    json_decref(p);
    conn_mod m2[] = {mod(CONN_MOD_DELETE, &clear)};
    p = scim_patch_from_mods(SCIM_GROUP, m2, 1, &e);
    assert_json(p, "{\"schemas\":[\"" SCIM_MSG_PATCHOP "\"],\"Operations\":[{\"op\":\"remove\",\"path\":\"members\"}]}");
    json_decref(p);
    /* a user attribute on a group is refused with the attribute's name */
    attrs_set_str(s, "userName", "x");
    conn_mod m3[] = {mod(CONN_MOD_REPLACE, attrs_get(s, "userName"))};
    assert_null(scim_patch_from_mods(SCIM_GROUP, m3, 1, &e));
    assert_non_null(strstr(e.msg, "userName has no SCIM mapping for a group"));
    attrs_free(s);
}

static void test_patch_from_diff(void **state)
{
    (void)state;
    attrs *want = attrs_new(), *cur = attrs_new();
    attrs_set_str(want, "displayName", "Admins");
    attrs_set_str(want, "externalId", "X");
    attr *m = attrs_put(want, "members", AT_REFERENCE);
    attr_add_str(m, "a");
    attr_add_str(m, "b");
    attr_add_str(m, "c");
    attrs_set_str(cur, "displayName", "admins");   /* equal under case-insensitive matching */
    attrs_set_str(cur, "externalId", "Y");
    m = attrs_put(cur, "members", AT_REFERENCE);
    attr_add_str(m, "b");
    attr_add_str(m, "d");
    err e = {0};
    json_t *p = scim_patch_from_diff(SCIM_GROUP, want, cur, &e);
    assert_json(p, "{\"schemas\":[\"" SCIM_MSG_PATCHOP "\"],\"Operations\":["
                   "{\"op\":\"replace\",\"path\":\"externalId\",\"value\":\"X\"},"
                   "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"a\"},{\"value\":\"c\"}]},"
                   "{\"op\":\"remove\",\"path\":\"members[value eq \\\"d\\\"]\"}]}");
    json_decref(p);
    attrs_free(want);
    attrs_free(cur);

    /* nothing to change: no operations (boolean compared by value, not by spelling) */
    want = user_attrs();
    cur = user_attrs();
    attrs_get(want, "active")->type = AT_STRING;
    json_t *q = scim_patch_from_diff(SCIM_USER, want, cur, &e);
    assert_int_equal(json_array_size(json_object_get(q, "Operations")), 0);
    json_decref(q);
    attrs_free(want);
    attrs_free(cur);
}

static void test_filter_quote(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    scim_filter_quote(&b, "a\"b\\c\n");
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\"");
    buf_free(&b);
}

static conn_config *cfg_new(const char *url, int nopt, ...)
{
    conn_config *c = xcalloc(1, sizeof *c);
    c->name = xstrdup("hr-cloud");
    c->type = xstrdup("scim");
    c->url = url ? xstrdup(url) : NULL;
    c->noptions = (size_t)nopt;
    c->options = xcalloc((size_t)nopt + 1, sizeof *c->options);
    va_list ap;
    va_start(ap, nopt);
    for (int i = 0; i < nopt; i++) {
        c->options[i].key = xstrdup(va_arg(ap, const char *));
        c->options[i].value = xstrdup(va_arg(ap, const char *));
    }
    va_end(ap);
    return c;
}

static void cfg_free(conn_config *c)
{
    for (size_t i = 0; i < c->noptions; i++) {
        free(c->options[i].key);
        free(c->options[i].value);
    }
    free(c->options);
    free(c->name);
    free(c->type);
    free(c->url);
    free(c);
}

static void expect_invalid(conn_config *c, const char *needle)
{
    err e = {0};
    assert_int_equal(conn_ops_scim.validate(c, &e), ERR_USAGE);
    if (!strstr(e.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
    cfg_free(c);
}

static void test_validate(void **state)
{
    (void)state;
    err e = {0};
    conn_config *c = cfg_new("https://scim.example.test/scim/v2", 4, "concurrency", "16", "soft_delete", "true",
                             "match_attribute", "userName", "bulk", "off");
    assert_int_equal(conn_ops_scim.validate(c, &e), 0);
    cfg_free(c);
    expect_invalid(cfg_new("ftp://x/scim", 0), "not an http(s) base URL");
    expect_invalid(cfg_new("https://x/scim?x=1", 0), "not an http(s) base URL");
    expect_invalid(cfg_new(NULL, 0), "not an http(s) base URL");
    expect_invalid(cfg_new("https://x/scim", 1, "concurency", "4"), "unknown option \"concurency\"");
    expect_invalid(cfg_new("https://x/scim", 1, "concurrency", "0"), "concurrency must be a number from 1 to 64");
    expect_invalid(cfg_new("https://x/scim", 1, "tls_verify", "perhaps"), "tls_verify must be true or false");
    expect_invalid(cfg_new("https://x/scim", 1, "match_attribute", "mail"), "externalId|userName|none");
    expect_invalid(cfg_new("https://x/scim", 1, "auth", "oauth2"), "needs option token_url");
    expect_invalid(cfg_new("https://x/scim", 2, "auth", "oauth2", "token_url", "https://idp/token"),
                   "needs option client_id");
    expect_invalid(cfg_new("https://x/scim", 1, "ca_file", "/nonexistent/ca.pem"), "cannot be read");
    assert_string_equal(conn_ops_scim.type, "scim");
    assert_true(conn_ops_scim.needs_secret);
    assert_null(conn_ops_scim.delta_import);
}

static void test_open_unreachable(void **state)
{
    (void)state;
    /* port 9 on loopback: nothing listens, the connection is refused at once */
    conn_config *c = cfg_new("http://127.0.0.1:9/scim/v2", 1, "connect_timeout_ms", "2000");
    conn *cn = NULL;
    err e = {0};
    assert_int_equal(conn_ops_scim.open(c, "tok", &cn, &e), ERR_RETRY);
    assert_null(cn);
    assert_non_null(strstr(e.msg, "http://127.0.0.1:9/scim/v2"));
    assert_null(strstr(e.msg, "tok"));
    /* no secret at all: ERR_AUTH naming the fix */
    assert_int_equal(conn_ops_scim.open(c, NULL, &cn, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "set-credentials hr-cloud"));
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_from_json),  cmocka_unit_test(test_group_from_json),
        cmocka_unit_test(test_user_to_json),    cmocka_unit_test(test_group_to_json),
        cmocka_unit_test(test_to_json_errors),  cmocka_unit_test(test_patch_from_mods),
        cmocka_unit_test(test_patch_members),   cmocka_unit_test(test_patch_from_diff),
        cmocka_unit_test(test_filter_quote),    cmocka_unit_test(test_validate),
        cmocka_unit_test(test_open_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
