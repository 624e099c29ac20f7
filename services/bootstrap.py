"""Composition root: builds the engine, the ledger adapter, the outbox and the use-case context."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from chaincode.contract import REQUIRED_ENDORSERS, PledgeContract
from pledge.ports import Context
from pledge.reconcile import Tolerance, ToleranceBands
from pledge.reconcile_service import Sensors
from services.db import make_engine, make_session_factory
from services.identity.tables import Org
from services.ledger.confirmations import build_handlers
from services.ledger.embedded import EmbeddedLedger
from services.ledger.outbox import EventListener, HandlerRegistry, OutboxWorker
from services.ledger.port import LedgerPort
from services.ledger.signing import Keyring
from services.settings import LedgerKind, Settings

# Where a deployment (or a test) puts the reconciliation inputs, in Container.extras.
SENSORS_KEY = "reconcile_sensors"
TOLERANCES_KEY = "reconcile_tolerances"


@dataclass
class Container:
    """Everything the entrypoints share; nothing connects until it is built."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    handlers: HandlerRegistry
    ledger: LedgerPort | None = None
    worker: OutboxWorker | None = None
    listener: EventListener | None = None
    _pump_lock: threading.Lock = field(default_factory=threading.Lock)
    extras: dict[str, Any] = field(default_factory=dict)

    def context(self) -> Context:
        """The time and keys a use case runs with."""
        return Context(
            now=datetime.now(UTC),
            lien_secret=self.settings.ledger.lien_key_secret.encode(),
            commit_secret=self.settings.ledger.commitment_salt.encode(),
        )

    def reconcile_sensors(self) -> Sensors:
        """Tag counts from the stored tag reads; camera counts from the bays' latest counts."""
        configured: Sensors | None = self.extras.get(SENSORS_KEY)
        if configured is not None:
            return configured
        # Imported here: the tag-read tables belong to the ingest edge, not to start-up.
        from services.cameras.counts import SqlCameraCounts
        from services.ingest.sensors import TagReadPresence

        return Sensors(
            tags=TagReadPresence(self.session_factory),
            camera=SqlCameraCounts(self.session_factory),
        )

    def reconcile_tolerances(self) -> Mapping[str, Tolerance] | ToleranceBands:
        """Tolerance bands per commodity code: a test's extras, else settings (default exact)."""
        configured: Mapping[str, Tolerance] | None = self.extras.get(TOLERANCES_KEY)
        if configured is not None:
            return configured
        bands = self.settings.reconcile
        return ToleranceBands(
            {
                code: Tolerance(band.absolute, band.relative)
                for code, band in bands.tolerances.items()
            },
            Tolerance(bands.default_tolerance.absolute, bands.default_tolerance.relative),
        )

    def connect_ledger(self) -> None:
        """(Re)build the ledger adapter; call again after organisations change."""
        if self.settings.ledger.kind is LedgerKind.FABRIC:
            self._use(self._fabric_ledger())
            return
        with self.session_factory() as session:
            orgs = {o.msp_id: o.kind for o in session.scalars(select(Org))}
        ledger = EmbeddedLedger(
            self.session_factory,
            PledgeContract(),
            orgs,
            Keyring(self.settings.ledger.key_dir),
            required_endorsers=REQUIRED_ENDORSERS,
        )
        ledger.register_orgs()
        self._use(ledger)

    def _fabric_ledger(self) -> LedgerPort:
        # Imported here so the embedded default never loads gRPC and the Fabric protos.
        from services.ledger.fabric import FabricLedger

        ledger = self.settings.ledger
        return FabricLedger.from_connection_file(
            ledger.fabric_connection, list(ledger.fabric_msp_ids) or None
        )

    def _use(self, ledger: LedgerPort) -> None:
        previous = self.ledger
        self.ledger = ledger
        self.worker = OutboxWorker(self.session_factory, ledger, self.handlers)
        self.listener = EventListener(self.session_factory, ledger, self.handlers)
        close = getattr(previous, "close", None)
        if previous is not ledger and callable(close):
            close()

    def pump(self) -> tuple[int, int]:
        """Submit queued commands and apply ledger events; on the embedded ledger, immediate."""
        if self.worker is None or self.listener is None:
            self.connect_ledger()
        assert self.worker is not None and self.listener is not None
        # One pump at a time: the outbox and the checkpoint are shared by every request.
        with self._pump_lock:
            sent = self.worker.drain()
            seen = self.listener.poll()
        return sent, seen

    def close(self) -> None:
        """Release the ledger's channels and the database connections."""
        close = getattr(self.ledger, "close", None)
        if callable(close):
            close()
        self.engine.dispose()


def build_container(settings: Settings) -> Container:
    """Wire the service from settings."""
    db = settings.db
    engine = make_engine(
        db.url,
        db.echo,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_timeout_s=db.pool_timeout_s,
        pool_recycle_s=db.pool_recycle_s,
    )
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        handlers=build_handlers(),
    )
