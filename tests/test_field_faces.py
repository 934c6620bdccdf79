"""Field reports 3: images with several faces (``--several-faces``), protocols that take
the dataset's split as an argument, and the gate's refit default.

Images are built from scikit-image's ``astronaut`` (public domain) in temporary folders.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_bench import faces
from fer_bench.cache import ArrayCache
from fer_bench.config import RunConfig, default_of
from fer_bench.errors import FerBenchError, ProtocolError
from fer_bench.model_selection import Holdout, ImageLevelKFold
from tests.conftest import cli
from tests.test_faces import astronaut_gray, moved

LEFT_BOX_X = 157  # left edge of dlib's box on the left (labelled) face of two_faces()


def two_faces(right_scale: float = 1.5) -> np.ndarray:
    """256×512: the labelled face on the left, near the centre, and a bystander on the
    right, ``right_scale`` times as large (1.25: dlib gives both boxes the same size and
    the bystander the higher score; 1.5: the bystander's box is larger)."""
    base = astronaut_gray()
    return np.concatenate([moved(base, 0, 1.0, (60, 0)), moved(base, 0, right_scale, (-20, 0))], axis=1)


def write_two_face_folder(root):
    """3 classes × 4 single-face images, the first of each class replaced by a two-face photo."""
    from PIL import Image

    base = astronaut_gray()
    variants = [(-8, 1.0, (0, 0)), (6, 0.9, (10, -6)), (0, 1.1, (-12, 8)), (12, 1.0, (4, 4))]
    for c, label in enumerate(["happy", "sad", "angry"]):
        (root / label).mkdir(parents=True, exist_ok=True)
        for k, (angle, scale, shift) in enumerate(variants):
            image = two_faces() if k == 0 else moved(base, angle + 3 * c, scale, shift)
            Image.fromarray(image).save(root / label / (f"two{k}.png" if k == 0 else f"face{k}.png"))
    return root


# -- which face: the rule ------------------------------------------------------------------
def test_largest_then_central_then_score_and_central_first():
    boxes = np.array([[0, 0, 50, 50], [200, 80, 260, 140], [90, 40, 140, 90]], dtype=float)  # areas 2500, 3600, 2500
    scores = [3.0, 0.1, 0.2]
    assert faces.choose_face(boxes, scores, 200, 300, "largest") == 1
    assert faces.choose_face(boxes[[0, 2]], [3.0, 0.2], 200, 300, "largest") == 1  # same area: the central one
    assert faces.choose_face(boxes, scores, 200, 300, "central") == 2
    assert faces.choose_face(boxes, scores, 200, 300, "drop") == 1
    with pytest.raises(FerBenchError, match="--several-faces 'biggest'"):
        faces.choose_face(boxes, scores, 200, 300, "biggest")


def test_detection_counts_the_faces_and_the_rule_chooses():
    box, _, n = faces.detect_faces(two_faces(1.5), "largest")
    assert n == 2 and box[0] > 256  # the larger bystander
    box, _, n = faces.detect_faces(two_faces(1.5), "central")
    assert n == 2 and box[0] == LEFT_BOX_X
    # dlib's pyramid gives both the same box: the central face wins, not the bystander's higher score
    assert faces.detect_faces(two_faces(1.25), "largest")[0][0] == LEFT_BOX_X
    assert faces.detect_faces(astronaut_gray())[2] == 1


def test_geometry_records_the_count_and_its_cache_depends_on_the_rule(tmp_path):
    from fer_bench import load_dataset

    ds = load_dataset(f"folder:{write_two_face_folder(tmp_path / 'f')}")
    cache = ArrayCache(tmp_path / "c")
    largest = faces.face_geometry(ds, cache)
    central = faces.face_geometry(ds, cache, rule="central")
    assert sorted(largest.several) == ["angry/two0.png", "happy/two0.png", "sad/two0.png"]
    assert largest.n_faces.tolist().count(2) == 3 and largest.rule == "largest"
    i = ds.sample_ids.index("happy/two0.png")
    assert largest.boxes[i][0] > 256 and central.boxes[i][0] == LEFT_BOX_X
    report = faces.face_report(ds, "crop", cache, several_faces="central")
    assert report["several_faces_rule"] == "central" and len(report["several_faces"]) == 3
    assert faces.face_key("crop", several_faces="central") != faces.face_key("crop")


def test_the_rule_is_part_of_the_image_and_feature_keys():
    from fer_bench import ImageSpec
    from fer_bench.preprocess import effective_spec
    from fer_bench.registry import create_method

    method = create_method("hog-svm")
    crop = effective_spec(method, "crop")
    assert crop.several_faces == "largest"
    assert effective_spec(method, "crop", "central").key() != crop.key()
    assert effective_spec(method, "none", "central").key() == effective_spec(method, "none").key()
    with pytest.raises(FerBenchError, match="several-faces"):
        ImageSpec(face="crop", several_faces="all")


def test_run_config_carries_the_rule():
    config = RunConfig(methods=["pca-svm"], several_faces="drop")
    assert "--several-faces drop" in config.as_command()
    assert "--several-faces" not in RunConfig(methods=["pca-svm"]).as_command()
    with pytest.raises(FerBenchError, match="--several-faces 'both'"):
        RunConfig(several_faces="both")


# -- through the command line --------------------------------------------------------------
def test_several_faces_are_counted_named_and_the_rule_is_recorded(tmp_path):
    root = write_two_face_folder(tmp_path / "faces")
    out = tmp_path / "o"
    base = ("run", "--methods", "hog-svm", "--dataset", f"folder:{root}", "--face", "crop", "--runs", "1",
            "--folds", "3", "-q", "--jobs", "1")
    proc = cli(*base, "--out", str(out))
    assert ("face crop: 3 of 12 images with several faces (e.g. angry/two0.png, happy/two0.png, sad/two0.png): "
            "the largest face was used") in proc.stderr
    assert "--several-faces central or drop to choose another rule" in proc.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["several_faces"] == "largest"
    assert record["faces"]["crop"]["several_faces"] == ["angry/two0.png", "happy/two0.png", "sad/two0.png"]
    assert record["faces"]["crop"]["several_faces_rule"] == "largest"
    # a results folder made with another rule is not resumed silently
    again = cli(*base, "--out", str(out), "--several-faces", "central", check=False)
    assert again.returncode == 2 and "several_faces: stored 'largest', requested 'central'" in again.stderr

    dropped = tmp_path / "d"
    proc = cli(*base, "--out", str(dropped), "--several-faces", "drop")
    assert "3 images left out on purpose: several faces were found in them (--several-faces drop)" in proc.stderr
    assert "(9 images, 3 classes)" in proc.stderr
    record = json.loads((dropped / "run.json").read_text())
    assert record["config"]["several_faces_dropped"] == ["angry/two0.png", "happy/two0.png", "sad/two0.png"]
    assert record["dataset"]["images"] == 9 and record["faces"]["crop"]["several_faces"] == []
    assert record["config"]["dataset_fingerprint"] != record["config"]["loaded_fingerprint"]
    assert "--several-faces drop" in record["command"]


def test_several_faces_is_ignored_without_face_detection(tmp_path):
    root = write_two_face_folder(tmp_path / "faces")
    out = tmp_path / "o"
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{root}", "--face", "none", "--runs", "1",
               "--folds", "3", "-q", "--jobs", "1", "--out", str(out), "--several-faces", "drop")
    assert "--several-faces drop is ignored: no method of this run detects faces" in proc.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["several_faces"] is None and record["dataset"]["images"] == 12


# -- B: protocols take the split as an argument -----------------------------------------------
def test_holdout_split_without_a_split_column_is_a_clear_error():
    labels = np.array([0, 1] * 10)
    with pytest.raises(ProtocolError, match="the holdout protocol needs the dataset's own split"):
        list(Holdout(n_runs=1).split(labels, None, "fp"))
    splits = np.array(["train"] * 12 + ["val"] * 4 + ["test"] * 4, dtype=object)
    protocol = Holdout(n_runs=1)
    (fold,) = protocol.split(labels, None, "fp", splits=splits)
    assert list(fold.test) == list(range(16, 20)) and list(fold.val) == list(range(12, 16))
    # nothing is kept between calls: a later call without the split does not reuse the earlier one
    with pytest.raises(ProtocolError):
        protocol.groups(labels, None, 0, "fp")
    folds = list(ImageLevelKFold(n_folds=3, n_runs=1).split(np.array([0, 1, 2] * 4), None, "fp"))
    assert len(folds) == 3


# -- C: the gate re-runs with the run's own default -----------------------------------------
def test_a_reference_without_refit_reruns_with_the_runs_default(tmp_path, monkeypatch):
    from fer_bench import gate, load_dataset, runner

    assert default_of("refit") is RunConfig(methods=["pca-svm"]).refit is True
    ds = load_dataset(f"folder:{write_two_face_folder(tmp_path / 'faces')}")
    seen = {}

    def fake_run(**options):
        seen.update(options)
        return "results"

    monkeypatch.setattr(runner, "run", fake_run)
    reference = {"config": {"runs": 1, "folds": 3}, "methods": {"pca-svm": {"oa_mean": 50.0}}}
    assert gate.run_reference(reference, tmp_path / "o", dataset=ds) == "results"
    assert seen["refit"] is True and seen["several_faces"] == "largest"
    assert seen["seed"] == default_of("seed") and seen["selection"] == default_of("selection")


def test_drop_detects_each_image_once(tmp_path, monkeypatch):
    """--several-faces drop: the kept images' detections come from the whole set's, not a second pass."""
    from fer_bench.datasets import load_dataset

    root = write_two_face_folder(tmp_path / "faces")
    cache = ArrayCache(tmp_path / "cache")
    ds = load_dataset(f"folder:{root}")
    reduced, dropped = faces.drop_several_faces(ds, cache)
    assert len(reduced) == len(ds) - len(dropped) == 9
    whole = faces.face_geometry(ds, cache, rule="drop")

    def detect_again(*args, **kwargs):
        raise AssertionError("the kept images were detected a second time")

    monkeypatch.setattr(faces, "_detect_rows", detect_again)
    kept = faces.face_geometry(reduced, cache, rule="drop")
    keep = np.flatnonzero(whole.n_faces <= 1)
    assert np.array_equal(kept.boxes, whole.boxes[keep]) and kept.several == []
