"""Official splits (train / val / test) and the duplicates that cross them.

Large FER datasets come with their own split: FER2013's ``Usage`` column (Training,
PublicTest, PrivateTest; Goodfellow et al. 2013, "Challenges in representation learning",
ICONIP / Neural Networks 64:59-63, 2015) and RAF-DB's ``train_`` / ``test_`` file names
(Li, Deng & Du 2017, "Reliable crowdsourcing and deep locality-preserving learning for
expression recognition in the wild", CVPR). A source that knows the split stores it in a
``split`` column of :attr:`Dataset.samples <fer_bench.datasets.base.Dataset.samples>`, one of
:data:`SPLITS` per image, or ``None`` for every image when there is no split.

:class:`SplitDataset` is a :class:`~fer_bench.datasets.base.Dataset` whose fingerprint
also covers that column: two copies of FER2013 that differ only in which images are
test images are different benchmarks.

The duplicate functions below take *groups of sample indices* (each group: the indices of
images found identical, however they were found — equal bytes, equal decoded pixels) and
the split/label columns, and count what matters for a holdout evaluation: groups that
cross splits, test images with a copy in train (the test score then measures, in part,
memorisation), and groups whose copies carry different labels (label noise). They are
pure functions of their inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .base import SPLITS, Dataset  # noqa: F401  (SPLITS is re-exported for the sources)


@dataclass
class SplitDataset(Dataset):
    """A :class:`Dataset` from a source that always knows its split: ``samples`` must
    have a ``split`` column (see :data:`SPLITS`). The base class validates the values,
    puts the split into the fingerprint and counts it in ``summary()``."""

    def __post_init__(self):
        if "split" not in self.samples.columns:
            raise DatasetError(f"dataset {self.spec!r}: a split-aware source must fill a 'split' column")
        super().__post_init__()


# -- duplicates and splits -----------------------------------------------------------------


def _as_groups(groups: Iterable[Sequence[int]], n: int | None = None) -> list[np.ndarray]:
    out = []
    for g in groups:
        arr = np.asarray(list(g), dtype=np.int64)
        if arr.ndim != 1:
            raise ValueError("each duplicate group must be a flat list of sample indices")
        if n is not None and len(arr) and (arr.min() < 0 or arr.max() >= n):
            raise ValueError(f"duplicate group {arr.tolist()} has an index outside 0..{n - 1}")
        if len(arr) > 1:
            out.append(arr)
    return out


def _column(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per sample")
    return arr


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def groups_crossing_splits(groups: Iterable[Sequence[int]], splits) -> list[int]:
    """Positions (in ``groups``) of the groups whose images lie in two or more splits.

    ``groups``: lists of sample indices (groups of size < 2 are ignored but keep their
    position); ``splits``: one split name per sample (``None`` = no split, ignored).
    """
    split = _column(splits, "splits")
    out = []
    for pos, g in enumerate(groups):
        members = {split[i] for i in g if not _missing(split[i])}
        if len(members) > 1:
            out.append(pos)
    return out


def images_with_copy_in(groups: Iterable[Sequence[int]], splits, of: str = "test", in_: str = "train") -> np.ndarray:
    """Sorted indices of the ``of``-split images that have an identical image in split ``in_``.

    With the defaults: the test images that a model may have memorised from training.
    Returns an int64 array (empty when there are none).
    """
    split = _column(splits, "splits")
    found: set[int] = set()
    for g in _as_groups(groups, len(split)):
        where = split[g]
        if (where == in_).any():
            found.update(int(i) for i in g[where == of])
    return np.array(sorted(found), dtype=np.int64)


def groups_with_conflicting_labels(groups: Iterable[Sequence[int]], labels) -> list[int]:
    """Positions (in ``groups``) of the groups whose identical images carry different labels."""
    label = _column(labels, "labels")
    return [pos for pos, g in enumerate(groups) if len({label[i] for i in g}) > 1]


@dataclass(frozen=True)
class DuplicateSplitReport:
    """What the groups of identical images mean for a benchmark (see :func:`duplicate_split_report`)."""

    groups: int  #: groups of two or more identical images
    images_in_groups: int  #: images that belong to such a group
    surplus_copies: int  #: images beyond the first of each group (what de-duplication would remove)
    groups_crossing_splits: int  #: groups with images in two or more splits
    test_with_copy_in_train: int  #: test images with an identical image in train
    val_with_copy_in_train: int  #: validation images with an identical image in train
    test_with_copy_in_val: int  #: test images with an identical image in val
    groups_conflicting_labels: int  #: groups whose copies carry two or more labels
    images_in_conflicting_groups: int  #: images in those groups
    has_splits: bool  #: False when the dataset has no split (the split counts are then 0)

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [
            f"{self.groups} groups of identical images ({self.images_in_groups} images, "
            f"{self.surplus_copies} surplus copies)"
        ]
        if self.has_splits:
            out.append(f"{self.groups_crossing_splits} groups cross splits")
            out.append(f"{self.test_with_copy_in_train} test images have a copy in train")
            out.append(f"{self.val_with_copy_in_train} validation images have a copy in train")
            out.append(f"{self.test_with_copy_in_val} test images have a copy in validation")
        out.append(
            f"{self.groups_conflicting_labels} groups have conflicting labels "
            f"({self.images_in_conflicting_groups} images)"
        )
        return out


def duplicate_split_report(groups: Iterable[Sequence[int]], labels, splits=None) -> DuplicateSplitReport:
    """Count cross-split copies and label conflicts among groups of identical images.

    ``groups``: lists of sample indices (e.g. from :func:`index_groups`); ``labels``: one
    label per sample; ``splits``: one split per sample, or ``None`` for a dataset without a
    split. Raises ``ValueError`` when an index is out of range or the columns differ in
    length. Cost: linear in the number of grouped images.
    """
    label = _column(labels, "labels")
    split = _column(splits, "splits") if splits is not None else None
    if split is not None and len(split) != len(label):
        raise ValueError(f"labels ({len(label)}) and splits ({len(split)}) differ in length")
    gs = _as_groups(groups, len(label))
    has_splits = split is not None and not all(_missing(s) for s in split)
    conflicting = groups_with_conflicting_labels(gs, label)
    return DuplicateSplitReport(
        groups=len(gs),
        images_in_groups=int(sum(len(g) for g in gs)),
        surplus_copies=int(sum(len(g) - 1 for g in gs)),
        groups_crossing_splits=len(groups_crossing_splits(gs, split)) if has_splits else 0,
        test_with_copy_in_train=len(images_with_copy_in(gs, split, "test", "train")) if has_splits else 0,
        val_with_copy_in_train=len(images_with_copy_in(gs, split, "val", "train")) if has_splits else 0,
        test_with_copy_in_val=len(images_with_copy_in(gs, split, "test", "val")) if has_splits else 0,
        groups_conflicting_labels=len(conflicting),
        images_in_conflicting_groups=int(sum(len(gs[p]) for p in conflicting)),
        has_splits=has_splits,
    )


def index_groups(samples: pd.DataFrame, groups_of_ids: Iterable[Sequence[str]]) -> list[list[int]]:
    """Turn groups of ``sample_id`` (what :meth:`Dataset.duplicate_groups` returns today)
    into groups of row indices of ``samples``. An unknown id raises ``ValueError``."""
    position = {str(s): i for i, s in enumerate(samples["sample_id"])}
    out = []
    for g in groups_of_ids:
        try:
            out.append([position[str(s)] for s in g])
        except KeyError as exc:
            raise ValueError(f"sample id {exc.args[0]!r} of a duplicate group is not in the dataset") from None
    return out


def hash_groups(hashes: Sequence[str]) -> list[list[int]]:
    """Groups of indices whose hashes are equal (size ≥ 2), in order of first appearance.

    One dictionary pass over the hashes: O(N) time and memory, so 35,887 FER2013
    images take milliseconds once their hashes are known (the hashing itself, one read of
    every image, is the cost; :attr:`Dataset.image_hashes` does it once per dataset).
    """
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        seen.setdefault(h, []).append(i)
    return [g for g in seen.values() if len(g) > 1]
