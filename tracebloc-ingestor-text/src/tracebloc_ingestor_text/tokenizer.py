"""A HuggingFace ``tokenizer.json``, read defensively: its vocabulary and the structure of the parts used.

The file is untrusted. It is read as a stream of JSON events (ijson), never built as a
whole document, so nesting cannot exhaust the stack and only the vocabulary is kept in
memory; size and depth are bounded. The parts this package relies on must have their
documented shape, or the file is refused naming the part:

* ``model``: an object; ``model.vocab``: a mapping of token to id (WordPiece, BPE,
  WordLevel) or a list of ``[token, score]`` pairs (Unigram);
* ``added_tokens`` (optional): a list of objects, each with a string ``content``.

Special tokens are found in either: BERT style (``[MASK]``, ``[PAD]``) or RoBERTa/XLM-R
style (``<mask>``, ``<pad>``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import attrs
import ijson

TOKENIZER_NAME = "tokenizer.json"
MAX_TOKENIZER_SIZE = 256 << 20  # the largest published tokenizers are a few tens of MiB
MAX_DEPTH = 64  # real files nest about 6 levels deep
#: the special tokens masked language modelling needs, each in the spellings accepted
SPECIAL_TOKENS = {"mask": ("[MASK]", "<mask>"), "pad": ("[PAD]", "<pad>")}
_MODELS = ("BPE", "WordPiece", "WordLevel", "Unigram")


class TokenizerProblem(Exception):
    """The tokenizer cannot be used; the message says why without quoting the file."""


@attrs.frozen
class Tokenizer:
    """What the checks need of a tokenizer: its token strings and model type (when a known one)."""

    tokens: frozenset[str]
    model: str | None = None

    def missing(self, wanted: dict[str, tuple[str, ...]] = SPECIAL_TOKENS) -> list[str]:
        """The roles in ``wanted`` (role -> accepted spellings) that none of the tokens fills."""
        return [role for role, spellings in wanted.items() if not any(s in self.tokens for s in spellings)]


def read_tokenizer(path: Path, *, max_size: int = MAX_TOKENIZER_SIZE, max_depth: int = MAX_DEPTH) -> Tokenizer:
    """The tokenizer at ``path``, or TokenizerProblem saying which rule it breaks."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_size:
                raise TokenizerProblem(f"the file has {size:,} bytes, more than the limit of {max_size:,}")
            return _Reader(max_depth).read(fh)
    except FileNotFoundError:
        raise TokenizerProblem("the file does not exist") from None
    except IsADirectoryError:
        raise TokenizerProblem("the path is a folder, not a file") from None
    except ijson.JSONError:
        # the parser's message may quote the file; only the rule is said
        raise TokenizerProblem("the file is not valid JSON (or not UTF-8)") from None
    except OSError as exc:
        raise TokenizerProblem(f"the file cannot be read ({exc.strerror or type(exc).__name__})") from None


class _Reader:
    """Walks the event stream with an explicit depth count; keeps only what the checks use."""

    _STARTS = ("start_map", "start_array")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.tokens: set[str] = set()
        self.model: str | None = None
        self.seen: set[str] = set()

    def read(self, fh) -> Tokenizer:
        events = ijson.basic_parse(fh, use_float=True)
        first = next(events, None)
        if first is None:
            raise TokenizerProblem("the file is empty")
        if first[0] != "start_map":
            raise TokenizerProblem("the file is not a JSON object")
        self._object(events, (), 1)
        for _ in events:  # anything after the object is a syntax error the parser reports
            pass
        if "model" not in self.seen:
            raise TokenizerProblem("the file has no model")
        if "vocab" not in self.seen:
            raise TokenizerProblem("model has no vocab")
        if not self.tokens:
            raise TokenizerProblem("the file has no vocabulary (model.vocab and added_tokens are empty)")
        return Tokenizer(frozenset(self.tokens), self.model)

    def _deeper(self, depth: int) -> int:
        if depth >= self.max_depth:
            raise TokenizerProblem(f"the file nests more than {self.max_depth} levels deep")
        return depth + 1

    def _object(self, events: Iterator, path: tuple, depth: int) -> None:
        """The members of an object at ``depth`` whose start was read."""
        for event, key in events:
            if event == "end_map":
                return
            self._value(events, next(events), (*path, key), depth)

    def _skip(self, events: Iterator, event: str, depth: int) -> None:
        """Skip one value inside a container at ``depth`` (its first event read), bounding its nesting."""
        if event not in self._STARTS:
            return
        depth = self._deeper(depth)
        open_ = 1
        while open_:
            kind, _ = next(events)
            if kind in self._STARTS:
                depth = self._deeper(depth)
                open_ += 1
            elif kind in ("end_map", "end_array"):
                depth -= 1
                open_ -= 1

    def _value(self, events: Iterator, first: tuple, path: tuple, depth: int) -> None:
        """One member's value (its first event read) of an object at ``depth``."""
        event, value = first
        if path == ("model",):
            self.seen.add("model")
            if event != "start_map":
                raise TokenizerProblem("model is not an object")
            self._object(events, path, self._deeper(depth))
        elif path == ("model", "type"):
            if event == "string" and value in _MODELS:
                self.model = value
            self._skip(events, event, depth)
        elif path == ("model", "vocab"):
            self.seen.add("vocab")
            if event == "start_map":
                self._vocab_map(events)
            elif event == "start_array":
                self._vocab_pairs(events)
            else:
                raise TokenizerProblem("model.vocab is neither a mapping of token to id nor a list of [token, score] pairs")
        elif path == ("added_tokens",):
            if event == "start_array":
                self._added(events, self._deeper(depth))
            elif event != "null":
                raise TokenizerProblem("added_tokens is not a list")
        else:
            self._skip(events, event, depth)

    def _vocab_map(self, events: Iterator) -> None:
        for event, token in events:
            if event == "end_map":
                return
            kind, ident = next(events)
            if kind != "number" or not isinstance(ident, int) or ident < 0:
                raise TokenizerProblem("model.vocab maps a token to something other than a whole-number id")
            self.tokens.add(token)

    def _entries(self, events: Iterator, opening: str, shape: str) -> Iterator[None]:
        """Once per entry of a list whose start was read; every entry must open with ``opening``."""
        for event, _ in events:
            if event == "end_array":
                return
            if event != opening:
                raise TokenizerProblem(shape)
            yield

    def _vocab_pairs(self, events: Iterator) -> None:
        shape = "model.vocab is a list whose entries are not [token, score] pairs"
        for _ in self._entries(events, "start_array", shape):
            token, score, end = next(events), next(events), next(events)
            if token[0] != "string" or score[0] != "number" or end[0] != "end_array":
                raise TokenizerProblem(shape)
            self.tokens.add(token[1])

    def _added(self, events: Iterator, depth: int) -> None:
        shape = "added_tokens holds an entry that is not an object with a string content"
        for _ in self._entries(events, "start_map", shape):
            inner = self._deeper(depth)
            content = None
            for kind, key in events:
                if kind == "end_map":
                    break
                value = next(events)
                if key == "content":
                    if value[0] != "string":
                        raise TokenizerProblem(shape)
                    content = value[1]
                else:
                    self._skip(events, value[0], inner)
            if content is None:
                raise TokenizerProblem(shape)
            self.tokens.add(content)
