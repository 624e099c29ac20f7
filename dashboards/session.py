"""The browser session: the access token in an HttpOnly cookie, and CSRF tokens bound to it.

The cookie carries the same signed JWT the API issues, so a page acts with exactly the identity,
organisation and roles a bearer-token caller would have. The CSRF token is an HMAC of the
token's unique id (jti): it changes with every sign-in, needs no server-side store, and cannot
be forged without the signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from services.settings import Mode, Settings

SESSION_COOKIE = "pw_session"
LOGIN_CSRF_COOKIE = "pw_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def csrf_for(settings: Settings, jti: str) -> str:
    """The synchronizer token of one signed-in session."""
    key = settings.auth.jwt_secret.encode()
    return hmac.new(key, f"pledgewatch-csrf:{jti}".encode(), hashlib.sha256).hexdigest()


def tokens_match(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return bool(presented) and hmac.compare_digest(expected, presented or "")


def new_login_nonce() -> str:
    """A random token for the sign-in form, before any session exists (double submit)."""
    return secrets.token_urlsafe(24)


def cookie_options(settings: Settings, max_age: int | None) -> dict[str, object]:
    """Attributes every session cookie gets: not readable by scripts, not sent cross-site."""
    return {
        "httponly": True,
        "samesite": "lax",
        # Plain HTTP on loopback in development; production sits behind TLS.
        "secure": settings.mode is Mode.PRODUCTION,
        "path": "/ui",
        "max_age": max_age,
    }
