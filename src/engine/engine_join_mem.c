/* In-memory join-index rows (see engine_join_mem.h). Layout, for a million objects with about
 * five rows each (16 bytes a row, no per-row allocation): values are interned once (attribute
 * number + index form, in an arena) and found through an open-addressing table; objects (MV ids)
 * likewise; a row is (object, value) linked into its value's list and its object's list. Rows,
 * values and objects live in fixed-size chunks, so growing never copies them nor holds two
 * copies at once. Removed rows are only marked dead: a sync replaces few rows; lookups skip them. */
#include "engine/engine_join_mem.h"
#include "util/util_alloc.h"
#include "util/util_arena.h"
#include "util/util_uuid.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define DEAD 0x80000000u   /* in jm_row.value: the row was removed */
#define ARENA_CHUNK (1u << 20)
#define CHUNK_BITS 16      /* elements per chunk: 65,536 */
#define FLUSH_BATCH 512

typedef struct jm_value {
    const char *key;     /* arena: attribute number + 1, then the index form, NUL-terminated */
    uint32_t hash;
    uint32_t head;       /* first row, NIL when none */
} jm_value;

typedef struct jm_row {
    uint32_t obj;        /* index into objs */
    uint32_t value;      /* index into values, | DEAD once removed */
    uint32_t next_value; /* next row of the same value */
    uint32_t next_obj;   /* next row of the same object */
} jm_row;

typedef struct jm_obj {
    int64_t mv_id;
    uint32_t head;       /* first live row, NIL when none */
} jm_obj;

/* A growable array of fixed-size elements in chunks of 2^CHUNK_BITS. */
typedef struct chunked {
    char **c;
    size_t nchunks, n;   /* n: elements in use */
} chunked;

static void *at(const chunked *a, size_t esz, uint32_t i)
{
    return a->c[i >> CHUNK_BITS] + (size_t)(i & ((1u << CHUNK_BITS) - 1)) * esz;
}

/* Index of a new element (uninitialised). */
static uint32_t push(chunked *a, size_t esz)
{
    if (a->n == a->nchunks << CHUNK_BITS) {
        a->c = xrealloc(a->c, (a->nchunks + 1) * sizeof(char *));
        a->c[a->nchunks++] = xmalloc(esz << CHUNK_BITS);
    }
    return (uint32_t)a->n++;
}

static void chunked_free(chunked *a)
{
    for (size_t i = 0; i < a->nchunks; i++) free(a->c[i]);
    free(a->c);
}


struct join_mem {
    char *attrs[255];
    size_t nattrs;
    util_arena arena;             /* value keys */
    chunked values, rows, objs;   /* jm_value, jm_row, jm_obj */
    uint32_t *vslots, *oslots;    /* index + 1 into values / objs; 0 = empty */
    size_t vcap, ocap;            /* powers of two */
    size_t live;                  /* rows not dead */
    bool marked;
};

#define VAL(m, i) ((jm_value *)at(&(m)->values, sizeof(jm_value), (i)))
#define ROW(m, i) ((jm_row *)at(&(m)->rows, sizeof(jm_row), (i)))
#define OBJ(m, i) ((jm_obj *)at(&(m)->objs, sizeof(jm_obj), (i)))

static void init(join_mem *m)
{
    m->arena = (util_arena)UTIL_ARENA_INIT(ARENA_CHUNK);
    m->vcap = 1024;
    m->vslots = xcalloc(m->vcap, sizeof(uint32_t));
    m->ocap = 1024;
    m->oslots = xcalloc(m->ocap, sizeof(uint32_t));
}

join_mem *join_mem_new(void)
{
    join_mem *m = xcalloc(1, sizeof *m);
    init(m);
    return m;
}

static void release(join_mem *m)
{
    for (size_t i = 0; i < m->nattrs; i++) free(m->attrs[i]);
    arena_free(&m->arena);
    chunked_free(&m->values);
    chunked_free(&m->rows);
    chunked_free(&m->objs);
    free(m->vslots);
    free(m->oslots);
}

void join_mem_free(join_mem *m)
{
    if (!m) return;
    release(m);
    free(m);
}

static int attr_no(const join_mem *m, const char *name)
{
    for (size_t i = 0; m && i < m->nattrs; i++)
        if (strcmp(m->attrs[i], name) == 0) return (int)i;
    return -1;
}

bool join_mem_covers(const join_mem *m, const char *name)
{
    return attr_no(m, name) >= 0;
}

void join_mem_cover(join_mem *m, const char *name)
{
    if (join_mem_covers(m, name) || m->nattrs == 255) return;
    m->attrs[m->nattrs++] = xstrdup(name);
}

size_t join_mem_rows(const join_mem *m)
{
    return m ? m->live : 0;
}

/* ---------- values ---------- */

/* FNV-1a over the key (attribute number byte, then the index form) */
static uint32_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t *value_slot(const join_mem *m, const char *key, uint32_t h)
{
    size_t i = h & (m->vcap - 1);
    while (m->vslots[i]) {
        const jm_value *v = VAL(m, m->vslots[i] - 1);
        if (v->hash == h && strcmp(v->key, key) == 0) break;
        i = (i + 1) & (m->vcap - 1);
    }
    return &m->vslots[i];
}

static void values_grow(join_mem *m)
{
    free(m->vslots);
    m->vcap *= 2;
    m->vslots = xcalloc(m->vcap, sizeof(uint32_t));
    for (size_t k = 0; k < m->values.n; k++) {
        size_t i = VAL(m, (uint32_t)k)->hash & (m->vcap - 1);
        while (m->vslots[i]) i = (i + 1) & (m->vcap - 1);
        m->vslots[i] = (uint32_t)k + 1;
    }
}

/* The value index of key (interned on first use). */
static uint32_t value_of(join_mem *m, const char *key)
{
    uint32_t h = key_hash(key), *s = value_slot(m, key, h);
    if (*s) return *s - 1;
    if ((m->values.n + 1) * 2 > m->vcap) {
        values_grow(m);
        s = value_slot(m, key, h);
    }
    size_t len = strlen(key) + 1;
    char *k = arena_alloc_bytes(&m->arena, len);
    memcpy(k, key, len);
    uint32_t v = push(&m->values, sizeof(jm_value));
    *VAL(m, v) = (jm_value){.key = k, .hash = h, .head = NIL};
    *s = v + 1;
    return v;
}

/* Lookup key: attribute number + 1, then value lower-cased as the store's lookup folds it.
   Stops at the first NUL as the store's text binding does. Caller frees. */
static char *make_key(int a, const char *value, size_t len)
{
    char *k = xmalloc(len + 2);
    k[0] = (char)(a + 1);
    size_t i = 0;
    for (; i < len && value[i]; i++) k[i + 1] = (char)tolower((unsigned char)value[i]);
    k[i + 1] = '\0';
    return k;
}

/* The index form of value i (hex for binary values, lower case otherwise), as a key. */
static char *value_key(int a, const attr *values, size_t i)
{
    if (values->type != AT_BINARY) return make_key(a, values->vals[i].data, values->vals[i].len);
    char *hex = hex_encode(values->vals[i].data, values->vals[i].len);
    char *k = make_key(a, hex, strlen(hex));
    free(hex);
    return k;
}

/* ---------- objects ---------- */

static uint64_t id_hash(int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

/* The slot holding id, or the empty slot where it would go. */
static uint32_t *obj_slot(const join_mem *m, int64_t id)
{
    size_t i = (size_t)id_hash(id) & (m->ocap - 1);
    while (m->oslots[i] && OBJ(m, m->oslots[i] - 1)->mv_id != id) i = (i + 1) & (m->ocap - 1);
    return &m->oslots[i];
}

/* The object index of id (added on first use). */
static uint32_t obj_of(join_mem *m, int64_t id)
{
    uint32_t *s = obj_slot(m, id);
    if (*s) return *s - 1;
    if ((m->objs.n + 1) * 2 > m->ocap) {
        free(m->oslots);
        m->ocap *= 2;
        m->oslots = xcalloc(m->ocap, sizeof(uint32_t));
        for (size_t k = 0; k < m->objs.n; k++) *obj_slot(m, OBJ(m, (uint32_t)k)->mv_id) = (uint32_t)k + 1;
        s = obj_slot(m, id);
    }
    uint32_t o = push(&m->objs, sizeof(jm_obj));
    *OBJ(m, o) = (jm_obj){.mv_id = id, .head = NIL};
    *s = o + 1;
    return o;
}

/* ---------- rows ---------- */

static void row_add(join_mem *m, uint32_t o, uint32_t value)
{
    uint32_t r = push(&m->rows, sizeof(jm_row));
    *ROW(m, r) = (jm_row){.obj = o, .value = value, .next_value = VAL(m, value)->head, .next_obj = OBJ(m, o)->head};
    VAL(m, value)->head = r;
    OBJ(m, o)->head = r;
    m->live++;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts keys and drops repeats (freed); returns how many stay. */
static size_t keys_unique(char **keys, size_t n)
{
    if (!n) return 0;
    qsort(keys, n, sizeof(char *), cmp_key);
    size_t w = 1;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(keys[i], keys[w - 1]) == 0) free(keys[i]);
        else keys[w++] = keys[i];
    }
    return w;
}

void join_mem_set(join_mem *m, int64_t mv_id, const char *name, const attr *values)
{
    int a = attr_no(m, name);
    if (a < 0) return;
    size_t n = values ? values->nvals : 0;
    char **keys = n ? xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++) keys[i] = value_key(a, values, i);
    n = keys_unique(keys, n);
    bool *kept = n ? xcalloc(n, sizeof(bool)) : NULL;
    uint32_t o = obj_of(m, mv_id);
    /* the object's live rows of attr: kept when still a value, dead otherwise; dead rows leave the
       object's list (they stay in their value's list, skipped) */
    uint32_t *link = &OBJ(m, o)->head;
    while (*link != NIL) {
        jm_row *r = ROW(m, *link);
        const char *key = VAL(m, r->value)->key;
        if ((unsigned char)key[0] == (unsigned)(a + 1)) {
            char **hit = n ? bsearch(&key, keys, n, sizeof(char *), cmp_key) : NULL;
            if (!hit) {
                r->value |= DEAD;
                m->live--;
                *link = r->next_obj;
                continue;
            }
            kept[hit - keys] = true;
        }
        link = &r->next_obj;
    }
    for (size_t i = 0; i < n; i++)
        if (!kept[i]) row_add(m, o, value_of(m, keys[i]));
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    free(kept);
}

void join_mem_drop(join_mem *m, int64_t mv_id)
{
    uint32_t *s = obj_slot(m, mv_id);
    if (!*s) return;
    jm_obj *o = OBJ(m, *s - 1);
    for (uint32_t r = o->head; r != NIL; r = ROW(m, r)->next_obj) {
        ROW(m, r)->value |= DEAD;
        m->live--;
    }
    o->head = NIL;   /* the object stays: an id reused later starts with no rows */
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Live ids of value v, ascending, into *ids (grown as needed); returns how many. */
static size_t value_ids(const join_mem *m, uint32_t v, int64_t **ids, size_t *cap)
{
    size_t n = 0;
    for (uint32_t r = VAL(m, v)->head; r != NIL; r = ROW(m, r)->next_value) {
        const jm_row *row = ROW(m, r);
        if (row->value & DEAD) continue;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *ids = xrealloc(*ids, *cap * sizeof(int64_t));
        }
        (*ids)[n++] = OBJ(m, row->obj)->mv_id;
    }
    if (n > 1) qsort(*ids, n, sizeof(int64_t), cmp_id);
    return n;
}

void join_mem_find(const join_mem *m, const char *name, const char *value, int64_t *ids, size_t max, size_t *n)
{
    *n = 0;
    int a = attr_no(m, name);
    if (a < 0) return;
    char *key = make_key(a, value, strlen(value));
    uint32_t *s = value_slot(m, key, key_hash(key));
    free(key);
    if (!*s) return;
    int64_t *all = NULL;
    size_t cap = 0, k = value_ids(m, *s - 1, &all, &cap);
    *n = k < max ? k : max;
    if (*n) memcpy(ids, all, *n * sizeof(int64_t));
    free(all);
}

/* ---------- store ---------- */

int join_mem_mark(join_mem *m, store *s, err *e)
{
    if (m->marked) return 0;
    int rc = store_meta_set(s, JOIN_INDEX_PENDING_KEY, "1", e);
    if (rc == 0) m->marked = true;
    return rc;
}

bool join_mem_marked(const join_mem *m)
{
    return m && m->marked;
}

static const join_mem *sort_ctx;   /* qsort has no context argument; flushes are not concurrent */

/* (attribute name, index form): the store's key order, byte for byte */
static int cmp_value(const void *a, const void *b)
{
    const char *x = VAL(sort_ctx, *(const uint32_t *)a)->key, *y = VAL(sort_ctx, *(const uint32_t *)b)->key;
    if (x[0] != y[0]) return strcmp(sort_ctx->attrs[(unsigned char)x[0] - 1], sort_ctx->attrs[(unsigned char)y[0] - 1]);
    return strcmp(x + 1, y + 1);
}

static int emit(store *s, store_index_row *batch, size_t *nb, const char *name, const char *value, int64_t id, err *e)
{
    batch[(*nb)++] = (store_index_row){name, value, id};
    if (*nb < FLUSH_BATCH) return 0;
    int rc = store_mv_index_bulk(s, batch, *nb, e);
    *nb = 0;
    return rc;
}

int join_mem_flush(join_mem *m, store *s, err *e)
{
    size_t nv = m->values.n;
    uint32_t *order = nv ? xmalloc(nv * sizeof(uint32_t)) : NULL;
    for (size_t i = 0; i < nv; i++) order[i] = (uint32_t)i;
    sort_ctx = m;
    if (nv) qsort(order, nv, sizeof(uint32_t), cmp_value);
    store_index_row batch[FLUSH_BATCH];
    size_t nb = 0, cap = 0;
    int64_t *ids = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nv; i++) {
        const char *key = VAL(m, order[i])->key;
        size_t k = value_ids(m, order[i], &ids, &cap);
        for (size_t j = 0; rc == 0 && j < k; j++)
            rc = emit(s, batch, &nb, m->attrs[(unsigned char)key[0] - 1], key + 1, ids[j], e);
    }
    if (rc == 0 && nb) rc = store_mv_index_bulk(s, batch, nb, e);
    if (rc == 0 && m->marked) rc = store_meta_set(s, JOIN_INDEX_PENDING_KEY, NULL, e);
    free(ids);
    free(order);
    if (rc == 0) {   /* empty and uncovered: the rows are in the store now */
        release(m);
        memset(m, 0, sizeof *m);
        init(m);
    }
    return rc;
}

/* ---------- repair after a crash ---------- */

struct repair_ctx {
    join_mem *m;
    char *const *attrs;
    size_t n;
    const char *refattr;
};

/* The rows recompute_from writes for o: each indexed attribute's values, and the union of its
   reference values under refattr (join_mem_set drops repeats). */
static int repair_one(void *ctx, mv_object *o, err *e)
{
    (void)e;
    struct repair_ctx *c = ctx;
    for (size_t i = 0; i < c->n; i++) join_mem_set(c->m, o->id, c->attrs[i], attrs_get(o->attrs, c->attrs[i]));
    attr refs = {.name = (char *)c->refattr, .type = AT_STRING};
    size_t cap = 0;
    for (size_t i = 0; o->attrs && i < o->attrs->n; i++) {
        const attr *a = &o->attrs->a[i];
        if (a->type != AT_REFERENCE) continue;
        for (size_t k = 0; k < a->nvals; k++) {
            if (refs.nvals == cap) {
                cap = cap ? cap * 2 : 16;
                refs.vals = xrealloc(refs.vals, cap * sizeof *refs.vals);
            }
            refs.vals[refs.nvals++] = a->vals[k];   /* borrowed */
        }
    }
    join_mem_set(c->m, o->id, c->refattr, &refs);
    free(refs.vals);
    return 0;
}

int join_index_repair(store *s, char *const *attrs, size_t n, const char *refattr, err *e)
{
    char *pending = NULL;
    int rc = store_meta_get(s, JOIN_INDEX_PENDING_KEY, &pending, e);
    if (rc || !pending) return rc;
    free(pending);
    bool began = !store_in_tx(s);
    if (began) rc = store_mv_index_bulk_begin(s, e);
    join_mem *m = join_mem_new();
    for (size_t i = 0; i < n; i++) join_mem_cover(m, attrs[i]);
    join_mem_cover(m, refattr);
    m->marked = true;   /* the flush clears the marker */
    struct repair_ctx c = {m, attrs, n, refattr};
    /* the rows already written (attributes that were not deferred) are rebuilt too: simpler than
       telling them apart, and the result is the same */
    for (size_t i = 0; rc == 0 && i < m->nattrs; i++) rc = store_mv_index_clear(s, m->attrs[i], e);
    if (rc == 0) rc = store_mv_each(s, repair_one, &c, e);
    if (rc == 0) rc = join_mem_flush(m, s, e);
    join_mem_free(m);
    if (began) rc = store_mv_index_bulk_end(s, rc, e);
    return rc ? err_prefix(e, "rebuilding the join index after an interrupted sync") : 0;
}
