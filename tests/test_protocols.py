"""The protocols' splits and their invariants, on ordinary and awkward dataset shapes."""

import numpy as np
import pytest

from fer_bench.errors import ProtocolError
from fer_bench.model_selection import (
    MAX_GROUP_RATIO,
    PROTOCOLS,
    ImageLevelKFold,
    SubjectKFold,
    check_split,
    folds_of_run,
    get_protocol,
    inner_folds,
)
from tests.conftest import cli, write_images

CLASSES = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt"]


def paper_like(n_people=20, per_class=5, n_classes=7):
    labels = np.tile(np.repeat(np.arange(n_classes), per_class), n_people)
    subjects = np.repeat([f"P{i:02d}" for i in range(n_people)], n_classes * per_class)
    return labels, subjects


def ckplus_like(seed=0, n_people=118):
    """CK+48-like: 118 people with very unequal image counts (3 to 60), unequal class
    shares, and a rare class (contempt, index 7) that only 18 people show."""
    rng = np.random.default_rng(seed)
    labels, subjects = [], []
    for p in range(n_people):
        n_classes_shown = rng.integers(1, 4)
        shown = rng.choice(7, size=n_classes_shown, replace=False).tolist()
        if p % 7 == 0 and len([s for s in subjects if s]) >= 0 and p < 7 * 18:
            shown.append(7)
        for c in shown:
            count = int(rng.integers(3, 21))
            labels += [c] * count
            subjects += [f"S{p:03d}"] * count
    return np.array(labels), np.array(subjects)


def split(protocol_name, labels, subjects, folds=10, runs=3, seed=0, fingerprint="fp"):
    protocol = get_protocol(protocol_name)(n_folds=folds, n_runs=runs, seed=seed)
    protocol.check(labels, subjects, CLASSES)
    return protocol.all_groups(labels, subjects, fingerprint, class_names=CLASSES)


def test_protocols_are_registered_classes():
    assert PROTOCOLS["paper"] is ImageLevelKFold and PROTOCOLS["subject"] is SubjectKFold
    assert ImageLevelKFold.short == "image-level" and SubjectKFold.short == "subject-independent"
    with pytest.raises(ProtocolError, match="unknown protocol 'loso'; use one of paper, subject"):
        get_protocol("loso")


@pytest.mark.parametrize("protocol", ["paper", "subject"])
def test_every_image_tested_once_per_run_and_parts_disjoint(protocol):
    labels, subjects = paper_like()
    groups, _ = split(protocol, labels, subjects)
    for run in range(3):
        folds = folds_of_run(groups[run], run)
        tested = np.concatenate([f.test for f in folds])
        assert sorted(tested) == list(range(len(labels)))
        for f in folds:
            assert not set(f.train) & set(f.test)
            assert not set(f.train) & set(f.val)
            assert not set(f.val) & set(f.test)
            assert len(f.train) + len(f.val) + len(f.test) == len(labels)
            assert set(groups[run][f.val]) == {(f.fold + 1) % 10}  # validation is the next group


def test_split_method_yields_every_fold():
    labels, subjects = paper_like()
    folds = list(SubjectKFold(n_folds=5, n_runs=2).split(labels, subjects, "fp"))
    assert [(f.run, f.fold) for f in folds] == [(r, k) for r in range(2) for k in range(5)]


def test_paper_groups_have_equal_class_shares():
    labels, _ = paper_like()  # 100 per class, 10 groups -> exactly 10 of each class per group
    groups = ImageLevelKFold(10, 1).groups(labels, None, 0, "fp")
    for g in range(10):
        assert np.bincount(labels[groups == g], minlength=7).tolist() == [10] * 7
    fold = folds_of_run(groups, 0)[0]
    assert (len(fold.train), len(fold.val), len(fold.test)) == (560, 70, 70)  # 8 / 1 / 1 groups, as the paper


def test_paper_groups_balanced_with_uneven_classes():
    labels = np.repeat(np.arange(7), [29, 30, 31, 32, 30, 31, 30])  # JAFFE-like
    groups = ImageLevelKFold(10, 1).groups(labels, None, 0, "fp")
    sizes = np.bincount(groups)
    assert sizes.max() - sizes.min() <= 1
    for c in range(7):
        per_group = np.bincount(groups[labels == c], minlength=10)
        assert per_group.max() - per_group.min() <= 1


def test_subject_protocol_keeps_people_together_and_balances_sizes():
    labels, subjects = paper_like()
    groups, _ = split("subject", labels, subjects)
    for g in groups.values():
        for person in np.unique(subjects):
            assert len(set(g[subjects == person])) == 1
        assert np.bincount(g).tolist() == [70] * 10  # 20 equal people into 10 groups: two each


def test_ckplus_like_subject_split_is_balanced():
    """The CK+48 report: 118 people with unequal counts used to give one group of 109
    people. StratifiedGroupKFold keeps every group within the bound."""
    labels, subjects = ckplus_like()
    groups, report = split("subject", labels, subjects, folds=10, runs=3)
    for run, g in groups.items():
        sizes = np.bincount(g, minlength=10)
        assert sizes.max() <= MAX_GROUP_RATIO * sizes.mean(), sizes
        assert sizes.min() >= 0.5 * sizes.mean(), sizes
        people = [len(np.unique(subjects[g == k])) for k in range(10)]
        assert min(people) >= 5, people
        for f in folds_of_run(g, run):
            assert set(np.unique(labels[f.train])) == set(np.unique(labels))  # rare class in every training part
    assert len(report.sizes) == 30


def test_leave_one_subject_out_is_one_person_per_group():
    labels, subjects = paper_like(n_people=10)
    groups, _ = split("subject", labels, subjects, folds=10, runs=2)
    for g in groups.values():
        assert sorted(len(set(subjects[g == k])) for k in range(10)) == [1] * 10


def test_one_huge_person_is_a_warning_naming_the_person():
    labels, subjects = paper_like(n_people=12, per_class=2)
    labels = np.concatenate([labels, np.repeat(np.arange(7), 20)])
    subjects = np.concatenate([subjects, ["BIG"] * 140])
    groups, report = split("subject", labels, subjects, folds=6, runs=1)
    assert any("'BIG'" in w and "cannot be balanced" in w for w in report.warnings), report.warnings


def test_unbalanced_groups_are_an_error_naming_the_sizes():
    labels, subjects = paper_like(n_people=10, per_class=2)
    groups = np.repeat(np.arange(10), 14)  # people P00..P09 one per group ...
    groups[:14 * 4] = 0  # ... but four people piled into group 1, leaving groups 2-4 empty
    with pytest.raises(ProtocolError, match="empty"):
        check_split(groups, labels, subjects, 0)
    groups = np.repeat(np.arange(10), 14)
    groups[14:14 * 4] = 0  # group 1 holds 4 people (56 images, mean 14 ... but 3 groups empty)
    with pytest.raises(ProtocolError):
        check_split(groups, labels, subjects, 0)
    labels2 = np.tile(np.arange(7), 40)
    groups2 = np.concatenate([np.zeros(100, int), np.repeat(np.arange(1, 10), 20)])
    with pytest.raises(ProtocolError, match=r"group 1 holds 100 images, more than 2× the mean group size 28.0"):
        check_split(groups2, labels2, None, 0)


def test_person_in_two_groups_and_missing_class_are_errors():
    labels, subjects = paper_like(n_people=10, per_class=2)
    groups = np.repeat(np.arange(10), 14)
    groups[0] = 1
    with pytest.raises(ProtocolError, match="person 'P00' is in 2 groups"):
        check_split(groups, labels, subjects, 0)
    labels = np.tile(np.arange(3), 10)
    labels[[0, 3]] = 5  # class 5 only in two images, both in groups 1 and 2
    groups = np.arange(30) // 3
    with pytest.raises(ProtocolError, match="fold 1: class 'sadness' is absent from the training part"):
        check_split(groups, labels, None, 0, class_names=CLASSES)


def test_rare_class_shown_by_few_people_is_redrawn_or_refused():
    """More folds than people of a class: splits are re-drawn until every training part
    holds the class; a class shown by one person is refused up front."""
    labels, subjects = paper_like(n_people=12, per_class=2, n_classes=3)
    extra_labels = np.array([7] * 6)
    extra_subjects = np.array(["P00"] * 3 + ["P01"] * 3)
    labels, subjects = np.concatenate([labels, extra_labels]), np.concatenate([subjects, extra_subjects])
    groups, report = split("subject", labels, subjects, folds=10, runs=5)
    for run, g in groups.items():
        for f in folds_of_run(g, run):
            assert 7 in labels[f.train]
    lonely = np.concatenate([labels, [6, 6]]), np.concatenate([subjects, ["P02", "P02"]])
    with pytest.raises(ProtocolError, match="class 'surprise' is shown by only 1 person"):
        split("subject", *lonely, folds=10)


def test_splits_depend_only_on_their_identity():
    labels, _ = paper_like()

    def groups(run=3, seed=7, fp="fp"):
        return ImageLevelKFold(10, 5, seed).groups(labels, None, run, fp)

    a = groups()
    assert np.array_equal(a, groups())
    assert not np.array_equal(a, groups(run=4))
    assert not np.array_equal(a, groups(seed=8))
    assert not np.array_equal(a, groups(fp="other"))


def test_class_with_fewer_images_than_folds_is_refused_by_name():
    labels = np.array([0] * 20 + [1] * 5 + [2] * 4)
    with pytest.raises(ProtocolError, match="class 'disgust' has 5 images, class 'fear' has 4 images; --folds 10"):
        ImageLevelKFold(10, 1).check(labels, None, CLASSES)


def test_subject_protocol_needs_subjects_and_enough_people():
    labels, subjects = paper_like(n_people=5)
    with pytest.raises(ProtocolError, match="subject .*id"):
        SubjectKFold(10, 1).check(labels, None, CLASSES)
    with pytest.raises(ProtocolError, match="--folds 5"):
        SubjectKFold(10, 1).check(labels, subjects, CLASSES)
    with pytest.raises(ProtocolError, match="at least 3"):
        ImageLevelKFold(2, 1).check(labels, None, CLASSES)


def test_inner_folds_rotate_the_non_test_groups():
    groups = np.repeat(np.arange(5), 4)
    fold = folds_of_run(groups, 0)[2]
    pairs = inner_folds(groups, fold)
    assert len(pairs) == 4
    assert np.array_equal(pairs[0][1], fold.val) and np.array_equal(pairs[0][0], fold.train)
    for train, val in pairs:
        assert not set(train) & set(fold.test) and not set(val) & set(fold.test)
        assert len(train) + len(val) == 16


def test_the_one_tie_rule_prefers_the_simplest_and_averages_inner_splits():
    from fer_bench.selection import Candidate, average, choose

    scores = [Candidate({"C": 1}, 0.5), Candidate({"C": 10}, 0.7), Candidate({"C": 100}, 0.7)]
    assert choose(scores) == 1  # equal accuracy: the earliest (simplest) in declared order
    other = [Candidate({"C": 1}, 0.9), Candidate({"C": 10}, 0.5), Candidate({"C": 100}, 0.5)]
    assert [(c.params, round(c.score, 6)) for c in average([scores, other])] == [
        ({"C": 1}, 0.7), ({"C": 10}, 0.6), ({"C": 100}, 0.6)]
    # A declared secondary key (lower wins) decides between equal accuracies, before the order.
    ties = [Candidate({"epochs": 1}, 0.7, 0.9, "loss"), Candidate({"epochs": 2}, 0.7, 0.4, "loss")]
    assert choose(ties) == 1


@pytest.mark.slow
def test_subject_split_sizes_are_in_the_fold_table(tmp_path):
    """End to end: an unbalanced manifest dataset gets balanced subject groups, and the
    report's fold table shows every fold's sizes."""
    rng = np.random.default_rng(1)
    rows, lines = [], ["path,label,subject"]
    names = ["happy", "sad", "angry"]
    for p in range(24):
        count = int(rng.integers(2, 9))
        for i in range(count):
            c = (p + i) % 3
            rel = f"img/p{p}_{i}.png"
            rows.append((rel, c))
            lines.append(f"{rel},{names[c]},S{p}")
    write_images(tmp_path / "d", rows, size=16)
    (tmp_path / "d" / "m.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{tmp_path / 'd' / 'm.csv'}", "--protocol", "subject",
        "--runs", "1", "--folds", "6", "--out", str(out), "-q")
    import pandas as pd

    sizes = pd.read_csv(out / "split_sizes.csv")
    assert list(sizes.columns) == ["run", "fold", "n_train", "n_val", "n_test"]
    assert len(sizes) == 6 and sizes["n_test"].max() <= 2 * sizes["n_test"].mean()
    assert "Folds — training / validation / test sizes" in (out / "report.html").read_text()
