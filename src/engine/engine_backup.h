/* Engine-neutral copies of the sync database: backup file, restore, table checksums, move.
 *
 * Backup file format (version 1), one JSON document per line (docs/OPERATIONS.md):
 *   {"format":"idsync-backup","format_version":1,"idsync_version":..,"schema_version":..,
 *    "source_engine":..,"database_id":..,"engine_version":..,"created_at":..}
 *   then per table:  {"table":NAME,"columns":[[COLUMN,"integer"|"text"|"blob"],...]}
 *                    [v1,v2,...]            one line per row; blobs base64, NULL as null
 *                    {"end":NAME,"rows":N,"sha256sum":HEX}
 *   and last:        {"end_of_backup":true,"tables":N}
 * A table's checksum is the sum modulo 2^256 of the SHA-256 of each row's canonical encoding
 * (per column: tag 'N'; 'I' + 8-byte big-endian value; 'T'/'B' + 8-byte big-endian length +
 * bytes), so it does not depend on the order in which an engine returns the rows.
 *
 * Ownership: every function borrows its arguments; reports are caller-owned structs. */
#ifndef IDSYNC_ENGINE_BACKUP_H
#define IDSYNC_ENGINE_BACKUP_H
#include "store/store.h"
#include <stdint.h>

#define BACKUP_FORMAT_VERSION 1
#define BACKUP_MAX_TABLES 32

typedef struct backup_table_sum {
    char name[64];            /* table name */
    int64_t rows;             /* rows read */
    unsigned char sum[32];    /* checksum (see above) */
} backup_table_sum;

typedef struct backup_report {
    int ntables;
    backup_table_sum tables[BACKUP_MAX_TABLES];
    int schema_version;       /* of the data copied */
    char source_engine[16];   /* "sqlite" / "postgresql" */
    char database_id[64];     /* meta database_id ("" when absent) */
    char idsync_version[32];  /* version that wrote the backup file */
    int64_t created_at;       /* when the snapshot was taken */
    int64_t bytes;            /* size of the backup file written or read */
    double seconds;           /* wall time of the operation */
} backup_report;

/* Writes a consistent snapshot of s (one read transaction) to path: temp file in the same
   directory, fsync, rename; mode 0600 (it holds sealed credentials). Rows stream through. */
int engine_backup_write(store *s, const char *path, backup_report *rep, err *e);
/* Reads a backup file and checks its format, every table's row count and checksum, and its
   completeness, touching no database. ERR_CORRUPT names the table that does not match. */
int engine_backup_verify_file(const char *path, backup_report *rep, err *e);
/* Restores path into the empty database url (ERR_REFUSED when it holds tables): verifies the
   file, creates the schema, inserts rows in batched transactions, fixes identity sequences,
   then re-reads the target and compares every table with the file. On failure the tables it
   created are dropped again (and a SQLite file it created is removed). The restored database
   holds no lease (owner_heartbeat 0); nothing else differs from the file. */
int engine_backup_restore(const char *path, const char *url, const char *password, backup_report *rep, err *e);
/* Copies the open database src into the empty database url directly (no file), then verifies
   both databases table by table. Same target rules and cleanup as engine_backup_restore. */
int engine_backup_copy(store *src, const char *url, const char *password, backup_report *rep, err *e);
/* Row counts and checksums of every table of s, read in one snapshot. */
int engine_backup_checksums(store *s, backup_report *rep, err *e);
/* ERR_CORRUPT naming the first table whose rows or checksum differ between a and b. */
int engine_backup_compare(const backup_report *a, const char *a_name, const backup_report *b, const char *b_name,
                          err *e);
/* Lower-case hex of a checksum into out (65 bytes). */
void engine_backup_sum_hex(const unsigned char sum[32], char out[65]);
#endif
