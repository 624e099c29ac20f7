"""Login throttling: too many failed sign-ins for a username, or from an address, wait a while.

The limiter lives in the process. Each API process counts on its own, so with N processes an
attacker gets at most N times the budget; that still turns online guessing from thousands of
tries a minute into a handful, and needs no shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

from services.api.problems import problem
from services.settings import Settings

# Far more keys than any real burst touches; past this the stalest are forgotten so a flood of
# made-up usernames cannot grow memory without bound.
MAX_TRACKED_KEYS = 100_000


@dataclass(frozen=True)
class Verdict:
    """Whether a sign-in may be tried now, and if not, how many seconds until it may."""

    allowed: bool
    retry_after: int = 0


class LoginLimiter:
    """Counts failed sign-ins in a sliding window, per username+address and per address."""

    def __init__(
        self,
        max_failures: int,
        max_failures_per_address: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        """A limiter with the limits in `settings.auth`."""
        auth = settings.auth
        return cls(
            auth.login_max_failures, auth.login_max_failures_per_address, auth.login_window_seconds
        )

    def _keys(self, username: str, address: str) -> list[tuple[tuple[str, ...], int]]:
        # Usernames are case-insensitive at sign-in, so they must be here too, or "Bob" and
        # "bob" would each get a full budget.
        name = username.strip().lower()
        return [
            (("user", name, address), self.max_failures),
            (("address", address), self.max_failures_per_address),
        ]

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def check(self, username: str, address: str) -> Verdict:
        """Whether a sign-in for `username` from `address` may be tried now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(username, address):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    # The window slides: the attempt is allowed again once enough of the
                    # oldest failures have aged out to bring the count under the limit.
                    frees_at = stamps[len(stamps) - limit] + self.window
                    wait = max(wait, frees_at - now)
        if wait > 0:
            return Verdict(False, max(1, math.ceil(wait)))
        return Verdict(True)

    def failed(self, username: str, address: str) -> None:
        """Count one failed sign-in."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_KEYS:
                self._forget_stalest()
            for key, _ in self._keys(username, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str) -> None:
        """Forget this username's failures from this address; the address count stays."""
        # Keeping the per-address count stops one valid account from being used to reset the
        # budget for guessing at everyone else's.
        key = self._keys(username, address)[0][0]
        with self._lock:
            self._failures.pop(key, None)

    def _forget_stalest(self) -> None:
        by_age = sorted(self._failures, key=lambda k: self._failures[k][-1])
        for key in by_age[: len(by_age) // 10 or 1]:
            del self._failures[key]


_create_lock = threading.Lock()


def login_limiter(request: Request) -> LoginLimiter:
    """The app's one limiter, shared by the API sign-in and the dashboard sign-in form."""
    state = request.app.state
    limiter: LoginLimiter | None = getattr(state, "login_limiter", None)
    if limiter is None:
        with _create_lock:
            limiter = getattr(state, "login_limiter", None)
            if limiter is None:
                limiter = LoginLimiter.from_settings(state.container.settings)
                state.login_limiter = limiter
    return limiter


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (proxies: set uvicorn's forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def too_many_attempts(verdict: Verdict, instance: str = "") -> JSONResponse:
    """The 429 problem+json answer, telling the client when to try again."""
    response = problem(
        429,
        "too_many_login_attempts",
        f"too many failed sign-ins; try again in {verdict.retry_after} s",
        instance,
    )
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response
