"""Tag-read ingest over the real Mosquitto: every bad message is dead-lettered with its reason,
every good read around it is stored once, and the worker keeps consuming.

One worker per database consumes the whole corpus, each bad message followed by a good one, so
bad and good messages share the worker's batches (and transactions). A message is taken or
dead-lettered whole: one bad read among good ones keeps the whole message, raw, in the dead
letters, where it can be inspected and replayed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.db import make_engine
from services.ingest.payloads import MAX_PAYLOAD_BYTES
from services.ingest.tables import DeadLetter, TagReadRow
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import WorkerStats
from services.schema import load_metadata
from tests.conftest import _fresh_postgres_url
from tests.ingest.conftest import BrokerUnderTest, connect_reader, register, running_worker

READER = "u01"  # the one reader of warehouse WHU in the test broker's spec; no other suite uses it
NOW = datetime.now(UTC)


def read(n: int, **changes: object) -> dict[str, object]:
    """A valid read of tag n by the corpus reader."""
    body: dict[str, object] = {
        "reader_id": READER,
        "antenna": 1,
        "epc": f"3034C0{n:018X}",
        "rssi": -51.0,
        "seen_at": (NOW - timedelta(minutes=1, milliseconds=n)).isoformat(),
        "seq": n,
    }
    body.update(changes)
    return body


def reads(*items: dict[str, object]) -> bytes:
    """A ``reads`` message body."""
    return json.dumps({"reads": list(items)}).encode()


def one(n: int, **changes: object) -> bytes:
    """A message of one read of tag n with some fields changed."""
    return reads(read(n, **changes))


def padded(prefix: str, size: int) -> bytes:
    """`size` bytes starting with a case's own words, so each dead letter is told apart."""
    head = prefix.encode()
    return head + b" " * (size - len(head))


@dataclass(frozen=True)
class Bad:
    """A message that must end in the dead letters with this reason (and words in its detail)."""

    name: str
    payload: bytes
    reason: str
    mention: str = ""
    channel: Channel = Channel.READS


VALID = reads(read(900), read(901))
OVER = MAX_PAYLOAD_BYTES + 1

BAD = [
    # malformed and truncated
    Bad("not JSON", b"{not json", "malformed_json", "json"),
    Bad("cut in half", VALID[: len(VALID) // 2], "malformed_json", "eof"),
    Bad("cut before the last brace", VALID[:-1], "malformed_json", "eof"),
    Bad("trailing garbage", VALID + b"}", "malformed_json", "trailing"),
    Bad("empty", b"", "malformed_json"),
    Bad("a UTF-8 byte-order mark", b"\xef\xbb\xbf" + one(1), "malformed_json"),
    Bad("UTF-16", one(2).decode().encode("utf-16"), "malformed_json"),
    Bad("invalid UTF-8 in a string", one(3).replace(b'"u01"', b'"u0\xff"'), "malformed_json"),
    Bad("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, "malformed_json", "recursion"),
    Bad("null", b"null", "wrong_schema", "object"),
    Bad("a list of reads without the envelope", json.dumps([read(4)]).encode(), "wrong_schema"),
    Bad("no reads", b'{"reads": []}', "wrong_schema", "at least 1"),
    Bad("an unknown field", b'{"reads": [], "extra": 1}', "wrong_schema"),
    # wrong types
    Bad("reads as an object", json.dumps({"reads": read(5)}).encode(), "wrong_schema", "reads"),
    Bad("antenna in words", one(6, antenna="one"), "wrong_schema", "antenna"),
    Bad("tag as a number", one(7, epc=303400000000), "wrong_schema", "epc"),
    Bad("time as true", one(8, seen_at=True), "wrong_schema", "seen_at"),
    Bad("rssi in words", one(9, rssi="loud"), "wrong_schema", "rssi"),
    Bad("rssi NaN", one(10).replace(b"-51.0", b"NaN"), "wrong_schema", "rssi"),
    Bad("negative sequence", one(11, seq=-1), "wrong_schema", "seq"),
    Bad("antenna 256", one(12, antenna=256), "wrong_schema", "antenna"),
    # huge
    Bad("past the payload limit", padded('{"reads": [] "oversized"', OVER), "oversized", "bytes"),
    Bad("10001 reads", reads(*(read(i) for i in range(10_001))), "oversized"),
    Bad("a 65-character reader id", one(13, reader_id="u" * 65), "wrong_schema", "reader_id"),
    Bad("a 129-character tag", one(14, epc="urn:epc:id:sgtin:" + "1" * 112), "wrong_schema", "epc"),
    Bad("a huge heartbeat", padded("heartbeat", OVER), "oversized", channel=Channel.HEARTBEAT),
    Bad("a huge status", padded("online", OVER), "oversized", channel=Channel.STATUS),
    # Unicode
    Bad("NUL in the reader id", one(15, reader_id="u01\x00"), "reader_mismatch", "u01"),
    Bad("NUL in a tag", one(16, epc="3034C0000000000000000016\x00"), "wrong_schema", "epc"),
    Bad("a lone surrogate", one(17).replace(b'"u01"', b'"u01\\udc00"'), "malformed_json"),
    Bad("an RTL override in the reader id", one(18, reader_id="\u202e10u"), "reader_mismatch"),
    Bad("a combining mark in the reader id", one(19, reader_id="u01\u0301"), "reader_mismatch"),
    Bad(
        "emoji in a tag URN", one(20, epc="urn:epc:id:sgtin:\U0001f4e6.1.1"), "wrong_schema", "epc"
    ),
    Bad("NUL in a status", b"online\x00", "wrong_schema", "status", channel=Channel.STATUS),
    Bad(
        "a status in emoji", "\U0001f7e2".encode(), "wrong_schema", "status", channel=Channel.STATUS
    ),
    # timestamps
    Bad("year 1 east of UTC", one(21, seen_at="0001-01-01T00:00:00+05:00"), "wrong_schema", "UTC"),
    Bad(
        "year 9999 west of UTC", one(22, seen_at="9999-12-31T23:59:59-05:00"), "wrong_schema", "UTC"
    ),
    Bad("year 9999", one(23, seen_at="9999-12-31T23:59:59Z"), "clock_skew", "9999"),
    Bad("an hour ahead", one(24, seen_at=(NOW + timedelta(hours=1)).isoformat()), "clock_skew"),
    Bad("no time zone", one(25, seen_at="2026-03-01T08:00:00"), "wrong_schema", "timezone"),
    Bad("year 0", one(26, seen_at="0000-01-01T00:00:00Z"), "wrong_schema", "seen_at"),
    Bad("epoch 1e20", one(27, seen_at=1e20), "wrong_schema", "seen_at"),
    # one bad read among good ones: the message is kept whole, in the dead letters
    Bad(
        "one bad read among three good",
        reads(read(30), read(31), read(32, antenna=-1), read(33)),
        "wrong_schema",
        "reads.2.antenna",
    ),
    Bad(
        "one read from the future among good",
        reads(read(34), read(35, seen_at="2199-01-01T00:00:00Z")),
        "clock_skew",
    ),
]

# Unusual but valid: stored, with their time exactly as sent (in UTC).
ODD_BUT_VALID = {
    "year 1 in UTC": (read(40, seen_at="0001-01-01T00:00:00Z"), datetime(1, 1, 1, tzinfo=UTC)),
    "negative epoch": (read(41, seen_at=-1), datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
    "a minute ahead (within skew)": (
        read(42, seen_at=(NOW + timedelta(minutes=1)).isoformat()),
        None,
    ),
}


@dataclass
class Run:
    """What one worker made of the corpus."""

    letters: list[DeadLetter]
    stored: dict[str, datetime]  # epc -> seen_at of the corpus reader's stored reads
    good_epcs: set[str]
    stats: WorkerStats
    alive: bool


def publish_corpus(broker: BrokerUnderTest, engine: Engine) -> Run:
    """Send every bad message, a good one after each, then a final marker; wait for the marker."""
    account = broker.reader(READER)
    register(engine, account)
    topic = {c: topic_for(account.warehouse_code, READER, c) for c in Channel}
    good_epcs: set[str] = set()
    with running_worker(broker, engine) as worker:
        client = connect_reader(broker, account)
        try:
            for index, bad in enumerate(BAD):
                client.publish(topic[bad.channel], bad.payload, qos=1).wait_for_publish(10)
                good = [read(1000 + 2 * index), read(1001 + 2 * index)]
                good_epcs.update(str(r["epc"]) for r in good)
                client.publish(topic[Channel.READS], reads(*good), qos=1).wait_for_publish(10)
            for odd, _ in ODD_BUT_VALID.values():
                client.publish(topic[Channel.READS], reads(odd), qos=1).wait_for_publish(10)
            # Topics outside the reader's own three are dropped by the broker's ACL.
            for stray in (f"{topic[Channel.READS]}/more", topic_for("WHT", "r01", Channel.READS)):
                client.publish(stray, one(50), qos=1).wait_for_publish(10)
            marker = read(9999)
            good_epcs.add(str(marker["epc"]))
            client.publish(topic[Channel.READS], reads(marker), qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()
        wait_until_stored(engine, str(marker["epc"]))
        alive = worker.ready.is_set()  # still connected, still consuming
        stats = worker.stats
    with Session(engine) as session:
        letters = list(
            session.scalars(
                select(DeadLetter)
                .where(DeadLetter.topic.like(f"%/{READER}/%"))
                .order_by(DeadLetter.id)
            )
        )
        rows = session.execute(
            select(TagReadRow.epc, TagReadRow.seen_at).where(TagReadRow.reader_id == READER)
        ).all()
    stored: dict[str, datetime] = {}
    for epc, seen_at in rows:
        assert epc not in stored, f"{epc} stored twice"
        stored[epc] = seen_at
    return Run(letters, stored, good_epcs, stats, alive)


def wait_until_stored(engine: Engine, epc: str, timeout: float = 30.0) -> None:
    """Wait until the marker read is in the database; QoS 1 on one topic keeps order."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if session.scalar(select(TagReadRow.id).where(TagReadRow.epc == epc)) is not None:
                return
        time.sleep(0.05)
    raise AssertionError("the marker read after the corpus was never stored")


def _engine_on(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    load_metadata().create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def run(
    request: pytest.FixtureRequest,
    mqtt_broker: BrokerUnderTest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    """The corpus consumed once per database by one worker."""
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("mqtt-corpus")
        for engine in _engine_on(f"sqlite:///{folder / 'ingest.sqlite3'}"):
            yield publish_corpus(mqtt_broker, engine)
        return
    admin = request.getfixturevalue("_postgres_admin")
    for url in _fresh_postgres_url(admin):
        for engine in _engine_on(url):
            yield publish_corpus(mqtt_broker, engine)


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_a_bad_message_is_dead_lettered_whole_with_its_reason(run: Run, bad: Bad) -> None:
    kept = bad.payload[:MAX_PAYLOAD_BYTES]
    (letter,) = [
        d for d in run.letters if d.payload == kept and d.topic.endswith(f"/{bad.channel.value}")
    ]
    assert letter.reason == bad.reason, letter.detail
    assert bad.mention.lower() in letter.detail.lower(), letter.detail
    assert letter.payload_size == len(bad.payload)


def test_no_read_of_a_dead_lettered_message_is_stored(run: Run) -> None:
    partly_good = {f"3034C0{n:018X}" for n in (30, 31, 33, 34)}
    assert not partly_good & set(run.stored)
    assert len(run.letters) == len(BAD)  # and nothing else: strays never reached the worker


def test_every_good_read_sent_between_the_bad_messages_is_stored_once(run: Run) -> None:
    odd = {str(r["epc"]) for r, _ in ODD_BUT_VALID.values()}
    assert set(run.stored) == run.good_epcs | odd


@pytest.mark.parametrize("name", list(ODD_BUT_VALID))
def test_an_odd_but_valid_time_is_stored_as_sent(run: Run, name: str) -> None:
    sent, expected = ODD_BUT_VALID[name]
    stored = run.stored[str(sent["epc"])]
    want = expected or datetime.fromisoformat(str(sent["seen_at"]))
    assert stored == want


def test_the_worker_kept_consuming_without_a_write_error(run: Run) -> None:
    assert run.alive
    assert run.stats.write_errors == 0
    assert run.stats.dead_letters >= len(BAD)
