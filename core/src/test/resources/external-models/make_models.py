"""Train small models on flights-sample.csv and write them with the rows and scores to check.

Run from this folder with Debian 12's python3-xgboost (1.7.4), python3-onnx (1.12),
python3-sklearn (1.2) and python3-numpy:  python3 make_models.py
"""

import csv
import datetime
import json

import numpy as np
import onnx
import xgboost
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

FEATURES = ["distance", "hour", "day_of_week", "day_of_month"]
CHECK_ROWS = 20
AIRPORTS = ["ATL", "BOS", "DFW", "EWR", "LAX", "ORD", "SFO"]


def load_rows():
    """Return features, labels and origins. A flight is late when it arrives over 15 min late."""
    features, labels, origins = [], [], []
    with open("flights-sample.csv", newline="") as file:
        for row in csv.DictReader(file):
            date = datetime.datetime.fromisoformat(row["date"])
            features.append(
                [float(row["distance"]), date.hour, date.weekday(), date.day]
            )
            labels.append(1 if int(row["delay"]) > 15 else 0)
            origins.append(row["origin"])
    return np.array(features, dtype=np.float32), np.array(labels), origins


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, name)


def write_xgboost(x, y, check):
    dtrain = xgboost.DMatrix(x, label=y, feature_names=FEATURES)
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 7}
    booster = xgboost.train(params, dtrain, num_boost_round=20)
    booster.save_model("flights-xgboost.json")
    booster.save_model("flights-xgboost.ubj")
    scores = booster.predict(xgboost.DMatrix(check, feature_names=FEATURES))
    return [float(s) for s in scores]


def logistic_graph(model, elem, numpy_type, name):
    """Build MatMul + Add + Sigmoid, then [1 - p, p] as the 'probabilities' output."""
    weights = model.coef_.T.astype(numpy_type)
    bias = model.intercept_.astype(numpy_type)
    nodes = [
        helper.make_node("MatMul", ["features", "weights"], ["margin0"]),
        helper.make_node("Add", ["margin0", "bias"], ["margin"]),
        helper.make_node("Sigmoid", ["margin"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1),
    ]
    initializers = [
        helper.make_tensor("weights", elem, weights.shape, weights.flatten().tolist()),
        helper.make_tensor("bias", elem, bias.shape, bias.tolist()),
        helper.make_tensor("one", elem, [1], [1.0]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("features", elem, ["N", len(FEATURES)])],
        [helper.make_tensor_value_info("probabilities", elem, ["N", 2])],
        initializers,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="make_models.py"
    )


def write_logistic(x, y, check):
    model = LogisticRegression(max_iter=1000).fit(x.astype(np.float64), y)
    save(logistic_graph(model, TensorProto.FLOAT, np.float32, "logistic32"), "flights-logistic-fp32.onnx")
    save(logistic_graph(model, TensorProto.DOUBLE, np.float64, "logistic64"), "flights-logistic-fp64.onnx")
    scores = model.predict_proba(check.astype(np.float64))
    return [[float(a), float(b)] for a, b in scores]


def tree_nodes(tree):
    """Flatten a fitted sklearn tree into TreeEnsembleClassifier attributes."""
    t = tree.tree_
    attributes = {
        "nodes_treeids": [],
        "nodes_nodeids": [],
        "nodes_featureids": [],
        "nodes_values": [],
        "nodes_modes": [],
        "nodes_truenodeids": [],
        "nodes_falsenodeids": [],
        "nodes_missing_value_tracks_true": [],
        "class_treeids": [],
        "class_nodeids": [],
        "class_ids": [],
        "class_weights": [],
    }
    for node in range(t.node_count):
        leaf = t.children_left[node] == -1
        attributes["nodes_treeids"].append(0)
        attributes["nodes_nodeids"].append(node)
        attributes["nodes_featureids"].append(0 if leaf else int(t.feature[node]))
        attributes["nodes_values"].append(0.0 if leaf else float(t.threshold[node]))
        attributes["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
        attributes["nodes_truenodeids"].append(0 if leaf else int(t.children_left[node]))
        attributes["nodes_falsenodeids"].append(0 if leaf else int(t.children_right[node]))
        attributes["nodes_missing_value_tracks_true"].append(0)
        if leaf:
            counts = t.value[node][0]
            for class_id, share in enumerate(counts / counts.sum()):
                attributes["class_treeids"].append(0)
                attributes["class_nodeids"].append(node)
                attributes["class_ids"].append(class_id)
                attributes["class_weights"].append(float(share))
    return attributes


def tree_graph(tree, zipmap):
    """Cast INT64, INT32 and BOOL inputs to float, concatenate them and score the tree."""
    inputs = [
        helper.make_tensor_value_info("distance", TensorProto.FLOAT, ["N", 1]),
        helper.make_tensor_value_info("hour", TensorProto.INT64, ["N", 1]),
        helper.make_tensor_value_info("day_of_week", TensorProto.INT32, ["N", 1]),
        helper.make_tensor_value_info("weekend", TensorProto.BOOL, ["N", 1]),
    ]
    nodes = [
        helper.make_node("Cast", ["hour"], ["hour_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["day_of_week"], ["day_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["weekend"], ["weekend_f"], to=TensorProto.FLOAT),
        helper.make_node(
            "Concat", ["distance", "hour_f", "day_f", "weekend_f"], ["x"], axis=1
        ),
        helper.make_node(
            "TreeEnsembleClassifier",
            ["x"],
            ["label", "probabilities"],
            domain="ai.onnx.ml",
            classlabels_int64s=[0, 1],
            post_transform="NONE",
            **tree_nodes(tree),
        ),
    ]
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])
    if zipmap:
        nodes.append(
            helper.make_node(
                "ZipMap",
                ["probabilities"],
                ["probability_maps"],
                domain="ai.onnx.ml",
                classlabels_int64s=[0, 1],
            )
        )
        # onnx 1.12's helper has no make_map_type_proto, so the map type is built by hand.
        map_type = onnx.TypeProto()
        map_type.map_type.key_type = TensorProto.INT64
        map_type.map_type.value_type.CopyFrom(
            helper.make_tensor_type_proto(TensorProto.FLOAT, [])
        )
        outputs = [
            label,
            helper.make_value_info(
                "probability_maps", helper.make_sequence_type_proto(map_type)
            ),
        ]
    else:
        outputs = [
            label,
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
        ]
    graph = helper.make_graph(nodes, "tree", inputs, outputs)
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 1)],
        producer_name="make_models.py",
    )


def tree_features(x):
    weekend = (x[:, 2] >= 5).astype(np.float32)
    return np.column_stack([x[:, 0], x[:, 1], x[:, 2], weekend]).astype(np.float32)


def write_tree(x, y, check):
    tree = DecisionTreeClassifier(max_depth=5, random_state=7).fit(tree_features(x), y)
    save(tree_graph(tree, zipmap=False), "flights-tree.onnx")
    save(tree_graph(tree, zipmap=True), "flights-tree-zipmap.onnx")
    scores = tree.predict_proba(tree_features(check))
    return [[float(a), float(b)] for a, b in scores]


def write_origin_rates(y, origins):
    """Map an airport code (string input) to its share of late flights with LabelEncoder."""
    rates = []
    for airport in AIRPORTS:
        late = [label for label, origin in zip(y, origins) if origin == airport]
        rates.append(float(np.float32(sum(late) / len(late))))
    nodes = [
        helper.make_node(
            "LabelEncoder",
            ["origin"],
            ["late_rate"],
            domain="ai.onnx.ml",
            keys_strings=AIRPORTS,
            values_floats=rates,
            default_float=-1.0,
        )
    ]
    graph = helper.make_graph(
        nodes,
        "origin_rates",
        [helper.make_tensor_value_info("origin", TensorProto.STRING, ["N"])],
        [helper.make_tensor_value_info("late_rate", TensorProto.FLOAT, ["N"])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 2)],
        producer_name="make_models.py",
    )
    save(model, "origin-late-rate.onnx")
    lookup = dict(zip(AIRPORTS, rates))
    check = AIRPORTS + ["XXX"]
    return check, [lookup.get(airport, -1.0) for airport in check]


def main():
    x, y, origins = load_rows()
    held_out = np.zeros(len(y), dtype=bool)
    held_out[np.random.default_rng(7).choice(len(y), CHECK_ROWS, replace=False)] = True
    check = x[held_out]
    train_x, train_y = x[~held_out], y[~held_out]
    train_origins = [origin for origin, held in zip(origins, held_out) if not held]
    check_origins, origin_scores = write_origin_rates(train_y, train_origins)
    expected = {
        "features": FEATURES,
        "rows": check.tolist(),
        "weekend": (check[:, 2] >= 5).astype(int).tolist(),
        "xgboost": write_xgboost(train_x, train_y, check),
        "logistic": write_logistic(train_x, train_y, check),
        "tree": write_tree(train_x, train_y, check),
        "origins": check_origins,
        "origin_late_rate": origin_scores,
    }
    with open("expected.json", "w") as file:
        json.dump(expected, file)
        file.write("\n")


if __name__ == "__main__":
    main()
