/* Value helpers of the expression language: constructors, text/number/truth conversions,
 * comparison, and the UTF-8 and case-mapping primitives the string functions share. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

const char *expr_kind_name(int kind)
{
    switch (kind) {
    case EV_NULL: return "NULL";
    case EV_AUTHNULL: return "AuthoritativeNull";
    case EV_IGNORE: return "IgnoreThisFlow";
    case EV_STR: return "string";
    case EV_REF: return "reference";
    case EV_NUM: return "number";
    case EV_BOOL: return "Boolean";
    case EV_BIN: return "binary";
    case EV_DATE: return "date";
    case EV_LIST: return "multi-valued list";
    default: return "?";
    }
}

size_t expr_fmt_num(const ev *v, char *buf)
{
    if (v->isint) return (size_t)snprintf(buf, 32, "%lld", v->u.i);
    double d = v->u.d;
    if (isnan(d)) return (size_t)snprintf(buf, 32, "NaN");
    if (isinf(d)) return (size_t)snprintf(buf, 32, d > 0 ? "Infinity" : "-Infinity");
    int n = snprintf(buf, 32, "%.15g", d);
    if (strtod(buf, NULL) != d) n = snprintf(buf, 32, "%.17g", d);
    return (size_t)n;
}

int expr_to_text(ectx *c, const ev *v, ev *out)
{
    char tmp[40];
    size_t n;
    switch (v->kind) {
    case EV_STR:
    case EV_REF:
        *out = expr_str(v->u.s, v->len);
        return 0;
    case EV_NUM:
        n = expr_fmt_num(v, tmp);
        break;
    case EV_BOOL:
        n = (size_t)snprintf(tmp, sizeof tmp, "%s", v->u.b ? "True" : "False");
        break;
    case EV_DATE:
        n = expr_date_gentime(v->u.t, tmp);
        break;
    default:
        return -1;
    }
    char *d = expr_alloc(c, n + 1);
    memcpy(d, tmp, n + 1);
    *out = expr_str(d, n);
    return 0;
}

int expr_parse_num(const char *s, size_t len, ev *out)
{
    while (len && isspace((unsigned char)*s)) { s++; len--; }
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len > 63) return -1;
    char buf[64];
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof *out);
    out->kind = EV_NUM;
    if (len > 2 && buf[0] == '&' && (buf[1] == 'H' || buf[1] == 'h')) {
        if (len - 2 > 16) return -1;
        for (size_t i = 2; i < len; i++) if (!isxdigit((unsigned char)buf[i])) return -1;
        out->isint = 1;
        out->u.i = (long long)strtoull(buf + 2, NULL, 16);
        return 0;
    }
    /* sign, digits, optional fraction, optional exponent; nothing else (no hex, inf, nan) */
    size_t i = 0;
    if (buf[i] == '+' || buf[i] == '-') i++;
    size_t digits = 0;
    while (isdigit((unsigned char)buf[i])) { i++; digits++; }
    bool frac = false;
    if (buf[i] == '.') {
        frac = true;
        i++;
        while (isdigit((unsigned char)buf[i])) { i++; digits++; }
    }
    if (!digits) return -1;
    if (buf[i] == 'e' || buf[i] == 'E') {
        frac = true;
        i++;
        if (buf[i] == '+' || buf[i] == '-') i++;
        if (!isdigit((unsigned char)buf[i])) return -1;
        while (isdigit((unsigned char)buf[i])) i++;
    }
    if (buf[i]) return -1;
    if (!frac) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno != ERANGE) {
            out->isint = 1;
            out->u.i = v;
            return 0;
        }
    }
    out->isint = 0;
    out->u.d = strtod(buf, NULL);
    if (!isfinite(out->u.d)) return -1;
    return 0;
}

int expr_truth(const ev *v)
{
    switch (v->kind) {
    case EV_NULL:
    case EV_AUTHNULL:
    case EV_IGNORE:
        return 0;
    case EV_BOOL:
        return v->u.b;
    case EV_NUM:
        return v->isint ? v->u.i != 0 : v->u.d != 0;
    case EV_STR: {
        if (v->len == 4 && strncasecmp(v->u.s, "true", 4) == 0) return 1;
        if (v->len == 5 && strncasecmp(v->u.s, "false", 5) == 0) return 0;
        ev n;
        if (expr_parse_num(v->u.s, v->len, &n) == 0) return expr_truth(&n);
        return -1;
    }
    default:
        return -1;
    }
}

static double num_d(const ev *v) { return v->isint ? (double)v->u.i : v->u.d; }

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int r = m ? memcmp(a, b, m) : 0;
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

static int cmp_num(const ev *a, const ev *b)
{
    if (a->isint && b->isint) return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    double x = num_d(a), y = num_d(b);
    return x < y ? -1 : x > y;
}

int expr_compare(const ev *a, const ev *b, int *cmp)
{
    ev t;
    if (EV_IS_TEXT(a) && EV_IS_TEXT(b)) { *cmp = cmp_bytes(a->u.s, a->len, b->u.s, b->len); return 0; }
    if (a->kind == b->kind) {
        switch (a->kind) {
        case EV_NUM: *cmp = cmp_num(a, b); return 0;
        case EV_BOOL: *cmp = a->u.b - b->u.b; return 0;
        case EV_DATE: *cmp = a->u.t < b->u.t ? -1 : a->u.t > b->u.t; return 0;
        case EV_BIN: *cmp = cmp_bytes(a->u.s, a->len, b->u.s, b->len); return 0;
        default: return -1;
        }
    }
    /* mixed: convert the text side to the other side's type when it parses */
    if (EV_IS_TEXT(b) && !EV_IS_TEXT(a)) {
        int r = expr_compare(b, a, cmp);
        *cmp = -*cmp;
        return r;
    }
    if (EV_IS_TEXT(a)) {
        switch (b->kind) {
        case EV_NUM:
            if (expr_parse_num(a->u.s, a->len, &t) < 0) return -1;
            *cmp = cmp_num(&t, b);
            return 0;
        case EV_BOOL: {
            int tv = expr_truth(a);
            if (tv < 0) return -1;
            *cmp = tv - b->u.b;
            return 0;
        }
        case EV_DATE: {
            long long ticks;
            if (expr_date_parse(a->u.s, a->len, &ticks) < 0) return -1;
            *cmp = ticks < b->u.t ? -1 : ticks > b->u.t;
            return 0;
        }
        default:
            return -1;
        }
    }
    if (a->kind == EV_NUM && b->kind == EV_BOOL) { *cmp = (num_d(a) != 0) - b->u.b; return 0; }
    if (a->kind == EV_BOOL && b->kind == EV_NUM) { *cmp = a->u.b - (num_d(b) != 0); return 0; }
    return -1;
}

bool expr_same(const ev *a, const ev *b)
{
    if (a->kind != b->kind) {
        if (!(EV_IS_TEXT(a) && EV_IS_TEXT(b))) return false;
    }
    int c;
    return expr_compare(a, b, &c) == 0 && c == 0;
}

/* ---- argument converters -------------------------------------------------------------------- */
int expr_arg_text(ectx *c, const char *fname, int idx, const ev *a, const char **s, size_t *len)
{
    ev t;
    if (expr_to_text(c, a, &t) < 0)
        return expr_fail(c, "%s: argument %d must be a string, not %s", fname, idx, expr_kind_name(a->kind));
    *s = t.u.s;
    *len = t.len;
    return 0;
}

int expr_arg_int(ectx *c, const char *fname, int idx, const ev *a, long long *out)
{
    ev t = *a;
    if (EV_IS_TEXT(a) && expr_parse_num(a->u.s, a->len, &t) < 0)
        return expr_fail(c, "%s: argument %d must be a number, not the string \"%.*s\"", fname, idx,
                         (int)(a->len > 40 ? 40 : a->len), a->u.s);
    if (t.kind != EV_NUM)
        return expr_fail(c, "%s: argument %d must be a number, not %s", fname, idx, expr_kind_name(a->kind));
    if (t.isint) { *out = t.u.i; return 0; }
    if (t.u.d != floor(t.u.d) || t.u.d < -9.2e18 || t.u.d > 9.2e18)
        return expr_fail(c, "%s: argument %d must be a whole number, not %.17g", fname, idx, t.u.d);
    *out = (long long)t.u.d;
    return 0;
}

int expr_arg_date(ectx *c, const char *fname, int idx, const ev *a, long long *ticks)
{
    if (a->kind == EV_DATE) { *ticks = a->u.t; return 0; }
    if (EV_IS_TEXT(a)) {
        if (expr_date_parse(a->u.s, a->len, ticks) == 0) return 0;
        return expr_fail(c, "%s: argument %d is not a date: \"%.*s\" (use generalized time "
                         "20240131120000.0Z or ISO 8601 2024-01-31T12:00:00Z)", fname, idx,
                         (int)(a->len > 40 ? 40 : a->len), a->u.s);
    }
    return expr_fail(c, "%s: argument %d must be a date, not %s", fname, idx, expr_kind_name(a->kind));
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */
/* Decodes one strict UTF-8 sequence at s[i]; returns its length, or 0 if invalid. */
static int utf8_decode(const unsigned char *p, size_t left, uint32_t *out)
{
    uint32_t c = p[0];
    if (c < 0x80) { *out = c; return 1; }
    int n = (c >= 0xF0 && c <= 0xF4) ? 4 : (c >= 0xE0 && c < 0xF0) ? 3 : (c >= 0xC2 && c < 0xE0) ? 2 : 0;
    if (n == 0 || (size_t)n > left) return 0;
    uint32_t cp = c & (0xFFu >> (n + 1));
    for (int k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    *out = cp;
    return n;
}

uint32_t expr_utf8_next(const char *s, size_t len, size_t *i)
{
    uint32_t cp;
    int n = utf8_decode((const unsigned char *)s + *i, len - *i, &cp);
    if (n == 0) { (*i)++; return 0xFFFD; }
    *i += (size_t)n;
    return cp;
}

size_t expr_utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t expr_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

size_t expr_utf8_offset(const char *s, size_t len, size_t k)
{
    size_t i = 0;
    while (i < len && k > 0) {
        expr_utf8_next(s, len, &i);
        k--;
    }
    return i;
}

bool expr_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        int n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) return false;
        i += (size_t)n;
    }
    return true;
}

/* Case mapping with the C.UTF-8 locale's tables (full Unicode simple mapping on glibc);
 * ASCII-only if that locale is missing. */
static locale_t g_utf8;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init_locale(void) { g_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

uint32_t expr_lower(uint32_t cp)
{
    if (cp < 0x80) return (uint32_t)tolower((int)cp);
    pthread_once(&g_once, init_locale);
    return g_utf8 ? (uint32_t)towlower_l((wint_t)cp, g_utf8) : cp;
}

uint32_t expr_upper(uint32_t cp)
{
    if (cp < 0x80) return (uint32_t)toupper((int)cp);
    pthread_once(&g_once, init_locale);
    return g_utf8 ? (uint32_t)towupper_l((wint_t)cp, g_utf8) : cp;
}

bool expr_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 || cp == 0x85 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}
