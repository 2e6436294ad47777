/* Evaluating attribute flows, and listing the source attributes a rule reads. */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

static void clear_values(attr *out)
{
    for (size_t i = 0; i < out->nvals; i++) free(out->vals[i].data);
    out->nvals = 0;
}

/* A bare [attribute] flow (every direct flow) whose values the evaluator would pass through
   unchanged: text, references and binary keep their bytes and type, an absent or empty attribute
   is NULL. Those are copied here without the evaluator's set-up, for the commonest kind of flow.
   Returns false, having changed nothing in out, for anything else (other types are converted by
   the evaluator, oversized lists fail there). */
static bool copy_attr_ref(const rule_flow *f, const expr_env *env, attr *out, expr_outcome *outcome)
{
    const char *name;
    if (!env || !env->lookup || !out || !outcome || !expr_is_attr_ref(f->x, &name)) return false;
    const attr *a = env->lookup(env->ctx, name);
    if (a && a->nvals > EXPR_MAX_LIST) return false;
    if (a && a->nvals && a->type != AT_STRING && a->type != AT_REFERENCE && a->type != AT_BINARY) return false;
    clear_values(out);
    if (!a || !a->nvals) {
        *outcome = EXPR_NULL;
        return true;
    }
    out->type = a->type;
    if (!out->pool && out->cap < a->nvals) {
        out->vals = xrealloc(out->vals, a->nvals * sizeof(aval));
        out->cap = a->nvals;
    }
    for (size_t i = 0; i < a->nvals; i++) attr_add(out, a->vals[i].data, a->vals[i].len);
    *outcome = EXPR_VALUE;
    return true;
}

int rule_flow_eval(const rule_flow *f, const expr_env *env, attr *out, expr_outcome *outcome, err *e)
{
    if (f->type == RULE_FLOW_CONSTANT) {
        for (size_t i = 0; i < out->nvals; i++) free(out->vals[i].data);
        out->nvals = 0;
        out->type = AT_STRING;
        attr_add_str(out, f->source);
        *outcome = EXPR_VALUE;
        return 0;
    }
    if (!f->x)
        return err_set(e, ERR_USAGE, "flow to '%s' is not compiled; load rules with rule_set_load_json", f->target);
    if (copy_attr_ref(f, env, out, outcome)) return 0;
    int rc = expr_eval(f->x, env, out, outcome, e);
    if (rc < 0) err_prefix(e, "flow to '%s'", f->target);
    return rc;
}

void rule_foreach_source_attr(const rule *r, void (*fn)(void *ctx, const char *name), void *ctx)
{
    for (size_t g = 0; g < r->nscope; g++)
        for (size_t i = 0; i < r->scope[g].n; i++) fn(ctx, r->scope[g].clauses[i].attribute);
    /* Join criteria read the source side: the CS object inbound, the MV object outbound. */
    for (size_t g = 0; g < r->njoin; g++)
        for (size_t i = 0; i < r->join[g].n; i++)
            fn(ctx, r->direction == RULE_INBOUND ? r->join[g].clauses[i].cs_attribute
                                                 : r->join[g].clauses[i].mv_attribute);
    for (size_t i = 0; i < r->nflows; i++)
        if (r->flows[i].x) expr_foreach_ref(r->flows[i].x, fn, ctx);
}
