"""Who may submit what: checks on the submitter's role and organisation."""

from __future__ import annotations

from chaincode.errors import ContractError
from chaincode.state import Record
from chaincode.stub import Creator, Stub

BANK = "bank"
WAREHOUSE = "warehouse"
SME = "sme"
AUDITOR = "auditor"


def require_role(stub: Stub, fn: str, *roles: str) -> Creator:
    """The submitter, provided their role is one of roles; FORBIDDEN otherwise."""
    creator = stub.creator()
    if creator.role not in roles:
        wanted = " or ".join(roles)
        raise ContractError(
            "FORBIDDEN", f"{fn} needs role {wanted}; the submitter has role {creator.role!r}"
        )
    return creator


def require_lien_holder(creator: Creator, loan: Record) -> None:
    """Refuse unless the submitter's organisation is the bank that holds the loan's lien."""
    if loan["bank_msp"] != creator.msp_id:
        raise ContractError(
            "NOT_LIEN_HOLDER", f"only the lien-holding bank may act on loan {loan['loan_id']}"
        )


def require_own_warehouse(creator: Creator, warehouse_msp: str, what: str) -> None:
    """Refuse unless the submitter's organisation is the warehouse that holds the goods."""
    if warehouse_msp != creator.msp_id:
        raise ContractError("WRONG_WAREHOUSE", f"{what} belongs to another warehouse")
