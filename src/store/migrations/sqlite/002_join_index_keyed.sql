-- The join index keyed by (attr, value, mv_id) only: no index on mv_id and no foreign key. Its rows
-- are removed by their key (the MV object's attribute values give them: store_mv_delete,
-- store_mv_index_set), so a bulk load writes one B-tree, not three (the rowid table, the key and
-- the mv_id index): a first sync of 1,000,000 objects writes about 5,000,000 rows.
CREATE TABLE mv_index_keyed (
  attr TEXT NOT NULL,
  value TEXT NOT NULL,                        -- lower-cased for case-insensitive joins; hex for binary
  mv_id INTEGER NOT NULL,
  PRIMARY KEY (attr, value, mv_id)
) WITHOUT ROWID;
INSERT INTO mv_index_keyed(attr, value, mv_id)
  SELECT attr, value, mv_id FROM mv_index WHERE mv_id IN (SELECT id FROM mv_objects);
DROP TABLE mv_index;
ALTER TABLE mv_index_keyed RENAME TO mv_index;
