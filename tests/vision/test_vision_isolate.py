"""Bad images isolated one way: read_each keeps each failure in its image's place."""

from __future__ import annotations

import pytest
from vision_helpers import CountingModel, draw_strokes

from digitrec.errors import InputError, ModelError
from digitrec.vision.io import TooManyPixels
from digitrec.vision.isolate import ReadError, read_each
from digitrec.vision.read import ReadResult


def test_bad_images_get_errors_in_place_and_share_one_model_call(tmp_path):
    draw_strokes().save(tmp_path / "a.png")
    draw_strokes(n=2).save(tmp_path / "b.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    paths = [str(tmp_path / n) for n in ("a.png", "bad.png", "missing.png", "b.png")]
    model = CountingModel()
    out = read_each(paths, model=model)
    assert [type(r) for r in out] == [ReadResult, ReadError, ReadError, ReadResult]
    assert len(out[0].text) == 3 and len(out[3].text) == 2
    assert out[1].message.startswith(paths[1]) and "expected an image" in out[1].message
    assert "missing.png" in out[2].message and out[2].to_dict() == {"error": out[2].message}
    assert model.calls == 1  # the good images' digits went through one call


def test_pixel_limit_and_names_reach_the_error(tmp_path):
    draw_strokes().save(tmp_path / "a.png")
    (result,) = read_each([tmp_path / "a.png"], names=["upload.png"], max_pixels=100)
    assert isinstance(result, ReadError) and isinstance(result.exc, TooManyPixels)
    assert result.message.startswith("upload.png: expected an image of at most 100 pixels")


def test_a_reader_failure_on_one_image_fails_only_that_image(monkeypatch, tmp_path):
    import digitrec.vision.isolate as isolate

    draw_strokes().save(tmp_path / "a.png")
    draw_strokes(n=2).save(tmp_path / "b.png")
    real = isolate.read_many
    calls = []

    def spy(images, **kw):
        calls.append(len(images))
        if len(images) == 2:
            raise RuntimeError("one image trips the reader")
        if len(images) == 1 and len(calls) == 4:  # the second image, alone
            raise RuntimeError("this one")
        return real(images, **kw)

    monkeypatch.setattr(isolate, "read_many", spy)
    out = read_each([str(tmp_path / "a.png"), str(tmp_path / "b.png")], model=CountingModel())
    assert calls == [0, 2, 1, 1]  # options check, the group, then one by one
    assert isinstance(out[0], ReadResult) and isinstance(out[1], ReadError)
    assert out[1].message == f"{tmp_path / 'b.png'}: RuntimeError: this one"


def test_model_errors_and_bad_options_fail_the_whole_call(tmp_path):
    draw_strokes().save(tmp_path / "a.png")

    class Broken:
        def predict_proba(self, images):
            raise ModelError("model gone")

    with pytest.raises(ModelError, match="model gone"):
        read_each([tmp_path / "a.png"], model=Broken())
    with pytest.raises(InputError, match="min_confidence"):
        read_each([tmp_path / "a.png"], model=CountingModel(), min_confidence=2.0)
