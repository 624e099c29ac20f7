"""Contract errors: a stable code the service maps to a reason, and a message for people."""

from __future__ import annotations


class ContractError(Exception):
    """The contract refused a transaction."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
