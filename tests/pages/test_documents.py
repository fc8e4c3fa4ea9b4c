"""Documents: PDFs (one page, several, encrypted, corrupt), multi-page TIFF, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from digitrec.errors import InputError
from digitrec.pages.documents import iter_pages
from digitrec.pages.read import read_document
from pdf_helpers import encrypted_pdf, pdf_of


def test_pdf_one_page_is_read(write):
    data = pdf_of([write(["123", "4567"])])
    (page,) = list(read_document(data))
    assert page.page == 1
    assert page.text == "123\n4567"
    assert page.to_dict()["page"] == 1


def test_pdf_pages_are_numbered_and_rendered_at_the_requested_dpi(write, tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_of([write(["42"]), write(["305"]), write(["7"])], dpi=100))
    pages = list(iter_pages(path, dpi=200))
    assert [p.page for p in pages] == [1, 2, 3]
    assert all(p.path == str(path) and p.dpi == 200 for p in pages)
    first = write(["42"])
    # 100 dpi image rendered at 200 dpi: twice the pixels each way.
    assert pages[0].image.size == pytest.approx((2 * first.shape[1], 2 * first.shape[0]), abs=2)
    results = list(read_document(path))
    assert [r.text for r in results] == ["42", "305", "7"]
    assert [r.path for r in results] == [str(path)] * 3


def _marks(height: int) -> np.ndarray:
    """A white page with a row of dark bars ``height`` pixels tall (writing of that size)."""
    page = np.full((400, 600), 250, np.uint8)
    for x in range(40, 560, 24):
        page[100 : 100 + height, x : x + 4] = 20
    page[300:302, 20:580] = 20  # a rule: flat, so it does not count as writing
    return page


@pytest.mark.parametrize(("height", "dpi"), [(6, 300.0), (15, 200.0)])
def test_pdf_resolution_is_chosen_for_the_writing_size(height, dpi):
    # 100 dpi pages rendered at 200 dpi: marks 12 px tall are small writing, 30 px are not
    (page,) = iter_pages(pdf_of([_marks(height)], dpi=100))
    assert page.dpi == dpi
    assert page.image.size == pytest.approx((6 * dpi, 4 * dpi), abs=2)


def test_pdf_resolution_given_is_kept_and_blank_pages_stay_at_200_dpi():
    (small,) = iter_pages(pdf_of([_marks(6)], dpi=100), dpi=150)
    assert small.dpi == 150
    (blank,) = iter_pages(pdf_of([np.full((400, 600), 250, np.uint8)], dpi=100))
    assert blank.dpi == 200


def test_pdf_named_otherwise_is_still_a_pdf(write, tmp_path):
    path = tmp_path / "scan.png"
    path.write_bytes(pdf_of([write(["42"])]))
    assert [r.text for r in read_document(path)] == ["42"]


def test_encrypted_pdf_is_refused_by_name(tmp_path):
    path = tmp_path / "secret.pdf"
    path.write_bytes(encrypted_pdf())
    with pytest.raises(InputError, match=r"secret\.pdf.*password-protected.*decrypt"):
        list(iter_pages(path))


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n garbage that is not a PDF body", "truncated"], ids=["garbage", "cut"]
)
def test_corrupt_pdf_is_refused_by_name(write, tmp_path, data):
    if data == "truncated":
        whole = pdf_of([write(["42"])])
        data = whole[:200]
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(InputError, match=r"broken\.pdf.*expected a valid PDF.*damaged"):
        list(iter_pages(path))


def tiff_of(pages: list[np.ndarray]) -> bytes:
    imgs = [Image.fromarray(p) for p in pages]
    buf = io.BytesIO()
    imgs[0].save(buf, "TIFF", save_all=True, append_images=imgs[1:])
    return buf.getvalue()


def test_multi_page_tiff_reads_every_page(write):
    data = tiff_of([write(["12"]), write(["345"]), write(["6", "78"])])
    results = list(read_document(data))
    assert [r.page for r in results] == [1, 2, 3]
    assert [r.text for r in results] == ["12", "345", "6\n78"]


def test_single_image_is_one_page_read_like_the_file(write, tmp_path):
    path = tmp_path / "zip.png"
    Image.fromarray(write(["02139"])).save(path)
    from digitrec.vision.read import read

    (r,) = list(read_document(path))
    assert (r.page, r.path, r.text) == (1, str(path), read(path).text)


def test_limit_on_pages(write, tmp_path):
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf_of([write(["1"])] * 3))
    with pytest.raises(InputError, match=r"long\.pdf.*at most 2 pages, found 3"):
        list(iter_pages(path, max_pages=2))
    tif = tmp_path / "long.tif"
    tif.write_bytes(tiff_of([write(["1"])] * 3))
    with pytest.raises(InputError, match=r"long\.tif.*at most 2 pages, found 3"):
        list(iter_pages(tif, max_pages=2))


def test_limit_on_pixels_and_bytes(write, tmp_path):
    path = tmp_path / "big.tif"
    path.write_bytes(tiff_of([write(["1"]), np.full((300, 400), 200, np.uint8)]))
    pages = iter_pages(path, max_pixels=100_000)
    assert next(pages).page == 1
    with pytest.raises(InputError, match=r"big\.tif: page 2: expected an image of at most 100,000"):
        next(pages)
    with pytest.raises(InputError, match=r"big\.tif: expected at most 100 bytes"):
        list(iter_pages(path, max_bytes=100))


@pytest.mark.parametrize(
    ("source", "match"),
    [(b"", "empty"), (b"not an image at all", "neither Pillow nor pdfium"), (3.5, "found float")],
)
def test_bad_inputs(source, match):
    with pytest.raises(InputError, match=match):
        list(iter_pages(source))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"nope\.pdf.*found nothing"):
        list(iter_pages(tmp_path / "nope.pdf"))
