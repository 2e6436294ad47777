/* A SQLite database at schema version 1, as idsync before schema 2 wrote it, for tests of migration
 * and restore. Header-only: included by the unit tests that need one. */
#ifndef IDSYNC_TEST_STORE_V1_H
#define IDSYNC_TEST_STORE_V1_H
#include "store/store_driver.h"
#include "store/store_migrations.h"
#include <string.h>

/* Creates the file path with migration 1 only, schema_version 1 recorded, then runs rows_sql (data,
   with foreign keys off so a test can add rows a version-1 database should not have). 0 or an error. */
static inline int test_make_v1_db(const char *path, const char *rows_sql, err *e)
{
    const store_migration *v1 = NULL;
    for (const store_migration *m = store_migrations; m->engine; m++)
        if (strcmp(m->engine, "sqlite") == 0 && m->version == 1) v1 = m;
    if (!v1) return err_set(e, ERR_FAIL, "migration 1 for sqlite is not in this build");
    db *d = NULL;
    int rc = db_driver_sqlite.open(path, NULL, true, &d, e);
    if (rc == 0) rc = db_driver_sqlite.exec(d, v1->sql, e);
    if (rc == 0) rc = db_driver_sqlite.exec(d, "INSERT INTO meta(key, value) VALUES ('schema_version', '1');"
                                               "PRAGMA foreign_keys=OFF;", e);
    if (rc == 0 && rows_sql) rc = db_driver_sqlite.exec(d, rows_sql, e);
    db_driver_sqlite.close(d);
    return rc;
}
#endif
