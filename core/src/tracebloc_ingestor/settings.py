"""Run settings: CLI flags > environment > ingest.yaml > defaults, checked all at once.

:func:`load_settings` is pure: it reads the mappings it is given (and the ingest.yaml file),
never ``os.environ``, never data files, and writes nothing. Every problem it finds is
collected and raised together as one :class:`ConfigError`.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import attrs
import sqlalchemy
from sqlalchemy.engine import make_url

from .config_file import ConfigError, Problem, read_config, usable_part
from .schema import SchemaError, check_column_name, parse_sql_type

__all__ = [
    "API_URLS",
    "ENV_NAMES",
    "ConfigError",
    "Problem",
    "Settings",
    "load_settings",
    "require_table",
    "table_name_problem",
]

API_URLS = {
    "prod": "https://api.tracebloc.io/",
    "stg": "https://stg-api.tracebloc.io/",
    "dev": "https://dev-api.tracebloc.io/",
}
INTENTS = ("train", "test")
LABEL_POLICIES = ("passthrough", "bucket")
DATA_ID_STRATEGIES = ("content_hash", "column", "uuid")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AUTH_SCHEMES = ("Token", "Bearer")
SOURCE_FORMATS = ("csv", "json", "parquet")
RESIZE_POLICIES = ("reject", "resize", "pad")
# 8192 x 8192: far above any training image, far below what exhausts a pod's memory.
DEFAULT_MAX_PIXELS = 8192 * 8192
_EXTENSION_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".parquet": "parquet",
}

# Settings field -> environment variable (the contract's names; see _env_candidates for the prefix).
ENV_NAMES = {
    "client_id": "CLIENT_ID",
    "client_password": "CLIENT_PASSWORD",
    "backend_token": "BACKEND_TOKEN",
    "client_env": "CLIENT_ENV",
    "client_pvc": "CLIENT_PVC",
    "mysql_host": "MYSQL_HOST",
    "mysql_port": "MYSQL_PORT",
    "db_user": "DB_USER",
    "db_password": "DB_PASSWORD",
    "db_name": "DB_NAME",
    "src_path": "SRC_PATH",
    "label_file": "LABEL_FILE",
    "table": "TABLE_NAME",
    "title": "TITLE",
    "log_level": "LOG_LEVEL",
    "batch_size": "BATCH_SIZE",
    "config_path": "INGEST_CONFIG",
    "api_url": "TRACEBLOC_API_URL",
    "storage_path": "STORAGE_PATH",
    "api_deadline": "TRACEBLOC_API_DEADLINE",
    "database_url": "DATABASE_URL",
    "intent": "DATA_INTENT",
    "label_column": "LABEL_COLUMN",
    "output_dir": "TRACEBLOC_OUTPUT_DIR",
    "auth_scheme": "TRACEBLOC_AUTH_SCHEME",
    "category": "CATEGORY",
    "resize_policy": "RESIZE_POLICY",
    "full_decode": "FULL_DECODE",
    "max_pixels": "MAX_PIXELS",
    "min_size": "MIN_SIZE",
    "time_column": "TIME_COLUMN",
}
# CLI spelling of fields whose flag is not simply --field-name.
_FLAG_NAMES = {
    "plugins": "--plugin",
    "table": "--table",
    "data_id_strategy": "--data-id",
    "report_path": "--report",
    "rejects_path": "--rejects",
    "config_path": "--config",
}
_SECRETS = frozenset({"database_url", "db_password", "client_password", "backend_token"})

_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TABLE_NAME_LENGTH = 63
# Common MySQL reserved words (plus USER, reserved in standard SQL): a table named like
# one of these needs quoting everywhere and breaks tools that forget to.
RESERVED_TABLE_NAMES = frozenset("""
    add all alter analyze and as asc between bigint binary blob both by call cascade case
    change char character check collate column condition constraint continue convert create
    cross current_date current_time current_timestamp current_user cursor database databases
    decimal declare default delete desc describe distinct div double drop dual each else
    elseif exists exit explain false fetch float for force foreign from fulltext grant group
    groups having if ignore in index inner insert int integer interval into is join key keys
    kill leading left like limit lines load lock long match mod natural not null numeric on
    option or order outer primary procedure range rank read real references regexp rename
    repeat replace require restrict return revoke right rlike row rows schema schemas select
    set show smallint sql table then to trailing trigger true union unique unlock unsigned
    update usage use user using values varchar when where while window with write xor
""".split())  # noqa: SIM905 - a word list reads better as text
BOOKKEEPING_TABLES = frozenset({"tracebloc_ingest_runs", "tracebloc_ingest_meta"})
_CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PVC_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _frozen_map(value: Mapping | None) -> Mapping:
    return MappingProxyType(dict(value or {}))


def _optional_map(value: Mapping | None) -> Mapping | None:
    return None if value is None else MappingProxyType(dict(value))


def _optional_path(value: Any) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen(kw_only=True)
class Settings:
    """Everything one run needs to know, already validated. Build it with :func:`load_settings`."""

    # what to run
    category: str | None = None
    plugins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    table: str | None = None
    title: str | None = None
    intent: str = "train"
    # where the input is
    src_path: Path = attrs.field(converter=Path)
    label_file: Path | None = attrs.field(default=None, converter=_optional_path)
    source_format: str | None = None
    images: Path | None = attrs.field(default=None, converter=_optional_path)
    annotations: Path | None = attrs.field(default=None, converter=_optional_path)
    masks: Path | None = attrs.field(default=None, converter=_optional_path)
    texts: Path | None = attrs.field(default=None, converter=_optional_path)
    sequences: Path | None = attrs.field(default=None, converter=_optional_path)
    label_column: str | None = "label"
    label_policy: str | None = None
    schema: Mapping[str, str] | None = attrs.field(default=None, converter=_optional_map)
    time_column: str | None = None
    target_size: tuple[int, int] | None = None
    number_of_keypoints: int | None = None
    data_id_strategy: str = "content_hash"
    data_id_column: str | None = None
    csv_options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)
    file_options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)
    # run behaviour
    batch_size: int = 50_000
    log_level: str = "WARNING"
    validate_only: bool = False
    output_dir: Path = attrs.field(converter=Path)
    metadata_out: Path | None = attrs.field(default=None, converter=_optional_path)
    report_path: Path | None = attrs.field(default=None, converter=_optional_path)
    rejects_path: Path | None = attrs.field(default=None, converter=_optional_path)
    # database
    database_url: str | None = attrs.field(default=None, repr=False)
    mysql_host: str | None = None
    mysql_port: int = 3306
    db_user: str | None = None
    db_password: str | None = attrs.field(default=None, repr=False)
    db_name: str = "training_test_datasets"
    # files / cluster
    storage_path: Path = attrs.field(default=Path("/data/shared"), converter=Path)
    client_pvc: str = "client-pvc"
    # images (file-bearing image categories)
    resize_policy: str = "reject"
    full_decode: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_size: tuple[int, int] | None = None
    # backend
    client_id: str | None = None
    client_password: str | None = attrs.field(default=None, repr=False)
    backend_token: str | None = attrs.field(default=None, repr=False)
    client_env: str = "prod"
    api_url: str | None = None
    api_deadline: float = 300.0
    auth_scheme: str = "Token"
    config_path: Path | None = attrs.field(default=None, converter=_optional_path)
    origins: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map, eq=False, repr=False)

    def database_url_or_default(self) -> str:
        """The SQLAlchemy URL to connect with (contains the password: never log it)."""
        if self.database_url:
            url = make_url(self.database_url)
            # The platform's MySQL is utf8mb4; a URL without a charset would get latin1 or utf8mb3.
            if url.get_backend_name() in ("mysql", "mariadb") and "charset" not in url.query:
                url = url.update_query_dict({"charset": "utf8mb4"})
                return url.render_as_string(hide_password=False)
            return self.database_url
        if self.mysql_host:
            url = sqlalchemy.URL.create(
                "mysql+pymysql",
                username=self.db_user,
                password=self.db_password,
                host=self.mysql_host,
                port=self.mysql_port,
                database=self.db_name,
                query={"charset": "utf8mb4"},
            )
            return url.render_as_string(hide_password=False)
        return f"sqlite:///{self.output_dir}/ingest.sqlite"

    def api_base_url(self) -> str:
        """Backend base URL, always ending with ``/``."""
        url = self.api_url or API_URLS[self.client_env]
        return url if url.endswith("/") else url + "/"

    @property
    def has_backend_credentials(self) -> bool:
        return bool(self.backend_token or (self.client_id and self.client_password))

    def describe(self) -> dict:
        """A JSON-ready view for logs and reports: secrets only as "set"/"unset"."""
        out: dict[str, Any] = {}
        for field in attrs.fields(Settings):
            if field.name == "origins":
                continue
            value = getattr(self, field.name)
            if field.name == "database_url":
                value = _masked_url(value) if value else None
            elif field.name in _SECRETS:
                value = "set" if value else "unset"
            out[field.name] = _jsonable(value)
        out["effective_database_url"] = _masked_url(self.database_url_or_default())
        out["api_base_url"] = self.api_base_url()
        out["origins"] = dict(self.origins)
        return out


def _masked_url(text: str) -> str:
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL may still hold a password
        return "set (unparsable)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def table_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a dataset table name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "a table name must not be empty"
    if len(name) > MAX_TABLE_NAME_LENGTH:
        return f"a table name is at most {MAX_TABLE_NAME_LENGTH} characters (this one has {len(name)})"
    if not _TABLE_RE.match(name):
        return "a table name may hold only letters, digits and underscores and must not start with a digit"
    if name.lower() in RESERVED_TABLE_NAMES:
        return f"{name!r} is a reserved SQL word; choose another table name"
    if name.lower() in BOOKKEEPING_TABLES:
        return f"{name!r} is one of the ingestor's own bookkeeping tables"
    return None


def require_table(settings: Settings) -> None:
    """Raise ConfigError when no destination table was given (a run needs one)."""
    if settings.table is None:
        raise ConfigError([Problem(
            "TABLE_NAME",
            "no destination table: set TABLE_NAME, pass --table or put 'table:' in ingest.yaml",
        )])


# --------------------------------------------------------------------------------------------
# loading


class _Unset:
    pass


_UNSET = _Unset()


@attrs.define
class _Loader:
    flags: Mapping[str, Any]
    environ: Mapping[str, str]
    cwd: Path
    problems: list[Problem] = attrs.Factory(list)
    origins: dict[str, str] = attrs.Factory(dict)
    values: dict[str, Any] = attrs.Factory(dict)
    yaml_doc: dict = attrs.Factory(dict)
    yaml_name: str = "ingest.yaml"
    yaml_dir: Path | None = None

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    # -- sources ------------------------------------------------------------------------------

    def flag(self, field: str) -> tuple[Any, str] | None:
        value = self.flags.get(field)
        if value is None or value is False or value == "" or (isinstance(value, (tuple, list)) and not value):
            return None
        return value, _FLAG_NAMES.get(field, "--" + field.replace("_", "-"))

    def env(self, field: str) -> tuple[str, str] | None:
        base = ENV_NAMES.get(field)
        if base is None:
            return None
        for name in _env_candidates(base):
            value = self.environ.get(name)
            if value is not None and value.strip():
                return value, f"environment {name}"
        return None

    def yaml(self, *keys: str) -> tuple[Any, str] | None:
        node: Any = self.yaml_doc
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        if node is None:
            return None
        return node, f"{self.yaml_name}: {'.'.join(keys)}"

    def pick(self, field: str, *yaml_keys: str) -> tuple[Any, str, str]:
        """(raw value, origin, source kind) of ``field`` from the highest source that has it."""
        got = self.flag(field)
        if got:
            return got[0], got[1], "flag"
        got = self.env(field)
        if got:
            return got[0], got[1], "env"
        got = self.yaml(*yaml_keys) if yaml_keys else None
        if got:
            return got[0], got[1], "yaml"
        return _UNSET, "default", "default"

    # -- typed fields -------------------------------------------------------------------------

    def set(self, field: str, value: Any, origin: str) -> None:
        self.values[field] = value
        self.origins[field] = origin

    def field(self, field: str, default: Any, parse: Callable[[Any, str], Any], *yaml_keys: str) -> Any:
        raw, origin, kind = self.pick(field, *yaml_keys)
        if raw is _UNSET:
            self.set(field, default, "default")
            return default
        if field not in _SECRETS and isinstance(raw, str):
            raw = raw.strip()
        try:
            value = parse(raw, kind)
        except _Bad as bad:
            self.problem(origin, str(bad))
            value = default
        self.set(field, value, origin)
        return value

    def path_field(self, field: str, base: Path, *yaml_keys: str) -> Path | None:
        raw, origin, kind = self.pick(field, *yaml_keys)
        if raw is _UNSET:
            self.set(field, None, "default")
            return None
        # ingest.yaml paths are relative to the file; others to their given base.
        root = self.yaml_dir if kind == "yaml" and self.yaml_dir is not None else base
        value = _absolute(raw, root)
        self.set(field, value, origin)
        return value


class _Bad(ValueError):
    """A value that cannot be used; the message says what is accepted."""


def _env_candidates(base: str) -> tuple[str, ...]:
    # Names already in the TRACEBLOC_ namespace are not prefixed twice.
    return (base,) if base.startswith("TRACEBLOC_") else ("TRACEBLOC_" + base, base)


def _absolute(raw: Any, base: Path) -> Path:
    path = Path(str(raw))
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _quoted(raw: Any) -> str:
    text = repr(raw)
    return f"{text} " if len(text) <= 34 else ""


def _text(raw: Any, kind: str) -> str:
    if not isinstance(raw, str):
        raise _Bad("must be text")
    return raw


def _int(low: int, high: int | None = None) -> Callable[[Any, str], int]:
    def parse(raw: Any, kind: str) -> int:
        rule = f"must be a whole number of at least {low:,}" if high is None else f"must be a whole number from {low} to {high}"
        if isinstance(raw, bool):
            raise _Bad(rule)
        try:
            value = raw if isinstance(raw, int) else int(str(raw).strip())
        except ValueError:
            raise _Bad(f"{_quoted(raw)}is not a number; {rule}") from None
        if value < low or (high is not None and value > high):
            raise _Bad(f"{value} is out of range; {rule}")
        return value

    return parse


def _positive_float(raw: Any, kind: str) -> float:
    rule = "must be a number of seconds above 0"
    if isinstance(raw, bool):
        raise _Bad(rule)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _Bad(f"{_quoted(raw)}is not a number; {rule}") from None
    if not (math.isfinite(value) and value > 0):
        raise _Bad(rule)
    return value


def _choice(choices: tuple[str, ...], fold: Callable[[str], str] = str.lower) -> Callable[[Any, str], str]:
    canonical = {fold(c): c for c in choices}

    def parse(raw: Any, kind: str) -> str:
        if isinstance(raw, str) and fold(raw) in canonical:
            return canonical[fold(raw)]
        raise _Bad(f"{_quoted(raw)}is not accepted; use one of: {', '.join(choices)}")

    return parse


def _category(raw: Any, kind: str) -> str:
    if isinstance(raw, str) and _CATEGORY_RE.match(raw):
        return raw
    raise _Bad(f"{_quoted(raw)}is not a category name: lower-case letters, digits and underscores, starting with a letter")


def _table(raw: Any, kind: str) -> str:
    why = table_name_problem(raw) if isinstance(raw, str) else "a table name must be text"
    if why:
        raise _Bad(why)
    return raw


def _pvc(raw: Any, kind: str) -> str:
    if isinstance(raw, str) and len(raw) <= 253 and _PVC_RE.match(raw):
        return raw
    raise _Bad("must be a Kubernetes name: lower-case letters, digits, '-' and '.'")


def _api_url(raw: Any, kind: str) -> str:
    try:
        parts = urlsplit(str(raw))
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise _Bad("must be an http:// or https:// URL, e.g. https://api.tracebloc.io/")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _Bad("must be a base URL without credentials, query or fragment")
    text = str(raw)
    return text if text.endswith("/") else text + "/"


def _database_url(raw: Any, kind: str) -> str:
    # The URL may carry a password: never quote it, nor SQLAlchemy's message (which does).
    try:
        make_url(str(raw))
    except Exception:  # noqa: BLE001
        raise _Bad("is not a SQLAlchemy URL such as mysql+pymysql://user:password@host:3306/db") from None
    return str(raw)


def _target_size(raw: Any, kind: str) -> tuple[int, int]:
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[x,\s]+", raw) if p]
    if (
        isinstance(raw, (list, tuple))
        and len(raw) == 2
        and all(isinstance(v, (int, str)) and not isinstance(v, bool) and str(v).strip().isdigit() and int(v) > 0 for v in raw)
    ):
        return int(raw[0]), int(raw[1])
    raise _Bad("must be [width, height] with two positive whole numbers")


def _bool(raw: Any, kind: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _Bad(f"{_quoted(raw)}is not accepted; use true or false")


def _image_options(ld: "_Loader") -> None:
    """Image checks: flags/env, or spec.file_options in ingest.yaml."""
    where = ("spec", "file_options")
    ld.field("resize_policy", "reject", _choice(RESIZE_POLICIES), *where, "resize_policy")
    ld.field("full_decode", False, _bool, *where, "full_decode")
    ld.field("max_pixels", DEFAULT_MAX_PIXELS, _int(1), *where, "max_pixels")
    ld.field("min_size", None, _target_size, *where, "min_size")


def _mapping(raw: Any, kind: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise _Bad("must be a mapping")
    return raw


def _format_of(path: Path) -> str | None:
    return _EXTENSION_FORMATS.get(path.suffix.lower())


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str], *, cwd: Path | None = None) -> Settings:
    """Merge flags > environment > ingest.yaml > defaults into validated :class:`Settings`.

    ``flags`` are keyed by Settings field name; None (or an empty tuple, or False for
    ``validate_only``) means "not given". Raises ConfigError listing every problem.
    """
    unknown = set(flags) - {f.name for f in attrs.fields(Settings)} | ({"origins"} & set(flags))
    if unknown:
        raise TypeError(f"load_settings got flags that are no Settings field: {', '.join(sorted(unknown))}")
    cwd = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    ld = _Loader(flags=flags, environ=environ, cwd=cwd)

    # The config file first: it supplies values and is the default source root.
    config_path = ld.path_field("config_path", cwd)
    if config_path is not None:
        ld.yaml_name = config_path.name
        ld.yaml_dir = config_path.parent
        doc, yaml_problems = read_config(config_path)
        if yaml_problems and not doc and not config_path.exists():
            ld.problem(ld.origins["config_path"], f"config file {config_path} does not exist")
        else:
            ld.problems.extend(yaml_problems)
        ld.yaml_doc = usable_part(doc) if doc else {}

    src_default = ld.yaml_dir if ld.yaml_dir is not None else cwd
    src_path = ld.path_field("src_path", cwd) or src_default
    if ld.origins["src_path"] == "default":
        ld.origins["src_path"] = f"default ({'folder of ' + ld.yaml_name if ld.yaml_dir else 'working directory'})"
    ld.values["src_path"] = src_path

    # what to run
    ld.field("category", None, _category, "category")
    plugins = ld.flag("plugins")
    plugin_names = tuple(str(p) for p in plugins[0]) if plugins else ()
    for name in plugin_names:
        if not name.strip():
            ld.problem("--plugin", "a plugin name must not be empty")
    ld.set("plugins", plugin_names, plugins[1] if plugins else "default")
    ld.field("table", None, _table, "table")
    ld.field("title", None, _text)
    ld.field("intent", "train", _choice(INTENTS), "intent")

    # where the input is
    _label_file(ld, src_path)
    for name in ("images", "annotations", "masks", "texts", "sequences"):
        ld.path_field(name, src_path, name)
    _label(ld)
    _schema(ld)
    ld.field("time_column", None, _text, "time_column")
    ld.field("target_size", None, _target_size, "target_size")
    ld.field("number_of_keypoints", None, _int(1), "number_of_keypoints")
    ld.field("data_id_strategy", "content_hash", _choice(DATA_ID_STRATEGIES), "data_id", "strategy")
    ld.field("data_id_column", None, _text, "data_id", "column")
    _data_id_rule(ld)
    ld.field("csv_options", {}, _mapping, "spec", "csv_options")
    ld.field("file_options", {}, _mapping, "spec", "file_options")
    _csv_encoding(ld)

    # run behaviour
    ld.field("batch_size", 50_000, _int(1))
    ld.field("log_level", "WARNING", _choice(LOG_LEVELS, str.upper))
    ld.set("validate_only", bool(flags.get("validate_only")), "--validate-only" if flags.get("validate_only") else "default")
    output_dir = ld.path_field("output_dir", cwd)
    if output_dir is None:
        ld.set("output_dir", cwd / "tracebloc-output", "default")
    for name in ("metadata_out", "report_path", "rejects_path"):
        ld.path_field(name, cwd)

    # database
    ld.field("database_url", None, _database_url)
    ld.field("mysql_host", None, _text)
    ld.field("mysql_port", 3306, _int(1, 65535))
    ld.field("db_user", None, _text)
    ld.field("db_password", None, _text)
    ld.field("db_name", "training_test_datasets", _text)
    if ld.values["mysql_host"] and not ld.values["database_url"] and not ld.values["db_user"]:
        ld.problem("DB_USER", "is required when MYSQL_HOST is set (there is no built-in database user)")

    # files / cluster
    storage = ld.path_field("storage_path", cwd)
    if storage is None:
        ld.set("storage_path", Path("/data/shared"), "default")
    ld.field("client_pvc", "client-pvc", _pvc)
    _image_options(ld)

    # backend
    ld.field("client_id", None, _text)
    ld.field("client_password", None, _text)
    ld.field("backend_token", None, _text)
    _credential_pair(ld)
    ld.field("client_env", "prod", _choice(tuple(API_URLS)))
    ld.field("api_url", None, _api_url)
    ld.field("api_deadline", 300.0, _positive_float)
    ld.field("auth_scheme", "Token", _choice(AUTH_SCHEMES))

    if ld.problems:
        raise ConfigError(_unique(ld.problems))
    return Settings(**ld.values, origins=ld.origins)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _label_file(ld: _Loader, src_path: Path) -> None:
    """label_file and source_format: the yaml key (csv/json) names the format, else the extension."""
    yaml_key = next((k for k in ("csv", "json") if ld.yaml(k)), None)
    path = ld.path_field("label_file", src_path, *((yaml_key,) if yaml_key else ()))
    origin = ld.origins["label_file"]
    fmt = yaml_key if yaml_key and origin.endswith(f": {yaml_key}") else (_format_of(path) if path else None)
    ld.set("source_format", fmt, origin if fmt else "default")
    given = ld.flag("source_format")
    if given:
        try:
            ld.set("source_format", _choice(SOURCE_FORMATS)(str(given[0]).strip(), "flag"), given[1])
        except _Bad as bad:
            ld.problem(given[1], str(bad))


def _label(ld: _Loader) -> None:
    """`label:` is a column name or {column, policy}; flags/env override each part."""
    node = ld.yaml("label")
    column_keys: tuple[str, ...] = ("label",) if node and isinstance(node[0], str) else ("label", "column")
    ld.field("label_column", "label", _text, *column_keys)
    ld.field("label_policy", None, _choice(LABEL_POLICIES), "label", "policy")


def _schema(ld: _Loader) -> None:
    raw, origin, kind = ld.pick("schema", "schema")
    if raw is _UNSET:
        ld.set("schema", None, "default")
        return
    if not isinstance(raw, Mapping):
        ld.problem(origin, "must be a mapping of column name to SQL type")
        ld.set("schema", None, origin)
        return
    parsed: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, text in raw.items():
        where = f"{origin}.{name}" if kind == "yaml" else f"{origin} column {name!r}"
        why = check_column_name(name) if isinstance(name, str) else "column names must be text"
        if why:
            ld.problem(where, why)
            continue
        if name.lower() in seen:
            ld.problem(where, f"repeats column {seen[name.lower()]!r}: MySQL column names ignore case")
            continue
        seen[name.lower()] = name
        try:
            parsed[name] = str(parse_sql_type(text))
        except SchemaError as exc:
            ld.problem(where, str(exc))
    ld.set("schema", parsed, origin)


def _data_id_rule(ld: _Loader) -> None:
    strategy, column = ld.values["data_id_strategy"], ld.values["data_id_column"]
    if any(p.where == ld.origins["data_id_strategy"] for p in ld.problems):
        return  # the strategy itself was refused; a second message would only confuse
    if strategy == "column" and not column:
        where = ld.origins["data_id_strategy"]
        if where.startswith(f"{ld.yaml_name}: "):
            where = f"{ld.yaml_name}: data_id.column"
        ld.problem(where, "the 'column' strategy needs the name of the column that identifies a record (data_id.column / --data-id-column)")
    elif column and strategy != "column":
        ld.problem(ld.origins["data_id_column"], f"a data_id column is only used with strategy 'column' (the strategy is {strategy!r})")


def _csv_encoding(ld: _Loader) -> None:
    encoding = ld.values["csv_options"].get("encoding")
    if encoding is None:
        return
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        origin = ld.origins["csv_options"]
        where = f"{origin}.encoding" if origin.startswith(f"{ld.yaml_name}: ") else origin
        ld.problem(where, f"{_quoted(encoding)}is not a known text encoding (e.g. utf-8, latin-1, cp1252)")


def _credential_pair(ld: _Loader) -> None:
    # Half a pair must not silently turn into an offline run.
    if ld.values["backend_token"]:
        return
    has_id, has_pw = bool(ld.values["client_id"]), bool(ld.values["client_password"])
    if has_id and not has_pw:
        ld.problem("CLIENT_PASSWORD", "is required when CLIENT_ID is set (or give BACKEND_TOKEN instead)")
    elif has_pw and not has_id:
        ld.problem("CLIENT_ID", "is required when CLIENT_PASSWORD is set (or give BACKEND_TOKEN instead)")
