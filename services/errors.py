"""Service-level errors that are not domain rules: authentication and idempotency."""

from __future__ import annotations

from pledge.errors import DomainError


class Unauthenticated(DomainError):
    """No valid credentials were presented."""

    kind = "unauthenticated"


class TooManyRequests(DomainError):
    """The caller exceeded a rate limit."""

    kind = "rate_limited"
