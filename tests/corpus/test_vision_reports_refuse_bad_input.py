"""Vision reports (bay changes and tamper findings from camera workers) with bad frames,
broken evidence files, impossible times or bad fields get a 4xx problem+json and change nothing.

Each case starts from a valid report with real signed evidence (a snapshot and a clip made from
generated frames) and breaks one thing. A report sent twice is a clear 409, not a server error:
a worker's spool resends a report whose answer it lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import problem_of
from tests.api.story_steps import expect
from tests.cameras.camera_world import change_body, tamper_body
from tests.corpus.conftest import Corpus
from vision.stages import TamperKind

Body = dict[str, Any]


@dataclass(frozen=True)
class Broken:
    """One thing wrong with an otherwise valid report."""

    name: str
    route: str  # "events" or "tamper"
    breaks: Callable[[Body], Body | bytes]
    status: int
    code: str
    mention: str = ""


def evidence(**changes: Any) -> Callable[[Body], Body]:
    """Change fields of the report's evidence."""

    def apply(body: Body) -> Body:
        return {**body, "evidence": {**body["evidence"], **changes}}

    return apply


def fields(**changes: Any) -> Callable[[Body], Body]:
    """Change fields of the report itself."""
    return lambda body: {**body, **changes}


def half_of(field: str) -> Callable[[Body], Body]:
    """The evidence file cut to half its length (kept valid base64)."""

    def apply(body: Body) -> Body:
        data = body["evidence"][field]
        return evidence(**{field: data[: len(data) // 8 * 4]})(body)

    return apply


def raw(replace: str, by: str) -> Callable[[Body], bytes]:
    """The report's JSON text with one piece of text replaced (to send what JSON cannot say)."""
    return lambda body: json.dumps(body).replace(replace, by, 1).encode()


def manifest_with(**extra: Any) -> Callable[[Body], Body]:
    """The evidence manifest with extra keys."""
    return lambda body: evidence(manifest={**body["evidence"]["manifest"], **extra})(body)


BROKEN = [
    Broken(
        "snapshot not base64",
        "events",
        evidence(snapshot_b64="not base64!!"),
        422,
        "invalid_evidence",
        "base64",
    ),
    Broken(
        "zero-byte snapshot",
        "events",
        evidence(snapshot_b64=""),
        422,
        "validation_error",
        "snapshot_b64",
    ),
    Broken(
        "three-byte snapshot",
        "events",
        evidence(snapshot_b64="AAAA"),
        422,
        "evidence_hash_mismatch",
        "snapshot",
    ),
    Broken(
        "truncated snapshot",
        "events",
        half_of("snapshot_b64"),
        422,
        "evidence_hash_mismatch",
        "snapshot",
    ),
    Broken("truncated clip", "events", half_of("clip_b64"), 422, "evidence_hash_mismatch", "clip"),
    Broken(
        "zero-byte clip", "events", evidence(clip_b64=""), 422, "evidence_hash_mismatch", "clip"
    ),
    Broken(
        "clip not base64", "events", evidence(clip_b64="%%%%"), 422, "invalid_evidence", "base64"
    ),
    Broken(
        "signature of zeros", "events", evidence(signature="AAAA"), 422, "bad_evidence_signature"
    ),
    Broken("empty manifest", "events", evidence(manifest={}), 422, "evidence_hash_mismatch"),
    Broken(
        "NUL in the manifest", "events", manifest_with(note="\x00"), 422, "validation_error", "NUL"
    ),
    Broken(
        "lone surrogate in the manifest",
        "events",
        raw('"kind": "bay_change"', '"kind": "bay_change", "x": "\\udc00"'),
        422,
        "validation_error",
        "surrogate",
    ),
    Broken(
        "year 1 east of UTC",
        "events",
        fields(at="0001-01-01T00:00:00+05:00"),
        422,
        "validation_error",
        "outside the years",
    ),
    Broken("no time zone", "events", fields(at="2026-03-01T10:00:00"), 422, "naive_time", "offset"),
    Broken(
        "next century",
        "events",
        fields(at="2199-01-01T00:00:00Z"),
        422,
        "report_time_in_future",
        "2199",
    ),
    Broken("emoji camera id", "events", fields(camera_id="\U0001f4f7"), 404, "camera_not_found"),
    Broken("unknown bay", "events", fields(bay_id="nope"), 404, "bay_not_found", "nope"),
    Broken(
        "counts that do not add up",
        "events",
        fields(count_before=4, count_after=4),
        422,
        "invalid_change",
    ),
    Broken("kind teleported", "events", fields(kind="teleported"), 422, "validation_error", "kind"),
    Broken(
        "negative frame index",
        "events",
        fields(frame_index=-1),
        422,
        "validation_error",
        "frame_index",
    ),
    Broken(
        "confidence NaN",
        "events",
        raw('"confidence": 0.93', '"confidence": NaN'),
        422,
        "validation_error",
        "confidence",
    ),
    Broken("delta 10001", "events", fields(delta=-10_001), 422, "validation_error", "delta"),
    Broken(
        "1001 identities",
        "events",
        fields(identities=["aruco:1"] * 1001),
        422,
        "validation_error",
        "identities",
    ),
    Broken(
        "cut in half",
        "events",
        lambda body: json.dumps(body)[:2000].encode(),
        422,
        "validation_error",
        "json",
    ),
    Broken("tamper kind melted", "tamper", fields(kind="melted"), 422, "validation_error", "kind"),
    Broken(
        "tamper measure infinite",
        "tamper",
        raw('"measure": 4.2', '"measure": Infinity'),
        422,
        "validation_error",
        "measure",
    ),
    Broken(
        "tamper year 9999 west of UTC",
        "tamper",
        fields(at="9999-12-31T23:59:59-05:00"),
        422,
        "validation_error",
        "outside the years",
    ),
    Broken(
        "tamper zero-byte snapshot",
        "tamper",
        evidence(snapshot_b64=""),
        422,
        "validation_error",
        "snapshot_b64",
    ),
]


def valid(corpus: Corpus, route: str) -> Body:
    """A fresh valid report with its own signed evidence."""
    if route == "events":
        return change_body(corpus.watched)
    return tamper_body(corpus.watched, TamperKind.COVERED)


def post(corpus: Corpus, route: str, body: Body | bytes) -> Any:
    """Post a report with the camera's device key."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**corpus.watched.device, "Content-Type": "application/json"}
    return corpus.service.client.post(f"/vision/{route}", headers=headers, content=content)


@pytest.mark.parametrize("case", BROKEN, ids=[c.name for c in BROKEN])
def test_a_broken_vision_report_is_refused_and_changes_nothing(
    corpus: Corpus, case: Broken
) -> None:
    body = case.breaks(valid(corpus, case.route))
    before = corpus.snapshot()
    resp = post(corpus, case.route, body)
    assert resp.status_code == case.status, resp.text
    problem = problem_of(resp)
    assert problem["code"] == case.code, problem
    named = json.dumps(problem, ensure_ascii=False).lower()
    assert case.mention.lower() in named, problem
    assert corpus.snapshot() == before


def test_a_report_sent_again_is_a_conflict_not_a_server_error(corpus: Corpus) -> None:
    body = valid(corpus, "events")
    first = expect(post(corpus, "events", body), 201)
    before = corpus.snapshot()
    again = post(corpus, "events", body)
    assert again.status_code == 409
    problem = problem_of(again)
    assert problem["code"] == "evidence_exists" and first["evidence_id"] in problem["detail"]
    assert corpus.snapshot() == before


def test_good_reports_are_still_recorded_after_the_corpus(corpus: Corpus) -> None:
    for route in ("events", "tamper"):
        out = expect(post(corpus, route, valid(corpus, route)), 201)
        assert out["evidence_id"]
