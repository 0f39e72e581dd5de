"""IOB2 tag sequences: ``O``, ``B-<type>`` opens an entity, ``I-<type>`` continues one of the same type."""

from __future__ import annotations

from typing import Sequence

OUTSIDE = "O"


def iob2_problem(tags: Sequence[str]) -> str | None:
    """Why ``tags`` is not a valid IOB2 sequence, or None. Names positions, never tags."""
    open_type: str | None = None
    for position, tag in enumerate(tags, start=1):
        if tag == OUTSIDE:
            open_type = None
            continue
        prefix, dash, kind = tag.partition("-")
        if not dash or prefix not in ("B", "I") or not kind:
            return f"tag {position:,} is not O, B-<type> or I-<type>"
        if prefix == "I" and kind != open_type:
            return f"tag {position:,} is an I- tag that does not continue a B- or I- tag of the same type"
        open_type = kind
    return None
