"""Tests of the synthetic face generator (fer_bench.datasets.synthetic)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from fer_bench.datasets.synthetic import (
    EXPRESSIONS,
    PersonGeometry,
    Pose,
    make_synthetic,
    render_face,
    sample_person,
    sample_pose,
)


@pytest.fixture(scope="module")
def small():
    """8 subjects x 7 expressions x 2 images at 64 x 64."""
    return make_synthetic(n_subjects=8, images_per_expression=2, size=64, seed=0)


def test_expressions_are_the_seven_classes():
    assert EXPRESSIONS == ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")


def test_shape_dtype_count_and_order():
    images, labels, subjects = make_synthetic(n_subjects=2, images_per_expression=3, size=48, seed=1)
    assert isinstance(images, np.ndarray)
    assert images.dtype == np.uint8
    assert images.shape == (2 * 7 * 3, 48, 48)
    assert len(labels) == len(subjects) == 42
    expected_labels = [e for _ in range(2) for e in EXPRESSIONS for _ in range(3)]
    assert list(labels) == expected_labels
    assert list(subjects) == ["P01"] * 21 + ["P02"] * 21


def test_default_size_is_256():
    images, labels, subjects = make_synthetic(n_subjects=1, images_per_expression=1)
    assert images.shape == (7, 256, 256)
    assert labels == list(EXPRESSIONS)
    assert subjects == ["P01"] * 7


def test_images_use_the_dynamic_range():
    images, _, _ = make_synthetic(n_subjects=2, images_per_expression=1, size=64)
    for im in images:
        assert im.std() > 10
        assert int(im.max()) - int(im.min()) > 80


def test_deterministic_given_seed():
    a = make_synthetic(n_subjects=2, images_per_expression=2, size=64, seed=3)
    b = make_synthetic(n_subjects=2, images_per_expression=2, size=64, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and a[2] == b[2]
    c = make_synthetic(n_subjects=2, images_per_expression=2, size=64, seed=4)
    assert not np.array_equal(a[0], c[0])


def test_larger_set_keeps_the_first_images():
    small_imgs, _, _ = make_synthetic(n_subjects=2, images_per_expression=1, size=48, seed=0)
    big_imgs, _, _ = make_synthetic(n_subjects=3, images_per_expression=2, size=48, seed=0)
    # Image (subject i, expression e, repeat 0) sits at i*14 + e*2 in the bigger set.
    for i in range(2):
        for e in range(7):
            np.testing.assert_array_equal(small_imgs[i * 7 + e], big_imgs[i * 14 + e * 2])


def test_images_within_a_class_differ(small):
    images, labels, subjects = small
    # Two repeats of the same person and expression are not identical.
    assert not np.array_equal(images[0], images[1])


def test_each_person_has_distinct_geometry():
    people = [sample_person(np.random.default_rng([0, i, 0])) for i in range(20)]
    assert all(isinstance(p, PersonGeometry) for p in people)
    vectors = np.array([dataclasses.astuple(p) for p in people], dtype=float)
    assert len({tuple(v) for v in vectors}) == 20
    for field in ("face_w", "eye_sep", "skin", "mouth_w", "brow_gap", "rest_mouth_curve"):
        values = [getattr(p, field) for p in people]
        assert np.std(values) > 0, field
    # Pairwise: every two people differ in several geometric fields at once.
    geo = vectors[:, :10]
    d = np.abs(geo[:, None, :] - geo[None, :, :]).sum(-1)
    assert (d[~np.eye(20, dtype=bool)] > 0.05).all()


def test_people_differ_in_pixels(small):
    images, labels, subjects = small
    neutral = [images[i * 14 + EXPRESSIONS.index("neutral") * 2].astype(float) for i in range(8)]
    for i in range(1, 8):
        assert np.abs(neutral[0] - neutral[i]).mean() > 5


def test_labels_balanced(small):
    _, labels, subjects = small
    assert Counter(labels) == {e: 16 for e in EXPRESSIONS}
    assert Counter(subjects) == {f"P{i:02d}": 14 for i in range(1, 9)}


def test_render_face_api():
    rng = np.random.default_rng(0)
    person = sample_person(rng)
    pose = sample_pose(rng)
    assert isinstance(pose, Pose)
    img = render_face(person, "surprise", 0.8, pose, np.random.default_rng(1), size=96)
    assert img.shape == (96, 96) and img.dtype == np.uint8
    again = render_face(person, "surprise", 0.8, pose, np.random.default_rng(1), size=96)
    np.testing.assert_array_equal(img, again)
    with pytest.raises(ValueError):
        render_face(person, "boredom", 0.8, pose, rng)


def test_expressions_change_the_face_of_one_person():
    rng = np.random.default_rng(5)
    person = sample_person(rng)
    pose = dataclasses.replace(sample_pose(rng), noise_sigma=0.0)
    neutral = render_face(person, "neutral", 1.0, pose, np.random.default_rng(0), size=128).astype(float)
    for expression in EXPRESSIONS:
        if expression == "neutral":
            continue
        img = render_face(person, expression, 1.0, pose, np.random.default_rng(0), size=128).astype(float)
        assert np.abs(img - neutral).max() > 40, expression


def test_class_mean_images_differ(small):
    images, labels, _ = small
    y = np.array(labels)
    x = images.reshape(len(images), -1).astype(float)
    means = np.stack([x[y == e].mean(0) for e in EXPRESSIONS])
    for a in range(7):
        for b in range(a + 1, 7):
            assert np.abs(means[a] - means[b]).max() > 10, (EXPRESSIONS[a], EXPRESSIONS[b])


def test_pca_svm_beats_chance_and_shuffled_labels_do_not():
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    # 8 subjects x 7 expressions x 4 images at 48 x 48: about a second in all.
    images, labels, _ = make_synthetic(n_subjects=8, images_per_expression=4, size=48, seed=0)
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    y = np.array(labels)
    model = make_pipeline(StandardScaler(), PCA(30, whiten=True, svd_solver="randomized", random_state=0), SVC(C=10))
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    acc = cross_val_score(model, x, y, cv=cv).mean()
    assert acc > 0.33  # chance is 1/7 = 0.14 (measured: 0.47)
    shuffled = np.random.default_rng(0).permutation(y)
    acc_shuffled = cross_val_score(model, x, shuffled, cv=cv).mean()
    assert acc_shuffled < 0.25  # measured: 0.08
    assert acc - acc_shuffled > 0.15


def test_mean_and_std_do_not_encode_the_class(small):
    images, labels, _ = small
    y = np.array(labels)
    flat = images.reshape(len(images), -1).astype(float)
    means = np.array([flat[y == e].mean() for e in EXPRESSIONS])
    # Per-class mean brightness differences are small next to the per-image spread.
    assert means.std() < 0.25 * flat.mean(1).std()
