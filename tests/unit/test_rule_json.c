/* Rule JSON: strict loading and its error messages, set validation, export round trip, hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rule.h"
#include "util/util_alloc.h"

/* A valid rule with one field spliced in: NAME, PREC and EXTRA (extra fields or overrides). */
static char *rule_doc(const char *name, int prec, const char *extra)
{
    return xasprintf("{\"name\":\"%s\",\"direction\":\"inbound\",\"connector\":\"corp\","
                     "\"cs_object_type\":\"user\",\"mv_object_type\":\"person\",\"link_type\":\"join\","
                     "\"precedence\":%d%s%s}",
                     name, prec, extra && *extra ? "," : "", extra ? extra : "");
}

/* Loads {"rules":[one rule]}; returns rc, message in e. */
static int load1(rule_set *s, const char *name, int prec, const char *extra, err *e)
{
    char *r = rule_doc(name, prec, extra);
    char *doc = xasprintf("{\"rules\":[%s]}", r);
    int rc = rule_set_load_json(s, doc, "t.json", e);
    free(r);
    free(doc);
    return rc;
}

#define assert_contains(hay, needle)                                                                   \
    do {                                                                                               \
        if (!strstr((hay), (needle))) fail_msg("expected \"%s\" in message: %s", (needle), (hay));     \
    } while (0)

/* Expects a load error whose message contains want; the set must stay empty. */
static void expect_error(const char *name, int prec, const char *extra, const char *want)
{
    rule_set *s = rule_set_new();
    err e = {0};
    int rc = load1(s, name, prec, extra, &e);
    if (rc >= 0) fail_msg("expected an error containing \"%s\", load succeeded", want);
    assert_int_equal(e.code, rc);
    assert_contains(e.msg, want);
    assert_int_equal(s->n, 0);
    rule_set_free(s);
}

static void test_minimal_rule_defaults(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(load1(s, "r1", 5, NULL, &e), 0);
    assert_int_equal(s->n, 1);
    rule *r = s->rules[0];
    assert_string_equal(r->name, "r1");
    assert_string_equal(r->description, "");
    assert_int_equal(r->direction, RULE_INBOUND);
    assert_int_equal(r->link_type, RULE_LINK_JOIN);
    assert_true(r->enabled);
    assert_int_equal(r->precedence, 5);
    assert_int_equal(r->nscope + r->njoin + r->nflows, 0);
    assert_string_equal(r->origin, "t.json");
    rule_set_free(s);
}

static void test_field_errors(void **state)
{
    (void)state;
    expect_error("x", 1, "\"direction\":\"sideways\"", "duplicate"); /* duplicate key in one object */
    /* Build the direction error by replacing the field: use a document without the default one. */
    rule_set *s = rule_set_new();
    err e = {0};
    const char *bad_dir = "{\"rules\":[{\"name\":\"x\",\"direction\":\"sideways\",\"connector\":\"c\","
                          "\"cs_object_type\":\"user\",\"mv_object_type\":\"person\",\"link_type\":\"join\","
                          "\"precedence\":1}]}";
    assert_int_equal(rule_set_load_json(s, bad_dir, "t.json", &e), ERR_USAGE);
    assert_string_equal(e.msg, "t.json: rule 'x': field \"direction\": \"sideways\" is not inbound or outbound");
    const char *no_name = "{\"rules\":[{\"direction\":\"inbound\"}]}";
    assert_int_equal(rule_set_load_json(s, no_name, "t.json", &e), ERR_USAGE);
    assert_string_equal(e.msg, "t.json: rule 1: missing field \"name\"");
    const char *bad_link = "{\"rules\":[{\"name\":\"x\",\"direction\":\"outbound\",\"connector\":\"c\","
                           "\"cs_object_type\":\"user\",\"mv_object_type\":\"person\",\"link_type\":\"merge\","
                           "\"precedence\":1}]}";
    assert_int_equal(rule_set_load_json(s, bad_link, NULL, &e), ERR_USAGE);
    assert_string_equal(e.msg, "rule 'x': field \"link_type\": \"merge\" is not join or provision");
    assert_int_equal(s->n, 0);
    rule_set_free(s);

    expect_error("x", -1, NULL, "rule 'x': field \"precedence\" must be an integer from 0 to");
    expect_error("x", 1, "\"enabled\":\"yes\"", "rule 'x': field \"enabled\" must be true or false");
    expect_error("x", 1, "\"connector_type\":\"oracle\"", "rule 'x': field \"connector_type\": \"oracle\" is not ad");
    expect_error("", 1, NULL, "t.json: rule 1: field \"name\" must be 1 to 256 characters");
    expect_error("a\\tb", 1, NULL, "t.json: rule 1: field \"name\" must be 1 to 256");
    expect_error("x", 1, "\"scope\":{}", "rule 'x': field \"scope\" must be an array");
    expect_error("x", 1, "\"scope\":[[]]", "rule 'x': scope group 1 is empty");
    expect_error("x", 1, "\"scope\":[[{\"attribute\":\"a\",\"operator\":\"LIKE\",\"value\":\"b\"}]]",
                 "rule 'x': scope group 1, clause 1: unknown operator \"LIKE\"");
    expect_error("x", 1, "\"scope\":[[{\"attribute\":\"a\",\"operator\":\"EQUAL\"}]]",
                 "rule 'x': scope group 1, clause 1: missing field \"value\"");
    expect_error("x", 1, "\"scope\":[[{\"attribute\":\"a\",\"operator\":\"ISNULL\",\"value\":\"b\"}]]",
                 "rule 'x': scope group 1, clause 1: operator ISNULL takes no \"value\"");
    expect_error("x", 1,
                 "\"scope\":[[{\"attribute\":\"a\",\"operator\":\"ISNULL\"}],"
                 "[{\"attribute\":\"uac\",\"operator\":\"ISBITSET\",\"value\":\"two\"}]]",
                 "rule 'x': scope group 2, clause 1: ISBITSET value \"two\" is not a non-zero integer");
    expect_error("x", 1, "\"scope\":[[{\"attribute\":\"bad name\",\"operator\":\"ISNULL\"}]]",
                 "rule 'x': scope group 1, clause 1: \"bad name\" is not a valid attribute name");
    expect_error("x", 1, "\"join\":[[{\"cs_attribute\":\"a\"}]]",
                 "rule 'x': join group 1, clause 1: missing field \"mv_attribute\"");
    expect_error("x", 1, "\"flows\":[{\"type\":\"copy\",\"source\":\"a\",\"target\":\"b\"}]",
                 "rule 'x': flow 1: unknown type \"copy\" (use direct, constant or expression)");
    expect_error("x", 1, "\"flows\":[{\"type\":\"direct\",\"source\":\"a\"}]", "rule 'x': flow 1: missing field \"target\"");
    expect_error("x", 1, "\"flows\":[{\"type\":\"direct\",\"source\":\"[a]\",\"target\":\"b\"}]",
                 "rule 'x': flow 1: source \"[a]\" is not a valid attribute name");
    expect_error("x", 1,
                 "\"flows\":[{\"type\":\"direct\",\"source\":\"a\",\"target\":\"b\"},"
                 "{\"type\":\"constant\",\"source\":\"1\",\"target\":\"B\"}]",
                 "rule 'x': flows 1 and 2 both set \"B\"");
}

static void test_unknown_fields(void **state)
{
    (void)state;
    expect_error("x", 1, "\"precendence\":3", "t.json: rule 'x': unknown field \"precendence\" (known fields: name,");
    expect_error("x", 1, "\"scope\":[[{\"attribute\":\"a\",\"operator\":\"ISNULL\",\"negate\":true}]]",
                 "rule 'x': scope group 1, clause 1: unknown field \"negate\"");
    expect_error("x", 1, "\"join\":[[{\"cs_attribute\":\"a\",\"mv_attribute\":\"b\",\"fuzzy\":1}]]",
                 "rule 'x': join group 1, clause 1: unknown field \"fuzzy\"");
    expect_error("x", 1, "\"flows\":[{\"type\":\"direct\",\"source\":\"a\",\"target\":\"b\",\"once\":true}]",
                 "rule 'x': flow 1: unknown field \"once\"");
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(s, "{\"rules\":[],\"extra\":1}", "t.json", &e), ERR_USAGE);
    assert_contains(e.msg, "t.json: unknown field \"extra\"");
    assert_int_equal(rule_set_load_json(s, "{\"version\":2,\"rules\":[]}", "t.json", &e), ERR_USAGE);
    assert_contains(e.msg, "\"version\" must be 1");
    assert_int_equal(rule_set_load_json(s, "{\"rules\":[}", "t.json", &e), ERR_USAGE);
    assert_contains(e.msg, "t.json: not valid JSON: line 1, column ");
    assert_int_equal(rule_set_load_json(s, "[]", "t.json", &e), ERR_USAGE);
    assert_int_equal(rule_set_load_json(s, "{\"version\":1,\"rules\":[]}", "t.json", &e), 0);
    assert_int_equal(s->n, 0);
    rule_set_free(s);
}

static void test_bad_expression_position(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    /* flow 2 has an unclosed call: the message names rule, flow, and the position from the expression compiler */
    int rc = load1(s, "In from AD - User Join", 1,
                   "\"flows\":[{\"type\":\"direct\",\"source\":\"sn\",\"target\":\"sn\"},"
                   "{\"type\":\"expression\",\"source\":\"IIF([a], 1\",\"target\":\"b\"}]",
                   &e);
    assert_int_equal(rc, ERR_USAGE);
    assert_contains(e.msg, "t.json: rule 'In from AD - User Join': flow 2: expression: line 1, column ");
    /* a position on a later line is reported with its line */
    rc = load1(s, "r", 1, "\"flows\":[{\"type\":\"expression\",\"source\":\"IIF(True,\\n  1 +, 2)\",\"target\":\"b\"}]", &e);
    assert_int_equal(rc, ERR_USAGE);
    assert_contains(e.msg, "rule 'r': flow 1: expression: line 2, column ");
    /* an unknown function */
    rc = load1(s, "r", 1, "\"flows\":[{\"type\":\"expression\",\"source\":\"NoSuchFn([a])\",\"target\":\"b\"}]", &e);
    assert_int_equal(rc, ERR_USAGE);
    assert_contains(e.msg, "rule 'r': flow 1: expression: line 1, column 1");
    assert_contains(e.msg, "NoSuchFn");
    assert_int_equal(s->n, 0);
    rule_set_free(s);
}

static void test_set_conflicts(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(load1(s, "A", 10, NULL, &e), 0);
    /* same precedence, same direction -> error naming both rules */
    assert_int_equal(load1(s, "B", 10, NULL, &e), ERR_USAGE);
    assert_contains(e.msg, "t.json: rules 'A' and 'B' are both inbound with precedence 10");
    /* same precedence, other direction -> fine */
    char *r = xasprintf("{\"rules\":[{\"name\":\"C\",\"direction\":\"outbound\",\"connector\":\"*\","
                        "\"connector_type\":\"scim\",\"cs_object_type\":\"user\",\"mv_object_type\":\"person\","
                        "\"link_type\":\"provision\",\"precedence\":10}]}");
    assert_int_equal(rule_set_load_json(s, r, "t.json", &e), 0);
    free(r);
    /* same precedence but disabled -> fine; enabling it makes the set invalid */
    assert_int_equal(load1(s, "D", 10, "\"enabled\":false", &e), 0);
    assert_int_equal(rule_validate_set(s, &e), 0);
    rule_set_find(s, "D")->enabled = true;
    assert_int_equal(rule_validate_set(s, &e), ERR_USAGE);
    assert_contains(e.msg, "rules 'A' and 'D' are both inbound with precedence 10");
    rule_set_find(s, "D")->enabled = false;
    /* duplicate name */
    assert_int_equal(load1(s, "A", 11, NULL, &e), ERR_EXISTS);
    assert_contains(e.msg, "rule 'A' is defined twice");
    /* duplicates inside one document; all or nothing */
    size_t before = s->n;
    char *r1 = rule_doc("E", 20, NULL), *r2 = rule_doc("F", 20, NULL);
    char *doc = xasprintf("{\"rules\":[%s,%s]}", r1, r2);
    assert_int_equal(rule_set_load_json(s, doc, "t.json", &e), ERR_USAGE);
    assert_contains(e.msg, "rules 'E' and 'F'");
    assert_int_equal(s->n, before);
    free(r1), free(r2), free(doc);
    /* second rule invalid: the first one is not added either */
    r1 = rule_doc("G", 30, NULL);
    doc = xasprintf("{\"rules\":[%s,{\"name\":\"H\"}]}", r1);
    assert_int_equal(rule_set_load_json(s, doc, "t.json", &e), ERR_USAGE);
    assert_contains(e.msg, "t.json: rule 'H': missing field \"direction\"");
    assert_null(rule_set_find(s, "G"));
    free(r1), free(doc);
    /* rule_set_add refuses a duplicate name and frees the rule */
    rule *dup = rule_clone(s->rules[0], &e);
    assert_int_equal(rule_set_add(s, dup, &e), ERR_EXISTS);
    rule_set_free(s);
}

static const char *FULL =
    "{\"rules\":["
    "{\"name\":\"Out\",\"description\":\"d\",\"direction\":\"outbound\",\"connector\":\"*\","
    "\"connector_type\":\"scim\",\"cs_object_type\":\"user\",\"mv_object_type\":\"person\","
    "\"link_type\":\"provision\",\"precedence\":7,"
    "\"scope\":[[{\"attribute\":\"cloudFiltered\",\"operator\":\"NOTEQUAL\",\"value\":\"true\"},"
    "{\"attribute\":\"mail\",\"operator\":\"ISNOTNULL\"}],"
    "[{\"attribute\":\"dn\",\"operator\":\"DNSUFFIX\",\"value\":\"OU=x,DC=y\"}]],"
    "\"join\":[[{\"cs_attribute\":\"externalId\",\"mv_attribute\":\"sourceAnchor\",\"case_sensitive\":true}]],"
    "\"flows\":[{\"type\":\"direct\",\"source\":\"userPrincipalName\",\"target\":\"userName\"},"
    "{\"type\":\"constant\",\"source\":\"Employee \\\"A\\\" \\u00e9\",\"target\":\"userType\",\"apply_once\":true},"
    "{\"type\":\"expression\",\"source\":\"IIF(IsPresent([mail]), LCase([mail]), NULL)\","
    "\"target\":\"emails.work\",\"merge\":true}]},"
    "{\"name\":\"In\",\"direction\":\"inbound\",\"connector\":\"corp\",\"cs_object_type\":\"user\","
    "\"mv_object_type\":\"person\",\"link_type\":\"join\",\"precedence\":7,\"enabled\":false}]}";

static void test_round_trip(void **state)
{
    (void)state;
    rule_set *a = rule_set_new(), *b = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(a, FULL, "full.json", &e), 0);
    char *t1 = rule_set_to_text(a);
    assert_int_equal(rule_set_load_json(b, t1, "export", &e), 0);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        char h1[65], h2[65];
        rule_hash(a->rules[i], h1);
        rule_hash(b->rules[i], h2);
        assert_string_equal(h1, h2);
        assert_int_equal(strlen(h1), 64);
    }
    char s1[65], s2[65];
    rule_set_hash(a, s1);
    rule_set_hash(b, s2);
    assert_string_equal(s1, s2);
    char *t2 = rule_set_to_text(b);
    assert_string_equal(t1, t2); /* export is canonical: a fixed point */
    /* the export holds every field, in the documented order */
    assert_non_null(strstr(t1, "\"apply_once\": true"));
    assert_non_null(strstr(t1, "\"connector_type\": \"*\""));
    const char *p1 = strstr(t1, "\"name\""), *p2 = strstr(t1, "\"precedence\""), *p3 = strstr(t1, "\"flows\"");
    assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    const rule *r = rule_set_find(b, "Out");
    assert_string_equal(r->flows[1].source, "Employee \"A\" \xc3\xa9");
    assert_true(r->flows[1].apply_once);
    assert_true(r->flows[2].merge);
    assert_true(r->join[0].clauses[0].case_sensitive);
    assert_null(r->scope[0].clauses[1].value);
    free(t1);
    free(t2);
    rule_set_free(a);
    rule_set_free(b);
}

static void test_hash_semantics(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(s, FULL, "full.json", &e), 0);
    rule *r = rule_set_find(s, "Out");
    char h0[65], h[65], set0[65], set[65];
    rule_hash(r, h0);
    rule_set_hash(s, set0);
    /* name and description do not change sync results */
    free(r->description);
    r->description = xstrdup("another text");
    rule_hash(r, h);
    assert_string_equal(h, h0);
    /* precedence, scope values, flows, enabled do */
    r->precedence = 8;
    rule_hash(r, h);
    assert_string_not_equal(h, h0);
    r->precedence = 7;
    r->flows[0].apply_once = true;
    rule_hash(r, h);
    assert_string_not_equal(h, h0);
    r->flows[0].apply_once = false;
    free(r->scope[0].clauses[0].value);
    r->scope[0].clauses[0].value = xstrdup("TRUE");
    rule_hash(r, h);
    assert_string_not_equal(h, h0);
    free(r->scope[0].clauses[0].value);
    r->scope[0].clauses[0].value = xstrdup("true");
    rule_hash(r, h);
    assert_string_equal(h, h0);
    /* the set hash covers enabled rules only, independent of order */
    rule *in = rule_set_find(s, "In");
    free(in->description);
    in->description = xstrdup("x");
    in->cs_object_type[0] = 'U'; /* a disabled rule changes: no full sync needed */
    rule_set_hash(s, set);
    assert_string_equal(set, set0);
    in->enabled = true;
    rule_set_hash(s, set);
    assert_string_not_equal(set, set0);
    char sorted[65];
    rule_set_sort(s);
    rule_set_hash(s, sorted);
    assert_string_equal(set, sorted);
    r->enabled = false;
    rule_set_hash(s, set);
    assert_string_not_equal(set, sorted);
    rule_set_free(s);
}

static void test_set_helpers(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(s, FULL, "full.json", &e), 0);
    rule_set_sort(s);
    assert_string_equal(s->rules[0]->name, "In"); /* inbound first */
    const rule *out = rule_set_find(s, "Out"), *in = rule_set_find(s, "In");
    assert_null(rule_set_find(s, "out")); /* names are case-sensitive */
    assert_true(rule_applies_to(out, "cloud", "scim", "person"));  /* outbound: MV type */
    assert_true(rule_applies_to(out, "other", "SCIM", "PERSON"));
    assert_false(rule_applies_to(out, "cloud", "scim", "user"));
    assert_false(rule_applies_to(out, "corp", "ad", "person"));
    assert_false(rule_applies_to(in, "corp", "ad", "user"));       /* disabled */
    rule_set_find(s, "In")->enabled = true;
    assert_true(rule_applies_to(in, "corp", "ad", "user"));        /* connector_type "*" */
    assert_false(rule_applies_to(in, "corp2", "ad", "user"));
    assert_true(rule_set_remove(s, "In"));
    assert_false(rule_set_remove(s, "In"));
    assert_int_equal(s->n, 1);
    rule_set_free(s);
    rule_set_free(NULL);
    rule_free(NULL);
}

static void test_constant_flow_and_refs(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(s, FULL, "full.json", &e), 0);
    const rule *r = rule_set_find(s, "Out");
    attrs *out = attrs_new();
    attr *a = attrs_put(out, "userType", AT_INTEGER);
    attr_add_str(a, "old");
    expr_outcome oc = EXPR_NULL;
    expr_env env = {0};
    assert_int_equal(rule_flow_eval(&r->flows[1], &env, a, &oc, &e), 0);
    assert_int_equal(oc, EXPR_VALUE);
    assert_int_equal(a->nvals, 1);
    assert_int_equal(a->type, AT_STRING);
    assert_string_equal(a->vals[0].data, "Employee \"A\" \xc3\xa9");
    attrs_free(out);
    rule_set_free(s);
}

static void collect(void *ctx, const char *name)
{
    buf *b = ctx;
    buf_printf(b, "%s;", name);
}

static void test_source_attrs(void **state)
{
    (void)state;
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(s, FULL, "full.json", &e), 0);
    buf b = BUF_INIT;
    rule_foreach_source_attr(rule_set_find(s, "Out"), collect, &b);
    /* scope attributes, join source (MV side for outbound), flow references */
    assert_non_null(strstr(b.data, "cloudFiltered;"));
    assert_non_null(strstr(b.data, "dn;"));
    assert_non_null(strstr(b.data, "sourceAnchor;"));
    assert_non_null(strstr(b.data, "userPrincipalName;"));
    assert_non_null(strstr(b.data, "mail;"));
    assert_null(strstr(b.data, "externalId;"));
    buf_free(&b);
    rule_set_free(s);
}

static void test_load_file(void **state)
{
    (void)state;
    const char *tmp = getenv("IDSYNC_TEST_TMP");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/tmp");
    mkdir(dir, 0700);
    char *path = xasprintf("%s/test_rule_json_%d.json", dir, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(FULL, f);
    fclose(f);
    rule_set *s = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_file(s, path, &e), 0);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->rules[0]->origin, path);
    unlink(path);
    assert_int_equal(rule_set_load_file(s, path, &e), ERR_NOTFOUND);
    assert_contains(e.msg, "cannot open rules file");
    free(path);
    rule_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_rule_defaults),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_bad_expression_position),
        cmocka_unit_test(test_set_conflicts),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_hash_semantics),
        cmocka_unit_test(test_set_helpers),
        cmocka_unit_test(test_constant_flow_and_refs),
        cmocka_unit_test(test_source_attrs),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
