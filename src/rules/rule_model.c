/* The rule model: enum names, constructors/destructors, the rule set container. */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const dir_names[] = {NULL, "inbound", "outbound"};
static const char *const link_names[] = {NULL, "join", "provision"};
static const char *const flow_names[] = {NULL, "direct", "constant", "expression"};
static const char *const op_names[] = {
    NULL, "EQUAL", "NOTEQUAL", "ISNULL", "ISNOTNULL", "STARTSWITH", "NOTSTARTSWITH", "ENDSWITH",
    "NOTENDSWITH", "CONTAINS", "NOTCONTAINS", "ISBITSET", "ISNOTBITSET", "DNSUFFIX", "NOTDNSUFFIX",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int parse_name(const char *const *names, size_t n, const char *s, int *out)
{
    if (!s) return -1;
    for (size_t i = 1; i < n; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return -1;
}

const char *rule_direction_name(rule_direction d)
{
    return (d >= 1 && (size_t)d < NELEM(dir_names)) ? dir_names[d] : "unknown";
}

const char *rule_link_type_name(rule_link_type t)
{
    return (t >= 1 && (size_t)t < NELEM(link_names)) ? link_names[t] : "unknown";
}

const char *rule_scope_op_name(rule_scope_op op)
{
    return (op >= 1 && (size_t)op < NELEM(op_names)) ? op_names[op] : "unknown";
}

const char *rule_flow_type_name(rule_flow_type t)
{
    return (t >= 1 && (size_t)t < NELEM(flow_names)) ? flow_names[t] : "unknown";
}

int rule_direction_parse(const char *s, rule_direction *out)
{
    int v;
    if (parse_name(dir_names, NELEM(dir_names), s, &v) < 0) return -1;
    *out = (rule_direction)v;
    return 0;
}

int rule_link_type_parse(const char *s, rule_link_type *out)
{
    int v;
    if (parse_name(link_names, NELEM(link_names), s, &v) < 0) return -1;
    *out = (rule_link_type)v;
    return 0;
}

int rule_scope_op_parse(const char *s, rule_scope_op *out)
{
    int v;
    if (parse_name(op_names, NELEM(op_names), s, &v) < 0) return -1;
    *out = (rule_scope_op)v;
    return 0;
}

int rule_flow_type_parse(const char *s, rule_flow_type *out)
{
    int v;
    if (parse_name(flow_names, NELEM(flow_names), s, &v) < 0) return -1;
    *out = (rule_flow_type)v;
    return 0;
}

bool rule_attr_name_valid(const char *name)
{
    /* Letters, digits, '-', '_', '.' (dotted SCIM paths); must start with a letter or digit
       (AD and LDAP names start with a letter; OIDs with a digit). */
    if (!name || !*name || strlen(name) > 256) return false;
    const unsigned char *p = (const unsigned char *)name;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) return false;
    for (; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '-' || *p == '_' || *p == '.';
        if (!ok) return false;
    }
    return true;
}

rule_set *rule_set_new(void)
{
    return xcalloc(1, sizeof(rule_set));
}

void rule_free(rule *r)
{
    if (!r) return;
    free(r->name);
    free(r->description);
    free(r->connector);
    free(r->connector_type);
    free(r->cs_object_type);
    free(r->mv_object_type);
    free(r->origin);
    for (size_t g = 0; g < r->nscope; g++) {
        for (size_t i = 0; i < r->scope[g].n; i++) {
            free(r->scope[g].clauses[i].attribute);
            free(r->scope[g].clauses[i].value);
        }
        free(r->scope[g].clauses);
    }
    free(r->scope);
    for (size_t g = 0; g < r->njoin; g++) {
        for (size_t i = 0; i < r->join[g].n; i++) {
            free(r->join[g].clauses[i].cs_attribute);
            free(r->join[g].clauses[i].mv_attribute);
        }
        free(r->join[g].clauses);
    }
    free(r->join);
    for (size_t i = 0; i < r->nflows; i++) {
        free(r->flows[i].source);
        free(r->flows[i].target);
        expr_free(r->flows[i].x);
    }
    free(r->flows);
    free(r);
}

void rule_set_free(rule_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) rule_free(s->rules[i]);
    free(s->rules);
    free(s);
}

rule *rule_clone(const rule *r, err *e)
{
    rule *out = NULL;
    json_t *j = rule_to_json(r);
    if (rule_from_json(j, 1, r->origin, &out, e) < 0) out = NULL;
    json_decref(j);
    return out;
}

rule *rule_set_find(const rule_set *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n; i++)
        if (strcmp(s->rules[i]->name, name) == 0) return s->rules[i];
    return NULL;
}

int rule_set_add(rule_set *s, rule *r, err *e)
{
    if (rule_set_find(s, r->name)) {
        int rc = err_set(e, ERR_EXISTS, "rule '%s' exists already; rename the new rule or remove the old one",
                         r->name);
        rule_free(r);
        return rc;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->rules = xrealloc(s->rules, s->cap * sizeof(rule *));
    }
    s->rules[s->n++] = r;
    return 0;
}

bool rule_set_remove(rule_set *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n; i++) {
        if (strcmp(s->rules[i]->name, name) == 0) {
            rule_free(s->rules[i]);
            memmove(&s->rules[i], &s->rules[i + 1], (s->n - i - 1) * sizeof(rule *));
            s->n--;
            return true;
        }
    }
    return false;
}

static int cmp_rule(const void *a, const void *b)
{
    const rule *x = *(rule *const *)a, *y = *(rule *const *)b;
    if (x->direction != y->direction) return x->direction < y->direction ? -1 : 1;
    if (x->precedence != y->precedence) return x->precedence < y->precedence ? -1 : 1;
    return strcmp(x->name, y->name);
}

void rule_set_sort(rule_set *s)
{
    if (s && s->n > 1) qsort(s->rules, s->n, sizeof(rule *), cmp_rule);
}

bool rule_applies_to(const rule *r, const char *connector_name, const char *connector_type,
                     const char *object_type)
{
    if (!r->enabled) return false;
    if (strcmp(r->connector_type, "*") != 0 && (!connector_type || strcasecmp(r->connector_type, connector_type) != 0))
        return false;
    if (strcmp(r->connector, "*") != 0 && (!connector_name || strcmp(r->connector, connector_name) != 0))
        return false;
    const char *want = r->direction == RULE_INBOUND ? r->cs_object_type : r->mv_object_type;
    return object_type && strcasecmp(want, object_type) == 0;
}

/* Conflicts among enabled rules: names unique over all rules, precedence unique per direction.
   Quadratic, but rule sets hold tens to a few hundred rules. */
int rule_check_conflicts(const rule_set *s, rule *const *extra, size_t nextra, err *e)
{
    size_t sn = s ? s->n : 0, n = sn + nextra;
    for (size_t i = 0; i < n; i++) {
        const rule *a = i < sn ? s->rules[i] : extra[i - sn];
        for (size_t j = i + 1; j < n; j++) {
            const rule *b = j < sn ? s->rules[j] : extra[j - sn];
            if (strcmp(a->name, b->name) == 0)
                return err_set(e, ERR_EXISTS, "rule '%s' is defined twice; rule names must be unique", a->name);
            if (a->enabled && b->enabled && a->direction == b->direction && a->precedence == b->precedence)
                return err_set(e, ERR_USAGE,
                               "rules '%s' and '%s' are both %s with precedence %d; give one of them another "
                               "precedence (or disable one)",
                               a->name, b->name, rule_direction_name(a->direction), a->precedence);
        }
    }
    return 0;
}

int rule_validate_set(const rule_set *s, err *e)
{
    for (size_t i = 0; i < s->n; i++) {
        int rc = rule_validate(s->rules[i], e);
        if (rc < 0) return rc;
    }
    return rule_check_conflicts(s, NULL, 0, e);
}
