"""Clinic time: IANA zones, and wall-clock times read as instants.

Staff type times as the clock on the ward shows them ("09:00"). A record keeps instants, so a
time typed without an offset is read in the clinic's zone and stored with the offset it had
then: 09:00 in Berlin is +02:00 in summer and +01:00 in winter. Two wall-clock times cannot be
read that way: the hour skipped when the clocks go forward never happened, and the hour
repeated when they go back happened twice. A new entry in either is refused with the fix (give
the offset); an entry stored long ago without an offset is read as the first of the two, so an
old record always opens.

Instants carry a fixed offset (not the zone itself): Python compares and subtracts two times
of one ``ZoneInfo`` by their wall clocks, which would make the night of a clock change an hour
too long or too short for the rules that count hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .errors import InputError


def zone_named(name: str, field: str = "time_zone") -> ZoneInfo:
    """An IANA time zone by name, or an input error naming the field and the fix."""
    try:
        if name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            field, f"unknown time zone {name!r}; give an IANA name such as Europe/Berlin"
        ) from None


def _fixed(at: datetime) -> datetime:
    offset = at.utcoffset() or timedelta(0)
    return at.replace(tzinfo=UTC if offset == timedelta(0) else timezone(offset), fold=0)


def _offset_text(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def wall_time(at: datetime, zone: tzinfo, field: str) -> datetime:
    """A newly typed time as an instant: a time with an offset as given, a wall-clock time read
    in ``zone``; the skipped and the repeated hour of a clock change are refused with the fix."""
    if at.tzinfo is not None:
        return at
    first, second = at.replace(tzinfo=zone, fold=0), at.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return _fixed(first)
    wall = at.strftime("%Y-%m-%d %H:%M")
    if _fixed(first).astimezone(zone).replace(tzinfo=None) != at:
        raise InputError(
            field,
            f"{wall} does not exist in {zone} (the clocks go forward then); "
            "give the time after the change, or the offset",
        )
    raise InputError(
        field,
        f"{wall} happens twice in {zone} (the clocks go back then); add the offset: "
        f"{wall}{_offset_text(first.utcoffset())} for the first, "
        f"{wall}{_offset_text(second.utcoffset())} for the second",
    )


def stored_time(at: datetime, zone: tzinfo) -> datetime:
    """A stored time as an instant: one recorded without an offset is the clinic's wall clock
    (of a repeated hour, the first)."""
    return at if at.tzinfo is not None else _fixed(at.replace(tzinfo=zone, fold=0))


def local(at: datetime, zone: tzinfo) -> datetime:
    """An instant in the clinic's zone; a recorded wall-clock time (no zone) is taken as local."""
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def wall_clock(at: datetime, zone: tzinfo) -> datetime:
    """The clinic's wall clock at an instant, without an offset (what a ward clock shows)."""
    return local(at, zone).replace(tzinfo=None)
