"""What a vision worker reports to the service, as plain values (the API parses into these)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vision.evidence import EvidencePack
from vision.stages import BayChange, MovementKind, TamperFinding, TamperKind


@dataclass(frozen=True)
class BayChangeReport:
    """A stable change of a bay's contents, with the evidence the worker signed."""

    camera_id: str
    bay_id: str
    at: datetime
    kind: MovementKind
    delta: int
    count_before: int
    count_after: int
    identities: tuple[str, ...]
    confidence: float
    frame_index: int
    evidence: EvidencePack

    @classmethod
    def of(cls, change: BayChange, pack: EvidencePack) -> BayChangeReport:
        """The report of a pipeline's BayChange."""
        return cls(
            change.camera_id,
            change.bay_id,
            change.at,
            change.kind,
            change.delta,
            change.count_before,
            change.count_after,
            tuple(change.identities),
            change.confidence,
            change.frame_index,
            pack,
        )


@dataclass(frozen=True)
class TamperReport:
    """A tamper check that fired or cleared on a camera; evidence unless the signal is lost."""

    camera_id: str
    at: datetime
    kind: TamperKind
    active: bool
    measure: float
    frame_index: int | None
    evidence: EvidencePack | None

    @classmethod
    def of(cls, finding: TamperFinding, pack: EvidencePack | None) -> TamperReport:
        """The report of a pipeline's TamperFinding."""
        return cls(
            finding.camera_id,
            finding.at,
            finding.kind,
            finding.active,
            finding.measure,
            finding.frame_index,
            pack,
        )


def pack_to_json(pack: EvidencePack) -> dict[str, Any]:
    """Evidence as JSON for the HTTP API: the manifest, signature and base64 bytes."""
    return {
        "manifest": pack.manifest,
        "signature": pack.signature,
        "key_id": pack.key_id,
        "snapshot_b64": base64.b64encode(pack.snapshot).decode("ascii"),
        "clip_b64": None if pack.clip is None else base64.b64encode(pack.clip).decode("ascii"),
    }


def pack_from_json(body: dict[str, Any]) -> EvidencePack:
    """Evidence read back from its JSON form; ValueError on bad base64."""
    clip = body.get("clip_b64")
    return EvidencePack(
        manifest=dict(body["manifest"]),
        signature=str(body["signature"]),
        key_id=str(body["key_id"]),
        snapshot=base64.b64decode(body["snapshot_b64"], validate=True),
        clip=None if clip is None else base64.b64decode(clip, validate=True),
    )


def change_to_json(report: BayChangeReport) -> dict[str, Any]:
    """A bay-change report as the JSON body of POST /vision/events."""
    return {
        "camera_id": report.camera_id,
        "bay_id": report.bay_id,
        "at": report.at.isoformat(),
        "kind": report.kind.value,
        "delta": report.delta,
        "count_before": report.count_before,
        "count_after": report.count_after,
        "identities": list(report.identities),
        "confidence": report.confidence,
        "frame_index": report.frame_index,
        "evidence": pack_to_json(report.evidence),
    }


def tamper_to_json(report: TamperReport) -> dict[str, Any]:
    """A tamper report as the JSON body of POST /vision/tamper."""
    return {
        "camera_id": report.camera_id,
        "at": report.at.isoformat(),
        "kind": report.kind.value,
        "active": report.active,
        "measure": report.measure,
        "frame_index": report.frame_index,
        "evidence": None if report.evidence is None else pack_to_json(report.evidence),
    }
