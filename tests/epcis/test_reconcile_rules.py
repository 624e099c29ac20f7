"""Four-way reconciliation of a bay: which source disagrees, within which tolerance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pledge.errors import Invalid
from pledge.reconcile import BayCounts, Source, Status, Tolerance, reconcile_bay


def counts(
    pledged: int | None = 100,
    book: int | None = 100,
    tags: int | None = 100,
    camera: int | None = 100,
) -> BayCounts:
    def dec(value: int | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return BayCounts("bay1", "COIL", dec(pledged), dec(book), dec(tags), dec(camera))


def statuses(bay: BayCounts, tolerance: Tolerance = Tolerance()) -> dict[Source, Status]:
    return {v.source: v.status for v in reconcile_bay(bay, tolerance).sources}


def test_four_agreeing_counts_have_no_mismatch() -> None:
    assert not reconcile_bay(counts()).mismatched


@pytest.mark.parametrize("source", ["book", "tags", "camera"])
def test_a_single_drifting_physical_source_is_the_only_one_named(source: str) -> None:
    verdict = reconcile_bay(counts(**{source: 93}))
    assert [v.source.value for v in verdict.mismatched] == [source]
    assert verdict.reference == 100
    drifting = verdict.mismatched[0]
    assert drifting.count == 93 and drifting.difference == -7


def test_pledged_below_the_goods_in_the_bay_is_free_stock_not_a_mismatch() -> None:
    assert statuses(counts(pledged=40))[Source.PLEDGED] is Status.AGREES


def test_pledged_above_the_goods_in_the_bay_is_a_shortfall() -> None:
    verdict = reconcile_bay(counts(pledged=120))
    assert [v.source for v in verdict.mismatched] == [Source.PLEDGED]


def test_a_source_without_data_is_unmonitored_not_a_mismatch() -> None:
    found = statuses(counts(tags=None, camera=None))
    assert found[Source.TAGS] is Status.UNMONITORED
    assert found[Source.CAMERA] is Status.UNMONITORED
    assert found[Source.BOOK] is Status.AGREES


def test_differences_within_the_absolute_band_agree() -> None:
    assert not reconcile_bay(counts(camera=98), Tolerance(absolute=Decimal(2))).mismatched
    assert reconcile_bay(counts(camera=97), Tolerance(absolute=Decimal(2))).mismatched


def test_differences_within_the_relative_band_agree() -> None:
    band = Tolerance(relative=Decimal("0.05"))
    assert not reconcile_bay(counts(tags=95), band).mismatched
    assert reconcile_bay(counts(tags=94), band).mismatched


def test_the_wider_of_the_two_bands_applies() -> None:
    band = Tolerance(absolute=Decimal(8), relative=Decimal("0.01"))
    assert reconcile_bay(counts(book=100, tags=92, camera=100), band).allowed == 8


def test_a_negative_band_is_refused() -> None:
    with pytest.raises(Invalid):
        Tolerance(absolute=Decimal(-1))
