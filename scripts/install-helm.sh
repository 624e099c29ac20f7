#!/usr/bin/env bash
# Installs the helm CLI from its Go module into <repo>/.cache/bin, once.
# The chart tests call this when helm is missing; a second run is a no-op.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${ROOT}/.cache/bin"
HELM="${BIN_DIR}/helm"

if [[ -x "${HELM}" ]] && "${HELM}" version --short 2>/dev/null | grep -q "${HELM_VERSION}"; then
  echo "helm ${HELM_VERSION} already at ${HELM}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if [[ -x "${candidate}" ]]; then PATH="$(dirname "${candidate}"):${PATH}"; break; fi
  done
fi
command -v go >/dev/null 2>&1 || { echo "go is required to install helm" >&2; exit 1; }

mkdir -p "${BIN_DIR}"
# Helm's version string comes from ldflags; without it `helm version` reports v3.x-dev-ish values.
GOBIN="${BIN_DIR}" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
"${HELM}" version --short
