"""Record which pack numbers the engine reads (used by ``tools/pack_mutation.py``).

Python imports this module at start-up when its folder is on ``PYTHONPATH``. When
``POSOLOGY_PACK_TRACE`` names a file, every call of ``Rule.value`` (the door through which the
typed accessors read ``numbers:``) and of ``Rule.quantity`` (which reads them directly, for
speed) made from code inside the ``posology`` package is recorded, and the set is appended to
that file when the process ends. Reads made by tests
themselves (a test calling ``rule.quantity(...)``) are not recorded: only the engine's count.
Subprocesses (CLI tests) inherit the variable and record their reads too.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any


def _install(path: str) -> None:
    try:
        from posology.knowledge import schema
    except ImportError:  # a Python of this machine without the project: nothing to trace
        return
    schema_file = os.path.realpath(schema.__file__)
    package = os.path.dirname(os.path.dirname(schema_file)) + os.sep
    real: dict[str, str] = {}
    seen: set[tuple[str, str, str]] = set()

    def resolved(name: str) -> str:
        if name not in real:
            real[name] = os.path.realpath(name)
        return real[name]

    def traced(original: Any, door: str) -> Any:
        def read(self: schema.Rule, name: str) -> object:
            frame = sys._getframe(1)
            accessor = door
            while frame is not None and resolved(frame.f_code.co_filename) == schema_file:
                accessor = frame.f_code.co_name  # the outermost accessor: count, number, range...
                frame = frame.f_back
            if frame is not None and resolved(frame.f_code.co_filename).startswith(package):
                seen.add((self.id, name, accessor))
            return original(self, name)

        return read

    def write() -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(f"{r}\t{n}\t{a}\n" for r, n, a in sorted(seen))

    schema.Rule.value = traced(schema.Rule.value, "value")  # type: ignore[method-assign]
    schema.Rule.quantity = traced(schema.Rule.quantity, "quantity")  # type: ignore[method-assign]
    atexit.register(write)


if os.environ.get("POSOLOGY_PACK_TRACE"):
    _install(os.environ["POSOLOGY_PACK_TRACE"])
