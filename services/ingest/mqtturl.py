"""Parse ``mqtt://user:password@host:port`` broker addresses."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens and which account to use there."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def with_account(self, username: str, password: str) -> BrokerAddress:
        """The same broker with another account."""
        return BrokerAddress(self.host, self.port, username, password)

    def url(self) -> str:
        """The address back as a URL, without credentials."""
        return f"mqtt://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Read an ``mqtt://`` URL; the port defaults to 1883."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"not an mqtt:// URL: {parts.scheme}://...")
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 1883,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
