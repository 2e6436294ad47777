/* Evaluating attribute flows, and listing the source attributes a rule reads. */
#include "rules/rule_int.h"
#include <stdlib.h>
#include <string.h>

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
