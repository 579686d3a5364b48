-- Registry metadata that the MLflow model registry API reads and writes: descriptions, tags,
-- stages, external sources, update times and deletion marks of registered models and versions.
-- Instants are INTEGER milliseconds since 1970-01-01T00:00:00Z (UTC).

-- updated_at NULL means never changed since V3: the newest version's time or created_at applies.
-- A deleted model keeps its row (deleted_at set), so its version numbers are never reused.
ALTER TABLE registered_models ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE registered_models ADD COLUMN updated_at INTEGER;
ALTER TABLE registered_models ADD COLUMN deleted_at INTEGER;

-- stage is an MLflow stage name: None, Staging, Production or Archived.
-- source is the external artifact location of a version created through the MLflow API. It is NULL
-- for versions that Evergreen trained, whose model bundle is at artifact_key.
ALTER TABLE model_versions ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE model_versions ADD COLUMN stage TEXT NOT NULL DEFAULT 'None';
ALTER TABLE model_versions ADD COLUMN source TEXT;
ALTER TABLE model_versions ADD COLUMN updated_at INTEGER;
ALTER TABLE model_versions ADD COLUMN deleted_at INTEGER;

CREATE TABLE registered_model_tags (
  model  TEXT NOT NULL REFERENCES registered_models (name),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (model, key)
);

CREATE TABLE model_version_tags (
  model    TEXT NOT NULL,
  version  INTEGER NOT NULL,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (model, version, key),
  FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);
