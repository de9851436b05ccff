"""One error hierarchy for the whole engine.

Every error Posology raises on purpose derives from :class:`PosologyError`, so a shell (the CLI,
the HTTP API) can catch one class and turn it into exit status 2 or a 4xx answer without ever
showing a traceback. Each subclass also derives from the built-in type a caller would expect
(``ValueError`` for bad values, ``KeyError`` for unknown names, ``TypeError`` for a unit of the
wrong kind), the way pint's errors do, so ordinary ``except ValueError`` code keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model.finding import Finding


class PosologyError(Exception):
    """Root of every error the engine raises deliberately."""


class InputError(PosologyError, ValueError):
    """A request is unusable: it names the field at fault and how to fix it.

    ``field`` is a dotted path into the document (``patient.weight_kg``, ``history[3].dose``);
    ``message`` says what is wrong and what to write instead. ``str(error)`` is one line.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class UnitError(InputError):
    """A quantity could not be read: no unit, an unknown unit, a unit of the wrong kind."""


class DimensionError(PosologyError, TypeError):
    """Arithmetic or comparison between quantities of different kinds (a mass and a volume).

    This is a programming error, not an input error: the input layer checks kinds first.
    """


class PackError(PosologyError, ValueError):
    """A knowledge pack is broken; the message names the file, the rule and the field."""

    def __init__(self, file: str, rule: str | None, field: str | None, message: str) -> None:
        where = file
        if rule:
            where += f": rule {rule}"
        if field:
            where += f": field {field}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.rule = rule
        self.field = field
        self.message = message


class UnknownRuleError(PosologyError, KeyError):
    """A rule ID that the pack does not hold."""

    def __init__(self, rule_id: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion}?" if suggestion else "; `posology rules` lists them"
        super().__init__(f"unknown rule {rule_id!r}{hint}")
        self.rule_id = rule_id

    def __str__(self) -> str:
        return str(self.args[0])


class MissingRoleError(PosologyError, KeyError):
    """A role that the medicine's pack does not fill: the engine was asked for, say, the pump's
    refill rule of a medicine that has no pump. A broken or partial pack, not bad input."""

    def __init__(self, medicine: str, role: str) -> None:
        super().__init__(
            f"the {medicine or 'unnamed'} pack has no rule in the role {role!r}; "
            "docs/knowledge-format.md lists the roles and kinds"
        )
        self.medicine = medicine
        self.role = role

    def __str__(self) -> str:
        return str(self.args[0])


# -- what the server answers with (its status code in each docstring) --


class NotFound(PosologyError, LookupError):
    """404: no such record in the user's clinic."""


class Conflict(PosologyError):
    """409: the record changed since the version the caller had."""


class Forbidden(PosologyError, PermissionError):
    """403: the user's role may not do this."""


class Unauthorized(PosologyError, PermissionError):
    """401: no valid token or session."""


class NeedsOverride(PosologyError):
    """422: the event has error or critical findings; ``field`` names what is missing (the
    coded override, the retyped dose, the co-signer)."""

    def __init__(
        self,
        findings: tuple[Finding, ...],
        field: str = "override",
        message: str = "the event has findings of severity error or critical",
    ) -> None:
        super().__init__(message)
        self.findings = findings
        self.field = field


class Duplicate(PosologyError):
    """409 naming ``field``: a record number in use, or a likely duplicate to confirm."""

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.field = field
        self.extra = extra


class BadJson(PosologyError):
    """A body that is not JSON, or JSON that is ambiguous (a key given twice, at ``field``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class BodyTooLarge(PosologyError):
    """413: a body larger than the server reads."""


class KeyReused(Conflict):
    """409: the key was used for a different request."""


class DatabaseError(PosologyError):
    """The database cannot be opened or migrated; the message says which URL and why."""


class CdsError(PosologyError):
    """A hook call that cannot be answered: its HTTP status and an OperationOutcome."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "required" if status == 412 else "invalid",
                    "diagnostics": message,
                }
            ],
        }


class TokenRefused(PosologyError):
    """401: the CDS Hooks JWT is missing, malformed, unsigned, expired, replayed or not ours."""


class PreconditionRequired(PosologyError):
    """428: a request that replaces a record must say which version it replaces (If-Match)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TooManyAttempts(PosologyError):
    """429: too many failed logins for this account or from this address; try again later."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(PosologyError):
    """503: the server is at its limit for this kind of work (password checks, a locked
    database); the request was not carried out and may be sent again after ``retry_after``."""

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BodyTooSlow(PosologyError):
    """408: the request body did not arrive in time."""


class HistoryTooLong(InputError):
    """413: a document carries more events than one request may (``MAX_HISTORY``)."""


class LaunchRefused(PosologyError):
    """A SMART on FHIR launch that cannot go on; ``status`` is the HTTP status of the page that
    says why: 400 a launch or callback that is not usable (no ``iss``, a wrong or expired
    ``state``), 403 an EHR not on the allow-list, 502 an EHR server that answered badly or
    refused, 503 Posology not set up for launches, 504 an EHR server that did not answer in
    time."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
