/* Full import by paged search over the bases of the OU scope (both connector types). */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>

typedef struct full_ctx {
    conn *c;
    const conn_sink *sink;
    size_t done;
} full_ctx;

static int full_entry(void *ctx, LDAPMessage *m, err *e)
{
    full_ctx *f = ctx;
    ldap_entry ent = {0};
    int rc = conn_ldap_entry_read(f->c, m, false, f->sink, &ent, e);
    if (!rc) rc = conn_ldap_report_full(f->c, f->sink, CONN_CHANGE_ADD, &ent, e);
    conn_ldap_entry_clear(&ent);
    f->done++;
    return rc;
}

static int full_page_done(void *ctx, err *e)
{
    full_ctx *f = ctx;
    if (f->sink->progress) f->sink->progress(f->sink->ctx, f->done);
    /* a paged search has no resumable position: commit the page without a cookie */
    return f->sink->checkpoint ? f->sink->checkpoint(f->sink->ctx, NULL, 0, e) : 0;
}

int conn_ldap_paged_full(conn *c, const char *partition, const conn_sink *sink, err *e)
{
    const char **bases = conn_ldap_scope_bases(&c->scope, partition);
    full_ctx f = {c, sink, 0};
    ldap_search_cb cb = {&f, full_entry, NULL};
    int rc = 0;
    for (size_t i = 0; bases[i] && !rc; i++)
        rc = conn_ldap_search_paged(c, bases[i], LDAP_SCOPE_SUBTREE, c->filter, conn_ldap_import_attrs(c), &cb,
                                    full_page_done, e);
    free(bases);
    return rc;
}

