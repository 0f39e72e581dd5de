"""Which reader a source table gets: by its content first, then its extension, then what was declared.

A Parquet file is recognised by its magic bytes whatever it is called or declared as, and
a file declared or named Parquet that lacks them is refused. Between CSV and JSON, which
have no magic bytes, a forced format (``--source-format``, a category's ``source_format``)
decides first, then a telling extension, then the ``ingest.yaml`` key, then CSV.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from .errors import SourceError

__all__ = ["FORMAT_NAMES", "Detected", "detect_format"]

PARQUET_MAGIC = b"PAR1"
FORMAT_NAMES = {"csv": "CSV", "json": "JSON", "parquet": "Parquet"}
# Extensions that say what a file is; others (.txt, .dat, none) leave it to the declaration.
TELLING_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".parquet": "parquet", ".pq": "parquet",
}


@attrs.frozen
class Detected:
    """The reader chosen for a file, why, and the declaration it overrode (None when none did)."""

    format: str
    reason: str
    overridden: str | None = None

    def describe(self) -> str:
        text = f"{FORMAT_NAMES[self.format]} (by {self.reason})"
        return f"{text}, not as {self.overridden} says" if self.overridden else text


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(PARQUET_MAGIC))
    except OSError:
        return b""  # the reader says why it cannot open the file


def detect_format(
    path: Path,
    *,
    forced: str | None = None,
    forced_by: str = "the category",
    declared: str | None = None,
    declared_by: str = "the declaration",
) -> Detected:
    """Choose the reader of ``path``.

    ``forced`` is a format the caller insists on (still overruled by Parquet's magic
    bytes, since no other reader can read such a file); ``declared`` is a hint such as
    the ``ingest.yaml`` key. Each comes with the words that name where it came from.
    """
    by_suffix = TELLING_SUFFIXES.get(path.suffix.lower())
    said, who = (forced, forced_by) if forced else (declared, declared_by)

    def result(fmt: str, reason: str) -> Detected:
        clash = said is not None and said != fmt
        return Detected(fmt, reason, f"{who} ({FORMAT_NAMES.get(said, said)})" if clash else None)

    if _head(path) == PARQUET_MAGIC:
        return result("parquet", "its content, the Parquet magic bytes")
    if "parquet" in (forced, declared, by_suffix):
        raise SourceError(
            "the file is declared or named as Parquet but is not a Parquet file (it does not start with the magic bytes PAR1)",
            rule="format",
        )
    if forced:
        return result(forced, forced_by)
    if by_suffix:
        return result(by_suffix, f"its extension {path.suffix.lower()}")
    if declared:
        return result(declared, declared_by)
    return result("csv", "default, no telling extension")
