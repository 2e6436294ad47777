/* `idsync status`: what an administrator checks first. */
#include "cli/cli.h"
#include "engine/engine_config.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct status_ctx {
    cli *c;
    json_t *list;
    json_t *warnings;
};

static int add_connector(void *ctx, const store_connector *sc, err *e)
{
    struct status_ctx *s = ctx;
    bool creds = engine_conn_credentials_required(sc, s->c->key, s->c->conf.server_id);
    int64_t ncs = 0, npending = 0, nexport = 0;
    store_cs_count(s->c->st, sc->id, STORE_CS_ALL, &ncs, NULL);
    store_cs_count(s->c->st, sc->id, STORE_CS_PENDING, &npending, NULL);
    store_cs_count(s->c->st, sc->id, STORE_CS_EXPORT, &nexport, NULL);
    json_array_append_new(s->list, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:I, s:I, s:I}", "name", sc->name,
        "type", sc->type, "url", sc->url, "credentials_required", creds, "full_import_required",
        sc->full_import_required, "full_sync_required", sc->full_sync_required, "objects", (json_int_t)ncs,
        "pending_imports", (json_int_t)npending, "pending_exports", (json_int_t)nexport));
    if (creds)
        json_array_append_new(s->warnings, json_sprintf("connector '%s' needs credentials: run `idsync connector "
                              "set-credentials %s --password-file F` (or --token-file F)", sc->name, sc->name));
    return 0;
}

int cli_status(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync status [--json]\nServer id, database engine and location (password redacted), schema "
             "and engine versions, staging mode, connectors with their flags, and warnings.");
        return EXIT_OK;
    }
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (cli_unknown_option(argc, argv)) return cli_usage("status: unknown option %s", cli_unknown_option(argc, argv));
    err e = {0};
    int rc = cli_open(c, &e);
    if (rc) return cli_fail(&e);
    store *st = c->st;
    int schema = 0;
    char *ev = NULL, *signin = NULL;
    int64_t last_sync = 0, hb = 0, phs = 0, wb = 0;
    store_schema_version(st, &schema, &e);
    store_meta_get(st, "engine_version", &ev, &e);
    store_meta_get(st, "signin_method", &signin, &e);
    store_meta_get_int(st, "last_sync_at", 0, &last_sync, &e);
    store_meta_get_int(st, "owner_heartbeat", 0, &hb, &e);
    store_meta_get_int(st, "phs_enabled", 0, &phs, &e);
    store_meta_get_int(st, "writeback_enabled", 0, &wb, &e);
    bool staging = engine_staging_on(st);
    char *url = cli_redact_url(c->conf.database);
    struct status_ctx sc = {c, json_array(), json_array()};
    rc = store_connector_each(st, add_connector, &sc, &e);
    if (rc) {
        json_decref(sc.list);
        json_decref(sc.warnings);
        free(url), free(ev), free(signin);
        return cli_fail(&e);
    }
    if (!signin || strcmp(signin, "none") == 0)
        json_array_append_new(sc.warnings, json_string("no sign-in method is configured; set it with `idsync signin "
                                                       "set phs|pta|federation|none` before this server goes active"));
    if (staging)
        json_array_append_new(sc.warnings, json_string("staging mode is on: imports and syncs run, exports do not; "
                                                       "review with `idsync export-preview`, then `idsync staging off`"));
    int64_t now = store_now();
    if (last_sync > 0 && now - last_sync > 21 * 86400)
        json_array_append_new(sc.warnings, json_sprintf("the last sync was %lld days ago", (long long)((now - last_sync) / 86400)));
    char t1[32];
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:i, s:s, s:s, s:b, s:s, s:b, s:b, s:s, s:o, s:o}",
        "server_id", c->conf.server_id, "home", c->home, "database", "engine", store_engine(st), "url", url,
        "schema_version", schema, "engine_version", ev ? ev : "", "idsync_version", IDSYNC_VERSION,
        "staging_mode", staging, "signin_method", signin ? signin : "none", "password_hash_sync", phs != 0,
        "password_writeback", wb != 0, "last_sync_at", cli_time(last_sync, t1, sizeof t1),
        "connectors", sc.list, "warnings", sc.warnings);
    if (c->json) {
        cli_print_json(doc);
    } else {
        printf("server:          %s\nhome:            %s\n", c->conf.server_id, c->home);
        printf("database:        %s %s\n", store_engine(st), url);
        printf("schema version:  %d (written by idsync %s; this is %s)\n", schema, ev ? ev : "?", IDSYNC_VERSION);
        printf("staging mode:    %s\n", staging ? "on (no exports)" : "off");
        printf("sign-in method:  %s\n", signin ? signin : "none");
        printf("last sync:       %s\n", t1);
        size_t i;
        json_t *v;
        printf("connectors:      %zu\n", json_array_size(sc.list));
        json_array_foreach(sc.list, i, v) {
            printf("  %-16s %-5s objects=%lld pending-exports=%lld%s%s%s\n", json_string_value(json_object_get(v, "name")),
                   json_string_value(json_object_get(v, "type")),
                   (long long)json_integer_value(json_object_get(v, "objects")),
                   (long long)json_integer_value(json_object_get(v, "pending_exports")),
                   json_is_true(json_object_get(v, "credentials_required")) ? " credentials-required" : "",
                   json_is_true(json_object_get(v, "full_import_required")) ? " full-import-required" : "",
                   json_is_true(json_object_get(v, "full_sync_required")) ? " full-sync-required" : "");
        }
        json_array_foreach(sc.warnings, i, v) printf("warning: %s\n", json_string_value(v));
        json_decref(doc);
    }
    free(url);
    free(ev);
    free(signin);
    return EXIT_OK;
}
