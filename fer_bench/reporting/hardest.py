"""The hardest images (and people): which test images do (almost) all methods get wrong? From the
stored predictions only.

Every method predicts every image once per run on the same splits (:attr:`Results.predictions
<fer_bench.results.Results>`: method, run, fold, idx, y_true, y_pred). Per image (dataset index
``idx``), over the **complete runs** of every method (a run counts only when all its folds
finished, as everywhere else): how many of those method × run predictions were wrong, out of how
many, and what was predicted instead (the most common wrong label; ties go to the earlier class in
the run's class order). Nothing here retrains anything or changes any label.

Which images are *listed* as the hardest (:data:`HARD_SHARE`, :data:`HARD_METHODS`): those wrong
in at least 90 % of their predictions, predicted by at least two different methods. 90 % rather
than 100 % so that one lucky run or one method guessing the class does not hide an image that
everything else gets wrong; two methods at least so that the list is about the *data*, never about
one method's weakness. In a user's own data such images are most often mislabelled, ambiguous or
badly cropped: they are **candidates** to look at, never changed automatically.

Where each image is: the run's store keeps every image's ``sample_id`` (its path relative to the
dataset root), label and subject; runs also export them (``samples.csv.gz``) so that committed
results without a store keep them, and the dataset summary records the dataset root (``root``),
so the original file can be shown when it is still there. Results made before either existed
show the image's index only, and say so.

For the subject protocols (a protocol that needs subject ids: ``--protocol subject``), the same per
person (:func:`subject_errors`): who is hard for everyone.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of ``hardest_images.csv`` (:func:`image_errors`).
IMAGE_COLUMNS = ["idx", "path", "subject", "label", "wrong", "predictions", "error_share", "most_common_wrong",
                 "most_common_wrong_count", "methods"]
#: An image is listed as one of the hardest when at least this share of its predictions is wrong …
HARD_SHARE = 0.9
#: … and at least this many different methods predicted it.
HARD_METHODS = 2
#: At most this many of the hardest images are shown in ``report.html``.
GALLERY_SIZE = 12
#: Thumbnail size in ``report.html`` (pixels, the longer side).
THUMBNAIL_PX = 96

THRESHOLD_TEXT = (f"An image is listed when at least {100 * HARD_SHARE:.0f} % of its method × run predictions are wrong and "
                  f"at least {HARD_METHODS} different methods predicted it (complete runs only): {100 * HARD_SHARE:.0f} % "
                  "rather than all, so that one lucky run or one method guessing its class does not hide an image "
                  f"everything else gets wrong; {HARD_METHODS} methods at least, so that the list is about the data, "
                  "not one method's weakness.")
CANDIDATE_TEXT = ("These are candidates for label errors, ambiguous expressions or bad crops, to look at: fer-bench "
                  "never changes a label or drops an image because of this list.")
NO_PATHS_TEXT = ("These results do not record the images' file paths (made before fer-bench stored them): images are "
                 "named by their index in the dataset only.")


def complete_predictions(results) -> pd.DataFrame:
    """The stored predictions of every method's complete runs (columns method, run, fold, idx,
    y_true, y_pred), in a fixed order (method, run, idx)."""
    p = results.predictions
    keep = np.zeros(len(p), dtype=bool)
    for method in results.methods:
        runs = results.complete_runs(method)
        if runs:
            keep |= ((p["method"] == method) & p["run"].isin(runs)).to_numpy()
    return p[keep].sort_values(["method", "run", "idx"], kind="stable").reset_index(drop=True)


def has_paths(results) -> bool:
    """Whether ``results`` know their images' paths (``sample_id``)."""
    return len(results.samples) > 0


def _class_name(classes: list[str], value) -> str:
    i = int(value)
    return classes[i] if 0 <= i < len(classes) else str(i)


def image_errors(results) -> pd.DataFrame:
    """One row per test image predicted in a complete run: :data:`IMAGE_COLUMNS`.

    ``wrong``/``predictions``: wrong and all method × run predictions of the image;
    ``error_share``: their ratio (0-1); ``most_common_wrong`` (class name, empty when never
    wrong; a tie goes to the earlier class) and its count; ``methods``: how many different
    methods predicted it; ``path``, ``subject``: the image's ``sample_id`` and person from the
    run's samples (empty when not recorded: :func:`has_paths`). Sorted by ``error_share``
    descending, then ``path``, then ``idx``. Vectorised (one group-by per column: fast on
    FER2013-sized runs, since the tables are rewritten after every method)."""
    p = complete_predictions(results)
    if p.empty:
        return pd.DataFrame(columns=IMAGE_COLUMNS)
    classes = results.classes
    p = p.assign(wrong=(p["y_true"] != p["y_pred"]).astype(int))
    per = p.groupby("idx", sort=True).agg(y_true=("y_true", "first"), wrong=("wrong", "sum"),
                                          predictions=("wrong", "size"), methods=("method", "nunique"))
    counts = (p[p["wrong"] == 1].groupby(["idx", "y_pred"]).size().rename("n").reset_index()
              .sort_values(["idx", "n", "y_pred"], ascending=[True, False, True], kind="stable")
              .drop_duplicates("idx").set_index("idx"))
    frame = pd.DataFrame({"idx": per.index.astype(int).to_numpy()}, index=per.index.rename(None))
    frame["path"], frame["subject"] = "", ""
    if has_paths(results):
        samples = results.samples.set_index("idx")
        frame["path"] = per.index.map(samples["sample_id"]).fillna("").astype(str)
        frame["subject"] = [s if isinstance(s, str) else "" for s in per.index.map(samples["subject"])]
    frame["label"] = [_class_name(classes, v) for v in per["y_true"]]
    frame["wrong"], frame["predictions"] = per["wrong"].astype(int), per["predictions"].astype(int)
    frame["error_share"] = frame["wrong"] / frame["predictions"]
    best = counts.reindex(per.index)
    frame["most_common_wrong"] = [_class_name(classes, v) if v == v else "" for v in best["y_pred"]]
    frame["most_common_wrong_count"] = best["n"].fillna(0).astype(int)
    frame["methods"] = per["methods"].astype(int)
    frame = frame.sort_values(["error_share", "path", "idx"], ascending=[False, True, True], kind="stable")
    return frame[IMAGE_COLUMNS].reset_index(drop=True)


def hardest(errors: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`image_errors` listed as the hardest (see :data:`THRESHOLD_TEXT`), in
    the same order."""
    listed = errors[(errors["error_share"] >= HARD_SHARE - 1e-12) & (errors["methods"] >= HARD_METHODS)]
    return listed.reset_index(drop=True)


def is_subject_protocol(results) -> bool:
    """Whether ``results`` were made under a protocol that needs subject ids (subject-independent)."""
    from ..model_selection import PROTOCOLS

    if results.protocol in PROTOCOLS:
        return bool(PROTOCOLS[results.protocol].needs_subjects)
    return results.protocol == "subject"


def subject_errors(results) -> pd.DataFrame:
    """Per person, for subject protocols: ``subject``, ``images`` (test images of that person),
    ``wrong``, ``predictions`` (over all methods × complete runs), ``error_share`` (0-1), then
    ``accuracy:<method>`` (% right of that method's predictions of the person, in run order).
    Sorted by ``error_share`` descending, then ``subject``. Empty (with those columns) when the
    protocol is not a subject one or the subjects were not recorded."""
    methods = [m for m in results.methods if results.complete_runs(m)]
    columns = ["subject", "images", "wrong", "predictions", "error_share", *(f"accuracy:{m}" for m in methods)]
    if not is_subject_protocol(results) or not has_paths(results):
        return pd.DataFrame(columns=columns)
    p = complete_predictions(results)
    subject_of = results.samples.set_index("idx")["subject"]
    p = p.assign(subject=p["idx"].map(subject_of), right=(p["y_true"] == p["y_pred"]))
    p = p[p["subject"].notna()]
    rows = []
    for subject, part in p.groupby("subject", sort=True):
        row = {"subject": str(subject), "images": int(part["idx"].nunique()), "wrong": int((~part["right"]).sum()),
               "predictions": len(part)}
        row["error_share"] = row["wrong"] / row["predictions"]
        for method in methods:
            own = part.loc[part["method"] == method, "right"]
            row[f"accuracy:{method}"] = 100.0 * float(own.mean()) if len(own) else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["error_share", "subject"], ascending=[False, True], kind="stable").reset_index(drop=True)


# -- files ----------------------------------------------------------------------------------
def _name(row, with_paths: bool) -> str:
    return f"`{row.path}`" if with_paths and row.path else f"image #{row.idx}"


def hardest_markdown(results, errors: pd.DataFrame, subjects: pd.DataFrame | None = None) -> str:
    """``hardest_images.md``: the threshold, the listed images (file, label, most common wrong
    prediction) and, for subject protocols, the hardest people."""
    from .markdown import heading, markdown_table

    with_paths = has_paths(results)
    listed = hardest(errors)
    text = heading(results, "The hardest images — what (almost) every method gets wrong")
    text += THRESHOLD_TEXT + " " + CANDIDATE_TEXT + "\n\n"
    if not with_paths:
        text += NO_PATHS_TEXT + "\n\n"
    n_methods = int(errors["methods"].max()) if len(errors) else 0
    if n_methods < HARD_METHODS:
        text += f"Only {n_methods} method with a complete run: no image can be listed (needs {HARD_METHODS}).\n"
    elif not len(listed):
        text += f"No image meets the threshold ({len(errors)} test images).\n"
    else:
        table = pd.DataFrame({
            "image": [_name(r, with_paths) for r in listed.itertuples()],
            "subject": listed["subject"], "label": listed["label"],
            "wrong": [f"{r.wrong} of {r.predictions}" for r in listed.itertuples()],
            "most common prediction": [f"{r.most_common_wrong} ({r.most_common_wrong_count})"
                                       for r in listed.itertuples()],
        })
        if not with_paths or not listed["subject"].astype(bool).any():
            table = table.drop(columns="subject")
        text += f"{len(listed)} of {len(errors)} test images:\n\n" + markdown_table(table, index=False)
    text += "\nEvery image with its counts: `hardest_images.csv`.\n"
    if subjects is not None and len(subjects):
        shown = subjects[["subject", "images", "wrong", "predictions"]].assign(
            error_share=[f"{100 * v:.1f} %" for v in subjects["error_share"]])
        text += ("\n## The hardest people (subject-independent protocol)\n\n"
                 "Share of wrong predictions over all methods × complete runs, per person (per-method accuracy in "
                 "`hardest_subjects.csv`):\n\n" + markdown_table(shown, index=False))
    return text


#: Files written by :func:`write_hardest_tables` (removed when there is nothing to write).
TABLE_FILES = ("hardest_images.csv", "hardest_images.md", "hardest_subjects.csv")


def write_hardest_tables(results, out) -> list:
    """Write ``hardest_images.csv`` and ``.md`` (when some method has a complete run) and, for
    subject protocols with recorded subjects, ``hardest_subjects.csv`` into ``out``; files of
    these names left by an earlier report that no longer apply are removed."""
    from ..files import write_atomic

    out = Path(out)
    errors = image_errors(results)
    subjects = subject_errors(results)
    wanted = {}
    if len(errors):
        wanted["hardest_images.csv"] = errors.to_csv(index=False, lineterminator="\n", float_format="%.4f")
        wanted["hardest_images.md"] = hardest_markdown(results, errors, subjects)
    if len(subjects):
        wanted["hardest_subjects.csv"] = subjects.to_csv(index=False, lineterminator="\n", float_format="%.4f")
    for name in TABLE_FILES:
        if name not in wanted and (out / name).exists():
            (out / name).unlink()
    return [write_atomic(out / name, text) for name, text in wanted.items()]


# -- report.html ----------------------------------------------------------------------------
def image_file(results, path: str) -> Path | None:
    """The original file of an image whose ``sample_id`` is ``path``, when it is still there:
    absolute ids as they are, others under the dataset root recorded in the run (``root`` of
    the dataset summary, relative to the results folder). None when no root was recorded or
    the file is not found."""
    if not path:
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        root = (results.dataset or {}).get("root")
        if not root:
            return None
        candidate = Path(results.out) / root / path  # an absolute root stays as it is
    return candidate if candidate.is_file() else None


def thumbnail_png(path: Path, size: int = THUMBNAIL_PX) -> bytes | None:
    """A PNG thumbnail (longer side ``size`` px, EXIF orientation applied) of the image file at
    ``path``, read with Pillow; None when Pillow cannot read it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("L" if image.mode in ("L", "I;16", "I", "1") else "RGB")
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return buffer.getvalue()
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def gallery(results, errors: pd.DataFrame | None = None) -> list[dict]:
    """The first :data:`GALLERY_SIZE` listed images for ``report.html``: dicts with ``row`` (the
    :func:`image_errors` row) and ``png`` (base64 thumbnail text, or None when the file was not
    found or not readable)."""
    errors = image_errors(results) if errors is None else errors
    out = []
    for row in hardest(errors).head(GALLERY_SIZE).itertuples():
        file = image_file(results, row.path)
        png = thumbnail_png(file) if file is not None else None
        out.append({"row": row, "png": None if png is None else base64.b64encode(png).decode("ascii")})
    return out
