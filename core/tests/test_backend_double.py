"""The backend double speaks contract §5; driven here with the stdlib HTTP client, not ours."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tracebloc_ingestor.testing.backend_double import BackendDouble, Response

AUTH = {"Authorization": "Token test-token"}


def payload(**overrides):
    body = {
        "ingestor_id": str(uuid.uuid4()),
        "labels": {"a": 1},
        "dataset_title": "t - 1",
        "data_format": "image",
        "data_intent": "test",
        "category": "image_classification",
        "schema": {"label": "VARCHAR(255)"},
        "meta_data": {},
        "record_count": 1,
        "size_bytes": 10,
    }
    body.update(overrides)
    return body


def call(double, method, path, body=None, headers=None, raw_body=None):
    """(status, headers, parsed JSON or raw bytes) of one request on a fresh connection."""
    parts = urlsplit(double.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    try:
        content = json.loads(content)
    except ValueError:
        pass
    return response.status, dict(response.getheaders()), content


def test_url_is_known_before_start_and_fixture_is_started(backend_double):
    assert backend_double.url.startswith("http://127.0.0.1:") and backend_double.url.endswith("/")
    double = BackendDouble()
    assert urlsplit(double.url).port > 0
    double.stop()
    assert call(backend_double, "GET", "/nowhere/")[0] == 404


def test_token_endpoint(backend_double):
    good = {"username": "client-id", "password": "client-secret"}
    assert call(backend_double, "POST", "/api-token-auth/", good)[::2] == (200, {"token": "test-token"})
    assert call(backend_double, "POST", "/api-token-auth/", {**good, "password": "x"})[0] == 400
    assert call(backend_double, "GET", "/api-token-auth/")[0] == 405
    assert backend_double.rotate_token("fresh") == "fresh"
    assert call(backend_double, "POST", "/api-token-auth/", good)[2] == {"token": "fresh"}


def test_summary_requires_the_token(backend_double):
    status, headers, _ = call(backend_double, "POST", "/global_meta/summary/t/", payload())
    assert status == 401 and headers["WWW-Authenticate"] == "Token"
    assert call(backend_double, "POST", "/global_meta/summary/t/", payload(), {"Authorization": "Token nope"})[0] == 401
    assert call(backend_double, "POST", "/global_meta/summary/t/", payload(), {"Authorization": "Bearer test-token"})[0] == 201
    assert len(backend_double.registrations()) == 1


def test_summary_accepts_once_per_ingestor_id(backend_double):
    body = payload()
    status, _, answer = call(backend_double, "POST", "/global_meta/summary/t/", body, AUTH)
    assert status == 201 and answer["dataset_id"] == 1
    assert call(backend_double, "POST", "/global_meta/summary/other/", body, AUTH)[::2] == (
        409, {"detail": "already registered", "dataset_id": 1},
    )
    assert backend_double.registrations("t") == [body]
    assert backend_double.registrations("other") == []


def test_summary_refuses_payloads_outside_the_contract(backend_double):
    bad = payload(data_format="spreadsheet", rows=[["Jane Doe", 41]])
    status, _, answer = call(backend_double, "POST", "/global_meta/summary/t/", bad, AUTH)
    assert status == 400
    assert "data_format: must be one of image, tabular, text" in answer["problems"]
    assert "rows: is not allowed" in answer["problems"]
    assert call(backend_double, "POST", "/global_meta/summary/t/", raw_body=b"not json", headers=AUTH)[0] == 400
    assert call(backend_double, "POST", "/global_meta/summary/bad-name/", payload(), AUTH)[0] == 400
    assert call(backend_double, "POST", "/global_meta/summary/t", payload(), AUTH)[0] == 404
    assert backend_double.registrations() == []


def test_failure_reports(backend_double):
    assert call(backend_double, "POST", "/global_meta/ingest_failure/", {"ingestor_id": "r", "reason": "db_down"}, AUTH)[0] == 200
    assert call(backend_double, "POST", "/global_meta/ingest_failure/", {"ingestor_id": "r", "reason": "DB down!"}, AUTH)[0] == 400
    assert call(backend_double, "POST", "/global_meta/ingest_failure/", {"ingestor_id": "r"}, AUTH)[0] == 400
    assert call(backend_double, "POST", "/global_meta/ingest_failure/", {"ingestor_id": "r", "reason": "x"})[0] == 401
    assert backend_double.failures() == [{"ingestor_id": "r", "reason": "db_down"}]


def test_scripted_answers_take_precedence_then_defaults_return(backend_double):
    backend_double.script("global_meta/", 503)
    backend_double.script("/global_meta/summary/", 500, Response(429, headers={"Retry-After": "7"}, body=b"slow down"))
    path = "/global_meta/summary/t/"
    assert call(backend_double, "POST", path, payload(), AUTH)[0] == 500  # longest prefix first
    status, headers, body = call(backend_double, "POST", path, payload(), AUTH)
    assert (status, headers["Retry-After"], body) == (429, "7", b"slow down")
    assert call(backend_double, "POST", path, payload(), AUTH)[0] == 503  # shorter prefix next
    assert call(backend_double, "POST", path, payload(), AUTH)[0] == 201  # queues empty: default
    assert len(backend_double.requests) == 4


def test_delay_and_drop(backend_double):
    backend_double.script("global_meta/summary/", Response(delay=0.5), Response(drop=True))
    started = time.monotonic()
    assert call(backend_double, "POST", "/global_meta/summary/t/", payload(), AUTH)[0] == 201
    assert time.monotonic() - started >= 0.45
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(backend_double, "POST", "/global_meta/summary/t/", payload(), AUTH)
    assert len(backend_double.requests) == 2


def test_records_every_byte(backend_double):
    body = payload(labels={"needle-label": 2})
    call(backend_double, "POST", "/global_meta/summary/t/?probe=needle-query", body, {**AUTH, "X-Probe": "needle-header"})
    (request,) = backend_double.requests
    assert (request.method, request.path, request.query) == ("POST", "/global_meta/summary/t/", "probe=needle-query")
    assert request.json == body and request.header("x-probe") == "needle-header"
    everything = backend_double.all_bytes()
    for needle in (b"needle-label", b"needle-query", b"needle-header", b"Token test-token"):
        assert needle in everything


def test_chunked_bodies_and_absolute_targets(backend_double):
    parts = urlsplit(backend_double.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = json.dumps(payload()).encode()
    conn.request("POST", "http://backend.example/global_meta/summary/t/", body=iter([data[:10], data[10:]]),
                 headers={**AUTH, "Content-Type": "application/json"}, encode_chunked=True)
    assert conn.getresponse().status == 201
    conn.close()
    (request,) = backend_double.requests
    assert request.target == "http://backend.example/global_meta/summary/t/"
    assert request.path == "/global_meta/summary/t/" and request.body == data


def test_runs_by_hand():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracebloc_ingestor.testing.backend_double", "--port", "0", "--token", "hand"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = process.stdout.readline().strip()
        double = type("Target", (), {"url": url})
        status, _, _ = call(double, "POST", "/global_meta/summary/t/", payload(), {"Authorization": "Token hand"})
        assert status == 201
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()  # no-op once it has exited; never leave it running
    assert process.returncode == 0
    assert url.startswith("http://127.0.0.1:")
    assert json.loads(out)[0]["category"] == "image_classification"
    assert "POST /global_meta/summary/t/ -> 201" in err
