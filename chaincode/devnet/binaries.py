"""The Fabric binaries, built from the Go module proxy with `go install` and cached."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from chaincode.devnet.layout import (
    FABRIC_MODULE,
    FABRIC_PSEUDO_VERSION,
    FABRIC_VERSION,
    TOOLS,
    Layout,
)

Progress = Callable[[str], None]


class BinariesUnavailableError(RuntimeError):
    """The Fabric binaries are missing and could not be built."""


def missing_tools(layout: Layout) -> list[str]:
    """Names of the Fabric binaries not yet in the cache."""
    return [name for name in TOOLS if not os.access(layout.tool(name), os.X_OK)]


def ensure_binaries(layout: Layout, progress: Progress = lambda line: None) -> bool:
    """Build the five binaries unless all exist; True when a build ran."""
    if not missing_tools(layout):
        return False
    go = shutil.which("go")
    if go is None:
        raise BinariesUnavailableError("Go is not installed: it is needed to build Fabric")
    layout.bin_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        # Nothing in these tools needs C (PKCS#11 sits behind a build tag).
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOBIN": str(layout.bin_dir),
    }
    ldflags = f"-X {FABRIC_MODULE}/common/metadata.Version={FABRIC_VERSION}"
    packages = [f"{FABRIC_MODULE}/cmd/{name}@{FABRIC_PSEUDO_VERSION}" for name in TOOLS]
    command = [go, "install", "-v", "-ldflags", ldflags, *packages]
    progress(f"building Fabric {FABRIC_VERSION} binaries (about 2 minutes the first time)")
    lines: list[str] = []
    # Fixed argument lists of our own: no shell, no untrusted input.
    with subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            # `go install -v` names each package as it compiles it: that is the progress.
            progress(line.rstrip())
        code = proc.wait()
    if code != 0 or missing_tools(layout):
        tail = "\n".join(lines[-15:])
        hint = ""
        if "403" in tail or "not available" in tail:
            hint = (
                "\nThe Go module proxy refused the Fabric module: it cannot be built from here."
                " Put the five binaries in the folder above by other means."
            )
        raise BinariesUnavailableError(
            f"`go install` of Fabric failed (exit {code}); binaries go to {layout.bin_dir}\n"
            f"{tail}{hint}"
        )
    return True


def sample_config_dir(progress: Progress = lambda line: None) -> Path:
    """Fabric's sampleconfig folder (stock core.yaml, orderer.yaml) in the Go module cache."""
    go = shutil.which("go")
    if go is None:
        raise BinariesUnavailableError("Go is not installed: it provides Fabric's sample config")
    module = f"{FABRIC_MODULE}@{FABRIC_PSEUDO_VERSION}"
    modcache = subprocess.run(  # noqa: S603
        [go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    candidate = Path(modcache) / module / "sampleconfig"
    if (candidate / "core.yaml").is_file():
        return candidate
    # The build cache may have been cleaned since the binaries were built: fetch the module.
    progress(f"downloading {module} for its sample configuration")
    found = subprocess.run(  # noqa: S603
        [go, "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        check=False,
    )
    try:
        folder = Path(json.loads(found.stdout)["Dir"]) / "sampleconfig"
    except (ValueError, KeyError) as exc:
        raise BinariesUnavailableError(
            f"cannot find Fabric's sampleconfig: {found.stdout}{found.stderr}"
        ) from exc
    if not (folder / "core.yaml").is_file():
        raise BinariesUnavailableError(f"no core.yaml in {folder}")
    return folder
