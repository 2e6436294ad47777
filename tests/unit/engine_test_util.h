/* Shared helpers of the engine unit tests: a temporary sync database with ldif connectors, rules
 * written in a quote-light JSON form, runs, and lookups of connector-space / metaverse state.
 *
 * Ownership: et_new returns an environment freed (database closed, directory removed) by et_free;
 * et_cs / et_mv / et_read / et_path results are the caller's (cs_object_free, mv_object_free, free). */
#ifndef IDSYNC_TESTS_ENGINE_TEST_UTIL_H
#define IDSYNC_TESTS_ENGINE_TEST_UTIL_H
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_server.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define ET_SERVER_ID "5e5e5e5e-0000-4000-8000-000000000001"

typedef struct et_env {
    char dir[512];
    store *st;
    engine en;
    err e;              /* error of the last et_run */
} et_env;

/* A fresh database in a new temporary directory. */
static inline et_env *et_new(void)
{
    et_env *t = xcalloc(1, sizeof *t);
    const char *base = getenv("IDSYNC_TEST_TMP");
    if (base) mkdir(base, 0700);
    snprintf(t->dir, sizeof t->dir, "%s/engine-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    char *url = xasprintf("sqlite:%s/sync.db", t->dir);
    err e = {0};
    int rc = store_create(url, NULL, &t->st, &e);
    free(url);
    if (rc) fail_msg("store_create: %s", e.msg);
    rc = engine_db_init_meta(t->st, ET_SERVER_ID, &e);
    if (rc) fail_msg("engine_db_init_meta: %s", e.msg);
    t->en.st = t->st;
    t->en.server_id = ET_SERVER_ID;
    t->en.quiet = true;
    return t;
}

static inline void et_free(et_env *t)
{
    if (!t) return;
    store_close(t->st);
    char *cmd = xasprintf("rm -rf '%s'", t->dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", t->dir);
    free(cmd);
    free(t);
}

static inline char *et_path(et_env *t, const char *name) { return xasprintf("%s/%s", t->dir, name); }

static inline void et_write(et_env *t, const char *name, const char *text)
{
    char *p = et_path(t, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(p);
}

/* Whole file as text, or NULL when it does not exist. */
static inline char *et_read(et_env *t, const char *name)
{
    char *p = et_path(t, name);
    FILE *f = fopen(p, "r");
    free(p);
    if (!f) return NULL;
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    buf_putc(&b, '\0');
    return buf_steal(&b, NULL);
}

/* Occurrences of needle in the file (0 when the file is missing). */
static inline int et_count_in_file(et_env *t, const char *name, const char *needle)
{
    char *s = et_read(t, name);
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    free(s);
    return n;
}

/* An ldif connector reading file (created empty when missing) with the anchor attribute given;
   its exports go to "<name>.changes.ldif" in the test directory. Returns its id. */
static inline int64_t et_add_ldif(et_env *t, const char *name, const char *file, const char *anchor_attr)
{
    char *p = et_path(t, file);
    if (access(p, F_OK) != 0) et_write(t, file, "");
    char *xp = xasprintf("%s/%s.changes.ldif", t->dir, name);
    json_t *o = json_pack("{s:s, s:s}", "anchor_attribute", anchor_attr, "export_file", xp);
    char *opts = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    store_connector sc = {.name = (char *)name, .type = "ldif", .url = p, .partitions_json = "[]",
                          .include_json = "[]", .exclude_json = "[]", .options_json = opts,
                          .full_import_required = true, .full_sync_required = true};
    err e = {0};
    int rc = store_connector_add(t->st, &sc, &e);
    if (rc) fail_msg("store_connector_add %s: %s", name, e.msg);
    free(p);
    free(xp);
    free(opts);
    return sc.id;
}

/* Rules in JSON where ' stands for " and ` for \" (so expressions read naturally). All rules of the
   document are validated with the stored ones and saved. */
static inline void et_rules(et_env *t, const char *text)
{
    buf b = BUF_INIT;
    for (const char *p = text; *p; p++) {
        if (*p == '\'') buf_putc(&b, '"');
        else if (*p == '`') buf_puts(&b, "\\\"");
        else buf_putc(&b, *p);
    }
    buf_putc(&b, '\0');
    err e = {0};
    rule_set *have = NULL;
    if (engine_rules_load(t->st, &have, &e)) fail_msg("engine_rules_load: %s", e.msg);
    size_t before = have->n;
    if (rule_set_load_json(have, b.data, "test rules", &e)) fail_msg("rules: %s", e.msg);
    for (size_t i = before; i < have->n; i++)
        if (engine_rule_save(t->st, have->rules[i], &e)) fail_msg("engine_rule_save: %s", e.msg);
    rule_set_free(have);
    buf_free(&b);
}

/* Runs a profile; returns its result code (t->e holds the error). */
static inline int et_run(et_env *t, const char *conn, engine_profile p, engine_stats *st)
{
    memset(&t->e, 0, sizeof t->e);
    engine_stats local;
    return engine_run(&t->en, conn, p, st ? st : &local, &t->e);
}

/* Runs a profile and fails the test unless it succeeded. */
static inline engine_stats et_ok(et_env *t, const char *conn, engine_profile p)
{
    engine_stats st = {0};
    int rc = et_run(t, conn, p, &st);
    if (rc) fail_msg("%s %s failed (%d): %s", conn, engine_profile_name(p), rc, t->e.msg);
    return st;
}

static inline int64_t et_conn_id(et_env *t, const char *name)
{
    store_connector *sc = NULL;
    err e = {0};
    if (store_connector_get(t->st, name, &sc, &e)) fail_msg("connector %s: %s", name, e.msg);
    int64_t id = sc->id;
    store_connector_free(sc);
    return id;
}

static inline store_connector *et_conn(et_env *t, const char *name)
{
    store_connector *sc = NULL;
    err e = {0};
    if (store_connector_get(t->st, name, &sc, &e)) fail_msg("connector %s: %s", name, e.msg);
    return sc;
}

/* The connector-space object of conn with that DN, or NULL. */
static inline cs_object *et_cs(et_env *t, const char *conn, const char *dn)
{
    cs_object *o = NULL;
    err e = {0};
    int rc = store_cs_get_by_dn(t->st, et_conn_id(t, conn), dn, &o, &e);
    if (rc && rc != ERR_NOTFOUND) fail_msg("store_cs_get_by_dn: %s", e.msg);
    return rc ? NULL : o;
}

static inline cs_object *et_cs_anchor(et_env *t, const char *conn, const char *anchor)
{
    cs_object *o = NULL;
    err e = {0};
    int rc = store_cs_get_by_anchor(t->st, et_conn_id(t, conn), anchor, strlen(anchor), &o, &e);
    if (rc && rc != ERR_NOTFOUND) fail_msg("store_cs_get_by_anchor: %s", e.msg);
    return rc ? NULL : o;
}

static inline mv_object *et_mv(et_env *t, int64_t id)
{
    mv_object *o = NULL;
    err e = {0};
    int rc = store_mv_get(t->st, id, &o, &e);
    if (rc && rc != ERR_NOTFOUND) fail_msg("store_mv_get: %s", e.msg);
    return rc ? NULL : o;
}

/* Id of the only MV object with attribute = value (0 when none; fails when several). */
static inline int64_t et_mv_find(et_env *t, const char *attr_name, const char *value)
{
    int64_t ids[4];
    size_t n = 0;
    err e = {0};
    if (store_mv_search(t->st, attr_name, value, ids, 4, &n, &e)) fail_msg("store_mv_search: %s", e.msg);
    if (n > 1) fail_msg("%zu metaverse objects have %s=%s", n, attr_name, value);
    return n ? ids[0] : 0;
}

/* The MV object joined to conn's object with that DN (NULL when none). */
static inline mv_object *et_mv_of(et_env *t, const char *conn, const char *dn)
{
    cs_object *o = et_cs(t, conn, dn);
    if (!o) fail_msg("no %s object %s", conn, dn);
    mv_object *m = o->mv_id ? et_mv(t, o->mv_id) : NULL;
    cs_object_free(o);
    return m;
}

static inline int64_t et_count_cs(et_env *t, const char *conn, int where)
{
    int64_t n = 0;
    err e = {0};
    if (store_cs_count(t->st, et_conn_id(t, conn), where, &n, &e)) fail_msg("store_cs_count: %s", e.msg);
    return n;
}

static inline int64_t et_count_table(et_env *t, const char *table)
{
    int64_t n = 0;
    err e = {0};
    if (store_table_count(t->st, table, &n, &e)) fail_msg("store_table_count: %s", e.msg);
    return n;
}

static inline bool et_has(const attrs *a, const char *name, const char *value)
{
    const attr *x = a ? attrs_get(a, name) : NULL;
    return x && attr_has_value(x, value, strlen(value));
}

static inline size_t et_nvals(const attrs *a, const char *name)
{
    const attr *x = a ? attrs_get(a, name) : NULL;
    return x ? x->nvals : 0;
}

/* ---- run history ---- */
struct et_run_ctx {
    int64_t id;
    char result[64];
    char profile[32];
};

static inline int et_run_cb(void *ctx, const store_run *r, err *e)
{
    struct et_run_ctx *c = ctx;
    c->id = r->id;
    snprintf(c->result, sizeof c->result, "%s", r->result ? r->result : "");
    snprintf(c->profile, sizeof c->profile, "%s", r->profile ? r->profile : "");
    return 0;
}

/* The newest run (id, result, profile). */
static inline struct et_run_ctx et_last_run(et_env *t)
{
    struct et_run_ctx c = {0};
    err e = {0};
    if (store_run_each(t->st, 1, et_run_cb, &c, &e)) fail_msg("store_run_each: %s", e.msg);
    return c;
}

struct et_err_ctx {
    const char *kind;
    int n;
    char msg[1024];
    char dn[256];
};

static inline int et_err_cb(void *ctx, const char *dn, const char *kind, const char *message, err *e)
{
    struct et_err_ctx *c = ctx;
    if (c->kind && strcmp(kind, c->kind) != 0) return 0;
    c->n++;
    snprintf(c->msg, sizeof c->msg, "%s", message ? message : "");
    snprintf(c->dn, sizeof c->dn, "%s", dn ? dn : "");
    return 0;
}

/* Errors of kind (NULL = any) recorded by the newest run. */
static inline struct et_err_ctx et_last_errors(et_env *t, const char *kind)
{
    struct et_err_ctx c = {.kind = kind};
    err e = {0};
    struct et_run_ctx r = et_last_run(t);
    if (store_run_errors_each(t->st, r.id, 100, et_err_cb, &c, &e)) fail_msg("store_run_errors_each: %s", e.msg);
    return c;
}
/* ---- the common scenario: "hr" and "it" ldif sources, an "out" ldif target ---- */

/* hr: people and a group; the group comes first and alice's manager after her (forward references). */
#define HR_GROUP "dn: cn=staff,ou=groups,dc=hr\nobjectClass: top\nobjectClass: groupOfNames\nentryUUID: g-staff\n" \
                 "cn: staff\nmember: uid=alice,ou=people,dc=hr\nmember: uid=bob,ou=people,dc=hr\n\n"
#define HR_ALICE "dn: uid=alice,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-alice\n" \
                 "uid: alice\ncn: Alice Archer\nmail: alice@hr.test\nemployeeNumber: 1001\nemployeeType: staff\n" \
                 "title: Engineer\nmanager: uid=bob,ou=people,dc=hr\n\n"
#define HR_BOB "dn: uid=bob,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-bob\n" \
               "uid: bob\ncn: Bob Baker\nmail: bob@hr.test\nemployeeNumber: 1002\nemployeeType: staff\n\n"
#define HR_CAROL "dn: uid=carol,ou=people,dc=hr\nobjectClass: top\nobjectClass: inetOrgPerson\nentryUUID: u-carol\n" \
                 "uid: carol\ncn: Carol Contractor\nemployeeNumber: 1003\nemployeeType: contractor\n\n"

/* it: accounts anchored by itId that join hr people by employeeNumber. */
#define IT_ALICE "dn: cn=alice,ou=accounts,dc=it\nobjectClass: top\nobjectClass: itAccount\nitId: it-1\ncn: alice\n" \
                 "employeeNumber: 1001\ndisplayName: Alice from IT\ntelephoneNumber: +1 555 0101\ntitle: IT title\n" \
                 "departmentNumber: D-IT\n\n"
#define IT_BOB "dn: cn=bob,ou=accounts,dc=it\nobjectClass: top\nobjectClass: itAccount\nitId: it-2\ncn: bob\n" \
               "employeeNumber: 1002\ndisplayName: Bob from IT\ntitle: IT title bob\ndepartmentNumber: D-OPS\n\n"

/* hr projects staff only (scope), joins by entryUUID = sourceAnchor; title uses AuthoritativeNull,
   department plain NULL, firstTitle is apply-once. */
#define RULES_HR "{'version': 1, 'rules': [" \
  "{'name': 'In hr person', 'direction': 'inbound', 'connector': 'hr', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'inetOrgPerson', 'mv_object_type': 'person', 'link_type': 'provision', 'precedence': 10," \
  " 'scope': [[{'attribute': 'employeeType', 'operator': 'EQUAL', 'value': 'staff'}]]," \
  " 'join': [[{'cs_attribute': 'entryUUID', 'mv_attribute': 'sourceAnchor'}]]," \
  " 'flows': [{'type': 'direct', 'source': 'entryUUID', 'target': 'sourceAnchor'}," \
  "  {'type': 'direct', 'source': 'uid', 'target': 'accountName'}," \
  "  {'type': 'direct', 'source': 'cn', 'target': 'displayName'}," \
  "  {'type': 'direct', 'source': 'mail', 'target': 'mail'}," \
  "  {'type': 'direct', 'source': 'employeeNumber', 'target': 'employeeNumber'}," \
  "  {'type': 'direct', 'source': 'manager', 'target': 'manager'}," \
  "  {'type': 'expression', 'source': 'IIF(IsPresent([title]), [title], AuthoritativeNull)', 'target': 'title'}," \
  "  {'type': 'expression', 'source': 'IIF(IsPresent([departmentNumber]), [departmentNumber], NULL)', 'target': 'department'}," \
  "  {'type': 'direct', 'source': 'title', 'target': 'firstTitle', 'apply_once': true}]}," \
  "{'name': 'In hr group', 'direction': 'inbound', 'connector': 'hr', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'groupOfNames', 'mv_object_type': 'group', 'link_type': 'provision', 'precedence': 11," \
  " 'join': [[{'cs_attribute': 'entryUUID', 'mv_attribute': 'sourceAnchor'}]]," \
  " 'flows': [{'type': 'direct', 'source': 'entryUUID', 'target': 'sourceAnchor'}," \
  "  {'type': 'direct', 'source': 'cn', 'target': 'displayName'}," \
  "  {'type': 'direct', 'source': 'member', 'target': 'member'}]}]}"

/* it only joins (never projects), by employeeNumber, with a higher precedence number than hr. */
#define RULES_IT "{'rules': [" \
  "{'name': 'In it account', 'direction': 'inbound', 'connector': 'it', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'itAccount', 'mv_object_type': 'person', 'link_type': 'join', 'precedence': 20," \
  " 'join': [[{'cs_attribute': 'employeeNumber', 'mv_attribute': 'employeeNumber'}]]," \
  " 'flows': [{'type': 'direct', 'source': 'displayName', 'target': 'displayName'}," \
  "  {'type': 'direct', 'source': 'telephoneNumber', 'target': 'telephoneNumber'}," \
  "  {'type': 'direct', 'source': 'title', 'target': 'title'}," \
  "  {'type': 'direct', 'source': 'departmentNumber', 'target': 'department'}]}]}"

/* out: provisions persons with an accountName and every group; description is apply-once. */
#define RULES_OUT "{'rules': [" \
  "{'name': 'Out person', 'direction': 'outbound', 'connector': 'out', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'inetOrgPerson', 'mv_object_type': 'person', 'link_type': 'provision', 'precedence': 10," \
  " 'scope': [[{'attribute': 'accountName', 'operator': 'ISNOTNULL'}]]," \
  " 'flows': [{'type': 'expression', 'source': '`uid=` & [accountName] & `,ou=people,dc=target`', 'target': 'dn'}," \
  "  {'type': 'direct', 'source': 'accountName', 'target': 'uid'}," \
  "  {'type': 'direct', 'source': 'displayName', 'target': 'cn'}," \
  "  {'type': 'direct', 'source': 'mail', 'target': 'mail'}," \
  "  {'type': 'direct', 'source': 'title', 'target': 'title'}," \
  "  {'type': 'direct', 'source': 'manager', 'target': 'manager'}," \
  "  {'type': 'direct', 'source': 'displayName', 'target': 'description', 'apply_once': true}]}," \
  "{'name': 'Out group', 'direction': 'outbound', 'connector': 'out', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'groupOfNames', 'mv_object_type': 'group', 'link_type': 'provision', 'precedence': 11," \
  " 'flows': [{'type': 'expression', 'source': '`cn=` & [displayName] & `,ou=groups,dc=target`', 'target': 'dn'}," \
  "  {'type': 'direct', 'source': 'displayName', 'target': 'cn'}," \
  "  {'type': 'direct', 'source': 'member', 'target': 'member'}]}]}"

#define T_ALICE "uid=alice,ou=people,dc=target"
#define T_BOB "uid=bob,ou=people,dc=target"
#define T_STAFF "cn=staff,ou=groups,dc=target"
#endif
