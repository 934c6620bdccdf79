"""``report.html``: one self-contained page per results directory.

The page holds the protocol, the dataset and its fingerprint, the configuration, the
environment, Tables 1-3, the pairwise statistics and every figure of
:mod:`fer_bench.plots`, embedded as base64 PNG: it has no external resource (no
script, stylesheet, font or image fetched), so it can be mailed or archived as one
file. Nothing on it depends on the clock, so rewriting it gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import pandas as pd

from ..files import write_atomic

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f3f7; } td:first-child, th:first-child { text-align: left; }
.protocol { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.6em 1em; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.9em; }
dl.kv dt { font-weight: 600; } dl.kv dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
code { background: #f4f4f4; padding: 0 0.2em; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 0.6em 0 1.2em; }
.gallery figure { margin: 0; width: 9em; font-size: 0.8em; }
.gallery figure img { display: block; width: 96px; height: auto; image-rendering: pixelated; }
.gallery figcaption { overflow-wrap: anywhere; }
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(frame: pd.DataFrame, index: bool = False, formats: dict | None = None) -> str:
    frame = frame.reset_index() if index else frame
    formats = formats or {}
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            if column in formats:
                text = formats[column](value)
            elif isinstance(value, float):
                text = "" if math.isnan(value) else f"{value:.2f}"
            else:
                text = str(value)
            cells.append(f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n"


def _md_inline(text: str) -> str:
    """Escape ``text`` and render its Markdown ``**bold**`` and `` `code` `` spans."""
    import re

    escaped = _esc(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _kv(mapping: dict) -> str:
    items = []
    for key in sorted(mapping):
        value = mapping[key]
        text = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else value
        items.append(f"<dt>{_esc(key)}</dt><dd>{_esc(text)}</dd>")
    return f"<dl class=\"kv\">{''.join(items)}</dl>\n"


def embedded_png(png: bytes) -> str:
    """Base64 text of a figure's PNG re-encoded with a palette of 256 colours (Pillow's
    median-cut quantisation: deterministic, and a plot has few colours), about a third of the
    bytes of matplotlib's RGBA PNG, so a report of many methods stays a file one can mail
    and commit. The ``.png`` files beside the report keep every colour."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(256).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figures(results, out: Path, skip: tuple[str, ...] = ()) -> list[tuple[str, str, bytes]]:
    """(stem, caption, PNG bytes): the files written by write_plots, else rendered now; stems in
    ``skip`` are left out (not drawn)."""
    import matplotlib

    from .plots import _RC, figure_bytes, figures

    found = []
    with matplotlib.rc_context(_RC):
        for stem, caption, make in figures(results):
            if stem in skip:
                continue
            path = out / f"{stem}.png"
            found.append((stem, caption, path.read_bytes() if path.is_file() else figure_bytes(make(), "png")))
    return found


def render_html(results, out: Path | None = None, images: bool = True) -> str:
    """The report page of ``results`` as a string (figures read from ``out`` when present):
    its sections in order, each from one function below. ``images=False`` leaves the dataset's
    own images (the hardest images' thumbnails) out, for a report shared or committed where the
    dataset's licence forbids redistributing them."""
    out = Path(out) if out is not None else results.out
    parts = _header(results)
    parts += _comparison(results)
    parts += _ablation(results)
    parts += _error_overlap(results, out)
    parts += _hardest_images(results, images)
    parts += _per_run_tables(results)
    parts += _figure_section(results, out)
    parts += _details(results)
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def _header(results) -> list[str]:
    """Title, protocol lines, dataset and command."""
    from .markdown import describe

    ds = results.dataset
    name = ds.get("name", "?")
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<title>fer-bench report — {_esc(name)} ({_esc(results.protocol_short)})</title>\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<h1>fer-bench report — {_esc(name)}, {_esc(results.protocol_short)} protocol</h1>\n",
        "<ul class=\"protocol\">" + "".join(f"<li>{_md_inline(line)}</li>" for line in describe(results)) + "</ul>\n",
        "<p class=\"protocol\">",
    ]
    if results.protocol == "paper":
        parts.append(
            "The same person can be in training and test groups, so these numbers overstate accuracy on "
            "unseen people; compare with a <code>--protocol subject</code> run (<code>fer-bench compare</code>)."
        )
    parts.append("</p>\n")
    parts.append(
        f"<p>Dataset <code>{_esc(ds.get('spec', name))}</code>: {_esc(ds.get('images', '?'))} images, "
        f"{_esc(ds.get('subjects', '?'))} subjects, {len(results.classes)} classes; fingerprint "
        f"<code id=\"fingerprint\">{_esc(results.config.get('dataset_fingerprint', ds.get('fingerprint', '')))}</code>.</p>\n"
    )
    if results.command:
        parts.append(f"<p>Produced by: <code>{_esc(results.command)}</code></p>\n")
    return parts


def _comparison(results) -> list[str]:
    """Table 3 with its statistics notes, and the pairwise tests."""
    from .markdown import PAPER_OA_NOTE
    from .stats import format_p, pairwise_tests, stats_note
    from .tables import table3

    parts = ["<h2 id=\"table3\">Table 3 — comparison of methods</h2>\n",
             _table(table3(results), formats={"p_vs_best": format_p}),
             f"<p class=\"note\">{_esc(stats_note(results))}</p>\n<p class=\"note\">{_esc(PAPER_OA_NOTE)}</p>\n"]
    pairs = pairwise_tests(results)
    if len(pairs):
        parts.append("<h2 id=\"pairwise\">Pairwise corrected t-tests</h2>\n")
        parts.append(
            _table(
                pairs,
                formats={
                    "p_value": format_p,
                    "t": lambda v: "" if math.isnan(v) else f"{v:.3f}",
                    "n_test_over_n_train": lambda v: f"{v:.4f}",
                },
            )
        )
    return parts


def _ablation(results) -> list[str]:
    """Each published method beside its variants, when the run has variants."""
    from .markdown import runs_by_folds
    from .stats import CORRECTION_NOTE, HOLDOUT_NOTE, _is_holdout, format_p
    from .tables import ablation_table

    ablation = ablation_table(results)
    if not len(ablation):
        return []
    return [
        "<h2 id=\"ablation\">Ablation: features vs classifier</h2>\n",
        f"<p>Each published method beside its variants on the same splits ({_esc(results.protocol_title)}, "
        f"{runs_by_folds(results.n_runs, results.n_folds)}; preprocessing per row in <code>input</code>). "
        "difference = OA(variant) − OA(published form) over the paired folds, percentage points.</p>\n",
        _table(ablation.drop(columns="base"), formats={"p_value": format_p}),
        f"<p class=\"note\">{_esc(HOLDOUT_NOTE if _is_holdout(results) else CORRECTION_NOTE)}</p>\n",
    ]


def _error_overlap(results, out: Path) -> list[str]:
    """Kappa of correctness and double fault of every pair of methods, the oracle accuracies and
    the double-fault heat map (:mod:`fer_bench.reporting.overlap`); nothing with fewer than two
    complete methods."""
    import matplotlib

    from .overlap import MEANING, error_overlap, number_text
    from .plots import _RC, OVERLAP_FIGURE, figure_bytes, plot_error_overlap

    overlap = error_overlap(results)
    if overlap is None:
        return []
    path = out / f"{OVERLAP_FIGURE}.png"
    if path.is_file():
        png = path.read_bytes()
    else:
        with matplotlib.rc_context(_RC):
            png = figure_bytes(plot_error_overlap(results, overlap), "png")
    data = embedded_png(png)
    caption = "Double fault of every pair of methods (% of test images both got wrong; diagonal: own error rate)"
    fmt = {c: (lambda v: number_text(v, 2)) for c in overlap.kappa.columns}
    fmt_df = {c: (lambda v: number_text(v, 1)) for c in overlap.double_fault.columns}
    return [
        "<h2 id=\"error-overlap\">Error overlap — do the methods fail on the same images?</h2>\n",
        "<p>From the stored test predictions, per pair on the images both methods predicted in their complete "
        "common runs (counts in <code>error_overlap.csv</code>).</p>\n",
        "<ul>" + "".join(f"<li>{_md_inline(line)}</li>" for line in overlap.oracle_lines()) + "</ul>\n",
        f"<p>{_esc(MEANING)}</p>\n",
        "<h3>Agreement of correctness (Cohen's kappa; Kuncheva &amp; Whitaker 2003)</h3>\n",
        _table(overlap.kappa, index=True, formats=fmt),
        "<h3>Double fault (% of test images both got wrong; Giacinto &amp; Roli 2001)</h3>\n",
        _table(overlap.double_fault, index=True, formats=fmt_df),
        f"<figure id=\"{OVERLAP_FIGURE}\"><img alt=\"{_esc(caption)}\" src=\"data:image/png;base64,{data}\">"
        f"<figcaption>{_esc(caption)} — {_esc(results.protocol_short)} protocol.</figcaption></figure>\n",
    ]


def _hardest_images(results, images: bool = True) -> list[str]:
    """The images (almost) every method gets wrong (:mod:`fer_bench.reporting.hardest`): the
    first few as a gallery of thumbnails of the original files (names only where a file is no
    longer found), then the hardest people under a subject protocol (collapsed); nothing when
    fewer than two methods have a complete run (no image can be listed then)."""
    from .hardest import (
        CANDIDATE_TEXT,
        GALLERY_SIZE,
        HARD_METHODS,
        NO_PATHS_TEXT,
        THRESHOLD_TEXT,
        gallery,
        hardest,
        has_paths,
        image_errors,
        subject_errors,
    )

    errors = image_errors(results)
    if not len(errors) or int(errors["methods"].max()) < HARD_METHODS:  # nothing can be listed: no section
        return []
    parts = ["<h2 id=\"hardest-images\">Hardest images — what (almost) every method gets wrong</h2>\n",
             f"<p>{_esc(THRESHOLD_TEXT)} {_esc(CANDIDATE_TEXT)}</p>\n"]
    if not has_paths(results):
        parts.append(f"<p class=\"note\">{_esc(NO_PATHS_TEXT)}</p>\n")
    listed, shown = hardest(errors), gallery(results, errors)
    files = bool((results.dataset or {}).get("root"))  # generated datasets (synthetic) have none
    if not images:  # names only: the dataset's images stay out of this file
        shown = [{**item, "png": None} for item in shown]
    if not shown:
        parts.append(f"<p>No image meets the threshold ({len(errors)} test images; all of them with their counts in "
                     "<code>hardest_images.csv</code>).</p>\n")
    else:
        more = f"the first {GALLERY_SIZE} " if len(listed) > GALLERY_SIZE else ""
        parts.append(f"<p>{len(listed)} of {len(errors)} test images {'meets' if len(listed) == 1 else 'meet'} it; {more}shown below as the original "
                     "files (the face as the methods saw it, cropped or aligned, is not shown). All images with their "
                     "counts: <code>hardest_images.csv</code>.</p>\n<div class=\"gallery\">")
        for item in shown:
            row = item["row"]
            name = row.path or f"image #{row.idx}"
            text = (f"{name} — label {row.label}; wrong {row.wrong} of {row.predictions}; most often predicted "
                    f"{row.most_common_wrong} ({row.most_common_wrong_count})")
            image = (f"<img alt=\"{_esc(name)}\" src=\"data:image/png;base64,{item['png']}\">" if item["png"]
                     else "<span class=\"note\">(image left out)</span>" if not images
                     else "<span class=\"note\">(no image file)</span>" if not files
                     else "<span class=\"note\">(image not found)</span>")
            parts.append(f"<figure>{image}<figcaption>{_esc(text)}</figcaption></figure>")
        parts.append("</div>\n")
        missing = sum(1 for item in shown if not item["png"])
        if not images:
            parts.append("<p class=\"note\">The images themselves are left out of this report (--no-images: "
                         "the dataset's licence may forbid redistributing them); names only.</p>\n")
        elif not files:
            parts.append("<p class=\"note\">This dataset has no image files (a generated one, drawn in memory): "
                         "names only.</p>\n")
        elif missing:
            parts.append(f"<p class=\"note\">{missing} of these {len(shown)} image files were not found (or not "
                         "readable) where the run read them: the dataset may have moved; names only.</p>\n")
    subjects = subject_errors(results)
    if len(subjects):
        accuracy = {c: (lambda v: "" if v != v else f"{v:.1f}") for c in subjects.columns if c.startswith("accuracy:")}
        parts += ["<h3>The hardest people (subject-independent protocol)</h3>\n",
                  f"<details><summary>{len(subjects)} people, hardest first: share of wrong predictions over all "
                  "methods × complete runs per person, and each method's accuracy (%) on that person "
                  "(<code>hardest_subjects.csv</code>)</summary>\n",
                  _table(subjects, formats={"error_share": lambda v: f"{100 * v:.1f} %", **accuracy}), "</details>\n"]
    return parts


def _per_run_tables(results) -> list[str]:
    """Table 2, then Table 1 of every method with a complete run."""
    from .markdown import safe_name
    from .tables import table1, table2

    parts = ["<h2 id=\"table2\">Table 2 — overall accuracy (%) per run</h2>\n",
             _table(table2(results).drop(columns="protocol"), index=True)]
    for method in results.methods:
        if not results.complete_runs(method):
            continue
        parts.append(f"<h2 id=\"table1-{_esc(safe_name(method))}\">Table 1 — per-class sensitivity (%) of {_esc(method)}</h2>\n")
        parts.append(_table(table1(results, method).drop(columns="protocol"), index=True))
    return parts


def _figure_section(results, out: Path) -> list[str]:
    """Every figure, embedded as PNG."""
    from .plots import OVERLAP_FIGURE

    figs = _figures(results, out, skip=(OVERLAP_FIGURE,))  # the heat map is in its own section
    parts = ["<h2 id=\"figures\">Figures</h2>\n"] if figs else []
    for stem, caption, png in figs:
        data = embedded_png(png)
        parts.append(
            f"<figure id=\"{_esc(stem)}\"><img alt=\"{_esc(caption)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{_esc(caption)} — {_esc(results.protocol_short)} protocol.</figcaption></figure>\n"
        )
    return parts


def _details(results) -> list[str]:
    """Skipped methods, duplicates, model selection, fold sizes, configuration, dataset, environment."""
    from .tables import duplicate_span_text, fold_table, selection_table

    parts = []
    if results.skipped:
        parts.append("<h2 id=\"skipped\">Skipped methods</h2>\n<ul>")
        parts.extend(f"<li><code>{_esc(m)}</code>: {_esc(r)}</li>" for m, r in sorted(results.skipped.items()))
        parts.append("</ul>\n")
    if results.duplicates:
        parts.append(
            f"<h2 id=\"duplicates\">Duplicate images</h2>\n<p><strong>Warning:</strong> {len(results.duplicates)} "
            "groups of identical images (same bytes or same decoded pixels); copies can fall in training and "
            "test groups and inflate accuracy"
            + (f" ({_esc(duplicate_span_text(results))})" if results.duplicates_spanning else "")
            + ".</p>\n<ul>"
        )
        parts.extend(f"<li>{_esc(', '.join(group))}</li>" for group in results.duplicates[:50])
        parts.append("</ul>\n")
    selection = selection_table(results)
    if len(selection):
        parts.append("<h2 id=\"selection\">Model selection on the validation group</h2>\n")
        parts.append(_table(selection))
        parts.append("<p class=\"note\">most_chosen: the candidate chosen most often (share: % of folds); "
                     "tied_at_best: mean number of candidates sharing the best validation accuracy (ties go to the "
                     "simplest); val_best / val_spread: mean best validation accuracy and best − worst (points).</p>\n")
    sizes = fold_table(results)
    if len(sizes):
        parts.append("<h2 id=\"folds\">Folds — training / validation / test sizes</h2>\n")
        parts.append(_table(sizes))
    for warning in results.split_warnings:
        parts.append(f"<p class=\"protocol\"><strong>Split warning:</strong> {_esc(warning)}</p>\n")
    parts.append("<h2 id=\"configuration\">Configuration</h2>\n" + _kv(results.config))
    if results.method_params:
        parts.append("<h3>Method parameters</h3>\n" + _kv(results.method_params))
    parts.append("<h2 id=\"dataset\">Dataset</h2>\n" + _kv(results.dataset))
    parts.append("<h2 id=\"environment\">Environment</h2>\n" + _kv(results.environment))
    return parts


def write_html(results, out: Path, images: bool = True) -> list[Path]:
    """Write ``report.html`` into ``out`` (after the plots, whose PNGs it embeds); ``images``:
    as :func:`render_html`."""
    path = Path(out) / "report.html"
    write_atomic(path, render_html(results, out, images))
    return [path]
