"""A train/test split by whole videos (`--split_by=video`, `--test_fraction`).

Every clip of a video goes to the same side, so no test clip shares frames or a scene
with a training clip of the same video. The videos of each class (one group when there
are no labels) are ordered by the SHA-1 of their id, and the first
round(test_fraction x n) go to the test side, at least one and at most n - 1 when the
group has two videos or more (a group of one stays on the train side): every class with
two videos or more is on both sides. The order depends on the ids only, so a rerun, or
another runner, gives the same split.
"""
from __future__ import annotations

import hashlib


def _order(video_id: str) -> tuple:
    return hashlib.sha1(video_id.encode()).hexdigest(), video_id


def number_for_test(videos: int, fraction: float) -> int:
    """How many of a group's `videos` go to the test side."""
    if videos < 2:
        return 0
    return min(max(1, int(round(fraction * videos))), videos - 1)


def choose_test_videos(groups: dict, fraction: float) -> set:
    """{group (a class, or None): [video ids]} -> the ids on the test side."""
    chosen = set()
    for ids in groups.values():
        ordered = sorted(set(ids), key=_order)
        chosen.update(ordered[:number_for_test(len(ordered), fraction)])
    return chosen
