/* Conversion functions: CBool, CNum, CStr, CDate, CGuid, CRef, StringFromGuid, StringFromSid,
 * ConvertToBase64/ConvertFromBase64 (libsodium), ConvertToUTF8Hex/ConvertFromUTF8Hex. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

FN(f_cbool)
{
    if (IS_NULL(0)) RET_NULL();
    int t = expr_truth(&a[0]);
    if (t < 0) {
        if (EV_IS_TEXT(&a[0]))
            return expr_fail(c, "CBool: \"%.*s\" is not True, False or a number", (int)(a[0].len > 40 ? 40 : a[0].len),
                             a[0].u.s);
        return expr_fail(c, "CBool: cannot convert %s to Boolean", expr_kind_name(a[0].kind));
    }
    *out = expr_bool(t);
    return 0;
}

FN(f_cnum)
{
    if (IS_NULL(0)) RET_NULL();
    if (a[0].kind == EV_NUM) { *out = a[0]; return 0; }
    if (a[0].kind == EV_BOOL) { *out = expr_int(a[0].u.b); return 0; }
    if (EV_IS_TEXT(&a[0])) {
        if (expr_parse_num(a[0].u.s, a[0].len, out) == 0) return 0;
        return expr_fail(c, "CNum: \"%.*s\" is not a number", (int)(a[0].len > 40 ? 40 : a[0].len), a[0].u.s);
    }
    return expr_fail(c, "CNum: cannot convert %s to a number", expr_kind_name(a[0].kind));
}

FN(f_cstr)
{
    if (IS_NULL(0)) RET_NULL();
    if (expr_to_text(c, &a[0], out) < 0)
        return expr_fail(c, "CStr: cannot convert %s to a string (use ConvertToBase64 or StringFromGuid for binary)",
                         expr_kind_name(a[0].kind));
    out->kind = EV_STR;
    return 0;
}

FN(f_cdate)
{
    long long t;
    if (IS_NULL(0)) RET_NULL();
    ARG_DATE(0, t);
    memset(out, 0, sizeof *out);
    out->kind = EV_DATE;
    out->u.t = t;
    return 0;
}

FN(f_cref)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    *out = expr_str(s, l);
    out->kind = EV_REF;
    return 0;
}

FN(f_cguid)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    char *g = expr_strbuf(c, FNAME, 16);
    if (expr_guid_parse(s, l, (unsigned char *)g) < 0)
        return expr_fail(c, "CGuid: \"%.*s\" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                         (int)(l > 40 ? 40 : l), s);
    memset(out, 0, sizeof *out);
    out->kind = EV_BIN;
    out->u.s = g;
    out->len = 16;
    return 0;
}

void expr_guid_format(const unsigned char g[16], char *buf)
{
    snprintf(buf, 39, "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}", g[3], g[2], g[1], g[0],
             g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

FN(f_stringfromguid)
{
    if (IS_NULL(0)) RET_NULL();
    if (a[0].kind != EV_BIN || a[0].len != 16)
        return expr_fail(c, "StringFromGuid: argument must be a 16-byte binary GUID, not %s of %zu bytes",
                         expr_kind_name(a[0].kind), a[0].len);
    char *d = expr_strbuf(c, FNAME, 38);
    expr_guid_format((const unsigned char *)a[0].u.s, d);
    *out = expr_str(d, 38);
    return 0;
}

/* Binary SID ([MS-DTYP] 2.4.2.2): revision, sub-authority count, 6-byte big-endian authority,
   then little-endian 32-bit sub-authorities; text form per [MS-DTYP] 2.4.2.1. */
FN(f_stringfromsid)
{
    if (IS_NULL(0)) RET_NULL();
    const unsigned char *p = (const unsigned char *)a[0].u.s;
    size_t len = a[0].len;
    if (a[0].kind != EV_BIN || len < 8 || p[1] > 15 || len != 8 + 4 * (size_t)p[1])
        return expr_fail(c, "StringFromSid: argument is not a binary security identifier (%s of %zu bytes)",
                         expr_kind_name(a[0].kind), len);
    unsigned long long auth = 0;
    for (int i = 2; i < 8; i++) auth = (auth << 8) | p[i];
    char tmp[200];
    int k = auth < (1ULL << 32) ? snprintf(tmp, sizeof tmp, "S-%u-%llu", p[0], auth)
                                : snprintf(tmp, sizeof tmp, "S-%u-0x%012llX", p[0], auth);
    for (int i = 0; i < p[1]; i++) {
        const unsigned char *q = p + 8 + 4 * i;
        unsigned long v = (unsigned long)q[0] | (unsigned long)q[1] << 8 | (unsigned long)q[2] << 16 |
                          (unsigned long)q[3] << 24;
        k += snprintf(tmp + k, sizeof tmp - (size_t)k, "-%lu", v);
    }
    char *d = expr_strbuf(c, FNAME, (size_t)k);
    memcpy(d, tmp, (size_t)k);
    *out = expr_str(d, (size_t)k);
    return 0;
}

typedef enum enc { ENC_UNICODE, ENC_UTF8, ENC_ASCII } enc;

static int encoding_arg(ectx *c, const node *n, ev *a, int na, enc *e)
{
    *e = ENC_UNICODE;
    if (na < 2 || IS_NULL(1)) return 0;
    const char *s;
    size_t l;
    ARG_TEXT(1, s, l);
    if ((l == 4 && strncasecmp(s, "UTF8", 4) == 0) || (l == 5 && strncasecmp(s, "UTF-8", 5) == 0)) *e = ENC_UTF8;
    else if ((l == 7 && strncasecmp(s, "Unicode", 7) == 0) || (l == 5 && strncasecmp(s, "UTF16", 5) == 0)) *e = ENC_UNICODE;
    else if (l == 5 && strncasecmp(s, "ASCII", 5) == 0) *e = ENC_ASCII;
    else return expr_fail(c, "%s: unknown encoding \"%.*s\" (use Unicode, UTF8 or ASCII)", FNAME, (int)(l > 20 ? 20 : l), s);
    return 0;
}

FN(f_tobase64)
{
    if (IS_NULL(0)) RET_NULL();
    const char *bytes;
    size_t blen;
    enc e;
    if (encoding_arg(c, n, a, na, &e) < 0) return ERR_FAIL;
    if (a[0].kind == EV_BIN) {
        bytes = a[0].u.s;
        blen = a[0].len;
    } else {
        const char *s;
        size_t l;
        ARG_TEXT(0, s, l);
        if (e == ENC_UTF8) {
            bytes = s;
            blen = l;
        } else if (e == ENC_ASCII) {
            char *d = expr_strbuf(c, FNAME, l);
            size_t k = 0, i = 0;
            while (i < l) {
                uint32_t cp = expr_utf8_next(s, l, &i);
                d[k++] = cp < 0x80 ? (char)cp : '?';
            }
            bytes = d;
            blen = k;
        } else {  /* UTF-16LE, as .NET Encoding.Unicode */
            char *d = expr_strbuf(c, FNAME, l * 2 + 4);
            size_t k = 0, i = 0;
            while (i < l) {
                uint32_t cp = expr_utf8_next(s, l, &i);
                if (cp >= 0x10000) {
                    uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
                    d[k++] = (char)(hi & 0xFF); d[k++] = (char)(hi >> 8);
                    d[k++] = (char)(lo & 0xFF); d[k++] = (char)(lo >> 8);
                } else {
                    d[k++] = (char)(cp & 0xFF);
                    d[k++] = (char)(cp >> 8);
                }
            }
            bytes = d;
            blen = k;
        }
    }
    size_t olen = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
    char *o = expr_strbuf(c, FNAME, olen);
    sodium_bin2base64(o, olen, (const unsigned char *)bytes, blen, sodium_base64_VARIANT_ORIGINAL);
    *out = expr_str(o, strlen(o));
    return 0;
}

FN(f_frombase64)
{
    if (IS_NULL(0)) RET_NULL();
    const char *s;
    size_t l, blen = 0;
    enc e;
    if (encoding_arg(c, n, a, na, &e) < 0) return ERR_FAIL;
    ARG_TEXT(0, s, l);
    char *bin = expr_strbuf(c, FNAME, l);
    const char *end = NULL;
    if (sodium_base642bin((unsigned char *)bin, l, s, l, " \r\n\t", &blen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + l)
        return expr_fail(c, "ConvertFromBase64: \"%.*s\" is not valid base64", (int)(l > 40 ? 40 : l), s);
    if (e == ENC_UNICODE) {
        if (blen % 2) return expr_fail(c, "ConvertFromBase64: decoded %zu bytes, not UTF-16 text (use UTF8?)", blen);
        char *d = expr_strbuf(c, FNAME, blen / 2 * 3);
        size_t k = 0;
        for (size_t i = 0; i < blen; i += 2) {
            uint32_t u = (unsigned char)bin[i] | (uint32_t)(unsigned char)bin[i + 1] << 8;
            if (u >= 0xD800 && u <= 0xDBFF && i + 3 < blen) {
                uint32_t lo = (unsigned char)bin[i + 2] | (uint32_t)(unsigned char)bin[i + 3] << 8;
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i += 2;
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF) return expr_fail(c, "ConvertFromBase64: decoded text is not valid UTF-16");
            k += expr_utf8_put(u, d + k);
        }
        *out = expr_str(d, k);
        return 0;
    }
    if (e == ENC_ASCII) {
        for (size_t i = 0; i < blen; i++)
            if ((unsigned char)bin[i] >= 0x80) return expr_fail(c, "ConvertFromBase64: decoded bytes are not ASCII");
    } else if (!expr_utf8_valid(bin, blen)) {
        return expr_fail(c, "ConvertFromBase64: decoded bytes are not valid UTF-8");
    }
    *out = expr_str(bin, blen);
    return 0;
}

FN(f_toutf8hex)
{
    static const char HEX[] = "0123456789ABCDEF";
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    char *d = expr_strbuf(c, FNAME, l * 2);
    for (size_t i = 0; i < l; i++) {
        d[2 * i] = HEX[(unsigned char)s[i] >> 4];
        d[2 * i + 1] = HEX[(unsigned char)s[i] & 15];
    }
    *out = expr_str(d, l * 2);
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

FN(f_fromutf8hex)
{
    const char *s;
    size_t l;
    if (IS_NULL(0)) RET_NULL();
    ARG_TEXT(0, s, l);
    if (l % 2) return expr_fail(c, "ConvertFromUTF8Hex: odd number of hex digits (%zu)", l);
    char *d = expr_strbuf(c, FNAME, l / 2);
    for (size_t i = 0; i < l; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return expr_fail(c, "ConvertFromUTF8Hex: \"%.*s\" is not hexadecimal", (int)(l > 40 ? 40 : l), s);
        d[i / 2] = (char)(hi * 16 + lo);
    }
    if (!expr_utf8_valid(d, l / 2)) return expr_fail(c, "ConvertFromUTF8Hex: the bytes are not valid UTF-8");
    *out = expr_str(d, l / 2);
    return 0;
}

static const fndef FNS[] = {
    {"CBool", 1, 1, 0, 0, f_cbool, NULL},
    {"CNum", 1, 1, 0, 0, f_cnum, NULL},
    {"CStr", 1, 1, 0, 0, f_cstr, NULL},
    {"CDate", 1, 1, 0, 0, f_cdate, NULL},
    {"CRef", 1, 1, 0, 0, f_cref, NULL},
    {"CGuid", 1, 1, 0, 0, f_cguid, NULL},
    {"StringFromGuid", 1, 1, 0, 0, f_stringfromguid, NULL},
    {"StringFromSid", 1, 1, 0, 0, f_stringfromsid, NULL},
    {"ConvertToBase64", 1, 2, 0, 0, f_tobase64, NULL},
    {"ConvertFromBase64", 1, 2, 0, 0, f_frombase64, NULL},
    {"ConvertToUTF8Hex", 1, 1, 0, 0, f_toutf8hex, NULL},
    {"ConvertFromUTF8Hex", 1, 1, 0, 0, f_fromutf8hex, NULL},
};

const fndef *expr_fns_convert(size_t *n)
{
    *n = sizeof FNS / sizeof FNS[0];
    return FNS;
}
