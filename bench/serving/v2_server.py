"""FastAPI app that serves an Evergreen model over the Open Inference Protocol (V2 REST), the
reference design of MLServer and KServe's Python servers (pydantic request and response models,
NumPy decoding of each input tensor, xgboost Booster.predict).

POST /v2/models/{name}/infer takes the same body as Evergreen's server and returns one FP64
output named "probability". GET /v2/health/ready returns 200 when the model is loaded. No
authentication is checked.

Environment: EVERGREEN_HOME, EVERGREEN_MODEL (flights-delay).
Run: uvicorn --app-dir bench/serving v2_server:app
"""

import os
from typing import Any, Dict, List, Optional

import numpy as np
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from evergreen_model import EvergreenModel

MODEL = EvergreenModel(os.environ["EVERGREEN_HOME"], os.environ.get("EVERGREEN_MODEL",
                                                                    "flights-delay"))
app = FastAPI()


class RequestInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    parameters: Optional[Dict[str, Any]] = None
    data: List[Any]


class InferenceRequest(BaseModel):
    id: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None
    inputs: List[RequestInput]


class ResponseOutput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: Optional[str] = None
    id: Optional[str] = None
    outputs: List[ResponseOutput]


@app.get("/v2/health/ready")
async def ready():
    return {}


def _decode(tensor):
    """Return a tensor's values as a 1-D NumPy array: float64 for FP64, object for BYTES."""
    if tensor.datatype == "BYTES":
        values = np.asarray(tensor.data, dtype=object)
    elif tensor.datatype in ("FP64", "FP32", "INT64", "INT32"):
        values = np.asarray(tensor.data, dtype=np.float64)
    else:
        raise ValueError(f"input '{tensor.name}' has unsupported datatype {tensor.datatype}")
    return values.reshape(tensor.shape)


@app.post("/v2/models/{name}/infer", response_model=InferenceResponse)
async def infer(name: str, request: InferenceRequest):
    if name != MODEL.name:
        raise HTTPException(status_code=404, detail=f"model '{name}' is not served here")
    try:
        columns = {tensor.name: _decode(tensor) for tensor in request.inputs}
        rows = min(len(columns[source]) for source in MODEL.input_types)
        matrix = MODEL.encode(columns, rows)
    except (KeyError, TypeError, ValueError) as e:
        raise HTTPException(status_code=400, detail=f"invalid inference request: {e!r}")
    predictions = MODEL.predict(matrix)
    output = ResponseOutput(name=MODEL.output_name, shape=[rows], datatype="FP64",
                            data=predictions.astype(np.float64).tolist())
    return InferenceResponse(model_name=MODEL.name, model_version=str(MODEL.version),
                             id=request.id, outputs=[output])
