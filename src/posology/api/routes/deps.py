"""What every router is built with: the database, the server's default pack, and the two
dependencies (the calling user, the JSON body).

Each clinic may judge by its own jurisdiction profile (``posology clinic profile``), so a route
that judges asks :meth:`Deps.pack_for` for the calling user's pack; ``pack`` is the server's
default (``POSOLOGY_PROFILE``), for calls that come from no clinic's user.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from sqlalchemy import Engine

from ...frozen import field, record
from ...knowledge import Pack
from ...services import accounts
from ...services.clinic import clinic_pack, pack_for_medicine
from ..auth import Auth
from ..requests import json_body


@record
class Deps:
    engine: Engine
    pack: Pack
    auth: Auth
    user: Any = field(init=False)
    body: Any = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", Depends(self.auth))
        object.__setattr__(self, "body", Depends(json_body))

    def pack_for(self, user: accounts.User, medicine: str | None = None) -> Pack:
        """The pack that judges ``medicine`` (default: the server's) for ``user``: their
        clinic's profile, else the server's."""
        pack = clinic_pack(self.engine, self.pack, clinic_id=user.clinic_id)
        return pack if medicine is None else pack_for_medicine(pack, medicine)

    def pack_for_clinic(self, name: str | None) -> Pack:
        """The pack of the clinic named ``name`` (a CDS issuer's), else the server's."""
        return clinic_pack(self.engine, self.pack, name=name or "")
