"""Failed sign-ins are throttled per username and per address, on the API and the sign-in form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.ratelimit import LoginLimiter
from services.seed import DEMO_PASSWORD
from tests.api.conftest import Service, make_service, problem_of
from tests.security.conftest import PASSWORD, AppFor, settings_with, sign_in

WINDOW = 300.0


class Clock:
    """A monotonic clock moved by hand, so the sliding window is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The clock the app's limiter reads."""
    return Clock()


@pytest.fixture
def client(app_for: AppFor, clock: Clock, cheap_hashing: None) -> Iterator[TestClient]:
    """The sign-in API with a limiter of 3 failures per user and 5 per address in 300 s."""
    app = app_for(settings_with(login_max_failures=3, login_max_failures_per_address=5))
    app.state.login_limiter = LoginLimiter(3, 5, WINDOW, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def fail(client: TestClient, username: str, times: int) -> None:
    """Sign in with a wrong password `times` times; each must be an ordinary 401."""
    for _ in range(times):
        assert sign_in(client, username, "wrong password!").status_code == 401


def assert_throttled(resp: object, retry_after: int) -> None:
    """A 429 problem telling the client to wait `retry_after` seconds."""
    assert resp.status_code == 429, resp.text  # type: ignore[attr-defined]
    assert problem_of(resp)["code"] == "too_many_login_attempts"
    assert resp.headers["Retry-After"] == str(retry_after)  # type: ignore[attr-defined]


def test_the_limits_come_from_settings() -> None:
    limiter = LoginLimiter.from_settings(
        settings_with(
            login_max_failures=7, login_max_failures_per_address=70, login_window_seconds=60
        )
    )
    assert (limiter.max_failures, limiter.max_failures_per_address, limiter.window) == (7, 70, 60)


def test_repeated_failures_for_a_username_get_429_even_with_the_right_password(
    client: TestClient, clock: Clock
) -> None:
    fail(client, "alice", 3)
    assert_throttled(sign_in(client, "alice"), int(WINDOW))
    clock.now += 100
    # Still throttled, and the wait shrinks as the window slides; case does not dodge it.
    assert_throttled(sign_in(client, "ALICE"), int(WINDOW) - 100)
    # Another user from the same address is not held back by alice's failures.
    assert sign_in(client, "bob").status_code == 200


def test_the_sliding_window_frees_one_attempt_as_each_old_failure_ages_out(
    client: TestClient, clock: Clock
) -> None:
    fail(client, "alice", 1)
    clock.now += 60
    fail(client, "alice", 2)
    assert_throttled(sign_in(client, "alice"), int(WINDOW) - 60)
    clock.now += WINDOW - 60
    # The first failure left the window: one more try, which fails and closes it again.
    fail(client, "alice", 1)
    assert_throttled(sign_in(client, "alice"), 60)
    clock.now += 60
    assert sign_in(client, "alice").status_code == 200


def test_a_successful_sign_in_resets_the_usernames_count(client: TestClient) -> None:
    fail(client, "alice", 2)
    assert sign_in(client, "alice").status_code == 200
    fail(client, "alice", 2)
    assert sign_in(client, "alice", PASSWORD).status_code == 200


def test_failures_across_usernames_from_one_address_throttle_that_address(
    client: TestClient, clock: Clock
) -> None:
    # Two per username stays under the per-user limit; the address limit (5) still trips.
    fail(client, "alice", 2)
    fail(client, "bob", 2)
    fail(client, "nobody-at-all", 1)
    assert_throttled(sign_in(client, "carol"), int(WINDOW))
    # A success does not wipe the address's count, so one known account cannot reset it.
    clock.now += WINDOW
    assert sign_in(client, "carol").status_code == 200
    limiter = client.app.state.login_limiter  # type: ignore[attr-defined]
    elsewhere = TestClient(client.app, client=("198.51.100.7", 40000))
    # The same limiter serves every caller; another address has its own budget.
    assert elsewhere.app.state.login_limiter is limiter  # type: ignore[attr-defined]
    fail(client, "alice", 3)
    assert sign_in(client, "alice").status_code == 429
    assert sign_in(elsewhere, "alice").status_code == 200


def test_a_throttled_request_does_not_extend_its_own_wait(client: TestClient, clock: Clock) -> None:
    fail(client, "alice", 3)
    for _ in range(10):
        assert sign_in(client, "alice", "still guessing").status_code == 429
    clock.now += WINDOW
    assert sign_in(client, "alice").status_code == 200


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Service]:
    """The whole app (API and dashboards) on SQLite with the demo organisations."""
    yield from make_service(f"sqlite:///{tmp_path / 'site.sqlite3'}", tmp_path)


def form_login(client: TestClient, username: str, password: str) -> object:
    """Open the sign-in page and post the form with its CSRF token, as a browser would."""
    page = client.get("/ui/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    data = {"username": username, "password": password, "csrf_token": match[1], "next": ""}
    return client.post("/ui/login", data=data, follow_redirects=False)


def test_the_sign_in_form_shares_the_limit_with_the_api(site: Service) -> None:
    client, limit = site.client, site.container.settings.auth.login_max_failures
    for _ in range(limit - 1):
        assert form_login(client, "acme.clerk", "wrong password!").status_code == 401
    assert sign_in(client, "acme.clerk", "wrong password!").status_code == 401
    page = form_login(client, "acme.clerk", DEMO_PASSWORD)
    assert page.status_code == 429  # type: ignore[attr-defined]
    assert int(page.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in page.text  # type: ignore[attr-defined]
    # No session was opened for the throttled (correct) password.
    assert "pw_session" not in page.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert sign_in(client, "acme.clerk", DEMO_PASSWORD).status_code == 429
    assert form_login(client, "bank1.officer", DEMO_PASSWORD).status_code == 303
