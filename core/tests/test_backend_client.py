"""The real backend client against the backend double, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import shutil
import socket
import ssl
import subprocess
import time
import types
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import urllib3

from tracebloc_ingestor.sinks.backend import (
    ENVIRONMENTS,
    APIClient,
    BackendError,
    RegistrationResult,
    check_registration_payload,
    parse_retry_after,
    proxy_for,
    resolve_base_url,
)
from tracebloc_ingestor.testing.backend_double import BackendDouble, Response

SUMMARY = "global_meta/summary/"
FAST = {"deadline": 5.0, "connect_timeout": 1.0, "read_timeout": 2.0, "backoff_base": 0.01, "backoff_max": 0.05}


def payload(**overrides):
    body = {
        "ingestor_id": str(uuid.uuid4()),
        "labels": {"cat": 3, "dog": 2},
        "dataset_title": "pets - 1234abcd",
        "data_format": "tabular",
        "data_intent": "train",
        "category": "tabular_classification",
        "schema": {"label": "VARCHAR(255)", "age": "INT", "weight": "DOUBLE"},
        "meta_data": {"number_of_columns": 2},
        "record_count": 5,
        "size_bytes": 120,
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_client(backend_double):
    clients = []

    def make(**kwargs):
        options = {**FAST, **kwargs}
        if "client_id" not in options:
            options.setdefault("token", backend_double.token)
        client = APIClient(options.pop("base_url", backend_double.url), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- success paths -------------------------------------------------------------------------

def test_register_sends_the_summary_with_the_token(backend_double, make_client):
    body = payload()
    result = make_client().register("pets", body)

    assert result == RegistrationResult(status=201, already_registered=False)
    assert backend_double.registrations("pets") == [body]
    (request,) = backend_double.requests
    assert (request.method, request.path) == ("POST", "/global_meta/summary/pets/")
    assert request.header("Authorization") == "Token test-token"
    assert request.header("Content-Type") == "application/json"
    assert request.json == body


def test_token_is_exchanged_for_client_credentials_once(backend_double, make_client):
    client = make_client(client_id="client-id", client_password="client-secret")
    client.register("pets", payload())
    client.register("pets", payload())

    token_calls = backend_double.requests_to("api-token-auth/")
    assert len(token_calls) == 1
    assert token_calls[0].json == {"username": "client-id", "password": "client-secret"}
    assert token_calls[0].header("Authorization") is None
    assert all(r.header("Authorization") == "Token test-token" for r in backend_double.requests_to(SUMMARY))
    assert len(backend_double.registrations()) == 2


def test_backend_token_is_preferred_over_credentials(backend_double, make_client):
    client = make_client(token="test-token", client_id="client-id", client_password="client-secret")
    client.register("pets", payload())
    assert backend_double.requests_to("api-token-auth/") == []


def test_refused_credentials_fail_with_auth(backend_double, make_client):
    client = make_client(client_id="client-id", client_password="wrong-secret-pw")
    with pytest.raises(BackendError) as caught:
        client.register("pets", payload())
    assert (caught.value.status, caught.value.reason_slug) == (400, "auth")
    assert "wrong-secret-pw" not in str(caught.value)
    assert len(backend_double.requests) == 1  # a 400 from the token endpoint is not retried


def test_conflict_means_already_registered(backend_double, make_client):
    client = make_client()
    body = payload()
    assert client.register("pets", body).already_registered is False
    assert client.register("pets", body) == RegistrationResult(status=409, already_registered=True)
    backend_double.script(SUMMARY, 409)
    assert client.register("pets", payload()).already_registered is True
    assert len(backend_double.registrations()) == 1


def test_bearer_scheme_is_selectable(backend_double, make_client):
    make_client(auth_scheme="bearer").register("pets", payload())
    assert backend_double.requests[0].header("Authorization") == "Bearer test-token"


def test_unknown_auth_scheme_is_refused(backend_double):
    with pytest.raises(ValueError, match="Token, Bearer"):
        APIClient(backend_double.url, token="t", auth_scheme="Basic")


def test_missing_credentials_are_refused(backend_double):
    with pytest.raises(ValueError, match="BACKEND_TOKEN"):
        APIClient(backend_double.url, client_id="only-the-id")


# --- 401 ---------------------------------------------------------------------------------

def test_401_fetches_a_fresh_token_and_retries_once(backend_double, make_client):
    client = make_client(client_id="client-id", client_password="client-secret")
    assert client.token() == "test-token"
    backend_double.rotate_token("second-token")

    assert client.register("pets", payload()).status == 201

    summaries = backend_double.requests_to(SUMMARY)
    assert [r.header("Authorization") for r in summaries] == ["Token test-token", "Token second-token"]
    assert len(backend_double.requests_to("api-token-auth/")) == 2


def test_a_second_401_is_not_retried_again(backend_double, make_client):
    client = make_client(client_id="client-id", client_password="client-secret")
    backend_double.script(SUMMARY, 401, 401, 401)
    with pytest.raises(BackendError) as caught:
        client.register("pets", payload())
    assert (caught.value.status, caught.value.reason_slug) == (401, "auth")
    assert len(backend_double.requests_to(SUMMARY)) == 2
    assert len(backend_double.requests_to("api-token-auth/")) == 2


def test_401_with_a_static_token_fails_at_once(backend_double, make_client):
    client = make_client(token="stale-token-value")
    with pytest.raises(BackendError) as caught:
        client.register("pets", payload())
    assert (caught.value.status, caught.value.reason_slug) == (401, "auth")
    assert len(backend_double.requests) == 1
    assert "stale-token-value" not in str(caught.value)


# --- retries -----------------------------------------------------------------------------

def test_429_honours_retry_after(backend_double, make_client):
    backend_double.script(SUMMARY, Response(429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    assert make_client().register("pets", payload()).status == 201
    assert time.monotonic() - started >= 0.9
    assert len(backend_double.requests_to(SUMMARY)) == 2


def test_retry_after_beyond_the_deadline_gives_up_without_waiting(backend_double, make_client, caplog):
    backend_double.script(SUMMARY, Response(503, headers={"Retry-After": "60"}))
    with caplog.at_level(logging.INFO, logger="tracebloc_ingestor"), pytest.raises(BackendError) as caught:
        make_client(deadline=2.0).register("pets", payload())
    assert (caught.value.status, caught.value.reason_slug) == (503, "http_503")
    assert len(backend_double.requests) == 1
    assert "retrying" not in caplog.text  # it did not go to sleep first


def test_timeouts_never_reach_past_the_deadline(backend_double, make_client):
    # The answer would come after 3 s; a 5 s read timeout alone would wait for it.
    backend_double.script(SUMMARY, Response(delay=3.0))
    with pytest.raises(BackendError) as caught:
        make_client(deadline=1.0, read_timeout=5.0).register("pets", payload())
    assert caught.value.reason_slug == "timeout"
    assert backend_double.registrations() == []


def test_server_errors_are_retried_until_success(backend_double, make_client):
    backend_double.script(SUMMARY, 500, 502, 503, 504, 408, 425)
    assert make_client().register("pets", payload()).status == 201
    assert len(backend_double.requests_to(SUMMARY)) == 7
    assert len(backend_double.registrations()) == 1


def test_server_errors_past_the_deadline_raise(backend_double, make_client):
    backend_double.script(SUMMARY, *[500] * 500)
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        make_client(deadline=2.0, backoff_base=0.05, backoff_max=0.2).register("pets", payload())
    assert time.monotonic() - started >= 1.5
    assert (caught.value.status, caught.value.reason_slug) == (500, "http_500")
    assert "HTTP 500" in str(caught.value) and "POST global_meta/summary/pets" in str(caught.value)
    assert len(backend_double.requests) > 3
    assert backend_double.registrations() == []


def test_dropped_connection_is_retried(backend_double, make_client):
    backend_double.script(SUMMARY, Response(drop=True))
    assert make_client().register("pets", payload()).status == 201
    assert len(backend_double.requests_to(SUMMARY)) == 2


def test_slow_answers_past_the_read_timeout_are_retried_until_the_deadline(backend_double, make_client):
    backend_double.script(SUMMARY, *[Response(delay=2.0)] * 20)
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        make_client(deadline=2.0, read_timeout=0.5).register("pets", payload())
    assert time.monotonic() - started >= 1.5
    assert (caught.value.status, caught.value.reason_slug) == (None, "timeout")
    assert len(backend_double.requests_to(SUMMARY)) >= 2


def test_unreachable_backend_fails_with_connection(backend_double):
    client = APIClient(f"http://127.0.0.1:{free_port()}/", token="t", **{**FAST, "deadline": 0.5})
    with pytest.raises(BackendError) as caught:
        client.register("pets", payload())
    assert caught.value.reason_slug == "connection"
    client.close()


def test_client_error_is_not_retried(backend_double, make_client):
    backend_double.script(SUMMARY, Response(400, body=b'{"detail": "cell value SECRET-CELL-42 rejected"}'))
    with pytest.raises(BackendError) as caught:
        make_client().register("pets", payload())
    assert (caught.value.status, caught.value.reason_slug) == (400, "http_400")
    assert len(backend_double.requests) == 1
    assert "SECRET-CELL-42" not in str(caught.value)


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_two = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5), usegmt=True)
    assert 2.0 <= parse_retry_after(in_two) <= 5.0
    past = format_datetime(datetime.now(timezone.utc) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past) == 0.0


# --- payload checks ------------------------------------------------------------------------

def test_payload_is_checked_before_sending(backend_double, make_client):
    bad = payload(labels={"Jane Doe": -1}, data_format="audio", record_count=2.0, extra="x")
    del bad["size_bytes"]
    with pytest.raises(ValueError) as caught:
        make_client().register("pets", bad)
    message = str(caught.value)
    for expected in ("labels/<label>: must be >= 0", "data_format: must be one of", "record_count",
                     "size_bytes: is required", "extra: is not allowed"):
        assert expected in message
    assert "Jane Doe" not in message and "audio" not in message
    assert backend_double.requests == []


def test_check_registration_payload_rules():
    assert check_registration_payload(payload()) == []
    assert check_registration_payload(payload(labels={0: 4, 63: 1})) == []  # bucket ids as keys
    assert check_registration_payload([]) == ["(root): must be an object"]
    assert check_registration_payload(payload(ingestor_id="run-1")) == ["ingestor_id: must be a UUID string"]
    assert check_registration_payload(payload(schema={"age": "INTEGRAL"})) == [
        "schema/age: must be a supported SQL type"
    ]
    assert check_registration_payload(payload(data_intent="validate")) == ["data_intent: must be one of train, test"]
    assert check_registration_payload(payload(meta_data={"mean": float("nan")})) == [
        "(root): must be JSON-serialisable (plain types, no NaN or infinity)"
    ]
    assert check_registration_payload(payload(size_bytes=True)) == ["size_bytes: must be of type integer"]


def test_invalid_table_name_is_refused(backend_double, make_client):
    with pytest.raises(ValueError, match="table name"):
        make_client().register("../admin", payload())
    assert backend_double.requests == []


# --- failure reports -----------------------------------------------------------------------

def test_report_failure_is_sent(backend_double, make_client):
    run_id = str(uuid.uuid4())
    make_client().report_failure(run_id, "registration_failed")
    assert backend_double.failures() == [{"ingestor_id": run_id, "reason": "registration_failed"}]


def test_report_failure_never_raises(backend_double, make_client, caplog):
    client = make_client(deadline=0.5)
    backend_double.script("global_meta/ingest_failure/", 404)
    client.report_failure("run", "db_failed")
    backend_double.script("global_meta/ingest_failure/", *[500] * 100)
    with caplog.at_level(logging.WARNING, logger="tracebloc_ingestor"):
        client.report_failure("run", "db_failed")
    assert "could not report the failure" in caplog.text
    unreachable = APIClient(f"http://127.0.0.1:{free_port()}/", token="t", **{**FAST, "deadline": 0.3})
    unreachable.report_failure("run", "db_failed")
    unreachable.close()


def test_report_failure_sends_only_a_slug(backend_double, make_client):
    make_client().report_failure("run", "row 7 value 'Jane Doe' broke")
    assert backend_double.failures() == [{"ingestor_id": "run", "reason": "unspecified"}]
    assert b"Jane Doe" not in backend_double.all_bytes()


# --- privacy of errors and logs ------------------------------------------------------------

def test_errors_and_logs_never_carry_secrets(backend_double, make_client, caplog):
    backend_double.rotate_token("minted-SECRET-token")
    client = make_client(client_id="client-id", client_password="client-secret")
    backend_double.script(SUMMARY, Response(500, body=b"echo: SECRET-BODY-VALUE"), Response(400, body=b"SECRET-BODY-VALUE"))
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as caught:
        client.register("pets", payload(labels={"SECRET-LABEL": 1}))
    text = str(caught.value) + repr(caught.value) + caplog.text + repr(client)
    for secret in ("minted-SECRET-token", "client-secret", "SECRET-BODY-VALUE", "SECRET-LABEL"):
        assert secret not in text
    assert "HTTP 400" in str(caught.value)


# --- configuration -------------------------------------------------------------------------

def test_resolve_base_url():
    assert resolve_base_url("prod", None) == "https://api.tracebloc.io/"
    assert resolve_base_url("stg", "") == ENVIRONMENTS["stg"]
    assert resolve_base_url("DEV", None) == "https://dev-api.tracebloc.io/"
    assert resolve_base_url("nonsense", "http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"
    with pytest.raises(ValueError, match="prod, stg, dev"):
        resolve_base_url("local", None)
    with pytest.raises(ValueError, match="TRACEBLOC_API_URL"):
        resolve_base_url("prod", "ftp://example.org/")


def test_describe_names_the_backend_without_userinfo():
    client = APIClient("https://user:pw-SECRET@api.example.org:8443/v1", token="t")
    assert client.describe() == "the backend at https://api.example.org:8443/v1/"
    client.close()


def test_from_settings(backend_double):
    settings = types.SimpleNamespace(
        api_url=backend_double.url, client_env="prod", backend_token=None, client_id="client-id",
        client_password="client-secret", auth_scheme="Bearer", api_deadline=3.0,
    )
    client = APIClient.from_settings(settings)
    assert (client.base_url, client.deadline, client.auth_scheme) == (backend_double.url, 3.0, "Bearer")
    assert client.register("pets", payload()).status == 201
    assert backend_double.requests[-1].header("Authorization") == "Bearer test-token"
    client.close()
    with pytest.raises(ValueError, match="CLIENT_ENV"):
        APIClient.from_settings(types.SimpleNamespace(**{**vars(settings), "api_url": None, "client_env": "qa"}))


# --- proxy and TLS -------------------------------------------------------------------------

def test_proxy_for_reads_the_standard_variables():
    env = {"HTTPS_PROXY": "http://proxy:3128", "http_proxy": "proxy:8080", "NO_PROXY": "internal.example,.corp,10.0.0.0/8"}
    assert proxy_for("https://api.tracebloc.io/", env) == "http://proxy:3128"
    assert proxy_for("http://api.tracebloc.io/", env) == "http://proxy:8080"
    assert proxy_for("https://internal.example/", env) is None
    assert proxy_for("https://a.b.corp/", env) is None
    assert proxy_for("http://10.1.2.3/", env) is None
    assert proxy_for("https://api.tracebloc.io/", {}) is None
    assert proxy_for("https://api.tracebloc.io/", {"HTTPS_PROXY": "http://p:1", "no_proxy": "*"}) is None


def test_requests_go_through_the_proxy(backend_double):
    proxy = backend_double.url.replace("http://", "http://user:pa%40ss@")
    client = APIClient("http://backend.invalid/", token="test-token", environ={"HTTP_PROXY": proxy}, **FAST)
    assert client.register("pets", payload()).status == 201
    client.close()
    (request,) = backend_double.requests
    assert request.target == "http://backend.invalid/global_meta/summary/pets/"
    expected = "Basic " + base64.b64encode(b"user:pa@ss").decode()
    assert request.header("Proxy-Authorization") == expected


def test_no_proxy_bypasses_the_proxy(backend_double):
    env = {"HTTP_PROXY": f"http://127.0.0.1:{free_port()}", "NO_PROXY": "127.0.0.1"}
    client = APIClient(backend_double.url, token="test-token", environ=env, **FAST)
    assert client.register("pets", payload()).status == 201
    client.close()
    assert backend_double.requests[0].target == "/global_meta/summary/pets/"


@pytest.fixture
def self_signed(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def test_tls_is_verified(self_signed):
    cert, key = self_signed
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with BackendDouble(tls_context=server_context) as double:
        assert double.url.startswith("https://")
        untrusting = APIClient(double.url, token=double.token, **FAST)
        with pytest.raises(BackendError) as caught:
            untrusting.register("pets", payload())
        assert caught.value.reason_slug == "tls"
        assert double.requests == []
        untrusting.close()

        trusting_context = ssl.create_default_context(cafile=str(cert))
        pool = urllib3.PoolManager(ssl_context=trusting_context)
        trusting = APIClient(double.url, token=double.token, pool=pool, **FAST)
        assert trusting.register("pets", payload()).status == 201
        pool.clear()
