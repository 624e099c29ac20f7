"""A browser-like client for the dashboards: signs in through the form and sends CSRF tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from services.seed import DEMO_PASSWORD

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page (the last value wins when a name repeats)."""
    return {m["name"]: m["value"] for m in _HIDDEN.finditer(html)}


@dataclass
class Browser:
    """One person's cookie jar on the running app."""

    client: TestClient
    csrf: str = ""

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> Any:
        """Open the sign-in page, then post the form with its token, as a browser would."""
        form = self.client.get("/ui/login")
        assert form.status_code == 200, form.text
        token = hidden_fields(form.text)["csrf_token"]
        resp = self.client.post(
            "/ui/login",
            data={"username": username, "password": password, "csrf_token": token, "next": ""},
            follow_redirects=False,
        )
        assert resp.status_code == 303, resp.text
        home = self.client.get("/ui/account")
        assert home.status_code == 200, home.text
        self.csrf = hidden_fields(home.text)["csrf_token"]
        return resp

    def get(self, path: str, **kwargs: Any) -> Any:
        """A page, without following redirects."""
        return self.client.get(path, follow_redirects=False, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post carrying the session's CSRF token."""
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(path, data=body, follow_redirects=False, **kwargs)


def browser(service: Any, username: str) -> Browser:
    """A fresh cookie jar on the service's app, signed in as `username`."""
    person = Browser(TestClient(service.client.app, base_url="http://testserver"))
    person.sign_in(username)
    return person
