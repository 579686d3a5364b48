-- MLflow tracking: experiments and the runs created through the MLflow API, with metric history,
-- params and tags. Evergreen pipeline runs stay in the runs table and are mapped, not copied.
-- Instants are INTEGER milliseconds since 1970-01-01T00:00:00Z (UTC).

-- pipeline links the experiment that shows an Evergreen pipeline's runs; NULL for others.
CREATE TABLE experiments (
  id                 INTEGER PRIMARY KEY,
  name               TEXT NOT NULL UNIQUE,
  artifact_location  TEXT NOT NULL,
  lifecycle_stage    TEXT NOT NULL,
  pipeline           TEXT UNIQUE,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);

-- MLflow puts runs created without an experiment id into experiment 0, named Default.
INSERT INTO experiments (id, name, artifact_location, lifecycle_stage, pipeline, created_at,
  updated_at) VALUES (0, 'Default', '', 'active', NULL, 0, 0);

CREATE TABLE experiment_tags (
  experiment_id  INTEGER NOT NULL REFERENCES experiments (id),
  key            TEXT NOT NULL,
  value          TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);

CREATE TABLE tracking_runs (
  seq              INTEGER PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,
  experiment_id    INTEGER NOT NULL REFERENCES experiments (id),
  name             TEXT,
  user_id          TEXT,
  status           TEXT NOT NULL,
  start_time       INTEGER,
  end_time         INTEGER,
  artifact_uri     TEXT NOT NULL,
  lifecycle_stage  TEXT NOT NULL
);
CREATE INDEX tracking_runs_by_experiment ON tracking_runs (experiment_id, seq);

-- SQLite stores NaN as NULL, so a NULL value is a logged NaN.
CREATE TABLE run_metrics (
  seq        INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES tracking_runs (id),
  key        TEXT NOT NULL,
  value      REAL,
  timestamp  INTEGER NOT NULL,
  step       INTEGER NOT NULL
);
CREATE INDEX run_metrics_by_run_key ON run_metrics (run_id, key, seq);

CREATE TABLE run_params (
  run_id  TEXT NOT NULL REFERENCES tracking_runs (id),
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE run_tags (
  run_id  TEXT NOT NULL REFERENCES tracking_runs (id),
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
