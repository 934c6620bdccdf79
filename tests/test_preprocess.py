"""Shared preprocessing: decoding, face crop, resize, colour, and its cache."""

import numpy as np

from fer_bench import ImageSpec, load_dataset
from fer_bench.cache import ArrayCache
from fer_bench.preprocess import crop_face, load_images, prepare_image
from tests.conftest import cli


def test_face_is_found_and_cropped_on_jaffe(jaffe_path):
    ds = load_dataset(f"jaffe:{jaffe_path}")
    image = ds.read_image(0)
    cropped, found = crop_face(image)
    assert found
    assert 80 < cropped.shape[0] < image.shape[0] and 80 < cropped.shape[1] < image.shape[1]


def test_no_face_keeps_the_full_frame():
    blank = np.full((128, 128), 127, dtype=np.uint8)
    cropped, found = crop_face(blank)
    assert not found and cropped.shape == blank.shape


def test_prepare_image_resizes_and_converts():
    gray = (np.arange(100 * 80) % 256).astype(np.uint8).reshape(100, 80)
    out, _ = prepare_image(gray, ImageSpec(size=(32, 40), color="rgb"))
    assert out.shape == (32, 40, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out[..., 0], out[..., 2])  # gray replicated to three channels
    rgb = np.stack([gray, gray // 2, gray // 3], axis=2)
    out, _ = prepare_image(rgb, ImageSpec(size=(16, 16), color="gray"))
    assert out.shape == (16, 16)


def test_images_are_cached_per_spec(tmp_path):
    ds = load_dataset("synthetic?subjects=2&per_expression=1&size=64")
    cache = ArrayCache(tmp_path / "cache")
    first = load_images(ds, ImageSpec(size=(32, 32)), cache)
    again = load_images(ds, ImageSpec(size=(32, 32)), cache)
    assert cache.misses == 1 and cache.hits == 1
    np.testing.assert_array_equal(first, again)
    load_images(ds, ImageSpec(size=(16, 16)), cache)
    assert cache.misses == 2


def test_face_crop_through_the_cli(jaffe_path, tmp_path):
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"jaffe:{jaffe_path}", "--face-crop", "--runs", "1",
               "--folds", "3", "--out", str(tmp_path / "o"), "-q")
    assert proc.returncode == 0
    import json

    assert json.loads((tmp_path / "o" / "run.json").read_text())["config"]["face_crop"] is True
