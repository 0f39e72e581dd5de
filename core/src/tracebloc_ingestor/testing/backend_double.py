"""A local stand-in for the tracebloc backend that speaks contract §5 over real HTTP.

It answers the token exchange, the dataset summary and the failure report as the backend
would, refuses payloads that do not fit :data:`~tracebloc_ingestor.sinks.backend.REGISTRATION_SCHEMA`,
records every request byte for byte, and can be scripted to answer 401/409/429/500, answer
slowly or drop the connection.

In tests use the ``backend_double`` fixture (``tracebloc_ingestor.testing.fixtures``) or::

    with BackendDouble() as double:
        double.script("global_meta/summary/", 500, Response(429, headers={"Retry-After": "1"}))
        APIClient(double.url, token=double.token).register("my_table", payload)

For local development run it by hand::

    python -m tracebloc_ingestor.testing.backend_double --port 8765

It prints its URL; point the ingestor at it with ``TRACEBLOC_API_URL=http://127.0.0.1:8765/``
and ``BACKEND_TOKEN=test-token`` (or ``CLIENT_ID=client-id CLIENT_PASSWORD=client-secret``).
Each request is logged to stderr as method, path and status; on Ctrl-C the accepted
registrations are printed as JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..sinks.backend import REASON_RE, TABLE_RE, check_registration_payload

__all__ = ["BackendDouble", "RecordedRequest", "Response", "main"]

_SUMMARY_PATH = re.compile(r"^global_meta/summary/([^/]+)/$")
_TOKEN_PATH = "api-token-auth/"
_FAILURE_PATH = "global_meta/ingest_failure/"


@attrs.frozen
class Response:
    """A scripted answer.

    ``status=None`` answers as the default backend would (useful with ``delay``);
    ``drop=True`` closes the connection after reading the request, without answering.
    """

    status: int | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=dict)
    body: bytes | Mapping[str, Any] | None = None
    delay: float = 0.0
    drop: bool = False


@attrs.frozen
class RecordedRequest:
    """One request as received; ``path`` is the URL path (absolute-form targets are reduced)."""

    method: str
    target: str
    path: str
    query: str
    headers: dict
    body: bytes
    json: Any
    raw: bytes = attrs.field(repr=False)

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls_context: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or refuse our certificate hang up on us; that is expected here.
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tracebloc-backend-double"
    timeout = 30
    double: BackendDouble

    def setup(self) -> None:
        context = self.server.tls_context
        if context is not None:
            self.request.settimeout(10)
            wrapped = context.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
            try:
                wrapped.do_handshake()
            except BaseException:
                wrapped.close()  # the server only closes the socket it handed us, now detached
                raise
            self.request = wrapped
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.close()  # the server closes only the detached plain socket

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        target = self.path
        split = urlsplit(target)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()).encode("latin-1", "replace")
        request = RecordedRequest(
            method=self.command,
            target=target,
            path=split.path or "/",
            query=split.query,
            headers=dict(self.headers.items()),
            body=body,
            json=parsed,
            raw=self.raw_requestline + head + b"\r\n" + body,
        )
        double = self.double
        double._record(request)
        scripted = double._next_scripted(request.path)
        if scripted is not None and scripted.delay > 0:
            double._stopping.wait(scripted.delay)
        if scripted is not None and scripted.drop:
            self.close_connection = True
            return
        if scripted is not None and scripted.status is not None:
            status, answer, headers = scripted.status, scripted.body, dict(scripted.headers)
            if answer is None:
                answer = {"detail": f"scripted {status}"}
        else:
            status, answer = double._answer(request)
            headers = dict(scripted.headers) if scripted is not None else {}
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Token")
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        double._log(request, status)
        try:
            self.send_response(status)
            headers.setdefault("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class BackendDouble:
    """A real HTTP server on ``host`` (port 0 = any free port) imitating the tracebloc backend.

    The port is bound at construction, so ``url`` is known before :meth:`start`. Use it as a
    context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        accept_credentials: tuple[str, str] = ("client-id", "client-secret"),
        host: str = "127.0.0.1",
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        log_requests: bool = False,
    ) -> None:
        self.token = token
        self.accept_credentials = tuple(accept_credentials)
        self.requests: list[RecordedRequest] = []
        self.log_requests = log_requests
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._scripts: dict[str, collections.deque[Response]] = {}
        self._registrations: list[tuple[str, dict]] = []
        self._registered_ids: dict[str, int] = {}
        self._failures: list[dict] = []
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = _Server((host, port), handler)
        self._server.tls_context = tls_context
        bound_host, bound_port = self._server.server_address[:2]
        scheme = "https" if tls_context is not None else "http"
        self.url = f"{scheme}://{bound_host}:{bound_port}/"
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> BackendDouble:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name="backend-double", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a scripted delay
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> BackendDouble:  # noqa: PYI034 - plain classes, Self needs 3.11
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- control ---

    def script(self, path_prefix: str, *responses: Response | int) -> None:
        """Queue answers for requests whose path starts with ``path_prefix`` (leading '/' optional).

        Each request takes the next queued answer of the longest matching prefix; once a queue is
        empty, the default behaviour applies again.
        """
        queue = [r if isinstance(r, Response) else Response(status=int(r)) for r in responses]
        with self._lock:
            self._scripts.setdefault(path_prefix.lstrip("/"), collections.deque()).extend(queue)

    def clear_scripts(self) -> None:
        """Drop every queued answer; the default behaviour applies again."""
        with self._lock:
            self._scripts.clear()

    def rotate_token(self, new: str | None = None) -> str:
        """Issue and accept a new token from now on; the old one gets 401."""
        self.token = new or secrets.token_hex(8)
        return self.token

    def registrations(self, table: str | None = None) -> list[dict]:
        """Accepted summary payloads (optionally only those for ``table``), in arrival order."""
        with self._lock:
            return [p for t, p in self._registrations if table is None or t == table]

    def failures(self) -> list[dict]:
        """Accepted failure reports ``{ingestor_id, reason}``."""
        with self._lock:
            return list(self._failures)

    def all_bytes(self) -> bytes:
        """Everything received (request lines, headers, bodies), for privacy checks."""
        with self._lock:
            return b"".join(r.raw for r in self.requests)

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        """Recorded requests whose path starts with ``path_prefix`` (leading '/' optional)."""
        prefix = path_prefix.lstrip("/")
        with self._lock:
            return [r for r in self.requests if r.path.lstrip("/").startswith(prefix)]

    # --- used by the handler ---

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _log(self, request: RecordedRequest, status: int) -> None:
        if self.log_requests:
            print(f"{request.method} {request.path} -> {status}", file=sys.stderr, flush=True)

    def _next_scripted(self, path: str) -> Response | None:
        path = path.lstrip("/")
        with self._lock:
            matching = [p for p, q in self._scripts.items() if q and path.startswith(p)]
            if not matching:
                return None
            return self._scripts[max(matching, key=len)].popleft()

    def _authorised(self, request: RecordedRequest) -> bool:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        return scheme.lower() in ("token", "bearer") and value.strip() == self.token

    def _answer(self, request: RecordedRequest) -> tuple[int, Any]:
        path = request.path.lstrip("/")
        summary = _SUMMARY_PATH.match(path)
        if path == _TOKEN_PATH:
            if request.method != "POST":
                return 405, {"detail": "method not allowed"}
            data = request.json if isinstance(request.json, dict) else {}
            if (data.get("username"), data.get("password")) == self.accept_credentials:
                return 200, {"token": self.token}
            return 400, {"non_field_errors": ["Unable to log in with provided credentials."]}
        if summary is None and path != _FAILURE_PATH:
            return 404, {"detail": "Not found."}
        if request.method != "POST":
            return 405, {"detail": "method not allowed"}
        if not self._authorised(request):
            return 401, {"detail": "Invalid token."}
        if not isinstance(request.json, dict):
            return 400, {"detail": "body must be a JSON object"}
        if summary is not None:
            return self._summary(summary.group(1), request.json)
        return self._failure(request.json)

    def _summary(self, table: str, payload: dict) -> tuple[int, Any]:
        if not TABLE_RE.match(table):
            return 400, {"detail": "invalid table name"}
        problems = check_registration_payload(payload)
        if problems:
            return 400, {"detail": "payload does not fit the contract", "problems": problems}
        with self._lock:
            existing = self._registered_ids.get(payload["ingestor_id"])
            if existing is not None:
                return 409, {"detail": "already registered", "dataset_id": existing}
            dataset_id = len(self._registrations) + 1
            self._registered_ids[payload["ingestor_id"]] = dataset_id
            self._registrations.append((table, payload))
        return 201, {"dataset_id": dataset_id, "dataset_key": f"{table}-{dataset_id}"}

    def _failure(self, report: dict) -> tuple[int, Any]:
        fits = (
            set(report) == {"ingestor_id", "reason"}
            and isinstance(report["ingestor_id"], str)
            and 0 < len(report["ingestor_id"]) <= 256
            and isinstance(report["reason"], str)
            and REASON_RE.match(report["reason"]) is not None
        )
        if not fits:
            return 400, {"detail": "a failure report is {ingestor_id, reason} with a slug reason"}
        with self._lock:
            self._failures.append(report)
        return 200, {"detail": "recorded"}


def main(argv: list[str] | None = None) -> int:
    """Run the double in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m tracebloc_ingestor.testing.backend_double",
        description="A local stand-in for the tracebloc backend (token, summary, failure report).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--token", default="test-token", help="the token issued and accepted")
    parser.add_argument("--client-id", default="client-id")
    parser.add_argument("--client-secret", default="client-secret")
    args = parser.parse_args(argv)
    double = BackendDouble(
        token=args.token, accept_credentials=(args.client_id, args.client_secret),
        host=args.host, port=args.port, log_requests=True,
    )
    # Stop on Ctrl-C or `kill`/`docker stop`, even when started with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with double:
            print(double.url, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    print(json.dumps(double.registrations(), indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
