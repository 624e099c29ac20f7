"""`pledgewatch evidence verify` and POST /evidence/{id}/verify catch a changed or missing file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from services.cameras.tables import EvidenceRow
from services.cameras.wiring import STORE_KEY
from services.cli import app
from services.settings import get_settings
from tests.api.story_steps import expect, parties
from tests.cameras.camera_world import change_body, watched_deal
from vision.evidence import store_for


@pytest.fixture
def cli_env(sqlite_service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The service, with the CLI's settings pointing at the same database, keys and evidence."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLEDGEWATCH_DB__URL", sqlite_service.container.settings.db.url)
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("PLEDGEWATCH_VISION__EVIDENCE_STORE", str(tmp_path / "evidence"))
    monkeypatch.setenv("PLEDGEWATCH_MODE", "dev")
    get_settings.cache_clear()
    yield sqlite_service
    get_settings.cache_clear()


def verify_cli(evidence_id: str) -> Result:
    """Run `pledgewatch evidence verify <id>` in process."""
    return CliRunner().invoke(app, ["evidence", "verify", evidence_id])


def _file_of(service: Any, evidence_id: str, which: str) -> Path:
    with service.container.session_factory() as session:
        row = session.get(EvidenceRow, evidence_id)
        assert row is not None
        uri = row.snapshot_uri if which == "snapshot" else row.clip_uri
    assert uri is not None
    return Path(uri.removeprefix("file://"))


def test_verify_passes_on_intact_evidence_and_fails_on_a_changed_or_missing_file(
    cli_env: Any,
) -> None:
    service = cli_env
    who = parties(service)
    world = watched_deal(service, who)
    out = expect(
        service.client.post("/vision/events", headers=world.device, json=change_body(world)), 201
    )
    eid = out["evidence_id"]

    intact = verify_cli(eid)
    assert intact.exit_code == 0, intact.output
    assert "evidence verified" in intact.output

    snapshot = _file_of(service, eid, "snapshot")
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))

    changed = verify_cli(eid)
    assert changed.exit_code == 1
    assert "NOT verified" in changed.output and "snapshot changed" in " ".join(
        changed.output.split()
    )
    verdict = expect(service.client.post(f"/evidence/{eid}/verify", headers=who.bank1), 200)
    assert verdict == {**verdict, "file_ok": True, "hash_ok": False, "ok": False}
    assert verdict["signature_ok"] and verdict["ledger_ok"]

    _file_of(service, eid, "clip").unlink()
    missing = expect(service.client.post(f"/evidence/{eid}/verify", headers=who.bank1), 200)
    assert missing["file_ok"] is False and missing["ok"] is False
    assert any("missing: clip" in line for line in missing["detail"])


def test_verify_of_unknown_evidence_says_so_and_fails(cli_env: Any) -> None:
    result = verify_cli("0" * 32)
    assert result.exit_code == 2
    assert "no evidence" in result.output


def test_verify_fails_when_the_ledger_holds_no_anchor(cli_env: Any) -> None:
    service = cli_env
    who = parties(service)
    world = watched_deal(service, who)
    out = expect(
        service.client.post("/vision/events", headers=world.device, json=change_body(world)), 201
    )
    # A record whose manifest hash was never anchored: the ledger check must fail.
    with service.container.session_factory() as session:
        row = session.get(EvidenceRow, out["evidence_id"])
        assert row is not None
        row.sha256 = "e" * 64
        session.commit()

    result = verify_cli(out["evidence_id"])

    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "ledger has no anchor" in flat or "does not match" in flat


def test_evidence_kept_in_an_http_object_store_is_served_and_verified(
    sqlite_service: Any, bucket: str
) -> None:
    service = sqlite_service
    service.container.extras[STORE_KEY] = store_for(bucket)
    who = parties(service)
    world = watched_deal(service, who)

    out = expect(
        service.client.post("/vision/events", headers=world.device, json=change_body(world)), 201
    )

    with service.container.session_factory() as session:
        row = session.get(EvidenceRow, out["evidence_id"])
        assert row is not None and row.snapshot_uri.startswith(bucket + "/")
    snapshot = service.client.get(f"/evidence/{out['evidence_id']}/snapshot.jpg", headers=who.wh)
    assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"
    verdict = expect(
        service.client.post(f"/evidence/{out['evidence_id']}/verify", headers=who.wh), 200
    )
    assert verdict["ok"], verdict
