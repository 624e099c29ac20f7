"""The whole story of the design, through the HTTP API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io

from rich.console import Console

from services.demo import play


def test_every_claim_of_the_story_holds_on_both_databases(service) -> None:
    out = io.StringIO()
    story = play(service.client, Console(file=out, width=200))
    failed = [claim for claim, ok, _ in story.checks if not ok]
    assert not failed, out.getvalue()
    claims = {claim for claim, _, _ in story.checks}
    assert "approval refused above max LTV" in claims
    assert "Bank 2's pledge on a duplicate receipt rejected by the ledger" in claims
    assert "ledger verify OK" in claims
    # Every command the story queued reached the ledger and settled.
    assert service.count("ledger_commands") > 0
    from sqlalchemy import text

    with service.container.engine.connect() as conn:
        unsettled = conn.execute(
            text("SELECT count(*) FROM ledger_commands WHERE status IN ('pending', 'submitted')")
        ).scalar_one()
    assert unsettled == 0
