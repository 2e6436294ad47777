/* Date/time functions: Now, DateAdd, FormatDateTime, NumFromDate, DateFromNum (FILETIME ticks:
 * 100-ns intervals since 1601-01-01 UTC, as AD stores pwdLastSet and lastLogonTimestamp). */
#include "rules/expr_int.h"
#include <string.h>

static ev date_ev(long long t)
{
    ev v;
    memset(&v, 0, sizeof v);
    v.kind = EV_DATE;
    v.u.t = t;
    return v;
}

FN(f_now)
{
    long long t;
    if (expr_date_make(1970, 1, 1, c->env->now, 0, &t) < 0)
        return expr_fail(c, "Now: the clock value %lld is outside years 1601-9999", c->env->now);
    *out = date_ev(t);
    return 0;
}

FN(f_dateadd)
{
    const char *iv;
    size_t il;
    long long k, t, r;
    if (IS_NULL(2) || IS_NULL(1)) RET_NULL();
    ARG_TEXT(0, iv, il);
    ARG_INT(1, k);
    ARG_DATE(2, t);
    int rc = expr_date_add(iv, il, k, t, &r);
    if (rc == -2)
        return expr_fail(c, "DateAdd: unknown interval \"%.*s\" (use yyyy, q, m, y, d, w, ww, h, n or s)",
                         (int)(il > 10 ? 10 : il), iv);
    if (rc < 0) return expr_fail(c, "DateAdd: the result is outside years 1601-9999");
    *out = date_ev(r);
    return 0;
}

FN(f_formatdatetime)
{
    const char *f;
    size_t fl;
    long long t;
    if (IS_NULL(0)) RET_NULL();
    ARG_DATE(0, t);
    ARG_TEXT(1, f, fl);
    return expr_date_format(c, t, f, fl, out);
}

FN(f_numfromdate)
{
    long long t;
    if (IS_NULL(0)) RET_NULL();
    ARG_DATE(0, t);
    *out = expr_int(t);
    return 0;
}

FN(f_datefromnum)
{
    long long k, t;
    if (IS_NULL(0)) RET_NULL();
    ARG_INT(0, k);
    if (k < 0 || expr_date_make(1601, 1, 1, 0, k, &t) < 0)
        return expr_fail(c, "DateFromNum: %lld is not a date between 1601 and 9999 (AD uses 0 and "
                         "9223372036854775807 for 'never': test for them first)", k);
    *out = date_ev(t);
    return 0;
}

static const fndef FNS[] = {
    {"Now", 0, 0, FN_VOLATILE, 0, f_now, NULL},
    {"DateAdd", 3, 3, 0, 0, f_dateadd, NULL},
    {"FormatDateTime", 2, 2, 0, 0, f_formatdatetime, NULL},
    {"NumFromDate", 1, 1, 0, 0, f_numfromdate, NULL},
    {"DateFromNum", 1, 1, 0, 0, f_datefromnum, NULL},
};

const fndef *expr_fns_date(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
