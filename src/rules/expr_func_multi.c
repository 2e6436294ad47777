/* Multi-valued functions: Count, Contains, Item, ItemOrNull, Join, RemoveDuplicates, Split. */
#define _GNU_SOURCE 1  /* memmem */
#include "rules/expr_int.h"
#include <string.h>
#include <strings.h>

/* The values of a (whole) argument: a list's items, one scalar, or none. */
static const ev *values(const ev *v, size_t *n)
{
    if (v->kind == EV_LIST) { *n = v->len; return v->u.items; }
    if (EV_IS_NULLISH(v)) { *n = 0; return NULL; }
    *n = 1;
    return v;
}

FN(f_count)
{
    size_t k;
    values(&a[0], &k);
    *out = expr_int((long long)k);
    return 0;
}

static bool contains_ci(const char *s, size_t l, const char *m, size_t ml)
{
    for (size_t i = 0; i + ml <= l; i++) {
        size_t p = i, q = 0;
        bool ok = true;
        while (q < ml) {
            if (p >= l) { ok = false; break; }
            uint32_t x = expr_utf8_next(s, l, &p), y = expr_utf8_next(m, ml, &q);
            if (x != y && expr_lower(x) != expr_lower(y)) { ok = false; break; }
        }
        if (ok) return true;
    }
    return false;
}

FN(f_contains)
{
    size_t k;
    const ev *v = values(&a[0], &k);
    const char *m;
    size_t ml;
    bool ci = false;
    if (IS_NULL(1)) { *out = expr_int(0); return 0; }
    ARG_TEXT(1, m, ml);
    if (na >= 3 && !IS_NULL(2)) {
        const char *t;
        size_t tl;
        ARG_TEXT(2, t, tl);
        if (tl == 15 && strncasecmp(t, "CaseInsensitive", 15) == 0) ci = true;
        else if (tl == 13 && strncasecmp(t, "CaseSensitive", 13) == 0) ci = false;
        else return expr_fail(c, "Contains: the case type must be CaseSensitive or CaseInsensitive");
    }
    for (size_t i = 0; i < k; i++) {
        ev t;
        expr_step(c, 1);
        if (expr_to_text(c, &v[i], &t) < 0) continue;
        bool hit;
        if (v[i].kind == EV_REF)  /* references match whole values only */
            hit = t.len == ml && (ci ? strncasecmp(t.u.s, m, ml) == 0 : memcmp(t.u.s, m, ml) == 0);
        else if (ci) {
            expr_step(c, (long)(t.len * (ml + 1) / 256));
            hit = contains_ci(t.u.s, t.len, m, ml);
        } else
            hit = ml == 0 || memmem(t.u.s, t.len, m, ml) != NULL;
        if (hit) { *out = expr_int((long long)i + 1); return 0; }
    }
    *out = expr_int(0);
    return 0;
}

static int item(ectx *c, const node *n, ev *a, ev *out, bool or_null)
{
    size_t k;
    long long idx;
    const ev *v = values(&a[0], &k);
    if (IS_NULL(1)) {
        if (or_null) RET_NULL();
        return expr_fail(c, "Item: the index is NULL");
    }
    ARG_INT(1, idx);
    if (idx < 1 || (unsigned long long)idx > k) {
        if (or_null) RET_NULL();
        return expr_fail(c, "Item: index %lld is out of range (the attribute has %zu value%s; indexes start at 1)", idx,
                         k, k == 1 ? "" : "s");
    }
    *out = v[idx - 1];
    return 0;
}
FN(f_item) { (void)na; return item(c, n, a, out, false); }
FN(f_itemornull) { (void)na; return item(c, n, a, out, true); }

FN(f_join)
{
    size_t k;
    const ev *v = values(&a[0], &k);
    const char *d = " ";
    size_t dl = 1;
    if (a[0].kind == EV_NULL) RET_NULL();
    if (na >= 2) {
        if (IS_NULL(1)) { d = ""; dl = 0; }
        else ARG_TEXT(1, d, dl);
    }
    expr_sb b;
    expr_sb_init(&b, FNAME);
    for (size_t i = 0; i < k; i++) {
        ev t;
        if (expr_to_text(c, &v[i], &t) < 0)
            return expr_fail(c, "Join: value %zu is %s, not text", i + 1, expr_kind_name(v[i].kind));
        if (i) expr_sb_add(c, &b, d, dl);
        expr_sb_add(c, &b, t.u.s, t.len);
    }
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}

/* Exact-duplicate detection with an open-addressing hash (values of the same kind and bytes). */
static unsigned long long hash_ev(const ev *v)
{
    unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)(EV_IS_TEXT(v) ? EV_STR : v->kind);
    const unsigned char *p;
    size_t len;
    switch (v->kind) {
    case EV_STR: case EV_REF: case EV_BIN: p = (const unsigned char *)v->u.s; len = v->len; break;
    case EV_NUM: p = (const unsigned char *)&v->u; len = sizeof v->u; h ^= v->isint; break;
    case EV_BOOL: p = (const unsigned char *)&v->u.b; len = sizeof v->u.b; break;
    default: p = (const unsigned char *)&v->u.t; len = sizeof v->u.t; break;
    }
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static bool same_exact(const ev *x, const ev *y)
{
    if (EV_IS_TEXT(x) && EV_IS_TEXT(y)) return x->len == y->len && memcmp(x->u.s, y->u.s, x->len) == 0;
    if (x->kind != y->kind) return false;
    switch (x->kind) {
    case EV_BIN: return x->len == y->len && memcmp(x->u.s, y->u.s, x->len) == 0;
    case EV_NUM: return x->isint == y->isint && (x->isint ? x->u.i == y->u.i : x->u.d == y->u.d);
    case EV_BOOL: return x->u.b == y->u.b;
    default: return x->u.t == y->u.t;
    }
}

FN(f_removeduplicates)
{
    size_t k;
    const ev *v = values(&a[0], &k);
    if (a[0].kind == EV_NULL) RET_NULL();
    size_t cap = 16;
    while (cap < k * 2) cap *= 2;
    int *slots = expr_alloc(c, sizeof(int) * cap);
    memset(slots, 0xFF, sizeof(int) * cap);
    expr_lb lb = {0};
    for (size_t i = 0; i < k; i++) {
        expr_step(c, 1 + (long)(v[i].len / 256));
        size_t j = (size_t)hash_ev(&v[i]) & (cap - 1);
        bool dup = false;
        while (slots[j] >= 0) {
            if (same_exact(&lb.items[slots[j]], &v[i])) { dup = true; break; }
            j = (j + 1) & (cap - 1);
        }
        if (dup) continue;
        slots[j] = (int)lb.n;
        expr_lb_push(c, &lb, &v[i]);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

FN(f_split)
{
    const char *s, *d;
    size_t l, dl;
    long long limit = 0;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    if (IS_NULL(1)) return expr_fail(c, "Split: the delimiter must not be NULL");
    ARG_TEXT(1, d, dl);
    if (expr_utf8_count(d, dl) != 1)
        return expr_fail(c, "Split: the delimiter must be exactly one character, not \"%.*s\"", (int)(dl > 20 ? 20 : dl), d);
    if (na >= 3 && !IS_NULL(2)) {
        ARG_INT(2, limit);
        if (limit < 1) return expr_fail(c, "Split: the limit must be 1 or more, not %lld", limit);
    }
    expr_lb lb = {0};
    size_t from = 0;
    for (;;) {
        expr_step(c, 1);
        const char *hit = (limit && (long long)lb.n + 1 >= limit) ? NULL : memmem(s + from, l - from, d, dl);
        size_t e = hit ? (size_t)(hit - s) : l;
        ev piece = expr_str(s + from, e - from);
        expr_lb_push(c, &lb, &piece);
        if (!hit) break;
        from = e + dl;
    }
    expr_lb_finish(&lb, out);
    return 0;
}

static const fndef FNS[] = {
    {"Count", 1, 1, 0, 1, f_count, NULL},
    {"Contains", 2, 3, 0, 1, f_contains, NULL},
    {"Item", 2, 2, 0, 1, f_item, NULL},
    {"ItemOrNull", 2, 2, 0, 1, f_itemornull, NULL},
    {"Join", 1, 2, 0, 1, f_join, NULL},
    {"RemoveDuplicates", 1, 1, 0, 1, f_removeduplicates, NULL},
    {"Split", 2, 3, 0, 0, f_split, NULL},
};

const fndef *expr_fns_multi(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
