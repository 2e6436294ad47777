-- The join index keyed by (attr, value, mv_id) only: no index on mv_id and no foreign key. Its rows
-- are removed by their key (the MV object's attribute values give them: store_mv_delete,
-- store_mv_index_set), so a bulk load writes the table and its key only.
ALTER TABLE mv_index DROP CONSTRAINT IF EXISTS mv_index_mv_id_fkey;
DROP INDEX IF EXISTS mv_index_mv;
