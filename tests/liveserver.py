"""A real `posology serve` process and a headless Chromium, for the tests that drive pages in
a browser (tests/web, tests/ehr)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(port: int, env: dict[str, str]) -> Iterator[str]:
    """`posology serve` on 127.0.0.1:``port`` with ``env`` added to this process's
    environment, once it answers /healthz; its base URL. Stopped on leaving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "posology.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*BROWSER_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()
