"""The paper's figures from a results directory, as PNG and SVG (matplotlib, Agg).

- ``fig10_sensitivity_<method>``: per-class sensitivity in every run (Li 2021, Fig. 10);
- ``fig11_oa_per_run``: OA of every method in every run (Fig. 11);
- ``fig12_oa_comparison``: mean OA per method with SD error bars (Fig. 12);
- ``confusion_<method>``: confusion matrix summed over the complete runs, normalised
  by row (each row is the share of a true class given each predicted class);
- ``error_overlap`` (with at least two complete methods): the double-fault matrix of every
  pair of methods (:mod:`fer_bench.reporting.overlap`).

Every title names the dataset and the protocol (image-level vs subject-independent):
the two are not comparable. Figures are built on :class:`matplotlib.figure.Figure`
(no pyplot global state) and saved under fixed ``svg.hashsalt`` and without creation
dates, so rerunning a report writes byte-identical files.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..files import write_atomic
from .markdown import counted, runs_by_folds, safe_name

#: rcParams that make output independent of the machine's matplotlibrc and of the clock.
_RC = {
    "svg.hashsalt": "fer-bench",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "path.simplify": True,
}
#: Metadata with every date removed (PNG: no tIME chunk; SVG: no dc:date).
_METADATA = {"png": {"Software": "fer-bench (matplotlib)"}, "svg": {"Date": None, "Creator": "fer-bench (matplotlib)"}}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _subtitle(results) -> str:
    synthetic = " (synthetic faces)" if results.is_synthetic else ""
    from .markdown import face_short

    return (f"{results.dataset.get('name', '?')}{synthetic} — {results.protocol_short} protocol, "
            f"{runs_by_folds(results.n_runs, results.n_folds)}, {face_short(results)}")


def plot_class_sensitivity(results, method: str):
    """Per-class sensitivity (%) in every complete run of ``method`` (the paper's Figure 10)."""
    metrics = results.run_metrics(method)
    classes = results.classes
    fig = _figure(max(6.0, 0.9 * len(classes) + 2), 4.0)
    ax = fig.add_subplot()
    n_runs = len(metrics)
    width = 0.8 / max(n_runs, 1)
    x = np.arange(len(classes))
    cmap = _colours(n_runs)
    for i, (run, row) in enumerate(metrics.iterrows()):
        ax.bar(x - 0.4 + width * (i + 0.5), row[classes].to_numpy(dtype=float), width, label=f"run {run}", color=cmap[i])
    ax.set_xticks(x, classes, rotation=20)
    ax.set_ylabel("sensitivity (%)")
    ax.set_ylim(0, 118)  # headroom above 100 % for the legend
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(f"Per-class sensitivity of {method} per run\n{_subtitle(results)}")
    if n_runs <= 20:
        ax.legend(ncols=min(n_runs, 10), fontsize=7, loc="upper center", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_oa_per_run(results):
    """OA (%) of every method in every complete run (the paper's Figure 11)."""
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    methods = [m for m in results.methods if results.complete_runs(m)]
    colours = _colours(len(methods))
    for i, method in enumerate(methods):
        oa = results.run_metrics(method)["oa"]
        ax.plot(oa.index, oa.to_numpy(dtype=float), marker="o", label=method, color=colours[i])
    ax.set_xlabel("run")
    ax.set_ylabel("overall accuracy (%)")
    runs = max((len(results.complete_runs(m)) for m in methods), default=0)
    if runs:
        ax.set_xticks(range(1, results.n_runs + 1))
    ax.set_title(f"Overall accuracy per run\n{_subtitle(results)}")
    if methods:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig


def plot_oa_comparison(results):
    """Mean OA (%) per method with SD error bars, best first (the paper's Figure 12)."""
    from .stats import ranked_methods

    ranked = [m for m, _ in ranked_methods(results)]
    means, sds = [], []
    for method in ranked:
        mean, sd, _ = results.oa_summary(method)
        means.append(mean)
        sds.append(0.0 if np.isnan(sd) else sd)
    fig = _figure(max(5.0, 0.8 * len(ranked) + 2.5), 4.0)
    ax = fig.add_subplot()
    x = np.arange(len(ranked))
    ax.bar(x, means, yerr=sds, capsize=4, color=_colours(len(ranked)))
    # Chance level: what always guessing the largest class scores (uniform guessing when
    # classes are balanced), so a method near it is visibly near chance.
    chance = results.chance_levels()["majority"]
    ax.axhline(chance, color="#c00000", linestyle="--", linewidth=1)
    ax.text(len(ranked) - 0.5, chance + 1, f"chance {chance:.1f} %", ha="right", va="bottom", fontsize=8,
            color="#c00000")
    for xi, mean in zip(x, means):
        ax.text(xi, mean / 2, f"{mean:.1f}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(x, ranked, rotation=20, ha="right")
    ax.set_ylabel("overall accuracy (%), mean ± SD over runs")
    ax.set_ylim(0, 105)
    ax.set_title(f"Overall accuracy by method\n{_subtitle(results)}")
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_confusion(results, method: str):
    """Confusion matrix of ``method`` summed over its complete runs, normalised by row (%)."""
    cm = results.confusion_counts(method).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(cm.sum(axis=1, keepdims=True) > 0, 100.0 * cm / cm.sum(axis=1, keepdims=True), 0.0)
    classes = results.classes
    size = max(4.5, 0.6 * len(classes) + 2.5)
    fig = _figure(size, size * 0.9)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100, interpolation="nearest")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{share[i, j]:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 60 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    runs = len(results.complete_runs(method))
    ax.set_title(f"Confusion of {method} (% of true class, {counted(runs, 'run')} summed)\n{_subtitle(results)}")
    fig.colorbar(image, ax=ax, shrink=0.8, label="% of row")
    return fig


def plot_error_overlap(results, overlap=None):
    """Double-fault matrix (% of test images both methods got wrong, Giacinto & Roli 2001) of
    every pair of methods with a complete run, values annotated; the diagonal is each method's own
    error rate (:mod:`fer_bench.reporting.overlap`). ``overlap``: an
    :class:`~fer_bench.reporting.overlap.ErrorOverlap`, computed when not given."""
    from .overlap import error_overlap

    overlap = error_overlap(results) if overlap is None else overlap
    matrix = overlap.double_fault.to_numpy(dtype=float)
    methods = overlap.methods
    size = max(4.5, 0.55 * len(methods) + 3.0)
    fig = _figure(size + 1.0, size * 0.9)
    ax = fig.add_subplot()
    top = max(float(np.nanmax(matrix)) if np.isfinite(matrix).any() else 0.0, 1.0)
    image = ax.imshow(matrix, cmap="Reds", vmin=0, vmax=top, interpolation="nearest")
    for i in range(len(methods)):
        for j in range(len(methods)):
            value = matrix[i, j]
            ax.text(j, i, "" if np.isnan(value) else f"{value:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 * top else "black", fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right")
    ax.set_yticks(range(len(methods)), methods)
    ax.set_title(f"Double fault: % of test images both methods got wrong (diagonal: own error)\n{_subtitle(results)}")
    fig.colorbar(image, ax=ax, shrink=0.8, label="% of test images")
    return fig


#: Stem of the error-overlap heat map (embedded in its own section of report.html).
OVERLAP_FIGURE = "error_overlap"


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def figures(results) -> Iterator[tuple[str, str, Callable[[], object]]]:
    """Every figure of a results directory as ``(file stem, caption, make)``.

    ``make()`` builds the :class:`~matplotlib.figure.Figure`; building is deferred so
    that callers holding the file already (the HTML report) skip the drawing.
    """
    from functools import partial


    methods = [m for m in results.methods if results.complete_runs(m)]
    if not methods:
        return
    yield ("fig12_oa_comparison", "Overall accuracy by method (mean ± SD over runs; cf. the paper's Figure 12)",
           partial(plot_oa_comparison, results))
    yield "fig11_oa_per_run", "Overall accuracy per run (cf. the paper's Figure 11)", partial(plot_oa_per_run, results)
    for method in methods:
        stem = safe_name(method)
        yield (f"fig10_sensitivity_{stem}", f"Per-class sensitivity of {method} per run (cf. the paper's Figure 10)",
               partial(plot_class_sensitivity, results, method))
        yield (f"confusion_{stem}", f"Confusion matrix of {method}, summed over runs, normalised by row",
               partial(plot_confusion, results, method))
    if len(methods) >= 2:
        yield (OVERLAP_FIGURE, "Double fault of every pair of methods (% of test images both got wrong; diagonal: "
               "each method's own error rate), on their complete common runs", partial(plot_error_overlap, results))


def figure_bytes(fig, fmt: str) -> bytes:
    """``fig`` rendered as ``png`` or ``svg`` bytes, reproducibly."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format=fmt, metadata=_METADATA[fmt])
    return buffer.getvalue()


def write_plots(results, out: Path) -> list[Path]:
    """Write every figure as ``<stem>.png`` and ``<stem>.svg`` into ``out``; return the paths."""
    import matplotlib

    written = []
    stems = []
    with matplotlib.rc_context(_RC):
        for stem, _, make in figures(results):
            stems.append(stem)
            fig = make()
            for fmt in ("png", "svg"):
                path = Path(out) / f"{stem}.{fmt}"
                write_atomic(path, figure_bytes(fig, fmt))
                written.append(path)
    if OVERLAP_FIGURE not in stems:  # fewer than two complete methods: no heat map, none left from before
        for fmt in ("png", "svg"):
            (Path(out) / f"{OVERLAP_FIGURE}.{fmt}").unlink(missing_ok=True)
    return written
