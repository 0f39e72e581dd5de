"""The declarative ``ingest.yaml``: reading it safely and checking it against its JSON schema.

Reading never fails with an exception: every problem (unreadable file, YAML syntax, schema
violation) comes back as a :class:`Problem` naming the file and the JSON path of the key, so
that a rejected config lists everything that is wrong in one go.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import jsonschema
import yaml

if TYPE_CHECKING:  # pragma: no cover
    from .options import Option

API_VERSION = "tracebloc.io/v1"
KIND = "IngestConfig"
# An ingest.yaml is a few lines; anything bigger is the wrong file (and not worth parsing).
MAX_CONFIG_BYTES = 1024 * 1024
# Values in the document as YAML aliases expand them: a few hundred lines hold a few
# thousand; an "alias bomb" of one kilobyte holds billions and is refused before it is built.
MAX_CONFIG_NODES = 100_000


@attrs.frozen
class Problem:
    """One thing wrong with the run configuration, and where it was found."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ConfigError(Exception):
    """The configuration was refused; ``problems`` holds every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


_PATH = {"type": "string", "minLength": 1, "x-message": "must be a non-empty path"}
_NAME = {"type": "string", "minLength": 1, "x-message": "must be a non-empty column name"}
_ONE_CHAR = {"type": "string", "minLength": 1, "maxLength": 1, "x-message": 'must be exactly one character (write a tab as "\\t" in double quotes)'}

CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tracebloc ingest.yaml",
    "type": "object",
    "x-message": "must be a mapping of keys to values",
    # intent defaults to train, like --intent and DATA_INTENT
    "required": ["apiVersion", "kind", "category", "table"],
    "additionalProperties": False,
    "not": {"anyOf": [{"type": "object", "required": pair} for pair in (["csv", "json"], ["csv", "parquet"], ["json", "parquet"])]},
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
        "category": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$",
            "x-message": "must be a category name: lower-case letters, digits and underscores, starting with a letter",
        },
        "table": {"type": "string", "minLength": 1, "x-message": "must be a table name"},
        "intent": {"enum": ["train", "test"]},
        "title": {"type": "string", "minLength": 1, "x-message": "must be a dataset title"},
        "csv": _PATH,
        "json": _PATH,
        "parquet": _PATH,
        "label": {
            # string -> the column; mapping -> {column, policy}. Written without oneOf so that
            # a mistake inside the mapping is reported at its own path.
            "type": ["string", "object"],
            "x-message": "must be a column name or a mapping {column, policy}",
            "minLength": 1,
            "required": ["column"],
            "additionalProperties": False,
            "properties": {"column": _NAME, "policy": {"enum": ["passthrough", "bucket"]}},
        },
        "schema": {
            "type": "object",
            "x-message": "must be a mapping of column name to SQL type, e.g. {age: INT}",
            "minProperties": 1,
            "propertyNames": {"type": "string", "x-message": "column names must be text"},
            "additionalProperties": {"type": "string", "x-message": "must be a SQL type such as INT or VARCHAR(64)"},
        },
        "columns": {
            "type": "array",
            "x-message": "must be a list of column names",
            "minItems": 1,
            "items": _NAME,
        },
        "rename": {
            "type": "object",
            "x-message": "must be a mapping of source column name to new name, e.g. {id: source_id}",
            "propertyNames": {"type": "string", "minLength": 1, "x-message": "column names must be text"},
            "additionalProperties": _NAME,
        },
        "data_id": {
            "type": "object",
            "x-message": "must be a mapping {strategy, column}",
            "additionalProperties": False,
            "properties": {"strategy": {"enum": ["uuid", "column", "content_hash"]}, "column": _NAME},
        },
        "spec": {
            "type": "object",
            "x-message": "must be a mapping (csv_options, json_options, file_options and the sections plugins declare)",
            "additionalProperties": False,
            "properties": {
                "csv_options": {
                    "type": "object",
                    "x-message": "must be a mapping of CSV options",
                    "additionalProperties": False,
                    "properties": {
                        "delimiter": _ONE_CHAR,
                        "quote_char": _ONE_CHAR,
                        "escape_char": {**_ONE_CHAR, "type": ["string", "null"]},
                        "encoding": {"type": "string", "minLength": 1, "x-message": "must be an encoding name such as utf-8"},
                        "null_values": {
                            "type": "array",
                            "x-message": "must be a list of strings",
                            "items": {"type": "string", "x-message": "must be a string (quote values such as 'NA' or '')"},
                        },
                        "header": {"type": "boolean", "default": True},
                        "skip_rows": {"type": "integer", "minimum": 0, "x-message": "must be a whole number of at least 0"},
                        "max_field_bytes": {"type": "integer", "minimum": 1, "x-message": "must be a whole number of bytes, at least 1"},
                    },
                },
                "json_options": {
                    "type": "object",
                    "x-message": "must be a mapping of JSON options",
                    "additionalProperties": False,
                    "properties": {"nested": {"enum": ["refuse", "flatten", "json_text"]}},
                },
                # the selected plugins' options that live here are added by config_schema()
                "file_options": {"type": "object", "x-message": "must be a mapping", "additionalProperties": False, "properties": {}},
            },
        },
    },
}



def config_schema(options: Iterable["Option"] = ()) -> dict:
    """The ingest.yaml JSON schema: the core's keys plus each option's key (a dotted path).

    An option's key lands inside the mappings its path names (``spec.file_options.x``
    goes into ``spec`` → ``file_options``); every mapping still refuses keys nobody
    declared, so a typo is reported with the keys that are allowed there.
    """
    schema = copy.deepcopy(CONFIG_SCHEMA)
    for option in options:
        path = option.yaml_path
        if not path:
            continue
        node = schema
        for key in path[:-1]:
            props = node.setdefault("properties", {})
            child = props.get(key)
            if child is None:
                child = props[key] = {"type": "object", "x-message": "must be a mapping", "additionalProperties": False, "properties": {}}
            elif "properties" not in child:
                break  # a core value, not a mapping: a clash the loader reports
            node = child
        else:
            props = node.setdefault("properties", {})
            if path[-1] not in props:
                rule = dict(option.type.json_schema())
                if option.help:
                    rule["description"] = option.help
                props[path[-1]] = rule
    return schema


def _validator(options: Iterable["Option"]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(config_schema(options))


_TYPE_WORDS = {
    "string": "a string", "integer": "a whole number", "number": "a number", "object": "a mapping",
    "array": "a list", "boolean": "true or false", "null": "null",
}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: YAML would silently keep the last one."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key; the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short(key)}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


class _TooLarge(Exception):
    """The document would expand to more values than a config can need."""


def _load(text: str) -> Any:
    """Parse ``text`` with the strict safe loader, counting aliases as what they expand to first."""
    loader = _StrictLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _TooLarge("nests values too deeply to be an ingest config") from None
        if node is None:
            return None
        if _expanded_size(node, {}, MAX_CONFIG_NODES) > MAX_CONFIG_NODES:
            raise _TooLarge(
                f"expands to more than {MAX_CONFIG_NODES:,} values through YAML aliases (*name); write the values out instead"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], limit: int) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (stops counting past ``limit``)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, limit)
        if total > limit:
            break
    sizes[id(node)] = total
    return total


def read_config(path: Path, options: Iterable["Option"] = ()) -> tuple[dict, list[Problem]]:
    """Parse and validate ``path`` (with the plugins' ``options`` allowed in it).

    Returns the document (``{}`` if unusable) and every problem.
    """
    path = Path(path)
    doc, problems = _parse(path)
    if problems:
        return {}, problems
    return doc, validate_config(doc, path.name, options)


def _parse(path: Path) -> tuple[dict, list[Problem]]:
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            return {}, [Problem(name, f"{path} is not a file")]
        if size > MAX_CONFIG_BYTES:
            return {}, [Problem(name, f"is {size:,} bytes; an ingest config is at most {MAX_CONFIG_BYTES:,}")]
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}, [Problem(name, f"config file {path} does not exist")]
    except UnicodeDecodeError:
        return {}, [Problem(name, "is not UTF-8 text")]
    except OSError as exc:
        return {}, [Problem(name, f"cannot be read ({exc.strerror or type(exc).__name__})")]
    try:
        doc = _load(text)
    except yaml.YAMLError as exc:
        return {}, [Problem(name, _yaml_error(exc))]
    except _TooLarge as exc:
        return {}, [Problem(name, str(exc))]
    if doc is None:
        return {}, [Problem(name, f"is empty; it needs at least apiVersion: {API_VERSION}, kind: {KIND}, category and table")]
    if not isinstance(doc, dict):
        return {}, [Problem(name, "must be a mapping of keys to values at the top level")]
    return doc, []


def peek_config(path: Path) -> dict:
    """The document at ``path`` parsed but not checked (``{}`` when unreadable).

    For choosing the plugin before the options it declares are known; the full check
    (:func:`read_config`) comes later and reports every problem.
    """
    doc, _problems = _parse(Path(path))
    return doc


def validate_config(doc: Any, file_name: str = "ingest.yaml", options: Iterable["Option"] = ()) -> list[Problem]:
    """Every schema violation of ``doc``, sorted by path, each named ``<file>: <json path>``."""
    found: dict[tuple[str, str], None] = {}
    for error in _validator(options).iter_errors(doc):
        for where, message in _explain(error):
            label = f"{file_name}: {where}" if where else file_name
            found[(label, message)] = None
    return [Problem(w, m) for w, m in sorted(found)]


def usable_part(doc: dict, options: Iterable["Option"] = ()) -> dict:
    """``doc`` without the top-level keys that hold a schema violation (safe to read by type)."""
    bad: set[str] = set()
    for error in _validator(options).iter_errors(doc):
        path = list(error.absolute_path)
        if path:
            bad.add(str(path[0]))
        elif error.validator == "not":
            bad.update(("csv", "json", "parquet"))
    return {k: v for k, v in doc.items() if k not in bad}


def _explain(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    """Turn one jsonschema error into (json path, message) pairs that echo no long values."""
    path = _json_path(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("x-message")
    instance = error.instance
    if kind == "required":
        missing = [k for k in error.validator_value if isinstance(instance, dict) and k not in instance]
        hint = {"apiVersion": f" (use {API_VERSION})", "kind": f" (use {KIND})"}
        return [(_join(path, k), "is required" + hint.get(k, "")) for k in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = ", ".join(sorted(schema.get("properties", {}))) or "none (the selected plugins declare no keys here)"
        extra = [k for k in instance if k not in schema.get("properties", {})]
        return [(_join(path, str(k)), f"unknown key; allowed here: {allowed}") for k in extra]
    if kind == "not" and not path:
        return [("csv, json, parquet", "give only one of csv, json or parquet")]
    if kind == "propertyNames":
        return [(path, custom or "has an unusable key")]
    if kind == "enum":
        return [(path, f"is not accepted; must be one of: {', '.join(map(str, error.validator_value))}")]
    if kind == "const":
        return [(path, f"is not accepted; must be {error.validator_value}")]
    if kind == "type":
        words = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [(path, custom or "must be " + " or ".join(_TYPE_WORDS.get(w, w) for w in words))]
    if kind in ("minimum", "exclusiveMinimum", "maximum"):
        return [(path, custom or f"must be {'at least' if kind == 'minimum' else 'above'} {error.validator_value}")]
    if custom:
        return [(path, custom)]
    # jsonschema's own messages quote the value, which may be anything: name the rule only
    return [(path, f"violates the rule {kind!r}")]


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, str(part))
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else "the given value"


def _yaml_error(exc: yaml.YAMLError) -> str:
    # Only the reason and position: the parser's context lines would quote the file.
    mark = getattr(exc, "problem_mark", None)
    reason = getattr(exc, "problem", None) or "is not valid YAML"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"is not valid YAML{where}: {reason}"
