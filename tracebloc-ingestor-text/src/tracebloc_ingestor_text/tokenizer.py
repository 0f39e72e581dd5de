"""A HuggingFace ``tokenizer.json`` read with the json module: its vocabulary, nothing more.

The vocabulary is ``model.vocab`` (a mapping of token to id for WordPiece/BPE/WordLevel,
or a list of ``[token, score]`` pairs for Unigram) plus every ``added_tokens[].content``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TOKENIZER_NAME = "tokenizer.json"
REQUIRED_TOKENS = ("[MASK]", "[PAD]")
MAX_TOKENIZER_SIZE = 256 << 20


class TokenizerProblem(Exception):
    """The tokenizer cannot be used; the message says why without quoting the file."""


def vocabulary(path: Path, *, max_size: int = MAX_TOKENIZER_SIZE) -> set[str]:
    """The token strings of the tokenizer at ``path``, or TokenizerProblem."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_size:
                raise TokenizerProblem(f"the file has {size:,} bytes, more than the limit of {max_size:,}")
            data = fh.read()
    except FileNotFoundError:
        raise TokenizerProblem("the file does not exist") from None
    except IsADirectoryError:
        raise TokenizerProblem("the path is a folder, not a file") from None
    except OSError as exc:
        raise TokenizerProblem(f"the file cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise TokenizerProblem("the file is not valid UTF-8") from None
    except ValueError as exc:
        # json's message quotes no content, only the position.
        raise TokenizerProblem(f"the file is not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(doc, dict):
        raise TokenizerProblem("the file is not a JSON object")
    tokens = _model_tokens(doc.get("model"))
    for entry in doc.get("added_tokens") or ():
        if isinstance(entry, dict) and isinstance(entry.get("content"), str):
            tokens.add(entry["content"])
    if not tokens:
        raise TokenizerProblem("the file has no vocabulary (model.vocab or added_tokens)")
    return tokens


def _model_tokens(model: Any) -> set[str]:
    if not isinstance(model, dict):
        return set()
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        return {token for token in vocab if isinstance(token, str)}
    tokens: set[str] = set()
    if isinstance(vocab, list):
        for entry in vocab:
            if isinstance(entry, str):
                tokens.add(entry)
            elif isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], str):
                tokens.add(entry[0])
    return tokens


def missing_tokens(path: Path, required: tuple[str, ...] = REQUIRED_TOKENS) -> list[str]:
    """The ``required`` tokens the tokenizer lacks (raises TokenizerProblem if unusable)."""
    vocab = vocabulary(path)
    return [token for token in required if token not in vocab]
