"""Pack mutation check: does some test fail when a number of the knowledge pack changes?

For every number under ``numbers:`` in the pack (each scalar, each end of a range, each item of
a list, each cell of a table), this script writes a changed copy of the pack folder, points the
engine at it with ``POSOLOGY_PACK_DIR`` and runs the fast tests (``tests/`` without
``tests/web`` and ``tests/server``). A mutation that no test catches is a survivor: the tests
would not notice that number being wrong.

Mutations, each one alone:
* a quantity, fraction or percentage: doubled and halved (``100 mg/d`` -> ``200 mg/d``,
  ``50 mg/d``; ``20 %`` -> ``40 %``, ``10 %``);
* a whole number read as a count (``rule.count``): one more and one less;
* a range: each end widened (low halved, high doubled) and narrowed (moved to the middle);
* a list: each item doubled and halved; a table: each number in each cell likewise.

Steps:
1. The whole fast suite runs once on an unchanged copy, with the tracer of
   ``tools/pack_trace/sitecustomize.py``: it records every number that code inside the
   ``posology`` package reads through the pack's typed accessors (reads made by tests themselves
   do not count). Numbers never read are listed as "not read by the engine" and not mutated.
   Tests failing on the unchanged pack are listed and deselected from every later run.
2. A mutation the loader refuses (a range turned upside down) is listed as refused, not run.
3. Otherwise pytest runs (``-x -q -p no:cacheprovider``) first on the test files that name the
   rule ID, then, only if none failed, on the rest. Two mutations run at a time (``--jobs``).
   A run past ``TIMEOUT_S`` is stopped and the mutation listed as hung (the engine loops or
   crawls on that number: a defect to look at, not a catch).

Usage: ``.venv/bin/python tools/pack_mutation.py [--pack FILE] [--jobs 2] [--rule ID ...]
[--json FILE]`` (``--pack baclofen.us.yaml``, or a new medicine's pack: every shipped pack).
Exit status 0 when no mutation survives or hangs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "posology" / "knowledge" / "data"
TESTS = ROOT / "tests"
SLOW = ("web", "server")
TRACER = Path(__file__).resolve().parent / "pack_trace"
PACK_FILE = "baclofen.yaml"
# a run this long means a test hangs on the changed number (e.g. a planner loop): reported apart
TIMEOUT_S = 120
TIMED_OUT = -1

sys.path.insert(0, str(ROOT / "src"))

from posology.errors import PackError  # noqa: E402
from posology.knowledge import load_pack_file  # noqa: E402


@dataclass(frozen=True)
class Mutation:
    rule: str
    name: str
    where: str  # e.g. "low end", "item 2", "row 1 clearance low end"
    line: int  # 0-based line of the pack file
    old: str  # the whole line as written
    new: str  # the line with one number changed

    def label(self) -> str:
        before = self.old.strip()
        after = self.new.strip()
        return f"{self.rule} numbers.{self.name} ({self.where}): {before!r} -> {after!r}"


# -- the numbers of the pack, located in its text ----------------------------------------------

NUMBER = re.compile(r"(?P<num>\d+(?:\.\d+)?(?:/\d+)?)")


def spell(value: Fraction) -> str:
    """A number the loader reads exactly: a decimal when it terminates, else ``a/b``."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    assert Fraction(text) == value
    return text


def read_number(text: str) -> Fraction:
    return Fraction(text)


def scalar_variants(text: str, count: bool) -> list[tuple[str, str]]:
    """(what, new text) for one scalar such as ``100 mg/d``, ``1/3``, ``20 %`` or ``3``."""
    m = NUMBER.match(text)
    if not m:
        return []
    value = read_number(m.group("num"))
    rest = text[m.end() :]
    if count and value.denominator == 1 and not rest.strip():
        changed = [("+1", value + 1), ("-1", value - 1)] if value > 0 else [("+1", value + 1)]
    else:
        changed = [("x2", value * 2), ("/2", value / 2)] if value else []
    return [(what, spell(v) + rest) for what, v in changed]


def range_variants(text: str) -> list[tuple[str, str]]:
    """Each end of ``LOW to HIGH`` (open ends kept) widened and narrowed."""
    lo_text, hi_text = text.split(" to ", 1)
    lo_prefix = ">" if lo_text.startswith(">") else ""
    hi_prefix = "<" if hi_text.startswith("<") else ""
    lo_m, hi_m = NUMBER.match(lo_text.lstrip(">")), NUMBER.match(hi_text.lstrip("<"))
    if not lo_m or not hi_m:
        return []
    lo, hi = read_number(lo_m.group("num")), read_number(hi_m.group("num"))
    lo_rest = lo_text.lstrip(">")[lo_m.end() :]
    hi_rest = hi_text.lstrip("<")[hi_m.end() :]
    middle = (lo + hi) / 2

    def both(new_lo: Fraction, new_hi: Fraction) -> str:
        return f"{lo_prefix}{spell(new_lo)}{lo_rest} to {hi_prefix}{spell(new_hi)}{hi_rest}"

    out: list[tuple[str, str]] = []
    if lo:
        out.append(("low end /2", both(lo / 2, hi)))
    else:
        out.append(("low end up", both(min(hi, Fraction(1)) if hi else Fraction(1), hi)))
    if middle != lo:
        out.append(("low end to the middle", both(middle, hi)))
    out.append(("high end x2", both(lo, hi * 2 if hi else Fraction(1))))
    if middle != hi:
        out.append(("high end to the middle", both(lo, middle)))
    return out


def value_variants(text: str, count: bool) -> list[tuple[str, str]]:
    """(what, new text) for one value as written in the pack, quotes kept."""
    quote = text[0] if text and text[0] in "\"'" else ""
    body = text[1:-1] if quote else text
    found = range_variants(body) if " to " in body else scalar_variants(body, count)
    return [(what, f"{quote}{new}{quote}") for what, new in found]


def list_variants(text: str) -> list[tuple[str, str]]:
    """Each item of ``[a, b, c]`` changed alone (an empty list ``[]`` has nothing to change)."""
    items = [i.strip() for i in text.strip()[1:-1].split(",") if i.strip()]
    out = []
    for i, item in enumerate(items):
        for what, new in value_variants(item, count=False):
            changed = [*items[:i], new, *items[i + 1 :]]
            out.append((f"item {i + 1} {what}", "[" + ", ".join(changed) + "]"))
    return out


CELL = re.compile(r"(?P<key>[A-Za-z_]+):\s*(?P<value>\"[^\"]*\"|'[^']*'|[^,}]+)")


def row_variants(text: str) -> list[tuple[str, str]]:
    """Each number of each cell of a table row ``{key: value, ...}`` changed alone."""
    out = []
    for m in CELL.finditer(text):
        for what, new in value_variants(m.group("value").strip(), count=False):
            changed = text[: m.start("value")] + new + text[m.end("value") :]
            out.append((f"{m.group('key')} {what}", changed))
    return out


def numbers_of(lines: list[str]) -> Iterator[tuple[str, str, int, str, str]]:
    """(rule, name, line, kind, value text) for each entry of each rule's ``numbers:``.

    ``kind`` is scalar, list, row (a table row ``- {...}`` under its name) or ``keyed KEY`` (one
    entry of a table by key under its name, ``doses:`` then ``biceps-brachii: 100 U to 200 U``).
    """
    rule = name = ""
    in_numbers = False
    for i, line in enumerate(lines):
        if re.match(r"^  [A-Z][A-Z0-9-]+:\s*$", line):
            rule, in_numbers = line.strip()[:-1], False
            continue
        if re.match(r"^\S", line):
            rule, in_numbers = "", False
            continue
        if re.match(r"^    numbers:\s*$", line):
            in_numbers = True
            continue
        if re.match(r"^    \S", line):
            in_numbers = False
            continue
        if not (rule and in_numbers):
            continue
        code = line.split(" #", 1)[0].rstrip()
        entry = re.match(r"^      ([a-z0-9_]+):\s*(.*)$", code)
        if entry:
            name, value = entry.groups()
            if value:
                yield rule, name, i, "list" if value.startswith("[") else "scalar", value
            continue
        cell = re.match(r"^        ([a-z0-9][a-z0-9_-]*):\s*(\S.*)$", code)
        if cell and name:  # a table by key under its name (``doses: {biceps-brachii: ...}``)
            yield rule, name, i, "keyed " + cell.group(1), cell.group(2)
            continue
        row = re.match(r"^        - (\{.*\})$", code)
        if row and name:
            yield rule, name, i, "row", row.group(1)


def mutations(pack_text: str, counts: set[tuple[str, str]]) -> Iterator[Mutation]:
    lines = pack_text.splitlines(keepends=True)
    rows: dict[tuple[str, str], int] = {}
    for rule, name, i, kind, value in numbers_of(lines):
        if kind == "row":
            rows[(rule, name)] = rows.get((rule, name), 0) + 1
            found = [(f"row {rows[(rule, name)]} {w}", v) for w, v in row_variants(value)]
        elif kind == "list":
            found = list_variants(value)
        elif kind.startswith("keyed "):
            key = kind.removeprefix("keyed ")
            found = [(f"{key} {w}", v) for w, v in value_variants(value, count=False)]
        else:
            found = value_variants(value, count=(rule, name) in counts)
        start = lines[i].index(value)
        for what, new in found:
            line = lines[i][:start] + new + lines[i][start + len(value) :]
            yield Mutation(rule, name, what, i, lines[i], line)


def entries(pack_text: str) -> list[tuple[str, str]]:
    """Every (rule, name) of ``numbers:``, in the pack's order."""
    seen: list[tuple[str, str]] = []
    for rule, name, _, _, _ in numbers_of(pack_text.splitlines(keepends=True)):
        if (rule, name) not in seen:
            seen.append((rule, name))
    return seen


# -- running the tests ---------------------------------------------------------------------


def fast_test_files() -> list[Path]:
    return sorted(
        p
        for p in TESTS.rglob("test_*.py")
        if not any(part in SLOW for part in p.relative_to(TESTS).parts[:-1])
    )


def pytest_env(pack_dir: Path, trace: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["POSOLOGY_PACK_DIR"] = str(pack_dir)
    env["POSOLOGY_PACK_CACHE"] = "off"  # every mutant is read and validated afresh
    env.pop("DATABASE_URL", None)
    if trace is not None:
        env["POSOLOGY_PACK_TRACE"] = str(trace)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRACER), env.get("PYTHONPATH")]))
    return env


def run_pytest(
    files: list[Path], pack_dir: Path, deselect: list[str], extra: list[str] | None = None
) -> int:
    args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    args += [a for d in deselect for a in ("--deselect", d)] + (extra or [])
    args += [str(f.relative_to(ROOT)) for f in files]
    try:
        done = subprocess.run(
            args,
            cwd=ROOT,
            env=pytest_env(pack_dir),
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT
    return done.returncode


def baseline(
    pack_dir: Path, files: list[Path], work: Path
) -> tuple[set[tuple[str, str, str]], list[str]]:
    """Run the fast suite once unchanged: the numbers read, and the tests already failing."""
    trace, report = work / "trace.tsv", work / "baseline.xml"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += [f"--junitxml={report}"] + [str(f.relative_to(ROOT)) for f in files]
    subprocess.run(
        args, cwd=ROOT, env=pytest_env(pack_dir, trace), capture_output=True, check=False
    )
    read = set()
    if trace.exists():
        for line in trace.read_text(encoding="utf-8").splitlines():
            rule, name, accessor = line.split("\t")
            read.add((rule, name, accessor))
    failing = []
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            path = case.get("classname", "").replace(".", "/") + ".py"
            failing.append(f"{path}::{case.get('name')}")
    return read, failing


def mentioning(rule: str, files: list[Path]) -> list[Path]:
    return [f for f in files if rule in f.read_text(encoding="utf-8")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutations run at a time (2)")
    parser.add_argument("--rule", action="append", help="only this rule ID (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument(
        "--pack",
        default=PACK_FILE,
        help=f"the pack file of the shipped folder to mutate ({PACK_FILE}; any shipped pack: "
        "every medicine's and profile's numbers are mutated the same way)",
    )
    args = parser.parse_args(argv)
    pack_file = args.pack
    if not (DATA / pack_file).is_file():
        shipped = ", ".join(sorted(p.name for p in DATA.glob("*.yaml")))
        print(f"--pack: no {pack_file} in the pack folder; shipped: {shipped}", file=sys.stderr)
        return 2
    started = time.monotonic()
    pack_text = (DATA / pack_file).read_text(encoding="utf-8")
    files = fast_test_files()
    with tempfile.TemporaryDirectory(prefix="pack-mutation-") as tmp:
        work = Path(tmp)
        pristine = work / "pristine"
        shutil.copytree(DATA, pristine)
        print(f"baseline: the fast suite on the unchanged pack ({len(files)} files)...", flush=True)
        read, failing = baseline(pristine, files, work)
        read_names = {(r, n) for r, n, _ in read}
        counts = {(r, n) for r, n, a in read if a == "count"}
        all_entries = entries(pack_text)
        unread = [e for e in all_entries if e not in read_names]
        todo = [
            m
            for m in mutations(pack_text, counts)
            if (m.rule, m.name) in read_names and (not args.rule or m.rule in args.rule)
        ]
        print(
            f"{len(all_entries)} numbers in {pack_file}, {len(all_entries) - len(unread)} read "
            f"by the engine; {len(todo)} mutations; {len(failing)} tests already failing "
            "(deselected)",
            flush=True,
        )
        slots: queue.Queue[Path] = queue.Queue()
        for j in range(max(1, args.jobs)):
            slot = work / f"slot{j}"
            shutil.copytree(DATA, slot)
            slots.put(slot)

        def judge(m: Mutation) -> tuple[Mutation, str]:
            slot = slots.get()
            try:
                lines = pack_text.splitlines(keepends=True)
                lines[m.line] = m.new
                (slot / pack_file).write_text("".join(lines), encoding="utf-8")
                try:
                    load_pack_file(slot / pack_file)
                except PackError:
                    return m, "refused"
                near = mentioning(m.rule, files)
                rest = [f for f in files if f not in near]
                for group in (near, rest):
                    status = run_pytest(group, slot, failing) if group else 0
                    if status == TIMED_OUT:
                        return m, "hung"
                    if status != 0:
                        return m, "caught"
                return m, "survived"
            finally:
                (slot / pack_file).write_text(pack_text, encoding="utf-8")
                slots.put(slot)

        results: list[tuple[Mutation, str]] = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for n, (m, verdict) in enumerate(pool.map(judge, todo), 1):
                results.append((m, verdict))
                print(f"[{n}/{len(todo)}] {verdict:8} {m.label()}", flush=True)
    survivors = [m for m, v in results if v == "survived"]
    refused = [m for m, v in results if v == "refused"]
    caught = [m for m, v in results if v == "caught"]
    hung = [m for m, v in results if v == "hung"]
    minutes = (time.monotonic() - started) / 60
    print()
    print(
        f"{len(todo)} mutations: {len(caught)} caught, {len(survivors)} survived, "
        f"{len(refused)} refused by the loader, {len(hung)} hung past {TIMEOUT_S} s "
        f"({minutes:.1f} min)"
    )
    print(f"\nhung: a test ran past {TIMEOUT_S} s ({len(hung)}):")
    for m in hung:
        print(f"  {m.label()}")
    print(f"\nnot read by the engine ({len(unread)}):")
    for rule, name in unread:
        print(f"  {rule} numbers.{name}")
    print(f"\ntests failing on the unchanged pack, deselected ({len(failing)}):")
    for node in failing:
        print(f"  {node}")
    print(f"\nsurvivors ({len(survivors)}):")
    for m in survivors:
        print(f"  {m.label()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mutations": len(todo),
                    "caught": len(caught),
                    "survived": [m.label() for m in survivors],
                    "refused": [m.label() for m in refused],
                    "hung": [m.label() for m in hung],
                    "not_read": [f"{r} numbers.{n}" for r, n in unread],
                    "failing_before": failing,
                    "minutes": round(minutes, 1),
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 1 if survivors or hung else 0


if __name__ == "__main__":
    raise SystemExit(main())
