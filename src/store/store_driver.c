/* Driver selection by database URL. */
#include "store/store_driver.h"
#include <string.h>

const db_driver *db_driver_for_url(const char *url, const char **location_out, err *e)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        *location_out = url;
        return &db_driver_postgresql;
    }
    if (strncmp(url, "sqlite:", 7) == 0) {
        *location_out = url + 7;
        if (!**location_out) {
            err_set(e, ERR_USAGE, "database URL '%s' names no file; use sqlite:/path/to/idsync.db", url);
            return NULL;
        }
        return &db_driver_sqlite;
    }
    if (strstr(url, "://")) {
        err_set(e, ERR_USAGE, "unknown database URL '%s'; use sqlite:PATH or postgresql://USER@HOST:PORT/DB", url);
        return NULL;
    }
    *location_out = url;
    return &db_driver_sqlite;
}
