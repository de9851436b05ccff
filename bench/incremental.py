"""Judge every event of one patient's history in order: incremental against replayed (by hand).

For histories of 50, 1,000 and 10,000 events (``long_history``: oral titrations, screenings,
a pump with refills over years), prints events judged per second by ``judge_history`` (the
history's facts advanced one event at a time, O(n)) and by the replay it replaces, ``check``
on each prefix (O(n²)), measured in the same run. Up to ``--full-replay`` events the replay is
timed whole; past that it is estimated from evenly spaced sample positions (the cost of one
prefix grows with its length, so the mean over evenly spaced positions times n is the total).

    .venv/bin/python bench/incremental.py [--sizes 50 1000 10000] [--samples 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from long_history import PATIENT, long_history
from posology.knowledge import Pack, load_pack
from posology.model import Event, Patient, parse_event, parse_patient
from posology.model.documents import sort_history
from posology.rules import check, judge_history

MIN_SECONDS = 1.0  # repeat a short measurement until it has run this long


def _timed(run: Callable[..., object], *args: object, seconds: float = MIN_SECONDS) -> float:
    """Seconds one call takes: the median of repeats while they have run less than
    ``seconds`` (at least three, unless one call alone takes longer)."""
    times: list[float] = []
    spent = 0.0
    while spent < seconds or len(times) < 3:
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
        spent += times[-1]
        if times[-1] > seconds:
            break
    return statistics.median(times)


def replay(patient: Patient, history: tuple[Event, ...], pack: Pack) -> None:
    """What judging a history cost before ``judge_history``: ``check`` on each prefix."""
    for i, event in enumerate(history):
        check(patient, history[:i], event, pack)


def main(sizes: list[int], samples: int, full_replay: int) -> None:
    pack = load_pack()
    patient = parse_patient(PATIENT)
    for n in sizes:
        docs = long_history(n)
        history = sort_history([(f"history[{i}]", parse_event(d, "e")) for i, d in enumerate(docs)])
        incremental = _timed(judge_history, patient, history, pack)

        if n <= full_replay:
            replayed = _timed(replay, patient, history, pack)
            how = "timed whole"
        else:
            step = max(n // samples, 1)
            positions = range(step // 2, n, step)
            per_prefix = [
                _timed(check, patient, history[:i], history[i], pack, seconds=0.0)
                for i in positions
            ]
            replayed = statistics.fmean(per_prefix) * n
            how = f"estimated from {len(per_prefix)} evenly spaced prefixes"
        print(
            f"{n:>6,} events: incremental {n / incremental:>9,.0f} events/s "
            f"({incremental * 1000:,.1f} ms); replay {n / replayed:>9,.0f} events/s "
            f"({replayed:,.2f} s, {how}); x{replayed / incremental:,.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 1000, 10000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--full-replay", type=int, default=1000)
    args = parser.parse_args()
    main(args.sizes, args.samples, args.full_replay)
