"""The audit's source formats, one module each; :func:`get_adapter` by ``--from`` name."""

from __future__ import annotations

from .base import Adapter, Mapped, Row, TableSource, Unmappable

SOURCES = ("contract", "omop", "mimic", "fhir")


def get_adapter(name: str) -> Adapter:
    """The adapter of a ``--from`` name."""
    if name == "contract":
        from .contract import ContractAdapter

        return ContractAdapter()
    if name == "omop":
        from .omop import OmopAdapter

        return OmopAdapter()
    if name == "mimic":
        from .mimic import MimicAdapter

        return MimicAdapter()
    if name == "fhir":
        from .fhir import FhirAdapter

        return FhirAdapter()
    raise ValueError(f"unknown source {name!r}; use one of {', '.join(SOURCES)}")


__all__ = ["SOURCES", "Adapter", "Mapped", "Row", "TableSource", "Unmappable", "get_adapter"]
