"""The CUDA path of the fine-tuned learners, checked end to end on a GPU (issue 14 §3).

On a machine with a CUDA GPU, within about 8 minutes::

    python benchmarks/gpu_check.py                                   # resnet101 weights=none, said so
    python benchmarks/gpu_check.py --resnet-weights resnet101-63fe2227.pth

fine-tunes ``resnet101`` (ImageNet weights when a file is given, else ``weights=none``)
and ``minixception`` (its FER2013 weights when installed or given with
``--minixception-weights``, else ``weights=none``) on the built-in synthetic set, 1 run ×
10 folds, through fer-bench's own engine (``fer_bench.run``, the code a user runs: mixed
precision, channels-last, the per-batch host-to-device copies and GPU augmentation), and
checks that

- every fold completes (10 per method, in the results store), and
- the training loss falls in every fold (first epoch's mean loss > last epoch's);

then measures, per method,

- training throughput: training images per second of an epoch (``n_train /
  seconds_per_epoch``, the epoch including its validation pass), median over folds;
- the bare forward-backward rate of the same network, batch size, input size, precision
  and memory format on random data already on the GPU, and the throughput as a fraction
  of it (how well the engine keeps the GPU busy);
- peak GPU memory (``torch.cuda.max_memory_allocated``) during the method's folds.

Results go to ``benchmarks/results/<--output>.json`` and ``.md`` (default ``gpu_check``)
with the command, the GPU and the package versions. Exit status 0 when every check
passed, 1 otherwise. The face preprocessing is ``--face none`` by default: the check is
about training, and a GPU machine may lack the landmark model.

``--dry-run`` runs the same code on a tiny setting (56 synthetic 64-px images, 3 folds,
3 epochs; ``resnet101`` with a ResNet-18 body at 32 px and lr 0.001) so the script itself
can be tested on a CPU (``--device cpu --dry-run``); its numbers say nothing about a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def bare_rate(method, device, n_classes: int, seconds: float = 10.0) -> float:
    """Images/s of forward + backward + optimiser step of ``method``'s network on random
    data already on ``device``, with the method's batch size, input size and precision."""
    import torch
    import torch.nn.functional as F

    from fer_bench import transfer

    model, resolved = method.network.build()
    model, head = method.network.replace_head(model, n_classes)
    model.to(device).train()
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    dtype, _ = transfer.precision_for(device)
    if not method.amp:
        dtype = None
    optimiser = method._optimiser(model, head, resolved.pretrained)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    size = method.image_size
    batch = torch.randn(method.batch_size, method.network.channels, size, size, device=device)
    if device.type == "cuda":
        batch = batch.contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, n_classes, (method.batch_size,), device=device)

    def step():
        with transfer.autocast(device, dtype):
            loss = F.cross_entropy(transfer.logits_of(model(batch)).float(), target)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()

    for _ in range(3):  # warm-up (cuDNN autotuning, allocator)
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 3:
        step()
        steps += 1
    sync()
    return steps * method.batch_size / (time.perf_counter() - start)


def check_method(label: str, spec: str, args, dataset: str, workdir: Path) -> dict:
    import torch

    import fer_bench
    from fer_bench.registry import parse_method_list

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    error = None
    try:
        results = fer_bench.run(methods=[spec], dataset=dataset, protocol="paper", runs=args.runs, folds=args.folds,
                                device=args.device, face=args.face, out=workdir / label, progress=False,
                                echo=lambda text: print(f"  {text}", file=sys.stderr))
    except Exception as exc:  # a failed method is a failed check, reported, not a traceback
        results, error = None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    row: dict = {"method": label, "spec": spec, "seconds": round(seconds, 1), "error": error,
                 "peak_gpu_memory_mib": round(peak, 1) if peak is not None else None}
    if results is None:
        row.update(folds_completed=0, loss_falls_every_fold=False, passed=False)
        return row
    folds = results.folds
    infos = list(folds["info"])
    losses = [info.get("train_loss_first_last") for info in infos]
    falls = [bool(pair and pair[1] < pair[0]) for pair in losses]
    n_train = [int(n) for n in folds["n_train"]]
    per_fold = [n / info["seconds_per_epoch"] for n, info in zip(n_train, infos) if n and info.get("seconds_per_epoch")]
    method = parse_method_list([spec])[0].create(device=args.device)
    n_classes = len(results.config.get("classes", [])) or 7
    rate = bare_rate(method, device, n_classes, seconds=args.bare_seconds)
    throughput = statistics.median(per_fold) if per_fold else None
    row.update(
        weights=infos[0].get("weights") if infos else None,
        precision=infos[0].get("precision") if infos else None,
        device_used=infos[0].get("device") if infos else None,
        folds_completed=len(infos),
        folds_expected=args.runs * args.folds,
        loss_first_last=losses,
        loss_falls_every_fold=all(falls) and len(falls) > 0,
        epochs_run=[info.get("epochs_run") for info in infos],
        train_images_per_s=round(throughput, 1) if throughput else None,
        bare_forward_backward_images_per_s=round(rate, 1),
        fraction_of_bare_rate=round(throughput / rate, 3) if throughput else None,
        test_oa_mean=round(float(results.oa_summary(results.methods[0])[0]), 2) if results.methods else None,
    )
    row["passed"] = row["folds_completed"] == row["folds_expected"] and row["loss_falls_every_fold"] and not error
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --dry-run, to test the script)")
    parser.add_argument("--resnet-weights", default=None, help="resnet101-63fe2227.pth (ImageNet); default weights=none")
    parser.add_argument("--minixception-weights", default=None,
                        help="emotion_model.hdf5; default: the installed mini_xception file, else weights=none")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=None, help="override both methods' epochs (default: theirs)")
    parser.add_argument("--face", default="none", help="face preprocessing for both (default none; see the docstring)")
    parser.add_argument("--bare-seconds", type=float, default=10.0, help="duration of each bare-rate measurement")
    parser.add_argument("--dry-run", action="store_true", help="tiny setting, to test the script on a CPU")
    parser.add_argument("--output", default=None, help="results file name (default gpu_check, or gpu_check_dryrun)")
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    args = parser.parse_args(argv)

    import torch

    from fer_bench import weights

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: PyTorch sees no CUDA GPU here; run it on a GPU machine (or --device cpu --dry-run)",
              file=sys.stderr)
        return 2
    dataset = "synthetic"
    resnet = ["resnet101"]
    minix = ["minixception"]
    if args.dry_run:
        dataset = "synthetic?subjects=4&per_expression=2&size=64"
        args.folds, args.runs, args.bare_seconds = min(args.folds, 3), 1, min(args.bare_seconds, 1.0)
        args.epochs = args.epochs or 3
        # resnet101's code with a ResNet-18 body and a small learning rate: quick, and its
        # loss falls within 3 epochs from scratch (a ResNet-101 at lr 0.01 does not, on 37 images)
        resnet += ["backbone=resnet18", "image_size=32", "batch_size=8", "lr=0.001"]
        minix += ["batch_size=8"]
    notes = []
    if args.resnet_weights:
        resnet.append(f"weights={args.resnet_weights}")
    else:
        resnet.append("weights=none")
        notes.append("resnet101 trained from scratch (weights=none): no ImageNet file was given (--resnet-weights)")
    if args.minixception_weights:
        minix.append(f"weights={args.minixception_weights}")
    elif weights.model_availability("mini_xception") is not None:
        minix.append("weights=none")
        notes.append("minixception trained from scratch (weights=none): the FER2013 file is not installed")
    if args.epochs:
        resnet.append(f"epochs={args.epochs}")
        minix.append(f"epochs={args.epochs}")
    specs = {"resnet101": ":".join(resnet), "minixception": ":".join(minix)}  # name:key=value:key=value

    device = torch.device(args.device)
    gpu = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
               "capability": f"{props.major}.{props.minor}", "bf16": torch.cuda.is_bf16_supported()}
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fer-bench-gpu-check-") as tmp:
        os.environ.setdefault("FER_BENCH_CACHE", str(Path(tmp) / "cache"))
        for name, spec in specs.items():
            print(f"gpu_check: {spec} on {args.device} …", file=sys.stderr)
            row = check_method(spec, spec, args, dataset, Path(tmp))
            row["method"] = name
            rows.append(row)
            print(f"gpu_check: {json.dumps(row)}", file=sys.stderr)
    total = time.perf_counter() - start
    passed = all(r["passed"] for r in rows)
    import fer_bench

    record = {
        "command": "python " + shlex.join([f"benchmarks/{Path(__file__).name}", *(argv if argv is not None else sys.argv[1:])]),
        "dry_run": args.dry_run,
        "device": args.device,
        "gpu": gpu,
        "dataset": dataset,
        "runs": args.runs,
        "folds": args.folds,
        "face": args.face,
        "seconds_total": round(total, 1),
        "passed": passed,
        "notes": notes,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "cuda": torch.version.cuda, "fer_bench": fer_bench.__version__},
        "methods": rows,
    }
    out_dir = Path(args.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = args.output or ("gpu_check_dryrun" if args.dry_run else "gpu_check")
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# GPU check: fine-tuning through fer-bench's engine" + (" (DRY RUN: tiny setting, not a GPU measurement)"
                                                                 if args.dry_run else ""),
        "",
        f"Produced by `{record['command']}` on {gpu['name'] if gpu else args.device}; "
        f"{args.runs} run × {args.folds} folds of `{dataset}`, face {args.face}; {total:.0f} s in all; "
        f"**{'all checks passed' if passed else 'CHECKS FAILED'}**.",
        *(f"- {note}" for note in notes),
        "",
        "| method | folds | loss falls in every fold | train img/s | bare fwd+bwd img/s | fraction | peak GPU MiB | "
        "precision | seconds | error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r.get('folds_completed')}/{r.get('folds_expected', '?')} | "
            f"{'yes' if r.get('loss_falls_every_fold') else 'NO'} | {r.get('train_images_per_s')} | "
            f"{r.get('bare_forward_backward_images_per_s')} | {r.get('fraction_of_bare_rate')} | "
            f"{r.get('peak_gpu_memory_mib')} | {r.get('precision')} | {r['seconds']} | {r.get('error') or ''} |"
        )
    (out_dir / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
