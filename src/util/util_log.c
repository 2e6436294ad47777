/* Logging to stderr with level and optional run context. */
#include "util/util_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

log_level log_current_level = LOG_WARN;
static char log_ctx[256];

void log_set_level(log_level l) { log_current_level = l; }

void log_set_context(const char *ctx)
{
    if (!ctx) log_ctx[0] = '\0';
    else snprintf(log_ctx, sizeof log_ctx, "%s", ctx);
}

void log_msg(log_level l, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (l > log_current_level) return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s idsync %s: %s%s", ts, names[l], log_ctx, log_ctx[0] ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
