/* Scoping filters: is an object (DN + attributes) in a rule's scope? Groups are OR'ed,
 * clauses in a group AND'ed; comparisons are ASCII-case-insensitive and a multi-valued
 * attribute matches when any value matches. The negated operators are exact negations of
 * their positive forms, so an absent attribute satisfies NOTEQUAL, NOTCONTAINS, ... (as in
 * Entra, where "cloudFiltered NOTEQUAL True" keeps objects that have no cloudFiltered). */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool mem_case_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
    return true;
}

static bool val_equal(const aval *v, const char *s, size_t n)
{
    return v->len == n && mem_case_eq(v->data, s, n);
}

static bool val_starts(const aval *v, const char *s, size_t n)
{
    return v->len >= n && mem_case_eq(v->data, s, n);
}

static bool val_ends(const aval *v, const char *s, size_t n)
{
    return v->len >= n && mem_case_eq(v->data + v->len - n, s, n);
}

static bool val_contains(const aval *v, const char *s, size_t n)
{
    if (n == 0) return true;
    for (size_t i = 0; i + n <= v->len; i++)
        if (mem_case_eq(v->data + i, s, n)) return true;
    return false;
}

/* Integer value of a directory attribute (decimal text, optionally signed); false if it is not one. */
static bool val_integer(const aval *v, long long *out)
{
    char *end = NULL;
    if (v->len == 0 || v->len > 24 || strlen(v->data) != v->len) return false;
    errno = 0;
    long long x = strtoll(v->data, &end, 10);
    if (errno || *end) {
        /* Values above LLONG_MAX (unsigned 64-bit flags) still have well-defined bits. */
        errno = 0;
        if (v->data[0] == '-') return false;
        unsigned long long u = strtoull(v->data, &end, 10);
        if (errno || *end) return false;
        x = (long long)u;
    }
    *out = x;
    return true;
}

/* Canonical DN text for suffix comparison: lowercase ASCII, no blanks around the separators
 * ',', ';', '+' and '=' (RFC 4514 says unescaped ones are insignificant), ';' written as ',';
 * escapes kept as written (so "\," never acts as a separator). Caller frees. */
static char *dn_normalize(const char *dn)
{
    buf b = BUF_INIT;
    size_t protect = 0; /* bytes of b before this offset were escaped: never trimmed */
    const char *p = dn;
    while (*p == ' ') p++;
    while (*p) {
        char c = *p;
        if (c == '\\') {
            buf_putc(&b, '\\');
            p++;
            if (*p) buf_putc(&b, (char)lower((unsigned char)*p++));
            protect = b.len;
            continue;
        }
        if (c == ',' || c == ';' || c == '+' || c == '=') {
            while (b.len > protect && b.data[b.len - 1] == ' ') b.data[--b.len] = '\0';
            buf_putc(&b, c == ';' ? ',' : c);
            p++;
            while (*p == ' ') p++;
            continue;
        }
        buf_putc(&b, (char)lower((unsigned char)c));
        p++;
    }
    while (b.len > protect && b.data[b.len - 1] == ' ') b.data[--b.len] = '\0';
    return buf_steal(&b, NULL);
}

bool rule_dn_has_suffix(const char *dn, const char *suffix)
{
    if (!dn || !suffix) return false;
    char *nd = dn_normalize(dn), *ns = dn_normalize(suffix);
    size_t ld = strlen(nd), ls = strlen(ns);
    bool ok = false;
    if (ls == 0) {
        ok = true;
    } else if (ld == ls) {
        ok = strcmp(nd, ns) == 0;
    } else if (ld > ls && strcmp(nd + ld - ls, ns) == 0 && nd[ld - ls - 1] == ',') {
        /* The ',' must itself be unescaped: an even number of backslashes before it. */
        size_t bs = 0;
        for (size_t i = ld - ls - 1; i > 0 && nd[i - 1] == '\\'; i--) bs++;
        ok = bs % 2 == 0;
    }
    free(nd);
    free(ns);
    return ok;
}

/* The positive form of op for one value. */
static bool value_matches(const rule_scope_clause *c, rule_scope_op op, const aval *v)
{
    size_t n = c->value ? strlen(c->value) : 0;
    long long x;
    switch (op) {
    case RULE_OP_EQUAL: return val_equal(v, c->value, n);
    case RULE_OP_STARTSWITH: return val_starts(v, c->value, n);
    case RULE_OP_ENDSWITH: return val_ends(v, c->value, n);
    case RULE_OP_CONTAINS: return val_contains(v, c->value, n);
    case RULE_OP_ISBITSET: return val_integer(v, &x) && (x & c->mask) == c->mask;
    case RULE_OP_DNSUFFIX: return strlen(v->data) == v->len && rule_dn_has_suffix(v->data, c->value);
    default: return false;
    }
}

static rule_scope_op positive_of(rule_scope_op op, bool *negate)
{
    *negate = true;
    switch (op) {
    case RULE_OP_NOTEQUAL: return RULE_OP_EQUAL;
    case RULE_OP_NOTSTARTSWITH: return RULE_OP_STARTSWITH;
    case RULE_OP_NOTENDSWITH: return RULE_OP_ENDSWITH;
    case RULE_OP_NOTCONTAINS: return RULE_OP_CONTAINS;
    case RULE_OP_ISNOTBITSET: return RULE_OP_ISBITSET;
    case RULE_OP_NOTDNSUFFIX: return RULE_OP_DNSUFFIX;
    case RULE_OP_ISNOTNULL: return RULE_OP_ISNULL;
    default: *negate = false; return op;
    }
}

static bool is_dn_name(const char *name)
{
    return strcasecmp(name, "dn") == 0 || strcasecmp(name, "distinguishedName") == 0;
}

bool rule_scope_clause_match(const rule_scope_clause *c, const char *dn, const attrs *a)
{
    bool negate;
    rule_scope_op op = positive_of(c->op, &negate);
    const attr *at = a ? attrs_get(a, c->attribute) : NULL;
    aval dnval;
    size_t nvals = at ? at->nvals : 0;
    const aval *vals = at ? at->vals : NULL;
    /* "dn" (or distinguishedName when the object does not carry it) is the object's DN. */
    if (nvals == 0 && dn && is_dn_name(c->attribute)) {
        dnval.data = (char *)dn;
        dnval.len = strlen(dn);
        vals = &dnval;
        nvals = 1;
    }
    bool hit = false;
    if (op == RULE_OP_ISNULL) {
        hit = nvals == 0;
    } else {
        for (size_t i = 0; i < nvals && !hit; i++) hit = value_matches(c, op, &vals[i]);
    }
    return negate ? !hit : hit;
}

bool rule_scope_match(const rule *r, const char *dn, const attrs *a)
{
    if (r->nscope == 0) return true;
    for (size_t g = 0; g < r->nscope; g++) {
        bool all = true;
        for (size_t i = 0; i < r->scope[g].n && all; i++) all = rule_scope_clause_match(&r->scope[g].clauses[i], dn, a);
        if (all) return true;
    }
    return false;
}
