"""What makes a text usable: inside its size bound, UTF-8 without NUL, not empty, in its layout.

The same rules hold for a ``.txt`` file (:func:`inspect_text`) and for a text taken from
a table cell (:func:`check_text`); both return counts only. Problems name the rule and
facts such as a size, a byte offset or a part's position, never the content.

Words are what the text splits into at ASCII white space (space, TAB, LF, CR, VT, FF),
as ``bytes.split()`` does: a non-breaking space (U+00A0) or any other Unicode space is
part of its word, so a token such as ``10 000`` written with U+202F keeps one tag.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs

from tracebloc_ingestor.api import FileProblem

from .layout import PLAIN, Layout

DEFAULT_MAX_FILE_SIZE = 10 << 20  # 10 MiB: far above any training text, small enough to read whole
TEXT_EXTENSION = ".txt"
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_BOM = "\ufeff"
_ASCII_RUNS = re.compile(f"[{re.escape(ASCII_WHITESPACE)}]+")


@attrs.frozen
class TextFacts:
    """Counts of one text: bytes, characters, words and, for a layout of several parts, characters per part."""

    size: int
    chars: int
    words: int
    parts: tuple[int, ...] = ()


def count_words(data: bytes) -> int:
    """Words of UTF-8 ``data``: runs of anything but ASCII white space (see the module's docstring)."""
    return len(data.split())


def split_words(text: str) -> list[str]:
    """The words of ``text`` (see the module's docstring); ``count_words`` counts the same."""
    return [word for word in _ASCII_RUNS.split(text) if word]


def has_ascii_whitespace(text: str) -> bool:
    return _ASCII_RUNS.search(text) is not None


def check_text(data: bytes, *, max_size: int = DEFAULT_MAX_FILE_SIZE, layout: Layout = PLAIN, what: str = "file") -> TextFacts:
    """Counts of the text ``data``, or FileProblem naming the rule it breaks (``what``: the noun in messages)."""
    if len(data) > max_size:
        raise FileProblem("file_size", f"the {what} has {len(data):,} bytes, more than the limit of {max_size:,}")
    if not data:
        raise FileProblem("empty_file", f"the {what} is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FileProblem("binary", f"the {what} holds a NUL byte (offset {nul:,}); it is not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem("encoding", f"the {what} is not valid UTF-8 (bad byte at offset {exc.start:,})") from None
    if text.startswith(_BOM):
        text = text[1:]
    if not text.strip():
        raise FileProblem("empty_file", f"the {what} holds only white space")
    parts, broken = layout.split(text)
    if broken:
        raise FileProblem(*broken)
    return TextFacts(
        size=len(data),
        chars=len(text),
        words=count_words(data),
        parts=() if len(parts) == 1 else tuple(len(part) for part in parts),
    )


def inspect_text(path: Path, *, max_size: int = DEFAULT_MAX_FILE_SIZE, layout: Layout = PLAIN) -> TextFacts:
    """Counts of the text file at ``path``, or FileProblem naming the rule it breaks."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_size:
            raise FileProblem("file_size", f"the file has {size:,} bytes, more than the limit of {max_size:,}")
        # Read one byte past the bound: a file that grows while we read is still refused.
        data = fh.read(max_size + 1)
    if len(data) > max_size:
        raise FileProblem("file_size", f"the file has more than {max_size:,} bytes")
    return check_text(data, max_size=max_size, layout=layout)
