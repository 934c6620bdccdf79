"""The paper's tables from :class:`~fer_bench.results.Results`, and the files that hold them.

Tables (pandas DataFrames, :func:`table1`, :func:`table2`, :func:`table3`, :func:`fold_table`)
and files (all rewritten from the results by ``fer-bench report DIR``):

- ``table1_<method>.csv|md``: per-class sensitivity per run with a Mean ± SD row (the
  paper's Table 1);
- ``table2.csv|md``: OA per run, one column per method, Mean ± SD row (Table 2);
- ``table3.csv|md``: one row per method, in rank order, with the published OA, a 95 %
  interval and the p-value against the best (Table 3);
- ``ablation.csv`` (only when the run has variants of a method, e.g. ``swe-bbo`` and
  ``swe-bbo:classifier=svm``): each published method beside its variants, with the paired
  difference and test (:func:`ablation_table`);
- ``error_overlap.csv|md`` (only with at least two complete methods): per pair of methods,
  the kappa of their correctness and their double fault, and the oracle accuracies
  (:mod:`~fer_bench.reporting.overlap`);
- ``hardest_images.csv|md`` (with a complete run): per test image, how many method × run
  predictions got it wrong and what they predicted instead, and the images (almost) every method
  gets wrong; ``hardest_subjects.csv`` the same per person under the subject protocols
  (:mod:`~fer_bench.reporting.hardest`);
- ``selection.csv``: how each method's validation-group choices went (how often each
  candidate won, how many tied: how flat the choice was);
- ``fold_accuracy.csv`` (per-fold accuracies and part sizes), ``split_sizes.csv`` (every
  fold's training / validation / test sizes), ``predictions.csv.gz``: the data, so a
  directory can be re-read without its store;
- ``leaderboard.md``: the methods ranked, with everything a reader needs to judge them;
- ``run.json``: configuration, environment, dataset, methods' parameters and records.

Every table carries its protocol (a ``protocol`` column, and a heading in Markdown that
also says whether the final models were refit on training + validation, the chance level,
and whether the data are synthetic), because numbers from different protocols are not
comparable. Nothing written here depends on timings or the clock, so the same results
give byte-identical files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..errors import FerBenchError
from ..files import write_atomic
from ..metrics import format_mean_sd, mean_sd
from ..params import format_value
from ..results import RECORD_FILE, Results, export_frames
from .hardest import write_hardest_tables
from .markdown import PAPER_OA_NOTE, heading, markdown_table, runs_by_folds, safe_name
from .overlap import ErrorOverlap, error_overlap, write_overlap_tables
from .stats import (
    ALPHA,
    CORRECTION_NOTE,
    HOLDOUT_NOTE,
    _is_holdout,
    compare_methods,
    format_p,
    significance_columns,
    stats_note,
)


def _fmt(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


# -- the paper's tables ---------------------------------------------------------------------
def table1(results: Results, method: str) -> pd.DataFrame:
    """Per-class sensitivity (%) of ``method`` per complete run, with the paper's Mean ± SD row
    (Li 2021, Table 1; eq. 7)."""
    metrics = results.run_metrics(method)
    classes = results.classes
    body = metrics[classes].map(_fmt)
    body.index = [str(i) for i in body.index]
    summary = {c: format_mean_sd(*mean_sd(metrics[c])) for c in classes}
    table = pd.concat([body, pd.DataFrame([summary], index=["Mean ± SD"])])
    table.index.name = "run"
    table["protocol"] = results.protocol_short
    return table


def table2(results: Results) -> pd.DataFrame:
    """Overall accuracy (%) per run, one column per method, with a Mean ± SD row
    (Li 2021, Table 2; eq. 8)."""
    columns = {}
    for method in results.methods:
        oa = results.run_metrics(method)["oa"]
        if len(oa):
            columns[method] = oa
    runs = sorted({r for col in columns.values() for r in col.index})
    body = pd.DataFrame({m: col.reindex(runs).map(_fmt) for m, col in columns.items()}, index=runs)
    body.index = [str(r) for r in runs]
    summary = {m: format_mean_sd(*mean_sd(col)) for m, col in columns.items()}
    table = pd.concat([body, pd.DataFrame([summary], index=["Mean ± SD"])])
    table.index.name = "run"
    table["protocol"] = results.protocol_short
    return table.fillna("")


def table3(results: Results) -> pd.DataFrame:
    """One row per method, in rank order: OA mean and SD over runs, the published value,
    and statistics (Li 2021, Table 3, plus :mod:`fer_bench.reporting.stats`).

    Ranked methods are those with every run complete, best mean OA first; methods still
    incomplete follow, marked ``incomplete`` and compared only on the folds they share
    with the best. After the paper's columns: ``ci95_low``/``ci95_high`` (corrected-variance
    95 % interval of the OA, clipped to [0, 100]), ``ci95_note`` (why an interval is
    uninformative), ``p_vs_best`` (two-sided corrected resampled t-test against the best
    ranked method on their common folds) and ``significance`` (``best``, ``*`` for p < 0.05,
    ``n.s.``, ``incomplete``).
    """
    rows = []
    for method in results.methods:
        mean, sd, n_runs = results.oa_summary(method)
        if n_runs == 0:
            continue
        record = results.method_records.get(method, {})
        paper = ""
        if record.get("paper_oa") and method == record.get("name", method):
            paper = format_mean_sd(*record["paper_oa"])
        rows.append(
            {
                "method": method,
                "oa_mean": round(mean, 2),
                "oa_sd": round(sd, 2) if not math.isnan(sd) else float("nan"),
                "runs": n_runs,
                "folds": results.n_folds,
                "protocol": results.protocol_short,
                "paper_oa": paper,
            }
        )
    base = ["method", "oa_mean", "oa_sd", "runs", "folds", "protocol", "paper_oa"]
    stats_columns = ["ci95_low", "ci95_high", "ci95_note", "p_vs_best", "significance"]
    table = pd.DataFrame(rows, columns=base)
    table = table.join(significance_columns(results), on="method")
    table["ci95_low"] = table["ci95_low"].astype(float).round(2)
    table["ci95_high"] = table["ci95_high"].astype(float).round(2)
    table["ci95_note"] = table["ci95_note"].fillna("").astype(str)
    table["p_vs_best"] = table["p_vs_best"].astype(float)
    table["significance"] = table["significance"].fillna("").astype(str)
    complete = table["method"].map(results.is_complete)
    table = table.assign(_complete=complete).sort_values(
        ["_complete", "oa_mean", "method"], ascending=[False, False, True], kind="stable"
    )
    return table[[*base, *stats_columns]].reset_index(drop=True)


def fold_table(results: Results) -> pd.DataFrame:
    """Every fold's training / validation / test sizes (run and fold 1-based), so a broken
    split is visible at a glance."""
    frame = results.split_sizes.copy()
    frame[["run", "fold"]] += 1
    return frame


def selection_table(results: Results) -> pd.DataFrame:
    """How each method's validation-group choices went, over its finished folds.

    Columns: ``method``; ``folds`` with a recorded choice; ``candidates`` tried per fold;
    ``most_chosen`` (the candidate chosen most often) and ``share`` (% of folds);
    ``distinct`` choices; ``tied_at_best`` (mean number of candidates sharing the best
    validation accuracy: 1 means a clear choice, many means a flat one decided by the tie
    rule); ``val_best``/``val_spread`` (mean best validation accuracy, and mean best minus
    worst, percentage points). Methods that choose nothing are left out.
    """
    rows = []
    for method in results.methods:
        infos = [i for i in results.folds.loc[results.folds["method"] == method, "info"] if i.get("validation_scores")]
        if not infos:
            continue
        chosen = [json.dumps(i.get("chosen"), sort_keys=True) for i in infos]
        counts = pd.Series(chosen).value_counts()
        scores = [[s for _, s in i["validation_scores"]] for i in infos]
        rows.append({
            "method": method,
            "folds": len(infos),
            "candidates": round(sum(len(s) for s in scores) / len(scores), 1),
            "most_chosen": counts.index[0],
            "share": round(100.0 * counts.iloc[0] / len(infos), 1),
            "distinct": int(len(counts)),
            "tied_at_best": round(sum(sum(v == max(s) for v in s) for s in scores) / len(scores), 2),
            "val_best": round(sum(max(s) for s in scores) / len(scores), 2),
            "val_spread": round(sum(max(s) - min(s) for s in scores) / len(scores), 2),
        })
    columns = ["method", "folds", "candidates", "most_chosen", "share", "distinct", "tied_at_best", "val_best",
               "val_spread"]
    return pd.DataFrame(rows, columns=columns)


# -- the ablation view -----------------------------------------------------------------------
#: Columns of :func:`ablation_table`.
ABLATION_COLUMNS = ["base", "method", "features", "classifier", "changes", "oa", "runs", "difference", "p_value",
                    "significance", "reading", "input", "protocol"]


def _changes(record: dict) -> dict[str, dict] | None:
    """``{"features": {...}, "fit": {...}}``: what a label changes from its method's defaults, as
    recorded at run time (None for results written before the record held it)."""
    changed = record.get("changed")
    return changed if isinstance(changed, dict) else None


def _input_text(record: dict) -> str:
    spec = record.get("input") or {}
    size = spec.get("size")
    parts = ["×".join(str(v) for v in size) if size else "", spec.get("color", ""),
             f"face {spec['face']}" if spec.get("face") else ""]
    return ", ".join(p for p in parts if p)


def ablation_groups(results: Results) -> list[tuple[str, str, list[str]]]:
    """``[(base method, reference label, [variant labels])]`` for every method of ``results``
    run in at least two forms (the same method with other parameters: ``swe-bbo`` and
    ``swe-bbo:classifier=svm``), in run order.

    A label belongs to the method named before its ``:``. The reference is the form that
    changes the fewest parameters from the method's defaults (recorded at run time): the
    published form when it was run; ties go to the bare name, then to the first in run
    order. Labels without a complete run are left out.
    """
    groups: dict[str, list[str]] = {}
    for label in results.methods:
        if not results.complete_runs(label):
            continue
        base = results.method_records.get(label, {}).get("name") or label.split(":", 1)[0]
        groups.setdefault(base, []).append(label)
    found = []
    for base, labels in groups.items():
        if len(labels) < 2:
            continue
        reference = min(labels, key=lambda lb, base=base, labels=labels: (
            len(_own_changes(results, lb, base)), lb != base, labels.index(lb)))
        found.append((base, reference, [lb for lb in labels if lb != reference]))
    return found


def _own_changes(results: Results, label: str, base: str) -> dict:
    """The parameters ``label`` sets away from its method's defaults (name → value)."""
    changed = _changes(results.method_records.get(label, {}))
    if changed is None:  # results recorded before the record held it: only the bare name is known
        return {} if label == base else {"?": label}
    return {**changed.get("features", {}), **changed.get("fit", {})}


def _variant_changes(results: Results, reference: str, variant: str) -> tuple[dict, set[str]]:
    """The parameters ``variant`` sets differently from ``reference`` (name → value), and
    which of them change the features (role ``features``)."""
    a, b = results.method_params.get(reference, {}), results.method_params.get(variant, {})
    changes = {k: v for k, v in sorted(b.items()) if a.get(k) != v}
    records = [_changes(results.method_records.get(lb, {})) for lb in (reference, variant)]
    if all(r is not None for r in records):  # keep what the records call features or fit (not runtime)
        known = {k for r in records for role in ("features", "fit") for k in r.get(role, {})}
        changes = {k: v for k, v in changes.items() if k in known}
        return changes, {k for r in records for k in r.get("features", {}) if k in changes}
    return changes, set()


def _reading(base: str, reference: str, classifier: str, changes: dict, feature_keys: set[str],
             difference: float, p: float) -> str:
    """One line: what the paired test says about the variant (see :func:`ablation_table`)."""
    if math.isnan(p):
        return "not testable: fewer than two paired folds"
    shown = f"{difference:+.2f} points, p = {format_p(p)}"
    significant = p < ALPHA
    if "classifier" in changes and not feature_keys:
        if not significant:
            return f"not significant ({shown}): no evidence that the classifier limits {base}"
        if difference > 0:
            return (f"{classifier} beats {reference} on the same features ({shown}): "
                    f"the classifier, not the features, limits {base}")
        return (f"{classifier} is worse than {reference} on the same features "
                f"({shown}): {reference} suits {base}'s features better")
    what = ", ".join(f"{k}={format_value(v)}" for k, v in changes.items()) or "this variant"
    if not significant:
        return f"not significant ({shown}): no evidence that {what} changes {base}'s accuracy"
    return f"{what} {'raises' if difference > 0 else 'lowers'} {base}'s accuracy ({shown}), significant"


def ablation_table(results: Results) -> pd.DataFrame:
    """Each published method beside its variants run on the same splits: the ablation view.

    One block per base method run both in its published form and with other parameters
    (:func:`ablation_groups`): the published form's row first, then each variant's, in run
    order. Columns: ``base``; ``method`` (the label); ``features`` (recorded
    ``feature_description`` of the method, or its description, plus any feature parameter
    the variant changes); ``classifier`` (the ``classifier`` parameter, if the method has
    one; ``(published)`` on the published form); ``changes`` (the parameters the variant
    sets differently, ``k=v``); ``oa`` (OA mean ± SD over complete runs, %, Li 2021 eq. 8);
    ``runs``; ``difference`` (mean per-fold OA of the variant minus the published form,
    percentage points, on their common folds); ``p_value`` and ``significance`` (``*`` for
    p < :data:`~fer_bench.reporting.stats.ALPHA`, ``n.s.``) of the paired test
    :func:`~fer_bench.reporting.stats.compare_methods` (corrected resampled t-test,
    Nadeau & Bengio 2003; McNemar's test for a holdout split); ``reading`` (one line; "the
    classifier, not the features, limits X" only when a variant that changes the classifier
    and no feature parameter is significantly better); ``input`` (the preprocessing the
    method was given: size, colour, face); ``protocol``. Empty (with these columns) when no
    method has a variant.
    """
    rows = []
    for base, published, variants in ablation_groups(results):
        p_record = results.method_records.get(published, {})
        p_params = results.method_params.get(published, {})
        p_classifier = str(p_params.get("classifier", ""))
        own = _own_changes(results, published, base)
        features = p_record.get("features") or p_record.get("description", "")
        mean, sd, n_runs = results.oa_summary(published)
        rows.append({"base": base, "method": published, "features": features,
                     "classifier": f"{p_classifier} (published)" if p_classifier and "classifier" not in own
                     else p_classifier,
                     "changes": ", ".join(f"{k}={format_value(v)}" for k, v in sorted(own.items())),
                     "oa": format_mean_sd(mean, sd), "runs": n_runs, "difference": float("nan"),
                     "p_value": float("nan"), "significance": "",
                     "reading": "published form" if not own else "reference (the published form was not run): "
                                "the variants below are compared with it",
                     "input": _input_text(p_record), "protocol": results.protocol_short})
        for variant in variants:
            record = results.method_records.get(variant, {})
            changes, feature_keys = _variant_changes(results, published, variant)
            classifier = str(results.method_params.get(variant, {}).get("classifier", ""))
            own = record.get("features") or record.get("description", "") or features
            if feature_keys:
                own += " (" + ", ".join(f"{k}={format_value(changes[k])}" for k in sorted(feature_keys)) + ")"
            mean, sd, n_runs = results.oa_summary(variant)
            try:
                test = compare_methods(results, variant, published)
                difference, p = test.mean_difference, test.p_value
                reference = f"the {'published' if 'classifier' not in own else 'reference'} {p_classifier}"
                reading = _reading(base, reference, classifier, changes, feature_keys, difference, p)
            except FerBenchError:
                difference, p, reading = float("nan"), float("nan"), "no complete run in common with the published form"
            rows.append({"base": base, "method": variant, "features": own, "classifier": classifier,
                         "changes": ", ".join(f"{k}={format_value(v)}" for k, v in changes.items()),
                         "oa": format_mean_sd(mean, sd), "runs": n_runs, "difference": round(difference, 2),
                         "p_value": p, "significance": "" if math.isnan(p) else ("*" if p < ALPHA else "n.s."),
                         "reading": reading, "input": _input_text(record), "protocol": results.protocol_short})
    return pd.DataFrame(rows, columns=ABLATION_COLUMNS)


def ablation_section(results: Results, table: pd.DataFrame | None = None) -> str:
    """The leaderboard's "## Ablation: features vs classifier" section (empty without variants)."""
    table = ablation_table(results) if table is None else table
    if table.empty:
        return ""
    shown = table.drop(columns="base").assign(p_value=table["p_value"].map(format_p))
    return (
        "\n## Ablation: features vs classifier\n\n"
        f"Each published method beside its variants on the same splits ({results.protocol_title}, "
        f"{runs_by_folds(results.n_runs, results.n_folds)}; preprocessing per row in `input`). difference = OA(variant) "
        "− OA(published form) over the paired folds, percentage points; significance: `*` p < 0.05, `n.s.`.\n\n"
        + markdown_table(shown, index=False)
        + "\n" + (HOLDOUT_NOTE if _is_holdout(results) else CORRECTION_NOTE) + "\n"
    )


def overlap_section(results: Results, overlap: ErrorOverlap | None | str = "compute") -> str:
    """The leaderboard's "## Error overlap" lines: the oracle accuracies, pointing to
    ``error_overlap.md`` for the matrices (empty with fewer than two complete methods).
    ``overlap``: :func:`~fer_bench.reporting.overlap.error_overlap` of ``results`` when already computed."""
    overlap = error_overlap(results) if isinstance(overlap, str) else overlap
    if overlap is None:
        return ""
    return ("\n## Error overlap\n\n"
            + "".join(f"- {line}\n" for line in overlap.oracle_lines())
            + "\nKappa of correctness and double fault per pair: `error_overlap.md`, `error_overlap.csv`, "
              "`error_overlap.png`.\n")


# -- files ----------------------------------------------------------------------------------
def write_tables(results: Results, out: Path) -> list[Path]:
    """Write Tables 1-3, the fold data, the leaderboard and ``run.json`` into ``out``."""
    written = []
    for method in results.methods:
        if not results.complete_runs(method):
            continue
        table = table1(results, method)
        stem = f"table1_{safe_name(method)}"
        written.append(write_atomic(out / f"{stem}.csv", table.to_csv(lineterminator="\n")))
        written.append(
            write_atomic(
                out / f"{stem}.md",
                heading(results, f"Table 1 — per-class sensitivity (%) of {method} per run")
                + markdown_table(table.drop(columns="protocol")),
            )
        )
    t2 = table2(results)
    written.append(write_atomic(out / "table2.csv", t2.to_csv(lineterminator="\n")))
    written.append(
        write_atomic(out / "table2.md", heading(results, "Table 2 — overall accuracy (%) per run")
                     + markdown_table(t2.drop(columns="protocol")))
    )
    t3 = display_table3(table3(results))
    written.append(write_atomic(out / "table3.csv", t3.to_csv(index=False, lineterminator="\n", float_format="%.2f")))
    written.append(
        write_atomic(
            out / "table3.md",
            heading(results, "Table 3 — comparison") + markdown_table(t3, index=False) + "\n" + stats_note(results)
            + "\n" + PAPER_OA_NOTE + "\n",
        )
    )
    ablation = ablation_table(results)
    if len(ablation):
        written.append(write_atomic(out / "ablation.csv", ablation.to_csv(index=False, lineterminator="\n",
                                                                          float_format="%.4g")))
    elif (out / "ablation.csv").exists():  # written by an older version of these results' report
        (out / "ablation.csv").unlink()
    overlap = error_overlap(results)  # once for its tables and the leaderboard
    written.extend(write_overlap_tables(results, out, overlap))
    written.extend(write_hardest_tables(results, out))
    written.append(write_atomic(out / "selection.csv", selection_table(results).to_csv(
        index=False, lineterminator="\n")))
    written.append(write_atomic(out / "fold_accuracy.csv", results.fold_accuracy().to_csv(
        index=False, lineterminator="\n", float_format="%.4f")))
    for name, data in export_frames(results).items():
        written.append(write_atomic(out / name, data))
    written.append(write_atomic(out / "leaderboard.md", leaderboard(results, overlap)))
    written.append(write_atomic(out / RECORD_FILE, json.dumps(run_record(results), indent=2, sort_keys=True,
                                                             default=str) + "\n"))
    return written


def display_table3(t3: pd.DataFrame) -> pd.DataFrame:
    """Table 3 with p-values written to 4 decimals (the other floats keep 2)."""
    shown = t3.copy()
    if "p_vs_best" in shown:
        shown["p_vs_best"] = shown["p_vs_best"].map(format_p)
    return shown


def scale_notes(results: Results) -> list[str]:
    """One line per method whose folds recorded a large-set form in ``fit_info["at_scale"]``
    (:class:`fer_bench_baselines.selection.LargeSetSVC`): the form, in how many of the
    method's folds, and the range of training-group sizes against ``large_n``."""
    lines = []
    for method in results.methods:
        infos = list(results.folds.loc[results.folds["method"] == method, "info"])
        scaled = [i["at_scale"] for i in infos if isinstance(i, dict) and isinstance(i.get("at_scale"), dict)]
        if not scaled:
            continue
        for form in sorted({s["form"] for s in scaled}):
            sizes = [s["n_train"] for s in scaled if s["form"] == form]
            large_n = sorted({s["large_n"] for s in scaled if s["form"] == form})
            n_text = str(min(sizes)) if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)}"
            lines.append(f"`{method}`: classifier at scale: {form}, n_train={n_text} > large_n="
                         f"{'/'.join(map(str, large_n))}, in {len(sizes)} of {len(infos)} folds")
    return lines


def leaderboard(results: Results, overlap: ErrorOverlap | None | str = "compute") -> str:
    """The methods ranked by mean OA, with the protocol, statistics, the error overlap's oracle
    lines (``overlap``: already computed, else computed here) and what was skipped."""
    t3 = display_table3(table3(results))
    text = heading(results, f"fer-bench leaderboard — {results.dataset.get('name', '')} ({results.protocol_short})")
    if results.protocol == "paper":
        text += (
            "> Image-level protocol: the same person can be in training and test groups, so these numbers "
            "overstate accuracy on unseen people. Compare with `--protocol subject`.\n\n"
        )
    ranked = t3[t3["significance"] != "incomplete"].reset_index(drop=True)
    ranked.index = ranked.index + 1
    ranked.index.name = "rank"
    text += markdown_table(ranked)
    unranked = t3[t3["significance"] == "incomplete"]
    if len(unranked):
        text += (
            "\nIncomplete methods (not ranked: OA over their finished runs only; p-values on the folds they share "
            "with the best; re-run the same command to finish):\n\n"
        )
        text += markdown_table(unranked, index=False)
    text += "\n" + stats_note(results) + "\n" + PAPER_OA_NOTE + "\n"
    text += ablation_section(results)
    text += overlap_section(results, overlap)
    for warning in results.split_warnings:
        text += f"\n**Split warning:** {warning}\n"
    if results.duplicates:
        text += (
            f"\n**Warning:** {len(results.duplicates)} groups of identical images (same bytes or same decoded "
            "pixels); copies can fall in training and test groups and inflate accuracy"
            + (f" ({duplicate_span_text(results)})" if results.duplicates_spanning else "")
            + ":\n\n"
        )
        text += "".join(f"- {', '.join(f'`{s}`' for s in group)}\n" for group in results.duplicates[:20])
        if len(results.duplicates) > 20:
            text += f"- … and {len(results.duplicates) - 20} more groups (see run.json)\n"
    notes = scale_notes(results)
    if notes:
        text += "\nAt scale (a large training group replaced the published classifier; see each method's docstring):\n\n"
        text += "".join(f"- {note}\n" for note in notes)
    if results.skipped:
        text += "\nSkipped methods (requirements not met here, or not sane at this dataset's size):\n\n"
        text += "".join(f"- `{m}`: {reason}\n" for m, reason in sorted(results.skipped.items()))
    if results.command:
        text += f"\nProduced by: `{results.command}`\n"
    return text


def duplicate_span_text(results: Results) -> str:
    """How many duplicate groups span more than one group of the split, per run."""
    spans = results.duplicates_spanning
    if len(set(spans)) == 1:
        return f"{spans[0]} of them span more than one group of the split in every run"
    return f"{min(spans)} to {max(spans)} of them span more than one group of the split, depending on the run"


def run_record(results: Results) -> dict:
    """Everything ``run.json`` holds (enough, with the exported CSVs, to re-read the results)."""
    return {
        "config": results.config,
        "dataset": results.dataset,
        "environment": results.environment,
        "methods": results.method_params,
        "method_order": results.methods,
        "method_records": results.method_records,
        "skipped": results.skipped,
        "duplicates": results.duplicates,
        "duplicates_spanning": results.duplicates_spanning,
        "split_warnings": results.split_warnings,
        "faces": results.faces,
        "command": results.command,
    }
