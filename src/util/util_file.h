/* File helpers: whole-file reads and atomic replacement (temp file, fsync, rename). */
#ifndef IDSYNC_UTIL_FILE_H
#define IDSYNC_UTIL_FILE_H
#include "util/util_err.h"
#include <stddef.h>
#include <sys/types.h>

/* Reads path into a new NUL-terminated buffer the caller frees. Files above max bytes
   are refused. */
int file_read_all(const char *path, size_t max, char **out, size_t *len, err *e);
/* Writes data to path atomically with the given mode (temp file in the same directory,
   fsync, rename, fsync of the directory). On failure path is unchanged. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, err *e);
/* mkdir -p with mode for created components. */
int file_mkdirs(const char *path, mode_t mode, err *e);
int file_exists(const char *path);
#endif
