"""Where the camera edge finds its shared pieces in the container: the evidence store."""

from __future__ import annotations

from typing import Any

from vision.evidence import EvidenceStore, store_for

STORE_KEY = "vision.evidence_store"


def evidence_store(container: Any) -> EvidenceStore:
    """The evidence store from settings (a folder or an object-store URL), built once."""
    store: EvidenceStore | None = container.extras.get(STORE_KEY)
    if store is None:
        store = store_for(container.settings.vision.evidence_store)
        container.extras[STORE_KEY] = store
    return store
