"""What the text categories share: a manifest of UTF-8 ``.txt`` files, their options and statistics.

The core's :class:`~tracebloc_ingestor.api.FileCategory` reads the manifest, guards the
paths, inspects each referenced file once in worker threads and stores it once as
``<stem>.txt``; this adds the text rules (:func:`~.checks.inspect_text`), the options
and statistics of characters and words.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tracebloc_ingestor.api import (
    EXTENSION,
    FILENAME,
    FileCategory,
    Histogram,
    Integer,
    Numeric,
    Option,
    PathValue,
    ReportSection,
    TableNameValidator,
    Tally,
    Total,
)

from .checks import DEFAULT_MAX_FILE_SIZE, TEXT_EXTENSION, TextFacts, inspect_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

# Buckets of the distributions sent with the registration (no single count leaves).
CHAR_BUCKETS = ((100, "<100"), (1_000, "100-1k"), (10_000, "1k-10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M"))
WORD_BUCKETS = ((16, "<16"), (64, "16-64"), (256, "64-256"), (1_024, "256-1k"), (4_096, "1k-4k"), (16_384, "4k-16k"))

MAX_FILE_SIZE = Option(
    "max_file_size",
    Integer(minimum=1),
    default=DEFAULT_MAX_FILE_SIZE,
    help="Largest text file accepted, in bytes; a larger one breaks rule file_size",
    yaml="spec.file_options.max_file_size",
)


def _folder(name: str, what: str) -> Option:
    # the ingest.yaml key is the top-level name the platform already uses (texts:, sequences:)
    return Option(
        name,
        PathValue("source"),
        help=f"Folder of the UTF-8 .txt {what} the manifest names (default: {name}/ under the source root)",
        env=f"{name.upper()}_DIR",
    )


TEXTS = _folder("texts", "texts")
SEQUENCES = _folder("sequences", "sequences")


class TextIngestor(FileCategory):
    """Base of the text categories: a manifest (``filename``, ...) of UTF-8 ``.txt`` files under one folder."""

    data_format = "text"
    validators = (TableNameValidator(),)
    folder_option = "texts"
    file_columns = (FILENAME, EXTENSION)
    extensions = (TEXT_EXTENSION,)
    stored_extension = TEXT_EXTENSION
    options = (TEXTS, MAX_FILE_SIZE)

    def inspect(self, ctx: "RunContext", path: Path) -> TextFacts:
        return inspect_text(path, max_size=ctx.options.max_file_size)

    def file_statistics(self, ctx: "RunContext", described: list[tuple[str, TextFacts]]) -> dict:
        chars = [facts.chars for _rel, facts in described]
        words = [facts.words for _rel, facts in described]
        return {
            "texts": Total(len(described)),
            "text_characters": _numeric(chars),
            "text_words": _numeric(words),
            "text_character_buckets": Tally(_buckets(chars, CHAR_BUCKETS, ">=1M")),
            "text_word_buckets": Tally(_buckets(words, WORD_BUCKETS, ">=16k")),
        }


    def report_sections(self, ctx: "RunContext", statistics) -> list[ReportSection]:
        """Exact length distributions of the sound texts (local report only; the registration has buckets)."""
        facts = [f for f in self._files(ctx).facts.values() if isinstance(f, TextFacts)]
        if not facts:
            return []
        chars = Histogram.of([f.chars for f in facts], title="Characters per text", xlabel="characters")
        words = Histogram.of([f.words for f in facts], title="Words per text", xlabel="words")
        text = f"{len(facts):,} texts; mean {sum(f.chars for f in facts) / len(facts):,.0f} characters."
        return [ReportSection("Text lengths", text, (chars, words))]


def _numeric(values: list[int]) -> Numeric:
    if not values:
        return Numeric()
    return Numeric(
        count=len(values),
        minimum=float(min(values)),
        maximum=float(max(values)),
        total=float(sum(values)),
        total_sq=float(sum(v * v for v in values)),
    )


def _buckets(values: Iterable[int], limits: tuple[tuple[int, str], ...], top: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        key = next((name for limit, name in limits if value < limit), top)
        out[key] = out.get(key, 0) + 1
    return out
