"""Print the tables of ``docs/results.md`` from the committed results (run after make_results.sh).

    python results/readme_tables.py            # from the repository root

Every number in the tables of ``docs/results.md`` ("Reference results") comes from here:
each table is read from a results directory's exported ``table3.csv`` / ``ablation.csv``
(written by ``fer-bench run`` / ``fer-bench report``), never typed by hand.
``tests/test_readme.py`` fails when a table there no longer matches what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent
PUBLISHED = ["pca-svm", "hos-svm", "bwe-fsvm", "swe-bbo", "dwt-pca-cso"]


def table3(name: str) -> pd.DataFrame:
    """``results/<name>/table3.csv`` indexed by method (empty when the run is absent)."""
    path = ROOT / name / "table3.csv"
    if not path.exists():
        print(f"(missing: {path.relative_to(ROOT.parent)})", file=sys.stderr)
        return pd.DataFrame(columns=["oa_mean", "oa_sd", "paper_oa"]).rename_axis("method")
    return pd.read_csv(path, dtype={"method": str}).set_index("method")


def oa(frame: pd.DataFrame, method: str) -> str:
    """``mean ± sd`` of ``method`` in a table3, or an em dash."""
    if method not in frame.index:
        return "—"
    row = frame.loc[method]
    return f"{row['oa_mean']:.2f} ± {row['oa_sd']:.2f}"


def markdown(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tables() -> str:
    """Every table of ``docs/results.md``, each under its ``##`` heading, as Markdown."""
    import contextlib
    import io

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        _print_tables()
    return text.getvalue()


def main() -> None:
    print(tables(), end="")


def _print_tables() -> None:
    synthetic = table3("synthetic-paper")
    paper, subject, noface = table3("jaffe-paper"), table3("jaffe-subject"), table3("jaffe-subject-noface")

    print("## Synthetic set, image-level, 10 × 10 (results/synthetic-paper)\n")
    rows = [[i + 1, f"`{m}`", oa(synthetic, m), synthetic.loc[m, "p_vs_best"] if pd.notna(synthetic.loc[m, "p_vs_best"])
             else "best", synthetic.loc[m, "paper_oa"] if pd.notna(synthetic.loc[m, "paper_oa"]) else ""]
            for i, m in enumerate(synthetic.index)]
    print(markdown(rows, ["rank", "method", "OA % (mean ± SD over runs)", "p vs best", "paper's OA on its own data"]))

    print("\n## JAFFE: protocol and face preprocessing (results/jaffe-paper, jaffe-subject, jaffe-subject-noface)\n")
    methods = [m for m in subject.index if ":" not in m] or list(paper.index)
    rows = []
    for m in methods:
        gain = (f"{subject.loc[m, 'oa_mean'] - noface.loc[m, 'oa_mean']:+.2f}"
                if m in subject.index and m in noface.index else "—")
        rows.append([f"`{m}`", oa(paper, m), oa(subject, m), oa(noface, m), gain])
    print(markdown(rows, ["method", "image-level, default face", "leave-one-subject-out, default face",
                          "leave-one-subject-out, --face none", "gain of the face preprocessing (LOSO)"]))

    print("\n## Published methods: ours against the papers\n")
    rows = [[f"`{m}`", oa(paper, m), oa(subject, m), oa(synthetic, m),
             paper.loc[m, "paper_oa"] if m in paper.index and pd.notna(paper.loc[m, "paper_oa"]) else "—"]
            for m in PUBLISHED]
    print(markdown(rows, ["method", "JAFFE image-level", "JAFFE LOSO", "synthetic image-level",
                          "paper (its own data)"]))

    for name in ("jaffe-paper", "jaffe-subject"):
        path = ROOT / name / "ablation.csv"
        if path.exists():
            ablation = pd.read_csv(path)
            cols = [c for c in ("method", "classifier", "oa", "difference", "p_value", "reading") if c in ablation]
            print(f"\n## Ablation, {name} (results/{name}/ablation.csv)\n")
            print(markdown(ablation[cols].astype(object).where(ablation[cols].notna(), "").astype(str).values.tolist(), cols))

    cross = table3("cross-synthetic-to-jaffe")
    if len(cross):
        print("\n## Cross-dataset: trained on the synthetic set, tested on JAFFE (results/cross-synthetic-to-jaffe)\n")
        print(markdown([[f"`{m}`", oa(cross, m)] for m in cross.index], ["method", "OA % on JAFFE (3 runs)"]))


if __name__ == "__main__":
    main()
