"""Writing a results directory's tables: CSV and Markdown, the leaderboard, run.json.

Files (all rewritten from the store by ``fer-bench report DIR``):

- ``table1_<method>.csv|md``: per-class sensitivity per run with a Mean ± SD row
  (the paper's Table 1);
- ``table2.csv|md``: OA per run, one column per method, Mean ± SD row (Table 2);
- ``table3.csv|md``: one row per method with the published OA (Table 3);
- ``fold_accuracy.csv``: tidy per-fold accuracies (for statistics);
- ``leaderboard.md``: the methods ranked, with the protocol spelled out;
- ``run.json``: configuration, environment, dataset fingerprint, methods' parameters;
- ``pairwise_tests.csv|md``: corrected resampled t-tests between every pair of methods
  (:mod:`fer_bench.stats`);
- ``fig10_sensitivity_<method>``, ``fig11_oa_per_run``, ``fig12_oa_comparison``,
  ``confusion_<method>`` (``.png`` and ``.svg``, :mod:`fer_bench.plots`);
- ``report.html``: everything above on one self-contained page (:mod:`fer_bench.html_report`).

Every table carries its protocol (a ``protocol`` column, and a heading line in
Markdown), because image-level and subject-independent numbers are not comparable.
Nothing written here depends on timings or the clock, so the same command run twice
writes byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .files import write_atomic

#: Extra writers called after the tables, statistics, plots and HTML: f(results, out) -> paths.
EXTRA_WRITERS: list[Callable] = []


def safe_name(label: str) -> str:
    """A method label as a portable file-name part (``swe-bbo:level=3`` → ``swe-bbo_level-3``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label.replace("=", "-")).strip("_")


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    frame = frame.reset_index() if index else frame
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        cells = ["" if (isinstance(v, float) and math.isnan(v)) else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _heading(results, title: str) -> str:
    ds = results.dataset
    return (
        f"# {title}\n\n"
        f"- Dataset: `{ds.get('spec', ds.get('name', '?'))}` ({ds.get('images', '?')} images, "
        f"fingerprint `{str(ds.get('fingerprint', ''))[:16]}`)\n"
        f"- Protocol: **{results.protocol_title}**, {results.n_folds} folds × {results.n_runs} runs, "
        f"seed {results.config.get('seed')}\n\n"
    )




def write_tables(results, out: Path) -> list[Path]:
    written = []
    for method in results.methods:
        if not results.complete_runs(method):
            continue
        table = results.table1(method)
        stem = f"table1_{safe_name(method)}"
        written.append(write_atomic(out / f"{stem}.csv", table.to_csv(lineterminator="\n")))
        written.append(
            write_atomic(
                out / f"{stem}.md",
                _heading(results, f"Table 1 — per-class sensitivity (%) of {method} per run")
                + markdown_table(table.drop(columns="protocol")),
            )
        )
    table2 = results.table2()
    written.append(write_atomic(out / "table2.csv", table2.to_csv(lineterminator="\n")))
    written.append(
        write_atomic(out / "table2.md", _heading(results, "Table 2 — overall accuracy (%) per run") + markdown_table(table2.drop(columns="protocol")))
    )
    table3 = _display_table3(results.table3())
    written.append(write_atomic(out / "table3.csv", table3.to_csv(index=False, lineterminator="\n", float_format="%.2f")))
    written.append(
        write_atomic(
            out / "table3.md",
            _heading(results, "Table 3 — comparison") + markdown_table(table3, index=False) + "\n" + _stats_note(),
        )
    )
    written.append(write_atomic(out / "fold_accuracy.csv", results.fold_accuracy().to_csv(index=False, lineterminator="\n", float_format="%.4f")))
    written.append(write_atomic(out / "leaderboard.md", leaderboard(results)))
    written.append(write_atomic(out / "run.json", json.dumps(run_record(results), indent=2, sort_keys=True, default=str) + "\n"))
    return written


def _display_table3(table3: pd.DataFrame) -> pd.DataFrame:
    """Table 3 with p-values written to 4 decimals (the other floats keep 2)."""
    from .stats import format_p

    shown = table3.copy()
    if "p_vs_best" in shown:
        shown["p_vs_best"] = shown["p_vs_best"].map(format_p)
    return shown


def _stats_note() -> str:
    from .stats import CORRECTION_NOTE

    return (
        "ci95_low/ci95_high: 95 % interval of the OA; p_vs_best: p-value against the best mean OA; "
        "significance: `best`, `*` (p < 0.05) or `n.s.`. " + CORRECTION_NOTE + "\n"
    )


def leaderboard(results) -> str:
    """The methods ranked by mean OA, with the protocol, statistics and what was skipped."""
    table3 = _display_table3(results.table3()).sort_values(["oa_mean", "method"], ascending=[False, True], kind="stable")
    text = _heading(results, f"fer-bench leaderboard — {results.dataset.get('name', '')} ({results.protocol_short})")
    if results.protocol == "paper":
        text += (
            "> Image-level protocol: the same person can be in training and test groups, so these numbers "
            "overstate accuracy on unseen people. Compare with `--protocol subject`.\n\n"
        )
    table3 = table3.reset_index(drop=True)
    table3.index = table3.index + 1
    table3.index.name = "rank"
    text += markdown_table(table3)
    text += "\n" + _stats_note()
    if results.duplicates:
        text += (
            f"\n**Warning:** {len(results.duplicates)} groups of identical images (same bytes or same decoded "
            "pixels); copies can fall in training and test groups and inflate accuracy:\n\n"
        )
        text += "".join(f"- {', '.join(f'`{s}`' for s in group)}\n" for group in results.duplicates[:20])
        if len(results.duplicates) > 20:
            text += f"- … and {len(results.duplicates) - 20} more groups (see run.json)\n"
    if results.skipped:
        text += "\nSkipped methods (requirements not met here):\n\n"
        text += "".join(f"- `{m}`: {reason}\n" for m, reason in sorted(results.skipped.items()))
    incomplete = [m for m in results.methods if len(results.complete_runs(m)) < results.n_runs]
    if incomplete:
        text += "\nIncomplete (re-run the same command to finish): " + ", ".join(f"`{m}`" for m in incomplete) + "\n"
    if results.command:
        text += f"\nProduced by: `{results.command}`\n"
    return text


def run_record(results) -> dict:
    return {
        "config": results.config,
        "dataset": results.dataset,
        "environment": results.environment,
        "methods": results.method_params,
        "skipped": results.skipped,
        "duplicates": results.duplicates,
        "command": results.command,
    }


def write_report(results, out: Path, figures: bool = True) -> list[Path]:
    """Write every table and the statistics, then (``figures``) the plots, report.html
    and the extra writers. The engine rewrites the tables after every method and draws
    the figures once at the end, since plots cost seconds and tables milliseconds."""
    from .html_report import write_html
    from .plots import write_plots
    from .stats import write_statistics

    out.mkdir(parents=True, exist_ok=True)
    written = write_tables(results, out)
    written.extend(write_statistics(results, out))
    if not figures:
        return written
    written.extend(write_plots(results, out))
    written.extend(write_html(results, out))  # last: it embeds the plots' PNG files
    for writer in EXTRA_WRITERS:
        written.extend(writer(results, out) or [])
    return written
