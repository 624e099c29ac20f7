"""An HTTP client that behaves like a careful API user while parts of the service fail.

Connection errors, 5xx answers and `request_in_progress` (a duplicate still being worked on) are
retried with the same request, Idempotency-Key included, until a deadline; every other answer is
final. Money-moving calls carry their key, so a retry can never have a second effect.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.seed import DEMO_PASSWORD

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
RETRY_PAUSE_S = 0.2


class CallFailed(AssertionError):
    """The service did not answer as expected before the deadline."""


@dataclass
class CallStats:
    """How many calls a client made, and how many attempts it needed for them."""

    calls: int = 0
    retries: int = 0
    # Money-moving requests that took effect while their answer was lost (the API died).
    answers_lost: int = 0
    errors: list[str] = field(default_factory=list)


def new_key() -> str:
    """A fresh Idempotency-Key."""
    return uuid.uuid4().hex


class Api:
    """One user's session against the API, retrying what a client may safely retry."""

    def __init__(self, base_url: str, username: str, deadline_s: float = 60.0) -> None:
        """Sign in (retrying while the API starts)."""
        self.base_url = base_url
        self.deadline_s = deadline_s
        self.stats = CallStats()
        # Money-moving requests under way right now: a fault can be aimed at one of them.
        self.keyed_in_flight = 0
        self._http = httpx.Client(base_url=base_url, timeout=20)
        resp = self._send(
            "POST", "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        if resp.status_code != 200:
            raise CallFailed(f"login of {username}: {resp.status_code} {resp.text[:200]}")
        self._auth = {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.deadline_s
        self.stats.calls += 1
        last = ""
        while True:
            try:
                resp = self._http.request(method, path, **kwargs)
                if resp.status_code not in RETRYABLE_STATUS and not _in_progress(resp):
                    return resp
                last = f"{resp.status_code} {resp.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                self.stats.errors.append(f"{method} {path}: {last}")
                raise CallFailed(f"{method} {path} gave up after {self.deadline_s:.0f}s: {last}")
            self.stats.retries += 1
            time.sleep(RETRY_PAUSE_S)

    def call(
        self,
        method: str,
        path: str,
        expect: int | tuple[int, ...],
        key: str | None = None,
        **kw: Any,
    ) -> Any:
        """Send a request (retried as above); return its JSON when the status is expected."""
        headers = {**self._auth, **kw.pop("headers", {})}
        if key is not None:
            headers["Idempotency-Key"] = key
            self.keyed_in_flight += 1
        try:
            resp = self._send(method, path, headers=headers, **kw)
        finally:
            if key is not None:
                self.keyed_in_flight -= 1
        wanted = (expect,) if isinstance(expect, int) else expect
        if resp.status_code not in wanted:
            message = f"{method} {path}: expected {wanted}, got {resp.status_code}: {resp.text}"
            self.stats.errors.append(message[:500])
            raise CallFailed(message[:1000])
        return resp.json() if resp.content else None

    def money_or_lost(self, path: str, key: str, **kw: Any) -> Any | None:
        """POST with a key; the answer, or None when the API says it applied but lost it."""
        out = self.call("POST", path, (202, 409), key=key, **kw)
        if isinstance(out, dict) and out.get("status") == 409:
            if out.get("code") != "request_applied":
                message = f"POST {path}: 409 {out.get('code')}: {out.get('detail')}"
                self.stats.errors.append(message)
                raise CallFailed(message)
            self.stats.answers_lost += 1
            return None
        return out


def _in_progress(resp: httpx.Response) -> bool:
    if resp.status_code != 409:
        return False
    try:
        return bool(resp.json().get("code") == "request_in_progress")
    except ValueError:
        return False
