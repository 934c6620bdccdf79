"""Cross-dataset evaluation: train (and choose) on one dataset, test on another.

:func:`cross_dataset` joins two datasets into one whose ``split`` column says what each
image is for: every image of the *training* dataset is ``train``, except its own ``val``
part when it has one (otherwise ``--protocol holdout`` draws a seeded share of ``train``);
every image of the *test* dataset is ``test``. Only the classes both datasets have are
kept; what was dropped (classes and image counts, per dataset) is printed and recorded in
the dataset's ``about`` record. The joined fingerprint covers both fingerprints and the
kept classes, so the results are identified by both datasets.

The evaluation is then the holdout protocol (:class:`fer_bench.model_selection.Holdout`):
one test evaluation per run, on the test dataset. Duplicates across the two datasets are
found like any others (an image of the test dataset that is also in the training dataset
is reported as a test image with a copy in train).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import order_labels
from .base import Dataset


@dataclass
class CrossDataset(Dataset):
    """Two datasets joined for a cross-dataset evaluation (see :func:`cross_dataset`)."""

    parts: tuple[Dataset, Dataset] = field(default=None, repr=False)
    kept_classes: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of both datasets' fingerprints and the classes kept."""
        if self._fingerprint is None:
            train, test = self.parts
            text = f"fer-bench-cross\n{train.fingerprint}\n{test.fingerprint}\n{','.join(self.kept_classes)}\n"
            self._fingerprint = hashlib.sha256(text.encode()).hexdigest()
        return self._fingerprint

    def summary(self, relative_to: Path | None = None) -> dict:
        """The joined set's summary with each part's (:meth:`Dataset.summary`, ``relative_to`` passed on)."""
        out = super().summary(relative_to)
        out["train_dataset"] = self.parts[0].summary(relative_to)
        out["test_dataset"] = self.parts[1].summary(relative_to)
        return out


def cross_dataset(train: Dataset, test: Dataset) -> CrossDataset:
    """Join ``train`` (training and validation) and ``test`` (test only) on their shared classes.

    Raises :class:`~fer_bench.errors.DatasetError` when they share fewer than two classes.
    """
    shared = [c for c in order_labels(train.samples["label"]) if c in set(test.samples["label"])]
    if len(shared) < 2:
        raise DatasetError(
            f"--dataset {train.spec} and --test-dataset {test.spec} share {len(shared)} class(es) "
            f"({', '.join(shared) or 'none'}); a cross-dataset evaluation needs at least two"
        )
    frames, index, dropped = [], [], []
    for role, ds in (("train", train), ("test", test)):
        keep = ds.samples["label"].isin(shared).to_numpy()
        lost = ds.samples.loc[~keep, "label"].value_counts()
        if len(lost):
            dropped.append(f"{role} dataset {ds.spec}: " + ", ".join(f"{c} ({n} images)" for c, n in lost.items()))
        rows = ds.samples.loc[keep].copy()
        if role == "train":
            own = ds.splits[keep] if ds.splits is not None else None
            rows["split"] = ["val" if own is not None and s == "val" else "train" for s in (own if own is not None
                                                                                             else [None] * len(rows))]
        else:
            rows["split"] = "test"
        prefix = f"{role}:{ds.name}/"
        rows["sample_id"] = [prefix + str(s) for s in rows["sample_id"]]
        frames.append(rows[["sample_id", "label", "subject", "split"]])
        index.extend((ds, int(j)) for j in np.flatnonzero(keep))
    samples = pd.concat(frames, ignore_index=True)
    samples["subject"] = None  # two datasets' person ids are not comparable
    about = {
        "split_source": (
            f"cross-dataset: trained on {train.spec} (its own validation part" if train.splits is not None
            and (train.splits == "val").any() else f"cross-dataset: trained on {train.spec} (a seeded validation share"
        ) + f"), tested on {test.spec}",
        "classes": "kept the classes both datasets have: " + ", ".join(shared)
        + ("; dropped " + "; ".join(dropped) if dropped else ""),
    }
    return CrossDataset(
        name=f"{train.name}-to-{test.name}",
        spec=f"{train.spec} → {test.spec}",
        samples=samples,
        read_bytes=lambda i: index[i][0].read_bytes(index[i][1]),
        decode=lambda data, i: index[i][0].decode(data, index[i][1]),
        notices=[f"cross-dataset: dropped {d}" for d in dropped],
        about=about,
        # Both sets must be registered crops for "use them as they are" to mean the same on both.
        registered_faces=(f"{train.registered_faces}; {test.registered_faces}"
                          if train.registered_faces and test.registered_faces else None),
        parts=(train, test),
        kept_classes=tuple(shared),
    )
