"""`pledgewatch vision ...` and `pledgewatch evidence verify`: the camera runner and checks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.processes import vision_command

vision_app = typer.Typer(help="Cameras: the vision runner.", no_args_is_help=True)
evidence_app = typer.Typer(help="Camera evidence.", no_args_is_help=True)
console = Console()

# `vision run` watches the database's cameras (one shard of them with --shards).
vision_app.command("run")(vision_command)


@evidence_app.command("verify")
def evidence_verify(
    evidence_id: Annotated[str, typer.Argument(help="The evidence id.")],
) -> None:
    """Check the evidence's files, hashes, signature and ledger anchor; exit 1 if any fails."""
    from services.bootstrap import build_container
    from services.cameras.evidence_service import verify_evidence
    from services.cameras.tables import EvidenceRow
    from services.cameras.wiring import evidence_store
    from services.settings import get_settings
    from services.uow import SqlUnitOfWork

    container = build_container(get_settings())
    try:
        container.connect_ledger()
        with SqlUnitOfWork.start(container.session_factory) as uow:
            row = uow.session.get(EvidenceRow, evidence_id)
            if row is None:
                console.print(f"[red]no evidence {evidence_id}[/red]")
                raise typer.Exit(code=2)
            found = verify_evidence(uow, row, evidence_store(container), container.ledger)
            subject = f"{row.kind} of camera {row.camera_id}" + (
                f", bay {row.bay_id}" if row.bay_id else ""
            )
    finally:
        container.close()
    table = Table(title=f"evidence {evidence_id} ({subject})")
    table.add_column("check")
    table.add_column("result")
    for name in ("file_ok", "hash_ok", "signature_ok", "ledger_ok"):
        ok = getattr(found, name)
        table.add_row(name.removesuffix("_ok"), "[green]ok[/green]" if ok else "[red]FAILED[/red]")
    console.print(table)
    for line in found.detail or []:
        console.print(f"  {line}")
    if not found.ok:
        console.print("[red]evidence NOT verified[/red]")
        raise typer.Exit(code=1)
    console.print("[green]evidence verified[/green]")
