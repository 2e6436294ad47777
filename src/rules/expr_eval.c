/* Evaluator: walks the compiled tree with a per-thread scratch arena (no per-node malloc),
 * applies operators and functions with multi-valued mapping, and writes the result attr. */
#include "rules/expr_int.h"
#include "util/util_alloc.h"
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- failure, memory and work accounting --------------------------------------------------- */
_Noreturn void expr_throw(ectx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
    va_end(ap);
    c->e->code = ERR_FAIL;
    longjmp(c->jb, 1);
}

int expr_fail(ectx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
    va_end(ap);
    c->e->code = ERR_FAIL;
    return ERR_FAIL;
}

void *expr_alloc(ectx *c, size_t n)
{
    void *p = expr_arena_alloc(c->ar, n);
    if (!p) expr_throw(c, "expression evaluation needs more than %d MiB of scratch memory; simplify it",
                       EXPR_MAX_MEMORY / (1024 * 1024));
    return p;
}

void expr_step(ectx *c, long n)
{
    c->steps += n;
    if (c->steps > EXPR_MAX_STEPS)
        expr_throw(c, "expression evaluation exceeded its budget of %ld steps (too many values or nested "
                   "Select/Where); simplify it", (long)EXPR_MAX_STEPS);
}

char *expr_strbuf(ectx *c, const char *fname, size_t len)
{
    if (len > EXPR_MAX_STRING)
        expr_throw(c, "%s: result would be %zu bytes, more than the %d-byte limit for a value", fname, len,
                   EXPR_MAX_STRING);
    expr_step(c, (long)(len / 64));
    char *p = expr_alloc(c, len + 1);
    p[len] = '\0';
    return p;
}

/* ---- builders -------------------------------------------------------------------------------- */
void expr_lb_push(ectx *c, expr_lb *b, const ev *v)
{
    if (v->kind == EV_LIST) {
        for (size_t i = 0; i < v->len; i++) expr_lb_push(c, b, &v->u.items[i]);
        return;
    }
    if (EV_IS_NULLISH(v)) return;
    if (b->n == b->cap) {
        if (b->n >= EXPR_MAX_LIST)
            expr_throw(c, "multi-valued result would have more than %d values; limit it with Where or Split's limit",
                       EXPR_MAX_LIST);
        size_t cap = b->cap ? b->cap * 2 : 8;
        if (cap > EXPR_MAX_LIST) cap = EXPR_MAX_LIST;
        ev *items = expr_alloc(c, sizeof(ev) * cap);
        if (b->n) memcpy(items, b->items, sizeof(ev) * b->n);
        b->items = items;
        b->cap = cap;
    }
    b->items[b->n++] = *v;
}

void expr_lb_finish(expr_lb *b, ev *out)
{
    memset(out, 0, sizeof *out);
    out->kind = EV_LIST;
    out->len = b->n;
    out->u.items = b->items;
}

void expr_sb_init(expr_sb *b, const char *fname)
{
    memset(b, 0, sizeof *b);
    b->fname = fname;
}

void expr_sb_add(ectx *c, expr_sb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t need = b->len + n;
        if (need > EXPR_MAX_STRING)
            expr_throw(c, "%s: result would be more than the %d-byte limit for a value", b->fname, EXPR_MAX_STRING);
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < need) cap *= 2;
        if (cap > EXPR_MAX_STRING) cap = EXPR_MAX_STRING;
        char *q = expr_alloc(c, cap + 1);
        if (b->len) memcpy(q, b->p, b->len);
        b->p = q;
        b->cap = cap;
        expr_step(c, (long)(cap / 256));
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

void expr_sb_addc(ectx *c, expr_sb *b, char ch)
{
    expr_sb_add(c, b, &ch, 1);
}

void expr_sb_add_bytewise(ectx *c, expr_sb *b, const char *p, size_t n)
{
    while (n) {
        /* a full buffer grows on its next byte, as it would for one addc: then fill the rest */
        size_t k = b->len < b->cap ? b->cap - b->len : 1;
        if (k > n) k = n;
        expr_sb_add(c, b, p, k);
        p += k;
        n -= k;
    }
}

void expr_sb_finish(expr_sb *b, ev *out, ev_kind kind)
{
    memset(out, 0, sizeof *out);
    out->kind = (unsigned char)kind;
    out->u.s = b->p ? b->p : "";
    if (b->p) b->p[b->len] = '\0';
    out->len = b->len;
}

/* ---- attribute values ---------------------------------------------------------------------- */
static void value_of(const attr *a, const aval *v, ev *out)
{
    memset(out, 0, sizeof *out);
    switch (a->type) {
    case AT_BINARY:
        out->kind = EV_BIN;
        out->u.s = v->data;
        out->len = v->len;
        return;
    case AT_INTEGER:
        if (expr_parse_num(v->data, v->len, out) == 0) return;
        break;
    case AT_BOOLEAN:
        if (v->len == 4 && strncasecmp(v->data, "TRUE", 4) == 0) { *out = expr_bool(1); return; }
        if (v->len == 5 && strncasecmp(v->data, "FALSE", 5) == 0) { *out = expr_bool(0); return; }
        break;
    case AT_DATETIME: {
        long long t;
        if (expr_date_parse(v->data, v->len, &t) == 0) {
            out->kind = EV_DATE;
            out->u.t = t;
            return;
        }
        break;
    }
    case AT_REFERENCE:
        out->kind = EV_REF;
        out->u.s = v->data;
        out->len = v->len;
        return;
    default:
        break;
    }
    *out = expr_str(v->data, v->len);  /* strings, and values that do not parse as their type */
}

static int eval_attr(ectx *c, const node *n, ev *out)
{
    memset(out, 0, sizeof *out);
    const attr *a = c->env->lookup ? c->env->lookup(c->env->ctx, n->name) : NULL;
    if (!a || a->nvals == 0) return 0;
    if (a->nvals == 1) {
        value_of(a, &a->vals[0], out);
        return 0;
    }
    if (a->nvals > EXPR_MAX_LIST)
        return expr_fail(c, "attribute [%s] has %zu values; expressions handle at most %d", n->name, a->nvals,
                         EXPR_MAX_LIST);
    expr_step(c, (long)a->nvals);
    ev *items = expr_alloc(c, sizeof(ev) * a->nvals);
    for (size_t i = 0; i < a->nvals; i++) value_of(a, &a->vals[i], &items[i]);
    out->kind = EV_LIST;
    out->len = a->nvals;
    out->u.items = items;
    return 0;
}

/* ---- operators ------------------------------------------------------------------------------ */
static int num_of(const ev *v, ev *out)
{
    if (v->kind == EV_NUM) { *out = *v; return 0; }
    if (EV_IS_TEXT(v)) return expr_parse_num(v->u.s, v->len, out);
    return -1;
}

static int arith(ectx *c, int op, const ev *a, const ev *b, ev *out)
{
    ev x, y;
    if (op == OP_ADD && EV_IS_TEXT(a) && EV_IS_TEXT(b)) {
        /* VBA: "+" on two strings concatenates */
        size_t len = a->len + b->len;
        char *d = expr_strbuf(c, "operator +", len);
        memcpy(d, a->u.s, a->len);
        memcpy(d + a->len, b->u.s, b->len);
        *out = expr_str(d, len);
        return 0;
    }
    if (num_of(a, &x) < 0 || num_of(b, &y) < 0) {
        const ev *bad = num_of(a, &x) < 0 ? a : b;
        if (EV_IS_TEXT(bad))
            return expr_fail(c, "operator %s: \"%.*s\" is not a number", expr_op_text(op),
                             (int)(bad->len > 40 ? 40 : bad->len), bad->u.s);
        return expr_fail(c, "operator %s: cannot use %s as a number", expr_op_text(op), expr_kind_name(bad->kind));
    }
    if (x.isint && y.isint) {
        long long r;
        bool ovf = false;
        switch (op) {
        case OP_ADD: ovf = __builtin_add_overflow(x.u.i, y.u.i, &r); break;
        case OP_SUB: ovf = __builtin_sub_overflow(x.u.i, y.u.i, &r); break;
        case OP_MUL: ovf = __builtin_mul_overflow(x.u.i, y.u.i, &r); break;
        default:
            if (y.u.i == 0) return expr_fail(c, "operator /: division by zero");
            if (x.u.i % y.u.i == 0 && !(x.u.i == INT64_MIN && y.u.i == -1)) { r = x.u.i / y.u.i; break; }
            out->kind = EV_NUM;
            out->isint = 0;
            out->u.d = (double)x.u.i / (double)y.u.i;
            return 0;
        }
        if (ovf) return expr_fail(c, "operator %s: 64-bit integer overflow", expr_op_text(op));
        *out = expr_int(r);
        return 0;
    }
    double p = x.isint ? (double)x.u.i : x.u.d, q = y.isint ? (double)y.u.i : y.u.d, r;
    switch (op) {
    case OP_ADD: r = p + q; break;
    case OP_SUB: r = p - q; break;
    case OP_MUL: r = p * q; break;
    default:
        if (q == 0) return expr_fail(c, "operator /: division by zero");
        r = p / q;
        break;
    }
    if (!isfinite(r)) return expr_fail(c, "operator %s: result out of range", expr_op_text(op));
    memset(out, 0, sizeof *out);
    out->kind = EV_NUM;
    out->u.d = r;
    return 0;
}

static int binop_scalar(ectx *c, int op, const ev *a, const ev *b, ev *out)
{
    memset(out, 0, sizeof *out);
    if (EV_IS_SPECIAL(a)) { *out = *a; return 0; }
    if (EV_IS_SPECIAL(b)) { *out = *b; return 0; }
    bool an = a->kind == EV_NULL, bn = b->kind == EV_NULL;
    switch (op) {
    case OP_CONCAT: {
        if (an && bn) return 0;
        ev x = expr_str("", 0), y = expr_str("", 0);
        if ((!an && expr_to_text(c, a, &x) < 0) || (!bn && expr_to_text(c, b, &y) < 0))
            return expr_fail(c, "operator &: cannot join a binary value (convert it with ConvertToBase64 or "
                             "StringFromGuid first)");
        size_t len = x.len + y.len;
        char *d = expr_strbuf(c, "operator &", len);
        memcpy(d, x.u.s, x.len);
        memcpy(d + x.len, y.u.s, y.len);
        *out = expr_str(d, len);
        return 0;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
        if (an || bn) return 0;
        return arith(c, op, a, b, out);
    default: {
        int cmp = 0;
        if (an || bn) {
            bool both = an && bn;
            *out = expr_bool(op == OP_EQ ? both : op == OP_NE ? !both : 0);
            return 0;
        }
        if (expr_compare(a, b, &cmp) < 0) {
            if (op == OP_EQ || op == OP_NE) { *out = expr_bool(op == OP_NE); return 0; }
            return expr_fail(c, "operator %s: cannot order %s and %s", expr_op_text(op), expr_kind_name(a->kind),
                             expr_kind_name(b->kind));
        }
        int r = op == OP_EQ ? cmp == 0 : op == OP_NE ? cmp != 0 : op == OP_LT ? cmp < 0 : op == OP_LE ? cmp <= 0
                : op == OP_GT ? cmp > 0 : cmp >= 0;
        *out = expr_bool(r);
        return 0;
    }
    }
}

static const ev *single(const ev *v)
{
    if (v->kind == EV_LIST && v->len == 1) return &v->u.items[0];
    return v;
}

static int binop(ectx *c, int op, const ev *a0, const ev *b0, ev *out)
{
    static const ev null_ev;
    const ev *a = single(a0), *b = single(b0);
    if (a->kind == EV_LIST && a->len == 0) a = &null_ev;
    if (b->kind == EV_LIST && b->len == 0) b = &null_ev;
    if (a->kind != EV_LIST && b->kind != EV_LIST) return binop_scalar(c, op, a, b, out);
    if (a->kind == EV_LIST && b->kind == EV_LIST)
        return expr_fail(c, "operator %s: both sides are multi-valued (%zu and %zu values); use Select or Join",
                         expr_op_text(op), a->len, b->len);
    const ev *l = a->kind == EV_LIST ? a : b;
    expr_lb lb = {0};
    for (size_t i = 0; i < l->len; i++) {
        ev r;
        expr_step(c, 1);
        int rc = l == a ? binop_scalar(c, op, &l->u.items[i], b, &r) : binop_scalar(c, op, a, &l->u.items[i], &r);
        if (rc < 0) return rc;
        if (EV_IS_SPECIAL(&r)) { *out = r; return 0; }
        expr_lb_push(c, &lb, &r);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

/* Truth for && and ||, IIF, Switch and Where: a list is true when any value is. */
static int truth_of(ectx *c, const char *what, const ev *v, int *t)
{
    if (v->kind == EV_LIST) {
        for (size_t i = 0; i < v->len; i++) {
            int r = expr_truth(&v->u.items[i]);
            if (r < 0) return expr_fail(c, "%s: %s value is not True or False", what, expr_kind_name(v->u.items[i].kind));
            if (r) { *t = 1; return 0; }
        }
        *t = 0;
        return 0;
    }
    int r = expr_truth(v);
    if (r < 0) {
        if (EV_IS_TEXT(v))
            return expr_fail(c, "%s: \"%.*s\" is not True or False", what, (int)(v->len > 40 ? 40 : v->len), v->u.s);
        return expr_fail(c, "%s: %s value is not True or False", what, expr_kind_name(v->kind));
    }
    *t = r;
    return 0;
}

int expr_truth_checked(ectx *c, const char *what, const ev *v, int *t)
{
    return truth_of(c, what, v, t);
}

static int eval_chain(ectx *c, const node *n, ev *out)
{
    int rc;
    ev acc, r;
    if ((rc = expr_eval_node(c, n->args[0], &acc)) < 0) return rc;
    for (int i = 1; i < n->nargs; i++) {
        int op = n->ops[i - 1];
        if (op == OP_AND || op == OP_OR) {
            int t;
            if (EV_IS_SPECIAL(&acc)) { *out = acc; return 0; }
            if ((rc = truth_of(c, expr_op_text(op), &acc, &t)) < 0) return rc;
            if ((op == OP_AND && !t) || (op == OP_OR && t)) { acc = expr_bool(t); continue; }
            if ((rc = expr_eval_node(c, n->args[i], &r)) < 0) return rc;
            if (EV_IS_SPECIAL(&r)) { *out = r; return 0; }
            if ((rc = truth_of(c, expr_op_text(op), &r, &t)) < 0) return rc;
            acc = expr_bool(t);
            continue;
        }
        if ((rc = expr_eval_node(c, n->args[i], &r)) < 0) return rc;
        ev res;
        if ((rc = binop(c, op, &acc, &r, &res)) < 0) return rc;
        acc = res;
    }
    *out = acc;
    return 0;
}

static int neg_scalar(ectx *c, const ev *v, ev *out)
{
    ev x;
    if (EV_IS_NULLISH(v)) { *out = *v; return 0; }
    if (num_of(v, &x) < 0) return expr_fail(c, "operator -: cannot negate %s", expr_kind_name(v->kind));
    if (x.isint) {
        if (x.u.i == INT64_MIN) return expr_fail(c, "operator -: 64-bit integer overflow");
        x.u.i = -x.u.i;
    } else {
        x.u.d = -x.u.d;
    }
    *out = x;
    return 0;
}

static int eval_neg(ectx *c, const node *n, ev *out)
{
    ev v;
    int rc = expr_eval_node(c, n->args[0], &v);
    if (rc < 0) return rc;
    if (v.kind != EV_LIST) return neg_scalar(c, &v, out);
    expr_lb lb = {0};
    for (size_t i = 0; i < v.len; i++) {
        ev r;
        expr_step(c, 1);
        if ((rc = neg_scalar(c, &v.u.items[i], &r)) < 0) return rc;
        expr_lb_push(c, &lb, &r);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

/* ---- function calls -------------------------------------------------------------------------- */
static int eval_call(ectx *c, const node *n, ev *out)
{
    const fndef *fn = n->fn;
    int rc;
    memset(out, 0, sizeof *out);
    if (fn->lazy) return fn->lazy(c, n, out);
    ev stack[8];
    ev *a = n->nargs <= 8 ? stack : expr_alloc(c, sizeof(ev) * (size_t)n->nargs);
    for (int i = 0; i < n->nargs; i++)
        if ((rc = expr_eval_node(c, n->args[i], &a[i])) < 0) return rc;
    int li = -1;
    for (int i = 0; i < n->nargs; i++) {
        if (!(fn->flags & FN_SPECIAL) && EV_IS_SPECIAL(&a[i])) { *out = a[i]; return 0; }
        if (a[i].kind != EV_LIST || (fn->whole & (1u << i))) continue;
        if (a[i].len == 0) { memset(&a[i], 0, sizeof a[i]); continue; }
        if (a[i].len == 1) { a[i] = a[i].u.items[0]; continue; }
        if (li >= 0)
            return expr_fail(c, "%s: arguments %d and %d are both multi-valued; only one may be", fn->name, li + 1, i + 1);
        li = i;
    }
    if (li < 0) return fn->impl(c, n, a, n->nargs, out);
    ev list = a[li];
    expr_lb lb = {0};
    for (size_t k = 0; k < list.len; k++) {
        ev r;
        expr_step(c, 1);
        a[li] = list.u.items[k];
        if ((rc = fn->impl(c, n, a, n->nargs, &r)) < 0) return rc;
        if (EV_IS_SPECIAL(&r)) { *out = r; return 0; }
        expr_lb_push(c, &lb, &r);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

int expr_eval_node(ectx *c, const node *n, ev *out)
{
    expr_step(c, 1);
    switch (n->kind) {
    case N_CONST:
        *out = n->cval;
        return 0;
    case N_ATTR:
        return eval_attr(c, n, out);
    case N_PARAM: {
        const char *v = c->env->param ? c->env->param(c->env->ctx, n->name) : NULL;
        if (!v) return expr_fail(c, "unknown parameter %%%s%% (the connector does not define it)", n->name);
        *out = expr_str(v, strlen(v));
        return 0;
    }
    case N_VAR:
        *out = c->vars[n->slot];
        return 0;
    case N_CHAIN:
        return eval_chain(c, n, out);
    case N_NEG:
        return eval_neg(c, n, out);
    case N_CALL:
        return eval_call(c, n, out);
    }
    return expr_fail(c, "internal error: unknown node kind %d", n->kind);
}

/* ---- result -> attr --------------------------------------------------------------------------- */
static attr_type type_of(int kind, int isint)
{
    switch (kind) {
    case EV_NUM: return isint ? AT_INTEGER : AT_STRING;
    case EV_BOOL: return AT_BOOLEAN;
    case EV_BIN: return AT_BINARY;
    case EV_DATE: return AT_DATETIME;
    case EV_REF: return AT_REFERENCE;
    default: return AT_STRING;
    }
}

static void clear_values(attr *out)
{
    for (size_t i = 0; i < out->nvals; i++) free(out->vals[i].data);
    out->nvals = 0;
}

static void text_for_output(ectx *c, const ev *v, attr_type t, const char **s, size_t *len)
{
    char tmp[40];
    size_t n;
    if (v->kind == EV_BIN || EV_IS_TEXT(v)) { *s = v->u.s; *len = v->len; return; }
    if (v->kind == EV_BOOL) {
        const char *word = t == AT_BOOLEAN ? (v->u.b ? "TRUE" : "FALSE") : (v->u.b ? "True" : "False");
        n = strlen(word);
        memcpy(tmp, word, n + 1);
    } else if (v->kind == EV_NUM) n = expr_fmt_num(v, tmp);
    else n = expr_date_gentime(v->u.t, tmp);
    char *d = expr_alloc(c, n + 1);
    memcpy(d, tmp, n + 1);
    *s = d;
    *len = n;
}

static int emit(ectx *c, const ev *v, attr *out, expr_outcome *oc)
{
    if (v->kind == EV_NULL || (v->kind == EV_LIST && v->len == 0)) { *oc = EXPR_NULL; return 0; }
    if (v->kind == EV_AUTHNULL) { *oc = EXPR_AUTH_NULL; return 0; }
    if (v->kind == EV_IGNORE) { *oc = EXPR_IGNORE; return 0; }
    const ev *items = v->kind == EV_LIST ? v->u.items : v;
    size_t n = v->kind == EV_LIST ? v->len : 1;
    attr_type t = type_of(items[0].kind, items[0].isint);
    for (size_t i = 1; i < n; i++) {
        attr_type ti = type_of(items[i].kind, items[i].isint);
        if (ti != t) {
            if (ti == AT_BINARY || t == AT_BINARY)
                return expr_fail(c, "the result mixes binary and text values; convert them to one type");
            t = AT_STRING;
        }
    }
    const char **s = expr_alloc(c, sizeof(char *) * n);
    size_t *len = expr_alloc(c, sizeof(size_t) * n);
    for (size_t i = 0; i < n; i++) text_for_output(c, &items[i], t, &s[i], &len[i]);
    out->type = t;
    if (!out->pool && out->cap < n) {  /* one allocation for a multi-valued result */
        out->vals = xrealloc(out->vals, n * sizeof(aval));
        out->cap = n;
    }
    for (size_t i = 0; i < n; i++) attr_add(out, s[i], len[i]);
    *oc = EXPR_VALUE;
    return 0;
}

static int run(ectx *c, attr *out, expr_outcome *oc)
{
    if (setjmp(c->jb)) return ERR_FAIL;
    ev v;
    int rc = expr_eval_node(c, c->x->root, &v);
    if (rc < 0) return rc;
    return emit(c, &v, out, oc);
}

/* One scratch arena per thread, reused across evaluations; freed when the thread exits. */
static _Thread_local expr_arena tl_arena;
static _Thread_local int tl_busy;
static _Thread_local int tl_registered;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static void tl_destroy(void *p) { expr_arena_free(p); }
static void tl_init(void) { (void)pthread_key_create(&tl_key, tl_destroy); }

#define KEEP_BYTES (256 * 1024)

int expr_eval(const expr *x, const expr_env *env, attr *out, expr_outcome *outcome, err *e)
{
    err local;
    ectx c;
    expr_arena own = {0};
    expr_outcome oc = EXPR_NULL;
    memset(&c, 0, sizeof c);
    c.e = e ? e : &local;
    if (out) clear_values(out);
    if (outcome) *outcome = EXPR_NULL;
    if (!x || !env || !out || !outcome) return err_set(c.e, ERR_USAGE, "expr_eval: missing expression, environment or output");
    bool use_tl = !tl_busy;
    if (use_tl) {
        if (!tl_registered) {
            pthread_once(&tl_once, tl_init);
            (void)pthread_setspecific(tl_key, &tl_arena);
            tl_registered = 1;
        }
        tl_busy = 1;
        c.ar = &tl_arena;
    } else {
        c.ar = &own;  /* re-entered from a callback: private arena */
    }
    c.ar->limit = EXPR_MAX_MEMORY;
    c.x = x;
    c.env = env;
    if (x->nslots) {
        c.vars = expr_arena_alloc(c.ar, sizeof(ev) * (size_t)x->nslots);
        memset(c.vars, 0, sizeof(ev) * (size_t)x->nslots);
    }
    int rc = run(&c, out, &oc);
    if (rc < 0) {
        clear_values(out);
        if (c.e->code == 0) err_set(c.e, ERR_FAIL, "expression evaluation failed");
    } else {
        *outcome = oc;
    }
    if (use_tl) {
        expr_arena_reset(&tl_arena, KEEP_BYTES);
        tl_busy = 0;
    } else {
        expr_arena_free(&own);
    }
    return rc < 0 ? ERR_FAIL : 0;
}
