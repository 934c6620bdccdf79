"""Dataset sources: each turns a spec (``jaffe:PATH``) into a :class:`Dataset`.

A source is a function ``(path, options) -> Dataset`` in :data:`SOURCES`; third-party
packages may add one under the entry-point group ``fer_bench.datasets``.
"""

from __future__ import annotations

import csv
import difflib
import importlib.metadata
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..labels import canonical_label
from .base import Dataset, file_reader

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pgm", ".ppm", ".gif", ".webp"}


def _table(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    # object dtype throughout: a person coded "NA" (JAFFE) must stay the string "NA".
    frame = pd.DataFrame(rows, columns=["sample_id", "label", "subject"], dtype=object)
    return frame.sort_values("sample_id", kind="stable").reset_index(drop=True)


def _images_under(root: Path, recursive: bool = True) -> list[Path]:
    if not root.exists():
        raise DatasetError(f"dataset directory {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a directory")
    pattern = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(root: Path) -> list[tuple[Path, str]]:
    """(relative path, canonical label) of every image in a ``<class>/<image>`` layout."""
    found = []
    for file in _images_under(root):
        rel = file.relative_to(root)
        if len(rel.parts) < 2:
            raise DatasetError(f"image {file} is not inside a class sub-folder of {root}")
        found.append((rel, canonical_label(rel.parts[0], where=f"folder name {root / rel.parts[0]}")))
    return found


def _file_dataset(name: str, spec: str, root: Path, rows, notes=None) -> Dataset:
    samples = _table(rows)
    return Dataset(
        name=name,
        spec=spec,
        samples=samples,
        read_bytes=file_reader(root, list(samples["sample_id"])),
        root=root,
        notes=notes or {},
    )


# -- the sources -------------------------------------------------------------------------
def synthetic(path: str | None, options: dict) -> Dataset:
    """Built-in synthetic faces; options ``subjects``, ``per_expression``, ``size``, ``seed``."""
    from .synthetic import make_synthetic

    if path:
        raise DatasetError("the synthetic dataset takes options, not a path: synthetic?subjects=40")
    known = {"subjects": 20, "per_expression": 5, "size": 256, "seed": 0}
    _check_options("synthetic", options, known)
    params = {k: int(options.get(k, v)) for k, v in known.items()}
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
        notes={"synthetic": True, **params},
    )


def folder(path: str | None, options: dict) -> Dataset:
    """``PATH/<class>/<image>``: the class is the sub-folder's name; no subject ids."""
    root = _require_path("folder", path)
    _check_options("folder", options, {})
    rows = [(rel.as_posix(), label, None) for rel, label in _class_folders(root)]
    return _file_dataset("folder-" + root.name, f"folder:{path}", root, rows)


def manifest(path: str | None, options: dict) -> Dataset:
    """A CSV with ``path,label[,subject]``; paths relative to the CSV's directory."""
    csv_path = _require_path("manifest", path, want_dir=False)
    _check_options("manifest", options, {})
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)  # csv keeps "NA" a string, unlike pandas
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            if "path" not in fields or "label" not in fields:
                raise DatasetError(
                    f"manifest {csv_path} needs columns 'path' and 'label' (found: {', '.join(fields) or 'none'})"
                )
            raw_rows = [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]
    except OSError as exc:
        raise DatasetError(f"cannot read manifest {csv_path}: {exc.strerror or exc}") from None
    root = csv_path.parent
    rows = []
    for line, row in enumerate(raw_rows, start=2):
        where = f"{csv_path} line {line}"
        if not row.get("path"):
            raise DatasetError(f"empty path in {where}")
        subject = row.get("subject") or None
        rows.append((row["path"], canonical_label(row.get("label", ""), where=where), subject))
    return _file_dataset("manifest-" + csv_path.stem, f"manifest:{path}", root, rows)


_JAFFE = re.compile(r"^(?P<person>[A-Za-z]{2})\.(?P<expr>[A-Za-z]{2})\d*\.(?P<num>\d+)\.tiff?$")


def jaffe(path: str | None, options: dict) -> Dataset:
    """Original JAFFE names: ``KA.AN1.39.tiff`` is person KA, anger, sample 1, image 39."""
    root = _require_path("jaffe", path)
    _check_options("jaffe", options, {})
    rows, skipped = [], []
    for file in _images_under(root):
        match = _JAFFE.match(file.name)
        if not match:
            skipped.append(file.name)
            continue
        label = canonical_label(match["expr"], where=f"file name {file}")
        rows.append((file.relative_to(root).as_posix(), label, match["person"].upper()))
    notes = {"skipped_files": skipped} if skipped else {}
    return _file_dataset("jaffe", f"jaffe:{path}", root, rows, notes)


_CKPLUS = re.compile(r"^(?P<person>S\d+)_\d+_\d+", re.IGNORECASE)


def ckplus(path: str | None, options: dict) -> Dataset:
    """CK+48 layout: ``PATH/<class>/S005_001_00000011.png``, person ``S005``."""
    root = _require_path("ckplus", path)
    _check_options("ckplus", options, {})
    rows = []
    for rel, label in _class_folders(root):
        match = _CKPLUS.match(rel.name)
        if not match:
            raise DatasetError(f"file name {root / rel} is not a CK+ name such as S005_001_00000011.png")
        rows.append((rel.as_posix(), label, match["person"].upper()))
    return _file_dataset("ckplus", f"ckplus:{path}", root, rows)


_KDEF = re.compile(
    r"^(?P<session>[AB])(?P<person>[FM]\d{2})(?P<expr>AF|AN|DI|HA|NE|SA|SU)(?P<pose>S|HL|HR|FL|FR)\.jpe?g$",
    re.IGNORECASE,
)


def kdef(path: str | None, options: dict) -> Dataset:
    """KDEF names ``AF01ANS.JPG``: session A/B, person F01, expression, pose.

    Only the frontal pose ``S`` by default; ``?poses=S,HL,HR`` or ``?poses=all`` widens
    it. Both sessions of a person share the person id, so the subject protocol keeps
    them together.
    """
    root = _require_path("kdef", path)
    _check_options("kdef", options, {"poses": "S"})
    poses = str(options.get("poses", "S")).upper()
    wanted = {"S", "HL", "HR", "FL", "FR"} if poses == "ALL" else {p.strip() for p in poses.split(",")}
    rows, skipped = [], []
    for file in _images_under(root):
        match = _KDEF.match(file.name)
        if not match:
            skipped.append(file.name)
            continue
        if match["pose"].upper() not in wanted:
            continue
        label = canonical_label(match["expr"], where=f"file name {file}")
        rows.append((file.relative_to(root).as_posix(), label, match["person"].upper()))
    notes = {"poses": sorted(wanted), **({"skipped_files": skipped} if skipped else {})}
    return _file_dataset("kdef", f"kdef:{path}" + (f"?poses={poses}" if poses != "S" else ""), root, rows, notes)


from .fer2013 import fer2013  # noqa: E402  (split-aware sources live in their own modules)
from .rafdb import rafdb  # noqa: E402

SOURCES: dict[str, Callable[[str | None, dict], Dataset]] = {
    "synthetic": synthetic,
    "folder": folder,
    "manifest": manifest,
    "jaffe": jaffe,
    "ckplus": ckplus,
    "kdef": kdef,
    "fer2013": fer2013,
    "rafdb": rafdb,
}


def _all_sources() -> dict[str, Callable]:
    found = dict(SOURCES)
    for ep in importlib.metadata.entry_points(group="fer_bench.datasets"):
        found.setdefault(ep.name, ep)
    return found


def describe_sources() -> list[tuple[str, str]]:
    """(name, first docstring line) of every dataset source."""
    out = []
    for name, source in _all_sources().items():
        doc = (getattr(source, "__doc__", None) or getattr(source, "value", "")).strip().splitlines()
        out.append((name, doc[0] if doc else ""))
    return out


def load_dataset(spec: str) -> Dataset:
    """Read the dataset named by ``spec`` (``synthetic``, ``jaffe:PATH``, …)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError("empty --dataset; use synthetic or SOURCE:PATH (see fer-bench datasets)")
    head, _, query = spec.partition("?")
    name, colon, path = head.partition(":")
    sources = _all_sources()
    if name not in sources:
        hint = difflib.get_close_matches(name, list(sources), n=2)
        if not colon and Path(head).exists():
            hint_text = f"; for a directory of class sub-folders use folder:{head}"
        else:
            hint_text = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise DatasetError(f"unknown dataset source {name!r} in {spec!r}{hint_text} (known: {', '.join(sources)})")
    source = sources[name]
    if isinstance(source, importlib.metadata.EntryPoint):
        source = source.load()
    options = dict(parse_qsl(query, keep_blank_values=True))
    return source(path or None, options)


def _require_path(source: str, path: str | None, want_dir: bool = True) -> Path:
    if not path:
        raise DatasetError(f"the {source} source needs a path: {source}:PATH")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DatasetError(f"{source}: {resolved} does not exist")
    if want_dir and not resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is not a directory")
    if not want_dir and resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is a directory; give the CSV file")
    return resolved.resolve()


def _check_options(source: str, options: dict, known: dict) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise DatasetError(f"unknown option {unknown[0]!r} for dataset source {source} (options: {allowed})")
