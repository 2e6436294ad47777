/* `idsync cs show`, `mv search|show`, `trace`: looking at objects. */
#include "cli/cli.h"
#include "engine/engine_trace.h"
#include "util/util_alloc.h"
#include "util/util_uuid.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *cli_attr_values_json(const attr *a);

static json_t *attrs_json(const attrs *a)
{
    json_t *o = json_object();
    for (size_t i = 0; a && i < a->n; i++) json_object_set_new(o, a->a[i].name, cli_attr_values_json(&a->a[i]));
    return o;
}

static json_t *anchor_json(const void *p, size_t n)
{
    if (utf8_valid(p, n)) {
        bool printable = true;
        for (size_t i = 0; i < n; i++) printable &= ((const unsigned char *)p)[i] >= 0x20;
        if (printable) return json_stringn(p, n);
    }
    char *h = hex_encode(p, n);
    json_t *j = json_sprintf("hex:%s", h);
    free(h);
    return j;
}

static void print_attrs_text(const char *title, json_t *o)
{
    const char *k;
    json_t *v;
    printf("%s\n", title);
    json_object_foreach(o, k, v) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) printf("  %-28s %s\n", i ? "" : k, json_string_value(x));
    }
}

static void print_json_text(json_t *doc)
{
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (json_is_object(v) && strcmp(k, "pending_export") != 0) {
            print_attrs_text(k, v);
        } else {
            char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-16s %s\n", k, s ? s : json_string_value(v));
            free(s);
        }
    }
}

static void anchor_from_arg(const char *a, void **out, size_t *len)
{
    if (strncmp(a, "hex:", 4) == 0) {
        size_t n = strlen(a + 4) / 2;
        unsigned char *b = xmalloc(n + 1);
        size_t got = 0;
        sodium_hex2bin(b, n, a + 4, strlen(a + 4), NULL, &got, NULL);
        *out = b;
        *len = got;
    } else {
        *out = xstrdup(a);
        *len = strlen(a);
    }
}

int cli_cs(cli *c, int argc, char **argv)
{
    bool help = cli_opt_flag(&argc, argv, "--help");   /* before argc is tested: the flag is removed */
    if (help || argc < 1 || strcmp(argv[0], "show") != 0) {
        fputs("usage: idsync cs show CONNECTOR (--dn DN | --anchor A) [--json]\nThe connector-space copy of one "
              "object: attributes as last imported, link to the metaverse, pending export, last export error.\n"
              "Anchors: text as shown (SCIM id, entryUUID) or hex:... (objectGUID).\n", help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    argc--, argv++;
    bool bad = false;
    c->json = cli_opt_flag(&argc, argv, "--json");
    const char *dn = cli_opt_value(&argc, argv, "--dn", &bad);
    const char *anchor = cli_opt_value(&argc, argv, "--anchor", &bad);
    if (bad || argc != 1 || (!dn == !anchor)) return cli_usage("usage: idsync cs show CONNECTOR (--dn DN | --anchor A) [--json]");
    err e = {0};
    store_connector *sc = NULL;
    cs_object *o = NULL;
    int rc = cli_open_nokey(c, &e);
    if (rc == 0) rc = store_connector_get(c->st, argv[0], &sc, &e);
    if (rc == 0 && dn) rc = store_cs_get_by_dn(c->st, sc->id, dn, &o, &e);
    if (rc == 0 && anchor) {
        void *a;
        size_t n;
        anchor_from_arg(anchor, &a, &n);
        rc = store_cs_get_by_anchor(c->st, sc->id, a, n, &o, &e);
        if (rc == ERR_NOTFOUND) err_set(&e, ERR_NOTFOUND, "no object with anchor '%s' in connector '%s'", anchor, argv[0]);
        free(a);
    }
    if (rc) {
        store_connector_free(sc);
        return cli_fail(&e);
    }
    json_t *flags = json_array();
    if (o->flags & CS_F_PENDING_IMPORT) json_array_append_new(flags, json_string("pending-import"));
    if (o->flags & CS_F_DELETED) json_array_append_new(flags, json_string("deleted"));
    if (o->flags & CS_F_PROVISIONAL) json_array_append_new(flags, json_string("provisioned-not-exported"));
    if (o->flags & CS_F_EXPORTED) json_array_append_new(flags, json_string("awaiting-confirming-import"));
    if (o->flags & CS_F_UNRESOLVED) json_array_append_new(flags, json_string("waiting-for-reference"));
    const char *op = o->export_op == CS_EXPORT_ADD ? "add" : o->export_op == CS_EXPORT_UPDATE ? "update"
                   : o->export_op == CS_EXPORT_DELETE ? "delete" : "none";
    char t[32];
    json_t *doc = json_pack("{s:s, s:I, s:s?, s:o, s:s, s:b, s:I, s:o, s:o, s:{s:s, s:s?, s:o}, s:s?, s:i, s:s}",
        "connector", sc->name, "id", (json_int_t)o->id, "dn", o->dn, "anchor", anchor_json(o->anchor, o->anchor_len),
        "object_type", o->object_type, "joined", o->mv_id != 0, "mv_id", (json_int_t)o->mv_id, "state", flags,
        "attributes", attrs_json(o->attrs), "pending_export", "operation", op, "new_dn", o->export_dn,
        "attributes", attrs_json(o->export_attrs), "export_error", o->export_error, "export_attempts",
        o->export_attempts, "updated_at", cli_time(o->updated_at, t, sizeof t));
    if (c->json) cli_print_json(doc);
    else {
        print_json_text(doc);
        json_decref(doc);
    }
    cs_object_free(o);
    store_connector_free(sc);
    return EXIT_OK;
}

struct linked_ctx {
    cli *c;
    json_t *arr;
};

static int linked_one(void *ctx, cs_object *o, err *e)
{
    struct linked_ctx *l = ctx;
    store_connector *sc = NULL;
    store_connector_get_by_id(l->c->st, o->connector_id, &sc, NULL);
    json_array_append_new(l->arr, json_pack("{s:s, s:s?, s:o, s:s}", "connector", sc ? sc->name : "?", "dn", o->dn,
                          "anchor", anchor_json(o->anchor, o->anchor_len), "object_type", o->object_type));
    store_connector_free(sc);
    return 0;
}

static json_t *mv_json(cli *c, mv_object *mv, err *e)
{
    struct linked_ctx l = {c, json_array()};
    store_cs_each(c->st, 0, STORE_CS_JOINED_TO, mv->id, linked_one, &l, e);
    json_t *lineage = json_object();
    for (size_t i = 0; i < mv->lineage->n; i++)
        json_object_set_new(lineage, mv->lineage->a[i].name, cli_attr_values_json(&mv->lineage->a[i]));
    char t[32];
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:s}", "id", (json_int_t)mv->id, "object_type", mv->object_type,
                     "attributes", attrs_json(mv->attrs), "lineage", lineage, "connectors", l.arr, "updated_at",
                     cli_time(mv->updated_at, t, sizeof t));
}

int cli_mv(cli *c, int argc, char **argv)
{
    bool help = cli_opt_flag(&argc, argv, "--help");   /* before argc is tested: the flag is removed */
    if (help || argc < 1) {
        fputs("usage: idsync mv search ATTR=VALUE [--json]\n       idsync mv show ID [--json]\nMetaverse objects; "
              "`show` includes lineage: which connector and rule contributed each attribute.\n", help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    const char *verb = argv[0];
    argc--, argv++;
    c->json = cli_opt_flag(&argc, argv, "--json");
    err e = {0};
    if (argc != 1) return cli_usage("usage: idsync mv search ATTR=VALUE | mv show ID");
    if (cli_open_nokey(c, &e)) return cli_fail(&e);
    if (strcmp(verb, "show") == 0) {
        char *end;
        long long id = strtoll(argv[0], &end, 10);
        if (*end || id <= 0) return cli_usage("mv show needs a numeric metaverse id (see `idsync mv search`)");
        mv_object *mv = NULL;
        if (store_mv_get(c->st, id, &mv, &e)) return cli_fail(&e);
        json_t *doc = mv_json(c, mv, &e);
        mv_object_free(mv);
        if (c->json) cli_print_json(doc);
        else {
            print_json_text(doc);
            json_decref(doc);
        }
        return EXIT_OK;
    }
    if (strcmp(verb, "search") != 0) return cli_usage("unknown mv verb '%s'; use search or show", verb);
    const char *eq = strchr(argv[0], '=');
    if (!eq || eq == argv[0]) return cli_usage("mv search needs ATTR=VALUE, e.g. mail=jane@example.test");
    char *name = xstrndup(argv[0], (size_t)(eq - argv[0]));
    int64_t ids[100];
    size_t n = 0;
    int rc = store_mv_search(c->st, name, eq + 1, ids, 100, &n, &e);
    free(name);
    if (rc) return cli_fail(&e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        mv_object *mv = NULL;
        if (store_mv_get(c->st, ids[i], &mv, &e) == 0) json_array_append_new(arr, mv_json(c, mv, &e));
        mv_object_free(mv);
    }
    if (c->json) {
        cli_print_json(json_pack("{s:o}", "objects", arr));
        return EXIT_OK;
    }
    size_t i;
    json_t *x;
    if (!n) printf("No metaverse object has %s.\n", argv[0]);
    json_array_foreach(arr, i, x) {
        json_t *a = json_object_get(x, "attributes");
        json_t *dn = json_array_get(json_object_get(a, "displayName"), 0);
        printf("%-8lld %-8s %s\n", (long long)json_integer_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "object_type")), dn ? json_string_value(dn) : "");
    }
    json_decref(arr);
    return n ? EXIT_OK : EXIT_FAIL;
}

int cli_trace(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync trace CONNECTOR DN [--json]\nRuns scoping, join, attribute flows and outbound evaluation "
             "for one object and shows which rule did what, with before/after values. Writes nothing.");
        return EXIT_OK;
    }
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (argc != 2) return cli_usage("usage: idsync trace CONNECTOR DN [--json]");
    err e = {0};
    if (cli_open(c, &e)) return cli_fail(&e);
    engine en = {.st = c->st, .key = c->key, .server_id = c->conf.server_id, .quiet = true};
    json_t *rep = NULL;
    if (engine_trace(&en, argv[0], argv[1], &rep, &e)) return cli_fail(&e);
    if (c->json) {
        cli_print_json(rep);
        return EXIT_OK;
    }
    printf("%s in %s (%s)\n", argv[1], argv[0], json_string_value(json_object_get(rep, "object_type")));
    printf("outcome: %s\n", json_string_value(json_object_get(rep, "outcome")));
    size_t i;
    json_t *x;
    printf("inbound rules:\n");
    json_array_foreach(json_object_get(rep, "inbound_rules"), i, x)
        printf("  [%s] %s (precedence %lld, %s)\n", json_is_true(json_object_get(x, "in_scope")) ? "in scope" : "out of scope",
               json_string_value(json_object_get(x, "rule")), (long long)json_integer_value(json_object_get(x, "precedence")),
               json_string_value(json_object_get(x, "link_type")));
    if (!json_array_size(json_object_get(rep, "inbound_rules"))) printf("  none applies to this object type\n");
    printf("metaverse object %lld changes:\n", (long long)json_integer_value(json_object_get(rep, "mv_id")));
    json_array_foreach(json_object_get(rep, "metaverse_changes"), i, x) {
        char *b = json_dumps(json_object_get(x, "before"), JSON_COMPACT), *a = json_dumps(json_object_get(x, "after"), JSON_COMPACT);
        printf("  %-24s %s -> %s\n", json_string_value(json_object_get(x, "attribute")), b, a);
        free(b), free(a);
    }
    printf("targets:\n");
    json_array_foreach(json_object_get(rep, "targets"), i, x) {
        char *a = json_dumps(json_object_get(x, "export_attributes"), JSON_COMPACT);
        printf("  %s %s: pending %s %s%s\n", json_string_value(json_object_get(x, "connector")),
               json_string_value(json_object_get(x, "dn")) ? json_string_value(json_object_get(x, "dn")) : "",
               json_string_value(json_object_get(x, "pending_export")), a,
               json_is_true(json_object_get(x, "waiting_for_reference")) ? " (waits for a referenced object)" : "");
        free(a);
    }
    json_decref(rep);
    return EXIT_OK;
}
