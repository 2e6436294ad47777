/* The function table: every group's functions, found by case-insensitive name at compile time. */
#include "rules/expr_int.h"
#include <string.h>
#include <strings.h>

typedef const fndef *(*group_fn)(size_t *n);
static const group_fn GROUPS[] = {
    expr_fns_flow, expr_fns_eval, expr_fns_convert, expr_fns_string, expr_fns_multi, expr_fns_date, expr_fns_dn,
};

const fndef *expr_fn_find(const char *name, size_t len)
{
    for (size_t g = 0; g < sizeof GROUPS / sizeof GROUPS[0]; g++) {
        size_t n;
        const fndef *t = GROUPS[g](&n);
        for (size_t i = 0; i < n; i++)
            if (strlen(t[i].name) == len && strncasecmp(t[i].name, name, len) == 0) return &t[i];
    }
    return NULL;
}
