"""Shards: which records of the input one process of a scaled-out run takes.

A scaled-out run is split into ``count`` shards (the pods of a Kubernetes Indexed Job,
or processes started with ``--shard INDEX/COUNT``). Every shard reads the whole input
and keeps the records whose key hashes to its index, so every record is in exactly one
shard whatever the count:

* by default the key is the record's content identity, the digest its ``data_id`` is
  made from (with ``data_id: column`` the id value): identical records, and equal id
  values, fall into one shard, where repeats are numbered and duplicates found as in one
  process;
* a category may give its own key (:meth:`~tracebloc_ingestor.categories.Category.shard_key`):
  a file-bearing category the stored name of the record's file, so one file is checked
  and stored by one shard only.

The selection is made right after discovery; everything downstream (validation,
progress, transforms, loads, statistics) sees only the shard's records. Before the other
records are dropped the category may note what rules across the whole input need
(:meth:`~tracebloc_ingestor.categories.Category.note_all_shards`: the flat folder's names).
The validation pass keeps the shard's records in a temporary Arrow file (compressed where
pyarrow can), and the write pass reads them back from there instead of reading and
selecting the whole input again; where that file cannot be written (no space), which rows
each batch keeps is remembered instead (a bit a row), and the write pass reads the input
again and selects them without hashing.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from typing import TYPE_CHECKING, Iterable, Iterator

import attrs
import numpy as np
import pyarrow as pa

from .batches import HOST_PREFIX, ROW, set_column
from .identity import BatchBlobs

if TYPE_CHECKING:  # pragma: no cover
    from .builtins import RecordIdentity
    from .context import RunContext

__all__ = ["DIGEST", "Shard", "ShardFilter", "digest_shards", "key_shards", "shard_suffix"]

log = logging.getLogger("tracebloc_ingestor")

#: the host column that carries each kept record's content digest on to its record identity
DIGEST = HOST_PREFIX + "digest"


@attrs.frozen
class Shard:
    """Shard ``index`` (counted from 0, as ``JOB_COMPLETION_INDEX`` is) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


def shard_suffix(shard: "Shard | tuple[int, int] | None") -> str:
    """What tells a shard's local files from another's (rejects and data report): ``.shard-2-of-4``."""
    if shard is None:
        return ""
    index, count = (shard.index, shard.count) if isinstance(shard, Shard) else shard
    return f".shard-{index}-of-{count}"


def digest_shards(digests: list[bytes], count: int) -> np.ndarray:
    """The shard of each content digest: its first 64 bits, big-endian, modulo ``count``."""
    if not digests:
        return np.zeros(0, dtype=np.int64)
    words = np.frombuffer(b"".join(d[:8] for d in digests), dtype=">u8")
    return (words % np.uint64(count)).astype(np.int64)


def key_shards(keys: Iterable[str], count: int) -> np.ndarray:
    """The shard of each key: the first 64 bits of its BLAKE2b hash (UTF-8), modulo ``count``.

    A stable hash (never Python's ``hash``, which changes from process to process).
    """
    hashed = b"".join(hashlib.blake2b(k.encode("utf-8", "surrogatepass"), digest_size=8).digest() for k in keys)
    if not hashed:
        return np.zeros(0, dtype=np.int64)
    return (np.frombuffer(hashed, dtype=">u8") % np.uint64(count)).astype(np.int64)


class _MaskCache(BatchBlobs):
    """Which rows of each batch the validation pass kept, for the write pass (one bit a row, in a temporary file)."""

    prefix = "tb_shard_"

    def put(self, first: int, mine: np.ndarray) -> None:
        self.put_blob(first, len(mine), np.packbits(mine).tobytes())

    def get(self, first: int, rows: int) -> np.ndarray | None:
        blob = self.get_blob(first, rows)
        if blob is None:
            return None
        return np.unpackbits(np.frombuffer(blob, dtype=np.uint8), count=rows).astype(bool)


class _Spill:
    """This shard's records as the validation pass kept them, in a temporary Arrow IPC stream."""

    def __init__(self) -> None:
        self._file = None
        self._writer = None
        self._schema: pa.Schema | None = None
        self.broken = False
        self.complete = False

    def put(self, batch: pa.RecordBatch) -> None:
        if self.broken:
            return
        try:
            if self._writer is None:
                self._file = tempfile.TemporaryFile(prefix="tb_shard_rows_")
                codec = next((c for c in ("zstd", "lz4") if pa.Codec.is_available(c)), None)
                self._writer = pa.ipc.new_stream(self._file, batch.schema, options=pa.ipc.IpcWriteOptions(compression=codec))
                self._schema = batch.schema
            if not batch.schema.equals(self._schema, check_metadata=False):
                raise ValueError("the batches' columns differ")
            self._writer.write_batch(batch)
        except (OSError, ValueError, pa.ArrowException) as exc:
            log.info("the shard's records are read again in the write pass (%s)", type(exc).__name__)
            self.close()
            self.broken = True

    def seal(self) -> None:
        """Every batch of the validation pass is in: the stream can be read back."""
        if self._writer is not None and not self.broken:
            try:
                self._writer.close()
                self.complete = True
            except (OSError, pa.ArrowException):
                self.close()
                self.broken = True

    def replay(self) -> Iterator[pa.RecordBatch]:
        self._file.seek(0)
        yield from pa.ipc.open_stream(self._file)

    def close(self) -> None:
        self.complete = False
        if self._file is not None:
            self._file.close()
            self._file = None
        self._writer = None


class ShardFilter:
    """Keeps this shard's records of each discovered batch (see the module's docstring)."""

    def __init__(self, shard: Shard, category, identity: "RecordIdentity") -> None:
        self.shard = shard
        self.category = category
        self.identity = identity
        self._masks = _MaskCache()
        self._spill = _Spill()
        self._pass = 0
        self.kept = 0
        self.seen = 0

    def close(self) -> None:
        self._masks.close()
        self._spill.close()

    @property
    def replayable(self) -> bool:
        """Whether the next pass can read this shard's records back instead of the input."""
        return self._spill.complete

    def replay(self) -> Iterator[pa.RecordBatch]:
        """This shard's records again, as the validation pass kept them (see :attr:`replayable`)."""
        self._pass += 1
        yield from self._spill.replay()

    def __call__(self, ctx: "RunContext", batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """This shard's part of every batch (a batch may keep no row: it is still passed on, empty)."""
        validating = ctx.phase == "validate"
        self._pass += 1
        first_pass = self._pass == 1
        if not first_pass:
            self._masks.rewind()
        for batch in batches:
            kept = self.select(ctx, batch, validating=validating)
            if first_pass:
                self._spill.put(kept)
            yield kept
        if first_pass:
            self._spill.seal()

    def select(self, ctx: "RunContext", batch: pa.RecordBatch, *, validating: bool = True) -> pa.RecordBatch:
        first = int(batch.column(ROW)[0].as_py()) if ROW in batch.schema.names and batch.num_rows else -1
        mine = None if validating else self._masks.get(first, batch.num_rows)
        digests = None
        if mine is None:
            mine, digests, keyed = self._mine(ctx, batch)
            if validating:
                self._masks.put(first, mine)
                note = getattr(self.category, "note_all_shards", None)
                if note is not None:
                    note(ctx, batch, mine)  # the category's rules across the whole input (names)
                if keyed:
                    self.identity.observe_all_shards(ctx, batch, mine)  # equal id values in other shards
        self.seen += batch.num_rows
        if digests is not None:
            batch = set_column(batch, DIGEST, pa.array(digests, pa.binary(32)))
        if not mine.all():
            batch = batch.filter(pa.array(mine, pa.bool_()))
        self.kept += batch.num_rows
        return batch

    def _mine(self, ctx: "RunContext", batch: pa.RecordBatch) -> tuple[np.ndarray, list[bytes] | None, bool]:
        """(which rows are this shard's, the content digests when computed, whether the category's key decided)."""
        n = batch.num_rows
        count = self.shard.count
        keys = self.category.shard_key(ctx, batch) if hasattr(self.category, "shard_key") else None
        if keys is not None:
            values = keys.to_pylist() if isinstance(keys, (pa.Array, pa.ChunkedArray)) else list(keys)
            if len(values) != n:
                raise RuntimeError(f"category {ctx.category.name!r}: shard_key gave {len(values)} keys for {n} records")
            missing = [i for i, v in enumerate(values) if v is None]
            shards = np.empty(n, dtype=np.int64)
            present = [i for i, v in enumerate(values) if v is not None]
            shards[present] = key_shards([str(values[i]) for i in present], count)
            if missing:
                # no key (a record without a file, an inline text): its content decides
                part = batch.take(pa.array(missing, pa.int64()))
                shards[missing] = digest_shards(self.identity.digests(ctx, part), count)
            return shards == self.shard.index, None, True
        digests = self.identity.digests(ctx, batch)
        return digest_shards(digests, count) == self.shard.index, digests, False
