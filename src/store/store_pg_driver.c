/* PostgreSQL database driver (libpq): the store_driver.h contract over one PGconn.
 *
 * How it maps the neutral contract onto libpq:
 *   - SQL text: `?` placeholders outside string literals, quoted identifiers and comments are
 *     rewritten to $1..$n; each distinct SQL text is PQprepare'd once per connection and cached
 *     by text, so prepare/finalize in a loop costs one hash lookup and no round trip.
 *   - Parameters: INTEGER and TEXT are sent in text format, BLOBs in binary format (raw bytes,
 *     so NUL bytes and 1 MiB values pass unchanged). The server infers parameter types at
 *     prepare time; where it cannot (`SELECT ? IS NULL`), write `CAST(? AS TEXT)`.
 *   - Results: text format; BYTEA columns are decoded with PQunescapeBytea on first access,
 *     integer, boolean and integral NUMERIC (e.g. sum()) columns are reported as DB_INTEGER.
 *   - Streaming: every statement runs in libpq single-row mode, so a scan holds one row in
 *     client memory at a time (a 1,000,000-row scan does not load the result). libpq allows
 *     only one query in flight per connection: if the caller runs another statement (or
 *     begin/commit) on the same connection while a scan is unfinished, the rest of that scan
 *     is first read ahead into client memory, compactly (values plus a few words per row):
 *     correct, as SQLite would be, but no longer bounded. Large scans that write as they go
 *     should page with keyset queries (WHERE id > ? ORDER BY id LIMIT 1000) instead.
 *   - Transactions: an error inside a transaction aborts it on PostgreSQL (unlike SQLite);
 *     commit() of such a transaction returns an error instead of silently rolling back.
 *   - Errors: a lost connection is ERR_RETRY ("lost the connection to PostgreSQL at host:port:
 *     ...; the run will resume next time"); unique violations ERR_EXISTS; serialization
 *     failures and deadlocks ERR_RETRY. Messages name host, port and database, never the
 *     password (which is passed only through the PQconnectdbParams "password" keyword). */
#include "store/store_driver.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from pg_type.h (stable since PostgreSQL 7). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_OID 26
#define PG_OID_NUMERIC 1700

/* One server-side prepared statement, cached by SQL text for the connection's lifetime. */
typedef struct pg_prep {
    char *sql;              /* owned: the neutral SQL text (cache key) */
    char name[32];          /* server-side statement name */
    int nparams;            /* number of `?` placeholders */
    unsigned hash;
    struct pg_prep *next;   /* hash chain */
} pg_prep;

#define PG_CACHE_BUCKETS 256

/* One row of an interrupted scan, read ahead so another statement could run, copied out of
 * its PGresult (a single-row PGresult costs kilobytes; this costs the values and two words
 * per column). One allocation: the struct, vals[nf], lens[nf], then the value bytes. */
typedef struct pg_brow {
    struct pg_brow *next;   /* FIFO */
    int nf;
    char *vals[];           /* NUL-terminated values; lens follow the array (-1 = NULL) */
} pg_brow;
#define BROW_LENS(r) ((int *)((r)->vals + (r)->nf))

struct db {
    PGconn *conn;                       /* owned */
    char *where;                        /* owned: "host:port/database" for messages */
    char *hostport;                     /* owned: "host:port" */
    pg_prep *cache[PG_CACHE_BUCKETS];   /* owned */
    int nprepared;
    db_stmt *active;                    /* borrowed: statement whose results are still streaming */
    int64_t changes;
    bool lost;                          /* the connection was lost; every call fails fast */
};

typedef enum pg_state {
    PGS_IDLE = 0,       /* bound, not sent */
    PGS_STREAMING,      /* sent; more results may come from the connection */
    PGS_BUFFERED,       /* sent; the remaining rows are in rows (read ahead) */
    PGS_DONE,           /* finished (DB_DONE returned or about to be) */
} pg_state;

struct db_stmt {
    db *d;                  /* borrowed */
    pg_prep *prep;          /* borrowed from d's cache */
    int nparams;
    char **vals;            /* owned, nparams entries; NULL = SQL NULL */
    int *lens;
    int *fmts;              /* 0 text, 1 binary */
    int bind_error;         /* parameter problem reported by the next step (bind has no err) */
    int bind_error_index;
    pg_state state;
    PGresult *row;          /* owned: current single-row result, or NULL */
    pg_brow *brow;          /* owned: current read-ahead row, or NULL */
    Oid *types;             /* owned: column types of the read-ahead rows */
    int ntypes;
    unsigned char **blobs;  /* owned: per-column decoded BYTEA of the current row (PQfreemem) */
    size_t *bloblens;
    int nblobs;
    pg_brow *qhead, *qtail; /* owned: read-ahead rows */
    PGresult *final;        /* owned: buffered final result (error or status) when buffered */
    bool final_error_seen;
};

static void pg_notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message;   /* notices (e.g. "there is no transaction in progress") are not errors */
}

static unsigned pg_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Rewrites `?` to $n outside '...' / E'...' strings, "..." identifiers, $tag$...$tag$ strings
 * and comments. Returns the new text (caller frees) and the placeholder count. */
static char *pg_rewrite_placeholders(const char *sql, int *nparams)
{
    buf b = BUF_INIT;
    int n = 0;
    const char *p = sql;
    while (*p) {
        char c = *p;
        if (c == '\'' ) {
            /* E'..' strings allow backslash escapes; the E was already copied */
            bool esc = p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                       (p - 1 == sql || !(p[-2] == '_' || (p[-2] >= 'a' && p[-2] <= 'z') ||
                                          (p[-2] >= 'A' && p[-2] <= 'Z') || (p[-2] >= '0' && p[-2] <= '9')));
            buf_putc(&b, *p++);
            while (*p) {
                if (esc && *p == '\\' && p[1]) {
                    buf_append(&b, p, 2);
                    p += 2;
                    continue;
                }
                if (*p == '\'') {
                    if (p[1] == '\'') { buf_append(&b, p, 2); p += 2; continue; }
                    buf_putc(&b, *p++);
                    break;
                }
                buf_putc(&b, *p++);
            }
        } else if (c == '"') {
            buf_putc(&b, *p++);
            while (*p) {
                if (*p == '"') {
                    if (p[1] == '"') { buf_append(&b, p, 2); p += 2; continue; }
                    buf_putc(&b, *p++);
                    break;
                }
                buf_putc(&b, *p++);
            }
        } else if (c == '-' && p[1] == '-') {
            while (*p && *p != '\n') buf_putc(&b, *p++);
        } else if (c == '/' && p[1] == '*') {
            int depth = 0;   /* PostgreSQL block comments nest */
            while (*p) {
                if (p[0] == '/' && p[1] == '*') { depth++; buf_append(&b, p, 2); p += 2; continue; }
                if (p[0] == '*' && p[1] == '/') {
                    depth--; buf_append(&b, p, 2); p += 2;
                    if (depth == 0) break;
                    continue;
                }
                buf_putc(&b, *p++);
            }
        } else if (c == '$' && (p[1] == '$' || (p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z') ||
                                p[1] == '_')) {
            /* dollar quote $tag$ ... $tag$ (a $ followed by a digit is a positional parameter) */
            const char *q = p + 1;
            while (*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')) q++;
            if (*q != '$') { buf_putc(&b, *p++); continue; }
            size_t taglen = (size_t)(q - p) + 1;
            const char *end = NULL;
            for (const char *r = q + 1; *r; r++)
                if (*r == '$' && strncmp(r, p, taglen) == 0) { end = r; break; }
            size_t total = end ? (size_t)(end - p) + taglen : strlen(p);
            buf_append(&b, p, total);
            p += total;
        } else if (c == '?') {
            buf_printf(&b, "$%d", ++n);
            p++;
        } else {
            buf_putc(&b, *p++);
        }
    }
    *nparams = n;
    if (!b.data) buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

/* First line of libpq's error text, without the trailing newline. */
static void pg_msg_line(const char *msg, char *out, size_t outsz)
{
    if (!msg || !*msg) msg = "unknown error";
    snprintf(out, outsz, "%s", msg);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
}

static int pg_lost(db *d, const char *msg, err *e)
{
    char line[700];
    d->lost = true;
    pg_msg_line(msg ? msg : PQerrorMessage(d->conn), line, sizeof line);
    return err_set(e, ERR_RETRY, "lost the connection to PostgreSQL at %s: %s; the run will resume next time",
                   d->hostport, line);
}

/* Turns an error result (or a failed send) into an ERR_* code and message. */
static int pg_result_error(db *d, const PGresult *r, const char *what, err *e)
{
    char line[700];
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(d->conn) == CONNECTION_BAD || (state && strncmp(state, "08", 2) == 0) ||
        (state && (strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)))
        return pg_lost(d, r ? PQresultErrorMessage(r) : NULL, e);
    pg_msg_line(r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn), line, sizeof line);
    int code = ERR_FAIL;
    if (state && strcmp(state, "23505") == 0) code = ERR_EXISTS;
    else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        code = ERR_RETRY;
    return err_set(e, code, "PostgreSQL at %s: %s failed: %s%s%s%s", d->where, what, line,
                   state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

static int pg_check_usable(db *d, err *e)
{
    if (d->lost || PQstatus(d->conn) == CONNECTION_BAD) {
        d->lost = true;
        return err_set(e, ERR_RETRY, "lost the connection to PostgreSQL at %s; the run will resume next time",
                       d->hostport);
    }
    return 0;
}

static void stmt_clear_row(db_stmt *s)
{
    if (s->blobs) {
        for (int i = 0; i < s->nblobs; i++) if (s->blobs[i]) PQfreemem(s->blobs[i]);
        free(s->blobs);
        free(s->bloblens);
        s->blobs = NULL;
        s->bloblens = NULL;
        s->nblobs = 0;
    }
    PQclear(s->row);
    s->row = NULL;
    free(s->brow);
    s->brow = NULL;
}

static pg_brow *brow_from_result(const PGresult *r)
{
    int nf = PQnfields(r);
    size_t bytes = 0;
    for (int i = 0; i < nf; i++) bytes += (size_t)PQgetlength(r, 0, i) + 1;
    pg_brow *b = xmalloc(sizeof *b + (size_t)nf * (sizeof(char *) + sizeof(int)) + bytes);
    b->next = NULL;
    b->nf = nf;
    int *lens = BROW_LENS(b);
    char *p = (char *)(lens + nf);
    for (int i = 0; i < nf; i++) {
        if (PQgetisnull(r, 0, i)) {
            lens[i] = -1;
            b->vals[i] = NULL;
            continue;
        }
        lens[i] = PQgetlength(r, 0, i);
        memcpy(p, PQgetvalue(r, 0, i), (size_t)lens[i]);
        p[lens[i]] = '\0';
        b->vals[i] = p;
        p += lens[i] + 1;
    }
    return b;
}

static void stmt_record_status(db_stmt *s, const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    s->d->changes = (t && *t) ? strtoll(t, NULL, 10) : 0;
}

/* Reads the rest of s's results from the connection. keep: queue rows (so they can still be
 * stepped); otherwise discard them one by one (bounded memory). Leaves the connection idle. */
static void stmt_drain(db_stmt *s, bool keep)
{
    db *d = s->d;
    if (s->state != PGS_STREAMING) return;
    PGresult *r;
    while ((r = PQgetResult(d->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && keep) {
            if (!s->types) {
                s->ntypes = PQnfields(r);
                s->types = xcalloc((size_t)s->ntypes + 1, sizeof *s->types);
                for (int i = 0; i < s->ntypes; i++) s->types[i] = PQftype(r, i);
            }
            pg_brow *q = brow_from_result(r);
            PQclear(r);
            if (s->qtail) s->qtail->next = q; else s->qhead = q;
            s->qtail = q;
            continue;
        }
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) stmt_record_status(s, r);
        if (keep && st != PGRES_SINGLE_TUPLE && !s->final) { s->final = r; continue; }
        PQclear(r);
    }
    if (d->active == s) d->active = NULL;
    s->state = keep ? PGS_BUFFERED : PGS_DONE;
}

/* Makes the connection free for a new query: buffers the rows of any unfinished scan. */
static void pg_release_conn(db *d)
{
    if (d->active) stmt_drain(d->active, true);
}

static void stmt_discard_results(db_stmt *s)
{
    stmt_clear_row(s);
    if (s->state == PGS_STREAMING) stmt_drain(s, false);
    while (s->qhead) {
        pg_brow *q = s->qhead;
        s->qhead = q->next;
        free(q);
    }
    s->qtail = NULL;
    free(s->types);
    s->types = NULL;
    s->ntypes = 0;
    PQclear(s->final);
    s->final = NULL;
    s->state = PGS_IDLE;
}

static int pg_connect_error(PGconn *conn, const char *where, bool had_password, err *e)
{
    char line[700];
    pg_msg_line(conn ? PQerrorMessage(conn) : "out of memory", line, sizeof line);
    bool auth = conn && (PQconnectionNeedsPassword(conn) || strstr(line, "authentication failed") ||
                         strstr(line, "no password supplied") || strstr(line, "no pg_hba.conf entry"));
    if (auth)
        return err_set(e, ERR_AUTH, "PostgreSQL at %s refused the credentials: %s; check the user name in the URL "
                       "and %s", where, line, had_password ? "the password given" : "supply the database password");
    return err_set(e, ERR_RETRY, "cannot connect to PostgreSQL at %s: %s; check that the server is running and "
                   "the URL is right", where, line);
}

/* "host:port/db" from the connection's settings, or from the URL parsed without connecting. */
static void pg_describe(PGconn *conn, const char *location, char **where, char **hostport)
{
    const char *host = conn ? PQhost(conn) : NULL, *port = conn ? PQport(conn) : NULL, *dbn = conn ? PQdb(conn) : NULL;
    PQconninfoOption *opts = NULL;
    if (!host || !*host || !port || !*port || !dbn) {
        char *errmsg = NULL;
        opts = PQconninfoParse(location, &errmsg);
        if (errmsg) PQfreemem(errmsg);
        for (PQconninfoOption *o = opts; o && o->keyword; o++) {
            if (!o->val) continue;
            if ((!host || !*host) && strcmp(o->keyword, "host") == 0) host = o->val;
            if ((!port || !*port) && strcmp(o->keyword, "port") == 0) port = o->val;
            if (!dbn && strcmp(o->keyword, "dbname") == 0) dbn = o->val;
        }
    }
    if (!host || !*host) host = "localhost";
    if (!port || !*port) port = "5432";
    *hostport = xasprintf("%s:%s", host, port);
    *where = xasprintf("%s:%s/%s", host, port, dbn && *dbn ? dbn : "?");
    if (opts) PQconninfoFree(opts);
}

static int pg_open(const char *location, const char *password, bool create, db **out, err *e)
{
    (void)create;   /* the database must exist on the server; it is never created here */
    *out = NULL;
    if (!location || !*location) return err_set(e, ERR_USAGE, "empty PostgreSQL URL; use postgresql://user@host:port/db");
    const char *keys[6], *vals[6];
    int k = 0;
    keys[k] = "dbname"; vals[k++] = location;            /* expanded: URL or conninfo string */
    keys[k] = "application_name"; vals[k++] = "idsync";
    keys[k] = "client_encoding"; vals[k++] = "UTF8";
    if (password) { keys[k] = "password"; vals[k++] = password; }
    keys[k] = NULL; vals[k] = NULL;
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char *where = NULL, *hostport = NULL;
        pg_describe(conn, location, &where, &hostport);
        int rc = pg_connect_error(conn, where, password != NULL, e);
        free(where);
        free(hostport);
        PQfinish(conn);
        return rc;
    }
    PQsetNoticeProcessor(conn, pg_notice_ignore, NULL);
    db *d = xcalloc(1, sizeof *d);
    d->conn = conn;
    pg_describe(conn, location, &d->where, &d->hostport);
    *out = d;
    return 0;
}

static void pg_close(db *d)
{
    if (!d) return;
    if (d->active) stmt_drain(d->active, false);
    for (int i = 0; i < PG_CACHE_BUCKETS; i++) {
        pg_prep *p = d->cache[i];
        while (p) {
            pg_prep *n = p->next;
            free(p->sql);
            free(p);
            p = n;
        }
    }
    PQfinish(d->conn);   /* server-side prepared statements end with the session */
    free(d->where);
    free(d->hostport);
    free(d);
}

static int pg_simple(db *d, const char *sql, const char *what, PGresult **res_out, err *e)
{
    int rc = pg_check_usable(d, e);
    if (rc) return rc;
    pg_release_conn(d);
    PGresult *r = PQexec(d->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (!r || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        rc = pg_result_error(d, r, what, e);
        PQclear(r);
        return rc;
    }
    if (res_out) *res_out = r; else PQclear(r);
    return 0;
}

static int pg_exec(db *d, const char *sql, err *e)
{
    return pg_simple(d, sql, "executing SQL", NULL, e);
}

static int pg_prepare(db *d, const char *sql, db_stmt **out, err *e)
{
    *out = NULL;
    int rc = pg_check_usable(d, e);
    if (rc) return rc;
    unsigned h = pg_hash(sql);
    pg_prep *p = d->cache[h % PG_CACHE_BUCKETS];
    while (p && !(p->hash == h && strcmp(p->sql, sql) == 0)) p = p->next;
    if (!p) {
        int n = 0;
        char *text = pg_rewrite_placeholders(sql, &n);
        char name[32];
        snprintf(name, sizeof name, "idsync_%d", d->nprepared + 1);
        pg_release_conn(d);
        PGresult *r = PQprepare(d->conn, name, text, n, NULL);
        free(text);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char what[160];
            snprintf(what, sizeof what, "preparing \"%.100s%s\"", sql, strlen(sql) > 100 ? "..." : "");
            rc = pg_result_error(d, r, what, e);
            PQclear(r);
            return rc;
        }
        PQclear(r);
        p = xcalloc(1, sizeof *p);
        p->sql = xstrdup(sql);
        memcpy(p->name, name, sizeof name);
        p->nparams = n;
        p->hash = h;
        p->next = d->cache[h % PG_CACHE_BUCKETS];
        d->cache[h % PG_CACHE_BUCKETS] = p;
        d->nprepared++;
    }
    db_stmt *s = xcalloc(1, sizeof *s);
    s->d = d;
    s->prep = p;
    s->nparams = p->nparams;
    if (s->nparams) {
        s->vals = xcalloc((size_t)s->nparams, sizeof *s->vals);
        s->lens = xcalloc((size_t)s->nparams, sizeof *s->lens);
        s->fmts = xcalloc((size_t)s->nparams, sizeof *s->fmts);
    }
    *out = s;
    return 0;
}

static int pg_bind_slot(db_stmt *s, int i)
{
    if (i < 1 || i > s->nparams) {
        if (!s->bind_error) { s->bind_error = ERR_USAGE; s->bind_error_index = i; }
        return ERR_USAGE;
    }
    free(s->vals[i - 1]);
    s->vals[i - 1] = NULL;
    s->lens[i - 1] = 0;
    s->fmts[i - 1] = 0;
    return 0;
}

static int pg_bind_null(db_stmt *s, int i)
{
    return pg_bind_slot(s, i);
}

static int pg_bind_int64(db_stmt *s, int i, int64_t v)
{
    int rc = pg_bind_slot(s, i);
    if (rc) return rc;
    s->vals[i - 1] = xasprintf("%lld", (long long)v);
    return 0;
}

static int pg_bind_text(db_stmt *s, int i, const char *v, size_t len)
{
    int rc = pg_bind_slot(s, i);
    if (rc || !v) return rc;
    if (memchr(v, '\0', len)) {   /* PostgreSQL text cannot hold NUL: refuse rather than truncate */
        if (!s->bind_error) { s->bind_error = ERR_USAGE; s->bind_error_index = -i; }
        return ERR_USAGE;
    }
    s->vals[i - 1] = xstrndup(v, len);
    return 0;
}

static int pg_bind_blob(db_stmt *s, int i, const void *v, size_t len)
{
    int rc = pg_bind_slot(s, i);
    if (rc || !v) return rc;
    if (len > 0x7fffffff) {
        if (!s->bind_error) { s->bind_error = ERR_USAGE; s->bind_error_index = -i; }
        return ERR_USAGE;
    }
    s->vals[i - 1] = xmemdup(v, len ? len : 1);
    s->lens[i - 1] = (int)len;
    s->fmts[i - 1] = 1;
    return 0;
}

/* Next result of s from the connection, or the read-ahead final result. */
static PGresult *stmt_next_result(db_stmt *s)
{
    if (s->state == PGS_BUFFERED) {
        PGresult *r = s->final;
        s->final = NULL;
        return r;
    }
    return PQgetResult(s->d->conn);
}

static int pg_step(db_stmt *s, err *e)
{
    db *d = s->d;
    int rc;
    stmt_clear_row(s);
    if (s->state == PGS_DONE) return DB_DONE;
    if (s->state == PGS_IDLE) {
        if (s->bind_error) {
            int i = s->bind_error_index;
            rc = err_set(e, ERR_USAGE, i < 0 ? "statement \"%.100s\": parameter %d cannot be sent to PostgreSQL "
                                              "(text with a NUL byte, or a value over 2 GiB)"
                                            : "statement \"%.100s\": parameter index %d is out of range",
                         s->prep->sql, i < 0 ? -i : i);
            s->bind_error = 0;
            return rc;
        }
        if ((rc = pg_check_usable(d, e))) return rc;
        pg_release_conn(d);
        if (!PQsendQueryPrepared(d->conn, s->prep->name, s->nparams, (const char *const *)s->vals, s->lens,
                                 s->fmts, 0))
            return pg_result_error(d, NULL, "sending a statement", e);
        if (!PQsetSingleRowMode(d->conn)) {
            stmt_drain(s, false);
            return err_set(e, ERR_FAIL, "PostgreSQL at %s: cannot switch to single-row mode", d->where);
        }
        s->state = PGS_STREAMING;
        d->active = s;
    }
    if (s->state == PGS_BUFFERED && s->qhead) {
        s->brow = s->qhead;
        s->qhead = s->brow->next;
        if (!s->qhead) s->qtail = NULL;
        return DB_ROW;
    }
    PGresult *r = stmt_next_result(s);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_COMMAND_OK;
    if (r && st == PGRES_SINGLE_TUPLE) {
        s->row = r;
        return DB_ROW;
    }
    /* the end: a final status result (or an error), then NULL from the connection */
    if (!r) {
        if (s->state == PGS_STREAMING && PQstatus(d->conn) == CONNECTION_BAD) {
            if (d->active == s) d->active = NULL;
            s->state = PGS_DONE;
            return pg_lost(d, NULL, e);
        }
        rc = DB_DONE;
    } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        stmt_record_status(s, r);
        rc = DB_DONE;
    } else {
        char what[160];
        snprintf(what, sizeof what, "statement \"%.100s%s\"", s->prep->sql, strlen(s->prep->sql) > 100 ? "..." : "");
        rc = pg_result_error(d, r, what, e);
    }
    PQclear(r);
    if (s->state == PGS_STREAMING) stmt_drain(s, false);   /* consume up to the terminating NULL */
    s->state = PGS_DONE;
    if (d->active == s) d->active = NULL;
    return rc;
}

/* The current row's cells, from a streamed PGresult or a read-ahead row. */
static int cur_nfields(db_stmt *s)
{
    return s->row ? PQnfields(s->row) : s->brow ? s->brow->nf : 0;
}

static bool cur_isnull(db_stmt *s, int i)
{
    if (i < 0 || i >= cur_nfields(s)) return true;
    return s->row ? PQgetisnull(s->row, 0, i) : BROW_LENS(s->brow)[i] < 0;
}

static const char *cur_value(db_stmt *s, int i, size_t *len)
{
    if (s->row) {
        *len = (size_t)PQgetlength(s->row, 0, i);
        return PQgetvalue(s->row, 0, i);
    }
    *len = (size_t)BROW_LENS(s->brow)[i];
    return s->brow->vals[i];
}

static Oid cur_ftype(db_stmt *s, int i)
{
    if (s->row) return PQftype(s->row, i);
    return (s->types && i < s->ntypes) ? s->types[i] : 0;
}

static db_coltype pg_column_type(db_stmt *s, int i)
{
    if (cur_isnull(s, i)) return DB_NULL;
    switch (cur_ftype(s, i)) {
    case PG_OID_BYTEA: return DB_BLOB;
    case PG_OID_INT2: case PG_OID_INT4: case PG_OID_INT8: case PG_OID_OID: case PG_OID_BOOL: return DB_INTEGER;
    case PG_OID_NUMERIC: {
        size_t len;
        const char *v = cur_value(s, i, &len);
        return strchr(v, '.') || strchr(v, 'N') ? DB_TEXT : DB_INTEGER;   /* NaN stays text */
    }
    default: return DB_TEXT;
    }
}

static int64_t pg_column_int64(db_stmt *s, int i)
{
    if (cur_isnull(s, i)) return 0;
    size_t len;
    const char *v = cur_value(s, i, &len);
    if (cur_ftype(s, i) == PG_OID_BOOL) return v[0] == 't';
    return strtoll(v, NULL, 10);   /* numeric text: as SQLite, the leading integer part */
}

static const char *pg_column_text(db_stmt *s, int i)
{
    if (cur_isnull(s, i)) return NULL;
    size_t len;
    const char *v = cur_value(s, i, &len);
    if (cur_ftype(s, i) == PG_OID_BOOL) return v[0] == 't' ? "1" : "0";
    return v;   /* bytea: its text (hex) form, as libpq returns it */
}

static const void *pg_column_blob(db_stmt *s, int i, size_t *len)
{
    size_t dummy;
    if (!len) len = &dummy;
    *len = 0;
    if (cur_isnull(s, i)) return NULL;
    size_t vlen;
    const char *v = cur_value(s, i, &vlen);
    if (cur_ftype(s, i) != PG_OID_BYTEA) {
        *len = vlen;
        return v;
    }
    if (!s->blobs) {
        s->nblobs = cur_nfields(s);
        s->blobs = xcalloc((size_t)s->nblobs, sizeof *s->blobs);
        s->bloblens = xcalloc((size_t)s->nblobs, sizeof *s->bloblens);
    }
    if (!s->blobs[i]) {
        size_t n = 0;
        s->blobs[i] = PQunescapeBytea((const unsigned char *)v, &n);
        if (!s->blobs[i]) return NULL;   /* out of memory in libpq */
        s->bloblens[i] = n;
    }
    *len = s->bloblens[i];
    return s->blobs[i];
}

static int pg_reset(db_stmt *s)
{
    stmt_discard_results(s);
    for (int i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
        s->lens[i] = 0;
        s->fmts[i] = 0;
    }
    s->bind_error = 0;
    return 0;
}

static void pg_finalize(db_stmt *s)
{
    if (!s) return;
    pg_reset(s);
    if (s->d->active == s) s->d->active = NULL;
    free(s->vals);
    free(s->lens);
    free(s->fmts);
    free(s);
}

static int pg_begin(db *d, err *e)
{
    return pg_simple(d, "BEGIN", "BEGIN", NULL, e);
}

static int pg_commit(db *d, err *e)
{
    PGresult *r = NULL;
    int rc = pg_simple(d, "COMMIT", "COMMIT", &r, e);
    if (rc) return rc;
    /* COMMIT of a transaction aborted by an earlier error reports ROLLBACK, not an error */
    if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = err_set(e, ERR_FAIL, "PostgreSQL at %s: the transaction was rolled back because a statement in it "
                     "failed; nothing of it was saved", d->where);
    PQclear(r);
    return rc;
}

static int pg_rollback(db *d, err *e)
{
    if (d->lost) return 0;   /* the server rolled back when the session ended */
    pg_release_conn(d);
    if (PQtransactionStatus(d->conn) == PQTRANS_IDLE) return 0;
    return pg_simple(d, "ROLLBACK", "ROLLBACK", NULL, e);
}

static int64_t pg_changes(db *d)
{
    return d->changes;
}

static int pg_size_bytes(db *d, int64_t *out, err *e)
{
    PGresult *r = NULL;
    *out = 0;
    int rc = pg_simple(d, "SELECT pg_database_size(current_database())", "reading the database size", &r, e);
    if (rc) return rc;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

const db_driver db_driver_postgresql = {
    .engine = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_null = pg_bind_null,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .changes = pg_changes,
    .size_bytes = pg_size_bytes,
};
