"""The clinic's settings: its time zone, its contact line for handouts, its co-sign policy, the
jurisdiction profile of the rules that judge its doses.

Pump dates, worklists and the times pre-filled in forms are shown in the clinic's local time.
Instants recorded without a zone are read as the clinic's wall-clock time; instants with an
offset are converted to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache

from sqlalchemy import Connection, Engine, select, update

from ..errors import InputError, NotFound
from ..knowledge import Pack, load_pack, shipped_profiles
from ..store import tables as T
from ..store.db import writing
from ..zones import local, zone_named
from .accounts import User
from .audit_trail import write_audit

__all__ = [
    "clinic_now",
    "clinic_pack",
    "clinic_zone",
    "local",
    "profile_pack",
    "set_clinic_profile",
    "set_clinic_zone",
    "shipped_profile",
    "zone_named",
]


POLICIES = ("co-sign", "single-signer")


def set_clinic_contact(engine: Engine, clinic: str, contact: str) -> None:
    """How patients reach the clinic (a phone number, a line of text), printed on handouts."""
    contact = contact.strip()
    if not contact or len(contact) > 300:
        raise InputError("contact", "must be a short non-empty text, e.g. a phone number")
    with writing(engine) as conn:
        done = conn.execute(
            update(T.clinics).where(T.clinics.c.name == clinic).values(contact=contact)
        )
        if done.rowcount != 1:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        write_audit(
            conn, None, "clinic.contact", "clinic", None, {"clinic": clinic, "contact": contact}
        )


def set_clinic_policy(engine: Engine, clinic: str, policy: str) -> None:
    """Who signs an override of a critical finding: a second prescriber or pharmacist
    (``co-sign``, the default) or the prescriber alone (``single-signer``); audited."""
    if policy not in POLICIES:
        raise InputError("policy", f"must be one of {', '.join(POLICIES)}")
    with writing(engine) as conn:
        clinic_id = conn.execute(select(T.clinics.c.id).where(T.clinics.c.name == clinic)).scalar()
        if clinic_id is None:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        conn.execute(
            update(T.clinics).where(T.clinics.c.id == clinic_id).values(override_policy=policy)
        )
        write_audit(
            conn,
            None,
            "clinic.policy",
            "clinic",
            clinic_id,
            {"clinic": clinic, "override_policy": policy},
            clinic_id=clinic_id,
        )


def clinic_policy(conn: Connection, clinic_id: int) -> str:
    value = conn.execute(
        select(T.clinics.c.override_policy).where(T.clinics.c.id == clinic_id)
    ).scalar()
    return str(value) if value else "co-sign"


def clinic_contact(engine: Engine, user: User) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(T.clinics.c.contact).where(T.clinics.c.id == user.clinic_id)
        ).scalar()
    return str(value) if value else None


def clinic_zone_of(conn: Connection, clinic_id: int) -> tzinfo:
    """The clinic's time zone; UTC until one is set."""
    name = conn.execute(select(T.clinics.c.time_zone).where(T.clinics.c.id == clinic_id)).scalar()
    return zone_named(str(name)) if name else UTC


def set_clinic_zone(engine: Engine, clinic: str, name: str) -> None:
    """Set the clinic's time zone (``posology clinic zone NAME ZONE``)."""
    zone_named(name)
    with writing(engine) as conn:
        done = conn.execute(
            update(T.clinics).where(T.clinics.c.name == clinic).values(time_zone=name)
        )
        if done.rowcount != 1:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        write_audit(
            conn, None, "clinic.time_zone", "clinic", None, {"clinic": clinic, "zone": name}
        )


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


@cache
def _shipped() -> dict[str, tuple[str, ...]]:
    """The shipped packs' profiles: files of the installed package, read once per process."""
    return shipped_profiles()


def shipped_profile(profile: str, field: str = "profile") -> str:
    """``profile`` if some shipped pack has it; otherwise an :class:`InputError` on ``field``
    listing the shipped medicines with their profiles (a typo must not judge doses by the
    wrong country's numbers, nor silently by the default)."""
    shipped = _shipped()
    if any(profile in profiles for profiles in shipped.values()):
        return profile
    have = "; ".join(f"{m}: {', '.join(p)}" for m, p in sorted(shipped.items())) or "none"
    raise InputError(field, f"no jurisdiction profile {profile!r} is shipped ({have})")


def profile_pack(medicine: str, profile: str) -> Pack:
    """The pack of ``medicine`` under ``profile``; the medicine's default profile where the
    profile has no version of it (a profile only restates the rules its country changes). A
    profile no shipped pack has (one stored before an upgrade removed it) is refused, never
    replaced by the default's numbers."""
    shipped_profile(profile)
    if profile in _shipped().get(medicine, ()):
        return load_pack(medicine, profile)
    return load_pack(medicine)


def pack_for_medicine(pack: Pack, medicine: str) -> Pack:
    """The pack that judges ``medicine`` where ``pack`` judges its own: ``pack`` itself, or the
    other medicine's version of the same profile (its default where it has none)."""
    return pack if medicine == pack.medicine else profile_pack(medicine, pack.profile)


def set_clinic_profile(engine: Engine, clinic: str, profile: str) -> None:
    """Set the jurisdiction profile the clinic's doses are judged by
    (``posology clinic profile NAME PROFILE``); audited, as it changes numbers."""
    shipped_profile(profile)
    with writing(engine) as conn:
        clinic_id = conn.execute(select(T.clinics.c.id).where(T.clinics.c.name == clinic)).scalar()
        if clinic_id is None:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        conn.execute(update(T.clinics).where(T.clinics.c.id == clinic_id).values(profile=profile))
        write_audit(
            conn,
            None,
            "clinic.profile",
            "clinic",
            clinic_id,
            {"clinic": clinic, "profile": profile},
            clinic_id=clinic_id,
        )


def clinic_pack(
    engine: Engine, default: Pack, clinic_id: int | None = None, name: str = ""
) -> Pack:
    """The pack that judges for the clinic (by id, else by name): its profile's version of the
    ``default`` pack's medicine, or ``default`` (the server's) until a profile is set or where
    no clinic is known. One indexed read; the packs themselves are cached by :func:`load_pack`."""
    if clinic_id is None and not name:
        return default
    where = T.clinics.c.id == clinic_id if clinic_id is not None else T.clinics.c.name == name
    with engine.connect() as conn:
        profile = conn.execute(select(T.clinics.c.profile).where(where)).scalar()
    if not profile:
        return default
    return profile_pack(default.medicine, str(profile))
