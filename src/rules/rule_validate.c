/* Semantic checks of one rule (fields present and well formed, flows compiled, no duplicate
 * targets); set-level checks (names, precedence) are in rule_model.c. */
#include "rules/rule_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int rule_parse_mask(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || !*s) return -1;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (!s[2]) return -1;
        unsigned long long u = strtoull(s + 2, &end, 16);
        if (errno || *end || s[2] == '-' || s[2] == '+') return -1;
        *out = (long long)u;
    } else {
        long long v = strtoll(s, &end, 10);
        if (errno || *end) return -1;
        *out = v;
    }
    return *out == 0 ? -1 : 0;
}

static bool text_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

static const char *const connector_types[] = {"ad", "ldap", "scim", "ldif", "*", NULL};

static int check_scope(const rule *r, const char *who, err *e)
{
    for (size_t g = 0; g < r->nscope; g++) {
        const rule_scope_group *grp = &r->scope[g];
        if (grp->n == 0)
            return err_set(e, ERR_USAGE, "%s: scope group %zu is empty (it would match everything); remove it", who,
                           g + 1);
        for (size_t i = 0; i < grp->n; i++) {
            const rule_scope_clause *c = &grp->clauses[i];
            if (!rule_attr_name_valid(c->attribute))
                return err_set(e, ERR_USAGE, "%s: scope group %zu, clause %zu: \"%s\" is not a valid attribute name",
                               who, g + 1, i + 1, c->attribute ? c->attribute : "");
            if (c->op < RULE_OP_EQUAL || c->op > RULE_OP_NOTDNSUFFIX)
                return err_set(e, ERR_USAGE, "%s: scope group %zu, clause %zu: unknown operator", who, g + 1, i + 1);
            bool wants_value = c->op != RULE_OP_ISNULL && c->op != RULE_OP_ISNOTNULL;
            if (wants_value && !c->value)
                return err_set(e, ERR_USAGE, "%s: scope group %zu, clause %zu: operator %s needs a \"value\"", who,
                               g + 1, i + 1, rule_scope_op_name(c->op));
            if (!wants_value && c->value)
                return err_set(e, ERR_USAGE, "%s: scope group %zu, clause %zu: operator %s takes no \"value\"", who,
                               g + 1, i + 1, rule_scope_op_name(c->op));
            long long m;
            if ((c->op == RULE_OP_ISBITSET || c->op == RULE_OP_ISNOTBITSET) &&
                (rule_parse_mask(c->value, &m) < 0 || m != c->mask))
                return err_set(e, ERR_USAGE,
                               "%s: scope group %zu, clause %zu: %s value \"%s\" is not a non-zero integer", who,
                               g + 1, i + 1, rule_scope_op_name(c->op), c->value);
            if ((c->op == RULE_OP_DNSUFFIX || c->op == RULE_OP_NOTDNSUFFIX) && !text_ok(c->value, 4096))
                return err_set(e, ERR_USAGE, "%s: scope group %zu, clause %zu: %s needs a DN as \"value\"", who, g + 1,
                               i + 1, rule_scope_op_name(c->op));
        }
    }
    return 0;
}

static int check_join(const rule *r, const char *who, err *e)
{
    for (size_t g = 0; g < r->njoin; g++) {
        if (r->join[g].n == 0) return err_set(e, ERR_USAGE, "%s: join group %zu is empty; remove it", who, g + 1);
        for (size_t i = 0; i < r->join[g].n; i++) {
            const rule_join_clause *c = &r->join[g].clauses[i];
            if (!rule_attr_name_valid(c->cs_attribute))
                return err_set(e, ERR_USAGE, "%s: join group %zu, clause %zu: cs_attribute \"%s\" is not a valid "
                               "attribute name", who, g + 1, i + 1, c->cs_attribute ? c->cs_attribute : "");
            if (!rule_attr_name_valid(c->mv_attribute))
                return err_set(e, ERR_USAGE, "%s: join group %zu, clause %zu: mv_attribute \"%s\" is not a valid "
                               "attribute name", who, g + 1, i + 1, c->mv_attribute ? c->mv_attribute : "");
        }
    }
    return 0;
}

static int check_flows(const rule *r, const char *who, err *e)
{
    for (size_t i = 0; i < r->nflows; i++) {
        const rule_flow *f = &r->flows[i];
        if (f->type < RULE_FLOW_DIRECT || f->type > RULE_FLOW_EXPRESSION)
            return err_set(e, ERR_USAGE, "%s: flow %zu: unknown type", who, i + 1);
        if (!rule_attr_name_valid(f->target))
            return err_set(e, ERR_USAGE, "%s: flow %zu: target \"%s\" is not a valid attribute name", who, i + 1,
                           f->target ? f->target : "");
        if (!f->source) return err_set(e, ERR_USAGE, "%s: flow %zu: missing source", who, i + 1);
        if (f->type == RULE_FLOW_DIRECT && !rule_attr_name_valid(f->source))
            return err_set(e, ERR_USAGE, "%s: flow %zu: source \"%s\" is not a valid attribute name", who, i + 1,
                           f->source);
        if (f->type != RULE_FLOW_CONSTANT && !f->x)
            return err_set(e, ERR_USAGE, "%s: flow %zu: %s flow was not compiled (load rules with rule_set_load_json)",
                           who, i + 1, rule_flow_type_name(f->type));
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(r->flows[j].target, f->target) == 0)
                return err_set(e, ERR_USAGE, "%s: flows %zu and %zu both set \"%s\"; a rule may set an attribute once",
                               who, j + 1, i + 1, f->target);
    }
    return 0;
}

int rule_validate(const rule *r, err *e)
{
    char who[RULE_NAME_MAX + 16];
    if (!text_ok(r->name, RULE_NAME_MAX))
        return err_set(e, ERR_USAGE, "rule '%.*s': the name must be 1 to %d characters without control characters",
                       RULE_NAME_MAX, r->name ? r->name : "", RULE_NAME_MAX);
    snprintf(who, sizeof who, "rule '%s'", r->name);
    if (r->direction != RULE_INBOUND && r->direction != RULE_OUTBOUND)
        return err_set(e, ERR_USAGE, "%s: field \"direction\" must be inbound or outbound", who);
    if (r->link_type != RULE_LINK_JOIN && r->link_type != RULE_LINK_PROVISION)
        return err_set(e, ERR_USAGE, "%s: field \"link_type\" must be join or provision", who);
    if (!text_ok(r->connector, RULE_NAME_MAX))
        return err_set(e, ERR_USAGE, "%s: field \"connector\" must name a connector or be \"*\"", who);
    bool type_ok = false;
    for (size_t i = 0; r->connector_type && connector_types[i]; i++)
        if (strcmp(r->connector_type, connector_types[i]) == 0) type_ok = true;
    if (!type_ok)
        return err_set(e, ERR_USAGE, "%s: field \"connector_type\": \"%s\" is not ad, ldap, scim, ldif or *", who,
                       r->connector_type ? r->connector_type : "");
    if (!rule_attr_name_valid(r->cs_object_type))
        return err_set(e, ERR_USAGE, "%s: field \"cs_object_type\": \"%s\" is not a valid object type", who,
                       r->cs_object_type ? r->cs_object_type : "");
    if (!rule_attr_name_valid(r->mv_object_type))
        return err_set(e, ERR_USAGE, "%s: field \"mv_object_type\": \"%s\" is not a valid object type", who,
                       r->mv_object_type ? r->mv_object_type : "");
    if (r->precedence < 0 || r->precedence > RULE_PRECEDENCE_MAX)
        return err_set(e, ERR_USAGE, "%s: field \"precedence\" must be from 0 to %d", who, RULE_PRECEDENCE_MAX);
    int rc;
    if ((rc = check_scope(r, who, e)) < 0) return rc;
    if ((rc = check_join(r, who, e)) < 0) return rc;
    return check_flows(r, who, e);
}
