"""Shared preprocessing: decoding, resize, colour, face preprocessing, and its cache."""

import json

import numpy as np

from fer_bench import ImageSpec, load_dataset
from fer_bench.cache import ArrayCache
from fer_bench.preprocess import effective_spec, load_images, prepare_image
from fer_bench.registry import create_method
from tests.conftest import cli


def test_prepare_image_resizes_and_converts():
    gray = (np.arange(100 * 80) % 256).astype(np.uint8).reshape(100, 80)
    out = prepare_image(gray, ImageSpec(size=(32, 40), color="rgb"))
    assert out.shape == (32, 40, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out[..., 0], out[..., 2])  # gray replicated to three channels
    rgb = np.stack([gray, gray // 2, gray // 3], axis=2)
    out = prepare_image(rgb, ImageSpec(size=(16, 16), color="gray"))
    assert out.shape == (16, 16)


def test_crop_cuts_the_box_with_its_margin_before_resizing():
    image = np.zeros((100, 100), dtype=np.uint8)
    image[40:60, 40:60] = 255  # a bright 20-px "face"
    box = np.array([40.0, 40.0, 60.0, 60.0])
    out = prepare_image(image, ImageSpec((26, 26), "gray", "crop"), box=box)
    # 20 px box + 15 % margin each side = 26 px: the bright square fills the middle 20 px
    assert out[3:23, 3:23].min() == 1.0 and out[:2].max() == 0.0 and out[:, :2].max() == 0.0
    whole = prepare_image(image, ImageSpec((26, 26), "gray", "none"))
    assert whole.mean() < out.mean()


def test_images_are_cached_per_spec(tmp_path):
    ds = load_dataset("synthetic?subjects=2&per_expression=1&size=64")
    cache = ArrayCache(tmp_path / "cache")
    first = load_images(ds, ImageSpec(size=(32, 32)), cache)
    again = load_images(ds, ImageSpec(size=(32, 32)), cache)
    assert cache.misses == 1 and cache.hits == 1
    np.testing.assert_array_equal(first, again)
    load_images(ds, ImageSpec(size=(16, 16)), cache)
    assert cache.misses == 2
    crop = load_images(ds, ImageSpec(size=(32, 32), face="crop"), cache)
    assert cache.misses == 4  # the detections, then the cropped images
    assert not np.array_equal(crop, first)


def test_a_run_may_override_every_methods_face_preprocessing():
    method = create_method("hog-svm")
    assert effective_spec(method).face == "align"
    assert effective_spec(method, "none") == ImageSpec((64, 64), "gray", "none")
    assert effective_spec(method, None) == method.input_spec()


def test_face_option_through_the_cli(tmp_path):
    out = tmp_path / "o"
    proc = cli("run", "--methods", "pca-svm", "--dataset", "synthetic?subjects=3&per_expression=2&size=64",
               "--face", "none", "--runs", "1", "--folds", "3", "--out", str(out), "-q")
    assert proc.returncode == 0
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["face"] == "none" and record["faces"] == {}
    # the method's own preprocessing (align) is another configuration of the same directory
    clash = cli("run", "--methods", "pca-svm", "--dataset", "synthetic?subjects=3&per_expression=2&size=64",
                "--runs", "1", "--folds", "3", "--out", str(out), "-q", check=False)
    assert clash.returncode == 2 and "face: stored 'none', requested None" in clash.stderr
