"""The SQL type vocabulary of dataset schemas and how each type maps onto Arrow.

A schema maps column names to SQL type strings such as ``VARCHAR(64)``, ``INT`` or
``DECIMAL(10,2)``. Parsing is strict: what cannot be created in MySQL is refused here,
before any data is read.
"""

from __future__ import annotations

import re
from typing import Mapping

import attrs
import pyarrow as pa

# Framework columns of every dataset table, in the order the platform expects.
FRAMEWORK_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "label",
    "data_intent",
    "data_id",
    "filename",
    "extension",
    "annotation",
    "ingestor_id",
)
# A feature column may not reuse these names ("label" is the target's own column).
RESERVED_FEATURE_NAMES = frozenset(FRAMEWORK_COLUMNS) - {"label"}
MAX_IDENTIFIER_LENGTH = 64

# name -> (arrow type, integer bounds or None)
_INTEGER_TYPES = {
    "TINYINT": (pa.int8(), (-(2**7), 2**7 - 1)),
    "SMALLINT": (pa.int16(), (-(2**15), 2**15 - 1)),
    "MEDIUMINT": (pa.int32(), (-(2**23), 2**23 - 1)),
    "INT": (pa.int32(), (-(2**31), 2**31 - 1)),
    "BIGINT": (pa.int64(), (-(2**63), 2**63 - 1)),
}
_ALIASES = {"INTEGER": "INT", "BOOL": "BOOLEAN", "NUMERIC": "DECIMAL", "TIMESTAMP": "DATETIME", "REAL": "DOUBLE"}
_KNOWN = set(_INTEGER_TYPES) | {
    "VARCHAR", "CHAR", "TEXT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN", "DATE", "DATETIME", "TIME",
}
_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")


class SchemaError(ValueError):
    """A schema entry that cannot be used; the message names the column and the rule."""


@attrs.frozen
class SqlType:
    """A parsed SQL column type (canonical name plus length/precision/scale).

    For DATETIME and TIME, ``precision`` is the number of fraction digits of the seconds
    (0 to 6) when the type names it, as in ``DATETIME(6)``; a bare ``DATETIME`` holds
    microseconds in the schema vocabulary (see :mod:`tracebloc_ingestor.sinks.db.sql_types`).
    """

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name in ("VARCHAR", "CHAR"):
            return f"{self.name}({self.length})"
        if self.name == "DECIMAL":
            return f"DECIMAL({self.precision},{self.scale})"
        if self.precision is not None:  # DATETIME(fsp), TIME(fsp)
            return f"{self.name}({self.precision})"
        return self.name

    @property
    def is_text(self) -> bool:
        return self.name in ("VARCHAR", "CHAR", "TEXT")

    @property
    def is_integer(self) -> bool:
        return self.name in _INTEGER_TYPES

    @property
    def is_float(self) -> bool:
        return self.name in ("FLOAT", "DOUBLE")

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.is_float or self.name == "DECIMAL"

    @property
    def integer_bounds(self) -> tuple[int, int] | None:
        entry = _INTEGER_TYPES.get(self.name)
        return entry[1] if entry else None

    def arrow_type(self) -> pa.DataType:
        if self.is_text:
            return pa.string()
        if self.is_integer:
            return _INTEGER_TYPES[self.name][0]
        if self.is_float:
            return pa.float64()
        return {
            "DECIMAL": lambda: pa.decimal128(self.precision, self.scale),
            "BOOLEAN": pa.bool_,
            "DATE": pa.date32,
            "DATETIME": lambda: pa.timestamp("us"),
            "TIME": lambda: pa.time64("us"),
        }[self.name]()


def parse_sql_type(text: str) -> SqlType:
    """Parse ``text`` (e.g. ``"varchar(20)"``) into a :class:`SqlType` or raise SchemaError."""
    match = _TYPE_RE.match(str(text))
    if not match:
        raise SchemaError(f"{text!r} is not a SQL type of the form NAME or NAME(n) or NAME(p,s)")
    raw, first, second = match.group(1).upper(), match.group(2), match.group(3)
    name = _ALIASES.get(raw, raw)
    if name not in _KNOWN:
        raise SchemaError(f"unsupported SQL type {raw!r}; use one of {', '.join(sorted(_KNOWN))}")
    if name in ("VARCHAR", "CHAR"):
        if first is None or second is not None:
            raise SchemaError(f"{name} needs one length, e.g. {name}(64)")
        length = int(first)
        limit = 255 if name == "CHAR" else 16383
        if not 1 <= length <= limit:
            raise SchemaError(f"{name} length must be between 1 and {limit}")
        return SqlType(name, length=length)
    if name == "DECIMAL":
        precision = int(first) if first is not None else 10
        scale = int(second) if second is not None else 0
        if not (1 <= precision <= 38 and 0 <= scale <= precision):
            raise SchemaError("DECIMAL(p,s) needs 1 <= p <= 38 and 0 <= s <= p")
        return SqlType(name, precision=precision, scale=scale)
    if name in ("DATETIME", "TIME") and first is not None:
        if second is not None or not 0 <= int(first) <= 6:
            raise SchemaError(f"{name}(n) takes the number of fraction digits of the seconds, 0 to 6")
        return SqlType(name, precision=int(first))
    if first is not None and not (name in _INTEGER_TYPES or name in ("FLOAT", "DOUBLE")):
        raise SchemaError(f"{name} takes no length")
    return SqlType(name)


@attrs.frozen
class Column:
    name: str
    type: SqlType


def check_column_name(name: str) -> str | None:
    """Return why ``name`` cannot be a feature column, or None when it can."""
    if not name or not name.strip():
        return "column names must not be empty"
    if name != name.strip():
        return "column names must not start or end with white space"
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"column names are at most {MAX_IDENTIFIER_LENGTH} characters"
    if "\x00" in name or "%(" in name or "%s" in name:
        return "column names must not contain NUL, '%(' or '%s'"
    if name.lower() in RESERVED_FEATURE_NAMES:
        return f"{name!r} is a framework column; rename it or use it as the data_id column"
    return None


@attrs.frozen
class TableSchema:
    """The typed feature columns of a dataset table, in table order."""

    features: tuple[Column, ...] = ()
    #: whether the columns were inferred from the data rather than declared (reported so it can be pinned)
    inferred: bool = attrs.field(default=False, eq=False)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> "TableSchema":
        problems = []
        columns = []
        for name, text in mapping.items():
            why = check_column_name(name)
            if why:
                problems.append(f"schema.{name}: {why}")
                continue
            try:
                columns.append(Column(name, parse_sql_type(text)))
            except SchemaError as exc:
                problems.append(f"schema.{name}: {exc}")
        if problems:
            raise SchemaError("; ".join(problems))
        return cls(tuple(columns))

    def names(self) -> list[str]:
        return [c.name for c in self.features]

    def to_mapping(self) -> dict[str, str]:
        return {c.name: str(c.type) for c in self.features}
