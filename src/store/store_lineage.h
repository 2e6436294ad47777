/* Stored form of an MV object's lineage (store internal; the in-memory form is an attrs set:
 * per MV attribute, the "connector|rule" values that contributed it).
 *
 * The lineage column of mv_objects holds one of two encodings:
 *  - the attrs encoding (attrs_encode), written by earlier versions; still read;
 *  - the compact encoding written now: each distinct value once, and per attribute its name by
 *    reference to the attribute of the same name in the row's attrs column where there is one, and
 *    its values as indexes into the distinct values. A row's lineage is usually one or two
 *    "connector|rule" strings repeated for each of ~20 attributes that the attrs column names
 *    already, so this is about a fifth of the attrs encoding.
 * Because the compact form refers to the attrs column, the two columns of a row are written together
 * (store_mv_save) and decoded together; nothing else may rewrite one of them alone. Copies of whole
 * rows (backup, restore, move between engines) keep them consistent. */
#ifndef IDSYNC_STORE_LINEAGE_H
#define IDSYNC_STORE_LINEAGE_H
#include "util/util_attrs.h"
#include "util/util_buf.h"
#include "util/util_err.h"

/* Appends the compact encoding of lineage to out. names is the attribute set stored beside it (the
   row's attrs, exactly as encoded into the attrs column); names may be NULL (every name is then
   written out). Attributes without values are skipped, as attrs_encode does. */
void store_lineage_encode(const attrs *lineage, const attrs *names, buf *out);

/* Decodes either encoding of data[0..len) (len 0: the empty set). names must be the decoded attrs
   column of the same row. Returns a new set the caller frees, or NULL with e filled (ERR_CORRUPT). */
attrs *store_lineage_decode(const void *data, size_t len, const attrs *names, err *e);
#endif
