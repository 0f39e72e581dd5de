"""One class per database kind, chosen from the URL; see ``base.Dialect`` for what they answer."""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import DatabaseError
from .base import Dialect
from .mysql import MySQLDialect
from .sqlite import SQLiteDialect

__all__ = ["Dialect", "MySQLDialect", "SQLiteDialect", "dialect_for"]

_BY_BACKEND: dict[str, type[Dialect]] = {"mysql": MySQLDialect, "mariadb": MySQLDialect, "sqlite": SQLiteDialect}


def dialect_for(url: str) -> Dialect:
    """The dialect of ``sqlite:///path`` or ``mysql+pymysql://...``; DatabaseError for anything else."""
    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # the parser's message repeats the URL, password included
        raise DatabaseError(
            "the database URL cannot be parsed; expected sqlite:///path or "
            "mysql+pymysql://user:password@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _BY_BACKEND:
        raise DatabaseError(f"unsupported database {backend!r}; use sqlite:/// or mysql+pymysql://")
    return _BY_BACKEND[backend](parsed)
