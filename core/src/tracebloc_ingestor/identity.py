"""Record identity (``data_id``): content hashes, id columns and random ids.

``content_hash`` (the default) makes re-runs idempotent: the id is a salted SHA-256
of the record's source cells, so the same input always gets the same ids. Identical
records are distinct samples, so the k-th repeat of the same content gets its own id
derived from the first one and k. Finding repeats without holding every hash in a
dictionary: the validation pass keeps an 8-byte prefix per record in a NumPy array,
and only records whose prefix occurs more than once are counted in the write pass.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FIELD_SEP = "\x1f"
_NULL = "\x00"


def canonical_rows(batch: pa.RecordBatch, columns: Sequence[str]) -> list[bytes]:
    """One byte string per row: the named columns' text joined with a unit separator."""
    parts = []
    for name in columns:
        arr = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, pa.string())
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        parts.append(arr)
    if not parts:
        return [b""] * batch.num_rows
    joined = pc.binary_join_element_wise(*parts, _FIELD_SEP, null_handling="replace", null_replacement=_NULL)
    return pc.cast(joined, pa.binary()).to_pylist()


def content_digests(salt: bytes, header: Sequence[str], rows: list[bytes]) -> list[bytes]:
    prefix = hashlib.sha256(salt + _FIELD_SEP.join(header).encode() + b"\x1d")
    out = []
    for row in rows:
        h = prefix.copy()
        h.update(row)
        out.append(h.digest())
    return out


def prefixes(digests: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(d[:8] for d in digests), dtype=">u8").astype(np.uint64) if digests else np.empty(0, np.uint64)


@attrs.define
class RepeatTracker:
    """Finds repeated content across the whole input in bounded, compact memory."""

    parts: list = attrs.field(factory=list)
    repeated: np.ndarray | None = None
    repeats: int = 0
    seen: dict = attrs.field(factory=dict)

    def observe(self, digests: list[bytes]) -> None:
        self.parts.append(prefixes(digests))

    def close(self) -> None:
        allp = np.concatenate(self.parts) if self.parts else np.empty(0, np.uint64)
        self.parts = []
        values, counts = np.unique(allp, return_counts=True)
        self.repeated = values[counts > 1]
        self.repeats = int((counts[counts > 1] - 1).sum())

    def occurrences(self, digests: list[bytes]) -> list[int]:
        """For each digest, how many times the same content came before it (write pass)."""
        if self.repeated is None or self.repeated.size == 0:
            return [0] * len(digests)
        maybe = np.isin(prefixes(digests), self.repeated)
        out = [0] * len(digests)
        for i in np.flatnonzero(maybe):
            d = digests[i]
            k = self.seen.get(d, 0)
            out[i] = k
            self.seen[d] = k + 1
        return out


def ids_from_digests(digests: list[bytes], occurrences: list[int]) -> list[str]:
    out = []
    for d, k in zip(digests, occurrences):
        out.append(d.hex() if k == 0 else hashlib.sha256(d + b"#" + str(k).encode()).hexdigest())
    return out


def random_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]
