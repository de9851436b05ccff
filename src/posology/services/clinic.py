"""The clinic's settings that shape what its staff see: its time zone.

Pump dates, worklists and the times pre-filled in forms are shown in the clinic's local time.
Instants recorded without a zone are read as the clinic's wall-clock time; instants with an
offset are converted to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy import Engine, update

from ..store import tables as T
from ..store.records import NotFound, User, _audit, clinic_zone_of
from ..zones import local, zone_named

__all__ = ["clinic_now", "clinic_zone", "local", "set_clinic_zone", "zone_named"]


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
        return clinic_zone_of(conn, user.clinic_id)


def clinic_now(zone: tzinfo, like: datetime | None, now: datetime | None = None) -> datetime:
    """Now, in the form the patient's history uses: aware when its instants carry offsets,
    the clinic's wall-clock time when they do not (so the two can be compared)."""
    current = (now or datetime.now(UTC)).astimezone(zone)
    if like is not None and like.tzinfo is None:
        return current.replace(tzinfo=None)
    return current
