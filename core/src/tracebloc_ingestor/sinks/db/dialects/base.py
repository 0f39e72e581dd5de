"""What every dialect answers; the SQL that is the same everywhere stays with its concern."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sqlalchemy as sa

from ....schema import SqlType
from ..errors import text
from ..sql_types import canonical

if TYPE_CHECKING:
    from ..engine import Connector
    from ..table_lock import TableLock
    from ..tables import Tables
    from ..writes import Writer

__all__ = ["Dialect"]


class Dialect(abc.ABC):
    """One database kind, for one URL; the subclasses hold everything that differs."""

    name: str
    placeholder: str  # the driver's parameter marker
    table_options = ""  # after CREATE TABLE (...)
    for_update = ""  # after a SELECT of a row the transaction is about to change
    on_update_now = ""  # after updated_at's DEFAULT CURRENT_TIMESTAMP

    def __init__(self, url: sa.URL) -> None:
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    # -- engines and errors

    def engine_options(self, *, local_infile: bool) -> dict[str, Any]:
        return {}

    def on_engine(self, engine: sa.Engine) -> None:
        """Set up a newly created engine (event listeners)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the data goes, safe to log (no user name, no password)."""

    def missing(self) -> bool:
        """Whether the database is known not to exist before connecting."""
        return False

    def no_database(self, exc: sa.exc.DBAPIError) -> bool:
        """Whether ``exc`` says that the database does not exist."""
        return False

    def lost(self, exc: sa.exc.DBAPIError) -> bool:
        """Whether the database cannot be reached or dropped the connection (retried until the deadline)."""
        return False

    @abc.abstractmethod
    def busy(self, exc: sa.exc.DBAPIError) -> bool:
        """Whether the database is busy (a lock wait, a deadlock): worth a few retries."""

    @abc.abstractmethod
    def ensure_database(self, connector: "Connector") -> None:
        """Create the database itself (folder or schema) when it is not there."""

    def close(self) -> None:
        """Dispose of the engines the dialect made for itself."""

    # -- identifiers and DDL

    @abc.abstractmethod
    def quote(self, name: str) -> str:
        """Always-quoted identifier for statements sent with parameters."""

    def column_type(self, sql_type: SqlType) -> str:
        """A feature column's type as written in CREATE TABLE."""
        return str(sql_type)

    def canonical_type(self, declared: str) -> str:
        """Canonical spelling (as :class:`SqlType` prints it) of a reflected column type."""
        return canonical(declared.strip())

    @abc.abstractmethod
    def serial_key(self, column: str) -> tuple[str, list[str]]:
        """(column definition, table keys) of an auto-increment primary key."""

    @abc.abstractmethod
    def index_ddl(self, table: str, column: str) -> tuple[list[str], list[str]]:
        """(keys inside CREATE TABLE, statements after it) for an index on ``column``."""

    def create_table(
        self, conn: sa.Connection, name: str, columns: Sequence[str], keys: Sequence[str] = (), *, index: str | None = None
    ) -> None:
        inline, after = self.index_ddl(name, index) if index else ([], [])
        body = ",\n  ".join([*columns, *keys, *inline])
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {self.quote(name)} (\n  {body}\n){self.table_options}", ())
        for statement in after:
            conn.exec_driver_sql(statement)

    def limit_problem(self, columns: Sequence[tuple[str, SqlType, bool]]) -> str | None:
        """Why a table of these (name, table type, nullable) columns cannot be created, or None."""
        return None

    @abc.abstractmethod
    def keep_existing(self, key: str) -> str:
        """INSERT suffix that leaves a row with the same key as it is."""

    # -- reading

    @abc.abstractmethod
    def has_table(self, conn: sa.Connection, name: str) -> bool: ...

    @abc.abstractmethod
    def column_rows(self, conn: sa.Connection, table: str) -> Sequence[Sequence[Any]] | None:
        """(name, declared type) of each column in table order; None or empty without the table."""

    def columns(self, conn: sa.Connection, table: str) -> dict[str, str] | None:
        """Column -> canonical SQL type; None when the table does not exist."""
        rows = self.column_rows(conn, table)
        if not rows:
            return None
        return {text(name): self.canonical_type(text(kind)) for name, kind in rows}

    @abc.abstractmethod
    def id_lookup(self, table: str, unique: list[str]) -> Callable[[sa.Connection], int]:
        """Work that counts how many of these distinct data_ids are rows of ``table``."""

    def fingerprint_sql(self, table: str) -> str | None:
        """SELECT of (rows, sum of the first 64 bits of each data_id); None where unsupported."""
        return None

    # -- locks and writes

    @abc.abstractmethod
    def table_lock(self, connector: "Connector", table: str) -> "TableLock":
        """An unacquired run lock for ``table``."""

    def named_lock(self, connector: "Connector", name: str) -> "TableLock":
        """An unacquired server-wide lock called ``name`` (the shards of a scaled-out run need one each)."""
        raise NotImplementedError(f"{self.name} has no named locks; a sharded run needs MySQL or MariaDB")

    def lock_name(self, name: str) -> str:
        """The server's name of :meth:`named_lock` ``name`` (to ask whether it is held)."""
        raise NotImplementedError(f"{self.name} has no named locks")

    @abc.abstractmethod
    def writer(self, connector: "Connector", tables: "Tables", *, load_data: bool | None) -> "Writer":
        """The write path of this dialect."""
