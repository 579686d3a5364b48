-- Initial Evergreen metadata schema.
-- Instants are INTEGER milliseconds since 1970-01-01T00:00:00Z (UTC).
-- Columns ending in _json contain Jackson-serialized value types from evergreen-api.

CREATE TABLE snapshots (
  id            TEXT PRIMARY KEY,
  source        TEXT,
  artifact_key  TEXT,
  schema_json   TEXT,
  profile_json  TEXT,
  tags_json     TEXT NOT NULL,
  created_at    INTEGER
);

CREATE TABLE pipeline_state (
  pipeline               TEXT PRIMARY KEY,
  reference_snapshot_id  TEXT,
  inferred_rules_json    TEXT NOT NULL
);

-- seq keeps insertion order, the tie-breaker when two runs start in the same millisecond.
CREATE TABLE runs (
  seq                INTEGER PRIMARY KEY,
  id                 TEXT NOT NULL UNIQUE,
  pipeline           TEXT,
  status             TEXT NOT NULL,
  outcome            TEXT,
  source             TEXT,
  snapshot_id        TEXT,
  reason             TEXT,
  metrics_json       TEXT NOT NULL,
  step_seconds_json  TEXT NOT NULL,
  provenance_json    TEXT,
  owner              TEXT,
  actor              TEXT,
  started_at         INTEGER,
  finished_at        INTEGER
);
CREATE INDEX runs_by_pipeline ON runs (pipeline, started_at);
CREATE INDEX runs_by_started ON runs (started_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_snapshot ON runs (snapshot_id);

CREATE TABLE validation_reports (
  run_id       TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  snapshot_id  TEXT,
  report_json  TEXT NOT NULL
);

CREATE TABLE registered_models (
  name        TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL
);

CREATE TABLE model_versions (
  model            TEXT NOT NULL REFERENCES registered_models (name),
  version          INTEGER NOT NULL CHECK (version >= 1),
  artifact_key     TEXT,
  artifact_sha256  TEXT,
  run_id           TEXT,
  snapshot_id      TEXT,
  metrics_json     TEXT NOT NULL,
  provenance_json  TEXT,
  created_at       INTEGER,
  PRIMARY KEY (model, version)
);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE aliases (
  model    TEXT NOT NULL,
  alias    TEXT NOT NULL,
  version  INTEGER NOT NULL,
  PRIMARY KEY (model, alias),
  FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

CREATE TABLE alias_moves (
  seq           INTEGER PRIMARY KEY,
  model         TEXT NOT NULL REFERENCES registered_models (name),
  alias         TEXT NOT NULL,
  from_version  INTEGER,
  to_version    INTEGER,
  actor         TEXT,
  reason        TEXT,
  at            INTEGER
);
CREATE INDEX alias_moves_by_model ON alias_moves (model, seq);

CREATE TABLE deployment_events (
  seq               INTEGER PRIMARY KEY,
  id                TEXT NOT NULL UNIQUE,
  model             TEXT NOT NULL,
  version           INTEGER NOT NULL,
  previous_version  INTEGER,
  kind              TEXT NOT NULL,
  actor             TEXT,
  detail            TEXT,
  at                INTEGER
);
CREATE INDEX deployment_events_by_model ON deployment_events (model, seq);

CREATE TABLE audit_log (
  sequence       INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  actor          TEXT,
  action         TEXT NOT NULL,
  targets_json   TEXT NOT NULL,
  details_json   TEXT NOT NULL,
  previous_hash  TEXT NOT NULL,
  hash           TEXT NOT NULL
);

-- The log is append-only: these triggers reject UPDATE and DELETE statements. Edits made to the
-- file by other means, or after dropping the triggers, break the hash chain that the audit
-- verifier checks, except the removal of the newest entries.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed');
END;

-- A duplicate edge is stored once; the first insert keeps its time.
CREATE TABLE lineage_edges (
  seq        INTEGER PRIMARY KEY,
  from_kind  TEXT NOT NULL,
  from_id    TEXT NOT NULL,
  to_kind    TEXT NOT NULL,
  to_id      TEXT NOT NULL,
  at         INTEGER,
  UNIQUE (from_kind, from_id, to_kind, to_id)
);
CREATE INDEX lineage_edges_by_target ON lineage_edges (to_kind, to_id);

CREATE TABLE tokens (
  seq            INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  name           TEXT NOT NULL,
  role           TEXT NOT NULL,
  secret_sha256  TEXT NOT NULL UNIQUE,
  created_at     INTEGER
);
