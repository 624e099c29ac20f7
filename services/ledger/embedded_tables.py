"""SQL tables of the embedded ledger: world state, block log, organisations, rejections."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class LedgerState(Base):
    """Current committed value of one world-state key."""

    __tablename__ = "ledger_state"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    # Number of the block that last wrote the key, as Fabric's key version.
    version: Mapped[int] = mapped_column(Integer)


class LedgerBlock(Base):
    """One committed transaction; blocks are hash-chained and never updated."""

    __tablename__ = "ledger_blocks"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tx_id: Mapped[str] = mapped_column(String(128), unique=True)
    fn: Mapped[str] = mapped_column(String(128))
    args: Mapped[str] = mapped_column(Text)  # canonical JSON
    submitter_msp: Mapped[str] = mapped_column(String(128))
    timestamp: Mapped[str] = mapped_column(String(64))
    writes: Mapped[str] = mapped_column(Text)  # canonical JSON {key: value text or null}
    event_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    event_payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str] = mapped_column(Text)  # canonical JSON of the contract's answer
    endorsements: Mapped[str] = mapped_column(Text)  # JSON [{msp, signature}]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LedgerOrg(Base):
    """A network member: its role and the public key its endorsements verify against."""

    __tablename__ = "ledger_orgs"

    msp_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    public_pem: Mapped[str] = mapped_column(Text)


class LedgerRejection(Base):
    """A refused transaction id, kept so a resubmission gets the same answer."""

    __tablename__ = "ledger_rejections"

    tx_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    fn: Mapped[str] = mapped_column(String(128))
    submitter_msp: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(64))
