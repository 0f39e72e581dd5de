"""``token_classification``: one tag per token of a text, IOB2 when stored.

The tokens are a text file's words, an inline text's words, or an inline list of
tokens (``tokens``); words are separated by ASCII white space only (see
:mod:`.checks`). The tags are the label column: text separated by spaces (the
platform's form), a list, or a JSON array, of tag names or of numbers indexing
``tag_names``; ``tag_scheme`` converts IOB1, BIOES or BILOU to IOB2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor.api import (
    ANNOTATION,
    FILE,
    LABEL,
    MAX_LABEL_LENGTH,
    ROW,
    Choice,
    Issue,
    Option,
    OptionError,
    OptionType,
    Tally,
    Text,
    set_column,
)

from .base import MAX_FILE_SIZE, TEXT_COLUMNS, TEXTS, TextIngestor
from .checks import TextFacts
from .inline import TOKENS, Form, PartProblem, cells
from .iob2 import iob2_problem
from .tagging import SCHEMES, TagProblem, read_tags, read_tokens, to_iob2

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

DEFAULT_TOKENS = "tokens"
DEFAULT_TAGS = "tags"
MAX_ANNOTATION_BYTES = 65_535  # a TEXT column in MySQL


class TagNames(OptionType):
    """An ordered list of distinct tag names: a YAML list, or comma-separated text."""

    metavar = "TAG,TAG,..."

    def parse(self, raw: Any) -> tuple[str, ...]:
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise OptionError("must be a list of tag names (comma-separated as text)")
        names = tuple(item.strip() for item in items)
        if len(set(names)) != len(names):
            raise OptionError("names a tag twice; each number needs its own tag")
        return names

    def json_schema(self) -> dict:
        return {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}, "x-message": "must be a list of tag names"}

    def describe(self) -> str:
        return "a list of distinct tag names (comma-separated as text)"


TOKENS_COLUMN = Option(
    "tokens_column",
    Text(),
    help="Column holding each record's tokens inline, as a list or a JSON array (default: tokens, when the manifest has no filename column)",
)
TAG_SCHEME = Option(
    "tag_scheme",
    Choice(*SCHEMES),
    default="iob2",
    help="The tags' scheme; iob1, bioes and bilou tags are converted to IOB2 before they are checked and stored",
)
TAG_STORAGE = Option(
    "tag_storage",
    Choice("label", "annotation"),
    default="label",
    help=(
        "Where the tag string is stored: label (at most 255 characters, the platform's form) or annotation "
        "(up to 65,535 bytes; label then keeps the tags only where they fit and is empty elsewhere)"
    ),
)
TAG_NAMES = Option(
    "tag_names",
    TagNames(),
    help="The tag of each number, in order (0 is the first), for tags given as numbers",
)


class TokenClassification(TextIngestor):
    """Rows carry the IOB2 tag string in ``label`` (or in ``annotation`` with ``tag_storage: annotation``).

    Rules: ``tokens`` (an inline token list), ``tags`` (the tags cannot be read),
    ``tag_scheme`` (the tags break their declared scheme), ``iob2`` (every tag is ``O``,
    ``B-X`` or ``I-X``, and ``I-X`` continues a ``B-X``/``I-X``), ``token_count`` (one tag
    per token), ``max_length`` (the tag string does not fit where it is stored). A
    dataset of one tag string is allowed: the classes are the tags, not the strings.
    """

    category = "token_classification"
    options = (TEXTS, TEXT_COLUMNS, TOKENS_COLUMN, MAX_FILE_SIZE, TAG_SCHEME, TAG_STORAGE, TAG_NAMES)
    summary = "Texts (files, a text column or a list of tokens) with one IOB2 tag per token (the label column)."

    def check_options(self, options) -> Iterable[tuple[str, str]]:
        yield from super().check_options(options)
        if options.get("tokens_column") and options.get("text_columns"):
            yield "tokens_column", "give tokens_column (a list of tokens) or text_columns (a text), not both"

    def choose_form(self, ctx: "RunContext", names: tuple[str, ...]) -> Form:
        given = ctx.options.get("tokens_column")
        if given:
            return Form(TOKENS, (given,), names)
        if not ctx.options.get("text_columns") and self.file_column not in names and DEFAULT_TOKENS in names:
            return Form(TOKENS, (DEFAULT_TOKENS,), names)
        return super().choose_form(ctx, names)

    def inline_hint(self, layout) -> str:
        return f"{DEFAULT_TOKENS} (a list of tokens) or {super().inline_hint(layout)}"

    def label_column(self, ctx: "RunContext") -> str:
        # the JSON-lines form names its tags "tags": taken when no label column is configured and "label" is absent
        given = ctx.settings.label_column or LABEL
        if ctx.settings.origins.get("label_column", "default") != "default":
            return given
        names = self.form(ctx).names
        return DEFAULT_TAGS if given not in names and DEFAULT_TAGS in names else given

    # -- texts and tags ------------------------------------------------------------------

    def inline_texts(self, ctx: "RunContext", batch: pa.RecordBatch, form: Form) -> list:
        if form.kind != TOKENS:
            return super().inline_texts(ctx, batch, form)
        column = form.columns[0]
        out: list[bytes | PartProblem] = []
        for value in cells(batch, column):
            try:
                if value is None:
                    raise TagProblem("required", "the tokens are required")
                out.append(" ".join(read_tokens(value)).encode("utf-8"))
            except TagProblem as problem:
                out.append(PartProblem(problem.rule, problem.message, column))
        return out

    def _tags(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[list[str] | TagProblem | None] | None:
        """Each row's tags in IOB2 (None where the label is missing), converted once per batch."""
        cache = ctx.state(f"token-tags:{self.category}", dict)
        if cache.get("batch") is not batch:
            column = self.label_column(ctx)
            found = None
            if column in batch.schema.names:
                names, scheme = ctx.options.get("tag_names"), ctx.options.tag_scheme
                found = [_tags_of(value, names, scheme) for value in cells(batch, column)]
            cache["batch"], cache["tags"] = batch, found
        return cache["tags"]

    # -- rules -----------------------------------------------------------------------------

    def validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        column = self.label_column(ctx)
        # the length rule is this category's own: measured on the IOB2 string, where tag_storage puts it
        issues = [i for i in super().validate(ctx, batch) if not (i.rule == "max_length" and i.column == column)]
        tags = self._tags(ctx, batch)
        if tags is None:
            return issues
        annotation = ctx.options.tag_storage == "annotation"
        manifest = self.manifest_rel(ctx)  # where the tag string is
        for row, rel, found in zip(batch.column(ROW).to_pylist(), batch.column(FILE).to_pylist(), tags):
            if found is None:
                continue  # the core reports a missing label
            if isinstance(found, TagProblem):
                issues.append(Issue(found.rule, found.message, row=row, column=column, file=manifest))
                continue
            text = " ".join(found)
            why = iob2_problem(found)
            if why:
                if ctx.options.tag_scheme == "iob2" and any(t[:2] in ("S-", "E-", "L-", "U-") for t in found):
                    why += "; BIOES and BILOU tags are converted with tag_scheme"
                issues.append(Issue("iob2", why, row=row, column=column, file=rel, value=text))
            elif annotation and len(text.encode("utf-8")) > MAX_ANNOTATION_BYTES:
                message = f"the tag string has more than {MAX_ANNOTATION_BYTES:,} bytes, the size of annotation"
                issues.append(Issue("max_length", message, row=row, column=column, file=manifest))
            elif not annotation and len(text) > MAX_LABEL_LENGTH:
                issues.append(Issue(
                    "max_length",
                    f"the tag string has {len(text):,} characters; label holds {MAX_LABEL_LENGTH} "
                    "(tag_storage: annotation, or TAG_STORAGE=annotation, stores longer tag strings in annotation)",
                    row=row, column=column, file=manifest,
                ))
        return issues

    def check_row(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, row: int, rel: str, facts: TextFacts) -> Iterable[Issue]:
        tags = self._tags(ctx, batch)
        found = None if tags is None else tags[index]
        if not isinstance(found, list) or len(found) == facts.words:
            return ()
        return (
            Issue(
                "token_count",
                f"the text has {facts.words:,} tokens but the label has {len(found):,} tags (one tag per token)",
                row=row,
                column=self.label_column(ctx),
                file=rel,
            ),
        )

    def check_labels_end(self, ctx: "RunContext") -> Iterable[Issue]:
        # Two rows rarely share a tag string; class diversity is about tags, so no string rule.
        return ()

    # -- the write pass ----------------------------------------------------------------------

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        tags = self._tags(ctx, batch)
        if tags is None:
            return batch
        strings = [" ".join(found) if isinstance(found, list) else None for found in tags]
        if ctx.options.tag_storage == "annotation":
            batch = set_column(batch, ANNOTATION, pa.array(strings, pa.string()))
            strings = [s if s is not None and len(s) <= MAX_LABEL_LENGTH else None for s in strings]
        # the label column itself carries the IOB2 string into label
        return set_column(batch, self.label_column(ctx), pa.array(strings, pa.string()))

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        source = ANNOTATION if ctx.options.tag_storage == "annotation" else LABEL
        if source in batch.schema.names:
            counts = pc.value_counts(pc.list_flatten(pc.ascii_split_whitespace(batch.column(source))))
            out["token_tags"] = Tally(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))
        return out


def _tags_of(value: str | None, names, scheme: str) -> list[str] | TagProblem | None:
    if value is None or not value.strip():
        return None
    try:
        return to_iob2(read_tags(value, names), scheme)
    except TagProblem as problem:
        return problem
