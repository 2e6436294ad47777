/* The links (mv_id, flags) of one connector's objects by DN, for a full sync of that connector.
 * Inbound reference resolution asks "which MV object is the object with this DN joined to" once
 * per reference value; the store answers with an index seek and a table-row read on random keys.
 * A full sync processes every object of its connector in id order and writes each object's link
 * itself, and no other object's: so the map is seeded with every (DN, id) of the connector and
 * the ids that were joined when the sync started (both read from indexes only), and then
 *   - an object already processed has the link the sync wrote;
 *   - an object not processed yet that was not joined is not joined now;
 *   - a DN no object has is not found, as the store would answer.
 * Duplicate and deleted DNs, and objects not processed yet that were joined, answer "ask the
 * store": the store stays the authority. */
#ifndef IDSYNC_ENGINE_DN_LINKS_H
#define IDSYNC_ENGINE_DN_LINKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef struct dn_links dn_links;
dn_links *dn_links_new(void);          /* caller frees with dn_links_free */
void dn_links_free(dn_links *m);       /* accepts NULL */
/* Seeding: object id has this DN (a second id for the DN makes it unknown for good). */
void dn_links_seed(dn_links *m, const char *dn, int64_t id);
/* Seeding done: ids (taken over, any order) were joined at the start; DNs not seeded belong to no
   object of the connector. */
void dn_links_seeded(dn_links *m, int64_t *joined, size_t njoined);
/* Records the link object id has after the sync processed it. */
void dn_links_note(dn_links *m, const char *dn, int64_t id, int64_t mv_id, int flags);
/* The object with this DN was deleted: the DN is unknown for good. */
void dn_links_forget(dn_links *m, const char *dn);
/* true with *mv_id and *flags set (0 for an object not joined or not found) when the answer is
   known; false: ask the store. */
bool dn_links_get(const dn_links *m, const char *dn, int64_t *mv_id, int *flags);
/* The id of the object with this DN when it is known, not processed yet and was not joined at the
   start (so the sync will decide whether it projects), else 0. */
int64_t dn_links_pending_id(const dn_links *m, const char *dn);
/* dn_links_get and dn_links_pending_id in one lookup (*pending: that id, or 0). */
bool dn_links_get_pending(const dn_links *m, const char *dn, int64_t *mv_id, int *flags, int64_t *pending);
/* Whether object id was joined when the sync started (after dn_links_seeded). */
bool dn_links_was_joined(const dn_links *m, int64_t id);
#endif
