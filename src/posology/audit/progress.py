"""A progress line on a terminal (events judged, share, rate); nothing when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Redraws a second at most: more is flicker, not information.
REDRAWS_PER_SECOND = 5


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 1 / REDRAWS_PER_SECOND and done < self.total:
            return
        self.last = now
        share = done / self.total if self.total else 1.0
        rate = done / max(now - self.started, 1e-9)
        width = 30
        bar = "#" * int(share * width)
        self.stream.write(
            f"\rjudging [{bar:<{width}}] {done:,}/{self.total:,} events "
            f"({share:.0%}, {rate:,.0f}/s)"
        )
        self.stream.flush()

    def start(self, total: int) -> None:
        """Judging begins: the rate is counted from here."""
        self.total = total
        self.started = time.monotonic()

    def stage(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
