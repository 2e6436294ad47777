/* Internals shared by the rule_*.c files; not part of the rules contract (rule.h). */
#ifndef IDSYNC_RULES_RULE_INT_H
#define IDSYNC_RULES_RULE_INT_H
#include "rules/rule.h"

/* Builds one rule from its JSON object (borrowed). index is 1-based, for messages when the
   rule has no usable name. On error returns a negative code; e names the rule and field. */
int rule_from_json(const json_t *o, size_t index, const char *origin, rule **out, err *e);
/* Checks precedence/name conflicts of s plus extra[0..n) (not yet added). */
int rule_check_conflicts(const rule_set *s, rule *const *extra, size_t nextra, err *e);
/* True if name is a syntactically valid attribute name. */
bool rule_attr_name_valid(const char *name);
/* Parses an ISBITSET mask: decimal (may be negative, AD groupType style) or 0x hex; must be non-zero.
   Returns 0, or -1 when s is not such a number. */
int rule_parse_mask(const char *s, long long *out);
/* Embedded default rule sets (rule_defaults_<type>.c, generated from rules/defaults/<type>.json). */
extern const char rule_defaults_ad_json[];
extern const char rule_defaults_ldap_json[];
extern const char rule_defaults_scim_json[];
#endif
