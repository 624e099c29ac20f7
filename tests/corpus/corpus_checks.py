"""What every refused input must show: a 4xx problem+json naming the problem, and no change."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.api.conftest import problem_of

if TYPE_CHECKING:
    from tests.corpus.conftest import Corpus


@dataclass(frozen=True)
class Case:
    """One bad request: where it goes, what it carries, and the refusal it must get.

    `body` is sent as is when it is bytes, else as JSON. `{bay}`, `{warehouse}`, `{loan}`,
    `{lot}`, `{receipt}` and `{product}` in the path or the body become the shared state's ids.
    """

    name: str
    path: str
    body: Any
    status: int
    code: str
    mention: str = ""  # words the problem's detail must contain (case-insensitive)
    who: str = "wh"
    method: str = "POST"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def ids_of(corpus: Corpus) -> dict[str, str]:
    """The placeholders a case may use, and the shared state's ids they stand for."""
    shared = corpus.world
    return {
        "{bay}": shared.site.bay["id"],
        "{warehouse}": shared.site.warehouse["id"],
        "{loan}": shared.deal.loan["id"],
        "{lot}": shared.free_goods.lot["id"],
        "{receipt}": shared.free_goods.receipt["id"],
        "{product}": shared.deal.product["id"],
    }


def fill(raw: bytes, ids: dict[str, str]) -> bytes:
    """The bytes with every placeholder replaced."""
    for placeholder, value in ids.items():
        raw = raw.replace(placeholder.encode(), value.encode())
    return raw


def encoded(body: Any) -> bytes:
    """A case body as the bytes on the wire."""
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


def send(corpus: Corpus, case: Case) -> Any:
    """Send a case as its party and return the response."""
    ids = ids_of(corpus)
    path = fill(case.path.encode(), ids).decode()
    who = getattr(corpus.world.who, case.who)
    headers = {**who, "Content-Type": case.content_type, **case.headers}
    client = corpus.service.client
    return client.request(case.method, path, headers=headers, content=fill(encoded(case.body), ids))


def assert_refused(resp: Any, case: Case) -> dict[str, Any]:
    """A 4xx problem+json with the case's status and code, whose detail names the problem."""
    assert 400 <= resp.status_code < 500, f"{case.name}: {resp.status_code} {resp.text[:300]}"
    assert resp.status_code == case.status, f"{case.name}: {resp.text[:300]}"
    problem = problem_of(resp)
    assert problem["code"] == case.code, problem
    named = " ".join(
        [problem["detail"], *(f"{e['field']} {e['message']}" for e in problem.get("errors", []))]
    )
    assert case.mention.lower() in named.lower(), problem
    return problem


def check_case(corpus: Corpus, case: Case) -> dict[str, Any]:
    """Send a bad case and check it was refused clearly and changed nothing."""
    before = corpus.snapshot()
    problem = assert_refused(send(corpus, case), case)
    assert corpus.snapshot() == before, f"{case.name} changed stored state"
    return problem
