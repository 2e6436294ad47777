/* idsync entry point: global options, help, dispatch to command groups. */
#include "cli/cli.h"
#include "util/util_log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

static const char HELP[] =
    "usage: idsync [--home DIR] [--verbose|--quiet] GROUP VERB [options]\n"
    "\n"
    "Identity synchronization server: imports users, groups and contacts from directories,\n"
    "joins them in a metaverse and provisions them to SCIM and other targets.\n"
    "Home: --home, else $IDSYNC_HOME, else /var/lib/idsync.\n"
    "\n"
    "Server and database:\n"
    "  install --db sqlite[:PATH] | --db postgresql://USER@HOST:PORT/DB [--db-password-file F]\n"
    "          [--use-existing-database [--take-over]] [--force]\n"
    "  status [--json]                 server, database, connectors, warnings\n"
    "  db info [--json] | db backup FILE [--force] | db verify FILE | db restore FILE --db URL\n"
    "  db move --to URL [--db-password-file F]   one verified step, old database kept as fallback\n"
    "  staging on|off|status [--json]  staging mode: import and sync, never export\n"
    "  signin show [--json] | signin set phs|pta|federation|none\n"
    "  phs enable|disable|status | writeback enable|disable|status\n"
    "Connectors, rules, objects:\n"
    "  connector add NAME --type ad|ldap|scim|ldif --url URL [--base DN]... [--bind-dn DN]\n"
    "            [--password-file F | --token-file F] [--option K=V]... [--no-default-rules]\n"
    "  connector list|show NAME|remove NAME [--json]\n"
    "  connector set-credentials NAME (--password-file F | --token-file F | -)\n"
    "  connector filter NAME [--include-ou DN]... [--exclude-ou DN]... [--clear]\n"
    "  rules list|show NAME|export [FILE]|import FILE|enable NAME|disable NAME\n"
    "  cs show CONNECTOR (--dn DN | --anchor A) [--json]\n"
    "  mv search ATTR=VALUE [--json] | mv show ID [--json]\n"
    "  trace CONNECTOR DN [--json]     what the rules would do to one object; writes nothing\n"
    "Runs:\n"
    "  run CONNECTOR full-import|delta-import|full-sync|delta-sync|export [--allow-deletes]\n"
    "  cycle [--initial|--delta] [--allow-deletes]   imports, sync, exports for every connector\n"
    "  serve [--interval MINUTES] [--once]           daemon: scheduled cycles, heartbeat, SIGTERM-safe\n"
    "  history [--json] [--limit N] [--errors]\n"
    "  export-preview [CONNECTOR] [--json|--csv]\n"
    "\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 done with per-object errors, 4 refused by a safety rule.\n"
    "`idsync GROUP --help` describes a group. Documentation: docs/CLI.md.\n";

static int dispatch(cli *c, const char *group, int argc, char **argv)
{
    struct { const char *name; int (*fn)(cli *, int, char **); } groups[] = {
        {"install", cli_install}, {"status", cli_status}, {"connector", cli_connector}, {"rules", cli_rules},
        {"run", cli_run}, {"cycle", cli_cycle}, {"history", cli_history}, {"cs", cli_cs}, {"mv", cli_mv},
        {"trace", cli_trace}, {"db", cli_db}, {"staging", cli_staging}, {"signin", cli_signin},
        {"export-preview", cli_export_preview}, {"serve", cli_serve},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(group, groups[i].name) == 0) return groups[i].fn(c, argc, argv);
    if (strcmp(group, "phs") == 0 || strcmp(group, "writeback") == 0) return cli_feature(c, argc, argv, group);
    return cli_usage("unknown command '%s'; see `idsync --help`", group);
}

int main(int argc, char **argv)
{
    cli c = {0};
    int i = 1;
    if (sodium_init() < 0) {
        fprintf(stderr, "idsync: libsodium failed to initialise\n");
        return EXIT_FAIL;
    }
    log_set_level(LOG_WARN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(HELP, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("idsync %s (schema %d)\n", IDSYNC_VERSION, STORE_SCHEMA_VERSION);
            return EXIT_OK;
        } else if (strcmp(a, "--home") == 0 && i + 1 < argc) {
            c.home = argv[++i];
        } else if (strncmp(a, "--home=", 7) == 0) {
            c.home = a + 7;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            log_set_level(LOG_INFO);
        } else if (strcmp(a, "--debug") == 0) {
            log_set_level(LOG_DEBUG);
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            c.quiet = true;
            log_set_level(LOG_ERROR);
        } else {
            return cli_usage("unknown global option '%s'; see `idsync --help`", a);
        }
    }
    if (i >= argc) {
        fputs(HELP, stderr);
        return EXIT_USAGE;
    }
    if (!c.home) c.home = getenv("IDSYNC_HOME");
    if (!c.home || !*c.home) c.home = "/var/lib/idsync";
    int rc = dispatch(&c, argv[i], argc - i - 1, argv + i + 1);
    cli_close(&c);
    return rc;
}
