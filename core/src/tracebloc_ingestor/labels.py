"""What a label may look like when it leaves the cluster."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from .stats import Tally

BUCKETS = 64


def bucket_id(value: object) -> int:
    """SHA-256 of the stripped text, first 8 bytes big-endian, modulo 64; missing is -1."""
    if value is None:
        return -1
    if isinstance(value, float) and value != value:  # NaN
        return -1
    text = str(value).strip()
    if not text:
        return -1
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def label_tally(labels: pa.Array, policy: str) -> Tally:
    """Count labels of one batch; with ``bucket`` only bucket ids are kept (a missing label is bucket -1).

    Under ``passthrough`` a row without a label (NULL) counts towards no class.
    """
    counts = pc.value_counts(labels if policy == "bucket" else pc.drop_null(labels))
    values = counts.field("values").to_pylist()
    numbers = counts.field("counts").to_pylist()
    tally: dict[str, int] = {}
    for value, n in zip(values, numbers):
        if policy == "bucket":
            key = str(bucket_id(value))
        else:
            key = "" if value is None else str(value)
        tally[key] = tally.get(key, 0) + n
    return Tally(tally)
