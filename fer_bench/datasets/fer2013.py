"""FER2013: the ``fer2013:PATH`` dataset source.

FER2013 (Goodfellow et al., "Challenges in representation learning: a report on three
machine learning contests", Neural Networks 64:59-63, 2015) has 35,887 grayscale 48×48
faces found by web image search, labelled 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad,
5 surprise, 6 neutral, with an official split: 28,709 ``Training``, 3,589 ``PublicTest``
(the Kaggle public leaderboard) and 3,589 ``PrivateTest`` images. fer-bench maps
Training → ``train``, PublicTest → ``val`` and PrivateTest → ``test``, the usual reading
in the literature (validate on the public test set, report on the private one). It has
**no subject ids**: the subject-independent protocol cannot be run on it, and the
official split does not keep people apart.

``PATH`` may be

* the original CSV, ``fer2013.csv`` with the header ``emotion,pixels,Usage``, or its twin
  ``icml_face_data.csv`` (header ``emotion, Usage, pixels``: other order, spaces), or
  Kaggle's ``train.csv`` (``emotion,pixels``: no ``Usage``, so no split). ``pixels`` is
  2,304 space-separated values 0-255 in row-major order. Kaggle's ``test.csv`` has no
  labels and is refused. The file is streamed row by row (one Python string at a time)
  into one uint8 array of shape (N, 48, 48): 83 MB for the full set, instead of the
  several GB that a table of 35,887 pixel strings and their split lists would take.
  When the file's MD5 is that of the official release (as recorded by torchvision), the
  notes say so.
* a directory holding one of those CSVs (``fer2013.csv`` first, as torchvision does);
* the common image-folder export (Kaggle "msambare/fer2013"): ``train/<class>/*.jpg``
  and ``test/<class>/*.jpg`` with class folders ``angry``, ``disgust``, ``fear``,
  ``happy``, ``neutral``, ``sad``, ``surprise`` (or ``0``-``6`` in the CSV's order);
  ``val/`` (or ``valid``, ``validation``, ``PublicTest``) is read as validation when
  present. The export's ``test/`` folder holds both the PublicTest and the PrivateTest
  images, named ``PublicTest_<n>.jpg`` / ``PrivateTest_<n>.jpg``; by default those name
  prefixes restore the official split (PublicTest → val, PrivateTest → test, the same
  split as the CSV); ``?split=folders`` keeps the folders' split (``test/`` all test).

Sources relied on for these layouts and codes (read 2026): torchvision's
``torchvision/datasets/fer2013.py`` (file names, the two CSV headers, the MD5 sums,
Training vs PublicTest/PrivateTest); WuJie1010/Facial-Expression-Recognition.Pytorch
``preprocess_fer2013.py`` (the three Usage values, the label codes 0=Angry … 6=Neutral,
``pixels`` split on spaces into 48×48 uint8); public code reading the folder export
(``img/test/angry/PublicTest_16131911.jpg``-style paths, Kaggle "msambare/fer2013");
the split sizes 28,709 / 3,589 / 3,589 from the Kaggle data page as quoted in
abhirup-ghosh/facial-expression-classifier-app ``data/README.md``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import canonical_label
from .base import file_reader
from .specs import IMAGE_SUFFIXES, check_options, data_files, own_output_notice, require_path
from .splits import SplitDataset

#: The CSV's ``emotion`` codes 0-6, as canonical labels.
FER2013_LABELS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

#: ``Usage`` value → fer-bench split.
USAGE_SPLIT: dict[str, str] = {"training": "train", "publictest": "val", "privatetest": "test"}

#: MD5 of the official CSV files, as recorded in torchvision's ``datasets/fer2013.py``.
OFFICIAL_MD5: dict[str, str] = {
    "f8428a1edbd21e88f42c73edd2a14f95": "fer2013.csv",
    "b114b9e04e6949e5fe8b6a98b3892b1d": "icml_face_data.csv",
    "3f0dfb3d3fd99c811a1299cb947e3131": "train.csv",
}

#: Top-level folder names of image-folder exports → split.
FOLDER_SPLIT: dict[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "publictest": "val",
    "test": "test",
    "privatetest": "test",
}

_PREFIX = re.compile(r"^(?P<usage>Training|PublicTest|PrivateTest)[_-]", re.IGNORECASE)
_CSV_NAMES = ("fer2013.csv", "icml_face_data.csv", "train.csv")
#: FER2013's faces were registered by its authors (Goodfellow et al. 2013, §3.1: "automatically
#: registered so that the face is more or less centered and occupies about the same amount of space").
REGISTERED = "FER2013's images are face crops registered by its authors (48×48, centred)"
_NO_SUBJECTS = "none: FER2013 has no subject ids (subject-independent protocol not possible; the official split does not keep people apart)"
_CHUNK = 4096


def fer2013(path: str | None, options: dict) -> SplitDataset:
    """FER2013: the CSV (``emotion,pixels,Usage``) or a ``train|test/<class>/`` image export; official split."""

    check_options("fer2013", options, {"split": "official"})
    split_mode = str(options.get("split", "official")).strip().lower() or "official"
    if split_mode not in ("official", "folders"):
        raise DatasetError(f"fer2013: option split={split_mode!r}; use split=official (default) or split=folders")
    if not path:
        raise DatasetError("the fer2013 source needs a path: fer2013:PATH (the CSV, or the folder holding it or train/ test/)")
    root = Path(path).expanduser()
    if root.is_file():
        if split_mode != "official":
            raise DatasetError("fer2013: split=folders applies to the image-folder export, not to a CSV")
        return read_fer2013_csv(root.resolve(), spec=f"fer2013:{path}")
    root = require_path("fer2013", path)
    for name in _CSV_NAMES:
        if (root / name).is_file():
            if split_mode != "official":
                raise DatasetError(f"fer2013: split=folders applies to the image-folder export, not to {root / name}")
            return read_fer2013_csv(root / name, spec=f"fer2013:{path}")
    return read_fer2013_folders(root, spec=f"fer2013:{path}" + ("?split=folders" if split_mode == "folders" else ""),
                                split_mode=split_mode)


# -- the CSV --------------------------------------------------------------------------------


def _binary_lines(handle, md5, block: int = 1 << 20):
    """The lines (bytes, without the newline) of a binary file read in 1 MB blocks,
    updating ``md5`` with every byte: one pass over the file for both."""
    carry = b""
    while True:
        data = handle.read(block)
        if not data:
            break
        md5.update(data)
        lines = (carry + data).split(b"\n")
        carry = lines.pop()
        yield from lines
    if carry:
        yield carry


def _fields(line: bytes, where: str) -> list[str | bytes]:
    """The fields of one CSV line: a plain split on commas, or the csv module for a quoted line."""
    line = line.rstrip(b"\r")
    if b'"' not in line:
        return line.split(b",")
    try:
        return next(csv.reader([line.decode("utf-8")]))
    except (csv.Error, StopIteration, UnicodeDecodeError) as exc:
        raise DatasetError(f"{where}: malformed CSV line ({exc})") from None


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _parse_pixels(text: str | bytes, where: str) -> np.ndarray:
    """Space-separated integers 0-255 → int32 array, with an error naming ``where``.

    numpy only warns (DeprecationWarning) on a token that is not a number; the caller turns
    that warning into an error (one ``catch_warnings`` around the whole file, not per row).
    """
    try:
        values = np.fromstring(text, dtype=np.int32, sep=" ")
    except (ValueError, DeprecationWarning):
        bad = next((t for t in _text(text).split() if not t.isdigit()), _text(text)[:20])
        raise DatasetError(f"{where}: pixel value {bad!r} is not an integer 0-255") from None
    if values.size and (values.min() < 0 or values.max() > 255):
        bad = int(values[(values < 0) | (values > 255)][0])
        raise DatasetError(f"{where}: pixel value {bad} is outside 0-255")
    return values


def read_fer2013_csv(csv_path: Path, spec: str | None = None) -> SplitDataset:
    """Read a FER2013 CSV (see the module docstring) into a :class:`SplitDataset`.

    Images: uint8 (N, S, S) with S² the number of pixel values per row (48 for FER2013;
    every row must have the same count, a perfect square). ``sample_id`` is
    ``<Usage>/<row>`` (row: 0-based data row of the file) or ``row/<row>`` without a
    Usage column. Raises :class:`DatasetError` naming the file and line of a bad row
    (missing column, label outside 0-6, unknown Usage, wrong pixel count or value).
    The file is read once, in blocks, as bytes; rows are parsed one at a time.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        handle = csv_path.open("rb")
    except OSError as exc:
        raise DatasetError(f"cannot read {csv_path}: {exc.strerror or exc}") from None
    with handle, warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy's "could not be read to its end"
        lines = _binary_lines(handle, md5)
        try:
            rows = _FerRows(csv_path, _csv_columns(csv_path, next(lines, None)))
            for row_no, line in enumerate(lines):
                if line.strip():
                    rows.add(line, row_no)
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{csv_path} is not a text CSV ({exc.reason}); expected emotion,pixels,Usage") from None
        except OSError as exc:
            raise DatasetError(f"cannot read {csv_path}: {exc.strerror or exc}") from None
    return _csv_dataset(csv_path, spec or f"fer2013:{csv_path}", rows, md5.hexdigest())


def _csv_columns(csv_path: Path, first: bytes | None) -> tuple[list[str], int, int, int | None]:
    """The header's names and the indices of the emotion, pixels and (optional) Usage columns."""
    if first is None or not first.strip():
        raise DatasetError(f"{csv_path} is empty; expected the header emotion,pixels,Usage")
    header = [_text(h) for h in _fields(first.decode("utf-8-sig").encode(), f"{csv_path} line 1")]
    columns = [h.strip().lower() for h in header]
    if "pixels" not in columns:
        raise DatasetError(
            f"{csv_path} has no 'pixels' column (header: {','.join(header)}); expected emotion,pixels,Usage"
        )
    if "emotion" not in columns:
        raise DatasetError(
            f"{csv_path} has no 'emotion' column (header: {','.join(header)}): it has no labels "
            "(Kaggle's test.csv); use fer2013.csv or icml_face_data.csv"
        )
    return header, columns.index("emotion"), columns.index("pixels"), columns.index("usage") if "usage" in columns else None


class _FerRows:
    """The rows of a FER2013 CSV read so far: ids, labels, splits, and the pixels in
    blocks of :data:`_CHUNK` rows (the file is never held as text)."""

    _USAGE = {k.encode(): v for k, v in USAGE_SPLIT.items()}
    _CODES = {str(i).encode(): i for i in range(len(FER2013_LABELS))} | {str(i): i for i in range(len(FER2013_LABELS))}

    def __init__(self, csv_path: Path, columns: tuple[list[str], int, int, int | None]):
        self.csv_path = csv_path
        self.header, self.col_e, self.col_p, self.col_u = columns
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.splits: list[str | None] = []
        self.chunks: list[np.ndarray] = []
        self.chunk: np.ndarray | None = None
        self.filled = 0
        self.n_pixels: int | None = None

    def add(self, line: bytes, row_no: int) -> None:
        """Parse data row ``row_no`` (0-based; line ``row_no + 2`` of the file)."""
        where = f"{self.csv_path} line {row_no + 2}"
        row = _fields(line, where)
        if len(row) != len(self.header):
            raise DatasetError(f"{where}: {len(row)} fields, expected {len(self.header)} ({','.join(self.header)})")
        code = self._CODES.get(row[self.col_e].strip())
        if code is None:
            raise DatasetError(
                f"{where}: emotion {_text(row[self.col_e]).strip()!r} is not a FER2013 code 0-6 (0 angry … 6 neutral)"
            )
        split = None
        if self.col_u is not None:
            usage = row[self.col_u].strip()
            key = usage.lower() if isinstance(usage, bytes) else usage.lower().encode()
            split = self._USAGE.get(key)
            if split is None:
                raise DatasetError(f"{where}: Usage {_text(usage)!r} is not Training, PublicTest or PrivateTest")
            self.ids.append(f"{_text(usage)}/{row_no:05d}")
        else:
            self.ids.append(f"row/{row_no:05d}")
        self._store(_parse_pixels(row[self.col_p], where), where)
        self.labels.append(FER2013_LABELS[code])
        self.splits.append(split)

    def _store(self, values: np.ndarray, where: str) -> None:
        if self.n_pixels is None:
            side = int(round(values.size**0.5))
            if values.size == 0 or side * side != values.size:
                raise DatasetError(f"{where}: {values.size} pixel values do not make a square image (48×48 = 2304)")
            self.n_pixels = values.size
        elif values.size != self.n_pixels:
            raise DatasetError(f"{where}: {values.size} pixel values, expected {self.n_pixels} like the first row")
        if self.chunk is None or self.filled == _CHUNK:
            if self.chunk is not None:
                self.chunks.append(self.chunk)
            self.chunk, self.filled = np.empty((_CHUNK, self.n_pixels), dtype=np.uint8), 0
        self.chunk[self.filled] = values
        self.filled += 1

    def images(self) -> np.ndarray:
        """uint8 (N, S, S); raises :class:`DatasetError` when the file has no rows."""
        if self.chunk is not None:
            self.chunks.append(self.chunk[: self.filled])
            self.chunk = None
        if not self.chunks:
            raise DatasetError(f"{self.csv_path} has a header but no rows")
        side = int(round(self.n_pixels**0.5))
        images = np.concatenate(self.chunks).reshape(-1, side, side)
        self.chunks = []
        return images


def _csv_dataset(csv_path: Path, spec: str, rows: _FerRows, md5: str) -> SplitDataset:
    """The :class:`SplitDataset` of a read CSV, with what is known about the file."""
    images = rows.images()
    side = images.shape[1]
    samples = pd.DataFrame({"sample_id": rows.ids, "label": rows.labels, "subject": None, "split": rows.splits},
                           dtype=object)
    notes = {
        "subjects": _NO_SUBJECTS,
        "format": "csv",
        "image_size": f"{side}×{side} grayscale",
        "split_source": (
            "Usage column: Training → train, PublicTest → val, PrivateTest → test"
            if rows.splits and rows.splits[0] is not None
            else "none (no Usage column)"
        ),
        "md5": md5,
    }
    if md5 in OFFICIAL_MD5:
        notes["official_file"] = f"MD5 matches the official {OFFICIAL_MD5[md5]}"
    return SplitDataset(
        name="fer2013",
        spec=spec,
        samples=samples,
        read_bytes=lambda i: images[i].tobytes(),
        decode=lambda data, i: images[i],
        about=notes,
        registered_faces=REGISTERED,
    )


# -- the image-folder export ---------------------------------------------------------------


def _fer_class(folder: str, where: Path) -> str:
    if folder.isdigit():
        code = int(folder)
        if code >= len(FER2013_LABELS):
            raise DatasetError(f"class folder {where} is not a FER2013 code 0-6 (0 angry … 6 neutral)")
        return FER2013_LABELS[code]
    return canonical_label(folder, where=f"folder name {where}")


def read_fer2013_folders(root: Path, spec: str | None = None, split_mode: str = "official") -> SplitDataset:
    """Read the image-folder export ``root/{train,val,test}/<class>/<image>`` (see the module docstring)."""

    spec = spec or f"fer2013:{root}"
    split_dirs = [(d, FOLDER_SPLIT[d.name.lower()]) for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in FOLDER_SPLIT]
    if not split_dirs:
        found = ", ".join(sorted(p.name for p in root.iterdir())[:8]) or "nothing"
        raise DatasetError(
            f"fer2013: {root} holds neither fer2013.csv / icml_face_data.csv nor train/ and test/ image folders "
            f"(found: {found})"
        )
    rows = []
    by_prefix = 0
    own: list[tuple[str, str]] = []
    for split_dir, folder_split in split_dirs:
        for file in data_files(split_dir, own, root):
            if not (file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES):
                continue
            rel = file.relative_to(root)
            if len(rel.parts) != 3:
                raise DatasetError(f"image {file} is not in {split_dir.name}/<class>/; expected {split_dir.name}/happy/…")
            label = _fer_class(rel.parts[1], root / rel.parts[0] / rel.parts[1])
            split = folder_split
            if split_mode == "official" and folder_split == "test":
                match = _PREFIX.match(file.name)
                if match and match["usage"].lower() != "training":
                    split = USAGE_SPLIT[match["usage"].lower()]
                    by_prefix += 1
            rows.append((rel.as_posix(), label, None, split))
    if not rows:
        raise DatasetError(f"dataset {spec!r} is empty: no images under {', '.join(str(d) for d, _ in split_dirs)}")
    samples = pd.DataFrame(rows, columns=["sample_id", "label", "subject", "split"], dtype=object)
    samples = samples.sort_values("sample_id", kind="stable").reset_index(drop=True)
    source = "folders (" + ", ".join(f"{d.name}/ → {s}" for d, s in split_dirs) + ")"
    if by_prefix:
        source += f"; {by_prefix} images of test/ split by their PublicTest_/PrivateTest_ name (PublicTest → val)"
    return SplitDataset(
        name="fer2013",
        spec=spec,
        samples=samples,
        read_bytes=file_reader(root, list(samples["sample_id"])),
        root=root,
        about={"subjects": _NO_SUBJECTS, "format": "image folders", "split_source": source},
        registered_faces=REGISTERED,
        notices=own_output_notice(own, root),
    )


__all__ = ["FER2013_LABELS", "fer2013", "read_fer2013_csv", "read_fer2013_folders"]
