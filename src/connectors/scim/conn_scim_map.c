/* SCIM connector: connector space attributes <-> SCIM JSON resources and PatchOp messages
 * (RFC 7643 section 4 for the User/Group/EnterpriseUser schemas, RFC 7644 3.5.2 for PATCH). */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KU (1u << SCIM_USER)
#define KG (1u << SCIM_GROUP)

typedef enum map_how {
    MH_TOP = 1,     /* top-level single-valued attribute */
    MH_SUB,         /* sub-attribute of a complex attribute ("name.givenName") */
    MH_TYPED,       /* value of a multi-valued attribute selected by type ("emails.work") */
    MH_ENT,         /* enterprise extension attribute */
    MH_ENT_REF,     /* enterprise manager: {"value": id} */
    MH_MEMBERS,     /* group members: [{"value": id}, ...] */
} map_how;

typedef struct map_ent {
    const char *name;     /* connector space name; for MH_TYPED the prefix before the type ("emails") */
    unsigned kinds;
    attr_type type;
    map_how how;
    const char *scim;     /* SCIM attribute (top-level, complex parent, or enterprise attribute) */
    const char *sub;      /* MH_SUB: sub-attribute */
} map_ent;

static const map_ent MAP[] = {
    {"userName", KU, AT_STRING, MH_TOP, "userName", NULL},
    {"externalId", KU | KG, AT_STRING, MH_TOP, "externalId", NULL},
    {"displayName", KU | KG, AT_STRING, MH_TOP, "displayName", NULL},
    {"nickName", KU, AT_STRING, MH_TOP, "nickName", NULL},
    {"title", KU, AT_STRING, MH_TOP, "title", NULL},
    {"userType", KU, AT_STRING, MH_TOP, "userType", NULL},
    {"preferredLanguage", KU, AT_STRING, MH_TOP, "preferredLanguage", NULL},
    {"locale", KU, AT_STRING, MH_TOP, "locale", NULL},
    {"timezone", KU, AT_STRING, MH_TOP, "timezone", NULL},
    {"profileUrl", KU, AT_STRING, MH_TOP, "profileUrl", NULL},
    {"active", KU, AT_BOOLEAN, MH_TOP, "active", NULL},
    {"name.givenName", KU, AT_STRING, MH_SUB, "name", "givenName"},
    {"name.familyName", KU, AT_STRING, MH_SUB, "name", "familyName"},
    {"name.formatted", KU, AT_STRING, MH_SUB, "name", "formatted"},
    {"name.middleName", KU, AT_STRING, MH_SUB, "name", "middleName"},
    {"name.honorificPrefix", KU, AT_STRING, MH_SUB, "name", "honorificPrefix"},
    {"name.honorificSuffix", KU, AT_STRING, MH_SUB, "name", "honorificSuffix"},
    {"emails", KU, AT_STRING, MH_TYPED, "emails", NULL},
    {"phoneNumbers", KU, AT_STRING, MH_TYPED, "phoneNumbers", NULL},
    {"employeeNumber", KU, AT_STRING, MH_ENT, "employeeNumber", NULL},
    {"costCenter", KU, AT_STRING, MH_ENT, "costCenter", NULL},
    {"organization", KU, AT_STRING, MH_ENT, "organization", NULL},
    {"division", KU, AT_STRING, MH_ENT, "division", NULL},
    {"department", KU, AT_STRING, MH_ENT, "department", NULL},
    {"manager", KU, AT_REFERENCE, MH_ENT_REF, "manager", NULL},
    {"members", KG, AT_REFERENCE, MH_MEMBERS, "members", NULL},
};
#define NMAP (sizeof MAP / sizeof MAP[0])

int scim_kind_parse(const char *t, scim_kind *out)
{
    if (!t)
        return -1;
    if (!strcasecmp(t, "user")) {
        *out = SCIM_USER;
        return 0;
    }
    if (!strcasecmp(t, "group")) {
        *out = SCIM_GROUP;
        return 0;
    }
    return -1;
}

const char *scim_kind_endpoint(scim_kind k) { return k == SCIM_GROUP ? "Groups" : "Users"; }
const char *scim_kind_type(scim_kind k) { return k == SCIM_GROUP ? "group" : "user"; }

/* A type selector of a typed multi-valued attribute: letters, digits, '-', '_' only. */
static bool type_ok(const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '-' ||
              *t == '_'))
            return false;
    return true;
}

/* The mapping entry for a connector space name, or NULL. *typ points into name for MH_TYPED. */
static const map_ent *map_find(scim_kind k, const char *name, const char **typ)
{
    *typ = NULL;
    for (size_t i = 0; i < NMAP; i++) {
        const map_ent *m = &MAP[i];
        if (!(m->kinds & (1u << k)))
            continue;
        if (m->how == MH_TYPED) {
            size_t l = strlen(m->name);
            if (!strncasecmp(name, m->name, l) && name[l] == '.' && type_ok(name + l + 1)) {
                *typ = name + l + 1;
                return m;
            }
        } else if (!strcasecmp(name, m->name)) {
            return m;
        }
    }
    return NULL;
}

bool scim_map_known(scim_kind k, const char *name)
{
    const char *typ;
    return name && map_find(k, name, &typ) != NULL;
}

/* SCIM attribute names are case-insensitive (RFC 7643 2.1): exact lookup first, then a scan. */
static json_t *get_ci(const json_t *o, const char *key)
{
    if (!json_is_object(o))
        return NULL;
    json_t *v = json_object_get(o, key);
    if (v)
        return v;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)o, k, val) {
        if (!strcasecmp(k, key))
            return val;
    }
    return NULL;
}

/* Adds a JSON scalar (string, boolean, integer) as a value of a; other JSON types are ignored. */
static void put_scalar(attrs *out, const char *name, attr_type type, const json_t *v)
{
    if (json_is_string(v)) {
        attr *a = attrs_get_or_add(out, name, type);
        attr_add(a, json_string_value(v), json_string_length(v));
    } else if (json_is_boolean(v)) {
        attr *a = attrs_get_or_add(out, name, AT_BOOLEAN);
        attr_add_str(a, json_is_true(v) ? "TRUE" : "FALSE");
    } else if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        attr *a = attrs_get_or_add(out, name, type == AT_STRING ? AT_INTEGER : type);
        attr_add_str(a, tmp);
    }
}

int scim_map_from_json(scim_kind k, const json_t *res, attrs *out, const char **id_out, err *e)
{
    if (id_out)
        *id_out = NULL;
    if (!json_is_object(res))
        return err_set(e, ERR_CORRUPT, "the SCIM server returned a %s that is not a JSON object",
                       scim_kind_type(k));
    const json_t *ent = get_ci(res, SCIM_SCHEMA_ENTERPRISE);
    for (size_t i = 0; i < NMAP; i++) {
        const map_ent *m = &MAP[i];
        if (!(m->kinds & (1u << k)))
            continue;
        switch (m->how) {
        case MH_TOP:
            put_scalar(out, m->name, m->type, get_ci(res, m->scim));
            break;
        case MH_SUB:
            put_scalar(out, m->name, m->type, get_ci(get_ci(res, m->scim), m->sub));
            break;
        case MH_ENT:
            put_scalar(out, m->name, m->type, get_ci(ent, m->scim));
            break;
        case MH_ENT_REF: {
            const json_t *mg = get_ci(ent, m->scim);
            put_scalar(out, m->name, m->type, json_is_object(mg) ? get_ci(mg, "value") : mg);
            break;
        }
        case MH_MEMBERS: {
            const json_t *arr = get_ci(res, m->scim);
            size_t j;
            const json_t *it;
            if (!json_is_array(arr))
                break;
            json_array_foreach(arr, j, it) {
                const json_t *v = get_ci(it, "value");
                if (json_is_string(v))
                    attr_add_unique(attrs_get_or_add(out, m->name, m->type), json_string_value(v),
                                    json_string_length(v));
            }
            break;
        }
        case MH_TYPED: {
            const json_t *arr = get_ci(res, m->scim);
            size_t j;
            const json_t *it;
            if (!json_is_array(arr))
                break;
            json_array_foreach(arr, j, it) {
                const json_t *t = get_ci(it, "type"), *v = get_ci(it, "value");
                if (!json_is_string(t) || !json_is_string(v) || !type_ok(json_string_value(t)))
                    continue;
                char *name = xasprintf("%s.%s", m->name, json_string_value(t));
                if (!attrs_get(out, name))   /* first value of each type wins */
                    put_scalar(out, name, m->type, v);
                free(name);
            }
            break;
        }
        }
    }
    if (id_out) {
        const json_t *id = get_ci(res, "id");
        *id_out = json_is_string(id) && json_string_length(id) > 0 ? json_string_value(id) : NULL;
    }
    return 0;
}

/* JSON value for one attribute value: boolean for AT_BOOLEAN targets, else a string. */
static json_t *value_json(const map_ent *m, const attr *a, const aval *v, err *e)
{
    if (m->type == AT_BOOLEAN) {
        if (!strcasecmp(v->data, "TRUE") || !strcmp(v->data, "1"))
            return json_true();
        if (!strcasecmp(v->data, "FALSE") || !strcmp(v->data, "0"))
            return json_false();
        err_set(e, ERR_USAGE, "attribute %s must be TRUE or FALSE for SCIM, not \"%.64s\"", a->name, v->data);
        return NULL;
    }
    json_t *s = json_stringn(v->data, v->len);
    if (!s)
        err_set(e, ERR_USAGE, "attribute %s has a value that is not valid UTF-8 text; SCIM needs text",
                a->name);
    return s;
}

static const map_ent *map_need(scim_kind k, const attr *a, const char **typ, err *e)
{
    const map_ent *m = map_find(k, a->name, typ);
    if (!m)
        err_set(e, ERR_USAGE,
                "attribute %s has no SCIM mapping for a %s; fix the outbound sync rule (the mapped names "
                "are listed in docs/CONNECTORS-SCIM.md)",
                a->name, scim_kind_type(k));
    return m;
}

static json_t *obj_child(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

json_t *scim_map_to_json(scim_kind k, const attrs *s, err *e)
{
    json_t *root = json_object(), *schemas = json_array();
    json_array_append_new(schemas, json_string(k == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER));
    json_object_set_new(root, "schemas", schemas);
    bool has_ent = false;
    for (size_t i = 0; s && i < s->n; i++) {
        const attr *a = &s->a[i];
        const char *typ;
        if (a->nvals == 0)
            continue;
        const map_ent *m = map_need(k, a, &typ, e);
        if (!m)
            goto fail;
        if (m->how != MH_MEMBERS && a->nvals > 1) {
            err_set(e, ERR_USAGE, "attribute %s has %zu values but SCIM %s takes one", a->name, a->nvals,
                    m->scim);
            goto fail;
        }
        if (m->how == MH_MEMBERS) {
            json_t *arr = json_array();
            json_object_set_new(root, m->scim, arr);
            for (size_t j = 0; j < a->nvals; j++) {
                json_t *v = value_json(m, a, &a->vals[j], e);
                if (!v)
                    goto fail;
                json_array_append_new(arr, json_pack("{s:o}", "value", v));
            }
            continue;
        }
        json_t *v = value_json(m, a, &a->vals[0], e);
        if (!v)
            goto fail;
        switch (m->how) {
        case MH_TOP:
            json_object_set_new(root, m->scim, v);
            break;
        case MH_SUB:
            json_object_set_new(obj_child(root, m->scim), m->sub, v);
            break;
        case MH_ENT:
            json_object_set_new(obj_child(root, SCIM_SCHEMA_ENTERPRISE), m->scim, v);
            has_ent = true;
            break;
        case MH_ENT_REF:
            json_object_set_new(obj_child(root, SCIM_SCHEMA_ENTERPRISE), m->scim, json_pack("{s:o}", "value", v));
            has_ent = true;
            break;
        case MH_TYPED: {
            json_t *arr = json_object_get(root, m->scim);
            if (!json_is_array(arr)) {
                arr = json_array();
                json_object_set_new(root, m->scim, arr);
            }
            json_array_append_new(arr, json_pack("{s:s,s:o}", "type", typ, "value", v));
            break;
        }
        default:
            json_decref(v);
            break;
        }
    }
    if (has_ent)
        json_array_append_new(schemas, json_string(SCIM_SCHEMA_ENTERPRISE));
    return root;
fail:
    json_decref(root);
    return NULL;
}

void scim_filter_quote(buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)*p);
        } else if (*p < 0x20) {
            buf_printf(b, "\\u%04x", *p);
        } else {
            buf_putc(b, (char)*p);
        }
    }
    buf_putc(b, '"');
}

/* The PATCH path of a single-valued mapping ("name.givenName", "urn:...:User:employeeNumber"). */
static char *patch_path(const map_ent *m, const char *typ)
{
    switch (m->how) {
    case MH_SUB:
        return xasprintf("%s.%s", m->scim, m->sub);
    case MH_ENT:
    case MH_ENT_REF:
        return xasprintf("%s:%s", SCIM_SCHEMA_ENTERPRISE, m->scim);
    case MH_TYPED: {
        buf b = BUF_INIT;
        buf_printf(&b, "%s[type eq ", m->scim);
        scim_filter_quote(&b, typ);
        buf_putc(&b, ']');
        return buf_steal(&b, NULL);
    }
    default:
        return xstrdup(m->scim);
    }
}

static void op_add(json_t *ops, const char *op, const char *path, json_t *value /* stolen, may be NULL */)
{
    json_t *o = json_pack("{s:s,s:s}", "op", op, "path", path);
    if (value)
        json_object_set_new(o, "value", value);
    json_array_append_new(ops, o);
}

static int mod_to_ops(scim_kind k, const conn_mod *md, json_t *ops, err *e)
{
    const attr *a = &md->attr;
    const char *typ;
    const map_ent *m = map_need(k, a, &typ, e);
    if (!m)
        return ERR_USAGE;
    if (md->op != CONN_MOD_REPLACE && md->op != CONN_MOD_ADD && md->op != CONN_MOD_DELETE)
        return err_set(e, ERR_USAGE, "attribute %s: unknown modification %d", a->name, (int)md->op);
    if (m->how == MH_MEMBERS) {
        if (md->op == CONN_MOD_DELETE && a->nvals > 0) {
            for (size_t j = 0; j < a->nvals; j++) {
                buf b = BUF_INIT;
                buf_printf(&b, "%s[value eq ", m->scim);
                scim_filter_quote(&b, a->vals[j].data);
                buf_putc(&b, ']');
                op_add(ops, "remove", b.data, NULL);
                buf_free(&b);
            }
            return 0;
        }
        if (a->nvals == 0) {
            if (md->op != CONN_MOD_ADD)
                op_add(ops, "remove", m->scim, NULL);
            return 0;
        }
        json_t *arr = json_array();
        for (size_t j = 0; j < a->nvals; j++) {
            json_t *v = value_json(m, a, &a->vals[j], e);
            if (!v) {
                json_decref(arr);
                return ERR_USAGE;
            }
            json_array_append_new(arr, json_pack("{s:o}", "value", v));
        }
        op_add(ops, md->op == CONN_MOD_ADD ? "add" : "replace", m->scim, arr);
        return 0;
    }
    char *path = patch_path(m, typ);
    int rc = 0;
    bool clear = a->nvals == 0 || md->op == CONN_MOD_DELETE;
    if (!clear && a->nvals > 1) {
        rc = err_set(e, ERR_USAGE, "attribute %s has %zu values but SCIM %s takes one", a->name, a->nvals, path);
        goto done;
    }
    if (clear) {
        op_add(ops, "remove", path, NULL);
        goto done;
    }
    json_t *v = value_json(m, a, &a->vals[0], e);
    if (!v) {
        rc = ERR_USAGE;
        goto done;
    }
    if (m->how == MH_TYPED) {
        /* remove any value of that type, then add the new one: a replace with a value filter that
           matches nothing is a 400 noTarget on strict servers (RFC 7644 3.5.2.3). */
        op_add(ops, "remove", path, NULL);
        op_add(ops, "add", m->scim, json_pack("[{s:s,s:o}]", "type", typ, "value", v));
    } else if (m->how == MH_ENT_REF) {
        op_add(ops, "replace", path, json_pack("{s:o}", "value", v));
    } else {
        op_add(ops, "replace", path, v);
    }
done:
    free(path);
    return rc;
}

json_t *scim_patch_from_mods(scim_kind k, const conn_mod *mods, size_t n, err *e)
{
    json_t *ops = json_array();
    for (size_t i = 0; i < n; i++) {
        if (mod_to_ops(k, &mods[i], ops, e) != 0) {
            json_decref(ops);
            return NULL;
        }
    }
    return json_pack("{s:[s],s:o}", "schemas", SCIM_MSG_PATCHOP, "Operations", ops);
}

/* Values of x not present in y, as a borrowed-value attr (vals array owned by caller). */
static attr diff_values(const attr *x, const attr *y)
{
    attr r = {x->name, x->type, 0, 0, NULL, NULL};
    if (x->nvals)
        r.vals = xcalloc(x->nvals, sizeof(aval));
    for (size_t i = 0; i < x->nvals; i++)
        if (!y || !attr_has_value(y, x->vals[i].data, x->vals[i].len))
            r.vals[r.nvals++] = x->vals[i];
    return r;
}

json_t *scim_patch_from_diff(scim_kind k, const attrs *desired, const attrs *current, err *e)
{
    size_t n = desired ? desired->n : 0, nm = 0;
    conn_mod *mods = xcalloc(2 * n + 1, sizeof *mods);
    aval **owned = xcalloc(2 * n + 1, sizeof *owned);
    size_t nowned = 0;
    for (size_t i = 0; i < n; i++) {
        const attr *d = &desired->a[i];
        const attr *c = current ? attrs_get(current, d->name) : NULL;
        const char *typ;
        const map_ent *m = map_find(k, d->name, &typ);
        if (m && m->how == MH_MEMBERS) {
            attr add = diff_values(d, c);
            owned[nowned++] = add.vals;
            if (add.nvals)
                mods[nm++] = (conn_mod){CONN_MOD_ADD, add};
            if (c) {
                attr del = diff_values(c, d);
                owned[nowned++] = del.vals;
                del.name = d->name;
                if (del.nvals)
                    mods[nm++] = (conn_mod){CONN_MOD_DELETE, del};
            }
            continue;
        }
        if (d->nvals == 0) {
            if (c && c->nvals)
                mods[nm++] = (conn_mod){CONN_MOD_DELETE, {d->name, d->type, 0, 0, NULL, NULL}};
            continue;
        }
        if (c && c->nvals == d->nvals) {
            attr dd = *d;
            dd.type = c->type;   /* compare by the server's syntax (boolean vs text) */
            if (attr_equal(&dd, c))
                continue;
        }
        mods[nm++] = (conn_mod){CONN_MOD_REPLACE, *d};
    }
    json_t *p = scim_patch_from_mods(k, mods, nm, e);
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(mods);
    return p;
}
