"""``masked_language_modeling``: unlabelled sequences plus the tokenizer they are trained with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tracebloc_ingestor import Issue
from tracebloc_ingestor.files import CopyJob

from .base import TextIngestor
from .tokenizer import REQUIRED_TOKENS, TOKENIZER_NAME, TokenizerProblem, missing_tokens

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor import RunContext


class MaskedLanguageModeling(TextIngestor):
    """Sequences under ``sequences/``; ``tokenizer.json`` in the source root is required.

    The tokenizer must parse and hold ``[MASK]`` and ``[PAD]`` (rule ``tokenizer``); it
    is stored once beside the sequences as ``tokenizer.json``.
    """

    category = "masked_language_modeling"
    label_kind = "none"
    folder_setting = "sequences"
    summary = "UTF-8 sequences under sequences/ and a tokenizer.json with [MASK] and [PAD] (manifest: filename); no label."
    required_tokens: tuple[str, ...] = REQUIRED_TOKENS

    def tokenizer_path(self, ctx: "RunContext") -> Path:
        return Path(ctx.source_root) / TOKENIZER_NAME

    def start_issues(self, ctx: "RunContext") -> Iterable[Issue]:
        yield from super().start_issues(ctx)
        path = self.tokenizer_path(ctx)
        rel = ctx.relative(path)
        try:
            missing = missing_tokens(path, self.required_tokens)
        except TokenizerProblem as problem:
            yield Issue("tokenizer", f"{TOKENIZER_NAME} is not usable: {problem}", file=rel)
            return
        if missing:
            yield Issue("tokenizer", f"the vocabulary lacks the special tokens {', '.join(missing)}", file=rel)

    def extra_jobs(self, ctx: "RunContext") -> list[CopyJob]:
        return [CopyJob(TOKENIZER_NAME, str(self.tokenizer_path(ctx)))]

    def extra_bytes(self, ctx: "RunContext") -> int:
        try:
            return self.tokenizer_path(ctx).stat().st_size
        except OSError:
            return 0
