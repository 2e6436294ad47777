/* File helpers. */
#include "util/util_file.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, char **out, size_t *len, err *e)
{
    int rc = ERR_FAIL;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_FAIL, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = err_set(e, ERR_FAIL, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = err_set(e, ERR_USAGE, "%s is a directory, not a file; give the path of a file", path);
        goto done;
    }
    if ((size_t)st.st_size > max) {
        rc = err_set(e, ERR_USAGE, "%s is too large (%lld bytes, at most %zu)", path, (long long)st.st_size, max);
        goto done;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    data = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                rc = err_set(e, ERR_USAGE, "%s is too large (at most %zu bytes)", path, max);
                goto done;
            }
            cap *= 2;
            data = xrealloc(data, cap);
        }
        ssize_t r = read(fd, data + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = err_set(e, ERR_FAIL, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n > max) {   /* a pipe or a file that grew while being read */
        rc = err_set(e, ERR_USAGE, "%s is too large (at most %zu bytes)", path, max);
        goto done;
    }
    data[n] = '\0';
    *out = data;
    data = NULL;
    if (len) *len = n;
    rc = 0;
done:
    free(data);
    close(fd);
    return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, err *e)
{
    int rc = ERR_FAIL, fd = -1;
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    char *dircopy = xstrdup(path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        err_set(e, ERR_FAIL, "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (fchmod(fd, mode) != 0) {
        err_set(e, ERR_FAIL, "cannot set mode of %s: %s", tmp, strerror(errno));
        goto done;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            err_set(e, ERR_FAIL, "cannot write %s: %s", tmp, strerror(errno));
            goto done;
        }
        p += w;
        left -= (size_t)w;
    }
    /* close even when fsync fails, so the descriptor never leaks */
    int sync_rc = fsync(fd), close_rc = close(fd);
    fd = -1;
    if (sync_rc != 0 || close_rc != 0) {
        err_set(e, ERR_FAIL, "cannot flush %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        err_set(e, ERR_FAIL, "cannot replace %s: %s", path, strerror(errno));
        goto done;
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
done:
    if (fd >= 0) close(fd);
    if (rc != 0) unlink(tmp);
    free(tmp);
    free(dircopy);
    return rc;
}

int file_mkdirs(const char *path, mode_t mode, err *e)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST) {
                rc = err_set(e, ERR_FAIL, "cannot create directory %s: %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return rc;
}

int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
