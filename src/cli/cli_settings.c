/* `idsync staging`, `signin`, `phs`, `writeback`: server-wide settings kept in the database's meta table. */
#include "cli/cli.h"
#include "engine/engine_server.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SIGNIN_METHODS[] = {"phs", "pta", "federation", "none", NULL};

/* Parses "VERB [--json]" (removing --json from argv) where verb is one of verbs; returns the verb index, or -1
   with *exit_code set (help or usage printed). */
static int parse_verb(cli *c, int *pargc, char **argv, const char *group, const char *const *verbs, const char *usage,
                      int *exit_code)
{
    int argc = *pargc;
    if (argc >= 1 && strcmp(argv[0], "--help") == 0) {
        printf("usage: %s\n", usage);
        *exit_code = EXIT_OK;
        return -1;
    }
    c->json = cli_opt_flag(&argc, argv, "--json");
    *pargc = argc;
    const char *unknown = cli_unknown_option(argc, argv);
    int idx = -1;
    for (int i = 0; argc >= 1 && verbs[i]; i++)
        if (strcmp(argv[0], verbs[i]) == 0) idx = i;
    if (unknown || idx < 0) {
        *exit_code = cli_usage("%s: %s%s; usage: %s", group, unknown ? "unknown option " : "expected a verb",
                               unknown ? unknown : "", usage);
        return -1;
    }
    return idx;
}

static int open_for(cli *c, bool write, err *e)
{
    return write ? cli_open(c, e) : cli_open_nokey(c, e);
}

struct export_count {
    store *st;
    int64_t n;
};

static int count_exports(void *ctx, const store_connector *sc, err *e)
{
    struct export_count *x = ctx;
    int64_t n = 0;
    int rc = store_cs_count(x->st, sc->id, STORE_CS_EXPORT, &n, e);
    x->n += n;
    return rc;
}

int cli_staging(cli *c, int argc, char **argv)
{
    static const char *const verbs[] = {"on", "off", "status", NULL};
    int code = 0;
    int v = parse_verb(c, &argc, argv, "staging", verbs, "idsync staging on|off|status [--json]", &code);
    if (v < 0) return code;
    err e = {0};
    int rc = open_for(c, v != 2, &e);
    if (rc == 0 && v != 2) rc = store_meta_set(c->st, "staging_mode", v == 0 ? "1" : "0", &e);
    struct export_count ec = {c->st, 0};
    if (rc == 0) rc = store_connector_each(c->st, count_exports, &ec, &e);
    if (rc) return cli_fail(&e);
    bool on = engine_staging_on(c->st);
    if (c->json) {
        cli_print_json(json_pack("{s:b, s:I}", "staging_mode", on, "pending_exports", (json_int_t)ec.n));
    } else if (v == 0) {
        printf("Staging mode is on: imports and syncs run, nothing is exported. %lld pending export(s) are kept "
               "for review with `idsync export-preview`.\n", (long long)ec.n);
    } else if (v == 1) {
        printf("Staging mode is off: this server is active. The next export run sends %lld pending export(s); "
               "review them with `idsync export-preview`.\n", (long long)ec.n);
    } else {
        printf("staging mode: %s (%lld pending export(s))\n", on ? "on (no exports)" : "off", (long long)ec.n);
    }
    return EXIT_OK;
}

int cli_signin(cli *c, int argc, char **argv)
{
    static const char *const verbs[] = {"show", "set", NULL};
    const char *usage = "idsync signin show [--json] | idsync signin set phs|pta|federation|none";
    int code = 0;
    int v = parse_verb(c, &argc, argv, "signin", verbs, usage, &code);
    if (v < 0) return code;
    const char *method = NULL;
    if (v == 1) {
        int nargs = 0;
        for (int i = 1; i < argc; i++) {
            method = argv[i];
            nargs++;
        }
        bool known = false;
        for (int i = 0; method && SIGNIN_METHODS[i]; i++) known |= strcmp(method, SIGNIN_METHODS[i]) == 0;
        if (nargs != 1 || !known)
            return cli_usage("signin set needs one method: phs, pta, federation or none (got '%s')",
                             method ? method : "");
    } else if (argc > 1) {
        return cli_usage("signin show takes no argument; usage: %s", usage);
    }
    err e = {0};
    int rc = open_for(c, v == 1, &e);
    if (rc == 0 && v == 1) rc = store_meta_set(c->st, "signin_method", method, &e);
    char *cur = NULL;
    int64_t phs = 0;
    if (rc == 0) rc = store_meta_get(c->st, "signin_method", &cur, &e);
    if (rc == 0) rc = store_meta_get_int(c->st, "phs_enabled", 0, &phs, &e);
    if (rc) {
        free(cur);
        return cli_fail(&e);
    }
    const char *m = cur && *cur ? cur : "none";
    if (c->json) {
        cli_print_json(json_pack("{s:s, s:b}", "signin_method", m, "password_hash_sync", phs != 0));
    } else {
        printf("%s: %s\n", v == 1 ? "sign-in method set to" : "sign-in method", m);
        if (strcmp(m, "phs") == 0 && !phs)
            printf("note: password hash sync is disabled; sign-in by password hash needs it: `idsync phs enable`\n");
    }
    free(cur);
    return EXIT_OK;
}

int cli_feature(cli *c, int argc, char **argv, const char *feature)
{
    static const char *const verbs[] = {"enable", "disable", "status", NULL};
    bool phs = strcmp(feature, "phs") == 0;
    const char *key = phs ? "phs_enabled" : "writeback_enabled";
    const char *label = phs ? "password hash sync" : "password writeback";
    const char *json_key = phs ? "password_hash_sync" : "password_writeback";
    char usage[96];
    snprintf(usage, sizeof usage, "idsync %s enable|disable|status [--json]", feature);
    int code = 0;
    int v = parse_verb(c, &argc, argv, feature, verbs, usage, &code);
    if (v < 0) return code;
    if (argc > 1) return cli_usage("%s %s takes no argument; usage: %s", feature, verbs[v], usage);
    err e = {0};
    int rc = open_for(c, v != 2, &e);
    if (rc == 0 && v != 2) rc = store_meta_set(c->st, key, v == 0 ? "1" : "0", &e);
    int64_t on = 0;
    if (rc == 0) rc = store_meta_get_int(c->st, key, 0, &on, &e);
    if (rc) return cli_fail(&e);
    if (c->json) cli_print_json(json_pack("{s:b}", json_key, on != 0));
    else printf("%s: %s\n", label, on ? "enabled" : "disabled");
    return EXIT_OK;
}
