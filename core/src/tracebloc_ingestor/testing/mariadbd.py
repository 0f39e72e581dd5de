"""A private MariaDB server for tests that kill or restart the database under a running load.

Such tests must never touch the shared server. :class:`PrivateServer` runs a ``mariadbd`` of
its own on a free port of 127.0.0.1, with its data directory, socket, pid file and error log
in a folder of the test's, and without grant tables (root, no password). It is killed with
SIGKILL (as a crashed or failed-over server) and started again on the same data, which
InnoDB recovers, or frozen with SIGSTOP (a server that no longer answers).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["PrivateServer", "mariadbd_binary"]

_START_SECONDS = 60.0


def mariadbd_binary() -> str | None:
    """The server binary, or None when MariaDB is not installed."""
    found = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateServer:
    """One ``mariadbd`` under ``folder``: :meth:`start`, :meth:`kill`, :meth:`restart_after`, :meth:`stop`."""

    def __init__(self, folder: Path, *, database: str = "tbfault", binary: str | None = None) -> None:
        self.folder = Path(folder)
        self.binary = binary or mariadbd_binary()
        if self.binary is None:
            raise FileNotFoundError("mariadbd is not installed")
        self.port = _free_port()
        self.database = database
        self._process: subprocess.Popen | None = None
        self._restarts: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{self.database}?charset=utf8mb4"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _arguments(self) -> list[str]:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        arguments = [
            self.binary, "--no-defaults", f"--datadir={data}", f"--socket={self.folder / 'mariadbd.sock'}",
            f"--pid-file={self.folder / 'mariadbd.pid'}", f"--log-error={self.folder / 'mariadbd.err'}",
            f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-log-bin",
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=32M", "--local-infile=1",
        ]
        if os.geteuid() == 0:
            arguments.append("--user=root")
        return arguments

    def start(self) -> "PrivateServer":
        """Start the server and wait until it answers; a fresh data directory is made crash-safe first."""
        fresh = not (self.folder / "data" / "ibdata1").exists()
        self._launch()
        if fresh:
            # InnoDB's very first files are only safe once the server stopped cleanly
            self.stop()
            self._launch()
            self._query(f"CREATE DATABASE IF NOT EXISTS `{self.database}` CHARACTER SET utf8mb4")
        return self

    def _launch(self) -> None:
        self._process = subprocess.Popen(self._arguments(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_SECONDS
        while True:
            try:
                self._query("SELECT 1")
                return
            except Exception:  # not yet listening, or still recovering
                if self._process.poll() is not None:
                    raise RuntimeError(f"mariadbd exited with {self._process.returncode}; see {self.folder / 'mariadbd.err'}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"mariadbd did not answer within {_START_SECONDS:g} s") from None
                time.sleep(0.05)

    def _query(self, sql: str) -> None:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2, read_timeout=10)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def kill(self) -> None:
        """SIGKILL: every connection is cut at once, as when a server crashes or its pod is replaced."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a hung server, a half-open network)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def restart_after(self, seconds: float) -> threading.Thread:
        """Kill the server now and start it again ``seconds`` later, in the background."""
        self.kill()

        def later() -> None:
            time.sleep(seconds)
            self._launch()

        thread = threading.Thread(target=later, name="mariadbd-restart", daemon=True)
        thread.start()
        self._restarts.append(thread)
        return thread

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM), killing it if it does not stop in time."""
        for thread in self._restarts:
            thread.join()
        self._restarts.clear()
        if self._process is not None and self._process.poll() is None:
            self.thaw()
            self._process.terminate()
            try:
                self._process.wait(timeout=_START_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "PrivateServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
