/* Unit tests: DirSync and RFC 4533 control/message codecs, checked against independent
 * ber_printf/ber_scanf encodings of the ASN.1 in MS-ADTS 3.1.1.3.4.1.3 and RFC 4533. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/ldap/conn_ldap_int.h"

static void flat(BerElement *ber, struct berval *out)
{
    assert_int_not_equal(ber_flatten2(ber, out, 1), -1);
    ber_free(ber, 1);
}

static void test_dirsync_request(void **state)
{
    struct berval v;
    err e = {0};
    assert_int_equal(conn_ldap_dirsync_encode(0x80000801u, 0, "MSDSabc", 7, &v, &e), 0);
    BerElement *ber = ber_init(&v);
    ber_int_t flags = 0, maxb = -1;
    struct berval ck = {0, NULL};
    assert_int_not_equal(ber_scanf(ber, "{iim}", &flags, &maxb, &ck), LBER_ERROR);
    assert_int_equal((uint32_t)flags, 0x80000801u);
    assert_int_equal(maxb, 0);
    assert_int_equal(ck.bv_len, 7);
    assert_memory_equal(ck.bv_val, "MSDSabc", 7);
    ber_free(ber, 1);
    ber_memfree(v.bv_val);
    /* no cookie: an empty OCTET STRING */
    assert_int_equal(conn_ldap_dirsync_encode(0, 0, NULL, 0, &v, &e), 0);
    ber = ber_init(&v);
    assert_int_not_equal(ber_scanf(ber, "{iim}", &flags, &maxb, &ck), LBER_ERROR);
    assert_int_equal(ck.bv_len, 0);
    ber_free(ber, 1);
    ber_memfree(v.bv_val);
}

static void test_dirsync_response(void **state)
{
    struct berval v;
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{iio}", (ber_int_t)1, (ber_int_t)0, "MSDS\x01\x02", (ber_len_t)6);
    flat(ber, &v);
    bool more = false;
    buf cookie = BUF_INIT;
    err e = {0};
    assert_int_equal(conn_ldap_dirsync_decode(&v, &more, &cookie, &e), 0);
    assert_true(more);
    assert_int_equal(cookie.len, 6);
    assert_memory_equal(cookie.data, "MSDS\x01\x02", 6);
    ber_memfree(v.bv_val);
    /* malformed: a bare OCTET STRING */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "o", "xx", (ber_len_t)2);
    flat(ber, &v);
    assert_int_equal(conn_ldap_dirsync_decode(&v, &more, &cookie, &e), ERR_CORRUPT);
    ber_memfree(v.bv_val);
    assert_int_equal(conn_ldap_dirsync_decode(NULL, &more, &cookie, &e), ERR_CORRUPT);
    buf_free(&cookie);
}

static void test_sync_request(void **state)
{
    struct berval v;
    err e = {0};
    assert_int_equal(conn_ldap_syncreq_encode(LDAP_SYNC_REFRESH_ONLY, "rid=000,csn=1", 13, &v, &e), 0);
    BerElement *ber = ber_init(&v);
    ber_int_t mode = 0;
    struct berval ck = {0, NULL};
    assert_int_not_equal(ber_scanf(ber, "{em}", &mode, &ck), LBER_ERROR);
    assert_int_equal(mode, LDAP_SYNC_REFRESH_ONLY);
    assert_int_equal(ck.bv_len, 13);
    ber_free(ber, 1);
    ber_memfree(v.bv_val);
    /* without cookie the OPTIONAL field is absent */
    assert_int_equal(conn_ldap_syncreq_encode(LDAP_SYNC_REFRESH_ONLY, NULL, 0, &v, &e), 0);
    ber = ber_init(&v);
    ber_len_t len;
    assert_int_not_equal(ber_scanf(ber, "{e", &mode), LBER_ERROR);
    assert_int_equal(ber_peek_tag(ber, &len), LBER_DEFAULT);
    ber_free(ber, 1);
    ber_memfree(v.bv_val);
}

static void test_sync_state(void **state)
{
    unsigned char uuid[16];
    for (int i = 0; i < 16; i++) uuid[i] = (unsigned char)i;
    struct berval v;
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{eoo}", (ber_int_t)LDAP_SYNC_MODIFY, (char *)uuid, (ber_len_t)16, "ck", (ber_len_t)2);
    flat(ber, &v);
    int st = -1;
    unsigned char got[16];
    buf cookie = BUF_INIT;
    bool has = false;
    err e = {0};
    assert_int_equal(conn_ldap_syncstate_decode(&v, &st, got, &cookie, &has, &e), 0);
    assert_int_equal(st, LDAP_SYNC_MODIFY);
    assert_memory_equal(got, uuid, 16);
    assert_true(has);
    assert_string_equal(cookie.data, "ck");
    ber_memfree(v.bv_val);
    /* a 15-byte UUID is rejected */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{eo}", (ber_int_t)LDAP_SYNC_ADD, (char *)uuid, (ber_len_t)15);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncstate_decode(&v, &st, got, &cookie, &has, &e), ERR_CORRUPT);
    ber_memfree(v.bv_val);
    /* unknown state */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{eo}", (ber_int_t)9, (char *)uuid, (ber_len_t)16);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncstate_decode(&v, &st, got, &cookie, &has, &e), ERR_CORRUPT);
    ber_memfree(v.bv_val);
    buf_free(&cookie);
}

static void test_sync_done(void **state)
{
    struct berval v;
    buf cookie = BUF_INIT;
    bool has = false, rd = true;
    err e = {0};
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{ob}", "rid=000,csn=x", (ber_len_t)13, (ber_int_t)1);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncdone_decode(&v, &cookie, &has, &rd, &e), 0);
    assert_true(has);
    assert_true(rd);
    assert_string_equal(cookie.data, "rid=000,csn=x");
    ber_memfree(v.bv_val);
    /* defaults: no cookie, refreshDeletes FALSE (present phase) */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "{}");
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncdone_decode(&v, &cookie, &has, &rd, &e), 0);
    assert_false(has);
    assert_false(rd);
    ber_memfree(v.bv_val);
    buf_free(&cookie);
}

static void test_sync_info(void **state)
{
    struct berval v;
    ldap_syncinfo si;
    err e = {0};
    unsigned char u1[16], u2[16];
    memset(u1, 0xab, 16);
    memset(u2, 0x01, 16);
    /* newcookie [0] */
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "to", LDAP_TAG_SYNC_NEW_COOKIE, "nc", (ber_len_t)2);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), 0);
    assert_int_equal(si.kind, SYNCINFO_NEWCOOKIE);
    assert_string_equal(si.cookie.data, "nc");
    conn_ldap_syncinfo_clear(&si);
    ber_memfree(v.bv_val);
    /* refreshPresent [2] with refreshDone FALSE */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "t{ob}", LDAP_TAG_SYNC_REFRESH_PRESENT, "c2", (ber_len_t)2, (ber_int_t)0);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), 0);
    assert_int_equal(si.kind, SYNCINFO_REFRESH_PRESENT);
    assert_false(si.refresh_done);
    assert_true(si.has_cookie);
    conn_ldap_syncinfo_clear(&si);
    ber_memfree(v.bv_val);
    /* refreshDelete [1] empty: refreshDone defaults to TRUE */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "t{}", LDAP_TAG_SYNC_REFRESH_DELETE);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), 0);
    assert_int_equal(si.kind, SYNCINFO_REFRESH_DELETE);
    assert_true(si.refresh_done);
    assert_false(si.has_cookie);
    conn_ldap_syncinfo_clear(&si);
    ber_memfree(v.bv_val);
    /* syncIdSet [3] { cookie, refreshDeletes TRUE, SET OF uuid } */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "t{obt[oo]}", LDAP_TAG_SYNC_ID_SET, "c3", (ber_len_t)2, (ber_int_t)1, (ber_tag_t)LBER_SET,
               (char *)u1, (ber_len_t)16, (char *)u2, (ber_len_t)16);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), 0);
    assert_int_equal(si.kind, SYNCINFO_ID_SET);
    assert_true(si.refresh_deletes);
    assert_int_equal(si.nuuids, 2);
    assert_memory_equal(si.uuids[0], u1, 16);
    assert_memory_equal(si.uuids[1], u2, 16);
    conn_ldap_syncinfo_clear(&si);
    ber_memfree(v.bv_val);
    /* syncIdSet with a short UUID is rejected */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "t{t[o]}", LDAP_TAG_SYNC_ID_SET, (ber_tag_t)LBER_SET, (char *)u1, (ber_len_t)5);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), ERR_CORRUPT);
    ber_memfree(v.bv_val);
    /* unknown choice */
    ber = ber_alloc_t(LBER_USE_DER);
    ber_printf(ber, "i", (ber_int_t)5);
    flat(ber, &v);
    assert_int_equal(conn_ldap_syncinfo_decode(&v, &si, &e), ERR_CORRUPT);
    ber_memfree(v.bv_val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirsync_request), cmocka_unit_test(test_dirsync_response),
        cmocka_unit_test(test_sync_request),    cmocka_unit_test(test_sync_state),
        cmocka_unit_test(test_sync_done),       cmocka_unit_test(test_sync_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
