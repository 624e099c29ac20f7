"""The `pledgewatch` command line."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from chaincode.devnet.cli import fabric_app
from services.cameras.cli import evidence_app, vision_app
from services.cli_admin import apikey_app, org_app, user_app
from services.ingest.cli import readers_app
from services.ledger.cli import ledger_app
from services.processes import (
    api_command,
    ingest_process_command,
    outbox_command,
    run_production,
    scheduler_command,
)
from services.settings import Mode, Settings, get_settings

if TYPE_CHECKING:
    from services.bootstrap import Container
    from services.ingest.broker import EmbeddedBroker
    from services.ingest.worker import IngestWorker

app = typer.Typer(
    help="pledgewatch: loans against warehouse goods that cannot be pledged twice.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(fabric_app, name="fabric")
app.add_typer(readers_app, name="readers")
app.command("ingest")(ingest_process_command())
app.command("api")(api_command)
app.command("scheduler")(scheduler_command)
app.command("outbox")(outbox_command)
app.add_typer(vision_app, name="vision")
app.add_typer(evidence_app, name="evidence")
console = Console()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database schema to the latest (or given) revision."""
    from services.migrate import upgrade

    url = get_settings().db.url
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
        bar.add_task(f"migrating {_safe(url)} to {revision}")
        upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green]")


@app.command("run")
def run(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    seed: Annotated[bool, typer.Option(help="Create the demo organisations in dev mode.")] = True,
    profile: Annotated[
        str,
        typer.Option(help="dev: one process; production: api, ingest, scheduler, outbox apart."),
    ] = "dev",
) -> None:
    """Start the API, the placeholder dashboard and the jobs on the configured back-ends."""
    if profile == "production":
        raise typer.Exit(code=run_production())
    if profile != "dev":
        raise typer.BadParameter("expected dev or production", param_hint="--profile")
    import uvicorn

    from services.api.app import create_app
    from services.bootstrap import build_container
    from services.cameras.runner import VisionRunner
    from services.migrate import upgrade
    from services.scheduler import start_scheduler
    from services.seed import DEMO_ORGS, DEMO_PASSWORD, seed_demo

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The pump runs every two seconds; its scheduler chatter would drown everything else.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # The embedded broker logs every state change of every client session at INFO.
    for chatty in ("amqtt", "transitions"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = get_settings()
    upgrade(settings.db.url)
    container = build_container(settings)
    if seed and settings.mode is Mode.DEV:
        seed_demo(container.session_factory)
    container.connect_ledger()
    scheduler = start_scheduler(container) if settings.jobs_enabled else None
    ingest = _start_dev_ingest(settings, container)
    # The registered cameras, watched in process and reporting straight into the service.
    vision = VisionRunner(container).start()
    bind_host = host or settings.api.host
    bind_port = port or settings.api.port
    url = f"http://{bind_host}:{bind_port}"
    console.print(f"[bold]pledgewatch[/bold] on {url}  (API docs {url}/docs)")
    console.print(f"ledger: {settings.ledger.kind.value}, database: {_safe(settings.db.url)}")
    if ingest.broker is not None:
        console.print(f"MQTT broker (embedded, anonymous, loopback only) on {ingest.mqtt_url}")
    if settings.mode is Mode.DEV:
        console.print("demo logins (password [bold]" + DEMO_PASSWORD + "[/bold]):")
        for demo in DEMO_ORGS:
            console.print(f"  {demo.username:<20} {demo.kind.value:<10} {demo.name}")
        console.print(f"play the story in another terminal: pledgewatch demo --url {url}")
    try:
        uvicorn.run(create_app(container), host=bind_host, port=bind_port, log_level="info")
    finally:
        vision.stop()
        ingest.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        container.close()


@dataclass
class _DevIngest:
    """The embedded broker and the ingest worker thread `run` started, if any."""

    broker: EmbeddedBroker | None = None
    worker: IngestWorker | None = None
    thread: threading.Thread | None = None
    mqtt_url: str = ""

    def stop(self) -> None:
        """Stop the worker first, so it leaves the broker before the broker goes away."""
        if self.worker is not None and self.thread is not None:
            self.worker.stop()
            self.thread.join(10)
        if self.broker is not None:
            self.broker.stop()


def _start_dev_ingest(settings: Settings, container: Container) -> _DevIngest:
    # Only dev gets the in-process broker: production readers need Mosquitto's accounts and ACLs.
    if settings.mode is not Mode.DEV or not settings.mqtt.embedded_broker:
        return _DevIngest()
    from services.ingest.broker import EmbeddedBroker
    from services.ingest.cli import worker_reactions
    from services.ingest.mqtturl import parse_mqtt_url
    from services.ingest.worker import IngestWorker, MqttProtocol, WorkerConfig

    address = parse_mqtt_url(settings.mqtt.url)
    broker = EmbeddedBroker(address.port)
    broker.start()
    ingest = _DevIngest(broker=broker, mqtt_url=broker.address.url())
    if settings.mqtt.ingest_enabled:
        # amqtt speaks 3.1.1 only, whatever the protocol setting says.
        config = WorkerConfig(broker=broker.worker_address, protocol=MqttProtocol.V311)
        ingest.worker = IngestWorker(config, container.engine)
        reactions = worker_reactions(container, config.heartbeat_timeout)
        ingest.thread = threading.Thread(
            target=ingest.worker.run, kwargs=reactions, name="ingest", daemon=True
        )
        ingest.thread.start()
    return ingest


@app.command("demo")
def demo(
    url: Annotated[str | None, typer.Option(help="A running server; default: in-process.")] = None,
) -> None:
    """Play the whole story through the HTTP API, printing each step and a summary."""
    from services.demo import run_demo

    ok = run_demo(url, console)
    raise typer.Exit(code=0 if ok else 1)


def _safe(url: str) -> str:
    # Never print a database password.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    """Entry point of the `pledgewatch` script."""
    app()


if __name__ == "__main__":
    main()
