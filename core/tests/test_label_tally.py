"""Label counts for the registration: a row without a label is no class; a missing bucket is -1."""

import pyarrow as pa

from tracebloc_ingestor.api import bucket_id
from tracebloc_ingestor.labels import label_tally


def test_a_null_label_counts_towards_no_class_under_passthrough():
    labels = pa.array(["a", None, "b", "a", None], pa.string())
    assert label_tally(labels, "passthrough").to_json() == {"a": 2, "b": 1}


def test_a_missing_label_is_bucket_minus_one_under_bucket():
    labels = pa.array(["a", None, "a"], pa.string())
    assert label_tally(labels, "bucket").to_json() == {str(bucket_id("a")): 2, "-1": 1}
