/* Attribute sets: sorted, case-insensitive names; compact binary encoding. */
#include "util/util_attrs.h"
#include "util/util_alloc.h"
#include "util/util_arena.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATTRS_FORMAT_V1 0x01

static const char *const type_names[] = {NULL, "string", "binary", "integer", "boolean", "reference", "datetime"};

const char *attr_type_name(attr_type t)
{
    if (t < AT_STRING || t > AT_DATETIME) return "unknown";
    return type_names[t];
}

int attr_type_parse(const char *s, attr_type *out)
{
    for (int t = AT_STRING; t <= AT_DATETIME; t++) {
        if (strcasecmp(s, type_names[t]) == 0) {
            *out = (attr_type)t;
            return 0;
        }
    }
    return -1;
}

/* The arena behind attrs_new_pooled: freed together with the set. */
struct attrs_pool {
    util_arena a;
};

#define POOL_CHUNK 4096

static inline void *pool_alloc(struct attrs_pool *p, size_t n)
{
    return arena_alloc(&p->a, n);
}

static struct attrs_pool *pool_new(void)
{
    struct attrs_pool *p = xmalloc(sizeof *p);
    p->a = (util_arena)UTIL_ARENA_INIT(POOL_CHUNK);
    return p;
}

static void pool_free(struct attrs_pool *p)
{
    if (p) arena_free(&p->a);
    free(p);
}

static char *name_dup(struct attrs_pool *p, const char *name)
{
    if (!p) return xstrdup(name);
    size_t n = strlen(name) + 1;
    return memcpy(pool_alloc(p, n), name, n);
}

attrs *attrs_new(void)
{
    return xcalloc(1, sizeof(attrs));
}

attrs *attrs_new_pooled(void)
{
    attrs *s = xcalloc(1, sizeof(attrs));
    s->pool = pool_new();
    return s;
}

bool attrs_use_pool(attrs *s)
{
    if (s->n || s->pool) return false;
    s->pool = pool_new();
    return true;
}

static void attr_clear_values(attr *a)
{
    if (!a->pool)
        for (size_t i = 0; i < a->nvals; i++) free(a->vals[i].data);
    a->nvals = 0;
}

static void attr_destroy(attr *a)
{
    attr_clear_values(a);
    if (a->pool) return;
    free(a->vals);
    free(a->name);
}

void attrs_clear(attrs *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) attr_destroy(&s->a[i]);
    s->n = 0;
}

void attrs_free(attrs *s)
{
    if (!s) return;
    attrs_clear(s);
    free(s->a);
    pool_free(s->pool);
    free(s);
}

static void attr_copy_into(attr *dst, const attr *src)
{
    dst->pool = NULL;
    dst->name = xstrdup(src->name);
    dst->type = src->type;
    dst->nvals = dst->cap = src->nvals;
    dst->vals = src->nvals ? xcalloc(src->nvals, sizeof(aval)) : NULL;
    for (size_t i = 0; i < src->nvals; i++) {
        dst->vals[i].len = src->vals[i].len;
        dst->vals[i].data = xmalloc(src->vals[i].len + 1);
        memcpy(dst->vals[i].data, src->vals[i].data, src->vals[i].len);
        dst->vals[i].data[src->vals[i].len] = '\0';
    }
}

attrs *attrs_clone(const attrs *s)
{
    attrs *c = attrs_new();
    if (!s || !s->n) return c;
    c->a = xcalloc(s->n, sizeof(attr));
    c->cap = s->n;
    for (size_t i = 0; i < s->n; i++) attr_copy_into(&c->a[i], &s->a[i]);
    c->n = s->n;
    return c;
}

/* Binary search; returns index of match, or -(insertion point)-1. */
static long find(const attrs *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = attr_name_cmp(s->a[mid].name, name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -(long)lo - 1;
}

attr *attrs_get(const attrs *s, const char *name)
{
    if (!s) return NULL;
    long i = find(s, name);
    return i >= 0 ? &s->a[i] : NULL;
}

const char *attrs_get_str(const attrs *s, const char *name)
{
    attr *a = attrs_get(s, name);
    return (a && a->nvals) ? a->vals[0].data : NULL;
}

static attr *insert_at(attrs *s, size_t pos, const char *name, attr_type type)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->a = xrealloc(s->a, s->cap * sizeof(attr));
    }
    memmove(&s->a[pos + 1], &s->a[pos], (s->n - pos) * sizeof(attr));
    s->n++;
    attr *a = &s->a[pos];
    memset(a, 0, sizeof *a);
    a->pool = s->pool;
    a->name = name_dup(s->pool, name);
    a->type = type;
    return a;
}

attr *attrs_put(attrs *s, const char *name, attr_type type)
{
    long i = find(s, name);
    if (i >= 0) {
        attr_clear_values(&s->a[i]);
        s->a[i].type = type;
        return &s->a[i];
    }
    return insert_at(s, (size_t)(-i - 1), name, type);
}

attr *attrs_get_or_add(attrs *s, const char *name, attr_type type)
{
    long i = find(s, name);
    if (i >= 0) return &s->a[i];
    return insert_at(s, (size_t)(-i - 1), name, type);
}

bool attrs_remove(attrs *s, const char *name)
{
    long i = find(s, name);
    if (i < 0) return false;
    attr_destroy(&s->a[i]);
    memmove(&s->a[i], &s->a[i + 1], (s->n - (size_t)i - 1) * sizeof(attr));
    s->n--;
    return true;
}

static void attr_grow(attr *a)
{
    if (a->nvals == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1;
        if (a->pool) {
            aval *grown = pool_alloc(a->pool, cap * sizeof(aval));
            if (a->nvals) memcpy(grown, a->vals, a->nvals * sizeof(aval));
            a->vals = grown;
        } else {
            a->vals = xrealloc(a->vals, cap * sizeof(aval));
        }
        a->cap = cap;
    }
}

void attr_add(attr *a, const void *data, size_t len)
{
    attr_grow(a);
    aval *v = &a->vals[a->nvals++];
    v->len = len;
    v->data = a->pool ? pool_alloc(a->pool, len + 1) : xmalloc(len + 1);
    if (len) memcpy(v->data, data, len);
    v->data[len] = '\0';
}

void attr_add_str(attr *a, const char *s) { attr_add(a, s, strlen(s)); }

void attr_add_owned(attr *a, char *data, size_t len)
{
    if (a->pool) {
        attr_add(a, data, len);
        free(data);
        return;
    }
    attr_grow(a);
    a->vals[a->nvals].len = len;
    a->vals[a->nvals].data = data;
    a->nvals++;
}

static bool bytes_equal_ci(const char *x, size_t xl, const char *y, size_t yl)
{
    if (xl != yl) return false;
    for (size_t i = 0; i < xl; i++) {
        unsigned char a = (unsigned char)x[i], b = (unsigned char)y[i];
        if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
        if (a != b) return false;
    }
    return true;
}

bool attr_value_equal(attr_type t, const aval *x, const aval *y)
{
    if (t == AT_BINARY || t == AT_INTEGER)
        return x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
    return bytes_equal_ci(x->data, x->len, y->data, y->len);
}

bool attr_has_value(const attr *a, const void *data, size_t len)
{
    aval probe = {len, (char *)data};
    for (size_t i = 0; i < a->nvals; i++)
        if (attr_value_equal(a->type, &a->vals[i], &probe)) return true;
    return false;
}

bool attr_add_unique(attr *a, const void *data, size_t len)
{
    if (attr_has_value(a, data, len)) return false;
    attr_add(a, data, len);
    return true;
}

bool attr_remove_value(attr *a, const void *data, size_t len)
{
    aval probe = {len, (char *)data};
    for (size_t i = 0; i < a->nvals; i++) {
        if (attr_value_equal(a->type, &a->vals[i], &probe)) {
            if (!a->pool) free(a->vals[i].data);
            memmove(&a->vals[i], &a->vals[i + 1], (a->nvals - i - 1) * sizeof(aval));
            a->nvals--;
            return true;
        }
    }
    return false;
}

void attrs_set_str(attrs *s, const char *name, const char *value)
{
    attr_add_str(attrs_put(s, name, AT_STRING), value);
}

bool attr_equal(const attr *x, const attr *y)
{
    if (x->type != y->type || x->nvals != y->nvals) return false;
    if (x->nvals == 1) return attr_value_equal(x->type, &x->vals[0], &y->vals[0]);
    /* Multiset comparison: each value of x must be matched by a distinct value of y. Small
       attributes use a quadratic scan; it is only large for big groups, where the engine
       diffs member values incrementally instead of comparing whole attributes. */
    bool stackmark[64];
    bool *used = x->nvals <= 64 ? stackmark : xcalloc(x->nvals, sizeof(bool));
    memset(used, 0, (x->nvals <= 64 ? 64 : x->nvals) * sizeof(bool));
    bool ok = true;
    for (size_t i = 0; i < x->nvals && ok; i++) {
        bool found = false;
        for (size_t j = 0; j < y->nvals; j++) {
            if (!used[j] && attr_value_equal(x->type, &x->vals[i], &y->vals[j])) {
                used[j] = found = true;
                break;
            }
        }
        ok = found;
    }
    if (used != stackmark) free(used);
    return ok;
}

bool attrs_equal(const attrs *x, const attrs *y)
{
    size_t nx = x ? x->n : 0, ny = y ? y->n : 0;
    size_t i = 0, j = 0;
    while (i < nx || j < ny) {
        if (i < nx && !x->a[i].nvals) { i++; continue; }
        if (j < ny && !y->a[j].nvals) { j++; continue; }
        if (i >= nx || j >= ny) return false;
        if (!attr_name_eq(x->a[i].name, y->a[j].name)) return false;
        if (!attr_equal(&x->a[i], &y->a[j])) return false;
        i++, j++;
    }
    return true;
}

/* Encoding v1: 0x01, varint count, then per attribute: varint name length, name, type byte,
   varint value count, per value: varint length, bytes. Empty attributes are skipped. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7) n++;
    return n;
}

static unsigned char *varint_put(unsigned char *o, uint64_t v)
{
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        *o++ = c | (v ? 0x80 : 0);
    } while (v);
    return o;
}

/* The size is measured first and reserved once, then written in place: stored objects are
   encoded on every save, and growing the buffer piece by piece cost several reallocations each. */
void attrs_encode(const attrs *s, buf *out)
{
    size_t n = 0, bytes = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        const attr *a = &s->a[i];
        if (!a->nvals) continue;
        n++;
        size_t nl = strlen(a->name);
        bytes += varint_len(nl) + nl + 1 + varint_len(a->nvals);
        for (size_t k = 0; k < a->nvals; k++) bytes += varint_len(a->vals[k].len) + a->vals[k].len;
    }
    bytes += 1 + varint_len(n);
    buf_reserve(out, bytes);
    unsigned char *o = (unsigned char *)out->data + out->len;
    *o++ = ATTRS_FORMAT_V1;
    o = varint_put(o, n);
    for (size_t i = 0; s && i < s->n; i++) {
        const attr *a = &s->a[i];
        if (!a->nvals) continue;
        size_t nl = strlen(a->name);
        o = varint_put(o, nl);
        memcpy(o, a->name, nl);
        o += nl;
        *o++ = (unsigned char)a->type;
        o = varint_put(o, a->nvals);
        for (size_t k = 0; k < a->nvals; k++) {
            o = varint_put(o, a->vals[k].len);
            if (a->vals[k].len) memcpy(o, a->vals[k].data, a->vals[k].len);
            o += a->vals[k].len;
        }
    }
    out->len += bytes;
    out->data[out->len] = '\0';
}


/* First pass of attrs_decode: checks the structure of an encoding (everything but the order of
   names) and counts the pool bytes the set will need, so the second pass allocates once. */
static bool decode_measure(const unsigned char *p, const unsigned char *end, size_t len, uint64_t *count, size_t *bytes)
{
    uint64_t n, nl, nv, vl;
    size_t need = 0;
    if (*p++ != ATTRS_FORMAT_V1) return false;
    if (varint_get(&p, end, &n) || n > len) return false;
    for (uint64_t i = 0; i < n; i++) {
        if (varint_get(&p, end, &nl) || nl == 0 || nl > (uint64_t)(end - p)) return false;
        p += nl;
        need += ARENA_ROUND((size_t)nl + 1);
        if (p >= end || *p < AT_STRING || *p > AT_DATETIME) return false;
        p++;
        if (varint_get(&p, end, &nv) || nv > (uint64_t)(end - p)) return false;
        need += ARENA_ROUND((size_t)nv * sizeof(aval));
        for (uint64_t k = 0; k < nv; k++) {
            if (varint_get(&p, end, &vl) || vl > (uint64_t)(end - p)) return false;
            p += vl;
            need += ARENA_ROUND((size_t)vl + 1);
        }
    }
    if (p != end) return false;
    *count = n;
    *bytes = need;
    return true;
}

/* The decoded set is pooled, its pool one chunk of exactly the measured size: one allocation
   for all names and values instead of three or more per attribute (decoding and freeing stored
   objects was a tenth of a sync's allocator work). */
attrs *attrs_decode(const void *data, size_t len, err *e)
{
    const unsigned char *p = data, *end = p + len;
    uint64_t n, nl, nv, vl;
    size_t bytes = 0;
    if (len == 0) return attrs_new();  /* an empty blob is an empty set */
    if (!decode_measure(p, end, len, &n, &bytes)) goto bad;
    attrs *s = attrs_new_pooled();
    if (bytes) arena_reserve(&s->pool->a, bytes);
    p++;
    (void)varint_get(&p, end, &n);
    s->a = n ? xcalloc((size_t)n, sizeof(attr)) : NULL;
    s->cap = (size_t)n;
    for (uint64_t i = 0; i < n; i++) {
        (void)varint_get(&p, end, &nl);
        attr *a = &s->a[s->n++];
        a->pool = s->pool;
        a->name = pool_alloc(s->pool, (size_t)nl + 1);
        memcpy(a->name, p, (size_t)nl);
        a->name[nl] = '\0';
        p += nl;
        a->type = (attr_type)*p++;
        (void)varint_get(&p, end, &nv);
        a->vals = nv ? pool_alloc(s->pool, (size_t)nv * sizeof(aval)) : NULL;
        a->cap = (size_t)nv;
        for (uint64_t k = 0; k < nv; k++) {
            (void)varint_get(&p, end, &vl);
            attr_add(a, p, (size_t)vl);
            p += vl;
        }
        if (s->n > 1 && attr_name_cmp(s->a[s->n - 2].name, a->name) >= 0) {
            attrs_free(s);
            goto bad;
        }
    }
    return s;
bad:
    err_set(e, ERR_CORRUPT, "stored attribute data is corrupt (bad encoding); the object must be re-imported");
    return NULL;
}

bool utf8_valid(const void *data, size_t len)
{
    const unsigned char *s = data, *end = s + len;
    while (s < end) {
        unsigned char c = *s;
        if (c < 0x80) { s++; continue; }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
        else return false;
        if ((size_t)(end - s) < n) return false;
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        s += n;
    }
    return true;
}
