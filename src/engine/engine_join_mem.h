/* The join-index rows of one sync, kept in memory for the attributes whose index was empty when
 * the sync started (typically the first sync). Writing them as they come is a random-key B-tree
 * insert each (hex GUIDs, referenced ids), and every commit rewrites most index pages; kept here
 * and written once at the end, sorted, they append (join_mem_flush).
 *
 * The map is exact: for a covered attribute it holds precisely the rows the store would hold had
 * they been written (same index forms, same ids), so lookups answer from it instead of the store.
 * Attribute names are compared as the store compares them (byte for byte); values are stored in
 * the index's form (lower case, binary values as hex) and looked up case-insensitively.
 *
 * Crash safety: the sync commits while rows are still only here. Before the first row is kept,
 * join_mem_mark records a marker in the meta table (same transaction as that row's MV object);
 * join_mem_flush clears it in the transaction that writes the rows. join_index_repair, run before
 * any reader uses the index, rebuilds the index from mv_objects when it finds the marker. */
#ifndef IDSYNC_ENGINE_JOIN_MEM_H
#define IDSYNC_ENGINE_JOIN_MEM_H
#include "store/store.h"
#include "util/util_attrs.h"
#include "util/util_err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* meta key of the crash marker: some MV objects' join-index rows were never written */
#define JOIN_INDEX_PENDING_KEY "join_index_pending"

typedef struct join_mem join_mem;
join_mem *join_mem_new(void);           /* caller frees with join_mem_free */
void join_mem_free(join_mem *m);        /* accepts NULL */
/* Whether attr (exact spelling) is kept here; false for NULL m. */
bool join_mem_covers(const join_mem *m, const char *name);
/* Keeps attr's rows here from now on (call before any row of attr is kept). Beyond 255 attributes
   the call is ignored: the attribute stays in the store, which is always correct. */
void join_mem_cover(join_mem *m, const char *name);
size_t join_mem_rows(const join_mem *m);   /* live rows */
/* Replaces the rows of (mv_id, attr) with the index forms of values (NULL or no values: none),
   as store_mv_index_set does. attr must be covered. */
void join_mem_set(join_mem *m, int64_t mv_id, const char *name, const attr *values);
/* Removes every row of mv_id (its MV object was deleted; the store's rows cascade likewise). */
void join_mem_drop(join_mem *m, int64_t mv_id);
/* As store_mv_index_find for a covered attr: ids of the rows (attr, lower-cased value), ascending,
   up to max; *n is the number returned. */
void join_mem_find(const join_mem *m, const char *name, const char *value, int64_t *ids, size_t max, size_t *n);
/* Records the crash marker once per map (a no-op after the first call). */
int join_mem_mark(join_mem *m, store *s, err *e);
/* Whether join_mem_mark recorded the marker (some rows were kept); false for NULL m. */
bool join_mem_marked(const join_mem *m);
/* Writes every row to the store sorted by (attr, value, mv_id), clears the crash marker if this map
   recorded it, and empties the map: afterwards nothing is covered and readers go to the store.
   Runs in the caller's transaction (store_mv_index_bulk_begin's for speed). */
int join_mem_flush(join_mem *m, store *s, err *e);
/* If the crash marker is set: rebuilds the join index rows of attrs (n names) and of refattr
   (the union of each object's reference values) from every MV object, then clears the marker.
   Runs in a bulk-load transaction of its own when none is open, else in the caller's. */
int join_index_repair(store *s, char *const *attrs, size_t n, const char *refattr, err *e);
#endif
