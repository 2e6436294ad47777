/* Per-test temporary directories under $IDSYNC_TEST_TMP (set by ctest) or /tmp, removed with
 * everything in them. Header-only: included by the unit tests that need files. */
#ifndef IDSYNC_TEST_TMPDIR_H
#define IDSYNC_TEST_TMPDIR_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates DIR = <base>/<tag>-XXXXXX into dir (n bytes). Returns 0, or -1. */
static inline int test_tmpdir_make(char *dir, size_t n, const char *tag)
{
    const char *base = getenv("IDSYNC_TEST_TMP");
    if (base) mkdir(base, 0700);
    snprintf(dir, n, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and everything below it (no symlinks are followed). Returns 0, or -1. */
static inline int test_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *ent;
    int rc = 0;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (len < 0 || (size_t)len >= sizeof path) {
            rc = -1;   /* a path this long is not ours to guess at */
            continue;
        }
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) rc |= test_tmpdir_remove(path);
        else rc |= unlink(path);
    }
    closedir(d);
    return rmdir(dir) | rc;
}
#endif
