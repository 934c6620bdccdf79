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


@pytest.mark.slow
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


# -- the same bytes on every machine ------------------------------------------------------------
#
# numpy picks SIMD kernels for its transcendental ufuncs (exp, log, power, sin, ...) at run time
# from the CPU's features (baseline, AVX2/FMA3, AVX-512 ...), and the variants differ in the last
# bits; OpenBLAS picks its matrix kernels from the CPU as well. The generator must not depend on
# either. These settings make this machine behave like older CPUs: NPY_DISABLE_CPU_FEATURES turns
# numpy's dispatched kernels off (numpy docs, "CPU build options" / runtime dispatch), and
# OPENBLAS_CORETYPE forces another OpenBLAS kernel family (OpenBLAS README, DYNAMIC_ARCH).

_PROBE = r"""
import hashlib, json
import numpy as np
from fer_bench.datasets import synthetic as S

floats, uint8 = hashlib.sha256(), hashlib.sha256()
# Image (subject i, expression e, repeat 0) exactly as make_synthetic draws it (seed 0), before the
# rounding to uint8 (a one-ulp difference rarely flips a pixel, but it is a difference all the same).
for size, subjects in ((64, (0, 1)), (256, (0,))):
    for i in subjects:
        person = S.sample_person(np.random.default_rng([0, i, 0]))
        for e, expression in enumerate(S.EXPRESSIONS):
            if size == 256 and e % 3:
                continue
            rng = np.random.default_rng([0, i, e + 1, 0])
            pose = S.sample_pose(rng)
            intensity = rng.uniform(*S.INTENSITY_RANGE)
            floats.update(S._render_float(person, expression, intensity, pose, rng, size).tobytes())
uint8.update(S.make_synthetic(2, 1, 64, 0)[0].tobytes())
uint8.update(S.make_synthetic(1, 1, 256, 0)[0].tobytes())
print(json.dumps({"float": floats.hexdigest(), "uint8": uint8.hexdigest()}))
"""


def _cpu_settings() -> list[tuple[str, dict[str, str]]]:
    """Environment settings that make numpy and OpenBLAS pick other CPU kernels on this machine."""
    import platform

    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    settings = [("default", {})]
    active = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if active:  # baseline kernels only, as on the oldest CPU numpy supports
        settings.append(("numpy baseline only", {"NPY_DISABLE_CPU_FEATURES": " ".join(active)}))
    if len(active) > 1:  # one generation down (e.g. AVX2 instead of AVX-512)
        settings.append(("numpy without its best kernels", {"NPY_DISABLE_CPU_FEATURES": " ".join(active[1:])}))
    if platform.machine().lower() in ("x86_64", "amd64"):
        settings += [(f"OpenBLAS {core}", {"OPENBLAS_CORETYPE": core}) for core in ("Prescott", "Sandybridge")]
    return settings


def test_same_bytes_whatever_the_cpu_kernels():
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    settings = _cpu_settings()
    base = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")}
    procs = [
        subprocess.Popen([sys.executable, "-c", _PROBE], cwd=REPO, env={**base, **extra},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _, extra in settings
    ]
    results = {}
    for (name, _), proc in zip(settings, procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {err}"
        results[name] = json.loads(out.strip().splitlines()[-1])
    assert len(results) >= 2, "no alternative CPU setting on this machine"
    default = results["default"]
    differ = {name: r for name, r in results.items() if r != default}
    assert not differ, f"the generator's output depends on the CPU kernels: {differ} vs default {default}"


# SHA-256 of single images, recorded with this generator (seed 0). A change here changes the
# built-in dataset's fingerprint, and with it every synthetic reference file.
_IMAGE_SHA256 = {
    (64, 0): "35ef44bdd1a728370562e072e5772fb538d4207258964d3d92e158fb7e94cc37",  # P01 anger
    (64, 4): "f1c03786285412784a0ef379153219fc6607437a2e143d6041e878d3d41189e9",  # P01 neutral
    (64, 9): "51d348d4555b61786c3597b47bc3f385406b8c76b30d9e71de5cffd8b98153fc",  # P02 fear
    (64, 13): "15103ac8b157bef351b3c2adb7b637f41bdb81bddbd4bd78e76d613d931289b6",  # P02 surprise
    (256, 3): "677c32bb5fe5aac828b9189c979542ad231c866c04bb38dca17185c2da70b878",  # P01 happiness
    (256, 6): "534ffe818ebbf91345e21f7cc3f7b6c9050210690bf157d914eeb6548d1e4671",  # P01 surprise
}
#: Fingerprint of the default built-in dataset (``--dataset synthetic``: 20 x 7 x 5, 256 x 256, seed 0).
SYNTHETIC_FINGERPRINT = "eb10b432fdf16989b7f84f017d4c162da7b36ae9829918fe675775ee126c571f"


def test_stored_image_hashes():
    import hashlib

    generated = {64: make_synthetic(2, 1, 64, seed=0)[0], 256: make_synthetic(1, 1, 256, seed=0)[0]}
    got = {key: hashlib.sha256(generated[key[0]][key[1]].tobytes()).hexdigest() for key in _IMAGE_SHA256}
    assert got == _IMAGE_SHA256


@pytest.mark.slow
def test_default_dataset_fingerprint():
    from fer_bench.datasets import load_dataset

    assert load_dataset("synthetic").fingerprint == SYNTHETIC_FINGERPRINT


def test_deterministic_elementary_functions_are_accurate():
    import math

    from fer_bench.datasets.synthetic import _cos_sin, _exp, _gaussian_blur, _log, _pow

    x = np.linspace(-40.0, 40.0, 20001)
    np.testing.assert_allclose(_exp(x), np.exp(x), rtol=1e-15)
    x = np.geomspace(1e-30, 1e30, 20001)
    np.testing.assert_allclose(_log(x), np.log(x), rtol=1e-15, atol=1e-15)
    x = np.linspace(0.0, 3.0, 3001)
    for p in (0.25, 0.5, 0.6, 0.8, 1 / 2.2, 2.0, 2.2, 2.8, 4.0, -2.5):
        np.testing.assert_allclose(_pow(x[1:], p), x[1:] ** p, rtol=5e-15)
        assert _pow(np.zeros(1), p)[0] == 0.0 or p < 0
    assert _pow(np.ones(3, np.float32), 2.2).dtype == np.float32
    for theta in np.linspace(-10.0, 10.0, 2001):
        c, s = _cos_sin(float(theta))
        assert abs(c - math.cos(theta)) < 1e-15 and abs(s - math.sin(theta)) < 1e-15
    from scipy import ndimage

    img = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    for sigma in (0.4, 1.0, 1.6):
        ref = ndimage.gaussian_filter(img, sigma, mode="nearest", truncate=3.0)
        np.testing.assert_allclose(_gaussian_blur(img, sigma), ref, atol=1e-6)
