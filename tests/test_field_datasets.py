"""Field reports 3, dataset readers: subject ids missing on some rows, fer-bench's own
outputs inside a dataset, Git LFS pointer files, conflicting manifest rows, and names in
another Unicode normalisation (../shared/cases/field-reports-3/README.md)."""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from fer_bench.datasets import load_dataset
from fer_bench.datasets.base import decode_image, line_ranges
from fer_bench.errors import DatasetError, ProtocolError
from fer_bench.model_selection import get_protocol
from tests.conftest import cli, write_images

CLASSES = ["happy", "sad", "angry"]
LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12345\n")


def _manifest(tmp_path: Path, subject_of, people=("KA", "KB", "KC", "KD"), per_class=2, name="m.csv") -> Path:
    """A manifest over people × CLASSES × per_class images; ``subject_of(person, row)`` writes the cell."""
    rows, lines = [], ["path,label,subject"]
    for p in people:
        for c, cls in enumerate(CLASSES):
            for i in range(per_class):
                rel = f"img/{p}_{cls}_{i}.png"
                rows.append((rel, c))
                lines.append(f"{rel},{cls},{subject_of(p, len(lines) + 1)}")
    write_images(tmp_path, rows)
    csv = tmp_path / name
    csv.write_text("\n".join(lines) + "\n")
    return csv


def _subject_check(ds):
    protocol = get_protocol("subject")(n_folds=3, n_runs=1)
    protocol.check(ds.labels, ds.subjects, ds.classes, ds.splits, missing_subjects=ds.missing_subjects_text)


# -- blank-subject-message ---------------------------------------------------------------
def test_blank_subject_cells_are_named_by_line_through_the_cli(tmp_path):
    """A manifest with a subject column blank on one person's rows: the refusal names the
    manifest, how many rows, which lines and what to do; never "has none"."""
    csv = _manifest(tmp_path, lambda p, line: "" if p == "KD" else p)  # KD's 6 rows: lines 20-25
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{csv}", "--protocol", "subject",
               "--runs", "1", "--folds", "3", "--out", str(tmp_path / "o"), "-q", check=False)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("fer-bench: error:")
    assert f"manifest {csv} has no subject id on 6 of its 24 rows (lines 20-25)" in line
    assert "fill them in, or leave those rows out" in line
    assert "has none" not in line and "with a subject column" not in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("cell", ["", "   ", "NA", "N/A", "n/a", "nan", "NaN", "null", "None", "#N/A"])
def test_empty_and_na_like_cells_are_all_a_missing_id(tmp_path, cell):
    csv = _manifest(tmp_path, lambda p, line: cell if p == "KD" else p)
    ds = load_dataset(f"manifest:{csv}")
    assert ds.samples["subject"].isna().sum() == 6 and set(ds.samples["subject"].dropna()) == {"KA", "KB", "KC"}
    with pytest.raises(ProtocolError) as caught:
        _subject_check(ds)
    message = str(caught.value)
    assert "lines 20-25" in message and "has none" not in message
    if cell.strip():  # says that NA-like cells were read as missing, and how to read them as an id
        assert f"{cell!r} ×6, read as a missing id" in message and f"manifest:{csv}?na_subjects=id" in message
    else:
        assert "na_subjects" not in message
    # the paper protocol's warning says the same
    assert any(n.startswith(f"warning: manifest {csv} has no subject id on 6 of its 24 rows (lines 20-25)")
               for n in ds.notices)


def test_na_subjects_option_reads_na_as_a_person_and_enters_the_spec(tmp_path):
    csv = _manifest(tmp_path, lambda p, line: "NA" if p == "KD" else p)
    ds = load_dataset(f"manifest:{csv}?na_subjects=id")
    assert ds.spec == f"manifest:{csv}?na_subjects=id"
    assert sorted(set(ds.samples["subject"])) == ["KA", "KB", "KC", "NA"]
    _subject_check(ds)  # no refusal: every row has an id
    assert load_dataset(f"manifest:{csv}?na_subjects=missing").spec == f"manifest:{csv}"
    with pytest.raises(DatasetError, match=r"na_subjects='maybe': use na_subjects=missing .* or na_subjects=id"):
        load_dataset(f"manifest:{csv}?na_subjects=maybe")


def test_na_person_survives_a_subject_run_with_the_option(na_manifest, tmp_path):
    """The person coded 'NA' goes through the store and the reports as 'NA' (not NaN)."""
    import fer_bench

    res = fer_bench.run(methods=["pca-svm"], dataset=f"manifest:{na_manifest}?na_subjects=id", protocol="subject",
                        runs=1, folds=4, out=tmp_path / "o", face="none", progress=False, echo=lambda _: None)
    assert res.out.is_dir()
    with sqlite3.connect(tmp_path / "o" / "results.sqlite") as conn:
        assert {s for (s,) in conn.execute("SELECT DISTINCT subject FROM samples")} == {"KB", "KC", "KD", "NA"}


def test_subject_column_blank_everywhere_is_named(tmp_path):
    csv = _manifest(tmp_path, lambda p, line: "")
    ds = load_dataset(f"manifest:{csv}")
    with pytest.raises(ProtocolError, match=r"has no subject id on every one of its 24 rows \(lines 2-25\)"):
        _subject_check(ds)


def test_has_none_only_when_no_image_has_an_id(tmp_path):
    protocol = get_protocol("subject")(n_folds=3, n_runs=1)
    labels = np.array([0, 1, 0, 1, 0, 1])
    with pytest.raises(ProtocolError, match="this dataset has none"):
        protocol.check(labels, None, ["a", "b"])
    partial = np.array(["A", "B", None, "C", "", float("nan")], dtype=object)
    with pytest.raises(ProtocolError) as caught:
        protocol.check(labels, partial, ["a", "b"])
    assert "3 of 6 images have no subject id" in str(caught.value) and "has none" not in str(caught.value)


def test_line_ranges():
    assert line_ranges([69 + i for i in range(20)]) == "lines 69-88"
    assert line_ranges([4]) == "line 4"
    assert line_ranges([2, 5, 6, 7, 9]) == "lines 2, 5-7 and 9"
    assert line_ranges(list(range(2, 40, 2))) == "lines 2, 4, 6, 8, 10 and 14 more ranges"


# -- results-inside-dataset ----------------------------------------------------------------
def test_run_from_inside_a_folder_dataset_resumes(tmp_path):
    """Default --out (and here the cache too) inside the dataset: the second run skips
    them with one note and resumes; the results' figures never become images."""
    faces = write_images(tmp_path / "faces", [(f"{c}/{i:02d}.png", k) for k, c in enumerate(CLASSES) for i in range(4)])
    args = ("run", "--methods", "pca-svm", "--dataset", "folder:.", "--runs", "1", "--folds", "3", "--face", "none",
            "--cache-dir", "my-cache")
    cli(*args, cwd=faces)
    assert (faces / "fer-bench-results" / "folder-faces-paper" / "results.sqlite").is_file()
    assert any((faces / "my-cache").rglob("*.npy"))
    proc = cli(*args, cwd=faces)
    assert "all 3 folds already in the store" in proc.stdout + proc.stderr
    notes = [line for line in proc.stderr.splitlines() if "not read as data" in line]
    assert len(notes) == 1, proc.stderr
    assert "fer-bench-results/folder-faces-paper/ (results folder with results.sqlite)" in notes[0]
    assert "my-cache/ (feature cache)" in notes[0]
    assert "(12 images, 3 classes)" in proc.stderr


def _results_folder(path: Path) -> None:
    """What fer-bench leaves in a results folder: the SQLite store and figures (PNG)."""
    path.mkdir(parents=True)
    sqlite3.connect(path / "results.sqlite").execute("CREATE TABLE meta (key TEXT)").connection.close()
    write_images(path, [("confusion_pca-svm.png", 0), ("figures/oa.png", 1)])


def _cache(path: Path) -> None:
    shard = path / "ab"
    shard.mkdir(parents=True)
    (shard / ("ab" + "1" * 38 + ".npy")).write_bytes(b"\x93NUMPY")
    (shard / ("ab" + "1" * 38 + ".json")).write_text("{}")
    write_images(path / "models", [("preview.png", 0)])


@pytest.mark.parametrize("source", ["folder", "ckplus", "jaffe", "kdef", "rafdb", "fer2013"])
def test_every_walking_source_skips_fer_bench_outputs(tmp_path, source):
    root = tmp_path / "data"
    if source == "jaffe":
        rows = [(f"K{p}.{e}1.{i}.tiff", k) for p in "AB" for k, e in enumerate(["HA", "SA"]) for i in range(2)]
        outputs = ["happy", "deep/anything"]
    elif source == "kdef":
        rows = [(f"AF0{p}{e}S.JPG", k) for p in "12" for k, e in enumerate(["HA", "SA"])]
        outputs = ["happy", "deep/anything"]
    elif source in ("rafdb", "fer2013"):
        rows = [(f"{split}/{c}/{split}_{i}.jpg", k) for split in ("train", "test")
                for k, c in enumerate(["4", "5"] if source == "rafdb" else ["happy", "sad"]) for i in range(2)]
        outputs = ["train/old-results", "test/x"]
    else:
        rows = [(f"happy/S00{p}_001_0000001{i}.png", 0) for p in "12" for i in range(2)]
        rows += [(f"sad/S00{p}_001_0000001{i}.png", 1) for p in "12" for i in range(2)]
        outputs = ["happy/results", "fer-bench-results"]
    write_images(root, rows)
    _results_folder(root / outputs[0])
    _cache(root / outputs[1])
    ds = load_dataset(f"{source}:{root}")
    assert len(ds) == len(rows)
    assert not any("results" in s or "anything" in s or "x/" in s for s in ds.sample_ids)
    notes = [n for n in ds.notices if "not read as data" in n]
    assert len(notes) == 1
    assert f"{outputs[0]}/ (results folder with results.sqlite)" in notes[0]
    assert f"{outputs[1]}/ (feature cache)" in notes[0]
    assert not any("results" in f or "models" in f for f, _ in ds.skipped)


def test_a_file_named_results_sqlite_that_is_not_a_store_is_not_taken_for_one(tmp_path):
    root = write_images(tmp_path / "d", [("happy/a.png", 0), ("happy/b.png", 0), ("sad/c.png", 1)])
    (root / "happy" / "results.sqlite").write_text("not a database")
    ds = load_dataset(f"folder:{root}")
    assert len(ds) == 3 and not any("not read as data" in n for n in ds.notices)


# -- Git LFS pointer files -------------------------------------------------------------------
def _jaffe_with_pointers(tmp_path: Path, n_pointers: int) -> Path:
    root = write_images(tmp_path / "jaffe", [(f"K{p}.{e}1.{i}.tiff", k) for p in "AB"
                                             for k, e in enumerate(["HA", "SA"]) for i in range(2)])
    for i in range(n_pointers):
        (root / f"KM.AN1.{i + 10}.tiff").write_bytes(LFS_POINTER)
    return root


def test_lfs_pointers_are_all_named_through_the_cli(tmp_path):
    root = _jaffe_with_pointers(tmp_path, 3)
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"jaffe:{root}", "--runs", "1", "--folds", "3",
               "--out", str(tmp_path / "o"), "-q", check=False)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and "Traceback" not in line
    assert f"3 of the 11 image files under {root} are Git LFS pointer files" in line
    assert "KM.AN1.10.tiff, KM.AN1.11.tiff, KM.AN1.12.tiff" in line
    assert "git lfs install, then git lfs pull" in line


def test_many_lfs_pointers_give_the_first_few_and_the_count(tmp_path):
    root = _jaffe_with_pointers(tmp_path, 22)
    with pytest.raises(DatasetError, match=r"22 of the 30 image files .* Git LFS pointer files .*KM\.AN1\.14\.tiff "
                                           r"and 17 more; .*git lfs install, then git lfs pull"):
        load_dataset(f"jaffe:{root}")


@pytest.mark.parametrize("source", ["folder", "manifest", "rafdb"])
def test_lfs_pointers_are_found_by_every_file_source(tmp_path, source):
    root = write_images(tmp_path / "d", [("train/4/train_1.jpg", 0), ("test/5/test_1.jpg", 1)])
    (root / "train" / "4" / "train_2.jpg").write_bytes(LFS_POINTER)
    spec = f"{source}:{root}"
    if source == "manifest":
        (root / "m.csv").write_text("path,label\ntrain/4/train_1.jpg,happy\ntrain/4/train_2.jpg,happy\n")
        spec = f"manifest:{root / 'm.csv'}"
    elif source == "folder":
        root = write_images(tmp_path / "f", [("happy/train_1.jpg", 0), ("sad/test_1.jpg", 1)])
        (root / "happy" / "train_2.jpg").write_bytes(LFS_POINTER)
        spec = f"folder:{root}"
    with pytest.raises(DatasetError, match=r"1 of the \d image files under .* is a Git LFS pointer file.*train_2\.jpg"):
        load_dataset(spec)


def test_decoder_recognises_an_lfs_pointer(tmp_path):
    with pytest.raises(DatasetError, match=r"cannot decode image x\.tiff: a Git LFS pointer file .*git lfs pull"):
        decode_image(LFS_POINTER, "x.tiff")


# -- conflicting manifest rows ----------------------------------------------------------------
def test_all_conflicting_manifest_rows_are_named_in_one_message(tmp_path):
    csv = _manifest(tmp_path, lambda p, line: p)
    lines = csv.read_text().splitlines()
    repeats = [line.replace(",happy,", ",sad,") for line in lines[1:] if ",happy," in line][:6]
    csv.write_text("\n".join(lines + repeats) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(f"manifest:{csv}")
    message = str(caught.value)
    assert "6 rows repeat an image with a different label or subject" in message
    assert "lines 2 and 26 both list img/KA_happy_0.png with different labels (happiness vs sadness)" in message
    assert "lines 14 and 30" in message and "and 1 more" in message and "keep one row per image" in message


# -- Unicode normalisation ---------------------------------------------------------------------
def test_manifest_in_nfc_finds_files_named_in_nfd(tmp_path):
    nfc = unicodedata.normalize("NFC", "élève")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    write_images(tmp_path, [(f"{nfd}/Zoë_{i}.png", i % 2) for i in range(4)])
    for path in (tmp_path / nfd).iterdir():
        path.rename(path.with_name(unicodedata.normalize("NFD", path.name)))
    rows = [f"{nfc}/{unicodedata.normalize('NFC', 'Zoë')}_{i}.png,{['happy', 'sad'][i % 2]}" for i in range(4)]
    csv = tmp_path / "m.csv"
    csv.write_text("path,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ds = load_dataset(f"manifest:{csv}")
    assert len(ds) == 4 and all(unicodedata.is_normalized("NFC", s) for s in ds.sample_ids)
    assert not any("case" in n for n in ds.notices)
    assert ds.read_image(0).shape == (32, 32)


def test_folder_class_names_in_nfd_map_to_their_labels(tmp_path):
    calm = unicodedata.normalize("NFD", "sérénité")
    root = write_images(tmp_path / "d", [(f"{calm}/{i}.png", 0) for i in range(2)] + [(f"happy/{i}.png", 1)
                                                                                      for i in range(2)])
    ds = load_dataset(f"folder:{root}?extra_classes={unicodedata.normalize('NFC', 'sérénité')}")
    assert sorted(set(ds.samples["label"])) == sorted({"happiness", unicodedata.normalize("NFKC", "sérénité")})
