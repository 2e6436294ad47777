/* Flow evaluation and precedence resolution in isolation: precedence with merge (duplicates
 * dropped), NULL / AuthoritativeNull / apply-once, lineage and managed names, values moved out
 * of the contributions, %Domain.*% parameters derived from the DN only when read, and the
 * per-thread reuse of contribution arrays across many objects (the sanitizers check the memory). */
#include "engine/engine_flow.h"
#include "rules/rule.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define RULE(name, prec, flows)                                                                          \
    "{\"name\": \"" name "\", \"direction\": \"inbound\", \"connector\": \"*\", \"connector_type\": \"*\"," \
    " \"cs_object_type\": \"user\", \"mv_object_type\": \"person\", \"link_type\": \"join\", \"precedence\": " \
    #prec ", \"flows\": [" flows "]}"

#define RULES "{\"version\": 1, \"rules\": ["                                                               \
    RULE("high", 10,                                                                                       \
         "{\"type\": \"direct\", \"source\": \"mail\", \"target\": \"mail\"},"                              \
         "{\"type\": \"expression\", \"source\": \"IIF(IsPresent([title]), [title], NULL)\", \"target\": \"Title\"}," \
         "{\"type\": \"direct\", \"source\": \"group\", \"target\": \"memberOf\", \"merge\": true},"        \
         "{\"type\": \"expression\", \"source\": \"AuthoritativeNull\", \"target\": \"pager\"},"            \
         "{\"type\": \"expression\", \"source\": \"IgnoreThisFlow\", \"target\": \"fax\"},"                 \
         "{\"type\": \"expression\", \"source\": \"[cn] & \\\"@\\\" & %Domain.FQDN%\", \"target\": \"upn\"}," \
         "{\"type\": \"expression\", \"source\": \"%Domain.Netbios%\", \"target\": \"netbios\"},"           \
         "{\"type\": \"direct\", \"source\": \"cn\", \"target\": \"firstName\", \"apply_once\": true}") "," \
    RULE("low", 20,                                                                                        \
         "{\"type\": \"constant\", \"source\": \"low@x\", \"target\": \"MAIL\"},"                           \
         "{\"type\": \"constant\", \"source\": \"low title\", \"target\": \"title\"},"                      \
         "{\"type\": \"direct\", \"source\": \"group\", \"target\": \"memberOf\", \"merge\": true}," \
         "{\"type\": \"constant\", \"source\": \"12345\", \"target\": \"pager\"},"                          \
         "{\"type\": \"constant\", \"source\": \"555\", \"target\": \"fax\"}")                              \
    "]}"

typedef struct fixture {
    rule_set *rules;
    attrs *src;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    err e = {0};
    f->rules = rule_set_new();
    assert_int_equal(rule_set_load_json(f->rules, RULES, "test", &e), 0);
    assert_int_equal(f->rules->n, 2);
    f->src = attrs_new();
    attrs_set_str(f->src, "cn", "ada");
    attrs_set_str(f->src, "mail", "ada@example.test");
    attr *g = attrs_put(f->src, "group", AT_STRING);
    attr_add_str(g, "g1");
    attr_add_str(g, "G2");
    attr_add_str(g, "g1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rule_set_free(f->rules);
    attrs_free(f->src);
    free(f);
    return 0;
}

/* Evaluates both rules against src (dn may be NULL) and resolves into the three sets. */
static void eval_resolve(fixture *f, const char *dn, const attrs *previous, attrs *out, attrs *lineage, attrs *managed)
{
    flow_source fs;
    flow_result res = {0};
    err e = {0};
    flow_source_init(&fs, f->src, dn);
    for (size_t i = 0; i < f->rules->n; i++)
        assert_int_equal(flow_eval_rule(f->rules->rules[i], "hr", &fs, &res, &e), 0);
    flow_source_clear(&fs);
    assert_int_equal(res.n, 13);
    flow_resolve(&res, previous, out, lineage, managed);
    flow_result_clear(&res);
}

static void assert_values(const attrs *s, const char *name, size_t n, ...)
{
    const attr *a = attrs_get(s, name);
    assert_non_null(a);
    assert_int_equal(a->nvals, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(a->vals[i].data, va_arg(ap, const char *));
    va_end(ap);
}

static void test_precedence_merge_and_lineage(void **state)
{
    fixture *f = *state;
    attrs *out = attrs_new(), *lineage = attrs_new(), *managed = attrs_new();
    eval_resolve(f, "CN=ada,OU=People,DC=corp,DC=example,DC=test", NULL, out, lineage, managed);
    assert_values(out, "mail", 1, "ada@example.test");
    assert_values(out, "title", 1, "low title");            /* NULL lets the lower rule through */
    assert_values(out, "memberOf", 2, "g1", "G2");          /* merge: a value already there (any case) is not added again */
    assert_null(attrs_get(out, "pager"));                   /* AuthoritativeNull wins over 12345 */
    assert_values(out, "fax", 1, "555");                    /* IgnoreThisFlow: as if absent */
    assert_values(out, "upn", 1, "ada@corp.example.test");
    assert_values(out, "netbios", 1, "CORP");
    assert_values(out, "firstName", 1, "ada");
    assert_int_equal(out->n, 7);
    assert_values(lineage, "mail", 1, "hr|high");
    assert_values(lineage, "title", 1, "hr|low");
    assert_values(lineage, "memberOf", 2, "hr|high", "hr|low");
    assert_null(attrs_get(lineage, "pager"));
    assert_non_null(lineage->pool);
    /* managed: every target some flow wrote or cleared; fax's lower flow counts, its ignored one not */
    assert_non_null(attrs_get(managed, "pager"));
    assert_non_null(attrs_get(managed, "fax"));
    assert_int_equal(managed->n, 8);
    attrs_free(out);
    attrs_free(lineage);
    attrs_free(managed);
}

static void test_apply_once_keeps_previous(void **state)
{
    fixture *f = *state;
    attrs *prev = attrs_new(), *out = attrs_new();
    attrs_set_str(prev, "FIRSTNAME", "original");
    eval_resolve(f, "CN=ada,DC=corp,DC=test", prev, out, NULL, NULL);
    assert_values(out, "firstName", 1, "original");
    attrs_free(prev);
    attrs_free(out);
}

/* No DN, or one without DC= components: %Domain.FQDN% is unknown, the flow fails with its name. */
static void test_domain_parameter_needs_dc(void **state)
{
    fixture *f = *state;
    const char *dns[] = {NULL, "CN=ada,OU=People"};
    for (int k = 0; k < 2; k++) {
        flow_source fs;
        flow_result res = {0};
        err e = {0};
        flow_source_init(&fs, f->src, dns[k]);
        assert_int_not_equal(flow_eval_rule(f->rules->rules[0], "hr", &fs, &res, &e), 0);
        assert_non_null(strstr(e.msg, "Domain.FQDN"));
        assert_non_null(strstr(e.msg, "upn"));
        flow_source_clear(&fs);
        flow_result_clear(&res);
    }
    /* a DN whose first label differs is derived afresh (no state kept between objects) */
    attrs *out = attrs_new();
    eval_resolve(f, "CN=x\\,y,DC=other,DC=test", NULL, out, NULL, NULL);
    assert_values(out, "upn", 1, "ada@other.test");
    assert_values(out, "netbios", 1, "OTHER");
    attrs_free(out);
}

/* Many objects in a row, as a sync does: results reuse one contribution array per thread, also
   when a result grows past it, and a pooled output set (values copied, not adopted) still works. */
static void test_many_objects_and_pooled_output(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 50; round++) {
        attrs *out = round % 2 ? attrs_new_pooled() : attrs_new(), *lineage = attrs_new();
        flow_source fs;
        flow_result res = {0};
        err e = {0};
        flow_source_init(&fs, f->src, "CN=ada,DC=corp,DC=test");
        int times = 1 + round % 7;   /* up to 91 contributions: grows past a reused array */
        for (int t = 0; t < times; t++)
            for (size_t i = 0; i < f->rules->n; i++)
                assert_int_equal(flow_eval_rule(f->rules->rules[i], "hr", &fs, &res, &e), 0);
        flow_source_clear(&fs);
        assert_int_equal(res.n, (size_t)(13 * times));
        flow_resolve(&res, NULL, out, lineage, NULL);
        flow_result_clear(&res);
        assert_values(out, "memberOf", 2, "g1", "G2");
        assert_int_equal(attrs_get(out, "mail")->nvals, 1);
        assert_values(lineage, "memberOf", 2, "hr|high", "hr|low");
        attrs_free(out);
        attrs_free(lineage);
    }
}

/* A direct flow is copied without the evaluator when its values pass through unchanged; for
   every attribute type and value count the result equals the evaluator's own. */
static void test_direct_flow_equals_evaluator(void **state)
{
    (void)state;
    static const char *const json =
        "{\"version\": 1, \"rules\": [" RULE("d", 1, "{\"type\": \"direct\", \"source\": \"x\", \"target\": \"y\"}") "]}";
    rule_set *rs = rule_set_new();
    err e = {0};
    assert_int_equal(rule_set_load_json(rs, json, "test", &e), 0);
    const rule_flow *f = &rs->rules[0]->flows[0];
    static const char *const vals[] = {"007", "TRUE", "20240102030405.0Z", "uid=a,dc=test", "", "x\001y"};
    for (int t = AT_STRING; t <= AT_DATETIME + 1; t++) {   /* + 1: absent */
        for (size_t nv = 0; nv <= 3; nv++) {
            attrs *src = attrs_new();
            if (t <= AT_DATETIME) {
                attr *a = attrs_put(src, "X", (attr_type)t);
                for (size_t i = 0; i < nv; i++) attr_add(a, vals[(i + (size_t)t) % 6], strlen(vals[(i + (size_t)t) % 6]));
            }
            flow_source fs;
            expr_env env;
            flow_source_init(&fs, src, "CN=a,DC=test");
            flow_env(&fs, &env);
            attr got = {.name = "y", .type = AT_STRING}, want = {.name = "y", .type = AT_STRING};
            expr_outcome og = EXPR_VALUE, ow = EXPR_VALUE;
            err e1 = {0}, e2 = {0};
            attr_add_str(&got, "stale");   /* previous values are replaced */
            int rg = rule_flow_eval(f, &env, &got, &og, &e1);
            int rw = expr_eval(f->x, &env, &want, &ow, &e2);
            assert_int_equal(rg, rw);
            assert_int_equal(og, ow);
            if (ow == EXPR_VALUE) {
                assert_int_equal(got.type, want.type);
                assert_true(attr_equal(&got, &want));
                for (size_t i = 0; i < want.nvals; i++) assert_memory_equal(got.vals[i].data, want.vals[i].data, want.vals[i].len + 1);
            } else {
                assert_int_equal(got.nvals, 0);
            }
            for (size_t i = 0; i < got.nvals; i++) free(got.vals[i].data);
            for (size_t i = 0; i < want.nvals; i++) free(want.vals[i].data);
            free(got.vals);
            free(want.vals);
            flow_source_clear(&fs);
            attrs_free(src);
        }
    }
    rule_set_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_precedence_merge_and_lineage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_once_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_parameter_needs_dc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_objects_and_pooled_output, setup, teardown),
        cmocka_unit_test(test_direct_flow_equals_evaluator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
