"""Face detection, crop and landmark alignment (fer_bench.faces) and their cache.

Inputs without JAFFE are built from scikit-image's ``astronaut`` (a NASA portrait in the
public domain) in temporary folders; no image is stored in the repository.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import fer_bench
from fer_bench import ImageSpec, faces, load_dataset
from fer_bench.cache import ArrayCache
from fer_bench.preprocess import image_key, load_images
from fer_bench.registry import with_face
from tests.conftest import cli
from tests.models import session_models

ASTRONAUT_BOX = (179, 83, 267, 171)  # dlib's box on skimage.data.astronaut() (left, top, right, bottom)


@pytest.fixture
def models(tmp_path_factory, monkeypatch):
    folder = session_models(tmp_path_factory, "shape_predictor_5")
    monkeypatch.setenv("FER_BENCH_MODELS", str(folder))
    return folder


def astronaut_gray() -> np.ndarray:
    from skimage import data

    return faces.to_gray_uint8(data.astronaut())


def moved(image: np.ndarray, angle: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0), size: int = 256) -> np.ndarray:
    """The astronaut's face rotated by ``angle`` degrees and scaled about its centre, shifted,
    in a size×size frame (uint8)."""
    from skimage.transform import SimilarityTransform, warp

    cx, cy = (ASTRONAUT_BOX[0] + ASTRONAUT_BOX[2]) / 2, (ASTRONAUT_BOX[1] + ASTRONAUT_BOX[3]) / 2
    to_origin = SimilarityTransform(translation=(-cx, -cy))
    turn = SimilarityTransform(rotation=np.deg2rad(angle), scale=scale * size / 400)
    back = SimilarityTransform(translation=(size / 2 + shift[0], size / 2 + shift[1]))
    forward = SimilarityTransform(matrix=back.params @ turn.params @ to_origin.params)
    out = warp(image, forward.inverse, output_shape=(size, size), order=1, mode="edge", preserve_range=True)
    return np.rint(out).astype(np.uint8)


def write_face_folder(root, blank: bool = True):
    """A folder dataset: 3 classes × 4 astronaut variants (pose, scale, position), plus,
    with ``blank``, one image with no face at all in class ``sad``."""
    from PIL import Image

    base = astronaut_gray()
    rng = np.random.default_rng(0)
    variants = [(-8, 1.0, (0, 0)), (6, 0.9, (10, -6)), (0, 1.1, (-12, 8)), (12, 1.0, (4, 4))]
    for c, label in enumerate(["happy", "sad", "angry"]):
        for k, (angle, scale, shift) in enumerate(variants):
            if blank and label == "sad" and k == 3:
                image = rng.integers(100, 140, (256, 256)).astype(np.uint8)
                name = "noface.png"
            else:
                image = moved(base, angle + 3 * c, scale, shift)
                name = f"face{k}.png"
            (root / label).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / label / name)
    return root


def eyes_of(image: np.ndarray) -> np.ndarray:
    """Eye centres found again by dlib on an output image (2×2: left, right)."""
    found = faces.detect_face(image)
    assert found is not None, "no face found again in the aligned output"
    predictor, _ = faces.shape_predictor("shape_predictor_5")
    return faces.landmarks_in(image, found[0], predictor)[:2]


# -- ImageSpec and the run-wide override --------------------------------------------------
def test_image_spec_carries_the_face_preprocessing_and_with_face_overrides_it():
    spec = ImageSpec((64, 64), "gray", face="align")
    assert spec.key() == [[64, 64], "gray", "align", "shape_predictor_5", "several_faces=largest"]
    assert ImageSpec((64, 64)).face == "none" and ImageSpec((64, 64)).key() == [[64, 64], "gray", "none"]
    assert with_face(spec, None) is spec
    assert with_face(spec, "crop") == ImageSpec((64, 64), "gray", face="crop")
    assert with_face(ImageSpec(), "align:shape_predictor_68").landmarks == "shape_predictor_68"
    with pytest.raises(fer_bench.FerBenchError, match="none, crop, align"):
        with_face(spec, "aligned")
    with pytest.raises(fer_bench.FerBenchError, match="face preprocessing 'tight'"):
        ImageSpec(face="tight")


def test_a_bad_face_option_is_one_line_before_any_work(tmp_path):
    proc = cli("run", "--methods", "pca-svm", "--face", "aligned", "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--face 'aligned'" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_methods_declare_their_face_preprocessing():
    from fer_bench.registry import create_method

    for name in ("pca-svm", "lbp-svm", "hog-svm", "hos-svm", "bwe-fsvm", "dwt-pca-cso", "swe-bbo",
                 "mobilenetv2-probe", "resnet101"):
        assert create_method(name).input_spec().face == "align", name
    for name in ("minixception-probe", "minixception"):
        assert create_method(name).input_spec().face == "crop", name


# -- detection on photographs and on ready-made crops -------------------------------------
def test_a_face_is_found_and_the_crop_keeps_brows_and_chin():
    image = astronaut_gray()
    box, score = faces.detect_face(image)
    assert np.allclose(box, ASTRONAUT_BOX, atol=2) and score > 0
    cx, cy, w, h = faces.crop_region(box, 64, 64)
    assert w == h == pytest.approx(88 * 1.3)  # square, 15 % margin each side
    assert (cx, cy) == (223.0, 127.0)
    crop = faces.cut_region(image, cx, cy, w, h)
    assert crop.shape == (114, 114)
    # a region past the frame repeats the border pixels instead of failing
    edge = faces.cut_region(image, 5, 5, 40, 40)
    assert edge.shape == (40, 40) and (edge[:15, :15] == image[0, 0]).all()


def test_ready_made_small_face_crops_are_found_after_upscaling_and_padding(monkeypatch):
    """CK+48 / FER2013-like 48×48 crops: dlib's 80-px window cannot see them as they are."""
    from PIL import Image

    image = astronaut_gray()
    tight = image[92:162, 188:258]  # inside dlib's own box: brows to mouth, no background
    small = np.asarray(Image.fromarray(tight).resize((48, 48), Image.Resampling.BICUBIC))
    work, scale, pad = faces.working_image(small)
    assert scale == 4 and pad == 96 and work.shape == (384, 384)
    found = faces.detect_face(small)
    assert found is not None
    box = found[0]
    overlap = (min(box[2], 48) - max(box[0], 0)) * (min(box[3], 48) - max(box[1], 0))
    assert overlap / (48 * 48) > 0.9  # the box holds the frame, in the 48-px coordinates
    monkeypatch.setattr(faces, "SMALL_SIDE", 0)  # without the upscale-and-pad route ...
    assert faces.detect_face(small) is None  # ... the detector finds nothing


# -- alignment -----------------------------------------------------------------------------
def test_alignment_puts_the_eyes_where_the_template_says(models):
    """Rotated, scaled and shifted copies of a face all come out with their eyes on the
    template; checked by detecting the landmarks again on the aligned output."""
    base = astronaut_gray()
    predictor, _ = faces.shape_predictor("shape_predictor_5")
    target = faces.TEMPLATE.to_pixels(128, 128)[:2]
    assert np.allclose(target, [[128 / 3, 128 / 3], [256 / 3, 128 / 3]])
    for angle, scale, shift in [(0, 1.0, (0, 0)), (15, 0.8, (20, -10)), (-12, 1.2, (-15, 12))]:
        image = moved(base, angle, scale, shift)
        box, _ = faces.detect_face(image)
        points = faces.landmarks_in(image, box, predictor)
        tilt = np.degrees(np.arctan2(*(points[1] - points[0])[::-1]))
        assert abs(tilt - angle) < 4  # the input really is tilted as made
        aligned = faces.align_image(image, points, 128, 128)
        assert aligned.shape == (128, 128) and aligned.dtype == np.uint8
        np.testing.assert_allclose(eyes_of(aligned), target, atol=0.04 * 128)


def test_alignment_of_jaffe_faces_puts_the_eyes_on_the_template(jaffe_path, models, tmp_path):
    ds = load_dataset(f"jaffe:{jaffe_path}")
    images = load_images(ds, ImageSpec((128, 128), "gray", "align"), ArrayCache(tmp_path / "c"))
    target = faces.TEMPLATE.to_pixels(128, 128)[:2]
    for i in range(0, len(ds), 23):  # people KA … YM
        aligned = np.rint(np.asarray(images[i]) * 255).astype(np.uint8)
        np.testing.assert_allclose(eyes_of(aligned), target, atol=0.04 * 128, err_msg=ds.samples.sample_id[i])


def test_non_square_outputs_keep_the_face_area():
    points = faces.TEMPLATE.to_pixels(150, 110)
    iod = points[1, 0] - points[0, 0]
    assert iod == pytest.approx(np.sqrt(150 * 110) / 3)
    assert points[:, 0].mean() == pytest.approx(55, abs=1e-9)  # centred
    cx, cy, w, h = faces.crop_region(np.array([0, 0, 100, 100]), 150, 110)
    assert w * h == pytest.approx(130 * 130) and w / h == pytest.approx(110 / 150)


# -- per-dataset geometry: fallback, naming, cache -----------------------------------------
def test_no_face_image_follows_the_fallback_and_is_named(tmp_path, models):
    ds = load_dataset(f"folder:{write_face_folder(tmp_path / 'faces')}")
    geometry = faces.face_geometry(ds, ArrayCache(tmp_path / "c"), "shape_predictor_5")
    assert geometry.not_found == ["sad/noface.png"]
    blank = list(ds.samples["sample_id"]).index("sad/noface.png")
    others = np.flatnonzero(geometry.found)
    assert len(others) == len(ds) - 1
    # same frame size everywhere (256): the fallback is the median box and the median landmarks
    np.testing.assert_allclose(geometry.boxes[blank], np.median(geometry.boxes[others], axis=0))
    np.testing.assert_allclose(geometry.points[blank], np.median(geometry.points[others], axis=0))
    report = faces.face_report(ds, "align", ArrayCache(tmp_path / "c"))
    assert report["not_found"] == ["sad/noface.png"] and report["faces_found"] == len(ds) - 1
    assert "median" in report["fallback"] and report["landmarks_sha256"].startswith("c4b1e980")


def test_a_dataset_without_any_face_uses_the_whole_frame(tmp_path, models):
    from PIL import Image

    rng = np.random.default_rng(1)
    for label in ("happy", "sad"):
        (tmp_path / "blank" / label).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(rng.integers(90, 160, (80, 120)).astype(np.uint8)).save(tmp_path / "blank" / label / f"{k}.png")
    ds = load_dataset(f"folder:{tmp_path / 'blank'}")
    geometry = faces.face_geometry(ds, None, "shape_predictor_5")
    assert not geometry.found.any() and len(geometry.not_found) == 4
    np.testing.assert_array_equal(geometry.boxes, np.tile([0, 0, 120, 80], (4, 1)))
    assert np.isfinite(geometry.points).all()  # the landmark model ran on the whole frame
    crops = load_images(ds, ImageSpec((32, 32), "gray", "crop"), ArrayCache(None))
    assert crops.shape == (4, 32, 32)


def test_face_geometry_and_images_are_cached_and_invalidated(tmp_path, models, monkeypatch):
    ds = load_dataset(f"folder:{write_face_folder(tmp_path / 'faces', blank=False)}")
    cache = ArrayCache(tmp_path / "c")
    align = ImageSpec((48, 48), "gray", "align")
    first = np.array(load_images(ds, align, cache))
    assert cache.misses == 3  # detections, landmarks, images
    calls = []
    detect, template = faces.detect_face, faces.TEMPLATE
    monkeypatch.setattr(faces, "detect_face", lambda gray: calls.append(1))
    again = load_images(ds, align, cache)
    assert cache.misses == 3 and cache.hits == 1 and not calls
    np.testing.assert_array_equal(first, again)
    load_images(ds, ImageSpec((48, 48), "gray", "crop"), cache)
    assert cache.misses == 4 and not calls  # a new image stack, the detections reused
    # another template geometry: new images, same landmarks
    monkeypatch.setattr(faces, "TEMPLATE", faces.Template(eye_left=(-0.6, 0.0), eye_right=(0.6, 0.0)))
    moved_eyes = np.array(load_images(ds, align, cache))
    assert cache.misses == 5 and not calls and not np.array_equal(moved_eyes, first)
    # another landmark model (hash) or detector version: another key
    key = image_key(ds, align)
    assert key["landmarks_sha256"] == fer_bench.weights.MODEL_FILES["shape_predictor_5"].sha256
    assert image_key(ds, with_face(align, "align:shape_predictor_68")) != key
    monkeypatch.setattr(faces, "TEMPLATE", template)
    monkeypatch.setattr(faces, "detect_face", detect)
    detector = faces.detector_key()
    monkeypatch.setattr(faces, "detector_key", lambda: {**detector, "dlib": "0.0"})
    faces.face_geometry(ds, cache)
    assert cache.misses == 6  # detections recomputed for another dlib


def test_missing_landmark_model_is_a_requirement_with_the_install_command(tmp_path, monkeypatch):
    from fer_bench.registry import create_method

    monkeypatch.setenv("FER_BENCH_MODELS", str(tmp_path / "empty"))
    reasons = create_method("hog-svm").unmet_requirements("cpu")
    assert len(reasons) == 1 and "fer-bench weights install shape_predictor_5" in reasons[0]
    assert create_method("minixception-probe", weights="none").unmet_requirements("cpu") == []  # crop: no model file
    proc = cli("run", "--methods", "pca-svm", "--face", "align", "--dataset", "synthetic?subjects=3&per_expression=1",
               "--runs", "1", "--folds", "3", "--out", str(tmp_path / "o"), check=False,
               env={"FER_BENCH_MODELS": str(tmp_path / "empty")})
    assert proc.returncode == 2 and "fer-bench weights install shape_predictor_5" in proc.stderr


# -- through the command line --------------------------------------------------------------
@pytest.mark.slow
def test_no_face_image_is_named_by_the_run_and_in_run_json(tmp_path, models):
    root = write_face_folder(tmp_path / "faces")
    out = tmp_path / "o"
    proc = cli("run", "--methods", "hog-svm,lbp-svm", "--dataset", f"folder:{root}", "--face", "crop", "--runs",
               "1", "--folds", "3", "--out", str(out), "-q", env={"FER_BENCH_MODELS": str(models)})
    assert "no face detected in 1 of 12 images (sad/noface.png)" in proc.stderr
    # Said once, not once per method that uses the same face preprocessing, nor again as a
    # shorter log warning before the run's own line.
    assert proc.stderr.count("no face detected") == 1 and "WARNING" not in proc.stderr, proc.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["face"] == "crop"
    assert record["faces"]["crop"]["not_found"] == ["sad/noface.png"]
    assert record["faces"]["crop"]["fallback"] == faces.FALLBACK


@pytest.mark.slow
def test_alignment_end_to_end_on_a_few_jaffe_people(jaffe_path, tmp_path, models):
    people = ("KA", "KL", "KM", "NA")
    subset = tmp_path / "jaffe4"
    subset.mkdir()
    for file in sorted(jaffe_path.iterdir()):
        if file.name.split(".")[0] in people:
            (subset / file.name).symlink_to(file)
    n = len(list(subset.iterdir()))
    out = tmp_path / "o"
    proc = cli("run", "--methods", "hog-svm,pca-svm", "--dataset", f"jaffe:{subset}", "--protocol", "subject",
               "--folds", "4", "--runs", "1", "--face", "align", "--out", str(out), "-q",
               env={"FER_BENCH_MODELS": str(models)})
    assert f"face align (shape_predictor_5): a face was detected in all {n} images" in proc.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["face"] == "align"
    report = record["faces"]["align (shape_predictor_5)"]
    assert report["faces_found"] == n and report["not_found"] == [] and report["template"] == faces.TEMPLATE.key()
    results = fer_bench.load_results(out)
    assert len(results.folds) == 8
    # shown beside the protocol in every table, the report and the plots' subtitles
    shown = (f"Face preprocessing: `--face align` for every method (align (shape_predictor_5): a face detected in "
             f"{n} of {n} images)")
    for name in ("leaderboard.md", "table3.md", "table2.md"):
        assert shown in (out / name).read_text(), name
    assert "Face preprocessing" in (out / "report.html").read_text()
    assert "face align" in (out / "fig12_oa_comparison.svg").read_text()
    # a run with another face preprocessing is another configuration
    clash = cli("run", "--methods", "hog-svm", "--dataset", f"jaffe:{subset}", "--protocol", "subject", "--folds", "4",
                "--runs", "1", "--face", "crop", "--out", str(out), "-q", check=False,
                env={"FER_BENCH_MODELS": str(models)})
    assert clash.returncode == 2 and "face" in clash.stderr


def test_alignment_points_from_5_and_68_landmarks(tmp_path, monkeypatch):
    five = np.array([[80, 40], [70, 40], [20, 42], [30, 42], [50, 70]], dtype=float)  # dlib's 5-point order
    np.testing.assert_allclose(faces.alignment_points(five), [[25, 42], [75, 40], [50, 70]])
    sixty_eight = np.zeros((68, 2))
    sixty_eight[36:42], sixty_eight[42:48], sixty_eight[33] = (20, 40), (80, 40), (50, 75)
    np.testing.assert_allclose(faces.alignment_points(sixty_eight), [[20, 40], [80, 40], [50, 75]])
    with pytest.raises(faces.FaceModelError, match="7 points"):
        faces.alignment_points(np.zeros((7, 2)))
    # the 68-point model is only used when asked for, and says how to get it
    monkeypatch.setenv("FER_BENCH_MODELS", str(tmp_path / "empty"))
    reasons = faces.unmet_requirements("align", "shape_predictor_68")
    assert len(reasons) == 1 and "fer-bench weights install shape_predictor_68" in reasons[0]
