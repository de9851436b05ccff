"""Replay protection shared by the worker processes of one host, without a database lock.

Each token id becomes a file created with O_CREAT|O_EXCL: the creation is atomic across
processes, so the second worker to see an id finds the file and refuses the token. The file holds
the time the id may be forgotten; old files are swept now and then.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

SWEEP_EVERY = 1000


class FileReplayGuard:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.calls = 0

    def remember(self, jti: str, expires: float) -> bool:
        """True the first time an id is seen on this host, False ever after (until it expires)."""
        path = self.folder / hashlib.sha256(jti.encode()).hexdigest()
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(str(expires))
        self.calls += 1
        if self.calls % SWEEP_EVERY == 0:
            self.sweep()
        return True

    def sweep(self) -> None:
        now = time.time()
        for entry in self.folder.iterdir():
            try:
                if float(entry.read_text() or 0) < now:
                    entry.unlink()
            except (OSError, ValueError):
                continue
