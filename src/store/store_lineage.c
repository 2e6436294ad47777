/* Compact stored form of MV lineage; see store_lineage.h for the contract.
 *
 * Compact encoding: the byte LINEAGE_COMPACT; varint count of distinct values, each as varint
 * length and bytes (in order of first use); varint count of attributes; per attribute, in the set's
 * order: varint name reference (0: varint length and bytes of the name follow; k > 0: the name of
 * the k-th attribute, from 1, of the row's decoded attrs), a shape byte (0: one string value;
 * otherwise the attr_type followed by a varint value count), then per value the varint index of
 * the distinct value. */
#include "store/store_lineage.h"
#include "util/util_alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Distinct from the attrs encoding's version bytes (they count up from 0x01). */
#define LINEAGE_COMPACT 0x4C
#define SHAPE_ONE_STRING 0

/* The distinct values of a lineage set and, per value in set order, its index among them. */
typedef struct lineage_dict {
    const aval **vals;  /* borrowed from the set */
    size_t n;
    size_t *index;      /* one per value of the set, in order */
} lineage_dict;

/* Linear search: a row has a handful of distinct "connector|rule" values. */
static size_t dict_index(lineage_dict *d, const aval *v)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->vals[i]->len == v->len && memcmp(d->vals[i]->data, v->data, v->len) == 0) return i;
    d->vals[d->n] = v;
    return d->n++;
}

static void dict_build(const attrs *lineage, lineage_dict *d)
{
    size_t total = 0;
    for (size_t i = 0; i < lineage->n; i++) total += lineage->a[i].nvals;
    d->vals = total ? xcalloc(total, sizeof *d->vals) : NULL;
    d->index = total ? xcalloc(total, sizeof *d->index) : NULL;
    d->n = 0;
    size_t k = 0;
    for (size_t i = 0; i < lineage->n; i++)
        for (size_t v = 0; v < lineage->a[i].nvals; v++) d->index[k++] = dict_index(d, &lineage->a[i].vals[v]);
}

/* The reference for name: 1 + its position among the attributes of names that have values, when
   one has exactly this name; else 0. *j and *pos walk names alongside the sorted lineage set. */
static size_t name_ref(const attrs *names, const char *name, size_t *j, size_t *pos)
{
    while (names && *j < names->n) {
        const attr *a = &names->a[*j];
        int c = strcasecmp(a->name, name);
        if (c > 0) break;
        if (c == 0) return a->nvals && strcmp(a->name, name) == 0 ? *pos + 1 : 0;
        if (a->nvals) (*pos)++;
        (*j)++;
    }
    return 0;
}

void store_lineage_encode(const attrs *lineage, const attrs *names, buf *out)
{
    static const attrs none = {0};
    if (!lineage) lineage = &none;
    lineage_dict d;
    dict_build(lineage, &d);
    buf_putc(out, (char)LINEAGE_COMPACT);
    buf_put_varint(out, d.n);
    for (size_t i = 0; i < d.n; i++) {
        buf_put_varint(out, d.vals[i]->len);
        buf_append(out, d.vals[i]->data, d.vals[i]->len);
    }
    size_t nattrs = 0, j = 0, pos = 0, k = 0;
    for (size_t i = 0; i < lineage->n; i++) nattrs += lineage->a[i].nvals > 0;
    buf_put_varint(out, nattrs);
    for (size_t i = 0; i < lineage->n; i++) {
        const attr *a = &lineage->a[i];
        if (!a->nvals) continue;
        size_t ref = name_ref(names, a->name, &j, &pos);
        buf_put_varint(out, ref);
        if (!ref) {
            size_t nl = strlen(a->name);
            buf_put_varint(out, nl);
            buf_append(out, a->name, nl);
        }
        if (a->type == AT_STRING && a->nvals == 1) {
            buf_putc(out, SHAPE_ONE_STRING);
        } else {
            buf_putc(out, (char)a->type);
            buf_put_varint(out, a->nvals);
        }
        for (size_t v = 0; v < a->nvals; v++) buf_put_varint(out, d.index[k++]);
    }
    free(d.vals);
    free(d.index);
}

/* One attribute of the compact form into s->a[s->n]; -1 on bad input. */
static int decode_attr(const unsigned char **pp, const unsigned char *end, const aval *dict, uint64_t ndict,
                       const attrs *names, attrs *s)
{
    const unsigned char *p = *pp;
    uint64_t ref, nl, nv, idx;
    attr *a = &s->a[s->n];
    if (varint_get(&p, end, &ref)) return -1;
    if (ref == 0) {
        if (varint_get(&p, end, &nl) || nl == 0 || nl > (uint64_t)(end - p)) return -1;
        a->name = xstrndup((const char *)p, (size_t)nl);
        p += nl;
    } else {
        if (!names || ref > names->n) return -1;
        a->name = xstrdup(names->a[ref - 1].name);
    }
    s->n++;  /* from here a->name is owned by s */
    if (p >= end) return -1;
    if (*p == SHAPE_ONE_STRING) {
        a->type = AT_STRING;
        nv = 1;
        p++;
    } else {
        if (*p < AT_STRING || *p > AT_DATETIME) return -1;
        a->type = (attr_type)*p++;
        if (varint_get(&p, end, &nv) || nv == 0 || nv > (uint64_t)(end - p)) return -1;
    }
    for (uint64_t k = 0; k < nv; k++) {
        if (varint_get(&p, end, &idx) || idx >= ndict) return -1;
        attr_add(a, dict[idx].data, dict[idx].len);
    }
    if (s->n > 1 && strcasecmp(s->a[s->n - 2].name, a->name) >= 0) return -1;
    *pp = p;
    return 0;
}

static attrs *decode_compact(const unsigned char *p, const unsigned char *end, const attrs *names, err *e)
{
    attrs *s = attrs_new();
    aval *dict = NULL;
    uint64_t ndict, n, len;
    int bad = varint_get(&p, end, &ndict) || ndict > (uint64_t)(end - p);
    if (!bad && ndict) dict = xcalloc((size_t)ndict, sizeof *dict);
    for (uint64_t i = 0; !bad && i < ndict; i++) {
        bad = varint_get(&p, end, &len) || len > (uint64_t)(end - p);
        if (bad) break;
        dict[i].data = (char *)p;  /* borrowed from the blob; attr_add copies */
        dict[i].len = (size_t)len;
        p += len;
    }
    if (!bad) bad = varint_get(&p, end, &n) || n > (uint64_t)(end - p);
    if (!bad && n) {
        s->a = xcalloc((size_t)n, sizeof(attr));
        s->cap = (size_t)n;
    }
    for (uint64_t i = 0; !bad && i < n; i++) bad = decode_attr(&p, end, dict, ndict, names, s) != 0;
    if (!bad) bad = p != end;
    free(dict);
    if (bad) {
        attrs_free(s);
        err_set(e, ERR_CORRUPT, "stored lineage is corrupt (bad encoding)");
        return NULL;
    }
    return s;
}

attrs *store_lineage_decode(const void *data, size_t len, const attrs *names, err *e)
{
    const unsigned char *p = data;
    if (len > 0 && p[0] == LINEAGE_COMPACT) return decode_compact(p + 1, p + len, names, e);
    return attrs_decode(data, len, e);
}
