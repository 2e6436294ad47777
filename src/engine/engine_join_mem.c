/* In-memory join-index rows (see engine_join_mem.h). Layout, for a million objects with a few
 * rows each: values are interned once (attribute number + index form, in an arena) in an
 * open-addressing table; a row is (mv id, value) linked into its value's list and its object's
 * list; an object's list head is found through a second open-addressing table. Removed rows are
 * only marked dead: a sync replaces few rows, and lookups skip them. */
#include "engine/engine_join_mem.h"
#include "util/util_alloc.h"
#include "util/util_uuid.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define ARENA_CHUNK (1u << 20)
#define FLUSH_BATCH 512

typedef struct jm_value {
    const char *key;     /* arena: attribute number + 1, then the index form, NUL-terminated */
    uint32_t hash;
    uint32_t head;       /* first row, NIL when none */
} jm_value;

typedef struct jm_row {
    int64_t mv_id;
    uint32_t value;      /* index into values */
    uint32_t next_value; /* next row of the same value */
    uint32_t next_mv;    /* next row of the same MV object */
    uint32_t dead;
} jm_row;

typedef struct jm_obj {
    int64_t mv_id;       /* 0 = empty slot (MV ids start at 1) */
    uint32_t head;
} jm_obj;

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

struct join_mem {
    char *attrs[255];
    size_t nattrs;
    arena_chunk *arena;
    jm_value *values;
    size_t nvalues, capvalues;
    uint32_t *vslots;    /* value index + 1; 0 = empty */
    size_t vcap;         /* power of two */
    jm_row *rows;
    size_t nrows, caprows, live;
    jm_obj *objs;
    size_t nobjs, ocap;  /* ocap: power of two */
    bool marked;
};

join_mem *join_mem_new(void)
{
    join_mem *m = xcalloc(1, sizeof *m);
    m->vcap = 1024;
    m->vslots = xcalloc(m->vcap, sizeof(uint32_t));
    m->ocap = 1024;
    m->objs = xcalloc(m->ocap, sizeof(jm_obj));
    return m;
}

static void release(join_mem *m)
{
    for (size_t i = 0; i < m->nattrs; i++) free(m->attrs[i]);
    for (arena_chunk *c = m->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(m->values);
    free(m->vslots);
    free(m->rows);
    free(m->objs);
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

static char *arena_alloc(join_mem *m, size_t n)
{
    if (!m->arena || m->arena->cap - m->arena->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk *c = xmalloc(sizeof *c + cap);
        c->next = m->arena;
        c->used = 0;
        c->cap = cap;
        m->arena = c;
    }
    char *p = m->arena->data + m->arena->used;
    m->arena->used += n;
    return p;
}

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
        const jm_value *v = &m->values[m->vslots[i] - 1];
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
    for (size_t k = 0; k < m->nvalues; k++) {
        size_t i = m->values[k].hash & (m->vcap - 1);
        while (m->vslots[i]) i = (i + 1) & (m->vcap - 1);
        m->vslots[i] = (uint32_t)k + 1;
    }
}

/* The value index of key (interned on first use). */
static uint32_t value_of(join_mem *m, const char *key)
{
    uint32_t h = key_hash(key), *s = value_slot(m, key, h);
    if (*s) return *s - 1;
    if ((m->nvalues + 1) * 2 > m->vcap) {
        values_grow(m);
        s = value_slot(m, key, h);
    }
    if (m->nvalues == m->capvalues) {
        m->capvalues = m->capvalues ? m->capvalues * 2 : 1024;
        m->values = xrealloc(m->values, m->capvalues * sizeof(jm_value));
    }
    size_t len = strlen(key) + 1;
    char *k = arena_alloc(m, len);
    memcpy(k, key, len);
    m->values[m->nvalues] = (jm_value){.key = k, .hash = h, .head = NIL};
    *s = (uint32_t)++m->nvalues;
    return *s - 1;
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

static jm_obj *obj_slot(const join_mem *m, int64_t id)
{
    size_t i = (size_t)id_hash(id) & (m->ocap - 1);
    while (m->objs[i].mv_id && m->objs[i].mv_id != id) i = (i + 1) & (m->ocap - 1);
    return &m->objs[i];
}

static jm_obj *obj_get(join_mem *m, int64_t id)
{
    jm_obj *o = obj_slot(m, id);
    if (o->mv_id) return o;
    if ((m->nobjs + 1) * 2 > m->ocap) {
        jm_obj *old = m->objs;
        size_t oldcap = m->ocap;
        m->ocap *= 2;
        m->objs = xcalloc(m->ocap, sizeof(jm_obj));
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].mv_id) *obj_slot(m, old[i].mv_id) = old[i];
        free(old);
        o = obj_slot(m, id);
    }
    *o = (jm_obj){.mv_id = id, .head = NIL};
    m->nobjs++;
    return o;
}

/* ---------- rows ---------- */

static void row_add(join_mem *m, jm_obj *o, uint32_t value)
{
    if (m->nrows == m->caprows) {
        m->caprows = m->caprows ? m->caprows * 2 : 4096;
        m->rows = xrealloc(m->rows, m->caprows * sizeof(jm_row));
    }
    uint32_t r = (uint32_t)m->nrows++;
    m->rows[r] = (jm_row){.mv_id = o->mv_id, .value = value, .next_value = m->values[value].head, .next_mv = o->head};
    m->values[value].head = r;
    o->head = r;
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
    jm_obj *o = obj_get(m, mv_id);
    /* the object's live rows of attr: kept when still a value, dead otherwise; dead rows leave the
       object's list (they stay in their value's list, skipped) */
    uint32_t *link = &o->head;
    while (*link != NIL) {
        jm_row *r = &m->rows[*link];
        const char *key = m->values[r->value].key;
        if ((unsigned char)key[0] == (unsigned)(a + 1)) {
            char **hit = n ? bsearch(&key, keys, n, sizeof(char *), cmp_key) : NULL;
            if (!hit) {
                r->dead = 1;
                m->live--;
                *link = r->next_mv;
                continue;
            }
            kept[hit - keys] = true;
        }
        link = &r->next_mv;
    }
    for (size_t i = 0; i < n; i++)
        if (!kept[i]) row_add(m, o, value_of(m, keys[i]));
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    free(kept);
}

void join_mem_drop(join_mem *m, int64_t mv_id)
{
    jm_obj *o = obj_slot(m, mv_id);
    if (!o->mv_id) return;
    for (uint32_t r = o->head; r != NIL; r = m->rows[r].next_mv) {
        m->rows[r].dead = 1;
        m->live--;
    }
    o->head = NIL;   /* the slot stays (open addressing): an id reused later starts empty */
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
    for (uint32_t r = m->values[v].head; r != NIL; r = m->rows[r].next_value) {
        if (m->rows[r].dead) continue;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *ids = xrealloc(*ids, *cap * sizeof(int64_t));
        }
        (*ids)[n++] = m->rows[r].mv_id;
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
    const char *x = sort_ctx->values[*(const uint32_t *)a].key, *y = sort_ctx->values[*(const uint32_t *)b].key;
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
    uint32_t *order = m->nvalues ? xmalloc(m->nvalues * sizeof(uint32_t)) : NULL;
    for (size_t i = 0; i < m->nvalues; i++) order[i] = (uint32_t)i;
    sort_ctx = m;
    if (m->nvalues) qsort(order, m->nvalues, sizeof(uint32_t), cmp_value);
    store_index_row batch[FLUSH_BATCH];
    size_t nb = 0, cap = 0;
    int64_t *ids = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->nvalues; i++) {
        const char *key = m->values[order[i]].key;
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
        m->vcap = 1024;
        m->vslots = xcalloc(m->vcap, sizeof(uint32_t));
        m->ocap = 1024;
        m->objs = xcalloc(m->ocap, sizeof(jm_obj));
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
