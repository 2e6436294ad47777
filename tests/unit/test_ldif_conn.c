/* ldif connector: full import through a sink (anchors, types, checkpoints, warnings, errors)
 * and export to an LDIF change file. */
#include "connectors/ldif/conn_ldif.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "test_tmpdir.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(g_dir, sizeof g_dir, "ldif");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(g_dir);
}

static char *write_text(const char *name, const char *text)
{
    char *p = xasprintf("%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    buf b = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    return buf_steal(&b, NULL);
}

/* Records what the connector hands to the engine. */
typedef struct rec {
    int objects, checkpoints, warnings;
    int objects_at_checkpoint[8];
    char last_warning_dn[256];
    char last_warning[512];
    int fail_after;   /* sink->object fails at this object (0 = never) */
    /* the interesting objects, by DN */
    bool saw_person, saw_group;
} rec;

static int on_object(void *ctx, const conn_object *o, err *e)
{
    rec *r = ctx;
    r->objects++;
    if (r->fail_after && r->objects == r->fail_after) return err_set(e, ERR_FAIL, "sink says stop");
    assert_int_equal(o->change, CONN_CHANGE_ADD);
    assert_false(o->attrs_are_delta);
    assert_non_null(o->attrs);
    if (strcmp(o->dn, "cn=Zo\xc3\xab,ou=people,dc=example,dc=test") == 0) {
        r->saw_person = true;
        assert_string_equal(o->object_type, "inetOrgPerson");
        assert_int_equal(o->anchor_len, 36);
        assert_memory_equal(o->anchor, "0b6e3c3a-1111-4a4a-9a9a-000000000001", 36);
        const attr *photo = attrs_get(o->attrs, "jpegPhoto");
        assert_non_null(photo);
        assert_int_equal(photo->type, AT_BINARY);
        assert_int_equal(photo->vals[0].len, 5);
        assert_memory_equal(photo->vals[0].data, "\xff\xd8\x00\xff\xe0", 5);
        const attr *cn = attrs_get(o->attrs, "cn");
        assert_int_equal(cn->type, AT_STRING);       /* base64 but valid UTF-8: a string */
        assert_string_equal(cn->vals[0].data, "Zo\xc3\xab");
        const attr *desc = attrs_get(o->attrs, "description");
        assert_string_equal(desc->vals[0].data, "a long description that was folded over two lines");
        const attr *mgr = attrs_get(o->attrs, "manager");
        assert_int_equal(mgr->type, AT_REFERENCE);
        assert_int_equal(attrs_get(o->attrs, "objectClass")->nvals, 4);
    } else if (strcmp(o->dn, "cn=staff,ou=groups,dc=example,dc=test") == 0) {
        r->saw_group = true;
        assert_string_equal(o->object_type, "groupOfNames");
        const attr *m = attrs_get(o->attrs, "member");
        assert_int_equal(m->type, AT_REFERENCE);
        assert_int_equal(m->nvals, 2);
    }
    return 0;
}

static int on_checkpoint(void *ctx, const void *cookie, size_t len, err *e)
{
    (void)e;
    rec *r = ctx;
    assert_null(cookie);
    assert_int_equal(len, 0);
    if (r->checkpoints < 8) r->objects_at_checkpoint[r->checkpoints] = r->objects;
    r->checkpoints++;
    return 0;
}

static void on_warning(void *ctx, const char *dn, const char *message)
{
    rec *r = ctx;
    r->warnings++;
    snprintf(r->last_warning_dn, sizeof r->last_warning_dn, "%s", dn ? dn : "");
    snprintf(r->last_warning, sizeof r->last_warning, "%s", message);
}

static conn_config make_cfg(char *path, conn_option *opts, size_t nopts)
{
    conn_config cfg = {0};
    cfg.id = 1;
    cfg.name = "files";
    cfg.type = "ldif";
    cfg.url = path;
    cfg.options = opts;
    cfg.noptions = nopts;
    return cfg;
}

static const char *HEAD =
    "version: 1\n"
    "\n"
    "dn: cn=Zo\xc3\xab,ou=people,dc=example,dc=test\n"
    "objectClass: top\n"
    "objectClass: person\n"
    "objectClass: organizationalPerson\n"
    "objectClass: inetOrgPerson\n"
    "cn:: Wm/Dqw==\n"
    "sn: Z\n"
    "description: a long description that was fol\n"
    " ded over two lines\n"
    "jpegPhoto:: /9gA/+A=\n"
    "manager: cn=boss,ou=people,dc=example,dc=test\n"
    "entryUUID: 0b6e3c3a-1111-4a4a-9a9a-000000000001\n"
    "\n"
    "dn: cn=staff,ou=groups,dc=example,dc=test\n"
    "objectClass: groupOfNames\n"
    "objectClass: top\n"
    "cn: staff\n"
    "member: cn=Zo\xc3\xab,ou=people,dc=example,dc=test\n"
    "member: cn=boss,ou=people,dc=example,dc=test\n"
    "entryUUID: 0b6e3c3a-1111-4a4a-9a9a-000000000002\n"
    "\n"
    "# no anchor: skipped with a warning\n"
    "dn: cn=noanchor,ou=people,dc=example,dc=test\n"
    "objectClass: person\n"
    "cn: noanchor\n"
    "sn: x\n"
    "\n";

static void test_full_import(void **state)
{
    (void)state;
    buf text = BUF_INIT;
    buf_puts(&text, HEAD);
    for (int i = 0; i < 2498; i++)   /* 2500 importable entries in all */
        buf_printf(&text, "dn: uid=u%d,ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: u%d\ncn: u\n"
                   "sn: u\nentryUUID: 00000000-0000-4000-8000-%012d\n\n", i, i, i);
    char *path = write_text("content.ldif", text.data);
    buf_free(&text);
    conn_config cfg = make_cfg(path, NULL, 0);
    err e = {0};
    assert_int_equal(conn_ops_ldif.validate(&cfg, &e), 0);
    assert_false(conn_ops_ldif.needs_secret);
    assert_null(conn_ops_ldif.delta_import);
    conn *c = NULL;
    assert_int_equal(conn_ops_ldif.open(&cfg, NULL, &c, &e), 0);
    rec r = {0};
    conn_sink sink = {.ctx = &r, .object = on_object, .checkpoint = on_checkpoint, .warning = on_warning};
    buf cookie = BUF_INIT;
    int rc = conn_ops_ldif.full_import(c, "", &sink, &cookie, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(r.objects, 2500);
    assert_true(r.saw_person && r.saw_group);
    assert_int_equal(r.checkpoints, 3);
    assert_int_equal(r.objects_at_checkpoint[0], 1000);
    assert_int_equal(r.objects_at_checkpoint[1], 2000);
    assert_int_equal(r.objects_at_checkpoint[2], 2500);
    assert_int_equal(r.warnings, 1);
    assert_string_equal(r.last_warning_dn, "cn=noanchor,ou=people,dc=example,dc=test");
    assert_non_null(strstr(r.last_warning, "entryUUID"));
    assert_int_equal(cookie.len, 0);

    /* partition scope: only the groups */
    rec r2 = {0};
    sink.ctx = &r2;
    assert_int_equal(conn_ops_ldif.full_import(c, "ou=GROUPS,dc=example,dc=test", &sink, &cookie, &e), 0);
    assert_int_equal(r2.objects, 1);
    assert_true(r2.saw_group);

    /* a sink error aborts the import with its code */
    rec r3 = {0};
    r3.fail_after = 3;
    sink.ctx = &r3;
    err_clear(&e);
    assert_int_equal(conn_ops_ldif.full_import(c, "", &sink, &cookie, &e), ERR_FAIL);
    assert_string_equal(e.msg, "sink says stop");
    assert_int_equal(r3.objects, 3);
    conn_ops_ldif.close(c);
    conn_ops_ldif.close(NULL);

    /* anchor_attribute option: uid (the person and the group have none) */
    conn_option o = {"anchor_attribute", "uid"};
    cfg = make_cfg(path, &o, 1);
    assert_int_equal(conn_ops_ldif.open(&cfg, NULL, &c, &e), 0);
    rec r4 = {0};
    sink.ctx = &r4;
    assert_int_equal(conn_ops_ldif.full_import(c, "", &sink, &cookie, &e), 0);
    assert_int_equal(r4.objects, 2498);
    assert_int_equal(r4.warnings, 3);
    conn_ops_ldif.close(c);
    buf_free(&cookie);
    free(path);
}

static void test_malformed(void **state)
{
    (void)state;
    char *path = write_text("bad.ldif", "dn: cn=a,dc=x\nobjectClass: person\ncn: a\nentryUUID: 1\n\n"
                                        "dn: cn=b,dc=x\nobjectClass person\n");
    conn_config cfg = make_cfg(path, NULL, 0);
    err e = {0};
    conn *c = NULL;
    assert_int_equal(conn_ops_ldif.open(&cfg, NULL, &c, &e), 0);
    rec r = {0};
    conn_sink sink = {.ctx = &r, .object = on_object, .checkpoint = on_checkpoint, .warning = on_warning};
    assert_int_equal(conn_ops_ldif.full_import(c, NULL, &sink, NULL, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "line 7"));
    assert_int_equal(r.objects, 1);
    assert_int_equal(r.checkpoints, 0);   /* no checkpoint past an error */
    conn_ops_ldif.close(c);
    free(path);
    char *missing = xasprintf("%s/missing.ldif", g_dir);
    cfg = make_cfg(missing, NULL, 0);
    assert_int_equal(conn_ops_ldif.open(&cfg, NULL, &c, &e), ERR_NOTFOUND);
    assert_null(c);
    free(missing);
}

static void test_validate(void **state)
{
    (void)state;
    err e = {0};
    conn_config cfg = make_cfg("ldap://host", NULL, 0);
    assert_int_equal(conn_ops_ldif.validate(&cfg, &e), ERR_USAGE);
    cfg = make_cfg("", NULL, 0);
    assert_int_equal(conn_ops_ldif.validate(&cfg, &e), ERR_USAGE);
    conn_option o = {"page_size", "5"};
    cfg = make_cfg("/x.ldif", &o, 1);
    assert_int_equal(conn_ops_ldif.validate(&cfg, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "page_size"));
}

static void test_export(void **state)
{
    (void)state;
    char *path = write_text("target.ldif", "");
    char *out = xasprintf("%s/out.ldif", g_dir);
    conn_option o = {"export_file", out};
    conn_config cfg = make_cfg(path, &o, 1);
    err e = {0};
    conn *c = NULL;
    assert_int_equal(conn_ops_ldif.open(&cfg, NULL, &c, &e), 0);

    attrs *full = attrs_new();
    attrs_set_str(full, "cn", "Zo\xc3\xab");
    attrs_set_str(full, "sn", "Z");
    attr *ph = attrs_put(full, "jpegPhoto", AT_BINARY);
    attr_add(ph, "\x00\x01", 2);
    attr mail = {.name = "mail", .type = AT_STRING};
    attr_add_str(&mail, "z@example.test");
    attr nomail = {.name = "telephoneNumber", .type = AT_STRING};
    conn_mod mods[2] = {{CONN_MOD_REPLACE, mail}, {CONN_MOD_DELETE, nomail}};
    attr member = {.name = "member", .type = AT_REFERENCE};
    attr_add_str(&member, "cn=a,dc=x");
    conn_mod addm[1] = {{CONN_MOD_ADD, member}};

    conn_export_item items[5] = {
        {.op = CONN_EXPORT_ADD, .object_type = "inetOrgPerson", .dn = "cn=new,dc=x", .full = full},
        {.op = CONN_EXPORT_UPDATE, .dn = "cn=old,dc=x", .nmods = 2, .mods = mods},
        {.op = CONN_EXPORT_DELETE, .dn = "cn=gone,dc=x"},
        {.op = CONN_EXPORT_RENAME, .dn = "cn=g,ou=a,dc=x", .new_dn = "cn=g2,ou=b,dc=x", .nmods = 1, .mods = addm},
        {.op = CONN_EXPORT_ADD, .object_type = "person", .dn = NULL},
    };
    assert_int_equal(conn_ops_ldif.export_batch(c, items, 5, &e), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(items[i].status, CONN_EXPORT_OK);
    assert_int_equal(items[4].status, CONN_EXPORT_ERROR);
    assert_non_null(items[4].message);
    assert_int_equal(items[0].new_anchor_len, 36);
    char *uuid = xstrndup(items[0].new_anchor, 36);
    assert_int_equal(uuid[14], '4');   /* version 4 */
    assert_non_null(strchr("89ab", uuid[19]));
    char *text = read_text(out);
    char *expect = xasprintf(
        "dn: cn=new,dc=x\nchangetype: add\nobjectClass: inetOrgPerson\ncn:: Wm/Dqw==\njpegPhoto:: AAE=\nsn: Z\n"
        "entryUUID: %s\n\n"
        "dn: cn=old,dc=x\nchangetype: modify\nreplace: mail\nmail: z@example.test\n-\ndelete: telephoneNumber\n-\n\n"
        "dn: cn=gone,dc=x\nchangetype: delete\n\n"
        "dn: cn=g,ou=a,dc=x\nchangetype: modrdn\nnewrdn: cn=g2\ndeleteoldrdn: 1\nnewsuperior: ou=b,dc=x\n\n"
        "dn: cn=g2,ou=b,dc=x\nchangetype: modify\nadd: member\nmember: cn=a,dc=x\n-\n\n", uuid);
    assert_string_equal(text, expect);
    free(text);
    free(expect);
    conn_export_item again[1] = {{.op = CONN_EXPORT_DELETE, .dn = "cn=n2,dc=x"}};
    assert_int_equal(conn_ops_ldif.export_batch(c, again, 1, &e), 0);   /* appends */
    text = read_text(out);
    assert_non_null(strstr(text, "entryUUID: "));
    assert_non_null(strstr(text, "dn: cn=n2,dc=x\nchangetype: delete\n\n"));
    free(text);
    for (int i = 0; i < 5; i++) {
        free(items[i].message);
        free(items[i].new_anchor);
    }
    free(uuid);
    for (size_t i = 0; i < mail.nvals; i++) free(mail.vals[i].data);
    free(mail.vals);
    for (size_t i = 0; i < member.nvals; i++) free(member.vals[i].data);
    free(member.vals);
    attrs_free(full);
    conn_ops_ldif.close(c);
    free(out);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_import),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_export),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
