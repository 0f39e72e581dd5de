"""Token classification's two sequences: the tokens of a text and their tags.

A sequence arrives as a list (Parquet), a JSON array (JSON lines, a CSV cell) or, for
tags, text separated by ASCII white space (the platform's form). Tags may be numbers
indexing ``tag_names`` (the form HuggingFace datasets export). Tags in IOB1, BIOES or
BILOU are converted to IOB2 on request. Problems name positions, never a token or a tag.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from .checks import has_ascii_whitespace, split_words

SCHEMES = ("iob2", "iob1", "bioes", "bilou")
OUTSIDE = "O"
# the prefix each scheme writes for: inside, last token, single-token entity
_ROLES = {"bioes": {"B": "B", "I": "I", "E": "E", "S": "S"}, "bilou": {"B": "B", "I": "I", "E": "L", "S": "U"}}


class TagProblem(Exception):
    """A token or tag sequence that cannot be used; ``rule`` names the check."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _json_array(text: str, rule: str, what: str) -> list:
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise TagProblem(rule, f"the {what} are not a valid JSON array") from None
    if not isinstance(items, list):
        raise TagProblem(rule, f"the {what} are not a JSON array")
    return items


def read_tokens(value: Any) -> list[str]:
    """The tokens of a cell: a list or a JSON array of non-empty strings without ASCII white space."""
    items = _json_array(value, "tokens", "tokens") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise TagProblem("tokens", "the tokens are not a list")
    if not items:
        raise TagProblem("tokens", "there are no tokens")
    for position, token in enumerate(items, start=1):
        if not isinstance(token, str):
            raise TagProblem("tokens", f"token {position:,} is not text")
        if not token:
            raise TagProblem("tokens", f"token {position:,} is empty")
        if has_ascii_whitespace(token):
            raise TagProblem(
                "tokens",
                f"token {position:,} holds a space, TAB or line break, which separate tokens in the stored text "
                "(non-breaking and other Unicode spaces are kept inside a token)",
            )
    return items


def read_tags(value: Any, names: Sequence[str] | None = None) -> list[str]:
    """The tags of a cell: a list, a JSON array, or text separated by ASCII white space; numbers index ``names``."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return split_words(text)
        value = _json_array(text, "tags", "tags")
    if not isinstance(value, list):
        raise TagProblem("tags", "the tags are not a list")
    tags: list[str] = []
    for position, tag in enumerate(value, start=1):
        if isinstance(tag, str):
            tags.append(tag)
        elif isinstance(tag, int) and not isinstance(tag, bool):
            if not names:
                raise TagProblem("tags", f"tag {position:,} is a number; give the tag of each number with tag_names")
            if not 0 <= tag < len(names):
                raise TagProblem("tags", f"tag {position:,} is a number outside tag_names (0 to {len(names) - 1:,})")
            tags.append(names[tag])
        else:
            raise TagProblem("tags", f"tag {position:,} is neither text nor a whole number")
    return tags


def to_iob2(tags: list[str], scheme: str) -> list[str]:
    """``tags`` in ``scheme`` as IOB2; TagProblem (rule ``tag_scheme``) when they break the scheme's grammar."""
    if scheme == "iob2":
        return tags
    if scheme == "iob1":
        return _from_iob1(tags)
    return _from_bioes(tags, scheme)


def _split(tag: str) -> tuple[str, str]:
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash and kind else (tag, "")


def _from_iob1(tags: list[str]) -> list[str]:
    # IOB1 opens an entity with I-; B- only separates two adjacent entities of one type.
    out: list[str] = []
    previous = ""
    for tag in tags:
        prefix, kind = _split(tag)
        if prefix == "I" and kind and kind != previous:
            tag = f"B-{kind}"
        out.append(tag)
        previous = kind if prefix in ("B", "I") and kind else ""
    return out  # tags that are no IOB tag at all are left to the iob2 rule


def _from_bioes(tags: list[str], scheme: str) -> list[str]:
    roles = {letter: role for role, letter in _ROLES[scheme].items()}
    out: list[str] = []
    open_kind = ""
    for position, tag in enumerate(tags, start=1):
        if tag == OUTSIDE:
            role, kind = "O", ""
        else:
            letter, kind = _split(tag)
            role = roles.get(letter) if kind else None
            if role is None:
                raise TagProblem("tag_scheme", f"tag {position:,} is not a {scheme.upper()} tag")
        if role in ("I", "E") and kind != open_kind:
            raise TagProblem("tag_scheme", f"tag {position:,} continues an entity that was not begun with the same type")
        if role in ("O", "B", "S") and open_kind:
            raise TagProblem("tag_scheme", f"tag {position:,} comes before the entity begun earlier has ended")
        out.append({"O": OUTSIDE, "B": f"B-{kind}", "S": f"B-{kind}"}.get(role, f"I-{kind}"))
        open_kind = kind if role in ("B", "I") else ""
    if open_kind:
        raise TagProblem("tag_scheme", "the last entity is not ended")
    return out
