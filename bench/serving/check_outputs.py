"""Send each request body once to each server and check the responses before any load runs.

Every server must return 200 with one prediction per row, and the predictions of the reference
servers must equal Evergreen's to within 1e-6, so that the benchmark compares servers doing the
same work. Exits with status 1 when a check fails.

Usage: check_outputs.py --evergreen URL --mlflow URL --v2 URL --bodies FOLDER --rows 1,100
The bearer token for Evergreen is read from EVERGREEN_TOKEN.
"""

import argparse
import json
import os
import sys
import urllib.request

TOLERANCE = 1e-6


def post(url, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    for name in ("evergreen", "mlflow", "v2", "bodies"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--rows", default="1,100")
    options = parser.parse_args()
    token = os.environ["EVERGREEN_TOKEN"]
    failed = False
    for rows in (int(count) for count in options.rows.split(",")):
        with open(os.path.join(options.bodies, f"body-{rows}.json"), "rb") as file:
            v2_body = file.read()
        with open(os.path.join(options.bodies, f"mlflow-body-{rows}.json"), "rb") as file:
            mlflow_body = file.read()
        answers = {}
        status, reply = post(options.evergreen, v2_body, token)
        answers["evergreen"] = (status, reply["outputs"][0]["data"])
        status, reply = post(options.mlflow, mlflow_body)
        answers["mlflow"] = (status, reply["predictions"])
        status, reply = post(options.v2, v2_body)
        answers["v2"] = (status, reply["outputs"][0]["data"])
        reference = answers["evergreen"][1]
        for server, (status, predictions) in answers.items():
            difference = max(abs(a - b) for a, b in zip(predictions, reference))
            good = status == 200 and len(predictions) == rows and difference <= TOLERANCE
            failed |= not good
            print(f"check rows={rows} {server}: status {status}, {len(predictions)} predictions,"
                  f" max difference from Evergreen {difference:.2e}: {'ok' if good else 'FAILED'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
