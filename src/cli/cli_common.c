/* CLI plumbing: server configuration file, opening the server, option parsing, output. */
#include "cli/cli.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include "util/util_file.h"
#include "vault/vault.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_exit_code(int code)
{
    switch (code) {
    case 0: return EXIT_OK;
    case ERR_USAGE: return EXIT_USAGE;
    case ERR_PARTIAL: return EXIT_PARTIAL;
    case ERR_REFUSED: return EXIT_REFUSED;
    default: return EXIT_FAIL;
    }
}

int cli_fail(const err *e)
{
    fprintf(stderr, "idsync: %s\n", e->msg[0] ? e->msg : "failed (no details)");
    return cli_exit_code(e->code ? e->code : ERR_FAIL);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("idsync: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

char *cli_path(const cli *c, const char *name)
{
    return xasprintf("%s/%s", c->home, name);
}

void server_conf_clear(server_conf *conf)
{
    free(conf->server_id);
    free(conf->database);
    free(conf->db_password_file);
    memset(conf, 0, sizeof *conf);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* idsync.conf: "key = value" lines, '#' comments. Unknown keys are an error so a typo
   never silently changes behaviour. */
int server_conf_load(const char *path, server_conf *out, err *e)
{
    char *text = NULL;
    memset(out, 0, sizeof *out);
    int rc = file_read_all(path, 65536, &text, NULL, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_NOTFOUND, "%s not found: no idsync server is installed in this home; run "
                       "`idsync install --db sqlite` or pass --home DIR", path);
    if (rc) return rc;
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#') continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            rc = err_set(e, ERR_CORRUPT, "%s line %d: expected 'key = value'; fix the line or reinstall with "
                         "`idsync install --force`", path, lineno);
            goto done;
        }
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        if (strcmp(k, "server_id") == 0) free(out->server_id), out->server_id = xstrdup(v);
        else if (strcmp(k, "database") == 0) free(out->database), out->database = xstrdup(v);
        else if (strcmp(k, "db_password_file") == 0) free(out->db_password_file), out->db_password_file = xstrdup(v);
        else if (strcmp(k, "installed_at") == 0) out->installed_at = strtoll(v, NULL, 10);
        else {
            rc = err_set(e, ERR_CORRUPT, "%s line %d: unknown setting '%s'", path, lineno, k);
            goto done;
        }
    }
    if (!out->server_id || strlen(out->server_id) < 8) {
        rc = err_set(e, ERR_CORRUPT, "%s has no valid server_id; the file is damaged: restore it from a backup "
                     "or reinstall with `idsync install --use-existing-database`", path);
        goto done;
    }
    if (!out->database || !*out->database) {
        rc = err_set(e, ERR_CORRUPT, "%s has no 'database' setting; the file is damaged", path);
        goto done;
    }
done:
    free(text);
    if (rc) server_conf_clear(out);
    return rc;
}

int server_conf_save(const char *path, const server_conf *conf, err *e)
{
    buf b = BUF_INIT;
    buf_printf(&b, "# idsync server configuration. Written by `idsync install`; the rest of the\n"
                   "# configuration lives in the sync database.\n");
    buf_printf(&b, "server_id = %s\n", conf->server_id);
    buf_printf(&b, "database = %s\n", conf->database);
    if (conf->db_password_file) buf_printf(&b, "db_password_file = %s\n", conf->db_password_file);
    buf_printf(&b, "installed_at = %lld\n", (long long)conf->installed_at);
    int rc = file_write_atomic(path, b.data, b.len, 0600, e);
    buf_free(&b);
    return rc;
}

int server_conf_db_password(const server_conf *conf, char **out, err *e)
{
    *out = NULL;
    if (!conf->db_password_file) return 0;
    return vault_read_secret_file(conf->db_password_file, out, e);
}

static int open_common(cli *c, bool with_key, err *e)
{
    if (c->st) return 0;
    char *conf_path = cli_path(c, "idsync.conf"), *key_path = cli_path(c, "server.key"), *pw = NULL;
    int rc = server_conf_load(conf_path, &c->conf, e);
    if (rc) goto done;
    if (with_key) {
        rc = vault_key_load(key_path, &c->key, e);
        if (rc) goto done;
    }
    rc = server_conf_db_password(&c->conf, &pw, e);
    if (rc) goto done;
    rc = store_open(c->conf.database, pw, &c->st, e);
    if (rc) {
        err_prefix(e, "opening the sync database of this server (%s)", conf_path);
        goto done;
    }
    /* Ownership: only the recorded owner may use the database (docs/CLI.md, Ownership). */
    char *owner = NULL;
    rc = store_meta_get(c->st, "owner_server_id", &owner, e);
    if (rc == 0 && owner && strcmp(owner, c->conf.server_id) != 0) {
        char *since = NULL;
        store_meta_get(c->st, "owner_since", &since, NULL);
        char t[32];
        rc = err_set(e, ERR_REFUSED, "the sync database %s belongs to server %s (owner since %s), not to this server "
                     "(%s); adopt it with `idsync install --db URL --use-existing-database` on this server",
                     store_location(c->st), owner, cli_time(since ? strtoll(since, NULL, 10) : 0, t, sizeof t),
                     c->conf.server_id);
        free(since);
    }
    free(owner);
done:
    xfree_secret(pw);
    free(conf_path);
    free(key_path);
    if (rc) cli_close(c);
    return rc;
}

int cli_open(cli *c, err *e) { return open_common(c, true, e); }
int cli_open_nokey(cli *c, err *e) { return open_common(c, false, e); }

void cli_close(cli *c)
{
    store_close(c->st);
    c->st = NULL;
    vault_key_free(c->key);
    c->key = NULL;
    server_conf_clear(&c->conf);
}

static void remove_arg(int *argc, char **argv, int i, int n)
{
    memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof(char *));
    *argc -= n;
}

bool cli_opt_flag(int *argc, char **argv, const char *name)
{
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], name) == 0) {
            remove_arg(argc, argv, i, 1);
            return true;
        }
    }
    return false;
}

const char *cli_opt_value(int *argc, char **argv, const char *name, bool *bad)
{
    size_t nl = strlen(name);
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], name) == 0) {
            if (i + 1 >= *argc) {
                if (bad) *bad = true;
                remove_arg(argc, argv, i, 1);
                return NULL;
            }
            const char *v = argv[i + 1];
            remove_arg(argc, argv, i, 2);
            return v;
        }
        if (strncmp(argv[i], name, nl) == 0 && argv[i][nl] == '=') {
            const char *v = argv[i] + nl + 1;
            remove_arg(argc, argv, i, 1);
            return v;
        }
    }
    return NULL;
}

int cli_opt_values(int *argc, char **argv, const char *name, const char ***out, bool *bad)
{
    int n = 0;
    const char **vals = NULL;
    const char *v;
    while ((v = cli_opt_value(argc, argv, name, bad)) != NULL) {
        vals = xrealloc(vals, (size_t)(n + 1) * sizeof *vals);
        vals[n++] = v;
    }
    *out = vals;
    return n;
}

const char *cli_unknown_option(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (argv[i][0] == '-' && argv[i][1] == '-') return argv[i];
    }
    return NULL;
}

void cli_print_json(json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(doc);
}

const char *cli_time(int64_t t, char *out, size_t n)
{
    if (t <= 0) {
        snprintf(out, n, "never");
        return out;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

/* One run at a time per server: a lock file in the home (the database lease guards against
   other servers; this guards against a second process of the same server). */
int cli_run_lock(cli *c, int *fd_out, err *e)
{
    char *path = cli_path(c, "run.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0) return err_set(e, ERR_FAIL, "cannot open the run lock in %s: %s", c->home, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return err_set(e, ERR_REFUSED, "another idsync process of this server is running a cycle, a run, serve or "
                       "db move; wait for it to finish (or stop `idsync serve`)");
    }
    *fd_out = fd;
    return 0;
}

/* The database URL with any password removed (URLs in idsync.conf never hold one, but a
   libpq URL may carry a user:password@ part or "password=" parameters). */
char *cli_redact_url(const char *url)
{
    char *c = xstrdup(url);
    char *at = strchr(c, '@'), *scheme = strstr(c, "://");
    if (at && scheme) {
        char *colon = strchr(scheme + 3, ':');
        if (colon && colon < at) {
            char *r = xasprintf("%.*s:***%s", (int)(colon - c), c, at);
            free(c);
            c = r;
        }
    }
    char *pw = strstr(c, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        char *r = xasprintf("%.*spassword=***%s", (int)(pw - c), c, end ? end : "");
        free(c);
        c = r;
    }
    return c;
}
