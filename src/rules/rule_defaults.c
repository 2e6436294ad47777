/* The default rule sets (ad, ldap inbound; scim outbound): lookup, loading as templates, and
 * instantiation for a named connector. */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *type;
    const char *json;
} defaults[] = {
    {"ad", rule_defaults_ad_json},
    {"ldap", rule_defaults_ldap_json},
    {"scim", rule_defaults_scim_json},
};

const char *rule_defaults_json(const char *type)
{
    for (size_t i = 0; type && i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(defaults[i].type, type) == 0) return defaults[i].json;
    return NULL;
}

static int load_templates(rule_set *out, const char *type, err *e)
{
    const char *json = rule_defaults_json(type);
    if (!json)
        return err_set(e, ERR_USAGE, "there are no default rules for connector type '%s' (defaults exist for ad, ldap "
                       "and scim); write rules for it and load them with `idsync rules import`", type ? type : "");
    char origin[64];
    snprintf(origin, sizeof origin, "defaults/%s.json", type);
    return rule_set_load_json(out, json, origin, e);
}

int rule_set_defaults(rule_set *s, const char *type, err *e)
{
    return load_templates(s, type, e);
}

rule *rule_instantiate(const rule *tmpl, const char *connector_name, int precedence_offset, err *e)
{
    if (!connector_name || !*connector_name || strcmp(connector_name, "*") == 0) {
        err_set(e, ERR_USAGE, "rule '%s': instantiating needs a connector name", tmpl->name);
        return NULL;
    }
    long long p = (long long)tmpl->precedence + precedence_offset;
    if (p < 0 || p > RULE_PRECEDENCE_MAX) {
        err_set(e, ERR_USAGE, "rule '%s': precedence %d + %d is outside 0..%d", tmpl->name, tmpl->precedence,
                precedence_offset, RULE_PRECEDENCE_MAX);
        return NULL;
    }
    if (strlen(tmpl->name) + strlen(connector_name) + 3 > RULE_NAME_MAX) {
        err_set(e, ERR_USAGE, "rule '%s': the name with connector '%s' appended is longer than %d bytes", tmpl->name,
                connector_name, RULE_NAME_MAX);
        return NULL;
    }
    rule *r = rule_clone(tmpl, e);
    if (!r) return NULL;
    char *name = xasprintf("%s (%s)", tmpl->name, connector_name);
    free(r->name);
    r->name = name;
    free(r->connector);
    r->connector = xstrdup(connector_name);
    r->precedence = (int)p;
    return r;
}

/* True if some enabled rule in s has the direction and precedence of some enabled rule in t
   shifted by offset. */
static bool offset_conflicts(const rule_set *s, const rule_set *t, long long offset)
{
    for (size_t i = 0; i < t->n; i++) {
        const rule *a = t->rules[i];
        if (!a->enabled) continue;
        if ((long long)a->precedence + offset > RULE_PRECEDENCE_MAX) return true;
        for (size_t j = 0; j < s->n; j++) {
            const rule *b = s->rules[j];
            if (b->enabled && b->direction == a->direction && b->precedence == a->precedence + offset) return true;
        }
    }
    return false;
}

int rule_set_defaults_for(rule_set *s, const char *type, const char *connector_name, err *e)
{
    int rc = 0;
    rule_set *t = rule_set_new(), *inst = rule_set_new();
    if ((rc = load_templates(t, type, e)) < 0) goto done;
    long long offset = 0;
    while (offset_conflicts(s, t, offset)) {
        offset += 1000;
        if (offset > RULE_PRECEDENCE_MAX) {
            rc = err_set(e, ERR_USAGE, "no free precedence range for the default %s rules of connector '%s'", type,
                         connector_name);
            goto done;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        rule *r = rule_instantiate(t->rules[i], connector_name, (int)offset, e);
        if (!r) {
            rc = e && e->code ? e->code : ERR_FAIL;
            goto done;
        }
        if ((rc = rule_set_add(inst, r, e)) < 0) goto done;
    }
    if ((rc = rule_check_conflicts(s, inst->rules, inst->n, e)) < 0) goto done;
    for (size_t i = 0; i < inst->n; i++) {
        rule_set_add(s, inst->rules[i], e); /* names checked above */
        inst->rules[i] = NULL;
    }
    inst->n = 0;
done:
    rule_set_free(t);
    rule_set_free(inst);
    return rc;
}
