"""``causal_language_modeling``: plain texts, or prompts with their completions; no label."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracebloc_ingestor.api import Choice, Option

from .base import MAX_FILE_SIZE, TEXT_COLUMNS, TEXTS, TextIngestor
from .layout import PLAIN, Layout

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import OptionValues

PROMPT_COMPLETION = Layout(("prompt", "completion"))
AUTO = Layout(("prompt", "completion"), minimum=1)
LAYOUTS = {"auto": AUTO, "plain": PLAIN, "prompt_completion": PROMPT_COMPLETION}

TEXT_LAYOUT = Option(
    "text_layout",
    Choice(*LAYOUTS),
    default="auto",
    help=(
        "How a text is read: auto (no TAB: plain text; one TAB: prompt<TAB>completion), plain (TABs are "
        "ordinary characters, as in source code) or prompt_completion (exactly one TAB)"
    ),
)


class CausalLanguageModeling(TextIngestor):
    """Plain texts or ``prompt<TAB>completion`` (``text_layout`` decides); every part non-empty."""

    category = "causal_language_modeling"
    label_kind = "none"
    options = (TEXTS, TEXT_COLUMNS, MAX_FILE_SIZE, TEXT_LAYOUT)
    inline_columns = (("prompt", "completion"), ("text",))
    summary = "Plain texts or prompt<TAB>completion (files, a text column, or prompt and completion columns); no label."

    def text_layout(self, options: "OptionValues") -> Layout:
        return LAYOUTS[options.get("text_layout") or "auto"]
