"""The five parts of a production deployment as separate processes, each restartable after a kill.

Parts start as `python -m services.processes <part>` through the production fixtures'
`Deployment`; each has its readiness URL (the API's own, the probe server of the others), so
"up again" is a polled condition, never a sleep.
"""

from __future__ import annotations

import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.production.conftest import Deployment, Part, free_port, wait_ready

PARTS = ("api", "ingest", "vision", "scheduler", "outbox")
# Jobs that matter under load run every few seconds instead of every minute or quarter hour.
SCHEDULER_ARGS = (
    "--every",
    "pump=1",
    "--every",
    "movement=2",
    "--every",
    "monitoring-revalue=3",
    "--standby-poll",
    "0.3",
)
# The broker keeps the ingest worker's session (and the reads queued for it) this long.
INGEST_SESSION_EXPIRY_S = 120


@dataclass
class PartSpec:
    """How to (re)start one part: its arguments, environment and readiness URL."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str]
    ready_url: str


@dataclass
class FaultStack:
    """A running deployment: the current process of each part and how to start it again."""

    deployment: Deployment
    specs: dict[str, PartSpec] = field(default_factory=dict)
    current: dict[str, Part] = field(default_factory=dict)

    @classmethod
    def plan(
        cls, deployment: Deployment, mqtt_url: str, evidence_dir: Path, share_group: bool = True
    ) -> FaultStack:
        """Ports, client ids and settings of every part; nothing starts yet."""
        api_port = free_port()
        probes = {name: free_port() for name in PARTS if name != "api"}

        def probe(name: str) -> dict[str, str]:
            return {"PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(probes[name])}

        def ready(name: str) -> str:
            return f"http://127.0.0.1:{probes[name]}/readyz"

        tag = uuid.uuid4().hex[:8]
        deployment.env.update(
            {
                "PLEDGEWATCH_VISION__KEY_DIR": str(deployment.folder / "vision-keys"),
                "PLEDGEWATCH_VISION__EVIDENCE_STORE": str(evidence_dir),
                "PLEDGEWATCH_VISION__SPOOL_DIR": str(deployment.folder / "vision-spool"),
            }
        )
        stack = cls(deployment)
        specs = [
            PartSpec(
                "api",
                ("--host", "127.0.0.1", "--port", str(api_port)),
                {},
                f"http://127.0.0.1:{api_port}/readyz",
            ),
            PartSpec(
                "ingest",
                # One client id for every run: the broker hands its session (and the messages
                # queued while it was away) back to the restarted worker, as in production.
                (
                    "--client-id",
                    f"fault-ingest-{tag}",
                    "--session-expiry",
                    str(INGEST_SESSION_EXPIRY_S),
                ),
                {
                    "PLEDGEWATCH_INGEST_MQTT_URL": mqtt_url,
                    "PLEDGEWATCH_MQTT__SHARE_GROUP": f"fault-{tag}" if share_group else "",
                    **probe("ingest"),
                },
                ready("ingest"),
            ),
            PartSpec("vision", (), probe("vision"), ready("vision")),
            PartSpec("scheduler", SCHEDULER_ARGS, probe("scheduler"), ready("scheduler")),
            PartSpec("outbox", ("--interval", "0.5"), probe("outbox"), ready("outbox")),
        ]
        stack.specs = {spec.name: spec for spec in specs}
        return stack

    @property
    def api_url(self) -> str:
        """Base URL of the API."""
        return self.specs["api"].ready_url.removesuffix("/readyz")

    def launch(self, *names: str) -> None:
        """Start processes of these parts without waiting for them."""
        for name in names:
            spec = self.specs[name]
            self.current[name] = self.deployment.start(name, *spec.args, extra_env=spec.env)

    def start(self, *names: str) -> None:
        """Start parts (all by default) and wait until every one is ready."""
        chosen = names or PARTS
        self.launch(*chosen)
        self.wait_ready(*chosen)

    def wait_ready(self, *names: str, timeout: float = 120) -> None:
        """Poll each part's /readyz until it answers 200 (fails with the log if a part dies)."""
        chosen = names or PARTS
        with ThreadPoolExecutor(len(chosen)) as pool:
            waits = [
                pool.submit(wait_ready, self.specs[n].ready_url, self.current[n], timeout)
                for n in chosen
            ]
            for wait in waits:
                wait.result()

    def kill(self, name: str) -> None:
        """kill -9 one part and reap it."""
        part = self.current[name]
        part.proc.send_signal(signal.SIGKILL)
        part.proc.wait(10)

    def restart(self, name: str) -> None:
        """Start a fresh process of a part (same arguments and ports) and wait until it is ready."""
        self.start(name)

    def ready_now(self, name: str) -> bool:
        """Whether a part answers its readiness probe right now."""
        try:
            return httpx.get(self.specs[name].ready_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def exits(self) -> dict[str, list[int | None]]:
        """Per part, the exit codes of its processes so far (None: still running)."""
        codes: dict[str, list[int | None]] = {}
        for part in self.deployment.parts:
            codes.setdefault(part.name, []).append(part.proc.poll())
        return codes
