"""``posology check`` starts light: it imports what judging a case needs and nothing of the
server, the database, the reports or the audit engines; with its pack cached, not even YAML."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebuild import EXAMPLES
from posology import cli, cli_parser

CASE = EXAMPLES / "check" / "oral-titration-next-step.json"
# Top-level packages the check path must never import (each costs a start-up or more).
HEAVY = {
    "alembic",
    "duckdb",
    "fastapi",
    "httpx",
    "jinja2",
    "pandas",
    "pyarrow",
    "pydantic",
    "pyspark",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "weasyprint",
}
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$")


def _check_imports(
    cache_home: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``posology check`` in a fresh interpreter; its output and every module it imported."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("POSOLOGY_PACK_CACHE", None)
    env.pop("POSOLOGY_PACK_DIR", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "posology.cli", "check", str(CASE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    modules = set()
    for line in result.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            modules.add(match.group(1))
    assert "posology.rules" in modules, result.stderr[-2000:]  # the parse saw the imports
    return result, modules


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_check_imports_nothing_of_the_server_database_or_reports(tmp_path: Path) -> None:
    for fmt in ("text", "json"):
        result, modules = _check_imports(tmp_path, "--format", fmt)
        assert result.returncode == 0, result.stderr[-2000:]
        assert _top_level(modules) & HEAVY == set(), fmt
        assert "posology.cli_accounts" not in modules  # the other commands' parsers are not built
        if fmt == "json":  # JSON is not laid out for a terminal, and neither is the parse
            assert "shutil" not in modules


def test_a_check_with_its_pack_cached_does_not_parse_yaml(tmp_path: Path) -> None:
    cold, cold_modules = _check_imports(tmp_path)
    assert cold.returncode == 0, cold.stderr[-2000:]
    assert "yaml" in cold_modules  # the first run validates the pack and stores it
    warm, warm_modules = _check_imports(tmp_path)
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert warm.stdout == cold.stdout
    assert "yaml" not in warm_modules
    assert _top_level(warm_modules) & HEAVY == set()


@pytest.mark.parametrize("columns", ["50", "200"])
@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["plan", "--help"]])
def test_help_is_laid_out_for_the_terminal_as_argparse_lays_it_out(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    columns: str,
    argv: list[str],
) -> None:
    """The terminal is measured only when help is shown, and the help is argparse's own."""
    monkeypatch.setenv("COLUMNS", columns)

    def shown(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            cli.run(list(args))
        assert done.value.code == 0
        return capsys.readouterr().out

    ours = shown(*argv)
    with monkeypatch.context() as m:
        m.setattr(cli_parser.Parser, "_get_formatter", argparse.ArgumentParser._get_formatter)
        stock = shown(*argv)
    assert ours == stock
    if argv == ["--help"]:  # wrapped at the terminal's width, not at a fixed one
        assert (cli.DESCRIPTION in ours) == (columns == "200")


TOKENS = st.sampled_from(
    [
        "check",
        "plan",
        "case.json",
        "other.json",
        "-",
        "--",
        "--format",
        "--format=json",
        "--format=text",
        "--format=",
        "--form",
        "json",
        "text",
        "csv",
        "--profile",
        "--profile=us",
        "--profile=",
        "us",
        "-x",
        "--help",
        "-h",
        "--medicine",
        "--profile=-us",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=7))
def test_the_plain_check_reader_reads_only_what_argparse_reads_the_same_way(
    argv: list[str],
) -> None:
    """Every line the quick reader takes, argparse takes with the same values; every other line
    is left to argparse (None), so its messages and exit status stay argparse's own."""
    quick = cli.check_arguments(argv)
    if quick is None:
        return
    parsed = cli_parser.build_parser(check_only=True).parse_args(argv)
    assert vars(quick) == vars(parsed)


def test_the_plainest_check_lines_are_read_without_argparse() -> None:
    for argv in (
        ["check", "case.json"],
        ["check", "--format", "json", "case.json"],
        ["check", "case.json", "--profile=us", "--format=text"],
        ["check", "-"],
    ):
        assert cli.check_arguments(argv) is not None, argv
    for argv in (
        ["check"],
        ["check", "--help"],
        ["check", "a.json", "b.json"],
        ["check", "a.json", "--format", "csv"],
        ["check", "a.json", "--profile"],
        ["check", "a.json", "--format", "json", "--format", "text"],
        ["plan", "a.json"],
    ):
        assert cli.check_arguments(argv) is None, argv


def test_a_plain_check_imports_no_argparse_nor_pathlib(tmp_path: Path) -> None:
    _check_imports(tmp_path)  # the first run validates the pack and stores it (with pathlib)
    result, modules = _check_imports(tmp_path, "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "argparse" not in modules
    assert "pathlib" not in modules


@pytest.mark.parametrize("columns", [None, "50", "200", "0", "-3", "wide"])
def test_the_terminal_width_is_the_one_shutil_reads(
    monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    import shutil

    from posology.render import terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.delenv("LINES", raising=False)
    assert terminal_columns(100) == shutil.get_terminal_size((100, 24)).columns


def test_a_command_that_ends_at_once_still_delivers_all_its_output_and_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``check``, ``rules`` and the other commands that hold nothing end without tearing the
    interpreter down; what they print (here a long answer, through a pipe) and their exit
    status are those of the same command run in process."""
    for argv, status in (
        (["rules", "--format", "json"], 0),
        (["check", str(EXAMPLES / "check" / "oral-above-maximum.json"), "--format", "json"], 1),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "posology.cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.run(argv) == status
        assert done.returncode == status, done.stderr[-2000:]
        assert done.stdout == capsys.readouterr().out
        assert len(done.stdout) > 1000
