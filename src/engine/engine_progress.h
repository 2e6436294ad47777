/* Progress display for long runs: objects done, rate, on one terminal line; silent when
 * stderr is not a terminal. */
#ifndef IDSYNC_ENGINE_PROGRESS_H
#define IDSYNC_ENGINE_PROGRESS_H
#include <stdbool.h>
#include <stddef.h>
typedef struct progress {
    bool on;
    const char *name, *what;
    double start, last;
    size_t total;      /* 0 = unknown (no ETA) */
} progress;
void progress_init(progress *p, bool enabled, const char *name, const char *what);
void progress_tick(progress *p, size_t done);
void progress_done(progress *p, size_t done);
#endif
