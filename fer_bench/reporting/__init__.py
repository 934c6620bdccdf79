"""Reporting: everything that turns :class:`~fer_bench.results.Results` into tables and files.

Downstream of the engine and of a read-only :class:`~fer_bench.results.Results`; nothing here
imports a method plugin or writes to a store.

- :mod:`~fer_bench.reporting.markdown`: Markdown tables and the lines that describe every result
  (protocol, refit, chance level, synthetic data);
- :mod:`~fer_bench.reporting.tables`: the paper's Tables 1-3, the fold table, the leaderboard,
  ``run.json`` and the exported data;
- :mod:`~fer_bench.reporting.stats`: corrected resampled t-tests and intervals (Nadeau & Bengio
  2003), ``pairwise_tests``;
- :mod:`~fer_bench.reporting.plots`: the paper's Figures 10-12 and confusion matrices;
- :mod:`~fer_bench.reporting.html`: the self-contained ``report.html``;
- :mod:`~fer_bench.reporting.compare`: several directories side by side and the leakage view;
- :mod:`~fer_bench.reporting.ranking`: rankings over datasets (Friedman, Nemenyi, critical-difference
  diagram; Bayesian correlated t-test per pair), ``fer-bench rank``.

>>> from fer_bench.reporting import table2, table3   # doctest: +SKIP
>>> table3(fer_bench.load_results("fer-bench-results/jaffe-subject"))   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from ..results import Results
from .compare import compare_results, leakage_table
from .html import write_html
from .plots import write_plots
from .stats import pairwise_tests, write_statistics
from .tables import ablation_table, fold_table, leaderboard, selection_table, table1, table2, table3, write_tables

__all__ = [
    "ablation_table",
    "compare_results",
    "fold_table",
    "leaderboard",
    "leakage_table",
    "pairwise_tests",
    "selection_table",
    "table1",
    "table2",
    "table3",
    "write_report",
]


def write_report(results: Results, out: str | Path | None = None, figures: bool = True,
                 images: bool = True) -> list[Path]:
    """Write every table and the statistics of ``results`` into ``out`` (default: its own
    directory), then, with ``figures``, the plots and ``report.html`` (``images=False``: without
    the dataset's own images, :func:`~fer_bench.reporting.html.render_html`). The engine rewrites
    the tables after every method and draws the figures once at the end, since plots cost
    seconds and tables milliseconds. Returns the paths written."""
    out = Path(out) if out is not None else results.out
    out.mkdir(parents=True, exist_ok=True)
    written = write_tables(results, out)
    written.extend(write_statistics(results, out))
    if not figures:
        return written
    written.extend(write_plots(results, out))
    written.extend(write_html(results, out, images))  # last: it embeds the plots' PNG files
    return written
