/* Directory functions on distinguished names (RFC 4514 syntax): DNComponent, DNComponentRev,
 * EscapeDNComponent. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct span { size_t b, e; } span;

static bool ishex(char ch) { return isxdigit((unsigned char)ch) != 0; }

/* Splits dn into RDN byte ranges at unescaped, unquoted ',' or ';'. */
static size_t split_rdns(ectx *c, const char *s, size_t l, span **out)
{
    size_t cap = 1;
    for (size_t i = 0; i < l; i++) if (s[i] == ',' || s[i] == ';') cap++;
    span *v = expr_alloc(c, sizeof(span) * cap);
    size_t n = 0, b = 0;
    bool q = false;
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '\\') {
            i += (i + 2 < l && ishex(s[i + 1]) && ishex(s[i + 2])) ? 2 : 1;
            continue;
        }
        if (s[i] == '"') q = !q;
        else if (!q && (s[i] == ',' || s[i] == ';')) {
            v[n].b = b;
            v[n].e = i;
            n++;
            b = i + 1;
        }
    }
    v[n].b = b;
    v[n].e = l;
    n++;
    expr_step(c, (long)n);
    *out = v;
    return n;
}

static void trim_span(const char *s, span *r)
{
    while (r->b < r->e && s[r->b] == ' ') r->b++;
    while (r->e > r->b && s[r->e - 1] == ' ' && !(r->e >= 2 && s[r->e - 2] == '\\')) r->e--;
}

/* Byte offset of the '=' ending the attribute type of an RDN, or r.e if none. */
static size_t eq_of(const char *s, span r)
{
    for (size_t i = r.b; i < r.e; i++) {
        if (s[i] == '\\') { i++; continue; }
        if (s[i] == '=') return i;
    }
    return r.e;
}

static bool is_dc(const char *s, span r)
{
    span t = {r.b, eq_of(s, r)};
    trim_span(s, &t);
    return t.e - t.b == 2 && strncasecmp(s + t.b, "dc", 2) == 0;
}

/* The unescaped value of an RDN (after its first '='). */
static void rdn_value(ectx *c, const char *fname, const char *s, span r, ev *out)
{
    trim_span(s, &r);
    size_t eq = eq_of(s, r);
    span v = {eq < r.e ? eq + 1 : r.b, r.e};
    trim_span(s, &v);
    if (v.e - v.b >= 2 && s[v.b] == '"' && s[v.e - 1] == '"') { v.b++; v.e--; }
    if (!memchr(s + v.b, '\\', v.e - v.b)) { *out = expr_str(s + v.b, v.e - v.b); return; }
    char *d = expr_strbuf(c, fname, v.e - v.b);
    size_t k = 0;
    for (size_t i = v.b; i < v.e; i++) {
        if (s[i] == '\\' && i + 1 < v.e) {
            if (i + 2 < v.e && ishex(s[i + 1]) && ishex(s[i + 2])) {
                char hx[3] = {s[i + 1], s[i + 2], 0};
                d[k++] = (char)strtol(hx, NULL, 16);
                i += 2;
            } else {
                d[k++] = s[++i];
            }
        } else {
            d[k++] = s[i];
        }
    }
    *out = expr_str(d, k);
}

static int component(ectx *c, const node *n, ev *a, int na, ev *out, bool rev)
{
    const char *s;
    size_t l;
    long long k;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    ARG_INT(1, k);
    bool skip_dc = false;
    if (na >= 3 && !IS_NULL(2)) {
        const char *o;
        size_t ol;
        ARG_TEXT(2, o, ol);
        if (ol == 2 && strncasecmp(o, "DC", 2) == 0) skip_dc = true;
        else return expr_fail(c, "%s: unknown option \"%.*s\" (the only option is \"DC\")", FNAME, (int)(ol > 20 ? 20 : ol), o);
    }
    if (k < 1) RET_NULL();
    span *r;
    size_t cnt = split_rdns(c, s, l, &r);
    long long seen = 0;
    for (size_t i = 0; i < cnt; i++) {
        span x = r[rev ? cnt - 1 - i : i];
        if (skip_dc && is_dc(s, x)) continue;
        if (++seen == k) {
            rdn_value(c, FNAME, s, x, out);
            return 0;
        }
    }
    RET_NULL();
}
FN(f_dncomponent) { return component(c, n, a, na, out, false); }
FN(f_dncomponentrev) { return component(c, n, a, na, out, true); }

FN(f_escapedncomponent)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    /* "cn=value": keep the type and '=', escape the value (as Entra's example uses it) */
    size_t vb = 0;
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '=') { vb = i + 1; break; }
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.' || s[i] == ' ')) break;
    }
    expr_sb b;
    expr_sb_init(&b, FNAME);
    expr_sb_add(c, &b, s, vb);
    for (size_t i = vb; i < l; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool lead = i == vb, trail = i + 1 == l;
        if (ch == ',' || ch == '+' || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == ';' || ch == '=' ||
            (lead && (ch == ' ' || ch == '#')) || (trail && ch == ' ')) {
            expr_sb_addc(c, &b, '\\');
            expr_sb_addc(c, &b, (char)ch);
        } else if (ch < 0x20 || ch == 0x7f) {
            char hx[4];
            snprintf(hx, sizeof hx, "\\%02X", ch);
            expr_sb_add(c, &b, hx, 3);
        } else {
            expr_sb_addc(c, &b, (char)ch);
        }
    }
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}

static const fndef FNS[] = {
    {"DNComponent", 2, 2, 0, 0, f_dncomponent, NULL},
    {"DNComponentRev", 2, 3, 0, 0, f_dncomponentrev, NULL},
    {"EscapeDNComponent", 1, 1, 0, 0, f_escapedncomponent, NULL},
};

const fndef *expr_fns_dn(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
