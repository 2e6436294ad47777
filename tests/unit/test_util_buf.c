/* Growable buffer: appends keep a NUL terminator, printf, steal/reset/free, and varint
 * encoding (round trip at every boundary, truncated and over-long input refused). */
#include "util/util_buf.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_append_and_terminator(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_puts(&b, "");
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.data[0], '\0');
    buf_puts(&b, "hello");
    buf_putc(&b, ' ');
    buf_append(&b, "world!!", 5);
    assert_int_equal(b.len, 11);
    assert_string_equal(b.data, "hello world");
    /* binary with embedded NUL: len counts it, terminator follows */
    buf_append(&b, "\0x", 2);
    assert_int_equal(b.len, 13);
    assert_int_equal(b.data[11], '\0');
    assert_int_equal(b.data[12], 'x');
    assert_int_equal(b.data[13], '\0');
    /* growth over many appends keeps the content */
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 10000; i++) buf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 10000; i++) assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(b.data[10000], '\0');
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* reusable after free */
    buf_puts(&b, "again");
    assert_string_equal(b.data, "again");
    buf_free(&b);
    buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_printf(&b, "%s=%d", "n", 42);
    buf_printf(&b, ";%05.1f", 3.14159);
    assert_string_equal(b.data, "n=42;003.1");
    buf_printf(&b, "%s", "");   /* empty output changes nothing */
    assert_int_equal(b.len, 10);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 10 + 2 + 4999);
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    buf_free(&b);
}

static void test_steal(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    size_t len = 99;
    char *p = buf_steal(&b, &len);   /* never NULL, even for an untouched buffer */
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
    buf_puts(&b, "abc");
    p = buf_steal(&b, &len);
    assert_int_equal(len, 3);
    assert_string_equal(p, "abc");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
}

static void roundtrip(uint64_t v, size_t expect_len)
{
    buf b = BUF_INIT;
    buf_put_varint(&b, v);
    assert_int_equal(b.len, expect_len);
    const unsigned char *p = (const unsigned char *)b.data, *end = p + b.len;
    uint64_t out = ~v;
    assert_int_equal(varint_get(&p, end, &out), 0);
    assert_true(out == v);
    assert_ptr_equal(p, end);
    /* every truncation fails and leaves the cursor alone */
    for (size_t n = 0; n < b.len; n++) {
        const unsigned char *q = (const unsigned char *)b.data;
        assert_int_equal(varint_get(&q, q + n, &out), -1);
        assert_ptr_equal(q, (const unsigned char *)b.data);
    }
    buf_free(&b);
}

static void test_varint_roundtrip(void **state)
{
    (void)state;
    roundtrip(0, 1);
    roundtrip(1, 1);
    roundtrip(127, 1);
    roundtrip(128, 2);
    roundtrip(16383, 2);
    roundtrip(16384, 3);
    roundtrip((1ull << 21) - 1, 3);
    roundtrip(1ull << 21, 4);
    roundtrip(UINT32_MAX, 5);
    roundtrip((1ull << 56) - 1, 8);
    roundtrip(1ull << 56, 9);
    roundtrip((1ull << 63) - 1, 9);
    roundtrip(1ull << 63, 10);
    roundtrip(UINT64_MAX, 10);
    /* known encodings (LEB128) */
    buf b = BUF_INIT;
    buf_put_varint(&b, 300);
    assert_memory_equal(b.data, "\xAC\x02", 2);
    buf_free(&b);
    /* a sequence decodes in order */
    uint64_t vals[] = {5, 1000, 0, 1ull << 40, 77};
    for (size_t i = 0; i < 5; i++) buf_put_varint(&b, vals[i]);
    const unsigned char *p = (const unsigned char *)b.data, *end = p + b.len;
    for (size_t i = 0; i < 5; i++) {
        uint64_t v;
        assert_int_equal(varint_get(&p, end, &v), 0);
        assert_true(v == vals[i]);
    }
    uint64_t v;
    assert_int_equal(varint_get(&p, end, &v), -1);
    buf_free(&b);
}

static void test_varint_overlong(void **state)
{
    (void)state;
    /* more than 10 continuation bytes: refused, not read past */
    unsigned char many[16];
    memset(many, 0x80, sizeof many);
    const unsigned char *p = many;
    uint64_t v;
    assert_int_equal(varint_get(&p, many + sizeof many, &v), -1);
    assert_ptr_equal(p, many);
    /* a non-canonical (padded) zero still decodes */
    const unsigned char pad[] = {0x80, 0x80, 0x00};
    p = pad;
    assert_int_equal(varint_get(&p, pad + 3, &v), 0);
    assert_true(v == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminator),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_varint_overlong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
