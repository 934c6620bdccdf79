"""Several results directories side by side, and the leakage view (``fer-bench compare``).

:func:`compare_results` puts the OA of several directories (datasets, protocols) in one
table; when the same dataset (same fingerprint) was run under the image-level and the
subject-independent protocol, :func:`leakage_table` shows how much the image-level protocol
overstates accuracy on people not seen in training; when two directories hold the same
dataset, :func:`overlap_side_by_side` puts their error overlap (kappa of correctness and
double fault per pair of methods) side by side. Directories are read with
:class:`~fer_bench.results.Results`, from their store or, on a fresh clone of committed
results, from their exported tables.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import fer_bench.reporting.markdown as markdown
import fer_bench.reporting.overlap as overlap_mod

from ..errors import FerBenchError
from ..files import user_path, writable_directory, write_atomic
from ..metrics import format_mean_sd
from ..options import Compared, compared_options
from ..results import Results
from .markdown import markdown_table


def _as_results(item) -> Results:
    return item if isinstance(item, Results) else Results(item)


def leakage_table(image_level, subject_independent) -> pd.DataFrame:
    """Image-level vs subject-independent OA of the methods run under both protocols.

    Both arguments are results (or directories) of the *same dataset* (same
    fingerprint), the first under ``--protocol paper``, the second under ``subject``.
    ``gap`` = image-level − subject-independent OA, in percentage points: how much the
    image-level protocol overstates accuracy on people not seen in training.
    """
    paper, subject = _as_results(image_level), _as_results(subject_independent)
    if paper.protocol != "paper" or subject.protocol != "subject":
        raise FerBenchError(
            f"leakage view needs an image-level and a subject-independent run; got {paper.protocol!r} "
            f"({paper.out}) and {subject.protocol!r} ({subject.out})"
        )
    fp_a, fp_b = paper.config.get("dataset_fingerprint"), subject.config.get("dataset_fingerprint")
    if fp_a != fp_b:
        raise FerBenchError(f"{paper.out} and {subject.out} are runs on different datasets (fingerprints differ)")
    rows = []
    for method in paper.methods:
        if method not in subject.methods:
            continue
        m_a, _, n_a = paper.oa_summary(method)
        m_b, _, n_b = subject.oa_summary(method)
        if n_a and n_b:
            rows.append(
                {
                    "method": method,
                    "image_level_oa": round(m_a, 2),
                    "subject_independent_oa": round(m_b, 2),
                    "gap": round(m_a - m_b, 2),
                }
            )
    return pd.DataFrame(rows, columns=["method", "image_level_oa", "subject_independent_oa", "gap"])


@dataclass
class Comparison:
    """Several results directories side by side (see :func:`compare_results`)."""

    table: pd.DataFrame  #: one row per method, one "mean ± SD" column per directory
    columns: dict[str, str]  #: column label → directory
    leakage: dict[str, pd.DataFrame]  #: dataset name → leakage table, where both protocols were run
    #: dataset name → what else differs between the two runs of its leakage table (empty: nothing)
    leakage_caveats: dict[str, list[str]] = field(default_factory=dict)
    #: dataset name → error overlap of two of its runs side by side (:func:`overlap_side_by_side`)
    overlap: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: dataset name → each run's oracle lines, prefixed by its column label
    overlap_notes: dict[str, list[str]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        text = "# fer-bench comparison\n\nOA (%) mean ± SD over runs; columns are results directories:\n\n"
        text += "".join(f"- `{label}`: {path}\n" for label, path in self.columns.items()) + "\n"
        text += markdown_table(self.table, index=False)
        for name, table in self.leakage.items():
            text += (
                f"\n## Leakage view — {name}\n\nThe same dataset under both protocols; gap = image-level − "
                "subject-independent OA (percentage points), the optimism of letting one person's images "
                "fall in both training and test groups.\n\n"
            )
            caveats = self.leakage_caveats.get(name)
            if caveats:
                text += f"> Not only the protocol differs: {'; '.join(caveats)}. The gap reflects these too.\n\n"
            text += markdown_table(table, index=False)
        for name, table in self.overlap.items():
            text += (
                f"\n## Error overlap — {name}\n\nTwo runs of the same dataset side by side: per pair of methods, "
                "Cohen's kappa of their correctness and their double fault (% of test images both got wrong), on "
                "each run's complete common runs. " + overlap_mod.MEANING + "\n\n"
            )
            text += markdown_table(table, index=False)
            text += "\n" + "".join(f"- {line}\n" for line in self.overlap_notes.get(name, []))
        return text


def compare_results(directories: Sequence[str | Path]) -> Comparison:
    """Put several results directories (datasets, protocols) side by side.

    Columns are labelled ``<dataset> (<protocol>, <runs>×<folds>)``; when two
    directories hold the same dataset (same fingerprint) under the image-level and the
    subject-independent protocol, their :func:`leakage_table` is added.
    """
    if not directories:
        raise FerBenchError("compare needs at least one results directory")
    loaded = [_as_results(d) for d in directories]
    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    methods: list[str] = []
    for res in loaded:
        label = f"{res.dataset.get('name', '?')} ({res.protocol_short}, {res.n_runs}×{res.n_folds})"
        base, i = label, 2
        while label in columns:
            label, i = f"{base} #{i}", i + 1
        columns[label] = str(res.out)
        for method in res.methods:
            mean, sd, n = res.oa_summary(method)
            if not n:
                continue
            if method not in methods:
                methods.append(method)
            values.setdefault(method, {})[label] = format_mean_sd(mean, sd)
    table = pd.DataFrame(
        [{"method": m, **{c: values[m].get(c, "") for c in columns}} for m in methods], columns=["method", *columns]
    )
    leakage: dict[str, pd.DataFrame] = {}
    caveats: dict[str, list[str]] = {}
    for paper in (r for r in loaded if r.protocol == "paper"):
        for subject in (r for r in loaded if r.protocol == "subject"):
            if paper.config.get("dataset_fingerprint") == subject.config.get("dataset_fingerprint"):
                name = paper.dataset.get("name", "?")
                key, i = name, 2
                while key in leakage:
                    key, i = f"{name} #{i}", i + 1
                leakage[key] = leakage_table(paper, subject)
                caveats[key] = setting_differences(paper, subject)
    overlap: dict[str, pd.DataFrame] = {}
    notes: dict[str, list[str]] = {}
    labels = list(columns)
    for i, first in enumerate(loaded):
        for j in range(i + 1, len(loaded)):
            second = loaded[j]
            if first.config.get("dataset_fingerprint") != second.config.get("dataset_fingerprint"):
                continue
            found = overlap_side_by_side(first, second, labels[i], labels[j])
            if found is None:
                continue
            name = first.dataset.get("name", "?")
            key, k = name, 2
            while key in overlap:
                key, k = f"{name} #{k}", k + 1
            overlap[key], notes[key] = found
    return Comparison(table, columns, leakage, {k: v for k, v in caveats.items() if v}, overlap, notes)


def overlap_side_by_side(first: Results, second: Results, label_a: str, label_b: str
                         ) -> tuple[pd.DataFrame, list[str]] | None:
    """The error overlap (:mod:`~fer_bench.reporting.overlap`) of two runs of one dataset side
    by side: one row per pair of methods (in either run; the pair's names in the first run's
    order), columns ``kappa``/``double fault %`` of each run, labelled with ``label_a`` and
    ``label_b``; and each run's oracle lines. None when neither run has two complete methods."""
    overlaps = [overlap_mod.error_overlap(r) for r in (first, second)]
    if all(o is None for o in overlaps):
        return None
    values: dict[tuple[str, str], dict[str, str]] = {}
    order: list[tuple[str, str]] = []
    notes = []
    for overlap, label in zip(overlaps, (label_a, label_b)):
        if overlap is None:
            notes.append(f"`{label}`: fewer than two methods with a complete run")
            continue
        notes.extend(f"`{label}`: {line}" for line in overlap.oracle_lines())
        for row in overlap.pairs.itertuples(index=False):
            key = next((k for k in ((row.method_a, row.method_b), (row.method_b, row.method_a)) if k in values),
                       (row.method_a, row.method_b))
            if key not in values:
                order.append(key)
            values.setdefault(key, {})[f"kappa {label}"] = overlap_mod.number_text(row.kappa, 2)
            values[key][f"double fault % {label}"] = overlap_mod.number_text(row.double_fault, 1)
    value_columns = [f"{what} {label}" for what in ("kappa", "double fault %") for label in (label_a, label_b)]
    table = pd.DataFrame([{"method_a": a, "method_b": b, **{c: values[(a, b)].get(c, "") for c in value_columns}}
                          for a, b in order], columns=["method_a", "method_b", *value_columns])
    return table, notes


def _shown(compared: Compared, values: tuple) -> str:
    """Recorded option values in words, as :class:`~fer_bench.options.Compared` says."""
    if compared.show:
        return getattr(markdown, compared.show)(*values)
    (value,) = values
    return "each method's default" if value is None else str(value)


def setting_differences(image_level: Results, subject_independent: Results) -> list[str]:
    """What differs between the two runs of a leakage view besides the protocol, in words
    (empty when nothing does): the number of folds (each fold trains on (K−2)/K of the
    data, so fewer folds also means less training data), of runs, the face
    preprocessing and its rule for images with several faces, the seed, the model selection
    and the refit."""
    a, b = image_level.config, subject_independent.config
    differences = []
    for group in compared_options():  # the options declared with `compare`, in compare's order
        compared = group[0].compare
        values_a, values_b = tuple(a.get(o.record) for o in group), tuple(b.get(o.record) for o in group)
        if compared.none_is_unused and None in values_a + values_b:
            continue  # None: that run did not apply the option (e.g. detected no face; its face line says so)
        if values_a != values_b:
            differences.append(f"{compared.words} {_shown(compared, values_a)} against {_shown(compared, values_b)}")
    return differences




# -- command line ---------------------------------------------------------------------------
def _cmd_compare(args) -> int:
    comparison = compare_results(args.dirs)
    for name, caveats in comparison.leakage_caveats.items():
        print(f"warning: leakage view of {name}: not only the protocol differs ({'; '.join(caveats)})",
              file=sys.stderr)
    text = comparison.to_markdown()
    print(text, end="")
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() not in (".csv", ".md"):
            raise FerBenchError(f"--out {out}: use a .md or .csv file name")
        writable_directory(out.parent, "--out")  # names the folder; a read-only one is refused before writing
        if out.suffix.lower() == ".csv":
            table = comparison.table
            for name, leak in comparison.leakage.items():
                gap = leak.set_index("method")["gap"].rename(f"gap {name}")
                table = table.join(gap, on="method")
            write_atomic(out, table.to_csv(index=False, lineterminator="\n", float_format="%.2f"))
        elif out.suffix.lower() == ".md":
            write_atomic(out, text)
        else:
            raise FerBenchError(f"--out {out}: use a .md or .csv file name")
        print(f"\nwritten to {out}")
    return 0


def add_cli(subparsers) -> None:
    """Add ``fer-bench compare``."""
    compare_p = subparsers.add_parser(
        "compare",
        help="several results directories side by side (with the leakage view)",
        description=(
            "Print the OA of several results directories side by side as Markdown; when one dataset was "
            "run under both protocols, add the image-level vs subject-independent gap per method. "
            "A directory without its results.sqlite (e.g. committed results) is read from its exported tables."
        ),
    )
    compare_p.add_argument("dirs", nargs="+", type=user_path, help="results directories")
    compare_p.add_argument("--out", type=user_path, default=None, help="also write the comparison to FILE.md or FILE.csv")
    compare_p.set_defaults(func=_cmd_compare)
