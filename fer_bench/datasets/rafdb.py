"""RAF-DB (basic emotions): the ``rafdb:PATH`` dataset source.

RAF-DB (Li, Deng & Du 2017, "Reliable crowdsourcing and deep locality-preserving
learning for expression recognition in the wild", CVPR) has 15,339 single-label web
photos of the seven basic expressions, aligned to 100×100 RGB, with an official split:
12,271 ``train_*`` and 3,068 ``test_*`` images and no validation set. Labels are
1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral. It has **no
subject ids**: the subject-independent protocol cannot be run on it.

``PATH`` may be

* the official ``basic`` folder: ``EmoLabel/list_patition_label.txt`` (sic) with lines
  ``train_00001.jpg 5`` and the images in ``Image/aligned/train_00001_aligned.jpg``
  (default) or ``Image/original/train_00001.jpg`` (``?images=original``);
* the numeric class-folder export (Kaggle "shuvoalok/raf-db-dataset"):
  ``train/<1-7>/*.jpg`` and ``test/<1-7>/*.jpg``, possibly under ``DATASET/``; the
  folder number is the official label.

The split is ``train`` / ``test`` from the ``train_`` / ``test_`` name prefix (list
layout) or from the top folder (folder layout).

Sources relied on (read 2026): kaiwang960112/Self-Cure-Network ``src/train.py`` (reads
``EmoLabel/list_patition_label.txt`` space-separated, splits on the ``train``/``test``
name prefix, loads ``Image/aligned/<name>_aligned.jpg``, label − 1 = 0 Surprise,
1 Fear, 2 Disgust, 3 Happiness, 4 Sadness, 5 Anger, 6 Neutral); yaoing/DAN ``rafdb.py``
(same reading, as quoted by projects adapting it); public preparation scripts for the
Kaggle export describing ``DATASET/train/{1-7}/*.jpg + DATASET/test/{1-7}/*.jpg`` with
1 = Surprise … 7 = Neutral and 15,339 images.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DatasetError
from ..labels import canonical_label
from .base import file_reader
from .specs import IMAGE_SUFFIXES, check_options, data_files, own_output_notice, require_path
from .splits import SplitDataset

#: Official RAF-DB codes 1-7 (index 0 = code 1), as canonical labels.
RAFDB_LABELS: tuple[str, ...] = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")

LIST_FILE = Path("EmoLabel") / "list_patition_label.txt"
_NO_SUBJECTS = "none: RAF-DB has no subject ids (subject-independent protocol not possible)"


def rafdb(path: str | None, options: dict) -> SplitDataset:
    """RAF-DB basic: EmoLabel/list_patition_label.txt + Image/aligned/, or train|test/<1-7>/; official split."""

    root = require_path("rafdb", path)
    check_options("rafdb", options, {"images": "aligned"})
    images = str(options.get("images", "aligned")).strip().lower() or "aligned"
    if images not in ("aligned", "original"):
        raise DatasetError(f"rafdb: option images={images!r}; use images=aligned (default) or images=original")
    spec = f"rafdb:{path}" + ("?images=original" if images == "original" else "")
    if (root / LIST_FILE).is_file():
        return read_rafdb_list(root, images=images, spec=spec)
    if images != "aligned":
        raise DatasetError(f"rafdb: images=original needs the official layout with {root / LIST_FILE}")
    for base in (root, root / "DATASET"):
        if any((base / s).is_dir() for s in ("train", "test")):
            return read_rafdb_folders(base, spec=spec)
    found = ", ".join(sorted(p.name for p in root.iterdir())[:8]) or "nothing"
    raise DatasetError(
        f"rafdb: {root} holds neither {LIST_FILE} (official basic layout) nor train/ and test/ class folders 1-7 "
        f"(found: {found})"
    )


#: RAF-DB's aligned images are faces its authors registered (five landmarks, 100×100).
REGISTERED = "RAF-DB's aligned images are face crops registered by its authors (100×100, aligned on five landmarks)"


def _label(code: str, where: str) -> str:
    code = code.strip()
    if not (code.isdigit() and 1 <= int(code) <= len(RAFDB_LABELS)):
        raise DatasetError(f"{where}: label {code!r} is not a RAF-DB code 1-7 (1 surprise … 7 neutral)")
    return RAFDB_LABELS[int(code) - 1]


def _split_of(name: str, where: str) -> str:
    low = name.lower()
    if low.startswith("train"):
        return "train"
    if low.startswith("test"):
        return "test"
    raise DatasetError(f"{where}: image {name!r} starts with neither train_ nor test_")


def read_rafdb_list(root: Path, images: str = "aligned", spec: str | None = None) -> SplitDataset:
    """The official layout: labels from ``EmoLabel/list_patition_label.txt``, images from
    ``Image/aligned/<stem>_aligned.jpg`` or ``Image/original/<name>``.

    Every listed image must exist: the first missing one is named, with how many are
    missing (a partial download would otherwise shrink the test set silently).
    """
    spec = spec or f"rafdb:{root}"
    list_path = root / LIST_FILE
    try:
        text = list_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {list_path}: {getattr(exc, 'strerror', None) or exc}") from None
    image_dir = root / "Image" / images
    if not image_dir.is_dir():
        raise DatasetError(f"rafdb: {image_dir} does not exist (the {images} images of the basic set)")
    rows, missing = [], []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{list_path} line {line_no}"
        parts = line.split()
        if len(parts) != 2:
            raise DatasetError(f"{where}: expected '<image> <label>' such as 'train_00001.jpg 5', got {line.strip()!r}")
        name, code = parts
        label = _label(code, where)
        split = _split_of(name, where)
        file_name = f"{Path(name).stem}_aligned{Path(name).suffix or '.jpg'}" if images == "aligned" else name
        rel = f"Image/{images}/{file_name}"
        if not (root / rel).is_file():
            missing.append(rel)
        rows.append((rel, label, None, split))
    if not rows:
        raise DatasetError(f"dataset {spec!r} is empty: {list_path} lists no image")
    if missing:
        raise DatasetError(
            f"rafdb: {len(missing)} of {len(rows)} images listed in {list_path} are missing, e.g. {root / missing[0]}"
        )
    return _dataset(root, rows, spec, {"format": f"official list, {images} images",
                                       "split_source": "name prefix train_ → train, test_ → test (no val)"},
                    registered=images == "aligned")


def read_rafdb_folders(root: Path, spec: str | None = None) -> SplitDataset:
    """The class-folder export: ``root/{train,test}/<1-7>/<image>``."""

    spec = spec or f"rafdb:{root}"
    rows = []
    own: list[tuple[str, str]] = []
    for split in ("train", "test"):
        split_dir = root / split
        if not split_dir.is_dir():
            continue
        for file in data_files(split_dir, own, root):
            if not (file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES):
                continue
            rel = file.relative_to(root)
            if len(rel.parts) != 3:
                raise DatasetError(f"image {file} is not in {split}/<1-7>/; expected {split}/4/{file.name}")
            folder = rel.parts[1]
            where = f"folder {root / split / folder}"
            label = _label(folder, where) if folder.isdigit() else canonical_label(folder, where=where)
            rows.append((rel.as_posix(), label, None, split))
    if not rows:
        raise DatasetError(f"dataset {spec!r} is empty: no images under {root / 'train'} or {root / 'test'}")
    return _dataset(root, rows, spec, {"format": "class folders 1-7",
                                       "split_source": "folders train/ → train, test/ → test (no val)"},
                    notices=own_output_notice(own, root))


def _dataset(root: Path, rows, spec: str, notes: dict, registered: bool = True, notices=()) -> SplitDataset:
    samples = pd.DataFrame(rows, columns=["sample_id", "label", "subject", "split"], dtype=object)
    samples = samples.sort_values("sample_id", kind="stable").reset_index(drop=True)
    return SplitDataset(
        name="rafdb",
        spec=spec,
        samples=samples,
        read_bytes=file_reader(root, list(samples["sample_id"])),
        root=root,
        about={"subjects": _NO_SUBJECTS, **notes},
        registered_faces=REGISTERED if registered else None,
        notices=list(notices),
    )


__all__ = ["RAFDB_LABELS", "rafdb", "read_rafdb_folders", "read_rafdb_list"]
