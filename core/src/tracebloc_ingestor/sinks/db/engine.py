"""SQLAlchemy engines for one database, and one transaction with retries.

Two kinds of failure are retried. A busy database (lock wait timeout, deadlock, SQLite's
busy file) is retried a few times, after the delays of ``retry_delays``. A lost or refused
connection (the server restarts, fails over, is unreachable) is retried with growing
delays until ``retry_deadline`` seconds after the database was first found lost, however
many operations fail meanwhile; past it the error names the database, the code and the
driver's words. A transaction is only ever retried as a whole: the server rolled back
whatever it had not committed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sqlalchemy as sa

from . import LOGGER
from .errors import DatabaseError, Missing, db_error, error_id, lost_error

if TYPE_CHECKING:
    from .dialects.base import Dialect

__all__ = ["Connector", "DEFAULT_RETRY_DEADLINE", "DEFAULT_RETRY_DELAYS"]

log = logging.getLogger(LOGGER)

DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0)
DEFAULT_RETRY_DEADLINE = 120.0
_LONGEST_DELAY = 5.0  # between two attempts to reach a lost database


class Connector:
    """The main engine of one database and the transactions run on it (or on another engine)."""

    def __init__(
        self,
        dialect: "Dialect",
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        retry_deadline: float = DEFAULT_RETRY_DEADLINE,
    ) -> None:
        self.dialect = dialect
        self.url = dialect.url
        self._retry_delays = tuple(retry_delays)
        self.retry_deadline = float(retry_deadline)
        self._lost_since: float | None = None  # when the database was found lost, until it answers again
        #: called before each new attempt after a lost connection (e.g. to take the table lock again)
        self.on_reconnect: Callable[[], None] | None = None
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
        """Run ``work`` in one transaction, retried as a whole (see the module's docstring).

        ``write=False`` raises Missing instead of creating a database that is not there;
        ``values=True`` marks statements whose driver messages may quote row values.
        """
        if not write and self.dialect.missing():
            raise Missing

        def transaction() -> Any:
            with (engine or self.engine).begin() as conn:
                return work(conn)

        return self.call(op, table, transaction, write=write, values=values, columns=columns)

    def call(
        self,
        op: str,
        table: str | None,
        attempt: Callable[[], Any],
        *,
        write: bool = False,
        values: bool = False,
        columns: Sequence[str] = (),
    ) -> Any:
        """``attempt()`` (which must be safe to repeat after a failure), retried like :meth:`run`."""
        busy = lost = 0
        while True:
            try:
                if self._lost_since is not None and self.on_reconnect is not None:
                    self.on_reconnect()
                result = attempt()
                if self._lost_since is not None:
                    log.warning("%s: %s answers again", _what(op, table), self.dialect.describe())
                    self._lost_since = None
                return result
            except sa.exc.DBAPIError as exc:
                if not write and self.dialect.no_database(exc):
                    raise Missing from None
                if self.dialect.lost(exc):
                    delay = self._lost_delay(lost)
                    if delay is None:
                        raise lost_error(op, table, exc, self.dialect.describe(), self.retry_deadline, lost) from None
                    lost += 1
                    log.warning(
                        "%s: %s is unreachable (%s); retry %d in %.1f s, up to %g s after it was lost (DB_RETRY_DEADLINE)",
                        _what(op, table), self.dialect.describe(), error_id(exc), lost, delay, self.retry_deadline,
                    )
                    time.sleep(delay)
                    continue
                if busy < len(self._retry_delays) and self.dialect.busy(exc):
                    delay = self._retry_delays[busy]
                    busy += 1
                    log.warning("%s table %s: transient %s, retry %d in %.1f s", op, table, error_id(exc), busy, delay)
                    time.sleep(delay)
                    continue
                raise db_error(op, table, exc, values=values, columns=columns, retries=busy + lost) from None
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{op} table {table!r} failed: {type(exc).__name__}") from None

    def _lost_delay(self, retries: int) -> float | None:
        """Seconds to wait before the next attempt to reach a lost database; None past the deadline."""
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
        left = self._lost_since + self.retry_deadline - now
        if left <= 0:
            return None
        base = self._retry_delays[0] if self._retry_delays else 0.5
        return min(base * 2**retries, _LONGEST_DELAY, left)


def _what(op: str, table: str | None) -> str:
    return f"{op} table {table}" if table else op.removesuffix(" for")
