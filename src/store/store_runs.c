/* Run history: one row per run profile execution, plus per-object errors. */
#include "store/store_int.h"
#include "store/store_async.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

void store_run_free(store_run *r)
{
    if (!r) return;
    free(r->connector_name); free(r->profile); free(r->result); free(r->stats_json); free(r->message);
    free(r);
}

static const char SQL_START[] =
    "INSERT INTO runs(connector_id, connector_name, profile, started_at, result) VALUES (?,?,?,?,'in-progress') "
    "RETURNING id";
static const char SQL_FINISH[] = "UPDATE runs SET ended_at = ?, result = ?, stats = ?, message = ? WHERE id = ?";
static const char SQL_ERROR[] = "INSERT INTO run_errors(run_id, dn, anchor, kind, message) VALUES (?,?,?,?,?)";
static const char SQL_EACH[] =
    "SELECT id, connector_id, connector_name, profile, started_at, ended_at, result, stats, message FROM runs "
    "ORDER BY id DESC LIMIT ?";
static const char SQL_ERRORS[] = "SELECT dn, kind, message FROM run_errors WHERE run_id = ? ORDER BY id LIMIT ?";

int store_run_start(store *s, int64_t connector_id, const char *connector_name, const char *profile,
                    int64_t *run_id, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_START, &st, e);
    if (rc) return rc;
    if (connector_id) SB_INT(s, st, 1, connector_id);
    else s->drv->bind_null(st, 1);
    SB_TEXT(s, st, 2, connector_name);
    SB_TEXT(s, st, 3, profile);
    SB_INT(s, st, 4, store_now());
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *run_id = SC_INT(s, st, 0);
        rc = 0;
    }
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

int store_run_finish(store *s, int64_t run_id, const char *result, const char *stats_json, const char *message, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_FINISH, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, store_now());
    SB_TEXT(s, st, 2, result);
    SB_TEXT(s, st, 3, stats_json ? stats_json : "{}");
    SB_TEXT(s, st, 4, message);
    SB_INT(s, st, 5, run_id);
    return store_stmt_exec(s, st, e);
}

int store_run_error(store *s, int64_t run_id, const char *dn, const void *anchor, size_t anchor_len,
                    const char *kind, const char *message, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_ERROR, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, run_id);
    SB_TEXT(s, st, 2, dn);
    SB_BLOB(s, st, 3, anchor, anchor_len);
    SB_TEXT(s, st, 4, kind);
    SB_TEXT(s, st, 5, message);
    return store_stmt_exec(s, st, e);
}

int store_run_each(store *s, int limit, int (*fn)(void *ctx, const store_run *r, err *e), void *ctx, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_EACH, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, limit);
    store_run **list = NULL;
    size_t n = 0;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        store_run *r = xcalloc(1, sizeof *r);
        r->id = SC_INT(s, st, 0);
        r->connector_id = SC_INT(s, st, 1);
        r->connector_name = store_col_strdup(s, st, 2);
        r->profile = store_col_strdup(s, st, 3);
        r->started_at = SC_INT(s, st, 4);
        r->ended_at = SC_INT(s, st, 5);
        r->result = store_col_strdup(s, st, 6);
        r->stats_json = store_col_strdup(s, st, 7);
        r->message = store_col_strdup(s, st, 8);
        list = xrealloc(list, (n + 1) * sizeof *list);
        list[n++] = r;
    }
    store_stmt_done(s, st);
    if (rc == DB_DONE) rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = fn(ctx, list[i], e);
    for (size_t i = 0; i < n; i++) store_run_free(list[i]);
    free(list);
    return rc;
}

int store_run_errors_each(store *s, int64_t run_id, int limit,
                          int (*fn)(void *ctx, const char *dn, const char *kind, const char *message, err *e),
                          void *ctx, err *e)
{
    db_stmt *st = NULL;
    int rc = store_sync(s, e);
    if (rc == 0) rc = s->drv->prepare(s->d, SQL_ERRORS, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, run_id);
    SB_INT(s, st, 2, limit);
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        rc = fn(ctx, SC_TEXT(s, st, 0), SC_TEXT(s, st, 1), SC_TEXT(s, st, 2), e);
        if (rc) break;
    }
    if (rc == DB_DONE) rc = 0;
    s->drv->finalize(st);
    return rc;
}
