"""The validator protocol used by ``BaseIngestor.validators``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..context import RunContext
    from ..issues import Issue


class Validator:
    """Base class of validators; override what applies.

    An ingestor copies its validators at the start of every run, so a validator may
    keep state between batches in its own attributes.
    """

    name: str = "validator"

    def check_source(self, ctx: "RunContext") -> "Iterable[Issue]":
        """Once per run, before the first batch: checks of the source as a whole."""
        return ()

    def check_batch(self, ctx: "RunContext", batch: "pa.RecordBatch") -> "Iterable[Issue]":
        """Every discovered batch of the validation pass."""
        return ()

    def finish(self, ctx: "RunContext") -> "Iterable[Issue]":
        """Once after the last batch."""
        return ()
