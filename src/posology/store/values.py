"""Values as rows hold them: instants in UTC (a database may return them without a zone), and
parsed documents made storable as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def plain_json(value: Any) -> Any:
    """A parsed document made storable: exact decimals become ints or floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
