"""Rules of the collateral domain that need no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pledge.errors import Conflict, Forbidden, Invalid
from pledge.lienkeys import commitment, lien_keys
from pledge.model import (
    Lot,
    OrderStatus,
    ReleaseOrder,
    check_release_matches,
    parse_quantity,
    plan_release,
    validate_code,
    validate_epcs,
    validate_polygon,
    validate_unit,
)
from pledge.parties import Actor, OrgKind, Role

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EPCS = [f"{i:024X}" for i in range(1, 6)]


def lot(quantity: str = "5", unit: str = "pcs", epcs: list[str] | None = None) -> Lot:
    return Lot(
        "lot1",
        "wh1",
        "bay1",
        "COIL",
        Decimal(quantity),
        unit,
        list(EPCS if epcs is None else epcs),
        "acme",
        NOW,
        Decimal(quantity),
    )


def order(quantity: str, epcs: list[str], status: OrderStatus = OrderStatus.OPEN) -> ReleaseOrder:
    return ReleaseOrder(
        "o1",
        "loan1",
        "bank1",
        "r1",
        "lot1",
        "northport",
        "acme",
        Decimal(quantity),
        epcs,
        [],
        status,
        NOW,
    )


@pytest.mark.parametrize("value", ["-1", "0", "abc", "NaN", "Infinity", "1.5"])
def test_quantities_must_be_positive_whole_steps(value: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_quantity(value, Decimal(1))
    assert err.value.code == "invalid_quantity"


def test_quantities_given_as_floats_are_refused() -> None:
    with pytest.raises(Invalid):
        parse_quantity(1.5, Decimal("0.5"))  # type: ignore[arg-type]


def test_a_quantity_on_the_step_grid_parses_exactly() -> None:
    assert parse_quantity("12.345", Decimal("0.001")) == Decimal("12.345")


def test_codes_units_and_polygons_are_checked() -> None:
    assert validate_code("NP-01", "code") == "NP-01"
    with pytest.raises(Invalid):
        validate_code("has space", "code")
    assert validate_unit("t") == "t"
    with pytest.raises(Invalid) as err:
        validate_unit("furlong")
    assert err.value.code == "unknown_unit"
    with pytest.raises(Invalid):
        validate_polygon([[0.1, 0.1], [0.2, 0.2]])
    with pytest.raises(Invalid):
        validate_polygon([[0.1, 0.1], [0.2, 0.2], [1.5, 0.3]])


def test_epcs_must_be_well_formed_unique_and_one_per_piece() -> None:
    assert validate_epcs(EPCS, Decimal(5), "pcs") == EPCS
    assert validate_epcs(["urn:epc:id:sgtin:0614141.107346.2018"], Decimal(1), "pcs")
    with pytest.raises(Invalid) as bad:
        validate_epcs(["not-an-epc"], Decimal(1), "pcs")
    assert bad.value.code == "invalid_epc"
    with pytest.raises(Invalid) as dup:
        validate_epcs([EPCS[0], EPCS[0]], Decimal(2), "pcs")
    assert dup.value.code == "duplicate_epc"
    with pytest.raises(Invalid) as count:
        validate_epcs(EPCS[:3], Decimal(5), "pcs")
    assert count.value.code == "epc_count_mismatch"
    # Bulk goods may carry tags on bundles: any count goes.
    assert validate_epcs(EPCS[:2], Decimal("20.5"), "t") == EPCS[:2]


def test_a_release_of_pieces_takes_named_or_first_tags() -> None:
    assert plan_release(lot(), Decimal(2), []) == EPCS[:2]
    assert plan_release(lot(), Decimal(2), [EPCS[4], EPCS[3]]) == [EPCS[4], EPCS[3]]
    with pytest.raises(Invalid):
        plan_release(lot(), Decimal(2), [EPCS[0]])
    with pytest.raises(Invalid) as unknown:
        plan_release(lot(), Decimal(1), ["F" * 24])
    assert unknown.value.code == "unknown_epc"


def test_a_release_cannot_exceed_the_lot() -> None:
    with pytest.raises(Conflict) as err:
        plan_release(lot(), Decimal(6), [])
    assert err.value.code == "insufficient_stock"


def test_a_whole_bulk_lot_takes_all_its_tags_and_a_part_takes_only_named_ones() -> None:
    bulk = lot("20", "t", EPCS[:2])
    assert plan_release(bulk, Decimal(20), []) == EPCS[:2]
    assert plan_release(bulk, Decimal(5), []) == []


def test_a_movement_must_match_its_open_order() -> None:
    check_release_matches(order("2", EPCS[:2]), Decimal(2), [])
    with pytest.raises(Conflict) as qty:
        check_release_matches(order("2", EPCS[:2]), Decimal(3), [])
    assert qty.value.code == "release_mismatch"
    with pytest.raises(Conflict) as tags:
        check_release_matches(order("2", EPCS[:2]), Decimal(2), EPCS[2:4])
    assert tags.value.code == "release_mismatch"
    with pytest.raises(Conflict) as done:
        check_release_matches(order("2", EPCS[:2], OrderStatus.EXECUTED), Decimal(2), [])
    assert done.value.code == "order_not_open"


def test_lien_keys_are_per_tag_and_ignore_the_warehouse_for_tagged_goods() -> None:
    secret = b"network-secret"
    here = lien_keys(secret, "wh1", "lot1", EPCS)
    elsewhere = lien_keys(secret, "wh2", "lot9", [e.lower() for e in EPCS])
    assert here == elsewhere  # the same coils booked again anywhere collide
    assert len(set(here)) == len(EPCS)
    assert all(len(k) == 64 and k == k.lower() for k in here)
    assert lien_keys(b"other-secret", "wh1", "lot1", EPCS) != here


def test_untagged_goods_are_keyed_by_warehouse_and_lot() -> None:
    secret = b"network-secret"
    [key] = lien_keys(secret, "wh1", "lot1", [])
    assert lien_keys(secret, "wh1", "lot1", []) == [key]
    assert lien_keys(secret, "wh2", "lot1", []) != [key]


def test_commitments_hide_terms_but_bind_them() -> None:
    first = commitment(b"k", "loan1", {"principal": "100", "currency": "USD"})
    assert first == commitment(b"k", "loan1", {"currency": "USD", "principal": "100"})
    assert first != commitment(b"k", "loan1", {"principal": "101", "currency": "USD"})
    assert first != commitment(b"k", "loan2", {"principal": "100", "currency": "USD"})
    assert "100" not in first


def test_actors_need_the_right_org_kind_and_role() -> None:
    officer = Actor("bank1", OrgKind.BANK, "Bank1MSP", frozenset({Role.OFFICER}))
    viewer = Actor("bank1", OrgKind.BANK, "Bank1MSP", frozenset({Role.VIEWER}))
    officer.require(OrgKind.BANK)
    officer.require(OrgKind.BANK, Role.VIEWER)
    with pytest.raises(Forbidden) as kind:
        officer.require(OrgKind.WAREHOUSE)
    assert kind.value.code == "wrong_org_kind"
    with pytest.raises(Forbidden) as role:
        viewer.require(OrgKind.BANK)
    assert role.value.code == "missing_role"
    viewer.require_any((OrgKind.SME, OrgKind.BANK), Role.VIEWER)
