"""Our Fabric Gateway client and the ledger adapter that implements the port on it."""

from services.ledger.fabric.adapter import FabricLedger
from services.ledger.fabric.connection import FabricConnection, load_connection, load_identities
from services.ledger.fabric.identity import Identity, load_msp

__all__ = [
    "FabricConnection",
    "FabricLedger",
    "Identity",
    "load_connection",
    "load_identities",
    "load_msp",
]
