/* Evaluation functions: IsPresent, IsNull, IsNullOrEmpty, IsEmpty, IsString, IsNumeric, IsDate,
 * IsGuid, IsBitSet, and the bit arithmetic BitAnd and BitOr. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <string.h>

static bool present(const ev *v)
{
    if (EV_IS_NULLISH(v)) return false;
    if (v->kind == EV_LIST) {
        for (size_t i = 0; i < v->len; i++)
            if (present(&v->u.items[i])) return true;
        return false;
    }
    if (EV_IS_TEXT(v)) return v->len > 0;
    return true;
}

FN(f_ispresent) { *out = expr_bool(present(&a[0])); return 0; }
FN(f_isnullorempty) { *out = expr_bool(!present(&a[0])); return 0; }
FN(f_isnull)
{
    *out = expr_bool(EV_IS_NULLISH(&a[0]) || (a[0].kind == EV_LIST && a[0].len == 0));
    return 0;
}
FN(f_isempty)
{
    bool r = false;
    if (EV_IS_TEXT(&a[0])) r = a[0].len == 0;
    else if (a[0].kind == EV_LIST && a[0].len > 0) {
        r = true;
        for (size_t i = 0; i < a[0].len; i++)
            if (!EV_IS_TEXT(&a[0].u.items[i]) || a[0].u.items[i].len) r = false;
    }
    *out = expr_bool(r);
    return 0;
}

FN(f_isstring)
{
    int k = a[0].kind;
    *out = expr_bool(k == EV_STR || k == EV_REF || k == EV_NUM || k == EV_BOOL || k == EV_DATE);
    return 0;
}

FN(f_isnumeric)
{
    ev t;
    *out = expr_bool(a[0].kind == EV_NUM || (EV_IS_TEXT(&a[0]) && expr_parse_num(a[0].u.s, a[0].len, &t) == 0));
    return 0;
}

FN(f_isdate)
{
    long long t;
    *out = expr_bool(a[0].kind == EV_DATE || (EV_IS_TEXT(&a[0]) && expr_date_parse(a[0].u.s, a[0].len, &t) == 0));
    return 0;
}

int expr_guid_parse(const char *s, size_t len, unsigned char out[16])
{
    if (len == 38) {
        if (s[0] != '{' || s[37] != '}') return -1;
        s++;
        len = 36;
    }
    if (len != 36) return -1;
    unsigned char raw[16];
    int k = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return -1;
            i++;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1])) return -1;
        int hi = isdigit((unsigned char)s[i]) ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10;
        int lo = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' : tolower((unsigned char)s[i + 1]) - 'a' + 10;
        raw[k++] = (unsigned char)(hi * 16 + lo);
        i += 2;
    }
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; i++) out[i] = raw[order[i]];
    return 0;
}

FN(f_isguid)
{
    unsigned char g[16];
    *out = expr_bool(EV_IS_TEXT(&a[0]) && expr_guid_parse(a[0].u.s, a[0].len, g) == 0);
    return 0;
}

FN(f_isbitset)
{
    long long v, f;
    if (IS_NULL(0) || IS_NULL(1)) { *out = expr_bool(0); return 0; }
    ARG_INT(0, v);
    ARG_INT(1, f);
    *out = expr_bool((v & f) == f);
    return 0;
}

FN(f_bitand)
{
    long long x, y;
    if (IS_NULL(0) || IS_NULL(1)) RET_NULL();
    ARG_INT(0, x);
    ARG_INT(1, y);
    *out = expr_int(x & y);
    return 0;
}

FN(f_bitor)
{
    long long x, y;
    if (IS_NULL(0) || IS_NULL(1)) RET_NULL();
    ARG_INT(0, x);
    ARG_INT(1, y);
    *out = expr_int(x | y);
    return 0;
}

#define ALL 0xFFFFFFFFu
static const fndef FNS[] = {
    {"IsPresent", 1, 1, FN_SPECIAL, ALL, f_ispresent, NULL},
    {"IsNull", 1, 1, FN_SPECIAL, ALL, f_isnull, NULL},
    {"IsNullOrEmpty", 1, 1, FN_SPECIAL, ALL, f_isnullorempty, NULL},
    {"IsEmpty", 1, 1, FN_SPECIAL, ALL, f_isempty, NULL},
    {"IsString", 1, 1, FN_SPECIAL, 0, f_isstring, NULL},
    {"IsNumeric", 1, 1, FN_SPECIAL, 0, f_isnumeric, NULL},
    {"IsDate", 1, 1, FN_SPECIAL, 0, f_isdate, NULL},
    {"IsGuid", 1, 1, FN_SPECIAL, 0, f_isguid, NULL},
    {"IsBitSet", 2, 2, 0, 0, f_isbitset, NULL},
    {"BitAnd", 2, 2, 0, 0, f_bitand, NULL},
    {"BitOr", 2, 2, 0, 0, f_bitor, NULL},
};

const fndef *expr_fns_eval(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
