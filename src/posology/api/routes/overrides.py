"""Override reasons and the pharmacist's verification queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import accounts
from ...services import history as event_history
from ..requests import (
    RecordId,
)
from ..schemas import answers, many, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    User = deps.user

    @router.get(
        "/api/v1/override-reasons",
        tags=["overrides"],
        responses=answers(200, many("OverrideReason"), 401),
    )
    def override_reasons(user: accounts.User = User) -> list[dict[str, Any]]:
        from ...services.overrides import reasons_json

        return reasons_json()

    @router.get(
        "/api/v1/verification-queue",
        tags=["overrides"],
        responses=answers(200, many("EventRecord"), 401, 403),
    )
    def verification_queue(user: accounts.User = User) -> list[dict[str, Any]]:
        return event_history.verification_queue(engine, user)

    @router.post(
        "/api/v1/events/{event_id}/verify",
        tags=["overrides"],
        responses=answers(200, ref("EventRecord"), 401, 403, 404, 409, 422),
    )
    def verify_event(event_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        return event_history.verify_event(engine, user, event_id)

    return router
