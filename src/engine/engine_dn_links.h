/* The links (mv_id, flags) of one connector's objects by DN, as a full sync leaves them: inbound
 * reference resolution asks "which MV object is the object with this DN joined to" once per
 * reference value, and the store answers with an index seek and a table-row read on random keys.
 * A full sync processes every object of its connector in id order and writes each object's link
 * itself, so after an object is processed its link is known here without reading the store.
 * Unknown, duplicate and deleted DNs answer "ask the store": the store stays the authority. */
#ifndef IDSYNC_ENGINE_DN_LINKS_H
#define IDSYNC_ENGINE_DN_LINKS_H
#include <stdbool.h>
#include <stdint.h>
typedef struct dn_links dn_links;
dn_links *dn_links_new(void);          /* caller frees with dn_links_free */
void dn_links_free(dn_links *m);       /* accepts NULL */
/* Records the link of a processed object. A second object with the same DN makes the DN
   unknown for good (the store then decides which of them a lookup finds). */
void dn_links_note(dn_links *m, const char *dn, int64_t mv_id, int flags);
/* The object with this DN was deleted: the DN is unknown for good. */
void dn_links_forget(dn_links *m, const char *dn);
/* true with *mv_id and *flags set when the DN's link is known; false: ask the store. */
bool dn_links_get(const dn_links *m, const char *dn, int64_t *mv_id, int *flags);
#endif
