/* Developer tool: compiles and evaluates one expression against attributes given on the command
 * line, or benchmarks it (--bench N evaluates it N times).
 * Usage: tool_expr_eval [--now EPOCH] [--bench N] [-p Name=value]... EXPR [attr[:type]=value]...
 *   type is string (default), integer, boolean, binary (value in hex), datetime, reference;
 *   repeat an attribute to give it several values. */
#include "rules/expr.h"
#include "util/util_alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct ctx { attrs *a; char **pnames, **pvals; int np; } ctx;

static const attr *lookup(void *p, const char *name) { return attrs_get(((ctx *)p)->a, name); }
static const char *param(void *p, const char *name)
{
    ctx *c = p;
    for (int i = 0; i < c->np; i++) if (strcasecmp(c->pnames[i], name) == 0) return c->pvals[i];
    return NULL;
}

static int add_attr(attrs *s, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq) return -1;
    char *name = xstrndup(arg, (size_t)(eq - arg));
    attr_type t = AT_STRING;
    char *colon = strchr(name, ':');
    if (colon) {
        *colon = '\0';
        int r = attr_type_parse(colon + 1, &t);
        if (r < 0) { free(name); return -1; }
    }
    attr *a = attrs_get_or_add(s, name, t);
    const char *v = eq + 1;
    if (t == AT_BINARY) {
        size_t n = strlen(v) / 2;
        unsigned char *b = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++) { unsigned x; sscanf(v + 2 * i, "%2x", &x); b[i] = (unsigned char)x; }
        attr_add(a, b, n);
        free(b);
    } else {
        attr_add_str(a, v);
    }
    free(name);
    return 0;
}

int main(int argc, char **argv)
{
    ctx c = {attrs_new(), NULL, NULL, 0};
    c.pnames = xcalloc((size_t)argc, sizeof(char *));
    c.pvals = xcalloc((size_t)argc, sizeof(char *));
    long long now = (long long)time(NULL), bench = 0;
    int i = 1, rc = 1;
    for (; i < argc && (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-p") == 0); i++) {
        if (!strcmp(argv[i], "--now") && i + 1 < argc) now = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--bench") && i + 1 < argc) bench = atoll(argv[++i]);
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq) { fprintf(stderr, "-p needs Name=value\n"); return 2; }
            c.pnames[c.np] = xstrndup(argv[i], (size_t)(eq - argv[i]));
            c.pvals[c.np++] = eq + 1;
        } else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [--now EPOCH] [--bench N] [-p Name=value]... EXPR [attr[:type]=value]...\n", argv[0]);
        return 2;
    }
    const char *src = argv[i++];
    for (; i < argc; i++)
        if (add_attr(c.a, argv[i]) < 0) { fprintf(stderr, "bad attribute argument %s\n", argv[i]); return 2; }
    err e = {0};
    expr *x = NULL;
    if (expr_compile(src, &x, &e) < 0) { fprintf(stderr, "compile error: %s\n", e.msg); goto done; }
    expr_env env = {&c, lookup, param, now};
    attr out = {0};
    out.name = xstrdup("result");
    expr_outcome oc;
    if (bench > 0) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long long k = 0; k < bench; k++)
            if (expr_eval(x, &env, &out, &oc, &e) < 0) { fprintf(stderr, "error: %s\n", e.msg); goto done2; }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%lld evaluations in %.3f s (%.0f ns each)\n", bench, s, s * 1e9 / (double)bench);
    }
    if (expr_eval(x, &env, &out, &oc, &e) < 0) { fprintf(stderr, "error: %s\n", e.msg); goto done2; }
    static const char *names[] = {"value", "null", "authoritative-null", "ignore"};
    printf("outcome: %s\n", names[oc]);
    if (oc == EXPR_VALUE) {
        printf("type: %s\n", attr_type_name(out.type));
        for (size_t k = 0; k < out.nvals; k++) {
            if (out.type == AT_BINARY) {
                printf("value: ");
                for (size_t j = 0; j < out.vals[k].len; j++) printf("%02x", (unsigned char)out.vals[k].data[j]);
                printf("\n");
            } else {
                printf("value: %s\n", out.vals[k].data);
            }
        }
    }
    rc = 0;
done2:
    for (size_t k = 0; k < out.nvals; k++) free(out.vals[k].data);
    free(out.vals);
    free(out.name);
done:
    expr_free(x);
    attrs_free(c.a);
    for (int k = 0; k < c.np; k++) free(c.pnames[k]);
    free(c.pnames);
    free(c.pvals);
    return rc;
}
