/* Operators, literals, precedence, constants, parameters, outcomes, multi-valued semantics,
 * result types, and the public accessors (references, bare-attribute test, thread safety). */
#include "test_expr_harness.h"
#include <pthread.h>

static const hcase LITERALS[] = {
    V("42", NULL, "integer", "42"),
    V("-42", NULL, "integer", "-42"),
    V("2.50", NULL, "string", "2.5"),
    V(".5 + 1", NULL, "string", "1.5"),
    V("&HFF", NULL, "integer", "255"),
    V("&hff + 1", NULL, "integer", "256"),
    V("&HFFFFFFFFFFFFFFFF", NULL, "integer", "-1"),
    V("\"He said \"\"hi\"\"\"", NULL, "string", "He said \"hi\""),
    V("\"a\"\"b\"", NULL, "string", "a\"b"),
    V("\"C:\\temp\"", NULL, "string", "C:\\temp"),
    V("\"back\\\\slash\"", NULL, "string", "back\\\\slash"),
    V("\"\\\"", NULL, "string", "\\"),
    V("Len(\"\"\"\"\"\")", NULL, "integer", "2"),
    V("\"\"", NULL, "string", ""),
    V("\"multi\nline\"", NULL, "string", "multi\nline"),
    V("True", NULL, "boolean", "TRUE"),
    V("false", NULL, "boolean", "FALSE"),
    V("Len(CRLF)", NULL, "integer", "2"),
    V("\"a\" & CRLF & \"b\"", NULL, "string", "a\r\nb"),
    NUL("NULL", NULL),
    NUL("Nothing", NULL),
    {"AuthoritativeNull", NULL, EXPR_AUTH_NULL, NULL, NULL, NULL},
    {"IgnoreThisFlow", NULL, EXPR_IGNORE, NULL, NULL, NULL},
    {"IIF([a]=\"x\", AuthoritativeNull, [a])", "a=x", EXPR_AUTH_NULL, NULL, NULL, NULL},
    V("IIF([a]=\"x\", AuthoritativeNull, [a])", "a=y", "string", "y"),
    {"IIF(IsPresent([a]), [a], IgnoreThisFlow)", NULL, EXPR_IGNORE, NULL, NULL, NULL},
    {"UCase(AuthoritativeNull)", NULL, EXPR_AUTH_NULL, NULL, NULL, NULL},
    {"\"x\" & IgnoreThisFlow", NULL, EXPR_IGNORE, NULL, NULL, NULL},
    {"Select($i,[m],IIF($i=\"b\",AuthoritativeNull,$i))", "m=a;m=b", EXPR_AUTH_NULL, NULL, NULL, NULL},
    V("%Domain.Netbios% & \"\\\" & [sAMAccountName]", "sAMAccountName=jdoe", "string", "FABRIKAMSALES\\jdoe"),
    V("[userPrincipalName] & \"@\" & %domain.fqdn%", "userPrincipalName=jd", "string", "jd@sales.fabrikam.com"),
    V("%Forest.FQDN%", NULL, "string", "fabrikam.com"),
    ERR("%Connector.Unknown%", NULL, "unknown parameter %Connector.Unknown%"),
    V("ucase(\"a\") & IIF(TRUE,\"b\",\"c\") & lCaSe(\"D\")", NULL, "string", "Abd"),
    V("[MAIL]", "mail=a@x", "string", "a@x"),
    V("[ mail ]", "mail=a@x", "string", "a@x"),
    V("[ms-DS-ConsistencyGuid]", "ms-DS-ConsistencyGuid:binary=0102", "binary", "0102"),
};

static const hcase OPERATORS[] = {
    V("\"a\" & \"b\"", NULL, "string", "ab"),
    V("[givenName] & \" \" & [sn]", "givenName=John;sn=Doe", "string", "John Doe"),
    V("[givenName] & \" \" & [sn]", "sn=Doe", "string", " Doe"),
    V("[absent] & \"a\"", NULL, "string", "a"),
    NUL("[absent] & [other]", NULL),
    V("\"n=\" & 5 & \",b=\" & True & \",d=\" & CDate(\"2024-01-02\")", NULL, "string", "n=5,b=True,d=20240102000000.0Z"),
    ERR("\"x\" & [g]", "g:binary=00", "operator &: cannot join a binary value"),
    V("1 + 2", NULL, "integer", "3"),
    V("\"ab\" + \"cd\"", NULL, "string", "abcd"),
    V("\"2\" + 3", NULL, "integer", "5"),
    V("[n] + 1", "n:integer=41", "integer", "42"),
    NUL("[absent] + 1", NULL),
    V("1.5 + 1", NULL, "string", "2.5"),
    ERR("\"x\" + 1", NULL, "operator +: \"x\" is not a number"),
    ERR("9223372036854775807 + 1", NULL, "operator +: 64-bit integer overflow"),
    V("10 - 12", NULL, "integer", "-2"),
    NUL("[absent] - 1", NULL),
    V("6 * 7", NULL, "integer", "42"),
    ERR("4611686018427387904 * 2", NULL, "operator *: 64-bit integer overflow"),
    V("10 / 4", NULL, "string", "2.5"),
    V("10 / 2", NULL, "integer", "5"),
    NUL("[absent] / 2", NULL),
    ERR("1 / 0", NULL, "operator /: division by zero"),
    ERR("1.5 / 0", NULL, "operator /: division by zero"),
    V("-[n]", "n:integer=5", "integer", "-5"),
    V("- -3", NULL, "integer", "3"),
    V("-(2 + 3)", NULL, "integer", "-5"),
    V("+4", NULL, "integer", "4"),
    NUL("-[absent]", NULL),
    V("-[m]", "m:integer=1;m:integer=2", "integer", "-1|-2"),
    ERR("-\"x\"", NULL, "operator -: cannot negate string"),
    V("[n] = 5", "n:integer=5", "boolean", "TRUE"),
    V("[n] = \"5\"", "n:integer=5", "boolean", "TRUE"),
    V("\"a\" = \"A\"", NULL, "boolean", "FALSE"),
    V("\"a\" <> \"A\"", NULL, "boolean", "TRUE"),
    V("\"a\" < \"b\" && \"b\" <= \"b\" && \"c\" > \"b\" && \"c\" >= \"c\"", NULL, "boolean", "TRUE"),
    V("10 > 9", NULL, "boolean", "TRUE"),
    V("\"10\" > 9", NULL, "boolean", "TRUE"),
    V("\"10\" > \"9\"", NULL, "boolean", "FALSE"),
    V("2.5 < 3", NULL, "boolean", "TRUE"),
    V("CDate(\"2024-01-01\") < CDate(\"2024-01-02\")", NULL, "boolean", "TRUE"),
    V("CDate(\"2024-01-01\") = \"20240101000000.0Z\"", NULL, "boolean", "TRUE"),
    V("True = \"true\"", NULL, "boolean", "TRUE"),
    V("[flag] = True", "flag:boolean=TRUE", "boolean", "TRUE"),
    V("[absent] = NULL", NULL, "boolean", "TRUE"),
    V("[absent] = \"x\"", NULL, "boolean", "FALSE"),
    V("[absent] <> \"x\"", NULL, "boolean", "TRUE"),
    V("[absent] < 1", NULL, "boolean", "FALSE"),
    V("\"x\" = 1", NULL, "boolean", "FALSE"),
    V("\"x\" <> 1", NULL, "boolean", "TRUE"),
    ERR("\"x\" < 1", NULL, "operator <: cannot order string and number"),
    V("[g] = [h]", "g:binary=0102;h:binary=0102", "boolean", "TRUE"),
    V("True && False", NULL, "boolean", "FALSE"),
    V("True || False", NULL, "boolean", "TRUE"),
    V("False && Error(\"not evaluated\")", NULL, "boolean", "FALSE"),
    V("True || Error(\"not evaluated\")", NULL, "boolean", "TRUE"),
    V("[absent] && True", NULL, "boolean", "FALSE"),
    V("1 && \"true\"", NULL, "boolean", "TRUE"),
    ERR("\"maybe\" && True", NULL, "&&: \"maybe\" is not True or False"),
    ERR("True && \"maybe\"", NULL, "&&: \"maybe\" is not True or False"),
    V("[m] = \"b\" || False", "m=a;m=b", "boolean", "TRUE"),
    V("[m] & \"!\"", "m=a;m=b", "string", "a!|b!"),
    V("\"<\" & [m]", "m=a;m=b", "string", "<a|<b"),
    V("[m] = \"b\"", "m=a;m=b", "boolean", "FALSE|TRUE"),
    V("[m] & [one]", "m=a;m=b;one=1", "string", "a1|b1"),
    ERR("[m] & [m]", "m=a;m=b", "operator &: both sides are multi-valued (2 and 2 values)"),
    ERR("Replace([m],[m],\"x\")", "m=a;m=b", "Replace: arguments 1 and 2 are both multi-valued"),
};

static const hcase PRECEDENCE[] = {
    V("1 + 2 * 3", NULL, "integer", "7"),
    V("(1 + 2) * 3", NULL, "integer", "9"),
    V("2*5+3", NULL, "integer", "13"),
    V("2*(5+3)", NULL, "integer", "16"),
    V("10 - 2 - 3", NULL, "integer", "5"),
    V("100 / 10 / 5", NULL, "integer", "2"),
    V("\"a\" & 1 + 2", NULL, "string", "a3"),
    V("1 + 2 & \"a\"", NULL, "string", "3a"),
    V("1 + 2 = 3", NULL, "boolean", "TRUE"),
    V("\"a\" & \"b\" = \"ab\"", NULL, "boolean", "TRUE"),
    V("1 = 1 && 2 = 2", NULL, "boolean", "TRUE"),
    V("False || True && False", NULL, "boolean", "FALSE"),
    V("(False || True) && True", NULL, "boolean", "TRUE"),
    V("-2 * -3", NULL, "integer", "6"),
    V("IsPresent([sAMAccountName]) = False || [sAMAccountName] = \"SUPPORT_388945a0\"", "sAMAccountName=SUPPORT_388945a0",
      "boolean", "TRUE"),
    V("IsPresent([sAMAccountName]) = False || [sAMAccountName] = \"SUPPORT_388945a0\"", "sAMAccountName=jdoe", "boolean",
      "FALSE"),
    V("Left([mailNickname], 4) = \"CAS_\" && (InStr([mailNickname], \"}\") > 0)", "mailNickname=CAS_{x}", "boolean",
      "TRUE"),
};

/* The engine's types reach the output unchanged when an attribute flows through. */
static const hcase TYPES[] = {
    V("[n]", "n:integer=12", "integer", "12"),
    V("[n]", "n:integer=notanumber", "string", "notanumber"),
    V("[b]", "b:boolean=true", "boolean", "TRUE"),
    V("[d]", "d:datetime=2024-01-31T12:00:00Z", "datetime", "20240131120000.0Z"),
    V("[g]", "g:binary=00ff10", "binary", "00ff10"),
    V("[r]", "r:reference=cn=x,dc=y", "reference", "cn=x,dc=y"),
    V("[m]", "m=a;m=b;m=c", "string", "a|b|c"),
    V("Split(\"1,x\",\",\")", NULL, "string", "1|x"),
    V("Select($i,Split(\"1,2\",\",\"),CNum($i))", NULL, "integer", "1|2"),
    V("Select($i,Split(\"1,x\",\",\"),IIF(IsNumeric($i),CNum($i),$i))", NULL, "string", "1|x"),
    ERR("Select($i,Split(\"1,x\",\",\"),IIF(IsNumeric($i),CGuid(\"6B29FC40-CA47-1067-B31D-00DD010662DA\"),$i))", NULL,
        "mixes binary and text"),
    V("ConvertToBase64([objectGUID])", "objectGUID:binary=40fc296b47ca6710b31d00dd010662da", "string", "QPwpa0fKZxCzHQDdAQZi2g=="),
    V("IIF(IsPresent([msDS-ConsistencyGuid]),[msDS-ConsistencyGuid],[objectGUID])",
      "objectGUID:binary=40fc296b47ca6710b31d00dd010662da", "binary", "40fc296b47ca6710b31d00dd010662da"),
};

static void test_literals(void **s) { (void)s; RUN_TABLE(LITERALS); }
static void test_operators(void **s) { (void)s; RUN_TABLE(OPERATORS); }
static void test_precedence(void **s) { (void)s; RUN_TABLE(PRECEDENCE); }
static void test_types(void **s) { (void)s; RUN_TABLE(TYPES); }

static void collect(void *ctx, const char *name)
{
    char *buf = ctx;
    strcat(buf, name);
    strcat(buf, ",");
}

static void test_refs(void **s)
{
    (void)s;
    err e = {0};
    expr *x = NULL;
    char buf[256] = "";
    assert_int_equal(expr_compile("[givenName] & [SN] & IIF(IsPresent([GivenName]), [sn], Select($i,[mail],$i))", &x, &e), 0);
    expr_foreach_ref(x, collect, buf);
    assert_string_equal(buf, "givenName,SN,mail,");
    const char *name = NULL;
    assert_false(expr_is_attr_ref(x, &name));
    expr_free(x);
    assert_int_equal(expr_compile(" [ mail ] ", &x, &e), 0);
    assert_true(expr_is_attr_ref(x, &name));
    assert_string_equal(name, "mail");
    assert_string_equal(expr_source(x), " [ mail ] ");
    expr_free(x);
    assert_int_equal(expr_compile("[mail] & \"\"", &x, &e), 0);
    assert_false(expr_is_attr_ref(x, NULL));
    buf[0] = '\0';
    expr_foreach_ref(x, collect, buf);
    assert_string_equal(buf, "mail,");
    expr_free(x);
    assert_int_equal(expr_compile("\"const\"", &x, &e), 0);
    buf[0] = '\0';
    expr_foreach_ref(x, collect, buf);
    assert_string_equal(buf, "");
    expr_free(x);
    expr_free(NULL);
}

/* out's previous values are replaced, and a NULL outcome leaves none. */
static void test_out_replaced(void **s)
{
    (void)s;
    err e = {0};
    expr *x = NULL;
    attrs *in = h_attrs("a=new");
    attr out = {0};
    out.name = xstrdup("keep-name");
    attr_add_str(&out, "old1");
    attr_add_str(&out, "old2");
    expr_env env = {in, h_lookup, h_param, H_NOW};
    expr_outcome oc;
    assert_int_equal(expr_compile("[a]", &x, &e), 0);
    assert_int_equal(expr_eval(x, &env, &out, &oc, &e), 0);
    assert_int_equal(oc, EXPR_VALUE);
    assert_int_equal(out.nvals, 1);
    assert_string_equal(out.vals[0].data, "new");
    assert_string_equal(out.name, "keep-name");
    expr_free(x);
    assert_int_equal(expr_compile("[absent]", &x, &e), 0);
    assert_int_equal(expr_eval(x, &env, &out, &oc, &e), 0);
    assert_int_equal(oc, EXPR_NULL);
    assert_int_equal(out.nvals, 0);
    /* a NULL param callback: parameters are unknown */
    expr_free(x);
    assert_int_equal(expr_compile("%Domain.FQDN%", &x, &e), 0);
    expr_env noparam = {in, h_lookup, NULL, H_NOW};
    assert_int_equal(expr_eval(x, &noparam, &out, &oc, &e), ERR_FAIL);
    assert_non_null(strstr(e.msg, "unknown parameter %Domain.FQDN%"));
    expr_free(x);
    h_out_free(&out);
    attrs_free(in);
}

/* One compiled expression evaluated from several threads at once gives each its own result. */
typedef struct tjob { const expr *x; int id; int bad; } tjob;
static void *worker(void *p)
{
    tjob *j = p;
    char val[32], want[64];
    snprintf(val, sizeof val, "v%d", j->id);
    snprintf(want, sizeof want, "V%d-V%d", j->id, j->id);
    attrs *in = attrs_new();
    attrs_set_str(in, "a", val);
    expr_env env = {in, h_lookup, h_param, H_NOW};
    attr out = {0};
    for (int i = 0; i < 3000; i++) {
        err e = {0};
        expr_outcome oc;
        if (expr_eval(j->x, &env, &out, &oc, &e) < 0 || oc != EXPR_VALUE || out.nvals != 1 ||
            strcmp(out.vals[0].data, want) != 0)
            j->bad++;
    }
    h_out_free(&out);
    attrs_free(in);
    return NULL;
}

static void test_threads(void **s)
{
    (void)s;
    err e = {0};
    expr *x = NULL;
    assert_int_equal(expr_compile("With($u, UCase([a]), Join(Select($i, Split($u & \",\" & $u, \",\"), $i), \"-\"))", &x, &e), 0);
    pthread_t t[4];
    tjob j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (tjob){x, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(j[i].bad, 0);
    }
    expr_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals), cmocka_unit_test(test_operators), cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_types), cmocka_unit_test(test_refs), cmocka_unit_test(test_out_replaced),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
