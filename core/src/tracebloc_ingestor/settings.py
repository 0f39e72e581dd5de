"""Run settings: CLI flags > environment > ingest.yaml > defaults, checked all at once.

:func:`load_settings` is pure: it reads the mappings it is given (and the ingest.yaml file),
never ``os.environ``, never data files, and writes nothing. Every problem it finds is
collected and raised together as one :class:`ConfigError`.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import attrs
import sqlalchemy
from sqlalchemy.engine import make_url

from .config_file import ConfigError, Problem, read_config, usable_part
from .options import DERIVED, Boolean, Choice, Integer, Names, Number, Option, OptionError, OptionType, OptionValues, PathValue, Text, option_clashes
from .schema import SchemaError, check_column_name, parse_sql_type

__all__ = [
    "API_URLS",
    "CORE_OPTIONS",
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
NESTED_POLICIES = ("refuse", "flatten", "json_text")
#: the most shards one run may be split into
MAX_SHARDS = 1000


@attrs.frozen
class ColumnMap(OptionType):
    """A mapping of source column name to the name it is read under (``rename:``)."""

    metavar = "MAPPING"

    def parse(self, raw: Any) -> Mapping[str, str]:
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise OptionError("must be a mapping of source column name to new name, e.g. {id: source_id}")
        out: dict[str, str] = {}
        taken: dict[str, str] = {}
        for old, new in raw.items():
            why = check_column_name(new)
            if why:
                raise OptionError(f"the new name of column {old!r} is not usable: {why}")
            if new.lower() in taken:
                raise OptionError(f"columns {taken[new.lower()]!r} and {old!r} are renamed to the same name (MySQL column names ignore case)")
            taken[new.lower()] = old
            out[old] = new
        return MappingProxyType(out)

    def json_schema(self) -> dict:
        return {
            "type": "object",
            "x-message": "must be a mapping of source column name to new name, e.g. {id: source_id}",
            "additionalProperties": {"type": "string", "minLength": 1, "x-message": "must be a column name"},
        }

    def describe(self) -> str:
        return "a mapping of source column name to new name (ingest.yaml only)"



@attrs.frozen
class ShardOf(OptionType):
    """``INDEX/COUNT``: which shard of how many (``2/4`` is the third of four)."""

    metavar = "I/N"

    def parse(self, raw: Any) -> tuple[int, int]:
        text = str(raw).strip()
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
        if not match:
            raise OptionError("must be INDEX/COUNT, e.g. 0/4 for the first of four shards")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise OptionError(f"the number of shards must be 1 to {MAX_SHARDS:,}")
        if index >= count:
            raise OptionError(f"the index must be 0 to {count - 1} for {count} shards (counted from 0, as JOB_COMPLETION_INDEX is)")
        return index, count

    def describe(self) -> str:
        return "INDEX/COUNT, e.g. 0/4 (the index counted from 0)"


@attrs.frozen
class RunId(OptionType):
    """A run id: a UUID, written in its canonical form."""

    metavar = "UUID"

    def parse(self, raw: Any) -> str:
        import uuid

        try:
            return str(uuid.UUID(str(raw).strip()))
        except ValueError:
            raise OptionError("must be a UUID, e.g. 56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6") from None

    def describe(self) -> str:
        return "a UUID"


def _core(name: str, help: str, *, env: str | None = None, flag: str | None = DERIVED, yaml: str | None = None,
          type: Any = Text(), default: Any = None, secret: bool = False, metavar: str | None = None) -> Option:
    # The core's own options: forms are given explicitly (the contract's names), never derived.
    return Option(name, type=type, default=default, help=help, env=env, flag=flag, yaml=yaml, secret=secret, metavar=metavar)


#: Every setting of the core, once: its flag, variable and ingest.yaml key, type and help.
#: ``tb-ingest --help``, the environment table and the ingest.yaml schema are built from
#: these plus the selected plugin's options. Settings whose value needs more than one
#: form's worth of rules (label, schema, data_id, the source table) are parsed by the
#: functions below, but still declared here.
CORE_OPTIONS: tuple[Option, ...] = (
    _core("category", "The category to run (default: the one category the loaded plugins provide)", env="CATEGORY", yaml="category"),
    _core("config_path", "An ingest.yaml", env="INGEST_CONFIG", flag="--config", type=PathValue("cwd")),
    _core("table", "Destination table (and dataset folder) name", env="TABLE_NAME", yaml="table"),
    _core("title", "Dataset title (default: '<table> - <run id prefix>')", env="TITLE", yaml="title"),
    _core("intent", "train or test", env="DATA_INTENT", yaml="intent", type=Choice(*INTENTS), default="train"),
    _core("src_path", "Root of the raw data; relative paths resolve against it (default: the folder of ingest.yaml, else the working folder)",
          env="SRC_PATH", type=PathValue("cwd")),
    _core("label_file", "The table or manifest to read (CSV, JSON, JSON lines, Parquet), relative to the source root",
          env="LABEL_FILE", yaml="csv", type=PathValue()),
    _core("label_column", "The target column of the source", env="LABEL_COLUMN", yaml="label", default="label"),
    _core("columns", "The source columns to store as features, when not all of them (default: every column; with a schema, the schema must name them all)",
          env=None, yaml="columns", type=Names(), metavar="A,B,..."),
    _core("rename", "Source columns read under another name, e.g. {id: source_id} (a column named like a framework column must be renamed, selected away or be the data_id column)",
          env=None, flag=None, yaml="rename", type=ColumnMap()),
    _core("json_nested", "JSON values that are objects or lists: refuse them, flatten objects into parent.child columns (lists become JSON text), or store them as json_text",
          env="JSON_NESTED", yaml="spec.json_options.nested", type=Choice(*NESTED_POLICIES), default="refuse"),
    _core("label_policy", "How labels leave the cluster: passthrough or bucket", yaml="label.policy", type=Choice(*LABEL_POLICIES)),
    _core("data_id_strategy", "Record identity: content_hash, column or uuid", flag="--data-id", yaml="data_id.strategy",
          type=Choice(*DATA_ID_STRATEGIES), default="content_hash"),
    _core("data_id_column", "The id column for --data-id column", yaml="data_id.column"),
    _core("batch_size", "Rows per batch", env="BATCH_SIZE", type=Integer(minimum=1), default=50_000),
    _core("log_level", "DEBUG, INFO, WARNING or ERROR", env="LOG_LEVEL", type=Choice(*LOG_LEVELS), default="WARNING"),
    _core("output_dir", "Local folder for the SQLite file, offline metadata and rejects report (default ./tracebloc-output)",
          env="TRACEBLOC_OUTPUT_DIR", type=PathValue("cwd")),
    _core("metadata_out", "Where the offline registration JSON goes", type=PathValue("cwd")),
    _core("report_path", "Write a machine-readable JSON report here", flag="--report", type=PathValue("cwd")),
    _core("rejects_path", "Local rejects report (JSON lines, with values)", flag="--rejects", type=PathValue("cwd")),
    _core("data_report", "Write the local HTML data report (charts of the data and the issues; stays local)",
          env="TRACEBLOC_DATA_REPORT", type=Boolean(), default=True),
    _core("report_html", "Where the HTML data report goes (default <output dir>/<table>.report.html)",
          env="TRACEBLOC_REPORT_HTML", type=PathValue("cwd")),
    _core("quiet", "Show no progress (by default a bar on a terminal, plain lines in a log)",
          env="TRACEBLOC_QUIET", type=Boolean(), default=False),
    _core("progress_interval", "Seconds between progress lines when the output is not a terminal (0: every batch)",
          env="TRACEBLOC_PROGRESS_INTERVAL", type=Number(minimum=0), default=10.0),
    _core("database_url", "A full SQLAlchemy URL; overrides the MYSQL_*/DB_* variables", env="DATABASE_URL", secret=True, metavar="URL"),
    _core("mysql_host", "Database host; unset: an embedded SQLite file", env="MYSQL_HOST", flag=None),
    _core("mysql_port", "Database port", env="MYSQL_PORT", flag=None, type=Integer(1, 65535), default=3306),
    _core("db_user", "Database user (required with MYSQL_HOST)", env="DB_USER", flag=None),
    _core("db_password", "Database password", env="DB_PASSWORD", flag=None, secret=True),
    _core("db_name", "Database name", env="DB_NAME", flag=None, default="training_test_datasets"),
    _core("db_retry_deadline", "Seconds a run keeps retrying while the database is unreachable (a restart, a failover), "
          "counted from when it was lost", env="DB_RETRY_DEADLINE", flag="--db-retry-deadline",
          type=Number(above=0), default=120.0),
    _core("ingestor_id", "The run id, a UUID; every shard of a scaled-out run must share it (default: JOB_UID, "
          "else a new one per run)", env="INGESTOR_ID", type=RunId()),
    _core("job_uid", "The Job's uid (metadata.labels['batch.kubernetes.io/controller-uid'], given by the downward API): "
          "the run id of the pods of one Job unless INGESTOR_ID is set", env="JOB_UID", flag=None, type=RunId()),
    _core("shard", "This process's share of a scaled-out run, as INDEX/COUNT (its records are those whose key hashes to "
          "INDEX); in an Indexed Job give SHARDS instead", env="SHARD", type=ShardOf()),
    _core("shards", "The number of shards of a scaled-out run; in an Indexed Job the index comes from "
          "JOB_COMPLETION_INDEX, and the Job's completions and parallelism must equal this number",
          env="SHARDS", type=Integer(1, MAX_SHARDS)),
    _core("job_completion_index", "Set by Kubernetes in each pod of an Indexed Job: the index of its shard (with SHARDS)",
          env="JOB_COMPLETION_INDEX", flag=None, type=Integer(minimum=0)),
    _core("shard_wait", "Seconds a shard waits for every other shard to finish validating before the run fails",
          env="SHARD_WAIT", type=Number(above=0), default=3600.0),
    _core("storage_path", "Root of the shared volume for dataset files (default: /data/shared in a Kubernetes pod, "
          "else <output dir>/shared)", env="STORAGE_PATH", type=PathValue("cwd")),
    _core("client_pvc", "Name of the PVC shared with the client", env="CLIENT_PVC", flag=None, default="client-pvc"),
    _core("client_id", "Client credentials, exchanged for a token (with CLIENT_PASSWORD)", env="CLIENT_ID", flag=None),
    _core("client_password", "Client password", env="CLIENT_PASSWORD", flag=None, secret=True),
    _core("backend_token", "A ready backend token (preferred over CLIENT_ID/CLIENT_PASSWORD)", env="BACKEND_TOKEN", flag=None, secret=True),
    _core("client_env", "Backend to register with: prod, stg or dev", env="CLIENT_ENV", type=Choice(*API_URLS), default="prod"),
    _core("api_url", "Explicit backend base URL (overrides CLIENT_ENV)", env="TRACEBLOC_API_URL", metavar="URL"),
    _core("api_deadline", "Seconds a backend call may keep retrying", env="TRACEBLOC_API_DEADLINE", flag=None,
          type=Number(above=0), default=300.0),
    _core("auth_scheme", "Token or Bearer", env="TRACEBLOC_AUTH_SCHEME", type=Choice(*AUTH_SCHEMES), default="Token"),
)
_CORE = {option.name: option for option in CORE_OPTIONS}
#: where the client's shared volume is mounted in the ingestor's pod (the platform contract)
CLUSTER_STORAGE = Path("/data/shared")
# Settings field -> environment variable (the contract's names; TRACEBLOC_-prefixed too).
ENV_NAMES = {option.name: option.env for option in CORE_OPTIONS if option.env}
# Settings fields given only by Python callers (BaseIngestor.ingest) or as bare switches.
_FLAG_ONLY = {"plugins": "--plugin", "validate_only": "--validate-only", "source_format": "--source-format"}
_SECRETS = frozenset(option.name for option in CORE_OPTIONS if option.secret)

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
BOOKKEEPING_TABLES = frozenset({"tracebloc_ingest_runs", "tracebloc_ingest_meta", "tracebloc_ingest_shards"})
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
    label_column: str | None = "label"
    columns: tuple[str, ...] | None = attrs.field(default=None, converter=lambda v: None if v is None else tuple(v))
    rename: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    json_nested: str = "refuse"
    label_policy: str | None = None
    schema: Mapping[str, str] | None = attrs.field(default=None, converter=_optional_map)
    data_id_strategy: str = "content_hash"
    data_id_column: str | None = None
    csv_options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)
    # run behaviour
    batch_size: int = 50_000
    log_level: str = "WARNING"
    validate_only: bool = False
    output_dir: Path = attrs.field(converter=Path)
    metadata_out: Path | None = attrs.field(default=None, converter=_optional_path)
    report_path: Path | None = attrs.field(default=None, converter=_optional_path)
    rejects_path: Path | None = attrs.field(default=None, converter=_optional_path)
    data_report: bool = True
    report_html: Path | None = attrs.field(default=None, converter=_optional_path)
    quiet: bool = False
    progress_interval: float = 10.0
    # database
    database_url: str | None = attrs.field(default=None, repr=False)
    mysql_host: str | None = None
    mysql_port: int = 3306
    db_user: str | None = None
    db_password: str | None = attrs.field(default=None, repr=False)
    db_name: str = "training_test_datasets"
    db_retry_deadline: float = 120.0
    # the run and its shards (a scaled-out run; see sharding.py)
    ingestor_id: str | None = None
    job_uid: str | None = None
    #: (index, count) of this process's shard, resolved from SHARD or SHARDS + JOB_COMPLETION_INDEX; None: not sharded
    shard: tuple[int, int] | None = None
    shards: int | None = None
    job_completion_index: int | None = None
    shard_wait: float = 3600.0
    # files / cluster
    storage_path: Path = attrs.field(default=Path("/data/shared"), converter=Path)
    client_pvc: str = "client-pvc"
    #: whether the run is in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set)
    in_cluster: bool = False
    # backend
    client_id: str | None = None
    client_password: str | None = attrs.field(default=None, repr=False)
    backend_token: str | None = attrs.field(default=None, repr=False)
    client_env: str = "prod"
    api_url: str | None = None
    api_deadline: float = 300.0
    auth_scheme: str = "Token"
    config_path: Path | None = attrs.field(default=None, converter=_optional_path)
    #: the values of the plugins' options (the selected category's and behaviour plugins')
    options: OptionValues = attrs.field(factory=OptionValues)
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
            if field.name in ("origins", "options"):
                continue
            value = getattr(self, field.name)
            if field.name == "database_url":
                value = _masked_url(value) if value else None
            elif field.name in _SECRETS:
                value = "set" if value else "unset"
            out[field.name] = _jsonable(value)
        out["effective_database_url"] = _masked_url(self.database_url_or_default())
        out["api_base_url"] = self.api_base_url()
        out["options"] = self.options.describe()
        out["origins"] = {**self.origins, **{f"options.{k}": v for k, v in self.options.origins.items()}}
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

    def flag(self, field: str, option: Option | None = None) -> tuple[Any, str] | None:
        value = self.flags.get(field)
        # False is "not given" for the core's switches; a plugin's true/false option may be set to false
        off = value is False and (option is None or not option.type.is_flag)
        if value is None or off or value == "" or (isinstance(value, (tuple, list)) and not value):
            return None
        option = option or _CORE.get(field)
        name = option.flag if option is not None and option.flag else _FLAG_ONLY.get(field, "--" + field.replace("_", "-"))
        return value, name

    def env(self, field: str, option: Option | None = None) -> tuple[str, str] | None:
        option = option or _CORE.get(field)
        for name in option.env_names if option is not None else ():
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

    def pick(self, field: str, *yaml_keys: str, option: Option | None = None) -> tuple[Any, str, str]:
        """(raw value, origin, source kind) of ``field`` from the highest source that has it."""
        got = self.flag(field, option)
        if got:
            return got[0], got[1], "flag"
        got = self.env(field, option)
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

    def field(self, field: str, default: Any, parse: Callable[[Any, str], Any], *yaml_keys: str, option: Option | None = None) -> Any:
        raw, origin, kind = self.pick(field, *yaml_keys, option=option)
        if raw is _UNSET:
            self.set(field, default, "default")
            return default
        if field not in _SECRETS and isinstance(raw, str):
            raw = raw.strip()
        try:
            value = parse(raw, kind)
        except (_Bad, OptionError) as bad:
            self.problem(origin, str(bad))
            value = default
        self.set(field, value, origin)
        return value

    def core(self, field: str, *, parse: Callable[[Any, str], Any] | None = None) -> Any:
        """A core setting declared in CORE_OPTIONS, read in every form it has."""
        option = _CORE[field]
        parse = parse or (lambda raw, kind: option.type.parse(raw))
        return self.field(field, option.default, parse, *option.yaml_path, option=option)

    def path_field(self, field: str, base: Path, *yaml_keys: str, option: Option | None = None) -> Path | None:
        raw, origin, kind = self.pick(field, *yaml_keys, option=option)
        if raw is _UNSET:
            self.set(field, None, "default")
            return None
        if not isinstance(raw, (str, os.PathLike)) or not str(raw).strip() or "\x00" in str(raw):
            self.problem(origin, "must be a non-empty path")
            self.set(field, None, origin)
            return None
        # ingest.yaml paths are relative to the file; others to their given base.
        root = self.yaml_dir if kind == "yaml" and self.yaml_dir is not None else base
        value = _absolute(raw, root)
        self.set(field, value, origin)
        return value

    def option(self, option: Option, src_path: Path) -> tuple[Any, str]:
        """(typed value, origin) of a plugin's option, from the highest source that has it."""
        if isinstance(option.type, PathValue):
            base = src_path if option.type.relative_to == "source" else self.cwd
            value = self.path_field(option.name, base, *option.yaml_path, option=option)
            origin = self.origins.pop(option.name)
            self.values.pop(option.name)
            if value is None and option.default is not None:
                value = _absolute(option.default, base)  # a relative default means "under the source root"
            return value, origin
        raw, origin, kind = self.pick(option.name, *option.yaml_path, option=option)
        if raw is _UNSET:
            return option.default, "default"
        if not option.secret and isinstance(raw, str):
            raw = raw.strip()
        try:
            return option.type.parse(raw), origin
        except OptionError as bad:
            # a secret's value must not reach a message, however the type words it
            self.problem(origin, "is not accepted" if option.secret else str(bad))
            return option.default, origin


class _Bad(ValueError):
    """A value that cannot be used; the message says what is accepted."""


def _absolute(raw: Any, base: Path) -> Path:
    path = Path(str(raw))
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _text(raw: Any, kind: str) -> str:
    if not isinstance(raw, str):
        raise _Bad("must be text")
    return raw


def _category(raw: Any, kind: str) -> str:
    if isinstance(raw, str) and _CATEGORY_RE.match(raw):
        return raw
    raise _Bad("is not a category name: lower-case letters, digits and underscores, starting with a letter")


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


def _seconds(raw: Any, kind: str) -> float:
    try:
        return Number(above=0).parse(raw)
    except OptionError:
        raise _Bad("must be a number of seconds above 0") from None


def _mapping(raw: Any, kind: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise _Bad("must be a mapping")
    return raw


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    cwd: Path | None = None,
    options: Sequence[Option | tuple[Option, str]] = (),
) -> Settings:
    """Merge flags > environment > ingest.yaml > defaults into validated :class:`Settings`.

    ``flags`` are keyed by Settings field (or plugin option) name; None (or an empty
    tuple, or False for a switch) means "not given". ``options`` are the plugins'
    declared options (optionally paired with the name of their owner); their values
    land in ``Settings.options`` and their keys are allowed in ``ingest.yaml``. Raises
    ConfigError listing every problem.
    """
    declared = [item if isinstance(item, tuple) else (item, "a plugin") for item in options]
    plugin_names = {option.name for option, _ in declared}
    fields = {f.name for f in attrs.fields(Settings)} - {"origins", "options", "in_cluster"}
    unknown = set(flags) - fields - plugin_names
    if unknown:
        raise TypeError(f"load_settings got flags that are no Settings field or option: {', '.join(sorted(unknown))}")
    cwd = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    ld = _Loader(flags=flags, environ=environ, cwd=cwd)
    clashes = option_clashes([(o, "tracebloc-ingestor") for o in CORE_OPTIONS] + declared)
    for clash in clashes:
        ld.problem("plugin options", clash)

    # The config file first: it supplies values and is the default source root.
    config_path = ld.path_field("config_path", cwd)
    if config_path is not None:
        ld.yaml_name = config_path.name
        ld.yaml_dir = config_path.parent
        plugin_options = [option for option, _ in declared]
        doc, yaml_problems = read_config(config_path, plugin_options)
        if yaml_problems and not doc and not config_path.exists():
            ld.problem(ld.origins["config_path"], f"config file {config_path} does not exist")
        else:
            ld.problems.extend(yaml_problems)
        ld.yaml_doc = usable_part(doc, plugin_options) if doc else {}

    src_default = ld.yaml_dir if ld.yaml_dir is not None else cwd
    src_path = ld.path_field("src_path", cwd) or src_default
    if ld.origins["src_path"] == "default":
        ld.origins["src_path"] = f"default ({'folder of ' + ld.yaml_name if ld.yaml_dir else 'working directory'})"
    ld.values["src_path"] = src_path

    # what to run
    ld.core("category", parse=_category)
    plugins = ld.flag("plugins")
    names = tuple(str(p) for p in plugins[0]) if plugins else ()
    for name in names:
        if not name.strip():
            ld.problem("--plugin", "a plugin name must not be empty")
    ld.set("plugins", names, plugins[1] if plugins else "default")
    ld.core("table", parse=_table)
    ld.core("title", parse=_text)
    ld.core("intent")

    # where the input is
    _label_file(ld, src_path)
    _label(ld)
    _schema(ld)
    ld.core("data_id_strategy")
    ld.core("data_id_column", parse=_text)
    _data_id_rule(ld)
    _columns(ld)
    ld.core("json_nested")
    ld.field("csv_options", {}, _mapping, "spec", "csv_options")
    _csv_encoding(ld)

    # run behaviour
    ld.core("batch_size")
    ld.core("log_level")
    ld.set("validate_only", bool(flags.get("validate_only")), "--validate-only" if flags.get("validate_only") else "default")
    output_dir = ld.path_field("output_dir", cwd)
    if output_dir is None:
        ld.set("output_dir", cwd / "tracebloc-output", "default")
    for name in ("metadata_out", "report_path", "rejects_path", "report_html"):
        ld.path_field(name, cwd)
    for name in ("data_report", "quiet", "progress_interval"):
        ld.core(name)

    # database
    ld.core("database_url", parse=_database_url)
    for name in ("mysql_host", "db_user", "db_password", "db_name"):
        ld.core(name, parse=_text)
    ld.core("mysql_port")
    ld.core("db_retry_deadline", parse=_seconds)
    if ld.values["mysql_host"] and not ld.values["database_url"] and not ld.values["db_user"]:
        ld.problem("DB_USER", "is required when MYSQL_HOST is set (there is no built-in database user)")

    _run_and_shards(ld)

    # files / cluster: the shared volume in a pod, a local folder anywhere else
    in_cluster = bool((environ.get("KUBERNETES_SERVICE_HOST") or "").strip())
    ld.set("in_cluster", in_cluster, "environment KUBERNETES_SERVICE_HOST" if in_cluster else "default")
    storage = ld.path_field("storage_path", cwd)
    if storage is None:
        default = CLUSTER_STORAGE if in_cluster else ld.values["output_dir"] / "shared"
        ld.set("storage_path", default, f"default ({'in a Kubernetes pod' if in_cluster else 'outside a cluster'})")
    ld.core("client_pvc", parse=_pvc)

    # backend
    for name in ("client_id", "client_password", "backend_token"):
        ld.core(name, parse=_text)
    _credential_pair(ld)
    ld.core("client_env")
    ld.core("api_url", parse=_api_url)
    ld.core("api_deadline", parse=_seconds)
    ld.core("auth_scheme")

    # the plugins' own options
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for option, _owner in declared:
        if option.name in values or option.name in fields:
            continue  # a clash, reported above
        values[option.name], origins[option.name] = ld.option(option, src_path)
    secret = [option.name for option, _ in declared if option.secret]

    if ld.problems:
        raise ConfigError(_unique(ld.problems))
    return Settings(**ld.values, options=OptionValues(values, origins, secret), origins=ld.origins)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _label_file(ld: _Loader, src_path: Path) -> None:
    """label_file and source_format: the yaml key (csv/json/parquet) declares a format.

    The run reads a file by its content and telling extension first (reading/formats.py);
    a declared format only decides where those say nothing. Only --source-format forces one.
    """
    yaml_key = next((k for k in SOURCE_FORMATS if ld.yaml(k)), None)
    path = ld.path_field("label_file", src_path, *((yaml_key,) if yaml_key else ()))
    origin = ld.origins["label_file"]
    raw, _origin, kind = ld.pick("label_file", *((yaml_key,) if yaml_key else ()))
    relative = isinstance(raw, (str, os.PathLike)) and not Path(str(raw)).is_absolute()
    # as with manifest values, a path given relative to the source root must not climb out of it
    # (links out are refused when it is read); ingest.yaml's paths are relative to the file
    if path is not None and relative and kind != "yaml" and not _inside(path, src_path):
        ld.problem(origin, "leads outside the source root ('..'); put the table under SRC_PATH or point SRC_PATH at a folder that holds it")
    fmt = yaml_key if yaml_key and origin.endswith(f": {yaml_key}") else None
    ld.set("source_format", fmt, origin if fmt else "default")
    given = ld.flag("source_format")
    if given:
        try:
            ld.set("source_format", Choice(*SOURCE_FORMATS).parse(str(given[0]).strip()), given[1])
        except OptionError as bad:
            ld.problem(given[1], str(bad))


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (already normalised) lies under ``root``, by its text."""
    root_text = os.path.normpath(str(root))
    return str(path) == root_text or str(path).startswith(root_text.rstrip(os.sep) + os.sep)


def _columns(ld: _Loader) -> None:
    """`columns:` selects features; `rename:` maps source names. Both are checked against `schema:`."""
    columns = ld.core("columns")
    rename = ld.core("rename") or {}
    ld.values["rename"] = rename
    schema = ld.values.get("schema")
    if columns is not None:
        if not columns:
            ld.problem(ld.origins["columns"], "must name at least one column")
        if schema:
            listed = set(columns) | {ld.values["label_column"], ld.values["data_id_column"]}
            origin = ld.origins["schema"]
            for name in schema:
                if name not in listed:
                    where = f"{origin}.{name}" if origin.startswith(f"{ld.yaml_name}: ") else origin
                    ld.problem(where, "is not one of the selected columns (columns:); add it there or leave it out of the schema")


def _label(ld: _Loader) -> None:
    """`label:` is a column name or {column, policy}; flags/env override each part."""
    node = ld.yaml("label")
    column_keys: tuple[str, ...] = ("label",) if node and isinstance(node[0], str) else ("label", "column")
    ld.field("label_column", "label", _text, *column_keys)
    ld.core("label_policy")


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
        ld.problem(where, "is not a known text encoding (e.g. utf-8, latin-1, cp1252)")


def _run_and_shards(ld: _Loader) -> None:
    """The run id and this process's shard: SHARD, or SHARDS with the Indexed Job's JOB_COMPLETION_INDEX.

    A sharded run needs a run id shared by every shard (INGESTOR_ID, or the Job's uid as
    JOB_UID), a database every shard reaches (not the embedded SQLite file), and record
    identities that are the same in every attempt (not data_id: uuid).
    """
    given_id = ld.core("ingestor_id")
    job_uid = ld.core("job_uid")
    shard = ld.core("shard")
    shards = ld.core("shards")
    index = ld.core("job_completion_index")
    ld.core("shard_wait", parse=_seconds)
    if shard is not None:
        if shards is not None and shards != shard[1]:
            ld.problem(ld.origins["shard"], f"says {shard[1]} shards but {ld.origins['shards']} says {shards}")
    elif shards is not None:
        if index is None:
            ld.problem(ld.origins["shards"], "needs this process's index: --shard INDEX/COUNT, or JOB_COMPLETION_INDEX "
                       "(Kubernetes sets it in the pods of an Indexed Job)")
        elif index >= shards:
            ld.problem(ld.origins["job_completion_index"], f"is {index}, but there are only {shards} shards (SHARDS): "
                       "the Job's completions must equal SHARDS")
        else:
            shard = (index, shards)
            ld.origins["shard"] = f"{ld.origins['job_completion_index']} of {ld.origins['shards']}"
    elif index is not None:
        ld.problem(ld.origins["job_completion_index"], "is set (the pod of an Indexed Job) but SHARDS is not: set SHARDS "
                   "to the Job's completions so that each pod takes its share")
    ld.values["shard"] = shard
    run_id = given_id or job_uid
    ld.set("ingestor_id", run_id, ld.origins["ingestor_id"] if given_id else ld.origins["job_uid"])
    if shard is None:
        return
    where = ld.origins["shard"]
    if run_id is None:
        ld.problem(where, "a sharded run needs one run id for all its shards: set INGESTOR_ID (a UUID), or JOB_UID "
                   "from the Job's uid through the downward API (k8s/indexed-job.yaml does)")
    url = ld.values.get("database_url") or ("mysql" if ld.values.get("mysql_host") else "sqlite")
    if str(url).startswith("sqlite"):
        ld.problem(where, "a sharded run needs a MySQL/MariaDB database that every shard reaches (MYSQL_HOST or "
                   "DATABASE_URL); the embedded SQLite file belongs to one process")
    if ld.values.get("data_id_strategy") == "uuid":
        ld.problem(where, "data_id strategy 'uuid' gives new ids in every attempt, so a retried shard would add its rows "
                   "again; use content_hash or column")


def _credential_pair(ld: _Loader) -> None:
    # Half a pair must not silently turn into an offline run.
    if ld.values["backend_token"]:
        return
    has_id, has_pw = bool(ld.values["client_id"]), bool(ld.values["client_password"])
    if has_id and not has_pw:
        ld.problem("CLIENT_PASSWORD", "is required when CLIENT_ID is set (or give BACKEND_TOKEN instead)")
    elif has_pw and not has_id:
        ld.problem("CLIENT_ID", "is required when CLIENT_PASSWORD is set (or give BACKEND_TOKEN instead)")
