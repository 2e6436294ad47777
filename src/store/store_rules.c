/* Sync rule rows (canonical JSON + hash). */
#include "store/store_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

void store_rule_free(store_rule *r)
{
    if (!r) return;
    free(r->name); free(r->direction); free(r->connector); free(r->definition); free(r->hash);
    free(r);
}

static const char SQL_PUT[] =
    "INSERT INTO sync_rules(name, direction, connector, precedence, enabled, definition, hash, updated_at) "
    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET direction = excluded.direction, "
    "connector = excluded.connector, precedence = excluded.precedence, enabled = excluded.enabled, "
    "definition = excluded.definition, hash = excluded.hash, updated_at = excluded.updated_at";
static const char SQL_GET[] =
    "SELECT id, name, direction, connector, precedence, enabled, definition, hash FROM sync_rules WHERE name = ?";
static const char SQL_EACH[] =
    "SELECT id, name, direction, connector, precedence, enabled, definition, hash FROM sync_rules "
    "ORDER BY direction, precedence, name";
static const char SQL_DEL[] = "DELETE FROM sync_rules WHERE name = ?";

int store_rule_put(store *s, const store_rule *r, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_PUT, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, r->name);
    SB_TEXT(s, st, 2, r->direction);
    SB_TEXT(s, st, 3, r->connector);
    SB_INT(s, st, 4, r->precedence);
    SB_INT(s, st, 5, r->enabled);
    SB_TEXT(s, st, 6, r->definition);
    SB_TEXT(s, st, 7, r->hash);
    SB_INT(s, st, 8, store_now());
    return store_stmt_exec(s, st, e);
}

static store_rule *row_to_rule(store *s, db_stmt *st)
{
    store_rule *r = xcalloc(1, sizeof *r);
    r->id = SC_INT(s, st, 0);
    r->name = store_col_strdup(s, st, 1);
    r->direction = store_col_strdup(s, st, 2);
    r->connector = store_col_strdup(s, st, 3);
    r->precedence = SC_INT(s, st, 4);
    r->enabled = SC_INT(s, st, 5) != 0;
    r->definition = store_col_strdup(s, st, 6);
    r->hash = store_col_strdup(s, st, 7);
    return r;
}

int store_rule_get(store *s, const char *name, store_rule **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_GET, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, name);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *out = row_to_rule(s, st);
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = err_set(e, ERR_NOTFOUND, "no sync rule named '%s'; see `idsync rules list`", name);
    }
    store_stmt_done(s, st);
    return rc;
}

int store_rule_each(store *s, int (*fn)(void *ctx, const store_rule *r, err *e), void *ctx, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_EACH, &st, e);
    if (rc) return rc;
    store_rule **list = NULL;
    size_t n = 0;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        list = xrealloc(list, (n + 1) * sizeof *list);
        list[n++] = row_to_rule(s, st);
    }
    store_stmt_done(s, st);
    if (rc == DB_DONE) rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = fn(ctx, list[i], e);
    for (size_t i = 0; i < n; i++) store_rule_free(list[i]);
    free(list);
    return rc;
}

int store_rule_delete(store *s, const char *name, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_DEL, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, name);
    rc = store_stmt_exec(s, st, e);
    if (rc == 0 && s->drv->changes(s->d) == 0)
        rc = err_set(e, ERR_NOTFOUND, "no sync rule named '%s'; see `idsync rules list`", name);
    return rc;
}
