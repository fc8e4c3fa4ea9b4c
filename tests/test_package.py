"""The package itself: cheap imports, --version, and missing extras named with their pip line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import digitrec
from digitrec.errors import EXTRAS, MissingExtra, require_extra

HEAVY = ("scipy", "skimage", "sklearn", "onnxruntime", "torch", "numba")
SRC = str(Path(digitrec.__file__).resolve().parent.parent)


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter on this checkout; return its stdout."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    # The last line is the list (help text may come before it).
    return eval(_python(code).splitlines()[-1])


@pytest.mark.parametrize(
    "statement",
    [
        "import digitrec",
        "import digitrec.data, digitrec.features, digitrec.models, digitrec.errors",
        "import digitrec.cli",
    ],
)
def test_imports_load_no_heavy_library(statement):
    assert _loaded_after(statement) == []


def test_help_loads_no_heavy_library():
    statement = (
        "sys.argv = ['digitrec', '--help']\n"
        "from digitrec.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(statement) == []


def test_lazy_names_resolve():
    from digitrec.features import downscale

    assert digitrec.downscale is downscale
    from digitrec.pages.read import read_document, read_page

    assert (digitrec.read_document, digitrec.read_page) == (read_document, read_page)
    assert set(digitrec.__all__) <= set(dir(digitrec))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        digitrec.nope  # noqa: B018


def test_version_option():
    code = (
        "import sys\nsys.argv = ['digitrec', '--version']\nfrom digitrec.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code"
    )
    assert _python(code) == f"digitrec {digitrec.__version__}"
    assert digitrec.__version__  # from the package metadata, or "0+unknown" in a bare tree


def test_missing_extra_names_the_pip_line(monkeypatch):
    monkeypatch.setitem(EXTRAS, "serve", ("digitrec_no_such_module",))
    with pytest.raises(MissingExtra) as info:
        require_extra("serve", "digitrec serve")
    message = str(info.value)
    assert "digitrec serve needs the Python package 'digitrec_no_such_module'" in message
    assert message.endswith("pip install 'digitrec[serve]'")
    require_extra("train")  # installed here: no error


def test_cli_reports_a_missing_extra_in_one_line(monkeypatch, capsys):
    from digitrec.cli import main

    monkeypatch.setitem(EXTRAS, "batch", ("digitrec_no_such_module",))
    monkeypatch.setattr(sys, "argv", ["digitrec", "batch", "x.png"])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith("error: digitrec batch needs") and "Traceback" not in err
    assert "pip install 'digitrec[batch]'" in err
