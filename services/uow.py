"""SQL unit of work: repositories over one session, the outbox, and one commit per use case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from loans.model import Accrual, Loan, LoanProduct, MarginCall, Price, Repayment
from loans.tables import map_loans
from pledge.epcis_tables import SqlEventStore, SqlFreezes
from pledge.errors import Conflict, NotFound
from pledge.model import Bay, Commodity, Lot, Movement, Receipt, ReleaseOrder, Warehouse
from pledge.parties import OrgKind
from pledge.tables import map_pledge
from services.identity.tables import Org
from services.ingest.monitoring import SqlMonitoringStatus
from services.ledger import outbox
from services.notify.store import SqlAlertStore

T = TypeVar("T")

map_pledge()
map_loans()


class SqlRepository(Generic[T]):
    """Objects of one mapped class in the unit of work's session."""

    def __init__(self, session: Session, cls: type[T]) -> None:
        self._session = session
        self._cls = cls

    def get(self, ident: str) -> T | None:
        """The object with this primary key, or None."""
        return self._session.get(self._cls, ident)

    def add(self, obj: T) -> None:
        """Track a new object and write it at once, so parents always precede their children."""
        # The imperative mappings have no relationships, so a later flush would order INSERTs
        # by class rather than by foreign key.
        self._session.add(obj)
        self._session.flush()

    def find(self, **equals: Any) -> list[T]:
        """Objects whose attributes equal the given values, in primary-key order."""
        keys = inspect(self._cls).primary_key
        stmt = select(self._cls).filter_by(**equals).order_by(*keys)
        return list(self._session.scalars(stmt))


class SqlLedgerCommands:
    """Queues ledger commands in the same session, so state and outbox commit together."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.enqueued: list[str] = []

    def enqueue(
        self,
        *,
        org_id: str,
        kind: str,
        subject_type: str,
        subject_id: str,
        fn: str,
        args: Mapping[str, Any],
        submitter_msp: str,
        endorsers: Sequence[str] = (),
    ) -> str:
        """Queue a ledger transaction; returns the command id to follow."""
        command = outbox.enqueue(
            self._session,
            org_id=org_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            fn=fn,
            args=args,
            submitter_msp=submitter_msp,
            endorsers=endorsers,
        )
        self.enqueued.append(command.id)
        return command.id


class SqlOrgDirectory:
    """Organisation kinds and MSP ids from the identity tables."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def kind_of(self, org_id: str) -> OrgKind | None:
        """The organisation's kind, or None when unknown."""
        org = self._session.get(Org, org_id)
        return None if org is None else OrgKind(org.kind)

    def msp_of(self, org_id: str) -> str:
        """The organisation's MSP id."""
        org = self._session.get(Org, org_id)
        if org is None:
            raise NotFound("org_not_found", f"no organisation {org_id}")
        return org.msp_id


class SqlUnitOfWork:
    """One session for one use case; changes land only on commit."""

    def __init__(self, session: Session) -> None:
        self.session = s = session
        self.warehouses = SqlRepository(s, Warehouse)
        self.bays = SqlRepository(s, Bay)
        self.commodities = SqlRepository(s, Commodity)
        self.lots = SqlRepository(s, Lot)
        self.receipts = SqlRepository(s, Receipt)
        self.orders = SqlRepository(s, ReleaseOrder)
        self.movements = SqlRepository(s, Movement)
        self.products = SqlRepository(s, LoanProduct)
        self.prices = SqlRepository(s, Price)
        self.loans = SqlRepository(s, Loan)
        self.repayments = SqlRepository(s, Repayment)
        self.accruals = SqlRepository(s, Accrual)
        self.margin_calls = SqlRepository(s, MarginCall)
        self.epcis_events = SqlEventStore(s)
        self.bay_freezes = SqlFreezes(s)
        self.alerts = SqlAlertStore(s)
        self.ledger = SqlLedgerCommands(s)
        self.orgs = SqlOrgDirectory(s)
        self.monitoring = SqlMonitoringStatus(s)
        self.committed = False

    @classmethod
    def start(cls, session_factory: sessionmaker[Session]) -> SqlUnitOfWork:
        """A unit of work on a fresh session."""
        return cls(session_factory())

    def commit(self) -> None:
        """Write every change in one transaction; a concurrent change to the same row is a 409."""
        try:
            self.session.commit()
        except StaleDataError as exc:
            self.session.rollback()
            raise Conflict(
                "concurrent_update",
                "the same object changed while this request ran; nothing was saved, try again",
            ) from exc
        self.committed = True

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Anything not committed by the use case is thrown away: a refused request changes nothing.
        # close() alone also discards it, but keeps loaded objects readable for the response.
        if exc is not None:
            self.session.rollback()
        self.session.close()
