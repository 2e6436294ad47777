/* Program-flow functions: IIF, Switch, Select, Where, With, Coalesce (lazy arguments) and Error. */
#include "rules/expr_int.h"
#include <string.h>

/* IIF over a multi-valued condition: value i of the result comes from the chosen branch's value i
   (or its single value); NULL drops the value. This is how Entra's documented
   IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses]) removes values. */
static int iif_list(ectx *c, const node *n, const ev *cond, ev *out)
{
    ev br[2];
    bool have[2] = {false, false};
    expr_lb lb = {0};
    int rc;
    for (size_t i = 0; i < cond->len; i++) {
        int t;
        expr_step(c, 1);
        if ((rc = expr_truth_checked(c, "IIF", &cond->u.items[i], &t)) < 0) return rc;
        int k = t ? 0 : 1;
        if (!have[k]) {
            if ((rc = expr_eval_node(c, n->args[1 + k], &br[k])) < 0) return rc;
            if (EV_IS_SPECIAL(&br[k])) { *out = br[k]; return 0; }
            if (br[k].kind == EV_LIST && br[k].len != 1 && br[k].len != cond->len && br[k].len != 0)
                return expr_fail(c, "IIF: the condition has %zu values but the %s value has %zu", cond->len,
                                 k ? "false" : "true", br[k].len);
            have[k] = true;
        }
        const ev *v = &br[k];
        if (v->kind == EV_LIST) {
            if (v->len == 0) continue;
            v = v->len == 1 ? &v->u.items[0] : &v->u.items[i];
        }
        expr_lb_push(c, &lb, v);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

LAZY(f_iif)
{
    ev cond;
    int rc, t;
    if ((rc = expr_eval_node(c, n->args[0], &cond)) < 0) return rc;
    if (EV_IS_SPECIAL(&cond)) { *out = cond; return 0; }
    if (cond.kind == EV_LIST && cond.len > 1) return iif_list(c, n, &cond, out);
    if ((rc = expr_truth_checked(c, "IIF", &cond, &t)) < 0) return rc;
    return expr_eval_node(c, n->args[t ? 1 : 2], out);
}

LAZY(f_switch)
{
    int rc, t;
    for (int i = 0; i + 1 < n->nargs; i += 2) {
        ev cond;
        if ((rc = expr_eval_node(c, n->args[i], &cond)) < 0) return rc;
        if (EV_IS_SPECIAL(&cond)) { *out = cond; return 0; }
        if ((rc = expr_truth_checked(c, "Switch", &cond, &t)) < 0) return rc;
        if (t) return expr_eval_node(c, n->args[i + 1], out);
    }
    RET_NULL();
}

LAZY(f_with)
{
    int rc;
    ev v;
    if ((rc = expr_eval_node(c, n->args[1], &v)) < 0) return rc;
    c->vars[n->args[0]->slot] = v;
    return expr_eval_node(c, n->args[2], out);
}

/* Values of the source of Select/Where: a list, one value, or none. */
static int source_of(ectx *c, const node *n, ev *src, const ev **items, size_t *count)
{
    int rc = expr_eval_node(c, n->args[1], src);
    if (rc < 0) return rc;
    if (src->kind == EV_LIST) { *items = src->u.items; *count = src->len; }
    else if (EV_IS_NULLISH(src)) { *items = NULL; *count = 0; }
    else { *items = src; *count = 1; }
    return 0;
}

LAZY(f_where)
{
    ev src;
    const ev *items;
    size_t cnt;
    int rc, t;
    if ((rc = source_of(c, n, &src, &items, &cnt)) < 0) return rc;
    if (EV_IS_SPECIAL(&src)) { *out = src; return 0; }
    if (src.kind == EV_NULL) RET_NULL();
    expr_lb lb = {0};
    int slot = n->args[0]->slot;
    for (size_t i = 0; i < cnt; i++) {
        ev cond;
        expr_step(c, 1);
        c->vars[slot] = items[i];
        if ((rc = expr_eval_node(c, n->args[2], &cond)) < 0) return rc;
        if (EV_IS_SPECIAL(&cond)) { *out = cond; return 0; }
        if ((rc = expr_truth_checked(c, "Where", &cond, &t)) < 0) return rc;
        if (t) expr_lb_push(c, &lb, &items[i]);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

LAZY(f_select)
{
    ev src;
    const ev *items;
    size_t cnt;
    int rc;
    if ((rc = source_of(c, n, &src, &items, &cnt)) < 0) return rc;
    if (EV_IS_SPECIAL(&src)) { *out = src; return 0; }
    if (src.kind == EV_NULL) RET_NULL();
    expr_lb lb = {0};
    int slot = n->args[0]->slot;
    for (size_t i = 0; i < cnt; i++) {
        ev r;
        expr_step(c, 1);
        c->vars[slot] = items[i];
        if ((rc = expr_eval_node(c, n->args[2], &r)) < 0) return rc;
        if (EV_IS_SPECIAL(&r)) { *out = r; return 0; }
        expr_lb_push(c, &lb, &r);
    }
    expr_lb_finish(&lb, out);
    return 0;
}

/* Coalesce (extension, as in Entra cloud sync): the first argument that is present. */
LAZY(f_coalesce)
{
    int rc;
    for (int i = 0; i < n->nargs; i++) {
        ev v;
        if ((rc = expr_eval_node(c, n->args[i], &v)) < 0) return rc;
        if (EV_IS_SPECIAL(&v)) { *out = v; return 0; }
        if (v.kind == EV_NULL || (v.kind == EV_LIST && v.len == 0)) continue;
        if (EV_IS_TEXT(&v) && v.len == 0) continue;
        *out = v;
        return 0;
    }
    RET_NULL();
}

FN(f_error)
{
    if (IS_NULL(0)) return expr_fail(c, "Error() was called (no message)");
    const char *s;
    size_t l;
    ARG_TEXT(0, s, l);
    return expr_fail(c, "Error(): %.*s", (int)(l > 900 ? 900 : l), s);
}

static const fndef FNS[] = {
    {"IIF", 3, 3, 0, 0, NULL, f_iif},
    {"Switch", 2, -1, 0, 0, NULL, f_switch},
    {"With", 3, 3, FN_BIND, 0, NULL, f_with},
    {"Where", 3, 3, FN_BIND, 0, NULL, f_where},
    {"Select", 3, 3, FN_BIND, 0, NULL, f_select},
    {"Coalesce", 1, -1, 0, 0, NULL, f_coalesce},
    {"Error", 1, 1, 0, 0, f_error, NULL},
};

const fndef *expr_fns_flow(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
