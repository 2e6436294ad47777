/* LDIF reader: folding, comments, base64, strict errors with line numbers. */
#include "connectors/ldif/conn_ldif_int.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Parses text (held in memory through fmemopen) into at most 8 entries; returns the final rc. */
static int parse(const char *text, ldif_entry *ents, int max, int *count, err *e)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    ldif_reader *r = ldif_reader_from_stream(f, "test.ldif");
    int rc, n = 0;
    ldif_entry tmp = {0};
    while ((rc = ldif_reader_next(r, n < max ? &ents[n] : &tmp, e)) == 1) n++;
    ldif_entry_free(&tmp);
    ldif_reader_close(r);
    fclose(f);
    *count = n;
    return rc;
}

static const ldif_attrval *find(const ldif_entry *ent, const char *name, int nth)
{
    for (size_t i = 0; i < ent->n; i++)
        if (strcmp(ent->av[i].name, name) == 0 && nth-- == 0) return &ent->av[i];
    return NULL;
}

static void free_ents(ldif_entry *ents, int n)
{
    for (int i = 0; i < n; i++) ldif_entry_free(&ents[i]);
}

static void test_content(void **state)
{
    (void)state;
    const char *text =
        "version: 1\n"
        "# a comment\n"
        "#  folded comment\n"
        " continues here\n"
        "dn: cn=Barbara Jensen,ou=Product Development,dc=airius,\n"
        " dc=com\r\n"
        "objectClass: top\n"
        "objectClass: person\n"
        "objectClass: organizationalPerson\n"
        "cn:   Barbara Jensen\n"
        "description:: V2hhdCBhIGNhcmVmdWwgcmVhZGVyIHlvdSBhcmUhICBUaGlzIHZhbHVlIGlzIGJhc2UtNjQtZW5\n"
        " jb2RlZCBiZWNhdXNlIGl0IGhhcyBhIGNvbnRyb2wgY2hhcmFjdGVyIGluIGl0IChhIENSKS4NICBCeSB0aGUgd2F5\n"
        " LCB5b3Ugc2hvdWxkIHJlYWxseSBnZXQgb3V0IG1vcmUu\n"
        "jpegPhoto:: AAEC/w==\n"
        "empty:\n"
        "sn: Jensen \n"
        "\n"
        "\n"
        "# between entries\n"
        "dn:: b3U95Za25qWt6YOoLG89QWlyaXVz\n"
        "ou;lang-ja: \xe5\x96\xb6\xe6\xa5\xad\xe9\x83\xa8\n";
    ldif_entry ents[4] = {{0}};
    int n = 0;
    err e = {0};
    int rc = parse(text, ents, 4, &n, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2);
    assert_string_equal(ents[0].dn, "cn=Barbara Jensen,ou=Product Development,dc=airius,dc=com");
    assert_int_equal(ents[0].line, 5);
    assert_string_equal(find(&ents[0], "objectClass", 2)->val, "organizationalPerson");
    assert_string_equal(find(&ents[0], "cn", 0)->val, "Barbara Jensen");
    const ldif_attrval *d = find(&ents[0], "description", 0);
    assert_true(d->base64);
    assert_int_equal(d->line, 11);
    assert_non_null(strstr(d->val, "control character in it (a CR).\r  By the way"));
    const ldif_attrval *j = find(&ents[0], "jpegPhoto", 0);
    assert_int_equal(j->len, 4);
    assert_memory_equal(j->val, "\x00\x01\x02\xff", 4);
    assert_int_equal(find(&ents[0], "empty", 0)->len, 0);
    assert_string_equal(find(&ents[0], "sn", 0)->val, "Jensen ");   /* trailing space kept */
    assert_string_equal(ents[1].dn, "ou=\xe5\x96\xb6\xe6\xa5\xad\xe9\x83\xa8,o=Airius");
    assert_int_equal(ents[1].line, 20);
    assert_string_equal(find(&ents[1], "ou;lang-ja", 0)->val, "\xe5\x96\xb6\xe6\xa5\xad\xe9\x83\xa8");
    free_ents(ents, n);
}

static void expect_error(const char *text, const char *needle)
{
    ldif_entry ents[4] = {{0}};
    int n = 0;
    err e = {0};
    int rc = parse(text, ents, 4, &n, &e);
    if (rc != ERR_CORRUPT || !strstr(e.msg, needle))
        fprintf(stderr, "input:\n%s\nrc %d msg: %s\nexpected: %s\n", text, rc, e.msg, needle);
    assert_int_equal(rc, ERR_CORRUPT);
    assert_non_null(strstr(e.msg, needle));
    assert_non_null(strstr(e.msg, "test.ldif"));
    free_ents(ents, 4);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("dn: cn=a\ncn: a\n\ndn: cn=b\nthis line is wrong\n", "line 5: expected \"attribute: value\"");
    expect_error("dn: cn=a\ncn: a\n\ndn: cn=b\nchangetype: add\ncn: b\n", "line 5: \"changetype:\" starts a change record");
    expect_error("dn: cn=a\njpegPhoto:< file:///etc/passwd\n", "line 2: URL values");
    expect_error("dn: cn=a\nx:: !!!notbase64\n", "line 2: the value of \"x\" is not valid base64");
    expect_error("cn: a\n", "line 1: expected \"dn:\" to start an entry");
    expect_error("version: 2\ndn: cn=a\ncn: a\n", "line 1: unsupported LDIF version");
    expect_error("dn: cn=a\ncn: \xc3\x28\n", "line 2: the value of \"cn\" is not valid UTF-8");
    expect_error("dn: cn=a\nc n: a\n", "line 2: \"c n\" is not a valid attribute description");
    expect_error("\n\n dn: cn=a\n", "line 3: a continuation line");
    expect_error("dn: cn=a\n\n", "line 1: the entry cn=a has no attributes");
    expect_error("dn: cn=a\ncn: a\n-\n", "line 3: \"-\" belongs to a change record");
}

static void test_empty_file(void **state)
{
    (void)state;
    ldif_entry ents[1] = {{0}};
    int n = 5;
    err e = {0};
    assert_int_equal(parse("# only a comment\n\n", ents, 1, &n, &e), 0);
    assert_int_equal(n, 0);
}

static void test_writer(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    ldif_write_attr(&b, "cn", "plain", 5);
    ldif_write_attr(&b, "sn", " lead", 5);
    ldif_write_attr(&b, "x", "", 0);
    ldif_write_attr(&b, "bin", "\x00\xff", 2);
    ldif_write_attr(&b, "u", "\xc3\xa9", 2);
    assert_string_equal(b.data, "cn: plain\nsn:: IGxlYWQ=\nx:\nbin:: AP8=\nu:: w6k=\n");
    buf_reset(&b);
    char longv[200];
    memset(longv, 'a', sizeof longv);
    ldif_write_attr(&b, "description", longv, sizeof longv);
    /* 76 columns, then continuation lines of one space + 75 characters */
    const char *nl = strchr(b.data, '\n');
    assert_int_equal(nl - b.data, 76);
    assert_int_equal(nl[1], ' ');
    /* and it reads back */
    buf doc = BUF_INIT;
    buf_puts(&doc, "dn: cn=x\n");
    buf_append(&doc, b.data, b.len);
    ldif_entry ents[1] = {{0}};
    int n = 0;
    err e = {0};
    assert_int_equal(parse(doc.data, ents, 1, &n, &e), 0);
    assert_int_equal(find(&ents[0], "description", 0)->len, sizeof longv);
    assert_memory_equal(find(&ents[0], "description", 0)->val, longv, sizeof longv);
    free_ents(ents, n);
    buf_free(&doc);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
