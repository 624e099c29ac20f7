"""Evidence on the service side: checked on arrival, stored, anchored, shown, verified.

A worker sends the bytes with the manifest it signed. The service accepts them only if the
manifest names exactly these bytes (SHA-256) and the signature is from a key a device of the
same organisation registered. It then stores the files, keeps a row, and queues the anchoring
of the manifest's hash on the ledger in the same transaction.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from pledge.alerts import Evidence, evidence
from pledge.errors import Conflict, Forbidden, Invalid, NotFound
from pledge.parties import Actor, OrgKind, Role
from services.cameras.tables import CameraRow, EvidenceRow, WorkerKeyRow
from services.ledger.port import LedgerPort
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork
from vision.evidence import EvidencePack, EvidenceStore, canonical, sha256_hex
from vision.signing import key_id_of, public_key_from_b64, signature_valid

SUBJECT_TYPE = "evidence"
ANCHOR_KIND = "evidence"


def register_key(uow: SqlUnitOfWork, actor: Actor, now: datetime, public_key: str) -> WorkerKeyRow:
    """Register a worker's public key for the device's organisation (idempotent)."""
    if Role.DEVICE not in actor.roles or actor.org_kind is not OrgKind.WAREHOUSE:
        raise Forbidden("not_a_camera_device", "only a warehouse's camera devices register keys")
    try:
        public_key_from_b64(public_key)
    except ValueError as exc:
        raise Invalid("invalid_public_key", str(exc)) from exc
    key_id = key_id_of(base64.b64decode(public_key))
    row = uow.session.get(WorkerKeyRow, key_id)
    if row is not None:
        if row.org_id != actor.org_id:
            # One key, one organisation: a second org claiming it is refused without details.
            raise Invalid("key_taken", "this key is registered by another organisation")
        return row
    row = WorkerKeyRow(key_id=key_id, org_id=actor.org_id, public_key=public_key, created_at=now)
    uow.session.add(row)
    uow.commit()
    return row


def check_pack(uow: SqlUnitOfWork, org_id: str, pack: EvidencePack) -> None:
    """Refuse evidence whose files, manifest, key or signature do not agree."""
    manifest = pack.manifest
    if manifest.get("snapshot_sha256") != sha256_hex(pack.snapshot):
        raise Invalid("evidence_hash_mismatch", "the snapshot does not match its manifest hash")
    clip_hash = None if pack.clip is None else sha256_hex(pack.clip)
    if manifest.get("clip_sha256") != clip_hash:
        raise Invalid("evidence_hash_mismatch", "the clip does not match its manifest hash")
    if manifest.get("key_id") != pack.key_id:
        raise Invalid("evidence_key_mismatch", "the manifest names another key")
    key = uow.session.get(WorkerKeyRow, pack.key_id)
    if key is None or key.org_id != org_id:
        raise Invalid("unknown_worker_key", f"no registered worker key {pack.key_id}")
    if not signature_valid(key.public_key, canonical(manifest), pack.signature):
        raise Invalid("bad_evidence_signature", "the manifest's signature does not verify")


def accept_evidence(
    uow: SqlUnitOfWork,
    store: EvidenceStore,
    camera: CameraRow,
    pack: EvidencePack,
    *,
    kind: str,
    bay_id: str | None,
    at: datetime,
    parties: Iterable[str],
    now: datetime,
) -> EvidenceRow:
    """Check, store and record a worker's evidence, and queue the anchoring of its hash."""
    check_pack(uow, camera.org_id, pack)
    manifest = pack.manifest
    if manifest.get("camera_id") != camera.id or manifest.get("kind") != kind:
        raise Invalid("evidence_mismatch", "the manifest is for another camera or kind")
    if manifest.get("bay_id") != bay_id:
        raise Invalid("evidence_mismatch", "the manifest is for another bay")
    # A report sent again (its answer was lost, the worker's spool retries) names evidence
    # already recorded: a clear conflict, where the unique index would answer a server error.
    known = uow.session.scalar(select(EvidenceRow.id).where(EvidenceRow.sha256 == pack.sha256))
    if known is not None:
        raise Conflict("evidence_exists", f"this evidence was already recorded as {known}")
    ident = uuid.uuid4().hex
    snapshot_uri = store.put(f"{camera.id}/{ident}.jpg", pack.snapshot, "image/jpeg")
    clip_uri = (
        None if pack.clip is None else store.put(f"{camera.id}/{ident}.mp4", pack.clip, "video/mp4")
    )
    row = EvidenceRow(
        id=ident,
        kind=kind,
        camera_id=camera.id,
        bay_id=bay_id,
        warehouse_id=camera.warehouse_id,
        sha256=pack.sha256,
        manifest=dict(manifest),
        signature=pack.signature,
        key_id=pack.key_id,
        snapshot_sha256=sha256_hex(pack.snapshot),
        snapshot_uri=snapshot_uri,
        clip_sha256=None if pack.clip is None else sha256_hex(pack.clip),
        clip_uri=clip_uri,
        event_hash=None,
        parties=sorted({camera.org_id, *parties}),
        at=at,
        created_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    uow.ledger.enqueue(
        org_id=camera.org_id,
        kind="anchor",
        subject_type=SUBJECT_TYPE,
        subject_id=ident,
        fn="anchor",
        args={"anchor_id": ident, "kind": ANCHOR_KIND, "hash": row.sha256},
        submitter_msp=uow.orgs.msp_of(camera.org_id),
    )
    return row


def alert_links(row: EvidenceRow) -> tuple[Evidence, ...]:
    """The alert evidence links of a record: its snapshot and, if any, its clip."""
    links = [evidence("snapshot", f"/evidence/{row.id}/snapshot.jpg", row.snapshot_sha256)]
    if row.clip_sha256 is not None:
        links.append(evidence("clip", f"/evidence/{row.id}/clip.mp4", row.clip_sha256))
    return tuple(links)


def visible_evidence(uow: SqlUnitOfWork, actor: Actor, evidence_id: str) -> EvidenceRow:
    """Evidence the actor's organisation is party to; any other answers not found."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK), Role.VIEWER)
    row = uow.session.get(EvidenceRow, evidence_id)
    if row is None or actor.org_id not in row.parties:
        raise NotFound("evidence_not_found", f"no evidence {evidence_id}")
    return row


def anchor_status(uow: SqlUnitOfWork, evidence_id: str) -> str:
    """The status of the evidence's anchoring command: pending, confirmed or rejected."""
    command = uow.session.scalars(
        select(LedgerCommand).where(
            LedgerCommand.subject_type == SUBJECT_TYPE, LedgerCommand.subject_id == evidence_id
        )
    ).first()
    return "missing" if command is None else str(command.status)


def evidence_view(uow: SqlUnitOfWork, row: EvidenceRow) -> dict[str, Any]:
    """The evidence as the API shows it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "camera_id": row.camera_id,
        "bay_id": row.bay_id,
        "sha256": row.sha256,
        "signature": row.signature,
        "key_id": row.key_id,
        "snapshot_sha256": row.snapshot_sha256,
        "clip_sha256": row.clip_sha256,
        "snapshot_url": f"/evidence/{row.id}/snapshot.jpg",
        "clip_url": None if row.clip_uri is None else f"/evidence/{row.id}/clip.mp4",
        "manifest": row.manifest,
        "event_hash": row.event_hash,
        "anchor_status": anchor_status(uow, row.id),
        "at": row.at,
        "created_at": row.created_at,
    }


@dataclass
class Verification:
    """What `verify` found: each check, the verdict, and a line per finding."""

    file_ok: bool = False
    hash_ok: bool = False
    signature_ok: bool = False
    ledger_ok: bool = False
    detail: list[str] | None = None

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.file_ok and self.hash_ok and self.signature_ok and self.ledger_ok

    def as_dict(self) -> dict[str, Any]:
        """The verdict as the API and CLI report it."""
        return {
            "file_ok": self.file_ok,
            "hash_ok": self.hash_ok,
            "signature_ok": self.signature_ok,
            "ledger_ok": self.ledger_ok,
            "ok": self.ok,
            "detail": list(self.detail or []),
        }


def verify_evidence(
    uow: SqlUnitOfWork, row: EvidenceRow, store: EvidenceStore, ledger: LedgerPort | None
) -> Verification:
    """Check the files are there, match the manifest, the signature holds and the ledger agrees."""
    result = Verification(detail=[])
    notes = result.detail
    assert notes is not None
    files = {"snapshot": (row.snapshot_uri, row.snapshot_sha256)}
    if row.clip_uri is not None and row.clip_sha256 is not None:
        files["clip"] = (row.clip_uri, row.clip_sha256)
    blobs = {name: store.get(uri) for name, (uri, _) in files.items()}
    missing = [name for name, data in blobs.items() if data is None]
    result.file_ok = not missing
    notes.append("files present" if not missing else f"missing: {', '.join(missing)}")
    manifest = row.manifest
    changed = [
        name
        for name, data in blobs.items()
        if data is not None
        and not (sha256_hex(data) == files[name][1] == manifest.get(f"{name}_sha256"))
    ]
    manifest_ok = sha256_hex(canonical(manifest)) == row.sha256
    result.hash_ok = result.file_ok and not changed and manifest_ok
    if changed:
        notes.append(f"hash mismatch: {', '.join(changed)} changed since it was signed")
    elif not manifest_ok:
        notes.append("the manifest no longer matches its recorded hash")
    elif result.file_ok:
        notes.append("hashes match the signed manifest")
    key = uow.session.get(WorkerKeyRow, row.key_id)
    result.signature_ok = key is not None and signature_valid(
        key.public_key, canonical(manifest), row.signature
    )
    notes.append(
        f"signature by worker key {row.key_id} "
        + ("valid" if result.signature_ok else "INVALID or key unknown")
    )
    result.ledger_ok = _ledger_agrees(uow, row, ledger, notes)
    return result


def _ledger_agrees(
    uow: SqlUnitOfWork, row: EvidenceRow, ledger: LedgerPort | None, notes: list[str]
) -> bool:
    if ledger is None:
        notes.append("no ledger connected")
        return False
    camera = uow.session.get(CameraRow, row.camera_id)
    msp = uow.orgs.msp_of(camera.org_id if camera else row.parties[0])
    try:
        anchored = ledger.evaluate("get_anchor", {"hash": row.sha256}, msp)
    except Exception as exc:  # the ledger's refusal (not found) or unavailability: both fail
        notes.append(f"ledger has no anchor for {row.sha256}: {exc}")
        return False
    same = (
        isinstance(anchored, dict)
        and anchored.get("hash") == row.sha256
        and anchored.get("kind") == ANCHOR_KIND
        and anchored.get("anchor_id") == row.id
    )
    notes.append(
        f"ledger anchor {row.sha256[:16]}... "
        + ("matches" if same else f"does not match: {anchored}")
    )
    return same
