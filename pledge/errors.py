"""Domain errors shared by the collateral and loan domains; each carries a stable code."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request."""

    kind = "invalid"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Invalid(DomainError):
    """The input breaks a rule (negative quantity, unknown currency, ...)."""

    kind = "invalid"


class NotFound(DomainError):
    """The object does not exist, or belongs to another organisation."""

    kind = "not_found"


class Conflict(DomainError):
    """The object's current state does not allow the request."""

    kind = "conflict"


class Forbidden(DomainError):
    """The caller's organisation or role may not do this."""

    kind = "forbidden"
