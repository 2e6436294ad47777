/* Precedence resolution of attribute flows. */
#include "engine/engine_flow.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const attr *src_lookup(void *ctx, const char *name)
{
    flow_source *fs = ctx;
    const attr *a = attrs_get(fs->a, name);
    if (a) return a;
    if (fs->dn && (strcasecmp(name, "dn") == 0 || strcasecmp(name, "distinguishedName") == 0)) {
        if (!fs->dn_attr.nvals) attr_add_str(&fs->dn_attr, fs->dn);
        return &fs->dn_attr;
    }
    return NULL;
}

static const char *src_param(void *ctx, const char *name)
{
    flow_source *fs = ctx;
    if (strcasecmp(name, "Domain.FQDN") == 0 || strcasecmp(name, "Forest.FQDN") == 0) return fs->domain_fqdn;
    if (strcasecmp(name, "Domain.Netbios") == 0) return fs->domain_netbios;
    return NULL;
}

void flow_source_init(flow_source *fs, const attrs *a, const char *dn)
{
    memset(fs, 0, sizeof *fs);
    fs->a = a;
    fs->dn = dn;
    fs->dn_attr.name = "dn";
    fs->dn_attr.type = AT_REFERENCE;
    if (!dn) return;
    /* DC=example,DC=test -> example.test; NetBIOS = first label upper-cased. */
    buf b = BUF_INIT;
    const char *p = dn;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (strncasecmp(p, "dc=", 3) == 0) {
            p += 3;
            const char *end = p;
            while (*end && *end != ',') end++;
            if (b.len) buf_putc(&b, '.');
            buf_append(&b, p, (size_t)(end - p));
            p = end;
        } else {
            while (*p && *p != ',') {
                if (*p == '\\' && p[1]) p++;
                p++;
            }
        }
    }
    if (b.len) {
        fs->domain_fqdn = buf_steal(&b, NULL);
        size_t n = strcspn(fs->domain_fqdn, ".");
        fs->domain_netbios = xstrndup(fs->domain_fqdn, n);
        for (char *q = fs->domain_netbios; *q; q++)
            if (*q >= 'a' && *q <= 'z') *q = (char)(*q - 32);
    }
    buf_free(&b);
}

void flow_source_clear(flow_source *fs)
{
    for (size_t i = 0; i < fs->dn_attr.nvals; i++) free(fs->dn_attr.vals[i].data);
    free(fs->dn_attr.vals);
    free(fs->domain_fqdn);
    free(fs->domain_netbios);
    memset(fs, 0, sizeof *fs);
}

void flow_env(flow_source *fs, expr_env *env)
{
    env->ctx = fs;
    env->lookup = src_lookup;
    env->param = src_param;
    env->now = (long long)time(NULL);
}

void flow_result_clear(flow_result *res)
{
    for (size_t i = 0; i < res->n; i++) {
        for (size_t k = 0; k < res->c[i].value.nvals; k++) free(res->c[i].value.vals[k].data);
        free(res->c[i].value.vals);
    }
    free(res->c);
    memset(res, 0, sizeof *res);
}

int flow_eval_rule(const rule *r, const char *connector, flow_source *fs, flow_result *res, err *e)
{
    expr_env env;
    flow_env(fs, &env);
    for (size_t i = 0; i < r->nflows; i++) {
        const rule_flow *f = &r->flows[i];
        if (res->n == res->cap) {
            res->cap = res->cap ? res->cap * 2 : 16;
            res->c = xrealloc(res->c, res->cap * sizeof(flow_contrib));
        }
        flow_contrib *c = &res->c[res->n];
        memset(c, 0, sizeof *c);
        c->r = r;
        c->connector = connector;
        c->f = f;
        c->value.name = f->target;
        c->value.type = AT_STRING;
        int rc = rule_flow_eval(f, &env, &c->value, &c->outcome, e);
        if (rc) {
            for (size_t k = 0; k < c->value.nvals; k++) free(c->value.vals[k].data);
            free(c->value.vals);
            return err_prefix(e, "rule '%s'", r->name);
        }
        res->n++;
    }
    return 0;
}

static int by_target_then_precedence(const void *a, const void *b)
{
    const flow_contrib *x = a, *y = b;
    int c = strcasecmp(x->f->target, y->f->target);
    if (c) return c;
    if (x->r->precedence != y->r->precedence) return x->r->precedence < y->r->precedence ? -1 : 1;
    return 0;
}

void flow_resolve(flow_result *res, const attrs *previous, attrs *out, attrs *lineage, attrs *managed)
{
    qsort(res->c, res->n, sizeof(flow_contrib), by_target_then_precedence);
    size_t i = 0;
    while (i < res->n) {
        size_t j = i;
        while (j < res->n && strcasecmp(res->c[j].f->target, res->c[i].f->target) == 0) j++;
        const char *target = res->c[i].f->target;
        bool decided = false, merge = false;
        attr *dst = NULL;
        for (size_t k = i; k < j && !decided; k++) {
            flow_contrib *c = &res->c[k];
            if (c->outcome == EXPR_IGNORE) continue;
            if (managed) attrs_get_or_add(managed, target, AT_STRING);
            if (c->outcome == EXPR_NULL) continue;
            if (c->f->apply_once && previous) {
                const attr *prev = attrs_get(previous, target);
                if (prev && prev->nvals) {
                    attr *d = attrs_put(out, target, prev->type);
                    for (size_t v = 0; v < prev->nvals; v++) attr_add(d, prev->vals[v].data, prev->vals[v].len);
                    decided = true;
                    continue;
                }
            }
            if (c->outcome == EXPR_AUTH_NULL) {
                if (!merge) attrs_remove(out, target);
                decided = true;
                continue;
            }
            if (!dst) dst = attrs_put(out, target, c->value.type);
            for (size_t v = 0; v < c->value.nvals; v++) {
                if (c->f->merge) attr_add_unique(dst, c->value.vals[v].data, c->value.vals[v].len);
                else attr_add(dst, c->value.vals[v].data, c->value.vals[v].len);
            }
            if (lineage) {
                /* "connector|rule", built without printf: this runs for every attribute of every object */
                const char *cn = c->connector ? c->connector : "";
                size_t cl = strlen(cn), rl = strlen(c->r->name);
                char small[256], *who = cl + rl + 2 <= sizeof small ? small : xmalloc(cl + rl + 2);
                memcpy(who, cn, cl);
                who[cl] = '|';
                memcpy(who + cl + 1, c->r->name, rl + 1);
                attr *l = merge ? attrs_get_or_add(lineage, target, AT_STRING) : attrs_put(lineage, target, AT_STRING);
                attr_add_unique(l, who, cl + 1 + rl);
                if (who != small) free(who);
            }
            if (c->f->merge) merge = true;
            else decided = true;
        }
        if (dst && dst->nvals == 0) attrs_remove(out, target);
        i = j;
    }
}
