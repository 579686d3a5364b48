"""Load the champion of an Evergreen model from an Evergreen home, for the Python reference servers.

Reads, without writing anything:
- metadata.db (SQLite, opened read-only): the version the alias points to and the artifact key of
  its manifest;
- the manifest (ModelBundle JSON) from artifacts/sha256/<2 hex>/<64 hex>: the XGBoost model key and
  the feature encoding;
- the XGBoost JSON model file that Evergreen serves, loaded with Python's xgboost after one
  compatibility edit (see _scalar_base_score).

The encoding repeats Evergreen's FeatureEncoding. Features come in manifest order: numeric, then
categorical, then derived. A numeric input becomes a float32, and a categorical value its index in
the training categories, or NaN when unseen or missing. hour_of_day and day_of_week are computed
from ISO 8601 text, read as UTC when it has no zone. Python's datetime.fromisoformat accepts some
forms that Evergreen rejects, such as 20010305, but no benchmark body contains them. On load the model scores the manifest's check rows and must
reproduce the scores Evergreen recorded at training time, so an encoding that drifts from
Evergreen's fails at start-up instead of serving wrong numbers.
"""

import datetime
import hashlib
import json
import math
import os
import sqlite3

import numpy as np
import xgboost as xgb

NAN = float("nan")
CHECK_TOLERANCE = 1e-5


class EvergreenModel:
    """An Evergreen model version loaded into Python's xgboost, with its input encoding."""

    def __init__(self, home, name, alias="champion"):
        self.name = name
        self.version, manifest_key = _resolve(home, name, alias)
        manifest = json.loads(_read_artifact(home, manifest_key))
        model_bytes = _read_artifact(home, manifest["modelKey"])
        digest = hashlib.sha256(model_bytes).hexdigest()
        if digest != manifest["modelSha256"]:
            raise ValueError(
                f"model file {manifest['modelKey']} has SHA-256 {digest}, "
                f"but the manifest expects {manifest['modelSha256']}")
        self.objective = manifest["objective"]
        if self.objective != "binary:logistic":
            raise ValueError(
                f"objective {self.objective} is not supported here; only binary:logistic is")
        self.output_name = "probability"
        self.features = manifest["encoding"]["features"]
        self.width = len(self.features)
        self.codes = {
            f["name"]: {value: float(code) for code, value in enumerate(f["categories"])}
            for f in self.features if f["kind"] == "categorical"
        }
        self.input_types = {}
        for f in self.features:
            self.input_types.setdefault(f["source"], f["kind"] == "numeric")
        self.booster = xgb.Booster(model_file=bytearray(_scalar_base_score(model_bytes)))
        # One thread, because each server is pinned to one core.
        self.booster.set_param({"nthread": 1})
        self._check(manifest["checkSet"])

    def encode(self, columns, rows):
        """Encode columns (input name to a sequence of values) into a (rows, width) float32
        matrix."""
        out = np.empty((rows, self.width), dtype=np.float32)
        for j, feature in enumerate(self.features):
            column = columns[feature["source"]]
            if len(column) < rows:
                raise ValueError(
                    f"input '{feature['source']}' has {len(column)} values "
                    f"but the batch has {rows} rows")
            kind = feature["kind"]
            if kind == "numeric":
                out[:, j] = np.asarray(column[:rows], dtype=np.float64)
            elif kind == "categorical":
                codes = self.codes[feature["name"]]
                out[:, j] = [codes.get(value, NAN) for value in column[:rows]]
            else:
                derive = _hour_of_day if feature["function"] == "hour_of_day" else _day_of_week
                out[:, j] = [derive(value) for value in column[:rows]]
        return out

    def predict(self, matrix):
        """Score an encoded matrix and return a float32 array of probabilities."""
        return self.booster.predict(xgb.DMatrix(matrix, missing=NAN, nthread=1))

    def _check(self, check_set):
        inputs = check_set["inputs"]
        columns = dict(inputs["numeric"])
        columns.update(inputs["text"])
        scores = self.predict(self.encode(columns, inputs["rows"]))
        expected = np.asarray(check_set["expected"], dtype=np.float64)
        if scores.shape != expected.shape:
            raise ValueError(
                f"check rows gave {scores.shape} scores, the manifest expects {expected.shape}")
        worst = float(np.max(np.abs(scores - expected)))
        if not worst <= CHECK_TOLERANCE:
            raise ValueError(
                f"Python's xgboost {xgb.__version__} scores the check rows up to {worst} away "
                f"from the scores recorded at training time; the model or encoding differs")
        self.check_difference = worst


def _resolve(home, name, alias):
    uri = "file:" + os.path.join(home, "metadata.db") + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        row = db.execute(
            "SELECT v.version, v.artifact_key FROM aliases a JOIN model_versions v"
            " ON v.model = a.model AND v.version = a.version"
            " WHERE a.model = ? AND a.alias = ?", (name, alias)).fetchone()
    if row is None:
        raise ValueError(f"model '{name}' has no alias '{alias}' in {home}/metadata.db")
    return row[0], row[1]


def _read_artifact(home, key):
    digest = key.removeprefix("sha256/")
    with open(os.path.join(home, "artifacts", "sha256", digest[:2], digest), "rb") as file:
        return file.read()


def _scalar_base_score(model_bytes):
    """Return the JSON model with base_score written as a scalar.

    XGBoost 3.x writes base_score as a one-element vector such as "[2.0504834E-1]". XGBoost 1.7.4
    loads such a file without an error but then scores with a base score of 0.5, so every margin is
    off by logit(base_score). The trees are left as they are.
    """
    model = json.loads(model_bytes)
    parameters = model["learner"]["learner_model_param"]
    base_score = parameters["base_score"]
    if base_score.startswith("["):
        values = base_score.strip("[]").split(",")
        if len(values) != 1:
            raise ValueError(f"base_score {base_score} has more than one value")
        parameters["base_score"] = values[0].strip()
    return json.dumps(model).encode("utf-8")


def _epoch_second(value):
    """Return seconds since 1970-01-01T00:00:00Z, reading text without a zone as UTC."""
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return math.floor(moment.timestamp())


def _hour_of_day(value):
    if value is None:
        return NAN
    return (_epoch_second(value) % 86_400) // 3_600


def _day_of_week(value):
    """Return the ISO day of week in UTC, 1 = Monday to 7 = Sunday."""
    if value is None:
        return NAN
    # 1970-01-01 was a Thursday, ISO day 4.
    return (_epoch_second(value) // 86_400 + 3) % 7 + 1
