"""The run manifest: enough to repeat an audit and to tell whether a repeat gave the same files.

It records the command's options, every input file with its size and SHA-256, the pack (medicine,
profile, files and a hash over them) and the codes file, the engine and its version, Posology's
version, the status (``complete`` or ``partial``) and every output file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..knowledge import data_folder

# Bytes hashed at a time (files can be gigabytes).
HASH_CHUNK = 1 << 20
MANIFEST_FORMAT = "posology-audit-manifest/1"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def pack_identity(medicine: str, profile: str | None) -> dict[str, Any]:
    """The pack's files with their hashes, and one hash over all of them (in a fixed order)."""
    from ..knowledge import load_pack

    pack = load_pack(medicine, profile)
    folder = data_folder()
    names = list(pack.files) + sorted(
        {s.file for s in pack.sources.values() if s.file and s.file not in pack.files}
    )
    files = {name: sha256_file(folder / name) for name in names}
    combined = hashlib.sha256(
        "".join(f"{n}\0{h}\n" for n, h in sorted(files.items())).encode()
    ).hexdigest()
    return {
        "medicine": pack.medicine,
        "profile": pack.profile,
        "version": _version("posology"),
        "files": files,
        "sha256": combined,
    }


def inputs_identity(files: Iterable[Path]) -> list[dict[str, Any]]:
    return [
        {"path": str(p), "name": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(set(files))
        if p.is_file()
    ]


def engine_identity(engine: str) -> dict[str, Any]:
    versions = {"duckdb": _version("duckdb"), "pyarrow": _version("pyarrow")}
    if engine == "spark":
        versions["pyspark"] = _version("pyspark")
    return {"name": engine, "versions": versions}


def repeat_command(options: Mapping[str, Any], out: Path) -> list[str]:
    """The command line that repeats this audit (into the same folder)."""
    command = ["posology", "audit", str(options["events"])]
    if options.get("patients"):
        command += ["--patients", str(options["patients"])]
    command += ["--from", str(options["from"]), "--out", str(out)]
    command += ["--format", str(options["format"]), "--engine", str(options["engine"])]
    for flag, key in (("--master", "master"), ("--workers", "workers"), ("--profile", "profile")):
        if options.get(key) is not None:
            command += [flag, str(options[key])]
    return command


def write_manifest(
    out: Path,
    *,
    options: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    pack: dict[str, Any] | None,
    codes: dict[str, Any] | None,
    engine: str,
    status: str,
    exit_status: int,
    started: datetime,
    outputs: Iterable[Path],
    error: str | None = None,
    summary: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``manifest.json`` (outputs hashed as they are now)."""
    document: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "status": status,
        "exit_status": exit_status,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "posology": _version("posology"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": repeat_command(options, out),
        "options": dict(options),
        "inputs": inputs,
        "pack": pack,
        "codes": codes,
        "engine": engine_identity(engine),
        "outputs": {p.name: sha256_file(p) for p in outputs if p.is_file()},
    }
    if summary is not None:
        document["totals"] = {
            k: summary[k]
            for k in ("patients", "events_judged", "findings", "serious_findings", "problems")
            if k in summary
        }
    if error:
        document["error"] = error
    path = out / "manifest.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path
