"""Structured JSON logs (structlog) for every process, with request ids and secret redaction."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import IO, Any

import structlog

from services.observability.redaction import Redactor, secrets_of_url
from services.settings import Settings

# Environment variables whose value is a secret even though settings never read them.
_SECRET_ENV_WORDS = ("PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE")
# Libraries that log every connection or scheduler tick at INFO.
_CHATTY = ("apscheduler", "amqtt", "transitions", "httpx", "httpcore", "uvicorn.access")

redactor = Redactor()


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value the settings hold, and the passwords inside their URLs."""
    values = [
        settings.auth.jwt_secret,
        *settings.auth.jwt_previous_secrets,
        settings.ledger.lien_key_secret,
        settings.ledger.commitment_salt,
        *secrets_of_url(settings.db.url),
        *secrets_of_url(settings.mqtt.url),
    ]
    for name, value in os.environ.items():
        upper = name.upper()
        if upper.startswith("PLEDGEWATCH_") and any(w in upper for w in _SECRET_ENV_WORDS):
            values.append(value)
        if upper.startswith("PLEDGEWATCH_") and upper.endswith("_URL"):
            values.extend(secrets_of_url(value))
    return values


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(
    settings: Settings,
    *,
    process: str,
    level: str = "INFO",
    stream: IO[str] | None = None,
    extra_secrets: Iterable[str] = (),
) -> None:
    """Send structlog and stdlib logging as one JSON object a line, secrets redacted."""
    redactor.add([*settings_secrets(settings), *extra_secrets])
    structlog.contextvars.bind_contextvars(process=process)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks are rendered first so that the redactor sees their text too.
            structlog.processors.format_exc_info,
            redactor,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Uvicorn installs its own handlers unless told not to; route them through the root.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            *_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def route_to_stdlib() -> None:
    """Until configure_logging runs, pass structlog events to stdlib logging, redacted."""
    if structlog.is_configured():
        return
    # Unconfigured structlog prints straight to stdout, past the redactor and past whatever
    # handlers the host (the dev runner, a test harness) set up on stdlib logging.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.format_exc_info,
            redactor,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger that ends in the configured JSON handler."""
    return structlog.stdlib.get_logger(name)
