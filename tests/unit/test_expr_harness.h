/* Shared helpers of the expression tests: a table-driven runner that builds the input attributes,
 * compiles, evaluates and compares outcome, type and values (or the error text). */
#ifndef IDSYNC_TEST_EXPR_HARNESS_H
#define IDSYNC_TEST_EXPR_HARNESS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "rules/expr.h"
#include "util/util_alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One case. in: attributes "name[:type]=value" separated by ';' (binary values in hex; repeat a
   name for several values). want: values separated by '|' (binary in hex). err: when set, the
   evaluation must fail with a message containing it. */
typedef struct hcase {
    const char *src;
    const char *in;
    int oc;             /* expected expr_outcome when err is NULL */
    const char *type;   /* expected attr type name for EXPR_VALUE, or NULL to skip */
    const char *want;
    const char *err;
} hcase;

#define V(src, in, type, want) {src, in, EXPR_VALUE, type, want, NULL}
#define NUL(src, in) {src, in, EXPR_NULL, NULL, NULL, NULL}
#define ERR(src, in, msg) {src, in, 0, NULL, NULL, msg}

#define H_NOW 1700000000LL  /* 2023-11-14T22:13:20Z */

static inline const attr *h_lookup(void *ctx, const char *name) { return attrs_get((attrs *)ctx, name); }
static inline const char *h_param(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcasecmp(name, "Domain.FQDN")) return "sales.fabrikam.com";
    if (!strcasecmp(name, "Domain.Netbios")) return "FABRIKAMSALES";
    if (!strcasecmp(name, "Domain.LDAP")) return "DC=sales,DC=fabrikam,DC=com";
    if (!strcasecmp(name, "Forest.FQDN")) return "fabrikam.com";
    return NULL;
}

static inline attrs *h_attrs(const char *in)
{
    attrs *s = attrs_new();
    if (!in) return s;
    char *copy = xstrdup(in), *save = NULL;
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        attr_type t = AT_STRING;
        char *colon = strchr(tok, ':');
        if (colon) {
            *colon = '\0';
            assert_int_equal(attr_type_parse(colon + 1, &t), 0);
        }
        attr *a = attrs_get_or_add(s, tok, t);
        if (t == AT_BINARY) {
            size_t n = strlen(eq + 1) / 2;
            unsigned char *b = xmalloc(n + 1);
            for (size_t i = 0; i < n; i++) {
                unsigned x;
                sscanf(eq + 1 + 2 * i, "%2x", &x);
                b[i] = (unsigned char)x;
            }
            attr_add(a, b, n);
            free(b);
        } else {
            attr_add_str(a, eq + 1);
        }
    }
    free(copy);
    return s;
}

static inline void h_out_free(attr *o)
{
    for (size_t i = 0; i < o->nvals; i++) free(o->vals[i].data);
    free(o->vals);
    free(o->name);
    memset(o, 0, sizeof *o);
}

/* The values of out joined with '|' (binary as hex); caller frees. */
static inline char *h_join(const attr *o)
{
    size_t cap = 16;
    for (size_t i = 0; i < o->nvals; i++) cap += o->vals[i].len * 2 + 1;
    char *s = xmalloc(cap), *p = s;
    *p = '\0';
    for (size_t i = 0; i < o->nvals; i++) {
        if (i) *p++ = '|';
        if (o->type == AT_BINARY) {
            for (size_t j = 0; j < o->vals[i].len; j++) p += sprintf(p, "%02x", (unsigned char)o->vals[i].data[j]);
        } else {
            memcpy(p, o->vals[i].data, o->vals[i].len);
            p += o->vals[i].len;
        }
        *p = '\0';
    }
    return s;
}

/* Runs one case; returns 0 if it passed, 1 (after printing why) if not. */
static inline int h_run(const hcase *c)
{
    int bad = 0;
    err e = {0};
    expr *x = NULL;
    attrs *in = h_attrs(c->in);
    attr out = {0};
    out.name = xstrdup("out");
    if (expr_compile(c->src, &x, &e) < 0) {
        print_error("FAIL %s\n  compile error: %s\n", c->src, e.msg);
        bad = 1;
        goto done;
    }
    expr_env env = {in, h_lookup, h_param, H_NOW};
    expr_outcome oc = EXPR_VALUE;
    int rc = expr_eval(x, &env, &out, &oc, &e);
    if (c->err) {
        if (rc == 0) {
            char *got = h_join(&out);
            print_error("FAIL %s\n  expected error containing '%s', got outcome %d '%s'\n", c->src, c->err, oc, got);
            free(got);
            bad = 1;
        } else if (!strstr(e.msg, c->err) || e.code != ERR_FAIL) {
            print_error("FAIL %s\n  expected error containing '%s', got '%s' (code %d)\n", c->src, c->err, e.msg, e.code);
            bad = 1;
        } else if (out.nvals) {
            print_error("FAIL %s\n  error left %zu values in out\n", c->src, out.nvals);
            bad = 1;
        }
        goto done;
    }
    if (rc < 0) {
        print_error("FAIL %s\n  unexpected error: %s\n", c->src, e.msg);
        bad = 1;
        goto done;
    }
    if ((int)oc != c->oc) {
        char *got = h_join(&out);
        print_error("FAIL %s\n  expected outcome %d, got %d ('%s')\n", c->src, c->oc, oc, got);
        free(got);
        bad = 1;
        goto done;
    }
    if (oc != EXPR_VALUE) {
        if (out.nvals) { print_error("FAIL %s\n  outcome %d but out has values\n", c->src, oc); bad = 1; }
        goto done;
    }
    char *got = h_join(&out);
    if (c->want && strcmp(got, c->want) != 0) {
        print_error("FAIL %s\n  expected '%s'\n  got      '%s'\n", c->src, c->want, got);
        bad = 1;
    }
    if (c->type && strcmp(attr_type_name(out.type), c->type) != 0) {
        print_error("FAIL %s\n  expected type %s, got %s ('%s')\n", c->src, c->type, attr_type_name(out.type), got);
        bad = 1;
    }
    free(got);
done:
    h_out_free(&out);
    attrs_free(in);
    expr_free(x);
    return bad;
}

static inline void h_run_table(const hcase *t, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) failed += h_run(&t[i]);
    if (failed) print_error("%d of %zu cases failed\n", failed, n);
    assert_int_equal(failed, 0);
}
#define RUN_TABLE(t) h_run_table(t, sizeof(t) / sizeof((t)[0]))
#endif
