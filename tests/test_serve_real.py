"""The service with the real reader (digitrec.vision) and the default model.

``create_app()`` loads ``load_model("default")`` and reads every page through
:func:`digitrec.pages.read_page`.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitrec.serve import create_app
from form_helpers import form_image
from serve_helpers import bomb_png, png, seven_png


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def c(app) -> TestClient:
    return TestClient(app)


def paper(digits: list[np.ndarray], scale: int = 4) -> bytes:
    """MNIST digits (white on black) as dark ink on white paper, side by side."""
    gap = np.zeros((28, 12), np.uint8)
    parts = [gap]
    for d in digits:
        parts += [d, gap]
    row = np.pad(np.hstack(parts), ((12, 12), (0, 0)))
    image = Image.fromarray(255 - row).resize((row.shape[1] * scale, row.shape[0] * scale))
    return png(image)


def test_model_card_is_the_default_models_meta(c) -> None:
    from digitrec.models import load_model

    meta = load_model("default").meta
    card = c.get("/v1/model").json()
    assert card["name"] == meta["name"]
    assert card["accuracy"] == pytest.approx(meta["accuracy"])
    # The CNN records its weights' sha256; "checksum" wins where a model has both.
    assert card["checksum"] == meta.get("checksum", meta.get("sha256"))
    assert 0.9 < card["accuracy"] <= 1.0


def test_read_a_drawn_seven(c) -> None:
    r = c.post("/v1/read", files={"file": ("seven.png", seven_png(), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "7"
    ((line,),) = [p["lines"] for p in body["pages"]]
    (char,) = line["chars"]
    assert char["char"] == "7" and 0.0 < char["confidence"] <= 1.0
    assert char["top3"][0][0] == "7" and len(char["top3"]) == 3


def test_answer_is_the_page_readers_to_dict(app, c) -> None:
    from digitrec.pages.read import SegmentReader, read_page

    data = seven_png(420, 300)
    reader = SegmentReader(app.state.reader.model)
    expected = read_page(data, line_reader=reader, path="body").to_dict()
    got = c.post("/v1/read", content=data, headers={"content-type": "image/png"}).json()
    assert got["pages"] == [json.loads(json.dumps(expected))]  # exact: JSON keeps floats
    assert (got["text"], got["confidence"]) == (expected["text"], expected["confidence"])
    # A one-line image reads as digitrec.read reads it.
    assert got["text"] == vision_text(data, app)


def vision_text(data: bytes, app) -> str:
    from digitrec import vision

    return vision.read(data, model=app.state.reader.model).text


def test_read_a_two_page_pdf(c) -> None:
    from pdf_helpers import pdf_of

    page = np.asarray(Image.open(io.BytesIO(seven_png(200, 200))))
    r = c.post("/v1/read", files={"file": ("sevens.pdf", pdf_of([page, page]))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(p["page"], p["text"]) for p in body["pages"]] == [(1, "7"), (2, "7")]
    assert body["text"] == "7\n7"


@pytest.mark.mnist
def test_batch_reads_mnist_digits_on_paper(c, mnist) -> None:
    images, labels = mnist.test_images[:24], mnist.test_labels[:24]
    files = [("files", (f"{i}.png", paper([im]), "image/png")) for i, im in enumerate(images)]
    r = c.post("/v1/read/batch", files=files)
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["filename"] for i in items] == [f"{i}.png" for i in range(24)]
    read = [i.get("text") for i in items]
    accuracy = np.mean([t == str(y) for t, y in zip(read, labels, strict=True)])
    assert accuracy >= 0.9, list(zip(read, labels.tolist(), strict=True))


@pytest.mark.mnist
def test_read_a_whole_number(c, mnist) -> None:
    picks = [int(np.flatnonzero(mnist.test_labels == d)[0]) for d in (3, 0, 9)]
    r = c.post("/v1/read", files={"file": ("n.png", paper(list(mnist.test_images[picks])))})
    body = r.json()
    assert r.status_code == 200
    ((line,),) = [p["lines"] for p in body["pages"]]
    xs = [d["box"][0] for d in line["chars"]]
    assert len(xs) == 3
    assert xs == sorted(xs)
    assert body["text"] == "309"


@pytest.mark.parametrize(
    "payload",
    [b"plain text", seven_png()[:100], b"GIF89a" + b"\0" * 20, b"\xff\xd8\xff\xe0" + b"\0" * 50],
    ids=["text", "truncated-png", "gif-header-only", "jpeg-header-only"],
)
def test_bad_images_are_422_not_500(c, payload: bytes) -> None:
    r = c.post("/v1/read", files={"file": ("bad.png", payload, "image/png")})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_image"


def test_bomb_is_413(c) -> None:
    r = c.post("/v1/read", content=bomb_png(60_000, 60_000), headers={"content-type": "image/png"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_pixels"


def test_blank_page_reads_nothing_with_a_reason(c) -> None:
    r = c.post("/v1/read", files={"file": ("blank.png", png(Image.new("L", (200, 200), 255)))})
    assert r.status_code == 200
    body = r.json()
    assert body["text"] == "" and body["pages"][0]["lines"] == [] and body.get("reason")
    assert body["pages"][0]["reason"] == body["reason"]


def test_the_line_reader_is_a_query_option(c) -> None:
    """``?reader=combined`` (and the default, on a page of two lines) reads separators and
    skips words; ``digits_only`` drops the separator; a name that is no reader is a 422."""

    img = form_image()
    files = {"file": ("form.png", png(img), "image/png")}
    r = c.post("/v1/read?reader=combined", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "12.50" and len(r.json()["pages"][0]["lines"]) == 1
    r = c.post("/v1/read?reader=combined&digits_only=true", files=files)
    assert r.json()["text"] == "1250", r.text
    # the default (auto) reads the lines of a page of several lines with the line model
    assert c.post("/v1/read", files=files).json()["text"] == "12.50"
    segment = c.post("/v1/read?reader=segment", files=files).json()
    assert segment["text"].split("\n")[0] != "12.50"  # segment: digits only
    assert c.post("/v1/read?reader=magic", files=files).status_code == 422
