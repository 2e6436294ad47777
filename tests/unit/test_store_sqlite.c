/* Store over SQLite: create, round trip of every table through the store API, and refusal of
 * files that are not idsync databases, of newer schemas, and of creating over existing data. */
#include "store/store.h"
#include "store/store_driver.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_tmpdir.h"
#include "test_store_v1.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(g_dir, sizeof g_dir, "store-sqlite");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(g_dir);
}

/* "sqlite:DIR/name" (malloc'd) and the bare path. */
static char *url_for(const char *name) { return xasprintf("sqlite:%s/%s", g_dir, name); }
static char *path_for(const char *name) { return xasprintf("%s/%s", g_dir, name); }

static store *create_db(const char *name)
{
    char *url = url_for(name);
    store *s = NULL;
    err e = {0};
    int rc = store_create(url, NULL, &s, &e);
    if (rc) fprintf(stderr, "store_create: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    free(url);
    return s;
}

static store *reopen(store *s, const char *name)
{
    store_close(s);
    char *url = url_for(name);
    err e = {0};
    store *n = NULL;
    int rc = store_open(url, NULL, &n, &e);
    if (rc) fprintf(stderr, "store_open: %s\n", e.msg);
    assert_int_equal(rc, 0);
    free(url);
    return n;
}

static void test_create_and_meta(void **state)
{
    (void)state;
    store *s = create_db("meta.db");
    err e = {0};
    assert_string_equal(store_engine(s), "sqlite");
    char *p = path_for("meta.db");
    assert_string_equal(store_location(s), p);
    struct stat st;   /* private from the start: it will hold sealed credentials */
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    int v = 0;
    assert_int_equal(store_schema_version(s, &v, &e), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(store_meta_set(s, "staging_mode", "1", &e), 0);
    assert_int_equal(store_meta_set(s, "staging_mode", "0", &e), 0);   /* upsert */
    assert_int_equal(store_meta_set_int(s, "last_sync_at", -42, &e), 0);
    assert_int_equal(store_meta_set(s, "text", "not a number", &e), 0);
    s = reopen(s, "meta.db");
    char *val = NULL;
    assert_int_equal(store_meta_get(s, "staging_mode", &val, &e), 0);
    assert_string_equal(val, "0");
    free(val);
    int64_t n = 0;
    assert_int_equal(store_meta_get_int(s, "last_sync_at", 7, &n, &e), 0);
    assert_int_equal(n, -42);
    assert_int_equal(store_meta_get_int(s, "text", 7, &n, &e), 0);
    assert_int_equal(n, 7);
    assert_int_equal(store_meta_get_int(s, "absent", 9, &n, &e), 0);
    assert_int_equal(n, 9);
    assert_int_equal(store_meta_get(s, "absent", &val, &e), 0);
    assert_null(val);
    assert_int_equal(store_meta_set(s, "staging_mode", NULL, &e), 0);  /* delete */
    assert_int_equal(store_meta_get(s, "staging_mode", &val, &e), 0);
    assert_null(val);
    /* transactions: rollback discards, nested begin/commit commits once */
    assert_int_equal(store_begin(s, &e), 0);
    assert_true(store_in_tx(s));
    assert_int_equal(store_meta_set(s, "tx", "rolled back", &e), 0);
    store_rollback(s);
    assert_false(store_in_tx(s));
    assert_int_equal(store_meta_get(s, "tx", &val, &e), 0);
    assert_null(val);
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_meta_set(s, "tx", "kept", &e), 0);
    assert_int_equal(store_commit(s, &e), 0);
    assert_true(store_in_tx(s));
    assert_int_equal(store_commit(s, &e), 0);
    assert_false(store_in_tx(s));
    s = reopen(s, "meta.db");
    assert_int_equal(store_meta_get(s, "tx", &val, &e), 0);
    assert_string_equal(val, "kept");
    free(val);
    /* an open transaction is rolled back by close */
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_meta_set(s, "tx", "lost", &e), 0);
    s = reopen(s, "meta.db");
    assert_int_equal(store_meta_get(s, "tx", &val, &e), 0);
    assert_string_equal(val, "kept");
    free(val);
    for (int i = 0; store_tables[i]; i++) {
        assert_int_equal(store_table_count(s, store_tables[i], &n, &e), 0);
        assert_true(n >= 0);
    }
    assert_int_equal(store_table_count(s, "sqlite_master", &n, &e), ERR_USAGE);
    store_close(s);
    store_close(NULL);
    free(p);
}

struct names {
    int n;
    char got[8][64];
};

static int collect_connector(void *ctx, const store_connector *c, err *e)
{
    (void)e;
    struct names *nm = ctx;
    snprintf(nm->got[nm->n++], 64, "%s", c->name);
    return 0;
}

static void test_connectors_and_watermarks(void **state)
{
    (void)state;
    store *s = create_db("conn.db");
    err e = {0};
    unsigned char sealed[40];
    for (size_t i = 0; i < sizeof sealed; i++) sealed[i] = (unsigned char)(255 - i);
    sealed[3] = 0;
    store_connector c = {.name = "corp", .type = "ldap", .url = "ldap://127.0.0.1:3890",
                         .bind_dn = "cn=admin,dc=example,dc=test", .partitions_json = "[\"dc=example,dc=test\"]",
                         .include_json = "[\"ou=people,dc=example,dc=test\"]", .exclude_json = "[]",
                         .options_json = "{\"page_size\":\"500\"}", .sealed_secret = sealed,
                         .sealed_len = sizeof sealed, .full_import_required = true, .full_sync_required = false};
    assert_int_equal(store_connector_add(s, &c, &e), 0);
    assert_true(c.id > 0);
    store_connector b = {.name = "aaa-cloud", .type = "scim", .url = "http://127.0.0.1:1/scim/v2"};
    assert_int_equal(store_connector_add(s, &b, &e), 0);
    /* name clash */
    store_connector dup = {.name = "corp", .type = "ad", .url = "ldap://x"};
    assert_int_equal(store_connector_add(s, &dup, &e), ERR_EXISTS);
    assert_non_null(strstr(e.msg, "corp"));
    s = reopen(s, "conn.db");

    store_connector *g = NULL;
    assert_int_equal(store_connector_get(s, "corp", &g, &e), 0);
    assert_int_equal(g->id, c.id);
    assert_string_equal(g->type, "ldap");
    assert_string_equal(g->url, c.url);
    assert_string_equal(g->bind_dn, c.bind_dn);
    assert_string_equal(g->partitions_json, c.partitions_json);
    assert_string_equal(g->include_json, c.include_json);
    assert_string_equal(g->exclude_json, "[]");
    assert_string_equal(g->options_json, c.options_json);
    assert_int_equal(g->sealed_len, sizeof sealed);
    assert_memory_equal(g->sealed_secret, sealed, sizeof sealed);
    assert_true(g->full_import_required);
    assert_false(g->full_sync_required);
    assert_true(g->created_at > 0);
    store_connector *byid = NULL;
    assert_int_equal(store_connector_get_by_id(s, b.id, &byid, &e), 0);
    assert_string_equal(byid->name, "aaa-cloud");
    assert_null(byid->bind_dn);
    assert_null(byid->sealed_secret);
    assert_string_equal(byid->partitions_json, "[]");     /* defaults */
    assert_string_equal(byid->options_json, "{}");
    store_connector_free(byid);
    assert_int_equal(store_connector_get(s, "nope", &byid, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "nope"));

    /* update every field */
    free(g->url);
    g->url = xstrdup("ldaps://127.0.0.1:6360");
    free(g->sealed_secret);
    g->sealed_secret = NULL;
    g->sealed_len = 0;
    g->full_sync_required = true;
    assert_int_equal(store_connector_update(s, g, &e), 0);
    /* flags: -1 keeps */
    assert_int_equal(store_connector_set_flags(s, g->id, 0, -1, &e), 0);
    store_connector *g2 = NULL;
    assert_int_equal(store_connector_get(s, "corp", &g2, &e), 0);
    assert_string_equal(g2->url, "ldaps://127.0.0.1:6360");
    assert_null(g2->sealed_secret);
    assert_false(g2->full_import_required);
    assert_true(g2->full_sync_required);
    store_connector_free(g2);
    assert_int_equal(store_connector_set_flags_all(s, 1, 0, &e), 0);
    assert_int_equal(store_connector_get(s, "aaa-cloud", &g2, &e), 0);
    assert_true(g2->full_import_required);
    assert_false(g2->full_sync_required);
    store_connector_free(g2);

    /* ordered by name */
    struct names nm = {0};
    assert_int_equal(store_connector_each(s, collect_connector, &nm, &e), 0);
    assert_int_equal(nm.n, 2);
    assert_string_equal(nm.got[0], "aaa-cloud");
    assert_string_equal(nm.got[1], "corp");

    /* watermarks: binary cookies per partition, upsert, clear */
    void *cookie = NULL;
    size_t len = 0;
    assert_int_equal(store_watermark_get(s, g->id, "dc=example,dc=test", &cookie, &len, &e), 0);
    assert_null(cookie);
    assert_int_equal(store_watermark_set(s, g->id, "dc=example,dc=test", "\x00\x01\x02rid=000", 10, &e), 0);
    assert_int_equal(store_watermark_set(s, g->id, "dc=other", "x", 1, &e), 0);
    assert_int_equal(store_watermark_set(s, g->id, "dc=example,dc=test", "\x00\x01\x02rid=001", 10, &e), 0);
    s = reopen(s, "conn.db");
    assert_int_equal(store_watermark_get(s, g->id, "dc=example,dc=test", &cookie, &len, &e), 0);
    assert_int_equal(len, 10);
    assert_memory_equal(cookie, "\x00\x01\x02rid=001", 10);
    free(cookie);
    /* an empty cookie is stored as empty, not absent */
    assert_int_equal(store_watermark_set(s, g->id, "dc=empty", NULL, 0, &e), 0);
    assert_int_equal(store_watermark_get(s, g->id, "dc=empty", &cookie, &len, &e), 0);
    assert_non_null(cookie);
    assert_int_equal(len, 0);
    free(cookie);
    assert_int_equal(store_watermark_clear(s, g->id, &e), 0);
    assert_int_equal(store_watermark_get(s, g->id, "dc=other", &cookie, &len, &e), 0);
    assert_null(cookie);

    /* remove takes the connector space and watermarks with it */
    cs_object o = {.connector_id = g->id, .anchor = "A1", .anchor_len = 2, .dn = "uid=a", .object_type = "user",
                   .attrs = attrs_new()};
    assert_int_equal(store_cs_save(s, &o, &e), 0);
    assert_int_equal(store_watermark_set(s, g->id, "p", "c", 1, &e), 0);
    assert_int_equal(store_connector_remove(s, "corp", &e), 0);
    assert_int_equal(store_connector_get(s, "corp", &g2, &e), ERR_NOTFOUND);
    int64_t n = -1;
    assert_int_equal(store_table_count(s, "cs_objects", &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_table_count(s, "watermarks", &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_connector_remove(s, "corp", &e), ERR_NOTFOUND);
    attrs_free(o.attrs);
    store_connector_free(g);
    store_close(s);
}

static int collect_rule(void *ctx, const store_rule *r, err *e)
{
    (void)e;
    struct names *nm = ctx;
    snprintf(nm->got[nm->n++], 64, "%s", r->name);
    return 0;
}

static void test_rules(void **state)
{
    (void)state;
    store *s = create_db("rules.db");
    err e = {0};
    store_rule r1 = {.name = "in-corp-user", .direction = "inbound", .connector = "corp",
                     .definition = "{\"name\":\"in-corp-user\"}", .hash = "h1", .precedence = 100, .enabled = true};
    store_rule r2 = {.name = "out-cloud-user", .direction = "outbound", .connector = "cloud",
                     .definition = "{}", .hash = "h2", .precedence = 50, .enabled = false};
    store_rule r3 = {.name = "in-corp-group", .direction = "inbound", .connector = "corp",
                     .definition = "{}", .hash = "h3", .precedence = 10, .enabled = true};
    assert_int_equal(store_rule_put(s, &r1, &e), 0);
    assert_int_equal(store_rule_put(s, &r2, &e), 0);
    assert_int_equal(store_rule_put(s, &r3, &e), 0);
    /* replace by name */
    r1.hash = "h1b";
    r1.enabled = false;
    r1.precedence = 5;
    assert_int_equal(store_rule_put(s, &r1, &e), 0);
    s = reopen(s, "rules.db");
    store_rule *g = NULL;
    assert_int_equal(store_rule_get(s, "in-corp-user", &g, &e), 0);
    assert_string_equal(g->hash, "h1b");
    assert_false(g->enabled);
    assert_int_equal(g->precedence, 5);
    assert_string_equal(g->direction, "inbound");
    assert_string_equal(g->connector, "corp");
    assert_string_equal(g->definition, r1.definition);
    store_rule_free(g);
    struct names nm = {0};
    assert_int_equal(store_rule_each(s, collect_rule, &nm, &e), 0);
    assert_int_equal(nm.n, 3);
    /* by direction, then precedence */
    assert_string_equal(nm.got[0], "in-corp-user");
    assert_string_equal(nm.got[1], "in-corp-group");
    assert_string_equal(nm.got[2], "out-cloud-user");
    assert_int_equal(store_rule_delete(s, "in-corp-group", &e), 0);
    assert_int_equal(store_rule_delete(s, "in-corp-group", &e), ERR_NOTFOUND);
    assert_int_equal(store_rule_get(s, "in-corp-group", &g, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "in-corp-group"));
    store_close(s);
}

struct cs_seen {
    int n;
    int64_t ids[16];
};

static int collect_cs(void *ctx, cs_object *o, err *e)
{
    (void)e;
    struct cs_seen *c = ctx;
    c->ids[c->n++] = o->id;
    return 0;
}

static int stop_cs(void *ctx, cs_object *o, err *e)
{
    (void)ctx;
    (void)o;
    return err_set(e, ERR_PARTIAL, "stopped by the callback");
}

static void test_connector_space(void **state)
{
    (void)state;
    store *s = create_db("cs.db");
    err e = {0};
    store_connector c = {.name = "corp", .type = "ad", .url = "ldap://127.0.0.1"};
    assert_int_equal(store_connector_add(s, &c, &e), 0);
    /* a binary anchor with NULs and high bytes (an objectGUID) */
    unsigned char guid[16] = {0x00, 0xff, 0x10, 0x00, 0x80, 0x7f, 0x01, 0x02,
                              0x03, 0x00, 0x00, 0xab, 0xcd, 0xef, 0x00, 0x00};
    cs_object o = {.connector_id = c.id, .anchor = guid, .anchor_len = 16, .dn = "CN=Ada,OU=People,DC=example,DC=test",
                   .object_type = "user", .attrs = attrs_new(), .flags = CS_F_PENDING_IMPORT, .seen_run = 3};
    attrs_set_str(o.attrs, "displayName", "Ada Lovelace");
    attr_add(attrs_put(o.attrs, "objectSid", AT_BINARY), "\x01\x05\x00\x00", 4);
    attr *m = attrs_put(o.attrs, "memberOf", AT_REFERENCE);
    attr_add_str(m, "CN=g1,DC=example,DC=test");
    attr_add_str(m, "CN=g2,DC=example,DC=test");
    assert_int_equal(store_cs_save(s, &o, &e), 0);
    assert_true(o.id > 0);
    /* a second object whose anchor differs only after a NUL byte */
    unsigned char guid2[16];
    memcpy(guid2, guid, 16);
    guid2[15] = 1;
    cs_object o2 = {.connector_id = c.id, .anchor = guid2, .anchor_len = 16, .dn = "CN=Bob,OU=People,DC=example,DC=test",
                    .object_type = "user", .attrs = attrs_new(), .seen_run = 2, .export_op = CS_EXPORT_UPDATE,
                    .export_attrs = attrs_new(), .export_dn = "CN=Robert,OU=People,DC=example,DC=test",
                    .export_error = "HTTP 500", .export_attempts = 2, .mv_id = 77};
    attrs_set_str(o2.export_attrs, "title", "Engineer");
    assert_int_equal(store_cs_save(s, &o2, &e), 0);
    /* same anchor in the same connector is refused */
    cs_object o3 = {.connector_id = c.id, .anchor = guid, .anchor_len = 16, .dn = "CN=Dup", .object_type = "user",
                    .attrs = attrs_new()};
    assert_true(store_cs_save(s, &o3, &e) < 0);
    attrs_free(o3.attrs);
    s = reopen(s, "cs.db");

    cs_object *g = NULL;
    assert_int_equal(store_cs_get_by_anchor(s, c.id, guid, 16, &g, &e), 0);
    assert_int_equal(g->id, o.id);
    assert_int_equal(g->anchor_len, 16);
    assert_memory_equal(g->anchor, guid, 16);
    assert_string_equal(g->dn, o.dn);
    assert_string_equal(g->object_type, "user");
    assert_true(attrs_equal(g->attrs, o.attrs));
    assert_int_equal(attrs_get(g->attrs, "objectsid")->type, AT_BINARY);
    assert_int_equal(g->flags, CS_F_PENDING_IMPORT);
    assert_int_equal(g->seen_run, 3);
    assert_int_equal(g->mv_id, 0);
    assert_int_equal(g->export_op, CS_EXPORT_NONE);
    assert_null(g->export_attrs);
    assert_null(g->export_dn);
    cs_object_free(g);
    assert_int_equal(store_cs_get_by_anchor(s, c.id, guid2, 16, &g, &e), 0);
    assert_int_equal(g->id, o2.id);
    assert_int_equal(g->mv_id, 77);
    assert_int_equal(g->export_op, CS_EXPORT_UPDATE);
    assert_non_null(g->export_attrs);
    assert_true(attrs_equal(g->export_attrs, o2.export_attrs));
    assert_string_equal(g->export_dn, o2.export_dn);
    assert_string_equal(g->export_error, "HTTP 500");
    assert_int_equal(g->export_attempts, 2);
    cs_object_free(g);
    /* a prefix of the anchor is another anchor */
    assert_int_equal(store_cs_get_by_anchor(s, c.id, guid, 15, &g, &e), ERR_NOTFOUND);
    assert_int_equal(store_cs_get_by_anchor(s, c.id + 1, guid, 16, &g, &e), ERR_NOTFOUND);
    assert_int_equal(store_cs_get_by_dn(s, c.id, "CN=Bob,OU=People,DC=example,DC=test", &g, &e), 0);
    assert_int_equal(g->id, o2.id);
    cs_object_free(g);
    assert_int_equal(store_cs_get_by_dn(s, c.id, "CN=Nobody", &g, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "CN=Nobody"));

    /* iteration and counts */
    struct cs_seen seen = {0};
    assert_int_equal(store_cs_each(s, c.id, STORE_CS_ALL, 0, collect_cs, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], o.id);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_cs_each(s, c.id, STORE_CS_PENDING, 0, collect_cs, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], o.id);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_cs_each(s, c.id, STORE_CS_EXPORT, 0, collect_cs, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], o2.id);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_cs_each(s, 0, STORE_CS_JOINED_TO, 77, collect_cs, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], o2.id);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_cs_each(s, c.id, STORE_CS_UNSEEN, 3, collect_cs, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], o2.id);
    assert_int_equal(store_cs_each(s, c.id, STORE_CS_ALL, 0, stop_cs, NULL, &e), ERR_PARTIAL);
    int64_t n = 0;
    assert_int_equal(store_cs_count(s, c.id, STORE_CS_ALL, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_cs_count(s, c.id, STORE_CS_PENDING, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_cs_count(s, c.id, STORE_CS_EXPORT, &n, &e), 0);
    assert_int_equal(n, 1);

    /* update by id, set anchor, delete */
    assert_int_equal(store_cs_get_by_id(s, o.id, &g, &e), 0);
    g->flags = 0;
    attrs_set_str(g->attrs, "title", "Countess");
    g->mv_id = 5;
    assert_int_equal(store_cs_save(s, g, &e), 0);
    cs_object *h = NULL;
    assert_int_equal(store_cs_get_by_id(s, o.id, &h, &e), 0);
    assert_string_equal(attrs_get_str(h->attrs, "TITLE"), "Countess");
    assert_int_equal(h->mv_id, 5);
    assert_int_equal(h->flags, 0);
    cs_object_free(h);
    cs_object_free(g);
    assert_int_equal(store_cs_set_anchor(s, o.id, "new-anchor", 10, &e), 0);
    assert_int_equal(store_cs_get_by_anchor(s, c.id, "new-anchor", 10, &g, &e), 0);
    assert_int_equal(g->id, o.id);
    cs_object_free(g);
    assert_int_equal(store_cs_delete(s, o.id, &e), 0);
    assert_int_equal(store_cs_get_by_id(s, o.id, &g, &e), ERR_NOTFOUND);

    /* a row whose attribute blob is damaged is reported, not trusted */
    const db_driver *drv = store_driver(s);
    assert_int_equal(drv->exec(store_db(s), "UPDATE cs_objects SET attrs = x'01ff'", &e), 0);
    err_clear(&e);
    assert_int_equal(store_cs_get_by_id(s, o2.id, &g, &e), ERR_CORRUPT);
    assert_null(g);
    assert_non_null(strstr(e.msg, "CN=Bob"));

    attrs_free(o.attrs);
    attrs_free(o2.attrs);
    attrs_free(o2.export_attrs);
    store_close(s);
}

struct mv_seen {
    int n;
    int64_t ids[16];
};

static int collect_mv(void *ctx, mv_object *o, err *e)
{
    (void)e;
    struct mv_seen *c = ctx;
    c->ids[c->n++] = o->id;
    return 0;
}

static void test_metaverse(void **state)
{
    (void)state;
    store *s = create_db("mv.db");
    err e = {0};
    mv_object a = {.object_type = "person", .attrs = attrs_new(), .lineage = attrs_new()};
    attrs_set_str(a.attrs, "mail", "Ada@Example.Test");
    attrs_set_str(a.attrs, "employeeID", "E1");
    attrs_set_str(a.lineage, "mail", "corp|in-corp-user");
    mv_object b = {.object_type = "person", .attrs = attrs_new(), .lineage = attrs_new()};
    attrs_set_str(b.attrs, "mail", "bob@example.test");
    assert_int_equal(store_mv_save(s, &a, &e), 0);
    assert_int_equal(store_mv_save(s, &b, &e), 0);
    assert_true(a.id > 0 && b.id > a.id);
    assert_int_equal(store_mv_index_set(s, a.id, "mail", NULL, attrs_get(a.attrs, "mail"), &e), 0);
    assert_int_equal(store_mv_index_set(s, b.id, "mail", NULL, attrs_get(b.attrs, "mail"), &e), 0);
    assert_int_equal(store_mv_index_set(s, a.id, "employeeID", NULL, attrs_get(a.attrs, "employeeID"), &e), 0);
    s = reopen(s, "mv.db");

    mv_object *g = NULL;
    assert_int_equal(store_mv_get(s, a.id, &g, &e), 0);
    assert_string_equal(g->object_type, "person");
    assert_true(attrs_equal(g->attrs, a.attrs));
    assert_string_equal(attrs_get_str(g->lineage, "mail"), "corp|in-corp-user");
    assert_true(g->updated_at > 0);
    mv_object_free(g);
    assert_int_equal(store_mv_get(s, 9999, &g, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "9999"));

    /* index lookups are case-insensitive on the value */
    int64_t ids[4];
    size_t n = 0;
    assert_int_equal(store_mv_index_find(s, "mail", "ADA@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a.id);
    assert_int_equal(store_mv_index_find(s, "mail", "carol@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_mv_index_find(s, "employeeID", "e1", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    /* two objects with the same value: both found, capped at max */
    attr *dupv = attrs_put(b.attrs, "altMail", AT_STRING);
    attr_add_str(dupv, "shared@example.test");
    assert_int_equal(store_mv_index_set(s, b.id, "altMail", NULL, dupv, &e), 0);
    assert_int_equal(store_mv_index_set(s, a.id, "altMail", NULL, dupv, &e), 0);
    assert_int_equal(store_mv_index_find(s, "altMail", "SHARED@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_mv_index_find(s, "altMail", "shared@example.test", ids, 1, &n, &e), 0);
    assert_int_equal(n, 1);
    /* replacing the indexed values drops the old ones (given: the index is keyed by value) */
    attrs *before = attrs_new();
    attr *ov = attrs_put(before, "mail", AT_STRING);
    attr_add_str(ov, "Ada@Example.Test");
    attr *nv = attrs_put(a.attrs, "mail", AT_STRING);
    attr_add_str(nv, "ada.lovelace@example.test");
    assert_int_equal(store_mv_index_set(s, a.id, "mail", ov, nv, &e), 0);
    assert_int_equal(store_mv_index_find(s, "mail", "ada@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_mv_index_find(s, "mail", "Ada.Lovelace@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    /* overlapping old and new values (repeated and differing only in case): kept, dropped, added */
    attr *mv3 = attrs_put(a.attrs, "proxy", AT_STRING);
    attr_add_str(mv3, "X@a");
    attr_add_str(mv3, "y@a");
    attr_add_str(mv3, "Y@A");
    assert_int_equal(store_mv_index_set(s, a.id, "proxy", NULL, mv3, &e), 0);
    attr *mv4 = attrs_put(b.attrs, "proxy", AT_STRING);
    attr_add_str(mv4, "z@a");
    attr_add_str(mv4, "x@A");
    attr_add_str(mv4, "z@A");
    assert_int_equal(store_mv_index_set(s, a.id, "proxy", mv3, mv4, &e), 0);
    assert_int_equal(store_mv_index_find(s, "proxy", "x@a", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_mv_index_find(s, "proxy", "y@a", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_mv_index_find(s, "proxy", "Z@a", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a.id);
    /* other attributes of the object are untouched; no values clears the attribute */
    assert_int_equal(store_mv_index_find(s, "mail", "ada.lovelace@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_mv_index_set(s, a.id, "proxy", mv4, NULL, &e), 0);
    assert_int_equal(store_mv_index_find(s, "proxy", "x@a", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    attrs_remove(a.attrs, "proxy");
    attrs_remove(b.attrs, "proxy");
    /* update and linear search */
    assert_int_equal(store_mv_save(s, &a, &e), 0);
    assert_int_equal(store_mv_search(s, "MAIL", "ADA.LOVELACE@EXAMPLE.TEST", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a.id);
    struct mv_seen seen = {0};
    assert_int_equal(store_mv_each(s, collect_mv, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    /* deleting: the caller removes the object's index rows (found by its values), then the object */
    assert_int_equal(store_mv_index_set(s, b.id, "altMail", attrs_get(b.attrs, "altMail"), NULL, &e), 0);
    assert_int_equal(store_mv_index_set(s, b.id, "mail", attrs_get(b.attrs, "mail"), NULL, &e), 0);
    assert_int_equal(store_mv_delete(s, b.id, &e), 0);
    assert_int_equal(store_mv_index_find(s, "mail", "bob@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_mv_index_find(s, "altMail", "shared@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a.id);
    assert_int_equal(store_mv_get(s, b.id, &g, &e), ERR_NOTFOUND);
    attrs_free(a.attrs);
    attrs_free(a.lineage);
    attrs_free(b.attrs);
    attrs_free(b.lineage);
    attrs_free(before);
    store_close(s);
}

struct run_seen {
    int n;
    int64_t ids[8];
    char results[8][32];
    char msgs[8][128];
};

static int collect_run(void *ctx, const store_run *r, err *e)
{
    (void)e;
    struct run_seen *c = ctx;
    c->ids[c->n] = r->id;
    snprintf(c->results[c->n], 32, "%s", r->result);
    snprintf(c->msgs[c->n], 128, "%s|%s|%s", r->connector_name ? r->connector_name : "-", r->profile,
             r->stats_json);
    c->n++;
    return 0;
}

static int collect_run_error(void *ctx, const char *dn, const char *kind, const char *message, err *e)
{
    (void)e;
    struct run_seen *c = ctx;
    snprintf(c->msgs[c->n++], 128, "%s|%s|%s", dn ? dn : "-", kind, message);
    return 0;
}

static void test_runs(void **state)
{
    (void)state;
    setenv("IDSYNC_FAKE_NOW", "1700000000", 1);
    store *s = create_db("runs.db");
    err e = {0};
    store_connector c = {.name = "corp", .type = "ldap", .url = "ldap://127.0.0.1"};
    assert_int_equal(store_connector_add(s, &c, &e), 0);
    assert_int_equal(c.created_at, 1700000000);
    int64_t r1 = 0, r2 = 0;
    assert_int_equal(store_run_start(s, c.id, "corp", "full-import", &r1, &e), 0);
    assert_int_equal(store_run_error(s, r1, "uid=x,dc=example,dc=test", "\x00\x01", 2, "import-warning",
                                     "bad UTF-8 in cn", &e), 0);
    assert_int_equal(store_run_error(s, r1, NULL, NULL, 0, "sync-error", "join ambiguous", &e), 0);
    setenv("IDSYNC_FAKE_NOW", "1700000100", 1);
    assert_int_equal(store_run_finish(s, r1, "completed-with-errors", "{\"adds\":3}", "2 errors", &e), 0);
    assert_int_equal(store_run_start(s, 0, NULL, "delta-sync", &r2, &e), 0);
    unsetenv("IDSYNC_FAKE_NOW");
    s = reopen(s, "runs.db");
    struct run_seen seen = {0};
    assert_int_equal(store_run_each(s, 10, collect_run, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], r2);    /* newest first */
    assert_string_equal(seen.results[0], "in-progress");
    assert_string_equal(seen.msgs[0], "-|delta-sync|{}");
    assert_string_equal(seen.results[1], "completed-with-errors");
    assert_string_equal(seen.msgs[1], "corp|full-import|{\"adds\":3}");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_run_each(s, 1, collect_run, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_run_errors_each(s, r1, 10, collect_run_error, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.msgs[0], "uid=x,dc=example,dc=test|import-warning|bad UTF-8 in cn");
    assert_string_equal(seen.msgs[1], "-|sync-error|join ambiguous");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_run_errors_each(s, r2, 10, collect_run_error, &seen, &e), 0);
    assert_int_equal(seen.n, 0);
    int64_t n = 0;
    assert_int_equal(store_table_count(s, "run_errors", &n, &e), 0);
    assert_int_equal(n, 2);
    store_close(s);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_open_refusals(void **state)
{
    (void)state;
    err e = {0};
    store *s = NULL;
    /* missing file */
    char *url = url_for("missing.db");
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_NOTFOUND);
    assert_null(s);
    assert_non_null(strstr(e.msg, "missing.db"));
    char *p = path_for("missing.db");
    struct stat st;
    assert_int_equal(stat(p, &st), -1);   /* open never creates */
    free(p);
    free(url);

    /* a text file */
    p = path_for("notes.txt");
    write_file(p, "this is not a database\nat all\n");
    url = url_for("notes.txt");
    err_clear(&e);
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(e.msg, "notes.txt"));
    err_clear(&e);
    assert_int_equal(store_create(url, NULL, &s, &e), ERR_CORRUPT);
    assert_null(s);
    free(url);
    free(p);

    /* another application's SQLite database */
    p = path_for("other.db");
    db *d = NULL;
    assert_int_equal(db_driver_sqlite.open(p, NULL, true, &d, &e), 0);
    assert_int_equal(db_driver_sqlite.exec(d, "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);"
                                              "INSERT INTO invoices(total) VALUES (9.5);", &e), 0);
    db_driver_sqlite.close(d);
    url = url_for("other.db");
    err_clear(&e);
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not an idsync"));
    assert_non_null(strstr(e.msg, "other.db"));
    /* and it is not an empty database either: create refuses, leaving it alone */
    err_clear(&e);
    assert_int_equal(store_create(url, NULL, &s, &e), ERR_EXISTS);
    assert_null(s);
    assert_int_equal(db_driver_sqlite.open(p, NULL, false, &d, &e), 0);
    db_stmt *q = NULL;
    assert_int_equal(db_driver_sqlite.prepare(d, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'", &q, &e), 0);
    assert_int_equal(db_driver_sqlite.step(q, &e), DB_ROW);
    assert_int_equal(db_driver_sqlite.column_int64(q, 0), 0);
    db_driver_sqlite.finalize(q);
    db_driver_sqlite.close(d);
    free(url);
    free(p);

    /* a table named meta that is not ours (no schema version) */
    p = path_for("meta-only.db");
    assert_int_equal(db_driver_sqlite.open(p, NULL, true, &d, &e), 0);
    assert_int_equal(db_driver_sqlite.exec(d, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);", &e), 0);
    db_driver_sqlite.close(d);
    url = url_for("meta-only.db");
    err_clear(&e);
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_CORRUPT);
    free(url);
    free(p);

    /* an empty SQLite file (no tables): not found, so install can offer to create */
    p = path_for("empty.db");
    write_file(p, "");
    url = url_for("empty.db");
    err_clear(&e);
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(store_create(url, NULL, &s, &e), 0);
    store_close(s);
    s = NULL;
    free(url);
    free(p);

    /* unknown URL scheme */
    err_clear(&e);
    assert_true(store_open("mysql://x/y", NULL, &s, &e) < 0);
    assert_null(s);
    assert_true(strlen(e.msg) > 0);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    store *s = create_db("newer.db");
    err e = {0};
    char v[16];
    snprintf(v, sizeof v, "%d", STORE_SCHEMA_VERSION + 1);
    assert_int_equal(store_meta_set(s, "schema_version", v, &e), 0);
    assert_int_equal(store_meta_set(s, "engine_version", "9.8.7", &e), 0);
    store_close(s);
    char *url = url_for("newer.db");
    s = NULL;
    assert_int_equal(store_open(url, NULL, &s, &e), ERR_REFUSED);
    assert_null(s);
    char want[64];
    snprintf(want, sizeof want, "schema version %d", STORE_SCHEMA_VERSION + 1);
    assert_non_null(strstr(e.msg, want));
    assert_non_null(strstr(e.msg, "9.8.7"));
    /* create refuses too: the file holds data */
    err_clear(&e);
    assert_int_equal(store_create(url, NULL, &s, &e), ERR_EXISTS);
    free(url);
}

static void test_create_on_existing(void **state)
{
    (void)state;
    store *s = create_db("twice.db");
    err e = {0};
    store_connector c = {.name = "keepme", .type = "ldap", .url = "ldap://x"};
    assert_int_equal(store_connector_add(s, &c, &e), 0);
    store_close(s);
    char *url = url_for("twice.db");
    s = NULL;
    assert_int_equal(store_create(url, NULL, &s, &e), ERR_EXISTS);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not empty"));
    /* the data is untouched */
    assert_int_equal(store_open(url, NULL, &s, &e), 0);
    store_connector *g = NULL;
    assert_int_equal(store_connector_get(s, "keepme", &g, &e), 0);
    store_connector_free(g);
    /* migrate on a current database is a no-op */
    int from = -1, to = -1;
    assert_int_equal(store_migrate(s, &from, &to, &e), 0);
    assert_int_equal(from, STORE_SCHEMA_VERSION);
    assert_int_equal(to, STORE_SCHEMA_VERSION);
    store_close(s);
    free(url);
}

/* A database at schema version 1 (join index with an mv_id index and a foreign key) migrates to
   version 2 (keyed by value only): its rows stay, rows of missing MV objects go, lookups work. */
static void test_join_index_migration(void **state)
{
    (void)state;
    char *path = path_for("v1.db"), *url = url_for("v1.db");
    err e = {0};
    assert_int_equal(test_make_v1_db(path,
        "INSERT INTO mv_objects(id, object_type, attrs, updated_at) VALUES (1, 'person', x'', 0), (2, 'group', x'', 0);"
        "INSERT INTO mv_index(attr, value, mv_id) VALUES ('mail', 'ada@example.test', 1), ('~ref', '1', 2),"
        " ('mail', 'gone@example.test', 99);", &e), 0);
    store *s = NULL;
    assert_int_equal(store_open(url, NULL, &s, &e), 0);
    int from = 0, to = 0;
    assert_int_equal(store_migrate(s, &from, &to, &e), 0);
    assert_int_equal(from, 1);
    assert_int_equal(to, STORE_SCHEMA_VERSION);
    int64_t ids[4];
    size_t n = 0;
    assert_int_equal(store_mv_index_find(s, "mail", "Ada@Example.Test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 1);
    assert_int_equal(store_mv_index_find(s, STORE_MV_REF_INDEX, "1", ids, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 2);
    assert_int_equal(store_mv_index_find(s, "mail", "gone@example.test", ids, 4, &n, &e), 0);
    assert_int_equal(n, 0);   /* its MV object did not exist */
    store_close(s);
    free(path);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_index_migration),
        cmocka_unit_test(test_create_and_meta),
        cmocka_unit_test(test_connectors_and_watermarks),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_connector_space),
        cmocka_unit_test(test_metaverse),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_create_on_existing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
