"""Typed options that the core and plugins declare, and the frozen values a run gets.

An :class:`Option` names one setting once; the host derives from it the command-line
flag (``tb-ingest --help``), the environment variable (also accepted with a
``TRACEBLOC_`` prefix, which wins), the ``ingest.yaml`` key and its JSON-schema rule.
A plugin lists its options on its category (``options = (...)``) or returns them from
``tb_options``; a run resolves them with the same precedence as the core's own settings
(flag > environment > ingest.yaml > default) and hands the category an
:class:`OptionValues`: frozen, typed, with the origin of every value.

Types are small objects with ``parse`` and ``json_schema``: :class:`Text`,
:class:`Integer`, :class:`Number`, :class:`Boolean`, :class:`Choice`, :class:`Size`,
:class:`PathValue` and :class:`Names`. The Python types ``str``, ``int``, ``float``,
``bool`` and ``pathlib.Path`` may be given instead and mean the plain variants.
"""

from __future__ import annotations

import math
import pathlib
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Iterable

import attrs

__all__ = [
    "Boolean",
    "Choice",
    "Integer",
    "Names",
    "Number",
    "Option",
    "OptionError",
    "OptionType",
    "OptionValues",
    "PathValue",
    "Size",
    "Text",
    "option_type",
    "options_reference",
]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FLAG_RE = re.compile(r"^--[a-z][a-z0-9-]*$")
_YAML_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class OptionError(ValueError):
    """A value an option cannot take; the message says what is accepted, never the value itself."""


class Derived:
    """Marker default of ``Option.env``/``flag``/``yaml``: derived from the option's name."""

    def __repr__(self) -> str:
        return "DERIVED"


DERIVED: Any = Derived()


# -- types ----------------------------------------------------------------------------


class OptionType:
    """How an option's raw value (text from a flag or the environment, a YAML node) becomes typed.

    ``parse`` raises :class:`OptionError` with a message saying what is accepted.
    ``json_schema`` is the rule for the ``ingest.yaml`` key (with an ``x-message`` used
    when a value breaks it). ``metavar`` names the value in ``--help``.
    """

    metavar = "TEXT"
    is_flag = False  # a command-line switch without a value

    def parse(self, raw: Any) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict:
        return {}

    def describe(self) -> str:
        """What is accepted, in words (for --help and docs)."""
        return ""


@attrs.frozen
class Text(OptionType):
    """A non-empty string."""

    metavar = "TEXT"

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw:
            raise OptionError("must be text")
        return raw

    def json_schema(self) -> dict:
        return {"type": "string", "minLength": 1, "x-message": "must be non-empty text"}

    def describe(self) -> str:
        return "text"


@attrs.frozen
class Integer(OptionType):
    """A whole number, optionally bounded (``minimum``/``maximum`` inclusive)."""

    minimum: int | None = None
    maximum: int | None = None
    metavar = "N"

    def _rule(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"must be a whole number from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"must be a whole number of at least {self.minimum:,}"
        if self.maximum is not None:
            return f"must be a whole number of at most {self.maximum:,}"
        return "must be a whole number"

    def parse(self, raw: Any) -> int:
        rule = self._rule()
        if isinstance(raw, bool):
            raise OptionError(rule)
        try:
            value = raw if isinstance(raw, int) else int(str(raw).strip())
        except ValueError:
            raise OptionError(f"is not a number; {rule}") from None
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise OptionError(f"is out of range; {rule}")
        return value

    def json_schema(self) -> dict:
        schema: dict = {"type": "integer", "x-message": self._rule()}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def describe(self) -> str:
        return self._rule().removeprefix("must be ")


@attrs.frozen
class Number(OptionType):
    """A finite number; ``above`` excludes its bound, ``minimum`` includes it."""

    minimum: float | None = None
    above: float | None = None
    metavar = "X"

    def _rule(self) -> str:
        if self.above is not None:
            return f"must be a number above {self.above:g}"
        if self.minimum is not None:
            return f"must be a number of at least {self.minimum:g}"
        return "must be a finite number"

    def parse(self, raw: Any) -> float:
        rule = self._rule()
        if isinstance(raw, bool):
            raise OptionError(rule)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise OptionError(f"is not a number; {rule}") from None
        if not math.isfinite(value) or (self.above is not None and value <= self.above) or (
            self.minimum is not None and value < self.minimum
        ):
            raise OptionError(rule)
        return value

    def json_schema(self) -> dict:
        schema: dict = {"type": "number", "x-message": self._rule()}
        if self.above is not None:
            schema["exclusiveMinimum"] = self.above
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema

    def describe(self) -> str:
        return self._rule().removeprefix("must be ")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@attrs.frozen
class Boolean(OptionType):
    """true/false (also 1/0, yes/no, on/off); on the command line a switch."""

    metavar = ""
    is_flag = True

    def parse(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise OptionError("is not accepted; use true or false")

    def json_schema(self) -> dict:
        return {"type": "boolean", "x-message": "must be true or false"}

    def describe(self) -> str:
        return "true or false"


@attrs.frozen(init=False)
class Choice(OptionType):
    """One of a fixed set of words (matched ignoring case unless ``case_sensitive``)."""

    choices: tuple[str, ...]
    case_sensitive: bool = False

    def __init__(self, *choices: str, case_sensitive: bool = False) -> None:
        if not choices or not all(isinstance(c, str) and c for c in choices):
            raise TypeError("Choice needs at least one non-empty string")
        self.__attrs_init__(tuple(choices), case_sensitive)

    @property
    def metavar(self) -> str:  # type: ignore[override]
        return "[" + "|".join(self.choices) + "]"

    def _fold(self, text: str) -> str:
        return text if self.case_sensitive else text.lower()

    def parse(self, raw: Any) -> str:
        if isinstance(raw, str):
            for choice in self.choices:
                if self._fold(choice) == self._fold(raw.strip()):
                    return choice
        raise OptionError(f"is not accepted; use one of: {', '.join(self.choices)}")

    def json_schema(self) -> dict:
        if self.case_sensitive:
            return {"enum": list(self.choices)}
        words = "|".join(re.escape(c) for c in self.choices)
        return {"type": "string", "pattern": f"(?i)^(?:{words})$", "x-message": f"is not accepted; use one of: {', '.join(self.choices)}"}

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


@attrs.frozen
class Size(OptionType):
    """Two positive whole numbers, width then height: ``[64, 64]`` in YAML, ``64x64`` as text."""

    metavar = "WxH"

    def parse(self, raw: Any) -> tuple[int, int]:
        if isinstance(raw, str):
            raw = [p for p in re.split(r"[xX,\s]+", raw.strip()) if p]
        if (
            isinstance(raw, (list, tuple))
            and len(raw) == 2
            and all(
                isinstance(v, (int, str)) and not isinstance(v, bool) and str(v).strip().isdigit() and int(v) > 0
                for v in raw
            )
        ):
            return int(raw[0]), int(raw[1])
        raise OptionError("must be [width, height] with two positive whole numbers (WxH as text, e.g. 64x64)")

    def json_schema(self) -> dict:
        return {
            "type": "array",
            "x-message": "must be [width, height] with two positive whole numbers",
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "integer", "minimum": 1, "x-message": "must be a positive whole number"},
        }

    def describe(self) -> str:
        return "[width, height], or WxH as text"


@attrs.frozen
class PathValue(OptionType):
    """A path. In ``ingest.yaml`` it is relative to the file; elsewhere to ``relative_to``.

    ``relative_to`` is ``"source"`` (the source root, ``SRC_PATH``) or ``"cwd"`` (the
    working folder). The host resolves it; ``parse`` only checks the text.
    """

    relative_to: str = attrs.field(default="source", validator=attrs.validators.in_(("source", "cwd")))
    metavar = "PATH"

    def parse(self, raw: Any) -> pathlib.Path:
        if isinstance(raw, pathlib.PurePath):
            return pathlib.Path(raw)
        if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
            raise OptionError("must be a non-empty path")
        return pathlib.Path(raw)

    def json_schema(self) -> dict:
        return {"type": "string", "minLength": 1, "x-message": "must be a non-empty path"}

    def describe(self) -> str:
        return f"a path (relative to {'the source root' if self.relative_to == 'source' else 'the working folder'}; in ingest.yaml to the file)"


@attrs.frozen
class Names(OptionType):
    """A list of names: a YAML list, or comma-separated text."""

    metavar = "A,B,..."

    def parse(self, raw: Any) -> tuple[str, ...]:
        if isinstance(raw, str):
            items: list[Any] = raw.split(",")
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise OptionError("must be a list of names (comma-separated as text)")
        if not all(isinstance(item, str) for item in items):
            raise OptionError("must be a list of names (comma-separated as text)")
        return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))

    def json_schema(self) -> dict:
        return {
            "type": "array",
            "x-message": "must be a list of names",
            "items": {"type": "string", "minLength": 1, "x-message": "must be a non-empty name"},
        }

    def describe(self) -> str:
        return "a list of names (comma-separated as text)"


_PYTHON_TYPES: dict[Any, OptionType] = {
    str: Text(),
    int: Integer(),
    float: Number(),
    bool: Boolean(),
    pathlib.Path: PathValue(),
}


def option_type(value: Any) -> OptionType:
    """``value`` as an :class:`OptionType` (a Python type names the plain variant)."""
    if isinstance(value, OptionType):
        return value
    try:
        return _PYTHON_TYPES[value]
    except (KeyError, TypeError):
        raise TypeError(
            f"an option's type is str, int, float, bool, pathlib.Path or an OptionType such as Choice(...); got {value!r}"
        ) from None


# -- the declaration ------------------------------------------------------------------


def _check_name(_instance: Any, _attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise OptionError(f"option name {value!r} must be lower-case letters, digits and '_', starting with a letter")


@attrs.frozen
class Option:
    """One setting of a plugin (or of the core), offered in up to three forms.

    ``env``, ``flag`` and ``yaml`` default to forms derived from ``name``
    (``max_duration`` → ``MAX_DURATION``, ``--max-duration``, ``max_duration``); give
    ``None`` to not offer a form. ``yaml`` may be a dotted path such as
    ``spec.file_options.max_duration``. A ``secret`` option is never printed; its value
    is shown as "set"/"unset". ``help`` is required: it is the option's documentation.
    """

    name: str = attrs.field(validator=_check_name)
    type: OptionType = attrs.field(default=Text(), converter=option_type)
    default: Any = None
    help: str = ""
    env: str | None = DERIVED
    flag: str | None = DERIVED
    yaml: str | None = DERIVED
    secret: bool = False
    metavar: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.env is DERIVED:
            object.__setattr__(self, "env", self.name.upper())
        if self.flag is DERIVED:
            object.__setattr__(self, "flag", "--" + self.name.replace("_", "-"))
        if self.yaml is DERIVED:
            object.__setattr__(self, "yaml", self.name)
        if self.env is not None and not _ENV_RE.match(self.env):
            raise OptionError(f"option {self.name!r}: environment variable {self.env!r} must be upper-case letters, digits and '_'")
        if self.flag is not None and not _FLAG_RE.match(self.flag):
            raise OptionError(f"option {self.name!r}: flag {self.flag!r} must look like --lower-case-words")
        if self.yaml is not None and not _YAML_RE.match(self.yaml):
            raise OptionError(f"option {self.name!r}: ingest.yaml key {self.yaml!r} must be lower-case words joined by '.'")

    @property
    def yaml_path(self) -> tuple[str, ...]:
        return tuple(self.yaml.split(".")) if self.yaml else ()

    @property
    def env_names(self) -> tuple[str, ...]:
        """The environment variables read, the winning one first."""
        if self.env is None:
            return ()
        return (self.env,) if self.env.startswith("TRACEBLOC_") else ("TRACEBLOC_" + self.env, self.env)

    def help_text(self) -> str:
        """``help`` plus where else the option can be given and its default (for --help)."""
        parts = [self.help.rstrip(".") if self.help else ""]
        if self.env:
            parts.append(f"env {self.env}")
        if self.yaml:
            parts.append(f"ingest.yaml {self.yaml}")
        if self.default not in (None, False, ()) and not self.secret:
            parts.append(f"default {_show(self.default)}")
        return "; ".join(p for p in parts if p) + "."

    def forms(self) -> list[str]:
        """Every name the option answers to, for messages about clashes."""
        return [f for f in (self.flag, self.env and f"environment {self.env}", self.yaml and f"ingest.yaml {self.yaml}") if f]


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}x{value[1]}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def option_clashes(declared: Iterable[tuple[Option, str]]) -> list[str]:
    """Every pair of options (with their owners) that claim one name, flag, variable or key."""
    problems: list[str] = []
    seen: dict[tuple[str, str], tuple[Option, str]] = {}
    for option, owner in declared:
        keys = [("name", option.name)]
        if option.flag:
            keys.append(("flag", option.flag))
        if option.env:
            keys.append(("environment variable", option.env))
        if option.yaml:
            keys.append(("ingest.yaml key", option.yaml))
        for key in keys:
            if key in seen:
                first, first_owner = seen[key]
                if first is option:
                    continue
                problems.append(f"{key[0]} {key[1]!r} is declared by both {first_owner} and {owner}")
            else:
                seen[key] = (option, owner)
    # a key that is a prefix of another's (a: 1 and a.b: 2) cannot be both a value and a
    # mapping; one owner may do it on purpose (the core's label and label.policy)
    keys = sorted((o.yaml, owner) for o, owner in declared if o.yaml)
    for i, (a, owner_a) in enumerate(keys):
        for b, owner_b in keys[i + 1 :]:
            if not b.startswith(a + "."):
                break
            if owner_a != owner_b:
                problems.append(f"ingest.yaml key {a!r} ({owner_a}) cannot also hold {b!r} ({owner_b})")
    return problems


# -- the values a run gets ---------------------------------------------------------------


class OptionValues(Mapping):
    """The resolved options of a run: typed, frozen, read as ``options.name`` or ``options["name"]``.

    ``origin(name)`` says where a value came from (``--max-duration``, ``environment
    MAX_DURATION``, ``ingest.yaml: max_duration`` or ``default``).
    """

    __slots__ = ("_values", "_origins", "_secret")

    def __init__(self, values: Mapping[str, Any] | None = None, origins: Mapping[str, str] | None = None, secret: Iterable[str] = ()) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(values or {})))
        object.__setattr__(self, "_origins", MappingProxyType(dict(origins or {})))
        object.__setattr__(self, "_secret", frozenset(secret))

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise AttributeError(f"no option {name!r} in this run (declared: {known})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptionValues) and dict(self._values) == dict(other._values)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        shown = {k: ("set" if v is not None else "unset") if k in self._secret else v for k, v in self._values.items()}
        return f"OptionValues({shown!r})"

    def origin(self, name: str) -> str:
        return self._origins.get(name, "default")

    @property
    def origins(self) -> Mapping[str, str]:
        return self._origins

    def describe(self) -> dict:
        """A JSON-ready view; secrets only as "set"/"unset"."""
        out: dict[str, Any] = {}
        for key, value in self._values.items():
            if key in self._secret:
                out[key] = "set" if value is not None else "unset"
            elif isinstance(value, pathlib.PurePath):
                out[key] = str(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out


# -- documentation -----------------------------------------------------------------------


def options_reference(options: Iterable[Option], *, heading: str = "###") -> str:
    """Markdown documenting ``options``: a heading per option, its forms, type and default.

    Distributions paste it into their README (the conformance kit checks that every form
    is mentioned there); the core's own page is ``core/docs/options.md``.
    """
    parts = []
    for option in options:
        text = option.help.strip() or "(undocumented)"
        text = text if text.endswith(".") else text + "."
        forms = [
            f"`{option.flag}`" if option.flag else "—",
            f"`{option.env}`" if option.env else "—",
            f"`{option.yaml}`" if option.yaml else "—",
        ]
        kind = option.type.describe() or option.type.metavar.lower()
        default = "—" if option.default in (None, ()) else ("(secret)" if option.secret else f"`{_show(option.default)}`")
        parts.append(
            f"{heading} `{option.name}`\n\n{text}\n\n"
            "| Flag | Environment | ingest.yaml | Accepts | Default |\n|---|---|---|---|---|\n"
            f"| {' | '.join(forms)} | {kind} | {default} |\n"
        )
    return "\n".join(parts)
