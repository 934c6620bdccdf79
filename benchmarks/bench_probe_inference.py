"""Benchmark: the frozen network's inference in the probes, per image, on a CPU.

``mobilenetv2-probe`` and ``minixception-probe`` spend their feature time in the frozen
network's forward passes (two per image: the image and its mirror). This script times,
in one process, with one PyTorch thread (as the engine extracts features: one thread per
``--jobs`` process, :func:`fer_bench.runner.extract_range`), the method's own feature
network on random inputs of its input size, for batch sizes 32 (our earlier default) and
8 (the CPU default now, ``fer_bench.transfer.CPU_INFERENCE_BATCH``) in the default
(NCHW) and the channels-last memory order, and reports milliseconds per forward pass
and the ratio to the reference (batch 32, NCHW) measured in the same process. Each
configuration is timed ``--repeats`` times (the median is kept) after one warm-up pass;
the machine is shared, so ratios are the comparable figures. It also checks that the
four configurations give the same features (float32, within 1e-4 relative).

Writes ``benchmarks/results/probe_inference.json`` and ``.md``.

Usage:  python benchmarks/bench_probe_inference.py [--images 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout

CONFIGS = [(32, False), (32, True), (8, False), (8, True)]  # (batch, channels-last); the first is the reference


def time_network(name: str, n_images: int, repeats: int) -> dict:
    import torch

    from fer_bench import create_method

    method = create_method(name, device="cpu")
    model, _ = method.network.build()
    model = method.network.feature_network(model).eval()
    spec = method.input_spec()
    channels = 3 if spec.color == "rgb" else 1
    x = torch.from_numpy(np.random.default_rng(0).random((n_images, channels, *spec.size), dtype=np.float32))
    rows, outputs = [], {}
    for batch, channels_last in CONFIGS:
        net = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()

        def one_pass(net=net, inputs=inputs, batch=batch) -> torch.Tensor:  # this configuration's
            with torch.inference_mode():
                return torch.cat([net(inputs[i:i + batch]).float().flatten(1) for i in range(0, n_images, batch)])

        outputs[(batch, channels_last)] = one_pass().numpy()  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            one_pass()
            times.append(time.perf_counter() - start)
        rows.append({"batch": batch, "channels_last": channels_last,
                     "ms_per_forward": 1000 * statistics.median(times) / n_images})
    reference = outputs[CONFIGS[0]]
    for key, out in outputs.items():
        np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-5, err_msg=f"{name} {key}")
    for row in rows:
        row["ratio_to_reference"] = row["ms_per_forward"] / rows[0]["ms_per_forward"]
    return {"input": f"{spec.size[0]}×{spec.size[1]} {spec.color}", "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", default="mobilenetv2-probe,minixception-probe")
    opts = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    record = {
        "command": "python benchmarks/bench_probe_inference.py " + shlex.join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "torch": torch.__version__, "threads": 1},
        "images": opts.images, "repeats": opts.repeats, "methods": {},
    }
    for name in opts.methods.split(","):
        record["methods"][name] = time_network(name, opts.images, opts.repeats)
        print(name, record["methods"][name], flush=True)
    out = HERE / "results" / "probe_inference"
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Frozen-network inference in the probes (CPU, one thread)", "",
        f"Produced by `{record['command']}` on {record['machine']['platform']} (torch {record['machine']['torch']}); "
        f"{opts.images} random images of each method's input size, median of {opts.repeats} timed passes after a "
        "warm-up; the reference is batch 32 in NCHW order, our earlier setting, timed in the same process. "
        "All four settings give the same features (checked within 1e-4).", "",
        "| method | input | batch | memory order | ms per forward pass | ratio to reference |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in record["methods"].items():
        for row in result["rows"]:
            lines.append(f"| `{name}` | {result['input']} | {row['batch']} | "
                         f"{'channels-last' if row['channels_last'] else 'NCHW'} | {row['ms_per_forward']:.2f} | "
                         f"{row['ratio_to_reference']:.2f} |")
    lines += ["", "A probe extracts two views (image and mirror) per image: twice these times per image."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
