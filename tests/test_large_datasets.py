"""FER2013 and RAF-DB sources (every layout, on small generated files), the duplicate/split
counts, and the stand-in generator."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_bench.datasets import load_dataset
from fer_bench.datasets.splits import (
    SplitDataset,
    duplicate_split_report,
    groups_crossing_splits,
    groups_with_conflicting_labels,
    hash_groups,
    images_with_copy_in,
    index_groups,
)
from fer_bench.errors import DatasetError

from .conftest import cli

REPO = Path(__file__).resolve().parent.parent
FER_NAMES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
RAF_NAMES = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]


def fer_rows(n=42, seed=0, side=48):
    """(emotion code, uint8 image, Usage) rows: every class, all three Usages."""
    rng = np.random.default_rng(seed)
    usages = ["Training"] * (n - 14) + ["PublicTest"] * 7 + ["PrivateTest"] * 7
    return [(i % 7, rng.integers(0, 256, (side, side), dtype=np.uint8), usages[i]) for i in range(n)]


def write_fer_csv(path: Path, rows, header="emotion,pixels,Usage") -> Path:
    cols = [c.strip() for c in header.split(",")]
    lines = [header]
    for code, img, usage in rows:
        values = {"emotion": str(code), "pixels": " ".join(map(str, img.ravel().tolist())), "Usage": usage}
        sep = ", " if ", " in header else ","
        lines.append(sep.join(values[c] for c in cols))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# -- FER2013: the CSV ----------------------------------------------------------------------


def test_fer2013_csv_labels_splits_pixels_and_no_subjects(tmp_path):
    rows = fer_rows()
    csv = write_fer_csv(tmp_path / "fer2013.csv", rows)
    ds = load_dataset(f"fer2013:{csv}")
    assert isinstance(ds, SplitDataset) and len(ds) == len(rows)
    assert list(ds.samples["label"]) == [FER_NAMES[c] for c, _, _ in rows]
    expected_split = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
    assert list(ds.samples["split"]) == [expected_split[u] for _, _, u in rows]
    assert ds.split_counts() == {"train": 28, "val": 7, "test": 7}
    for i in (0, 17, len(rows) - 1):
        image = ds.read_image(i)
        assert image.dtype == np.uint8 and image.shape == (48, 48)
        np.testing.assert_array_equal(image, rows[i][1])
    assert ds.subjects is None and not ds.has_subjects
    assert "no subject ids" in ds.about["subjects"]
    summary = ds.summary()
    assert summary["splits"] == {"train": 28, "val": 7, "test": 7} and summary["subjects"] is None
    assert ds.samples.at[0, "sample_id"] == "Training/00000"


def test_fer2013_directory_and_icml_header_give_the_same_dataset(tmp_path):
    rows = fer_rows(seed=1)
    a = write_fer_csv(tmp_path / "a" / "fer2013.csv", rows)
    b = write_fer_csv(tmp_path / "b" / "icml_face_data.csv", rows, header="emotion, Usage, pixels")
    ds_file, ds_dir = load_dataset(f"fer2013:{a}"), load_dataset(f"fer2013:{b.parent}")
    assert ds_dir.fingerprint == ds_file.fingerprint
    assert list(ds_dir.samples["split"]) == list(ds_file.samples["split"])


def test_fer2013_fingerprint_identifies_pixels_labels_and_splits(tmp_path):
    rows = fer_rows(seed=2)
    base = load_dataset(f"fer2013:{write_fer_csv(tmp_path / 'base.csv', rows)}").fingerprint
    # Same content elsewhere: same fingerprint.
    assert load_dataset(f"fer2013:{write_fer_csv(tmp_path / 'x' / 'copy.csv', rows)}").fingerprint == base
    pixel = [list(r) for r in rows]
    pixel[5][1] = pixel[5][1].copy()
    pixel[5][1][10, 10] ^= 1
    label = [list(r) for r in rows]
    label[5][0] = (label[5][0] + 1) % 7
    split = [list(r) for r in rows]
    split[40][2] = "PublicTest"  # a PrivateTest image moved to PublicTest: only the split changes
    for name, variant in (("pixel", pixel), ("label", label), ("split", split)):
        other = load_dataset(f"fer2013:{write_fer_csv(tmp_path / f'{name}.csv', variant)}").fingerprint
        assert other != base, name


def test_fer2013_train_csv_without_usage_has_no_split(tmp_path):
    rows = fer_rows(n=21)
    lines = ["emotion,pixels"] + [f"{c},{' '.join(map(str, img.ravel()))}" for c, img, _ in rows]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    ds = load_dataset(f"fer2013:{tmp_path}")
    assert ds.splits is None and ds.split_counts() == {}
    assert ds.about["split_source"].startswith("none")
    assert ds.samples.at[0, "sample_id"] == "row/00000"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda lines: lines.__setitem__(3, lines[3].replace("Training", "Validation")), "line 4: Usage 'Validation'"),
        (lambda lines: lines.__setitem__(2, "7" + lines[2][1:]), "line 3: emotion '7'"),
        (lambda lines: lines.__setitem__(2, lines[2].rsplit(" ", 1)[0] + ",Training"), "line 3: 2303 pixel values"),
        (lambda lines: lines.__setitem__(4, lines[4].replace(" ", " x", 1)), "line 5: pixel value 'x"),
        (lambda lines: lines.__setitem__(0, "pixels,Usage"), "no 'emotion' column"),
    ],
)
def test_fer2013_bad_rows_name_the_line(tmp_path, mutate, message):
    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows(n=28))
    lines = csv.read_text().splitlines()
    mutate(lines)
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
        load_dataset(f"fer2013:{csv}")


def test_fer2013_pixel_out_of_range_is_named(tmp_path):
    rows = fer_rows(n=14)
    csv = write_fer_csv(tmp_path / "fer2013.csv", rows)
    lines = csv.read_text().splitlines()
    head, pixels, usage = lines[6].split(",")
    lines[6] = ",".join([head, "300 " + pixels.split(" ", 1)[1], usage])
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="line 7: pixel value 300 is outside 0-255"):
        load_dataset(f"fer2013:{csv}")


def test_fer2013_csv_is_streamed_in_bounded_memory(tmp_path):
    # 3,000 rows ≈ 26 MB of text; the images are 6.9 MB. Holding every row's string (or a
    # pandas table of them) would peak above the file size; streaming stays near the images.
    rows = fer_rows(n=3000, seed=3)
    csv = write_fer_csv(tmp_path / "fer2013.csv", rows)
    size = csv.stat().st_size
    tracemalloc.start()
    try:
        ds = load_dataset(f"fer2013:{csv}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    images = 3000 * 48 * 48
    assert len(ds) == 3000
    assert peak < 2.5 * images + 4_000_000 < size, (peak, size)


def test_fer2013_cli_refuses_test_csv_and_the_subject_protocol(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test.csv").write_text("pixels\n" + " ".join(["1"] * 2304) + "\n")
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"fer2013:{tmp_path / 't' / 'test.csv'}", check=False)
    assert proc.returncode == 2 and "no 'emotion' column" in proc.stderr and "Traceback" not in proc.stderr
    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows())
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"fer2013:{csv}", "--protocol", "subject",
               "--folds", "3", "--out", str(tmp_path / "out"), check=False)
    assert proc.returncode == 2 and "needs a subject (person) id" in proc.stderr and "Traceback" not in proc.stderr


def test_fer2013_runs_end_to_end_and_records_the_splits(tmp_path):
    from fer_bench.results import Results

    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows(n=63, seed=4))
    out = tmp_path / "out"
    cli("run", "--methods", "lbp-svm", "--dataset", f"fer2013:{csv}", "--runs", "1", "--folds", "3",
        "--out", str(out), "-q")
    res = Results(out)
    assert res.dataset["name"] == "fer2013" and res.dataset["splits"] == {"train": 49, "val": 7, "test": 7}
    assert res.oa_summary("lbp-svm")[2] == 1
    # FER2013's faces are registered crops: used as they are unless --face says otherwise,
    # and the tables say so (lbp-svm's own default is align).
    assert res.config["face"] == "none" and "registered by its authors" in res.config["face_reason"]
    assert res.method_records["lbp-svm"]["input"]["face"] == "none"
    assert "FER2013's images are face crops registered by its authors" in (out / "table2.md").read_text()


@pytest.mark.slow
def test_registered_face_crops_default_to_none_and_can_be_overridden(tmp_path):
    from fer_bench.config import RunConfig
    from fer_bench.runner import plan

    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows(n=42, seed=5))
    assert load_dataset(f"fer2013:{csv}").registered_faces
    default = plan(RunConfig(methods="hog-svm", dataset=f"fer2013:{csv}", protocol="holdout", runs=1))
    assert default.config.face == "none" and default.record["face"] == "none" and default.record["face_reason"]
    chosen = plan(RunConfig(methods="hog-svm", dataset=f"fer2013:{csv}", protocol="holdout", runs=1, face="align"))
    assert chosen.config.face == "align" and "face_reason" not in chosen.record
    own = plan(RunConfig(methods="hog-svm", dataset=f"fer2013:{csv}", protocol="holdout", runs=1, face="method"))
    assert own.config.face == "method" and "face_reason" not in own.record
    # A set that is not registered keeps each method's own face preprocessing.
    other = plan(RunConfig(methods="hog-svm", dataset="synthetic", runs=1, folds=3))
    assert other.config.face is None and "face_reason" not in other.record


def test_registered_face_crops_need_no_face_model(tmp_path, monkeypatch):
    """With the registered crops used as they are, a method whose own preprocessing is
    align runs without the landmark model; asked for its own (--face method), it says what
    is missing."""
    from fer_bench.results import Results

    monkeypatch.setenv("FER_BENCH_MODELS", str(tmp_path / "no-models"))
    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows(n=42, seed=6))
    out = tmp_path / "out"
    cli("run", "--methods", "hog-svm", "--dataset", f"fer2013:{csv}", "--protocol", "holdout", "--runs", "1",
        "--out", str(out), "-q")
    assert Results(out).oa_summary("hog-svm")[2] == 1
    proc = cli("run", "--methods", "hog-svm", "--dataset", f"fer2013:{csv}", "--protocol", "holdout", "--runs", "1",
               "--face", "method",
               "--out", str(tmp_path / "own"), "-q", check=False)
    assert proc.returncode != 0 and "shape_predictor_5" in proc.stderr and "Traceback" not in proc.stderr


# -- FER2013: the image-folder export --------------------------------------------------------


def write_images(root: Path, rels, size=48, mode="L", seed=0):
    rng = np.random.default_rng(seed)
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (size, size) if mode == "L" else (size, size, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return root


def test_fer2013_folder_export_restores_the_official_split(tmp_path):
    rels = [
        "train/angry/Training_10.png", "train/happy/Training_11.png", "train/3/Training_12.png",
        "test/sad/PublicTest_20.png", "test/surprise/PrivateTest_21.png", "test/6/PrivateTest_22.png",
        "test/neutral/other.png",
    ]
    root = write_images(tmp_path / "fer", rels)
    ds = load_dataset(f"fer2013:{root}")
    got = dict(zip(ds.samples["sample_id"], zip(ds.samples["label"], ds.samples["split"])))
    assert got["train/3/Training_12.png"] == ("happiness", "train")  # numeric folder: the CSV's code
    assert got["test/sad/PublicTest_20.png"] == ("sadness", "val")
    assert got["test/surprise/PrivateTest_21.png"] == ("surprise", "test")
    assert got["test/6/PrivateTest_22.png"] == ("neutral", "test")
    assert got["test/neutral/other.png"] == ("neutral", "test")
    assert "PublicTest_" in ds.about["split_source"]
    folders = load_dataset(f"fer2013:{root}?split=folders")
    assert set(folders.samples.loc[folders.samples["sample_id"].str.startswith("test/"), "split"]) == {"test"}
    assert folders.fingerprint != ds.fingerprint  # same pixels and labels, another split
    assert ds.read_image(0).shape == (48, 48)


def test_fer2013_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="neither fer2013.csv"):
        load_dataset(f"fer2013:{write_images(tmp_path / 'x', ['happy/1.png'])}")
    with pytest.raises(DatasetError, match="unknown option 'usage'"):
        load_dataset(f"fer2013:{tmp_path}?usage=1")
    root = write_images(tmp_path / "y", ["train/9/a.png"])
    with pytest.raises(DatasetError, match="not a FER2013 code 0-6"):
        load_dataset(f"fer2013:{root}")


# -- RAF-DB -------------------------------------------------------------------------------


def write_rafdb(root: Path, entries, images=("aligned",)) -> Path:
    """entries: (name like train_00001.jpg, code 1-7)."""
    (root / "EmoLabel").mkdir(parents=True, exist_ok=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text("".join(f"{n} {c}\n" for n, c in entries))
    rng = np.random.default_rng(0)
    for name, _ in entries:
        stem = name.rsplit(".", 1)[0]
        img = Image.fromarray(rng.integers(0, 256, (100, 100, 3), dtype=np.uint8))
        if "aligned" in images:
            (root / "Image" / "aligned").mkdir(parents=True, exist_ok=True)
            img.save(root / "Image" / "aligned" / f"{stem}_aligned.jpg")
        if "original" in images:
            (root / "Image" / "original").mkdir(parents=True, exist_ok=True)
            img.save(root / "Image" / "original" / name)
    return root


RAF_ENTRIES = [(f"train_{i:05d}.jpg", (i % 7) + 1) for i in range(1, 15)] + [
    (f"test_{i:04d}.jpg", (i % 7) + 1) for i in range(1, 8)
]


def test_rafdb_official_list_layout(tmp_path):
    root = write_rafdb(tmp_path / "basic", RAF_ENTRIES, images=("aligned", "original"))
    ds = load_dataset(f"rafdb:{root}")
    assert isinstance(ds, SplitDataset) and len(ds) == len(RAF_ENTRIES)
    got = dict(zip(ds.samples["sample_id"], zip(ds.samples["label"], ds.samples["split"])))
    for name, code in RAF_ENTRIES:
        stem = name.rsplit(".", 1)[0]
        assert got[f"Image/aligned/{stem}_aligned.jpg"] == (RAF_NAMES[code - 1], name.split("_")[0])
    assert ds.split_counts() == {"train": 14, "test": 7}
    assert ds.subjects is None and "no subject ids" in ds.about["subjects"]
    assert ds.read_image(0).shape == (100, 100, 3)
    original = load_dataset(f"rafdb:{root}?images=original")
    assert original.samples["sample_id"].str.startswith("Image/original/").all()
    assert original.spec.endswith("?images=original")
    # The aligned images are registered face crops; the original photos are not.
    assert "aligned on five landmarks" in ds.registered_faces and original.registered_faces is None


def test_rafdb_list_errors_name_the_culprit(tmp_path):
    root = write_rafdb(tmp_path / "a", RAF_ENTRIES)
    (root / "Image" / "aligned" / "test_0003_aligned.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1 of 21 images .* missing, e.g. .*test_0003_aligned.jpg"):
        load_dataset(f"rafdb:{root}")
    with pytest.raises(DatasetError, match="Image/original does not exist"):
        load_dataset(f"rafdb:{root}?images=original")
    root = write_rafdb(tmp_path / "b", [("train_00001.jpg", 8)])
    with pytest.raises(DatasetError, match="line 1: label '8' is not a RAF-DB code 1-7"):
        load_dataset(f"rafdb:{root}")
    root = write_rafdb(tmp_path / "c", [("val_00001.jpg", 1)])
    with pytest.raises(DatasetError, match="neither train_ nor test_"):
        load_dataset(f"rafdb:{root}")
    with pytest.raises(DatasetError, match="neither EmoLabel/list_patition_label.txt"):
        load_dataset(f"rafdb:{write_images(tmp_path / 'd', ['x/1.png'])}")


def test_rafdb_numeric_class_folders_under_DATASET(tmp_path):
    rels = [f"DATASET/train/{c}/train_{c:05d}_aligned.jpg" for c in range(1, 8)]
    rels += [f"DATASET/test/{c}/test_{c:04d}_aligned.jpg" for c in (1, 4, 7)]
    root = write_images(tmp_path / "raf", rels, size=100, mode="RGB")
    ds = load_dataset(f"rafdb:{root}")
    got = dict(zip(ds.samples["sample_id"], zip(ds.samples["label"], ds.samples["split"])))
    for c in range(1, 8):
        assert got[f"train/{c}/train_{c:05d}_aligned.jpg"] == (RAF_NAMES[c - 1], "train")
    assert got["test/4/test_0004_aligned.jpg"] == ("happiness", "test")
    assert ds.split_counts() == {"train": 7, "test": 3}


# -- duplicates and splits ------------------------------------------------------------------


def test_duplicate_split_counts_on_hand_made_groups():
    splits = ["train", "train", "test", "val", "test", "train", "test", None]
    labels = ["happiness", "happiness", "happiness", "anger", "anger", "fear", "fear", "fear"]
    groups = [[0, 1, 2], [3, 4], [5, 7], [6], [1, 5]]
    assert groups_crossing_splits(groups, splits) == [0, 1]
    np.testing.assert_array_equal(images_with_copy_in(groups, splits, "test", "train"), [2])
    np.testing.assert_array_equal(images_with_copy_in(groups, splits, "test", "val"), [4])
    assert groups_with_conflicting_labels(groups, labels) == [4]
    report = duplicate_split_report(groups, labels, splits)
    assert report.groups == 4 and report.images_in_groups == 9 and report.surplus_copies == 5
    assert report.groups_crossing_splits == 2 and report.test_with_copy_in_train == 1
    assert report.val_with_copy_in_train == 0 and report.test_with_copy_in_val == 1
    assert report.groups_conflicting_labels == 1 and report.images_in_conflicting_groups == 2
    assert any("1 test images have a copy in train" in line for line in report.lines())
    no_split = duplicate_split_report(groups, labels, None)
    assert not no_split.has_splits and no_split.groups_crossing_splits == 0
    assert not any("train" in line for line in no_split.lines())
    with pytest.raises(ValueError, match="outside 0..7"):
        duplicate_split_report([[0, 8]], labels, splits)


def test_duplicates_found_in_a_fer2013_csv_cross_its_split(tmp_path):
    rows = fer_rows(n=42, seed=5)
    rows[40] = (rows[3][0], rows[3][1], "PrivateTest")  # test copy of a training image, same label
    rows[30] = ((rows[4][0] + 1) % 7, rows[4][1], "Training")  # training copy, another label
    ds = load_dataset(f"fer2013:{write_fer_csv(tmp_path / 'fer2013.csv', rows)}")
    groups = index_groups(ds.samples, ds.duplicate_groups())
    assert sorted(map(sorted, groups)) == [[3, 40], [4, 30]]
    assert sorted(map(sorted, hash_groups(ds.image_hashes))) == [[3, 40], [4, 30]]
    report = duplicate_split_report(groups, ds.samples["label"], ds.samples["split"])
    assert report.test_with_copy_in_train == 1 and report.groups_crossing_splits == 1
    assert report.groups_conflicting_labels == 1
    with pytest.raises(ValueError, match="not in the dataset"):
        index_groups(ds.samples, [["nope", "Training/00000"]])


# -- stand-ins ----------------------------------------------------------------------------


@pytest.fixture
def standins(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))  # importable by --jobs worker processes too
    import make_standins

    return make_standins


def test_standin_counts_are_the_official_sizes(standins):
    mod = standins
    fer = {k: sum(v) for k, v in mod.FER2013_COUNTS.items()}
    assert fer == {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
    assert sum(fer.values()) == 35887
    assert [sum(c) for c in zip(*mod.FER2013_COUNTS.values())] == [4953, 547, 5121, 8989, 6077, 4002, 6198]
    raf = {k: sum(v) for k, v in mod.RAFDB_COUNTS.items()}
    assert raf == {"train": 12271, "test": 3068}
    scaled = mod.scaled_counts(mod.FER2013_COUNTS, 0.1)
    assert sum(scaled["Training"]) == 2871 and min(min(v) for v in scaled.values()) >= 1


def test_make_standins_writes_datasets_the_sources_read(tmp_path, standins):
    mod = standins
    assert mod.main([str(tmp_path), "--scale", "0.005", "--duplicates", "3"]) == 0
    fer = load_dataset(f"fer2013:{tmp_path / 'fer2013'}")
    scaled = mod.scaled_counts(mod.FER2013_COUNTS, 0.005)
    assert fer.split_counts() == {"train": sum(scaled["Training"]), "val": sum(scaled["PublicTest"]),
                                  "test": sum(scaled["PrivateTest"])}
    train_labels = fer.samples.loc[fer.samples["split"] == "train", "label"].value_counts()
    assert [int(train_labels.get(n, 0)) for n in FER_NAMES] == list(scaled["Training"])
    assert fer.read_image(0).shape == (48, 48)
    assert len(fer.duplicate_groups()) == 3
    raf = load_dataset(f"rafdb:{tmp_path / 'rafdb' / 'basic'}")
    raf_scaled = mod.scaled_counts(mod.RAFDB_COUNTS, 0.005)
    assert raf.split_counts() == {"train": sum(raf_scaled["train"]), "test": sum(raf_scaled["test"])}
    image = raf.read_image(0)
    assert image.shape == (100, 100, 3) and not (image[..., 0] == image[..., 2]).all()  # real colour
    again = tmp_path / "again"
    mod.main([str(again), "--which", "fer2013", "--scale", "0.005", "--duplicates", "3", "--jobs", "2"])
    assert load_dataset(f"fer2013:{again / 'fer2013'}").fingerprint == fer.fingerprint  # deterministic


@pytest.mark.slow
def test_a_lone_holdout_fold_uses_the_idle_cores_with_the_same_result(tmp_path):
    """With one fold per method (holdout, one run) and --jobs 2, the fold may use both
    cores (BLAS threads, the large-set SVM's one-vs-rest in parallel threads): the
    predictions equal those of --jobs 1."""
    import gzip

    from fer_bench.folds import fold_threads

    assert fold_threads() == 1  # outside a fold
    csv = write_fer_csv(tmp_path / "fer2013.csv", fer_rows(n=84, seed=7))
    tables = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        cli("run", "--methods", "hog-svm:large_n=20,lbp-svm:large_n=20", "--dataset", f"fer2013:{csv}",
            "--protocol", "holdout", "--runs", "1", "--jobs", jobs, "--out", str(out), "-q")
        tables.append(gzip.decompress((out / "predictions.csv.gz").read_bytes()))
        assert "Nyström" in (out / "leaderboard.md").read_text() or "SGD" in (out / "leaderboard.md").read_text()
    assert tables[0] == tables[1]
