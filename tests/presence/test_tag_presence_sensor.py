"""Tag presence for reconciliation, counted from reads stored by the real ingest worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update

from services.ingest.sensors import TagReadPresence
from services.ingest.tables import Reader
from tests.api.conftest import Service
from tests.api.story_steps import COIL
from tests.ingest.conftest import BrokerUnderTest
from tests.presence.presence_helpers import (
    checked_after,
    ingesting,
    publish,
    reads_of,
    watched_loan,
)


def test_the_bay_holds_the_tags_its_reader_saw_minus_those_that_passed_the_gate(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    bay_id = w.deal.goods.lot["bay_id"]
    seen, gone = w.epcs[:3], w.epcs[2]
    with ingesting(mqtt_broker, service) as ingest:
        in_bay = reads_of(w.bay_reader.reader_id, *seen)
        checked_after(ingest, lambda: publish(mqtt_broker, w.bay_reader, in_bay))
        at_gate = reads_of(w.gate_reader.reader_id, gone)
        checked_after(ingest, lambda: publish(mqtt_broker, w.gate_reader, at_gate))
    sessions = service.container.session_factory
    assert TagReadPresence(sessions).quantity_present(bay_id, COIL) == Decimal(2)
    later = TagReadPresence(sessions, clock=lambda: datetime.now(UTC) + timedelta(seconds=61))
    assert later.quantity_present(bay_id, COIL) == Decimal(0)


def test_a_bay_whose_reader_is_offline_reports_no_tag_quantity(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    bay_id = w.deal.goods.lot["bay_id"]
    with ingesting(mqtt_broker, service) as ingest:
        payload = reads_of(w.bay_reader.reader_id, *w.epcs)
        checked_after(ingest, lambda: publish(mqtt_broker, w.bay_reader, payload))
    presence = TagReadPresence(service.container.session_factory)
    assert presence.quantity_present(bay_id, COIL) == Decimal(100)
    with service.container.session_factory() as session:
        session.execute(update(Reader).where(Reader.reader_id == "r05").values(status="offline"))
        session.commit()
    assert presence.quantity_present(bay_id, COIL) is None
