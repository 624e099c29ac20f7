"""`pledgewatch fabric ...`: build the binaries and run the local Fabric network."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated

import typer
from rich.console import Console

from chaincode.devnet import network
from chaincode.devnet.binaries import BinariesUnavailableError, ensure_binaries
from chaincode.devnet.layout import BASE_PORT_ENV, DEFAULT_BASE_PORT, Layout
from chaincode.devnet.procs import DevnetError, log_tail

fabric_app = typer.Typer(help="The local Hyperledger Fabric network (native, no Docker).")
console = Console()

BasePort = Annotated[
    int | None,
    typer.Option(help=f"First port of the network's port plan (env {BASE_PORT_ENV}).", min=1024),
]


def _base_port(option: int | None) -> int:
    if option is not None:
        return option
    return int(os.environ.get(BASE_PORT_ENV, "") or DEFAULT_BASE_PORT)


def _progress(line: str) -> None:
    console.print(f"[dim]{line}[/dim]")


@fabric_app.command("build")
def build() -> None:
    """Build the Fabric binaries into the cache (skipped when all five exist)."""
    layout = Layout.default()
    started = time.monotonic()
    try:
        built = ensure_binaries(layout, _progress)
    except BinariesUnavailableError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc
    verb = "built" if built else "already present"
    console.print(f"binaries {verb} in {layout.bin_dir} ({time.monotonic() - started:.1f}s)")


@fabric_app.command("up")
def up(base_port: BasePort = None) -> None:
    """Start a fresh network with the channel joined and the chaincode committed."""
    layout = Layout.default()
    try:
        info, timings = network.up(layout, _base_port(base_port), _progress)
    except (BinariesUnavailableError, DevnetError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc
    steps = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in timings.steps.items())
    console.print(f"[green]network up[/green] in {timings.total:.2f}s ({steps})")
    console.print(
        f"channel {info['channel']}, chaincode {info['chaincode']} ({info['package_id']})"
    )
    for msp_id, org in info["organizations"].items():
        console.print(
            f"  {msp_id:<13} peer {org['peer']['address']}  user {org['user']['msp_path']}"
        )
    console.print(f"connection info: {layout.connection_file}")


@fabric_app.command("down")
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the network folder.")] = False,
) -> None:
    """Stop every process of the network."""
    stopped = network.down(Layout.default(), purge=purge)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@fabric_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show each process: PID and health; exit 1 unless everything runs and is healthy."""
    layout = Layout.default()
    report = network.status(layout)
    if as_json:
        console.print_json(json.dumps(report))
    else:
        for name, entry in report.items():
            state = "[green]up[/green]" if entry.get("healthy") else "[red]down[/red]"
            console.print(f"  {name:<16} {state}  pid {entry['pid'] or '-'}")
        if layout.connection_file.is_file():
            console.print(f"connection info: {layout.connection_file}")
    if not all(entry.get("healthy") for entry in report.values()):
        raise typer.Exit(code=1)


@fabric_app.command("logs")
def logs(
    name: Annotated[
        str | None, typer.Argument(help="orderer, peer-warehouse, chaincode, ...")
    ] = None,
    lines: Annotated[int, typer.Option(help="Lines from the end of each log.")] = 40,
) -> None:
    """Print the end of one process's log, or of all of them."""
    layout = Layout.default()
    names = [name] if name else network.process_names()
    for each in names:
        console.rule(each)
        console.print(log_tail(layout.logs / f"{each}.log", lines), markup=False, highlight=False)
