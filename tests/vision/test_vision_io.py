"""Loading images: every source, format and mode, and every kind of bad input."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from vision_helpers import ExplodingModel, draw_strokes

from digitrec.errors import InputError
from digitrec.vision import load_image, read
from digitrec.vision.io import MAX_PIXELS, WORK_PIXELS


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(side: int = 30_000) -> bytes:
    """A real decompression bomb: a 1-bit side x side PNG of zeros, ~100 kB on disk."""
    row = b"\x00" * (1 + side // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 1000) for _ in range(side // 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "WEBP"])
def test_formats_load_the_same_picture(fmt, tmp_path):
    img = draw_strokes()
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(_encode(img, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {})))
    loaded = load_image(path)
    ref = np.asarray(img, np.float32) / 255
    assert loaded.gray.shape == ref.shape
    assert np.abs(loaded.gray - ref).mean() < 0.02
    assert loaded.size == img.size and loaded.scale == 1.0


def test_every_source_type_gives_the_same_array(tmp_path):
    img = draw_strokes()
    path = tmp_path / "x.png"
    img.save(path)
    arrays = [
        load_image(path).gray,
        load_image(str(path)).gray,
        load_image(path.read_bytes()).gray,
        load_image(img).gray,
        load_image(np.asarray(img)).gray,
        load_image(np.asarray(img, np.float64) / 255).gray,
        load_image(np.asarray(img).astype(np.uint16) * 257).gray,
        load_image(np.stack([np.asarray(img)] * 3, axis=2)).gray,
    ]
    for a in arrays[1:]:
        np.testing.assert_allclose(a, arrays[0], atol=1 / 255 + 1e-6)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "CMYK"])
def test_modes(mode):
    if mode == "I;16":
        img = Image.fromarray(np.asarray(draw_strokes()).astype(np.uint16) * 257)
    elif mode == "1":
        img = draw_strokes().convert("1", dither=Image.Dither.NONE)
    else:
        img = draw_strokes().convert("RGB").convert(mode)
    gray = load_image(img).gray
    ref = np.asarray(draw_strokes(), np.float32) / 255
    assert gray.dtype == np.float32 and gray.shape == ref.shape
    # "1" and "P" quantise; the strokes must still be where they were.
    assert np.corrcoef(gray.ravel(), ref.ravel())[0, 1] > 0.9


def test_transparent_background_is_flattened_to_contrast():
    base = np.asarray(draw_strokes())
    alpha = (255 - base).astype(np.uint8)  # strokes opaque, paper transparent
    for ink in (0, 255):  # black drawing -> white paper; white drawing -> black paper
        rgba = np.zeros((*base.shape, 4), np.uint8)
        rgba[..., :3] = ink
        rgba[..., 3] = alpha
        gray = load_image(rgba).gray
        strokes = base < 128
        assert abs(gray[strokes].mean() - ink / 255) < 0.15
        assert abs(gray[~strokes].mean() - (1 - ink / 255)) < 0.15


def test_exif_orientation_is_applied():
    img = Image.new("L", (60, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(img, "JPEG", exif=exif)
    loaded = load_image(data)
    assert loaded.size == (20, 60) and loaded.gray.shape == (60, 20)


def test_large_image_is_reduced_with_scale():
    img = draw_strokes(width=2000, height=800)
    loaded = load_image(img)
    h, w = loaded.gray.shape
    assert h * w <= WORK_PIXELS and loaded.size == (2000, 800)
    assert loaded.scale == pytest.approx(2000 / w)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(InputError, match=r"notes\.png: expected an image"):
        load_image(path)


def test_empty_file_and_bytes(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.png: .*0-byte"):
        load_image(path)
    with pytest.raises(InputError, match="empty byte string"):
        load_image(b"")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="found nothing there"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="found a folder"):
        load_image(tmp_path)


def test_truncated_png(tmp_path):
    data = _encode(draw_strokes(), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.png: .*(truncated|damaged)"):
        load_image(path)


@pytest.mark.parametrize(
    ("side", "found"), [(10_000, "10000x10000 = 100,000,000"), (30_000, "900,000,000")]
)
def test_decompression_bomb_is_refused_from_the_header(side, found, tmp_path, monkeypatch):
    # 10,000^2 is over our limit but under Pillow's own; 30,000^2 is over both. Either way the
    # message is digitrec's: the input, its pixel count, the limit and the fix.
    from PIL import ImageFile

    from digitrec.vision.io import TooManyPixels

    path = tmp_path / "bomb.png"
    path.write_bytes(_bomb_png(side))
    assert path.stat().st_size < 1_000_000

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(TooManyPixels) as err:
        load_image(path)
    message = str(err.value)
    assert f"bomb.png: expected an image of at most {MAX_PIXELS:,} pixels, found {found}" in message
    assert "resize it first" in message and "decompression bomb" not in message.lower()
    assert side * side > MAX_PIXELS
    with pytest.raises(TooManyPixels, match="of at most 1,000 pixels, found 40x40"):
        load_image(np.zeros((40, 40), np.uint8), max_pixels=1_000)


def test_animated_gif_reads_the_first_frame():
    first = draw_strokes().convert("P")
    second = Image.new("P", first.size, 0)
    data = _encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    gray = load_image(data).gray
    ref = np.asarray(first.convert("L"), np.float32) / 255
    np.testing.assert_allclose(gray, ref, atol=1 / 255 + 1e-6)


def test_one_pixel_image_is_an_empty_result():
    result = read(Image.new("L", (1, 1), 128), model=ExplodingModel())
    assert result.text == "" and result.digits == [] and result.confidence == 0.0
    assert "too small" in result.reason


def test_zero_size_array_is_an_empty_result():
    result = read(np.zeros((0, 5), np.uint8), model=ExplodingModel())
    assert result.text == "" and result.reason


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 4, 2), np.uint8), "expected an array of shape"),
        (np.zeros((2, 4, 4, 3), np.uint8), "expected an array of shape"),
        (np.array([["a", "b"], ["c", "d"]]), "integer or float"),
        (12345, "expected a path, bytes"),
    ],
)
def test_bad_arrays_and_types(bad, match):
    with pytest.raises(InputError, match=match):
        load_image(bad)


_SEED_FILES = {
    fmt: _encode(draw_strokes(40, 20, n=1), fmt) for fmt in ("PNG", "GIF", "BMP", "TIFF")
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(_SEED_FILES)),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    length=st.integers(0, 10_000),
)
def test_corrupted_files_load_or_raise_input_error(fmt, cuts, length):
    data = bytearray(_SEED_FILES[fmt])
    for pos, val in cuts:
        data[pos % len(data)] = val
    data = bytes(data[: max(1, length % (len(data) + 1))])
    try:
        loaded = load_image(data)
    except InputError:
        return
    assert loaded.gray.dtype == np.float32 and loaded.gray.ndim == 2


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_load_or_raise_input_error(data):
    # Either a result or our own error: no other exception, no hang.
    with contextlib.suppress(InputError):
        load_image(data)
