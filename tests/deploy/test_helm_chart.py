"""The chart lints, renders for each example values file, and every manifest it renders is valid
against the Kubernetes schemas kubernetes-validate ships (no network at validation time)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import CHART, EXAMPLES, KUBE_VERSION

# Every Secret written by the chart itself (trial installs), so their templates are checked too.
CREATED_SECRETS = ["-f", str(Path(__file__).with_name("trial-secrets.yaml"))]
VARIANTS = (
    {"defaults": []}
    | {path.stem: ["-f", str(path)] for path in EXAMPLES}
    | {"trial-secrets": CREATED_SECRETS}
)


def render(helm: Path, *args: str) -> list[dict[str, Any]]:
    """`helm template` of the chart with `args`, parsed into manifests."""
    done = subprocess.run(
        [str(helm), "template", "pw", str(CHART), "--kube-version", KUBE_VERSION, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Manifests of one kind by name."""
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_the_chart_has_two_example_values_files() -> None:
    assert {p.stem for p in EXAMPLES} == {"small-warehouse", "large-warehouse"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_lint_passes_strictly(helm: Path, variant: str) -> None:
    done = subprocess.run(
        [
            str(helm),
            "lint",
            "--strict",
            str(CHART),
            "--kube-version",
            KUBE_VERSION,
            *VARIANTS[variant],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_manifest_validates_against_the_kubernetes_schemas(
    helm: Path, variant: str
) -> None:
    manifests = render(helm, *VARIANTS[variant])
    assert len(manifests) >= 15
    invalid = {}
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            invalid[f"{manifest['kind']}/{manifest['metadata']['name']}"] = str(exc)[:300]
    assert invalid == {}


def test_the_validator_refuses_a_broken_manifest(helm: Path) -> None:
    # The check above means something only if a wrong field does fail offline.
    deployment = next(m for m in render(helm) if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = (
        "/"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def test_values_outside_the_schema_are_refused(helm: Path) -> None:
    for bad in ("vision.shards=0", "config.ledgerKind=sqlite", "typo=1"):
        done = subprocess.run(
            [str(helm), "template", "pw", str(CHART), "--kube-version", KUBE_VERSION, "--set", bad],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0 and "schema" in done.stderr, bad


def test_the_large_warehouse_renders_every_part_with_probes_budgets_and_policies(
    helm: Path,
) -> None:
    large = next(p for p in EXAMPLES if p.stem == "large-warehouse")
    manifests = render(helm, "-f", str(large))
    values = yaml.safe_load(large.read_text())
    deployments = by_kind(manifests, "Deployment")
    assert set(deployments) == {
        f"pw-pledgewatch-{p}" for p in ("api", "ingest", "scheduler", "outbox")
    }
    (vision,) = by_kind(manifests, "StatefulSet").values()
    assert vision["spec"]["replicas"] == values["vision"]["shards"] == 8
    assert vision["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "vision",
        "run",
        "--shards",
        "8",
    ]
    (hpa,) = by_kind(manifests, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "pw-pledgewatch-api"
    assert hpa["spec"]["maxReplicas"] == 12
    assert "replicas" not in deployments["pw-pledgewatch-api"]["spec"]  # the HPA owns it
    assert deployments["pw-pledgewatch-ingest"]["spec"]["replicas"] == 4
    for workload in [*deployments.values(), vision]:
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        # Secrets come from Secret references, never from literal values in the manifest.
        assert "secretKeyRef" in env["PLEDGEWATCH_AUTH__JWT_SECRET"]["valueFrom"]
        assert "secretKeyRef" in env["PLEDGEWATCH_DB__URL"]["valueFrom"]
    ingest_args = deployments["pw-pledgewatch-ingest"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert ingest_args[:3] == ["ingest", "--client-id", "$(POD_NAME)"]
    assert set(by_kind(manifests, "PodDisruptionBudget")) == {
        f"pw-pledgewatch-{p}" for p in ("api", "ingest", "vision", "scheduler", "outbox")
    }
    policies = by_kind(manifests, "NetworkPolicy")
    assert "pw-pledgewatch-default-deny" in policies
    egress = policies["pw-pledgewatch-egress"]["spec"]["egress"]
    cidrs = {b["ipBlock"]["cidr"] for rule in egress for b in rule.get("to", []) if "ipBlock" in b}
    assert cidrs == {"10.40.0.0/16", "10.41.0.0/16"}
    (job,) = by_kind(manifests, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    config = next(iter(by_kind(manifests, "ConfigMap").values()))["data"]
    assert config["PLEDGEWATCH_MODE"] == "production"
    assert config["PLEDGEWATCH_LEDGER__KIND"] == "fabric"
    # External services only: the chart deploys no database, broker or Fabric node.
    images = {
        c["image"]
        for w in [*deployments.values(), vision, job]
        for c in w["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.example.com/pledgewatch:0.1.0"}


def test_created_secrets_exist_before_the_migrations_hook_needs_them(helm: Path) -> None:
    manifests = render(helm, *CREATED_SECRETS)
    secrets = by_kind(manifests, "Secret")
    assert set(secrets) == {
        "pw-pledgewatch-app",
        "pw-pledgewatch-fabric",
        "pw-pledgewatch-readers",
        "pw-pledgewatch-camera-keys",
    }
    (job,) = by_kind(manifests, "Job").values()
    job_weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for name in ("pw-pledgewatch-app", "pw-pledgewatch-readers"):
        notes = secrets[name]["metadata"]["annotations"]
        assert "pre-install" in notes["helm.sh/hook"]
        assert int(notes["helm.sh/hook-weight"]) < job_weight
    assert [c["name"] for c in job["spec"]["template"]["spec"]["containers"]] == [
        "migrate",
        "register-readers",
    ]
