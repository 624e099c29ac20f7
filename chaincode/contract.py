"""Entry point of the pledge contract: parses arguments and dispatches to the handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from chaincode import anchors, loans, pledges, queries, receipts, releases
from chaincode.access import BANK, WAREHOUSE
from chaincode.args import parse_object
from chaincode.canonical import canonical_json
from chaincode.errors import ContractError
from chaincode.stub import Stub

Handler = Callable[[Stub, dict[str, Any]], dict[str, Any]]

_TRANSACTION_HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "issue_receipt": receipts.issue_receipt,
        "register_pledge": pledges.register_pledge,
        "update_loan": loans.update_loan,
        "issue_release_order": releases.issue_release_order,
        "confirm_release": releases.confirm_release,
        "lift_lien": pledges.lift_lien,
        "retire_receipt": receipts.retire_receipt,
        "anchor": anchors.anchor,
    }
)

_QUERY_HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "get_receipt": queries.get_receipt,
        "get_loan": queries.get_loan,
        "get_lien": queries.get_lien,
        "get_release_order": queries.get_release_order,
        "get_anchor": queries.get_anchor,
        "history": queries.history,
    }
)

TRANSACTIONS: frozenset[str] = frozenset(_TRANSACTION_HANDLERS)
QUERIES: frozenset[str] = frozenset(_QUERY_HANDLERS)

_BOTH_PARTIES = frozenset({BANK, WAREHOUSE})
# An empty set means the submitter's own organisation endorses alone.
REQUIRED_ENDORSERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        fn: _BOTH_PARTIES
        if fn in {"register_pledge", "issue_release_order", "confirm_release"}
        else frozenset()
        for fn in sorted(TRANSACTIONS)
    }
)

_HANDLERS: Mapping[str, Handler] = MappingProxyType({**_TRANSACTION_HANDLERS, **_QUERY_HANDLERS})


class PledgeContract:
    """The pledge contract: receipts, liens, loans, release orders and anchors."""

    def invoke(self, stub: Stub, fn: str, args_json: str) -> bytes:
        """Run fn with the JSON object args_json and return the result as canonical JSON."""
        handler = _HANDLERS.get(fn)
        if handler is None:
            raise ContractError("UNKNOWN_FUNCTION", f"unknown function {fn!r}")
        return canonical_json(handler(stub, parse_object(args_json)))
