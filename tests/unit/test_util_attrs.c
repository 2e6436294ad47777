/* Attribute sets: case-insensitive names, sorted order, value edits, multiset equality,
 * binary encoding round trip, rejection of corrupt encodings, and UTF-8 validation. */
#include "util/util_attrs.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

static void test_put_get_case_insensitive(void **state)
{
    (void)state;
    attrs *s = attrs_new();
    attrs_set_str(s, "displayName", "Ada Lovelace");
    assert_non_null(attrs_get(s, "DISPLAYNAME"));
    assert_non_null(attrs_get(s, "displayname"));
    assert_string_equal(attrs_get_str(s, "DisplayName"), "Ada Lovelace");
    /* the name keeps the case it was first seen with */
    assert_string_equal(attrs_get(s, "displayname")->name, "displayName");
    /* put on an existing name replaces values and type, keeps one attribute */
    attr *a = attrs_put(s, "DISPLAYNAME", AT_BINARY);
    attr_add(a, "\x00\x01", 2);
    assert_int_equal(s->n, 1);
    assert_int_equal(attrs_get(s, "displayName")->type, AT_BINARY);
    assert_int_equal(attrs_get(s, "displayName")->nvals, 1);
    assert_int_equal(attrs_get(s, "displayName")->vals[0].len, 2);
    /* get_or_add keeps existing values */
    a = attrs_get_or_add(s, "displayname", AT_STRING);
    assert_int_equal(a->nvals, 1);
    assert_int_equal(a->type, AT_BINARY);
    assert_null(attrs_get(s, "mail"));
    assert_null(attrs_get_str(s, "mail"));
    /* empty attribute: present, but no first value */
    attrs_put(s, "mail", AT_STRING);
    assert_non_null(attrs_get(s, "mail"));
    assert_null(attrs_get_str(s, "mail"));
    assert_true(attrs_remove(s, "MAIL"));
    assert_false(attrs_remove(s, "mail"));
    assert_null(attrs_get(s, "mail"));
    attrs_free(s);
    attrs_free(NULL);
}

static void test_sorted_order(void **state)
{
    (void)state;
    const char *names[] = {"sn", "Mail", "cn", "uid", "memberOf", "givenName", "objectClass", "a", "Z", "employeeID"};
    attrs *s = attrs_new();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) attrs_set_str(s, names[i], "x");
    assert_int_equal(s->n, sizeof names / sizeof names[0]);
    for (size_t i = 1; i < s->n; i++) assert_true(strcasecmp(s->a[i - 1].name, s->a[i].name) < 0);
    /* removal keeps order and the rest reachable */
    assert_true(attrs_remove(s, "memberof"));
    for (size_t i = 1; i < s->n; i++) assert_true(strcasecmp(s->a[i - 1].name, s->a[i].name) < 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i], "memberOf") == 0) assert_null(attrs_get(s, names[i]));
        else assert_non_null(attrs_get(s, names[i]));
    }
    attrs_clear(s);
    assert_int_equal(s->n, 0);
    attrs_set_str(s, "cn", "again");
    assert_string_equal(attrs_get_str(s, "CN"), "again");
    attrs_free(s);
}

static void test_add_unique_remove_value(void **state)
{
    (void)state;
    attrs *s = attrs_new();
    attr *a = attrs_put(s, "proxyAddresses", AT_STRING);
    assert_true(attr_add_unique(a, "SMTP:a@x.test", 13));
    /* strings compare case-insensitively */
    assert_false(attr_add_unique(a, "smtp:A@X.TEST", 13));
    assert_true(attr_add_unique(a, "smtp:b@x.test", 13));
    assert_int_equal(a->nvals, 2);
    assert_true(attr_has_value(a, "SMTP:B@x.test", 13));
    assert_true(attr_remove_value(a, "SMTP:A@X.TEST", 13));
    assert_false(attr_remove_value(a, "SMTP:A@X.TEST", 13));
    assert_int_equal(a->nvals, 1);
    assert_string_equal(a->vals[0].data, "smtp:b@x.test");

    /* binary values compare exactly, embedded NULs included */
    attr *b = attrs_put(s, "objectGUID", AT_BINARY);
    assert_true(attr_add_unique(b, "\x00\xAA\x00", 3));
    assert_true(attr_add_unique(b, "\x00\xaa\x01", 3));
    assert_false(attr_add_unique(b, "\x00\xAA\x00", 3));
    assert_true(attr_add_unique(b, "A", 1));
    assert_true(attr_add_unique(b, "a", 1));
    assert_int_equal(b->nvals, 4);
    assert_true(attr_remove_value(b, "\x00\xAA\x00", 3));
    assert_false(attr_has_value(b, "\x00\xAA\x00", 3));
    assert_true(attr_has_value(b, "\x00\xaa\x01", 3));
    /* values are NUL-terminated copies */
    assert_int_equal(b->vals[0].data[3], '\0');
    attrs_free(s);
}

static attr *mk(attrs *s, const char *name, attr_type t, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    attr *a = attrs_put(s, name, t);
    for (int i = 0; i < n; i++) attr_add_str(a, va_arg(ap, const char *));
    va_end(ap);
    return a;
}

static void test_equality_multiset(void **state)
{
    (void)state;
    attrs *x = attrs_new(), *y = attrs_new();
    mk(x, "member", AT_REFERENCE, 3, "cn=a", "cn=b", "cn=a");
    mk(y, "MEMBER", AT_REFERENCE, 3, "CN=B", "cn=a", "CN=A");
    assert_true(attr_equal(attrs_get(x, "member"), attrs_get(y, "member")));
    assert_true(attrs_equal(x, y));
    /* same size, different multiplicities: not equal */
    mk(y, "member", AT_REFERENCE, 3, "cn=a", "cn=b", "cn=b");
    assert_false(attr_equal(attrs_get(x, "member"), attrs_get(y, "member")));
    assert_false(attrs_equal(x, y));
    /* different type: not equal */
    mk(x, "n", AT_INTEGER, 1, "5");
    mk(y, "member", AT_REFERENCE, 3, "cn=a", "cn=b", "cn=a");
    mk(y, "n", AT_STRING, 1, "5");
    assert_false(attrs_equal(x, y));
    mk(y, "n", AT_INTEGER, 1, "5");
    assert_true(attrs_equal(x, y));
    /* binary is case-sensitive */
    mk(x, "guid", AT_BINARY, 1, "ab");
    mk(y, "guid", AT_BINARY, 1, "AB");
    assert_false(attrs_equal(x, y));
    mk(y, "guid", AT_BINARY, 1, "ab");
    assert_true(attrs_equal(x, y));
    /* an empty attribute equals an absent one */
    attrs_put(x, "description", AT_STRING);
    assert_true(attrs_equal(x, y));
    assert_true(attrs_equal(y, x));
    /* an extra attribute with values does not */
    mk(y, "title", AT_STRING, 1, "eng");
    assert_false(attrs_equal(x, y));
    assert_false(attrs_equal(y, x));
    /* NULL is the empty set */
    attrs *empty = attrs_new();
    attrs_put(empty, "x", AT_STRING);
    assert_true(attrs_equal(NULL, empty));
    assert_false(attrs_equal(NULL, x));
    /* large multisets (beyond the small-array path) */
    attrs *p = attrs_new(), *q = attrs_new();
    attr *pa = attrs_put(p, "member", AT_STRING), *qa = attrs_put(q, "member", AT_STRING);
    char v[32];
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof v, "cn=user%03d", i);
        attr_add_str(pa, v);
        snprintf(v, sizeof v, "CN=USER%03d", 199 - i);
        attr_add_str(qa, v);
    }
    assert_true(attrs_equal(p, q));
    attr_remove_value(qa, "cn=user100", 10);
    attr_add_str(qa, "cn=user101");
    assert_false(attrs_equal(p, q));
    attrs_free(p);
    attrs_free(q);
    attrs_free(empty);
    attrs_free(x);
    attrs_free(y);
}

static attrs *sample(void)
{
    attrs *s = attrs_new();
    mk(s, "cn", AT_STRING, 1, "Ada Lovelace");
    mk(s, "memberOf", AT_REFERENCE, 2, "cn=g1,dc=x", "cn=g2,dc=x");
    mk(s, "uSNChanged", AT_INTEGER, 1, "-9223372036854775808");
    mk(s, "enabled", AT_BOOLEAN, 1, "TRUE");
    mk(s, "whenChanged", AT_DATETIME, 1, "20240101000000.0Z");
    attr *g = attrs_put(s, "objectGUID", AT_BINARY);
    unsigned char guid[16];
    for (int i = 0; i < 16; i++) guid[i] = (unsigned char)(i * 17);
    attr_add(g, guid, 16);
    attr_add(attrs_put(s, "emptyValue", AT_STRING), "", 0);
    attrs_put(s, "noValues", AT_STRING);  /* skipped by the encoding */
    return s;
}

static void test_encode_decode_roundtrip(void **state)
{
    (void)state;
    attrs *s = sample();
    buf b = BUF_INIT;
    attrs_encode(s, &b);
    err e = {0};
    attrs *d = attrs_decode(b.data, b.len, &e);
    assert_non_null(d);
    assert_true(attrs_equal(s, d));
    assert_null(attrs_get(d, "noValues"));
    assert_int_equal(d->n, s->n - 1);
    attr *g = attrs_get(d, "objectguid");
    assert_non_null(g);
    assert_int_equal(g->type, AT_BINARY);
    assert_int_equal(g->vals[0].len, 16);
    assert_memory_equal(g->vals[0].data, attrs_get(s, "objectGUID")->vals[0].data, 16);
    assert_string_equal(attrs_get(d, "CN")->name, "cn");
    assert_int_equal(attrs_get(d, "emptyValue")->nvals, 1);
    assert_int_equal(attrs_get(d, "emptyValue")->vals[0].len, 0);
    /* encoding is deterministic: re-encoding the decoded set gives the same bytes */
    buf b2 = BUF_INIT;
    attrs_encode(d, &b2);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* clone is deep and equal */
    attrs *c = attrs_clone(d);
    attrs_free(d);
    assert_true(attrs_equal(s, c));
    attrs_free(c);
    /* the empty set and the empty blob */
    attrs *none = attrs_new();
    buf_reset(&b);
    attrs_encode(none, &b);
    d = attrs_decode(b.data, b.len, &e);
    assert_non_null(d);
    assert_int_equal(d->n, 0);
    attrs_free(d);
    d = attrs_decode("", 0, &e);
    assert_non_null(d);
    assert_int_equal(d->n, 0);
    attrs_free(d);
    attrs_free(none);
    buf_free(&b);
    buf_free(&b2);
    attrs_free(s);
}

static void expect_corrupt(const void *data, size_t len)
{
    err e = {0};
    attrs *d = attrs_decode(data, len, &e);
    assert_null(d);
    assert_int_equal(e.code, ERR_CORRUPT);
    assert_true(strlen(e.msg) > 0);
}

static void test_decode_truncated_and_garbage(void **state)
{
    (void)state;
    attrs *s = sample();
    buf b = BUF_INIT;
    attrs_encode(s, &b);
    /* every proper prefix (except the empty one, which is the empty set) fails cleanly */
    for (size_t n = 1; n < b.len; n++) expect_corrupt(b.data, n);
    /* trailing garbage */
    buf t = BUF_INIT;
    buf_append(&t, b.data, b.len);
    buf_putc(&t, 'x');
    expect_corrupt(t.data, t.len);
    /* wrong format byte */
    buf_reset(&t);
    buf_append(&t, b.data, b.len);
    t.data[0] = 0x7f;
    expect_corrupt(t.data, t.len);
    /* unknown type byte: "cn" is the first attribute: 01 count 02 'c' 'n' TYPE */
    buf_reset(&t);
    buf_append(&t, b.data, b.len);
    assert_int_equal((unsigned char)t.data[5], AT_STRING);
    t.data[5] = 0x09;
    expect_corrupt(t.data, t.len);
    /* huge counts and lengths */
    expect_corrupt("\x01\xff\xff\xff\xff\x0f", 6);
    expect_corrupt("\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
    expect_corrupt("\x01\x01\x02" "cn" "\x01\x01\xff\xff\x03", 10);
    /* zero-length name */
    expect_corrupt("\x01\x01\x00\x01\x00", 5);
    /* names out of order / duplicated */
    expect_corrupt("\x01\x02\x01" "b" "\x01\x00" "\x01" "a" "\x01\x00", 10);
    expect_corrupt("\x01\x02\x01" "a" "\x01\x00" "\x01" "A" "\x01\x00", 10);
    /* a well-formed hand-written one decodes */
    err e = {0};
    attrs *ok = attrs_decode("\x01\x02\x01" "a" "\x01\x01\x01" "x" "\x01" "b" "\x02\x00", 12, &e);
    assert_non_null(ok);
    assert_string_equal(attrs_get_str(ok, "A"), "x");
    assert_int_equal(attrs_get(ok, "b")->type, AT_BINARY);
    attrs_free(ok);
    /* pseudo-random garbage never crashes and never succeeds with trailing bytes unread */
    unsigned int seed = 12345;
    unsigned char g[64];
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(round % 63);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            g[i] = (unsigned char)(seed >> 16);
        }
        g[0] = 0x01;
        err ge = {0};
        attrs *r = attrs_decode(g, n, &ge);
        if (r) {
            buf rb = BUF_INIT;
            attrs_encode(r, &rb);
            assert_true(rb.len <= n);
            buf_free(&rb);
            attrs_free(r);
        } else {
            assert_int_equal(ge.code, ERR_CORRUPT);
        }
    }
    buf_free(&t);
    buf_free(&b);
    attrs_free(s);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("plain ascii", 11));
    assert_true(utf8_valid("\xC3\xA9", 2));                 /* é */
    assert_true(utf8_valid("\xE2\x82\xAC", 3));             /* € */
    assert_true(utf8_valid("\xF0\x9F\x98\x80", 4));         /* U+1F600 */
    assert_true(utf8_valid("\xF4\x8F\xBF\xBF", 4));         /* U+10FFFF */
    assert_true(utf8_valid("\xED\x9F\xBF", 3));             /* U+D7FF, just below surrogates */
    assert_true(utf8_valid("\xEE\x80\x80", 3));             /* U+E000, just above */
    assert_true(utf8_valid("a\0b", 3));                     /* NUL is valid UTF-8 */
    /* overlongs */
    assert_false(utf8_valid("\xC0\xAF", 2));
    assert_false(utf8_valid("\xC1\xBF", 2));
    assert_false(utf8_valid("\xE0\x80\xAF", 3));
    assert_false(utf8_valid("\xE0\x9F\xBF", 3));
    assert_false(utf8_valid("\xF0\x80\x80\xAF", 4));
    assert_false(utf8_valid("\xF0\x8F\xBF\xBF", 4));
    /* surrogates */
    assert_false(utf8_valid("\xED\xA0\x80", 3));            /* U+D800 */
    assert_false(utf8_valid("\xED\xBF\xBF", 3));            /* U+DFFF */
    /* above U+10FFFF, 5/6-byte forms, stray bytes */
    assert_false(utf8_valid("\xF4\x90\x80\x80", 4));
    assert_false(utf8_valid("\xF8\x88\x80\x80\x80", 5));
    assert_false(utf8_valid("\xFC\x84\x80\x80\x80\x80", 6));
    assert_false(utf8_valid("\xFF", 1));
    assert_false(utf8_valid("\x80", 1));
    assert_false(utf8_valid("a\xBF" "b", 3));
    /* truncation */
    assert_false(utf8_valid("\xC3", 1));
    assert_false(utf8_valid("\xE2\x82", 2));
    assert_false(utf8_valid("\xF0\x9F\x98", 3));
    assert_false(utf8_valid("ok\xE2\x82", 4));
    /* bad continuation */
    assert_false(utf8_valid("\xC3\x28", 2));
    assert_false(utf8_valid("\xE2\x28\xA1", 3));
    /* length is honoured: the valid prefix of a longer buffer */
    assert_true(utf8_valid("ab\xC3", 2));
}

static void test_type_names(void **state)
{
    (void)state;
    attr_type t;
    for (int i = AT_STRING; i <= AT_DATETIME; i++) {
        assert_int_equal(attr_type_parse(attr_type_name((attr_type)i), &t), 0);
        assert_int_equal(t, i);
    }
    assert_int_equal(attr_type_parse("BINARY", &t), 0);
    assert_int_equal(t, AT_BINARY);
    assert_int_equal(attr_type_parse("blob", &t), -1);
    assert_string_equal(attr_type_name((attr_type)99), "unknown");
}

/* A pooled set behaves like an ordinary one (ASan checks it frees everything at once),
   including growth past one pool chunk, value removal, replacement and cloning. */
static void test_pooled_set(void **state)
{
    (void)state;
    attrs *p = attrs_new_pooled();
    attrs *o = attrs_new();
    char big[6000];
    memset(big, 'x', sizeof big);
    for (int round = 0; round < 2; round++) {
        attrs *s = round ? o : p;
        attrs_set_str(s, "cn", "Ada");
        attr *m = attrs_get_or_add(s, "member", AT_REFERENCE);
        for (int i = 0; i < 300; i++) {
            char v[32];
            snprintf(v, sizeof v, "uid=u%d,dc=test", i);
            attr_add_str(m, v);
        }
        attr_add(attrs_get_or_add(s, "photo", AT_BINARY), big, sizeof big);
        m = attrs_get(s, "member");
        assert_true(attr_remove_value(m, "UID=U7,DC=TEST", 14));
        assert_true(attr_add_unique(m, "uid=u7,dc=test", 14));
        attrs_set_str(s, "cn", "Ada Lovelace");
        assert_true(attrs_remove(s, "photo"));
        attr_add(attrs_get_or_add(s, "photo", AT_BINARY), big, 10);
    }
    assert_true(attrs_equal(p, o));
    buf bp = BUF_INIT, bo = BUF_INIT;
    attrs_encode(p, &bp);
    attrs_encode(o, &bo);
    assert_int_equal(bp.len, bo.len);
    assert_memory_equal(bp.data, bo.data, bp.len);
    attrs *c = attrs_clone(p);
    attrs_free(p);   /* the clone owns its own memory */
    assert_true(attrs_equal(c, o));
    assert_null(c->pool);
    attr_add_str(attrs_get(c, "cn"), "second");  /* an ordinary set again: grows with realloc */
    assert_int_equal(attrs_get(c, "cn")->nvals, 2);
    attrs_free(c);
    attrs_free(o);
    buf_free(&bp);
    buf_free(&bo);
}

static int sign(int v) { return (v > 0) - (v < 0); }

/* attr_name_cmp orders exactly like strcasecmp in the C locale, which sets and stored
   encodings were sorted with: ASCII letters fold, every other byte (punctuation between the
   cases, digits, UTF-8 bytes) compares as itself, unsigned. */
static void test_name_cmp_matches_strcasecmp(void **state)
{
    (void)state;
    static const char *const names[] = {"", "a", "A", "b", "Z", "z", "_", "[", "`", "{", "@", "0", "9",
                                        "cn", "CN", "cN", "cn2", "c_n", "c[n", "mail", "mailNickname", "MAILNICK",
                                        "\xc3\xa9", "\xc3\x89", "\xff", "a\x80", "a\x7f", "userPrincipalName"};
    size_t n = sizeof names / sizeof names[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(sign(attr_name_cmp(names[i], names[j])), sign(strcasecmp(names[i], names[j])));
            assert_int_equal(attr_name_eq(names[i], names[j]), strcasecmp(names[i], names[j]) == 0);
        }
}

/* attr_add_owned adopts malloc'd values (ordinary set) or copies and frees them (pooled);
   attrs_use_pool turns only an empty ordinary set into a pooled one. */
static void test_add_owned_and_use_pool(void **state)
{
    (void)state;
    attrs *o = attrs_new(), *p = attrs_new();
    assert_true(attrs_use_pool(p));
    assert_false(attrs_use_pool(p));
    attrs_set_str(o, "cn", "x");
    assert_false(attrs_use_pool(o));
    assert_null(o->pool);
    for (int round = 0; round < 2; round++) {
        attr *a = attrs_get_or_add(round ? p : o, "member", AT_STRING);
        for (int i = 0; i < 20; i++) {
            char v[16];
            int len = snprintf(v, sizeof v, "v%d", i);
            char *owned = xstrdup(v);
            attr_add_owned(a, owned, (size_t)len);
            if (!round) assert_ptr_equal(a->vals[a->nvals - 1].data, owned);
        }
        assert_int_equal(a->nvals, 20);
        assert_string_equal(a->vals[19].data, "v19");
        assert_true(attr_remove_value(a, "V3", 2));
    }
    assert_true(attr_equal(attrs_get(o, "member"), attrs_get(p, "member")));
    attrs_free(o);
    attrs_free(p);
}

/* A decoded set is pooled in one piece yet fully editable, and re-encodes identically. */
static void test_decoded_set_is_pooled_and_editable(void **state)
{
    (void)state;
    attrs *s = attrs_new();
    attrs_set_str(s, "cn", "Ada");
    attr *m = attrs_put(s, "member", AT_REFERENCE);
    for (int i = 0; i < 40; i++) {
        char v[32];
        snprintf(v, sizeof v, "uid=u%d,dc=test", i);
        attr_add_str(m, v);
    }
    attrs_put(s, "empty", AT_STRING);  /* skipped by the encoding */
    buf b = BUF_INIT, b2 = BUF_INIT;
    attrs_encode(s, &b);
    err e = {0};
    attrs *d = attrs_decode(b.data, b.len, &e);
    assert_non_null(d);
    assert_non_null(d->pool);
    assert_int_equal(d->n, 2);
    assert_true(attrs_equal(d, s));
    attrs_encode(d, &b2);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* edits after decoding: values and attributes added, replaced and removed */
    attr_add_str(attrs_get(d, "member"), "uid=new,dc=test");
    attr_add_str(attrs_get(s, "member"), "uid=new,dc=test");
    attrs_set_str(d, "cn", "Ada Lovelace");
    attrs_set_str(s, "cn", "Ada Lovelace");
    attrs_set_str(d, "mail", "ada@test");
    attrs_set_str(s, "mail", "ada@test");
    assert_true(attr_remove_value(attrs_get(d, "member"), "UID=U0,DC=TEST", 14));
    assert_true(attr_remove_value(attrs_get(s, "member"), "UID=U0,DC=TEST", 14));
    assert_true(attrs_equal(d, s));
    attrs *c = attrs_clone(d);
    assert_null(c->pool);
    attrs_free(d);
    assert_true(attrs_equal(c, s));
    attrs_free(c);
    attrs_free(s);
    buf_free(&b);
    buf_free(&b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_case_insensitive),
        cmocka_unit_test(test_sorted_order),
        cmocka_unit_test(test_add_unique_remove_value),
        cmocka_unit_test(test_equality_multiset),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_decode_truncated_and_garbage),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_pooled_set),
        cmocka_unit_test(test_name_cmp_matches_strcasecmp),
        cmocka_unit_test(test_add_owned_and_use_pool),
        cmocka_unit_test(test_decoded_set_is_pooled_and_editable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
