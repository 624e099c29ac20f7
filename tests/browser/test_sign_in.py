"""Signing in and out in a real browser; pages for people who are not signed in."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.harness import LiveServer, screenshot


def test_a_logged_out_visitor_is_sent_to_sign_in_and_lands_back_after_it(
    open_as: Any, server: LiveServer
) -> None:
    page = open_as(None)
    page.goto(server.url("/ui/account"))
    assert re.search(r"/ui/login\?next=/ui/account$", page.url)
    screenshot(page, "sign-in")
    page.get_by_label("Username").fill("bank1.officer")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().strip() != ""
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ui/account$"))
    assert "First Harbour Bank" in page.inner_text("main")
    cookie = next(c for c in page.context.cookies() if c["name"] == "pw_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_pages_carry_a_strict_content_security_policy_and_refuse_framing(
    open_as: Any, server: LiveServer
) -> None:
    page = open_as("bank1.officer")
    answer = page.goto(server.url("/ui/bank/loans"))
    assert answer is not None
    headers = answer.headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    # The pages' own scripts ran under that policy: htmx is loaded and the stream is up.
    assert page.evaluate("typeof htmx") == "object"
    expect(page.locator("#live-status .live-text")).to_have_text("live")


def test_signing_out_ends_the_session(open_as: Any, server: LiveServer) -> None:
    page = open_as("auditor")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/ui/login$"))
    page.goto(server.url("/ui/account"))
    assert "/ui/login" in page.url
