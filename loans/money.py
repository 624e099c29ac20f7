"""Money: a Decimal amount with its ISO 4217 currency, rounded per currency, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Final

from pledge.errors import Invalid

# ISO 4217 minor units (digits after the decimal point) of the currencies we trade in.
CURRENCIES: Final = MappingProxyType(
    {
        "AED": 2,
        "AUD": 2,
        "BHD": 3,
        "BRL": 2,
        "CAD": 2,
        "CHF": 2,
        "CLP": 0,
        "CNY": 2,
        "EUR": 2,
        "GBP": 2,
        "HKD": 2,
        "IDR": 2,
        "INR": 2,
        "JOD": 3,
        "JPY": 0,
        "KRW": 0,
        "KWD": 3,
        "MXN": 2,
        "MYR": 2,
        "NOK": 2,
        "NZD": 2,
        "OMR": 3,
        "SAR": 2,
        "SEK": 2,
        "SGD": 2,
        "THB": 2,
        "USD": 2,
        "VND": 0,
        "ZAR": 2,
    }
)

# The default context keeps 28 significant digits, which would round large amounts times long
# rates before we quantize them ourselves; 60 digits keeps every intermediate exact in practice.
CALC_CONTEXT: Final = Context(prec=60, rounding=ROUND_HALF_EVEN)


def as_decimal(value: object, name: str, code: str = "invalid_number") -> Decimal:
    """Return `value` as a finite Decimal; ints and numeric strings pass, floats are refused."""
    # bool is an int subclass, but True as an amount is always a bug upstream.
    if isinstance(value, bool | float):
        raise Invalid(code, f"{name} must be a Decimal, int or numeric string, not {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Invalid(code, f"{name} is not a number: {value!r}") from None
    else:
        raise Invalid(code, f"{name} must be a Decimal, int or numeric string, not {value!r}")
    if not number.is_finite():
        raise Invalid(code, f"{name} must be finite, not {number}")
    return number


def minor_units(currency: str) -> int:
    """Digits after the decimal point for `currency`; unknown codes are refused."""
    try:
        return CURRENCIES[currency]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CURRENCIES))
        detail = f"unknown currency {currency!r}; known: {known}"
        raise Invalid("unknown_currency", detail) from None


def quantize_money(amount: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round `amount` to the minor units of `currency` (half-even unless told otherwise)."""
    number = as_decimal(amount, "amount", "invalid_amount")
    quantum = Decimal(1).scaleb(-minor_units(currency))
    # An explicit context so a huge amount is not refused by the default 28-digit precision.
    return number.quantize(quantum, rounding=rounding, context=CALC_CONTEXT)


@dataclass(frozen=True)
class Money:
    """An amount in one currency; arithmetic and comparisons refuse mixed currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        """Refuse unknown currencies, non-Decimal amounts and NaN or infinity."""
        minor_units(self.currency)
        if not isinstance(self.amount, Decimal):
            raise Invalid(
                "invalid_amount", f"amount must be a Decimal, not {type(self.amount).__name__}"
            )
        if not self.amount.is_finite():
            raise Invalid("invalid_amount", f"amount must be finite, not {self.amount}")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Build Money from a Decimal, an int or a numeric string; floats are refused."""
        return cls(as_decimal(amount, "amount", "invalid_amount"), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in `currency`."""
        return cls(Decimal(0), currency)

    @property
    def minor_units(self) -> int:
        """Digits after the decimal point for this currency."""
        return CURRENCIES[self.currency]

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise Invalid(
                "currency_mismatch", f"cannot combine {self.currency} with {other.currency}"
            )

    def __add__(self, other: Money) -> Money:
        """Sum of two amounts in the same currency."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        with localcontext(CALC_CONTEXT):
            return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        """Difference of two amounts in the same currency."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        with localcontext(CALC_CONTEXT):
            return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        """This amount scaled by a Decimal or int factor (unrounded)."""
        if isinstance(factor, Money):
            return NotImplemented
        number = as_decimal(factor, "factor")
        with localcontext(CALC_CONTEXT):
            return Money(self.amount * number, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        """The same amount with the opposite sign."""
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        """True when this amount is smaller (same currency only)."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        """True when this amount is smaller or equal (same currency only)."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        """True when this amount is larger (same currency only)."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        """True when this amount is larger or equal (same currency only)."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def is_negative(self) -> bool:
        """True when the amount is below zero (negative zero is not)."""
        return self.amount < 0

    def is_positive(self) -> bool:
        """True when the amount is above zero."""
        return self.amount > 0

    def rounded(self) -> Money:
        """This amount rounded half-even to the currency's minor units."""
        return Money(quantize_money(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        """Plain form such as '1234.50 USD'; sub-minor precision is shown, not hidden."""
        amount = self.amount
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -self.minor_units:
            # Padding with zeros is exact, so this never rounds.
            amount = quantize_money(amount, self.currency)
        return f"{amount:f} {self.currency}"
