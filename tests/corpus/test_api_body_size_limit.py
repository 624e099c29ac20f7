"""The request body limit: 413 problem+json whether the size is declared or the body streams.

In process, on the shared service; and against a real uvicorn API process (started as the chart
starts it) with a small limit, where a client declaring a huge body is answered at once, before
it sends the body, and the process serves on.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx

from tests.api.conftest import problem_of
from tests.corpus.conftest import Corpus
from tests.production.conftest import Deployment, free_port, wait_ready

LIMIT = 64 * 1024


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A JSON body of `total` bytes, sent in chunks without a Content-Length."""
    yield b'{"code": "WH-STREAM", "name": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_a_streamed_body_past_the_limit_is_refused_as_it_arrives(corpus: Corpus) -> None:
    before = corpus.snapshot()
    resp = corpus.service.client.post(
        "/warehouses",
        headers={**corpus.world.who.wh, "Content-Type": "application/json"},
        content=chunks(5 * 1024 * 1024),
    )
    assert resp.status_code == 413
    problem = problem_of(resp)
    assert problem["code"] == "payload_too_large" and problem["limit"] == 4 * 1024 * 1024
    assert corpus.snapshot() == before


def test_a_vision_report_may_be_larger_than_other_bodies(corpus: Corpus) -> None:
    # Five MiB is past the default limit but within the evidence routes' own: the body is read
    # and judged on its content (no such camera here), not refused for its size.
    body = {"camera_id": "nope", "at": "2026-03-01T10:00:00Z", "kind": "covered"}
    body |= {"active": True, "measure": 1.0, "padding": "x" * (5 * 1024 * 1024)}
    resp = corpus.service.client.post(
        "/vision/tamper", headers=corpus.watched.device, content=json.dumps(body).encode()
    )
    assert resp.status_code == 422
    assert problem_of(resp)["code"] == "validation_error"


def raw_exchange(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send raw bytes over one connection and read the answer until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    """The status code and JSON body of a raw HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        size, _, rest = body.partition(b"\r\n")
        body = rest[: int(size, 16)]
    parsed: dict[str, object] = json.loads(body)
    return status, parsed


def test_a_real_api_process_refuses_huge_bodies_and_serves_on(
    db_deployment: Deployment,
) -> None:
    port = free_port()
    api = db_deployment.start(
        "api",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        extra_env={"PLEDGEWATCH_API__MAX_BODY_BYTES": str(LIMIT)},
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/healthz", api)

    # A client announcing 100 MB is answered after its headers, before it sends the body.
    head = (
        b"POST /auth/token HTTP/1.1\r\nHost: api\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    status, problem = status_and_body(raw_exchange(port, head, b"username=a&password="))
    assert status == 413 and problem["code"] == "payload_too_large"
    assert problem["limit"] == LIMIT

    # A chunked body is counted as it comes and refused once it passes the limit.
    piece = b"a" * 8192
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(LIMIT // 8192 + 2))
    head = (
        b"POST /warehouses HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    status, problem = status_and_body(raw_exchange(port, head, chunked + b"0\r\n\r\n"))
    assert status == 413 and problem["code"] == "payload_too_large"

    # A NUL in the path never reaches a route (nor the database).
    resp = httpx.get(f"{base}/warehouses/a%00b", timeout=10)
    assert resp.status_code == 400 and resp.json()["code"] == "nul_character"

    # Bodies under the limit go through, and the process is still serving.
    resp = httpx.post(f"{base}/auth/token", data={"username": "nobody", "password": "x" * 1000})
    assert resp.status_code == 401
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    assert api.proc.poll() is None
    assert not [line for line in api.log_lines() if "Traceback" in line]
