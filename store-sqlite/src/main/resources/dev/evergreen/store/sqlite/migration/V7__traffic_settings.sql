-- Traffic settings of each model that a server restores when it starts: the running canary, the
-- running shadow and dynamic batching. Specs are JSON of the api records CanarySpec, ShadowSpec and
-- BatchingSpec with their defaults filled in. A NULL version and spec mean the slot is empty, and
-- a row whose slots are all empty is deleted.
CREATE TABLE traffic_settings (
  model           TEXT PRIMARY KEY,
  canary_version  INTEGER,
  canary_json     TEXT,
  shadow_version  INTEGER,
  shadow_json     TEXT,
  batching_json   TEXT
);
