"""The :class:`Dataset` table and its fingerprint."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import order_labels


@dataclass
class Dataset:
    """A table of samples plus how to read each image.

    ``samples`` has one row per image with columns ``sample_id`` (the path relative to
    the dataset root, or a generated id), ``label`` (a canonical label) and ``subject``
    (a person id as a string, or ``None`` when the source has none). ``read_bytes(i)``
    returns the encoded bytes of image ``i``; ``decode(data, i)`` turns them into a
    uint8 array (H×W or H×W×3).
    """

    name: str
    spec: str
    samples: pd.DataFrame
    read_bytes: Callable[[int], bytes]
    decode: Callable[[bytes, int], np.ndarray] = field(default=None)
    root: Path | None = None
    notes: dict = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, repr=False)
    _image_hashes: list[str] | None = field(default=None, repr=False)

    def __post_init__(self):
        if len(self.samples) == 0:
            where = f" under {self.root}" if self.root else ""
            raise DatasetError(f"dataset {self.spec!r} is empty: no images found{where}")
        if self.decode is None:
            self.decode = self._decode_file
        self.samples = self.samples.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def classes(self) -> list[str]:
        """The canonical labels present, in canonical order."""
        return order_labels(self.samples["label"])

    @property
    def labels(self) -> np.ndarray:
        """Integer class of every sample (index into :attr:`classes`)."""
        index = {c: i for i, c in enumerate(self.classes)}
        return self.samples["label"].map(index).to_numpy(np.int64)

    @property
    def subjects(self) -> np.ndarray | None:
        col = self.samples["subject"]
        if col.isna().all():
            return None
        return col.to_numpy(dtype=object)

    @property
    def splits(self) -> np.ndarray | None:
        """The dataset's own split of every sample (``"train"``, ``"val"``, ``"test"``;
        object array), or ``None`` when the source gives none."""
        if "split" not in self.samples.columns or self.samples["split"].isna().all():
            return None
        return self.samples["split"].to_numpy(dtype=object)

    @property
    def has_subjects(self) -> bool:
        return self.subjects is not None and not self.samples["subject"].isna().any()

    def path_of(self, i: int) -> str:
        return str(self.root / self.samples.at[i, "sample_id"]) if self.root else self.samples.at[i, "sample_id"]

    def read_image(self, i: int) -> np.ndarray:
        """The decoded image ``i`` (uint8), with an error naming the file if it fails."""
        return self.decode(self.read_bytes(i), i)

    def _decode_file(self, data: bytes, i: int) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                if img.mode in ("I;16", "I;16B", "I", "F"):
                    arr = np.asarray(img, dtype=np.float64)
                    span = max(arr.max() - arr.min(), 1e-9)
                    return ((arr - arr.min()) / span * 255).astype(np.uint8)
                if img.mode not in ("L", "RGB"):
                    img = img.convert("RGB" if img.mode in ("RGBA", "P", "CMYK", "YCbCr", "LA") else "L")
                array = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise DatasetError(f"cannot decode image {self.path_of(i)}: {exc}") from None
        if array.ndim == 3 and (array == array[:, :, :1]).all():
            array = np.ascontiguousarray(array[:, :, 0])  # grayscale stored as RGB (JAFFE's TIFFs)
        return array

    @property
    def image_hashes(self) -> list[str]:
        """SHA-256 of every image's bytes, read once and shared by the fingerprint and
        the duplicate check (reading a large dataset twice would double the I/O)."""
        if self._image_hashes is None:
            self._image_hashes = [hashlib.sha256(self.read_bytes(i)).hexdigest() for i in range(len(self))]
        return self._image_hashes

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the labels, subjects and image bytes, in sample order.

        It identifies the data, not where it lives: the same images under another
        directory have the same fingerprint; one changed byte or label changes it.
        """
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for image_hash, row in zip(self.image_hashes, self.samples.itertuples(index=False)):
                subject = "" if row.subject is None or pd.isna(row.subject) else str(row.subject)
                digest.update(f"{row.label}\t{subject}\t{image_hash}\n".encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def duplicate_groups(self) -> list[list[str]]:
        """Groups of samples whose image bytes are identical (they leak across folds)."""
        seen: dict[str, list[str]] = {}
        for i, key in enumerate(self.image_hashes):
            seen.setdefault(key, []).append(str(self.samples.at[i, "sample_id"]))
        return [ids for ids in seen.values() if len(ids) > 1]

    def summary(self) -> dict:
        counts = self.samples["label"].value_counts()
        return {
            "name": self.name,
            "spec": self.spec,
            "images": len(self),
            "classes": {c: int(counts[c]) for c in self.classes},
            "subjects": int(self.samples["subject"].nunique()) if self.has_subjects else None,
            "fingerprint": self.fingerprint,
            **({"notes": self.notes} if self.notes else {}),
        }


def file_reader(root: Path, sample_ids: list[str]) -> Callable[[int], bytes]:
    """``read_bytes`` for files under ``root``; a missing or unreadable file is named."""

    def read(i: int) -> bytes:
        path = root / sample_ids[i]
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read image {path}: {exc.strerror or exc}") from None

    return read
