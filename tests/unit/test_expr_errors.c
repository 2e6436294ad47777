/* Compile errors (message, line, column and caret), evaluation errors, every hostile-input limit
 * (source length, nesting, string size, list length, step budget, scratch memory) and a
 * deterministic fuzz run that must never crash. */
#include "test_expr_harness.h"

typedef struct ccase { const char *src; const char *msg; } ccase;

static const ccase COMPILE[] = {
    {"IIF([a], 1", "line 1, column 11: expected ')' after arguments of IIF\n  IIF([a], 1\n            ^"},
    {"IIF(True,1,2", "line 1, column 13: expected ')' after arguments of IIF\n  IIF(True,1,2\n              ^"},
    {"Foo(1)", "line 1, column 1: unknown function Foo\n  Foo(1)\n  ^"},
    {"UCase(Foo(1))", "line 1, column 7: unknown function Foo\n  UCase(Foo(1))\n        ^"},
    {"Left(\"a\")", "line 1, column 1: Left takes 2 arguments, not 1\n  Left(\"a\")\n  ^"},
    {"Mid(\"a\",1,2,3)", "line 1, column 1: Mid takes 3 arguments, not 4"},
    {"InStr(\"a\")", "line 1, column 1: InStr takes 2 to 4 arguments, not 1"},
    {"Now(1)", "Now takes 0 arguments, not 1"},
    {"IIF([a],\n  1 +, 2)", "line 2, column 6: unexpected ',': expected a value\n    1 +, 2)\n       ^"},
    {"\"abc", "line 1, column 1: unterminated string: missing closing '\"'"},
    {"[a] [b]", "line 1, column 5: unexpected text after the end of the expression"},
    {"Select(x, [a], 1)", "line 1, column 8: Select: the first argument must be a variable such as $item"},
    {"$x", "line 1, column 1: unknown variable $x"},
    {"Select($i, $i, 1)", "line 1, column 12: unknown variable $i"},
    {"With($v, 1, 2) & $v", "line 1, column 18: unknown variable $v"},
    {"Switch(True)", "Switch takes at least 2 arguments, not 1"},
    {"Switch(True,1,False)", "Switch takes pairs of condition and value, got 3 arguments"},
    {"", "line 1, column 1: empty expression"},
    {"   ", "line 1, column 4: empty expression"},
    {"1 +", "line 1, column 4: unexpected end of expression: expected a value\n  1 +\n     ^"},
    {"UCase", "line 1, column 6: expected '(' after function name UCase"},
    {"foo", "line 1, column 1: unknown name foo"},
    {"(1", "line 1, column 3: expected ')' to close the '(' at column 1"},
    {"1)", "line 1, column 2: unexpected ')' (no matching '(')"},
    {"\xe2\x80\x9cx\xe2\x80\x9d", "line 1, column 1: smart quote: strings must use straight quotes"},
    {"[a", "line 1, column 1: unterminated attribute reference: missing ']'"},
    {"%x", "line 1, column 1: unterminated parameter"},
    {"[]", "line 1, column 1: empty attribute name []"},
    {"[  ]", "line 1, column 1: empty attribute name []"},
    {"1.2.3", "line 1, column 4: malformed number"},
    {"12abc", "line 1, column 3: malformed number"},
    {"&HFFFFFFFFFFFFFFFFF", "hexadecimal number wider than 64 bits"},
    {"99999999999999999999", "integer 99999999999999999999 does not fit in 64 bits"},
    {"1 | 2", "line 1, column 3: '|' is not an operator (use || for Or)"},
    {"1 # 2", "line 1, column 3: unexpected character"},
    {"* 2", "line 1, column 1: unexpected operator *: expected a value"},
    {"Left(,1)", "line 1, column 6: unexpected ',': expected a value"},
    {"\"\xff\"", "expression is not valid UTF-8"},
    {"\"ö\" & (", "line 1, column 8: unexpected end of expression"},
};

static void test_compile_errors(void **s)
{
    (void)s;
    int bad = 0;
    for (size_t i = 0; i < sizeof COMPILE / sizeof COMPILE[0]; i++) {
        err e = {0};
        expr *x = (expr *)0x1;
        int rc = expr_compile(COMPILE[i].src, &x, &e);
        if (rc != ERR_USAGE || x != NULL || !strstr(e.msg, COMPILE[i].msg)) {
            print_error("FAIL %s\n  want: %s\n  got (%d): %s\n", COMPILE[i].src, COMPILE[i].msg, rc, e.msg);
            bad++;
            if (rc == 0) expr_free(x);
        }
    }
    assert_int_equal(bad, 0);
    err e = {0};
    expr *x = NULL;
    assert_int_equal(expr_compile(NULL, &x, &e), ERR_USAGE);
}

/* On a long line the message shows a window around the error, and the caret still points at it. */
static void test_long_line_caret(void **s)
{
    (void)s;
    char src[400];
    memset(src, 'a', sizeof src);
    src[0] = '"';
    src[300] = '"';
    memcpy(src + 301, " & ) & [b]", 10);
    src[311] = '\0';
    err e = {0};
    expr *x = NULL;
    assert_int_equal(expr_compile(src, &x, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "line 1, column 305: unexpected ')': expected a value\n  ..."));
    const char *l2 = strchr(e.msg, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    size_t caret = strchr(l3, '^') - l3;
    assert_true(caret < strlen(l2));
    assert_int_equal(l2[caret], ')');
}

static int eval_src(const char *src, attrs *in, expr_outcome *oc, attr *out, err *e)
{
    expr *x = NULL;
    int rc = expr_compile(src, &x, e);
    if (rc < 0) return rc;
    expr_env env = {in, h_lookup, h_param, H_NOW};
    rc = expr_eval(x, &env, out, oc, e);
    expr_free(x);
    return rc;
}

static void expect_eval_error(const char *src, attrs *in, const char *msg)
{
    err e = {0};
    attr out = {0};
    expr_outcome oc;
    int rc = eval_src(src, in, &oc, &out, &e);
    if (rc != ERR_FAIL || !strstr(e.msg, msg)) print_error("FAIL %s\n  want: %s\n  got (%d): %s\n", src, msg, rc, e.msg);
    assert_int_equal(rc, ERR_FAIL);
    assert_non_null(strstr(e.msg, msg));
    assert_int_equal(out.nvals, 0);
    h_out_free(&out);
    /* the thread's scratch arena is usable again right after */
    assert_int_equal(eval_src("Len(PadLeft(\"\", 1000, \"x\"))", in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "1000");
    h_out_free(&out);
}

static void test_limit_source(void **s)
{
    (void)s;
    size_t n = EXPR_MAX_SOURCE;
    char *src = xmalloc(n + 2);
    memset(src, 'a', n);
    src[0] = '"';
    src[n - 1] = '"';
    src[n] = '\0';
    err e = {0};
    expr *x = NULL;
    assert_int_equal(expr_compile(src, &x, &e), 0);  /* exactly at the limit */
    expr_free(x);
    src[n - 1] = 'a';
    src[n] = '"';
    src[n + 1] = '\0';
    assert_int_equal(expr_compile(src, &x, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "longer than 65536 bytes"));
    free(src);
}

static char *nest(const char *open, const char *mid, const char *close, int depth)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = xmalloc((lo + lc) * (size_t)depth + strlen(mid) + 1), *p = s;
    for (int i = 0; i < depth; i++) { memcpy(p, open, lo); p += lo; }
    strcpy(p, mid);
    p += strlen(mid);
    for (int i = 0; i < depth; i++) { memcpy(p, close, lc); p += lc; }
    *p = '\0';
    return s;
}

static void test_limit_depth(void **s)
{
    (void)s;
    const char *forms[][3] = {{"(", "1", ")"}, {"UCase(", "\"x\"", ")"}, {"-", "1", ""}, {"IIF(True,", "1", ",0)"}};
    for (size_t f = 0; f < 4; f++) {
        err e = {0};
        expr *x = NULL;
        char *ok = nest(forms[f][0], forms[f][1], forms[f][2], EXPR_MAX_DEPTH);
        assert_int_equal(expr_compile(ok, &x, &e), 0);
        attrs *in = attrs_new();
        expr_env env = {in, h_lookup, h_param, H_NOW};
        attr out = {0};
        expr_outcome oc;
        assert_int_equal(expr_eval(x, &env, &out, &oc, &e), 0);
        assert_int_equal(oc, EXPR_VALUE);
        h_out_free(&out);
        attrs_free(in);
        expr_free(x);
        free(ok);
        char *deep = nest(forms[f][0], forms[f][1], forms[f][2], EXPR_MAX_DEPTH + 1);
        assert_int_equal(expr_compile(deep, &x, &e), ERR_USAGE);
        assert_non_null(strstr(e.msg, "nested deeper than 128 levels"));
        free(deep);
        char *huge = nest(forms[f][0], forms[f][1], forms[f][2], 20000);  /* far deeper: still a clean error */
        assert_int_equal(expr_compile(huge, &x, &e), ERR_USAGE);
        free(huge);
    }
    /* a long flat chain is not nesting: 20001 terms evaluate fine */
    char *chain = xmalloc(20001 * 2 + 1), *p = chain;
    for (int i = 0; i < 20000; i++) { *p++ = '1'; *p++ = '+'; }
    *p++ = '1';
    *p = '\0';
    attrs *in = attrs_new();
    attr out = {0};
    expr_outcome oc;
    err e = {0};
    assert_int_equal(eval_src(chain, in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "20001");
    h_out_free(&out);
    attrs_free(in);
    free(chain);
}

static void test_limit_string(void **s)
{
    (void)s;
    attrs *in = attrs_new();
    char *big = xmalloc(EXPR_MAX_STRING + 2);
    memset(big, 'b', EXPR_MAX_STRING + 1);
    big[EXPR_MAX_STRING + 1] = '\0';
    attrs_set_str(in, "big", big);
    free(big);
    expect_eval_error("PadLeft(\"x\", 2000000, \"y\")", in, "PadLeft: result would be longer than the 1048576-byte limit");
    expect_eval_error("With($a, PadLeft(\"\", 600000, \"x\"), $a & $a)", in,
                      "operator &: result would be 1200000 bytes, more than the 1048576-byte limit");
    expect_eval_error("Replace(PadLeft(\"\", 600000, \"x\"), \"x\", \"xx\")", in, "Replace: result would be more than");
    expect_eval_error("ConvertToUTF8Hex(PadLeft(\"\", 600000, \"x\"))", in, "ConvertToUTF8Hex: result would be");
    expect_eval_error("[big] & \"x\"", in, "operator &: result would be");
    expect_eval_error("Join(Split(PadLeft(\"\", 90000, \",\"), \",\"), PadLeft(\"\", 20, \"-\"))", in, "Join: result would be");
    /* just under the limit is fine */
    attr out = {0};
    expr_outcome oc;
    err e = {0};
    assert_int_equal(eval_src("Len(PadLeft(\"\", 1048576, \"x\"))", in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "1048576");
    h_out_free(&out);
    attrs_free(in);
}

static void test_limit_list(void **s)
{
    (void)s;
    attrs *in = attrs_new();
    attr *a = attrs_get_or_add(in, "big", AT_STRING);
    for (int i = 0; i < EXPR_MAX_LIST; i++) attr_add(a, "v", 1);
    attr out = {0};
    expr_outcome oc;
    err e = {0};
    assert_int_equal(eval_src("Count([big])", in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "100000");
    h_out_free(&out);
    assert_int_equal(eval_src("Count(Split(PadLeft(\"\", 99999, \",\"), \",\"))", in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "100000");
    h_out_free(&out);
    expect_eval_error("Count(Split(PadLeft(\"\", 150000, \",\"), \",\"))", in, "more than 100000 values");
    expect_eval_error("Count(Select($i, [big], Split(\"a,b\", \",\")))", in, "more than 100000 values");
    attr_add(a, "v", 1);
    expect_eval_error("Count([big])", in, "attribute [big] has 100001 values; expressions handle at most 100000");
    attrs_free(in);
}

static void test_limit_steps(void **s)
{
    (void)s;
    attrs *in = attrs_new();
    /* cheap in memory, expensive in steps: a 100-term condition over 100,000 values */
    char *src = xmalloc(4096), *p = src;
    p += sprintf(p, "Count(Where($a, Split(PadLeft(\"\", 99999, \",\"), \",\"), ");
    for (int i = 0; i < 100; i++) p += sprintf(p, "%s$a = \"%d\"", i ? " || " : "", i);
    strcpy(p, "))");
    expect_eval_error(src, in, "exceeded its budget of 10000000 steps");
    /* the same over 1,000 values is well within budget */
    memcpy(strstr(src, "99999"), "00999", 5);
    attr out = {0};
    expr_outcome oc;
    err e = {0};
    assert_int_equal(eval_src(src, in, &oc, &out, &e), 0);
    assert_string_equal(out.vals[0].data, "0");
    h_out_free(&out);
    free(src);
    expect_eval_error("Count(Where($a, Split(PadLeft(\"\", 90000, \",\"), \",\"), "
                      "InStr(PadLeft(\"\", 5000, \"a\"), \"B\", 1, vbTextCompare) > 0))",
                      in, "exceeded its budget");
    attrs_free(in);
}

static void test_limit_memory(void **s)
{
    (void)s;
    attrs *in = attrs_new();
    expect_eval_error("Count(Select($i, Split(PadLeft(\"\", 200, \",\"), \",\"), PadLeft(\"\", 1000000, \"x\")))", in,
                      "needs more than 64 MiB of scratch memory");
    attrs_free(in);
}

/* Deterministic fuzzing: mutated valid expressions and token soup never crash, leak or hang,
   and every failure carries a message. */
static unsigned long long rng = 88172645463325252ULL;
static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static const char *SEEDS[] = {
    "IIF(InStr([proxyAddresses],\"SIP:\")=1,NULL,[proxyAddresses])",
    "Select($item,[otherPhone],Replace($item,\"-\",\"\"))",
    "With($u,Where($i,[m],Left($i,1)=\"a\"),IIF(Count($u)>0,Join($u,\",\"),NULL))",
    "FormatDateTime(DateAdd(\"m\",3,CDate([d])),\"yyyy-MM-dd HH:mm\")",
    "DNComponentRev(CRef([dn]),1,\"DC\") & %Domain.FQDN% & -(1+2*3/4)",
    "StringFromGuid(CGuid(\"{6b29fc40-ca47-1067-b31d-00dd010662da}\")) & ConvertToBase64([g])",
    "Switch([c]=\"a\",PadLeft([c],5,\"0\"),True,ReplaceChars([c],\"a:b,c:\"))",
    "Word([m],2,\" ,\") & Mid([c],2,3) & Split([m],\",\",2) & Item([m],1)",
};
static const char *TOKENS[] = {"(", ")", ",", "[m]", "[c]", "\"x\"", "1", "&HF", "&", "+", "-", "*", "/", "=", "<>",
                               "&&", "||", "IIF(", "Select($i,", "$i", "Where($j,", "With($v,", "$v", "NULL",
                               "Split(", "Join(", "PadLeft(", "Item(", "True", "Error(", "%Domain.FQDN%", "CDate("};

static void fuzz_one(const char *src, attrs *in)
{
    err e = {0};
    expr *x = NULL;
    int rc = expr_compile(src, &x, &e);
    if (rc < 0) {
        assert_int_equal(rc, ERR_USAGE);
        assert_true(e.msg[0] != '\0');
        return;
    }
    expr_env env = {in, h_lookup, h_param, H_NOW};
    attr out = {0};
    expr_outcome oc;
    rc = expr_eval(x, &env, &out, &oc, &e);
    if (rc < 0) {
        assert_int_equal(rc, ERR_FAIL);
        assert_true(e.msg[0] != '\0');
        assert_int_equal(out.nvals, 0);
    }
    h_out_free(&out);
    expr_free(x);
}

static void test_fuzz(void **s)
{
    (void)s;
    attrs *in = h_attrs("m=a b,c;m=d;c=abc;d=2024-01-31;dn=cn=x,dc=y;g:binary=00ff");
    char buf[600];
    for (int it = 0; it < 6000; it++) {
        const char *seed = SEEDS[next_rand() % (sizeof SEEDS / sizeof SEEDS[0])];
        size_t len = strlen(seed);
        memcpy(buf, seed, len + 1);
        int muts = 1 + (int)(next_rand() % 4);
        for (int m = 0; m < muts; m++) {
            size_t pos = len ? next_rand() % len : 0;
            switch (next_rand() % 4) {
            case 0: buf[pos] = (char)(32 + next_rand() % 95); break;
            case 1: if (len) { memmove(buf + pos, buf + pos + 1, len - pos); len--; } break;
            case 2:
                if (len + 2 < sizeof buf) {
                    memmove(buf + pos + 1, buf + pos, len - pos + 1);
                    buf[pos] = "()[],\"$%&|<>=+-*/"[next_rand() % 17];
                    len++;
                }
                break;
            default: buf[pos] = '\0'; len = pos; break;
            }
            buf[len] = '\0';
        }
        fuzz_one(buf, in);
    }
    for (int it = 0; it < 3000; it++) {
        size_t len = 0;
        int n = 1 + (int)(next_rand() % 14);
        for (int k = 0; k < n; k++) {
            const char *t = TOKENS[next_rand() % (sizeof TOKENS / sizeof TOKENS[0])];
            if (len + strlen(t) + 1 >= sizeof buf) break;
            memcpy(buf + len, t, strlen(t));
            len += strlen(t);
        }
        buf[len] = '\0';
        fuzz_one(buf, in);
    }
    attrs_free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors), cmocka_unit_test(test_long_line_caret),
        cmocka_unit_test(test_limit_source), cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_string), cmocka_unit_test(test_limit_list),
        cmocka_unit_test(test_limit_steps), cmocka_unit_test(test_limit_memory), cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
