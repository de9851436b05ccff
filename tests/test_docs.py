"""The documentation shows the engine's real output."""

from __future__ import annotations

import importlib.util

from casebuild import ROOT


def test_plans_page_is_the_engines_current_output() -> None:
    spec = importlib.util.spec_from_file_location("plan_docs", ROOT / "scripts" / "plan_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "plans.md").read_text(encoding="utf-8") == module.render(), (
        "docs/plans.md is stale: run `.venv/bin/python scripts/plan_docs.py`"
    )


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines[:8] if line.startswith("bash scripts/")]
    assert [c.split()[1] for c in commands] == ["scripts/run", "scripts/test"]
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_readme_plan_session_is_the_engines_current_output() -> None:
    from posology.export.plan_text import render_plan
    from posology.knowledge import load_pack
    from posology.planning import plan, read_request

    request = read_request((ROOT / "examples" / "plan" / "oral-titration.json").read_text())
    shown = render_plan(plan(request, load_pack()))
    assert shown in (ROOT / "README.md").read_text(encoding="utf-8")
