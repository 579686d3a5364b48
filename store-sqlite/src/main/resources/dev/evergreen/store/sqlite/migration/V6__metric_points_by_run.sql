-- Logging a batch of metrics with many distinct keys was slow because the index on
-- (run_id, key, seq) places the new point of each key on its own index page: a log-batch of 500
-- keys dirtied about 500 pages, all written and synced at commit. Points are now indexed by run
-- only, and within a run by seq (the rowid), so a batch appends to a few adjacent pages. Runs and
-- searches read the latest value of each metric from latest_metrics; only metrics/get-history
-- reads points, and it filters the run's points by key.
DROP INDEX run_metrics_by_run_key;
CREATE INDEX run_metrics_by_run ON run_metrics (run_id);
