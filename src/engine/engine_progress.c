/* Terminal progress lines. */
#include "engine/engine_progress.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(progress *p, bool enabled, const char *name, const char *what)
{
    p->on = enabled && isatty(2);
    p->name = name;
    p->what = what;
    p->start = p->last = now_s();
    p->total = 0;
}

static void show(progress *p, size_t done, const char *end)
{
    double el = now_s() - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    if (p->total && rate > 0 && done <= p->total)
        fprintf(stderr, "\r%s %s: %zu/%zu objects, %.0f/s, ETA %.0fs   %s", p->name, p->what, done, p->total, rate,
                (double)(p->total - done) / rate, end);
    else
        fprintf(stderr, "\r%s %s: %zu objects, %.0f/s, %.1fs   %s", p->name, p->what, done, rate, el, end);
}

void progress_tick(progress *p, size_t done)
{
    if (!p->on || (done & 63)) return;
    double t = now_s();
    if (t - p->last < 0.25) return;
    p->last = t;
    show(p, done, "");
}

void progress_done(progress *p, size_t done)
{
    if (p->on && done) show(p, done, "\n");
}
