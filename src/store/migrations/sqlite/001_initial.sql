-- idsync sync database, schema version 1 (SQLite). Keep in step with ../postgresql/001_initial.sql.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT
);
CREATE TABLE connectors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  url TEXT NOT NULL,
  bind_dn TEXT,
  partitions TEXT NOT NULL DEFAULT '[]',      -- JSON array of base DNs
  include_ous TEXT NOT NULL DEFAULT '[]',     -- JSON array; entries may be <GUID=...>
  exclude_ous TEXT NOT NULL DEFAULT '[]',
  options TEXT NOT NULL DEFAULT '{}',         -- JSON object of connector options
  sealed_secret BLOB,                         -- vault blob, sealed to one server key
  full_import_required INTEGER NOT NULL DEFAULT 1,
  full_sync_required INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE watermarks (
  connector_id INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
  partition TEXT NOT NULL,
  cookie BLOB,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (connector_id, partition)
);
CREATE TABLE sync_rules (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  direction TEXT NOT NULL,
  connector TEXT NOT NULL,
  precedence INTEGER NOT NULL,
  enabled INTEGER NOT NULL,
  definition TEXT NOT NULL,                   -- canonical JSON of the rule
  hash TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE cs_objects (
  id INTEGER PRIMARY KEY,
  connector_id INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
  anchor BLOB NOT NULL,
  dn TEXT,
  object_type TEXT NOT NULL,
  attrs BLOB NOT NULL,                        -- attrs_encode() of the object as last imported
  mv_id INTEGER,                              -- joined metaverse object, NULL for a disconnector
  flags INTEGER NOT NULL DEFAULT 0,           -- CS_F_* bits (pending import, deleted, ...)
  seen_run INTEGER NOT NULL DEFAULT 0,        -- last full import run that saw the object
  export_op INTEGER NOT NULL DEFAULT 0,       -- pending export: 0 none, 1 add, 2 update, 3 delete, 4 rename
  export_attrs BLOB,                          -- desired state of exported attributes
  export_dn TEXT,                             -- desired DN (rename)
  export_error TEXT,
  export_attempts INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  UNIQUE (connector_id, anchor)
);
CREATE INDEX cs_objects_dn ON cs_objects(connector_id, dn);
CREATE INDEX cs_objects_mv ON cs_objects(mv_id) WHERE mv_id IS NOT NULL;
CREATE INDEX cs_objects_pending ON cs_objects(connector_id, flags) WHERE flags <> 0;
CREATE INDEX cs_objects_export ON cs_objects(connector_id, export_op) WHERE export_op <> 0;
CREATE TABLE mv_objects (
  id INTEGER PRIMARY KEY,
  object_type TEXT NOT NULL,
  attrs BLOB NOT NULL,
  lineage BLOB,                               -- per attribute: contributing rule and connector
  updated_at INTEGER NOT NULL
);
CREATE TABLE mv_index (                       -- join index: values of MV attributes used by join rules
  attr TEXT NOT NULL,
  value TEXT NOT NULL,                        -- lower-cased for case-insensitive joins
  mv_id INTEGER NOT NULL REFERENCES mv_objects(id) ON DELETE CASCADE,
  PRIMARY KEY (attr, value, mv_id)
);
CREATE INDEX mv_index_mv ON mv_index(mv_id);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  connector_id INTEGER,
  connector_name TEXT,
  profile TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  result TEXT NOT NULL DEFAULT 'in-progress',
  stats TEXT NOT NULL DEFAULT '{}',           -- JSON counters
  message TEXT
);
CREATE TABLE run_errors (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  dn TEXT,
  anchor BLOB,
  kind TEXT NOT NULL,                         -- import-warning, sync-error, export-error
  message TEXT NOT NULL
);
CREATE INDEX run_errors_run ON run_errors(run_id);
