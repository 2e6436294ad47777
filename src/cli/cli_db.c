/* `idsync db info|backup|restore|verify|move`: the sync database's lifecycle. */
#include "cli/cli.h"
#include "engine/engine_backup.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_file.h"
#include "vault/vault.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: idsync db info [--json]\n"
    "       idsync db backup FILE [--force] [--json]\n"
    "       idsync db verify FILE [--json]\n"
    "       idsync db restore FILE --db URL [--db-password-file F] [--json]\n"
    "       idsync db move --to URL [--db-password-file F] [--json]\n"
    "info     engine, location, size, versions, row counts, owner and lease, recommendations.\n"
    "backup   a consistent, engine-neutral snapshot (mode 0600: it holds sealed credentials; the\n"
    "         server key is NOT in it). verify checks a backup file's checksums without a database.\n"
    "restore  into an EMPTY database (sqlite:PATH or postgresql://USER@HOST:PORT/DB); idsync.conf is\n"
    "         not changed: adopt it with `idsync install --db URL --use-existing-database`.\n"
    "move     copy this server's database to an empty one, verify it table by table, then switch\n"
    "         idsync.conf to it; the old database is kept unchanged as a fallback.\n"
    "URL: sqlite:PATH or postgresql://USER@HOST:PORT/DB (password in --db-password-file, never the URL).\n";

#define INFO_WARN_BYTES (10LL * 1024 * 1024 * 1024)
#define INFO_WARN_CS_OBJECTS 500000


/* sqlite:REL -> sqlite:/abs; refuses a password inside a PostgreSQL URL. *out malloc'd. */
static int target_url(const char *db, char **out, err *e)
{
    if (strcmp(db, "sqlite") == 0 || strcmp(db, "sqlite:") == 0)
        return err_set(e, ERR_USAGE, "name the new SQLite file: sqlite:/path/to/idsync.db");
    if (strncmp(db, "sqlite:", 7) == 0 || !strstr(db, "://")) {
        const char *p = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
        char cwd[PATH_MAX];
        if (p[0] == '/') *out = xasprintf("sqlite:%s", p);
        else if (getcwd(cwd, sizeof cwd)) *out = xasprintf("sqlite:%s/%s", cwd, p);
        else return err_set(e, ERR_FAIL, "cannot resolve %s: %s", p, strerror(errno));
        return 0;
    }
    if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0) {
        const char *auth = strchr(db, '@'), *colon = strchr(strstr(db, "//") + 2, ':');
        if ((auth && colon && colon < auth) || strstr(db, "password="))
            return err_set(e, ERR_USAGE, "the database URL holds a password; remove it and pass it with "
                           "--db-password-file F so it never appears in process lists, logs or idsync.conf");
        *out = xstrdup(db);
        return 0;
    }
    return err_set(e, ERR_USAGE, "unknown database URL '%s'; use sqlite:PATH or postgresql://USER@HOST:PORT/DB", db);
}

static json_t *tables_json(const backup_report *rep)
{
    json_t *o = json_object();
    for (int i = 0; i < rep->ntables; i++) {
        char hex[65];
        engine_backup_sum_hex(rep->tables[i].sum, hex);
        json_object_set_new(o, rep->tables[i].name, json_pack("{s:I, s:s}", "rows", (json_int_t)rep->tables[i].rows,
                                                              "sha256sum", hex));
    }
    return o;
}

static int64_t total_rows(const backup_report *rep)
{
    int64_t n = 0;
    for (int i = 0; i < rep->ntables; i++) n += rep->tables[i].rows;
    return n;
}

static void print_tables(const backup_report *rep)
{
    for (int i = 0; i < rep->ntables; i++)
        printf("  %-12s %12lld rows\n", rep->tables[i].name, (long long)rep->tables[i].rows);
}

static json_t *report_json(const backup_report *rep)
{
    char t[32];
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:o}", "schema_version", rep->schema_version,
                     "source_engine", rep->source_engine, "database_id", rep->database_id, "idsync_version",
                     rep->idsync_version, "created_at", cli_time(rep->created_at, t, sizeof t), "bytes",
                     (json_int_t)rep->bytes, "rows", (json_int_t)total_rows(rep), "seconds", rep->seconds,
                     "tables", tables_json(rep));
}

static int db_info(cli *c, int argc, char **argv)
{
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (cli_unknown_option(argc, argv)) return cli_usage("db info: unknown option %s", cli_unknown_option(argc, argv));
    if (argc > 0) return cli_usage("db info: unexpected argument '%s'", argv[0]);
    err e = {0};
    int rc = cli_open_nokey(c, &e);
    if (rc) return cli_fail(&e);
    store *st = c->st;
    int schema = 0;
    char *ev = NULL, *dbid = NULL, *owner = NULL;
    int64_t size = 0, last_sync = 0, hb = 0, since = 0, created = 0, ncs = 0;
    rc = store_schema_version(st, &schema, &e);
    if (rc == 0) rc = store_meta_get(st, "engine_version", &ev, &e);
    if (rc == 0) rc = store_meta_get(st, "database_id", &dbid, &e);
    if (rc == 0) rc = store_meta_get(st, "owner_server_id", &owner, &e);
    if (rc == 0) rc = store_meta_get_int(st, "last_sync_at", 0, &last_sync, &e);
    if (rc == 0) rc = store_meta_get_int(st, "owner_heartbeat", 0, &hb, &e);
    if (rc == 0) rc = store_meta_get_int(st, "owner_since", 0, &since, &e);
    if (rc == 0) rc = store_meta_get_int(st, "created_at", 0, &created, &e);
    if (rc == 0) rc = store_driver(st)->size_bytes(store_db(st), &size, &e);
    json_t *tables = json_object();
    for (int i = 0; rc == 0 && store_tables[i]; i++) {
        int64_t n = 0;
        rc = store_table_count(st, store_tables[i], &n, &e);
        json_object_set_new(tables, store_tables[i], json_integer(n));
        if (strcmp(store_tables[i], "cs_objects") == 0) ncs = n;
    }
    if (rc) {
        json_decref(tables);
        free(ev), free(dbid), free(owner);
        return cli_fail(&e);
    }
    int64_t now = store_now();
    bool live = hb > 0 && now - hb < LEASE_TTL_SECONDS;
    json_t *recs = json_array();
    bool sqlite = strcmp(store_engine(st), "sqlite") == 0;
    if (sqlite && (size > INFO_WARN_BYTES || ncs > INFO_WARN_CS_OBJECTS))
        json_array_append_new(recs, json_sprintf("the embedded SQLite database is large (%.1f GB, %lld connector "
            "space objects); move it to PostgreSQL with `idsync db move --to postgresql://USER@HOST:PORT/DB "
            "--db-password-file F` (see docs/OPERATIONS.md)", (double)size / 1e9, (long long)ncs));
    char *url = cli_redact_url(c->conf.database);
    char t1[32], t2[32], t3[32], t4[32];
    json_t *doc = json_pack("{s:s, s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s, s:{s:s?, s:s, s:s, s:b}, s:o, s:o}",
        "engine", store_engine(st), "location", url, "size_bytes", (json_int_t)size, "schema_version", schema,
        "engine_version", ev ? ev : "", "idsync_version", IDSYNC_VERSION, "database_id", dbid ? dbid : "",
        "created_at", cli_time(created, t1, sizeof t1), "last_sync_at", cli_time(last_sync, t2, sizeof t2),
        "owner", "server_id", owner, "since", cli_time(since, t3, sizeof t3), "heartbeat", cli_time(hb, t4, sizeof t4),
        "lease_live", live, "tables", tables, "recommendations", recs);
    if (c->json) {
        cli_print_json(doc);
    } else {
        printf("engine:          %s\nlocation:        %s\nsize:            %lld bytes\n", store_engine(st), url,
               (long long)size);
        printf("schema version:  %d (written by idsync %s; this is %s)\n", schema, ev ? ev : "?", IDSYNC_VERSION);
        printf("database id:     %s\ncreated:         %s\nlast sync:       %s\n", dbid ? dbid : "?", t1, t2);
        printf("owner:           %s since %s, heartbeat %s%s\n", owner ? owner : "(none)", t3, t4,
               live ? " (lease live: a run is active)" : "");
        printf("rows:\n");
        const char *k;
        json_t *v;
        json_object_foreach(tables, k, v) printf("  %-12s %12lld\n", k, (long long)json_integer_value(v));
        size_t i;
        json_array_foreach(recs, i, v) printf("recommendation: %s\n", json_string_value(v));
        json_decref(doc);
    }
    free(url), free(ev), free(dbid), free(owner);
    return EXIT_OK;
}

static int db_backup(cli *c, int argc, char **argv)
{
    c->json = cli_opt_flag(&argc, argv, "--json");
    bool force = cli_opt_flag(&argc, argv, "--force");
    if (cli_unknown_option(argc, argv)) return cli_usage("db backup: unknown option %s", cli_unknown_option(argc, argv));
    if (argc != 1) return cli_usage("db backup needs one FILE: idsync db backup FILE [--force]");
    const char *path = argv[0];
    err e = {0};
    if (file_exists(path) && !force) {
        err_set(&e, ERR_EXISTS, "%s exists already; pick a new file name or pass --force to replace it", path);
        return cli_fail(&e);
    }
    int rc = cli_open_nokey(c, &e);
    if (rc) return cli_fail(&e);
    backup_report rep;
    rc = engine_backup_write(c->st, path, &rep, &e);
    if (rc) return cli_fail(&e);
    if (c->json) {
        json_t *o = report_json(&rep);
        json_object_set_new(o, "file", json_string(path));
        cli_print_json(o);
    } else {
        printf("Backup of %s (%s, database %s) written to %s\n", store_location(c->st), rep.source_engine,
               rep.database_id, path);
        print_tables(&rep);
        printf("%lld rows, %lld bytes, %.2f s. The file has mode 0600: it holds sealed connector credentials.\n"
               "The server key is not in it: keep a copy of %s/server.key apart from the backup.\n",
               (long long)total_rows(&rep), (long long)rep.bytes, rep.seconds, c->home);
    }
    return EXIT_OK;
}

static int db_verify(cli *c, int argc, char **argv)
{
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (cli_unknown_option(argc, argv)) return cli_usage("db verify: unknown option %s", cli_unknown_option(argc, argv));
    if (argc != 1) return cli_usage("db verify needs one FILE: idsync db verify FILE");
    err e = {0};
    backup_report rep;
    int rc = engine_backup_verify_file(argv[0], &rep, &e);
    if (rc) return cli_fail(&e);
    if (c->json) {
        json_t *o = report_json(&rep);
        json_object_set_new(o, "file", json_string(argv[0]));
        json_object_set_new(o, "valid", json_true());
        cli_print_json(o);
    } else {
        char t[32];
        printf("%s is a complete idsync backup: schema %d, from %s database %s, taken %s by idsync %s\n", argv[0],
               rep.schema_version, rep.source_engine, rep.database_id, cli_time(rep.created_at, t, sizeof t),
               rep.idsync_version);
        print_tables(&rep);
        printf("every table matches its row count and checksum\n");
    }
    return EXIT_OK;
}

static int db_restore(cli *c, int argc, char **argv)
{
    bool bad = false;
    c->json = cli_opt_flag(&argc, argv, "--json");
    const char *db = cli_opt_value(&argc, argv, "--db", &bad);
    const char *pwfile = cli_opt_value(&argc, argv, "--db-password-file", &bad);
    if (bad) return cli_usage("db restore: an option is missing its value; see `idsync db --help`");
    if (cli_unknown_option(argc, argv)) return cli_usage("db restore: unknown option %s", cli_unknown_option(argc, argv));
    if (argc != 1 || !db) return cli_usage("usage: idsync db restore FILE --db URL [--db-password-file F]");
    err e = {0};
    char *url = NULL, *pw = NULL;
    int rc = target_url(db, &url, &e);
    if (rc == 0 && pwfile) rc = vault_read_secret_file(pwfile, &pw, &e);
    backup_report rep;
    if (rc == 0) rc = engine_backup_restore(argv[0], url, pw, &rep, &e);
    xfree_secret(pw);
    if (rc) {
        free(url);
        return cli_fail(&e);
    }
    char *shown = cli_redact_url(url);
    if (c->json) {
        json_t *o = report_json(&rep);
        json_object_set_new(o, "file", json_string(argv[0]));
        json_object_set_new(o, "database", json_string(shown));
        cli_print_json(o);
    } else {
        printf("Restored %s into %s and verified every table against the file:\n", argv[0], shown);
        print_tables(&rep);
        printf("%lld rows in %.2f s. idsync.conf was not changed. To run a server on this database:\n"
               "  idsync --home NEWHOME install --db %s%s --use-existing-database\n",
               (long long)total_rows(&rep), rep.seconds, shown, pwfile ? " --db-password-file F" : "");
    }
    free(shown);
    free(url);
    return EXIT_OK;
}

/* HOME/db.password, or a fresh name when the current configuration still uses that file. */
static char *new_password_path(cli *c)
{
    char *p = cli_path(c, "db.password");
    if (!c->conf.db_password_file || strcmp(c->conf.db_password_file, p) != 0) return p;
    free(p);
    char name[64];
    snprintf(name, sizeof name, "db-%lld.password", (long long)time(NULL));
    return cli_path(c, name);
}

static int db_move(cli *c, int argc, char **argv)
{
    bool bad = false;
    c->json = cli_opt_flag(&argc, argv, "--json");
    const char *to = cli_opt_value(&argc, argv, "--to", &bad);
    const char *pwfile = cli_opt_value(&argc, argv, "--db-password-file", &bad);
    if (bad) return cli_usage("db move: an option is missing its value; see `idsync db --help`");
    if (cli_unknown_option(argc, argv)) return cli_usage("db move: unknown option %s", cli_unknown_option(argc, argv));
    if (argc > 0 || !to) return cli_usage("usage: idsync db move --to URL [--db-password-file F]");
    err e = {0};
    char *url = NULL, *pw = NULL, *pw_path = NULL, *old_shown = NULL, *new_shown = NULL;
    bool leased = false;
    int lock_fd = -1;
    backup_report rep = {0};
    int rc = target_url(to, &url, &e);
    if (rc == 0 && pwfile) rc = vault_read_secret_file(pwfile, &pw, &e);
    if (rc == 0) rc = cli_open(c, &e);
    if (rc) goto done;
    old_shown = cli_redact_url(c->conf.database);
    new_shown = cli_redact_url(url);
    if (strcmp(url, c->conf.database) == 0 ||
        (strncmp(c->conf.database, "sqlite:", 7) != 0 && strncmp(url, "sqlite:", 7) == 0 &&
         strcmp(url + 7, c->conf.database) == 0)) {
        rc = err_set(&e, ERR_USAGE, "the server already uses %s; name another, empty database with --to", new_shown);
        goto done;
    }
    rc = cli_run_lock(c, &lock_fd, &e);   /* no cycle of this server runs during the move */
    if (rc) goto done;
    rc = engine_lease_acquire(c->st, c->conf.server_id, &e);
    if (rc) goto done;
    leased = true;
    rc = engine_backup_copy(c->st, url, pw, &rep, &e);
    if (rc) goto done;
    if (pw) {
        pw_path = new_password_path(c);
        rc = file_write_atomic(pw_path, pw, strlen(pw), 0600, &e);
        if (rc) {
            err_prefix(&e, "the copy in %s is complete and verified, but its password could not be stored", new_shown);
            goto done;
        }
    }
    server_conf conf = c->conf;
    conf.database = url;
    conf.db_password_file = pw_path;
    char *conf_path = cli_path(c, "idsync.conf");
    rc = server_conf_save(conf_path, &conf, &e);
    free(conf_path);
    if (rc) {
        err_prefix(&e, "the copy in %s is complete and verified, but idsync.conf could not be switched to it "
                   "(drop its tables before retrying)", new_shown);
        goto done;
    }
done:
    if (leased) engine_lease_release(c->st, c->conf.server_id, NULL);
    if (lock_fd >= 0) close(lock_fd);
    if (rc) {
        if (leased || old_shown) {
            char msg[sizeof e.msg];
            snprintf(msg, sizeof msg, "%s", e.msg);
            err_set(&e, e.code ? e.code : ERR_FAIL, "db move failed; this server still uses its old database %s, "
                    "unchanged. Reason: %s", old_shown, msg);
        }
        rc = cli_fail(&e);
    } else {
        bool old_sqlite = strcmp(store_engine(c->st), "sqlite") == 0;
        if (c->json) {
            json_t *o = report_json(&rep);
            json_object_set_new(o, "from", json_string(old_shown));
            json_object_set_new(o, "to", json_string(new_shown));
            json_object_set_new(o, "old_database_kept", json_string(old_shown));
            cli_print_json(o);
        } else {
            printf("Moved the sync database from %s to %s in %.2f s; every table verified in both databases:\n",
                   old_shown, new_shown, rep.seconds);
            print_tables(&rep);
            printf("idsync.conf now points at %s.\n", new_shown);
            if (old_sqlite)
                printf("The old database file %s is kept unchanged as a fallback; delete it once the server runs "
                       "well on the new database.\n", store_location(c->st));
            else
                printf("The old database %s is kept unchanged as a fallback; drop it once the server runs well on "
                       "the new database.\n", old_shown);
        }
        rc = EXIT_OK;
    }
    xfree_secret(pw);
    free(pw_path), free(url), free(old_shown), free(new_shown);
    return rc;
}

int cli_db(cli *c, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
        fputs(HELP, argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[0];
    argc--, argv++;
    if (cli_opt_flag(&argc, argv, "--help")) {
        fputs(HELP, stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "info") == 0) return db_info(c, argc, argv);
    if (strcmp(verb, "backup") == 0) return db_backup(c, argc, argv);
    if (strcmp(verb, "verify") == 0) return db_verify(c, argc, argv);
    if (strcmp(verb, "restore") == 0) return db_restore(c, argc, argv);
    if (strcmp(verb, "move") == 0) return db_move(c, argc, argv);
    return cli_usage("db: unknown verb '%s'; use info, backup, verify, restore or move (see `idsync db --help`)", verb);
}
