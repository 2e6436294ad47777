/* `idsync trace`: scoping, join, flows and outbound evaluation for one object; writes nothing. */
#include "engine/engine_trace.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static json_t *values_json(const attr *a)
{
    json_t *arr = json_array();
    for (size_t k = 0; a && k < a->nvals; k++) {
        const aval *v = &a->vals[k];
        if (a->type == AT_BINARY || !utf8_valid(v->data, v->len)) {
            size_t n = sodium_base64_encoded_len(v->len, sodium_base64_VARIANT_ORIGINAL);
            char *b = xmalloc(n);
            sodium_bin2base64(b, n, (const unsigned char *)v->data, v->len, sodium_base64_VARIANT_ORIGINAL);
            json_array_append_new(arr, json_sprintf("base64:%s", b));
            free(b);
        } else {
            json_array_append_new(arr, json_stringn(v->data, v->len));
        }
    }
    return arr;
}

static json_t *attrs_json(const attrs *a)
{
    json_t *o = json_object();
    for (size_t i = 0; a && i < a->n; i++) json_object_set_new(o, a->a[i].name, values_json(&a->a[i]));
    return o;
}

/* Attribute-level before/after of every attribute that differs. */
static json_t *changes_json(const attrs *before, const attrs *after)
{
    json_t *arr = json_array();
    for (size_t i = 0; after && i < after->n; i++) {
        const attr *b = attrs_get(before, after->a[i].name);
        if (b && attr_equal(b, &after->a[i])) continue;
        json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "attribute", after->a[i].name, "before",
                                             values_json(b), "after", values_json(&after->a[i])));
    }
    for (size_t i = 0; before && i < before->n; i++) {
        if (attrs_get(after, before->a[i].name)) continue;
        json_array_append_new(arr, json_pack("{s:s, s:o, s:[]}", "attribute", before->a[i].name, "before",
                                             values_json(&before->a[i]), "after"));
    }
    return arr;
}

struct linked {
    json_t *arr;
    sync_ctx *x;
};

static int linked_one(void *ctx, cs_object *o, err *e)
{
    struct linked *l = ctx;
    const store_connector *sc = sync_conn(l->x, o->connector_id);
    const char *op = o->export_op == CS_EXPORT_ADD ? "add" : o->export_op == CS_EXPORT_UPDATE ? "update"
                   : o->export_op == CS_EXPORT_DELETE ? "delete" : "none";
    json_array_append_new(l->arr, json_pack("{s:s, s:s?, s:s, s:o, s:b}", "connector", sc ? sc->name : "?", "dn",
        o->dn, "pending_export", op, "export_attributes", attrs_json(o->export_attrs),
        "waiting_for_reference", (o->flags & CS_F_UNRESOLVED) != 0));
    return 0;
}

int engine_trace(engine *en, const char *connector, const char *dn, json_t **out, err *e)
{
    store_connector *sc = NULL;
    cs_object *o = NULL, *after = NULL;
    mv_object *mv_before = NULL, *mv_after = NULL;
    engine_stats st = {0};
    sync_ctx x;
    sync_ctx_init(&x, en, 0, &st);
    json_t *rep = NULL;
    int rc = store_connector_get(en->st, connector, &sc, e);
    if (rc) goto done;
    rc = store_cs_get_by_dn(en->st, sc->id, dn, &o, e);
    if (rc) {
        err_prefix(e, "connector '%s'", connector);
        goto done;
    }
    rc = sync_ctx_load(&x, e);
    if (rc) goto done;
    json_t *rules = json_array();
    for (size_t i = 0; i < x.rules->n; i++) {
        const rule *r = x.rules->rules[i];
        if (r->direction != RULE_INBOUND || !rule_applies_to(r, sc->name, sc->type, o->object_type)) continue;
        json_array_append_new(rules, json_pack("{s:s, s:i, s:s, s:b}", "rule", r->name, "precedence", r->precedence,
                              "link_type", rule_link_type_name(r->link_type), "in_scope", rule_scope_match(r, o->dn, o->attrs)));
    }
    int64_t mv_id_before = o->mv_id;
    if (o->mv_id) store_mv_get(en->st, o->mv_id, &mv_before, NULL);
    rc = store_begin(en->st, e);
    if (rc) {
        json_decref(rules);
        goto done;
    }
    o->flags |= CS_F_PENDING_IMPORT;
    rc = sync_inbound_one(&x, sc, o, e);
    int64_t mv_id = 0;
    if (rc == 0 && store_cs_get_by_id(en->st, o->id, &after, NULL) == 0) mv_id = after->mv_id;
    if (rc == 0 && mv_id) store_mv_get(en->st, mv_id, &mv_after, NULL);
    if (rc == 0 && (mv_id || mv_id_before)) rc = sync_outbound_one(&x, mv_id ? mv_id : mv_id_before, e);
    struct linked l = {json_array(), &x};
    if (rc == 0 && mv_id) store_cs_each(en->st, 0, STORE_CS_JOINED_TO, mv_id, linked_one, &l, e);
    store_rollback(en->st);   /* a trace never writes */
    if (rc) {
        json_decref(rules);
        json_decref(l.arr);
        goto done;
    }
    const char *what = !mv_id ? (o->flags & CS_F_DELETED ? "deleted: disconnects from the metaverse" :
                                 "disconnector: no inbound rule joins or projects it")
                     : !mv_id_before ? (st.projections ? "projected: a new metaverse object is created" : "joined to an existing metaverse object")
                     : "joined: attributes flow to its metaverse object";
    rep = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:o, s:o, s:o, s:I}", "connector", sc->name, "dn", dn,
        "object_type", o->object_type, "inbound_rules", rules, "outcome", what,
        "join", mv_id_before ? "already joined" : st.joins ? "joined by rule" : st.projections ? "projected" : "none",
        "mv_id", (json_int_t)mv_id, "metaverse_changes",
        changes_json(mv_before ? mv_before->attrs : NULL, mv_after ? mv_after->attrs : NULL),
        "metaverse_attributes", attrs_json(mv_after ? mv_after->attrs : NULL), "targets", l.arr,
        "sync_errors", (json_int_t)st.errors);
    *out = rep;
done:
    sync_ctx_clear(&x);
    store_connector_free(sc);
    cs_object_free(o);
    cs_object_free(after);
    mv_object_free(mv_before);
    mv_object_free(mv_after);
    return rc;
}
