"""The HTTP layer's own behaviour (limits, errors, shapes), with a fake reader.

Reading real digits through the service is tested in test_serve_real.py.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitrec.errors import InputError
from digitrec.serve import create_app, model_info
from digitrec.serve.app import STATIC_DIR
from serve_helpers import FakeReader, bomb_png, png, seven_png


def client(reader: FakeReader | None = None, **limits) -> TestClient:
    return TestClient(create_app(reader=reader or FakeReader(), **limits))


def image_bytes(width: int, height: int = 50) -> bytes:
    return png(Image.new("L", (width, height), 255))


def post_png(c: TestClient, data: bytes, url: str = "/v1/read"):
    return c.post(url, content=data, headers={"content-type": "image/png"})


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# ---- service endpoints ------------------------------------------------------


def test_healthz_and_model_card() -> None:
    c = client()
    assert c.get("/healthz").json() == {"status": "ok", "model": "fake"}
    assert c.get("/v1/model").json() == {
        "name": "fake",
        "accuracy": 0.5,
        "checksum": "sha256:fake",
    }


class _Model:
    def __init__(self, meta):
        self.meta = meta


def test_model_info_reads_top_level_and_trained_meta() -> None:
    cnn = model_info(_Model({"name": "cnn-v1", "accuracy": 0.993, "checksum": "sha256:ab"}))
    assert cnn == {"name": "cnn-v1", "accuracy": 0.993, "checksum": "sha256:ab"}
    knn = model_info(_Model({"kind": "knn", "metrics": {"accuracy": 0.97}}))
    assert knn["name"] == "knn" and knn["accuracy"] == 0.97
    # Without a recorded checksum, different metadata gives different checksums.
    other = model_info(_Model({"kind": "knn", "metrics": {"accuracy": 0.96}}))
    assert knn["checksum"].startswith("sha256:") and knn["checksum"] != other["checksum"]
    bare = model_info(object())
    assert bare["name"] == "object" and bare["accuracy"] is None


# ---- POST /v1/read: inputs accepted ------------------------------------------


def test_read_multipart_passes_result_and_options_through() -> None:
    reader = FakeReader()
    c = client(reader)
    r = c.post(
        "/v1/read?min_confidence=0.8&max_digits=2",
        files={"file": ("three.png", image_bytes(340), "image/png")},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # 340 px wide -> three "3"s from the fake, capped at 2, all below 0.8 -> "?".
    assert set(body) == {"filename", "text", "confidence", "pages"}
    assert (body["filename"], body["text"], body["confidence"]) == ("three.png", "??", 0.75)
    (page,) = body["pages"]
    assert set(page) == {"path", "page", "text", "confidence", "lines"}
    assert (page["path"], page["page"], page["text"]) == ("three.png", 1, "??")
    assert [c["char"] for c in page["lines"][0]["chars"]] == ["?", "?"]
    assert reader.calls == [{"size": (340, 50), "page": 1, "min_confidence": 0.8, "max_digits": 2}]


@pytest.mark.parametrize(
    "content_type", ["image/png", "image/jpeg", "application/octet-stream", "application/pdf"]
)
def test_read_raw_body(content_type: str) -> None:
    r = client().post("/v1/read", content=image_bytes(250), headers={"content-type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "22" and r.json()["filename"] == "body"


def _pages(*widths: int) -> list:
    return [np.full((60, w), 255, np.uint8) for w in widths]


def test_read_pdf_gives_every_page() -> None:
    from pdf_helpers import pdf_of

    reader = FakeReader()
    r = client(reader).post("/v1/read", files={"file": ("scan.pdf", pdf_of(_pages(100, 300)))})
    assert r.status_code == 200, r.text
    body = r.json()
    # Rendered at 200 dpi from 100: twice the width, so 2 and 6 "digits".
    assert [(p["page"], p["text"]) for p in body["pages"]] == [(1, "22"), (2, "666666")]
    assert all(p["path"] == "scan.pdf" for p in body["pages"])
    assert body["text"] == "22\n666666" and body["confidence"] == 0.75
    # Sniffed from the bytes: the same PDF as a raw body with a generic type.
    raw = client().post("/v1/read", content=pdf_of(_pages(100)), headers={"content-type": "x/y"})
    assert raw.status_code == 415  # an unknown type is still refused ...
    raw = client().post(
        "/v1/read", content=pdf_of(_pages(100)), headers={"content-type": "image/png"}
    )
    assert raw.status_code == 200 and raw.json()["pages"][0]["text"] == "22"  # ... a PDF is read


def test_read_multi_page_tiff_and_the_page_limit() -> None:
    buf = io.BytesIO()
    first, *rest = (Image.fromarray(p) for p in _pages(100, 200, 300))
    first.save(buf, format="TIFF", save_all=True, append_images=rest)
    files = {"file": ("pages.tif", buf.getvalue(), "image/tiff")}
    r = client().post("/v1/read", files=files)
    assert [p["text"] for p in r.json()["pages"]] == ["1", "22", "333"]
    err = assert_error(client(max_pages=2).post("/v1/read", files=files), 413, "too_many_pages")
    assert err["message"].startswith("pages.tif: expected at most 2 pages, found 3")


def test_encrypted_and_corrupt_pdfs_are_422_naming_the_file() -> None:
    from pdf_helpers import encrypted_pdf, pdf_of

    c = client()
    err = assert_error(
        c.post("/v1/read", files={"file": ("locked.pdf", encrypted_pdf())}), 422, "invalid_image"
    )
    assert err["message"].startswith("locked.pdf: ") and "encrypted" in err["message"]
    cut = pdf_of(_pages(100))[:300]
    err = assert_error(c.post("/v1/read", files={"file": ("cut.pdf", cut)}), 422, "invalid_image")
    assert err["message"].startswith("cut.pdf: ") and "damaged" in err["message"]


def test_pdf_pages_are_rendered_one_at_a_time(monkeypatch) -> None:
    """pdfium is not thread-safe: concurrent PDF uploads never render at the same time."""
    import threading
    import time

    import digitrec.pages.documents as documents
    from pdf_helpers import pdf_of

    real, active, most = documents._render, [0], [0]
    lock = threading.Lock()

    def render(*args, **kw):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.02)
        try:
            return real(*args, **kw)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(documents, "_render", render)
    pdf = pdf_of(_pages(100, 100))
    files = [("files", (f"{i}.pdf", pdf)) for i in range(6)]
    r = client(workers=4).post("/v1/read/batch", files=files)
    assert r.status_code == 200 and [i["text"] for i in r.json()] == ["22\n22"] * 6
    assert most[0] == 1


# ---- POST /v1/read: bad input -> 4xx JSON -------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_read_refuses_other_content_types(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client().post("/v1/read", content=b"{}", headers=headers)
    err = assert_error(r, 415, "unsupported_media_type")
    assert "multipart/form-data" in err["message"]


def test_read_multipart_needs_exactly_one_file() -> None:
    c = client()
    assert_error(c.post("/v1/read", files={"other": ("a.png", b"x")}), 400, "expected_one_file")
    two = [("file", ("a.png", image_bytes(100))), ("file", ("b.png", image_bytes(100)))]
    assert_error(c.post("/v1/read", files=two), 400, "expected_one_file")
    text_field = c.post("/v1/read", data={"file": "not a file"}, files={"x": ("x", b"1")})
    assert_error(text_field, 400, "expected_file")


def test_read_malformed_multipart() -> None:
    r = client().post(
        "/v1/read",
        content=b'--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={"content-type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] in {"bad_multipart", "expected_one_file"}


def test_read_empty_upload() -> None:
    c = client()
    assert_error(
        c.post("/v1/read", content=b"", headers={"content-type": "image/png"}), 400, "empty_upload"
    )
    assert_error(c.post("/v1/read", files={"file": ("e.png", b"")}), 400, "empty_upload")


@pytest.mark.parametrize(
    "payload", [b"not an image at all", seven_png()[:60], b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_read_not_an_image_is_422_naming_the_file(payload: bytes) -> None:
    r = client().post("/v1/read", files={"file": ("photo.png", payload, "image/png")})
    err = assert_error(r, 422, "invalid_image")
    assert err["message"].startswith("photo.png:")


def test_upload_size_limit_from_content_length() -> None:
    reader = FakeReader()
    c = client(reader, max_upload_bytes=1000)
    assert post_png(c, image_bytes(100)).status_code == 200
    big = image_bytes(100) + b"\0" * 2000  # never decoded: refused by size
    assert len(big) > 1000
    err = assert_error(
        c.post("/v1/read", content=big, headers={"content-type": "image/png"}),
        413,
        "upload_too_large",
    )
    assert "limit" in err["message"]
    assert_error(c.post("/v1/read", files={"file": ("big.png", big)}), 413, "upload_too_large")
    assert len(reader.calls) == 1


def test_upload_size_limit_without_content_length() -> None:
    # A chunked body: the limit is enforced while reading, not from the header.
    def chunks():
        for _ in range(20):
            yield b"\0" * 100

    r = client(max_upload_bytes=1000).post(
        "/v1/read", content=chunks(), headers={"content-type": "image/png"}
    )
    assert_error(r, 413, "upload_too_large")


def test_bad_content_length_header() -> None:
    r = client().post(
        "/v1/read", content=b"abc", headers={"content-type": "image/png", "content-length": "x"}
    )
    assert r.status_code == 400


def test_pixel_limit_checked_before_reading() -> None:
    reader = FakeReader()
    c = client(reader, max_pixels=10_000)
    assert post_png(c, image_bytes(100, 100)).status_code == 200
    err = assert_error(
        c.post("/v1/read", content=image_bytes(101, 100), headers={"content-type": "image/png"}),
        413,
        "too_many_pixels",
    )
    assert "101x100" in err["message"]
    assert len(reader.calls) == 1


def test_decompression_bomb_header_is_refused_fast() -> None:
    reader = FakeReader()
    bomb = bomb_png(100_000, 100_000)
    assert len(bomb) < 100
    r = client(reader).post("/v1/read", files={"file": ("bomb.png", bomb, "image/png")})
    err = assert_error(r, 413, "too_many_pixels")
    assert reader.calls == []
    # digitrec's own words (input, count, limit, fix), never Pillow's.
    assert err["message"].startswith("bomb.png: expected an image of at most 64,000,000 pixels")
    assert "10,000,000,000 pixels" in err["message"] and "resize it first" in err["message"]
    assert "decompression bomb" not in err["message"].lower()


def test_pixel_limit_and_message_are_the_cli_ones(tmp_path) -> None:
    from digitrec.vision.io import MAX_PIXELS, TooManyPixels, load_image

    big = bomb_png(10_000, 7_000)  # 70 MP: over the one limit, under Pillow's
    err = assert_error(
        client().post("/v1/read", files={"file": ("big.png", big, "image/png")}),
        413,
        "too_many_pixels",
    )
    (tmp_path / "big.png").write_bytes(big)
    with pytest.raises(TooManyPixels) as cli_error:
        load_image(tmp_path / "big.png", name="big.png")
    assert err["message"] == str(cli_error.value)
    assert f"at most {MAX_PIXELS:,} pixels, found 10000x7000 = 70,000,000 pixels" in err["message"]


def test_request_timeout_is_503_with_retry_after() -> None:
    c = client(FakeReader(delay_s=1.0), request_timeout_s=0.05)
    r = c.post("/v1/read", content=image_bytes(100), headers={"content-type": "image/png"})
    assert_error(r, 503, "timeout")
    assert r.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    "query",
    ["min_confidence=2", "min_confidence=-0.1", "max_digits=1001", "max_digits=0", "max_digits=x"],
)
def test_invalid_query_is_422(query: str) -> None:
    r = client().post(
        f"/v1/read?{query}", content=image_bytes(100), headers={"content-type": "image/png"}
    )
    err = assert_error(r, 422, "invalid_request")
    assert err["details"] and err["details"][0]["field"].startswith("query.")


def test_unknown_route_and_method_are_json() -> None:
    c = client()
    assert_error(c.get("/v2/read"), 404, "not_found")
    assert_error(c.get("/v1/read"), 405, "method_not_allowed")
    assert_error(c.delete("/healthz"), 405, "method_not_allowed")


def test_unexpected_reader_bug_is_a_json_500_last_resort() -> None:
    app = create_app(reader=FakeReader(fail=RuntimeError("bug")))
    c = TestClient(app, raise_server_exceptions=False)
    r = c.post("/v1/read", content=image_bytes(100), headers={"content-type": "image/png"})
    err = assert_error(r, 500, "internal_error")
    assert "bug" not in err["message"]  # internals are not leaked


def test_create_app_rejects_bad_limits() -> None:
    with pytest.raises(InputError, match="max_upload_bytes"):
        create_app(reader=FakeReader(), max_upload_bytes=0)
    with pytest.raises(InputError, match="request_timeout_s"):
        create_app(reader=FakeReader(), request_timeout_s=-1)


# ---- POST /v1/read/batch ----------------------------------------------------------


def test_batch_answers_in_order_with_per_file_errors() -> None:
    files = [
        ("files", ("a.png", image_bytes(120), "image/png")),
        ("files", ("b.txt", b"hello", "text/plain")),
        ("files", ("c.png", image_bytes(520), "image/png")),
        ("files", ("d.png", b"", "image/png")),
    ]
    r = client().post("/v1/read/batch?max_digits=3", files=files)
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["filename"] for i in items] == ["a.png", "b.txt", "c.png", "d.png"]
    assert items[0]["text"] == "1"
    assert items[1]["error"]["code"] == "invalid_image"
    assert items[2]["text"] == "555"
    assert items[3]["error"]["code"] == "empty_upload"


def test_batch_limits_and_errors() -> None:
    c = client(max_batch_files=2)
    three = [("files", (f"{i}.png", image_bytes(100))) for i in range(3)]
    assert_error(c.post("/v1/read/batch", files=three), 413, "too_many_files")
    assert_error(c.post("/v1/read/batch", files={"file": ("a.png", b"x")}), 400, "no_files")
    assert_error(
        c.post("/v1/read/batch", content=image_bytes(100), headers={"content-type": "image/png"}),
        415,
        "unsupported_media_type",
    )


def test_batch_timeout_is_per_file() -> None:
    c = client(FakeReader(delay_s=1.0), request_timeout_s=0.05)
    r = c.post("/v1/read/batch", files=[("files", ("a.png", image_bytes(100)))])
    assert r.status_code == 200
    assert r.json()[0]["error"]["code"] == "timeout"


# ---- the page, the docs, the OpenAPI document -----------------------------------


def test_page_and_assets_are_served_with_a_strict_csp() -> None:
    c = client()
    r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert 'id="pad"' in html and 'aria-live="polite"' in html
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert c.get(asset).status_code == 200, asset
    assert (
        c.get("/static/app.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_static_files_load_nothing_from_other_origins() -> None:
    # Offline: no CDN, no external fonts or scripts in any page file.
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!HOST\b)", text), path.name
        assert "//cdn" not in text, path.name


def test_docs_and_openapi() -> None:
    c = client()
    docs = c.get("/docs")
    assert docs.status_code == 200 and "/static/docs.js" in docs.text
    spec = c.get("/openapi.json").json()
    assert {"/v1/read", "/v1/read/batch", "/v1/model", "/healthz"} <= set(spec["paths"])
    body = spec["paths"]["/v1/read"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/png", "application/octet-stream"} <= set(body)
    assert "422" in spec["paths"]["/v1/read"]["post"]["responses"]


# ---- the CLI -----------------------------------------------------------------------------


def test_cli_serve_wires_options_to_create_app_and_uvicorn(monkeypatch) -> None:
    from typer.testing import CliRunner

    import digitrec.serve
    import digitrec.serve.lifecycle
    import digitrec.serve.observe
    from digitrec.cli.app import app

    seen = {}

    def fake_create_app(model, **limits):
        seen["model"], seen["limits"] = model, limits
        return "APP"

    monkeypatch.setattr(digitrec.serve, "create_app", fake_create_app)
    run = lambda app, **kw: seen.update(app=app, run=kw)  # noqa: E731
    monkeypatch.setattr(digitrec.serve.lifecycle, "run_server", run)
    monkeypatch.setattr(digitrec.serve.observe, "configure_logging", lambda: None)
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--port",
            "9123",
            "--model",
            "models/knn",
            "--max-upload-mb",
            "2",
            "--timeout",
            "3",
            "--threads",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["model"] == "models/knn"
    assert seen["limits"]["max_upload_bytes"] == 2 * 2**20
    assert seen["limits"]["request_timeout_s"] == 3.0
    assert seen["limits"]["workers"] == 3
    assert seen["app"] == "APP" and seen["run"]["port"] == 9123
    assert seen["run"]["host"] == "127.0.0.1"


def test_cli_serve_on_a_busy_port_says_so_before_loading_or_printing(monkeypatch) -> None:
    import socket

    from typer.testing import CliRunner

    import digitrec.serve
    from digitrec.cli.app import app

    called = []
    monkeypatch.setattr(digitrec.serve, "create_app", lambda *a, **k: called.append(a))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1 and called == []
    assert isinstance(result.exception, InputError)
    assert f"--port {port}: expected a free port on 127.0.0.1, found it taken" in str(
        result.exception
    )
    assert "http://" not in result.output


def test_app_survives_several_lifespans() -> None:
    # Each `with TestClient` runs startup and shutdown; the reader threads restart.
    app = create_app(reader=FakeReader())
    for _ in range(2):
        with TestClient(app) as c:
            assert post_png(c, image_bytes(100)).status_code == 200


def test_page_images_are_the_pictures_the_boxes_refer_to() -> None:
    import base64

    from pdf_helpers import pdf_of

    c = client()
    pdf = pdf_of(_pages(100, 150))
    body = c.post("/v1/read?page_images=true", files={"file": ("scan.pdf", pdf)}).json()
    for page in body["pages"]:
        image = Image.open(io.BytesIO(base64.b64decode(page["image"])))
        assert image.mode == "L"
        assert [0, 0, *image.size] == page["lines"][0]["box"]  # the fake's box: the whole page
    assert [p["lines"][0]["box"][2] for p in body["pages"]] == [200, 300]
    assert "image" not in c.post("/v1/read", files={"file": ("scan.pdf", pdf)}).json()["pages"][0]
