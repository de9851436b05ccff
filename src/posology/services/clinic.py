"""The clinic's settings that shape what its staff see: its time zone.

Pump dates, worklists and the times pre-filled in forms are shown in the clinic's local time.
Instants recorded without a zone are read as the clinic's wall-clock time; instants with an
offset are converted to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import Engine, select, update

from ..errors import InputError
from ..store import tables as T
from ..store.records import NotFound, User, _audit


def zone_named(name: str) -> ZoneInfo:
    """An IANA time zone by name, or an input error naming the field and the fix."""
    try:
        if name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            "time_zone", f"unknown time zone {name!r}; give an IANA name such as Europe/Berlin"
        ) from None


def set_clinic_zone(engine: Engine, clinic: str, name: str) -> None:
    """Set the clinic's time zone (``posology clinic zone NAME ZONE``)."""
    zone_named(name)
    with engine.begin() as conn:
        done = conn.execute(
            update(T.clinics).where(T.clinics.c.name == clinic).values(time_zone=name)
        )
        if done.rowcount != 1:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        _audit(conn, None, "clinic.time_zone", "clinic", None, {"clinic": clinic, "zone": name})


def clinic_zone(engine: Engine, user: User) -> tzinfo:
    """The user's clinic time zone; UTC until one is set."""
    with engine.connect() as conn:
        name = conn.execute(
            select(T.clinics.c.time_zone).where(T.clinics.c.id == user.clinic_id)
        ).scalar()
    return zone_named(str(name)) if name else UTC


def local(at: datetime, zone: tzinfo) -> datetime:
    """An instant in the clinic's zone; a recorded wall-clock time (no zone) is taken as local."""
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def clinic_now(zone: tzinfo, like: datetime | None, now: datetime | None = None) -> datetime:
    """Now, in the form the patient's history uses: aware when its instants carry offsets,
    the clinic's wall-clock time when they do not (so the two can be compared)."""
    current = (now or datetime.now(UTC)).astimezone(zone)
    if like is not None and like.tzinfo is None:
        return current.replace(tzinfo=None)
    return current
