"""Every MySQL socket with finite timeouts, and a dead one reported as a lost connection.

A server that restarts or fails over must be noticed in seconds, not after the kernel's
retransmission timeout: PyMySQL gets connect, read and write timeouts, and TCP keepalive
probes find a peer that vanished while the client waits for an answer to a long statement.
The read timeout is long because statements may legitimately run for minutes (clearing an
earlier run's rows, the commit of a streamed load); the keepalive covers a dead peer then.

PyMySQL's ``LOAD DATA LOCAL`` clean-up writes to the socket after a failed send has already
closed it, which raises AttributeError instead of the lost connection; :class:`Connection`
reports it as what it is (client error 2006/2013), so it is retried like any other.
"""

from __future__ import annotations

import functools
import socket
from contextlib import suppress
from typing import Any

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "WRITE_TIMEOUT", "connect", "timeouts"]

CONNECT_TIMEOUT = 10  # seconds to open a connection
WRITE_TIMEOUT = 30  # seconds one packet may take to leave (a live server reads it at once)
READ_TIMEOUT = 900  # seconds to wait for an answer: the longest single statement
# a peer that answers no probe for IDLE + INTERVAL * COUNT seconds is gone
_KEEPALIVE = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
_CR_SERVER_GONE, _CR_SERVER_LOST = 2006, 2013


def timeouts() -> dict[str, Any]:
    """connect_args for the driver."""
    return {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT, "write_timeout": WRITE_TIMEOUT}


def connect(dialect: Any, conn_rec: Any, cargs: tuple, cparams: dict) -> Any:
    """SQLAlchemy's ``do_connect`` event: a :class:`Connection` instead of PyMySQL's own."""
    return _connection_class()(*cargs, **cparams)


@functools.cache
def _connection_class() -> type:
    import pymysql
    from pymysql.connections import Connection as Base

    class Connection(Base):
        def connect(self, sock=None):
            super().connect(sock)
            if self._sock is not None and self._sock.family in (socket.AF_INET, socket.AF_INET6):
                with suppress(OSError):
                    self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    for name, value in _KEEPALIVE:
                        if hasattr(socket, name):
                            self._sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)

        def _write_bytes(self, data):
            if self._sock is None:
                raise pymysql.err.OperationalError(_CR_SERVER_GONE, "MySQL server has gone away (connection closed)")
            return super()._write_bytes(data)

        def _read_packet(self, *args, **kwargs):
            if self._sock is None:
                raise pymysql.err.OperationalError(_CR_SERVER_LOST, "Lost connection to MySQL server (connection closed)")
            return super()._read_packet(*args, **kwargs)

    return Connection
