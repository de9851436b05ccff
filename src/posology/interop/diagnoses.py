"""The SNOMED CT concepts of the diagnoses the indication names (vocabulary, not clinical
numbers), read by the CDS service and the SMART launch alike from a patient's Conditions.

Kept in its own module so that the CDS service and the FHIR reads it shares with a SMART launch
(:mod:`posology.interop.smart_fhir`) import it without importing each other.
"""

from __future__ import annotations

DIAGNOSES = {
    "24700007": "multiple-sclerosis",
    "90584004": "spinal-cord-injury",
    "230690007": "stroke",
    "128188000": "cerebral-palsy",
    "127295002": "traumatic-brain-injury",
    "7180009": "meningitis",
    "16523009": "transverse-myelitis",
    "111496009": "syringomyelia",
    "37340000": "motor-neurone-disease",
}
