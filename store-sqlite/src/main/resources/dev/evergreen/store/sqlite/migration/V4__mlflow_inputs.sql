-- MLflow dataset inputs of runs (runs/log-inputs). As in MLflow, a dataset belongs to an
-- experiment and is identified there by name and digest; the runs that log it share one row.

CREATE TABLE datasets (
  id             INTEGER PRIMARY KEY,
  experiment_id  INTEGER NOT NULL REFERENCES experiments (id),
  name           TEXT NOT NULL,
  digest         TEXT NOT NULL,
  source_type    TEXT NOT NULL,
  source         TEXT NOT NULL,
  schema         TEXT,
  profile        TEXT,
  UNIQUE (experiment_id, name, digest)
);

-- seq orders a run's inputs by the time they were first logged.
CREATE TABLE run_inputs (
  seq         INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES tracking_runs (id),
  dataset_id  INTEGER NOT NULL REFERENCES datasets (id),
  UNIQUE (run_id, dataset_id)
);

CREATE TABLE run_input_tags (
  input_seq  INTEGER NOT NULL REFERENCES run_inputs (seq),
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (input_seq, key)
);
