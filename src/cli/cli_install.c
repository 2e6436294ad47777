/* `idsync install`: create a server home (config, key) on a new or an existing database. */
#include "cli/cli.h"
#include "engine/engine_adopt.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_file.h"
#include "util/util_uuid.h"
#include "vault/vault.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HELP[] =
    "usage: idsync install --db sqlite[:PATH] [--force]\n"
    "       idsync install --db postgresql://USER@HOST:PORT/DB [--db-password-file F] [--force]\n"
    "       idsync install --db URL --use-existing-database [--take-over] [--force]\n"
    "Creates the server home (idsync.conf, server.key with mode 0600) and its sync database.\n"
    "--db sqlite puts an embedded database at HOME/idsync.db. --use-existing-database adopts a\n"
    "database an earlier server wrote (see docs/OPERATIONS.md); the new server starts in staging mode.\n";

/* Turns "sqlite" / "sqlite:rel" into "sqlite:/abs/path". Returns malloc'd URL. */
static int normalise_url(const cli *c, const char *db, char **out, err *e)
{
    if (strcmp(db, "sqlite") == 0) {
        char *p = cli_path(c, "idsync.db");
        *out = xasprintf("sqlite:%s", p);
        free(p);
        return 0;
    }
    if (strncmp(db, "sqlite:", 7) == 0) {
        const char *p = db + 7;
        if (!*p) return err_set(e, ERR_USAGE, "--db sqlite: needs a file path, e.g. --db sqlite:/srv/idsync/idsync.db");
        if (p[0] == '/') *out = xstrdup(db);
        else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd)) return err_set(e, ERR_FAIL, "cannot resolve %s: %s", p, strerror(errno));
            *out = xasprintf("sqlite:%s/%s", cwd, p);
        }
        return 0;
    }
    if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0) {
        const char *auth = strchr(db, '@'), *colon = strchr(strstr(db, "//") + 2, ':');
        if (auth && colon && colon < auth)
            return err_set(e, ERR_USAGE, "the database URL holds a password; remove it from the URL and pass it with "
                           "--db-password-file F (or PGPASSFILE) so it never appears in process lists or logs");
        *out = xstrdup(db);
        return 0;
    }
    return err_set(e, ERR_USAGE, "unknown --db value '%s'; use sqlite, sqlite:PATH or postgresql://USER@HOST:PORT/DB", db);
}

int cli_install(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        fputs(HELP, stdout);
        return EXIT_OK;
    }
    bool bad = false;
    const char *db = cli_opt_value(&argc, argv, "--db", &bad);
    const char *pwfile = cli_opt_value(&argc, argv, "--db-password-file", &bad);
    bool force = cli_opt_flag(&argc, argv, "--force");
    bool existing = cli_opt_flag(&argc, argv, "--use-existing-database");
    bool take_over = cli_opt_flag(&argc, argv, "--take-over");
    bool json = cli_opt_flag(&argc, argv, "--json");
    const char *unknown = cli_unknown_option(argc, argv);
    if (bad) return cli_usage("an option is missing its value; see `idsync install --help`");
    if (unknown) return cli_usage("install: unknown option %s; see `idsync install --help`", unknown);
    if (argc > 0) return cli_usage("install: unexpected argument '%s'", argv[0]);
    if (!db) return cli_usage("install needs --db sqlite[:PATH] or --db postgresql://...; see `idsync install --help`");
    if (take_over && !existing) return cli_usage("--take-over only goes with --use-existing-database");

    err e = {0};
    int rc = 0;
    char *url = NULL, *conf_path = cli_path(c, "idsync.conf"), *key_path = cli_path(c, "server.key");
    char *key_new = cli_path(c, "server.key.new");
    char *pw = NULL, *pw_copy = NULL;
    store *st = NULL;
    vault_key *key = NULL;
    bool created_key = false;
    engine_adopt_report rep = {0};

    if (file_exists(conf_path) && !force) {
        rc = err_set(&e, ERR_EXISTS, "a server is already installed in %s; use --force to replace it (its sync "
                     "database is not touched), or pick another --home", c->home);
        goto done;
    }
    rc = normalise_url(c, db, &url, &e);
    if (rc) goto done;
    rc = file_mkdirs(c->home, 0700, &e);
    if (rc) goto done;
    chmod(c->home, 0700);
    if (pwfile) {
        rc = vault_read_secret_file(pwfile, &pw, &e);
        if (rc) goto done;
    }
    const char *loc;
    if (!db_driver_for_url(url, &loc, &e)) {
        rc = e.code;
        goto done;
    }

    char server_id[37];
    uuid_v4(server_id);
    /* The key first, beside the old one: a database adopted or created below is useless
       without it, and a failed --force install must leave the old server intact. */
    unlink(key_new);
    rc = vault_key_create(key_new, &e);
    if (rc) goto done;
    created_key = true;
    rc = vault_key_load(key_new, &key, &e);
    if (rc) goto done;

    if (existing) {
        rc = store_open(url, pw, &st, &e);
        if (rc == ERR_NOTFOUND)
            err_set(&e, ERR_USAGE, "--use-existing-database needs a database that holds idsync data, but %s is "
                    "empty or missing; leave out --use-existing-database to install a new one", loc);
        if (rc) goto done;
        rc = engine_adopt(st, server_id, take_over, &rep, &e);
        if (rc) goto done;
    } else {
        rc = store_create(url, pw, &st, &e);
        if (rc) goto done;
        rc = engine_db_init_meta(st, server_id, &e);
        if (rc) goto done;
    }
    if (pw) {
        pw_copy = cli_path(c, "db.password");
        rc = file_write_atomic(pw_copy, pw, strlen(pw), 0600, &e);
        if (rc) goto done;
    }
    server_conf conf = {.server_id = server_id, .database = url, .db_password_file = pw_copy,
                        .installed_at = store_now()};
    if (rename(key_new, key_path) != 0) {
        rc = err_set(&e, ERR_FAIL, "cannot move the new server key into place at %s: %s", key_path, strerror(errno));
        goto done;
    }
    created_key = false;
    rc = server_conf_save(conf_path, &conf, &e);
    if (rc) goto done;

    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "server_id", server_id, "home", c->home,
                              "database_engine", store_engine(st), "database", loc, "existing_database", existing);
        if (existing) engine_adopt_report_json(&rep, o);
        cli_print_json(o);
    } else {
        printf("Installed idsync server %s in %s\n", server_id, c->home);
        printf("  sync database: %s (%s)%s\n", loc, store_engine(st), existing ? ", adopted" : ", new");
        printf("  server key:    %s (mode 0600; back it up separately, it is not in the database)\n", key_path);
        if (existing) engine_adopt_report_print(&rep, stdout);
        else printf("Next: `idsync connector add NAME --type ad|ldap|scim|ldif --url URL ...`\n");
    }
done:
    if (rc) {
        if (created_key) unlink(key_new);
        rc = cli_fail(&e);
    }
    engine_adopt_report_clear(&rep);
    store_close(st);
    vault_key_free(key);
    xfree_secret(pw);
    free(pw_copy);
    free(url);
    free(conf_path);
    free(key_path);
    free(key_new);
    return rc;
}
