/* A set of anchors (byte strings) held in memory for one import: which objects a full import
 * or a present phase has seen, so unchanged objects need no database write. */
#ifndef IDSYNC_ENGINE_ANCHOR_SET_H
#define IDSYNC_ENGINE_ANCHOR_SET_H
#include <stdbool.h>
#include <stddef.h>
typedef struct anchor_set anchor_set;
anchor_set *anchor_set_new(void);              /* caller frees with anchor_set_free */
void anchor_set_free(anchor_set *s);           /* accepts NULL */
void anchor_set_add(anchor_set *s, const void *p, size_t n);   /* copies the bytes */
/* Adds like anchor_set_add; true if the anchor was not in the set yet. */
bool anchor_set_insert(anchor_set *s, const void *p, size_t n);
bool anchor_set_has(const anchor_set *s, const void *p, size_t n);
#endif
