"""The pledge contract declared for the shim's contract API: one transaction per function.

Every contract function is exposed under its own name and takes one argument, the JSON object
of its arguments; it returns the contract's canonical JSON. A `ContractError` becomes a chaincode
error response whose message is `CODE: message`, which the gateway client maps back to a reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from fabric_chaincode_python.fabric_contract_api import (
    Contract,
    ContractChaincode,
    TransactionContextInterface,
)

from chaincode.contract import QUERIES, TRANSACTIONS, PledgeContract
from chaincode.errors import ContractError
from chaincode.runtime.adapter import ShimStubAdapter
from chaincode.runtime.handler import PeerRequestError

log = logging.getLogger(__name__)

CONTRACT_NAME = "pledgewatch"
# Each running transaction holds one worker thread while it waits on the peer.
_WORKERS = 16

TxMethod = Callable[["PledgeFabricContract", TransactionContextInterface, str], Awaitable[str]]


class PledgeFabricContract(Contract):  # type: ignore[misc]  # the shim ships no type hints
    """Routes each Fabric transaction to `PledgeContract.invoke` through a stub adapter."""

    Name = CONTRACT_NAME

    def __init__(self, org_roles: Mapping[str, str]) -> None:
        super().__init__()
        self._org_roles = org_roles
        self._contract = PledgeContract()
        self._executor = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="tx")

    def get_evaluate_transactions(self) -> list[str]:
        """Read-only functions, tagged as evaluate in the chaincode metadata."""
        return sorted(QUERIES)

    async def _run(self, ctx: TransactionContextInterface, fn: str, args_json: str) -> str:
        loop = asyncio.get_running_loop()
        adapter = ShimStubAdapter(ctx.get_stub(), loop, self._org_roles)
        try:
            result = await loop.run_in_executor(
                self._executor, self._contract.invoke, adapter, fn, args_json
            )
        except ContractError:
            raise
        except PeerRequestError as exc:
            raise ContractError("LEDGER_ERROR", str(exc)) from exc
        except Exception as exc:
            # A bug or a broken stream; the client gets a code it can map, the log the trace.
            log.exception("%s failed", fn)
            raise ContractError("INTERNAL", f"{fn} failed: {type(exc).__name__}") from exc
        return result.decode("utf-8")


def _transaction(fn: str) -> TxMethod:
    # The ctx annotation is required: the shim counts an unannotated ctx as an argument.
    async def transaction(
        self: PledgeFabricContract, ctx: TransactionContextInterface, args: str
    ) -> str:
        return await self._run(ctx, fn, args)

    transaction.__name__ = fn
    transaction.__qualname__ = f"{PledgeFabricContract.__name__}.{fn}"
    transaction.__doc__ = f"Run the contract's {fn} with a JSON object of arguments."
    return transaction


for _fn in sorted(TRANSACTIONS | QUERIES):
    setattr(PledgeFabricContract, _fn, _transaction(_fn))


def build_chaincode(org_roles: Mapping[str, str]) -> ContractChaincode:
    """The shim chaincode serving the pledge contract with the given MSP -> role map."""
    return ContractChaincode.new_chaincode(PledgeFabricContract(org_roles))
