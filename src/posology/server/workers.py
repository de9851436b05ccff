"""Several server processes on one port, each with its own listening socket (SO_REUSEPORT).

With one shared socket the first worker to wake takes most keep-alive connections and the load
stays lopsided; with a socket per worker the kernel spreads new connections across them.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from types import FrameType


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int) -> None:
    import uvicorn

    from .app import app_from_environment

    sock = _listen(host, port)
    config = uvicorn.Config(app_from_environment(), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int) -> None:
    """Run ``workers`` processes until this one is told to stop (SIGINT or SIGTERM)."""
    import os

    os.environ["POSOLOGY_WORKERS"] = str(
        workers
    )  # the workers share replay memory through the database
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port), daemon=True) for _ in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
