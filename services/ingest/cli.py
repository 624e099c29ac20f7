"""`pledgewatch readers ...` and `pledgewatch ingest`: broker accounts and the ingest worker."""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from services.bootstrap import Container

readers_app = typer.Typer(help="Tag readers: MQTT accounts and registration.", no_args_is_help=True)
console = Console(stderr=True)

SpecOption = Annotated[
    Path,
    typer.Option(
        "--spec",
        help="CSV of warehouse_code,reader_id,password, one reader a line.",
        exists=True,
        dir_okay=False,
    ),
]


@readers_app.command("acl")
def readers_acl(
    spec: SpecOption,
    out: Annotated[Path, typer.Option(help="Folder for the `passwords` and `acl` files.")],
    worker_password: Annotated[
        str,
        typer.Option(envvar="PLEDGEWATCH_INGEST_PASSWORD", help="Password of the worker account."),
    ],
    worker_user: Annotated[str, typer.Option(help="Username of the worker.")] = "ingest",
) -> None:
    """Generate Mosquitto's password_file and acl_file from the reader spec."""
    from services.ingest.acl import read_spec, write_broker_files

    accounts = read_spec(spec)
    passwords, acl = write_broker_files(accounts, worker_user, worker_password, out)
    console.print(f"{len(accounts)} readers + worker {worker_user!r}: {passwords}, {acl}")


@readers_app.command("register")
def readers_register(
    spec: SpecOption,
    db_url: Annotated[str | None, typer.Option(help="Database URL; default: settings.")] = None,
) -> None:
    """Register the spec's readers in the database, so the worker accepts their messages."""
    from sqlalchemy.orm import Session

    from services.db import make_engine
    from services.ingest.acl import read_spec
    from services.ingest.readers import register_reader
    from services.settings import get_settings

    accounts = read_spec(spec)
    engine = make_engine(db_url or get_settings().db.url)
    try:
        with Session(engine) as session:
            for account in accounts:
                register_reader(session, account.warehouse_code, account.reader_id)
            session.commit()
    finally:
        engine.dispose()
    console.print(f"{len(accounts)} readers registered")


def ingest_command(
    mqtt_url: Annotated[
        str,
        typer.Option(
            envvar="PLEDGEWATCH_INGEST_MQTT_URL",
            help="mqtt://user:password@host:port of the broker (the worker account).",
        ),
    ] = "mqtt://127.0.0.1:1883",
    db_url: Annotated[str | None, typer.Option(help="Database URL; default: settings.")] = None,
    client_id: Annotated[
        str, typer.Option(help="Fixed MQTT client id: the persistent session's name.")
    ] = "pledgewatch-ingest",
    heartbeat_timeout: Annotated[
        float, typer.Option(help="Seconds of silence after which a reader is offline.")
    ] = 90.0,
    batch_messages: Annotated[int, typer.Option(help="Messages per database batch.")] = 100,
    session_expiry: Annotated[
        int, typer.Option(help="Seconds the broker keeps the session while the worker is away.")
    ] = 24 * 3600,
) -> None:
    """Run the MQTT ingest worker until SIGTERM or Ctrl-C."""
    from services.bootstrap import build_container
    from services.ingest.mqtturl import parse_mqtt_url
    from services.ingest.worker import IngestWorker, WorkerConfig
    from services.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = WorkerConfig(
        broker=parse_mqtt_url(mqtt_url),
        client_id=client_id,
        heartbeat_timeout=timedelta(seconds=heartbeat_timeout),
        max_batch_messages=batch_messages,
        session_expiry_s=session_expiry,
    )
    settings = get_settings()
    if db_url:
        settings = settings.model_copy(
            update={"db": settings.db.model_copy(update={"url": db_url})}
        )
    container = build_container(settings)
    worker = IngestWorker(config, container.engine)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    try:
        stats = worker.run(**worker_reactions(container, timedelta(seconds=heartbeat_timeout)))
    finally:
        container.close()
    console.print(
        f"ingest worker stopped: {stats.messages} messages, {stats.reads_new} new reads, "
        f"{stats.dead_letters} dead letters"
    )


def worker_reactions(container: Container, heartbeat_timeout: timedelta) -> dict[str, Any]:
    """The worker's callbacks: movement checks after each batch, revaluation on reader outages."""
    from services.ingest.monitoring import RevalueOnReaderChange
    from services.ingest.movement import BatchMovementCheck

    return {
        # Movement is checked right after each batch commits, for the tags that batch brought,
        # so an unauthorised departure is alerted within seconds of the gate read.
        "on_batch": BatchMovementCheck(
            container.session_factory, heartbeat_timeout=heartbeat_timeout
        ),
        # A reader's last will or silence unmonitors its bays now, not at the next scheduled run.
        "on_status": RevalueOnReaderChange(container),
    }


def main() -> None:
    """Run only the worker command (``python -m services.ingest``)."""
    typer.run(ingest_command)
