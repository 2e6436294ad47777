/* Embedded schema migrations (generated from src/store/migrations/<engine>/NNN_name.sql). */
#ifndef IDSYNC_STORE_MIGRATIONS_H
#define IDSYNC_STORE_MIGRATIONS_H
typedef struct store_migration {
    const char *engine;   /* "sqlite" or "postgresql"; NULL terminates the table */
    int version;
    const char *name;
    const char *sql;
} store_migration;
extern const store_migration store_migrations[];
#endif
