"""One error hierarchy for the whole engine.

Every error Posology raises on purpose derives from :class:`PosologyError`, so a shell (the CLI,
the HTTP API) can catch one class and turn it into exit status 2 or a 4xx answer without ever
showing a traceback. Each subclass also derives from the built-in type a caller would expect
(``ValueError`` for bad values, ``KeyError`` for unknown names, ``TypeError`` for a unit of the
wrong kind), the way pint's errors do, so ordinary ``except ValueError`` code keeps working.
"""

from __future__ import annotations


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
