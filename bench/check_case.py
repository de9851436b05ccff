"""One ``check`` in process: a 50-event CASE, and one proposal after a 16,000-event history.

The CASE is read as the server reads it (``read_case_text``: the texts of the events looked up
among those read before, a new one read by ``read_case``'s readers) and judged, and as the
command line reads its one document (``read_case``: the JSON text parsed, the history sorted);
the median of many runs is printed for reading and judging, and for judging a case already
read. The same text again is what a server sees when a patient's history is sent with each
check (the reader's and the checker's memos then serve the events and the past already read);
the same history with a new proposal, and a "cold" CASE whose events were never read before
(its instants moved on every run), are timed beside it; every text is written before the clock
starts. A stored history can be longer than one request may carry (``MAX_HISTORY``): the long
history is read event by event and sorted as the service reads a patient's stored events
(``sort_history``), then judged once; both steps are timed. The load average is printed with
the figures (other work on the machine slows them).

    .venv/bin/python bench/check_case.py [--runs 3000] [--long 16000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from history import history_case
from long_history import PATIENT, long_history, proposal_after
from posology.knowledge import load_pack
from posology.model import parse_event, parse_patient, read_case
from posology.model.case_text import read_case_text
from posology.model.documents import sort_history
from posology.rules import check


def _median_us(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _moved(case: dict[str, Any], minutes: int) -> str:
    """The CASE as JSON text with every instant ``minutes`` later: the same story, events the
    reader has not seen."""
    shift = timedelta(minutes=minutes)

    def moved(event: dict[str, Any]) -> dict[str, Any]:
        at = datetime.fromisoformat(event["at"]) + shift
        return {**event, "at": at.isoformat(timespec="minutes")}

    return json.dumps(
        {
            **case,
            "history": [moved(e) for e in case["history"]],
            "proposal": moved(case["proposal"]),
        }
    )


def main(runs: int, long: int) -> None:
    pack = load_pack()
    text = json.dumps(history_case(50))
    case = read_case(text)

    def read_and_check() -> object:
        read = read_case_text(text)
        return check(read.patient, read.history, read.proposal, pack)

    def read_case_and_check() -> object:
        read = read_case(text)
        return check(read.patient, read.history, read.proposal, pack)

    def check_only() -> object:
        return check(case.patient, case.history, case.proposal, pack)

    # the texts are written before the clock starts: only reading and judging are timed
    cold_texts = iter([_moved(history_case(50), minutes) for minutes in range(1, runs + 2)])

    def read_and_check_cold() -> object:
        read = read_case_text(next(cold_texts))
        return check(read.patient, read.history, read.proposal, pack)

    base = history_case(50)
    new_proposals = iter(
        [
            json.dumps({**base, "proposal": json.loads(_moved(base, n))["proposal"]})
            for n in range(1, runs + 3)
        ]
    )

    def read_and_check_new_proposal() -> object:
        read = read_case_text(next(new_proposals))
        return check(read.patient, read.history, read.proposal, pack)

    for run in (read_and_check, read_case_and_check, check_only):  # warm memos and caches
        run()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"50-event CASE: read and check median {_median_us(read_and_check, runs):.0f} µs")
    whole = _median_us(read_case_and_check, runs)
    print(f"50-event CASE, read whole as the command line reads it, and check: {whole:.0f} µs")
    print(f"50-event CASE: check of the read case median {_median_us(check_only, runs):.0f} µs")
    fresh = _median_us(read_and_check_new_proposal, runs)
    print(f"50-event CASE, its history again, a new proposal: read and check {fresh:.0f} µs")
    cold = _median_us(read_and_check_cold, runs)
    print(f"50-event CASE never read before: read and check median {cold:.0f} µs")

    docs = long_history(long)
    start = time.perf_counter()
    events = [(f"events[{i}]", parse_event(doc, f"events[{i}]")) for i, doc in enumerate(docs)]
    history = sort_history(events)
    read = time.perf_counter() - start
    patient, proposal = parse_patient(PATIENT), parse_event(proposal_after(docs), "proposal")
    start = time.perf_counter()
    check(patient, history, proposal, pack)
    judged = time.perf_counter() - start
    size = len(json.dumps(docs)) / 1e6
    print(
        f"{long:,}-event history ({size:.1f} MB): read and sorted in {read:.2f} s, "
        f"one check in {judged * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--long", type=int, default=16000)
    args = parser.parse_args()
    main(args.runs, args.long)
