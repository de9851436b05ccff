"""MIMIC-IV-shaped tables: ``hosp/prescriptions`` and ``icu/inputevents`` (with ``icu/d_items``)
for the events, ``hosp/patients`` for the patients.

A prescription is baclofen when its ``drug`` names the ingredient; an input event when its
``itemid`` is a ``d_items`` row whose ``label`` does. Routes are read with the route words of
``baclofen-codes.json``; an input event with a rate is an intrathecal infusion (the file's
``continuous_infusion_route``). MIMIC shifts dates per patient: the audit judges them as given.
The mapping table is in docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..codes import Codes
from ..problems import BadDataset
from .base import Columns, Mapped, Row, TableSource, Unmappable, column, find_parts, sql_text
from .common import instant, latest_birth_date, number, plain

SEXES = {"m": "male", "f": "female"}  # MIMIC-IV patients.gender letters
EVENT_COLUMNS = (
    "source_id",
    "starttime",
    "drug",
    "route",
    "dose_val_rx",
    "dose_unit_rx",
    "doses_per_24_hrs",
    "amount",
    "amountuom",
    "rate",
    "rateuom",
)


def _find(folder: Path, name: str) -> tuple[Path, ...]:
    for place in (folder, folder / "hosp", folder / "icu"):
        found = find_parts(place, name)
        if found:
            return found
    return ()


class MimicAdapter:
    name = "mimic"
    strict = False

    def tables(self, events: Path, patients: Path | None) -> Sequence[TableSource]:
        folder = events if events.is_dir() else events.parent
        prescriptions = _find(folder, "prescriptions")
        inputevents = _find(folder, "inputevents")
        people = (patients,) if patients else _find(folder, "patients")
        if not prescriptions and not inputevents:
            raise BadDataset(folder.name, "holds neither prescriptions nor inputevents")
        if not people:
            raise BadDataset(folder.name, "holds no patients table; MIMIC audits need it")
        out = [TableSource("patients", people, ("subject_id", "anchor_age", "anchor_year"))]
        if prescriptions:
            out.append(
                TableSource(
                    "prescriptions", prescriptions, ("subject_id", "starttime", "drug", "route")
                )
            )
        if inputevents:
            items = _find(folder, "d_items")
            if not items:
                raise BadDataset(folder.name, "has inputevents but no d_items to name the items")
            out.append(
                TableSource("inputevents", inputevents, ("subject_id", "starttime", "itemid"))
            )
            out.append(TableSource("d_items", items, ("itemid", "label")))
        return out

    def events_sql(self, available: Columns, codes: Codes) -> str:
        names = [sql_text("%" + n + "%") for n in codes.names]
        parts = []
        if "prescriptions" in available:
            cols = [column(available, "prescriptions", "p", "pharmacy_id", "source_id")] + [
                column(available, "prescriptions", "p", c) for c in EVENT_COLUMNS[1:]
            ]
            parts.append(
                "SELECT p.subject_id AS patient_id, p._file AS _file, p._row AS _row, "
                "'prescriptions' AS source_table, " + ", ".join(cols) + " FROM prescriptions p "
                "WHERE " + " OR ".join(f"LOWER(p.drug) LIKE {n}" for n in names)
            )
        if "inputevents" in available:
            cols = [
                column(available, "inputevents", "i", "orderid", "source_id"),
                "i.starttime AS starttime",
                "t.label AS drug",
                "CAST(NULL AS STRING) AS route",
            ]
            cols += ["CAST(NULL AS STRING) AS " + c for c in EVENT_COLUMNS[4:7]]
            cols += [column(available, "inputevents", "i", c) for c in EVENT_COLUMNS[7:]]
            parts.append(
                "SELECT i.subject_id AS patient_id, i._file AS _file, i._row AS _row, "
                "'inputevents' AS source_table, " + ", ".join(cols) + " FROM inputevents i "
                "JOIN d_items t ON t.itemid = i.itemid "
                "WHERE " + " OR ".join(f"LOWER(t.label) LIKE {n}" for n in names)
            )
        return " UNION ALL ".join(parts)

    def patients_sql(self, available: Columns, codes: Codes) -> str:
        return (
            "SELECT p.subject_id AS patient_id, p._file AS _file, p._row AS _row, "
            "p.anchor_age AS anchor_age, p.anchor_year AS anchor_year, "
            + column(available, "patients", "p", "gender")
            + " FROM patients p"
        )

    def context(
        self, read: Callable[[str], list[dict[str, Any]]], available: Columns, codes: Codes
    ) -> Any:
        return None

    def map_patient(
        self, row: Row, context: Any, codes: Codes, others: Sequence[Row] = ()
    ) -> dict[str, Any]:
        try:
            born = int(str(row["anchor_year"])) - int(str(row["anchor_age"]))
        except (TypeError, ValueError):
            raise Unmappable(
                "anchor_age", "anchor_age and anchor_year must be whole numbers"
            ) from None
        sex = SEXES.get(str(row.get("gender") or "").strip().lower(), "unknown")
        # diagnoses are not read from MIMIC yet: "other" gives the stricter origin rules
        return {"birth_date": latest_birth_date(born), "sex": sex, "diagnosis": "other"}

    def map_event(self, row: Row, context: Any, codes: Codes) -> list[Mapped]:
        at = instant(row.get("starttime"), "starttime")
        source_id = row.get("source_id")
        if row.get("source_table") == "inputevents":
            if not row.get("rate"):
                raise Unmappable(
                    "rate",
                    "a baclofen input without a rate (a bolus) has no route"
                    " in inputevents; not mapped",
                )
            if not row.get("rateuom"):
                raise Unmappable("rateuom", "missing; the rate has no unit")
            rate = f"{plain(number(row['rate'], 'rate'))} {row['rateuom']}"
            doc = {"at": at, "kind": "it-infusion", "daily_dose": rate}
            return [Mapped(doc, source_id, {"at": "starttime", "daily_dose": "rate"})]
        route = codes.route(row.get("route"))
        if route is None:
            raise Unmappable("route", f"unknown route {row.get('route')!r} for baclofen")
        if not row.get("dose_unit_rx"):
            raise Unmappable("dose_unit_rx", "missing; the dose has no unit")
        dose = f"{plain(number(row.get('dose_val_rx'), 'dose_val_rx'))} {row['dose_unit_rx']}"
        if route == "intrathecal":
            if "/" not in str(row["dose_unit_rx"]):
                raise Unmappable(
                    "dose_unit_rx",
                    "an intrathecal prescription in a mass (not a "
                    "rate) may be a bolus, a refill or a pump setting; not mapped",
                )
            doc = {"at": at, "kind": "it-infusion", "daily_dose": dose}
            return [Mapped(doc, source_id, {"at": "starttime", "daily_dose": "dose_unit_rx"})]
        per_day = row.get("doses_per_24_hrs")
        if not per_day:
            raise Unmappable("doses_per_24_hrs", "missing; how many doses a day")
        times = number(per_day, "doses_per_24_hrs")
        if times != times.to_integral_value():
            raise Unmappable("doses_per_24_hrs", f"{per_day!r} is not a whole number of doses")
        regimen: dict[str, Any] = {
            "at": at,
            "kind": "oral-regimen",
            "dose": dose,
            "times_per_day": int(times),
        }
        return [
            Mapped(
                regimen,
                source_id,
                {"at": "starttime", "dose": "dose_val_rx", "times_per_day": "doses_per_24_hrs"},
            )
        ]
