/* Sync rules as data: the declarative rule model (scope, join, flows, precedence),
 * its JSON form (load, validate, export, content hash) and the default rule sets.
 * Modelled on Microsoft Entra Connect Sync declarative provisioning; see docs/RULES.md.
 *
 * Ownership: every string and array inside a rule is owned by that rule; a rule_set
 * owns its rules; functions returning char* or json_t* give the caller ownership. */
#ifndef IDSYNC_RULES_RULE_H
#define IDSYNC_RULES_RULE_H
#include "rules/expr.h"
#include "util/util_attrs.h"
#include "util/util_err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RULE_NAME_MAX 256        /* bytes, a rule's name */
#define RULE_PRECEDENCE_MAX 1000000000

typedef enum rule_direction {
    RULE_INBOUND = 1,   /* connector space -> metaverse */
    RULE_OUTBOUND = 2,  /* metaverse -> connector space */
} rule_direction;

typedef enum rule_link_type {
    RULE_LINK_JOIN = 1,       /* contributes only to objects already joined (or joined by its criteria) */
    RULE_LINK_PROVISION = 2,  /* inbound: project a new MV object when no join; outbound: create a CS object */
} rule_link_type;

typedef enum rule_scope_op {
    RULE_OP_EQUAL = 1,
    RULE_OP_NOTEQUAL,
    RULE_OP_ISNULL,
    RULE_OP_ISNOTNULL,
    RULE_OP_STARTSWITH,
    RULE_OP_NOTSTARTSWITH,
    RULE_OP_ENDSWITH,
    RULE_OP_NOTENDSWITH,
    RULE_OP_CONTAINS,
    RULE_OP_NOTCONTAINS,
    RULE_OP_ISBITSET,
    RULE_OP_ISNOTBITSET,
    RULE_OP_DNSUFFIX,         /* the DN ends with value, on an RDN boundary, case-insensitive */
    RULE_OP_NOTDNSUFFIX,
} rule_scope_op;

typedef struct rule_scope_clause {
    char *attribute;          /* attribute name; for DNSUFFIX/NOTDNSUFFIX "dn" means the object's DN */
    rule_scope_op op;
    char *value;              /* NULL for ISNULL/ISNOTNULL */
    long long mask;           /* ISBITSET/ISNOTBITSET: value parsed at load time */
} rule_scope_clause;

typedef struct rule_scope_group {  /* all clauses must match (AND) */
    size_t n;
    rule_scope_clause *clauses;
} rule_scope_group;

typedef struct rule_join_clause {
    char *cs_attribute;
    char *mv_attribute;
    bool case_sensitive;
} rule_join_clause;

typedef struct rule_join_group {   /* all clauses must match (AND); groups are tried in order */
    size_t n;
    rule_join_clause *clauses;
} rule_join_group;

typedef enum rule_flow_type {
    RULE_FLOW_DIRECT = 1,      /* source is an attribute name */
    RULE_FLOW_CONSTANT = 2,    /* source is the constant text */
    RULE_FLOW_EXPRESSION = 3,  /* source is expression text */
} rule_flow_type;

typedef struct rule_flow {
    rule_flow_type type;
    char *source;
    char *target;              /* target attribute name */
    bool apply_once;           /* flow only when the target has no value yet */
    bool merge;                /* multi-valued merge across contributors instead of precedence replace */
    expr *x;                   /* compiled: "[source]" for direct, the expression; NULL for constant */
} rule_flow;

typedef struct rule {
    char *name;                /* unique in a set */
    char *description;         /* "" when none */
    rule_direction direction;
    char *connector;           /* connector name, or "*" = every connector of connector_type */
    char *connector_type;      /* "ad", "ldap", "scim", "ldif" or "*" */
    char *cs_object_type;      /* e.g. "user", "inetOrgPerson" */
    char *mv_object_type;      /* e.g. "person", "group", "contact" */
    rule_link_type link_type;
    int precedence;            /* lower wins; unique per direction among enabled rules */
    bool enabled;
    size_t nscope;
    rule_scope_group *scope;   /* OR of groups; none = every object is in scope */
    size_t njoin;
    rule_join_group *join;
    size_t nflows;
    rule_flow *flows;
    char *origin;              /* where it was loaded from (file, "defaults/ad.json"); not part of the hash */
} rule;

typedef struct rule_set {
    size_t n;
    size_t cap;
    rule **rules;              /* owned, in load order */
} rule_set;

const char *rule_direction_name(rule_direction d);      /* "inbound" / "outbound" */
const char *rule_link_type_name(rule_link_type t);      /* "join" / "provision" */
const char *rule_scope_op_name(rule_scope_op op);       /* "EQUAL", ... */
const char *rule_flow_type_name(rule_flow_type t);      /* "direct" / "constant" / "expression" */
/* Inverses: 0, or -1 when s is not a known name (case-insensitive). */
int rule_direction_parse(const char *s, rule_direction *out);
int rule_link_type_parse(const char *s, rule_link_type *out);
int rule_scope_op_parse(const char *s, rule_scope_op *out);
int rule_flow_type_parse(const char *s, rule_flow_type *out);

rule_set *rule_set_new(void);               /* caller frees with rule_set_free */
void rule_set_free(rule_set *s);            /* frees every rule; accepts NULL */
void rule_free(rule *r);                    /* accepts NULL */
/* Deep copy (flows recompiled from their source); NULL with e filled if a flow does not compile. */
rule *rule_clone(const rule *r, err *e);
/* Takes ownership of r (also on failure, when r is freed). Fails with ERR_EXISTS on a duplicate name;
   precedence is checked by rule_validate_set. */
int rule_set_add(rule_set *s, rule *r, err *e);
/* Borrowed pointer, or NULL. Names compare exactly (case-sensitive). */
rule *rule_set_find(const rule_set *s, const char *name);
/* Removes and frees the named rule; returns true if it existed. */
bool rule_set_remove(rule_set *s, const char *name);
/* Sorts by direction (inbound first), then precedence, then name. */
void rule_set_sort(rule_set *s);

/* Adds the rules of a JSON document {"version": 1, "rules": [...]} to s. origin names the document
   in error messages (a path, "defaults/ad.json"; may be NULL). All or nothing: on any error nothing
   is added and e says which rule and field, e.g.
   "rules.json: rule 'In from AD - User Join': flow 3: expression: line 1, column 5: ...".
   Unknown fields are rejected. The resulting set is checked with rule_validate_set. */
int rule_set_load_json(rule_set *s, const char *json, const char *origin, err *e);
/* Same, from an already parsed document (borrowed). */
int rule_set_load_value(rule_set *s, const json_t *doc, const char *origin, err *e);
/* Reads a file and loads it (origin = path). */
int rule_set_load_file(rule_set *s, const char *path, err *e);

/* Checks one rule on its own (fields, expressions already compiled). */
int rule_validate(const rule *r, err *e);
/* Checks the set: every rule, unique names, unique precedence per direction among enabled rules
   (an error naming both rules). */
int rule_validate_set(const rule_set *s, err *e);

/* Canonical JSON of one rule (every field, fixed key order); caller owns the reference. */
json_t *rule_to_json(const rule *r);
/* {"version": 1, "rules": [...]} in set order; caller owns the reference. */
json_t *rule_set_to_json(const rule_set *s);
/* The set as indented text ending in a newline (for `rules export`); caller frees. */
char *rule_set_to_text(const rule_set *s);

/* SHA-256 (lowercase hex, 64 chars + NUL) of the canonical form of everything that changes sync
   results: all fields except name, description and origin (documented in docs/RULES.md). */
void rule_hash(const rule *r, char out[65]);
/* SHA-256 hex over the sorted hashes of the enabled rules: changes exactly when a full sync is needed. */
void rule_set_hash(const rule_set *s, char out[65]);

/* True if the rule is for this connector (name and type) and object type (the CS type for inbound
   rules, the MV type for outbound rules). */
bool rule_applies_to(const rule *r, const char *connector_name, const char *connector_type,
                     const char *object_type);
/* True if the object (dn may be NULL; a may be NULL = no attributes) is in the rule's scope. */
bool rule_scope_match(const rule *r, const char *dn, const attrs *a);
/* One clause on its own (exposed for tests and `trace`). */
bool rule_scope_clause_match(const rule_scope_clause *c, const char *dn, const attrs *a);
/* True if the DN ends with suffix on an RDN boundary (case-insensitive, blanks around ',' and '='
   ignored). An empty suffix matches every DN. */
bool rule_dn_has_suffix(const char *dn, const char *suffix);

/* Evaluates one flow: constant flows give one string value; direct and expression flows evaluate
   their compiled expression. out's values are replaced (its name is left as is). */
int rule_flow_eval(const rule_flow *f, const expr_env *env, attr *out, expr_outcome *outcome, err *e);
/* Calls fn once per attribute name the rule reads from its source object (scope attributes,
   join source attributes, flow references); names may repeat. */
void rule_foreach_source_attr(const rule *r, void (*fn)(void *ctx, const char *name), void *ctx);

/* Default rule sets. Types: "ad", "ldap" (inbound sources) and "scim" (outbound target).
   The JSON text of one default set (static, borrowed), or NULL for an unknown type. */
const char *rule_defaults_json(const char *type);
/* Adds the default rules of type as templates (connector "*": they apply to every connector of
   that type). ERR_USAGE for an unknown type. */
int rule_set_defaults(rule_set *s, const char *type, err *e);
/* Adds the default rules of type instantiated for one named connector: connector = connector_name,
   name = "<template name> (<connector_name>)", precedence = template precedence + offset, where
   offset is the smallest multiple of 1000 that conflicts with no rule already in s. */
int rule_set_defaults_for(rule_set *s, const char *type, const char *connector_name, err *e);
/* Copy of template bound to a connector, renamed and shifted as above by precedence_offset;
   NULL with e filled on error (e.g. the precedence would overflow). Caller frees. */
rule *rule_instantiate(const rule *tmpl, const char *connector_name, int precedence_offset, err *e);
#endif
