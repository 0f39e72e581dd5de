"""The tracebloc backend client: dataset registration and failure reports (contract §5).

Only metadata goes out: the summary payload is checked against :data:`REGISTRATION_SCHEMA`
before sending. Transport is urllib3 (pooled, TLS verified with the system CA store, proxy
settings read from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``). Every call is bounded by a
deadline; 408/425/429/5xx and network errors are retried with jittered exponential backoff
that honours ``Retry-After``; other 4xx fail at once. Error messages and logs name the call,
the status and the attempt, never a body, a header, a token or a password.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs
import jsonschema
import urllib3

from ..categories import DATA_FORMATS
from ..schema import SchemaError, parse_sql_type
from ..settings import API_URLS

__all__ = [
    "ENVIRONMENTS",
    "REGISTRATION_SCHEMA",
    "APIClient",
    "BackendError",
    "RegistrationResult",
    "check_registration_payload",
    "parse_retry_after",
    "proxy_for",
    "resolve_base_url",
]

log = logging.getLogger(__name__)

ENVIRONMENTS = API_URLS  # one table of backend URLs, kept with the settings
AUTH_SCHEMES = ("Token", "Bearer")
# A failing run should not sit for minutes reporting its failure to a backend that is down.
FAILURE_REPORT_DEADLINE = 10.0
REASON_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_RETRY_AFTER_SECONDS = re.compile(r"^\d+(\.\d+)?$")


def resolve_base_url(client_env: str, override: str | None) -> str:
    """The backend base URL (ending with ``/``): ``override`` when given, else by ``client_env``."""
    if override:
        parts = urlsplit(override.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("TRACEBLOC_API_URL must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("TRACEBLOC_API_URL must not carry a query or fragment")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    env = (client_env or "").strip().lower()
    if env not in ENVIRONMENTS:
        raise ValueError(f"CLIENT_ENV must be one of {', '.join(ENVIRONMENTS)}")
    return ENVIRONMENTS[env]


class BackendError(Exception):
    """A backend call that failed for good; ``reason_slug`` is safe to report as a failure reason."""

    def __init__(self, call: str, status: int | None, reason_slug: str, detail: str = "") -> None:
        self.call = call
        self.status = status
        self.reason_slug = reason_slug
        message = f"{call} failed: " + (f"HTTP {status}" if status is not None else reason_slug)
        super().__init__(f"{message} ({detail})" if detail else message)


@attrs.frozen
class RegistrationResult:
    """Outcome of a registration: 200/201 registered now, 409 registered earlier by this run."""

    status: int
    already_registered: bool


# --- the summary payload -------------------------------------------------------------------

REGISTRATION_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tracebloc dataset summary (POST global_meta/summary/<table>/)",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "ingestor_id", "labels", "dataset_title", "data_format", "data_intent",
        "category", "schema", "meta_data", "record_count", "size_bytes",
    ],
    "properties": {
        "ingestor_id": {"type": "string", "pattern": _UUID_PATTERN},
        "labels": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "dataset_title": {"type": "string", "minLength": 1, "maxLength": 255},
        "data_format": {"enum": list(DATA_FORMATS)},
        "data_intent": {"enum": ["train", "test"]},
        "category": {"type": "string", "minLength": 1, "maxLength": 64},
        "schema": {
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": 64},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "meta_data": {"type": "object"},
        "record_count": {"type": "integer", "minimum": 0},
        "size_bytes": {"type": "integer", "minimum": 0},
    },
}

# JSON Schema counts 3.0 as an integer; a count sent as a float is a bug upstream, so refuse it.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)
_VALIDATOR = _Validator(REGISTRATION_SCHEMA)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, allow_nan=False, separators=(",", ":")).encode()


def _path(parts: list[str]) -> str:
    # Label names are data values: a problem under "labels" never names its key.
    if len(parts) > 1 and parts[0] == "labels":
        parts = ["labels", "<label>", *parts[2:]]
    return "/".join(parts) or "(root)"


def _describe(error: jsonschema.ValidationError) -> list[str]:
    parts = [str(p) for p in error.absolute_path]
    rule, value = error.validator, error.validator_value
    if rule == "required":
        return [f"{_path(parts + [k])}: is required" for k in value if k not in error.instance]
    if rule == "additionalProperties" and value is False:
        known = error.schema.get("properties", {})
        return [f"{_path(parts + [str(k)])}: is not allowed" for k in error.instance if k not in known]
    subject = "keys" if "propertyNames" in error.absolute_schema_path else "value"
    rules = {
        "type": lambda: f"must be of type {value if isinstance(value, str) else ' or '.join(value)}",
        "enum": lambda: "must be one of " + ", ".join(map(str, value)),
        "pattern": lambda: "must be a UUID string" if parts == ["ingestor_id"] else f"must match {value}",
        "minimum": lambda: f"must be >= {value}",
        "minLength": lambda: f"{subject} must have at least {value} character(s)",
        "maxLength": lambda: f"{subject} must have at most {value} characters",
    }
    text = rules[rule]() if rule in rules else f"violates {rule}"
    return [f"{_path(parts)}: {text}"]


def check_registration_payload(payload: Any) -> list[str]:
    """Problems of a summary payload (paths and rules, never values); empty when it fits §5."""
    if not isinstance(payload, Mapping):
        return ["(root): must be an object"]
    try:
        plain = json.loads(_encode(payload))
    except (TypeError, ValueError):
        return ["(root): must be JSON-serialisable (plain types, no NaN or infinity)"]
    problems: list[str] = []
    for error in sorted(_VALIDATOR.iter_errors(plain), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(p for p in _describe(error) if p not in problems)
    schema = plain.get("schema")
    if isinstance(schema, dict):
        for column, sql_type in schema.items():
            if isinstance(sql_type, str) and sql_type:
                try:
                    parse_sql_type(sql_type)
                except SchemaError:
                    problems.append(f"schema/{column}: must be a supported SQL type")
    return problems


# --- transport helpers -----------------------------------------------------------------------

def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if _RETRY_AFTER_SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and (not entry_port.isdigit() or int(entry_port) != port):
            continue
        entry_host = entry_host.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        bare = entry_host.lstrip(".")
        if host == bare or host.endswith("." + bare):
            return True
    return False


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL the environment asks for ``url`` (``*_PROXY``/``NO_PROXY``), or None."""
    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    # Lower-case names win over upper-case ones, as in curl and urllib.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if environ.get(name):
            env[name.lower()] = environ[name]
    parts = urlsplit(url)
    proxy = env.get(f"{parts.scheme}_proxy")
    if not proxy or _bypassed(parts.hostname or "", parts.port, env.get("no_proxy", "")):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def _make_pool(base_url: str, environ: Mapping[str, str] | None) -> urllib3.PoolManager:
    context = ssl.create_default_context()  # system CA store, hostname checks on
    proxy = proxy_for(base_url, environ)
    if proxy is None:
        return urllib3.PoolManager(num_pools=2, maxsize=4, ssl_context=context)
    parts = urlsplit(proxy)
    headers = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=credentials)
        proxy = urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), "", "", ""))
    return urllib3.ProxyManager(
        proxy, num_pools=2, maxsize=4, proxy_headers=headers, ssl_context=context,
        proxy_ssl_context=ssl.create_default_context(),
    )


def _user_agent() -> str:
    from .. import __version__

    return f"tracebloc-ingestor/{__version__}"


# --- the client ------------------------------------------------------------------------------

class APIClient:
    """Talks to the tracebloc backend; one instance per run, safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_password: str | None = None,
        auth_scheme: str = "Token",
        deadline: float = 300.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        pool: urllib3.PoolManager | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = resolve_base_url("", base_url)
        scheme = {s.lower(): s for s in AUTH_SCHEMES}.get((auth_scheme or "").strip().lower())
        if scheme is None:
            raise ValueError(f"auth scheme must be one of {', '.join(AUTH_SCHEMES)}")
        if not token and not (client_id and client_password):
            raise ValueError("no backend credentials: set BACKEND_TOKEN, or CLIENT_ID and CLIENT_PASSWORD")
        for name, number in (("deadline", deadline), ("connect_timeout", connect_timeout),
                             ("read_timeout", read_timeout)):
            if not 0 < number < float("inf"):
                raise ValueError(f"{name} must be a positive finite number of seconds")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must not be negative")
        self.auth_scheme = scheme
        self.deadline = float(deadline)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._client_id = client_id or None
        self._client_password = client_password or None
        self._token = token or None
        self._token_lock = threading.Lock()
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else _make_pool(self.base_url, environ)
        self._random = random.Random()
        self._user_agent = _user_agent()

    @classmethod
    def from_settings(cls, settings: Any) -> APIClient:
        """Build the client from run settings (``api_url`` overrides ``client_env``)."""
        return cls(
            resolve_base_url(getattr(settings, "client_env", "prod"), getattr(settings, "api_url", None)),
            token=getattr(settings, "backend_token", None),
            client_id=getattr(settings, "client_id", None),
            client_password=getattr(settings, "client_password", None),
            auth_scheme=getattr(settings, "auth_scheme", None) or "Token",
            deadline=getattr(settings, "api_deadline", None) or 300.0,
        )

    #: what the summary says happened to the metadata
    action = "registered with"

    def describe(self) -> str:
        """Where registrations go, for the run summary."""
        return f"the backend at {self._public_url()}"

    def _public_url(self) -> str:
        # An override URL may carry userinfo; it is never shown.
        parts = urlsplit(self.base_url)
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def __repr__(self) -> str:
        return f"APIClient({self._public_url()!r}, auth_scheme={self.auth_scheme!r})"

    def __enter__(self) -> APIClient:  # noqa: PYI034 - plain classes, Self needs 3.11
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_pool:
            self._pool.clear()

    # --- auth ---

    def token(self) -> str:
        """The token in use: ``BACKEND_TOKEN`` when given, else one exchanged for the credentials."""
        return self._current_token(time.monotonic() + self.deadline)

    def check_credentials(self, seconds: float) -> None:
        """Make sure the credentials work, within ``seconds``: obtain a token for CLIENT_ID/CLIENT_PASSWORD.

        A given ``BACKEND_TOKEN`` cannot be checked without a call that changes something;
        it is taken as it is. Raises BackendError (naming the call and status) when refused.
        """
        if self._client_id and self._client_password and self._token is None:
            self._current_token(time.monotonic() + min(seconds, self.deadline))

    def _current_token(self, deadline_at: float) -> str:
        with self._token_lock:
            if self._token is None:
                self._token = self._exchange(deadline_at)
            return self._token

    def _refresh(self, stale: str, deadline_at: float) -> bool:
        """Replace a token the backend refused; False when the credentials cannot mint another."""
        if not (self._client_id and self._client_password):
            return False
        with self._token_lock:
            if self._token == stale:  # another thread may have refreshed already
                self._token = None
                self._token = self._exchange(deadline_at)
        return True

    def _exchange(self, deadline_at: float) -> str:
        body = {"username": self._client_id, "password": self._client_password}
        try:
            status, data = self._send("POST", "api-token-auth/", body, deadline_at, auth=False)
        except BackendError as exc:
            if exc.status in (400, 401, 403):
                raise BackendError(exc.call, exc.status, "auth", "credentials refused") from None
            raise
        try:
            token = json.loads(data).get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise BackendError("POST api-token-auth", status, "bad_response", "no token in the answer")
        log.debug("POST api-token-auth: token obtained")
        return token

    # --- calls ---

    def register(self, table: str, payload: Mapping[str, Any]) -> RegistrationResult:
        """Send the dataset summary once all rows are committed; 409 counts as success."""
        if not isinstance(table, str) or not TABLE_RE.match(table):
            raise ValueError("table name must match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 63 characters")
        problems = check_registration_payload(payload)
        if problems:
            raise ValueError("registration payload does not fit the contract: " + "; ".join(problems))
        deadline_at = time.monotonic() + self.deadline
        status, _ = self._send("POST", f"global_meta/summary/{table}/", payload, deadline_at, accept=(409,))
        return RegistrationResult(status=status, already_registered=status == 409)

    def report_failure(self, ingestor_id: str, reason: str) -> None:
        """Tell the backend this run failed; never raises (a 404 means an older backend)."""
        if not isinstance(reason, str) or not REASON_RE.match(reason):
            log.warning("failure reason is not a slug; reporting 'unspecified' instead")
            reason = "unspecified"
        body = {"ingestor_id": str(ingestor_id)[:256], "reason": reason}
        deadline_at = time.monotonic() + min(self.deadline, FAILURE_REPORT_DEADLINE)
        try:
            status, _ = self._send("POST", "global_meta/ingest_failure/", body, deadline_at, accept=(404,))
        except BackendError as exc:
            log.warning("could not report the failure to the backend: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a failure report must never mask the run's own error
            log.warning("could not report the failure to the backend (%s)", type(exc).__name__)
        else:
            if status == 404:
                log.debug("POST global_meta/ingest_failure: not supported by this backend (HTTP 404)")

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max, self.backoff_base * 2 ** min(attempt - 1, 30))
        return cap / 2 + self._random.uniform(0, cap / 2)

    def _send(
        self,
        method: str,
        path: str,
        payload: Any,
        deadline_at: float,
        *,
        auth: bool = True,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, bytes]:
        """One logical call with retries; returns (status, body) for 2xx or an accepted status."""
        call = f"{method} {path.rstrip('/')}"
        url = self.base_url + path
        body = _encode(payload)
        attempt = 0
        refreshed = False
        last_status: int | None = None
        last_reason = "timeout"
        while True:
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                raise self._give_up(call, last_status, last_reason, attempt)
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": self._user_agent,
            }
            sent_token = None
            if auth:
                sent_token = self._current_token(deadline_at)
                headers["Authorization"] = f"{self.auth_scheme} {sent_token}"
                remaining = deadline_at - time.monotonic()
                if remaining <= 0:
                    raise self._give_up(call, last_status, last_reason, attempt)
            attempt += 1
            timeout = urllib3.Timeout(
                connect=min(self.connect_timeout, remaining), read=min(self.read_timeout, remaining)
            )
            retry_after = None
            try:
                response = self._pool.request(
                    method, url, body=body, headers=headers, timeout=timeout, retries=False, redirect=False
                )
            except urllib3.exceptions.SSLError:
                raise BackendError(call, None, "tls", "TLS verification failed") from None
            except urllib3.exceptions.NewConnectionError as exc:
                last_status, last_reason = None, "connection"
                log.debug("%s attempt %d: %s", call, attempt, type(exc).__name__)
            except urllib3.exceptions.TimeoutError as exc:
                last_status, last_reason = None, "timeout"
                log.debug("%s attempt %d: %s", call, attempt, type(exc).__name__)
            except urllib3.exceptions.HTTPError as exc:
                last_status, last_reason = None, "connection"
                log.debug("%s attempt %d: %s", call, attempt, type(exc).__name__)
            else:
                status = response.status
                log.debug("%s attempt %d: HTTP %d", call, attempt, status)
                if 200 <= status < 300 or status in accept:
                    return status, response.data
                if status == 401 and auth:
                    if not refreshed and self._refresh(sent_token, deadline_at):
                        refreshed = True
                        continue
                    raise BackendError(call, 401, "auth", "token refused")
                if not (status in (408, 425, 429) or 500 <= status <= 599):
                    raise BackendError(call, status, f"http_{status}")
                last_status, last_reason = status, f"http_{status}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = self._backoff(attempt)
            if retry_after is not None:
                wait = max(wait, retry_after)
            if time.monotonic() + wait >= deadline_at:
                raise self._give_up(call, last_status, last_reason, attempt)
            log.info("%s: %s on attempt %d; retrying in %.1f s", call,
                     f"HTTP {last_status}" if last_status else last_reason, attempt, wait)
            time.sleep(wait)

    def _give_up(self, call: str, status: int | None, reason: str, attempts: int) -> BackendError:
        return BackendError(call, status, reason, f"gave up at the deadline after {attempts} attempt(s)")
