/* Which (attribute, value) pairs the join index may hold, for a sync that saw the index empty for
 * an attribute when it started (typically the first sync: the metaverse is empty). Joins look each
 * object's join values up in the index, a seek on a random key; a value this sync never indexed
 * cannot be there, so the lookup is skipped. Only hashes are kept: a collision just means the
 * store is asked, as it would have been. */
#ifndef IDSYNC_ENGINE_JOIN_FILTER_H
#define IDSYNC_ENGINE_JOIN_FILTER_H
#include <stdbool.h>
#include <stddef.h>
typedef struct join_filter join_filter;
join_filter *join_filter_new(void);     /* caller frees with join_filter_free */
void join_filter_free(join_filter *f);  /* accepts NULL */
/* Whether attr is filtered (its index was empty when the sync started). */
bool join_filter_covers(const join_filter *f, const char *attr);
void join_filter_cover(join_filter *f, const char *attr);
/* A value indexed under attr, in the index's form or not: values are compared case-insensitively,
   as the index lookup does. */
void join_filter_add(join_filter *f, const char *attr, const char *value, size_t len);
/* false: attr is covered and value was never added, so the index has no such row. */
bool join_filter_maybe(const join_filter *f, const char *attr, const char *value, size_t len);
#endif
