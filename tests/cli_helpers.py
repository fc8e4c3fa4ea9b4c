"""Running the `digitrec` command in process, for the CLI tests of every folder."""

from __future__ import annotations

import sys

from digitrec.cli import main


def run(monkeypatch, capsys, *args):
    """Run the CLI in process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["digitrec", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err
