/* `idsync connector ...`: add, list, show, remove, set-credentials, filter. */
#include "cli/cli.h"
#include "connectors/connector.h"
#include "engine/engine_config.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include "vault/vault.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: idsync connector add NAME --type ad|ldap|scim|ldif --url URL [--base DN]... [--bind-dn DN]\n"
    "                       [--password-file F | --token-file F] [--option K=V]... [--no-default-rules]\n"
    "       idsync connector list [--json]\n"
    "       idsync connector show NAME [--json]\n"
    "       idsync connector remove NAME\n"
    "       idsync connector set-credentials NAME (--password-file F | --token-file F | -)\n"
    "       idsync connector filter NAME [--include-ou DN]... [--exclude-ou DN]... [--clear] [--json]\n"
    "Secret files: the whole file is the secret (one trailing newline removed); '-' reads stdin.\n"
    "`connector add` also installs the default sync rules for the type (see `idsync rules list`).\n";

static bool valid_name(const char *n)
{
    if (!*n || strlen(n) > 64) return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            return false;
    return true;
}

static json_t *connector_json(cli *c, const store_connector *sc)
{
    json_error_t je;
    json_t *parts = json_loads(sc->partitions_json, 0, &je), *inc = json_loads(sc->include_json, 0, &je),
           *exc = json_loads(sc->exclude_json, 0, &je), *opts = json_loads(sc->options_json, 0, &je);
    char t1[32], t2[32];
    return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:s, s:s}", "name", sc->name,
        "type", sc->type, "url", sc->url, "bind_dn", sc->bind_dn, "partitions", parts ? parts : json_array(),
        "include_ous", inc ? inc : json_array(), "exclude_ous", exc ? exc : json_array(),
        "options", opts ? opts : json_object(), "has_credentials", sc->sealed_secret != NULL,
        "credentials_required", engine_conn_credentials_required(sc, c->key, c->conf.server_id),
        "full_import_required", sc->full_import_required, "full_sync_required", sc->full_sync_required,
        "created_at", cli_time(sc->created_at, t1, sizeof t1), "updated_at", cli_time(sc->updated_at, t2, sizeof t2));
}

static int seal_into(cli *c, store_connector *sc, const char *file, err *e)
{
    char *secret = NULL;
    int rc = vault_read_secret_file(file, &secret, e);
    if (rc) return rc;
    buf b = BUF_INIT;
    rc = vault_seal(c->key, c->conf.server_id, sc->id, secret, strlen(secret), &b, e);
    xfree_secret(secret);
    if (rc == 0) {
        free(sc->sealed_secret);
        sc->sealed_secret = buf_steal(&b, &sc->sealed_len);
    }
    buf_free(&b);
    return rc;
}

static int cmd_add(cli *c, int argc, char **argv)
{
    bool bad = false;
    const char *type = cli_opt_value(&argc, argv, "--type", &bad);
    const char *url = cli_opt_value(&argc, argv, "--url", &bad);
    const char *bind_dn = cli_opt_value(&argc, argv, "--bind-dn", &bad);
    const char *pwfile = cli_opt_value(&argc, argv, "--password-file", &bad);
    const char *tokfile = cli_opt_value(&argc, argv, "--token-file", &bad);
    bool no_rules = cli_opt_flag(&argc, argv, "--no-default-rules");
    const char **bases = NULL, **opts = NULL;
    int nbases = cli_opt_values(&argc, argv, "--base", &bases, &bad);
    int nopts = cli_opt_values(&argc, argv, "--option", &opts, &bad);
    const char *unknown = cli_unknown_option(argc, argv);
    int rc = EXIT_OK;
    err e = {0};
    store_connector sc = {0};
    conn_config *cfg = NULL;
    json_t *jparts = json_array(), *jopts = json_object();
    rule_set *rules = NULL;

    if (bad) { rc = cli_usage("connector add: an option is missing its value"); goto done; }
    if (unknown) { rc = cli_usage("connector add: unknown option %s; see `idsync connector --help`", unknown); goto done; }
    if (argc != 1) { rc = cli_usage("connector add needs exactly one NAME; see `idsync connector --help`"); goto done; }
    if (!valid_name(argv[0])) {
        rc = cli_usage("connector name '%s' is not valid: use 1-64 letters, digits, '-', '_' or '.'", argv[0]);
        goto done;
    }
    if (!type || !url) { rc = cli_usage("connector add needs --type and --url"); goto done; }
    if (pwfile && tokfile) { rc = cli_usage("give either --password-file or --token-file, not both"); goto done; }
    const conn_ops *ops = conn_ops_find(type);
    if (!ops) {
        buf b = BUF_INIT;
        for (const conn_ops *const *o = conn_ops_all(); *o; o++) buf_printf(&b, "%s%s", b.len ? ", " : "", (*o)->type);
        rc = cli_usage("unknown connector type '%s'; supported types: %s", type, b.data ? b.data : "(none)");
        buf_free(&b);
        goto done;
    }
    for (int i = 0; i < nbases; i++) json_array_append_new(jparts, json_string(bases[i]));
    for (int i = 0; i < nopts; i++) {
        const char *eq = strchr(opts[i], '=');
        if (!eq || eq == opts[i]) { rc = cli_usage("--option '%s' is not KEY=VALUE", opts[i]); goto done; }
        char *k = xstrndup(opts[i], (size_t)(eq - opts[i]));
        json_object_set_new(jopts, k, json_string(eq + 1));
        free(k);
    }
    rc = cli_open(c, &e);
    if (rc) { rc = cli_fail(&e); goto done; }
    sc.name = (char *)argv[0];
    sc.type = (char *)type;
    sc.url = (char *)url;
    sc.bind_dn = (char *)bind_dn;
    sc.partitions_json = json_dumps(jparts, JSON_COMPACT);
    sc.include_json = "[]";
    sc.exclude_json = "[]";
    sc.options_json = json_dumps(jopts, JSON_COMPACT | JSON_SORT_KEYS);
    sc.full_import_required = sc.full_sync_required = true;
    rc = engine_conn_config(&sc, &cfg, &e);
    if (rc == 0 && ops->validate) rc = ops->validate(cfg, &e);
    if (rc) { err_prefix(&e, "connector '%s'", argv[0]); rc = cli_fail(&e); goto done; }
    /* Secret read before anything is written, so an empty file changes nothing. */
    char *probe = NULL;
    const char *secret_file = pwfile ? pwfile : tokfile;
    if (secret_file && strcmp(secret_file, "-") != 0) {
        rc = vault_read_secret_file(secret_file, &probe, &e);
        xfree_secret(probe);
        if (rc) { rc = cli_fail(&e); goto done; }
    }
    rc = store_begin(c->st, &e);
    if (rc == 0) rc = store_connector_add(c->st, &sc, &e);
    if (rc == 0 && secret_file) {
        rc = seal_into(c, &sc, secret_file, &e);
        if (rc == 0) rc = store_connector_update(c->st, &sc, &e);
    }
    if (rc == 0 && !no_rules && (strcmp(type, "ad") == 0 || strcmp(type, "ldap") == 0 || strcmp(type, "scim") == 0 ||
                                 strcmp(type, "ldif") == 0)) {
        rc = engine_rules_load(c->st, &rules, &e);
        size_t before = rules ? rules->n : 0;
        const char *deftype = strcmp(type, "ldif") == 0 ? "ldap" : type;
        if (rc == 0) rc = rule_set_defaults_for(rules, deftype, argv[0], &e);
        /* An ldif connector borrows the ldap defaults: bind them to its own type. */
        for (size_t i = before; rc == 0 && i < rules->n; i++)
            if (strcmp(rules->rules[i]->connector_type, type) != 0) {
                free(rules->rules[i]->connector_type);
                rules->rules[i]->connector_type = xstrdup(type);
            }
        for (size_t i = before; rc == 0 && i < rules->n; i++) rc = engine_rule_save(c->st, rules->rules[i], &e);
    }
    if (rc == 0) rc = store_commit(c->st, &e);
    else store_rollback(c->st);
    if (rc) { rc = cli_fail(&e); goto done; }
    if (!c->quiet) {
        printf("Added connector '%s' (%s, %s)%s.\n", argv[0], type, url, secret_file ? " with sealed credentials" : "");
        if (!no_rules && rules) printf("Installed its default sync rules; see `idsync rules list`.\n");
        printf("Next: `idsync run %s full-import` or `idsync cycle --initial`.\n", argv[0]);
    }
done:
    rule_set_free(rules);
    conn_config_free(cfg);
    free(sc.partitions_json);
    free(sc.options_json);
    free(sc.sealed_secret);
    json_decref(jparts);
    json_decref(jopts);
    free(bases);
    free(opts);
    return rc;
}

struct list_ctx {
    cli *c;
    json_t *arr;
};

static int list_one(void *ctx, const store_connector *sc, err *e)
{
    struct list_ctx *l = ctx;
    json_array_append_new(l->arr, connector_json(l->c, sc));
    return 0;
}

static int cmd_list(cli *c, int argc, char **argv)
{
    err e = {0};
    if (cli_open(c, &e)) return cli_fail(&e);
    struct list_ctx l = {c, json_array()};
    if (store_connector_each(c->st, list_one, &l, &e)) {
        json_decref(l.arr);
        return cli_fail(&e);
    }
    if (c->json) {
        cli_print_json(json_pack("{s:o}", "connectors", l.arr));
        return EXIT_OK;
    }
    size_t i;
    json_t *v;
    if (!json_array_size(l.arr)) printf("No connectors. Add one with `idsync connector add`.\n");
    else printf("%-16s %-5s %-11s %-11s %-11s %s\n", "NAME", "TYPE", "CREDENTIALS", "FULL-IMPORT", "FULL-SYNC", "URL");
    json_array_foreach(l.arr, i, v) {
        printf("%-16s %-5s %-11s %-11s %-11s %s\n", json_string_value(json_object_get(v, "name")),
               json_string_value(json_object_get(v, "type")),
               json_is_true(json_object_get(v, "credentials_required")) ? "required" : "ok",
               json_is_true(json_object_get(v, "full_import_required")) ? "required" : "no",
               json_is_true(json_object_get(v, "full_sync_required")) ? "required" : "no",
               json_string_value(json_object_get(v, "url")));
    }
    json_decref(l.arr);
    return EXIT_OK;
}

static int cmd_show(cli *c, int argc, char **argv)
{
    if (argc != 1) return cli_usage("connector show needs NAME");
    err e = {0};
    store_connector *sc = NULL;
    if (cli_open(c, &e) || store_connector_get(c->st, argv[0], &sc, &e)) return cli_fail(&e);
    json_t *j = connector_json(c, sc);
    store_connector_free(sc);
    if (c->json) {
        cli_print_json(j);
        return EXIT_OK;
    }
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(j);
    return EXIT_OK;
}

static int cmd_remove(cli *c, int argc, char **argv)
{
    if (argc != 1) return cli_usage("connector remove needs NAME");
    err e = {0};
    if (cli_open(c, &e) || store_connector_remove(c->st, argv[0], &e)) return cli_fail(&e);
    if (!c->quiet) printf("Removed connector '%s' and its connector space.\n", argv[0]);
    return EXIT_OK;
}

static int cmd_set_credentials(cli *c, int argc, char **argv)
{
    bool bad = false;
    const char *pwfile = cli_opt_value(&argc, argv, "--password-file", &bad);
    const char *tokfile = cli_opt_value(&argc, argv, "--token-file", &bad);
    if (bad) return cli_usage("set-credentials: an option is missing its value");
    if (argc == 2 && strcmp(argv[1], "-") == 0 && !pwfile && !tokfile) pwfile = "-", argc = 1;
    if (argc != 1 || (!pwfile && !tokfile) || (pwfile && tokfile))
        return cli_usage("usage: idsync connector set-credentials NAME (--password-file F | --token-file F | -)");
    err e = {0};
    store_connector *sc = NULL;
    int rc = cli_open(c, &e);
    if (rc == 0) rc = store_connector_get(c->st, argv[0], &sc, &e);
    if (rc == 0) rc = seal_into(c, sc, pwfile ? pwfile : tokfile, &e);
    if (rc == 0) rc = store_connector_update(c->st, sc, &e);
    store_connector_free(sc);
    if (rc) return cli_fail(&e);
    if (!c->quiet) printf("Credentials of connector '%s' sealed with this server's key.\n", argv[0]);
    return EXIT_OK;
}

static int cmd_filter(cli *c, int argc, char **argv)
{
    bool bad = false;
    const char **inc = NULL, **exc = NULL;
    int ninc = cli_opt_values(&argc, argv, "--include-ou", &inc, &bad);
    int nexc = cli_opt_values(&argc, argv, "--exclude-ou", &exc, &bad);
    bool clear = cli_opt_flag(&argc, argv, "--clear");
    int rc = EXIT_OK;
    err e = {0};
    store_connector *sc = NULL;
    conn *cn = NULL;
    const conn_ops *ops = NULL;
    json_t *ji = NULL, *jx = NULL;
    if (bad || argc != 1) {
        rc = cli_usage("usage: idsync connector filter NAME [--include-ou DN]... [--exclude-ou DN]... [--clear]");
        goto done;
    }
    rc = cli_open(c, &e);
    if (rc == 0) rc = store_connector_get(c->st, argv[0], &sc, &e);
    if (rc) { rc = cli_fail(&e); goto done; }
    json_error_t je;
    ji = clear ? json_array() : json_loads(sc->include_json, 0, &je);
    jx = clear ? json_array() : json_loads(sc->exclude_json, 0, &je);
    if (ninc || nexc) {
        /* Remember each OU by its anchor (objectGUID) where the connector can resolve it, so a
           renamed OU keeps its objects in scope instead of deleting them all. The entry is exactly
           "<GUID=32 hex>", the form the ldap/ad connector accepts (connector.h, lookup_anchor). */
        rc = engine_conn_open(sc, c->key, c->conf.server_id, &ops, &cn, &e);
        if (rc) { rc = cli_fail(&e); goto done; }
        for (int k = 0; k < ninc + nexc; k++) {
            const char *dn = k < ninc ? inc[k] : exc[k - ninc];
            char *entry = xstrdup(dn);
            if (ops->lookup_anchor) {
                buf a = BUF_INIT;
                rc = ops->lookup_anchor(cn, dn, &a, &e);
                if (rc) {
                    free(entry);
                    buf_free(&a);
                    err_prefix(&e, "OU '%s'", dn);
                    rc = cli_fail(&e);
                    goto done;
                }
                if (a.len == 16) {
                    char *hex = xmalloc(33);
                    for (int i = 0; i < 16; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)a.data[i]);
                    free(entry);
                    entry = xasprintf("<GUID=%s>", hex);
                    if (!c->quiet && !c->json) printf("OU '%s' is remembered as <GUID=%s>\n", dn, hex);
                    free(hex);
                }
                buf_free(&a);
            }
            json_array_append_new(k < ninc ? ji : jx, json_string(entry));
            free(entry);
        }
    }
    free(sc->include_json);
    free(sc->exclude_json);
    sc->include_json = json_dumps(ji, JSON_COMPACT);
    sc->exclude_json = json_dumps(jx, JSON_COMPACT);
    if (ninc || nexc || clear) {
        sc->full_sync_required = true;
        sc->full_import_required = true;
        rc = store_connector_update(c->st, sc, &e);
        if (rc) { rc = cli_fail(&e); goto done; }
    }
    if (c->json) {
        cli_print_json(json_pack("{s:s, s:O, s:O}", "name", sc->name, "include_ous", ji, "exclude_ous", jx));
    } else {
        printf("Connector '%s' OU filter:\n", sc->name);
        size_t i;
        json_t *v;
        if (!json_array_size(ji)) printf("  include: (whole partitions)\n");
        json_array_foreach(ji, i, v) printf("  include: %s\n", json_string_value(v));
        json_array_foreach(jx, i, v) printf("  exclude: %s\n", json_string_value(v));
        if (ninc || nexc || clear) printf("The next cycle runs a full import and full sync for this connector.\n");
    }
done:
    if (ops && cn) ops->close(cn);
    json_decref(ji);
    json_decref(jx);
    store_connector_free(sc);
    free(inc);
    free(exc);
    return rc;
}

int cli_connector(cli *c, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        fputs(HELP, argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[0];
    argc--, argv++;
    if (cli_opt_flag(&argc, argv, "--help")) {
        fputs(HELP, stdout);
        return EXIT_OK;
    }
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (strcmp(verb, "add") == 0) return cmd_add(c, argc, argv);
    const char *unknown = cli_unknown_option(argc, argv);
    if (unknown && strcmp(verb, "filter") != 0 && strcmp(verb, "set-credentials") != 0)
        return cli_usage("connector %s: unknown option %s", verb, unknown);
    if (strcmp(verb, "list") == 0) return cmd_list(c, argc, argv);
    if (strcmp(verb, "show") == 0) return cmd_show(c, argc, argv);
    if (strcmp(verb, "remove") == 0) return cmd_remove(c, argc, argv);
    if (strcmp(verb, "set-credentials") == 0) return cmd_set_credentials(c, argc, argv);
    if (strcmp(verb, "filter") == 0) return cmd_filter(c, argc, argv);
    return cli_usage("unknown connector verb '%s'; see `idsync connector --help`", verb);
}
