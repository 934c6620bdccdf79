"""Splits (the protocols) and validation-group model selection.

This module owns how images are dealt into groups. Two protocols:

``paper`` (image-level; Li 2021): per run, every class is shuffled and dealt into K groups
so each group holds the same share of each class. Fold k tests on group k, validates on
group k+1 (mod K) and trains on the other K-2. Every image is tested exactly once per run.
The same person may appear in training and test groups, which flatters every method.

``subject`` (subject-independent): the same, but groups are made of whole people,
stratified by class as well as the people allow, so nobody is in two of train /
validation / test. K = number of people is leave-one-subject-out.

Splits depend only on (dataset fingerprint, protocol, K, run, seed) so every method sees
identical folds (a paired comparison) and the store can check them on resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ProtocolError

PROTOCOLS = ("paper", "subject")
PROTOCOL_TITLES = {
    "paper": "image-level (paper protocol: the same person may be in training and test groups)",
    "subject": "subject-independent (no person in two of train / validation / test)",
}
PROTOCOL_SHORT = {"paper": "image-level", "subject": "subject-independent"}


@dataclass(frozen=True)
class Fold:
    """One fold of one run: index arrays into the dataset's samples."""

    run: int
    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_rng(fingerprint: str, protocol: str, n_folds: int, run: int, seed: int) -> np.random.Generator:
    """The random generator of one run's split, derived from its identity alone."""
    material = f"fer-bench-split|{fingerprint}|{protocol}|{n_folds}|{run}|{seed}".encode()
    words = np.frombuffer(hashlib.sha256(material).digest(), dtype=np.uint32)
    return np.random.default_rng(words)


def paper_groups(labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Deal each shuffled class into ``n_folds`` groups; returns a group id per sample.

    Dealing continues across classes (the next class starts where the last one ended),
    so when class sizes are not multiples of K, the groups still differ by at most one
    image in total and by at most one image of each class.
    """
    labels = np.asarray(labels)
    groups = np.empty(len(labels), dtype=np.int64)
    position = int(rng.integers(n_folds))
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        groups[members] = (position + np.arange(len(members))) % n_folds
        position = (position + len(members)) % n_folds
    return groups


def subject_groups(
    labels: np.ndarray, subjects: np.ndarray, n_folds: int, rng: np.random.Generator
) -> np.ndarray:
    """Assign whole subjects to ``n_folds`` groups, balancing class shares and sizes.

    Greedy, as scikit-learn's StratifiedGroupKFold: subjects in a shuffled order, the
    largest first, each joining the group where the class distribution after adding it
    deviates least from the overall one, ties broken by the smaller group. With K equal to
    the number of subjects every group is one person (leave-one-subject-out).
    """
    labels = np.asarray(labels)
    subjects = np.asarray(subjects)
    people, person_of = np.unique(subjects, return_inverse=True)
    classes, class_of = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(people), len(classes)))
    np.add.at(counts, (person_of, class_of), 1)
    order = rng.permutation(len(people))
    order = order[np.argsort(-counts[order].sum(1), kind="stable")]
    overall = counts.sum(0) / counts.sum()
    group_counts = np.zeros((n_folds, len(classes)))
    assignment = np.empty(len(people), dtype=np.int64)
    for i, person in enumerate(order):
        remaining = len(people) - i
        empty = np.flatnonzero(group_counts.sum(1) == 0)
        # Keep enough people for every group to get at least one.
        candidates = empty if len(empty) >= remaining else np.arange(n_folds)
        best, best_cost = None, None
        for g in candidates:
            trial = group_counts[g] + counts[person]
            share = trial / trial.sum()
            cost = (np.abs(share - overall).sum(), group_counts[g].sum())
            if best_cost is None or cost < best_cost:
                best, best_cost = g, cost
        assignment[person] = best
        group_counts[best] += counts[person]
    return assignment[person_of]


def make_groups(
    protocol: str,
    labels: np.ndarray,
    subjects: np.ndarray | None,
    n_folds: int,
    run: int,
    seed: int,
    fingerprint: str,
) -> np.ndarray:
    """Group id (0..K-1) of every sample for one run of ``protocol``."""
    rng = split_rng(fingerprint, protocol, n_folds, run, seed)
    if protocol == "paper":
        return paper_groups(labels, n_folds, rng)
    if protocol == "subject":
        return subject_groups(labels, subjects, n_folds, rng)
    raise ProtocolError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")


def check_protocol(
    protocol: str, labels: np.ndarray, subjects: np.ndarray | None, n_folds: int, n_runs: int
) -> None:
    """Refuse, with a message naming the cause, a protocol this dataset cannot support."""
    if protocol not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if n_folds < 3:
        raise ProtocolError(f"--folds {n_folds}: need at least 3 groups (train, validation, test)")
    if n_runs < 1:
        raise ProtocolError(f"--runs {n_runs}: need at least one run")
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ProtocolError(f"the dataset has {len(classes)} class(es); need at least 2 to classify")
    small = [(c, n) for c, n in zip(classes, counts) if n < n_folds]
    if small:
        detail = ", ".join(f"{c!s} has {n}" for c, n in small)
        raise ProtocolError(
            f"class with fewer images than folds ({detail}; --folds {n_folds}): "
            "every group must be able to hold each class; lower --folds or add images"
        )
    if protocol == "subject":
        if subjects is None or any(s is None or s == "" for s in subjects):
            raise ProtocolError(
                "the subject protocol needs a subject (person) id for every image, and this "
                "dataset has none; use a source that provides them (jaffe:, ckplus:, kdef:, "
                "or manifest: with a subject column) or --protocol paper"
            )
        n_people = len(np.unique(subjects))
        if n_people < n_folds:
            raise ProtocolError(
                f"--folds {n_folds} needs at least {n_folds} people for the subject protocol; "
                f"the dataset has {n_people} (use --folds {n_people} for leave-one-subject-out)"
            )


def folds_of_run(groups: np.ndarray, run: int) -> list[Fold]:
    """The K folds of one run: test on group k, validate on k+1 (mod K), train on the rest."""
    n_folds = int(groups.max()) + 1
    folds = []
    for k in range(n_folds):
        test = np.flatnonzero(groups == k)
        val = np.flatnonzero(groups == (k + 1) % n_folds)
        train = np.flatnonzero((groups != k) & (groups != (k + 1) % n_folds))
        folds.append(Fold(run, k, train, val, test))
    return folds


# -- choosing hyperparameters on the validation group -----------------------------------
def parameter_candidates(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in the order given (first values first)."""
    combos: list[dict[str, Any]] = [{}]
    for key, values in grid.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def select_on_validation(
    build: Callable[..., Any],
    grid: Mapping[str, Iterable[Any]],
    X_train,
    y_train,
    X_val,
    y_val,
    sample_weight_train=None,
):
    """Fit ``build(**params)`` on the training group for every grid point and keep the
    one with the best validation accuracy (the first such point on ties).

    The chosen model is the one fitted on the training group: the validation group
    only chooses, so it stays a fair stand-in for unseen data. Returns
    ``(model, params, validation_accuracy)``.
    """
    best = (None, None, -1.0)
    for params in parameter_candidates(grid):
        model = build(**params)
        if sample_weight_train is None:
            model.fit(X_train, y_train)
        else:
            model.fit(X_train, y_train, **{_weight_key(model): sample_weight_train})
        score = float(np.mean(model.predict(X_val) == y_val)) if len(y_val) else 0.0
        if score > best[2]:
            best = (model, params, score)
    return best


def _weight_key(model) -> str:
    steps = getattr(model, "steps", None)
    return f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
