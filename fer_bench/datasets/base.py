"""The :class:`Dataset` table, the one image decoder every source uses, and the fingerprint.

Decoding (:func:`decode_image`) is the same for every file-based source, so the same face
gives the same pixels whatever format, mode or bit depth it was saved in:

- the EXIF ``Orientation`` tag is applied (``PIL.ImageOps.exif_transpose``), as every
  image viewer does: phones store portrait shots sideways with that tag;
- 16-bit images (Pillow modes ``I;16*``, and ``I`` holding values in 0..65535) are
  scaled by the fixed factor 1/257 (65535 → 255) and rounded, never stretched per image,
  so an 8-bit image and its 16-bit twin (value × 257) decode identically. 16-bit colour
  PNGs are reduced to 8 bits by Pillow itself (high byte, ``v // 256``);
- floating-point images (mode ``F``) must hold values in [0, 1] (scikit-image's float
  convention) and are scaled by 255; other ranges are refused, since their scale is
  unknown;
- transparency (modes ``RGBA``, ``LA``, ``PA``, ``P`` with a transparent colour) is
  composited on black (:data:`ALPHA_BACKGROUND`), i.e. the colour is multiplied by
  alpha/255: a fully opaque image is unchanged, and fully transparent padding becomes
  0, the value zero-padding gives elsewhere;
- palette, 1-bit, CMYK, YCbCr, LAB and HSV images are converted to ``L`` or ``RGB`` by
  Pillow; a colour image whose three channels are equal becomes a 2-D grey image;
- multi-frame files (TIFF pages, animated GIF/WebP) give their first frame.

The result is a uint8 array, H×W (grey) or H×W×3 (RGB). Images larger than
:func:`max_image_pixels` (default :data:`DEFAULT_MAX_PIXELS`, Pillow's own refusal
threshold; environment variable ``FER_BENCH_MAX_PIXELS``) are refused before they are
decoded. Every failure raises :class:`~fer_bench.errors.DatasetError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import order_labels

#: The parts of a dataset's own split (the ``split`` column of :attr:`Dataset.samples`).
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: Largest accepted image in pixels (width × height): 2 × Pillow's default
#: ``MAX_IMAGE_PIXELS``, the size at which Pillow itself refuses to decode
#: (``DecompressionBombError``), so every image Pillow decodes by default is accepted.
DEFAULT_MAX_PIXELS = 2 * 89_478_485
#: Environment variable that overrides :data:`DEFAULT_MAX_PIXELS` (``0`` or ``none``: no limit).
MAX_PIXELS_ENV = "FER_BENCH_MAX_PIXELS"
#: Grey level transparent pixels are composited on (black).
ALPHA_BACKGROUND = 0
#: 16-bit values are divided by this fixed factor (65535 / 255).
SIXTEEN_BIT_DIVISOR = 257

#: What each decoding note means (notes are recorded per image and enter the fingerprint).
NOTE_TEXT = {
    "exif-orientation": "turned upright by their EXIF orientation tag",
    "16-bit/257": "16-bit, scaled to 8 bits by value/257",
    "float*255": "floating-point in [0, 1], scaled by 255",
    "alpha-on-black": "partly transparent, composited on black",
    "first-frame": "with several frames or pages: the first one used",
    "exif-unreadable": "with an unreadable EXIF block (orientation not applied)",
}

# Pillow's size guard is a module global; decoding changes it for its own duration only.
_PILLOW_LOCK = threading.Lock()


def max_image_pixels() -> int | None:
    """The largest image accepted, in pixels (``None``: no limit).

    ``$FER_BENCH_MAX_PIXELS`` overrides :data:`DEFAULT_MAX_PIXELS`; ``0`` or ``none``
    removes the limit. Decoding needs about 1 byte per pixel and channel.
    """
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_MAX_PIXELS
    if raw.lower() in ("0", "none", "unlimited"):
        return None
    try:
        value = int(float(raw))
    except ValueError:
        raise DatasetError(f"{MAX_PIXELS_ENV}={raw!r} is not a number of pixels (e.g. 250000000, or 0 for no limit)") from None
    return None if value <= 0 else value


def decode_image(data: bytes, name: str | Callable[[], str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Decode one image file's bytes the way every source does (see the module text).

    Returns ``(array, notes)``: a uint8 array (H×W grey or H×W×3 RGB) and the decoding
    notes that applied (keys of :data:`NOTE_TEXT`, ``exif-orientation`` written
    ``exif-orientation-<tag value>``; empty for a plain 8-bit opaque upright image).
    Raises :class:`DatasetError` naming ``name`` (the file; or a function that returns
    it, called only for a message) for any decoder error, including an image above
    :func:`max_image_pixels`.
    """
    from PIL import Image, UnidentifiedImageError

    limit = max_image_pixels()
    caught: list[warnings.WarningMessage] = []
    try:
        with _PILLOW_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our limit governs
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                img = Image.open(io.BytesIO(data))
                width, height = img.size
                if limit is not None and width * height > limit:
                    raise _Undecodable(
                        f"image is too large ({width}×{height} = {width * height / 1e6:.1f} Mpx; the limit is "
                        f"{limit / 1e6:.1f} Mpx); shrink it, or allow it with {MAX_PIXELS_ENV}={width * height} "
                        f"(0 for no limit; decoding needs about {width * height * 3 / 2**30:.1f} GiB)"
                    )
                # Frames and tiles larger than declared are still caught by Pillow's guard.
                Image.MAX_IMAGE_PIXELS = None if limit is None else limit // 2
                img.load()
                array, notes = _to_array(img)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except Exception as exc:  # any decoder failure (truncated, bomb, unsupported mode, memory) names the file
        _pass_on_warnings(caught)
        detail = str(exc) or type(exc).__name__
        if is_lfs_pointer(data):
            detail = f"a Git LFS pointer file ({len(data)} bytes of text), not the image; {LFS_HINT}"
        elif isinstance(exc, UnidentifiedImageError):  # Pillow's text names an in-memory buffer, not the file
            detail = f"not an image Pillow can read (unknown format or damaged header; {len(data)} bytes)"
        elif isinstance(exc, Image.DecompressionBombError):
            detail += f" (allow larger images with {MAX_PIXELS_ENV}=PIXELS, 0 for no limit)"
        raise DatasetError(f"cannot decode image {name() if callable(name) else name}: {detail}") from None
    # Pillow warns "Corrupt EXIF data" (a bare UserWarning: two lines with its source path)
    # for a damaged EXIF block, even when the image then fails to decode: it becomes this
    # file's "exif-unreadable" note, or nothing beside the one-line error.
    if _pass_on_warnings(caught) and "exif-unreadable" not in notes:
        notes = (*notes, "exif-unreadable")
    return array, notes


#: The decoder warnings already passed on: each is passed on once per process, not once per
#: image (Python's own once-per-location registry is reset by every filter change, and
#: decoding changes the filters for each image).
_DECODER_WARNINGS_SHOWN: set[tuple] = set()


def _pass_on_warnings(caught: list[warnings.WarningMessage]) -> bool:
    """Re-issue (outside the recording context) the warnings recorded while decoding,
    except Pillow's EXIF complaints; returns whether there was one of those."""
    exif = False
    for record in caught:
        if "EXIF" in str(record.message):
            exif = True
            continue
        key = (str(record.message), record.category, record.filename, record.lineno)
        if key not in _DECODER_WARNINGS_SHOWN:
            _DECODER_WARNINGS_SHOWN.add(key)
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
    return exif


class _Undecodable(Exception):
    """A decoding refusal of ours (the message says why, without the file name)."""


def _to_array(img) -> tuple[np.ndarray, tuple[str, ...]]:
    from PIL import ImageOps

    notes: list[str] = []
    if getattr(img, "n_frames", 1) > 1:
        notes.append("first-frame")
    try:
        orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:
        orientation = 1
        notes.append("exif-unreadable")
    if orientation in range(2, 9):
        img = ImageOps.exif_transpose(img)
        notes.append(f"exif-orientation-{orientation}")
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(img).astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise _Undecodable(
                f"32-bit integer values {values.min()}..{values.max()} outside the 16-bit "
                "range 0..65535, so their scale is unknown; save it as an 8- or 16-bit image"
            )
        notes.append("16-bit/257")
        return _rounded(values / SIXTEEN_BIT_DIVISOR), tuple(notes)
    if mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1):
            raise _Undecodable(
                f"floating-point values {np.nanmin(values):g}..{np.nanmax(values):g} "
                "outside [0, 1], so their scale is unknown; save it as an 8- or 16-bit image"
            )
        notes.append("float*255")
        return _rounded(values * 255), tuple(notes)
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA" if mode == "PA" or img.has_transparency_data else "RGB")
    elif mode in ("LA", "La", "RGBa"):
        img = img.convert("LA" if mode != "RGBa" else "RGBA")
    elif mode == "1":
        img = img.convert("L")
    elif mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, …
    array = np.asarray(img, dtype=np.uint8)
    if img.mode in ("LA", "RGBA"):
        alpha = array[..., -1:].astype(np.float64)
        array = array[..., :-1]
        if (alpha < 255).any():
            notes.append("alpha-on-black")
            array = _rounded(array * (alpha / 255) + ALPHA_BACKGROUND * (1 - alpha / 255))
        if array.shape[-1] == 1:
            array = array[..., 0]
    if array.ndim == 3 and (array == array[:, :, :1]).all():
        array = array[:, :, 0]  # grey stored as colour (JAFFE's palette TIFFs, RGB scans)
    return np.ascontiguousarray(array), tuple(notes)


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@dataclass
class Dataset:
    """A table of samples plus how to read each image.

    ``samples`` has one row per image with columns ``sample_id`` (the path relative to
    the dataset root as text, or a generated id), ``label`` (a canonical label) and
    ``subject`` (a normalised person id, see :func:`normalise_subject`, or ``None`` when
    the source has none). ``read_bytes(i)`` returns the encoded bytes of image ``i``;
    ``decode(data, i)`` turns them into a uint8 array (H×W or H×W×3); by default
    :func:`decode_image`.

    What the source left out is recorded, never silent: ``skipped`` lists
    ``(file, reason)`` for every file under the root that is not used (hidden files,
    other file types, names that do not fit the layout, repeated manifest rows);
    ``filtered`` counts images left out on purpose by an option (KDEF's pose filter);
    ``subject_id_variants`` maps a subject id to the raw spellings merged into it
    (``{"KL": ["KL", "kl "]}``); ``notices`` holds other lines for the user (an encoding
    guessed, a layout hint, an empty class folder). All of it goes into :meth:`summary`
    and :meth:`report_lines`.
    """

    name: str
    spec: str
    samples: pd.DataFrame
    read_bytes: Callable[[int], bytes]
    decode: Callable[[bytes, int], np.ndarray] = field(default=None)
    root: Path | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)
    subject_id_variants: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    #: Facts about the data a reader of any result needs (e.g. ``subjects``: "none: …",
    #: ``split_source``): stored in the run record and shown beside the numbers.
    about: dict[str, str] = field(default_factory=dict)
    #: Set by a source whose images are face crops registered by the dataset's authors
    #: (FER2013's centred 48×48 faces, RAF-DB's 100×100 faces aligned on landmarks): a
    #: sentence saying so. A run without ``--face`` then gives every method the images as
    #: they are (face preprocessing ``none``; :func:`fer_bench.runner.plan` records why),
    #: because (1) results published on these sets use the crops as given (FER2013's
    #: baselines, Goodfellow et al. 2013; RAF-DB's, Li & Deng 2019), and so do the
    #: networks trained on them (mini-Xception); (2) the authors' registration is the
    #: dataset's definition of "the face": detecting again in a 48-px crop needs a 4×
    #: upscale and padding (:mod:`fer_bench.faces`); (3) at FER2013's size detection
    #: and landmarks would be one of the costliest steps of the run (a 4× upscale, then
    #: a second pass at twice that size when the first finds nothing). Alignment can
    #: still help such crops: on our synthetic FER2013-sized stand-ins, whose faces are
    #: not registered, the 3,500-image holdout run scored higher with each method's own
    #: alignment (``benchmarks/results/holdout_scale.md`` at commit 0f38d9e, e.g. lbp-svm
    #: 69.7 %) than as given (the same file now, 55.1 %). ``--face align`` (or ``crop``)
    #: detects faces again.
    registered_faces: str | None = None
    #: Set by a source whose images have subject ids on some rows only (a manifest with
    #: blank ``subject`` cells): one sentence naming the source, how many images lack an
    #: id and which (e.g. ``lines 69-88``), and what to do. The subject protocol's refusal
    #: quotes it (:attr:`missing_subjects_text`); without it, a generic sentence is built.
    missing_subjects: str | None = None
    _scan: list[tuple[str, str, tuple[str, ...]]] | None = field(default=None, repr=False)
    _fingerprint: str | None = field(default=None, repr=False)

    def __post_init__(self):
        if len(self.samples) == 0:
            where = f" under {self.root}" if self.root else ""
            raise DatasetError(f"dataset {self.spec!r} is empty: no images found{where}")
        if "split" in self.samples.columns:
            bad = sorted({str(v) for v in self.samples["split"] if v is not None and not pd.isna(v) and v not in SPLITS})
            if bad:
                raise DatasetError(
                    f"dataset {self.spec!r}: unknown split value(s) {', '.join(bad)} (use {', '.join(SPLITS)})"
                )
        self._decodes_files = self.decode is None
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
        """Person id of every sample (object array, ``None`` where an image has none), or
        ``None`` when the dataset has no ids at all and its source declares none missing.
        :attr:`missing_subjects_text` says which images lack an id."""
        col = self.samples["subject"]
        if col.isna().all() and not self.missing_subjects:
            return None
        return col.to_numpy(dtype=object)

    @property
    def missing_subjects_text(self) -> str | None:
        """One sentence naming the images without a subject id and what to do (the
        source's own, e.g. a manifest's line numbers, else a generic one), or ``None`` when
        every image has an id or none has (then the dataset simply has no ids)."""
        absent = self.samples["subject"].isna()
        if not absent.any() or (absent.all() and not self.missing_subjects):
            return None
        return self.missing_subjects or self._missing_subjects_text(absent.to_numpy())

    def _missing_subjects_text(self, absent: np.ndarray) -> str:
        ids = [self.sample_ids[i] for i in np.flatnonzero(absent)]
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        return (
            f"dataset {self.spec} has no subject id for {len(ids)} of {len(self)} images ({shown}); "
            "give those images an id, or leave them out"
        )

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

    @property
    def sample_ids(self) -> list[str]:
        return [str(s) for s in self.samples["sample_id"]]

    def path_of(self, i: int) -> str:
        """Where image ``i`` comes from, as text for messages."""
        sample_id = str(self.samples.at[i, "sample_id"])
        if self.root is None or Path(sample_id).is_absolute():
            return sample_id
        return str(self.root / sample_id)

    def read_image(self, i: int) -> np.ndarray:
        """The decoded image ``i`` (uint8), with an error naming the file if it fails."""
        return self.decode(self.read_bytes(i), i)

    def _decode_file(self, data: bytes, i: int) -> np.ndarray:
        return decode_image(data, lambda: self.path_of(i))[0]

    # -- one pass over the images: fingerprint, duplicates, decoding notes ----------------
    def _scanned(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Per image: (SHA-256 of the bytes, SHA-256 of the decoded pixels, decoding notes).

        Each image is read and decoded once (an unreadable or undecodable image is named
        here, before anything is written); the result is kept for the fingerprint, the
        duplicate check and the summary.
        """
        if self._scan is None:
            scan = []
            for i in range(len(self)):
                data = self.read_bytes(i)
                if self._decodes_files:
                    array, notes = decode_image(data, lambda i=i: self.path_of(i))
                else:
                    array, notes = np.asarray(self.decode(data, i)), ()
                pixels = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
                pixels.update(np.ascontiguousarray(array).tobytes())
                scan.append((hashlib.sha256(data).hexdigest(), pixels.hexdigest(), tuple(notes)))
            self._scan = scan
        return self._scan

    @property
    def image_hashes(self) -> list[str]:
        """SHA-256 of every image's bytes (computed in the one pass of :meth:`_scanned`)."""
        return [s[0] for s in self._scanned()]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the labels, subjects and images, in sample order (then, when the
        dataset has its own split, of that base fingerprint and every sample's split).

        An image counts by the SHA-256 of its bytes, followed by its decoding notes when
        the decoder did more than read 8-bit pixels (``<hash>:exif-orientation-6``), so a
        dataset of ordinary images keeps the fingerprint it always had, while one whose
        pixels depend on how it is decoded is identified with that decoding. It
        identifies the data, not where it lives: the same images under another directory
        have the same fingerprint; one changed byte or label changes it.
        """
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for (byte_hash, _, notes), row in zip(self._scanned(), self.samples.itertuples(index=False)):
                subject = "" if row.subject is None or pd.isna(row.subject) else str(row.subject)
                image = byte_hash + (":" + ",".join(notes) if notes else "")
                digest.update(f"{row.label}\t{subject}\t{image}\n".encode())
            self._fingerprint = digest.hexdigest()
            splits = self.splits
            if splits is not None:  # the dataset's own split is part of what a benchmark on it means
                digest = hashlib.sha256(f"fer-bench-splits\n{self._fingerprint}\n".encode())
                digest.update("\n".join("" if s is None or pd.isna(s) else str(s) for s in splits).encode())
                self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def split_counts(self) -> dict[str, int]:
        """Number of images per part of the dataset's own split, in :data:`SPLITS` order
        (empty when it has none)."""
        if self.splits is None:
            return {}
        counts = self.samples["split"].value_counts()
        return {s: int(counts[s]) for s in SPLITS if s in counts}

    def duplicate_index_groups(self) -> list[list[int]]:
        """Groups of sample indices whose decoded images are identical (same pixels,
        whatever the file bytes: a PNG re-save of a TIFF counts). They leak across folds."""
        seen: dict[str, list[int]] = {}
        for i, (_, pixel_hash, _) in enumerate(self._scanned()):
            seen.setdefault(pixel_hash, []).append(i)
        return [ids for ids in seen.values() if len(ids) > 1]

    def duplicate_groups(self) -> list[list[str]]:
        """Like :meth:`duplicate_index_groups`, with sample ids."""
        ids = self.sample_ids
        return [[ids[i] for i in group] for group in self.duplicate_index_groups()]

    def decoding_notes(self) -> dict[str, list[str]]:
        """Decoding note (a key of :data:`NOTE_TEXT`) → sample ids it applied to."""
        out: dict[str, list[str]] = {}
        ids = self.sample_ids
        for i, (_, _, notes) in enumerate(self._scanned()):
            for note in notes:
                key = "exif-orientation" if note.startswith("exif-orientation") else note
                out.setdefault(key, []).append(ids[i])
        return out

    # -- what to tell the user ---------------------------------------------------------
    def summary(self, relative_to: Path | None = None) -> dict:
        """What the run record stores about the dataset (JSON-ready). ``root`` (where the
        images are) is written relative to ``relative_to`` (the results folder) when given, so
        that a record names no machine's absolute path and still finds the images beside it."""
        counts = self.samples["label"].value_counts()
        out = {
            "name": self.name,
            "spec": self.spec,
            "images": len(self),
            "classes": {c: int(counts[c]) for c in self.classes},
            "subjects": int(self.samples["subject"].nunique()) if self.has_subjects else None,
            "fingerprint": self.fingerprint,
        }
        if self.root is not None:  # where the images are (reports show the hardest ones from there)
            out["root"] = str(self.root) if relative_to is None else os.path.relpath(self.root, Path(relative_to).absolute())
        if self.splits is not None:
            out["splits"] = self.split_counts()
        if self.skipped:
            out["skipped_count"] = len(self.skipped)
            out["skipped"] = [list(s) for s in self.skipped[:SKIPPED_LISTED]]
            if len(self.skipped) > SKIPPED_LISTED:
                out["skipped_listed"] = f"the first {SKIPPED_LISTED} of {len(self.skipped)}"
        if self.filtered:
            out["filtered"] = dict(self.filtered)
        if self.subject_id_variants:
            out["subject_id_variants"] = {k: list(v) for k, v in self.subject_id_variants.items()}
        notes = self.decoding_notes()
        if notes:
            out["decoding"] = {
                key: {"meaning": NOTE_TEXT[key], "images": len(ids), "examples": ids[:20]} for key, ids in notes.items()
            }
        conflicts = self.conflicting_duplicates()
        if conflicts:
            out["identical_images_with_different_labels"] = [[list(p) for p in g] for g in conflicts[:100]]
        if self.notices:
            out["notices"] = list(self.notices)
        if self.about:
            out["about"] = dict(self.about)
        return out

    def report_lines(self) -> list[str]:
        """One line per thing the user should know before trusting the numbers: files
        skipped, subject ids merged, decoding applied, source notices."""
        lines = []
        if self.skipped:
            lines.append(skipped_line(self.skipped))
        for reason, n in self.filtered.items():
            lines.append(f"{n} images left out on purpose: {reason}")
        if self.subject_id_variants:
            merged = "; ".join(
                " = ".join(repr(s) for s in spellings) + f" → {key!r}"
                for key, spellings in list(self.subject_id_variants.items())[:5]
            )
            more = len(self.subject_id_variants) - 5
            lines.append(
                f"warning: subject ids that differ only in case or spacing were taken as one person: {merged}"
                + (f" and {more} more" if more > 0 else "")
                + " (see run.json)"
            )
        for key, ids in self.decoding_notes().items():
            lines.append(f"note: {len(ids)} images {NOTE_TEXT[key]}, e.g. {ids[0]}")
        conflicts = self.conflicting_duplicates()
        if conflicts:
            example = ", ".join(f"{sid} ({label})" for sid, label in conflicts[0][:3])
            lines.append(
                f"warning: {len(conflicts)} groups of identical images carry different labels "
                f"(one of them is mislabelled), e.g. {example}"
            )
        lines.extend(self.notices)
        return lines

    def conflicting_duplicates(self) -> list[list[tuple[str, str]]]:
        """Groups of identical images whose labels differ, as (sample id, label) lists."""
        ids, labels = self.sample_ids, list(self.samples["label"])
        return [
            [(ids[i], labels[i]) for i in group]
            for group in self.duplicate_index_groups()
            if len({labels[i] for i in group}) > 1
        ]


#: How many skipped files the run record lists (all are counted).
SKIPPED_LISTED = 1000


def skipped_line(skipped: list[tuple[str, str]]) -> str:
    """``N files skipped: <reason> ×<count> (e.g. <file>); … (see run.json)``."""
    by_reason: dict[str, list[str]] = {}
    for file, reason in skipped:
        by_reason.setdefault(reason, []).append(file)
    parts = [f"{reason} ×{len(files)} (e.g. {files[0]})" for reason, files in by_reason.items()]
    n = len(skipped)
    return f"{n} file{'s' if n != 1 else ''} skipped: " + "; ".join(parts) + " (see run.json)"


#: Cells that spreadsheets, R and pandas write for "no value": read as a missing subject
#: id (compared case-insensitively, after trimming), unless a source is told otherwise
#: (``manifest:CSV?na_subjects=id``). JAFFE's person "NA" comes from file names, not cells.
NA_LIKE_CELLS = frozenset({"na", "n/a", "nan", "null", "none", "#n/a", "<na>"})


def is_na_like(cell: str) -> bool:
    """Whether ``cell`` is one of :data:`NA_LIKE_CELLS` (any case, surrounding space ignored)."""
    return cell.strip().casefold() in NA_LIKE_CELLS


def line_ranges(lines: list[int], limit: int = 5) -> str:
    """Line numbers as ranges: ``lines 69-88``, ``line 4``, ``lines 2, 5-7 and 9``; beyond
    ``limit`` ranges, the first ones and how many more (``… and 12 more ranges``)."""
    ranges: list[list[int]] = []
    for n in sorted(set(lines)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges]
    word = "line" if len(parts) == 1 and "-" not in parts[0] else "lines"
    if len(parts) > limit:
        return f"{word} {', '.join(parts[:limit])} and {len(parts) - limit} more ranges"
    if len(parts) > 1:
        return f"{word} {', '.join(parts[:-1])} and {parts[-1]}"
    return f"{word} {parts[0]}" if parts else "no lines"


def normalise_subject(raw) -> str | None:
    """The subject id every source uses: white space trimmed and collapsed, upper case.

    ``"kl "``, ``"KL"`` and ``"Kl"`` are one person ``"KL"``; an empty cell is ``None``.
    (JAFFE, CK+ and KDEF ids are upper-case codes already.)
    """
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return None
    text = " ".join(str(raw).split()).upper()
    return text or None


def subject_variants(raw_ids) -> dict[str, list[str]]:
    """Normalised id → its distinct raw spellings, for ids written more than one way."""
    spellings: dict[str, set[str]] = {}
    for raw in raw_ids:
        key = normalise_subject(raw)
        if key is not None:
            spellings.setdefault(key, set()).add(str(raw))
    return {key: sorted(values) for key, values in sorted(spellings.items()) if len(values) > 1}


#: How every Git LFS pointer file begins (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
#: Git LFS pointer files are smaller than this (the spec's limit), so larger files are not opened.
LFS_POINTER_MAX_BYTES = 1024
#: What to do about pointer files.
LFS_HINT = "fetch the real files: git lfs install, then git lfs pull (in the repository they were cloned from)"


def is_lfs_pointer(data: bytes) -> bool:
    """Whether ``data`` (a file's first bytes, or all of them) is a Git LFS pointer."""
    return data.startswith(LFS_POINTER_PREFIX)


def refuse_lfs_pointers(root: Path, files: list[str]) -> None:
    """Raise one :class:`DatasetError` naming every file of ``files`` (relative to
    ``root``, or absolute) that is a Git LFS pointer instead of an image (a repository
    cloned without Git LFS), with the count and the ``git lfs`` commands that fetch them.

    Only files under :data:`LFS_POINTER_MAX_BYTES` are opened (one ``stat`` per file);
    files that cannot be read are left to the reader, which names them.
    """
    pointers = []
    for rel in files:
        path = root / rel
        try:
            if path.stat().st_size >= LFS_POINTER_MAX_BYTES:
                continue
            with path.open("rb") as handle:
                head = handle.read(len(LFS_POINTER_PREFIX))
        except OSError:
            continue
        if is_lfs_pointer(head):
            pointers.append(os.fsencode(str(rel)).decode("utf-8", "backslashreplace"))
    if pointers:
        shown = ", ".join(pointers[:5]) + (f" and {len(pointers) - 5} more" if len(pointers) > 5 else "")
        n = len(pointers)
        raise DatasetError(
            f"{n} of the {len(files)} image files under {root} {'are Git LFS pointer files' if n > 1 else 'is a Git LFS pointer file'}"
            f" (text that stands for the image in a repository cloned without Git LFS), not images: {shown}; {LFS_HINT}"
        )


def file_reader(root: Path, files: list[str]) -> Callable[[int], bytes]:
    """``read_bytes`` for files under ``root`` (``files`` relative, or absolute); a
    missing or unreadable file is named.

    Every source that reads image files builds its reader here, so this is where they are
    first looked at: Git LFS pointer files among them are refused, all named
    (:func:`refuse_lfs_pointers`), before any image is decoded.
    """
    refuse_lfs_pointers(root, list(files))

    def read(i: int) -> bytes:
        path = root / files[i]
        try:
            return path.read_bytes()
        except OSError as exc:
            shown = os.fsencode(path).decode("utf-8", "backslashreplace")
            raise DatasetError(f"cannot read image {shown}: {exc.strerror or exc}") from None

    return read
