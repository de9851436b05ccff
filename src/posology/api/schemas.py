"""JSON Schemas of the contract's documents, for the OpenAPI description of the HTTP API.

The server reads bodies with the same strict reader as the command line (so the messages are the
same); these schemas describe the documents to integrators and to schema-driven test tools.
"""

from __future__ import annotations

from typing import Any

from ..model.events import EVENT_KINDS
from ..model.injections import MAX_INJECTIONS, MAX_SITES, SIDES
from ..model.patient import ORIGINS, SETTINGS, SEXES
from ..model.vocabulary import vocabulary
from ..planning.request import GOALS

QUANTITY = {
    "type": "string",
    "description": 'a number and a unit, e.g. "50 ug", "150 ug/d"',
    "examples": ["50 ug"],
}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
INSTANT = {
    "type": "string",
    "description": "ISO 8601 date and time",
    "examples": ["2026-12-01T08:00"],
}
KINDS = list(EVENT_KINDS)
NULLABLE_TEXT = {"type": ["string", "null"]}
MEDICINE = {
    "type": "string",
    "description": "a loaded pack's medicine (default baclofen); its pack judges the event",
}
PRODUCT = {
    "type": "string",
    "description": "an injection session's product, a loaded pack's code (any letter case), "
    "e.g. onabotulinumtoxinA",
    "examples": ["onabotulinumtoxinA"],
}
PACK_NAMED = {
    "type": "object",
    "description": "the pack that judged: its medicine, jurisdiction profile and title",
    "required": ["medicine", "profile", "title"],
    "properties": {
        "medicine": {"type": "string"},
        "profile": {"type": "string"},
        "title": {"type": "string"},
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


COMPONENTS: dict[str, Any] = {
    "Patient": {
        "type": "object",
        "required": ["diagnosis"],
        "additionalProperties": False,
        "properties": {
            "age_years": {"type": "number", "minimum": 0, "maximum": 130},
            "birth_date": {"type": "string", "format": "date"},
            "sex": {"enum": list(SEXES)},
            "weight_kg": {"type": "number", "exclusiveMinimum": 0, "maximum": 400},
            "diagnosis": {"enum": list(vocabulary("diagnoses"))},
            "origin": {"enum": list(ORIGINS)},
            "setting": {"enum": list(SETTINGS)},
            "spasticity_stable": {"type": "boolean"},
            "conditions": {"type": "array", "items": {"enum": list(vocabulary("conditions"))}},
            "pregnant": {"type": "boolean"},
            "breastfeeding": {"type": "boolean"},
            "creatinine_clearance_ml_min": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 300,
            },
            "medications": {"type": "array", "items": {"enum": list(vocabulary("medications"))}},
            "tone_supports_function": {"type": "boolean"},
            "pump": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "programmable": {"type": "boolean"},
                    "reservoir_ml": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                    "withdrawal_before_alarm": {"type": "boolean"},
                    "model": {"type": "string", "minLength": 1, "maxLength": 100},
                },
            },
        },
    },
    "Event": {
        "type": "object",
        "required": ["at", "kind"],
        "additionalProperties": False,
        "properties": {
            "at": INSTANT,
            "kind": {"enum": KINDS},
            "medicine": MEDICINE,
            "dose": QUANTITY,
            "times_per_day": {"type": "integer", "minimum": 1, "maximum": 24},
            "doses": {"type": "array", "items": QUANTITY, "minItems": 1, "maxItems": 24},
            "times": {"type": "array", "items": CLOCK},
            "form": {"enum": ["tablet", "solution"]},
            "strength": QUANTITY,
            "response": {
                "type": "object",
                "required": ["effect"],
                "additionalProperties": False,
                "properties": {"effect": {"type": "boolean"}, "duration_h": {"type": "number"}},
            },
            "daily_dose": QUANTITY,
            "schedule": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "daily_rate"],
                    "additionalProperties": False,
                    "properties": {"start": CLOCK, "daily_rate": QUANTITY},
                },
            },
            "concentration": QUANTITY,
            "volume_ml": {"type": "number"},
            "alarm_ml": {"type": "number"},
            "residual_ml": {"type": "number", "minimum": 0, "maximum": 100},
            "lot": {"type": "string", "minLength": 1, "maxLength": 60},
            "checked_by": {"type": "string", "minLength": 1, "maxLength": 200},
            "bridge_volume_ml": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
            "note": {"type": "string"},
            "product": PRODUCT,
            "injections": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_INJECTIONS,
                "items": {
                    "type": "object",
                    "required": ["muscle", "dose"],
                    "additionalProperties": False,
                    "properties": {
                        "muscle": {"enum": list(vocabulary("muscles"))},
                        "dose": {
                            "type": "string",
                            "description": 'Units of the session\'s product, e.g. "100 U"; '
                            "a dose in another product's Units names it, e.g. "
                            '"500 abobotulinumtoxinA U" (never converted)',
                        },
                        "sites": {"type": "integer", "minimum": 1, "maximum": MAX_SITES},
                        "side": {"enum": list(SIDES)},
                    },
                },
            },
        },
    },
    "Case": {
        "type": "object",
        "required": ["patient", "proposal"],
        "additionalProperties": False,
        "properties": {
            "patient": ref("Patient"),
            "history": {"type": "array", "items": ref("Event")},
            "proposal": ref("Event"),
        },
    },
    "Goal": {
        "type": "object",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": list(GOALS)},
            "medicine": MEDICINE,
            "product": PRODUCT,
            "muscles": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_INJECTIONS,
                "items": {
                    "type": "object",
                    "required": ["muscle"],
                    "additionalProperties": False,
                    "properties": {
                        "muscle": {"enum": list(vocabulary("muscles"))},
                        "side": {"enum": list(SIDES)},
                    },
                },
            },
            "target_daily_dose": QUANTITY,
            "night_only": {"type": "boolean"},
            "times_per_day": {"type": "integer", "minimum": 1, "maximum": 6},
            "pre_task_times": {"type": "array", "items": CLOCK},
            "form": {"enum": ["tablet", "solution"]},
            "concentration": QUANTITY,
            "alarm_ml": {"type": "number"},
            "night_onset": CLOCK,
            "night_end": CLOCK,
        },
    },
    "PlanRequest": {
        "type": "object",
        "required": ["patient", "goal", "start"],
        "additionalProperties": False,
        "properties": {
            "patient": ref("Patient"),
            "history": {"type": "array", "items": ref("Event")},
            "goal": ref("Goal"),
            "start": INSTANT,
        },
    },
    "Citation": {
        "type": "object",
        "required": ["source", "quote"],
        "properties": {
            "source": {"type": "string"},
            "quote": {"type": "string"},
            "evidence": {"type": "string"},
            "url": {"type": "string"},
        },
    },
    "Finding": {
        "type": "object",
        "required": ["rule", "severity", "message", "citation"],
        "properties": {
            "rule": {"type": "string"},
            "severity": {"enum": ["info", "warning", "error", "critical"]},
            "message": {"type": "string"},
            "citation": ref("Citation"),
        },
    },
    "CheckAnswer": {
        "type": "object",
        "required": ["verdict", "findings"],
        "properties": {
            "verdict": {"enum": ["ok", "info", "warning", "error", "critical"]},
            "findings": {"type": "array", "items": ref("Finding")},
            "pack": PACK_NAMED,
        },
    },
    "PlanStep": {
        "type": "object",
        "required": ["event", "rules", "instructions", "condition"],
        "properties": {
            "event": {"type": "object"},
            "rules": {"type": "array", "items": {"type": "string"}},
            "instructions": {"type": "string"},
            "condition": {"type": "string"},
        },
    },
    "PlanAnswer": {
        "type": "object",
        "required": ["steps", "findings"],
        "properties": {
            "goal": {"type": "string"},
            "steps": {"type": "array", "items": ref("PlanStep")},
            "findings": {"type": "array", "items": ref("Finding")},
            "pack": PACK_NAMED,
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
            "findings": {"type": "array", "items": ref("Finding")},
        },
    },
    "Rule": {
        "type": "object",
        "required": ["id", "source", "quote", "evidence"],
        "properties": {
            "id": {"type": "string"},
            "source": {"type": "string"},
            "quote": {"type": "string"},
            "evidence": {"type": "string"},
        },
    },
    "PatientRecord": {
        "type": "object",
        "required": ["id", "label", "version", "patient"],
        "properties": {
            "id": {"type": "integer"},
            "label": {"type": "string"},
            "name": {"type": "string"},
            "birth_date": NULLABLE_TEXT,
            "record_number": {"type": "string"},
            "version": {"type": "integer"},
            "patient": {"type": "object"},
        },
    },
    "PumpStatus": {
        "type": "object",
        "required": ["patient_id", "label", "at", "time_zone", "state", "pump", "findings"],
        "properties": {
            "patient_id": {"type": "integer"},
            "label": {"type": "string"},
            "at": {"type": "string"},
            "time_zone": {"type": "string"},
            "state": {
                "enum": [
                    "no-pump",
                    "no-fill",
                    "stopped",
                    "ok",
                    "due",
                    "overdue",
                    "past-alarm",
                    "empty",
                ]
            },
            "pump": {"type": "object"},
            "infusion": {"type": ["object", "null"]},
            "last_fill": {"type": ["object", "null"]},
            "expected_volume": {"type": ["string", "null"]},
            "alarm_volume": {"type": ["string", "null"]},
            "alarm_at": {"type": ["string", "null"]},
            "booking_window": {"type": ["object", "null"]},
            "due_at": {"type": ["string", "null"]},
            "empty_at": {"type": ["string", "null"]},
            "limit_at": {"type": ["string", "null"]},
            "findings": {"type": "array"},
        },
    },
    "Worklist": {
        "type": "object",
        "required": ["at", "time_zone", "counts", "patients", "steps"],
        "properties": {
            "at": {"type": "string"},
            "time_zone": {"type": "string"},
            "filter": {"type": ["string", "null"]},
            "counts": {"type": "object"},
            "patients": {"type": "array", "items": ref("PumpStatus")},
            "steps": {"type": "array"},
        },
    },
    "RefillPreviewInput": {
        "type": "object",
        "required": ["event"],
        "additionalProperties": False,
        "properties": {"event": ref("Event"), "infusion": ref("Event")},
    },
    "PumpSettings": {
        "type": "object",
        "required": [
            "concentration",
            "volume",
            "alarm_volume",
            "daily_dose",
            "hourly_rate",
            "mode",
            "profile",
        ],
        "properties": {
            "concentration": NULLABLE_TEXT,
            "volume": NULLABLE_TEXT,
            "alarm_volume": NULLABLE_TEXT,
            "daily_dose": NULLABLE_TEXT,
            "hourly_rate": NULLABLE_TEXT,
            "mode": {"enum": ["simple", "flex", None]},
            "profile": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "daily_rate", "hourly_rate"],
                    "properties": {
                        "start": {"type": "string"},
                        "daily_rate": {"type": "string"},
                        "hourly_rate": {"type": "string"},
                    },
                },
            },
        },
    },
    "RefillPreview": {
        "type": "object",
        "required": [
            "expected_residual",
            "residual",
            "discrepancy",
            "before",
            "after",
            "bridge",
            "next",
            "findings",
        ],
        "properties": {
            "expected_residual": NULLABLE_TEXT,
            "residual": NULLABLE_TEXT,
            "discrepancy": NULLABLE_TEXT,
            "before": {"oneOf": [{"type": "null"}, ref("PumpSettings")]},
            "after": ref("PumpSettings"),
            "bridge": {
                "type": ["object", "null"],
                "required": [
                    "old_concentration",
                    "new_concentration",
                    "volume",
                    "duration_h",
                    "dose",
                    "text",
                ],
                "properties": {
                    "old_concentration": {"type": "string"},
                    "new_concentration": {"type": "string"},
                    "volume": {"type": "string"},
                    "duration_h": {"type": "number"},
                    "dose": {"type": "string"},
                    "text": {"type": "string"},
                },
            },
            "next": {
                "type": "object",
                "required": ["alarm_at", "booking_window", "empty_at", "limit_at", "due_at"],
                "properties": {
                    "alarm_at": NULLABLE_TEXT,
                    "booking_window": {
                        "type": ["object", "null"],
                        "properties": {"opens": NULLABLE_TEXT, "closes": NULLABLE_TEXT},
                    },
                    "empty_at": NULLABLE_TEXT,
                    "limit_at": NULLABLE_TEXT,
                    "due_at": NULLABLE_TEXT,
                },
            },
            "findings": {"type": "array", "items": ref("Finding")},
        },
    },
    "Screening": {
        "type": "object",
        "required": ["state", "doses", "next", "conclusion", "infusion_start"],
        "properties": {
            "state": {"enum": ["none", "pending", "in-progress", "responder", "non-responder"]},
            "doses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["at", "dose", "response", "event_id"],
                    "properties": {
                        "at": {"type": "string"},
                        "dose": {"type": "string"},
                        "response": {
                            "type": ["object", "null"],
                            "properties": {
                                "effect": {"type": "boolean"},
                                "duration_h": {"type": ["number", "null"]},
                            },
                        },
                        "event_id": {"type": ["integer", "null"]},
                    },
                },
            },
            "next": {
                "type": ["object", "null"],
                "required": ["dose", "earliest"],
                "properties": {"dose": {"type": "string"}, "earliest": {"type": "string"}},
            },
            "conclusion": NULLABLE_TEXT,
            "infusion_start": {
                "type": ["object", "null"],
                "required": ["daily_dose", "hourly_rate", "prolonged", "text"],
                "properties": {
                    "daily_dose": {"type": "string"},
                    "hourly_rate": {"type": "string"},
                    "prolonged": {"type": "boolean"},
                    "text": {"type": "string"},
                },
            },
        },
    },
    "ChangeLimits": {
        "type": "object",
        "required": ["intrathecal", "oral"],
        "properties": {
            "intrathecal": {
                "type": ["object", "null"],
                "required": [
                    "daily_dose",
                    "phase",
                    "largest",
                    "smallest_without_warning",
                    "earliest_increase",
                    "rule",
                ],
                "properties": {
                    "daily_dose": {"type": "string"},
                    "phase": {"enum": ["titration", "maintenance"]},
                    "largest": {"type": "string"},
                    "smallest_without_warning": {"type": "string"},
                    "usual_increase_from": {"type": "string"},
                    "earliest_increase": NULLABLE_TEXT,
                    "rule": {"type": "string"},
                },
            },
            "oral": {
                "type": ["object", "null"],
                "required": ["daily_dose", "largest", "maximum", "earliest_increase"],
                "properties": {
                    "daily_dose": {"type": "string"},
                    "largest": {"type": "string"},
                    "maximum": {"type": "string"},
                    "earliest_increase": NULLABLE_TEXT,
                    "rule": {"type": "string"},
                },
            },
        },
    },
    "PatientInput": {
        "type": "object",
        "required": ["patient"],
        "additionalProperties": False,
        "properties": {
            "patient": ref("Patient"),
            "label": {"type": "string", "maxLength": 200},
            "name": {"type": "string", "maxLength": 200},
            "birth_date": {"type": "string", "format": "date"},
            "record_number": {"type": "string", "maxLength": 100},
            "confirm_duplicate": {"type": "boolean"},
        },
    },
    "EventInput": {
        "type": "object",
        "additionalProperties": False,
        "description": "event is required unless correction.kind is entered-in-error",
        "properties": {
            "event": ref("Event"),
            "override_reason": {"type": "string"},
            "override": ref("Override"),
            "retyped_dose": {"type": "string"},
            "cosigner": ref("Cosigner"),
            "supersedes": {"type": "integer"},
            "correction": {
                "type": "object",
                "required": ["kind", "text"],
                "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["correction", "entered-in-error"]},
                    "text": {"type": "string"},
                },
            },
        },
    },
    "Override": {
        "type": "object",
        "required": ["code"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string"}, "text": {"type": "string"}},
    },
    "Cosigner": {
        "type": "object",
        "required": ["email", "password"],
        "additionalProperties": False,
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
    },
    "OverrideReason": {
        "type": "object",
        "required": ["code", "display", "needs_text"],
        "properties": {
            "code": {"type": "string"},
            "display": {"type": "string"},
            "needs_text": {"type": "boolean"},
        },
    },
    "EventRecord": {
        "type": "object",
        "required": ["id", "seq", "kind", "event", "findings", "recorded_by", "recorded_at"],
        "properties": {
            "id": {"type": "integer"},
            "seq": {"type": "integer"},
            "kind": {"type": "string"},
            "at": {"type": "string"},
            "event": {"type": ["object", "null"]},
            "supersedes": {"type": ["integer", "null"]},
            "superseded": {"type": "boolean"},
            "reason": {
                "type": ["object", "null"],
                "properties": {"kind": {"type": "string"}, "text": NULLABLE_TEXT},
            },
            "override": {"type": ["object", "null"]},
            "cosigned_by": NULLABLE_TEXT,
            "recorded_by": NULLABLE_TEXT,
            "recorded_at": {"type": "string"},
            "findings": {"type": "array", "items": ref("Finding")},
        },
    },
    "ProposalInput": {
        "type": "object",
        "required": ["proposal"],
        "additionalProperties": False,
        "properties": {"proposal": ref("Event")},
    },
    "PlanInput": {
        "type": "object",
        "required": ["goal", "start"],
        "additionalProperties": False,
        "properties": {"goal": ref("Goal"), "start": INSTANT},
    },
    "ConfirmInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "override_reason": {"type": "string"},
            "override": ref("Override"),
            "retyped_dose": {"type": "string"},
            "cosigner": ref("Cosigner"),
        },
    },
    "Login": {
        "type": "object",
        "required": ["email", "password"],
        "additionalProperties": False,
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
    },
}


def body(name: str) -> dict[str, Any]:
    """An ``openapi_extra`` declaring a JSON request body of a component schema."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref(name)}}}
    }


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": (
        "A key the client makes once per intended write (for example a UUID). The same key "
        "from the same user within 24 hours gets the first answer again and stores nothing "
        "more, so a retried or double-clicked request records one event; the same key with a "
        "different body answers 409."
    ),
}


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "maxLength": 14},
    "description": (
        'The version of the record the change was made to (the ETag of its GET, e.g. "3"). '
        "Without it the answer is 428; with an older version, 409: reload and apply again."
    ),
}


def once_body(name: str) -> dict[str, Any]:
    """An ``openapi_extra`` for a creating request: its JSON body and the Idempotency-Key."""
    return {**body(name), "parameters": [IDEMPOTENCY_KEY]}


def many(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def answers(ok: int, schema: dict[str, Any], *errors: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success schema and the error document for the rest."""
    out: dict[int | str, dict[str, Any]] = {
        ok: {"description": "success", "content": {"application/json": {"schema": schema}}}
    }
    for status in errors:
        out[status] = {
            "description": "error",
            "content": {"application/json": {"schema": ref("Error")}},
        }
    return out
