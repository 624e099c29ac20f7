"""The bank's price feed: manual entries and CSV imports, with history."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from loans.model import (
    Price,
)
from loans.money import Money
from loans.ports import LoansUnitOfWork
from loans.valuing import revalue_bank_loans
from pledge.clock import ahead_of_clock
from pledge.errors import Invalid, NotFound
from pledge.parties import Actor, OrgKind
from pledge.ports import Context
from pledge.service import get_commodity, new_id
from pledge.storable import time_problem


def record_price(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    commodity_code: str,
    currency: str,
    price: str,
    as_of: datetime | None = None,
    source: str = "manual",
) -> Price:
    """Add a price to the bank's feed, then revalue its loans against it."""
    entry = new_price(uow, actor, ctx, commodity_code, currency, price, as_of, source)
    uow.prices.add(entry)
    revalue_bank_loans(uow, ctx, actor.org_id)
    uow.commit()
    return entry


def new_price(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    commodity_code: str,
    currency: str,
    price: str,
    as_of: datetime | None,
    source: str,
) -> Price:
    """A validated price entry for the bank's feed (not yet added)."""
    actor.require(OrgKind.BANK)
    get_commodity(uow, commodity_code)
    unit_price = Money.of(price, currency)
    if not unit_price.is_positive():
        raise Invalid("invalid_price", f"a price must be positive, got {price}")
    when = as_of or ctx.now
    if when.tzinfo is None:
        raise Invalid("invalid_timestamp", "as_of needs a time zone, e.g. 2026-11-23T09:00:00Z")
    problem = time_problem(when)
    if problem:
        raise Invalid("invalid_timestamp", f"as_of {problem}")
    if ahead_of_clock(when, ctx.now):
        raise Invalid("invalid_timestamp", "as_of lies in the future")
    return Price(new_id(), commodity_code, currency, unit_price.amount, when, source, actor.org_id)


def import_prices_csv(uow: LoansUnitOfWork, actor: Actor, ctx: Context, text: str) -> list[Price]:
    """Import a CSV (commodity,currency,price,as_of); all rows or none, errors name the line."""
    actor.require(OrgKind.BANK)
    reader = csv.DictReader(io.StringIO(text))
    needed = ("commodity", "currency", "price", "as_of")
    if reader.fieldnames is None or not set(needed) <= set(reader.fieldnames):
        raise Invalid("invalid_csv", f"the header must name the columns {', '.join(needed)}")
    entries: list[Price] = []
    for line_no, row in enumerate(reader, start=2):
        missing = [column for column in needed if not (row.get(column) or "").strip()]
        if missing:
            raise Invalid("invalid_csv", f"line {line_no}: no value for {', '.join(missing)}")
        try:
            as_of = datetime.fromisoformat(row["as_of"].strip().replace("Z", "+00:00"))
            entries.append(
                new_price(
                    uow,
                    actor,
                    ctx,
                    row["commodity"].strip(),
                    row["currency"].strip(),
                    row["price"].strip(),
                    as_of,
                    "csv",
                )
            )
        except ValueError as exc:
            raise Invalid(
                "invalid_csv", f"line {line_no}: as_of {row['as_of']!r} is not an ISO 8601 time"
            ) from exc
        except (Invalid, NotFound) as exc:
            raise Invalid("invalid_csv", f"line {line_no}: {exc.detail}") from exc
    if not entries:
        raise Invalid("invalid_csv", "the file holds no price rows")
    for entry in entries:
        uow.prices.add(entry)
    revalue_bank_loans(uow, ctx, actor.org_id)
    uow.commit()
    return entries
