"""Evidence viewer and live checks, through the API's own evidence and live-check routes."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from dashboards import bank_data
from dashboards.apicall import api, proxy_file
from dashboards.web import PREFIX, BankViewer, ViewerDep, read, render
from loans.model import SECURED
from pledge.parties import Actor
from services.uow import SqlUnitOfWork

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/evidence/{evidence_id}", name="evidence_view")
async def evidence_page(request: Request, viewer: ViewerDep, evidence_id: str) -> HTMLResponse:
    """A piece of camera evidence: snapshot, clip, hashes, and a button to verify it."""
    record = (await api(request, "GET", f"/evidence/{evidence_id}")).json()
    return render(request, "alerts/evidence.html", {"ev": record})


@router.get("/evidence/{evidence_id}/snapshot.jpg", name="evidence_snapshot")
async def snapshot(request: Request, viewer: ViewerDep, evidence_id: str) -> Response:
    """The signed snapshot, as the API serves it to this viewer."""
    return await proxy_file(request, f"/evidence/{evidence_id}/snapshot.jpg")


@router.get("/evidence/{evidence_id}/clip.mp4", name="evidence_clip")
async def clip(request: Request, viewer: ViewerDep, evidence_id: str) -> Response:
    """The signed clip, as the API serves it to this viewer."""
    return await proxy_file(request, f"/evidence/{evidence_id}/clip.mp4")


@router.post("/evidence/{evidence_id}/verify", name="evidence_verify")
async def verify(request: Request, viewer: ViewerDep, evidence_id: str) -> HTMLResponse:
    """Re-hash the files, check the signature and the ledger's anchor; say what held."""
    verdict = (await api(request, "POST", f"/evidence/{evidence_id}/verify")).json()
    return render(request, "alerts/_verdict.html", {"v": verdict})


def _lien_bays(uow: SqlUnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """Bays holding goods pledged to the bank's running loans (where it may ask for a check)."""
    found: dict[str, dict[str, Any]] = {}
    for row in bank_data.loan_book(uow, actor).rows:
        if row.loan.status not in SECURED:
            continue
        for rid in row.loan.receipt_ids:
            receipt = uow.receipts.get(rid)
            lot = uow.lots.get(receipt.lot_id) if receipt else None
            bay = uow.bays.get(lot.bay_id) if lot else None
            if bay is None or receipt is None:
                continue
            warehouse = uow.warehouses.get(bay.warehouse_id)
            entry = found.setdefault(
                bay.id,
                {"bay": bay, "warehouse": warehouse, "loans": [], "cameras": sorted(bay.polygons)},
            )
            entry["loans"].append(row)
    return sorted(found.values(), key=lambda e: (e["warehouse"].code, e["bay"].code))


@router.get("/bank/live-checks", name="bank_live_checks")
def live_checks(request: Request, viewer: BankViewer) -> HTMLResponse:
    """Ask a camera for a fresh, nonce-stamped picture of a bay holding your collateral."""
    bays = read(request, _lien_bays, viewer.actor)
    return render(request, "bank/live_checks.html", {"bays": bays})


@router.post("/bank/live-checks", name="bank_request_live_check")
async def request_check(
    request: Request, viewer: BankViewer, bay_id: Annotated[str, Form()]
) -> HTMLResponse:
    """Request the check (POST /bays/{id}/live-checks) and show it while it is answered."""
    nonce = f"ui-{secrets.token_hex(6)}"
    check = (
        await api(request, "POST", f"/bays/{bay_id}/live-checks", json={"nonce": nonce})
    ).json()
    return render(request, "bank/_live_check.html", {"check": check})


@router.get("/bank/live-checks/{check_id}", name="bank_live_check")
async def check_status(request: Request, viewer: BankViewer, check_id: str) -> HTMLResponse:
    """A live check's state; the fragment polls itself until it is done or failed."""
    check = (await api(request, "GET", f"/live-checks/{check_id}")).json()
    return render(request, "bank/_live_check.html", {"check": check})
