"""The package as users get it: a wheel built from this checkout, in a fresh venv.

The wheel is installed with pip from the usual package index into a new virtual
environment without torch (only the core dependencies), and must read an image
with ``digitrec predict``: the shipped CNN runs on onnxruntime alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        not (ROOT / "pyproject.toml").is_file(), reason="needs the source tree (pyproject.toml)"
    ),
]


def _run(cmd: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, **kwargs
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="needs the 'build' package (the dev extra)")
    out = tmp_path_factory.mktemp("dist")
    # No isolation: the build backend (setuptools) is the one in this environment.
    proc = _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT],
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (whl,) = out.glob("digitrec-*.whl")
    return whl


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("venv")
    venv.create(folder, with_pip=True)
    py = folder / "bin" / "python"
    probe = _run(
        [py, "-m", "pip", "download", "--no-deps", "--dest", folder / "probe", "tqdm"],
        timeout=180,
    )
    if probe.returncode != 0:
        pytest.skip(f"pip cannot reach a package index: {probe.stderr.strip()[-300:]}")
    return py


def test_wheel_installs_without_torch_and_reads_an_image(wheel, fresh_venv, tmp_path):
    py = fresh_venv
    proc = _run([py, "-m", "pip", "install", "--quiet", wheel], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    missing = _run([py, "-c", "import importlib.util as u; print(u.find_spec('torch'))"], 60)
    assert missing.stdout.strip() == "None", "the core install must not pull torch"

    image = tmp_path / "strip.png"
    digit_strip().save(image)
    cli = py.parent / "digitrec"
    result = _run([cli, "predict", image], timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "107" in result.stdout.split(), result.stdout

    version = _run([py, "-c", "import importlib.metadata as m; print(m.version('digitrec'))"], 60)
    assert version.stdout.strip() == _pyproject_version()


def digit_strip():
    """A 1, a 0 and a 7 drawn with Pillow: dark strokes on light paper."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (200, 80), 235)
    d = ImageDraw.Draw(img)
    d.line([(50, 15), (50, 65)], fill=20, width=6)
    d.ellipse([86, 15, 114, 65], outline=20, width=6)
    d.line([(136, 17), (164, 17), (146, 65)], fill=20, width=6)
    return img


def _pyproject_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
