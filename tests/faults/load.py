"""The load that runs while a fault happens: tag reads, loan traffic, live checks, departures.

- `ReadPublisher`: a bay reader publishes batches of reads (unique EPCs and sequence numbers)
  over MQTT with QoS 1; a batch counts as sent once the broker acknowledged it, and a batch the
  broker did not acknowledge is published again, unchanged (the dedup key absorbs the copy).
- `LoanTraffic`: each prepared loan walks approve → disburse → repay → release order → release →
  repay the rest, every money-moving step with its own Idempotency-Key, retried as a client would.
- `LiveChecks`: the bank asks the vision worker for live snapshots of the watched bay.
- `GateReads` (inside `ReadPublisher`): tags of a pledged lot pass the exit gate without a release
  order, one at a time, so departures are recorded and the bank and warehouse are alerted.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.ingest.acl import ReaderAccount
from services.ingest.mqtturl import BrokerAddress
from services.ingest.topics import Channel, topic_for
from tests.faults.client import Api, CallFailed, new_key

READS_PER_MESSAGE = 10
ACK_WAIT_S = 2.0


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Publisher:
    """One reader's MQTT connection that delivers each message until the broker acknowledges it."""

    def __init__(self, broker: BrokerAddress, account: ReaderAccount) -> None:
        self.account = account
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fault-{account.reader_id}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(account.reader_id, account.password)
        self.client.max_inflight_messages_set(20)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        # connect_async + loop_start: the network thread (re)connects whenever the broker is up.
        self.client.connect_async(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        self.republished = 0

    def topic(self, channel: Channel) -> str:
        """This reader's topic of a channel."""
        return topic_for(self.account.warehouse_code, self.account.reader_id, channel)

    def deliver(self, payload: bytes, deadline_s: float = 90.0) -> None:
        """Publish with QoS 1 until a PUBACK arrives (publishing the same bytes again if needed)."""
        deadline = time.monotonic() + deadline_s
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.account.reader_id}: no PUBACK for {deadline_s:.0f}s")
            if not self.client.is_connected():
                time.sleep(0.05)  # the network thread is reconnecting
                continue
            info = self.client.publish(self.topic(Channel.READS), payload, qos=1)
            try:
                info.wait_for_publish(ACK_WAIT_S)
                if info.is_published():
                    return
            except (RuntimeError, ValueError):
                pass  # the connection dropped meanwhile: publish the same bytes again
            self.republished += 1

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class ReadLedger:
    """Every read the broker acknowledged: (reader id, EPC) pairs."""

    acked: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, reader_id: str, epcs: list[str]) -> None:
        """Record reads as sent."""
        with self.lock:
            self.acked.extend((reader_id, epc) for epc in epcs)

    def snapshot(self) -> list[tuple[str, str]]:
        """The reads sent so far."""
        with self.lock:
            return list(self.acked)


class ReadPublisher(threading.Thread):
    """Bay reads at a steady rate and, if given, gate reads of pledged tags one by one."""

    def __init__(
        self,
        broker: BrokerAddress,
        bay_reader: ReaderAccount,
        gate_reader: ReaderAccount | None = None,
        gate_epcs: list[str] | None = None,
        messages_per_s: float = 20.0,
        gate_every_s: float = 0.3,
    ) -> None:
        """Prepare both readers; nothing is published before `start`."""
        super().__init__(name="fault-reads", daemon=True)
        self.broker = broker
        self.bay_reader = bay_reader
        self.gate_reader = gate_reader
        self.gate_epcs = list(gate_epcs or [])
        self.period = 1.0 / messages_per_s
        self.gate_every_s = gate_every_s
        self.sent = ReadLedger()
        self.gate_sent: list[str] = []
        self.error: BaseException | None = None
        self.stop_event = threading.Event()
        self._prefix = uuid.uuid4().hex[:12].upper()
        self._seq = 0
        self.republished = 0

    def run(self) -> None:
        """Publish until stopped; every started message is delivered before returning."""
        bay = _Publisher(self.broker, self.bay_reader)
        gate = _Publisher(self.broker, self.gate_reader) if self.gate_reader else None
        next_gate = time.monotonic() + self.gate_every_s
        try:
            while not self.stop_event.is_set():
                started = time.monotonic()
                self._bay_message(bay)
                if gate is not None and self.gate_epcs and time.monotonic() >= next_gate:
                    self._gate_message(gate)
                    next_gate = time.monotonic() + self.gate_every_s
                self.stop_event.wait(max(0.0, self.period - (time.monotonic() - started)))
        except BaseException as exc:
            self.error = exc
        finally:
            self.republished = bay.republished + (gate.republished if gate else 0)
            bay.close()
            if gate is not None:
                gate.close()

    def _reads(self, reader_id: str, epcs: list[str]) -> bytes:
        now = datetime.now(UTC)
        reads = []
        for epc in epcs:
            self._seq += 1
            reads.append(
                {
                    "reader_id": reader_id,
                    "antenna": 1,
                    "epc": epc,
                    "rssi": -52.0,
                    "seen_at": _stamp(now),
                    "seq": self._seq,
                }
            )
        return json.dumps({"reads": reads}).encode()

    def _bay_message(self, bay: _Publisher) -> None:
        first = self._seq
        epcs = [f"{self._prefix}{first + i:012X}" for i in range(READS_PER_MESSAGE)]
        # Stopping waits for this PUBACK: a read counts as sent only once the broker has it.
        bay.deliver(self._reads(self.bay_reader.reader_id, epcs))
        self.sent.add(self.bay_reader.reader_id, epcs)

    def _gate_message(self, gate: _Publisher) -> None:
        assert self.gate_reader is not None
        epc = self.gate_epcs.pop(0)
        gate.deliver(self._reads(self.gate_reader.reader_id, [epc]))
        self.sent.add(self.gate_reader.reader_id, [epc])
        self.gate_sent.append(epc)

    def finish(self, timeout: float = 120.0) -> None:
        """Stop publishing and wait for the last acknowledgement."""
        self.stop_event.set()
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError("the read publisher did not finish")
        if self.error is not None:
            raise self.error


@dataclass
class LoanPlan:
    """A loan application prepared before the load, and what the traffic did with it."""

    loan_id: str
    lot_id: str
    receipt_id: str
    keys: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    repaid: list[Decimal] = field(default_factory=list)
    released: Decimal = Decimal(0)
    done: bool = False


LOAN_STEPS = ("approve", "disburse", "repay", "order", "release", "close")


class LoanTraffic(threading.Thread):
    """Walks prepared loans through the story's money steps until stopped."""

    def __init__(
        self, bank: Api, sme: Api, wh: Api, plans: list[LoanPlan], pause_s: float = 0.25
    ) -> None:
        """Run the plans in order, pausing between steps; a stop lets the loan in progress end."""
        super().__init__(name="fault-loans", daemon=True)
        self.bank, self.sme, self.wh = bank, sme, wh
        self.plans = plans
        # Paced like people at their desks, so the traffic is still going when the fault hits.
        self.pause_s = pause_s
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.progress = 0  # steps completed, for recovery checks
        self.progress_at = 0.0  # monotonic time of the last completed step

    def run(self) -> None:
        """Drive loans until stopped or out of plans."""
        try:
            for plan in self.plans:
                if self.stop_event.is_set():
                    return
                self._cycle(plan)
        except BaseException as exc:
            self.error = exc

    def _step(self, plan: LoanPlan, name: str, action: Callable[[], Any]) -> Any:
        time.sleep(self.pause_s)
        out = action()
        plan.steps.append(name)
        self.progress += 1
        self.progress_at = time.monotonic()
        return out

    def _cycle(self, plan: LoanPlan) -> None:
        loan = f"/loans/{plan.loan_id}"
        self._step(plan, "approve", lambda: self._approve(plan))
        self._wait_status(plan, ("pledged",))
        plan.keys = {step: new_key() for step in LOAN_STEPS[1:]}
        self._step(
            plan,
            "disburse",
            lambda: self.bank.money_or_lost(f"{loan}/disburse", plan.keys["disburse"]),
        )
        first = Decimal("20000.00")
        repaid = self._step(
            plan,
            "repay",
            lambda: self.sme.money_or_lost(
                f"{loan}/repayments", plan.keys["repay"], json={"amount": str(first)}
            ),
        )
        plan.repaid.append(first)
        # An answer lost to a crash is looked up: the request itself took effect once.
        quote = (
            repaid["release_quote"]
            if repaid
            else self.bank.call("GET", f"{loan}/release-quote", 200)
        )
        free = Decimal(str(quote[0]["releasable"]))
        if free > 0:
            body = {"receipt_id": plan.receipt_id, "quantity": str(free)}
            issued = self._step(
                plan,
                "order",
                lambda: self.bank.money_or_lost(
                    f"{loan}/release-orders", plan.keys["order"], json=body
                ),
            )
            order_id = issued["order"]["id"] if issued else self._order_of(plan)
            self._step(
                plan,
                "release",
                lambda: self.wh.money_or_lost(
                    f"/lots/{plan.lot_id}/releases",
                    plan.keys["release"],
                    json={"quantity": str(free), "release_order_id": order_id},
                ),
            )
            plan.released = free
        rest = Decimal(str(self.bank.call("GET", loan, 200)["outstanding"]))
        self._step(
            plan,
            "close",
            lambda: self.sme.money_or_lost(
                f"{loan}/repayments", plan.keys["close"], json={"amount": str(rest)}
            ),
        )
        plan.repaid.append(rest)
        status = self.bank.call("GET", loan, 200)["status"]
        if status != "closed":
            raise CallFailed(f"loan {plan.loan_id} not closed: {status}")
        plan.done = True

    def _order_of(self, plan: LoanPlan) -> str:
        page = self.bank.call("GET", "/release-orders", 200, params={"limit": 200})
        mine = [o["id"] for o in page["items"] if o["loan_id"] == plan.loan_id]
        if len(mine) != 1:
            raise CallFailed(f"loan {plan.loan_id} has release orders {mine}")
        return str(mine[0])

    def _approve(self, plan: LoanPlan) -> None:
        # Approval carries no key: after an uncertain attempt a retry is refused as a state
        # conflict, and the loan's status says whether the first attempt took effect.
        try:
            self.bank.call("POST", f"/loans/{plan.loan_id}/approve", 202)
        except CallFailed:
            status = self.bank.call("GET", f"/loans/{plan.loan_id}", 200)["status"]
            if status not in ("pledged", "approved"):
                raise

    def _wait_status(self, plan: LoanPlan, wanted: tuple[str, ...], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = self.bank.call("GET", f"/loans/{plan.loan_id}", 200)["status"]
            if status in wanted:
                return
            if time.monotonic() > deadline:
                raise CallFailed(f"loan {plan.loan_id} stayed {status}, wanted {wanted}")
            time.sleep(0.2)

    def finish(self, timeout: float = 180.0) -> None:
        """Let the loan in progress finish, then stop."""
        self.stop_event.set()
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError("the loan traffic did not finish")
        if self.error is not None:
            raise self.error


class LiveChecks(threading.Thread):
    """The bank asks for a live snapshot of the watched bay every few seconds."""

    def __init__(self, bank: Api, bay_id: str, every_s: float = 2.0) -> None:
        """Ask about `bay_id`."""
        super().__init__(name="fault-live-checks", daemon=True)
        self.bank = bank
        self.bay_id = bay_id
        self.every_s = every_s
        self.asked: list[tuple[str, float]] = []  # (check id, monotonic time asked)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        """Ask until stopped."""
        try:
            while not self.stop_event.is_set():
                nonce = f"fault-{uuid.uuid4().hex[:10]}"
                check = self.bank.call(
                    "POST", f"/bays/{self.bay_id}/live-checks", 202, json={"nonce": nonce}
                )
                self.asked.append((check["id"], time.monotonic()))
                self.stop_event.wait(self.every_s)
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        """Stop asking."""
        self.stop_event.set()
        self.join(60)
        if self.error is not None:
            raise self.error
