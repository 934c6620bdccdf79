"""The hardest images (issue 25, item 2): per test image, how many method × run predictions got it
wrong and what they predicted instead; the images (almost) every method gets wrong, in
``hardest_images.csv|md`` and ``report.html``; the hardest people under the subject protocol."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from fer_bench.reporting.hardest import (
    NO_PATHS_TEXT,
    hardest,
    image_errors,
    subject_errors,
    write_hardest_tables,
)
from fer_bench.reporting.html import _hardest_images
from fer_bench.results import SAMPLES_FILE, Results
from tests.conftest import cli

TWO = ["--methods", "pca-svm:C=10,hog-svm:C=10", "--face", "none", "--runs", "1", "--folds", "3", "-q", "--jobs", "1"]
CLASSES = ["happy", "sad", "angry"]
COPY = "sad/zz_copy_of_happy.png"  # a happy face filed as sad: its label is wrong


def write_images(root, rows, size=48, seed=0):
    """Small PNGs (``rows`` of (relative path, class index)) that every method tells apart: noise
    plus a bright horizontal band whose height is the class."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    third = size // 3
    for rel, cls in rows:
        img = rng.integers(0, 40, (size, size)).astype(np.uint8)
        img[cls * third + third // 4:(cls + 1) * third - third // 4] += 150  # no edge shared between classes
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / rel)
    return root


@pytest.fixture
def mislabelled_folder(tmp_path):
    """3 classes × 12 images with class-dependent content, plus one more happy image filed in sad/."""
    root = write_images(tmp_path / "faces", [(f"{name}/{i:03d}.png", c) for c, name in enumerate(CLASSES)
                                             for i in range(12)])
    # A new happy face (not a byte copy: an identical copy would teach its wrong label to the original).
    return write_images(root, [(COPY, 0)], seed=99)


def test_mislabelled_image_tops_the_csv_the_markdown_and_the_report(tmp_path, mislabelled_folder):
    out = tmp_path / "res"
    cli("run", "--dataset", f"folder:{mislabelled_folder}", *TWO, "--out", str(out))
    table = pd.read_csv(out / "hardest_images.csv", keep_default_na=False)
    assert list(table.columns[:9]) == ["idx", "path", "subject", "label", "wrong", "predictions", "error_share",
                                       "most_common_wrong", "most_common_wrong_count"]
    assert len(table) == 37  # every image, once
    top = table.iloc[0]
    assert (top["path"], top["label"], top["wrong"], top["predictions"]) == (COPY, "sadness", 2, 2)
    assert (top["most_common_wrong"], top["most_common_wrong_count"], top["error_share"]) == ("happiness", 2, 1.0)
    assert list(table["error_share"]) == sorted(table["error_share"], reverse=True)
    md = (out / "hardest_images.md").read_text()
    assert f"`{COPY}`" in md and "happiness (2)" in md and "candidates for label errors" in md and "90 %" in md
    page = (out / "report.html").read_text()
    section = page[page.index('id="hardest-images"'):]
    assert page.index('id="error-overlap"') < page.index('id="hardest-images"')
    assert COPY in section and "data:image/png;base64," in section.split("</div>")[0]
    assert "not found" not in section.split("</div>")[0]
    assert not (out / "hardest_subjects.csv").exists()  # image-level protocol: no per-person table
    # The root is recorded relative to the results folder: no machine's absolute path.
    assert not Path(json.loads((out / "run.json").read_text())["dataset"]["root"]).is_absolute()
    # --no-images: a report to share or commit keeps the names and leaves the dataset's images out.
    cli("report", str(out), "--no-images", "--out", str(tmp_path / "shared"))
    shared = (tmp_path / "shared" / "report.html").read_text()
    shared_section = shared[shared.index('id="hardest-images"'):].split("</div>")[0]
    assert COPY in shared_section and "data:image/png" not in shared_section and "image left out" in shared_section

    # The same bytes when written again; from the exported files (no store) too, paths kept.
    before = (out / "hardest_images.csv").read_bytes()
    (out / "results.sqlite").unlink()
    exported = Results(out)
    write_hardest_tables(exported, out)
    assert (out / "hardest_images.csv").read_bytes() == before
    # The dataset moved: names only, and the report says the files were not found.
    mislabelled_folder.rename(tmp_path / "moved")
    html = "".join(_hardest_images(exported))
    assert COPY in html and "data:image/png" not in html and "were not found" in html
    # Results exported before the samples were: the index only, and said so.
    (out / SAMPLES_FILE).unlink()
    old = Results(out)
    write_hardest_tables(old, out)
    assert NO_PATHS_TEXT in (out / "hardest_images.md").read_text()
    assert pd.read_csv(out / "hardest_images.csv", keep_default_na=False)["path"].eq("").all()
    assert "image #" in "".join(_hardest_images(old))


def test_hardest_people_under_the_subject_protocol(tmp_path):
    # 4 people × 3 classes × 3 images; person KX's labels are shifted by one class, so every
    # method gets KX wrong.
    root = tmp_path / "man"
    rows, lines = [], ["path,label,subject"]
    for person in ["KA", "KB", "KC", "KX"]:
        for c, name in enumerate(CLASSES):
            for i in range(3):
                rel = f"img/{person}_{name}_{i}.png"
                rows.append((rel, c))
                label = CLASSES[(c + 1) % 3] if person == "KX" else name
                lines.append(f"{rel},{label},{person}")
    write_images(root, rows)
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "res"
    cli("run", "--dataset", f"manifest:{root / 'labels.csv'}", "--protocol", "subject", "--methods", "pca-svm:C=10,hog-svm:C=10", "--face", "none",
        "--runs", "1", "--folds", "4", "-q", "--jobs", "1", "--out", str(out))
    people = pd.read_csv(out / "hardest_subjects.csv")
    assert list(people.columns[:5]) == ["subject", "images", "wrong", "predictions", "error_share"]
    accuracy = [c for c in people.columns if c.startswith("accuracy:")]  # one per method, in run order
    assert [c.split(":")[1] for c in accuracy] == ["pca-svm", "hog-svm"]
    assert people.iloc[0]["subject"] == "KX" and people.iloc[0]["images"] == 9
    assert people.iloc[0]["predictions"] == 18 and people.iloc[0]["error_share"] > 0.5
    assert (people.iloc[0][accuracy] < 50).all()
    assert sorted(people["subject"]) == ["KA", "KB", "KC", "KX"]
    assert "## The hardest people" in (out / "hardest_images.md").read_text()
    assert "The hardest people" in (out / "report.html").read_text()  # collapsed in a <details>


def _fake(predictions: list[tuple], samples: list[tuple], protocol: str = "paper", complete=None):
    """A results stand-in: ``predictions`` (method, run, fold, idx, y_true, y_pred) rows."""
    frame = pd.DataFrame(predictions, columns=["method", "run", "fold", "idx", "y_true", "y_pred"])
    complete = complete or {}
    return SimpleNamespace(
        predictions=frame, methods=list(dict.fromkeys(frame["method"])), classes=["a", "b", "c"],
        complete_runs=lambda m: complete.get(m, sorted(set(frame.loc[frame["method"] == m, "run"]))),
        samples=pd.DataFrame(samples, columns=["idx", "sample_id", "label", "subject"]), protocol=protocol,
        dataset={})


def test_counts_against_a_hand_made_predictions_table():
    # 3 images (true a, b, c), methods m1, m2 × runs 0, 1; m3 has run 1 incomplete (ignored there).
    p = [
        # image 0 (a): wrong 4 of 4, predicted b, b, c, b → most common wrong b (3)
        ("m1", 0, 0, 0, 0, 1), ("m1", 1, 0, 0, 0, 1), ("m2", 0, 0, 0, 0, 2), ("m2", 1, 0, 0, 0, 1),
        # image 1 (b): wrong 1 of 4 (a)
        ("m1", 0, 1, 1, 1, 1), ("m1", 1, 1, 1, 1, 0), ("m2", 0, 1, 1, 1, 1), ("m2", 1, 1, 1, 1, 1),
        # image 2 (c): right everywhere; tie a/b wrong for m3's complete run: never enters
        ("m1", 0, 2, 2, 2, 2), ("m1", 1, 2, 2, 2, 2), ("m2", 0, 2, 2, 2, 2), ("m2", 1, 2, 2, 2, 2),
        ("m3", 1, 2, 2, 2, 0),
    ]
    samples = [(0, "x/zero.png", "a", "P1"), (1, "x/one.png", "b", "P1"), (2, "x/two.png", "c", "P2")]
    res = _fake(p, samples, protocol="subject", complete={"m3": [0]})
    errors = image_errors(res)
    assert list(errors["idx"]) == [0, 1, 2]
    first, second, third = (errors.iloc[i] for i in range(3))
    assert (first["wrong"], first["predictions"], first["error_share"]) == (4, 4, 1.0)
    assert (first["most_common_wrong"], first["most_common_wrong_count"], first["methods"]) == ("b", 3, 2)
    assert (first["path"], first["subject"], first["label"]) == ("x/zero.png", "P1", "a")
    assert (second["wrong"], second["predictions"], second["most_common_wrong"]) == (1, 4, "a")
    assert (third["wrong"], third["most_common_wrong"], third["most_common_wrong_count"]) == (0, "", 0)
    assert list(hardest(errors)["idx"]) == [0]
    people = subject_errors(res)
    assert list(people["subject"]) == ["P1", "P2"]
    assert (people.iloc[0]["wrong"], people.iloc[0]["predictions"], people.iloc[0]["images"]) == (5, 8, 2)
    assert people.iloc[0]["accuracy:m1"] == pytest.approx(25.0) and people.iloc[0]["accuracy:m2"] == 50.0
    # A tie between two wrong labels goes to the earlier class; one method alone never lists an image.
    tie = image_errors(_fake([("m1", 0, 0, 0, 2, 1), ("m1", 1, 0, 0, 2, 0)], samples))
    assert (tie.iloc[0]["most_common_wrong"], tie.iloc[0]["most_common_wrong_count"]) == ("a", 1)
    assert hardest(tie).empty
    assert subject_errors(_fake(p, samples)).empty  # image-level protocol: no per-person table
