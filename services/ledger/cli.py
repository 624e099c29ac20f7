"""`pledgewatch ledger ...`: check the chain, and audit the database against it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from services.settings import get_settings

if TYPE_CHECKING:
    from services.ledger.audit import AuditReport

ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)
console = Console()


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Re-check every block's hash, link, signatures and the world state; exit 1 if broken."""
    from services.bootstrap import build_container

    container = build_container(get_settings())
    try:
        container.connect_ledger()
        assert container.ledger is not None
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
            bar.add_task("verifying the chain")
            report = container.ledger.verify()
    finally:
        container.close()
    if report.ok:
        console.print(f"[green]ledger OK[/green]: {report.blocks} blocks verified")
        return
    console.print(
        f"[red]ledger BROKEN at block {report.first_broken}[/red]: {report.reason} "
        f"({report.blocks} blocks verified before it)"
    )
    raise typer.Exit(code=1)


@ledger_app.command("audit")
def ledger_audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare the database with the ledger; exit 1 on differences, 3 with commands in flight."""
    from services.bootstrap import build_container
    from services.ledger.audit import audit_ledger

    container = build_container(get_settings())
    try:
        container.connect_ledger()
        assert container.ledger is not None
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, disable=as_json
        ) as bar:
            bar.add_task("comparing the database with the ledger")
            report = audit_ledger(container.session_factory, container.ledger)
    finally:
        container.close()
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        _print_audit(report)
    if report.differences:
        raise typer.Exit(code=1)
    if report.unsettled:
        raise typer.Exit(code=3)


def _print_audit(report: AuditReport) -> None:
    checked = ", ".join(f"{count} {kind}" for kind, count in sorted(report.checked.items()))
    console.print(f"checked: {checked}")
    if report.unsettled:
        console.print(f"[yellow]{report.unsettled} commands still in flight[/yellow]")
    for d in report.differences:
        console.print(f"[red]{d.kind}[/red] {d.subject}: database {d.db!r}, ledger {d.ledger!r}")
    if report.ok:
        console.print("[green]database and ledger agree[/green]")
