/* Open-addressing set of 64-bit hashes of (attribute, lower-cased value). */
#include "engine/engine_join_filter.h"
#include "util/util_alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct join_filter {
    char **attrs;      /* covered attributes */
    size_t nattrs;
    uint64_t *h;       /* 0 = empty slot (a zero hash is stored as 1) */
    size_t n, cap;     /* cap is a power of two */
};

static uint64_t hash(const char *attr, const char *v, size_t len)
{
    /* FNV-1a 64 over the attribute name as spelled by the rules, a separator, the value folded
       to lower case as the index stores and looks up values */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)attr; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        h = (h ^ c) * 1099511628211ULL;
    }
    return h ? h : 1;
}

join_filter *join_filter_new(void)
{
    join_filter *f = xcalloc(1, sizeof *f);
    f->cap = 1024;
    f->h = xcalloc(f->cap, sizeof(uint64_t));
    return f;
}

void join_filter_free(join_filter *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->nattrs; i++) free(f->attrs[i]);
    free(f->attrs);
    free(f->h);
    free(f);
}

bool join_filter_covers(const join_filter *f, const char *attr)
{
    for (size_t i = 0; f && i < f->nattrs; i++)
        if (strcmp(f->attrs[i], attr) == 0) return true;
    return false;
}

void join_filter_cover(join_filter *f, const char *attr)
{
    if (join_filter_covers(f, attr)) return;
    f->attrs = xrealloc(f->attrs, (f->nattrs + 1) * sizeof(char *));
    f->attrs[f->nattrs++] = xstrdup(attr);
}

static uint64_t *slot_of(const join_filter *f, uint64_t h)
{
    size_t i = (size_t)h & (f->cap - 1);
    while (f->h[i] && f->h[i] != h) i = (i + 1) & (f->cap - 1);
    return &f->h[i];
}

void join_filter_add(join_filter *f, const char *attr, const char *value, size_t len)
{
    if ((f->n + 1) * 2 > f->cap) {
        uint64_t *old = f->h;
        size_t oldcap = f->cap;
        f->cap *= 2;
        f->h = xcalloc(f->cap, sizeof(uint64_t));
        for (size_t i = 0; i < oldcap; i++)
            if (old[i]) *slot_of(f, old[i]) = old[i];
        free(old);
    }
    uint64_t h = hash(attr, value, len), *s = slot_of(f, h);
    if (!*s) {
        *s = h;
        f->n++;
    }
}

bool join_filter_maybe(const join_filter *f, const char *attr, const char *value, size_t len)
{
    if (!join_filter_covers(f, attr)) return true;
    return *slot_of(f, hash(attr, value, len)) != 0;
}
