/* Reading a password or token from a file (or standard input) without leaving copies behind. */
#include "vault/vault_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MAX (64 * 1024)

int vault_read_secret_file(const char *path, char **out, err *e)
{
    *out = NULL;
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "from standard input" : path;
    int rc = 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 256, len = 0;
    char *data = NULL;
    if (fd < 0)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_FAIL, "cannot open the password file %s: %s", path,
                       strerror(errno));
    data = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= SECRET_MAX + 2) {
                rc = err_set(e, ERR_USAGE, "the password file %s is larger than %d bytes; it should hold one secret",
                             name, SECRET_MAX);
                goto done;
            }
            char *bigger = xmalloc(cap * 2);   /* grow by copy so the old block can be wiped */
            memcpy(bigger, data, len);
            xwipe(data, cap);
            free(data);
            data = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, data + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = err_set(e, ERR_FAIL, "cannot read the password file %s: %s", name, strerror(errno));
            goto done;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    if (len > SECRET_MAX) {
        rc = err_set(e, ERR_USAGE, "the password file %s is larger than %d bytes; it should hold one secret", name,
                     SECRET_MAX);
        goto done;
    }
    if (len && data[len - 1] == '\n') {
        len--;
        if (len && data[len - 1] == '\r') len--;
    }
    data[len] = '\0';
    if (len == 0) {
        rc = err_set(e, ERR_USAGE, "the password file %s is empty", name);
        goto done;
    }
    if (memchr(data, '\0', len)) {
        rc = err_set(e, ERR_USAGE, "the password file %s contains a NUL byte; it must hold text", name);
        goto done;
    }
    *out = data;
    data = NULL;
done:
    if (data) {
        xwipe(data, cap);
        free(data);
    }
    if (!is_stdin) close(fd);
    return rc;
}
