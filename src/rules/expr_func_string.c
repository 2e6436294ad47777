/* Text functions: Left, Right, Mid, Len, LCase, UCase, PCase, Trim, LTrim, RTrim, PadLeft, PadRight,
 * Replace, ReplaceChars, InStr, InStrRev, Word, Guid, RandomNum. Positions count Unicode characters. */
#define _GNU_SOURCE 1  /* memmem */
#include "rules/expr_int.h"
#include <sodium.h>
#include <string.h>
#include <strings.h>

static void sub(ev *out, const char *s, size_t from, size_t to)
{
    *out = expr_str(s + from, to - from);
}

FN(f_left)
{
    const char *s;
    size_t l;
    long long k;
    if (IS_NULL(0)) { *out = expr_str("", 0); return 0; }
    ARG_TEXT(0, s, l);
    ARG_INT(1, k);
    if (k < 0) { *out = expr_str(s, l); return 0; }
    sub(out, s, 0, expr_utf8_offset(s, l, (size_t)k));
    return 0;
}

FN(f_right)
{
    const char *s;
    size_t l;
    long long k;
    if (IS_NULL(0)) { *out = expr_str("", 0); return 0; }
    ARG_TEXT(0, s, l);
    ARG_INT(1, k);
    if (k < 0) { *out = expr_str(s, l); return 0; }
    size_t cnt = expr_utf8_count(s, l);
    size_t skip = (size_t)k >= cnt ? 0 : cnt - (size_t)k;
    sub(out, s, expr_utf8_offset(s, l, skip), l);
    return 0;
}

FN(f_mid)
{
    const char *s;
    size_t l;
    long long st, k;
    if (IS_NULL(0)) { *out = expr_str("", 0); return 0; }
    ARG_TEXT(0, s, l);
    ARG_INT(1, st);
    ARG_INT(2, k);
    size_t cnt = expr_utf8_count(s, l);
    /* as documented by Entra: out-of-range start or negative count return the input */
    if (k < 0 || st <= 0 || (size_t)st > cnt) { *out = expr_str(s, l); return 0; }
    size_t b = expr_utf8_offset(s, l, (size_t)st - 1);
    size_t e = b + expr_utf8_offset(s + b, l - b, (size_t)k);
    sub(out, s, b, e);
    return 0;
}

FN(f_len)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    *out = expr_int((long long)expr_utf8_count(s, l));
    return 0;
}

/* mode 0 = lower, 1 = upper, 2 = proper (first letter of each blank-separated word upper) */
static int recase(ectx *c, const node *n, ev *a, ev *out, int mode)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    expr_sb b;
    expr_sb_init(&b, FNAME);
    size_t i = 0;
    bool word_start = true;
    while (i < l) {
        if ((unsigned char)s[i] < 0x80) {
            /* ASCII run: mapped here and appended in pieces rather than per character */
            char run[128];
            size_t k = 0;
            while (i < l && k < sizeof run && (unsigned char)s[i] < 0x80) {
                int ch = (unsigned char)s[i++];
                bool up = mode == 1 || (mode == 2 && word_start);
                run[k++] = (char)(up ? (ch >= 'a' && ch <= 'z' ? ch - 32 : ch) : (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
                word_start = ch == ' ' || (ch >= 0x09 && ch <= 0x0D);
            }
            expr_sb_add_bytewise(c, &b, run, k);
            continue;
        }
        uint32_t cp = expr_utf8_next(s, l, &i);
        uint32_t r;
        if (mode == 0) r = expr_lower(cp);
        else if (mode == 1) r = expr_upper(cp);
        else r = word_start ? expr_upper(cp) : expr_lower(cp);
        word_start = expr_is_space(cp);
        char tmp[4];
        expr_sb_add(c, &b, tmp, expr_utf8_put(r, tmp));
    }
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}
FN(f_lcase) { (void)na; return recase(c, n, a, out, 0); }
FN(f_ucase) { (void)na; return recase(c, n, a, out, 1); }
FN(f_pcase) { (void)na; return recase(c, n, a, out, 2); }

static int trim(ectx *c, const node *n, ev *a, ev *out, bool left, bool right)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    size_t b = 0, e = l;
    if (left) {
        while (b < e) {
            size_t j = b;
            if (!expr_is_space(expr_utf8_next(s, l, &j))) break;
            b = j;
        }
    }
    if (right) {
        while (e > b) {
            size_t j = e - 1;
            while (j > b && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
            size_t k = j;
            if (!expr_is_space(expr_utf8_next(s, l, &k))) break;
            e = j;
        }
    }
    sub(out, s, b, e);
    return 0;
}
FN(f_trim) { (void)na; return trim(c, n, a, out, true, true); }
FN(f_ltrim) { (void)na; return trim(c, n, a, out, true, false); }
FN(f_rtrim) { (void)na; return trim(c, n, a, out, false, true); }

static int pad(ectx *c, const node *n, ev *a, ev *out, bool left)
{
    const char *s, *p;
    size_t l, pl;
    long long want;
    if (IS_NULL(0)) { *out = expr_str("", 0); return 0; }
    ARG_TEXT(0, s, l);
    ARG_INT(1, want);
    if (IS_NULL(2)) return expr_fail(c, "%s: the pad character must not be NULL", FNAME);
    ARG_TEXT(2, p, pl);
    if (expr_utf8_count(p, pl) != 1)
        return expr_fail(c, "%s: the pad character must be exactly one character, not \"%.*s\"", FNAME,
                         (int)(pl > 20 ? 20 : pl), p);
    size_t cnt = expr_utf8_count(s, l);
    if (want <= 0 || (size_t)want <= cnt) { *out = expr_str(s, l); return 0; }
    size_t add = (size_t)want - cnt;
    if (add > EXPR_MAX_STRING || add * pl + l > EXPR_MAX_STRING)
        return expr_fail(c, "%s: result would be longer than the %d-byte limit for a value", FNAME, EXPR_MAX_STRING);
    size_t total = add * pl + l;
    char *d = expr_strbuf(c, FNAME, total);
    size_t k = 0;
    if (!left) { memcpy(d, s, l); k = l; }
    for (size_t i = 0; i < add; i++) { memcpy(d + k, p, pl); k += pl; }
    if (left) memcpy(d + k, s, l);
    *out = expr_str(d, total);
    return 0;
}
FN(f_padleft) { (void)na; return pad(c, n, a, out, true); }
FN(f_padright) { (void)na; return pad(c, n, a, out, false); }

/* Replace's monikers \n, \r and \t (as Entra documents them) in a search or replacement text. */
static void monikers(ectx *c, const char *fname, const char *s, size_t l, const char **o, size_t *ol)
{
    if (!memchr(s, '\\', l)) { *o = s; *ol = l; return; }
    char *d = expr_strbuf(c, fname, l);
    size_t k = 0;
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '\\' && i + 1 < l && (s[i + 1] == 'n' || s[i + 1] == 'r' || s[i + 1] == 't')) {
            d[k++] = s[i + 1] == 'n' ? '\n' : s[i + 1] == 'r' ? '\r' : '\t';
            i++;
        } else {
            d[k++] = s[i];
        }
    }
    *o = d;
    *ol = k;
}

FN(f_replace)
{
    const char *s, *f, *r;
    size_t l, fl, rl;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    if (IS_NULL(1)) { *out = expr_str(s, l); return 0; }
    ARG_TEXT(1, f, fl);
    if (IS_NULL(2)) { r = ""; rl = 0; }
    else ARG_TEXT(2, r, rl);
    monikers(c, FNAME, f, fl, &f, &fl);
    monikers(c, FNAME, r, rl, &r, &rl);
    if (fl == 0 || fl > l) { *out = expr_str(s, l); return 0; }
    expr_sb b;
    expr_sb_init(&b, FNAME);
    size_t from = 0;
    const char *hit;
    while ((hit = memmem(s + from, l - from, f, fl)) != NULL) {
        size_t i = (size_t)(hit - s);
        expr_step(c, 1);
        expr_sb_add(c, &b, s + from, i - from);
        expr_sb_add(c, &b, r, rl);
        from = i + fl;
    }
    if (from == 0) { *out = expr_str(s, l); return 0; }
    expr_sb_add(c, &b, s + from, l - from);
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}

/* ReplaceChars pattern "{src}:{target},..." with blanks ignored; src exactly one character. */
FN(f_replacechars)
{
    const char *s, *p;
    size_t l, pl;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    if (IS_NULL(1)) { *out = expr_str(s, l); return 0; }
    ARG_TEXT(1, p, pl);
    enum { MAXMAP = 256 };
    uint32_t src[MAXMAP];
    const char *tgt[MAXMAP];
    size_t tl[MAXMAP];
    int nm = 0;
    size_t i = 0;
    while (i < pl) {
        /* one entry up to ',' */
        size_t e = i;
        while (e < pl && p[e] != ',') e++;
        size_t colon = i;
        while (colon < e && p[colon] != ':') colon++;
        if (colon == e) {
            bool blank = true;
            for (size_t k = i; k < e; k++) if (p[k] != ' ' && p[k] != '\t') blank = false;
            if (blank) { i = e + 1; continue; }
            return expr_fail(c, "ReplaceChars: entry \"%.*s\" has no ':' (the pattern is source:target,...)",
                             (int)(e - i > 20 ? 20 : e - i), p + i);
        }
        /* source: one non-blank character */
        uint32_t cp = 0;
        int ns = 0;
        size_t k = i;
        while (k < colon) {
            uint32_t ch = expr_utf8_next(p, colon, &k);
            if (ch == ' ' || ch == '\t') continue;
            cp = ch;
            ns++;
        }
        if (ns != 1)
            return expr_fail(c, "ReplaceChars: source \"%.*s\" must be exactly one character",
                             (int)(colon - i > 20 ? 20 : colon - i), p + i);
        if (nm == MAXMAP) return expr_fail(c, "ReplaceChars: more than %d entries in the pattern", MAXMAP);
        /* target: the text after ':' without blanks */
        size_t tb = colon + 1, te = e;
        char *t = expr_strbuf(c, FNAME, te - tb);
        size_t tn = 0;
        for (size_t q = tb; q < te; q++) if (p[q] != ' ' && p[q] != '\t') t[tn++] = p[q];
        src[nm] = cp;
        tgt[nm] = t;
        tl[nm] = tn;
        nm++;
        i = e + 1;
    }
    unsigned short amap[128] = {0};
    for (int k = nm - 1; k >= 0; k--) if (src[k] < 128) amap[src[k]] = (unsigned short)(k + 1);
    expr_sb b;
    expr_sb_init(&b, FNAME);
    i = 0;
    while (i < l) {
        size_t st = i;
        uint32_t cp = expr_utf8_next(s, l, &i);
        int m = cp < 128 ? (int)amap[cp] - 1 : -1;
        if (cp >= 128) {
            expr_step(c, nm / 16);
            for (int k = 0; k < nm; k++) if (src[k] == cp) { m = k; break; }
        }
        if (m >= 0) expr_sb_add(c, &b, tgt[m], tl[m]);
        else expr_sb_add(c, &b, s + st, i - st);
    }
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}

/* Compare mode for InStr/InStrRev: vbBinaryCompare (default) or vbTextCompare (ignores case). */
static int compare_arg(ectx *c, const node *n, ev *a, int na, int idx, bool *ci)
{
    *ci = false;
    if (na <= idx || IS_NULL(idx)) return 0;
    const char *s;
    size_t l;
    if (a[idx].kind == EV_NUM) { *ci = a[idx].isint && a[idx].u.i == 1; return 0; }
    ARG_TEXT(idx, s, l);
    if (l == 13 && strncasecmp(s, "vbTextCompare", 13) == 0) *ci = true;
    else if (l == 15 && strncasecmp(s, "vbBinaryCompare", 15) == 0) *ci = false;
    else return expr_fail(c, "%s: compare must be vbTextCompare or vbBinaryCompare", FNAME);
    return 0;
}

static bool match_at(const char *s, size_t l, size_t pos, const char *m, size_t ml, bool ci, size_t *end)
{
    if (!ci) {
        if (pos + ml > l || memcmp(s + pos, m, ml) != 0) return false;
        *end = pos + ml;
        return true;
    }
    size_t i = pos, j = 0;
    while (j < ml) {
        if (i >= l) return false;
        uint32_t x = expr_utf8_next(s, l, &i), y = expr_utf8_next(m, ml, &j);
        if (x != y && expr_lower(x) != expr_lower(y)) return false;
    }
    *end = i;
    return true;
}

/* First match of m in s at or after byte from: its byte offset, or -1. Binary compare uses
   memmem (linear); text compare walks characters and pays evaluation steps for it. */
static long find(ectx *c, const char *s, size_t l, size_t from, const char *m, size_t ml, bool ci)
{
    size_t end;
    if (!ci) {
        const char *p = from <= l ? memmem(s + from, l - from, m, ml) : NULL;
        return p ? (long)(p - s) : -1;
    }
    size_t i = from;
    while (i < l) {
        expr_step(c, 1 + (long)(ml / 16));
        if (match_at(s, l, i, m, ml, ci, &end)) return (long)i;
        expr_utf8_next(s, l, &i);
    }
    return -1;
}

FN(f_instr)
{
    const char *s, *m;
    size_t l, ml;
    long long st = 1;
    bool ci;
    if (IS_NULL(0) || IS_NULL(1)) RET_NULL();
    ARG_TEXT(0, s, l);
    ARG_TEXT(1, m, ml);
    if (na >= 3 && !IS_NULL(2)) ARG_INT(2, st);
    if (compare_arg(c, n, a, na, 3, &ci) < 0) return ERR_FAIL;
    if (st < 1) return expr_fail(c, "InStr: start must be 1 or more, not %lld", st);
    size_t cnt = expr_utf8_count(s, l);
    if ((size_t)st > cnt + 1) { *out = expr_int(0); return 0; }
    if (ml == 0) { *out = expr_int(st); return 0; }
    size_t i = expr_utf8_offset(s, l, (size_t)st - 1);
    long off = find(c, s, l, i, m, ml, ci);
    *out = expr_int(off < 0 ? 0 : (long long)expr_utf8_count(s, (size_t)off) + 1);
    return 0;
}

FN(f_instrrev)
{
    const char *s, *m;
    size_t l, ml;
    long long st = -1;
    bool ci;
    if (IS_NULL(0) || IS_NULL(1)) RET_NULL();
    ARG_TEXT(0, s, l);
    ARG_TEXT(1, m, ml);
    if (na >= 3 && !IS_NULL(2)) ARG_INT(2, st);
    if (compare_arg(c, n, a, na, 3, &ci) < 0) return ERR_FAIL;
    long long cnt = (long long)expr_utf8_count(s, l);
    if (st == -1) st = cnt;
    if (st < 1) return expr_fail(c, "InStrRev: start must be -1 or 1 or more, not %lld", st);
    if (st > cnt) { *out = expr_int(0); return 0; }
    if (ml == 0) { *out = expr_int(st); return 0; }
    /* the last match that ends at or before character st; a match spans Len(m) characters */
    long long mchars = (long long)expr_utf8_count(m, ml), found = 0, charpos = 1;
    size_t bytepos = 0, from = 0;
    for (;;) {
        long off = find(c, s, l, from, m, ml, ci);
        if (off < 0) break;
        expr_step(c, 1 + (long)(ml / 64));
        charpos += (long long)expr_utf8_count(s + bytepos, (size_t)off - bytepos);
        bytepos = (size_t)off;
        if (charpos + mchars - 1 > st) break;
        found = charpos;
        from = (size_t)off;
        expr_utf8_next(s, l, &from);
    }
    *out = expr_int(found);
    return 0;
}

/* A set of delimiter characters: ASCII in a table, others in a short list. */
typedef struct charset { unsigned char ascii[128]; uint32_t *other; size_t nother; } charset;
static void charset_init(ectx *c, charset *cs, const char *d, size_t dl)
{
    memset(cs, 0, sizeof *cs);
    cs->other = expr_alloc(c, sizeof(uint32_t) * (dl + 1));
    size_t i = 0;
    while (i < dl) {
        uint32_t cp = expr_utf8_next(d, dl, &i);
        if (cp < 128) cs->ascii[cp] = 1;
        else cs->other[cs->nother++] = cp;
    }
}
static bool charset_has(ectx *c, const charset *cs, uint32_t cp)
{
    if (cp < 128) return cs->ascii[cp];
    if (cs->nother > 16) expr_step(c, (long)(cs->nother / 16));
    for (size_t k = 0; k < cs->nother; k++) if (cs->other[k] == cp) return true;
    return false;
}

FN(f_word)
{
    const char *s, *d;
    size_t l, dl;
    long long k;
    if (IS_NULL(0)) { *out = expr_str("", 0); return 0; }
    ARG_TEXT(0, s, l);
    ARG_INT(1, k);
    if (IS_NULL(2)) { d = ""; dl = 0; }
    else ARG_TEXT(2, d, dl);
    if (k < 1) { *out = expr_str("", 0); return 0; }
    charset cs;
    charset_init(c, &cs, d, dl);
    size_t i = 0;
    long long w = 0;
    while (i < l) {
        size_t j = i;
        while (i < l && (j = i, charset_has(c, &cs, expr_utf8_next(s, l, &j)))) i = j;  /* delimiters */
        if (i >= l) break;
        size_t b = i;
        while (i < l && (j = i, !charset_has(c, &cs, expr_utf8_next(s, l, &j)))) i = j;  /* the word */
        if (++w == k) { sub(out, s, b, i); return 0; }
    }
    *out = expr_str("", 0);
    return 0;
}

FN(f_guid)
{
    unsigned char g[16];
    if (sodium_init() < 0) return expr_fail(c, "Guid: the random generator is unavailable");
    randombytes_buf(g, sizeof g);
    g[7] = (unsigned char)((g[7] & 0x0F) | 0x40);  /* version 4 (Data3 is stored little-endian) */
    g[8] = (unsigned char)((g[8] & 0x3F) | 0x80);  /* RFC 4122 variant */
    char *d = expr_strbuf(c, FNAME, 38);
    expr_guid_format(g, d);
    *out = expr_str(d, 38);
    return 0;
}

FN(f_randomnum)
{
    long long lo, hi;
    ARG_INT(0, lo);
    ARG_INT(1, hi);
    if (hi < lo) return expr_fail(c, "RandomNum: end (%lld) is less than start (%lld)", hi, lo);
    if ((unsigned long long)(hi - lo) >= 0xFFFFFFFFULL)
        return expr_fail(c, "RandomNum: the range is wider than 2^32");
    if (sodium_init() < 0) return expr_fail(c, "RandomNum: the random generator is unavailable");
    *out = expr_int(lo + (long long)randombytes_uniform((uint32_t)(hi - lo + 1)));
    return 0;
}

static const fndef FNS[] = {
    {"Left", 2, 2, 0, 0, f_left, NULL},
    {"Right", 2, 2, 0, 0, f_right, NULL},
    {"Mid", 3, 3, 0, 0, f_mid, NULL},
    {"Len", 1, 1, 0, 0, f_len, NULL},
    {"LCase", 1, 1, 0, 0, f_lcase, NULL},
    {"UCase", 1, 1, 0, 0, f_ucase, NULL},
    {"PCase", 1, 1, 0, 0, f_pcase, NULL},
    {"Trim", 1, 1, 0, 0, f_trim, NULL},
    {"LTrim", 1, 1, 0, 0, f_ltrim, NULL},
    {"RTrim", 1, 1, 0, 0, f_rtrim, NULL},
    {"PadLeft", 3, 3, 0, 0, f_padleft, NULL},
    {"PadRight", 3, 3, 0, 0, f_padright, NULL},
    {"Replace", 3, 3, 0, 0, f_replace, NULL},
    {"ReplaceChars", 2, 2, 0, 0, f_replacechars, NULL},
    {"InStr", 2, 4, 0, 0, f_instr, NULL},
    {"InStrRev", 2, 4, 0, 0, f_instrrev, NULL},
    {"Word", 3, 3, 0, 0, f_word, NULL},
    {"Guid", 0, 0, FN_VOLATILE, 0, f_guid, NULL},
    {"RandomNum", 2, 2, FN_VOLATILE, 0, f_randomnum, NULL},
};

const fndef *expr_fns_string(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
