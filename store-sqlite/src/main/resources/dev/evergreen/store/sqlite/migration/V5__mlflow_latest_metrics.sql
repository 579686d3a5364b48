-- Indexes for MLflow run searches in SQL. latest_metrics holds the latest point of each metric of
-- each MLflow run, so that searches filter and order by metrics without reading every point. "Latest" is MLflow's rule: the highest step, then
-- the latest timestamp, then the highest value, with NaN (stored as NULL) above every number.

CREATE TABLE latest_metrics (
  run_id     TEXT NOT NULL REFERENCES tracking_runs (id),
  key        TEXT NOT NULL,
  value      REAL,
  timestamp  INTEGER NOT NULL,
  step       INTEGER NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value);

INSERT INTO latest_metrics (run_id, key, value, timestamp, step)
SELECT run_id, key, value, timestamp, step
FROM (
  SELECT run_id, key, value, timestamp, step,
    ROW_NUMBER() OVER (
      PARTITION BY run_id, key
      ORDER BY step DESC, timestamp DESC, value IS NULL DESC, value DESC
    ) AS position
  FROM run_metrics
)
WHERE position = 1;

-- Lets a search ordered by start time, the default order, stop after one page.
CREATE INDEX tracking_runs_by_experiment_start ON tracking_runs (experiment_id, start_time);
