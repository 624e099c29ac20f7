"""How tests react to a missing service: in CI a failure, on a developer's machine a skip."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

FABRIC_ENV = "PLEDGEWATCH_FABRIC"


def in_ci() -> bool:
    """Whether this run is CI (CI set to anything but an explicit no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def service_missing(service: str, message: str) -> NoReturn:
    """Fail in CI, where a missing service is a broken run; skip locally with the reason."""
    if in_ci():
        pytest.fail(f"{service} is required in CI: {message}", pytrace=False)
    pytest.skip(message)


def fabric_unavailable(message: str) -> NoReturn:
    """Fabric is missing: PLEDGEWATCH_FABRIC=1 or CI demand it; =off skips only outside CI."""
    wanted = os.environ.get(FABRIC_ENV, "").strip().lower()
    if wanted and wanted != "off":
        pytest.fail(f"Fabric network required but unavailable: {message}", pytrace=False)
    if wanted == "off" and not in_ci():
        pytest.skip(f"Fabric network tests turned off ({FABRIC_ENV}=off)")
    service_missing(
        "a Fabric network",
        f"Fabric binaries unavailable ({message}); set {FABRIC_ENV}=1 to require them",
    )
