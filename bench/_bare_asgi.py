"""The floor under the API bench: a bare ASGI app answering a fixed JSON body under uvicorn.

Started exactly as `pledgewatch api` starts the real app (uvicorn.run, log_config=None,
access_log=False, default loop and HTTP parser), so the two differ only in the application.

    python -m bench._bare_asgi --port 8123 --bytes 700
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_ENVELOPE = b'{"pad":""}'


def json_body(size: int) -> bytes:
    """A valid JSON object of exactly `size` bytes."""
    if size < len(_ENVELOPE):
        raise ValueError(f"a body needs at least {len(_ENVELOPE)} bytes")
    return b'{"pad":"' + b"x" * (size - len(_ENVELOPE)) + b'"}'


def make_app(size: int) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app that answers every request 200 with the same JSON body."""
    body = json_body(size)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    """Serve the bare app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.bytes), host=args.host, port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
