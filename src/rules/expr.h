/* The expression language of attribute flows (Entra Connect Sync declarative provisioning
 * expressions): compile once per rule into an immutable tree, evaluate per object. */
#ifndef IDSYNC_RULES_EXPR_H
#define IDSYNC_RULES_EXPR_H
#include "util/util_attrs.h"
#include "util/util_err.h"
#include <stdbool.h>

/* Hostile-input limits. A compile or evaluation that would pass one fails with an error
 * naming the limit; nothing is truncated silently. */
#define EXPR_MAX_SOURCE   (64 * 1024)          /* bytes of expression text */
#define EXPR_MAX_DEPTH    128                  /* nesting of parentheses, calls and unary operators */
#define EXPR_MAX_STRING   (1024 * 1024)        /* bytes of any intermediate string or binary value */
#define EXPR_MAX_LIST     100000               /* values in any intermediate multi-valued result */
#define EXPR_MAX_STEPS    10000000L            /* evaluation steps (nodes + list items) per expr_eval */
#define EXPR_MAX_MEMORY   (64 * 1024 * 1024)   /* scratch bytes one expr_eval may use */

typedef struct expr expr;                      /* compiled, immutable, shareable across threads */

/* Compiles src (NUL-terminated). On success *out is a new expression the caller frees with
   expr_free. On error returns ERR_USAGE with e->msg like
   "line 1, column 11: expected ')' after arguments of IIF\n  IIF([a], 1\n            ^". */
int expr_compile(const char *src, expr **out, err *e);
void expr_free(expr *x);                       /* accepts NULL */

typedef enum expr_outcome {
    EXPR_VALUE = 0,        /* out holds the value(s) (may be a list) */
    EXPR_NULL = 1,         /* no value: the flow contributes nothing (target keeps other contributors) */
    EXPR_AUTH_NULL = 2,    /* AuthoritativeNull: the target attribute is cleared, overriding lower precedence */
    EXPR_IGNORE = 3,       /* IgnoreThisFlow: as if the flow did not exist */
} expr_outcome;

typedef struct expr_env {
    void *ctx;
    /* The source object's attribute by name (case-insensitive), or NULL if absent. Borrowed:
       it must stay valid and unchanged until expr_eval returns. */
    const attr *(*lookup)(void *ctx, const char *name);
    /* A %Name% parameter's value, or NULL if unknown (unknown parameter = evaluation error).
       May be NULL itself when the caller has no parameters. Borrowed like lookup's result. */
    const char *(*param)(void *ctx, const char *name);
    long long now;          /* seconds since the Unix epoch, for Now() (a seam for tests) */
} expr_env;

/* Evaluates x against env. On EXPR_VALUE fills out (an attr whose name is left as given by the
   caller; type chosen from the result: string, integer, boolean, binary, datetime, reference)
   with one or more values (out's previous values are removed; out keeps ownership of them).
   On any other outcome out is left with no values. Errors (Error() called, type errors, limits)
   return ERR_FAIL with a message naming the function. Safe to call concurrently on one x. */
int expr_eval(const expr *x, const expr_env *env, attr *out, expr_outcome *outcome, err *e);

/* Calls fn once for every distinct attribute name the expression reads (for dependency
   tracking), in first-use order. The name is borrowed from x. */
void expr_foreach_ref(const expr *x, void (*fn)(void *ctx, const char *attr_name), void *ctx);

/* True if x is a bare attribute reference [name] (a direct flow in disguise); *name borrowed. */
bool expr_is_attr_ref(const expr *x, const char **name);

/* The source text x was compiled from (borrowed). */
const char *expr_source(const expr *x);
#endif
