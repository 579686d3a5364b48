"""Tests of the Python copy of Evergreen's feature encoding and of the model-file edit.

Run: /usr/bin/python3 -m unittest discover -s bench/serving
"""

import json
import math
import unittest

import numpy as np

import evergreen_model
from evergreen_model import EvergreenModel


def bare_model(features):
    """Return an EvergreenModel with only an encoding, without reading a home."""
    model = EvergreenModel.__new__(EvergreenModel)
    model.features = features
    model.width = len(features)
    model.codes = {
        f["name"]: {value: float(code) for code, value in enumerate(f["categories"])}
        for f in features if f["kind"] == "categorical"
    }
    return model


FEATURES = [
    {"name": "distance", "kind": "numeric", "source": "distance"},
    {"name": "origin", "kind": "categorical", "source": "origin", "categories": ["ATL", "SFO"]},
    {"name": "hour", "kind": "derived", "source": "date", "function": "hour_of_day"},
    {"name": "day_of_week", "kind": "derived", "source": "date", "function": "day_of_week"},
]


class EncodeTest(unittest.TestCase):
    def test_encode_orders_features_like_manifest(self):
        matrix = bare_model(FEATURES).encode(
            {"distance": [2419.0], "origin": ["SFO"], "date": ["2001-03-01T07:30:00"]}, 1)
        # 2001-03-01 was a Thursday, ISO day 4.
        np.testing.assert_array_equal(matrix, np.array([[2419.0, 1.0, 7.0, 4.0]], np.float32))

    def test_encode_unseen_category_is_nan(self):
        matrix = bare_model(FEATURES).encode(
            {"distance": [1.0], "origin": ["XXX"], "date": ["2001-03-01"]}, 1)
        self.assertTrue(math.isnan(matrix[0, 1]))

    def test_encode_missing_values_are_nan(self):
        matrix = bare_model(FEATURES).encode(
            {"distance": [float("nan")], "origin": [None], "date": [None]}, 1)
        self.assertTrue(np.isnan(matrix).all())

    def test_encode_short_column_raises(self):
        with self.assertRaises(ValueError):
            bare_model(FEATURES).encode(
                {"distance": [1.0], "origin": ["ATL", "SFO"], "date": ["2001-03-01"] * 2}, 2)


class TimestampTest(unittest.TestCase):
    def test_text_without_zone_is_utc(self):
        self.assertEqual(evergreen_model._hour_of_day("2001-01-31T23:59:59"), 23)

    def test_offset_converts_to_utc(self):
        # 01:00 at +02:00 is 23:00 UTC on the day before, a Sunday.
        self.assertEqual(evergreen_model._hour_of_day("2001-03-05T01:00:00+02:00"), 23)
        self.assertEqual(evergreen_model._day_of_week("2001-03-05T01:00:00+02:00"), 7)

    def test_zulu_and_fraction(self):
        self.assertEqual(evergreen_model._hour_of_day("2001-03-05T06:15:00.123456789Z"), 6)

    def test_date_only_is_midnight(self):
        self.assertEqual(evergreen_model._hour_of_day("2001-03-05"), 0)
        self.assertEqual(evergreen_model._day_of_week("2001-03-05"), 1)


class BaseScoreTest(unittest.TestCase):
    def model_json(self, base_score):
        return json.dumps({"learner": {"learner_model_param": {"base_score": base_score}}}).encode()

    def test_vector_base_score_becomes_scalar(self):
        edited = json.loads(evergreen_model._scalar_base_score(self.model_json("[2.0504834E-1]")))
        self.assertEqual(edited["learner"]["learner_model_param"]["base_score"], "2.0504834E-1")

    def test_scalar_base_score_is_kept(self):
        edited = json.loads(evergreen_model._scalar_base_score(self.model_json("5E-1")))
        self.assertEqual(edited["learner"]["learner_model_param"]["base_score"], "5E-1")

    def test_multi_value_base_score_raises(self):
        with self.assertRaises(ValueError):
            evergreen_model._scalar_base_score(self.model_json("[1E-1,2E-1]"))


if __name__ == "__main__":
    unittest.main()
