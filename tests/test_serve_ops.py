"""The service's operations layer, in process: keys, rate limits, CORS, /metrics,
JSON logs and request IDs, /readyz, upload deadlines and disconnects.

A real uvicorn process (SIGTERM drain, soak) is tested in test_serve_process.py.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time

import pytest
from fastapi.testclient import TestClient

from digitrec.errors import InputError
from digitrec.serve import create_app
from digitrec.serve.access import Access, KeyRing, TokenBuckets, load_keys, parse_rate
from digitrec.serve.observe import JsonFormatter
from serve_helpers import FakeReader, seven_png

KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"


def client(reader=None, **kwargs) -> TestClient:
    return TestClient(create_app(reader=reader or FakeReader(), **kwargs))


def post_png(c: TestClient, key: str | None = None, **headers: str):
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return c.post("/v1/read", content=seven_png(), headers={"content-type": "image/png", **headers})


def log_lines(caplog) -> list[dict]:
    fmt = JsonFormatter()
    return [json.loads(fmt.format(r)) for r in caplog.records]


# ---- keys --------------------------------------------------------------------


def test_keys_missing_wrong_right() -> None:
    c = client(access=Access(keys=(KEY_A, KEY_B)))
    missing = post_png(c)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "missing_api_key"
    wrong = post_png(c, key=KEY_A[:-1] + "X")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    basic = post_png(c, authorization=f"Basic {KEY_A}")
    assert basic.status_code == 401
    assert post_png(c, key=KEY_A).status_code == 200
    assert post_png(c, key=KEY_B).status_code == 200
    assert c.get("/v1/model").status_code == 401


def test_keys_leave_health_pages_open_and_guard_metrics() -> None:
    c = client(access=Access(keys=(KEY_A,)))
    assert c.get("/healthz").status_code == 200
    assert c.get("/readyz").status_code == 503  # open, but not warmed up (no lifespan)
    assert c.get("/").status_code == 200
    assert c.get("/openapi.json").status_code == 200
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"authorization": f"Bearer {KEY_A}"}).status_code == 200


def test_key_never_logged(caplog) -> None:
    c = client(access=Access(keys=(KEY_A, KEY_B)))
    with caplog.at_level(logging.INFO, logger="digitrec.serve"):
        post_png(c, key=KEY_B)
        post_png(c, key=KEY_A + "x")
    lines = log_lines(caplog)
    assert [line["status"] for line in lines] == [200, 401]
    assert lines[0]["key_id"] == 2  # the key's number, not the key
    assert "key_id" not in lines[1] and lines[1]["error_code"] == "invalid_api_key"
    text = "\n".join(json.dumps(line) for line in lines) + caplog.text
    assert KEY_A[:12] not in text and KEY_B[:12] not in text


def test_load_keys_file_and_env(tmp_path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(f"# operators\n\n{KEY_A}  # alice\n   {KEY_B}\n")
    assert load_keys(path) == (KEY_A, KEY_B)
    other = "key-c-0123456789abcdef"
    assert load_keys(path, f" {other}, {KEY_A},") == (KEY_A, KEY_B, other)
    assert load_keys(None, None) == ()


@pytest.mark.parametrize(
    ("text", "found"),
    [("# nothing\n\n", "found none"), ("short-key\n", "found one of 9 characters")],
)
def test_load_keys_refuses_bad_files(tmp_path, text: str, found: str) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=found) as info:
        load_keys(path)
    assert "short-key" not in str(info.value)  # a bad key is not echoed either
    with pytest.raises(InputError, match="readable UTF-8 text file"):
        load_keys(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="DIGITREC_API_KEYS, item 2"):
        load_keys(None, f"{KEY_A},has space in it 0123456789")


def test_key_ring_compares_every_key(monkeypatch) -> None:
    calls = []
    compare = hmac.compare_digest

    def counting(a, b):
        calls.append(1)
        return compare(a, b)

    monkeypatch.setattr("digitrec.serve.access.hmac.compare_digest", counting)
    ring = KeyRing([KEY_A, KEY_B, "key-c-0123456789abcdef"])
    assert ring.match(KEY_A) == 1 and len(calls) == 3  # no early exit on a match
    assert ring.match("nope") is None and len(calls) == 6
    assert not KeyRing([])


def test_cli_names_the_same_env_variable() -> None:
    from digitrec.cli import serve as cli_serve
    from digitrec.serve import access

    assert cli_serve.KEYS_ENV == access.KEYS_ENV


# ---- rate limit ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "per_s"), [("10/s", 10.0), ("120/min", 2.0), ("1.5 / s", 1.5), ("36/h", 0.01)]
)
def test_parse_rate(text: str, per_s: float) -> None:
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize("text", ["10", "0/s", "-1/s", "ten/s", "5/day"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(InputError, match="like 10/s"):
        parse_rate(text)


def test_token_bucket_burst_then_rate() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate=2.0, burst=3, max_callers=2, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert buckets.take("b") == 0.0  # callers do not share a bucket
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    buckets.take("c")  # a third caller drops the least recently seen bucket ("b")
    assert set(buckets._buckets) == {"a", "c"}


def test_rate_limit_429_with_retry_after_per_key() -> None:
    c = client(access=Access(keys=(KEY_A, KEY_B), rate=0.5, burst=2))
    assert [post_png(c, key=KEY_A).status_code for _ in range(2)] == [200, 200]
    limited = post_png(c, key=KEY_A)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert post_png(c, key=KEY_B).status_code == 200  # another key has its own bucket
    assert c.get("/healthz").status_code == 200  # health checks are never limited


def test_rate_limit_per_address_without_keys() -> None:
    c = client(access=Access(rate=0.1))
    assert post_png(c).status_code == 200
    r = post_png(c)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 9


# ---- CORS ----------------------------------------------------------------------

ORIGIN = "https://digits.example"
PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


def test_cors_off_by_default() -> None:
    c = client()
    r = post_png(c, origin=ORIGIN)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in c.options("/v1/read", headers=PREFLIGHT).headers


def test_cors_on_for_configured_origins() -> None:
    c = client(access=Access(keys=(KEY_A,), cors_origins=(ORIGIN,)))
    pre = c.options("/v1/read", headers=PREFLIGHT)  # a preflight carries no key
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    r = post_png(c, key=KEY_A, origin=ORIGIN)
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    other = post_png(c, key=KEY_A, origin="https://evil.example")
    assert "access-control-allow-origin" not in other.headers


# ---- metrics, logs, request IDs -----------------------------------------------


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_count_requests_reads_and_rejections() -> None:
    c = client()
    assert post_png(c).status_code == 200
    assert post_png(c).status_code == 200
    c.post("/v1/read", content=b"{}", headers={"content-type": "text/plain"})  # 415
    c.post("/v1/read", content=b"not an image", headers={"content-type": "image/png"})  # 422
    c.get("/no/such/page")
    r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    ok = 'digitrec_http_requests_total{method="POST",route="/v1/read",status="200"}'
    assert metric(text, ok) == 2
    assert metric(text, 'digitrec_http_requests_total{method="GET",route="unmatched",status="404"}')
    assert metric(text, 'digitrec_rejections_total{reason="unsupported_media_type",status="415"}')
    assert metric(text, 'digitrec_rejections_total{reason="invalid_image",status="422"}') == 1
    assert metric(
        text, 'digitrec_http_request_duration_seconds_count{method="POST",route="/v1/read"}'
    )
    assert metric(text, "digitrec_reads_total") == 2  # the 422 was not a read
    assert metric(text, "digitrec_digits_read_total") == 4  # the fake: 2 per 280 px image
    assert metric(text, "digitrec_reads_in_flight") == 0
    assert "digitrec_model_load_seconds" in text and "process_resident_memory_bytes" in text


def test_metrics_label_refused_requests_by_route() -> None:
    c = client(access=Access(keys=(KEY_A,)))
    post_png(c)
    text = c.get("/metrics", headers={"authorization": f"Bearer {KEY_A}"}).text
    assert metric(text, 'digitrec_http_requests_total{method="POST",route="/v1/read",status="401"}')


def test_json_log_line_and_request_id(caplog) -> None:
    c = client()
    with caplog.at_level(logging.INFO, logger="digitrec.serve"):
        kept = post_png(c, **{"x-request-id": "trace-42.a"})
        fresh = post_png(c, **{"x-request-id": "bad id\twith spaces"})
        c.get("/healthz")
    assert kept.headers["x-request-id"] == "trace-42.a"
    new_id = fresh.headers["x-request-id"]
    assert new_id != "bad id\twith spaces" and len(new_id) == 32
    lines = log_lines(caplog)
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/v1/read", 200),
        ("/v1/read", 200),
        ("/healthz", 200),
    ]
    first = lines[0]
    assert {
        "time",
        "level",
        "msg",
        "request_id",
        "method",
        "route",
        "status",
        "ms",
        "client",
    } <= set(first)
    assert first["request_id"] == "trace-42.a" and lines[1]["request_id"] == new_id
    assert first["method"] == "POST" and first["ms"] >= 0 and first["client"] == "testclient"
    assert first["time"].endswith("+00:00")


def test_unexpected_error_answers_500_with_request_id(caplog) -> None:
    c = TestClient(
        create_app(reader=FakeReader(fail=RuntimeError("boom"))), raise_server_exceptions=False
    )
    with caplog.at_level(logging.INFO, logger="digitrec.serve"):
        r = post_png(c, **{"x-request-id": "req-500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-500"
    assert "req-500" in r.json()["error"]["message"]
    assert [line["status"] for line in log_lines(caplog) if line["msg"] == "request"] == [500]


# ---- readiness -------------------------------------------------------------------


class GatedReader(FakeReader):
    """A fake whose reads wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def read(self, image, options):
        assert self.gate.wait(10), "the test never opened the gate"
        return super().read(image, options)


def wait_ready(c: TestClient) -> None:
    deadline = time.monotonic() + 10
    while c.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "/readyz never became 200"
        time.sleep(0.01)


def test_readyz_503_until_warmed_up() -> None:
    reader = GatedReader()
    with TestClient(create_app(reader=reader)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
        assert r.headers["retry-after"] == "1"
        assert c.get("/healthz").status_code == 200  # alive while warming up
        reader.gate.set()
        wait_ready(c)
        assert c.get("/readyz").json() == {"status": "ready", "model": "fake"}
        assert reader.calls[0]["size"] == (640, 420)  # the start-up read's small page
        text = c.get("/metrics").text
        assert metric(text, "digitrec_ready") == 1
        assert metric(text, "digitrec_reads_total") == 0  # the warm-up is not a read


def test_readyz_stays_503_if_warm_up_fails() -> None:
    with TestClient(create_app(reader=FakeReader(fail=RuntimeError("no model")))) as c:
        deadline = time.monotonic() + 10
        while "failed" not in c.get("/readyz").text:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        r = c.get("/readyz")
        assert r.status_code == 503 and "no model" in r.json()["error"]["message"]


# ---- uploads: deadlines, disconnects, malformed multipart ---------------------------


async def call(app, receive_messages, path="/v1/read", headers=None):
    """Call the ASGI app once; ``receive_messages`` is an async callable."""
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [(b"content-type", b"image/png")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive_messages, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)


def test_slow_body_gets_408_without_blocking_others() -> None:
    app = create_app(reader=FakeReader(), body_timeout_s=1.0)
    image = seven_png()
    done: list[str] = []

    async def slow():
        await asyncio.sleep(0)
        if not done:
            done.append("slow started")
        await asyncio.sleep(5)  # never sends the rest in time
        return {"type": "http.request", "body": image, "more_body": False}

    async def fast_body():
        return {"type": "http.request", "body": image, "more_body": False}

    async def slow_call():
        answer = await call(app, slow)
        done.append("slow answered")
        return answer

    async def both():
        # A first read imports the reading stack, which on a busy machine can take longer
        # than the body deadline: warm up, so the race below is only the two uploads.
        await call(app, fast_body)
        slow_task = asyncio.create_task(slow_call())
        while not done:  # the slow upload has begun before the fast one is sent
            await asyncio.sleep(0.01)
        fast = await call(app, fast_body)
        done.append("fast done")
        return fast, await slow_task

    fast, (status, body) = asyncio.run(both())
    assert fast[0] == 200
    assert status == 408 and body["error"]["code"] == "body_timeout"
    # The fast read was answered while the slow upload was still pending.
    assert done == ["slow started", "fast done", "slow answered"]


def test_disconnect_mid_upload_is_no_server_error(caplog) -> None:
    app = create_app(reader=FakeReader())
    messages = iter(
        [
            {"type": "http.request", "body": seven_png()[:50], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive():
        return next(messages)

    with caplog.at_level(logging.INFO, logger="digitrec.serve"):
        status, body = asyncio.run(call(app, receive))
    assert status == 499 and body["error"]["code"] == "client_closed_request"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    text = asyncio.run(call_metrics(app))
    assert 'reason="client_closed_request",status="499"' in text


async def call_metrics(app) -> str:
    from httpx import ASGITransport, AsyncClient

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        return (await c.get("/metrics")).text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=zz", b"\x00\xff garbage, no parts"),
        (
            "multipart/form-data; boundary=zz",
            b'--zz\r\nContent-Disposition: form-data; name="file"',
        ),
        ("multipart/form-data; boundary=zz", b"--zz\r\nno headers at all\r\n--zz--\r\n"),
    ],
)
def test_malformed_multipart_is_4xx(content_type: str, body: bytes) -> None:
    c = client()
    for url in ("/v1/read", "/v1/read/batch"):
        r = c.post(url, content=body, headers={"content-type": content_type})
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text)
        assert r.json()["error"]["code"]


# ---- the CLI's options --------------------------------------------------------------


def run_cli(monkeypatch, caplog, args: list[str]) -> dict:
    from typer.testing import CliRunner

    import digitrec.serve
    import digitrec.serve.lifecycle
    import digitrec.serve.observe
    from digitrec.cli.app import app

    seen: dict = {}
    monkeypatch.setattr(digitrec.serve, "create_app", lambda model, **kw: seen.update(app=kw))
    run = lambda app, **kw: seen.update(run=kw)  # noqa: E731
    monkeypatch.setattr(digitrec.serve.lifecycle, "run_server", run)
    monkeypatch.setattr(digitrec.serve.observe, "configure_logging", lambda: None)
    with caplog.at_level(logging.INFO, logger="digitrec.serve"):
        result = CliRunner().invoke(app, ["serve", "--port", "0", *args])
    seen.update(exit_code=result.exit_code, exception=result.exception, log=caplog.text)
    return seen


def test_cli_wires_access_and_shutdown_options(monkeypatch, caplog, tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY_A}\n")
    monkeypatch.setenv("DIGITREC_API_KEYS", KEY_B)
    args = ["--api-keys", str(keys), "--rate-limit", "120/min", "--rate-burst", "5"]
    args += ["--cors-origin", ORIGIN, "--cors-origin", "http://localhost:3000"]
    args += ["--drain-timeout", "7", "--body-timeout", "4", "--max-connections", "9"]
    args += ["--max-pages", "3"]
    seen = run_cli(monkeypatch, caplog, args)
    assert seen["exit_code"] == 0, seen["exception"]
    access = seen["app"]["access"]
    assert access.keys == (KEY_A, KEY_B)
    assert access.rate == 2.0 and access.burst == 5
    assert access.cors_origins == (ORIGIN, "http://localhost:3000")
    assert seen["app"]["body_timeout_s"] == 4.0 and seen["app"]["max_pages"] == 3
    assert seen["run"] == {"host": "127.0.0.1", "port": 0, "drain_s": 7.0, "max_connections": 9}
    assert "2 API key(s)" in seen["log"] and KEY_A not in seen["log"]


def test_cli_says_where_it_listens_without_keys(monkeypatch, caplog) -> None:
    monkeypatch.delenv("DIGITREC_API_KEYS", raising=False)
    local = run_cli(monkeypatch, caplog, [])
    assert local["exit_code"] == 0 and local["app"]["access"].keys == ()
    assert "no API keys: listening on 127.0.0.1, this machine only" in local["log"]
    caplog.clear()
    everywhere = run_cli(monkeypatch, caplog, ["--host", "0.0.0.0"])
    assert "WARNING" in everywhere["log"]
    assert "anyone who can reach this port can use the service" in everywhere["log"]


def test_cli_refuses_a_bad_rate_limit(monkeypatch, caplog) -> None:
    seen = run_cli(monkeypatch, caplog, ["--rate-limit", "fast"])
    assert seen["exit_code"] == 1 and "app" not in seen
    assert "--rate-limit 'fast'" in str(seen["exception"])


def test_log_lines_never_wait_for_a_stalled_stream() -> None:
    from digitrec.serve.observe import QueuedLines

    class Stalled:
        def __init__(self) -> None:
            self.lines: list[str] = []
            self.gate = threading.Event()

        def write(self, text: str) -> None:
            assert self.gate.wait(10)
            self.lines.append(text)

        def flush(self) -> None:
            pass

    stream = Stalled()
    handler = QueuedLines(stream, max_lines=3)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("digitrec.test.stalled")
    log.propagate, log.level = False, logging.INFO
    log.addHandler(handler)
    try:
        for n in range(10):  # returns at once although nothing can be written
            log.info("line %d", n)
        assert handler.dropped >= 10 - 3 - 1  # 3 queued, at most 1 taken by the writer
        stream.gate.set()
        handler.close()
    finally:
        log.removeHandler(handler)
    got = [json.loads(line)["msg"] for line in stream.lines]
    assert got == [f"line {n}" for n in range(len(got))] and 3 <= len(got) <= 4
    assert all(line.endswith("\n") for line in stream.lines)
