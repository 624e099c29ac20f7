"""The helm binary for the chart tests: the repository's cached one, installed on first use.

scripts/install-helm.sh builds helm from its Go module into .cache/bin (a few minutes, once).
Without Go the chart cannot be checked: a failure in CI, a skip on a developer's machine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.service_gate import service_missing

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".cache" / "bin" / "helm"
CHART = REPO / "helm" / "pledgewatch"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
# A Kubernetes version both helm's kubeVersion check and kubernetes-validate's schemas know.
KUBE_VERSION = "1.33.0"


@pytest.fixture(scope="session")
def helm() -> Path:
    """Path of a working helm binary."""
    if not HELM.exists():
        if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
            service_missing("helm", "helm is not in .cache/bin and Go is not installed to build it")
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "install-helm.sh")],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"scripts/install-helm.sh failed:\n{done.stderr[-3000:]}", pytrace=False)
    return HELM
