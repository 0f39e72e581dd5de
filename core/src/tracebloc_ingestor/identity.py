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
import tempfile
import uuid
from typing import Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FIELD_SEP = "\x1f"
_NULL = "\x00"


def _as_text(arr: pa.Array) -> pa.Array:
    """The column as ``string`` (or ``large_binary`` for bytes), whatever type a reader gave it."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_nested(t):
        # no Arrow cast to text exists for lists and structs; their Python form is stable
        return pa.array([None if v is None else repr(v) for v in arr.to_pylist()], pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return pc.cast(arr, pa.large_binary())
    return arr if pa.types.is_string(t) else pc.cast(arr, pa.string())


def canonical_rows(batch: pa.RecordBatch, columns: Sequence[str]) -> list[bytes]:
    """One byte string per row: the named columns' text joined with a unit separator.

    Every column is taken as text of one Arrow type first, so that columns of Arrow's
    other string types (``large_string`` from pandas 3 and polars, views, dictionaries)
    give the same row as plain ``string`` would; bytes columns join as bytes.
    """
    parts = []
    for name in columns:
        arr = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, pa.string())
        parts.append(_as_text(arr))
    if not parts:
        return [b""] * batch.num_rows
    if all(pa.types.is_string(p.type) for p in parts):
        joined = pc.binary_join_element_wise(*parts, _FIELD_SEP, null_handling="replace", null_replacement=_NULL)
        return pc.cast(joined, pa.binary()).to_pylist()
    parts = [pc.cast(p, pa.large_binary()) for p in parts]
    separator = pa.scalar(_FIELD_SEP.encode(), pa.large_binary())
    joined = pc.binary_join_element_wise(*parts, separator, null_handling="replace", null_replacement=_NULL)
    return joined.to_pylist()


def content_digests(salt: bytes, header: Sequence[str], rows: list[bytes]) -> list[bytes]:
    prefix = salt + _FIELD_SEP.join(header).encode() + b"\x1d"
    sha256 = hashlib.sha256
    return [sha256(prefix + row).digest() for row in rows]


def prefixes(digests: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(d[:8] for d in digests), dtype=">u8").astype(np.uint64) if digests else np.empty(0, np.uint64)


# Prefixes are kept in memory up to this many records, then spilled to bucket files on disk.
_SPILL_ROWS = 1_000_000
_BUCKET_BITS = 4


_PAIR = np.dtype([("p", "<u8"), ("r", "<i8")])
# At most this many (repeat, first) row pairs are kept for messages; all are counted.
MAX_DUPLICATE_PAIRS = 100_000


@attrs.define
class RepeatTracker:
    """Finds repeated content across the whole input in bounded, compact memory.

    Up to ``_SPILL_ROWS`` records the 8-byte prefixes stay in memory; beyond that they are
    appended to 16 temporary files by their top bits, so that finding repeats at the end
    sorts one sixteenth of them at a time (10M records: 5 MB per bucket instead of 80 MB).
    With ``with_rows`` each prefix keeps its record number, so that :attr:`duplicates`
    can say which row repeats which (for an id column, where a repeat is an error).
    """

    parts: list = attrs.field(factory=list)
    repeated: np.ndarray | None = None
    repeats: int = 0
    seen: dict = attrs.field(factory=dict)
    spill_rows: int = _SPILL_ROWS
    with_rows: bool = False
    #: (row, row of the first record with the same value) per repeat, once closed (capped)
    duplicates: list = attrs.field(factory=list)
    _held: int = 0
    _buckets: list | None = None

    def observe(self, digests: list[bytes], rows: np.ndarray | None = None) -> None:
        values = prefixes(digests)
        if self.with_rows:
            pairs = np.empty(len(values), _PAIR)
            pairs["p"], pairs["r"] = values, rows
            values = pairs
        self._add(values)

    def _keys(self, values: np.ndarray) -> np.ndarray:
        return values["p"] if self.with_rows else values

    def _add(self, values: np.ndarray) -> None:
        if self._buckets is None:
            self.parts.append(values)
            self._held += len(values)
            if self._held > self.spill_rows and self._spill():
                pending, self.parts = self.parts, []
                for part in pending:
                    self._to_buckets(part)
            return
        self._to_buckets(values)

    def _spill(self) -> bool:
        try:
            self._buckets = [tempfile.TemporaryFile(prefix="tb_ids_") for _ in range(1 << _BUCKET_BITS)]
        except OSError:  # no temporary folder: stay in memory
            self.spill_rows = 1 << 62
            return False
        return True

    def _to_buckets(self, values: np.ndarray) -> None:
        values = values[np.argsort(self._keys(values), kind="stable")]
        top = (self._keys(values) >> np.uint64(64 - _BUCKET_BITS)).astype(np.int64)
        bounds = np.searchsorted(top, np.arange((1 << _BUCKET_BITS) + 1))
        for k, fh in enumerate(self._buckets):
            if bounds[k + 1] > bounds[k]:
                fh.write(values[bounds[k] : bounds[k + 1]].tobytes())

    def close(self) -> None:
        repeated, repeats = [], 0
        if self._buckets is None:
            groups = [np.concatenate(self.parts)] if self.parts else []
        else:
            groups = self._bucket_arrays()
        self.parts = []
        for values in groups:
            if self.with_rows:
                values = values[np.lexsort((values["r"], values["p"]))]
            else:
                values.sort()
            keys = self._keys(values)
            same = keys[1:] == keys[:-1]
            found = int(same.sum())
            if found:
                repeats += found
                repeated.append(np.unique(keys[1:][same]))
                if self.with_rows:
                    self._pairs(values, same)
            del values, same
        self.repeated = np.concatenate(repeated) if repeated else np.empty(0, np.uint64)
        self.repeats = repeats
        self.discard()

    def _pairs(self, values: np.ndarray, same: np.ndarray) -> None:
        """Record (row, first row of its value) for every repeat in one sorted group."""
        room = MAX_DUPLICATE_PAIRS - len(self.duplicates)
        if room <= 0:
            return
        index = np.arange(len(values))
        starts = np.maximum.accumulate(np.where(np.concatenate(([False], same)), 0, index))
        repeat = np.flatnonzero(np.concatenate(([False], same)))[:room]
        rows = values["r"]
        self.duplicates.extend(zip(rows[repeat].tolist(), rows[starts[repeat]].tolist()))

    def _bucket_arrays(self):
        for fh in self._buckets or ():
            fh.seek(0)
            yield np.frombuffer(bytearray(fh.read()), dtype=_PAIR if self.with_rows else np.uint64)

    def discard(self) -> None:
        for fh in self._buckets or ():
            fh.close()
        self._buckets = None
        self.parts = []

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


_HEX = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint16)


def ids_from_digests(digests: list[bytes], occurrences: list[int]) -> pa.Array:
    """The data_id strings (64 hex digits) as one Arrow array, built without a per-row loop."""
    n = len(digests)
    if n == 0:
        return pa.array([], pa.string())
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8)
    text = _HEX[raw].tobytes()
    offsets = np.arange(0, 64 * n + 1, 64, dtype=np.int32)
    ids = pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text))
    later = [i for i, k in enumerate(occurrences) if k]
    if later:
        values = ids.to_pylist()
        for i in later:
            values[i] = hashlib.sha256(digests[i] + b"#" + str(occurrences[i]).encode()).hexdigest()
        ids = pa.array(values, pa.string())
    return ids


class DigestCache:
    """The validation pass's digests, kept in an anonymous temporary file for the write pass.

    The write pass reads the same source in the same batches; each batch is matched by its
    first record number and size, and any mismatch (or no temporary folder) falls back to
    hashing again, so the cache can only save time, never change an id.
    """

    def __init__(self) -> None:
        self._file = None
        self._marks: list[tuple[int, int, int]] = []  # (first record, rows, byte offset)
        self._next = 0
        self._broken = False
        self._size = 0

    def put(self, first: int, digests: list[bytes]) -> None:
        if self._broken:
            return
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="tb_digests_")
            self._file.write(b"".join(digests))
        except OSError:
            self.close()
            self._broken = True
            return
        self._marks.append((first, len(digests), self._size))
        self._size += 32 * len(digests)

    def get(self, first: int, rows: int) -> list[bytes] | None:
        if self._broken or self._file is None or self._next >= len(self._marks):
            return None
        mark_first, mark_rows, offset = self._marks[self._next]
        if (mark_first, mark_rows) != (first, rows):
            self._broken = True
            return None
        self._next += 1
        self._file.seek(offset)
        blob = self._file.read(32 * rows)
        return [blob[i : i + 32] for i in range(0, len(blob), 32)]

    def rewind(self) -> None:
        """Serve the cached batches again from the first (another pass over the same input)."""
        self._next = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def id_fingerprint(ids: pa.Array) -> tuple[int, int]:
    """(count, exact sum of the first 64 bits) of 64-hex-digit ids; the database computes the same."""
    values = ids.to_pylist()
    return len(values), sum(int(value[:16], 16) for value in values)


def random_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]
