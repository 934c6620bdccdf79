"""Summarise the baselines' results directories: accuracy, training fit, choices and time.

Reads one ``fer-bench run`` results directory per dataset (made by
``benchmarks/baselines.sh``) and the wall-clock seconds that script recorded per method,
and writes ``benchmarks/results/baselines.json`` and ``baselines.md``: per method label,
the overall accuracy (mean ± sample SD over runs, from the summed confusion matrices of
each run's folds), the published OA, the mean validation accuracy of the chosen
candidate, the mean training accuracy of the final (refitted) network for the
optimiser-trained methods, the most frequent choice, and the time of the whole
``fer-bench run`` of that method (features included). Methods are grouped with their
ablations (same registry name, another ``classifier``).

Usage:
    python benchmarks/baselines_summary.py DIR_SYNTHETIC DIR_JAFFE --times TIMES.tsv --command "..."
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

RESULTS = Path(__file__).resolve().parent / "results"


def summarise(out: Path, times: dict[tuple[str, str], float]) -> list[dict]:
    from fer_bench.results import Results

    results = Results(out)
    dataset = results.dataset.get("name", out.name)
    rows = []
    for label in results.methods:
        preds = results.predictions[results.predictions.method == label]
        per_run = preds.groupby("run").apply(lambda p: 100.0 * float(np.mean(p.y_true == p.y_pred)),
                                             include_groups=False)
        folds = results.folds[results.folds.method == label]
        infos = list(folds["info"])

        def mean_of(key, infos=infos):
            values = [i[key] for i in infos if isinstance(i, dict) and i.get(key) is not None]
            return round(float(np.mean(values)), 2) if values else None

        chosen = Counter(json.dumps(i.get("chosen"), sort_keys=True) for i in infos if isinstance(i, dict))
        record = results.method_records.get(label, {})
        top, count = chosen.most_common(1)[0] if chosen else ("null", 0)
        rows.append({
            "dataset": dataset, "method": label, "name": record.get("name", label.split(":")[0]),
            "runs": int(per_run.size), "folds": int(len(folds)),
            "oa_mean": round(float(per_run.mean()), 2),
            "oa_sd": round(float(per_run.std(ddof=1)), 2) if per_run.size > 1 else None,
            "paper_oa": record.get("paper_oa"),
            "val_accuracy": mean_of("val_accuracy"),
            "train_accuracy_final": mean_of("refit_train_accuracy") or mean_of("train_accuracy"),
            "most_chosen": json.loads(top), "most_chosen_share": round(count / max(1, len(infos)), 2),
            "fit_seconds_per_fold": round(float(folds["fit_seconds"].mean()), 3),
            "run_wall_seconds": times.get((dataset, label)),
        })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="results directories, one per dataset")
    parser.add_argument("--times", type=Path, help="TSV: dataset, method label, wall seconds")
    parser.add_argument("--command", default="bash benchmarks/baselines.sh", help="what made the directories")
    args = parser.parse_args(argv)
    times: dict[tuple[str, str], float] = {}
    if args.times and args.times.exists():
        for line in args.times.read_text().splitlines():
            dataset, label, seconds = line.split("\t")
            times[(dataset, label)] = round(float(seconds), 1)
    rows = [row for out in args.dirs for row in summarise(out, times)]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "baselines.json").write_text(json.dumps({"command": args.command, "rows": rows}, indent=1) + "\n")
    lines = [
        "# Baselines and their ablations", "",
        f"Made by: `{args.command}` (fer-bench's engine: fit on the training groups, choose on the validation "
        "group, refit on training + validation, test; 10 runs × 10 folds, image-level protocol). "
        "OA: mean ± SD over runs; val: mean validation accuracy of the chosen candidate; train: mean training "
        "accuracy of the final network (optimiser-trained methods); fit s: mean `fit` seconds per fold (refit not "
        "included); run s: wall seconds of the whole `fer-bench run` of that method with `--jobs 2` (features "
        "included; the machine was shared with other jobs, so times are indicative).", "",
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        lines += [f"## {dataset}", "",
                  "| method | OA | paper OA | val | train | most chosen | fit s/fold | run s |",
                  "|---|---|---|---|---|---|---|---|"]
        mine = [r for r in rows if r["dataset"] == dataset]
        for name in dict.fromkeys(r["name"] for r in mine):
            for r in [r for r in mine if r["name"] == name]:
                sd = f" ± {r['oa_sd']}" if r["oa_sd"] is not None else ""
                paper = "" if not r["paper_oa"] else f"{r['paper_oa'][0]} ± {r['paper_oa'][1]}"
                lines.append(
                    f"| {r['method']} | {r['oa_mean']}{sd} | {paper} | {r['val_accuracy']} | "
                    f"{'' if r['train_accuracy_final'] is None else r['train_accuracy_final']} | "
                    f"`{json.dumps(r['most_chosen'], sort_keys=True)}` ({int(100 * r['most_chosen_share'])} %) | "
                    f"{r['fit_seconds_per_fold']} | {'' if r['run_wall_seconds'] is None else r['run_wall_seconds']} |"
                )
        lines.append("")
    (RESULTS / "baselines.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'baselines'}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
