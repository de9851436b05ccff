"""The pages' one Jinja environment (the package's templates, autoescaped, with the text filters
and label globals every template reads) and the one way a page is answered.

Every page is answered ``no-store``: Back after logout must not show patient data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..knowledge import Pack
from ..serialize import DISCLAIMER
from . import labels, text
from .pharmacist import defined_daily_doses, source_name
from .records import identity

TEMPLATES = Path(__file__).parent / "templates"


def environment(pack: Pack) -> Environment:
    """The environment for ``pack``'s pages."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.globals["disclaimer"] = DISCLAIMER
    env.filters["plain"] = text.plain_value
    env.filters["field_name"] = text.field_name
    env.filters["when"] = text.when_text
    env.filters["day"] = text.day_text
    env.filters["qty"] = text.quantity_text
    env.globals["kind_labels"] = labels.KIND_LABELS
    env.globals["state_labels"] = labels.STATE_LABELS
    env.globals["prescriber_roles"] = labels.PRESCRIBER_ROLES
    env.globals["recorder_roles"] = labels.RECORDER_ROLES
    env.globals["age_of"] = text.age_text
    env.globals["identity"] = identity
    env.globals["source_name"] = source_name
    env.globals["defined_daily_dose"] = defined_daily_doses(pack)
    return env


def page(env: Environment, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``context``, kept by no browser or proxy."""
    return HTMLResponse(
        env.get_template(name).render(**context),
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
