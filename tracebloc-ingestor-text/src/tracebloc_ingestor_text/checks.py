"""What makes a file a usable text sample: inside its size bound, UTF-8, not empty.

``inspect_text`` reads the file once and returns counts only (bytes, characters,
whitespace-separated words). Problems name the rule and facts such as a size or a byte
offset, never the content.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from tracebloc_ingestor.api import FileProblem

DEFAULT_MAX_FILE_SIZE = 10 << 20  # 10 MiB: far above any training text, small enough to read whole
TEXT_EXTENSION = ".txt"
_BOM = "\ufeff"


@attrs.frozen
class TextFacts:
    size: int
    chars: int
    words: int


def inspect_text(path: Path, *, max_size: int = DEFAULT_MAX_FILE_SIZE) -> TextFacts:
    """Counts of the text at ``path``, or FileProblem naming the rule it breaks."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_size:
            raise FileProblem("file_size", f"the file has {size:,} bytes, more than the limit of {max_size:,}")
        # Read one byte past the bound: a file that grows while we read is still refused.
        data = fh.read(max_size + 1)
    if len(data) > max_size:
        raise FileProblem("file_size", f"the file has more than {max_size:,} bytes")
    if not data:
        raise FileProblem("empty_file", "the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FileProblem("binary", f"the file holds a NUL byte (offset {nul:,}); it is not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem("encoding", f"the file is not valid UTF-8 (bad byte at offset {exc.start:,})") from None
    if text.startswith(_BOM):
        text = text[1:]
    words = len(text.split())
    if words == 0:
        raise FileProblem("empty_file", "the file holds only white space")
    return TextFacts(size=len(data), chars=len(text), words=words)
