"""``token_classification``: the label is an IOB2 tag string, one tag per word of the text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor.api import FILE, LABEL, ROW, Issue, Tally

from .base import TextIngestor
from .checks import TextFacts
from .iob2 import iob2_problem

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext


class TokenClassification(TextIngestor):
    """Rows carry the whole tag string in ``label`` (VARCHAR(255), so at most 255 characters).

    Rules: ``iob2`` (every tag is ``O``, ``B-X`` or ``I-X``, and ``I-X`` continues a
    ``B-X``/``I-X``), ``token_count`` (as many tags as whitespace-separated words).
    A dataset of one tag string is allowed: the classes are the tags, not the strings.
    """

    category = "token_classification"
    summary = "UTF-8 texts under texts/ with space-separated IOB2 tags, one per word (manifest: filename, label)."

    def _labels(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[str | None] | None:
        """The labels of ``batch`` as Python strings, converted once per batch."""
        cache = ctx.state(f"token-labels:{self.category}", dict)
        if cache.get("batch") is not batch:
            column = self.label_column(ctx)
            labels = None
            if column in batch.schema.names:
                values = batch.column(column)
                labels = (values if pa.types.is_string(values.type) else pc.cast(values, pa.string())).to_pylist()
            cache["batch"], cache["labels"] = batch, labels
        return cache["labels"]

    def validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().validate(ctx, batch))
        labels = self._labels(ctx, batch)
        if labels is None:
            return issues
        column = self.label_column(ctx)
        for row, rel, value in zip(batch.column(ROW).to_pylist(), batch.column(FILE).to_pylist(), labels):
            if value is None or not value.strip():
                continue  # the core reports a missing label
            why = iob2_problem(value.split())
            if why:
                issues.append(Issue("iob2", why, row=row, column=column, file=rel, value=value))
        return issues

    def check_row(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, row: int, rel: str, facts: TextFacts) -> Iterable[Issue]:
        labels = self._labels(ctx, batch)
        if labels is None or labels[index] is None or not labels[index].strip():
            return ()
        tags = len(labels[index].split())
        if tags == facts.words:
            return ()
        return (
            Issue(
                "token_count",
                f"the text has {facts.words:,} words but the label has {tags:,} tags (one tag per word)",
                row=row,
                column=self.label_column(ctx),
                file=rel,
            ),
        )

    def check_labels_end(self, ctx: "RunContext") -> Iterable[Issue]:
        # Two rows rarely share a tag string; class diversity is about tags, so no string rule.
        return ()

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        if LABEL in batch.schema.names:
            counts = pc.value_counts(pc.list_flatten(pc.utf8_split_whitespace(batch.column(LABEL))))
            out["token_tags"] = Tally(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))
        return out
