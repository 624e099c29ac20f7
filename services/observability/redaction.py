"""Redaction of secrets from log events: configured values, token shapes and sensitive keys."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

REDACTED = "[REDACTED]"

# Keys whose value is a secret whatever it looks like (compared lower-case, '-' read as '_').
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "passwd",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "x_api_key",
        "client_secret",
        "jwt_secret",
        "lien_key_secret",
        "commitment_salt",
        "private_key",
    }
)

# Shapes of secrets that may turn up inside free text (exception messages, URLs, headers).
_PATTERNS = (
    # JWTs: three base64url segments, the first two starting with '{"' encoded.
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # Our API keys: pw_<8 hex>_<rest>.
    re.compile(r"\bpw_[0-9a-f]{8}_[A-Za-z0-9_-]{8,}"),
    # Bearer/Basic credentials after an Authorization-like word.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # user:password@ in URLs.
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    # key=value / key: value pairs naming a secret.
    re.compile(
        r"(?i)\b(password|passwd|secret|token|api[_-]?key|authorization)"
        r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
    ),
    # PEM private keys.
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
)


def _normal_key(key: object) -> str:
    return str(key).lower().replace("-", "_")


def secrets_of_url(url: str) -> list[str]:
    """The password inside a URL such as postgresql://user:pass@host/db, if any."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


class Redactor:
    """Replaces known secret values, secret shapes and values under secret keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Remember the literal secrets (short ones are ignored: they would mask ordinary text)."""
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Add more literal secrets, e.g. after settings were reloaded."""
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True
        )

    def text(self, value: str) -> str:
        """A copy of `value` with every secret replaced."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            value = pattern.sub(self._replacement, value)
        return value

    @staticmethod
    def _replacement(match: re.Match[str]) -> str:
        if match.lastindex and match.lastindex >= 3:
            # key=value: keep the key so the line still says what was hidden.
            return f"{match.group(1)}{match.group(2)}{REDACTED}"
        if match.lastindex == 1:
            return f"{match.group(1)} {REDACTED}"
        return REDACTED

    def value(self, value: Any, key: object = None) -> Any:
        """Redact one value of a log event, recursing into mappings and sequences."""
        if key is not None and _normal_key(key) in SENSITIVE_KEYS and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(v) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.text(str(value))

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """structlog processor: redact every field of the event."""
        return {k: self.value(v, k) for k, v in event.items()}
