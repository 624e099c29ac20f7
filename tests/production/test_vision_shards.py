"""Vision shards: each camera belongs to one shard, chosen from the shard index alone."""

from __future__ import annotations

from collections import Counter

import pytest

from services.processes import cameras_for_shard, shard_for, shard_index_from_hostname

CAMERAS = [f"cam-{i:03d}" for i in range(400)]


def test_every_camera_belongs_to_exactly_one_shard() -> None:
    shards = 5
    owned = [cameras_for_shard(CAMERAS, index, shards) for index in range(shards)]
    flat = [camera for part in owned for camera in part]
    assert sorted(flat) == sorted(CAMERAS)
    assert len(flat) == len(set(flat))


def test_the_assignment_is_stable_and_roughly_even() -> None:
    first = {c: shard_for(c, 4) for c in CAMERAS}
    again = {c: shard_for(c, 4) for c in reversed(CAMERAS)}
    assert first == again
    counts = Counter(first.values())
    assert set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) < 1.4 * len(CAMERAS) / 4


def test_adding_a_shard_moves_only_the_cameras_the_new_shard_takes() -> None:
    before = {c: shard_for(c, 4) for c in CAMERAS}
    after = {c: shard_for(c, 5) for c in CAMERAS}
    moved = [c for c in CAMERAS if before[c] != after[c]]
    assert all(after[c] == 4 for c in moved)
    assert 0.1 < len(moved) / len(CAMERAS) < 0.3


def test_the_shard_index_is_the_statefulset_pod_ordinal() -> None:
    assert shard_index_from_hostname("pw-pledgewatch-vision-0") == 0
    assert shard_index_from_hostname("pw-pledgewatch-vision-12") == 12
    with pytest.raises(ValueError):
        shard_index_from_hostname("pw-pledgewatch-vision")
    with pytest.raises(ValueError):
        cameras_for_shard(CAMERAS, 3, 3)
