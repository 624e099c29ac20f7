"""What the warehouse's forms do: execute a release order, reconcile now, lift a bay freeze."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from dashboards.sme_actions import run_once
from pledge import reconcile_service, service
from pledge.errors import Invalid, NotFound
from pledge.parties import Actor, OrgKind
from pledge.reconcile import BayFreeze, BayVerdict
from services.api.routers import epcis as epcis_routes
from services.api.runner import perform, read


def execute_release(
    request: Request, actor: Actor, order_id: str, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Let the goods of an open release order leave, once per form key."""
    actor.require(OrgKind.WAREHOUSE)

    def produce() -> dict[str, Any]:
        order = read(request, service.visible_order, actor, order_id)
        if order.warehouse_org_id != actor.org_id:
            raise NotFound("release_order_not_found", f"no release order {order_id}")
        movement, commands = perform(
            request,
            service.release_goods,
            actor,
            order.lot_id,
            str(order.quantity),
            list(order.epcs),
            order.id,
        )
        return {
            "movement_id": movement.id,
            "quantity": movement.quantity,
            "epcs": len(movement.epcs),
            "commands": commands,
        }

    return run_once(request, actor, key, f"release {order_id}", {"order_id": order_id}, produce)


def reconcile_now(request: Request, actor: Actor, warehouse_id: str) -> list[BayVerdict]:
    """Run the reconciliation of one of the caller's warehouses now, as the API does."""
    # The API's own path: bays still settling after a movement are reported, not frozen.
    verdicts, _ = epcis_routes.reconcile_now(request, actor, warehouse_id)
    return verdicts


def resolve_freeze(request: Request, actor: Actor, bay_id: str, note: str) -> BayFreeze:
    """Lift a bay's freeze once a person has cleared the mismatch."""
    if not note.strip():
        raise Invalid("note_required", "say how the mismatch was cleared")
    freeze, _ = perform(request, reconcile_service.resolve_freeze, actor, bay_id, note.strip())
    return freeze
