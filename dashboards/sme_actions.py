"""What the SME's forms do: apply, repay once per form, and the one-effect-per-key guard.

Forms call the same use cases as the API (through `perform`), so every rule and access check is
the domain's own. Money-moving forms carry an Idempotency-Key generated when the form is drawn:
a double submit, or a reload after a slow answer, replays the first result and moves nothing
twice, exactly like a client sending the header to the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder

from loans import lending, servicing
from loans.model import Loan
from pledge.parties import Actor
from services.api.idempotency import Idempotency, body_hash, check_key
from services.api.runner import container_of, perform

DONE = 200


def form_key() -> str:
    """A fresh Idempotency-Key for a form about to be drawn."""
    return uuid.uuid4().hex


def run_once(
    request: Request,
    actor: Actor,
    key: str | None,
    action: str,
    body: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run `produce` once per (organisation, key); a replay returns the first result and True."""
    checked = check_key(key)
    guard = Idempotency(container_of(request).session_factory)
    label = f"dashboard {action}"
    replay = guard.claim(actor.org_id, checked, label, body_hash(label, body))
    if replay is not None:
        _status, stored = replay
        return dict(stored), True
    try:
        result = jsonable_encoder(produce())
    except BaseException:
        # A refused request leaves the key free, so the corrected form can be sent again.
        guard.release(actor.org_id, checked)
        raise
    guard.complete(actor.org_id, checked, DONE, result)
    return result, False


def apply_for_loan(
    request: Request, actor: Actor, product_id: str, receipt_ids: list[str], amount: str
) -> Loan:
    """Apply for a loan against some of the SME's issued receipts."""
    loan, _ = perform(
        request, lending.apply_for_loan, actor, product_id, receipt_ids, amount.strip()
    )
    return loan


def repay(
    request: Request, actor: Actor, loan_id: str, amount: str, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Repay a loan once per form key; returns how the payment was applied and its commands."""
    clean = amount.strip().replace(",", "")

    def produce() -> dict[str, Any]:
        repayment, commands = perform(request, servicing.repay, actor, loan_id, clean)
        return {
            "repayment_id": repayment.id,
            "amount": repayment.amount,
            "fees": repayment.fees,
            "interest": repayment.interest,
            "principal": repayment.principal,
            "commands": commands,
        }

    result, replayed = run_once(
        request, actor, key, f"repay {loan_id}", {"loan_id": loan_id, "amount": clean}, produce
    )
    return result, replayed
