"""Duplicate images and the splits: how many copies can leak from training into test.

Pure functions over what a results store holds (the duplicate groups as sample ids or
indices, and one run's CV group per sample), for the run output and the reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def duplicates_spanning_groups(
    duplicates: Sequence[Sequence], groups: np.ndarray, sample_ids: Sequence[str] | None = None
) -> list[list]:
    """The duplicate groups whose members fall in more than one CV group of a split.

    ``duplicates``: groups of identical images, as sample indices, or as sample ids when
    ``sample_ids`` (the id of every sample, in sample order) is given; ``groups``: the
    CV group of every sample for one run (shape ``(n_samples,)``, ints, as
    :meth:`fer_bench.model_selection.Protocol.groups` returns and the store's ``splits``
    table holds). A returned group can put one copy in training and another in test.
    ``len()`` of the result is the count a report shows.
    """
    groups = np.asarray(groups)
    position = {sid: i for i, sid in enumerate(sample_ids)} if sample_ids is not None else None
    spanning = []
    for members in duplicates:
        index = [position[m] for m in members] if position is not None else [int(m) for m in members]
        if len(set(groups[index].tolist())) > 1:
            spanning.append(list(members))
    return spanning


def duplicate_warning(duplicates: Sequence[Sequence[str]], groups: np.ndarray, sample_ids: Sequence[str]) -> str:
    """The one-line warning the run prints about identical images (same bytes, or
    different files with the same decoded pixels), with how many groups one run's split
    puts on both sides."""
    spanning = duplicates_spanning_groups(duplicates, groups, sample_ids)
    return (
        f"warning: {len(duplicates)} groups of identical images (same bytes or same decoded pixels) leak across "
        f"folds: {len(spanning)} of them span more than one CV group in run 1, e.g. "
        + ", ".join(str(s) for s in (spanning or duplicates)[0][:3])
    )
