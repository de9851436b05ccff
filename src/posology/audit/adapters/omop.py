"""OMOP CDM v5.4: ``drug_exposure`` with ``person`` and ``concept`` (``concept_ancestor`` when
present), one EVENT per baclofen exposure.

Baclofen is recognised through the dataset's own vocabulary: the RxNorm ingredient (concept_code
from ``baclofen-codes.json``), its descendants in ``concept_ancestor``, and drug concepts whose
name contains the ingredient's name. No OMOP concept ID is hard-coded. The mapping table is in
docs/audit.md; rows it cannot map (no strength, no frequency, an unknown route) are reported as
unmapped with their ``drug_exposure_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..codes import Codes
from .base import Columns, Mapped, Row, TableSource, Unmappable, column, find_parts, sql_text
from .common import (
    concentration,
    instant,
    latest_birth_date,
    number,
    plain,
    strength,
    units_per_administration,
)

EXPOSURE = ("person_id", "drug_concept_id", "drug_exposure_start_date")
PERSON = ("person_id", "year_of_birth")
CONCEPT = ("concept_id", "concept_name", "vocabulary_id", "concept_code")
RXNORM = ("RxNorm", "RxNorm Extension")


def _dataset_folder(events: Path) -> tuple[Path, tuple[Path, ...]]:
    if events.is_dir():
        return events, find_parts(events, "drug_exposure")
    return events.parent, (events,)


class OmopAdapter:
    name = "omop"
    strict = False

    def tables(self, events: Path, patients: Path | None) -> Sequence[TableSource]:
        from ..problems import BadDataset

        folder, exposures = _dataset_folder(events)
        if not exposures:
            raise BadDataset(events.name, "holds no drug_exposure table (.csv or .parquet)")
        person = (patients,) if patients else find_parts(folder, "person")
        concept = find_parts(folder, "concept")
        for name, files in (("person", person), ("concept", concept)):
            if not files:
                raise BadDataset(folder.name, f"holds no {name} table; OMOP audits need it")
        out = [
            TableSource("drug_exposure", exposures, EXPOSURE),
            TableSource("person", person, PERSON),
            TableSource("concept", concept, CONCEPT),
        ]
        ancestor = find_parts(folder, "concept_ancestor")
        if ancestor:
            out.append(
                TableSource(
                    "concept_ancestor", ancestor, ("ancestor_concept_id", "descendant_concept_id")
                )
            )
        return out

    def events_sql(self, available: Columns, codes: Codes) -> str:
        vocab = ", ".join(sql_text(v) for v in RXNORM)
        code = sql_text(codes.rxnorm_ingredient)
        is_drug = [f"(c.vocabulary_id IN ({vocab}) AND c.concept_code = {code})"]
        is_drug += [
            f"(c.vocabulary_id IN ({vocab}) AND LOWER(c.concept_name) LIKE "
            f"{sql_text('%' + name + '%')})"
            for name in codes.names
        ]
        if "concept_ancestor" in available:
            is_drug.append(
                "d.drug_concept_id IN (SELECT a.descendant_concept_id FROM concept_ancestor a "
                "JOIN concept i ON i.concept_id = a.ancestor_concept_id "
                f"WHERE i.vocabulary_id = 'RxNorm' AND i.concept_code = {code})"
            )
        cols = [
            column(available, "drug_exposure", "d", name)
            for name in (
                "drug_exposure_id",
                "drug_exposure_start_datetime",
                "drug_exposure_start_date",
                "quantity",
                "days_supply",
                "sig",
                "route_source_value",
                "route_concept_id",
                "drug_source_value",
            )
        ]
        return (
            "SELECT d.person_id AS patient_id, d._file AS _file, d._row AS _row, "
            + ", ".join(cols)
            + ", c.concept_name AS drug_name, r.concept_code AS route_code, "
            "r.concept_name AS route_name "
            "FROM drug_exposure d JOIN concept c ON c.concept_id = d.drug_concept_id "
            + (
                "LEFT JOIN concept r ON r.concept_id = d.route_concept_id "
                if "route_concept_id" in available["drug_exposure"]
                else "LEFT JOIN concept r ON 1 = 0 "
            )
            + "WHERE "
            + " OR ".join(is_drug)
        )

    def patients_sql(self, available: Columns, codes: Codes) -> str:
        cols = [
            column(available, "person", "p", name)
            for name in (
                "month_of_birth",
                "day_of_birth",
                "birth_datetime",
                "gender_concept_id",
                "gender_source_value",
            )
        ]
        gender = (
            "LEFT JOIN concept g ON g.concept_id = p.gender_concept_id"
            if "gender_concept_id" in available["person"]
            else "LEFT JOIN concept g ON 1 = 0"
        )
        return (
            "SELECT p.person_id AS patient_id, p._file AS _file, p._row AS _row, "
            "p.year_of_birth AS year_of_birth, "
            + ", ".join(cols)
            + ", g.concept_name AS gender_name FROM person p "
            + gender
        )

    def context(
        self, read: Callable[[str], list[dict[str, Any]]], available: Columns, codes: Codes
    ) -> Any:
        return None

    def map_patient(
        self, row: Row, context: Any, codes: Codes, others: Sequence[Row] = ()
    ) -> dict[str, Any]:
        if row.get("birth_datetime"):
            born = str(row["birth_datetime"])[:10]
        else:
            born = latest_birth_date(
                row.get("year_of_birth"), row.get("month_of_birth"), row.get("day_of_birth")
            )
        gender = str(row.get("gender_name") or "").strip().lower()
        sex = gender if gender in ("male", "female") else "unknown"
        # diagnoses are not read from OMOP yet: "other" gives the stricter origin rules
        return {"birth_date": born, "sex": sex, "diagnosis": "other"}

    def map_event(self, row: Row, context: Any, codes: Codes) -> list[Mapped]:
        at_column = (
            "drug_exposure_start_datetime"
            if row.get("drug_exposure_start_datetime")
            else "drug_exposure_start_date"
        )
        at = instant(row.get(at_column), at_column)
        route = codes.route(row.get("route_code")) or codes.route(row.get("route_source_value"))
        if route is None and not (row.get("route_code") or row.get("route_source_value")):
            words = str(row.get("drug_name") or "").lower().split()
            route = next((codes.route(w) for w in words if w in ("oral", "intrathecal")), None)
        source_id = row.get("drug_exposure_id")
        if route is None:
            said = row.get("route_name") or row.get("route_source_value") or "none"
            raise Unmappable("route_concept_id", f"unknown route {said!r} for baclofen")
        name = row.get("drug_name")
        if route == "oral":
            each = strength(name)
            if each is None:
                raise Unmappable("drug_concept_id", f"no strength in the drug name {name!r}")
            amount, unit = each.split()
            per = units_per_administration(row.get("sig")) or 1
            times = codes.times_per_day(row.get("sig"))
            column_times = "sig"
            if times is None and row.get("quantity") and row.get("days_supply"):
                per_day = number(row["quantity"], "quantity") / number(
                    row["days_supply"], "days_supply"
                )
                if per_day == per_day.to_integral_value():
                    times, per, column_times = int(per_day), 1, "quantity"
            if times is None:
                raise Unmappable(
                    "sig",
                    "no frequency in sig, and quantity/days_supply is not a "
                    "whole number of tablets a day",
                )
            dose = f"{plain(number(amount, 'drug_concept_id') * per)} {unit}"
            doc = {"at": at, "kind": "oral-regimen", "dose": dose, "times_per_day": times}
            return [
                Mapped(
                    doc,
                    source_id,
                    {"at": at_column, "dose": "drug_concept_id", "times_per_day": column_times},
                )
            ]
        conc = concentration(name)
        if conc is None:
            raise Unmappable("drug_concept_id", f"no concentration in the drug name {name!r}")
        if not row.get("quantity"):
            raise Unmappable("quantity", "missing; the volume (mL) of the intrathecal refill")
        volume = number(row["quantity"], "quantity")
        doc = {"at": at, "kind": "pump-refill", "concentration": conc, "volume_ml": volume}
        return [
            Mapped(
                doc,
                source_id,
                {"at": at_column, "concentration": "drug_concept_id", "volume_ml": "quantity"},
            )
        ]
