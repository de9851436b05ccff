"""Interoperability: FHIR R4 (and, later, CDS Hooks)."""
