"""The holdout protocol (a dataset's own split) and cross-dataset evaluation, through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fer_bench.errors import ProtocolError
from fer_bench.model_selection import Holdout
from tests.conftest import cli, write_images

CLASSES = ["anger", "happiness", "sadness"]


def split_manifest(tmp_path, with_val=True, classes=("happy", "sad", "angry"), name="d"):
    """A manifest with a split column: per class 12 train, 3 val (optional), 4 test images."""
    rows, lines = [], ["path,label,split"]
    for c, label in enumerate(classes):
        parts = [("train", 12), ("val", 3 if with_val else 0), ("Testing", 4)]
        i = 0
        for part, count in parts:
            for _ in range(count):
                rel = f"img/{label}_{i}.png"
                rows.append((rel, c))
                lines.append(f"{rel},{label},{part}")
                i += 1
    write_images(tmp_path / name, rows, size=16)
    path = tmp_path / name / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_holdout_groups_follow_the_split_and_draw_a_validation_share():
    labels = np.repeat(np.arange(3), 20)
    splits = np.array((["train"] * 16 + ["test"] * 4) * 3, dtype=object)
    protocol = Holdout(n_folds=10, n_runs=2)
    assert protocol.n_folds == 1
    protocol.check(labels, None, CLASSES, splits)
    groups, report = protocol.all_groups(labels, None, "fp", class_names=CLASSES, splits=splits)
    for run, g in groups.items():
        (fold,) = protocol.folds(g, run)
        assert set(splits[fold.test]) == {"test"} and len(fold.test) == 12
        assert set(splits[fold.val]) == {"train"} and 3 <= len(fold.val) <= 6  # a stratified ~10 % of train
        assert set(np.unique(labels[fold.val])) == {0, 1, 2}
    assert not np.array_equal(groups[0], groups[1])  # a new validation share per run
    with pytest.raises(ProtocolError, match="needs the dataset's own split"):
        protocol.check(labels, None, CLASSES, None)


def test_holdout_small_training_part_gets_one_validation_image_per_class_or_a_clear_error():
    """10 % of 21 training images is 3, fewer than the 7 classes: scikit-learn would raise a
    traceback; the draw takes one image per class instead, and refuses a part too small."""
    classes = [f"c{i}" for i in range(7)]
    labels = np.repeat(np.arange(7), 4)
    splits = np.array((["train"] * 3 + ["test"]) * 7, dtype=object)
    protocol = Holdout(n_runs=1)
    groups, _ = protocol.all_groups(labels, None, "fp", class_names=classes, splits=splits)
    (fold,) = protocol.folds(groups[0], 0)
    assert sorted(labels[fold.val]) == list(range(7)) and len(fold.train) == 14
    tiny = np.array((["train"] * 2 + ["test"] * 2) * 7, dtype=object)  # 14 train: 7 val leaves 7, fine
    protocol.all_groups(labels, None, "fp", class_names=classes, splits=tiny)
    with pytest.raises(ProtocolError, match="6 images of 6 classes: too few to draw a validation part"):
        Holdout(n_runs=1).all_groups(np.arange(7), None, "fp", class_names=classes,
                                     splits=np.array(["train"] * 6 + ["test"], dtype=object))


@pytest.mark.slow
def test_holdout_run_through_the_cli(tmp_path):
    out = tmp_path / "o"
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{split_manifest(tmp_path)}",
               "--protocol", "holdout", "--runs", "2", "--out", str(out), "-q")
    sizes = pd.read_csv(out / "split_sizes.csv")
    assert sizes[["n_train", "n_val", "n_test"]].values.tolist() == [[36, 9, 12], [36, 9, 12]]
    t3 = pd.read_csv(out / "table3.csv", keep_default_na=False)
    assert t3.loc[0, "protocol"] == "holdout" and t3.loc[0, "runs"] == 2 and t3.loc[0, "folds"] == 1
    assert "McNemar" in (out / "table3.md").read_text()
    assert "holdout" in proc.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["dataset"]["splits"] == {"train": 36, "val": 9, "test": 12}


def test_holdout_without_a_split_is_refused(tiny_folder, tmp_path):
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--protocol", "holdout",
               "--out", str(tmp_path / "o"), "-q", check=False)
    assert proc.returncode == 2 and "needs the dataset's own split" in proc.stderr


def test_bad_split_value_names_the_line(tmp_path):
    path = split_manifest(tmp_path)
    path.write_text(path.read_text().replace(",train\n", ",trian\n", 1))
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{path}", "--protocol", "holdout",
               "--out", str(tmp_path / "o"), "-q", check=False)
    assert proc.returncode == 2 and "line 2: split 'trian' is not one of train, val, test" in proc.stderr


@pytest.mark.slow
def test_cross_dataset_trains_on_one_tests_on_the_other(tmp_path):
    train = split_manifest(tmp_path, with_val=False, name="a")
    test = split_manifest(tmp_path, classes=("happy", "sad", "fear"), name="b")
    out = tmp_path / "o"
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{train}", "--test-dataset", f"manifest:{test}",
               "--runs", "1", "--out", str(out), "-q")
    assert "dropped train dataset" in proc.stderr and "angry" not in proc.stderr.split("dropped")[0]
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["protocol"] == "holdout" and record["config"]["classes"] == ["happiness", "sadness"]
    assert record["config"]["test_dataset_spec"] == f"manifest:{test}"
    sizes = pd.read_csv(out / "split_sizes.csv")
    assert sizes.loc[0, "n_test"] == 2 * 19  # every image of the two shared classes of the test dataset
    board = (out / "leaderboard.md").read_text()
    assert "cross-dataset: trained on" in board and "dropped" in board
    refused = cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{train}", "--test-dataset",
                  f"manifest:{test}", "--protocol", "subject", "--out", str(tmp_path / "x"), "-q", check=False)
    assert refused.returncode == 2 and "use --protocol holdout" in refused.stderr
