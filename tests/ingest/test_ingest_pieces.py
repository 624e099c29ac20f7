"""Topics, payloads, broker account files, the batched writer and the presence check."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.ingest.acl import ReaderAccount, acl_file, hash_password
from services.ingest.batching import Batch
from services.ingest.payloads import parse_read_batch
from services.ingest.readers import mark_silent_readers_offline, offline_readers
from services.ingest.tables import DeadLetter, TagReadRow
from services.ingest.topics import Channel, parse_topic, topic_for
from services.ingest.writer import write_batch
from tests.ingest.conftest import register
from tests.ingest.readfactory import read, reads_payload

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_topic_round_trips_and_foreign_shapes_are_rejected() -> None:
    topic = topic_for("WH1", "r01", Channel.HEARTBEAT)
    assert topic == "pledgewatch/WH1/r01/heartbeat"
    assert parse_topic(topic) is not None
    assert parse_topic("pledgewatch/WH1/r01/other") is None
    assert parse_topic("pledgewatch/WH1/r01/reads/extra") is None


def test_the_dedup_key_ignores_epc_case_and_time_zone_spelling() -> None:
    one = read("r01", 7)
    other = {**one, "epc": str(one["epc"]).lower(), "seen_at": "2026-03-01T09:00:00.007+01:00"}
    first = parse_read_batch(json.dumps({"reads": [one]}).encode()).reads[0]
    second = parse_read_batch(json.dumps({"reads": [other]}).encode()).reads[0]
    assert first.dedup_key() == second.dedup_key()
    shifted = {**one, "antenna": 2}
    third = parse_read_batch(json.dumps({"reads": [shifted]}).encode()).reads[0]
    assert third.dedup_key() != first.dedup_key()


def test_a_naive_timestamp_is_wrong_schema() -> None:
    batch = Batch()
    bad = {**read("r01", 1), "seen_at": "2026-03-01T08:00:00"}
    batch.add("pledgewatch/W/r01/reads", json.dumps({"reads": [bad]}).encode(), NOW, None)
    assert [d["reason"] for d in batch.dead_letters] == ["wrong_schema"]


def test_the_password_hash_is_mosquittos_pbkdf2_sha512_format() -> None:
    salt = b"0123456789ab"
    _, kind, rounds, salt_b64, digest_b64 = hash_password("secret", salt).split("$")
    assert (kind, base64.b64decode(salt_b64)) == ("7", salt)
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", salt, int(rounds))
    assert base64.b64decode(digest_b64) == expected


def test_the_acl_lets_each_reader_write_only_below_its_own_prefix() -> None:
    text = acl_file([ReaderAccount("WH1", "r01", "x"), ReaderAccount("WH2", "r02", "y")], "ingest")
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in text.split("\n\n")[1:]}
    assert blocks["user ingest"] == ["topic read pledgewatch/#"]
    assert all(line.startswith("topic write pledgewatch/WH1/r01/") for line in blocks["user r01"])
    assert all(line.startswith("topic write pledgewatch/WH2/r02/") for line in blocks["user r02"])


def test_writing_the_same_batch_twice_stores_each_read_once(ingest_engine: Engine) -> None:
    batch = Batch()
    batch.add("pledgewatch/W/r01/reads", reads_payload("r01", 0, 20), NOW, None)
    batch.add("pledgewatch/W/r01/reads", b"[1, 2", NOW, None)
    assert write_batch(ingest_engine, batch) == 20
    assert write_batch(ingest_engine, batch) == 0
    with Session(ingest_engine) as session:
        assert session.scalar(select(func.count()).select_from(TagReadRow)) == 20
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 2
        stored = session.scalars(select(TagReadRow.seen_at).order_by(TagReadRow.seq)).first()
        assert stored == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_a_reader_silent_past_the_timeout_is_marked_offline(ingest_engine: Engine) -> None:
    quiet, chatty = ReaderAccount("W", "q01", "x"), ReaderAccount("W", "c01", "x")
    register(ingest_engine, quiet, chatty)
    for reader_id, moment in (("q01", NOW - timedelta(minutes=5)), ("c01", NOW)):
        batch = Batch()
        batch.add(f"pledgewatch/W/{reader_id}/heartbeat", b"{}", moment, None)
        write_batch(ingest_engine, batch)
    with Session(ingest_engine) as session:
        assert offline_readers(session, NOW, timedelta(seconds=60)) == ["q01"]
        assert mark_silent_readers_offline(session, NOW, timedelta(seconds=60)) == ["q01"]
        session.commit()
        assert offline_readers(session, NOW, timedelta(hours=1)) == ["q01"]
