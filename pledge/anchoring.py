"""Anchoring EPCIS events: the canonical event hash goes on the ledger, once per event."""

from __future__ import annotations

from pledge.epcis import EpcisRecord
from pledge.errors import Invalid
from pledge.ports import PledgeUnitOfWork

HASH_PREFIX = "ni:///sha-256;"
ANCHOR_KIND = "anchor"
SUBJECT_TYPE = "epcis_event"
# Already anchored: a resubmission of a hash that is on the ledger is success, not a failure.
ANCHOR_EXISTS = "ANCHOR_EXISTS"


def digest_of(event_hash: str) -> str:
    """The 64 hex digits of an `ni:///sha-256;<hex>` event hash, as the chaincode wants them."""
    digest = event_hash.removeprefix(HASH_PREFIX).lower()
    if not event_hash.startswith(HASH_PREFIX) or len(digest) != 64:
        raise Invalid("invalid_event_hash", f"not an ni:///sha-256 event hash: {event_hash}")
    if any(c not in "0123456789abcdef" for c in digest):
        raise Invalid("invalid_event_hash", f"not an ni:///sha-256 event hash: {event_hash}")
    return digest


def submitter_org(uow: PledgeUnitOfWork, record: EpcisRecord) -> str:
    """Who anchors an event: the warehouse operator where it happened, else whoever captured it."""
    warehouse = uow.warehouses.get(record.warehouse_id) if record.warehouse_id else None
    return warehouse.org_id if warehouse is not None else record.org_id


def anchor_event(uow: PledgeUnitOfWork, record: EpcisRecord) -> str:
    """Queue the ledger anchoring of a newly stored event's hash; returns the command id."""
    org_id = submitter_org(uow, record)
    return uow.ledger.enqueue(
        org_id=org_id,
        kind=ANCHOR_KIND,
        subject_type=SUBJECT_TYPE,
        subject_id=record.id,
        fn="anchor",
        args={"anchor_id": record.id, "kind": "epcis", "hash": digest_of(record.event_hash)},
        submitter_msp=uow.orgs.msp_of(org_id),
    )
