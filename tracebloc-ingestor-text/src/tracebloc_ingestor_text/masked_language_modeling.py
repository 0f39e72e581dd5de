"""``masked_language_modeling``: unlabelled sequences plus the tokenizer they are trained with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tracebloc_ingestor.api import CopyJob, Issue

from .base import MAX_FILE_SIZE, SEQUENCES, TextIngestor
from .tokenizer import REQUIRED_TOKENS, TOKENIZER_NAME, TokenizerProblem, missing_tokens

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext


class MaskedLanguageModeling(TextIngestor):
    """Sequences under ``sequences/``; ``tokenizer.json`` in the source root is required.

    The tokenizer must parse and hold ``[MASK]`` and ``[PAD]`` (rule ``tokenizer``); it
    is stored once beside the sequences as ``tokenizer.json``.
    """

    category = "masked_language_modeling"
    label_kind = "none"
    folder_option = "sequences"
    options = (SEQUENCES, MAX_FILE_SIZE)
    summary = "UTF-8 sequences under sequences/ and a tokenizer.json with [MASK] and [PAD] (manifest: filename); no label."
    required_tokens: tuple[str, ...] = REQUIRED_TOKENS

    def tokenizer_path(self, ctx: "RunContext") -> Path:
        return ctx.source_root / TOKENIZER_NAME

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        path = self.tokenizer_path(ctx)
        rel = ctx.relative(path)
        try:
            missing = missing_tokens(path, self.required_tokens)
        except TokenizerProblem as problem:
            issues.append(Issue("tokenizer", f"{TOKENIZER_NAME} is not usable: {problem}", file=rel))
            return issues
        if missing:
            issues.append(Issue("tokenizer", f"the vocabulary lacks the special tokens {', '.join(missing)}", file=rel))
        return issues

    def extra_files(self, ctx: "RunContext") -> list[CopyJob]:
        return [CopyJob(TOKENIZER_NAME, str(self.tokenizer_path(ctx)))]
