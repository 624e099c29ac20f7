"""Security headers on every page and asset: a strict CSP, no framing, no sniffing."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles come only from our own static files: no inline script, no inline style
# (htmx's injected indicator style is switched off in base.html; charts set styles via CSSOM).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """ASGI middleware adding PAGE_HEADERS to responses under the given path prefixes.

    Pure ASGI rather than BaseHTTPMiddleware, so the live event streams are not buffered.
    """

    def __init__(
        self, app: ASGIApp, prefixes: tuple[str, ...] = ("/ui",), exact: tuple[str, ...] = ("/",)
    ) -> None:
        self.app = app
        self.prefixes = prefixes
        self.exact = exact

    def _applies(self, path: str) -> bool:
        return path in self.exact or any(
            path == p or path.startswith(p + "/") for p in self.prefixes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http" or not self._applies(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith("/ui/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in PAGE_HEADERS if k not in present]
                if not is_static and b"cache-control" not in present:
                    # Pages show one organisation's business: never keep them in shared caches.
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
