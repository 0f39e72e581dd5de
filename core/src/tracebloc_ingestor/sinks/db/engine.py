"""SQLAlchemy engines for one database, and one transaction with transient-error retries."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sqlalchemy as sa

from . import LOGGER
from .errors import DatabaseError, Missing, db_error, error_id

if TYPE_CHECKING:
    from .dialects.base import Dialect

__all__ = ["Connector", "DEFAULT_RETRY_DELAYS"]

log = logging.getLogger(LOGGER)

DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0)


class Connector:
    """The main engine of one database and the transactions run on it (or on another engine)."""

    def __init__(self, dialect: "Dialect", retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        self.dialect = dialect
        self.url = dialect.url
        self._retry_delays = tuple(retry_delays)
        self.engine = self.create_engine()

    def create_engine(self, url: sa.URL | None = None, *, local_infile: bool = False) -> sa.Engine:
        options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        options.update(self.dialect.engine_options(local_infile=local_infile))
        try:
            engine = sa.create_engine(url or self.url, **options)
        except Exception as exc:
            raise DatabaseError(f"cannot set up the {self.dialect.name} engine: {type(exc).__name__}") from None
        self.dialect.on_engine(engine)
        return engine

    def close(self) -> None:
        self.engine.dispose()

    def run(
        self,
        op: str,
        table: str | None,
        work: Callable[[sa.Connection], Any],
        *,
        write: bool = False,
        values: bool = False,
        columns: Sequence[str] = (),
        engine: sa.Engine | None = None,
    ) -> Any:
        """Run ``work`` in one transaction, retrying transient errors with backoff.

        ``write=False`` raises Missing instead of creating a database that is not there;
        ``values=True`` marks statements whose driver messages may quote row values.
        """
        if not write and self.dialect.missing():
            raise Missing
        for attempt in range(len(self._retry_delays) + 1):
            try:
                with (engine or self.engine).begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if not write and self.dialect.no_database(exc):
                    raise Missing from None
                if attempt < len(self._retry_delays) and self._transient(exc):
                    delay = self._retry_delays[attempt]
                    log.warning(
                        "%s table %s: transient %s, retry %d in %.1f s",
                        op, table, error_id(exc), attempt + 1, delay,
                    )
                    time.sleep(delay)
                    continue
                raise db_error(op, table, exc, values=values, columns=columns, retries=attempt) from None
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{op} table {table!r} failed: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    def _transient(self, exc: sa.exc.DBAPIError) -> bool:
        if isinstance(exc, sa.exc.InterfaceError) or exc.connection_invalidated:
            return True
        return isinstance(exc, sa.exc.OperationalError) and self.dialect.transient(exc)
