"""``masked_language_modeling``: unlabelled sequences plus the tokenizer they are trained with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa

from tracebloc_ingestor.api import CopyJob, Issue, Option, Tally, Text, Total

from .base import MAX_FILE_SIZE, SEQUENCES, TEXT_COLUMNS, TextIngestor
from .tokenizer import SPECIAL_TOKENS, TOKENIZER_NAME, Tokenizer, TokenizerProblem, read_tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import OptionValues, RunContext


def _token_option(role: str) -> Option:
    spellings = " or ".join(SPECIAL_TOKENS[role])
    return Option(f"{role}_token", Text(), help=f"The tokenizer's {role} token (default: {spellings}, BERT or RoBERTa/XLM-R style)")


MASK_TOKEN = _token_option("mask")
PAD_TOKEN = _token_option("pad")


class _TokenizerState:
    def __init__(self) -> None:
        self.tokenizer: Tokenizer | None = None
        self.described = False


class MaskedLanguageModeling(TextIngestor):
    """Sequences under ``sequences/`` (or inline in a ``text`` column); ``tokenizer.json`` in the source root is required.

    The tokenizer must parse, have the documented shape (rule ``tokenizer``) and hold a
    mask and a padding token (``[MASK]``/``[PAD]`` or ``<mask>``/``<pad>``); it is stored
    once beside the sequences as ``tokenizer.json``.
    """

    category = "masked_language_modeling"
    label_kind = "none"
    folder_option = "sequences"
    options = (SEQUENCES, TEXT_COLUMNS, MAX_FILE_SIZE, MASK_TOKEN, PAD_TOKEN)
    summary = (
        "UTF-8 sequences (files under sequences/ or a text column) and a tokenizer.json with a mask and a "
        "padding token ([MASK]/[PAD] or <mask>/<pad>); no label."
    )

    def tokenizer_path(self, ctx: "RunContext") -> Path:
        return ctx.source_root / TOKENIZER_NAME

    def special_tokens(self, options: "OptionValues") -> dict[str, tuple[str, ...]]:
        """Role -> the spellings accepted for it (the option's value when given)."""
        return {role: (options[f"{role}_token"],) if options.get(f"{role}_token") else spellings
                for role, spellings in SPECIAL_TOKENS.items()}

    def _tokenizer(self, ctx: "RunContext") -> _TokenizerState:
        return ctx.state(f"tokenizer:{self.category}", _TokenizerState)

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        path = self.tokenizer_path(ctx)
        rel = ctx.relative(path)
        try:
            tokenizer = read_tokenizer(path)
        except TokenizerProblem as problem:
            issues.append(Issue("tokenizer", f"{TOKENIZER_NAME} is not usable: {problem}", file=rel))
            return issues
        for role in tokenizer.missing(self.special_tokens(ctx.options)):
            given = ctx.options.get(f"{role}_token")
            # a token named in the configuration is a configuration value: it is not repeated
            which = f"{role} token given by {role}_token" if given else f"{role} token ({' or '.join(SPECIAL_TOKENS[role])})"
            issues.append(Issue("tokenizer", f"the vocabulary has no {which}", file=rel))
        self._tokenizer(ctx).tokenizer = tokenizer
        return issues

    def extra_files(self, ctx: "RunContext") -> list[CopyJob]:
        return [CopyJob(TOKENIZER_NAME, str(self.tokenizer_path(ctx)))]

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        state = self._tokenizer(ctx)
        if state.tokenizer is not None and not state.described:
            state.described = True  # once per run: the statistics of all batches are added up
            out["tokenizer_tokens"] = Total(len(state.tokenizer.tokens))
            if state.tokenizer.model:
                out["tokenizer_model"] = Tally({state.tokenizer.model: 1})
        return out
