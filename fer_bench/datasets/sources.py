"""Dataset sources: each turns a spec (``jaffe:PATH``) into a :class:`Dataset`.

A source is a function ``(path, options) -> Dataset`` in the registry :data:`SOURCES`; third-party
packages add one under the entry-point group ``fer_bench.datasets`` (``fer-bench datasets``
lists it beside the built-in ones; a name taken twice is refused, naming both).

What every file-based source shares (so a dataset from another lab reads the same way
whichever source names it):

- discovery walks the root, following symbolic links (each directory once); extensions
  and file-name patterns are matched without regard to case;
- hidden and system files and folders (``.DS_Store``, ``._*`` AppleDouble files,
  ``Thumbs.db``, ``desktop.ini``, ``__MACOSX/``, ``@eaDir/``, …), files of other types,
  image formats Pillow cannot read (HEIC, RAW, …), broken links and names that do not fit
  the layout are *skipped and recorded* (:attr:`Dataset.skipped`), never dropped silently;
- a file name that is not valid UTF-8 is still read; its id shows the bad bytes as
  ``\\xNN``;
- subject ids go through :func:`~fer_bench.datasets.base.normalise_subject`, and ids that
  differ only in case or spacing are reported (:attr:`Dataset.subject_id_variants`).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import posixpath
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import canonical_label, extra_classes, merged_spellings
from ..registries import Registry
from .base import (
    Dataset,
    file_reader,
    is_na_like,
    line_ranges,
    normalise_subject,
    skipped_line,
    subject_variants,
)
from .fer2013 import fer2013
from .rafdb import rafdb
from .specs import IMAGE_SUFFIXES, check_options, own_output_notice, require_path, walk_data

#: Every dataset source by name: a function ``(path, options) -> Dataset``. fer-bench's own are
#: registered below; a package adds one through the entry-point group ``fer_bench.datasets``
#: (``[project.entry-points."fer_bench.datasets"] mydata = "pkg.module:function"``), code with
#: ``SOURCES.register(function, name=...)`` (:class:`fer_bench.registries.Registry`).
SOURCES: Registry[Callable[[str | None, dict], Dataset]] = Registry(
    "dataset source", "fer_bench.datasets", name_of=lambda fn: getattr(fn, "__name__", ""),
    check=lambda obj: None if callable(obj) else f"{obj!r} is not a function (path, options) -> Dataset",
    error=DatasetError, see="fer-bench datasets",
)

#: Image formats seen in the field that Pillow does not read: skipped with a reason.
UNSUPPORTED_IMAGE_SUFFIXES = {
    ".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".svg", ".psd", ".raw", ".cr2", ".cr3",
    ".nef", ".arw", ".dng", ".orf", ".rw2", ".exr", ".hdr",
}
#: Names of files and folders that operating systems and tools leave behind.
SYSTEM_NAMES = {
    "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", "__macosx", "@eadir", "$recycle.bin",
    "system volume information", "#recycle", "#snapshot", "lost+found",
}

HIDDEN = "hidden or system file"
#: Reason prefix of fer-bench's own outputs met while walking (made into one notice, not skipped files).
OWN_OUTPUT = "fer-bench output: "
NOT_IN_CLASS_FOLDER = "not inside a class sub-folder"


def _table(rows: list[tuple]) -> tuple[pd.DataFrame, list[str]]:
    """Samples sorted by id, and the file (relative or absolute) of each sample."""
    rows = sorted(rows, key=lambda r: r[0])
    # object dtype throughout: a person coded "NA" (JAFFE) must stay the string "NA".
    frame = pd.DataFrame([r[:3] for r in rows], columns=["sample_id", "label", "subject"], dtype=object)
    return frame, [r[3] for r in rows]


def display_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as surrogates) are
    shown as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace") if _has_surrogates(name) else name


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _is_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_NAMES or name.startswith("~$")


def _walk(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Every image file under ``root`` (relative POSIX paths, sorted) and what was skipped.

    Follows symbolic links to files and folders, each real folder once (no loops).
    Never enters fer-bench's own results folders and caches (whatever their name,
    :func:`~fer_bench.datasets.specs.own_output`): they are listed in ``skipped`` with a
    reason starting :data:`OWN_OUTPUT`, which :func:`_file_dataset` turns into one notice.
    """
    if not root.exists():
        raise DatasetError(f"dataset directory {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a directory")
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs = {os.path.realpath(root)}
    own: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in walk_data(root, own):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        keep = []
        for d in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, d))
            if _is_system(d):
                skipped.append((display_name(rel_dir + d) + "/", HIDDEN))
            elif real not in seen_dirs:
                seen_dirs.add(real)
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = rel_dir + name
            shown = display_name(rel)
            suffix = os.path.splitext(name)[1].lower()
            if _is_system(name):
                skipped.append((shown, HIDDEN))
            elif not os.path.exists(os.path.join(dirpath, name)):
                skipped.append((shown, "broken symbolic link"))
            elif suffix in IMAGE_SUFFIXES:
                images.append(rel)
            elif suffix in UNSUPPORTED_IMAGE_SUFFIXES:
                skipped.append((shown, f"unreadable format {suffix} (convert to PNG)"))
            else:
                skipped.append((shown, f"not an image ({suffix or 'no extension'})"))
    images.sort(key=display_name)
    skipped.extend((display_name(rel), OWN_OUTPUT + kind) for rel, kind in own)
    return images, skipped


def _class_folders(root: Path, source: str, extra: tuple[str, ...] = ()
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """(relative file, canonical label) of every image in a ``<class>/<image>`` layout,
    the files skipped, and notices (empty class folders). ``extra``: the dataset's own
    declared classes (:func:`fer_bench.labels.extra_classes`)."""
    files, skipped = _walk(root)
    found, at_root = [], []
    labels: dict[str, str] = {}
    for rel in files:
        top, slash, _ = rel.partition("/")
        if not slash:
            at_root.append(rel)
            continue
        if top not in labels:
            labels[top] = _folder_label(root, top, extra)
        found.append((rel, labels[top]))
    if at_root and not found:
        hint = _layout_hint(root, [Path(f).name for f in files], source)
        raise DatasetError(
            f"{source}: the {len(at_root)} images in {root} are not in class sub-folders "
            f"(expected {root}/<class>/<image>, e.g. {root}/happy/001.png){hint}"
        )
    skipped.extend((display_name(f), NOT_IN_CLASS_FOLDER) for f in at_root)
    notices = _merged_label_notices(labels, "class folders")
    used = set(labels) | {f.split("/", 1)[0] for f, reason in skipped if reason.startswith(OWN_OUTPUT)}
    for entry in sorted(os.listdir(root)):
        if entry not in used and not _is_system(entry) and (root / entry).is_dir():
            label = canonical_label_or_none(entry, extra)
            if label is not None:
                notices.append(f"note: class folder {display_name(entry)}/ holds no images, so class {label!r} is absent")
    return found, skipped, notices


def _merged_label_notices(raw_labels, where: str) -> list[str]:
    return [
        f"note: {where} {' and '.join(repr(s) for s in spellings)} are all read as class {label!r}"
        for label, spellings in merged_spellings(raw_labels).items()
    ]


def canonical_label_or_none(raw: str, extra: tuple[str, ...] = ()) -> str | None:
    """The canonical label of ``raw``, or ``None`` when it is not a known spelling (nor
    one of the ``extra`` declared classes)."""
    try:
        return canonical_label(raw, extra=extra)
    except DatasetError:
        return None


def _folder_label(root: Path, folder: str, extra: tuple[str, ...] = ()) -> str:
    try:
        return canonical_label(folder, where=f"folder name {root / display_name(folder)}", extra=extra)
    except DatasetError as exc:
        inner = root / folder
        nested = [d for d in sorted(os.listdir(inner)) if (inner / d).is_dir() and canonical_label_or_none(d)]
        if nested:  # FER2013 as unpacked from Kaggle: train/<class>/, test/<class>/
            raise DatasetError(
                f"{exc}; {inner} holds class folders itself ({', '.join(nested[:3])}, …): "
                f"give that folder, e.g. folder:{inner}"
            ) from None
        hint = _layout_hint(root, _sample_names(root), "folder")  # KDEF ships one folder per person
        if hint:
            raise DatasetError(f"{exc}{hint}") from None
        raise


def _file_dataset(name, spec, root, rows, skipped=(), filtered=None, notices=(), layout=None) -> Dataset:
    """A :class:`Dataset` over files; ``rows`` are (sample id, label, raw subject, file).

    Raw subject ids are normalised here, the one place every source goes through.
    fer-bench's own outputs found by :func:`_walk` become one notice."""
    own = [(f, reason.removeprefix(OWN_OUTPUT)) for f, reason in skipped if reason.startswith(OWN_OUTPUT)]
    skipped = [s for s in skipped if not s[1].startswith(OWN_OUTPUT)]
    notices = own_output_notice(own, root) + list(notices)
    if not rows:
        message = _empty_message(spec, root, skipped, layout)
        if own:
            message += "; " + notices[0].removeprefix("note: ")
        raise DatasetError(message)
    variants = subject_variants(r[2] for r in rows if r[2] is not None)
    rows = [(sid, label, normalise_subject(subject), file) for sid, label, subject, file in rows]
    samples, files = _table(rows)
    return Dataset(
        name=name,
        spec=spec,
        samples=samples,
        read_bytes=file_reader(root, files),
        root=root,
        skipped=list(skipped),
        filtered=dict(filtered or {}),
        subject_id_variants=variants,
        notices=list(notices),
    )


def _empty_message(spec, root, skipped, layout) -> str:
    text = f"dataset {spec!r} is empty: no usable images under {root}"
    if layout is not None:
        misnamed = [f for f, reason in skipped if reason == layout.reason]
        if misnamed:
            names = [Path(f).name for f in misnamed]
            return (
                f"{text}: {len(misnamed)} image files, none named like {layout.example} ({layout.pattern_text}), "
                f"e.g. {misnamed[0]}{_layout_hint(root, names, layout.source)}"
            )
    if skipped:
        return f"{text}: {skipped_line(list(skipped))}"
    return text


# -- layouts known by their file names ----------------------------------------------------
class _Layout:
    def __init__(self, source: str, regex: str, example: str, pattern_text: str):
        self.source = source
        self.regex = re.compile(regex, re.IGNORECASE)
        self.example = example
        self.pattern_text = pattern_text
        self.reason = f"name not in the {source} pattern {example}"

    def match(self, name: str):
        return self.regex.match(name)


_SUFFIX = r"\.(?:" + "|".join(s[1:] for s in sorted(IMAGE_SUFFIXES)) + r")$"
_JAFFE = _Layout(
    "jaffe", r"^(?P<person>[A-Z]{2})\.(?P<expr>[A-Z]{2})\d*\.(?P<num>\d+)" + _SUFFIX,
    "KA.AN1.39.tiff", "person.expression+number.image-number.extension",
)
_CKPLUS = _Layout("ckplus", r"^(?P<person>S\d+)_\d+_\d+", "S005_001_00000011.png", "S<person>_<sequence>_<frame>")
_KDEF = _Layout(
    "kdef",
    r"^(?P<session>[AB])(?P<person>[FM]\d{2})(?P<expr>AF|AN|DI|HA|NE|SA|SU)(?P<pose>S|HL|HR|FL|FR)" + _SUFFIX,
    "AF01ANS.JPG", "session, person F01/M01, expression, pose",
)
_LAYOUTS = (_JAFFE, _CKPLUS, _KDEF)


def guess_layout(names: list[str]) -> str | None:
    """The source (``jaffe``, ``ckplus``, ``kdef``) whose naming most of ``names`` follow."""
    if not names:
        return None
    best, best_count = None, 0
    for layout in _LAYOUTS:
        count = sum(bool(layout.match(n)) for n in names)
        if count > best_count:
            best, best_count = layout.source, count
    return best if best_count * 2 > len(names) else None


def _layout_hint(root: Path, names: list[str], current: str) -> str:
    guess = guess_layout(names)
    if guess is None or guess == current:
        return ""
    if guess == "ckplus" and current == "folder":
        return ""
    example = {layout.source: layout.example for layout in _LAYOUTS}[guess]
    return f"; the file names look like {guess}'s ({example}): use {guess}:{root}"


# -- the sources -------------------------------------------------------------------------
def synthetic(path: str | None, options: dict) -> Dataset:
    """Built-in synthetic faces; options subjects, per_expression, size, seed."""
    from .synthetic import make_synthetic

    if path:
        raise DatasetError("the synthetic dataset takes options, not a path: synthetic?subjects=40")
    known = {"subjects": 20, "per_expression": 5, "size": 256, "seed": 0}
    check_options("synthetic", options, known)
    params = {}
    for key, default in known.items():
        try:
            params[key] = int(options.get(key, default))
        except ValueError:
            raise DatasetError(f"synthetic?{key}={options[key]!r}: give a whole number") from None
    images, labels, subjects = make_synthetic(
        n_subjects=params["subjects"],
        images_per_expression=params["per_expression"],
        size=params["size"],
        seed=params["seed"],
    )
    ids = [f"{s}/{lab}/{i:05d}" for i, (s, lab) in enumerate(zip(subjects, labels))]
    samples = pd.DataFrame({"sample_id": ids, "label": labels, "subject": subjects}, dtype=object)
    images = np.ascontiguousarray(images)
    changed = {k: v for k, v in params.items() if v != known[k]}
    spec = "synthetic" + ("?" + "&".join(f"{k}={v}" for k, v in changed.items()) if changed else "")
    return Dataset(
        name="synthetic" + "".join(f"-{k}{v}" for k, v in changed.items()),
        spec=spec,
        samples=samples,
        read_bytes=lambda i: images[i].tobytes(),
        decode=lambda data, i: images[i],
    )


def folder(path: str | None, options: dict) -> Dataset:
    """PATH/<class>/<image>: the class is the sub-folder's name; no subject ids.
    Option ``extra_classes=a|b``: class folders outside the canonical expressions."""
    root = require_path("folder", path)
    check_options("folder", options, {"extra_classes": ""})
    extra = extra_classes(options.get("extra_classes"), source="folder")
    found, skipped, notices = _class_folders(root, "folder", extra)
    rows = [(display_name(rel), label, None, rel) for rel, label in found]
    guess = guess_layout([Path(rel).name for rel, _ in found])
    if guess in ("ckplus", "kdef", "jaffe"):
        notices.append(
            f"note: the file names look like {guess}'s; {guess}:{root} also reads the subject ids "
            "(needed for --protocol subject)"
        )
    spec = f"folder:{path}" + (f"?extra_classes={'|'.join(extra)}" if extra else "")
    return _file_dataset("folder-" + root.name, spec, root, rows, skipped, notices=notices)


def jaffe(path: str | None, options: dict) -> Dataset:
    """Original JAFFE names: KA.AN1.39.tiff is person KA, anger, sample 1, image 39."""
    root = require_path("jaffe", path)
    check_options("jaffe", options, {})
    files, skipped = _walk(root)
    rows = []
    for rel in files:
        name = display_name(Path(rel).name)
        match = _JAFFE.match(name)
        if not match:
            skipped.append((display_name(rel), _JAFFE.reason))
            continue
        label = canonical_label(match["expr"], where=f"file name {root / display_name(rel)}")
        rows.append((display_name(rel), label, match["person"], rel))
    return _file_dataset("jaffe", f"jaffe:{path}", root, rows, skipped, layout=_JAFFE)


def ckplus(path: str | None, options: dict) -> Dataset:
    """CK+48 layout: PATH/<class>/S005_001_00000011.png, person S005."""
    root = require_path("ckplus", path)
    check_options("ckplus", options, {})
    found, skipped, notices = _class_folders(root, "ckplus")
    rows = []
    for rel, label in found:
        match = _CKPLUS.match(display_name(Path(rel).name))
        if not match:
            skipped.append((display_name(rel), _CKPLUS.reason))
            continue
        rows.append((display_name(rel), label, match["person"], rel))
    return _file_dataset("ckplus", f"ckplus:{path}", root, rows, skipped, notices=notices, layout=_CKPLUS)


KDEF_POSES = ("S", "HL", "HR", "FL", "FR")


def kdef(path: str | None, options: dict) -> Dataset:
    """KDEF names AF01ANS.JPG: session A/B, person F01, expression, pose (frontal S unless ?poses=)."""
    root = require_path("kdef", path)
    check_options("kdef", options, {"poses": "S"})
    poses = str(options.get("poses", "S")).upper().replace(" ", "")
    wanted = set(KDEF_POSES) if poses == "ALL" else {p for p in poses.split(",") if p}
    unknown = sorted(wanted - set(KDEF_POSES))
    if unknown or not wanted:
        raise DatasetError(
            f"kdef?poses={options.get('poses')!r}: unknown pose {', '.join(unknown) or '(none)'}; "
            f"use a comma list of {', '.join(KDEF_POSES)} or all"
        )
    files, skipped = _walk(root)
    rows, left_out = [], 0
    for rel in files:
        match = _KDEF.match(display_name(Path(rel).name))
        if not match:
            skipped.append((display_name(rel), _KDEF.reason))
            continue
        if match["pose"].upper() not in wanted:
            left_out += 1
            continue
        label = canonical_label(match["expr"], where=f"file name {root / display_name(rel)}")
        rows.append((display_name(rel), label, match["person"], rel))
    canonical_poses = ",".join(p for p in KDEF_POSES if p in wanted)
    filtered = {f"pose not in ?poses={canonical_poses} (add ?poses=all for every pose)": left_out} if left_out else {}
    spec = f"kdef:{path}" + (f"?poses={canonical_poses}" if canonical_poses != "S" else "")
    return _file_dataset("kdef", spec, root, rows, skipped, filtered, layout=_KDEF)


# -- manifests ---------------------------------------------------------------------------
_COLUMN_SYNONYMS = {
    "path": ("file", "filename", "file_name", "image", "img", "image_path", "filepath", "file_path", "imagepath"),
    "label": ("emotion", "expression", "class", "category", "target", "emotion_label"),
    "subject": ("person", "subject_id", "subjectid", "participant", "identity", "actor", "id", "person_id"),
}


#: Values of the manifest option ``na_subjects``: how subject cells such as ``NA``,
#: ``n/a``, ``nan``, ``null``, ``#N/A`` (:data:`~fer_bench.datasets.base.NA_LIKE_CELLS`) are read.
NA_SUBJECTS = {
    "missing": "read as a missing id (the default: they are what spreadsheets, R and pandas write for no value)",
    "id": "read as a person's id (a person coded 'NA', as in JAFFE)",
}


def manifest(path: str | None, options: dict) -> Dataset:
    """A CSV with columns path, label and optionally subject and split; paths relative to the CSV's folder.
    Options ``encoding`` (default: detected), ``extra_classes=a|b`` (labels outside the
    canonical expressions) and ``na_subjects=missing|id``: subject cells such as ``NA``,
    ``n/a``, ``nan`` are a missing id (default), or with ``id`` a person's id ("NA").
    Both options that change what is read enter the spec (the dataset's identity)."""
    csv_path = require_path("manifest", path, want_dir=False)
    check_options("manifest", options, {"encoding": "auto", "extra_classes": "", "na_subjects": "missing"})
    wanted = options.get("encoding", "").strip()
    extra = extra_classes(options.get("extra_classes"), source="manifest")
    na_subjects = options.get("na_subjects", "").strip().lower() or "missing"
    if na_subjects not in NA_SUBJECTS:
        raise DatasetError(
            f"manifest?na_subjects={options['na_subjects']!r}: use na_subjects=missing (NA-like subject cells are "
            "a missing id, the default) or na_subjects=id (they are a person's id, e.g. a person coded NA)"
        )
    text, encoding, notices = _manifest_text(csv_path, None if wanted.lower() in ("", "auto") else wanted)
    rows, skipped, more_notices, split_of, missing_subjects = _manifest_rows(
        csv_path, text, encoding, extra, na_as_id=na_subjects == "id"
    )
    query = "&".join(f"{key}={value}" for key, value in (
        ("encoding", wanted), ("extra_classes", "|".join(extra)), ("na_subjects", "id" if na_subjects == "id" else "")
    ) if value)
    spec = f"manifest:{path}" + (f"?{query}" if query else "")
    dataset = _file_dataset(
        "manifest-" + csv_path.stem, spec, csv_path.parent, rows, skipped, notices=notices + more_notices
    )
    dataset.missing_subjects = missing_subjects
    if split_of:  # the manifest's own train / val / test split (--protocol holdout)
        dataset.samples["split"] = dataset.samples["sample_id"].map(split_of).astype(object)
    return dataset


#: Spellings of the parts of a manifest's ``split`` column (FER2013's names included).
_SPLIT_SPELLINGS = {
    "train": ("train", "training", "trn"),
    "val": ("val", "valid", "validation", "dev", "publictest", "public_test"),
    "test": ("test", "testing", "tst", "privatetest", "private_test"),
}
_SPLIT_OF = {spelling: part for part, spellings in _SPLIT_SPELLINGS.items() for spelling in spellings}


def _manifest_text(csv_path: Path, encoding: str | None) -> tuple[str, str, list[str]]:
    """The manifest decoded: UTF-8 (with or without BOM), UTF-16 with BOM, the given
    ``?encoding=``, else Windows-1252 (what Excel's plain "CSV" writes on Western
    European Windows) with a notice. Returns (text, encoding, notices)."""
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read manifest {csv_path}: {exc.strerror or exc}") from None
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DatasetError(
            f"manifest {csv_path} is a spreadsheet workbook (.xlsx/.xls), not a CSV: save it as 'CSV UTF-8'"
        )
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DatasetError(f"manifest {csv_path}: unknown ?encoding={encoding!r} (e.g. utf-8, cp1252, latin-1)") from None
        return _decode_manifest(csv_path, data, encoding), encoding, []
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return _decode_manifest(csv_path, data, "utf-16"), "utf-16", []  # Excel's "Unicode Text"
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        line, column = _position(data, utf8_error.start)
        raise DatasetError(
            f"manifest {csv_path} line {line} (column {column}) is not UTF-8 (byte 0x{data[utf8_error.start]:02x}) "
            "nor Windows-1252: save it as 'CSV UTF-8', or name its encoding, e.g. "
            f"manifest:{csv_path}?encoding=cp1250"
        ) from None
    line, _ = _position(data, utf8_error.start)
    return text, "cp1252", [
        f"note: manifest {csv_path.name} is not UTF-8 (first at line {line}): read as Windows-1252 (cp1252), "
        f"as Excel saves 'CSV' on Western-European Windows; if names look wrong, give manifest:{csv_path}?encoding=..."
    ]


def _decode_manifest(csv_path: Path, data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise DatasetError(
            f"manifest {csv_path} line {line} (column {column}) cannot be decoded as {encoding} "
            f"(byte 0x{data[exc.start]:02x}): save it as 'CSV UTF-8' or give its real ?encoding="
        ) from None
    return text.removeprefix("\ufeff")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


@dataclass
class _ManifestScan:
    """What reading a manifest's rows has found so far (:func:`_manifest_rows`)."""

    csv_path: Path
    col: dict[str, int]
    encoding: str
    extra: tuple[str, ...]
    na_as_id: bool
    rows: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[int, str]] = field(default_factory=list)
    raw_labels: set[str] = field(default_factory=set)
    case_matched: list[tuple[int, str, str]] = field(default_factory=list)
    no_subject: list[int] = field(default_factory=list)
    na_cells: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    listings: dict[tuple[str, bool], dict[str, list[str]]] = field(default_factory=dict)
    first_line_of: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    split_of: dict[str, str] = field(default_factory=dict)


def _manifest_rows(csv_path: Path, text: str, encoding: str, extra: tuple[str, ...] = (), na_as_id: bool = False):
    """Rows (sample id, label, raw subject, file), skipped repeats, notices, the split
    of every sample id when the manifest has a ``split`` column (else an empty dict), and
    the sentence naming the rows without a subject id when the manifest has a ``subject``
    column that is blank on some rows (else ``None``).

    An empty, white-space-only or NA-like subject cell (:func:`~fer_bench.datasets.base.is_na_like`)
    is a missing id, unless ``na_as_id`` (``?na_subjects=id``). Rows that list one file
    twice with different labels or subjects are all named in one error."""
    first_line = text.split("\n", 1)[0]
    delimiter, fields = _manifest_header(csv_path, first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)  # csv keeps "NA" a string
    next(reader, None)
    col = {name: fields.index(name) for name in ("path", "label", "subject", "split") if name in fields}
    notices = []
    if "subject" not in col:
        others = [f for f in fields if f in _COLUMN_SYNONYMS["subject"]]
        if others:
            notices.append(
                f"note: manifest {csv_path.name} has no 'subject' column; column {others[0]!r} is not used "
                "(rename it 'subject' to use it as person ids)"
            )
    scan = _ManifestScan(csv_path, col, encoding, extra, na_as_id)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DatasetError(f"manifest {csv_path} line {reader.line_num}: {exc}") from None
        if any(c.strip() for c in cells):  # spreadsheets add blank rows at the end
            _manifest_row(scan, cells, reader.line_num)
    _refuse_unlisted_or_conflicting(scan)
    notices += _manifest_notices(scan)
    missing_subjects = None
    if scan.no_subject:
        missing_subjects = _missing_subjects_sentence(csv_path, scan.no_subject, len(scan.rows), scan.na_cells)
        notices.append(f"warning: {missing_subjects}; --protocol subject needs an id on every row")
    return scan.rows, scan.skipped, notices, scan.split_of, missing_subjects


def _manifest_row(scan: _ManifestScan, cells: list[str], line: int) -> None:
    """Read one non-blank row of a manifest into ``scan``."""
    col, csv_path = scan.col, scan.csv_path
    cell = {name: (cells[i].strip() if i < len(cells) else "") for name, i in col.items()}
    where = f"{csv_path} line {line}"
    if not cell["path"]:
        raise DatasetError(f"empty path in {where}")
    label = canonical_label(cell["label"], where=where, extra=scan.extra)
    scan.raw_labels.add(cell["label"])
    raw_subject = _subject_cell(scan, cells)
    sample_id, file, by_case = _manifest_file(csv_path.parent, cell["path"], scan.encoding, scan.listings)
    if file is None:
        scan.missing.append((line, cell["path"]))
        return
    if by_case:
        scan.case_matched.append((line, cell["path"], sample_id))
    if raw_subject is None and "subject" in col:
        scan.no_subject.append(line)
    key = os.path.normcase(os.path.normpath(os.path.join(csv_path.parent, file)))
    if key in scan.first_line_of:
        conflict = _conflict(scan.first_line_of[key], line, sample_id, label, raw_subject)
        if conflict:
            scan.conflicts.append(conflict)
        else:
            scan.skipped.append((f"{sample_id} (line {line})", "repeats an earlier manifest row"))
        return
    scan.first_line_of[key] = (line, label, raw_subject)
    scan.rows.append((sample_id, label, raw_subject, file))
    if "split" in col:
        raw_split = cell["split"].strip().lower().replace(" ", "")
        if raw_split not in _SPLIT_OF:
            raise DatasetError(
                f"{where}: split {cell['split']!r} is not one of train, val, test (or training, validation, "
                "testing, PublicTest, PrivateTest)"
            )
        scan.split_of[sample_id] = _SPLIT_OF[raw_split]


def _subject_cell(scan: _ManifestScan, cells: list[str]) -> str | None:
    """The row's subject id as written, or ``None`` when it has none (no column, an empty
    cell, or an NA-like one unless ``na_as_id``; NA-like cells are counted)."""
    index = scan.col.get("subject")
    raw = cells[index] if index is not None and index < len(cells) else None
    if raw is not None and not raw.strip():
        return None
    if raw is not None and not scan.na_as_id and is_na_like(raw):
        scan.na_cells[raw.strip()] = scan.na_cells.get(raw.strip(), 0) + 1
        return None
    return raw


def _conflict(first_row: tuple[int, str, str | None], line: int, sample_id: str, label: str,
              subject: str | None) -> str | None:
    """How a repeated row differs from the first one listing the same file, or ``None``
    when it repeats it exactly."""
    first, first_label, first_subject = first_row
    same_label = first_label == label
    same_subject = normalise_subject(first_subject) == normalise_subject(subject)
    if same_label and same_subject:
        return None
    if not same_label and not same_subject:
        what, was, now = "labels and subjects", f"{first_label}/{first_subject}", f"{label}/{subject}"
    elif not same_label:
        what, was, now = "labels", first_label, label
    else:
        what, was, now = "subjects", first_subject, subject
    return f"lines {first} and {line} both list {sample_id} with different {what} ({was} vs {now})"


def _refuse_unlisted_or_conflicting(scan: _ManifestScan) -> None:
    """One error naming every missing file, else one naming every conflicting row."""
    if scan.missing:
        raise DatasetError(_missing_message(scan.csv_path, scan.missing, scan.encoding))
    if len(scan.conflicts) == 1:
        raise DatasetError(f"manifest {scan.csv_path}: {scan.conflicts[0]}; keep one row")
    if scan.conflicts:  # all named at once (the first few and the count), so one edit fixes them
        shown = "; ".join(scan.conflicts[:5]) + (f"; and {len(scan.conflicts) - 5} more" if len(scan.conflicts) > 5 else "")
        raise DatasetError(
            f"manifest {scan.csv_path}: {len(scan.conflicts)} rows repeat an image with a different label or subject: "
            f"{shown}; keep one row per image"
        )


def _manifest_notices(scan: _ManifestScan) -> list[str]:
    """Merged label spellings and paths matched only when case is ignored."""
    notices = _merged_label_notices(scan.raw_labels, f"manifest {scan.csv_path.name} labels")
    if scan.case_matched:
        line, written, found = scan.case_matched[0]
        notices.append(
            f"note: {len(scan.case_matched)} paths in manifest {scan.csv_path.name} match a file only when case is "
            f"ignored (as on Windows), e.g. line {line}: {written} is {found}"
        )
    return notices


def _missing_subjects_sentence(csv_path: Path, lines: list[int], n_rows: int, na_cells: dict[str, int]) -> str:
    """Which rows of a manifest have no subject id, and what to do about them."""
    n = len(lines)
    text = (
        f"manifest {csv_path} has no subject id on {'every one' if n == n_rows else n} of its {n_rows} rows"
        f" ({line_ranges(lines)}): fill them in, or leave those rows out of the manifest"
    )
    if na_cells:
        cells = ", ".join(f"{cell!r} ×{count}" for cell, count in sorted(na_cells.items()))
        text += (
            f"; {sum(na_cells.values())} of them hold {cells}, read as a missing id: if that is a person's id, "
            f"add the option na_subjects=id to the dataset spec (manifest:{csv_path}?na_subjects=id, joined "
            "with & to any other option)"
        )
    return text


def _manifest_header(csv_path: Path, first_line: str) -> tuple[str, list[str]]:
    """The delimiter (comma, semicolon as European Excel writes, tab, bar) and the
    normalised column names."""
    found: list[str] = []
    for delimiter in (",", ";", "\t", "|"):
        fields = [f.strip().strip('"').strip().lower() for f in next(csv.reader([first_line], delimiter=delimiter), [])]
        if "path" in fields and "label" in fields:
            repeated = sorted({f for f in fields if f and fields.count(f) > 1})
            if repeated:
                raise DatasetError(f"manifest {csv_path}: column {repeated[0]!r} appears twice in the first line")
            return delimiter, fields
        if len(fields) > len(found):
            found = fields
    hints = [
        f"{name} (found {syn!r})"
        for name, synonyms in _COLUMN_SYNONYMS.items()
        if name != "subject" and name not in found
        for syn in synonyms
        if syn in found
    ]
    hint = f"; rename: {', '.join(hints)}" if hints else ""
    raise DatasetError(
        f"manifest {csv_path} needs columns 'path' and 'label' in its first line, separated by commas, "
        f"semicolons or tabs (found: {', '.join(found) or 'none'}){hint}"
    )


def _manifest_file(root: Path, raw: str, encoding: str, listings: dict) -> tuple[str, str | None, bool]:
    """(sample id, file to read, matched only without regard to case) of a manifest
    path cell; the file is ``None`` if there is no such file.

    Accepts ``/`` and Windows ``\\`` separators, ``./`` prefixes, absolute paths and
    paths outside the manifest's folder; a name that exists on disk only as the
    manifest's own bytes (files unpacked from a Windows archive) is found too, and so is
    a path whose case differs from the file's (written on Windows), if exactly one file
    matches; so is a name written in another Unicode normalisation than the file's (the
    CSV in NFC, the files copied from a macOS disk in NFD: the same letters)."""
    candidates = [raw]
    if "\\" in raw:
        candidates.append(raw.replace("\\", "/"))
    for candidate in candidates:
        normal = posixpath.normpath(candidate)
        if (root / normal).is_file():
            return normal, normal, False
        if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
            try:
                native = os.fsdecode(normal.encode(encoding))
            except (UnicodeEncodeError, LookupError):
                native = None
            if native is not None and (root / native).is_file():
                return normal, native, False
    normal = posixpath.normpath(candidates[-1])
    found = _matching(root, normal, listings, fold_case=False)
    if found is not None:  # differs only in Unicode normalisation (NFC in the CSV, NFD on macOS disks)
        return normal, found, False
    found = _matching(root, normal, listings, fold_case=True)
    if found is not None:
        return display_name(found), found, True
    return normal, None, False


def _name_key(name: str, fold_case: bool) -> str:
    """How a manifest's path part is compared with a name on disk: the same characters
    in Unicode NFC (so ``é`` typed as one code point finds a file whose name macOS stored
    as ``e`` + combining accent, NFD), optionally case-folded."""
    text = unicodedata.normalize("NFC", display_name(name))
    return text.casefold() if fold_case else text


def _matching(root: Path, rel: str, listings: dict, fold_case: bool) -> str | None:
    """The one existing path equal to ``rel`` when Unicode normalisation (and, with
    ``fold_case``, case) is ignored, or None."""
    parts = rel.split("/")
    current = "/" if rel.startswith("/") else ""
    for i, part in enumerate(p for p in parts if p):
        if part in (".", ".."):
            current += part + "/"
            continue
        directory = os.path.join(root, current) if current else str(root)
        if (directory, fold_case) not in listings:
            try:
                names = os.listdir(directory)
            except OSError:
                return None
            index: dict[str, list[str]] = {}
            for name in names:
                index.setdefault(_name_key(name, fold_case), []).append(name)
            listings[directory, fold_case] = index
        matches = listings[directory, fold_case].get(_name_key(part, fold_case), [])
        if len(matches) != 1:
            return None
        current += matches[0] + ("/" if i < len([p for p in parts if p]) - 1 else "")
    return current if (root / current).is_file() else None


def _missing_message(csv_path: Path, missing: list[tuple[int, str]], encoding: str) -> str:
    examples = "; ".join(f"line {line}: {p}" for line, p in missing[:3])
    text = (
        f"manifest {csv_path}: {len(missing)} listed image file{'s' if len(missing) != 1 else ''} not found "
        f"(paths are read relative to {csv_path.parent}), e.g. {examples}"
    )
    if any(re.match(r"^[A-Za-z]:[\\/]", p) for _, p in missing):
        text += "; Windows drive paths (C:\\...) do not exist here: write paths relative to the manifest's folder"
    if encoding == "cp1252" and any(not p.isascii() for _, p in missing):
        text += (
            "; the manifest is not UTF-8 and was read as Windows-1252: if that is wrong, save it as 'CSV UTF-8' "
            f"or give manifest:{csv_path}?encoding=..."
        )
    return text


for _source in (synthetic, folder, manifest, jaffe, ckplus, kdef, fer2013, rafdb):  # the listing's order
    SOURCES.register(_source)


def describe_sources() -> list[tuple[str, str]]:
    """(name, first docstring line as plain text) of every dataset source; a third-party
    source (entry point) is described by its origin, without importing it."""
    out = []
    for name in SOURCES.names():
        source = SOURCES.in_code(name)
        doc = ((source.__doc__ or "") if source is not None else SOURCES.origin(name)).strip().splitlines()
        out.append((name, doc[0].replace("``", "") if doc else ""))
    return out


def load_dataset(spec: str) -> Dataset:
    """Read the dataset named by ``spec`` (``synthetic``, ``jaffe:PATH``, …)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError("empty --dataset; use synthetic or SOURCE:PATH (see fer-bench datasets)")
    head, _, query = spec.partition("?")
    name, colon, path = head.partition(":")
    if name not in SOURCES:
        hint = difflib.get_close_matches(name, SOURCES.names(), n=2)
        if Path(head).expanduser().is_dir():
            root = Path(head).expanduser()
            guess = guess_layout(_sample_names(root))
            hint_text = f"; the file names look like {guess}'s: use {guess}:{head}" if guess else (
                f"; for a directory of class sub-folders use folder:{head}"
            )
        elif Path(head).expanduser().is_file() and head.lower().endswith((".csv", ".tsv", ".txt")):
            hint_text = f"; for a CSV of path,label[,subject] use manifest:{head}"
        else:
            hint_text = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise DatasetError(f"unknown dataset source {name!r} in {spec!r}{hint_text} (known: {', '.join(SOURCES)})")
    source = SOURCES.get(name)
    options = dict(parse_qsl(query, keep_blank_values=True))
    return source(path or None, options)


def _sample_names(root: Path, limit: int = 500) -> list[str]:
    names = []
    for _, _, filenames in walk_data(root, []):
        names.extend(n for n in filenames if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES)
        if len(names) >= limit:
            break
    return names[:limit]


