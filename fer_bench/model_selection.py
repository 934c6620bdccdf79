"""Protocols: how images are dealt into cross-validation groups (choosing on the validation
group is :mod:`fer_bench.selection`'s).

This module owns the splits. A protocol is a class in the scikit-learn manner: constructed
with its settings (``n_folds``, ``n_runs``, ``seed``), it checks a dataset (:meth:`Protocol.check`),
deals every run's images into groups (:meth:`Protocol.groups`), and yields the folds
(:meth:`Protocol.split`). Protocols are registered by name (:func:`register_protocol`), so
a new protocol is one class and the command line's ``--protocol`` choices come from
:data:`PROTOCOLS`.

Every protocol follows the seed paper's fold rule (Li 2021, §3.6): per run the images are
dealt into K groups; fold k tests on group k, validates on group k+1 (mod K) and trains on
the other K−2; every image is tested exactly once per run; R runs reshuffle.

``paper`` (:class:`ImageLevelKFold`, the seed paper's): each class is shuffled and dealt
into the K groups, so each group holds the same share of each class. The same person may
appear in training and test groups, which flatters every method.

``subject`` (:class:`SubjectKFold`, subject-independent): groups are made of whole people
by scikit-learn's :class:`~sklearn.model_selection.StratifiedGroupKFold` (class shares as
even as people allow), so nobody is in two of train / validation / test. K = number of
people is leave-one-subject-out: one person per group.

Splits depend only on (dataset fingerprint, protocol, K, run, seed), so every method sees
identical folds (a paired comparison) and the store can check them on resume. Before any
method runs, :func:`check_split` verifies the invariants of every run (group sizes, every
class in every training part, nobody in two parts, every image tested once) and names the
numbers when one fails.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import ProtocolError
from .registries import Registry

#: Largest allowed ratio of a group's size to the mean group size (see :func:`check_split`).
MAX_GROUP_RATIO = 2.0
#: Re-draws of a subject split tried (each from its own derived seed) before giving up on
#: the invariants; rare classes shown by few people sometimes need a second draw.
MAX_SPLIT_ATTEMPTS = 20


@dataclass(frozen=True)
class Fold:
    """One fold of one run: integer index arrays (into the dataset's samples) of its parts."""

    run: int
    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class SplitReport:
    """What :func:`check_split` found: warnings to show, and per-fold part sizes.

    ``sizes`` has one row per (run, fold): ``(run, fold, n_train, n_val, n_test)``.
    """

    warnings: tuple[str, ...]
    sizes: tuple[tuple[int, int, int, int, int], ...]


# -- the registry -------------------------------------------------------------------------------
def _not_a_protocol(obj: Any) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Protocol)):
        return f"{obj!r} is not a fer_bench.model_selection.Protocol subclass"
    return None


#: Every protocol by its ``--protocol`` name: fer-bench's own, those registered with
#: :func:`register_protocol`, and third-party ones through the entry-point group
#: ``fer_bench.protocols``. Reads like a mapping (``name in PROTOCOLS``, ``list(PROTOCOLS)``,
#: ``PROTOCOLS[name]``, ``PROTOCOLS.items()``); see :class:`fer_bench.registries.Registry`.
PROTOCOLS: Registry[type[Protocol]] = Registry(
    "protocol", "fer_bench.protocols", name_of=lambda cls: cls.name, check=_not_a_protocol,
    error=ProtocolError,
)


def register_protocol(cls: type[Protocol] | None = None, *, name: str | None = None):
    """Class decorator: make a :class:`Protocol` available as ``--protocol cls.name`` (or
    ``name``). The same class again is allowed; another class under a taken name raises
    :class:`~fer_bench.errors.DuplicateRegistrationError` naming both."""
    return PROTOCOLS.register(cls, name=name)


def get_protocol(name: str) -> type[Protocol]:
    """The protocol class registered under ``name``; an unknown name lists the known ones."""
    return PROTOCOLS.get(name)


def protocol_title(name: str) -> str:
    """The long description of a protocol for table headings (the name itself if unknown)."""
    return PROTOCOLS[name].title if name in PROTOCOLS else name


def protocol_short(name: str) -> str:
    """The short name of a protocol for table columns (``image-level``, ``subject-independent``)."""
    return PROTOCOLS[name].short if name in PROTOCOLS else name


class Protocol:
    """Base class of the cross-validation protocols (R runs of K groups each).

    Subclasses set ``name`` (the ``--protocol`` value), ``short`` and ``title`` (shown on
    every table), ``needs_subjects``, ``needs_splits``, and implement :meth:`_groups`, which gets
    everything a split depends on as arguments (no state is kept between calls).
    """

    name: ClassVar[str] = ""
    short: ClassVar[str] = ""
    title: ClassVar[str] = ""
    needs_subjects: ClassVar[bool] = False

    def __init__(self, n_folds: int = 10, n_runs: int = 10, seed: int = 0):
        self.n_folds = int(self.fixed_folds or n_folds)
        self.n_runs = int(n_runs)
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_folds={self.n_folds}, n_runs={self.n_runs}, seed={self.seed})"

    # -- checks -------------------------------------------------------------------------------
    def check(self, labels: np.ndarray, subjects: np.ndarray | None, classes: Sequence[str],
              splits: np.ndarray | None = None, *, missing_subjects: str | None = None) -> None:
        """Refuse, naming the cause, a dataset this protocol cannot split.

        ``labels`` are integer class indices into ``classes`` (names, used in messages);
        ``subjects`` person ids or ``None``; ``splits`` the dataset's own split of every
        sample (``"train"``/``"val"``/``"test"``) or ``None``; ``missing_subjects`` the
        dataset's sentence naming the images without an id
        (:attr:`~fer_bench.datasets.base.Dataset.missing_subjects_text`), quoted when a
        protocol needs ids. Raises :class:`~fer_bench.errors.ProtocolError`.
        """
        if self.n_folds < 3:
            raise ProtocolError(f"--folds {self.n_folds}: need at least 3 groups (train, validation, test)")
        if self.n_runs < 1:
            raise ProtocolError(f"--runs {self.n_runs}: need at least one run")
        present = np.unique(np.asarray(labels))
        if len(present) < 2:
            raise ProtocolError(f"the dataset has {len(present)} class(es); need at least 2 to classify")
        if self.needs_subjects:
            self._check_subject_ids(subjects, missing_subjects)

    def _check_subject_ids(self, subjects, missing_subjects: str | None = None) -> None:
        """Refuse images without a person id. "has none" only when no image has one;
        when some lack one, say which (``missing_subjects``, the dataset's own sentence,
        when it has one)."""
        if subjects is None:
            raise ProtocolError(
                f"the {self.name} protocol needs a subject (person) id for every image, and this "
                "dataset has none; use a source that provides them (jaffe:, ckplus:, kdef:, "
                "or manifest: with a subject column) or --protocol paper"
            )
        absent = [i for i, s in enumerate(subjects) if s is None or (isinstance(s, float) and s != s) or not str(s).strip()]
        if not absent:
            return
        detail = missing_subjects or (
            f"{len(absent)} of {len(subjects)} images have no subject id (e.g. image #{absent[0]}); "
            "give them one, or leave them out"
        )
        raise ProtocolError(f"the {self.name} protocol needs a subject (person) id for every image: {detail}; "
                            "or use --protocol paper")

    # -- groups and folds ---------------------------------------------------------------------
    def rng(self, fingerprint: str, run: int, attempt: int = 0) -> np.random.Generator:
        """The random generator of one run's split, derived from its identity alone."""
        return np.random.default_rng(self._seed_words(fingerprint, run, attempt))

    def random_state(self, fingerprint: str, run: int, attempt: int = 0) -> int:
        """An integer seed for libraries that take one (scikit-learn's ``random_state``)."""
        return int(self._seed_words(fingerprint, run, attempt)[0])

    def _seed_words(self, fingerprint: str, run: int, attempt: int) -> np.ndarray:
        material = f"fer-bench-split|{fingerprint}|{self.name}|{self.n_folds}|{run}|{self.seed}"
        if attempt:
            material += f"|attempt {attempt}"
        return np.frombuffer(hashlib.sha256(material.encode()).digest(), dtype=np.uint32)

    def groups(self, labels: np.ndarray, subjects: np.ndarray | None, run: int, fingerprint: str,
               splits: np.ndarray | None = None) -> np.ndarray:
        """Group id (0..K−1, int64) of every sample for run ``run`` (0-based).

        Everything the split depends on is an argument (no state is kept between calls);
        ``splits`` is the dataset's own split, which :attr:`needs_splits` protocols require
        (:class:`~fer_bench.errors.ProtocolError` without it)."""
        labels, subjects, splits = self._arguments(labels, subjects, splits)
        return self._groups(labels, subjects, run, fingerprint, 0, splits)

    def _arguments(self, labels, subjects, splits):
        """``(labels, subjects, splits)`` as arrays; refuses a missing split column that
        this protocol needs, before any work."""
        if self.needs_splits and splits is None:
            raise ProtocolError(NO_SPLIT_MESSAGE.format(name=self.name))
        return (np.asarray(labels), None if subjects is None else np.asarray(subjects),
                None if splits is None else np.asarray(splits, dtype=object))

    def _groups(self, labels, subjects, run, fingerprint, attempt, splits=None) -> np.ndarray:
        """One run's groups; ``splits`` is the dataset's own split (or None)."""
        raise NotImplementedError

    def folds(self, groups: np.ndarray, run: int) -> list[Fold]:
        """The folds of one run from its groups (default: :func:`folds_of_run`)."""
        return folds_of_run(groups, run)

    #: Whether the groups rotate (fold k tests group k); False for a fixed split.
    rotating: ClassVar[bool] = True
    #: The number of folds per run when the protocol fixes it (``--folds`` is then ignored).
    fixed_folds: ClassVar[int | None] = None
    #: Whether the protocol needs the dataset's own split (``splits``) to build its groups.
    needs_splits: ClassVar[bool] = False

    def all_groups(
        self,
        labels: np.ndarray,
        subjects: np.ndarray | None,
        fingerprint: str,
        class_names: Sequence[str] | None = None,
        splits: np.ndarray | None = None,
    ) -> tuple[dict[int, np.ndarray], SplitReport]:
        """Every run's groups, checked by :func:`check_split` (re-drawn if needed).

        ``class_names`` (index → label) name the classes in messages. Returns
        ``({run: groups}, report)``; raises :class:`ProtocolError` when a run's invariants
        cannot be met.
        """
        labels, subjects, splits = self._arguments(labels, subjects, splits)
        by_run, notes, sizes = {}, [], []
        for run in range(self.n_runs):
            last_error = None
            for attempt in range(self.redraws):
                groups = self._groups(labels, subjects, run, fingerprint, attempt, splits)
                try:
                    report = check_split(groups, labels, subjects if self.needs_subjects else None, run,
                                         class_names=class_names, folds=self.folds(groups, run),
                                         max_ratio=MAX_GROUP_RATIO if self.rotating else math.inf)
                except ProtocolError as exc:
                    last_error = exc
                    continue
                by_run[run] = groups
                notes.extend(w for w in report.warnings if w not in notes)
                sizes.extend(report.sizes)
                if attempt:
                    notes.append(f"run {run + 1}: split re-drawn {attempt} time(s) to meet the invariants")
                break
            else:
                raise last_error
        return by_run, SplitReport(tuple(notes), tuple(sizes))

    #: How many derived seeds :meth:`all_groups` may try per run (1: no re-draw).
    redraws: ClassVar[int] = 1

    def split(
        self, labels: np.ndarray, subjects: np.ndarray | None = None, fingerprint: str = "",
        splits: np.ndarray | None = None,
    ) -> Iterator[Fold]:
        """Every fold of every run, in (run, fold) order (scikit-learn's ``split``, with a
        validation part). Takes everything it needs as arguments, as scikit-learn's
        splitters do: ``splits`` is the dataset's own split (``"train"``/``"val"``/
        ``"test"`` per sample), required by the holdout protocol (a
        :class:`~fer_bench.errors.ProtocolError` naming it when absent)."""
        by_run, _ = self.all_groups(labels, subjects, fingerprint, splits=splits)
        for run in range(self.n_runs):
            yield from self.folds(by_run[run], run)


@register_protocol
class ImageLevelKFold(Protocol):
    """The seed paper's protocol (Li 2021, §3.6): class-stratified groups of images.

    Per run each class is shuffled and dealt into K groups, continuing across classes
    (the next class starts where the last one ended), so the groups differ by at most one
    image in total and by at most one image of each class.
    """

    name = "paper"
    short = "image-level"
    title = "image-level (paper protocol: the same person may be in training and test groups)"

    def check(self, labels, subjects, classes, splits=None, *, missing_subjects=None) -> None:
        super().check(labels, subjects, classes, splits, missing_subjects=missing_subjects)
        index, counts = np.unique(np.asarray(labels), return_counts=True)
        short = [(classes[int(c)] if classes else str(c), int(n)) for c, n in zip(index, counts) if n < self.n_folds]
        if short:
            detail = ", ".join(f"class {name!r} has {n} image{'s' if n != 1 else ''}" for name, n in short)
            raise ProtocolError(
                f"{detail}; --folds {self.n_folds} needs at least {self.n_folds} images of every class "
                "(one per group): lower --folds or add images"
            )

    def _groups(self, labels, subjects, run, fingerprint, attempt, splits=None) -> np.ndarray:
        rng = self.rng(fingerprint, run, attempt)
        groups = np.empty(len(labels), dtype=np.int64)
        position = int(rng.integers(self.n_folds))
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            members = members[rng.permutation(len(members))]
            groups[members] = (position + np.arange(len(members))) % self.n_folds
            position = (position + len(members)) % self.n_folds
        return groups


@register_protocol
class SubjectKFold(Protocol):
    """Subject-independent groups: whole people, class shares as even as people allow.

    The groups are scikit-learn's :class:`~sklearn.model_selection.StratifiedGroupKFold`
    test folds (``shuffle=True``, ``random_state`` derived from the split's identity), so
    group sizes and class mixes are balanced by a well-kept, documented algorithm; the
    folds are then numbered in a shuffled order (the splitter fills them in a fixed one). With K
    equal to the number of people every group is one person (leave-one-subject-out),
    assigned directly in a shuffled order.

    When a run's split breaks an invariant (typically a class shown by so few people that
    some training part lacks it), the run is re-drawn from the next derived seed, up to
    :data:`MAX_SPLIT_ATTEMPTS` times; the report says so.
    """

    name = "subject"
    short = "subject-independent"
    title = "subject-independent (no person in two of train / validation / test)"
    needs_subjects = True
    redraws = MAX_SPLIT_ATTEMPTS

    def check(self, labels, subjects, classes, splits=None, *, missing_subjects=None) -> None:
        super().check(labels, subjects, classes, splits, missing_subjects=missing_subjects)
        n_people = len(np.unique(np.asarray(subjects)))
        if n_people < self.n_folds:
            raise ProtocolError(
                f"--folds {self.n_folds} needs at least {self.n_folds} people for the subject protocol; "
                f"the dataset has {n_people} (use --folds {n_people} for leave-one-subject-out)"
            )
        labels = np.asarray(labels)
        subjects = np.asarray(subjects)
        for c in np.unique(labels):
            people = len(np.unique(subjects[labels == c]))
            if people < 2:
                name = classes[int(c)] if classes else str(c)
                raise ProtocolError(
                    f"class {name!r} is shown by only {people} person: whenever that person is tested, "
                    "no training part has the class; remove the class from the dataset or add people"
                )

    def _groups(self, labels, subjects, run, fingerprint, attempt, splits=None) -> np.ndarray:
        from sklearn.model_selection import StratifiedGroupKFold

        people, person_of = np.unique(subjects, return_inverse=True)
        if self.n_folds == len(people):  # leave-one-subject-out
            order = self.rng(fingerprint, run, attempt).permutation(len(people))
            group_of_person = np.empty(len(people), dtype=np.int64)
            group_of_person[order] = np.arange(len(people))
            return group_of_person[person_of]
        splitter = StratifiedGroupKFold(
            n_splits=self.n_folds, shuffle=True, random_state=self.random_state(fingerprint, run, attempt)
        )
        groups = np.full(len(labels), -1, dtype=np.int64)
        with warnings.catch_warnings():
            # "The least populated class in y has only N members": check_split judges that.
            warnings.simplefilter("ignore", UserWarning)
            for k, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels, person_of)):
                groups[test] = k
        # The splitter fills its folds in a fixed order; which fold becomes group k decides
        # which groups are neighbours (test k, validation k+1), so it is shuffled too.
        order = self.rng(fingerprint, run, attempt).permutation(self.n_folds)
        return order[groups]


@register_protocol
class Holdout(Protocol):
    """The dataset's own split (FER2013's Training / PublicTest / PrivateTest, RAF-DB's
    train / test, a manifest's ``split`` column): train on ``train``, choose on ``val``,
    test once per run on ``test``.

    When the dataset has no ``val`` part, a class-stratified share of ``train``
    (:data:`HOLDOUT_VAL_SHARE`) is drawn per run from the run's derived seed (scikit-learn's
    ``train_test_split``), and the tables say so. Runs repeat the evaluation with other
    seeds, which only matters for methods that are random. Groups are coded
    0 = test, 1 = validation, 2 = training; a run has one fold.
    """

    name = "holdout"
    short = "holdout"
    fixed_folds = 1
    title = "holdout (the dataset's own train / validation / test split, one test evaluation per run)"
    rotating = False
    needs_splits = True

    def check(self, labels, subjects, classes, splits=None, *, missing_subjects=None) -> None:
        if self.n_runs < 1:
            raise ProtocolError(f"--runs {self.n_runs}: need at least one run")
        if splits is None:
            raise ProtocolError(NO_SPLIT_MESSAGE.format(name=self.name))
        splits = np.asarray(splits, dtype=object)
        for part in ("train", "test"):
            if not (splits == part).any():
                raise ProtocolError(f"the dataset's split has no '{part}' images; the holdout protocol needs them")
        labels = np.asarray(labels)
        missing = np.setdiff1d(np.unique(labels), np.unique(labels[splits == "train"]))
        if len(missing):
            names = ", ".join(repr(classes[int(c)]) if classes else str(c) for c in missing)
            raise ProtocolError(f"class(es) {names} have no training image in the dataset's split")

    def _groups(self, labels, subjects, run, fingerprint, attempt, splits=None) -> np.ndarray:
        from sklearn.model_selection import train_test_split

        groups = np.full(len(labels), 2, dtype=np.int64)
        groups[splits == "test"] = 0
        if (splits == "val").any():
            groups[splits == "val"] = 1
            return groups
        train = np.flatnonzero(splits == "train")
        counts = np.bincount(labels[train])
        stratify = labels[train] if counts[counts > 0].min() >= 2 else None
        # A stratified draw needs at least one validation image per class: on a small
        # training part the share is raised to that (and refused when nothing would be left).
        n_classes = int((counts > 0).sum())
        n_val = max(int(np.ceil(HOLDOUT_VAL_SHARE * len(train))), n_classes if stratify is not None else 1)
        if len(train) - n_val < n_classes:
            raise ProtocolError(
                f"the training part has {len(train)} images of {n_classes} classes: too few to draw a validation "
                f"part from it; give the dataset a 'val' split or use --protocol paper or subject"
            )
        _, val = train_test_split(train, test_size=n_val, stratify=stratify,
                                  random_state=self.random_state(fingerprint, run, attempt))
        groups[val] = 1
        return groups

    def folds(self, groups: np.ndarray, run: int) -> list[Fold]:
        return [Fold(run, 0, np.flatnonzero(groups == 2), np.flatnonzero(groups == 1), np.flatnonzero(groups == 0))]


#: The error of a protocol that needs the dataset's own split when given none.
NO_SPLIT_MESSAGE = (
    "the {name} protocol needs the dataset's own split (train / val / test); this dataset has "
    "none: use a source with an official split (fer2013:, rafdb:) or a manifest with a 'split' "
    "column, or a cross-validation protocol (--protocol paper or subject)"
)

#: Share of the training part drawn as the validation part when a split has none (at
#: least one image per class, so a small training part gives a larger share).
HOLDOUT_VAL_SHARE = 0.1


# -- invariants --------------------------------------------------------------------------------
def check_split(
    groups: np.ndarray,
    labels: np.ndarray,
    subjects: np.ndarray | None,
    run: int,
    *,
    class_names: Sequence[str] | None = None,
    max_ratio: float = MAX_GROUP_RATIO,
    folds: Sequence[Fold] | None = None,
) -> SplitReport:
    """Check one run's groups before any method runs; raise or warn naming the numbers.

    Invariants (errors, :class:`ProtocolError`): every sample is in exactly one of K groups
    (so every image is tested exactly once per run); every group is non-empty; every class
    of the dataset is present in every fold's training part; with ``subjects``, nobody is in
    two groups (so nobody is in two of train / validation / test).

    Group sizes: a group more than ``max_ratio`` times the mean size is an error unless the
    data make it unavoidable (the group is one person who alone exceeds the bound), which
    is a warning naming that person.
    """
    groups = np.asarray(groups)
    labels = np.asarray(labels)
    n_folds = int(groups.max()) + 1 if len(groups) else 0
    where = f"run {run + 1}"

    def cname(c) -> str:
        return repr(class_names[int(c)]) if class_names is not None else repr(str(c))

    if len(groups) != len(labels) or (groups < 0).any():
        raise ProtocolError(f"{where}: {int((groups < 0).sum())} images are in no group (every image must be tested once)")
    sizes = np.bincount(groups, minlength=n_folds)
    if (sizes == 0).any():
        raise ProtocolError(f"{where}: group(s) {', '.join(str(g + 1) for g in np.flatnonzero(sizes == 0))} are empty")
    notes: list[str] = []
    if subjects is not None:
        subjects = np.asarray(subjects)
        people, person_of = np.unique(subjects, return_inverse=True)
        spread = np.zeros(len(people), dtype=np.int64)
        for p in range(len(people)):
            spread[p] = len(np.unique(groups[person_of == p]))
        split_people = people[spread > 1]
        if len(split_people):
            raise ProtocolError(
                f"{where}: person {str(split_people[0])!r} is in {spread[spread > 1][0]} groups; the subject protocol "
                "must keep each person in one group"
            )
    mean = sizes.mean()
    for g in np.flatnonzero(sizes > max_ratio * mean):
        members = np.flatnonzero(groups == g)
        if subjects is not None and len(np.unique(subjects[members])) == 1:
            notes.append(
                f"{where}: group {g + 1} holds {sizes[g]} images, more than {max_ratio:g}× the mean group size "
                f"{mean:.1f}, because it is one person ({str(subjects[members[0]])!r}) with that many images; "
                "groups of whole people cannot be balanced further"
            )
        else:
            raise ProtocolError(
                f"{where}: group {g + 1} holds {sizes[g]} images, more than {max_ratio:g}× the mean group size "
                f"{mean:.1f} (sizes {', '.join(map(str, sizes))}); the split is unbalanced"
            )
    classes = np.unique(labels)
    rows = []
    for fold in folds if folds is not None else folds_of_run(groups, run):
        missing = np.setdiff1d(classes, np.unique(labels[fold.train]))
        if len(missing):
            c = missing[0]
            people_note = ""
            if subjects is not None:
                people_note = f" (it is shown by {len(np.unique(subjects[labels == c]))} people)"
            raise ProtocolError(
                f"{where}, fold {fold.fold + 1}: class {cname(c)} is absent from the training part{people_note}; "
                f"lower --folds (now {n_folds}) so that every training part can hold every class"
            )
        rows.append((run, fold.fold, len(fold.train), len(fold.val), len(fold.test)))
    return SplitReport(tuple(notes), tuple(rows))


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


def inner_folds(groups: np.ndarray, fold: Fold) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner cross-validation over the non-test groups of ``fold`` (for ``selection="inner-cv"``).

    The K−1 groups that are not tested are rotated: each in turn validates while the other
    K−2 train. Returns ``[(train_idx, val_idx), ...]`` (K−1 pairs), in group order starting
    with the fold's own validation group, so the first pair is the fold's own split.
    """
    n_folds = int(groups.max()) + 1
    order = [(fold.fold + 1 + i) % n_folds for i in range(n_folds - 1)]
    pairs = []
    for g in order:
        val = np.flatnonzero(groups == g)
        train = np.flatnonzero((groups != fold.fold) & (groups != g))
        pairs.append((train, val))
    return pairs
