"""No secret reaches a log line: configured values, token shapes and secret-named fields."""

from __future__ import annotations

import io
import json
import logging

import structlog

from services.identity.apikeys import new_api_key
from services.observability.logs import configure_logging, get_logger
from services.observability.redaction import REDACTED, Redactor
from services.settings import Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lLmNsZXJrIn0.c2lnbmF0dXJlLWJ5dGVz"


def production_settings() -> Settings:
    """Settings holding secrets of their own, as a deployment would."""
    return Settings.model_validate(
        {
            "mode": "production",
            "db": {"url": "postgresql+psycopg://pw:db-pass-7f3a9c1e@db.example:5432/pw"},
            "mqtt": {"url": "mqtt://ingest:mqtt-pass-51d0e2@broker.example:8883"},
            "auth": {
                "jwt_secret": "jwt-secret-0123456789abcdef0123456789ab",
                "jwt_previous_secrets": ["old-jwt-secret-0123456789abcdef01234567"],
            },
            "ledger": {
                "lien_key_secret": "lien-secret-0123456789abcdef0123456789",
                "commitment_salt": "salt-secret-0123456789abcdef012345678",
            },
        }
    )


def captured_lines(settings: Settings, emit) -> list[str]:  # type: ignore[no-untyped-def]
    """Configure logging into a buffer, run `emit`, and return the lines written."""
    buffer = io.StringIO()
    configure_logging(settings, process="test", stream=buffer)
    try:
        emit()
    finally:
        structlog.contextvars.clear_contextvars()
    return buffer.getvalue().splitlines()


def test_every_secret_of_the_settings_and_every_token_shape_is_redacted() -> None:
    settings = production_settings()
    api_key, _, _ = new_api_key()

    def emit() -> None:
        std = logging.getLogger("pledgewatch.test")
        std.info("connecting to %s", settings.db.url)
        std.warning("broker %s refused", settings.mqtt.url)
        std.info("header Authorization: Bearer %s", JWT)
        std.info("signed with %s", settings.auth.jwt_secret)
        std.info("rotated from %s", settings.auth.jwt_previous_secrets[0])
        try:
            raise RuntimeError(f"lien key {settings.ledger.lien_key_secret} rejected")
        except RuntimeError:
            std.exception("failed")
        log = get_logger("pledgewatch.test")
        log.info(
            "device call",
            headers={"Authorization": f"Bearer {JWT}", "X-API-Key": api_key},
            password="hunter2-hunter2",
            salt_used=settings.ledger.commitment_salt,
            query=f"token={JWT}&page=2",
        )
        log.info("key in text", note=f"the key is {api_key}")

    lines = captured_lines(settings, emit)
    assert len(lines) == 8
    events = [json.loads(line) for line in lines]
    assert all(e["process"] == "test" and "timestamp" in e and "level" in e for e in events)
    secrets = [
        "db-pass-7f3a9c1e",
        "mqtt-pass-51d0e2",
        settings.auth.jwt_secret,
        settings.auth.jwt_previous_secrets[0],
        settings.ledger.lien_key_secret,
        settings.ledger.commitment_salt,
        JWT,
        api_key,
        "hunter2-hunter2",
    ]
    leaks = [(s, line) for line in lines for s in secrets if s in line]
    assert leaks == []
    # What is not secret stays readable.
    assert "db.example:5432" in lines[0]
    assert "Traceback" in events[5]["exception"] and REDACTED in events[5]["exception"]
    assert events[6]["headers"]["Authorization"] == REDACTED
    assert events[6]["query"].endswith("&page=2")


def test_the_redactor_keeps_ordinary_text_and_names_what_it_hid() -> None:
    redactor = Redactor(["s3cr3t-value"])
    assert redactor.text("lot 42 moved to bay B-7") == "lot 42 moved to bay B-7"
    assert redactor.text("password=abc123def") == f"password={REDACTED}"
    assert redactor.text("x s3cr3t-value y") == f"x {REDACTED} y"
    assert redactor.text("postgresql://u:pw1234@h/db") == f"postgresql://{REDACTED}@h/db"
    assert redactor.value({"nested": {"token": "t0k3n-value"}}) == {"nested": {"token": REDACTED}}
