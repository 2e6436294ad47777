/* Rules <-> JSON: strict loading (unknown fields rejected, errors naming rule and field),
 * canonical export. */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RULE_FILE_MAX (16 * 1024 * 1024)

static const char *const rule_keys[] = {
    "name", "description", "direction", "connector", "connector_type", "cs_object_type", "mv_object_type",
    "link_type", "precedence", "enabled", "scope", "join", "flows", NULL,
};
static const char *const clause_keys[] = {"attribute", "operator", "value", NULL};
static const char *const join_keys[] = {"cs_attribute", "mv_attribute", "case_sensitive", NULL};
static const char *const flow_keys[] = {"type", "source", "target", "apply_once", "merge", NULL};
static const char *const doc_keys[] = {"version", "rules", NULL};

/* Names the first key of o not in allowed, or NULL. */
static const char *unknown_key(const json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0) ok = true;
        if (!ok) return k;
    }
    return NULL;
}

static void list_keys(char *out, size_t n, const char *const *allowed)
{
    out[0] = '\0';
    for (size_t i = 0; allowed[i]; i++) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", i ? ", " : "", allowed[i]);
    }
}

static int reject_unknown(const json_t *o, const char *const *allowed, const char *what, err *e)
{
    const char *k = unknown_key(o, allowed);
    if (!k) return 0;
    char keys[512];
    list_keys(keys, sizeof keys, allowed);
    return err_set(e, ERR_USAGE, "%s: unknown field \"%s\" (known fields: %s)", what, k, keys);
}

/* Optional string field: *out = copy, or def (copied) when absent; def NULL = required. */
static int get_str(const json_t *o, const char *key, const char *def, const char *what, char **out, err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (!def) return err_set(e, ERR_USAGE, "%s: missing field \"%s\"", what, key);
        *out = xstrdup(def);
        return 0;
    }
    if (!json_is_string(v)) return err_set(e, ERR_USAGE, "%s: field \"%s\" must be a string", what, key);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return err_set(e, ERR_USAGE, "%s: field \"%s\" contains a NUL character", what, key);
    *out = xstrdup(s);
    return 0;
}

static int get_bool(const json_t *o, const char *key, bool def, const char *what, bool *out, err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) return err_set(e, ERR_USAGE, "%s: field \"%s\" must be true or false", what, key);
    *out = json_is_true(v);
    return 0;
}

static int parse_clause(const json_t *c, const char *what, rule_scope_clause *out, err *e)
{
    int rc = 0;
    char *op = NULL;
    if (!json_is_object(c)) return err_set(e, ERR_USAGE, "%s: must be an object {attribute, operator, value}", what);
    if ((rc = reject_unknown(c, clause_keys, what, e)) < 0) goto done;
    if ((rc = get_str(c, "attribute", NULL, what, &out->attribute, e)) < 0) goto done;
    if ((rc = get_str(c, "operator", NULL, what, &op, e)) < 0) goto done;
    if (rule_scope_op_parse(op, &out->op) < 0) {
        rc = err_set(e, ERR_USAGE,
                     "%s: unknown operator \"%s\" (use EQUAL, NOTEQUAL, ISNULL, ISNOTNULL, STARTSWITH, "
                     "NOTSTARTSWITH, ENDSWITH, NOTENDSWITH, CONTAINS, NOTCONTAINS, ISBITSET, ISNOTBITSET, "
                     "DNSUFFIX or NOTDNSUFFIX)",
                     what, op);
        goto done;
    }
    json_t *v = json_object_get(c, "value");
    if (out->op == RULE_OP_ISNULL || out->op == RULE_OP_ISNOTNULL) {
        if (v) {
            rc = err_set(e, ERR_USAGE, "%s: operator %s takes no \"value\"; remove it", what,
                         rule_scope_op_name(out->op));
            goto done;
        }
    } else if ((rc = get_str(c, "value", NULL, what, &out->value, e)) < 0) {
        goto done;
    }
    if ((out->op == RULE_OP_ISBITSET || out->op == RULE_OP_ISNOTBITSET) && rule_parse_mask(out->value, &out->mask) < 0) {
        rc = err_set(e, ERR_USAGE, "%s: %s value \"%s\" is not a non-zero integer (decimal or 0x hex)", what,
                     rule_scope_op_name(out->op), out->value);
        goto done;
    }
done:
    free(op);
    return rc;
}

static int parse_scope(const json_t *arr, rule *r, err *e)
{
    char what[96];
    if (!arr) return 0;
    if (!json_is_array(arr))
        return err_set(e, ERR_USAGE, "field \"scope\" must be an array of groups (arrays of clauses)");
    r->nscope = json_array_size(arr);
    r->scope = xcalloc(r->nscope, sizeof(rule_scope_group));
    for (size_t g = 0; g < r->nscope; g++) {
        json_t *grp = json_array_get(arr, g);
        if (!json_is_array(grp))
            return err_set(e, ERR_USAGE, "scope group %zu: must be an array of clauses", g + 1);
        r->scope[g].n = json_array_size(grp);
        r->scope[g].clauses = xcalloc(r->scope[g].n, sizeof(rule_scope_clause));
        for (size_t i = 0; i < r->scope[g].n; i++) {
            snprintf(what, sizeof what, "scope group %zu, clause %zu", g + 1, i + 1);
            int rc = parse_clause(json_array_get(grp, i), what, &r->scope[g].clauses[i], e);
            if (rc < 0) return rc;
        }
    }
    return 0;
}

static int parse_join(const json_t *arr, rule *r, err *e)
{
    char what[96];
    if (!arr) return 0;
    if (!json_is_array(arr))
        return err_set(e, ERR_USAGE, "field \"join\" must be an array of groups (arrays of clauses)");
    r->njoin = json_array_size(arr);
    r->join = xcalloc(r->njoin, sizeof(rule_join_group));
    for (size_t g = 0; g < r->njoin; g++) {
        json_t *grp = json_array_get(arr, g);
        if (!json_is_array(grp)) return err_set(e, ERR_USAGE, "join group %zu: must be an array of clauses", g + 1);
        r->join[g].n = json_array_size(grp);
        r->join[g].clauses = xcalloc(r->join[g].n, sizeof(rule_join_clause));
        for (size_t i = 0; i < r->join[g].n; i++) {
            json_t *c = json_array_get(grp, i);
            rule_join_clause *jc = &r->join[g].clauses[i];
            int rc;
            snprintf(what, sizeof what, "join group %zu, clause %zu", g + 1, i + 1);
            if (!json_is_object(c))
                return err_set(e, ERR_USAGE, "%s: must be an object {cs_attribute, mv_attribute, case_sensitive}",
                               what);
            if ((rc = reject_unknown(c, join_keys, what, e)) < 0) return rc;
            if ((rc = get_str(c, "cs_attribute", NULL, what, &jc->cs_attribute, e)) < 0) return rc;
            if ((rc = get_str(c, "mv_attribute", NULL, what, &jc->mv_attribute, e)) < 0) return rc;
            if ((rc = get_bool(c, "case_sensitive", false, what, &jc->case_sensitive, e)) < 0) return rc;
        }
    }
    return 0;
}

/* Compiles a flow's expression ("[source]" for direct flows). */
static int compile_flow(rule_flow *f, size_t index, err *e)
{
    if (f->type == RULE_FLOW_CONSTANT) return 0;
    char *src = f->type == RULE_FLOW_DIRECT ? xasprintf("[%s]", f->source) : xstrdup(f->source);
    int rc = expr_compile(src, &f->x, e);
    free(src);
    if (rc < 0) {
        f->x = NULL;
        return err_prefix(e, "flow %zu: %s", index, f->type == RULE_FLOW_DIRECT ? "source" : "expression");
    }
    return 0;
}

static int parse_flows(const json_t *arr, rule *r, err *e)
{
    char what[64];
    if (!arr) return 0;
    if (!json_is_array(arr)) return err_set(e, ERR_USAGE, "field \"flows\" must be an array of flows");
    r->nflows = json_array_size(arr);
    r->flows = xcalloc(r->nflows, sizeof(rule_flow));
    for (size_t i = 0; i < r->nflows; i++) {
        json_t *o = json_array_get(arr, i);
        rule_flow *f = &r->flows[i];
        char *type = NULL;
        int rc;
        snprintf(what, sizeof what, "flow %zu", i + 1);
        if (!json_is_object(o))
            return err_set(e, ERR_USAGE, "%s: must be an object {type, source, target, apply_once, merge}", what);
        if ((rc = reject_unknown(o, flow_keys, what, e)) < 0) return rc;
        if ((rc = get_str(o, "type", NULL, what, &type, e)) < 0) return rc;
        rc = rule_flow_type_parse(type, &f->type);
        if (rc < 0) rc = err_set(e, ERR_USAGE, "%s: unknown type \"%s\" (use direct, constant or expression)", what, type);
        free(type);
        if (rc < 0) return rc;
        if ((rc = get_str(o, "source", NULL, what, &f->source, e)) < 0) return rc;
        if ((rc = get_str(o, "target", NULL, what, &f->target, e)) < 0) return rc;
        if ((rc = get_bool(o, "apply_once", false, what, &f->apply_once, e)) < 0) return rc;
        if ((rc = get_bool(o, "merge", false, what, &f->merge, e)) < 0) return rc;
        if (f->type == RULE_FLOW_DIRECT && !rule_attr_name_valid(f->source))
            return err_set(e, ERR_USAGE, "%s: source \"%s\" is not a valid attribute name", what, f->source);
        if ((rc = compile_flow(f, i + 1, e)) < 0) return rc;
    }
    return 0;
}

int rule_from_json(const json_t *o, size_t index, const char *origin, rule **out, err *e)
{
    int rc = 0;
    bool nested = false; /* error from a helper that does not name the rule: prefix it */
    char who[RULE_NAME_MAX + 32];
    char *s = NULL;
    rule *r = xcalloc(1, sizeof(rule));
    snprintf(who, sizeof who, "rule %zu", index);
    if (!json_is_object(o)) {
        rc = err_set(e, ERR_USAGE, "%s: must be an object", who);
        goto done;
    }
    json_t *name = json_object_get(o, "name");
    if (json_is_string(name) && json_string_length(name) > 0 && json_string_length(name) <= RULE_NAME_MAX)
        snprintf(who, sizeof who, "rule '%s'", json_string_value(name));
    if ((rc = reject_unknown(o, rule_keys, who, e)) < 0) goto done;
    if ((rc = get_str(o, "name", NULL, who, &r->name, e)) < 0) goto done;
    if (!r->name[0] || strlen(r->name) > RULE_NAME_MAX || strpbrk(r->name, "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r"
                                                                        "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
                                                                        "\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f")) {
        snprintf(who, sizeof who, "rule %zu", index);
        rc = err_set(e, ERR_USAGE, "%s: field \"name\" must be 1 to %d characters without control characters", who,
                     RULE_NAME_MAX);
        goto done;
    }
    if ((rc = get_str(o, "description", "", who, &r->description, e)) < 0) goto done;
    if ((rc = get_str(o, "direction", NULL, who, &s, e)) < 0) goto done;
    if (rule_direction_parse(s, &r->direction) < 0) {
        rc = err_set(e, ERR_USAGE, "%s: field \"direction\": \"%s\" is not inbound or outbound", who, s);
        goto done;
    }
    FREE_AND_NULL(s);
    if ((rc = get_str(o, "connector", NULL, who, &r->connector, e)) < 0) goto done;
    if ((rc = get_str(o, "connector_type", "*", who, &r->connector_type, e)) < 0) goto done;
    if ((rc = get_str(o, "cs_object_type", NULL, who, &r->cs_object_type, e)) < 0) goto done;
    if ((rc = get_str(o, "mv_object_type", NULL, who, &r->mv_object_type, e)) < 0) goto done;
    if ((rc = get_str(o, "link_type", NULL, who, &s, e)) < 0) goto done;
    if (rule_link_type_parse(s, &r->link_type) < 0) {
        rc = err_set(e, ERR_USAGE, "%s: field \"link_type\": \"%s\" is not join or provision", who, s);
        goto done;
    }
    FREE_AND_NULL(s);
    json_t *prec = json_object_get(o, "precedence");
    if (!prec) {
        rc = err_set(e, ERR_USAGE, "%s: missing field \"precedence\"", who);
        goto done;
    }
    if (!json_is_integer(prec) || json_integer_value(prec) < 0 || json_integer_value(prec) > RULE_PRECEDENCE_MAX) {
        rc = err_set(e, ERR_USAGE, "%s: field \"precedence\" must be an integer from 0 to %d", who,
                     RULE_PRECEDENCE_MAX);
        goto done;
    }
    r->precedence = (int)json_integer_value(prec);
    if ((rc = get_bool(o, "enabled", true, who, &r->enabled, e)) < 0) goto done;
    nested = true;
    if ((rc = parse_scope(json_object_get(o, "scope"), r, e)) < 0) goto done;
    if ((rc = parse_join(json_object_get(o, "join"), r, e)) < 0) goto done;
    if ((rc = parse_flows(json_object_get(o, "flows"), r, e)) < 0) goto done;
    nested = false; /* rule_validate names the rule itself */
    if (origin) r->origin = xstrdup(origin);
    rc = rule_validate(r, e);
done:
    if (rc < 0) {
        if (nested) err_prefix(e, "%s", who);
        if (origin) err_prefix(e, "%s", origin);
        rule_free(r);
        r = NULL;
    }
    free(s);
    *out = r;
    return rc;
}

int rule_set_load_value(rule_set *s, const json_t *doc, const char *origin, err *e)
{
    int rc = 0;
    size_t n = 0;
    rule **tmp = NULL;
    const char *o = origin ? origin : "rules document";
    if (!json_is_object(doc))
        return err_set(e, ERR_USAGE, "%s: must be a JSON object {\"version\": 1, \"rules\": [...]}", o);
    if ((rc = reject_unknown(doc, doc_keys, o, e)) < 0) return rc;
    json_t *ver = json_object_get(doc, "version");
    if (ver && (!json_is_integer(ver) || json_integer_value(ver) != 1))
        return err_set(e, ERR_USAGE, "%s: \"version\" must be 1 (this idsync reads rules format version 1)", o);
    json_t *arr = json_object_get(doc, "rules");
    if (!json_is_array(arr)) return err_set(e, ERR_USAGE, "%s: field \"rules\" must be an array of rules", o);
    tmp = xcalloc(json_array_size(arr), sizeof(rule *));
    for (n = 0; n < json_array_size(arr); n++) {
        if ((rc = rule_from_json(json_array_get(arr, n), n + 1, origin, &tmp[n], e)) < 0) goto done;
    }
    if ((rc = rule_check_conflicts(s, tmp, n, e)) < 0) {
        if (origin) err_prefix(e, "%s", origin);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rule_set_add(s, tmp[i], e); /* cannot fail: names checked above */
        tmp[i] = NULL;
    }
done:
    for (size_t i = 0; tmp && i < n; i++) rule_free(tmp[i]);
    free(tmp);
    return rc;
}

int rule_set_load_json(rule_set *s, const char *json, const char *origin, err *e)
{
    json_error_t jerr;
    json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return err_set(e, ERR_USAGE, "%s: not valid JSON: line %d, column %d: %s", origin ? origin : "rules document",
                       jerr.line, jerr.column, jerr.text);
    int rc = rule_set_load_value(s, doc, origin, e);
    json_decref(doc);
    return rc;
}

int rule_set_load_file(rule_set *s, const char *path, err *e)
{
    int rc = 0;
    buf b = BUF_INIT;
    char chunk[65536];
    size_t got;
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(e, ERR_NOTFOUND, "cannot open rules file %s: %s", path, strerror(errno));
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > RULE_FILE_MAX) {
            rc = err_set(e, ERR_USAGE, "rules file %s is larger than %d MiB; split it", path, RULE_FILE_MAX >> 20);
            goto done;
        }
        buf_append(&b, chunk, got);
    }
    if (ferror(f)) {
        rc = err_set(e, ERR_FAIL, "reading rules file %s failed: %s", path, strerror(errno));
        goto done;
    }
    if (strlen(b.data ? b.data : "") != b.len) {
        rc = err_set(e, ERR_USAGE, "rules file %s contains a NUL byte; it must be UTF-8 JSON text", path);
        goto done;
    }
    rc = rule_set_load_json(s, b.data ? b.data : "", path, e);
done:
    fclose(f);
    buf_free(&b);
    return rc;
}

json_t *rule_to_json(const rule *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(r->name));
    json_object_set_new(o, "description", json_string(r->description ? r->description : ""));
    json_object_set_new(o, "direction", json_string(rule_direction_name(r->direction)));
    json_object_set_new(o, "connector", json_string(r->connector));
    json_object_set_new(o, "connector_type", json_string(r->connector_type));
    json_object_set_new(o, "cs_object_type", json_string(r->cs_object_type));
    json_object_set_new(o, "mv_object_type", json_string(r->mv_object_type));
    json_object_set_new(o, "link_type", json_string(rule_link_type_name(r->link_type)));
    json_object_set_new(o, "precedence", json_integer(r->precedence));
    json_object_set_new(o, "enabled", json_boolean(r->enabled));
    json_t *scope = json_array();
    for (size_t g = 0; g < r->nscope; g++) {
        json_t *grp = json_array();
        for (size_t i = 0; i < r->scope[g].n; i++) {
            const rule_scope_clause *c = &r->scope[g].clauses[i];
            json_t *jc = json_object();
            json_object_set_new(jc, "attribute", json_string(c->attribute));
            json_object_set_new(jc, "operator", json_string(rule_scope_op_name(c->op)));
            if (c->value) json_object_set_new(jc, "value", json_string(c->value));
            json_array_append_new(grp, jc);
        }
        json_array_append_new(scope, grp);
    }
    json_object_set_new(o, "scope", scope);
    json_t *join = json_array();
    for (size_t g = 0; g < r->njoin; g++) {
        json_t *grp = json_array();
        for (size_t i = 0; i < r->join[g].n; i++) {
            const rule_join_clause *c = &r->join[g].clauses[i];
            json_t *jc = json_object();
            json_object_set_new(jc, "cs_attribute", json_string(c->cs_attribute));
            json_object_set_new(jc, "mv_attribute", json_string(c->mv_attribute));
            json_object_set_new(jc, "case_sensitive", json_boolean(c->case_sensitive));
            json_array_append_new(grp, jc);
        }
        json_array_append_new(join, grp);
    }
    json_object_set_new(o, "join", join);
    json_t *flows = json_array();
    for (size_t i = 0; i < r->nflows; i++) {
        const rule_flow *f = &r->flows[i];
        json_t *jf = json_object();
        json_object_set_new(jf, "type", json_string(rule_flow_type_name(f->type)));
        json_object_set_new(jf, "source", json_string(f->source));
        json_object_set_new(jf, "target", json_string(f->target));
        json_object_set_new(jf, "apply_once", json_boolean(f->apply_once));
        json_object_set_new(jf, "merge", json_boolean(f->merge));
        json_array_append_new(flows, jf);
    }
    json_object_set_new(o, "flows", flows);
    return o;
}

json_t *rule_set_to_json(const rule_set *s)
{
    json_t *doc = json_object();
    json_t *arr = json_array();
    json_object_set_new(doc, "version", json_integer(1));
    for (size_t i = 0; s && i < s->n; i++) json_array_append_new(arr, rule_to_json(s->rules[i]));
    json_object_set_new(doc, "rules", arr);
    return doc;
}

char *rule_set_to_text(const rule_set *s)
{
    json_t *doc = rule_set_to_json(s);
    char *txt = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    char *out = xasprintf("%s\n", txt ? txt : "{}");
    free(txt);
    return out;
}
