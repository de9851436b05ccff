"""Free text a person types (a name, a label, a note, an e-mail address), read strictly.

Text is stored, shown on screens and printed on handouts. A NUL is refused by every database;
a lone surrogate (half of a UTF-16 pair, ``\\ud800``) is no character and cannot be written as
UTF-8; other control characters (a bell, an escape, a backspace) draw nothing and can hide or
overwrite what a reader sees; and the direction overrides and isolates (U+202A to U+202E,
U+2066 to U+2069) reorder what follows them on screen, so ``10 mg`` could be shown as another
text than the one stored. Each is refused with the field's name and the fix, as is a text
longer than the field's limit (counted in characters, before anything else is looked at).
"""

from __future__ import annotations

import re

from ..errors import InputError

_ALWAYS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
# A note may hold lines: tab, line feed and carriage return (browsers send CRLF from a text area).
_MULTILINE_BAD = re.compile(f"[{_ALWAYS}]")
# A one-line value (a name, a label, an address) holds none of them either.
_SINGLE_LINE_BAD = re.compile(f"[{_ALWAYS}\t\n\r]")

_NAMES = {
    "\x00": "a NUL character (\\u0000)",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a line break",
}


def _describe(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    code = f"\\u{ord(char):04x}"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate ({code}), which is no character"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"a text-direction control ({code}) that reorders what is shown"
    return f"a control character ({code})"


def plain_text(
    value: object,
    field: str,
    max_length: int,
    *,
    multiline: bool = False,
    allow_blank: bool = False,
) -> str:
    """``value`` if it is a text a person can read back as typed; else an ``InputError``
    naming ``field``.

    Refused: a non-string, a text longer than ``max_length`` characters, an empty or blank
    text (unless ``allow_blank``), NUL, a lone surrogate, control characters and direction
    controls; tab and line breaks are allowed only when ``multiline``. The value is returned
    unchanged (callers that store a trimmed form strip it themselves).
    """
    if not isinstance(value, str):
        raise InputError(field, "must be a text")
    if len(value) > max_length:
        raise InputError(
            field, f"is {len(value)} characters long; shorten it to at most {max_length}"
        )
    if not allow_blank and not value.strip():
        raise InputError(field, "must not be empty")
    found = (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if found is not None:
        where = found.start()
        raise InputError(
            field,
            f"holds {_describe(found.group())} at character {where + 1}; remove it"
            + ("" if multiline or found.group() not in "\t\n\r" else " (write it on one line)"),
        )
    return value
