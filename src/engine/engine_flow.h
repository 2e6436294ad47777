/* Evaluating the attribute flows of several rules into one desired attribute set, with
 * precedence (lower wins), merge, apply-once, NULL / AuthoritativeNull / IgnoreThisFlow. */
#ifndef IDSYNC_ENGINE_FLOW_H
#define IDSYNC_ENGINE_FLOW_H
#include "rules/rule.h"
#include "util/util_attrs.h"

/* What a flow source looks like to the expression language: an attribute set plus the DN. */
typedef struct flow_source {
    const attrs *a;
    const char *dn;          /* may be NULL */
    attr dn_attr;            /* scratch for [dn] lookups */
    char *domain_fqdn;       /* %Domain.FQDN% derived from the DN's DC= components (owned) */
    char *domain_netbios;
    bool domain_done;        /* domain_* derived: lazily, on the first %Domain.*% read (few flows use them) */
} flow_source;

void flow_source_init(flow_source *fs, const attrs *a, const char *dn);
void flow_source_clear(flow_source *fs);
void flow_env(flow_source *fs, expr_env *env);

/* One contribution to a target attribute. */
typedef struct flow_contrib {
    const rule *r;
    const char *connector;   /* contributing connector name (for lineage) */
    const rule_flow *f;
    expr_outcome outcome;
    attr value;              /* owned values; name unused */
} flow_contrib;

typedef struct flow_result {
    size_t n, cap;
    flow_contrib *c;
} flow_result;

/* Evaluates every flow of r against fs, appending contributions. Evaluation errors are
   returned with the rule and flow named (the object gets a sync error). */
int flow_eval_rule(const rule *r, const char *connector, flow_source *fs, flow_result *res, err *e);
/* Resolves contributions into out (attributes set by precedence); lineage (may be NULL) gets
   "connector|rule" per attribute; previous (may be NULL) is the current state, for apply-once.
   managed (may be NULL) receives the name of every target attribute a flow wrote or cleared.
   Values move from res into out (res is only fit for flow_result_clear afterwards); an empty
   lineage or managed set becomes pooled (attrs_use_pool): they are filled name by name. */
void flow_resolve(flow_result *res, const attrs *previous, attrs *out, attrs *lineage, attrs *managed);
void flow_result_clear(flow_result *res);
#endif
