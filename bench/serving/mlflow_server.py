"""Flask app that serves an Evergreen model in MLflow's scoring format, the reference design of
MLflow's classic scoring server (Flask under gunicorn, pandas frame, xgboost Booster.predict).

POST /invocations takes a JSON body {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
and returns {"predictions": [...]}, one probability per row. GET /ping returns 200 when the model
is loaded. Like MLflow, it builds a pandas DataFrame from the body and converts each column to the
type of the model's input signature before scoring. No authentication is checked.

Environment: EVERGREEN_HOME (the Evergreen home to read the model from), EVERGREEN_MODEL
(flights-delay). Run: gunicorn --chdir bench/serving mlflow_server:app
"""

import json
import os

import numpy as np
import pandas as pd
from flask import Flask, Response, request

from evergreen_model import EvergreenModel

MODEL = EvergreenModel(os.environ["EVERGREEN_HOME"], os.environ.get("EVERGREEN_MODEL",
                                                                    "flights-delay"))
app = Flask(__name__)


def _error(status, message):
    return Response(json.dumps({"error_code": "BAD_REQUEST", "message": message}), status=status,
                    mimetype="application/json")


@app.get("/ping")
def ping():
    return Response("\n", status=200, mimetype="application/json")


@app.post("/invocations")
def invocations():
    if request.mimetype != "application/json":
        return _error(415, f"content type {request.mimetype} is not supported; send JSON")
    try:
        split = json.loads(request.get_data())["dataframe_split"]
        frame = pd.DataFrame(data=split["data"], columns=split["columns"])
        columns = {}
        for name, numeric in MODEL.input_types.items():
            series = frame[name].astype(np.float64 if numeric else object)
            columns[name] = series.to_numpy()
        matrix = MODEL.encode(columns, len(frame))
    except (KeyError, TypeError, ValueError) as e:
        app.logger.warning("rejected an invalid dataframe_split request: %r", e)
        return _error(400, f"invalid dataframe_split request: {e!r}")
    predictions = MODEL.predict(matrix)
    return Response(json.dumps({"predictions": predictions.tolist()}), status=200,
                    mimetype="application/json")
