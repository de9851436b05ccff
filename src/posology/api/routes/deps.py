"""What every router is built with: the database, the pack, and the two dependencies
(the calling user, the JSON body)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends
from sqlalchemy import Engine

from ...knowledge import Pack
from ..auth import Auth
from ..requests import json_body


@dataclass(frozen=True)
class Deps:
    engine: Engine
    pack: Pack
    auth: Auth
    user: Any = field(init=False)
    body: Any = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", Depends(self.auth))
        object.__setattr__(self, "body", Depends(json_body))
