"""Every command's --help: plain metavars, never a raw Python type; shell completion offered."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from digitrec.cli import app

#: What Typer shows for a parameter without a metavar: ``<int>``, ``<list[str]>``, ``<bool>``.
RAW_TYPE = re.compile(r"<[a-z][a-z_\[\]|, ]*>")


def _command_paths(command, prefix=()):
    """Every command and group under ``command``, as argument lists (``["train", "cnn"]``)."""
    yield list(prefix)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_the_walk_finds_every_registered_command():
    names = {" ".join(p) for p in COMMANDS}
    assert {
        "",
        "predict",
        "batch",
        "serve",
        "reproduce",
        "train",
        "train cnn",
        "train knn",
    } <= names
    assert len(COMMANDS) >= 14


def test_the_pattern_catches_typers_raw_types():
    for raw in ("<int>", "<list[str]>", "<bool>", "<float range>", "<path>"):
        assert RAW_TYPE.search(f"--x   {raw}  help") is not None
    assert RAW_TYPE.search("--port  PORT [0<=x<=65535]") is None


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "digitrec")
def test_help_shows_no_raw_python_type(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    found = RAW_TYPE.findall(result.output)
    assert not found, f"digitrec {' '.join(path)} --help shows {found}"


def test_help_offers_shell_completion():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_show_completion_prints_a_bash_script():
    # The completion script as the shell asks for it. (`--show-completion` finds the
    # shell among the parent processes, which differ between a terminal and CI.)
    result = CliRunner().invoke(
        app, [], prog_name="digitrec", env={"_DIGITREC_COMPLETE": "source_bash"}
    )
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "_DIGITREC_COMPLETE" in result.output.upper()
