"""Face preprocessing none / crop / align, per method: validation and test accuracy.

    python benchmarks/bench_face_preprocessing.py --dataset jaffe:../shared/datasets/jaffe
    python benchmarks/bench_face_preprocessing.py --methods hog-svm,pca-svm --runs 2

Runs ``fer-bench run --protocol subject --folds F --runs R --face X`` for X in none,
crop, align (one output directory each, under ``--work``), and tabulates per method the
mean *validation-group* accuracy of the chosen hyperparameters over all folds (what a
method's default face preprocessing may be chosen on) and the test OA (what is reported;
never used to choose). Writes ``benchmarks/results/<--output>.json`` and ``.md``
(default ``face_preprocessing``) with the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FACES = ("none", "crop", "align")
DEFAULT_METHODS = "hog-svm,pca-svm,lbp-svm,mobilenetv2-probe,minixception-probe"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="jaffe:../shared/datasets/jaffe")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--protocol", default="subject")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", default="out/face-preprocessing", help="where the three runs are written")
    parser.add_argument("--output", default="face_preprocessing")
    args = parser.parse_args(argv)

    import numpy as np

    import fer_bench

    exe = Path(sys.executable).with_name("fer-bench")
    commands, table = [], {}
    for face in FACES:
        out = Path(args.work) / f"{face}"
        cmd = [str(exe), "run", "--methods", args.methods, "--dataset", args.dataset, "--protocol", args.protocol,
               "--folds", str(args.folds), "--runs", str(args.runs), "--face", face, "--out", str(out), "-q"]
        commands.append(shlex.join(["fer-bench", *cmd[1:]]))
        subprocess.run(cmd, check=True, env=os.environ)
        results = fer_bench.load_results(out)
        for method in results.methods:
            folds = results.folds[results.folds["method"] == method]
            val = [info.get("val_accuracy", info.get("best_val_accuracy")) for info in folds["info"]]
            val = [v for v in val if v is not None]
            table.setdefault(method, {})[face] = {
                "val_accuracy": round(float(np.mean(val)), 2) if val else None,
                "test_oa": round(float(results.oa_summary(method)[0]), 2),
                "folds": len(folds),
            }
    record = {"command": "python " + shlex.join([f"benchmarks/{Path(__file__).name}",
                                                  *(argv if argv is not None else sys.argv[1:])]),
              "runs": commands, "dataset": args.dataset, "protocol": args.protocol, "methods": table}
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / f"{args.output}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Face preprocessing: validation and test accuracy on `{args.dataset}`",
        "",
        f"Produced by `{record['command']}` ({args.protocol} protocol, {args.runs} run(s) × {args.folds} folds). "
        "Validation: mean accuracy of the chosen hyperparameters on the validation groups (the basis for a "
        "default); test: overall accuracy (reported, never used to choose).",
        "",
        "| method | " + " | ".join(f"val {f} | test {f}" for f in FACES) + " | best on validation |",
        "|---|" + "---|" * (2 * len(FACES) + 1),
    ]
    for method, row in table.items():
        cells = " | ".join(f"{row[f]['val_accuracy']} | {row[f]['test_oa']}" for f in FACES if f in row)
        best = max((f for f in FACES if row.get(f, {}).get("val_accuracy") is not None),
                   key=lambda f: row[f]["val_accuracy"], default="")
        lines.append(f"| {method} | {cells} | {best} |")
    (results_dir / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
