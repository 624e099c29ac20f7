"""Fixtures for the ledger tests: a SQLite database, a keyring and a small key-value contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import services.ledger.tables  # noqa: F401  (registers the tables on the shared metadata)
from chaincode.canonical import canonical_json
from chaincode.errors import ContractError
from chaincode.stub import Stub
from services.db import make_engine, make_session_factory, metadata
from services.ledger.embedded import EmbeddedLedger
from services.ledger.signing import Keyring

ORGS = {"BankAMSP": "bank", "BankBMSP": "bank", "WarehouseMSP": "warehouse"}
REQUIRED = {"pair": frozenset({"bank", "warehouse"})}


class KeyValueContract:
    """A tiny contract: puts, deletes, refusals, a two-party function and a few queries."""

    def invoke(self, stub: Stub, fn: str, args_json: str) -> bytes:
        """Dispatch fn on the stub and return canonical JSON."""
        args: dict[str, Any] = json.loads(args_json)
        if fn in ("put", "pair", "quiet"):
            previous = stub.get_state(args["key"])
            stub.put_state(args["key"], canonical_json(args["value"]))
            if fn != "quiet":
                stub.set_event("Put", canonical_json({"key": args["key"], "by": stub.tx_id}))
            old = None if previous is None else json.loads(previous)
            return canonical_json({"key": args["key"], "previous": old})
        if fn == "put_once":
            if stub.get_state(args["key"]) is not None:
                raise ContractError("EXISTS", f"{args['key']} is already set")
            stub.put_state(args["key"], canonical_json(args["value"]))
            return canonical_json({"key": args["key"]})
        if fn == "remove":
            stub.del_state(args["key"])
            stub.set_event("Removed", canonical_json({"key": args["key"]}))
            return canonical_json({})
        if fn == "refuse":
            raise ContractError("REFUSED", args.get("why", "no"))
        if fn == "explode":
            raise RuntimeError("contract bug")
        if fn == "get":
            value = stub.get_state(args["key"])
            return canonical_json({"value": None if value is None else json.loads(value)})
        if fn == "range":
            pairs = stub.get_state_by_range(args["start"], args["end"])
            return canonical_json({"keys": [k for k, _v in pairs]})
        if fn == "history":
            return canonical_json(
                {
                    "entries": [
                        {
                            "tx_id": h.tx_id,
                            "timestamp": h.timestamp,
                            "value": None if h.value is None else json.loads(h.value),
                            "is_delete": h.is_delete,
                        }
                        for h in stub.get_history(args["key"])
                    ]
                }
            )
        if fn == "whoami":
            creator = stub.creator()
            return canonical_json(
                {"msp": creator.msp_id, "role": creator.role, "ts": stub.tx_timestamp}
            )
        raise ContractError("UNKNOWN_FUNCTION", fn)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh SQLite file database with every table created."""
    eng = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    metadata.create_all(eng)
    return eng


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Session factory on the test database."""
    return make_session_factory(engine)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    """Org keys in a temporary folder."""
    return Keyring(tmp_path / "keys")


@pytest.fixture
def make_ledger(sessions: sessionmaker[Session], keyring: Keyring) -> Callable[..., EmbeddedLedger]:
    """Build embedded ledgers on the shared database (a second call acts as a restart)."""

    def build(**overrides: Any) -> EmbeddedLedger:
        options: dict[str, Any] = {
            "session_factory": sessions,
            "contract": KeyValueContract(),
            "orgs": ORGS,
            "keyring": keyring,
            "required_endorsers": REQUIRED,
        }
        options.update(overrides)
        return EmbeddedLedger(**options)

    return build


@pytest.fixture
def ledger(make_ledger: Callable[..., EmbeddedLedger]) -> EmbeddedLedger:
    """An embedded ledger running the key-value contract."""
    return make_ledger()
