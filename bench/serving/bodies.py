"""Write MLflow dataframe_split bodies with the same rows as the V2 request bodies.

Usage: bodies.py FOLDER  (reads FOLDER/body-<n>.json, writes FOLDER/mlflow-body-<n>.json)
"""

import glob
import json
import os
import sys


def main(folder):
    for path in sorted(glob.glob(os.path.join(folder, "body-*.json"))):
        with open(path, encoding="utf-8") as file:
            tensors = json.load(file)["inputs"]
        columns = [tensor["name"] for tensor in tensors]
        rows = [list(values) for values in zip(*(tensor["data"] for tensor in tensors))]
        out = os.path.join(folder, "mlflow-" + os.path.basename(path))
        with open(out, "w", encoding="utf-8") as file:
            json.dump({"dataframe_split": {"columns": columns, "data": rows}}, file,
                      separators=(",", ":"))
        print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
