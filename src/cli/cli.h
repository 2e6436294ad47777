/* Shared pieces of the command-line interface: the parsed global options, the opened server
 * (home, config, key, database), argument helpers and output helpers. One file per command
 * group implements `int cli_<group>(cli *c, int argc, char **argv)` returning an exit code. */
#ifndef IDSYNC_CLI_H
#define IDSYNC_CLI_H
#include "store/store.h"
#include "util/util_err.h"
#include <jansson.h>
#include <stdbool.h>

/* Exit codes (docs/CLI.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_REFUSED = 4 };

typedef struct server_conf {
    char *server_id;     /* uuid of this server */
    char *database;      /* database URL (no password) */
    char *db_password_file; /* optional: file with the database password */
    int64_t installed_at;
} server_conf;

typedef struct cli {
    const char *home;    /* resolved home directory */
    bool json;           /* --json given */
    bool quiet;
    /* filled by cli_open */
    server_conf conf;
    struct vault_key *key;
    store *st;
} cli;

/* Maps an ERR_* code to an exit code. */
int cli_exit_code(int err_code);
/* Prints "idsync: <msg>" to stderr and returns the exit code for e. */
int cli_fail(const err *e);
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads HOME/idsync.conf and HOME/server.key and opens the database; every command that needs
   the server calls this. Errors name the file and the fix. */
int cli_open(cli *c, err *e);
/* Opens only the configuration and database (no key): for read-only commands such as status. */
int cli_open_nokey(cli *c, err *e);
void cli_close(cli *c);

int server_conf_load(const char *path, server_conf *out, err *e);
int server_conf_save(const char *path, const server_conf *conf, err *e);
void server_conf_clear(server_conf *conf);
/* Reads the database password from conf (file) if any; *out malloc'd or NULL. */
int server_conf_db_password(const server_conf *conf, char **out, err *e);

/* Takes HOME/run.lock (exclusive, non-blocking) for a run, cycle, serve or db move; *fd_out is
   closed by the caller to release it. ERR_REFUSED when another process of this server holds it. */
int cli_run_lock(cli *c, int *fd_out, err *e);

/* Database URL with passwords replaced by "***" (malloc'd). */
char *cli_redact_url(const char *url);

/* Path helpers: malloc'd "HOME/NAME". */
char *cli_path(const cli *c, const char *name);

/* Option parsing helpers over argv (options may appear anywhere after the verb).
   cli_opt_flag removes the flag if present and returns true. cli_opt_value removes
   "--name VALUE" / "--name=VALUE" and returns VALUE (borrowed from argv) or NULL;
   *bad set when the option is present without a value. cli_opt_values collects repeats. */
bool cli_opt_flag(int *argc, char **argv, const char *name);
const char *cli_opt_value(int *argc, char **argv, const char *name, bool *bad);
int cli_opt_values(int *argc, char **argv, const char *name, const char ***out, bool *bad);
/* After options are consumed: any remaining "--x" is an unknown option (returns it). */
const char *cli_unknown_option(int argc, char **argv);

/* JSON output: prints doc to stdout (pretty, sorted keys) and decrefs it. */
void cli_print_json(json_t *doc);
/* Formats a time as ISO 8601 UTC into out (at least 32 bytes); 0 -> "never". */
const char *cli_time(int64_t t, char *out, size_t n);

/* Command groups. */
int cli_install(cli *c, int argc, char **argv);
int cli_status(cli *c, int argc, char **argv);
int cli_connector(cli *c, int argc, char **argv);
int cli_rules(cli *c, int argc, char **argv);
int cli_run(cli *c, int argc, char **argv);
int cli_cycle(cli *c, int argc, char **argv);
int cli_history(cli *c, int argc, char **argv);
int cli_cs(cli *c, int argc, char **argv);
int cli_mv(cli *c, int argc, char **argv);
int cli_trace(cli *c, int argc, char **argv);
int cli_db(cli *c, int argc, char **argv);
int cli_staging(cli *c, int argc, char **argv);
int cli_signin(cli *c, int argc, char **argv);
int cli_feature(cli *c, int argc, char **argv, const char *feature);
int cli_export_preview(cli *c, int argc, char **argv);
int cli_serve(cli *c, int argc, char **argv);
#endif
