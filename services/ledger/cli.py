"""`pledgewatch ledger ...`: check the chain, and audit the database against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from services.settings import get_settings

if TYPE_CHECKING:
    from services.bootstrap import Container
    from services.ledger.audit import AuditReport

ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)
console = Console()


@contextmanager
def _connected() -> Iterator[Container]:
    """The service wired to its database and ledger; a missing schema or ledger exits 2, named."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from services.bootstrap import build_container
    from services.ledger.port import LedgerError

    container = build_container(get_settings())
    try:
        container.connect_ledger()
        yield container
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        console.print(
            f"[red]the database cannot be read[/red] ({reason}); "
            "is it reachable and migrated (`pledgewatch db upgrade`)?"
        )
        raise typer.Exit(code=2) from exc
    except LedgerError as exc:
        console.print(f"[red]the ledger could not answer[/red]: {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        container.close()


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Re-check every block's hash, link, signatures and the world state; exit 1 if broken."""
    with _connected() as container:
        assert container.ledger is not None
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
            bar.add_task("verifying the chain")
            report = container.ledger.verify()
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
    from services.ledger.audit import audit_ledger

    with _connected() as container:
        assert container.ledger is not None
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, disable=as_json
        ) as bar:
            bar.add_task("comparing the database with the ledger")
            report = audit_ledger(container.session_factory, container.ledger)
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
