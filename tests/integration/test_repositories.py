"""Every mapped domain object survives SqlUnitOfWork exactly, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from integration_world import START, Parties, context_at
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from loans.model import Accrual, Loan, LoanProduct, LoanStatus, MarginCall, Price, Repayment
from pledge import service as pledge
from pledge.errors import Conflict
from pledge.model import (
    Bay,
    Commodity,
    Lot,
    Movement,
    MovementKind,
    OrderStatus,
    Receipt,
    ReceiptStatus,
    ReleaseOrder,
    Warehouse,
)
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork

EXACT = Decimal("1234567.123456789012")
# 0.1 + 0.2 is 0.30000000000000004 in binary floating point; stored exactly it stays 0.3.
TENTH, FIFTH = Decimal("0.1"), Decimal("0.2")
# An aware datetime outside UTC: it must come back as the same instant, expressed in UTC.
IN_CET = datetime(2026, 3, 2, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))
EPCS = ["3034257BF7194E4000001A85", "3034257BF7194E4000001A86", "urn:epc:id:sgtin:0614141.1.7"]
LIEN = "ab" * 32


@dataclass
class Book:
    """One of each mapped object, linked as the real story links them."""

    warehouse: Warehouse
    bay: Bay
    commodity: Commodity
    lot: Lot
    receipt: Receipt
    product: LoanProduct
    price: Price
    loan: Loan
    order: ReleaseOrder
    movement: Movement
    repayment: Repayment
    accrual: Accrual
    margin_call: MarginCall

    def objects(self) -> list[Any]:
        """Every object, parents before children."""
        return [getattr(self, f.name) for f in fields(self)]


def make_book(parties: Parties, suffix: str = "1") -> Book:
    """Build a linked set of domain objects with awkward decimals, polygons and EPC lists."""
    wh, bank, sme = parties.warehouse.org_id, parties.bank.org_id, parties.sme.org_id
    warehouse = Warehouse(f"wh-{suffix}", wh, f"WH{suffix}", "Northport Main", "Quay 4", START)
    polygons = {
        "cam-1": [[0.0, 0.0], [0.5, 0.0], [0.5, 0.75]],
        "cam-2": [[0.1, 0.1], [1, 0], [1, 1]],
    }
    bay = Bay(f"bay-{suffix}", warehouse.id, "B1", "Bay one", polygons, START)
    commodity = Commodity(f"STEEL{suffix}", "Steel coils", "pcs", Decimal("1"))
    lot = Lot(
        f"lot-{suffix}", warehouse.id, bay.id, commodity.code, Decimal(3), "pcs", list(EPCS), sme,
        IN_CET, Decimal(3),
    )  # fmt: skip
    receipt = Receipt(
        f"rcpt-{suffix}", f"WH{suffix}-0001", lot.id, warehouse.id, wh, sme, commodity.code,
        Decimal(3), "pcs", [LIEN], ReceiptStatus.PENDING, START,
    )  # fmt: skip
    product = LoanProduct(
        f"prod-{suffix}", bank, "Steel line", "USD", Decimal("0.0875"), "ACT/360",
        {commodity.code: "0.25"}, Decimal("0.7"), Decimal("0.8"), Decimal("0.9"), Decimal("0.005"),
        START,
    )  # fmt: skip
    price = Price(f"price-{suffix}", commodity.code, "USD", TENTH + FIFTH, IN_CET, "manual", bank)
    loan = Loan(
        f"loan-{suffix}", bank, sme, product.id, [receipt.id], "USD", EXACT, LoanStatus.ACTIVE,
        START, principal=EXACT, fees=Decimal("12.50"), interest=Decimal("0.0000000001"),
        accrued_through=date(2026, 3, 1), collateral_value=Decimal("9876543.21"),
        ltv=Decimal("0.612345"), reasons=["first", "second"], salt="s" * 32, decided_at=START,
        disbursed_at=IN_CET,
    )  # fmt: skip
    order = ReleaseOrder(
        f"order-{suffix}", loan.id, bank, receipt.id, lot.id, wh, sme, Decimal(1), EPCS[:1],
        [LIEN], OrderStatus.OPEN, START, executed_at=IN_CET,
    )  # fmt: skip
    movement = Movement(
        f"move-{suffix}", lot.id, warehouse.id, bay.id, MovementKind.SHIPPING, Decimal(1),
        EPCS[:1], IN_CET, order.id,
    )  # fmt: skip
    repayment = Repayment(
        f"repay-{suffix}", loan.id, TENTH + FIFTH, TENTH, FIFTH, Decimal(0), date(2026, 3, 2),
        IN_CET,
    )  # fmt: skip
    accrual = Accrual(loan.id, date(2026, 3, 1), Decimal("300.0069444444"), EXACT)
    call = MarginCall(
        f"call-{suffix}", loan.id, None, Decimal("0.01"), EXACT, IN_CET, "open", cleared_at=None
    )
    return Book(
        warehouse, bay, commodity, lot, receipt, product, price, loan, order, movement,
        repayment, accrual, call,
    )  # fmt: skip


def store(session_factory: sessionmaker[Session], *objects: Any) -> None:
    """Add the objects in one unit of work, flushing each in turn, and commit it."""
    with SqlUnitOfWork.start(session_factory) as uow:
        for obj in objects:
            uow.session.add(obj)
            # Mappings without relationships flush in class-name order, not foreign-key order,
            # so parents are written one at a time ahead of their children.
            uow.session.flush()
        uow.commit()


REPOS = {
    Warehouse: "warehouses",
    Bay: "bays",
    Commodity: "commodities",
    Lot: "lots",
    Receipt: "receipts",
    ReleaseOrder: "orders",
    Movement: "movements",
    LoanProduct: "products",
    Price: "prices",
    Loan: "loans",
    Repayment: "repayments",
    Accrual: "accruals",
    MarginCall: "margin_calls",
}


def reload(session_factory: sessionmaker[Session], obj: Any) -> Any:
    """The object with the same primary key, read by a fresh unit of work's repository."""
    with SqlUnitOfWork.start(session_factory) as uow:
        repo = getattr(uow, REPOS[type(obj)])
        if isinstance(obj, Accrual):
            # The accrual's key is (loan, day); find() is how the domain looks it up.
            found = repo.find(loan_id=obj.loan_id, day=obj.day)
            assert len(found) == 1
            return found[0]
        key = obj.code if isinstance(obj, Commodity) else obj.id
        return repo.get(key)


def test_every_mapped_object_comes_back_equal_from_a_fresh_unit_of_work(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())

    for original in book.objects():
        loaded = reload(session_factory, original)
        assert loaded is not original
        assert loaded == original, type(original).__name__


def test_decimals_come_back_exactly_with_no_float_noise(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())

    loan = reload(session_factory, book.loan)
    price = reload(session_factory, book.price)
    repayment = reload(session_factory, book.repayment)
    accrual = reload(session_factory, book.accrual)

    assert isinstance(loan.principal, Decimal)
    assert str(loan.principal) == str(EXACT)
    assert str(loan.interest) == "1E-10"
    assert price.price == Decimal("0.3") and price.price != Decimal(0.1 + 0.2)
    assert repayment.fees + repayment.interest == repayment.amount == Decimal("0.3")
    assert accrual.amount == Decimal("300.0069444444")
    assert reload(session_factory, book.commodity).step == Decimal(1)


def test_many_small_stored_amounts_sum_exactly(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())
    days = [date(2026, 3, 2) + timedelta(days=n) for n in range(30)]
    store(session_factory, *(Accrual(book.loan.id, day, TENTH, EXACT) for day in days))

    with SqlUnitOfWork.start(session_factory) as uow:
        amounts = [a.amount for a in uow.accruals.find(loan_id=book.loan.id) if a.day in days]

    assert len(amounts) == 30
    assert sum(amounts, Decimal(0)) == Decimal(3)
    assert sum(amounts[:3], Decimal(0)) == TENTH + TENTH + TENTH == Decimal("0.3")


def test_datetimes_come_back_timezone_aware_in_utc_as_the_same_instant(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())

    lot = reload(session_factory, book.lot)
    loan = reload(session_factory, book.loan)
    movement = reload(session_factory, book.movement)
    moments = [lot.received_at, loan.created_at, loan.disbursed_at, movement.at]

    assert all(m.tzinfo is UTC for m in moments)
    assert lot.received_at == IN_CET
    assert lot.received_at.hour == IN_CET.hour - 1
    assert lot.received_at.microsecond == IN_CET.microsecond
    assert loan.closed_at is None
    assert loan.accrued_through == date(2026, 3, 1)


def test_a_naive_datetime_is_refused_rather_than_guessed(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    # Naive on purpose: the column must refuse to guess a zone.
    book.warehouse.created_at = datetime(2026, 3, 2, 9, 30)

    with pytest.raises(StatementError, match="naive datetime"):
        store(session_factory, book.warehouse)
    assert reload(session_factory, book.warehouse) is None


def test_enums_come_back_as_enum_members(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())

    assert type(reload(session_factory, book.receipt).status) is ReceiptStatus
    assert reload(session_factory, book.receipt).status is ReceiptStatus.PENDING
    assert reload(session_factory, book.loan).status is LoanStatus.ACTIVE
    assert reload(session_factory, book.order).status is OrderStatus.OPEN
    assert reload(session_factory, book.movement).kind is MovementKind.SHIPPING


def test_json_columns_keep_polygons_epc_lists_and_haircuts(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, *book.objects())

    assert reload(session_factory, book.bay).polygons == book.bay.polygons
    assert reload(session_factory, book.lot).epcs == EPCS
    assert reload(session_factory, book.order).epcs == EPCS[:1]
    assert reload(session_factory, book.product).haircut(book.commodity.code) == Decimal("0.25")
    assert reload(session_factory, book.loan).reasons == ["first", "second"]


def test_find_filters_on_every_given_attribute(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    first, second = make_book(parties, "1"), make_book(parties, "2")
    second.receipt.status = ReceiptStatus.ISSUED
    second.loan.status = LoanStatus.MARGIN_CALL
    store(session_factory, *first.objects(), *second.objects())

    with SqlUnitOfWork.start(session_factory) as uow:
        pending = uow.receipts.find(status=ReceiptStatus.PENDING)
        in_bay = uow.lots.find(bay_id=second.bay.id)
        bank_active = uow.loans.find(bank_org_id=parties.bank.org_id, status=LoanStatus.ACTIVE)
        bank_loans = uow.loans.find(bank_org_id=parties.bank.org_id)
        other_bank = uow.loans.find(bank_org_id=parties.other_bank.org_id)
        priced = uow.prices.find(commodity_code=first.commodity.code, currency="USD")
        none_in_eur = uow.prices.find(commodity_code=first.commodity.code, currency="EUR")

    assert [r.id for r in pending] == [first.receipt.id]
    assert [lot.id for lot in in_bay] == [second.lot.id]
    assert [loan.id for loan in bank_active] == [first.loan.id]
    assert {loan.id for loan in bank_loans} == {first.loan.id, second.loan.id}
    assert other_bank == []
    assert [p.id for p in priced] == [first.price.id]
    assert none_in_eur == []


def test_find_returns_objects_in_primary_key_order_as_documented(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    store(session_factory, book.warehouse, book.bay, book.commodity)
    # Inserted in descending key order, one commit each, so storage order is the reverse.
    for lot_id in ("lot-c", "lot-b", "lot-a"):
        lot = Lot(
            lot_id, book.warehouse.id, book.bay.id, book.commodity.code, Decimal(1), "pcs", [],
            parties.sme.org_id, START,
        )  # fmt: skip
        store(session_factory, lot)

    with SqlUnitOfWork.start(session_factory) as uow:
        ids = [lot.id for lot in uow.lots.find(warehouse_id=book.warehouse.id)]

    assert ids == ["lot-a", "lot-b", "lot-c"]


def count(session_factory: sessionmaker[Session], model: Any) -> int:
    """Rows of a mapped class or declarative table."""
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_unit_of_work_left_without_commit_writes_nothing_even_after_a_flush(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    with SqlUnitOfWork.start(session_factory) as uow:
        uow.warehouses.add(book.warehouse)
        uow.ledger.enqueue(
            org_id=parties.warehouse.org_id,
            kind="anchor",
            subject_type="warehouse",
            subject_id=book.warehouse.id,
            fn="anchor",
            args={"hash": LIEN},
            submitter_msp=parties.warehouse.msp_id,
        )
        # find() autoflushes: the rows reach the database inside the open transaction.
        assert [w.id for w in uow.warehouses.find(code=book.warehouse.code)] == [book.warehouse.id]

    assert count(session_factory, Warehouse) == 0
    assert count(session_factory, LedgerCommand) == 0


def test_an_exception_inside_a_unit_of_work_rolls_everything_back(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    with pytest.raises(RuntimeError), SqlUnitOfWork.start(session_factory) as uow:
        for obj in book.objects():
            uow.session.add(obj)
            uow.session.flush()
        raise RuntimeError("the use case failed after writing")

    for model in (Warehouse, Lot, Receipt, Loan, Accrual, MarginCall):
        assert count(session_factory, model) == 0, model.__name__


def test_a_use_case_commits_its_state_and_its_ledger_command_together(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    ctx = context_at(START)
    wh = parties.warehouse
    with SqlUnitOfWork.start(session_factory) as uow:
        warehouse = pledge.create_warehouse(uow, wh, ctx, "NP1", "Northport", "Quay 4")
    with SqlUnitOfWork.start(session_factory) as uow:
        bay = pledge.add_bay(
            uow, wh, ctx, warehouse.id, "B1", "Bay 1", {"cam": [[0, 0], [1, 0], [1, 1]]}
        )
    with SqlUnitOfWork.start(session_factory) as uow:
        pledge.define_commodity(uow, wh, "COPPER", "Copper cathode", "t", "0.001")
    with SqlUnitOfWork.start(session_factory) as uow:
        receipt = pledge.receive_lot(
            uow, wh, ctx, bay.id, "COPPER", "25.125", [], parties.sme.org_id
        )
        command_ids = list(uow.ledger.enqueued)

    with SqlUnitOfWork.start(session_factory) as uow:
        stored = uow.receipts.get(receipt.id)
        assert stored is not None and stored.status is ReceiptStatus.PENDING
        assert stored.quantity == Decimal("25.125")
        lot = uow.lots.get(stored.lot_id)
        assert lot is not None and lot.received_at == START
        assert [m.kind for m in uow.movements.find(lot_id=lot.id)] == [MovementKind.RECEIVING]
        commands = [uow.session.get(LedgerCommand, ident) for ident in command_ids]
        [command] = [c for c in commands if c is not None and c.fn == "issue_receipt"]
        assert (command.fn, command.subject_id, command.status) == (
            "issue_receipt",
            receipt.id,
            "pending",
        )


def test_a_unit_of_work_can_add_a_warehouse_and_its_bay_together(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    book = make_book(parties)
    with SqlUnitOfWork.start(session_factory) as uow:
        uow.warehouses.add(book.warehouse)
        uow.bays.add(book.bay)
        uow.commit()

    assert reload(session_factory, book.bay) == book.bay


def test_a_refused_use_case_leaves_no_trace(
    session_factory: sessionmaker[Session], parties: Parties
) -> None:
    wh = parties.warehouse
    with SqlUnitOfWork.start(session_factory) as uow:
        pledge.define_commodity(uow, wh, "COPPER", "Copper cathode", "t", "0.001")

    with pytest.raises(Conflict), SqlUnitOfWork.start(session_factory) as uow:
        pledge.define_commodity(uow, wh, "COPPER", "Copper again", "kg", "1")

    with SqlUnitOfWork.start(session_factory) as uow:
        assert [c.name for c in uow.commodities.find()] == ["Copper cathode"]
