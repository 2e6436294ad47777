/* Precedence resolution of attribute flows. */
#include "engine/engine_flow.h"
#include "util/util_alloc.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* "dn" or "distinguishedName": the first-byte test spares the comparisons for every
   attribute a flow reads that the object does not have. */
static bool is_dn_name(const char *name)
{
    if ((name[0] | 0x20) != 'd') return false;
    return attr_name_eq(name, "dn") || attr_name_eq(name, "distinguishedName");
}

static const attr *src_lookup(void *ctx, const char *name)
{
    flow_source *fs = ctx;
    const attr *a = attrs_get(fs->a, name);
    if (a) return a;
    if (fs->dn && is_dn_name(name)) {
        if (!fs->dn_attr.nvals) attr_add_str(&fs->dn_attr, fs->dn);
        return &fs->dn_attr;
    }
    return NULL;
}

/* DC=example,DC=test -> example.test; NetBIOS = first label upper-cased. */
static void derive_domain(flow_source *fs)
{
    fs->domain_done = true;
    if (!fs->dn) return;
    buf b = BUF_INIT;
    const char *p = fs->dn;
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

static const char *src_param(void *ctx, const char *name)
{
    flow_source *fs = ctx;
    bool fqdn = attr_name_eq(name, "Domain.FQDN") || attr_name_eq(name, "Forest.FQDN");
    bool netbios = !fqdn && attr_name_eq(name, "Domain.Netbios");
    if (!fqdn && !netbios) return NULL;
    if (!fs->domain_done) derive_domain(fs);
    return fqdn ? fs->domain_fqdn : fs->domain_netbios;
}

void flow_source_init(flow_source *fs, const attrs *a, const char *dn)
{
    memset(fs, 0, sizeof *fs);
    fs->a = a;
    fs->dn = dn;
    fs->dn_attr.name = "dn";
    fs->dn_attr.type = AT_REFERENCE;
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

/* One spare contribution array per thread, reused by the next flow_result: every object's
   result grows to the same few dozen entries, and allocating that per object (a request above
   malloc's small bins) made malloc consolidate its fast bins for every object. */
typedef struct contrib_spare {
    flow_contrib *c;
    size_t cap;
} contrib_spare;
static _Thread_local contrib_spare tl_spare;
static _Thread_local bool tl_spare_registered;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static void spare_destroy(void *p) { free(((contrib_spare *)p)->c); }
static void spare_key_init(void) { (void)pthread_key_create(&spare_key, spare_destroy); }

/* Keeps c (cap entries, owned) as this thread's spare if it is the larger one; frees the other. */
static void spare_put(flow_contrib *c, size_t cap)
{
    if (!c) return;
    if (!tl_spare_registered) {
        pthread_once(&spare_once, spare_key_init);
        (void)pthread_setspecific(spare_key, &tl_spare);
        tl_spare_registered = true;
    }
    if (cap <= tl_spare.cap) {
        free(c);
        return;
    }
    free(tl_spare.c);
    tl_spare.c = c;
    tl_spare.cap = cap;
}

/* Room for one more contribution in res. */
static void result_reserve(flow_result *res)
{
    if (res->n < res->cap) return;
    if (res->cap == 0 && tl_spare.c) {
        res->c = tl_spare.c;
        res->cap = tl_spare.cap;
        tl_spare.c = NULL;
        tl_spare.cap = 0;
        return;
    }
    res->cap = res->cap ? res->cap * 2 : 16;
    res->c = xrealloc(res->c, res->cap * sizeof(flow_contrib));
}

static void contrib_values_free(flow_contrib *c)
{
    for (size_t k = 0; k < c->value.nvals; k++) free(c->value.vals[k].data);
    free(c->value.vals);
    c->value.vals = NULL;
    c->value.nvals = c->value.cap = 0;
}

void flow_result_clear(flow_result *res)
{
    for (size_t i = 0; i < res->n; i++) contrib_values_free(&res->c[i]);
    spare_put(res->c, res->cap);
    memset(res, 0, sizeof *res);
}

int flow_eval_rule(const rule *r, const char *connector, flow_source *fs, flow_result *res, err *e)
{
    expr_env env;
    flow_env(fs, &env);
    for (size_t i = 0; i < r->nflows; i++) {
        const rule_flow *f = &r->flows[i];
        result_reserve(res);
        flow_contrib *c = &res->c[res->n];
        memset(c, 0, sizeof *c);
        c->r = r;
        c->connector = connector;
        c->f = f;
        c->value.name = f->target;
        c->value.type = AT_STRING;
        int rc = rule_flow_eval(f, &env, &c->value, &c->outcome, e);
        if (rc) {
            contrib_values_free(c);
            return err_prefix(e, "rule '%s'", r->name);
        }
        res->n++;
    }
    return 0;
}

static int by_target_then_precedence(const flow_contrib *x, const flow_contrib *y)
{
    int c = attr_name_cmp(x->f->target, y->f->target);
    if (c) return c;
    if (x->r->precedence != y->r->precedence) return x->r->precedence < y->r->precedence ? -1 : 1;
    return 0;
}

/* Stable merge sort of p[0..n) (tmp has n entries). Sorting pointers instead of qsort over the
   contributions themselves spares moving 80-byte entries and a call per comparison; stable,
   like the merge sort glibc's qsort ran, so equal-precedence contributions to one target keep
   their evaluation order. */
static void sort_contribs(flow_contrib **p, flow_contrib **tmp, size_t n)
{
    if (n < 2) return;
    if (n <= 8) {
        for (size_t i = 1; i < n; i++) {
            flow_contrib *x = p[i];
            size_t j = i;
            while (j > 0 && by_target_then_precedence(p[j - 1], x) > 0) {
                p[j] = p[j - 1];
                j--;
            }
            p[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_contribs(p, tmp, h);
    sort_contribs(p + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = by_target_then_precedence(p[j], p[i]) < 0 ? p[j++] : p[i++];
    while (i < h) tmp[k++] = p[i++];
    while (j < n) tmp[k++] = p[j++];
    memcpy(p, tmp, n * sizeof *p);
}

/* Moves src's values into dst (src is left empty): the contribution is dropped after resolving,
   so its malloc'd values become dst's instead of being copied and freed. unique skips (and frees)
   values dst already has, as attr_add_unique would. */
static void take_values(attr *dst, attr *src, bool unique)
{
    if (!unique && dst->nvals == 0 && !dst->pool) {
        free(dst->vals);
        dst->vals = src->vals;
        dst->nvals = src->nvals;
        dst->cap = src->cap;
        src->vals = NULL;
        src->nvals = src->cap = 0;
        return;
    }
    for (size_t v = 0; v < src->nvals; v++) {
        aval *x = &src->vals[v];
        if (unique && attr_has_value(dst, x->data, x->len)) free(x->data);
        else attr_add_owned(dst, x->data, x->len);
    }
    src->nvals = 0;
}

/* Records "connector|rule" as the source of target in lineage. */
static void note_lineage(attrs *lineage, const flow_contrib *c, const char *target, bool merge)
{
    /* built without printf: this runs for every attribute of every object */
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

void flow_resolve(flow_result *res, const attrs *previous, attrs *out, attrs *lineage, attrs *managed)
{
    if (lineage) attrs_use_pool(lineage);
    if (managed) attrs_use_pool(managed);
    flow_contrib *stack[2 * 128], **order = res->n <= 128 ? stack : xmalloc(2 * res->n * sizeof *order);
    for (size_t k = 0; k < res->n; k++) order[k] = &res->c[k];
    sort_contribs(order, order + (res->n <= 128 ? 128 : res->n), res->n);
    size_t i = 0;
    while (i < res->n) {
        size_t j = i;
        while (j < res->n && attr_name_eq(order[j]->f->target, order[i]->f->target)) j++;
        const char *target = order[i]->f->target;
        bool decided = false, merge = false;
        attr *dst = NULL;
        for (size_t k = i; k < j && !decided; k++) {
            flow_contrib *c = order[k];
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
            take_values(dst, &c->value, c->f->merge);
            if (lineage) note_lineage(lineage, c, target, merge);
            if (c->f->merge) merge = true;
            else decided = true;
        }
        if (dst && dst->nvals == 0) attrs_remove(out, target);
        i = j;
    }
    if (order != stack) free(order);
}
