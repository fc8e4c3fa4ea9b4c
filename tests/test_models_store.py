import json

import numpy as np
import pytest

from digitrec.errors import InputError, ModelError
from digitrec.models import load_model
from digitrec.models.knn import KnnModel
from digitrec.models.store import MODEL_FILE, load_saved, save_model


def test_save_load_roundtrip(tmp_path):
    path = save_model(tmp_path / "m", "toy", {"w": np.arange(6.0).reshape(2, 3)}, {"a": 1})
    assert path == tmp_path / "m" / MODEL_FILE
    saved = load_saved(tmp_path / "m", kind="toy")
    assert saved.kind == "toy" and saved.meta["a"] == 1
    assert saved.meta["format"] == 1 and "digitrec_version" in saved.meta
    np.testing.assert_array_equal(saved.arrays["w"], np.arange(6.0).reshape(2, 3))
    assert [p.name for p in (tmp_path / "m").iterdir()] == [MODEL_FILE]


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="no model file there"):
        load_saved(tmp_path / "none")


@pytest.mark.parametrize("cut", [0, 5, 30, -3])
def test_truncated_model_file(tmp_path, cut):
    path = save_model(tmp_path, "toy", {"w": np.ones(100)}, {})
    raw = path.read_bytes()
    path.write_bytes(raw[:cut])
    with pytest.raises(ModelError, match=str(path)):
        load_saved(path)


def test_pickle_file_is_refused_without_running_it(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran code')",))

    path = tmp_path / MODEL_FILE
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelError, match="expected a safetensors model file"):
        load_saved(tmp_path)


def test_foreign_safetensors_without_metadata(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3)}, str(tmp_path / MODEL_FILE))
    with pytest.raises(ModelError, match="without digitrec metadata"):
        load_saved(tmp_path)


def test_wrong_kind(tmp_path):
    save_model(tmp_path, "toy", {"w": np.ones(1)}, {})
    with pytest.raises(ModelError, match="expected a 'knn' model, found a 'toy' model"):
        KnnModel.load(tmp_path)
    with pytest.raises(ModelError, match="unknown model kind 'toy'"):
        load_model(tmp_path)


def test_knn_model_roundtrip_keeps_predictions(tmp_path, tiny_arrays):
    a = tiny_arrays
    model = KnnModel(k=3).fit(a["train_images"], a["train_labels"])
    before = model.predict(a["test_images"])
    assert (before == a["test_labels"]).mean() > 0.9
    model.save(tmp_path, {"metrics": {"accuracy": 1.0}})
    again = load_model(tmp_path)
    np.testing.assert_array_equal(again.predict(a["test_images"]), before)
    np.testing.assert_allclose(again.predict_proba(a["test_images"]).sum(axis=1), 1.0)
    assert again.meta["preprocessing"]["downscale"] == 3
    raw = (tmp_path / MODEL_FILE).read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert header["train_sums"]["dtype"] == "U16"  # exact integer block sums


def test_knn_errors(tiny_arrays):
    with pytest.raises(InputError, match="k=100 is larger than the 60 training images"):
        KnnModel(k=100).fit(tiny_arrays["train_images"], tiny_arrays["train_labels"])
    model = KnnModel().fit(tiny_arrays["train_images"], tiny_arrays["train_labels"])
    with pytest.raises(InputError, match="expected uint8 of shape"):
        model.predict(np.zeros((2, 28, 28), np.float32))


def test_kinds_come_from_the_registry_and_old_names_still_load(tmp_path, tiny_arrays):
    from digitrec.models import LOADERS, Model, register_kind

    a = tiny_arrays
    KnnModel(k=3).fit(a["train_images"], a["train_labels"]).save(tmp_path / "knn")
    assert isinstance(load_model(tmp_path / "knn"), Model)
    # a file from an early version names its kind as "module:Class"
    arrays = load_saved(tmp_path / "knn").arrays
    meta = {"params": {"k": 3}, "preprocessing": {"downscale": 3}}
    save_model(tmp_path / "old", "digitrec.models.knn:KnnModel", arrays, meta)
    assert isinstance(load_model(tmp_path / "old"), KnnModel)
    save_model(tmp_path / "toy", "toy", {"w": np.ones(1)}, {})
    try:
        register_kind("toy", lambda saved, threads: ("toy", threads))
        assert load_model(tmp_path / "toy", threads=2) == ("toy", 2)
    finally:
        LOADERS.pop("toy")


def test_shared_model_loads_once_per_spec_and_threads(tmp_path, tiny_arrays):
    from digitrec.models import shared_model

    a = tiny_arrays
    KnnModel(k=3).fit(a["train_images"], a["train_labels"]).save(tmp_path)
    shared_model.cache_clear()
    try:
        first = shared_model(tmp_path)
        assert shared_model(str(tmp_path)) is first
        assert shared_model(tmp_path, threads=2) is not first
    finally:
        shared_model.cache_clear()
