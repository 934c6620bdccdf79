"""Plots (PNG + SVG, reproducible, protocol in every title) and the self-contained report.html."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from fer_bench.reporting.html import render_html
from fer_bench.reporting.plots import figures, plot_confusion
from fer_bench.results import load_results
from tests.conftest import cli
from tests.test_stats import make_two_method_results

FIGURES = ("fig12_oa_comparison", "fig11_oa_per_run", "fig10_sensitivity_pca-svm", "fig10_sensitivity_test-majority",
           "confusion_pca-svm", "confusion_test-majority", "error_overlap")


@pytest.fixture
def subject_results(tmp_path, tiny_manifest):
    return make_two_method_results(tmp_path, tiny_manifest, "subject")


def test_every_figure_is_written_as_png_and_svg_and_names_the_protocol(subject_results):
    out = subject_results.out
    for stem in FIGURES:
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        assert svg.read_text().lstrip().startswith("<?xml"), stem
    titles = {stem: make().axes[0].get_title() for stem, _, make in figures(subject_results)}
    assert set(titles) == set(FIGURES)
    for stem, title in titles.items():
        assert "subject-independent protocol" in title, stem
        assert "image-level" not in title, stem


def test_rewriting_the_report_is_byte_identical(subject_results):
    out = subject_results.out
    names = [f"{s}.{ext}" for s in FIGURES for ext in ("png", "svg")] + ["report.html", "pairwise_tests.csv"]
    before = {n: (out / n).read_bytes() for n in names}
    for n in names:
        (out / n).unlink()
    proc = cli("report", str(out))  # the command regenerates statistics, plots and HTML
    assert "report.html" in proc.stdout
    for n in names:
        assert (out / n).read_bytes() == before[n], n
    svg = (out / "fig12_oa_comparison.svg").read_text()
    assert "<dc:date>" not in svg


def test_confusion_is_normalised_by_row(subject_results):
    fig = plot_confusion(subject_results, "test-majority")
    shown = fig.axes[0].images[0].get_array()
    cm = subject_results.confusion_counts("test-majority")
    expected = 100 * cm / cm.sum(axis=1, keepdims=True)
    assert np.allclose(np.asarray(shown), expected)
    assert np.allclose(np.asarray(shown).sum(axis=1), 100)


def test_html_is_self_contained_and_complete(subject_results):
    html = (subject_results.out / "report.html").read_text()
    assert html == render_html(load_results(subject_results.out))
    # no external resource: every src/href is inline data or an in-page anchor
    for attr in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html):
        assert attr.startswith(("data:", "#")), attr
    assert not re.search(r"<(script|link|iframe)\b", html)
    assert "url(" not in html and "@import" not in html
    assert html.count("data:image/png;base64,") == len(FIGURES)
    # Embedded as palette PNGs (a report of many methods stays under a few MiB), each smaller
    # than the full-colour file beside it.
    import base64
    import io

    from PIL import Image

    embedded = re.findall(r'<figure id="([^"]+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(FIGURES)
    for stem, data in embedded:
        png = base64.b64decode(data)
        assert Image.open(io.BytesIO(png)).mode == "P", stem
        assert len(png) < (subject_results.out / f"{stem}.png").stat().st_size, stem
    fingerprint = subject_results.config["dataset_fingerprint"]
    for needle in ("Table 1", "Table 2", "Table 3", "Pairwise corrected t-tests", "subject-independent",
                   "approximate for grouped, subject-independent folds", fingerprint, "Environment",
                   "Configuration", "test-majority", "ci95_low", "p_vs_best"):
        assert needle in html, needle


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (apt-get install -y chromium) — "
                    "report.html is not rendered in a real browser")
def test_report_renders_in_headless_chromium(subject_results, tmp_path):
    from PIL import Image

    page = (subject_results.out / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        flags = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,4000", page],
                       capture_output=True, timeout=120, check=True)
    with tempfile.TemporaryDirectory() as profile:
        flags = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "Table 3 — comparison of methods" in dom and "test-majority" in dom
    assert dom.count("<img") == len(FIGURES) and dom.count("<table") >= 5
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert rgb.shape == (4000, 1200, 3)
    # not a blank page: a good share of the pixels is ink (text, tables, plots)
    assert (rgb.mean(axis=2) < 200).mean() > 0.02
    # the embedded PNGs decoded: matplotlib's blue (#1f77b4) appears, and nothing else on the page is blue
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert ((r < 60) & (g > 100) & (g < 140) & (b > 160)).sum() > 1000
