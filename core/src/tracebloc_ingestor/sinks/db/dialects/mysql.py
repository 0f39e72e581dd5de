"""MySQL and MariaDB: strict UTC sessions, InnoDB tables, a GET_LOCK run lock, bulk writes."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pyarrow as pa
import sqlalchemy as sa

from ....schema import SqlType
from .. import LOGGER
from ..bulk import MySQLBulkWriter
from ..bulk.sql import bare_name, count_ids
from ..errors import (
    MYSQL_BUSY,
    MYSQL_LOST,
    MYSQL_NO_DATABASE,
    MYSQL_NO_TABLE,
    DatabaseError,
    Missing,
    db_error,
    mysql_code,
    text,
)
from ..limits import mysql_problem
from ..table_lock import TableLock
from . import mysql_socket
from .base import Dialect

if TYPE_CHECKING:
    from ..engine import Connector
    from ..tables import Tables

__all__ = ["MySQLDialect"]

log = logging.getLogger(LOGGER)

_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)", re.I)


class MySQLDialect(Dialect):
    name = "mysql"
    placeholder = "%s"
    table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    for_update = " FOR UPDATE"
    on_update_now = " ON UPDATE CURRENT_TIMESTAMP"

    def __init__(self, url: sa.URL) -> None:
        if "+" not in url.drivername:
            url = url.set(drivername=f"{url.get_backend_name()}+pymysql")
        url = url.update_query_dict({"charset": "utf8mb4"})
        if not url.database:
            raise DatabaseError("the MySQL URL names no database (…/DATABASE_NAME)")
        super().__init__(url)
        self._lock_engine: sa.Engine | None = None

    def engine_options(self, *, local_infile: bool) -> dict[str, Any]:
        options: dict[str, Any] = {"pool_recycle": 3600}
        connect_args = mysql_socket.timeouts() if self._pymysql else {}
        if local_infile:
            # only the connections that run LOAD DATA allow the server to ask for a local file
            connect_args["local_infile"] = True
        if connect_args:
            options["connect_args"] = connect_args
        return options

    def on_engine(self, engine: sa.Engine) -> None:
        if self._pymysql:
            sa.event.listen(engine, "do_connect", mysql_socket.connect)
        sa.event.listen(engine, "connect", _session)

    @property
    def _pymysql(self) -> bool:
        return self.url.get_driver_name() == "pymysql"

    def describe(self) -> str:
        return f"mysql {self.url.host}:{self.url.port or 3306}/{self.url.database}"

    def no_database(self, exc: sa.exc.DBAPIError) -> bool:
        return mysql_code(exc) == MYSQL_NO_DATABASE

    def lost(self, exc: sa.exc.DBAPIError) -> bool:
        # an InterfaceError is a connection PyMySQL already knows to be closed
        if isinstance(exc, sa.exc.InterfaceError) or exc.connection_invalidated:
            return True
        return isinstance(exc, sa.exc.OperationalError) and mysql_code(exc) in MYSQL_LOST

    def busy(self, exc: sa.exc.DBAPIError) -> bool:
        return isinstance(exc, sa.exc.OperationalError) and mysql_code(exc) in MYSQL_BUSY

    def ensure_database(self, connector: "Connector") -> None:
        try:
            connector.run("connecting for", None, lambda conn: None)
            return
        except Missing:
            pass
        name = self.url.database
        server = connector.create_engine(self.url.set(database=""))
        try:
            with server.begin() as conn:
                quoted = server.dialect.identifier_preparer.quote_identifier(name)
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {quoted} CHARACTER SET utf8mb4", ())
        except sa.exc.DBAPIError as exc:
            raise db_error("creating the database for", None, exc) from None
        finally:
            server.dispose()
        log.info("created database %s", name)

    def close(self) -> None:
        if self._lock_engine is not None:
            self._lock_engine.dispose()

    def quote(self, name: str) -> str:
        # % doubled: PyMySQL %-formats every statement sent with parameters
        return "`" + name.replace("`", "``").replace("%", "%%") + "`"

    def column_type(self, sql_type: SqlType) -> str:
        if sql_type.name == "BOOLEAN":
            return "TINYINT(1)"  # what MySQL's BOOLEAN means anyway; reflection depends on it
        return str(sql_type)

    def canonical_type(self, declared: str) -> str:
        # display widths (int(11)) are noise, except tinyint(1): how MySQL stores BOOLEAN
        declared = declared.strip()
        if re.match(r"^tinyint\(1\)(\s|$)", declared, re.I):
            return "BOOLEAN" if "UNSIGNED" not in declared.upper() else declared.upper()
        return super().canonical_type(_WIDTH.sub(lambda m: m.group(1), declared))

    def serial_key(self, column: str) -> tuple[str, list[str]]:
        return f"{self.quote(column)} BIGINT NOT NULL AUTO_INCREMENT", [f"PRIMARY KEY ({self.quote(column)})"]

    def index_ddl(self, table: str, column: str) -> tuple[list[str], list[str]]:
        return [f"KEY {self.quote('ix_' + column)} ({self.quote(column)})"], []

    def limit_problem(self, columns: Sequence[tuple[str, SqlType, bool]]) -> str | None:
        return mysql_problem(columns)

    def keep_existing(self, key: str) -> str:
        return f" ON DUPLICATE KEY UPDATE {key} = {key}"

    def has_table(self, conn: sa.Connection, name: str) -> bool:
        sql = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
        return bool(conn.exec_driver_sql(sql, (name,)).scalar())

    def column_rows(self, conn: sa.Connection, table: str) -> Sequence[Sequence[Any]] | None:
        try:
            return [row[:2] for row in conn.exec_driver_sql(f"SHOW COLUMNS FROM {self.quote(table)}", ()).all()]
        except sa.exc.ProgrammingError as exc:
            if mysql_code(exc) == MYSQL_NO_TABLE:
                return None
            raise

    def id_lookup(self, table: str, unique: list[str]) -> Callable[[sa.Connection], int]:
        import pyarrow.compute as pc

        ids = pa.array(unique, pa.string())
        ids = ids.take(pc.sort_indices(ids))  # neighbouring keys share index pages: about 2x faster
        return lambda conn: count_ids(conn, table, ids)

    def fingerprint_sql(self, table: str) -> str:
        return (
            "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(data_id, 16), 16, 10) AS DECIMAL(20, 0))), 0) "
            f"FROM {bare_name(table)}"
        )

    def table_lock(self, connector: "Connector", table: str) -> TableLock:
        return self.named_lock(connector, table)

    def named_lock(self, connector: "Connector", name: str) -> TableLock:
        if self._lock_engine is None:
            # a server-level connection: the database itself may not exist yet
            self._lock_engine = connector.create_engine(self.url.set(database=""))
        return TableLock(engine=self._lock_engine, name=f"{self.url.database}.{name}")

    def lock_name(self, name: str) -> str:
        return TableLock.hashed(f"{self.url.database}.{name}")

    def writer(self, connector: "Connector", tables: "Tables", *, load_data: bool | None) -> MySQLBulkWriter:
        return MySQLBulkWriter(connector, tables, load_data=load_data)


def _session(dbapi_connection: Any, _record: Any) -> None:
    # strict mode so a bad value is an error, not a silent 0; UTC for the CURRENT_TIMESTAMP defaults;
    # backslash escapes on, since the bulk paths escape string literals and LOAD DATA fields with them
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = [m for m in text(cursor.fetchone()[0] or "").split(",") if m and m != "NO_BACKSLASH_ESCAPES"]
        if "STRICT_ALL_TABLES" not in modes:
            modes.append("STRICT_ALL_TABLES")
        cursor.execute("SET SESSION sql_mode = %s, time_zone = '+00:00'", (",".join(modes),))
