"""Several server processes on one port.

The port is bound once, by the supervising process, without ``SO_REUSEPORT``, and the listening
socket is handed to each worker (uvicorn's own supervisor does this). A socket per worker with
``SO_REUSEPORT`` would spread connections more evenly, but it lets any other process of the
same user bind the same port and receive logins: the socket must belong to the server alone.
"""

from __future__ import annotations

import os

GRACEFUL_SECONDS = 5
"""After SIGTERM, requests under way get this long to finish; then the server stops."""


def serve(host: str, port: int, workers: int) -> None:
    """Run ``workers`` processes until told to stop (SIGINT or SIGTERM)."""
    import uvicorn

    os.environ["POSOLOGY_WORKERS"] = str(workers)  # replay memory is shared through the database
    print(f"Posology listening on http://{host}:{port} ({workers} workers)", flush=True)
    uvicorn.run(
        "posology.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
