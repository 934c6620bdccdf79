"""Text shared by every report: Markdown tables, the lines that describe a result, file names."""

from __future__ import annotations

import math
import re

import pandas as pd

from ..results import Results

#: Shown wherever the published OA stands beside ours.
PAPER_OA_NOTE = (
    "paper_oa: the overall accuracy that the method's own paper (or Li 2021, Table 3) reports on *its* dataset "
    "(for the seed paper's methods: a private 700-image, 20-person, 7-class set under image-level 10 × 10-fold "
    "cross-validation). It is shown for orientation only and is not comparable with the numbers measured here."
)


def counted(n: int | float, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 run", "10 runs", "1.5 OA points"
    (regular nouns only; a float is written as ``{n:g}``)."""
    number = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{number} {noun}" if n == 1 else f"{number} {noun}s"


def runs_by_folds(runs: int, folds: int) -> str:
    """A cross-validation's size as every output writes it: "10 runs × 10 folds" (Li 2021's
    "10 runs of 10-fold cross-validation"), "1 run × 3 folds"."""
    return f"{counted(runs, 'run')} × {counted(folds, 'fold')}"


#: Facts from a dataset's ``about`` record shown beside every number (the rest is in run.json).
SHOWN_ABOUT = ("subjects", "split_source", "classes")


def safe_name(label: str) -> str:
    """A method label as a portable file-name part (``swe-bbo:level=3`` → ``swe-bbo_level-3``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label.replace("=", "-")).strip("_")


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (floats with 2 decimals, NaN as empty)."""
    frame = frame.reset_index() if index else frame
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        cells = ["" if (isinstance(v, float) and math.isnan(v)) else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"




# -- what every file says about the numbers ---------------------------------------------------
def describe(results: Results) -> list[str]:
    """The lines that must stand beside any number of ``results``: dataset (and whether it is
    synthetic), protocol, refit and selection, chance level."""
    ds = results.dataset
    lines = [
        f"Dataset: `{ds.get('spec', ds.get('name', '?'))}` ({ds.get('images', '?')} images, "
        f"{len(results.classes)} classes, fingerprint `{str(results.config.get('dataset_fingerprint', ''))[:16]}`)"
    ]
    if results.is_synthetic:
        lines.append(
            "**Synthetic data**: fer-bench's generated faces, not photographs; these numbers say nothing about "
            "accuracy on real faces"
        )
    shape = (counted(results.n_runs, "run") if results.protocol == "holdout"
             else runs_by_folds(results.n_runs, results.n_folds))
    if results.is_leave_one_subject_out:
        shape += f" (leave-one-subject-out: {results.n_folds} people, one per group)"
    lines.append(f"Protocol: **{results.protocol_title}**, {shape}, seed {results.config.get('seed')}")
    if "refit" in results.config:
        selection = results.config.get("selection", "validation")
        chooser = ("the validation group" if selection == "validation"
                   else "inner cross-validation over the non-test groups")
        lines.append(
            f"Model selection: hyperparameters chosen on {chooser}; "
            + ("final models retrained on training + validation before testing (Li 2021, §3.6)"
               if results.refit else "no refit: final models trained on the training groups only")
        )
    lines.append(face_line(results))
    about = ds.get("about") or {}
    for key in SHOWN_ABOUT:
        if about.get(key):
            lines.append(f"About the data ({key.replace('_', ' ')}): {about[key]}")
    if results.protocol == "holdout":
        splits = ds.get("splits") or {}
        if not splits.get("val"):
            lines.append(
                "Validation part: the dataset has none, so a class-stratified 10 % of its training part is drawn "
                "per run (from the run's seed) to choose hyperparameters"
            )
    chance = results.chance_levels()
    lines.append(
        f"Chance level: {chance['uniform']:.2f} % (uniform guess over {len(results.classes)} classes); "
        f"{chance['majority']:.2f} % by always predicting the largest class"
    )
    return lines


def face_modes(results: Results) -> dict[str, list[str]]:
    """Face preprocessing (``"align (shape_predictor_5)"``, ``"crop"``, ``"none"``) → the
    methods of ``results`` that used it, from each method's recorded input spec."""
    modes: dict[str, list[str]] = {}
    for method in results.methods:
        spec = (results.method_records.get(method) or {}).get("input") or {}
        modes.setdefault(str(spec.get("face") or "none"), []).append(method)
    return modes


def face_short(results: Results) -> str:
    """The face preprocessing in a few words, for plot subtitles: ``face align``, or
    ``face per method`` when methods differ."""
    modes = face_modes(results)
    if len(modes) == 1:
        return "face " + next(iter(modes)).split(" (")[0]
    return "face per method"


def face_line(results: Results) -> str:
    """What the run did to the faces (issue 14: shown beside the protocol wherever a number
    is): the override or each method's default, and how many images had no detected face."""
    override = results.config.get("face")
    modes = face_modes(results)
    if override and results.config.get("face_reason"):
        text = f"Face preprocessing: {override} for every method ({results.config['face_reason']})"
    elif override and override != "method":
        text = f"Face preprocessing: `--face {override}` for every method"
    elif len(modes) == 1:
        text = f"Face preprocessing: {next(iter(modes))} (every method's default)"
    else:
        text = "Face preprocessing: each method's default: " + "; ".join(
            f"{mode} for {', '.join(f'`{m}`' for m in methods)}" for mode, methods in modes.items())
    found = []
    for mode, facts in sorted((results.faces or {}).items()):
        if isinstance(facts, dict) and facts.get("images"):
            missing = len(facts.get("not_found") or [])
            several = len(facts.get("several_faces") or [])
            dropped = len(facts.get("several_faces_dropped") or [])
            found.append(f"{mode}: a face detected in {facts['images'] - missing} of {facts['images']} images"
                         + (f", {missing} took the documented fallback (listed in run.json)" if missing else "")
                         + (f", several faces in {several}: {facts.get('several_faces_text')}" if several else "")
                         + (f", {dropped} images with several faces left out before the split" if dropped else ""))
    return text + (" (" + "; ".join(found) + ")" if found else "")


def heading(results: Results, title: str) -> str:
    """A Markdown title followed by :func:`describe`'s lines as a list."""
    return f"# {title}\n\n" + "".join(f"- {line}\n" for line in describe(results)) + "\n"
