"""Invariants of the two protocols' splits."""

import numpy as np
import pytest

from fer_bench.errors import ProtocolError
from fer_bench.model_selection import check_protocol, folds_of_run, make_groups


def paper_like(n_people=20, per_class=5, n_classes=7):
    labels = np.tile(np.repeat(np.arange(n_classes), per_class), n_people)
    subjects = np.repeat([f"P{i:02d}" for i in range(n_people)], n_classes * per_class)
    return labels, subjects


@pytest.mark.parametrize("protocol", ["paper", "subject"])
def test_every_image_tested_once_per_run_and_groups_disjoint(protocol):
    labels, subjects = paper_like()
    for run in range(3):
        groups = make_groups(protocol, labels, subjects, 10, run, 0, "fp")
        folds = folds_of_run(groups, run)
        tested = np.concatenate([f.test for f in folds])
        assert sorted(tested) == list(range(len(labels)))
        for f in folds:
            assert not set(f.train) & set(f.test)
            assert not set(f.train) & set(f.val)
            assert not set(f.val) & set(f.test)
            assert len(f.train) + len(f.val) + len(f.test) == len(labels)
            # validation is the next group
            assert set(groups[f.val]) == {(f.fold + 1) % 10}


def test_paper_groups_have_equal_class_shares():
    labels, _ = paper_like()  # 100 per class, 10 groups -> exactly 10 of each class per group
    groups = make_groups("paper", labels, None, 10, 0, 0, "fp")
    for g in range(10):
        counts = np.bincount(labels[groups == g], minlength=7)
        assert counts.tolist() == [10] * 7
    # 8 train groups, 1 validation, 1 test, as the paper
    fold = folds_of_run(groups, 0)[0]
    assert (len(fold.train), len(fold.val), len(fold.test)) == (560, 70, 70)


def test_paper_groups_balanced_with_uneven_classes():
    labels = np.repeat(np.arange(7), [29, 30, 31, 32, 30, 31, 30])  # JAFFE-like
    groups = make_groups("paper", labels, None, 10, 0, 0, "fp")
    sizes = np.bincount(groups)
    assert sizes.max() - sizes.min() <= 1
    for c in range(7):
        per_group = np.bincount(groups[labels == c], minlength=10)
        assert per_group.max() - per_group.min() <= 1


def test_subject_protocol_keeps_people_together():
    labels, subjects = paper_like()
    for run in range(3):
        groups = make_groups("subject", labels, subjects, 10, run, 0, "fp")
        for person in np.unique(subjects):
            assert len(set(groups[subjects == person])) == 1
        for f in folds_of_run(groups, run):
            assert not set(subjects[f.train]) & set(subjects[f.test])
            assert not set(subjects[f.val]) & set(subjects[f.test])
            assert not set(subjects[f.train]) & set(subjects[f.val])
        # 20 equal people into 10 groups: two people each
        assert np.bincount(groups).tolist() == [70] * 10


def test_leave_one_subject_out():
    labels, subjects = paper_like(n_people=10)
    groups = make_groups("subject", labels, subjects, 10, 0, 0, "fp")
    assert sorted(len(set(subjects[groups == g])) for g in range(10)) == [1] * 10


def test_splits_depend_only_on_their_identity():
    labels, subjects = paper_like()
    a = make_groups("paper", labels, None, 10, 3, 7, "fp")
    assert np.array_equal(a, make_groups("paper", labels, None, 10, 3, 7, "fp"))
    assert not np.array_equal(a, make_groups("paper", labels, None, 10, 4, 7, "fp"))  # another run
    assert not np.array_equal(a, make_groups("paper", labels, None, 10, 3, 8, "fp"))  # another seed
    assert not np.array_equal(a, make_groups("paper", labels, None, 10, 3, 7, "other"))  # another dataset


def test_class_with_fewer_images_than_folds_is_refused():
    labels = np.array([0] * 20 + [1] * 5)
    with pytest.raises(ProtocolError, match="fewer images than folds.*1 has 5"):
        check_protocol("paper", labels, None, 10, 1)


def test_subject_protocol_without_subjects_is_refused():
    labels, _ = paper_like()
    with pytest.raises(ProtocolError, match="subject .*id"):
        check_protocol("subject", labels, None, 10, 1)


def test_subject_protocol_needs_enough_people():
    labels, subjects = paper_like(n_people=5)
    with pytest.raises(ProtocolError, match="--folds 5"):
        check_protocol("subject", labels, subjects, 10, 1)


def test_too_few_folds_or_unknown_protocol():
    labels, _ = paper_like()
    with pytest.raises(ProtocolError, match="at least 3"):
        check_protocol("paper", labels, None, 2, 1)
    with pytest.raises(ProtocolError, match="unknown protocol"):
        check_protocol("loso", labels, None, 10, 1)
